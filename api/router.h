/* router.h -- the routing table of the HTTP API: (method, path) -> route and path id.
 * Pure string matching: no I/O, no MHD, so it is unit-tested on its own. */
#ifndef OIGD_ROUTER_H
#define OIGD_ROUTER_H
#include <stddef.h>

typedef enum {
    API_R_HEALTHZ = 0,
    API_R_READYZ,
    API_R_VERSION,
    API_R_DATASETS,         /* GET list, POST upload */
    API_R_DATASET,          /* GET, DELETE */
    API_R_DATASET_DATA,     /* GET: the rows as CSV */
    API_R_JOBS,             /* GET list, POST create */
    API_R_JOB,              /* GET */
    API_R_JOB_CANCEL,       /* POST */
    API_R_JOB_METRICS,      /* GET */
    API_R_JOB_EVENTS,       /* GET (text/event-stream) */
    API_R_MODELS,           /* GET list, POST import */
    API_R_MODEL,            /* GET, DELETE */
    API_R_MODEL_PREDICT,    /* POST */
    API_R_MODEL_PROJECT,    /* POST: a new model with orthogonal hidden weights */
    API_R_MODEL_EVALUATE,   /* POST: the model's errors on a stored dataset */
    API_R_ALIASES,          /* GET list */
    API_R_ALIAS,            /* GET, PUT (create or move), DELETE */
    API_R_METRICS,          /* GET (Prometheus text) */
    API_R_OPENAPI,          /* GET (the OpenAPI document) */
    API_R_DASHBOARD,        /* GET / (the HTML page) */
    API_R_COUNT
} api_route_id;

#define API_ID_MAX 64

typedef struct {
    api_route_id route;
    char id[API_ID_MAX];    /* the {id} path segment, "" when the route has none */
} api_match;

/* 0 when path and method match a route (m filled); 404 when no route has this path; 405 when
 * the path exists but not for this method, with allow receiving e.g. "GET, DELETE". HEAD is
 * accepted wherever GET is. */
int api_route(const char *method, const char *path, api_match *m, char *allow, size_t allowlen);
const char *api_route_name(api_route_id r);
/* The route's path template, e.g. "/v1/jobs/{id}" (a bounded label for metrics). */
const char *api_route_pattern(api_route_id r);

/* The table itself, for documentation checks: row i's template, route and methods. In the
 * /v1/models/{id}/... routes {id} is a model id or an alias name (the handlers resolve it). */
enum { API_M_GET = 1, API_M_POST = 2, API_M_DELETE = 4, API_M_PUT = 8 };
size_t api_route_count(void);
const char *api_route_at(size_t i, api_route_id *route, int *methods);
#endif

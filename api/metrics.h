/* metrics.h -- the daemon's Prometheus metrics: lock-free request counters and latency
 * histograms (by route template), limit rejections, spooled bodies, and the text exposition of
 * GET /metrics. */
#ifndef OIGD_METRICS_H
#define OIGD_METRICS_H
#include <stddef.h>

typedef struct api_metrics api_metrics;

typedef enum {
    API_LIMIT_BODY = 0,
    API_LIMIT_ROWS,
    API_LIMIT_COLUMNS,
    API_LIMIT_QUEUED_JOBS,
    API_LIMIT_STREAMS,
    API_LIMIT_COUNT
} api_limit;

api_metrics *api_metrics_create(void);
void api_metrics_destroy(api_metrics *m);
/* One finished request: route is an api_route_id (API_R_COUNT: no route matched). */
void api_metrics_request(api_metrics *m, int route, const char *method, unsigned status, long long us);
void api_metrics_limit(api_metrics *m, api_limit which);
/* One request body of `bytes` received through a spool file (body.h). */
void api_metrics_spooled(api_metrics *m, size_t bytes);
#endif

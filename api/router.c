/* router.c -- the routing table: one row per path pattern with the methods it accepts.
 * Matching splits the path on '/' and compares segment by segment; "{id}" matches one
 * non-empty segment of at most API_ID_MAX-1 URL-safe characters. Knows nothing of MHD. */
#include "router.h"

#include <stdio.h>
#include <string.h>

enum { M_GET = API_M_GET, M_POST = API_M_POST, M_DELETE = API_M_DELETE, M_PUT = API_M_PUT };

static const struct {
    const char *pattern;
    int methods;
    api_route_id route;
    const char *name;
} routes[] = {
    {"/", M_GET, API_R_DASHBOARD, "dashboard"},
    {"/healthz", M_GET, API_R_HEALTHZ, "healthz"},
    {"/readyz", M_GET, API_R_READYZ, "readyz"},
    {"/v1/version", M_GET, API_R_VERSION, "version"},
    {"/v1/datasets", M_GET | M_POST, API_R_DATASETS, "datasets"},
    {"/v1/datasets/{id}", M_GET | M_DELETE, API_R_DATASET, "dataset"},
    {"/v1/datasets/{id}/data", M_GET, API_R_DATASET_DATA, "dataset_data"},
    {"/v1/jobs", M_GET | M_POST, API_R_JOBS, "jobs"},
    {"/v1/jobs/{id}", M_GET | M_DELETE, API_R_JOB, "job"},
    {"/v1/jobs/{id}/cancel", M_POST, API_R_JOB_CANCEL, "job_cancel"},
    {"/v1/jobs/{id}/metrics", M_GET, API_R_JOB_METRICS, "job_metrics"},
    {"/v1/jobs/{id}/events", M_GET, API_R_JOB_EVENTS, "job_events"},
    {"/v1/models", M_GET | M_POST, API_R_MODELS, "models"},
    {"/v1/models/{id}", M_GET | M_DELETE, API_R_MODEL, "model"},
    {"/v1/models/{id}/predict", M_POST, API_R_MODEL_PREDICT, "model_predict"},
    {"/v1/models/{id}/project", M_POST, API_R_MODEL_PROJECT, "model_project"},
    {"/v1/models/{id}/evaluate", M_POST, API_R_MODEL_EVALUATE, "model_evaluate"},
    {"/v1/aliases", M_GET, API_R_ALIASES, "aliases"},
    {"/v1/aliases/{id}", M_GET | M_PUT | M_DELETE, API_R_ALIAS, "alias"},
    {"/metrics", M_GET, API_R_METRICS, "metrics"},
    {"/openapi.json", M_GET, API_R_OPENAPI, "openapi"},
};
#define NROUTES (sizeof routes / sizeof routes[0])

const char *api_route_name(api_route_id r) {
    for (size_t i = 0; i < NROUTES; i++) if (routes[i].route == r) return routes[i].name;
    return "unknown";
}

const char *api_route_pattern(api_route_id r) {
    for (size_t i = 0; i < NROUTES; i++) if (routes[i].route == r) return routes[i].pattern;
    return "unmatched";
}

size_t api_route_count(void) { return NROUTES; }

const char *api_route_at(size_t i, api_route_id *route, int *methods) {
    if (i >= NROUTES) return NULL;
    if (route) *route = routes[i].route;
    if (methods) *methods = routes[i].methods;
    return routes[i].pattern;
}

static int method_bit(const char *method) {
    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) return M_GET;
    if (strcmp(method, "POST") == 0) return M_POST;
    if (strcmp(method, "PUT") == 0) return M_PUT;
    if (strcmp(method, "DELETE") == 0) return M_DELETE;
    return 0;
}

static int id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

/* Does path match pattern? On success the {id} segment is copied to id. */
static int match(const char *pattern, const char *path, char id[API_ID_MAX]) {
    const char *p = pattern, *s = path;
    id[0] = 0;
    while (*p && *s) {
        if (strncmp(p, "{id}", 4) == 0) {
            size_t n = 0;
            while (s[n] && s[n] != '/') {
                if (!id_char(s[n])) return 0;
                n++;
            }
            if (n == 0 || n >= API_ID_MAX) return 0;
            memcpy(id, s, n);
            id[n] = 0;
            p += 4;
            s += n;
            continue;
        }
        if (*p != *s) return 0;
        p++;
        s++;
    }
    return *p == 0 && *s == 0;
}

int api_route(const char *method, const char *path, api_match *m, char *allow, size_t allowlen) {
    int bit = method_bit(method);
    char id[API_ID_MAX];
    if (allow && allowlen) allow[0] = 0;
    for (size_t i = 0; i < NROUTES; i++) {
        if (!match(routes[i].pattern, path, id)) continue;
        if (bit & routes[i].methods) {
            m->route = routes[i].route;
            memcpy(m->id, id, sizeof m->id);
            return 0;
        }
        if (allow && allowlen) {
            static const struct { int bit; const char *names; } order[] = {
                {M_GET, "GET, HEAD"}, {M_POST, "POST"}, {M_PUT, "PUT"}, {M_DELETE, "DELETE"}};
            size_t used = 0;
            for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
                if (!(routes[i].methods & order[k].bit) || used >= allowlen) continue;
                int w = snprintf(allow + used, allowlen - used, "%s%s", used ? ", " : "", order[k].names);
                if (w > 0) used += (size_t)w;
            }
        }
        return 405;
    }
    return 404;
}

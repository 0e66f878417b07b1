/* metrics.c -- GET /metrics: request counters and latency histograms kept in atomics (any MHD
 * thread records without a lock), rendered with the store's job counts, queue depth, database
 * size, training iterations and build info in the Prometheus text format (version 0.0.4).
 * Labels are bounded: a route label is the route's template, never the raw path. */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "metrics.h"

#ifndef OIGD_VERSION
#define OIGD_VERSION "0.0.0"
#endif

/* route index API_R_COUNT collects requests that matched no route */
#define NROUTE (API_R_COUNT + 1)
static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "other"};
#define NMETHOD (sizeof methods / sizeof methods[0])
static const unsigned statuses[] = {200, 201, 202, 204, 400, 401, 404, 405, 409, 411, 413, 415, 422, 429, 500, 503};
#define NSTATUS (sizeof statuses / sizeof statuses[0] + 1)   /* last: any other status */
static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define NBUCKET (sizeof bounds / sizeof bounds[0])

struct api_metrics {
    atomic_ullong requests[NROUTE][NMETHOD][NSTATUS];
    atomic_ullong bucket[NROUTE][NBUCKET];      /* non-cumulative; summed when rendered */
    atomic_ullong count[NROUTE];
    atomic_ullong sum_us[NROUTE];
    atomic_ullong limited[API_LIMIT_COUNT];
    atomic_ullong spooled, spooled_bytes;
    time_t started;
};

static const char *const limit_names[API_LIMIT_COUNT] = {
    [API_LIMIT_BODY] = "max_body", [API_LIMIT_ROWS] = "max_rows", [API_LIMIT_COLUMNS] = "max_columns",
    [API_LIMIT_QUEUED_JOBS] = "max_queued_jobs", [API_LIMIT_STREAMS] = "max_streams",
};

api_metrics *api_metrics_create(void) {
    api_metrics *m = calloc(1, sizeof *m);     /* zero bytes are zero-valued atomics on every target we build */
    if (m) m->started = time(NULL);
    return m;
}

void api_metrics_destroy(api_metrics *m) { free(m); }

void api_metrics_request(api_metrics *m, int route, const char *method, unsigned status, long long us) {
    if (!m) return;
    if (route < 0 || route > API_R_COUNT) route = API_R_COUNT;
    size_t mi = NMETHOD - 1, si = NSTATUS - 1;
    for (size_t i = 0; i + 1 < NMETHOD; i++) if (strcmp(method, methods[i]) == 0) { mi = i; break; }
    for (size_t i = 0; i + 1 < NSTATUS; i++) if (statuses[i] == status) { si = i; break; }
    atomic_fetch_add_explicit(&m->requests[route][mi][si], 1, memory_order_relaxed);
    if (us < 0) us = 0;
    double s = (double)us / 1e6;
    for (size_t b = 0; b < NBUCKET; b++)
        if (s <= bounds[b]) { atomic_fetch_add_explicit(&m->bucket[route][b], 1, memory_order_relaxed); break; }
    atomic_fetch_add_explicit(&m->count[route], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->sum_us[route], (unsigned long long)us, memory_order_relaxed);
}

void api_metrics_limit(api_metrics *m, api_limit which) {
    if (m && which >= 0 && which < API_LIMIT_COUNT)
        atomic_fetch_add_explicit(&m->limited[which], 1, memory_order_relaxed);
}

void api_metrics_spooled(api_metrics *m, size_t bytes) {
    if (!m) return;
    atomic_fetch_add_explicit(&m->spooled, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->spooled_bytes, bytes, memory_order_relaxed);
}

/* ---- rendering -------------------------------------------------------------------------- */

typedef struct { char *b; size_t len, cap; int oom; } sbuf;

static void put(sbuf *s, const char *fmt, ...) {
    if (s->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(s->b + s->len, s->cap - s->len, fmt, ap);
        va_end(ap);
        if (n < 0) { s->oom = 1; return; }
        if ((size_t)n < s->cap - s->len) { s->len += (size_t)n; return; }
        size_t cap = s->cap * 2;
        while (cap < s->len + (size_t)n + 1) cap *= 2;
        char *b = realloc(s->b, cap);
        if (!b) { s->oom = 1; return; }
        s->b = b;
        s->cap = cap;
    }
}

/* A label value with \, " and newline escaped (the text format's rules). */
static void put_label(sbuf *s, const char *v) {
    char out[256];
    size_t o = 0;
    for (; *v && o + 3 < sizeof out; v++) {
        if (*v == '\\' || *v == '"') { out[o++] = '\\'; out[o++] = *v; }
        else if (*v == '\n') { out[o++] = '\\'; out[o++] = 'n'; }
        else out[o++] = *v;
    }
    out[o] = 0;
    put(s, "%s", out);
}

static const char *route_label(int r) { return r == API_R_COUNT ? "unmatched" : api_route_pattern((api_route_id)r); }

char *api_metrics_render(api_server *srv, size_t *len) {
    api_metrics *m = srv->metrics;
    sbuf s = {malloc(16384), 0, 16384, 0};
    if (!s.b) return NULL;
    s.b[0] = 0;

    put(&s, "# HELP oigd_build_info Version of this oigd and the BLAS it runs on.\n"
            "# TYPE oigd_build_info gauge\noigd_build_info{version=\"");
    put_label(&s, OIGD_VERSION);
    put(&s, "\",blas=\"");
    put_label(&s, oig_blas_config());
    put(&s, "\"} 1\n");
    put(&s, "# HELP oigd_start_time_seconds Start time of the process since the Unix epoch.\n"
            "# TYPE oigd_start_time_seconds gauge\noigd_start_time_seconds %lld\n",
        (long long)(m ? m->started : 0));

    put(&s, "# HELP oigd_http_requests_total HTTP requests answered, by route template, method and status.\n"
            "# TYPE oigd_http_requests_total counter\n");
    for (int r = 0; m && r < NROUTE; r++)
        for (size_t mi = 0; mi < NMETHOD; mi++)
            for (size_t si = 0; si < NSTATUS; si++) {
                unsigned long long v = atomic_load_explicit(&m->requests[r][mi][si], memory_order_relaxed);
                if (!v) continue;
                put(&s, "oigd_http_requests_total{route=\"%s\",method=\"%s\",status=\"", route_label(r), methods[mi]);
                if (si + 1 < NSTATUS) put(&s, "%u", statuses[si]);
                else put(&s, "other");
                put(&s, "\"} %llu\n", v);
            }

    put(&s, "# HELP oigd_http_request_duration_seconds Time from a request's first byte to its last response byte, by route template.\n"
            "# TYPE oigd_http_request_duration_seconds histogram\n");
    for (int r = 0; m && r < NROUTE; r++) {
        unsigned long long n = atomic_load_explicit(&m->count[r], memory_order_relaxed);
        if (!n) continue;
        unsigned long long cum = 0;
        for (size_t b = 0; b < NBUCKET; b++) {
            cum += atomic_load_explicit(&m->bucket[r][b], memory_order_relaxed);
            put(&s, "oigd_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", route_label(r), bounds[b], cum);
        }
        /* count is read after the buckets, so +Inf >= every bucket even under concurrent updates */
        if (n < cum) n = cum;
        put(&s, "oigd_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", route_label(r), n);
        put(&s, "oigd_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_label(r),
            (double)atomic_load_explicit(&m->sum_us[r], memory_order_relaxed) / 1e6);
        put(&s, "oigd_http_request_duration_seconds_count{route=\"%s\"} %llu\n", route_label(r), n);
    }

    put(&s, "# HELP oigd_limit_rejections_total Requests refused by a configured limit.\n"
            "# TYPE oigd_limit_rejections_total counter\n");
    for (int i = 0; i < API_LIMIT_COUNT; i++)
        put(&s, "oigd_limit_rejections_total{limit=\"%s\"} %llu\n", limit_names[i],
            m ? atomic_load_explicit(&m->limited[i], memory_order_relaxed) : 0ULL);

    put(&s, "# HELP oigd_request_bodies_spooled_total Request bodies over 1 MiB received through a spool file.\n"
            "# TYPE oigd_request_bodies_spooled_total counter\noigd_request_bodies_spooled_total %llu\n"
            "# HELP oigd_request_body_spooled_bytes_total Bytes of those bodies.\n"
            "# TYPE oigd_request_body_spooled_bytes_total counter\noigd_request_body_spooled_bytes_total %llu\n",
        m ? atomic_load_explicit(&m->spooled, memory_order_relaxed) : 0ULL,
        m ? atomic_load_explicit(&m->spooled_bytes, memory_order_relaxed) : 0ULL);

    store *st = store_set_get(srv->stores);
    long long counts[STORE_JOB_NSTATUS];
    if (st && store_job_counts(st, counts) == STORE_OK) {
        put(&s, "# HELP oigd_jobs Jobs in the store, by status.\n# TYPE oigd_jobs gauge\n");
        for (int i = 0; i < STORE_JOB_NSTATUS; i++)
            put(&s, "oigd_jobs{status=\"%s\"} %lld\n", store_job_statuses[i], counts[i]);
        put(&s, "# HELP oigd_queue_depth Jobs waiting for a worker.\n# TYPE oigd_queue_depth gauge\n"
                "oigd_queue_depth %lld\n", counts[0]);
    }
    store_space sp;
    if (st && store_space_get(st, &sp) == STORE_OK)
        put(&s, "# HELP oigd_database_size_bytes Size of the SQLite database (pages x page size).\n"
                "# TYPE oigd_database_size_bytes gauge\noigd_database_size_bytes %lld\n"
                "# HELP oigd_database_free_bytes Free pages inside the database file, not yet given back.\n"
                "# TYPE oigd_database_free_bytes gauge\noigd_database_free_bytes %lld\n",
            sp.pages * sp.page_size, sp.free_pages * sp.page_size);
    put(&s, "# HELP oigd_workers Training threads, and how many of them run a job now.\n# TYPE oigd_workers gauge\n"
            "oigd_workers{state=\"total\"} %d\noigd_workers{state=\"busy\"} %d\n",
        srv->cfg->workers, srv->pool ? pool_running(srv->pool) : 0);
    put(&s, "# HELP oigd_training_iterations_total Training iterations run by the workers since start.\n"
            "# TYPE oigd_training_iterations_total counter\noigd_training_iterations_total %lld\n",
        srv->pool ? pool_iterations(srv->pool) : 0LL);
    int running, waiting;
    api_offload_counts(srv->offload, &running, &waiting);
    put(&s, "# HELP oigd_long_requests Requests that run off the HTTP threads (uploads, evaluate, project, export, "
            "large bodies): being run, and waiting for a thread.\n# TYPE oigd_long_requests gauge\n"
            "oigd_long_requests{state=\"running\"} %d\noigd_long_requests{state=\"waiting\"} %d\n", running, waiting);
    put(&s, "# HELP oigd_event_streams Open event streams.\n# TYPE oigd_event_streams gauge\n"
            "oigd_event_streams %d\n", srv->hub ? hub_subscriber_count(srv->hub) : 0);
    put(&s, "# HELP oigd_event_streams_max The --max-streams limit.\n# TYPE oigd_event_streams_max gauge\n"
            "oigd_event_streams_max %d\n", srv->cfg->max_subscribers);

    if (s.oom) { free(s.b); return NULL; }
    *len = s.len;
    return s.b;
}

/* events.c -- GET /v1/jobs/{id}/events: a text/event-stream per subscriber.
 *
 * The stream is an MHD callback response. The reader drains a small output buffer, refilled
 * from (1) the current state, (2) stored metrics after Last-Event-ID, (3) the progress hub.
 * With nothing to send the hub parks the subscriber and the connection is suspended inside the
 * hub's lock; a publish resumes it. No MHD thread ever waits, and the hub keeps only the latest
 * progress per subscriber, so a slow client never slows training.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "textfmt.h"

enum { PHASE_REPLAY, PHASE_LIVE, PHASE_END };

typedef struct {
    api_server *srv;
    api_req *rq;                /* valid while the reader is called (the request is active) */
    struct MHD_Connection *conn;
    char job_id[STORE_ID_MAX];
    hub_sub *sub;
    char *out;
    size_t len, off, cap;
    int phase;
    int last_id;                /* last iteration sent */
    int done_after_replay;      /* the job had finished when the stream opened */
} sse;

static int out_printf(sse *s, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(s->out + s->len, s->cap - s->len, fmt, ap);
        va_end(ap);
        if (n < 0) return -1;
        if ((size_t)n < s->cap - s->len) { s->len += (size_t)n; return 0; }
        size_t cap = s->cap ? s->cap * 2 : 4096;
        while (cap < s->len + (size_t)n + 1) cap *= 2;
        char *b = realloc(s->out, cap);
        if (!b) return -1;
        s->out = b;
        s->cap = cap;
    }
}

static void event_json(sse *s, const char *event, int id, cJSON *data) {
    char *text = cJSON_PrintUnformatted(data);
    cJSON_Delete(data);
    if (!text) return;
    if (id >= 0) out_printf(s, "id: %d\nevent: %s\ndata: %s\n\n", id, event, text);
    else out_printf(s, "event: %s\ndata: %s\n\n", event, text);
    free(text);
}

static void add_num(cJSON *o, const char *k, double v) {
    cJSON_AddItemToObject(o, k, json_number_exact(v));
}

static void progress_event(sse *s, const hub_progress *p) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "iteration", p->iteration);
    add_num(o, "train_mse", p->train_mse);
    add_num(o, "validation_mse", p->val_mse);
    add_num(o, "train_error", p->train_err);
    add_num(o, "validation_error", p->val_err);
    add_num(o, "multiplies", p->multiplies);
    add_num(o, "seconds", p->seconds);
    event_json(s, "progress", p->iteration, o);
    s->last_id = p->iteration;
}

/* A status or done event carries the job resource as the store has it now. */
static void job_event(sse *s, const char *event) {
    store *st = store_set_get(s->srv->stores);
    cJSON *job = NULL;
    if (!st || store_job_get(st, s->job_id, &job) != STORE_OK) {
        job = cJSON_CreateObject();
        cJSON_AddStringToObject(job, "id", s->job_id);
    }
    event_json(s, event, -1, job);
}

/* One page of stored metrics after last_id; 0 when there were none. */
static int replay_page(sse *s) {
    store *st = store_set_get(s->srv->stores);
    cJSON *res = NULL;
    if (!st || store_metrics_list(st, s->job_id, s->last_id, 200, 1, &res) != STORE_OK) return 0;
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(res, "metrics"), *m;
    int n = 0;
    cJSON_ArrayForEach(m, arr) {
        cJSON *it = cJSON_GetObjectItemCaseSensitive(m, "iteration");
        int iter = it ? it->valueint : s->last_id + 1;
        cJSON *copy = cJSON_Duplicate(m, 1);
        event_json(s, "progress", iter, copy);
        s->last_id = iter;
        n++;
    }
    cJSON_Delete(res);
    return n;
}

static void park(void *ctx) {
    sse *s = ctx;
    MHD_suspend_connection(s->conn);
}

static void wake(void *ctx) {
    sse *s = ctx;
    MHD_resume_connection(s->conn);
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    sse *s = cls;
    for (;;) {
        if (s->off < s->len) {
            size_t n = s->len - s->off < max ? s->len - s->off : max;
            memcpy(buf, s->out + s->off, n);
            s->off += n;
            if (s->rq) s->rq->bytes += n;
            return (ssize_t)n;
        }
        s->off = s->len = 0;
        if (s->phase == PHASE_END) return MHD_CONTENT_READER_END_OF_STREAM;
        if (s->phase == PHASE_REPLAY) {
            if (replay_page(s) > 0) continue;
            if (s->done_after_replay) {
                job_event(s, "done");
                s->phase = PHASE_END;
            } else {
                s->phase = PHASE_LIVE;
            }
            continue;
        }
        hub_event ev;
        switch (hub_next(s->srv->hub, s->sub, &ev, park, s)) {
        case HUB_NONE:
            return 0;                   /* suspended; a publish resumes us */
        case HUB_PROGRESS:
            if (ev.progress.iteration > s->last_id) progress_event(s, &ev.progress);
            break;
        case HUB_STATUS: {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "id", s->job_id);
            cJSON_AddStringToObject(o, "status", ev.status);
            event_json(s, "status", -1, o);
            break;
        }
        case HUB_DONE:
            job_event(s, "done");
            s->phase = PHASE_END;
            break;
        case HUB_HEARTBEAT:
            out_printf(s, ": ping\n\n");
            break;
        case HUB_CLOSED:
            out_printf(s, "event: shutdown\ndata: {}\n\n");
            s->phase = PHASE_END;
            break;
        }
    }
}

static void sse_free(void *cls) {
    sse *s = cls;
    if (s->sub) hub_unsubscribe(s->srv->hub, s->sub);
    free(s->out);
    free(s);
}

enum MHD_Result api_events(api_req *rq, const char *job_id) {
    store *st = api_store(rq);
    if (!st) return api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
    char status[16];
    store_status rc = store_job_status(st, job_id, status);
    if (rc == STORE_NOTFOUND) return api_problem(rq, API_E_NOT_FOUND, "no job with that id", NULL, NULL);
    if (rc != STORE_OK) return api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);

    sse *s = calloc(1, sizeof *s);
    if (!s) return api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
    s->srv = rq->srv;
    s->rq = rq;
    s->conn = rq->conn;
    s->last_id = -1;
    snprintf(s->job_id, sizeof s->job_id, "%s", job_id);
    /* subscribe before reading the state, so no change between the two is missed */
    s->sub = hub_subscribe(rq->srv->hub, job_id, wake, s);
    if (!s->sub) {
        free(s);
        api_metrics_limit(rq->srv->metrics, API_LIMIT_STREAMS);
        return api_problem_retry(rq, API_E_UNAVAILABLE, "too many event streams are open");
    }
    cJSON *job = NULL;
    if (store_job_get(st, job_id, &job) != STORE_OK) {
        sse_free(s);
        return api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
    }
    cJSON *st_item = cJSON_GetObjectItemCaseSensitive(job, "status");
    cJSON *it = cJSON_GetObjectItemCaseSensitive(job, "iteration");
    int terminal = cJSON_IsString(st_item) && hub_status_terminal(st_item->valuestring);
    int current = cJSON_IsNumber(it) ? it->valueint : -1;

    out_printf(s, "retry: 2000\n\n");
    const char *lei = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Last-Event-ID");
    char *end = NULL;
    long last = lei ? strtol(lei, &end, 10) : -1;
    if (lei && end && *end == 0 && end != lei && last >= -1 && last < 1000000000L) {
        /* resume: replay what the client missed from the stored metrics */
        s->last_id = (int)last;
        cJSON_Delete(job);
        s->phase = PHASE_REPLAY;
    } else {
        /* a new subscriber starts from the current state */
        event_json(s, "status", -1, job);
        s->last_id = current;
        s->phase = terminal ? PHASE_END : PHASE_LIVE;
        if (terminal) job_event(s, "done");
    }
    s->done_after_replay = terminal;
    if (terminal) { hub_unsubscribe(rq->srv->hub, s->sub); s->sub = NULL; }

    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, reader, s, sse_free);
    if (!r) { sse_free(s); return MHD_NO; }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    MHD_add_response_header(r, "X-Accel-Buffering", "no");
    return api_queue_response(rq, 200, r, 0);   /* the reader counts the bytes */
}

/* api.h -- what the HTTP front door's files share: the server handle, the per-request state,
 * reply helpers and the problem+json error codes. Only api/ includes it; every byte that
 * crosses the network is produced through these helpers. */
#ifndef OIGD_API_H
#define OIGD_API_H

#include <microhttpd.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

#include "auth.h"
#include "config.h"
#include "hub.h"
#include "metrics.h"
#include "oig.h"
#include "pool.h"
#include "router.h"
#include "sha256.h"
#include "store.h"

/* ---- errors: every 4xx/5xx is one of these, mapped to status/title/type in problem.c ---- */
typedef enum {
    API_E_BAD_REQUEST = 0,  /* 400 malformed JSON or data */
    API_E_NOT_FOUND,        /* 404 unknown id */
    API_E_NO_ROUTE,         /* 404 unknown path */
    API_E_METHOD,           /* 405 (Allow header set by the caller) */
    API_E_CONFLICT,         /* 409 */
    API_E_TOO_LARGE,        /* 413 */
    API_E_MEDIA_TYPE,       /* 415 */
    API_E_INVALID,          /* 422 */
    API_E_INTERNAL,         /* 500 (no internals in the body) */
    API_E_UNAVAILABLE,      /* 503 */
    API_E_UNAUTHORIZED,     /* 401 (WWW-Authenticate set) */
    API_E_TOO_MANY,         /* 429 (Retry-After set by the caller) */
    API_E_DATASET_TOO_LARGE,/* 413 rows or columns past the limits */
    API_E_COUNT
} api_error;

int api_error_status(api_error e);
const char *api_error_code(api_error e);

/* ---- the model cache: parsed models shared by predict calls ---- */
typedef struct api_model_cache api_model_cache;
api_model_cache *api_model_cache_create(int capacity);
void api_model_cache_destroy(api_model_cache *c);
/* A reference to model id (loaded from st on a miss); NULL with *status set when it cannot be
 * had. Release it with api_model_cache_put. */
const oig_model *api_model_cache_get(api_model_cache *c, store *st, const char *id, store_status *status);
void api_model_cache_put(api_model_cache *c, const oig_model *m);
void api_model_cache_drop(api_model_cache *c, const char *id);

/* ---- the request log (access_log.c): buffered lines, written by size and by the main thread's tick ---- */
typedef struct api_access_log api_access_log;
api_access_log *api_access_log_create(int fd);
/* Append one printf-formatted line (it ends in '\n'); a NULL log drops it. */
void api_access_log_line(api_access_log *log, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void api_access_log_flush(api_access_log *log);
void api_access_log_destroy(api_access_log *log);   /* flushes first */

/* ---- predict bodies (predict_body.c) ---- */
/* Read {"inputs": [[...n numbers...], ...], "exit": k} into *x (malloc'd, rows x n, row-major),
 * *nrows and *exit_k (0 when absent; 1..exits). 1 when read; 0 when the body is anything else
 * (malformed, another shape, a row of another length, a number that is not finite, an exit out
 * of range) or memory ran out: the caller then reads it the general way, which says what is wrong. */
int api_predict_body_read(const char *body, size_t len, size_t n, int exits, double **x, size_t *nrows,
                          int *exit_k);

/* ---- long requests (offload.c): run on threads of their own, off the HTTP threads ---- */
typedef struct api_offload api_offload;
typedef struct api_req api_req;
/* max(2, http_threads) threads, at most 64. */
api_offload *api_offload_create(int http_threads);
/* Take no more requests, run those waiting, and join the threads; requests offered later run
 * on the calling HTTP thread. Called before libmicrohttpd stops (it may not hold suspended
 * connections then). */
void api_offload_finish(api_offload *o);
void api_offload_destroy(api_offload *o);   /* finishes first */
/* 1 when a complete request should run off the HTTP thread: an upload, an evaluate, a
 * projection, an export, or any body of 64 KiB and more. */
int api_offload_wanted(const api_req *rq);
/* Suspend rq's connection and queue it; its handler's reply is held (api_queue_response) until
 * the connection resumes and the HTTP thread calls api_offload_reply. */
enum MHD_Result api_offload_submit(api_offload *o, api_req *rq);
enum MHD_Result api_offload_reply(api_req *rq);
/* Requests being run and waiting for a thread (0 and 0 for a NULL o). */
void api_offload_counts(api_offload *o, int *running, int *waiting);
typedef enum { API_OFFLOAD_NONE = 0, API_OFFLOAD_RUNNING, API_OFFLOAD_DONE } api_offload_state;

/* ---- multipart/form-data bodies (multipart.c) ---- */
typedef struct {
    char name[64];          /* the form field's name (truncated past 63 bytes) */
    char filename[256];     /* "" for a plain field */
    char ctype[64];         /* the part's media type, lower-cased, "" when not given */
    const char *data;       /* the content, inside the body */
    size_t len;
} api_form_part;
/* The boundary parameter of a multipart Content-Type header value into out; 0, or -1 when it
 * has none (or one longer than RFC 2046's 70 characters). */
int api_multipart_boundary(const char *content_type, char *out, size_t outlen);
/* The parts of body, at most max_parts, into parts and *nparts. 0, or -1 with err set when the
 * body is not multipart with that boundary (no boundary line, a part without form-data
 * disposition or whose headers do not end, no closing boundary, too many parts). */
int api_multipart_parse(const char *body, size_t len, const char *boundary, api_form_part *parts, int max_parts,
                        int *nparts, char *err, size_t errlen);

/* ---- the server ---- */
typedef struct {
    const config *cfg;
    store_set *stores;
    hub *hub;
    pool *pool;
    api_model_cache *models;
    api_keys *keys;         /* NULL: no authentication */
    api_metrics *metrics;   /* may be NULL */
    api_access_log *access_log;   /* NULL: requests are not logged */
    api_offload *offload;   /* NULL: every request runs on its HTTP thread */
    struct MHD_Daemon *daemon;
    int port;               /* bound port */
    int listen_fd;          /* -1 when closed */
    pthread_t acceptor;     /* accepts connections and hands them to the daemon */
    int acceptor_running;
    _Atomic int accepting;  /* cleared to stop the acceptor */
    _Atomic long open_connections;        /* started and not yet closed, by libmicrohttpd's */
    _Atomic unsigned long started_connections;   /* notifications; started ever */
    uint64_t request_id_key;              /* random at start: each run makes other request ids */
    _Atomic uint64_t request_ids;         /* ids made so far */
} api_server;

/* ---- one request ---- */
#define API_REQUEST_ID_MAX 64
struct api_req {
    api_server *srv;
    struct MHD_Connection *conn;
    char request_id[API_REQUEST_ID_MAX + 1];   /* the client's X-Request-Id, or one made here */
    char method[16];
    char path[512];
    char *body;             /* the body (body.h): NUL-terminated, at most cfg->max_body decoded;
                               past API_SPOOL_AFTER bytes a read-only mapping of the spool file */
    size_t len, cap;
    size_t mapped;          /* bytes of body's mapping, 0 when body is malloc'd */
    int spool_fd;           /* the body's spool file, -1 while the body is in memory */
    int spool_errno;        /* errno of a failed spool write */
    int body_failed;        /* the first api_body_status other than OK while receiving */
    char body_error[128];   /* what a body that does not decode gave */
    int hashing;            /* 1: body_sha sums the decoded body as it arrives (uploads) */
    sha256_ctx body_sha;
    struct z_stream_s *inflate;   /* the decoder of a gzip or deflate body, NULL without one */
    int inflate_done;       /* the decoder is at the end of a compressed stream */
    int started;            /* the first callback has run */
    int replied;
    int route;              /* api_route_id once dispatched; API_R_COUNT until then */
    unsigned status;
    uint64_t bytes;         /* response body bytes (streams add as they go) */
    struct timespec t0;
    api_offload_state offload_state;   /* RUNNING from submit until the handler has run */
    enum MHD_Result offload_result;    /* the handler's result, once DONE */
    struct MHD_Response *offload_held; /* its reply, queued on resumption */
    api_req *offload_next;             /* the offload queue's link */
};

/* Queue r (owned; NULL answers MHD_NO) as the reply to rq with status, counting bytes of body,
 * or hold it while rq runs off its HTTP thread. Every reply goes through here. */
enum MHD_Result api_queue_response(api_req *rq, unsigned status, struct MHD_Response *r, uint64_t bytes);

/* Reply helpers: each queues exactly one response; return MHD_YES/MHD_NO for the handler. */
enum MHD_Result api_reply_json(api_req *rq, unsigned status, cJSON *body, const char *location);
enum MHD_Result api_reply_text(api_req *rq, unsigned status, const char *ctype, char *text, size_t len);
/* The same with one more header (name: value). */
enum MHD_Result api_reply_text_header(api_req *rq, unsigned status, const char *ctype, char *text, size_t len,
                                      const char *name, const char *value);
enum MHD_Result api_reply_empty(api_req *rq, unsigned status);
/* problem+json; errors (owned, may be NULL) becomes the "errors" member; allow sets Allow. */
enum MHD_Result api_problem(api_req *rq, api_error e, const char *detail, cJSON *errors, const char *allow);
/* problem+json with one extra response header (e.g. Retry-After, WWW-Authenticate). */
enum MHD_Result api_problem_hdr(api_req *rq, api_error e, const char *detail, const char *hname,
                                const char *hvalue);
/* 429/503 with Retry-After: the configured seconds. */
enum MHD_Result api_problem_retry(api_req *rq, api_error e, const char *detail);
/* {"line","column","field","message"} item for a problem's errors array (0 / "" omitted). */
cJSON *api_error_item(int line, int column, const char *field, const char *message);
/* 422 invalid_parameters: detail "FIELD: MESSAGE" and one errors[] item for the field. */
enum MHD_Result api_invalid(api_req *rq, const char *field, const char *message);
/* 422 for a member key that is none of names[0..n-1]: "unknown field", and the name it most
 * likely meant when one is near (server/suggest.h). */
enum MHD_Result api_unknown_field(api_req *rq, const char *key, const char *const *names, size_t n);

/* The request's store connection (the calling thread's). */
store *api_store(api_req *rq);
/* Dispatch a complete request (body accumulated) to its handler. */
enum MHD_Result api_dispatch(api_req *rq);
/* GET /v1/jobs/{id}/events */
enum MHD_Result api_events(api_req *rq, const char *job_id);
/* Media type of the request without parameters, lower-cased, "" when absent. */
void api_content_type(api_req *rq, char *out, size_t outlen);
/* Parse a JSON body; on failure replies 400 (with line/column) and returns NULL. */
cJSON *api_parse_json(api_req *rq, enum MHD_Result *ret);
/* 500 for a store that failed (or cannot be had, st NULL), its message on stderr (handlers.c). */
enum MHD_Result api_store_failure(api_req *rq, store *st);
/* GET /v1/datasets/{id}/data (api/dataset_export.c): the stored dataset as CSV, streamed. */
enum MHD_Result api_dataset_export(api_req *rq, store *st, const char *id);
/* The stored dataset dataset_id fitted to mdl's inputs and classes (oig_data_conform) into *d,
 * which the caller frees; *by_name (may be NULL) as oig_data_conform sets it. 0 on success;
 * otherwise the reply is sent (422 naming dataset_id for an unknown dataset or one mdl cannot
 * score, 500 when the store fails), *ret holds its result and *d is NULL. */
int api_dataset_for_model(api_req *rq, store *st, const char *dataset_id, const oig_model *mdl,
                          oig_data **d, int *by_name, enum MHD_Result *ret);

/* GET /metrics: the Prometheus text exposition (malloc'd), NULL when out of memory. */
char *api_metrics_render(api_server *srv, size_t *len);

/* Files embedded at build time (cmake/embed_files.cmake), NUL-terminated. */
extern const char oigd_openapi_json[];
extern const size_t oigd_openapi_json_len;
extern const char oigd_dashboard_html[];
extern const size_t oigd_dashboard_html_len;

/* Start/stop the HTTP daemon (its threads, every limit set) and the thread that accepts its
 * connections. api_quiesce stops accepting; api_stop closes every connection. */
int api_start(api_server *srv, char *err, size_t errlen);
void api_quiesce(api_server *srv);
void api_stop(api_server *srv);
#endif

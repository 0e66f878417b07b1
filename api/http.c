/* http.c -- the libmicrohttpd daemon: its listening socket and the thread that accepts on it,
 * options and limits, the access handler that takes in the body (body.c: decoded, bounded by
 * --max-body, past 1 MiB in a spool file) before dispatching, per-request logging and clean-up,
 * and the reply helpers. An HTTP thread never waits on training, and hands the requests that
 * compute for long (uploads, evaluations, exports; offload.c) to threads of their own. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "body.h"

store *api_store(api_req *rq) { return store_set_get(rq->srv->stores); }

enum MHD_Result api_queue_response(api_req *rq, unsigned status, struct MHD_Response *r, uint64_t bytes) {
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "X-Request-Id", rq->request_id);
    rq->status = status;
    rq->bytes = bytes;
    rq->replied = 1;
    if (rq->offload_state == API_OFFLOAD_RUNNING) {   /* queued by the HTTP thread on resumption */
        rq->offload_held = r;
        return MHD_YES;
    }
    enum MHD_Result ret = MHD_queue_response(rq->conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result queue(api_req *rq, unsigned status, struct MHD_Response *r, const char *ctype,
                             const char *location, size_t len) {
    if (!r) return MHD_NO;
    if (ctype) MHD_add_response_header(r, "Content-Type", ctype);
    if (location) MHD_add_response_header(r, "Location", location);
    return api_queue_response(rq, status, r, len);
}

enum MHD_Result api_reply_text(api_req *rq, unsigned status, const char *ctype, char *text, size_t len) {
    return api_reply_text_header(rq, status, ctype, text, len, NULL, NULL);
}

enum MHD_Result api_reply_text_header(api_req *rq, unsigned status, const char *ctype, char *text, size_t len,
                                      const char *name, const char *value) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) free(text);
    else if (name) MHD_add_response_header(r, name, value);
    return queue(rq, status, r, ctype, NULL, len);
}

enum MHD_Result api_reply_json(api_req *rq, unsigned status, cJSON *body, const char *location) {
    char *text = cJSON_PrintUnformatted(body);
    cJSON_Delete(body);
    if (!text) return api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
    size_t len = strlen(text);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!r) free(text);
    return queue(rq, status, r, "application/json", location, len);
}

enum MHD_Result api_reply_empty(api_req *rq, unsigned status) {
    struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    return queue(rq, status, r, NULL, NULL, 0);
}

void api_content_type(api_req *rq, char *out, size_t outlen) {
    const char *ct = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Content-Type");
    size_t n = 0;
    if (ct) {
        while (*ct == ' ') ct++;
        for (; ct[n] && ct[n] != ';' && ct[n] != ' ' && n + 1 < outlen; n++)
            out[n] = (char)tolower((unsigned char)ct[n]);
    }
    out[n] = 0;
}

cJSON *api_parse_json(api_req *rq, enum MHD_Result *ret) {
    const char *end = NULL;
    const char *b = rq->body ? rq->body : "";
    cJSON *j = cJSON_ParseWithLengthOpts(b, rq->len, &end, 0);
    if (j) {
        /* only whitespace may follow the value */
        while (end < b + rq->len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) end++;
        if (end == b + rq->len) return j;
        cJSON_Delete(j);
    }
    int line = 1, col = 1;
    if (!end || end < b || end > b + rq->len) end = b + rq->len;
    for (const char *p = b; p < end; p++) {
        if (*p == '\n') { line++; col = 1; }
        else col++;
    }
    char msg[128];
    snprintf(msg, sizeof msg, "malformed JSON at line %d, column %d", line, col);
    cJSON *errs = cJSON_CreateArray();
    cJSON_AddItemToArray(errs, api_error_item(line, col, NULL, "malformed JSON"));
    *ret = api_problem(rq, API_E_BAD_REQUEST, msg, errs, NULL);
    return NULL;
}

static int64_t elapsed_us(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)(t.tv_sec - t0->tv_sec) * 1000000 + (t.tv_nsec - t0->tv_nsec) / 1000;
}

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                              enum MHD_RequestTerminationCode toe) {
    (void)cls; (void)conn;
    api_req *rq = *con_cls;
    if (!rq) return;
    api_metrics_request(rq->srv->metrics, rq->route, rq->method, rq->status, (long long)elapsed_us(&rq->t0));
    api_access_log_line(rq->srv->access_log, "oigd: %s %s %u %llub %lldus id=%s%s\n", rq->method, rq->path,
            rq->status, (unsigned long long)rq->bytes, (long long)elapsed_us(&rq->t0), rq->request_id,
            toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (aborted)");
    if (rq->offload_held) MHD_destroy_response(rq->offload_held);   /* its client left before it was queued */
    api_body_free(rq);
    free(rq);
    *con_cls = NULL;
}

/* rq's id: the client's X-Request-Id when it is 1 to API_REQUEST_ID_MAX characters of letters,
 * digits and "-_.:" (so that it can go into headers, JSON and log lines as it is), else 16 hex
 * digits of its own. A made id is a bijective mix (splitmix64's finalizer) of a count and a key
 * drawn at start: no two requests of one process share one, and another run of the daemon makes
 * other ids. Ids name requests in logs; they are not secrets. */
static void request_id_set(api_req *rq) {
    const char *given = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "X-Request-Id");
    size_t n = given ? strspn(given, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:") : 0;
    if (given && n > 0 && n <= API_REQUEST_ID_MAX && given[n] == '\0') {
        memcpy(rq->request_id, given, n + 1);
        return;
    }
    uint64_t z = rq->srv->request_id_key + 0x9e3779b97f4a7c15ull * (rq->srv->request_ids++ + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    snprintf(rq->request_id, sizeof rq->request_id, "%016llx", (unsigned long long)z);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version, const char *upload_data,
                                      size_t *upload_data_size, void **con_cls) {
    (void)version;
    api_server *srv = cls;
    api_req *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq) return MHD_NO;
        rq->spool_fd = -1;
        rq->srv = srv;
        rq->conn = conn;
        request_id_set(rq);
        clock_gettime(CLOCK_MONOTONIC, &rq->t0);
        snprintf(rq->method, sizeof rq->method, "%s", method);
        snprintf(rq->path, sizeof rq->path, "%s", url);
        rq->route = API_R_COUNT;
        api_match m0;
        if (api_route(method, url, &m0, NULL, 0) == 0) rq->route = (int)m0.route;
        *con_cls = rq;
        /* an API key is checked before any byte of the body is read */
        if (srv->keys && api_auth_required(url) &&
            !api_auth_ok(srv->keys, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"))) {
            int given = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization") != NULL;
            return api_problem_hdr(rq, API_E_UNAUTHORIZED,
                                   given ? "the API key is not valid" : "an API key is required: Authorization: Bearer KEY",
                                   "WWW-Authenticate",
                                   given ? "Bearer realm=\"oigd\", error=\"invalid_token\"" : "Bearer realm=\"oigd\"");
        }
        /* a declared length past the limit is refused before any byte is read */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        unsigned long long declared = 0;
        if (cl) {
            char *end;
            unsigned long long v = strtoull(cl, &end, 10);
            if (end != cl) declared = v;
            if (end != cl && v > srv->cfg->max_body) {
                char msg[96];
                snprintf(msg, sizeof msg, "the body may be at most %zu bytes", srv->cfg->max_body);
                api_metrics_limit(srv->metrics, API_LIMIT_BODY);
                return api_problem(rq, API_E_TOO_LARGE, msg, NULL, NULL);
            }
        }
        /* only a body is decoded: a request without one (no Content-Length above 0, no
         * Transfer-Encoding) is answered whatever Content-Encoding it names */
        int has_body = declared > 0 || MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding") != NULL;
        const char *coding = has_body ? MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Encoding") : NULL;
        /* an upload's SHA-256 is summed on arrival: the dataset handler stores it (a form's
         * is its file's, summed by the handler) */
        int hash = rq->route == API_R_DATASETS && strcmp(method, "POST") == 0;
        if (hash) {
            char ct[64];
            api_content_type(rq, ct, sizeof ct);
            hash = strcmp(ct, "multipart/form-data") != 0;
        }
        int rc = api_body_begin(rq, coding, hash);
        if (rc == -2) return MHD_NO;
        if (rc == -1) {
            char msg[160];
            snprintf(msg, sizeof msg, "Content-Encoding %.64s is not supported: send gzip, deflate or none", coding);
            return api_problem_hdr(rq, API_E_MEDIA_TYPE, msg, "Accept-Encoding", "gzip, deflate");
        }
        return MHD_YES;
    }
    if (rq->offload_state == API_OFFLOAD_DONE) return api_offload_reply(rq);   /* resumed */
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (rq->replied) return MHD_YES;
        return api_body_feed(rq, upload_data, n) == 0 ? MHD_YES : MHD_NO;
    }
    if (rq->replied) return MHD_YES;
    switch (api_body_end(rq)) {
    case API_BODY_OK:
        break;
    case API_BODY_TOO_LARGE: {
        api_metrics_limit(srv->metrics, API_LIMIT_BODY);
        char msg[96];
        snprintf(msg, sizeof msg, "the body may be at most %zu bytes", srv->cfg->max_body);
        return api_problem(rq, API_E_TOO_LARGE, msg, NULL, NULL);
    }
    case API_BODY_CORRUPT:
        return api_problem(rq, API_E_BAD_REQUEST, rq->body_error, NULL, NULL);
    case API_BODY_SPOOL_FAILED:
        fprintf(stderr, "oigd: %s %s id=%s: spooling the body: %s\n", rq->method, rq->path, rq->request_id,
                strerror(rq->spool_errno));
        return api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
    }
    if (rq->mapped) api_metrics_spooled(srv->metrics, rq->len);
    if (srv->offload && api_offload_wanted(rq)) return api_offload_submit(srv->offload, rq);
    return api_dispatch(rq);
}

/* libmicrohttpd's word on each connection: started (set up in a polling thread) or closed. */
static void connection_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                              enum MHD_ConnectionNotificationCode code) {
    api_server *srv = cls;
    (void)conn;
    (void)socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        srv->open_connections++;
        srv->started_connections++;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        srv->open_connections--;
    }
}

static long long monotonic_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* With one HTTP thread, connections are accepted by a thread of their own and handed to
 * libmicrohttpd (MHD_add_connection): its polling thread accepts one connection per pass over its
 * connections, so when 256 clients connected at once the last ones waited up to 2 s for their
 * first answer (wrk -c256: p99 0.1-0.7 s, time-outs). At --max-connections the acceptor waits,
 * so further clients queue in the listen backlog, as they do on libmicrohttpd's own socket: it
 * counts the open connections and those handed over but not yet started. A pool of threads
 * accepts for itself (up to 10 per pass each): connections handed to a pool's threads, when
 * they polled with epoll, sometimes went unserved (one 8 s run: 104 requests/s). */

/* A handed connection stops counting when the polling thread has started none for this long (it
 * may have dropped it unstarted, which is rare; it then holds its slot this long). At 100 ms a
 * loaded machine was too slow: in one run of the test suites, by the look of it, the acceptor
 * stopped counting the 8 connections it had handed, handed 4 more past --max-connections, and
 * libmicrohttpd closed those (test_clients_past_the_connection_limit_wait_their_turn). */
#define HANDED_START_MS 2000

static void *accept_connections(void *arg) {
    api_server *srv = arg;
    long limit = srv->cfg->max_connections;
    unsigned long handed = 0, last_started = 0;
    long long started_at = monotonic_ms();   /* when the last start was seen, or the first hand-over after none was pending */
    while (srv->accepting) {
        unsigned long started = srv->started_connections;
        long long now = monotonic_ms();
        if (started != last_started) {
            last_started = started;
            started_at = now;
        }
        long pending = (long)(handed - started);
        if (pending > 0 && now - started_at > HANDED_START_MS) {
            handed = started;
            pending = 0;
        }
        if (srv->open_connections + pending >= limit) {
            nanosleep(&(struct timespec){0, 1000 * 1000}, NULL);
            continue;
        }
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int fd = accept4(srv->listen_fd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
        if (fd >= 0) {
            if (pending == 0) started_at = monotonic_ms();
            /* on failure libmicrohttpd closes fd (past the per-client limit, for one) */
            if (MHD_add_connection(srv->daemon, fd, (struct sockaddr *)&peer, plen) == MHD_YES) handed++;
            continue;
        }
        if (!srv->accepting || errno == EINVAL) break;   /* shut down by api_quiesce */
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);   /* out of descriptors: wait */
    }
    return NULL;
}

/* The listening socket for c->host:c->port, bound; its port in *port. -1 with err set. */
static int listen_on(const config *c, int *port, char *err, size_t errlen) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t slen;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, c->host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)c->port);
        slen = sizeof *a4;
    } else if (inet_pton(AF_INET6, c->host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)c->port);
        slen = sizeof *a6;
    } else {
        snprintf(err, errlen, "invalid listen address %s", c->host);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", c->listen, strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, slen) != 0 || listen(fd, c->max_connections) != 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &slen) != 0) {
        snprintf(err, errlen, "cannot listen on %s: %s", c->listen, strerror(errno));
        close(fd);
        return -1;
    }
    *port = ntohs(ss.ss_family == AF_INET ? a4->sin_port : a6->sin6_port);
    return fd;
}

int api_start(api_server *srv, char *err, size_t errlen) {
    const config *c = srv->cfg;
    srv->listen_fd = listen_on(c, &srv->port, err, errlen);
    if (srv->listen_fd < 0) return -1;
    /* Every HTTP thread polls with poll(), never epoll. libmicrohttpd's (0.9.75) single-thread
     * epoll loop, given 256 requests ready at once, served none of them until its next timeout
     * (the connection timeout, 60 s): 256 keep-alive connections from wrk got 2.9k requests/s
     * instead of 24k. A pool of two epoll threads, given 256 new connections at once while the
     * other test suites ran, answered 129 of them in 30 s and left the rest waiting: its listen
     * socket is edge-triggered and each thread accepts at most 10 connections per wake-up. poll()
     * reports the socket for as long as connections wait on it. At 64 connections a pool of two
     * answers about as many requests with poll as with epoll (GET /v1/version, wrk -t2 -c64, 3
     * runs each: medians 64.0k and 67.1k requests/s, ranges 61.8-73.0k and 59.1-81.1k). Both
     * cases are in test_api_ops. */
    int pooled = c->http_threads > 1;
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME |
                         MHD_USE_ERROR_LOG | MHD_USE_POLL;
    if (!pooled) flags |= MHD_USE_NO_LISTEN_SOCKET;
    if (getrandom(&srv->request_id_key, sizeof srv->request_id_key, GRND_NONBLOCK) != sizeof srv->request_id_key) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        srv->request_id_key = (uint64_t)now.tv_nsec << 32 ^ (uint64_t)now.tv_sec ^ (uint64_t)getpid();
    }
    srv->offload = api_offload_create(c->http_threads);
    if (!srv->offload) {
        snprintf(err, errlen, "cannot start the threads that run long requests");
        close(srv->listen_fd);
        srv->listen_fd = -1;
        return -1;
    }
    struct MHD_OptionItem pool[] = {{MHD_OPTION_THREAD_POOL_SIZE, c->http_threads, NULL},
                                    {MHD_OPTION_LISTEN_SOCKET, srv->listen_fd, NULL},
                                    {MHD_OPTION_END, 0, NULL}};
    srv->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, access_handler, srv,
        MHD_OPTION_ARRAY, pooled ? pool : pool + 2,   /* the pool listens on the socket itself */
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)c->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)c->max_connections_per_client,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)c->connection_timeout,
        /* libmicrohttpd clears a connection's pool between keep-alive requests: 128 KiB made
         * that memset 13% of a single-row predict's CPU. Pools over 32 KiB are mmap'd and go
         * back to the system when the connection closes; at 32 KiB or less they come from
         * malloc and 256 closed connections left the daemon's RSS up to 30% higher. The pool
         * also bounds the request line and headers (more is 431); bodies never enter it. */
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(36 * 1024),
        MHD_OPTION_NOTIFY_COMPLETED, request_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, connection_notify, srv,
        MHD_OPTION_END);
    if (!srv->daemon) {
        snprintf(err, errlen, "cannot start the HTTP daemon on %s", c->listen);
        close(srv->listen_fd);
        srv->listen_fd = -1;
        api_offload_destroy(srv->offload);
        srv->offload = NULL;
        return -1;
    }
    if (pooled) return 0;
    srv->accepting = 1;
    if (pthread_create(&srv->acceptor, NULL, accept_connections, srv) != 0) {
        snprintf(err, errlen, "cannot start the thread that accepts connections");
        api_stop(srv);
        return -1;
    }
    srv->acceptor_running = 1;
    return 0;
}

void api_quiesce(api_server *srv) {
    srv->accepting = 0;
    if (srv->acceptor_running) {
        shutdown(srv->listen_fd, SHUT_RDWR);   /* wakes accept4 */
        pthread_join(srv->acceptor, NULL);
        srv->acceptor_running = 0;
    } else if (srv->daemon) {
        MHD_quiesce_daemon(srv->daemon);       /* a pool stops accepting on srv->listen_fd */
    }
    if (srv->listen_fd >= 0) close(srv->listen_fd);
    srv->listen_fd = -1;
    api_offload_finish(srv->offload);          /* long requests end and their connections resume */
}

void api_stop(api_server *srv) {
    api_quiesce(srv);
    if (srv->daemon) MHD_stop_daemon(srv->daemon);
    srv->daemon = NULL;
    api_offload_destroy(srv->offload);
    srv->offload = NULL;
}

/* offload.c -- the threads that run long requests away from the HTTP threads. A dataset upload
 * parses and stores its whole body, an evaluate or a projection reads and scores a whole stored
 * dataset, an export loads one; run on an HTTP thread, each held up every request behind it,
 * health checks included. Such a request's connection is suspended, its handler runs here, and
 * its response is queued by the HTTP thread when the connection resumes. The mutex guards the
 * queue and the closing flag; a request belongs to the offload thread between suspend and resume. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

/* At least two threads, so that one long request does not wait for another; as many as the HTTP
 * threads on a larger machine, which leave the training cores to training all the same. Past
 * them requests queue, each holding only its connection. */
#define OFFLOAD_THREADS_MIN 2
#define OFFLOAD_THREADS_MAX 64

/* A predict or an import body at least this long is parsed here too. A 64 KiB JSON body is some
 * 300 rows of a 20-input model; below that a request costs well under a millisecond (100 such
 * rows: about 10,000 predicts a second on one HTTP thread in bench/serve_load.sh). */
#define OFFLOAD_BODY_BYTES (64 * 1024)

struct api_offload {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    api_req *head, *tail;        /* waiting requests, linked by offload_next; guarded by mu */
    int waiting, busy;           /* requests in the queue and being run; guarded by mu */
    int closing;                 /* guarded by mu: no request is taken after it is set */
    int running;                 /* threads started */
    pthread_t threads[OFFLOAD_THREADS_MAX];
};

int api_offload_wanted(const api_req *rq) {
    int post = strcmp(rq->method, "POST") == 0;
    switch (rq->route) {
    case API_R_DATASETS: return post;                          /* an upload */
    case API_R_DATASET_DATA: return strcmp(rq->method, "GET") == 0;
    case API_R_MODEL_EVALUATE: case API_R_MODEL_PROJECT: return post;
    default: return post && rq->len >= OFFLOAD_BODY_BYTES;   /* a large predict or import */
    }
}

/* Run one request's handler with its reply held, then give the connection back to the HTTP
 * thread, which queues the held reply (api_offload_reply). */
static void run(api_req *rq) {
    rq->offload_result = api_dispatch(rq);
    rq->offload_state = API_OFFLOAD_DONE;
    MHD_resume_connection(rq->conn);
}

static void *offload_main(void *arg) {
    api_offload *o = arg;
    pthread_mutex_lock(&o->mu);
    for (;;) {
        while (!o->head && !o->closing) pthread_cond_wait(&o->cv, &o->mu);
        api_req *rq = o->head;
        if (!rq) break;                                        /* closing, and nothing waits */
        o->head = rq->offload_next;
        if (!o->head) o->tail = NULL;
        o->waiting--;
        o->busy++;
        pthread_mutex_unlock(&o->mu);
        run(rq);
        pthread_mutex_lock(&o->mu);
        o->busy--;
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

api_offload *api_offload_create(int http_threads) {
    int n = http_threads < OFFLOAD_THREADS_MIN ? OFFLOAD_THREADS_MIN
          : http_threads > OFFLOAD_THREADS_MAX ? OFFLOAD_THREADS_MAX : http_threads;
    api_offload *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    pthread_mutex_init(&o->mu, NULL);
    pthread_cond_init(&o->cv, NULL);
    for (; o->running < n; o->running++) {
        if (pthread_create(&o->threads[o->running], NULL, offload_main, o) != 0) break;
        pthread_setname_np(o->threads[o->running], "oigd-long");   /* as top -H and gdb show it */
    }
    if (o->running == 0) {
        api_offload_destroy(o);
        return NULL;
    }
    return o;
}

enum MHD_Result api_offload_submit(api_offload *o, api_req *rq) {
    pthread_mutex_lock(&o->mu);
    if (o->closing) {
        pthread_mutex_unlock(&o->mu);
        return api_dispatch(rq);                               /* shutting down: run it here */
    }
    rq->offload_state = API_OFFLOAD_RUNNING;
    rq->offload_next = NULL;
    /* suspended before any thread can take it: a handler that finishes at once resumes a
     * connection that is already suspended */
    MHD_suspend_connection(rq->conn);
    if (o->tail) o->tail->offload_next = rq;
    else o->head = rq;
    o->tail = rq;
    o->waiting++;
    pthread_cond_signal(&o->cv);
    pthread_mutex_unlock(&o->mu);
    return MHD_YES;
}

enum MHD_Result api_offload_reply(api_req *rq) {
    struct MHD_Response *r = rq->offload_held;
    rq->offload_held = NULL;
    rq->offload_state = API_OFFLOAD_NONE;
    if (!r) return MHD_NO;                                     /* the handler could not answer */
    enum MHD_Result ret = api_queue_response(rq, rq->status, r, rq->bytes);
    return ret == MHD_YES && rq->offload_result == MHD_YES ? MHD_YES : MHD_NO;
}

void api_offload_counts(api_offload *o, int *running, int *waiting) {
    *running = *waiting = 0;
    if (!o) return;
    pthread_mutex_lock(&o->mu);
    *running = o->busy;
    *waiting = o->waiting;
    pthread_mutex_unlock(&o->mu);
}

void api_offload_finish(api_offload *o) {
    if (!o) return;
    pthread_mutex_lock(&o->mu);
    o->closing = 1;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    for (int i = 0; i < o->running; i++) pthread_join(o->threads[i], NULL);
    o->running = 0;
}

void api_offload_destroy(api_offload *o) {
    if (!o) return;
    api_offload_finish(o);
    pthread_cond_destroy(&o->cv);
    pthread_mutex_destroy(&o->mu);
    free(o);
}

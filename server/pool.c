/* pool.c -- worker threads that claim queued jobs from the store and run them with job_run.
 * The pool mutex guards the slot table (which worker runs which job) and the wake-up condition;
 * each slot's cancel flag is atomic so the runner reads it without the mutex. */
#include "pool.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "job.h"

typedef struct {
    pool *p;
    pthread_t thread;
    int started;
    char job_id[STORE_ID_MAX];      /* guarded by p->mu; empty when idle */
    atomic_int cancel;
} pool_slot;

struct pool {
    store_set *ss;
    hub *hub;
    double checkpoint_seconds;
    const char *mpi_launcher;
    int nice;
    int idle;
    int train_threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_cond_t ready_cv;        /* signalled as each worker finishes setting itself up */
    int ready;                      /* workers that have lowered their priority, guarded by mu */
    int pending;                    /* notifications not yet consumed, guarded by mu */
    atomic_int shutdown;
    atomic_llong iterations;        /* training iterations run by every worker since start */
    int nslots;
    pool_slot *slots;
};

/* Training is batch work and request handling is not: a worker lowers its own priority by nice
 * steps below the daemon's (Linux keeps a nice value per thread; processes it forks, such as an
 * MPI launcher, inherit it) and declares itself CPU-bound (SCHED_BATCH), so that on busy cores
 * the HTTP threads run first and prediction latency does not follow the training load. On idle
 * cores training still gets all the CPU.
 *
 * SCHED_BATCH still lets a worker finish its time slice when an HTTP thread wakes on its core.
 * SCHED_IDLE does not: the woken thread runs at once, and the worker gets only the time no other
 * thread of the machine wants, which under sustained load can be none. */
static void worker_lower_priority(int nice, int idle) {
    if (nice <= 0 && !idle) return;
    struct sched_param sp = {0};
    if (pthread_setschedparam(pthread_self(), idle ? SCHED_IDLE : SCHED_BATCH, &sp) != 0)
        fprintf(stderr, "oigd: worker: cannot switch to %s\n", idle ? "SCHED_IDLE" : "SCHED_BATCH");
    if (nice <= 0) return;
    id_t self = (id_t)gettid();
    errno = 0;
    int base = getpriority(PRIO_PROCESS, self);   /* inherited from the daemon's thread */
    if (errno != 0) base = 0;
    int target = base + nice > 19 ? 19 : base + nice;
    if (setpriority(PRIO_PROCESS, self, target) != 0)
        fprintf(stderr, "oigd: worker: cannot set nice %d: %s\n", target, strerror(errno));
}

static void *worker_main(void *arg) {
    pool_slot *slot = arg;
    pool *p = slot->p;
    worker_lower_priority(p->nice, p->idle);
    pthread_mutex_lock(&p->mu);
    p->ready++;
    pthread_cond_signal(&p->ready_cv);
    pthread_mutex_unlock(&p->mu);
    store *st = store_set_get(p->ss);
    if (!st) return NULL;
    job_env env = {st, p->hub, p->checkpoint_seconds, &slot->cancel, &p->shutdown, &p->iterations,
                   p->mpi_launcher, p->train_threads};
    while (!atomic_load(&p->shutdown)) {
        char id[STORE_ID_MAX];
        pthread_mutex_lock(&p->mu);
        /* claim under the mutex so that registering the slot and claiming are one step for
         * pool_cancel: a cancel either sees the slot or the job's cancel_requested flag */
        store_status rc = store_job_claim(st, id);
        if (rc == STORE_OK) {
            snprintf(slot->job_id, sizeof slot->job_id, "%s", id);
            atomic_store(&slot->cancel, 0);
        } else {
            if (p->pending == 0) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += 1;
                pthread_cond_timedwait(&p->cv, &p->mu, &ts);
            }
            if (p->pending > 0) p->pending--;
            pthread_mutex_unlock(&p->mu);
            if (rc == STORE_ERROR) {
                fprintf(stderr, "oigd: worker: cannot claim a job: %s\n", store_errmsg(st));
                struct timespec d = {0, 200000000L};
                nanosleep(&d, NULL);
            }
            continue;
        }
        pthread_mutex_unlock(&p->mu);
        job_run(&env, id);
        pthread_mutex_lock(&p->mu);
        slot->job_id[0] = 0;
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

pool *pool_create(store_set *ss, hub *h, const pool_options *opt) {
    int nworkers = opt->workers;
    pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->ss = ss;
    p->mpi_launcher = opt->mpi_launcher;
    p->hub = h;
    p->checkpoint_seconds = opt->checkpoint_seconds;
    p->nice = opt->nice;
    p->idle = opt->idle;
    p->train_threads = opt->train_threads > 1 ? opt->train_threads : 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_cond_init(&p->ready_cv, NULL);
    atomic_init(&p->shutdown, 0);
    atomic_init(&p->iterations, 0);
    p->slots = calloc((size_t)nworkers, sizeof *p->slots);
    if (!p->slots) { pool_destroy(p); return NULL; }
    p->nslots = nworkers;
    for (int i = 0; i < nworkers; i++) {
        p->slots[i].p = p;
        atomic_init(&p->slots[i].cancel, 0);
        if (pthread_create(&p->slots[i].thread, NULL, worker_main, &p->slots[i]) != 0) {
            pool_destroy(p);
            return NULL;
        }
        p->slots[i].started = 1;
    }
    /* return once every worker runs at its training priority, so that what the daemon reports
     * at start (and what a process listing shows) is already true */
    pthread_mutex_lock(&p->mu);
    while (p->ready < nworkers) pthread_cond_wait(&p->ready_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return p;
}

void pool_notify(pool *p) {
    pthread_mutex_lock(&p->mu);
    if (p->pending < p->nslots) p->pending++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

int pool_cancel(pool *p, const char *id) {
    int found = 0;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->nslots; i++)
        if (strcmp(p->slots[i].job_id, id) == 0) {
            atomic_store(&p->slots[i].cancel, 1);
            found = 1;
        }
    pthread_mutex_unlock(&p->mu);
    return found;
}

long long pool_iterations(pool *p) { return atomic_load_explicit(&p->iterations, memory_order_relaxed); }

int pool_running(pool *p) {
    int n = 0;
    pthread_mutex_lock(&p->mu);
    for (int i = 0; i < p->nslots; i++) n += p->slots[i].job_id[0] != 0;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void pool_destroy(pool *p) {
    if (!p) return;
    atomic_store(&p->shutdown, 1);
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nslots; i++)
        if (p->slots[i].started) pthread_join(p->slots[i].thread, NULL);
    free(p->slots);
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->ready_cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

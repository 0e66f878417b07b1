/* pool.h -- the worker pool: a fixed number of threads that claim queued jobs (FIFO, from the
 * store) and run them. Each worker has its own store connection. Knows nothing of HTTP. */
#ifndef OIGD_POOL_H
#define OIGD_POOL_H
#include "hub.h"
#include "store.h"

typedef struct pool pool;

typedef struct {
    int workers;                /* threads; 0 = none (jobs stay queued) */
    double checkpoint_seconds;  /* checkpoint interval of a running job */
    const char *mpi_launcher;   /* runs distributed jobs; kept by reference, must outlive the
                                 * pool; NULL or "": distributed jobs fail */
    int nice;                   /* the workers' nice steps above the daemon's (0 = as the daemon) */
    int idle;                   /* 1: workers run as SCHED_IDLE; 0: as SCHED_BATCH when nice > 0 */
    int train_threads;          /* threads that train one job together (0 or 1: the worker alone);
                                 * they inherit the worker's nice and policy */
} pool_options;

/* Start the workers. NULL on failure. */
pool *pool_create(store_set *ss, hub *h, const pool_options *opt);
/* A job was queued: wake an idle worker. */
void pool_notify(pool *p);
/* Ask the worker running job id to stop it; 1 when a worker of this pool runs it. */
int pool_cancel(pool *p, const char *id);
/* Stop: running jobs write a checkpoint, go back to queued, and the threads are joined. */
void pool_destroy(pool *p);
int pool_running(pool *p);
/* Training iterations run by the pool's workers since it started. */
long long pool_iterations(pool *p);
#endif

/* serve.c -- `oigd serve`: reads the configuration, opens the store (migrations), requeues jobs
 * a crash left running (and removes the job directories of distributed runs it left), sets
 * OpenBLAS's thread count once, starts the worker pool, the progress
 * hub and the HTTP daemon, then waits for SIGTERM/SIGINT, writing out the request log every 0.1 s
 * and giving the store's free pages back (server/reclaim.c) meanwhile, and shuts down in order:
 * stop accepting, close event streams, stop HTTP, let running jobs checkpoint and requeue. */
#include "serve.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "mpi_launch.h"
#include "reclaim.h"

int serve_main(int argc, char **argv) {
    config cfg;
    char err[512];
    int rc = config_load(&cfg, argc, argv, err, sizeof err);
    if (rc == 1) { config_usage("oigd"); return 0; }
    if (rc != 0) { fprintf(stderr, "oigd serve: %s\n", err); return 2; }
    setvbuf(stderr, NULL, _IOLBF, 0);

    /* every thread created from here on inherits the blocked signals; main waits for them */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    api_server srv;
    memset(&srv, 0, sizeof srv);
    srv.listen_fd = -1;
    srv.cfg = &cfg;
    int status = 1;

#ifndef OIGD_MPI
    if (cfg.mpi_launcher[0]) {
        fprintf(stderr, "oigd serve: --mpi-launcher needs a build with -DOIGD_MPI=ON (this oigd would "
                "run every rank as a separate one-process training)\n");
        return 2;
    }
#endif
    if (cfg.mpi_launcher[0]) fprintf(stderr, "oigd: distributed jobs run as: %s <this oigd> train ...\n", cfg.mpi_launcher);

    /* the key file first: a bad one stops the start before anything is opened */
    if (cfg.api_key_file[0]) {
        if (api_keys_load(cfg.api_key_file, &srv.keys, err, sizeof err) != 0) {
            fprintf(stderr, "oigd serve: %s\n", err);
            return 1;
        }
        fprintf(stderr, "oigd: API keys required on /v1 (%d key%s from %s)\n", api_keys_count(srv.keys),
                api_keys_count(srv.keys) == 1 ? "" : "s", cfg.api_key_file);
    } else if (strcmp(cfg.host, "127.0.0.1") != 0 && strcmp(cfg.host, "::1") != 0) {
        fprintf(stderr, "oigd: warning: listening on %s without --api-key-file: /v1 is open to anyone who can connect\n",
                cfg.host);
    }
    if (store_set_open(cfg.db, &srv.stores, err, sizeof err) != STORE_OK) {
        fprintf(stderr, "oigd serve: store %s: %s\n", cfg.db, err);
        api_keys_free(srv.keys);
        return 1;
    }
    store *st = store_set_get(srv.stores);
    int requeued = 0;
    if (!st || store_job_requeue_running(st, &requeued) != STORE_OK) {
        fprintf(stderr, "oigd serve: cannot requeue interrupted jobs\n");
        goto out;
    }
    fprintf(stderr, "oigd: store %s at schema version %d%s", cfg.db, store_user_version(st),
            requeued ? "" : "\n");
    if (requeued) fprintf(stderr, ", %d interrupted job%s requeued\n", requeued, requeued == 1 ? "" : "s");
    store_space space;
    if (store_space_get(st, &space) == STORE_OK && !space.incremental && space.free_pages > 0)
        fprintf(stderr, "oigd: %s holds %.1f MiB of free pages that this older file cannot give back while "
                "in use; `oigd vacuum --db %s` with the daemon stopped compacts it once and for good\n",
                cfg.db, (double)space.free_pages * space.page_size / 1048576.0, cfg.db);
    int swept = mpi_launch_sweep();
    if (swept)
        fprintf(stderr, "oigd: removed %d job director%s of distributed runs whose daemon had died\n", swept,
                swept == 1 ? "y" : "ies");

    oig_blas_set_threads(cfg.blas_threads);
    fprintf(stderr, "oigd: %d worker%s at nice +%d, %s x %d training thread%s x %d BLAS thread%s; "
            "%d HTTP thread%s (%d cores; %s)\n",
            cfg.workers, cfg.workers == 1 ? "" : "s", cfg.train_nice,
            cfg.train_idle ? "SCHED_IDLE" : "SCHED_BATCH", cfg.train_threads,
            cfg.train_threads == 1 ? "" : "s", oig_blas_get_threads(),
            oig_blas_get_threads() == 1 ? "" : "s", cfg.http_threads, cfg.http_threads == 1 ? "" : "s",
            config_cores(), oig_blas_config());

    srv.metrics = api_metrics_create();
    srv.hub = hub_create(cfg.max_subscribers, cfg.heartbeat_seconds);
    srv.models = api_model_cache_create(8);
    if (cfg.access_log) srv.access_log = api_access_log_create(STDERR_FILENO);
    if (!srv.hub || !srv.models || !srv.metrics || (cfg.access_log && !srv.access_log)) { fprintf(stderr, "oigd serve: out of memory\n"); goto out; }
    pool_options popt = { cfg.workers, cfg.checkpoint_seconds, cfg.mpi_launcher, cfg.train_nice,
                          cfg.train_idle, cfg.train_threads };
    srv.pool = pool_create(srv.stores, srv.hub, &popt);
    if (!srv.pool) { fprintf(stderr, "oigd serve: cannot start the workers\n"); goto out; }
    if (api_start(&srv, err, sizeof err) != 0) { fprintf(stderr, "oigd serve: %s\n", err); goto out; }
    if (strchr(cfg.host, ':')) fprintf(stderr, "oigd: listening on [%s]:%d\n", cfg.host, srv.port);
    else fprintf(stderr, "oigd: listening on %s:%d\n", cfg.host, srv.port);

    /* the main thread's tick: wait for a signal, writing out the request log between waits */
    const struct timespec tick = {0, 100000000L};
    int sig;
    reclaimer rec = {1, 0, 0};   /* the first look at the first tick */
    while ((sig = sigtimedwait(&sigs, NULL, &tick)) < 0) {
        api_access_log_flush(srv.access_log);
        reclaim_tick(st, &rec);
    }
    api_access_log_flush(srv.access_log);
    fprintf(stderr, "oigd: %s received, shutting down\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    status = 0;

out:
    api_quiesce(&srv);                      /* no new connections */
    if (srv.hub) hub_shutdown(srv.hub);     /* event streams end and are resumed */
    if (srv.daemon) {
        struct timespec d = {0, 100000000L};
        nanosleep(&d, NULL);                /* let resumed streams write their last bytes */
    }
    api_stop(&srv);
    pool_destroy(srv.pool);                 /* running jobs checkpoint and go back to queued */
    hub_destroy(srv.hub);
    api_model_cache_destroy(srv.models);
    api_metrics_destroy(srv.metrics);
    api_access_log_destroy(srv.access_log);
    api_keys_free(srv.keys);
    store_set_close(srv.stores);
    if (status == 0) fprintf(stderr, "oigd: stopped\n");
    return status;
}

/* job.h -- training jobs: the request schema (validation into an oig_config) and the runner
 * that trains one claimed job with checkpoints, cancel and resume. Knows nothing of HTTP. */
#ifndef OIGD_JOB_H
#define OIGD_JOB_H

#include <stdatomic.h>
#include <cjson/cJSON.h>
#include "hub.h"
#include "oig.h"
#include "store.h"

typedef struct {
    char dataset_id[STORE_ID_MAX];
    oig_config cfg;
    double validation_fraction;
    int distributed;            /* run as a child `oigd train` under the daemon's MPI launcher */
    char init_model_id[STORE_ID_MAX];   /* warm start from this stored model ("" = none) */
} job_spec;

/* Validate a job request (a JSON object). On success *normalized (when not NULL) receives the
 * request with every default filled in, as malloc'd JSON text. On failure returns OIG_EINVAL and
 * err->field names the offending member ("options.md" for an option). */
oig_status job_spec_parse(const cJSON *req, job_spec *spec, char **normalized, oig_error *err);

typedef struct {
    store *st;
    hub *hub;
    double checkpoint_seconds;
    atomic_int *cancel;         /* set by a cancel request for this job */
    atomic_int *shutdown;       /* set when the daemon stops */
    atomic_llong *iterations;   /* counts every iteration run (may be NULL) */
    const char *mpi_launcher;   /* runs distributed jobs (server/mpi_launch.c); NULL or "": none */
    int train_threads;          /* threads that train an in-process job (0 or 1: the worker) */
} job_env;

typedef enum { JOB_DONE = 0, JOB_REQUEUED, JOB_ERROR } job_result;

/* Run the claimed (status running) job id to a terminal status, or back to queued when the
 * daemon is stopping. Resumes from the job's checkpoint when it has one; otherwise a job with
 * init_model_id starts from that stored model's weights (oig_config.init_model). A distributed job runs
 * under env->mpi_launcher, keeps no checkpoint and starts from iteration 0 every time. */
job_result job_run(const job_env *env, const char *id);
#endif

/* mpi_launch.h -- runs one distributed job as a child `oigd train` under the configured MPI
 * launcher: exports the dataset (and the model it resumes or starts from), maps the job's
 * parameters to flags, relays rank 0's progress lines with its checkpoints and reads the model
 * back. Knows nothing of the store or of HTTP. */
#ifndef OIGD_MPI_LAUNCH_H
#define OIGD_MPI_LAUNCH_H

#include <stdatomic.h>
#include <stddef.h>
#include "job.h"
#include "oig.h"

typedef struct {
    const char *launcher;       /* shell words, e.g. "mpirun -np 4 --hostfile hosts" */
    const char *job_id;         /* for log lines */
    const oig_data *data;       /* every row of the job's dataset, in stored order */
    const job_spec *spec;
    atomic_int *cancel;         /* either flag set: the process group is terminated */
    atomic_int *shutdown;
    double grace_seconds;       /* SIGTERM to SIGKILL */
    double checkpoint_seconds;  /* the child writes a checkpoint this often */
    const char *resume_doc;     /* a checkpoint's model document to continue, or NULL */
    const char *init_doc;       /* a model document to start from (warm start), or NULL */
} mpi_launch_req;

typedef enum {
    MPI_LAUNCH_DONE = 0,        /* exit status 0 and *out holds the model */
    MPI_LAUNCH_STOPPED,         /* stopped by a flag or by progress returning OIG_STOP */
    MPI_LAUNCH_FAILED           /* msg says why (the child's last error line when it printed one) */
} mpi_launch_result;

/* Run the job and wait for it. progress receives every iteration rank 0 reports; model is
 * NULL except on the iterations the child wrote a checkpoint for, where it is that checkpoint
 * (valid during the call). Returning OIG_STOP ends the run. The temp directory and every
 * process of the run are gone when this returns. */
mpi_launch_result mpi_launch_run(const mpi_launch_req *rq, oig_progress_fn progress, void *ud,
                                 oig_model **out, char *msg, size_t cap);

/* Remove the job directories (in $TMPDIR, else /tmp) that a daemon of this host made and that
 * outlived it: a daemon killed during a distributed job cannot remove its own. Only this user's
 * directories whose owner process (same host, same pid namespace) is gone are touched. Returns
 * how many were removed. */
int mpi_launch_sweep(void);

/* The child's argument vector for rq, its files in directory dir (NULL-terminated, malloc'd
 * strings in a malloc'd array; free with mpi_launch_argv_free). */
char **mpi_launch_argv(const mpi_launch_req *rq, const char *exe, const char *dir);
void mpi_launch_argv_free(char **argv);
#endif

/* mpi_launch.h -- runs one distributed job as a child `oigd train` under the configured MPI
 * launcher: exports the dataset, maps the job's parameters to flags, relays rank 0's progress
 * lines and reads the model back. Knows nothing of the store or of HTTP. */
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
} mpi_launch_req;

typedef enum {
    MPI_LAUNCH_DONE = 0,        /* exit status 0 and *out holds the model */
    MPI_LAUNCH_STOPPED,         /* stopped by a flag or by progress returning OIG_STOP */
    MPI_LAUNCH_FAILED           /* msg says why (the child's last error line when it printed one) */
} mpi_launch_result;

/* Run the job and wait for it. progress receives every iteration rank 0 reports (model NULL);
 * returning OIG_STOP ends the run. The temp directory and every process of the run are gone
 * when this returns. */
mpi_launch_result mpi_launch_run(const mpi_launch_req *rq, oig_progress_fn progress, void *ud,
                                 oig_model **out, char *msg, size_t cap);

/* The child's argument vector for rq with the given file paths (NULL-terminated, malloc'd
 * strings in a malloc'd array; free with mpi_launch_argv_free). Exposed for tests. */
char **mpi_launch_argv(const mpi_launch_req *rq, const char *exe, const char *data_path,
                       const char *model_path);
void mpi_launch_argv_free(char **argv);
#endif

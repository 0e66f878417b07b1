/* mpi_train.h -- `oigd train` as one rank of an Open MPI job (built only with OIGD_MPI).
 *
 * The seam api/cli.c calls when the process was started by mpirun: each rank parses only its
 * own block-aligned share of the rows, the engine's canonical sums are combined across ranks,
 * and all ranks agree on when to stop. Rank 0 alone writes files; cli.c decides that.
 */
#ifndef OIGD_MPI_TRAIN_H
#define OIGD_MPI_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "oig.h"

typedef struct mpi_train mpi_train;

/* 1 when this process was started by an MPI launcher (mpirun sets OMPI_COMM_WORLD_SIZE). */
int mpi_train_wanted(void);

/* MPI_Init and the job's shape; *out is NULL on failure. mpi_train_end finalizes and frees. */
int mpi_train_begin(mpi_train **out);
void mpi_train_end(mpi_train *m);
int mpi_train_rank(const mpi_train *m);
int mpi_train_size(const mpi_train *m);

/* What the ranks load: the file's bytes (every rank holds them; each converts only its rows),
 * the parse options, and the split exactly as a single `oigd train` makes it. */
typedef struct {
    const char *path;           /* for messages */
    const char *buf;
    size_t len;
    oig_parse_opts popts;
    const char *train_index, *test_index;
    double validation;
    uint64_t seed;
    size_t block_rows;          /* 0 = the engine's default */
} mpi_train_source;

/* This rank's training and validation rows (val NULL when the run has no validation rows;
 * an empty dataset on a rank that holds none of them), in the global order of the split, and
 * the global counts. Returns 0, or -1 with a message in msg. Not collective on failure: call
 * mpi_train_all_ok next on every rank. */
int mpi_train_load(mpi_train *m, const mpi_train_source *src, oig_data **train, oig_data **val,
                   size_t *ntrain, size_t *nval, char *msg, size_t cap);

/* Collective: 1 when ok is nonzero on every rank. */
int mpi_train_all_ok(mpi_train *m, int ok);
/* Collective: whether a rank that failed should print its message. Rank 0 prints its own
 * failure; another rank prints only when rank 0 did not fail (else it would repeat it). */
int mpi_train_should_report(mpi_train *m, int ok);

/* Point cfg at this rank's blocks and the MPI reductions (canonical sums). The engine agrees
 * on max_seconds through them (every rank stops once one has trained that long). */
void mpi_train_configure(mpi_train *m, oig_config *cfg);

/* Collective, once per progress callback: 1 when any rank wants to stop. */
int mpi_train_agree_stop(mpi_train *m, int stop);

/* End every rank of the job (a rank failed where the others wait in a collective). */
void mpi_train_abort(mpi_train *m, int code);

#endif

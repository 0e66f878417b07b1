/* train_threads.h -- one training run on several threads of this process: each thread trains on
 * its share of the rows and the engine's reduce seams add their sums (server/train_threads.c).
 * Used by `oigd train --threads` and by the workers of `oigd serve --train-threads`. */
#ifndef OIGD_TRAIN_THREADS_H
#define OIGD_TRAIN_THREADS_H
#include "oig.h"

/* How many threads train_threads_run would use for cfg on train: at most `threads`, 1 when the
 * algorithm does not sum over rows through the seams (oig_algorithm_sums_rows), when cfg's seams
 * are taken (an MPI rank), or when a thread would get fewer than 256 training rows (canonical
 * sums: fewer than one block). */
int train_threads_count(int threads, const oig_config *cfg, const oig_data *train);

/* The training threads for a run given neither a thread count nor a BLAS thread count (`oigd
 * train` without --threads or --blas-threads): cpus when train_threads_count gives every one of
 * them rows and each gets at least 512, else 1, when the caller gives the cores to BLAS instead.
 * LM also needs rows x outputs >= 8 x its weights: each thread repeats LM's dense solve on its
 * one BLAS thread, and below that ratio the solve on every core wins over the split sums. */
int train_threads_auto(int cpus, const oig_config *cfg, const oig_data *train);

/* oig_train on train_threads_count(threads, ...) threads, with the same arguments and results.
 * The callback runs on one thread, once per iteration. With
 * cfg->canonical_sums the model is the one-thread model bit for bit; without, the same up to
 * round-off in the order of the sums. Each thread calls BLAS: run BLAS on one thread
 * (oig_blas_set_threads(1)), or the calls queue for one BLAS thread pool. */
oig_status train_threads_run(int threads, oig_data *train, oig_data *val, const oig_config *cfg,
                             const oig_model *resume, oig_progress_fn cb, void *ud,
                             oig_model **out, oig_error *err);
#endif

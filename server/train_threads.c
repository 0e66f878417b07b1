/* train_threads.c -- one training run on several threads of this process (`oigd train
 * --threads`, `oigd serve --train-threads`).
 *
 * The training and validation rows are cut into consecutive ranges, one per thread, and each
 * thread runs oig_train on its range with the data-parallel seams of oig_config pointed at this
 * team: a sum is added over the threads' buffers in thread order (or, with canonical sums, the
 * threads' pieces are combined along the block tree, so that the totals do not depend on the
 * thread count). Every decision the loop takes follows from those totals, so
 * the threads step together and their models agree; thread 0's is returned.
 *
 * Only thread 0 calls the caller's progress callback; its verdict reaches the others through the
 * team. The engine agrees on max_seconds itself, through the sums.
 * Each thread calls BLAS: run BLAS on one thread (oig_blas_set_threads(1)) so that the calls
 * do not queue for one BLAS thread pool.
 *
 * A thread that leaves its loop (failure or end) breaks the team: a thread still waiting in a
 * sum gets an error instead of waiting forever, and the run reports it.
 */
#include "train_threads.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fewest training rows a thread gets: the threads meet twice per sum, and below a few thousand
 * rows that costs about what they save (docs/engine.md#threads). */
#define MIN_ROWS_PER_THREAD 256
/* train_threads_auto: the fewest rows per thread. The threads meet twice per sum; on 2 cores,
 * OIG-HWO (median s/iteration, two training threads against two BLAS threads): concrete (463 rows
 * a thread) 0.59 against 0.51 ms, digits (719) 4.1 against 5.3 ms. */
#define AUTO_ROWS_PER_THREAD 512
/* train_threads_auto: LM splits its rows over threads from this many residuals per weight. On 2
 * cores, median s/iteration, two training threads against two BLAS threads: naval (11.7 per
 * weight) 0.067 against 0.075 s, digits (3.3) 0.77 against 0.53 s. */
#define LM_ROWS_PER_WEIGHT 8.0

typedef struct team team;

typedef struct {
    team *tm;
    int index;
    oig_data train, val;            /* views of the caller's rows */
    int has_val;
    oig_config cfg;
    oig_model *model;
    oig_error err;
    oig_status status;
    pthread_t thread;
} member;

struct team {
    int size;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int arrived;
    unsigned generation;
    int broken;
    int first_out;                  /* the member that left its loop first (-1: none yet) */
    /* what the members publish before a barrier */
    double **bufs;                  /* size buffers of one sum */
    size_t *npieces;                /* size piece counts (canonical sums) */
    double *gather;                 /* every member's pieces in member order */
    size_t gather_cap;
    double *totals;                 /* the canonical totals, read by every member */
    size_t totals_cap;
    int status;                     /* thread 0's result of the canonical sum */
    /* thread 0's verdict at a progress point */
    int verdict;
    /* the caller's */
    const oig_model *resume;
    oig_progress_fn cb;
    void *ud;
    member *members;
};

/* Wait until every member has arrived; -1 when the team is broken. */
static int team_barrier(team *tm) {
    pthread_mutex_lock(&tm->mu);
    if (tm->broken) { pthread_mutex_unlock(&tm->mu); return -1; }
    unsigned gen = tm->generation;
    if (++tm->arrived == tm->size) {
        tm->arrived = 0;
        tm->generation++;
        pthread_cond_broadcast(&tm->cv);
    } else {
        while (gen == tm->generation && !tm->broken) pthread_cond_wait(&tm->cv, &tm->mu);
    }
    int rc = gen == tm->generation ? -1 : 0;   /* released by a break, not by the last arrival */
    pthread_mutex_unlock(&tm->mu);
    return rc;
}

/* Member `index` (-1: the caller) leaves: no sum can complete after this. */
static void team_break(team *tm, int index) {
    pthread_mutex_lock(&tm->mu);
    if (tm->first_out < 0) tm->first_out = index;
    tm->broken = 1;
    pthread_cond_broadcast(&tm->cv);
    pthread_mutex_unlock(&tm->mu);
}

/* The plain seam: buf <- the sum over members of their buf, added in member order. Member i
 * adds the i-th slice of the elements and writes the sums into every member's buffer. */
static int team_reduce(double *buf, size_t n, void *ctx) {
    member *me = ctx;
    team *tm = me->tm;
    tm->bufs[me->index] = buf;
    if (team_barrier(tm)) return -1;
    size_t k = (size_t)tm->size;
    size_t per = n < 4096 ? n : (n + k - 1) / k;          /* small sums: member 0 alone */
    size_t lo = per * (size_t)me->index, hi = lo + per < n ? lo + per : n;
    for (size_t e = lo; e < hi; e++) {
        double s = 0.0;
        for (size_t i = 0; i < k; i++) s += tm->bufs[i][e];
        for (size_t i = 0; i < k; i++) tm->bufs[i][e] = s;
    }
    return team_barrier(tm);
}

static int grow(double **buf, size_t *cap, size_t n) {
    if (n <= *cap) return 0;
    double *nb = realloc(*buf, n * sizeof(double));
    if (nb == NULL) return -1;
    *buf = nb;
    *cap = n;
    return 0;
}

/* The canonical seam: member 0 gathers every member's pieces in member order (their blocks
 * follow one another) and adds them along the block tree; each member copies the totals. */
static int team_reduce_pieces(double *pieces, size_t npieces, size_t n, int rows, double *out,
                              void *ctx) {
    (void)rows;
    member *me = ctx;
    team *tm = me->tm;
    tm->bufs[me->index] = pieces;
    tm->npieces[me->index] = npieces;
    if (team_barrier(tm)) return -1;
    if (me->index == 0) {
        size_t total = 0, w = 2 + n;
        for (int i = 0; i < tm->size; i++) total += tm->npieces[i];
        tm->status = grow(&tm->gather, &tm->gather_cap, total * w) ||
                     grow(&tm->totals, &tm->totals_cap, n ? n : 1) ? -1 : 0;
        if (tm->status == 0) {
            size_t o = 0;
            for (int i = 0; i < tm->size; i++) {
                memcpy(tm->gather + o, tm->bufs[i], tm->npieces[i] * w * sizeof(double));
                o += tm->npieces[i] * w;
            }
            tm->status = oig_canonical_sum(tm->gather, total, n, tm->totals);
        }
    }
    if (team_barrier(tm)) return -1;
    if (tm->status) return -1;
    memcpy(out, tm->totals, n * sizeof(double));
    return 0;
}

/* The progress seam: thread 0 asks the caller, every thread gets its verdict. */
static int team_progress(const oig_progress *p, void *ud) {
    member *me = ud;
    team *tm = me->tm;
    if (me->index == 0) tm->verdict = tm->cb(p, tm->ud) == OIG_STOP ? OIG_STOP : OIG_CONTINUE;
    if (team_barrier(tm)) return OIG_STOP;   /* the run fails in its next sum */
    int verdict = tm->verdict;
    if (team_barrier(tm)) return OIG_STOP;
    return verdict;
}

static void *member_main(void *arg) {
    member *me = arg;
    team *tm = me->tm;
    me->status = oig_train(&me->train, me->has_val ? &me->val : NULL, &me->cfg, tm->resume,
                           tm->cb ? team_progress : NULL, me, &me->model, &me->err);
    team_break(tm, me->index);
    return NULL;
}

/* A view of rows [r0, r0 + k) of d. */
static oig_data rows_view(const oig_data *d, size_t r0, size_t k) {
    oig_data v = *d;
    v.nrows = k;
    v.x = d->x + r0 * (size_t)d->n;
    v.t = d->t + r0 * (size_t)d->m;
    if (d->cls) v.cls = d->cls + r0;
    return v;
}

/* Where member i's rows start when nrows rows are cut into k ranges: whole blocks of `block`
 * rows (canonical sums), or as even as possible. */
static size_t range_start(size_t nrows, int k, int i, size_t block, int whole_blocks) {
    if (!whole_blocks) return nrows * (size_t)i / (size_t)k;
    size_t nblocks = (nrows + block - 1) / block;
    size_t r = nblocks * (size_t)i / (size_t)k * block;
    return r < nrows ? r : nrows;
}

int train_threads_count(int threads, const oig_config *cfg, const oig_data *train) {
    if (threads <= 1 || cfg->reduce || cfg->reduce_pieces || !oig_algorithm_sums_rows(cfg->algorithm))
        return 1;
    size_t block = cfg->block_rows ? cfg->block_rows : 2048;
    size_t units = cfg->canonical_sums ? (train->nrows + block - 1) / block
                                       : train->nrows / MIN_ROWS_PER_THREAD;
    if (units < 2) return 1;
    return (size_t)threads < units ? threads : (int)units;
}

int train_threads_auto(int cpus, const oig_config *cfg, const oig_data *train) {
    if (cpus <= 1 || train_threads_count(cpus, cfg, train) < cpus) return 1;
    if (train->nrows / (size_t)cpus < AUTO_ROWS_PER_THREAD) return 1;
    if (cfg->algorithm == OIG_ALG_LM) {
        double n1 = train->n + 1.0, nh = cfg->nh;
        double weights = nh * n1 + train->m * (nh + (cfg->bypass ? n1 : 1.0));
        if ((double)train->nrows * train->m < LM_ROWS_PER_WEIGHT * weights) return 1;
    }
    return cpus;
}

oig_status train_threads_run(int threads, oig_data *train, oig_data *val, const oig_config *cfg,
                             const oig_model *resume, oig_progress_fn cb, void *ud,
                             oig_model **out, oig_error *err) {
    int nthreads = train && cfg ? train_threads_count(threads, cfg, train) : 1;
    if (nthreads <= 1) return oig_train(train, val, cfg, resume, cb, ud, out, err);
    oig_error dummy;
    if (err == NULL) err = &dummy;
    memset(err, 0, sizeof *err);
    *out = NULL;
    oig_status cst = oig_config_check(cfg, err);
    if (cst != OIG_OK) return cst;
    team tm;
    memset(&tm, 0, sizeof tm);
    tm.size = nthreads;
    tm.first_out = -1;
    tm.resume = resume; tm.cb = cb; tm.ud = ud;
    tm.members = calloc((size_t)nthreads, sizeof *tm.members);
    tm.bufs = calloc((size_t)nthreads, sizeof *tm.bufs);
    tm.npieces = calloc((size_t)nthreads, sizeof *tm.npieces);
    if (!tm.members || !tm.bufs || !tm.npieces) {
        free(tm.members); free(tm.bufs); free(tm.npieces);
        return OIG_ENOMEM;
    }
    pthread_mutex_init(&tm.mu, NULL);
    pthread_cond_init(&tm.cv, NULL);

    size_t block = cfg->block_rows ? cfg->block_rows : 2048;
    int whole = cfg->canonical_sums;
    int started = 0;
    for (int i = 0; i < nthreads; i++) {
        member *me = &tm.members[i];
        me->tm = &tm;
        me->index = i;
        size_t a = range_start(train->nrows, nthreads, i, block, whole);
        size_t b = range_start(train->nrows, nthreads, i + 1, block, whole);
        me->train = rows_view(train, a, b - a);
        me->cfg = *cfg;
        me->cfg.reduce = team_reduce;
        me->cfg.reduce_pieces = whole ? team_reduce_pieces : NULL;
        me->cfg.reduce_ctx = me;
        me->cfg.first_block[0] = cfg->first_block[0] + a / block;
        if (val) {
            size_t va = range_start(val->nrows, nthreads, i, block, whole);
            size_t vb = range_start(val->nrows, nthreads, i + 1, block, whole);
            me->val = rows_view(val, va, vb - va);
            me->has_val = 1;
            me->cfg.first_block[1] = cfg->first_block[1] + va / block;
        }
    }
    for (; started < nthreads; started++)
        if (pthread_create(&tm.members[started].thread, NULL, member_main, &tm.members[started]))
            break;
    if (started < nthreads) team_break(&tm, -1);   /* the started ones fail in their first sum */
    for (int i = 0; i < started; i++) pthread_join(tm.members[i].thread, NULL);

    oig_status st;
    if (started < nthreads) {
        st = OIG_ENOMEM;
        snprintf(err->message, sizeof err->message, "cannot start %d training threads", nthreads);
    } else {
        /* the first member out says how the run ended: a failure of its own (the others then
         * fail in their next sum), or the end every member reaches at the same iteration */
        const member *first = &tm.members[tm.first_out];
        st = first->status;
        *err = first->err;
        for (int i = 0; (st == OIG_OK || st == OIG_ESTOPPED) && i < nthreads; i++) {
            if (tm.members[i].status == st) continue;
            st = OIG_EINVAL;
            snprintf(err->message, sizeof err->message, "training threads disagreed");
        }
    }
    if (st == OIG_OK || st == OIG_ESTOPPED) {
        *out = tm.members[0].model;
        tm.members[0].model = NULL;
    }
    for (int i = 0; i < started; i++) oig_model_free(tm.members[i].model);
    pthread_cond_destroy(&tm.cv);
    pthread_mutex_destroy(&tm.mu);
    free(tm.gather); free(tm.totals);
    free(tm.members); free(tm.bufs); free(tm.npieces);
    return st;
}

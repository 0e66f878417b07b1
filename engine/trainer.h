/* trainer.h -- the state one training run shares between its loop (train.c), its sums over
 * patterns (passes.c) and Levenberg-Marquardt (lm.c). Internal to the engine.
 *
 * Every sum over patterns runs over row blocks of at most `block` rows with BLAS-3 products
 * into work buffers allocated once per run; partial sums go through the reduce seam before use,
 * so that a data-parallel run sees the totals of all processes.
 */
#ifndef OIG_TRAINER_H
#define OIG_TRAINER_H

#include "internal.h"

typedef struct {
    const oig_config *cfg;
    oig_data *train;
    oig_data *val;
    oig_model *mdl;          /* current weights: W lives in mdl->w; Wo is mirrored from wo */

    int n, n1, nh, m, nu;    /* N, N+1, Nh, M, Nu = N+1+Nh */
    int off, nb;             /* OWO basis = columns off..Nu-1 of x_a (off = N without bypass) */
    double nv;               /* training patterns over all processes */
    size_t block;

    /* per-block work */
    double *xa;              /* block x Nu: [x, 1, o] */
    double *yb;              /* block x M: outputs, then errors */
    double *ybt;             /* M x block: outputs transposed (the evaluation's product) */
    double *ones;            /* block ones: the constant column of x~ as a vector */
    double *hb;              /* block x Nh: deltas, net-function changes */
    double *stack;           /* OIG Hessian: D_M (Nh x M(N+1)), then Z (chunk x M(N+1)) */
    size_t chunk;            /* rows per OIG product Z */

    /* whole-problem quantities */
    double *wo;              /* M x Nu: [W_oi W_oh] */
    double *g;               /* Nh x (N+1): negative gradient G */
    double *d;               /* Nh x (N+1): direction D */
    double *ra;              /* nb x nb */
    double *ca;              /* nb x M */
    double *cat;             /* M x nb: C_a^T as OWO's pass sums it (M x nb x rows runs about twice
                                as fast as nb x M x rows on OpenBLAS) */
    double *ra_x;            /* c x c, c = N+1-off: the block of R_a (unscaled sum over the training
                                rows) between the basis columns of x~, which depend only on the
                                inputs; kept from the run's first OWO, valid when ra_x_ready */
    int ra_x_ready;
    double *rin_factor;      /* (N+1) x (N+1): OLS factor of R_in (HWO variants) */
    double *hig;             /* (N+1) x (N+1) */
    double *gig;             /* N+1 */
    double *solve_work;      /* max(Nu, N+1) * max(M, Nh) + Nu */
    double *w_save, *wo_save;    /* weights before a step */
    double *w_best, *wo_best;    /* best step tried by a safeguard */

    /* Levenberg-Marquardt only (nw = number of weights) */
    size_t lm_nw, lm_chunk;
    double *lm_h, *lm_a;     /* nw x nw: J^T J, and the damped copy being factored */
    double *lm_g, *lm_delta, *lm_w0, *lm_wt;   /* nw */
    double *lm_rows;         /* lm_chunk patterns' products that the sums of J^T J take */
    double *lm_s;            /* those sums over the patterns, reduced as one buffer */
    float *lm_rows_f;        /* lm_precision=mixed: the chunk's products taken in single precision */
    float *lm_s_f;           /* and their sums over up to LM_SINGLE_ROWS patterns (lm.c) */
    double *lm_c;            /* nw: the penalty's diagonal C (Bayesian regularization), filled
                                at the first iteration; NULL otherwise */
    int lm_c_ready;
    double *lm_r;            /* nw: each weight's decay rho_layer c_j this iteration (Bayesian) */
    double *lm_geo;          /* geodesic acceleration's work (lm_geodesic_rhs); NULL without it */

    /* Hidden outputs o_p of the first ocache_rows training rows (all of them, or as many whole
     * blocks as fit the memory budget) at the current W, reused by the passes that follow a
     * change of W (OWO, evaluation, the next iteration's Hessian or E2 pass). NULL when not even
     * one block fits. Valid when ocache_version == w_version; every write to the model's W must
     * call trn_w_changed. */
    double *ocache;
    size_t ocache_rows;
    unsigned long w_version, ocache_version;
    size_t forward_rows;     /* training rows whose o the current pass computed (cache misses) */

    double multiplies;

    /* canonical sums (blocksum.c): the stack of pieces of the pass in progress, cs_count
     * records in cs_buf (cs_cap doubles), and the totals of the last pass */
    double *cs_buf, *cs_total;
    size_t cs_cap, cs_count, cs_total_cap;
} trainer;

/* The buffers one pass sums over rows, reduced together. */
typedef struct {
    double *p[3];
    size_t n[3];
    int k;
} trn_sums;

/* After the block of d starting at row p0: in canonical mode file the block's sums as a leaf
 * of the block tree and zero the buffers (plain mode: nothing). 0, or -1 out of memory. */
int trn_sums_block(trainer *t, const trn_sums *s, const oig_data *d, size_t p0);
/* End of a pass over d: the totals over all processes into the buffers (plain mode: the reduce
 * seam on each buffer in turn). 0, or -1 when a reduction failed. */
int trn_sums_finish(trainer *t, const trn_sums *s, const oig_data *d);

/* E and the misclassified count at the current weights. */
typedef struct { double e, wrong; } trn_fit;

/* Allocate a run's buffers for mdl's shape (t->nv is left for the caller); trn_free releases. */
oig_status trn_init(trainer *t, oig_data *train, oig_data *val, const oig_config *cfg, oig_model *mdl);
void trn_free(trainer *t);

/* Forward + errors + G at the current weights (spec 6.4 step 1-2). */
int trn_evaluate_with_gradient(trainer *t, trn_fit *s);
/* D = G, or D = G R_in^-1 with the OLS factor in t->rin_factor when hwo. */
void trn_direction(trainer *t, int hwo);
/* Try gains (N+1, OIG) or learning factor z along t->d, each followed by OWO, with the
 * safeguards of spec 4 and 6.3; s holds E before and receives E after. */
int trn_safeguarded_step(trainer *t, const double *gains, double z, trn_fit *s);
/* One iteration of BP/HWO (OLF) or OIG-BP/OIG-HWO from the state in s (G current). */
int trn_olf_iteration(trainer *t, int hwo, trn_fit *s);
int trn_oig_iteration(trainer *t, int hwo, trn_fit *s);

/* Sum buf over processes (identity without a reduce hook). Returns 0 on success. */
int trn_reduce(trainer *t, double *buf, size_t n);

/* Record that the model's W changed (invalidates the hidden-output cache). */
static inline void trn_w_changed(trainer *t) { t->w_version++; }

/* Allocate the hidden-output cache for every training row of this thread or process when they
 * fit its share of the run's budget (passes.c; oig_config.cache_hidden), else for as many whole
 * leading blocks as fit. Rows outside it are recomputed by every pass. Needs t->nv. */
void trn_cache_enable(trainer *t);

/* Fill t->xa for rows [p0, p0+b) of d: inputs, the constant 1, and o = f(W x) when nh > 0.
 * Adds b to t->forward_rows when it computed o for training rows. */
void trn_forward_block(trainer *t, const oig_data *d, size_t p0, size_t b);

/* r (rows x Nh, row-major) times f'(net) = o (1 - o) elementwise, o the rows' hidden outputs
 * (leading dimension ldo: Nh from the cache, N_u in x_a as trn_forward_block leaves them). */
void trn_times_slope(double *r, const double *o, size_t rows, int nh, size_t ldo);

/* Multiplies of the hidden outputs computed since t->forward_rows was zeroed, over all
 * processes: Nv Nh (N+1) times the share of this process's rows that missed the cache (the
 * processes' shares are taken to be alike). */
double trn_forward_multiplies(const trainer *t);

/* Outputs and errors at the current weights over data d: sse (sum of squared errors over all
 * processes), wrong (misclassified count, when d->cls). With grad, also G = -dE/dW into t->g.
 * Returns 0 or an error from the reduce seam. */
int trn_eval(trainer *t, const oig_data *d, int grad, double *sse, double *wrong);

/* OWO (spec 3): R_a, C_a at the current W, solve for the output weights into t->wo. */
int trn_owo(trainer *t);

/* E2 of the optimal learning factor along t->d (spec 4, Gauss-Newton). */
int trn_olf_e2(trainer *t, double *e2);

/* OIG Gauss-Newton Hessian H_ig along t->d into t->hig (spec 6.2). */
int trn_oig_hessian(trainer *t);

/* Input autocorrelation R_in = X~^T X~ / Nv into r ((N+1) x (N+1), full). */
int trn_input_autocorrelation(trainer *t, double *r);

/* Copy t->wo into the model's W_oi and W_oh. */
void trn_sync_model(trainer *t);

/* ---- the related trainers (train_related.c) ---- */
typedef struct rel_run rel_run;
int rel_is_related(oig_algorithm a);
/* The method name and option values of c into mdl's metadata. */
void rel_describe(const oig_config *c, oig_model *mdl);
/* Kernel state for a run of a related trainer, after the model's initialisation (or resume). */
oig_status rel_create(trainer *t, int resume, rel_run **out, oig_error *err);
void rel_destroy(rel_run *r);
/* One epoch or sweep, then E and the misclassified count on the training set into *s;
 * *eval_seconds receives the evaluation time (outside the timed work). */
oig_status rel_iteration(rel_run *r, trainer *t, trn_fit *s, double *eval_seconds, oig_error *err);
/* Sum of squared errors and misclassified count on d at the current weights (r may be NULL). */
int rel_eval(rel_run *r, trainer *t, const oig_data *d, double *sse, double *wrong);
/* orthogonal_hidden = polar: W's weight columns <- their nearest (semi-)orthogonal matrix. */
int trn_project_hidden(trainer *t);

/* Allocate LM's buffers for t's shape (once per run). */
oig_status lm_alloc(trainer *t);

/* t->lm_h = H = (2/Nv) J^T J (nw x nw, row-major, full) and t->lm_g = g = (2/Nv) J^T e (nw) at the
 * current weights, in the weight order W, per output its bypass weights (N+1, or the threshold
 * only without bypass), W_oh; *sse and *wrong of the current weights. 0, or -1 when a reduction
 * failed. */
int lm_gauss_newton(trainer *t, double *sse, double *wrong);

/* out = (2/Nv) J^T y'' (nw, pack()'s order, summed over all processes), y'' the outputs' second
 * directional derivative along v at the current weights, from a forward difference of step h:
 * y'' = (2/h) ((y(w + h v) - y(w)) / h - J v). Needs t->lm_geo. 0, or -1 when a reduction
 * failed. */
int lm_geodesic_rhs(trainer *t, const double *v, double h, double *out);

/* One Levenberg-Marquardt iteration over all weights (lm.c). *e is E at entry and receives E
 * at exit, *wrong the misclassified count there; *lambda is the damping, updated. With
 * Bayesian regularization the step lowers E + rho w'Cw with one rho per layer, decay[0] for the
 * hidden layer's weights and decay[1] for the output layer's, which are then re-estimated (0 on
 * the first iteration: an unregularized step). */
oig_status lm_iteration(trainer *t, double *e, double *wrong, double *lambda, double decay[2],
                        oig_error *err);
/* The evidence's re-estimate of the two decays (lm.c): h is the nw x nw Gauss-Newton Hessian of E
 * (row-major, full), c the penalty's diagonal, weights [0, nhid) the hidden layer's, w the
 * weights and sse their summed squared error over nres residuals of nv patterns. rho[2] is
 * updated in place (a layer's decay is kept when its estimate is undefined; both are kept on a
 * perfect fit or when H + 2 rho C is not positive definite); a is nw x nw scratch. Returns the
 * multiplies spent. */
double lm_evidence(size_t nw, size_t nhid, const double *h, const double *c, const double *w,
                   double sse, double nres, double nv, double rho[2], double *a);

#endif

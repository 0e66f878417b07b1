/* train.c -- the training loop: configuration, standardization, net-control initialization,
 * the per-iteration steps of BP, HWO, OIG-BP, OIG-HWO (spec sections 2, 4, 5, 6) and LM (lm.c),
 * their safeguards, stop rules and the progress callback.
 *
 * One run owns a trainer (trainer.h) whose buffers are allocated once. The model's W is the live
 * input-weight matrix; the output weights live in trainer.wo and are copied into the model after
 * every accepted step, so the callback always sees a consistent network.
 */
#include "trainer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void oig_config_init(oig_config *c) {
    memset(c, 0, sizeof *c);
    c->algorithm = OIG_ALG_OIG_HWO;
    c->nh = 10;
    c->max_iterations = 100;
    c->seed = 1;
    c->standardize = 1;
    c->bypass = 1;
    c->md = 0.5;
    c->sigmad = 1.0;
    c->ols_eps = 1e-10;
    c->bias_gain = 1;
    c->clamp_gains = 0;
    c->oig_ridge = 0.0;
    c->max_halvings = 3;
    c->lm_lambda0 = 0.01;
    c->lm_max_retries = 10;
    c->lm_damping = OIG_LM_DAMP_IDENTITY;
    c->lm_regularization = OIG_LM_REG_NONE;
    c->lm_update = OIG_LM_UPDATE_TENFOLD;
    c->lm_acceleration = OIG_LM_ACCEL_NONE;
    c->lm_precision = OIG_LM_PREC_DOUBLE;
    c->block_rows = 2048;
    c->cache_hidden = 1;
    /* related methods: spec related_methods.md A3, B3, C3, D3 */
    c->slnb.eta = 0.03;
    c->slnb.batch = 64;
    c->slnb.b_g = 0.9;
    c->slnb.b_mu = 0.9;
    c->slnb.b_nu = 0.999;
    c->slnb.cov_shrinkage = 0.1;
    c->slnb.cg_ridge = 0.1;
    c->slnb.cg_maxiter = 2;
    c->slnb.cg_tol = 1e-5;
    c->slnb.min_norm = 1e-2;
    c->slnb.weight_decay = 1e-4;
    c->slnb.approx_metric = 0;
    c->osgd.eta = 0.01;
    c->osgd.momentum = 0.9;
    c->osgd.weight_decay = 1e-4;
    c->osgd.batch = 64;
    c->osgd.anytime = OIG_ANYTIME_OFF;
    c->osgd.exits = 3;
    c->osgd.granularity = OIG_GRAN_BLOCK;
    c->osgd.rescale = OIG_RESCALE_NONE;
    c->osgd.eps_rel = 1e-12;
    c->ngmnn.gamma = 0.3;
    c->ngmnn.k_ratio = 1.0;
    c->ngmnn.svm_iters = 5;
    c->ngmnn.svm_tol = 1e-2;
    c->ngmnn.clamp = 1e-4;
    c->ngmnn.alpha_form = OIG_ALPHA_TEXTBOOK;
    c->orthogonal_hidden = OIG_ORTHO_OFF;
}

static int finite_in(double v, double lo, double hi) { return isfinite(v) && v >= lo && v <= hi; }

/* The related methods' options (field names as the CLI and REST spell them). */
static oig_status check_related(const oig_config *c, oig_error *err);

static oig_status bad(oig_error *err, const char *field, const char *msg) {
    if (err) {
        memset(err, 0, sizeof *err);
        snprintf(err->field, sizeof err->field, "%s", field);
        snprintf(err->message, sizeof err->message, "%s: %s", field, msg);
    }
    return OIG_EINVAL;
}

/* LM's choice options: the names of each option's values, in enum order. */
static const struct { const char *option, *names[2], *values; } lm_choices[OIG_LM_CHOICES] = {
    { "lm_damping", { "identity", "diag" }, "identity or diag" },
    { "lm_regularization", { "none", "bayesian" }, "none or bayesian" },
    { "lm_update", { "tenfold", "gain" }, "tenfold or gain" },
    { "lm_acceleration", { "none", "geodesic" }, "none or geodesic" },
    { "lm_precision", { "double", "mixed" }, "double or mixed" },
};

const char *oig_lm_choice_option(int i) { return i >= 0 && i < OIG_LM_CHOICES ? lm_choices[i].option : NULL; }
const char *oig_lm_choice_values(int i) { return i >= 0 && i < OIG_LM_CHOICES ? lm_choices[i].values : NULL; }

const char *oig_lm_choice_get(const oig_config *c, int i) {
    if (i < 0 || i >= OIG_LM_CHOICES) return NULL;
    int v;
    switch (i) {
    case 0: v = (int)c->lm_damping; break;
    case 1: v = (int)c->lm_regularization; break;
    case 2: v = (int)c->lm_update; break;
    case 3: v = (int)c->lm_acceleration; break;
    default: v = (int)c->lm_precision; break;
    }
    return v == 0 || v == 1 ? lm_choices[i].names[v] : "unknown";
}

int oig_lm_choice_set(oig_config *c, int i, const char *name) {
    if (i < 0 || i >= OIG_LM_CHOICES || name == NULL) return -1;
    for (int v = 0; v < 2; v++) {
        if (strcmp(name, lm_choices[i].names[v]) != 0) continue;
        switch (i) {
        case 0: c->lm_damping = (oig_lm_damping)v; break;
        case 1: c->lm_regularization = (oig_lm_regularization)v; break;
        case 2: c->lm_update = (oig_lm_update)v; break;
        case 3: c->lm_acceleration = (oig_lm_acceleration)v; break;
        default: c->lm_precision = (oig_lm_precision)v; break;
        }
        return 0;
    }
    return -1;
}

oig_status oig_config_check(const oig_config *c, oig_error *err) {
    if ((int)c->algorithm < 0 || c->algorithm >= OIG_ALG_COUNT) return bad(err, "algorithm", "unknown algorithm");
    if (c->nh < 1 || c->nh > 100000) return bad(err, "hidden_units", "must be between 1 and 100000");
    if (c->max_iterations < 0 || c->max_iterations > 100000000) return bad(err, "max_iterations", "must be between 0 and 100000000");
    if (!(c->target_mse >= 0) || !isfinite(c->target_mse)) return bad(err, "target_mse", "must be a finite number >= 0");
    if (!(c->max_seconds >= 0) || !isfinite(c->max_seconds)) return bad(err, "max_seconds", "must be a finite number >= 0");
    if (c->patience < 0) return bad(err, "patience", "must be >= 0");
    if (c->standardize != 0 && c->standardize != 1) return bad(err, "standardize", "must be 0 or 1");
    if (c->bypass != 0 && c->bypass != 1) return bad(err, "bypass", "must be 0 or 1");
    if (!isfinite(c->md)) return bad(err, "md", "must be finite");
    if (!(c->sigmad > 0) || !isfinite(c->sigmad)) return bad(err, "sigmad", "must be a finite number > 0");
    if (!(c->ols_eps > 0 && c->ols_eps < 1)) return bad(err, "ols_eps", "must be in (0, 1)");
    if (c->bias_gain != 0 && c->bias_gain != 1) return bad(err, "bias_gain", "must be 0 or 1");
    if (c->clamp_gains != 0 && c->clamp_gains != 1) return bad(err, "clamp_gains", "must be 0 or 1");
    if (!(c->oig_ridge >= 0) || !isfinite(c->oig_ridge)) return bad(err, "oig_ridge", "must be a finite number >= 0");
    if (c->max_halvings < 0 || c->max_halvings > 60) return bad(err, "max_halvings", "must be between 0 and 60");
    if (!(c->lm_lambda0 > 0) || !isfinite(c->lm_lambda0)) return bad(err, "lm_lambda0", "must be a finite number > 0");
    if (c->lm_max_retries < 0 || c->lm_max_retries > 100) return bad(err, "lm_max_retries", "must be between 0 and 100");
    if (c->lm_damping != OIG_LM_DAMP_IDENTITY && c->lm_damping != OIG_LM_DAMP_DIAG) return bad(err, "lm_damping", "must be identity or diag");
    if (c->lm_regularization != OIG_LM_REG_NONE && c->lm_regularization != OIG_LM_REG_BAYESIAN)
        return bad(err, "lm_regularization", "must be none or bayesian");
    if (c->lm_update != OIG_LM_UPDATE_TENFOLD && c->lm_update != OIG_LM_UPDATE_GAIN)
        return bad(err, "lm_update", "must be tenfold or gain");
    if (c->lm_acceleration != OIG_LM_ACCEL_NONE && c->lm_acceleration != OIG_LM_ACCEL_GEODESIC)
        return bad(err, "lm_acceleration", "must be none or geodesic");
    if (c->lm_precision != OIG_LM_PREC_DOUBLE && c->lm_precision != OIG_LM_PREC_MIXED)
        return bad(err, "lm_precision", "must be double or mixed");
    if (c->block_rows > ((size_t)1 << 24)) return bad(err, "block_rows", "must be at most 16777216");
    if (c->cache_hidden != 0 && c->cache_hidden != 1) return bad(err, "cache_hidden", "must be 0 or 1");
    if (check_related(c, err) != OIG_OK) return OIG_EINVAL;
    if (c->canonical_sums != 0 && c->canonical_sums != 1) return bad(err, "canonical_sums", "must be 0 or 1");
    return OIG_OK;
}

static oig_status check_related(const oig_config *c, oig_error *err) {
    const oig_slnb_config *s = &c->slnb;
    const oig_osgd_config *o = &c->osgd;
    const oig_ngmnn_config *g = &c->ngmnn;
    oig_algorithm a = c->algorithm;
    int is_slnb = a == OIG_ALG_SLNB, is_osgd = a == OIG_ALG_OSGD || a == OIG_ALG_SGD;
    if (!(s->eta > 0) || !isfinite(s->eta) || !(o->eta > 0) || !isfinite(o->eta))
        return bad(err, "eta", "must be a finite number > 0");
    if (!finite_in(s->weight_decay, 0, HUGE_VAL) || !finite_in(o->weight_decay, 0, HUGE_VAL))
        return bad(err, "weight_decay", "must be a finite number >= 0");
    if (s->batch < 0 || o->batch < 0 || s->batch > 100000000 || o->batch > 100000000)
        return bad(err, "batch", "must be between 0 (full batch) and 100000000");
    if (!finite_in(s->b_g, 0, 1) || s->b_g >= 1) return bad(err, "b_g", "must be in [0, 1)");
    if (!finite_in(s->b_mu, 0, 1) || s->b_mu >= 1) return bad(err, "b_mu", "must be in [0, 1)");
    if (!finite_in(s->b_nu, 0, 1) || s->b_nu >= 1) return bad(err, "b_nu", "must be in [0, 1)");
    if (!finite_in(s->cov_shrinkage, 0, 1) || s->cov_shrinkage >= 1)
        return bad(err, "cov_shrinkage", "must be in [0, 1)");
    if (!finite_in(s->cg_ridge, 0, HUGE_VAL)) return bad(err, "cg_ridge", "must be a finite number >= 0");
    if (s->cg_maxiter < 0 || s->cg_maxiter > 10000) return bad(err, "cg_maxiter", "must be between 0 and 10000");
    if (!finite_in(s->cg_tol, 0, 1)) return bad(err, "cg_tol", "must be in [0, 1]");
    if (!(s->min_norm > 0) || !isfinite(s->min_norm)) return bad(err, "min_norm", "must be a finite number > 0");
    if (s->approx_metric != 0 && s->approx_metric != 1) return bad(err, "approx_metric", "must be 0 or 1");
    if (!finite_in(o->momentum, 0, 1) || o->momentum >= 1) return bad(err, "momentum", "must be in [0, 1)");
    if (o->anytime != OIG_ANYTIME_OFF && o->anytime != OIG_ANYTIME_BYPASS2 && o->anytime != OIG_ANYTIME_WIDTH)
        return bad(err, "anytime", "must be off, bypass2 or width");
    if (o->exits < 2 || o->exits > 16) return bad(err, "exits", "must be between 2 and 16");
    if (o->granularity != OIG_GRAN_BLOCK && o->granularity != OIG_GRAN_GLOBAL)
        return bad(err, "granularity", "must be block or global");
    if (o->rescale != OIG_RESCALE_NONE && o->rescale != OIG_RESCALE_NORM)
        return bad(err, "rescale", "must be none or norm");
    if (!finite_in(o->eps_rel, 0, 1)) return bad(err, "eps_rel", "must be in [0, 1]");
    if (is_osgd && o->anytime != OIG_ANYTIME_OFF && !c->bypass)
        return bad(err, "bypass", "anytime networks need the bypass weights (exit heads read [x; 1; o])");
    if (is_osgd && o->anytime == OIG_ANYTIME_WIDTH && (c->nh >> (o->exits - 1)) < 1)
        return bad(err, "exits", "width exits need at least 2^(exits-1) hidden units");
    if (!(g->gamma > 0) || !isfinite(g->gamma)) return bad(err, "gamma", "must be a finite number > 0");
    if (!(g->k_ratio > 0) || !finite_in(g->k_ratio, 0, 1)) return bad(err, "k_ratio", "must be in (0, 1]");
    if (g->svm_iters < 1 || g->svm_iters > 1000) return bad(err, "svm_iters", "must be between 1 and 1000");
    if (!finite_in(g->svm_tol, 0, HUGE_VAL)) return bad(err, "svm_tol", "must be a finite number >= 0");
    if (!(g->clamp > 0) || !(g->clamp < 0.5)) return bad(err, "clamp", "must be in (0, 0.5)");
    if (g->alpha_form != OIG_ALPHA_TEXTBOOK && g->alpha_form != OIG_ALPHA_CODE)
        return bad(err, "alpha_form", "must be textbook or code");
    oig_orthogonal oh = c->orthogonal_hidden;
    if (oh != OIG_ORTHO_OFF && oh != OIG_ORTHO_POLAR && oh != OIG_ORTHO_EXPM)
        return bad(err, "orthogonal_hidden", "must be off, polar or expm");
    if (oh != OIG_ORTHO_OFF && (a == OIG_ALG_LM || a == OIG_ALG_NGMNN))
        return bad(err, "orthogonal_hidden", "is not available with lm or ngmnn");
    if (oh == OIG_ORTHO_EXPM && !is_slnb && !is_osgd)
        return bad(err, "orthogonal_hidden", "expm is for the gradient trainers slnb, osgd and sgd");
    return OIG_OK;
}

/* max_seconds reached: on this process, or, in a data-parallel run, on any of them (each
 * process's clock is summed through the reduce seam), so that all stop at the same iteration. */
static int time_is_up(trainer *t, double seconds) {
    double up = seconds >= t->cfg->max_seconds ? 1.0 : 0.0;
    if (trn_reduce(t, &up, 1)) return 1;
    return up > 0;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- trainer lifecycle ---- */

void trn_free(trainer *t) {
    free(t->xa); free(t->yb); free(t->ybt); free(t->ones); free(t->hb); free(t->stack);
    free(t->wo); free(t->g); free(t->d); free(t->ra); free(t->ca); free(t->cat); free(t->ra_x);
    free(t->rin_factor); free(t->hig); free(t->gig); free(t->solve_work);
    free(t->w_save); free(t->wo_save); free(t->w_best); free(t->wo_best);
    free(t->lm_h); free(t->lm_a); free(t->lm_geo); free(t->lm_g); free(t->lm_delta);
    free(t->lm_w0); free(t->lm_wt); free(t->lm_rows); free(t->lm_s); free(t->lm_rows_f); free(t->lm_s_f); free(t->lm_c);
    free(t->lm_r);
    free(t->ocache);
    free(t->cs_buf); free(t->cs_total);
}

static double *dalloc(size_t n) { return malloc((n ? n : 1) * sizeof(double)); }

oig_status trn_init(trainer *t, oig_data *train, oig_data *val, const oig_config *cfg,
                   oig_model *mdl) {
    memset(t, 0, sizeof *t);
    t->cfg = cfg; t->train = train; t->val = val; t->mdl = mdl;
    t->w_version = 1;
    t->n = mdl->n; t->n1 = mdl->n + 1; t->nh = mdl->nh; t->m = mdl->m;
    t->nu = t->n1 + t->nh;
    t->off = mdl->bypass ? 0 : t->n;
    t->nb = t->nu - t->off;
    t->block = cfg->block_rows ? cfg->block_rows : 2048;
    size_t width = (size_t)(t->nh > t->n1 ? t->nh : t->n1);
    t->chunk = 4096 / (size_t)t->m;
    if (t->chunk < 1) t->chunk = 1;
    if (t->chunk > t->block) t->chunk = t->block;
    size_t nhn1 = (size_t)t->nh * t->n1, n1n1 = (size_t)t->n1 * t->n1;
    size_t big = (size_t)t->nu > width ? (size_t)t->nu : width;
    t->xa = dalloc(t->block * t->nu);
    t->yb = dalloc(t->block * t->m);
    t->ybt = dalloc(t->block * t->m);
    t->ones = dalloc(t->block);
    t->hb = dalloc(t->block * (size_t)(t->nh ? t->nh : 1));
    t->stack = dalloc((t->chunk + (size_t)t->nh) * t->m * t->n1);
    t->wo = dalloc((size_t)t->m * t->nu);
    t->g = dalloc(nhn1); t->d = dalloc(nhn1);
    t->ra = dalloc((size_t)t->nu * t->nu); t->ca = dalloc((size_t)t->nu * t->m);
    t->cat = dalloc((size_t)t->nu * t->m);
    t->ra_x = dalloc(n1n1);
    t->rin_factor = dalloc(n1n1); t->hig = dalloc(n1n1); t->gig = dalloc(t->n1);
    t->solve_work = dalloc(big * big + big + n1n1);
    t->w_save = dalloc(nhn1); t->wo_save = dalloc((size_t)t->m * t->nu);
    t->w_best = dalloc(nhn1); t->wo_best = dalloc((size_t)t->m * t->nu);
    if (!t->xa || !t->yb || !t->ybt || !t->ones || !t->hb || !t->stack || !t->wo || !t->g ||
        !t->d || !t->ra || !t->ca || !t->cat || !t->ra_x ||
        !t->rin_factor || !t->hig || !t->gig || !t->solve_work || !t->w_save || !t->wo_save ||
        !t->w_best || !t->wo_best)
        return OIG_ENOMEM;
    memset(t->wo, 0, (size_t)t->m * t->nu * sizeof(double));
    for (size_t p = 0; p < t->block; p++) t->ones[p] = 1.0;
    if (mdl->algorithm == OIG_ALG_LM) return lm_alloc(t);
    return OIG_OK;
}

/* ---- preprocessing and initialization (spec 2) ---- */

/* Mean and population standard deviation of each input over the training rows of all
 * processes (two passes, for accuracy); a constant input gets scale 1. */
static int fit_standardization(trainer *t, double *mean, double *scale) {
    const oig_data *d = t->train;
    int n = t->n;
    memset(mean, 0, (size_t)n * sizeof(double));
    memset(scale, 0, (size_t)n * sizeof(double));
    trn_sums sm = { { mean }, { (size_t)n }, 1 }, ss = { { scale }, { (size_t)n }, 1 };
    for (size_t p0 = 0; p0 < d->nrows; p0 += t->block) {
        size_t end = d->nrows - p0 < t->block ? d->nrows : p0 + t->block;
        for (size_t p = p0; p < end; p++)
            for (int j = 0; j < n; j++) mean[j] += d->x[p * n + j];
        if (trn_sums_block(t, &sm, d, p0)) return -1;
    }
    if (trn_sums_finish(t, &sm, d)) return -1;
    for (int j = 0; j < n; j++) mean[j] /= t->nv;
    for (size_t p0 = 0; p0 < d->nrows; p0 += t->block) {
        size_t end = d->nrows - p0 < t->block ? d->nrows : p0 + t->block;
        for (size_t p = p0; p < end; p++)
            for (int j = 0; j < n; j++) {
                double v = d->x[p * n + j] - mean[j];
                scale[j] += v * v;
            }
        if (trn_sums_block(t, &ss, d, p0)) return -1;
    }
    if (trn_sums_finish(t, &ss, d)) return -1;
    for (int j = 0; j < n; j++) {
        double s = sqrt(scale[j] / t->nv);
        scale[j] = (s > 1e-12 * (fabs(mean[j]) + 1.0)) ? s : 1.0;
    }
    return 0;
}

static void apply_standardization(oig_data *d, const double *mean, const double *scale) {
    if (d == NULL) return;
    for (size_t p = 0; p < d->nrows; p++)
        for (int j = 0; j < d->n; j++) d->x[p * d->n + j] = (d->x[p * d->n + j] - mean[j]) / scale[j];
}

/* Net control: random W, then each hidden unit's net function is shifted and scaled to mean
 * md and standard deviation sigmad over the training rows. */
static int net_control(trainer *t) {
    int nh = t->nh, n1 = t->n1, nu = t->nu;
    oig_rng rng;
    oig_rng_seed(&rng, t->cfg->seed);
    for (size_t i = 0; i < (size_t)nh * n1; i++) t->mdl->w[i] = oig_rng_normal(&rng);
    double *mean = t->solve_work;
    double *var = t->solve_work + nh;
    memset(mean, 0, 2 * (size_t)nh * sizeof(double));
    const oig_data *d = t->train;
    for (int pass = 0; pass < 2; pass++) {
        double *acc = pass == 0 ? mean : var;
        trn_sums sa = { { acc }, { (size_t)nh }, 1 };
        for (size_t p0 = 0; p0 < d->nrows; p0 += t->block) {
            size_t b = d->nrows - p0 < t->block ? d->nrows - p0 : t->block;
            for (size_t p = 0; p < b; p++) {
                memcpy(t->xa + p * nu, d->x + (p0 + p) * t->n, (size_t)t->n * sizeof(double));
                t->xa[p * nu + t->n] = 1.0;
            }
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, nh, n1, 1.0, t->xa, nu,
                        t->mdl->w, n1, 0.0, t->hb, nh);
            for (size_t p = 0; p < b; p++)
                for (int k = 0; k < nh; k++) {
                    double v = t->hb[p * nh + k];
                    if (pass == 0) mean[k] += v;
                    else var[k] += (v - mean[k]) * (v - mean[k]);
                }
            if (trn_sums_block(t, &sa, d, p0)) return -1;
        }
        if (trn_sums_finish(t, &sa, d)) return -1;
        for (int k = 0; k < nh; k++) acc[k] /= t->nv;
    }
    for (int k = 0; k < nh; k++) {
        double s = sqrt(var[k]);
        double *w = t->mdl->w + (size_t)k * n1;
        if (s > 1e-300) {
            double f = t->cfg->sigmad / s;
            for (int j = 0; j < n1; j++) w[j] *= f;
            w[n1 - 1] += t->cfg->md - mean[k] * f;
        } else {
            w[n1 - 1] += t->cfg->md - mean[k];
        }
    }
    trn_w_changed(t);
    t->multiplies += 2.0 * t->nv * nh * n1;
    return 0;
}

/* ---- steps ---- */

/* Forward + errors + G at the current weights; counts spec 8's "forward + errors" and "G", the
 * forward pass for the rows the hidden-output cache did not hold. */
int trn_evaluate_with_gradient(trainer *t, trn_fit *s) {
    double sse;
    if (trn_eval(t, t->train, 1, &sse, &s->wrong)) return -1;
    s->e = sse / t->nv;
    double nv = t->nv, nh = t->nh, n1 = t->n1, m = t->m;
    t->multiplies += trn_forward_multiplies(t) + nv * m * t->nu + nv * (nh * (m + 1) + nh * n1);
    return 0;
}

/* W = W_save + D diag(a) (gains != NULL) or W_save + z D; then OWO and evaluation. */
static int try_step(trainer *t, const double *gains, double z, trn_fit *s) {
    int nh = t->nh, n1 = t->n1;
    for (int k = 0; k < nh; k++)
        for (int j = 0; j < n1; j++) {
            size_t i = (size_t)k * n1 + j;
            t->mdl->w[i] = t->w_save[i] + (gains ? gains[j] : z) * t->d[i];
        }
    trn_w_changed(t);
    if (t->cfg->orthogonal_hidden == OIG_ORTHO_POLAR && trn_project_hidden(t)) return -1;
    if (trn_owo(t)) return -1;
    return trn_evaluate_with_gradient(t, s);
}

static void save_weights(trainer *t, double *w, double *wo) {
    memcpy(w, t->mdl->w, (size_t)t->nh * t->n1 * sizeof(double));
    memcpy(wo, t->wo, (size_t)t->m * t->nu * sizeof(double));
}

static void restore_weights(trainer *t, const double *w, const double *wo) {
    memcpy(t->mdl->w, w, (size_t)t->nh * t->n1 * sizeof(double));
    trn_w_changed(t);
    memcpy(t->wo, wo, (size_t)t->m * t->nu * sizeof(double));
}

/* Run the candidate steps in order until one does not raise E (spec 4 and 6.3 safeguards).
 * When every candidate raises E, the best of them is taken so that training moves on instead
 * of repeating the same failed computation. Candidate c is: gains/2^c for c <= halvings (OIG),
 * or z/2^c (OLF); OIG adds one last candidate, the OLF step a = z*1. */
int trn_safeguarded_step(trainer *t, const double *gains, double z, trn_fit *s) {
    double e0 = s->e;
    int halvings = t->cfg->max_halvings;
    int ncand = halvings + 1 + (gains ? 1 : 0);
    double best_e = INFINITY;
    int have_best = 0;
    save_weights(t, t->w_save, t->wo_save);
    double *scaled = t->solve_work;   /* N+1 gains */
    oig_safeguards *sg = &t->mdl->summary.safeguards;
    for (int c = 0; c < ncand; c++) {
        trn_fit trial;
        int olf_fallback = gains && c == ncand - 1;
        double f = ldexp(1.0, -c);
        if (gains && !olf_fallback) {
            for (int j = 0; j < t->n1; j++) scaled[j] = gains[j] * f;
            if (try_step(t, scaled, 0, &trial)) return -1;
        } else if (olf_fallback) {
            if (try_step(t, NULL, z, &trial)) return -1;
        } else {
            if (try_step(t, NULL, z * f, &trial)) return -1;
        }
        if (c > 0) {
            if (olf_fallback) sg->oig_olf_fallbacks++;
            else if (gains) sg->oig_halvings++;
            else sg->olf_halvings++;
        }
        if (isfinite(trial.e) && trial.e <= e0) {
            *s = trial;
            trn_sync_model(t);
            return 0;
        }
        if (isfinite(trial.e) && trial.e < best_e) {
            best_e = trial.e;
            have_best = 1;
            save_weights(t, t->w_best, t->wo_best);
        }
    }
    sg->accepted_worse++;
    restore_weights(t, have_best ? t->w_best : t->w_save, have_best ? t->wo_best : t->wo_save);
    if (trn_evaluate_with_gradient(t, s)) return -1;
    trn_sync_model(t);
    return 0;
}

/* D = G (BP variants) or D = G R_in^-1 solved with the stored OLS factor (HWO variants). */
void trn_direction(trainer *t, int hwo) {
    int nh = t->nh, n1 = t->n1;
    if (!hwo) {
        memcpy(t->d, t->g, (size_t)nh * n1 * sizeof(double));
        return;
    }
    double *c = t->solve_work;   /* (N+1) x Nh: G^T */
    for (int k = 0; k < nh; k++)
        for (int j = 0; j < n1; j++) c[(size_t)j * nh + k] = t->g[(size_t)k * n1 + j];
    oig_ols_apply(t->rin_factor, n1, c, nh, nh, NULL);
    for (int k = 0; k < nh; k++)
        for (int j = 0; j < n1; j++) t->d[(size_t)k * n1 + j] = c[(size_t)j * nh + k];
    t->multiplies += (double)nh * n1 * n1;
}

/* One BP or HWO iteration: optimal learning factor along D, then OWO (spec 4, 5). */
int trn_olf_iteration(trainer *t, int hwo, trn_fit *s) {
    trn_direction(t, hwo);
    double e1 = -cblas_ddot(t->nh * t->n1, t->g, 1, t->d, 1);
    double e2;
    if (trn_olf_e2(t, &e2)) return -1;
    double z = (e2 > 0 && isfinite(e2)) ? -e1 / e2 : 0.0;
    return trn_safeguarded_step(t, NULL, z, s);
}

/* One OIG-BP or OIG-HWO iteration (spec 6.4 steps 3-8). */
int trn_oig_iteration(trainer *t, int hwo, trn_fit *s) {
    int n1 = t->n1, nh = t->nh;
    trn_direction(t, hwo);
    if (trn_oig_hessian(t)) return -1;
    double *gig = t->gig, *h = t->hig;
    double sum_g = 0.0, e2 = 0.0;
    for (int j = 0; j < n1; j++) {
        double v = 0.0;
        for (int k = 0; k < nh; k++) v += t->d[(size_t)k * n1 + j] * t->g[(size_t)k * n1 + j];
        gig[j] = v;
        sum_g += v;
    }
    for (size_t i = 0; i < (size_t)n1 * n1; i++) e2 += h[i];
    /* 1'H_ig 1 = E2 and 1'g_ig = -E1: the OLF factor comes free */
    double z = (e2 > 0 && isfinite(e2)) ? sum_g / e2 : 0.0;
    double *hs = t->solve_work + n1;                 /* (N+1)^2 copy of H_ig */
    double *a = t->solve_work + n1 + (size_t)n1 * n1; /* N+1 gains */
    memcpy(hs, h, (size_t)n1 * n1 * sizeof(double));
    for (int j = 0; j < n1; j++) hs[(size_t)j * n1 + j] *= 1.0 + t->cfg->oig_ridge;
    memcpy(a, gig, (size_t)n1 * sizeof(double));
    if (t->cfg->bias_gain) {
        if (oig_ols_solve(hs, n1, t->cfg->ols_eps, a, 1, 1) < 0) return -1;
    } else {
        /* the threshold column's gain is fixed at the OLF factor z; solve for the others */
        int n = t->n;
        for (int r = 0; r < n; r++) a[r] = gig[r] - hs[(size_t)r * n1 + n] * z;
        for (int r = 0; r < n; r++)
            for (int c = 0; c < n; c++) hs[(size_t)r * n + c] = hs[(size_t)r * n1 + c];
        if (n > 0 && oig_ols_solve(hs, n, t->cfg->ols_eps, a, 1, 1) < 0) return -1;
        a[n] = z;
    }
    if (t->cfg->clamp_gains)
        for (int j = 0; j < n1; j++) if (a[j] < 0) a[j] = 0;
    /* keep the gains away from the scratch the safeguard uses */
    double *gains = t->gig;
    memcpy(gains, a, (size_t)n1 * sizeof(double));
    return trn_safeguarded_step(t, gains, z, s);
}

/* ---- the loop ---- */

static int algorithm_is_hwo(oig_algorithm a) { return a == OIG_ALG_HWO || a == OIG_ALG_OIG_HWO; }

/* The trainer's W_o <- the model's output weights (resume and warm start). */
static void wo_from_model(trainer *t) {
    for (int i = 0; i < t->m; i++) {
        memcpy(t->wo + (size_t)i * t->nu, t->mdl->woi + (size_t)i * t->n1, (size_t)t->n1 * sizeof(double));
        memcpy(t->wo + (size_t)i * t->nu + t->n1, t->mdl->woh + (size_t)i * t->nh, (size_t)t->nh * sizeof(double));
    }
}

/* Can cfg->init_model start a run of cfg on train? */
static oig_status check_init_model(const oig_model *init, const oig_config *cfg,
                                   const oig_data *train, oig_error *err) {
    if (init->n != train->n || init->m != train->m)
        return bad(err, "init_model", "the model's inputs and outputs do not match the data");
    if (init->nh < 1) return bad(err, "init_model", "the model has no hidden units");
    if (init->task != train->task)
        return bad(err, "init_model", "the model's task (regression or classification) differs from the data's");
    if (init->task == OIG_CLASSIFICATION && init->labels && train->labels) {
        int same = init->nclasses == train->nclasses;
        for (int k = 0; same && k < init->nclasses; k++)
            same = init->labels[k] && train->labels[k] && strcmp(init->labels[k], train->labels[k]) == 0;
        if (!same) return bad(err, "init_model", "the model's class labels differ from the data's");
    }
    if ((cfg->algorithm == OIG_ALG_NGMNN) != (init->hidden_rownorm != 0))
        return bad(err, "init_model", "ngmnn continues only from an ngmnn model, and an ngmnn model "
                   "(row-normalized hidden outputs) only with ngmnn");
    if (cfg->algorithm == OIG_ALG_NGMNN && init->nh < train->m)
        return bad(err, "hidden_units", "ngmnn needs at least as many hidden units as classes");
    int anytime = (cfg->algorithm == OIG_ALG_OSGD || cfg->algorithm == OIG_ALG_SGD) &&
                  cfg->osgd.anytime != OIG_ANYTIME_OFF;
    if (anytime && !init->bypass)
        return bad(err, "bypass", "anytime networks need the bypass weights; the model has none");
    if (anytime && cfg->osgd.anytime == OIG_ANYTIME_WIDTH && (init->nh >> (cfg->osgd.exits - 1)) < 1)
        return bad(err, "exits", "width exits need at least 2^(exits-1) hidden units");
    return OIG_OK;
}

/* A copy of init as the start of a new run: summary and method records cleared, exits kept only
 * for an anytime trainer (which re-solves or keeps them). */
static oig_model *init_from(const oig_model *init, const oig_config *cfg) {
    oig_model *mdl = oig_model_clone(init);
    if (mdl == NULL) return NULL;
    memset(&mdl->summary, 0, sizeof mdl->summary);
    mdl->nmeta = 0;
    memset(mdl->meta, 0, sizeof mdl->meta);
    int anytime = (cfg->algorithm == OIG_ALG_OSGD || cfg->algorithm == OIG_ALG_SGD) &&
                  cfg->osgd.anytime != OIG_ANYTIME_OFF;
    if (!anytime) oig_model_set_exits(mdl, 0, 0, NULL);
    return mdl;
}

oig_status oig_train(oig_data *train, oig_data *val, const oig_config *cfg,
                     const oig_model *resume, oig_progress_fn cb, void *ud,
                     oig_model **out, oig_error *err) {
    oig_error dummy;
    if (err == NULL) err = &dummy;
    memset(err, 0, sizeof *err);
    *out = NULL;
    if (train == NULL || cfg == NULL) return bad(err, "data", "no training data");
    if (train->n < 1 || train->m < 1) return bad(err, "data", "needs at least one input and one output");
    if (val && (val->n != train->n || val->m != train->m))
        return bad(err, "validation", "validation data has a different number of columns");
    oig_status st = oig_config_check(cfg, err);
    if (st != OIG_OK) return st;
    if (resume && (resume->n != train->n || resume->m != train->m))
        return bad(err, "resume", "checkpoint shape does not match the data");
    if (cfg->algorithm == OIG_ALG_NGMNN && (train->task != OIG_CLASSIFICATION || train->cls == NULL))
        return bad(err, "algorithm", "ngmnn trains classifiers only; this data is a regression task");
    if (cfg->algorithm == OIG_ALG_NGMNN && cfg->nh < train->m)
        return bad(err, "hidden_units", "ngmnn needs at least as many hidden units as classes");

    const oig_model *init = resume ? NULL : cfg->init_model;
    if (init && (st = check_init_model(init, cfg, train, err)) != OIG_OK) return st;

    oig_model *mdl = resume ? oig_model_clone(resume) : init ? init_from(init, cfg)
                   : oig_model_new(train->n, cfg->nh, train->m);
    if (mdl == NULL) return OIG_ENOMEM;
    trainer t;
    if (!resume) {
        if (!init) mdl->bypass = cfg->bypass;
        mdl->algorithm = cfg->algorithm;
        mdl->summary.seed = cfg->seed;
        mdl->summary.lm_lambda = cfg->lm_lambda0;
        mdl->summary.lm_decay[0] = mdl->summary.lm_decay[1] = 0.0;
        if (cfg->algorithm == OIG_ALG_NGMNN) { mdl->bypass = 0; mdl->hidden_rownorm = 1; }
        if ((st = oig_model_describe(mdl, train)) != OIG_OK) goto fail_model;
        rel_describe(cfg, mdl);
        if (init) {
            oig_model_meta_set(mdl, "init.algorithm", "%s", oig_algorithm_name(init->algorithm));
            oig_model_meta_set(mdl, "init.iterations", "%d", init->summary.iterations);
        }
    }
    rel_run *rel = NULL;
    if ((st = trn_init(&t, train, val, cfg, mdl)) != OIG_OK) goto fail;

    double counts[2] = {(double)train->nrows, val ? (double)val->nrows : 0.0};
    if (trn_reduce(&t, counts, 2)) { st = OIG_EINVAL; snprintf(err->message, sizeof err->message, "reduce failed"); goto fail; }
    t.nv = counts[0];
    double nval = counts[1];
    if (t.nv < 1) { st = bad(err, "data", "no training rows"); goto fail; }
    if (cfg->cache_hidden) trn_cache_enable(&t);

    if (!resume && !init && cfg->standardize) {
        if (fit_standardization(&t, mdl->in_mean, mdl->in_scale)) { st = OIG_EINVAL; goto fail; }
        mdl->standardized = 1;
    }
    if (mdl->standardized) {
        apply_standardization(train, mdl->in_mean, mdl->in_scale);
        apply_standardization(val, mdl->in_mean, mdl->in_scale);
    }

    oig_algorithm alg = mdl->algorithm;
    int hwo = algorithm_is_hwo(alg);
    double t_start = now_seconds();
    double base_seconds = resume ? mdl->summary.seconds : 0.0;
    double excluded = 0.0;    /* time spent in validation and callbacks */
    t.multiplies = resume ? mdl->summary.multiplies : 0.0;

    if (hwo) {
        double *rin = t.solve_work;   /* (N+1)^2 scratch, before the factor is stored */
        if (trn_input_autocorrelation(&t, rin)) { st = OIG_EINVAL; goto fail; }
        oig_ols_factor(rin, t.n1, cfg->ols_eps, t.rin_factor, t.solve_work + (size_t)t.n1 * t.n1);
        t.multiplies += (double)t.n1 * t.n1 * t.n1 / 3;
    }

    trn_fit s;
    int iteration;
    double lambda, decay[2] = {0.0, 0.0};   /* LM's damping and per-layer weight decays */
    if (init) {
        /* warm start: the given weights; with orthogonal_hidden the constraint holds from
         * iteration 0 (W projected, then the output weights re-solved by OWO) */
        wo_from_model(&t);
        if (alg != OIG_ALG_NGMNN && cfg->orthogonal_hidden != OIG_ORTHO_OFF) {
            if (trn_project_hidden(&t)) {
                st = OIG_ENUMERIC;
                snprintf(err->message, sizeof err->message, "orthogonal_hidden: projection failed");
                goto fail;
            }
            if (trn_owo(&t)) { st = OIG_EINVAL; goto fail; }
            trn_sync_model(&t);
        }
        iteration = 0;
        lambda = cfg->lm_lambda0;
    } else if (!resume) {
        if (alg != OIG_ALG_NGMNN) {
            if (net_control(&t)) { st = OIG_EINVAL; goto fail; }
            if (cfg->orthogonal_hidden != OIG_ORTHO_OFF && trn_project_hidden(&t)) {
                st = OIG_ENUMERIC;
                snprintf(err->message, sizeof err->message, "orthogonal_hidden: projection failed");
                goto fail;
            }
            if (trn_owo(&t)) { st = OIG_EINVAL; goto fail; }
            trn_sync_model(&t);
        }
        iteration = 0;
        lambda = cfg->lm_lambda0;
    } else {
        wo_from_model(&t);
        iteration = mdl->summary.iterations;
        lambda = mdl->summary.lm_lambda > 0 ? mdl->summary.lm_lambda : cfg->lm_lambda0;
        for (int g = 0; g < 2; g++)
            decay[g] = mdl->summary.lm_decay[g] > 0 ? mdl->summary.lm_decay[g] : 0.0;
    }
    if (rel_is_related(alg)) {
        if ((st = rel_create(&t, resume != NULL || init != NULL, &rel, err)) != OIG_OK) goto fail;
        double sse;
        if (rel_eval(rel, &t, train, &sse, &s.wrong)) { st = OIG_EINVAL; goto fail; }
        s.e = sse / t.nv;
    } else if (trn_evaluate_with_gradient(&t, &s)) { st = OIG_EINVAL; goto fail; }

    double best_val = INFINITY;
    int since_best = 0;
    const char *reason = "max_iterations";
    int first = 1;
    for (;;) {
        /* report the state reached (iteration 0 = after initialization; not repeated on resume) */
        double t_eval = now_seconds();
        oig_progress pr;
        pr.iteration = iteration;
        pr.train_mse = s.e;
        pr.train_err = train->cls ? 100.0 * s.wrong / t.nv : NAN;
        pr.val_mse = NAN;
        pr.val_err = NAN;
        if (val && nval > 0) {
            double sse, wrong;
            if (rel_eval(rel, &t, val, &sse, &wrong)) { st = OIG_EINVAL; goto fail; }
            pr.val_mse = sse / nval;
            pr.val_err = val->cls ? 100.0 * wrong / nval : NAN;
        }
        pr.multiplies = t.multiplies;
        pr.seconds = base_seconds + (t_eval - t_start) - excluded;
        pr.model = mdl;
        oig_summary *sum = &mdl->summary;
        sum->iterations = iteration;
        sum->train_mse = pr.train_mse; sum->val_mse = pr.val_mse;
        sum->train_err = pr.train_err; sum->val_err = pr.val_err;
        sum->multiplies = pr.multiplies; sum->seconds = pr.seconds;
        sum->lm_lambda = lambda;
        for (int g = 0; g < 2; g++)
            sum->lm_decay[g] = cfg->lm_regularization == OIG_LM_REG_BAYESIAN ? decay[g] : 0.0;
        if (!isfinite(s.e)) {
            st = OIG_ENUMERIC;
            snprintf(err->message, sizeof err->message, "training error became %g at iteration %d", s.e, iteration);
            goto fail;
        }
        int stop = 0;
        if ((!resume || !first) && cb && cb(&pr, ud) == OIG_STOP) { reason = "stopped"; stop = 2; }
        first = 0;
        excluded += now_seconds() - t_eval;
        if (!stop) {
            if (val && nval > 0) {
                if (pr.val_mse < best_val) { best_val = pr.val_mse; since_best = 0; }
                else since_best++;
            }
            if (alg == OIG_ALG_OWO) { reason = "closed_form"; stop = 1; }
            else if (iteration >= cfg->max_iterations) { reason = "max_iterations"; stop = 1; }
            else if (cfg->target_mse > 0 && s.e <= cfg->target_mse) { reason = "target_mse"; stop = 1; }
            else if (cfg->max_seconds > 0 && time_is_up(&t, pr.seconds)) { reason = "max_seconds"; stop = 1; }
            else if (cfg->patience > 0 && val && nval > 0 && since_best >= cfg->patience) { reason = "patience"; stop = 1; }
        }
        if (stop) {
            snprintf(sum->stop_reason, sizeof sum->stop_reason, "%s", reason);
            st = stop == 2 ? OIG_ESTOPPED : OIG_OK;
            break;
        }

        int rc = 0;
        switch (alg) {
        case OIG_ALG_BP: case OIG_ALG_HWO: rc = trn_olf_iteration(&t, hwo, &s); break;
        case OIG_ALG_OIG_BP: case OIG_ALG_OIG_HWO: rc = trn_oig_iteration(&t, hwo, &s); break;
        case OIG_ALG_SLNB: case OIG_ALG_OSGD: case OIG_ALG_SGD: case OIG_ALG_NGMNN: {
            double ev = 0.0;
            oig_status rs = rel_iteration(rel, &t, &s, &ev, err);
            excluded += ev;
            if (rs != OIG_OK) { st = rs; goto fail; }
            break;
        }
        case OIG_ALG_LM: {
            oig_status ls = lm_iteration(&t, &s.e, &s.wrong, &lambda, decay, err);
            if (ls != OIG_OK) { st = ls; goto fail; }
            break;
        }
        default: rc = 0; break;
        }
        if (rc) { st = OIG_ENOMEM; snprintf(err->message, sizeof err->message, "training step failed"); goto fail; }
        iteration++;
    }
    rel_destroy(rel);
    trn_free(&t);
    *out = mdl;
    return st;
fail:
    rel_destroy(rel);
    trn_free(&t);
fail_model:
    oig_model_free(mdl);
    if (err->message[0] == '\0') snprintf(err->message, sizeof err->message, "%s", oig_status_name(st));
    return st;
}

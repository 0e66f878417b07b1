/* train_related.c -- the epoch loops of the related trainers (related_methods.md A-D) inside
 * oig_train: SLNB, OSGD and its plain-SGD comparator on the (anytime) one-hidden-layer net,
 * NGMNN's closed-form epochs, the orthogonal_hidden option, and oig_model_project.
 *
 * The numerics are the kernels of related.h; this file owns only what a run adds to them:
 * seeded mini-batch order, copying weights between the kernels' state and the model, the OWO
 * initialisation of every anytime head, evaluation outside the timed work, and the metadata.
 */
#include "trainer.h"
#include "related.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct rel_run {
    oig_algorithm alg;
    oig_rng rng;
    size_t *perm;            /* Nv row order of the current epoch */
    int nb;                  /* rows per mini-batch */
    double *xb, *tb;         /* nb x N, nb x M gathered batch */
    slnb_state *slnb;
    osgd_state *osgd;
    ngmnn_state *ngmnn;
    double *y01;             /* Nv x M one-hot 0/1 targets (ngmnn) */
    double *ework, *escore;  /* block x Nh, block x M (ngmnn evaluation) */
    double *w_old;           /* Nh x (N+1): W before a step (orthogonal_hidden = expm) */
    double *u, *gu;          /* max(Nh,N) x min(Nh,N): U and its direction (expm) */
    unitary_ws *ws;
    double last_mult;        /* kernel multiplies already added to the trainer */
};

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int rel_is_related(oig_algorithm a) {
    return a == OIG_ALG_SLNB || a == OIG_ALG_OSGD || a == OIG_ALG_SGD || a == OIG_ALG_NGMNN;
}

int oig_algorithm_sums_rows(oig_algorithm a) {
    return (int)a >= 0 && a < OIG_ALG_COUNT && !rel_is_related(a);
}

static const char *anytime_name(oig_anytime a) {
    return a == OIG_ANYTIME_BYPASS2 ? "bypass2" : a == OIG_ANYTIME_WIDTH ? "width" : "off";
}

static const char *ortho_name(oig_orthogonal o) {
    return o == OIG_ORTHO_POLAR ? "polar" : o == OIG_ORTHO_EXPM ? "expm" : "off";
}

/* The method's option values into the model's metadata ("method" plus one key per option). */
void rel_describe(const oig_config *c, oig_model *mdl) {
    oig_model_meta_set(mdl, "method", "%s", oig_algorithm_name(c->algorithm));
    if (c->orthogonal_hidden != OIG_ORTHO_OFF || rel_is_related(c->algorithm))
        oig_model_meta_set(mdl, "orthogonal_hidden", "%s", ortho_name(c->orthogonal_hidden));
    switch (c->algorithm) {
    case OIG_ALG_SLNB: {
        const oig_slnb_config *s = &c->slnb;
        oig_model_meta_set(mdl, "eta", "%.17g", s->eta);
        oig_model_meta_set(mdl, "batch", "%d", s->batch);
        oig_model_meta_set(mdl, "b_g", "%.17g", s->b_g);
        oig_model_meta_set(mdl, "b_mu", "%.17g", s->b_mu);
        oig_model_meta_set(mdl, "b_nu", "%.17g", s->b_nu);
        oig_model_meta_set(mdl, "cov_shrinkage", "%.17g", s->cov_shrinkage);
        oig_model_meta_set(mdl, "cg_ridge", "%.17g", s->cg_ridge);
        oig_model_meta_set(mdl, "cg_maxiter", "%d", s->cg_maxiter);
        oig_model_meta_set(mdl, "cg_tol", "%.17g", s->cg_tol);
        oig_model_meta_set(mdl, "min_norm", "%.17g", s->min_norm);
        oig_model_meta_set(mdl, "weight_decay", "%.17g", s->weight_decay);
        oig_model_meta_set(mdl, "approx_metric", "%s", s->approx_metric ? "true" : "false");
        break;
    }
    case OIG_ALG_OSGD: case OIG_ALG_SGD: {
        const oig_osgd_config *o = &c->osgd;
        oig_model_meta_set(mdl, "eta", "%.17g", o->eta);
        oig_model_meta_set(mdl, "momentum", "%.17g", o->momentum);
        oig_model_meta_set(mdl, "weight_decay", "%.17g", o->weight_decay);
        oig_model_meta_set(mdl, "batch", "%d", o->batch);
        oig_model_meta_set(mdl, "anytime", "%s", anytime_name(o->anytime));
        oig_model_meta_set(mdl, "exits", "%d", o->exits);
        oig_model_meta_set(mdl, "granularity", "%s", o->granularity == OIG_GRAN_GLOBAL ? "global" : "block");
        oig_model_meta_set(mdl, "rescale", "%s", o->rescale == OIG_RESCALE_NORM ? "norm" : "none");
        oig_model_meta_set(mdl, "eps_rel", "%.17g", o->eps_rel);
        break;
    }
    case OIG_ALG_NGMNN: {
        const oig_ngmnn_config *g = &c->ngmnn;
        oig_model_meta_set(mdl, "gamma", "%.17g", g->gamma);
        oig_model_meta_set(mdl, "k_ratio", "%.17g", g->k_ratio);
        oig_model_meta_set(mdl, "svm_iters", "%d", g->svm_iters);
        oig_model_meta_set(mdl, "svm_tol", "%.17g", g->svm_tol);
        oig_model_meta_set(mdl, "clamp", "%.17g", g->clamp);
        oig_model_meta_set(mdl, "alpha_form", "%s", g->alpha_form == OIG_ALPHA_CODE ? "code" : "textbook");
        break;
    }
    default: break;
    }
}

/* ---- orthogonal hidden weights ---- */

/* W's weight columns (Nh x N, ld N+1) <- their nearest (semi-)orthogonal matrix, the plain
 * polar factor (reflections allowed: the nearest in O(n)). */
static int project_w(double *w, int nh, int n) {
    double *u = malloc((size_t)nh * n * sizeof(double));
    if (u == NULL) return -1;
    oig_status st = unitary_polar(nh, n, w, n + 1, 1, u, NULL, NULL);
    if (st == OIG_OK)
        for (int k = 0; k < nh; k++) memcpy(w + (size_t)k * (n + 1), u + (size_t)k * n, (size_t)n * sizeof(double));
    free(u);
    return st == OIG_OK ? 0 : -1;
}

int trn_project_hidden(trainer *t) {
    if (t->nh == 0) return 0;
    if (project_w(t->mdl->w, t->nh, t->n)) return -1;
    trn_w_changed(t);
    double a = t->nh > t->n ? t->nh : t->n, b = t->nh > t->n ? t->n : t->nh;
    t->multiplies += 4.0 * a * b * b;          /* thin SVD and P V^T, roughly */
    return 0;
}

/* After a gradient step W_old -> w (Nh x (N+1)) with step size eta: keep the bias column's
 * step, and move the weight columns by the Riemannian step U <- exp(-eta Omega) U along the
 * step's direction G = (W_old - W)/eta instead (U = W's weight columns, or their transpose
 * when Nh < N, so that U^T U = I). */
static int riemann_after_step(struct rel_run *r, double *w, int nh, int n, double eta) {
    int tall = nh >= n, rows = tall ? nh : n, cols = tall ? n : nh;
    for (int k = 0; k < nh; k++)
        for (int j = 0; j < n; j++) {
            double wo = r->w_old[(size_t)k * (n + 1) + j], g = (wo - w[(size_t)k * (n + 1) + j]) / eta;
            size_t i = tall ? (size_t)k * cols + j : (size_t)j * cols + k;
            r->u[i] = wo;
            r->gu[i] = g;
        }
    if (unitary_riemann_step(rows, cols, r->u, r->gu, eta, r->ws) != OIG_OK) return -1;
    for (int k = 0; k < nh; k++)
        for (int j = 0; j < n; j++)
            w[(size_t)k * (n + 1) + j] = r->u[tall ? (size_t)k * cols + j : (size_t)j * cols + k];
    return 0;
}

/* Apply the orthogonal_hidden option to W after a step (w_old saved by the caller for expm). */
static int ortho_after_step(struct rel_run *r, trainer *t, double *w, double eta) {
    switch (t->cfg->orthogonal_hidden) {
    case OIG_ORTHO_POLAR: return project_w(w, t->nh, t->n);
    case OIG_ORTHO_EXPM: return riemann_after_step(r, w, t->nh, t->n, eta);
    default: return 0;
    }
}

/* ---- lifecycle ---- */

void rel_destroy(struct rel_run *r) {
    if (r == NULL) return;
    slnb_destroy(r->slnb);
    osgd_destroy(r->osgd);
    ngmnn_destroy(r->ngmnn);
    unitary_ws_destroy(r->ws);
    free(r->perm); free(r->xb); free(r->tb); free(r->y01); free(r->ework); free(r->escore);
    free(r->w_old); free(r->u); free(r->gu);
    free(r);
}

static oig_status rbad(oig_error *err, const char *field, const char *msg) {
    snprintf(err->field, sizeof err->field, "%s", field);
    snprintf(err->message, sizeof err->message, "%s: %s", field, msg);
    return OIG_EINVAL;
}

/* Model <- NGMNN weights: W = [W1 b1], W_oh = W2, W_oi's threshold column = b2. */
static void ngmnn_to_model(const ngmnn_state *g, oig_model *mdl) {
    int n = g->n, nh = g->nh, m = g->m;
    for (int k = 0; k < nh; k++) {
        memcpy(mdl->w + (size_t)k * (n + 1), g->w1 + (size_t)k * n, (size_t)n * sizeof(double));
        mdl->w[(size_t)k * (n + 1) + n] = g->b1[k];
    }
    memcpy(mdl->woh, g->w2, (size_t)m * nh * sizeof(double));
    memset(mdl->woi, 0, (size_t)m * (n + 1) * sizeof(double));
    for (int i = 0; i < m; i++) mdl->woi[(size_t)i * (n + 1) + n] = g->b2[i];
}

static void ngmnn_from_model(ngmnn_state *g, const oig_model *mdl) {
    int n = g->n, nh = g->nh, m = g->m;
    for (int k = 0; k < nh; k++) {
        memcpy(g->w1 + (size_t)k * n, mdl->w + (size_t)k * (n + 1), (size_t)n * sizeof(double));
        g->b1[k] = mdl->w[(size_t)k * (n + 1) + n];
    }
    memcpy(g->w2, mdl->woh, (size_t)m * nh * sizeof(double));
    for (int i = 0; i < m; i++) g->b2[i] = mdl->woi[(size_t)i * (n + 1) + n];
}

/* Copy the model's output weights into the trainer's W_o (after the kernels changed them). */
static void wo_from_model(trainer *t) {
    for (int i = 0; i < t->m; i++) {
        memcpy(t->wo + (size_t)i * t->nu, t->mdl->woi + (size_t)i * t->n1, (size_t)t->n1 * sizeof(double));
        memcpy(t->wo + (size_t)i * t->nu + t->n1, t->mdl->woh + (size_t)i * t->nh, (size_t)t->nh * sizeof(double));
    }
    trn_w_changed(t);
}

/* OWO of anytime head k alone (basis [x~, o_1..o_ck]) into the OSGD state's head k. The full
 * OWO's W_o in t->wo is saved and restored around it. */
static int owo_head(trainer *t, osgd_state *s, int k) {
    int ck = s->c[k], nb_save = t->nb, m = t->m, n1 = t->n1;
    size_t nwo = (size_t)m * t->nu;
    double *save = malloc(nwo * sizeof(double));
    if (save == NULL) return -1;
    memcpy(save, t->wo, nwo * sizeof(double));
    t->nb = n1 + ck;                 /* basis columns 0..N+ck of x_a (off = 0: bypass) */
    int rc = trn_owo(t);
    t->nb = nb_save;
    if (rc == 0) {
        double *woi, *woh;
        osgd_head(s, k, &woi, &woh);
        for (int i = 0; i < m; i++) {
            memcpy(woi + (size_t)i * n1, t->wo + (size_t)i * t->nu, (size_t)n1 * sizeof(double));
            memcpy(woh + (size_t)i * ck, t->wo + (size_t)i * t->nu + n1, (size_t)ck * sizeof(double));
        }
    }
    memcpy(t->wo, save, nwo * sizeof(double));
    free(save);
    return rc;
}

/* The OSGD state's earlier heads into the model's exits. */
static void heads_to_model(osgd_state *s, oig_model *mdl) {
    if (mdl->exits.nexits != s->K) return;
    for (int k = 0; k + 1 < s->K; k++) {
        double *woi, *woh;
        osgd_head(s, k, &woi, &woh);
        memcpy(mdl->exits.head_woi[k], woi, (size_t)s->m * (s->n + 1) * sizeof(double));
        memcpy(mdl->exits.head_woh[k], woh, (size_t)s->m * s->c[k] * sizeof(double));
    }
}

/* Set up the run's kernel state after the model is initialised (net control + OWO for slnb and
 * osgd) or taken from a checkpoint or a warm-start model (resume). */
oig_status rel_create(trainer *t, int resume, struct rel_run **out, oig_error *err) {
    const oig_config *c = t->cfg;
    oig_model *mdl = t->mdl;
    *out = NULL;
    if (c->reduce) return rbad(err, "algorithm", "the related trainers run in one process only");
    struct rel_run *r = calloc(1, sizeof *r);
    if (r == NULL) return OIG_ENOMEM;
    r->alg = c->algorithm;
    oig_rng_seed(&r->rng, c->seed ^ 0x9e3779b97f4a7c15ULL);
    size_t nv = t->train->nrows;
    int n = t->n, nh = t->nh, m = t->m;
    oig_status st = OIG_ENOMEM;
    r->perm = malloc(nv * sizeof(size_t));
    if (r->perm == NULL) goto fail;
    for (size_t i = 0; i < nv; i++) r->perm[i] = i;
    if (c->algorithm == OIG_ALG_NGMNN) {
        ngmnn_opts o;
        ngmnn_opts_init(&o);
        o.gamma = c->ngmnn.gamma; o.k_ratio = c->ngmnn.k_ratio; o.svm_iters = c->ngmnn.svm_iters;
        o.svm_tol = c->ngmnn.svm_tol; o.clamp = c->ngmnn.clamp;
        o.alpha_form = c->ngmnn.alpha_form == OIG_ALPHA_CODE ? NGMNN_ALPHA_CODE : NGMNN_ALPHA_TEXTBOOK;
        if (nv > 2147483647u) { st = rbad(err, "data", "too many rows for ngmnn"); goto fail; }
        r->ngmnn = ngmnn_create(n, nh, m, (int)nv, &o, &st);
        if (r->ngmnn == NULL) {
            if (st == OIG_EINVAL) st = rbad(err, "hidden_units", "ngmnn needs at least 3 rows and "
                                            "at least as many hidden units as classes");
            goto fail;
        }
        r->y01 = calloc(nv * (size_t)m, sizeof(double));
        r->ework = malloc(t->block * (size_t)nh * sizeof(double));
        r->escore = malloc(t->block * (size_t)m * sizeof(double));
        if (!r->y01 || !r->ework || !r->escore) { st = OIG_ENOMEM; goto fail; }
        for (size_t p = 0; p < nv; p++) r->y01[p * m + t->train->cls[p]] = 1.0;
        if (resume) ngmnn_from_model(r->ngmnn, mdl);
        else {
            ngmnn_init(r->ngmnn, c->seed);
            ngmnn_to_model(r->ngmnn, mdl);
        }
        *out = r;
        return OIG_OK;
    }
    int batch = c->algorithm == OIG_ALG_SLNB ? c->slnb.batch : c->osgd.batch;
    r->nb = batch <= 0 || (size_t)batch > nv ? (int)(nv < 2147483647u ? nv : 2147483647u) : batch;
    r->xb = malloc((size_t)r->nb * n * sizeof(double));
    r->tb = malloc((size_t)r->nb * m * sizeof(double));
    if (!r->xb || !r->tb) goto fail;
    if (c->orthogonal_hidden == OIG_ORTHO_EXPM) {
        int big = nh > n ? nh : n, small = nh > n ? n : nh;
        r->w_old = malloc((size_t)nh * (n + 1) * sizeof(double));
        r->u = malloc((size_t)big * small * sizeof(double));
        r->gu = malloc((size_t)big * small * sizeof(double));
        r->ws = unitary_ws_create(big);
        if (!r->w_old || !r->u || !r->gu || !r->ws) goto fail;
    }
    if (c->algorithm == OIG_ALG_SLNB) {
        slnb_opts o;
        slnb_opts_init(&o);
        const oig_slnb_config *s = &c->slnb;
        o.eta = s->eta; o.b_g = s->b_g; o.b_mu = s->b_mu; o.b_nu = s->b_nu;
        o.shrink = s->cov_shrinkage; o.gamma = s->cg_ridge; o.cg_maxiter = s->cg_maxiter;
        o.cg_tol = s->cg_tol; o.min_norm = s->min_norm; o.weight_decay = s->weight_decay;
        o.approx_metric = s->approx_metric;
        r->slnb = slnb_create(n, nh, m, mdl->bypass, r->nb, &o);
        if (r->slnb == NULL) goto fail;
    } else {
        osgd_opts o;
        osgd_opts_init(&o);
        const oig_osgd_config *s = &c->osgd;
        o.eta = s->eta; o.momentum = s->momentum; o.weight_decay = s->weight_decay;
        o.granularity = s->granularity == OIG_GRAN_GLOBAL ? OSGD_GRAN_GLOBAL : OSGD_GRAN_BLOCK;
        o.rescale = s->rescale == OIG_RESCALE_NORM ? OSGD_RESCALE_NORM : OSGD_RESCALE_NONE;
        o.eps_rel = s->eps_rel;
        o.orthogonalize = c->algorithm == OIG_ALG_OSGD;
        osgd_anytime kind = s->anytime == OIG_ANYTIME_BYPASS2 ? OSGD_ANYTIME_BYPASS2 :
                            s->anytime == OIG_ANYTIME_WIDTH ? OSGD_ANYTIME_WIDTH : OSGD_ANYTIME_OFF;
        r->osgd = osgd_create(kind, n, nh, m, s->exits, r->nb, &o, &st);
        if (r->osgd == NULL) {
            if (st == OIG_EINVAL) st = rbad(err, "exits", "the anytime network does not fit: width "
                                            "needs 2..16 exits and Nh >= 2^(K-1)");
            goto fail;
        }
        osgd_state *os = r->osgd;
        if ((st = osgd_load(os, mdl)) != OIG_OK) goto fail;
        if (os->K > 1) {
            int have = mdl->exits.nexits == os->K;
            for (int k = 0; have && k < os->K; k++) have = mdl->exits.units[k] == os->c[k];
            if (resume && have) {
                for (int k = 0; k + 1 < os->K; k++) {
                    double *woi, *woh;
                    osgd_head(os, k, &woi, &woh);
                    memcpy(woi, mdl->exits.head_woi[k], (size_t)m * (n + 1) * sizeof(double));
                    memcpy(woh, mdl->exits.head_woh[k], (size_t)m * os->c[k] * sizeof(double));
                }
            } else {
                st = oig_model_set_exits(mdl, kind == OSGD_ANYTIME_BYPASS2 ? 1 : 2, os->K, os->c);
                if (st != OIG_OK) goto fail;
                if (kind == OSGD_ANYTIME_WIDTH)
                    for (int k = 0; k + 1 < os->K; k++)
                        if (owo_head(t, os, k)) { st = OIG_ENUMERIC; goto fail; }
            }
            heads_to_model(os, mdl);
        }
    }
    *out = r;
    return OIG_OK;
fail:
    if (st == OIG_ENOMEM && err->message[0] == '\0') snprintf(err->message, sizeof err->message, "out of memory");
    rel_destroy(r);
    return st;
}

/* ---- evaluation ---- */

int rel_eval(struct rel_run *r, trainer *t, const oig_data *d, double *sse, double *wrong) {
    if (r == NULL || r->ngmnn == NULL) return trn_eval(t, d, 0, sse, wrong);
    /* NGMNN: scores against 0/1 one-hot targets; the class is the row argmax */
    int nh = t->nh, m = t->m;
    double acc = 0.0, bad = 0.0;
    for (size_t p0 = 0; p0 < d->nrows; p0 += t->block) {
        size_t b = d->nrows - p0 < t->block ? d->nrows - p0 : t->block;
        ngmnn_forward(r->ngmnn, d->x + p0 * (size_t)t->n, b, r->ework, r->escore);
        for (size_t p = 0; p < b; p++) {
            const double *y = r->escore + p * m;
            int cl = d->cls ? d->cls[p0 + p] : -1;
            for (int i = 0; i < m; i++) {
                double e = (i == cl ? 1.0 : 0.0) - y[i];
                acc += e * e;
            }
            if (d->cls && oig_argmax(y, m) != cl) bad += 1.0;
        }
    }
    (void)nh;
    *sse = acc;
    if (wrong) *wrong = bad;
    return 0;
}

/* ---- one iteration ---- */

static void shuffle(struct rel_run *r, size_t nv) {
    for (size_t i = nv; i > 1; i--) {
        size_t j = (size_t)(oig_rng_next(&r->rng) % i);
        size_t tmp = r->perm[i - 1]; r->perm[i - 1] = r->perm[j]; r->perm[j] = tmp;
    }
}

/* One epoch (slnb, osgd, sgd) or one closed-form sweep (ngmnn); then E and Pe on the training
 * set into *s. *eval_seconds receives the time spent evaluating (not training work). */
oig_status rel_iteration(struct rel_run *r, trainer *t, trn_fit *s, double *eval_seconds,
                         oig_error *err) {
    const oig_data *d = t->train;
    int n = t->n, m = t->m, nh = t->nh;
    oig_status st = OIG_OK;
    double kmult0 = 0.0, kmult1 = 0.0;
    if (r->ngmnn) {
        kmult0 = r->ngmnn->multiplies;
        st = ngmnn_epoch(r->ngmnn, d->x, r->y01);
        kmult1 = r->ngmnn->multiplies;
        if (st == OIG_OK) ngmnn_to_model(r->ngmnn, t->mdl);
    } else {
        size_t nv = d->nrows;
        shuffle(r, nv);
        kmult0 = r->slnb ? r->slnb->multiplies : r->osgd->multiplies;
        double *w = r->slnb ? t->mdl->w : r->osgd->theta;
        double eta = r->slnb ? t->cfg->slnb.eta : t->cfg->osgd.eta;
        for (size_t p0 = 0; p0 < nv && st == OIG_OK; p0 += (size_t)r->nb) {
            int b = (int)(nv - p0 < (size_t)r->nb ? nv - p0 : (size_t)r->nb);
            for (int p = 0; p < b; p++) {
                size_t row = r->perm[p0 + p];
                memcpy(r->xb + (size_t)p * n, d->x + row * n, (size_t)n * sizeof(double));
                memcpy(r->tb + (size_t)p * m, d->t + row * m, (size_t)m * sizeof(double));
            }
            if (r->w_old) memcpy(r->w_old, w, (size_t)nh * (n + 1) * sizeof(double));
            st = r->slnb ? slnb_step(r->slnb, t->mdl, r->xb, r->tb, b)
                         : osgd_step(r->osgd, r->xb, r->tb, b);
            if (st == OIG_OK && t->cfg->orthogonal_hidden != OIG_ORTHO_OFF &&
                ortho_after_step(r, t, w, eta))
                st = OIG_ENUMERIC;
        }
        kmult1 = r->slnb ? r->slnb->multiplies : r->osgd->multiplies;
        if (r->osgd) {
            osgd_store(r->osgd, t->mdl);
            heads_to_model(r->osgd, t->mdl);
        }
        wo_from_model(t);
    }
    t->multiplies += kmult1 - kmult0;
    if (st != OIG_OK) {
        snprintf(err->message, sizeof err->message, "%s step failed: %s",
                 oig_algorithm_name(r->alg), oig_status_name(st));
        return st;
    }
    double t0 = mono(), sse, wrong;
    if (rel_eval(r, t, d, &sse, &wrong)) return OIG_EINVAL;
    s->e = sse / t->nv;
    s->wrong = wrong;
    if (r->osgd && r->osgd->K > 1) {
        /* each exit's E on the training set, kept in the metadata as the exits' extras */
        double *y = malloc(d->nrows * (size_t)m * sizeof(double));
        double *work = malloc(d->nrows * (size_t)nh * sizeof(double) + 1);
        if (y && work) {
            for (int k = 0; k < r->osgd->K; k++) {
                osgd_predict_exit(r->osgd, k, d->x, d->nrows, y, work);
                double e = 0.0;
                for (size_t i = 0; i < d->nrows * (size_t)m; i++) e += (d->t[i] - y[i]) * (d->t[i] - y[i]);
                char key[32];
                snprintf(key, sizeof key, "exit%d.train_mse", k + 1);
                oig_model_meta_set(t->mdl, key, "%.17g", e / t->nv);
            }
        }
        free(y);
        free(work);
    }
    *eval_seconds = mono() - t0;
    return OIG_OK;
}

/* ---- projection of a stored model (related_methods.md D) ---- */

void oig_project_opts_init(oig_project_opts *o) {
    memset(o, 0, sizeof *o);
    o->method = OIG_PROJECT_POLAR;
    o->reowo = 1;
    o->lie_tol = 1e-10;
    o->lie_max_iter = 10000;
}

static oig_status perr(oig_error *err, const char *field, const char *msg) {
    if (err) {
        snprintf(err->field, sizeof err->field, "%s", field);
        snprintf(err->message, sizeof err->message, "%s: %s", field, msg);
    }
    return OIG_EINVAL;
}

/* OWO of the model's output weights on d (raw rows; standardized here when the model is). */
static oig_status reowo(oig_model *mdl, const oig_data *d) {
    oig_data *copy = NULL;
    size_t *idx = malloc((d->nrows ? d->nrows : 1) * sizeof(size_t));
    if (idx == NULL) return OIG_ENOMEM;
    for (size_t i = 0; i < d->nrows; i++) idx[i] = i;
    oig_status st = oig_data_select_rows(d, idx, d->nrows, &copy);
    free(idx);
    if (st != OIG_OK) return st;
    if (mdl->standardized)
        for (size_t p = 0; p < copy->nrows; p++)
            for (int j = 0; j < copy->n; j++)
                copy->x[p * copy->n + j] = (copy->x[p * copy->n + j] - mdl->in_mean[j]) / mdl->in_scale[j];
    oig_config cfg;
    oig_config_init(&cfg);
    cfg.nh = mdl->nh;
    cfg.cache_hidden = 0;
    trainer t;
    st = trn_init(&t, copy, NULL, &cfg, mdl);
    if (st == OIG_OK) {
        t.nv = (double)copy->nrows;
        if (trn_owo(&t)) st = OIG_ENUMERIC;
        else trn_sync_model(&t);
    }
    trn_free(&t);
    oig_data_free(copy);
    return st;
}

oig_status oig_model_project(const oig_model *mdl, const oig_project_opts *o, const oig_data *d,
                             oig_model **out, oig_project_report *rep, oig_error *err) {
    oig_project_report local;
    if (rep == NULL) rep = &local;
    *out = NULL;
    rep->moved = NAN;
    rep->mse_before = rep->err_before = rep->mse_projected = rep->err_projected = NAN;
    rep->mse_reowo = rep->err_reowo = NAN;
    if (mdl == NULL || o == NULL) return perr(err, "model", "no model");
    if (o->method != OIG_PROJECT_POLAR && o->method != OIG_PROJECT_LIE)
        return perr(err, "method", "must be polar or lie");
    if (mdl->nh < 1) return perr(err, "model", "the model has no hidden layer to project");
    if (mdl->exits.nexits > 0 || mdl->hidden_rownorm)
        return perr(err, "model", "models with anytime exits or row-normalized hidden outputs "
                    "cannot be projected");
    if (!(o->lie_tol > 0) || o->lie_max_iter < 1) return perr(err, "lie_tol", "must be > 0");
    if (d && (d->n != mdl->n || d->m != mdl->m))
        return perr(err, "data", "the data's columns do not match the model");
    oig_model *p = oig_model_clone(mdl);
    if (p == NULL) return OIG_ENOMEM;
    oig_status st;
    if (d && d->nrows > 0 &&
        (st = oig_model_evaluate(mdl, d, &rep->mse_before, &rep->err_before)) != OIG_OK)
        goto fail;
    unitary_opts uo;
    unitary_opts_init(&uo);
    uo.method = o->method == OIG_PROJECT_LIE ? UNITARY_LIE : UNITARY_POLAR;
    uo.reflect = o->reflect;
    uo.lie_opt = o->lie_adam ? UNITARY_LIE_ADAM : UNITARY_LIE_GD;
    uo.lie_tol = o->lie_tol;
    uo.lie_max_iter = o->lie_max_iter;
    st = unitary_project_model(p, o->layers_all ? UNITARY_LAYERS_ALL : UNITARY_LAYERS_HIDDEN, &uo,
                               &rep->moved);
    if (st != OIG_OK) goto fail;
    if (d && d->nrows > 0) {
        if ((st = oig_model_evaluate(p, d, &rep->mse_projected, &rep->err_projected)) != OIG_OK) goto fail;
        if (o->reowo && !o->layers_all) {
            if ((st = reowo(p, d)) != OIG_OK) goto fail;
            if ((st = oig_model_evaluate(p, d, &rep->mse_reowo, &rep->err_reowo)) != OIG_OK) goto fail;
        }
    }
    oig_model_meta_set(p, "projection.method", "%s", o->method == OIG_PROJECT_LIE ? "lie" : "polar");
    oig_model_meta_set(p, "projection.layers", "%s", o->layers_all ? "all" : "hidden");
    oig_model_meta_set(p, "projection.reowo", "%s", o->reowo && !o->layers_all && d ? "true" : "false");
    oig_model_meta_set(p, "projection.moved", "%.17g", rep->moved);
    if (d && d->nrows > 0) {
        oig_model_meta_set(p, "projection.mse_before", "%.17g", rep->mse_before);
        oig_model_meta_set(p, "projection.mse_projected", "%.17g", rep->mse_projected);
        if (isfinite(rep->mse_reowo)) oig_model_meta_set(p, "projection.mse_reowo", "%.17g", rep->mse_reowo);
        if (d->cls) {
            oig_model_meta_set(p, "projection.err_before", "%.17g", rep->err_before);
            oig_model_meta_set(p, "projection.err_projected", "%.17g", rep->err_projected);
            if (isfinite(rep->err_reowo)) oig_model_meta_set(p, "projection.err_reowo", "%.17g", rep->err_reowo);
        }
    }
    *out = p;
    return OIG_OK;
fail:
    oig_model_free(p);
    if (err && err->message[0] == '\0') snprintf(err->message, sizeof err->message, "projection failed: %s", oig_status_name(st));
    return st;
}

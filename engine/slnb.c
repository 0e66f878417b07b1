/* slnb.c -- Simple Linear Neuron Boosting (spec related_methods.md A): the metric product,
 * debiased EMA moments, the diagonal Sigma~^-1 preconditioner, warm-started PCG, the
 * metric-normalized step and one full step for the one-hidden-layer net with bypass weights.
 * Owns only its state (slnb_layer, slnb_state); the epoch loop and metrics belong to its trainer.
 */
#include "related.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void slnb_opts_init(slnb_opts *o) {
    o->b_g = 0.9;
    o->b_mu = 0.9;
    o->b_nu = 0.999;
    o->shrink = 0.1;
    o->gamma = 0.1;
    o->cg_maxiter = 2;
    o->cg_tol = 1e-5;
    o->min_norm = 1e-2;
    o->weight_decay = 1e-4;
    o->approx_metric = 0;
    o->eta = 0.03;
    o->normalize = 1;
    o->use_moments = 1;
}

slnb_layer *slnb_layer_create(int nout, int nin1, int bias_col, int nb_max) {
    if (nout <= 0 || nin1 <= 0 || nb_max <= 0 || bias_col >= nin1) return NULL;
    slnb_layer *L = calloc(1, sizeof *L);
    if (L == NULL) return NULL;
    L->nout = nout; L->nin1 = nin1; L->bias_col = bias_col < 0 ? -1 : bias_col;
    L->nb_max = nb_max;
    size_t nv = (size_t)nin1, nw = (size_t)nout * (size_t)nin1;
    L->mu = calloc(nv, sizeof(double));
    L->nu = calloc(nv, sizeof(double));
    L->mu_hat = calloc(nv, sizeof(double));
    L->sig2s = calloc(nv, sizeof(double));
    L->h = calloc(nw, sizeof(double));
    L->mom = calloc(nw, sizeof(double));
    L->g = calloc(nw, sizeof(double));
    L->r = calloc(nw, sizeof(double));
    L->z = calloc(nw, sizeof(double));
    L->p = calloc(nw, sizeof(double));
    L->ap = calloc(nw, sizeof(double));
    L->xv = calloc((size_t)nout * (size_t)nb_max, sizeof(double));
    if (!L->mu || !L->nu || !L->mu_hat || !L->sig2s || !L->h || !L->mom || !L->g || !L->r ||
        !L->z || !L->p || !L->ap || !L->xv) {
        slnb_layer_destroy(L);
        return NULL;
    }
    for (int j = 0; j < nin1; j++) L->sig2s[j] = 1.0;   /* identity-like until moments arrive */
    return L;
}

void slnb_layer_destroy(slnb_layer *L) {
    if (L == NULL) return;
    free(L->mu); free(L->nu); free(L->mu_hat); free(L->sig2s);
    free(L->h); free(L->mom); free(L->g);
    free(L->r); free(L->z); free(L->p); free(L->ap); free(L->xv);
    free(L);
}

/* A(V) = V Sigma + gamma V.*D with Sigma = X^T X / nb.
 * X nb x nin1 (ld ldx), V and out nout x nin1 (ld nin1), work nout x nb. */
void slnb_metric_apply(const double *x, int ldx, int nb, int nin1, int bias_col, double gamma,
                       const double *v, int nout, double *out, double *work) {
    /* work = V X^T (nout x nb); out = work X / nb */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nout, nb, nin1, 1.0, v, nin1, x, ldx,
                0.0, work, nb);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nout, nin1, nb, 1.0 / nb, work, nb,
                x, ldx, 0.0, out, nin1);
    if (gamma != 0.0)
        for (int i = 0; i < nout; i++)
            for (int j = 0; j < nin1; j++)
                if (j != bias_col) out[(size_t)i * nin1 + j] += gamma * v[(size_t)i * nin1 + j];
}

/* Moments per feature (bias column excluded) of X (nb x nin1, ld ldx): EMAs of the batch means
 * of x and x*x, debiased by 1 - beta^t, then sig2 = max(0, nu - mu^2) shrunk toward its mean.
 * A shrunk variance is floored at 1e-12 * max(1, mean nu) so the preconditioner never divides
 * by zero (all-constant features). */
void slnb_moments_update(slnb_layer *L, const double *x, int ldx, int nb,
                         double b_mu, double b_nu, double shrink, int use_ema) {
    int nin1 = L->nin1;
    L->t++;
    double c_mu = use_ema ? 1.0 - pow(b_mu, (double)L->t) : 1.0;
    double c_nu = use_ema ? 1.0 - pow(b_nu, (double)L->t) : 1.0;
    double mean_s2 = 0.0, mean_nu = 0.0;
    int nf = 0;
    for (int j = 0; j < nin1; j++) {
        if (j == L->bias_col) { L->mu_hat[j] = 0.0; continue; }
        double s1 = 0.0, s2 = 0.0;
        for (int p = 0; p < nb; p++) {
            double v = x[(size_t)p * ldx + j];
            s1 += v; s2 += v * v;
        }
        s1 /= nb; s2 /= nb;
        if (use_ema) {
            L->mu[j] = b_mu * L->mu[j] + (1.0 - b_mu) * s1;
            L->nu[j] = b_nu * L->nu[j] + (1.0 - b_nu) * s2;
        } else {
            L->mu[j] = s1; L->nu[j] = s2;
        }
        double mh = L->mu[j] / c_mu, nh = L->nu[j] / c_nu;
        L->mu_hat[j] = mh;
        double s = nh - mh * mh;
        L->sig2s[j] = s > 0.0 ? s : 0.0;
        mean_s2 += L->sig2s[j]; mean_nu += nh; nf++;
    }
    if (nf == 0) return;
    mean_s2 /= nf; mean_nu /= nf;
    double floor = 1e-12 * (mean_nu > 1.0 ? mean_nu : 1.0);
    for (int j = 0; j < nin1; j++) {
        if (j == L->bias_col) continue;
        double s = (1.0 - shrink) * L->sig2s[j] + shrink * mean_s2;
        L->sig2s[j] = s > floor ? s : floor;
    }
}

/* P(V) row by row. V and out nout x nin1; out may alias v. */
void slnb_precond_apply(const slnb_layer *L, const double *v, double *out) {
    int nin1 = L->nin1, bc = L->bias_col;
    for (int i = 0; i < L->nout; i++) {
        const double *vr = v + (size_t)i * nin1;
        double *o = out + (size_t)i * nin1;
        if (bc < 0) {
            for (int j = 0; j < nin1; j++)
                o[j] = vr[j] / (L->sig2s[j] + L->mu_hat[j] * L->mu_hat[j]);
            continue;
        }
        double b = vr[bc], dot = 0.0;
        for (int j = 0; j < nin1; j++) {
            if (j == bc) continue;
            o[j] = (vr[j] - b * L->mu_hat[j]) / L->sig2s[j];
            dot += L->mu_hat[j] * o[j];
        }
        o[bc] = b - dot;
    }
}

static double dotn(size_t n, const double *a, const double *b) {
    return cblas_ddot((int)n, a, 1, b, 1);
}

/* PCG on the operator V -> A(V), rows of V independent but solved together in the Frobenius
 * inner product (as the optax code does). Residual test as JAX cg: continue while
 * <r,r> > tol^2 <g,g>. H (= L->h) nout x nin1; X nb x nin1 (ld ldx). */
int slnb_pcg(slnb_layer *L, const double *x, int ldx, int nb, double gamma, const double *g,
             int maxiter, double tol, int *nprod) {
    size_t nw = (size_t)L->nout * (size_t)L->nin1;
    int prods = 0, it = 0;
    slnb_metric_apply(x, ldx, nb, L->nin1, L->bias_col, gamma, L->h, L->nout, L->ap, L->xv);
    prods++;
    for (size_t i = 0; i < nw; i++) L->r[i] = g[i] - L->ap[i];
    slnb_precond_apply(L, L->r, L->z);
    double rz = dotn(nw, L->r, L->z);
    double atol2 = tol * tol * dotn(nw, g, g);
    memcpy(L->p, L->z, nw * sizeof(double));
    while (it < maxiter) {
        if (rz == 0.0) break;                          /* r = 0 or P(r) = 0: nothing to do */
        if (dotn(nw, L->r, L->r) <= atol2) break;
        slnb_metric_apply(x, ldx, nb, L->nin1, L->bias_col, gamma, L->p, L->nout, L->ap, L->xv);
        prods++;
        double pap = dotn(nw, L->p, L->ap);
        if (!(pap > 0.0)) break;                       /* breakdown: keep the current H */
        double a = rz / pap;
        cblas_daxpy((int)nw, a, L->p, 1, L->h, 1);
        cblas_daxpy((int)nw, -a, L->ap, 1, L->r, 1);
        slnb_precond_apply(L, L->r, L->z);
        double rz2 = dotn(nw, L->r, L->z);
        double beta = rz2 / rz;
        for (size_t i = 0; i < nw; i++) L->p[i] = L->z[i] + beta * L->p[i];
        rz = rz2;
        it++;
    }
    if (nprod) *nprod = prods;
    return it;
}

double slnb_step_norm(double hg, double min_norm) {
    double f = min_norm * min_norm;
    return sqrt(hg > f ? hg : f);
}

slnb_state *slnb_create(int n, int nh, int m, int bypass, int nb_max, const slnb_opts *o) {
    if (n <= 0 || nh < 0 || m <= 0 || nb_max <= 0 || o == NULL) return NULL;
    slnb_state *s = calloc(1, sizeof *s);
    if (s == NULL) return NULL;
    s->n = n; s->nh = nh; s->m = m; s->bypass = bypass ? 1 : 0; s->nb_max = nb_max;
    s->o = *o;
    int nu = n + 1 + nh;
    int nin_o = s->bypass ? nu : 1 + nh;
    if (nh > 0 && (s->hid = slnb_layer_create(nh, n + 1, n, nb_max)) == NULL) goto err;
    if ((s->out = slnb_layer_create(m, nin_o, s->bypass ? n : 0, nb_max)) == NULL) goto err;
    s->xa = calloc((size_t)nb_max * (size_t)nu, sizeof(double));
    s->wo = calloc((size_t)m * (size_t)nin_o, sizeof(double));
    s->e = calloc((size_t)nb_max * (size_t)m, sizeof(double));
    s->delta = calloc((size_t)nb_max * (size_t)nh + 1, sizeof(double));
    s->gh = calloc((size_t)nh * (size_t)(n + 1) + 1, sizeof(double));
    s->go = calloc((size_t)m * (size_t)nin_o, sizeof(double));
    if (!s->xa || !s->wo || !s->e || !s->delta || !s->gh || !s->go) goto err;
    return s;
err:
    slnb_destroy(s);
    return NULL;
}

void slnb_destroy(slnb_state *s) {
    if (s == NULL) return;
    slnb_layer_destroy(s->hid);
    slnb_layer_destroy(s->out);
    free(s->xa); free(s->wo); free(s->e); free(s->delta); free(s->gh); free(s->go);
    free(s);
}

/* Momentum (debiased), moments, H by PCG or P alone, for one layer with raw gradient graw.
 * Returns <H, G> with G the debiased momentum. */
static double slnb_layer_direction(slnb_state *s, slnb_layer *L, const double *graw,
                                   const double *x, int ldx, int nb) {
    const slnb_opts *o = &s->o;
    size_t nw = (size_t)L->nout * (size_t)L->nin1;
    double c = 1.0 - pow(o->b_g, (double)s->t);
    for (size_t i = 0; i < nw; i++) {
        L->mom[i] = o->b_g * L->mom[i] + (1.0 - o->b_g) * graw[i];
        L->g[i] = L->mom[i] / c;
    }
    slnb_moments_update(L, x, ldx, nb, o->b_mu, o->b_nu, o->shrink, o->use_moments);
    s->multiplies += 2.0 * nb * L->nin1;
    if (o->approx_metric) {
        slnb_precond_apply(L, L->g, L->h);
    } else {
        int nprod = 0;
        slnb_pcg(L, x, ldx, nb, o->gamma, L->g, o->cg_maxiter, o->cg_tol, &nprod);
        s->multiplies += 2.0 * nprod * nb * (double)nw;
    }
    s->multiplies += 2.0 * (double)nw;
    return dotn(nw, L->h, L->g);
}

/* One step. Shapes: x nb x N, t nb x M; xa nb x Nu = [x 1 o]; hidden layer X~ = xa[:, 0..N]
 * (ld Nu); output layer input xa (bypass) or xa[:, N..] = [1 o] (no bypass). */
oig_status slnb_step(slnb_state *s, oig_model *mdl, const double *x, const double *t, int nb) {
    int n = s->n, nh = s->nh, m = s->m, nu = n + 1 + nh;
    if (mdl == NULL || mdl->n != n || mdl->nh != nh || mdl->m != m || nb <= 0 || nb > s->nb_max)
        return OIG_EINVAL;
    const slnb_opts *o = &s->o;
    slnb_layer *LO = s->out, *LH = s->hid;
    int nin_o = LO->nin1;
    const double *xo = s->bypass ? s->xa : s->xa + n;

    /* forward */
    for (int p = 0; p < nb; p++) {
        memcpy(s->xa + (size_t)p * nu, x + (size_t)p * n, (size_t)n * sizeof(double));
        s->xa[(size_t)p * nu + n] = 1.0;
    }
    if (nh > 0) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, nh, n + 1, 1.0, s->xa, nu,
                    mdl->w, n + 1, 0.0, s->xa + n + 1, nu);
        for (int p = 0; p < nb; p++) oig_sigmoid_inplace(s->xa + (size_t)p * nu + n + 1, (size_t)nh);
    }
    for (int i = 0; i < m; i++) {
        double *wr = s->wo + (size_t)i * nin_o;
        if (s->bypass) {
            memcpy(wr, mdl->woi + (size_t)i * (n + 1), (size_t)(n + 1) * sizeof(double));
            memcpy(wr + n + 1, mdl->woh + (size_t)i * nh, (size_t)nh * sizeof(double));
        } else {
            wr[0] = mdl->woi[(size_t)i * (n + 1) + n];
            memcpy(wr + 1, mdl->woh + (size_t)i * nh, (size_t)nh * sizeof(double));
        }
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, m, nin_o, 1.0, xo, nu, s->wo, nin_o,
                0.0, s->e, m);
    double sse = 0.0;
    for (size_t i = 0; i < (size_t)nb * m; i++) {
        s->e[i] -= t[i];
        sse += s->e[i] * s->e[i];
    }
    s->last_batch_mse = sse / nb;

    /* gradients of E = (1/nb) sum ||t - y||^2: G_o = (2/nb) e^T [x 1 o]; G = (2/nb) delta^T X~ */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, nin_o, nb, 2.0 / nb, s->e, m, xo, nu,
                0.0, s->go, nin_o);
    s->multiplies += (double)nb * ((double)(n + 1) * nh + 2.0 * nin_o * m);
    if (nh > 0) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, nh, m, 1.0, s->e, m, mdl->woh,
                    nh, 0.0, s->delta, nh);
        for (int p = 0; p < nb; p++) {
            const double *op = s->xa + (size_t)p * nu + n + 1;
            double *dp = s->delta + (size_t)p * nh;
            for (int k = 0; k < nh; k++) dp[k] *= op[k] * (1.0 - op[k]);
        }
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nh, n + 1, nb, 2.0 / nb, s->delta, nh,
                    s->xa, nu, 0.0, s->gh, n + 1);
        s->multiplies += (double)nb * nh * (m + 1.0 + (n + 1.0));
    }

    /* directions and the shared metric norm */
    s->t++;
    double hg = slnb_layer_direction(s, LO, s->go, xo, nu, nb);
    if (nh > 0) hg += slnb_layer_direction(s, LH, s->gh, s->xa, nu, nb);
    double nrm = o->normalize ? slnb_step_norm(hg, o->min_norm) : 1.0;
    if (!isfinite(hg) || !isfinite(nrm)) {
        memset(LO->h, 0, (size_t)m * nin_o * sizeof(double));
        if (LH) memset(LH->h, 0, (size_t)nh * (n + 1) * sizeof(double));
        return OIG_ENUMERIC;
    }
    s->last_norm = nrm;

    /* theta <- theta - eta (H/nrm + wd theta) */
    double a = o->eta / nrm, wd = o->weight_decay * o->eta;
    for (size_t i = 0; i < (size_t)m * nin_o; i++) s->wo[i] -= a * LO->h[i] + wd * s->wo[i];
    if (nh > 0)
        for (size_t i = 0; i < (size_t)nh * (n + 1); i++)
            mdl->w[i] -= a * LH->h[i] + wd * mdl->w[i];
    for (int i = 0; i < m; i++) {
        const double *wr = s->wo + (size_t)i * nin_o;
        if (s->bypass) {
            memcpy(mdl->woi + (size_t)i * (n + 1), wr, (size_t)(n + 1) * sizeof(double));
            memcpy(mdl->woh + (size_t)i * nh, wr + n + 1, (size_t)nh * sizeof(double));
        } else {
            mdl->woi[(size_t)i * (n + 1) + n] = wr[0];
            memcpy(mdl->woh + (size_t)i * nh, wr + 1, (size_t)nh * sizeof(double));
        }
    }
    return OIG_OK;
}

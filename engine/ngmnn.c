/* ngmnn.c -- Non-Gradient Manifold Neural Network (spec related_methods.md C), one hidden layer:
 * forward ridge, backward targets through the inverse sigmoid, and the decision layer (slacks,
 * CAN sample weights, generalised-Stiefel W by S_alpha^-1/2 and a thin SVD). Full batch,
 * closed form; owns ngmnn_state. Classification only: the caller checks the task.
 */
#include "related.h"
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void ngmnn_opts_init(ngmnn_opts *o) {
    o->gamma = 0.3;
    o->k_ratio = 1.0;
    o->svm_iters = 5;
    o->svm_tol = 1e-2;
    o->clamp = 1e-4;
    o->alpha_form = NGMNN_ALPHA_TEXTBOOK;
}

void ngmnn_logit_clamped(double *p, size_t n, double c) {
    for (size_t i = 0; i < n; i++) {
        double v = p[i];
        if (!(v >= c)) v = c;              /* NaN goes to the clamp too */
        if (v > 1.0 - c) v = 1.0 - c;
        p[i] = log(v / (1.0 - v));
    }
}

size_t ngmnn_ridge_work(int nv, int d, int c) {
    return (size_t)nv * (size_t)(d + c) + (size_t)d * d + (size_t)d * c + (size_t)d + (size_t)c;
}

/* Ridge: X Nv x d, Z Nv x c -> W c x d, b c. */
oig_status ngmnn_ridge(const double *x, int nv, int d, const double *z, int c, double gamma,
                       double *w, double *b, double *work) {
    double *xc = work, *zc = xc + (size_t)nv * d, *g = zc + (size_t)nv * c;
    double *rhs = g + (size_t)d * d, *xbar = rhs + (size_t)d * c, *zbar = xbar + d;
    memset(xbar, 0, (size_t)(d + c) * sizeof(double));
    for (int p = 0; p < nv; p++) {
        for (int j = 0; j < d; j++) xbar[j] += x[(size_t)p * d + j];
        for (int j = 0; j < c; j++) zbar[j] += z[(size_t)p * c + j];
    }
    for (int j = 0; j < d; j++) xbar[j] /= nv;
    for (int j = 0; j < c; j++) zbar[j] /= nv;
    for (int p = 0; p < nv; p++) {
        for (int j = 0; j < d; j++) xc[(size_t)p * d + j] = x[(size_t)p * d + j] - xbar[j];
        for (int j = 0; j < c; j++) zc[(size_t)p * c + j] = z[(size_t)p * c + j] - zbar[j];
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, nv, 1.0, xc, d, 0.0, g, d);
    for (int j = 0; j < d; j++) g[(size_t)j * d + j] += gamma;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, c, nv, 1.0, xc, d, zc, c, 0.0, rhs, c);
    if (LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', d, c, g, d, rhs, c) != 0) return OIG_ENUMERIC;
    for (int i = 0; i < c; i++) {
        double s = zbar[i];
        for (int j = 0; j < d; j++) {
            w[(size_t)i * d + j] = rhs[(size_t)j * c + i];
            s -= w[(size_t)i * d + j] * xbar[j];
        }
        b[i] = s;
    }
    return OIG_OK;
}

void ngmnn_slack_targets(const double *y, const double *yhat, size_t nv, int m, double *t) {
    for (size_t i = 0; i < nv * (size_t)m; i++) {
        double xi = y[i] * yhat[i] - 1.0;
        t[i] = y[i] + y[i] * (xi > 0.0 ? xi : 0.0);
    }
}

/* Heap sort of idx[0..n-1] by f ascending (ties by index, so the order is deterministic). */
static int f_less(const double *f, int a, int b) {
    return f[a] < f[b] || (f[a] == f[b] && a < b);
}
static void sift(const double *f, int *idx, int root, int n) {
    for (;;) {
        int c = 2 * root + 1;
        if (c >= n) return;
        if (c + 1 < n && f_less(f, idx[c], idx[c + 1])) c++;
        if (!f_less(f, idx[root], idx[c])) return;
        int tmp = idx[root]; idx[root] = idx[c]; idx[c] = tmp;
        root = c;
    }
}
static void sort_by_f(const double *f, int *idx, int n) {
    for (int i = 0; i < n; i++) idx[i] = i;
    for (int i = n / 2 - 1; i >= 0; i--) sift(f, idx, i, n);
    for (int i = n - 1; i > 0; i--) {
        int tmp = idx[0]; idx[0] = idx[i]; idx[i] = tmp;
        sift(f, idx, 0, i);
    }
}

/* CAN closed form (Nie et al.). f Nv residuals, 1 <= k <= Nv-2. */
void ngmnn_alpha(const double *f, int nv, int k, ngmnn_alpha_form form, double *alpha,
                 double *lambda, int *idx) {
    sort_by_f(f, idx, nv);
    double sk = 0.0;
    for (int j = 0; j < k; j++) sk += f[idx[j]];
    double fk1 = f[idx[form == NGMNN_ALPHA_CODE ? k + 1 : k]];   /* code: f_(k+2), 1-based */
    double lam = 0.5 * k * fk1 - 0.5 * sk;
    if (lambda) *lambda = lam;
    if (!(lam > 0.0) || !isfinite(lam)) {          /* tied f: uniform on the k smallest */
        for (int p = 0; p < nv; p++) alpha[p] = 0.0;
        for (int j = 0; j < k; j++) alpha[idx[j]] = 1.0 / k;
        return;
    }
    double a0 = (sk + 2.0 * lam) / (2.0 * k * lam);
    for (int p = 0; p < nv; p++) {
        double a = a0 - f[p] / (2.0 * lam);
        alpha[p] = a > 0.0 ? a : 0.0;
    }
}

void ngmnn_salpha(const double *x, int nv, int d, const double *alpha, double gamma,
                  double *s, double *xbar, double *work) {
    double sa = 0.0;
    memset(xbar, 0, (size_t)d * sizeof(double));
    for (int p = 0; p < nv; p++) {
        sa += alpha[p];
        for (int j = 0; j < d; j++) xbar[j] += alpha[p] * x[(size_t)p * d + j];
    }
    for (int j = 0; j < d; j++) xbar[j] /= sa;
    for (int p = 0; p < nv; p++) {
        double r = sqrt(alpha[p]);
        for (int j = 0; j < d; j++) work[(size_t)p * d + j] = r * (x[(size_t)p * d + j] - xbar[j]);
    }
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, nv, 1.0, work, d, 0.0, s, d);
    for (int i = 0; i < d; i++) {
        s[(size_t)i * d + i] += gamma;
        for (int j = 0; j < i; j++) s[(size_t)i * d + j] = s[(size_t)j * d + i];
    }
}

size_t ngmnn_stiefel_work(int nv, int d, int m) {
    size_t D = (size_t)d, M = (size_t)m;
    return (size_t)nv * (D + M) + 3 * D * D + D + 4 * D * M + M * M + 3 * M + D;
}

/* Decision layer. X Nv x d, T Nv x M, alpha Nv -> W M x d, b M. */
oig_status ngmnn_stiefel(const double *x, int nv, int d, const double *t, int m,
                         const double *alpha, double gamma, double *w, double *b, double *work) {
    if (d < m) return OIG_EINVAL;
    double *xc = work, *tc = xc + (size_t)nv * d, *s = tc + (size_t)nv * m;
    double *sih = s + (size_t)d * d, *tmp = sih + (size_t)d * d, *ev = tmp + (size_t)d * d;
    double *c = ev + d, *psi = c + (size_t)d * m, *u = psi + (size_t)d * m, *q = u + (size_t)d * m;
    double *vt = q + (size_t)d * m, *sv = vt + (size_t)m * m, *tbar = sv + m, *superb = tbar + m;
    double *xbar = superb + m;
    ngmnn_salpha(x, nv, d, alpha, gamma, s, xbar, xc);     /* xc = sqrt(alpha)(x - xbar) */
    double sa = 0.0;
    memset(tbar, 0, (size_t)m * sizeof(double));
    for (int p = 0; p < nv; p++) {
        sa += alpha[p];
        for (int i = 0; i < m; i++) tbar[i] += alpha[p] * t[(size_t)p * m + i];
    }
    for (int i = 0; i < m; i++) tbar[i] /= sa;
    for (int p = 0; p < nv; p++) {
        double r = sqrt(alpha[p]);
        for (int i = 0; i < m; i++) tc[(size_t)p * m + i] = r * (t[(size_t)p * m + i] - tbar[i]);
    }
    /* C = Xc^T D_alpha Tc (d x M) */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, m, nv, 1.0, xc, d, tc, m, 0.0, c, m);
    /* S^-1/2 = Q diag(ev^-1/2) Q^T, eigenvalues clipped at 1e-12 * max */
    if (LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', d, s, d, ev) != 0) return OIG_ENUMERIC;
    double emax = ev[d - 1] > 0.0 ? ev[d - 1] : 1.0;
    for (int j = 0; j < d; j++) {
        double e = ev[j] > 1e-12 * emax ? ev[j] : 1e-12 * emax;
        double r = 1.0 / sqrt(sqrt(e));
        for (int i = 0; i < d; i++) tmp[(size_t)i * d + j] = s[(size_t)i * d + j] * r;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d, d, d, 1.0, tmp, d, tmp, d, 0.0, sih, d);
    /* Psi = S^-1/2 C; thin SVD Psi = U Sigma V^T; Q = U V^T */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, m, d, 1.0, sih, d, c, m, 0.0, psi, m);
    (void)superb;
    if (LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'S', d, m, psi, m, sv, u, m, vt, m) != 0)
        return OIG_ENUMERIC;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d, m, m, 1.0, u, m, vt, m, 0.0, q, m);
    /* W = Q^T S^-1/2 (M x d); b = tbar - W xbar */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, d, d, 1.0, q, m, sih, d, 0.0, w, d);
    for (int i = 0; i < m; i++)
        b[i] = tbar[i] - cblas_ddot(d, w + (size_t)i * d, 1, xbar, 1);
    return OIG_OK;
}

/* Z* (Nv x Nh) = logit(clamp(softmax over patterns of (Y - 1 b2^T) W2)). */
void ngmnn_hidden_targets(const double *y, int nv, int m, const double *w2, const double *b2,
                          int nh, double clamp, double *z) {
    for (int p = 0; p < nv; p++)
        for (int j = 0; j < nh; j++) {
            double s = 0.0;
            for (int i = 0; i < m; i++) s += (y[(size_t)p * m + i] - b2[i]) * w2[(size_t)i * nh + j];
            z[(size_t)p * nh + j] = s;
        }
    for (int j = 0; j < nh; j++) {
        double mx = -INFINITY, sum = 0.0;
        for (int p = 0; p < nv; p++) if (z[(size_t)p * nh + j] > mx) mx = z[(size_t)p * nh + j];
        for (int p = 0; p < nv; p++) {
            double e = exp(z[(size_t)p * nh + j] - mx);
            z[(size_t)p * nh + j] = e;
            sum += e;
        }
        for (int p = 0; p < nv; p++) z[(size_t)p * nh + j] /= sum;
    }
    ngmnn_logit_clamped(z, (size_t)nv * nh, clamp);
}

void ngmnn_destroy(ngmnn_state *s) {
    if (s == NULL) return;
    free(s->w1); free(s->b1); free(s->w2); free(s->b2); free(s->x2); free(s->yhat); free(s->t);
    free(s->f); free(s->alpha); free(s->z); free(s->idx); free(s->work);
    free(s);
}

ngmnn_state *ngmnn_create(int n, int nh, int m, int nv, const ngmnn_opts *o, oig_status *st) {
    oig_status dummy;
    if (st == NULL) st = &dummy;
    *st = OIG_EINVAL;
    if (n <= 0 || m <= 0 || nh < m || nv < 3 || o == NULL) return NULL;
    *st = OIG_ENOMEM;
    ngmnn_state *s = calloc(1, sizeof *s);
    if (s == NULL) return NULL;
    s->n = n; s->nh = nh; s->m = m; s->nv = nv; s->o = *o;
    size_t V = (size_t)nv;
    s->w1 = calloc((size_t)nh * n, sizeof(double));
    s->b1 = calloc((size_t)nh, sizeof(double));
    s->w2 = calloc((size_t)m * nh, sizeof(double));
    s->b2 = calloc((size_t)m, sizeof(double));
    s->x2 = calloc(V * nh, sizeof(double));
    s->yhat = calloc(V * m, sizeof(double));
    s->t = calloc(V * m, sizeof(double));
    s->f = calloc(V, sizeof(double));
    s->alpha = calloc(V, sizeof(double));
    s->z = calloc(V * nh, sizeof(double));
    s->idx = calloc(V, sizeof(int));
    size_t w1 = ngmnn_stiefel_work(nv, nh, m), w2 = ngmnn_ridge_work(nv, n, nh);
    s->nwork = w1 > w2 ? w1 : w2;
    s->work = calloc(s->nwork, sizeof(double));
    if (!s->w1 || !s->b1 || !s->w2 || !s->b2 || !s->x2 || !s->yhat || !s->t || !s->f ||
        !s->alpha || !s->z || !s->idx || !s->work) {
        ngmnn_destroy(s);
        return NULL;
    }
    *st = OIG_OK;
    return s;
}

/* Uniform in +-1/sqrt(d_out) for every weight and bias of a layer. */
void ngmnn_init(ngmnn_state *s, uint64_t seed) {
    oig_rng r;
    oig_rng_seed(&r, seed);
    double a1 = 1.0 / sqrt((double)s->nh), a2 = 1.0 / sqrt((double)s->m);
    for (size_t i = 0; i < (size_t)s->nh * s->n; i++) s->w1[i] = a1 * (2.0 * oig_rng_uniform(&r) - 1.0);
    for (int i = 0; i < s->nh; i++) s->b1[i] = a1 * (2.0 * oig_rng_uniform(&r) - 1.0);
    for (size_t i = 0; i < (size_t)s->m * s->nh; i++) s->w2[i] = a2 * (2.0 * oig_rng_uniform(&r) - 1.0);
    for (int i = 0; i < s->m; i++) s->b2[i] = a2 * (2.0 * oig_rng_uniform(&r) - 1.0);
}

/* x nrows x N -> x2 = rownorm(f(x W1^T + b1)) (nrows x Nh), scores = x2 W2^T + b2 (nrows x M). */
void ngmnn_forward(const ngmnn_state *s, const double *x, size_t nrows, double *x2,
                   double *scores) {
    int n = s->n, nh = s->nh, m = s->m;
    for (size_t p = 0; p < nrows; p++) memcpy(x2 + p * nh, s->b1, (size_t)nh * sizeof(double));
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nrows, nh, n, 1.0, x, n, s->w1, n,
                1.0, x2, nh);
    for (size_t p = 0; p < nrows; p++) {
        double *r = x2 + p * nh, nn = 0.0;
        oig_sigmoid_inplace(r, (size_t)nh);
        for (int j = 0; j < nh; j++) nn += r[j] * r[j];
        nn = sqrt(nn);
        if (nn > 0.0) for (int j = 0; j < nh; j++) r[j] /= nn;
    }
    for (size_t p = 0; p < nrows; p++) memcpy(scores + p * m, s->b2, (size_t)m * sizeof(double));
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nrows, m, nh, 1.0, x2, nh, s->w2, nh,
                1.0, scores, m);
}

/* Alternations of slacks, alpha and the Stiefel update on s->x2 (Nv x Nh), Y (Nv x M). The
 * objective sum_p alpha_p f_p + lambda ||alpha||^2 is taken after each alpha step; stop when it
 * moves by less than svm_tol. */
oig_status ngmnn_decision(ngmnn_state *s, const double *y) {
    int nv = s->nv, nh = s->nh, m = s->m;
    int k = (int)lround(s->o.k_ratio * nv) - 2;
    if (k < 1) k = 1;
    if (k > nv - 2) k = nv - 2;
    double prev = NAN;
    s->last_svm_iters = 0;
    for (int it = 0; it < s->o.svm_iters; it++) {
        for (int p = 0; p < nv; p++) memcpy(s->yhat + (size_t)p * m, s->b2, (size_t)m * sizeof(double));
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nv, m, nh, 1.0, s->x2, nh, s->w2, nh,
                    1.0, s->yhat, m);
        ngmnn_slack_targets(y, s->yhat, (size_t)nv, m, s->t);
        for (int p = 0; p < nv; p++) {
            double f = 0.0;
            for (int i = 0; i < m; i++) {
                double e = s->yhat[(size_t)p * m + i] - s->t[(size_t)p * m + i];
                f += e * e;
            }
            s->f[p] = f;
        }
        double lam;
        ngmnn_alpha(s->f, nv, k, s->o.alpha_form, s->alpha, &lam, s->idx);
        double obj = 0.0;
        for (int p = 0; p < nv; p++) obj += s->alpha[p] * s->f[p] + lam * s->alpha[p] * s->alpha[p];
        s->last_obj = obj;
        oig_status st = ngmnn_stiefel(s->x2, nv, nh, s->t, m, s->alpha, s->o.gamma, s->w2, s->b2,
                                      s->work);
        if (st != OIG_OK) return st;
        s->last_svm_iters = it + 1;
        s->multiplies += (double)nv * nh * (2.0 * m + nh) + (double)nh * nh * nh + 2.0 * nh * nh * m;
        if (it > 0 && fabs(obj - prev) < s->o.svm_tol) break;
        prev = obj;
    }
    return OIG_OK;
}

/* One epoch: forward, decision layer, then the hidden layer's ridge toward the targets back-
 * propagated through the updated W2, b2, on the same (not recomputed) activations. */
oig_status ngmnn_epoch(ngmnn_state *s, const double *x, const double *y) {
    ngmnn_forward(s, x, (size_t)s->nv, s->x2, s->yhat);
    s->multiplies += (double)s->nv * s->nh * (s->n + s->m);
    oig_status st = ngmnn_decision(s, y);
    if (st != OIG_OK) return st;
    ngmnn_hidden_targets(y, s->nv, s->m, s->w2, s->b2, s->nh, s->o.clamp, s->z);
    st = ngmnn_ridge(x, s->nv, s->n, s->z, s->nh, s->o.gamma, s->w1, s->b1, s->work);
    s->multiplies += (double)s->nv * s->n * (s->n + s->nh) + (double)s->n * s->n * s->n / 3.0 +
                     (double)s->nv * s->nh * s->m;
    return st;
}

/* lm.c -- the Levenberg-Marquardt comparator (spec section 7): Gauss-Newton over all weights
 * W, W_oi and W_oh with damping lambda, no OWO step.
 *
 * The Jacobian is never held whole: its rows for a chunk of patterns are formed and folded into
 * H = (2/Nv) J^T J (dsyrk) and g = (2/Nv) J^T e (dgemv), then (H + lambda D) delta = g is solved by
 * Cholesky (LAPACKE_dposv).
 */
#include "trainer.h"

#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Weight vector layout: W (Nh x (N+1)), then per output i its bypass weights (N+1, or only the
 * threshold without bypass), then W_oh (M x Nh). */
static int nwoi(const trainer *t) { return t->mdl->bypass ? t->n1 : 1; }
static size_t lm_nw(const trainer *t) {
    return (size_t)t->nh * t->n1 + (size_t)t->m * nwoi(t) + (size_t)t->m * t->nh;
}

static void pack(const trainer *t, double *v) {
    int n1 = t->n1, nu = t->nu, k = nwoi(t);
    size_t o = (size_t)t->nh * n1;
    memcpy(v, t->mdl->w, o * sizeof(double));
    for (int i = 0; i < t->m; i++, o += k)
        memcpy(v + o, t->wo + (size_t)i * nu + (t->mdl->bypass ? 0 : t->n), (size_t)k * sizeof(double));
    for (int i = 0; i < t->m; i++, o += t->nh)
        memcpy(v + o, t->wo + (size_t)i * nu + n1, (size_t)t->nh * sizeof(double));
}

static void unpack(trainer *t, const double *v) {
    int n1 = t->n1, nu = t->nu, k = nwoi(t);
    size_t o = (size_t)t->nh * n1;
    memcpy(t->mdl->w, v, o * sizeof(double));
    trn_w_changed(t);
    for (int i = 0; i < t->m; i++, o += k)
        memcpy(t->wo + (size_t)i * nu + (t->mdl->bypass ? 0 : t->n), v + o, (size_t)k * sizeof(double));
    for (int i = 0; i < t->m; i++, o += t->nh)
        memcpy(t->wo + (size_t)i * nu + n1, v + o, (size_t)t->nh * sizeof(double));
}

/* H (nw x nw, upper then mirrored) and g (nw) at the current weights; sse and wrong of the
 * current weights as a by-product. */
static int lm_normal_equations(trainer *t, double *h, double *g, double *jrows, size_t chunk,
                               double *sse, double *wrong) {
    int m = t->m, nh = t->nh, n1 = t->n1, nu = t->nu, k = nwoi(t);
    size_t nw = lm_nw(t);
    double acc[2] = {0.0, 0.0};
    memset(h, 0, nw * nw * sizeof(double));
    memset(g, 0, nw * sizeof(double));
    const oig_data *d = t->train;
    trn_sums sums = { { h, g, acc }, { nw * nw, nw, 2 }, 3 };
    /* canonical mode: chunks inside blocks of t->block rows; plain mode: one run of chunks */
    size_t step = t->cfg->canonical_sums ? t->block : d->nrows;
    for (size_t b0 = 0; b0 < d->nrows; b0 += step) {
        size_t bend = d->nrows - b0 < step ? d->nrows : b0 + step;
        for (size_t p0 = b0; p0 < bend; p0 += chunk) {
            size_t b = bend - p0 < chunk ? bend - p0 : chunk;
            trn_forward_block(t, d, p0, b);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, m, t->nb, 1.0, t->xa + t->off,
                        nu, t->wo + t->off, nu, 0.0, t->yb, m);
            const double *tt = d->t + p0 * (size_t)m;
            for (size_t p = 0; p < b; p++) {
                if (d->cls && oig_argmax(t->yb + p * m, m) != d->cls[p0 + p]) acc[1] += 1.0;
                for (int i = 0; i < m; i++) {
                    t->yb[p * m + i] = tt[p * m + i] - t->yb[p * m + i];
                    acc[0] += t->yb[p * m + i] * t->yb[p * m + i];
                }
            }
            memset(jrows, 0, b * (size_t)m * nw * sizeof(double));
            for (size_t p = 0; p < b; p++) {
                const double *x = t->xa + p * nu, *o = x + n1;
                for (int i = 0; i < m; i++) {
                    double *row = jrows + (p * m + i) * nw;
                    const double *woh = t->wo + (size_t)i * nu + n1;
                    for (int kk = 0; kk < nh; kk++) {
                        double s = woh[kk] * o[kk] * (1.0 - o[kk]);
                        double *r = row + (size_t)kk * n1;
                        for (int j = 0; j < n1; j++) r[j] = s * x[j];
                    }
                    size_t off = (size_t)nh * n1 + (size_t)i * k;
                    if (k == n1) memcpy(row + off, x, (size_t)n1 * sizeof(double));
                    else row[off] = 1.0;
                    memcpy(row + (size_t)nh * n1 + (size_t)m * k + (size_t)i * nh, o,
                           (size_t)nh * sizeof(double));
                }
            }
            cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)nw, (int)(b * m), 1.0, jrows,
                        (int)nw, 1.0, h, (int)nw);
            cblas_dgemv(CblasRowMajor, CblasTrans, (int)(b * m), (int)nw, 1.0, jrows, (int)nw, t->yb, 1,
                        1.0, g, 1);
        }
        if (trn_sums_block(t, &sums, d, b0)) return -1;
    }
    if (trn_sums_finish(t, &sums, d)) return -1;
    double s = 2.0 / t->nv;
    for (size_t r = 0; r < nw; r++) {
        g[r] *= s;
        for (size_t c = r; c < nw; c++) {
            h[r * nw + c] *= s;
            h[c * nw + r] = h[r * nw + c];
        }
    }
    *sse = acc[0];
    *wrong = acc[1];
    double nvd = t->nv, nwd = (double)nw;
    t->multiplies += nvd * (m * nh * (n1 + 1.0) + m * nwd * (nwd + 1) / 2);
    return 0;
}

oig_status lm_alloc(trainer *t) {
    size_t nw = lm_nw(t);
    size_t chunk = (2u << 20) / ((size_t)t->m * nw);
    if (chunk < 1) chunk = 1;
    if (chunk > t->block) chunk = t->block;
    t->lm_nw = nw;
    t->lm_chunk = chunk;
    t->lm_h = malloc(nw * nw * sizeof(double));
    t->lm_a = malloc(nw * nw * sizeof(double));
    t->lm_g = malloc(nw * sizeof(double));
    t->lm_delta = malloc(nw * sizeof(double));
    t->lm_w0 = malloc(nw * sizeof(double));
    t->lm_wt = malloc(nw * sizeof(double));
    t->lm_jrows = malloc(chunk * (size_t)t->m * nw * sizeof(double));
    if (!t->lm_h || !t->lm_a || !t->lm_g || !t->lm_delta || !t->lm_w0 || !t->lm_wt || !t->lm_jrows)
        return OIG_ENOMEM;
    return OIG_OK;
}

oig_status lm_iteration(trainer *t, double *e, double *wrong, double *lambda, oig_error *err) {
    size_t nw = t->lm_nw;
    double *h = t->lm_h, *a = t->lm_a, *g = t->lm_g, *delta = t->lm_delta;
    double *w0 = t->lm_w0, *wt = t->lm_wt;
    double sse, wr;
    if (lm_normal_equations(t, h, g, t->lm_jrows, t->lm_chunk, &sse, &wr)) goto fail;
    double e0 = sse / t->nv;
    *e = e0;
    *wrong = wr;
    pack(t, w0);
    double nwd = (double)nw;
    for (int tries = 0; tries <= t->cfg->lm_max_retries; tries++) {
        memcpy(a, h, nw * nw * sizeof(double));
        for (size_t i = 0; i < nw; i++) {
            double dmp = t->cfg->lm_damping == OIG_LM_DAMP_DIAG ? h[i * nw + i] : 1.0;
            a[i * nw + i] += *lambda * (dmp > 0 ? dmp : 1.0);
        }
        memcpy(delta, g, nw * sizeof(double));
        lapack_int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)nw, 1, a, (lapack_int)nw,
                                        delta, 1);
        t->multiplies += nwd * nwd * nwd / 3 + t->nv * ((double)t->nh * t->n1 + (double)t->m * t->nu);
        if (info == 0) {
            for (size_t i = 0; i < nw; i++) wt[i] = w0[i] + delta[i];
            unpack(t, wt);
            double sse_t, wr_t;
            if (trn_eval(t, t->train, 0, &sse_t, &wr_t)) goto fail;
            double et = sse_t / t->nv;
            if (isfinite(et) && et < e0) {
                *e = et;
                *wrong = wr_t;
                *lambda /= 10.0;
                if (*lambda < 1e-20) *lambda = 1e-20;
                trn_sync_model(t);
                return OIG_OK;
            }
        }
        t->mdl->summary.safeguards.lm_rejections++;
        *lambda *= 10.0;
        if (*lambda > 1e20) *lambda = 1e20;
    }
    /* no trial lowered E: keep the weights; the larger lambda carries to the next iteration */
    unpack(t, w0);
    trn_sync_model(t);
    return OIG_OK;
fail:
    if (err) snprintf(err->message, sizeof err->message, "Levenberg-Marquardt: reduction failed");
    return OIG_EINVAL;
}

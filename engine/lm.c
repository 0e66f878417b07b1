/* lm.c -- the Levenberg-Marquardt comparator (spec section 7): Gauss-Newton over all weights
 * W, W_oi and W_oh with damping lambda, no OWO step; optionally with Bayesian regularization.
 *
 * The Jacobian is never formed: H = (2/Nv) J^T J and g = (2/Nv) J^T e are assembled from sums
 * over the patterns that do not grow with M (lm_gauss_newton), then (H + lambda D) delta = g is
 * solved by Cholesky (dposv). The symmetric matrices are handed to LAPACK as column-major lower
 * triangles, which is the row-major upper triangle in the same memory: the row-major LAPACKE
 * wrappers would transpose nw x nw in and out and scan it for NaN on every solve, ~10% of an
 * iteration.
 * lambda moves tenfold as spec 7 says (/10 after a kept step, x10 and
 * re-solve after a rejected one) or, with lm_update=gain, by Nielsen's rule: after a kept step
 * lambda x max(1/3, 1 - (2r - 1)^3), r = the actual reduction over the quadratic model's; after
 * a rejected one lambda x nu, nu doubling from 2 over consecutive rejections. Tenfold steps
 * overshoot and undershoot in turn (one rejection per iteration once lambda is small); the gain
 * rule follows how well the model predicts.
 * With lm_acceleration=geodesic each step gets geodesic acceleration (lm_accelerate): a
 * second-order correction along the step from the outputs' second directional derivative.
 *
 * Bayesian regularization (MacKay 1992, in the Gauss-Newton form of Foresee and Hagan 1997 that
 * MATLAB's trainbr uses, with MacKay's one prior per layer) minimizes
 * F = beta E_D + sum_l alpha_l E_W,l with E_D = SSE/2 and E_W,l = w_l'C w_l/2 over layer l's
 * weights. Divided by beta Nv/2 this is E + sum_l rho_l w_l'C w_l with rho_l = alpha_l / (beta Nv),
 * so a step solves (H + 2 rho C + lambda D) delta = g - 2 rho C w (rho per weight, by its layer)
 * and is kept when it lowers E + sum_l rho_l w_l'C w_l. After each kept step the evidence
 * re-estimates the hyperparameters:
 *   gamma_l = k_l - 2 rho_l tr_l(C (H + 2 rho C)^-1)     (layer l's well-determined weights),
 *   alpha_l = gamma_l / w_l'C w_l,   beta = (Nv M - sum_l gamma_l - (nw - k)) / SSE,
 * where k_l counts layer l's penalized weights (k = k_0 + k_1). One prior per layer, not one for
 * all: the output weights that OWO's start leaves are large, and a single alpha sized by them
 * would leave the hidden weights nearly free. C is diagonal: 1 on the
 * hidden weights, 1/s_i^2 on the weights into output i (s_i = the training targets' standard
 * deviation, so that the prior sees outputs in standardized units, as trainbr sees targets
 * mapped to [-1, 1]), and 0 on every threshold: thresholds are not decayed (the output
 * threshold carries the targets' mean).
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

/* Index of (a, b), a <= b, in the upper triangle of an n x n matrix packed row by row. */
static size_t tri(size_t n, size_t a, size_t b) { return a * n - a * (a - 1) / 2 + (b - a); }

/* The elementwise loops that form a chunk's products, written for the vectorizer as passes.c's
 * are: in groups of 8 and a tail, with per-ISA clones. Scalar (SSE2), forming protein's pairs
 * took as long as a third of the product that sums them. */

/* out[p] = a[p] c[p] for p < len; in single precision to outf instead when outf is not NULL. */
static inline void lm_times(const double *restrict a, const double *restrict c, size_t len,
                            double *restrict out, float *restrict outf) {
    size_t p = 0;
    if (outf) {
        for (; p + 8 <= len; p += 8)
            for (int q = 0; q < 8; q++) outf[p + q] = (float)(a[p + q] * c[p + q]);
        for (; p < len; p++) outf[p] = (float)(a[p] * c[p]);
    } else {
        for (; p + 8 <= len; p += 8)
            for (int q = 0; q < 8; q++) out[p + q] = a[p + q] * c[p + q];
        for (; p < len; p++) out[p] = a[p] * c[p];
    }
}

/* Rows u_k (n rows of len values, row-major) to out: u_k u_j elementwise for k <= j, in tri()'s
 * order; in single precision to outf instead when outf is not NULL. */
OIG_VECTOR_CLONES
static void lm_pair_products(const double *u, size_t n, size_t len, double *out, float *outf) {
    size_t r = 0;
    for (size_t k = 0; k < n; k++)
        for (size_t j = k; j < n; j++, r += len)
            lm_times(u + k * len, u + j * len, len, outf ? NULL : out + r, outf ? outf + r : NULL);
}

/* Rows u_k (nu_rows rows) and v_c (nv_rows rows), len values each, to out: u_k v_c elementwise,
 * row k nv_rows + c; in single precision to outf instead when outf is not NULL. */
OIG_VECTOR_CLONES
static void lm_row_products(const double *u, size_t nu_rows, const double *v, size_t nv_rows, size_t len,
                            double *out, float *outf) {
    for (size_t k = 0; k < nu_rows; k++)
        for (size_t c = 0; c < nv_rows; c++) {
            size_t r = (k * nv_rows + c) * len;
            lm_times(u + k * len, v + c * len, len, outf ? NULL : out + r, outf ? outf + r : NULL);
        }
}

/* out[j] = (float)a[j], j < n */
OIG_VECTOR_CLONES
static void lm_to_single(const double *restrict a, size_t n, float *restrict out) {
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int q = 0; q < 8; q++) out[j + q] = (float)a[j + q];
    for (; j < n; j++) out[j] = (float)a[j];
}

/* s[j] += f[j], then f[j] = 0, j < n: single-precision sums join the double ones */
OIG_VECTOR_CLONES
static void lm_add_single(double *restrict s, float *restrict f, size_t n) {
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
        for (int q = 0; q < 8; q++) {
            s[j + q] += f[j + q];
            f[j + q] = 0.0f;
        }
    for (; j < n; j++) {
        s[j] += f[j];
        f[j] = 0.0f;
    }
}

/* Whether the hidden block of J^T J is summed as products of pairs (see lm_gauss_newton):
 * from N+1 = 10 inputs on. Below that the pairs of inputs are too few for the product to run
 * fast: yacht (N = 6) took 0.73-0.95 s for 200 iterations against 0.55-0.66 by rows. */
static int lm_pairs(const trainer *t) { return t->n1 >= 10; }

/* The doubles of the hidden block's sum over patterns: S (pairs) or G (rows). */
static size_t lm_hidden_sum_size(const trainer *t) {
    size_t nh = (size_t)t->nh, n1 = (size_t)t->n1;
    return lm_pairs(t) ? nh * (nh + 1) / 2 * (n1 * (n1 + 1) / 2) : nh * n1 * nh * n1;
}

/* The doubles of all the sums lm_gauss_newton gathers over patterns. */
static size_t lm_sums_size(const trainer *t) {
    size_t nh = (size_t)t->nh, n1 = (size_t)t->n1, nu = (size_t)t->nu;
    return lm_hidden_sum_size(t) + nh * n1 * nu + nu * nu + nh * n1 + (size_t)t->m * nu;
}

/* Whether J^T J's sums over the patterns are taken in single precision (lm_precision=mixed). */
static int lm_mixed(const trainer *t) { return t->cfg->lm_precision == OIG_LM_PREC_MIXED; }

/* Mixed precision: the floats of the sums taken in single precision, J^T J's: the hidden
 * block's, T and A, in lm_s's order (0 in double precision). */
static size_t lm_single_sums_size(const trainer *t) {
    size_t nu = (size_t)t->nu;
    return lm_mixed(t) ? lm_hidden_sum_size(t) + (size_t)t->nh * t->n1 * nu + nu * nu : 0;
}

/* The doubles per pattern of a chunk: f', x, and in double precision f' (x) x and with pairs
 * f'f'^T and x x^T packed. */
static size_t lm_chunk_row_size(const trainer *t) {
    size_t nh = (size_t)t->nh, n1 = (size_t)t->n1;
    if (lm_mixed(t)) return nh + n1;
    return nh + n1 + nh * n1 + (lm_pairs(t) ? nh * (nh + 1) / 2 + n1 * (n1 + 1) / 2 : 0);
}

/* Mixed precision: the floats per pattern of a chunk: f' (x) x, x_a, and with pairs f'f'^T and
 * x x^T packed (0 in double precision). */
static size_t lm_chunk_row_floats(const trainer *t) {
    size_t nh = (size_t)t->nh, n1 = (size_t)t->n1;
    if (!lm_mixed(t)) return 0;
    return nh * n1 + (size_t)t->nu + (lm_pairs(t) ? nh * (nh + 1) / 2 + n1 * (n1 + 1) / 2 : 0);
}

/* Mixed precision: the patterns summed in single precision before the sums join the double
 * ones. Fewer would cost more: adding the float sums to the double ones is a pass over 1.5 MB
 * of floats and 3 MB of doubles on protein's shape, 4.5% of an iteration when it came every 256
 * patterns. */
#define LM_SINGLE_ROWS 1024

/* The column of weight vector v (pack()'s layout) that output i's weight on column q of x_a is:
 * the bypass weights or the threshold, then the weights on the hidden units. */
static size_t lm_output_weight(const trainer *t, int i, int q) {
    size_t base = (size_t)t->nh * t->n1;
    int k = nwoi(t);
    if (q >= t->n1) return base + (size_t)t->m * k + (size_t)i * t->nh + (size_t)(q - t->n1);
    return base + (size_t)i * k + (k == 1 ? 0 : (size_t)q);
}

/* The Gauss-Newton system of the current weights (declared in trainer.h).
 *
 * J is never formed. Its row for pattern p and output i is, in pack()'s order,
 *   [ w_oh(i,k) f'_pk x_p (k = 1..Nh) | x~_p in output i's slot | o_p in output i's slot ],
 * x_p = (x, 1) the N+1 inputs, f' = o (1 - o), and x~_p = x_p with bypass weights, else the 1.
 * Summed over p and i, with C = W_oh^T W_oh (Nh x Nh), its products are
 *   hidden x hidden:   H[(k,m),(j,n)] = C_kj sum_p f'_pk x_pm f'_pj x_pn = C_kj G[(k,m),(j,n)]
 *   hidden x output i: H[(k,m), q]    = w_oh(i,k) sum_p f'_pk x_pm a_pq = w_oh(i,k) T[(k,m), q]
 *   output i x output i': H[q, q']    = [i = i'] sum_p a_pq a_pq'     = [i = i'] A[q, q']
 *   g hidden: sum_p x_pm f'_pk sum_i e_pi w_oh(i,k);   g output i: sum_p e_pi a_pq,
 * a_p the row of x_a (x_p, o_p). So the pass costs what J^T J costs for one output, whatever M
 * is, instead of M times it. G is the Gram matrix of the rows f'_p (x) x_p, Nh^2 (N+1)^2 / 2
 * multiplies per pattern. With pairs (lm_pairs) it is taken from
 *   S[(k,j),(m,n)] = sum_p (f'_pk f'_pj)(x_pm x_pn),
 * a product of the packed upper triangles of f'_p f'_p^T and x_p x_p^T, Nh(Nh+1)/2 x
 * (N+1)(N+2)/2: about half the multiplies. S is kept transposed, one row per pair of inputs:
 * with the short side as the product's rows, dgemm ran 1.4x faster on one thread and 2-3x on
 * two (protein's 55 x 5050 x 84 per chunk; no shape measured was slower). T is kept transposed
 * too, one row per column of x_a: protein's 110 x 1000 x 84 ran 1.1x faster on one thread and
 * 1.3x on two. The sums are gathered in t->lm_s, reduced as one buffer, and spread into H after
 * the pass.
 *
 * With lm_precision=mixed the products of a chunk behind S (or G), T and A are formed in single
 * precision and summed by sgemm/ssyrk into float sums, which join the double ones every
 * LM_SINGLE_ROWS patterns and at the end of each block (so canonical sums stay bit for bit the
 * same over any split into blocks). H then carries about 1e-7 relative error, which the damping
 * covers while lambda stays well above it; g and E are summed in double as before. */
int lm_gauss_newton(trainer *t, double *sse, double *wrong) {
    double *h = t->lm_h, *g = t->lm_g, *rows = t->lm_rows;
    size_t chunk = t->lm_chunk;
    int m = t->m, nh = t->nh, n1 = t->n1, nu = t->nu;
    size_t nw = lm_nw(t), ph = (size_t)nh * (nh + 1) / 2, px = (size_t)n1 * (n1 + 1) / 2;
    size_t nhx = (size_t)nh * n1, ls = lm_sums_size(t);
    int pairs = lm_pairs(t);
    double *S = t->lm_s, *T = S + lm_hidden_sum_size(t), *A = T + nhx * nu, *gh = A + (size_t)nu * nu,
           *go = gh + nhx;
    /* per chunk, one row per product and one column per pattern, so that each row is formed by
     * one vector loop and BLAS packs it without transposing; mixed precision: f' (x) x, the
     * pairs and x_a (row-major, as t->xa) in single precision, in t->lm_rows_f */
    int mixed = lm_mixed(t);
    double *fp = rows, *xt = fp + chunk * nh, *fx = mixed ? NULL : xt + chunk * n1;
    double *ff = pairs && !mixed ? fx + chunk * nhx : NULL, *xx = ff ? ff + chunk * ph : NULL;
    float *fxf = mixed ? t->lm_rows_f : NULL, *xaf = mixed ? fxf + chunk * nhx : NULL;
    float *fff = mixed && pairs ? xaf + chunk * nu : NULL, *xxf = fff ? fff + chunk * ph : NULL;
    /* the single-precision sums: the hidden block's, T's and A's, as in lm_s */
    float *Sf = t->lm_s_f, *Tf = mixed ? Sf + lm_hidden_sum_size(t) : NULL, *Af = mixed ? Tf + nhx * nu : NULL;
    size_t nsf = lm_single_sums_size(t), single_rows = 0;
    if (mixed) memset(Sf, 0, nsf * sizeof(float));
    double acc[2] = {0.0, 0.0};
    memset(S, 0, ls * sizeof(double));
    const oig_data *d = t->train;
    trn_sums sums = { { S, acc }, { ls, 2 }, 2 };
    t->forward_rows = 0;
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
            for (size_t p = 0; p < b; p++) {
                const double *x = t->xa + p * nu, *o = x + n1;
                for (int k = 0; k < nh; k++) fp[(size_t)k * b + p] = o[k] * (1.0 - o[k]);
                for (int c = 0; c < n1; c++) xt[(size_t)c * b + p] = x[c];
            }
            if (pairs) {
                lm_pair_products(fp, (size_t)nh, b, ff, fff);
                lm_pair_products(xt, (size_t)n1, b, xx, xxf);
            }
            lm_row_products(fp, (size_t)nh, xt, (size_t)n1, b, fx, fxf);
            if (mixed) lm_to_single(t->xa, b * (size_t)nu, xaf);
            /* f' becomes delta_pk = f'_pk sum_i e_pi w_oh(i,k) */
            for (int k = 0; k < nh; k++) {
                double *u = fp + (size_t)k * b;
                for (size_t p = 0; p < b; p++) {
                    double s = 0.0;
                    for (int i = 0; i < m; i++) s += t->yb[p * m + i] * t->wo[(size_t)i * nu + n1 + k];
                    u[p] *= s;
                }
            }
            if (mixed) {
                if (pairs)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)px, (int)ph, (int)b, 1.0f, xxf,
                                (int)b, fff, (int)b, 1.0f, Sf, (int)ph);
                else
                    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)nhx, (int)b, 1.0f, fxf, (int)b,
                                1.0f, Sf, (int)nhx);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, nu, (int)nhx, (int)b, 1.0f, xaf, nu, fxf,
                            (int)b, 1.0f, Tf, (int)nhx);
                cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, nu, (int)b, 1.0f, xaf, nu, 1.0f, Af, nu);
                single_rows += b;
                if (single_rows >= LM_SINGLE_ROWS || p0 + b == bend) {
                    lm_add_single(S, Sf, nsf);
                    single_rows = 0;
                }
            } else {
                if (pairs)
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)px, (int)ph, (int)b, 1.0, xx,
                                (int)b, ff, (int)b, 1.0, S, (int)ph);
                else
                    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)nhx, (int)b, 1.0, fx, (int)b, 1.0,
                                S, (int)nhx);
                cblas_dgemm(CblasRowMajor, CblasTrans, CblasTrans, nu, (int)nhx, (int)b, 1.0, t->xa, nu, fx,
                            (int)b, 1.0, T, (int)nhx);
                cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, nu, (int)b, 1.0, t->xa, nu, 1.0, A, nu);
            }
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nh, n1, (int)b, 1.0, fp, (int)b, t->xa, nu,
                        1.0, gh, n1);
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, nu, (int)b, 1.0, t->yb, m, t->xa, nu,
                        1.0, go, nu);
        }
        if (trn_sums_block(t, &sums, d, b0)) return -1;
    }
    if (trn_sums_finish(t, &sums, d)) return -1;

    /* spread the sums into H's upper triangle and g (pack()'s order) */
    memset(h, 0, nw * nw * sizeof(double));
    const double *wo = t->wo;
    for (int k = 0; k < nh; k++)
        for (int j = k; j < nh; j++) {
            double ckj = 0.0;
            for (int i = 0; i < m; i++) ckj += wo[(size_t)i * nu + n1 + k] * wo[(size_t)i * nu + n1 + j];
            for (int a = 0; a < n1; a++) {
                size_t r = (size_t)k * n1 + a;
                double *hr = h + r * nw + (size_t)j * n1;
                if (pairs) {
                    const double *scol = S + tri((size_t)nh, (size_t)k, (size_t)j);
                    for (int c = j == k ? a : 0; c < n1; c++)
                        hr[c] = ckj * scol[(a <= c ? tri((size_t)n1, (size_t)a, (size_t)c)
                                                   : tri((size_t)n1, (size_t)c, (size_t)a)) * ph];
                } else {
                    const double *grow = S + r * nhx + (size_t)j * n1;
                    for (int c = j == k ? a : 0; c < n1; c++) hr[c] = ckj * grow[c];
                }
            }
        }
    int first = t->off;          /* x_a's first column with an output weight: 0, or N (the 1) */
    for (size_t r = 0; r < nhx; r++) {
        const double *tcol = T + r;
        size_t k = r / (size_t)n1;
        g[r] = gh[r];
        for (int i = 0; i < m; i++) {
            double w = wo[(size_t)i * nu + n1 + k];
            for (int q = first; q < nu; q++) h[r * nw + lm_output_weight(t, i, q)] = w * tcol[(size_t)q * nhx];
        }
    }
    for (int i = 0; i < m; i++)
        for (int q = first; q < nu; q++) {
            size_t wq = lm_output_weight(t, i, q);
            g[wq] = go[(size_t)i * nu + q];
            for (int c = q; c < nu; c++) h[wq * nw + lm_output_weight(t, i, c)] = A[(size_t)q * nu + c];
        }
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
    double hidden = pairs ? (double)ph + px + (double)ph * px : (double)nhx * (nhx + 1) / 2;
    double nwd = (double)nw, per_row = (double)m * t->nb + nh + nhx + (double)m * nh + hidden +
                 (double)nhx * nu + (double)nu * (nu + 1) / 2 + nhx + (double)m * nu;
    t->multiplies += t->nv * per_row + trn_forward_multiplies(t) + (double)m * ph + nwd * (nwd + 1) / 2;
    return 0;
}

/* lm_geo's layout: per call W + h dW (Nh x (N+1)); dW_o, W_o + h dW_o, the sums of J^T y'' over
 * the output weights (M x Nu each); the hidden ones (Nh x (N+1)); per block the rows
 * [x, 1, o(W + h dW)] (block x Nu), the hidden units' net changes (block x Nh), and y, J v and
 * y(w + h v) (block x M each); then the acceleration (nw, lm_geo_tail). */
static size_t lm_geo_size(const trainer *t) {
    size_t nhx = (size_t)t->nh * t->n1, mnu = (size_t)t->m * t->nu;
    return 2 * nhx + 3 * mnu + t->block * ((size_t)t->nu + t->nh + 3 * (size_t)t->m) + t->lm_nw;
}

/* lm_geo's last nw doubles: the acceleration */
static double *lm_geo_tail(const trainer *t) { return t->lm_geo + lm_geo_size(t) - t->lm_nw; }

/* Out of v (pack()'s order) into the M x Nu layout of t->wo: W_o's entries, 0 where a column has
 * no weight (x's columns without bypass). */
static void lm_output_part(const trainer *t, const double *v, double *wo) {
    memset(wo, 0, (size_t)t->m * t->nu * sizeof(double));
    for (int i = 0; i < t->m; i++)
        for (int q = t->off; q < t->nu; q++) wo[(size_t)i * t->nu + q] = v[lm_output_weight(t, i, q)];
}

/* Declared in trainer.h. Per row, with a = (x, 1, o) and f' = o (1 - o):
 *   y = W_o a,   J v = dW_o a + W_oh (f' o (dW x)),   y(w + h v) from a forward pass at w + h v,
 * and J^T y'' is the gradient pass with y'' in place of the error. One pass over the rows, three
 * forward passes' multiplies. */
int lm_geodesic_rhs(trainer *t, const double *v, double h, double *out) {
    int m = t->m, nh = t->nh, n1 = t->n1, nu = t->nu, off = t->off, nb = t->nb;
    size_t nhx = (size_t)nh * n1, mnu = (size_t)m * nu;
    double *wp = t->lm_geo, *dwo = wp + nhx, *wop = dwo + mnu, *go = wop + mnu, *gh = go + mnu;
    double *xh = gh + nhx, *dn = xh + t->block * nu, *y0 = dn + t->block * nh, *jv = y0 + t->block * m,
           *yh = jv + t->block * m;
    const double *dw = v;        /* pack() starts with W, row-major */
    for (size_t j = 0; j < nhx; j++) wp[j] = t->mdl->w[j] + h * dw[j];
    lm_output_part(t, v, dwo);
    for (size_t j = 0; j < mnu; j++) wop[j] = t->wo[j] + h * dwo[j];
    memset(go, 0, (mnu + nhx) * sizeof(double));
    const oig_data *d = t->train;
    trn_sums sums = { { go }, { mnu + nhx }, 1 };
    t->forward_rows = 0;
    for (size_t p0 = 0; p0 < d->nrows; p0 += t->block) {
        int b = (int)(d->nrows - p0 < t->block ? d->nrows - p0 : t->block);
        trn_forward_block(t, d, p0, (size_t)b);
        const double *xa = t->xa;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, m, nb, 1.0, xa + off, nu, t->wo + off, nu,
                    0.0, y0, m);
        /* J v: dW_o a, then + W_oh (f' o dW x) */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, m, nb, 1.0, xa + off, nu, dwo + off, nu,
                    0.0, jv, m);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, nh, n1, 1.0, xa, nu, dw, n1, 0.0, dn, nh);
        trn_times_slope(dn, xa + n1, (size_t)b, nh, (size_t)nu);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, m, nh, 1.0, dn, nh, t->wo + n1, nu, 1.0,
                    jv, m);
        /* y(w + h v) */
        for (int p = 0; p < b; p++) memcpy(xh + (size_t)p * nu, xa + (size_t)p * nu, (size_t)n1 * sizeof(double));
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, nh, n1, 1.0, xh, nu, wp, n1, 0.0, xh + n1, nu);
        for (int p = 0; p < b; p++) oig_sigmoid_inplace(xh + (size_t)p * nu + n1, (size_t)nh);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, m, nb, 1.0, xh + off, nu, wop + off, nu,
                    0.0, yh, m);
        /* y'' into yh */
        for (size_t j = 0; j < (size_t)b * m; j++) yh[j] = 2.0 / h * ((yh[j] - y0[j]) / h - jv[j]);
        /* J^T y'': output weights (y''^T a), hidden weights ((f' o y'' W_oh)^T x~) */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, nu, b, 1.0, yh, m, xa, nu, 1.0, go, nu);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, nh, m, 1.0, yh, m, t->wo + n1, nu, 0.0,
                    dn, nh);
        trn_times_slope(dn, xa + n1, (size_t)b, nh, (size_t)nu);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nh, n1, b, 1.0, dn, nh, xa, nu, 1.0, gh, n1);
        if (trn_sums_block(t, &sums, d, p0)) return -1;
    }
    if (trn_sums_finish(t, &sums, d)) return -1;
    double s = 2.0 / t->nv;
    for (size_t j = 0; j < nhx; j++) out[j] = s * gh[j];
    for (int i = 0; i < m; i++)
        for (int q = off; q < nu; q++) out[lm_output_weight(t, i, q)] = s * go[(size_t)i * nu + q];
    t->multiplies += trn_forward_multiplies(t) +
                     t->nv * (3.0 * m * nb + 3.0 * nhx + 2.0 * nh + 2.0 * m * nh + (double)m * nu);
    return 0;
}

/* The penalty's diagonal C (nw, in the weight layout of pack()) from the training targets'
 * scales: one pass for sum t and sum t^2 per output, into the 2M doubles after C. 0, or -1 when
 * a reduction failed. */
static int lm_penalty_diagonal(trainer *t, double *c) {
    int m = t->m, n = t->n, n1 = t->n1, nh = t->nh, k = nwoi(t);
    double *acc = c + t->lm_nw;
    memset(acc, 0, 2 * (size_t)m * sizeof(double));
    const oig_data *d = t->train;
    trn_sums sums = { { acc }, { 2 * (size_t)m }, 1 };
    for (size_t p0 = 0; p0 < d->nrows; p0 += t->block) {
        size_t b = d->nrows - p0 < t->block ? d->nrows - p0 : t->block;
        const double *tt = d->t + p0 * (size_t)m;
        for (size_t p = 0; p < b; p++)
            for (int i = 0; i < m; i++) {
                acc[i] += tt[p * m + i];
                acc[m + i] += tt[p * m + i] * tt[p * m + i];
            }
        if (trn_sums_block(t, &sums, d, p0)) return -1;
    }
    if (trn_sums_finish(t, &sums, d)) return -1;
    double *inv_var = acc;       /* acc[i] becomes 1/s_i^2 */
    for (int i = 0; i < m; i++) {
        double mean = acc[i] / t->nv, var = acc[m + i] / t->nv - mean * mean;
        inv_var[i] = var > 1e-12 * (1.0 + mean * mean) ? 1.0 / var : 1.0;   /* constant: 1 */
    }
    size_t o = 0;
    for (int r = 0; r < nh; r++)
        for (int j = 0; j < n1; j++) c[o++] = j == n ? 0.0 : 1.0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < k; j++) c[o++] = (k == n1 && j < n) ? inv_var[i] : 0.0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < nh; j++) c[o++] = inv_var[i];
    return 0;
}

oig_status lm_alloc(trainer *t) {
    size_t nw = lm_nw(t);
    size_t per_row = lm_chunk_row_size(t), per_row_f = lm_chunk_row_floats(t);
    /* a chunk's products take at most 4 MiB */
    size_t chunk = ((size_t)4 << 20) / (per_row * sizeof(double) + per_row_f * sizeof(float));
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
    t->lm_rows = malloc(chunk * per_row * sizeof(double));
    t->lm_s = malloc(lm_sums_size(t) * sizeof(double));
    if (lm_mixed(t)) {
        t->lm_rows_f = malloc(chunk * per_row_f * sizeof(float));
        t->lm_s_f = malloc(lm_single_sums_size(t) * sizeof(float));
        if (!t->lm_rows_f || !t->lm_s_f) return OIG_ENOMEM;
    }
    if (t->cfg->lm_acceleration == OIG_LM_ACCEL_GEODESIC) {
        t->lm_geo = malloc(lm_geo_size(t) * sizeof(double));
        if (!t->lm_geo) return OIG_ENOMEM;
    }
    if (t->cfg->lm_regularization == OIG_LM_REG_BAYESIAN) {
        t->lm_c = malloc((nw + 2 * (size_t)t->m) * sizeof(double));
        t->lm_r = malloc(nw * sizeof(double));
        if (!t->lm_c || !t->lm_r) return OIG_ENOMEM;
    }
    if (!t->lm_h || !t->lm_a || !t->lm_g || !t->lm_delta || !t->lm_w0 || !t->lm_wt || !t->lm_rows || !t->lm_s)
        return OIG_ENOMEM;
    return OIG_OK;
}

/* The decay of each weight, r_j = rho_l c_j: one rho per layer (MacKay's groups), weights
 * [0, Nh(N+1)) feeding the hidden units and the rest the outputs. r holds nw doubles. */
static void lm_weight_decays(const trainer *t, const double rho[2], double *r) {
    size_t nhid = (size_t)t->nh * t->n1;
    for (size_t j = 0; j < t->lm_nw; j++) r[j] = rho[j >= nhid] * t->lm_c[j];
}

/* sum_j r_j w_j^2 */
static double lm_penalty(const double *r, const double *w, size_t nw) {
    double s = 0.0;
    for (size_t j = 0; j < nw; j++) s += r[j] * w[j] * w[j];
    return s;
}

double lm_evidence(size_t nw, size_t nhid, const double *h, const double *c, const double *w,
                   double sse, double nres, double nv, double rho[2], double *a) {
    double k[2] = {0.0, 0.0}, wcw[2] = {0.0, 0.0}, gamma[2], mults = 0.0;
    for (size_t j = 0; j < nw; j++) {
        k[j >= nhid] += c[j] > 0;
        wcw[j >= nhid] += c[j] * w[j] * w[j];
    }
    if (!(sse > 0)) return mults;
    gamma[0] = k[0];             /* rho = 0: every penalized weight is determined by the data */
    gamma[1] = k[1];
    if (rho[0] > 0 || rho[1] > 0) {
        /* tr(C M^-1) per layer, M = H + 2 rho C = U'U: (M^-1)_jj = |row j of U^-1|^2. U (row-major
         * upper) is L' (column-major lower, the same memory), and L^-1 is (U^-1)'. */
        double tr[2] = {0.0, 0.0};
        memcpy(a, h, nw * nw * sizeof(double));
        for (size_t j = 0; j < nw; j++) a[j * nw + j] += 2.0 * rho[j >= nhid] * c[j];
        lapack_int n = (lapack_int)nw;
        double nwd = (double)nw;
        mults = 2.0 * nwd * nwd * nwd / 3;
        if (LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'L', n, a, n) != 0 ||
            LAPACKE_dtrtri_work(LAPACK_COL_MAJOR, 'L', 'N', n, a, n) != 0)
            return mults;
        for (size_t j = 0; j < nw; j++) {
            if (c[j] == 0) continue;
            double s = 0.0;
            for (size_t l = j; l < nw; l++) s += a[j * nw + l] * a[j * nw + l];
            tr[j >= nhid] += c[j] * s;
        }
        for (int g = 0; g < 2; g++) {
            gamma[g] = k[g] - 2.0 * rho[g] * tr[g];
            if (gamma[g] < 0) gamma[g] = 0;
        }
    }
    double dof = nres - gamma[0] - gamma[1] - ((double)nw - k[0] - k[1]);
    if (dof < 1.0) dof = 1.0;    /* more determined weights than residuals: the noise floor */
    double beta = dof / sse;
    for (int g = 0; g < 2; g++)
        if (k[g] > 0 && wcw[g] > 0) rho[g] = gamma[g] / wcw[g] / (beta * nv);
    return mults;
}

/* D_ii of the damping term lambda D: 1, or H_ii (diag damping; 1 where H_ii is not positive). */
static double lm_damping_weight(const trainer *t, size_t i) {
    if (t->cfg->lm_damping != OIG_LM_DAMP_DIAG) return 1.0;
    double hii = t->lm_h[i * t->lm_nw + i];
    return hii > 0 ? hii : 1.0;
}

/* The reduction of E + sum_j r_j w_j^2 that the quadratic model predicts for the step delta
 * solved from (H + 2 diag(r) + lambda D) delta = rhs, rhs = g - 2 r o w0 (r NULL: no decay):
 * rhs'delta - delta'(H + 2 diag(r))delta/2 = delta'(rhs + lambda D delta)/2. */
static double lm_predicted_reduction(const trainer *t, const double *r, const double *w0,
                                     const double *delta, double lambda) {
    const double *g = t->lm_g;
    double s = 0.0;
    for (size_t i = 0; i < t->lm_nw; i++) {
        double rhs = g[i] - (r ? 2.0 * r[i] * w0[i] : 0.0);
        s += delta[i] * (rhs + lambda * lm_damping_weight(t, i) * delta[i]);
    }
    return 0.5 * s;
}

/* Geodesic acceleration (Transtrum and Sethna 2012): the outputs' second directional
 * derivative along the step v is taken by a forward difference of step LM_GEODESIC_H (relative
 * to v), the acceleration a = -(H + lambda D)^-1 (2/Nv) J^T y'' reuses the step's Cholesky
 * factor, and the step becomes v + a/2 when |a| <= LM_GEODESIC_ALPHA |v| / 2. A larger
 * acceleration says that the quadratic model does not hold that far: the step is rejected untried
 * and lambda raised, as after a failed trial. */
#define LM_GEODESIC_H 0.1
#define LM_GEODESIC_ALPHA 0.75

/* Adds the acceleration to the step v (t->lm_delta) solved with the factor in t->lm_a; the
 * model must hold the weights the step starts from. 1 when it was added, 0 when not, -1 when
 * a reduction failed. */
static int lm_accelerate(trainer *t) {
    size_t nw = t->lm_nw;
    double *v = t->lm_delta, *acc = lm_geo_tail(t), nwd = (double)nw;
    if (lm_geodesic_rhs(t, v, LM_GEODESIC_H, acc)) return -1;
    lapack_int info = LAPACKE_dpotrs_work(LAPACK_COL_MAJOR, 'L', (lapack_int)nw, 1, t->lm_a, (lapack_int)nw,
                                          acc, (lapack_int)nw);
    t->multiplies += nwd * nwd;
    if (info != 0) return 0;
    double aa = 0.0, vv = 0.0;
    for (size_t i = 0; i < nw; i++) {
        aa += acc[i] * acc[i];
        vv += v[i] * v[i];
    }
    if (!(2.0 * sqrt(aa) <= LM_GEODESIC_ALPHA * sqrt(vv))) return 0;
    for (size_t i = 0; i < nw; i++) v[i] -= 0.5 * acc[i];
    return 1;
}

oig_status lm_iteration(trainer *t, double *e, double *wrong, double *lambda, double decay[2],
                        oig_error *err) {
    size_t nw = t->lm_nw;
    double *h = t->lm_h, *a = t->lm_a, *g = t->lm_g, *delta = t->lm_delta;
    double *w0 = t->lm_w0, *wt = t->lm_wt;
    const double *c = t->lm_c;   /* NULL: no regularization */
    double sse, wr;
    if (c && !t->lm_c_ready) {
        if (lm_penalty_diagonal(t, t->lm_c)) goto fail;
        t->lm_c_ready = 1;
    }
    if (lm_gauss_newton(t, &sse, &wr)) goto fail;
    double e0 = sse / t->nv;
    *e = e0;
    *wrong = wr;
    pack(t, w0);
    /* r: each weight's decay this iteration; NULL before the evidence has set any */
    double *r = c && (decay[0] > 0 || decay[1] > 0) ? t->lm_r : NULL;
    if (r) lm_weight_decays(t, decay, r);
    double f0 = e0 + (r ? lm_penalty(r, w0, nw) : 0.0);
    double nwd = (double)nw;
    int gain_update = t->cfg->lm_update == OIG_LM_UPDATE_GAIN;
    int geodesic = t->cfg->lm_acceleration == OIG_LM_ACCEL_GEODESIC;
    int at_w0 = 1;               /* the model holds w0 (not a rejected trial's weights) */
    double nu = 2.0;             /* gain update: the growth of lambda over consecutive failures */
    for (int tries = 0; tries <= t->cfg->lm_max_retries; tries++) {
        memcpy(a, h, nw * nw * sizeof(double));
        memcpy(delta, g, nw * sizeof(double));
        for (size_t i = 0; i < nw; i++) {
            a[i * nw + i] += *lambda * lm_damping_weight(t, i);
            if (r) {
                a[i * nw + i] += 2.0 * r[i];
                delta[i] -= 2.0 * r[i] * w0[i];
            }
        }
        lapack_int info = LAPACKE_dposv_work(LAPACK_COL_MAJOR, 'L', (lapack_int)nw, 1, a,
                                             (lapack_int)nw, delta, (lapack_int)nw);
        t->multiplies += nwd * nwd * nwd / 3;
        if (info == 0) {
            /* the gain rule compares with the Gauss-Newton step's predicted reduction, also when
             * the step is accelerated */
            double pred = gain_update ? lm_predicted_reduction(t, r, w0, delta, *lambda) : 0.0;
            if (geodesic) {
                if (!at_w0) unpack(t, w0);
                int accelerated = lm_accelerate(t);
                if (accelerated < 0) goto fail;
                if (!accelerated) goto rejected;
            }
            for (size_t i = 0; i < nw; i++) wt[i] = w0[i] + delta[i];
            unpack(t, wt);
            at_w0 = 0;
            t->multiplies += t->nv * ((double)t->nh * t->n1 + (double)t->m * t->nu);
            double sse_t, wr_t;
            if (trn_eval(t, t->train, 0, &sse_t, &wr_t)) goto fail;
            double et = sse_t / t->nv;
            double ft = et + (r ? lm_penalty(r, wt, nw) : 0.0);
            if (isfinite(ft) && ft < f0) {
                *e = et;
                *wrong = wr_t;
                if (pred > 0) {
                    /* Nielsen: lambda x max(1/3, 1 - (2 r - 1)^3), r = actual / predicted */
                    double q = 2.0 * (f0 - ft) / pred - 1.0, f = 1.0 - q * q * q;
                    *lambda *= f > 1.0 / 3.0 ? f : 1.0 / 3.0;
                } else {
                    *lambda /= 10.0;
                }
                if (*lambda < 1e-20) *lambda = 1e-20;
                if (c)
                    t->multiplies += lm_evidence(nw, (size_t)t->nh * t->n1, h, c, wt, sse_t,
                                                 t->nv * t->m, t->nv, decay, a);
                trn_sync_model(t);
                return OIG_OK;
            }
        }
    rejected:
        t->mdl->summary.safeguards.lm_rejections++;
        if (gain_update) {
            *lambda *= nu;
            nu *= 2.0;
        } else {
            *lambda *= 10.0;
        }
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

/* passes.c -- the sums over patterns of one training run: forward pass, errors and gradient,
 * OWO's autocorrelation and cross-correlation, the OLF second derivative, the OIG Hessian and
 * the input autocorrelation (spec sections 3, 4, 5, 6.2).
 *
 * Each pass walks the rows in blocks, forms the block's basis x_a = [x, 1, o] once (the
 * evaluation and the OIG Hessian read x and o in place when the hidden-output cache holds the
 * block), and accumulates with dgemm (dsyrk only in the one-time input autocorrelation). Sums are
 * reduced over processes before they are scaled by 1/Nv; in canonical mode each block's sums are
 * filed as a leaf of the block tree (blocksum.c).
 */
#include "trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int trn_reduce(trainer *t, double *buf, size_t n) {
    if (t->cfg->reduce == NULL) return 0;
    return t->cfg->reduce(buf, n, t->cfg->reduce_ctx);
}

/* The hidden outputs of rows [p0, p0+b) of d (b x Nh, leading dimension Nh) when the cache
 * holds them at the current W, else NULL. */
static const double *cached_hidden(const trainer *t, const oig_data *d, size_t p0, size_t b) {
    if (t->ocache == NULL || d != t->train || t->ocache_version != t->w_version) return NULL;
    return p0 + b <= t->ocache_rows ? t->ocache + p0 * t->nh : NULL;
}

void trn_forward_block(trainer *t, const oig_data *d, size_t p0, size_t b) {
    int n = t->n, nu = t->nu, nh = t->nh, n1 = t->n1;
    double *xa = t->xa;
    const double *x = d->x + p0 * (size_t)n;
    for (size_t p = 0; p < b; p++) {
        memcpy(xa + p * nu, x + p * n, (size_t)n * sizeof(double));
        xa[p * nu + n] = 1.0;
    }
    if (nh == 0) return;
    const double *cached = cached_hidden(t, d, p0, b);
    if (cached != NULL) {
        for (size_t p = 0; p < b; p++)
            memcpy(xa + p * nu + n1, cached + p * nh, (size_t)nh * sizeof(double));
        return;
    }
    size_t cached_end = t->ocache != NULL && d == t->train ? t->ocache_rows : 0;
    int valid = t->ocache_version == t->w_version;
    /* net = x~ W^T, written straight into the o columns of x_a, then o = f(net) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, nh, n1, 1.0, xa, nu,
                t->mdl->w, n1, 0.0, xa + n1, nu);
    for (size_t p = 0; p < b; p++) oig_sigmoid_inplace(xa + p * nu + n1, (size_t)nh);
    if (d == t->train) t->forward_rows += b;
    if (!valid && p0 < cached_end) {
        size_t keep = cached_end - p0 < b ? cached_end - p0 : b;
        for (size_t p = 0; p < keep; p++)
            memcpy(t->ocache + (p0 + p) * nh, xa + p * nu + n1, (size_t)nh * sizeof(double));
        if (p0 + b >= cached_end) t->ocache_version = t->w_version;   /* passes run rows in order */
    }
}

double trn_forward_multiplies(const trainer *t) {
    size_t rows = t->train->nrows;
    return rows ? t->nv * t->nh * t->n1 * ((double)t->forward_rows / rows) : 0.0;
}

void trn_cache_enable(trainer *t) {
    size_t rows = t->train->nrows;
    size_t row_bytes = (size_t)t->nh * sizeof(double);
    double data_bytes = t->nv * (t->n + t->m) * sizeof(double);
    /* Up to 128 MiB of data the cache may take max(64 MiB, 0.4 x the data); above, 0.15 x the
     * data, so that a large run's peak memory stays within 1.5 x its data (bench/growth.sh: the
     * rest is the data, the validation rows and ~10 MB of fixed cost). The data is every
     * process's and thread's training rows; each takes the share of its rows. */
    double mib = 1048576.0;
    double budget = data_bytes <= 128 * mib ? (0.4 * data_bytes > 64 * mib ? 0.4 * data_bytes : 64 * mib)
                                            : 0.15 * data_bytes;
    if (t->nh == 0 || rows == 0 || !(t->nv > 0)) return;
    budget *= (double)rows / t->nv;
    size_t fit = (size_t)(budget / row_bytes);
    if (fit >= rows) fit = rows;
    else fit -= fit % t->block;   /* whole blocks: a block is read from the cache or computed */
    if (fit == 0) return;
    t->ocache = malloc(fit * row_bytes);
    if (t->ocache != NULL) t->ocache_rows = fit;
}

/* e = t - y for rows [p0, p0+b) of d into t->yb (b x M), y = x~ W_oi^T + o W_oh^T with x (ld
 * ldx) and o (ld ldo) wherever they live: the data and the hidden-output cache, or x_a. The
 * product is formed transposed, Y^T = W_oi x~^T + W_oh o^T (M x b, in t->ybt, starting from the
 * thresholds), which OpenBLAS runs about a third faster than Y = x_a W_o^T at M = 10. Without
 * bypass, W_oi holds only the thresholds. Both paths compute the same products, so a block's
 * errors do not depend on whether the cache held it. */
static void block_errors(trainer *t, const oig_data *d, size_t p0, size_t b, const double *x,
                         size_t ldx, const double *o, size_t ldo) {
    int m = t->m, n = t->n, nu = t->nu, nh = t->nh;
    double *yt = t->ybt;
    for (int i = 0; i < m; i++) {
        double th = t->wo[(size_t)i * nu + n];
        for (size_t p = 0; p < b; p++) yt[(size_t)i * b + p] = th;
    }
    if (t->off == 0 && n > 0)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, (int)b, n, 1.0, t->wo, nu, x,
                    (int)ldx, 1.0, yt, (int)b);
    if (nh > 0)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, (int)b, nh, 1.0, t->wo + n + 1, nu,
                    o, (int)ldo, 1.0, yt, (int)b);
    const double *tt = d->t + p0 * (size_t)m;
    for (size_t p = 0; p < b; p++)
        for (int i = 0; i < m; i++) t->yb[p * m + i] = tt[p * m + i] - yt[(size_t)i * b + p];
}

/* trn_times_slope's loop, cloned per ISA (a function declared in a header and used before its
 * definition cannot be made multiversioned: clang refuses it). */
OIG_VECTOR_CLONES
static void times_slope(double *restrict r, const double *restrict o, size_t rows, int nh, size_t ldo) {
    for (size_t p = 0; p < rows; p++) {
        const double *op = o + p * ldo;
        double *rp = r + p * nh;
        int k = 0;
        for (; k + 8 <= nh; k += 8)
            for (int q = 0; q < 8; q++) rp[k + q] *= op[k + q] * (1.0 - op[k + q]);
        for (; k < nh; k++) rp[k] *= op[k] * (1.0 - op[k]);
    }
}

void trn_times_slope(double *r, const double *o, size_t rows, int nh, size_t ldo) {
    times_slope(r, o, rows, nh, ldo);
}

int trn_eval(trainer *t, const oig_data *d, int grad, double *sse, double *wrong) {
    int m = t->m, n = t->n, nh = t->nh, nu = t->nu, n1 = t->n1;
    double acc[2] = {0.0, 0.0};
    if (grad) memset(t->g, 0, (size_t)nh * n1 * sizeof(double));
    t->forward_rows = 0;
    trn_sums sums = { { t->g, acc }, { (size_t)nh * n1, 2 }, 2 };
    if (!grad) { sums.p[0] = acc; sums.n[0] = 2; sums.k = 1; }
    for (size_t p0 = 0; p0 < d->nrows; p0 += t->block) {
        size_t b = d->nrows - p0 < t->block ? d->nrows - p0 : t->block;
        /* x and o in place when the cache holds the block (no copy into x_a) */
        const double *o = cached_hidden(t, d, p0, b), *x = d->x + p0 * (size_t)n;
        size_t ldo = (size_t)nh, ldx = (size_t)n;
        if (o == NULL && nh > 0) {
            trn_forward_block(t, d, p0, b);
            o = t->xa + n1; ldo = (size_t)nu;
            x = t->xa; ldx = (size_t)nu;
        }
        block_errors(t, d, p0, b, x, ldx, o, ldo);
        const double *e = t->yb;
        for (size_t i = 0; i < b * (size_t)m; i++) acc[0] += e[i] * e[i];
        if (d->cls) {
            /* y = t - e; the predicted class is argmax y */
            const double *tt = d->t + p0 * (size_t)m;
            for (size_t p = 0; p < b; p++) {
                int best = 0;
                double vbest = tt[p * m] - e[p * m];
                for (int i = 1; i < m; i++) {
                    double v = tt[p * m + i] - e[p * m + i];
                    if (v > vbest) { vbest = v; best = i; }
                }
                if (best != d->cls[p0 + p]) acc[1] += 1.0;
            }
        }
        if (grad && nh > 0) {
            /* delta = f'(net) o (2 e W_oh), then G += delta^T x~: the x columns by dgemm, the
             * threshold column as delta^T 1 */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b, nh, m, 2.0, e, m,
                        t->wo + n1, nu, 0.0, t->hb, nh);
            trn_times_slope(t->hb, o, b, nh, ldo);
            if (n > 0)
                cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nh, n, (int)b, 1.0, t->hb, nh,
                            x, (int)ldx, 1.0, t->g, n1);
            cblas_dgemv(CblasRowMajor, CblasTrans, (int)b, nh, 1.0, t->hb, nh, t->ones, 1, 1.0,
                        t->g + n, n1);
        }
        if (trn_sums_block(t, &sums, d, p0)) return -1;
    }
    if (trn_sums_finish(t, &sums, d)) return -1;
    if (grad) cblas_dscal(nh * n1, 1.0 / t->nv, t->g, 1);
    *sse = acc[0];
    if (wrong) *wrong = acc[1];
    return 0;
}

/* Row panels for upper_gram_add: about GRAM_PANEL_ROWS rows each, so that a panel's dgemm keeps
 * the shape OpenBLAS threads well while the work below the diagonal stays small. */
enum { GRAM_PANEL_ROWS = 50 };
static int gram_panels(int n) { return n > GRAM_PANEL_ROWS ? (n + GRAM_PANEL_ROWS / 2) / GRAM_PANEL_ROWS : 1; }

/* C += the upper triangle (and some of the lower) of Z^T Z; Z is k x n row-major with leading
 * dimension ldz, C n x n row-major with leading dimension ldc. The triangle is covered by
 * `panels` row panels, each one dgemm over the panel's rows and the columns from its diagonal on.
 * At n ~ 100 OpenBLAS's dsyrk runs at a third of dgemm's rate on two threads (18 vs 62 GFLOP/s for
 * n = 101, k = 4090): its diagonal blocks are the whole matrix and its threads split a narrow
 * triangle. The panels' share below the diagonal, about n^2 / (2 panels) multiplies per row of Z,
 * is work dsyrk would not do and is not counted. */
static void upper_gram_add(int n, int k, const double *z, int ldz, double *c, int ldc, int panels) {
    for (int r = 0; r < panels; r++) {
        int r0 = n * r / panels, r1 = n * (r + 1) / panels;
        if (r1 > r0)
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1 - r0, n - r0, k, 1.0, z + r0,
                        ldz, z + r0, ldz, 1.0, c + (size_t)r0 * ldc + r0, ldc);
    }
}

/* OWO's R_a is the Gram matrix of the basis [x~, o] (without bypass [1, o]). Its block between the
 * c = N+1-off columns of x~ depends only on the training inputs: the run's first OWO sums all of
 * R_a and keeps that block (t->ra_x), and later passes sum only the rows of x~ against o (one
 * dgemm) and o against o (row panels), then add the kept block. Each entry is the same sum over
 * the same rows either way (the x~-o entries come from a product of another shape, which can
 * round differently). The block's Nv c(c+1)/2 multiplies are counted only when they are done. */
int trn_owo(trainer *t) {
    int m = t->m, nb = t->nb, nu = t->nu, c = t->n1 - t->off;
    int reuse = t->ra_x_ready && nb >= c;
    memset(t->ra, 0, (size_t)nb * nb * sizeof(double));
    memset(t->cat, 0, (size_t)nb * m * sizeof(double));
    const oig_data *d = t->train;
    trn_sums sums = { { t->ra, t->cat }, { (size_t)nb * nb, (size_t)nb * m }, 2 };
    t->forward_rows = 0;
    for (size_t p0 = 0; p0 < d->nrows; p0 += t->block) {
        size_t b = d->nrows - p0 < t->block ? d->nrows - p0 : t->block;
        trn_forward_block(t, d, p0, b);
        const double *xb = t->xa + t->off;    /* the basis, b x nb, leading dimension Nu */
        if (reuse) {
            if (nb > c) {
                cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c, nb - c, (int)b, 1.0, xb, nu,
                            xb + c, nu, 1.0, t->ra + c, nb);
                upper_gram_add(nb - c, (int)b, xb + c, nu, t->ra + (size_t)c * nb + c, nb,
                               gram_panels(nb - c));
            }
        } else {
            upper_gram_add(nb, (int)b, xb, nu, t->ra, nb, gram_panels(nb));
        }
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, nb, (int)b, 1.0, d->t + p0 * (size_t)m,
                    m, xb, nu, 1.0, t->cat, nb);
        if (trn_sums_block(t, &sums, d, p0)) return -1;
    }
    if (trn_sums_finish(t, &sums, d)) return -1;
    for (int i = 0; i < c && i < nb; i++)
        for (int j = i; j < c && j < nb; j++) {
            if (reuse) t->ra[(size_t)i * nb + j] = t->ra_x[(size_t)i * c + j];
            else t->ra_x[(size_t)i * c + j] = t->ra[(size_t)i * nb + j];
        }
    if (!reuse && nb >= c) t->ra_x_ready = 1;
    double s = 1.0 / t->nv;
    cblas_dscal(nb * nb, s, t->ra, 1);
    for (int j = 0; j < nb; j++)
        for (int i = 0; i < m; i++) t->ca[(size_t)j * m + i] = t->cat[(size_t)i * nb + j] * s;
    if (oig_ols_solve(t->ra, nb, t->cfg->ols_eps, t->ca, m, m) < 0) return -2;
    /* ca now holds W_o^T for the basis columns */
    memset(t->wo, 0, (size_t)m * nu * sizeof(double));
    for (int j = 0; j < nb; j++)
        for (int i = 0; i < m; i++) t->wo[(size_t)i * nu + t->off + j] = t->ca[(size_t)j * m + i];
    double nbd = nb, nvd = t->nv;
    t->multiplies += nvd * (nbd * (nbd + 1) / 2 + m * nbd) + nbd * nbd * nbd / 3 + m * nbd * nbd
                     + trn_forward_multiplies(t) - (reuse ? nvd * c * (c + 1.0) / 2 : 0.0);
    return 0;
}


int trn_olf_e2(trainer *t, double *e2) {
    int m = t->m, nh = t->nh, nu = t->nu, n1 = t->n1;
    double acc = 0.0;
    const oig_data *d = t->train;
    trn_sums sums = { { &acc }, { 1 }, 1 };
    t->forward_rows = 0;
    for (size_t p0 = 0; p0 < d->nrows; p0 += t->block) {
        size_t b = d->nrows - p0 < t->block ? d->nrows - p0 : t->block;
        trn_forward_block(t, d, p0, b);
        /* n' = x~ D^T; dy/dz = (f'(net) o n') W_oh^T */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, nh, n1, 1.0, t->xa, nu,
                    t->d, n1, 0.0, t->hb, nh);
        trn_times_slope(t->hb, t->xa + n1, b, nh, (size_t)nu);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, m, nh, 1.0, t->hb, nh,
                    t->wo + n1, nu, 0.0, t->yb, m);
        for (size_t i = 0; i < b * (size_t)m; i++) acc += t->yb[i] * t->yb[i];
        if (trn_sums_block(t, &sums, d, p0)) return -1;
    }
    if (trn_sums_finish(t, &sums, d)) return -1;
    *e2 = 2.0 * acc / t->nv;
    t->multiplies += t->nv * ((double)nh * n1 + (double)nh * (m + 1) + 2.0 * m)
                     + trn_forward_multiplies(t);
    return 0;
}

/* The elementwise loops of the Hessian pass, written for the vectorizer: the default build (-O2)
 * vectorizes only loops of known trip count, so each row goes in groups of 8 and a tail, and
 * target_clones picks AVX-512 or AVX2 where the CPU has them (as activation.c does). Scalar, the
 * two loops took about a tenth of the pass at Nv=1e5, N=Nh=100, M=10. */

/* f'(n) = o (1 - o) for rows x Nh outputs o (leading dimension ldo) into fp (rows x Nh). */
OIG_VECTOR_CLONES
static void sigmoid_slopes(double *restrict fp, const double *restrict o, size_t rows, int nh,
                           size_t ldo) {
    for (size_t p = 0; p < rows; p++) {
        const double *op = o + p * ldo;
        double *f = fp + p * nh;
        int k = 0;
        for (; k + 8 <= nh; k += 8)
            for (int q = 0; q < 8; q++) f[k + q] = op[k + q] * (1.0 - op[k + q]);
        for (; k < nh; k++) f[k] = op[k] * (1.0 - op[k]);
    }
}

/* Z(p*M+i, j) *= x(p, j) for j < n, the rows of Z (leading dimension ldz) taken M per row of x
 * (leading dimension ldx). */
OIG_VECTOR_CLONES
static void scale_by_inputs(double *restrict z, size_t ldz, const double *restrict x, size_t ldx,
                            size_t rows, int m, int n) {
    for (size_t p = 0; p < rows; p++) {
        const double *xp = x + p * ldx;
        for (int i = 0; i < m; i++) {
            double *row = z + (p * m + i) * ldz;
            int j = 0;
            for (; j + 8 <= n; j += 8)
                for (int q = 0; q < 8; q++) row[j + q] *= xp[j + q];
            for (; j < n; j++) row[j] *= xp[j];
        }
    }
}

/* H_ig(m,u) = (2/Nv) sum_p sum_i J_p(i,m) J_p(i,u), J_p(i,:) = x~_p o ((W_oh(i,:) o f'(n_p)) D).
 * Scaling f'(n_p) by W_oh(i,:) is scaling the rows of D instead, so with
 * D_M = [diag(W_oh(1,:)) D, ..., diag(W_oh(M,:)) D] (Nh x M(N+1), formed once) the M rows of
 * every J_p of a chunk come from one dgemm Z = F' D_M (F' = chunk x Nh, Z = chunk x M(N+1)),
 * whose rows laid end to end are the (chunk*M) x (N+1) stack of the J_p. No M-fold copy of F' is
 * built, and the product is wide (n = M(N+1)) where OpenBLAS runs fast on two threads. */
int trn_oig_hessian(trainer *t) {
    int n = t->n, m = t->m, nh = t->nh, nu = t->nu, n1 = t->n1;
    int wide = m * n1;
    memset(t->hig, 0, (size_t)n1 * n1 * sizeof(double));
    double *dm = t->stack, *z = t->stack + (size_t)nh * wide;
    for (int k = 0; k < nh; k++)
        for (int i = 0; i < m; i++) {
            double w = t->wo[(size_t)i * nu + n1 + k];
            const double *drow = t->d + (size_t)k * n1;
            double *out = dm + (size_t)k * wide + (size_t)i * n1;
            for (int j = 0; j < n1; j++) out[j] = w * drow[j];
        }
    const oig_data *d = t->train;
    trn_sums sums = { { t->hig }, { (size_t)n1 * n1 }, 1 };
    t->forward_rows = 0;
    for (size_t p0 = 0; p0 < d->nrows; p0 += t->block) {
        size_t b = d->nrows - p0 < t->block ? d->nrows - p0 : t->block;
        /* o and x straight from the cache and the data when the cache holds the block: no copy
         * into x_a. The constant column of x~ multiplies by 1 and is left out below. */
        const double *o = cached_hidden(t, d, p0, b), *x = d->x + p0 * (size_t)n;
        size_t ldo = (size_t)nh, ldx = (size_t)n;
        if (o == NULL) {
            trn_forward_block(t, d, p0, b);
            o = t->xa + n1; ldo = (size_t)nu;
            x = t->xa; ldx = (size_t)nu;
        }
        sigmoid_slopes(t->hb, o, b, nh, ldo);
        /* the fewest chunks of at most t->chunk rows, of equal size (2048 rows at M = 10: six of
         * 341-342 rather than five of 409 and one of 3, whose three BLAS calls did no work) */
        size_t nchunks = (b + t->chunk - 1) / t->chunk;
        for (size_t c = 0; c < nchunks; c++) {
            size_t c0 = b * c / nchunks, cb = b * (c + 1) / nchunks - c0;
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)cb, wide, nh, 1.0,
                        t->hb + c0 * nh, nh, dm, wide, 0.0, z, wide);
            scale_by_inputs(z, (size_t)n1, x + c0 * ldx, ldx, cb, m, n);
            upper_gram_add(n1, (int)(cb * m), z, n1, t->hig, n1, gram_panels(n1));
        }
        if (trn_sums_block(t, &sums, d, p0)) return -1;
    }
    if (trn_sums_finish(t, &sums, d)) return -1;
    double s = 2.0 / t->nv;
    for (int r = 0; r < n1; r++)
        for (int c = r; c < n1; c++) {
            double v = t->hig[(size_t)r * n1 + c] * s;
            t->hig[(size_t)r * n1 + c] = v;
            t->hig[(size_t)c * n1 + r] = v;
        }
    /* per row: f', Z, the x~ product, the upper triangle; once: D_M, g_ig, the solve; and the
     * hidden outputs the cache did not hold */
    double nvd = t->nv, n1d = n1;
    t->multiplies += nvd * (nh + m * nh * n1d + m * n1d + m * n1d * (n1d + 1) / 2)
                     + m * nh * n1d + nh * n1d + n1d * n1d * n1d / 3 + trn_forward_multiplies(t);
    return 0;
}

int trn_input_autocorrelation(trainer *t, double *r) {
    int n1 = t->n1, nu = t->nu;
    memset(r, 0, (size_t)n1 * n1 * sizeof(double));
    const oig_data *d = t->train;
    trn_sums sums = { { r }, { (size_t)n1 * n1 }, 1 };
    for (size_t p0 = 0; p0 < d->nrows; p0 += t->block) {
        size_t b = d->nrows - p0 < t->block ? d->nrows - p0 : t->block;
        const double *x = d->x + p0 * (size_t)t->n;
        for (size_t p = 0; p < b; p++) {
            memcpy(t->xa + p * nu, x + p * t->n, (size_t)t->n * sizeof(double));
            t->xa[p * nu + t->n] = 1.0;
        }
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, n1, (int)b, 1.0, t->xa, nu, 1.0, r, n1);
        if (trn_sums_block(t, &sums, d, p0)) return -1;
    }
    if (trn_sums_finish(t, &sums, d)) return -1;
    for (int i = 0; i < n1; i++)
        for (int j = i; j < n1; j++) {
            double v = r[(size_t)i * n1 + j] / t->nv;
            r[(size_t)i * n1 + j] = v;
            r[(size_t)j * n1 + i] = v;
        }
    t->multiplies += t->nv * (double)n1 * (n1 + 1) / 2;
    return 0;
}

void trn_sync_model(trainer *t) {
    int n1 = t->n1, nu = t->nu, nh = t->nh;
    for (int i = 0; i < t->m; i++) {
        memcpy(t->mdl->woi + (size_t)i * n1, t->wo + (size_t)i * nu, (size_t)n1 * sizeof(double));
        if (nh > 0)
            memcpy(t->mdl->woh + (size_t)i * nh, t->wo + (size_t)i * nu + n1,
                   (size_t)nh * sizeof(double));
    }
}

/* test_engine_numerics.c -- the numerical checks of spec section 11, one property per test:
 * gradients and the OIG gradient/Hessian against finite differences, the spec's identities,
 * the equivalence of HWO and BP on whitened inputs, OLS and OWO against LAPACK, and the
 * safeguards. Setup as in the spec: Nv = 300, N = 5 with one dependent input, Nh = 7, M = 3.
 */
#include <check.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support_suite.h"
#include "trainer.h"

enum { NV = 300, NI = 5, NH = 7, NO = 3, N1 = NI + 1 };

typedef struct {
    oig_data data;
    oig_model *mdl;
    oig_config cfg;
    trainer t;
} fixture;

/* Seeded data with input 4 = input 0 + 2 input 1 (linearly dependent), smooth targets. */
static void make_data(oig_data *d, uint64_t seed) {
    oig_rng r;
    oig_rng_seed(&r, seed);
    memset(d, 0, sizeof *d);
    d->nrows = NV; d->n = NI; d->m = NO;
    d->x = malloc(sizeof(double) * NV * NI);
    d->t = malloc(sizeof(double) * NV * NO);
    for (int p = 0; p < NV; p++) {
        double *x = d->x + p * NI;
        for (int j = 0; j < NI - 1; j++) x[j] = oig_rng_normal(&r);
        x[4] = x[0] + 2 * x[1];
        d->t[p * NO + 0] = sin(x[0]) + 0.3 * x[2] * x[3];
        d->t[p * NO + 1] = tanh(x[1] - x[3]);
        d->t[p * NO + 2] = 0.5 * x[2] + 0.1 * oig_rng_normal(&r);
    }
}

static void fixture_setup(fixture *f, uint64_t seed) {
    make_data(&f->data, seed);
    oig_config_init(&f->cfg);
    f->cfg.nh = NH;
    f->mdl = oig_model_new(NI, NH, NO);
    ck_assert_ptr_nonnull(f->mdl);
    ck_assert_int_eq(trn_init(&f->t, &f->data, NULL, &f->cfg, f->mdl), OIG_OK);
    f->t.nv = NV;
    oig_rng r;
    oig_rng_seed(&r, seed + 100);
    for (int i = 0; i < NH * N1; i++) f->mdl->w[i] = 0.7 * oig_rng_normal(&r);
    for (int i = 0; i < NO * f->t.nu; i++) f->t.wo[i] = 0.5 * oig_rng_normal(&r);
    trn_sync_model(&f->t);
}

static void fixture_teardown(fixture *f) {
    trn_free(&f->t);
    oig_model_free(f->mdl);
    free(f->data.x);
    free(f->data.t);
}

static double error_at(fixture *f) {
    double sse, wrong;
    ck_assert_int_eq(trn_eval(&f->t, &f->data, 0, &sse, &wrong), 0);
    return sse / NV;
}

/* E(W + D diag(a)) with the output weights held fixed. */
static double error_with_gains(fixture *f, const double *w0, const double *a) {
    for (int k = 0; k < NH; k++)
        for (int j = 0; j < N1; j++)
            f->mdl->w[k * N1 + j] = w0[k * N1 + j] + a[j] * f->t.d[k * N1 + j];
    double e = error_at(f);
    memcpy(f->mdl->w, w0, sizeof(double) * NH * N1);
    return e;
}

static double rel_diff(const double *a, const double *b, int n) {
    double num = 0, den = 0;
    for (int i = 0; i < n; i++) { num += (a[i] - b[i]) * (a[i] - b[i]); den += b[i] * b[i]; }
    return sqrt(num / (den > 0 ? den : 1));
}

START_TEST(test_gradient_matches_central_differences) {
    fixture f;
    fixture_setup(&f, 1);
    trn_fit s;
    ck_assert_int_eq(trn_evaluate_with_gradient(&f.t, &s), 0);
    double fd[NH * N1];
    const double h = 1e-5;
    for (int i = 0; i < NH * N1; i++) {
        double w = f.mdl->w[i];
        f.mdl->w[i] = w + h; double ep = error_at(&f);
        f.mdl->w[i] = w - h; double em = error_at(&f);
        f.mdl->w[i] = w;
        fd[i] = -(ep - em) / (2 * h);     /* G = -dE/dW */
    }
    ck_assert_double_lt(rel_diff(f.t.g, fd, NH * N1), 1e-8);
    fixture_teardown(&f);
}
END_TEST

START_TEST(test_e1_equals_minus_inner_product_of_g_and_d) {
    fixture f;
    fixture_setup(&f, 2);
    trn_fit s;
    ck_assert_int_eq(trn_evaluate_with_gradient(&f.t, &s), 0);
    trn_direction(&f.t, 0);
    for (int i = 0; i < NH * N1; i++) f.t.d[i] = f.t.g[i] * (1.0 + 0.1 * (i % 5));  /* D != G */
    double w0[NH * N1], ones[N1];
    memcpy(w0, f.mdl->w, sizeof w0);
    const double h = 1e-6;
    for (int j = 0; j < N1; j++) ones[j] = h;
    double ep = error_with_gains(&f, w0, ones);
    for (int j = 0; j < N1; j++) ones[j] = -h;
    double em = error_with_gains(&f, w0, ones);
    double e1_fd = (ep - em) / (2 * h);
    double e1 = -cblas_ddot(NH * N1, f.t.g, 1, f.t.d, 1);
    ck_assert_double_eq_tol(e1, e1_fd, 1e-7 * fabs(e1));
    fixture_teardown(&f);
}
END_TEST

/* g_ig and H_ig for the HWO direction, against finite differences of E(W + D diag(a)). */
START_TEST(test_oig_gradient_matches_finite_differences) {
    fixture f;
    fixture_setup(&f, 3);
    trn_fit s;
    ck_assert_int_eq(trn_evaluate_with_gradient(&f.t, &s), 0);
    memcpy(f.t.d, f.t.g, sizeof(double) * NH * N1);
    double gig[N1], fd[N1], w0[NH * N1], a[N1];
    memcpy(w0, f.mdl->w, sizeof w0);
    for (int m = 0; m < N1; m++) {
        gig[m] = 0;
        for (int k = 0; k < NH; k++) gig[m] += f.t.d[k * N1 + m] * f.t.g[k * N1 + m];
        const double h = 1e-6;
        memset(a, 0, sizeof a);
        a[m] = h; double ep = error_with_gains(&f, w0, a);
        a[m] = -h; double em = error_with_gains(&f, w0, a);
        fd[m] = -(ep - em) / (2 * h);
    }
    ck_assert_double_lt(rel_diff(gig, fd, N1), 1e-7);
    fixture_teardown(&f);
}
END_TEST

START_TEST(test_oig_hessian_matches_finite_difference_jacobian) {
    fixture f;
    fixture_setup(&f, 4);
    trn_fit s;
    ck_assert_int_eq(trn_evaluate_with_gradient(&f.t, &s), 0);
    memcpy(f.t.d, f.t.g, sizeof(double) * NH * N1);
    ck_assert_int_eq(trn_oig_hessian(&f.t), 0);
    /* J_p(i, m) = dy_p(i)/da(m) by central differences of the outputs */
    double *jac = calloc((size_t)NV * NO * N1, sizeof(double));
    double *yp = malloc(sizeof(double) * NV * NO), *ym = malloc(sizeof(double) * NV * NO);
    double *work = malloc(sizeof(double) * NV * NH);
    double w0[NH * N1];
    memcpy(w0, f.mdl->w, sizeof w0);
    const double h = 1e-6;
    for (int m = 0; m < N1; m++) {
        for (int sign = 0; sign < 2; sign++) {
            for (int k = 0; k < NH; k++)
                f.mdl->w[k * N1 + m] = w0[k * N1 + m] + (sign ? -h : h) * f.t.d[k * N1 + m];
            oig_forward_rows(f.mdl, f.data.x, NV, sign ? ym : yp, work);
            memcpy(f.mdl->w, w0, sizeof w0);
        }
        for (int q = 0; q < NV * NO; q++) jac[(size_t)q * N1 + m] = (yp[q] - ym[q]) / (2 * h);
    }
    double hfd[N1 * N1];
    for (int a = 0; a < N1; a++)
        for (int b = 0; b < N1; b++) {
            double v = 0;
            for (int q = 0; q < NV * NO; q++) v += jac[(size_t)q * N1 + a] * jac[(size_t)q * N1 + b];
            hfd[a * N1 + b] = 2.0 * v / NV;
        }
    ck_assert_double_lt(rel_diff(f.t.hig, hfd, N1 * N1), 1e-8);
    free(jac); free(yp); free(ym); free(work);
    fixture_teardown(&f);
}
END_TEST

START_TEST(test_oig_hessian_equals_weighted_sum_of_network_hessian) {
    fixture f;
    fixture_setup(&f, 5);
    trn_fit s;
    ck_assert_int_eq(trn_evaluate_with_gradient(&f.t, &s), 0);
    memcpy(f.t.d, f.t.g, sizeof(double) * NH * N1);
    for (int i = 0; i < NH * N1; i++) f.t.d[i] *= 1.0 + 0.05 * (i % 7);
    ck_assert_int_eq(trn_oig_hessian(&f.t), 0);
    /* H(m,u) = sum_k sum_j d(k,m) h(k,m,j,u) d(j,u),
     * h(k,m,j,u) = (2/Nv) sum_p f'_pk f'_pj x_p(m) x_p(u) sum_i woh(i,k) woh(i,j) */
    double *fp = malloc(sizeof(double) * NV * NH);
    for (int p = 0; p < NV; p++)
        for (int k = 0; k < NH; k++) {
            double net = f.mdl->w[k * N1 + NI];
            for (int j = 0; j < NI; j++) net += f.mdl->w[k * N1 + j] * f.data.x[p * NI + j];
            double o = 1 / (1 + exp(-net));
            fp[p * NH + k] = o * (1 - o);
        }
    double hw[N1 * N1];
    for (int m = 0; m < N1; m++)
        for (int u = 0; u < N1; u++) {
            double total = 0;
            for (int k = 0; k < NH; k++)
                for (int j = 0; j < NH; j++) {
                    double wkj = 0;
                    for (int i = 0; i < NO; i++) wkj += f.mdl->woh[i * NH + k] * f.mdl->woh[i * NH + j];
                    double hk = 0;
                    for (int p = 0; p < NV; p++) {
                        double xm = m < NI ? f.data.x[p * NI + m] : 1.0;
                        double xu = u < NI ? f.data.x[p * NI + u] : 1.0;
                        hk += fp[p * NH + k] * fp[p * NH + j] * xm * xu;
                    }
                    total += f.t.d[k * N1 + m] * (2.0 / NV) * hk * wkj * f.t.d[j * N1 + u];
                }
            hw[m * N1 + u] = total;
        }
    ck_assert_double_lt(rel_diff(f.t.hig, hw, N1 * N1), 1e-12);
    free(fp);
    fixture_teardown(&f);
}
END_TEST

START_TEST(test_ones_h_ones_equals_e2_and_ones_g_equals_minus_e1) {
    fixture f;
    fixture_setup(&f, 6);
    trn_fit s;
    ck_assert_int_eq(trn_evaluate_with_gradient(&f.t, &s), 0);
    memcpy(f.t.d, f.t.g, sizeof(double) * NH * N1);
    ck_assert_int_eq(trn_oig_hessian(&f.t), 0);
    double e2, sum_h = 0, sum_g = 0;
    ck_assert_int_eq(trn_olf_e2(&f.t, &e2), 0);
    for (int i = 0; i < N1 * N1; i++) sum_h += f.t.hig[i];
    for (int m = 0; m < N1; m++)
        for (int k = 0; k < NH; k++) sum_g += f.t.d[k * N1 + m] * f.t.g[k * N1 + m];
    double e1 = -cblas_ddot(NH * N1, f.t.g, 1, f.t.d, 1);
    ck_assert_double_eq_tol(sum_h, e2, 1e-12 * e2);
    ck_assert_double_eq_tol(sum_g, -e1, 1e-12 * fabs(e1));
    fixture_teardown(&f);
}
END_TEST

/* x' = A x~ (bias kept), W' = W A^-1, W_oi' = W_oi A^-1: same E, G' = G A^T. */
START_TEST(test_equivalent_network_has_same_error_and_transformed_gradient) {
    fixture f;
    fixture_setup(&f, 7);
    trn_fit s;
    ck_assert_int_eq(trn_evaluate_with_gradient(&f.t, &s), 0);
    double g[NH * N1];
    memcpy(g, f.t.g, sizeof g);
    /* A = [[S, c], [0, 1]] with S random well-conditioned */
    double a[N1 * N1] = {0}, ainv[N1 * N1];
    oig_rng r;
    oig_rng_seed(&r, 77);
    for (int i = 0; i < NI; i++) {
        for (int j = 0; j < NI; j++) a[i * N1 + j] = 0.3 * oig_rng_normal(&r) + (i == j ? 2.0 : 0.0);
        a[i * N1 + NI] = oig_rng_normal(&r);
    }
    a[NI * N1 + NI] = 1.0;
    memcpy(ainv, a, sizeof a);
    lapack_int ipiv[N1];
    ck_assert_int_eq(LAPACKE_dgetrf(LAPACK_ROW_MAJOR, N1, N1, ainv, N1, ipiv), 0);
    ck_assert_int_eq(LAPACKE_dgetri(LAPACK_ROW_MAJOR, N1, ainv, N1, ipiv), 0);
    /* transform the data and the weights */
    for (int p = 0; p < NV; p++) {
        double xt[N1], xn[NI];
        memcpy(xt, f.data.x + p * NI, sizeof(double) * NI);
        xt[NI] = 1.0;
        for (int i = 0; i < NI; i++) {
            xn[i] = 0;
            for (int j = 0; j < N1; j++) xn[i] += a[i * N1 + j] * xt[j];
        }
        memcpy(f.data.x + p * NI, xn, sizeof xn);
    }
    double w2[NH * N1], wo2[NO * N1];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, NH, N1, N1, 1.0, f.mdl->w, N1, ainv, N1, 0.0, w2, N1);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, NO, N1, N1, 1.0, f.t.wo, f.t.nu, ainv, N1, 0.0, wo2, N1);
    memcpy(f.mdl->w, w2, sizeof w2);
    for (int i = 0; i < NO; i++) memcpy(f.t.wo + i * f.t.nu, wo2 + i * N1, sizeof(double) * N1);
    trn_fit s2;
    ck_assert_int_eq(trn_evaluate_with_gradient(&f.t, &s2), 0);
    ck_assert_double_eq_tol(s2.e, s.e, 1e-12 * s.e);
    double gat[NH * N1];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, NH, N1, N1, 1.0, g, N1, a, N1, 0.0, gat, N1);
    ck_assert_double_lt(rel_diff(f.t.g, gat, NH * N1), 1e-12);
    fixture_teardown(&f);
}
END_TEST

/* With whitening A (A^T A = R_in^-1), one BP step on whitened inputs mapped back is the HWO
 * direction G R_in^-1. Full-rank inputs here (the dependent input is replaced). */
START_TEST(test_hwo_equals_bp_on_whitened_inputs) {
    fixture f;
    fixture_setup(&f, 8);
    oig_rng r;
    oig_rng_seed(&r, 88);
    for (int p = 0; p < NV; p++) f.data.x[p * NI + 4] = 1.5 + 2.0 * oig_rng_normal(&r);
    trn_fit s;
    ck_assert_int_eq(trn_evaluate_with_gradient(&f.t, &s), 0);
    double rin[N1 * N1], work[N1];
    ck_assert_int_eq(trn_input_autocorrelation(&f.t, rin), 0);
    oig_ols_factor(rin, N1, 1e-12, f.t.rin_factor, work);
    trn_direction(&f.t, 1);
    double dhwo[NH * N1];
    memcpy(dhwo, f.t.d, sizeof dhwo);
    /* whitening: mu, C of the raw inputs; S = C^-1/2 (symmetric); A = [[S, -S mu], [0, 1]] */
    double mu[NI] = {0}, c[NI * NI] = {0}, ev[NI];
    for (int p = 0; p < NV; p++) for (int i = 0; i < NI; i++) mu[i] += f.data.x[p * NI + i] / NV;
    for (int p = 0; p < NV; p++)
        for (int i = 0; i < NI; i++)
            for (int j = 0; j < NI; j++)
                c[i * NI + j] += (f.data.x[p * NI + i] - mu[i]) * (f.data.x[p * NI + j] - mu[j]) / NV;
    ck_assert_int_eq(LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', NI, c, NI, ev), 0);
    double sm[NI * NI] = {0};
    for (int i = 0; i < NI; i++)
        for (int j = 0; j < NI; j++)
            for (int k = 0; k < NI; k++) sm[i * NI + j] += c[i * NI + k] * c[j * NI + k] / sqrt(ev[k]);
    double a[N1 * N1] = {0};
    for (int i = 0; i < NI; i++) {
        double smu = 0;
        for (int j = 0; j < NI; j++) { a[i * N1 + j] = sm[i * NI + j]; smu += sm[i * NI + j] * mu[j]; }
        a[i * N1 + NI] = -smu;
    }
    a[NI * N1 + NI] = 1;
    /* A^T A = R_in^-1: check (A^T A) R_in = I */
    double ata[N1 * N1], prod[N1 * N1];
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N1, N1, N1, 1.0, a, N1, a, N1, 0.0, ata, N1);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N1, N1, N1, 1.0, ata, N1, rin, N1, 0.0, prod, N1);
    for (int i = 0; i < N1; i++)
        for (int j = 0; j < N1; j++) ck_assert_double_eq_tol(prod[i * N1 + j], i == j ? 1.0 : 0.0, 1e-10);
    /* BP on whitened inputs gives G' = G A^T; mapped back the step is G' A = G A^T A */
    double gat[NH * N1], back[NH * N1];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, NH, N1, N1, 1.0, f.t.g, N1, a, N1, 0.0, gat, N1);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, NH, N1, N1, 1.0, gat, N1, a, N1, 0.0, back, N1);
    ck_assert_double_lt(rel_diff(dhwo, back, NH * N1), 1e-9);
    fixture_teardown(&f);
}
END_TEST

START_TEST(test_ols_solves_singular_system) {
    /* R = X^T X for X with column 3 = column 0 + column 1: singular */
    enum { R = 40, C = 5 };
    double x[R * C], rr[C * C], c[C], xs[C];
    oig_rng r;
    oig_rng_seed(&r, 9);
    for (int p = 0; p < R; p++) {
        for (int j = 0; j < C; j++) x[p * C + j] = oig_rng_normal(&r);
        x[p * C + 3] = x[p * C + 0] + x[p * C + 1];
    }
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, C, R, 1.0, x, C, x, C, 0.0, rr, C);
    /* a right-hand side in the range of R */
    for (int j = 0; j < C; j++) xs[j] = j + 1.0;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, C, C, 1.0, rr, C, xs, 1, 0.0, c, 1);
    double sol[C];
    memcpy(sol, c, sizeof c);
    int dep = oig_ols_solve(rr, C, 1e-10, sol, 1, 1);
    ck_assert_int_eq(dep, 1);
    ck_assert_double_eq(sol[3], 0.0);        /* the dependent basis function gets weight 0 */
    double res[C];
    memcpy(res, c, sizeof c);
    cblas_dgemv(CblasRowMajor, CblasNoTrans, C, C, 1.0, rr, C, sol, 1, -1.0, res, 1);
    double rn = cblas_dnrm2(C, res, 1), cn = cblas_dnrm2(C, c, 1);
    ck_assert_double_lt(rn / cn, 1e-12);
}
END_TEST

START_TEST(test_ols_matches_lapack_on_full_rank_system) {
    enum { C = 8 };
    double a[C * C], rr[C * C], c[C], ref[C];
    oig_rng r;
    oig_rng_seed(&r, 10);
    for (int i = 0; i < C * C; i++) a[i] = oig_rng_normal(&r);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, C, C, 1.0, a, C, a, C, 0.0, rr, C);
    for (int i = 0; i < C; i++) rr[i * C + i] += 0.5;
    for (int i = 0; i < C; i++) c[i] = oig_rng_normal(&r);
    memcpy(ref, c, sizeof c);
    double rl[C * C];
    memcpy(rl, rr, sizeof rr);
    ck_assert_int_eq(LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', C, 1, rl, C, ref, 1), 0);
    ck_assert_int_eq(oig_ols_solve(rr, C, 1e-12, c, 1, 1), 0);
    ck_assert_double_lt(rel_diff(c, ref, C), 1e-12);
}
END_TEST

/* OWO's output weights equal LAPACK's least-squares solution of x_a W_o^T = t. */
START_TEST(test_owo_matches_lapack_least_squares) {
    fixture f;
    fixture_setup(&f, 11);
    oig_rng r;
    oig_rng_seed(&r, 111);
    for (int p = 0; p < NV; p++) f.data.x[p * NI + 4] = oig_rng_normal(&r);   /* full rank */
    ck_assert_int_eq(trn_owo(&f.t), 0);
    int nu = f.t.nu;
    double *xa = malloc(sizeof(double) * NV * nu), *tt = malloc(sizeof(double) * NV * NO);
    for (int p = 0; p < NV; p++) {
        trn_forward_block(&f.t, &f.data, (size_t)p, 1);
        memcpy(xa + p * nu, f.t.xa, sizeof(double) * nu);
    }
    memcpy(tt, f.data.t, sizeof(double) * NV * NO);
    ck_assert_int_eq(LAPACKE_dgels(LAPACK_ROW_MAJOR, 'N', NV, nu, NO, xa, nu, tt, NO), 0);
    double ref[NO * (N1 + NH)], got[NO * (N1 + NH)];
    for (int i = 0; i < NO; i++)
        for (int j = 0; j < nu; j++) { ref[i * nu + j] = tt[j * NO + i]; got[i * nu + j] = f.t.wo[i * nu + j]; }
    ck_assert_double_lt(rel_diff(got, ref, NO * nu), 1e-8);
    free(xa); free(tt);
    fixture_teardown(&f);
}
END_TEST

/* From the same state, one OIG step (after OWO) is no worse than the OLF step (after OWO). */
START_TEST(test_oig_step_no_worse_than_olf_step) {
    for (int hwo = 0; hwo < 2; hwo++) {
        fixture f;
        fixture_setup(&f, 12);
        if (hwo) {
            double rin[N1 * N1], work[N1];
            ck_assert_int_eq(trn_input_autocorrelation(&f.t, rin), 0);
            oig_ols_factor(rin, N1, 1e-10, f.t.rin_factor, work);
        }
        ck_assert_int_eq(trn_owo(&f.t), 0);
        trn_sync_model(&f.t);
        double w0[NH * N1], wo0[NO * (N1 + NH)];
        memcpy(w0, f.mdl->w, sizeof w0);
        memcpy(wo0, f.t.wo, sizeof wo0);
        trn_fit s0, s;
        ck_assert_int_eq(trn_evaluate_with_gradient(&f.t, &s0), 0);
        s = s0;
        ck_assert_int_eq(trn_olf_iteration(&f.t, hwo, &s), 0);
        double e_olf = s.e;
        memcpy(f.mdl->w, w0, sizeof w0);
        memcpy(f.t.wo, wo0, sizeof wo0);
        ck_assert_int_eq(trn_evaluate_with_gradient(&f.t, &s), 0);
        ck_assert_int_eq(trn_oig_iteration(&f.t, hwo, &s), 0);
        ck_assert_double_lt(e_olf, s0.e);
        ck_assert_double_le(s.e, e_olf);
        fixture_teardown(&f);
    }
}
END_TEST

/* Ascent direction: every candidate raises E. The safeguard takes the best candidate, so the
 * weights move and the next iteration does not repeat the same failed computation. */
START_TEST(test_safeguard_moves_on_when_every_step_fails) {
    fixture f;
    fixture_setup(&f, 13);
    ck_assert_int_eq(trn_owo(&f.t), 0);
    trn_fit s;
    ck_assert_int_eq(trn_evaluate_with_gradient(&f.t, &s), 0);
    double e0 = s.e, w0[NH * N1];
    memcpy(w0, f.mdl->w, sizeof w0);
    for (int i = 0; i < NH * N1; i++) f.t.d[i] = -f.t.g[i];
    double gains[N1];
    for (int j = 0; j < N1; j++) gains[j] = 0.5;
    ck_assert_int_eq(trn_safeguarded_step(&f.t, gains, 0.5, &s), 0);
    ck_assert_int_eq(f.mdl->summary.safeguards.accepted_worse, 1);
    ck_assert_int_eq(f.mdl->summary.safeguards.oig_halvings, f.cfg.max_halvings);
    ck_assert_int_eq(f.mdl->summary.safeguards.oig_olf_fallbacks, 1);
    ck_assert(isfinite(s.e));
    ck_assert_double_gt(s.e, e0);
    ck_assert(memcmp(w0, f.mdl->w, sizeof w0) != 0);
    fixture_teardown(&f);
}
END_TEST

/* ---- whole-run properties through the public interface ---- */

typedef struct { int n; double e[80]; } trace;

static int record(const oig_progress *p, void *ud) {
    trace *tr = ud;
    if (tr->n < 80) tr->e[tr->n++] = p->train_mse;
    return OIG_CONTINUE;
}

static oig_model *train_copy(const oig_config *cfg, uint64_t data_seed, trace *tr, oig_status *st) {
    oig_data d;
    make_data(&d, data_seed);
    oig_model *mdl = NULL;
    oig_error err;
    *st = oig_train(&d, NULL, cfg, NULL, tr ? record : NULL, tr, &mdl, &err);
    free(d.x); free(d.t);
    return mdl;
}

/* nrows rows of ni standard normal inputs and m = 2 or 3 smooth targets of them from r:
 * sin(x0) + 0.3 x1 x_last and tanh(x1 - x2), each plus noise x a normal draw when noise > 0, and
 * 0.5 x3 + 0.1 x a normal draw. */
static void lm_toy_data(oig_data *d, size_t nrows, int ni, int m, double noise, oig_rng *r) {
    memset(d, 0, sizeof *d);
    d->nrows = nrows; d->n = ni; d->m = m;
    d->x = malloc(sizeof(double) * nrows * ni);
    d->t = malloc(sizeof(double) * nrows * m);
    for (size_t p = 0; p < nrows; p++) {
        double *x = d->x + p * ni, *t = d->t + p * m;
        for (int j = 0; j < ni; j++) x[j] = oig_rng_normal(r);
        t[0] = sin(x[0]) + 0.3 * x[1] * x[ni - 1] + (noise > 0 ? noise * oig_rng_normal(r) : 0.0);
        t[1] = tanh(x[1] - x[2]) + (noise > 0 ? noise * oig_rng_normal(r) : 0.0);
        if (m > 2) t[2] = 0.5 * x[3] + 0.1 * oig_rng_normal(r);
    }
}

/* LM's Gauss-Newton system H = (2/Nv) J^T J, g = (2/Nv) J^T e against J from central differences
 * of the network's outputs in every weight, M = 3: N = 4 sums the hidden block by rows, N = 11
 * by pairs (lm.c), each with and without bypass weights. Geodesic acceleration's right-hand side
 * (2/Nv) J^T y'' along a random direction v is checked against the same J and a central second
 * difference of the outputs along v. */
START_TEST(test_lm_gauss_newton_matches_finite_difference_jacobian) {
    enum { NVL = 120, NHL = 6, NOL = 3 };
    int ni = _i < 2 ? 4 : 11, n1 = ni + 1, bypass = _i % 2 == 0;
    oig_data d;
    oig_rng r;
    oig_rng_seed(&r, 20 + (uint64_t)_i);
    lm_toy_data(&d, NVL, ni, NOL, 0.0, &r);
    oig_config cfg;
    oig_config_init(&cfg);
    cfg.nh = NHL;
    cfg.algorithm = OIG_ALG_LM;
    cfg.lm_acceleration = OIG_LM_ACCEL_GEODESIC;
    oig_model *mdl = oig_model_new(ni, NHL, NOL);
    ck_assert_ptr_nonnull(mdl);
    mdl->algorithm = OIG_ALG_LM;
    mdl->bypass = bypass;
    trainer t;
    ck_assert_int_eq(trn_init(&t, &d, NULL, &cfg, mdl), OIG_OK);
    t.nv = NVL;
    int nu = t.nu;
    for (int i = 0; i < NHL * n1; i++) mdl->w[i] = 0.7 * oig_rng_normal(&r);
    for (int i = 0; i < NOL; i++)
        for (int q = t.off; q < nu; q++) t.wo[i * nu + q] = 0.5 * oig_rng_normal(&r);
    trn_sync_model(&t);
    double sse, wrong;
    ck_assert_int_eq(lm_gauss_newton(&t, &sse, &wrong), 0);

    /* the weights in H's order: W, per output its bypass weights (or threshold), W_oh */
    size_t nw = t.lm_nw;
    double **wp = malloc(nw * sizeof *wp);
    size_t o = 0;
    for (int a = 0; a < NHL * n1; a++) wp[o++] = &mdl->w[a];
    for (int i = 0; i < NOL; i++)
        for (int j = 0; j < (bypass ? n1 : 1); j++) wp[o++] = &t.wo[i * nu + (bypass ? j : ni)];
    for (int i = 0; i < NOL; i++)
        for (int j = 0; j < NHL; j++) wp[o++] = &t.wo[i * nu + n1 + j];
    ck_assert_uint_eq(o, nw);
    double *jac = malloc(sizeof(double) * NVL * NOL * nw);
    double *y0 = malloc(sizeof(double) * NVL * NOL), *yp = malloc(sizeof(double) * NVL * NOL);
    double *ym = malloc(sizeof(double) * NVL * NOL), *work = malloc(sizeof(double) * NVL * NHL);
    oig_forward_rows(mdl, d.x, NVL, y0, work);
    const double h = 1e-6;
    for (size_t a = 0; a < nw; a++) {
        double v = *wp[a];
        *wp[a] = v + h;
        trn_sync_model(&t);
        oig_forward_rows(mdl, d.x, NVL, yp, work);
        *wp[a] = v - h;
        trn_sync_model(&t);
        oig_forward_rows(mdl, d.x, NVL, ym, work);
        *wp[a] = v;
        for (int q = 0; q < NVL * NOL; q++) jac[(size_t)q * nw + a] = (yp[q] - ym[q]) / (2 * h);
    }
    trn_sync_model(&t);
    double *hfd = calloc(nw * nw, sizeof(double)), *gfd = calloc(nw, sizeof(double)), e2 = 0;
    for (int q = 0; q < NVL * NOL; q++) {
        const double *jq = jac + (size_t)q * nw;
        double e = d.t[q] - y0[q];
        e2 += e * e;
        for (size_t a = 0; a < nw; a++) {
            gfd[a] += 2.0 / NVL * jq[a] * e;
            for (size_t b = 0; b < nw; b++) hfd[a * nw + b] += 2.0 / NVL * jq[a] * jq[b];
        }
    }
    ck_assert_double_lt(rel_diff(t.lm_h, hfd, (int)(nw * nw)), 1e-7);
    ck_assert_double_lt(rel_diff(t.lm_g, gfd, (int)nw), 1e-7);
    ck_assert_double_lt(fabs(sse - e2), 1e-10 * e2);

    double *v = malloc(nw * sizeof(double)), *rhs = malloc(nw * sizeof(double));
    double *rfd = calloc(nw, sizeof(double));
    for (size_t a = 0; a < nw; a++) v[a] = oig_rng_normal(&r);
    const double eps = 1e-3;
    for (int sgn = -1; sgn <= 1; sgn += 2) {
        for (size_t a = 0; a < nw; a++) *wp[a] += sgn * eps * v[a];
        trn_sync_model(&t);
        oig_forward_rows(mdl, d.x, NVL, sgn < 0 ? ym : yp, work);
        for (size_t a = 0; a < nw; a++) *wp[a] -= sgn * eps * v[a];
    }
    trn_sync_model(&t);
    trn_w_changed(&t);
    for (int q = 0; q < NVL * NOL; q++) {
        double ypp = (yp[q] - 2.0 * y0[q] + ym[q]) / (eps * eps);
        for (size_t a = 0; a < nw; a++) rfd[a] += 2.0 / NVL * jac[(size_t)q * nw + a] * ypp;
    }
    ck_assert_int_eq(lm_geodesic_rhs(&t, v, 1e-4, rhs), 0);
    double rd = rel_diff(rhs, rfd, (int)nw);
    ck_assert_msg(rd < 1e-3, "J^T y'' differs by %g relative", rd);
    free(v); free(rhs); free(rfd);
    free(wp); free(jac); free(y0); free(yp); free(ym); free(work); free(hfd); free(gfd);
    trn_free(&t);
    oig_model_free(mdl);
    free(d.x);
    free(d.t);
}
END_TEST

/* lm_precision=mixed: the Gauss-Newton matrix from single-precision sums agrees with the double
 * one to float accuracy (sums over 1,024 patterns, then added in double), differs from it (the
 * single-precision path ran), and g and E are the double ones bit for bit. 3,000 patterns in
 * chunks of 300, so that the float sums are added up several times; N = 4 sums the hidden block
 * by rows, N = 11 by pairs. Then 30 iterations of each on the same data: the trajectories part
 * at round-off level, and the training errors agree to 1e-3 relative (7e-5 and 2e-6 here). */
START_TEST(test_lm_mixed_precision_matches_double) {
    enum { NVL = 3000, NHL = 7, NOL = 2 };
    int ni = _i == 0 ? 4 : 11;
    oig_data d;
    oig_rng r;
    oig_rng_seed(&r, 40 + (uint64_t)_i);
    lm_toy_data(&d, NVL, ni, NOL, 0.05, &r);
    oig_model *mdl = oig_model_new(ni, NHL, NOL);
    ck_assert_ptr_nonnull(mdl);
    mdl->algorithm = OIG_ALG_LM;
    mdl->bypass = 1;
    for (int i = 0; i < NHL * (ni + 1); i++) mdl->w[i] = 0.5 * oig_rng_normal(&r);
    trainer t[2];
    double sse[2], wrong[2];
    for (int k = 0; k < 2; k++) {
        oig_config cfg;
        oig_config_init(&cfg);
        cfg.nh = NHL;
        cfg.algorithm = OIG_ALG_LM;
        cfg.block_rows = 300;
        cfg.lm_precision = k ? OIG_LM_PREC_MIXED : OIG_LM_PREC_DOUBLE;
        ck_assert_int_eq(trn_init(&t[k], &d, NULL, &cfg, mdl), OIG_OK);
        t[k].nv = NVL;
        oig_rng wr;
        oig_rng_seed(&wr, 7);
        for (int i = 0; i < NOL; i++)
            for (int q = t[k].off; q < t[k].nu; q++) t[k].wo[i * t[k].nu + q] = 0.5 * oig_rng_normal(&wr);
        ck_assert_int_eq(lm_gauss_newton(&t[k], &sse[k], &wrong[k]), 0);
    }
    size_t nw = t[0].lm_nw;
    double rd = rel_diff(t[1].lm_h, t[0].lm_h, (int)(nw * nw));
    ck_assert_msg(rd < 1e-6, "mixed H differs from double H by %g relative", rd);
    ck_assert_msg(rd > 0, "mixed H is the double H bit for bit: the single-precision path did not run");
    ck_assert(memcmp(t[1].lm_g, t[0].lm_g, nw * sizeof(double)) == 0);
    ck_assert(sse[1] == sse[0]);
    for (int k = 0; k < 2; k++) trn_free(&t[k]);
    oig_model_free(mdl);

    double e[2];
    for (int k = 0; k < 2; k++) {
        oig_config c;
        oig_config_init(&c);
        c.algorithm = OIG_ALG_LM; c.nh = NHL; c.max_iterations = 30; c.block_rows = 300;
        c.lm_update = OIG_LM_UPDATE_GAIN;
        c.lm_precision = k ? OIG_LM_PREC_MIXED : OIG_LM_PREC_DOUBLE;
        oig_model *m = NULL;
        oig_error err;
        ck_assert_int_eq(oig_train(&d, NULL, &c, NULL, NULL, NULL, &m, &err), OIG_OK);
        e[k] = m->summary.train_mse;
        oig_model_free(m);
    }
    ck_assert_msg(fabs(e[1] - e[0]) <= 1e-3 * e[0], "after 30 iterations: mixed E %.10g, double E %.10g", e[1], e[0]);
    free(d.x);
    free(d.t);
}
END_TEST

/* Both lambda rules keep LM monotone; the gain rule rejects far fewer steps than the tenfold
 * one, which alternates once lambda is small, and gets at least as low. */
START_TEST(test_lm_decreases_error) {
    long rejections[2];
    double last[2];
    for (int u = 0; u < 2; u++) {
        oig_config c;
        oig_config_init(&c);
        c.algorithm = OIG_ALG_LM; c.nh = NH; c.max_iterations = 40;
        c.lm_update = u ? OIG_LM_UPDATE_GAIN : OIG_LM_UPDATE_TENFOLD;
        trace tr = {0};
        oig_status st;
        oig_model *mdl = train_copy(&c, 14, &tr, &st);
        ck_assert_int_eq(st, OIG_OK);
        ck_assert_int_eq(tr.n, 41);
        for (int i = 1; i < tr.n; i++) ck_assert_double_le(tr.e[i], tr.e[i - 1]);
        ck_assert_double_lt(tr.e[tr.n - 1], tr.e[0]);
        rejections[u] = mdl->summary.safeguards.lm_rejections;
        last[u] = tr.e[tr.n - 1];
        oig_model_free(mdl);
    }
    ck_assert_msg(rejections[0] >= 20, "tenfold rejected %ld steps", rejections[0]);
    ck_assert_msg(2 * rejections[1] < rejections[0], "gain rejected %ld, tenfold %ld", rejections[1], rejections[0]);
    ck_assert_msg(last[1] <= last[0], "gain E %g, tenfold E %g", last[1], last[0]);
}
END_TEST

/* Geodesic acceleration keeps LM monotone (a step is still kept only when it lowers E) and, on
 * the toy problem, reaches plain LM's error after 60 iterations within 40 (in about 28). */
START_TEST(test_lm_geodesic_acceleration_is_monotone_and_faster) {
    trace tr[2] = {{0}, {0}};
    for (int g = 0; g < 2; g++) {
        oig_config c;
        oig_config_init(&c);
        c.algorithm = OIG_ALG_LM; c.nh = NH; c.max_iterations = 60;
        c.lm_update = OIG_LM_UPDATE_GAIN;
        c.lm_acceleration = g ? OIG_LM_ACCEL_GEODESIC : OIG_LM_ACCEL_NONE;
        oig_status st;
        oig_model *mdl = train_copy(&c, 14, &tr[g], &st);
        ck_assert_int_eq(st, OIG_OK);
        ck_assert_int_eq(tr[g].n, 61);
        for (int i = 1; i < tr[g].n; i++) ck_assert_double_le(tr[g].e[i], tr[g].e[i - 1]);
        oig_model_free(mdl);
    }
    int reached = 0;
    while (reached < 60 && tr[1].e[reached] > tr[0].e[60]) reached++;
    ck_assert_msg(reached <= 40, "geodesic LM reached %g (plain LM's E at 60) at iteration %d", tr[0].e[60], reached);
}
END_TEST

START_TEST(test_every_trainer_is_monotone_on_the_toy_problem) {
    oig_algorithm algs[] = {OIG_ALG_BP, OIG_ALG_HWO, OIG_ALG_OIG_BP, OIG_ALG_OIG_HWO};
    for (int a = 0; a < 4; a++) {
        oig_config c;
        oig_config_init(&c);
        c.algorithm = algs[a]; c.nh = NH; c.max_iterations = 40;
        trace tr = {0};
        oig_status st;
        oig_model *mdl = train_copy(&c, 15, &tr, &st);
        ck_assert_int_eq(st, OIG_OK);
        ck_assert_int_eq(mdl->summary.safeguards.accepted_worse, 0);
        for (int i = 1; i < tr.n; i++) ck_assert_double_le(tr.e[i], tr.e[i - 1]);
        ck_assert_double_lt(tr.e[tr.n - 1], 0.9 * tr.e[0]);
        oig_model_free(mdl);
    }
}
END_TEST

START_TEST(test_training_is_deterministic) {
    for (int a = OIG_ALG_BP; a <= OIG_ALG_LM; a++) {
        oig_config c;
        oig_config_init(&c);
        c.algorithm = (oig_algorithm)a; c.nh = NH; c.max_iterations = 10; c.seed = 42;
        oig_status s1, s2;
        oig_model *m1 = train_copy(&c, 16, NULL, &s1), *m2 = train_copy(&c, 16, NULL, &s2);
        ck_assert_int_eq(s1, OIG_OK);
        ck_assert_int_eq(s2, OIG_OK);
        ck_assert(memcmp(m1->w, m2->w, sizeof(double) * NH * N1) == 0);
        ck_assert(memcmp(m1->woi, m2->woi, sizeof(double) * NO * N1) == 0);
        ck_assert(memcmp(m1->woh, m2->woh, sizeof(double) * NO * NH) == 0);
        oig_model_free(m1);
        oig_model_free(m2);
    }
}
END_TEST

/* The hidden-output cache changes no bit of the result, for every trainer. */
START_TEST(test_hidden_output_cache_changes_nothing) {
    for (int a = OIG_ALG_BP; a <= OIG_ALG_LM; a++) {
        oig_config c;
        oig_config_init(&c);
        c.algorithm = (oig_algorithm)a; c.nh = NH; c.max_iterations = 12; c.block_rows = 64;
        oig_status s1, s2;
        oig_model *m1 = train_copy(&c, 21, NULL, &s1);
        c.cache_hidden = 0;
        oig_model *m2 = train_copy(&c, 21, NULL, &s2);
        ck_assert_int_eq(s1, OIG_OK);
        ck_assert_int_eq(s2, OIG_OK);
        ck_assert(memcmp(m1->w, m2->w, sizeof(double) * NH * N1) == 0);
        ck_assert(memcmp(m1->woi, m2->woi, sizeof(double) * NO * N1) == 0);
        ck_assert(memcmp(m1->woh, m2->woh, sizeof(double) * NO * NH) == 0);
        ck_assert(m1->summary.train_mse == m2->summary.train_mse);
        oig_model_free(m1);
        oig_model_free(m2);
    }
}
END_TEST

typedef struct { int at; oig_model *snap; } snapshot;

static int snap_at(const oig_progress *p, void *ud) {
    snapshot *s = ud;
    if (p->iteration == s->at) s->snap = oig_model_clone(p->model);
    return OIG_CONTINUE;
}

/* A run resumed from its iteration-k state reaches the same weights as an uninterrupted run. */
START_TEST(test_resume_from_checkpoint_matches_uninterrupted_run) {
    oig_algorithm algs[] = {OIG_ALG_OIG_HWO, OIG_ALG_LM, OIG_ALG_LM};
    for (int a = 0; a < 3; a++) {
        oig_config c;
        oig_config_init(&c);
        c.algorithm = algs[a]; c.nh = NH; c.max_iterations = 12;
        if (a == 2) c.lm_regularization = OIG_LM_REG_BAYESIAN;   /* the decays resume too */
        oig_data d1, d2;
        make_data(&d1, 17);
        make_data(&d2, 17);
        snapshot sn = {5, NULL};
        oig_model *full = NULL, *resumed = NULL;
        ck_assert_int_eq(oig_train(&d1, NULL, &c, NULL, snap_at, &sn, &full, NULL), OIG_OK);
        ck_assert_ptr_nonnull(sn.snap);
        ck_assert_int_eq(sn.snap->summary.iterations, 5);
        trace tr = {0};
        ck_assert_int_eq(oig_train(&d2, NULL, &c, sn.snap, record, &tr, &resumed, NULL), OIG_OK);
        ck_assert_int_eq(tr.n, 7);     /* iterations 6..12, the resumed state is not re-reported */
        ck_assert_int_eq(resumed->summary.iterations, 12);
        ck_assert(memcmp(full->w, resumed->w, sizeof(double) * NH * N1) == 0);
        ck_assert(memcmp(full->woh, resumed->woh, sizeof(double) * NO * NH) == 0);
        oig_model_free(full); oig_model_free(resumed); oig_model_free(sn.snap);
        free(d1.x); free(d1.t); free(d2.x); free(d2.t);
    }
}
END_TEST

/* The evidence's re-estimate against the formulas with A^-1 from LU (dgetrf/dgetri) on a random
 * SPD H of nw weights (nhid of them hidden), a penalty with unpenalized weights in both layers,
 * and nonzero decays; then rho = 0, where every penalized weight counts as determined
 * (gamma_l = k_l). */
static void check_evidence_against_lu(int nw, int nhid, uint64_t seed) {
    int nb = nw + 3;
    oig_rng r;
    oig_rng_seed(&r, seed);
    double *b = malloc(sizeof(double) * (size_t)nb * nw), *h = malloc(sizeof(double) * (size_t)nw * nw);
    double *w = malloc(sizeof(double) * nw), *c = malloc(sizeof(double) * nw);
    double *scratch = malloc(sizeof(double) * (size_t)nw * nw), *minv = malloc(sizeof(double) * (size_t)nw * nw);
    lapack_int *ipiv = malloc(sizeof(lapack_int) * nw);
    static const double out_c[] = {0.5, 0, 2, 0.25};   /* the output layer's, a threshold (0) among them */
    for (int j = 0; j < nw; j++) c[j] = j < nhid ? (j % 7 == 2 ? 0 : 1) : out_c[(j - nhid) % 4];
    for (int i = 0; i < nb * nw; i++) b[i] = oig_rng_normal(&r);
    for (int i = 0; i < nw; i++) w[i] = oig_rng_normal(&r);
    for (int i = 0; i < nw; i++)
        for (int j = 0; j < nw; j++) {
            double s = i == j ? 0.1 : 0.0;
            for (int p = 0; p < nb; p++) s += b[p * nw + i] * b[p * nw + j];
            h[i * nw + j] = s;
        }
    const double sse = 3.7, nres = 4.0 * nw + 4, nv = 2.0 * nw + 2, rho0[2] = {0.01, 0.03};

    memcpy(minv, h, sizeof(double) * (size_t)nw * nw);
    for (int j = 0; j < nw; j++) minv[j * nw + j] += 2.0 * rho0[j >= nhid] * c[j];
    ck_assert_int_eq(LAPACKE_dgetrf(LAPACK_ROW_MAJOR, nw, nw, minv, nw, ipiv), 0);
    ck_assert_int_eq(LAPACKE_dgetri(LAPACK_ROW_MAJOR, nw, minv, nw, ipiv), 0);
    double k[2] = {0, 0}, wcw[2] = {0, 0}, tr[2] = {0, 0};
    for (int j = 0; j < nw; j++) {
        k[j >= nhid] += c[j] > 0;
        wcw[j >= nhid] += c[j] * w[j] * w[j];
        tr[j >= nhid] += c[j] * minv[j * nw + j];
    }
    double gamma0 = k[0] - 2 * rho0[0] * tr[0], gamma1 = k[1] - 2 * rho0[1] * tr[1];
    double beta = (nres - gamma0 - gamma1 - (nw - k[0] - k[1])) / sse;
    double want[2] = {gamma0 / wcw[0] / (beta * nv), gamma1 / wcw[1] / (beta * nv)};
    double rho[2] = {rho0[0], rho0[1]};
    ck_assert_double_gt(lm_evidence(nw, nhid, h, c, w, sse, nres, nv, rho, scratch), 0);
    for (int g = 0; g < 2; g++)
        ck_assert_msg(fabs(rho[g] - want[g]) <= 1e-11 * want[g], "nw %d: rho[%d] = %.17g, want %.17g", nw, g,
                      rho[g], want[g]);

    double zero[2] = {0.0, 0.0};
    lm_evidence(nw, nhid, h, c, w, sse, nres, nv, zero, scratch);
    beta = (nres - nw) / sse;
    ck_assert(fabs(zero[0] - k[0] / wcw[0] / (beta * nv)) <= 1e-12 * zero[0]);
    ck_assert(fabs(zero[1] - k[1] / wcw[1] / (beta * nv)) <= 1e-12 * zero[1]);
    free(b); free(h); free(w); free(c); free(scratch); free(minv); free(ipiv);
}

START_TEST(test_lm_evidence_matches_formulas_with_lu_inverse) {
    check_evidence_against_lu(9, 5, 41);
    check_evidence_against_lu(203, 150, 42);   /* past LAPACK's block size: its blocked Cholesky and inverse */
}
END_TEST

/* An overparameterized net (Nh = 12, 64 weights) on 40 noisy rows: plain LM fits the noise;
 * Bayesian regularization stops short of it and predicts fresh rows better. */
static void noisy_sine(oig_data *d, int rows, double noise, uint64_t seed) {
    oig_rng r;
    oig_rng_seed(&r, seed);
    memset(d, 0, sizeof *d);
    d->nrows = (size_t)rows; d->n = 3; d->m = 1;
    d->x = malloc(sizeof(double) * rows * 3);
    d->t = malloc(sizeof(double) * rows);
    for (int p = 0; p < rows; p++) {
        for (int j = 0; j < 3; j++) d->x[p * 3 + j] = oig_rng_normal(&r);
        d->t[p] = 2.0 + sin(1.5 * d->x[p * 3]) + noise * oig_rng_normal(&r);
    }
}

START_TEST(test_lm_bayesian_regularization_fits_less_noise) {
    double train_mse[2], val_mse[2];
    for (int bayes = 0; bayes < 2; bayes++) {
        oig_data tr, va;
        noisy_sine(&tr, 40, 0.3, 5);
        noisy_sine(&va, 400, 0.0, 6);
        oig_config c;
        oig_config_init(&c);
        c.algorithm = OIG_ALG_LM; c.nh = 12; c.max_iterations = 200;
        c.lm_regularization = bayes ? OIG_LM_REG_BAYESIAN : OIG_LM_REG_NONE;
        oig_model *m = NULL;
        ck_assert_int_eq(oig_train(&tr, &va, &c, NULL, NULL, NULL, &m, NULL), OIG_OK);
        train_mse[bayes] = m->summary.train_mse;
        val_mse[bayes] = m->summary.val_mse;
        if (bayes) {
            ck_assert_double_gt(m->summary.lm_decay[0], 0);
            ck_assert_double_gt(m->summary.lm_decay[1], 0);
        } else {
            ck_assert_double_eq(m->summary.lm_decay[0], 0);
            ck_assert_double_eq(m->summary.lm_decay[1], 0);
        }
        oig_model_free(m);
        free(tr.x); free(tr.t); free(va.x); free(va.t);
    }
    /* the noise variance is 0.09: plain LM goes well below it, the regularized fit does not */
    ck_assert_msg(train_mse[0] < 0.02, "plain LM train MSE %g", train_mse[0]);
    ck_assert_msg(train_mse[1] > 0.04, "regularized train MSE %g", train_mse[1]);
    ck_assert_msg(val_mse[1] < 0.5 * val_mse[0], "val MSE regularized %g, plain %g", val_mse[1], val_mse[0]);
}
END_TEST

static int stop_at_3(const oig_progress *p, void *ud) { (void)ud; return p->iteration == 3 ? OIG_STOP : OIG_CONTINUE; }

START_TEST(test_callback_stop_ends_training_with_valid_model) {
    oig_config c;
    oig_config_init(&c);
    c.nh = NH; c.max_iterations = 50;
    oig_data d;
    make_data(&d, 18);
    oig_model *mdl = NULL;
    ck_assert_int_eq(oig_train(&d, NULL, &c, NULL, stop_at_3, NULL, &mdl, NULL), OIG_ESTOPPED);
    ck_assert_ptr_nonnull(mdl);
    ck_assert_int_eq(mdl->summary.iterations, 3);
    ck_assert_str_eq(mdl->summary.stop_reason, "stopped");
    oig_model_free(mdl);
    free(d.x); free(d.t);
}
END_TEST

/* The model predicts raw rows: its MSE on the raw data equals the training MSE it reports. */
START_TEST(test_model_prediction_reproduces_training_error) {
    for (int std = 0; std < 2; std++)
        for (int bypass = 0; bypass < 2; bypass++) {
            oig_config c;
            oig_config_init(&c);
            c.nh = NH; c.max_iterations = 8; c.standardize = std; c.bypass = bypass;
            oig_data d, raw;
            make_data(&d, 19);
            make_data(&raw, 19);
            oig_model *mdl = NULL;
            ck_assert_int_eq(oig_train(&d, NULL, &c, NULL, NULL, NULL, &mdl, NULL), OIG_OK);
            double mse, errp;
            ck_assert_int_eq(oig_model_evaluate(mdl, &raw, &mse, &errp), OIG_OK);
            ck_assert_double_eq_tol(mse, mdl->summary.train_mse, 1e-10 * mse);
            if (!bypass)
                for (int i = 0; i < NO; i++)
                    for (int j = 0; j < NI; j++) ck_assert_double_eq(mdl->woi[i * N1 + j], 0.0);
            oig_model_free(mdl);
            free(d.x); free(d.t); free(raw.x); free(raw.t);
        }
}
END_TEST

/* Classification: error % by the argmax rule, as reported, equals a direct count. */
START_TEST(test_classification_error_percent_uses_argmax) {
    oig_data d;
    make_data(&d, 20);
    d.task = OIG_CLASSIFICATION;
    d.nclasses = NO;
    d.cls = malloc(sizeof(int) * NV);
    for (int p = 0; p < NV; p++) {
        int c = oig_argmax(d.t + p * NO, NO);
        d.cls[p] = c;
        for (int i = 0; i < NO; i++) d.t[p * NO + i] = i == c ? 1.0 : -1.0;
    }
    oig_data raw = d;
    raw.x = malloc(sizeof(double) * NV * NI);
    memcpy(raw.x, d.x, sizeof(double) * NV * NI);
    oig_config c;
    oig_config_init(&c);
    c.nh = NH; c.max_iterations = 10;
    oig_model *mdl = NULL;
    ck_assert_int_eq(oig_train(&d, NULL, &c, NULL, NULL, NULL, &mdl, NULL), OIG_OK);
    double *y = malloc(sizeof(double) * NV * NO);
    int *cls = malloc(sizeof(int) * NV);
    ck_assert_int_eq(oig_model_predict(mdl, raw.x, NV, y, cls), OIG_OK);
    int wrong = 0;
    for (int p = 0; p < NV; p++) wrong += cls[p] != d.cls[p];
    ck_assert_double_eq_tol(mdl->summary.train_err, 100.0 * wrong / NV, 1e-9);
    ck_assert_double_lt(mdl->summary.train_err, 50.0);
    oig_model_free(mdl);
    free(y); free(cls); free(d.x); free(d.t); free(d.cls); free(raw.x);
}
END_TEST

START_TEST(test_config_check_names_the_bad_field) {
    oig_config c;
    oig_config_init(&c);
    ck_assert_int_eq(oig_config_check(&c, NULL), OIG_OK);
    oig_error e;
    c.nh = 0;
    ck_assert_int_eq(oig_config_check(&c, &e), OIG_EINVAL);
    ck_assert_str_eq(e.field, "hidden_units");
    oig_config_init(&c);
    c.sigmad = NAN;
    ck_assert_int_eq(oig_config_check(&c, &e), OIG_EINVAL);
    ck_assert_str_eq(e.field, "sigmad");
}
END_TEST

static Suite *numerics_suite(void) {
    Suite *s = suite_create("engine_numerics");
    TCase *tc = tcase_create("spec11");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_gradient_matches_central_differences);
    tcase_add_test(tc, test_e1_equals_minus_inner_product_of_g_and_d);
    tcase_add_test(tc, test_oig_gradient_matches_finite_differences);
    tcase_add_test(tc, test_oig_hessian_matches_finite_difference_jacobian);
    tcase_add_test(tc, test_oig_hessian_equals_weighted_sum_of_network_hessian);
    tcase_add_test(tc, test_ones_h_ones_equals_e2_and_ones_g_equals_minus_e1);
    tcase_add_test(tc, test_equivalent_network_has_same_error_and_transformed_gradient);
    tcase_add_test(tc, test_hwo_equals_bp_on_whitened_inputs);
    tcase_add_test(tc, test_ols_solves_singular_system);
    tcase_add_test(tc, test_ols_matches_lapack_on_full_rank_system);
    tcase_add_test(tc, test_owo_matches_lapack_least_squares);
    tcase_add_test(tc, test_oig_step_no_worse_than_olf_step);
    tcase_add_test(tc, test_safeguard_moves_on_when_every_step_fails);
    suite_add_tcase(s, tc);
    TCase *tr = tcase_create("training");
    tcase_set_timeout(tr, 120);
    tcase_add_loop_test(tr, test_lm_gauss_newton_matches_finite_difference_jacobian, 0, 4);
    tcase_add_loop_test(tr, test_lm_mixed_precision_matches_double, 0, 2);
    tcase_add_test(tr, test_lm_decreases_error);
    tcase_add_test(tr, test_lm_geodesic_acceleration_is_monotone_and_faster);
    tcase_add_test(tr, test_lm_evidence_matches_formulas_with_lu_inverse);
    tcase_add_test(tr, test_lm_bayesian_regularization_fits_less_noise);
    tcase_add_test(tr, test_every_trainer_is_monotone_on_the_toy_problem);
    tcase_add_test(tr, test_training_is_deterministic);
    tcase_add_test(tr, test_hidden_output_cache_changes_nothing);
    tcase_add_test(tr, test_resume_from_checkpoint_matches_uninterrupted_run);
    tcase_add_test(tr, test_callback_stop_ends_training_with_valid_model);
    tcase_add_test(tr, test_model_prediction_reproduces_training_error);
    tcase_add_test(tr, test_classification_error_percent_uses_argmax);
    tcase_add_test(tr, test_config_check_names_the_bad_field);
    suite_add_tcase(s, tr);
    return s;
}

int main(void) {
    return suite_run(numerics_suite(), CK_FORK_GETENV);
}

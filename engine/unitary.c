/* unitary.c -- projection of weights to the nearest orthogonal / semi-orthogonal matrix (spec
 * related_methods.md D): the polar (Kabsch) oracle by LAPACKE_dgesvd, the matrix exponential
 * (Pade 13, scaling and squaring), its Frechet derivative, the iterative Lie-algebra method and
 * the Riemannian step of orthogonal_hidden = expm. Touches no data; owns unitary_ws only.
 */
#include "related.h"
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void unitary_opts_init(unitary_opts *o) {
    o->method = UNITARY_POLAR;
    o->reflect = 0;
    o->lie_opt = UNITARY_LIE_GD;
    o->lie_tol = 1e-10;
    o->lie_max_iter = 10000;
}

/* Doubles needed per nmax^2: expm(2n) 7*4 + the 2n block and its exponential 2*4, Lie gradient
 * 4, one n x n scratch. */
#define UWS_PER_N2 41

unitary_ws *unitary_ws_create(int nmax) {
    if (nmax <= 0) return NULL;
    unitary_ws *ws = calloc(1, sizeof *ws);
    if (ws == NULL) return NULL;
    ws->nmax = nmax;
    ws->buf = calloc((size_t)UWS_PER_N2 * nmax * nmax, sizeof(double));
    ws->ipiv = calloc(2 * (size_t)nmax, sizeof(int));
    if (!ws->buf || !ws->ipiv) {
        unitary_ws_destroy(ws);
        return NULL;
    }
    return ws;
}

void unitary_ws_destroy(unitary_ws *ws) {
    if (ws == NULL) return;
    free(ws->buf); free(ws->ipiv); free(ws);
}

/* ---- polar oracle ---- */

/* det sign of a square n x n matrix (ld n) by LU; copy holds n*n, ipiv n. */
static int det_sign(int n, const double *a, double *copy, int *ipiv) {
    memcpy(copy, a, (size_t)n * n * sizeof(double));
    if (LAPACKE_dgetrf(LAPACK_ROW_MAJOR, n, n, copy, n, ipiv) < 0) return 0;
    int s = 1;
    for (int i = 0; i < n; i++) {
        if (copy[(size_t)i * n + i] < 0.0) s = -s;
        if (copy[(size_t)i * n + i] == 0.0) return 0;
        if (ipiv[i] != i + 1) s = -s;
    }
    return s;
}

/* W m x n (ld ldw) = P S V^T (thin, k = min(m, n)); U = P V^T (m x n, ld n). */
oig_status unitary_polar(int m, int n, const double *w, int ldw, int reflect, double *u,
                         double *smin, int *flipped) {
    if (m <= 0 || n <= 0 || ldw < n) return OIG_EINVAL;
    int k = m < n ? m : n;
    size_t need = (size_t)m * n + (size_t)m * k + (size_t)k * n + 2 * (size_t)k;
    double *buf = malloc(need * sizeof(double));
    int *ipiv = malloc((size_t)k * sizeof(int));
    oig_status st = OIG_OK;
    if (buf == NULL || ipiv == NULL) { st = OIG_ENOMEM; goto out; }
    double *a = buf, *p = a + (size_t)m * n, *vt = p + (size_t)m * k, *s = vt + (size_t)k * n;
    double *superb = s + k;
    for (int i = 0; i < m; i++) memcpy(a + (size_t)i * n, w + (size_t)i * ldw, (size_t)n * sizeof(double));
    if (LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'S', 'S', m, n, a, n, s, p, k, vt, n, superb) != 0) {
        st = OIG_ENUMERIC;
        goto out;
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, p, k, vt, n, 0.0, u, n);
    int flip = 0;
    if (m == n && !reflect && det_sign(n, u, a, ipiv) < 0) {
        /* Kabsch: flip the direction of the smallest singular value, U -= 2 p_n v_n^T */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                u[(size_t)i * n + j] -= 2.0 * p[(size_t)i * k + (k - 1)] * vt[(size_t)(k - 1) * n + j];
        flip = 1;
    }
    if (smin) *smin = s[k - 1];
    if (flipped) *flipped = flip;
out:
    free(buf);
    free(ipiv);
    return st;
}

/* ---- matrix exponential ---- */

static double norm1(int n, const double *a) {
    double best = 0.0;
    for (int j = 0; j < n; j++) {
        double s = 0.0;
        for (int i = 0; i < n; i++) s += fabs(a[(size_t)i * n + j]);
        if (s > best) best = s;
    }
    return best;
}

/* exp(A) for A n x n; w holds 7 n^2 doubles, ipiv n. Pade [13/13] after scaling by 2^-s with
 * ||A/2^s||_1 <= theta_13, then s squarings (Higham 2005). */
static oig_status expm_core(int n, const double *a, double *e, double *w, int *ipiv) {
    static const double b[14] = {
        64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
        129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
        40840800.0, 960960.0, 16380.0, 182.0, 1.0 };
    const double theta13 = 5.371920351148152;
    size_t nn = (size_t)n * n;
    double *as = w, *a2 = as + nn, *a4 = a2 + nn, *a6 = a4 + nn, *uu = a6 + nn, *vv = uu + nn;
    double *tmp = vv + nn;
    double nrm = norm1(n, a);
    int s = 0;
    if (nrm > theta13) s = (int)ceil(log2(nrm / theta13));
    if (s < 0) s = 0;
    double sc = ldexp(1.0, -s);
    for (size_t i = 0; i < nn; i++) as[i] = a[i] * sc;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, as, n, as, n, 0.0, a2, n);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a2, n, a2, n, 0.0, a4, n);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a4, n, a2, n, 0.0, a6, n);
    /* U = A [A6 (b13 A6 + b11 A4 + b9 A2) + b7 A6 + b5 A4 + b3 A2 + b1 I] */
    for (size_t i = 0; i < nn; i++) tmp[i] = b[13] * a6[i] + b[11] * a4[i] + b[9] * a2[i];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a6, n, tmp, n, 0.0, uu, n);
    for (size_t i = 0; i < nn; i++) uu[i] += b[7] * a6[i] + b[5] * a4[i] + b[3] * a2[i];
    for (int i = 0; i < n; i++) uu[(size_t)i * n + i] += b[1];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, as, n, uu, n, 0.0, tmp, n);
    memcpy(uu, tmp, nn * sizeof(double));
    /* V = A6 (b12 A6 + b10 A4 + b8 A2) + b6 A6 + b4 A4 + b2 A2 + b0 I */
    for (size_t i = 0; i < nn; i++) tmp[i] = b[12] * a6[i] + b[10] * a4[i] + b[8] * a2[i];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a6, n, tmp, n, 0.0, vv, n);
    for (size_t i = 0; i < nn; i++) vv[i] += b[6] * a6[i] + b[4] * a4[i] + b[2] * a2[i];
    for (int i = 0; i < n; i++) vv[(size_t)i * n + i] += b[0];
    /* (V - U) X = (V + U) */
    for (size_t i = 0; i < nn; i++) {
        tmp[i] = vv[i] - uu[i];
        e[i] = vv[i] + uu[i];
    }
    if (LAPACKE_dgesv(LAPACK_ROW_MAJOR, n, n, tmp, n, ipiv, e, n) != 0) return OIG_ENUMERIC;
    for (int k = 0; k < s; k++) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, e, n, e, n, 0.0, tmp, n);
        memcpy(e, tmp, nn * sizeof(double));
    }
    return OIG_OK;
}

/* L_exp(A, E): upper-right n x n block of exp([[A, E],[0, A]]); w holds 36 n^2, ipiv 2n. */
static oig_status frechet_core(int n, const double *a, const double *e, double *l, double *w,
                               int *ipiv) {
    int n2 = 2 * n;
    size_t nn2 = (size_t)n2 * n2;
    double *big = w, *ex = big + nn2, *wk = ex + nn2;
    memset(big, 0, nn2 * sizeof(double));
    for (int i = 0; i < n; i++) {
        memcpy(big + (size_t)i * n2, a + (size_t)i * n, (size_t)n * sizeof(double));
        memcpy(big + (size_t)i * n2 + n, e + (size_t)i * n, (size_t)n * sizeof(double));
        memcpy(big + (size_t)(n + i) * n2 + n, a + (size_t)i * n, (size_t)n * sizeof(double));
    }
    oig_status st = expm_core(n2, big, ex, wk, ipiv);
    if (st != OIG_OK) return st;
    for (int i = 0; i < n; i++)
        memcpy(l + (size_t)i * n, ex + (size_t)i * n2 + n, (size_t)n * sizeof(double));
    return OIG_OK;
}

/* Run f with ws, or with a one-call workspace when ws is NULL. */
#define WITH_WS(ws, n, call)                                               \
    do {                                                                   \
        unitary_ws *own_ = NULL;                                           \
        if ((ws) == NULL) {                                                \
            if ((own_ = unitary_ws_create(n)) == NULL) return OIG_ENOMEM;  \
            (ws) = own_;                                                   \
        } else if ((ws)->nmax < (n)) {                                     \
            return OIG_EINVAL;                                             \
        }                                                                  \
        oig_status st_ = (call);                                           \
        unitary_ws_destroy(own_);                                          \
        return st_;                                                        \
    } while (0)

oig_status unitary_expm(int n, const double *a, double *e, unitary_ws *ws) {
    if (n <= 0) return OIG_EINVAL;
    WITH_WS(ws, n, expm_core(n, a, e, ws->buf, ws->ipiv));
}

oig_status unitary_expm_frechet(int n, const double *a, const double *e, double *l,
                                unitary_ws *ws) {
    if (n <= 0) return OIG_EINVAL;
    WITH_WS(ws, n, frechet_core(n, a, e, l, ws->buf, ws->ipiv));
}

/* ---- Lie-algebra projection ---- */

/* W m x n, B n x n -> grad n x n, J, U (m x n). w holds 40 n^2. */
static oig_status lie_grad_core(int m, int n, const double *wt, const double *b, double *grad,
                                double *j, double *u, double *w, int *ipiv) {
    size_t nn = (size_t)n * n;
    double *a = w, *ex = a + nn, *gu = ex + nn, *ga = gu + nn, *wk = ga + nn;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++) a[(size_t)i * n + k] = b[(size_t)i * n + k] - b[(size_t)k * n + i];
    oig_status st = expm_core(n, a, ex, wk, ipiv);
    if (st != OIG_OK) return st;
    double jj = 0.0;
    memset(gu, 0, nn * sizeof(double));
    for (size_t i = 0; i < (size_t)m * n; i++) {
        gu[i] = ex[i] - wt[i];
        jj += gu[i] * gu[i];
    }
    if (j) *j = 0.5 * jj;
    if (u) memcpy(u, ex, (size_t)m * n * sizeof(double));
    if (grad == NULL) return OIG_OK;
    /* G_A = L_exp(A^T, G_U); A^T = -A */
    for (size_t i = 0; i < nn; i++) a[i] = -a[i];
    if ((st = frechet_core(n, a, gu, ga, wk, ipiv)) != OIG_OK) return st;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < n; k++)
            grad[(size_t)i * n + k] = ga[(size_t)i * n + k] - ga[(size_t)k * n + i];
    return OIG_OK;
}

oig_status unitary_lie_grad(int m, int n, const double *w, const double *b, double *grad,
                            double *j, double *u, unitary_ws *ws) {
    if (m <= 0 || n <= 0 || m > n) return OIG_EINVAL;
    WITH_WS(ws, n, lie_grad_core(m, n, w, b, grad, j, u, ws->buf, ws->ipiv));
}

/* ||W||_2 by the singular values of a copy. */
static double norm2(int m, int n, const double *w) {
    int k = m < n ? m : n;
    double *a = malloc(((size_t)m * n + 2 * (size_t)k) * sizeof(double));
    if (a == NULL) return NAN;
    memcpy(a, w, (size_t)m * n * sizeof(double));
    double *s = a + (size_t)m * n, r = NAN;
    if (LAPACKE_dgesvd(LAPACK_ROW_MAJOR, 'N', 'N', m, n, a, n, s, NULL, 1, NULL, 1, s + k) == 0)
        r = s[0];
    free(a);
    return r;
}

/* The wide/square case: W m x n, m <= n. GD with eta = 0.5/||W||_2, or Adam keeping the best
 * iterate. Stops at ||skew(U^T W)||_F < tol ||W||_F (U^T W is symmetric at the optimum) or after
 * lie_max_iter steps. The spec's second rule, |dJ|/J < tol, is not used: J is quadratic in the
 * distance to U*, so it stopped ~1e-5 away at tol = 1e-10, and even a tol^2 rule fires when J
 * stagnates in float64 (2.5e-6 away for a det -1 W with sigma_3 - sigma_4 = 0.1, measured). */
static oig_status lie_wide(int m, int n, const double *w, const unitary_opts *o, double *u,
                           int *iters, double *jhist) {
    size_t nn = (size_t)n * n;
    oig_status st = OIG_ENOMEM;
    unitary_ws *ws = unitary_ws_create(n);
    double *mem = calloc(6 * nn + (size_t)m * n, sizeof(double));
    if (ws == NULL || mem == NULL) goto out;
    double *b = mem, *g = b + nn, *m1 = g + nn, *m2 = m1 + nn, *best = m2 + nn, *utw = best + nn;
    double *ucur = utw + nn;
    double wn = 0.0;
    for (size_t i = 0; i < (size_t)m * n; i++) wn += w[i] * w[i];
    wn = sqrt(wn);
    double eta = o->lie_opt == UNITARY_LIE_GD ? 0.5 / norm2(m, n, w) : 1e-2;
    if (!isfinite(eta)) { st = OIG_ENUMERIC; goto out; }
    double jbest = INFINITY;
    int it = 0;
    for (;; it++) {
        double j;
        if ((st = lie_grad_core(m, n, w, b, g, &j, ucur, ws->buf, ws->ipiv)) != OIG_OK) goto out;
        if (jhist) jhist[it] = j;
        if (j < jbest) {
            jbest = j;
            memcpy(best, b, nn * sizeof(double));
            memcpy(u, ucur, (size_t)m * n * sizeof(double));
        }
        /* ||skew(U^T W)||_F with U m x n: U^T W n x n */
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, n, m, 1.0, ucur, n, w, n, 0.0, utw, n);
        double sk = 0.0;
        for (int i = 0; i < n; i++)
            for (int k = i + 1; k < n; k++) {
                double d = 0.5 * (utw[(size_t)i * n + k] - utw[(size_t)k * n + i]);
                sk += 2.0 * d * d;
            }
        if (sqrt(sk) < o->lie_tol * wn) break;
        if (it >= o->lie_max_iter) break;
        if (o->lie_opt == UNITARY_LIE_GD) {
            cblas_daxpy((int)nn, -eta, g, 1, b, 1);
        } else {
            double c1 = 1.0 - pow(0.9, it + 1), c2 = 1.0 - pow(0.999, it + 1);
            for (size_t i = 0; i < nn; i++) {
                m1[i] = 0.9 * m1[i] + 0.1 * g[i];
                m2[i] = 0.999 * m2[i] + 0.001 * g[i] * g[i];
                b[i] -= eta * (m1[i] / c1) / (sqrt(m2[i] / c2) + 1e-8);
            }
        }
    }
    if (iters) *iters = it;
    st = OIG_OK;
out:
    unitary_ws_destroy(ws);
    free(mem);
    return st;
}

oig_status unitary_lie(int m, int n, const double *w, const unitary_opts *o, double *u,
                       int *iters, double *jhist) {
    if (m <= 0 || n <= 0 || o == NULL) return OIG_EINVAL;
    if (m <= n) return lie_wide(m, n, w, o, u, iters, jhist);
    /* tall: project W^T (n x m) and transpose back */
    double *wt = malloc(2 * (size_t)m * n * sizeof(double));
    if (wt == NULL) return OIG_ENOMEM;
    double *ut = wt + (size_t)m * n;
    for (int i = 0; i < m; i++)
        for (int k = 0; k < n; k++) wt[(size_t)k * m + i] = w[(size_t)i * n + k];
    oig_status st = lie_wide(n, m, wt, o, ut, iters, jhist);
    if (st == OIG_OK)
        for (int i = 0; i < m; i++)
            for (int k = 0; k < n; k++) u[(size_t)i * n + k] = ut[(size_t)k * m + i];
    free(wt);
    return st;
}

/* ---- Riemannian step ---- */

/* U n x p, G n x p; w holds 3 n^2 + 7 n^2 doubles (om, ex, tmp, expm work). */
static oig_status riemann_core(int n, int p, double *u, const double *g, double eta, double *w,
                               int *ipiv) {
    size_t nn = (size_t)n * n;
    double *om = w, *ex = om + nn, *tmp = ex + nn, *wk = tmp + nn;
    /* om = -eta (G U^T - U G^T) */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, p, -eta, g, p, u, p, 0.0, om, n);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, p, eta, u, p, g, p, 1.0, om, n);
    oig_status st = expm_core(n, om, ex, wk, ipiv);
    if (st != OIG_OK) return st;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, p, n, 1.0, ex, n, u, p, 0.0, tmp, p);
    memcpy(u, tmp, (size_t)n * p * sizeof(double));
    return OIG_OK;
}

oig_status unitary_riemann_step(int n, int p, double *u, const double *g, double eta,
                                unitary_ws *ws) {
    if (n <= 0 || p <= 0 || p > n) return OIG_EINVAL;
    WITH_WS(ws, n, riemann_core(n, p, u, g, eta, ws->buf, ws->ipiv));
}

/* ---- model projection ---- */

/* Project a (r x c, ld ld) in place; accumulate the squared distance moved. */
static oig_status project_block(int r, int c, double *a, int ld, const unitary_opts *o,
                                double *moved2) {
    double *u = malloc((size_t)r * c * sizeof(double));
    if (u == NULL) return OIG_ENOMEM;
    oig_status st;
    if (o->method == UNITARY_LIE) {
        double *dense = malloc((size_t)r * c * sizeof(double));
        if (dense == NULL) { free(u); return OIG_ENOMEM; }
        for (int i = 0; i < r; i++) memcpy(dense + (size_t)i * c, a + (size_t)i * ld, (size_t)c * sizeof(double));
        st = unitary_lie(r, c, dense, o, u, NULL, NULL);
        free(dense);
    } else {
        st = unitary_polar(r, c, a, ld, o->reflect, u, NULL, NULL);
    }
    if (st == OIG_OK)
        for (int i = 0; i < r; i++)
            for (int k = 0; k < c; k++) {
                double d = u[(size_t)i * c + k] - a[(size_t)i * ld + k];
                *moved2 += d * d;
                a[(size_t)i * ld + k] = u[(size_t)i * c + k];
            }
    free(u);
    return st;
}

oig_status unitary_project_model(oig_model *mdl, unitary_layers layers, const unitary_opts *o,
                                 double *moved) {
    if (mdl == NULL || o == NULL || mdl->nh <= 0) return OIG_EINVAL;
    double m2 = 0.0;
    oig_status st = project_block(mdl->nh, mdl->n, mdl->w, mdl->n + 1, o, &m2);
    if (st == OIG_OK && layers == UNITARY_LAYERS_ALL)
        st = project_block(mdl->m, mdl->nh, mdl->woh, mdl->nh, o, &m2);
    if (moved) *moved = sqrt(m2);
    return st;
}

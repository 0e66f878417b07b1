/* ols.c -- orthogonal least squares (spec section 3): modified Gram-Schmidt in the
 * autocorrelation domain, i.e. a Cholesky factorization that drops dependent basis functions.
 *
 * It solves R x = c for symmetric positive semi-definite R without failing on linearly
 * dependent inputs or hidden units: a dependent basis function gets weight 0. OWO, HWO and OIG
 * all solve their systems here.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* R: n x n row-major (entries R[q][m], q <= m, are read); aor: n x n lower triangular, written.
 * For each basis function m, in order:
 *   cv = Aor[0:m,0:m] R[0:m,m]          (its inner products with the orthonormal functions so far)
 *   g  = R[m][m] - |cv|^2                (squared norm of what is new in it)
 *   g <= eps R[m][m]  ->  dependent: row m of Aor stays zero
 *   otherwise Aor[m][0:m] = -Aor[0:m,0:m]^T cv / sqrt(g),  Aor[m][m] = 1 / sqrt(g)
 * Cost n^3/3 multiplies. work: n doubles. */
int oig_ols_factor(const double *r, int n, double eps, double *aor, double *work) {
    int dependent = 0;
    memset(aor, 0, (size_t)n * (size_t)n * sizeof(double));
    for (int m = 0; m < n; m++) {
        double rmm = r[(size_t)m * n + m];
        double *row = aor + (size_t)m * n;
        if (!(rmm > 0.0) || !isfinite(rmm)) { dependent++; continue; }
        for (int q = 0; q < m; q++) work[q] = r[(size_t)q * n + m];
        double g = rmm;
        if (m > 0) {
            cblas_dtrmv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, m, aor, n, work, 1);
            g -= cblas_ddot(m, work, 1, work, 1);
        }
        if (!(g > eps * rmm) || !isfinite(g)) { dependent++; continue; }
        double inv = 1.0 / sqrt(g);
        if (m > 0) {
            cblas_dtrmv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, m, aor, n, work, 1);
            for (int q = 0; q < m; q++) row[q] = -work[q] * inv;
        }
        row[m] = inv;
    }
    return dependent;
}

/* X = Aor^T (Aor C): the least-squares solution for each column of C (n x ncols, ld ldc),
 * computed in place with two triangular products. */
void oig_ols_apply(const double *aor, int n, double *c, int ncols, int ldc, double *work) {
    (void)work;
    if (n == 0 || ncols == 0) return;
    cblas_dtrmm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, n, ncols, 1.0,
                aor, n, c, ldc);
    cblas_dtrmm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, n, ncols, 1.0,
                aor, n, c, ldc);
}

int oig_ols_solve(const double *r, int n, double eps, double *c, int ncols, int ldc) {
    double *aor = malloc(((size_t)n * (size_t)n + (size_t)n + 1) * sizeof(double));
    if (aor == NULL) return -1;
    double *work = aor + (size_t)n * n;
    int dep = oig_ols_factor(r, n, eps, aor, work);
    oig_ols_apply(aor, n, c, ncols, ldc, NULL);
    free(aor);
    return dep;
}

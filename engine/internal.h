/* internal.h -- helpers shared by the engine's files and its white-box tests; not part of the
 * public interface in oig.h. Shapes are written as in the spec (Nv, N, Nh, M; Nu = N+1+Nh).
 */
#ifndef OIG_INTERNAL_H
#define OIG_INTERNAL_H

#include "oig.h"
#include <cblas.h>
#include <stddef.h>
#include <stdint.h>

/* Elementwise loops are compiled for AVX-512, AVX2 and plain x86-64 with GCC, and the loader
 * picks one by the CPU (an ifunc). ThreadSanitizer instruments the picker, which the loader runs
 * before the sanitizer's runtime exists, so its builds keep the plain version only, as other
 * compilers and CPUs do. */
#if defined(__SANITIZE_THREAD__) || !defined(__x86_64__) || !defined(__GNUC__) || defined(__clang__)
#define OIG_VECTOR_CLONES
#else
#define OIG_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif

/* ---- strings ---- */
char **oig_strings_dup(char *const *src, int n);
void oig_strings_free(char **s, int n);

/* ---- activations ---- */
/* v <- 1/(1+exp(-v)), elementwise, n entries. */
void oig_sigmoid_inplace(double *v, size_t n);

/* ---- forward pass ---- */
/* y (nrows x M) = outputs of mdl on standardized rows xs (nrows x N); work >= nrows*Nh. */
void oig_forward_rows(const oig_model *mdl, const double *xs, size_t nrows, double *y, double *work);
int oig_argmax(const double *v, int m);

/* ---- random numbers: xoshiro256**, seeded by splitmix64; identical on every platform ---- */
typedef struct { uint64_t s[4]; } oig_rng;
void oig_rng_seed(oig_rng *r, uint64_t seed);
uint64_t oig_rng_next(oig_rng *r);
double oig_rng_uniform(oig_rng *r);      /* [0, 1) */
double oig_rng_normal(oig_rng *r);       /* N(0, 1), Box-Muller */

/* ---- orthogonal least squares (spec section 3) ---- */
/* Factor the n x n symmetric PSD matrix R (row-major, ld n; only entries R[q][m] with q <= m are
 * read) by modified Gram-Schmidt in the autocorrelation domain: aor (n x n, lower triangular)
 * receives the orthonormal basis; a row whose squared residual norm g <= eps * R[m][m] is a
 * dependent basis function and stays zero. Returns the number of dependent rows.
 * work holds n doubles. */
int oig_ols_factor(const double *r, int n, double eps, double *aor, double *work);
/* Solve with a factor: X = Aor^T (Aor C) for C (n x ncols, ld ldc), in place. work >= n*ncols. */
void oig_ols_apply(const double *aor, int n, double *c, int ncols, int ldc, double *work);
/* Both at once for a single system; returns dependent-row count or -1 on allocation failure. */
int oig_ols_solve(const double *r, int n, double eps, double *c, int ncols, int ldc);

#endif

/* dgemm_rate.c -- this machine's dgemm rate, the yardstick for the engine's GFLOP/s.
 *
 * Times cblas_dgemm (row-major, C = A B, A m x k, B k x n) on OpenBLAS for each shape given, with
 * the thread count from OPENBLAS_NUM_THREADS, repeating until at least --min-seconds have passed
 * (after one warm-up call), and prints one JSON object per shape: flops = 2 m n k per call.
 * Also reports a dsyrk shape (C = A' A, A rows x cols, 2*rows*cols*(cols+1)/2 flops), the other
 * kernel the engine's pattern sums use.
 *
 * Build:  cc -O2 -o bench/work/dgemm_rate bench/dgemm_rate.c \
 *             -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas
 * Run:    OPENBLAS_NUM_THREADS=2 dgemm_rate [--min-seconds 1] [gemm MxNxK ...] [syrk ROWSxCOLS ...]
 *         default: gemm 1000x1000x1000 gemm 100000x100x100 gemm 100x100x100000 syrk 100000x111
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static double *filled(size_t n)
{
    double *p = malloc(n * sizeof *p);
    if (!p) { fprintf(stderr, "out of memory\n"); exit(1); }
    for (size_t i = 0; i < n; i++) p[i] = (double)((i * 2654435761u) % 1000) / 1000.0 - 0.5;
    return p;
}

static void run_gemm(long m, long n, long k, double min_s)
{
    double *a = filled((size_t)m * k), *b = filled((size_t)k * n), *c = filled((size_t)m * n);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a, k, b, n, 0.0, c, n);
    long reps = 0;
    double t0 = now_s(), t;
    do {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a, k, b, n, 0.0, c, n);
        reps++;
        t = now_s() - t0;
    } while (t < min_s);
    double gf = 2.0 * m * n * k * reps / t / 1e9;
    printf("{\"kernel\": \"dgemm\", \"m\": %ld, \"n\": %ld, \"k\": %ld, \"reps\": %ld, \"seconds\": %.4f, "
           "\"gflops\": %.2f, \"threads\": \"%s\"}\n", m, n, k, reps, t, gf,
           getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "default");
    free(a); free(b); free(c);
}

static void run_syrk(long rows, long cols, double min_s)
{
    double *a = filled((size_t)rows * cols), *c = filled((size_t)cols * cols);
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, cols, rows, 1.0, a, cols, 0.0, c, cols);
    long reps = 0;
    double t0 = now_s(), t;
    do {
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, cols, rows, 1.0, a, cols, 0.0, c, cols);
        reps++;
        t = now_s() - t0;
    } while (t < min_s);
    double gf = (double)rows * cols * (cols + 1) * reps / t / 1e9;
    printf("{\"kernel\": \"dsyrk\", \"rows\": %ld, \"cols\": %ld, \"reps\": %ld, \"seconds\": %.4f, "
           "\"gflops\": %.2f, \"threads\": \"%s\"}\n", rows, cols, reps, t, gf,
           getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "default");
    free(a); free(c);
}

int main(int argc, char **argv)
{
    double min_s = 1.0;
    int any = 0;
    for (int i = 1; i < argc; i++) {
        long m, n, k;
        if (!strcmp(argv[i], "--min-seconds") && i + 1 < argc) {
            min_s = atof(argv[++i]);
        } else if (!strcmp(argv[i], "gemm") && i + 1 < argc &&
                   sscanf(argv[i + 1], "%ldx%ldx%ld", &m, &n, &k) == 3) {
            run_gemm(m, n, k, min_s);
            i++; any = 1;
        } else if (!strcmp(argv[i], "syrk") && i + 1 < argc &&
                   sscanf(argv[i + 1], "%ldx%ld", &m, &n) == 2) {
            run_syrk(m, n, min_s);
            i++; any = 1;
        } else {
            fprintf(stderr, "usage: dgemm_rate [--min-seconds S] [gemm MxNxK ...] [syrk ROWSxCOLS ...]\n");
            return 2;
        }
    }
    if (!any) {
        run_gemm(1000, 1000, 1000, min_s);
        run_gemm(100000, 100, 100, min_s);
        run_gemm(100, 100, 100000, min_s);
        run_syrk(100000, 111, min_s);
    }
    return 0;
}

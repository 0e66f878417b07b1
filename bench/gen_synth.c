/* gen_synth.c -- deterministic synthetic regression data for the scale benchmarks.
 *
 * Row p: inputs x_p(n) ~ uniform(-sqrt 3, sqrt 3) (unit variance), n = 1..N, and M targets
 *   t_p(i) = sum_{r=1..R} a(i,r) sin(u(i,r).x_p / sqrt N + c(i,r)) + 0.3 (v(i).x_p / sqrt N)^2
 *            + noise * gaussian,
 * a smooth nonlinear function with R = 4 ridge terms per output; u, v ~ N(0,1), a ~ uniform(0.5, 1.5),
 * c ~ uniform(-pi, pi). Everything comes from one xoshiro256** stream seeded by --seed, so the same
 * options give byte-identical files. Columns 0..N-1 are inputs, N..N+M-1 targets. Optionally writes
 * train/test index files (first rows train, last round(test_frac*rows) test: rows are i.i.d.).
 *
 * Build:  cc -O2 -o bench/work/gen_synth bench/gen_synth.c -lm
 * Run:    gen_synth --rows 100000 --inputs 100 --outputs 10 --seed 1 --format ws|csv \
 *                   --out FILE [--noise 0.1] [--index-prefix P --test-frac 0.1]
 *         (writes P_train.txt and P_test.txt)
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R_TERMS 4
#define PI 3.14159265358979323846

static uint64_t s[4];

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next_u64(void)
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return r;
}

static void seed_rng(uint64_t seed)
{
    for (int i = 0; i < 4; i++) {               /* splitmix64 expansion of the seed */
        uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        s[i] = z ^ (z >> 31);
    }
}

static double unif(void) { return (next_u64() >> 11) * 0x1.0p-53; }

static double gauss(void)
{
    double u1 = unif(), u2 = unif();
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * PI * u2);
}

/* Appends v to buf in a short exact-enough form (%.6g) and returns the new end. */
static char *put(char *b, double v)
{
    return b + sprintf(b, "%.6g", v);
}

static void usage(void)
{
    fprintf(stderr, "usage: gen_synth --rows NV --inputs N --outputs M --seed S --format ws|csv "
                    "--out FILE [--noise SD] [--index-prefix P --test-frac F]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    long rows = 0, n = 0, m = 1;
    uint64_t seed = 1;
    double noise = 0.1, test_frac = 0.1;
    const char *fmt = "ws", *out = NULL, *prefix = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 >= argc) usage();
        const char *k = argv[i], *v = argv[++i];
        if (!strcmp(k, "--rows")) rows = atol(v);
        else if (!strcmp(k, "--inputs")) n = atol(v);
        else if (!strcmp(k, "--outputs")) m = atol(v);
        else if (!strcmp(k, "--seed")) seed = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--noise")) noise = atof(v);
        else if (!strcmp(k, "--format")) fmt = v;
        else if (!strcmp(k, "--out")) out = v;
        else if (!strcmp(k, "--index-prefix")) prefix = v;
        else if (!strcmp(k, "--test-frac")) test_frac = atof(v);
        else usage();
    }
    int csv = !strcmp(fmt, "csv");
    if (rows < 1 || n < 1 || m < 1 || !out || (!csv && strcmp(fmt, "ws"))) usage();

    seed_rng(seed);
    double *u = malloc(sizeof(double) * m * R_TERMS * n), *a = malloc(sizeof(double) * m * R_TERMS);
    double *c = malloc(sizeof(double) * m * R_TERMS), *w = malloc(sizeof(double) * m * n);
    double *x = malloc(sizeof(double) * n);
    char *line = malloc((size_t)(n + m) * 24 + 16);
    if (!u || !a || !c || !w || !x || !line) { fprintf(stderr, "out of memory\n"); return 1; }
    for (long i = 0; i < m * R_TERMS * n; i++) u[i] = gauss();
    for (long i = 0; i < m * R_TERMS; i++) { a[i] = 0.5 + unif(); c[i] = PI * (2 * unif() - 1); }
    for (long i = 0; i < m * n; i++) w[i] = gauss();
    double isn = 1.0 / sqrt((double)n), half = sqrt(3.0);

    FILE *f = fopen(out, "w");
    if (!f) { perror(out); return 1; }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    char sep = csv ? ',' : ' ';
    if (csv) {
        for (long j = 0; j < n; j++) fprintf(f, "x%ld,", j + 1);
        for (long i = 0; i < m; i++) fprintf(f, "t%ld%c", i + 1, i + 1 < m ? ',' : '\n');
    }
    for (long p = 0; p < rows; p++) {
        char *b = line;
        for (long j = 0; j < n; j++) {
            x[j] = half * (2 * unif() - 1);
            b = put(b, x[j]);
            *b++ = sep;
        }
        for (long i = 0; i < m; i++) {
            double t = 0.0, q = 0.0;
            for (int r = 0; r < R_TERMS; r++) {
                const double *ur = u + ((size_t)i * R_TERMS + r) * n;
                double d = 0.0;
                for (long j = 0; j < n; j++) d += ur[j] * x[j];
                t += a[i * R_TERMS + r] * sin(d * isn + c[i * R_TERMS + r]);
            }
            for (long j = 0; j < n; j++) q += w[i * n + j] * x[j];
            q *= isn;
            t += 0.3 * q * q + noise * gauss();
            b = put(b, t);
            *b++ = i + 1 < m ? sep : '\n';
        }
        fwrite(line, 1, (size_t)(b - line), f);
    }
    if (fclose(f)) { perror(out); return 1; }

    if (prefix) {
        long nte = lround(test_frac * rows), ntr = rows - nte;
        char path[4096];
        snprintf(path, sizeof path, "%s_train.txt", prefix);
        FILE *g = fopen(path, "w");
        if (!g) { perror(path); return 1; }
        for (long p = 0; p < ntr; p++) fprintf(g, "%ld\n", p);
        fclose(g);
        snprintf(path, sizeof path, "%s_test.txt", prefix);
        g = fopen(path, "w");
        if (!g) { perror(path); return 1; }
        for (long p = ntr; p < rows; p++) fprintf(g, "%ld\n", p);
        fclose(g);
    }
    free(u); free(a); free(c); free(w); free(x); free(line);
    return 0;
}

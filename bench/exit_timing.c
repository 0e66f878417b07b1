/* exit_timing.c -- per anytime exit, the error and the in-process prediction time: loads a model
 * document and a data file (CSV with a header: the model's inputs, then its targets - the class
 * column for a classifier, the last M columns for regression), evaluates every exit on those rows
 * (MSE, and error % for a classifier) and times oig_model_predict_exit for every exit in five
 * rounds of --min-seconds/5 each (after a warm-up round). Prints, per exit: exit, hidden units
 * read, multiplies per row, seconds per call (the fastest round), rows, MSE, error %.
 * Built and run by bench/related_compare.sh against the Release build's static libraries.
 *
 *   exit_timing MODEL.json DATA.csv [--min-seconds 0.3]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model_doc.h"
#include "oig.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) { free(b); b = NULL; }
    fclose(f);
    if (b) { b[n] = '\0'; *len = (size_t)n; }
    return b;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: exit_timing MODEL.json DATA.csv [--min-seconds S]\n"); return 2; }
    double min_s = argc >= 5 && strcmp(argv[3], "--min-seconds") == 0 ? atof(argv[4]) : 0.3;
    oig_blas_set_threads(1);
    size_t len;
    char *buf = slurp(argv[1], &len);
    oig_model *m = NULL;
    oig_error err;
    memset(&err, 0, sizeof err);
    if (buf == NULL || model_doc_read(buf, len, &m, &err) != OIG_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], err.message);
        return 1;
    }
    free(buf);
    if ((buf = slurp(argv[2], &len)) == NULL) { perror(argv[2]); return 1; }
    oig_parse_opts po;
    oig_parse_opts_init(&po);
    po.task = m->task;
    if (m->task == OIG_REGRESSION) po.outputs = m->m;
    oig_data *d = NULL;
    if (oig_data_parse(buf, len, &po, &d, &err) != OIG_OK || d->n != m->n) {
        fprintf(stderr, "%s: %s\n", argv[2], err.message);
        return 1;
    }
    free(buf);
    int *map = calloc((size_t)d->m + 1, sizeof(int));   /* the data's class -> the model's */
    if (m->task == OIG_CLASSIFICATION) {
        for (int c = 0; c < d->nclasses; c++) {
            map[c] = -1;
            for (int k = 0; k < m->nclasses; k++)
                if (strcmp(d->labels[c], m->labels[k]) == 0) map[c] = k;
            if (map[c] < 0) { fprintf(stderr, "%s: label %s is not the model's\n", argv[2], d->labels[c]); return 1; }
        }
    } else if (d->m != m->m) { fprintf(stderr, "%s: %d targets, the model has %d\n", argv[2], d->m, m->m); return 1; }
    double *y = malloc(d->nrows * (size_t)m->m * sizeof(double));
    int *cls = malloc(d->nrows * sizeof(int));
    /* rounds over the exits in turn; each exit's time is its fastest round (warm-up excluded) */
    int K = oig_model_exit_count(m);
    double best[16];
    for (int k = 0; k < K; k++) best[k] = 1e300;
    for (int round = -1; round < 5; round++)
        for (int k = 0; k < K; k++) {
            long reps = 0;
            double t0 = now(), t1;
            do {
                oig_model_predict_exit(m, k, d->x, d->nrows, y, m->task == OIG_CLASSIFICATION ? cls : NULL);
                reps++;
                t1 = now();
            } while (t1 - t0 < min_s / 5);
            if (round >= 0 && (t1 - t0) / reps < best[k]) best[k] = (t1 - t0) / reps;
        }
    printf("exit,units,multiplies_per_row,seconds_per_call,rows,mse,err_pct\n");
    for (int k = 0; k < K; k++) {
        int units = m->exits.nexits > 0 ? m->exits.units[k] : m->nh;
        int cl = m->task == OIG_CLASSIFICATION;
        oig_model_predict_exit(m, k, d->x, d->nrows, y, cl ? cls : NULL);
        double sse = 0.0, wrong = 0.0;
        for (size_t p = 0; p < d->nrows; p++) {
            for (int i = 0; i < m->m; i++) {
                double t = cl ? (map[d->cls[p]] == i ? 1.0 : -1.0) : d->t[p * (size_t)d->m + i];
                sse += (t - y[p * (size_t)m->m + i]) * (t - y[p * (size_t)m->m + i]);
            }
            if (cl && cls[p] != map[d->cls[p]]) wrong += 1.0;
        }
        printf("%d,%d,%.0f,%.6g,%zu,%.10g,", k + 1, units, oig_model_exit_multiplies(m, k), best[k], d->nrows,
               sse / (double)d->nrows);
        if (cl) printf("%.6g\n", 100.0 * wrong / (double)d->nrows);
        else printf("\n");
    }
    free(map);
    free(y);
    free(cls);
    oig_data_free(d);
    oig_model_free(m);
    return 0;
}

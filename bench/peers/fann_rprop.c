/* fann_rprop.c -- FANN peer: RPROP (FANN_TRAIN_RPROP, batch) on a 1-hidden-layer net
 * (FANN_SIGMOID_SYMMETRIC hidden = tanh with FANN's default steepness 0.5, FANN_LINEAR outputs,
 * no bypass weights) with FANN_ERRORFUNC_LINEAR (plain squared error, not FANN's default
 * atanh-transformed error), double-precision libdoublefann, weights from srand(seed) +
 * fann_randomize_weights (FANN seeds itself from /dev/urandom at creation; reseeding afterwards makes
 * runs repeatable). Trains for a wall-clock budget; the clock runs only inside fann_train_epoch, and
 * trace points (MSE on the original target scale) are taken with it stopped.
 *
 * Input file (written by fann_rprop.py): "NTR NTE N M TASK" (TASK 0 regression, 1 classification),
 * a line of M target means, a line of M target scales, then NTR+NTE rows of N standardized inputs
 * and M training-scale targets.
 *
 * Build:  cc -O2 -o bench/work/fann_rprop bench/peers/fann_rprop.c -ldoublefann -lm
 * Run:    fann_rprop DATA NH BUDGET_S SEED TRACE.csv   (summary as one JSON line on stdout)
 */
#define _POSIX_C_SOURCE 200809L
#include <doublefann.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static unsigned g_ntr, g_n, g_m;
static double *g_x, *g_t;   /* all rows: (ntr+nte) x n and x m */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* Callback for fann_create_train_from_callback: copies training row num. */
static void FANN_API fill_row(unsigned num, unsigned n, unsigned m, fann_type *in, fann_type *out)
{
    for (unsigned j = 0; j < n; j++) in[j] = g_x[(size_t)num * n + j];
    for (unsigned i = 0; i < m; i++) out[i] = g_t[(size_t)num * m + i];
}

/* MSE (summed over outputs, mean over rows) on the original target scale over rows [r0, r1), and
 * the argmax error % when classification. */
static void evaluate(struct fann *ann, unsigned r0, unsigned r1, const double *tmu,
                     const double *tsd, int task, double *mse, double *err)
{
    double s = 0.0;
    unsigned wrong = 0;
    fann_type in[4096];
    for (unsigned p = r0; p < r1; p++) {
        for (unsigned j = 0; j < g_n; j++) in[j] = g_x[(size_t)p * g_n + j];
        fann_type *y = fann_run(ann, in);
        unsigned ay = 0, at = 0;
        for (unsigned i = 0; i < g_m; i++) {
            double yo = y[i] * tsd[i] + tmu[i], to = g_t[(size_t)p * g_m + i] * tsd[i] + tmu[i];
            s += (yo - to) * (yo - to);
            if (y[i] > y[ay]) ay = i;
            if (g_t[(size_t)p * g_m + i] > g_t[(size_t)p * g_m + at]) at = i;
        }
        wrong += task && ay != at;
    }
    *mse = s / (r1 - r0);
    *err = 100.0 * wrong / (r1 - r0);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s DATA NH BUDGET_S SEED TRACE.csv\n", argv[0]);
        return 2;
    }
    unsigned nh = (unsigned)atoi(argv[2]);
    double budget = atof(argv[3]);
    unsigned seed = (unsigned)strtoul(argv[4], NULL, 10);
    FILE *f = fopen(argv[1], "r");
    if (!f) { perror(argv[1]); return 1; }
    unsigned nte;
    int task;
    if (fscanf(f, "%u %u %u %u %d", &g_ntr, &nte, &g_n, &g_m, &task) != 5 || g_n > 4096) {
        fprintf(stderr, "%s: bad header\n", argv[1]);
        return 1;
    }
    unsigned nall = g_ntr + nte;
    double *tmu = malloc(g_m * sizeof *tmu), *tsd = malloc(g_m * sizeof *tsd);
    g_x = malloc((size_t)nall * g_n * sizeof *g_x);
    g_t = malloc((size_t)nall * g_m * sizeof *g_t);
    if (!tmu || !tsd || !g_x || !g_t) { fprintf(stderr, "out of memory\n"); return 1; }
    for (unsigned i = 0; i < g_m; i++) if (fscanf(f, "%lf", &tmu[i]) != 1) return 1;
    for (unsigned i = 0; i < g_m; i++) if (fscanf(f, "%lf", &tsd[i]) != 1) return 1;
    for (unsigned p = 0; p < nall; p++) {
        for (unsigned j = 0; j < g_n; j++)
            if (fscanf(f, "%lf", &g_x[(size_t)p * g_n + j]) != 1) { fprintf(stderr, "short data\n"); return 1; }
        for (unsigned i = 0; i < g_m; i++)
            if (fscanf(f, "%lf", &g_t[(size_t)p * g_m + i]) != 1) { fprintf(stderr, "short data\n"); return 1; }
    }
    fclose(f);

    struct fann *ann = fann_create_standard(3, g_n, nh, g_m);
    fann_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC);
    fann_set_activation_function_output(ann, FANN_LINEAR);
    fann_set_training_algorithm(ann, FANN_TRAIN_RPROP);
    fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR);
    srand(seed);
    fann_randomize_weights(ann, -0.1, 0.1);
    struct fann_train_data *td = fann_create_train_from_callback(g_ntr, g_n, g_m, fill_row);

    FILE *tr = fopen(argv[5], "w");
    if (!tr) { perror(argv[5]); return 1; }
    fprintf(tr, task ? "seconds,train_mse,val_mse,train_err,val_err\n" : "seconds,train_mse,val_mse\n");
    double trained = 0.0, next_t = 0.01, mtr, etr, mte, ete;
    long epochs = 0;
    while (trained < budget) {
        double t0 = now_s();
        fann_train_epoch(ann, td);
        trained += now_s() - t0;
        epochs++;
        if (trained >= next_t || trained >= budget) {
            evaluate(ann, 0, g_ntr, tmu, tsd, task, &mtr, &etr);
            evaluate(ann, g_ntr, nall, tmu, tsd, task, &mte, &ete);
            if (task) fprintf(tr, "%.7g,%.7g,%.7g,%.7g,%.7g\n", trained, mtr, mte, etr, ete);
            else fprintf(tr, "%.7g,%.7g,%.7g\n", trained, mtr, mte);
            while (next_t <= trained) next_t *= 1.08;
        }
    }
    evaluate(ann, 0, g_ntr, tmu, tsd, task, &mtr, &etr);
    evaluate(ann, g_ntr, nall, tmu, tsd, task, &mte, &ete);
    fclose(tr);
    printf("{\"tool\": \"fann-rprop\", \"trained_s\": %.4f, \"epochs\": %ld, \"final_train_mse\": %.9g, "
           "\"final_val_mse\": %.9g, \"test_rmse\": %.9g, \"final_train_err\": %.6g, \"final_val_err\": %.6g, "
           "\"fann_type\": \"double\", \"errorfunc\": \"FANN_ERRORFUNC_LINEAR\", \"threads\": 1}\n",
           trained, epochs, mtr, mte, sqrt(mte), etr, ete);
    fann_destroy_train(td);
    fann_destroy(ann);
    free(g_x); free(g_t); free(tmu); free(tsd);
    return 0;
}

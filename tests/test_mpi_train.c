/* test_mpi_train.c -- `mpirun -np K oigd train` gives the same model for K = 1, 2 and 4, and the
 * same model (to rounding) as the binary run without mpirun. Built only with OIGD_MPI=ON.
 *
 * The binary comes from OIGD_BIN, the launcher from MPIEXEC (default mpirun), run with
 * --oversubscribe (this machine has 2 cores) and allowed to run as root. Each test makes its
 * data in a fresh mkdtemp directory and removes it afterwards.
 */
#include <check.h>
#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model_doc.h"
#include "oig.h"
#include "support_model.h"
#include "support_suite.h"
#include "support_tmp.h"

#define AGREE 1e-10         /* relative agreement required between process counts */

static char tdir[256];

static void setup(void) {
    ck_assert_int_eq(support_tmpdir(tdir, sizeof tdir, "mpi"), 0);
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
}

static void teardown(void) { support_rmtree(tdir); }

static const char *tpath(const char *name) {
    static char bufs[32][512];
    static int next;
    char *b = bufs[next++ % 32];
    snprintf(b, sizeof bufs[0], "%s/%s", tdir, name);
    return b;
}

static const char *bin(void) {
    const char *b = getenv("OIGD_BIN");
    ck_assert_msg(b != NULL, "OIGD_BIN is not set");
    return b;
}

static const char *launcher(void) {
    const char *l = getenv("MPIEXEC");
    return l && *l ? l : "mpirun";
}

/* Run a shell command built from fmt; returns its exit status. */
static int run(const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    ck_assert_int_lt(n, (int)sizeof cmd);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A smooth regression problem (N = 5, M = 2) or its 3-class version; rows in file order. */
static void write_data(const char *path, size_t rows, int classify) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(classify ? "a,b,c,d,e,class\n" : "a,b,c,d,e,y1,y2\n", f);
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    for (size_t p = 0; p < rows; p++) {
        double x[5];
        for (int j = 0; j < 5; j++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            x[j] = (double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0;
        }
        double y1 = sin(2 * x[0] + x[1]) + 0.5 * x[2] * x[3], y2 = cos(x[4] - x[0]) * x[1];
        fprintf(f, "%.6f,%.6f,%.6f,%.6f,%.6f,", x[0], x[1], x[2], x[3], x[4]);
        if (classify) fprintf(f, "%s\n", y1 > 0.4 ? "high" : (y1 < -0.4 ? "\"low, neg\"" : "mid"));
        else fprintf(f, "%.6f,%.6f\n", y1, y2);
    }
    fclose(f);
}

static oig_model *load_model(const char *path) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "no model at %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    oig_model *m = NULL;
    oig_error err;
    ck_assert_int_eq(model_doc_read(b, (size_t)n, &m, &err), OIG_OK);
    free(b);
    return m;
}

/* Train with K ranks (K = 0: the binary alone, without the launcher) into model file out. */
static void train(int k, const char *data, const char *opts, const char *out) {
    int rc;
    if (k == 0)
        rc = run("OPENBLAS_NUM_THREADS=1 '%s' train --data '%s' %s --blas-threads 1 --quiet "
                 "--model-out '%s'", bin(), data, opts, out);
    else
        rc = run("OPENBLAS_NUM_THREADS=1 %s --oversubscribe -np %d '%s' train --data '%s' %s "
                 "--quiet --model-out '%s'", launcher(), k, bin(), data, opts, out);
    ck_assert_msg(rc == 0, "training with K=%d failed (exit %d)", k, rc);
}

/* K = 1, 2, 4 agree to AGREE; returns the models' largest difference from K = 1. */
static double check_k_invariant(const char *data, const char *opts, const char *tag) {
    char name[64];
    oig_model *ref = NULL;
    double worst = 0;
    int ks[3] = { 1, 2, 4 };
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "%s_k%d.json", tag, ks[i]);
        train(ks[i], data, opts, tpath(name));
        oig_model *m = load_model(tpath(name));
        if (ref == NULL) { ref = m; continue; }
        double d = support_model_diff(ref, m);
        printf("%s: K=%d vs K=1: max relative difference %.3g\n", tag, ks[i], d);
        ck_assert_msg(d <= AGREE, "%s: K=%d differs from K=1 by %g", tag, ks[i], d);
        ck_assert_int_eq(m->summary.iterations, ref->summary.iterations);
        if (d > worst) worst = d;
        oig_model_free(m);
    }
    oig_model_free(ref);
    return worst;
}

START_TEST(test_oig_hwo_same_model_for_k_1_2_4) {
    write_data(tpath("r.csv"), 1500, 0);
    check_k_invariant(tpath("r.csv"),
                      "--outputs 2 --hidden 6 --iterations 15 --block-rows 128 --validation 0.2",
                      "oighwo");
}
END_TEST

START_TEST(test_lm_same_model_for_k_1_2_4) {
    write_data(tpath("r.csv"), 1200, 0);
    check_k_invariant(tpath("r.csv"),
                      "--outputs 2 --algorithm lm --hidden 4 --iterations 8 --block-rows 100",
                      "lm");
}
END_TEST

/* geodesic acceleration's pass sums over the rows through the same reduce seam */
START_TEST(test_lm_geodesic_same_model_for_k_1_2_4) {
    write_data(tpath("r.csv"), 1200, 0);
    check_k_invariant(tpath("r.csv"),
                      "--outputs 2 --algorithm lm --lm-update gain --lm-acceleration geodesic --hidden 4 "
                      "--iterations 8 --block-rows 100",
                      "lmgeo");
}
END_TEST

/* mixed precision: each block's single-precision sums join the double ones at the block's end */
START_TEST(test_lm_mixed_precision_same_model_for_k_1_2_4) {
    write_data(tpath("r.csv"), 1200, 0);
    check_k_invariant(tpath("r.csv"),
                      "--outputs 2 --algorithm lm --lm-update gain --lm-precision mixed --hidden 4 "
                      "--iterations 8 --block-rows 100",
                      "lmmixed");
}
END_TEST

START_TEST(test_hwo_classification_index_files_same_model_for_k_1_2_4) {
    write_data(tpath("c.csv"), 1300, 1);
    /* a scattered train/test split given as index files, in a non-sorted order */
    FILE *tr = fopen(tpath("train.txt"), "w"), *te = fopen(tpath("test.txt"), "w");
    for (size_t i = 0; i < 1300; i++) {
        size_t r = (i * 7919) % 1300;
        fprintf(r % 5 == 0 ? te : tr, "%zu\n", r);
    }
    fclose(tr);
    fclose(te);
    char opts[1024];
    snprintf(opts, sizeof opts, "--task classification --algorithm hwo --hidden 5 --iterations 10 "
             "--block-rows 64 --train-index '%s' --test-index '%s'", tpath("train.txt"), tpath("test.txt"));
    check_k_invariant(tpath("c.csv"), opts, "hwo_cls");
    /* the labels are the file's, in the engine's order, on every K */
    oig_model *m = load_model(tpath("hwo_cls_k4.json"));
    ck_assert_int_eq(m->nclasses, 3);
    ck_assert_str_eq(m->labels[0], "high");
    ck_assert_str_eq(m->labels[1], "low, neg");
    ck_assert_str_eq(m->labels[2], "mid");
    oig_model_free(m);
}
END_TEST

START_TEST(test_one_process_without_launcher_matches_k1) {
    write_data(tpath("r.csv"), 1500, 0);
    const char *opts = "--outputs 2 --hidden 6 --iterations 15 --block-rows 128 --validation 0.2";
    train(0, tpath("r.csv"), opts, tpath("plain.json"));
    train(1, tpath("r.csv"), opts, tpath("k1.json"));
    oig_model *a = load_model(tpath("plain.json")), *b = load_model(tpath("k1.json"));
    double d = support_model_diff(a, b);
    printf("oig-hwo: K=1 vs no launcher: max relative difference %.3g\n", d);
    ck_assert_msg(d <= AGREE, "K=1 differs from the plain run by %g", d);
    ck_assert_int_eq(a->summary.iterations, b->summary.iterations);
    oig_model_free(a);
    oig_model_free(b);
}
END_TEST

/* max_seconds is agreed through the reduce seam: every rank stops at the same iteration (a rank
 * that went on would wait in its next sum and the run would not end), and the model says why. */
START_TEST(test_max_seconds_stops_every_rank_together) {
    write_data(tpath("r.csv"), 1200, 0);
    train(2, tpath("r.csv"), "--outputs 2 --algorithm lm --hidden 8 --iterations 100000000 "
          "--max-seconds 0.5 --block-rows 100", tpath("timed.json"));
    oig_model *m = load_model(tpath("timed.json"));
    ck_assert_str_eq(m->summary.stop_reason, "max_seconds");
    ck_assert_int_gt(m->summary.iterations, 0);
    ck_assert_int_lt(m->summary.iterations, 100000000);
    oig_model_free(m);
}
END_TEST

START_TEST(test_rank_parse_error_names_the_file_line) {
    write_data(tpath("r.csv"), 800, 0);
    /* spoil a cell on line 700 (owned by the last rank), then ask for the message */
    run("sed -i '700s/^[^,]*,/zz,/' '%s'", tpath("r.csv"));
    int rc = run("%s --oversubscribe -np 4 '%s' train --data '%s' --outputs 2 --block-rows 50 "
                 "--quiet 2> '%s' > /dev/null", launcher(), bin(), tpath("r.csv"), tpath("err.txt"));
    ck_assert_int_ne(rc, 0);
    FILE *f = fopen(tpath("err.txt"), "r");
    char buf[8192];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    ck_assert_msg(strstr(buf, "r.csv:700:1:") != NULL, "no line 700 in: %s", buf);
}
END_TEST

START_TEST(test_too_many_ranks_for_the_blocks_is_refused) {
    write_data(tpath("r.csv"), 300, 0);
    int rc = run("%s --oversubscribe -np 4 '%s' train --data '%s' --outputs 2 --block-rows 128 "
                 "--quiet 2> '%s'", launcher(), bin(), tpath("r.csv"), tpath("err.txt"));
    ck_assert_int_ne(rc, 0);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("mpi_train");
    TCase *tc = tcase_create("k_invariance");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_oig_hwo_same_model_for_k_1_2_4);
    tcase_add_test(tc, test_lm_same_model_for_k_1_2_4);
    tcase_add_test(tc, test_lm_geodesic_same_model_for_k_1_2_4);
    tcase_add_test(tc, test_lm_mixed_precision_same_model_for_k_1_2_4);
    tcase_add_test(tc, test_hwo_classification_index_files_same_model_for_k_1_2_4);
    tcase_add_test(tc, test_one_process_without_launcher_matches_k1);
    tcase_add_test(tc, test_max_seconds_stops_every_rank_together);
    tcase_add_test(tc, test_rank_parse_error_names_the_file_line);
    tcase_add_test(tc, test_too_many_ranks_for_the_blocks_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return suite_run(suite(), CK_FORK_GETENV);
}

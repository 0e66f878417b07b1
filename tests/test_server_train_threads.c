/* test_server_train_threads.c -- training on several threads of one process
 * (server/train_threads.c): with canonical sums the result is the one-thread result bit for bit, for
 * every trainer that splits its rows, regression and classification; without them it agrees to
 * round-off; the threads stop together, for the caller's callback, max_seconds and patience;
 * the caller's callback runs once per iteration; small data, the related trainers and
 * multi-process runs train on the calling thread; and when one member fails on its own (an
 * allocation of its thread, failed on purpose), the others stop instead of waiting for it.
 *
 * This suite is linked with malloc and pthread_create wrapped (CMakeLists.txt): the wrappers
 * pass everything through unless a test arms them.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "support_model.h"
#include "support_suite.h"
#include "train_threads.h"

enum { NI = 6, NH = 8, NO = 2 };

/* Seeded rows: smooth targets of NI inputs; classify = 1 makes 3 classes (+1/-1 coded). */
static void make_data(oig_data *d, size_t rows, uint64_t seed, int classify) {
    oig_rng r;
    oig_rng_seed(&r, seed);
    memset(d, 0, sizeof *d);
    int m = classify ? 3 : NO;
    d->nrows = rows; d->n = NI; d->m = m;
    d->x = malloc(sizeof(double) * rows * NI);
    d->t = malloc(sizeof(double) * rows * m);
    if (classify) {
        d->task = OIG_CLASSIFICATION;
        d->nclasses = 3;
        d->cls = malloc(sizeof(int) * rows);
    }
    for (size_t p = 0; p < rows; p++) {
        double *x = d->x + p * NI;
        for (int j = 0; j < NI; j++) x[j] = 2.0 * oig_rng_normal(&r) + j;
        double a = sin(x[0]) + 0.3 * x[2] * x[3], b = tanh(x[1] - x[4]) + 0.05 * oig_rng_normal(&r);
        if (classify) {
            int c = a + b > 0.5 ? 2 : a + b > -0.5 ? 1 : 0;
            d->cls[p] = c;
            for (int k = 0; k < 3; k++) d->t[p * 3 + k] = k == c ? 1.0 : -1.0;
        } else {
            d->t[p * NO + 0] = a;
            d->t[p * NO + 1] = b;
        }
    }
}

static void free_data(oig_data *d) { free(d->x); free(d->t); free(d->cls); }

/* ---- one member's allocations fail on purpose ----
 * Threads created while fail_thread >= 0 are numbered in creation order (train_threads_run
 * creates member i as the i-th); on thread number fail_thread every malloc of fail_min_bytes or
 * more returns NULL. */
void *__real_malloc(size_t size);
int __real_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *),
                          void *arg);

static int fail_thread = -1, created;
static size_t fail_min_bytes;
static __thread int thread_number = -1;

typedef struct { void *(*start)(void *); void *arg; int number; } numbered_start;

static void *run_numbered(void *p) {
    numbered_start ns = *(numbered_start *)p;
    free(p);
    thread_number = ns.number;
    return ns.start(ns.arg);
}

void *__wrap_malloc(size_t size) {
    if (fail_thread >= 0 && thread_number == fail_thread && size >= fail_min_bytes) return NULL;
    return __real_malloc(size);
}

int __wrap_pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *),
                          void *arg) {
    if (fail_thread < 0) return __real_pthread_create(thread, attr, start, arg);
    numbered_start *ns = __real_malloc(sizeof *ns);
    if (ns == NULL) return EAGAIN;
    *ns = (numbered_start){ start, arg, created++ };
    int rc = __real_pthread_create(thread, attr, run_numbered, ns);
    if (rc != 0) free(ns);
    return rc;
}

typedef struct { int calls, last, repeated; } counter;

static int count_calls(const oig_progress *p, void *ud) {
    counter *c = ud;
    if (c->calls > 0 && p->iteration != c->last + 1) c->repeated++;
    c->calls++;
    c->last = p->iteration;
    return OIG_CONTINUE;
}

/* Train a fresh copy of the seeded data (train rows + val rows) with cfg; the standardized
 * training inputs are copied to xs when it is not NULL. */
static oig_model *train_fresh(int threads, const oig_config *cfg, size_t rows, size_t vrows,
                              int classify, counter *calls, oig_status *st, double *xs) {
    oig_data d, v;
    make_data(&d, rows, 7, classify);
    make_data(&v, vrows, 8, classify);
    oig_model *mdl = NULL;
    oig_error err;
    *st = train_threads_run(threads, &d, vrows ? &v : NULL, cfg, NULL, calls ? count_calls : NULL,
                            calls, &mdl, &err);
    ck_assert_msg(*st == OIG_OK || *st == OIG_ESTOPPED, "%s", err.message);
    if (xs) memcpy(xs, d.x, sizeof(double) * rows * NI);
    free_data(&d);
    free_data(&v);
    return mdl;
}

static void assert_same_model(const oig_model *a, const oig_model *b) {
    ck_assert_int_eq(a->nh, b->nh);
    ck_assert(memcmp(a->w, b->w, sizeof(double) * a->nh * (a->n + 1)) == 0);
    ck_assert(memcmp(a->woi, b->woi, sizeof(double) * a->m * (a->n + 1)) == 0);
    ck_assert(memcmp(a->woh, b->woh, sizeof(double) * a->m * a->nh) == 0);
    ck_assert(a->summary.train_mse == b->summary.train_mse);
    ck_assert(a->summary.val_mse == b->summary.val_mse ||
              (isnan(a->summary.val_mse) && isnan(b->summary.val_mse)));
    ck_assert_int_eq(a->summary.iterations, b->summary.iterations);
    ck_assert_str_eq(a->summary.stop_reason, b->summary.stop_reason);
}

/* The trainers that split their rows; then LM with geodesic acceleration, whose extra pass sums
 * over the rows too, and LM with mixed precision, whose single-precision sums are added up per
 * block. */
static const struct { oig_algorithm algorithm; int geodesic, mixed; } split_runs[] = {
    { OIG_ALG_OWO, 0, 0 }, { OIG_ALG_BP, 0, 0 }, { OIG_ALG_HWO, 0, 0 }, { OIG_ALG_OIG_BP, 0, 0 },
    { OIG_ALG_OIG_HWO, 0, 0 }, { OIG_ALG_LM, 0, 0 }, { OIG_ALG_LM, 1, 0 }, { OIG_ALG_LM, 0, 1 }
};
#define NSPLIT (int)(sizeof split_runs / sizeof split_runs[0])

static void split_config(oig_config *c, int a) {
    oig_config_init(c);
    c->algorithm = split_runs[a].algorithm;
    if (split_runs[a].geodesic) {
        c->lm_acceleration = OIG_LM_ACCEL_GEODESIC;
        c->lm_update = OIG_LM_UPDATE_GAIN;
    }
    if (split_runs[a].mixed) c->lm_precision = OIG_LM_PREC_MIXED;
}

/* Canonical sums: 2 and 3 threads give the one-thread model, validation error and standardized
 * inputs bit for bit; the rows do not divide evenly into the 64-row blocks. */
START_TEST(test_canonical_sums_make_threads_bit_identical) {
    int classify = _i;
    size_t rows = 1000, vrows = 230;
    double *xs1 = malloc(sizeof(double) * rows * NI), *xsk = malloc(sizeof(double) * rows * NI);
    for (int a = 0; a < NSPLIT; a++) {
        oig_config c;
        split_config(&c, a);
        c.nh = NH; c.max_iterations = 8; c.seed = 3;
        c.canonical_sums = 1; c.block_rows = 64;
        oig_status s1, sk;
        oig_model *one = train_fresh(1, &c, rows, vrows, classify, NULL, &s1, xs1);
        ck_assert(isfinite(one->summary.val_mse));
        for (int k = 2; k <= 3; k++) {
            ck_assert_int_eq(train_threads_count(k, &c, &(oig_data){ .nrows = rows }), k);
            oig_model *many = train_fresh(k, &c, rows, vrows, classify, NULL, &sk, xsk);
            ck_assert_int_eq(s1, sk);
            assert_same_model(one, many);
            if (classify) ck_assert(one->summary.val_err == many->summary.val_err);
            ck_assert(memcmp(xs1, xsk, sizeof(double) * rows * NI) == 0);
            oig_model_free(many);
        }
        oig_model_free(one);
    }
    free(xs1);
    free(xsk);
}
END_TEST

/* Plain sums: each thread adds its own rows, so the totals differ from one thread's in
 * round-off only; after 10 iterations the weights agree to 1e-9. With LM's mixed precision the
 * round-off is single precision's, where the threads' float sums start and end at other rows:
 * the weights and the error agree to 1e-3 (6e-5 and 2e-4 here). */
START_TEST(test_plain_sums_agree_to_round_off) {
    for (int a = 0; a < NSPLIT; a++) {
        oig_config c;
        split_config(&c, a);
        c.nh = NH; c.max_iterations = 10; c.seed = 5;
        oig_status s1, s2;
        oig_model *one = train_fresh(1, &c, 900, 100, 0, NULL, &s1, NULL);
        ck_assert_int_eq(train_threads_count(2, &c, &(oig_data){ .nrows = 900 }), 2);
        oig_model *two = train_fresh(2, &c, 900, 100, 0, NULL, &s2, NULL);
        double d = support_model_diff(one, two), tol_w = split_runs[a].mixed ? 1e-3 : 1e-9;
        ck_assert_msg(d < tol_w, "%s: models differ by %g relative", oig_algorithm_name(c.algorithm), d);
        ck_assert_double_eq_tol(one->summary.train_mse, two->summary.train_mse,
                                tol_w * one->summary.train_mse);
        oig_model_free(one);
        oig_model_free(two);
    }
}
END_TEST

/* The caller's callback runs on one thread, once per iteration, 0..Nit. */
START_TEST(test_callback_runs_once_per_iteration) {
    oig_config c;
    oig_config_init(&c);
    c.algorithm = OIG_ALG_OIG_HWO; c.nh = NH; c.max_iterations = 9;
    counter n = {0, -1, 0};
    oig_status st;
    oig_model *m = train_fresh(2, &c, 800, 0, 0, &n, &st, NULL);
    ck_assert_int_eq(st, OIG_OK);
    ck_assert_int_eq(n.calls, 10);
    ck_assert_int_eq(n.repeated, 0);
    ck_assert_int_eq(n.last, 9);
    oig_model_free(m);
}
END_TEST

static int stop_at_4(const oig_progress *p, void *ud) {
    (void)ud;
    return p->iteration == 4 ? OIG_STOP : OIG_CONTINUE;
}

/* A stop from the callback, max_seconds and patience end every thread at the same iteration,
 * with the one-thread status and reason. */
/* Two threads on 800 rows end with status want at iteration `iterations`, for reason. */
static void expect_two_threads_stop(const oig_config *c, oig_progress_fn cb, oig_status want,
                                    int iterations, const char *reason) {
    oig_data d;
    oig_model *m = NULL;
    oig_error err;
    make_data(&d, 800, 7, 0);
    ck_assert_int_eq(train_threads_run(2, &d, NULL, c, NULL, cb, NULL, &m, &err), want);
    ck_assert_int_eq(m->summary.iterations, iterations);
    ck_assert_str_eq(m->summary.stop_reason, reason);
    oig_model_free(m);
    free_data(&d);
}

START_TEST(test_threads_stop_together) {
    oig_config c;
    oig_config_init(&c);
    c.algorithm = OIG_ALG_LM; c.nh = NH; c.max_iterations = 50;
    expect_two_threads_stop(&c, stop_at_4, OIG_ESTOPPED, 4, "stopped");
    c.max_seconds = 1e-9;    /* passed at iteration 0 */
    expect_two_threads_stop(&c, NULL, OIG_OK, 0, "max_seconds");

    /* patience on the validation rows, which the threads split, against one thread */
    c.max_seconds = 0; c.patience = 2; c.max_iterations = 400; c.nh = 30;
    c.canonical_sums = 1; c.block_rows = 32;
    oig_status s1, s2;
    oig_model *one = train_fresh(1, &c, 600, 40, 0, NULL, &s1, NULL);
    oig_model *two = train_fresh(2, &c, 600, 40, 0, NULL, &s2, NULL);
    ck_assert_str_eq(one->summary.stop_reason, "patience");
    ck_assert_int_lt(one->summary.iterations, 400);
    assert_same_model(one, two);
    oig_model_free(one);
    oig_model_free(two);
}
END_TEST

/* Threads are used where they can help and the rows allow. */
START_TEST(test_thread_count_follows_rows_and_algorithm) {
    oig_config c;
    oig_config_init(&c);
    oig_data d = { .nrows = 300 };
    ck_assert_int_eq(train_threads_count(4, &c, &d), 1);        /* 256 rows a thread */
    d.nrows = 600;
    ck_assert_int_eq(train_threads_count(4, &c, &d), 2);
    d.nrows = 100000;
    ck_assert_int_eq(train_threads_count(4, &c, &d), 4);
    c.canonical_sums = 1;                                       /* a block a thread */
    ck_assert_int_eq(train_threads_count(4, &c, &d), 4);
    d.nrows = 2048 * 2;
    ck_assert_int_eq(train_threads_count(4, &c, &d), 2);
    d.nrows = 2048;
    ck_assert_int_eq(train_threads_count(4, &c, &d), 1);
    c.canonical_sums = 0;
    d.nrows = 100000;
    for (int a = 0; a < OIG_ALG_COUNT; a++) {                   /* the related trainers: one */
        c.algorithm = (oig_algorithm)a;
        ck_assert_int_eq(train_threads_count(4, &c, &d), oig_algorithm_sums_rows(c.algorithm) ? 4 : 1);
    }
    ck_assert_int_eq(oig_algorithm_sums_rows(OIG_ALG_SLNB), 0);
    ck_assert_int_eq(oig_algorithm_sums_rows(OIG_ALG_OIG_HWO), 1);
    c.algorithm = OIG_ALG_LM;
    c.reduce = (oig_reduce_fn)1;                                /* several processes */
    ck_assert_int_eq(train_threads_count(4, &c, &d), 1);
    c.reduce = NULL;
    ck_assert_int_eq(train_threads_count(1, &c, &d), 1);
}
END_TEST

/* A related trainer asked for threads trains as before. */
START_TEST(test_related_trainers_train_as_before) {
    oig_config c;
    oig_config_init(&c);
    c.algorithm = OIG_ALG_SGD; c.nh = NH; c.max_iterations = 3;
    oig_status s1, s2;
    oig_model *one = train_fresh(1, &c, 800, 0, 0, NULL, &s1, NULL);
    oig_model *two = train_fresh(2, &c, 800, 0, 0, NULL, &s2, NULL);
    assert_same_model(one, two);
    oig_model_free(one);
    oig_model_free(two);
}
END_TEST

/* An error every thread meets (a checkpoint of another shape) is returned once, as on one
 * thread, and nothing waits for a thread that has left. */
START_TEST(test_shared_error_is_reported) {
    oig_config c;
    oig_config_init(&c);
    c.algorithm = OIG_ALG_OIG_HWO; c.nh = NH;
    oig_model *other = oig_model_new(NI + 1, NH, NO);
    oig_data d;
    make_data(&d, 800, 7, 0);
    oig_model *m = NULL;
    oig_error err;
    ck_assert_int_eq(train_threads_run(2, &d, NULL, &c, other, NULL, NULL, &m, &err), OIG_EINVAL);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(err.field, "resume");
    oig_model_free(other);
    free_data(&d);
}
END_TEST

/* A member whose own allocation fails (member 0 or 1 of 2, OIG-HWO and LM, whose buffers are
 * the largest) leaves the team before the first sum: the other member, waiting in that sum, gets
 * an error instead of waiting forever; the run returns the failed member's ENOMEM, no model, and
 * leaks nothing (LeakSanitizer in the test build). Disarmed, the same run then trains. */
START_TEST(test_one_member_failure_stops_the_team) {
    oig_algorithm algs[2] = { OIG_ALG_OIG_HWO, OIG_ALG_LM };
    oig_data d;
    make_data(&d, 800, 9, 0);
    for (int a = 0; a < 2; a++)
        for (int failing = 0; failing < 2; failing++) {
            oig_config c;
            oig_config_init(&c);
            c.algorithm = algs[a]; c.nh = NH; c.max_iterations = 5;
            ck_assert_int_eq(train_threads_count(2, &c, &d), 2);
            fail_thread = failing;
            fail_min_bytes = 4096;      /* the trainer's work buffers, not the small bookkeeping */
            created = 0;
            oig_model *m = NULL;
            oig_error err;
            memset(&err, 0, sizeof err);
            oig_status st = train_threads_run(2, &d, NULL, &c, NULL, NULL, NULL, &m, &err);
            fail_thread = -1;
            ck_assert_int_eq(created, 2);
            ck_assert_msg(st == OIG_ENOMEM, "%s, member %d failing: status %d (%s)",
                          oig_algorithm_name(c.algorithm), failing, (int)st, err.message);
            ck_assert_ptr_null(m);
            st = train_threads_run(2, &d, NULL, &c, NULL, NULL, NULL, &m, &err);
            ck_assert_int_eq(st, OIG_OK);
            ck_assert_ptr_nonnull(m);
            oig_model_free(m);
        }
    free_data(&d);
}
END_TEST

int main(void) {
    Suite *s = suite_create("server_train_threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_canonical_sums_make_threads_bit_identical, 0, 2);
    tcase_add_test(tc, test_plain_sums_agree_to_round_off);
    tcase_add_test(tc, test_callback_runs_once_per_iteration);
    tcase_add_test(tc, test_threads_stop_together);
    tcase_add_test(tc, test_thread_count_follows_rows_and_algorithm);
    tcase_add_test(tc, test_related_trainers_train_as_before);
    tcase_add_test(tc, test_shared_error_is_reported);
    tcase_add_test(tc, test_one_member_failure_stops_the_team);
    suite_add_tcase(s, tc);
    return suite_run(s, CK_FORK_GETENV);
}

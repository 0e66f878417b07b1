/* test_engine_score.c -- libcheck suite for engine/score.c: a model's errors on labeled data
 * against a count by hand from its predictions, and fitting a dataset's columns and classes to
 * a model's (by name, by position, recoded labels, and the refusals). Data are generated inline.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oig.h"
#include "support_suite.h"

#define ROWS 120

/* Row p's five values a, b, c, y1, y2 (a smooth regression with two outputs). */
static void row_values(int p, double v[5]) {
    double a = sin(0.37 * p + 0.1), b = cos(1.13 * p), c = (double)(p % 7) / 7.0 - 0.5;
    v[0] = a; v[1] = b; v[2] = c;
    v[3] = tanh(1.5 * a - b) + 0.3 * c;
    v[4] = a * b + 0.2;
}

static const char *const NAMES[5] = {"a", "b", "c", "y1", "y2"};

/* CSV text of rows [0, ROWS) with the columns cols[0..ncols-1] (indices into row_values; -1 = a
 * column "extra" of noise), under the given header names (NULL = NAMES). Caller frees. */
static char *csv(const int *cols, int ncols, const char *const *names) {
    size_t cap = 64 + (size_t)ROWS * (size_t)ncols * 32, len = 0;
    char *s = malloc(cap);
    ck_assert_ptr_nonnull(s);
    for (int k = 0; k < ncols; k++)
        len += (size_t)snprintf(s + len, cap - len, "%s%s", k ? "," : "",
                                names ? names[k] : cols[k] < 0 ? "extra" : NAMES[cols[k]]);
    len += (size_t)snprintf(s + len, cap - len, "\n");
    for (int p = 0; p < ROWS; p++) {
        double v[5];
        row_values(p, v);
        for (int k = 0; k < ncols; k++)
            len += (size_t)snprintf(s + len, cap - len, "%s%.17g", k ? "," : "", cols[k] < 0 ? cos(3.1 * p) : v[cols[k]]);
        len += (size_t)snprintf(s + len, cap - len, "\n");
    }
    return s;
}

static oig_data *parse_regression(const int *cols, int ncols, const char *const *names, const char *targets) {
    char *text = csv(cols, ncols, names);
    oig_parse_opts o;
    oig_parse_opts_init(&o);
    o.targets = targets;
    oig_data *d = NULL;
    oig_error e;
    ck_assert_int_eq(oig_data_parse(text, strlen(text), &o, &d, &e), OIG_OK);
    free(text);
    return d;
}

static const int TRAIN_COLS[5] = {0, 1, 2, 3, 4};

/* A model of four hidden units after a few OIG-HWO iterations on d, which is freed. */
static oig_model *trained_on(oig_data *d) {
    oig_config c;
    oig_config_init(&c);
    c.nh = 4;
    c.max_iterations = 5;
    oig_model *mdl = NULL;
    ck_assert_int_eq(oig_train(d, NULL, &c, NULL, NULL, NULL, &mdl, NULL), OIG_OK);
    oig_data_free(d);
    return mdl;
}

/* On the training layout: a, b, c -> y1, y2. */
static oig_model *trained_regression(void) { return trained_on(parse_regression(TRAIN_COLS, 5, NULL, "y1,y2")); }

START_TEST(test_score_equals_a_count_from_the_predictions) {
    oig_model *mdl = trained_regression();
    oig_data *d = parse_regression(TRAIN_COLS, 5, NULL, "y1,y2");
    oig_score s;
    ck_assert_int_eq(oig_model_score(mdl, d, &s), OIG_OK);
    double *y = malloc(sizeof(double) * ROWS * 2);
    ck_assert_int_eq(oig_model_predict(mdl, d->x, ROWS, y, NULL), OIG_OK);
    double sse[2] = {0, 0}, sae[2] = {0, 0}, mean[2] = {0, 0}, sst[2] = {0, 0};
    for (int p = 0; p < ROWS; p++)
        for (int i = 0; i < 2; i++) mean[i] += d->t[p * 2 + i] / ROWS;
    for (int p = 0; p < ROWS; p++)
        for (int i = 0; i < 2; i++) {
            double e = d->t[p * 2 + i] - y[p * 2 + i];
            sse[i] += e * e;
            sae[i] += fabs(e);
            sst[i] += (d->t[p * 2 + i] - mean[i]) * (d->t[p * 2 + i] - mean[i]);
        }
    ck_assert_uint_eq(s.nrows, ROWS);
    ck_assert_int_eq(s.m, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_double_eq_tol(s.output_mse[i], sse[i] / ROWS, 1e-13 * sse[i]);
        ck_assert_double_eq_tol(s.output_mae[i], sae[i] / ROWS, 1e-13 * sae[i]);
        ck_assert_double_eq_tol(s.output_r2[i], 1.0 - sse[i] / sst[i], 1e-12);
        ck_assert(s.output_r2[i] > 0.0 && s.output_r2[i] < 1.0);
    }
    ck_assert_double_eq_tol(s.mse, (sse[0] + sse[1]) / ROWS, 1e-13 * s.mse);
    /* the job's MSE is this one: the model's own report on its training rows */
    ck_assert_double_eq_tol(s.mse, mdl->summary.train_mse, 1e-10 * s.mse);
    double mse, err;
    ck_assert_int_eq(oig_model_evaluate(mdl, d, &mse, &err), OIG_OK);
    ck_assert_double_eq(mse, s.mse);
    ck_assert(isnan(s.err_pct) && isnan(err));
    ck_assert_int_eq(s.nclasses, 0);
    ck_assert_ptr_null(s.confusion);
    free(y);
    oig_score_free(&s);
    oig_data_free(d);
    oig_model_free(mdl);
}
END_TEST

START_TEST(test_constant_target_has_no_r2) {
    oig_model *mdl = trained_regression();
    oig_data *d = parse_regression(TRAIN_COLS, 5, NULL, "y1,y2");
    for (int p = 0; p < ROWS; p++) d->t[p * 2 + 1] = 0.5;
    oig_score s;
    ck_assert_int_eq(oig_model_score(mdl, d, &s), OIG_OK);
    ck_assert(isfinite(s.output_r2[0]));
    ck_assert(isnan(s.output_r2[1]));
    oig_score_free(&s);
    oig_data_free(d);
    oig_model_free(mdl);
}
END_TEST

/* Classes on data scored by a regression model: the argmax rule decides, as spec 10 says. */
START_TEST(test_classes_scored_by_argmax_whatever_the_model_task) {
    oig_model *mdl = trained_regression();
    oig_data *d = parse_regression(TRAIN_COLS, 5, NULL, "y1,y2");
    d->cls = malloc(sizeof(int) * ROWS);
    d->nclasses = 2;
    for (int p = 0; p < ROWS; p++) d->cls[p] = d->t[p * 2] > d->t[p * 2 + 1] ? 0 : 1;
    oig_score s;
    ck_assert_int_eq(oig_model_score(mdl, d, &s), OIG_OK);
    double *y = malloc(sizeof(double) * ROWS * 2);
    ck_assert_int_eq(oig_model_predict(mdl, d->x, ROWS, y, NULL), OIG_OK);
    long want[4] = {0, 0, 0, 0}, wrong = 0;
    for (int p = 0; p < ROWS; p++) {
        int guess = y[p * 2] >= y[p * 2 + 1] ? 0 : 1;
        want[d->cls[p] * 2 + guess]++;
        wrong += guess != d->cls[p];
    }
    ck_assert_int_eq(s.nclasses, 2);
    for (int k = 0; k < 4; k++) ck_assert_int_eq(s.confusion[k], want[k]);
    ck_assert_double_eq_tol(s.err_pct, 100.0 * (double)wrong / ROWS, 1e-12);
    free(y);
    oig_score_free(&s);
    oig_data_free(d);
    oig_model_free(mdl);
}
END_TEST

/* Scores of two conformed datasets holding the same values are the same, bit for bit. */
static void assert_same_score(const oig_model *mdl, const oig_data *a, const oig_data *b) {
    oig_score sa, sb;
    ck_assert_int_eq(oig_model_score(mdl, a, &sa), OIG_OK);
    ck_assert_int_eq(oig_model_score(mdl, b, &sb), OIG_OK);
    ck_assert_double_eq(sa.mse, sb.mse);
    for (int i = 0; i < sa.m; i++) {
        ck_assert_double_eq(sa.output_mse[i], sb.output_mse[i]);
        ck_assert_double_eq(sa.output_mae[i], sb.output_mae[i]);
    }
    oig_score_free(&sa);
    oig_score_free(&sb);
}

START_TEST(test_conform_takes_inputs_and_targets_by_name) {
    oig_model *mdl = trained_regression();
    oig_data *ref = parse_regression(TRAIN_COLS, 5, NULL, "y1,y2");
    /* shuffled columns, one the model does not use, targets listed the other way round */
    const int cols[6] = {2, -1, 4, 1, 3, 0};
    oig_data *d = parse_regression(cols, 6, NULL, "y2,y1");
    ck_assert_int_eq(d->n, 4);
    int by_name = -1;
    oig_error e;
    ck_assert_int_eq(oig_data_conform(d, mdl, &by_name, &e), OIG_OK);
    ck_assert_int_eq(by_name, 1);
    ck_assert_int_eq(d->n, 3);
    ck_assert_str_eq(d->input_names[0], "a");
    ck_assert_str_eq(d->input_names[2], "c");
    ck_assert_str_eq(d->target_names[0], "y1");
    for (int p = 0; p < ROWS; p++) {
        for (int k = 0; k < 3; k++) ck_assert_double_eq(d->x[p * 3 + k], ref->x[p * 3 + k]);
        for (int i = 0; i < 2; i++) ck_assert_double_eq(d->t[p * 2 + i], ref->t[p * 2 + i]);
    }
    assert_same_score(mdl, ref, d);
    /* the training layout itself goes through unchanged */
    int by = -1;
    ck_assert_int_eq(oig_data_conform(ref, mdl, &by, &e), OIG_OK);
    ck_assert_int_eq(by, 1);
    assert_same_score(mdl, ref, d);
    oig_data_free(d);
    oig_data_free(ref);
    oig_model_free(mdl);
}
END_TEST

START_TEST(test_conform_falls_back_to_position) {
    oig_model *mdl = trained_regression();
    oig_data *ref = parse_regression(TRAIN_COLS, 5, NULL, "y1,y2");
    const char *const other[5] = {"p", "q", "r", "s", "t"};
    oig_data *d = parse_regression(TRAIN_COLS, 5, other, "s,t");
    int by_name = -1;
    oig_error e;
    ck_assert_int_eq(oig_data_conform(d, mdl, &by_name, &e), OIG_OK);
    ck_assert_int_eq(by_name, 0);
    assert_same_score(mdl, ref, d);
    oig_data_free(d);
    oig_data_free(ref);
    oig_model_free(mdl);
}
END_TEST

START_TEST(test_conform_refuses_what_cannot_be_matched) {
    oig_model *mdl = trained_regression();
    oig_error e;
    /* two inputs whose names are not the model's */
    const int two[4] = {0, 1, 3, 4};
    const char *const names2[4] = {"p", "q", "y1", "y2"};
    oig_data *d = parse_regression(two, 4, names2, "y1,y2");
    memset(&e, 0, sizeof e);
    ck_assert_int_eq(oig_data_conform(d, mdl, NULL, &e), OIG_EINVAL);
    ck_assert_str_eq(e.field, "inputs");
    ck_assert_ptr_nonnull(strstr(e.message, "2 inputs"));
    oig_data_free(d);
    /* the model's inputs a and b by name, and d in place of c: not taken by position */
    const int five[5] = {0, 1, 2, 3, 4};
    const char *const names5[5] = {"a", "b", "d", "y1", "y2"};
    d = parse_regression(five, 5, names5, "y1,y2");
    memset(&e, 0, sizeof e);
    ck_assert_int_eq(oig_data_conform(d, mdl, NULL, &e), OIG_EINVAL);
    ck_assert_str_eq(e.field, "inputs");
    ck_assert_ptr_nonnull(strstr(e.message, "'c'"));
    oig_data_free(d);
    /* one target for a model of two outputs */
    const int one[4] = {0, 1, 2, 3};
    d = parse_regression(one, 4, NULL, "y1");
    memset(&e, 0, sizeof e);
    ck_assert_int_eq(oig_data_conform(d, mdl, NULL, &e), OIG_EINVAL);
    ck_assert_str_eq(e.field, "targets");
    oig_data_free(d);
    oig_model_free(mdl);
}
END_TEST

/* ---- classification ---- */

static const char *label_of(int p) {
    double v[5];
    row_values(p, v);
    double s = v[0] + v[1];
    return s < -0.5 ? "cat" : s > 0.5 ? "dog" : "emu";
}

/* CSV a,b,c,kind of the rows for which keep(p) holds (keep NULL: all), with relabel_emu written
 * in place of the label emu (NULL: none). */
static oig_data *parse_classes(int (*keep)(int), const char *relabel_emu) {
    size_t cap = 64 + ROWS * 96, len = 0;
    char *s = malloc(cap);
    len += (size_t)snprintf(s + len, cap - len, "a,b,c,kind\n");
    for (int p = 0; p < ROWS; p++) {
        if (keep && !keep(p)) continue;
        double v[5];
        row_values(p, v);
        const char *lab = label_of(p);
        if (relabel_emu && strcmp(lab, "emu") == 0) lab = relabel_emu;
        len += (size_t)snprintf(s + len, cap - len, "%.17g,%.17g,%.17g,%s\n", v[0], v[1], v[2], lab);
    }
    oig_parse_opts o;
    oig_parse_opts_init(&o);
    o.task = OIG_CLASSIFICATION;
    oig_data *d = NULL;
    oig_error e;
    ck_assert_int_eq(oig_data_parse(s, len, &o, &d, &e), OIG_OK);
    free(s);
    return d;
}

static int not_cat(int p) { return strcmp(label_of(p), "cat") != 0; }

static oig_model *trained_classifier(void) {
    oig_data *d = parse_classes(NULL, NULL);
    ck_assert_int_eq(d->nclasses, 3);
    return trained_on(d);
}

START_TEST(test_conform_recodes_a_subset_of_the_classes) {
    oig_model *mdl = trained_classifier();
    /* the same rows taken from the training layout, and from a file that knows only dog and emu */
    oig_data *all = parse_classes(NULL, NULL);
    size_t idx[ROWS], k = 0;
    for (int p = 0; p < ROWS; p++) if (not_cat(p)) idx[k++] = (size_t)p;
    ck_assert(k > 10 && k < ROWS - 10);
    oig_data *ref = NULL;
    ck_assert_int_eq(oig_data_select_rows(all, idx, k, &ref), OIG_OK);
    oig_data *d = parse_classes(not_cat, NULL);
    ck_assert_int_eq(d->nclasses, 2);
    ck_assert_str_eq(d->labels[0], "dog");
    oig_error e;
    ck_assert_int_eq(oig_data_conform(d, mdl, NULL, &e), OIG_OK);
    ck_assert_int_eq(d->nclasses, 3);
    ck_assert_int_eq(d->m, 3);
    ck_assert_str_eq(d->labels[0], "cat");
    for (size_t p = 0; p < k; p++) {
        ck_assert_int_eq(d->cls[p], ref->cls[p]);
        for (int i = 0; i < 3; i++) ck_assert_double_eq(d->t[p * 3 + (size_t)i], ref->t[p * 3 + (size_t)i]);
    }
    oig_score s, sr;
    ck_assert_int_eq(oig_model_score(mdl, d, &s), OIG_OK);
    ck_assert_int_eq(oig_model_score(mdl, ref, &sr), OIG_OK);
    ck_assert_double_eq(s.mse, sr.mse);
    ck_assert_double_eq(s.err_pct, sr.err_pct);
    /* the confusion matrix: rows are the true classes, the diagonal the rows classified right */
    ck_assert_int_eq(s.nclasses, 3);
    long per_class[3] = {0, 0, 0}, right = 0;
    int *pred = malloc(sizeof(int) * k);
    double *y = malloc(sizeof(double) * k * 3);
    ck_assert_int_eq(oig_model_predict(mdl, d->x, k, y, pred), OIG_OK);
    for (size_t p = 0; p < k; p++) {
        per_class[d->cls[p]]++;
        right += pred[p] == d->cls[p];
    }
    long diag = 0;
    for (int a = 0; a < 3; a++) {
        long row = 0;
        for (int b = 0; b < 3; b++) row += s.confusion[a * 3 + b];
        ck_assert_int_eq(row, per_class[a]);
        diag += s.confusion[a * 3 + a];
    }
    ck_assert_int_eq(per_class[0], 0);
    ck_assert_int_eq(diag, right);
    ck_assert_double_eq_tol(s.err_pct, 100.0 * (double)((long)k - right) / (double)k, 1e-12);
    free(pred);
    free(y);
    oig_score_free(&s);
    oig_score_free(&sr);
    oig_data_free(d);
    oig_data_free(ref);
    oig_data_free(all);
    oig_model_free(mdl);
}
END_TEST

START_TEST(test_conform_refuses_unknown_class_and_other_task) {
    oig_model *mdl = trained_classifier();
    oig_data *d = parse_classes(NULL, "yak");
    oig_error e;
    memset(&e, 0, sizeof e);
    ck_assert_int_eq(oig_data_conform(d, mdl, NULL, &e), OIG_EINVAL);
    ck_assert_str_eq(e.field, "classes");
    ck_assert_ptr_nonnull(strstr(e.message, "'yak'"));
    oig_data_free(d);
    d = parse_regression(TRAIN_COLS, 4, NULL, NULL);
    memset(&e, 0, sizeof e);
    ck_assert_int_eq(oig_data_conform(d, mdl, NULL, &e), OIG_EINVAL);
    ck_assert_str_eq(e.field, "task");
    oig_data_free(d);
    oig_model_free(mdl);
}
END_TEST

int main(void) {
    Suite *s = suite_create("engine_score");
    TCase *c = tcase_create("score");
    tcase_add_test(c, test_score_equals_a_count_from_the_predictions);
    tcase_add_test(c, test_constant_target_has_no_r2);
    tcase_add_test(c, test_classes_scored_by_argmax_whatever_the_model_task);
    tcase_add_test(c, test_conform_takes_inputs_and_targets_by_name);
    tcase_add_test(c, test_conform_falls_back_to_position);
    tcase_add_test(c, test_conform_refuses_what_cannot_be_matched);
    tcase_add_test(c, test_conform_recodes_a_subset_of_the_classes);
    tcase_add_test(c, test_conform_refuses_unknown_class_and_other_task);
    suite_add_tcase(s, c);
    return suite_run(s, CK_FORK_GETENV);
}

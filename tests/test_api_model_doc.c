/* test_api_model_doc.c -- the model JSON document (server/model_doc.c, docs/model-format.md).
 *
 * A document written and read back gives a model with bit-identical numbers and identical
 * predictions; every malformed document is refused with the right status and err->field, and
 * refusing one leaks nothing (the suite runs without fork so LeakSanitizer sees every test).
 */
#include <check.h>
#include <math.h>
#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_doc.h"
#include "oig.h"
#include "support_suite.h"

/* ---- fixtures ---------------------------------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t next_u64(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A double in [-2, 2) with all 52 mantissa bits random (most need 17 digits). */
static double next_double(void) {
    return ((double)(next_u64() >> 11) / 9007199254740992.0) * 4.0 - 2.0;
}

static char **strings(int n, const char *prefix) {
    char **s = calloc((size_t)n, sizeof *s);
    for (int i = 0; i < n; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s%d", prefix, i);
        s[i] = strdup(buf);
    }
    return s;
}

/* A fully described model: N=4, Nh=3, M=3, every number random, names and summary filled. */
static oig_model *make_model(oig_task task) {
    int n = 4, nh = 3, m = 3;
    oig_model *mdl = oig_model_new(n, nh, m);
    ck_assert_ptr_nonnull(mdl);
    for (int i = 0; i < nh * (n + 1); i++) mdl->w[i] = next_double();
    for (int i = 0; i < m * (n + 1); i++) mdl->woi[i] = next_double();
    for (int i = 0; i < m * nh; i++) mdl->woh[i] = next_double();
    for (int j = 0; j < n; j++) {
        mdl->in_mean[j] = next_double() * 100.0;
        mdl->in_scale[j] = fabs(next_double()) + 0.25;
    }
    mdl->standardized = 1;
    mdl->bypass = 1;
    mdl->algorithm = OIG_ALG_OIG_HWO;
    mdl->task = task;
    mdl->input_names = strings(n, "x");
    if (task == OIG_CLASSIFICATION) {
        mdl->nclasses = m;
        mdl->labels = strings(m, "class_");
        mdl->ntarget_names = 1;
        mdl->target_names = strings(1, "label");
    } else {
        mdl->ntarget_names = m;
        mdl->target_names = strings(m, "t");
    }
    oig_summary *s = &mdl->summary;
    s->iterations = 37;
    s->train_mse = 0.1 + 0.2;               /* 0.30000000000000004: needs 17 digits */
    s->val_mse = NAN;
    s->train_err = task == OIG_CLASSIFICATION ? 12.5 : NAN;
    s->val_err = NAN;
    s->multiplies = 123456789012345.0;
    s->seconds = 1.0 / 3.0;
    s->lm_lambda = 0.01;
    s->lm_decay[0] = 1.0 / 7.0;
    s->lm_decay[1] = 2.5e-300;
    s->seed = 18446744073709551557ull;     /* above 2^53: written as a string */
    snprintf(s->stop_reason, sizeof s->stop_reason, "max_iterations");
    s->safeguards.olf_halvings = 1;
    s->safeguards.oig_halvings = 2;
    s->safeguards.oig_olf_fallbacks = 3;
    s->safeguards.accepted_worse = 4;
    s->safeguards.lm_rejections = 3000000000L;   /* above INT_MAX */
    return mdl;
}

static int same_bits(const double *a, const double *b, size_t n) {
    return memcmp(a, b, n * sizeof(double)) == 0;
}

/* NaN compares as equal to NaN; everything else bit for bit. */
static int same_metric(double a, double b) {
    return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

static oig_model *round_trip(const oig_model *mdl) {
    size_t len = 0;
    char *text = model_doc_write(mdl, &len);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(len, strlen(text));
    oig_model *back = NULL;
    oig_error err;
    oig_status st = model_doc_read(text, len, &back, &err);
    ck_assert_msg(st == OIG_OK, "read back failed: %s: %s", err.field, err.message);
    free(text);
    return back;
}

/* The document of a fresh regression model as a cJSON tree, for the malformed cases. */
static cJSON *valid_tree(oig_task task) {
    oig_model *mdl = make_model(task);
    char *text = model_doc_write(mdl, NULL);
    oig_model_free(mdl);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    ck_assert_ptr_nonnull(doc);
    return doc;
}

/* Print doc (consumed), read it, and expect refusal with status st and field. */
static void expect_refused(cJSON *doc, oig_status want, const char *field) {
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    ck_assert_ptr_nonnull(text);
    oig_model *out = (oig_model *)1;
    oig_error err;
    oig_status st = model_doc_read(text, strlen(text), &out, &err);
    free(text);
    ck_assert_msg(st == want, "status %s, expected %s (%s: %s)", oig_status_name(st),
                  oig_status_name(want), err.field, err.message);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(err.field, field);
    ck_assert(strlen(err.message) > 0);
}

static cJSON *path2(cJSON *doc, const char *a, const char *b) {
    cJSON *o = cJSON_GetObjectItemCaseSensitive(doc, a);
    ck_assert_ptr_nonnull(o);
    if (b == NULL) return o;
    o = cJSON_GetObjectItemCaseSensitive(o, b);
    ck_assert_ptr_nonnull(o);
    return o;
}

/* ---- round trip ---------------------------------------------------------------------------- */

START_TEST(test_round_trip_is_bit_identical) {
    oig_model *mdl = make_model(_i == 0 ? OIG_REGRESSION : OIG_CLASSIFICATION);
    /* Values that trip naive printers: negative zero, subnormals, extremes, 17-digit values. */
    mdl->w[0] = -0.0;
    mdl->w[1] = 4.9406564584124654e-324;
    mdl->w[2] = DBL_MAX;
    mdl->w[3] = -DBL_MIN;
    mdl->w[4] = 0.1;
    mdl->woi[0] = 1e300;
    mdl->woi[1] = 123456789.0;
    mdl->woi[2] = 5e-324 * 3;
    oig_model *back = round_trip(mdl);
    size_t n1 = (size_t)mdl->n + 1;
    ck_assert_int_eq(back->n, mdl->n);
    ck_assert_int_eq(back->nh, mdl->nh);
    ck_assert_int_eq(back->m, mdl->m);
    ck_assert(same_bits(back->w, mdl->w, (size_t)mdl->nh * n1));
    ck_assert(same_bits(back->woi, mdl->woi, (size_t)mdl->m * n1));
    ck_assert(same_bits(back->woh, mdl->woh, (size_t)mdl->m * (size_t)mdl->nh));
    ck_assert(same_bits(back->in_mean, mdl->in_mean, (size_t)mdl->n));
    ck_assert(same_bits(back->in_scale, mdl->in_scale, (size_t)mdl->n));
    ck_assert_int_eq(back->bypass, mdl->bypass);
    ck_assert_int_eq(back->standardized, mdl->standardized);
    ck_assert_int_eq(back->task, mdl->task);
    ck_assert_int_eq(back->algorithm, mdl->algorithm);
    ck_assert_int_eq(back->nclasses, mdl->nclasses);
    for (int i = 0; i < mdl->nclasses; i++) ck_assert_str_eq(back->labels[i], mdl->labels[i]);
    for (int j = 0; j < mdl->n; j++) ck_assert_str_eq(back->input_names[j], mdl->input_names[j]);
    ck_assert_int_eq(back->ntarget_names, mdl->ntarget_names);
    for (int i = 0; i < mdl->ntarget_names; i++)
        ck_assert_str_eq(back->target_names[i], mdl->target_names[i]);
    const oig_summary *a = &mdl->summary, *b = &back->summary;
    ck_assert_int_eq(b->iterations, a->iterations);
    ck_assert(same_metric(b->train_mse, a->train_mse));
    ck_assert(same_metric(b->val_mse, a->val_mse));
    ck_assert(same_metric(b->train_err, a->train_err));
    ck_assert(same_metric(b->val_err, a->val_err));
    ck_assert(same_metric(b->multiplies, a->multiplies));
    ck_assert(same_metric(b->seconds, a->seconds));
    ck_assert(same_metric(b->lm_lambda, a->lm_lambda));
    ck_assert(same_metric(b->lm_decay[0], a->lm_decay[0]));
    ck_assert(same_metric(b->lm_decay[1], a->lm_decay[1]));
    ck_assert(b->seed == a->seed);
    ck_assert_str_eq(b->stop_reason, a->stop_reason);
    ck_assert(memcmp(&b->safeguards, &a->safeguards, sizeof a->safeguards) == 0);
    oig_model_free(back);
    oig_model_free(mdl);
}
END_TEST

START_TEST(test_round_trip_gives_identical_predictions) {
    oig_model *mdl = make_model(OIG_CLASSIFICATION);
    oig_model *back = round_trip(mdl);
    enum { ROWS = 50 };
    double x[ROWS * 4], y1[ROWS * 3], y2[ROWS * 3];
    int c1[ROWS], c2[ROWS];
    for (int i = 0; i < ROWS * 4; i++) x[i] = next_double() * 50.0;
    ck_assert_int_eq(oig_model_predict(mdl, x, ROWS, y1, c1), OIG_OK);
    ck_assert_int_eq(oig_model_predict(back, x, ROWS, y2, c2), OIG_OK);
    ck_assert(same_bits(y1, y2, ROWS * 3));
    ck_assert(memcmp(c1, c2, sizeof c1) == 0);
    oig_model_free(back);
    oig_model_free(mdl);
}
END_TEST

START_TEST(test_second_write_is_byte_identical) {
    oig_model *mdl = make_model(OIG_REGRESSION);
    oig_model *back = round_trip(mdl);
    char *t1 = model_doc_write(mdl, NULL), *t2 = model_doc_write(back, NULL);
    ck_assert_str_eq(t1, t2);
    free(t1); free(t2);
    oig_model_free(back);
    oig_model_free(mdl);
}
END_TEST

START_TEST(test_names_may_be_absent) {
    oig_model *mdl = oig_model_new(2, 0, 1);
    oig_model *back = round_trip(mdl);
    ck_assert_ptr_null(back->input_names);
    ck_assert_ptr_null(back->target_names);
    ck_assert_int_eq(back->nh, 0);
    oig_model_free(back);
    oig_model_free(mdl);
}
END_TEST

START_TEST(test_nan_metrics_are_written_as_null) {
    oig_model *mdl = make_model(OIG_REGRESSION);
    cJSON *doc = model_doc_to_cjson(mdl);
    ck_assert(cJSON_IsNull(path2(doc, "training", "val_mse")));
    cJSON_Delete(doc);
    oig_model_free(mdl);
}
END_TEST

START_TEST(test_large_seed_survives_as_string) {
    oig_model *mdl = make_model(OIG_REGRESSION);
    cJSON *doc = model_doc_to_cjson(mdl);
    ck_assert(cJSON_IsString(path2(doc, "training", "seed")));
    cJSON_Delete(doc);
    mdl->summary.seed = 42;
    doc = model_doc_to_cjson(mdl);
    ck_assert(cJSON_IsNumber(path2(doc, "training", "seed")));
    cJSON_Delete(doc);
    oig_model_free(mdl);
}
END_TEST

/* ---- malformed documents ------------------------------------------------------------------ */

START_TEST(test_rejects_wrong_format_version) {
    cJSON *doc = valid_tree(OIG_REGRESSION);
    cJSON_ReplaceItemInObject(doc, "format_version", cJSON_CreateNumber(2));
    expect_refused(doc, OIG_EINVAL, "format_version");
}
END_TEST

START_TEST(test_rejects_wrong_format_name) {
    cJSON *doc = valid_tree(OIG_REGRESSION);
    cJSON_ReplaceItemInObject(doc, "format", cJSON_CreateString("something-else"));
    expect_refused(doc, OIG_EINVAL, "format");
}
END_TEST

START_TEST(test_rejects_hidden_count_not_matching_W) {
    cJSON *doc = valid_tree(OIG_REGRESSION);
    cJSON_ReplaceItemInObject(path2(doc, "shape", NULL), "hidden", cJSON_CreateNumber(4));
    expect_refused(doc, OIG_EINVAL, "weights.W");
}
END_TEST

START_TEST(test_rejects_output_count_not_matching_Woi) {
    cJSON *doc = valid_tree(OIG_REGRESSION);
    cJSON_ReplaceItemInObject(path2(doc, "shape", NULL), "outputs", cJSON_CreateNumber(4));
    expect_refused(doc, OIG_EINVAL, "weights.Woi");
}
END_TEST

START_TEST(test_rejects_input_count_not_matching_names) {
    cJSON *doc = valid_tree(OIG_REGRESSION);
    cJSON_ReplaceItemInObject(path2(doc, "shape", NULL), "inputs", cJSON_CreateNumber(5));
    expect_refused(doc, OIG_EINVAL, "input_names");
}
END_TEST

START_TEST(test_rejects_input_count_not_matching_mean) {
    cJSON *doc = valid_tree(OIG_REGRESSION);
    cJSON_ReplaceItemInObject(doc, "input_names", cJSON_CreateNull());
    cJSON_ReplaceItemInObject(path2(doc, "shape", NULL), "inputs", cJSON_CreateNumber(5));
    expect_refused(doc, OIG_EINVAL, "normalization.mean");
}
END_TEST

START_TEST(test_rejects_short_weight_row) {
    cJSON *doc = valid_tree(OIG_REGRESSION);
    cJSON *row = cJSON_GetArrayItem(path2(doc, "weights", "Woh"), 1);
    cJSON_DeleteItemFromArray(row, 0);
    expect_refused(doc, OIG_EINVAL, "weights.Woh");
}
END_TEST

START_TEST(test_rejects_long_weight_row) {
    cJSON *doc = valid_tree(OIG_REGRESSION);
    cJSON *row = cJSON_GetArrayItem(path2(doc, "weights", "W"), 2);
    cJSON_AddItemToArray(row, cJSON_CreateNumber(1.0));
    expect_refused(doc, OIG_EINVAL, "weights.W");
}
END_TEST

START_TEST(test_rejects_non_finite_weight) {
    cJSON *doc = valid_tree(OIG_REGRESSION);
    cJSON *row = cJSON_GetArrayItem(path2(doc, "weights", "Woi"), 0);
    cJSON_ReplaceItemInArray(row, 1, cJSON_CreateRaw("1e999"));   /* parses as +Inf */
    expect_refused(doc, OIG_EINVAL, "weights.Woi");
}
END_TEST

START_TEST(test_rejects_null_weight) {
    cJSON *doc = valid_tree(OIG_REGRESSION);
    cJSON *row = cJSON_GetArrayItem(path2(doc, "weights", "W"), 0);
    cJSON_ReplaceItemInArray(row, 0, cJSON_CreateNull());
    expect_refused(doc, OIG_EINVAL, "weights.W");
}
END_TEST

START_TEST(test_rejects_non_finite_mean) {
    cJSON *doc = valid_tree(OIG_REGRESSION);
    cJSON_ReplaceItemInArray(path2(doc, "normalization", "mean"), 2, cJSON_CreateRaw("-1e400"));
    expect_refused(doc, OIG_EINVAL, "normalization.mean");
}
END_TEST

START_TEST(test_rejects_zero_scale) {
    cJSON *doc = valid_tree(OIG_REGRESSION);
    cJSON_ReplaceItemInArray(path2(doc, "normalization", "scale"), 0, cJSON_CreateNumber(0));
    expect_refused(doc, OIG_EINVAL, "normalization.scale");
}
END_TEST

START_TEST(test_rejects_non_finite_metric) {
    cJSON *doc = valid_tree(OIG_REGRESSION);
    cJSON_ReplaceItemInObject(path2(doc, "training", NULL), "seconds", cJSON_CreateRaw("1e999"));
    expect_refused(doc, OIG_EINVAL, "training.seconds");
}
END_TEST

static const char *const required[][2] = {
    { "format", NULL }, { "format_version", NULL }, { "algorithm", NULL }, { "task", NULL },
    { "shape", NULL }, { "shape", "inputs" }, { "shape", "hidden" }, { "shape", "outputs" },
    { "bypass", NULL }, { "input_names", NULL }, { "target_names", NULL }, { "classes", NULL },
    { "normalization", NULL }, { "normalization", "standardized" }, { "normalization", "mean" },
    { "normalization", "scale" }, { "weights", NULL }, { "weights", "W" }, { "weights", "Woi" },
    { "weights", "Woh" }, { "training", NULL }, { "training", "iterations" },
    { "training", "train_mse" }, { "training", "val_mse" }, { "training", "seed" },
    { "training", "stop_reason" }, { "training", "safeguards" },
};

START_TEST(test_rejects_missing_member) {
    cJSON *doc = valid_tree(OIG_REGRESSION);
    const char *a = required[_i][0], *b = required[_i][1];
    char field[64];
    if (b == NULL) {
        cJSON_DeleteItemFromObject(doc, a);
        snprintf(field, sizeof field, "%s", a);
    } else {
        cJSON_DeleteItemFromObject(path2(doc, a, NULL), b);
        snprintf(field, sizeof field, "%s.%s", a, b);
    }
    expect_refused(doc, OIG_EINVAL, field);
}
END_TEST

START_TEST(test_rejects_missing_safeguard_count) {
    cJSON *doc = valid_tree(OIG_REGRESSION);
    cJSON_DeleteItemFromObject(path2(doc, "training", "safeguards"), "lm_rejections");
    expect_refused(doc, OIG_EINVAL, "training.safeguards.lm_rejections");
}
END_TEST

/* Documents written before Bayesian regularization have no decays: they read as 0. A decay
 * that is there must be a number. */
START_TEST(test_decays_are_optional_but_typed) {
    cJSON *doc = valid_tree(OIG_REGRESSION);
    cJSON_DeleteItemFromObject(path2(doc, "training", NULL), "lm_decay_hidden");
    cJSON_DeleteItemFromObject(path2(doc, "training", NULL), "lm_decay_output");
    char *text = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    oig_model *out = NULL;
    oig_error err;
    ck_assert_int_eq(model_doc_read(text, strlen(text), &out, &err), OIG_OK);
    ck_assert_double_eq(out->summary.lm_decay[0], 0.0);
    ck_assert_double_eq(out->summary.lm_decay[1], 0.0);
    oig_model_free(out);
    free(text);
    doc = valid_tree(OIG_REGRESSION);
    cJSON_ReplaceItemInObject(path2(doc, "training", NULL), "lm_decay_output", cJSON_CreateString("0.1"));
    expect_refused(doc, OIG_EINVAL, "training.lm_decay_output");
}
END_TEST

START_TEST(test_rejects_wrong_types) {
    cJSON *doc = valid_tree(OIG_REGRESSION);
    const char *field = NULL;
    switch (_i) {
    case 0: cJSON_ReplaceItemInObject(doc, "bypass", cJSON_CreateString("yes")); field = "bypass"; break;
    case 1: cJSON_ReplaceItemInObject(path2(doc, "shape", NULL), "hidden", cJSON_CreateString("3"));
            field = "shape.hidden"; break;
    case 2: cJSON_ReplaceItemInObject(path2(doc, "shape", NULL), "inputs", cJSON_CreateNumber(2.5));
            field = "shape.inputs"; break;
    case 3: cJSON_ReplaceItemInObject(path2(doc, "weights", NULL), "W", cJSON_CreateObject());
            field = "weights.W"; break;
    case 4: cJSON_ReplaceItemInArray(cJSON_GetArrayItem(path2(doc, "weights", "Woh"), 0), 0,
                                     cJSON_CreateString("1.0"));
            field = "weights.Woh"; break;
    case 5: cJSON_ReplaceItemInObject(doc, "algorithm", cJSON_CreateString("adam"));
            field = "algorithm"; break;
    case 6: cJSON_ReplaceItemInObject(doc, "task", cJSON_CreateNumber(1)); field = "task"; break;
    case 7: cJSON_ReplaceItemInArray(cJSON_GetObjectItem(doc, "input_names"), 1,
                                     cJSON_CreateNumber(7));
            field = "input_names"; break;
    case 8: cJSON_ReplaceItemInObject(doc, "shape", cJSON_CreateArray()); field = "shape"; break;
    case 9: cJSON_ReplaceItemInObject(path2(doc, "shape", NULL), "outputs", cJSON_CreateNumber(-1));
            field = "shape.outputs"; break;
    case 10: cJSON_ReplaceItemInObject(path2(doc, "training", NULL), "seed",
                                       cJSON_CreateString("12abc"));
             field = "training.seed"; break;
    case 11: cJSON_ReplaceItemInObject(path2(doc, "normalization", NULL), "standardized",
                                       cJSON_CreateNumber(1));
             field = "normalization.standardized"; break;
    }
    expect_refused(doc, OIG_EINVAL, field);
}
END_TEST

START_TEST(test_rejects_class_count_not_matching_outputs) {
    cJSON *doc = valid_tree(OIG_CLASSIFICATION);
    cJSON_DeleteItemFromArray(cJSON_GetObjectItem(doc, "classes"), 0);
    expect_refused(doc, OIG_EINVAL, "classes");
}
END_TEST

START_TEST(test_rejects_classes_in_regression) {
    cJSON *doc = valid_tree(OIG_REGRESSION);
    cJSON_AddItemToArray(cJSON_GetObjectItem(doc, "classes"), cJSON_CreateString("a"));
    expect_refused(doc, OIG_EINVAL, "classes");
}
END_TEST

START_TEST(test_rejects_duplicate_member) {
    cJSON *doc = valid_tree(OIG_REGRESSION);
    cJSON_AddItemToObject(path2(doc, "shape", NULL), "hidden", cJSON_CreateNumber(3));
    expect_refused(doc, OIG_EINVAL, "shape.hidden");
}
END_TEST

START_TEST(test_rejects_non_object_document) {
    expect_refused(cJSON_CreateArray(), OIG_EINVAL, "");
}
END_TEST

START_TEST(test_rejects_truncated_json_with_position) {
    oig_model *mdl = make_model(OIG_REGRESSION);
    char *text = model_doc_write(mdl, NULL);
    oig_model_free(mdl);
    size_t cut = strlen(text) / 2;
    oig_model *out = NULL;
    oig_error err;
    ck_assert_int_eq(model_doc_read(text, cut, &out, &err), OIG_EPARSE);
    ck_assert_ptr_null(out);
    ck_assert_str_eq(err.field, "");
    ck_assert_int_gt(err.line, 1);
    ck_assert_int_gt(err.column, 0);
    free(text);
}
END_TEST

START_TEST(test_rejects_syntax_error_at_its_line_and_column) {
    const char *text = "{\n  \"format\": \"oigd-model\",\n  \"format_version\": 1,,\n}";
    oig_model *out = NULL;
    oig_error err;
    ck_assert_int_eq(model_doc_read(text, strlen(text), &out, &err), OIG_EPARSE);
    ck_assert_ptr_null(out);
    ck_assert_int_eq(err.line, 3);
    /* The stray comma is column 23; cJSON reports the byte where it gave up, next to it. */
    ck_assert_int_ge(err.column, 22);
    ck_assert_int_le(err.column, 24);
}
END_TEST

START_TEST(test_rejects_trailing_text) {
    oig_model *mdl = make_model(OIG_REGRESSION);
    char *text = model_doc_write(mdl, NULL);
    oig_model_free(mdl);
    size_t len = strlen(text);
    char *more = malloc(len + 8);
    memcpy(more, text, len);
    memcpy(more + len, "\n  {}", 5);
    oig_model *out = NULL;
    oig_error err;
    ck_assert_int_eq(model_doc_read(more, len + 5, &out, &err), OIG_EPARSE);
    ck_assert_ptr_null(out);
    ck_assert_int_gt(err.line, 1);
    free(more);
    free(text);
}
END_TEST

START_TEST(test_rejects_empty_input) {
    oig_model *out = NULL;
    oig_error err;
    ck_assert_int_eq(model_doc_read("", 0, &out, &err), OIG_EPARSE);
    ck_assert_ptr_null(out);
}
END_TEST

static Suite *model_doc_suite(void) {
    Suite *s = suite_create("model_doc");
    TCase *tc = tcase_create("round_trip");
    tcase_add_loop_test(tc, test_round_trip_is_bit_identical, 0, 2);
    tcase_add_test(tc, test_round_trip_gives_identical_predictions);
    tcase_add_test(tc, test_second_write_is_byte_identical);
    tcase_add_test(tc, test_names_may_be_absent);
    tcase_add_test(tc, test_nan_metrics_are_written_as_null);
    tcase_add_test(tc, test_large_seed_survives_as_string);
    suite_add_tcase(s, tc);

    tc = tcase_create("malformed");
    tcase_add_test(tc, test_rejects_wrong_format_version);
    tcase_add_test(tc, test_rejects_wrong_format_name);
    tcase_add_test(tc, test_rejects_hidden_count_not_matching_W);
    tcase_add_test(tc, test_rejects_output_count_not_matching_Woi);
    tcase_add_test(tc, test_rejects_input_count_not_matching_names);
    tcase_add_test(tc, test_rejects_input_count_not_matching_mean);
    tcase_add_test(tc, test_rejects_short_weight_row);
    tcase_add_test(tc, test_rejects_long_weight_row);
    tcase_add_test(tc, test_rejects_non_finite_weight);
    tcase_add_test(tc, test_rejects_null_weight);
    tcase_add_test(tc, test_rejects_non_finite_mean);
    tcase_add_test(tc, test_rejects_zero_scale);
    tcase_add_test(tc, test_rejects_non_finite_metric);
    tcase_add_loop_test(tc, test_rejects_missing_member, 0,
                        (int)(sizeof required / sizeof required[0]));
    tcase_add_test(tc, test_rejects_missing_safeguard_count);
    tcase_add_test(tc, test_decays_are_optional_but_typed);
    tcase_add_loop_test(tc, test_rejects_wrong_types, 0, 12);
    tcase_add_test(tc, test_rejects_class_count_not_matching_outputs);
    tcase_add_test(tc, test_rejects_classes_in_regression);
    tcase_add_test(tc, test_rejects_duplicate_member);
    tcase_add_test(tc, test_rejects_non_object_document);
    tcase_add_test(tc, test_rejects_truncated_json_with_position);
    tcase_add_test(tc, test_rejects_syntax_error_at_its_line_and_column);
    tcase_add_test(tc, test_rejects_trailing_text);
    tcase_add_test(tc, test_rejects_empty_input);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return suite_run(model_doc_suite(), CK_NOFORK);
}

/* test_related_train.c -- the related trainers inside oig_train and their faces: save -> load
 * -> identical predictions for slnb, osgd, sgd, ngmnn and a projected model; the anytime
 * property (an earlier exit costs fewer multiplies); determinism for a fixed seed; options
 * rejected with the field named (engine, REST job schema, CLI exit 2); ngmnn refusing
 * regression; orthogonal_hidden; the warm start from a given model (init_model, --init-model); and
 * `oigd train/predict --exit/project` on the built binary.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "job.h"
#include "model_doc.h"
#include "oig.h"
#include "support_suite.h"
#include "support_tmp.h"

/* ---- fixtures ---- */

/* A seeded two-input, three-class problem (class by angle) or a smooth regression target. */
static oig_data *make_data(int classification, int nrows, unsigned seed) {
    size_t cap = (size_t)nrows * 96 + 64, len = 0;
    char *buf = malloc(cap);
    len += (size_t)snprintf(buf + len, cap - len, "a,b,c,y\n");
    srand(seed);
    for (int p = 0; p < nrows; p++) {
        double a = 2.0 * rand() / RAND_MAX - 1, b = 2.0 * rand() / RAND_MAX - 1, c = 2.0 * rand() / RAND_MAX - 1;
        if (classification) {
            double ang = atan2(b, a) + 0.3 * c;
            int cl = ang < -1.0 ? 0 : (ang < 1.2 ? 1 : 2);
            len += (size_t)snprintf(buf + len, cap - len, "%.6f,%.6f,%.6f,k%d\n", a, b, c, cl);
        } else {
            double y = sin(2 * a) + b * b - 0.5 * c + 0.3 * a * b;
            len += (size_t)snprintf(buf + len, cap - len, "%.6f,%.6f,%.6f,%.6f\n", a, b, c, y);
        }
    }
    oig_parse_opts o;
    oig_parse_opts_init(&o);
    o.task = classification ? OIG_CLASSIFICATION : OIG_REGRESSION;
    oig_data *d = NULL;
    oig_error err;
    ck_assert_int_eq(oig_data_parse(buf, len, &o, &d, &err), OIG_OK);
    free(buf);
    return d;
}

/* Train alg on a fresh copy of the data (oig_train standardizes in place). */
static oig_model *train_with(const oig_config *cfg, int classification, oig_status want) {
    oig_data *d = make_data(classification, 300, 7);
    oig_model *m = NULL;
    oig_error err;
    memset(&err, 0, sizeof err);
    oig_status st = oig_train(d, NULL, cfg, NULL, NULL, NULL, &m, &err);
    ck_assert_msg(st == want, "oig_train: %s (%s: %s)", oig_status_name(st), err.field, err.message);
    oig_data_free(d);
    return m;
}

static void config_for(oig_config *c, oig_algorithm a) {
    oig_config_init(c);
    c->algorithm = a;
    c->nh = 8;
    c->max_iterations = 6;
    c->seed = 11;
}

/* Predictions of m on fresh raw rows, from exit k (-1 = last). */
static double *predict(const oig_model *m, int k, size_t *nout) {
    oig_data *d = make_data(m->task == OIG_CLASSIFICATION, 50, 99);
    double *y = malloc(d->nrows * (size_t)m->m * sizeof(double));
    ck_assert_int_eq(oig_model_predict_exit(m, k, d->x, d->nrows, y, NULL), OIG_OK);
    *nout = d->nrows * (size_t)m->m;
    oig_data_free(d);
    return y;
}

static void assert_roundtrip(const oig_model *m) {
    size_t len;
    char *doc = model_doc_write(m, &len);
    ck_assert_ptr_nonnull(doc);
    oig_model *back = NULL;
    oig_error err;
    ck_assert_msg(model_doc_read(doc, len, &back, &err) == OIG_OK, "read: %s %s", err.field, err.message);
    ck_assert_int_eq(oig_model_exit_count(back), oig_model_exit_count(m));
    ck_assert_int_eq(back->hidden_rownorm, m->hidden_rownorm);
    ck_assert_int_eq(back->nmeta, m->nmeta);
    for (int k = -1; k < oig_model_exit_count(m); k++) {
        size_t n1, n2;
        double *a = predict(m, k, &n1), *b = predict(back, k, &n2);
        ck_assert_uint_eq(n1, n2);
        ck_assert_msg(memcmp(a, b, n1 * sizeof(double)) == 0, "exit %d predictions differ after a round trip", k);
        free(a);
        free(b);
    }
    /* the clone is the same model too */
    oig_model *c = oig_model_clone(back);
    char *doc2 = model_doc_write(c, NULL);
    ck_assert_str_eq(doc, doc2);
    free(doc2);
    oig_model_free(c);
    oig_model_free(back);
    free(doc);
}

/* ---- save -> load -> identical predictions ---- */

START_TEST(test_slnb_model_roundtrip_predicts_identically) {
    oig_config c;
    config_for(&c, OIG_ALG_SLNB);
    oig_model *m = train_with(&c, 0, OIG_OK);
    ck_assert_str_eq(oig_model_meta_get(m, "method"), "slnb");
    ck_assert_ptr_nonnull(oig_model_meta_get(m, "cov_shrinkage"));
    assert_roundtrip(m);
    oig_model_free(m);
}
END_TEST

START_TEST(test_osgd_width_model_roundtrip_predicts_identically_from_every_exit) {
    oig_config c;
    config_for(&c, OIG_ALG_OSGD);
    c.osgd.anytime = OIG_ANYTIME_WIDTH;
    c.osgd.exits = 3;
    oig_model *m = train_with(&c, 1, OIG_OK);
    ck_assert_int_eq(oig_model_exit_count(m), 3);
    ck_assert_int_eq(m->exits.units[0], 2);
    ck_assert_int_eq(m->exits.units[2], 8);
    assert_roundtrip(m);
    /* the default exit is the last */
    size_t n1, n2;
    double *a = predict(m, -1, &n1), *b = predict(m, 2, &n2);
    ck_assert(memcmp(a, b, n1 * sizeof(double)) == 0);
    free(a); free(b);
    oig_model_free(m);
}
END_TEST

START_TEST(test_sgd_bypass2_model_roundtrip_predicts_identically) {
    oig_config c;
    config_for(&c, OIG_ALG_SGD);
    c.osgd.anytime = OIG_ANYTIME_BYPASS2;
    oig_model *m = train_with(&c, 0, OIG_OK);
    ck_assert_int_eq(oig_model_exit_count(m), 2);
    ck_assert_int_eq(m->exits.units[0], 0);
    assert_roundtrip(m);
    oig_model_free(m);
}
END_TEST

START_TEST(test_ngmnn_model_roundtrip_predicts_identically) {
    oig_config c;
    config_for(&c, OIG_ALG_NGMNN);
    oig_model *m = train_with(&c, 1, OIG_OK);
    ck_assert_int_eq(m->hidden_rownorm, 1);
    ck_assert_int_eq(m->bypass, 0);
    ck_assert(m->summary.train_err < 50.0);
    assert_roundtrip(m);
    oig_model_free(m);
}
END_TEST

START_TEST(test_projected_model_roundtrip_and_report) {
    oig_config c;
    config_for(&c, OIG_ALG_OIG_HWO);
    oig_model *m = train_with(&c, 0, OIG_OK);
    oig_data *d = make_data(0, 300, 7);
    oig_project_opts po;
    oig_project_opts_init(&po);
    oig_project_report rep;
    oig_model *p = NULL;
    oig_error err;
    ck_assert_int_eq(oig_model_project(m, &po, d, &p, &rep, &err), OIG_OK);
    ck_assert(rep.moved > 0);
    ck_assert(rep.mse_reowo <= rep.mse_projected * (1 + 1e-12));
    /* W's weight columns (8 x 3, tall) have orthonormal columns */
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double s = 0;
            for (int k = 0; k < 8; k++) s += p->w[k * 4 + a] * p->w[k * 4 + b];
            ck_assert_double_eq_tol(s, a == b ? 1.0 : 0.0, 1e-12);
        }
    ck_assert_ptr_nonnull(oig_model_meta_get(p, "projection.moved"));
    assert_roundtrip(p);
    oig_model_free(p);
    oig_model_free(m);
    oig_data_free(d);
}
END_TEST

/* ---- anytime property ---- */

START_TEST(test_earlier_exit_needs_fewer_multiplies) {
    oig_config c;
    config_for(&c, OIG_ALG_OSGD);
    c.nh = 16;
    c.osgd.anytime = OIG_ANYTIME_WIDTH;
    c.osgd.exits = 4;
    oig_model *m = train_with(&c, 0, OIG_OK);
    for (int k = 0; k + 1 < 4; k++) {
        double a = oig_model_exit_multiplies(m, k), b = oig_model_exit_multiplies(m, k + 1);
        ck_assert_msg(a < b, "exit %d costs %g, exit %d %g", k + 1, a, k + 2, b);
        /* counted: N*M bypass products plus units*(N+M) for the hidden units the exit reads */
        ck_assert_double_eq(a, 3.0 * 1 + m->exits.units[k] * (3.0 + 1));
    }
    ck_assert_double_eq(oig_model_exit_multiplies(m, -1), oig_model_exit_multiplies(m, 3));
    oig_model_free(m);
}
END_TEST

/* ---- determinism ---- */

static void assert_deterministic(oig_algorithm a, int classification, oig_anytime any) {
    oig_config c;
    config_for(&c, a);
    c.osgd.anytime = any;
    oig_model *m1 = train_with(&c, classification, OIG_OK), *m2 = train_with(&c, classification, OIG_OK);
    char *d1 = model_doc_write(m1, NULL), *d2 = model_doc_write(m2, NULL);
    /* the documents differ only in the measured seconds: compare the weights */
    ck_assert(memcmp(m1->w, m2->w, (size_t)m1->nh * (m1->n + 1) * sizeof(double)) == 0);
    ck_assert(memcmp(m1->woi, m2->woi, (size_t)m1->m * (m1->n + 1) * sizeof(double)) == 0);
    ck_assert(memcmp(m1->woh, m2->woh, (size_t)m1->m * m1->nh * sizeof(double)) == 0);
    ck_assert_double_eq(m1->summary.train_mse, m2->summary.train_mse);
    c.seed = 12;
    oig_model *m3 = train_with(&c, classification, OIG_OK);
    ck_assert(memcmp(m1->w, m3->w, (size_t)m1->nh * (m1->n + 1) * sizeof(double)) != 0);
    free(d1); free(d2);
    oig_model_free(m1); oig_model_free(m2); oig_model_free(m3);
}

START_TEST(test_slnb_is_deterministic_for_a_seed) { assert_deterministic(OIG_ALG_SLNB, 0, OIG_ANYTIME_OFF); }
END_TEST
START_TEST(test_osgd_is_deterministic_for_a_seed) { assert_deterministic(OIG_ALG_OSGD, 0, OIG_ANYTIME_WIDTH); }
END_TEST
START_TEST(test_sgd_is_deterministic_for_a_seed) { assert_deterministic(OIG_ALG_SGD, 1, OIG_ANYTIME_BYPASS2); }
END_TEST
START_TEST(test_ngmnn_is_deterministic_for_a_seed) { assert_deterministic(OIG_ALG_NGMNN, 1, OIG_ANYTIME_OFF); }
END_TEST

/* ---- progress record and training progress ---- */

static int count_cb(const oig_progress *p, void *ud) {
    int *n = ud;
    ck_assert(isfinite(p->train_mse));
    ck_assert(p->multiplies >= 0);
    ck_assert_int_eq(p->iteration, *n);
    (*n)++;
    return OIG_CONTINUE;
}

START_TEST(test_related_trainers_report_every_epoch_and_learn) {
    oig_algorithm algs[] = { OIG_ALG_SLNB, OIG_ALG_OSGD, OIG_ALG_SGD };
    for (int i = 0; i < 3; i++) {
        oig_config c;
        config_for(&c, algs[i]);
        c.max_iterations = 30;
        oig_data *d = make_data(0, 300, 7);
        oig_model *m = NULL;
        oig_error err;
        int n = 0;
        ck_assert_int_eq(oig_train(d, NULL, &c, NULL, count_cb, &n, &m, &err), OIG_OK);
        ck_assert_int_eq(n, 31);
        ck_assert_int_eq(m->summary.iterations, 30);
        ck_assert(m->summary.train_mse < 0.2);
        oig_model_free(m);
        oig_data_free(d);
    }
}
END_TEST

START_TEST(test_orthogonal_hidden_polar_keeps_w_orthogonal) {
    oig_algorithm algs[] = { OIG_ALG_OIG_HWO, OIG_ALG_SLNB, OIG_ALG_SGD };
    for (int i = 0; i < 3; i++) {
        oig_config c;
        config_for(&c, algs[i]);
        c.orthogonal_hidden = OIG_ORTHO_POLAR;
        oig_model *m = train_with(&c, 0, OIG_OK);
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 3; b++) {
                double s = 0;
                for (int k = 0; k < 8; k++) s += m->w[k * 4 + a] * m->w[k * 4 + b];
                ck_assert_double_eq_tol(s, a == b ? 1.0 : 0.0, 1e-10);
            }
        oig_model_free(m);
    }
}
END_TEST

START_TEST(test_orthogonal_hidden_expm_keeps_w_orthogonal) {
    oig_config c;
    config_for(&c, OIG_ALG_SLNB);
    c.orthogonal_hidden = OIG_ORTHO_EXPM;
    oig_model *m = train_with(&c, 0, OIG_OK);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double s = 0;
            for (int k = 0; k < 8; k++) s += m->w[k * 4 + a] * m->w[k * 4 + b];
            ck_assert_double_eq_tol(s, a == b ? 1.0 : 0.0, 1e-9);
        }
    oig_model_free(m);
}
END_TEST

/* ---- rejections ---- */

START_TEST(test_ngmnn_rejects_regression_naming_algorithm) {
    oig_config c;
    config_for(&c, OIG_ALG_NGMNN);
    oig_data *d = make_data(0, 100, 3);
    oig_model *m = NULL;
    oig_error err;
    ck_assert_int_eq(oig_train(d, NULL, &c, NULL, NULL, NULL, &m, &err), OIG_EINVAL);
    ck_assert_str_eq(err.field, "algorithm");
    ck_assert_ptr_nonnull(strstr(err.message, "classif"));
    ck_assert_ptr_null(m);
    oig_data_free(d);
}
END_TEST

static void expect_bad(const oig_config *c, const char *field) {
    oig_error err;
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(oig_config_check(c, &err), OIG_EINVAL);
    ck_assert_str_eq(err.field, field);
}

START_TEST(test_bad_options_are_rejected_with_the_field_named) {
    oig_config c;
    config_for(&c, OIG_ALG_SLNB);
    c.slnb.eta = -1; expect_bad(&c, "eta");
    config_for(&c, OIG_ALG_SLNB);
    c.slnb.cov_shrinkage = 1.0; expect_bad(&c, "cov_shrinkage");
    config_for(&c, OIG_ALG_OSGD);
    c.osgd.exits = 1; expect_bad(&c, "exits");
    config_for(&c, OIG_ALG_OSGD);
    c.osgd.anytime = OIG_ANYTIME_WIDTH; c.osgd.exits = 5; expect_bad(&c, "exits");   /* 8 >> 4 = 0 */
    config_for(&c, OIG_ALG_OSGD);
    c.osgd.anytime = OIG_ANYTIME_BYPASS2; c.bypass = 0; expect_bad(&c, "bypass");
    config_for(&c, OIG_ALG_LM);
    c.orthogonal_hidden = OIG_ORTHO_POLAR; expect_bad(&c, "orthogonal_hidden");
    config_for(&c, OIG_ALG_OIG_HWO);
    c.orthogonal_hidden = OIG_ORTHO_EXPM; expect_bad(&c, "orthogonal_hidden");
    config_for(&c, OIG_ALG_NGMNN);
    c.ngmnn.k_ratio = 0; expect_bad(&c, "k_ratio");
}
END_TEST

static void job_expect(const char *json, oig_status want, const char *field) {
    cJSON *req = cJSON_Parse(json);
    ck_assert_ptr_nonnull(req);
    job_spec spec;
    oig_error err;
    char *norm = NULL;
    oig_status st = job_spec_parse(req, &spec, &norm, &err);
    ck_assert_msg(st == want, "%s -> %s (%s)", json, oig_status_name(st), err.message);
    if (field) ck_assert_str_eq(err.field, field);
    if (st == OIG_OK) ck_assert_ptr_nonnull(norm);
    free(norm);
    cJSON_Delete(req);
}

START_TEST(test_job_options_of_the_related_methods) {
    job_expect("{\"dataset_id\":\"d\",\"algorithm\":\"osgd\",\"options\":{\"anytime\":\"width\",\"exits\":3,"
               "\"eta\":0.02,\"granularity\":\"global\",\"rescale\":\"norm\"}}", OIG_OK, NULL);
    job_expect("{\"dataset_id\":\"d\",\"algorithm\":\"slnb\",\"options\":{\"eta\":0.1,\"batch\":0,"
               "\"approx_metric\":true,\"cg_maxiter\":3}}", OIG_OK, NULL);
    job_expect("{\"dataset_id\":\"d\",\"algorithm\":\"ngmnn\",\"options\":{\"alpha_form\":\"code\"}}", OIG_OK, NULL);
    job_expect("{\"dataset_id\":\"d\",\"algorithm\":\"slnb\",\"options\":{\"eta\":-2}}", OIG_EINVAL, "options.eta");
    job_expect("{\"dataset_id\":\"d\",\"algorithm\":\"osgd\",\"options\":{\"anytime\":\"deep\"}}", OIG_EINVAL, "options.anytime");
    job_expect("{\"dataset_id\":\"d\",\"algorithm\":\"osgd\",\"options\":{\"exits\":40}}", OIG_EINVAL, "options.exits");
    job_expect("{\"dataset_id\":\"d\",\"algorithm\":\"lm\",\"options\":{\"orthogonal_hidden\":\"polar\"}}",
               OIG_EINVAL, "options.orthogonal_hidden");
    job_expect("{\"dataset_id\":\"d\",\"algorithm\":\"sgd\",\"options\":{\"momentum\":1.5}}", OIG_EINVAL, "options.momentum");
}
END_TEST

/* ---- the binary ---- */

/* ---- warm start (oig_config.init_model) ---- */

static int first_cb(const oig_progress *p, void *ud) {
    double *e = ud;
    if (p->iteration == 0) *e = p->train_mse;
    return OIG_CONTINUE;
}

/* A warm start reports iteration 0 at the given model's weights (same error as evaluating that
 * model), counts iterations from 0, and takes the algorithm and method records from the config. */
START_TEST(test_init_model_starts_from_the_given_weights) {
    oig_config c;
    config_for(&c, OIG_ALG_OIG_HWO);
    c.max_iterations = 5;
    oig_model *base = train_with(&c, 1, OIG_OK);
    oig_data *raw = make_data(1, 300, 7);
    double mse0, err0;
    ck_assert_int_eq(oig_model_evaluate(base, raw, &mse0, &err0), OIG_OK);
    oig_algorithm algs[] = { OIG_ALG_OIG_HWO, OIG_ALG_LM, OIG_ALG_SLNB, OIG_ALG_SGD, OIG_ALG_OSGD };
    for (int i = 0; i < 5; i++) {
        oig_config w;
        config_for(&w, algs[i]);
        w.nh = 3;                      /* ignored: the model's width is kept */
        w.max_iterations = 4;
        w.osgd.eta = 1e-3;
        if (algs[i] == OIG_ALG_OSGD) { w.osgd.anytime = OIG_ANYTIME_WIDTH; w.osgd.exits = 2; }
        w.init_model = base;
        oig_data *d = make_data(1, 300, 7);
        oig_model *m = NULL;
        oig_error err;
        double e_first = NAN;
        oig_status st = oig_train(d, NULL, &w, NULL, first_cb, &e_first, &m, &err);
        ck_assert_msg(st == OIG_OK, "%s: %s", oig_algorithm_name(algs[i]), err.message);
        ck_assert_double_eq_tol(e_first, mse0, 1e-9 * (1 + mse0));
        ck_assert_int_eq(m->nh, base->nh);
        ck_assert_int_eq(m->summary.iterations, 4);
        ck_assert_int_eq(m->algorithm, algs[i]);
        ck_assert_str_eq(oig_model_meta_get(m, "method"), oig_algorithm_name(algs[i]));
        ck_assert_str_eq(oig_model_meta_get(m, "init.algorithm"), "oig-hwo");
        ck_assert_str_eq(oig_model_meta_get(m, "init.iterations"), "5");
        ck_assert_int_eq(oig_model_exit_count(m), algs[i] == OIG_ALG_OSGD ? 2 : 1);
        ck_assert(m->summary.train_mse <= mse0 * 1.5);
        for (int j = 0; j < m->n; j++) ck_assert(m->in_mean[j] == base->in_mean[j]);
        oig_model_free(m);
        oig_data_free(d);
    }
    oig_data_free(raw);
    oig_model_free(base);
}
END_TEST

/* With orthogonal_hidden the warm start projects W first, so W is orthogonal from iteration 0. */
START_TEST(test_init_model_with_orthogonal_hidden_projects_first) {
    oig_config c;
    config_for(&c, OIG_ALG_OIG_HWO);
    oig_model *base = train_with(&c, 0, OIG_OK);
    oig_config w;
    config_for(&w, OIG_ALG_OIG_HWO);
    w.max_iterations = 0;
    w.orthogonal_hidden = OIG_ORTHO_POLAR;
    w.init_model = base;
    oig_model *m = train_with(&w, 0, OIG_OK);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double s = 0;
            for (int k = 0; k < 8; k++) s += m->w[k * 4 + a] * m->w[k * 4 + b];
            ck_assert_double_eq_tol(s, a == b ? 1.0 : 0.0, 1e-10);
        }
    oig_model_free(m);
    oig_model_free(base);
}
END_TEST

/* A model that cannot start the run is refused with the field named. */
START_TEST(test_init_model_mismatch_is_rejected) {
    oig_config c;
    config_for(&c, OIG_ALG_OIG_HWO);
    oig_model *reg = train_with(&c, 0, OIG_OK);      /* regression, 1 output */
    oig_config w;
    config_for(&w, OIG_ALG_OIG_HWO);
    w.init_model = reg;
    oig_data *d = make_data(1, 100, 3);               /* classification, 3 outputs */
    oig_model *m = NULL;
    oig_error err;
    ck_assert_int_eq(oig_train(d, NULL, &w, NULL, NULL, NULL, &m, &err), OIG_EINVAL);
    ck_assert_str_eq(err.field, "init_model");
    ck_assert_ptr_null(m);
    oig_data_free(d);
    config_for(&c, OIG_ALG_OIG_HWO);
    c.bypass = 0;
    oig_model *nob = train_with(&c, 0, OIG_OK);
    config_for(&w, OIG_ALG_SGD);
    w.osgd.anytime = OIG_ANYTIME_BYPASS2;
    w.init_model = nob;
    d = make_data(0, 100, 3);
    ck_assert_int_eq(oig_train(d, NULL, &w, NULL, NULL, NULL, &m, &err), OIG_EINVAL);
    ck_assert_str_eq(err.field, "bypass");
    oig_data_free(d);
    config_for(&w, OIG_ALG_NGMNN);
    w.init_model = reg;
    d = make_data(1, 100, 3);
    ck_assert_int_eq(oig_train(d, NULL, &w, NULL, NULL, NULL, &m, &err), OIG_EINVAL);
    oig_data_free(d);
    oig_model_free(nob);
    oig_model_free(reg);
}
END_TEST

static int run(const char *const *argv) {
    const char *bin = getenv("OIGD_BIN");
    ck_assert_msg(bin != NULL, "OIGD_BIN is not set (run through ctest)");
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", 1);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_cli_train_predict_exit_and_project) {
    char dir[256];
    ck_assert_int_eq(support_tmpdir(dir, sizeof dir, "rel"), 0);
    char data[320], model[320], proj[320], out[320];
    snprintf(data, sizeof data, "%s/d.csv", dir);
    snprintf(model, sizeof model, "%s/m.json", dir);
    snprintf(proj, sizeof proj, "%s/p.json", dir);
    snprintf(out, sizeof out, "%s/y.csv", dir);
    FILE *f = fopen(data, "w");
    srand(5);
    fputs("a,b,y\n", f);
    for (int i = 0; i < 200; i++) {
        double a = 2.0 * rand() / RAND_MAX - 1, b = 2.0 * rand() / RAND_MAX - 1;
        fprintf(f, "%.5f,%.5f,%.5f\n", a, b, sin(3 * a) * b);
    }
    fclose(f);
    const char *tr[] = { "oigd", "train", "--data", data, "--algorithm", "osgd", "--anytime", "width",
                         "--exits", "2", "--hidden", "6", "--iterations", "3", "--eta", "0.02",
                         "--batch", "32", "--model-out", model, "--quiet", NULL };
    ck_assert_int_eq(run(tr), 0);
    const char *p1[] = { "oigd", "predict", "--model", model, "--data", data, "--exit", "1", "--out", out, NULL };
    ck_assert_int_eq(run(p1), 0);
    const char *p3[] = { "oigd", "predict", "--model", model, "--data", data, "--exit", "3", NULL };
    ck_assert_int_eq(run(p3), 1);
    const char *bad[] = { "oigd", "train", "--data", data, "--algorithm", "slnb", "--eta", "0", NULL };
    ck_assert_int_eq(run(bad), 2);
    const char *bad2[] = { "oigd", "train", "--data", data, "--algorithm", "osgd", "--anytime", "deep", NULL };
    ck_assert_int_eq(run(bad2), 2);
    const char *bad3[] = { "oigd", "train", "--data", data, "--algorithm", "osgd", "--anytime", "bypass2",
                           "--no-bypass", NULL };
    ck_assert_int_eq(run(bad3), 2);
    const char *ng[] = { "oigd", "train", "--data", data, "--algorithm", "ngmnn", "--quiet", NULL };
    ck_assert_int_ne(run(ng), 0);
    const char *tr2[] = { "oigd", "train", "--data", data, "--algorithm", "slnb", "--hidden", "4",
                          "--iterations", "3", "--model-out", model, "--quiet", NULL };
    ck_assert_int_eq(run(tr2), 0);
    const char *pj[] = { "oigd", "project", "--model", model, "--model-out", proj, "--data", data, NULL };
    ck_assert_int_eq(run(pj), 0);
    const char *pjl[] = { "oigd", "project", "--model", model, "--model-out", proj, "--method", "lie", NULL };
    ck_assert_int_eq(run(pjl), 0);
    const char *pjb[] = { "oigd", "project", "--model", model, "--model-out", proj, "--method", "qr", NULL };
    ck_assert_int_eq(run(pjb), 2);
    /* fine-tune the projected model (warm start), staying orthogonal */
    const char *ft[] = { "oigd", "train", "--data", data, "--init-model", proj, "--algorithm", "oig-hwo",
                         "--orthogonal-hidden", "polar", "--iterations", "2", "--model-out", out, "--quiet", NULL };
    ck_assert_int_eq(run(ft), 0);
    const char *ftm[] = { "oigd", "train", "--data", data, "--init-model", "/nonexistent/m.json", NULL };
    ck_assert_int_eq(run(ftm), 2);
    const char *ftn[] = { "oigd", "train", "--data", data, "--init-model", proj, "--algorithm", "ngmnn",
                          "--task", "classification", "--quiet", NULL };
    ck_assert_int_ne(run(ftn), 0);
    size_t len = 0;
    f = fopen(proj, "rb");
    ck_assert_ptr_nonnull(f);
    char *buf = malloc(1 << 20);
    len = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
    oig_model *m = NULL;
    oig_error err;
    ck_assert_int_eq(model_doc_read(buf, len, &m, &err), OIG_OK);
    ck_assert_str_eq(oig_model_meta_get(m, "projection.method"), "lie");
    oig_model_free(m);
    free(buf);
    support_rmtree(dir);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("related_train");
    TCase *t = tcase_create("core");
    tcase_set_timeout(t, 300);
    tcase_add_test(t, test_slnb_model_roundtrip_predicts_identically);
    tcase_add_test(t, test_osgd_width_model_roundtrip_predicts_identically_from_every_exit);
    tcase_add_test(t, test_sgd_bypass2_model_roundtrip_predicts_identically);
    tcase_add_test(t, test_ngmnn_model_roundtrip_predicts_identically);
    tcase_add_test(t, test_projected_model_roundtrip_and_report);
    tcase_add_test(t, test_earlier_exit_needs_fewer_multiplies);
    tcase_add_test(t, test_slnb_is_deterministic_for_a_seed);
    tcase_add_test(t, test_osgd_is_deterministic_for_a_seed);
    tcase_add_test(t, test_sgd_is_deterministic_for_a_seed);
    tcase_add_test(t, test_ngmnn_is_deterministic_for_a_seed);
    tcase_add_test(t, test_related_trainers_report_every_epoch_and_learn);
    tcase_add_test(t, test_orthogonal_hidden_polar_keeps_w_orthogonal);
    tcase_add_test(t, test_orthogonal_hidden_expm_keeps_w_orthogonal);
    tcase_add_test(t, test_ngmnn_rejects_regression_naming_algorithm);
    tcase_add_test(t, test_bad_options_are_rejected_with_the_field_named);
    tcase_add_test(t, test_job_options_of_the_related_methods);
    tcase_add_test(t, test_cli_train_predict_exit_and_project);
    tcase_add_test(t, test_init_model_starts_from_the_given_weights);
    tcase_add_test(t, test_init_model_with_orthogonal_hidden_projects_first);
    tcase_add_test(t, test_init_model_mismatch_is_rejected);
    suite_add_tcase(s, t);
    return s;
}

int main(void) {
    return suite_run(suite(), CK_FORK_GETENV);
}

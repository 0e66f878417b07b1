/* test_api_related_e2e.c -- end-to-end tests of the related methods' REST faces on a real
 * `oigd serve` (ephemeral loopback port, temporary database): a width anytime osgd job whose
 * model predicts from every exit through the predict body's "exit" (equal to the model
 * evaluated in-process from that exit; the default is the last; a bad exit is 422 naming
 * "exit"), and POST /v1/models/{id}/project (201 with Location, a new stored model whose W is
 * semi-orthogonal and whose metadata records the projection; with a dataset the errors before,
 * after projection and after OWO; 404 for an unknown model, 422 naming the field for a bad
 * method, an unknown dataset or a model with exits), and a job warm-started from a stored model
 * ("init_model_id": iteration 0 at that model's weights; 422 for an unknown or unfit model).
 */
#include <check.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model_doc.h"
#include "oig.h"
#include "support_api.h"
#include "support_http.h"
#include "support_suite.h"
#include "support_tmp.h"

static char tdir[256], dbpath[320];
static oigd_proc proc;

static void setup(void) {
    ck_assert_int_eq(support_tmpdir(tdir, sizeof tdir, "rel-e2e"), 0);
    snprintf(dbpath, sizeof dbpath, "%s/oigd.db", tdir);
    memset(&proc, 0, sizeof proc);
    ck_assert_msg(oigd_start(tdir, dbpath, NULL, &proc) == 0, "oigd serve did not start (log %s)", proc.log);
}

static void teardown(void) {
    if (proc.pid > 0) ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 20000), 0);
    support_rmtree(tdir);
}

/* ---- helpers ---- */

static cJSON *request_json(const char *method, const char *path, const char *body, int expect_status,
                           char *location, size_t loclen) {
    cJSON *j = api_json(proc.port, method, path, body ? "application/json" : NULL, body, expect_status,
                        location, loclen);
    ck_assert_ptr_nonnull(j);
    return j;
}

static const char *jstr(const cJSON *o, const char *k) { return api_jstr(o, k); }

/* A 422 problem naming field. */
static void expect_invalid(const char *path, const char *body, const char *field) {
    cJSON *j = request_json("POST", path, body, 422, NULL, 0);
    const char *detail = jstr(j, "detail");
    ck_assert_msg(detail && strstr(detail, field), "422 for %s does not name %s: %s", body, field,
                  detail ? detail : "(no detail)");
    cJSON_Delete(j);
}

/* 240 rows, 3 inputs, y = sin(2 a) + b c. */
static char *upload(void) {
    size_t n;
    char *csv = api_sine_csv(240, 4242, &n);
    http_resp r;
    ck_assert_int_eq(http_request(proc.port, "POST", "/v1/datasets?name=rel", "Content-Type: text/csv\r\n",
                                  csv, n, 30000, &r), 0);
    free(csv);
    ck_assert_msg(r.status == 201, "upload: %d %s", r.status, r.body);
    cJSON *j = cJSON_Parse(r.body);
    http_resp_free(&r);
    char *id = strdup(jstr(j, "id"));
    cJSON_Delete(j);
    return id;
}

/* Submit a job and wait for it to succeed; returns its model id. */
static char *train(const char *body) {
    cJSON *j = request_json("POST", "/v1/jobs", body, 202, NULL, 0);
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s", jstr(j, "id"));
    cJSON_Delete(j);
    long long deadline = support_now_ms() + 60000;
    for (;;) {
        j = request_json("GET", path, NULL, 200, NULL, 0);
        const char *st = jstr(j, "status");
        if (st && strcmp(st, "succeeded") == 0) break;
        ck_assert_msg(st && strcmp(st, "failed") != 0 && support_now_ms() < deadline, "job %s: %s", path, st);
        cJSON_Delete(j);
        usleep(50000);
    }
    char *mid = strdup(jstr(j, "model_id"));
    cJSON_Delete(j);
    return mid;
}

static oig_model *fetch_model(const char *id) {
    char path[128];
    snprintf(path, sizeof path, "/v1/models/%s", id);
    http_resp r;
    ck_assert_int_eq(http_request(proc.port, "GET", path, NULL, NULL, 0, 30000, &r), 0);
    ck_assert_int_eq(r.status, 200);
    oig_model *m = NULL;
    oig_error err;
    ck_assert_int_eq(model_doc_read(r.body, r.len, &m, &err), OIG_OK);
    http_resp_free(&r);
    return m;
}

static const double X[4][3] = {{0.1, 0.2, 0.3}, {-0.5, 0.25, 0.9}, {0, 0, 0}, {0.7, -0.6, 0.5}};

/* The daemon's outputs for X from exit k (0 = no "exit" member). */
static void predict_rest(const char *model_id, int k, double *y) {
    char body[512], path[128];
    int n = snprintf(body, sizeof body, "{");
    if (k > 0) n += snprintf(body + n, sizeof body - (size_t)n, "\"exit\":%d,", k);
    n += snprintf(body + n, sizeof body - (size_t)n, "\"inputs\":[");
    for (int i = 0; i < 4; i++)
        n += snprintf(body + n, sizeof body - (size_t)n, "%s[%.17g,%.17g,%.17g]", i ? "," : "", X[i][0], X[i][1], X[i][2]);
    snprintf(body + n, sizeof body - (size_t)n, "]}");
    snprintf(path, sizeof path, "/v1/models/%s/predict", model_id);
    cJSON *j = request_json("POST", path, body, 200, NULL, 0);
    cJSON *outs = cJSON_GetObjectItem(j, "outputs");
    ck_assert_int_eq(cJSON_GetArraySize(outs), 4);
    for (int i = 0; i < 4; i++) y[i] = cJSON_GetArrayItem(cJSON_GetArrayItem(outs, i), 0)->valuedouble;
    cJSON_Delete(j);
}

/* ---- tests ---- */

START_TEST(test_predict_from_every_exit_of_an_anytime_model) {
    char *ds = upload(), body[512], path[128];
    snprintf(body, sizeof body,
             "{\"dataset_id\":\"%s\",\"algorithm\":\"osgd\",\"hidden_units\":8,\"max_iterations\":5,\"seed\":3,"
             "\"options\":{\"anytime\":\"width\",\"exits\":3,\"eta\":0.005,\"batch\":32}}", ds);
    char *mid = train(body);
    oig_model *m = fetch_model(mid);
    ck_assert_int_eq(oig_model_exit_count(m), 3);
    double want[3][4], got[4], last[4];
    for (int k = 0; k < 3; k++) {
        ck_assert_int_eq(oig_model_predict_exit(m, k, &X[0][0], 4, want[k], NULL), OIG_OK);
        predict_rest(mid, k + 1, got);
        for (int i = 0; i < 4; i++)
            ck_assert_msg(got[i] == want[k][i], "exit %d row %d: daemon %.17g, here %.17g", k + 1, i, got[i], want[k][i]);
    }
    int differ = 0;
    for (int i = 0; i < 4; i++) differ |= want[0][i] != want[2][i];
    ck_assert_msg(differ, "exit 1 and exit 3 predict the same");
    predict_rest(mid, 0, last);                 /* default: the last exit */
    for (int i = 0; i < 4; i++) ck_assert(last[i] == want[2][i]);
    snprintf(path, sizeof path, "/v1/models/%s/predict", mid);
    expect_invalid(path, "{\"exit\":4,\"inputs\":[[0,0,0]]}", "exit");
    expect_invalid(path, "{\"exit\":0,\"inputs\":[[0,0,0]]}", "exit");
    expect_invalid(path, "{\"exit\":1.5,\"inputs\":[[0,0,0]]}", "exit");
    expect_invalid(path, "{\"exit\":\"1\",\"inputs\":[[0,0,0]]}", "exit");
    /* a projection refuses models with exits */
    snprintf(path, sizeof path, "/v1/models/%s/project", mid);
    expect_invalid(path, "{\"method\":\"polar\"}", "model");
    oig_model_free(m);
    free(mid);
    free(ds);
}
END_TEST

START_TEST(test_project_a_stored_model) {
    char *ds = upload(), body[512], path[160], loc[160];
    snprintf(body, sizeof body, "{\"dataset_id\":\"%s\",\"algorithm\":\"oig-hwo\",\"hidden_units\":6,"
             "\"max_iterations\":5,\"seed\":2}", ds);
    char *mid = train(body);
    oig_model *src = fetch_model(mid);
    snprintf(path, sizeof path, "/v1/models/%s/project", mid);
    snprintf(body, sizeof body, "{\"method\":\"polar\",\"dataset_id\":\"%s\"}", ds);
    cJSON *j = request_json("POST", path, body, 201, loc, sizeof loc);
    const char *nid = jstr(j, "id");
    ck_assert_ptr_nonnull(nid);
    ck_assert_str_ne(nid, mid);
    char want_loc[160];
    snprintf(want_loc, sizeof want_loc, "/v1/models/%s", nid);
    ck_assert_str_eq(loc, want_loc);
    cJSON *pr = cJSON_GetObjectItem(j, "projection");
    ck_assert_str_eq(jstr(pr, "source_model_id"), mid);
    ck_assert_str_eq(jstr(pr, "method"), "polar");
    double moved = cJSON_GetObjectItem(pr, "moved")->valuedouble;
    ck_assert(moved > 0);
    ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(pr, "mse_before")));
    ck_assert(cJSON_IsNumber(cJSON_GetObjectItem(pr, "mse_projected")));
    double reowo = cJSON_GetObjectItem(pr, "mse_reowo")->valuedouble;
    ck_assert(reowo <= cJSON_GetObjectItem(pr, "mse_projected")->valuedouble * (1 + 1e-12));
    /* the stored model: W's weight columns (6 x 3) have orthonormal columns; source unchanged */
    oig_model *p = fetch_model(nid);
    ck_assert_int_eq(p->nh, 6);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double s = 0;
            for (int k = 0; k < 6; k++) s += p->w[k * 4 + a] * p->w[k * 4 + b];
            ck_assert_double_eq_tol(s, a == b ? 1.0 : 0.0, 1e-10);
        }
    double dist = 0;
    for (int k = 0; k < 6; k++)
        for (int a = 0; a < 3; a++) dist += pow(p->w[k * 4 + a] - src->w[k * 4 + a], 2);
    ck_assert_double_eq_tol(sqrt(dist), moved, 1e-9 * (1 + moved));
    ck_assert_str_eq(oig_model_meta_get(p, "projection.method"), "polar");
    ck_assert_str_eq(oig_model_meta_get(p, "projection.reowo"), "true");
    oig_model *again = fetch_model(mid);
    ck_assert_mem_eq(again->w, src->w, 6 * 4 * sizeof(double));
    oig_model_free(again);
    cJSON_Delete(j);
    /* lie without data: no error figures, no re-solve */
    j = request_json("POST", path, "{\"method\":\"lie\"}", 201, NULL, 0);
    pr = cJSON_GetObjectItem(j, "projection");
    ck_assert_str_eq(jstr(pr, "method"), "lie");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(pr, "mse_before")));
    ck_assert_double_eq_tol(cJSON_GetObjectItem(pr, "moved")->valuedouble, moved, 1e-6 * (1 + moved));
    cJSON_Delete(j);
    /* an empty body projects with the defaults */
    j = request_json("POST", path, NULL, 201, NULL, 0);
    cJSON_Delete(j);
    /* errors */
    expect_invalid(path, "{\"method\":\"qr\"}", "method");
    expect_invalid(path, "{\"dataset_id\":\"nope\"}", "dataset_id");
    expect_invalid(path, "{\"lie_tol\":-1}", "lie_tol");
    expect_invalid(path, "{\"colour\":1}", "colour");
    j = request_json("POST", "/v1/models/does-not-exist/project", "{}", 404, NULL, 0);
    cJSON_Delete(j);
    oig_model_free(p);
    oig_model_free(src);
    free(mid);
    free(ds);
}
END_TEST

/* A job with "init_model_id" starts from that stored model: iteration 0 reports the model's own
 * training error, the new model keeps its width and records where it started; an unknown or
 * unfit model is 422 naming init_model_id at submission. */
START_TEST(test_job_warm_started_from_a_stored_model) {
    char *ds = upload(), body[512], path[160];
    snprintf(body, sizeof body, "{\"dataset_id\":\"%s\",\"algorithm\":\"oig-hwo\",\"hidden_units\":6,"
             "\"max_iterations\":4,\"seed\":2}", ds);
    char *base = train(body);
    snprintf(path, sizeof path, "/v1/models/%s/project", base);
    snprintf(body, sizeof body, "{\"dataset_id\":\"%s\"}", ds);
    cJSON *j = request_json("POST", path, body, 201, NULL, 0);
    char *proj = strdup(jstr(j, "id"));
    double mse_reowo = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "projection"), "mse_reowo")->valuedouble;
    cJSON_Delete(j);
    snprintf(body, sizeof body, "{\"dataset_id\":\"%s\",\"algorithm\":\"slnb\",\"hidden_units\":2,"
             "\"max_iterations\":3,\"init_model_id\":\"%s\",\"options\":{\"orthogonal_hidden\":\"polar\"}}", ds, proj);
    j = request_json("POST", "/v1/jobs", body, 202, NULL, 0);
    char jobid[64];
    snprintf(jobid, sizeof jobid, "%s", jstr(j, "id"));
    cJSON_Delete(j);
    long long deadline = support_now_ms() + 60000;
    char jpath[128];
    snprintf(jpath, sizeof jpath, "/v1/jobs/%s", jobid);
    for (;;) {
        j = request_json("GET", jpath, NULL, 200, NULL, 0);
        const char *st = jstr(j, "status");
        if (st && strcmp(st, "succeeded") == 0) break;
        ck_assert_msg(st && strcmp(st, "failed") != 0 && support_now_ms() < deadline, "warm job: %s", st);
        cJSON_Delete(j);
        usleep(50000);
    }
    char *mid = strdup(jstr(j, "model_id"));
    cJSON_Delete(j);
    oig_model *m = fetch_model(mid);
    ck_assert_int_eq(m->nh, 6);
    ck_assert_int_eq(m->algorithm, OIG_ALG_SLNB);
    ck_assert_str_eq(oig_model_meta_get(m, "init.algorithm"), "oig-hwo");
    ck_assert_int_eq(m->summary.iterations, 3);
    oig_model_free(m);
    /* iteration 0 of the metrics is the projected model after its OWO re-solve */
    snprintf(jpath, sizeof jpath, "/v1/jobs/%s/metrics", jobid);
    j = request_json("GET", jpath, NULL, 200, NULL, 0);
    cJSON *rows = cJSON_IsArray(j) ? j : cJSON_GetObjectItem(j, "metrics");
    ck_assert_ptr_nonnull(rows);
    cJSON *r0 = cJSON_GetArrayItem(rows, 0);
    ck_assert_int_eq(cJSON_GetObjectItem(r0, "iteration")->valueint, 0);
    double e0 = cJSON_GetObjectItem(r0, "train_mse")->valuedouble;
    ck_assert_double_eq_tol(e0, mse_reowo, 1e-9 * (1 + mse_reowo));
    cJSON_Delete(j);
    /* refused at submission */
    snprintf(body, sizeof body, "{\"dataset_id\":\"%s\",\"init_model_id\":\"nope\"}", ds);
    expect_invalid("/v1/jobs", body, "init_model_id");
    snprintf(body, sizeof body, "{\"dataset_id\":\"%s\",\"init_model_id\":7}", ds);
    expect_invalid("/v1/jobs", body, "init_model_id");
    free(mid);
    free(proj);
    free(base);
    free(ds);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("api_related_e2e");
    TCase *tc = tcase_create("daemon");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_predict_from_every_exit_of_an_anytime_model);
    tcase_add_test(tc, test_project_a_stored_model);
    tcase_add_test(tc, test_job_warm_started_from_a_stored_model);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return suite_run(suite(), CK_FORK_GETENV);
}

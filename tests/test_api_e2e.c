/* test_api_e2e.c -- end-to-end tests of `oigd serve`: a real daemon on an ephemeral loopback
 * port with a temporary database, spoken to over plain sockets. Covers upload -> oig-hwo job ->
 * SSE progress -> model -> predict (equal to the model evaluated in-process and to `oigd
 * predict`), cancel, every error status leaving the store unchanged, bodies past 1 MiB through
 * the spool file, gzip and deflate bodies, SIGTERM, and kill -9 during training followed by a restart that completes the
 * job with a continuous metrics history.
 */
#include <check.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model_doc.h"
#include "oig.h"
#include "sha256.h"
#include "support_api.h"
#include "support_http.h"
#include "support_suite.h"
#include "support_tmp.h"

static char tdir[256], dbpath[320];
static oigd_proc proc;

static void setup(void) {
    ck_assert_int_eq(support_tmpdir(tdir, sizeof tdir, "e2e"), 0);
    snprintf(dbpath, sizeof dbpath, "%s/oigd.db", tdir);
    memset(&proc, 0, sizeof proc);
}

static void teardown(void) {
    if (proc.pid > 0) oigd_stop(&proc, SIGKILL, 5000);
    support_rmtree(tdir);
}

static void start(const char *const *extra) {
    ck_assert_msg(oigd_start(tdir, dbpath, extra, &proc) == 0, "oigd serve did not start (log %s)", proc.log);
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* 200 rows of y = sin(2 a) + b c over three inputs. */
static char *regression_csv(size_t *len) { return api_sine_csv(200, 12345, len); }

static cJSON *request_json(const char *method, const char *path, const char *ctype, const char *body,
                           int expect_status) {
    return api_json(proc.port, method, path, ctype, body, expect_status, NULL, 0);
}

static const char *jstr(cJSON *o, const char *k) { return api_jstr(o, k); }

static char *upload_dataset(void) {
    size_t len;
    char *csv = regression_csv(&len);
    http_resp r;
    ck_assert_int_eq(http_request(proc.port, "POST", "/v1/datasets?name=sine", "Content-Type: text/csv\r\n",
                                  csv, len, 30000, &r), 0);
    free(csv);
    ck_assert_msg(r.status == 201, "upload: %d %s", r.status, r.body);
    char loc[128];
    ck_assert_int_eq(http_header(&r, "Location", loc, sizeof loc), 0);
    cJSON *j = cJSON_Parse(r.body);
    http_resp_free(&r);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "rows")->valueint, 200);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "inputs")->valueint, 3);
    ck_assert_int_eq((int)strlen(jstr(j, "sha256")), 64);
    char *id = strdup(jstr(j, "id"));
    char want[128];
    snprintf(want, sizeof want, "/v1/datasets/%s", id);
    ck_assert_str_eq(loc, want);
    cJSON_Delete(j);
    return id;
}

static char *create_job(const char *ds, int max_iterations) {
    char body[512];
    snprintf(body, sizeof body,
             "{\"dataset_id\":\"%s\",\"algorithm\":\"oig-hwo\",\"hidden_units\":5,\"max_iterations\":%d,"
             "\"seed\":7,\"validation_fraction\":0.2}", ds, max_iterations);
    cJSON *j = request_json("POST", "/v1/jobs", "application/json", body, 202);
    ck_assert_str_eq(jstr(j, "status"), "queued");
    char *id = strdup(jstr(j, "id"));
    cJSON_Delete(j);
    return id;
}

static cJSON *get_job(const char *id) {
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    return request_json("GET", path, NULL, NULL, 200);
}

/* Poll until the job's status is one of want ("a|b"), or timeout; returns the job. */
static cJSON *wait_status(const char *id, const char *want, int timeout_ms) {
    return api_wait_status(proc.port, id, want, timeout_ms, 50);
}

/* Poll until the job has recorded at least iteration it. */
static void wait_iteration(const char *id, int it, int timeout_ms) {
    long long deadline = support_now_ms() + timeout_ms;
    for (;;) {
        cJSON *j = get_job(id);
        cJSON *v = cJSON_GetObjectItem(j, "iteration");
        int cur = cJSON_IsNumber(v) ? v->valueint : -1;
        cJSON_Delete(j);
        if (cur >= it) return;
        ck_assert_msg(support_now_ms() < deadline, "job %s stuck at iteration %d", id, cur);
        usleep(20000);
    }
}

/* The stored metrics history, checked to keep what history.h keeps (api_metrics_history). */
static int metrics_continuous(const char *id) { return api_metrics_history(proc.port, id, NULL); }

/* A summary of every table, to show a request changed nothing. With full = 0 the parts a
 * running job changes by itself (its status and metrics) are left out. */
static char *store_snapshot(int full) {
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *s;
    const char *sql = !full ?
        "SELECT (SELECT group_concat(id || name || sha256, ',') FROM datasets) || '/' || "
        "(SELECT group_concat(id, ',') FROM jobs) || '/' || (SELECT count(*) FROM models)" :
        "SELECT (SELECT count(*) FROM datasets) || '/' || (SELECT group_concat(id || status, ',') FROM jobs) "
        "|| '/' || (SELECT count(*) FROM models) || '/' || (SELECT count(*) FROM metrics) || '/' || "
        "(SELECT group_concat(name || model_seq || updated_at, ',') FROM model_aliases)";
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    const unsigned char *t = sqlite3_column_text(s, 0);
    char *out = strdup(t ? (const char *)t : "");
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
}

static void integrity_ok(void) {
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(s, 0), "ok");
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static void check_problem(const http_resp *r, int status) {
    ck_assert_msg(r->status == status, "want %d, got %d: %s", status, r->status, r->body);
    char ct[64];
    ck_assert_int_eq(http_header(r, "Content-Type", ct, sizeof ct), 0);
    ck_assert_str_eq(ct, "application/problem+json");
    cJSON *j = cJSON_Parse(r->body);
    ck_assert_ptr_nonnull(j);
    ck_assert_ptr_nonnull(jstr(j, "type"));
    ck_assert_ptr_nonnull(jstr(j, "title"));
    ck_assert_ptr_nonnull(jstr(j, "detail"));
    ck_assert_ptr_nonnull(jstr(j, "instance"));
    ck_assert_ptr_nonnull(jstr(j, "code"));
    ck_assert_int_eq(cJSON_GetObjectItem(j, "status")->valueint, status);
    cJSON_Delete(j);
}

/* ---- tests -------------------------------------------------------------------------------- */

START_TEST(test_upload_train_stream_model_predict) {
    start(NULL);
    cJSON *h = request_json("GET", "/healthz", NULL, NULL, 200);
    cJSON_Delete(h);
    h = request_json("GET", "/readyz", NULL, NULL, 200);
    cJSON_Delete(h);
    char *ds = upload_dataset();
    char *job = create_job(ds, 400);

    /* the event stream: current state first, progress with increasing ids, done last */
    char path[160];
    snprintf(path, sizeof path, "/v1/jobs/%s/events", job);
    http_resp ev;
    ck_assert_int_eq(http_request(proc.port, "GET", path, NULL, NULL, 0, 120000, &ev), 0);
    ck_assert_int_eq(ev.status, 200);
    char ct[64];
    ck_assert_int_eq(http_header(&ev, "Content-Type", ct, sizeof ct), 0);
    ck_assert_str_eq(ct, "text/event-stream");
    const char *first_status = strstr(ev.body, "event: status");
    const char *done = strstr(ev.body, "event: done");
    ck_assert_ptr_nonnull(first_status);
    ck_assert_ptr_nonnull(done);
    ck_assert_ptr_null(strstr(done + 1, "event: "));            /* nothing after done */
    ck_assert_ptr_nonnull(strstr(done, "\"succeeded\""));
    int last = -1, nprog = 0;
    for (const char *p = ev.body; (p = strstr(p, "id: ")); p += 4) {
        int id = atoi(p + 4);
        ck_assert_int_gt(id, last);
        last = id;
        nprog++;
    }
    http_resp_free(&ev);

    cJSON *j = wait_status(job, "succeeded", 120000);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "iteration")->valueint, 400);
    char *model_id = strdup(jstr(j, "model_id"));
    cJSON_Delete(j);
    ck_assert_int_eq(metrics_continuous(job), 401);
    ck_assert(nprog >= 1 || last == -1);

    /* Last-Event-ID replays from the stored metrics */
    ck_assert_int_eq(http_request(proc.port, "GET", path, "Last-Event-ID: 395\r\n", NULL, 0, 30000, &ev), 0);
    ck_assert_ptr_nonnull(strstr(ev.body, "id: 396\n"));
    ck_assert_ptr_nonnull(strstr(ev.body, "id: 400\n"));
    ck_assert_ptr_null(strstr(ev.body, "id: 395\n"));
    ck_assert_ptr_nonnull(strstr(ev.body, "event: done"));
    http_resp_free(&ev);

    /* the model document, and predictions equal to the model evaluated here */
    snprintf(path, sizeof path, "/v1/models/%s", model_id);
    http_resp mr;
    ck_assert_int_eq(http_request(proc.port, "GET", path, NULL, NULL, 0, 30000, &mr), 0);
    ck_assert_int_eq(mr.status, 200);
    oig_model *mdl = NULL;
    oig_error err;
    ck_assert_int_eq(model_doc_read(mr.body, mr.len, &mdl, &err), OIG_OK);
    char mpath[400];
    snprintf(mpath, sizeof mpath, "%s/model.json", tdir);
    FILE *f = fopen(mpath, "w");
    fwrite(mr.body, 1, mr.len, f);
    fclose(f);
    http_resp_free(&mr);

    double x[5][3] = {{0.1, 0.2, 0.3}, {-0.5, 0.25, 0.9}, {0, 0, 0}, {1, -1, 0.5}, {-0.9, 0.8, -0.7}};
    double y[5];
    ck_assert_int_eq(oig_model_predict(mdl, &x[0][0], 5, y, NULL), OIG_OK);
    char body[1024];
    int n = snprintf(body, sizeof body, "{\"inputs\":[");
    for (int i = 0; i < 5; i++)
        n += snprintf(body + n, sizeof body - (size_t)n, "%s[%.17g,%.17g,%.17g]", i ? "," : "", x[i][0], x[i][1], x[i][2]);
    snprintf(body + n, sizeof body - (size_t)n, "]}");
    snprintf(path, sizeof path, "/v1/models/%s/predict", model_id);
    j = request_json("POST", path, "application/json", body, 200);
    cJSON *outs = cJSON_GetObjectItem(j, "outputs");
    ck_assert_int_eq(cJSON_GetArraySize(outs), 5);
    for (int i = 0; i < 5; i++) {
        double got = cJSON_GetArrayItem(cJSON_GetArrayItem(outs, i), 0)->valuedouble;
        ck_assert_msg(got == y[i], "row %d: daemon %.17g, here %.17g", i, got, y[i]);
    }
    ck_assert_ptr_null(cJSON_GetObjectItem(j, "classes"));
    cJSON_Delete(j);

    /* `oigd predict` on the fetched document gives the same numbers */
    char dpath[400], opath[400];
    snprintf(dpath, sizeof dpath, "%s/x.csv", tdir);
    snprintf(opath, sizeof opath, "%s/y.csv", tdir);
    f = fopen(dpath, "w");
    fprintf(f, "a,b,c\n");
    for (int i = 0; i < 5; i++) fprintf(f, "%.17g,%.17g,%.17g\n", x[i][0], x[i][1], x[i][2]);
    fclose(f);
    pid_t pid = fork();
    if (pid == 0) {
        execl(getenv("OIGD_BIN"), getenv("OIGD_BIN"), "predict", "--model", mpath, "--data", dpath, "--out", opath,
              (char *)NULL);
        _exit(127);
    }
    int wst;
    waitpid(pid, &wst, 0);
    ck_assert_msg(WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "oigd predict failed");
    f = fopen(opath, "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));          /* header */
    for (int i = 0; i < 5; i++) {
        ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
        ck_assert_double_eq_tol(strtod(line, NULL), y[i], 1e-12 * (1 + fabs(y[i])));
    }
    fclose(f);

    oig_model_free(mdl);
    free(model_id);
    free(job);
    free(ds);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 10000), 0);
    integrity_ok();
}
END_TEST

START_TEST(test_cancel_stops_running_job) {
    start(NULL);
    char *ds = upload_dataset();
    char *job = create_job(ds, 100000000);
    wait_iteration(job, 5, 60000);
    char path[160];
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", job);
    cJSON *j = request_json("POST", path, NULL, NULL, 202);
    cJSON_Delete(j);
    j = wait_status(job, "cancelled", 10000);
    ck_assert_ptr_null(jstr(j, "model_id"));
    int it = cJSON_GetObjectItem(j, "iteration")->valueint;
    cJSON_Delete(j);
    ck_assert_int_eq(metrics_continuous(job), it + 1);          /* metrics kept */
    j = request_json("POST", path, NULL, NULL, 409);             /* already finished */
    cJSON_Delete(j);
    /* a queued job is cancelled at once */
    free(job);
    free(ds);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 10000), 0);
}
END_TEST

/* LM's choice options go in through the job's options and come back in the job, default or not,
 * and the run uses them. */
START_TEST(test_lm_options_round_trip) {
    start(NULL);
    char *ds = upload_dataset();
    char body[512];
    snprintf(body, sizeof body,
             "{\"dataset_id\":\"%s\",\"algorithm\":\"lm\",\"hidden_units\":4,\"max_iterations\":6,"
             "\"options\":{\"lm_update\":\"gain\",\"lm_acceleration\":\"geodesic\","
             "\"lm_precision\":\"mixed\"}}", ds);
    cJSON *j = request_json("POST", "/v1/jobs", "application/json", body, 202);
    char *job = strdup(jstr(j, "id"));
    cJSON_Delete(j);
    j = wait_status(job, "succeeded", 60000);
    cJSON *op = cJSON_GetObjectItem(j, "options");
    ck_assert_str_eq(jstr(op, "lm_update"), "gain");
    ck_assert_str_eq(jstr(op, "lm_acceleration"), "geodesic");
    ck_assert_str_eq(jstr(op, "lm_precision"), "mixed");
    ck_assert_str_eq(jstr(op, "lm_damping"), "identity");
    ck_assert_int_eq(cJSON_GetObjectItem(j, "iteration")->valueint, 6);
    cJSON_Delete(j);
    char *plain = create_job(ds, 2);
    j = wait_status(plain, "succeeded", 60000);
    ck_assert_str_eq(jstr(cJSON_GetObjectItem(j, "options"), "lm_acceleration"), "none");
    ck_assert_str_eq(jstr(cJSON_GetObjectItem(j, "options"), "lm_precision"), "double");
    cJSON_Delete(j);
    free(plain);
    free(job);
    free(ds);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 10000), 0);
}
END_TEST

/* One request that must fail with status and leave the store as it was. */
static void expect_error_snap(const char *method, const char *path, const char *headers, const char *body,
                              size_t len, int status, int full) {
    char *before = store_snapshot(full);
    http_resp r;
    ck_assert_int_eq(http_request(proc.port, method, path, headers, body, len, 30000, &r), 0);
    check_problem(&r, status);
    if (status == 405) {
        char allow[64];
        ck_assert_int_eq(http_header(&r, "Allow", allow, sizeof allow), 0);
    }
    http_resp_free(&r);
    char *after = store_snapshot(full);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
}

/* POST body (JSON) to path: 422 whose detail is exactly detail and whose error names field. */
static void expect_invalid_detail(const char *path, const char *body, const char *field, const char *detail) {
    http_resp r;
    ck_assert_int_eq(http_request(proc.port, "POST", path, "Content-Type: application/json\r\n", body, strlen(body),
                                  30000, &r), 0);
    ck_assert_msg(r.status == 422, "%s %s: status %d", path, body, r.status);
    cJSON *p = cJSON_Parse(r.body);
    ck_assert_ptr_nonnull(p);
    ck_assert_str_eq(cJSON_GetObjectItem(p, "detail")->valuestring, detail);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(p, "errors"), 0), "field")->valuestring,
                     field);
    cJSON_Delete(p);
    http_resp_free(&r);
}

static void expect_error(const char *method, const char *path, const char *headers, const char *body,
                         size_t len, int status) {
    expect_error_snap(method, path, headers, body, len, status, 1);
}

START_TEST(test_every_error_status_is_problem_json_and_changes_nothing) {
    const char *extra[] = {"--max-body", "16384", NULL};
    start(extra);
    char *ds = upload_dataset();
    const char *json = "Content-Type: application/json\r\n";
    char body[512], path[160];

    /* 400: malformed JSON, malformed CSV (names the line) */
    expect_error("POST", "/v1/jobs", json, "{\"dataset_id\": ", 15, 400);
    const char *bad_csv = "a,b,y\n1,2,3\n4,oops,6\n";
    expect_error("POST", "/v1/datasets", "Content-Type: text/csv\r\n", bad_csv, strlen(bad_csv), 400);
    /* 404: unknown id, unknown route */
    expect_error("GET", "/v1/jobs/job_nope", NULL, NULL, 0, 404);
    expect_error("GET", "/v1/models/mdl_nope", NULL, NULL, 0, 404);
    expect_error("DELETE", "/v1/datasets/ds_nope", NULL, NULL, 0, 404);
    expect_error("GET", "/v1/nothing", NULL, NULL, 0, 404);
    /* 405 with Allow */
    expect_error("PUT", "/v1/jobs", json, "{}", 2, 405);
    expect_error("DELETE", "/v1/jobs/job_x/metrics", NULL, NULL, 0, 405);
    expect_error("DELETE", "/v1/jobs/job_nope", NULL, NULL, 0, 404);
    /* 413: over --max-body */
    size_t big = 20000;
    char *huge = malloc(big);
    memset(huge, '1', big);
    expect_error("POST", "/v1/datasets", "Content-Type: text/csv\r\n", huge, big, 413);
    free(huge);
    /* 415: wrong content type */
    expect_error("POST", "/v1/datasets", "Content-Type: application/xml\r\n", "<a/>", 4, 415);
    snprintf(body, sizeof body, "{\"dataset_id\":\"%s\"}", ds);
    expect_error("POST", "/v1/jobs", "Content-Type: text/plain\r\n", body, strlen(body), 415);
    /* 422: unknown algorithm, hidden_units <= 0, unknown field/option, unknown dataset */
    snprintf(body, sizeof body, "{\"dataset_id\":\"%s\",\"algorithm\":\"adam\"}", ds);
    expect_error("POST", "/v1/jobs", json, body, strlen(body), 422);
    snprintf(body, sizeof body, "{\"dataset_id\":\"%s\",\"algorithm\":\"oig-hwo\",\"hidden_units\":0}", ds);
    expect_error("POST", "/v1/jobs", json, body, strlen(body), 422);
    snprintf(body, sizeof body, "{\"dataset_id\":\"%s\",\"colour\":\"red\"}", ds);
    expect_error("POST", "/v1/jobs", json, body, strlen(body), 422);
    snprintf(body, sizeof body, "{\"dataset_id\":\"%s\",\"options\":{\"warp\":9}}", ds);
    expect_error("POST", "/v1/jobs", json, body, strlen(body), 422);
    /* a misspelt field or option: the detail names what it most likely meant */
    static const char *const misspelt[][3] = {
        { "\"iterations\":5", "iterations", "iterations: unknown field (did you mean 'max_iterations'?)" },
        { "\"options\":{\"sigma_d\":2}", "options.sigma_d", "options.sigma_d: unknown option (did you mean 'sigmad'?)" },
        { "\"options\":{\"momentun\":0.5}", "options.momentun",
          "options.momentun: unknown option (did you mean 'momentum'?)" },
    };
    for (size_t i = 0; i < sizeof misspelt / sizeof misspelt[0]; i++) {
        snprintf(body, sizeof body, "{\"dataset_id\":\"%s\",%s}", ds, misspelt[i][0]);
        expect_invalid_detail("/v1/jobs", body, misspelt[i][1], misspelt[i][2]);
    }
    expect_error("POST", "/v1/jobs", json, "{\"dataset_id\":\"ds_nope\"}", 24, 422);
    /* 422: a distributed job on a daemon without --mpi-launcher, and a non-boolean flag */
    snprintf(body, sizeof body, "{\"dataset_id\":\"%s\",\"distributed\":true}", ds);
    expect_error("POST", "/v1/jobs", json, body, strlen(body), 422);
    http_resp dr;
    ck_assert_int_eq(http_request(proc.port, "POST", "/v1/jobs", json, body, strlen(body), 30000, &dr), 0);
    ck_assert_ptr_nonnull(strstr(dr.body, "\"field\":\"distributed\""));
    ck_assert_ptr_nonnull(strstr(dr.body, "--mpi-launcher"));
    http_resp_free(&dr);
    snprintf(body, sizeof body, "{\"dataset_id\":\"%s\",\"distributed\":1}", ds);
    expect_error("POST", "/v1/jobs", json, body, strlen(body), 422);

    /* 409: deleting a dataset that a queued or running job uses, or that job; cancelling a
     * finished job. Once finished, the job can be deleted, and its metrics go with it. */
    char *job = create_job(ds, 100000000);
    snprintf(path, sizeof path, "/v1/datasets/%s", ds);
    expect_error_snap("DELETE", path, NULL, NULL, 0, 409, 0);   /* the job itself may start meanwhile */
    snprintf(path, sizeof path, "/v1/jobs/%s", job);
    expect_error_snap("DELETE", path, NULL, NULL, 0, 409, 0);
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", job);
    cJSON *j = request_json("POST", path, NULL, NULL, 202);
    cJSON_Delete(j);
    j = wait_status(job, "cancelled", 20000);
    cJSON_Delete(j);
    expect_error("POST", path, NULL, NULL, 0, 409);
    snprintf(path, sizeof path, "/v1/jobs/%s", job);
    http_resp del;
    ck_assert_int_eq(http_request(proc.port, "DELETE", path, NULL, NULL, 0, 30000, &del), 0);
    ck_assert_int_eq(del.status, 204);
    ck_assert_uint_eq(del.len, 0);
    http_resp_free(&del);
    expect_error("GET", path, NULL, NULL, 0, 404);
    expect_error("DELETE", path, NULL, NULL, 0, 404);
    snprintf(path, sizeof path, "/v1/jobs/%s/metrics", job);
    expect_error("GET", path, NULL, NULL, 0, 404);

    /* 422 on predict: rows of the wrong width (a model is imported for it) */
    char *job2 = create_job(ds, 3);
    j = wait_status(job2, "succeeded|failed", 60000);
    ck_assert_str_eq(jstr(j, "status"), "succeeded");
    snprintf(path, sizeof path, "/v1/models/%s/predict", jstr(j, "model_id"));
    cJSON_Delete(j);
    /* the model outlives its job */
    char jpath[160];
    snprintf(jpath, sizeof jpath, "/v1/jobs/%s", job2);
    ck_assert_int_eq(http_request(proc.port, "DELETE", jpath, NULL, NULL, 0, 30000, &del), 0);
    ck_assert_int_eq(del.status, 204);
    http_resp_free(&del);
    cJSON_Delete(request_json("POST", path, "application/json", "{\"inputs\":[[1,2,3]]}", 200));
    expect_error("POST", path, json, "{\"inputs\":[[1,2]]}", 18, 422);
    expect_error("POST", path, json, "{\"inputs\":[[1,2,\"x\"]]}", 22, 422);
    expect_invalid_detail(path, "{\"input\":[[1,2,3]]}", "input", "input: unknown field (did you mean 'inputs'?)");
    expect_error("POST", "/v1/models/mdl_nope/predict", json, "{\"inputs\":[[1,2,3]]}", 20, 404);
    expect_error("POST", "/v1/models", json, "{\"format\":\"nope\"}", 17, 422);

    free(job);
    free(job2);
    free(ds);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 10000), 0);
}
END_TEST

START_TEST(test_json_upload_and_model_import) {
    start(NULL);
    const char *body = "{\"name\":\"xor\",\"columns\":[\"a\",\"b\",\"cls\"],\"targets\":[\"cls\"],\"task\":\"classification\","
                       "\"rows\":[[0,0,\"no\"],[0,1,\"yes\"],[1,0,\"yes\"],[1,1,\"no\"],[0.1,0.1,\"no\"],[0.9,0.1,\"yes\"]]}";
    cJSON *d = request_json("POST", "/v1/datasets", "application/json", body, 201);
    ck_assert_str_eq(jstr(d, "task"), "classification");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(d, "classes")), 2);
    char jb[256];
    snprintf(jb, sizeof jb, "{\"dataset_id\":\"%s\",\"algorithm\":\"oig-hwo\",\"hidden_units\":3,\"max_iterations\":20}",
             jstr(d, "id"));
    cJSON_Delete(d);
    cJSON *j = request_json("POST", "/v1/jobs", "application/json", jb, 202);
    char *job = strdup(jstr(j, "id"));
    cJSON_Delete(j);
    j = wait_status(job, "succeeded|failed", 60000);
    ck_assert_str_eq(jstr(j, "status"), "succeeded");
    char path[160];
    snprintf(path, sizeof path, "/v1/models/%s", jstr(j, "model_id"));
    cJSON_Delete(j);
    http_resp r;
    ck_assert_int_eq(http_request(proc.port, "GET", path, NULL, NULL, 0, 30000, &r), 0);
    /* import the same document: a new model that predicts the same classes */
    cJSON *m = request_json("POST", "/v1/models", "application/json", r.body, 201);
    http_resp_free(&r);
    char p1[200], p2[160];
    snprintf(p1, sizeof p1, "%s/predict", path);
    snprintf(p2, sizeof p2, "/v1/models/%s/predict", jstr(m, "id"));
    const char *in = "{\"inputs\":[[0,1],[1,1]]}";
    cJSON *a = request_json("POST", p1, "application/json", in, 200);
    cJSON *b = request_json("POST", p2, "application/json", in, 200);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(a, "classes")), 2);
    ck_assert_str_eq(jstr(b, "model_id"), jstr(m, "id"));   /* each answer names its model */
    cJSON_DeleteItemFromObject(a, "model_id");
    cJSON_DeleteItemFromObject(b, "model_id");
    char *sa = cJSON_PrintUnformatted(a), *sb = cJSON_PrintUnformatted(b);
    ck_assert_str_eq(sa, sb);
    free(sa); free(sb);
    cJSON_Delete(a); cJSON_Delete(b);
    snprintf(p2, sizeof p2, "/v1/models/%s", jstr(m, "id"));
    http_resp del;
    ck_assert_int_eq(http_request(proc.port, "DELETE", p2, NULL, NULL, 0, 30000, &del), 0);
    ck_assert_int_eq(del.status, 204);
    http_resp_free(&del);
    cJSON_Delete(m);
    free(job);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 10000), 0);
}
END_TEST

/* A job on every row (no validation split) with this seed, to its end; returns the finished job. */
static cJSON *train_all_rows(const char *ds, int seed) {
    char body[512];
    snprintf(body, sizeof body, "{\"dataset_id\":\"%s\",\"hidden_units\":5,\"max_iterations\":30,\"seed\":%d}", ds, seed);
    cJSON *j = request_json("POST", "/v1/jobs", "application/json", body, 202);
    char *id = strdup(jstr(j, "id"));
    cJSON_Delete(j);
    j = wait_status(id, "succeeded", 120000);
    free(id);
    return j;
}

/* The model of train_all_rows(ds, seed). */
static char *train_model(const char *ds, int seed) {
    cJSON *j = train_all_rows(ds, seed);
    char *model = strdup(jstr(j, "model_id"));
    cJSON_Delete(j);
    return model;
}

/* POST path with the predict body in; returns the answer's outputs printed, and checks that the
 * answer names model. */
static char *predict_via(const char *path, const char *model) {
    cJSON *a = request_json("POST", path, "application/json", "{\"inputs\":[[0.1,-0.2,0.3],[0.5,0.5,-0.5]]}", 200);
    ck_assert_str_eq(jstr(a, "model_id"), model);
    char *out = cJSON_PrintUnformatted(cJSON_GetObjectItem(a, "outputs"));
    cJSON_Delete(a);
    return out;
}

/* A model alias: PUT creates it (201 and Location) and moves it (200); predict, evaluate, GET
 * and project through the alias reach the model it names, and the predict answer names that
 * model. A named model cannot be deleted (409). Errors leave the store as it was: an invalid
 * name, an unknown model and an unknown field (422), no JSON (415), an unknown alias (404), a
 * wrong method (405). Deleting the alias (204) makes its paths 404. */
START_TEST(test_aliases_route_to_the_model_they_name) {
    start(NULL);
    char *ds = upload_dataset();
    char *a = train_model(ds, 1), *b = train_model(ds, 2);
    const char *json = "Content-Type: application/json\r\n";
    char body[256], path[200], loc[128];
    snprintf(body, sizeof body, "{\"model_id\":\"%s\"}", a);
    http_resp r;
    ck_assert_int_eq(http_request(proc.port, "PUT", "/v1/aliases/prod", json, body, strlen(body), 30000, &r), 0);
    ck_assert_msg(r.status == 201, "%d %s", r.status, r.body);
    ck_assert_int_eq(http_header(&r, "Location", loc, sizeof loc), 0);
    ck_assert_str_eq(loc, "/v1/aliases/prod");
    cJSON *j = cJSON_Parse(r.body);
    ck_assert_str_eq(jstr(j, "name"), "prod");
    ck_assert_str_eq(jstr(j, "model_id"), a);
    cJSON_Delete(j);
    http_resp_free(&r);

    snprintf(path, sizeof path, "/v1/models/%s/predict", a);
    char *direct_a = predict_via(path, a);
    char *aliased = predict_via("/v1/models/prod/predict", a);
    ck_assert_str_eq(aliased, direct_a);
    free(aliased);
    http_resp ga, gp;
    snprintf(path, sizeof path, "/v1/models/%s", a);
    ck_assert_int_eq(http_request(proc.port, "GET", path, NULL, NULL, 0, 30000, &ga), 0);
    ck_assert_int_eq(http_request(proc.port, "GET", "/v1/models/prod", NULL, NULL, 0, 30000, &gp), 0);
    ck_assert_int_eq(gp.status, 200);
    ck_assert_str_eq(gp.body, ga.body);
    http_resp_free(&ga);
    http_resp_free(&gp);
    snprintf(body, sizeof body, "{\"dataset_id\":\"%s\"}", ds);
    j = request_json("POST", "/v1/models/prod/evaluate", "application/json", body, 200);
    ck_assert_str_eq(jstr(j, "model_id"), a);
    cJSON_Delete(j);
    j = request_json("POST", "/v1/models/prod/project", "application/json", "{}", 201);
    cJSON_Delete(j);

    /* a named model stays */
    snprintf(path, sizeof path, "/v1/models/%s", a);
    expect_error("DELETE", path, NULL, NULL, 0, 409);
    expect_error("DELETE", "/v1/models/prod", NULL, NULL, 0, 409);
    ck_assert_int_eq(http_request(proc.port, "DELETE", path, NULL, NULL, 0, 30000, &r), 0);
    ck_assert_ptr_nonnull(strstr(r.body, "the alias 'prod' names this model"));
    http_resp_free(&r);

    /* move it */
    snprintf(body, sizeof body, "{\"model_id\":\"%s\"}", b);
    j = request_json("PUT", "/v1/aliases/prod", "application/json", body, 200);
    ck_assert_str_eq(jstr(j, "model_id"), b);
    cJSON_Delete(j);
    snprintf(path, sizeof path, "/v1/models/%s/predict", b);
    char *direct_b = predict_via(path, b);
    aliased = predict_via("/v1/models/prod/predict", b);
    ck_assert_str_eq(aliased, direct_b);
    ck_assert_str_ne(direct_a, direct_b);
    free(aliased);
    j = request_json("GET", "/v1/aliases", NULL, NULL, 200);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "items")), 1);
    ck_assert_str_eq(jstr(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "items"), 0), "model_id"), b);
    cJSON_Delete(j);

    /* errors change nothing */
    expect_error("PUT", "/v1/aliases/mdl_x", json, body, strlen(body), 422);
    const char *unknown_model = "{\"model_id\":\"mdl_nope\"}", *unknown_field = "{\"model\":\"x\"}";
    expect_error("PUT", "/v1/aliases/prod", json, unknown_model, strlen(unknown_model), 422);
    expect_error("PUT", "/v1/aliases/prod", json, unknown_field, strlen(unknown_field), 422);
    expect_error("PUT", "/v1/aliases/prod", json, "[]", 2, 422);
    expect_error("PUT", "/v1/aliases/prod", "Content-Type: text/plain\r\n", body, strlen(body), 415);
    expect_error("POST", "/v1/aliases/prod", json, body, strlen(body), 405);
    expect_error("GET", "/v1/aliases/staging", NULL, NULL, 0, 404);
    const char *in = "{\"inputs\":[[1,2,3]]}";
    expect_error("POST", "/v1/models/staging/predict", json, in, strlen(in), 404);
    ck_assert_int_eq(http_request(proc.port, "POST", "/v1/aliases/prod", json, body, strlen(body), 30000, &r), 0);
    ck_assert_int_eq(http_header(&r, "Allow", loc, sizeof loc), 0);
    ck_assert_str_eq(loc, "GET, HEAD, PUT, DELETE");
    http_resp_free(&r);

    /* delete it: its paths are gone, and the models can go */
    ck_assert_int_eq(http_request(proc.port, "DELETE", "/v1/aliases/prod", NULL, NULL, 0, 30000, &r), 0);
    ck_assert_int_eq(r.status, 204);
    http_resp_free(&r);
    expect_error("POST", "/v1/models/prod/predict", json, in, strlen(in), 404);
    expect_error("DELETE", "/v1/aliases/prod", NULL, NULL, 0, 404);
    snprintf(path, sizeof path, "/v1/models/%s", a);
    ck_assert_int_eq(http_request(proc.port, "DELETE", path, NULL, NULL, 0, 30000, &r), 0);
    ck_assert_int_eq(r.status, 204);
    http_resp_free(&r);
    integrity_ok();
    free(direct_a); free(direct_b);
    free(a); free(b); free(ds);
}
END_TEST

/* d, an uploaded dataset, has 40000 rows and the SHA-256 sha; a 3-iteration job on it
 * succeeds, and path receives its model's predict path. Frees d. */
static void check_40000_rows_and_train(cJSON *d, const char *sha, char *path, size_t pathlen) {
    ck_assert_int_eq(cJSON_GetObjectItem(d, "rows")->valueint, 40000);
    ck_assert_str_eq(jstr(d, "sha256"), sha);
    char *job = create_job(jstr(d, "id"), 3);
    cJSON_Delete(d);
    cJSON *j = wait_status(job, "succeeded|failed", 60000);
    ck_assert_str_eq(jstr(j, "status"), "succeeded");
    snprintf(path, pathlen, "/v1/models/%s/predict", jstr(j, "model_id"));
    cJSON_Delete(j);
    free(job);
}

/* Bodies past 1 MiB go through a spool file: a 1.5 MB CSV upload keeps its rows and its
 * SHA-256, a 1.5 MB predict body gives the same outputs as one row sent alone, and no spool
 * file is left beside the database. */
START_TEST(test_large_bodies_are_spooled_and_read_back) {
    start(NULL);
    size_t len;
    char *csv = api_sine_csv(40000, 4242, &len);
    ck_assert_uint_gt(len, (size_t)1 << 20);
    char sha[65];
    sha256_hex(csv, len, sha);
    cJSON *d = request_json("POST", "/v1/datasets?name=big", "text/csv", csv, 201);
    free(csv);
    char path[200];
    check_40000_rows_and_train(d, sha, path, sizeof path);

    const int rows = 40000;
    size_t cap = (size_t)rows * 64 + 64, n = 0;
    char *body = malloc(cap);
    n += (size_t)snprintf(body + n, cap - n, "{\"inputs\":[");
    for (int i = 0; i < rows; i++)
        n += (size_t)snprintf(body + n, cap - n, "%s[%.9f,%.9f,%.9f]", i ? "," : "", 0.5 - i * 1e-5, i * 3e-5 - 0.3, 0.25);
    n += (size_t)snprintf(body + n, cap - n, "]}");
    ck_assert_uint_gt(n, (size_t)1 << 20);
    cJSON *all = request_json("POST", path, "application/json", body, 200);
    free(body);
    cJSON *outs = cJSON_GetObjectItem(all, "outputs");
    ck_assert_int_eq(cJSON_GetArraySize(outs), rows);
    char one[160];
    snprintf(one, sizeof one, "{\"inputs\":[[%.9f,%.9f,%.9f]]}", 0.5 - 7777 * 1e-5, 7777 * 3e-5 - 0.3, 0.25);
    cJSON *single = request_json("POST", path, "application/json", one, 200);
    char *a = cJSON_PrintUnformatted(cJSON_GetArrayItem(outs, 7777));
    char *b = cJSON_PrintUnformatted(cJSON_GetArrayItem(cJSON_GetObjectItem(single, "outputs"), 0));
    ck_assert_str_eq(a, b);
    free(a); free(b);
    cJSON_Delete(single);
    cJSON_Delete(all);
    ck_assert_int_eq(support_dir_entries(tdir, "oigd-body"), 0);
    http_resp r;
    ck_assert_int_eq(http_request(proc.port, "GET", "/metrics", NULL, NULL, 0, 30000, &r), 0);
    const char *spooled = strstr(r.body, "\noigd_request_bodies_spooled_total ");
    ck_assert_ptr_nonnull(spooled);
    ck_assert_msg(strncmp(spooled, "\noigd_request_bodies_spooled_total 2\n", 37) == 0, "%.50s", spooled + 1);
    http_resp_free(&r);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 10000), 0);
}
END_TEST

/* Content-Encoding gzip and deflate: an upload and a predict body decode to what the plain ones
 * give (the upload's SHA-256 is the decoded text's), a decoded body past 1 MiB is spooled,
 * --max-body counts decoded bytes (a 3 MB run of one byte, compressed to a few KB, is 413),
 * truncated or false compressed data is 400, and another coding is 415 with Accept-Encoding. */
START_TEST(test_compressed_bodies_are_decoded_and_bounded) {
    const char *extra[] = {"--max-body", "2000000", NULL};
    start(extra);
    size_t len, zlen, gzlen;
    char *csv = api_sine_csv(40000, 99, &len);
    ck_assert_uint_gt(len, (size_t)1 << 20);
    ck_assert_uint_lt(len, 2000000);
    char sha[65];
    sha256_hex(csv, len, sha);
    unsigned char *gz = api_compressed(csv, len, 1, &gzlen);
    http_resp r;
    ck_assert_int_eq(http_request(proc.port, "POST", "/v1/datasets", "Content-Type: text/csv\r\nContent-Encoding: gzip\r\n",
                                  (const char *)gz, gzlen, 30000, &r), 0);
    ck_assert_msg(r.status == 201, "%d %s", r.status, r.body);
    cJSON *d = cJSON_Parse(r.body);
    http_resp_free(&r);
    char path[200];
    check_40000_rows_and_train(d, sha, path, sizeof path);

    /* a body that compresses about 300:1 comes out whole */
    size_t rows = 30000, rlen = 6 + 6 * rows;
    char *same = malloc(rlen + 1);
    memcpy(same, "a,b,y\n", 6);
    for (size_t i = 0; i < rows; i++) memcpy(same + 6 + 6 * i, "1,2,3\n", 6);
    unsigned char *dense = api_compressed(same, rlen, 1, &zlen);
    free(same);
    ck_assert_uint_lt(zlen * 100, rlen);
    ck_assert_int_eq(http_request(proc.port, "POST", "/v1/datasets", "Content-Type: text/csv\r\nContent-Encoding: gzip\r\n",
                                  (const char *)dense, zlen, 30000, &r), 0);
    free(dense);
    ck_assert_msg(r.status == 201, "%d %s", r.status, r.body);
    d = cJSON_Parse(r.body);
    http_resp_free(&r);
    ck_assert_int_eq(cJSON_GetObjectItem(d, "rows")->valueint, 30000);
    cJSON_Delete(d);

    /* the same predict body plain and as deflate */
    const char *in = "{\"inputs\":[[0.1,0.2,0.3],[-0.5,0.25,0.75]]}";
    cJSON *plain = request_json("POST", path, "application/json", in, 200);
    unsigned char *zz = api_compressed(in, strlen(in), 0, &zlen);
    ck_assert_int_eq(http_request(proc.port, "POST", path, "Content-Type: application/json\r\nContent-Encoding: deflate\r\n",
                                  (const char *)zz, zlen, 30000, &r), 0);
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    char *a = cJSON_PrintUnformatted(plain);
    ck_assert_str_eq(r.body, a);
    free(a);
    http_resp_free(&r);
    cJSON_Delete(plain);
    free(zz);

    /* 413 from the decoded size, 400 for a cut or false stream, 415 for another coding */
    size_t big = 3000000;
    char *ones = malloc(big);
    memset(ones, '1', big);
    unsigned char *bomb = api_compressed(ones, big, 1, &zlen);
    free(ones);
    ck_assert_uint_lt(zlen, 20000);
    const char *gzh = "Content-Type: text/csv\r\nContent-Encoding: gzip\r\n";
    expect_error("POST", "/v1/datasets", gzh, (const char *)bomb, zlen, 413);
    free(bomb);
    expect_error("POST", "/v1/datasets", gzh, (const char *)gz, gzlen / 2, 400);
    expect_error("POST", "/v1/datasets", gzh, csv, 5000, 400);
    ck_assert_int_eq(http_request(proc.port, "POST", "/v1/datasets", "Content-Type: text/csv\r\nContent-Encoding: br\r\n",
                                  csv, 100, 30000, &r), 0);
    check_problem(&r, 415);
    char accept[64];
    ck_assert_int_eq(http_header(&r, "Accept-Encoding", accept, sizeof accept), 0);
    ck_assert_str_eq(accept, "gzip, deflate");
    http_resp_free(&r);
    /* a request without a body has nothing to decode: its Content-Encoding does not matter */
    ck_assert_int_eq(http_request(proc.port, "GET", "/v1/datasets", "Content-Encoding: br\r\n", NULL, 0, 30000, &r), 0);
    ck_assert_int_eq(r.status, 200);
    http_resp_free(&r);
    free(gz);
    free(csv);
    ck_assert_int_eq(http_request(proc.port, "GET", "/metrics", NULL, NULL, 0, 30000, &r), 0);
    ck_assert_ptr_nonnull(strstr(r.body, "\noigd_request_bodies_spooled_total 1\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "oigd_limit_rejections_total{limit=\"max_body\"} 1\n"));
    http_resp_free(&r);
    ck_assert_int_eq(support_dir_entries(tdir, "oigd-body"), 0);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 10000), 0);
}
END_TEST

static int checkpoint_iteration(const char *job) {
    sqlite3 *db;
    int it = -1;
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) { sqlite3_close(db); return -1; }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, "SELECT iteration FROM checkpoints WHERE job_id = ?1", -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, job, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW) it = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return it;
}

START_TEST(test_kill9_during_training_then_restart_completes_job) {
    const char *extra[] = {"--checkpoint-seconds", "0.2", NULL};
    start(extra);
    char *ds = upload_dataset();
    int total = 20000;
    char *job = create_job(ds, total);
    long long deadline = support_now_ms() + 60000;
    while (checkpoint_iteration(job) < 1) {
        ck_assert_msg(support_now_ms() < deadline, "no checkpoint written");
        usleep(20000);
    }
    cJSON *j = get_job(job);
    ck_assert_str_eq(jstr(j, "status"), "running");             /* killed mid-training */
    cJSON_Delete(j);
    ck_assert_int_eq(oigd_stop(&proc, SIGKILL, 10000), 128 + SIGKILL);
    integrity_ok();

    start(extra);
    j = wait_status(job, "succeeded|failed|cancelled", 300000);
    ck_assert_str_eq(jstr(j, "status"), "succeeded");
    ck_assert_int_eq(cJSON_GetObjectItem(j, "iteration")->valueint, total);
    ck_assert_int_ge(cJSON_GetObjectItem(j, "attempts")->valueint, 2);
    char path[160];
    snprintf(path, sizeof path, "/v1/models/%s", jstr(j, "model_id"));
    cJSON_Delete(j);
    http_resp r;
    ck_assert_int_eq(http_request(proc.port, "GET", path, NULL, NULL, 0, 30000, &r), 0);
    ck_assert_int_eq(r.status, 200);
    http_resp_free(&r);
    ck_assert_int_eq(metrics_continuous(job), total + 1);        /* no gaps, no duplicates */
    free(job);
    free(ds);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 10000), 0);
    integrity_ok();
}
END_TEST

START_TEST(test_sigterm_checkpoints_and_requeues_running_job) {
    start(NULL);
    char *ds = upload_dataset();
    char *job = create_job(ds, 100000000);
    wait_iteration(job, 10, 60000);
    long long t0 = support_now_ms();
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 10000), 0);
    ck_assert_int_lt(support_now_ms() - t0, 5000);
    int ck = checkpoint_iteration(job);
    ck_assert_int_ge(ck, 10);
    start(NULL);
    cJSON *j = wait_status(job, "running", 30000);
    cJSON_Delete(j);
    wait_iteration(job, ck + 1, 60000);
    char path[160];
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", job);
    j = request_json("POST", path, NULL, NULL, 202);
    cJSON_Delete(j);
    j = wait_status(job, "cancelled", 10000);
    int it = cJSON_GetObjectItem(j, "iteration")->valueint;
    cJSON_Delete(j);
    ck_assert_int_eq(metrics_continuous(job), it + 1);
    free(job);
    free(ds);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 10000), 0);
}
END_TEST

/* The sine CSV ("a,b,c,y" rows) rewritten: columns in the order b,y,c,a, or (classes = 1) as
 * a,b,c,kind with kind = pos or neg by the sign of y. */
static char *rewrite_sine(const char *csv, int classes) {
    size_t cap = strlen(csv) * 2 + 64, n = 0;
    char *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    n += (size_t)snprintf(out, cap, classes ? "a,b,c,kind\n" : "b,y,c,a\n");
    const char *line = strchr(csv, '\n') + 1;
    while (*line) {
        double v[4];
        ck_assert_int_eq(sscanf(line, "%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2], &v[3]), 4);
        if (classes)
            n += (size_t)snprintf(out + n, cap - n, "%.17g,%.17g,%.17g,%s\n", v[0], v[1], v[2], v[3] > 0 ? "pos" : "neg");
        else
            n += (size_t)snprintf(out + n, cap - n, "%.17g,%.17g,%.17g,%.17g\n", v[1], v[3], v[2], v[0]);
        const char *nl = strchr(line, '\n');
        if (!nl) break;
        line = nl + 1;
    }
    return out;
}

static char *upload_text(const char *path, const char *csv) {
    cJSON *j = api_json(proc.port, "POST", path, "text/csv", csv, 201, NULL, 0);
    char *id = strdup(jstr(j, "id"));
    cJSON_Delete(j);
    return id;
}


static cJSON *evaluate(const char *model, const char *ds, int status) {
    char path[160], body[160];
    snprintf(path, sizeof path, "/v1/models/%s/evaluate", model);
    snprintf(body, sizeof body, "{\"dataset_id\":\"%s\"}", ds);
    return request_json("POST", path, "application/json", body, status);
}

static double jnum(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", k);
    return v->valuedouble;
}

START_TEST(test_evaluate_scores_stored_datasets) {
    start(NULL);
    size_t len;
    char *csv = regression_csv(&len);
    char *shuffled = rewrite_sine(csv, 0), *classes = rewrite_sine(csv, 1);
    char *ds = upload_text("/v1/datasets?name=sine", csv);
    char *ds2 = upload_text("/v1/datasets?name=shuffled&targets=y", shuffled);
    char *dsc = upload_text("/v1/datasets?name=signs&task=classification", classes);

    /* on the rows it trained on, the model's MSE is the one its job reported */
    cJSON *job = train_all_rows(ds, 3);
    char *model = strdup(jstr(job, "model_id"));
    cJSON *e = evaluate(model, ds, 200);
    ck_assert_int_eq((int)jnum(e, "rows"), 200);
    ck_assert_str_eq(jstr(e, "inputs_matched_by"), "name");
    double mse = jnum(e, "mse");
    ck_assert_double_eq_tol(mse, jnum(job, "train_mse"), 1e-10 * mse);
    ck_assert_double_eq_tol(jnum(e, "rmse"), sqrt(mse), 1e-15 * mse);
    cJSON *o = cJSON_GetArrayItem(cJSON_GetObjectItem(e, "outputs"), 0);
    ck_assert_str_eq(jstr(o, "name"), "y");
    ck_assert_double_eq(jnum(o, "mse"), mse);
    ck_assert(jnum(o, "r2") > 0.5 && jnum(o, "r2") < 1.0);
    ck_assert(jnum(o, "mae") > 0.0);
    ck_assert_ptr_null(cJSON_GetObjectItem(e, "confusion_matrix"));
    cJSON_Delete(job);

    /* the same rows with the columns moved: matched by name, the same figures */
    cJSON *e2 = evaluate(model, ds2, 200);
    ck_assert_str_eq(jstr(e2, "inputs_matched_by"), "name");
    ck_assert_double_eq(jnum(e2, "mse"), mse);
    cJSON_Delete(e2);
    cJSON_Delete(e);

    /* classification: the confusion matrix counts every row once, its diagonal the right ones */
    job = train_all_rows(dsc, 3);
    char *cmodel = strdup(jstr(job, "model_id"));
    e = evaluate(cmodel, dsc, 200);
    cJSON *cm = cJSON_GetObjectItem(e, "confusion_matrix");
    ck_assert_int_eq(cJSON_GetArraySize(cm), 2);
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(e, "classes"), 0)->valuestring, "neg");
    int total = 0, right = 0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            int c = cJSON_GetArrayItem(cJSON_GetArrayItem(cm, a), b)->valueint;
            total += c;
            if (a == b) right += c;
        }
    ck_assert_int_eq(total, 200);
    ck_assert_double_eq_tol(jnum(e, "error_percent"), 100.0 * (200 - right) / 200.0, 1e-12);
    ck_assert_double_eq_tol(jnum(e, "error_percent"), jnum(job, "train_error"), 1e-9);
    ck_assert_double_eq_tol(jnum(e, "accuracy"), right / 200.0, 1e-12);
    cJSON_Delete(e);
    cJSON_Delete(job);

    /* refusals change nothing */
    char *before = store_snapshot(1);
    char path[160];
    snprintf(path, sizeof path, "/v1/models/%s/evaluate", model);
    cJSON_Delete(evaluate("mdl_nope", ds, 404));
    cJSON_Delete(evaluate(model, "ds_nope", 422));
    cJSON_Delete(evaluate(model, dsc, 422));              /* a regression model, a classification set */
    cJSON_Delete(evaluate(cmodel, ds, 422));
    cJSON_Delete(request_json("POST", path, "application/json", "{}", 422));
    cJSON_Delete(request_json("POST", path, "application/json", "{\"dataset_id\":\"x\",\"rows\":1}", 422));
    cJSON_Delete(request_json("POST", path, "application/json", "{\"dataset_id\":", 400));
    cJSON_Delete(request_json("POST", path, "text/csv", "a,b\n", 415));
    char *after = store_snapshot(1);
    ck_assert_str_eq(before, after);
    free(before); free(after);

    free(model); free(cmodel);
    free(ds); free(ds2); free(dsc);
    free(csv); free(shuffled); free(classes);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 10000), 0);
    integrity_ok();
}
END_TEST

/* The data lines of a CSV answer (after its header) as numbers: row r's column k into
 * v[r * cols + k] (a classifier's label column is skipped); returns the rows read. */
static int csv_numbers(const char *body, int cols, double *v, int cap_rows) {
    const char *line = strchr(body, '\n');
    int r = 0;
    while (line && line[1] && r < cap_rows) {
        line++;
        char *end = (char *)line;
        for (int k = 0; k < cols; k++) {
            v[r * cols + k] = strtod(end, &end);
            if (*end == ',') end++;
        }
        r++;
        line = strchr(line, '\n');
    }
    return r;
}

/* POST .../predict with a text/csv body answers CSV as `oigd predict` writes it: the inputs found
 * by name in any order (other columns ignored), the numbers equal to the JSON answer's; a
 * classifier's answer has a column per label and the class. Text it cannot read is 400 with the
 * line, a missing input column 422, and neither changes the store. */
START_TEST(test_predict_reads_and_writes_csv) {
    start(NULL);
    char *ds = upload_dataset();
    char *mdl = train_model(ds, 3);
    char path[160];
    snprintf(path, sizeof path, "/v1/models/%s/predict", mdl);
    cJSON *j = request_json("POST", path, "application/json", "{\"inputs\":[[0.1,-0.2,0.3],[0.5,0.5,-0.5]]}", 200);
    const char *csv = "note,c,y,a,b\nfirst,0.3,9,0.1,-0.2\nsecond,-0.5,9,0.5,0.5\n";
    http_resp r;
    ck_assert_int_eq(http_request(proc.port, "POST", path, "Content-Type: text/csv\r\n", csv, strlen(csv), 30000, &r), 0);
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    char ct[64];
    ck_assert_int_eq(http_header(&r, "Content-Type", ct, sizeof ct), 0);
    ck_assert_str_eq(ct, "text/csv; charset=utf-8");
    char answered[64];
    ck_assert_int_eq(http_header(&r, "Oigd-Model-Id", answered, sizeof answered), 0);
    ck_assert_str_eq(answered, mdl);
    ck_assert_int_eq(strncmp(r.body, "y\n", 2), 0);
    double v[2];
    ck_assert_int_eq(csv_numbers(r.body, 1, v, 2), 2);
    cJSON *outs = cJSON_GetObjectItem(j, "outputs");
    for (int i = 0; i < 2; i++)
        ck_assert_double_eq(v[i], cJSON_GetArrayItem(cJSON_GetArrayItem(outs, i), 0)->valuedouble);
    http_resp_free(&r);
    cJSON_Delete(j);

    /* a classifier: label columns and the class */
    size_t len;
    char *sine = api_sine_csv(200, 4242, &len);
    char *classes = rewrite_sine(sine, 1);
    char *dsc = upload_text("/v1/datasets?name=signs&task=classification", classes);
    cJSON *job = train_all_rows(dsc, 3);
    char cpath[160];
    snprintf(cpath, sizeof cpath, "/v1/models/%s/predict", jstr(job, "model_id"));
    j = request_json("POST", cpath, "application/json", "{\"inputs\":[[0.9,0.9,0.9],[-0.9,0.9,-0.9]]}", 200);
    const char *ccsv = "a,b,c\n0.9,0.9,0.9\n-0.9,0.9,-0.9\n";
    ck_assert_int_eq(http_request(proc.port, "POST", cpath, "Content-Type: text/csv\r\n", ccsv, strlen(ccsv), 30000, &r), 0);
    ck_assert_msg(r.status == 200, "%d %s", r.status, r.body);
    cJSON *labels = cJSON_GetObjectItem(j, "classes");
    ck_assert_msg(strncmp(r.body, "neg,pos,class\n", 14) == 0 || strncmp(r.body, "pos,neg,class\n", 14) == 0,
                  "header: %s", r.body);
    /* each row's last field is the class the JSON answer gives */
    char *copy = strdup(r.body), *save = NULL;
    int row = -1;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save), row++)
        if (row >= 0) ck_assert_str_eq(strrchr(line, ',') + 1, cJSON_GetArrayItem(labels, row)->valuestring);
    ck_assert_int_eq(row, 2);
    free(copy);
    http_resp_free(&r);
    cJSON_Delete(j);
    cJSON_Delete(job);

    /* errors change nothing */
    const char *csvh = "Content-Type: text/csv\r\n", *missing = "a,b\n1,2\n", *ragged = "a,b,c\n1,2,3\n4,5\n",
               *nan = "a,b,c\n1,nan,3\n", *twice = "a,b,c,a\n1,2,3,4\n";
    expect_error("POST", path, csvh, missing, strlen(missing), 422);
    expect_error("POST", path, csvh, ragged, strlen(ragged), 400);
    expect_error("POST", path, csvh, nan, strlen(nan), 400);
    expect_error("POST", path, csvh, twice, strlen(twice), 422);
    expect_error("POST", path, csvh, "", 0, 400);
    char epath[200];
    snprintf(epath, sizeof epath, "%s?exit=2", path);
    expect_error("POST", epath, csvh, csv, strlen(csv), 422);
    ck_assert_int_eq(http_request(proc.port, "POST", path, csvh, ragged, strlen(ragged), 30000, &r), 0);
    ck_assert_ptr_nonnull(strstr(r.body, "\"line\":3"));
    http_resp_free(&r);
    free(sine); free(classes); free(dsc); free(mdl); free(ds);
}
END_TEST

/* GET path's body (a 200 answer) as a string; ctype receives its Content-Type. */
static char *get_text(const char *path, char *ctype, size_t cap) {
    http_resp r;
    ck_assert_int_eq(http_request(proc.port, "GET", path, NULL, NULL, 0, 30000, &r), 0);
    ck_assert_msg(r.status == 200, "GET %s: %d %s", path, r.status, r.body);
    ck_assert_int_eq(http_header(&r, "Content-Type", ctype, cap), 0);
    char *body = strdup(r.body);
    http_resp_free(&r);
    return body;
}

/* GET /v1/datasets/{id}/data streams the rows back as CSV (inputs, then targets) that uploads to
 * the very same rows: a second export of the re-uploaded data is byte for byte the first, for a
 * regression set whose target was not the last column and for a classification set. The request
 * log counts the bytes streamed. Unknown ids are 404, other methods 405. */
START_TEST(test_datasets_export_as_csv_that_uploads_back) {
    start(NULL);
    char logged[256] = "";
    size_t len;
    char *sine = api_sine_csv(1500, 777, &len);       /* more rows than one chunk */
    char *shuffled = rewrite_sine(sine, 0), *classes = rewrite_sine(sine, 1);
    static const struct { const char *upload, *again, *header; int which; } sets[] = {
        {"/v1/datasets?name=shuffled&targets=y", "/v1/datasets?name=again", "b,c,a,y\n", 0},
        {"/v1/datasets?name=signs&task=classification", "/v1/datasets?name=again&task=classification",
         "a,b,c,kind\n", 1},
    };
    for (size_t k = 0; k < 2; k++) {
        char *ds = upload_text(sets[k].upload, sets[k].which ? classes : shuffled);
        char path[160], ct[64];
        snprintf(path, sizeof path, "/v1/datasets/%s/data", ds);
        char *first = get_text(path, ct, sizeof ct);
        ck_assert_str_eq(ct, "text/csv; charset=utf-8");
        ck_assert_int_eq(strncmp(first, sets[k].header, strlen(sets[k].header)), 0);
        int lines = 0;
        for (const char *c = first; *c; c++) lines += *c == '\n';
        ck_assert_int_eq(lines, 1501);
        if (k == 0) snprintf(logged, sizeof logged, "oigd: GET %s 200 %zub ", path, strlen(first));
        char *ds2 = upload_text(sets[k].again, first);
        snprintf(path, sizeof path, "/v1/datasets/%s/data", ds2);
        char *second = get_text(path, ct, sizeof ct);
        ck_assert_str_eq(second, first);
        free(first); free(second); free(ds); free(ds2);
    }
    /* wide rows (900 columns, a few rows to a chunk) come back as they went in */
    enum { WIDE = 900, WIDE_ROWS = 25 };
    char *wide = malloc((size_t)WIDE * (WIDE_ROWS + 1) * 24), *w = wide;
    for (int c = 0; c < WIDE; c++) w += sprintf(w, "%sc%d", c ? "," : "", c);
    for (int r = 0; r < WIDE_ROWS; r++) {
        *w++ = '\n';
        for (int c = 0; c < WIDE; c++) w += sprintf(w, "%s%.17g", c ? "," : "", sin(r * 1.7 + c * 0.31) * (c + 1));
    }
    strcpy(w, "\n");
    char *wds = upload_text("/v1/datasets?name=wide", wide), wpath[160], wct[64];
    snprintf(wpath, sizeof wpath, "/v1/datasets/%s/data", wds);
    char *wout = get_text(wpath, wct, sizeof wct);
    char *wds2 = upload_text("/v1/datasets?name=wide_again", wout);
    snprintf(wpath, sizeof wpath, "/v1/datasets/%s/data", wds2);
    char *wout2 = get_text(wpath, wct, sizeof wct);
    ck_assert_str_eq(wout2, wout);
    int wlines = 0;
    for (const char *c = wout; *c; c++) wlines += *c == '\n';
    ck_assert_int_eq(wlines, WIDE_ROWS + 1);
    size_t header_len = strcspn(wide, "\n") + 1;
    ck_assert_int_eq(strncmp(wout, wide, header_len), 0);
    free(wide); free(wds); free(wout); free(wds2); free(wout2);
    expect_error("GET", "/v1/datasets/ds_nope/data", NULL, NULL, 0, 404);
    expect_error("DELETE", "/v1/datasets/ds_nope/data", NULL, NULL, 0, 405);
    long long deadline = support_now_ms() + 5000;   /* the log is written in batches */
    while (!strstr(oigd_log(&proc), logged) && support_now_ms() < deadline) usleep(20000);
    ck_assert_msg(strstr(oigd_log(&proc), logged) != NULL, "no '%s' in the log", logged);
    free(sine); free(shuffled); free(classes);
}
END_TEST

/* 1 when s is 16 lower-case hex digits */
static int is_made_id(const char *s) {
    return strlen(s) == 16 && strspn(s, "0123456789abcdef") == 16;
}

/* Every reply carries X-Request-Id: the client's own when it is 1-64 letters, digits and "-_.:",
 * else one made by the daemon (16 hex digits, a new one each request). A problem body carries it
 * as request_id, and the request's log line as id=. */
START_TEST(test_every_reply_carries_a_request_id) {
    start(NULL);
    char id1[80], id2[80];
    http_resp r;
    ck_assert_int_eq(http_request(proc.port, "GET", "/healthz", NULL, NULL, 0, 30000, &r), 0);
    ck_assert_int_eq(http_header(&r, "X-Request-Id", id1, sizeof id1), 0);
    http_resp_free(&r);
    ck_assert_int_eq(http_request(proc.port, "GET", "/healthz", NULL, NULL, 0, 30000, &r), 0);
    ck_assert_int_eq(http_header(&r, "X-Request-Id", id2, sizeof id2), 0);
    http_resp_free(&r);
    ck_assert_msg(is_made_id(id1) && is_made_id(id2) && strcmp(id1, id2) != 0, "ids %s and %s", id1, id2);

    /* the client's id comes back in the header, the problem body and the log */
    const char *given = "trace-7f.a:b_9";
    ck_assert_int_eq(http_request(proc.port, "GET", "/v1/jobs/job_nope", "X-Request-Id: trace-7f.a:b_9\r\n", NULL, 0,
                                  30000, &r), 0);
    ck_assert_int_eq(r.status, 404);
    ck_assert_int_eq(http_header(&r, "X-Request-Id", id1, sizeof id1), 0);
    ck_assert_str_eq(id1, given);
    cJSON *p = cJSON_Parse(r.body);
    ck_assert_str_eq(jstr(p, "request_id"), given);
    cJSON_Delete(p);
    http_resp_free(&r);
    long long deadline = support_now_ms() + 5000;   /* the log is written in batches */
    const char *line = "oigd: GET /v1/jobs/job_nope 404 ";
    while (!strstr(oigd_log(&proc), "id=trace-7f.a:b_9") && support_now_ms() < deadline) usleep(20000);
    const char *at = strstr(oigd_log(&proc), line);
    ck_assert_msg(at != NULL, "no log line for the request: %s", oigd_log(&proc));
    size_t n = strcspn(at, "\n");
    const char *tail = " id=trace-7f.a:b_9";
    ck_assert_msg(n > strlen(tail) && strncmp(at + n - strlen(tail), tail, strlen(tail)) == 0,
                  "the request's log line does not end with its id: %.*s", (int)n, at);

    /* ids that could break a header, a JSON string or a log line are replaced, not echoed */
    char longid[100] = "X-Request-Id: ";
    memset(longid + strlen(longid), 'a', 65);
    strcpy(longid + strlen("X-Request-Id: ") + 65, "\r\n");
    const char *bad[] = { "X-Request-Id: has space\r\n", "X-Request-Id: quote\"d\r\n", "X-Request-Id: \r\n", longid };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(http_request(proc.port, "GET", "/v1/version", bad[i], NULL, 0, 30000, &r), 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_int_eq(http_header(&r, "X-Request-Id", id1, sizeof id1), 0);
        ck_assert_msg(is_made_id(id1), "%s gave id %s", bad[i], id1);
        http_resp_free(&r);
    }
}
END_TEST

/* A form of parts separated by "--B" lines (multipart/form-data): each part a name, an optional
 * filename, and its content; malloc'd, *len bytes. */
static char *form_body(const char *const *names, const char *const *filenames, const char *const *contents, int n,
                       size_t *len) {
    size_t cap = 256;
    for (int i = 0; i < n; i++) cap += strlen(contents[i]) + 256;
    char *b = malloc(cap);
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        k += (size_t)snprintf(b + k, cap - k, "--B\r\nContent-Disposition: form-data; name=\"%s\"", names[i]);
        if (filenames[i])
            k += (size_t)snprintf(b + k, cap - k, "; filename=\"%s\"\r\nContent-Type: text/csv", filenames[i]);
        k += (size_t)snprintf(b + k, cap - k, "\r\n\r\n%s\r\n", contents[i]);
    }
    k += (size_t)snprintf(b + k, cap - k, "--B--\r\n");
    *len = k;
    return b;
}

/* A form upload (multipart/form-data, as `curl -F file=@data.csv` sends it) stores the file as a
 * text upload of the file does: the same rows, exported CSV and SHA-256 (the file's, not the
 * form's). The file's name, without its directory, names the dataset unless a name field does;
 * fields act as the query's parameters. A form without a file, with an unknown field, with a
 * field the query also gives, or without a boundary is refused and stores nothing; a ragged row
 * is reported by its line in the file. A predict form answers as the same CSV sent as text/csv. */
START_TEST(test_forms_upload_and_predict_as_text_does) {
    start(NULL);
    size_t len, flen;
    char *csv = api_sine_csv(300, 5, &len);
    cJSON *plain = api_json(proc.port, "POST", "/v1/datasets", "text/csv", csv, 201, NULL, 0);
    const char *const form_type = "multipart/form-data; boundary=B";

    const char *n1[] = {"file"}, *f1[] = {"dir/sine.csv"}, *c1[] = {csv};
    char *form = form_body(n1, f1, c1, 1, &flen);
    cJSON *j = api_json(proc.port, "POST", "/v1/datasets", form_type, form, 201, NULL, 0);
    ck_assert_str_eq(jstr(j, "name"), "sine.csv");
    ck_assert_str_eq(jstr(j, "sha256"), jstr(plain, "sha256"));
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "rows")->valueint, 300);
    char path[160], ct[64];
    snprintf(path, sizeof path, "/v1/datasets/%s/data", jstr(plain, "id"));
    char *want = get_text(path, ct, sizeof ct);
    snprintf(path, sizeof path, "/v1/datasets/%s/data", jstr(j, "id"));
    char *got = get_text(path, ct, sizeof ct);
    ck_assert_str_eq(got, want);
    free(want); free(got); free(form); cJSON_Delete(j);

    const char *n2[] = {"name", "data", "targets"}, *f2[] = {NULL, "sine.csv", NULL}, *c2[] = {"mine", csv, "a"};
    form = form_body(n2, f2, c2, 3, &flen);
    j = api_json(proc.port, "POST", "/v1/datasets", form_type, form, 201, NULL, 0);
    ck_assert_str_eq(jstr(j, "name"), "mine");
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "targets"), 0)->valuestring, "a");
    free(form); cJSON_Delete(j);

    char headers[96];
    snprintf(headers, sizeof headers, "Content-Type: %s\r\n", form_type);
    const char *n3[] = {"name"}, *f3[] = {NULL}, *c3[] = {"no file"};
    form = form_body(n3, f3, c3, 1, &flen);
    expect_error("POST", "/v1/datasets", headers, form, flen, 422);
    free(form);
    const char *n4[] = {"file", "color"}, *f4[] = {"x.csv", NULL}, *c4[] = {csv, "red"};
    form = form_body(n4, f4, c4, 2, &flen);
    expect_error("POST", "/v1/datasets", headers, form, flen, 422);
    free(form);
    const char *n5[] = {"file", "name"}, *f5[] = {"x.csv", NULL}, *c5[] = {csv, "one"};
    form = form_body(n5, f5, c5, 2, &flen);
    expect_error("POST", "/v1/datasets?name=two", headers, form, flen, 422);
    expect_error("POST", "/v1/datasets", "Content-Type: multipart/form-data\r\n", form, flen, 400);
    free(form);
    const char *n6[] = {"file"}, *f6[] = {"ragged.csv"}, *c6[] = {"a,b,y\n1,2,3\n4,5\n"};
    form = form_body(n6, f6, c6, 1, &flen);
    expect_error("POST", "/v1/datasets", headers, form, flen, 400);
    http_resp r;
    ck_assert_int_eq(http_request(proc.port, "POST", "/v1/datasets", headers, form, flen, 30000, &r), 0);
    ck_assert_msg(strstr(r.body, "\"line\":3") != NULL, "%s", r.body);
    http_resp_free(&r);
    free(form);

    char *mdl = train_model(jstr(plain, "id"), 3);
    snprintf(path, sizeof path, "/v1/models/%s/predict", mdl);
    const char *rows = "c,a,b\n0.3,0.1,-0.2\n-0.5,0.5,0.5\n";
    ck_assert_int_eq(http_request(proc.port, "POST", path, "Content-Type: text/csv\r\n", rows, strlen(rows), 30000, &r), 0);
    ck_assert_int_eq(r.status, 200);
    const char *n7[] = {"file"}, *f7[] = {"rows.csv"}, *c7[] = {rows};
    form = form_body(n7, f7, c7, 1, &flen);
    http_resp fr;
    ck_assert_int_eq(http_request(proc.port, "POST", path, headers, form, flen, 30000, &fr), 0);
    ck_assert_msg(fr.status == 200, "%d %s", fr.status, fr.body);
    ck_assert_str_eq(fr.body, r.body);
    http_header(&fr, "Content-Type", ct, sizeof ct);
    ck_assert_str_eq(ct, "text/csv; charset=utf-8");
    http_resp_free(&r); http_resp_free(&fr); free(form);
    const char *n8[] = {"file", "exit"}, *f8[] = {"rows.csv", NULL}, *c8[] = {rows, "2"};   /* one exit only */
    form = form_body(n8, f8, c8, 2, &flen);
    expect_error("POST", path, headers, form, flen, 422);
    free(form);
    const char *n9[] = {"file", "name"}, *f9[] = {"rows.csv", NULL}, *c9[] = {rows, "x"};
    form = form_body(n9, f9, c9, 2, &flen);
    expect_error("POST", path, headers, form, flen, 422);
    free(form);
    free(mdl);
    cJSON_Delete(plain);
    free(csv);
}
END_TEST

/* A long run keeps a thinned history (history.h) and its last iteration: 25001 BP iterations on
 * a small set store 16,251 rows, not 25,002, while GET /v1/jobs/{id} follows every iteration. */
START_TEST(test_long_runs_keep_a_thinned_history) {
    start(NULL);
    char *ds = upload_dataset();
    const char *body_fmt = "{\"dataset_id\":\"%s\",\"algorithm\":\"bp\",\"hidden_units\":2,\"max_iterations\":25001}";
    char body[256];
    snprintf(body, sizeof body, body_fmt, ds);
    cJSON *j = request_json("POST", "/v1/jobs", "application/json", body, 202);
    char *job = strdup(jstr(j, "id"));
    cJSON_Delete(j);
    j = wait_status(job, "succeeded", 120000);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "iteration")->valueint, 25001);
    cJSON_Delete(j);
    long rows = 0;
    ck_assert_int_eq(api_metrics_history(proc.port, job, &rows), 25002);
    /* 10000 below HISTORY_FULL, 5000 at stride 2, 1251 at stride 4 (20000..25000), and 25001 */
    ck_assert_int_eq(rows, 10000 + 5000 + 1251 + 1);
    free(job);
    free(ds);
}
END_TEST

static Suite *e2e_suite(void) {
    Suite *s = suite_create("api_e2e");
    TCase *tc = tcase_create("daemon");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_upload_train_stream_model_predict);
    tcase_add_test(tc, test_cancel_stops_running_job);
    tcase_add_test(tc, test_lm_options_round_trip);
    tcase_add_test(tc, test_every_error_status_is_problem_json_and_changes_nothing);
    tcase_add_test(tc, test_json_upload_and_model_import);
    tcase_add_test(tc, test_aliases_route_to_the_model_they_name);
    tcase_add_test(tc, test_predict_reads_and_writes_csv);
    tcase_add_test(tc, test_datasets_export_as_csv_that_uploads_back);
    tcase_add_test(tc, test_every_reply_carries_a_request_id);
    tcase_add_test(tc, test_forms_upload_and_predict_as_text_does);
    tcase_add_test(tc, test_long_runs_keep_a_thinned_history);
    tcase_add_test(tc, test_evaluate_scores_stored_datasets);
    tcase_add_test(tc, test_large_bodies_are_spooled_and_read_back);
    tcase_add_test(tc, test_compressed_bodies_are_decoded_and_bounded);
    tcase_add_test(tc, test_sigterm_checkpoints_and_requeues_running_job);
    tcase_add_test(tc, test_kill9_during_training_then_restart_completes_job);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return suite_run(e2e_suite(), CK_FORK_GETENV);
}

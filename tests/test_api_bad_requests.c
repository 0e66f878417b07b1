/* test_api_bad_requests.c -- a table of malformed requests against a real `oigd serve`: bad
 * JSON, wrong types, huge numbers, negative sizes, NaN in data, wrong widths, unknown fields,
 * path tricks and header abuse. Each row has its expected status; after each, the store's
 * datasets, jobs (with their status), models, metrics and checkpoints are exactly as before
 * and the daemon still answers /healthz. Rows marked "regression" reproduce defects once found.
 * Status 0 means the connection is closed without an answer (libmicrohttpd does this for a
 * request line it cannot parse). */
#include <check.h>
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "support_http.h"
#include "support_suite.h"
#include "support_tmp.h"

#define MAX_BODY 65536

/* ---- the daemon and its fixtures: one dataset, one finished job, two models ---------------- */

static char tdir[256], dbpath[320];
static oigd_proc proc;
static char id_ds[64], id_job[64], id_model[64];

static cJSON *call(const char *method, const char *path, const char *ctype, const char *body, int expect) {
    char hdr[128] = "";
    if (ctype) snprintf(hdr, sizeof hdr, "Content-Type: %s\r\n", ctype);
    http_resp r;
    ck_assert_int_eq(http_request(proc.port, method, path, hdr, body, body ? strlen(body) : 0, 30000, &r), 0);
    ck_assert_msg(r.status == expect, "%s %s: %d %s", method, path, r.status, r.body);
    cJSON *j = cJSON_Parse(r.body);
    http_resp_free(&r);
    return j;
}

static void copy_id(cJSON *j, char *out) {
    cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    ck_assert(cJSON_IsString(id));
    snprintf(out, 64, "%s", id->valuestring);
    cJSON_Delete(j);
}

static void setup(void) {
    ck_assert_int_eq(support_tmpdir(tdir, sizeof tdir, "bad"), 0);
    snprintf(dbpath, sizeof dbpath, "%s/oigd.db", tdir);
    const char *extra[] = {"--max-body", "65536", "--workers", "1", NULL};
    ck_assert_msg(oigd_start(tdir, dbpath, extra, &proc) == 0, "oigd serve did not start (log %s)", proc.log);
    copy_id(call("POST", "/v1/datasets?name=fixture", "text/csv",
                 "a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n0.5,0.5,0.5\n0.2,0.9,0.7\n", 201), id_ds);
    char body[256];
    snprintf(body, sizeof body, "{\"dataset_id\":\"%s\",\"algorithm\":\"oig-hwo\",\"hidden_units\":2,"
             "\"max_iterations\":3,\"seed\":1}", id_ds);
    copy_id(call("POST", "/v1/jobs", "application/json", body, 202), id_job);
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s", id_job);
    for (long long end = support_now_ms() + 60000;;) {
        cJSON *j = call("GET", path, NULL, NULL, 200);
        cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status"), *m = cJSON_GetObjectItemCaseSensitive(j, "model_id");
        int done = cJSON_IsString(st) && strcmp(st->valuestring, "succeeded") == 0;
        if (done) {
            ck_assert(cJSON_IsString(m));
            snprintf(id_model, sizeof id_model, "%s", m->valuestring);
        }
        cJSON_Delete(j);
        if (done) break;
        ck_assert_msg(support_now_ms() < end, "the fixture job did not finish");
        usleep(50000);
    }
}

/* The daemon must stop cleanly after the whole table: exit status 0 on SIGTERM. Under
 * AddressSanitizer that includes LeakSanitizer's check, so memory a rejected request leaked fails
 * the run here. An unchecked fixture cannot fail a test, so this ends the process with status 1. */
static void teardown(void) {
    int rc = proc.pid > 0 ? oigd_stop(&proc, SIGTERM, 30000) : 0;
    if (rc != 0) {
        fprintf(stderr, "oigd serve exited with status %d after the table (log: %s)\n", rc, proc.log);
        FILE *f = fopen(proc.log, "r");
        char line[512];
        while (f && fgets(line, sizeof line, f)) if (!strstr(line, "oigd: ")) fputs(line, stderr);
        if (f) fclose(f);
        _exit(EXIT_FAILURE);
    }
    support_rmtree(tdir);
}

/* Everything a request could change, as one string. */
static char *store_snapshot(void) {
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(db,
        "SELECT (SELECT count(*) || ':' || ifnull(group_concat(id || name, ','), '') FROM datasets) || '/' || "
        "(SELECT count(*) || ':' || ifnull(group_concat(id || status || cancel_requested, ','), '') FROM jobs) || '/' || "
        "(SELECT count(*) || ':' || ifnull(group_concat(id, ','), '') FROM models) || '/' || "
        "(SELECT count(*) FROM metrics) || '/' || (SELECT count(*) FROM checkpoints) || '/' || "
        "(SELECT count(*) || ':' || ifnull(group_concat(name || model_seq, ','), '') FROM model_aliases)", -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    char *snap = strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
    return snap;
}

/* ---- the table ------------------------------------------------------------------------------ */

typedef struct {
    const char *what;
    const char *method, *path;      /* "@D", "@J", "@M" become the fixture ids */
    const char *ctype;              /* NULL: no Content-Type */
    const char *body;               /* NULL: no body; "@BIG" a body past --max-body */
    int status;
    const char *raw;                /* when set: sent verbatim instead (method/path/body unused) */
} bad_request;

#define J "application/json"
#define CSV "text/csv"

static const bad_request table[] = {
    /* bad JSON */
    {"job: unterminated object", "POST", "/v1/jobs", J, "{", 400, NULL},
    {"job: missing value", "POST", "/v1/jobs", J, "{\"dataset_id\": }", 400, NULL},
    {"job: empty body", "POST", "/v1/jobs", J, "", 400, NULL},
    {"job: single quotes", "POST", "/v1/jobs", J, "{'dataset_id':'@D'}", 400, NULL},
    {"job: trailing comma", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",}", 400, NULL},
    {"job: trailing garbage (regression: was accepted)", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\"} x", 400, NULL},
    {"job: a second document", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\"}{\"dataset_id\":\"@D\"}", 400, NULL},
    {"predict: trailing garbage", "POST", "/v1/models/@M/predict", J, "{\"inputs\":[[1,2]]}]", 400, NULL},
    {"dataset json: trailing garbage", "POST", "/v1/datasets", J,
     "{\"columns\":[\"a\",\"y\"],\"rows\":[[1,2]]} ,", 400, NULL},
    {"job: nesting 5000 deep", "POST", "/v1/jobs", J, "@DEEP", 400, NULL},
    {"model import: truncated", "POST", "/v1/models", J, "{\"format\":\"oigd-model\",", 400, NULL},
    {"predict: truncated", "POST", "/v1/models/@M/predict", J, "{\"inputs\":[[1,2]", 400, NULL},
    {"dataset json: truncated", "POST", "/v1/datasets", J, "{\"columns\":[\"a\",\"b\"],", 400, NULL},
    /* wrong types */
    {"job: body is an array", "POST", "/v1/jobs", J, "[]", 422, NULL},
    {"job: body is a string", "POST", "/v1/jobs", J, "\"x\"", 422, NULL},
    {"job: body is null", "POST", "/v1/jobs", J, "null", 422, NULL},
    {"job: dataset_id a number", "POST", "/v1/jobs", J, "{\"dataset_id\":5}", 422, NULL},
    {"job: algorithm a number", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"algorithm\":3}", 422, NULL},
    {"job: hidden_units a string", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"hidden_units\":\"10\"}", 422, NULL},
    {"job: hidden_units fractional", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"hidden_units\":2.5}", 422, NULL},
    {"job: max_iterations a bool", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"max_iterations\":true}", 422, NULL},
    {"job: validation_fraction a string", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"validation_fraction\":\"0.2\"}", 422, NULL},
    {"job: options an array", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"options\":[]}", 422, NULL},
    {"job: option of the wrong type", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"options\":{\"md\":\"x\"}}", 422, NULL},
    {"predict: inputs a string", "POST", "/v1/models/@M/predict", J, "{\"inputs\":\"x\"}", 422, NULL},
    {"predict: rows not arrays", "POST", "/v1/models/@M/predict", J, "{\"inputs\":[1,2]}", 422, NULL},
    {"predict: strings as inputs", "POST", "/v1/models/@M/predict", J, "{\"inputs\":[[\"1\",\"2\"]]}", 422, NULL},
    {"predict: body an array (regression: crashed the daemon)", "POST", "/v1/models/@M/predict", J, "[[1,2]]", 422, NULL},
    {"predict: body a number", "POST", "/v1/models/@M/predict", J, "7", 422, NULL},
    {"dataset json: columns a string", "POST", "/v1/datasets", J, "{\"columns\":\"a\",\"rows\":[[1]]}", 422, NULL},
    {"dataset json: rows an object", "POST", "/v1/datasets", J, "{\"columns\":[\"a\",\"y\"],\"rows\":{}}", 422, NULL},
    {"dataset json: name a number", "POST", "/v1/datasets", J, "{\"name\":5,\"columns\":[\"a\",\"y\"],\"rows\":[[1,2]]}", 422, NULL},
    {"dataset json: body an array", "POST", "/v1/datasets", J, "[1,2]", 422, NULL},
    {"dataset json: targets, then task a number (regression: leaked the targets)", "POST", "/v1/datasets", J,
     "{\"columns\":[\"a\",\"y\"],\"rows\":[[1,2]],\"targets\":[\"y\"],\"task\":1}", 422, NULL},
    {"dataset json: targets, then a bad second targets (regression: leaked)", "POST", "/v1/datasets", J,
     "{\"columns\":[\"a\",\"y\"],\"rows\":[[1,2]],\"targets\":\"y\",\"targets\":[1]}", 422, NULL},
    {"model import: format_version a string", "POST", "/v1/models", J,
     "{\"format\":\"oigd-model\",\"format_version\":\"1\"}", 422, NULL},
    {"model import: not a model", "POST", "/v1/models", J, "{\"hello\":1}", 422, NULL},
    /* huge numbers */
    {"job: hidden_units 1e300", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"hidden_units\":1e300}", 422, NULL},
    {"job: hidden_units 100001", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"hidden_units\":100001}", 422, NULL},
    {"job: max_iterations 1e20", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"max_iterations\":1e20}", 422, NULL},
    {"job: seed 1e30", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"seed\":1e30}", 422, NULL},
    {"job: max_seconds 1e999 (infinite)", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"max_seconds\":1e999}", 422, NULL},
    {"predict: input 1e999 (infinite)", "POST", "/v1/models/@M/predict", J, "{\"inputs\":[[1e999,2]]}", 422, NULL},
    {"upload: outputs 10^20", "POST", "/v1/datasets?outputs=99999999999999999999", CSV, "a,y\n1,2\n", 422, NULL},
    {"list: limit 1001", "GET", "/v1/datasets?limit=1001", NULL, NULL, 422, NULL},
    {"list: limit 1e3", "GET", "/v1/models?limit=1e3", NULL, NULL, 422, NULL},
    {"metrics: after 10^11", "GET", "/v1/jobs/@J/metrics?after=99999999999", NULL, NULL, 422, NULL},
    /* negative sizes */
    {"job: hidden_units -1", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"hidden_units\":-1}", 422, NULL},
    {"job: hidden_units 0", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"hidden_units\":0}", 422, NULL},
    {"job: max_iterations -5", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"max_iterations\":-5}", 422, NULL},
    {"job: validation_fraction -0.1", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"validation_fraction\":-0.1}", 422, NULL},
    {"job: validation_fraction 1", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"validation_fraction\":1}", 422, NULL},
    {"job: target_mse -1", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"target_mse\":-1}", 422, NULL},
    {"job: max_seconds -1", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"max_seconds\":-1}", 422, NULL},
    {"list: limit -1", "GET", "/v1/jobs?limit=-1", NULL, NULL, 422, NULL},
    {"list: limit 0", "GET", "/v1/datasets?limit=0", NULL, NULL, 422, NULL},
    {"upload: outputs -2", "POST", "/v1/datasets?outputs=-2", CSV, "a,y\n1,2\n", 422, NULL},
    {"metrics: after -2", "GET", "/v1/jobs/@J/metrics?after=-2", NULL, NULL, 422, NULL},
    {"metrics: every 0", "GET", "/v1/jobs/@J/metrics?every=0", NULL, NULL, 422, NULL},
    {"metrics: every not a number", "GET", "/v1/jobs/@J/metrics?every=ten", NULL, NULL, 422, NULL},
    /* NaN and infinities in data */
    {"upload csv: nan cell", "POST", "/v1/datasets", CSV, "a,y\n1,2\nnan,3\n", 400, NULL},
    {"upload csv: inf cell", "POST", "/v1/datasets", CSV, "a,y\n1,2\n3,inf\n", 400, NULL},
    {"upload csv: 1e999 cell", "POST", "/v1/datasets", CSV, "a,y\n1,2\n3,1e999\n", 400, NULL},
    {"upload ws: NaN cell", "POST", "/v1/datasets?format=ws", "text/plain", "1 2\nNaN 3\n", 400, NULL},
    {"dataset json: NaN token", "POST", "/v1/datasets", J, "{\"columns\":[\"a\",\"y\"],\"rows\":[[1,NaN]]}", 400, NULL},
    {"predict: NaN token", "POST", "/v1/models/@M/predict", J, "{\"inputs\":[[NaN,1]]}", 400, NULL},
    {"job: target_mse NaN token", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"target_mse\":NaN}", 400, NULL},
    /* wrong widths */
    {"predict: one input for two", "POST", "/v1/models/@M/predict", J, "{\"inputs\":[[1]]}", 422, NULL},
    {"predict: three inputs for two", "POST", "/v1/models/@M/predict", J, "{\"inputs\":[[1,2,3]]}", 422, NULL},
    {"predict: ragged rows", "POST", "/v1/models/@M/predict", J, "{\"inputs\":[[1,2],[1]]}", 422, NULL},
    {"predict: no rows", "POST", "/v1/models/@M/predict", J, "{\"inputs\":[]}", 422, NULL},
    {"upload csv: ragged row", "POST", "/v1/datasets", CSV, "a,b,y\n1,2,3\n4,5\n", 400, NULL},
    {"export an unknown dataset", "GET", "/v1/datasets/ds_nope/data", NULL, NULL, 404, NULL},
    {"SQL in export", "GET", "/v1/datasets/x'%20OR%201=1--/data", NULL, NULL, 404, NULL},
    {"POST to an export", "POST", "/v1/datasets/@D/data", CSV, "a,y\n1,2\n", 405, NULL},
    {"predict csv: ragged row", "POST", "/v1/models/@M/predict", CSV, "a,b\n1,2\n4\n", 400, NULL},
    {"predict csv: header only", "POST", "/v1/models/@M/predict", CSV, "a,b\n", 400, NULL},
    {"predict csv: empty", "POST", "/v1/models/@M/predict", CSV, "", 400, NULL},
    {"predict csv: nan cell", "POST", "/v1/models/@M/predict", CSV, "a,b\nnan,1\n", 400, NULL},
    {"predict csv: huge number", "POST", "/v1/models/@M/predict", CSV, "a,b\n1e999,1\n", 400, NULL},
    {"predict csv: a missing input", "POST", "/v1/models/@M/predict", CSV, "a,y\n1,2\n", 422, NULL},
    {"predict csv: an input twice", "POST", "/v1/models/@M/predict", CSV, "a,b,a\n1,2,3\n", 422, NULL},
    {"predict csv: exit 0", "POST", "/v1/models/@M/predict?exit=0", CSV, "a,b\n1,2\n", 422, NULL},
    {"predict csv: exit a word", "POST", "/v1/models/@M/predict?exit=last", CSV, "a,b\n1,2\n", 422, NULL},
    {"predict csv: a quote left open", "POST", "/v1/models/@M/predict", CSV, "a,b\n\"1,2\n", 400, NULL},
    {"upload csv: header only", "POST", "/v1/datasets", CSV, "a,b,y\n", 400, NULL},
    {"dataset json: row of the wrong width", "POST", "/v1/datasets", J, "{\"columns\":[\"a\",\"y\"],\"rows\":[[1,2],[3]]}", 422, NULL},
    {"dataset json: one column", "POST", "/v1/datasets", J, "{\"columns\":[\"y\"],\"rows\":[[1]]}", 422, NULL},
    {"upload: more outputs than columns", "POST", "/v1/datasets?outputs=5", CSV, "a,b,y\n1,2,3\n", 422, NULL},
    {"upload: unknown target column", "POST", "/v1/datasets?targets=zz", CSV, "a,b,y\n1,2,3\n", 422, NULL},
    /* unknown fields and values */
    {"job: unknown member", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"bogus\":1}", 422, NULL},
    {"job: unknown option", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"options\":{\"bogus\":1}}", 422, NULL},
    {"job: unknown LM regularization", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"options\":{\"lm_regularization\":\"ridge\"}}", 422, NULL},
    {"job: unknown LM update", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"options\":{\"lm_update\":\"twofold\"}}", 422, NULL},
    {"job: unknown LM acceleration", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"options\":{\"lm_acceleration\":\"fast\"}}", 422, NULL},
    {"job: unknown LM precision", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"options\":{\"lm_precision\":\"half\"}}", 422, NULL},
    {"job: unknown algorithm", "POST", "/v1/jobs", J, "{\"dataset_id\":\"@D\",\"algorithm\":\"adam\"}", 422, NULL},
    {"job: unknown dataset", "POST", "/v1/jobs", J, "{\"dataset_id\":\"ds_nope\"}", 422, NULL},
    {"job: no dataset_id", "POST", "/v1/jobs", J, "{\"algorithm\":\"lm\"}", 422, NULL},
    {"predict: unknown member", "POST", "/v1/models/@M/predict", J, "{\"inputs\":[[1,2]],\"extra\":1}", 422, NULL},
    {"dataset json: unknown member", "POST", "/v1/datasets", J, "{\"foo\":1,\"columns\":[\"a\",\"y\"],\"rows\":[[1,2]]}", 422, NULL},
    {"upload: unknown format", "POST", "/v1/datasets?format=xlsx", CSV, "a,y\n1,2\n", 422, NULL},
    {"upload: unknown task", "POST", "/v1/datasets?task=clustering", CSV, "a,y\n1,2\n", 422, NULL},
    {"jobs: unknown status filter", "GET", "/v1/jobs?status=bogus", NULL, NULL, 422, NULL},
    {"list: unknown cursor", "GET", "/v1/datasets?after=ds_nope", NULL, NULL, 422, NULL},
    /* path tricks */
    {"dot-dot id", "GET", "/v1/datasets/..", NULL, NULL, 404, NULL},
    {"encoded dot-dot", "GET", "/v1/datasets/%2e%2e/%2e%2e/etc/passwd", NULL, NULL, 404, NULL},
    {"dot-dot segments", "GET", "/v1/models/../datasets", NULL, NULL, 404, NULL},
    {"double slash", "GET", "/v1//datasets", NULL, NULL, 404, NULL},
    {"trailing slash", "GET", "/v1/datasets/", NULL, NULL, 404, NULL},
    {"extra segment", "GET", "/v1/datasets/@D/x", NULL, NULL, 404, NULL},
    {"id of 100 characters", "GET", "/v1/datasets/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL, NULL, 404, NULL},
    {"encoded NUL in id", "GET", "/v1/datasets/x%00y", NULL, NULL, 404, NULL},
    {"SQL in id", "GET", "/v1/datasets/x'%20OR%20'1'='1", NULL, NULL, 404, NULL},
    {"SQL in delete", "DELETE", "/v1/datasets/x'%20OR%201=1--", NULL, NULL, 404, NULL},
    {"upper-case path", "GET", "/V1/DATASETS", NULL, NULL, 404, NULL},
    {"unknown job", "GET", "/v1/jobs/job_nope", NULL, NULL, 404, NULL},
    {"cancel unknown job", "POST", "/v1/jobs/job_nope/cancel", NULL, NULL, 404, NULL},
    {"cancel a finished job", "POST", "/v1/jobs/@J/cancel", NULL, NULL, 409, NULL},
    {"delete unknown dataset", "DELETE", "/v1/datasets/ds_nope", NULL, NULL, 404, NULL},
    {"predict with unknown model", "POST", "/v1/models/mdl_nope/predict", J, "{\"inputs\":[[1,2]]}", 404, NULL},
    {"evaluate: truncated", "POST", "/v1/models/@M/evaluate", J, "{\"dataset_id\":", 400, NULL},
    {"evaluate: body an array", "POST", "/v1/models/@M/evaluate", J, "[\"@D\"]", 422, NULL},
    {"evaluate: no dataset_id", "POST", "/v1/models/@M/evaluate", J, "{}", 422, NULL},
    {"evaluate: dataset_id a number", "POST", "/v1/models/@M/evaluate", J, "{\"dataset_id\":7}", 422, NULL},
    {"evaluate: unknown dataset", "POST", "/v1/models/@M/evaluate", J, "{\"dataset_id\":\"ds_nope\"}", 422, NULL},
    {"evaluate: SQL in dataset_id", "POST", "/v1/models/@M/evaluate", J, "{\"dataset_id\":\"x' OR 1=1--\"}", 422, NULL},
    {"evaluate: unknown member", "POST", "/v1/models/@M/evaluate", J, "{\"dataset_id\":\"@D\",\"rows\":[1]}", 422, NULL},
    {"evaluate with unknown model", "POST", "/v1/models/mdl_nope/evaluate", J, "{\"dataset_id\":\"@D\"}", 404, NULL},
    {"evaluate as text/csv", "POST", "/v1/models/@M/evaluate", CSV, "{\"dataset_id\":\"@D\"}", 415, NULL},
    {"GET evaluate", "GET", "/v1/models/@M/evaluate", NULL, NULL, 405, NULL},
    {"alias: truncated", "PUT", "/v1/aliases/prod", J, "{\"model_id\":", 400, NULL},
    {"alias: body an array", "PUT", "/v1/aliases/prod", J, "[\"@M\"]", 422, NULL},
    {"alias: no model_id", "PUT", "/v1/aliases/prod", J, "{}", 422, NULL},
    {"alias: model_id a number", "PUT", "/v1/aliases/prod", J, "{\"model_id\":7}", 422, NULL},
    {"alias: model_id empty", "PUT", "/v1/aliases/prod", J, "{\"model_id\":\"\"}", 422, NULL},
    {"alias: unknown model", "PUT", "/v1/aliases/prod", J, "{\"model_id\":\"mdl_nope\"}", 422, NULL},
    {"alias: SQL in model_id", "PUT", "/v1/aliases/prod", J, "{\"model_id\":\"x' OR 1=1--\"}", 422, NULL},
    {"alias: unknown member", "PUT", "/v1/aliases/prod", J, "{\"model_id\":\"@M\",\"stage\":1}", 422, NULL},
    {"alias: a name like a model id", "PUT", "/v1/aliases/mdl_prod", J, "{\"model_id\":\"@M\"}", 422, NULL},
    {"alias: a name starting with a dot", "PUT", "/v1/aliases/.prod", J, "{\"model_id\":\"@M\"}", 422, NULL},
    {"alias: a name with a slash", "PUT", "/v1/aliases/a%2Fb", J, "{\"model_id\":\"@M\"}", 404, NULL},
    {"alias as text/csv", "PUT", "/v1/aliases/prod", CSV, "{\"model_id\":\"@M\"}", 415, NULL},
    {"POST an alias", "POST", "/v1/aliases/prod", J, "{\"model_id\":\"@M\"}", 405, NULL},
    {"PUT the alias list", "PUT", "/v1/aliases", J, "{}", 405, NULL},
    {"unknown alias", "GET", "/v1/aliases/prod", NULL, NULL, 404, NULL},
    {"delete unknown alias", "DELETE", "/v1/aliases/prod", NULL, NULL, 404, NULL},
    {"predict through an unknown alias", "POST", "/v1/models/prod/predict", J, "{\"inputs\":[[1]]}", 404, NULL},
    {"aliases: limit 0", "GET", "/v1/aliases?limit=0", NULL, NULL, 422, NULL},
    {"PUT a collection", "PUT", "/v1/datasets", J, "{}", 405, NULL},
    {"DELETE a collection", "DELETE", "/v1/jobs", NULL, NULL, 405, NULL},
    {"POST a probe", "POST", "/healthz", J, "{}", 405, NULL},
    {"PATCH a model", "PATCH", "/v1/models/@M", J, "{}", 405, NULL},
    {"GET predict", "GET", "/v1/models/@M/predict", NULL, NULL, 405, NULL},
    {"DELETE a job's metrics", "DELETE", "/v1/jobs/@J/metrics", NULL, NULL, 405, NULL},
    {"delete unknown job", "DELETE", "/v1/jobs/job_nope", NULL, NULL, 404, NULL},
    {"SQL in job delete", "DELETE", "/v1/jobs/x'%20OR%201=1--", NULL, NULL, 404, NULL},
    /* header abuse */
    {"job as text/plain", "POST", "/v1/jobs", "text/plain", "{\"dataset_id\":\"@D\"}", 415, NULL},
    {"job without Content-Type", "POST", "/v1/jobs", NULL, "{\"dataset_id\":\"@D\"}", 415, NULL},
    {"job as application/jsonx", "POST", "/v1/jobs", "application/jsonx", "{\"dataset_id\":\"@D\"}", 415, NULL},
    {"upload as image/png", "POST", "/v1/datasets", "image/png", "a,y\n1,2\n", 415, NULL},
    {"csv body declared json", "POST", "/v1/datasets?format=csv", J, "a,y\n1,2\n", 415, NULL},
    {"model import as text/csv", "POST", "/v1/models", CSV, "{}", 415, NULL},
    {"body past --max-body", "POST", "/v1/datasets", CSV, "@BIG", 413, NULL},
    {"Content-Length past --max-body, no body sent", NULL, NULL, NULL, NULL, 413,
     "POST /v1/datasets HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: 10000000000\r\n\r\n"},
    {"negative Content-Length", NULL, NULL, NULL, NULL, 400,
     "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -1\r\n\r\n{}"},
    {"non-numeric Content-Length", NULL, NULL, NULL, NULL, 400,
     "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}"},
    {"bad chunk size", NULL, NULL, NULL, NULL, 400,
     "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"},
    {"chunked body past --max-body", NULL, NULL, NULL, NULL, 413, "@BIGCHUNKED"},
    {"header line without a colon", NULL, NULL, NULL, NULL, 400,
     "GET /v1/datasets HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n"},
    {"garbage request line (closed unanswered)", NULL, NULL, NULL, NULL, 0, "GARBAGE\r\n\r\n"},
    {"binary request line (closed unanswered)", NULL, NULL, NULL, NULL, 0, "\x16\x03\x01\x02\x10\x01\r\n\r\n"},
    {"header of 200 KiB", NULL, NULL, NULL, NULL, 431, "@HUGEHEADER"},
};
#define NROWS ((int)(sizeof table / sizeof table[0]))

static char *expand(const char *s) {
    size_t cap = strlen(s) * 4 + 256, o = 0;
    char *out = malloc(cap);
    for (; *s; s++) {
        const char *rep = NULL;
        if (s[0] == '@' && s[1] == 'D') rep = id_ds;
        else if (s[0] == '@' && s[1] == 'J') rep = id_job;
        else if (s[0] == '@' && s[1] == 'M') rep = id_model;
        if (rep) {
            o += (size_t)snprintf(out + o, cap - o, "%s", rep);
            s++;
        } else out[o++] = *s;
    }
    out[o] = 0;
    return out;
}

/* The request bytes of a raw row (the big ones are generated). */
static char *raw_request(const char *raw, size_t *len) {
    char *b;
    if (strcmp(raw, "@HUGEHEADER") == 0) {
        size_t n = 200 * 1024;
        b = malloc(n + 256);
        size_t o = (size_t)sprintf(b, "GET /v1/datasets HTTP/1.1\r\nHost: x\r\nX-Big: ");
        memset(b + o, 'a', n);
        o += n;
        o += (size_t)sprintf(b + o, "\r\n\r\n");
        *len = o;
        return b;
    }
    if (strcmp(raw, "@BIGCHUNKED") == 0) {
        size_t chunk = 16384, nchunks = MAX_BODY / chunk + 2;
        b = malloc(512 + nchunks * (chunk + 16));
        size_t o = (size_t)sprintf(b, "POST /v1/datasets HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                                      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
        for (size_t i = 0; i < nchunks; i++) {
            o += (size_t)sprintf(b + o, "%zx\r\n", chunk);
            memset(b + o, '1', chunk);
            o += chunk;
            o += (size_t)sprintf(b + o, "\r\n");
        }
        o += (size_t)sprintf(b + o, "0\r\n\r\n");
        *len = o;
        return b;
    }
    b = strdup(raw);
    *len = strlen(b);
    return b;
}

static char *make_body(const char *body, size_t *len) {
    char *b;
    if (strcmp(body, "@BIG") == 0) {
        *len = MAX_BODY + 1000;
        b = malloc(*len + 1);
        memcpy(b, "a,y\n", 4);
        for (size_t i = 4; i < *len; i += 4) memcpy(b + i, "1,2\n", *len - i < 4 ? *len - i : 4);
        b[*len] = 0;
        return b;
    }
    if (strcmp(body, "@DEEP") == 0) {
        size_t d = 5000;
        b = malloc(2 * d + 1);
        memset(b, '[', d);
        memset(b + d, ']', d);
        b[2 * d] = 0;
        *len = 2 * d;
        return b;
    }
    b = expand(body);
    *len = strlen(b);
    return b;
}

START_TEST(test_bad_request_is_refused_and_changes_nothing) {
    const bad_request *row = &table[_i];
    char *before = store_snapshot();
    http_resp r;
    int rc;
    if (row->raw) {
        size_t len;
        char *req = raw_request(row->raw, &len);
        rc = http_raw(proc.port, req, len, 10000, &r);
        free(req);
    } else {
        char *path = expand(row->path), hdr[160] = "";
        if (row->ctype) snprintf(hdr, sizeof hdr, "Content-Type: %s\r\n", row->ctype);
        size_t len = 0;
        char *body = row->body ? make_body(row->body, &len) : NULL;
        rc = http_request(proc.port, row->method, path, hdr, body, len, 10000, &r);
        free(path);
        free(body);
    }
    if (row->status == 0) {
        ck_assert_msg(rc != 0, "%s: answered %d", row->what, r.status);
    } else {
        ck_assert_msg(rc == 0, "%s: no HTTP response", row->what);
    }
    ck_assert_msg(r.status == row->status, "%s: status %d, expected %d; body %s", row->what, r.status,
                  row->status, r.body);
    char ct[64] = "";
    if (!row->raw && r.status != 413) {
        /* every error the daemon itself writes is problem+json with its status */
        ck_assert_msg(http_header(&r, "Content-Type", ct, sizeof ct) == 0 &&
                      strcmp(ct, "application/problem+json") == 0, "%s: Content-Type %s", row->what, ct);
        cJSON *j = cJSON_Parse(r.body);
        cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
        ck_assert_msg(cJSON_IsNumber(st) && st->valueint == row->status, "%s: problem status", row->what);
        cJSON_Delete(j);
    }
    if (r.status == 405) ck_assert_msg(http_header(&r, "Allow", ct, sizeof ct) == 0, "%s: no Allow", row->what);
    http_resp_free(&r);

    char *after = store_snapshot();
    ck_assert_msg(strcmp(before, after) == 0, "%s changed the store:\n%s\n%s", row->what, before, after);
    free(before);
    free(after);
    ck_assert_int_eq(http_request(proc.port, "GET", "/healthz", NULL, NULL, 0, 10000, &r), 0);
    ck_assert_msg(r.status == 200, "%s: the daemon stopped answering", row->what);
    http_resp_free(&r);
}
END_TEST

START_TEST(test_table_has_at_least_fifty_rows) {
    ck_assert_int_ge(NROWS, 50);
}
END_TEST

int main(void) {
    Suite *s = suite_create("api_bad_requests");
    TCase *tc = tcase_create("table");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_table_has_at_least_fifty_rows);
    tcase_add_loop_test(tc, test_bad_request_is_refused_and_changes_nothing, 0, NROWS);
    suite_add_tcase(s, tc);
    return suite_run(s, CK_FORK_GETENV);
}

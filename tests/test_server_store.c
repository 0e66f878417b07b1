/* test_server_store.c -- the SQLite store: migrations and user_version, a version-1 database
 * migrated with its datasets, refusing a newer database, dataset/job/model CRUD, atomic FIFO claims, requeue after a crash, cancel states,
 * a metrics history that stays continuous across checkpoint + resume, deleting a finished
 * job with its metrics and checkpoint, model aliases, and free pages given back to the file system (a new file
 * a slice at a time, an older one by one vacuum). */
#include <check.h>
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model_doc.h"
#include "store.h"
#include "support_suite.h"
#include "support_tmp.h"

static char tdir[256], dbpath[300];
static store *st;

static void setup(void) {
    ck_assert_int_eq(support_tmpdir(tdir, sizeof tdir, "store"), 0);
    snprintf(dbpath, sizeof dbpath, "%s/t.db", tdir);
    char err[256];
    ck_assert_int_eq(store_open(dbpath, &st, err, sizeof err), STORE_OK);
}

static void teardown(void) {
    store_close(st);
    st = NULL;
    support_rmtree(tdir);
}

/* A 4-row, 2-input, 1-output regression dataset built by hand. */
static oig_data *small_data(void) {
    oig_data *d = calloc(1, sizeof *d);
    d->nrows = 4; d->n = 2; d->m = 1;
    d->x = malloc(8 * sizeof(double));
    d->t = malloc(4 * sizeof(double));
    for (int i = 0; i < 8; i++) d->x[i] = i * 0.5 - 1;
    for (int i = 0; i < 4; i++) d->t[i] = i * i;
    d->input_names = calloc(2, sizeof(char *));
    d->input_names[0] = strdup("a");
    d->input_names[1] = strdup("b");
    d->target_names = calloc(1, sizeof(char *));
    d->target_names[0] = strdup("y");
    d->ntarget_names = 1;
    return d;
}

static void insert_dataset(char id[STORE_ID_MAX]) {
    oig_data *d = small_data();
    cJSON *res = NULL;
    ck_assert_int_eq(store_dataset_insert(st, "small", d, "00", &res), STORE_OK);
    snprintf(id, STORE_ID_MAX, "%s", cJSON_GetObjectItem(res, "id")->valuestring);
    cJSON_Delete(res);
    oig_data_free(d);
}

static void insert_job(const char *ds, char id[STORE_ID_MAX]) {
    cJSON *res = NULL;
    char params[200];
    snprintf(params, sizeof params, "{\"dataset_id\":\"%s\",\"algorithm\":\"oig-hwo\"}", ds);
    ck_assert_int_eq(store_job_insert(st, ds, params, "oig-hwo", 3, 10, &res), STORE_OK);
    snprintf(id, STORE_ID_MAX, "%s", cJSON_GetObjectItem(res, "id")->valuestring);
    ck_assert_str_eq(cJSON_GetObjectItem(res, "status")->valuestring, "queued");
    cJSON_Delete(res);
}

static const char *status_of(const char *id) {
    static char s[16];
    ck_assert_int_eq(store_job_status(st, id, s), STORE_OK);
    return s;
}

START_TEST(test_migrations_apply_and_set_user_version) {
    ck_assert_int_gt(store_latest_version(), 0);
    ck_assert_int_eq(store_user_version(st), store_latest_version());
    ck_assert(store_ready(st));
    /* opening again applies nothing and keeps the version */
    store *again;
    char err[256];
    ck_assert_int_eq(store_open(dbpath, &again, err, sizeof err), STORE_OK);
    ck_assert_int_eq(store_user_version(again), store_latest_version());
    store_close(again);
}
END_TEST

START_TEST(test_refuses_a_newer_database) {
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", store_latest_version() + 1);
    ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    store *s2 = NULL;
    char err[256] = "";
    ck_assert_int_eq(store_open(dbpath, &s2, err, sizeof err), STORE_TOO_NEW);
    ck_assert_ptr_null(s2);
    ck_assert_ptr_nonnull(strstr(err, "newer"));
}
END_TEST

START_TEST(test_dataset_roundtrip_keeps_payload_bit_for_bit) {
    char id[STORE_ID_MAX];
    insert_dataset(id);
    cJSON *res = NULL;
    ck_assert_int_eq(store_dataset_get(st, id, &res), STORE_OK);
    ck_assert_int_eq(cJSON_GetObjectItem(res, "rows")->valueint, 4);
    ck_assert_int_eq(cJSON_GetObjectItem(res, "inputs")->valueint, 2);
    ck_assert_str_eq(cJSON_GetObjectItem(res, "task")->valuestring, "regression");
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(res, "columns")), 3);
    cJSON_Delete(res);
    oig_data *d = NULL, *ref = small_data();
    ck_assert_int_eq(store_dataset_load(st, id, &d), STORE_OK);
    ck_assert_int_eq(d->nrows, 4);
    ck_assert_mem_eq(d->x, ref->x, 8 * sizeof(double));
    ck_assert_mem_eq(d->t, ref->t, 4 * sizeof(double));
    ck_assert_str_eq(d->input_names[1], "b");
    ck_assert_str_eq(d->target_names[0], "y");
    oig_data_free(d);
    oig_data_free(ref);
    ck_assert_int_eq(store_dataset_get(st, "ds_nope", &res), STORE_NOTFOUND);
}
END_TEST

/* The count that sql (SELECT count(*) ..., with ?1 bound to arg when arg is not NULL) gives on
 * the database at path, read through a connection of the test's own. */
static int count_rows(const char *path, const char *sql, const char *arg) {
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    if (arg) sqlite3_bind_text(s, 1, arg, -1, SQLITE_TRANSIENT);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    int n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

/* A database written by a daemon of schema version 1 (the arrays in the datasets row) is
 * migrated: its datasets load as they were stored, and a deleted one takes its payload along. */
START_TEST(test_a_version_1_database_keeps_its_datasets) {
    char v1[320];
    snprintf(v1, sizeof v1, "%s/v1.db", tdir);
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(v1, &db), SQLITE_OK);
    ck_assert_int_eq(oigd_migrations[0].version, 1);
    ck_assert_int_eq(sqlite3_exec(db, oigd_migrations[0].sql, NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
    oig_data *ref = small_data();
    int32_t cls[4] = {1, 0, 1, 1};
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "INSERT INTO datasets(id, name, nrows, n, m, task, nclasses, labels, "
                                            "input_names, target_names, sha256, x, t, cls, created_at) VALUES "
                                            "(?1, ?1, 4, 2, 1, ?2, ?3, ?4, '[\"a\",\"b\"]', '[\"y\"]', '00', ?5, ?6, ?7, 'then')",
                                            -1, &s, NULL), SQLITE_OK);
    for (int k = 0; k < 2; k++) {
        sqlite3_bind_text(s, 1, k ? "ds_cls" : "ds_reg", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, k ? "classification" : "regression", -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 3, k ? 2 : 0);
        sqlite3_bind_text(s, 4, k ? "[\"no\",\"yes\"]" : "[]", -1, SQLITE_STATIC);
        sqlite3_bind_blob(s, 5, ref->x, 8 * sizeof(double), SQLITE_STATIC);
        sqlite3_bind_blob(s, 6, ref->t, 4 * sizeof(double), SQLITE_STATIC);
        if (k) sqlite3_bind_blob(s, 7, cls, sizeof cls, SQLITE_STATIC);
        else sqlite3_bind_null(s, 7);
        ck_assert_int_eq(sqlite3_step(s), SQLITE_DONE);
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);

    store *old;
    char err[256];
    ck_assert_int_eq(store_open(v1, &old, err, sizeof err), STORE_OK);
    ck_assert_int_eq(store_user_version(old), store_latest_version());
    for (int k = 0; k < 2; k++) {
        oig_data *d = NULL;
        ck_assert_int_eq(store_dataset_load(old, k ? "ds_cls" : "ds_reg", &d), STORE_OK);
        ck_assert_int_eq(d->nrows, 4);
        ck_assert_mem_eq(d->x, ref->x, 8 * sizeof(double));
        ck_assert_mem_eq(d->t, ref->t, 4 * sizeof(double));
        ck_assert_int_eq(d->cls != NULL, k);
        for (int i = 0; k && i < 4; i++) ck_assert_int_eq(d->cls[i], cls[i]);
        oig_data_free(d);
    }
    ck_assert_int_eq(count_rows(v1, "SELECT count(*) FROM dataset_payloads", NULL), 5);
    ck_assert_int_eq(count_rows(v1, "SELECT count(*) FROM pragma_table_info('datasets') WHERE name IN ('x', 't', 'cls')", NULL), 0);
    ck_assert_int_eq(store_dataset_delete(old, "ds_cls"), STORE_OK);
    ck_assert_int_eq(count_rows(v1, "SELECT count(*) FROM dataset_payloads", NULL), 2);
    store_close(old);
    /* deleted from a connection without foreign keys, ds_reg leaves its payload behind; the
     * next dataset, which gets its seq again, still goes in */
    ck_assert_int_eq(sqlite3_open(v1, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "DELETE FROM datasets", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ck_assert_int_eq(count_rows(v1, "SELECT count(*) FROM dataset_payloads", NULL), 2);
    ck_assert_int_eq(store_open(v1, &old, err, sizeof err), STORE_OK);
    cJSON *res = NULL;
    ck_assert_int_eq(store_dataset_insert(old, "again", ref, "00", &res), STORE_OK);
    oig_data *d = NULL;
    ck_assert_int_eq(store_dataset_load(old, cJSON_GetObjectItem(res, "id")->valuestring, &d), STORE_OK);
    ck_assert_mem_eq(d->x, ref->x, 8 * sizeof(double));
    oig_data_free(d);
    cJSON_Delete(res);
    store_close(old);
    oig_data_free(ref);
}
END_TEST

START_TEST(test_lists_page_with_after) {
    char ids[5][STORE_ID_MAX];
    for (int i = 0; i < 5; i++) insert_dataset(ids[i]);
    cJSON *res = NULL;
    ck_assert_int_eq(store_dataset_list(st, NULL, 2, &res), STORE_OK);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(res, "items")), 2);
    ck_assert_str_eq(cJSON_GetObjectItem(res, "next_after")->valuestring, ids[1]);
    cJSON_Delete(res);
    ck_assert_int_eq(store_dataset_list(st, ids[3], 2, &res), STORE_OK);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(res, "items")), 1);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(res, "next_after")));
    cJSON_Delete(res);
    ck_assert_int_eq(store_dataset_list(st, "ds_unknown", 2, &res), STORE_EINVAL);
}
END_TEST

START_TEST(test_dataset_delete_conflicts_with_active_job) {
    char ds[STORE_ID_MAX], job[STORE_ID_MAX];
    insert_dataset(ds);
    insert_job(ds, job);
    ck_assert_int_eq(store_dataset_delete(st, ds), STORE_CONFLICT);
    int was_running;
    ck_assert_int_eq(store_job_cancel(st, job, &was_running), STORE_OK);
    ck_assert_int_eq(was_running, 0);
    ck_assert_str_eq(status_of(job), "cancelled");
    ck_assert_int_eq(store_dataset_delete(st, ds), STORE_OK);
    ck_assert_int_eq(store_dataset_delete(st, ds), STORE_NOTFOUND);
}
END_TEST

START_TEST(test_job_insert_needs_an_existing_dataset) {
    ck_assert_int_eq(store_job_insert(st, "ds_missing", "{}", "oig-hwo", 3, 10, NULL), STORE_NOTFOUND);
    cJSON *res = NULL;
    ck_assert_int_eq(store_job_list(st, NULL, NULL, 10, &res), STORE_OK);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(res, "items")), 0);
    cJSON_Delete(res);
}
END_TEST

START_TEST(test_claim_is_fifo_and_filters_by_status) {
    char ds[STORE_ID_MAX], j1[STORE_ID_MAX], j2[STORE_ID_MAX], got[STORE_ID_MAX];
    insert_dataset(ds);
    insert_job(ds, j1);
    insert_job(ds, j2);
    ck_assert_int_eq(store_job_claim(st, got), STORE_OK);
    ck_assert_str_eq(got, j1);
    ck_assert_str_eq(status_of(j1), "running");
    cJSON *res = NULL;
    ck_assert_int_eq(store_job_list(st, "queued", NULL, 10, &res), STORE_OK);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(res, "items")), 1);
    cJSON_Delete(res);
    ck_assert_int_eq(store_job_claim(st, got), STORE_OK);
    ck_assert_str_eq(got, j2);
    ck_assert_int_eq(store_job_claim(st, got), STORE_NOTFOUND);
}
END_TEST

typedef struct { char ids[64][STORE_ID_MAX]; int n; } claims;

static void *claimer(void *arg) {
    claims *c = arg;
    store *s;
    char err[256];
    if (store_open(dbpath, &s, err, sizeof err) != STORE_OK) return NULL;
    char id[STORE_ID_MAX];
    store_status rc;
    while ((rc = store_job_claim(s, id)) == STORE_OK && c->n < 64) snprintf(c->ids[c->n++], STORE_ID_MAX, "%s", id);
    store_close(s);
    return NULL;
}

START_TEST(test_concurrent_claims_never_share_a_job) {
    char ds[STORE_ID_MAX], job[STORE_ID_MAX];
    insert_dataset(ds);
    for (int i = 0; i < 40; i++) insert_job(ds, job);
    static claims c[4];
    memset(c, 0, sizeof c);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, claimer, &c[i]);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    int total = 0;
    for (int i = 0; i < 4; i++) total += c[i].n;
    ck_assert_int_eq(total, 40);
    for (int a = 0; a < 4; a++)
        for (int i = 0; i < c[a].n; i++)
            for (int b = 0; b < 4; b++)
                for (int k = 0; k < c[b].n; k++)
                    if (a != b || i != k) ck_assert_str_ne(c[a].ids[i], c[b].ids[k]);
}
END_TEST

START_TEST(test_running_jobs_are_requeued_at_start) {
    char ds[STORE_ID_MAX], j1[STORE_ID_MAX], j2[STORE_ID_MAX], got[STORE_ID_MAX];
    insert_dataset(ds);
    insert_job(ds, j1);
    insert_job(ds, j2);
    ck_assert_int_eq(store_job_claim(st, got), STORE_OK);
    int n = 0;
    ck_assert_int_eq(store_job_requeue_running(st, &n), STORE_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(status_of(j1), "queued");
    /* it keeps its place at the head of the queue */
    ck_assert_int_eq(store_job_claim(st, got), STORE_OK);
    ck_assert_str_eq(got, j1);
    cJSON *res = NULL;
    ck_assert_int_eq(store_job_get(st, j1, &res), STORE_OK);
    ck_assert_int_eq(cJSON_GetObjectItem(res, "attempts")->valueint, 2);
    cJSON_Delete(res);
}
END_TEST

START_TEST(test_cancel_running_sets_flag_and_finished_is_conflict) {
    char ds[STORE_ID_MAX], job[STORE_ID_MAX], got[STORE_ID_MAX];
    insert_dataset(ds);
    insert_job(ds, job);
    ck_assert_int_eq(store_job_claim(st, got), STORE_OK);
    int was_running = 0;
    ck_assert_int_eq(store_job_cancel(st, job, &was_running), STORE_OK);
    ck_assert_int_eq(was_running, 1);
    ck_assert_str_eq(status_of(job), "running");
    ck_assert_int_eq(store_job_finish(st, job, "cancelled", NULL, NULL, NULL, NULL), STORE_OK);
    ck_assert_int_eq(store_job_cancel(st, job, &was_running), STORE_CONFLICT);
    ck_assert_int_eq(store_job_cancel(st, "job_nope", &was_running), STORE_NOTFOUND);
}
END_TEST

static store_metric metric(int it) {
    store_metric m = {it, 1.0 / (it + 1), NAN, NAN, NAN, it * 10.0, it * 0.1};
    return m;
}

START_TEST(test_metrics_stay_continuous_across_checkpoint_and_resume) {
    char ds[STORE_ID_MAX], job[STORE_ID_MAX], got[STORE_ID_MAX];
    insert_dataset(ds);
    insert_job(ds, job);
    ck_assert_int_eq(store_job_claim(st, got), STORE_OK);
    oig_model *mdl = oig_model_new(2, 3, 1);
    char *doc = model_doc_write(mdl, NULL);
    store_metric rows[20];
    for (int i = 0; i < 20; i++) rows[i] = metric(i);
    ck_assert_int_eq(store_job_progress(st, job, rows, 10, NULL, doc, 9), STORE_OK);      /* 0..9 + ckpt 9 */
    ck_assert_int_eq(store_job_progress(st, job, rows + 10, 5, NULL, NULL, 0), STORE_OK); /* 10..14, no ckpt */
    /* crash; on resume rows after the checkpoint are dropped and produced again */
    char *ck = NULL;
    int ck_it = -1;
    ck_assert_int_eq(store_job_checkpoint(st, job, &ck, &ck_it), STORE_OK);
    ck_assert_int_eq(ck_it, 9);
    free(ck);
    ck_assert_int_eq(store_job_trim_metrics(st, job, ck_it), STORE_OK);
    ck_assert_int_eq(store_job_progress(st, job, rows + 10, 10, NULL, NULL, 0), STORE_OK);
    /* an iteration the history leaves out moves the job's latest values, and adds no row */
    store_metric later = metric(23);
    ck_assert_int_eq(store_job_progress(st, job, NULL, 0, &later, NULL, 0), STORE_OK);
    cJSON *res = NULL;
    ck_assert_int_eq(store_job_get(st, job, &res), STORE_OK);
    ck_assert_int_eq(cJSON_GetObjectItem(res, "iteration")->valueint, 23);
    cJSON_Delete(res);
    ck_assert_int_eq(store_job_progress(st, job, NULL, 0, &rows[19], NULL, 0), STORE_OK);   /* back to 19 */
    ck_assert_int_eq(store_metrics_list(st, job, -1, 1000, 1, &res), STORE_OK);
    cJSON *arr = cJSON_GetObjectItem(res, "metrics");
    ck_assert_int_eq(cJSON_GetArraySize(arr), 20);
    for (int i = 0; i < 20; i++) {
        cJSON *m = cJSON_GetArrayItem(arr, i);
        ck_assert_int_eq(cJSON_GetObjectItem(m, "iteration")->valueint, i);
        ck_assert(cJSON_IsNull(cJSON_GetObjectItem(m, "validation_mse")));
    }
    /* the printed numbers read back to the same bits: 3 x 0.1 is 0.30000000000000004, which
     * cJSON's own printer would write as 0.3 */
    char *text = cJSON_PrintUnformatted(res);
    cJSON *back = cJSON_Parse(text);
    free(text);
    ck_assert_ptr_nonnull(back);
    for (int i = 0; i < 20; i++) {
        cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(back, "metrics"), i);
        double want_s = metric(i).seconds, want_mse = metric(i).train_mse;
        double got_s = cJSON_GetObjectItem(m, "seconds")->valuedouble;
        double got_mse = cJSON_GetObjectItem(m, "train_mse")->valuedouble;
        ck_assert_msg(memcmp(&got_s, &want_s, sizeof got_s) == 0, "iteration %d: seconds %.17g, want %.17g", i, got_s, want_s);
        ck_assert_msg(memcmp(&got_mse, &want_mse, sizeof got_mse) == 0, "iteration %d: train_mse %.17g", i, got_mse);
    }
    cJSON_Delete(back);
    cJSON_Delete(res);
    /* paging by iteration */
    ck_assert_int_eq(store_metrics_list(st, job, 15, 3, 1, &res), STORE_OK);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(res, "metrics")), 3);
    ck_assert_int_eq(cJSON_GetObjectItem(res, "next_after")->valueint, 18);
    cJSON_Delete(res);
    /* thinned: every 4th iteration (0, 4, ..., 16), paged the same way */
    ck_assert_int_eq(store_metrics_list(st, job, -1, 3, 4, &res), STORE_OK);
    arr = cJSON_GetObjectItem(res, "metrics");
    ck_assert_int_eq(cJSON_GetArraySize(arr), 3);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, i), "iteration")->valueint, 4 * i);
    ck_assert_int_eq(cJSON_GetObjectItem(res, "next_after")->valueint, 8);
    cJSON_Delete(res);
    ck_assert_int_eq(store_metrics_list(st, job, 8, 1000, 4, &res), STORE_OK);
    arr = cJSON_GetObjectItem(res, "metrics");
    ck_assert_int_eq(cJSON_GetArraySize(arr), 2);
    ck_assert_int_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 1), "iteration")->valueint, 16);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(res, "next_after")));
    cJSON_Delete(res);
    /* finishing stores the model and drops the checkpoint in one step */
    char mid[STORE_ID_MAX];
    ck_assert_int_eq(store_job_finish(st, job, "succeeded", NULL, mdl, doc, mid), STORE_OK);
    ck_assert_int_eq(store_job_checkpoint(st, job, &ck, &ck_it), STORE_NOTFOUND);
    ck_assert_int_eq(store_job_get(st, job, &res), STORE_OK);
    ck_assert_str_eq(cJSON_GetObjectItem(res, "model_id")->valuestring, mid);
    ck_assert_int_eq(cJSON_GetObjectItem(res, "iteration")->valueint, 19);
    cJSON_Delete(res);
    free(doc);
    oig_model_free(mdl);
}
END_TEST

/* Rows of `table` whose job_id is `job`. */
static int rows_of_job(const char *table, const char *job) {
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE job_id = ?1", table);
    return count_rows(dbpath, sql, job);
}

START_TEST(test_job_delete_takes_its_metrics_and_checkpoint_and_leaves_the_rest) {
    char ds[STORE_ID_MAX], job[STORE_ID_MAX], other[STORE_ID_MAX], got[STORE_ID_MAX];
    insert_dataset(ds);
    insert_job(ds, job);
    insert_job(ds, other);
    ck_assert_int_eq(store_job_delete(st, job), STORE_CONFLICT);        /* queued */
    ck_assert_int_eq(store_job_claim(st, got), STORE_OK);
    ck_assert_str_eq(got, job);
    ck_assert_int_eq(store_job_claim(st, got), STORE_OK);
    ck_assert_int_eq(store_job_delete(st, job), STORE_CONFLICT);        /* running */
    oig_model *mdl = oig_model_new(2, 3, 1);
    char *doc = model_doc_write(mdl, NULL);
    store_metric rows[6];
    for (int i = 0; i < 6; i++) rows[i] = metric(i);
    ck_assert_int_eq(store_job_progress(st, job, rows, 6, NULL, doc, 5), STORE_OK);
    ck_assert_int_eq(store_job_progress(st, other, rows, 4, NULL, doc, 3), STORE_OK);
    char mid[STORE_ID_MAX];
    ck_assert_int_eq(store_job_finish(st, job, "succeeded", NULL, mdl, doc, mid), STORE_OK);
    ck_assert_int_eq(rows_of_job("metrics", job), 6);

    ck_assert_int_eq(store_job_delete(st, job), STORE_OK);
    ck_assert_int_eq(rows_of_job("metrics", job), 0);
    ck_assert_int_eq(rows_of_job("checkpoints", job), 0);
    cJSON *res = NULL;
    ck_assert_int_eq(store_job_get(st, job, &res), STORE_NOTFOUND);
    ck_assert_int_eq(store_metrics_list(st, job, -1, 1000, 1, &res), STORE_NOTFOUND);
    ck_assert_int_eq(store_job_delete(st, job), STORE_NOTFOUND);
    ck_assert_int_eq(store_job_delete(st, "job_nope"), STORE_NOTFOUND);
    /* the model it made, the other job's rows and checkpoint, and the dataset stay */
    char *back = NULL;
    ck_assert_int_eq(store_model_doc(st, mid, &back), STORE_OK);
    free(back);
    ck_assert_int_eq(rows_of_job("metrics", other), 4);
    ck_assert_int_eq(rows_of_job("checkpoints", other), 1);
    ck_assert_int_eq(store_dataset_get(st, ds, &res), STORE_OK);
    cJSON_Delete(res);
    /* a cancelled job goes the same way */
    ck_assert_int_eq(store_job_cancel(st, other, &(int){0}), STORE_OK);
    ck_assert_int_eq(store_job_finish(st, other, "cancelled", NULL, NULL, NULL, NULL), STORE_OK);
    ck_assert_int_eq(store_job_delete(st, other), STORE_OK);
    ck_assert_int_eq(rows_of_job("metrics", other), 0);
    ck_assert_int_eq(rows_of_job("checkpoints", other), 0);
    free(doc);
    oig_model_free(mdl);
}
END_TEST

START_TEST(test_model_crud) {
    oig_model *mdl = oig_model_new(2, 3, 1);
    char *doc = model_doc_write(mdl, NULL);
    cJSON *res = NULL;
    ck_assert_int_eq(store_model_insert(st, NULL, mdl, doc, &res), STORE_OK);
    char id[STORE_ID_MAX];
    snprintf(id, sizeof id, "%s", cJSON_GetObjectItem(res, "id")->valuestring);
    ck_assert_int_eq(cJSON_GetObjectItem(res, "hidden_units")->valueint, 3);
    cJSON_Delete(res);
    char *back = NULL;
    ck_assert_int_eq(store_model_doc(st, id, &back), STORE_OK);
    ck_assert_str_eq(back, doc);
    free(back);
    ck_assert_int_eq(store_model_list(st, NULL, 10, &res), STORE_OK);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(res, "items")), 1);
    cJSON_Delete(res);
    char alias[STORE_ALIAS_MAX];
    ck_assert_int_eq(store_model_delete(st, id, alias), STORE_OK);
    ck_assert_int_eq(store_model_delete(st, id, alias), STORE_NOTFOUND);
    ck_assert_int_eq(store_model_doc(st, id, &back), STORE_NOTFOUND);
    free(doc);
    oig_model_free(mdl);
}
END_TEST

static void insert_model(char id[STORE_ID_MAX]) {
    oig_model *mdl = oig_model_new(2, 3, 1);
    char *doc = model_doc_write(mdl, NULL);
    cJSON *res = NULL;
    ck_assert_int_eq(store_model_insert(st, NULL, mdl, doc, &res), STORE_OK);
    snprintf(id, STORE_ID_MAX, "%s", cJSON_GetObjectItem(res, "id")->valuestring);
    cJSON_Delete(res);
    free(doc);
    oig_model_free(mdl);
}

static const char *aliased_model(const char *name) {
    static char id[STORE_ID_MAX];
    store_status rc = store_alias_resolve(st, name, id);
    return rc == STORE_OK ? id : rc == STORE_NOTFOUND ? "none" : "error";
}

/* An alias is created, moved, listed by name and deleted; it names an existing model only, and
 * a model it names cannot be deleted until it moves. */
START_TEST(test_aliases_name_models_and_guard_them) {
    char a[STORE_ID_MAX], b[STORE_ID_MAX];
    insert_model(a);
    insert_model(b);
    cJSON *res = NULL;
    int created = 0;
    ck_assert_int_eq(store_alias_set(st, "prod", a, &created, &res), STORE_OK);
    ck_assert_int_eq(created, 1);
    ck_assert_str_eq(cJSON_GetObjectItem(res, "model_id")->valuestring, a);
    char created_at[40];
    snprintf(created_at, sizeof created_at, "%s", cJSON_GetObjectItem(res, "created_at")->valuestring);
    cJSON_Delete(res);
    ck_assert_str_eq(aliased_model("prod"), a);
    ck_assert_int_eq(store_alias_set(st, "canary", b, &created, &res), STORE_OK);
    cJSON_Delete(res);

    char alias[STORE_ALIAS_MAX];
    ck_assert_int_eq(store_model_delete(st, a, alias), STORE_CONFLICT);
    ck_assert_str_eq(alias, "prod");
    ck_assert_int_eq(store_alias_set(st, "prod", b, &created, &res), STORE_OK);   /* move */
    ck_assert_int_eq(created, 0);
    ck_assert_str_eq(cJSON_GetObjectItem(res, "created_at")->valuestring, created_at);
    cJSON_Delete(res);
    ck_assert_str_eq(aliased_model("prod"), b);
    ck_assert_int_eq(store_model_delete(st, a, alias), STORE_OK);
    ck_assert_int_eq(store_alias_set(st, "prod", a, &created, &res), STORE_NOTFOUND);   /* gone */
    ck_assert_ptr_null(res);
    ck_assert_str_eq(aliased_model("prod"), b);   /* unchanged */
    ck_assert_int_eq(store_alias_set(st, "new", "mdl_nope", &created, &res), STORE_NOTFOUND);
    ck_assert_str_eq(aliased_model("new"), "none");

    /* by name, paged */
    ck_assert_int_eq(store_alias_list(st, NULL, 1, &res), STORE_OK);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(res, "items"), 0), "name")->valuestring, "canary");
    ck_assert_str_eq(cJSON_GetObjectItem(res, "next_after")->valuestring, "canary");
    cJSON_Delete(res);
    ck_assert_int_eq(store_alias_list(st, "canary", 1, &res), STORE_OK);
    ck_assert_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(res, "items"), 0), "name")->valuestring, "prod");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(res, "next_after")));
    cJSON_Delete(res);

    ck_assert_int_eq(store_alias_delete(st, "prod"), STORE_OK);
    ck_assert_int_eq(store_alias_delete(st, "prod"), STORE_NOTFOUND);
    ck_assert_int_eq(store_alias_get(st, "prod", &res), STORE_NOTFOUND);
    ck_assert_int_eq(store_model_delete(st, b, alias), STORE_CONFLICT);   /* canary still names it */
    ck_assert_str_eq(alias, "canary");
    ck_assert_int_eq(store_alias_delete(st, "canary"), STORE_OK);
    ck_assert_int_eq(store_model_delete(st, b, alias), STORE_OK);

    ck_assert(store_alias_name_ok("prod-2.1_b"));
    ck_assert(!store_alias_name_ok(""));
    ck_assert(!store_alias_name_ok("mdl_abc"));
    ck_assert(!store_alias_name_ok("-x"));
    ck_assert(!store_alias_name_ok("a b"));
    ck_assert(!store_alias_name_ok("a/b"));
    char longest[STORE_ALIAS_MAX + 1];
    memset(longest, 'a', sizeof longest);
    longest[STORE_ALIAS_MAX - 1] = 0;
    ck_assert(store_alias_name_ok(longest));
    longest[STORE_ALIAS_MAX - 1] = 'a';
    longest[STORE_ALIAS_MAX] = 0;
    ck_assert(!store_alias_name_ok(longest));
}
END_TEST

/* A regression dataset of rows x 8 inputs (about 72 bytes a row) with seeded values. */
static oig_data *sized_data(size_t rows) {
    oig_data *d = calloc(1, sizeof *d);
    d->nrows = rows; d->n = 8; d->m = 1;
    d->x = malloc(rows * 8 * sizeof(double));
    d->t = malloc(rows * sizeof(double));
    unsigned v = 12345;
    for (size_t i = 0; i < rows * 8; i++) { v = v * 1103515245u + 12345u; d->x[i] = (v >> 8) / 16777216.0; }
    for (size_t i = 0; i < rows; i++) d->t[i] = d->x[i * 8] - d->x[i * 8 + 1];
    return d;
}

static void insert_data(store *s, const oig_data *d, char id[STORE_ID_MAX]) {
    cJSON *res = NULL;
    ck_assert_int_eq(store_dataset_insert(s, "sized", d, "00", &res), STORE_OK);
    snprintf(id, STORE_ID_MAX, "%s", cJSON_GetObjectItem(res, "id")->valuestring);
    cJSON_Delete(res);
}

static void assert_same_payload(store *s, const char *id, const oig_data *ref) {
    oig_data *d = NULL;
    ck_assert_int_eq(store_dataset_load(s, id, &d), STORE_OK);
    ck_assert_uint_eq(d->nrows, ref->nrows);
    ck_assert_mem_eq(d->x, ref->x, ref->nrows * 8 * sizeof(double));
    ck_assert_mem_eq(d->t, ref->t, ref->nrows * sizeof(double));
    oig_data_free(d);
}

/* A big dataset inserted before a small one and then deleted: its pages sit in the middle of the
 * file, so giving them back moves the small one's pages. */
static void free_the_middle(store *s, oig_data *small, char small_id[STORE_ID_MAX]) {
    oig_data *big = sized_data(40000);   /* about 2.9 MB */
    char big_id[STORE_ID_MAX];
    insert_data(s, big, big_id);
    insert_data(s, small, small_id);
    ck_assert_int_eq(store_dataset_delete(s, big_id), STORE_OK);
    oig_data_free(big);
}

START_TEST(test_a_new_file_gives_free_pages_back_a_slice_at_a_time) {
    store_space before, after;
    ck_assert_int_eq(store_space_get(st, &before), STORE_OK);
    ck_assert_int_eq(before.incremental, 1);
    ck_assert_int_eq(before.free_pages, 0);
    oig_data *small = sized_data(500);
    char small_id[STORE_ID_MAX];
    free_the_middle(st, small, small_id);
    ck_assert_int_eq(store_space_get(st, &before), STORE_OK);
    ck_assert_int_gt(before.free_pages * before.page_size, 2500000);
    long long left = -1, given = -1, prev = before.free_pages;
    int calls = 0;
    while (left != 0) {
        ck_assert_int_lt(++calls, 1000);
        ck_assert_int_eq(store_reclaim(st, 64, &given, &left), STORE_OK);
        ck_assert_int_ge(prev - left, 1);     /* each call makes progress */
        ck_assert_int_le(prev - left, 64);    /* and at most its slice */
        ck_assert_int_eq(given, prev - left);
        prev = left;
    }
    ck_assert_int_gt(calls, 10);
    ck_assert_int_eq(store_space_get(st, &after), STORE_OK);
    ck_assert_int_eq(after.free_pages, 0);
    ck_assert_int_le(after.pages, before.pages - before.free_pages);
    assert_same_payload(st, small_id, small);
    /* nothing left: a no-op */
    ck_assert_int_eq(store_reclaim(st, 64, &given, &left), STORE_OK);
    ck_assert_int_eq(left, 0);
    ck_assert_int_eq(given, 0);
    /* the file on disk shrank once the WAL was checkpointed */
    struct stat fs;
    ck_assert_int_eq(stat(dbpath, &fs), 0);
    ck_assert_int_le(fs.st_size, after.pages * after.page_size);
    oig_data_free(small);
}
END_TEST

START_TEST(test_an_older_file_keeps_its_free_pages_until_one_vacuum) {
    char old_path[320];
    snprintf(old_path, sizeof old_path, "%s/old.db", tdir);
    sqlite3 *db;   /* a file with a table before the store sees it: no incremental vacuum */
    ck_assert_int_eq(sqlite3_open(old_path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE note(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    store *old;
    char err[256];
    ck_assert_int_eq(store_open(old_path, &old, err, sizeof err), STORE_OK);
    oig_data *small = sized_data(500);
    char small_id[STORE_ID_MAX];
    free_the_middle(old, small, small_id);
    store_space before, after;
    ck_assert_int_eq(store_space_get(old, &before), STORE_OK);
    ck_assert_int_eq(before.incremental, 0);
    ck_assert_int_gt(before.free_pages * before.page_size, 2500000);
    long long left = -1, given = -1;
    ck_assert_int_eq(store_reclaim(old, 64, &given, &left), STORE_OK);
    ck_assert_int_eq(left, before.free_pages);     /* nothing given back, and not an error */
    ck_assert_int_eq(given, 0);
    ck_assert_int_eq(store_vacuum(old), STORE_OK);
    ck_assert_int_eq(store_space_get(old, &after), STORE_OK);
    ck_assert_int_eq(after.incremental, 1);
    ck_assert_int_eq(after.free_pages, 0);
    /* the pages in use, plus the pointer map incremental vacuum keeps (a page per ~800) */
    ck_assert_int_le(after.pages, before.pages - before.free_pages + 1 + before.pages / 800);
    assert_same_payload(old, small_id, small);
    store_close(old);
    ck_assert_int_eq(count_rows(old_path, "SELECT count(*) FROM note", NULL), 0);
    oig_data_free(small);
}
END_TEST

START_TEST(test_store_set_gives_each_thread_its_connection) {
    store_set *ss;
    char err[256];
    ck_assert_int_eq(store_set_open(dbpath, &ss, err, sizeof err), STORE_OK);
    store *a = store_set_get(ss), *b = store_set_get(ss);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(a, b);
    ck_assert(store_ready(a));
    store_set_close(ss);
}
END_TEST

static Suite *store_suite(void) {
    Suite *s = suite_create("server_store");
    TCase *tc = tcase_create("store");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_migrations_apply_and_set_user_version);
    tcase_add_test(tc, test_refuses_a_newer_database);
    tcase_add_test(tc, test_dataset_roundtrip_keeps_payload_bit_for_bit);
    tcase_add_test(tc, test_a_version_1_database_keeps_its_datasets);
    tcase_add_test(tc, test_lists_page_with_after);
    tcase_add_test(tc, test_dataset_delete_conflicts_with_active_job);
    tcase_add_test(tc, test_job_insert_needs_an_existing_dataset);
    tcase_add_test(tc, test_claim_is_fifo_and_filters_by_status);
    tcase_add_test(tc, test_concurrent_claims_never_share_a_job);
    tcase_add_test(tc, test_running_jobs_are_requeued_at_start);
    tcase_add_test(tc, test_cancel_running_sets_flag_and_finished_is_conflict);
    tcase_add_test(tc, test_metrics_stay_continuous_across_checkpoint_and_resume);
    tcase_add_test(tc, test_job_delete_takes_its_metrics_and_checkpoint_and_leaves_the_rest);
    tcase_add_test(tc, test_model_crud);
    tcase_add_test(tc, test_aliases_name_models_and_guard_them);
    tcase_add_test(tc, test_store_set_gives_each_thread_its_connection);
    tcase_add_test(tc, test_a_new_file_gives_free_pages_back_a_slice_at_a_time);
    tcase_add_test(tc, test_an_older_file_keeps_its_free_pages_until_one_vacuum);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return suite_run(store_suite(), CK_FORK_GETENV);
}

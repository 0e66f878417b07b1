/* test_mpi_serve.c -- `oigd serve --mpi-launcher` with "distributed": true jobs under `mpirun -np 2`
 * (built only with OIGD_MPI=ON): success with continuous metrics, live events and a model equal to
 * the in-process job's to rounding (regression; classes with a quoted label and options), cancel
 * and shutdown ending every process of the run (the daemon's TMPDIR is the test's, so leftovers
 * are found by path), a job stopped by a shutdown and then by a crash resuming from its last
 * checkpoint each time to the uninterrupted model (and the crashed daemon's job directory removed
 * at the next start), a warm start from a stored model, failed children recorded with their message, and 422
 * without a launcher. */
#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include "model_doc.h"
#include "oig.h"
#include "support_api.h"
#include "support_http.h"
#include "support_model.h"
#include "support_suite.h"
#include "support_tmp.h"

static char tdir[256], dbpath[320], jobtmp[320];
static oigd_proc proc;

static void setup(void) {
    ck_assert_int_eq(support_tmpdir(tdir, sizeof tdir, "mpiserve"), 0);
    snprintf(dbpath, sizeof dbpath, "%s/oigd.db", tdir);
    snprintf(jobtmp, sizeof jobtmp, "%s/tmp", tdir);
    ck_assert_int_eq(mkdir(jobtmp, 0700), 0);
    setenv("TMPDIR", jobtmp, 1);            /* the daemon's job directories land here */
    setenv("OMPI_MCA_rmaps_base_oversubscribe", "1", 1);
    memset(&proc, 0, sizeof proc);
}

static void teardown(void) {
    if (proc.pid > 0) oigd_stop(&proc, SIGKILL, 5000);
    support_rmtree(tdir);
}

/* The launcher of these tests: MPIEXEC (else mpirun) with 2 ranks on this small machine. Ranks
 * of a sanitizer build skip the leak check (Open MPI's own allocations outlive MPI_Finalize). */
static const char *launcher(void) {
    static char l[512];
    const char *m = getenv("MPIEXEC");
    snprintf(l, sizeof l, "%s -np 2 --oversubscribe --allow-run-as-root --mca mpi_yield_when_idle 1 "
             "-x ASAN_OPTIONS=detect_leaks=0", m && *m ? m : "mpirun");
    return l;
}

static void start(const char *mpi_launcher) {
    const char *extra[] = {"--workers", "1", "--checkpoint-seconds", "0.2",
                           mpi_launcher ? "--mpi-launcher" : NULL, mpi_launcher, NULL};
    ck_assert_msg(oigd_start(tdir, dbpath, extra, &proc) == 0, "oigd serve did not start (log %s)", proc.log);
}

/* Processes whose command line mentions the daemon's job temp directory: the ranks and mpirun
 * (read from /proc, so that no helper process of the check matches itself). */
static int leftover_processes(void) {
    char want[400];
    snprintf(want, sizeof want, "%s/oigd-job-", jobtmp);
    DIR *d = opendir("/proc");
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[300], buf[8192];
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        for (size_t i = 0; i < n; i++) if (buf[i] == 0) buf[i] = ' ';
        buf[n] = 0;
        if (strstr(buf, want)) found = 1;
    }
    closedir(d);
    return found;
}

static int wait_no_processes(int timeout_ms) {
    long long deadline = support_now_ms() + timeout_ms;
    while (leftover_processes()) {
        if (support_now_ms() > deadline) return 0;
        usleep(50000);
    }
    return 1;
}

/* ---- HTTP helpers ---------------------------------------------------------------------------- */

static cJSON *request_json(const char *method, const char *path, const char *body, int expect_status) {
    return api_json(proc.port, method, path, body ? "application/json" : NULL, body, expect_status, NULL, 0);
}

static const char *jstr(cJSON *o, const char *k) { return api_jstr(o, k); }

/* rows rows of y = sin(2a) + bc; rows > 2 x 2048 / 0.9 gives both ranks a block of rows. */
static char *upload_dataset(int rows) {
    size_t n;
    char *b = api_sine_csv(rows, 12345, &n);
    http_resp r;
    ck_assert_int_eq(http_request(proc.port, "POST", "/v1/datasets?name=sine", "Content-Type: text/csv\r\n",
                                  b, n, 30000, &r), 0);
    free(b);
    ck_assert_msg(r.status == 201, "upload: %d %s", r.status, r.body);
    cJSON *j = cJSON_Parse(r.body);
    http_resp_free(&r);
    char *id = strdup(jstr(j, "id"));
    cJSON_Delete(j);
    return id;
}

/* A job of OIG-HWO on ds; extra is more JSON members (",\"k\":v") or "". */
static char *create_job_with(const char *ds, int iterations, int distributed, const char *extra) {
    char body[512];
    snprintf(body, sizeof body,
             "{\"dataset_id\":\"%s\",\"algorithm\":\"oig-hwo\",\"hidden_units\":5,\"max_iterations\":%d,"
             "\"seed\":7,\"validation_fraction\":0.1%s%s}", ds, iterations,
             distributed ? ",\"distributed\":true" : "", extra);
    cJSON *j = request_json("POST", "/v1/jobs", body, 202);
    char *id = strdup(jstr(j, "id"));
    cJSON_Delete(j);
    return id;
}

static char *create_job(const char *ds, int iterations, int distributed) {
    return create_job_with(ds, iterations, distributed, "");
}

/* The daemon's counter of training iterations reported since it started (GET /metrics). */
static long long iterations_reported(void) {
    http_resp r;
    ck_assert_int_eq(http_request(proc.port, "GET", "/metrics", NULL, NULL, 0, 30000, &r), 0);
    ck_assert_int_eq(r.status, 200);
    const char *line = strstr(r.body, "\noigd_training_iterations_total ");
    ck_assert_ptr_nonnull(line);
    long long n = atoll(line + strlen("\noigd_training_iterations_total "));
    http_resp_free(&r);
    return n;
}

static cJSON *wait_status(const char *id, const char *want, int timeout_ms) {
    return api_wait_status(proc.port, id, want, timeout_ms, 100);
}

static void wait_iteration(const char *id, int it, int timeout_ms) {
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    long long deadline = support_now_ms() + timeout_ms;
    for (;;) {
        cJSON *j = request_json("GET", path, NULL, 200);
        cJSON *v = cJSON_GetObjectItem(j, "iteration");
        int cur = cJSON_IsNumber(v) ? v->valueint : -1;
        ck_assert_msg(strcmp(jstr(j, "status"), "failed") != 0, "job failed: %s", jstr(j, "error"));
        cJSON_Delete(j);
        if (cur >= it) return;
        ck_assert_msg(support_now_ms() < deadline, "job %s stuck at iteration %d", id, cur);
        usleep(50000);
    }
}

/* The stored metrics history, checked to keep what history.h keeps (api_metrics_history). */
static int metrics_continuous(const char *id) { return api_metrics_history(proc.port, id, NULL); }

static oig_model *job_model(cJSON *job) {
    char path[160];
    snprintf(path, sizeof path, "/v1/models/%s", jstr(job, "model_id"));
    http_resp r;
    ck_assert_int_eq(http_request(proc.port, "GET", path, NULL, NULL, 0, 30000, &r), 0);
    ck_assert_int_eq(r.status, 200);
    oig_model *m = NULL;
    oig_error err;
    ck_assert_int_eq(model_doc_read(r.body, r.len, &m, &err), OIG_OK);
    http_resp_free(&r);
    return m;
}

/* The model of job id once it has ended, which it must have done by succeeding. */
static oig_model *succeeded_model(const char *id) {
    cJSON *j = wait_status(id, "succeeded|failed|cancelled", 300000);
    ck_assert_msg(strcmp(jstr(j, "status"), "succeeded") == 0, "job %s: %s (%s)", id, jstr(j, "status"),
                  jstr(j, "error"));
    oig_model *m = job_model(j);
    cJSON_Delete(j);
    return m;
}

/* ---- tests ----------------------------------------------------------------------------------- */

START_TEST(distributed_job_matches_in_process) {
    start(launcher());
    char *ds = upload_dataset(4600);
    char *dj = create_job(ds, 25, 1);
    cJSON *job = wait_status(dj, "succeeded|failed|cancelled", 300000);
    ck_assert_msg(strcmp(jstr(job, "status"), "succeeded") == 0, "distributed job: %s (%s)",
                  jstr(job, "status"), jstr(job, "error"));
    ck_assert_int_eq(cJSON_GetObjectItem(job, "iteration")->valueint, 25);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(job, "distributed")));
    ck_assert_int_eq(metrics_continuous(dj), 26);
    oig_model *md = job_model(job);
    cJSON_Delete(job);
    ck_assert_int_eq(md->summary.iterations, 25);

    /* the same request trained in the daemon */
    char *ij = create_job(ds, 25, 0);
    oig_model *mi = succeeded_model(ij);
    double d = support_model_diff(mi, md);
    ck_assert_msg(d <= 1e-9, "distributed and in-process models differ by %g (relative)", d);
    ck_assert_int_eq(metrics_continuous(ij), 26);
    oig_model_free(md);
    oig_model_free(mi);
    ck_assert(wait_no_processes(5000));
    free(ij);
    free(dj);
    free(ds);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 30000), 0);
}
END_TEST

/* Classification with a quoted label, another algorithm and non-default options: the exported
 * file gives the child the same classes in the same order, and the flags the same options. */
START_TEST(distributed_classification_with_options) {
    start(launcher());
    int rows = 4600;
    size_t cap = (size_t)rows * 80 + 64, n;
    char *b = malloc(cap);
    n = (size_t)snprintf(b, cap, "a,b,c,kind\n");
    unsigned s = 777;
    for (int i = 0; i < rows; i++) {
        double v[3];
        for (int k = 0; k < 3; k++) { s = s * 1103515245u + 12345u; v[k] = ((s >> 8) % 20001) / 10000.0 - 1.0; }
        double y = sin(2 * v[0]) + v[1] * v[2];
        n += (size_t)snprintf(b + n, cap - n, "%.6f,%.6f,%.6f,%s\n", v[0], v[1], v[2],
                              y > 0.4 ? "high" : y < -0.4 ? "\"low, \"\"neg\"\"\"" : "mid");
    }
    http_resp r;
    ck_assert_int_eq(http_request(proc.port, "POST", "/v1/datasets?name=cls&task=classification",
                                  "Content-Type: text/csv\r\n", b, n, 30000, &r), 0);
    free(b);
    ck_assert_msg(r.status == 201, "upload: %d %s", r.status, r.body);
    cJSON *j = cJSON_Parse(r.body);
    http_resp_free(&r);
    char ds[64];
    snprintf(ds, sizeof ds, "%s", jstr(j, "id"));
    cJSON_Delete(j);
    oig_model *m[2];
    for (int dist = 1; dist >= 0; dist--) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"dataset_id\":\"%s\",\"algorithm\":\"hwo\",\"hidden_units\":4,\"max_iterations\":12,"
                 "\"seed\":11,\"validation_fraction\":0.05,\"options\":{\"bypass\":false,\"md\":0.4,"
                 "\"max_halvings\":5,\"sigmad\":0.9}%s}", ds, dist ? ",\"distributed\":true" : "");
        j = request_json("POST", "/v1/jobs", body, 202);
        char id[64];
        snprintf(id, sizeof id, "%s", jstr(j, "id"));
        cJSON_Delete(j);
        m[dist] = succeeded_model(id);
        ck_assert_int_eq(metrics_continuous(id), 13);
    }
    ck_assert_int_eq(m[0]->nclasses, 3);
    ck_assert_int_eq(m[1]->nclasses, 3);
    for (int k = 0; k < 3; k++) ck_assert_str_eq(m[0]->labels[k], m[1]->labels[k]);
    ck_assert_int_eq(m[0]->bypass, m[1]->bypass);
    ck_assert_int_eq(m[1]->bypass, 0);
    double d = support_model_diff(m[0], m[1]);
    ck_assert_msg(d <= 1e-9, "distributed and in-process models differ by %g (relative)", d);
    oig_model_free(m[0]);
    oig_model_free(m[1]);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 30000), 0);
}
END_TEST

START_TEST(cancel_and_shutdown_end_the_mpi_job) {
    start(launcher());
    char *ds = upload_dataset(4600);
    char *job = create_job(ds, 100000000, 1);
    wait_iteration(job, 3, 120000);
    ck_assert_msg(leftover_processes(), "no process of the running job found");

    /* live progress reaches the event stream */
    char path[160];
    snprintf(path, sizeof path, "/v1/jobs/%s/events", job);
    http_resp ev;
    ck_assert_int_eq(http_request(proc.port, "GET", path, NULL, NULL, 0, 1500, &ev), 0);
    ck_assert_int_eq(ev.status, 200);
    ck_assert_ptr_nonnull(strstr(ev.body, "event: progress"));
    http_resp_free(&ev);

    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", job);
    cJSON_Delete(request_json("POST", path, NULL, 202));
    cJSON *j = wait_status(job, "cancelled|failed|succeeded", 30000);
    ck_assert_str_eq(jstr(j, "status"), "cancelled");
    cJSON_Delete(j);
    ck_assert_msg(wait_no_processes(10000), "processes of the cancelled job remain");
    int n = metrics_continuous(job);
    ck_assert_int_ge(n, 4);

    /* shutdown: the run ends and the job goes back to queued (resuming: the next test) */
    char *job2 = create_job(ds, 100000000, 1);
    wait_iteration(job2, 2, 120000);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 60000), 0);
    ck_assert_msg(wait_no_processes(10000), "processes of the interrupted job remain");
    start(NULL);                            /* no launcher now: the requeued job fails, clearly */
    j = wait_status(job2, "failed|succeeded|cancelled", 30000);
    ck_assert_str_eq(jstr(j, "status"), "failed");
    ck_assert_ptr_nonnull(strstr(jstr(j, "error"), "--mpi-launcher"));
    ck_assert_int_eq(cJSON_GetObjectItem(j, "attempts")->valueint, 2);
    cJSON_Delete(j);
    metrics_continuous(job2);               /* whatever the last checkpoint kept, without gaps */
    free(job2);
    free(job);
    free(ds);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 30000), 0);
}
END_TEST

/* Stop the daemon with sig once job is past iteration `after` and has had time for a few
 * checkpoints (--checkpoint-seconds 0.2); the job must still be running then. */
static void interrupt_running(const char *job, int after, int sig, int expect_exit) {
    wait_iteration(job, after, 120000);
    usleep(600000);
    char path[160];
    snprintf(path, sizeof path, "/v1/jobs/%s", job);
    cJSON *j = request_json("GET", path, NULL, 200);
    ck_assert_msg(strcmp(jstr(j, "status"), "running") == 0, "the job was to be still running: %s (iteration %d)",
                  jstr(j, "status"), cJSON_GetObjectItem(j, "iteration")->valueint);
    cJSON_Delete(j);
    ck_assert_int_eq(oigd_stop(&proc, sig, 60000), expect_exit);
    ck_assert_msg(wait_no_processes(10000), "processes of the interrupted job remain");
    ck_assert_msg(strstr(oigd_log(&proc), "checkpoint") == NULL, "checkpoint trouble: %s", oigd_log(&proc));
}

/* The iteration this daemon resumed the job from, from its log (waits up to 60 s for the line). */
static int resumed_from(void) {
    static const char key[] = "running distributed (resumed from iteration ";
    long long deadline = support_now_ms() + 60000;
    const char *at;
    while ((at = strstr(oigd_log(&proc), key)) == NULL) {
        ck_assert_msg(support_now_ms() < deadline, "the job did not resume: %s", oigd_log(&proc));
        usleep(50000);
    }
    return atoi(at + strlen(key));
}

/* Job directories in the daemon's TMPDIR. */
static int job_directories(void) {
    DIR *d = opendir(jobtmp);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) n += strncmp(e->d_name, "oigd-job-", 9) == 0;
    closedir(d);
    return n;
}

/* A distributed job stopped by a shutdown, and then by a crash (SIGKILL), resumes each time from
 * its last checkpoint (not from iteration 0), its metrics stay continuous, and it ends with the
 * model of an uninterrupted distributed run (the ranks' sums do not depend on where the run was
 * cut, so to rounding of the last bits at most). The crashed daemon's job directory, which it
 * could not remove, is removed by the next start. */
START_TEST(interrupted_job_resumes_from_its_last_checkpoint) {
    enum { ITERATIONS = 20000 };
    start(launcher());
    char *ds = upload_dataset(4600);
    char *job = create_job(ds, ITERATIONS, 1);
    interrupt_running(job, 20, SIGTERM, 0);
    ck_assert_int_eq(job_directories(), 0);

    start(launcher());
    int first = resumed_from();
    ck_assert_msg(first >= 1 && first < ITERATIONS, "resumed from iteration %d", first);
    interrupt_running(job, first + 20, SIGKILL, 128 + SIGKILL);
    ck_assert_int_eq(job_directories(), 1);

    start(launcher());
    int second = resumed_from();
    ck_assert_msg(second > first && second < ITERATIONS, "resumed from iteration %d after %d", second, first);
    ck_assert_msg(strstr(oigd_log(&proc), "removed 1 job directory") != NULL, "%s", oigd_log(&proc));
    cJSON *j = wait_status(job, "succeeded|failed|cancelled", 300000);
    ck_assert_msg(strcmp(jstr(j, "status"), "succeeded") == 0, "resumed job: %s (%s)", jstr(j, "status"),
                  jstr(j, "error"));
    ck_assert_int_eq(cJSON_GetObjectItem(j, "attempts")->valueint, 3);
    ck_assert_msg(strstr(oigd_log(&proc), "checkpoint") == NULL, "checkpoint trouble: %s", oigd_log(&proc));
    ck_assert_int_eq(metrics_continuous(job), ITERATIONS + 1);
    /* this daemon ran only the iterations after the checkpoint: the child did resume */
    ck_assert_int_eq(iterations_reported(), ITERATIONS - second);
    oig_model *resumed = job_model(j);
    cJSON_Delete(j);
    ck_assert_int_eq(resumed->summary.iterations, ITERATIONS);
    ck_assert_int_eq(job_directories(), 0);

    char *ij = create_job(ds, ITERATIONS, 1);
    oig_model *whole = succeeded_model(ij);
    double d = support_model_diff(whole, resumed);
    ck_assert_msg(d <= 1e-12, "resumed and uninterrupted distributed models differ by %g (relative)", d);
    oig_model_free(resumed);
    oig_model_free(whole);
    free(ij);
    free(job);
    free(ds);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 30000), 0);
}
END_TEST

/* "init_model_id" with "distributed": the child starts from the stored model, as an in-process
 * job with the same request does. */
START_TEST(distributed_warm_start_from_a_stored_model) {
    start(launcher());
    char *ds = upload_dataset(4600);
    char *base = create_job(ds, 10, 0);
    cJSON *j = wait_status(base, "succeeded|failed|cancelled", 120000);
    ck_assert_str_eq(jstr(j, "status"), "succeeded");
    char extra[160];
    snprintf(extra, sizeof extra, ",\"init_model_id\":\"%s\"", jstr(j, "model_id"));
    cJSON_Delete(j);
    oig_model *m[2];
    double first_mse[2];
    for (int dist = 1; dist >= 0; dist--) {
        char *id = create_job_with(ds, 15, dist, extra);
        m[dist] = succeeded_model(id);
        ck_assert_int_eq(metrics_continuous(id), 16);
        char path[160];
        snprintf(path, sizeof path, "/v1/jobs/%s/metrics?limit=1", id);
        j = request_json("GET", path, NULL, 200);
        first_mse[dist] = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "metrics"), 0),
                                              "train_mse")->valuedouble;
        cJSON_Delete(j);
        free(id);
    }
    ck_assert_double_eq_tol(first_mse[1], first_mse[0], 1e-9 * first_mse[0]);
    ck_assert_str_eq(oig_model_meta_get(m[1], "init.iterations"), "10");
    double d = support_model_diff(m[0], m[1]);
    ck_assert_msg(d <= 1e-9, "distributed and in-process warm starts differ by %g (relative)", d);
    oig_model_free(m[0]);
    oig_model_free(m[1]);
    free(base);
    free(ds);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 30000), 0);
}
END_TEST

START_TEST(failed_child_fails_the_job) {
    /* a launcher that fails at once, without a word */
    start("false");
    char *ds = upload_dataset(300);
    char *job = create_job(ds, 10, 1);
    cJSON *j = wait_status(job, "failed|succeeded|cancelled", 30000);
    ck_assert_str_eq(jstr(j, "status"), "failed");
    ck_assert_msg(strstr(jstr(j, "error"), "exit status 1") != NULL, "error: %s", jstr(j, "error"));
    cJSON_Delete(j);
    free(job);
    free(ds);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 30000), 0);

    /* a real run that oigd train refuses: 300 rows are one block, too few for 2 ranks */
    start(launcher());
    ds = upload_dataset(300);
    job = create_job(ds, 10, 1);
    j = wait_status(job, "failed|succeeded|cancelled", 120000);
    ck_assert_str_eq(jstr(j, "status"), "failed");
    ck_assert_msg(strstr(jstr(j, "error"), "oigd train") != NULL && strstr(jstr(j, "error"), "block") != NULL,
                  "error: %s", jstr(j, "error"));
    cJSON_Delete(j);
    ck_assert(wait_no_processes(5000));
    free(job);
    free(ds);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 30000), 0);
}
END_TEST

START_TEST(distributed_without_launcher_is_422) {
    start(NULL);
    char *ds = upload_dataset(50);
    char body[256];
    snprintf(body, sizeof body, "{\"dataset_id\":\"%s\",\"distributed\":true}", ds);
    cJSON *j = request_json("POST", "/v1/jobs", body, 422);
    cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "errors"), 0);
    ck_assert_str_eq(jstr(e, "field"), "distributed");
    ck_assert_ptr_nonnull(strstr(jstr(j, "detail"), "--mpi-launcher"));
    cJSON_Delete(j);
    free(ds);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 30000), 0);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("mpi_serve");
    TCase *tc = tcase_create("mpi_serve");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, distributed_without_launcher_is_422);
    tcase_add_test(tc, failed_child_fails_the_job);
    tcase_add_test(tc, distributed_job_matches_in_process);
    tcase_add_test(tc, distributed_classification_with_options);
    tcase_add_test(tc, cancel_and_shutdown_end_the_mpi_job);
    tcase_add_test(tc, interrupted_job_resumes_from_its_last_checkpoint);
    tcase_add_test(tc, distributed_warm_start_from_a_stored_model);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return suite_run(suite(), CK_FORK_GETENV);
}

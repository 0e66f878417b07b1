/* test_api_ops.c -- the operator's side of `oigd serve`, against a real daemon on a loopback
 * port: API keys (401 without or with a wrong key, 200 with the right one, probes and documents
 * stay open, `oigd key create`), limits (each one answers its status, 429/503 with Retry-After,
 * and changes nothing), GET /metrics (every line parses; counters move; route labels are
 * templates), GET /openapi.json served as embedded, the request log (batched, one line per
 * request, off on request), the start's removal of job directories a dead daemon left, a
 * deleted dataset's disk space given back while the daemon runs, and `oigd backup` while a job
 * trains, restored into a working daemon. */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <check.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.h"
#include "support_http.h"
#include "support_suite.h"
#include "support_tmp.h"

static char tdir[256], dbpath[320];
static oigd_proc proc;

static void setup(void) {
    ck_assert_int_eq(support_tmpdir(tdir, sizeof tdir, "ops"), 0);
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

/* One request; returns the status, the response in *r (free it). */
static int req(const char *method, const char *path, const char *headers, const char *body, http_resp *r) {
    ck_assert_int_eq(http_request(proc.port, method, path, headers, body, body ? strlen(body) : 0, 30000, r), 0);
    return r->status;
}

static int status_of(const char *method, const char *path, const char *headers, const char *body) {
    http_resp r;
    int s = req(method, path, headers, body, &r);
    http_resp_free(&r);
    return s;
}

static int list_count(const char *path, const char *headers) {
    http_resp r;
    ck_assert_int_eq(req("GET", path, headers, NULL, &r), 200);
    cJSON *j = cJSON_Parse(r.body);
    http_resp_free(&r);
    int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "items"));
    cJSON_Delete(j);
    return n;
}

static void problem_code(const http_resp *r, const char *code) {
    char ct[96];
    ck_assert_int_eq(http_header(r, "Content-Type", ct, sizeof ct), 0);
    ck_assert_str_eq(ct, "application/problem+json");
    cJSON *j = cJSON_Parse(r->body);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "code")->valuestring, code);
    cJSON_Delete(j);
}

static char *small_csv(int rows, int cols) {
    size_t cap = (size_t)rows * (size_t)cols * 16 + 256;
    char *b = malloc(cap);
    size_t n = 0;
    for (int c = 0; c < cols; c++) n += (size_t)snprintf(b + n, cap - n, "%sc%d", c ? "," : "", c);
    n += (size_t)snprintf(b + n, cap - n, "\n");
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < cols; c++) n += (size_t)snprintf(b + n, cap - n, "%s%.3f", c ? "," : "", (r * 7 + c * 3) % 11 / 10.0);
        n += (size_t)snprintf(b + n, cap - n, "\n");
    }
    return b;
}

static char *upload(const char *headers, int rows, int cols, int expect) {
    char *csv = small_csv(rows, cols);
    char h[700];
    snprintf(h, sizeof h, "Content-Type: text/csv\r\n%s", headers ? headers : "");
    http_resp r;
    ck_assert_int_eq(req("POST", "/v1/datasets", h, csv, &r), expect);
    free(csv);
    char *id = NULL;
    if (expect == 201) {
        cJSON *j = cJSON_Parse(r.body);
        id = strdup(cJSON_GetObjectItemCaseSensitive(j, "id")->valuestring);
        cJSON_Delete(j);
    }
    http_resp_free(&r);
    return id;
}

static char *make_job(const char *headers, const char *ds, const char *extra, int expect, http_resp *out) {
    char body[512], h[700];
    snprintf(body, sizeof body, "{\"dataset_id\":\"%s\",\"algorithm\":\"bp\",\"hidden_units\":2%s}", ds, extra);
    snprintf(h, sizeof h, "Content-Type: application/json\r\n%s", headers ? headers : "");
    http_resp r;
    ck_assert_int_eq(req("POST", "/v1/jobs", h, body, &r), expect);
    char *id = NULL;
    if (expect == 202) {
        cJSON *j = cJSON_Parse(r.body);
        id = strdup(cJSON_GetObjectItemCaseSensitive(j, "id")->valuestring);
        cJSON_Delete(j);
    }
    if (out) *out = r;
    else http_resp_free(&r);
    return id;
}

static void wait_status(const char *headers, const char *id, const char *want) {
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    long long deadline = support_now_ms() + 60000;
    for (;;) {
        http_resp r;
        ck_assert_int_eq(req("GET", path, headers, NULL, &r), 200);
        cJSON *j = cJSON_Parse(r.body);
        http_resp_free(&r);
        int ok = strcmp(cJSON_GetObjectItemCaseSensitive(j, "status")->valuestring, want) == 0;
        cJSON_Delete(j);
        if (ok) return;
        ck_assert_msg(support_now_ms() < deadline, "job %s never reached %s", id, want);
        usleep(20000);
    }
}

/* ---- API keys ----------------------------------------------------------------------------- */

/* `oigd key create --file F`: the key on stdout, its hash appended to F. */
static void create_key(const char *file, char *key, size_t keylen) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' key create --file '%s' 2>/dev/null", getenv("OIGD_BIN"), file);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(key, (int)keylen, p));
    ck_assert_int_eq(pclose(p), 0);
    key[strcspn(key, "\n")] = 0;
    ck_assert_int_eq((int)strlen(key), 69);     /* oigd_ + 64 hex digits */
}

START_TEST(test_key_create_appends_a_hash_not_the_key) {
    char file[400], k1[128], k2[128];
    snprintf(file, sizeof file, "%s/keys", tdir);
    create_key(file, k1, sizeof k1);
    create_key(file, k2, sizeof k2);
    ck_assert_str_ne(k1, k2);
    FILE *f = fopen(file, "r");
    char text[2048];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    ck_assert_ptr_null(strstr(text, k1 + 5));
    ck_assert_ptr_null(strstr(text, k2 + 5));
    api_keys *keys = NULL;
    char err[256];
    ck_assert_int_eq(api_keys_load(file, &keys, err, sizeof err), 0);
    ck_assert_int_eq(api_keys_count(keys), 2);
    ck_assert_int_eq(api_keys_check(keys, k1, strlen(k1)), 1);
    ck_assert_int_eq(api_keys_check(keys, k2, strlen(k2)), 1);
    ck_assert_int_eq(api_keys_check(keys, k1, strlen(k1) - 1), 0);
    ck_assert_int_eq(api_auth_ok(keys, NULL), 0);
    char hdr[160];
    snprintf(hdr, sizeof hdr, "bearer %s", k2);
    ck_assert_int_eq(api_auth_ok(keys, hdr), 1);
    snprintf(hdr, sizeof hdr, "Basic %s", k2);
    ck_assert_int_eq(api_auth_ok(keys, hdr), 0);
    api_keys_free(keys);
}
END_TEST

START_TEST(test_key_file_errors_refuse_to_start) {
    char file[400];
    snprintf(file, sizeof file, "%s/bad-keys", tdir);
    FILE *f = fopen(file, "w");
    fputs("# a comment\nnot-a-hash\n", f);
    fclose(f);
    const char *extra[] = {"--api-key-file", file, NULL};
    ck_assert_int_ne(oigd_start(tdir, dbpath, extra, &proc), 0);
    f = fopen(file, "w");
    fputs("# only comments\n\n", f);
    fclose(f);
    ck_assert_int_ne(oigd_start(tdir, dbpath, extra, &proc), 0);
}
END_TEST

START_TEST(test_v1_needs_the_right_key_and_probes_stay_open) {
    char file[400], key[128], good[200], bad[200];
    snprintf(file, sizeof file, "%s/keys", tdir);
    create_key(file, key, sizeof key);
    snprintf(good, sizeof good, "Authorization: Bearer %s\r\n", key);
    snprintf(bad, sizeof bad, "Authorization: Bearer %.*sX\r\n", 68, key);
    const char *extra[] = {"--api-key-file", file, NULL};
    start(extra);

    http_resp r;
    ck_assert_int_eq(req("GET", "/v1/jobs", NULL, NULL, &r), 401);
    problem_code(&r, "unauthorized");
    char www[128];
    ck_assert_int_eq(http_header(&r, "WWW-Authenticate", www, sizeof www), 0);
    ck_assert_int_eq(strncmp(www, "Bearer", 6), 0);
    http_resp_free(&r);

    ck_assert_int_eq(req("GET", "/v1/jobs", bad, NULL, &r), 401);
    ck_assert_int_eq(http_header(&r, "WWW-Authenticate", www, sizeof www), 0);
    ck_assert_ptr_nonnull(strstr(www, "invalid_token"));
    http_resp_free(&r);
    ck_assert_int_eq(status_of("GET", "/v1/jobs", "Authorization: Basic dXNlcjpwYXNz\r\n", NULL), 401);

    /* every /v1 route, even unknown ones, asks for the key before anything else */
    ck_assert_int_eq(status_of("GET", "/v1/version", NULL, NULL), 401);
    ck_assert_int_eq(status_of("GET", "/v1/jobs/job_x/events", NULL, NULL), 401);
    ck_assert_int_eq(status_of("GET", "/v1/nothing", NULL, NULL), 401);
    ck_assert_int_eq(status_of("DELETE", "/v1/models/mdl_x", NULL, NULL), 401);
    /* a rejected upload stores nothing */
    char *none = upload(NULL, 4, 3, 401);
    ck_assert_ptr_null(none);
    char *none2 = upload(bad, 4, 3, 401);
    ck_assert_ptr_null(none2);

    ck_assert_int_eq(status_of("GET", "/v1/jobs", good, NULL), 200);
    ck_assert_int_eq(status_of("GET", "/v1/version", good, NULL), 200);
    ck_assert_int_eq(list_count("/v1/datasets", good), 0);
    char *ds = upload(good, 4, 3, 201);
    ck_assert_int_eq(list_count("/v1/datasets", good), 1);
    free(ds);
    ck_assert_int_eq(status_of("GET", "/v1/nothing", good, NULL), 404);

    ck_assert_int_eq(status_of("GET", "/healthz", NULL, NULL), 200);
    ck_assert_int_eq(status_of("GET", "/readyz", NULL, NULL), 200);
    ck_assert_int_eq(status_of("GET", "/metrics", NULL, NULL), 200);
    ck_assert_int_eq(status_of("GET", "/openapi.json", NULL, NULL), 200);
    ck_assert_int_eq(status_of("GET", "/", NULL, NULL), 200);
}
END_TEST

/* ---- limits ------------------------------------------------------------------------------- */

/* A socket connected to the daemon. */
static int connect_daemon(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)proc.port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Open an event stream and keep it open: the socket once its 200 header arrived. */
static int open_stream(const char *path) {
    int fd = connect_daemon();
    char head[256];
    int n = snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path);
    ck_assert_int_eq((int)send(fd, head, (size_t)n, MSG_NOSIGNAL), n);
    char buf[1024] = "";
    size_t got = 0;
    long long deadline = support_now_ms() + 10000;
    while (got < sizeof buf - 1 && !strstr(buf, "\r\n\r\n")) {
        struct pollfd p = {fd, POLLIN, 0};
        ck_assert_int_eq(poll(&p, 1, 10000), 1);
        ssize_t k = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        ck_assert_int_gt((int)k, 0);
        got += (size_t)k;
        buf[got] = 0;
        ck_assert(support_now_ms() < deadline);
    }
    ck_assert_int_eq(strncmp(buf, "HTTP/1.1 200", 12), 0);
    return fd;
}

START_TEST(test_each_limit_answers_its_status_and_changes_nothing) {
    const char *extra[] = {"--max-body", "2048", "--max-rows", "20", "--max-columns", "4", "--max-queued-jobs", "1",
                           "--max-streams", "1", "--retry-after", "7", "--workers", "1", NULL};
    start(extra);
    char *ds = upload(NULL, 20, 4, 201);
    char ra[32];
    http_resp r;

    /* body over --max-body: 413 from Content-Length; a permanent refusal, so no Retry-After */
    char *big = small_csv(200, 4);
    ck_assert_int_eq(req("POST", "/v1/datasets", "Content-Type: text/csv\r\n", big, &r), 413);
    free(big);
    problem_code(&r, "body_too_large");
    ck_assert_int_ne(http_header(&r, "Retry-After", ra, sizeof ra), 0);
    http_resp_free(&r);

    /* rows and columns over their limits: 413 dataset_too_large */
    char *rows = small_csv(21, 4), *cols = small_csv(5, 5);
    ck_assert_int_eq(req("POST", "/v1/datasets", "Content-Type: text/csv\r\n", rows, &r), 413);
    problem_code(&r, "dataset_too_large");
    ck_assert_ptr_nonnull(strstr(r.body, "21 rows"));
    http_resp_free(&r);
    ck_assert_int_eq(req("POST", "/v1/datasets", "Content-Type: text/csv\r\n", cols, &r), 413);
    problem_code(&r, "dataset_too_large");
    ck_assert_ptr_nonnull(strstr(r.body, "5 columns"));
    http_resp_free(&r);
    free(rows);
    free(cols);
    ck_assert_int_eq(list_count("/v1/datasets", NULL), 1);

    /* a job that keeps the one worker busy, one queued, the next refused with 429 */
    char *running = make_job(NULL, ds, ",\"max_iterations\":100000000,\"max_seconds\":120", 202, NULL);
    wait_status(NULL, running, "running");
    char *queued = make_job(NULL, ds, ",\"max_iterations\":5", 202, NULL);
    make_job(NULL, ds, ",\"max_iterations\":5", 429, &r);
    problem_code(&r, "too_many_requests");
    ck_assert_int_eq(http_header(&r, "Retry-After", ra, sizeof ra), 0);
    ck_assert_str_eq(ra, "7");
    http_resp_free(&r);
    ck_assert_int_eq(list_count("/v1/jobs", NULL), 2);
    ck_assert_int_eq(list_count("/v1/jobs?status=queued", NULL), 1);

    /* event streams past --max-streams: 503 with Retry-After */
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s/events", running);
    int fd = open_stream(path);
    ck_assert_int_eq(req("GET", path, NULL, NULL, &r), 503);
    problem_code(&r, "unavailable");
    ck_assert_int_eq(http_header(&r, "Retry-After", ra, sizeof ra), 0);
    ck_assert_str_eq(ra, "7");
    http_resp_free(&r);
    close(fd);

    /* the limits show in /metrics, and the daemon is fine */
    ck_assert_int_eq(req("GET", "/metrics", NULL, NULL, &r), 200);
    ck_assert_ptr_nonnull(strstr(r.body, "oigd_limit_rejections_total{limit=\"max_body\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "oigd_limit_rejections_total{limit=\"max_rows\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "oigd_limit_rejections_total{limit=\"max_columns\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "oigd_limit_rejections_total{limit=\"max_queued_jobs\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "oigd_limit_rejections_total{limit=\"max_streams\"} 1\n"));
    http_resp_free(&r);
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", running);
    ck_assert_int_eq(status_of("POST", path, NULL, NULL), 202);
    ck_assert_int_eq(status_of("GET", "/healthz", NULL, NULL), 200);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 30000), 0);
    free(ds);
    free(running);
    free(queued);
}
END_TEST

START_TEST(test_limit_flags_reject_bad_values) {
    const char *extra[] = {"--max-rows", "0", NULL};
    ck_assert_int_ne(oigd_start(tdir, dbpath, extra, &proc), 0);
    const char *extra2[] = {"--max-queued-jobs", "lots", NULL};
    ck_assert_int_ne(oigd_start(tdir, dbpath, extra2, &proc), 0);
    const char *extra3[] = {"--train-nice", "20", NULL};
    ck_assert_int_ne(oigd_start(tdir, dbpath, extra3, &proc), 0);
    const char *extra4[] = {"--access-log", "yes", NULL};
    ck_assert_int_ne(oigd_start(tdir, dbpath, extra4, &proc), 0);
    const char *extra5[] = {"--train-sched", "fifo", NULL};
    ck_assert_int_ne(oigd_start(tdir, dbpath, extra5, &proc), 0);
}
END_TEST

/* ---- the request log ---------------------------------------------------------------------- */

static const char *read_log(void) { return oigd_log(&proc); }

/* Each request gets a line within the flush tick, a decoded newline in the path cannot start a
 * line of its own, and --access-log off logs no requests but still the daemon's own lines. */
START_TEST(test_requests_are_logged_in_batches_one_line_each) {
    start(NULL);
    ck_assert_int_eq(status_of("GET", "/v1/x%0Aoigd:%20forged", NULL, NULL), 404);
    long long t0 = support_now_ms();
    ck_assert_int_eq(status_of("GET", "/healthz", NULL, NULL), 200);
    while (!strstr(read_log(), "oigd: GET /healthz 200 ")) {
        ck_assert_msg(support_now_ms() - t0 < 2000, "no line for GET /healthz after 2 s: %s", read_log());
        usleep(10000);
    }
    const char *log = read_log();
    ck_assert_msg(strstr(log, "oigd: GET /v1/x?oigd: forged 404 ") != NULL, "%s", log);
    ck_assert_msg(strstr(log, "\noigd: forged") == NULL, "%s", log);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 10000), 0);

    const char *off[] = {"--access-log", "off", NULL};
    start(off);
    ck_assert_int_eq(status_of("GET", "/healthz", NULL, NULL), 200);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 10000), 0);   /* the exit writes out any batch */
    log = read_log();
    ck_assert_msg(strstr(log, "listening on") && strstr(log, "oigd: stopped"), "%s", log);
    ck_assert_msg(strstr(log, "/healthz") == NULL, "%s", log);
}
END_TEST

/* ---- scheduling --------------------------------------------------------------------------- */

/* The threads of proc.pid named name (the parenthesised command name of /proc/PID/task/TID/stat;
 * NULL: any) with this nice value and scheduling policy (fields 19 and 41, counted after the
 * name); nice -1: any. */
static int threads_where(const char *name, int nice, int policy) {
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)proc.pid);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[384], line[1024];
        snprintf(path, sizeof path, "%s/%s/stat", dir, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;                   /* the thread ended meanwhile */
        size_t n = fread(line, 1, sizeof line - 1, f);
        fclose(f);
        line[n] = 0;
        const char *open = strchr(line, '('), *p = strrchr(line, ')');
        ck_assert(open && p && open < p);
        if (name && (strlen(name) != (size_t)(p - open - 1) || strncmp(open + 1, name, strlen(name)) != 0)) continue;
        long field[48] = {0};
        int k = 3;                          /* p + 2 is field 3, the state */
        for (p += 2; *p && k < 48; k++) {
            if (k > 3) field[k] = strtol(p, NULL, 10);
            p = strchr(p, ' ');
            if (!p) break;
            p++;
        }
        found += nice < 0 || (field[19] == nice && field[41] == policy);
    }
    closedir(d);
    return found;
}

static int threads_at(int nice, int policy) { return threads_where(NULL, nice, policy); }

START_TEST(test_training_threads_yield_to_requests) {
    const char *extra[] = {"--workers", "1", "--train-nice", "7", NULL};
    start(extra);
    /* the daemon inherits the test's own nice value (ctest may run under nice) */
    errno = 0;
    int base = getpriority(PRIO_PROCESS, 0);
    ck_assert_int_eq(errno, 0);
    int worker = base + 7 > 19 ? 19 : base + 7;
    ck_assert_int_eq(threads_at(worker, SCHED_BATCH), 1);    /* the worker, before it listens */
    char *ds = upload(NULL, 30, 3, 201);
    char *job = make_job(NULL, ds, ",\"max_iterations\":25,\"seed\":2", 202, NULL);
    wait_status(NULL, job, "succeeded");
    ck_assert_int_eq(threads_at(worker, SCHED_BATCH), 1);
    /* the main thread and the HTTP threads keep the daemon's priority */
    ck_assert_int_ge(threads_at(base, SCHED_OTHER), 2);
    ck_assert_int_eq(threads_at(worker, SCHED_BATCH) + threads_at(base, SCHED_OTHER), threads_at(-1, 0));
    free(ds);
    free(job);
}
END_TEST

/* --train-threads 2: a job trains on two threads besides its worker, at the worker's nice and
 * policy, and the start line says so; with BLAS threads as well the daemon refuses to start. */
START_TEST(test_jobs_train_on_several_threads) {
    const char *bad[] = {"--train-threads", "2", "--blas-threads", "2", NULL};
    ck_assert_int_ne(oigd_start(tdir, dbpath, bad, &proc), 0);
    const char *extra[] = {"--workers", "1", "--train-nice", "7", "--train-threads", "2", NULL};
    start(extra);
    ck_assert_ptr_nonnull(strstr(read_log(), "SCHED_BATCH x 2 training threads x 1 BLAS thread; "));
    errno = 0;
    int base = getpriority(PRIO_PROCESS, 0);
    ck_assert_int_eq(errno, 0);
    int worker = base + 7 > 19 ? 19 : base + 7;
    char *ds = upload(NULL, 1500, 4, 201);
    char *job = make_job(NULL, ds, ",\"max_iterations\":100000000", 202, NULL);
    long long deadline = support_now_ms() + 30000;
    while (threads_at(worker, SCHED_BATCH) < 3) {          /* the worker and its two threads */
        ck_assert_msg(support_now_ms() < deadline, "no training threads at nice %d", worker);
        usleep(10000);
    }
    ck_assert_int_eq(threads_at(worker, SCHED_BATCH), 3);
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", job);
    ck_assert_int_eq(status_of("POST", path, NULL, NULL), 202);
    wait_status(NULL, job, "cancelled");
    ck_assert_int_eq(threads_at(worker, SCHED_BATCH), 1);  /* the threads ended with the job */
    free(ds);
    free(job);
}
END_TEST

/* --train-sched idle: the worker runs as SCHED_IDLE at its nice and still trains; the start line
 * names the policy and the HTTP threads (by default the cores the worker does not take). */
START_TEST(test_idle_training_threads_and_the_start_line) {
    const char *extra[] = {"--workers", "1", "--blas-threads", "1", "--train-sched", "idle", NULL};
    start(extra);
    errno = 0;
    int base = getpriority(PRIO_PROCESS, 0);
    ck_assert_int_eq(errno, 0);
    int worker = base + 10 > 19 ? 19 : base + 10;
    ck_assert_int_eq(threads_at(worker, SCHED_IDLE), 1);
    char *ds = upload(NULL, 30, 3, 201);
    char *job = make_job(NULL, ds, ",\"max_iterations\":25,\"seed\":2", 202, NULL);
    wait_status(NULL, job, "succeeded");
    ck_assert_int_eq(threads_at(worker, SCHED_IDLE), 1);
    ck_assert_int_eq(threads_at(worker, SCHED_IDLE) + threads_at(base, SCHED_OTHER), threads_at(-1, 0));
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    char line[96];
    snprintf(line, sizeof line, "SCHED_IDLE x 1 training thread x 1 BLAS thread; %ld HTTP thread%s (",
             cores > 1 ? cores - 1 : 1,
             cores > 2 ? "s" : "");
    ck_assert_msg(strstr(read_log(), line) != NULL, "no '%s' in the log: %s", line, read_log());
    free(ds);
    free(job);
}
END_TEST

/* Send a keep-alive GET /healthz on each of n sockets. */
static void send_healthz(const int *fds, int n) {
    static const char get[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    for (int i = 0; i < n; i++)
        ck_assert_int_eq((int)send(fds[i], get, sizeof get - 1, MSG_NOSIGNAL), (int)sizeof get - 1);
}

/* Wait, up to timeout_ms in all, for one whole response (header and Content-Length bytes of
 * body) on each of n sockets. Returns how many sockets got theirs. */
static int count_answers(const int *fds, int n, int timeout_ms) {
    enum { MAXN = 256, CAP = 1024 };
    ck_assert_int_le(n, MAXN);
    static char buf[MAXN][CAP];
    size_t got[MAXN] = {0};
    int done[MAXN] = {0}, answered = 0;
    long long deadline = support_now_ms() + timeout_ms;
    while (answered < n) {
        struct pollfd p[MAXN];
        int idx[MAXN], np = 0;
        for (int i = 0; i < n; i++)
            if (!done[i]) { p[np] = (struct pollfd){fds[i], POLLIN, 0}; idx[np++] = i; }
        long long left = deadline - support_now_ms();
        if (left <= 0 || poll(p, (nfds_t)np, (int)left) <= 0) break;
        for (int k = 0; k < np; k++) {
            if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int i = idx[k];
            ssize_t r = recv(fds[i], buf[i] + got[i], CAP - 1 - got[i], 0);
            ck_assert_msg(r > 0, "connection %d closed before its answer", i);
            got[i] += (size_t)r;
            buf[i][got[i]] = 0;
            const char *end = strstr(buf[i], "\r\n\r\n");
            const char *cl = strcasestr(buf[i], "\r\nContent-Length:");
            if (end && cl && got[i] >= (size_t)(end + 4 - buf[i]) + strtoul(cl + 17, NULL, 10)) {
                ck_assert_int_eq(strncmp(buf[i], "HTTP/1.1 200", 12), 0);
                done[i] = 1;
                got[i] = 0;
                answered++;
            }
            ck_assert_int_lt((int)got[i], CAP - 1);
        }
    }
    return answered;
}

/* One HTTP thread (_i 0) and two (_i 1) must answer every ready connection, however many there
 * are. libmicrohttpd's single-thread epoll loop (0.9.75), given 256 requests ready at once,
 * answered none of them within 10 s (it waits for its next timeout, up to 60 s), and a pool of
 * two epoll threads once answered 129 of 256 new connections in 30 s; the daemon polls with
 * poll() in both cases. The daemon stops (SIGSTOP) while the 256 requests arrive, so that all
 * are ready when it wakes. */
START_TEST(test_http_threads_answer_256_ready_connections) {
    const char *extra[] = {"--http-threads", _i == 0 ? "1" : "2", NULL};
    start(extra);
    enum { CONNS = 256 };
    int fds[CONNS];
    for (int i = 0; i < CONNS; i++) fds[i] = connect_daemon();
    send_healthz(fds, CONNS);
    ck_assert_int_eq(count_answers(fds, CONNS, 30000), CONNS);
    ck_assert_int_eq(kill(proc.pid, SIGSTOP), 0);
    send_healthz(fds, CONNS);
    usleep(200 * 1000);
    ck_assert_int_eq(kill(proc.pid, SIGCONT), 0);
    ck_assert_int_eq(count_answers(fds, CONNS, 10000), CONNS);
    for (int i = 0; i < CONNS; i++) close(fds[i]);
}
END_TEST

/* At --max-connections further clients wait in the listen backlog, neither closed nor answered,
 * and are served as connections close: with one HTTP thread (_i 0; the daemon's own acceptor) and
 * two (_i 1; libmicrohttpd's). */
START_TEST(test_clients_past_the_connection_limit_wait_their_turn) {
    const char *extra[] = {"--max-connections", "8", "--http-threads", _i == 0 ? "1" : "2", NULL};
    start(extra);
    enum { CONNS = 12 };
    int fds[CONNS];
    for (int i = 0; i < CONNS; i++) fds[i] = connect_daemon();
    send_healthz(fds, CONNS);
    ck_assert_int_eq(count_answers(fds, 8, 10000), 8);
    ck_assert_int_eq(count_answers(fds + 8, 4, 500), 0);   /* fails if one of them was closed */
    for (int i = 0; i < 4; i++) close(fds[i]);
    ck_assert_int_eq(count_answers(fds + 8, 4, 10000), 4);
    for (int i = 4; i < CONNS; i++) close(fds[i]);
}
END_TEST

/* Past --max-connections-per-client a client's further connections are closed unanswered, and
 * one closing makes room for the next: with one HTTP thread (_i 0) and two (_i 1). */
START_TEST(test_connections_past_the_per_client_limit_are_closed) {
    const char *extra[] = {"--max-connections-per-client", "2", "--http-threads", _i == 0 ? "1" : "2", NULL};
    start(extra);
    int fds[2] = {connect_daemon(), connect_daemon()};
    send_healthz(fds, 2);
    ck_assert_int_eq(count_answers(fds, 2, 10000), 2);
    int third = connect_daemon();
    send_healthz(&third, 1);
    struct pollfd p = {third, POLLIN, 0};
    ck_assert_int_eq(poll(&p, 1, 10000), 1);
    char c;
    ck_assert_int_le((int)recv(third, &c, 1, 0), 0);   /* closed (0) or reset (-1), never an answer */
    close(third);
    close(fds[0]);
    /* the daemon sees the close on its next pass over the connections */
    int answered = 0;
    for (long long deadline = support_now_ms() + 10000; !answered && support_now_ms() < deadline;) {
        int fd = connect_daemon();
        send_healthz(&fd, 1);
        p = (struct pollfd){fd, POLLIN, 0};
        if (poll(&p, 1, 10000) == 1 && recv(fd, &c, 1, MSG_PEEK) > 0) {
            ck_assert_int_eq(count_answers(&fd, 1, 10000), 1);
            answered = 1;
        }
        close(fd);
        if (!answered) usleep(50 * 1000);
    }
    ck_assert_msg(answered, "no connection was served after one of the two closed");
    close(fds[1]);
}
END_TEST

/* ---- metrics ------------------------------------------------------------------------------ */

/* Check one exposition: comments are HELP/TYPE, every sample is name{labels} value with a
 * declared family, and no label holds a raw id. Returns the number of samples. */
static int parse_exposition(const char *text) {
    char families[64][80];
    int nfam = 0, samples = 0;
    const char *p = text;
    while (*p) {
        const char *eol = strchr(p, '\n');
        ck_assert_msg(eol != NULL, "the exposition does not end with a newline");
        char line[1024];
        size_t n = (size_t)(eol - p);
        ck_assert(n < sizeof line);
        memcpy(line, p, n);
        line[n] = 0;
        p = eol + 1;
        if (line[0] == '#') {
            char kind[8], name[80], type[16];
            ck_assert_msg(sscanf(line, "# %7s %79s", kind, name) == 2, "bad comment: %s", line);
            ck_assert_msg(strcmp(kind, "HELP") == 0 || strcmp(kind, "TYPE") == 0, "bad comment: %s", line);
            if (strcmp(kind, "TYPE") == 0) {
                ck_assert(sscanf(line, "# TYPE %*s %15s", type) == 1);
                ck_assert_msg(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 || strcmp(type, "histogram") == 0,
                              "bad type: %s", line);
                ck_assert(nfam < 64);
                snprintf(families[nfam++], sizeof families[0], "%s", name);
            }
            continue;
        }
        /* name */
        size_t i = 0;
        ck_assert_msg((line[0] >= 'a' && line[0] <= 'z') || line[0] == '_', "bad sample: %s", line);
        while (line[i] && (line[i] == '_' || line[i] == ':' || (line[i] >= 'a' && line[i] <= 'z') ||
                           (line[i] >= 'A' && line[i] <= 'Z') || (line[i] >= '0' && line[i] <= '9'))) i++;
        char name[80];
        ck_assert(i < sizeof name);
        memcpy(name, line, i);
        name[i] = 0;
        int declared = 0;
        for (int f = 0; f < nfam && !declared; f++) {
            size_t fl = strlen(families[f]);
            if (strncmp(name, families[f], fl) == 0 &&
                (name[fl] == 0 || strcmp(name + fl, "_bucket") == 0 || strcmp(name + fl, "_sum") == 0 ||
                 strcmp(name + fl, "_count") == 0))
                declared = 1;
        }
        ck_assert_msg(declared, "sample without a TYPE: %s", line);
        /* labels: k="v" pairs */
        if (line[i] == '{') {
            i++;
            while (line[i] != '}') {
                while (line[i] == '_' || (line[i] >= 'a' && line[i] <= 'z')) i++;
                ck_assert_msg(line[i] == '=' && line[i + 1] == '"', "bad label: %s", line);
                i += 2;
                while (line[i] && line[i] != '"') i += line[i] == '\\' ? 2 : 1;
                ck_assert_msg(line[i] == '"', "unterminated label: %s", line);
                i++;
                if (line[i] == ',') i++;
                else ck_assert_msg(line[i] == '}', "bad label list: %s", line);
            }
            i++;
        }
        ck_assert_msg(line[i] == ' ', "no value: %s", line);
        char *end;
        strtod(line + i + 1, &end);
        ck_assert_msg(end != line + i + 1 && *end == 0, "bad value: %s", line);
        samples++;
    }
    return samples;
}

static double sample(const char *text, const char *series) {
    size_t n = strlen(series);
    for (const char *p = text; (p = strstr(p, series)); p += n)
        if ((p == text || p[-1] == '\n') && p[n] == ' ') return strtod(p + n + 1, NULL);
    return -1;
}

static char *scrape(void) {
    http_resp r;
    ck_assert_int_eq(req("GET", "/metrics", NULL, NULL, &r), 200);
    char ct[96];
    ck_assert_int_eq(http_header(&r, "Content-Type", ct, sizeof ct), 0);
    ck_assert_int_eq(strncmp(ct, "text/plain; version=0.0.4", 25), 0);
    char *body = strdup(r.body);
    http_resp_free(&r);
    ck_assert_int_gt(parse_exposition(body), 10);
    return body;
}

START_TEST(test_metrics_parse_and_counters_move) {
    start(NULL);
    char *before = scrape();
    ck_assert_ptr_nonnull(strstr(before, "oigd_build_info{version=\""));
    ck_assert_double_eq(sample(before, "oigd_jobs{status=\"succeeded\"}"), 0);
    ck_assert_double_gt(sample(before, "oigd_database_size_bytes"), 0);
    ck_assert_double_eq(sample(before, "oigd_training_iterations_total"), 0);

    ck_assert_int_eq(status_of("GET", "/v1/jobs/job_nope1", NULL, NULL), 404);
    ck_assert_int_eq(status_of("GET", "/v1/jobs/job_nope2", NULL, NULL), 404);
    ck_assert_int_eq(status_of("GET", "/v1/not-a-route", NULL, NULL), 404);
    char *ds = upload(NULL, 30, 3, 201);
    char *job = make_job(NULL, ds, ",\"max_iterations\":25,\"seed\":2", 202, NULL);
    wait_status(NULL, job, "succeeded");

    char *after = scrape();
    ck_assert_double_eq(sample(after, "oigd_http_requests_total{route=\"/v1/jobs/{id}\",method=\"GET\",status=\"404\"}"), 2);
    ck_assert_double_eq(sample(after, "oigd_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}"), 1);
    ck_assert_double_eq(sample(after, "oigd_http_requests_total{route=\"/v1/datasets\",method=\"POST\",status=\"201\"}"), 1);
    ck_assert_double_eq(sample(after, "oigd_http_requests_total{route=\"/v1/jobs\",method=\"POST\",status=\"202\"}"), 1);
    ck_assert_double_ge(sample(after, "oigd_http_requests_total{route=\"/metrics\",method=\"GET\",status=\"200\"}"), 1);
    /* raw paths never become labels */
    ck_assert_ptr_null(strstr(after, "job_nope"));
    ck_assert_ptr_null(strstr(after, "not-a-route"));
    ck_assert_ptr_null(strstr(after, ds));
    /* the histogram of a route: cumulative buckets, +Inf equal to the count */
    double prev = 0, c = sample(after, "oigd_http_request_duration_seconds_count{route=\"/v1/jobs/{id}\"}");
    ck_assert_double_ge(c, 3);
    static const char *const les[] = {"0.0005", "0.001", "0.01", "0.1", "1", "10", "+Inf"};
    for (size_t i = 0; i < sizeof les / sizeof les[0]; i++) {
        char series[160];
        snprintf(series, sizeof series, "oigd_http_request_duration_seconds_bucket{route=\"/v1/jobs/{id}\",le=\"%s\"}", les[i]);
        double v = sample(after, series);
        ck_assert_msg(v >= prev, "%s is not cumulative", series);
        prev = v;
    }
    ck_assert_double_eq(prev, c);
    ck_assert_double_eq(sample(after, "oigd_jobs{status=\"succeeded\"}"), 1);
    ck_assert_double_eq(sample(after, "oigd_queue_depth"), 0);
    ck_assert_double_ge(sample(after, "oigd_training_iterations_total"), 25);
    ck_assert_double_gt(sample(after, "oigd_database_size_bytes"), sample(before, "oigd_database_size_bytes") - 1);
    free(before);
    free(after);
    free(ds);
    free(job);
}
END_TEST

/* A deleted dataset's pages go back to the file system from the daemon's tick, a slice at a
 * time: /metrics' free bytes return to 0 and the database's size drops by the dataset, the log
 * says how much, and the dataset stored after it (whose pages moved) still trains. */
START_TEST(test_a_deleted_dataset_gives_its_disk_space_back) {
    start(NULL);
    char *big = upload(NULL, 60000, 9, 201);   /* 4.3 MB of payload: more than one slice */
    char *small = upload(NULL, 40, 3, 201);
    char *m = scrape();
    double size0 = sample(m, "oigd_database_size_bytes");
    ck_assert_double_eq(sample(m, "oigd_database_free_bytes"), 0);
    free(m);
    char path[128];
    snprintf(path, sizeof path, "/v1/datasets/%s", big);
    ck_assert_int_eq(status_of("DELETE", path, NULL, NULL), 204);
    double size = size0, free_bytes = -1;
    long long deadline = support_now_ms() + 20000;
    while (support_now_ms() < deadline) {
        m = scrape();
        size = sample(m, "oigd_database_size_bytes");
        free_bytes = sample(m, "oigd_database_free_bytes");
        free(m);
        if (free_bytes == 0 && size < size0 - 4e6) break;
        usleep(100000);
    }
    ck_assert_msg(free_bytes == 0 && size < size0 - 4e6, "size %.0f -> %.0f, %.0f bytes still free", size0, size,
                  free_bytes);
    long long logged = support_now_ms() + 5000;
    while (strstr(oigd_log(&proc), "MiB of free database pages back") == NULL && support_now_ms() < logged)
        usleep(50000);
    ck_assert_ptr_nonnull(strstr(oigd_log(&proc), "oigd: gave 4.1 MiB of free database pages back to the file system"));
    char *job = make_job(NULL, small, ",\"max_iterations\":3", 202, NULL);
    wait_status(NULL, job, "succeeded");
    free(job);
    free(big);
    free(small);
}
END_TEST

/* ---- long requests run off the HTTP thread ------------------------------------------------ */

/* An upload of rows x cols sent whole on a socket of its own: the socket, its reply unread. The
 * CSV is tens of megabytes, which the daemon parses and stores for most of a second. */
static int send_upload(int rows, int cols) {
    char *csv = small_csv(rows, cols);
    size_t len = strlen(csv);
    char head[256];
    int n = snprintf(head, sizeof head, "POST /v1/datasets HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n", len);
    int fd = connect_daemon();
    ck_assert_int_eq((int)send(fd, head, (size_t)n, MSG_NOSIGNAL), n);
    for (size_t off = 0; off < len;) {
        ssize_t k = send(fd, csv + off, len - off, MSG_NOSIGNAL);
        ck_assert_int_gt((int)k, 0);
        off += (size_t)k;
    }
    free(csv);
    usleep(200000);   /* the daemon reads the last bytes and starts on the body */
    return fd;
}

/* The status of the reply on fd (waiting up to 60 s for it), 0 when the connection closed first. */
static int reply_status(int fd) {
    char buf[64] = "";
    size_t got = 0;
    while (got < 12) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 60000) != 1) return 0;
        ssize_t k = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (k <= 0) return 0;
        got += (size_t)k;
    }
    buf[got] = 0;
    return strncmp(buf, "HTTP/1.1 ", 9) == 0 ? atoi(buf + 9) : 0;
}

START_TEST(test_health_checks_answer_while_an_upload_is_parsed) {
    const char *extra[] = {"--http-threads", "1", "--max-body", "200000000", "--max-rows", "2000000", NULL};
    start(extra);
    int fd = send_upload(800000, 10);
    http_resp r;
    long long t0 = support_now_ms();
    ck_assert_int_eq(req("GET", "/healthz", NULL, NULL, &r), 200);
    long long waited = support_now_ms() - t0;
    http_resp_free(&r);
    /* the upload has not been answered yet: the one HTTP thread answered the health check while
     * another thread parsed the body */
    char *m = scrape();
    double running = sample(m, "oigd_long_requests{state=\"running\"}");
    double waiting = sample(m, "oigd_long_requests{state=\"waiting\"}");
    free(m);
    struct pollfd p = {fd, POLLIN, 0};
    ck_assert_msg(poll(&p, 1, 0) == 0, "the upload was answered before the health check (which took %lld ms)",
                  waited);
    ck_assert_double_eq(running, 1);   /* /metrics, too, answered while the upload ran */
    ck_assert_double_eq(waiting, 0);
    ck_assert_int_eq(reply_status(fd), 201);
    close(fd);
    ck_assert_int_eq(list_count("/v1/datasets", NULL), 1);
}
END_TEST

/* Long requests get as many threads as the HTTP threads, and at least two. */
START_TEST(test_long_request_threads_follow_the_http_threads) {
    const char *one[] = {"--http-threads", "1", NULL};
    start(one);
    ck_assert_int_eq(threads_where("oigd-long", -1, 0), 2);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 30000), 0);
    const char *three[] = {"--http-threads", "3", NULL};
    start(three);
    ck_assert_int_eq(threads_where("oigd-long", -1, 0), 3);
}
END_TEST

START_TEST(test_shutdown_finishes_an_upload_being_parsed) {
    const char *extra[] = {"--max-body", "200000000", "--max-rows", "2000000", NULL};
    start(extra);
    int fd = send_upload(800000, 10);
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 60000), 0);
    int status = reply_status(fd);
    close(fd);
    ck_assert_msg(status == 201 || status == 0, "the upload was answered %d", status);
    ck_assert_ptr_nonnull(strstr(oigd_log(&proc), "oigd: stopped"));
    start(NULL);
    http_resp r;
    ck_assert_int_eq(req("GET", "/v1/datasets", NULL, NULL, &r), 200);
    cJSON *j = cJSON_Parse(r.body);
    http_resp_free(&r);
    cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
    ck_assert_int_eq(cJSON_GetArraySize(items), 1);
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, 0), "rows")->valueint, 800000);
    cJSON_Delete(j);
}
END_TEST

/* A job's field as JSON (NULL when absent); the caller frees it. */
static cJSON *job_field(const char *id, const char *field) {
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    http_resp r;
    ck_assert_int_eq(req("GET", path, NULL, NULL, &r), 200);
    cJSON *j = cJSON_Parse(r.body);
    http_resp_free(&r);
    cJSON *v = cJSON_DetachItemFromObjectCaseSensitive(j, field);
    cJSON_Delete(j);
    return v;
}

static int job_iteration(const char *id) {
    cJSON *v = job_field(id, "iteration");
    int it = cJSON_IsNumber(v) ? v->valueint : -1;
    cJSON_Delete(v);
    return it;
}

/* `oigd backup` copies the database while a job trains, and the job trains on. A daemon started
 * on the copy (the restore) has the dataset, the finished job and its model, and requeues the
 * job that was running when the copy was taken. */
START_TEST(test_backup_while_a_job_trains_restores_into_a_working_daemon) {
    start(NULL);
    char *ds = upload(NULL, 400, 4, 201);
    char *done = make_job(NULL, ds, ",\"max_iterations\":5", 202, NULL);
    wait_status(NULL, done, "succeeded");
    cJSON *model = job_field(done, "model_id");
    ck_assert(cJSON_IsString(model));
    char *job = make_job(NULL, ds, ",\"max_iterations\":100000000,\"max_seconds\":60", 202, NULL);
    long long deadline = support_now_ms() + 30000;
    while (job_iteration(job) < 1 && support_now_ms() < deadline) usleep(20000);
    ck_assert_int_ge(job_iteration(job), 1);

    char out[400], cmd[1400], line[512] = "";
    snprintf(out, sizeof out, "%s/backup.db", tdir);
    snprintf(cmd, sizeof cmd, "'%s' backup --db '%s' '%s' 2>&1", getenv("OIGD_BIN"), dbpath, out);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, p));
    ck_assert_msg(pclose(p) == 0, "oigd backup failed: %s", line);
    ck_assert_msg(strstr(line, "1 dataset, 2 jobs, 1 model; the copy passed its check") != NULL, "%s", line);
    int it = job_iteration(job);
    deadline = support_now_ms() + 10000;
    while (job_iteration(job) <= it && support_now_ms() < deadline) usleep(20000);
    ck_assert_int_gt(job_iteration(job), it);   /* the job trained on */
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 30000), 0);

    ck_assert_msg(oigd_start(tdir, out, NULL, &proc) == 0, "no daemon on the copy (log %s)", proc.log);
    ck_assert_ptr_nonnull(strstr(oigd_log(&proc), "1 interrupted job requeued"));
    char path[160];
    snprintf(path, sizeof path, "/v1/datasets/%s", ds);
    ck_assert_int_eq(status_of("GET", path, NULL, NULL), 200);
    snprintf(path, sizeof path, "/v1/models/%s", model->valuestring);
    ck_assert_int_eq(status_of("GET", path, NULL, NULL), 200);
    wait_status(NULL, done, "succeeded");
    snprintf(path, sizeof path, "/v1/jobs/%s/cancel", job);
    ck_assert_int_eq(status_of("POST", path, NULL, NULL), 202);
    wait_status(NULL, job, "cancelled");
    cJSON_Delete(model);
    free(ds);
    free(done);
    free(job);
}
END_TEST

START_TEST(test_openapi_and_dashboard_are_served_as_embedded) {
    start(NULL);
    http_resp r;
    ck_assert_int_eq(req("GET", "/openapi.json", NULL, NULL, &r), 200);
    ck_assert_uint_eq(r.len, oigd_openapi_json_len);
    ck_assert_int_eq(memcmp(r.body, oigd_openapi_json, r.len), 0);
    http_resp_free(&r);
    ck_assert_int_eq(req("GET", "/", NULL, NULL, &r), 200);
    char ct[96], csp[512];
    ck_assert_int_eq(http_header(&r, "Content-Type", ct, sizeof ct), 0);
    ck_assert_int_eq(strncmp(ct, "text/html", 9), 0);
    ck_assert_int_eq(http_header(&r, "Content-Security-Policy", csp, sizeof csp), 0);
    ck_assert_ptr_nonnull(strstr(csp, "default-src 'none'"));
    ck_assert_ptr_nonnull(strstr(r.body, "<svg id=\"curve\""));
    /* nothing is loaded from elsewhere */
    ck_assert_ptr_null(strstr(r.body, "src=\"http"));
    ck_assert_ptr_null(strstr(r.body, "href=\"http"));
    ck_assert_ptr_null(strstr(r.body, "url(http"));
    ck_assert_ptr_null(strstr(r.body, "@import"));
    http_resp_free(&r);
}
END_TEST

/* ---- documentation ------------------------------------------------------------------------ */

/* Every flag `oigd serve --help` lists has a row in the README's configuration table that names
 * its environment variable. */
START_TEST(test_every_serve_flag_is_in_the_readme_table) {
    char readme[512];
    snprintf(readme, sizeof readme, "%s", __FILE__);
    char *slash = strrchr(readme, '/');
    ck_assert_ptr_nonnull(slash);
    *slash = 0;
    slash = strrchr(readme, '/');
    ck_assert_ptr_nonnull(slash);
    snprintf(slash, sizeof readme - (size_t)(slash - readme), "/README.md");
    FILE *f = fopen(readme, "r");
    ck_assert_msg(f != NULL, "cannot read %s", readme);
    static char text[1 << 17];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    const char *table = strstr(text, "## Configuration");
    ck_assert_ptr_nonnull(table);

    char cmd[600];
    snprintf(cmd, sizeof cmd, "'%s' serve --help", getenv("OIGD_BIN"));
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    static char help[16384];
    size_t hn = fread(help, 1, sizeof help - 1, p);
    pclose(p);
    help[hn] = 0;
    int flags = 0;
    for (const char *l = help; (l = strstr(l, "\n  --")); l++) {
        char flag[64], env[64];
        ck_assert(sscanf(l + 5, "%63[a-z-]", flag) == 1);
        /* the variable is on the flag's line or the continuation line below it */
        const char *eol = strchr(l + 1, '\n');
        const char *e = strstr(l, "(OIGD_");
        const char *eol2 = eol ? strchr(eol + 1, '\n') : NULL;
        ck_assert_msg(e && (!eol2 || e < eol2), "--%s: no environment variable in the usage", flag);
        ck_assert(sscanf(e + 1, "%63[A-Z_]", env) == 1);
        char row[200];
        snprintf(row, sizeof row, "| `--%s", flag);
        const char *r = strstr(table, row);
        ck_assert_msg(r != NULL, "--%s has no row in the README's configuration table", flag);
        const char *reol = strchr(r, '\n');
        char want[80];
        snprintf(want, sizeof want, "`%s`", env);
        const char *v = strstr(r, want);
        ck_assert_msg(v != NULL && (!reol || v < reol), "the README row of --%s does not name %s", flag, env);
        flags++;
    }
    ck_assert_int_ge(flags, 15);
}
END_TEST

/* ---- job directories left by a dead daemon --------------------------------------------------- */

/* dir/name as a job directory with an owner file of owner (NULL: none) and a data file. */
static void job_dir(const char *dir, const char *name, const char *owner) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    const char *files[2] = {"data.csv", owner ? "owner" : NULL};
    const char *text[2] = {"x,y\n1,2\n", owner};
    for (int k = 0; k < 2 && files[k]; k++) {
        char f[700];
        snprintf(f, sizeof f, "%s/%s", path, files[k]);
        FILE *fp = fopen(f, "w");
        ck_assert_ptr_nonnull(fp);
        fputs(text[k], fp);
        fclose(fp);
    }
}

static int exists(const char *dir, const char *name) {
    char path[600];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &sb) == 0;
}

/* A daemon killed during a distributed job leaves its job directory (the dataset as CSV): the
 * next start removes it, and only it: not a live process's, not one without an owner, not one
 * of another host or pid namespace. */
START_TEST(test_start_removes_job_directories_of_dead_daemons) {
    char tmp[300], host[256] = "", ns[64] = "", line[400];
    snprintf(tmp, sizeof tmp, "%s/tmp", tdir);
    ck_assert_int_eq(mkdir(tmp, 0700), 0);
    ck_assert_int_eq(gethostname(host, sizeof host), 0);
    ssize_t nl = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);   /* the daemon's too */
    ns[nl > 0 ? nl : 0] = 0;                /* empty where /proc does not show it, as for the daemon */
    pid_t dead = fork();                    /* a pid that no longer runs */
    ck_assert_int_ge(dead, 0);
    if (dead == 0) _exit(0);
    ck_assert_int_eq(waitpid(dead, NULL, 0), dead);
    snprintf(line, sizeof line, "%d %s %s\n", (int)dead, host, ns);
    job_dir(tmp, "oigd-job-dead01", line);
    snprintf(line, sizeof line, "%d %s %s\n", (int)getpid(), host, ns);
    job_dir(tmp, "oigd-job-live01", line);
    job_dir(tmp, "oigd-job-noowner", NULL);
    snprintf(line, sizeof line, "%d %s-elsewhere %s\n", (int)dead, host, ns);
    job_dir(tmp, "oigd-job-other01", line);
    snprintf(line, sizeof line, "%d %s pid:[1]\n", (int)dead, host);
    job_dir(tmp, "oigd-job-otherns", line);

    const char *old = getenv("TMPDIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("TMPDIR", tmp, 1);
    start(NULL);
    if (saved) setenv("TMPDIR", saved, 1);
    else unsetenv("TMPDIR");
    free(saved);
    ck_assert(!exists(tmp, "oigd-job-dead01"));
    ck_assert(exists(tmp, "oigd-job-live01"));
    ck_assert(exists(tmp, "oigd-job-noowner"));
    ck_assert(exists(tmp, "oigd-job-other01"));
    ck_assert(exists(tmp, "oigd-job-otherns"));
    ck_assert_msg(strstr(read_log(), "removed 1 job directory") != NULL, "%s", read_log());
    ck_assert_int_eq(oigd_stop(&proc, SIGTERM, 10000), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("api_ops");
    TCase *auth = tcase_create("auth");
    tcase_add_checked_fixture(auth, setup, teardown);
    tcase_add_test(auth, test_key_create_appends_a_hash_not_the_key);
    tcase_add_test(auth, test_key_file_errors_refuse_to_start);
    tcase_add_test(auth, test_v1_needs_the_right_key_and_probes_stay_open);
    suite_add_tcase(s, auth);
    TCase *limits = tcase_create("limits");
    tcase_add_checked_fixture(limits, setup, teardown);
    tcase_add_test(limits, test_each_limit_answers_its_status_and_changes_nothing);
    tcase_add_test(limits, test_limit_flags_reject_bad_values);
    tcase_add_test(limits, test_training_threads_yield_to_requests);
    tcase_add_test(limits, test_idle_training_threads_and_the_start_line);
    tcase_add_test(limits, test_jobs_train_on_several_threads);
    tcase_add_loop_test(limits, test_http_threads_answer_256_ready_connections, 0, 2);
    tcase_add_loop_test(limits, test_clients_past_the_connection_limit_wait_their_turn, 0, 2);
    tcase_add_loop_test(limits, test_connections_past_the_per_client_limit_are_closed, 0, 2);
    tcase_add_test(limits, test_requests_are_logged_in_batches_one_line_each);
    suite_add_tcase(s, limits);
    TCase *metrics = tcase_create("metrics");
    tcase_add_checked_fixture(metrics, setup, teardown);
    tcase_add_test(metrics, test_metrics_parse_and_counters_move);
    tcase_add_test(metrics, test_openapi_and_dashboard_are_served_as_embedded);
    tcase_add_test(metrics, test_a_deleted_dataset_gives_its_disk_space_back);
    tcase_add_test(metrics, test_backup_while_a_job_trains_restores_into_a_working_daemon);
    tcase_add_test(metrics, test_every_serve_flag_is_in_the_readme_table);
    tcase_add_test(metrics, test_health_checks_answer_while_an_upload_is_parsed);
    tcase_add_test(metrics, test_shutdown_finishes_an_upload_being_parsed);
    tcase_add_test(metrics, test_long_request_threads_follow_the_http_threads);
    suite_add_tcase(s, metrics);
    TCase *cleanup = tcase_create("cleanup");
    tcase_add_checked_fixture(cleanup, setup, teardown);
    tcase_add_test(cleanup, test_start_removes_job_directories_of_dead_daemons);
    suite_add_tcase(s, cleanup);
    return suite_run(s, CK_FORK_GETENV);
}

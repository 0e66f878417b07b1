/* crash_test.c -- kill -9 at random moments: ROUNDS times start (or restart) `oigd serve` on one
 * database, upload a dataset and queue two jobs while a timer SIGKILLs the daemon, then restart
 * it and check PRAGMA integrity_check, that every acknowledged (2xx) dataset, job and model is
 * there, that every job finishes, and that each job's metrics run 0..iteration without a gap or a
 * duplicate. Prints one line per round and a summary; exit 0 only when every round passed.
 * Usage: crash_test [ROUNDS] [SEED]   (OIGD_BIN = the oigd binary; TMPDIR for the database;
 * CRASH_ITERATIONS = the first job's iterations, default 12000: a few seconds of training) */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "history.h"
#include "support_http.h"

#define MAXACK 256

static char dir[256], db[320];
static oigd_proc proc;
static char *datasets[MAXACK], *jobs[MAXACK];
static int ndatasets, njobs, failures;

static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    failures++;
}

/* A request; returns the parsed body (NULL when there is none) and the status in *status
 * (0 when the daemon did not answer). */
static cJSON *req(const char *method, const char *path, const char *ctype, const char *body, int *status) {
    char hdr[128] = "";
    if (ctype) snprintf(hdr, sizeof hdr, "Content-Type: %s\r\n", ctype);
    http_resp r;
    *status = 0;
    if (http_request(proc.port, method, path, hdr, body, body ? strlen(body) : 0, 30000, &r) != 0) return NULL;
    *status = r.status;
    cJSON *j = cJSON_Parse(r.body);
    http_resp_free(&r);
    return j;
}

static char *id_of(cJSON *j) {
    cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
    return cJSON_IsString(id) ? strdup(id->valuestring) : NULL;
}

static char *dataset_csv(unsigned seed) {
    size_t cap = 600 * 100 + 64, n = 0;
    char *b = malloc(cap);
    n += (size_t)snprintf(b, cap, "a,b,c,d,y\n");
    for (int i = 0; i < 600; i++) {
        double v[4];
        for (int k = 0; k < 4; k++) { seed = seed * 1103515245u + 12345u; v[k] = ((seed >> 8) % 20001) / 10000.0 - 1.0; }
        n += (size_t)snprintf(b + n, cap - n, "%.6f,%.6f,%.6f,%.6f,%.6f\n", v[0], v[1], v[2], v[3],
                              sin(2 * v[0]) + v[1] * v[2] - 0.5 * v[3] * v[3]);
    }
    return b;
}

static int integrity_ok(void) {
    sqlite3 *h;
    int ok = 0;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_busy_timeout(h, 10000);
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK) {
            ok = sqlite3_step(s) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(s, 0), "ok") == 0;
            sqlite3_finalize(s);
        }
    }
    sqlite3_close(h);
    return ok;
}

/* The rows a finished run's history holds: the iterations history_keeps up to last, and last. */
static long history_rows(long last) {
    long n = 0;
    for (long it = 0; it <= last; it = history_next(it)) n++;
    return n + !history_keeps(last);
}

/* Metrics of job id, last = the job's iteration: the iterations history.h keeps, each once, and
 * last; the same through the API, page by page. */
static int metrics_continuous(const char *id, int last) {
    sqlite3 *h;
    int ok = 0;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) return 0;
    sqlite3_busy_timeout(h, 10000);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(h, "SELECT count(*), count(DISTINCT iteration), min(iteration), max(iteration) "
                              "FROM metrics WHERE job_id = ?", -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW) {
            int n = sqlite3_column_int(s, 0), nd = sqlite3_column_int(s, 1);
            int lo = sqlite3_column_int(s, 2), hi = sqlite3_column_int(s, 3);
            ok = n == nd && lo == 0 && hi == last && n == history_rows(last);
            if (!ok) fprintf(stderr, "  metrics of %s: %d rows, %d distinct, %d..%d, job at %d\n", id, n, nd, lo, hi, last);
        }
        sqlite3_finalize(s);
    }
    sqlite3_close(h);
    /* the same through the API, page by page */
    long next = -1, want = 0;
    int pages = 0;
    for (;;) {
        char path[160];
        snprintf(path, sizeof path, "/v1/jobs/%s/metrics?after=%ld&limit=50", id, next);
        int st;
        cJSON *j = req("GET", path, NULL, NULL, &st);
        cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "metrics");
        if (st != 200 || !cJSON_IsArray(items)) { cJSON_Delete(j); return 0; }
        int n = 0;
        const cJSON *m;
        cJSON_ArrayForEach(m, items) {
            cJSON *it = cJSON_GetObjectItemCaseSensitive(m, "iteration");
            if (!cJSON_IsNumber(it) || (it->valueint != want && it->valueint != last)) { cJSON_Delete(j); return 0; }
            next = it->valueint;
            if (next == want) want = history_next(want);
            n++;
        }
        cJSON_Delete(j);
        if (n == 0 || ++pages > 100000) break;
    }
    return ok && next == last;
}

static void *killer(void *arg) {
    usleep((useconds_t)(*(int *)arg) * 1000);
    kill(proc.pid, SIGKILL);
    return NULL;
}

static int start(void) {
    const char *extra[] = {"--workers", "2", "--blas-threads", "1", "--checkpoint-seconds", "0.25", NULL};
    if (oigd_start(dir, db, extra, &proc) != 0) { fail("oigd serve did not start (log %s)", proc.log); return -1; }
    return 0;
}

/* The daemon's start-up line "..., N interrupted job(s) requeued" (0 without one). */
static int requeued_at_start(void) {
    FILE *f = fopen(proc.log, "r");
    char line[1024];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *p = strstr(line, " interrupted job");
        if (!p) continue;
        while (p > line && p[-1] >= '0' && p[-1] <= '9') p--;
        n = atoi(p);
    }
    if (f) fclose(f);
    return n;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 20;
    unsigned seed = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : (unsigned)time(NULL);
    srand(seed);
    int iterations = getenv("CRASH_ITERATIONS") ? atoi(getenv("CRASH_ITERATIONS")) : 12000;
    if (!getenv("OIGD_BIN")) { fprintf(stderr, "set OIGD_BIN\n"); return 2; }
    snprintf(dir, sizeof dir, "%s/oigd-crash-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return 2;
    snprintf(db, sizeof db, "%s/oigd.db", dir);
    printf("crash test: %d rounds, seed %u, database %s\n", rounds, seed, db);
    if (start() != 0) return 1;
    long long t0 = support_now_ms();
    int survived = 0, interrupted_total = 0, models = 0;
    for (int r = 1; r <= rounds && failures == 0; r++) {
        /* one kill in five lands within the first 80 ms (during the upload and job requests),
         * the others while the jobs train */
        int delay = rand() % 5 == 0 ? rand() % 80 : 100 + rand() % 3000;
        pthread_t th;
        pthread_create(&th, NULL, killer, &delay);
        int st, acked = 0;
        char *csv = dataset_csv((unsigned)rand());
        cJSON *j = req("POST", "/v1/datasets?name=crash", "text/csv", csv, &st);
        free(csv);
        char *ds = st == 201 ? id_of(j) : NULL;
        cJSON_Delete(j);
        if (ds) { datasets[ndatasets++] = ds; acked++; }
        for (int k = 0; ds && k < 2; k++) {
            char body[256];
            snprintf(body, sizeof body, "{\"dataset_id\":\"%s\",\"algorithm\":\"%s\",\"hidden_units\":8,"
                     "\"max_iterations\":%d,\"seed\":%d,\"validation_fraction\":0.2}", ds,
                     k ? "oig-bp" : "oig-hwo", iterations + iterations / 4 * k, r * 10 + k);
            j = req("POST", "/v1/jobs", "application/json", body, &st);
            char *id = st == 202 ? id_of(j) : NULL;
            cJSON_Delete(j);
            if (id) { jobs[njobs++] = id; acked++; }
        }
        pthread_join(th, NULL);
        oigd_stop(&proc, SIGKILL, 5000);     /* reap the killed daemon */
        if (!integrity_ok()) fail("round %d: integrity_check after the kill", r);
        if (start() != 0) break;
        int requeued = requeued_at_start();
        /* everything acknowledged is there, and every job finishes with a model */
        for (int i = 0; i < ndatasets; i++) {
            char path[128];
            snprintf(path, sizeof path, "/v1/datasets/%s", datasets[i]);
            cJSON_Delete(req("GET", path, NULL, NULL, &st));
            if (st != 200) fail("round %d: dataset %s: %d", r, datasets[i], st);
        }
        int interrupted = 0;
        models = 0;
        for (int i = 0; i < njobs; i++) {
            char path[128];
            snprintf(path, sizeof path, "/v1/jobs/%s", jobs[i]);
            long long deadline = support_now_ms() + 300000;
            for (;;) {
                j = req("GET", path, NULL, NULL, &st);
                if (st != 200) { fail("round %d: job %s: %d", r, jobs[i], st); cJSON_Delete(j); break; }
                cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "status");
                cJSON *it = cJSON_GetObjectItemCaseSensitive(j, "iteration");
                cJSON *at = cJSON_GetObjectItemCaseSensitive(j, "attempts");
                cJSON *mid = cJSON_GetObjectItemCaseSensitive(j, "model_id");
                const char *sv = cJSON_IsString(s) ? s->valuestring : "?";
                if (strcmp(sv, "queued") && strcmp(sv, "running")) {
                    if (strcmp(sv, "succeeded") != 0) fail("round %d: job %s ended %s", r, jobs[i], sv);
                    else if (!cJSON_IsString(mid)) fail("round %d: job %s has no model", r, jobs[i]);
                    else {
                        char mp[128];
                        snprintf(mp, sizeof mp, "/v1/models/%s", mid->valuestring);
                        int ms;
                        cJSON_Delete(req("GET", mp, NULL, NULL, &ms));
                        if (ms != 200) fail("round %d: model %s of job %s: %d", r, mid->valuestring, jobs[i], ms);
                        else models++;
                        if (!metrics_continuous(jobs[i], cJSON_IsNumber(it) ? it->valueint : -1))
                            fail("round %d: metrics of job %s not continuous", r, jobs[i]);
                    }
                    if (i >= njobs - 2 && cJSON_IsNumber(at) && at->valueint > 1) interrupted++;
                    cJSON_Delete(j);
                    break;
                }
                cJSON_Delete(j);
                if (support_now_ms() > deadline) { fail("round %d: job %s did not finish", r, jobs[i]); break; }
                usleep(100000);
            }
        }
        interrupted_total += interrupted;
        if (!integrity_ok()) fail("round %d: integrity_check after the restart", r);
        if (failures == 0) survived++;
        printf("round %2d: kill after %4d ms, %d acknowledged this round, %d interrupted jobs requeued, "
               "%d resumed at attempt > 1; totals: %d datasets, %d jobs, %d models, all present and finished\n",
               r, delay, acked, requeued, interrupted, ndatasets, njobs, models);
        fflush(stdout);
    }
    oigd_stop(&proc, SIGTERM, 30000);
    printf("crash test: %d of %d rounds survived in %.0f s; %d datasets, %d jobs (%d resumed after a kill), "
           "%d models present; integrity_check ok; metrics continuous; %d failures\n",
           survived, rounds, (support_now_ms() - t0) / 1000.0, ndatasets, njobs, interrupted_total, models, failures);
    if (failures == 0) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    } else {
        fprintf(stderr, "database and logs kept in %s\n", dir);
    }
    return failures ? 1 : 0;
}

/* config.c -- flags and OIGD_* environment variables for `oigd serve`, with defaults that keep
 * workers x threads per job within the machine's cores. Reads only argv and the environment. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "suggest.h"

int config_cores(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

void config_usage(const char *prog) {
    printf("usage: %s serve [options]\n"
           "  --listen HOST:PORT       address to listen on (OIGD_LISTEN, default 127.0.0.1:8080; port 0 = any)\n"
           "  --db PATH                SQLite database (OIGD_DB, default ./oigd.db)\n"
           "  --workers N              training threads (OIGD_WORKERS, default cores/2, at least 1)\n"
           "  --blas-threads N         OpenBLAS threads (OIGD_BLAS_THREADS, default 1)\n"
           "  --train-threads N        threads that train one job together, each on its share of the\n"
           "                           rows (OIGD_TRAIN_THREADS, default 1; needs --blas-threads 1)\n"
           "  --train-nice N           training threads run N nice steps (0-19) below the daemon,\n"
           "                           so that requests are served first (OIGD_TRAIN_NICE, default 10)\n"
           "  --train-sched batch|idle training threads' policy (OIGD_TRAIN_SCHED, default batch): batch\n"
           "                           shares busy cores by nice; idle trains only on cores nothing else\n"
           "                           wants, so requests never wait for it but training can stall\n"
           "  --max-body BYTES         request body limit (OIGD_MAX_BODY, default 67108864)\n"
           "  --http-threads N         HTTP thread pool (OIGD_HTTP_THREADS, default the cores left by\n"
           "                           workers x BLAS threads x training threads, at least 1)\n"
           "  --max-connections N      open HTTP connections (OIGD_MAX_CONNECTIONS, default 512)\n"
           "  --max-connections-per-client N\n"
           "                           connections from one address (OIGD_MAX_CONNECTIONS_PER_CLIENT,\n"
           "                           default 256, at most --max-connections); more are closed\n"
           "                           unanswered\n"
           "  --access-log on|off      a stderr line per request, written in batches at most 0.1 s\n"
           "                           after the request (OIGD_ACCESS_LOG, default on)\n"
           "  --checkpoint-seconds S   checkpoint interval (OIGD_CHECKPOINT_SECONDS, default 2)\n"
           "  --heartbeat-seconds S    event stream heartbeat (OIGD_HEARTBEAT_SECONDS, default 15)\n"
           "  --max-streams N          open event streams in total (OIGD_MAX_STREAMS, default 256)\n"
           "  --max-rows N             rows per dataset (OIGD_MAX_ROWS, default 1000000)\n"
           "  --max-columns N          columns per dataset (OIGD_MAX_COLUMNS, default 1000)\n"
           "  --max-queued-jobs N      queued jobs before 429 (OIGD_MAX_QUEUED_JOBS, default 1000)\n"
           "  --retry-after S          Retry-After of 429/503 answers (OIGD_RETRY_AFTER, default 5)\n"
           "  --api-key-file PATH      require Bearer keys whose SHA-256 hashes PATH lists\n"
           "                           (OIGD_API_KEY_FILE, default none: no authentication)\n"
           "  --mpi-launcher CMD       run jobs created with \"distributed\": true as CMD oigd train ...,\n"
           "                           e.g. 'mpirun -np 4 --hostfile FILE' (OIGD_MPI_LAUNCHER, default\n"
           "                           none; needs a build with -DOIGD_MPI=ON; docs/mpi.md)\n",
           prog);
}

/* A value that is one of two words: *out = 0 for off_word, 1 for on_word; -1 on anything else. */
static int parse_choice(const char *s, const char *off_word, const char *on_word, int *out) {
    if (strcmp(s, off_word) == 0) *out = 0;
    else if (strcmp(s, on_word) == 0) *out = 1;
    else return -1;
    return 0;
}

static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_listen(config *c, const char *s, char *err, size_t errlen) {
    snprintf(c->listen, sizeof c->listen, "%s", s);
    const char *colon;
    char host[64];
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof host) goto bad;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = 0;
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || (size_t)(colon - s) >= sizeof host) goto bad;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = 0;
    }
    long port;
    if (parse_long(colon + 1, 0, 65535, &port) != 0) goto bad;
    unsigned char buf[16];
    if (inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1) goto bad;
    snprintf(c->host, sizeof c->host, "%s", host);
    c->port = (int)port;
    return 0;
bad:
    snprintf(err, errlen, "invalid value '%s' for --listen (want HOST:PORT with a numeric host)", s);
    return -1;
}

/* Every setting: its environment variable and its flag (without the dashes). */
static const struct { const char *env, *name; } envs[] = {
    {"OIGD_LISTEN", "listen"}, {"OIGD_DB", "db"}, {"OIGD_WORKERS", "workers"},
    {"OIGD_BLAS_THREADS", "blas-threads"}, {"OIGD_TRAIN_THREADS", "train-threads"},
    {"OIGD_TRAIN_NICE", "train-nice"},
    {"OIGD_TRAIN_SCHED", "train-sched"}, {"OIGD_MAX_BODY", "max-body"},
    {"OIGD_HTTP_THREADS", "http-threads"}, {"OIGD_MAX_CONNECTIONS", "max-connections"},
    {"OIGD_MAX_CONNECTIONS_PER_CLIENT", "max-connections-per-client"},
    {"OIGD_CHECKPOINT_SECONDS", "checkpoint-seconds"}, {"OIGD_HEARTBEAT_SECONDS", "heartbeat-seconds"},
    {"OIGD_MAX_STREAMS", "max-streams"}, {"OIGD_MAX_ROWS", "max-rows"}, {"OIGD_MAX_COLUMNS", "max-columns"},
    {"OIGD_MAX_QUEUED_JOBS", "max-queued-jobs"}, {"OIGD_RETRY_AFTER", "retry-after"},
    {"OIGD_API_KEY_FILE", "api-key-file"}, {"OIGD_MPI_LAUNCHER", "mpi-launcher"},
    {"OIGD_ACCESS_LOG", "access-log"}};

/* Apply one setting by its flag name (without the dashes). */
static int apply(config *c, const char *name, const char *v, char *err, size_t errlen) {
    long n;
    if (strcmp(name, "listen") == 0) return parse_listen(c, v, err, errlen);
    if (strcmp(name, "db") == 0) {
        if (!*v || strlen(v) >= sizeof c->db) goto bad;
        snprintf(c->db, sizeof c->db, "%s", v);
        return 0;
    }
    if (strcmp(name, "workers") == 0) { if (parse_long(v, 1, 256, &n)) goto bad; c->workers = (int)n; return 0; }
    if (strcmp(name, "blas-threads") == 0) { if (parse_long(v, 1, 256, &n)) goto bad; c->blas_threads = (int)n; return 0; }
    if (strcmp(name, "train-threads") == 0) { if (parse_long(v, 1, 256, &n)) goto bad; c->train_threads = (int)n; return 0; }
    if (strcmp(name, "train-nice") == 0) { if (parse_long(v, 0, 19, &n)) goto bad; c->train_nice = (int)n; return 0; }
    if (strcmp(name, "max-body") == 0) { if (parse_long(v, 1024, 1L << 40, &n)) goto bad; c->max_body = (size_t)n; return 0; }
    if (strcmp(name, "http-threads") == 0) { if (parse_long(v, 1, 256, &n)) goto bad; c->http_threads = (int)n; return 0; }
    if (strcmp(name, "max-connections") == 0) { if (parse_long(v, 4, 100000, &n)) goto bad; c->max_connections = (int)n; return 0; }
    if (strcmp(name, "max-connections-per-client") == 0) { if (parse_long(v, 1, 100000, &n)) goto bad; c->max_connections_per_client = (int)n; return 0; }
    if (strcmp(name, "max-streams") == 0) { if (parse_long(v, 1, 100000, &n)) goto bad; c->max_subscribers = (int)n; return 0; }
    if (strcmp(name, "max-rows") == 0) { if (parse_long(v, 1, 1L << 40, &n)) goto bad; c->max_rows = n; return 0; }
    if (strcmp(name, "max-columns") == 0) { if (parse_long(v, 2, 1L << 30, &n)) goto bad; c->max_columns = n; return 0; }
    if (strcmp(name, "max-queued-jobs") == 0) { if (parse_long(v, 1, 1L << 30, &n)) goto bad; c->max_queued_jobs = (int)n; return 0; }
    if (strcmp(name, "retry-after") == 0) { if (parse_long(v, 1, 86400, &n)) goto bad; c->retry_after = (int)n; return 0; }
    if (strcmp(name, "api-key-file") == 0) {
        if (!*v || strlen(v) >= sizeof c->api_key_file) goto bad;
        snprintf(c->api_key_file, sizeof c->api_key_file, "%s", v);
        return 0;
    }
    if (strcmp(name, "mpi-launcher") == 0) {
        if (strlen(v) >= sizeof c->mpi_launcher) goto bad;
        snprintf(c->mpi_launcher, sizeof c->mpi_launcher, "%s", v);
        return 0;
    }
    if (strcmp(name, "train-sched") == 0) { if (parse_choice(v, "batch", "idle", &c->train_idle)) goto bad; return 0; }
    if (strcmp(name, "access-log") == 0) { if (parse_choice(v, "off", "on", &c->access_log)) goto bad; return 0; }
    if (strcmp(name, "heartbeat-seconds") == 0) { if (parse_long(v, 1, 3600, &n)) goto bad; c->heartbeat_seconds = (int)n; return 0; }
    if (strcmp(name, "checkpoint-seconds") == 0) {
        char *end;
        double d = strtod(v, &end);
        if (end == v || *end || !(d >= 0.05 && d <= 3600)) goto bad;
        c->checkpoint_seconds = d;
        return 0;
    }
    snprintf(err, errlen, "unknown option --%s", name);
    const char *names[sizeof envs / sizeof envs[0]];
    for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) names[i] = envs[i].name;
    suggest_append(err, errlen, name, names, sizeof envs / sizeof envs[0], "--");
    return -1;
bad:
    snprintf(err, errlen, "invalid value '%s' for --%s", v, name);
    return -1;
}

int config_load(config *c, int argc, char **argv, char *err, size_t errlen) {
    memset(c, 0, sizeof *c);
    int cores = config_cores();
    parse_listen(c, "127.0.0.1:8080", err, errlen);
    snprintf(c->db, sizeof c->db, "./oigd.db");
    c->train_nice = 10;
    c->max_body = 64u << 20;
    c->max_connections = 512;
    c->max_connections_per_client = 256;
    c->connection_timeout = 60;
    c->checkpoint_seconds = 2.0;
    c->max_subscribers = 256;
    c->heartbeat_seconds = 15;
    c->max_rows = 1000000;
    c->max_columns = 1000;
    c->max_queued_jobs = 1000;
    c->retry_after = 5;
    c->access_log = 1;

    for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) {
        const char *v = getenv(envs[i].env);
        if (v && *v && apply(c, envs[i].name, v, err, errlen) != 0) {
            size_t l = strlen(err);
            snprintf(err + l, errlen - l, " (from %s)", envs[i].env);
            return -1;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return 1;
        if (strncmp(a, "--", 2) != 0) { snprintf(err, errlen, "unexpected argument '%s'", a); return -1; }
        char name[64];
        const char *eq = strchr(a, '=');
        const char *val;
        size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (nl >= sizeof name) { snprintf(err, errlen, "unknown option %s", a); return -1; }
        memcpy(name, a + 2, nl);
        name[nl] = 0;
        if (eq) val = eq + 1;
        else if (i + 1 < argc) val = argv[++i];
        else { snprintf(err, errlen, "option --%s needs a value", name); return -1; }
        if (apply(c, name, val, err, errlen) != 0) return -1;
    }
    if (c->workers == 0) c->workers = cores / 2 > 0 ? cores / 2 : 1;
    /* small products run faster on one BLAS thread (measured: a 20000x20x9 product at 35 GFLOP/s
     * on one thread, 3.7 on two), so one thread per worker unless asked otherwise; never more
     * than the cores left per worker */
    if (c->blas_threads == 0) c->blas_threads = 1;
    if (c->train_threads == 0) c->train_threads = 1;
    /* each training thread calls BLAS; with a BLAS pool as well, the calls would queue for it */
    if (c->train_threads > 1 && c->blas_threads > 1) {
        snprintf(err, errlen, "--train-threads %d needs --blas-threads 1 (each training thread "
                 "runs its own BLAS calls), not %d", c->train_threads, c->blas_threads);
        return -1;
    }
    int per_job = c->blas_threads * c->train_threads;
    if (per_job * c->workers > cores)
        fprintf(stderr, "oigd: warning: %d workers x %d threads each oversubscribe %d cores\n",
                c->workers, per_job, cores);
    /* the cores training does not take serve requests: on a small machine an HTTP thread that
     * shares a core with a training thread waits out its time slices (2 cores, one job training,
     * one-row predicts at 64 connections: p99 4.6 ms with one HTTP thread, 6.0 ms with two) */
    if (c->http_threads == 0)
        c->http_threads = cores > c->workers * per_job ? cores - c->workers * per_job : 1;
    if (c->max_connections_per_client > c->max_connections) c->max_connections_per_client = c->max_connections;
    if (c->max_subscribers > c->max_connections / 2) c->max_subscribers = c->max_connections / 2;
    return 0;
}

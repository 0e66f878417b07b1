/* store.c -- SQLite store for datasets, jobs, metrics, checkpoints and models.
 *
 * Owns the schema (through the embedded migrations) and every SQL statement of the daemon.
 * A `store` is a single connection used by a single thread (opened SQLITE_OPEN_NOMUTEX); writes
 * are BEGIN IMMEDIATE transactions so the busy handler applies. Must not know about HTTP.
 */
#include "store.h"
#include "textfmt.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define STMT_CACHE 48            /* prepared statements kept per connection */

struct store {
    sqlite3 *db;
    char err[256];
    struct store *next;     /* store_set's list, guarded by its mutex */
    struct store_set *owner;
    /* Statements prepared once and reused, found by their SQL text: preparing (parsing and
     * planning) cost more than running the statement on the daemon's reads. `used` marks one
     * handed out and not yet released, so a nested use of the same SQL gets its own. */
    struct { unsigned hash; int used; sqlite3_stmt *s; } cache[STMT_CACHE];
    int ncache;
};

struct store_set {
    char *path;
    pthread_key_t key;
    pthread_mutex_t mu;     /* guards all */
    store *all;
};

/* ---- small helpers ---------------------------------------------------------------------- */

static void set_err(store *st, const char *what) {
    snprintf(st->err, sizeof st->err, "%s: %s", what, st->db ? sqlite3_errmsg(st->db) : "no database");
}

static unsigned sql_hash(const char *sql) {
    unsigned h = 2166136261u;                   /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)sql; *c; c++) h = (h ^ *c) * 16777619u;
    return h;
}

/* A prepared statement for sql, from the connection's cache when one is free; hand it back with
 * release(). NULL with st->err set when sql does not prepare. */
static sqlite3_stmt *prep(store *st, const char *sql) {
    unsigned h = sql_hash(sql);
    for (int i = 0; i < st->ncache; i++)
        if (st->cache[i].hash == h && !st->cache[i].used && strcmp(sqlite3_sql(st->cache[i].s), sql) == 0) {
            st->cache[i].used = 1;
            return st->cache[i].s;
        }
    int keep = st->ncache < STMT_CACHE;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(st->db, sql, -1, keep ? SQLITE_PREPARE_PERSISTENT : 0, &s, NULL) != SQLITE_OK) {
        set_err(st, "prepare");
        sqlite3_finalize(s);
        return NULL;
    }
    if (keep) {
        st->cache[st->ncache].hash = h;
        st->cache[st->ncache].used = 1;
        st->cache[st->ncache].s = s;
        st->ncache++;
    }
    return s;
}

/* Done with a statement of prep(): reset it for its next use (which ends its read or write of the
 * database and drops its bindings), or finalize it when it is not a cached one. */
static void release(store *st, sqlite3_stmt *s) {
    for (int i = 0; i < st->ncache; i++)
        if (st->cache[i].s == s) {
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
            st->cache[i].used = 0;
            return;
        }
    sqlite3_finalize(s);
}

static int exec1(store *st, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(st->err, sizeof st->err, "%s", msg ? msg : "exec failed");
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int begin(store *st) { return exec1(st, "BEGIN IMMEDIATE"); }
static int commit(store *st) { return exec1(st, "COMMIT"); }
static void rollback(store *st) {
    if (!sqlite3_get_autocommit(st->db)) sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

/* One integer from a statement without parameters that answers one row (a PRAGMA, a count). */
static int pragma_int(store *st, const char *sql, long long *out) {
    sqlite3_stmt *s = prep(st, sql);
    if (!s) return -1;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int64(s, 0);
    release(st, s);
    if (rc != SQLITE_ROW) { set_err(st, sql); return -1; }
    return 0;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v) {
    if (v) sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(s, i);
}

static void bind_real(sqlite3_stmt *s, int i, double v) {
    if (isfinite(v)) sqlite3_bind_double(s, i, v);
    else sqlite3_bind_null(s, i);
}

/* Step a statement that returns no rows; 0 on success. */
static int step_done(store *st, sqlite3_stmt *s) {
    int rc = sqlite3_step(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) { set_err(st, "step"); return -1; }
    return 0;
}

/* Run a statement whose one parameter is an id and that returns no rows; 0 on success. */
static int exec_with_id(store *st, const char *sql, const char *id) {
    sqlite3_stmt *s = prep(st, sql);
    if (!s) return -1;
    bind_text(s, 1, id);
    int rc = step_done(st, s);
    release(st, s);
    return rc;
}

static void add_col_text(cJSON *o, const char *key, sqlite3_stmt *s, int col) {
    const unsigned char *v = sqlite3_column_text(s, col);
    if (v) cJSON_AddStringToObject(o, key, (const char *)v);
    else cJSON_AddNullToObject(o, key);
}

static void add_col_real(cJSON *o, const char *key, sqlite3_stmt *s, int col) {
    if (sqlite3_column_type(s, col) == SQLITE_NULL) cJSON_AddNullToObject(o, key);
    else cJSON_AddItemToObject(o, key, json_number_exact(sqlite3_column_double(s, col)));
}

static void add_col_json(cJSON *o, const char *key, sqlite3_stmt *s, int col) {
    const char *v = (const char *)sqlite3_column_text(s, col);
    cJSON *j = v ? cJSON_Parse(v) : NULL;
    if (j) cJSON_AddItemToObject(o, key, j);
    else cJSON_AddNullToObject(o, key);
}

static char *names_json(char *const *names, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n && names; i++) cJSON_AddItemToArray(a, cJSON_CreateString(names[i] ? names[i] : ""));
    char *s = cJSON_PrintUnformatted(a);
    cJSON_Delete(a);
    return s;
}

/* Parse a JSON array of strings into a malloc'd vector of n malloc'd strings. */
static char **names_parse(const char *json, int n) {
    if (n <= 0) return NULL;
    char **v = calloc((size_t)n, sizeof *v);
    cJSON *a = json ? cJSON_Parse(json) : NULL;
    if (!v) { cJSON_Delete(a); return NULL; }
    for (int i = 0; i < n; i++) {
        cJSON *e = a ? cJSON_GetArrayItem(a, i) : NULL;
        const char *s = cJSON_IsString(e) ? e->valuestring : "";
        v[i] = strdup(s);
        if (!v[i]) {
            for (int k = 0; k < i; k++) free(v[k]);
            free(v);
            cJSON_Delete(a);
            return NULL;
        }
    }
    cJSON_Delete(a);
    return v;
}

void store_new_id(const char *prefix, char out[STORE_ID_MAX]) {
    uint8_t r[10];
    size_t got = 0;
    while (got < sizeof r) {
        ssize_t k = getrandom(r + got, sizeof r - got, 0);
        if (k < 0) {
            if (errno == EINTR) continue;
            /* no entropy source: fall back to time and address bits, still unique enough */
            uint64_t v = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)out ^ (uint64_t)clock();
            memcpy(r, &v, sizeof v);
            got = sizeof r;
            break;
        }
        got += (size_t)k;
    }
    int off = snprintf(out, STORE_ID_MAX, "%s_", prefix);
    for (size_t i = 0; i < sizeof r && off + 2 < STORE_ID_MAX; i++)
        off += snprintf(out + off, (size_t)(STORE_ID_MAX - off), "%02x", r[i]);
}

void store_now(char out[32]) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%.19s.%03dZ", base, (int)(ts.tv_nsec / 1000000L) % 1000);
}

/* ---- open, migrate, close --------------------------------------------------------------- */

int store_latest_version(void) {
    int v = 0;
    for (int i = 0; i < oigd_migration_count; i++)
        if (oigd_migrations[i].version > v) v = oigd_migrations[i].version;
    return v;
}

int store_user_version(store *st) {
    sqlite3_stmt *s = prep(st, "PRAGMA user_version");
    int v = -1;
    if (s && sqlite3_step(s) == SQLITE_ROW) v = sqlite3_column_int(s, 0);
    release(st, s);
    return v;
}

/* Apply every migration newer than user_version in one transaction. */
static store_status migrate(store *st) {
    if (begin(st) != 0) return STORE_ERROR;
    int have = store_user_version(st);
    int latest = store_latest_version();
    if (have < 0) { rollback(st); return STORE_ERROR; }
    if (have > latest) {
        snprintf(st->err, sizeof st->err,
                 "database schema version %d is newer than this oigd knows (%d)", have, latest);
        rollback(st);
        return STORE_TOO_NEW;
    }
    for (int i = 0; i < oigd_migration_count; i++) {
        const oigd_migration *m = &oigd_migrations[i];
        if (m->version <= have) continue;
        if (exec1(st, m->sql) != 0) {
            char msg[200];
            snprintf(msg, sizeof msg, "%.199s", st->err);
            snprintf(st->err, sizeof st->err, "migration %.40s: %.199s", m->name, msg);
            rollback(st);
            return STORE_ERROR;
        }
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", m->version);
        if (exec1(st, pragma) != 0) { rollback(st); return STORE_ERROR; }
    }
    if (commit(st) != 0) { rollback(st); return STORE_ERROR; }
    return STORE_OK;
}

/* Before SQLite's first use: no global memory statistics. Keeping them takes a process-wide
 * mutex on every SQLite allocation, which every connection's thread then waits on. */
static void sqlite_configure(void) {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* How open_conn treats the file's schema: apply pending migrations (the daemon's first
 * connection), refuse a newer schema (its other connections), or take the file as it is without
 * creating it (copies and vacuums). */
typedef enum { OPEN_MIGRATE, OPEN_CHECK, OPEN_AS_IS } open_mode;

static store_status open_conn(const char *path, open_mode mode, store **out, char *err, size_t errlen) {
    static pthread_once_t configured = PTHREAD_ONCE_INIT;
    pthread_once(&configured, sqlite_configure);
    *out = NULL;
    store *st = calloc(1, sizeof *st);
    if (!st) { snprintf(err, errlen, "out of memory"); return STORE_ERROR; }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (mode == OPEN_AS_IS ? 0 : SQLITE_OPEN_CREATE);
    if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path, st->db ? sqlite3_errmsg(st->db) : "out of memory");
        sqlite3_close(st->db);
        free(st);
        return STORE_ERROR;
    }
    sqlite3_busy_timeout(st->db, 5000);
    store_status rc = STORE_OK;
    /* A new file gets incremental vacuum, which only a file without tables can take. The WAL
     * is cut back to 16 MiB after each checkpoint instead of keeping the size of the largest
     * transaction (a dataset upload) for good. */
    long long pages = -1;
    if (pragma_int(st, "PRAGMA page_count", &pages) ||
        (pages == 0 && exec1(st, "PRAGMA auto_vacuum = INCREMENTAL")) ||
        exec1(st, "PRAGMA journal_mode=WAL") || exec1(st, "PRAGMA synchronous=NORMAL") ||
        exec1(st, "PRAGMA foreign_keys=ON") || exec1(st, "PRAGMA journal_size_limit = 16777216")) {
        rc = STORE_ERROR;
    } else if (mode == OPEN_MIGRATE) {
        rc = migrate(st);
    } else if (mode == OPEN_CHECK && store_user_version(st) > store_latest_version()) {
        snprintf(st->err, sizeof st->err, "database schema is newer than this oigd knows");
        rc = STORE_TOO_NEW;
    }
    if (rc != STORE_OK) {
        snprintf(err, errlen, "%s", st->err);
        store_close(st);
        return rc;
    }
    *out = st;
    return STORE_OK;
}

store_status store_open(const char *path, store **out, char *err, size_t errlen) {
    return open_conn(path, OPEN_MIGRATE, out, err, errlen);
}

store_status store_open_existing(const char *path, store **out, char *err, size_t errlen) {
    return open_conn(path, OPEN_AS_IS, out, err, errlen);
}

void store_close(store *st) {
    if (!st) return;
    for (int i = 0; i < st->ncache; i++) sqlite3_finalize(st->cache[i].s);
    sqlite3_close_v2(st->db);
    free(st);
}

int store_ready(store *st) {
    return st && store_user_version(st) == store_latest_version();
}

const char *store_errmsg(store *st) { return st ? st->err : "no store"; }

/* ---- a connection per thread ------------------------------------------------------------ */

static void set_unlink(store_set *ss, store *st) {
    pthread_mutex_lock(&ss->mu);
    for (store **pp = &ss->all; *pp; pp = &(*pp)->next)
        if (*pp == st) { *pp = st->next; break; }
    pthread_mutex_unlock(&ss->mu);
}

static void thread_conn_free(void *p) {
    store *st = p;
    if (st->owner) set_unlink(st->owner, st);
    store_close(st);
}

store_status store_set_open(const char *path, store_set **out, char *err, size_t errlen) {
    *out = NULL;
    store *first = NULL;
    store_status rc = store_open(path, &first, err, errlen);
    if (rc != STORE_OK) return rc;
    store_close(first);
    store_set *ss = calloc(1, sizeof *ss);
    if (!ss || !(ss->path = strdup(path))) { free(ss); snprintf(err, errlen, "out of memory"); return STORE_ERROR; }
    pthread_mutex_init(&ss->mu, NULL);
    pthread_key_create(&ss->key, thread_conn_free);
    *out = ss;
    return STORE_OK;
}

store *store_set_get(store_set *ss) {
    store *st = pthread_getspecific(ss->key);
    if (st) return st;
    char err[256];
    if (open_conn(ss->path, OPEN_CHECK, &st, err, sizeof err) != STORE_OK) {
        fprintf(stderr, "oigd: store: %s\n", err);
        return NULL;
    }
    st->owner = ss;
    pthread_mutex_lock(&ss->mu);
    st->next = ss->all;
    ss->all = st;
    pthread_mutex_unlock(&ss->mu);
    pthread_setspecific(ss->key, st);
    return st;
}

/* Close every connection still open. Threads that used the set must have exited (or be the
 * caller): their connections are closed here. */
void store_set_close(store_set *ss) {
    if (!ss) return;
    pthread_setspecific(ss->key, NULL);
    pthread_mutex_lock(&ss->mu);
    store *st = ss->all;
    ss->all = NULL;
    pthread_mutex_unlock(&ss->mu);
    while (st) {
        store *next = st->next;
        store_close(st);
        st = next;
    }
    pthread_key_delete(ss->key);
    pthread_mutex_destroy(&ss->mu);
    free(ss->path);
    free(ss);
}

/* ---- paging ----------------------------------------------------------------------------- */

/* Resolve an `after` id to its seq in table (0 when after is NULL or empty). */
static store_status after_seq(store *st, const char *table, const char *after, sqlite3_int64 *seq) {
    *seq = 0;
    if (!after || !*after) return STORE_OK;
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT seq FROM %s WHERE id = ?1", table);
    sqlite3_stmt *s = prep(st, sql);
    if (!s) return STORE_ERROR;
    bind_text(s, 1, after);
    int rc = sqlite3_step(s);
    store_status out = STORE_OK;
    if (rc == SQLITE_ROW) *seq = sqlite3_column_int64(s, 0);
    else if (rc == SQLITE_DONE) out = STORE_EINVAL;
    else { set_err(st, "after"); out = STORE_ERROR; }
    release(st, s);
    return out;
}

static int clamp_limit(int limit) {
    if (limit <= 0) return 50;
    return limit > STORE_LIST_MAX ? STORE_LIST_MAX : limit;
}

/* Wrap items into {"items": [...], "next_after": id|null}; items holds up to limit+1 rows. */
static cJSON *page(cJSON *items, int limit, const char *idkey) {
    cJSON *o = cJSON_CreateObject();
    int n = cJSON_GetArraySize(items);
    if (n > limit) {
        cJSON_DeleteItemFromArray(items, n - 1);
        cJSON *last = cJSON_GetArrayItem(items, limit - 1);
        cJSON *id = cJSON_GetObjectItemCaseSensitive(last, idkey);
        if (cJSON_IsString(id)) cJSON_AddStringToObject(o, "next_after", id->valuestring);
        else cJSON_AddItemToObject(o, "next_after", cJSON_Duplicate(id, 1));
    } else {
        cJSON_AddNullToObject(o, "next_after");
    }
    cJSON_AddItemToObject(o, "items", items);
    return o;
}

/* ---- datasets --------------------------------------------------------------------------- */

#define DS_COLS "id, name, nrows, n, m, task, nclasses, labels, input_names, target_names, sha256, created_at"

static cJSON *dataset_row(sqlite3_stmt *s) {
    cJSON *o = cJSON_CreateObject();
    add_col_text(o, "id", s, 0);
    add_col_text(o, "name", s, 1);
    cJSON_AddNumberToObject(o, "rows", (double)sqlite3_column_int64(s, 2));
    cJSON_AddNumberToObject(o, "inputs", sqlite3_column_int(s, 3));
    cJSON_AddNumberToObject(o, "outputs", sqlite3_column_int(s, 4));
    add_col_text(o, "task", s, 5);
    add_col_json(o, "classes", s, 7);
    /* columns: the inputs, then the targets, by name */
    cJSON *cols = cJSON_CreateArray();
    cJSON *in = cJSON_Parse((const char *)sqlite3_column_text(s, 8));
    cJSON *tg = cJSON_Parse((const char *)sqlite3_column_text(s, 9));
    cJSON *e;
    cJSON_ArrayForEach(e, in) cJSON_AddItemToArray(cols, cJSON_Duplicate(e, 1));
    cJSON_ArrayForEach(e, tg) cJSON_AddItemToArray(cols, cJSON_Duplicate(e, 1));
    cJSON_AddItemToObject(o, "columns", cols);
    cJSON_AddItemToObject(o, "targets", tg ? tg : cJSON_CreateArray());
    cJSON_Delete(in);
    add_col_text(o, "sha256", s, 10);
    add_col_text(o, "created_at", s, 11);
    return o;
}

/* Read or write n bytes of the payload row `row` of dataset_payloads in place, through SQLite's
 * incremental blob I/O: a large array is never copied whole. 0 on success. */
static int payload_io(store *st, sqlite3_int64 row, void *buf, size_t n, int write) {
    if (n == 0) return 0;
    sqlite3_blob *b = NULL;
    int rc = sqlite3_blob_open(st->db, "main", "dataset_payloads", "data", row, write, &b);
    for (size_t off = 0; rc == SQLITE_OK && off < n;) {
        int k = n - off > ((size_t)1 << 26) ? 1 << 26 : (int)(n - off);
        rc = write ? sqlite3_blob_write(b, (const char *)buf + off, k, (int)off)
                   : sqlite3_blob_read(b, (char *)buf + off, k, (int)off);
        off += (size_t)k;
    }
    if (rc != SQLITE_OK) set_err(st, write ? "payload write" : "payload read");
    if (sqlite3_blob_close(b) != SQLITE_OK && rc == SQLITE_OK) { set_err(st, "payload"); rc = SQLITE_ERROR; }
    return rc == SQLITE_OK ? 0 : -1;
}

/* Drop payload rows left under seq by a dataset deleted without foreign keys (from the sqlite3
 * shell, say): seq is a rowid, so a new dataset can be given it again. 0 on success. */
static int payload_clear(store *st, sqlite3_int64 seq) {
    sqlite3_stmt *s = prep(st, "DELETE FROM dataset_payloads WHERE dataset_seq = ?1");
    if (!s) return -1;
    sqlite3_bind_int64(s, 1, seq);
    int rc = step_done(st, s);
    release(st, s);
    return rc;
}

/* One array of dataset `seq` as a payload row: a zeroblob of n bytes, then filled in place, so
 * that SQLite never holds the array in memory beside the caller's. 0 on success. */
static int payload_insert(store *st, sqlite3_int64 seq, const char *part, const void *buf, size_t n) {
    sqlite3_stmt *s = prep(st, "INSERT INTO dataset_payloads(dataset_seq, part, data) VALUES (?1, ?2, zeroblob(?3))");
    if (!s) return -1;
    sqlite3_bind_int64(s, 1, seq);
    bind_text(s, 2, part);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)n);
    int rc = step_done(st, s);
    release(st, s);
    if (rc != 0) return -1;
    return payload_io(st, sqlite3_last_insert_rowid(st->db), (void *)buf, n, 1);
}

store_status store_dataset_insert(store *st, const char *name, const oig_data *d,
                                  const char *sha256_hex, cJSON **res) {
    char id[STORE_ID_MAX], now[32];
    store_new_id("ds", id);
    store_now(now);
    char *labels = names_json(d->labels, d->nclasses);
    char *inn = names_json(d->input_names, d->n);
    char *tn = names_json(d->target_names, d->ntarget_names);
    store_status out = STORE_ERROR;
    sqlite3_stmt *s = NULL;
    if (!labels || !inn || !tn) { snprintf(st->err, sizeof st->err, "out of memory"); goto done; }
    size_t xb = d->nrows * (size_t)d->n * sizeof(double), tb = d->nrows * (size_t)d->m * sizeof(double);
    int32_t *cls32 = NULL;
    if (d->cls) {
        cls32 = malloc(d->nrows * sizeof *cls32 + 1);
        if (!cls32) { snprintf(st->err, sizeof st->err, "out of memory"); goto done; }
        for (size_t i = 0; i < d->nrows; i++) cls32[i] = d->cls[i];
    }
    if (begin(st) != 0) { free(cls32); goto done; }
    s = prep(st, "INSERT INTO datasets(id, name, nrows, n, m, task, nclasses, labels, input_names, "
                 "target_names, sha256, created_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)");
    if (!s) { free(cls32); rollback(st); goto done; }
    bind_text(s, 1, id);
    bind_text(s, 2, name && *name ? name : id);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)d->nrows);
    sqlite3_bind_int(s, 4, d->n);
    sqlite3_bind_int(s, 5, d->m);
    bind_text(s, 6, d->task == OIG_CLASSIFICATION ? "classification" : "regression");
    sqlite3_bind_int(s, 7, d->nclasses);
    bind_text(s, 8, labels);
    bind_text(s, 9, inn);
    bind_text(s, 10, tn);
    bind_text(s, 11, sha256_hex);
    bind_text(s, 12, now);
    int rc = step_done(st, s);
    release(st, s);
    s = NULL;
    sqlite3_int64 seq = sqlite3_last_insert_rowid(st->db);
    if (rc == 0) rc = payload_clear(st, seq);
    if (rc == 0) rc = payload_insert(st, seq, "x", d->x, xb);
    if (rc == 0) rc = payload_insert(st, seq, "t", d->t, tb);
    if (rc == 0 && cls32) rc = payload_insert(st, seq, "cls", cls32, d->nrows * sizeof *cls32);
    free(cls32);
    if (rc != 0 || commit(st) != 0) { rollback(st); goto done; }
    out = res ? store_dataset_get(st, id, res) : STORE_OK;
done:
    free(labels); free(inn); free(tn);
    return out;
}

store_status store_dataset_get(store *st, const char *id, cJSON **res) {
    *res = NULL;
    sqlite3_stmt *s = prep(st, "SELECT " DS_COLS " FROM datasets WHERE id = ?1");
    if (!s) return STORE_ERROR;
    bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    store_status out = STORE_OK;
    if (rc == SQLITE_ROW) *res = dataset_row(s);
    else if (rc == SQLITE_DONE) out = STORE_NOTFOUND;
    else { set_err(st, "dataset"); out = STORE_ERROR; }
    release(st, s);
    return out;
}

store_status store_dataset_exists(store *st, const char *id) {
    sqlite3_stmt *s = prep(st, "SELECT 1 FROM datasets WHERE id = ?1");
    if (!s) return STORE_ERROR;
    bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    release(st, s);
    return rc == SQLITE_ROW ? STORE_OK : rc == SQLITE_DONE ? STORE_NOTFOUND : STORE_ERROR;
}

/* Step a prepared list query (LIMIT limit+1), turn each row into JSON with row_fn, finalize it,
 * and page the result (next_after set when a further row exists). */
static store_status collect_page(store *st, sqlite3_stmt *s, cJSON *(*row_fn)(sqlite3_stmt *),
                                 int limit, const char *key, cJSON **res) {
    cJSON *items = cJSON_CreateArray();
    int r;
    while ((r = sqlite3_step(s)) == SQLITE_ROW) cJSON_AddItemToArray(items, row_fn(s));
    release(st, s);
    if (r != SQLITE_DONE) { set_err(st, "list"); cJSON_Delete(items); return STORE_ERROR; }
    *res = page(items, limit, key);
    return STORE_OK;
}

/* One page of a table listed in creation order after the row with id `after`; sql selects the
 * row_fn columns WHERE seq > ?1 ORDER BY seq LIMIT ?2. */
static store_status list_after(store *st, const char *table, const char *sql,
                               cJSON *(*row_fn)(sqlite3_stmt *), const char *after, int limit,
                               cJSON **res) {
    *res = NULL;
    limit = clamp_limit(limit);
    sqlite3_int64 seq;
    store_status rc = after_seq(st, table, after, &seq);
    if (rc != STORE_OK) return rc;
    sqlite3_stmt *s = prep(st, sql);
    if (!s) return STORE_ERROR;
    sqlite3_bind_int64(s, 1, seq);
    sqlite3_bind_int(s, 2, limit + 1);
    return collect_page(st, s, row_fn, limit, "id", res);
}

store_status store_dataset_list(store *st, const char *after, int limit, cJSON **res) {
    return list_after(st, "datasets", "SELECT " DS_COLS " FROM datasets WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                      dataset_row, after, limit, res);
}

store_status store_dataset_delete(store *st, const char *id) {
    if (begin(st) != 0) return STORE_ERROR;
    store_status out = store_dataset_exists(st, id);
    if (out != STORE_OK) { rollback(st); return out; }
    sqlite3_stmt *s = prep(st, "SELECT 1 FROM jobs WHERE dataset_id = ?1 AND status IN ('queued','running') LIMIT 1");
    if (!s) { rollback(st); return STORE_ERROR; }
    bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    release(st, s);
    if (rc == SQLITE_ROW) { rollback(st); return STORE_CONFLICT; }
    if (rc != SQLITE_DONE) { set_err(st, "delete"); rollback(st); return STORE_ERROR; }
    if (exec_with_id(st, "DELETE FROM datasets WHERE id = ?1", id) != 0 || commit(st) != 0) {
        rollback(st);
        return STORE_ERROR;
    }
    return STORE_OK;
}

/* The payload rows of dataset seq: row id and bytes of x, t and cls (row 0: none). */
typedef struct { sqlite3_int64 row[3]; size_t bytes[3]; } payload_rows;
enum { PART_X, PART_T, PART_CLS };

static int payload_find(store *st, sqlite3_int64 seq, payload_rows *p) {
    memset(p, 0, sizeof *p);
    sqlite3_stmt *s = prep(st, "SELECT part, id, length(data) FROM dataset_payloads WHERE dataset_seq = ?1");
    if (!s) return -1;
    sqlite3_bind_int64(s, 1, seq);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *part = (const char *)sqlite3_column_text(s, 0);
        int k = strcmp(part, "x") == 0 ? PART_X : strcmp(part, "t") == 0 ? PART_T : PART_CLS;
        p->row[k] = sqlite3_column_int64(s, 1);
        p->bytes[k] = (size_t)sqlite3_column_int64(s, 2);
    }
    release(st, s);
    if (rc != SQLITE_DONE) { set_err(st, "payload"); return -1; }
    return 0;
}

/* Builds the oig_data layout the engine's parser produces (every array malloc'd), so that
 * oig_data_free releases it. */
store_status store_dataset_load(store *st, const char *id, oig_data **out) {
    *out = NULL;
    /* one read transaction: the row and its payload are the same snapshot */
    if (exec1(st, "BEGIN")) return STORE_ERROR;
    sqlite3_stmt *s = prep(st, "SELECT nrows, n, m, task, nclasses, labels, input_names, target_names, seq "
                               "FROM datasets WHERE id = ?1");
    if (!s) { rollback(st); return STORE_ERROR; }
    bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        release(st, s);
        rollback(st);
        if (rc == SQLITE_DONE) return STORE_NOTFOUND;
        set_err(st, "load");
        return STORE_ERROR;
    }
    oig_data *d = calloc(1, sizeof *d);
    int32_t *cls32 = NULL;
    store_status res = STORE_ERROR;
    if (!d) goto fail;
    d->nrows = (size_t)sqlite3_column_int64(s, 0);
    d->n = sqlite3_column_int(s, 1);
    d->m = sqlite3_column_int(s, 2);
    d->task = strcmp((const char *)sqlite3_column_text(s, 3), "classification") == 0 ? OIG_CLASSIFICATION : OIG_REGRESSION;
    d->nclasses = sqlite3_column_int(s, 4);
    payload_rows p;
    if (payload_find(st, sqlite3_column_int64(s, 8), &p) != 0) goto fail;
    size_t xb = d->nrows * (size_t)d->n * sizeof(double), tb = d->nrows * (size_t)d->m * sizeof(double);
    size_t cb = d->nrows * sizeof *cls32;
    int has_cls = p.row[PART_CLS] != 0;
    if (!p.row[PART_X] || !p.row[PART_T] || p.bytes[PART_X] != xb || p.bytes[PART_T] != tb ||
        (has_cls && p.bytes[PART_CLS] != cb)) {
        snprintf(st->err, sizeof st->err, "dataset %s payload has the wrong size", id);
        goto fail;
    }
    d->x = malloc(xb ? xb : 1);
    d->t = malloc(tb ? tb : 1);
    if (!d->x || !d->t) goto fail;
    if (has_cls) {
        cls32 = malloc(cb + 1);
        d->cls = malloc(d->nrows * sizeof *d->cls + 1);
        if (!cls32 || !d->cls) goto fail;
    }
    if (payload_io(st, p.row[PART_X], d->x, xb, 0) || payload_io(st, p.row[PART_T], d->t, tb, 0) ||
        (has_cls && payload_io(st, p.row[PART_CLS], cls32, cb, 0)))
        goto fail;
    for (size_t i = 0; has_cls && i < d->nrows; i++) d->cls[i] = cls32[i];
    const char *tnames = (const char *)sqlite3_column_text(s, 7);
    cJSON *tn = cJSON_Parse(tnames ? tnames : "[]");
    d->ntarget_names = cJSON_GetArraySize(tn);
    cJSON_Delete(tn);
    d->labels = names_parse((const char *)sqlite3_column_text(s, 5), d->nclasses);
    d->input_names = names_parse((const char *)sqlite3_column_text(s, 6), d->n);
    d->target_names = names_parse(tnames, d->ntarget_names);
    if ((d->nclasses && !d->labels) || (d->n && !d->input_names) || (d->ntarget_names && !d->target_names))
        goto fail;
    release(st, s);
    commit(st);
    free(cls32);
    *out = d;
    return STORE_OK;
fail:
    release(st, s);
    rollback(st);
    if (!st->err[0]) snprintf(st->err, sizeof st->err, "out of memory loading dataset");
    free(cls32);
    oig_data_free(d);
    return res;
}

/* ---- jobs ------------------------------------------------------------------------------- */

#define JOB_COLS "id, dataset_id, status, params, iteration, train_mse, val_mse, train_err, val_err, " \
                 "cancel_requested, model_id, error, created_at, started_at, finished_at, attempts"

static cJSON *job_row(sqlite3_stmt *s) {
    cJSON *o = cJSON_CreateObject();
    add_col_text(o, "id", s, 0);
    add_col_text(o, "dataset_id", s, 1);
    add_col_text(o, "status", s, 2);
    cJSON *p = cJSON_Parse((const char *)sqlite3_column_text(s, 3));
    cJSON *e;
    cJSON_ArrayForEach(e, p) {
        if (strcmp(e->string, "dataset_id") == 0) continue;
        cJSON_AddItemToObject(o, e->string, cJSON_Duplicate(e, 1));
    }
    cJSON_Delete(p);
    if (sqlite3_column_type(s, 4) == SQLITE_NULL) cJSON_AddNullToObject(o, "iteration");
    else cJSON_AddNumberToObject(o, "iteration", sqlite3_column_int(s, 4));
    add_col_real(o, "train_mse", s, 5);
    add_col_real(o, "validation_mse", s, 6);
    add_col_real(o, "train_error", s, 7);
    add_col_real(o, "validation_error", s, 8);
    cJSON_AddBoolToObject(o, "cancel_requested", sqlite3_column_int(s, 9) != 0);
    add_col_text(o, "model_id", s, 10);
    add_col_text(o, "error", s, 11);
    add_col_text(o, "created_at", s, 12);
    add_col_text(o, "started_at", s, 13);
    add_col_text(o, "finished_at", s, 14);
    cJSON_AddNumberToObject(o, "attempts", sqlite3_column_int(s, 15));
    return o;
}

store_status store_job_insert(store *st, const char *dataset_id, const char *params,
                              const char *algorithm, int hidden_units, int max_iterations,
                              cJSON **res) {
    if (res) *res = NULL;
    char id[STORE_ID_MAX], now[32];
    store_new_id("job", id);
    store_now(now);
    if (begin(st) != 0) return STORE_ERROR;
    store_status out = store_dataset_exists(st, dataset_id);
    if (out != STORE_OK) { rollback(st); return out; }
    sqlite3_stmt *s = prep(st, "INSERT INTO jobs(id, dataset_id, status, params, algorithm, hidden_units, "
                               "max_iterations, created_at) VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6, ?7)");
    if (!s) { rollback(st); return STORE_ERROR; }
    bind_text(s, 1, id);
    bind_text(s, 2, dataset_id);
    bind_text(s, 3, params);
    bind_text(s, 4, algorithm);
    sqlite3_bind_int(s, 5, hidden_units);
    sqlite3_bind_int(s, 6, max_iterations);
    bind_text(s, 7, now);
    int rc = step_done(st, s);
    release(st, s);
    if (rc != 0 || commit(st) != 0) { rollback(st); return STORE_ERROR; }
    return res ? store_job_get(st, id, res) : STORE_OK;
}

store_status store_job_get(store *st, const char *id, cJSON **res) {
    *res = NULL;
    sqlite3_stmt *s = prep(st, "SELECT " JOB_COLS " FROM jobs WHERE id = ?1");
    if (!s) return STORE_ERROR;
    bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    store_status out = STORE_OK;
    if (rc == SQLITE_ROW) *res = job_row(s);
    else if (rc == SQLITE_DONE) out = STORE_NOTFOUND;
    else { set_err(st, "job"); out = STORE_ERROR; }
    release(st, s);
    return out;
}

store_status store_job_status(store *st, const char *id, char status[16]) {
    status[0] = 0;
    sqlite3_stmt *s = prep(st, "SELECT status FROM jobs WHERE id = ?1");
    if (!s) return STORE_ERROR;
    bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    store_status out = STORE_OK;
    if (rc == SQLITE_ROW) snprintf(status, 16, "%s", (const char *)sqlite3_column_text(s, 0));
    else if (rc == SQLITE_DONE) out = STORE_NOTFOUND;
    else { set_err(st, "job status"); out = STORE_ERROR; }
    release(st, s);
    return out;
}

const char *const store_job_statuses[STORE_JOB_NSTATUS] = {"queued", "running", "succeeded", "failed",
                                                            "cancelled"};

store_status store_job_counts(store *st, long long counts[STORE_JOB_NSTATUS]) {
    for (int i = 0; i < STORE_JOB_NSTATUS; i++) counts[i] = 0;
    sqlite3_stmt *s = prep(st, "SELECT status, count(*) FROM jobs GROUP BY status");
    if (!s) return STORE_ERROR;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(s, 0);
        for (int i = 0; v && i < STORE_JOB_NSTATUS; i++)
            if (strcmp(v, store_job_statuses[i]) == 0) counts[i] = sqlite3_column_int64(s, 1);
    }
    release(st, s);
    if (rc != SQLITE_DONE) { set_err(st, "job counts"); return STORE_ERROR; }
    return STORE_OK;
}

store_status store_space_get(store *st, store_space *sp) {
    memset(sp, 0, sizeof *sp);
    long long mode = 0;
    if (pragma_int(st, "PRAGMA page_size", &sp->page_size) || pragma_int(st, "PRAGMA page_count", &sp->pages) ||
        pragma_int(st, "PRAGMA freelist_count", &sp->free_pages) || pragma_int(st, "PRAGMA auto_vacuum", &mode))
        return STORE_ERROR;
    sp->incremental = mode == 2;
    return STORE_OK;
}

store_status store_reclaim(store *st, int max_pages, long long *given, long long *left) {
    store_space sp;
    *given = 0;
    if (store_space_get(st, &sp) != STORE_OK) return STORE_ERROR;
    *left = sp.free_pages;
    if (!sp.incremental || sp.free_pages == 0 || max_pages < 1) return STORE_OK;
    /* a PRAGMA takes no bound parameters: the count is formatted from an int; the statement frees
     * one page per step */
    char sql[48];
    snprintf(sql, sizeof sql, "PRAGMA incremental_vacuum(%d)", max_pages);
    if (begin(st) != 0) return STORE_ERROR;
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK)
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {}
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) { set_err(st, "incremental vacuum"); rollback(st); return STORE_ERROR; }
    if (commit(st) != 0) { rollback(st); return STORE_ERROR; }
    if (pragma_int(st, "PRAGMA freelist_count", left)) return STORE_ERROR;
    *given = sp.free_pages - *left;
    if (*left == 0 && exec1(st, "PRAGMA wal_checkpoint(PASSIVE)") != 0) return STORE_ERROR;
    return STORE_OK;
}

store_status store_backup(store *st, const char *out_path, store_copy_info *info) {
    memset(info, 0, sizeof *info);
    sqlite3_stmt *s = prep(st, "VACUUM INTO ?1");
    if (!s) return STORE_ERROR;
    bind_text(s, 1, out_path);
    int rc = sqlite3_step(s);
    release(st, s);
    if (rc != SQLITE_DONE) { set_err(st, "copy"); return STORE_ERROR; }
    /* the copy, read back through a connection of its own */
    store *copy = NULL;
    char err[256];
    if (open_conn(out_path, OPEN_AS_IS, &copy, err, sizeof err) != STORE_OK) {
        snprintf(st->err, sizeof st->err, "the copy does not open: %.200s", err);
        return STORE_ERROR;
    }
    store_status out = STORE_OK;
    sqlite3_stmt *q = prep(copy, "PRAGMA quick_check");
    const char *verdict = q && sqlite3_step(q) == SQLITE_ROW ? (const char *)sqlite3_column_text(q, 0) : NULL;
    if (verdict == NULL || strcmp(verdict, "ok") != 0) {
        snprintf(st->err, sizeof st->err, "the copy fails its check: %.200s", verdict ? verdict : sqlite3_errmsg(copy->db));
        out = STORE_ERROR;
    }
    if (q) release(copy, q);
    store_space sp;
    info->version = store_user_version(copy);
    if (out == STORE_OK &&
        (pragma_int(copy, "SELECT count(*) FROM datasets", &info->datasets) ||
         pragma_int(copy, "SELECT count(*) FROM jobs", &info->jobs) ||
         pragma_int(copy, "SELECT count(*) FROM models", &info->models) || store_space_get(copy, &sp) != STORE_OK)) {
        snprintf(st->err, sizeof st->err, "the copy cannot be read: %.200s", copy->err);
        out = STORE_ERROR;
    }
    if (out == STORE_OK) info->bytes = sp.pages * sp.page_size;
    store_close(copy);
    return out;
}

store_status store_vacuum(store *st) {
    if (exec1(st, "PRAGMA auto_vacuum = INCREMENTAL") != 0 || exec1(st, "VACUUM") != 0 ||
        exec1(st, "PRAGMA wal_checkpoint(TRUNCATE)") != 0)
        return STORE_ERROR;
    return STORE_OK;
}

store_status store_job_list(store *st, const char *status, const char *after, int limit, cJSON **res) {
    *res = NULL;
    limit = clamp_limit(limit);
    sqlite3_int64 seq;
    store_status rc = after_seq(st, "jobs", after, &seq);
    if (rc != STORE_OK) return rc;
    sqlite3_stmt *s = prep(st, "SELECT " JOB_COLS " FROM jobs WHERE seq > ?1 AND (?2 IS NULL OR status = ?2) "
                               "ORDER BY seq LIMIT ?3");
    if (!s) return STORE_ERROR;
    sqlite3_bind_int64(s, 1, seq);
    bind_text(s, 2, status && *status ? status : NULL);
    sqlite3_bind_int(s, 3, limit + 1);
    return collect_page(st, s, job_row, limit, "id", res);
}

store_status store_job_cancel(store *st, const char *id, int *was_running) {
    *was_running = 0;
    if (begin(st) != 0) return STORE_ERROR;
    char status[16];
    store_status out = store_job_status(st, id, status);
    if (out != STORE_OK) { rollback(st); return out; }
    const char *sql;
    if (strcmp(status, "queued") == 0)
        sql = "UPDATE jobs SET status = 'cancelled', cancel_requested = 1, finished_at = ?2 WHERE id = ?1";
    else if (strcmp(status, "running") == 0)
        sql = "UPDATE jobs SET cancel_requested = 1 WHERE id = ?1";
    else { rollback(st); return STORE_CONFLICT; }
    char now[32];
    store_now(now);
    sqlite3_stmt *s = prep(st, sql);
    if (!s) { rollback(st); return STORE_ERROR; }
    bind_text(s, 1, id);
    if (sqlite3_bind_parameter_count(s) >= 2) bind_text(s, 2, now);
    int rc = step_done(st, s);
    release(st, s);
    if (rc != 0 || commit(st) != 0) { rollback(st); return STORE_ERROR; }
    *was_running = strcmp(status, "running") == 0;
    return STORE_OK;
}

store_status store_job_delete(store *st, const char *id) {
    if (begin(st) != 0) return STORE_ERROR;
    char status[16];
    store_status out = store_job_status(st, id, status);
    if (out != STORE_OK) { rollback(st); return out; }
    if (strcmp(status, "queued") == 0 || strcmp(status, "running") == 0) { rollback(st); return STORE_CONFLICT; }
    if (exec_with_id(st, "DELETE FROM metrics WHERE job_id = ?1", id) != 0 ||
        exec_with_id(st, "DELETE FROM checkpoints WHERE job_id = ?1", id) != 0 ||
        exec_with_id(st, "DELETE FROM jobs WHERE id = ?1", id) != 0 || commit(st) != 0) {
        rollback(st);
        return STORE_ERROR;
    }
    return STORE_OK;
}

store_status store_job_claim(store *st, char id[STORE_ID_MAX]) {
    id[0] = 0;
    char now[32];
    store_now(now);
    if (begin(st) != 0) return STORE_ERROR;
    sqlite3_stmt *s = prep(st, "UPDATE jobs SET status = 'running', attempts = attempts + 1, "
                               "started_at = COALESCE(started_at, ?1) "
                               "WHERE seq = (SELECT seq FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1) "
                               "RETURNING id");
    if (!s) { rollback(st); return STORE_ERROR; }
    bind_text(s, 1, now);
    int rc = sqlite3_step(s);
    store_status out = STORE_OK;
    if (rc == SQLITE_ROW) snprintf(id, STORE_ID_MAX, "%s", (const char *)sqlite3_column_text(s, 0));
    else if (rc == SQLITE_DONE) out = STORE_NOTFOUND;
    else { set_err(st, "claim"); out = STORE_ERROR; }
    if (out == STORE_OK) rc = sqlite3_step(s);   /* run RETURNING to completion */
    release(st, s);
    if (out == STORE_ERROR) { rollback(st); return out; }
    if (commit(st) != 0) { rollback(st); return STORE_ERROR; }
    return out;
}

store_status store_job_requeue_running(store *st, int *count) {
    *count = 0;
    if (begin(st) != 0) return STORE_ERROR;
    sqlite3_stmt *s = prep(st, "UPDATE jobs SET status = 'queued' WHERE status = 'running'");
    if (!s) { rollback(st); return STORE_ERROR; }
    int rc = step_done(st, s);
    release(st, s);
    *count = sqlite3_changes(st->db);
    if (rc != 0 || commit(st) != 0) { rollback(st); return STORE_ERROR; }
    return STORE_OK;
}

store_status store_job_requeue(store *st, const char *id) {
    if (begin(st) != 0) return STORE_ERROR;
    sqlite3_stmt *s = prep(st, "UPDATE jobs SET status = 'queued' WHERE id = ?1 AND status = 'running'");
    if (!s) { rollback(st); return STORE_ERROR; }
    bind_text(s, 1, id);
    int rc = step_done(st, s);
    release(st, s);
    if (rc != 0 || commit(st) != 0) { rollback(st); return STORE_ERROR; }
    return STORE_OK;
}

store_status store_job_params(store *st, const char *id, char **params, char dataset_id[STORE_ID_MAX]) {
    *params = NULL;
    sqlite3_stmt *s = prep(st, "SELECT params, dataset_id FROM jobs WHERE id = ?1");
    if (!s) return STORE_ERROR;
    bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    store_status out = STORE_OK;
    if (rc == SQLITE_ROW) {
        *params = strdup((const char *)sqlite3_column_text(s, 0));
        snprintf(dataset_id, STORE_ID_MAX, "%s", (const char *)sqlite3_column_text(s, 1));
        if (!*params) out = STORE_ERROR;
    } else if (rc == SQLITE_DONE) out = STORE_NOTFOUND;
    else { set_err(st, "params"); out = STORE_ERROR; }
    release(st, s);
    return out;
}

store_status store_job_progress(store *st, const char *id, const store_metric *rows, int nrows,
                                const store_metric *latest, const char *ckpt_doc, int ckpt_iteration) {
    if (!latest && nrows > 0) latest = &rows[nrows - 1];
    if (nrows <= 0 && !latest && !ckpt_doc) return STORE_OK;
    if (begin(st) != 0) return STORE_ERROR;
    sqlite3_stmt *s = NULL;
    if (nrows > 0) {
        s = prep(st, "INSERT OR REPLACE INTO metrics(job_id, iteration, train_mse, val_mse, train_err, "
                     "val_err, multiplies, seconds) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)");
        if (!s) goto fail;
        for (int i = 0; i < nrows; i++) {
            const store_metric *r = &rows[i];
            bind_text(s, 1, id);
            sqlite3_bind_int(s, 2, r->iteration);
            bind_real(s, 3, r->train_mse);
            bind_real(s, 4, r->val_mse);
            bind_real(s, 5, r->train_err);
            bind_real(s, 6, r->val_err);
            bind_real(s, 7, r->multiplies);
            bind_real(s, 8, r->seconds);
            if (step_done(st, s) != 0) goto fail;
            sqlite3_reset(s);
        }
        release(st, s);
        s = NULL;
    }
    if (latest) {
        s = prep(st, "UPDATE jobs SET iteration = ?2, train_mse = ?3, val_mse = ?4, train_err = ?5, "
                     "val_err = ?6 WHERE id = ?1");
        if (!s) goto fail;
        bind_text(s, 1, id);
        sqlite3_bind_int(s, 2, latest->iteration);
        bind_real(s, 3, latest->train_mse);
        bind_real(s, 4, latest->val_mse);
        bind_real(s, 5, latest->train_err);
        bind_real(s, 6, latest->val_err);
        if (step_done(st, s) != 0) goto fail;
        release(st, s);
        s = NULL;
    }
    if (ckpt_doc) {
        char now[32];
        store_now(now);
        s = prep(st, "INSERT OR REPLACE INTO checkpoints(job_id, iteration, model, created_at) VALUES (?1,?2,?3,?4)");
        if (!s) goto fail;
        bind_text(s, 1, id);
        sqlite3_bind_int(s, 2, ckpt_iteration);
        bind_text(s, 3, ckpt_doc);
        bind_text(s, 4, now);
        if (step_done(st, s) != 0) goto fail;
        release(st, s);
        s = NULL;
    }
    if (commit(st) != 0) goto fail;
    return STORE_OK;
fail:
    release(st, s);
    rollback(st);
    return STORE_ERROR;
}

store_status store_job_checkpoint(store *st, const char *id, char **doc, int *iteration) {
    *doc = NULL;
    *iteration = -1;
    sqlite3_stmt *s = prep(st, "SELECT model, iteration FROM checkpoints WHERE job_id = ?1");
    if (!s) return STORE_ERROR;
    bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    store_status out = STORE_OK;
    if (rc == SQLITE_ROW) {
        *doc = strdup((const char *)sqlite3_column_text(s, 0));
        *iteration = sqlite3_column_int(s, 1);
        if (!*doc) out = STORE_ERROR;
    } else if (rc == SQLITE_DONE) out = STORE_NOTFOUND;
    else { set_err(st, "checkpoint"); out = STORE_ERROR; }
    release(st, s);
    return out;
}

store_status store_job_trim_metrics(store *st, const char *id, int after) {
    if (begin(st) != 0) return STORE_ERROR;
    sqlite3_stmt *s = prep(st, "DELETE FROM metrics WHERE job_id = ?1 AND iteration > ?2");
    if (!s) { rollback(st); return STORE_ERROR; }
    bind_text(s, 1, id);
    sqlite3_bind_int(s, 2, after);
    int rc = step_done(st, s);
    release(st, s);
    if (rc == 0) {
        /* the job's latest values follow the last row kept */
        s = prep(st, "UPDATE jobs SET (iteration, train_mse, val_mse, train_err, val_err) = "
                     "(SELECT iteration, train_mse, val_mse, train_err, val_err FROM metrics "
                     " WHERE job_id = ?1 ORDER BY iteration DESC LIMIT 1) WHERE id = ?1");
        rc = s ? step_done(st, s) : -1;
        release(st, s);
    }
    if (rc != 0 || commit(st) != 0) { rollback(st); return STORE_ERROR; }
    return STORE_OK;
}

static store_status insert_model(store *st, const char *id, const char *job_id, const oig_model *mdl,
                                 const char *doc) {
    char now[32];
    store_now(now);
    sqlite3_stmt *s = prep(st, "INSERT INTO models(id, job_id, algorithm, n, nh, m, task, doc, created_at) "
                               "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)");
    if (!s) return STORE_ERROR;
    bind_text(s, 1, id);
    bind_text(s, 2, job_id);
    bind_text(s, 3, oig_algorithm_name(mdl->algorithm));
    sqlite3_bind_int(s, 4, mdl->n);
    sqlite3_bind_int(s, 5, mdl->nh);
    sqlite3_bind_int(s, 6, mdl->m);
    bind_text(s, 7, mdl->task == OIG_CLASSIFICATION ? "classification" : "regression");
    bind_text(s, 8, doc);
    bind_text(s, 9, now);
    int rc = step_done(st, s);
    release(st, s);
    return rc == 0 ? STORE_OK : STORE_ERROR;
}

store_status store_job_finish(store *st, const char *id, const char *status, const char *error,
                              const oig_model *mdl, const char *mdl_doc, char model_id[STORE_ID_MAX]) {
    char mid[STORE_ID_MAX] = "";
    if (mdl && mdl_doc) store_new_id("mdl", mid);
    char now[32];
    store_now(now);
    if (begin(st) != 0) return STORE_ERROR;
    if (mid[0] && insert_model(st, mid, id, mdl, mdl_doc) != STORE_OK) { rollback(st); return STORE_ERROR; }
    sqlite3_stmt *s = prep(st, "UPDATE jobs SET status = ?2, error = ?3, model_id = ?4, finished_at = ?5 WHERE id = ?1");
    if (!s) { rollback(st); return STORE_ERROR; }
    bind_text(s, 1, id);
    bind_text(s, 2, status);
    bind_text(s, 3, error);
    bind_text(s, 4, mid[0] ? mid : NULL);
    bind_text(s, 5, now);
    int rc = step_done(st, s);
    release(st, s);
    if (rc == 0) rc = exec_with_id(st, "DELETE FROM checkpoints WHERE job_id = ?1", id);
    if (rc != 0 || commit(st) != 0) { rollback(st); return STORE_ERROR; }
    if (model_id) snprintf(model_id, STORE_ID_MAX, "%s", mid);
    return STORE_OK;
}

store_status store_metrics_list(store *st, const char *job_id, int after, int limit, int every, cJSON **res) {
    *res = NULL;
    if (every < 1) every = 1;
    if (limit <= 0) limit = 1000;
    if (limit > 10000) limit = 10000;
    sqlite3_stmt *s = prep(st, "SELECT 1 FROM jobs WHERE id = ?1");
    if (!s) return STORE_ERROR;
    bind_text(s, 1, job_id);
    int rc = sqlite3_step(s);
    release(st, s);
    if (rc == SQLITE_DONE) return STORE_NOTFOUND;
    if (rc != SQLITE_ROW) { set_err(st, "metrics"); return STORE_ERROR; }
    s = prep(st, "SELECT iteration, train_mse, val_mse, train_err, val_err, multiplies, seconds FROM metrics "
                 "WHERE job_id = ?1 AND iteration > ?2 AND iteration % ?4 = 0 ORDER BY iteration LIMIT ?3");
    if (!s) return STORE_ERROR;
    bind_text(s, 1, job_id);
    sqlite3_bind_int(s, 2, after);
    sqlite3_bind_int(s, 3, limit + 1);
    sqlite3_bind_int(s, 4, every);
    cJSON *items = cJSON_CreateArray();
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "iteration", sqlite3_column_int(s, 0));
        add_col_real(o, "train_mse", s, 1);
        add_col_real(o, "validation_mse", s, 2);
        add_col_real(o, "train_error", s, 3);
        add_col_real(o, "validation_error", s, 4);
        add_col_real(o, "multiplies", s, 5);
        add_col_real(o, "seconds", s, 6);
        cJSON_AddItemToArray(items, o);
    }
    release(st, s);
    if (rc != SQLITE_DONE) { set_err(st, "metrics"); cJSON_Delete(items); return STORE_ERROR; }
    cJSON *o = page(items, limit, "iteration");
    /* the public name of the array is "metrics" */
    cJSON *arr = cJSON_DetachItemFromObject(o, "items");
    cJSON_AddItemToObject(o, "metrics", arr);
    *res = o;
    return STORE_OK;
}

/* ---- models ----------------------------------------------------------------------------- */

#define MODEL_COLS "id, job_id, algorithm, n, nh, m, task, created_at"

static cJSON *model_row(sqlite3_stmt *s) {
    cJSON *o = cJSON_CreateObject();
    add_col_text(o, "id", s, 0);
    add_col_text(o, "job_id", s, 1);
    add_col_text(o, "algorithm", s, 2);
    cJSON_AddNumberToObject(o, "inputs", sqlite3_column_int(s, 3));
    cJSON_AddNumberToObject(o, "hidden_units", sqlite3_column_int(s, 4));
    cJSON_AddNumberToObject(o, "outputs", sqlite3_column_int(s, 5));
    add_col_text(o, "task", s, 6);
    add_col_text(o, "created_at", s, 7);
    return o;
}

store_status store_model_insert(store *st, const char *job_id, const oig_model *mdl,
                                const char *doc, cJSON **res) {
    if (res) *res = NULL;
    char id[STORE_ID_MAX];
    store_new_id("mdl", id);
    if (begin(st) != 0) return STORE_ERROR;
    if (insert_model(st, id, job_id, mdl, doc) != STORE_OK || commit(st) != 0) {
        rollback(st);
        return STORE_ERROR;
    }
    return res ? store_model_get(st, id, res) : STORE_OK;
}

store_status store_model_doc(store *st, const char *id, char **doc) {
    *doc = NULL;
    sqlite3_stmt *s = prep(st, "SELECT doc FROM models WHERE id = ?1");
    if (!s) return STORE_ERROR;
    bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    store_status out = STORE_OK;
    if (rc == SQLITE_ROW) {
        *doc = strdup((const char *)sqlite3_column_text(s, 0));
        if (!*doc) out = STORE_ERROR;
    } else if (rc == SQLITE_DONE) out = STORE_NOTFOUND;
    else { set_err(st, "model"); out = STORE_ERROR; }
    release(st, s);
    return out;
}

store_status store_model_get(store *st, const char *id, cJSON **res) {
    *res = NULL;
    sqlite3_stmt *s = prep(st, "SELECT " MODEL_COLS " FROM models WHERE id = ?1");
    if (!s) return STORE_ERROR;
    bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    store_status out = STORE_OK;
    if (rc == SQLITE_ROW) *res = model_row(s);
    else if (rc == SQLITE_DONE) out = STORE_NOTFOUND;
    else { set_err(st, "model"); out = STORE_ERROR; }
    release(st, s);
    return out;
}

store_status store_model_list(store *st, const char *after, int limit, cJSON **res) {
    return list_after(st, "models", "SELECT " MODEL_COLS " FROM models WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                      model_row, after, limit, res);
}

/* The first alias (by name) that names model id into alias ("" when none); 0, or -1. */
static int alias_of_model(store *st, const char *id, char alias[STORE_ALIAS_MAX]) {
    alias[0] = 0;
    sqlite3_stmt *s = prep(st, "SELECT a.name FROM model_aliases a JOIN models m ON m.seq = a.model_seq "
                               "WHERE m.id = ?1 ORDER BY a.name LIMIT 1");
    if (!s) return -1;
    bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) snprintf(alias, STORE_ALIAS_MAX, "%s", (const char *)sqlite3_column_text(s, 0));
    release(st, s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) { set_err(st, "aliases"); return -1; }
    return 0;
}

store_status store_model_delete(store *st, const char *id, char alias[STORE_ALIAS_MAX]) {
    alias[0] = 0;
    if (begin(st) != 0) return STORE_ERROR;
    if (alias_of_model(st, id, alias) != 0) { rollback(st); return STORE_ERROR; }
    if (alias[0]) { rollback(st); return STORE_CONFLICT; }
    int rc = exec_with_id(st, "DELETE FROM models WHERE id = ?1", id);
    int changed = sqlite3_changes(st->db);
    if (rc != 0 || commit(st) != 0) { rollback(st); return STORE_ERROR; }
    return changed ? STORE_OK : STORE_NOTFOUND;
}

/* ---- model aliases ---- */

#define ALIAS_COLS "a.name, m.id, a.created_at, a.updated_at"
#define ALIAS_FROM " FROM model_aliases a JOIN models m ON m.seq = a.model_seq "

static cJSON *alias_row(sqlite3_stmt *s) {
    cJSON *o = cJSON_CreateObject();
    add_col_text(o, "name", s, 0);
    add_col_text(o, "model_id", s, 1);
    add_col_text(o, "created_at", s, 2);
    add_col_text(o, "updated_at", s, 3);
    return o;
}

int store_alias_name_ok(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n >= STORE_ALIAS_MAX || strncmp(name, "mdl_", 4) == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '_' && c != '-' && c != '.'))) return 0;
    }
    return 1;
}

store_status store_alias_get(store *st, const char *name, cJSON **res) {
    *res = NULL;
    sqlite3_stmt *s = prep(st, "SELECT " ALIAS_COLS ALIAS_FROM "WHERE a.name = ?1");
    if (!s) return STORE_ERROR;
    bind_text(s, 1, name);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) *res = alias_row(s);
    release(st, s);
    if (rc == SQLITE_ROW) return STORE_OK;
    if (rc == SQLITE_DONE) return STORE_NOTFOUND;
    set_err(st, "alias");
    return STORE_ERROR;
}

store_status store_alias_resolve(store *st, const char *name, char model_id[STORE_ID_MAX]) {
    model_id[0] = 0;
    sqlite3_stmt *s = prep(st, "SELECT m.id" ALIAS_FROM "WHERE a.name = ?1");
    if (!s) return STORE_ERROR;
    bind_text(s, 1, name);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) snprintf(model_id, STORE_ID_MAX, "%s", (const char *)sqlite3_column_text(s, 0));
    release(st, s);
    if (rc == SQLITE_ROW) return STORE_OK;
    if (rc == SQLITE_DONE) return STORE_NOTFOUND;
    set_err(st, "alias");
    return STORE_ERROR;
}

store_status store_alias_set(store *st, const char *name, const char *model_id, int *created, cJSON **res) {
    *res = NULL;
    *created = 0;
    char now[32];
    store_now(now);
    if (begin(st) != 0) return STORE_ERROR;
    sqlite3_stmt *s = prep(st, "SELECT 1 FROM model_aliases WHERE name = ?1");
    if (!s) { rollback(st); return STORE_ERROR; }
    bind_text(s, 1, name);
    int rc = sqlite3_step(s);
    release(st, s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) { set_err(st, "alias"); rollback(st); return STORE_ERROR; }
    *created = rc == SQLITE_DONE;
    s = prep(st, "INSERT INTO model_aliases(name, model_seq, created_at, updated_at) "
                 "SELECT ?1, seq, ?3, ?3 FROM models WHERE id = ?2 "
                 "ON CONFLICT(name) DO UPDATE SET model_seq = excluded.model_seq, updated_at = excluded.updated_at");
    if (!s) { rollback(st); return STORE_ERROR; }
    bind_text(s, 1, name);
    bind_text(s, 2, model_id);
    bind_text(s, 3, now);
    rc = step_done(st, s);
    int changed = sqlite3_changes(st->db);
    release(st, s);
    if (rc != 0) { rollback(st); return STORE_ERROR; }
    if (changed == 0) { rollback(st); return STORE_NOTFOUND; }   /* no such model */
    if (commit(st) != 0) { rollback(st); return STORE_ERROR; }
    return store_alias_get(st, name, res);
}

store_status store_alias_list(store *st, const char *after, int limit, cJSON **res) {
    *res = NULL;
    limit = clamp_limit(limit);
    sqlite3_stmt *s = prep(st, "SELECT " ALIAS_COLS ALIAS_FROM "WHERE a.name > ?1 ORDER BY a.name LIMIT ?2");
    if (!s) return STORE_ERROR;
    bind_text(s, 1, after ? after : "");
    sqlite3_bind_int(s, 2, limit + 1);
    return collect_page(st, s, alias_row, limit, "name", res);
}

store_status store_alias_delete(store *st, const char *name) {
    if (begin(st) != 0) return STORE_ERROR;
    int rc = exec_with_id(st, "DELETE FROM model_aliases WHERE name = ?1", name);
    int changed = sqlite3_changes(st->db);
    if (rc != 0 || commit(st) != 0) { rollback(st); return STORE_ERROR; }
    return changed ? STORE_OK : STORE_NOTFOUND;
}

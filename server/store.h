/* store.h -- the SQLite store: datasets, jobs, metrics, checkpoints and models.
 *
 * One `store` is one SQLite connection and belongs to one thread; a `store_set` hands each
 * thread its own connection to the same file. Every write is one BEGIN IMMEDIATE transaction,
 * every statement is prepared with bound parameters. Knows nothing of HTTP.
 */
#ifndef OIGD_STORE_H
#define OIGD_STORE_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include "oig.h"

typedef enum {
    STORE_OK = 0,
    STORE_NOTFOUND,     /* no such id (or nothing to claim) */
    STORE_CONFLICT,     /* the row is in a state that forbids the change */
    STORE_EINVAL,       /* an argument (e.g. a page cursor) names nothing valid */
    STORE_TOO_NEW,      /* the database was written by a newer oigd */
    STORE_ERROR         /* SQLite or allocation failure; the message says which */
} store_status;

#define STORE_ID_MAX 40
#define STORE_ALIAS_MAX 64      /* an alias name and its NUL */
#define STORE_LIST_MAX 1000

typedef struct store store;
typedef struct store_set store_set;

/* Migrations embedded at build time (cmake/embed_migrations.cmake). */
typedef struct { int version; const char *name; const char *sql; } oigd_migration;
extern const oigd_migration oigd_migrations[];
extern const int oigd_migration_count;

/* Open (creating if needed) the database at path: WAL, busy timeout, foreign keys, then apply
 * pending migrations in one transaction. Refuses a database newer than the embedded
 * migrations (STORE_TOO_NEW). err receives a message on failure. */
store_status store_open(const char *path, store **out, char *err, size_t errlen);
void store_close(store *st);
/* Open an existing file as it is, for a copy or a vacuum: never created, never migrated, any
 * schema version. */
store_status store_open_existing(const char *path, store **out, char *err, size_t errlen);
int store_user_version(store *st);
int store_latest_version(void);
int store_ready(store *st);            /* 1 when the connection answers and migrations are at head */
const char *store_errmsg(store *st);   /* the last error of this connection */

/* ---- disk space ----
 * Deleting rows frees pages inside the file. A database this oigd creates has SQLite's
 * incremental vacuum on: store_reclaim gives free pages back to the file system a few at a time
 * while the daemon runs. An older file needs one store_vacuum (`oigd vacuum`) first. */
typedef struct {
    long long page_size, pages, free_pages;   /* the file's pages, and those on its free list */
    int incremental;                           /* 1 when store_reclaim can shrink this file */
} store_space;
store_status store_space_get(store *st, store_space *sp);
/* Give up to max_pages free pages back in one short write transaction; *given receives how many
 * went, *left how many remain (all of them when the file is not incremental, which is not an
 * error). When none remain, a passive WAL checkpoint lets the file shrink at once. */
store_status store_reclaim(store *st, int max_pages, long long *given, long long *left);
/* What a copy holds. */
typedef struct {
    int version;                         /* schema version (user_version) */
    long long datasets, jobs, models;    /* rows */
    long long bytes;                     /* the copy's size */
} store_copy_info;
/* Write a consistent, compacted copy of the database to out_path, which must be absent or an empty
 * file (SQLite's VACUUM INTO: one read transaction, so writers go on meanwhile; the copy is not
 * synced to disk). Then check the copy (PRAGMA quick_check) and count what it holds into *info. */
store_status store_backup(store *st, const char *out_path, store_copy_info *info);
/* Rewrite the whole file without its free pages and turn incremental vacuum on (SQLite's VACUUM):
 * holds the write lock throughout and needs free disk space for a copy of the database. */
store_status store_vacuum(store *st);

/* A connection per thread, opened on first use and closed at thread exit or store_set_close. */
store_status store_set_open(const char *path, store_set **out, char *err, size_t errlen);
store *store_set_get(store_set *ss);   /* NULL if the connection cannot be opened */
void store_set_close(store_set *ss);

void store_new_id(const char *prefix, char out[STORE_ID_MAX]);
void store_now(char out[32]);          /* UTC, ISO 8601 with milliseconds */

/* ---- datasets ---- */
store_status store_dataset_insert(store *st, const char *name, const oig_data *d,
                                  const char *sha256_hex, cJSON **res);
store_status store_dataset_get(store *st, const char *id, cJSON **res);
store_status store_dataset_list(store *st, const char *after, int limit, cJSON **res);
store_status store_dataset_delete(store *st, const char *id);   /* CONFLICT: a queued/running job uses it */
store_status store_dataset_exists(store *st, const char *id);
store_status store_dataset_load(store *st, const char *id, oig_data **out);

/* ---- jobs ---- */
/* params is the validated request as JSON text. NOTFOUND when dataset_id is unknown. */
store_status store_job_insert(store *st, const char *dataset_id, const char *params,
                              const char *algorithm, int hidden_units, int max_iterations,
                              cJSON **res);
store_status store_job_get(store *st, const char *id, cJSON **res);
store_status store_job_status(store *st, const char *id, char status[16]);
store_status store_job_list(store *st, const char *status, const char *after, int limit, cJSON **res);
/* Jobs per status, in the order of store_job_statuses (queued, running, succeeded, failed,
 * cancelled). */
#define STORE_JOB_NSTATUS 5
extern const char *const store_job_statuses[STORE_JOB_NSTATUS];
store_status store_job_counts(store *st, long long counts[STORE_JOB_NSTATUS]);
/* queued -> cancelled at once (*was_running = 0); running -> cancel_requested (*was_running = 1);
 * CONFLICT when the job already finished. */
store_status store_job_cancel(store *st, const char *id, int *was_running);
/* One transaction: the job, its metrics and its checkpoint if any (its model stays). CONFLICT
 * while it is queued or running. */
store_status store_job_delete(store *st, const char *id);
/* Oldest queued job -> running in one statement; NOTFOUND when none is queued. */
store_status store_job_claim(store *st, char id[STORE_ID_MAX]);
/* Every running job back to queued (start-up after a crash); *count receives how many. */
store_status store_job_requeue_running(store *st, int *count);
store_status store_job_requeue(store *st, const char *id);
store_status store_job_params(store *st, const char *id, char **params, char dataset_id[STORE_ID_MAX]);

typedef struct {
    int iteration;
    double train_mse, val_mse, train_err, val_err;   /* NaN is stored as NULL */
    double multiplies, seconds;
} store_metric;

/* One transaction: append rows, set the job's latest values from latest (NULL: the last row)
 * and, when ckpt_doc is not NULL, replace its checkpoint (the model at ckpt_iteration). */
store_status store_job_progress(store *st, const char *id, const store_metric *rows, int nrows,
                                const store_metric *latest, const char *ckpt_doc, int ckpt_iteration);
store_status store_job_checkpoint(store *st, const char *id, char **doc, int *iteration);
/* Delete metrics rows with iteration > after (after = -1: all of them). */
store_status store_job_trim_metrics(store *st, const char *id, int after);
/* One transaction: insert the model (when mdl_doc is not NULL), set the job's final status,
 * error and model_id, drop its checkpoint. */
store_status store_job_finish(store *st, const char *id, const char *status, const char *error,
                              const oig_model *mdl, const char *mdl_doc, char model_id[STORE_ID_MAX]);
/* A page of a job's metrics: iterations after `after` that are multiples of `every` (1: all),
 * at most limit, with next_after. */
store_status store_metrics_list(store *st, const char *job_id, int after, int limit, int every, cJSON **res);

/* ---- models ---- */
store_status store_model_insert(store *st, const char *job_id, const oig_model *mdl,
                                const char *doc, cJSON **res);
store_status store_model_doc(store *st, const char *id, char **doc);
store_status store_model_get(store *st, const char *id, cJSON **res);
store_status store_model_list(store *st, const char *after, int limit, cJSON **res);
/* CONFLICT when an alias names the model (alias receives the first such name). */
store_status store_model_delete(store *st, const char *id, char alias[STORE_ALIAS_MAX]);

/* ---- model aliases: stable names that resolve to a model id ---- */
/* 1 when name can be an alias: 1-63 letters, digits, '_', '-' and '.', starting with a letter or
 * digit, and not "mdl_..." (so that a model path segment is an id or an alias, never both). */
int store_alias_name_ok(const char *name);
/* Create or move an alias; *created says which. NOTFOUND when model_id names no model. res as
 * store_alias_get's. */
store_status store_alias_set(store *st, const char *name, const char *model_id, int *created, cJSON **res);
store_status store_alias_get(store *st, const char *name, cJSON **res);   /* {name, model_id, ...} */
store_status store_alias_resolve(store *st, const char *name, char model_id[STORE_ID_MAX]);
/* Aliases by name, after the name `after` (NULL: from the first). */
store_status store_alias_list(store *st, const char *after, int limit, cJSON **res);
store_status store_alias_delete(store *st, const char *name);

#endif

/* handlers.c -- one function per endpoint: validate the request, call the store (or the pool),
 * answer JSON. A rejected request changes nothing: every check runs before the one store call
 * that writes. Error replies go through api_problem only. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "body.h"
#include "job.h"
#include "handlers_related.h"
#include "model_doc.h"
#include "predict_text.h"
#include "score_doc.h"
#include "sha256.h"

#ifndef OIGD_VERSION
#define OIGD_VERSION "0.0.0"
#endif

static const char *query(api_req *rq, const char *key) {
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

enum MHD_Result api_store_failure(api_req *rq, store *st) {
    fprintf(stderr, "oigd: %s %s id=%s: store: %s\n", rq->method, rq->path, rq->request_id,
            st ? store_errmsg(st) : "unavailable");
    return api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
}

/* Parse an optional integer (NULL or "" gives dflt). -1 on a malformed value. */
static int int_value(const char *v, long lo, long hi, long dflt, long *out) {
    *out = dflt;
    if (!v || !*v) return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < lo || n > hi) return -1;
    *out = n;
    return 0;
}

/* Parse an optional integer query parameter. -1 on a malformed value. */
static int query_int(api_req *rq, const char *key, long lo, long hi, long dflt, long *out) {
    return int_value(query(rq, key), lo, hi, dflt, out);
}

static enum MHD_Result require_json(api_req *rq) {
    char ct[64];
    api_content_type(rq, ct, sizeof ct);
    if (strcmp(ct, "application/json") == 0) return MHD_YES;
    return api_problem(rq, API_E_MEDIA_TYPE, "expected Content-Type: application/json", NULL, NULL);
}

static void location(char *out, size_t n, const char *kind, cJSON *res) {
    cJSON *id = cJSON_GetObjectItemCaseSensitive(res, "id");
    snprintf(out, n, "/v1/%s/%s", kind, cJSON_IsString(id) ? id->valuestring : "");
}

/* Reply for a list/get store call. */
static enum MHD_Result reply_store(api_req *rq, store *st, store_status rc, cJSON *res, const char *what) {
    switch (rc) {
    case STORE_OK: return api_reply_json(rq, 200, res, NULL);
    case STORE_NOTFOUND: {
        char msg[128];
        snprintf(msg, sizeof msg, "no %s with that id", what);
        return api_problem(rq, API_E_NOT_FOUND, msg, NULL, NULL);
    }
    case STORE_EINVAL: return api_invalid(rq, "after", "names no item of this list");
    default: return api_store_failure(rq, st);
    }
}

/* The engine parser's error on a body: 400 for text it cannot read (with the line and column
 * when with_position), 422 for rows it read that do not fit, 500 out of memory. */
static enum MHD_Result data_error(api_req *rq, oig_status os, const oig_error *err, int with_position) {
    if (os == OIG_ENOMEM) return api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
    cJSON *errs = cJSON_CreateArray();
    cJSON_AddItemToArray(errs, api_error_item(with_position ? err->line : 0, with_position ? err->column : 0,
                                              err->field, err->message));
    char detail[400];
    if (err->line > 0 && with_position)
        snprintf(detail, sizeof detail, "line %d, column %d: %s", err->line, err->column, err->message);
    else snprintf(detail, sizeof detail, "%s", err->message[0] ? err->message : oig_status_name(os));
    return api_problem(rq, os == OIG_EPARSE ? API_E_BAD_REQUEST : API_E_INVALID, detail, errs, NULL);
}

/* ---- datasets --------------------------------------------------------------------------- */

/* Write one CSV field (quoted when it holds a comma, quote or line break). */
static int csv_field(char **buf, size_t *len, size_t *cap, const char *s, int quote) {
    size_t need = strlen(s) * 2 + 4;
    if (*len + need + 2 > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + need + 2) c *= 2;
        char *b = realloc(*buf, c);
        if (!b) return -1;
        *buf = b;
        *cap = c;
    }
    char *o = *buf + *len;
    if (quote) *o++ = '"';
    for (; *s; s++) {
        if (quote && *s == '"') *o++ = '"';
        *o++ = *s;
    }
    if (quote) *o++ = '"';
    *len = (size_t)(o - *buf);
    return 0;
}

/* Convert {"name","columns","rows","targets","task"} into CSV text that oig_data_parse reads,
 * so both upload forms give the same dataset. Returns NULL after replying 422. */
static char *json_dataset_csv(api_req *rq, cJSON *j, size_t *outlen, char **targets, const char **task,
                              const char **name, enum MHD_Result *ret) {
    const cJSON *e;
    cJSON *cols = NULL, *rows = NULL;
    *targets = NULL;
    cJSON_ArrayForEach(e, j) {
        if (strcmp(e->string, "name") == 0) {
            if (!cJSON_IsString(e)) { free(*targets); *targets = NULL; *ret = api_invalid(rq, "name", "expected a string"); return NULL; }
            *name = e->valuestring;
        } else if (strcmp(e->string, "columns") == 0) cols = (cJSON *)e;
        else if (strcmp(e->string, "rows") == 0) rows = (cJSON *)e;
        else if (strcmp(e->string, "task") == 0) {
            if (!cJSON_IsString(e)) { free(*targets); *targets = NULL; *ret = api_invalid(rq, "task", "expected a string"); return NULL; }
            *task = e->valuestring;
        } else if (strcmp(e->string, "targets") == 0) {
            char t[1024] = "";
            size_t tl = 0;
            if (cJSON_IsString(e)) snprintf(t, sizeof t, "%s", e->valuestring);
            else if (cJSON_IsArray(e)) {
                const cJSON *x;
                cJSON_ArrayForEach(x, e) {
                    if (!cJSON_IsString(x) || tl + strlen(x->valuestring) + 2 >= sizeof t) {
                        free(*targets); *targets = NULL;
                        *ret = api_invalid(rq, "targets", "expected column names");
                        return NULL;
                    }
                    tl += (size_t)snprintf(t + tl, sizeof t - tl, "%s%s", tl ? "," : "", x->valuestring);
                }
            } else {
                free(*targets); *targets = NULL;
                *ret = api_invalid(rq, "targets", "expected a column name or an array of names");
                return NULL;
            }
            free(*targets);
            *targets = strdup(t);
        } else {
            free(*targets); *targets = NULL;
            static const char *const known[] = { "name", "columns", "rows", "task", "targets" };
            *ret = api_unknown_field(rq, e->string, known, sizeof known / sizeof known[0]);
            return NULL;
        }
    }
    const char *bad = NULL, *why = NULL;
    char field[64];
    int ncols = cols ? cJSON_GetArraySize(cols) : 0;
    if (!cJSON_IsArray(cols) || ncols < 2) { bad = "columns"; why = "expected an array of at least two names"; }
    else if (!cJSON_IsArray(rows) || cJSON_GetArraySize(rows) < 1) { bad = "rows"; why = "expected a non-empty array of rows"; }
    if (bad) { free(*targets); *targets = NULL; *ret = api_invalid(rq, bad, why); return NULL; }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int i = 0;
    cJSON_ArrayForEach(e, cols) {
        if (!cJSON_IsString(e)) { snprintf(field, sizeof field, "columns[%d]", i); why = "expected a string"; goto fail; }
        if ((i && csv_field(&buf, &len, &cap, ",", 0)) || csv_field(&buf, &len, &cap, e->valuestring, 1)) goto nomem;
        i++;
    }
    if (csv_field(&buf, &len, &cap, "\n", 0)) goto nomem;
    int r = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, rows) {
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != ncols) {
            snprintf(field, sizeof field, "rows[%d]", r);
            why = "expected an array with one value per column";
            goto fail;
        }
        int c = 0;
        cJSON_ArrayForEach(e, row) {
            char num[40];
            if (c && csv_field(&buf, &len, &cap, ",", 0)) goto nomem;
            if (cJSON_IsNumber(e)) {
                if (!isfinite(e->valuedouble)) { why = "expected a finite number"; goto cell; }
                snprintf(num, sizeof num, "%.17g", e->valuedouble);
                if (csv_field(&buf, &len, &cap, num, 0)) goto nomem;
            } else if (cJSON_IsString(e)) {
                if (csv_field(&buf, &len, &cap, e->valuestring, 1)) goto nomem;
            } else { why = "expected a number or a class label"; goto cell; }
            c++;
            continue;
        cell:
            snprintf(field, sizeof field, "rows[%d][%d]", r, c);
            goto fail;
        }
        if (csv_field(&buf, &len, &cap, "\n", 0)) goto nomem;
        r++;
    }
    *outlen = len;
    return buf;
fail:
    free(buf); free(*targets); *targets = NULL;
    *ret = api_invalid(rq, field, why);
    return NULL;
nomem:
    free(buf); free(*targets); *targets = NULL;
    *ret = api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
    return NULL;
}

/* A request's parameters by name (keys), from the query string or from a form's fields, and a
 * form's file. */
enum { PARAMS_MAX = 5, FORM_PARTS_MAX = 16 };
typedef struct {
    const char *const *keys;
    int nkeys;
    const char *v[PARAMS_MAX];  /* each key's value, NULL when not given */
    char form[PARAMS_MAX][201]; /* a form field's value, NUL-terminated */
    char filename[256];         /* a form's file name without its directory, at most 200 bytes */
    const char *text;           /* the data: the body, or a form's file inside it */
    size_t tlen;
} params;

static void params_init(api_req *rq, params *pa, const char *const *keys, int nkeys) {
    memset(pa, 0, sizeof *pa);
    pa->keys = keys;
    pa->nkeys = nkeys;
    for (int k = 0; k < nkeys; k++) pa->v[k] = query(rq, keys[k]);
    pa->text = rq->body ? rq->body : "";
    pa->tlen = rq->len;
}

/* A multipart/form-data body (curl -F file=@data.csv): the file part's content becomes pa's text
 * (inside the body), the other parts fill pa's keys that the query left empty. 0, or -1 with the
 * reply sent. */
static int params_read_form(api_req *rq, params *pa, enum MHD_Result *ret) {
    char boundary[72], err[160];
    api_form_part parts[FORM_PARTS_MAX];
    int n = 0;
    if (api_multipart_boundary(MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "Content-Type"), boundary,
                               sizeof boundary) != 0) {
        *ret = api_problem(rq, API_E_BAD_REQUEST, "multipart/form-data needs a boundary parameter of 1 to 70 characters",
                           NULL, NULL);
        return -1;
    }
    if (api_multipart_parse(pa->text, pa->tlen, boundary, parts, FORM_PARTS_MAX, &n, err, sizeof err) != 0) {
        *ret = api_problem(rq, API_E_BAD_REQUEST, err, NULL, NULL);
        return -1;
    }
    const api_form_part *file = NULL;
    for (int i = 0; i < n; i++) {
        const api_form_part *p = &parts[i];
        if (p->filename[0] || strcmp(p->name, "file") == 0) {
            if (file) { *ret = api_invalid(rq, p->name, "one file per request"); return -1; }
            file = p;
            continue;
        }
        int k = 0;
        while (k < pa->nkeys && strcmp(p->name, pa->keys[k]) != 0) k++;
        if (k == pa->nkeys) {
            char msg[200];
            int m = snprintf(msg, sizeof msg, "unknown field: the form takes a file and the field%s",
                             pa->nkeys == 1 ? "" : "s");
            for (int j = 0; j < pa->nkeys && m > 0 && (size_t)m < sizeof msg; j++)
                m += snprintf(msg + m, sizeof msg - (size_t)m, "%s%s", j == 0 ? " " : j + 1 == pa->nkeys ? " and " : ", ",
                              pa->keys[j]);
            *ret = api_invalid(rq, p->name, msg);
            return -1;
        }
        if (pa->v[k]) { *ret = api_invalid(rq, p->name, "given both in the query string and in the form"); return -1; }
        if (p->len > 200) { *ret = api_invalid(rq, p->name, "at most 200 characters"); return -1; }
        memcpy(pa->form[k], p->data, p->len);
        pa->form[k][p->len] = 0;
        pa->v[k] = pa->form[k];
    }
    if (!file) {
        *ret = api_invalid(rq, "file", "the form has no file: send the data as a part with a filename (curl -F file=@data.csv)");
        return -1;
    }
    if (strcmp(file->ctype, "application/json") == 0) {
        *ret = api_problem(rq, API_E_MEDIA_TYPE, "a form's file is read as CSV or whitespace-separated text; send JSON "
                           "as the body with Content-Type: application/json", NULL, NULL);
        return -1;
    }
    if (file->len == 0) { *ret = api_invalid(rq, "file", "the file is empty"); return -1; }
    const char *base = strrchr(file->filename, '/');           /* a browser may send a path */
    if (!base) base = strrchr(file->filename, '\\');
    snprintf(pa->filename, sizeof pa->filename, "%s", base ? base + 1 : file->filename);
    size_t fl = strlen(pa->filename);                            /* at most 200 bytes, */
    while (fl > 200 || (fl > 0 && ((unsigned char)pa->filename[fl] & 0xC0) == 0x80)) fl--;   /* whole characters */
    pa->filename[fl] = 0;
    pa->text = file->data;
    pa->tlen = file->len;
    return 0;
}

/* An upload's parameters. */
enum { UP_FORMAT, UP_TASK, UP_NAME, UP_TARGETS, UP_OUTPUTS, UP_COUNT };
static const char *const upload_keys[UP_COUNT] = {"format", "task", "name", "targets", "outputs"};

static enum MHD_Result dataset_upload(api_req *rq) {
    char ct[64];
    api_content_type(rq, ct, sizeof ct);
    int is_json = strcmp(ct, "application/json") == 0;
    int is_form = strcmp(ct, "multipart/form-data") == 0;
    int is_text = strcmp(ct, "text/csv") == 0 || strcmp(ct, "text/plain") == 0 || is_form;
    if (!is_json && !is_text)
        return api_problem(rq, API_E_MEDIA_TYPE, "expected Content-Type text/csv, text/plain, application/json or "
                           "multipart/form-data (curl -F file=@data.csv)", NULL, NULL);
    if (rq->len == 0) return api_problem(rq, API_E_BAD_REQUEST, "the body is empty", NULL, NULL);
    params up;
    params_init(rq, &up, upload_keys, UP_COUNT);
    enum MHD_Result ret = MHD_YES;
    if (is_form && params_read_form(rq, &up, &ret) != 0) return ret;
    const char *text = up.text;
    size_t tlen = up.tlen;
    oig_parse_opts opts;
    oig_parse_opts_init(&opts);
    const char *format = up.v[UP_FORMAT], *task = up.v[UP_TASK], *name = up.v[UP_NAME];
    const char *targets = up.v[UP_TARGETS];
    long outputs;
    if (format && *format) {
        if (strcmp(format, "json") == 0) {
            if (!is_json) return api_problem(rq, API_E_MEDIA_TYPE, "format=json needs Content-Type: application/json", NULL, NULL);
        } else if (strcmp(format, "csv") == 0) opts.format = OIG_FORMAT_CSV;
        else if (strcmp(format, "ws") == 0) opts.format = OIG_FORMAT_WS;
        else if (strcmp(format, "auto") != 0) return api_invalid(rq, "format", "expected csv, ws or json");
        if (is_json && strcmp(format, "json") != 0 && strcmp(format, "auto") != 0)
            return api_problem(rq, API_E_MEDIA_TYPE, "a csv or ws body needs Content-Type text/csv or text/plain", NULL, NULL);
    }
    if (int_value(up.v[UP_OUTPUTS], 1, 100000, 0, &outputs) != 0) return api_invalid(rq, "outputs", "expected an integer >= 1");
    opts.outputs = (int)outputs;
    if (name && strlen(name) > 200) return api_invalid(rq, "name", "at most 200 characters");
    if (!name && up.filename[0]) name = up.filename;

    char *csv = NULL, *jtargets = NULL;
    cJSON *j = NULL;
    if (is_json) {
        if (!(j = api_parse_json(rq, &ret))) return ret;
        if (!cJSON_IsObject(j)) { cJSON_Delete(j); return api_invalid(rq, "body", "expected a JSON object"); }
        const char *jname = NULL, *jtask = NULL;
        csv = json_dataset_csv(rq, j, &tlen, &jtargets, &jtask, &jname, &ret);
        if (!csv) { cJSON_Delete(j); return ret; }
        if (!name && jname) name = jname;
        if (!task && jtask) task = jtask;
        if (!targets && jtargets && *jtargets) targets = jtargets;
        text = csv;
        opts.format = OIG_FORMAT_CSV;
    } else if (rq->mapped) {
        opts.release = api_release_pages;
    }
    if (task && *task) {
        if (strcmp(task, "regression") == 0) opts.task = OIG_REGRESSION;
        else if (strcmp(task, "classification") == 0) opts.task = OIG_CLASSIFICATION;
        else { ret = api_invalid(rq, "task", "expected regression or classification"); goto out; }
    }
    if (name && strlen(name) > 200) { ret = api_invalid(rq, "name", "at most 200 characters"); goto out; }
    opts.targets = targets && *targets ? targets : NULL;

    oig_data *d = NULL;
    oig_error err;
    memset(&err, 0, sizeof err);
    oig_status os = oig_data_parse(text, tlen, &opts, &d, &err);
    if (os != OIG_OK) {
        ret = data_error(rq, os, &err, !is_json);
        goto out;
    }
    const config *cfg = rq->srv->cfg;
    long cols = (long)d->n + (long)d->m;
    if (d->nrows > (size_t)cfg->max_rows || cols > cfg->max_columns) {
        int rows_over = d->nrows > (size_t)cfg->max_rows;
        char detail[200];
        if (rows_over) snprintf(detail, sizeof detail, "the dataset has %zu rows; at most %ld are allowed", d->nrows, cfg->max_rows);
        else snprintf(detail, sizeof detail, "the dataset has %ld columns (inputs + outputs); at most %ld are allowed", cols, cfg->max_columns);
        oig_data_free(d);
        api_metrics_limit(rq->srv->metrics, rows_over ? API_LIMIT_ROWS : API_LIMIT_COLUMNS);
        ret = api_problem(rq, API_E_DATASET_TOO_LARGE, detail, NULL, NULL);
        goto out;
    }
    char sha[65];                       /* summed as the body arrived (body.c); a form's, of its file */
    if (is_form) sha256_hex(text, tlen, sha);
    else sha256_final_hex(&rq->body_sha, sha);
    store *st = api_store(rq);
    cJSON *res = NULL;
    store_status rc = st ? store_dataset_insert(st, name, d, sha, &res) : STORE_ERROR;
    oig_data_free(d);
    if (rc != STORE_OK) { ret = api_store_failure(rq, st); goto out; }
    char loc[128];
    location(loc, sizeof loc, "datasets", res);
    ret = api_reply_json(rq, 201, res, loc);
out:
    free(csv);
    free(jtargets);
    cJSON_Delete(j);
    return ret;
}

static enum MHD_Result datasets(api_req *rq, const api_match *m) {
    store *st = api_store(rq);
    if (!st) return api_store_failure(rq, st);
    cJSON *res = NULL;
    long limit;
    if (m->route == API_R_DATASETS) {
        if (strcmp(rq->method, "POST") == 0) return dataset_upload(rq);
        if (query_int(rq, "limit", 1, STORE_LIST_MAX, 50, &limit)) return api_invalid(rq, "limit", "expected an integer 1..1000");
        store_status rc = store_dataset_list(st, query(rq, "after"), (int)limit, &res);
        return reply_store(rq, st, rc, res, "dataset");
    }
    if (m->route == API_R_DATASET_DATA) return api_dataset_export(rq, st, m->id);
    if (strcmp(rq->method, "DELETE") == 0) {
        store_status rc = store_dataset_delete(st, m->id);
        if (rc == STORE_OK) return api_reply_empty(rq, 204);
        if (rc == STORE_CONFLICT)
            return api_problem(rq, API_E_CONFLICT, "a queued or running job uses this dataset", NULL, NULL);
        return reply_store(rq, st, rc, NULL, "dataset");
    }
    store_status rc = store_dataset_get(st, m->id, &res);
    return reply_store(rq, st, rc, res, "dataset");
}

/* ---- jobs ------------------------------------------------------------------------------- */

static enum MHD_Result job_create(api_req *rq, store *st) {
    if (require_json(rq) != MHD_YES || rq->replied) return MHD_YES;
    enum MHD_Result ret = MHD_YES;
    cJSON *j = api_parse_json(rq, &ret);
    if (!j) return ret;
    job_spec spec;
    oig_error err;
    char *norm = NULL;
    oig_status os = job_spec_parse(j, &spec, &norm, &err);
    cJSON_Delete(j);
    if (os != OIG_OK) {
        if (os == OIG_ENOMEM) return api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
        cJSON *errs = cJSON_CreateArray();
        cJSON_AddItemToArray(errs, api_error_item(0, 0, err.field, err.message));
        return api_problem(rq, API_E_INVALID, err.message, errs, NULL);
    }
    if (spec.distributed && !rq->srv->cfg->mpi_launcher[0]) {
        free(norm);
        return api_invalid(rq, "distributed",
                       "the daemon was started without --mpi-launcher (OIGD_MPI_LAUNCHER), so it "
                       "cannot start MPI ranks; leave out \"distributed\" to train in the daemon, or "
                       "restart it with e.g. --mpi-launcher 'mpirun -np 4 --hostfile FILE'");
    }
    long long counts[STORE_JOB_NSTATUS];
    if (store_job_counts(st, counts) != STORE_OK) { free(norm); return api_store_failure(rq, st); }
    if (counts[0] >= rq->srv->cfg->max_queued_jobs) {
        free(norm);
        char detail[128];
        snprintf(detail, sizeof detail, "%lld jobs are queued; at most %d may wait", counts[0], rq->srv->cfg->max_queued_jobs);
        api_metrics_limit(rq->srv->metrics, API_LIMIT_QUEUED_JOBS);
        return api_problem_retry(rq, API_E_TOO_MANY, detail);
    }
    if (spec.cfg.algorithm == OIG_ALG_NGMNN) {
        /* ngmnn trains classifiers only: refuse a regression dataset now rather than fail later */
        cJSON *ds = NULL;
        if (store_dataset_get(st, spec.dataset_id, &ds) == STORE_OK) {
            cJSON *task = cJSON_GetObjectItemCaseSensitive(ds, "task");
            int regression = cJSON_IsString(task) && strcmp(task->valuestring, "regression") == 0;
            cJSON_Delete(ds);
            if (regression) {
                free(norm);
                return api_invalid(rq, "algorithm", "ngmnn trains classifiers only; the dataset is a regression task");
            }
        }
    }
    if (spec.init_model_id[0]) {
        /* the warm-start model must exist and fit the dataset now, not fail the job later */
        const char *why = api_init_model_check(st, spec.init_model_id, spec.dataset_id, &spec.cfg);
        if (why) {
            free(norm);
            return api_invalid(rq, "init_model_id", why);
        }
    }
    cJSON *res = NULL;
    store_status rc = store_job_insert(st, spec.dataset_id, norm, oig_algorithm_name(spec.cfg.algorithm),
                                       spec.cfg.nh, spec.cfg.max_iterations, &res);
    free(norm);
    if (rc == STORE_NOTFOUND) return api_invalid(rq, "dataset_id", "no dataset with that id");
    if (rc != STORE_OK) return api_store_failure(rq, st);
    cJSON *id = cJSON_GetObjectItemCaseSensitive(res, "id");
    fprintf(stderr, "oigd: job %s queued\n", cJSON_IsString(id) ? id->valuestring : "?");
    pool_notify(rq->srv->pool);
    char loc[128];
    location(loc, sizeof loc, "jobs", res);
    return api_reply_json(rq, 202, res, loc);
}

static enum MHD_Result job_cancel(api_req *rq, store *st, const char *id) {
    int was_running = 0;
    store_status rc = store_job_cancel(st, id, &was_running);
    if (rc == STORE_CONFLICT) return api_problem(rq, API_E_CONFLICT, "the job has already finished", NULL, NULL);
    if (rc != STORE_OK) return reply_store(rq, st, rc, NULL, "job");
    if (was_running) {
        pool_cancel(rq->srv->pool, id);
        fprintf(stderr, "oigd: job %s cancel requested\n", id);
    } else {
        fprintf(stderr, "oigd: job %s cancelled\n", id);
        hub_publish_status(rq->srv->hub, id, "cancelled");
    }
    cJSON *res = NULL;
    rc = store_job_get(st, id, &res);
    if (rc != STORE_OK) return reply_store(rq, st, rc, res, "job");
    char loc[128];
    location(loc, sizeof loc, "jobs", res);
    return api_reply_json(rq, 202, res, loc);
}

static enum MHD_Result jobs(api_req *rq, const api_match *m) {
    store *st = api_store(rq);
    if (!st) return api_store_failure(rq, st);
    cJSON *res = NULL;
    long limit;
    store_status rc;
    switch (m->route) {
    case API_R_JOBS: {
        if (strcmp(rq->method, "POST") == 0) return job_create(rq, st);
        const char *status = query(rq, "status");
        if (status && *status && strcmp(status, "queued") && strcmp(status, "running") &&
            strcmp(status, "succeeded") && strcmp(status, "failed") && strcmp(status, "cancelled"))
            return api_invalid(rq, "status", "expected queued, running, succeeded, failed or cancelled");
        if (query_int(rq, "limit", 1, STORE_LIST_MAX, 50, &limit)) return api_invalid(rq, "limit", "expected an integer 1..1000");
        rc = store_job_list(st, status, query(rq, "after"), (int)limit, &res);
        return reply_store(rq, st, rc, res, "job");
    }
    case API_R_JOB:
        if (strcmp(rq->method, "DELETE") == 0) {
            rc = store_job_delete(st, m->id);
            if (rc == STORE_OK) return api_reply_empty(rq, 204);
            if (rc == STORE_CONFLICT)
                return api_problem(rq, API_E_CONFLICT, "the job is queued or running: cancel it first", NULL, NULL);
            return reply_store(rq, st, rc, NULL, "job");
        }
        rc = store_job_get(st, m->id, &res);
        return reply_store(rq, st, rc, res, "job");
    case API_R_JOB_CANCEL:
        return job_cancel(rq, st, m->id);
    case API_R_JOB_METRICS: {
        long after;
        if (query_int(rq, "after", -1, 1000000000L, -1, &after)) return api_invalid(rq, "after", "expected an iteration number");
        if (query_int(rq, "limit", 1, 10000, 1000, &limit)) return api_invalid(rq, "limit", "expected an integer 1..10000");
        long every;
        if (query_int(rq, "every", 1, 1000000000L, 1, &every)) return api_invalid(rq, "every", "expected an integer 1..1000000000");
        rc = store_metrics_list(st, m->id, (int)after, (int)limit, (int)every, &res);
        return reply_store(rq, st, rc, res, "job");
    }
    default:
        return api_events(rq, m->id);
    }
}

/* ---- models ----------------------------------------------------------------------------- */

static enum MHD_Result model_import(api_req *rq, store *st) {
    if (require_json(rq) != MHD_YES || rq->replied) return MHD_YES;
    oig_model *mdl = NULL;
    oig_error err;
    memset(&err, 0, sizeof err);
    oig_status os = model_doc_read(rq->body ? rq->body : "", rq->len, &mdl, &err);
    if (os != OIG_OK) {
        if (os == OIG_ENOMEM) return api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
        cJSON *errs = cJSON_CreateArray();
        cJSON_AddItemToArray(errs, api_error_item(err.line, err.column, err.field, err.message));
        return api_problem(rq, os == OIG_EPARSE ? API_E_BAD_REQUEST : API_E_INVALID,
                           err.message[0] ? err.message : "not a model document", errs, NULL);
    }
    char *doc = model_doc_write(mdl, NULL);
    cJSON *res = NULL;
    store_status rc = doc ? store_model_insert(st, NULL, mdl, doc, &res) : STORE_ERROR;
    free(doc);
    oig_model_free(mdl);
    if (rc != STORE_OK) return api_store_failure(rq, st);
    char loc[128];
    location(loc, sizeof loc, "models", res);
    return api_reply_json(rq, 201, res, loc);
}

/* A text/csv predict, or a form with a CSV file: a header row, then rows holding the model's
 * inputs (found by name when the model has input names, else the first N columns; other columns
 * are ignored); the answer is CSV as `oigd predict` writes it, with the model's id in
 * Oigd-Model-Id. exit=K (query or form field) picks an anytime model's exit. */
static enum MHD_Result predict_csv(api_req *rq, const oig_model *mdl, const char *id, int is_form) {
    text_record fr = { 0 };
    double *x = NULL, *y = NULL;
    int *cls = NULL, *cols = NULL;
    size_t nrows = 0;
    enum MHD_Result ret;
    long exit_k;
    char msg[256];
    oig_error err;
    memset(&err, 0, sizeof err);
    oig_parse_opts opts;
    oig_parse_opts_init(&opts);
    opts.format = OIG_FORMAT_CSV;
    opts.header = 1;
    static const char *const keys[1] = {"exit"};
    params pa;
    params_init(rq, &pa, keys, 1);
    if (is_form && params_read_form(rq, &pa, &ret) != 0) return ret;
    const char *body = pa.text;
    size_t blen = pa.tlen;
    if (int_value(pa.v[0], 1, oig_model_exit_count(mdl), 0, &exit_k)) {
        snprintf(msg, sizeof msg, "expected an exit number from 1 to %d", oig_model_exit_count(mdl));
        return api_invalid(rq, "exit", msg);
    }
    if (blen == 0 || text_record_read(body, blen, OIG_FORMAT_CSV, 1, &fr) != 0)
        return api_problem(rq, API_E_BAD_REQUEST, "expected CSV: a header row, then one row per prediction", NULL, NULL);
    oig_status os;
    if (!(cols = malloc((size_t)mdl->n * sizeof *cols))) {
        ret = api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
    } else if (text_input_columns(mdl, &fr, NULL, -1, "the CSV", cols, msg, sizeof msg) != 0) {
        ret = api_invalid(rq, "columns", msg);
    } else if ((os = text_read_inputs(mdl, body, blen, &opts, &fr, cols, &x, &nrows, &err)) != OIG_OK) {
        ret = data_error(rq, os, &err, 1);
    } else if (!(y = malloc(nrows * (size_t)mdl->m * sizeof *y + 1)) || !(cls = malloc(nrows * sizeof *cls + 1)) ||
               oig_model_predict_exit(mdl, (int)exit_k - 1, x, nrows, y, cls) != OIG_OK) {
        ret = api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
    } else {
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        if (f) text_write_predictions(f, mdl, y, cls, nrows);
        if (!f || fclose(f) != 0) {
            free(out);
            ret = api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
        } else {
            /* the JSON answer's model_id, as a header */
            ret = api_reply_text_header(rq, 200, "text/csv; charset=utf-8", out, len, "Oigd-Model-Id", id);
        }
    }
    text_record_free(&fr);
    free(cols);
    free(x);
    free(y);
    free(cls);
    return ret;
}

static enum MHD_Result model_predict(api_req *rq, store *st, const char *id) {
    /* the model first: an unknown id is 404 whatever the body */
    store_status rc;
    const oig_model *mdl = api_model_cache_get(rq->srv->models, st, id, &rc);
    if (!mdl) return reply_store(rq, st, rc, NULL, "model");
    enum MHD_Result ret = MHD_YES;
    char ctype[64];
    api_content_type(rq, ctype, sizeof ctype);
    if (strcmp(ctype, "text/csv") == 0 || strcmp(ctype, "multipart/form-data") == 0) {
        ret = predict_csv(rq, mdl, id, ctype[0] == 'm');
        api_model_cache_put(rq->srv->models, mdl);
        return ret;
    }
    cJSON *j = NULL, *res = NULL;
    double *x = NULL, *y = NULL;
    int *cls = NULL;
    size_t n = (size_t)mdl->n, mo = (size_t)mdl->m;
    if (strcmp(ctype, "application/json") != 0) {
        ret = api_problem(rq, API_E_MEDIA_TYPE, "expected Content-Type application/json, text/csv or multipart/form-data "
                          "(curl -F file=@rows.csv)", NULL, NULL);
        goto out;
    }
    size_t fast_rows;
    int exit_k = 0;    /* anytime exit, 1 = earliest; 0 = the last */
    int nrows;
    if (rq->body && api_predict_body_read(rq->body, rq->len, n, oig_model_exit_count(mdl), &x, &fast_rows, &exit_k) &&
        fast_rows <= INT_MAX) {
        nrows = (int)fast_rows;
        goto predict;
    }
    free(x);
    x = NULL;
    if (!(j = api_parse_json(rq, &ret))) goto out;
    if (!cJSON_IsObject(j)) { ret = api_invalid(rq, "body", "expected a JSON object"); goto out; }
    cJSON *inputs = cJSON_GetObjectItemCaseSensitive(j, "inputs");
    const cJSON *e;
    cJSON_ArrayForEach(e, j)
        if (strcmp(e->string, "inputs") != 0 && strcmp(e->string, "exit") != 0) {
            static const char *const known[] = { "inputs", "exit" };
            ret = api_unknown_field(rq, e->string, known, sizeof known / sizeof known[0]);
            goto out;
        }
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(j, "exit");
    if (ex) {
        if (!cJSON_IsNumber(ex) || ex->valuedouble != floor(ex->valuedouble) || ex->valuedouble < 1 ||
            ex->valuedouble > oig_model_exit_count(mdl)) {
            char msg[96];
            snprintf(msg, sizeof msg, "expected an exit number from 1 to %d", oig_model_exit_count(mdl));
            ret = api_invalid(rq, "exit", msg);
            goto out;
        }
        exit_k = (int)ex->valuedouble;
    }
    nrows = cJSON_GetArraySize(inputs);
    if (!cJSON_IsObject(j) || !cJSON_IsArray(inputs) || nrows < 1) {
        ret = api_invalid(rq, "inputs", "expected a non-empty array of rows");
        goto out;
    }
    x = malloc((size_t)nrows * n * sizeof *x + 1);
    if (!x) { ret = api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL); goto out; }
    int r = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, inputs) {
        char field[64], msg[96];
        if (!cJSON_IsArray(row) || (size_t)cJSON_GetArraySize(row) != n) {
            snprintf(field, sizeof field, "inputs[%d]", r);
            snprintf(msg, sizeof msg, "expected %zu numbers (the model's inputs)", n);
            ret = api_invalid(rq, field, msg);
            goto out;
        }
        size_t c = 0;
        cJSON_ArrayForEach(e, row) {
            if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble)) {
                snprintf(field, sizeof field, "inputs[%d][%zu]", r, c);
                ret = api_invalid(rq, field, "expected a finite number");
                goto out;
            }
            x[(size_t)r * n + c++] = e->valuedouble;
        }
        r++;
    }
predict:
    y = malloc((size_t)nrows * mo * sizeof *y + 1);
    cls = malloc((size_t)nrows * sizeof *cls + 1);
    if (!y || !cls) { ret = api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL); goto out; }
    if (oig_model_predict_exit(mdl, exit_k - 1, x, (size_t)nrows, y, cls) != OIG_OK) {
        ret = api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
        goto out;
    }
    res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "model_id", id);   /* which model answered, when id came from an alias */
    cJSON *outs = cJSON_AddArrayToObject(res, "outputs");
    /* %.17g as raw JSON numbers: cJSON's own printer may drop the last bit */
    for (int i = 0; i < nrows; i++) {
        cJSON *o = cJSON_CreateArray();
        for (size_t k = 0; k < mo; k++) {
            double v = y[(size_t)i * mo + k];
            char num[40];
            if (isfinite(v)) snprintf(num, sizeof num, "%.17g", v);
            else snprintf(num, sizeof num, "null");
            cJSON_AddItemToArray(o, cJSON_CreateRaw(num));
        }
        cJSON_AddItemToArray(outs, o);
    }
    if (mdl->task == OIG_CLASSIFICATION && mdl->labels) {
        cJSON *cl = cJSON_AddArrayToObject(res, "classes");
        for (int i = 0; i < nrows; i++)
            cJSON_AddItemToArray(cl, cJSON_CreateString(cls[i] >= 0 && cls[i] < mdl->nclasses ? mdl->labels[cls[i]] : ""));
    }
    ret = api_reply_json(rq, 200, res, NULL);
out:
    api_model_cache_put(rq->srv->models, mdl);
    cJSON_Delete(j);
    free(x); free(y); free(cls);
    return ret;
}

int api_dataset_for_model(api_req *rq, store *st, const char *dataset_id, const oig_model *mdl,
                          oig_data **d, int *by_name, enum MHD_Result *ret) {
    store_status rc = store_dataset_load(st, dataset_id, d);
    oig_error err;
    memset(&err, 0, sizeof err);
    oig_status os = rc == STORE_OK ? oig_data_conform(*d, mdl, by_name, &err) : OIG_OK;
    if (rc == STORE_OK && os == OIG_OK) return 0;
    if (rc == STORE_NOTFOUND) *ret = api_invalid(rq, "dataset_id", "no dataset with that id");
    else if (rc != STORE_OK) *ret = api_store_failure(rq, st);
    else if (os == OIG_EINVAL) *ret = api_invalid(rq, "dataset_id", err.message);
    else *ret = api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
    oig_data_free(*d);
    *d = NULL;
    return -1;
}

/* Body: {"dataset_id": id}. The stored dataset is fitted to the model's inputs and classes
 * (oig_data_conform) and scored in the request; nothing is written. */
static enum MHD_Result model_evaluate(api_req *rq, store *st, const char *id) {
    store_status rc;
    const oig_model *mdl = api_model_cache_get(rq->srv->models, st, id, &rc);
    if (!mdl) return reply_store(rq, st, rc, NULL, "model");
    enum MHD_Result ret = MHD_YES;
    cJSON *j = NULL, *res = NULL;
    oig_data *d = NULL;
    oig_score sc;
    memset(&sc, 0, sizeof sc);
    if (require_json(rq) != MHD_YES || rq->replied) goto out;
    if (!(j = api_parse_json(rq, &ret))) goto out;
    if (!cJSON_IsObject(j)) { ret = api_invalid(rq, "body", "expected a JSON object"); goto out; }
    const cJSON *e;
    cJSON_ArrayForEach(e, j)
        if (strcmp(e->string, "dataset_id") != 0) {
            static const char *const known[] = { "dataset_id" };
            ret = api_unknown_field(rq, e->string, known, sizeof known / sizeof known[0]);
            goto out;
        }
    const cJSON *dsid = cJSON_GetObjectItemCaseSensitive(j, "dataset_id");
    if (!cJSON_IsString(dsid) || !*dsid->valuestring) { ret = api_invalid(rq, "dataset_id", "expected a dataset id"); goto out; }
    int by_name = 0;
    if (api_dataset_for_model(rq, st, dsid->valuestring, mdl, &d, &by_name, &ret) != 0) goto out;
    if (oig_model_score(mdl, d, &sc) != OIG_OK) {
        ret = api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
        goto out;
    }
    res = cJSON_CreateObject();
    cJSON_AddStringToObject(res, "model_id", id);
    cJSON_AddStringToObject(res, "dataset_id", dsid->valuestring);
    score_doc_add(res, mdl, &sc, by_name);
    ret = api_reply_json(rq, 200, res, NULL);
out:
    api_model_cache_put(rq->srv->models, mdl);
    cJSON_Delete(j);
    oig_score_free(&sc);
    oig_data_free(d);
    return ret;
}

/* The model id that a /v1/models/{id} segment names: a model id as it is, an alias resolved.
 * 0, or -1 with the reply sent (404 for an unknown alias) and *ret set. */
static int model_id_of(api_req *rq, store *st, const char *seg, char id[API_ID_MAX], enum MHD_Result *ret) {
    if (strncmp(seg, "mdl_", 4) == 0 || !store_alias_name_ok(seg)) {
        snprintf(id, API_ID_MAX, "%s", seg);
        return 0;
    }
    store_status rc = store_alias_resolve(st, seg, id);
    if (rc == STORE_OK) return 0;
    *ret = rc == STORE_NOTFOUND ? api_problem(rq, API_E_NOT_FOUND, "no model with that id and no alias with that name", NULL, NULL)
                                : api_store_failure(rq, st);
    return -1;
}

static enum MHD_Result models(api_req *rq, const api_match *m) {
    store *st = api_store(rq);
    if (!st) return api_store_failure(rq, st);
    cJSON *res = NULL;
    long limit;
    store_status rc;
    if (m->route == API_R_MODELS) {
        if (strcmp(rq->method, "POST") == 0) return model_import(rq, st);
        if (query_int(rq, "limit", 1, STORE_LIST_MAX, 50, &limit)) return api_invalid(rq, "limit", "expected an integer 1..1000");
        rc = store_model_list(st, query(rq, "after"), (int)limit, &res);
        return reply_store(rq, st, rc, res, "model");
    }
    char id[API_ID_MAX];
    enum MHD_Result ret;
    if (model_id_of(rq, st, m->id, id, &ret) != 0) return ret;
    switch (m->route) {
    case API_R_MODEL:
        if (strcmp(rq->method, "DELETE") == 0) {
            char alias[STORE_ALIAS_MAX];
            rc = store_model_delete(st, id, alias);
            if (rc == STORE_OK) {
                api_model_cache_drop(rq->srv->models, id);
                return api_reply_empty(rq, 204);
            }
            if (rc == STORE_CONFLICT) {
                char msg[160];
                snprintf(msg, sizeof msg, "the alias '%s' names this model: move or delete the alias first", alias);
                return api_problem(rq, API_E_CONFLICT, msg, NULL, NULL);
            }
            return reply_store(rq, st, rc, NULL, "model");
        } else {
            char *doc = NULL;
            rc = store_model_doc(st, id, &doc);
            if (rc != STORE_OK) return reply_store(rq, st, rc, NULL, "model");
            return api_reply_text(rq, 200, "application/json", doc, strlen(doc));
        }
    case API_R_MODEL_PROJECT:
        return api_model_project(rq, st, id);
    case API_R_MODEL_EVALUATE:
        return model_evaluate(rq, st, id);
    default:
        return model_predict(rq, st, id);
    }
}

/* ---- model aliases ---------------------------------------------------------------------- */

/* PUT body: {"model_id": id}. 201 when the alias is new, 200 when it moved. */
static enum MHD_Result alias_put(api_req *rq, store *st, const char *name) {
    if (!store_alias_name_ok(name))
        return api_invalid(rq, "name", "expected 1-63 letters, digits, '_', '-' or '.', starting with a letter or "
                                   "digit and not with mdl_");
    enum MHD_Result ret = MHD_YES;
    if (require_json(rq) != MHD_YES || rq->replied) return MHD_YES;
    cJSON *j = api_parse_json(rq, &ret), *res = NULL;
    if (!j) return ret;
    const cJSON *e, *mid = cJSON_GetObjectItemCaseSensitive(j, "model_id");
    if (!cJSON_IsObject(j)) { ret = api_invalid(rq, "body", "expected a JSON object"); goto out; }
    cJSON_ArrayForEach(e, j)
        if (strcmp(e->string, "model_id") != 0) {
            static const char *const known[] = { "model_id" };
            ret = api_unknown_field(rq, e->string, known, sizeof known / sizeof known[0]);
            goto out;
        }
    if (!cJSON_IsString(mid) || !*mid->valuestring) { ret = api_invalid(rq, "model_id", "expected a model id"); goto out; }
    int created = 0;
    store_status rc = store_alias_set(st, name, mid->valuestring, &created, &res);
    if (rc == STORE_NOTFOUND) {
        ret = api_invalid(rq, "model_id", "no model with that id");
    } else if (rc != STORE_OK) {
        ret = api_store_failure(rq, st);
    } else {
        char loc[128];
        snprintf(loc, sizeof loc, "/v1/aliases/%s", name);
        ret = api_reply_json(rq, created ? 201 : 200, res, created ? loc : NULL);
        res = NULL;
    }
out:
    cJSON_Delete(j);
    cJSON_Delete(res);
    return ret;
}

static enum MHD_Result aliases(api_req *rq, const api_match *m) {
    store *st = api_store(rq);
    if (!st) return api_store_failure(rq, st);
    cJSON *res = NULL;
    store_status rc;
    if (m->route == API_R_ALIASES) {
        long limit;
        if (query_int(rq, "limit", 1, STORE_LIST_MAX, 50, &limit)) return api_invalid(rq, "limit", "expected an integer 1..1000");
        rc = store_alias_list(st, query(rq, "after"), (int)limit, &res);
        return reply_store(rq, st, rc, res, "alias");
    }
    if (strcmp(rq->method, "PUT") == 0) return alias_put(rq, st, m->id);
    if (strcmp(rq->method, "DELETE") == 0) {
        rc = store_alias_delete(st, m->id);
        if (rc == STORE_OK) return api_reply_empty(rq, 204);
        return reply_store(rq, st, rc, NULL, "alias");
    }
    rc = store_alias_get(st, m->id, &res);
    return reply_store(rq, st, rc, res, "alias");
}

/* ---- probes ----------------------------------------------------------------------------- */

static enum MHD_Result probes(api_req *rq, const api_match *m) {
    cJSON *o = cJSON_CreateObject();
    if (m->route == API_R_HEALTHZ) {
        cJSON_AddStringToObject(o, "status", "ok");
        return api_reply_json(rq, 200, o, NULL);
    }
    if (m->route == API_R_READYZ) {
        store *st = api_store(rq);
        int ok = st && store_ready(st);
        cJSON_AddStringToObject(o, "status", ok ? "ready" : "not ready");
        cJSON_AddNumberToObject(o, "schema_version", st ? store_user_version(st) : -1);
        if (ok) return api_reply_json(rq, 200, o, NULL);
        cJSON_Delete(o);
        return api_problem(rq, API_E_UNAVAILABLE, "the store is not open or its migrations are not applied", NULL, NULL);
    }
    cJSON_AddStringToObject(o, "version", OIGD_VERSION);
    cJSON_AddNumberToObject(o, "schema_version", store_latest_version());
    cJSON_AddStringToObject(o, "blas", oig_blas_config());
    cJSON_AddNumberToObject(o, "blas_threads", oig_blas_get_threads());
    cJSON_AddNumberToObject(o, "workers", rq->srv->cfg->workers);
    cJSON_AddNumberToObject(o, "train_threads", rq->srv->cfg->train_threads);
    cJSON *alg = cJSON_AddArrayToObject(o, "algorithms");
    for (int a = 0; a < OIG_ALG_COUNT; a++) cJSON_AddItemToArray(alg, cJSON_CreateString(oig_algorithm_name((oig_algorithm)a)));
    return api_reply_json(rq, 200, o, NULL);
}

/* ---- documents: metrics, the OpenAPI document, the dashboard ---------------------------- */

static enum MHD_Result static_text(api_req *rq, const char *ctype, const char *text, size_t len) {
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", ctype);
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    if (rq->route == API_R_DASHBOARD) {
        /* the page loads nothing from elsewhere and may not be framed */
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                                "connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    }
    return api_queue_response(rq, 200, r, len);
}

static enum MHD_Result documents(api_req *rq, const api_match *m) {
    if (m->route == API_R_OPENAPI)
        return static_text(rq, "application/json", oigd_openapi_json, oigd_openapi_json_len);
    if (m->route == API_R_DASHBOARD)
        return static_text(rq, "text/html; charset=utf-8", oigd_dashboard_html, oigd_dashboard_html_len);
    size_t len = 0;
    char *text = api_metrics_render(rq->srv, &len);
    if (!text) return api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
    return api_reply_text(rq, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

enum MHD_Result api_dispatch(api_req *rq) {
    api_match m;
    char allow[64];
    int rc = api_route(rq->method, rq->path, &m, allow, sizeof allow);
    if (rc == 404) return api_problem(rq, API_E_NO_ROUTE, "no endpoint at this path", NULL, NULL);
    if (rc == 405) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s is not allowed here; allowed: %s", rq->method, allow);
        return api_problem(rq, API_E_METHOD, msg, NULL, allow);
    }
    rq->route = (int)m.route;
    switch (m.route) {
    case API_R_HEALTHZ: case API_R_READYZ: case API_R_VERSION: return probes(rq, &m);
    case API_R_METRICS: case API_R_OPENAPI: case API_R_DASHBOARD: return documents(rq, &m);
    case API_R_DATASETS: case API_R_DATASET: case API_R_DATASET_DATA: return datasets(rq, &m);
    case API_R_MODELS: case API_R_MODEL: case API_R_MODEL_PREDICT: case API_R_MODEL_PROJECT:
    case API_R_MODEL_EVALUATE:
        return models(rq, &m);
    case API_R_ALIASES: case API_R_ALIAS: return aliases(rq, &m);
    default: return jobs(rq, &m);
    }
}

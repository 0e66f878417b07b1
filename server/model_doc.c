/* model_doc.c -- the model JSON document codec (format "oigd-model", version 1).
 *
 * Owns the mapping between oig_model and its JSON form, described field by field in
 * docs/model-format.md. Writing prints each double with the fewest digits (15, 16 or 17) that
 * parse back to the same bits; reading checks every member before it trusts a single length, and
 * frees everything it built when any check fails. No I/O here: text in, text out.
 */
#include "model_doc.h"
#include "textfmt.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Shape limits: generous, but small enough that (N+1)*Nh and friends never overflow. */
#define DOC_MAX_DIM (1 << 24)
#define DOC_MAX_SAFE_INT 9007199254740992.0     /* 2^53: above it a JSON number loses digits */

/* ---- writing ---------------------------------------------------------------------------- */

static int add_num(cJSON *obj, const char *name, double d) {
    cJSON *it = json_number_exact(d);
    if (it == NULL) return -1;
    cJSON_AddItemToObject(obj, name, it);
    return 0;
}

/* An integer-valued count: a plain cJSON number while it fits an int (cJSON prints those with
 * %d), a raw number beyond that, where cJSON's own printing could drop digits. */
static int add_int(cJSON *obj, const char *name, double v) {
    if (v >= -2147483647.0 && v <= 2147483647.0)
        return cJSON_AddNumberToObject(obj, name, v) == NULL ? -1 : 0;
    char buf[40];
    snprintf(buf, sizeof buf, "%.0f", v);
    cJSON *it = cJSON_CreateRaw(buf);
    if (it == NULL) return -1;
    it->valuedouble = v;
    cJSON_AddItemToObject(obj, name, it);
    return 0;
}

/* [v0, v1, ...] of n doubles. */
static cJSON *num_array(const double *v, size_t n) {
    cJSON *a = cJSON_CreateArray();
    if (a == NULL) return NULL;
    for (size_t i = 0; i < n; i++) {
        cJSON *it = json_number_exact(v[i]);
        if (it == NULL) { cJSON_Delete(a); return NULL; }
        cJSON_AddItemToArray(a, it);
    }
    return a;
}

/* [[row 0], [row 1], ...] of a row-major rows x cols matrix. */
static cJSON *num_matrix(const double *v, size_t rows, size_t cols) {
    cJSON *a = cJSON_CreateArray();
    if (a == NULL) return NULL;
    for (size_t r = 0; r < rows; r++) {
        cJSON *row = num_array(v + r * cols, cols);
        if (row == NULL) { cJSON_Delete(a); return NULL; }
        cJSON_AddItemToArray(a, row);
    }
    return a;
}

/* An array of n strings, or null when s is NULL. */
static cJSON *str_array(char *const *s, int n) {
    if (s == NULL) return cJSON_CreateNull();
    cJSON *a = cJSON_CreateArray();
    if (a == NULL) return NULL;
    for (int i = 0; i < n; i++) {
        cJSON *it = cJSON_CreateString(s[i] ? s[i] : "");
        if (it == NULL) { cJSON_Delete(a); return NULL; }
        cJSON_AddItemToArray(a, it);
    }
    return a;
}

/* Add item under name, or report failure (the item may be NULL after an allocation failure). */
static int add_item(cJSON *obj, const char *name, cJSON *item) {
    if (item == NULL) return -1;
    cJSON_AddItemToObject(obj, name, item);
    return 0;
}

static cJSON *training_to_cjson(const oig_summary *s) {
    cJSON *t = cJSON_CreateObject();
    if (t == NULL) return NULL;
    cJSON *sg = cJSON_CreateObject();
    int bad = sg == NULL;
    bad |= add_int(t, "iterations", s->iterations);
    bad |= add_num(t, "train_mse", s->train_mse);
    bad |= add_num(t, "val_mse", s->val_mse);
    bad |= add_num(t, "train_err", s->train_err);
    bad |= add_num(t, "val_err", s->val_err);
    bad |= add_num(t, "multiplies", s->multiplies);
    bad |= add_num(t, "seconds", s->seconds);
    if ((double)s->seed <= DOC_MAX_SAFE_INT) {
        bad |= add_int(t, "seed", (double)s->seed);
    } else {
        char buf[24];
        snprintf(buf, sizeof buf, "%" PRIu64, s->seed);
        bad |= cJSON_AddStringToObject(t, "seed", buf) == NULL;
    }
    char reason[sizeof s->stop_reason];
    memcpy(reason, s->stop_reason, sizeof reason);
    reason[sizeof reason - 1] = '\0';
    bad |= cJSON_AddStringToObject(t, "stop_reason", reason) == NULL;
    bad |= add_num(t, "lm_lambda", s->lm_lambda);
    bad |= add_num(t, "lm_decay_hidden", s->lm_decay[0]);
    bad |= add_num(t, "lm_decay_output", s->lm_decay[1]);
    if (sg != NULL) {
        bad |= add_int(sg, "olf_halvings", (double)s->safeguards.olf_halvings);
        bad |= add_int(sg, "oig_halvings", (double)s->safeguards.oig_halvings);
        bad |= add_int(sg, "oig_olf_fallbacks", (double)s->safeguards.oig_olf_fallbacks);
        bad |= add_int(sg, "accepted_worse", (double)s->safeguards.accepted_worse);
        bad |= add_int(sg, "lm_rejections", (double)s->safeguards.lm_rejections);
        cJSON_AddItemToObject(t, "safeguards", sg);
    }
    if (bad) { cJSON_Delete(t); return NULL; }
    return t;
}

/* {"kind", "units": [c_1..c_K], "heads": [{"Woi", "Woh"} for exits 1..K-1]} */
static cJSON *exits_to_cjson(const oig_model *m) {
    const oig_exits *e = &m->exits;
    cJSON *o = cJSON_CreateObject(), *units = cJSON_CreateArray(), *heads = cJSON_CreateArray();
    int bad = o == NULL || units == NULL || heads == NULL;
    if (bad) { cJSON_Delete(o); cJSON_Delete(units); cJSON_Delete(heads); return NULL; }
    bad |= cJSON_AddStringToObject(o, "kind", e->kind == 1 ? "bypass2" : "width") == NULL;
    for (int k = 0; k < e->nexits; k++) {
        cJSON *u = cJSON_CreateNumber(e->units[k]);
        if (u == NULL) bad = 1; else cJSON_AddItemToArray(units, u);
    }
    for (int k = 0; k + 1 < e->nexits; k++) {
        cJSON *h = cJSON_CreateObject();
        if (h == NULL) { bad = 1; continue; }
        bad |= add_item(h, "Woi", num_matrix(e->head_woi[k], (size_t)m->m, (size_t)m->n + 1));
        bad |= add_item(h, "Woh", num_matrix(e->head_woh[k], (size_t)m->m, (size_t)e->units[k]));
        cJSON_AddItemToArray(heads, h);
    }
    cJSON_AddItemToObject(o, "units", units);
    cJSON_AddItemToObject(o, "heads", heads);
    if (bad) { cJSON_Delete(o); return NULL; }
    return o;
}

/* Metadata entries: a value that reads as a finite number is a JSON number, "true"/"false" a
 * boolean, anything else a string. */
static cJSON *meta_to_cjson(const oig_model *m) {
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) return NULL;
    int bad = 0;
    for (int i = 0; i < m->nmeta && i < OIG_META_MAX; i++) {
        char key[sizeof m->meta[i].key], val[sizeof m->meta[i].value];
        memcpy(key, m->meta[i].key, sizeof key);
        memcpy(val, m->meta[i].value, sizeof val);
        key[sizeof key - 1] = val[sizeof val - 1] = '\0';
        char *end;
        double d = strtod(val, &end);
        if (val[0] != '\0' && *end == '\0' && isfinite(d) && strspn(val, "0123456789+-.eE") == strlen(val))
            bad |= add_num(o, key, d);
        else if (strcmp(val, "true") == 0 || strcmp(val, "false") == 0)
            bad |= cJSON_AddBoolToObject(o, key, val[0] == 't') == NULL;
        else
            bad |= cJSON_AddStringToObject(o, key, val) == NULL;
    }
    if (bad) { cJSON_Delete(o); return NULL; }
    return o;
}

cJSON *model_doc_to_cjson(const oig_model *m) {
    if (m == NULL || m->n <= 0 || m->nh < 0 || m->m <= 0 || m->w == NULL || m->woi == NULL ||
        m->woh == NULL || m->in_mean == NULL || m->in_scale == NULL)
        return NULL;
    size_t n = (size_t)m->n, nh = (size_t)m->nh, mo = (size_t)m->m;
    cJSON *doc = cJSON_CreateObject();
    if (doc == NULL) return NULL;
    int bad = 0;
    bad |= cJSON_AddStringToObject(doc, "format", MODEL_DOC_FORMAT) == NULL;
    bad |= add_int(doc, "format_version", MODEL_DOC_VERSION);
    bad |= cJSON_AddStringToObject(doc, "algorithm", oig_algorithm_name(m->algorithm)) == NULL;
    bad |= cJSON_AddStringToObject(doc, "task", m->task == OIG_CLASSIFICATION ?
                                   "classification" : "regression") == NULL;

    cJSON *shape = cJSON_CreateObject();
    if (shape != NULL) {
        bad |= add_int(shape, "inputs", m->n);
        bad |= add_int(shape, "hidden", m->nh);
        bad |= add_int(shape, "outputs", m->m);
    }
    bad |= add_item(doc, "shape", shape);
    bad |= cJSON_AddBoolToObject(doc, "bypass", m->bypass != 0) == NULL;
    bad |= add_item(doc, "input_names", str_array(m->input_names, m->n));
    bad |= add_item(doc, "target_names", str_array(m->target_names, m->ntarget_names));
    if (m->task == OIG_CLASSIFICATION && m->labels != NULL)
        bad |= add_item(doc, "classes", str_array(m->labels, m->nclasses));
    else
        bad |= add_item(doc, "classes", cJSON_CreateArray());

    cJSON *norm = cJSON_CreateObject();
    if (norm != NULL) {
        bad |= cJSON_AddBoolToObject(norm, "standardized", m->standardized != 0) == NULL;
        bad |= add_item(norm, "mean", num_array(m->in_mean, n));
        bad |= add_item(norm, "scale", num_array(m->in_scale, n));
    }
    bad |= add_item(doc, "normalization", norm);

    cJSON *w = cJSON_CreateObject();
    if (w != NULL) {
        bad |= add_item(w, "W", num_matrix(m->w, nh, n + 1));
        bad |= add_item(w, "Woi", num_matrix(m->woi, mo, n + 1));
        bad |= add_item(w, "Woh", num_matrix(m->woh, mo, nh));
    }
    bad |= add_item(doc, "weights", w);
    bad |= add_item(doc, "training", training_to_cjson(&m->summary));
    if (m->hidden_rownorm) bad |= cJSON_AddBoolToObject(doc, "hidden_rownorm", 1) == NULL;
    if (m->exits.nexits > 0) bad |= add_item(doc, "exits", exits_to_cjson(m));
    if (m->nmeta > 0) bad |= add_item(doc, "metadata", meta_to_cjson(m));
    if (bad) { cJSON_Delete(doc); return NULL; }
    return doc;
}

char *model_doc_write(const oig_model *m, size_t *len) {
    cJSON *doc = model_doc_to_cjson(m);
    if (doc == NULL) return NULL;
    char *text = cJSON_Print(doc);
    cJSON_Delete(doc);
    if (text != NULL && len != NULL) *len = strlen(text);
    return text;
}

/* ---- reading ---------------------------------------------------------------------------- */

static oig_status fail(oig_error *err, oig_status st, const char *field, const char *fmt, ...) {
    va_list ap;
    snprintf(err->field, sizeof err->field, "%s", field);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return st;
}

/* The member name of obj, required unless optional; a name given twice is an error (a reader
 * that took the first and a reader that took the last would disagree). */
static oig_status member(const cJSON *obj, const char *name, const char *path, int optional,
                         const cJSON **out, oig_error *err) {
    *out = NULL;
    for (const cJSON *c = obj->child; c != NULL; c = c->next) {
        if (c->string == NULL || strcmp(c->string, name) != 0) continue;
        if (*out != NULL) return fail(err, OIG_EINVAL, path, "member '%s' appears twice", path);
        *out = c;
    }
    if (*out == NULL && !optional)
        return fail(err, OIG_EINVAL, path, "missing member '%s'", path);
    return OIG_OK;
}

static oig_status get_object(const cJSON *obj, const char *name, const char *path,
                             const cJSON **out, oig_error *err) {
    oig_status st = member(obj, name, path, 0, out, err);
    if (st != OIG_OK) return st;
    if (!cJSON_IsObject(*out)) return fail(err, OIG_EINVAL, path, "'%s' must be an object", path);
    return OIG_OK;
}

static oig_status get_string(const cJSON *obj, const char *name, const char *path,
                             const char **out, oig_error *err) {
    const cJSON *it;
    oig_status st = member(obj, name, path, 0, &it, err);
    if (st != OIG_OK) return st;
    if (!cJSON_IsString(it) || it->valuestring == NULL)
        return fail(err, OIG_EINVAL, path, "'%s' must be a string", path);
    *out = it->valuestring;
    return OIG_OK;
}

static oig_status get_bool(const cJSON *obj, const char *name, const char *path, int *out,
                           oig_error *err) {
    const cJSON *it;
    oig_status st = member(obj, name, path, 0, &it, err);
    if (st != OIG_OK) return st;
    if (!cJSON_IsBool(it)) return fail(err, OIG_EINVAL, path, "'%s' must be true or false", path);
    *out = cJSON_IsTrue(it) ? 1 : 0;
    return OIG_OK;
}

/* An integral JSON number in [lo, hi]. */
static oig_status get_int(const cJSON *obj, const char *name, const char *path, double lo,
                          double hi, double *out, oig_error *err) {
    const cJSON *it;
    oig_status st = member(obj, name, path, 0, &it, err);
    if (st != OIG_OK) return st;
    if (!cJSON_IsNumber(it)) return fail(err, OIG_EINVAL, path, "'%s' must be a number", path);
    double v = it->valuedouble;
    if (!isfinite(v) || v != floor(v) || v < lo || v > hi)
        return fail(err, OIG_EINVAL, path, "'%s' must be an integer in [%.0f, %.0f]", path, lo, hi);
    *out = v;
    return OIG_OK;
}

/* A finite JSON number; with allow_null, null reads as NaN. */
static oig_status get_double(const cJSON *obj, const char *name, const char *path,
                             int allow_null, double *out, oig_error *err) {
    const cJSON *it;
    oig_status st = member(obj, name, path, 0, &it, err);
    if (st != OIG_OK) return st;
    if (allow_null && cJSON_IsNull(it)) { *out = NAN; return OIG_OK; }
    if (!cJSON_IsNumber(it))
        return fail(err, OIG_EINVAL, path, "'%s' must be a number%s", path,
                    allow_null ? " or null" : "");
    if (!isfinite(it->valuedouble))
        return fail(err, OIG_EINVAL, path, "'%s' must be finite", path);
    *out = it->valuedouble;
    return OIG_OK;
}

/* Exactly n finite numbers from the array arr into dst. */
static oig_status read_vector(const cJSON *arr, size_t n, double *dst, const char *path,
                              const char *what, oig_error *err) {
    if (!cJSON_IsArray(arr)) return fail(err, OIG_EINVAL, path, "'%s'%s must be an array", path, what);
    size_t i = 0;
    for (const cJSON *c = arr->child; c != NULL; c = c->next, i++) {
        if (i >= n)
            return fail(err, OIG_EINVAL, path, "'%s'%s has more than %zu entries", path, what, n);
        if (!cJSON_IsNumber(c))
            return fail(err, OIG_EINVAL, path, "'%s'%s[%zu] must be a number", path, what, i);
        if (!isfinite(c->valuedouble))
            return fail(err, OIG_EINVAL, path, "'%s'%s[%zu] must be finite", path, what, i);
        dst[i] = c->valuedouble;
    }
    if (i != n) return fail(err, OIG_EINVAL, path, "'%s'%s has %zu entries, expected %zu", path, what, i, n);
    return OIG_OK;
}

/* A rows x cols matrix written as an array of rows, into row-major dst. */
static oig_status read_matrix(const cJSON *obj, const char *name, const char *path, size_t rows,
                              size_t cols, double *dst, oig_error *err) {
    const cJSON *arr;
    oig_status st = member(obj, name, path, 0, &arr, err);
    if (st != OIG_OK) return st;
    if (!cJSON_IsArray(arr)) return fail(err, OIG_EINVAL, path, "'%s' must be an array of rows", path);
    size_t r = 0;
    char what[32];
    for (const cJSON *row = arr->child; row != NULL; row = row->next, r++) {
        if (r >= rows) return fail(err, OIG_EINVAL, path, "'%s' has more than %zu rows", path, rows);
        snprintf(what, sizeof what, "[%zu]", r);
        if ((st = read_vector(row, cols, dst + r * cols, path, what, err)) != OIG_OK) return st;
    }
    if (r != rows) return fail(err, OIG_EINVAL, path, "'%s' has %zu rows, expected %zu", path, r, rows);
    return OIG_OK;
}

/* An array of exactly n strings (or null when allow_null), malloc'd into *out (NULL for null). */
static oig_status read_strings(const cJSON *obj, const char *name, const char *path, int n,
                               int allow_null, char ***out, oig_error *err) {
    const cJSON *arr;
    *out = NULL;
    oig_status st = member(obj, name, path, 0, &arr, err);
    if (st != OIG_OK) return st;
    if (allow_null && cJSON_IsNull(arr)) return OIG_OK;
    if (!cJSON_IsArray(arr))
        return fail(err, OIG_EINVAL, path, "'%s' must be an array of strings%s", path,
                    allow_null ? " or null" : "");
    int count = cJSON_GetArraySize(arr);
    if (count != n)
        return fail(err, OIG_EINVAL, path, "'%s' has %d entries, expected %d", path, count, n);
    int i = 0;
    for (const cJSON *c = arr->child; c != NULL; c = c->next, i++)
        if (!cJSON_IsString(c) || c->valuestring == NULL)
            return fail(err, OIG_EINVAL, path, "'%s'[%d] must be a string", path, i);
    if (n == 0) return OIG_OK;
    char **s = calloc((size_t)n, sizeof *s);
    if (s == NULL) return fail(err, OIG_ENOMEM, path, "out of memory");
    i = 0;
    for (const cJSON *c = arr->child; c != NULL; c = c->next, i++) {
        if ((s[i] = strdup(c->valuestring)) == NULL) {
            for (int j = 0; j < i; j++) free(s[j]);
            free(s);
            return fail(err, OIG_ENOMEM, path, "out of memory");
        }
    }
    *out = s;
    return OIG_OK;
}

static oig_status read_training(const cJSON *doc, oig_summary *s, oig_error *err) {
    const cJSON *t, *sg, *seed;
    oig_status st;
    double v;
    if ((st = get_object(doc, "training", "training", &t, err)) != OIG_OK) return st;
    if ((st = get_int(t, "iterations", "training.iterations", 0, 2147483647.0, &v, err)) != OIG_OK)
        return st;
    s->iterations = (int)v;
    if ((st = get_double(t, "train_mse", "training.train_mse", 1, &s->train_mse, err)) != OIG_OK ||
        (st = get_double(t, "val_mse", "training.val_mse", 1, &s->val_mse, err)) != OIG_OK ||
        (st = get_double(t, "train_err", "training.train_err", 1, &s->train_err, err)) != OIG_OK ||
        (st = get_double(t, "val_err", "training.val_err", 1, &s->val_err, err)) != OIG_OK ||
        (st = get_double(t, "multiplies", "training.multiplies", 1, &s->multiplies, err)) != OIG_OK ||
        (st = get_double(t, "seconds", "training.seconds", 1, &s->seconds, err)) != OIG_OK ||
        (st = get_double(t, "lm_lambda", "training.lm_lambda", 1, &s->lm_lambda, err)) != OIG_OK)
        return st;
    /* the decays came with Bayesian regularization: documents written before have none */
    static const char *const decays[2][2] = { { "lm_decay_hidden", "training.lm_decay_hidden" },
                                              { "lm_decay_output", "training.lm_decay_output" } };
    for (int g = 0; g < 2; g++) {
        const cJSON *decay;
        if ((st = member(t, decays[g][0], decays[g][1], 1, &decay, err)) != OIG_OK) return st;
        s->lm_decay[g] = 0.0;
        if (decay != NULL &&
            (st = get_double(t, decays[g][0], decays[g][1], 1, &s->lm_decay[g], err)) != OIG_OK)
            return st;
    }

    if ((st = member(t, "seed", "training.seed", 0, &seed, err)) != OIG_OK) return st;
    if (cJSON_IsString(seed) && seed->valuestring != NULL) {
        const char *p = seed->valuestring;
        char *end;
        errno = 0;
        unsigned long long u = strtoull(p, &end, 10);
        if (*p < '0' || *p > '9' || *end != '\0' || errno != 0)
            return fail(err, OIG_EINVAL, "training.seed", "'training.seed' must be an unsigned integer");
        s->seed = (uint64_t)u;
    } else {
        if ((st = get_int(t, "seed", "training.seed", 0, DOC_MAX_SAFE_INT, &v, err)) != OIG_OK)
            return st;
        s->seed = (uint64_t)v;
    }

    const char *reason;
    if ((st = get_string(t, "stop_reason", "training.stop_reason", &reason, err)) != OIG_OK) return st;
    if (strlen(reason) >= sizeof s->stop_reason)
        return fail(err, OIG_EINVAL, "training.stop_reason", "'training.stop_reason' is too long");
    snprintf(s->stop_reason, sizeof s->stop_reason, "%s", reason);

    if ((st = get_object(t, "safeguards", "training.safeguards", &sg, err)) != OIG_OK) return st;
    static const char *const names[] = {
        "olf_halvings", "oig_halvings", "oig_olf_fallbacks", "accepted_worse", "lm_rejections" };
    long *const dst[] = { &s->safeguards.olf_halvings, &s->safeguards.oig_halvings,
                          &s->safeguards.oig_olf_fallbacks, &s->safeguards.accepted_worse,
                          &s->safeguards.lm_rejections };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "training.safeguards.%s", names[i]);
        if ((st = get_int(sg, names[i], path, 0, DOC_MAX_SAFE_INT, &v, err)) != OIG_OK) return st;
        *dst[i] = (long)v;
    }
    return OIG_OK;
}

/* The optional members of related-method models: hidden_rownorm, exits, metadata. */
static oig_status read_related(const cJSON *doc, oig_model *mdl, oig_error *err) {
    const cJSON *it;
    oig_status st;
    if ((st = member(doc, "hidden_rownorm", "hidden_rownorm", 1, &it, err)) != OIG_OK) return st;
    if (it && (st = get_bool(doc, "hidden_rownorm", "hidden_rownorm", &mdl->hidden_rownorm, err)) != OIG_OK)
        return st;
    const cJSON *ex;
    if ((st = member(doc, "exits", "exits", 1, &ex, err)) != OIG_OK) return st;
    if (ex) {
        if (!cJSON_IsObject(ex)) return fail(err, OIG_EINVAL, "exits", "'exits' must be an object");
        const char *kind;
        if ((st = get_string(ex, "kind", "exits.kind", &kind, err)) != OIG_OK) return st;
        int k_id = strcmp(kind, "bypass2") == 0 ? 1 : strcmp(kind, "width") == 0 ? 2 : 0;
        if (k_id == 0) return fail(err, OIG_EINVAL, "exits.kind", "'exits.kind' must be \"bypass2\" or \"width\"");
        const cJSON *units, *heads;
        if ((st = member(ex, "units", "exits.units", 0, &units, err)) != OIG_OK) return st;
        int K = cJSON_IsArray(units) ? cJSON_GetArraySize(units) : -1;
        if (K < 2 || K > 16) return fail(err, OIG_EINVAL, "exits.units", "'exits.units' must be an array of 2 to 16 counts");
        int u[16], k = 0;
        for (const cJSON *c = units->child; c != NULL; c = c->next, k++) {
            if (!cJSON_IsNumber(c) || c->valuedouble != floor(c->valuedouble) || c->valuedouble < 0 ||
                c->valuedouble > mdl->nh || (k > 0 && c->valuedouble < u[k - 1]))
                return fail(err, OIG_EINVAL, "exits.units", "'exits.units' must be non-decreasing "
                            "integers in [0, hidden]");
            u[k] = (int)c->valuedouble;
        }
        if (u[K - 1] != mdl->nh) return fail(err, OIG_EINVAL, "exits.units", "the last exit must see every hidden unit");
        if ((st = member(ex, "heads", "exits.heads", 0, &heads, err)) != OIG_OK) return st;
        if (!cJSON_IsArray(heads) || cJSON_GetArraySize(heads) != K - 1)
            return fail(err, OIG_EINVAL, "exits.heads", "'exits.heads' must hold one head per exit but the last (%d)", K - 1);
        if ((st = oig_model_set_exits(mdl, k_id, K, u)) != OIG_OK)
            return fail(err, st, "exits", "cannot hold the exits");
        k = 0;
        for (const cJSON *h = heads->child; h != NULL; h = h->next, k++) {
            if (!cJSON_IsObject(h)) return fail(err, OIG_EINVAL, "exits.heads", "'exits.heads'[%d] must be an object", k);
            if ((st = read_matrix(h, "Woi", "exits.heads.Woi", (size_t)mdl->m, (size_t)mdl->n + 1,
                                  mdl->exits.head_woi[k], err)) != OIG_OK ||
                (st = read_matrix(h, "Woh", "exits.heads.Woh", (size_t)mdl->m, (size_t)u[k],
                                  mdl->exits.head_woh[k], err)) != OIG_OK)
                return st;
        }
    }
    const cJSON *meta;
    if ((st = member(doc, "metadata", "metadata", 1, &meta, err)) != OIG_OK) return st;
    if (meta) {
        if (!cJSON_IsObject(meta)) return fail(err, OIG_EINVAL, "metadata", "'metadata' must be an object");
        for (const cJSON *c = meta->child; c != NULL; c = c->next) {
            char val[48];
            if (c->string == NULL || strlen(c->string) >= sizeof mdl->meta[0].key)
                return fail(err, OIG_EINVAL, "metadata", "a 'metadata' key is too long");
            if (cJSON_IsNumber(c)) {
                fmt_double_exact(val, sizeof val, c->valuedouble);
            } else if (cJSON_IsBool(c)) snprintf(val, sizeof val, "%s", cJSON_IsTrue(c) ? "true" : "false");
            else if (cJSON_IsString(c) && strlen(c->valuestring) < sizeof val) snprintf(val, sizeof val, "%s", c->valuestring);
            else return fail(err, OIG_EINVAL, "metadata", "'metadata.%.32s' must be a number, boolean or short string", c->string);
            if (oig_model_meta_set(mdl, c->string, "%s", val) != OIG_OK)
                return fail(err, OIG_EINVAL, "metadata", "'metadata' has more than %d entries", OIG_META_MAX);
        }
    }
    return OIG_OK;
}

oig_status model_doc_from_cjson(const cJSON *doc, oig_model **out, oig_error *err) {
    oig_error local;
    if (err == NULL) err = &local;
    memset(err, 0, sizeof *err);
    *out = NULL;
    if (!cJSON_IsObject(doc)) return fail(err, OIG_EINVAL, "", "a model document must be a JSON object");

    oig_status st;
    const char *s = NULL;
    double v, dn, dnh, dm;
    if ((st = get_string(doc, "format", "format", &s, err)) != OIG_OK) return st;
    if (strcmp(s, MODEL_DOC_FORMAT) != 0)
        return fail(err, OIG_EINVAL, "format", "'format' must be \"%s\"", MODEL_DOC_FORMAT);
    if ((st = get_int(doc, "format_version", "format_version", 0, 2147483647.0, &v, err)) != OIG_OK)
        return st;
    if (v != MODEL_DOC_VERSION)
        return fail(err, OIG_EINVAL, "format_version",
                    "unsupported format_version %.0f (this oigd reads version %d)", v, MODEL_DOC_VERSION);

    oig_algorithm alg;
    if ((st = get_string(doc, "algorithm", "algorithm", &s, err)) != OIG_OK) return st;
    if (oig_algorithm_parse(s, &alg) != 0)
        return fail(err, OIG_EINVAL, "algorithm", "unknown algorithm '%.64s'", s);
    oig_task task;
    if ((st = get_string(doc, "task", "task", &s, err)) != OIG_OK) return st;
    if (strcmp(s, "regression") == 0) task = OIG_REGRESSION;
    else if (strcmp(s, "classification") == 0) task = OIG_CLASSIFICATION;
    else return fail(err, OIG_EINVAL, "task", "'task' must be \"regression\" or \"classification\"");

    const cJSON *shape;
    if ((st = get_object(doc, "shape", "shape", &shape, err)) != OIG_OK ||
        (st = get_int(shape, "inputs", "shape.inputs", 1, DOC_MAX_DIM, &dn, err)) != OIG_OK ||
        (st = get_int(shape, "hidden", "shape.hidden", 0, DOC_MAX_DIM, &dnh, err)) != OIG_OK ||
        (st = get_int(shape, "outputs", "shape.outputs", 1, DOC_MAX_DIM, &dm, err)) != OIG_OK)
        return st;
    int n = (int)dn, nh = (int)dnh, m = (int)dm;
    int bypass;
    if ((st = get_bool(doc, "bypass", "bypass", &bypass, err)) != OIG_OK) return st;

    /* Cheap checks of the remaining members' presence and sizes come before the big allocation,
     * so that a document claiming a huge shape with short arrays fails without allocating it. */
    const cJSON *norm, *weights, *arr;
    if ((st = get_object(doc, "normalization", "normalization", &norm, err)) != OIG_OK ||
        (st = get_object(doc, "weights", "weights", &weights, err)) != OIG_OK)
        return st;
    static const struct { const char *name, *path; } mats[] = {
        { "W", "weights.W" }, { "Woi", "weights.Woi" }, { "Woh", "weights.Woh" } };
    const int mrows[3] = { nh, m, m };
    for (int i = 0; i < 3; i++) {
        if ((st = member(weights, mats[i].name, mats[i].path, 0, &arr, err)) != OIG_OK) return st;
        if (!cJSON_IsArray(arr))
            return fail(err, OIG_EINVAL, mats[i].path, "'%s' must be an array of rows", mats[i].path);
        int rows = cJSON_GetArraySize(arr);
        if (rows != mrows[i])
            return fail(err, OIG_EINVAL, mats[i].path, "'%s' has %d rows, expected %d (shape)",
                        mats[i].path, rows, mrows[i]);
    }

    oig_model *mdl = oig_model_new(n, nh, m);
    if (mdl == NULL) return fail(err, OIG_ENOMEM, "", "out of memory for a %dx%dx%d model", n, nh, m);
    mdl->algorithm = alg;
    mdl->task = task;
    mdl->bypass = bypass;
    size_t n1 = (size_t)n + 1;

    if ((st = read_strings(doc, "input_names", "input_names", n, 1, &mdl->input_names, err)) != OIG_OK)
        goto err;
    {
        const cJSON *tn;
        if ((st = member(doc, "target_names", "target_names", 0, &tn, err)) != OIG_OK) goto err;
        int ntn = cJSON_IsArray(tn) ? cJSON_GetArraySize(tn) : 0;
        if (ntn > m) {
            st = fail(err, OIG_EINVAL, "target_names", "'target_names' has %d entries, more than "
                      "the %d outputs", ntn, m);
            goto err;
        }
        if ((st = read_strings(doc, "target_names", "target_names", ntn, 1, &mdl->target_names,
                               err)) != OIG_OK)
            goto err;
        mdl->ntarget_names = mdl->target_names ? ntn : 0;
    }
    {
        const cJSON *cl;
        if ((st = member(doc, "classes", "classes", 0, &cl, err)) != OIG_OK) goto err;
        int want = task == OIG_CLASSIFICATION ? m : 0;
        if (cJSON_IsArray(cl) && cJSON_GetArraySize(cl) != want) {
            st = fail(err, OIG_EINVAL, "classes", task == OIG_CLASSIFICATION ?
                      "'classes' must hold one label per output (%d)" :
                      "'classes' must be empty for regression (%d)", want);
            goto err;
        }
        char **labels = NULL;
        if ((st = read_strings(doc, "classes", "classes", want, 0, &labels, err)) != OIG_OK) goto err;
        mdl->labels = labels;
        mdl->nclasses = labels ? want : 0;
    }

    if ((st = get_bool(norm, "standardized", "normalization.standardized", &mdl->standardized,
                       err)) != OIG_OK)
        goto err;
    if ((st = member(norm, "mean", "normalization.mean", 0, &arr, err)) != OIG_OK ||
        (st = read_vector(arr, (size_t)n, mdl->in_mean, "normalization.mean", "", err)) != OIG_OK)
        goto err;
    if ((st = member(norm, "scale", "normalization.scale", 0, &arr, err)) != OIG_OK ||
        (st = read_vector(arr, (size_t)n, mdl->in_scale, "normalization.scale", "", err)) != OIG_OK)
        goto err;
    for (int j = 0; j < n; j++) {
        if (!(mdl->in_scale[j] > 0.0)) {
            st = fail(err, OIG_EINVAL, "normalization.scale",
                      "'normalization.scale'[%d] must be positive", j);
            goto err;
        }
    }

    if ((st = read_matrix(weights, "W", "weights.W", (size_t)nh, n1, mdl->w, err)) != OIG_OK ||
        (st = read_matrix(weights, "Woi", "weights.Woi", (size_t)m, n1, mdl->woi, err)) != OIG_OK ||
        (st = read_matrix(weights, "Woh", "weights.Woh", (size_t)m, (size_t)nh, mdl->woh, err)) != OIG_OK)
        goto err;

    if ((st = read_training(doc, &mdl->summary, err)) != OIG_OK) goto err;
    if ((st = read_related(doc, mdl, err)) != OIG_OK) goto err;
    *out = mdl;
    return OIG_OK;
err:
    oig_model_free(mdl);
    return st;
}

/* 1-based line and column of byte offset pos in text. */
static void locate(const char *text, size_t pos, int *line, int *col) {
    int l = 1, c = 1;
    for (size_t i = 0; i < pos; i++) {
        if (text[i] == '\n') { l++; c = 1; } else c++;
    }
    *line = l;
    *col = c;
}

oig_status model_doc_read(const char *text, size_t len, oig_model **out, oig_error *err) {
    oig_error local;
    if (err == NULL) err = &local;
    memset(err, 0, sizeof *err);
    *out = NULL;
    if (text == NULL) return fail(err, OIG_EINVAL, "", "no model document");
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    size_t pos = len;
    if (doc != NULL) {
        /* Only whitespace may follow the document. */
        pos = (size_t)(end - text);
        while (pos < len && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' ||
                             text[pos] == '\r'))
            pos++;
        if (pos < len && !(text[pos] == '\0' && pos + 1 == len)) {
            cJSON_Delete(doc);
            locate(text, pos, &err->line, &err->column);
            return fail(err, OIG_EPARSE, "", "unexpected text after the JSON document");
        }
    } else {
        if (end != NULL && end >= text && end <= text + len) pos = (size_t)(end - text);
        /* cJSON clamps an error at the end of the input to the last byte: report the end. */
        size_t rest = pos + 1;
        while (rest < len && (text[rest] == ' ' || text[rest] == '\t' || text[rest] == '\n' ||
                              text[rest] == '\r' || text[rest] == '\0'))
            rest++;
        int early = pos + 1 >= len || (rest >= len && (text[pos] == ' ' || text[pos] == '\t' ||
                                                       text[pos] == '\n' || text[pos] == '\r'));
        locate(text, early ? len : pos, &err->line, &err->column);
        return fail(err, OIG_EPARSE, "", early ? "malformed JSON: the document ends early"
                                               : "malformed JSON");
    }
    oig_status st = model_doc_from_cjson(doc, out, err);
    cJSON_Delete(doc);
    return st;
}

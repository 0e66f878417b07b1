/* model.c -- the trained network as a plain struct: allocation, copying, naming, prediction
 * (from any anytime exit), and its metadata entries.
 *
 * Prediction standardizes raw rows with the model's statistics, then runs the forward pass of
 * spec section 1 over row blocks with BLAS-3 products. Nothing here trains or allocates per row.
 */
#include "oig.h"
#include "internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *algorithm_names[OIG_ALG_COUNT] = {
    "owo", "bp", "hwo", "oig-bp", "oig-hwo", "lm", "slnb", "osgd", "sgd", "ngmnn"
};

const char *oig_algorithm_name(oig_algorithm a) {
    if ((int)a < 0 || a >= OIG_ALG_COUNT) return "unknown";
    return algorithm_names[a];
}

int oig_algorithm_parse(const char *name, oig_algorithm *out) {
    if (name == NULL) return -1;
    for (int i = 0; i < OIG_ALG_COUNT; i++) {
        if (strcmp(name, algorithm_names[i]) == 0) { *out = (oig_algorithm)i; return 0; }
    }
    return -1;
}

const char *oig_status_name(oig_status s) {
    switch (s) {
    case OIG_OK: return "ok";
    case OIG_ENOMEM: return "out of memory";
    case OIG_EINVAL: return "invalid argument";
    case OIG_EPARSE: return "malformed data";
    case OIG_ELIMIT: return "limit exceeded";
    case OIG_ENUMERIC: return "numerical failure";
    case OIG_ESTOPPED: return "stopped";
    }
    return "unknown";
}

oig_model *oig_model_new(int n, int nh, int m) {
    if (n <= 0 || nh < 0 || m <= 0) return NULL;
    oig_model *mdl = calloc(1, sizeof *mdl);
    if (mdl == NULL) return NULL;
    mdl->n = n; mdl->nh = nh; mdl->m = m;
    mdl->bypass = 1;
    mdl->w = calloc((size_t)nh * (size_t)(n + 1) + 1, sizeof(double));
    mdl->woi = calloc((size_t)m * (size_t)(n + 1), sizeof(double));
    mdl->woh = calloc((size_t)m * (size_t)nh + 1, sizeof(double));
    mdl->in_mean = calloc((size_t)n, sizeof(double));
    mdl->in_scale = malloc((size_t)n * sizeof(double));
    if (!mdl->w || !mdl->woi || !mdl->woh || !mdl->in_mean || !mdl->in_scale) {
        oig_model_free(mdl);
        return NULL;
    }
    for (int i = 0; i < n; i++) mdl->in_scale[i] = 1.0;
    mdl->summary.val_mse = NAN;
    mdl->summary.val_err = NAN;
    mdl->summary.train_err = NAN;
    return mdl;
}

static void exits_free(oig_exits *e) {
    for (int k = 0; k + 1 < e->nexits; k++) {
        if (e->head_woi) free(e->head_woi[k]);
        if (e->head_woh) free(e->head_woh[k]);
    }
    free(e->head_woi); free(e->head_woh); free(e->units);
    memset(e, 0, sizeof *e);
}

oig_status oig_model_set_exits(oig_model *mdl, int kind, int nexits, const int *units) {
    if (mdl == NULL) return OIG_EINVAL;
    exits_free(&mdl->exits);
    if (nexits == 0) return OIG_OK;
    if (nexits < 2 || nexits > 16 || units == NULL || units[nexits - 1] != mdl->nh ||
        (kind != 1 && kind != 2))
        return OIG_EINVAL;
    for (int k = 0; k < nexits; k++)
        if (units[k] < 0 || units[k] > mdl->nh || (k > 0 && units[k] < units[k - 1])) return OIG_EINVAL;
    oig_exits *e = &mdl->exits;
    e->units = malloc((size_t)nexits * sizeof(int));
    e->head_woi = calloc((size_t)nexits, sizeof(double *));
    e->head_woh = calloc((size_t)nexits, sizeof(double *));
    if (!e->units || !e->head_woi || !e->head_woh) goto oom;
    e->nexits = nexits;
    e->kind = kind;
    memcpy(e->units, units, (size_t)nexits * sizeof(int));
    for (int k = 0; k + 1 < nexits; k++) {
        e->head_woi[k] = calloc((size_t)mdl->m * (size_t)(mdl->n + 1), sizeof(double));
        e->head_woh[k] = calloc((size_t)mdl->m * (size_t)units[k] + 1, sizeof(double));
        if (!e->head_woi[k] || !e->head_woh[k]) goto oom;
    }
    return OIG_OK;
oom:
    e->nexits = nexits;
    exits_free(e);
    return OIG_ENOMEM;
}

oig_status oig_model_meta_set(oig_model *mdl, const char *key, const char *fmt, ...) {
    if (mdl == NULL || key == NULL || strlen(key) >= sizeof mdl->meta[0].key) return OIG_EINVAL;
    int i = 0;
    while (i < mdl->nmeta && strcmp(mdl->meta[i].key, key) != 0) i++;
    if (i == mdl->nmeta) {
        if (mdl->nmeta >= OIG_META_MAX) return OIG_ELIMIT;
        mdl->nmeta++;
        snprintf(mdl->meta[i].key, sizeof mdl->meta[i].key, "%s", key);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(mdl->meta[i].value, sizeof mdl->meta[i].value, fmt, ap);
    va_end(ap);
    return OIG_OK;
}

const char *oig_model_meta_get(const oig_model *mdl, const char *key) {
    for (int i = 0; mdl && i < mdl->nmeta; i++)
        if (strcmp(mdl->meta[i].key, key) == 0) return mdl->meta[i].value;
    return NULL;
}

void oig_model_free(oig_model *mdl) {
    if (mdl == NULL) return;
    exits_free(&mdl->exits);
    free(mdl->w); free(mdl->woi); free(mdl->woh);
    free(mdl->in_mean); free(mdl->in_scale);
    oig_strings_free(mdl->labels, mdl->nclasses);
    oig_strings_free(mdl->input_names, mdl->n);
    oig_strings_free(mdl->target_names, mdl->ntarget_names);
    free(mdl);
}

oig_model *oig_model_clone(const oig_model *src) {
    if (src == NULL) return NULL;
    oig_model *dst = oig_model_new(src->n, src->nh, src->m);
    if (dst == NULL) return NULL;
    size_t n1 = (size_t)src->n + 1;
    memcpy(dst->w, src->w, (size_t)src->nh * n1 * sizeof(double));
    memcpy(dst->woi, src->woi, (size_t)src->m * n1 * sizeof(double));
    memcpy(dst->woh, src->woh, (size_t)src->m * (size_t)src->nh * sizeof(double));
    memcpy(dst->in_mean, src->in_mean, (size_t)src->n * sizeof(double));
    memcpy(dst->in_scale, src->in_scale, (size_t)src->n * sizeof(double));
    dst->bypass = src->bypass;
    dst->standardized = src->standardized;
    dst->task = src->task;
    dst->algorithm = src->algorithm;
    dst->summary = src->summary;
    dst->nclasses = src->nclasses;
    dst->ntarget_names = src->ntarget_names;
    dst->hidden_rownorm = src->hidden_rownorm;
    dst->nmeta = src->nmeta;
    memcpy(dst->meta, src->meta, sizeof dst->meta);
    const oig_exits *se = &src->exits;
    if (se->nexits > 0) {
        if (oig_model_set_exits(dst, se->kind, se->nexits, se->units) != OIG_OK) {
            oig_model_free(dst);
            return NULL;
        }
        for (int k = 0; k + 1 < se->nexits; k++) {
            memcpy(dst->exits.head_woi[k], se->head_woi[k], (size_t)src->m * n1 * sizeof(double));
            memcpy(dst->exits.head_woh[k], se->head_woh[k],
                   (size_t)src->m * (size_t)se->units[k] * sizeof(double));
        }
    }
    if ((src->labels && (dst->labels = oig_strings_dup(src->labels, src->nclasses)) == NULL) ||
        (src->input_names && (dst->input_names = oig_strings_dup(src->input_names, src->n)) == NULL) ||
        (src->target_names &&
         (dst->target_names = oig_strings_dup(src->target_names, src->ntarget_names)) == NULL)) {
        oig_model_free(dst);
        return NULL;
    }
    if (!src->labels) dst->nclasses = src->nclasses;
    return dst;
}

oig_status oig_model_describe(oig_model *mdl, const oig_data *d) {
    if (mdl == NULL || d == NULL || d->n != mdl->n) return OIG_EINVAL;
    oig_strings_free(mdl->labels, mdl->nclasses);
    oig_strings_free(mdl->input_names, mdl->n);
    oig_strings_free(mdl->target_names, mdl->ntarget_names);
    mdl->labels = NULL; mdl->input_names = NULL; mdl->target_names = NULL;
    mdl->task = d->task;
    mdl->nclasses = d->nclasses;
    mdl->ntarget_names = d->ntarget_names;
    if ((d->labels && (mdl->labels = oig_strings_dup(d->labels, d->nclasses)) == NULL) ||
        (d->input_names && (mdl->input_names = oig_strings_dup(d->input_names, d->n)) == NULL) ||
        (d->target_names &&
         (mdl->target_names = oig_strings_dup(d->target_names, d->ntarget_names)) == NULL))
        return OIG_ENOMEM;
    return OIG_OK;
}

/* Outputs of head (woi, woh) reading the first nh hidden units, for nrows rows of standardized
 * inputs xs (nrows x N). work holds at least nrows*nh doubles. Only those nh units are computed,
 * so an earlier exit costs fewer multiplies. */
static void forward_head(const oig_model *mdl, const double *woi, const double *woh, int nh,
                         const double *xs, size_t nrows, double *y, double *work) {
    int n = mdl->n, m = mdl->m;
    /* y = x * Woi[:, :N]^T + thresholds */
    for (size_t p = 0; p < nrows; p++)
        for (int i = 0; i < m; i++) y[p * m + i] = woi[(size_t)i * (n + 1) + n];
    if (mdl->bypass)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nrows, m, n, 1.0, xs, n,
                    woi, n + 1, 1.0, y, m);
    if (nh == 0) return;
    /* net = x * W[:, :N]^T + hidden thresholds; o = f(net); y += o * Woh^T */
    for (size_t p = 0; p < nrows; p++)
        for (int k = 0; k < nh; k++) work[p * nh + k] = mdl->w[(size_t)k * (n + 1) + n];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nrows, nh, n, 1.0, xs, n,
                mdl->w, n + 1, 1.0, work, nh);
    oig_sigmoid_inplace(work, nrows * (size_t)nh);
    if (mdl->hidden_rownorm)
        for (size_t p = 0; p < nrows; p++) {
            double *r = work + p * nh;
            double s = cblas_dnrm2(nh, r, 1);
            if (s > 0.0) cblas_dscal(nh, 1.0 / s, r, 1);
        }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nrows, m, nh, 1.0, work, nh,
                woh, nh, 1.0, y, m);
}

/* Outputs of the net (its last exit) for nrows rows of standardized inputs xs (nrows x N).
 * work holds at least nrows*Nh doubles. */
void oig_forward_rows(const oig_model *mdl, const double *xs, size_t nrows, double *y, double *work) {
    forward_head(mdl, mdl->woi, mdl->woh, mdl->nh, xs, nrows, y, work);
}

int oig_model_exit_count(const oig_model *mdl) {
    return mdl->exits.nexits > 0 ? mdl->exits.nexits : 1;
}

double oig_model_exit_multiplies(const oig_model *mdl, int exit) {
    int K = oig_model_exit_count(mdl);
    if (exit < 0) exit = K - 1;
    int u = mdl->exits.nexits > 0 ? mdl->exits.units[exit] : mdl->nh;
    return (double)(mdl->bypass ? mdl->n : 0) * mdl->m + (double)u * (mdl->n + mdl->m) +
           (mdl->hidden_rownorm ? 2.0 * u : 0.0);
}

int oig_argmax(const double *v, int m) {
    int best = 0;
    for (int i = 1; i < m; i++) if (v[i] > v[best]) best = i;
    return best;
}

#define PREDICT_BLOCK 1024

oig_status oig_model_predict(const oig_model *mdl, const double *x, size_t nrows,
                             double *y, int *cls) {
    return oig_model_predict_exit(mdl, -1, x, nrows, y, cls);
}

oig_status oig_model_predict_exit(const oig_model *mdl, int exit, const double *x, size_t nrows,
                                  double *y, int *cls) {
    if (mdl == NULL || (nrows > 0 && (x == NULL || y == NULL))) return OIG_EINVAL;
    int K = oig_model_exit_count(mdl);
    if (exit < -1 || exit >= K) return OIG_EINVAL;
    if (exit < 0) exit = K - 1;
    const double *hwoi = mdl->woi, *hwoh = mdl->woh;
    int hnh = mdl->nh;
    if (exit < K - 1) {
        hwoi = mdl->exits.head_woi[exit];
        hwoh = mdl->exits.head_woh[exit];
        hnh = mdl->exits.units[exit];
    }
    int n = mdl->n, nh = mdl->nh, m = mdl->m;
    size_t block = nrows < PREDICT_BLOCK ? nrows : PREDICT_BLOCK;
    if (block == 0) return OIG_OK;
    double *xs = malloc(block * (size_t)n * sizeof(double));
    double *work = malloc((block * (size_t)(nh > 0 ? nh : 1)) * sizeof(double));
    if (xs == NULL || work == NULL) { free(xs); free(work); return OIG_ENOMEM; }
    for (size_t p0 = 0; p0 < nrows; p0 += block) {
        size_t b = nrows - p0 < block ? nrows - p0 : block;
        for (size_t p = 0; p < b; p++)
            for (int j = 0; j < n; j++) {
                double v = x[(p0 + p) * n + j];
                xs[p * n + j] = mdl->standardized ? (v - mdl->in_mean[j]) / mdl->in_scale[j] : v;
            }
        forward_head(mdl, hwoi, hwoh, hnh, xs, b, y + p0 * m, work);
    }
    if (cls != NULL && mdl->task == OIG_CLASSIFICATION)
        for (size_t p = 0; p < nrows; p++) cls[p] = oig_argmax(y + p * m, m);
    free(xs);
    free(work);
    return OIG_OK;
}

void oig_blas_set_threads(int n) { openblas_set_num_threads(n); }
int oig_blas_get_threads(void) { return openblas_get_num_threads(); }
const char *oig_blas_config(void) { return openblas_get_config(); }

char **oig_strings_dup(char *const *src, int n) {
    if (src == NULL || n <= 0) return NULL;
    char **dst = calloc((size_t)n, sizeof(char *));
    if (dst == NULL) return NULL;
    for (int i = 0; i < n; i++) {
        dst[i] = strdup(src[i] ? src[i] : "");
        if (dst[i] == NULL) { oig_strings_free(dst, i); return NULL; }
    }
    return dst;
}

void oig_strings_free(char **s, int n) {
    if (s == NULL) return;
    for (int i = 0; i < n; i++) free(s[i]);
    free(s);
}

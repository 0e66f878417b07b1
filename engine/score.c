/* score.c -- how well a model fits a labeled dataset: E and the classification error of spec 1,
 * each output's MSE, MAE and R^2, and the confusion matrix; and, before that, fitting a dataset's
 * columns and class labels to the model's, so that a file laid out or labeled differently from
 * the training data is scored against the right outputs.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static oig_status fail(oig_error *err, const char *field, const char *msg) {
    if (err) {
        snprintf(err->field, sizeof err->field, "%s", field);
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    return OIG_EINVAL;
}

/* How the names want[0..nwant-1] occur among have[0..nhave-1]: ALL when each occurs exactly once
 * (pick[k] = its index in have), NONE when none occurs (or either list is missing), and SOME
 * otherwise, with *missing the first wanted name that does not occur exactly once. */
enum { NAMES_NONE, NAMES_ALL, NAMES_SOME };

static int match_names(char *const *want, int nwant, char *const *have, int nhave, int *pick,
                       const char **missing) {
    if (want == NULL || have == NULL) return NAMES_NONE;
    int found = 0;
    *missing = NULL;
    for (int k = 0; k < nwant; k++) {
        int times = 0;
        for (int j = 0; j < nhave; j++)
            if (strcmp(want[k], have[j]) == 0) { pick[k] = j; times++; }
        if (times > 0) found++;
        if (times != 1 && *missing == NULL) *missing = want[k];
    }
    return *missing == NULL ? NAMES_ALL : found == 0 ? NAMES_NONE : NAMES_SOME;
}

/* Replace the nrows x ncols matrix *a by its columns pick[0..npick-1], in that order. */
static oig_status take_columns(double **a, size_t nrows, int ncols, const int *pick, int npick) {
    double *b = malloc(nrows * (size_t)npick * sizeof *b + 1);
    if (b == NULL) return OIG_ENOMEM;
    for (size_t p = 0; p < nrows; p++)
        for (int k = 0; k < npick; k++) b[p * (size_t)npick + (size_t)k] = (*a)[p * (size_t)ncols + (size_t)pick[k]];
    free(*a);
    *a = b;
    return OIG_OK;
}

/* The same for a list of names (its entries not picked are freed). */
static oig_status take_names(char ***names, int n, const int *pick, int npick) {
    if (*names == NULL) return OIG_OK;
    char **b = calloc((size_t)npick + 1, sizeof *b);
    if (b == NULL) return OIG_ENOMEM;
    for (int k = 0; k < npick; k++) {
        b[k] = (*names)[pick[k]];
        (*names)[pick[k]] = NULL;
    }
    oig_strings_free(*names, n);
    *names = b;
    return OIG_OK;
}

/* Classification: recode d's classes as the model's (its labels and their order). */
static oig_status conform_classes(oig_data *d, const oig_model *mdl, oig_error *err) {
    if (d->cls == NULL || d->labels == NULL || mdl->labels == NULL || mdl->nclasses != mdl->m)
        return fail(err, "classes", "the model or the dataset has no class labels");
    int *map = malloc((size_t)d->nclasses * sizeof *map + 1);
    char **labels = oig_strings_dup(mdl->labels, mdl->nclasses);
    double *t = malloc(d->nrows * (size_t)mdl->m * sizeof *t + 1);
    if (map == NULL || labels == NULL || t == NULL) {
        free(map); oig_strings_free(labels, mdl->nclasses); free(t);
        return OIG_ENOMEM;
    }
    for (int c = 0; c < d->nclasses; c++) {
        map[c] = -1;
        for (int k = 0; k < mdl->nclasses; k++)
            if (strcmp(d->labels[c], mdl->labels[k]) == 0) map[c] = k;
        if (map[c] < 0) {
            char msg[sizeof err->message];
            snprintf(msg, sizeof msg, "the dataset's class '%.120s' is not one of the model's %d classes",
                     d->labels[c], mdl->nclasses);
            free(map); oig_strings_free(labels, mdl->nclasses); free(t);
            return fail(err, "classes", msg);
        }
    }
    for (size_t p = 0; p < d->nrows; p++) {
        d->cls[p] = map[d->cls[p]];
        double *tr = t + p * (size_t)mdl->m;
        for (int i = 0; i < mdl->m; i++) tr[i] = -1.0;
        tr[d->cls[p]] = 1.0;
    }
    free(map);
    free(d->t);
    d->t = t;
    oig_strings_free(d->labels, d->nclasses);
    d->labels = labels;
    d->nclasses = mdl->nclasses;
    d->m = mdl->m;
    return OIG_OK;
}

oig_status oig_data_conform(oig_data *d, const oig_model *mdl, int *inputs_by_name, oig_error *err) {
    if (d == NULL || mdl == NULL) return OIG_EINVAL;
    if (inputs_by_name) *inputs_by_name = 0;
    if (d->task != mdl->task)
        return fail(err, "task", mdl->task == OIG_CLASSIFICATION ? "the model classifies; the dataset is a regression dataset"
                                                                 : "the model is a regression model; the dataset is a classification dataset");
    oig_status st;
    int nmax = d->n > d->m ? d->n : d->m;
    int *pick = malloc(((size_t)(nmax > mdl->n ? nmax : mdl->n) + (size_t)mdl->m) * sizeof *pick + 1);
    if (pick == NULL) return OIG_ENOMEM;
    const char *missing = NULL;
    int how = match_names(mdl->input_names, mdl->n, d->input_names, d->n, pick, &missing);
    char msg[sizeof err->message];
    if (how == NAMES_ALL) {
        if ((st = take_columns(&d->x, d->nrows, d->n, pick, mdl->n)) != OIG_OK ||
            (st = take_names(&d->input_names, d->n, pick, mdl->n)) != OIG_OK) goto out;
        d->n = mdl->n;
        if (inputs_by_name) *inputs_by_name = 1;
    } else if (how == NAMES_SOME) {
        snprintf(msg, sizeof msg, "the dataset names some of the model's inputs but not '%.100s' (or names it twice)", missing);
        st = fail(err, "inputs", msg);
        goto out;
    } else if (d->n != mdl->n) {
        snprintf(msg, sizeof msg, "the dataset has %d inputs and the model %d, and none of the model's input "
                 "names is among the dataset's", d->n, mdl->n);
        st = fail(err, "inputs", msg);
        goto out;
    }
    if (mdl->task == OIG_CLASSIFICATION) {
        st = conform_classes(d, mdl, err);
        goto out;
    }
    how = mdl->ntarget_names == mdl->m && d->ntarget_names == d->m
        ? match_names(mdl->target_names, mdl->m, d->target_names, d->m, pick, &missing) : NAMES_NONE;
    if (how == NAMES_ALL) {
        if ((st = take_columns(&d->t, d->nrows, d->m, pick, mdl->m)) == OIG_OK &&
            (st = take_names(&d->target_names, d->ntarget_names, pick, mdl->m)) == OIG_OK)
            d->m = d->ntarget_names = mdl->m;
    } else if (how == NAMES_SOME) {
        snprintf(msg, sizeof msg, "the dataset's targets include some of the model's outputs but not '%.100s'", missing);
        st = fail(err, "targets", msg);
    } else if (d->m != mdl->m) {
        snprintf(msg, sizeof msg, "the dataset has %d targets and the model %d outputs", d->m, mdl->m);
        st = fail(err, "targets", msg);
    } else {
        st = OIG_OK;
    }
out:
    free(pick);
    return st;
}

void oig_score_free(oig_score *s) {
    if (s == NULL) return;
    free(s->output_mse);
    free(s->output_mae);
    free(s->output_r2);
    free(s->confusion);
    memset(s, 0, sizeof *s);
}

/* Rows are predicted this many at a time, so that the outputs never take more than a slice. */
#define SCORE_ROWS 4096

oig_status oig_model_score(const oig_model *mdl, const oig_data *d, oig_score *s) {
    if (mdl == NULL || d == NULL || s == NULL) return OIG_EINVAL;
    memset(s, 0, sizeof *s);
    if (d->n != mdl->n || d->m != mdl->m) return OIG_EINVAL;
    int classify = d->cls != NULL;
    if (classify && d->nclasses != d->m) return OIG_EINVAL;
    int m = d->m;
    size_t nrows = d->nrows;
    s->nrows = nrows;
    s->m = m;
    s->nclasses = classify ? d->nclasses : 0;
    s->output_mse = calloc((size_t)m, sizeof *s->output_mse);
    s->output_mae = calloc((size_t)m, sizeof *s->output_mae);
    s->output_r2 = calloc((size_t)m, sizeof *s->output_r2);
    double *mean = calloc((size_t)m, sizeof *mean);
    double *sst = calloc((size_t)m, sizeof *sst);
    size_t slice = nrows < SCORE_ROWS ? nrows : SCORE_ROWS;
    double *y = malloc(slice * (size_t)m * sizeof *y + 1);
    if (classify) s->confusion = calloc((size_t)s->nclasses * (size_t)s->nclasses, sizeof *s->confusion);
    oig_status st = OIG_ENOMEM;
    if (!s->output_mse || !s->output_mae || !s->output_r2 || !mean || !sst || !y ||
        (classify && !s->confusion)) goto out;
    /* each target's mean over the rows, for R^2's total sum of squares */
    for (size_t p = 0; p < nrows; p++)
        for (int i = 0; i < m; i++) mean[i] += d->t[p * (size_t)m + (size_t)i];
    for (int i = 0; i < m; i++) mean[i] /= (double)(nrows ? nrows : 1);
    double sse = 0.0;
    long wrong = 0;
    for (size_t p0 = 0; p0 < nrows; p0 += slice) {
        size_t k = nrows - p0 < slice ? nrows - p0 : slice;
        if ((st = oig_model_predict(mdl, d->x + p0 * (size_t)d->n, k, y, NULL)) != OIG_OK) goto out;
        for (size_t q = 0; q < k; q++) {
            const double *t = d->t + (p0 + q) * (size_t)m;
            for (int i = 0; i < m; i++) {
                double e = t[i] - y[q * (size_t)m + (size_t)i];
                double c = t[i] - mean[i];
                sse += e * e;
                s->output_mse[i] += e * e;
                s->output_mae[i] += fabs(e);
                sst[i] += c * c;
            }
            if (classify) {
                /* the argmax rule of spec 10, whatever task the model was trained for */
                int truth = d->cls[p0 + q], guess = oig_argmax(y + q * (size_t)m, m);
                if (guess != truth) wrong++;
                s->confusion[(size_t)truth * (size_t)s->nclasses + (size_t)guess]++;
            }
        }
    }
    double rows = (double)nrows;
    s->mse = nrows ? sse / rows : NAN;
    s->err_pct = classify && nrows ? 100.0 * (double)wrong / rows : NAN;
    for (int i = 0; i < m; i++) {
        s->output_r2[i] = sst[i] > 0.0 ? 1.0 - s->output_mse[i] / sst[i] : NAN;
        s->output_mse[i] = nrows ? s->output_mse[i] / rows : NAN;
        s->output_mae[i] = nrows ? s->output_mae[i] / rows : NAN;
    }
    st = OIG_OK;
out:
    free(mean); free(sst); free(y);
    if (st != OIG_OK) oig_score_free(s);
    return st;
}

oig_status oig_model_evaluate(const oig_model *mdl, const oig_data *d, double *mse, double *err_pct) {
    if (mdl == NULL || d == NULL || mse == NULL) return OIG_EINVAL;
    oig_score s;
    oig_status st = oig_model_score(mdl, d, &s);
    if (st != OIG_OK) return st;
    *mse = s.mse;
    if (err_pct) *err_pct = d->cls ? s.err_pct : NAN;
    oig_score_free(&s);
    return OIG_OK;
}

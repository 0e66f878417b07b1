/* predict_text.c -- a model's inputs read from CSV or whitespace-separated text, and its
 * predictions written as CSV: `oigd predict` and `oigd evaluate` on files, and
 * POST /v1/models/{id}/predict with a text/csv body.
 *
 * The engine's parser reads the rows; this file finds which columns hold the model's inputs (by
 * the header's names, by given indices, or by position) from the first record, split the way
 * engine/data.c splits it. */
#include "predict_text.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textfmt.h"

/* Format the message into msg; returns -1. */
static int fail(char *msg, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return -1;
}

void text_record_free(text_record *fr) {
    for (int i = 0; i < fr->k; i++) free(fr->names[i]);
    free(fr->names);
    fr->names = NULL;
    fr->k = 0;
}

static int is_num_token(const char *s) {
    if (*s == '\0') return 0;
    char *end;
    strtod(s, &end);
    return *end == '\0';
}

static int fr_push(text_record *fr, const char *p, size_t n, int unquote) {
    if (fr->k >= OIG_DEFAULT_MAX_COLUMNS) return -1;
    char **nn = realloc(fr->names, (size_t)(fr->k + 1) * sizeof *nn);
    if (nn == NULL) return -1;
    fr->names = nn;
    char *s = malloc(n + 1);
    if (s == NULL) return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        s[o++] = p[i];
        if (unquote && p[i] == '"' && i + 1 < n && p[i + 1] == '"') i++;
    }
    s[o] = '\0';
    fr->names[fr->k++] = s;
    return 0;
}

int text_record_read(const char *b, size_t len, oig_format fmt, int header, text_record *fr) {
    memset(fr, 0, sizeof *fr);
    size_t i = 0;
    if (len >= 3 && memcmp(b, "\xEF\xBB\xBF", 3) == 0) i = 3;
    for (;;) {                                          /* skip blank lines */
        size_t q = i;
        while (q < len && (b[q] == ' ' || b[q] == '\t' || b[q] == '\v' || b[q] == '\f')) q++;
        if (q >= len) return -1;
        if (b[q] != '\n' && b[q] != '\r') { i = q; break; }
        i = q + 1;
    }
    size_t eol = i;
    while (eol < len && b[eol] != '\n' && b[eol] != '\r') eol++;
    fr->csv = fmt == OIG_FORMAT_CSV || (fmt == OIG_FORMAT_AUTO && memchr(b + i, ',', eol - i));
    if (!fr->csv) {
        while (i < eol) {
            while (i < eol && isspace((unsigned char)b[i])) i++;
            if (i >= eol) break;
            size_t s = i;
            while (i < eol && !isspace((unsigned char)b[i])) i++;
            if (fr_push(fr, b + s, i - s, 0) != 0) goto fail;
        }
    } else {
        for (;;) {
            while (i < len && (b[i] == ' ' || b[i] == '\t')) i++;
            if (i < len && b[i] == '"') {
                size_t s = ++i;
                for (;;) {
                    if (i >= len) goto fail;
                    if (b[i] == '"') {
                        if (i + 1 < len && b[i + 1] == '"') { i += 2; continue; }
                        break;
                    }
                    i++;
                }
                if (fr_push(fr, b + s, i - s, 1) != 0) goto fail;
                i++;
                while (i < len && (b[i] == ' ' || b[i] == '\t')) i++;
            } else {
                size_t s = i;
                while (i < len && b[i] != ',' && b[i] != '\n' && b[i] != '\r') i++;
                size_t e = i;
                while (e > s && (b[e - 1] == ' ' || b[e - 1] == '\t')) e--;
                if (fr_push(fr, b + s, e - s, 0) != 0) goto fail;
            }
            if (i < len && b[i] == ',') { i++; continue; }
            break;
        }
    }
    if (fr->k == 0) goto fail;
    if (header >= 0) fr->header = header;
    else if (fr->csv) fr->header = 1;
    else {
        fr->header = 0;
        for (int j = 0; j < fr->k; j++) if (!is_num_token(fr->names[j])) { fr->header = 1; break; }
    }
    return 0;
fail:
    text_record_free(fr);
    return -1;
}

int text_record_column(const text_record *fr, const char *name) {
    int found = -1;
    for (int j = 0; j < fr->k; j++) {
        if (strcmp(fr->names[j], name) != 0) continue;
        if (found >= 0) return -2;
        found = j;
    }
    return found;
}

int text_input_columns(const oig_model *m, const text_record *fr, const int *icols, int nicols,
                       const char *source, int *cols, char *msg, size_t cap) {
    int n = m->n;
    if (nicols > 0) {
        if (nicols != n)
            return fail(msg, cap, "--input-columns lists %d columns; the model has %d inputs", nicols, n);
        for (int i = 0; i < n; i++) {
            if (icols[i] >= fr->k)
                return fail(msg, cap, "%s: --input-columns: column %d out of range (the data has %d columns)",
                            source, icols[i], fr->k);
            for (int j = 0; j < i; j++)
                if (icols[j] == icols[i]) return fail(msg, cap, "--input-columns: column %d listed twice", icols[i]);
            cols[i] = icols[i];
        }
        return 0;
    }
    if (fr->header && m->input_names) {
        for (int i = 0; i < n; i++) {
            int found = text_record_column(fr, m->input_names[i]);
            if (found == -2)
                return fail(msg, cap, "%s: input column '%s' appears twice in the header", source, m->input_names[i]);
            if (found < 0)
                return fail(msg, cap, "%s: the model's input column '%s' is not in the header", source,
                            m->input_names[i]);
            cols[i] = found;
        }
        return 0;
    }
    int ntargets = m->task == OIG_CLASSIFICATION ? 1 : m->m;
    if (fr->k != n && fr->k != n + ntargets)
        return fail(msg, cap, "%s: %d columns; the model takes %d inputs (without a header, or for a model "
                    "without input names, the data holds %d or %d columns%s)",
                    source, fr->k, n, n, n + ntargets, nicols >= 0 ? "; or use --input-columns" : "");
    for (int i = 0; i < n; i++) cols[i] = i;
    return 0;
}

oig_status text_read_inputs(const oig_model *m, const char *buf, size_t len, const oig_parse_opts *base,
                            const text_record *fr, const int *cols, double **x, size_t *nrows, oig_error *err) {
    int n = m->n;
    memset(err, 0, sizeof *err);
    oig_parse_opts o = *base;
    o.format = fr->csv ? OIG_FORMAT_CSV : OIG_FORMAT_WS;
    o.header = fr->header;
    o.task = OIG_REGRESSION;
    o.targets = NULL;
    o.outputs = 0;
    int tcol = cols[n - 1], spare = -1;
    o.target_columns = &tcol;
    o.ntarget_columns = 1;
    if (n >= 2) {
        o.input_columns = cols;
        o.ninput_columns = n - 1;
    } else {
        /* One input: the parser still needs an input column; borrow any other column. */
        for (int j = 0; j < fr->k && spare < 0; j++) if (j != cols[0]) spare = j;
        if (spare < 0) {
            snprintf(err->message, sizeof err->message, "a single column cannot be read for a one-input model; "
                     "add a second column");
            return OIG_EINVAL;
        }
        o.input_columns = &spare;
        o.ninput_columns = 1;
    }
    oig_data *d = NULL;
    oig_status st = oig_data_parse(buf, len, &o, &d, err);
    if (st != OIG_OK) return st;
    double *v = malloc(d->nrows * (size_t)n * sizeof *v + 1);
    if (v == NULL) {
        oig_data_free(d);
        return OIG_ENOMEM;
    }
    for (size_t p = 0; p < d->nrows; p++) {
        for (int i = 0; i + 1 < n; i++) v[p * (size_t)n + (size_t)i] = d->x[p * (size_t)d->n + (size_t)i];
        v[p * (size_t)n + (size_t)(n - 1)] = d->t[p * (size_t)d->m];
    }
    *x = v;
    *nrows = d->nrows;
    oig_data_free(d);
    return OIG_OK;
}

void text_write_predictions(FILE *f, const oig_model *m, const double *y, const int *cls, size_t nrows) {
    int classify = m->task == OIG_CLASSIFICATION && m->labels != NULL;
    char name[32];
    for (int i = 0; i < m->m; i++) {
        if (i) fputc(',', f);
        if (classify) fmt_csv_field(f, m->labels[i]);
        else if (m->target_names && m->ntarget_names == m->m) fmt_csv_field(f, m->target_names[i]);
        else { snprintf(name, sizeof name, "y%d", i + 1); fputs(name, f); }
    }
    if (classify) fputs(",class", f);
    fputc('\n', f);
    char b[40];
    for (size_t p = 0; p < nrows; p++) {
        for (int i = 0; i < m->m; i++) {
            if (i) fputc(',', f);
            fmt_double_exact(b, sizeof b, y[p * (size_t)m->m + (size_t)i]);
            fputs(b, f);
        }
        if (classify) { fputc(',', f); fmt_csv_field(f, m->labels[cls[p]]); }
        fputc('\n', f);
    }
}


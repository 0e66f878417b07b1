/* textfmt.c -- numbers and CSV fields as text that reads back exactly (see textfmt.h). */
#include "textfmt.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void fmt_double_exact(char *buf, size_t cap, double d) {
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, cap, "%.*g", prec, d);
        double back = strtod(buf, NULL);
        if (memcmp(&back, &d, sizeof d) == 0) return;
    }
}

cJSON *json_number_exact(double d) {
    if (!isfinite(d)) return cJSON_CreateNull();
    char buf[40];
    fmt_double_exact(buf, sizeof buf, d);
    cJSON *it = cJSON_CreateRaw(buf);
    if (it != NULL) it->valuedouble = d;
    return it;
}

void fmt_csv_field(FILE *f, const char *s) {
    size_t n = strlen(s);
    int quote = n == 0 || isspace((unsigned char)s[0]) || isspace((unsigned char)s[n - 1]);
    for (const char *p = s; *p && !quote; p++)
        if (*p == ',' || *p == '"' || *p == '\n' || *p == '\r') quote = 1;
    if (!quote) { fputs(s, f); return; }
    fputc('"', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"') fputc('"', f);
        fputc(*p, f);
    }
    fputc('"', f);
}

static void name_field(FILE *f, char **names, int count, int k, const char *prefix) {
    if (names && k < count && names[k] && names[k][0]) { fmt_csv_field(f, names[k]); return; }
    fprintf(f, "%s%d", prefix, k + 1);
}

void fmt_dataset_csv_header(FILE *f, const oig_data *d) {
    int cls = d->task == OIG_CLASSIFICATION;
    for (int j = 0; j < d->n; j++) {
        if (j) fputc(',', f);
        name_field(f, d->input_names, d->n, j, "x");
    }
    for (int k = 0; k < (cls ? 1 : d->m); k++) {
        fputc(',', f);
        name_field(f, d->target_names, d->ntarget_names, k, cls ? "class" : "y");
    }
    fputc('\n', f);
}

void fmt_dataset_csv_rows(FILE *f, const oig_data *d, size_t p0, size_t p1) {
    int cls = d->task == OIG_CLASSIFICATION;
    char num[40];
    for (size_t p = p0; p < p1 && p < d->nrows; p++) {
        for (int j = 0; j < d->n; j++) {
            fmt_double_exact(num, sizeof num, d->x[p * (size_t)d->n + (size_t)j]);
            if (j) fputc(',', f);
            fputs(num, f);
        }
        if (cls) {
            fputc(',', f);
            fmt_csv_field(f, d->labels[d->cls[p]]);
        } else {
            for (int k = 0; k < d->m; k++) {
                fmt_double_exact(num, sizeof num, d->t[p * (size_t)d->m + (size_t)k]);
                fputc(',', f);
                fputs(num, f);
            }
        }
        fputc('\n', f);
    }
}

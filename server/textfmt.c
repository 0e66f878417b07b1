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

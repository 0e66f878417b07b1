/* predict_body.c -- the fast reading of a predict request body: {"inputs": [[x, ...], ...]} with
 * an optional integer "exit", straight into a row-major array of doubles, without building a
 * cJSON tree (one node and one strtod per number made parsing most of a predict's CPU).
 *
 * It reads only well-formed bodies of that shape whose rows all have the model's input count
 * and finite values; on anything else it declines, and the handler's general path (cJSON, with
 * its exact error messages) takes the body. So it changes no answer, only the cost of the common
 * one. Numbers follow the JSON grammar and convert to the same doubles as strtod's (see
 * read_number). */
#include "api.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int eat(cursor *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) { c->p++; return 1; }
    return 0;
}

/* Exact powers of ten that a double holds (10^0 .. 10^22). */
static const double pow10_exact[23] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* One JSON number (strict grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?). When its
 * digits form an integer m < 2^53 and its decimal exponent e has |e| <= 22, m * 10^e (or
 * m / 10^-e) takes one rounding of two exact doubles and so is the correctly rounded value that
 * strtod gives (Clinger's fast path); other numbers go to strtod. 0 on a malformed number. */
static int read_number(cursor *c, double *out) {
    skip_ws(c);
    const char *s = c->p, *q = s;
    int neg = 0;
    if (q < c->end && *q == '-') { neg = 1; q++; }
    if (q >= c->end || *q < '0' || *q > '9') return 0;
    uint64_t m = 0;
    int digits = 0, exp10 = 0;
    if (*q == '0') q++;
    else
        for (; q < c->end && *q >= '0' && *q <= '9'; q++) {
            if (digits < 19) { m = m * 10 + (uint64_t)(*q - '0'); if (m) digits++; }
            else exp10++;                           /* beyond 19 digits: only the scale counts */
        }
    if (q < c->end && *q == '.') {
        q++;
        if (q >= c->end || *q < '0' || *q > '9') return 0;
        for (; q < c->end && *q >= '0' && *q <= '9'; q++)
            if (digits < 19) { m = m * 10 + (uint64_t)(*q - '0'); if (m) digits++; exp10--; }
    }
    int slow = digits >= 19;
    if (q < c->end && (*q == 'e' || *q == 'E')) {
        q++;
        int eneg = 0, e = 0;
        if (q < c->end && (*q == '+' || *q == '-')) eneg = *q++ == '-';
        if (q >= c->end || *q < '0' || *q > '9') return 0;
        for (; q < c->end && *q >= '0' && *q <= '9'; q++)
            if (e < 100000) e = e * 10 + (*q - '0');
        exp10 += eneg ? -e : e;
    }
    c->p = q;
    double v;
    if (!slow && m < (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
        v = (double)m;
        v = exp10 < 0 ? v / pow10_exact[-exp10] : v * pow10_exact[exp10];
    } else {
        char tmp[400];
        size_t len = (size_t)(q - s);
        if (len >= sizeof tmp) return 0;            /* a number this long: the general path */
        memcpy(tmp, s, len);
        tmp[len] = 0;
        v = strtod(tmp, NULL);
        neg = 0;                                    /* the sign was in the text */
    }
    *out = neg ? -v : v;
    return 1;
}

/* A key without escapes; 0 when it is not one. */
static int read_key(cursor *c, const char **key, size_t *len) {
    if (!eat(c, '"')) return 0;
    const char *k = c->p;
    while (c->p < c->end && *c->p != '"') {
        if (*c->p == '\\' || (unsigned char)*c->p < 0x20) return 0;
        c->p++;
    }
    if (c->p >= c->end) return 0;
    *key = k;
    *len = (size_t)(c->p - k);
    c->p++;
    return eat(c, ':');
}

/* "inputs": rows of exactly n finite numbers, appended to a growing array. */
static int read_rows(cursor *c, size_t n, double **x, size_t *nrows) {
    if (!eat(c, '[')) return 0;
    size_t cap = 0, rows = 0;
    double *buf = NULL;
    if (eat(c, ']')) return 0;                      /* no rows: the general path says why */
    do {
        if (!eat(c, '[')) goto fail;
        if (rows + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 16;
            double *nb = realloc(buf, ncap * n * sizeof *nb + sizeof *nb);
            if (!nb) goto fail;
            buf = nb;
            cap = ncap;
        }
        double *row = buf + rows * n;
        for (size_t k = 0; k < n; k++) {
            if (k > 0 && !eat(c, ',')) goto fail;
            if (!read_number(c, &row[k]) || !isfinite(row[k])) goto fail;
        }
        if (!eat(c, ']')) goto fail;
        rows++;
    } while (eat(c, ','));
    if (!eat(c, ']')) goto fail;
    *x = buf;
    *nrows = rows;
    return 1;
fail:
    free(buf);
    return 0;
}

int api_predict_body_read(const char *body, size_t len, size_t n, int exits, double **x, size_t *nrows,
                          int *exit_k) {
    cursor c = {body, body + len};
    *x = NULL;
    *nrows = 0;
    *exit_k = 0;
    if (n == 0 || !eat(&c, '{')) return 0;
    int have_inputs = 0, have_exit = 0;
    do {
        const char *key;
        size_t klen;
        if (!read_key(&c, &key, &klen)) goto decline;
        if (klen == 6 && memcmp(key, "inputs", 6) == 0 && !have_inputs) {
            if (!read_rows(&c, n, x, nrows)) goto decline;
            have_inputs = 1;
        } else if (klen == 4 && memcmp(key, "exit", 4) == 0 && !have_exit) {
            double e;
            if (!read_number(&c, &e) || e != floor(e) || e < 1 || e > exits) goto decline;
            *exit_k = (int)e;
            have_exit = 1;
        } else {
            goto decline;                           /* unknown or repeated member */
        }
    } while (eat(&c, ','));
    if (!eat(&c, '}') || !have_inputs) goto decline;
    skip_ws(&c);
    if (c.p != c.end) goto decline;
    return 1;
decline:
    free(*x);
    *x = NULL;
    *nrows = 0;
    *exit_k = 0;
    return 0;
}

/* data.c -- datasets: parse a CSV or whitespace-separated buffer into inputs x and targets t,
 * select rows, split train/validation by a seeded shuffle, parse row-index lists.
 *
 * Owns every allocation of an oig_data. Reads memory only (never files). Two passes over the
 * buffer: the first counts rows and checks shape and limits, the second converts cells into
 * matrices allocated once; no allocation per cell. Every parse error names line and column.
 */
#include "oig.h"
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_MAX 128           /* longest numeric cell or class label, NUL included */
#define ROLE_UNUSED (-1)        /* column neither input nor target */
#define ROLE_TARGET(k) (-2 - (k))   /* role code of target slot k; input slot i is i itself */

/* ---- errors ------------------------------------------------------------------------------ */

static void copy_bounded(char *dst, size_t cap, const char *src) {
    size_t i = 0;
    if (src) for (; i + 1 < cap && src[i]; i++) dst[i] = src[i];
    dst[i] = '\0';
}

/* Fill err (line/column clamped to int; 0 = not applicable) and return st. */
static oig_status fail(oig_error *err, oig_status st, size_t line, int column, const char *field,
                       const char *fmt, ...) {
    err->line = line > (size_t)INT_MAX ? INT_MAX : (int)line;
    err->column = column;
    copy_bounded(err->field, sizeof err->field, field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return st;
}

/* ---- lexer: one record at a time, fields as spans into the buffer ------------------------ */

typedef struct {
    const char *p;      /* content (inside the quotes for a quoted field) */
    size_t len;
    size_t line;        /* physical line where the field starts */
    int escaped;        /* quoted content holds doubled quotes to undo */
} field;

typedef struct {
    const char *buf;
    size_t len, pos;
    size_t line;        /* physical line at pos, 1-based */
    int csv;
    field *f;           /* fields of the last record */
    int nf, cap, maxcols;
    size_t rec_line;    /* line where the last record starts */
} lexer;

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }
static int is_eol(char c) { return c == '\n' || c == '\r'; }

/* Consume the line end at pos ("\n", "\r\n" or "\r"). */
static void lex_eol(lexer *lx) {
    if (lx->buf[lx->pos] == '\r' && lx->pos + 1 < lx->len && lx->buf[lx->pos + 1] == '\n')
        lx->pos++;
    lx->pos++;
    lx->line++;
}

/* Grow the field array (up to max_columns fields). */
static oig_status lex_grow(lexer *lx, oig_error *err) {
    {
        if (lx->cap >= lx->maxcols)
            return fail(err, OIG_ELIMIT, lx->rec_line, lx->maxcols + 1, NULL,
                        "more than max_columns (%d) fields", lx->maxcols);
        int ncap = lx->cap < 16 ? 32 : (lx->cap > lx->maxcols / 2 ? lx->maxcols : 2 * lx->cap);
        if (ncap > lx->maxcols) ncap = lx->maxcols;
        field *nf = realloc(lx->f, (size_t)ncap * sizeof *nf);
        if (nf == NULL) return fail(err, OIG_ENOMEM, 0, 0, NULL, "out of memory");
        lx->f = nf;
        lx->cap = ncap;
    }
    return OIG_OK;
}

static inline oig_status lex_push(lexer *lx, const char *p, size_t len, size_t line, int escaped,
                                  oig_error *err) {
    if (lx->nf == lx->cap) {
        oig_status st = lex_grow(lx, err);
        if (st != OIG_OK) return st;
    }
    field *f = &lx->f[lx->nf++];
    f->p = p; f->len = len; f->line = line; f->escaped = escaped;
    return OIG_OK;
}

/* Byte classes for the lexer's inner loops. */
enum { C_BLANK = 1, C_EOL = 2, C_COMMA = 4 };
static const unsigned char byte_class[256] = {
    ['\t'] = C_BLANK, ['\v'] = C_BLANK, ['\f'] = C_BLANK, [' '] = C_BLANK,
    ['\n'] = C_EOL, ['\r'] = C_EOL, [','] = C_COMMA
};
#define CLASS(c) byte_class[(unsigned char)(c)]

/* Read the next non-blank record into lx->f[0..nf-1]. *got = 0 at end of input. Blank lines
 * (only blanks) are skipped in both formats. CSV follows RFC 4180 (quoted fields may hold
 * commas, doubled quotes and line breaks); blanks around an unquoted field are trimmed. */
static oig_status lex_record(lexer *lx, int *got, oig_error *err) {
    const char *b = lx->buf;
    size_t len = lx->len, pos = lx->pos;
    oig_status st = OIG_OK;
    *got = 0;
    lx->nf = 0;
    for (;;) {                                  /* skip blank lines */
        while (pos < len && CLASS(b[pos]) == C_BLANK) pos++;
        lx->pos = pos;
        if (pos == len) return OIG_OK;
        if (CLASS(b[pos]) != C_EOL) break;
        lex_eol(lx);
        pos = lx->pos;
    }
    lx->rec_line = lx->line;
    if (!lx->csv) {
        for (;;) {
            while (pos < len && CLASS(b[pos]) == C_BLANK) pos++;
            if (pos == len) break;
            if (CLASS(b[pos]) == C_EOL) { lx->pos = pos; lex_eol(lx); pos = lx->pos; break; }
            size_t s = pos;
            while (pos < len && !(CLASS(b[pos]) & (C_BLANK | C_EOL))) pos++;
            if ((st = lex_push(lx, b + s, pos - s, lx->line, 0, err)) != OIG_OK) goto out;
        }
        *got = 1;
        goto out;
    }
    for (;;) {
        while (pos < len && CLASS(b[pos]) == C_BLANK) pos++;
        size_t fline = lx->line;
        if (pos < len && b[pos] == '"') {
            size_t s = ++pos;
            int esc = 0;
            for (;;) {
                if (pos >= len) {
                    st = fail(err, OIG_EPARSE, fline, lx->nf + 1, NULL,
                              "unterminated quote");
                    goto out;
                }
                char c = b[pos];
                if (c == '"') {
                    if (pos + 1 < len && b[pos + 1] == '"') { esc = 1; pos += 2; continue; }
                    break;
                }
                if (c == '\n' || (c == '\r' && !(pos + 1 < len && b[pos + 1] == '\n'))) lx->line++;
                pos++;
            }
            size_t e = pos++;
            while (pos < len && CLASS(b[pos]) == C_BLANK) pos++;
            if (pos < len && !(CLASS(b[pos]) & (C_COMMA | C_EOL))) {
                st = fail(err, OIG_EPARSE, lx->line, lx->nf + 1, NULL,
                          "unexpected '%c' after a closing quote", b[pos]);
                goto out;
            }
            if ((st = lex_push(lx, b + s, e - s, fline, esc, err)) != OIG_OK) goto out;
        } else {
            size_t s = pos;
            while (pos < len && !(CLASS(b[pos]) & (C_COMMA | C_EOL))) pos++;
            size_t e = pos;
            while (e > s && CLASS(b[e - 1]) == C_BLANK) e--;
            if ((st = lex_push(lx, b + s, e - s, fline, 0, err)) != OIG_OK) goto out;
        }
        if (pos < len && b[pos] == ',') { pos++; continue; }
        if (pos < len) { lx->pos = pos; lex_eol(lx); pos = lx->pos; }
        break;
    }
    *got = 1;
out:
    lx->pos = pos;
    return st;
}

/* Copy a field's content into dst (cap bytes, NUL-terminated), undoing doubled quotes.
 * Returns the length, or -1 when it does not fit. */
static long field_copy(const field *f, char *dst, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < f->len; i++) {
        if (o + 1 >= cap) return -1;
        dst[o++] = f->p[i];
        if (f->escaped && f->p[i] == '"' && i + 1 < f->len && f->p[i + 1] == '"') i++;
    }
    dst[o] = '\0';
    return (long)o;
}

/* A field's content as a new string (doubled quotes undone). */
static char *field_strdup(const field *f) {
    char *s = malloc(f->len + 1);
    if (s != NULL) field_copy(f, s, f->len + 1);
    return s;
}

/* A short printable rendering of a field for messages. */
static void field_show(const field *f, char *out, size_t cap) {
    size_t o = 0;
    for (size_t i = 0; i < f->len && o + 4 < cap; i++) {
        unsigned char c = (unsigned char)f->p[i];
        out[o++] = (c >= 32 && c < 127) ? (char)c : '?';
    }
    if (o + 4 >= cap && f->len > o) { out[o++] = '.'; out[o++] = '.'; out[o++] = '.'; }
    out[o] = '\0';
}

/* ---- numbers ----------------------------------------------------------------------------- */

enum { NUM_OK = 0, NUM_JUNK, NUM_NONFINITE, NUM_RANGE, NUM_LONG };

static const double pow10_exact[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/* Decimal without strtod when the result is exactly one IEEE operation on exact operands
 * (mantissa < 2^53, |exponent| <= 22), hence correctly rounded. Returns 0 when it cannot. */
static int number_fast(const char *s, size_t n, double *v) {
    size_t i = 0;
    int neg = 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) neg = s[i++] == '-';
    uint64_t m = 0;
    int nd = 0, digits = 0, exp10 = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        if (m == 0 && s[i] == '0') continue;
        if (++nd > 19) return 0;
        m = m * 10 + (uint64_t)(s[i] - '0');
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
            exp10--;
            if (m == 0 && s[i] == '0') continue;
            if (++nd > 19) return 0;
            m = m * 10 + (uint64_t)(s[i] - '0');
        }
    }
    if (digits == 0) return 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0, e = 0, ed = 0;
        if (i < n && (s[i] == '+' || s[i] == '-')) eneg = s[i++] == '-';
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            if (++ed > 4) return 0;
            e = e * 10 + (s[i] - '0');
        }
        if (ed == 0) return 0;
        exp10 += eneg ? -e : e;
    }
    if (i != n) return 0;
    if (m == 0) { *v = neg ? -0.0 : 0.0; return 1; }
    if (m > (1ULL << 53) || exp10 < -22 || exp10 > 22) return 0;
    double d = (double)m;
    d = exp10 < 0 ? d / pow10_exact[-exp10] : d * pow10_exact[exp10];
    *v = neg ? -d : d;
    return 1;
}

/* Convert a field to a finite double. Tokens the fast path cannot take are copied into a
 * bounded stack buffer for strtod. Underflow to zero or a subnormal is accepted. */
static int number_parse(const field *f, double *v) {
    if (!f->escaped && number_fast(f->p, f->len, v)) return NUM_OK;
    char tok[TOKEN_MAX];
    if (f->len >= sizeof tok) return NUM_LONG;
    long n = field_copy(f, tok, sizeof tok);
    if (n <= 0) return NUM_JUNK;
    char *end;
    errno = 0;
    double d = strtod(tok, &end);
    if (end != tok + n) return NUM_JUNK;
    if (!isfinite(d)) return errno == ERANGE ? NUM_RANGE : NUM_NONFINITE;
    *v = d;
    return NUM_OK;
}

static int is_number_token(const field *f) {
    double v;
    int r = number_parse(f, &v);
    return r == NUM_OK || r == NUM_NONFINITE || r == NUM_RANGE;
}

static int parse_num_str(const char *s, double *v) {
    field f = { s, strlen(s), 0, 0 };
    return number_parse(&f, v) == NUM_OK;
}

/* ---- class labels: distinct strings, one id each (open addressing) ----------------------- */

typedef struct {
    char **lab;         /* distinct labels in order of first appearance */
    int n, cap;
    int *slot;          /* nslot entries: label id or -1 */
    size_t nslot;
} labelset;

static uint64_t hash_str(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 1099511628211ULL; }
    return h;
}

static void labelset_free(labelset *ls) {
    oig_strings_free(ls->lab, ls->n);
    free(ls->slot);
    memset(ls, 0, sizeof *ls);
}

static int labelset_rehash(labelset *ls, size_t nslot) {
    int *slot = malloc(nslot * sizeof *slot);
    if (slot == NULL) return -1;
    for (size_t i = 0; i < nslot; i++) slot[i] = -1;
    for (int id = 0; id < ls->n; id++) {
        size_t h = (size_t)hash_str(ls->lab[id], strlen(ls->lab[id])) & (nslot - 1);
        while (slot[h] >= 0) h = (h + 1) & (nslot - 1);
        slot[h] = id;
    }
    free(ls->slot);
    ls->slot = slot;
    ls->nslot = nslot;
    return 0;
}

/* The id of label s (length n), adding it when new. -1 out of memory, -2 more than limit. */
static int labelset_id(labelset *ls, const char *s, size_t n, int limit) {
    if (ls->nslot == 0 && labelset_rehash(ls, 16) != 0) return -1;
    size_t h = (size_t)hash_str(s, n) & (ls->nslot - 1);
    while (ls->slot[h] >= 0) {
        const char *l = ls->lab[ls->slot[h]];
        if (strncmp(l, s, n) == 0 && l[n] == '\0') return ls->slot[h];
        h = (h + 1) & (ls->nslot - 1);
    }
    if (ls->n >= limit) return -2;
    if (ls->n == ls->cap) {
        int ncap = ls->cap ? 2 * ls->cap : 8;
        char **nl = realloc(ls->lab, (size_t)ncap * sizeof *nl);
        if (nl == NULL) return -1;
        ls->lab = nl;
        ls->cap = ncap;
    }
    char *copy = malloc(n + 1);
    if (copy == NULL) return -1;
    memcpy(copy, s, n);
    copy[n] = '\0';
    int id = ls->n++;
    ls->lab[id] = copy;
    ls->slot[h] = id;
    if ((size_t)ls->n * 2 > ls->nslot && labelset_rehash(ls, ls->nslot * 2) != 0) return -1;
    return id;
}

typedef struct { const char *s; double v; int id; } label_key;

static int cmp_label_num(const void *a, const void *b) {
    const label_key *x = a, *y = b;
    if (x->v < y->v) return -1;
    if (x->v > y->v) return 1;
    return strcmp(x->s, y->s);
}

static int cmp_label_str(const void *a, const void *b) {
    const label_key *x = a, *y = b;
    return strcmp(x->s, y->s);
}

/* ---- options and columns ----------------------------------------------------------------- */

void oig_parse_opts_init(oig_parse_opts *o) {
    memset(o, 0, sizeof *o);
    o->format = OIG_FORMAT_AUTO;
    o->task = OIG_REGRESSION;
    o->header = -1;         /* CSV: header row; WS: detect */
    o->max_columns = OIG_DEFAULT_MAX_COLUMNS;
}

static oig_status check_opts(const oig_parse_opts *o, oig_error *err) {
    if (o->format != OIG_FORMAT_AUTO && o->format != OIG_FORMAT_CSV && o->format != OIG_FORMAT_WS)
        return fail(err, OIG_EINVAL, 0, 0, "format", "unknown format %d", (int)o->format);
    if (o->task != OIG_REGRESSION && o->task != OIG_CLASSIFICATION)
        return fail(err, OIG_EINVAL, 0, 0, "task", "unknown task %d", (int)o->task);
    if (o->header < -1 || o->header > 1)
        return fail(err, OIG_EINVAL, 0, 0, "header", "header must be -1 (auto), 0 or 1");
    if (o->outputs < 0)
        return fail(err, OIG_EINVAL, 0, 0, "outputs", "outputs must be >= 0");
    if (o->max_columns < 0)
        return fail(err, OIG_EINVAL, 0, 0, "max_columns", "max_columns must be >= 0");
    if (o->ntarget_columns < 0 || (o->ntarget_columns > 0 && o->target_columns == NULL))
        return fail(err, OIG_EINVAL, 0, 0, "target_columns", "target_columns: bad count or NULL list");
    if (o->ninput_columns < 0 || (o->ninput_columns > 0 && o->input_columns == NULL))
        return fail(err, OIG_EINVAL, 0, 0, "input_columns", "input_columns: bad count or NULL list");
    return OIG_OK;
}

static int str_blank(const char *s) {
    for (; s && *s; s++) if (!is_blank(*s) && !is_eol(*s)) return 0;
    return 1;
}

/* Choose target and input columns among K named columns (precedence documented in oig.h).
 * role[j] receives ROLE_UNUSED, an input slot i or ROLE_TARGET(k). incol/tcol (K entries each)
 * receive the column of each slot. */
static oig_status resolve_columns(const oig_parse_opts *o, int K, char *const *names, int *role,
                                  int *incol, int *n, int *tcol, int *m, oig_error *err) {
    *n = *m = 0;
    for (int j = 0; j < K; j++) role[j] = ROLE_UNUSED;
    if (o->ntarget_columns > 0) {
        for (int k = 0; k < o->ntarget_columns; k++) {
            int c = o->target_columns[k];
            if (c < 0 || c >= K)
                return fail(err, OIG_EINVAL, 0, 0, "target_columns",
                            "target column %d out of range (the data has %d columns)", c, K);
            if (role[c] != ROLE_UNUSED)
                return fail(err, OIG_EINVAL, 0, 0, "target_columns",
                            "target column %d listed twice", c);
            role[c] = ROLE_TARGET(*m);
            tcol[(*m)++] = c;
        }
    } else if (o->targets != NULL && !str_blank(o->targets)) {
        const char *s = o->targets;
        for (;;) {
            while (is_blank(*s)) s++;
            const char *e = s;
            while (*e && *e != ',') e++;
            const char *t = e;
            while (t > s && is_blank(t[-1])) t--;
            size_t tl = (size_t)(t - s);
            if (tl == 0)
                return fail(err, OIG_EINVAL, 0, 0, "targets", "targets: empty column name");
            int found = -1;
            for (int j = 0; j < K; j++) {
                if (strncmp(names[j], s, tl) == 0 && names[j][tl] == '\0') {
                    if (found >= 0)
                        return fail(err, OIG_EINVAL, 0, 0, "targets",
                                    "target '%.*s' is ambiguous: columns %d and %d share the name",
                                    (int)(tl > 64 ? 64 : tl), s, found, j);
                    found = j;
                }
            }
            if (found < 0)
                return fail(err, OIG_EINVAL, 0, 0, "targets", "unknown target column '%.*s'",
                            (int)(tl > 64 ? 64 : tl), s);
            if (role[found] != ROLE_UNUSED)
                return fail(err, OIG_EINVAL, 0, 0, "targets", "target '%.*s' listed twice",
                            (int)(tl > 64 ? 64 : tl), s);
            role[found] = ROLE_TARGET(*m);
            tcol[(*m)++] = found;
            if (*e == '\0') break;
            s = e + 1;
        }
    } else {
        int mm = o->outputs > 0 ? o->outputs : 1;
        if (mm >= K)
            return fail(err, OIG_EINVAL, 0, 0, o->outputs > 0 ? "outputs" : "targets",
                        "%d target column(s) leave no input among %d columns", mm, K);
        for (int c = K - mm; c < K; c++) {
            role[c] = ROLE_TARGET(*m);
            tcol[(*m)++] = c;
        }
    }
    if (o->task == OIG_CLASSIFICATION && *m != 1)
        return fail(err, OIG_EINVAL, 0, 0, "targets",
                    "classification takes exactly one target column (the class), got %d", *m);
    if (o->ninput_columns > 0) {
        for (int i = 0; i < o->ninput_columns; i++) {
            int c = o->input_columns[i];
            if (c < 0 || c >= K)
                return fail(err, OIG_EINVAL, 0, 0, "input_columns",
                            "input column %d out of range (the data has %d columns)", c, K);
            if (role[c] >= 0)
                return fail(err, OIG_EINVAL, 0, 0, "input_columns", "input column %d listed twice", c);
            if (role[c] != ROLE_UNUSED)
                return fail(err, OIG_EINVAL, 0, 0, "input_columns",
                            "column %d is both an input and a target", c);
            role[c] = *n;
            incol[(*n)++] = c;
        }
    } else {
        for (int c = 0; c < K; c++)
            if (role[c] == ROLE_UNUSED) { role[c] = *n; incol[(*n)++] = c; }
    }
    if (*n == 0)
        return fail(err, OIG_EINVAL, 0, 0, "input_columns", "no input columns");
    return OIG_OK;
}

/* ---- the parser ---------------------------------------------------------------------------- */

/* Tell the caller, every RELEASE_STEP bytes, that the parser is done with buf[*released, pos). */
#define RELEASE_STEP ((size_t)8 << 20)
static void release_behind(const oig_parse_opts *o, const char *buf, size_t *released, size_t pos) {
    if (o->release == NULL || pos < *released + RELEASE_STEP) return;
    o->release(buf + *released, pos - *released, o->release_ctx);
    *released = pos;
}

static int guess_csv(const char *b, size_t len) {
    size_t i = 0;
    for (;;) {                                  /* first non-blank line */
        size_t s = i;
        int blank = 1;
        while (i < len && !is_eol(b[i])) { if (!is_blank(b[i])) blank = 0; i++; }
        if (!blank) return memchr(b + s, ',', i - s) != NULL;
        if (i >= len) return 0;
        i++;
    }
}

static char *column_default_name(int j) {
    char tmp[24];
    snprintf(tmp, sizeof tmp, "c%d", j);
    return strdup(tmp);
}

/* Report a bad numeric cell. */
static oig_status cell_error(oig_error *err, int r, const field *f, int col, const char *name) {
    char show[48];
    field_show(f, show, sizeof show);
    switch (r) {
    case NUM_LONG:
        return fail(err, OIG_EPARSE, f->line, col, name,
                    "column '%s': cell longer than %d characters", name, TOKEN_MAX - 1);
    case NUM_NONFINITE:
        return fail(err, OIG_EPARSE, f->line, col, name,
                    "column '%s': NaN or Inf is not allowed: '%s'", name, show);
    case NUM_RANGE:
        return fail(err, OIG_EPARSE, f->line, col, name,
                    "column '%s': value out of range: '%s'", name, show);
    default:
        if (f->len == 0)
            return fail(err, OIG_EPARSE, f->line, col, name,
                        "column '%s': empty cell, expected a number", name);
        return fail(err, OIG_EPARSE, f->line, col, name,
                    "column '%s': expected a number, found '%s'", name, show);
    }
}

oig_status oig_data_parse(const char *buf, size_t len, const oig_parse_opts *opts,
                          oig_data **out, oig_error *err) {
    oig_error scratch;
    if (err == NULL) err = &scratch;
    memset(err, 0, sizeof *err);
    if (out == NULL) return fail(err, OIG_EINVAL, 0, 0, NULL, "out is NULL");
    *out = NULL;
    if (buf == NULL && len > 0) return fail(err, OIG_EINVAL, 0, 0, NULL, "buffer is NULL");
    oig_parse_opts o;
    if (opts) o = *opts; else oig_parse_opts_init(&o);
    if (o.max_columns == 0) o.max_columns = OIG_DEFAULT_MAX_COLUMNS;
    oig_status st = check_opts(&o, err);
    if (st != OIG_OK) return st;

    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) { buf += 3; len -= 3; }  /* UTF-8 BOM */
    int csv = o.format == OIG_FORMAT_CSV || (o.format == OIG_FORMAT_AUTO && guess_csv(buf, len));

    lexer lx = { .buf = buf, .len = len, .line = 1, .csv = csv, .maxcols = o.max_columns };
    char **names = NULL;
    int K = 0, n = 0, m = 0, *role = NULL, *incol = NULL, *tcol = NULL;
    labelset ls = { 0 };
    oig_data *d = NULL;
    int got;

    /* header, or the first data record */
    if ((st = lex_record(&lx, &got, err)) != OIG_OK) goto fail;
    if (!got) { st = fail(err, OIG_EPARSE, 1, 1, NULL, "empty input: no data rows"); goto fail; }
    K = lx.nf;
    int has_header;
    if (csv) has_header = o.header != 0;
    else if (o.header >= 0) has_header = o.header;
    else {
        has_header = 0;
        for (int j = 0; j < K; j++) if (!is_number_token(&lx.f[j])) { has_header = 1; break; }
    }
    names = calloc((size_t)K, sizeof *names);
    role = malloc((size_t)K * sizeof *role);
    incol = malloc((size_t)K * sizeof *incol);
    tcol = malloc((size_t)K * sizeof *tcol);
    if (!names || !role || !incol || !tcol) { st = fail(err, OIG_ENOMEM, 0, 0, NULL, "out of memory"); goto fail; }
    for (int j = 0; j < K; j++) {
        names[j] = has_header && lx.f[j].len > 0 ? field_strdup(&lx.f[j]) : column_default_name(j);
        if (names[j] == NULL) { st = fail(err, OIG_ENOMEM, 0, 0, NULL, "out of memory"); goto fail; }
    }
    if ((st = resolve_columns(&o, K, names, role, incol, &n, tcol, &m, err)) != OIG_OK) goto fail;

    /* pass 1: count rows, check shape and limits */
    size_t data_pos = has_header ? lx.pos : 0, data_line = has_header ? lx.line : 1;
    if (!has_header) { lx.pos = 0; lx.line = 1; }
    size_t nrows = 0, first_line = 0;
    size_t released = 0;
    for (;;) {
        if ((st = lex_record(&lx, &got, err)) != OIG_OK) goto fail;
        if (!got) break;
        release_behind(&o, buf, &released, lx.pos);
        if (nrows == 0) first_line = lx.rec_line;
        if (lx.nf != K) {
            st = fail(err, OIG_EPARSE, lx.rec_line, (lx.nf < K ? lx.nf : K) + 1, NULL,
                      "expected %d fields, found %d", K, lx.nf);
            goto fail;
        }
        nrows++;
        if (o.max_cells && nrows > o.max_cells / (size_t)K) {
            st = fail(err, OIG_ELIMIT, lx.rec_line, 1, NULL,
                      "more than max_cells (%zu) cells", o.max_cells);
            goto fail;
        }
    }
    if (nrows == 0) {
        st = fail(err, OIG_EPARSE, lx.line, 1, NULL, "empty input: no data rows after the header");
        goto fail;
    }

    /* allocate once */
    int classify = o.task == OIG_CLASSIFICATION;
    d = calloc(1, sizeof *d);
    if (d == NULL) { st = fail(err, OIG_ENOMEM, 0, 0, NULL, "out of memory"); goto fail; }
    d->nrows = nrows; d->n = n; d->task = o.task;
    if (nrows > SIZE_MAX / sizeof(double) / (size_t)n ||
        (!classify && nrows > SIZE_MAX / sizeof(double) / (size_t)m)) {
        st = fail(err, OIG_ELIMIT, 0, 0, NULL, "data too large to address");
        goto fail;
    }
    d->x = malloc(nrows * (size_t)n * sizeof(double));
    if (classify) d->cls = malloc(nrows * sizeof(int));
    else { d->m = m; d->t = malloc(nrows * (size_t)m * sizeof(double)); }
    d->input_names = calloc((size_t)n, sizeof(char *));
    d->target_names = calloc((size_t)(classify ? 1 : m), sizeof(char *));
    if (!d->x || (classify ? !d->cls : !d->t) || !d->input_names || !d->target_names) {
        st = fail(err, OIG_ENOMEM, 0, 0, NULL, "out of memory");
        goto fail;
    }
    for (int i = 0; i < n; i++)
        if ((d->input_names[i] = strdup(names[incol[i]])) == NULL) {
            st = fail(err, OIG_ENOMEM, 0, 0, NULL, "out of memory");
            goto fail;
        }
    for (int k = 0; k < (classify ? 1 : m); k++)
        if ((d->target_names[k] = strdup(names[tcol[k]])) == NULL) {
            st = fail(err, OIG_ENOMEM, 0, 0, NULL, "out of memory");
            goto fail;
        }
    d->ntarget_names = classify ? 1 : m;

    /* pass 2: convert the used cells */
    lx.pos = data_pos; lx.line = data_line;
    released = data_pos;
    int climit = o.max_columns;
    for (size_t p = 0; p < nrows; p++) {
        release_behind(&o, buf, &released, lx.pos);
        if ((st = lex_record(&lx, &got, err)) != OIG_OK) goto fail;
        double *xr = d->x + p * (size_t)n;
        double *tr = classify ? NULL : d->t + p * (size_t)m;
        for (int j = 0; j < K; j++) {
            int r = role[j];
            if (r == ROLE_UNUSED) continue;
            const field *f = &lx.f[j];
            if (classify && r < 0) {
                char lab[TOKEN_MAX];
                long ll = field_copy(f, lab, sizeof lab);
                if (ll < 0) {
                    st = fail(err, OIG_EPARSE, f->line, j + 1, names[j],
                              "column '%s': class label longer than %d characters",
                              names[j], TOKEN_MAX - 1);
                    goto fail;
                }
                if (ll == 0) {
                    st = fail(err, OIG_EPARSE, f->line, j + 1, names[j],
                              "column '%s': empty class label", names[j]);
                    goto fail;
                }
                if (memchr(lab, '\0', (size_t)ll) != NULL) {
                    st = fail(err, OIG_EPARSE, f->line, j + 1, names[j],
                              "column '%s': class label holds a NUL byte", names[j]);
                    goto fail;
                }
                int id = labelset_id(&ls, lab, (size_t)ll, climit);
                if (id == -1) { st = fail(err, OIG_ENOMEM, 0, 0, NULL, "out of memory"); goto fail; }
                if (id == -2) {
                    st = fail(err, OIG_ELIMIT, f->line, j + 1, names[j],
                              "column '%s': more than max_columns (%d) classes", names[j], climit);
                    goto fail;
                }
                d->cls[p] = id;
                continue;
            }
            double v;
            int nr = number_parse(f, &v);
            if (nr != NUM_OK) { st = cell_error(err, nr, f, j + 1, names[j]); goto fail; }
            if (r >= 0) xr[r] = v;
            else tr[ROLE_TARGET(0) - r] = v;
        }
    }

    /* classes: sort the labels, code the targets +1/-1 */
    if (classify) {
        int M = ls.n, cj = tcol[0];
        if (M < (o.one_class_ok ? 1 : 2)) {
            st = fail(err, OIG_EPARSE, first_line, cj + 1, names[cj],
                      "class column '%s' holds only one class ('%s')", names[cj], ls.lab[0]);
            goto fail;
        }
        if (nrows > SIZE_MAX / sizeof(double) / (size_t)M ||
            (o.max_cells && nrows > o.max_cells / ((size_t)n + (size_t)M))) {
            st = fail(err, OIG_ELIMIT, 0, 0, names[cj],
                      "%zu rows x (%d inputs + %d classes) exceed max_cells", nrows, n, M);
            goto fail;
        }
        label_key *key = malloc((size_t)M * sizeof *key);
        int *rank = malloc((size_t)M * sizeof *rank);
        d->labels = calloc((size_t)M, sizeof(char *));
        d->t = malloc(nrows * (size_t)M * sizeof(double));
        if (!key || !rank || !d->labels || !d->t) {
            free(key); free(rank);
            st = fail(err, OIG_ENOMEM, 0, 0, NULL, "out of memory");
            goto fail;
        }
        int numeric = 1;
        for (int c = 0; c < M; c++) {
            key[c].s = ls.lab[c];
            key[c].id = c;
            if (numeric && !parse_num_str(ls.lab[c], &key[c].v)) numeric = 0;
        }
        qsort(key, (size_t)M, sizeof *key, numeric ? cmp_label_num : cmp_label_str);
        for (int c = 0; c < M; c++) {      /* move the strings into d in sorted order */
            rank[key[c].id] = c;
            d->labels[c] = ls.lab[key[c].id];
        }
        for (int c = 0; c < M; c++) ls.lab[c] = NULL;
        free(key);
        d->nclasses = M;
        d->m = M;
        for (size_t p = 0; p < nrows; p++) {
            int c = rank[d->cls[p]];
            d->cls[p] = c;
            double *tr = d->t + p * (size_t)M;
            for (int i = 0; i < M; i++) tr[i] = -1.0;
            tr[c] = 1.0;
        }
        free(rank);
    }

    labelset_free(&ls);
    oig_strings_free(names, K);
    free(role); free(incol); free(tcol); free(lx.f);
    *out = d;
    return OIG_OK;

fail:
    labelset_free(&ls);
    oig_strings_free(names, K);
    free(role); free(incol); free(tcol); free(lx.f);
    oig_data_free(d);
    *out = NULL;
    return st;
}

oig_status oig_data_row_spans(const char *buf, size_t len, const oig_parse_opts *opts,
                              oig_row_spans *out, oig_error *err) {
    oig_error scratch;
    if (err == NULL) err = &scratch;
    memset(err, 0, sizeof *err);
    if (out == NULL) return fail(err, OIG_EINVAL, 0, 0, NULL, "out is NULL");
    memset(out, 0, sizeof *out);
    if (buf == NULL && len > 0) return fail(err, OIG_EINVAL, 0, 0, NULL, "buffer is NULL");
    oig_parse_opts o;
    if (opts) o = *opts; else oig_parse_opts_init(&o);
    if (o.max_columns == 0) o.max_columns = OIG_DEFAULT_MAX_COLUMNS;
    oig_status st = check_opts(&o, err);
    if (st != OIG_OK) return st;
    size_t bom = len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    const char *b = buf + bom;
    size_t blen = len - bom;
    int csv = o.format == OIG_FORMAT_CSV || (o.format == OIG_FORMAT_AUTO && guess_csv(b, blen));
    lexer lx = { .buf = b, .len = blen, .line = 1, .csv = csv, .maxcols = o.max_columns };
    size_t cap = 0, *start = NULL, *line = NULL, nrows = 0;
    int got;
    if ((st = lex_record(&lx, &got, err)) != OIG_OK) goto fail;
    if (!got) { st = fail(err, OIG_EPARSE, 1, 1, NULL, "empty input: no data rows"); goto fail; }
    int has_header;
    if (csv) has_header = o.header != 0;
    else if (o.header >= 0) has_header = o.header;
    else {
        has_header = 0;
        for (int j = 0; j < lx.nf; j++) if (!is_number_token(&lx.f[j])) { has_header = 1; break; }
    }
    if (!has_header) { lx.pos = 0; lx.line = 1; }
    out->data_start = bom + lx.pos;
    out->data_line = lx.line;
    for (;;) {
        /* the blank-line skip of lex_record, to learn where the record begins */
        size_t pos = lx.pos;
        while (pos < blen) {
            while (pos < blen && is_blank(b[pos])) pos++;
            if (pos < blen && is_eol(b[pos])) { lx.pos = pos; lex_eol(&lx); pos = lx.pos; continue; }
            break;
        }
        lx.pos = pos;
        if ((st = lex_record(&lx, &got, err)) != OIG_OK) goto fail;
        if (!got) break;
        if (nrows == cap) {
            size_t ncap = cap ? 2 * cap : 1024;
            size_t *ns = realloc(start, ncap * sizeof *ns);
            if (ns == NULL) { st = fail(err, OIG_ENOMEM, 0, 0, NULL, "out of memory"); goto fail; }
            start = ns;
            size_t *nl = realloc(line, ncap * sizeof *nl);
            if (nl == NULL) { st = fail(err, OIG_ENOMEM, 0, 0, NULL, "out of memory"); goto fail; }
            line = nl;
            cap = ncap;
        }
        start[nrows] = bom + pos;
        line[nrows] = lx.rec_line;
        nrows++;
    }
    if (nrows == 0) {
        st = fail(err, OIG_EPARSE, lx.line, 1, NULL, "empty input: no data rows after the header");
        goto fail;
    }
    free(lx.f);
    out->nrows = nrows;
    out->format = csv ? OIG_FORMAT_CSV : OIG_FORMAT_WS;
    out->header = has_header;
    out->start = start;
    out->line = line;
    return OIG_OK;
fail:
    free(lx.f);
    free(start);
    free(line);
    memset(out, 0, sizeof *out);
    return st;
}

void oig_row_spans_free(oig_row_spans *rs) {
    if (rs == NULL) return;
    free(rs->start);
    free(rs->line);
    memset(rs, 0, sizeof *rs);
}

void oig_data_free(oig_data *d) {
    if (d == NULL) return;
    free(d->x);
    free(d->t);
    free(d->cls);
    oig_strings_free(d->labels, d->nclasses);
    oig_strings_free(d->input_names, d->n);
    oig_strings_free(d->target_names, d->ntarget_names);
    free(d);
}

/* ---- rows -------------------------------------------------------------------------------- */

oig_status oig_data_select_rows(const oig_data *d, const size_t *idx, size_t k, oig_data **out) {
    if (out == NULL) return OIG_EINVAL;
    *out = NULL;
    if (d == NULL || (idx == NULL && k > 0) || k == 0 || d->n <= 0 || d->m <= 0) return OIG_EINVAL;
    for (size_t i = 0; i < k; i++) if (idx[i] >= d->nrows) return OIG_EINVAL;
    size_t n = (size_t)d->n, m = (size_t)d->m;
    if (k > SIZE_MAX / sizeof(double) / n || k > SIZE_MAX / sizeof(double) / m) return OIG_ELIMIT;
    oig_data *r = calloc(1, sizeof *r);
    if (r == NULL) return OIG_ENOMEM;
    r->nrows = k; r->n = d->n; r->m = d->m; r->task = d->task;
    r->x = malloc(k * n * sizeof(double));
    r->t = malloc(k * m * sizeof(double));
    if (!r->x || !r->t) goto nomem;
    if (d->cls && (r->cls = malloc(k * sizeof(int))) == NULL) goto nomem;
    if (d->labels) {
        if ((r->labels = oig_strings_dup(d->labels, d->nclasses)) == NULL) goto nomem;
    }
    r->nclasses = d->nclasses;
    if (d->input_names && (r->input_names = oig_strings_dup(d->input_names, d->n)) == NULL) goto nomem;
    if (d->target_names) {
        if ((r->target_names = oig_strings_dup(d->target_names, d->ntarget_names)) == NULL) goto nomem;
        r->ntarget_names = d->ntarget_names;
    }
    for (size_t i = 0; i < k; i++) {
        memcpy(r->x + i * n, d->x + idx[i] * n, n * sizeof(double));
        memcpy(r->t + i * m, d->t + idx[i] * m, m * sizeof(double));
        if (r->cls) r->cls[i] = d->cls[idx[i]];
    }
    *out = r;
    return OIG_OK;
nomem:
    oig_data_free(r);
    return OIG_ENOMEM;
}

/* Uniform integer in [0, bound) without modulo bias. */
static uint64_t rng_below(oig_rng *rng, uint64_t bound) {
    uint64_t threshold = (0 - bound) % bound;
    for (;;) {
        uint64_t r = oig_rng_next(rng);
        if (r >= threshold) return r % bound;
    }
}

/* Fisher-Yates over 0..nrows-1 with oig_rng(seed); the first round(frac*nrows) positions of the
 * permutation go to *val, the rest to *train. Each part keeps the rows in their original
 * order (ascending indices), so only membership depends on the seed. When round(frac*nrows)
 * is 0, *val is NULL. */
/* The row sets of a seeded split of nr rows: *part (nt rows, ascending) for training and
 * *vpart (nv = round(frac*nr) rows, ascending) for validation. Both arrays are malloc'd. */
static oig_status split_indices(size_t nr, double frac, uint64_t seed, size_t **part, size_t *nt,
                                size_t **vpart, size_t *nv) {
    *part = NULL; *vpart = NULL; *nt = 0; *nv = 0;
    if (nr == 0 || !(frac >= 0.0 && frac < 1.0)) return OIG_EINVAL;
    double want = floor(frac * (double)nr + 0.5);
    size_t nval = want >= (double)nr ? nr : (size_t)want;
    if (nval >= nr) return OIG_EINVAL;
    size_t *perm = malloc(nr * sizeof *perm);
    unsigned char *inval = calloc(nr, 1);
    size_t *tr = malloc(nr * sizeof *tr);
    if (!perm || !inval || !tr) { free(perm); free(inval); free(tr); return OIG_ENOMEM; }
    oig_rng rng;
    oig_rng_seed(&rng, seed);
    for (size_t i = 0; i < nr; i++) perm[i] = i;
    for (size_t i = nr - 1; i > 0; i--) {
        size_t j = (size_t)rng_below(&rng, (uint64_t)i + 1);
        size_t tmp = perm[i]; perm[i] = perm[j]; perm[j] = tmp;
    }
    for (size_t i = 0; i < nval; i++) inval[perm[i]] = 1;
    for (size_t i = 0; i < nr; i++) if (!inval[i]) tr[(*nt)++] = i;
    for (size_t i = 0; i < nr; i++) if (inval[i]) perm[(*nv)++] = i;
    free(inval);
    *part = tr;
    *vpart = perm;
    return OIG_OK;
}

oig_status oig_data_split(const oig_data *d, double frac, uint64_t seed,
                          oig_data **train, oig_data **val) {
    if (train == NULL || val == NULL) return OIG_EINVAL;
    *train = NULL;
    *val = NULL;
    if (d == NULL) return OIG_EINVAL;
    size_t *part, *vpart, nt, nv;
    oig_status st = split_indices(d->nrows, frac, seed, &part, &nt, &vpart, &nv);
    if (st != OIG_OK) return st;
    if ((st = oig_data_select_rows(d, part, nt, train)) == OIG_OK && nv > 0 &&
        (st = oig_data_select_rows(d, vpart, nv, val)) != OIG_OK) {
        oig_data_free(*train);
        *train = NULL;
    }
    free(part); free(vpart);
    return st;
}

oig_status oig_data_split_inplace(oig_data *d, double frac, uint64_t seed, oig_data **val) {
    if (val == NULL) return OIG_EINVAL;
    *val = NULL;
    if (d == NULL) return OIG_EINVAL;
    size_t *part, *vpart, nt, nv;
    oig_status st = split_indices(d->nrows, frac, seed, &part, &nt, &vpart, &nv);
    if (st != OIG_OK) return st;
    if (nv > 0) st = oig_data_select_rows(d, vpart, nv, val);
    if (st == OIG_OK && (st = oig_data_take_rows(d, part, nt)) != OIG_OK) {
        oig_data_free(*val);
        *val = NULL;
    }
    free(part); free(vpart);
    return st;
}

/* Swap rows a and b of every per-row array of d. */
static void swap_rows(oig_data *d, size_t a, size_t b, double *tmp) {
    size_t n = (size_t)d->n, m = (size_t)d->m;
    memcpy(tmp, d->x + a * n, n * sizeof(double));
    memcpy(d->x + a * n, d->x + b * n, n * sizeof(double));
    memcpy(d->x + b * n, tmp, n * sizeof(double));
    if (d->t && m) {
        memcpy(tmp, d->t + a * m, m * sizeof(double));
        memcpy(d->t + a * m, d->t + b * m, m * sizeof(double));
        memcpy(d->t + b * m, tmp, m * sizeof(double));
    }
    if (d->cls) { int c = d->cls[a]; d->cls[a] = d->cls[b]; d->cls[b] = c; }
}

/* Slot k receives original row idx[k], by swaps that track where each original row went:
 * O(k) row moves and 16 bytes per row of bookkeeping instead of a second copy of the data. */
oig_status oig_data_take_rows(oig_data *d, const size_t *idx, size_t k) {
    if (d == NULL || idx == NULL || k == 0 || k > d->nrows) return OIG_EINVAL;
    size_t nr = d->nrows;
    size_t *where = malloc(nr * sizeof *where), *who = malloc(nr * sizeof *who);
    size_t width = (size_t)(d->n > d->m ? d->n : d->m);
    double *tmp = malloc((width ? width : 1) * sizeof(double));
    unsigned char *seen = calloc(nr, 1);
    oig_status st = OIG_ENOMEM;
    if (!where || !who || !tmp || !seen) goto out;
    st = OIG_EINVAL;
    for (size_t i = 0; i < k; i++) {
        if (idx[i] >= nr || seen[idx[i]]) goto out;
        seen[idx[i]] = 1;
    }
    for (size_t i = 0; i < nr; i++) { where[i] = i; who[i] = i; }
    for (size_t s = 0; s < k; s++) {
        size_t from = where[idx[s]];
        if (from == s) continue;
        swap_rows(d, s, from, tmp);
        size_t displaced = who[s];
        who[s] = idx[s]; where[idx[s]] = s;
        who[from] = displaced; where[displaced] = from;
    }
    d->nrows = k;
    /* give the rows beyond k back; a failed shrink keeps the larger block, which is harmless */
    double *x = realloc(d->x, k * (size_t)d->n * sizeof(double));
    if (x) d->x = x;
    if (d->t && d->m) {
        double *t = realloc(d->t, k * (size_t)d->m * sizeof(double));
        if (t) d->t = t;
    }
    if (d->cls) {
        int *c = realloc(d->cls, k * sizeof(int));
        if (c) d->cls = c;
    }
    st = OIG_OK;
out:
    free(where); free(who); free(tmp); free(seen);
    return st;
}

/* ---- row-index lists --------------------------------------------------------------------- */

/* Tokens are separated by blanks, commas and line ends; err->column is the token's number on
 * its line. An empty list is an error, as is a duplicate index. */
oig_status oig_parse_index_list(const char *buf, size_t len, size_t nrows,
                                size_t **idx, size_t *count, oig_error *err) {
    oig_error scratch;
    if (err == NULL) err = &scratch;
    memset(err, 0, sizeof *err);
    if (idx == NULL || count == NULL) return fail(err, OIG_EINVAL, 0, 0, NULL, "idx or count is NULL");
    *idx = NULL;
    *count = 0;
    if (buf == NULL && len > 0) return fail(err, OIG_EINVAL, 0, 0, NULL, "buffer is NULL");
    size_t *v = NULL, nv = 0, cap = 0, line = 1;
    unsigned char *seen = calloc(nrows / 8 + 1, 1);
    oig_status st;
    if (seen == NULL) return fail(err, OIG_ENOMEM, 0, 0, NULL, "out of memory");
    size_t i = 0;
    int col = 0;
    while (i < len) {
        char c = buf[i];
        if (c == '\n' || (c == '\r' && !(i + 1 < len && buf[i + 1] == '\n'))) { line++; col = 0; i++; continue; }
        if (is_blank(c) || c == ',' || c == '\r') { i++; continue; }
        col++;
        size_t s = i;
        while (i < len && !is_blank(buf[i]) && buf[i] != ',' && !is_eol(buf[i])) i++;
        field f = { buf + s, i - s, line, 0 };
        size_t val = 0;
        int ok = 1;
        for (size_t k = s; k < i; k++) {
            if (buf[k] < '0' || buf[k] > '9') { ok = 0; break; }
            unsigned dg = (unsigned)(buf[k] - '0');
            if (val > (SIZE_MAX - dg) / 10) { val = SIZE_MAX; continue; }
            val = val * 10 + dg;
        }
        char show[48];
        field_show(&f, show, sizeof show);
        if (!ok) {
            st = fail(err, OIG_EPARSE, line, col, NULL,
                      "expected a non-negative integer index, found '%s'", show);
            goto fail;
        }
        if (val >= nrows) {
            st = fail(err, OIG_EPARSE, line, col, NULL,
                      "index %s out of range (the data has %zu rows)", show, nrows);
            goto fail;
        }
        if (seen[val / 8] & (1u << (val % 8))) {
            st = fail(err, OIG_EPARSE, line, col, NULL, "duplicate index %zu", val);
            goto fail;
        }
        seen[val / 8] |= (unsigned char)(1u << (val % 8));
        if (nv == cap) {
            size_t ncap = cap ? 2 * cap : 256;
            size_t *nvp = realloc(v, ncap * sizeof *nvp);
            if (nvp == NULL) { st = fail(err, OIG_ENOMEM, 0, 0, NULL, "out of memory"); goto fail; }
            v = nvp;
            cap = ncap;
        }
        v[nv++] = val;
    }
    if (nv == 0) { st = fail(err, OIG_EPARSE, line, 1, NULL, "empty index list"); goto fail; }
    free(seen);
    *idx = v;
    *count = nv;
    return OIG_OK;
fail:
    free(seen);
    free(v);
    return st;
}

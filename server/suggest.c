/* suggest.c -- the known name nearest a misspelt one: an edit distance (optimal string
 * alignment: insertions, deletions, substitutions and swaps of neighbours) over names that are
 * short, so a full table costs nothing next to the request that failed. */
#include "suggest.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define SUGGEST_MAX 64

/* c folded for comparison: lower case, '-' read as '_' */
static int fold(int c) {
    c = tolower((unsigned char)c);
    return c == '-' ? '_' : c;
}

/* The optimal-string-alignment distance between a (la) and b (lb), both < SUGGEST_MAX. */
static int edit_distance(const char *a, size_t la, const char *b, size_t lb) {
    int d[SUGGEST_MAX + 1][SUGGEST_MAX + 1];
    for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int cost = fold(a[i - 1]) != fold(b[j - 1]);
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
            if (i > 1 && j > 1 && fold(a[i - 1]) == fold(b[j - 2]) && fold(a[i - 2]) == fold(b[j - 1]) &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[la][lb];
}

/* 1 when word (lw) is one of name's parts (separated by '_' or '-') or one edit from it */
static int near_part(const char *word, size_t lw, const char *name) {
    for (const char *p = name; *p;) {
        size_t l = strcspn(p, "_-");
        if (l + 1 >= lw && l <= lw + 1 && edit_distance(word, lw, p, l) <= 1) return 1;
        p += l;
        if (*p) p++;
    }
    return 0;
}

const char *suggest_name(const char *word, const char *const *names, size_t n) {
    size_t lw = strlen(word);
    if (lw == 0 || lw >= SUGGEST_MAX) return NULL;
    int limit = lw <= 4 ? 1 : lw <= 8 ? 2 : 3;
    const char *best = NULL;
    int best_d = limit + 1;
    for (size_t i = 0; i < n; i++) {
        if (names[i] == NULL) continue;
        size_t ln = strlen(names[i]);
        if (ln >= SUGGEST_MAX) continue;
        int d = edit_distance(word, lw, names[i], ln);
        if (d > limit && lw >= 4 && near_part(word, lw, names[i])) d = limit;   /* a part: as far as allowed */
        if (d < best_d) {
            best = names[i];
            best_d = d;
        }
    }
    return best;
}

void suggest_append(char *msg, size_t cap, const char *word, const char *const *names, size_t n,
                    const char *prefix) {
    const char *s = suggest_name(word, names, n);
    size_t l = strlen(msg);
    if (s && l < cap) snprintf(msg + l, cap - l, " (did you mean '%s%s'?)", prefix, s);
}

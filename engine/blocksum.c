/* blocksum.c -- canonical sums over row blocks: the partial sums of fixed-size row blocks are
 * added along a binary tree over global block numbers, so a total is bit-identical whether one
 * process or many hold the blocks (the K-invariance of data-parallel training).
 *
 * Owns the trainer's piece stack (trainer.cs_*). Knows nothing of processes or messages: a
 * caller that has several combines their pieces through oig_config.reduce_pieces.
 */
#include "trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The top two records of a stack of *count records of 2 + n doubles are merged while they are
 * the left and right halves of one tree node: equal size s, adjacent, the left one starting at
 * a multiple of 2s. The merged node is always left + right, so every node's value depends only
 * on its leaves. */
static void merge_top(double *rec, size_t *count, size_t n) {
    size_t w = 2 + n;
    while (*count >= 2) {
        double *a = rec + (*count - 2) * w, *b = rec + (*count - 1) * w;
        if (a[1] != b[1] || a[0] + a[1] != b[0] || fmod(a[0], 2.0 * a[1]) != 0.0) break;
        if (n) for (size_t i = 0; i < n; i++) a[2 + i] += b[2 + i];
        a[1] *= 2.0;
        (*count)--;
    }
}

int oig_canonical_sum(double *pieces, size_t npieces, size_t n, double *out) {
    size_t w = 2 + n, k = 0;
    for (size_t i = 0; i < npieces; i++) {
        double *r = pieces + i * w;
        if (!(r[1] >= 1.0) || fmod(r[0], r[1]) != 0.0) return -1;
        if (k > 0) {
            const double *top = pieces + (k - 1) * w;
            if (top[0] + top[1] != r[0]) return -1;
        }
        if (i != k) memmove(pieces + k * w, r, w * sizeof(double));
        k++;
        merge_top(pieces, &k, n);
    }
    /* What remains is the binary decomposition of the covered range, the same for any split. */
    if (k == 0) { memset(out, 0, n * sizeof(double)); return 0; }
    memcpy(out, pieces + 2, n * sizeof(double));
    for (size_t j = 1; j < k; j++) {
        const double *v = pieces + j * w + 2;
        for (size_t i = 0; i < n; i++) out[i] += v[i];
    }
    return 0;
}

size_t oig_canonical_pieces(size_t first_block, size_t nblocks) {
    double rec[2 * 130];     /* metadata only (n = 0); at most 2 per bit of the block numbers */
    size_t k = 0;
    for (size_t g = first_block; g < first_block + nblocks; g++) {
        rec[2 * k] = (double)g;
        rec[2 * k + 1] = 1.0;
        k++;
        merge_top(rec, &k, 0);
    }
    return k;
}

static size_t sums_len(const trn_sums *s) {
    size_t n = 0;
    for (int i = 0; i < s->k; i++) n += s->n[i];
    return n;
}

int trn_sums_block(trainer *t, const trn_sums *s, const oig_data *d, size_t p0) {
    if (!t->cfg->canonical_sums) return 0;     /* plain mode: blocks keep accumulating */
    size_t n = sums_len(s), w = 2 + n;
    if ((t->cs_count + 1) * w > t->cs_cap) {
        size_t cap = t->cs_cap ? 2 * t->cs_cap : 8 * w;
        while (cap < (t->cs_count + 1) * w) cap *= 2;
        double *nb = realloc(t->cs_buf, cap * sizeof(double));
        if (nb == NULL) return -1;
        t->cs_buf = nb;
        t->cs_cap = cap;
    }
    double *r = t->cs_buf + t->cs_count * w;
    r[0] = (double)(t->cfg->first_block[d == t->val ? 1 : 0] + p0 / t->block);
    r[1] = 1.0;
    size_t o = 2;
    for (int i = 0; i < s->k; i++) {
        memcpy(r + o, s->p[i], s->n[i] * sizeof(double));
        memset(s->p[i], 0, s->n[i] * sizeof(double));
        o += s->n[i];
    }
    t->cs_count++;
    merge_top(t->cs_buf, &t->cs_count, n);
    return 0;
}

int trn_sums_finish(trainer *t, const trn_sums *s, const oig_data *d) {
    if (!t->cfg->canonical_sums) {
        for (int i = 0; i < s->k; i++)
            if (trn_reduce(t, s->p[i], s->n[i])) return -1;
        return 0;
    }
    size_t n = sums_len(s), count = t->cs_count;
    t->cs_count = 0;
    double *total = n <= t->cs_total_cap ? t->cs_total : NULL;
    if (total == NULL) {
        free(t->cs_total);
        t->cs_total = total = malloc((n ? n : 1) * sizeof(double));
        t->cs_total_cap = total ? n : 0;
        if (total == NULL) return -1;
    }
    int rc;
    if (t->cfg->reduce_pieces)
        rc = t->cfg->reduce_pieces(t->cs_buf, count, n, d == t->val ? 1 : 0, total,
                                   t->cfg->reduce_ctx);
    else
        rc = oig_canonical_sum(t->cs_buf, count, n, total);
    if (rc) return -1;
    size_t o = 0;
    for (int i = 0; i < s->k; i++) {
        memcpy(s->p[i], total + o, s->n[i] * sizeof(double));
        o += s->n[i];
    }
    return 0;
}

/* mpi_train.c -- one rank of `mpirun -np K oigd train`: row ownership, per-rank parsing, the
 * global class labels, the canonical-sum reduction and the stop agreement (OIGD_MPI builds).
 *
 * Owns every MPI call of `oigd train`. The engine sees only oig_config's reduce seams; files
 * are written by api/cli.c on rank 0. A rank's rows are whole blocks of block_rows training
 * (and validation) rows in the global order of the split, so the engine's block tree, and with
 * it every sum, is the same for any K (see oig_canonical_sum).
 */
#include "mpi_train.h"

#include <mpi.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mpi_train {
    int rank, size;
    size_t block;                   /* rows per block */
    size_t nblocks[2];              /* global blocks of training / validation rows */
    size_t *npieces[2];             /* per rank: pieces its blocks produce (oig_canonical_pieces) */
    size_t first_block[2];          /* this rank's first block */
    double *work;                   /* grow-only exchange buffer */
    size_t work_cap;
    int *counts;                    /* 4 x size ints for the v-collectives */
};

int mpi_train_wanted(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMIX_RANK") != NULL ||
           getenv("PMI_RANK") != NULL;
}

int mpi_train_begin(mpi_train **out) {
    *out = NULL;
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited && MPI_Init(NULL, NULL) != MPI_SUCCESS) return -1;
    mpi_train *m = calloc(1, sizeof *m);
    if (m == NULL) return -1;
    MPI_Comm_rank(MPI_COMM_WORLD, &m->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &m->size);
    m->counts = malloc(4 * (size_t)m->size * sizeof(int));
    if (m->counts == NULL) { free(m); return -1; }
    *out = m;
    return 0;
}

void mpi_train_end(mpi_train *m) {
    if (m == NULL) return;
    free(m->npieces[0]);
    free(m->npieces[1]);
    free(m->work);
    free(m->counts);
    free(m);
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Finalize();
}

int mpi_train_rank(const mpi_train *m) { return m->rank; }
int mpi_train_size(const mpi_train *m) { return m->size; }

int mpi_train_all_ok(mpi_train *m, int ok) {
    (void)m;
    int in = ok ? 1 : 0, all = 0;
    if (MPI_Allreduce(&in, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) != MPI_SUCCESS) return 0;
    return all;
}

int mpi_train_should_report(mpi_train *m, int ok) {
    int root_ok = ok ? 1 : 0;
    MPI_Bcast(&root_ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return !ok && (m->rank == 0 || root_ok);
}

void mpi_train_abort(mpi_train *m, int code) {
    (void)m;
    MPI_Abort(MPI_COMM_WORLD, code);
}

/* ---- ownership ---------------------------------------------------------------------------- */

/* Rank r holds blocks [r*G/K, (r+1)*G/K) of G. */
static size_t block_lo(size_t g, int r, int k) { return (size_t)((unsigned __int128)g * (unsigned)r / (unsigned)k); }

/* ---- loading ------------------------------------------------------------------------------ */

static int read_small_file(const char *path, char **buf, size_t *len, char *msg, size_t cap) {
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) { snprintf(msg, cap, "%s: %s", path, strerror(errno)); return -1; }
    size_t c = 65536, n = 0;
    char *b = malloc(c);
    while (b) {
        n += fread(b + n, 1, c - n, f);
        if (n < c) break;
        if (c >= ((size_t)1 << 34)) { free(b); b = NULL; break; }
        char *nb = realloc(b, c * 2);
        if (nb == NULL) { free(b); b = NULL; break; }
        b = nb;
        c *= 2;
    }
    int bad = b == NULL || ferror(f);
    fclose(f);
    if (bad) { free(b); snprintf(msg, cap, "%s: cannot read", path); return -1; }
    *buf = b;
    *len = n;
    return 0;
}

/* Global row indices of the training and validation sets, as `oigd train` chooses them. */
static int choose_rows(const mpi_train_source *src, size_t nrows, size_t **tr, size_t *ntr,
                       size_t **va, size_t *nva, char *msg, size_t cap) {
    *tr = *va = NULL;
    *ntr = *nva = 0;
    if (src->train_index) {
        const char *files[2] = { src->train_index, src->test_index };
        size_t **lists[2] = { tr, va }, *counts[2] = { ntr, nva };
        for (int k = 0; k < 2; k++) {
            char *b;
            size_t l;
            oig_error err;
            if (read_small_file(files[k], &b, &l, msg, cap)) return -1;
            oig_status st = oig_parse_index_list(b, l, nrows, lists[k], counts[k], &err);
            free(b);
            if (st != OIG_OK) {
                snprintf(msg, cap, "%s:%d:%d: %s", files[k], err.line, err.column, err.message);
                return -1;
            }
        }
        return 0;
    }
    if (src->validation > 0.0) {
        /* the engine's own seeded split, run on a one-column dataset holding each row's index */
        oig_data idx = { 0 };
        idx.nrows = nrows; idx.n = 1; idx.m = 1;
        idx.x = malloc(nrows * sizeof(double));
        idx.t = calloc(nrows, sizeof(double));
        oig_data *dt = NULL, *dv = NULL;
        oig_status st = OIG_ENOMEM;
        if (idx.x && idx.t) {
            for (size_t i = 0; i < nrows; i++) idx.x[i] = (double)i;
            st = oig_data_split(&idx, src->validation, src->seed, &dt, &dv);
        }
        free(idx.x);
        free(idx.t);
        if (st != OIG_OK) {
            snprintf(msg, cap, "%s: cannot hold out %g of %zu rows: %s", src->path, src->validation,
                     nrows, oig_status_name(st));
            return -1;
        }
        *ntr = dt->nrows;
        *tr = malloc(*ntr * sizeof(size_t));
        if (dv) {
            *nva = dv->nrows;
            *va = malloc(*nva * sizeof(size_t));
        }
        int ok = *tr && (dv == NULL || *va);
        for (size_t i = 0; ok && i < *ntr; i++) (*tr)[i] = (size_t)dt->x[i];
        for (size_t i = 0; ok && i < *nva; i++) (*va)[i] = (size_t)dv->x[i];
        oig_data_free(dt);
        oig_data_free(dv);
        if (!ok) { snprintf(msg, cap, "out of memory"); return -1; }
        return 0;
    }
    *tr = malloc(nrows * sizeof(size_t));
    if (*tr == NULL) { snprintf(msg, cap, "out of memory"); return -1; }
    for (size_t i = 0; i < nrows; i++) (*tr)[i] = i;
    *ntr = nrows;
    return 0;
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static size_t find_row(const size_t *v, size_t n, size_t key) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < key) lo = mid + 1; else hi = mid;
    }
    return lo;
}

/* The header and the listed rows (ascending, distinct) of buf, with '\n' padding so that every
 * row keeps its line number: the engine's error messages then name lines of the real file. */
static char *slice_buffer(const char *buf, size_t len, const oig_row_spans *rs, const size_t *rows,
                          size_t nrows, size_t *outlen) {
    size_t total = rs->data_start + 1, cur = rs->data_line;
    for (size_t i = 0; i < nrows; i++) {
        size_t r = rows[i], end = r + 1 < rs->nrows ? rs->start[r + 1] : len;
        total += rs->line[r] - cur + (end - rs->start[r]);
        cur = r + 1 < rs->nrows ? rs->line[r + 1] : rs->line[r];
    }
    char *out = malloc(total + 1);
    if (out == NULL) return NULL;
    memcpy(out, buf, rs->data_start);
    size_t o = rs->data_start;
    cur = rs->data_line;
    for (size_t i = 0; i < nrows; i++) {
        size_t r = rows[i], end = r + 1 < rs->nrows ? rs->start[r + 1] : len;
        size_t pad = rs->line[r] - cur;
        memset(out + o, '\n', pad);
        o += pad;
        memcpy(out + o, buf + rs->start[r], end - rs->start[r]);
        o += end - rs->start[r];
        cur = r + 1 < rs->nrows ? rs->line[r + 1] : rs->line[r];
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}

/* An empty dataset shaped like d (names and labels copied), for a rank without such rows. */
static oig_data *empty_like(const oig_data *d) {
    oig_data *e = calloc(1, sizeof *e);
    if (e == NULL) return NULL;
    e->n = d->n; e->m = d->m; e->task = d->task; e->nclasses = d->nclasses;
    e->x = malloc(sizeof(double));
    e->t = malloc(sizeof(double));
    if (d->cls) e->cls = malloc(sizeof(int));
    int bad = !e->x || !e->t || (d->cls && !e->cls);
    if (d->labels && (e->labels = malloc((size_t)d->nclasses * sizeof(char *)))) {
        for (int c = 0; c < d->nclasses; c++) if ((e->labels[c] = strdup(d->labels[c])) == NULL) bad = 1;
    } else if (d->labels) { bad = 1; e->nclasses = 0; }
    if ((e->input_names = calloc((size_t)d->n, sizeof(char *))))
        for (int i = 0; i < d->n; i++)
            if (d->input_names && d->input_names[i] && !(e->input_names[i] = strdup(d->input_names[i]))) bad = 1;
    if ((e->target_names = calloc((size_t)(d->ntarget_names > 0 ? d->ntarget_names : 1), sizeof(char *)))) {
        e->ntarget_names = d->ntarget_names;
        for (int i = 0; i < d->ntarget_names; i++)
            if (d->target_names && d->target_names[i] && !(e->target_names[i] = strdup(d->target_names[i]))) bad = 1;
    }
    if (bad || !e->input_names || !e->target_names) { oig_data_free(e); return NULL; }
    return e;
}

typedef struct { const char *s; int id; } label_ref;

static int cmp_label_ref(const void *a, const void *b) {
    return strcmp(((const label_ref *)a)->s, ((const label_ref *)b)->s);
}

/* Recode d's classes with the labels of the whole file: every rank sends its labels to all,
 * and the union is sorted by the engine itself (a two-column CSV of the labels, parsed as a
 * classification file), so the order is exactly the one a single `oigd train` gives. */
static int global_labels(mpi_train *m, oig_data *d, const char *path, char *msg, size_t cap) {
    size_t mine = 0;
    for (int c = 0; c < d->nclasses; c++) mine += strlen(d->labels[c]) + 1;
    if (mine > (size_t)1 << 30) { snprintf(msg, cap, "class labels too large"); return -1; }
    int *len = m->counts, *disp = m->counts + m->size, me = (int)mine;
    if (MPI_Allgather(&me, 1, MPI_INT, len, 1, MPI_INT, MPI_COMM_WORLD) != MPI_SUCCESS) goto comm;
    size_t total = 0;
    for (int r = 0; r < m->size; r++) {
        disp[r] = (int)total;
        total += (size_t)len[r];
        if (total > (size_t)1 << 30) { snprintf(msg, cap, "class labels too large"); return -1; }
    }
    char *send = malloc(mine + 1), *all = malloc(total + 1);
    /* the label CSV: header, then "0,<quoted label>" per label (quotes doubled) */
    char *csv = malloc(2 * total + 8 * (total + 1) + 16);
    oig_data *lab = NULL;
    int rc = -1;
    if (!send || !all || !csv) { snprintf(msg, cap, "out of memory"); goto out; }
    size_t o = 0;
    for (int c = 0; c < d->nclasses; c++) {
        size_t l = strlen(d->labels[c]) + 1;
        memcpy(send + o, d->labels[c], l);
        o += l;
    }
    if (MPI_Allgatherv(send, me, MPI_CHAR, all, len, disp, MPI_CHAR, MPI_COMM_WORLD) != MPI_SUCCESS) {
        free(send); free(all); free(csv);
        goto comm;
    }
    o = 0;
    memcpy(csv, "x,c\n", 4);
    o = 4;
    for (size_t p = 0; p < total; p += strlen(all + p) + 1) {
        csv[o++] = '0'; csv[o++] = ','; csv[o++] = '"';
        for (const char *s = all + p; *s; s++) {
            if (*s == '"') csv[o++] = '"';
            csv[o++] = *s;
        }
        csv[o++] = '"'; csv[o++] = '\n';
    }
    oig_parse_opts po;
    oig_parse_opts_init(&po);
    po.format = OIG_FORMAT_CSV;
    po.task = OIG_CLASSIFICATION;
    po.max_columns = OIG_DEFAULT_MAX_COLUMNS;
    oig_error err;
    if (oig_data_parse(csv, o, &po, &lab, &err) != OIG_OK) {
        if (lab == NULL && total > 0 && strstr(err.message, "only one class"))
            snprintf(msg, cap, "%s: class column '%s' holds only one class ('%s')", path,
                     d->target_names && d->target_names[0] ? d->target_names[0] : "?", all);
        else
            snprintf(msg, cap, "%s: class labels: %s", path, err.message);
        goto out;
    }
    int M = lab->nclasses;
    label_ref *sorted = malloc((size_t)M * sizeof *sorted);
    int *gid = malloc((size_t)d->nclasses * sizeof(int));
    double *t = malloc((d->nrows ? d->nrows : 1) * (size_t)M * sizeof(double));
    if (!sorted || !gid || !t) {
        free(sorted); free(gid); free(t);
        snprintf(msg, cap, "out of memory");
        goto out;
    }
    /* local class c -> global class: look the label up among the global ones */
    for (int c = 0; c < M; c++) { sorted[c].s = lab->labels[c]; sorted[c].id = c; }
    qsort(sorted, (size_t)M, sizeof *sorted, cmp_label_ref);
    for (int c = 0; c < d->nclasses; c++) {
        label_ref key = { d->labels[c], 0 };
        const label_ref *hit = bsearch(&key, sorted, (size_t)M, sizeof *sorted, cmp_label_ref);
        gid[c] = hit ? hit->id : 0;     /* every local label is among the gathered ones */
    }
    free(sorted);
    for (size_t p = 0; p < d->nrows; p++) {
        int c = gid[d->cls[p]];
        d->cls[p] = c;
        for (int i = 0; i < M; i++) t[p * (size_t)M + i] = -1.0;
        t[p * (size_t)M + c] = 1.0;
    }
    free(gid);
    free(d->t);
    d->t = t;
    for (int c = 0; c < d->nclasses; c++) free(d->labels[c]);
    free(d->labels);
    d->labels = lab->labels;
    lab->labels = NULL;
    d->nclasses = d->m = M;
    lab->nclasses = 0;
    rc = 0;
out:
    oig_data_free(lab);
    free(send);
    free(all);
    free(csv);
    return rc;
comm:
    snprintf(msg, cap, "MPI exchange of class labels failed");
    return -1;
}

/* Rows [lo, hi) of the order list, as indices into the sorted, distinct list `need`. */
static oig_status local_part(const oig_data *all, const size_t *order, size_t lo, size_t hi,
                             const size_t *need, size_t nneed, oig_data **out) {
    if (hi == lo) {
        *out = empty_like(all);
        return *out ? OIG_OK : OIG_ENOMEM;
    }
    size_t *idx = malloc((hi - lo) * sizeof(size_t));
    if (idx == NULL) return OIG_ENOMEM;
    for (size_t i = lo; i < hi; i++) idx[i - lo] = find_row(need, nneed, order[i]);
    oig_status st = oig_data_select_rows(all, idx, hi - lo, out);
    free(idx);
    return st;
}

int mpi_train_load(mpi_train *m, const mpi_train_source *src, oig_data **train, oig_data **val,
                   size_t *ntrain, size_t *nval, char *msg, size_t cap) {
    *train = *val = NULL;
    *ntrain = *nval = 0;
    msg[0] = '\0';
    oig_row_spans rs;
    oig_error err;
    size_t *tr = NULL, *va = NULL, ntr = 0, nva = 0, *need = NULL, nneed = 0;
    char *slice = NULL;
    oig_data *all = NULL;
    int rc = -1, labels_ok = 1;
    memset(&rs, 0, sizeof rs);
    m->block = src->block_rows ? src->block_rows : 2048;

    oig_status st = oig_data_row_spans(src->buf, src->len, &src->popts, &rs, &err);
    if (st != OIG_OK) {
        if (err.line > 0) snprintf(msg, cap, "%s:%d:%d: %s", src->path, err.line, err.column, err.message);
        else snprintf(msg, cap, "%s: %s", src->path, err.message);
        goto done;
    }
    if (choose_rows(src, rs.nrows, &tr, &ntr, &va, &nva, msg, cap)) goto done;
    size_t n[2] = { ntr, nva };
    const size_t *order[2] = { tr, va };
    size_t lo[2], hi[2];
    for (int k = 0; k < 2; k++) {
        m->nblocks[k] = (n[k] + m->block - 1) / m->block;
        free(m->npieces[k]);
        m->npieces[k] = malloc((size_t)m->size * sizeof(size_t));
        if (m->npieces[k] == NULL) { snprintf(msg, cap, "out of memory"); goto done; }
        for (int r = 0; r < m->size; r++) {
            size_t g0 = block_lo(m->nblocks[k], r, m->size), g1 = block_lo(m->nblocks[k], r + 1, m->size);
            m->npieces[k][r] = oig_canonical_pieces(g0, g1 - g0);
        }
        size_t g0 = block_lo(m->nblocks[k], m->rank, m->size);
        size_t g1 = block_lo(m->nblocks[k], m->rank + 1, m->size);
        m->first_block[k] = g0;
        lo[k] = g0 * m->block < n[k] ? g0 * m->block : n[k];
        hi[k] = g1 * m->block < n[k] ? g1 * m->block : n[k];
    }
    if (m->nblocks[0] < (size_t)m->size) {
        snprintf(msg, cap, "%zu training rows make %zu blocks of %zu rows, fewer than the %d ranks: "
                 "lower --block-rows or run fewer ranks", ntr, m->nblocks[0], m->block, m->size);
        goto done;
    }
    /* the file rows this rank converts: its training and validation rows, ascending */
    nneed = (hi[0] - lo[0]) + (hi[1] - lo[1]);
    need = malloc((nneed ? nneed : 1) * sizeof(size_t));
    if (need == NULL) { snprintf(msg, cap, "out of memory"); goto done; }
    size_t w = 0;
    for (int k = 0; k < 2; k++)
        for (size_t i = lo[k]; i < hi[k]; i++) need[w++] = order[k][i];
    qsort(need, nneed, sizeof(size_t), cmp_size);
    w = 0;
    for (size_t i = 0; i < nneed; i++) if (i == 0 || need[i] != need[w - 1]) need[w++] = need[i];
    nneed = w;
    size_t slen;
    if ((slice = slice_buffer(src->buf, src->len, &rs, need, nneed, &slen)) == NULL) {
        snprintf(msg, cap, "out of memory");
        goto done;
    }
    oig_parse_opts po = src->popts;
    po.format = rs.format;
    po.header = rs.header;
    po.one_class_ok = 1;
    st = oig_data_parse(slice, slen, &po, &all, &err);
    if (st != OIG_OK) {
        if (err.line > 0) snprintf(msg, cap, "%s:%d:%d: %s", src->path, err.line, err.column, err.message);
        else snprintf(msg, cap, "%s: %s", src->path, err.message);
    }
    rc = 0;
done:
    /* every rank takes part in the label exchange, so that a failed rank cannot hang the rest */
    if (!mpi_train_all_ok(m, rc == 0 && all != NULL)) {
        if (msg[0] == '\0') snprintf(msg, cap, "another rank failed to load its rows");
        rc = -1;
        goto out;
    }
    if (all->task == OIG_CLASSIFICATION) labels_ok = global_labels(m, all, src->path, msg, cap) == 0;
    if (!labels_ok) { rc = -1; goto out; }
    if (local_part(all, tr, lo[0], hi[0], need, nneed, train) != OIG_OK ||
        (nva > 0 && local_part(all, va, lo[1], hi[1], need, nneed, val) != OIG_OK)) {
        snprintf(msg, cap, "out of memory selecting rows");
        oig_data_free(*train);
        *train = NULL;
        rc = -1;
        goto out;
    }
    *ntrain = ntr;
    *nval = nva;
    rc = 0;
out:
    oig_data_free(all);
    oig_row_spans_free(&rs);
    free(slice);
    free(need);
    free(tr);
    free(va);
    return rc;
}

/* ---- reductions --------------------------------------------------------------------------- */

/* Row counts and other exact integer sums: a plain allreduce. */
static int reduce_sum(double *buf, size_t n, void *ctx) {
    (void)ctx;
    if (n > (size_t)1 << 30) return -1;
    return MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS;
}

static double *work(mpi_train *m, size_t n) {
    if (n > m->work_cap) {
        double *w = realloc(m->work, n * sizeof(double));
        if (w == NULL) return NULL;
        m->work = w;
        m->work_cap = n;
    }
    return m->work;
}

/* The canonical tree sum across ranks, split by element so that no rank receives every piece:
 * rank j gathers slice j (elements [j*n/K, (j+1)*n/K)) of every rank's pieces (Alltoallv),
 * combines them with oig_canonical_sum, and the slices are then shared (Allgatherv). Each
 * piece travels with its 2 doubles of metadata. */
static int reduce_pieces(double *pieces, size_t npieces, size_t n, int rows, double *out, void *ctx) {
    mpi_train *m = ctx;
    int K = m->size, me = m->rank;
    if (K == 1) return oig_canonical_sum(pieces, npieces, n, out);
    if (npieces != m->npieces[rows][me]) return -1;
    size_t ptot = 0;
    for (int r = 0; r < K; r++) ptot += m->npieces[rows][r];
    size_t mylen = (size_t)(me + 1) * n / (size_t)K - (size_t)me * n / (size_t)K;
    size_t nsend = npieces * (2 * (size_t)K + n), nrecv = ptot * (2 + mylen);
    if (nsend > INT32_MAX || nrecv > INT32_MAX || n > INT32_MAX) return -1;
    double *w = work(m, nsend + nrecv + mylen);
    if (w == NULL) return -1;
    double *send = w, *recv = w + nsend, *slice = recv + nrecv;
    int *sc = m->counts, *sd = sc + K, *rcnt = sd + K, *rd = rcnt + K;
    size_t o = 0;
    for (int j = 0; j < K; j++) {
        size_t lo = (size_t)j * n / (size_t)K, len = (size_t)(j + 1) * n / (size_t)K - lo;
        sd[j] = (int)o;
        for (size_t p = 0; p < npieces; p++) {
            const double *r = pieces + p * (2 + n);
            send[o++] = r[0];
            send[o++] = r[1];
            memcpy(send + o, r + 2 + lo, len * sizeof(double));
            o += len;
        }
        sc[j] = (int)(o - (size_t)sd[j]);
    }
    o = 0;
    for (int i = 0; i < K; i++) {
        rd[i] = (int)o;
        rcnt[i] = (int)(m->npieces[rows][i] * (2 + mylen));
        o += (size_t)rcnt[i];
    }
    if (MPI_Alltoallv(send, sc, sd, MPI_DOUBLE, recv, rcnt, rd, MPI_DOUBLE, MPI_COMM_WORLD) != MPI_SUCCESS)
        return -1;
    if (oig_canonical_sum(recv, ptot, mylen, slice)) return -1;
    for (int j = 0; j < K; j++) {
        size_t lo = (size_t)j * n / (size_t)K;
        rd[j] = (int)lo;
        rcnt[j] = (int)((size_t)(j + 1) * n / (size_t)K - lo);
    }
    return MPI_Allgatherv(slice, (int)mylen, MPI_DOUBLE, out, rcnt, rd, MPI_DOUBLE,
                          MPI_COMM_WORLD) != MPI_SUCCESS;
}

void mpi_train_configure(mpi_train *m, oig_config *cfg) {
    cfg->canonical_sums = 1;
    cfg->block_rows = m->block;
    cfg->first_block[0] = m->first_block[0];
    cfg->first_block[1] = m->first_block[1];
    cfg->reduce = reduce_sum;
    cfg->reduce_pieces = reduce_pieces;
    cfg->reduce_ctx = m;
}

int mpi_train_agree_stop(mpi_train *m, int stop) {
    (void)m;
    int in = stop ? 1 : 0, all = 1;
    if (MPI_Allreduce(&in, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS) return 1;
    return all;
}

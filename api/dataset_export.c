/* dataset_export.c -- GET /v1/datasets/{id}/data: a stored dataset streamed back as CSV
 * (fmt_dataset_csv_*: the inputs, then the targets, numbers that read back bit for bit), a
 * chunk of rows at a time, so that the answer never sits whole in memory beside the dataset.
 * libmicrohttpd calls the reader on an HTTP thread, so each call formats at most one chunk of
 * about CELLS_PER_CHUNK numbers (about half a millisecond), however wide the rows: the other
 * requests on that thread wait no longer than that. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "textfmt.h"

enum { CELLS_PER_CHUNK = 2048 };

typedef struct {
    oig_data *d;
    size_t next;            /* the next row to format; header first while header is 0 */
    int header;
    char *chunk;            /* formatted text not yet handed to libmicrohttpd */
    size_t len, off;
    api_req *rq;            /* counts the bytes sent; the reader runs only while it lives */
} export_stream;

static void export_free(void *cls) {
    export_stream *e = cls;
    oig_data_free(e->d);
    free(e->chunk);
    free(e);
}

/* Format the next chunk (the header, or the rows of up to CELLS_PER_CHUNK numbers, at least one
 * row). 0 when none is left, -1 out of memory. */
static int next_chunk(export_stream *e) {
    if (e->header && e->next >= e->d->nrows) return 0;
    free(e->chunk);
    e->chunk = NULL;
    e->len = e->off = 0;
    FILE *f = open_memstream(&e->chunk, &e->len);
    if (!f) return -1;
    if (!e->header) {
        fmt_dataset_csv_header(f, e->d);
        e->header = 1;
    } else {
        size_t width = (size_t)e->d->n + (size_t)e->d->m;
        size_t end = e->next + (width < CELLS_PER_CHUNK ? CELLS_PER_CHUNK / width : 1);
        fmt_dataset_csv_rows(f, e->d, e->next, end);
        e->next = end < e->d->nrows ? end : e->d->nrows;
    }
    return fclose(f) == 0 ? 1 : -1;
}

static ssize_t export_reader(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    export_stream *e = cls;
    size_t n = 0;
    while (n < max) {
        if (e->off == e->len) {
            if (n > 0) break;     /* one chunk per call: the HTTP thread has other requests */
            int r = next_chunk(e);
            if (r < 0) return MHD_CONTENT_READER_END_WITH_ERROR;
            if (r == 0) break;
            continue;
        }
        size_t k = e->len - e->off < max - n ? e->len - e->off : max - n;
        memcpy(buf + n, e->chunk + e->off, k);
        e->off += k;
        n += k;
    }
    e->rq->bytes += n;
    return n > 0 ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

enum MHD_Result api_dataset_export(api_req *rq, store *st, const char *id) {
    oig_data *d = NULL;
    store_status rc = store_dataset_load(st, id, &d);
    if (rc == STORE_NOTFOUND) return api_problem(rq, API_E_NOT_FOUND, "no dataset with that id", NULL, NULL);
    if (rc != STORE_OK) return api_store_failure(rq, st);
    export_stream *e = calloc(1, sizeof *e);
    if (!e) {
        oig_data_free(d);
        return api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
    }
    e->d = d;
    e->rq = rq;
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 65536, export_reader, e, export_free);
    if (!r) {
        export_free(e);
        return MHD_NO;
    }
    char disposition[96];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"%s.csv\"", id);   /* ids are [A-Za-z0-9_.-] */
    MHD_add_response_header(r, "Content-Type", "text/csv; charset=utf-8");
    MHD_add_response_header(r, "Content-Disposition", disposition);
    return api_queue_response(rq, 200, r, 0);   /* the reader counts the bytes */
}

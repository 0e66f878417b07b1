/* fuzz_data_parse.c -- libFuzzer target for the dataset parser (oig_data_parse, engine/data.c).
 * The first two input bytes choose the parse options (format, task, header mode, target
 * selection); the rest is the file. A successful parse is checked for internal consistency
 * and then split, so row selection runs on every dataset the parser accepts. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "oig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    uint8_t a = data[0], b = data[1];
    const char *buf = (const char *)data + 2;
    size_t len = size - 2;

    oig_parse_opts o;
    oig_parse_opts_init(&o);
    o.format = (oig_format)(a % 3);
    o.task = (a >> 2) & 1 ? OIG_CLASSIFICATION : OIG_REGRESSION;
    o.header = (int)((a >> 3) % 3) - 1;          /* -1 auto, 0 none, 1 header */
    o.max_columns = 4096;
    o.max_cells = 1u << 20;
    int cols[2] = { b % 5, (b >> 3) % 5 };
    switch ((b >> 6) & 3) {
    case 0: break;                               /* last column is the target */
    case 1: o.outputs = 1 + (b & 3); break;
    case 2: o.target_columns = cols; o.ntarget_columns = 1 + ((b >> 5) & 1); break;
    case 3: o.targets = (b & 1) ? "y" : "a,b"; o.input_columns = &cols[1]; o.ninput_columns = (b >> 1) & 1; break;
    }

    oig_data *d = NULL;
    oig_error err;
    oig_status st = oig_data_parse(buf, len, &o, &d, &err);
    if (st != OIG_OK) {
        if (d != NULL) abort();                  /* on error nothing is allocated */
        if (memchr(err.message, 0, sizeof err.message) == NULL) abort();
        return 0;
    }
    if (d == NULL || d->n < 0 || d->m < 1) abort();
    for (size_t i = 0; i < d->nrows * (size_t)d->n; i++) if (!isfinite(d->x[i])) abort();
    for (size_t i = 0; i < d->nrows * (size_t)d->m; i++) if (!isfinite(d->t[i])) abort();
    if (d->task == OIG_CLASSIFICATION) {
        if (d->nclasses < 1 || d->cls == NULL) abort();
        for (size_t p = 0; p < d->nrows; p++) if (d->cls[p] < 0 || d->cls[p] >= d->nclasses) abort();
    }
    oig_data *tr = NULL, *va = NULL;
    if (oig_data_split(d, (b & 7) / 8.0, a, &tr, &va) == OIG_OK) {
        size_t got = (tr ? tr->nrows : 0) + (va ? va->nrows : 0);
        if (got != d->nrows) abort();
    }
    oig_data_free(tr);
    oig_data_free(va);
    oig_data_free(d);
    return 0;
}

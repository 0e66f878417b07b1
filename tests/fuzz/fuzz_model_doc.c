/* fuzz_model_doc.c -- libFuzzer target for the model-document loader (model_doc_read,
 * server/model_doc.c). Every accepted document must write back, read again to the same
 * shape, and predict one row of finite inputs without touching memory it does not own. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model_doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    oig_model *m = NULL;
    oig_error err;
    oig_status st = model_doc_read((const char *)data, size, &m, &err);
    if (st != OIG_OK) {
        if (m != NULL) abort();
        return 0;
    }
    if (m == NULL || m->n < 1 || m->nh < 0 || m->m < 1) abort();
    size_t len = 0;
    char *text = model_doc_write(m, &len);
    if (text == NULL) abort();
    oig_model *again = NULL;
    if (model_doc_read(text, len, &again, &err) != OIG_OK) abort();
    if (again->n != m->n || again->nh != m->nh || again->m != m->m) abort();
    size_t len2 = 0;
    char *text2 = model_doc_write(again, &len2);
    if (text2 == NULL || len2 != len || memcmp(text, text2, len) != 0) abort();

    if (m->n <= 4096 && m->m <= 4096) {
        double *x = calloc((size_t)m->n, sizeof *x), *y = calloc((size_t)m->m, sizeof *y);
        int cls = -1;
        if (x == NULL || y == NULL) abort();
        oig_model_predict(m, x, 1, y, &cls);
        free(x);
        free(y);
    }
    free(text);
    free(text2);
    oig_model_free(again);
    oig_model_free(m);
    return 0;
}

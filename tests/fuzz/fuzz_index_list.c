/* fuzz_index_list.c -- libFuzzer target for the row index-list parser (oig_parse_index_list,
 * engine/data.c). The first two bytes give the number of rows the list is checked against;
 * every accepted list must hold distinct indices below it. */
#include <stdint.h>
#include <stdlib.h>

#include "oig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    size_t nrows = (size_t)data[0] | ((size_t)data[1] << 8);
    size_t *idx = NULL, count = 0;
    oig_error err;
    oig_status st = oig_parse_index_list((const char *)data + 2, size - 2, nrows, &idx, &count, &err);
    if (st != OIG_OK) {
        if (idx != NULL || count != 0) abort();
        return 0;
    }
    if (count == 0 || count > nrows) abort();
    unsigned char *seen = calloc(nrows / 8 + 1, 1);
    if (seen == NULL) abort();
    for (size_t i = 0; i < count; i++) {
        if (idx[i] >= nrows) abort();
        if (seen[idx[i] / 8] & (1u << (idx[i] % 8))) abort();
        seen[idx[i] / 8] |= (unsigned char)(1u << (idx[i] % 8));
    }
    free(seen);
    free(idx);
    return 0;
}

/* fuzz_router.c -- libFuzzer target for the routing table (api_route, api/router.c).
 * Input: a method, a NUL byte, then the path. Every match must name a known route with an id
 * of URL-safe characters that fits its buffer; every 405 must list the allowed methods. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t mlen = nul ? (size_t)(nul - data) : 0;
    if (mlen >= 16) return 0;
    char method[16];
    memcpy(method, data, mlen);
    method[mlen] = 0;
    size_t plen = nul ? size - mlen - 1 : size;
    char *path = malloc(plen + 1);              /* exact size: ASan sees any over-read */
    if (path == NULL) return 0;
    memcpy(path, nul ? (const char *)nul + 1 : (const char *)data, plen);
    path[plen] = 0;

    api_match m;
    memset(&m, 0x5a, sizeof m);
    char allow[64];
    int rc = api_route(method, path, &m, allow, sizeof allow);
    if (rc == 0) {
        if ((int)m.route < 0 || m.route >= API_R_COUNT) abort();
        size_t n = strnlen(m.id, sizeof m.id);
        if (n >= sizeof m.id) abort();
        for (size_t i = 0; i < n; i++) if (!id_char(m.id[i])) abort();
        if (n > 0 && strstr(path, m.id) == NULL) abort();
        if (strcmp(api_route_name(m.route), "unknown") == 0) abort();
    } else if (rc == 405) {
        if (allow[0] == 0 || strnlen(allow, sizeof allow) >= sizeof allow) abort();
    } else if (rc != 404) {
        abort();
    }
    /* a tiny allow buffer must still be handled */
    char small[4];
    api_route(method, path, &m, small, sizeof small);
    api_route(method, path, &m, NULL, 0);
    free(path);
    return 0;
}

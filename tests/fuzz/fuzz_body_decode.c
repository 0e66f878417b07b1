/* fuzz_body_decode.c -- libFuzzer target for the request body as the daemon takes it in
 * (api/body.c): decoding, the --max-body bound on the decoded size, and the upload's hash.
 * Input: one byte, then the body as it came off the wire. The byte's low bit picks the coding
 * (0 gzip, 1 deflate) and the rest the size of the pieces it arrives in (1 to 128 bytes).
 * Oracles, besides the sanitizers: a body that decodes is NUL-terminated, within --max-body, and
 * hashed to the SHA-256 of its bytes; one that does not says why; fed in one piece, the same
 * bytes give the same outcome and the same body. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "body.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static config cfg;
static api_server srv;

typedef struct {
    api_body_status status;
    size_t len;
    char sha[65];
} outcome;

static outcome take(const char *coding, const uint8_t *data, size_t size, size_t piece) {
    outcome o;
    memset(&o, 0, sizeof o);
    api_req *rq = calloc(1, sizeof *rq);
    if (!rq) abort();
    rq->srv = &srv;
    if (api_body_begin(rq, coding, 1) != 0) abort();
    for (size_t off = 0; off < size; off += piece)
        if (api_body_feed(rq, (const char *)data + off, size - off < piece ? size - off : piece) != 0) abort();
    o.status = api_body_end(rq);
    if (o.status == API_BODY_OK) {
        if (rq->len > cfg.max_body || (rq->len > 0 && rq->body == NULL)) abort();
        if (rq->body && rq->body[rq->len] != 0) abort();
        char hashed[65];
        sha256_final_hex(&rq->body_sha, hashed);
        sha256_hex(rq->body ? rq->body : "", rq->len, o.sha);
        if (strcmp(hashed, o.sha) != 0) abort();
        o.len = rq->len;
    } else if (o.status == API_BODY_CORRUPT && rq->body_error[0] == 0) {
        abort();
    } else if (o.status == API_BODY_SPOOL_FAILED) {
        abort();                                /* bodies here stay far below the spool size */
    }
    api_body_free(rq);
    free(rq);
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    if (!srv.cfg) {
        cfg.max_body = 1 << 16;                 /* small, so that a bomb meets it quickly */
        snprintf(cfg.db, sizeof cfg.db, "/tmp/fuzz-body.db");
        srv.cfg = &cfg;
    }
    const char *coding = (data[0] & 1) ? "deflate" : "gzip";
    size_t piece = (size_t)(data[0] >> 1) + 1;
    outcome a = take(coding, data + 1, size - 1, piece);
    outcome b = take(coding, data + 1, size - 1, size);
    if (a.status != b.status || a.len != b.len || strcmp(a.sha, b.sha) != 0) abort();
    return 0;
}

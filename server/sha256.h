/* sha256.h -- SHA-256 (FIPS 180-4) of a buffer, for dataset fingerprints.
 * A small self-contained digest; not for secrets (no constant-time guarantees needed here). */
#ifndef OIGD_SHA256_H
#define OIGD_SHA256_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t len;           /* bytes hashed so far */
    uint8_t buf[64];
    size_t nbuf;
} sha256_ctx;

void sha256_init(sha256_ctx *c);
void sha256_update(sha256_ctx *c, const void *data, size_t len);
void sha256_final(sha256_ctx *c, uint8_t out[32]);
/* sha256_final, as hex into out (65 bytes with the NUL). */
void sha256_final_hex(sha256_ctx *c, char out[65]);
/* Hex digest of one buffer into out (65 bytes with the NUL). */
void sha256_hex(const void *data, size_t len, char out[65]);
#endif

/* auth.h -- API keys for the HTTP API: the hashed key file, the constant-time Bearer check, and
 * the `oigd key` command that creates keys. Knows nothing of MHD. */
#ifndef OIGD_AUTH_H
#define OIGD_AUTH_H
#include <stddef.h>

typedef struct api_keys api_keys;

/* Read a key file: one SHA-256 hash (64 hex digits) per line, then optional whitespace and a
 * '#' comment; blank lines and lines starting with '#' are skipped. -1 with err set when the
 * file cannot be read, a line is malformed, or it holds no hash. */
int api_keys_load(const char *path, api_keys **out, char *err, size_t errlen);
void api_keys_free(api_keys *k);
int api_keys_count(const api_keys *k);
/* 1 when SHA-256(key) is one of the stored hashes (compared in constant time). */
int api_keys_check(const api_keys *k, const char *key, size_t len);
/* 1 when path needs a key (every /v1 path). */
int api_auth_required(const char *path);
/* 1 when k is NULL (authentication off) or the Authorization value is "Bearer KEY" with a
 * valid KEY. */
int api_auth_ok(const api_keys *k, const char *authorization);

/* `oigd key create [--file PATH]` and `oigd key hash`; argv[0] is "key". */
int api_key_main(int argc, char **argv);
#endif

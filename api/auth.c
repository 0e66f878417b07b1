/* auth.c -- API keys: the key file (SHA-256 hashes, one per line), the Bearer check on /v1
 * requests (hash the presented key, compare with every stored hash in constant time), and the
 * `oigd key create|hash` face that makes keys. Never stores, logs or prints a key it was given;
 * only `key create` prints the key it made, once. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "auth.h"
#include "sha256.h"

#define KEYS_MAX 4096           /* hashes in one key file */
#define KEY_LEN_MAX 512         /* bytes of a presented key */

struct api_keys {
    int n;
    uint8_t hash[][32];
};

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

int api_keys_load(const char *path, api_keys **out, char *err, size_t errlen) {
    *out = NULL;
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(err, errlen, "api key file %s: %s", path, strerror(errno)); return -1; }
    api_keys *k = calloc(1, sizeof *k + KEYS_MAX * 32);
    if (!k) { fclose(f); snprintf(err, errlen, "out of memory"); return -1; }
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t') p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == 0) continue;
        int ok = 1;
        uint8_t h[32];
        for (int i = 0; i < 32 && ok; i++) {
            int a = hexval((unsigned char)p[2 * i]), b = a < 0 ? -1 : hexval((unsigned char)p[2 * i + 1]);
            if (a < 0 || b < 0) ok = 0;
            else h[i] = (uint8_t)(a << 4 | b);
        }
        /* after the 64 digits: the end of the line, or whitespace and an optional # comment */
        if (ok) {
            char *r = p + 64;
            while (*r == ' ' || *r == '\t') r++;
            if (*r != 0 && *r != '\n' && *r != '\r' && !(*r == '#' && r > p + 64)) ok = 0;
        }
        if (!ok) {
            snprintf(err, errlen, "api key file %s, line %d: expected a SHA-256 hash (64 hex digits)", path, lineno);
            goto fail;
        }
        if (k->n == KEYS_MAX) { snprintf(err, errlen, "api key file %s: more than %d keys", path, KEYS_MAX); goto fail; }
        memcpy(k->hash[k->n++], h, 32);
    }
    fclose(f);
    if (k->n == 0) {
        snprintf(err, errlen, "api key file %s holds no key hashes (create one with `oigd key create --file %s`)",
                 path, path);
        free(k);
        return -1;
    }
    *out = k;
    return 0;
fail:
    fclose(f);
    free(k);
    return -1;
}

void api_keys_free(api_keys *k) { free(k); }
int api_keys_count(const api_keys *k) { return k ? k->n : 0; }

int api_keys_check(const api_keys *k, const char *key, size_t len) {
    if (!k || !key || len == 0 || len > KEY_LEN_MAX) return 0;
    sha256_ctx c;
    uint8_t h[32];
    sha256_init(&c);
    sha256_update(&c, key, len);
    sha256_final(&c, h);
    /* every stored hash is compared in full: the time does not depend on which one matches */
    volatile unsigned match = 0;
    for (int i = 0; i < k->n; i++) {
        unsigned diff = 0;
        for (int j = 0; j < 32; j++) diff |= (unsigned)(h[j] ^ k->hash[i][j]);
        match |= (unsigned)(diff == 0);
    }
    return match != 0;
}

int api_auth_required(const char *path) {
    return strncmp(path, "/v1/", 4) == 0 || strcmp(path, "/v1") == 0;
}

int api_auth_ok(const api_keys *k, const char *authorization) {
    if (!k) return 1;
    if (!authorization) return 0;
    while (*authorization == ' ') authorization++;
    if (strncasecmp(authorization, "Bearer", 6) != 0 || authorization[6] != ' ') return 0;
    const char *key = authorization + 7;
    while (*key == ' ') key++;
    size_t len = strlen(key);
    while (len > 0 && (key[len - 1] == ' ' || key[len - 1] == '\t')) len--;
    return api_keys_check(k, key, len);
}

/* ---- `oigd key` ------------------------------------------------------------------------- */

static void key_usage(FILE *f) {
    fputs("usage: oigd key create [--file PATH]\n"
          "       printf %s KEY | oigd key hash\n"
          "\n"
          "create  make a random API key from /dev/urandom, print it on stdout (once: it is not\n"
          "        stored), and append its SHA-256 hash to PATH (default $OIGD_API_KEY_FILE; with\n"
          "        neither, a key-file entry is printed on stderr: `oigd key create 2>>FILE`)\n"
          "hash    print the key-file line (SHA-256 hex) of a key read from stdin\n", f);
}

static void hex32(const uint8_t h[32], char out[65]) {
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) { out[2 * i] = d[h[i] >> 4]; out[2 * i + 1] = d[h[i] & 15]; }
    out[64] = 0;
}

static int key_create(const char *file) {
    uint8_t raw[32];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0) { fprintf(stderr, "oigd key: /dev/urandom: %s\n", strerror(errno)); return 1; }
    size_t got = 0;
    while (got < sizeof raw) {
        ssize_t n = read(fd, raw + got, sizeof raw - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { close(fd); fprintf(stderr, "oigd key: cannot read /dev/urandom\n"); return 1; }
        got += (size_t)n;
    }
    close(fd);
    char key[80], rawhex[65], hash[65];
    hex32(raw, rawhex);
    snprintf(key, sizeof key, "oigd_%s", rawhex);
    sha256_hex(key, strlen(key), hash);
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (file && *file) {
        int kf = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        if (kf < 0) { fprintf(stderr, "oigd key: %s: %s\n", file, strerror(errno)); return 1; }
        char line[160];
        int n = snprintf(line, sizeof line, "%s  # created %s\n", hash, when);
        if (write(kf, line, (size_t)n) != n || close(kf) != 0) {
            fprintf(stderr, "oigd key: cannot write %s\n", file);
            return 1;
        }
        fprintf(stderr, "oigd key: hash appended to %s (restart oigd serve to use it)\n", file);
    } else {
        /* a comment and a hash line: `oigd key create 2>>FILE` appends a valid entry */
        fprintf(stderr, "# oigd key: add the next line to the API key file\n%s  # created %s\n", hash, when);
    }
    printf("%s\n", key);
    return 0;
}

static int key_hash(void) {
    char key[KEY_LEN_MAX + 2];
    if (!fgets(key, sizeof key, stdin)) { fprintf(stderr, "oigd key hash: no key on stdin\n"); return 1; }
    size_t len = strlen(key);
    while (len > 0 && (key[len - 1] == '\n' || key[len - 1] == '\r' || key[len - 1] == ' ')) key[--len] = 0;
    if (len == 0 || len > KEY_LEN_MAX) { fprintf(stderr, "oigd key hash: expected a key of 1..%d bytes\n", KEY_LEN_MAX); return 1; }
    char hash[65];
    sha256_hex(key, len, hash);
    printf("%s\n", hash);
    return 0;
}

int api_key_main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        key_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "hash") == 0 && argc == 2) return key_hash();
    if (strcmp(argv[1], "create") == 0) {
        const char *file = getenv("OIGD_API_KEY_FILE");
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--file") == 0 && i + 1 < argc) file = argv[++i];
            else if (strncmp(argv[i], "--file=", 7) == 0) file = argv[i] + 7;
            else { fprintf(stderr, "oigd key create: unexpected argument '%s'\n", argv[i]); return 2; }
        }
        return key_create(file);
    }
    key_usage(stderr);
    return 2;
}

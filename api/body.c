/* body.c -- a request's body as it arrives (see body.h).
 *
 * Bytes go through the decoder, if the request has one, and then to `keep`, which checks the
 * limit on the decoded size (a small compressed body cannot grow past --max-body), adds them to
 * the upload's SHA-256, and keeps them: in a growing buffer up to API_SPOOL_AFTER bytes, then in
 * a spool file. The spool file is unlinked as soon as it is made, so a request that ends, is cut
 * off or dies with the process leaves nothing behind. It lives in the database's directory: the
 * one place the daemon must be able to write, and one sized for datasets. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "api.h"
#include "body.h"

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Move the body so far to a new spool file beside the database and free its memory. */
static int spool_begin(api_req *rq) {
    const char *db = rq->srv->cfg->db;
    char path[1100];
    const char *slash = strrchr(db, '/');
    if (slash == db) snprintf(path, sizeof path, "/.oigd-body-XXXXXX");
    else if (slash) snprintf(path, sizeof path, "%.*s/.oigd-body-XXXXXX", (int)(slash - db), db);
    else snprintf(path, sizeof path, ".oigd-body-XXXXXX");
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0) return errno;
    unlink(path);
    int err = write_all(fd, rq->body ? rq->body : "", rq->len);
    if (err) { close(fd); return err; }
    free(rq->body);
    rq->body = NULL;
    rq->cap = 0;
    rq->spool_fd = fd;
    return 0;
}

static void fail(api_req *rq, api_body_status st) {
    if (!rq->body_failed) rq->body_failed = st;
}

/* Let go of the bytes kept so far (the decoder, if any, stays). */
static void drop_kept(api_req *rq) {
    if (rq->mapped) munmap(rq->body, rq->mapped);
    else free(rq->body);
    rq->body = NULL;
    rq->len = rq->cap = rq->mapped = 0;
    if (rq->spool_fd >= 0) close(rq->spool_fd);
    rq->spool_fd = -1;
}

/* Keep n decoded bytes. -1 only when out of memory. */
static int keep(api_req *rq, const char *data, size_t n) {
    if (rq->body_failed) return 0;
    if (rq->len + n > rq->srv->cfg->max_body) {
        fail(rq, API_BODY_TOO_LARGE);
        drop_kept(rq);
        return 0;
    }
    if (rq->hashing) sha256_update(&rq->body_sha, data, n);
    if (rq->spool_fd < 0 && rq->len + n > API_SPOOL_AFTER && (rq->spool_errno = spool_begin(rq)) != 0) {
        fail(rq, API_BODY_SPOOL_FAILED);
        return 0;
    }
    if (rq->spool_fd >= 0) {
        if ((rq->spool_errno = write_all(rq->spool_fd, data, n)) != 0) fail(rq, API_BODY_SPOOL_FAILED);
        else rq->len += n;
        return 0;
    }
    if (rq->len + n + 1 > rq->cap) {
        size_t cap = rq->cap ? rq->cap : 4096;
        while (cap < rq->len + n + 1) cap *= 2;
        char *b = realloc(rq->body, cap);
        if (!b) return -1;
        rq->body = b;
        rq->cap = cap;
    }
    memcpy(rq->body + rq->len, data, n);
    rq->len += n;
    rq->body[rq->len] = 0;
    return 0;
}

static void corrupt(api_req *rq, const char *why) {
    snprintf(rq->body_error, sizeof rq->body_error, "the compressed body does not decode: %s",
             why ? why : "corrupt data");
    fail(rq, API_BODY_CORRUPT);
}

/* Decode n compressed bytes into `keep`. A second stream right after the first (gzip
 * members, as `cat a.gz b.gz` makes) continues the body. */
static int decode(api_req *rq, const char *data, size_t n) {
    z_stream *z = rq->inflate;
    unsigned char out[16384];
    z->next_in = (Bytef *)data;
    z->avail_in = (uInt)n;
    while (!rq->body_failed) {
        if (rq->inflate_done) {
            if (z->avail_in == 0) break;
            if (inflateReset(z) != Z_OK) { corrupt(rq, z->msg); break; }
            rq->inflate_done = 0;
        }
        uInt before = z->avail_in;
        z->next_out = out;
        z->avail_out = sizeof out;
        int rc = inflate(z, Z_NO_FLUSH);
        size_t got = sizeof out - z->avail_out;
        if (got && keep(rq, (const char *)out, got) != 0) return -1;
        if (rc == Z_STREAM_END) { rq->inflate_done = 1; continue; }
        if (rc == Z_MEM_ERROR) return -1;
        if (rc == Z_BUF_ERROR && got == 0 && z->avail_in == before) break;    /* it needs more input */
        if (rc != Z_OK && rc != Z_BUF_ERROR) { corrupt(rq, z->msg); break; }
        if (z->avail_in == 0 && z->avail_out > 0) break;     /* all taken in, nothing held back */
    }
    return 0;
}

int api_body_begin(api_req *rq, const char *content_encoding, int hash) {
    rq->spool_fd = -1;
    rq->hashing = hash;
    if (hash) sha256_init(&rq->body_sha);
    if (!content_encoding || !*content_encoding || strcasecmp(content_encoding, "identity") == 0) return 0;
    if (strcasecmp(content_encoding, "gzip") && strcasecmp(content_encoding, "x-gzip") &&
        strcasecmp(content_encoding, "deflate"))
        return -1;
    z_stream *z = calloc(1, sizeof *z);
    if (!z) return -2;
    /* 15 window bits + 32: the zlib (deflate) or gzip header is recognized either way */
    if (inflateInit2(z, 15 + 32) != Z_OK) { free(z); return -2; }
    rq->inflate = z;
    return 0;
}

int api_body_feed(api_req *rq, const char *data, size_t n) {
    if (rq->body_failed) return 0;
    if (!rq->inflate) return keep(rq, data, n);
    for (size_t off = 0; off < n && !rq->body_failed;) {      /* uInt-sized slices */
        size_t k = n - off > ((size_t)1 << 30) ? (size_t)1 << 30 : n - off;
        if (decode(rq, data + off, k) != 0) return -1;
        off += k;
    }
    return 0;
}

api_body_status api_body_end(api_req *rq) {
    if (!rq->body_failed && rq->inflate && rq->inflate->total_in > 0 && !rq->inflate_done)
        corrupt(rq, "it ends before its compressed stream does");
    if (!rq->body_failed && rq->spool_fd >= 0) {
        if ((rq->spool_errno = write_all(rq->spool_fd, "", 1)) == 0) {     /* the NUL after the body */
            void *p = mmap(NULL, rq->len + 1, PROT_READ, MAP_PRIVATE, rq->spool_fd, 0);
            if (p == MAP_FAILED) rq->spool_errno = errno;
            else {
                rq->body = p;
                rq->mapped = rq->len + 1;
            }
        }
        if (rq->spool_errno) fail(rq, API_BODY_SPOOL_FAILED);
    }
    return (api_body_status)rq->body_failed;
}

void api_body_free(api_req *rq) {
    drop_kept(rq);
    if (rq->inflate) {
        inflateEnd(rq->inflate);
        free(rq->inflate);
        rq->inflate = NULL;
    }
}

void api_release_pages(const char *from, size_t len, void *ctx) {
    (void)ctx;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)from + page - 1) & ~(page - 1);
    uintptr_t b = ((uintptr_t)from + len) & ~(page - 1);
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

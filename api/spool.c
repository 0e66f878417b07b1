/* spool.c -- large request bodies on disk (see spool.h). The spool file is unlinked as soon as
 * it is made, so a request that ends, is cut off or dies with the process leaves nothing behind;
 * the database's directory is used because it is the one place the daemon must be able to
 * write, and it is sized for datasets. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "api.h"
#include "spool.h"

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

int api_spool_begin(api_req *rq, const char *db_path) {
    char path[1100];
    const char *slash = strrchr(db_path, '/');
    if (slash == db_path) snprintf(path, sizeof path, "/.oigd-body-XXXXXX");
    else if (slash) snprintf(path, sizeof path, "%.*s/.oigd-body-XXXXXX", (int)(slash - db_path), db_path);
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

int api_spool_append(api_req *rq, const char *data, size_t n) {
    int err = write_all(rq->spool_fd, data, n);
    if (!err) rq->len += n;
    return err;
}

int api_spool_map(api_req *rq) {
    int err = write_all(rq->spool_fd, "", 1);      /* the NUL after the body */
    if (err) return err;
    void *p = mmap(NULL, rq->len + 1, PROT_READ, MAP_PRIVATE, rq->spool_fd, 0);
    if (p == MAP_FAILED) return errno;
    rq->body = p;
    rq->mapped = rq->len + 1;
    return 0;
}

void api_spool_close(api_req *rq) {
    if (rq->mapped) {
        munmap(rq->body, rq->mapped);
        rq->body = NULL;
        rq->mapped = 0;
    }
    if (rq->spool_fd >= 0) close(rq->spool_fd);
    rq->spool_fd = -1;
}

void api_release_pages(const char *from, size_t len, void *ctx) {
    (void)ctx;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)from + page - 1) & ~(page - 1);
    uintptr_t b = ((uintptr_t)from + len) & ~(page - 1);
    if (b > a) madvise((void *)a, b - a, MADV_DONTNEED);
}

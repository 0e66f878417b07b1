/* access_log.c -- the request log: one line per finished request, gathered in a bounded buffer
 * and written to stderr in large writes. The HTTP threads only copy a line under a mutex; the
 * buffer goes out when it fills and on every tick of the daemon's main thread (100 ms), so a
 * line reaches the log at most a tick after its request ends, and a crash loses at most that
 * much. Control bytes become '?', so a request cannot forge lines. A write per request would
 * cost a system call and a lock that every HTTP thread waits on. */
#include "api.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ACCESS_LOG_BYTES (64 * 1024)
#define ACCESS_LINE_MAX 768             /* longer lines are cut, ending in "...\n" */

struct api_access_log {
    pthread_mutex_t lock;
    int fd;
    size_t len;
    char buf[ACCESS_LOG_BYTES];
};

api_access_log *api_access_log_create(int fd) {
    api_access_log *log = malloc(sizeof *log);
    if (!log) return NULL;
    pthread_mutex_init(&log->lock, NULL);
    log->fd = fd;
    log->len = 0;
    return log;
}

/* Write the buffer out; the caller holds the lock. A failed write drops the lines: the log must
 * not stop the requests it describes. */
static void write_locked(api_access_log *log) {
    size_t off = 0;
    while (off < log->len) {
        ssize_t n = write(log->fd, log->buf + off, log->len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        off += (size_t)n;
    }
    log->len = 0;
}

void api_access_log_line(api_access_log *log, const char *fmt, ...) {
    if (!log) return;
    char line[ACCESS_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t len = (size_t)n;
    if (len >= sizeof line) {
        len = sizeof line - 1;
        snprintf(line + len - 4, 5, "...\n");
    }
    /* a path may carry decoded control bytes: one request, one line */
    for (size_t i = 0; i + 1 < len; i++)
        if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) line[i] = '?';
    pthread_mutex_lock(&log->lock);
    if (log->len + len > sizeof log->buf) write_locked(log);
    memcpy(log->buf + log->len, line, len);
    log->len += len;
    pthread_mutex_unlock(&log->lock);
}

void api_access_log_flush(api_access_log *log) {
    if (!log) return;
    pthread_mutex_lock(&log->lock);
    if (log->len) write_locked(log);
    pthread_mutex_unlock(&log->lock);
}

void api_access_log_destroy(api_access_log *log) {
    if (!log) return;
    api_access_log_flush(log);
    pthread_mutex_destroy(&log->lock);
    free(log);
}

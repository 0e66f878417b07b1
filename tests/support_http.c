/* support_http.c -- test support: a minimal HTTP/1.1 client (Content-Length or chunked or
 * read-to-close bodies) and a child `oigd serve` process whose port is read from its log.
 * Bounded buffers grow by realloc; nothing here is used by the daemon itself. */
#include "support_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long support_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0) { if (errno == EINTR) continue; return -1; }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Decode a chunked body in place; returns the decoded length. */
static size_t dechunk(char *b, size_t len) {
    size_t in = 0, out = 0;
    while (in < len) {
        char *end;
        unsigned long sz = strtoul(b + in, &end, 16);
        char *nl = memchr(b + in, '\n', len - in);
        if (!nl || end == b + in) break;
        in = (size_t)(nl - b) + 1;
        if (sz == 0) break;
        if (in + sz > len) sz = len - in;
        memmove(b + out, b + in, sz);
        out += sz;
        in += sz;
        if (in < len && b[in] == '\r') in++;
        if (in < len && b[in] == '\n') in++;
    }
    b[out] = 0;
    return out;
}

static int connect_loopback(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { close(fd); return -1; }
    return fd;
}

/* Read the response on fd until the server closes or timeout_ms passes, then close fd. */
static int read_response(int fd, int timeout_ms, http_resp *out);

int http_request(int port, const char *method, const char *path, const char *extra_headers,
                 const char *body, size_t len, int timeout_ms, http_resp *out) {
    memset(out, 0, sizeof *out);
    int fd = connect_loopback(port);
    if (fd < 0) return -1;
    char head[2048];
    int hn = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%s",
                      method, path, port, extra_headers ? extra_headers : "");
    if (body) hn += snprintf(head + hn, sizeof head - (size_t)hn, "Content-Length: %zu\r\n", len);
    hn += snprintf(head + hn, sizeof head - (size_t)hn, "\r\n");
    if (write_all(fd, head, (size_t)hn) != 0 || (body && len && write_all(fd, body, len) != 0)) {
        /* the server may answer (413) and close before reading the body: keep reading */
    }
    return read_response(fd, timeout_ms, out);
}

int http_raw(int port, const char *bytes, size_t len, int timeout_ms, http_resp *out) {
    memset(out, 0, sizeof *out);
    int fd = connect_loopback(port);
    if (fd < 0) return -1;
    write_all(fd, bytes, len);      /* the server may answer and close before reading it all */
    return read_response(fd, timeout_ms, out);
}

static int read_response(int fd, int timeout_ms, http_resp *out) {
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    if (!buf) { close(fd); return -1; }
    long long deadline = support_now_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - support_now_ms();
        if (left <= 0) break;
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, (int)left);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) break;
        if (n + 4096 + 1 > cap) {
            char *b = realloc(buf, cap * 2);
            if (!b) break;
            buf = b;
            cap *= 2;
        }
        ssize_t k = recv(fd, buf + n, cap - n - 1, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        n += (size_t)k;
    }
    close(fd);
    buf[n] = 0;
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1) { free(buf); return -1; }
    size_t hlen = (size_t)(sep - buf);
    out->headers = strndup(buf, hlen);
    size_t blen = n - hlen - 4;
    out->body = malloc(blen + 1);
    memcpy(out->body, sep + 4, blen);
    out->body[blen] = 0;
    out->len = blen;
    char te[64];
    if (http_header(out, "Transfer-Encoding", te, sizeof te) == 0 && strcasecmp(te, "chunked") == 0)
        out->len = dechunk(out->body, blen);
    free(buf);
    return 0;
}

void http_resp_free(http_resp *r) {
    free(r->headers);
    free(r->body);
    memset(r, 0, sizeof *r);
}

int http_header(const http_resp *r, const char *name, char *out, size_t outlen) {
    size_t nl = strlen(name);
    for (const char *p = r->headers; p && *p; ) {
        const char *eol = strstr(p, "\r\n");
        size_t ll = eol ? (size_t)(eol - p) : strlen(p);
        if (ll > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ') v++;
            size_t vl = ll - (size_t)(v - p);
            if (vl >= outlen) vl = outlen - 1;
            memcpy(out, v, vl);
            out[vl] = 0;
            return 0;
        }
        if (!eol) break;
        p = eol + 2;
    }
    return -1;
}

int oigd_start(const char *dir, const char *db, const char *const *extra, oigd_proc *p) {
    static int seq;
    memset(p, 0, sizeof *p);
    const char *bin = getenv("OIGD_BIN");
    if (!bin) return -1;
    snprintf(p->log, sizeof p->log, "%s/serve-%d-%d.log", dir, (int)getpid(), seq++);
    const char *argv[32] = {bin, "serve", "--listen", "127.0.0.1:0", "--db", db};
    int argc = 6;
    for (int i = 0; extra && extra[i] && argc < 30; i++) argv[argc++] = extra[i];
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) { dup2(fd, 2); close(fd); }
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) { dup2(nul, 0); dup2(nul, 1); close(nul); }
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    p->pid = pid;
    long long deadline = support_now_ms() + 30000;
    while (support_now_ms() < deadline) {
        FILE *f = fopen(p->log, "r");
        char line[512];
        while (f && fgets(line, sizeof line, f)) {
            const char *m = strstr(line, "listening on 127.0.0.1:");
            if (m) {
                p->port = atoi(m + strlen("listening on 127.0.0.1:"));
                fclose(f);
                return p->port > 0 ? 0 : -1;
            }
        }
        if (f) fclose(f);
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) { p->pid = 0; return -1; }
        usleep(20000);
    }
    oigd_stop(p, SIGKILL, 5000);
    return -1;
}

const char *oigd_log(const oigd_proc *p) {
    static char text[1 << 16];
    text[0] = 0;
    FILE *f = fopen(p->log, "r");
    if (!f) return text;
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    return text;
}

int oigd_stop(oigd_proc *p, int sig, int timeout_ms) {
    if (p->pid <= 0) return -1;
    kill(p->pid, sig);
    long long deadline = support_now_ms() + timeout_ms;
    int st = 0;
    for (;;) {
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid) break;
        if (support_now_ms() > deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &st, 0);
            p->pid = 0;
            return -1;
        }
        usleep(10000);
    }
    p->pid = 0;
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
}

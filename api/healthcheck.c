/* healthcheck.c -- `oigd healthcheck [URL]`: one GET over a loopback (or any numeric-address)
 * socket with a 3-second deadline; exit 0 on a 200 answer, 1 otherwise. The default URL follows
 * OIGD_LISTEN (a wildcard address becomes loopback) and asks /healthz. Reads at most 4 KiB. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "healthcheck.h"

#define DEADLINE_MS 3000

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready for events until the deadline; 0 when ready. */
static int wait_fd(int fd, short events, long long deadline) {
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) return -1;
        struct pollfd p = {fd, events, 0};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR) continue;
        return r == 1 ? 0 : -1;
    }
}

/* Split "http://HOST:PORT/PATH" (HOST numeric, IPv6 in brackets) into its parts. */
static int parse_url(const char *url, char *host, size_t hostlen, int *port, char *path, size_t pathlen) {
    if (strncmp(url, "http://", 7) != 0) return -1;
    const char *h = url + 7, *hend, *rest;
    if (*h == '[') {
        hend = strchr(h, ']');
        if (!hend) return -1;
        h++;
        rest = hend + 1;
    } else {
        hend = h + strcspn(h, ":/");
        rest = hend;
    }
    size_t hl = (size_t)(hend - h);
    if (hl == 0 || hl >= hostlen) return -1;
    memcpy(host, h, hl);
    host[hl] = 0;
    *port = 80;
    if (*rest == ':') {
        char *end;
        long p = strtol(rest + 1, &end, 10);
        if (end == rest + 1 || p < 1 || p > 65535) return -1;
        *port = (int)p;
        rest = end;
    }
    snprintf(path, pathlen, "%s", *rest ? rest : "/");
    return 0;
}

/* The default URL from OIGD_LISTEN (HOST:PORT), else 127.0.0.1:8080. */
static void default_url(char *out, size_t n) {
    const char *l = getenv("OIGD_LISTEN");
    char host[64] = "127.0.0.1";
    int port = 8080;
    if (l && *l) {
        const char *colon = strrchr(l, ':');
        if (colon) {
            port = atoi(colon + 1);
            size_t hl = (size_t)(colon - l);
            if (l[0] == '[' && hl >= 2) { l++; hl -= 2; }
            if (hl < sizeof host) { memcpy(host, l, hl); host[hl] = 0; }
        }
    }
    if (strcmp(host, "0.0.0.0") == 0 || host[0] == 0) snprintf(host, sizeof host, "127.0.0.1");
    if (strcmp(host, "::") == 0) snprintf(host, sizeof host, "::1");
    if (strchr(host, ':')) snprintf(out, n, "http://[%s]:%d/healthz", host, port);
    else snprintf(out, n, "http://%s:%d/healthz", host, port);
}

int healthcheck_main(int argc, char **argv) {
    char url[600];
    if (argc > 2 || (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))) {
        fputs("usage: oigd healthcheck [http://HOST:PORT/PATH]\n"
              "GET the URL (default: /healthz at $OIGD_LISTEN, else 127.0.0.1:8080); exit 0 on 200.\n",
              argc > 2 ? stderr : stdout);
        return argc > 2 ? 2 : 0;
    }
    if (argc == 2) snprintf(url, sizeof url, "%s", argv[1]);
    else default_url(url, sizeof url);
    char host[64], path[512];
    int port;
    if (parse_url(url, host, sizeof host, &port, path, sizeof path) != 0) {
        fprintf(stderr, "oigd healthcheck: expected http://HOST:PORT/PATH with a numeric host, got %s\n", url);
        return 2;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t slen;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        slen = sizeof *a4;
    } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        slen = sizeof *a6;
    } else {
        fprintf(stderr, "oigd healthcheck: %s is not a numeric address\n", host);
        return 2;
    }
    long long deadline = now_ms() + DEADLINE_MS;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { perror("oigd healthcheck: socket"); return 1; }
    int rc = 1;
    if (connect(fd, (struct sockaddr *)&ss, slen) != 0 && errno != EINPROGRESS) goto fail;
    if (wait_fd(fd, POLLOUT, deadline) != 0) goto fail;
    int soerr = 0;
    socklen_t el = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) != 0 || soerr != 0) { errno = soerr; goto fail; }
    char req[700];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nUser-Agent: oigd-healthcheck\r\n\r\n",
                     path, host);
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) goto fail;
    char buf[4096];
    size_t got = 0;
    while (got < sizeof buf - 1 && !memchr(buf, '\n', got)) {
        if (wait_fd(fd, POLLIN, deadline) != 0) goto fail;
        ssize_t k = recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        got += (size_t)k;
    }
    buf[got] = 0;
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) == 1 && status == 200) rc = 0;
    else fprintf(stderr, "oigd healthcheck: %s answered %d\n", url, status);
    close(fd);
    return rc;
fail:
    fprintf(stderr, "oigd healthcheck: %s: %s\n", url, errno ? strerror(errno) : "no answer");
    close(fd);
    return 1;
}

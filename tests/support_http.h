/* support_http.h -- test support: a tiny blocking HTTP/1.1 client over a loopback socket, and
 * starting/stopping a real `oigd serve` child process on an ephemeral port. Tests only. */
#ifndef OIGD_SUPPORT_HTTP_H
#define OIGD_SUPPORT_HTTP_H
#include <stddef.h>
#include <sys/types.h>

typedef struct {
    int status;
    char *headers;          /* raw header block, NUL-terminated */
    char *body;             /* de-chunked, NUL-terminated */
    size_t len;
} http_resp;

/* One request with "Connection: close"; extra_headers is "Name: value\r\n..." or NULL. Reads
 * until the server closes or timeout_ms passes. 0 on success (any status), -1 on I/O error. */
int http_request(int port, const char *method, const char *path, const char *extra_headers,
                 const char *body, size_t len, int timeout_ms, http_resp *out);
/* Send bytes verbatim (a whole request, however malformed), half-close, and read the response
 * as http_request does. 0 when a status line came back, -1 otherwise. */
int http_raw(int port, const char *bytes, size_t len, int timeout_ms, http_resp *out);
void http_resp_free(http_resp *r);
/* Value of a response header (case-insensitive name) copied into out; 0 when found. */
int http_header(const http_resp *r, const char *name, char *out, size_t outlen);

typedef struct {
    pid_t pid;
    int port;
    char log[512];          /* the daemon's stderr */
} oigd_proc;

/* Start `$OIGD_BIN serve --listen 127.0.0.1:0 --db db` with stderr to dir/serve-N.log and wait
 * (up to 30 s) for its "listening on" line. extra is appended to argv (NULL-terminated list or
 * NULL). 0 on success. */
int oigd_start(const char *dir, const char *db, const char *const *extra, oigd_proc *p);
/* Send sig and wait for the exit (up to timeout_ms); returns the exit status, 128+signal when
 * killed by a signal, -1 on timeout (the process is then killed). */
int oigd_stop(oigd_proc *p, int sig, int timeout_ms);
/* The daemon's log so far: its first 64 KiB, in a static buffer (overwritten by the next call);
 * "" when the file cannot be read. */
const char *oigd_log(const oigd_proc *p);
/* Milliseconds since an arbitrary start. */
long long support_now_ms(void);
#endif

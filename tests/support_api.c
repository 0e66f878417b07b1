/* support_api.c -- JSON requests against a running oigd for end-to-end suites (support_api.h). */
#include "support_api.h"
#include "support_http.h"
#include "history.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

cJSON *api_json(int port, const char *method, const char *path, const char *ctype, const char *body,
                int expect_status, char *location, size_t loclen) {
    char hdr[128] = "";
    if (ctype) snprintf(hdr, sizeof hdr, "Content-Type: %s\r\n", ctype);
    http_resp r;
    ck_assert_int_eq(http_request(port, method, path, hdr[0] ? hdr : NULL, body, body ? strlen(body) : 0,
                                  30000, &r), 0);
    ck_assert_msg(r.status == expect_status, "%s %s: status %d, body %s", method, path, r.status, r.body);
    if (location) ck_assert_int_eq(http_header(&r, "Location", location, loclen), 0);
    cJSON *j = cJSON_Parse(r.body);
    http_resp_free(&r);
    return j;
}

const char *api_jstr(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

cJSON *api_wait_status(int port, const char *id, const char *want, int timeout_ms, int poll_ms) {
    char path[128];
    snprintf(path, sizeof path, "/v1/jobs/%s", id);
    long long deadline = support_now_ms() + timeout_ms;
    for (;;) {
        cJSON *j = api_json(port, "GET", path, NULL, NULL, 200, NULL, 0);
        const char *s = api_jstr(j, "status");
        if (s && strstr(want, s)) return j;
        ck_assert_msg(support_now_ms() < deadline, "job %s still %s", id, s);
        cJSON_Delete(j);
        usleep((useconds_t)poll_ms * 1000);
    }
}

int api_metrics_history(int port, const char *id, long *rows) {
    long want = 0, last = -1, count = 0;
    int off_rule = 0;   /* the run's last iteration, outside the rule, was seen: nothing may follow */
    for (;;) {
        char path[160];
        snprintf(path, sizeof path, "/v1/jobs/%s/metrics?after=%ld&limit=5000", id, last);
        cJSON *j = api_json(port, "GET", path, NULL, NULL, 200, NULL, 0);
        cJSON *arr = cJSON_GetObjectItem(j, "metrics"), *m;
        int n = 0;
        cJSON_ArrayForEach(m, arr) {
            long it = (long)cJSON_GetObjectItem(m, "iteration")->valuedouble;
            ck_assert_msg(!off_rule, "job %s: iteration %ld after the run's last", id, it);
            if (it != want) {
                /* only the run's last iteration may stand outside the rule, between two kept ones */
                ck_assert_msg(it > last && it < want && !history_keeps(it), "job %s: iteration %ld where %ld was due",
                              id, it, want);
                off_rule = 1;
            } else {
                want = history_next(want);
            }
            last = it;
            n++;
            count++;
        }
        int more = !cJSON_IsNull(cJSON_GetObjectItem(j, "next_after"));
        cJSON_Delete(j);
        if (!more || n == 0) break;
    }
    if (rows) *rows = count;
    return (int)(last + 1);
}

char *api_sine_csv(int rows, unsigned seed, size_t *len) {
    size_t cap = (size_t)rows * 80 + 64;
    char *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    size_t n = (size_t)snprintf(b, cap, "a,b,c,y\n");
    unsigned s = seed;
    for (int i = 0; i < rows; i++) {
        double v[3];
        for (int k = 0; k < 3; k++) { s = s * 1103515245u + 12345u; v[k] = ((s >> 8) % 20001) / 10000.0 - 1.0; }
        n += (size_t)snprintf(b + n, cap - n, "%.6f,%.6f,%.6f,%.6f\n", v[0], v[1], v[2], sin(2 * v[0]) + v[1] * v[2]);
    }
    *len = n;
    return b;
}

unsigned char *api_compressed(const void *bytes, size_t len, int gzip, size_t *out_len) {
    z_stream z;
    memset(&z, 0, sizeof z);
    ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, gzip ? 15 + 16 : 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, len);
    unsigned char *out = malloc(cap);
    ck_assert_ptr_nonnull(out);
    z.next_in = (Bytef *)bytes;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = z.total_out;
    deflateEnd(&z);
    return out;
}

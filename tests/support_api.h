/* support_api.h -- JSON requests against a running oigd for end-to-end suites: one request with
 * its expected status, a job polled to a status, a job's metrics history checked, the seeded
 * regression CSV the suites upload, and compressed bodies.
 * Linked into every test binary; failures are libcheck assertions. */
#ifndef OIGD_SUPPORT_API_H
#define OIGD_SUPPORT_API_H

#include <stddef.h>
#include <cjson/cJSON.h>

/* METHOD PATH with an optional body and, when ctype is given, that Content-Type; asserts the status; returns the parsed body (NULL when it is not JSON).
 * When location is given, the Location header is asserted and copied there. */
cJSON *api_json(int port, const char *method, const char *path, const char *ctype, const char *body,
                int expect_status, char *location, size_t loclen);
/* The string member k of o, or NULL. */
const char *api_jstr(const cJSON *o, const char *k);
/* Poll GET /v1/jobs/ID until its status is one of want ("a|b"); asserts timeout_ms is not passed. */
cJSON *api_wait_status(int port, const char *id, const char *want, int timeout_ms, int poll_ms);
/* Job id's stored metrics history, read page by page: the iterations history_keeps (history.h)
 * from 0, each once and in order, then possibly the run's last iteration. Asserts that; returns
 * the last iteration + 1 (0 without rows) and, when rows is not NULL, the row count there. */
int api_metrics_history(int port, const char *id, long *rows);
/* rows rows of "a,b,c,y" with y = sin(2a) + bc, inputs from a seeded generator; malloc'd. */
char *api_sine_csv(int rows, unsigned seed, size_t *len);
/* len bytes compressed by zlib at level 6, in gzip framing (gzip = 1) or zlib's (what HTTP calls
 * deflate); malloc'd, *out_len bytes. */
unsigned char *api_compressed(const void *bytes, size_t len, int gzip, size_t *out_len);

#endif

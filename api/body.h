/* body.h -- a request's body as it arrives: decoded when it comes with Content-Encoding gzip or
 * deflate, bounded by --max-body (counted after decoding), hashed for uploads, held in memory up
 * to API_SPOOL_AFTER bytes and past that in an unlinked spool file beside the database, which the
 * handler reads through a read-only mapping whose pages the parser gives back as it goes. */
#ifndef OIGD_BODY_H
#define OIGD_BODY_H
#include <stddef.h>

#define API_SPOOL_AFTER ((size_t)1 << 20)   /* bodies up to this many bytes stay in memory */

struct api_req;

typedef enum {
    API_BODY_OK = 0,
    API_BODY_TOO_LARGE,     /* past --max-body once decoded: 413 */
    API_BODY_CORRUPT,       /* the encoded body does not decode: 400, rq->body_error says why */
    API_BODY_SPOOL_FAILED,  /* writing the spool file failed: 500, rq->spool_errno says why */
} api_body_status;

/* Before the first byte: content_encoding is the request's header (NULL: none), hash asks for
 * the SHA-256 of the decoded body in rq->body_sha. -1 for a coding other than identity, gzip,
 * x-gzip or deflate (the answer is 415); -2 when out of memory. */
int api_body_begin(struct api_req *rq, const char *content_encoding, int hash);
/* n bytes as they came off the wire. After a failure the rest is read and dropped, and
 * api_body_end reports it. -1 only when out of memory (the connection is dropped). */
int api_body_feed(struct api_req *rq, const char *data, size_t n);
/* The last byte has come: rq->body (NUL-terminated) and rq->len hold the decoded body, mapped
 * from the spool file when it went there; or the first failure. */
api_body_status api_body_end(struct api_req *rq);
/* Free, unmap and close whatever the body holds. */
void api_body_free(struct api_req *rq);

/* oig_parse_opts.release for mapped text: drop the whole pages inside [from, from+len) from the
 * process; they read back from the file if the parser comes back to them. */
void api_release_pages(const char *from, size_t len, void *ctx);
#endif

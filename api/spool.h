/* spool.h -- large request bodies on disk: past API_SPOOL_AFTER bytes a body is written to an
 * unlinked file in the database's directory instead of growing in memory, and the handler reads
 * it back through a read-only mapping whose pages the parser gives back as it goes. */
#ifndef OIGD_SPOOL_H
#define OIGD_SPOOL_H
#include <stddef.h>

#define API_SPOOL_AFTER ((size_t)1 << 20)   /* bodies up to this many bytes stay in memory */

struct api_req;

/* Move the body so far to a new spool file beside the database (db_path's directory) and free
 * its memory. 0, or an errno value (the body is then left as it was). */
int api_spool_begin(struct api_req *rq, const char *db_path);
/* Append n bytes to the spool file. 0, or an errno value. */
int api_spool_append(struct api_req *rq, const char *data, size_t n);
/* Map the whole spooled body, NUL-terminated, as rq->body. 0, or an errno value. */
int api_spool_map(struct api_req *rq);
/* Unmap and close whatever the request spooled; a memory body is left alone. */
void api_spool_close(struct api_req *rq);

/* oig_parse_opts.release for mapped text: drop the whole pages inside [from, from+len) from the
 * process; they read back from the file if the parser comes back to them. */
void api_release_pages(const char *from, size_t len, void *ctx);
#endif

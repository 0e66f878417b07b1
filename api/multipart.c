/* multipart.c -- reads a multipart/form-data body (RFC 7578), as `curl -F file=@data.csv` and
 * HTML forms send it: the boundary from the Content-Type header, then each part's name,
 * filename, content type and content. Parts point into the body; nothing is copied but the
 * short header values, so a file part of a spooled body stays in its mapping. Lines may end in
 * CRLF (the standard) or LF. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api.h"

int api_multipart_boundary(const char *content_type, char *out, size_t outlen) {
    const char *p = content_type;
    while (p && (p = strchr(p, ';'))) {
        p++;
        while (*p == ' ' || *p == '\t') p++;
        if (strncasecmp(p, "boundary=", 9) != 0) continue;
        p += 9;
        size_t n = 0;
        if (*p == '"') {
            for (p++; p[n] && p[n] != '"'; n++) {}
            if (p[n] != '"') return -1;
        } else {
            while (p[n] && p[n] != ';' && p[n] != ' ' && p[n] != '\t') n++;
        }
        if (n == 0 || n > 70 || n + 1 > outlen) return -1;   /* RFC 2046: 1 to 70 characters */
        memcpy(out, p, n);
        out[n] = 0;
        return 0;
    }
    return -1;
}

/* The end of the line that starts at p (before its CR LF or LF), or NULL when end comes first. */
static const char *line_end(const char *p, const char *end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl) return NULL;
    return nl > p && nl[-1] == '\r' ? nl - 1 : nl;
}

/* After a line's end (CR LF or LF). */
static const char *next_line(const char *le, const char *end) {
    if (le < end && *le == '\r') le++;
    return le < end && *le == '\n' ? le + 1 : le;
}

/* A parameter of a Content-Disposition value (name="x"), copied into out; 0 when found. */
static int disposition_param(const char *v, const char *ve, const char *key, char *out, size_t outlen) {
    size_t kl = strlen(key);
    for (const char *p = v; p < ve; p++) {
        if (*p != ';') continue;
        const char *q = p + 1;
        while (q < ve && (*q == ' ' || *q == '\t')) q++;
        if ((size_t)(ve - q) <= kl || strncasecmp(q, key, kl) != 0 || q[kl] != '=') continue;
        q += kl + 1;
        size_t n = 0;
        if (q < ve && *q == '"') {
            for (q++; q < ve && *q != '"'; q++) {
                if (*q == '\\' && q + 1 < ve) q++;
                if (n + 1 < outlen) out[n++] = *q;
            }
        } else {
            for (; q < ve && *q != ';' && *q != ' '; q++)
                if (n + 1 < outlen) out[n++] = *q;
        }
        out[n] = 0;
        return 0;
    }
    return -1;
}

/* One part's headers, from p to the empty line; *content is where its content starts. */
static int part_headers(const char *p, const char *end, api_form_part *part, const char **content,
                        char *err, size_t errlen) {
    int disposed = 0;
    for (int lines = 0;; lines++) {
        const char *le = line_end(p, end);
        if (!le || lines > 16) {
            snprintf(err, errlen, "a part's headers do not end");
            return -1;
        }
        if (le == p) {   /* the empty line */
            *content = next_line(le, end);
            break;
        }
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (colon) {
            const char *v = colon + 1;
            while (v < le && (*v == ' ' || *v == '\t')) v++;
            size_t hl = (size_t)(colon - p);
            if (hl == 19 && strncasecmp(p, "Content-Disposition", 19) == 0) {
                if ((size_t)(le - v) < 9 || strncasecmp(v, "form-data", 9) != 0) {
                    snprintf(err, errlen, "a part's Content-Disposition is not form-data");
                    return -1;
                }
                disposed = disposition_param(v, le, "name", part->name, sizeof part->name) == 0;
                disposition_param(v, le, "filename", part->filename, sizeof part->filename);
            } else if (hl == 12 && strncasecmp(p, "Content-Type", 12) == 0) {
                size_t n = 0;
                for (const char *c = v; c < le && *c != ';' && *c != ' ' && n + 1 < sizeof part->ctype; c++)
                    part->ctype[n++] = (char)tolower((unsigned char)*c);
                part->ctype[n] = 0;
            }
        }
        p = next_line(le, end);
    }
    if (!disposed) {
        snprintf(err, errlen, "a part has no Content-Disposition: form-data; name=...");
        return -1;
    }
    return 0;
}

/* Whether a delimiter's text is followed by what ends one: "--" (the close delimiter), or spaces
 * and a line end; otherwise the text was content that merely begins like the boundary. */
static int delimiter_ends(const char *p, const char *end) {
    if (end - p >= 2 && p[0] == '-' && p[1] == '-') return 1;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    return p < end && (*p == '\r' || *p == '\n');
}

int api_multipart_parse(const char *body, size_t len, const char *boundary, api_form_part *parts, int max_parts,
                        int *nparts, char *err, size_t errlen) {
    char delim[80];
    int dl = snprintf(delim, sizeof delim, "--%s", boundary);
    const char *end = body + len;
    *nparts = 0;
    if (dl < 3 || (size_t)dl >= sizeof delim) {   /* api_multipart_boundary gives 1 to 70 characters */
        snprintf(err, errlen, "the boundary must have 1 to 70 characters");
        return -1;
    }
    /* the first delimiter starts the body or a line after the preamble */
    const char *p = body;
    if (len < (size_t)dl || memcmp(body, delim, (size_t)dl) != 0) {
        char first[84];
        snprintf(first, sizeof first, "\n%s", delim);
        p = memmem(body, len, first, (size_t)dl + 1);
        if (!p) {
            snprintf(err, errlen, "the body has no boundary line --%s", boundary);
            return -1;
        }
        p++;
    }
    for (;;) {
        p += dl;                                   /* past the delimiter */
        if (end - p >= 2 && p[0] == '-' && p[1] == '-') return 0;   /* the close delimiter */
        const char *le = line_end(p, end);
        if (!le) break;
        p = next_line(le, end);                    /* transport padding ignored */
        if (*nparts == max_parts) {
            snprintf(err, errlen, "at most %d parts", max_parts);
            return -1;
        }
        api_form_part *part = &parts[*nparts];
        memset(part, 0, sizeof *part);
        const char *content;
        if (part_headers(p, end, part, &content, err, errlen) != 0) return -1;
        /* the content ends at the line break before the next delimiter */
        char next[84];
        int nl = snprintf(next, sizeof next, "\n%s", delim);
        const char *d = content;
        while ((d = memmem(d, (size_t)(end - d), next, (size_t)nl)) && !delimiter_ends(d + nl, end)) d++;
        if (!d) break;
        const char *cend = d > content && d[-1] == '\r' ? d - 1 : d;
        part->data = content;
        part->len = (size_t)(cend - content);
        (*nparts)++;
        p = d + 1;
    }
    snprintf(err, errlen, "the body ends before its closing boundary --%s--", boundary);
    return -1;
}

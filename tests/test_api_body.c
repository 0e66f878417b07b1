/* test_api_body.c -- a request's body as the daemon takes it in (api/body.c), without a daemon:
 * pieces of any size give the same body as one piece, gzip and deflate decode, --max-body bounds
 * the decoded size, a cut or false stream is refused with a reason, an unknown coding is refused,
 * the upload's SHA-256 is the decoded body's, and a body past 1 MiB comes back mapped from a
 * spool file that is gone from the directory. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "body.h"
#include "support_api.h"
#include "support_suite.h"
#include "support_tmp.h"

static config cfg;
static api_server srv;
static char tdir[256];

static void setup(void) {
    ck_assert_int_eq(support_tmpdir(tdir, sizeof tdir, "body"), 0);
    memset(&cfg, 0, sizeof cfg);
    cfg.max_body = 1 << 16;
    snprintf(cfg.db, sizeof cfg.db, "%s/oigd.db", tdir);
    srv.cfg = &cfg;
}

static void teardown(void) { support_rmtree(tdir); }

typedef struct {
    api_body_status status;
    size_t len;
    char *text;             /* the decoded body (OK only), malloc'd */
    char error[128];
    int mapped;
} taken;

/* Take bytes as a request with Content-Encoding `coding` whose body arrives in pieces of
 * `piece` bytes; checks that the upload's hash is the body's. */
static taken take(const char *coding, const void *bytes, size_t n, size_t piece) {
    taken t;
    memset(&t, 0, sizeof t);
    api_req *rq = calloc(1, sizeof *rq);
    rq->srv = &srv;
    ck_assert_int_eq(api_body_begin(rq, coding, 1), 0);
    for (size_t off = 0; off < n; off += piece)
        ck_assert_int_eq(api_body_feed(rq, (const char *)bytes + off, n - off < piece ? n - off : piece), 0);
    t.status = api_body_end(rq);
    if (t.status == API_BODY_OK) {
        ck_assert(rq->len == 0 || rq->body[rq->len] == 0);
        char a[65], b[65];
        sha256_final_hex(&rq->body_sha, a);
        sha256_hex(rq->body ? rq->body : "", rq->len, b);
        ck_assert_str_eq(a, b);
        t.len = rq->len;
        t.text = malloc(rq->len + 1);
        memcpy(t.text, rq->body ? rq->body : "", rq->len);
        t.text[rq->len] = 0;
        t.mapped = rq->mapped > 0;
    }
    snprintf(t.error, sizeof t.error, "%s", rq->body_error);
    api_body_free(rq);
    free(rq);
    return t;
}

static char *csv_rows(int rows, size_t *len) {
    char *b = malloc((size_t)rows * 32 + 16);
    size_t n = (size_t)sprintf(b, "a,b,y\n");
    for (int i = 0; i < rows; i++) n += (size_t)sprintf(b + n, "%d,%d,%d\n", i, i * 7 % 13, i % 5);
    *len = n;
    return b;
}

START_TEST(test_plain_and_encoded_bodies_in_any_pieces) {
    size_t len, zlen;
    char *csv = csv_rows(2000, &len);
    ck_assert_uint_lt(len, cfg.max_body);
    for (int gzip = 0; gzip < 2; gzip++) {
        unsigned char *z = api_compressed(csv, len, gzip, &zlen);
        size_t pieces[] = {1, 7, 4096, zlen};
        for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
            taken t = take(gzip ? "gzip" : "deflate", z, zlen, pieces[k]);
            ck_assert_int_eq(t.status, API_BODY_OK);
            ck_assert_uint_eq(t.len, len);
            ck_assert(memcmp(t.text, csv, len) == 0);
            free(t.text);
        }
        free(z);
    }
    taken t = take(NULL, csv, len, 3);
    ck_assert_int_eq(t.status, API_BODY_OK);
    ck_assert_str_eq(t.text, csv);
    free(t.text);
    t = take("identity", "", 0, 1);
    ck_assert_int_eq(t.status, API_BODY_OK);
    ck_assert_uint_eq(t.len, 0);
    free(t.text);
    free(csv);
}
END_TEST

START_TEST(test_the_limit_counts_decoded_bytes) {
    size_t big = 3 * cfg.max_body, zlen;
    char *zeros = calloc(1, big);
    unsigned char *bomb = api_compressed(zeros, big, 1, &zlen);
    free(zeros);
    ck_assert_uint_lt(zlen, cfg.max_body / 10);
    ck_assert_int_eq(take("gzip", bomb, zlen, zlen).status, API_BODY_TOO_LARGE);
    ck_assert_int_eq(take("gzip", bomb, zlen, 1).status, API_BODY_TOO_LARGE);
    free(bomb);
    char *over = malloc(cfg.max_body + 1);
    memset(over, 'x', cfg.max_body + 1);
    ck_assert_int_eq(take(NULL, over, cfg.max_body + 1, 1000).status, API_BODY_TOO_LARGE);
    taken t = take(NULL, over, cfg.max_body, 1000);
    ck_assert_int_eq(t.status, API_BODY_OK);
    free(t.text);
    free(over);
}
END_TEST

/* Found by fuzz_body_decode: a gzip stream of zeros, cut short, whose last input bytes decode to
 * more than one output buffer. Fed whole, the decoder stopped with output still held back and
 * called the body cut (400); in pieces it went past the limit (413). */
static const unsigned char held_back[] = {
  0x1f, 0x8b, 0x08, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x03, 0xed, 0xc1,
  0x31, 0x01, 0x00, 0x00, 0x00, 0xc2, 0xa0, 0xf5, 0x4f, 0x6d, 0x09, 0x4f,
  0xa0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x00, 0x00, 0xff, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb,
  0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb,
  0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb,
  0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb,
  0xfb, 0xfb, 0x00, 0x20, 0xfb, 0xfb, 0xfb, 0xfb, 0xfb, 0x0c, 0xfb, 0xfb,
  0xfb, 0xfb, 0xfb, 0x00, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0xff, 0x00,
  0x00
};

START_TEST(test_output_held_back_by_the_decoder_comes_out) {
    ck_assert_int_eq(take("gzip", held_back, sizeof held_back, sizeof held_back).status, API_BODY_TOO_LARGE);
    ck_assert_int_eq(take("gzip", held_back, sizeof held_back, 65).status, API_BODY_TOO_LARGE);
}
END_TEST

START_TEST(test_cut_false_and_unknown_codings_are_refused) {
    size_t len, zlen;
    char *csv = csv_rows(500, &len);
    unsigned char *z = api_compressed(csv, len, 1, &zlen);
    taken t = take("gzip", z, zlen / 2, 100);
    ck_assert_int_eq(t.status, API_BODY_CORRUPT);
    ck_assert_ptr_nonnull(strstr(t.error, "ends before"));
    t = take("gzip", csv, len, 100);
    ck_assert_int_eq(t.status, API_BODY_CORRUPT);
    ck_assert_ptr_nonnull(strstr(t.error, "does not decode"));
    /* two gzip members one after the other are one body, as gunzip reads them */
    unsigned char *two = malloc(2 * zlen);
    memcpy(two, z, zlen);
    memcpy(two + zlen, z, zlen);
    t = take("x-gzip", two, 2 * zlen, 333);
    ck_assert_int_eq(t.status, API_BODY_OK);
    ck_assert_uint_eq(t.len, 2 * len);
    free(t.text);
    free(two);
    free(z);
    free(csv);
    api_req *rq = calloc(1, sizeof *rq);
    rq->srv = &srv;
    ck_assert_int_eq(api_body_begin(rq, "br", 0), -1);
    api_body_free(rq);
    free(rq);
}
END_TEST

START_TEST(test_a_body_past_1_mib_is_spooled_and_mapped) {
    cfg.max_body = 4 << 20;
    size_t len;
    char *csv = csv_rows(120000, &len);
    ck_assert_uint_gt(len, API_SPOOL_AFTER);
    taken t = take(NULL, csv, len, 65536);
    ck_assert_int_eq(t.status, API_BODY_OK);
    ck_assert(t.mapped);
    ck_assert_uint_eq(t.len, len);
    ck_assert(memcmp(t.text, csv, len) == 0);
    free(t.text);
    ck_assert_int_eq(support_dir_entries(tdir, NULL), 0);
    free(csv);
}
END_TEST

static Suite *body_suite(void) {
    Suite *s = suite_create("api_body");
    TCase *tc = tcase_create("body");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_plain_and_encoded_bodies_in_any_pieces);
    tcase_add_test(tc, test_the_limit_counts_decoded_bytes);
    tcase_add_test(tc, test_output_held_back_by_the_decoder_comes_out);
    tcase_add_test(tc, test_cut_false_and_unknown_codings_are_refused);
    tcase_add_test(tc, test_a_body_past_1_mib_is_spooled_and_mapped);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return suite_run(body_suite(), CK_FORK_GETENV);
}

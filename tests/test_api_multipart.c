/* test_api_multipart.c -- multipart/form-data bodies (api/multipart.c) as curl -F, browsers and
 * REST clients send them: the boundary read from Content-Type (quoted or not, with other
 * parameters), parts with their names, filenames and types, contents that point into the body
 * byte for byte (CR LF or LF line ends, a preamble and an epilogue, empty contents, contents
 * holding line breaks and boundary-like text), and a reason for each body that is not one. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "support_suite.h"

static int parse(const char *body, const char *boundary, api_form_part *parts, int max, char *err) {
    int n = -1;
    int rc = api_multipart_parse(body, strlen(body), boundary, parts, max, &n, err, 160);
    return rc == 0 ? n : -1;
}

static void content_is(const api_form_part *p, const char *want) {
    ck_assert_uint_eq(p->len, strlen(want));
    ck_assert_int_eq(memcmp(p->data, want, p->len), 0);
}

/* p is the part named name, with filename and media type ctype ("" when it has none), holding
 * content. */
static void part_is(const api_form_part *p, const char *name, const char *filename, const char *ctype,
                    const char *content) {
    ck_assert_str_eq(p->name, name);
    ck_assert_str_eq(p->filename, filename);
    ck_assert_str_eq(p->ctype, ctype);
    content_is(p, content);
}

START_TEST(test_boundary_is_read_from_the_content_type) {
    char b[72];
    ck_assert_int_eq(api_multipart_boundary("multipart/form-data; boundary=------------------------abc123", b, sizeof b), 0);
    ck_assert_str_eq(b, "------------------------abc123");
    ck_assert_int_eq(api_multipart_boundary("multipart/form-data;boundary=\"a b;c\"; charset=utf-8", b, sizeof b), 0);
    ck_assert_str_eq(b, "a b;c");
    ck_assert_int_eq(api_multipart_boundary("multipart/form-data; charset=utf-8; BOUNDARY=x", b, sizeof b), 0);
    ck_assert_str_eq(b, "x");
    ck_assert_int_eq(api_multipart_boundary("multipart/form-data", b, sizeof b), -1);
    ck_assert_int_eq(api_multipart_boundary(NULL, b, sizeof b), -1);
    ck_assert_int_eq(api_multipart_boundary("multipart/form-data; boundary=", b, sizeof b), -1);
    ck_assert_int_eq(api_multipart_boundary("multipart/form-data; boundary=\"open", b, sizeof b), -1);
    char longer[120];
    snprintf(longer, sizeof longer, "multipart/form-data; boundary=%071d", 0);   /* 71 characters */
    ck_assert_int_eq(api_multipart_boundary(longer, b, sizeof b), -1);
}
END_TEST

/* what curl -F file=@data.csv -F name=houses sends */
START_TEST(test_curl_form_gives_its_file_and_fields) {
    const char *body =
        "--XyZ\r\n"
        "Content-Disposition: form-data; name=\"file\"; filename=\"data.csv\"\r\n"
        "Content-Type: text/csv\r\n"
        "\r\n"
        "a,b,y\r\n1,2,3\r\n--XyZ-not-yet\r\n"
        "\r\n--XyZ\r\n"
        "Content-Disposition: form-data; name=\"name\"\r\n"
        "\r\n"
        "houses\r\n"
        "--XyZ--\r\n";
    api_form_part parts[4];
    char err[160];
    ck_assert_int_eq(parse(body, "XyZ", parts, 4, err), 2);
    part_is(&parts[0], "file", "data.csv", "text/csv", "a,b,y\r\n1,2,3\r\n--XyZ-not-yet\r\n");
    ck_assert_ptr_eq(parts[0].data, strstr(body, "a,b,y"));   /* inside the body, not a copy */
    part_is(&parts[1], "name", "", "", "houses");
}
END_TEST

START_TEST(test_lf_line_ends_a_preamble_and_empty_contents) {
    const char *body =
        "this preamble is ignored\n"
        "--b\n"
        "content-disposition: form-data; name=empty\n"
        "\n"
        "\n"
        "--b\n"
        "CONTENT-DISPOSITION: form-data; name=\"f\"; filename=\"C:\\\\dir\\\\x.csv\"\n"
        "content-type: Application/Vnd.MS-Excel; charset=x\n"
        "\n"
        "1 2\n3 4\n"
        "--b--\n"
        "an epilogue, ignored too";
    api_form_part parts[4];
    char err[160];
    ck_assert_int_eq(parse(body, "b", parts, 4, err), 2);
    part_is(&parts[0], "empty", "", "", "");
    part_is(&parts[1], "f", "C:\\dir\\x.csv", "application/vnd.ms-excel", "1 2\n3 4");
    /* an empty content right before the close delimiter */
    ck_assert_int_eq(parse("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n\r\n--b--", "b", parts, 4, err), 1);
    content_is(&parts[0], "");
}
END_TEST

START_TEST(test_bodies_that_are_not_multipart_say_why) {
    api_form_part parts[2];
    char err[160];
    ck_assert_int_eq(parse("a,b\n1,2\n", "b", parts, 2, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "no boundary line"));
    ck_assert_int_eq(parse("--b\r\nContent-Disposition: form-data; name=x\r\n\r\nabc", "b", parts, 2, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "closing boundary"));
    ck_assert_int_eq(parse("--b\r\nContent-Disposition: form-data; name=x\r\nabc", "b", parts, 2, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "headers do not end"));
    ck_assert_int_eq(parse("--b\r\nContent-Type: text/csv\r\n\r\nabc\r\n--b--", "b", parts, 2, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "no Content-Disposition"));
    ck_assert_int_eq(parse("--b\r\nContent-Disposition: attachment; name=x\r\n\r\nabc\r\n--b--", "b", parts, 2, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "not form-data"));
    ck_assert_int_eq(parse("--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n"
                           "--b\r\nContent-Disposition: form-data; name=y\r\n\r\n2\r\n"
                           "--b\r\nContent-Disposition: form-data; name=z\r\n\r\n3\r\n--b--", "b", parts, 2, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "at most 2 parts"));
    ck_assert_int_eq(parse("--\r\n", "", parts, 2, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "1 to 70"));
    char longest[100];
    memset(longest, 'x', 90);
    longest[90] = 0;
    ck_assert_int_eq(parse("--xx", longest, parts, 2, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "1 to 70"));
    ck_assert_int_eq(parse("", "b", parts, 2, err), -1);
    ck_assert_int_eq(parse("--b", "b", parts, 2, err), -1);
    /* a header block that never ends within 17 lines */
    char many[2048] = "--b\r\nContent-Disposition: form-data; name=x\r\n";
    for (int i = 0; i < 20; i++) strcat(many, "X-Filler: 1\r\n");
    strcat(many, "\r\nabc\r\n--b--");
    ck_assert_int_eq(parse(many, "b", parts, 2, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "headers do not end"));
}
END_TEST

/* Cut anywhere, a valid body never reads past its end (ASan watches the copy's bounds). */
START_TEST(test_every_cut_of_a_body_is_handled) {
    const char *body = "pre\r\n--q\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d.csv\"\r\n"
                       "Content-Type: text/csv\r\n\r\nx,y\r\n1,2\r\n--q\r\nContent-Disposition: form-data; "
                       "name=task\r\n\r\nregression\r\n--q--\r\n";
    size_t len = strlen(body);
    for (size_t cut = 0; cut <= len; cut++) {
        char *copy = malloc(cut ? cut : 1);
        memcpy(copy, body, cut);
        api_form_part parts[4];
        int n = -1;
        char err[160];
        int rc = api_multipart_parse(copy, cut, "q", parts, 4, &n, err, sizeof err);
        if (cut >= len - 2) ck_assert_int_eq(rc, 0);   /* the close delimiter "--q--" is whole */
        else ck_assert_int_eq(rc, -1);
        for (int i = 0; rc == 0 && i < n; i++)
            ck_assert(parts[i].data >= copy && parts[i].data + parts[i].len <= copy + cut);
        free(copy);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("api_multipart");
    TCase *tc = tcase_create("multipart");
    tcase_add_test(tc, test_boundary_is_read_from_the_content_type);
    tcase_add_test(tc, test_curl_form_gives_its_file_and_fields);
    tcase_add_test(tc, test_lf_line_ends_a_preamble_and_empty_contents);
    tcase_add_test(tc, test_bodies_that_are_not_multipart_say_why);
    tcase_add_test(tc, test_every_cut_of_a_body_is_handled);
    suite_add_tcase(s, tc);
    return suite_run(s, CK_FORK_GETENV);
}

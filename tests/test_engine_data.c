/* test_engine_data.c -- libcheck suite for engine/data.c: CSV and whitespace parsing, column
 * selection, class coding, error positions and limits, row selection, seeded splits and
 * row-index lists. Every dataset is written inline; nothing is read from disk.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oig.h"
#include "support_suite.h"

/* Parse a NUL-terminated buffer with opts (NULL = defaults). */
static oig_status parse(const char *s, const oig_parse_opts *o, oig_data **d, oig_error *e) {
    return oig_data_parse(s, strlen(s), o, d, e);
}

static oig_parse_opts opts_task(oig_task task) {
    oig_parse_opts o;
    oig_parse_opts_init(&o);
    o.task = task;
    return o;
}

/* ---- CSV ---- */

START_TEST(test_csv_header_and_default_target_last_column) {
    oig_data *d; oig_error e;
    ck_assert_int_eq(parse("a,b,y\n1,2,3\n4,5,6\n", NULL, &d, &e), OIG_OK);
    ck_assert_uint_eq(d->nrows, 2);
    ck_assert_int_eq(d->n, 2);
    ck_assert_int_eq(d->m, 1);
    ck_assert_str_eq(d->input_names[0], "a");
    ck_assert_str_eq(d->input_names[1], "b");
    ck_assert_int_eq(d->ntarget_names, 1);
    ck_assert_str_eq(d->target_names[0], "y");
    ck_assert(d->x[0] == 1 && d->x[1] == 2 && d->x[2] == 4 && d->x[3] == 5);
    ck_assert(d->t[0] == 3 && d->t[1] == 6);
    ck_assert_ptr_null(d->cls);
    ck_assert_int_eq(d->nclasses, 0);
    oig_data_free(d);
}
END_TEST

START_TEST(test_csv_quoted_fields_parse) {
    oig_data *d; oig_error e;
    const char *s = "\"x, one\",\"say \"\"hi\"\"\",y\n\"1.5\",2,\"3\"\n";
    ck_assert_int_eq(parse(s, NULL, &d, &e), OIG_OK);
    ck_assert_str_eq(d->input_names[0], "x, one");
    ck_assert_str_eq(d->input_names[1], "say \"hi\"");
    ck_assert(d->x[0] == 1.5 && d->x[1] == 2 && d->t[0] == 3);
    oig_data_free(d);
}
END_TEST

START_TEST(test_csv_quoted_field_may_span_lines) {
    oig_data *d; oig_error e;
    oig_parse_opts o = opts_task(OIG_CLASSIFICATION);
    const char *s = "a,cls\n1,\"two\nlines\"\n2,b\n3,\"x\"";
    ck_assert_int_eq(parse(s, &o, &d, &e), OIG_OK);
    ck_assert_uint_eq(d->nrows, 3);
    ck_assert_int_eq(d->nclasses, 3);
    ck_assert_str_eq(d->labels[0], "b");
    ck_assert_str_eq(d->labels[1], "two\nlines");
    ck_assert_str_eq(d->labels[2], "x");
    oig_data_free(d);
    /* line numbers after the multi-line field still count physical lines */
    ck_assert_int_eq(parse("a,b\n1,\"x\ny\"\n2,zz\n", NULL, &d, &e), OIG_EPARSE);
    ck_assert_int_eq(e.line, 2);
    oig_parse_opts u; oig_parse_opts_init(&u);
    int in[] = { 1 }, tg[] = { 2 };
    u.input_columns = in; u.ninput_columns = 1;
    u.target_columns = tg; u.ntarget_columns = 1;
    ck_assert_int_eq(parse("a,b,y\n\"x\ny\",1,2\n\"\n\",zz,4\n", &u, &d, &e), OIG_EPARSE);
    ck_assert_int_eq(e.line, 5);
    ck_assert_int_eq(e.column, 2);
}
END_TEST

START_TEST(test_csv_crlf_line_endings) {
    oig_data *d; oig_error e;
    ck_assert_int_eq(parse("a,y\r\n1,2\r\n3,4\r\n\r\n", NULL, &d, &e), OIG_OK);
    ck_assert_uint_eq(d->nrows, 2);
    ck_assert(d->x[1] == 3 && d->t[1] == 4);
    oig_data_free(d);
    ck_assert_int_eq(parse("a,y\r\n1,2\r\n3,q\r\n", NULL, &d, &e), OIG_EPARSE);
    ck_assert_int_eq(e.line, 3);
    ck_assert_int_eq(e.column, 2);
}
END_TEST

START_TEST(test_csv_without_final_newline) {
    oig_data *d; oig_error e;
    ck_assert_int_eq(parse("a,y\n1,2\n3,4", NULL, &d, &e), OIG_OK);
    ck_assert_uint_eq(d->nrows, 2);
    ck_assert(d->t[1] == 4);
    oig_data_free(d);
}
END_TEST

START_TEST(test_csv_header_zero_names_columns) {
    oig_data *d; oig_error e;
    oig_parse_opts o; oig_parse_opts_init(&o);
    o.format = OIG_FORMAT_CSV;
    o.header = 0;
    ck_assert_int_eq(parse("1,2,3\n4,5,6\n", &o, &d, &e), OIG_OK);
    ck_assert_uint_eq(d->nrows, 2);
    ck_assert_str_eq(d->input_names[1], "c1");
    ck_assert_str_eq(d->target_names[0], "c2");
    oig_data_free(d);
}
END_TEST

START_TEST(test_unterminated_quote_rejected) {
    oig_data *d = (oig_data *)1; oig_error e;
    ck_assert_int_eq(parse("a,b\n1,2\n3,\"4\n5,6\n", NULL, &d, &e), OIG_EPARSE);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(e.line, 3);
    ck_assert_int_eq(e.column, 2);
    ck_assert_ptr_nonnull(strstr(e.message, "unterminated quote"));
}
END_TEST

START_TEST(test_junk_after_closing_quote_rejected) {
    oig_data *d; oig_error e;
    ck_assert_int_eq(parse("a,b\n\"1\"x,2\n", NULL, &d, &e), OIG_EPARSE);
    ck_assert_int_eq(e.line, 2);
    ck_assert_int_eq(e.column, 1);
}
END_TEST

/* ---- whitespace-separated ---- */

START_TEST(test_ws_uci_traits_load) {
    oig_data *d; oig_error e;
    /* leading blanks, tabs with trailing blanks, a blank last line */
    const char *s = "  1.0 \t2.0 \t 3.0 \n4\t5\t6\t\n 7   8 9  \n\n";
    ck_assert_int_eq(parse(s, NULL, &d, &e), OIG_OK);
    ck_assert_uint_eq(d->nrows, 3);
    ck_assert_int_eq(d->n, 2);
    ck_assert_int_eq(d->m, 1);
    ck_assert_str_eq(d->input_names[0], "c0");
    ck_assert_str_eq(d->target_names[0], "c2");
    ck_assert(d->x[4] == 7 && d->x[5] == 8 && d->t[2] == 9);
    oig_data_free(d);
}
END_TEST

START_TEST(test_ws_auto_header_detected) {
    oig_data *d; oig_error e;
    ck_assert_int_eq(parse("x1 x2 y\n1 2 3\n", NULL, &d, &e), OIG_OK);
    ck_assert_uint_eq(d->nrows, 1);
    ck_assert_str_eq(d->input_names[1], "x2");
    oig_data_free(d);
    ck_assert_int_eq(parse("1 2 3\n4 5 6\n", NULL, &d, &e), OIG_OK);
    ck_assert_uint_eq(d->nrows, 2);
    oig_data_free(d);
}
END_TEST

START_TEST(test_ws_forced_no_header_rejects_names) {
    oig_data *d; oig_error e;
    oig_parse_opts o; oig_parse_opts_init(&o);
    o.header = 0;
    ck_assert_int_eq(parse("x1 x2 y\n1 2 3\n", &o, &d, &e), OIG_EPARSE);
    ck_assert_int_eq(e.line, 1);
    ck_assert_int_eq(e.column, 1);
}
END_TEST

START_TEST(test_auto_format_guesses_by_comma) {
    oig_data *d; oig_error e;
    ck_assert_int_eq(parse("\n\n a b\n1 2\n", NULL, &d, &e), OIG_OK);   /* WS */
    ck_assert_int_eq(d->n, 1);
    oig_data_free(d);
    ck_assert_int_eq(parse("\n a,b\n1,2\n", NULL, &d, &e), OIG_OK);     /* CSV */
    ck_assert_str_eq(d->input_names[0], "a");
    oig_data_free(d);
}
END_TEST

/* ---- numbers ---- */

START_TEST(test_numbers_convert_exactly) {
    oig_data *d; oig_error e;
    const char *s = "a b c d e f g h\n"
                    "0.1 -2.5e3 1E-5 +7 .5 5. 123456789012345678901 4.9e-324\n";
    ck_assert_int_eq(parse(s, NULL, &d, &e), OIG_OK);
    ck_assert(d->x[0] == 0.1);
    ck_assert(d->x[1] == -2500.0);
    ck_assert(d->x[2] == 1e-5);
    ck_assert(d->x[3] == 7.0);
    ck_assert(d->x[4] == 0.5);
    ck_assert(d->x[5] == 5.0);
    ck_assert(d->x[6] == 123456789012345678901.0);
    ck_assert(d->t[0] == 4.9e-324);
    oig_data_free(d);
}
END_TEST

START_TEST(test_fast_number_path_matches_strtod) {
    /* random decimal tokens through the parser must equal strtod bit for bit */
    char line[64], buf[64 * 2000 + 16];
    size_t off = 0;
    unsigned long long r = 88172645463325252ULL;
    double want[2000];
    off += (size_t)snprintf(buf, sizeof buf, "v y\n");
    for (int i = 0; i < 2000; i++) {
        r ^= r << 13; r ^= r >> 7; r ^= r << 17;
        int kind = (int)(r % 4);
        unsigned long long mant = (r >> 8) % 10000000000000000ULL;
        int ex = (int)((r >> 40) % 60) - 30;
        if (kind == 0) snprintf(line, sizeof line, "%llu", mant % 100000);
        else if (kind == 1) snprintf(line, sizeof line, "-%llu.%03llu", mant % 10000, mant % 1000);
        else if (kind == 2) snprintf(line, sizeof line, "%llue%d", mant, ex);
        else snprintf(line, sizeof line, "0.%016llu", mant);
        want[i] = strtod(line, NULL);
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s 0\n", line);
    }
    oig_data *d; oig_error e;
    ck_assert_int_eq(oig_data_parse(buf, off, NULL, &d, &e), OIG_OK);
    ck_assert_uint_eq(d->nrows, 2000);
    for (int i = 0; i < 2000; i++) ck_assert(memcmp(&d->x[i], &want[i], sizeof(double)) == 0);
    oig_data_free(d);
}
END_TEST

START_TEST(test_non_numeric_cell_reports_line_column_and_name) {
    oig_data *d = (oig_data *)1; oig_error e;
    ck_assert_int_eq(parse("a,b,y\n1,2,3\n4,abc,6\n", NULL, &d, &e), OIG_EPARSE);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(e.line, 3);
    ck_assert_int_eq(e.column, 2);
    ck_assert_str_eq(e.field, "b");
    ck_assert_ptr_nonnull(strstr(e.message, "abc"));
}
END_TEST

START_TEST(test_empty_cell_rejected) {
    oig_data *d; oig_error e;
    ck_assert_int_eq(parse("a,b,y\n1,,3\n", NULL, &d, &e), OIG_EPARSE);
    ck_assert_int_eq(e.line, 2);
    ck_assert_int_eq(e.column, 2);
    ck_assert_ptr_nonnull(strstr(e.message, "empty"));
}
END_TEST

START_TEST(test_nan_cell_rejected) {
    const char *bad[] = { "nan", "NaN", "-nan", "inf", "-Inf", "infinity", "INFINITY" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char s[64];
        snprintf(s, sizeof s, "a,y\n1,2\n%s,3\n", bad[i]);
        oig_data *d = (oig_data *)1; oig_error e;
        ck_assert_int_eq(parse(s, NULL, &d, &e), OIG_EPARSE);
        ck_assert_ptr_null(d);
        ck_assert_int_eq(e.line, 3);
        ck_assert_int_eq(e.column, 1);
        ck_assert_ptr_nonnull(strstr(e.message, "NaN or Inf"));
    }
}
END_TEST

START_TEST(test_overflowing_value_rejected) {
    oig_data *d; oig_error e;
    ck_assert_int_eq(parse("a y\n1 1e999\n", NULL, &d, &e), OIG_EPARSE);
    ck_assert_int_eq(e.line, 2);
    ck_assert_int_eq(e.column, 2);
    ck_assert_ptr_nonnull(strstr(e.message, "out of range"));
    ck_assert_int_eq(parse("a y\n1 -1e400\n", NULL, &d, &e), OIG_EPARSE);
}
END_TEST

START_TEST(test_overlong_token_rejected) {
    char s[400];
    int k = snprintf(s, sizeof s, "a y\n1 1.");
    for (int i = 0; i < 200; i++) s[k++] = '5';
    strcpy(s + k, "\n");
    oig_data *d; oig_error e;
    ck_assert_int_eq(parse(s, NULL, &d, &e), OIG_EPARSE);
    ck_assert_int_eq(e.line, 2);
    ck_assert_int_eq(e.column, 2);
    ck_assert_ptr_nonnull(strstr(e.message, "longer than"));
}
END_TEST

START_TEST(test_unused_column_may_be_non_numeric) {
    oig_data *d; oig_error e;
    oig_parse_opts o; oig_parse_opts_init(&o);
    int in[] = { 0, 1 }, tg[] = { 2 };
    o.input_columns = in; o.ninput_columns = 2;
    o.target_columns = tg; o.ntarget_columns = 1;
    o.header = 0;
    ck_assert_int_eq(parse("1 2 3 junk\n4 5 6 nan\n", &o, &d, &e), OIG_OK);
    ck_assert_uint_eq(d->nrows, 2);
    ck_assert_int_eq(d->n, 2);
    ck_assert(d->t[1] == 6);
    oig_data_free(d);
}
END_TEST

/* ---- shape errors and limits ---- */

START_TEST(test_ragged_row_reports_line_and_column) {
    oig_data *d = (oig_data *)1; oig_error e;
    ck_assert_int_eq(parse("a,b,y\n1,2,3\n4,5\n", NULL, &d, &e), OIG_EPARSE);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(e.line, 3);
    ck_assert_int_eq(e.column, 3);
    ck_assert_ptr_nonnull(strstr(e.message, "expected 3"));
    ck_assert_ptr_nonnull(strstr(e.message, "found 2"));
    ck_assert_int_eq(parse("1 2 3\n4 5 6\n\n7 8 9 10\n", NULL, &d, &e), OIG_EPARSE);
    ck_assert_int_eq(e.line, 4);
    ck_assert_int_eq(e.column, 4);
}
END_TEST

START_TEST(test_empty_input_rejected) {
    oig_data *d = (oig_data *)1; oig_error e;
    ck_assert_int_eq(oig_data_parse("", 0, NULL, &d, &e), OIG_EPARSE);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(e.line, 1);
    ck_assert_int_eq(parse(" \n\t\n", NULL, &d, &e), OIG_EPARSE);
    ck_assert_int_eq(parse("a,b,y\n", NULL, &d, &e), OIG_EPARSE);
    ck_assert_int_eq(e.line, 2);
    ck_assert_ptr_nonnull(strstr(e.message, "no data rows"));
}
END_TEST

START_TEST(test_too_many_columns_limited) {
    oig_data *d = (oig_data *)1; oig_error e;
    oig_parse_opts o; oig_parse_opts_init(&o);
    o.max_columns = 3;
    ck_assert_int_eq(parse("1 2 3\n4 5 6\n", &o, &d, &e), OIG_OK);
    oig_data_free(d);
    ck_assert_int_eq(parse("1 2 3 4\n5 6 7 8\n", &o, &d, &e), OIG_ELIMIT);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(e.line, 1);
    ck_assert_int_eq(e.column, 4);
}
END_TEST

START_TEST(test_too_many_cells_limited) {
    oig_data *d = (oig_data *)1; oig_error e;
    oig_parse_opts o; oig_parse_opts_init(&o);
    o.max_cells = 6;
    ck_assert_int_eq(parse("a,y\n1,2\n3,4\n5,6\n", &o, &d, &e), OIG_OK);
    oig_data_free(d);
    ck_assert_int_eq(parse("a,y\n1,2\n3,4\n5,6\n7,8\n", &o, &d, &e), OIG_ELIMIT);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(e.line, 5);
}
END_TEST

START_TEST(test_error_leaves_no_allocation) {
    /* failures at each stage: header, options, pass 1, pass 2, class coding; the sanitizer's
     * leak check fails the suite if anything stays allocated */
    const char *bufs[] = { "a,b,y\n1,2,3\n4,5,x\n", "a,b,y\n1,2,3\n4,5\n", "a,\"b\n",
                           "a,cls\n1,k\n2,k\n" };
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        oig_parse_opts o = opts_task(i == 3 ? OIG_CLASSIFICATION : OIG_REGRESSION);
        oig_data *d = (oig_data *)1; oig_error e;
        ck_assert_int_ne(parse(bufs[i], &o, &d, &e), OIG_OK);
        ck_assert_ptr_null(d);
    }
    oig_parse_opts o; oig_parse_opts_init(&o);
    o.targets = "nope";
    oig_data *d = (oig_data *)1; oig_error e;
    ck_assert_int_eq(parse("a,y\n1,2\n", &o, &d, &e), OIG_EINVAL);
    ck_assert_ptr_null(d);
}
END_TEST

START_TEST(test_too_many_classes_limited) {
    oig_data *d = (oig_data *)1; oig_error e;
    oig_parse_opts o = opts_task(OIG_CLASSIFICATION);
    o.max_columns = 3;
    ck_assert_int_eq(parse("a,c\n1,x\n2,y\n3,z\n", &o, &d, &e), OIG_OK);
    oig_data_free(d);
    ck_assert_int_eq(parse("a,c\n1,x\n2,y\n3,z\n4,w\n", &o, &d, &e), OIG_ELIMIT);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(e.line, 5);
    ck_assert_int_eq(e.column, 2);
}
END_TEST

START_TEST(test_class_coded_cells_count_against_max_cells) {
    /* 4 rows x 2 file columns = 8 cells, but 4 rows x (1 input + 4 classes) = 20 */
    oig_data *d = (oig_data *)1; oig_error e;
    oig_parse_opts o = opts_task(OIG_CLASSIFICATION);
    o.max_cells = 10;
    ck_assert_int_eq(parse("a,c\n1,x\n2,y\n3,z\n4,w\n", &o, &d, &e), OIG_ELIMIT);
    ck_assert_ptr_null(d);
}
END_TEST

START_TEST(test_utf8_bom_ignored) {
    oig_data *d; oig_error e;
    ck_assert_int_eq(parse("\xEF\xBB\xBF" "a,y\n1,2\n", NULL, &d, &e), OIG_OK);
    ck_assert_str_eq(d->input_names[0], "a");
    oig_data_free(d);
}
END_TEST

START_TEST(test_nul_byte_in_class_label_rejected) {
    static const char s[] = "a,c\n1,x\n2,y\0z\n";
    oig_data *d = (oig_data *)1; oig_error e;
    oig_parse_opts o = opts_task(OIG_CLASSIFICATION);
    ck_assert_int_eq(oig_data_parse(s, sizeof s - 1, &o, &d, &e), OIG_EPARSE);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(e.line, 3);
    ck_assert_int_eq(e.column, 2);
}
END_TEST

/* ---- column selection ---- */

START_TEST(test_target_precedence_columns_names_outputs) {
    oig_data *d; oig_error e;
    const char *s = "a,b,c,d\n1,2,3,4\n";
    oig_parse_opts o; oig_parse_opts_init(&o);
    int tg[] = { 0 };
    o.target_columns = tg; o.ntarget_columns = 1;
    o.targets = "b";
    o.outputs = 2;
    ck_assert_int_eq(parse(s, &o, &d, &e), OIG_OK);
    ck_assert_str_eq(d->target_names[0], "a");
    ck_assert_int_eq(d->n, 3);
    oig_data_free(d);
    o.ntarget_columns = 0;
    ck_assert_int_eq(parse(s, &o, &d, &e), OIG_OK);
    ck_assert_str_eq(d->target_names[0], "b");
    ck_assert(d->t[0] == 2 && d->x[0] == 1 && d->x[1] == 3 && d->x[2] == 4);
    oig_data_free(d);
    o.targets = NULL;
    ck_assert_int_eq(parse(s, &o, &d, &e), OIG_OK);
    ck_assert_int_eq(d->m, 2);
    ck_assert_int_eq(d->ntarget_names, 2);
    ck_assert_str_eq(d->target_names[0], "c");
    ck_assert_str_eq(d->target_names[1], "d");
    ck_assert(d->t[0] == 3 && d->t[1] == 4);
    oig_data_free(d);
}
END_TEST

START_TEST(test_target_names_list_in_given_order) {
    oig_data *d; oig_error e;
    oig_parse_opts o; oig_parse_opts_init(&o);
    o.targets = " d , a ";
    ck_assert_int_eq(parse("a,b,c,d\n1,2,3,4\n", &o, &d, &e), OIG_OK);
    ck_assert_int_eq(d->m, 2);
    ck_assert(d->t[0] == 4 && d->t[1] == 1);
    ck_assert_str_eq(d->target_names[0], "d");
    oig_data_free(d);
}
END_TEST

START_TEST(test_unknown_target_name_rejected) {
    oig_data *d; oig_error e;
    oig_parse_opts o; oig_parse_opts_init(&o);
    o.targets = "a,zz";
    ck_assert_int_eq(parse("a,b,c\n1,2,3\n", &o, &d, &e), OIG_EINVAL);
    ck_assert_str_eq(e.field, "targets");
    ck_assert_ptr_nonnull(strstr(e.message, "zz"));
}
END_TEST

START_TEST(test_target_index_out_of_range_rejected) {
    oig_data *d; oig_error e;
    oig_parse_opts o; oig_parse_opts_init(&o);
    int tg[] = { 3 };
    o.target_columns = tg; o.ntarget_columns = 1;
    ck_assert_int_eq(parse("a,b,c\n1,2,3\n", &o, &d, &e), OIG_EINVAL);
    ck_assert_str_eq(e.field, "target_columns");
    tg[0] = -1;
    ck_assert_int_eq(parse("a,b,c\n1,2,3\n", &o, &d, &e), OIG_EINVAL);
}
END_TEST

START_TEST(test_no_input_column_rejected) {
    oig_data *d; oig_error e;
    ck_assert_int_eq(parse("y\n1\n2\n", NULL, &d, &e), OIG_EINVAL);
    oig_parse_opts o; oig_parse_opts_init(&o);
    o.outputs = 3;
    ck_assert_int_eq(parse("a,b,c\n1,2,3\n", &o, &d, &e), OIG_EINVAL);
    ck_assert_str_eq(e.field, "outputs");
}
END_TEST

START_TEST(test_overlapping_input_and_target_rejected) {
    oig_data *d; oig_error e;
    oig_parse_opts o; oig_parse_opts_init(&o);
    int in[] = { 0, 2 }, tg[] = { 2 }, dup[] = { 0, 0 };
    o.input_columns = in; o.ninput_columns = 2;
    o.target_columns = tg; o.ntarget_columns = 1;
    ck_assert_int_eq(parse("a,b,c\n1,2,3\n", &o, &d, &e), OIG_EINVAL);
    ck_assert_str_eq(e.field, "input_columns");
    o.input_columns = dup;
    ck_assert_int_eq(parse("a,b,c\n1,2,3\n", &o, &d, &e), OIG_EINVAL);
    int tdup[] = { 1, 1 };
    o.ninput_columns = 0;
    o.target_columns = tdup; o.ntarget_columns = 2;
    ck_assert_int_eq(parse("a,b,c\n1,2,3\n", &o, &d, &e), OIG_EINVAL);
}
END_TEST

START_TEST(test_input_columns_keep_given_order) {
    oig_data *d; oig_error e;
    oig_parse_opts o; oig_parse_opts_init(&o);
    int in[] = { 2, 0 };
    o.input_columns = in; o.ninput_columns = 2;
    ck_assert_int_eq(parse("a,b,c,y\n1,2,3,4\n", &o, &d, &e), OIG_OK);
    ck_assert_int_eq(d->n, 2);
    ck_assert(d->x[0] == 3 && d->x[1] == 1);
    ck_assert_str_eq(d->input_names[0], "c");
    oig_data_free(d);
}
END_TEST

/* ---- classification ---- */

START_TEST(test_classification_coding_plus_minus_one) {
    oig_data *d; oig_error e;
    oig_parse_opts o = opts_task(OIG_CLASSIFICATION);
    ck_assert_int_eq(parse("a,kind\n1,cat\n2,dog\n3,ant\n4,dog\n", &o, &d, &e), OIG_OK);
    ck_assert_int_eq(d->task, OIG_CLASSIFICATION);
    ck_assert_int_eq(d->nclasses, 3);
    ck_assert_int_eq(d->m, 3);
    ck_assert_str_eq(d->labels[0], "ant");
    ck_assert_str_eq(d->labels[1], "cat");
    ck_assert_str_eq(d->labels[2], "dog");
    int want[] = { 1, 2, 0, 2 };
    for (int p = 0; p < 4; p++) {
        ck_assert_int_eq(d->cls[p], want[p]);
        for (int i = 0; i < 3; i++) ck_assert(d->t[p * 3 + i] == (i == want[p] ? 1.0 : -1.0));
    }
    ck_assert_int_eq(d->ntarget_names, 1);
    ck_assert_str_eq(d->target_names[0], "kind");
    oig_data_free(d);
}
END_TEST

START_TEST(test_labels_sorted_numerically) {
    oig_data *d; oig_error e;
    oig_parse_opts o = opts_task(OIG_CLASSIFICATION);
    ck_assert_int_eq(parse("1 10\n2 9\n3 1\n4 -2\n5 9\n", &o, &d, &e), OIG_OK);
    ck_assert_int_eq(d->nclasses, 4);
    ck_assert_str_eq(d->labels[0], "-2");
    ck_assert_str_eq(d->labels[1], "1");
    ck_assert_str_eq(d->labels[2], "9");
    ck_assert_str_eq(d->labels[3], "10");
    ck_assert_int_eq(d->cls[0], 3);
    ck_assert_int_eq(d->cls[4], 2);
    oig_data_free(d);
}
END_TEST

START_TEST(test_labels_sorted_bytewise_when_not_all_numbers) {
    oig_data *d; oig_error e;
    oig_parse_opts o = opts_task(OIG_CLASSIFICATION);
    ck_assert_int_eq(parse("a,c\n1,10\n2,9\n3,b\n", &o, &d, &e), OIG_OK);
    ck_assert_str_eq(d->labels[0], "10");
    ck_assert_str_eq(d->labels[1], "9");
    ck_assert_str_eq(d->labels[2], "b");
    oig_data_free(d);
}
END_TEST

START_TEST(test_classification_rejects_several_targets) {
    oig_data *d; oig_error e;
    oig_parse_opts o = opts_task(OIG_CLASSIFICATION);
    o.outputs = 2;
    ck_assert_int_eq(parse("a,b,c\n1,2,3\n", &o, &d, &e), OIG_EINVAL);
    ck_assert_ptr_nonnull(strstr(e.message, "exactly one"));
}
END_TEST

START_TEST(test_classification_rejects_single_class) {
    oig_data *d = (oig_data *)1; oig_error e;
    oig_parse_opts o = opts_task(OIG_CLASSIFICATION);
    ck_assert_int_eq(parse("a,cls\n1,x\n2,x\n", &o, &d, &e), OIG_EPARSE);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(e.column, 2);
    ck_assert_str_eq(e.field, "cls");
    ck_assert_ptr_nonnull(strstr(e.message, "one class"));
}
END_TEST

START_TEST(test_classification_inputs_still_numeric) {
    oig_data *d; oig_error e;
    oig_parse_opts o = opts_task(OIG_CLASSIFICATION);
    ck_assert_int_eq(parse("a,cls\n1,x\nq,y\n", &o, &d, &e), OIG_EPARSE);
    ck_assert_int_eq(e.line, 3);
    ck_assert_int_eq(e.column, 1);
}
END_TEST

/* ---- rows, splits, index lists ---- */

static oig_data *ramp(int nrows, int classify) {
    char *buf = malloc((size_t)nrows * 32 + 16);
    size_t off = (size_t)sprintf(buf, "x,y\n");
    for (int p = 0; p < nrows; p++) off += (size_t)sprintf(buf + off, "%d,%d\n", p, p % 3);
    oig_parse_opts o = opts_task(classify ? OIG_CLASSIFICATION : OIG_REGRESSION);
    oig_data *d = NULL; oig_error e;
    ck_assert_int_eq(oig_data_parse(buf, off, &o, &d, &e), OIG_OK);
    free(buf);
    return d;
}

START_TEST(test_select_rows_copies_rows_classes_and_names) {
    oig_data *d = ramp(10, 1), *s;
    size_t idx[] = { 7, 2, 7 };
    ck_assert_int_eq(oig_data_select_rows(d, idx, 3, &s), OIG_OK);
    ck_assert_uint_eq(s->nrows, 3);
    ck_assert(s->x[0] == 7 && s->x[1] == 2 && s->x[2] == 7);
    ck_assert_int_eq(s->cls[0], 1);
    ck_assert_int_eq(s->cls[1], 2);
    ck_assert(s->t[0 * 3 + 1] == 1.0 && s->t[0 * 3 + 0] == -1.0);
    ck_assert_int_eq(s->nclasses, 3);
    ck_assert_str_eq(s->labels[2], "2");
    ck_assert_str_eq(s->input_names[0], "x");
    ck_assert_str_eq(s->target_names[0], "y");
    ck_assert_ptr_ne(s->labels, d->labels);
    size_t bad[] = { 10 };
    oig_data *z = (oig_data *)1;
    ck_assert_int_eq(oig_data_select_rows(d, bad, 1, &z), OIG_EINVAL);
    ck_assert_ptr_null(z);
    oig_data_free(s);
    oig_data_free(d);
}
END_TEST

START_TEST(test_split_is_deterministic_and_disjoint) {
    oig_data *d = ramp(101, 0), *tr1, *va1, *tr2, *va2, *tr3, *va3;
    ck_assert_int_eq(oig_data_split(d, 0.3, 42, &tr1, &va1), OIG_OK);
    ck_assert_int_eq(oig_data_split(d, 0.3, 42, &tr2, &va2), OIG_OK);
    ck_assert_int_eq(oig_data_split(d, 0.3, 43, &tr3, &va3), OIG_OK);
    ck_assert_uint_eq(va1->nrows, 30);             /* round(0.3 * 101) */
    ck_assert_uint_eq(tr1->nrows, 71);
    ck_assert_mem_eq(va1->x, va2->x, 30 * sizeof(double));
    ck_assert_mem_eq(tr1->x, tr2->x, 71 * sizeof(double));
    ck_assert(memcmp(va1->x, va3->x, 30 * sizeof(double)) != 0);
    int seen[101] = { 0 };
    for (size_t i = 0; i < tr1->nrows; i++) seen[(int)tr1->x[i]]++;
    for (size_t i = 0; i < va1->nrows; i++) seen[(int)va1->x[i]]++;
    for (int p = 0; p < 101; p++) ck_assert_int_eq(seen[p], 1);
    for (size_t i = 1; i < va1->nrows; i++) ck_assert(va1->x[i - 1] < va1->x[i]);   /* original order */
    for (size_t i = 1; i < tr1->nrows; i++) ck_assert(tr1->x[i - 1] < tr1->x[i]);
    oig_data_free(tr1); oig_data_free(va1); oig_data_free(tr2); oig_data_free(va2);
    oig_data_free(tr3); oig_data_free(va3);
    oig_data_free(d);
}
END_TEST

START_TEST(test_split_zero_fraction_gives_no_validation) {
    oig_data *d = ramp(5, 0), *tr, *va = (oig_data *)1;
    ck_assert_int_eq(oig_data_split(d, 0.0, 1, &tr, &va), OIG_OK);
    ck_assert_ptr_null(va);
    ck_assert_uint_eq(tr->nrows, 5);
    oig_data_free(tr);
    oig_data_free(d);
}
END_TEST

START_TEST(test_split_rejects_fraction_leaving_no_training_rows) {
    oig_data *d = ramp(4, 0), *tr = (oig_data *)1, *va = (oig_data *)1;
    ck_assert_int_eq(oig_data_split(d, 0.9, 1, &tr, &va), OIG_EINVAL);   /* round(3.6) = 4 */
    ck_assert_ptr_null(tr);
    ck_assert_ptr_null(va);
    ck_assert_int_eq(oig_data_split(d, 1.0, 1, &tr, &va), OIG_EINVAL);
    ck_assert_int_eq(oig_data_split(d, -0.1, 1, &tr, &va), OIG_EINVAL);
    ck_assert_int_eq(oig_data_split(d, NAN, 1, &tr, &va), OIG_EINVAL);
    oig_data_free(d);
}
END_TEST

START_TEST(test_index_list_parses_separators) {
    size_t *idx, n; oig_error e;
    const char *s = "3\n0, 5\t7\r\n\n 1,2\n";
    ck_assert_int_eq(oig_parse_index_list(s, strlen(s), 8, &idx, &n, &e), OIG_OK);
    ck_assert_uint_eq(n, 6);
    size_t want[] = { 3, 0, 5, 7, 1, 2 };
    for (size_t i = 0; i < n; i++) ck_assert_uint_eq(idx[i], want[i]);
    free(idx);
}
END_TEST

START_TEST(test_index_list_rejects_out_of_range) {
    size_t *idx = (size_t *)1, n; oig_error e;
    const char *s = "0\n1\n2 8\n";
    ck_assert_int_eq(oig_parse_index_list(s, strlen(s), 8, &idx, &n, &e), OIG_EPARSE);
    ck_assert_ptr_null(idx);
    ck_assert_int_eq(e.line, 3);
    ck_assert_int_eq(e.column, 2);
    ck_assert_ptr_nonnull(strstr(e.message, "out of range"));
    s = "99999999999999999999999999\n";
    ck_assert_int_eq(oig_parse_index_list(s, strlen(s), 8, &idx, &n, &e), OIG_EPARSE);
}
END_TEST

START_TEST(test_index_list_rejects_junk_and_duplicates) {
    size_t *idx, n; oig_error e;
    const char *s = "0\n1.0\n";
    ck_assert_int_eq(oig_parse_index_list(s, strlen(s), 8, &idx, &n, &e), OIG_EPARSE);
    ck_assert_int_eq(e.line, 2);
    ck_assert_int_eq(e.column, 1);
    s = "-1\n";
    ck_assert_int_eq(oig_parse_index_list(s, strlen(s), 8, &idx, &n, &e), OIG_EPARSE);
    s = "4\n2\n4\n";
    ck_assert_int_eq(oig_parse_index_list(s, strlen(s), 8, &idx, &n, &e), OIG_EPARSE);
    ck_assert_int_eq(e.line, 3);
    ck_assert_ptr_nonnull(strstr(e.message, "duplicate"));
    ck_assert_int_eq(oig_parse_index_list("\n \n", 3, 8, &idx, &n, &e), OIG_EPARSE);
}
END_TEST

/* ---- options ---- */

START_TEST(test_opts_init_defaults) {
    oig_parse_opts o;
    memset(&o, 0x5a, sizeof o);
    oig_parse_opts_init(&o);
    ck_assert_int_eq(o.format, OIG_FORMAT_AUTO);
    ck_assert_int_eq(o.task, OIG_REGRESSION);
    ck_assert_int_eq(o.header, -1);
    ck_assert_int_eq(o.max_columns, OIG_DEFAULT_MAX_COLUMNS);
    ck_assert_uint_eq(o.max_cells, 0);
    ck_assert_ptr_null(o.targets);
    ck_assert_int_eq(o.outputs, 0);
    ck_assert_int_eq(o.ntarget_columns, 0);
    ck_assert_int_eq(o.ninput_columns, 0);
}
END_TEST

/* In place, take_rows leaves exactly what select_rows copies, for a shuffled subset. */
START_TEST(test_take_rows_in_place_equals_select_rows) {
    for (int classify = 0; classify < 2; classify++) {
        oig_data *d = ramp(50, classify), *copy;
        size_t idx[20];
        for (int i = 0; i < 20; i++) idx[i] = (size_t)((i * 37 + 11) % 50);   /* distinct, shuffled */
        ck_assert_int_eq(oig_data_select_rows(d, idx, 20, &copy), OIG_OK);
        ck_assert_int_eq(oig_data_take_rows(d, idx, 20), OIG_OK);
        ck_assert_uint_eq(d->nrows, 20);
        ck_assert_mem_eq(d->x, copy->x, 20 * sizeof(double) * (size_t)d->n);
        ck_assert_mem_eq(d->t, copy->t, 20 * sizeof(double) * (size_t)d->m);
        if (classify) ck_assert_mem_eq(d->cls, copy->cls, 20 * sizeof(int));
        oig_data_free(copy);
        oig_data_free(d);
    }
}
END_TEST

START_TEST(test_take_rows_rejects_duplicates_and_leaves_data_unchanged) {
    oig_data *d = ramp(10, 0);
    double before[10];
    memcpy(before, d->x, sizeof before);
    size_t dup[] = { 3, 1, 3 }, out[] = { 2, 10 };
    ck_assert_int_eq(oig_data_take_rows(d, dup, 3), OIG_EINVAL);
    ck_assert_int_eq(oig_data_take_rows(d, out, 2), OIG_EINVAL);
    ck_assert_uint_eq(d->nrows, 10);
    ck_assert_mem_eq(d->x, before, sizeof before);
    oig_data_free(d);
}
END_TEST

START_TEST(test_split_inplace_matches_split) {
    oig_data *d = ramp(101, 1), *tr, *va, *va2;
    ck_assert_int_eq(oig_data_split(d, 0.3, 42, &tr, &va), OIG_OK);
    ck_assert_int_eq(oig_data_split_inplace(d, 0.3, 42, &va2), OIG_OK);
    ck_assert_uint_eq(d->nrows, tr->nrows);
    ck_assert_uint_eq(va2->nrows, va->nrows);
    ck_assert_mem_eq(d->x, tr->x, tr->nrows * sizeof(double));
    ck_assert_mem_eq(d->cls, tr->cls, tr->nrows * sizeof(int));
    ck_assert_mem_eq(va2->x, va->x, va->nrows * sizeof(double));
    ck_assert_mem_eq(va2->t, va->t, va->nrows * sizeof(double) * (size_t)va->m);
    oig_data_free(tr); oig_data_free(va); oig_data_free(va2); oig_data_free(d);
}
END_TEST

typedef struct { size_t calls, last_end, total, restarts; const char *base; } release_log;

static void record_release(const char *from, size_t len, void *ctx) {
    release_log *r = ctx;
    size_t start = (size_t)(from - r->base);
    if (r->calls > 0 && start < r->last_end) r->restarts++;     /* the second pass begins */
    r->last_end = start + len;
    r->total += len;
    r->calls++;
}

/* The release callback walks forward through the buffer in each of the two passes and changes
 * nothing in the result. */
START_TEST(test_parse_release_reports_consumed_stretches) {
    size_t nrows = 600000, cap = nrows * 40 + 64, off = 0;
    char *buf = malloc(cap);
    off += (size_t)sprintf(buf, "a,b,c\n");
    for (size_t p = 0; p < nrows; p++) off += (size_t)sprintf(buf + off, "%zu.25,%zu,-%zu.5\n", p, p % 97, p % 13);
    oig_parse_opts o;
    oig_parse_opts_init(&o);
    oig_data *plain = NULL, *with = NULL;
    oig_error e;
    ck_assert_int_eq(oig_data_parse(buf, off, &o, &plain, &e), OIG_OK);
    release_log r = { 0, 0, 0, 0, buf };
    o.release = record_release;
    o.release_ctx = &r;
    ck_assert_int_eq(oig_data_parse(buf, off, &o, &with, &e), OIG_OK);
    ck_assert_uint_ge(r.calls, 2);                  /* > 8 MiB: at least one per pass */
    ck_assert_uint_eq(r.restarts, 1);               /* forward in each pass, back once */
    ck_assert_uint_le(r.last_end, off);
    ck_assert_uint_ge(r.total, off);                /* both passes together cover most of it */
    ck_assert_mem_eq(plain->x, with->x, nrows * 2 * sizeof(double));
    ck_assert_mem_eq(plain->t, with->t, nrows * sizeof(double));
    oig_data_free(plain); oig_data_free(with); free(buf);
}
END_TEST

static Suite *data_suite(void) {
    Suite *s = suite_create("engine_data");
    TCase *c = tcase_create("csv");
    tcase_add_test(c, test_csv_header_and_default_target_last_column);
    tcase_add_test(c, test_csv_quoted_fields_parse);
    tcase_add_test(c, test_csv_quoted_field_may_span_lines);
    tcase_add_test(c, test_csv_crlf_line_endings);
    tcase_add_test(c, test_csv_without_final_newline);
    tcase_add_test(c, test_csv_header_zero_names_columns);
    tcase_add_test(c, test_unterminated_quote_rejected);
    tcase_add_test(c, test_junk_after_closing_quote_rejected);
    suite_add_tcase(s, c);
    c = tcase_create("ws");
    tcase_add_test(c, test_ws_uci_traits_load);
    tcase_add_test(c, test_ws_auto_header_detected);
    tcase_add_test(c, test_ws_forced_no_header_rejects_names);
    tcase_add_test(c, test_auto_format_guesses_by_comma);
    suite_add_tcase(s, c);
    c = tcase_create("numbers");
    tcase_add_test(c, test_numbers_convert_exactly);
    tcase_add_test(c, test_fast_number_path_matches_strtod);
    tcase_add_test(c, test_non_numeric_cell_reports_line_column_and_name);
    tcase_add_test(c, test_empty_cell_rejected);
    tcase_add_test(c, test_nan_cell_rejected);
    tcase_add_test(c, test_overflowing_value_rejected);
    tcase_add_test(c, test_overlong_token_rejected);
    tcase_add_test(c, test_unused_column_may_be_non_numeric);
    suite_add_tcase(s, c);
    c = tcase_create("limits");
    tcase_add_test(c, test_ragged_row_reports_line_and_column);
    tcase_add_test(c, test_empty_input_rejected);
    tcase_add_test(c, test_too_many_columns_limited);
    tcase_add_test(c, test_too_many_cells_limited);
    tcase_add_test(c, test_error_leaves_no_allocation);
    tcase_add_test(c, test_too_many_classes_limited);
    tcase_add_test(c, test_class_coded_cells_count_against_max_cells);
    tcase_add_test(c, test_utf8_bom_ignored);
    tcase_add_test(c, test_nul_byte_in_class_label_rejected);
    suite_add_tcase(s, c);
    c = tcase_create("columns");
    tcase_add_test(c, test_target_precedence_columns_names_outputs);
    tcase_add_test(c, test_target_names_list_in_given_order);
    tcase_add_test(c, test_unknown_target_name_rejected);
    tcase_add_test(c, test_target_index_out_of_range_rejected);
    tcase_add_test(c, test_no_input_column_rejected);
    tcase_add_test(c, test_overlapping_input_and_target_rejected);
    tcase_add_test(c, test_input_columns_keep_given_order);
    tcase_add_test(c, test_opts_init_defaults);
    suite_add_tcase(s, c);
    c = tcase_create("classification");
    tcase_add_test(c, test_classification_coding_plus_minus_one);
    tcase_add_test(c, test_labels_sorted_numerically);
    tcase_add_test(c, test_labels_sorted_bytewise_when_not_all_numbers);
    tcase_add_test(c, test_classification_rejects_several_targets);
    tcase_add_test(c, test_classification_rejects_single_class);
    tcase_add_test(c, test_classification_inputs_still_numeric);
    suite_add_tcase(s, c);
    c = tcase_create("rows");
    tcase_add_test(c, test_select_rows_copies_rows_classes_and_names);
    tcase_add_test(c, test_split_is_deterministic_and_disjoint);
    tcase_add_test(c, test_split_zero_fraction_gives_no_validation);
    tcase_add_test(c, test_split_rejects_fraction_leaving_no_training_rows);
    tcase_add_test(c, test_index_list_parses_separators);
    tcase_add_test(c, test_index_list_rejects_out_of_range);
    tcase_add_test(c, test_index_list_rejects_junk_and_duplicates);
    tcase_add_test(c, test_take_rows_in_place_equals_select_rows);
    tcase_add_test(c, test_take_rows_rejects_duplicates_and_leaves_data_unchanged);
    tcase_add_test(c, test_split_inplace_matches_split);
    tcase_add_test(c, test_parse_release_reports_consumed_stretches);
    suite_add_tcase(s, c);
    return s;
}

int main(void) {
    return suite_run(data_suite(), CK_FORK_GETENV);
}

/* test_api_predict_body.c -- the fast reading of predict bodies (api/predict_body.c): every
 * number it reads is bit for bit what strtod gives, across the fast path and the fallback, and
 * every body it must not read (other shapes, malformed text, lengths, non-finite numbers, exits
 * out of range) is declined for the general path. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "support_suite.h"

static int read_body(const char *body, size_t n, int exits, double **x, size_t *rows, int *exit_k) {
    return api_predict_body_read(body, strlen(body), n, exits, x, rows, exit_k);
}

static int same_bits(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

/* A seeded generator (splitmix64), so the numbers are the same on every run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t next_u64(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Numbers written the ways clients write them: shortest and full precision, fixed, exponents
 * large and small, integers, long digit strings; each must read as strtod reads its text. */
START_TEST(test_numbers_read_as_strtod_reads_them) {
    static const char *fixed[] = {"0", "-0", "1", "-1", "0.1", "0.30000000000000004", "1e22", "1e23", "9007199254740993",
                                  "123456789012345678901234567890", "1.7976931348623157e308", "4.9e-324",
                                  "2.2250738585072014e-308", "0.000001", "1E-7", "1e+5", "-12.5e-3",
                                  "0.1000000000000000055511151231257827", "3.141592653589793238462643383279"};
    const int nfixed = (int)(sizeof fixed / sizeof fixed[0]);
    const size_t n = 8;
    char *body = malloc(1 << 20);
    char num[64];
    for (int round = 0; round < 400; round++) {
        size_t len = (size_t)snprintf(body, 64, "{\"inputs\": [");
        double want[8 * 16];
        int rows = 1 + (int)(next_u64() % 16);
        for (int r = 0; r < rows; r++) {
            len += (size_t)snprintf(body + len, 8, "%s[", r ? ", " : "");
            for (size_t k = 0; k < n; k++) {
                uint64_t u = next_u64();
                double v = ldexp((double)(u >> 11), -53) * 2 - 1;      /* in [-1, 1) */
                int scale = (int)(next_u64() % 41) - 20;
                v *= pow(10.0, scale);
                switch (next_u64() % 7) {
                case 0: snprintf(num, sizeof num, "%.17g", v); break;
                case 1: snprintf(num, sizeof num, "%.15g", v); break;
                case 2: snprintf(num, sizeof num, "%.6f", v); break;
                case 3: snprintf(num, sizeof num, "%.3e", v); break;
                case 4: snprintf(num, sizeof num, "%lld", (long long)(u % 2000000) - 1000000); break;
                case 5: snprintf(num, sizeof num, "%s", fixed[u % (uint64_t)nfixed]); break;
                default: snprintf(num, sizeof num, "%.25g", v); break;
                }
                want[(size_t)r * n + k] = strtod(num, NULL);
                len += (size_t)snprintf(body + len, 80, "%s%s", k ? "," : "", num);
            }
            len += (size_t)snprintf(body + len, 4, "]");
        }
        snprintf(body + len, 8, "]}\n");
        double *x = NULL;
        size_t got_rows = 0;
        int exit_k = -1;
        ck_assert_msg(read_body(body, n, 1, &x, &got_rows, &exit_k) == 1, "declined: %s", body);
        ck_assert_int_eq((int)got_rows, rows);
        ck_assert_int_eq(exit_k, 0);
        for (size_t i = 0; i < (size_t)rows * n; i++)
            ck_assert_msg(same_bits(x[i], want[i]), "value %zu: read %.17g, strtod %.17g in %s", i, x[i], want[i], body);
        free(x);
    }
    free(body);
}
END_TEST

START_TEST(test_exit_and_member_order_and_whitespace) {
    double *x = NULL;
    size_t rows = 0;
    int exit_k = 0;
    ck_assert_int_eq(read_body(" {\"exit\" : 2 ,\n\t\"inputs\":[ [1, 2] ,[3,4.5e0] ] } ", 2, 3, &x, &rows, &exit_k), 1);
    ck_assert_int_eq((int)rows, 2);
    ck_assert_int_eq(exit_k, 2);
    ck_assert(x[0] == 1 && x[1] == 2 && x[2] == 3 && x[3] == 4.5);
    free(x);
}
END_TEST

/* Bodies the general path must read (and answer or refuse with its own messages). */
START_TEST(test_everything_else_is_declined) {
    static const char *declined[] = {
        "",                                         /* not JSON */
        "[]",
        "{}",                                       /* no inputs */
        "{\"inputs\": []}",                         /* no rows */
        "{\"inputs\": [[1, 2, 3]]}",                /* a row of 3 for a model of 2 */
        "{\"inputs\": [[1]]}",
        "{\"inputs\": [[1, 2]], \"other\": 1}",      /* an unknown member */
        "{\"inputs\": [[1, 2]], \"inputs\": [[3, 4]]}",  /* a repeated member */
        "{\"inp\\u0075ts\": [[1, 2]]}",             /* an escaped key */
        "{\"inputs\": [[1, 2]]} x",                 /* trailing text */
        "{\"inputs\": [[1, 2]],}",
        "{\"inputs\": [[1, 2],]}",
        "{\"inputs\": [[1, \"2\"]]}",               /* a string */
        "{\"inputs\": [[1, null]]}",
        "{\"inputs\": [[1, 1e999]]}",               /* not finite */
        "{\"inputs\": [[1, -1e400]]}",
        "{\"inputs\": [[1, +2]]}",                  /* not JSON numbers */
        "{\"inputs\": [[1, .5]]}",
        "{\"inputs\": [[1, 5.]]}",
        "{\"inputs\": [[1, 0x10]]}",
        "{\"inputs\": [[1, 2e]]}",
        "{\"inputs\": [[1, NaN]]}",
        "{\"inputs\": [[1, 2]], \"exit\": 0}",      /* exits are 1..exits */
        "{\"inputs\": [[1, 2]], \"exit\": 4}",
        "{\"inputs\": [[1, 2]], \"exit\": 1.5}",
        "{\"inputs\": [[1, 2]]",                    /* cut short */
        "{\"inputs\": [[1, 2",
    };
    for (size_t i = 0; i < sizeof declined / sizeof declined[0]; i++) {
        double *x = (double *)1;
        size_t rows = 9;
        int exit_k = 9;
        ck_assert_msg(read_body(declined[i], 2, 3, &x, &rows, &exit_k) == 0, "read: %s", declined[i]);
        ck_assert_ptr_null(x);
        ck_assert_int_eq((int)rows, 0);
        ck_assert_int_eq(exit_k, 0);
    }
    /* a body that stops inside a number, not at a NUL: only len bytes are read */
    const char *text = "{\"inputs\": [[1, 23]]}";
    double *x = NULL;
    size_t rows = 0;
    int exit_k = 0;
    ck_assert_int_eq(api_predict_body_read(text, 17, 2, 1, &x, &rows, &exit_k), 0);
    ck_assert_ptr_null(x);
}
END_TEST

int main(void) {
    Suite *s = suite_create("api_predict_body");
    TCase *tc = tcase_create("read");
    tcase_add_test(tc, test_numbers_read_as_strtod_reads_them);
    tcase_add_test(tc, test_exit_and_member_order_and_whitespace);
    tcase_add_test(tc, test_everything_else_is_declined);
    suite_add_tcase(s, tc);
    return suite_run(s, CK_FORK_GETENV);
}

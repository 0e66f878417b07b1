/* test_server_suggest.c -- suggest_name and suggest_append (server/suggest.c): which misspelt
 * names find the name they meant, which find none, and that the message stays within its buffer. */
#include <check.h>
#include <string.h>

#include "suggest.h"
#include "support_suite.h"

static const char *const fields[] = {
    "dataset_id", "algorithm", "hidden_units", "max_iterations", "seed", "validation_fraction",
    "target_mse", "max_seconds", "options", "distributed", "init_model_id", "md", "sigmad",
};
#define NFIELDS (sizeof fields / sizeof fields[0])

static void assert_suggests(const char *word, const char *want) {
    const char *got = suggest_name(word, fields, NFIELDS);
    if (want == NULL) ck_assert_msg(got == NULL, "'%s' suggested '%s', expected nothing", word, got);
    else ck_assert_msg(got != NULL && strcmp(got, want) == 0, "'%s' suggested '%s', expected '%s'", word,
                       got ? got : "(nothing)", want);
}

START_TEST(test_typos_find_the_name_they_meant) {
    assert_suggests("hiden_units", "hidden_units");       /* a deletion */
    assert_suggests("hidden_unitss", "hidden_units");     /* an insertion */
    assert_suggests("sede", "seed");                      /* neighbours swapped */
    assert_suggests("sigma_d", "sigmad");
    assert_suggests("algoritm", "algorithm");
    assert_suggests("vaildation_fraction", "validation_fraction");
}
END_TEST

START_TEST(test_case_and_dashes_are_not_differences) {
    assert_suggests("Max-Iterations", "max_iterations");
    assert_suggests("SEED", "seed");
    assert_suggests("init-model-id", "init_model_id");
}
END_TEST

START_TEST(test_a_whole_part_of_a_name_finds_it) {
    assert_suggests("iterations", "max_iterations");
    assert_suggests("fraction", "validation_fraction");
    assert_suggests("units", "hidden_units");
    assert_suggests("max", NULL);                         /* parts shorter than 4 do not count */
    assert_suggests("iteration", "max_iterations");       /* one edit from a part */
    assert_suggests("secs", NULL);                        /* two edits from "seconds"' part: too far */
}
END_TEST

START_TEST(test_far_words_find_nothing) {
    assert_suggests("colour", NULL);
    assert_suggests("bogus", NULL);
    assert_suggests("learning_rate", NULL);
    assert_suggests("xy", NULL);                          /* 2 from "md": short words allow 1 */
    assert_suggests("", NULL);
    char longword[100];
    memset(longword, 'a', sizeof longword - 1);
    longword[sizeof longword - 1] = '\0';
    assert_suggests(longword, NULL);
}
END_TEST

START_TEST(test_nearest_wins_and_ties_go_to_the_first) {
    static const char *const names[] = { "abcde", NULL, "abcdf", "abcdx" };
    ck_assert_str_eq(suggest_name("abcdf", names, 4), "abcdf");   /* 0 beats the 1 of abcde */
    ck_assert_str_eq(suggest_name("abcdz", names, 4), "abcde");   /* all three at 1: the first */
    ck_assert_ptr_null(suggest_name("abcde", names, 0));
}
END_TEST

START_TEST(test_append_keeps_within_the_buffer) {
    char msg[64] = "iterations: unknown field";
    suggest_append(msg, sizeof msg, "iterations", fields, NFIELDS, "");
    ck_assert_str_eq(msg, "iterations: unknown field (did you mean 'max_iterations'?)");
    char flag[64] = "unknown option --wokers";
    static const char *const flags[] = { "listen", "workers" };
    suggest_append(flag, sizeof flag, "wokers", flags, 2, "--");
    ck_assert_str_eq(flag, "unknown option --wokers (did you mean '--workers'?)");
    char small[32] = "iterations: unknown field";
    suggest_append(small, sizeof small, "iterations", fields, NFIELDS, "");
    ck_assert_str_eq(small, "iterations: unknown field (did ");   /* cut at 31 bytes and a NUL */
    char none[64] = "colour: unknown field";
    suggest_append(none, sizeof none, "colour", fields, NFIELDS, "");
    ck_assert_str_eq(none, "colour: unknown field");
}
END_TEST

int main(void) {
    Suite *s = suite_create("server_suggest");
    TCase *tc = tcase_create("suggest");
    tcase_add_test(tc, test_typos_find_the_name_they_meant);
    tcase_add_test(tc, test_case_and_dashes_are_not_differences);
    tcase_add_test(tc, test_a_whole_part_of_a_name_finds_it);
    tcase_add_test(tc, test_far_words_find_nothing);
    tcase_add_test(tc, test_nearest_wins_and_ties_go_to_the_first);
    tcase_add_test(tc, test_append_keeps_within_the_buffer);
    suite_add_tcase(s, tc);
    return suite_run(s, CK_FORK_GETENV);
}

/* test_api_router.c -- the routing table: every documented route matches with its id, unknown
 * paths are 404, known paths with a wrong method are 405 with the right Allow list. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"
#include "support_suite.h"

static int route(const char *method, const char *path, api_match *m, char *allow) {
    return api_route(method, path, m, allow, 64);
}

START_TEST(test_every_route_matches_with_its_id) {
    static const struct { const char *method, *path; api_route_id r; const char *id; } cases[] = {
        {"GET", "/healthz", API_R_HEALTHZ, ""},
        {"GET", "/readyz", API_R_READYZ, ""},
        {"GET", "/v1/version", API_R_VERSION, ""},
        {"GET", "/v1/datasets", API_R_DATASETS, ""},
        {"POST", "/v1/datasets", API_R_DATASETS, ""},
        {"GET", "/v1/datasets/ds_1", API_R_DATASET, "ds_1"},
        {"DELETE", "/v1/datasets/ds_1", API_R_DATASET, "ds_1"},
        {"GET", "/v1/datasets/ds_1/data", API_R_DATASET_DATA, "ds_1"},
        {"GET", "/v1/jobs", API_R_JOBS, ""},
        {"POST", "/v1/jobs", API_R_JOBS, ""},
        {"GET", "/v1/jobs/job_a", API_R_JOB, "job_a"},
        {"DELETE", "/v1/jobs/job_a", API_R_JOB, "job_a"},
        {"POST", "/v1/jobs/job_a/cancel", API_R_JOB_CANCEL, "job_a"},
        {"GET", "/v1/jobs/job_a/metrics", API_R_JOB_METRICS, "job_a"},
        {"GET", "/v1/jobs/job_a/events", API_R_JOB_EVENTS, "job_a"},
        {"GET", "/v1/models", API_R_MODELS, ""},
        {"POST", "/v1/models", API_R_MODELS, ""},
        {"GET", "/v1/models/mdl_x", API_R_MODEL, "mdl_x"},
        {"DELETE", "/v1/models/mdl_x", API_R_MODEL, "mdl_x"},
        {"POST", "/v1/models/mdl_x/predict", API_R_MODEL_PREDICT, "mdl_x"},
        {"POST", "/v1/models/mdl_x/evaluate", API_R_MODEL_EVALUATE, "mdl_x"},
        {"POST", "/v1/models/prod/predict", API_R_MODEL_PREDICT, "prod"},
        {"GET", "/v1/aliases", API_R_ALIASES, ""},
        {"GET", "/v1/aliases/prod", API_R_ALIAS, "prod"},
        {"PUT", "/v1/aliases/prod", API_R_ALIAS, "prod"},
        {"DELETE", "/v1/aliases/prod", API_R_ALIAS, "prod"},
        {"HEAD", "/v1/jobs/job_a", API_R_JOB, "job_a"},
        {"GET", "/", API_R_DASHBOARD, ""},
        {"GET", "/metrics", API_R_METRICS, ""},
        {"GET", "/openapi.json", API_R_OPENAPI, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        api_match m;
        char allow[64];
        ck_assert_int_eq(route(cases[i].method, cases[i].path, &m, allow), 0);
        ck_assert_int_eq(m.route, cases[i].r);
        ck_assert_str_eq(m.id, cases[i].id);
    }
}
END_TEST

START_TEST(test_unknown_paths_are_404) {
    static const char *paths[] = {"//", "/v1", "/v1/", "/v1/datasets/", "/v1/datasets/a/b", "/v1/jobs//cancel",
                                  "/v1/jobs/a/cancel/x", "/v2/jobs", "/healthz/", "/v1/models/a/predictx",
                                  "/v1/datasets/a%2Fb", "/v1/jobs/has space"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        api_match m;
        char allow[64];
        ck_assert_msg(route("GET", paths[i], &m, allow) == 404, "%s", paths[i]);
    }
}
END_TEST

START_TEST(test_an_overlong_id_is_404) {
    char path[200];
    memset(path, 0, sizeof path);
    strcpy(path, "/v1/jobs/");
    memset(path + 9, 'a', API_ID_MAX);
    api_match m;
    char allow[64];
    ck_assert_int_eq(route("GET", path, &m, allow), 404);
}
END_TEST

START_TEST(test_wrong_method_is_405_with_allow) {
    api_match m;
    char allow[64];
    ck_assert_int_eq(route("DELETE", "/v1/jobs", &m, allow), 405);
    ck_assert_str_eq(allow, "GET, HEAD, POST");
    ck_assert_int_eq(route("POST", "/v1/datasets/ds_1", &m, allow), 405);
    ck_assert_str_eq(allow, "GET, HEAD, DELETE");
    ck_assert_int_eq(route("GET", "/v1/jobs/j/cancel", &m, allow), 405);
    ck_assert_str_eq(allow, "POST");
    ck_assert_int_eq(route("POST", "/v1/jobs/j", &m, allow), 405);
    ck_assert_str_eq(allow, "GET, HEAD, DELETE");
    ck_assert_int_eq(route("PUT", "/healthz", &m, allow), 405);
    ck_assert_str_eq(allow, "GET, HEAD");
    ck_assert_int_eq(route("PATCH", "/v1/models/m", &m, allow), 405);
    ck_assert_str_eq(allow, "GET, HEAD, DELETE");
    ck_assert_int_eq(route("PUT", "/v1/models/m", &m, allow), 405);
    ck_assert_int_eq(route("POST", "/v1/aliases/a", &m, allow), 405);
    ck_assert_str_eq(allow, "GET, HEAD, PUT, DELETE");
    ck_assert_int_eq(route("PUT", "/v1/aliases", &m, allow), 405);
    ck_assert_str_eq(allow, "GET, HEAD");
}
END_TEST

static Suite *router_suite(void) {
    Suite *s = suite_create("api_router");
    TCase *tc = tcase_create("routes");
    tcase_add_test(tc, test_every_route_matches_with_its_id);
    tcase_add_test(tc, test_unknown_paths_are_404);
    tcase_add_test(tc, test_an_overlong_id_is_404);
    tcase_add_test(tc, test_wrong_method_is_405_with_allow);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return suite_run(router_suite(), CK_FORK_GETENV);
}

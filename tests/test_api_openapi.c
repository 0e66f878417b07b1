/* test_api_openapi.c -- the embedded OpenAPI document against the routing table: every route
 * and method the router serves is documented, every documented path and method is served by
 * the route of that template, /v1 operations declare the bearer scheme and the open ones do
 * not, and every $ref resolves. In-process: no daemon. */
#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "support_suite.h"

static cJSON *doc;

static void setup(void) {
    doc = cJSON_ParseWithLength(oigd_openapi_json, oigd_openapi_json_len);
    ck_assert_msg(doc != NULL, "api/openapi.json is not valid JSON");
}

static void teardown(void) { cJSON_Delete(doc); }

static const struct { int bit; const char *method, *key; } methods[] = {
    {API_M_GET, "GET", "get"}, {API_M_POST, "POST", "post"}, {API_M_PUT, "PUT", "put"},
    {API_M_DELETE, "DELETE", "delete"},
};

START_TEST(test_document_is_openapi_3_1) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "openapi");
    ck_assert(cJSON_IsString(v));
    ck_assert_str_eq(v->valuestring, "3.1.0");
    ck_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc, "info")));
    ck_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(doc, "paths")));
    cJSON *schemes = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "components"), "securitySchemes");
    ck_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(schemes, "bearerAuth")));
}
END_TEST

START_TEST(test_every_served_route_is_documented) {
    cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
    int checked = 0;
    for (size_t i = 0; i < api_route_count(); i++) {
        int ms = 0;
        const char *pattern = api_route_at(i, NULL, &ms);
        cJSON *item = cJSON_GetObjectItemCaseSensitive(paths, pattern);
        ck_assert_msg(cJSON_IsObject(item), "route %s is not documented", pattern);
        for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++) {
            if (!(ms & methods[k].bit)) continue;
            cJSON *op = cJSON_GetObjectItemCaseSensitive(item, methods[k].key);
            ck_assert_msg(cJSON_IsObject(op), "%s %s is served but not documented", methods[k].method, pattern);
            ck_assert_msg(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(op, "responses")), "%s %s has no responses",
                          methods[k].method, pattern);
            checked++;
        }
    }
    ck_assert_int_ge(checked, 20);
}
END_TEST

START_TEST(test_every_documented_operation_is_served) {
    static const char *const verbs[] = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};
    cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths"), *item;
    cJSON_ArrayForEach(item, paths) {
        /* a concrete path: every {param} becomes an id */
        char path[256];
        size_t o = 0;
        for (const char *p = item->string; *p && o + 8 < sizeof path; ) {
            if (*p == '{') {
                const char *close = strchr(p, '}');
                ck_assert_ptr_nonnull(close);
                o += (size_t)snprintf(path + o, sizeof path - o, "x_1");
                p = close + 1;
            } else path[o++] = *p++;
        }
        path[o] = 0;
        for (size_t v = 0; v < sizeof verbs / sizeof verbs[0]; v++) {
            cJSON *op = cJSON_GetObjectItemCaseSensitive(item, verbs[v]);
            if (!op) continue;
            char method[16];
            for (size_t c = 0; c <= strlen(verbs[v]); c++) method[c] = (char)toupper((unsigned char)verbs[v][c]);
            api_match m;
            char allow[64];
            int rc = api_route(method, path, &m, allow, sizeof allow);
            ck_assert_msg(rc == 0, "%s %s is documented but answers %d", method, item->string, rc);
            ck_assert_str_eq(api_route_pattern(m.route), item->string);
        }
    }
}
END_TEST

START_TEST(test_v1_operations_declare_bearer_auth) {
    static const char *const verbs[] = {"get", "post", "delete"};
    cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths"), *item;
    cJSON_ArrayForEach(item, paths) {
        int v1 = strncmp(item->string, "/v1/", 4) == 0;
        for (size_t v = 0; v < 3; v++) {
            cJSON *op = cJSON_GetObjectItemCaseSensitive(item, verbs[v]);
            if (!op) continue;
            cJSON *sec = cJSON_GetObjectItemCaseSensitive(op, "security");
            ck_assert_msg(cJSON_IsArray(sec), "%s %s: no security member", verbs[v], item->string);
            if (v1) {
                ck_assert_msg(cJSON_GetArraySize(sec) == 1 &&
                              cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(sec, 0), "bearerAuth"),
                              "%s %s: expected bearerAuth", verbs[v], item->string);
                cJSON *r401 = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(op, "responses"), "401");
                ck_assert_msg(r401 != NULL, "%s %s: 401 not documented", verbs[v], item->string);
            } else {
                ck_assert_msg(cJSON_GetArraySize(sec) == 0, "%s %s: an open endpoint declares security", verbs[v], item->string);
            }
        }
    }
}
END_TEST

/* Walk every "$ref" and resolve it as a local JSON pointer. */
static void check_refs(const cJSON *node) {
    const cJSON *c;
    cJSON_ArrayForEach(c, node) {
        if (c->string && strcmp(c->string, "$ref") == 0) {
            ck_assert(cJSON_IsString(c));
            const char *ref = c->valuestring;
            ck_assert_msg(strncmp(ref, "#/", 2) == 0, "non-local $ref %s", ref);
            const cJSON *at = doc;
            char part[128];
            for (const char *p = ref + 2; *p; ) {
                size_t n = strcspn(p, "/");
                ck_assert(n < sizeof part);
                memcpy(part, p, n);
                part[n] = 0;
                at = cJSON_GetObjectItemCaseSensitive(at, part);
                ck_assert_msg(at != NULL, "$ref %s does not resolve", ref);
                p += n;
                if (*p == '/') p++;
            }
        }
        if (cJSON_IsObject(c) || cJSON_IsArray(c)) check_refs(c);
    }
}

START_TEST(test_every_ref_resolves) { check_refs(doc); }
END_TEST

int main(void) {
    Suite *s = suite_create("api_openapi");
    TCase *tc = tcase_create("coverage");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_document_is_openapi_3_1);
    tcase_add_test(tc, test_every_served_route_is_documented);
    tcase_add_test(tc, test_every_documented_operation_is_served);
    tcase_add_test(tc, test_v1_operations_declare_bearer_auth);
    tcase_add_test(tc, test_every_ref_resolves);
    suite_add_tcase(s, tc);
    return suite_run(s, CK_FORK_GETENV);
}

/* problem.c -- the one place that maps error codes to HTTP: status, title, type URI and the
 * machine code of RFC 9457 application/problem+json bodies. Handlers never write a 4xx/5xx
 * any other way; a 500 never carries internal details. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "suggest.h"

static const struct {
    int status;
    const char *code, *title;
} problems[API_E_COUNT] = {
    [API_E_BAD_REQUEST] = {400, "bad_request", "Malformed request"},
    [API_E_NOT_FOUND] = {404, "not_found", "No such resource"},
    [API_E_NO_ROUTE] = {404, "no_route", "No such endpoint"},
    [API_E_METHOD] = {405, "method_not_allowed", "Method not allowed"},
    [API_E_CONFLICT] = {409, "conflict", "Conflict with the resource's state"},
    [API_E_TOO_LARGE] = {413, "body_too_large", "Request body too large"},
    [API_E_MEDIA_TYPE] = {415, "unsupported_media_type", "Unsupported content type"},
    [API_E_INVALID] = {422, "invalid_parameters", "Invalid parameters"},
    [API_E_INTERNAL] = {500, "internal_error", "Internal server error"},
    [API_E_UNAVAILABLE] = {503, "unavailable", "Service unavailable"},
    [API_E_UNAUTHORIZED] = {401, "unauthorized", "Missing or invalid API key"},
    [API_E_TOO_MANY] = {429, "too_many_requests", "Too many requests"},
    [API_E_DATASET_TOO_LARGE] = {413, "dataset_too_large", "Dataset too large"},
};

int api_error_status(api_error e) { return problems[e].status; }
const char *api_error_code(api_error e) { return problems[e].code; }

cJSON *api_error_item(int line, int column, const char *field, const char *message) {
    cJSON *o = cJSON_CreateObject();
    if (line > 0) cJSON_AddNumberToObject(o, "line", line);
    if (column > 0) cJSON_AddNumberToObject(o, "column", column);
    if (field && *field) cJSON_AddStringToObject(o, "field", field);
    cJSON_AddStringToObject(o, "message", message ? message : "");
    return o;
}

static enum MHD_Result problem(api_req *rq, api_error e, const char *detail, cJSON *errors,
                               const char *hname, const char *hvalue) {
    char type[96];
    snprintf(type, sizeof type, "https://oigd.invalid/problems/%s", problems[e].code);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddStringToObject(o, "title", problems[e].title);
    cJSON_AddNumberToObject(o, "status", problems[e].status);
    cJSON_AddStringToObject(o, "detail", e == API_E_INTERNAL ? "the server could not complete the request"
                                                              : (detail ? detail : problems[e].title));
    cJSON_AddStringToObject(o, "instance", rq->path);
    cJSON_AddStringToObject(o, "code", problems[e].code);
    cJSON_AddStringToObject(o, "request_id", rq->request_id);
    if (errors) cJSON_AddItemToObject(o, "errors", errors);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text) return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) { free(text); return MHD_NO; }
    MHD_add_response_header(r, "Content-Type", "application/problem+json");
    if (hname && hvalue) MHD_add_response_header(r, hname, hvalue);
    return api_queue_response(rq, (unsigned)problems[e].status, r, strlen(text));
}

enum MHD_Result api_problem(api_req *rq, api_error e, const char *detail, cJSON *errors, const char *allow) {
    return problem(rq, e, detail, errors, allow ? "Allow" : NULL, allow);
}

enum MHD_Result api_problem_hdr(api_req *rq, api_error e, const char *detail, const char *hname,
                                const char *hvalue) {
    return problem(rq, e, detail, NULL, hname, hvalue);
}

enum MHD_Result api_problem_retry(api_req *rq, api_error e, const char *detail) {
    char secs[16];
    snprintf(secs, sizeof secs, "%d", rq->srv->cfg->retry_after > 0 ? rq->srv->cfg->retry_after : 1);
    return problem(rq, e, detail, NULL, "Retry-After", secs);
}

enum MHD_Result api_invalid(api_req *rq, const char *field, const char *message) {
    char detail[320];
    snprintf(detail, sizeof detail, "%.100s: %.210s", field, message);
    cJSON *errs = cJSON_CreateArray();
    cJSON_AddItemToArray(errs, api_error_item(0, 0, field, message));
    return api_problem(rq, API_E_INVALID, detail, errs, NULL);
}

enum MHD_Result api_unknown_field(api_req *rq, const char *key, const char *const *names, size_t n) {
    char message[128] = "unknown field";
    suggest_append(message, sizeof message, key, names, n, "");
    return api_invalid(rq, key, message);
}

/* handlers_related.h -- the HTTP handler of the related methods: projecting a stored model
 * onto orthogonal hidden weights (POST /v1/models/{id}/project). Only api/ includes it. */
#ifndef OIGD_HANDLERS_RELATED_H
#define OIGD_HANDLERS_RELATED_H

#include "api.h"

/* 201 with the new model's record (and a "projection" report); 404 unknown model; 422 bad
 * body or a model that cannot be projected. */
enum MHD_Result api_model_project(api_req *rq, store *st, const char *id);

#endif

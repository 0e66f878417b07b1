/* handlers_related.h -- the HTTP faces of the related methods: projecting a stored model onto
 * orthogonal hidden weights (POST /v1/models/{id}/project) and checking a job's warm-start
 * model ("init_model_id"). Only api/ includes it. */
#ifndef OIGD_HANDLERS_RELATED_H
#define OIGD_HANDLERS_RELATED_H

#include "api.h"

/* 201 with the new model's record (and a "projection" report); 404 unknown model; 422 bad
 * body or a model that cannot be projected. */
enum MHD_Result api_model_project(api_req *rq, store *st, const char *id);

/* Can stored model model_id start (warm start) a job of cfg on dataset dataset_id? NULL when it
 * can (or the dataset is unknown: the job insert reports that), else why not. Compares the
 * stored records only (inputs, outputs, task, class labels, ngmnn/row-normalized form); the
 * engine checks the rest when the job runs. */
const char *api_init_model_check(store *st, const char *model_id, const char *dataset_id,
                                 const oig_config *cfg);

#endif

/* score_doc.h -- a model's score on a dataset as JSON members: the body of
 * POST /v1/models/{id}/evaluate and the output of `oigd evaluate`. */
#ifndef OIGD_SCORE_DOC_H
#define OIGD_SCORE_DOC_H

#include <cjson/cJSON.h>
#include "oig.h"

/* Append to o: rows, inputs_matched_by, mse, rmse, outputs (name, mse, rmse, mae, r2 each), and
 * for a classifier error_percent, accuracy, classes and confusion_matrix. Numbers read back
 * exactly; NaN is null. */
void score_doc_add(cJSON *o, const oig_model *mdl, const oig_score *sc, int inputs_by_name);

#endif

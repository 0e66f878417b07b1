/* score_doc.c -- a model's score on a dataset as JSON members (see score_doc.h). */
#include "score_doc.h"

#include <math.h>
#include <stddef.h>

#include "textfmt.h"

void score_doc_add(cJSON *o, const oig_model *mdl, const oig_score *sc, int inputs_by_name) {
    cJSON_AddNumberToObject(o, "rows", (double)sc->nrows);
    cJSON_AddStringToObject(o, "inputs_matched_by", inputs_by_name ? "name" : "position");
    cJSON_AddItemToObject(o, "mse", json_number_exact(sc->mse));
    cJSON_AddItemToObject(o, "rmse", json_number_exact(sqrt(sc->mse)));
    cJSON *outs = cJSON_AddArrayToObject(o, "outputs");
    for (int i = 0; i < sc->m; i++) {
        cJSON *out = cJSON_CreateObject();
        const char *name = mdl->task == OIG_CLASSIFICATION && mdl->labels ? mdl->labels[i]
                         : mdl->target_names && i < mdl->ntarget_names ? mdl->target_names[i] : NULL;
        if (name) cJSON_AddStringToObject(out, "name", name);
        else cJSON_AddNullToObject(out, "name");
        cJSON_AddItemToObject(out, "mse", json_number_exact(sc->output_mse[i]));
        cJSON_AddItemToObject(out, "rmse", json_number_exact(sqrt(sc->output_mse[i])));
        cJSON_AddItemToObject(out, "mae", json_number_exact(sc->output_mae[i]));
        cJSON_AddItemToObject(out, "r2", json_number_exact(sc->output_r2[i]));
        cJSON_AddItemToArray(outs, out);
    }
    if (sc->nclasses == 0) return;
    cJSON_AddItemToObject(o, "error_percent", json_number_exact(sc->err_pct));
    cJSON_AddItemToObject(o, "accuracy", json_number_exact(1.0 - sc->err_pct / 100.0));
    cJSON *labels = cJSON_AddArrayToObject(o, "classes");
    cJSON *cm = cJSON_AddArrayToObject(o, "confusion_matrix");
    for (int a = 0; a < sc->nclasses; a++) {
        cJSON_AddItemToArray(labels, cJSON_CreateString(mdl->labels && a < mdl->nclasses ? mdl->labels[a] : ""));
        cJSON *row = cJSON_CreateArray();
        for (int b = 0; b < sc->nclasses; b++)
            cJSON_AddItemToArray(row, cJSON_CreateNumber((double)sc->confusion[(size_t)a * (size_t)sc->nclasses + (size_t)b]));
        cJSON_AddItemToArray(cm, row);
    }
}

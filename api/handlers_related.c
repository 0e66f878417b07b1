/* handlers_related.c -- POST /v1/models/{id}/project: a new stored model whose hidden weights
 * are projected onto orthogonal ones (engine oig_model_project), with the distance moved and
 * the errors before and after recorded in its metadata; and the submission-time check of a
 * job's warm-start model. Error replies go through api_problem.
 */
#include "handlers_related.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_doc.h"

const char *api_init_model_check(store *st, const char *model_id, const char *dataset_id,
                                 const oig_config *cfg) {
    char *doc = NULL;
    store_status rc = store_model_doc(st, model_id, &doc);
    if (rc == STORE_NOTFOUND) return "no model with that id";
    if (rc != STORE_OK) return "the model cannot be read";
    oig_model *m = NULL;
    oig_error err;
    memset(&err, 0, sizeof err);
    oig_status os = model_doc_read(doc, strlen(doc), &m, &err);
    free(doc);
    if (os != OIG_OK) return "the model cannot be read";
    const char *why = NULL;
    cJSON *ds = NULL;
    if (store_dataset_get(st, dataset_id, &ds) == STORE_OK) {
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(ds, "inputs");
        const cJSON *out = cJSON_GetObjectItemCaseSensitive(ds, "outputs");
        const cJSON *task = cJSON_GetObjectItemCaseSensitive(ds, "task");
        const cJSON *classes = cJSON_GetObjectItemCaseSensitive(ds, "classes");
        int cls = cJSON_IsString(task) && strcmp(task->valuestring, "classification") == 0;
        if (!cJSON_IsNumber(in) || !cJSON_IsNumber(out) || in->valueint != m->n || out->valueint != m->m)
            why = "the model's inputs and outputs do not match the dataset";
        else if (cls != (m->task == OIG_CLASSIFICATION))
            why = "the model's task (regression or classification) differs from the dataset's";
        else if (cls && cJSON_IsArray(classes) && m->labels) {
            int same = cJSON_GetArraySize(classes) == m->nclasses;
            for (int k = 0; same && k < m->nclasses; k++) {
                const cJSON *c = cJSON_GetArrayItem(classes, k);
                same = cJSON_IsString(c) && strcmp(c->valuestring, m->labels[k]) == 0;
            }
            if (!same) why = "the model's class labels differ from the dataset's";
        }
        cJSON_Delete(ds);
    }
    if (!why && (cfg->algorithm == OIG_ALG_NGMNN) != (m->hidden_rownorm != 0))
        why = "ngmnn continues only from an ngmnn model, and an ngmnn model only with ngmnn";
    oig_model_free(m);
    return why;
}

static void add_num_or_null(cJSON *o, const char *name, double v) {
    if (isfinite(v)) cJSON_AddNumberToObject(o, name, v);
    else cJSON_AddNullToObject(o, name);
}

/* Body (all optional): {"method": "polar"|"lie", "layers": "hidden"|"all", "reowo": bool,
 * "reflect": bool, "lie_opt": "gd"|"adam", "lie_tol": x, "lie_max_iter": n, "dataset_id": id}.
 * The dataset, when given, is used for the OWO re-solve and the error report. */
enum MHD_Result api_model_project(api_req *rq, store *st, const char *id) {
    enum MHD_Result ret = MHD_YES;
    cJSON *j = NULL, *res = NULL;
    char *doc = NULL, *ndoc = NULL;
    oig_model *mdl = NULL, *p = NULL;
    oig_data *d = NULL;
    store_status rc = store_model_doc(st, id, &doc);
    if (rc == STORE_NOTFOUND) return api_problem(rq, API_E_NOT_FOUND, "no model with that id", NULL, NULL);
    if (rc != STORE_OK) return api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
    oig_project_opts po;
    oig_project_opts_init(&po);
    const char *dsid = NULL;
    if (rq->len > 0) {
        char ct[64];
        api_content_type(rq, ct, sizeof ct);
        if (strcmp(ct, "application/json") != 0) {
            ret = api_problem(rq, API_E_MEDIA_TYPE, "expected Content-Type: application/json", NULL, NULL);
            goto out;
        }
        if (!(j = api_parse_json(rq, &ret))) goto out;
        if (!cJSON_IsObject(j)) { ret = api_invalid(rq, "body", "expected a JSON object"); goto out; }
        const cJSON *e;
        cJSON_ArrayForEach(e, j) {
            const char *k = e->string;
            if (strcmp(k, "method") == 0) {
                if (cJSON_IsString(e) && strcmp(e->valuestring, "polar") == 0) po.method = OIG_PROJECT_POLAR;
                else if (cJSON_IsString(e) && strcmp(e->valuestring, "lie") == 0) po.method = OIG_PROJECT_LIE;
                else { ret = api_invalid(rq, k, "expected \"polar\" or \"lie\""); goto out; }
            } else if (strcmp(k, "layers") == 0) {
                if (cJSON_IsString(e) && strcmp(e->valuestring, "hidden") == 0) po.layers_all = 0;
                else if (cJSON_IsString(e) && strcmp(e->valuestring, "all") == 0) po.layers_all = 1;
                else { ret = api_invalid(rq, k, "expected \"hidden\" or \"all\""); goto out; }
            } else if (strcmp(k, "lie_opt") == 0) {
                if (cJSON_IsString(e) && strcmp(e->valuestring, "gd") == 0) po.lie_adam = 0;
                else if (cJSON_IsString(e) && strcmp(e->valuestring, "adam") == 0) po.lie_adam = 1;
                else { ret = api_invalid(rq, k, "expected \"gd\" or \"adam\""); goto out; }
            } else if (strcmp(k, "reowo") == 0 || strcmp(k, "reflect") == 0) {
                if (!cJSON_IsBool(e)) { ret = api_invalid(rq, k, "expected a boolean"); goto out; }
                if (k[1] == 'e' && k[2] == 'o') po.reowo = cJSON_IsTrue(e);
                else po.reflect = cJSON_IsTrue(e);
            } else if (strcmp(k, "lie_tol") == 0) {
                if (!cJSON_IsNumber(e) || !(e->valuedouble > 0) || !isfinite(e->valuedouble)) {
                    ret = api_invalid(rq, k, "expected a number > 0");
                    goto out;
                }
                po.lie_tol = e->valuedouble;
            } else if (strcmp(k, "lie_max_iter") == 0) {
                if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble) || e->valuedouble < 1 ||
                    e->valuedouble > 1000000) {
                    ret = api_invalid(rq, k, "expected an integer 1..1000000");
                    goto out;
                }
                po.lie_max_iter = (int)e->valuedouble;
            } else if (strcmp(k, "dataset_id") == 0) {
                if (!cJSON_IsString(e) || !*e->valuestring) { ret = api_invalid(rq, k, "expected a dataset id"); goto out; }
                dsid = e->valuestring;
            } else {
                static const char *const known[] = { "method", "layers", "lie_opt", "reowo", "reflect",
                                                     "lie_tol", "lie_max_iter", "dataset_id" };
                ret = api_unknown_field(rq, k, known, sizeof known / sizeof known[0]);
                goto out;
            }
        }
    }
    oig_error err;
    memset(&err, 0, sizeof err);
    if (model_doc_read(doc, strlen(doc), &mdl, &err) != OIG_OK) {
        ret = api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
        goto out;
    }
    if (dsid && api_dataset_for_model(rq, st, dsid, mdl, &d, NULL, &ret) != 0) goto out;
    oig_project_report rep;
    oig_status os = oig_model_project(mdl, &po, d, &p, &rep, &err);
    if (os == OIG_EINVAL) {
        ret = api_invalid(rq, err.field[0] ? err.field : "model", err.message[0] ? err.message : "cannot project");
        goto out;
    }
    if (os != OIG_OK) { ret = api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL); goto out; }
    if ((ndoc = model_doc_write(p, NULL)) == NULL ||
        store_model_insert(st, NULL, p, ndoc, &res) != STORE_OK || res == NULL) {
        ret = api_problem(rq, API_E_INTERNAL, NULL, NULL, NULL);
        goto out;
    }
    cJSON *pr = cJSON_AddObjectToObject(res, "projection");
    cJSON_AddStringToObject(pr, "source_model_id", id);
    cJSON_AddStringToObject(pr, "method", po.method == OIG_PROJECT_LIE ? "lie" : "polar");
    cJSON_AddStringToObject(pr, "layers", po.layers_all ? "all" : "hidden");
    add_num_or_null(pr, "moved", rep.moved);
    add_num_or_null(pr, "mse_before", rep.mse_before);
    add_num_or_null(pr, "mse_projected", rep.mse_projected);
    add_num_or_null(pr, "mse_reowo", rep.mse_reowo);
    add_num_or_null(pr, "err_before", rep.err_before);
    add_num_or_null(pr, "err_projected", rep.err_projected);
    add_num_or_null(pr, "err_reowo", rep.err_reowo);
    char loc[128] = "";
    cJSON *nid = cJSON_GetObjectItemCaseSensitive(res, "id");
    if (cJSON_IsString(nid)) snprintf(loc, sizeof loc, "/v1/models/%s", nid->valuestring);
    ret = api_reply_json(rq, 201, res, loc[0] ? loc : NULL);
    res = NULL;
out:
    cJSON_Delete(j);
    cJSON_Delete(res);
    free(doc);
    free(ndoc);
    oig_model_free(mdl);
    oig_model_free(p);
    oig_data_free(d);
    return ret;
}

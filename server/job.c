/* job.c -- the job request schema and the job runner.
 *
 * The runner loads a fresh copy of the job's dataset (oig_train standardizes in place), splits
 * it with the job's seed, resumes from the last checkpoint if any, and calls oig_train with a
 * progress callback that batches the metrics rows the history keeps (history.h; the run's last
 * iteration is added at its end), writes a checkpoint every few seconds in the same
 * transaction as the rows it covers, publishes to the hub, and stops on cancel or shutdown.
 * A distributed job instead runs as a child under the MPI launcher (server/mpi_launch.c) whose
 * progress lines take the same path; the child writes its own checkpoints, and each one it
 * reports is stored with the rows it covers.
 */
#include "job.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "history.h"
#include "model_doc.h"
#include "mpi_launch.h"
#include "suggest.h"
#include "train_threads.h"

/* ---- the request schema ----------------------------------------------------------------- */

static oig_status fail(oig_error *err, const char *field, const char *msg) {
    snprintf(err->field, sizeof err->field, "%s", field);
    snprintf(err->message, sizeof err->message, "%.63s: %.180s", field, msg);
    return OIG_EINVAL;
}

static int get_int(const cJSON *v, long lo, long hi, long *out) {
    if (!cJSON_IsNumber(v)) return -1;
    double d = v->valuedouble;
    if (d != floor(d) || d < (double)lo || d > (double)hi) return -1;
    *out = (long)d;
    return 0;
}

static int get_bool(const cJSON *v, int *out) {
    if (cJSON_IsBool(v)) { *out = cJSON_IsTrue(v); return 0; }
    long n;
    if (get_int(v, 0, 1, &n) == 0) { *out = (int)n; return 0; }
    return -1;
}

static int get_num(const cJSON *v, double *out) {
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return -1;
    *out = v->valuedouble;
    return 0;
}

/* Pick name among names (n of them) into *out; -1 when it is not a string or not one of them. */
static int get_choice(const cJSON *v, const char *const *names, int n, int *out) {
    if (!cJSON_IsString(v)) return -1;
    for (int i = 0; i < n; i++) if (strcmp(v->valuestring, names[i]) == 0) { *out = i; return 0; }
    return -1;
}

/* The related methods' options (docs/related-methods.md): 1 when k is one of them and was set,
 * 0 when k is not one of them, -1 after fail() for a bad value. eta, batch and weight_decay
 * apply to whichever of slnb and osgd/sgd runs. */
static int parse_related_option(const char *k, const cJSON *e, oig_config *c, const char *field,
                                oig_error *err) {
    static const char *const anytime[] = { "off", "bypass2", "width" };
    static const char *const gran[] = { "block", "global" };
    static const char *const resc[] = { "none", "norm" };
    static const char *const alpha[] = { "textbook", "code" };
    static const char *const ortho[] = { "off", "polar", "expm" };
#define NONE ((size_t)-1)
    static const struct { const char *name; size_t slnb, osgd, ngmnn; } nums[] = {
        { "eta", offsetof(oig_slnb_config, eta), offsetof(oig_osgd_config, eta), NONE },
        { "weight_decay", offsetof(oig_slnb_config, weight_decay), offsetof(oig_osgd_config, weight_decay), NONE },
        { "b_g", offsetof(oig_slnb_config, b_g), NONE, NONE },
        { "b_mu", offsetof(oig_slnb_config, b_mu), NONE, NONE },
        { "b_nu", offsetof(oig_slnb_config, b_nu), NONE, NONE },
        { "cov_shrinkage", offsetof(oig_slnb_config, cov_shrinkage), NONE, NONE },
        { "cg_ridge", offsetof(oig_slnb_config, cg_ridge), NONE, NONE },
        { "cg_tol", offsetof(oig_slnb_config, cg_tol), NONE, NONE },
        { "min_norm", offsetof(oig_slnb_config, min_norm), NONE, NONE },
        { "momentum", NONE, offsetof(oig_osgd_config, momentum), NONE },
        { "eps_rel", NONE, offsetof(oig_osgd_config, eps_rel), NONE },
        { "gamma", NONE, NONE, offsetof(oig_ngmnn_config, gamma) },
        { "k_ratio", NONE, NONE, offsetof(oig_ngmnn_config, k_ratio) },
        { "svm_tol", NONE, NONE, offsetof(oig_ngmnn_config, svm_tol) },
        { "clamp", NONE, NONE, offsetof(oig_ngmnn_config, clamp) },
    };
    long n;
    int b;
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        if (strcmp(k, nums[i].name) != 0) continue;
        double v;
        if (get_num(e, &v)) { fail(err, field, "expected a number"); return -1; }
        if (nums[i].slnb != NONE) *(double *)((char *)&c->slnb + nums[i].slnb) = v;
        if (nums[i].osgd != NONE) *(double *)((char *)&c->osgd + nums[i].osgd) = v;
        if (nums[i].ngmnn != NONE) *(double *)((char *)&c->ngmnn + nums[i].ngmnn) = v;
        return 1;
    }
#undef NONE
    if (strcmp(k, "batch") == 0) {
        if (get_int(e, 0, 100000000L, &n)) { fail(err, field, "expected an integer >= 0 (0 = full batch)"); return -1; }
        c->slnb.batch = c->osgd.batch = (int)n;
    } else if (strcmp(k, "cg_maxiter") == 0) {
        if (get_int(e, 0, 10000, &n)) { fail(err, field, "expected an integer 0..10000"); return -1; }
        c->slnb.cg_maxiter = (int)n;
    } else if (strcmp(k, "exits") == 0) {
        if (get_int(e, 2, 16, &n)) { fail(err, field, "expected an integer 2..16"); return -1; }
        c->osgd.exits = (int)n;
    } else if (strcmp(k, "svm_iters") == 0) {
        if (get_int(e, 1, 1000, &n)) { fail(err, field, "expected an integer 1..1000"); return -1; }
        c->ngmnn.svm_iters = (int)n;
    } else if (strcmp(k, "approx_metric") == 0) {
        if (get_bool(e, &b)) { fail(err, field, "expected a boolean"); return -1; }
        c->slnb.approx_metric = b;
    } else if (strcmp(k, "anytime") == 0) {
        if (get_choice(e, anytime, 3, &b)) { fail(err, field, "expected \"off\", \"bypass2\" or \"width\""); return -1; }
        c->osgd.anytime = (oig_anytime)b;
    } else if (strcmp(k, "granularity") == 0) {
        if (get_choice(e, gran, 2, &b)) { fail(err, field, "expected \"block\" or \"global\""); return -1; }
        c->osgd.granularity = (oig_granularity)b;
    } else if (strcmp(k, "rescale") == 0) {
        if (get_choice(e, resc, 2, &b)) { fail(err, field, "expected \"none\" or \"norm\""); return -1; }
        c->osgd.rescale = (oig_rescale)b;
    } else if (strcmp(k, "alpha_form") == 0) {
        if (get_choice(e, alpha, 2, &b)) { fail(err, field, "expected \"textbook\" or \"code\""); return -1; }
        c->ngmnn.alpha_form = (oig_alpha_form)b;
    } else if (strcmp(k, "orthogonal_hidden") == 0) {
        if (get_choice(e, ortho, 3, &b)) { fail(err, field, "expected \"off\", \"polar\" or \"expm\""); return -1; }
        c->orthogonal_hidden = (oig_orthogonal)b;
    } else return 0;
    return 1;
}

/* The related options of the job's algorithm into the normalized request's options. */
static void related_normalized(cJSON *op, const oig_config *c) {
    static const char *const ortho[] = { "off", "polar", "expm" };
    cJSON_AddStringToObject(op, "orthogonal_hidden", ortho[c->orthogonal_hidden]);
    if (c->algorithm == OIG_ALG_SLNB) {
        const oig_slnb_config *s = &c->slnb;
        cJSON_AddNumberToObject(op, "eta", s->eta);
        cJSON_AddNumberToObject(op, "batch", s->batch);
        cJSON_AddNumberToObject(op, "weight_decay", s->weight_decay);
        cJSON_AddNumberToObject(op, "b_g", s->b_g);
        cJSON_AddNumberToObject(op, "b_mu", s->b_mu);
        cJSON_AddNumberToObject(op, "b_nu", s->b_nu);
        cJSON_AddNumberToObject(op, "cov_shrinkage", s->cov_shrinkage);
        cJSON_AddNumberToObject(op, "cg_ridge", s->cg_ridge);
        cJSON_AddNumberToObject(op, "cg_maxiter", s->cg_maxiter);
        cJSON_AddNumberToObject(op, "cg_tol", s->cg_tol);
        cJSON_AddNumberToObject(op, "min_norm", s->min_norm);
        cJSON_AddBoolToObject(op, "approx_metric", s->approx_metric);
    } else if (c->algorithm == OIG_ALG_OSGD || c->algorithm == OIG_ALG_SGD) {
        static const char *const anytime[] = { "off", "bypass2", "width" };
        const oig_osgd_config *o = &c->osgd;
        cJSON_AddNumberToObject(op, "eta", o->eta);
        cJSON_AddNumberToObject(op, "batch", o->batch);
        cJSON_AddNumberToObject(op, "weight_decay", o->weight_decay);
        cJSON_AddNumberToObject(op, "momentum", o->momentum);
        cJSON_AddStringToObject(op, "anytime", anytime[o->anytime]);
        cJSON_AddNumberToObject(op, "exits", o->exits);
        cJSON_AddStringToObject(op, "granularity", o->granularity == OIG_GRAN_GLOBAL ? "global" : "block");
        cJSON_AddStringToObject(op, "rescale", o->rescale == OIG_RESCALE_NORM ? "norm" : "none");
        cJSON_AddNumberToObject(op, "eps_rel", o->eps_rel);
    } else if (c->algorithm == OIG_ALG_NGMNN) {
        const oig_ngmnn_config *g = &c->ngmnn;
        cJSON_AddNumberToObject(op, "gamma", g->gamma);
        cJSON_AddNumberToObject(op, "k_ratio", g->k_ratio);
        cJSON_AddNumberToObject(op, "svm_iters", g->svm_iters);
        cJSON_AddNumberToObject(op, "svm_tol", g->svm_tol);
        cJSON_AddNumberToObject(op, "clamp", g->clamp);
        cJSON_AddStringToObject(op, "alpha_form", g->alpha_form == OIG_ALPHA_CODE ? "code" : "textbook");
    }
}

/* The index of LM choice option k (oig_lm_choice_option), or -1. */
static long lm_choice_index(const char *k) {
    for (int i = 0; i < OIG_LM_CHOICES; i++)
        if (strcmp(k, oig_lm_choice_option(i)) == 0) return i;
    return -1;
}

/* The request as the job stores it: every field and every option of the job's algorithm, the
 * defaults filled in. NULL when out of memory. */
static cJSON *spec_json(const job_spec *spec) {
    const oig_config *c = &spec->cfg;
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) return NULL;
    cJSON_AddStringToObject(o, "dataset_id", spec->dataset_id);
    cJSON_AddStringToObject(o, "algorithm", oig_algorithm_name(c->algorithm));
    cJSON_AddNumberToObject(o, "hidden_units", c->nh);
    cJSON_AddNumberToObject(o, "max_iterations", c->max_iterations);
    cJSON_AddNumberToObject(o, "seed", (double)c->seed);
    cJSON_AddNumberToObject(o, "validation_fraction", spec->validation_fraction);
    if (c->target_mse > 0) cJSON_AddNumberToObject(o, "target_mse", c->target_mse);
    else cJSON_AddNullToObject(o, "target_mse");
    if (c->max_seconds > 0) cJSON_AddNumberToObject(o, "max_seconds", c->max_seconds);
    else cJSON_AddNullToObject(o, "max_seconds");
    if (spec->distributed) cJSON_AddTrueToObject(o, "distributed");   /* absent: false */
    if (spec->init_model_id[0]) cJSON_AddStringToObject(o, "init_model_id", spec->init_model_id);
    cJSON *op = cJSON_AddObjectToObject(o, "options");
    cJSON_AddBoolToObject(op, "standardize", c->standardize);
    cJSON_AddBoolToObject(op, "bypass", c->bypass);
    cJSON_AddNumberToObject(op, "md", c->md);
    cJSON_AddNumberToObject(op, "sigmad", c->sigmad);
    cJSON_AddNumberToObject(op, "ols_eps", c->ols_eps);
    cJSON_AddBoolToObject(op, "bias_gain", c->bias_gain);
    cJSON_AddBoolToObject(op, "clamp_gains", c->clamp_gains);
    cJSON_AddNumberToObject(op, "oig_ridge", c->oig_ridge);
    cJSON_AddNumberToObject(op, "max_halvings", c->max_halvings);
    cJSON_AddNumberToObject(op, "lm_lambda0", c->lm_lambda0);
    cJSON_AddNumberToObject(op, "lm_max_retries", c->lm_max_retries);
    for (int i = 0; i < OIG_LM_CHOICES; i++)
        cJSON_AddStringToObject(op, oig_lm_choice_option(i), oig_lm_choice_get(c, i));
    cJSON_AddNumberToObject(op, "patience", c->patience);
    related_normalized(op, c);
    return o;
}

/* Append to err's message the field (options = 0) or option (options = 1) that an unknown key
 * most likely meant: the names are those spec_json writes for any algorithm, so they are the
 * names the request accepts. */
static void suggest_key(oig_error *err, const char *key, int options) {
    const char *names[256];
    size_t n = 0;
    cJSON *docs[OIG_ALG_COUNT] = { NULL };
    for (int a = 0; a < OIG_ALG_COUNT; a++) {
        job_spec spec;
        memset(&spec, 0, sizeof spec);
        oig_config_init(&spec.cfg);
        spec.cfg.algorithm = (oig_algorithm)a;
        spec.distributed = 1;
        snprintf(spec.init_model_id, sizeof spec.init_model_id, "m");
        docs[a] = spec_json(&spec);
        const cJSON *from = options ? cJSON_GetObjectItemCaseSensitive(docs[a], "options") : docs[a], *e;
        cJSON_ArrayForEach(e, from)
            if (n < sizeof names / sizeof names[0]) names[n++] = e->string;
    }
    suggest_append(err->message, sizeof err->message, key, names, n, "");
    for (int a = 0; a < OIG_ALG_COUNT; a++) cJSON_Delete(docs[a]);
}

static oig_status parse_options(const cJSON *opts, oig_config *c, oig_error *err) {
    const cJSON *e;
    char field[64];
    cJSON_ArrayForEach(e, opts) {
        const char *k = e->string;
        snprintf(field, sizeof field, "options.%s", k);
        long n;
        int b;
        int rel = parse_related_option(k, e, c, field, err);
        if (rel < 0) return OIG_EINVAL;
        if (rel > 0) continue;
        if (strcmp(k, "standardize") == 0) { if (get_bool(e, &b)) return fail(err, field, "expected a boolean"); c->standardize = b; }
        else if (strcmp(k, "bypass") == 0) { if (get_bool(e, &b)) return fail(err, field, "expected a boolean"); c->bypass = b; }
        else if (strcmp(k, "bias_gain") == 0) { if (get_bool(e, &b)) return fail(err, field, "expected a boolean"); c->bias_gain = b; }
        else if (strcmp(k, "clamp_gains") == 0) { if (get_bool(e, &b)) return fail(err, field, "expected a boolean"); c->clamp_gains = b; }
        else if (strcmp(k, "md") == 0) { if (get_num(e, &c->md)) return fail(err, field, "expected a number"); }
        else if (strcmp(k, "sigmad") == 0) { if (get_num(e, &c->sigmad)) return fail(err, field, "expected a number"); }
        else if (strcmp(k, "ols_eps") == 0) { if (get_num(e, &c->ols_eps)) return fail(err, field, "expected a number"); }
        else if (strcmp(k, "oig_ridge") == 0) { if (get_num(e, &c->oig_ridge)) return fail(err, field, "expected a number"); }
        else if (strcmp(k, "lm_lambda0") == 0) { if (get_num(e, &c->lm_lambda0)) return fail(err, field, "expected a number"); }
        else if (strcmp(k, "max_halvings") == 0) { if (get_int(e, 0, 1000, &n)) return fail(err, field, "expected an integer 0..1000"); c->max_halvings = (int)n; }
        else if (strcmp(k, "lm_max_retries") == 0) { if (get_int(e, 0, 1000, &n)) return fail(err, field, "expected an integer 0..1000"); c->lm_max_retries = (int)n; }
        else if (strcmp(k, "patience") == 0) { if (get_int(e, 0, 1000000000L, &n)) return fail(err, field, "expected an integer >= 0"); c->patience = (int)n; }
        else if ((n = lm_choice_index(k)) >= 0) {
            if (!cJSON_IsString(e) || oig_lm_choice_set(c, (int)n, e->valuestring) != 0) {
                char msg[64];
                snprintf(msg, sizeof msg, "expected %s", oig_lm_choice_values((int)n));
                return fail(err, field, msg);
            }
        }
        else {
            fail(err, field, "unknown option");
            suggest_key(err, k, 1);
            return OIG_EINVAL;
        }
    }
    return OIG_OK;
}

oig_status job_spec_parse(const cJSON *req, job_spec *spec, char **normalized, oig_error *err) {
    memset(spec, 0, sizeof *spec);
    memset(err, 0, sizeof *err);
    if (normalized) *normalized = NULL;
    oig_config *c = &spec->cfg;
    oig_config_init(c);
    if (!cJSON_IsObject(req)) return fail(err, "body", "expected a JSON object");
    const cJSON *e, *opts = NULL;
    int have_ds = 0;
    cJSON_ArrayForEach(e, req) {
        const char *k = e->string;
        long n;
        if (strcmp(k, "dataset_id") == 0) {
            if (!cJSON_IsString(e) || !*e->valuestring || strlen(e->valuestring) >= STORE_ID_MAX)
                return fail(err, k, "expected a dataset id");
            snprintf(spec->dataset_id, sizeof spec->dataset_id, "%s", e->valuestring);
            have_ds = 1;
        } else if (strcmp(k, "algorithm") == 0) {
            if (!cJSON_IsString(e) || oig_algorithm_parse(e->valuestring, &c->algorithm) != 0)
                return fail(err, k, "unknown algorithm (owo, bp, hwo, oig-bp, oig-hwo, lm, slnb, osgd, sgd, ngmnn)");
        } else if (strcmp(k, "hidden_units") == 0) {
            if (get_int(e, 1, 100000, &n)) return fail(err, k, "expected an integer >= 1");
            c->nh = (int)n;
        } else if (strcmp(k, "max_iterations") == 0) {
            if (get_int(e, 0, 100000000L, &n)) return fail(err, k, "expected an integer >= 0");
            c->max_iterations = (int)n;
        } else if (strcmp(k, "seed") == 0) {
            if (get_int(e, 0, 9007199254740992L, &n)) return fail(err, k, "expected an integer 0..2^53");
            c->seed = (uint64_t)n;
        } else if (strcmp(k, "validation_fraction") == 0) {
            if (get_num(e, &spec->validation_fraction) || spec->validation_fraction < 0 || spec->validation_fraction >= 1)
                return fail(err, k, "expected a number in [0, 1)");
        } else if (strcmp(k, "target_mse") == 0) {
            if (!cJSON_IsNull(e) && (get_num(e, &c->target_mse) || c->target_mse < 0))
                return fail(err, k, "expected a number >= 0");
        } else if (strcmp(k, "max_seconds") == 0) {
            if (!cJSON_IsNull(e) && (get_num(e, &c->max_seconds) || c->max_seconds < 0))
                return fail(err, k, "expected a number >= 0");
        } else if (strcmp(k, "options") == 0) {
            if (!cJSON_IsObject(e)) return fail(err, k, "expected an object");
            opts = e;
        } else if (strcmp(k, "distributed") == 0) {
            if (!cJSON_IsBool(e)) return fail(err, k, "expected a boolean");
            spec->distributed = cJSON_IsTrue(e);
        } else if (strcmp(k, "init_model_id") == 0) {
            if (!cJSON_IsString(e) || !*e->valuestring || strlen(e->valuestring) >= STORE_ID_MAX)
                return fail(err, k, "expected a model id");
            snprintf(spec->init_model_id, sizeof spec->init_model_id, "%s", e->valuestring);
        } else {
            fail(err, k, "unknown field");
            suggest_key(err, k, 0);
            return OIG_EINVAL;
        }
    }
    if (!have_ds) return fail(err, "dataset_id", "required");
    if (opts && parse_options(opts, c, err) != OIG_OK) return OIG_EINVAL;
    oig_error ce;
    memset(&ce, 0, sizeof ce);
    if (oig_config_check(c, &ce) != OIG_OK) {
        const char *f = ce.field[0] ? ce.field : "options";
        static const char *top[] = {"algorithm", "nh", "max_iterations", "seed", "target_mse", "max_seconds", NULL};
        char field[64];
        int is_top = 0;
        for (int i = 0; top[i]; i++) if (strcmp(f, top[i]) == 0) is_top = 1;
        if (strcmp(f, "nh") == 0) snprintf(field, sizeof field, "hidden_units");
        else if (is_top || strncmp(f, "options", 7) == 0) snprintf(field, sizeof field, "%s", f);
        else snprintf(field, sizeof field, "options.%.48s", f);
        snprintf(err->field, sizeof err->field, "%s", field);
        snprintf(err->message, sizeof err->message, "%.63s: %.180s", field, ce.message[0] ? ce.message : "invalid value");
        return OIG_EINVAL;
    }
    if (!normalized) return OIG_OK;
    cJSON *o = spec_json(spec);
    *normalized = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!*normalized) { snprintf(err->message, sizeof err->message, "out of memory"); return OIG_ENOMEM; }
    return OIG_OK;
}

/* ---- the runner ------------------------------------------------------------------------- */

#define BATCH_MAX 256
#define FLUSH_SECONDS 0.5
#define PUBLISH_SECONDS 0.05      /* at most ~20 progress events a second */

enum { STOP_NONE = 0, STOP_CANCEL, STOP_SHUTDOWN, STOP_STORE };

typedef struct {
    const job_env *env;
    const char *id;
    store_metric batch[BATCH_MAX];  /* rows the history keeps (history.h), not yet stored */
    int nbatch;
    store_metric latest;            /* the last iteration reported, kept or not */
    int have_latest, last_kept;     /* last_kept: the last iteration put in the batch */
    double last_flush, last_ckpt, last_publish;
    int stop;
    int last_iteration;
    int ckpt_iteration;             /* the last checkpoint stored, -1 before one */
    int distributed;                /* store every checkpoint reported (the child times them) */
} run_state;

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int flush(run_state *rs, const oig_model *ckpt, int ckpt_iteration) {
    char *doc = NULL;
    if (ckpt && !(doc = model_doc_write(ckpt, NULL))) return -1;
    store_status rc = store_job_progress(rs->env->st, rs->id, rs->batch, rs->nbatch,
                                         rs->have_latest ? &rs->latest : NULL, doc, ckpt_iteration);
    free(doc);
    if (rc != STORE_OK) {
        fprintf(stderr, "oigd: job %s: cannot record progress: %s\n", rs->id, store_errmsg(rs->env->st));
        return -1;
    }
    rs->nbatch = 0;
    rs->last_flush = mono();
    if (ckpt) {
        rs->last_ckpt = rs->last_flush;
        rs->ckpt_iteration = ckpt_iteration;
    }
    return 0;
}

/* The run is over: its last iteration joins the history if the rule left it out, and what is
 * left goes to the store. 0, or -1 when the store failed. */
static int flush_last(run_state *rs) {
    if (rs->have_latest && rs->latest.iteration != rs->last_kept) {
        rs->batch[rs->nbatch++] = rs->latest;
        rs->last_kept = rs->latest.iteration;
    }
    return rs->nbatch > 0 ? flush(rs, NULL, 0) : 0;
}

static int on_progress(const oig_progress *p, void *ud) {
    run_state *rs = ud;
    store_metric *m = &rs->latest;
    m->iteration = p->iteration;
    m->train_mse = p->train_mse;
    m->val_mse = p->val_mse;
    m->train_err = p->train_err;
    m->val_err = p->val_err;
    m->multiplies = p->multiplies;
    m->seconds = p->seconds;
    rs->have_latest = 1;
    if (history_keeps(p->iteration)) {
        rs->batch[rs->nbatch++] = *m;
        rs->last_kept = p->iteration;
    }
    rs->last_iteration = p->iteration;
    if (rs->env->iterations) atomic_fetch_add_explicit(rs->env->iterations, 1, memory_order_relaxed);

    if (atomic_load(rs->env->cancel)) rs->stop = STOP_CANCEL;
    else if (atomic_load(rs->env->shutdown)) rs->stop = STOP_SHUTDOWN;
    double now = mono();
    /* a distributed run reports a model only with the checkpoints its child wrote */
    int ckpt = p->model && (rs->distributed || now - rs->last_ckpt >= rs->env->checkpoint_seconds ||
                            rs->stop == STOP_SHUTDOWN);
    if (rs->nbatch == BATCH_MAX || now - rs->last_flush >= FLUSH_SECONDS || ckpt || rs->stop) {
        if (flush(rs, ckpt ? p->model : NULL, p->iteration) != 0) {
            rs->stop = STOP_STORE;
            rs->nbatch = 0;
        }
    }
    if (now - rs->last_publish >= PUBLISH_SECONDS || rs->stop) {
        hub_progress hp = {p->iteration, p->train_mse, p->val_mse, p->train_err, p->val_err,
                           p->multiplies, p->seconds};
        hub_publish_progress(rs->env->hub, rs->id, &hp);
        rs->last_publish = now;
    }
    return rs->stop ? OIG_STOP : OIG_CONTINUE;
}

static void finish(const job_env *env, const char *id, const char *status, const char *error,
                   const oig_model *mdl, int iterations) {
    char *doc = mdl ? model_doc_write(mdl, NULL) : NULL;
    char mid[STORE_ID_MAX] = "";
    if (mdl && !doc) { status = "failed"; error = "cannot serialize the model"; }
    if (store_job_finish(env->st, id, status, error, doc ? mdl : NULL, doc, mid) != STORE_OK) {
        fprintf(stderr, "oigd: job %s: cannot record the result: %s\n", id, store_errmsg(env->st));
        free(doc);
        return;
    }
    free(doc);
    if (mid[0]) fprintf(stderr, "oigd: job %s %s after %d iterations, model %s\n", id, status, iterations, mid);
    else fprintf(stderr, "oigd: job %s %s%s%s\n", id, status, error ? ": " : "", error ? error : "");
    hub_publish_status(env->hub, id, status);
}

static job_result requeue(const job_env *env, const char *id) {
    if (store_job_requeue(env->st, id) != STORE_OK) return JOB_ERROR;
    fprintf(stderr, "oigd: job %s queued (stopped by shutdown, resumable)\n", id);
    hub_publish_status(env->hub, id, "queued");
    return JOB_REQUEUED;
}

/* The job's last checkpoint, as the model to resume (*resume, its summary at *iteration), or
 * NULL and -1 when there is none; an unreadable one is logged and training starts over. 0, or
 * -1 when the store cannot be read. */
static int load_checkpoint(const job_env *env, const char *id, oig_model **resume, int *iteration) {
    char *doc = NULL;
    *resume = NULL;
    *iteration = -1;
    store_status ss = store_job_checkpoint(env->st, id, &doc, iteration);
    if (ss == STORE_NOTFOUND) { *iteration = -1; return 0; }
    if (ss != STORE_OK) return -1;
    oig_error err;
    memset(&err, 0, sizeof err);
    if (model_doc_read(doc, strlen(doc), resume, &err) != OIG_OK) {
        fprintf(stderr, "oigd: job %s: checkpoint unreadable (%s), starting over\n", id, err.message);
        *resume = NULL;
        *iteration = -1;
    } else {
        (*resume)->summary.iterations = *iteration;
    }
    free(doc);
    return 0;
}

/* The stored model a job starts from (init_model_id), into *init. 0, or -1 with the reason in
 * msg. */
static int load_init_model(const job_env *env, const job_spec *spec, oig_model **init, char *msg, size_t cap) {
    char *doc = NULL;
    store_status ss = store_model_doc(env->st, spec->init_model_id, &doc);
    if (ss != STORE_OK) {
        snprintf(msg, cap, "%s", ss == STORE_NOTFOUND ? "the init model no longer exists" : "cannot load the init model");
        return -1;
    }
    oig_error err;
    memset(&err, 0, sizeof err);
    int rc = model_doc_read(doc, strlen(doc), init, &err) == OIG_OK ? 0 : -1;
    if (rc) snprintf(msg, cap, "the init model cannot be read");
    free(doc);
    return rc;
}

/* A distributed job: the child `oigd train` under the MPI launcher trains on the whole dataset
 * (it splits it with the same seed), its progress lines go through on_progress with the
 * checkpoints it writes, and its model is stored like an in-process one. An interrupted run
 * goes back to the queue with the rows up to its last checkpoint, and the next attempt's child
 * resumes from that checkpoint (--resume). */
static job_result run_distributed(const job_env *env, const char *id, const job_spec *spec,
                                  const oig_data *data) {
    if (!env->mpi_launcher || !env->mpi_launcher[0]) {
        finish(env, id, "failed", "distributed: this daemon runs without --mpi-launcher", NULL, 0);
        return JOB_DONE;
    }
    oig_model *resume = NULL, *init = NULL, *out = NULL;
    char *resume_doc = NULL, *init_doc = NULL, msg[300];
    job_result result = JOB_DONE;
    int ck_iter = -1;
    if (load_checkpoint(env, id, &resume, &ck_iter) != 0) {
        finish(env, id, "failed", "cannot read the checkpoint", NULL, 0);
        goto done;
    }
    if (store_job_trim_metrics(env->st, id, ck_iter) != STORE_OK) {
        finish(env, id, "failed", "cannot prepare the metrics history", NULL, 0);
        goto done;
    }
    if (atomic_load(env->shutdown)) { result = requeue(env, id); goto done; }
    if (!resume && spec->init_model_id[0] && load_init_model(env, spec, &init, msg, sizeof msg) != 0) {
        finish(env, id, "failed", msg, NULL, 0);
        goto done;
    }
    if ((resume && !(resume_doc = model_doc_write(resume, NULL))) || (init && !(init_doc = model_doc_write(init, NULL)))) {
        finish(env, id, "failed", "out of memory", NULL, 0);
        goto done;
    }
    if (resume) fprintf(stderr, "oigd: job %s running distributed (resumed from iteration %d)\n", id, ck_iter);
    else fprintf(stderr, "oigd: job %s running distributed (%s, Nh %d, %d iterations)\n", id,
                 oig_algorithm_name(spec->cfg.algorithm), spec->cfg.nh, spec->cfg.max_iterations);
    hub_publish_status(env->hub, id, "running");
    run_state *rs = calloc(1, sizeof *rs);
    if (!rs) { finish(env, id, "failed", "out of memory", NULL, 0); goto done; }
    rs->env = env;
    rs->id = id;
    rs->last_flush = rs->last_ckpt = mono();
    rs->last_iteration = rs->ckpt_iteration = rs->last_kept = ck_iter;
    rs->distributed = 1;
    mpi_launch_req rq = {env->mpi_launcher, id, data, spec, env->cancel, env->shutdown, 5.0,
                         env->checkpoint_seconds, resume_doc, init_doc};
    mpi_launch_result r = mpi_launch_run(&rq, on_progress, rs, &out, msg, sizeof msg);
    int stop = rs->stop;
    if (flush_last(rs) != 0) stop = STOP_STORE;
    int iters = out ? out->summary.iterations : rs->last_iteration;
    int kept = rs->ckpt_iteration;
    free(rs);
    if (r == MPI_LAUNCH_DONE && stop == STOP_NONE) finish(env, id, "succeeded", NULL, out, iters);
    else if (stop == STOP_STORE) finish(env, id, "failed", "the store could not record progress", NULL, iters);
    else if (r != MPI_LAUNCH_FAILED && atomic_load(env->cancel)) finish(env, id, "cancelled", NULL, NULL, iters);
    else if (r != MPI_LAUNCH_FAILED && atomic_load(env->shutdown)) {
        /* the rows past the last checkpoint will be produced again */
        if (store_job_trim_metrics(env->st, id, kept) != STORE_OK)
            fprintf(stderr, "oigd: job %s: cannot delete the metrics past the last checkpoint\n", id);
        result = requeue(env, id);
    } else finish(env, id, "failed", r == MPI_LAUNCH_FAILED ? msg : "the distributed run stopped", NULL, iters);
done:
    oig_model_free(out);
    oig_model_free(resume);
    oig_model_free(init);
    free(resume_doc);
    free(init_doc);
    return result;
}

job_result job_run(const job_env *env, const char *id) {
    store *st = env->st;
    char *params = NULL, dsid[STORE_ID_MAX];
    oig_data *data = NULL, *train = NULL, *val = NULL;
    oig_model *resume = NULL, *out = NULL, *init = NULL;
    job_result result = JOB_DONE;
    char msg[300];
    oig_error err;
    memset(&err, 0, sizeof err);

    cJSON *job = NULL;
    if (store_job_get(st, id, &job) == STORE_OK) {
        cJSON *cr = cJSON_GetObjectItemCaseSensitive(job, "cancel_requested");
        if (cJSON_IsTrue(cr)) atomic_store(env->cancel, 1);
    }
    cJSON_Delete(job);
    if (atomic_load(env->cancel)) { finish(env, id, "cancelled", NULL, NULL, 0); goto done; }

    if (store_job_params(st, id, &params, dsid) != STORE_OK) {
        finish(env, id, "failed", "the job's parameters cannot be read", NULL, 0);
        goto done;
    }
    cJSON *req = cJSON_Parse(params);
    job_spec spec;
    oig_status os = job_spec_parse(req, &spec, NULL, &err);
    cJSON_Delete(req);
    if (os != OIG_OK) { finish(env, id, "failed", err.message, NULL, 0); goto done; }

    store_status ss = store_dataset_load(st, dsid, &data);
    if (ss != STORE_OK) {
        finish(env, id, "failed", ss == STORE_NOTFOUND ? "the dataset no longer exists" : "cannot load the dataset", NULL, 0);
        goto done;
    }
    if (spec.distributed) { result = run_distributed(env, id, &spec, data); goto done; }
    /* the training rows stay in the loaded copy; only the validation rows are copied out */
    os = spec.validation_fraction > 0 ? oig_data_split_inplace(data, spec.validation_fraction, spec.cfg.seed, &val)
                                      : OIG_OK;
    if (os == OIG_OK) { train = data; data = NULL; }
    if (os != OIG_OK) {
        snprintf(msg, sizeof msg, "cannot split the dataset: %s", oig_status_name(os));
        finish(env, id, "failed", msg, NULL, 0);
        goto done;
    }

    int ck_iter = -1;
    if (load_checkpoint(env, id, &resume, &ck_iter) != 0) {
        finish(env, id, "failed", "cannot read the checkpoint", NULL, 0);
        goto done;
    }
    /* metrics after the checkpoint will be produced again: drop them so history stays continuous */
    if (store_job_trim_metrics(st, id, ck_iter) != STORE_OK) {
        finish(env, id, "failed", "cannot prepare the metrics history", NULL, 0);
        goto done;
    }
    if (atomic_load(env->shutdown)) { result = requeue(env, id); goto done; }
    if (!resume && spec.init_model_id[0]) {
        /* warm start: the stored model's weights (a checkpoint, when there is one, wins) */
        if (load_init_model(env, &spec, &init, msg, sizeof msg) != 0) {
            finish(env, id, "failed", msg, NULL, 0);
            goto done;
        }
        spec.cfg.init_model = init;
    }

    if (resume) fprintf(stderr, "oigd: job %s running (resumed from iteration %d)\n", id, ck_iter);
    else fprintf(stderr, "oigd: job %s running (%s, Nh %d, %d iterations)\n", id,
                 oig_algorithm_name(spec.cfg.algorithm), spec.cfg.nh, spec.cfg.max_iterations);
    hub_publish_status(env->hub, id, "running");

    run_state *rs = calloc(1, sizeof *rs);
    if (!rs) { finish(env, id, "failed", "out of memory", NULL, 0); goto done; }
    rs->env = env;
    rs->id = id;
    rs->last_flush = rs->last_ckpt = mono();
    rs->last_iteration = rs->ckpt_iteration = rs->last_kept = ck_iter;
    memset(&err, 0, sizeof err);
    os = train_threads_run(env->train_threads, train, val, &spec.cfg, resume, on_progress, rs, &out, &err);
    int stop = rs->stop;
    if (flush_last(rs) != 0) stop = STOP_STORE;
    int iters = out ? out->summary.iterations : rs->last_iteration;
    free(rs);

    if (os == OIG_OK || (os == OIG_ESTOPPED && stop == STOP_NONE)) {
        finish(env, id, "succeeded", NULL, out, iters);
    } else if (os == OIG_ESTOPPED && stop == STOP_CANCEL) {
        finish(env, id, "cancelled", NULL, NULL, iters);
    } else if (os == OIG_ESTOPPED && stop == STOP_SHUTDOWN) {
        result = requeue(env, id);
    } else if (stop == STOP_STORE) {
        finish(env, id, "failed", "the store could not record progress", NULL, iters);
    } else {
        snprintf(msg, sizeof msg, "%s%s%s", oig_status_name(os), err.message[0] ? ": " : "", err.message);
        finish(env, id, "failed", msg, NULL, iters);
    }
done:
    oig_model_free(out);
    oig_model_free(resume);
    oig_model_free(init);
    oig_data_free(train);
    oig_data_free(val);
    oig_data_free(data);
    free(params);
    return result;
}

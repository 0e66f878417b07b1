/* train.c -- placeholder until the trainers land. */
#include "oig.h"
#include <string.h>
#include <stdio.h>

oig_status oig_train(oig_data *train, oig_data *val, const oig_config *cfg,
                     const oig_model *resume, oig_progress_fn cb, void *ud,
                     oig_model **out, oig_error *err) {
    (void)train; (void)val; (void)cfg; (void)resume; (void)cb; (void)ud;
    *out = NULL;
    if (err) snprintf(err->message, sizeof err->message, "training is not built yet");
    return OIG_EINVAL;
}
void oig_config_init(oig_config *c) { memset(c, 0, sizeof *c); }
oig_status oig_config_check(const oig_config *c, oig_error *err) { (void)c; (void)err; return OIG_OK; }
void oig_sigmoid_inplace(double *v, size_t n) { (void)v; (void)n; }

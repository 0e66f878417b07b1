/* support_model.h -- comparing two models in the suites that train the same run two ways.
 * Linked into every test binary; failures are libcheck assertions. */
#ifndef OIGD_SUPPORT_MODEL_H
#define OIGD_SUPPORT_MODEL_H

#include "oig.h"

/* The largest difference between the two models' weights and input normalization, relative to
 * the largest magnitude among a's (infinity when any difference is NaN); asserts that the shapes
 * match. */
double support_model_diff(const oig_model *a, const oig_model *b);
#endif

/* support_model.c -- comparing two models (support_model.h). */
#include "support_model.h"

#include <check.h>
#include <math.h>

double support_model_diff(const oig_model *a, const oig_model *b) {
    ck_assert_int_eq(a->n, b->n);
    ck_assert_int_eq(a->nh, b->nh);
    ck_assert_int_eq(a->m, b->m);
    const double *pa[5] = { a->w, a->woi, a->woh, a->in_mean, a->in_scale };
    const double *pb[5] = { b->w, b->woi, b->woh, b->in_mean, b->in_scale };
    size_t len[5] = { (size_t)a->nh * (a->n + 1), (size_t)a->m * (a->n + 1), (size_t)a->m * a->nh,
                      (size_t)a->n, (size_t)a->n };
    double dmax = 0, amax = 0;
    for (int k = 0; k < 5; k++)
        for (size_t i = 0; i < len[k]; i++) {
            double d = fabs(pa[k][i] - pb[k][i]);
            if (d > dmax || isnan(d)) dmax = isnan(d) ? INFINITY : d;   /* NaN never passes */
            if (fabs(pa[k][i]) > amax) amax = fabs(pa[k][i]);
        }
    return dmax / (amax > 0 ? amax : 1);
}

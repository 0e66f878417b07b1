/* osgd.c -- Orthogonalized SGD (spec related_methods.md B): modified Gram-Schmidt over the exits'
 * gradients per parameter block, the momentum step, and the one-hidden-layer anytime networks
 * `bypass2` and `width` (forward per exit, per-exit gradients). Owns osgd_state only; plain SGD
 * on the same network (the comparator) is the same code with orthogonalize = 0.
 */
#include "related.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void osgd_opts_init(osgd_opts *o) {
    o->eta = 0.01;
    o->momentum = 0.9;
    o->weight_decay = 1e-4;
    o->granularity = OSGD_GRAN_BLOCK;
    o->rescale = OSGD_RESCALE_NONE;
    o->eps_rel = 1e-12;
    o->orthogonalize = 1;
}

/* Modified Gram-Schmidt in exit order: each earlier kept v_j's projection is subtracted from
 * the running residual. K <= OSGD_MAX_EXITS; g[k] len doubles or NULL; v K x len; d len. */
void osgd_combine(int K, size_t len, const double *const *g, const osgd_opts *o,
                  double *v, double *d) {
    double nv[OSGD_MAX_EXITS];
    double gmax = 0.0;
    if (K > OSGD_MAX_EXITS) K = OSGD_MAX_EXITS;
    for (int k = 0; k < K; k++) {
        if (g[k] == NULL) continue;
        double nk = cblas_ddot((int)len, g[k], 1, g[k], 1);
        if (nk > gmax) gmax = nk;
    }
    double eps = o->eps_rel * gmax;
    memset(d, 0, len * sizeof(double));
    for (int k = 0; k < K; k++) {
        double *vk = v + (size_t)k * len;
        nv[k] = 0.0;
        if (g[k] == NULL) { memset(vk, 0, len * sizeof(double)); continue; }
        memcpy(vk, g[k], len * sizeof(double));
        if (!o->orthogonalize) {
            for (size_t i = 0; i < len; i++) d[i] += vk[i];
            continue;
        }
        int projected = 0;
        for (int j = 0; j < k; j++) {
            if (!(nv[j] > eps)) continue;
            const double *vj = v + (size_t)j * len;
            double c = cblas_ddot((int)len, vk, 1, vj, 1) / nv[j];
            cblas_daxpy((int)len, -c, vj, 1, vk, 1);
            projected = 1;
        }
        double nk = cblas_ddot((int)len, vk, 1, vk, 1);
        if (projected && nk <= eps) {                 /* only rounding is left of g_k */
            memset(vk, 0, len * sizeof(double));
            nk = 0.0;
        } else if (o->rescale == OSGD_RESCALE_NORM && projected && nk > 0.0) {
            double gk2 = cblas_ddot((int)len, g[k], 1, g[k], 1);
            cblas_dscal((int)len, sqrt(gk2 / nk), vk, 1);
            nk = gk2;
        }
        nv[k] = nk;
        for (size_t i = 0; i < len; i++) d[i] += vk[i];
    }
}

void osgd_destroy(osgd_state *s) {
    if (s == NULL) return;
    free(s->c); free(s->head_off); free(s->blocks); free(s->theta);
    free(s->g); free(s->v); free(s->d); free(s->mom);
    free(s->xt); free(s->hid); free(s->y); free(s->e); free(s->delta); free(s->exit_mse);
    free(s);
}

osgd_state *osgd_create(osgd_anytime kind, int n, int nh, int m, int K, int nb_max,
                        const osgd_opts *o, oig_status *st) {
    oig_status dummy;
    if (st == NULL) st = &dummy;
    *st = OIG_EINVAL;
    if (n <= 0 || nh <= 0 || m <= 0 || nb_max <= 0 || o == NULL) return NULL;
    if (kind == OSGD_ANYTIME_OFF) K = 1;
    else if (kind == OSGD_ANYTIME_BYPASS2) K = 2;
    else if (kind != OSGD_ANYTIME_WIDTH || K < 2 || K > OSGD_MAX_EXITS) return NULL;
    if (kind == OSGD_ANYTIME_WIDTH && (nh >> (K - 1)) < 1) return NULL;
    *st = OIG_ENOMEM;
    osgd_state *s = calloc(1, sizeof *s);
    if (s == NULL) return NULL;
    s->kind = kind; s->n = n; s->nh = nh; s->m = m; s->K = K; s->nb_max = nb_max; s->o = *o;
    size_t n1 = (size_t)n + 1, nw = (size_t)nh * n1, no = (size_t)m * n1;
    s->c = calloc((size_t)K, sizeof(int));
    s->head_off = calloc((size_t)K, sizeof(size_t));
    s->blocks = calloc(2 * (size_t)K + 1, sizeof(osgd_block));
    s->exit_mse = calloc((size_t)K, sizeof(double));
    if (!s->c || !s->head_off || !s->blocks || !s->exit_mse) goto err;
    if (kind == OSGD_ANYTIME_WIDTH) {
        size_t off = nw;
        for (int k = 0; k < K; k++) {
            s->c[k] = nh >> (K - 1 - k);
            s->head_off[k] = off;
            off += no + (size_t)m * s->c[k];
        }
        s->np = off;
        int prev = 0;
        for (int j = 0; j < K; j++) {              /* hidden block h_j: rows c_{j-1}..c_j - 1 */
            s->blocks[s->nblocks++] = (osgd_block){ (size_t)prev * n1,
                                                    (size_t)(s->c[j] - prev) * n1, j, K - 1 };
            prev = s->c[j];
        }
        for (int k = 0; k < K; k++)
            s->blocks[s->nblocks++] = (osgd_block){ s->head_off[k], no + (size_t)m * s->c[k], k, k };
    } else {
        s->np = nw + no + (size_t)m * nh;
        for (int k = 0; k < K; k++) s->head_off[k] = nw;
        s->c[K - 1] = nh;                          /* bypass2: exit 1 sees no hidden unit */
        s->blocks[s->nblocks++] = (osgd_block){ 0, nw, K - 1, K - 1 };             /* W */
        s->blocks[s->nblocks++] = (osgd_block){ nw, no, 0, K - 1 };                /* W_oi */
        s->blocks[s->nblocks++] = (osgd_block){ nw + no, (size_t)m * nh, K - 1, K - 1 }; /* W_oh */
    }
    s->theta = calloc(s->np, sizeof(double));
    s->g = calloc((size_t)K * s->np, sizeof(double));
    s->v = calloc((size_t)K * s->np, sizeof(double));
    s->d = calloc(s->np, sizeof(double));
    s->mom = calloc(s->np, sizeof(double));
    s->xt = calloc((size_t)nb_max * n1, sizeof(double));
    s->hid = calloc((size_t)nb_max * nh, sizeof(double));
    s->y = calloc((size_t)nb_max * m, sizeof(double));
    s->e = calloc((size_t)nb_max * m, sizeof(double));
    s->delta = calloc((size_t)nb_max * nh, sizeof(double));
    if (!s->theta || !s->g || !s->v || !s->d || !s->mom || !s->xt || !s->hid || !s->y || !s->e ||
        !s->delta)
        goto err;
    *st = OIG_OK;
    return s;
err:
    osgd_destroy(s);
    return NULL;
}

void osgd_head(osgd_state *s, int k, double **woi, double **woh) {
    double *h = s->theta + s->head_off[k];
    if (woi) *woi = h;
    if (woh) *woh = h + (size_t)s->m * (s->n + 1);
}

oig_status osgd_load(osgd_state *s, const oig_model *mdl) {
    int n = s->n, nh = s->nh, m = s->m;
    if (mdl == NULL || mdl->n != n || mdl->nh != nh || mdl->m != m) return OIG_EINVAL;
    size_t n1 = (size_t)n + 1;
    memcpy(s->theta, mdl->w, (size_t)nh * n1 * sizeof(double));
    for (int k = 0; k < s->K; k++) {
        double *woi, *woh;
        osgd_head(s, k, &woi, &woh);
        memcpy(woi, mdl->woi, (size_t)m * n1 * sizeof(double));
        for (int i = 0; i < m; i++)
            memcpy(woh + (size_t)i * s->c[k], mdl->woh + (size_t)i * nh,
                   (size_t)s->c[k] * sizeof(double));
    }
    memset(s->mom, 0, s->np * sizeof(double));
    return OIG_OK;
}

oig_status osgd_store(const osgd_state *s, oig_model *mdl) {
    int n = s->n, nh = s->nh, m = s->m;
    if (mdl == NULL || mdl->n != n || mdl->nh != nh || mdl->m != m) return OIG_EINVAL;
    size_t n1 = (size_t)n + 1;
    const double *h = s->theta + s->head_off[s->K - 1];
    memcpy(mdl->w, s->theta, (size_t)nh * n1 * sizeof(double));
    memcpy(mdl->woi, h, (size_t)m * n1 * sizeof(double));
    memcpy(mdl->woh, h + (size_t)m * n1, (size_t)m * nh * sizeof(double));
    return OIG_OK;
}

/* Exit k on standardized rows x (nrows x N): only the first c_k hidden units are computed.
 * y nrows x M, work nrows x Nh. */
void osgd_predict_exit(const osgd_state *s, int k, const double *x, size_t nrows, double *y,
                       double *work) {
    int n = s->n, m = s->m, ck = s->c[k];
    const double *woi = s->theta + s->head_off[k], *woh = woi + (size_t)m * (n + 1);
    for (size_t p = 0; p < nrows; p++)
        for (int i = 0; i < m; i++) y[p * m + i] = woi[(size_t)i * (n + 1) + n];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nrows, m, n, 1.0, x, n, woi, n + 1,
                1.0, y, m);
    if (ck == 0) return;
    for (size_t p = 0; p < nrows; p++)
        for (int j = 0; j < ck; j++) work[p * ck + j] = s->theta[(size_t)j * (n + 1) + n];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nrows, ck, n, 1.0, x, n, s->theta,
                n + 1, 1.0, work, ck);
    oig_sigmoid_inplace(work, nrows * (size_t)ck);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nrows, m, ck, 1.0, work, ck, woh, ck,
                1.0, y, m);
}

double osgd_exit_multiplies(const osgd_state *s, int k) {
    return (double)s->n * s->m + (double)s->c[k] * (s->n + s->m);
}

/* Per-exit E_k = (1/nb) sum ||t - y_k||^2 and its gradient g_k (np, zero outside the blocks
 * exit k reaches). x nb x N, t nb x M. */
oig_status osgd_gradients(osgd_state *s, const double *x, const double *t, int nb) {
    int n = s->n, nh = s->nh, m = s->m, n1 = n + 1;
    if (nb <= 0 || nb > s->nb_max) return OIG_EINVAL;
    for (int p = 0; p < nb; p++) {
        memcpy(s->xt + (size_t)p * n1, x + (size_t)p * n, (size_t)n * sizeof(double));
        s->xt[(size_t)p * n1 + n] = 1.0;
    }
    int cmax = s->c[s->K - 1];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, cmax, n1, 1.0, s->xt, n1, s->theta,
                n1, 0.0, s->hid, nh);
    for (int p = 0; p < nb; p++) oig_sigmoid_inplace(s->hid + (size_t)p * nh, (size_t)cmax);
    s->multiplies += (double)nb * n1 * cmax;
    memset(s->g, 0, (size_t)s->K * s->np * sizeof(double));
    for (int k = 0; k < s->K; k++) {
        int ck = s->c[k];
        const double *woi = s->theta + s->head_off[k], *woh = woi + (size_t)m * n1;
        double *gk = s->g + (size_t)k * s->np;
        double *gwoi = gk + s->head_off[k], *gwoh = gwoi + (size_t)m * n1;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, m, n1, 1.0, s->xt, n1, woi, n1,
                    0.0, s->e, m);
        if (ck > 0)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nb, m, ck, 1.0, s->hid, nh, woh,
                        ck, 1.0, s->e, m);
        double sse = 0.0;
        for (size_t i = 0; i < (size_t)nb * m; i++) {
            s->e[i] -= t[i];
            sse += s->e[i] * s->e[i];
        }
        s->exit_mse[k] = sse / nb;
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, n1, nb, 2.0 / nb, s->e, m, s->xt,
                    n1, 0.0, gwoi, n1);
        s->multiplies += 2.0 * nb * m * (n1 + ck);
        if (ck == 0) continue;
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, ck, nb, 2.0 / nb, s->e, m, s->hid,
                    nh, 0.0, gwoh, ck);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, ck, m, 1.0, s->e, m, woh, ck,
                    0.0, s->delta, nh);
        for (int p = 0; p < nb; p++)
            for (int j = 0; j < ck; j++) {
                double o = s->hid[(size_t)p * nh + j];
                s->delta[(size_t)p * nh + j] *= o * (1.0 - o);
            }
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ck, n1, nb, 2.0 / nb, s->delta, nh,
                    s->xt, n1, 0.0, gk, n1);
        s->multiplies += (double)nb * ck * (2.0 * m + 1.0 + n1);
    }
    return OIG_OK;
}

/* d = per-block (or global) Gram-Schmidt combination of the K exit gradients. */
void osgd_direction(osgd_state *s) {
    const double *gp[OSGD_MAX_EXITS];
    int K = s->K;
    if (s->o.granularity == OSGD_GRAN_GLOBAL) {
        for (int k = 0; k < K; k++) gp[k] = s->g + (size_t)k * s->np;
        osgd_combine(K, s->np, gp, &s->o, s->v, s->d);
    } else {
        for (int b = 0; b < s->nblocks; b++) {
            const osgd_block *B = &s->blocks[b];
            for (int k = 0; k < K; k++)
                gp[k] = (k >= B->first && k <= B->last) ? s->g + (size_t)k * s->np + B->off : NULL;
            osgd_combine(K, B->len, gp, &s->o, s->v, s->d + B->off);
        }
    }
    s->multiplies += 2.0 * K * K * (double)s->np;
}

/* m <- beta m + d; theta <- theta - eta (m + wd theta). */
void osgd_update(osgd_state *s) {
    double beta = s->o.momentum, eta = s->o.eta, wd = s->o.weight_decay;
    for (size_t i = 0; i < s->np; i++) {
        s->mom[i] = beta * s->mom[i] + s->d[i];
        s->theta[i] -= eta * (s->mom[i] + wd * s->theta[i]);
    }
}

oig_status osgd_step(osgd_state *s, const double *x, const double *t, int nb) {
    oig_status st = osgd_gradients(s, x, t, nb);
    if (st != OIG_OK) return st;
    osgd_direction(s);
    for (size_t i = 0; i < s->np; i++)
        if (!isfinite(s->d[i])) return OIG_ENUMERIC;
    osgd_update(s);
    return OIG_OK;
}

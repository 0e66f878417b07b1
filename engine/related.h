/* related.h -- numerical kernels of the related training methods (spec related_methods.md A-D):
 * SLNB (slnb_), OSGD anytime networks (osgd_), NGMNN closed-form layers (ngmnn_) and unitary
 * projection (unitary_). Internal to the engine and its white-box tests; the trainers that drive
 * these kernels own data loops, metrics, callbacks and the model document. No kernel allocates
 * inside a step: every state struct is made by a *_create and freed by the matching *_destroy.
 */
#ifndef OIG_RELATED_H
#define OIG_RELATED_H

#include "internal.h"
#include <stddef.h>

/* ======================================= A. SLNB ========================================= */
/* How a trainer drives it. After net control and the initial OWO, slnb_create(N, Nh, M,
 * bypass, Nb, &opts) once; each epoch shuffles the rows, and for every block of at most Nb
 * standardized rows (x: nb x N, t: nb x M, both row-major) calls slnb_step(s, model, x, t, nb),
 * which updates model->w, ->woi, ->woh in place. s->multiplies accumulates the cost; after the
 * epoch the trainer evaluates E and Pe on the whole set outside its timed work. slnb_destroy
 * at the end. The metric (moments, H_prev, momentum) persists across epochs. */

typedef struct {
    double b_g;          /* gradient EMA (momentum), debiased (0.9) */
    double b_mu, b_nu;   /* feature mean / second-moment EMAs (0.9 / 0.999) */
    double shrink;       /* cov_shrinkage s in [0,1) (0.1) */
    double gamma;        /* cg_ridge on weight columns, not the bias (0.1) */
    int cg_maxiter;      /* 2 */
    double cg_tol;       /* relative residual tolerance (1e-5) */
    double min_norm;     /* floor of the metric norm (1e-2) */
    double weight_decay; /* decoupled (1e-4) */
    int approx_metric;   /* 1: H = P(G), no CG (0) */
    double eta;          /* step (0.03) */
    int normalize;       /* 1: H/nrm (default); 0: raw H, for the exact-step checks of A6 */
    int use_moments;     /* 1: EMA moments (default); 0: batch moments, no EMA (A6 checks) */
} slnb_opts;

void slnb_opts_init(slnb_opts *o);

/* One linear neuron group ("layer"): weights nout x nin1 (row-major), input rows of nin1
 * columns of which column bias_col is the constant 1 (bias_col < 0: no bias column). */
typedef struct {
    int nout, nin1, bias_col, nb_max;
    long t;              /* moment updates so far */
    double *mu, *nu;     /* nin1: raw EMAs of x and x*x (bias entry unused) */
    double *mu_hat;      /* nin1: debiased mean used by the preconditioner (bias entry 0) */
    double *sig2s;       /* nin1: shrunk variances (bias entry unused) */
    double *h;           /* nout x nin1: H_prev, the warm start */
    double *mom;         /* nout x nin1: raw gradient EMA */
    double *g;           /* nout x nin1: debiased momentum, the CG right-hand side */
    double *r, *z, *p, *ap;  /* nout x nin1: PCG work */
    double *xv;          /* nout x nb_max: V X^T work of the metric product */
} slnb_layer;

slnb_layer *slnb_layer_create(int nout, int nin1, int bias_col, int nb_max);
void slnb_layer_destroy(slnb_layer *L);

/* out (nout x nin1) = A(V) = V*Sigma + gamma*V.*D, Sigma = X^T X / nb, X nb x nin1 (ld ldx),
 * D = 1 except on column bias_col. work >= nout*nb. Two GEMMs: 2*nb*nout*nin1 multiplies. */
void slnb_metric_apply(const double *x, int ldx, int nb, int nin1, int bias_col, double gamma,
                       const double *v, int nout, double *out, double *work);

/* Update the EMA moments of L from a batch X (nb x nin1, ld ldx) and refresh mu_hat and sig2s
 * (debiased, shrunk). With use_ema = 0 the batch moments replace them (no EMA, no debias). */
void slnb_moments_update(slnb_layer *L, const double *x, int ldx, int nb,
                         double b_mu, double b_nu, double shrink, int use_ema);

/* out (nout x nin1) = P(V): each row (w, b) -> w' = (w - b mu)/sig2s, b' = b - mu^T w',
 * which is V*inv(Sigma~), Sigma~ = [[diag(sig2s)+mu mu^T, mu],[mu^T, 1]]. Without a bias
 * column: w' = w/(sig2s + mu.*mu). out may equal v. */
void slnb_precond_apply(const slnb_layer *L, const double *v, double *out);

/* PCG for H A = G in the layer's metric (L->h is x0 and receives H). rhs g (nout x nin1).
 * Stops after maxiter iterations, at ||r|| <= tol*||g||, or at once when <r, P(r)> = 0.
 * Returns the iterations done; *nprod receives the metric products used. */
int slnb_pcg(slnb_layer *L, const double *x, int ldx, int nb, double gamma, const double *g,
             int maxiter, double tol, int *nprod);

/* nrm = sqrt(max(min_norm^2, hg)) with hg = sum over layers of <H, G>. */
double slnb_step_norm(double hg, double min_norm);

/* The one-hidden-layer optimizer: the hidden layer W (Nh x (N+1), input [x; 1], bias column N)
 * and the output layer W_o = [W_oi W_oh] (M x (N+1+Nh), input [x; 1; o], bias column N); without
 * bypass the output layer is [b_o W_oh] (M x (1+Nh), input [1; o], bias column 0). */
typedef struct {
    int n, nh, m, bypass, nb_max;
    slnb_opts o;
    long t;              /* steps taken (momentum debias) */
    slnb_layer *hid;     /* NULL when Nh = 0 */
    slnb_layer *out;
    double *xa;          /* nb_max x (N+1+Nh): [x 1 o] */
    double *wo;          /* packed output weights, M x out->nin1 */
    double *e;           /* nb_max x M: y - t */
    double *delta;       /* nb_max x Nh */
    double *gh, *go;     /* raw gradients of E on the batch */
    double last_norm;    /* nrm of the last step */
    double last_batch_mse;
    double multiplies;   /* cumulative */
} slnb_state;

slnb_state *slnb_create(int n, int nh, int m, int bypass, int nb_max, const slnb_opts *o);
void slnb_destroy(slnb_state *s);
/* One SLNB step on a batch: x (nb x N standardized), t (nb x M), nb <= nb_max. Updates the
 * model's w, woi, woh. Returns OIG_EINVAL on a shape mismatch, OIG_ENUMERIC on a non-finite
 * step (the model is then left unchanged). */
oig_status slnb_step(slnb_state *s, oig_model *mdl, const double *x, const double *t, int nb);

/* ======================================= B. OSGD ========================================= */
/* How a trainer drives it. osgd_create(kind, N, Nh, M, K, Nb, &opts) once, osgd_load(s,
 * model) after net control + OWO (earlier heads start as the model's head restricted to their
 * units; a trainer may OWO each head through osgd_head). Each epoch, per block of at most Nb
 * rows: osgd_step(s, x, t, nb) = osgd_gradients (per-exit gradients, batch E per exit),
 * osgd_direction (Gram-Schmidt per block, or the plain sum for the SGD comparator), osgd_update
 * (momentum, decoupled weight decay). osgd_store(s, model) writes W and the last head back;
 * the earlier heads stay in s->theta (osgd_head) for the model document. osgd_predict_exit
 * predicts from any exit; osgd_exit_multiplies gives its cost per row. */

typedef enum { OSGD_ANYTIME_OFF = 0, OSGD_ANYTIME_BYPASS2, OSGD_ANYTIME_WIDTH } osgd_anytime;
typedef enum { OSGD_GRAN_BLOCK = 0, OSGD_GRAN_GLOBAL } osgd_granularity;
typedef enum { OSGD_RESCALE_NONE = 0, OSGD_RESCALE_NORM } osgd_rescale;

typedef struct {
    double eta, momentum, weight_decay;  /* 0.01 / 0.9 / 1e-4 */
    osgd_granularity granularity;        /* block */
    osgd_rescale rescale;                /* none */
    double eps_rel;                      /* eps = eps_rel * max_k ||g_k||^2 (1e-12) */
    int orthogonalize;                   /* 1 = OSGD; 0 = plain SGD on the sum (comparator) */
} osgd_opts;

void osgd_opts_init(osgd_opts *o);

/* Gram-Schmidt of one block (len doubles) over K exit gradients in priority order: g[k] is
 * NULL when exit k does not reach the block (g_k = 0). v (K*len work) receives v_k at
 * v + k*len; d (len) = sum_k v_k. v_1 = g_1 bit for bit; a v_k (k >= 2) with ||v_k||^2 <= eps
 * is set to zero and later exits skip it; eps = eps_rel * max_k ||g_k||^2. rescale NORM scales
 * each kept v_k to ||g_k||. With orthogonalize = 0: v_k = g_k, d = sum. */
void osgd_combine(int K, size_t len, const double *const *g, const osgd_opts *o,
                  double *v, double *d);

#define OSGD_MAX_EXITS 16

/* A parameter block: len doubles at offset off of the flat vector theta, reached by exits
 * first..last (0-based). A head reached by exit k alone has first = last = k. */
typedef struct { size_t off, len; int first, last; } osgd_block;

typedef struct {
    osgd_anytime kind;
    int n, nh, m, K, nb_max;
    osgd_opts o;
    int *c;              /* K: hidden units seen by exit k (cumulative) */
    size_t np;           /* parameters in theta */
    double *theta;       /* [W (Nh x (N+1)) | head_1 | ... | head_K]; head_k = [Woi_k (M x (N+1)) |
                            Woh_k (M x c_k)]. bypass2 and off: [W | Woi | Woh], and the heads
                            overlap: exit 1 of bypass2 is Woi alone (c_1 = 0). */
    size_t *head_off;    /* K: offset of head k in theta */
    int nblocks;
    osgd_block *blocks;
    double *g;           /* K x np: per-exit gradients */
    double *v;           /* K x np: Gram-Schmidt work */
    double *d, *mom;     /* np */
    double *xt, *hid, *y, *e, *delta;  /* batch work: [x 1], o, y, e, delta */
    double *exit_mse;    /* K: batch E per exit of the last osgd_gradients */
    double multiplies;
} osgd_state;

/* kind OFF: K = 1 (plain SGD with momentum); BYPASS2: K = 2; WIDTH: 2 <= K <= OSGD_MAX_EXITS
 * exits with c_k = floor(Nh*2^(k-K)), c_1 >= 1 (else NULL and *st = OIG_EINVAL). The anytime
 * heads read [x; 1; o], so the bypass weights are always trained. */
osgd_state *osgd_create(osgd_anytime kind, int n, int nh, int m, int K, int nb_max,
                        const osgd_opts *o, oig_status *st);
void osgd_destroy(osgd_state *s);
oig_status osgd_load(osgd_state *s, const oig_model *mdl);
oig_status osgd_store(const osgd_state *s, oig_model *mdl);
/* Pointers to head k's Woi (M x (N+1)) and Woh (M x c_k) inside theta. */
void osgd_head(osgd_state *s, int k, double **woi, double **woh);
/* y (nrows x M) from exit k (0-based) for standardized rows x; work >= nrows*Nh. bypass2 exit 0
 * is the linear bypass. */
void osgd_predict_exit(const osgd_state *s, int k, const double *x, size_t nrows, double *y,
                       double *work);
double osgd_exit_multiplies(const osgd_state *s, int k);   /* per row */
/* Batch E of every exit into s->exit_mse and per-exit gradients of E_k into s->g. */
oig_status osgd_gradients(osgd_state *s, const double *x, const double *t, int nb);
void osgd_direction(osgd_state *s);
void osgd_update(osgd_state *s);
oig_status osgd_step(osgd_state *s, const double *x, const double *t, int nb);

/* ======================================= C. NGMNN ======================================== */
/* How a trainer drives it (classification only, full batch). ngmnn_create(N, Nh, M, Nv, &o)
 * and ngmnn_init(s, seed) (uniform +-1/sqrt(d_out)); then per epoch (50): ngmnn_epoch(s, X, Y)
 * with X the Nv x N inputs and Y the Nv x M one-hot 0/1 targets: one forward pass, the decision
 * layer's alternations (slacks, alpha, Stiefel W_2, b_2) and the hidden layer's ridge toward
 * the back-propagated targets, without recomputing activations in between. ngmnn_forward gives
 * scores for E and Pe (class = row argmax). The net is [N, Nh, M] without bypass, and its hidden
 * output is row-normalized: a model document must record that (oig_forward_rows does not). */

typedef enum { NGMNN_ALPHA_TEXTBOOK = 0, NGMNN_ALPHA_CODE } ngmnn_alpha_form;

typedef struct {
    double gamma;        /* ridge and S_alpha (0.3) */
    double k_ratio;      /* active fraction (1.0): k = round(k_ratio*Nv) - 2 */
    int svm_iters;       /* 5 */
    double svm_tol;      /* |delta obj| stop (1e-2) */
    double clamp;        /* 1e-4 */
    ngmnn_alpha_form alpha_form;
} ngmnn_opts;

void ngmnn_opts_init(ngmnn_opts *o);

/* p -> logit(clamp(p, c, 1-c)) elementwise, n entries. */
void ngmnn_logit_clamped(double *p, size_t n, double c);

/* Ridge, centred by plain means: X (Nv x d), Z (Nv x c). Solves (Xc^T Xc + gamma I) W^T =
 * Xc^T Zc (dposv) and b = zbar - W xbar. W (c x d), b (c). work: ngmnn_ridge_work doubles. */
size_t ngmnn_ridge_work(int nv, int d, int c);
oig_status ngmnn_ridge(const double *x, int nv, int d, const double *z, int c, double gamma,
                       double *w, double *b, double *work);

/* Slacks: T = Y + Y.*max(0, Y.*Yhat - 1), all Nv x M. */
void ngmnn_slack_targets(const double *y, const double *yhat, size_t nv, int m, double *t);

/* CAN sample weights for residuals f (Nv) with k active patterns (1 <= k <= Nv-2): alpha (Nv),
 * *lambda. idx (Nv ints) is work. Textbook form: support = the k smallest f, sum 1. Code form
 * reads f_(k+2) for lambda (k+1 non-zeros). A tie (lambda <= 0): alpha = 1/k on the k smallest. */
void ngmnn_alpha(const double *f, int nv, int k, ngmnn_alpha_form form, double *alpha,
                 double *lambda, int *idx);

/* S_alpha = Xc^T D_alpha Xc + gamma I (d x d, symmetrised) with Xc centred by the alpha-weighted
 * mean xbar (d). X (Nv x d); work >= Nv*d. */
void ngmnn_salpha(const double *x, int nv, int d, const double *alpha, double gamma,
                  double *s, double *xbar, double *work);

/* Decision layer on the generalised Stiefel manifold: X (Nv x d), T (Nv x M), alpha (Nv).
 * W (M x d) = Q^T S^-1/2 with Q = U V^T from the thin SVD of S^-1/2 Xc^T D_alpha Tc, b = tbar -
 * W xbar. Needs d >= M. work: ngmnn_stiefel_work(nv, d, m) doubles. */
size_t ngmnn_stiefel_work(int nv, int d, int m);
oig_status ngmnn_stiefel(const double *x, int nv, int d, const double *t, int m,
                         const double *alpha, double gamma, double *w, double *b, double *work);

/* Hidden-layer targets Z* (Nv x Nh) = logit(clamp(softmax over patterns of (Y - 1 b2^T) W2)),
 * Y (Nv x M), W2 (M x Nh), b2 (M). */
void ngmnn_hidden_targets(const double *y, int nv, int m, const double *w2, const double *b2,
                          int nh, double clamp, double *z);

typedef struct {
    int n, nh, m, nv;
    ngmnn_opts o;
    double *w1, *b1;     /* Nh x N, Nh */
    double *w2, *b2;     /* M x Nh, M */
    double *x2;          /* Nv x Nh: rownorm(f(X W1^T + b1)) */
    double *yhat, *t, *f, *alpha, *z;
    int *idx;
    double *work;
    size_t nwork;
    double last_obj;     /* decision objective sum alpha f + lambda ||alpha||^2 */
    int last_svm_iters;
    double multiplies;
} ngmnn_state;

ngmnn_state *ngmnn_create(int n, int nh, int m, int nv, const ngmnn_opts *o, oig_status *st);
void ngmnn_destroy(ngmnn_state *s);
void ngmnn_init(ngmnn_state *s, uint64_t seed);
/* x2 (nrows x Nh, the hidden outputs, also work) and scores (nrows x M) for inputs x
 * (nrows x N). */
void ngmnn_forward(const ngmnn_state *s, const double *x, size_t nrows, double *x2,
                   double *scores);
/* The decision layer's alternations on the current s->x2 and targets Y. */
oig_status ngmnn_decision(ngmnn_state *s, const double *y);
oig_status ngmnn_epoch(ngmnn_state *s, const double *x, const double *y);

/* ====================================== D. unitary ======================================= */
/* How it is driven. Projecting a trained model: unitary_project_model(model, layers, &opts)
 * maps W without its bias column (Nh x N) and, with layers = all, W_oh (M x Nh) to their
 * nearest orthogonal / semi-orthogonal matrices; the caller then re-solves W_o by OWO (reowo)
 * and reports E before and after. orthogonal_hidden = polar: the trainer calls unitary_polar on
 * W's weight columns after each update of W, before OWO; = expm: gradient trainers call
 * unitary_riemann_step with their direction G instead of a plain step. */

typedef enum { UNITARY_POLAR = 0, UNITARY_LIE } unitary_method;
typedef enum { UNITARY_LIE_GD = 0, UNITARY_LIE_ADAM } unitary_lie_opt;
typedef enum { UNITARY_LAYERS_HIDDEN = 0, UNITARY_LAYERS_ALL } unitary_layers;

typedef struct {
    unitary_method method;   /* polar */
    int reflect;             /* 0: det +1 (square); 1: plain P V^T */
    unitary_lie_opt lie_opt; /* gd: eta = 0.5/||W||_2; adam: lr 1e-2, (0.9, 0.999), best kept */
    double lie_tol;          /* 1e-10 */
    int lie_max_iter;        /* 10000 */
} unitary_opts;

void unitary_opts_init(unitary_opts *o);

/* Work arrays for the expm-based kernels on matrices up to nmax x nmax (the Frechet derivative
 * uses 2nmax x 2nmax). Every kernel below takes ws = NULL to allocate its own for one call. */
typedef struct { int nmax; double *buf; int *ipiv; } unitary_ws;
unitary_ws *unitary_ws_create(int nmax);
void unitary_ws_destroy(unitary_ws *ws);

/* Nearest orthogonal (m = n) or semi-orthogonal matrix to W (m x n, ld ldw) by the polar
 * factor of the thin SVD W = P S V^T (LAPACKE_dgesvd). Square with det(P V^T) = -1 and reflect
 * = 0: U = P diag(1,..,1,-1) V^T (Kabsch). U (m x n, ld n). *smin = smallest singular value and
 * *flipped = 1 when the Kabsch flip was applied (either may be NULL). */
oig_status unitary_polar(int m, int n, const double *w, int ldw, int reflect, double *u,
                         double *smin, int *flipped);

/* E = exp(A) (n x n) by scaling and squaring with Pade [13/13] (Higham 2005). */
oig_status unitary_expm(int n, const double *a, double *e, unitary_ws *ws);
/* L = L_exp(A, E) (n x n), the Frechet derivative: the upper-right block of exp([[A, E],[0, A]]). */
oig_status unitary_expm_frechet(int n, const double *a, const double *e, double *l,
                                unitary_ws *ws);

/* J(B) = 1/2 ||U - W||_F^2, U = first m rows of exp(B - B^T) (n x n, m <= n), W (m x n).
 * grad (n x n) = dJ/dB = G_A - G_A^T, G_A = L_exp(A^T, [U - W; 0]). u (m x n) may be NULL. */
oig_status unitary_lie_grad(int m, int n, const double *w, const double *b, double *grad,
                            double *j, double *u, unitary_ws *ws);

/* The iterative Lie-algebra projection from B = 0; tall W is projected through W^T. U (m x n).
 * Stops at ||skew(U^T W)||_F < lie_tol ||W||_F or after lie_max_iter steps (see unitary.c).
 * *iters (may be NULL) receives the steps taken; jhist (may be NULL, lie_max_iter+1 entries)
 * the J of every iterate. */
oig_status unitary_lie(int m, int n, const double *w, const unitary_opts *o, double *u,
                       int *iters, double *jhist);

/* Riemannian step on U (n x p, U^T U = I_p) along direction G (n x p): Omega = G U^T - U G^T,
 * U <- exp(-eta Omega) U. */
oig_status unitary_riemann_step(int n, int p, double *u, const double *g, double eta,
                                unitary_ws *ws);

/* Project the model's W weight columns (Nh x N) and, with layers = all, W_oh (M x Nh).
 * *moved (may be NULL) receives the Frobenius distance moved. */
oig_status unitary_project_model(oig_model *mdl, unitary_layers layers, const unitary_opts *o,
                                 double *moved);

#endif

/* oig.h -- the engine's public interface.
 *
 * Datasets parsed from memory, the one-hidden-layer network with bypass weights, its trainers
 * (OWO, BP and HWO with an optimal learning factor, OIG-BP, OIG-HWO, Levenberg-Marquardt) and
 * prediction. The engine knows nothing of files, HTTP, JSON, SQL or threads: it takes memory,
 * returns memory, and reports each training iteration through a callback that may ask it to
 * stop. Notation follows ../shared/spec/oig_hwo.md: Nv patterns, N inputs, Nh hidden units,
 * M outputs; every matrix is row-major double.
 */
#ifndef OIG_H
#define OIG_H

#include <stddef.h>
#include <stdint.h>

/* ---- Status codes and errors ------------------------------------------------------------ */

typedef enum {
    OIG_OK = 0,
    OIG_ENOMEM,     /* allocation failed */
    OIG_EINVAL,     /* invalid argument or option */
    OIG_EPARSE,     /* malformed data; oig_error says where */
    OIG_ELIMIT,     /* input exceeds a configured limit (rows, columns, cells) */
    OIG_ENUMERIC,   /* numerical failure that no safeguard could recover */
    OIG_ESTOPPED    /* training stopped by the progress callback (the model is still valid) */
} oig_status;

/* Caller-owned error detail. line and column are 1-based; 0 means "not applicable". The message
 * does not repeat them: a caller shows the position its own way (FILE:LINE:COLUMN, or a JSON
 * error item). */
typedef struct {
    int line;
    int column;
    char field[64];     /* the option or column concerned, when there is one */
    char message[256];
} oig_error;

const char *oig_status_name(oig_status s);

/* ---- Datasets ---------------------------------------------------------------------------- */

typedef enum { OIG_REGRESSION = 0, OIG_CLASSIFICATION = 1 } oig_task;
typedef enum { OIG_FORMAT_AUTO = 0, OIG_FORMAT_CSV, OIG_FORMAT_WS } oig_format;

/* A dataset: inputs x (nrows x n) and targets t (nrows x m). For classification the file's
 * class column becomes m = nclasses target columns coded +1/-1 (spec section 10), cls[p] is the
 * 0-based class of row p and labels[c] the class's label as written in the file. */
typedef struct {
    size_t nrows;
    int n, m;
    double *x;              /* nrows x n */
    double *t;              /* nrows x m */
    oig_task task;
    int nclasses;           /* 0 for regression */
    char **labels;          /* nclasses labels, sorted (numerically when all are numbers) */
    int *cls;               /* nrows class indices; NULL for regression */
    char **input_names;     /* n names */
    char **target_names;    /* m names (for classification: the class column's name, once) */
    int ntarget_names;
} oig_data;

/* How to read a buffer. Target selection, in order of precedence: target_columns (0-based
 * indices), targets (comma-separated header names), outputs (the last M columns). With none
 * of them the last column is the target. input_columns, when given, lists the inputs (0-based);
 * otherwise every non-target column is an input. For classification exactly one target column
 * is allowed: it holds the class. */
typedef struct {
    oig_format format;
    oig_task task;
    const char *targets;
    int outputs;
    const int *target_columns;  int ntarget_columns;
    const int *input_columns;   int ninput_columns;
    int header;                 /* CSV: 1 header row (default); WS: -1 auto, 0 none, 1 header */
    int max_columns;            /* 0 = OIG_DEFAULT_MAX_COLUMNS */
    size_t max_cells;           /* 0 = no limit */
    int one_class_ok;           /* classification: accept a class column with a single label
                                   (a slice of a file, recoded later with the file's labels) */
    /* Optional: called as the parser finishes with a stretch of buf, bytes [from, from+len), in
     * each of its two passes (the second pass reads the data rows again, so buf must read back
     * the same afterwards: a private file mapping whose pages the caller drops qualifies). Lets a
     * caller keep only a window of a large file resident. NULL: never called. */
    void (*release)(const char *from, size_t len, void *ctx);
    void *release_ctx;
} oig_parse_opts;

#define OIG_DEFAULT_MAX_COLUMNS 100000

void oig_parse_opts_init(oig_parse_opts *o);

/* Parse a CSV (header row, RFC 4180 quoting) or whitespace-separated buffer. On error nothing is
 * allocated, *out is NULL and err names line, column and reason. */
oig_status oig_data_parse(const char *buf, size_t len, const oig_parse_opts *opts,
                          oig_data **out, oig_error *err);

/* Where the data rows of a buffer lie, so that a caller can parse only some of them (each
 * process of a data-parallel run parses its own). Records are split exactly as oig_data_parse
 * splits them. format (CSV or WS) and header (0/1) are the decisions oig_data_parse makes;
 * bytes [0, data_start) hold the BOM and header, starting line data_line. Data row i starts
 * at byte start[i] (its first non-blank byte) on line line[i] and ends where row i+1 starts
 * (the last row at len). Only the record structure is checked, not the cells. */
typedef struct {
    size_t nrows;
    oig_format format;
    int header;
    size_t data_start, data_line;
    size_t *start, *line;
} oig_row_spans;

oig_status oig_data_row_spans(const char *buf, size_t len, const oig_parse_opts *opts,
                              oig_row_spans *out, oig_error *err);
void oig_row_spans_free(oig_row_spans *rs);

/* A new dataset holding rows idx[0..k-1] of d (labels and names copied). */
oig_status oig_data_select_rows(const oig_data *d, const size_t *idx, size_t k, oig_data **out);

/* Split d by a seeded shuffle: round(frac*nrows) rows to *val, the rest to *train. frac = 0
 * gives *val = NULL. */
oig_status oig_data_split(const oig_data *d, double frac, uint64_t seed,
                          oig_data **train, oig_data **val);

/* The same split, in place: d keeps the training rows (in their order, memory shrunk), *val
 * receives a copy of the validation rows (NULL when none). Peak memory is d plus the validation
 * rows, not twice d. */
oig_status oig_data_split_inplace(oig_data *d, double frac, uint64_t seed, oig_data **val);

/* Keep only rows idx[0..k-1] of d, in that order (distinct indices), in place, and shrink its
 * memory. On error d is unchanged. */
oig_status oig_data_take_rows(oig_data *d, const size_t *idx, size_t k);

void oig_data_free(oig_data *d);

/* Parse a list of 0-based row indices (whitespace or comma separated, as in the UCI
 * index_train_K.txt files). Every index must be < nrows. *idx is malloc'd. */
oig_status oig_parse_index_list(const char *buf, size_t len, size_t nrows,
                                size_t **idx, size_t *count, oig_error *err);

/* ---- The model --------------------------------------------------------------------------- */

typedef enum {
    OIG_ALG_OWO = 0,    /* output weights only: the initial OWO, then stop */
    OIG_ALG_BP,         /* OWO-BP with optimal learning factor */
    OIG_ALG_HWO,        /* OWO-HWO with optimal learning factor */
    OIG_ALG_OIG_BP,
    OIG_ALG_OIG_HWO,
    OIG_ALG_LM,
    OIG_ALG_SLNB,       /* Simple Linear Neuron Boosting (related_methods.md A) */
    OIG_ALG_OSGD,       /* Orthogonalized SGD on an anytime network (B) */
    OIG_ALG_SGD,        /* plain SGD with momentum on the same network: OSGD's comparator */
    OIG_ALG_NGMNN,      /* closed-form manifold network, classification only (C) */
    OIG_ALG_COUNT
} oig_algorithm;

const char *oig_algorithm_name(oig_algorithm a);       /* "owo", "bp", "hwo", "oig-bp", ... */
int oig_algorithm_parse(const char *name, oig_algorithm *out);   /* 0 ok, -1 unknown */
/* 1 when the trainer's sums over rows go through oig_config's reduce seams (owo, bp, hwo, oig-bp,
 * oig-hwo, lm), so that a run may split its rows over processes or threads; 0 for the related
 * trainers, which run on all rows in one place. */
int oig_algorithm_sums_rows(oig_algorithm a);

/* How often each safeguard of spec 4 / 6.3 / 7 fired during training. */
typedef struct {
    long olf_halvings;       /* BP/HWO: z halved because E rose or E2 <= 0 */
    long oig_halvings;       /* OIG: gains a halved */
    long oig_olf_fallbacks;  /* OIG: fell back to the OLF step a = z*1 */
    long accepted_worse;     /* every step tried raised E; the best of them was taken */
    long lm_rejections;      /* LM: a step rejected and lambda raised */
} oig_safeguards;

/* Training summary kept with the model; also the state a resumed run continues from. */
typedef struct {
    int iterations;          /* iterations completed */
    double train_mse, val_mse;
    double train_err, val_err;   /* classification error %, else 0 */
    double multiplies;       /* cumulative, spec section 8 */
    double seconds;          /* cumulative training time */
    double lm_lambda;        /* LM damping at the end (resume continues from it) */
    double lm_decay[2];      /* LM with Bayesian regularization: the weight decays of the hidden
                                and the output layer at the end (resume continues from them);
                                0 otherwise */
    uint64_t seed;
    char stop_reason[32];    /* "max_iterations", "target_mse", "max_seconds", "patience", "stopped" */
    oig_safeguards safeguards;
} oig_summary;

/* Anytime exits (related_methods.md B2). Exit k (0-based, k < nexits) reads the inputs and the
 * first units[k] hidden units through its own head [Woi_k Woh_k]; the last exit's head is the
 * model's woi/woh, so only the K-1 earlier heads are stored here. nexits = 0: one exit. */
typedef struct {
    int nexits;              /* K: 0 (single exit) or 2..16 */
    int kind;                /* 1 = bypass2 (exit 1 is the linear bypass), 2 = width */
    int *units;              /* K: hidden units seen by exit k (cumulative), units[K-1] = Nh */
    double **head_woi;       /* K-1 heads: M x (N+1) */
    double **head_woh;       /* K-1 heads: M x units[k] */
} oig_exits;

#define OIG_META_MAX 48
/* One metadata entry: the training method's options and projection records, as text. */
typedef struct { char key[40]; char value[48]; } oig_meta;

/* The trained network (spec section 1). Inputs are standardized with (x - in_mean) / in_scale
 * before the net sees them when standardized is set. Without bypass, W_oi holds only the
 * output thresholds (its last column); the rest is zero. */
typedef struct {
    int n, nh, m;
    double *w;               /* Nh x (N+1): input weights, last column = hidden thresholds */
    double *woi;             /* M x (N+1): bypass weights, last column = output thresholds */
    double *woh;             /* M x Nh */
    int bypass;
    int standardized;
    double *in_mean;         /* N */
    double *in_scale;        /* N (a constant input gets scale 1) */
    oig_task task;
    int nclasses;
    char **labels;           /* nclasses */
    char **input_names;      /* N, may be NULL */
    char **target_names;     /* ntarget_names, may be NULL */
    int ntarget_names;
    oig_algorithm algorithm;
    oig_summary summary;
    int hidden_rownorm;      /* 1: hidden outputs scaled to unit l2 norm per row (NGMNN) */
    oig_exits exits;         /* anytime exits (OSGD/SGD with anytime) */
    int nmeta;
    oig_meta meta[OIG_META_MAX];   /* method options ("slnb.eta" = "0.03"), projection records */
} oig_model;

/* Allocate a zeroed model of the given shape (names and labels NULL). */
oig_model *oig_model_new(int n, int nh, int m);
oig_model *oig_model_clone(const oig_model *src);
void oig_model_free(oig_model *mdl);
/* Copy names, labels and task from a dataset into the model. */
oig_status oig_model_describe(oig_model *mdl, const oig_data *d);

/* Outputs for nrows raw input rows: x is nrows x N, y (nrows x M) is written. When cls is not
 * NULL and the model classifies, cls[p] receives argmax_i y_p(i). */
oig_status oig_model_predict(const oig_model *mdl, const double *x, size_t nrows,
                             double *y, int *cls);
/* The same from anytime exit `exit` (0-based; -1 = the last exit, which oig_model_predict uses).
 * OIG_EINVAL when exit >= the model's exit count (1 without anytime exits). */
oig_status oig_model_predict_exit(const oig_model *mdl, int exit, const double *x, size_t nrows,
                                  double *y, int *cls);
/* Number of exits (1 without anytime exits) and the multiplies per row of predicting from exit
 * `exit` (-1 = last), the activations not counted. */
int oig_model_exit_count(const oig_model *mdl);
double oig_model_exit_multiplies(const oig_model *mdl, int exit);
/* Allocate K anytime exits with the given cumulative unit counts (units[K-1] must be Nh). */
oig_status oig_model_set_exits(oig_model *mdl, int kind, int nexits, const int *units);
/* Set (or replace) metadata key to value; the value is printf-formatted. OIG_ELIMIT when full. */
oig_status oig_model_meta_set(oig_model *mdl, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *oig_model_meta_get(const oig_model *mdl, const char *key);

/* ---- Training ---------------------------------------------------------------------------- */

/* Reduction seam for data-parallel training: sum buf[0..n-1] elementwise over all processes,
 * in place. NULL means one process (identity). */
typedef int (*oig_reduce_fn)(double *buf, size_t n, void *ctx);

/* Canonical sums (oig_config.canonical_sums): the training rows (and, separately, the validation
 * rows) are cut into blocks of block_rows rows, numbered globally across processes; each
 * process holds a whole number of consecutive blocks (only the globally last may be short).
 * A block's partial sums start from zero, and blocks are added along a fixed binary tree over
 * the global block numbers, so the totals are bit-identical however the blocks are spread over
 * processes. A process's partials leave the engine as "pieces": records of 2 + n doubles
 * [first block, block count (a power of two, first block a multiple of it), n sums], complete
 * subtrees of its own range, in block order. */

/* Combine pieces that together cover consecutive blocks (every process's records, in process
 * order) into the n totals in out. The records are overwritten. Returns 0, or -1 when the
 * pieces do not follow one another or are not aligned subtrees. */
int oig_canonical_sum(double *pieces, size_t npieces, size_t n, double *out);
/* How many pieces a process holding blocks [first_block, first_block + nblocks) produces. */
size_t oig_canonical_pieces(size_t first_block, size_t nblocks);

/* Canonical-sum seam: this process holds npieces records of 2 + n doubles (see above) for the
 * training rows (rows = 0) or the validation rows (rows = 1); write into out the n totals that
 * oig_canonical_sum gives over every process's records. Returns 0 on success. */
typedef int (*oig_reduce_pieces_fn)(double *pieces, size_t npieces, size_t n, int rows,
                                    double *out, void *ctx);

typedef enum { OIG_LM_DAMP_IDENTITY = 0, OIG_LM_DAMP_DIAG = 1 } oig_lm_damping;
/* LM's objective: E alone, or E + rho w'Cw with rho re-estimated after every step by MacKay's
 * evidence framework in its Gauss-Newton form (Bayesian regularization; docs/engine.md). */
typedef enum { OIG_LM_REG_NONE = 0, OIG_LM_REG_BAYESIAN = 1 } oig_lm_regularization;
/* How LM moves lambda: tenfold (spec 7: /10 on success, x10 on failure) or by the gain ratio of
 * the actual to the predicted reduction (Nielsen 1999; docs/engine.md). */
typedef enum { OIG_LM_UPDATE_TENFOLD = 0, OIG_LM_UPDATE_GAIN = 1 } oig_lm_update;
/* LM's step: the Gauss-Newton step alone, or with geodesic acceleration, a second-order
 * correction from the outputs' second directional derivative (Transtrum and Sethna 2012;
 * docs/engine.md). */
typedef enum { OIG_LM_ACCEL_NONE = 0, OIG_LM_ACCEL_GEODESIC = 1 } oig_lm_acceleration;
/* The precision of LM's sums over the patterns: all double, or mixed: J^T J's sums in single
 * precision, taken over about a thousand patterns at a time and added up in double; g and E stay
 * double (docs/engine.md). */
typedef enum { OIG_LM_PREC_DOUBLE = 0, OIG_LM_PREC_MIXED = 1 } oig_lm_precision;

/* Options of the related methods (related_methods.md A3, B3, C3, D3); defaults in
 * oig_config_init. */
typedef struct {
    double eta;              /* 0.03 */
    int batch;               /* Nb, 64 (0 = full batch) */
    double b_g, b_mu, b_nu;  /* 0.9, 0.9, 0.999 */
    double cov_shrinkage;    /* 0.1, in [0, 1) */
    double cg_ridge;         /* 0.1 */
    int cg_maxiter;          /* 2 */
    double cg_tol;           /* 1e-5 */
    double min_norm;         /* 1e-2 */
    double weight_decay;     /* 1e-4 */
    int approx_metric;       /* 0 */
} oig_slnb_config;

typedef enum { OIG_ANYTIME_OFF = 0, OIG_ANYTIME_BYPASS2, OIG_ANYTIME_WIDTH } oig_anytime;
typedef enum { OIG_GRAN_BLOCK = 0, OIG_GRAN_GLOBAL } oig_granularity;
typedef enum { OIG_RESCALE_NONE = 0, OIG_RESCALE_NORM } oig_rescale;

typedef struct {             /* osgd and sgd */
    double eta;              /* 0.01 */
    double momentum;         /* 0.9 */
    double weight_decay;     /* 1e-4 */
    int batch;               /* 64 (0 = full batch) */
    oig_anytime anytime;     /* off */
    int exits;               /* K for width (3) */
    oig_granularity granularity;  /* block */
    oig_rescale rescale;     /* none */
    double eps_rel;          /* 1e-12 */
} oig_osgd_config;

typedef enum { OIG_ALPHA_TEXTBOOK = 0, OIG_ALPHA_CODE } oig_alpha_form;

typedef struct {
    double gamma;            /* 0.3 */
    double k_ratio;          /* 1.0 */
    int svm_iters;           /* 5 */
    double svm_tol;          /* 1e-2 */
    double clamp;            /* 1e-4 */
    oig_alpha_form alpha_form;   /* textbook */
} oig_ngmnn_config;

typedef enum { OIG_ORTHO_OFF = 0, OIG_ORTHO_POLAR, OIG_ORTHO_EXPM } oig_orthogonal;

typedef struct {
    oig_algorithm algorithm;
    int nh;                  /* hidden units (default 10) */
    int max_iterations;      /* Nit (default 100) */
    uint64_t seed;           /* initial weights (default 1) */
    /* stop rules; 0 disables each */
    double target_mse;       /* stop when train MSE <= target */
    double max_seconds;      /* stop after this much training time (in a data-parallel run:
                                as soon as one process has trained this long) */
    int patience;            /* stop after this many iterations without a better val MSE */
    /* preprocessing and initialization (spec 2) */
    int standardize;         /* default 1 */
    int bypass;              /* default 1: input -> output weights */
    double md;               /* net control mean (default 0.5) */
    double sigmad;           /* net control std (default 1) */
    /* solvers and safeguards (spec 3, 4, 6.3, 7, 13) */
    double ols_eps;          /* OLS dependence threshold, relative (default 1e-10) */
    int bias_gain;           /* OIG: 1 = the threshold column has its own gain (default);
                                0 = the threshold column keeps gain 0 */
    int clamp_gains;         /* OIG: 1 = negative gains set to 0 (default 0: unconstrained) */
    double oig_ridge;        /* OIG: solve (H + ridge*diag(H)) a = g (default 0) */
    int max_halvings;        /* safeguard halvings of z or a (default 3) */
    double lm_lambda0;       /* default 0.01 */
    int lm_max_retries;      /* lambda raises per iteration (default 10) */
    oig_lm_damping lm_damping;   /* default identity */
    oig_lm_regularization lm_regularization;   /* default none */
    oig_lm_update lm_update;     /* default tenfold */
    oig_lm_acceleration lm_acceleration;   /* default none */
    oig_lm_precision lm_precision;         /* default double */
    size_t block_rows;       /* rows per BLAS block (default 2048; 0 = default) */
    int cache_hidden;        /* 1 (default): keep the hidden outputs of the training rows between
                                passes: all of them, or as many whole leading blocks as fit
                                max(64 MiB, 0.4 x the data's bytes) up to 128 MiB of data and
                                0.15 x the data's bytes above (docs/engine.md); 0: never */
    /* related methods */
    oig_slnb_config slnb;
    oig_osgd_config osgd;
    oig_ngmnn_config ngmnn;
    oig_orthogonal orthogonal_hidden;   /* off; polar: W's weight columns projected after every
                                           update of W (not lm, ngmnn); expm: Riemannian steps
                                           (slnb, osgd, sgd) */
    /* warm start (ignored when oig_train gets a resume model): training starts from this
     * model's weights, input normalization, hidden width and bypass choice instead of net control
     * + OWO; iterations, time and multiplies start from 0, and the algorithm, options and seed are
     * this config's (nh is taken from the model). The caller keeps ownership. NULL: none. */
    const oig_model *init_model;
    /* data-parallel seam */
    oig_reduce_fn reduce;
    void *reduce_ctx;
    /* canonical sums (see oig_canonical_sum; default 0): every sum over rows is formed per
     * block and added along the block tree. first_block[0] / [1]: the global number of this
     * process's first training / validation block. With reduce_pieces NULL the process is
     * alone; otherwise reduce_pieces (with reduce_ctx) combines the pieces of all processes,
     * and reduce still sums the row counts. */
    int canonical_sums;
    size_t first_block[2];
    oig_reduce_pieces_fn reduce_pieces;
} oig_config;

void oig_config_init(oig_config *c);

/* LM's choice options by name, as the CLI (with dashes) and the REST options (with underscores)
 * spell them: OIG_LM_CHOICES names lm_damping (identity|diag), lm_regularization
 * (none|bayesian), lm_update (tenfold|gain), lm_acceleration (none|geodesic) and lm_precision
 * (double|mixed). */
#define OIG_LM_CHOICES 5
const char *oig_lm_choice_option(int i);                 /* "lm_damping", ... */
const char *oig_lm_choice_get(const oig_config *c, int i);   /* the value's name */
/* 0 when name is one of option i's values (set in c), -1 otherwise. */
int oig_lm_choice_set(oig_config *c, int i, const char *name);
const char *oig_lm_choice_values(int i);                 /* "identity or diag", for messages */
/* Check every field; on error err->field names it (options of the related methods as
 * "eta", "batch", ... as the CLI and REST spell them). */
oig_status oig_config_check(const oig_config *c, oig_error *err);

/* What the progress callback receives after the initial OWO (iteration 0) and after every
 * iteration. model points to the current weights: valid only during the call (copy it with
 * oig_model_clone to checkpoint). */
typedef struct {
    int iteration;
    double train_mse, val_mse;       /* val_mse is NaN without validation data */
    double train_err, val_err;       /* classification error %, NaN otherwise */
    double multiplies;
    double seconds;
    const oig_model *model;
} oig_progress;

#define OIG_CONTINUE 0
#define OIG_STOP 1
typedef int (*oig_progress_fn)(const oig_progress *p, void *ud);

/* Train a network on train (and report on val, which may be NULL).
 *
 * When cfg->standardize is set, train->x and val->x are standardized in place with the
 * statistics of the training rows, which the model keeps. With resume != NULL training continues
 * from that model's weights and summary (its normalization is applied instead of a new fit) up to
 * cfg->max_iterations; otherwise it starts from net control + OWO with cfg->seed.
 *
 * On OIG_OK or OIG_ESTOPPED *out holds the model. */
oig_status oig_train(oig_data *train, oig_data *val, const oig_config *cfg,
                     const oig_model *resume, oig_progress_fn cb, void *ud,
                     oig_model **out, oig_error *err);

/* ---- Projection to orthogonal weights (related_methods.md D) ------------------------------ */

typedef enum { OIG_PROJECT_POLAR = 0, OIG_PROJECT_LIE } oig_project_method;

typedef struct {
    oig_project_method method;   /* polar */
    int layers_all;          /* 0: W only (default); 1: W and W_oh */
    int reowo;               /* 1: re-solve W_o by OWO on data after projecting (needs data) */
    int reflect;             /* 0 */
    int lie_adam;            /* 0: GD; 1: Adam */
    double lie_tol;          /* 1e-10 */
    int lie_max_iter;        /* 10000 */
} oig_project_opts;

typedef struct {
    double moved;            /* Frobenius distance moved by the weights */
    double mse_before, err_before;      /* on the data (NaN without data) */
    double mse_projected, err_projected;
    double mse_reowo, err_reowo;        /* NaN without reowo */
} oig_project_report;

void oig_project_opts_init(oig_project_opts *o);
/* A new model (*out) whose hidden weights (and W_oh with layers_all) are their nearest
 * orthogonal / semi-orthogonal matrices; with data (raw rows, may be NULL) E and Pe are measured
 * before, after projection and after the OWO re-solve, and every figure goes into the new
 * model's metadata. Models with anytime exits or row-normalized hidden outputs are refused. */
oig_status oig_model_project(const oig_model *mdl, const oig_project_opts *o, const oig_data *d,
                             oig_model **out, oig_project_report *rep, oig_error *err);

/* Mean squared error (spec 1) and classification error % of a model on a dataset. */
oig_status oig_model_evaluate(const oig_model *mdl, const oig_data *d, double *mse, double *err_pct);

/* ---- Scoring a model on labeled data ------------------------------------------------------ */

/* A model's fit to a dataset. */
typedef struct {
    size_t nrows;
    int m;
    double mse;              /* E of spec 1: squared errors summed over the outputs, mean over rows */
    double err_pct;          /* classification error %; NaN for regression */
    double *output_mse;      /* M: each output's mean squared error */
    double *output_mae;      /* M: each output's mean absolute error */
    double *output_r2;       /* M: 1 - SSE/SST over these rows; NaN when the target is constant */
    int nclasses;            /* 0 for regression */
    long *confusion;         /* nclasses x nclasses: row = true class, column = predicted class */
} oig_score;

/* Fit d, in place, to mdl's inputs, outputs and classes, so that oig_model_score can take it:
 * the inputs are taken by name when every input the model names occurs once among the dataset's
 * input names (extra dataset inputs are dropped; *inputs_by_name = 1); by position when none of
 * them occurs (or either side has no names), and then the counts must agree; and some but not all
 * of them is an error. Regression targets likewise. Classification: the dataset's labels
 * are recoded to the model's (a label the model does not know is an error). OIG_EINVAL with
 * err->field "task", "inputs", "targets" or "classes" when d cannot be scored by mdl; on error d
 * may be partly changed. */
oig_status oig_data_conform(oig_data *d, const oig_model *mdl, int *inputs_by_name, oig_error *err);
/* Score mdl on d (already conformed: same N and M, and the model's classes). The classification
 * figures are kept when d has classes (d->cls; then d->nclasses = M). s is filled, and is freed
 * with oig_score_free. */
oig_status oig_model_score(const oig_model *mdl, const oig_data *d, oig_score *s);
void oig_score_free(oig_score *s);

/* ---- BLAS -------------------------------------------------------------------------------- */

void oig_blas_set_threads(int n);
int oig_blas_get_threads(void);
const char *oig_blas_config(void);

#endif

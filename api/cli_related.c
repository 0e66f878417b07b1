/* cli_related.c -- the related methods' training flags for `oigd train`, and `oigd project`.
 *
 * Owns only argument handling and files for these faces: the numerics are the engine's
 * (oig_config's related options, oig_model_project) and the model document is
 * server/model_doc.c. Exit codes as in cli.h: 0 ok, 1 failure, 2 bad arguments.
 */
#include "cli_related.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "model_doc.h"

/* ---- training flags ------------------------------------------------------------------- */

enum {
    R_ETA = 1, R_BATCH, R_MOMENTUM, R_WEIGHT_DECAY, R_B_G, R_B_MU, R_B_NU, R_COV_SHRINKAGE,
    R_CG_RIDGE, R_CG_MAXITER, R_CG_TOL, R_MIN_NORM, R_APPROX_METRIC, R_ANYTIME, R_EXITS,
    R_GRANULARITY, R_RESCALE, R_EPS_REL, R_GAMMA, R_K_RATIO, R_SVM_ITERS, R_SVM_TOL, R_CLAMP,
    R_ALPHA_FORM, R_ORTHOGONAL_HIDDEN, R_INIT_MODEL
};

static const struct { const char *flag, *field; int id, has_arg; } rflags[] = {
    { "--eta", "eta", R_ETA, 1 }, { "--batch", "batch", R_BATCH, 1 },
    { "--momentum", "momentum", R_MOMENTUM, 1 }, { "--weight-decay", "weight_decay", R_WEIGHT_DECAY, 1 },
    { "--b-g", "b_g", R_B_G, 1 }, { "--b-mu", "b_mu", R_B_MU, 1 }, { "--b-nu", "b_nu", R_B_NU, 1 },
    { "--cov-shrinkage", "cov_shrinkage", R_COV_SHRINKAGE, 1 }, { "--cg-ridge", "cg_ridge", R_CG_RIDGE, 1 },
    { "--cg-maxiter", "cg_maxiter", R_CG_MAXITER, 1 }, { "--cg-tol", "cg_tol", R_CG_TOL, 1 },
    { "--min-norm", "min_norm", R_MIN_NORM, 1 }, { "--approx-metric", "approx_metric", R_APPROX_METRIC, 0 },
    { "--anytime", "anytime", R_ANYTIME, 1 }, { "--exits", "exits", R_EXITS, 1 },
    { "--granularity", "granularity", R_GRANULARITY, 1 }, { "--rescale", "rescale", R_RESCALE, 1 },
    { "--eps-rel", "eps_rel", R_EPS_REL, 1 }, { "--gamma", "gamma", R_GAMMA, 1 },
    { "--k-ratio", "k_ratio", R_K_RATIO, 1 }, { "--svm-iters", "svm_iters", R_SVM_ITERS, 1 },
    { "--svm-tol", "svm_tol", R_SVM_TOL, 1 }, { "--clamp", "clamp", R_CLAMP, 1 },
    { "--alpha-form", "alpha_form", R_ALPHA_FORM, 1 },
    { "--orthogonal-hidden", "orthogonal_hidden", R_ORTHOGONAL_HIDDEN, 1 },
    { "--init-model", "init_model", R_INIT_MODEL, 1 },
};
#define NRFLAGS (sizeof rflags / sizeof rflags[0])

const char *cli_related_flag(const char *field) {
    for (size_t i = 0; i < NRFLAGS; i++)
        if (strcmp(field, rflags[i].field) == 0) return rflags[i].flag;
    return NULL;
}

static int num(const char *s, double *out) {
    if (s == NULL || *s == '\0' || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0' || !isfinite(v) || (errno == ERANGE && v != 0.0)) return -1;
    *out = v;
    return 0;
}

static int integer(const char *s, long lo, long hi, long *out) {
    if (s == NULL || *s == '\0' || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static char *slurp(const char *path, size_t *len);

/* The model document at path, for --init-model; NULL with a message. */
static oig_model *load_init_model(const char *path, char *msg, size_t cap) {
    size_t len;
    errno = 0;
    char *buf = *path ? slurp(path, &len) : NULL;
    if (buf == NULL) {
        snprintf(msg, cap, "--init-model %.200s: %s", path, *path ? strerror(errno ? errno : EIO) : "empty path");
        return NULL;
    }
    oig_model *m = NULL;
    oig_error err;
    memset(&err, 0, sizeof err);
    oig_status st = model_doc_read(buf, len, &m, &err);
    free(buf);
    if (st != OIG_OK) {
        snprintf(msg, cap, "--init-model %.200s: %s%s%.200s", path, err.field, err.field[0] ? ": " : "",
                 err.message[0] ? err.message : oig_status_name(st));
        return NULL;
    }
    return m;
}

void cli_related_train_free(oig_config *cfg) {
    oig_model_free((oig_model *)cfg->init_model);
    cfg->init_model = NULL;
}

static int choose(const char *v, const char *const *names, int n, int *out) {
    for (int i = 0; i < n; i++) if (strcmp(v, names[i]) == 0) { *out = i; return 0; }
    return -1;
}

int cli_related_train_arg(int *i, int argc, char **argv, oig_config *cfg, char *msg, size_t cap) {
    const char *arg = argv[*i];
    if (strncmp(arg, "--", 2) != 0) return 0;
    const char *eq = strchr(arg, '=');
    size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
    size_t f = 0;
    while (f < NRFLAGS && !(strlen(rflags[f].flag) == nl && strncmp(rflags[f].flag, arg, nl) == 0)) f++;
    if (f == NRFLAGS) return 0;
    const char *flag = rflags[f].flag, *v = NULL;
    if (!rflags[f].has_arg) {
        if (eq) { snprintf(msg, cap, "%s takes no value", flag); return -1; }
        *i += 1;
    } else if (eq) {
        v = eq + 1;
        *i += 1;
    } else {
        if (*i + 1 >= argc) { snprintf(msg, cap, "%s needs a value", flag); return -1; }
        v = argv[*i + 1];
        *i += 2;
    }
    double x = 0;
    long l = 0;
    int c = 0;
    const char *want = NULL;
    static const char *const anytime[] = { "off", "bypass2", "width" };
    static const char *const gran[] = { "block", "global" };
    static const char *const resc[] = { "none", "norm" };
    static const char *const alpha[] = { "textbook", "code" };
    static const char *const ortho[] = { "off", "polar", "expm" };
    switch (rflags[f].id) {
    case R_ETA:
        if (num(v, &x) || !(x > 0)) want = "a number > 0";
        else cfg->slnb.eta = cfg->osgd.eta = x;
        break;
    case R_BATCH:
        if (integer(v, 0, 100000000, &l)) want = "an integer >= 0 (0 = full batch)";
        else cfg->slnb.batch = cfg->osgd.batch = (int)l;
        break;
    case R_MOMENTUM: if (num(v, &x) || x < 0 || x >= 1) want = "a number in [0, 1)"; else cfg->osgd.momentum = x; break;
    case R_WEIGHT_DECAY:
        if (num(v, &x) || x < 0) want = "a number >= 0";
        else cfg->slnb.weight_decay = cfg->osgd.weight_decay = x;
        break;
    case R_B_G: if (num(v, &x) || x < 0 || x >= 1) want = "a number in [0, 1)"; else cfg->slnb.b_g = x; break;
    case R_B_MU: if (num(v, &x) || x < 0 || x >= 1) want = "a number in [0, 1)"; else cfg->slnb.b_mu = x; break;
    case R_B_NU: if (num(v, &x) || x < 0 || x >= 1) want = "a number in [0, 1)"; else cfg->slnb.b_nu = x; break;
    case R_COV_SHRINKAGE: if (num(v, &x) || x < 0 || x >= 1) want = "a number in [0, 1)"; else cfg->slnb.cov_shrinkage = x; break;
    case R_CG_RIDGE: if (num(v, &x) || x < 0) want = "a number >= 0"; else cfg->slnb.cg_ridge = x; break;
    case R_CG_MAXITER: if (integer(v, 0, 10000, &l)) want = "an integer from 0 to 10000"; else cfg->slnb.cg_maxiter = (int)l; break;
    case R_CG_TOL: if (num(v, &x) || x < 0 || x > 1) want = "a number in [0, 1]"; else cfg->slnb.cg_tol = x; break;
    case R_MIN_NORM: if (num(v, &x) || !(x > 0)) want = "a number > 0"; else cfg->slnb.min_norm = x; break;
    case R_APPROX_METRIC: cfg->slnb.approx_metric = 1; break;
    case R_ANYTIME: if (choose(v, anytime, 3, &c)) want = "off, bypass2 or width"; else cfg->osgd.anytime = (oig_anytime)c; break;
    case R_EXITS: if (integer(v, 2, 16, &l)) want = "an integer from 2 to 16"; else cfg->osgd.exits = (int)l; break;
    case R_GRANULARITY: if (choose(v, gran, 2, &c)) want = "block or global"; else cfg->osgd.granularity = (oig_granularity)c; break;
    case R_RESCALE: if (choose(v, resc, 2, &c)) want = "none or norm"; else cfg->osgd.rescale = (oig_rescale)c; break;
    case R_EPS_REL: if (num(v, &x) || x < 0 || x > 1) want = "a number in [0, 1]"; else cfg->osgd.eps_rel = x; break;
    case R_GAMMA: if (num(v, &x) || !(x > 0)) want = "a number > 0"; else cfg->ngmnn.gamma = x; break;
    case R_K_RATIO: if (num(v, &x) || !(x > 0) || x > 1) want = "a number in (0, 1]"; else cfg->ngmnn.k_ratio = x; break;
    case R_SVM_ITERS: if (integer(v, 1, 1000, &l)) want = "an integer from 1 to 1000"; else cfg->ngmnn.svm_iters = (int)l; break;
    case R_SVM_TOL: if (num(v, &x) || x < 0) want = "a number >= 0"; else cfg->ngmnn.svm_tol = x; break;
    case R_CLAMP: if (num(v, &x) || !(x > 0) || !(x < 0.5)) want = "a number in (0, 0.5)"; else cfg->ngmnn.clamp = x; break;
    case R_ALPHA_FORM: if (choose(v, alpha, 2, &c)) want = "textbook or code"; else cfg->ngmnn.alpha_form = (oig_alpha_form)c; break;
    case R_ORTHOGONAL_HIDDEN:
        if (choose(v, ortho, 3, &c)) want = "off, polar or expm";
        else cfg->orthogonal_hidden = (oig_orthogonal)c;
        break;
    case R_INIT_MODEL: {
        oig_model *m = load_init_model(v, msg, cap);
        if (m == NULL) return -1;
        cli_related_train_free(cfg);
        cfg->init_model = m;
        break;
    }
    }
    if (want) { snprintf(msg, cap, "bad value '%.64s' for %s: %s", v ? v : "", flag, want); return -1; }
    return 1;
}

void cli_related_train_usage(void *stream) {
    fputs(
"\n"
"Related methods (--algorithm slnb|osgd|sgd|ngmnn; docs/related-methods.md):\n"
"  --eta X                  step size (slnb 0.03; osgd and sgd 0.01)\n"
"  --batch N                rows per mini-batch, 0 = full batch (64)\n"
"  --weight-decay X         decoupled weight decay (1e-4)\n"
"  --momentum X             osgd/sgd momentum (0.9)\n"
"  --b-g X --b-mu X --b-nu X   slnb gradient / feature mean / second-moment EMAs (0.9 0.9 0.999)\n"
"  --cov-shrinkage X        slnb shrinkage toward the mean variance, [0, 1) (0.1)\n"
"  --cg-ridge X             slnb ridge on the weight columns (0.1)\n"
"  --cg-maxiter N --cg-tol X   slnb CG iterations and relative tolerance (2, 1e-5)\n"
"  --min-norm X             slnb floor of the metric norm (1e-2)\n"
"  --approx-metric          slnb: preconditioner only, no CG\n"
"  --anytime off|bypass2|width   osgd/sgd anytime network (off)\n"
"  --exits K                exits of a width network, 2..16 (3)\n"
"  --granularity block|global    osgd Gram-Schmidt per parameter block or global (block)\n"
"  --rescale none|norm      osgd: rescale each orthogonalized gradient to its norm (none)\n"
"  --eps-rel X              osgd Gram-Schmidt skip threshold, relative (1e-12)\n"
"  --gamma X                ngmnn ridge (0.3)\n"
"  --k-ratio X              ngmnn active fraction of patterns (1)\n"
"  --svm-iters N --svm-tol X   ngmnn decision-layer alternations and stop (5, 1e-2)\n"
"  --clamp X                ngmnn clamp of the back-propagated targets (1e-4)\n"
"  --alpha-form textbook|code   ngmnn sample-weight form (textbook)\n"
"  --orthogonal-hidden off|polar|expm   keep W's weight columns orthogonal (off)\n"
"\n"
"Warm start (any algorithm):\n"
"  --init-model PATH        start from this model document's weights instead of net control:\n"
"                           its hidden width, bypass choice and input normalization are kept\n"
"                           (--hidden is ignored), the iteration count starts at 0 and the\n"
"                           algorithm and options are this command's; with --orthogonal-hidden\n"
"                           W is projected and the output weights re-solved first\n",
        (FILE *)stream);
}

/* ---- oigd project ---------------------------------------------------------------------- */

void cli_project_usage(void *stream) {
    fputs(
"usage: oigd project --model IN --model-out OUT [options]\n"
"\n"
"Write a new model whose hidden weights W (and W_oh with --layers all) are replaced by their\n"
"nearest orthogonal or semi-orthogonal matrices. With --data the output weights are re-solved\n"
"by OWO on those rows and the error is reported before, after projection and after OWO; the\n"
"distance moved and the errors are recorded in the new model's metadata.\n"
"\n"
"  --model PATH             the model document to project\n"
"  --model-out PATH         the new model document (written atomically)\n"
"  --method polar|lie       closed-form polar factor (default) or the iterative Lie method\n"
"  --layers hidden|all      W only (default) or W and W_oh (no OWO re-solve)\n"
"  --no-reowo               keep the output weights as they are\n"
"  --reflect                square W: plain polar factor, det may be -1\n"
"  --lie-opt gd|adam        optimizer of the Lie method (gd)\n"
"  --lie-tol X              Lie stopping tolerance (1e-10)\n"
"  --lie-max-iter N         Lie iteration limit (10000)\n"
"  --data FILE              rows for the OWO re-solve and the error report\n"
"  --format auto|csv|ws     --header auto|yes|no    --targets NAMES\n"
"                           how to read --data (targets default to the model's)\n"
"  --quiet                  no report\n"
"\n"
"Exit status: 0 success, 1 failure, 2 bad arguments.\n", (FILE *)stream);
}

static int perr(const char *fmt, ...) {
    va_list ap;
    fputs("oigd project: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_FAILURE;
}

static int pusage(const char *fmt, ...) {
    va_list ap;
    fputs("oigd project: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n\n", stderr);
    cli_project_usage(stderr);
    return CLI_EXIT_USAGE;
}

/* A whole file into a malloc'd NUL-terminated buffer. */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    size_t cap = 65536, n = 0;
    char *b = malloc(cap);
    while (b) {
        if (n + 1 >= cap) {
            char *nb = cap < ((size_t)1 << 40) ? realloc(b, cap * 2) : NULL;
            if (nb == NULL) { free(b); b = NULL; break; }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) { free(b); b = NULL; }
            break;
        }
    }
    fclose(f);
    if (b) { b[n] = '\0'; *len = n; }
    return b;
}

/* text to path through a temp file beside it and rename. */
static int write_atomic(const char *path, const char *text, size_t len) {
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (tmp == NULL) return -1;
    snprintf(tmp, n, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) { free(tmp); return -1; }
    FILE *f = fdopen(fd, "wb");
    if (f == NULL) { close(fd); unlink(tmp); free(tmp); return -1; }
    int bad = fwrite(text, 1, len, f) != len || fputc('\n', f) == EOF || fflush(f) != 0 ||
              fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (!bad) bad = rename(tmp, path) != 0;
    if (bad) unlink(tmp);
    free(tmp);
    return bad ? -1 : 0;
}

static void report_line(const char *what, double mse, double err, int classify) {
    if (!isfinite(mse)) return;
    printf("%-20s MSE %.10g", what, mse);
    if (classify && isfinite(err)) printf("  error %.4f%%", err);
    putchar('\n');
}

int cli_project_main(int argc, char **argv) {
    const char *in = NULL, *out = NULL, *data = NULL, *targets = NULL;
    oig_project_opts po;
    oig_project_opts_init(&po);
    oig_parse_opts popts;
    oig_parse_opts_init(&popts);
    int quiet = 0;
    enum { J_HELP = 1, J_NO_REOWO, J_REFLECT, J_QUIET, J_MODEL, J_MODEL_OUT, J_DATA, J_TARGETS, J_METHOD, J_LAYERS,
           J_LIE_OPT, J_LIE_TOL, J_LIE_MAX_ITER, J_FORMAT, J_HEADER };
    static const cli_flagdef flags[] = {
        { "--help", 0, J_HELP }, { "--no-reowo", 0, J_NO_REOWO }, { "--reflect", 0, J_REFLECT },
        { "--quiet", 0, J_QUIET }, { "--model", 1, J_MODEL }, { "--model-out", 1, J_MODEL_OUT },
        { "--data", 1, J_DATA }, { "--targets", 1, J_TARGETS }, { "--method", 1, J_METHOD },
        { "--layers", 1, J_LAYERS }, { "--lie-opt", 1, J_LIE_OPT }, { "--lie-tol", 1, J_LIE_TOL },
        { "--lie-max-iter", 1, J_LIE_MAX_ITER }, { "--format", 1, J_FORMAT }, { "--header", 1, J_HEADER },
        { NULL, 0, 0 }
    };
    cli_argscan a = { argc, 1, argv };
    char bad[160];
    while (a.i < argc) {
        const cli_flagdef *d;
        const char *v, *pos;
        long l;
        double x;
        if (cli_scan_next(&a, flags, &d, &v, &pos, bad, sizeof bad) != 0) return pusage("%s", bad);
        if (pos) return pusage("unexpected argument '%s'", pos);
        switch (d->id) {
        case J_HELP: cli_project_usage(stdout); return CLI_EXIT_OK;
        case J_NO_REOWO: po.reowo = 0; break;
        case J_REFLECT: po.reflect = 1; break;
        case J_QUIET: quiet = 1; break;
        case J_MODEL: in = v; break;
        case J_MODEL_OUT: out = v; break;
        case J_DATA: data = v; break;
        case J_TARGETS: targets = v; break;
        case J_METHOD:
            if (strcmp(v, "polar") == 0) po.method = OIG_PROJECT_POLAR;
            else if (strcmp(v, "lie") == 0) po.method = OIG_PROJECT_LIE;
            else return pusage("bad value '%s' for --method: polar or lie", v);
            break;
        case J_LAYERS:
            if (strcmp(v, "hidden") == 0) po.layers_all = 0;
            else if (strcmp(v, "all") == 0) po.layers_all = 1;
            else return pusage("bad value '%s' for --layers: hidden or all", v);
            break;
        case J_LIE_OPT:
            if (strcmp(v, "gd") == 0) po.lie_adam = 0;
            else if (strcmp(v, "adam") == 0) po.lie_adam = 1;
            else return pusage("bad value '%s' for --lie-opt: gd or adam", v);
            break;
        case J_LIE_TOL:
            if (num(v, &x) || !(x > 0)) return pusage("bad value '%s' for --lie-tol: a number > 0", v);
            po.lie_tol = x;
            break;
        case J_LIE_MAX_ITER:
            if (integer(v, 1, 100000000, &l)) return pusage("bad value '%s' for --lie-max-iter: an integer >= 1", v);
            po.lie_max_iter = (int)l;
            break;
        case J_FORMAT:
            if (strcmp(v, "auto") == 0) popts.format = OIG_FORMAT_AUTO;
            else if (strcmp(v, "csv") == 0) popts.format = OIG_FORMAT_CSV;
            else if (strcmp(v, "ws") == 0) popts.format = OIG_FORMAT_WS;
            else return pusage("bad value '%s' for --format: auto, csv or ws", v);
            break;
        case J_HEADER:
            if (strcmp(v, "auto") == 0) popts.header = -1;
            else if (strcmp(v, "yes") == 0) popts.header = 1;
            else if (strcmp(v, "no") == 0) popts.header = 0;
            else return pusage("bad value '%s' for --header: auto, yes or no", v);
            break;
        }
    }
    if (!in || !out || !*in || !*out) return pusage("--model IN and --model-out OUT are required");

    int rc = CLI_EXIT_FAILURE;
    size_t len;
    char *buf = slurp(in, &len), *doc = NULL, *tnames = NULL;
    oig_model *m = NULL, *p = NULL;
    oig_data *d = NULL;
    oig_error err;
    memset(&err, 0, sizeof err);
    if (buf == NULL) { perr("%s: %s", in, strerror(errno ? errno : EIO)); goto done; }
    oig_status st = model_doc_read(buf, len, &m, &err);
    free(buf);
    buf = NULL;
    if (st != OIG_OK) { perr("%s: %s%s%s", in, err.field, err.field[0] ? ": " : "", err.message); goto done; }
    if (data) {
        if ((buf = slurp(data, &len)) == NULL) { perr("%s: %s", data, strerror(errno ? errno : EIO)); goto done; }
        popts.task = m->task;
        if (targets) popts.targets = targets;
        else if (m->target_names && m->ntarget_names > 0) {
            size_t tl = 1;
            for (int k = 0; k < m->ntarget_names; k++) tl += strlen(m->target_names[k]) + 1;
            if ((tnames = malloc(tl)) == NULL) { perr("out of memory"); goto done; }
            tnames[0] = '\0';
            for (int k = 0; k < m->ntarget_names; k++) {
                if (k) strcat(tnames, ",");
                strcat(tnames, m->target_names[k]);
            }
            popts.targets = tnames;
        } else if (m->task == OIG_REGRESSION) popts.outputs = m->m;
        st = oig_data_parse(buf, len, &popts, &d, &err);
        if (st != OIG_OK) {
            if (err.line > 0) perr("%s:%d:%d: %s", data, err.line, err.column, err.message);
            else perr("%s: %s", data, err.message[0] ? err.message : oig_status_name(st));
            goto done;
        }
        if (d->n != m->n || d->m != m->m) {
            perr("%s: %d inputs and %d outputs; the model has %d and %d", data, d->n, d->m, m->n, m->m);
            goto done;
        }
        if (m->task == OIG_CLASSIFICATION && m->labels) {
            int same = d->nclasses == m->nclasses;
            for (int k = 0; same && k < m->nclasses; k++) same = strcmp(d->labels[k], m->labels[k]) == 0;
            if (!same) { perr("%s: the class labels differ from the model's", data); goto done; }
        }
    }
    oig_project_report rep;
    st = oig_model_project(m, &po, d, &p, &rep, &err);
    if (st != OIG_OK) {
        perr("%s%s%s", err.field, err.field[0] ? ": " : "", err.message[0] ? err.message : oig_status_name(st));
        goto done;
    }
    size_t dlen;
    if ((doc = model_doc_write(p, &dlen)) == NULL) { perr("out of memory writing the model"); goto done; }
    if (write_atomic(out, doc, dlen) != 0) { perr("%s: write failed: %s", out, strerror(errno)); goto done; }
    if (!quiet) {
        int cl = m->task == OIG_CLASSIFICATION;
        printf("projection           %s, layers %s\n", po.method == OIG_PROJECT_LIE ? "lie" : "polar",
               po.layers_all ? "all" : "hidden");
        printf("distance moved       %.10g\n", rep.moved);
        report_line("before", rep.mse_before, rep.err_before, cl);
        report_line("after projection", rep.mse_projected, rep.err_projected, cl);
        report_line("after OWO", rep.mse_reowo, rep.err_reowo, cl);
        printf("model                %s\n", out);
    }
    rc = CLI_EXIT_OK;
done:
    free(buf);
    free(doc);
    free(tnames);
    oig_data_free(d);
    oig_model_free(m);
    oig_model_free(p);
    return rc;
}

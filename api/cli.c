/* cli.c -- `oigd train`, `oigd predict` and `oigd evaluate`: arguments, files, progress, and the
 * model file.
 *
 * Owns everything between the command line and the engine for a local run: strict flag
 * parsing (exit 2 naming the flag), reading files into memory, the live progress line and the
 * metrics CSV, and writing the model, prediction and score files atomically (temp file +
 * rename). The numerics live in engine/, the model document in server/model_doc.c.
 */
#include "cli.h"
#include "textfmt.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "body.h"
#include "cli_related.h"
#include "model_doc.h"
#include "oig.h"
#include "predict_text.h"
#include "score_doc.h"
#include "suggest.h"
#include "train_threads.h"
#ifdef OIGD_MPI
#include "mpi_train.h"
#endif

#define MAX_FILE_BYTES ((size_t)1 << 40)   /* 1 TiB: a sanity bound, the real one is memory */
#define PROGRESS_INTERVAL 0.1              /* seconds between progress-line updates */

/* ---- small helpers ---------------------------------------------------------------------- */

/* An argument error: message and usage on stderr; returns CLI_EXIT_USAGE. */
static int usage_error(void (*usage)(void *), const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "oigd %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n\n", stderr);
    usage(stderr);
    return CLI_EXIT_USAGE;
}

static int runtime_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "oigd %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_FAILURE;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Read a whole file into a malloc'd, NUL-terminated buffer. Regular files are read in one
 * allocation of their size; pipes grow a buffer up to MAX_FILE_BYTES. */
static int read_file(const char *path, char **buf, size_t *len, char *msg, size_t msgcap) {
    *buf = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(msg, msgcap, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        snprintf(msg, msgcap, "%s: %s", path, strerror(errno));
        fclose(f);
        return -1;
    }
    if (S_ISDIR(sb.st_mode)) {
        snprintf(msg, msgcap, "%s: is a directory", path);
        fclose(f);
        return -1;
    }
    size_t cap = S_ISREG(sb.st_mode) ? (size_t)sb.st_size + 1 : 65536;
    if (S_ISREG(sb.st_mode) && (uintmax_t)sb.st_size >= MAX_FILE_BYTES) {
        snprintf(msg, msgcap, "%s: file too large", path);
        fclose(f);
        return -1;
    }
    char *b = malloc(cap);
    if (b == NULL) {
        snprintf(msg, msgcap, "%s: out of memory reading %zu bytes", path, cap);
        fclose(f);
        return -1;
    }
    size_t n = 0;
    for (;;) {
        if (n + 1 == cap) {
            if (S_ISREG(sb.st_mode)) break;            /* the size stat gave: read no further */
            if (cap >= MAX_FILE_BYTES) {
                snprintf(msg, msgcap, "%s: input too large", path);
                goto fail;
            }
            char *nb = realloc(b, cap * 2);
            if (nb == NULL) {
                snprintf(msg, msgcap, "%s: out of memory", path);
                goto fail;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                snprintf(msg, msgcap, "%s: read error: %s", path, strerror(errno));
                goto fail;
            }
            break;
        }
    }
    fclose(f);
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
fail:
    free(b);
    fclose(f);
    return -1;
}

/* An open temp file beside path, to be renamed over it by atomic_commit. */
typedef struct {
    char *tmp;
    const char *path;
    FILE *f;
} atomic_file;

static int atomic_open(atomic_file *af, const char *path, char *msg, size_t msgcap) {
    af->path = path;
    af->f = NULL;
    size_t n = strlen(path) + 16;
    af->tmp = malloc(n);
    if (af->tmp == NULL) { snprintf(msg, msgcap, "%s: out of memory", path); return -1; }
    snprintf(af->tmp, n, "%s.tmp-XXXXXX", path);
    int fd = mkstemp(af->tmp);
    if (fd < 0) {
        snprintf(msg, msgcap, "%s: cannot create a file beside it: %s", path, strerror(errno));
        free(af->tmp);
        af->tmp = NULL;
        return -1;
    }
    mode_t mask = umask(0);     /* mkstemp makes 0600; give the file the usual 0666 & ~umask */
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0 || (af->f = fdopen(fd, "wb")) == NULL) {
        snprintf(msg, msgcap, "%s: %s", af->tmp, strerror(errno));
        close(fd);
        unlink(af->tmp);
        free(af->tmp);
        af->tmp = NULL;
        return -1;
    }
    return 0;
}

/* Flush, sync and rename the temp file over the target; on any failure the temp is removed
 * and the target is untouched. */
static int atomic_commit(atomic_file *af, char *msg, size_t msgcap) {
    int bad = fflush(af->f) != 0 || ferror(af->f) || fsync(fileno(af->f)) != 0;
    int e = errno;
    if (fclose(af->f) != 0 && !bad) { bad = 1; e = errno; }
    af->f = NULL;
    if (!bad && rename(af->tmp, af->path) != 0) { bad = 1; e = errno; }
    if (bad) {
        snprintf(msg, msgcap, "%s: write failed: %s", af->path, strerror(e));
        unlink(af->tmp);
    }
    free(af->tmp);
    af->tmp = NULL;
    return bad ? -1 : 0;
}

/* The model document of m, written atomically to path. 0, or -1 with a message. */
static int write_model_file(const oig_model *m, const char *path, char *msg, size_t msgcap) {
    size_t dlen = 0;
    char *doc = model_doc_write(m, &dlen);
    if (doc == NULL) { snprintf(msg, msgcap, "%s: out of memory writing the model", path); return -1; }
    atomic_file af;
    int rc = atomic_open(&af, path, msg, msgcap);
    if (rc == 0) {
        fwrite(doc, 1, dlen, af.f);
        fputc('\n', af.f);
        rc = atomic_commit(&af, msg, msgcap);
    }
    free(doc);
    return rc;
}

/* ---- strict number parsing --------------------------------------------------------------- */

static int parse_long(const char *s, long lo, long hi, long *out) {
    if (s == NULL || *s == '\0' || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out) {
    if (s == NULL || !isdigit((unsigned char)*s)) return -1;   /* no sign, no blank */
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') return -1;
    *out = (uint64_t)v;
    return 0;
}

/* A finite double in [lo, hi] (open at lo when lo_open). */
static int parse_double(const char *s, double lo, double hi, int lo_open, double *out) {
    if (s == NULL || *s == '\0' || isspace((unsigned char)*s)) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end != '\0' || !isfinite(v) || (errno == ERANGE && v != 0.0)) return -1;
    if (v < lo || v > hi || (lo_open && v == lo)) return -1;
    *out = v;
    return 0;
}

/* "3,5,7" -> malloc'd array of 0-based column indices. */
static int parse_index_list(const char *s, int **out, int *count) {
    *out = NULL;
    *count = 0;
    size_t cap = 1;
    for (const char *p = s; *p; p++) if (*p == ',') cap++;
    int *v = malloc(cap * sizeof *v);
    if (v == NULL) return -1;
    int n = 0;
    const char *p = s;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        char tok[24];
        long x;
        if (l == 0 || l >= sizeof tok) { free(v); return -1; }
        memcpy(tok, p, l);
        tok[l] = '\0';
        if (parse_long(tok, 0, OIG_DEFAULT_MAX_COLUMNS - 1, &x) != 0) { free(v); return -1; }
        v[n++] = (int)x;
        if (e == NULL) break;
        p = e + 1;
    }
    *out = v;
    *count = n;
    return 0;
}

/* ---- argument scanning -------------------------------------------------------------------- */

int cli_scan_next(cli_argscan *a, const cli_flagdef *defs, const cli_flagdef **def, const char **value,
                  const char **positional, char *bad, size_t badcap) {
    *def = NULL;
    *value = NULL;
    *positional = NULL;
    const char *arg = a->argv[a->i++];
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
        if (arg[0] == '-' && arg[1] != '\0' && strcmp(arg, "--") != 0) {
            snprintf(bad, badcap, "unknown option '%s'", arg);
            return -1;
        }
        *positional = arg;
        return 0;
    }
    const char *eq = strchr(arg, '=');
    size_t nl = eq ? (size_t)(eq - arg) : strlen(arg);
    for (const cli_flagdef *d = defs; d->name; d++) {
        if (strlen(d->name) != nl || strncmp(d->name, arg, nl) != 0) continue;
        *def = d;
        if (!d->has_arg) {
            if (eq) { snprintf(bad, badcap, "%s takes no value", d->name); return -1; }
            return 0;
        }
        if (eq) { *value = eq + 1; return 0; }
        if (a->i >= a->argc) { snprintf(bad, badcap, "%s needs a value", d->name); return -1; }
        *value = a->argv[a->i++];
        return 0;
    }
    snprintf(bad, badcap, "unknown option '%.*s'", (int)(nl > 64 ? 64 : nl), arg);
    const char *names[128];
    size_t n = 0;
    char word[64];
    for (const cli_flagdef *d = defs; d->name && n < sizeof names / sizeof names[0]; d++) names[n++] = d->name;
    snprintf(word, sizeof word, "%.*s", (int)(nl < sizeof word ? nl : sizeof word - 1), arg);
    suggest_append(bad, badcap, word, names, n, "");
    return -1;
}

static int parse_format(const char *s, oig_format *out) {
    if (strcmp(s, "auto") == 0) *out = OIG_FORMAT_AUTO;
    else if (strcmp(s, "csv") == 0) *out = OIG_FORMAT_CSV;
    else if (strcmp(s, "ws") == 0) *out = OIG_FORMAT_WS;
    else return -1;
    return 0;
}

static int parse_header(const char *s, int *out) {
    if (strcmp(s, "auto") == 0) *out = -1;
    else if (strcmp(s, "yes") == 0) *out = 1;
    else if (strcmp(s, "no") == 0) *out = 0;
    else return -1;
    return 0;
}

/* "FILE:line:column: message" for a parse error, "FILE: message" otherwise. */
static int report_engine_error(const char *cmd, const char *file, oig_status st, const oig_error *e) {
    if (e->line > 0)
        return runtime_error(cmd, "%s:%d:%d: %s", file, e->line, e->column > 0 ? e->column : 1,
                             e->message[0] ? e->message : oig_status_name(st));
    if (e->field[0])
        return runtime_error(cmd, "%s: %s: %s", file, e->field,
                             e->message[0] ? e->message : oig_status_name(st));
    return runtime_error(cmd, "%s: %s", file, e->message[0] ? e->message : oig_status_name(st));
}

static int default_blas_threads(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > 256 ? 256 : (int)n);
}

/* ---- oigd train ----------------------------------------------------------------------------- */

enum {
    T_HELP = 1, T_DATA, T_FORMAT, T_HEADER, T_TARGETS, T_OUTPUTS, T_TARGET_COLUMNS, T_INPUT_COLUMNS,
    T_TASK, T_ALGORITHM, T_HIDDEN, T_ITERATIONS, T_SEED, T_VALIDATION, T_TRAIN_INDEX,
    T_TEST_INDEX, T_MODEL_OUT, T_METRICS_OUT, T_QUIET, T_TARGET_MSE, T_MAX_SECONDS, T_PATIENCE,
    T_NO_STANDARDIZE, T_NO_BYPASS, T_MD, T_SIGMAD, T_OLS_EPS, T_BIAS_GAIN, T_CLAMP_GAINS,
    T_OIG_RIDGE, T_MAX_HALVINGS, T_LM_LAMBDA0, T_LM_MAX_RETRIES, T_LM_DAMPING, T_LM_REGULARIZATION, T_LM_UPDATE, T_LM_ACCELERATION, T_LM_PRECISION,
    T_BLOCK_ROWS,
    T_NO_CACHE_HIDDEN, T_BLAS_THREADS, T_THREADS, T_PROGRESS_FD, T_CHECKPOINT_DIR, T_CHECKPOINT_SECONDS, T_RESUME
};

static const cli_flagdef train_flags[] = {
    { "--help", 0, T_HELP }, { "--data", 1, T_DATA }, { "--format", 1, T_FORMAT },
    { "--header", 1, T_HEADER }, { "--targets", 1, T_TARGETS }, { "--outputs", 1, T_OUTPUTS },
    { "--target-columns", 1, T_TARGET_COLUMNS }, { "--input-columns", 1, T_INPUT_COLUMNS },
    { "--task", 1, T_TASK }, { "--algorithm", 1, T_ALGORITHM }, { "--hidden", 1, T_HIDDEN },
    { "--iterations", 1, T_ITERATIONS }, { "--seed", 1, T_SEED },
    { "--validation", 1, T_VALIDATION }, { "--train-index", 1, T_TRAIN_INDEX },
    { "--test-index", 1, T_TEST_INDEX }, { "--model-out", 1, T_MODEL_OUT },
    { "--metrics-out", 1, T_METRICS_OUT }, { "--quiet", 0, T_QUIET },
    { "--target-mse", 1, T_TARGET_MSE }, { "--max-seconds", 1, T_MAX_SECONDS },
    { "--patience", 1, T_PATIENCE }, { "--no-standardize", 0, T_NO_STANDARDIZE },
    { "--no-bypass", 0, T_NO_BYPASS }, { "--md", 1, T_MD }, { "--sigmad", 1, T_SIGMAD },
    { "--ols-eps", 1, T_OLS_EPS }, { "--bias-gain", 1, T_BIAS_GAIN },
    { "--clamp-gains", 0, T_CLAMP_GAINS }, { "--oig-ridge", 1, T_OIG_RIDGE },
    { "--max-halvings", 1, T_MAX_HALVINGS }, { "--lm-lambda0", 1, T_LM_LAMBDA0 },
    { "--lm-max-retries", 1, T_LM_MAX_RETRIES }, { "--lm-damping", 1, T_LM_DAMPING },
    { "--lm-regularization", 1, T_LM_REGULARIZATION }, { "--lm-update", 1, T_LM_UPDATE },
    { "--lm-acceleration", 1, T_LM_ACCELERATION }, { "--lm-precision", 1, T_LM_PRECISION },
    { "--block-rows", 1, T_BLOCK_ROWS }, { "--no-cache-hidden", 0, T_NO_CACHE_HIDDEN },
    { "--blas-threads", 1, T_BLAS_THREADS }, { "--threads", 1, T_THREADS },
    { "--progress-fd", 1, T_PROGRESS_FD },
    { "--checkpoint-dir", 1, T_CHECKPOINT_DIR }, { "--checkpoint-seconds", 1, T_CHECKPOINT_SECONDS },
    { "--resume", 1, T_RESUME },
    { NULL, 0, 0 }
};

void cli_train_usage(void *stream) {
    FILE *f = stream;
    fputs(
"usage: oigd train --data FILE [options]\n"
"\n"
"Train a one-hidden-layer network on a CSV or whitespace-separated file and write the model.\n"
"\n"
"Data:\n"
"  --data FILE              training data (also accepted as the one positional argument)\n"
"  --format auto|csv|ws     file format (default auto: CSV when the first line has a comma)\n"
"  --header auto|yes|no     header row (default: yes for CSV, detected for ws)\n"
"  --targets NAMES          target columns by header name, comma separated\n"
"  --outputs M              the last M columns are the targets\n"
"  --target-columns LIST    target columns by 0-based index, comma separated\n"
"                           (default target: the last column)\n"
"  --input-columns LIST     input columns by 0-based index (default: every non-target column)\n"
"  --task regression|classification   (default regression; classification takes one class\n"
"                           column and codes it as one +1/-1 output per class)\n"
"  --validation FRAC        hold out a seeded random FRAC of the rows, 0 <= FRAC < 1\n"
"                           (default 0: no validation set)\n"
"  --train-index FILE --test-index FILE\n"
"                           0-based row lists; the test rows are the validation set\n"
"\n"
"Training:\n"
"  --algorithm owo|bp|hwo|oig-bp|oig-hwo|lm|slnb|osgd|sgd|ngmnn   (default oig-hwo)\n"
"  --hidden NH              hidden units (default 10)\n"
"  --iterations NIT         iterations (default 100)\n"
"  --seed S                 initial weights and validation split (default 1)\n"
"  --target-mse X           stop when training MSE <= X (default 0: off)\n"
"  --max-seconds X          stop after X seconds of training (default 0: off)\n"
"  --patience K             stop after K iterations without a better validation MSE (0: off)\n"
"  --no-standardize         use raw inputs (default: standardize with training statistics)\n"
"  --no-bypass              no input-to-output weights\n"
"  --md X --sigmad X        net-control mean and std of the hidden net functions (0.5, 1)\n"
"  --ols-eps X              OLS dependence threshold, relative (default 1e-10)\n"
"  --bias-gain 0|1          OIG: the threshold column has its own gain (default 1)\n"
"  --clamp-gains            OIG: negative gains are set to 0\n"
"  --oig-ridge X            OIG: solve (H + X diag(H)) a = g (default 0)\n"
"  --max-halvings K         safeguard halvings of the step (default 3)\n"
"  --lm-lambda0 X           LM: initial damping (default 0.01)\n"
"  --lm-max-retries K       LM: damping raises per iteration (default 10)\n"
"  --lm-damping identity|diag   LM: damping matrix (default identity)\n"
"  --lm-regularization none|bayesian   LM: Bayesian regularization, a weight decay\n"
"                           re-estimated every step (default none)\n"
"  --lm-update tenfold|gain LM: lambda /10 and x10 (default), or by the gain ratio\n"
"  --lm-acceleration none|geodesic   LM: geodesic acceleration of each step (default none)\n"
"  --lm-precision double|mixed   LM: J^T J's sums in double, or in single precision\n"
"                           added up in double (default double)\n"
"  --block-rows N           rows per BLAS block (default 2048)\n"
"  --no-cache-hidden        recompute the hidden outputs each pass instead of keeping them\n"
"  --blas-threads N         OpenBLAS threads (default: the number of online CPUs; 1 with\n"
"                           training threads)\n"
"  --threads T              train on T threads, each on its own share of the rows (bp, hwo,\n"
"                           oig-bp, oig-hwo, owo and lm, at least 256 rows each). Default,\n"
"                           without --blas-threads: one per online CPU when each gets 512\n"
"                           rows (lm: and the rows x outputs are at least 8x the weights),\n"
"                           else 1 with every CPU for BLAS; the summary says which\n"
"\n"
"Output:\n"
"  --model-out PATH         write the model document (JSON) to PATH (written atomically)\n"
"  --metrics-out PATH       per-iteration CSV: iteration,train_mse,val_mse,train_err,val_err,\n"
"                           multiplies,seconds\n"
"  --quiet                  no progress line and no summary\n"
"  --progress-fd N          one JSON object per iteration on open descriptor N (1 = stdout):\n"
"                           iteration, train_mse, val_mse, train_err, val_err, multiplies,\n"
"                           seconds (null when not a number); under mpirun rank 0 writes it\n"
"  --checkpoint-dir DIR     every --checkpoint-seconds (default 5) write the model so far to\n"
"                           DIR/checkpoint-K.json (K = its iteration, written atomically); the\n"
"                           progress line of iteration K then says \"checkpoint\":true\n"
"  --resume PATH            continue a checkpoint (or a model written by --model-out): its\n"
"                           weights, iteration count and training state; the options must be\n"
"                           the ones of the run that wrote it\n"
"\n"
"Exit status: 0 trained, 1 failure (file, data, training), 2 bad arguments,\n"
"130 interrupted (the model so far is still written).\n", f);
    cli_related_train_usage(f);
}

typedef struct {
    const char *data, *train_index, *test_index, *model_out, *metrics_out;
    oig_parse_opts popts;
    int *tcols, *icols;
    double validation;
    int validation_set;
    int quiet;
    int blas_threads, blas_threads_set;
    int threads, threads_set;           /* --threads: training threads (server/train_threads.c) */
    int progress_fd;            /* -1: none */
    const char *checkpoint_dir; /* NULL: no checkpoints */
    double checkpoint_seconds;
    const char *resume;         /* NULL: start afresh */
    oig_config cfg;
} train_args;

/* oig_config field -> the flag that sets it, for messages from oig_config_check. */
static const char *config_flag(const char *field) {
    static const char *const map[][2] = {
        { "algorithm", "--algorithm" }, { "nh", "--hidden" }, { "hidden_units", "--hidden" }, { "max_iterations", "--iterations" },
        { "seed", "--seed" }, { "target_mse", "--target-mse" }, { "max_seconds", "--max-seconds" },
        { "patience", "--patience" }, { "standardize", "--no-standardize" },
        { "bypass", "--no-bypass" }, { "md", "--md" }, { "sigmad", "--sigmad" },
        { "ols_eps", "--ols-eps" }, { "bias_gain", "--bias-gain" },
        { "clamp_gains", "--clamp-gains" }, { "oig_ridge", "--oig-ridge" },
        { "max_halvings", "--max-halvings" }, { "lm_lambda0", "--lm-lambda0" },
        { "lm_max_retries", "--lm-max-retries" }, { "lm_damping", "--lm-damping" },
        { "lm_regularization", "--lm-regularization" }, { "lm_update", "--lm-update" },
        { "lm_acceleration", "--lm-acceleration" }, { "lm_precision", "--lm-precision" },
        { "block_rows", "--block-rows" }, { "cache_hidden", "--no-cache-hidden" },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(field, map[i][0]) == 0) return map[i][1];
    const char *rf = cli_related_flag(field);
    return rf ? rf : field;
}

/* Parse train's arguments into *ta. Returns 0, CLI_EXIT_USAGE after reporting, or -1 for
 * --help (usage already printed to stdout). */
static int train_parse_args(int argc, char **argv, train_args *ta) {
    memset(ta, 0, sizeof *ta);
    oig_parse_opts_init(&ta->popts);
    oig_config_init(&ta->cfg);
    ta->cfg.algorithm = OIG_ALG_OIG_HWO;
    ta->blas_threads = default_blas_threads();
    ta->threads = 1;
    ta->progress_fd = -1;
    ta->checkpoint_seconds = 5.0;
    int ntargetsel = 0;
    cli_argscan a = { argc, 1, argv };
    char bad[160];
#define BAD_VALUE(flag, what) \
    return usage_error(cli_train_usage, "train", "bad value '%s' for %s: %s", v, flag, what)
    while (a.i < argc) {
        const cli_flagdef *d;
        const char *v, *pos;
        int rel = cli_related_train_arg(&a.i, argc, argv, &ta->cfg, bad, sizeof bad);
        if (rel < 0) return usage_error(cli_train_usage, "train", "%s", bad);
        if (rel > 0) continue;
        if (cli_scan_next(&a, train_flags, &d, &v, &pos, bad, sizeof bad) != 0)
            return usage_error(cli_train_usage, "train", "%s", bad);
        if (pos) {
            if (ta->data) return usage_error(cli_train_usage, "train", "unexpected argument '%s'", pos);
            ta->data = pos;
            continue;
        }
        long l;
        double x;
        switch (d->id) {
        case T_HELP: cli_train_usage(stdout); return -1;
        case T_DATA:
            if (ta->data) return usage_error(cli_train_usage, "train", "--data given twice");
            ta->data = v;
            break;
        case T_FORMAT: if (parse_format(v, &ta->popts.format)) BAD_VALUE("--format", "auto, csv or ws"); break;
        case T_HEADER: if (parse_header(v, &ta->popts.header)) BAD_VALUE("--header", "auto, yes or no"); break;
        case T_TARGETS:
            if (*v == '\0') BAD_VALUE("--targets", "a comma-separated list of column names");
            ta->popts.targets = v; ntargetsel++;
            break;
        case T_OUTPUTS:
            if (parse_long(v, 1, OIG_DEFAULT_MAX_COLUMNS, &l)) BAD_VALUE("--outputs", "an integer >= 1");
            ta->popts.outputs = (int)l; ntargetsel++;
            break;
        case T_TARGET_COLUMNS:
            free(ta->tcols);
            if (parse_index_list(v, &ta->tcols, &ta->popts.ntarget_columns))
                BAD_VALUE("--target-columns", "comma-separated 0-based column indices");
            ta->popts.target_columns = ta->tcols; ntargetsel++;
            break;
        case T_INPUT_COLUMNS:
            free(ta->icols);
            if (parse_index_list(v, &ta->icols, &ta->popts.ninput_columns))
                BAD_VALUE("--input-columns", "comma-separated 0-based column indices");
            ta->popts.input_columns = ta->icols;
            break;
        case T_TASK:
            if (strcmp(v, "regression") == 0) ta->popts.task = OIG_REGRESSION;
            else if (strcmp(v, "classification") == 0) ta->popts.task = OIG_CLASSIFICATION;
            else BAD_VALUE("--task", "regression or classification");
            break;
        case T_ALGORITHM:
            if (oig_algorithm_parse(v, &ta->cfg.algorithm))
                BAD_VALUE("--algorithm", "owo, bp, hwo, oig-bp, oig-hwo, lm, slnb, osgd, sgd or ngmnn");
            break;
        case T_HIDDEN:
            if (parse_long(v, 0, 1000000, &l)) BAD_VALUE("--hidden", "an integer from 0 to 1000000");
            ta->cfg.nh = (int)l;
            break;
        case T_ITERATIONS:
            if (parse_long(v, 0, 100000000, &l)) BAD_VALUE("--iterations", "an integer from 0 to 100000000");
            ta->cfg.max_iterations = (int)l;
            break;
        case T_SEED: if (parse_u64(v, &ta->cfg.seed)) BAD_VALUE("--seed", "an unsigned 64-bit integer"); break;
        case T_VALIDATION:
            if (parse_double(v, 0.0, 1.0, 0, &x) || x >= 1.0)
                BAD_VALUE("--validation", "a fraction with 0 <= FRAC < 1");
            ta->validation = x; ta->validation_set = 1;
            break;
        case T_TRAIN_INDEX: ta->train_index = v; break;
        case T_TEST_INDEX: ta->test_index = v; break;
        case T_MODEL_OUT: if (*v == '\0') BAD_VALUE("--model-out", "a path"); ta->model_out = v; break;
        case T_METRICS_OUT: if (*v == '\0') BAD_VALUE("--metrics-out", "a path"); ta->metrics_out = v; break;
        case T_QUIET: ta->quiet = 1; break;
        case T_TARGET_MSE:
            if (parse_double(v, 0.0, HUGE_VAL, 0, &ta->cfg.target_mse)) BAD_VALUE("--target-mse", "a number >= 0");
            break;
        case T_MAX_SECONDS:
            if (parse_double(v, 0.0, HUGE_VAL, 0, &ta->cfg.max_seconds)) BAD_VALUE("--max-seconds", "a number >= 0");
            break;
        case T_PATIENCE:
            if (parse_long(v, 0, 100000000, &l)) BAD_VALUE("--patience", "an integer >= 0");
            ta->cfg.patience = (int)l;
            break;
        case T_NO_STANDARDIZE: ta->cfg.standardize = 0; break;
        case T_NO_BYPASS: ta->cfg.bypass = 0; break;
        case T_MD: if (parse_double(v, -HUGE_VAL, HUGE_VAL, 0, &ta->cfg.md)) BAD_VALUE("--md", "a finite number"); break;
        case T_SIGMAD:
            if (parse_double(v, 0.0, HUGE_VAL, 1, &ta->cfg.sigmad)) BAD_VALUE("--sigmad", "a number > 0");
            break;
        case T_OLS_EPS:
            if (parse_double(v, 0.0, 1.0, 0, &ta->cfg.ols_eps)) BAD_VALUE("--ols-eps", "a number in [0, 1]");
            break;
        case T_BIAS_GAIN:
            if (parse_long(v, 0, 1, &l)) BAD_VALUE("--bias-gain", "0 or 1");
            ta->cfg.bias_gain = (int)l;
            break;
        case T_CLAMP_GAINS: ta->cfg.clamp_gains = 1; break;
        case T_OIG_RIDGE:
            if (parse_double(v, 0.0, HUGE_VAL, 0, &ta->cfg.oig_ridge)) BAD_VALUE("--oig-ridge", "a number >= 0");
            break;
        case T_MAX_HALVINGS:
            if (parse_long(v, 0, 60, &l)) BAD_VALUE("--max-halvings", "an integer from 0 to 60");
            ta->cfg.max_halvings = (int)l;
            break;
        case T_LM_LAMBDA0:
            if (parse_double(v, 0.0, HUGE_VAL, 1, &ta->cfg.lm_lambda0)) BAD_VALUE("--lm-lambda0", "a number > 0");
            break;
        case T_LM_MAX_RETRIES:
            if (parse_long(v, 0, 1000, &l)) BAD_VALUE("--lm-max-retries", "an integer from 0 to 1000");
            ta->cfg.lm_max_retries = (int)l;
            break;
        case T_LM_DAMPING: case T_LM_REGULARIZATION: case T_LM_UPDATE: case T_LM_ACCELERATION:
        case T_LM_PRECISION: {
            int i = d->id - T_LM_DAMPING;   /* the five follow oig_lm_choice_option's order */
            if (oig_lm_choice_set(&ta->cfg, i, v)) BAD_VALUE(d->name, oig_lm_choice_values(i));
            break;
        }
        case T_BLOCK_ROWS:
            if (parse_long(v, 1, 1L << 30, &l)) BAD_VALUE("--block-rows", "an integer from 1 to 2^30");
            ta->cfg.block_rows = (size_t)l;
            break;
        case T_NO_CACHE_HIDDEN: ta->cfg.cache_hidden = 0; break;
        case T_BLAS_THREADS:
            if (parse_long(v, 1, 256, &l)) BAD_VALUE("--blas-threads", "an integer from 1 to 256");
            ta->blas_threads = (int)l;
            ta->blas_threads_set = 1;
            break;
        case T_THREADS:
            if (parse_long(v, 1, 256, &l)) BAD_VALUE("--threads", "an integer from 1 to 256");
            ta->threads = (int)l;
            ta->threads_set = 1;
            break;
        case T_PROGRESS_FD:
            if (parse_long(v, 1, 1000000, &l) || fcntl((int)l, F_GETFD) < 0)
                BAD_VALUE("--progress-fd", "an open file descriptor >= 1");
            ta->progress_fd = (int)l;
            break;
        case T_CHECKPOINT_DIR: {
            struct stat sb;
            if (*v == '\0' || stat(v, &sb) != 0 || !S_ISDIR(sb.st_mode))
                BAD_VALUE("--checkpoint-dir", "an existing directory");
            ta->checkpoint_dir = v;
            break;
        }
        case T_CHECKPOINT_SECONDS:
            if (parse_double(v, 0.0, HUGE_VAL, 0, &ta->checkpoint_seconds))
                BAD_VALUE("--checkpoint-seconds", "a number >= 0");
            break;
        case T_RESUME: if (*v == '\0') BAD_VALUE("--resume", "a path"); ta->resume = v; break;
        }
    }
#undef BAD_VALUE
    if (ta->data == NULL) return usage_error(cli_train_usage, "train", "--data FILE is required");
    if (ntargetsel > 1)
        return usage_error(cli_train_usage, "train",
                           "give at most one of --targets, --outputs and --target-columns");
    if ((ta->train_index != NULL) != (ta->test_index != NULL))
        return usage_error(cli_train_usage, "train", "--train-index and --test-index go together");
    if (ta->train_index && ta->validation_set)
        return usage_error(cli_train_usage, "train",
                           "--validation and --train-index/--test-index exclude each other");
    if (ta->resume && ta->cfg.init_model)
        return usage_error(cli_train_usage, "train", "--resume and --init-model exclude each other");
    oig_error err;
    memset(&err, 0, sizeof err);
    if (oig_config_check(&ta->cfg, &err) != OIG_OK)
        return usage_error(cli_train_usage, "train", "%s: %s", config_flag(err.field), err.message);
    return 0;
}

/* Per-run state the progress callback needs. */
typedef struct {
    FILE *metrics;
    int metrics_failed;
    int tty;
    int max_iterations;
    int classify;
    double last_draw;
    int drawn;
    int progress_fd;    /* -1, or where the JSON progress lines go (stops at the first failed write) */
    void *mpi;          /* the MPI rank state when run under mpirun (OIGD_MPI builds) */
    const char *checkpoint_dir;     /* NULL: none (and on every rank but 0) */
    double checkpoint_seconds, last_checkpoint;
} train_progress;

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

static void metrics_cell(FILE *f, double v, int last) {
    if (isfinite(v)) {
        char b[40];
        fmt_double_exact(b, sizeof b, v);
        fputs(b, f);
    }
    fputc(last ? '\n' : ',', f);
}

/* One progress record as a JSON line, written with one write(2) so that readers of a pipe
 * never see half a line (the line is far below PIPE_BUF). */
static void progress_line(train_progress *tp, const oig_progress *p, int checkpoint) {
    const double v[6] = { p->train_mse, p->val_mse, p->train_err, p->val_err, p->multiplies, p->seconds };
    static const char *const names[6] = { "train_mse", "val_mse", "train_err", "val_err", "multiplies", "seconds" };
    char line[512];
    size_t n = (size_t)snprintf(line, sizeof line, "{\"iteration\":%d", p->iteration);
    for (int k = 0; k < 6; k++) {
        char num[40] = "null";
        if (isfinite(v[k])) fmt_double_exact(num, sizeof num, v[k]);
        n += (size_t)snprintf(line + n, sizeof line - n, ",\"%s\":%s", names[k], num);
    }
    n += (size_t)snprintf(line + n, sizeof line - n, "%s}\n", checkpoint ? ",\"checkpoint\":true" : "");
    if (n >= sizeof line) return;
    for (size_t off = 0; off < n;) {
        ssize_t w = write(tp->progress_fd, line + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { tp->progress_fd = -1; return; }
        off += (size_t)w;
    }
}

/* The model at p to DIR/checkpoint-K.json when one is due; 1 if written. A failed write is
 * reported and training goes on: the next checkpoint may succeed. */
static int write_checkpoint(train_progress *tp, const oig_progress *p) {
    double t = now_seconds();
    if (!tp->checkpoint_dir || !p->model || t - tp->last_checkpoint < tp->checkpoint_seconds) return 0;
    tp->last_checkpoint = t;
    char path[4200], msg[512];
    int k = snprintf(path, sizeof path, "%s/checkpoint-%d.json", tp->checkpoint_dir, p->iteration);
    if (k < 0 || (size_t)k >= sizeof path) return 0;
    if (write_model_file(p->model, path, msg, sizeof msg) != 0) {
        fprintf(stderr, "oigd train: checkpoint: %s\n", msg);
        return 0;
    }
    return 1;
}

static int train_callback(const oig_progress *p, void *ud) {
    train_progress *tp = ud;
    int checkpoint = write_checkpoint(tp, p);
    if (tp->progress_fd >= 0) progress_line(tp, p, checkpoint);
    if (tp->metrics && !tp->metrics_failed) {
        fprintf(tp->metrics, "%d,", p->iteration);
        metrics_cell(tp->metrics, p->train_mse, 0);
        metrics_cell(tp->metrics, p->val_mse, 0);
        metrics_cell(tp->metrics, p->train_err, 0);
        metrics_cell(tp->metrics, p->val_err, 0);
        metrics_cell(tp->metrics, p->multiplies, 0);
        metrics_cell(tp->metrics, p->seconds, 1);
        if (ferror(tp->metrics)) tp->metrics_failed = 1;
    }
    if (tp->tty) {
        double t = now_seconds();
        if (!tp->drawn || t - tp->last_draw >= PROGRESS_INTERVAL ||
            p->iteration >= tp->max_iterations) {
            char val[48] = "", err[64] = "";
            if (isfinite(p->val_mse)) snprintf(val, sizeof val, "  val MSE %.6g", p->val_mse);
            if (tp->classify && isfinite(p->train_err)) {
                snprintf(err, sizeof err, "  err %.2f%%", p->train_err);
                if (isfinite(p->val_err))
                    snprintf(err + strlen(err), sizeof err - strlen(err), " / %.2f%%", p->val_err);
            }
            fprintf(stderr, "\r\033[Kiteration %d/%d  train MSE %.6g%s%s  %.3g mult  %.1fs",
                    p->iteration, tp->max_iterations, p->train_mse, val, err, p->multiplies,
                    p->seconds);
            fflush(stderr);
            tp->last_draw = t;
            tp->drawn = 1;
        }
    }
    int stop = interrupted;
#ifdef OIGD_MPI
    if (tp->mpi) stop = mpi_train_agree_stop(tp->mpi, stop);   /* every rank alike */
#endif
    return stop ? OIG_STOP : OIG_CONTINUE;
}

static void print_summary(const char *path, size_t ntrain, size_t nval, const oig_model *m,
                          int threads, int blas_threads) {
    const oig_summary *s = &m->summary;
    printf("data          %s: %zu training rows", path, ntrain);
    if (nval) printf(", %zu validation rows", nval);
    printf(", %d inputs, %d outputs\n", m->n, m->m);
    printf("algorithm     %s (Nh = %d)\n", oig_algorithm_name(m->algorithm), m->nh);
    printf("threads       %d training thread%s, %d BLAS thread%s%s\n", threads, threads > 1 ? "s" : "",
           blas_threads, blas_threads > 1 ? "s" : "", threads > 1 ? " each" : "");
    printf("iterations    %d\n", s->iterations);
    printf("train MSE     %.10g  (RMSE %.10g)\n", s->train_mse, sqrt(s->train_mse));
    if (isfinite(s->val_mse)) printf("val MSE       %.10g  (RMSE %.10g)\n", s->val_mse, sqrt(s->val_mse));
    if (m->task == OIG_CLASSIFICATION) {
        printf("train error   %.4f%%\n", s->train_err);
        if (isfinite(s->val_err)) printf("val error     %.4f%%\n", s->val_err);
    }
    printf("multiplies    %.6g\n", s->multiplies);
    printf("seconds       %.3f\n", s->seconds);
    printf("stop reason   %s\n", s->stop_reason[0] ? s->stop_reason : "-");
    printf("safeguards    olf_halvings=%ld oig_halvings=%ld oig_olf_fallbacks=%ld "
           "accepted_worse=%ld lm_rejections=%ld\n",
           s->safeguards.olf_halvings, s->safeguards.oig_halvings,
           s->safeguards.oig_olf_fallbacks, s->safeguards.accepted_worse,
           s->safeguards.lm_rejections);
}

/* The training data file: a regular file is mapped read-only, and the parser's release
 * callback drops the pages it is done with, so that only a window of the text stays resident
 * beside the matrix being filled; anything else (a pipe) is read into memory. */
typedef struct {
    char *buf;
    size_t len;
    int mapped;
} data_file;

static int data_file_open(const char *path, data_file *df, char *msg, size_t cap) {
    memset(df, 0, sizeof *df);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
        (uintmax_t)sb.st_size < MAX_FILE_BYTES) {
        void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            close(fd);
            df->buf = p;
            df->len = (size_t)sb.st_size;
            df->mapped = 1;
            return 0;
        }
    }
    if (fd >= 0) close(fd);
    return read_file(path, &df->buf, &df->len, msg, cap);   /* reports the error, if any */
}

static void data_file_close(data_file *df) {
    if (df->mapped) munmap(df->buf, df->len);
    else free(df->buf);
    df->buf = NULL;
}

/* Split *all into train and validation by index files, by a seeded fraction, or not at all. */
static int train_split(const train_args *ta, oig_data **all, oig_data **train, oig_data **val) {
    *train = NULL;
    *val = NULL;
    if (ta->train_index) {
        /* the test rows are copied out first; the training rows are then kept in place */
        const char *files[2] = { ta->test_index, ta->train_index };
        for (int k = 0; k < 2; k++) {
            char *buf, msg[512];
            size_t len, *idx = NULL, count = 0;
            oig_error err;
            memset(&err, 0, sizeof err);
            if (read_file(files[k], &buf, &len, msg, sizeof msg) != 0)
                return runtime_error("train", "%s", msg);
            oig_status st = oig_parse_index_list(buf, len, (*all)->nrows, &idx, &count, &err);
            free(buf);
            if (st != OIG_OK) return report_engine_error("train", files[k], st, &err);
            st = k == 0 ? oig_data_select_rows(*all, idx, count, val)
                        : oig_data_take_rows(*all, idx, count);
            free(idx);
            if (st != OIG_OK)
                return runtime_error("train", "%s: selecting rows: %s", files[k], oig_status_name(st));
        }
    } else if (ta->validation > 0.0) {
        oig_status st = oig_data_split_inplace(*all, ta->validation, ta->cfg.seed, val);
        if (st != OIG_OK)
            return runtime_error("train", "%s: cannot hold out %g of %zu rows: %s", ta->data,
                                 ta->validation, (*all)->nrows, oig_status_name(st));
    }
    *train = *all;          /* the training rows, in place */
    *all = NULL;
    return 0;
}

int cli_train_main(int argc, char **argv) {
    train_args ta;
    int rc = train_parse_args(argc, argv, &ta);
    if (rc != 0) {
        free(ta.tcols);
        free(ta.icols);
        cli_related_train_free(&ta.cfg);
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    int root = 1;           /* this process writes the files (rank 0 under MPI) */
    void *mpi = NULL;
#ifdef OIGD_MPI
    if (mpi_train_wanted()) {
        mpi_train *mt;
        if (mpi_train_begin(&mt) != 0) {
            free(ta.tcols);
            free(ta.icols);
            cli_related_train_free(&ta.cfg);
            return runtime_error("train", "MPI initialization failed");
        }
        mpi = mt;
        root = mpi_train_rank(mt) == 0;
        if (!ta.blas_threads_set) ta.blas_threads = 1;   /* ranks share the cores */
    }
#endif

    char msg[512];
    oig_data *all = NULL, *train = NULL, *val = NULL;
    oig_model *model = NULL, *resume = NULL;
    FILE *metrics = NULL;
    oig_error err;
    memset(&err, 0, sizeof err);
    rc = CLI_EXIT_FAILURE;
    oig_status st;
    size_t ntrain = 0, nval = 0;

#ifdef OIGD_MPI
    if (mpi) {
        /* each rank reads the file but converts only its own blocks of rows (api/mpi_train.c) */
        char *buf = NULL;
        size_t len;
        int ok = read_file(ta.data, &buf, &len, msg, sizeof msg) == 0;
        if (ok) {
            mpi_train_source src = { ta.data, buf, len, ta.popts, ta.train_index, ta.test_index,
                                     ta.validation, ta.cfg.seed, ta.cfg.block_rows };
            ok = mpi_train_load(mpi, &src, &train, &val, &ntrain, &nval, msg, sizeof msg) == 0;
        }
        free(buf);
        if (!mpi_train_all_ok(mpi, ok)) {
            if (mpi_train_should_report(mpi, ok || strstr(msg, "another rank") != NULL))
                runtime_error("train", "%s", msg);
            goto out;
        }
        mpi_train_configure(mpi, &ta.cfg);
    } else
#endif
    {
        data_file df;
        if (data_file_open(ta.data, &df, msg, sizeof msg) != 0) { runtime_error("train", "%s", msg); goto out; }
        oig_parse_opts po = ta.popts;
        if (df.mapped) po.release = api_release_pages;
        st = oig_data_parse(df.buf, df.len, &po, &all, &err);
        data_file_close(&df);
        if (st != OIG_OK) { report_engine_error("train", ta.data, st, &err); goto out; }
        if (train_split(&ta, &all, &train, &val) != 0) goto out;
        ntrain = train->nrows;
        nval = val ? val->nrows : 0;
    }

    if (ta.metrics_out && root) {
        metrics = fopen(ta.metrics_out, "w");
        if (metrics == NULL) {
            runtime_error("train", "%s: %s", ta.metrics_out, strerror(errno));
            goto out;
        }
        fputs("iteration,train_mse,val_mse,train_err,val_err,multiplies,seconds\n", metrics);
    }

    if (ta.resume) {
        /* every rank reads it: they all continue from the same state */
        char *buf = NULL;
        size_t len;
        int ok = read_file(ta.resume, &buf, &len, msg, sizeof msg) == 0;
        if (ok && (st = model_doc_read(buf, len, &resume, &err)) != OIG_OK) {
            snprintf(msg, sizeof msg, "%s: %s%s%s", ta.resume, err.field, err.field[0] ? ": " : "",
                     err.message[0] ? err.message : oig_status_name(st));
            ok = 0;
        }
        free(buf);
        int report = !ok;
#ifdef OIGD_MPI
        if (mpi) {
            int all = mpi_train_all_ok(mpi, ok);
            report = mpi_train_should_report(mpi, ok);
            ok = all;
        }
#endif
        if (!ok) {
            if (report) runtime_error("train", "--resume %s", msg);
            goto out;
        }
    }

    if (!ta.threads_set && !ta.blas_threads_set && !mpi) {
        /* neither count given: split the rows over the CPUs where that is faster (measured in
         * server/train_threads.c), else give them to BLAS */
        ta.threads = train_threads_auto(ta.blas_threads, &ta.cfg, train);
    }
    if (ta.threads > 1 && !ta.blas_threads_set) ta.blas_threads = 1;   /* one BLAS thread each */
    oig_blas_set_threads(ta.blas_threads);

    train_progress tp = { metrics, 0, root && !ta.quiet && isatty(STDERR_FILENO),
                          ta.cfg.max_iterations, train->task == OIG_CLASSIFICATION, 0.0, 0,
                          root ? ta.progress_fd : -1, mpi, root ? ta.checkpoint_dir : NULL,
                          ta.checkpoint_seconds, now_seconds() };
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESETHAND;     /* a second Ctrl-C ends the process */
    sigemptyset(&sa.sa_mask);
    interrupted = 0;
    sigaction(SIGINT, &sa, &old);
    memset(&err, 0, sizeof err);
    st = train_threads_run(ta.threads, train, val, &ta.cfg, resume, train_callback, &tp, &model, &err);
    sigaction(SIGINT, &old, NULL);
    if (tp.drawn) fputc('\n', stderr);
    if (st != OIG_OK && st != OIG_ESTOPPED) {
        runtime_error("train", "training failed: %s%s%s", err.field[0] ? err.field : "",
                      err.field[0] ? ": " : "", err.message[0] ? err.message : oig_status_name(st));
#ifdef OIGD_MPI
        if (mpi) mpi_train_abort(mpi, CLI_EXIT_FAILURE);   /* the other ranks may wait in a sum */
#endif
        goto out;
    }
    if (metrics) {
        int bad = tp.metrics_failed || fclose(metrics) != 0;
        metrics = NULL;
        if (bad) { runtime_error("train", "%s: write failed", ta.metrics_out); goto out; }
    }
    if (ta.model_out && root && write_model_file(model, ta.model_out, msg, sizeof msg) != 0) {
        runtime_error("train", "%s", msg);
        goto out;
    }
    if (!ta.quiet && root) {
        print_summary(ta.data, ntrain, nval, model, train_threads_count(ta.threads, &ta.cfg, train),
                      ta.blas_threads);
        printf("model         %s\n", ta.model_out ? ta.model_out : "(not saved: no --model-out)");
        fflush(stdout);
    }
    rc = st == OIG_ESTOPPED && interrupted ? CLI_EXIT_INTERRUPTED : CLI_EXIT_OK;
out:
    if (metrics) fclose(metrics);
    oig_model_free(resume);
    oig_model_free(model);
    oig_data_free(val);
    oig_data_free(train);
    oig_data_free(all);
    free(ta.tcols);
    free(ta.icols);
    cli_related_train_free(&ta.cfg);
#ifdef OIGD_MPI
    mpi_train_end(mpi);
#endif
    (void)mpi;
    return rc;
}

/* ---- oigd predict --------------------------------------------------------------------------- */

enum { P_HELP = 1, P_MODEL, P_DATA, P_FORMAT, P_HEADER, P_INPUT_COLUMNS, P_OUT, P_BLAS_THREADS, P_EXIT };

static const cli_flagdef predict_flags[] = {
    { "--help", 0, P_HELP }, { "--model", 1, P_MODEL }, { "--data", 1, P_DATA },
    { "--format", 1, P_FORMAT }, { "--header", 1, P_HEADER },
    { "--input-columns", 1, P_INPUT_COLUMNS }, { "--out", 1, P_OUT },
    { "--blas-threads", 1, P_BLAS_THREADS }, { "--exit", 1, P_EXIT }, { NULL, 0, 0 }
};

void cli_predict_usage(void *stream) {
    FILE *f = stream;
    fputs(
"usage: oigd predict --model PATH --data FILE [options]\n"
"       oigd predict MODEL FILE [options]\n"
"\n"
"Apply a model (written by `oigd train` or fetched from the daemon) to a data file and write\n"
"CSV predictions, one row per data row: the outputs under the target names (regression) or one\n"
"column per class label plus a `class` column with the predicted label (classification).\n"
"\n"
"  --model PATH             the model document (JSON)\n"
"  --data FILE              the rows to predict\n"
"  --format auto|csv|ws     file format (default auto)\n"
"  --header auto|yes|no     header row (default: yes for CSV, detected for ws)\n"
"  --input-columns LIST     0-based columns holding the model's inputs, in model order.\n"
"                           Otherwise: with a header the inputs are found by name; without\n"
"                           one the file has exactly N columns, or N + targets (first N used)\n"
"  --out PATH               write the CSV to PATH (atomically) instead of stdout\n"
"  --exit K                 anytime models: predict from exit K, 1 = earliest (default: last)\n"
"  --blas-threads N         OpenBLAS threads (default: the number of online CPUs)\n"
"\n"
"Exit status: 0 success, 1 failure (file, model, data), 2 bad arguments.\n", f);
}

int cli_predict_main(int argc, char **argv) {
    const char *model_path = NULL, *data = NULL, *out = NULL;
    oig_parse_opts popts;
    oig_parse_opts_init(&popts);
    int *icols = NULL, nicols = 0, blas_threads = default_blas_threads(), exit_k = 0;
    cli_argscan a = { argc, 1, argv };
    char bad[160];
    int rc = CLI_EXIT_USAGE;
#define BAD_VALUE(flag, what) do { \
        usage_error(cli_predict_usage, "predict", "bad value '%s' for %s: %s", v, flag, what); \
        goto done; } while (0)
    while (a.i < argc) {
        const cli_flagdef *d;
        const char *v, *pos;
        long l;
        if (cli_scan_next(&a, predict_flags, &d, &v, &pos, bad, sizeof bad) != 0) {
            usage_error(cli_predict_usage, "predict", "%s", bad);
            goto done;
        }
        if (pos) {
            if (!model_path) model_path = pos;
            else if (!data) data = pos;
            else { usage_error(cli_predict_usage, "predict", "unexpected argument '%s'", pos); goto done; }
            continue;
        }
        switch (d->id) {
        case P_HELP: cli_predict_usage(stdout); rc = CLI_EXIT_OK; goto done;
        case P_MODEL:
            if (model_path) { usage_error(cli_predict_usage, "predict", "the model is given twice"); goto done; }
            model_path = v;
            break;
        case P_DATA:
            if (data) { usage_error(cli_predict_usage, "predict", "the data file is given twice"); goto done; }
            data = v;
            break;
        case P_FORMAT: if (parse_format(v, &popts.format)) BAD_VALUE("--format", "auto, csv or ws"); break;
        case P_HEADER: if (parse_header(v, &popts.header)) BAD_VALUE("--header", "auto, yes or no"); break;
        case P_INPUT_COLUMNS:
            free(icols);
            if (parse_index_list(v, &icols, &nicols))
                BAD_VALUE("--input-columns", "comma-separated 0-based column indices");
            break;
        case P_OUT: if (*v == '\0') BAD_VALUE("--out", "a path"); out = v; break;
        case P_BLAS_THREADS:
            if (parse_long(v, 1, 256, &l)) BAD_VALUE("--blas-threads", "an integer from 1 to 256");
            blas_threads = (int)l;
            break;
        case P_EXIT:
            if (parse_long(v, 1, 16, &l)) BAD_VALUE("--exit", "an exit number from 1 to 16");
            exit_k = (int)l;
            break;
        }
    }
#undef BAD_VALUE
    if (!model_path || !data) {
        usage_error(cli_predict_usage, "predict", "--model PATH and --data FILE are required");
        goto done;
    }
    oig_blas_set_threads(blas_threads);

    rc = CLI_EXIT_FAILURE;
    char *mbuf = NULL, *dbuf = NULL, msg[512];
    size_t mlen, dlen, nrows = 0;
    oig_model *m = NULL;
    double *x = NULL, *y = NULL;
    int *cls = NULL, *cols = NULL;
    text_record fr = { 0 };
    oig_error err;
    memset(&err, 0, sizeof err);

    if (read_file(model_path, &mbuf, &mlen, msg, sizeof msg) != 0) { runtime_error("predict", "%s", msg); goto out; }
    oig_status st = model_doc_read(mbuf, mlen, &m, &err);
    if (st != OIG_OK) { report_engine_error("predict", model_path, st, &err); goto out; }
    if (read_file(data, &dbuf, &dlen, msg, sizeof msg) != 0) { runtime_error("predict", "%s", msg); goto out; }
    if (text_record_read(dbuf, dlen, popts.format, popts.header, &fr) != 0) {
        /* empty or malformed: let the engine's parser say exactly where */
        oig_data *d = NULL;
        st = oig_data_parse(dbuf, dlen, &popts, &d, &err);
        oig_data_free(d);
        if (st != OIG_OK) report_engine_error("predict", data, st, &err);
        else runtime_error("predict", "%s: cannot read the first record", data);
        goto out;
    }
    if (exit_k > oig_model_exit_count(m)) {
        runtime_error("predict", "%s: --exit %d: the model has %d exit%s", model_path, exit_k,
                      oig_model_exit_count(m), oig_model_exit_count(m) == 1 ? "" : "s");
        goto out;
    }
    if ((cols = malloc((size_t)m->n * sizeof *cols)) == NULL) { runtime_error("predict", "out of memory"); goto out; }
    if (text_input_columns(m, &fr, icols, nicols, data, cols, msg, sizeof msg) != 0) { runtime_error("predict", "%s", msg); goto out; }
    if ((st = text_read_inputs(m, dbuf, dlen, &popts, &fr, cols, &x, &nrows, &err)) != OIG_OK) {
        report_engine_error("predict", data, st, &err);
        goto out;
    }
    free(dbuf);
    dbuf = NULL;
    y = malloc(nrows * (size_t)m->m * sizeof *y);
    cls = malloc(nrows * sizeof *cls);
    if (y == NULL || cls == NULL) { runtime_error("predict", "out of memory for %zu rows", nrows); goto out; }
    if ((st = oig_model_predict_exit(m, exit_k - 1, x, nrows, y, cls)) != OIG_OK) {
        runtime_error("predict", "prediction failed: %s", oig_status_name(st));
        goto out;
    }
    if (out) {
        atomic_file af;
        if (atomic_open(&af, out, msg, sizeof msg) != 0) { runtime_error("predict", "%s", msg); goto out; }
        text_write_predictions(af.f, m, y, cls, nrows);
        if (atomic_commit(&af, msg, sizeof msg) != 0) { runtime_error("predict", "%s", msg); goto out; }
    } else {
        text_write_predictions(stdout, m, y, cls, nrows);
        if (fflush(stdout) != 0 || ferror(stdout)) { runtime_error("predict", "writing stdout failed"); goto out; }
    }
    rc = CLI_EXIT_OK;
out:
    text_record_free(&fr);
    free(cols);
    free(mbuf);
    free(dbuf);
    free(x);
    free(y);
    free(cls);
    oig_model_free(m);
done:
    free(icols);
    return rc;
}

/* ---- oigd evaluate -------------------------------------------------------------------------- */

enum { E_HELP = 1, E_MODEL, E_DATA, E_FORMAT, E_HEADER, E_INPUT_COLUMNS, E_TARGET_COLUMNS, E_OUT, E_BLAS_THREADS };

static const cli_flagdef evaluate_flags[] = {
    { "--help", 0, E_HELP }, { "--model", 1, E_MODEL }, { "--data", 1, E_DATA },
    { "--format", 1, E_FORMAT }, { "--header", 1, E_HEADER },
    { "--input-columns", 1, E_INPUT_COLUMNS }, { "--target-columns", 1, E_TARGET_COLUMNS },
    { "--out", 1, E_OUT }, { "--blas-threads", 1, E_BLAS_THREADS }, { NULL, 0, 0 }
};

void cli_evaluate_usage(void *stream) {
    FILE *f = stream;
    fputs(
"usage: oigd evaluate --model PATH --data FILE [options]\n"
"       oigd evaluate MODEL FILE [options]\n"
"\n"
"Score a model on a labeled data file and write the result as JSON, the same document as\n"
"POST /v1/models/{id}/evaluate: rows, mse and rmse (the error training reports), each output's\n"
"mse, rmse, mae and r2, and for a classifier error_percent, accuracy and the confusion matrix\n"
"(rows: true class, columns: predicted class). The file may hold fewer classes than the model.\n"
"\n"
"  --model PATH             the model document (JSON)\n"
"  --data FILE              the labeled rows\n"
"  --format auto|csv|ws     file format (default auto)\n"
"  --header auto|yes|no     header row (default: yes for CSV, detected for ws)\n"
"  --input-columns LIST     0-based columns holding the model's inputs, in model order.\n"
"                           Otherwise found by name in the header, or the first N columns\n"
"  --target-columns LIST    0-based target columns, in model order (a classifier: the class\n"
"                           column). Otherwise found by the model's target names in the\n"
"                           header, or the last M columns (a classifier: the last column)\n"
"  --out PATH               write the JSON to PATH (atomically) instead of stdout\n"
"  --blas-threads N         OpenBLAS threads (default: the number of online CPUs)\n"
"\n"
"Exit status: 0 success, 1 failure (file, model, data that do not fit the model), 2 bad\n"
"arguments.\n", f);
}

/* The file's target columns, in model order, into *tcols (malloc'd, *ntcols of them). */
static int evaluate_target_columns(const oig_model *m, const text_record *fr, const int *given, int ngiven,
                                   const char *file, int **tcols, int *ntcols) {
    int want = m->task == OIG_CLASSIFICATION ? 1 : m->m;
    int *t = malloc((size_t)want * sizeof *t + 1);
    if (t == NULL) return runtime_error("evaluate", "out of memory");
    *tcols = t;
    *ntcols = want;
    if (ngiven > 0) {
        if (ngiven != want) return runtime_error("evaluate", "--target-columns lists %d columns; the model has %d", ngiven, want);
        for (int i = 0; i < want; i++) {
            if (given[i] >= fr->k)
                return runtime_error("evaluate", "%s: --target-columns: column %d out of range (the data has %d columns)",
                                     file, given[i], fr->k);
            t[i] = given[i];
        }
        return 0;
    }
    int named = fr->header && m->target_names && m->ntarget_names >= want;
    for (int i = 0; named && i < want; i++) named = (t[i] = text_record_column(fr, m->target_names[i])) >= 0;
    if (named) return 0;
    if (fr->k < want + 1) return runtime_error("evaluate", "%s: %d columns leave no room for %d targets", file, fr->k, want);
    for (int i = 0; i < want; i++) t[i] = fr->k - want + i;
    return 0;
}

/* The JSON document of a score (malloc'd), NULL when out of memory. */
static char *evaluate_text(const char *model_path, const char *data, const oig_model *m, const oig_score *sc,
                           int by_name) {
    cJSON *o = cJSON_CreateObject();
    if (o == NULL) return NULL;
    cJSON_AddStringToObject(o, "model", model_path);
    cJSON_AddStringToObject(o, "data", data);
    score_doc_add(o, m, sc, by_name);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    return text;
}

int cli_evaluate_main(int argc, char **argv) {
    const char *model_path = NULL, *data = NULL, *out = NULL;
    oig_parse_opts popts;
    oig_parse_opts_init(&popts);
    int *icols = NULL, nicols = 0, *given_t = NULL, ngiven_t = 0, blas_threads = default_blas_threads();
    cli_argscan a = { argc, 1, argv };
    char bad[160];
    int rc = CLI_EXIT_USAGE;
#define BAD_VALUE(flag, what) do { \
        usage_error(cli_evaluate_usage, "evaluate", "bad value '%s' for %s: %s", v, flag, what); \
        goto done; } while (0)
    while (a.i < argc) {
        const cli_flagdef *d;
        const char *v, *pos;
        long l;
        if (cli_scan_next(&a, evaluate_flags, &d, &v, &pos, bad, sizeof bad) != 0) {
            usage_error(cli_evaluate_usage, "evaluate", "%s", bad);
            goto done;
        }
        if (pos) {
            if (!model_path) model_path = pos;
            else if (!data) data = pos;
            else { usage_error(cli_evaluate_usage, "evaluate", "unexpected argument '%s'", pos); goto done; }
            continue;
        }
        switch (d->id) {
        case E_HELP: cli_evaluate_usage(stdout); rc = CLI_EXIT_OK; goto done;
        case E_MODEL:
            if (model_path) { usage_error(cli_evaluate_usage, "evaluate", "the model is given twice"); goto done; }
            model_path = v;
            break;
        case E_DATA:
            if (data) { usage_error(cli_evaluate_usage, "evaluate", "the data file is given twice"); goto done; }
            data = v;
            break;
        case E_FORMAT: if (parse_format(v, &popts.format)) BAD_VALUE("--format", "auto, csv or ws"); break;
        case E_HEADER: if (parse_header(v, &popts.header)) BAD_VALUE("--header", "auto, yes or no"); break;
        case E_INPUT_COLUMNS:
            free(icols);
            if (parse_index_list(v, &icols, &nicols))
                BAD_VALUE("--input-columns", "comma-separated 0-based column indices");
            break;
        case E_TARGET_COLUMNS:
            free(given_t);
            if (parse_index_list(v, &given_t, &ngiven_t))
                BAD_VALUE("--target-columns", "comma-separated 0-based column indices");
            break;
        case E_OUT: if (*v == '\0') BAD_VALUE("--out", "a path"); out = v; break;
        case E_BLAS_THREADS:
            if (parse_long(v, 1, 256, &l)) BAD_VALUE("--blas-threads", "an integer from 1 to 256");
            blas_threads = (int)l;
            break;
        }
    }
#undef BAD_VALUE
    if (!model_path || !data) {
        usage_error(cli_evaluate_usage, "evaluate", "--model PATH and --data FILE are required");
        goto done;
    }
    oig_blas_set_threads(blas_threads);

    rc = CLI_EXIT_FAILURE;
    char *mbuf = NULL, *dbuf = NULL, *text = NULL, msg[512];
    size_t mlen, dlen;
    oig_model *m = NULL;
    oig_data *d = NULL;
    int *cols = NULL, *tcols = NULL, ntcols = 0, by_name = 0;
    text_record fr = { 0 };
    oig_score sc;
    memset(&sc, 0, sizeof sc);
    oig_error err;
    memset(&err, 0, sizeof err);

    if (read_file(model_path, &mbuf, &mlen, msg, sizeof msg) != 0) { runtime_error("evaluate", "%s", msg); goto out; }
    oig_status st = model_doc_read(mbuf, mlen, &m, &err);
    if (st != OIG_OK) { report_engine_error("evaluate", model_path, st, &err); goto out; }
    if (read_file(data, &dbuf, &dlen, msg, sizeof msg) != 0) { runtime_error("evaluate", "%s", msg); goto out; }
    if (text_record_read(dbuf, dlen, popts.format, popts.header, &fr) != 0) {
        st = oig_data_parse(dbuf, dlen, &popts, &d, &err);
        if (st != OIG_OK) report_engine_error("evaluate", data, st, &err);
        else runtime_error("evaluate", "%s: cannot read the first record", data);
        goto out;
    }
    if ((cols = malloc((size_t)m->n * sizeof *cols)) == NULL) { runtime_error("evaluate", "out of memory"); goto out; }
    if (nicols > 0 || (fr.header && m->input_names)) {
        if (text_input_columns(m, &fr, icols, nicols, data, cols, msg, sizeof msg) != 0) {
            runtime_error("evaluate", "%s", msg);
            goto out;
        }
    } else {
        for (int i = 0; i < m->n; i++) cols[i] = i;
    }
    if (evaluate_target_columns(m, &fr, given_t, ngiven_t, data, &tcols, &ntcols) != 0) goto out;
    popts.format = fr.csv ? OIG_FORMAT_CSV : OIG_FORMAT_WS;
    popts.header = fr.header;
    popts.task = m->task;
    popts.input_columns = cols;
    popts.ninput_columns = m->n;
    popts.target_columns = tcols;
    popts.ntarget_columns = ntcols;
    popts.one_class_ok = 1;
    if ((st = oig_data_parse(dbuf, dlen, &popts, &d, &err)) != OIG_OK) { report_engine_error("evaluate", data, st, &err); goto out; }
    free(dbuf);
    dbuf = NULL;
    st = oig_data_conform(d, m, &by_name, &err);
    if (st == OIG_EINVAL) { runtime_error("evaluate", "%s does not fit %s: %s", data, model_path, err.message); goto out; }
    if (st != OIG_OK || (st = oig_model_score(m, d, &sc)) != OIG_OK) {
        runtime_error("evaluate", "scoring failed: %s", oig_status_name(st));
        goto out;
    }
    if ((text = evaluate_text(model_path, data, m, &sc, by_name)) == NULL) { runtime_error("evaluate", "out of memory"); goto out; }
    if (out) {
        atomic_file af;
        if (atomic_open(&af, out, msg, sizeof msg) != 0) { runtime_error("evaluate", "%s", msg); goto out; }
        fprintf(af.f, "%s\n", text);
        if (atomic_commit(&af, msg, sizeof msg) != 0) { runtime_error("evaluate", "%s", msg); goto out; }
    } else {
        printf("%s\n", text);
        if (fflush(stdout) != 0 || ferror(stdout)) { runtime_error("evaluate", "writing stdout failed"); goto out; }
    }
    rc = CLI_EXIT_OK;
out:
    text_record_free(&fr);
    oig_score_free(&sc);
    oig_data_free(d);
    free(cols);
    free(tcols);
    free(text);
    free(mbuf);
    free(dbuf);
    oig_model_free(m);
done:
    free(icols);
    free(given_t);
    return rc;
}

/* mpi_launch.c -- a distributed job as a child process: `/bin/sh -c 'exec LAUNCHER "$@"'` with
 * this binary's `train` command and the job's flags, in its own process group, stdout and stderr
 * on pipes. Owns the job's private temp directory (data file, the model to resume or start
 * from, the child's checkpoints and its model file) and the child's whole life: it is always
 * reaped, and its process group is always emptied, before returning. It must not touch the
 * store: the caller records progress, checkpoints and results.
 *
 * The directory's owner file names this daemon (pid, host, pid namespace), so that a later start can remove
 * the directories of a daemon that died without removing them (mpi_launch_sweep).
 *
 * Checkpoints: the child writes checkpoint-K.json into the directory every checkpoint_seconds
 * and then marks the progress line of iteration K with "checkpoint":true; that line reaches the
 * caller with the checkpoint's model, and the file is removed once read.
 */
#include "mpi_launch.h"
#include "textfmt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include "model_doc.h"

#define LINE_MAX_BYTES 4096         /* longer lines are cut (progress lines are ~250 bytes) */
#define LOG_LINES_MAX 50            /* child stderr lines copied to the daemon's log per job */
#define MODEL_MAX_BYTES ((size_t)1 << 31)

/* The files of the job's temp directory. */
#define DATA_FILE "data.csv"
#define MODEL_FILE "model.json"
#define RESUME_FILE "resume.json"
#define INIT_FILE "init.json"
#define OWNER_FILE "owner"          /* "PID HOST PIDNS": the daemon that made the directory */
#define DIR_PREFIX "oigd-job-"
#define PATH_CAP 1200

/* out (PATH_CAP bytes) = dir/name; -1 when it does not fit (the job directory's own paths
 * always do: the root is under 900 bytes). */
static int dir_file(char *out, const char *dir, const char *name) {
    int k = snprintf(out, PATH_CAP, "%s/%s", dir, name);
    return k >= 0 && k < PATH_CAP ? 0 : -1;
}

static double mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- the data file ------------------------------------------------------------------------ */

/* The dataset as CSV with a header: the inputs, then the targets (regression: the M target
 * columns; classification: one class column of labels). Doubles are written so that they read
 * back bit for bit, labels verbatim, so the child parses the very same rows and classes. */
static int write_csv(const oig_data *d, const char *path, char *msg, size_t cap) {
    FILE *f = fopen(path, "wx");
    if (!f) { snprintf(msg, cap, "cannot create the data file: %s", strerror(errno)); return -1; }
    fmt_dataset_csv_header(f, d);
    fmt_dataset_csv_rows(f, d, 0, d->nrows);
    int bad = ferror(f) != 0;
    if (fclose(f) != 0) bad = 1;
    if (bad) { snprintf(msg, cap, "cannot write the data file: %s", strerror(errno)); return -1; }
    return 0;
}

/* text as the file name in dir (a model document for the child to read). */
static int write_text(const char *dir, const char *name, const char *text, char *msg, size_t cap) {
    char path[PATH_CAP];
    dir_file(path, dir, name);
    FILE *f = fopen(path, "wx");
    if (!f) { snprintf(msg, cap, "cannot create %s: %s", name, strerror(errno)); return -1; }
    size_t n = strlen(text);
    int bad = fwrite(text, 1, n, f) != n;
    if (fclose(f) != 0) bad = 1;
    if (bad) { snprintf(msg, cap, "cannot write %s: %s", name, strerror(errno)); return -1; }
    return 0;
}

/* ---- the argument vector ---------------------------------------------------------------- */

typedef struct {
    char **v;
    int n, cap, oom;
} argv_b;

static void add(argv_b *a, const char *s) {
    if (a->oom) return;
    if (a->n + 2 > a->cap) {
        int nc = a->cap ? a->cap * 2 : 64;
        char **nv = realloc(a->v, (size_t)nc * sizeof *nv);
        if (!nv) { a->oom = 1; return; }
        a->v = nv;
        a->cap = nc;
    }
    if (!(a->v[a->n] = strdup(s))) { a->oom = 1; return; }
    a->v[++a->n] = NULL;
}

static void add_num(argv_b *a, const char *flag, double d) {
    char b[40];
    fmt_double_exact(b, sizeof b, d);
    add(a, flag);
    add(a, b);
}

static void add_int(argv_b *a, const char *flag, long long v) {
    char b[32];
    snprintf(b, sizeof b, "%lld", v);
    add(a, flag);
    add(a, b);
}

void mpi_launch_argv_free(char **argv) {
    if (!argv) return;
    for (char **p = argv; *p; p++) free(*p);
    free(argv);
}

char **mpi_launch_argv(const mpi_launch_req *rq, const char *exe, const char *dir) {
    const oig_config *c = &rq->spec->cfg;
    argv_b a = {0};
    char data_path[PATH_CAP], model_path[PATH_CAP], resume_path[PATH_CAP], init_path[PATH_CAP];
    dir_file(data_path, dir, DATA_FILE);
    dir_file(model_path, dir, MODEL_FILE);
    dir_file(resume_path, dir, RESUME_FILE);
    dir_file(init_path, dir, INIT_FILE);
    size_t sl = strlen(rq->launcher) + 16;
    char *script = malloc(sl);
    if (!script) return NULL;
    snprintf(script, sl, "exec %s \"$@\"", rq->launcher);
    add(&a, "/bin/sh");
    add(&a, "-c");
    add(&a, script);
    free(script);
    add(&a, "oigd-mpi-launch");     /* $0 of the script */
    add(&a, exe);
    add(&a, "train");
    add(&a, "--data"); add(&a, data_path);
    add(&a, "--format"); add(&a, "csv");
    add(&a, "--header"); add(&a, "yes");
    if (rq->data->task == OIG_CLASSIFICATION) { add(&a, "--task"); add(&a, "classification"); }
    else add_int(&a, "--outputs", rq->data->m);
    add(&a, "--model-out"); add(&a, model_path);
    add(&a, "--progress-fd"); add(&a, "1");
    add(&a, "--quiet");
    add(&a, "--checkpoint-dir"); add(&a, dir);
    add_num(&a, "--checkpoint-seconds", rq->checkpoint_seconds);
    if (rq->resume_doc) { add(&a, "--resume"); add(&a, resume_path); }
    else if (rq->init_doc) { add(&a, "--init-model"); add(&a, init_path); }
    add(&a, "--algorithm"); add(&a, oig_algorithm_name(c->algorithm));
    add_int(&a, "--hidden", c->nh);
    add_int(&a, "--iterations", c->max_iterations);
    add_int(&a, "--seed", (long long)c->seed);
    if (rq->spec->validation_fraction > 0) add_num(&a, "--validation", rq->spec->validation_fraction);
    if (c->target_mse > 0) add_num(&a, "--target-mse", c->target_mse);
    if (c->max_seconds > 0) add_num(&a, "--max-seconds", c->max_seconds);
    add_int(&a, "--patience", c->patience);
    if (!c->standardize) add(&a, "--no-standardize");
    if (!c->bypass) add(&a, "--no-bypass");
    add_num(&a, "--md", c->md);
    add_num(&a, "--sigmad", c->sigmad);
    add_num(&a, "--ols-eps", c->ols_eps);
    add_int(&a, "--bias-gain", c->bias_gain);
    if (c->clamp_gains) add(&a, "--clamp-gains");
    add_num(&a, "--oig-ridge", c->oig_ridge);
    add_int(&a, "--max-halvings", c->max_halvings);
    add_num(&a, "--lm-lambda0", c->lm_lambda0);
    add_int(&a, "--lm-max-retries", c->lm_max_retries);
    for (int i = 0; i < OIG_LM_CHOICES; i++) {
        char flag[32];
        snprintf(flag, sizeof flag, "--%s", oig_lm_choice_option(i));
        for (char *p = flag; *p; p++) if (*p == '_') *p = '-';
        add(&a, flag); add(&a, oig_lm_choice_get(c, i));
    }
    static const char *const ortho[] = { "off", "polar", "expm" };
    add(&a, "--orthogonal-hidden"); add(&a, ortho[c->orthogonal_hidden]);
    if (c->algorithm == OIG_ALG_SLNB) {
        const oig_slnb_config *s = &c->slnb;
        add_num(&a, "--eta", s->eta);
        add_int(&a, "--batch", s->batch);
        add_num(&a, "--weight-decay", s->weight_decay);
        add_num(&a, "--b-g", s->b_g);
        add_num(&a, "--b-mu", s->b_mu);
        add_num(&a, "--b-nu", s->b_nu);
        add_num(&a, "--cov-shrinkage", s->cov_shrinkage);
        add_num(&a, "--cg-ridge", s->cg_ridge);
        add_int(&a, "--cg-maxiter", s->cg_maxiter);
        add_num(&a, "--cg-tol", s->cg_tol);
        add_num(&a, "--min-norm", s->min_norm);
        if (s->approx_metric) add(&a, "--approx-metric");
    } else if (c->algorithm == OIG_ALG_OSGD || c->algorithm == OIG_ALG_SGD) {
        static const char *const anytime[] = { "off", "bypass2", "width" };
        const oig_osgd_config *o = &c->osgd;
        add_num(&a, "--eta", o->eta);
        add_int(&a, "--batch", o->batch);
        add_num(&a, "--weight-decay", o->weight_decay);
        add_num(&a, "--momentum", o->momentum);
        add(&a, "--anytime"); add(&a, anytime[o->anytime]);
        add_int(&a, "--exits", o->exits);
        add(&a, "--granularity"); add(&a, o->granularity == OIG_GRAN_GLOBAL ? "global" : "block");
        add(&a, "--rescale"); add(&a, o->rescale == OIG_RESCALE_NORM ? "norm" : "none");
        add_num(&a, "--eps-rel", o->eps_rel);
    } else if (c->algorithm == OIG_ALG_NGMNN) {
        const oig_ngmnn_config *g = &c->ngmnn;
        add_num(&a, "--gamma", g->gamma);
        add_num(&a, "--k-ratio", g->k_ratio);
        add_int(&a, "--svm-iters", g->svm_iters);
        add_num(&a, "--svm-tol", g->svm_tol);
        add_num(&a, "--clamp", g->clamp);
        add(&a, "--alpha-form"); add(&a, g->alpha_form == OIG_ALPHA_CODE ? "code" : "textbook");
    }
    if (a.oom) {
        mpi_launch_argv_free(a.v);
        return NULL;
    }
    return a.v;
}

/* ---- the child's output ----------------------------------------------------------------- */

typedef struct {
    int fd;                     /* -1 at EOF */
    char buf[LINE_MAX_BYTES];
    size_t len;
    int cut;                    /* the current line overflowed: drop the rest of it */
} line_reader;

typedef struct {
    const mpi_launch_req *rq;
    const char *dir;            /* the job's temp directory */
    oig_progress_fn progress;
    void *ud;
    int stop;                   /* progress asked to stop */
    int logged;
    char last[200];             /* the child's last meaningful stderr line */
    char last_oigd[200];        /* ... and its last line from oigd itself */
} run_io;

static int read_model(const char *path, const char *what, oig_model **out, char *msg, size_t cap);

static double num_or_nan(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void stdout_line(run_io *io, const char *line) {
    cJSON *j = line[0] == '{' ? cJSON_Parse(line) : NULL;
    const cJSON *it = j ? cJSON_GetObjectItemCaseSensitive(j, "iteration") : NULL;
    if (!cJSON_IsNumber(it)) {
        cJSON_Delete(j);
        if (line[0] && io->logged++ < LOG_LINES_MAX)
            fprintf(stderr, "oigd: job %s: launcher: %s\n", io->rq->job_id, line);
        return;
    }
    oig_progress p;
    memset(&p, 0, sizeof p);
    p.iteration = it->valueint;
    p.train_mse = num_or_nan(j, "train_mse");
    p.val_mse = num_or_nan(j, "val_mse");
    p.train_err = num_or_nan(j, "train_err");
    p.val_err = num_or_nan(j, "val_err");
    p.multiplies = num_or_nan(j, "multiplies");
    p.seconds = num_or_nan(j, "seconds");
    p.model = NULL;
    /* a checkpoint the child wrote at this iteration goes with it, then its file goes */
    oig_model *ckpt = NULL;
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "checkpoint"))) {
        char name[64], path[PATH_CAP], msg[300];
        snprintf(name, sizeof name, "checkpoint-%d.json", p.iteration);
        dir_file(path, io->dir, name);
        if (read_model(path, "checkpoint", &ckpt, msg, sizeof msg) != 0)
            fprintf(stderr, "oigd: job %s: iteration %d: %s\n", io->rq->job_id, p.iteration, msg);
        unlink(path);
        p.model = ckpt;
    }
    cJSON_Delete(j);
    if (!io->stop && io->progress(&p, io->ud) != OIG_CONTINUE) io->stop = 1;
    oig_model_free(ckpt);
}

/* Lines of only dashes, equal signs and blanks frame Open MPI's messages: not a reason. */
static int meaningful(const char *s) {
    for (; *s; s++) if (*s != '-' && *s != '=' && *s != ' ' && *s != '\t' && *s != '*') return 1;
    return 0;
}

static void stderr_line(run_io *io, const char *line) {
    if (!meaningful(line)) return;
    snprintf(io->last, sizeof io->last, "%s", line);
    if (strncmp(line, "oigd ", 5) == 0) snprintf(io->last_oigd, sizeof io->last_oigd, "%s", line);
    if (io->logged < LOG_LINES_MAX) fprintf(stderr, "oigd: job %s: launcher: %s\n", io->rq->job_id, line);
    else if (io->logged == LOG_LINES_MAX) fprintf(stderr, "oigd: job %s: launcher: (further output not logged)\n", io->rq->job_id);
    io->logged++;
}

/* Read what is available; call on_line for each complete line (CR/LF stripped). */
static void pump(line_reader *r, run_io *io, void (*on_line)(run_io *, const char *)) {
    char chunk[4096];
    ssize_t n = read(r->fd, chunk, sizeof chunk);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
        if (r->len > 0 && !r->cut) { r->buf[r->len] = 0; on_line(io, r->buf); }
        r->len = 0;
        close(r->fd);
        r->fd = -1;
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        char ch = chunk[i];
        if (ch == '\n') {
            if (!r->cut) {
                while (r->len > 0 && r->buf[r->len - 1] == '\r') r->len--;
                r->buf[r->len] = 0;
                on_line(io, r->buf);
            }
            r->len = 0;
            r->cut = 0;
        } else if (r->len + 1 < sizeof r->buf) {
            r->buf[r->len++] = ch;
        } else {
            r->cut = 1;
        }
    }
}

/* ---- the temp directory --------------------------------------------------------------------- */

static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char p[1200];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            int k = snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (k > 0 && (size_t)k < sizeof p) unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* The model document at path, which the child wrote as its what ("model", "checkpoint"). */
static int read_model(const char *path, const char *what, oig_model **out, char *msg, size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(msg, cap, "the distributed run ended without writing a %s", what); return -1; }
    struct stat sb;
    char *buf = NULL;
    int rc = -1;
    if (fstat(fileno(f), &sb) != 0 || sb.st_size <= 0 || (size_t)sb.st_size > MODEL_MAX_BYTES) {
        snprintf(msg, cap, "the distributed run wrote an unusable %s file", what);
        goto out;
    }
    size_t n = (size_t)sb.st_size;
    if (!(buf = malloc(n + 1))) { snprintf(msg, cap, "out of memory reading the %s", what); goto out; }
    if (fread(buf, 1, n, f) != n) { snprintf(msg, cap, "cannot read the %s file", what); goto out; }
    buf[n] = 0;
    oig_error err;
    memset(&err, 0, sizeof err);
    if (model_doc_read(buf, n, out, &err) != OIG_OK) {
        snprintf(msg, cap, "the distributed run wrote an invalid %s: %.200s", what, err.message);
        goto out;
    }
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

/* Where job directories go: $TMPDIR, else /tmp. */
static const char *tmp_root(void) {
    const char *tmp = getenv("TMPDIR");
    return tmp && *tmp && strlen(tmp) < 900 ? tmp : "/tmp";
}

/* "PID HOST PIDNS" of this process, the content of a directory's owner file: a pid means
 * something only on the same host and in the same pid namespace (containers sharing a TMPDIR). */
static void owner_line(char *out, size_t cap) {
    char host[256] = "", ns[64] = "";
    if (gethostname(host, sizeof host) != 0) host[0] = 0;
    host[sizeof host - 1] = 0;
    ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
    ns[n > 0 ? n : 0] = 0;
    snprintf(out, cap, "%d %s %s\n", (int)getpid(), host, ns);
}

/* Whether dir (a job directory) was made by a process of this host and pid namespace that no
 * longer exists. A directory without a readable owner file, or from another host or namespace,
 * is never taken for abandoned. */
static int abandoned(const char *dir) {
    char path[PATH_CAP], line[300], mine[300];
    if (dir_file(path, dir, OWNER_FILE) != 0) return 0;
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = 0;
    owner_line(mine, sizeof mine);
    char *sp = strchr(line, ' '), *my_sp = strchr(mine, ' ');
    if (!sp || !my_sp || strcmp(sp, my_sp) != 0) return 0;
    char *end;
    long pid = strtol(line, &end, 10);
    if (end != sp || pid <= 0 || pid > 0x7fffffffL) return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int mpi_launch_sweep(void) {
    const char *root = tmp_root();
    DIR *d = opendir(root);
    if (!d) return 0;
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, DIR_PREFIX, strlen(DIR_PREFIX)) != 0) continue;
        char dir[PATH_CAP];
        if (dir_file(dir, root, e->d_name) != 0) continue;
        struct stat sb;
        if (lstat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode) || sb.st_uid != geteuid()) continue;
        if (!abandoned(dir)) continue;
        remove_dir(dir);
        removed++;
    }
    closedir(d);
    return removed;
}

/* ---- the run -------------------------------------------------------------------------------- */

/* In the forked child: only async-signal-safe calls until exec. */
static void child_exec(char **argv, int devnull, int out_w, int err_w, pid_t parent) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);       /* the worker thread's end ends the run */
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);  /* the daemon blocks SIGTERM/SIGINT in all threads */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    if (dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) _exit(127);
    syscall(SYS_close_range, 3U, ~0U, 0U);  /* nothing else of the daemon's reaches the job */
    execv(argv[0], argv);
    _exit(127);
}

mpi_launch_result mpi_launch_run(const mpi_launch_req *rq, oig_progress_fn progress, void *ud,
                                 oig_model **out, char *msg, size_t cap) {
    *out = NULL;
    msg[0] = 0;
    char exe[1024], dir[1024], data_path[PATH_CAP], model_path[PATH_CAP];
    ssize_t el = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (el <= 0 || (size_t)el >= sizeof exe - 1) {
        snprintf(msg, cap, "cannot find this program's path for the launcher");
        return MPI_LAUNCH_FAILED;
    }
    exe[el] = 0;
    snprintf(dir, sizeof dir, "%s/" DIR_PREFIX "XXXXXX", tmp_root());
    if (!mkdtemp(dir)) {
        snprintf(msg, cap, "cannot create a temp directory: %s", strerror(errno));
        return MPI_LAUNCH_FAILED;
    }
    dir_file(data_path, dir, DATA_FILE);
    dir_file(model_path, dir, MODEL_FILE);
    mpi_launch_result result = MPI_LAUNCH_FAILED;
    char **argv = NULL;
    int devnull = -1, po[2] = {-1, -1}, pe[2] = {-1, -1};
    char owner[300];
    owner_line(owner, sizeof owner);
    if (write_text(dir, OWNER_FILE, owner, msg, cap) != 0) goto out;
    if (write_csv(rq->data, data_path, msg, cap) != 0) goto out;
    if (rq->resume_doc && write_text(dir, RESUME_FILE, rq->resume_doc, msg, cap) != 0) goto out;
    if (!rq->resume_doc && rq->init_doc && write_text(dir, INIT_FILE, rq->init_doc, msg, cap) != 0) goto out;
    if (!(argv = mpi_launch_argv(rq, exe, dir))) { snprintf(msg, cap, "out of memory"); goto out; }
    if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0 || pipe2(po, O_CLOEXEC) != 0 ||
        pipe2(pe, O_CLOEXEC) != 0) {
        snprintf(msg, cap, "cannot set up the launcher's pipes: %s", strerror(errno));
        goto out;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) { snprintf(msg, cap, "cannot start the launcher: %s", strerror(errno)); goto out; }
    if (pid == 0) child_exec(argv, devnull, po[1], pe[1], parent);
    setpgid(pid, pid);                      /* also here: no window where the group is missing */
    close(po[1]); po[1] = -1;
    close(pe[1]); pe[1] = -1;
    fprintf(stderr, "oigd: job %s: started `%s` (pid %d) in %s\n", rq->job_id, rq->launcher, (int)pid, dir);

    run_io io;
    memset(&io, 0, sizeof io);
    io.rq = rq;
    io.dir = dir;
    io.progress = progress;
    io.ud = ud;
    line_reader *ro = calloc(1, sizeof *ro), *re = calloc(1, sizeof *re);
    int stopping = 0, reaped = 0, status = 0;
    double term_at = 0, drain_until = 0;
    if (!ro || !re) { stopping = 1; snprintf(msg, cap, "out of memory"); }
    if (ro) ro->fd = po[0];
    else close(po[0]);
    if (re) re->fd = pe[0];
    else close(pe[0]);
    po[0] = pe[0] = -1;
    int sent_kill = 0;
    for (;;) {
        if (!stopping && (io.stop || atomic_load(rq->cancel) || atomic_load(rq->shutdown))) stopping = 1;
        if (stopping && term_at == 0) {
            kill(-pid, SIGTERM);
            term_at = mono();
        }
        if (stopping && !sent_kill && mono() - term_at >= rq->grace_seconds) {
            kill(-pid, SIGKILL);
            sent_kill = 1;
        }
        if (!reaped) {
            pid_t w = waitpid(pid, &status, WNOHANG);
            if (w == pid || (w < 0 && errno == ECHILD)) {   /* ECHILD: reaped elsewhere, status lost */
                if (w < 0) status = 255 << 8;
                reaped = 1;
                drain_until = mono() + 1.0;
            }
        }
        int open_fds = (ro && ro->fd >= 0) + (re && re->fd >= 0);
        if (reaped && (open_fds == 0 || mono() >= drain_until)) break;
        struct pollfd pf[2];
        int np = 0;
        if (ro && ro->fd >= 0) pf[np++] = (struct pollfd){ro->fd, POLLIN, 0};
        if (re && re->fd >= 0) pf[np++] = (struct pollfd){re->fd, POLLIN, 0};
        if (np == 0) {
            struct timespec d = {0, 50000000L};
            nanosleep(&d, NULL);
            continue;
        }
        if (poll(pf, (nfds_t)np, 100) <= 0) continue;
        for (int i = 0; i < np; i++) {
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            if (ro && pf[i].fd == ro->fd) pump(ro, &io, stdout_line);
            else if (re && pf[i].fd == re->fd) pump(re, &io, stderr_line);
        }
    }
    /* whatever of the group outlived the launcher (a rank it left behind) goes now */
    if (kill(-pid, 0) == 0) {
        kill(-pid, SIGKILL);
        for (int i = 0; i < 100 && kill(-pid, 0) == 0; i++) {
            struct timespec d = {0, 20000000L};
            nanosleep(&d, NULL);
        }
    }
    if (ro && ro->fd >= 0) close(ro->fd);
    if (re && re->fd >= 0) close(re->fd);
    free(ro);
    free(re);

    if (stopping) {
        result = MPI_LAUNCH_STOPPED;
        if (!msg[0]) snprintf(msg, cap, "stopped");
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        if (read_model(model_path, "model", out, msg, cap) == 0) result = MPI_LAUNCH_DONE;
    } else {
        const char *why = io.last_oigd[0] ? io.last_oigd : io.last;
        char how[64];
        if (WIFEXITED(status)) snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(status));
        else snprintf(how, sizeof how, "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
        if (why[0]) snprintf(msg, cap, "distributed run failed (%s): %s", how, why);
        else snprintf(msg, cap, "distributed run failed (%s) without an error message; launcher: %.120s", how, rq->launcher);
    }
    fprintf(stderr, "oigd: job %s: launcher ended (%s)\n", rq->job_id,
            result == MPI_LAUNCH_DONE ? "model written" : result == MPI_LAUNCH_STOPPED ? "stopped" : "failed");
out:
    if (devnull >= 0) close(devnull);
    for (int i = 0; i < 2; i++) {
        if (po[i] >= 0) close(po[i]);
        if (pe[i] >= 0) close(pe[i]);
    }
    mpi_launch_argv_free(argv);
    remove_dir(dir);
    return result;
}

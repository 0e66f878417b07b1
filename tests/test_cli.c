/* test_cli.c -- end-to-end tests of `oigd train`, `oigd predict` and `oigd evaluate` on the built
 * binary.
 *
 * The binary's path comes from OIGD_BIN (set by CTest). Each test makes its own data in a fresh
 * mkdtemp directory and removes it afterwards. Covers the exit-code contract (0 / 1 / 2), error
 * positions, the metrics CSV, determinism, checkpoints and --resume, and predictions equal to
 * the model evaluated here, scores equal to the engine's; `oigd serve`'s refusal of bad flag
 * and environment values; `oigd vacuum` on an older store and `oigd backup`.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "model_doc.h"
#include "oig.h"
#include "store.h"
#include "support_model.h"
#include "support_suite.h"
#include "support_tmp.h"

static char tdir[256];

/* ---- fixtures and helpers ----------------------------------------------------------------- */

static void setup(void) {
    ck_assert_int_eq(support_tmpdir(tdir, sizeof tdir, "cli"), 0);
}

static void teardown(void) {
    support_rmtree(tdir);
}

/* tdir/name in a static rotating buffer (a test uses far fewer than 64 paths). */
static const char *tpath(const char *name) {
    static char bufs[64][512];
    static int next;
    char *b = bufs[next++ % 64];
    snprintf(b, sizeof bufs[0], "%s/%s", tdir, name);
    return b;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    size_t got;
    while ((got = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) b = realloc(b, cap *= 2);
    }
    fclose(f);
    b[n] = '\0';
    if (len) *len = n;
    return b;
}

static void spit(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* Run OIGD_BIN with the NULL-terminated arguments; *out and *err (when not NULL) receive what it
 * wrote (malloc'd). Returns the exit status, or 128 + signal. */
static int oigd(char **out, char **err, ...) {
    const char *bin = getenv("OIGD_BIN");
    ck_assert_msg(bin != NULL, "OIGD_BIN is not set (run through ctest)");
    const char *argv[64];
    int argc = 0;
    argv[argc++] = bin;
    va_list ap;
    va_start(ap, err);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && argc < 63) argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    char opath[512], epath[512];
    snprintf(opath, sizeof opath, "%s/.stdout", tdir);
    snprintf(epath, sizeof epath, "%s/.stderr", tdir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fo = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fo < 0 || fe < 0) _exit(126);
        dup2(fo, 1);
        dup2(fe, 2);
        close(fo);
        close(fe);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (out) *out = slurp(opath, NULL);
    if (err) *err = slurp(epath, NULL);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static uint64_t lcg = 12345;

static double uniform(void) {
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg >> 11) / 9007199254740992.0;
}

/* A regression CSV: inputs a,b,c in [-1, 1], target y = sin(2a) + b*c + noise. */
static void write_regression_csv(const char *path, int rows) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("a,b,c,y\n", f);
    for (int i = 0; i < rows; i++) {
        double a = 2 * uniform() - 1, b = 2 * uniform() - 1, c = 2 * uniform() - 1;
        fprintf(f, "%.17g,%.17g,%.17g,%.17g\n", a, b, c, sin(2 * a) + b * c + 0.05 * (uniform() - 0.5));
    }
    fclose(f);
}

/* A classification CSV: two inputs, the class (a label string) is the quadrant-like region. */
static void write_classification_csv(const char *path, int rows) {
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("u,v,kind\n", f);
    for (int i = 0; i < rows; i++) {
        double u = 2 * uniform() - 1, v = 2 * uniform() - 1;
        const char *k = u + v > 0.3 ? "high" : (u - v > 0 ? "east" : "west");
        fprintf(f, "%.17g,%.17g,%s\n", u, v, k);
    }
    fclose(f);
}

static oig_model *load_model(const char *path) {
    size_t len;
    char *text = slurp(path, &len);
    ck_assert_msg(text != NULL, "no model file at %s", path);
    oig_model *m = NULL;
    oig_error err;
    oig_status st = model_doc_read(text, len, &m, &err);
    ck_assert_msg(st == OIG_OK, "model file refused: %s: %s", err.field, err.message);
    free(text);
    return m;
}

static oig_data *load_data(const char *path, oig_task task) {
    size_t len;
    char *text = slurp(path, &len);
    ck_assert_ptr_nonnull(text);
    oig_parse_opts o;
    oig_parse_opts_init(&o);
    o.task = task;
    oig_data *d = NULL;
    oig_error err;
    ck_assert_int_eq(oig_data_parse(text, len, &o, &d, &err), OIG_OK);
    free(text);
    return d;
}

static int count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) if (*s == '\n') n++;
    return n;
}

static void assert_usage_error(const char *what, int rc, const char *err, const char *mention) {
    ck_assert_msg(rc == 2, "%s: exit %d, expected 2 (stderr: %s)", what, rc, err);
    ck_assert_msg(strstr(err, "usage") != NULL, "%s: no usage on stderr: %s", what, err);
    if (mention)
        ck_assert_msg(strstr(err, mention) != NULL, "%s: stderr does not name %s: %s", what, mention, err);
}

/* ---- usage and exit codes ------------------------------------------------------------------ */

START_TEST(test_no_arguments_exits_2_with_usage_on_stderr) {
    char *out, *err;
    int rc = oigd(&out, &err, NULL);
    assert_usage_error("oigd", rc, err, NULL);
    ck_assert_str_eq(out, "");
    free(out); free(err);
}
END_TEST

START_TEST(test_help_prints_usage_on_stdout_and_exits_0) {
    static const char *const cmds[][2] = {
        { "--help", NULL }, { "train", "--help" }, { "predict", "--help" }, { "evaluate", "--help" } };
    for (int i = 0; i < 4; i++) {
        char *out, *err;
        int rc = oigd(&out, &err, cmds[i][0], cmds[i][1], NULL);
        ck_assert_msg(rc == 0, "%s %s: exit %d", cmds[i][0], cmds[i][1] ? cmds[i][1] : "", rc);
        ck_assert_ptr_nonnull(strstr(out, "usage"));
        ck_assert_str_eq(err, "");
        free(out); free(err);
    }
}
END_TEST

START_TEST(test_version_exits_0) {
    char *out, *err;
    ck_assert_int_eq(oigd(&out, &err, "--version", NULL), 0);
    ck_assert_ptr_nonnull(strstr(out, "oigd "));
    free(out); free(err);
}
END_TEST

START_TEST(test_unknown_command_and_flag_exit_2) {
    char *out, *err;
    int rc = oigd(&out, &err, "frobnicate", NULL);
    assert_usage_error("unknown command", rc, err, "frobnicate");
    free(out); free(err);
    rc = oigd(&out, &err, "train", "--data", "x.csv", "--bogus", NULL);
    assert_usage_error("unknown flag", rc, err, "--bogus");
    free(out); free(err);
    rc = oigd(&out, &err, "predict", "--model", "m.json", "--data", "x.csv", "--bogus", NULL);
    assert_usage_error("unknown predict flag", rc, err, "--bogus");
    free(out); free(err);
    rc = oigd(&out, &err, "evaluate", "--model", "m.json", "--data", "x.csv", "--bogus", NULL);
    assert_usage_error("unknown evaluate flag", rc, err, "--bogus");
    ck_assert_msg(strstr(err, "did you mean") == NULL, "a suggestion for --bogus: %s", err);
    free(out); free(err);
}
END_TEST

/* A misspelt command or flag is still exit 2, and the message names what it most likely meant. */
START_TEST(test_misspelt_command_and_flags_say_what_they_meant) {
    static const struct {
        const char *args[5];    /* the command line, NULL-padded */
        int usage;              /* the usage text follows (serve prints the message alone) */
        const char *message;
    } cases[] = {
        { { "trian" }, 1, "unknown command 'trian' (did you mean 'train'?)" },
        { { "train", "--data", "x.csv", "--hiden", "5" }, 1, "unknown option '--hiden' (did you mean '--hidden'?)" },
        { { "predict", "--modle", "m.json" }, 1, "unknown option '--modle' (did you mean '--model'?)" },
        { { "project", "--modle", "m.json" }, 1, "unknown option '--modle' (did you mean '--model'?)" },
        { { "backup", "--bd", "x.db", "out.db" }, 1, "unknown option '--bd' (did you mean '--db'?)" },
        { { "serve", "--wokers", "2" }, 0, "unknown option --wokers (did you mean '--workers'?)" },
        { { "serve", "--max_body=2048" }, 0, "unknown option --max_body (did you mean '--max-body'?)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *const *a = cases[i].args;
        char *out, *err;
        int rc = oigd(&out, &err, a[0], a[1], a[2], a[3], a[4], NULL);
        if (cases[i].usage) assert_usage_error(a[0], rc, err, cases[i].message);
        else ck_assert_msg(rc == 2 && strstr(err, cases[i].message), "%s: exit %d: %s", a[0], rc, err);
        free(out); free(err);
    }
}
END_TEST

START_TEST(test_negative_hidden_exits_2_naming_the_flag) {
    char *out, *err;
    int rc = oigd(&out, &err, "train", "--data", "x.csv", "--hidden", "-3", NULL);
    assert_usage_error("--hidden -3", rc, err, "--hidden");
    free(out); free(err);
}
END_TEST

/* Each bad value is refused before any file is opened (x.csv does not exist). */
static const char *const bad_values[][2] = {
    { "--iterations", "ten" }, { "--iterations", "5x" }, { "--hidden", "" },
    { "--seed", "-1" }, { "--seed", "99999999999999999999999" }, { "--validation", "1" },
    { "--validation", "-0.1" }, { "--md", "nan" }, { "--sigmad", "0" }, { "--target-mse", "inf" },
    { "--bias-gain", "2" }, { "--lm-damping", "full" }, { "--lm-regularization", "ridge" }, { "--lm-update", "twofold" }, { "--lm-acceleration", "fast" }, { "--lm-precision", "half" }, { "--blas-threads", "0" },
    { "--algorithm", "adam" }, { "--task", "ranking" }, { "--format", "xls" },
    { "--max-halvings", "1e3" }, { "--lm-lambda0", "0" }, { "--block-rows", "0" },
    { "--outputs", "0" }, { "--target-columns", "1,,2" }, { "--patience", " 3" },
    { "--checkpoint-seconds", "-1" }, { "--checkpoint-dir", "/nonexistent/dir" },
    { "--threads", "0" }, { "--threads", "257" },
};

START_TEST(test_bad_number_exits_2_naming_the_flag) {
    char *out, *err;
    int rc = oigd(&out, &err, "train", "--data", "x.csv", bad_values[_i][0], bad_values[_i][1], NULL);
    assert_usage_error(bad_values[_i][0], rc, err, bad_values[_i][0]);
    free(out); free(err);
}
END_TEST

/* `oigd serve` refuses a bad value, from a flag or its environment variable, before it opens the
 * store: exit 2 and a line naming the flag (and the variable). */
static const char *const bad_serve_values[][2] = {
    { "--workers", "0" }, { "--max-connections", "3" }, { "--max-connections-per-client", "0" },
    { "--max-connections-per-client", "many" }, { "--listen", "localhost:80" },
    { "--train-sched", "fast" }, { "--checkpoint-seconds", "0" },
};

START_TEST(test_serve_bad_value_exits_2_naming_the_flag) {
    char *out, *err;
    int rc = oigd(&out, &err, "serve", "--db", tpath("never.db"), bad_serve_values[_i][0],
                  bad_serve_values[_i][1], NULL);
    ck_assert_msg(rc == 2, "%s %s: exit %d (stderr: %s)", bad_serve_values[_i][0], bad_serve_values[_i][1], rc, err);
    ck_assert_msg(strstr(err, bad_serve_values[_i][0]) != NULL, "stderr does not name %s: %s",
                  bad_serve_values[_i][0], err);
    ck_assert_int_eq(access(tpath("never.db"), F_OK), -1);
    free(out); free(err);
}
END_TEST

START_TEST(test_serve_bad_environment_value_names_the_variable) {
    char *out, *err;
    setenv("OIGD_MAX_CONNECTIONS_PER_CLIENT", "-1", 1);
    int rc = oigd(&out, &err, "serve", "--db", tpath("never.db"), NULL);
    unsetenv("OIGD_MAX_CONNECTIONS_PER_CLIENT");
    ck_assert_msg(rc == 2, "exit %d (stderr: %s)", rc, err);
    ck_assert_ptr_nonnull(strstr(err, "--max-connections-per-client"));
    ck_assert_ptr_nonnull(strstr(err, "OIGD_MAX_CONNECTIONS_PER_CLIENT"));
    ck_assert_int_eq(access(tpath("never.db"), F_OK), -1);
    free(out); free(err);
}
END_TEST

/* One integer that sql answers on the database at path. */
static long long db_int(const char *path, const char *sql) {
    sqlite3 *db;
    sqlite3_stmt *s;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
    long long v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* `oigd vacuum` compacts an older store (tables made before incremental vacuum was on) in place:
 * exit 0 with the sizes on stdout, incremental vacuum on and the rows kept. A missing file is
 * exit 1 and stays missing; an unknown option is exit 2. */
START_TEST(test_vacuum_compacts_an_older_store) {
    const char *db = tpath("old.db");
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(h, "CREATE TABLE keep(x BLOB); INSERT INTO keep VALUES (randomblob(100));"
                                     "CREATE TABLE gone(x BLOB); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL "
                                     "SELECT i + 1 FROM c WHERE i < 50) INSERT INTO gone SELECT randomblob(100000) "
                                     "FROM c; DROP TABLE gone;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    struct stat before, after;
    ck_assert_int_eq(stat(db, &before), 0);
    ck_assert_int_gt(before.st_size, 5000000);
    char *out, *err;
    int rc = oigd(&out, &err, "vacuum", "--db", db, NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_ptr_nonnull(strstr(out, "MiB free) -> 0.0 MiB"));
    free(out); free(err);
    ck_assert_int_eq(stat(db, &after), 0);
    ck_assert_int_lt(after.st_size, 1000000);
    ck_assert_int_eq(db_int(db, "PRAGMA auto_vacuum"), 2);
    ck_assert_int_eq(db_int(db, "PRAGMA freelist_count"), 0);
    ck_assert_int_eq(db_int(db, "SELECT count(*) FROM keep"), 1);
    /* taken as it is: no oigd tables added */
    ck_assert_int_eq(db_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'datasets'"), 0);

    rc = oigd(&out, &err, "vacuum", "--db", tpath("none.db"), NULL);
    ck_assert_msg(rc == 1 && strstr(err, "no database at"), "exit %d: %s", rc, err);
    ck_assert_int_eq(access(tpath("none.db"), F_OK), -1);
    free(out); free(err);
    rc = oigd(&out, &err, "vacuum", "--fast", NULL);
    assert_usage_error("vacuum --fast", rc, err, "--fast");
    free(out); free(err);
}
END_TEST

/* `oigd backup` writes a checked copy that a store opens with the same payload; it never
 * overwrites, leaves no partial file behind when it cannot write, and takes the file as it is
 * (a copy of an older schema stays at that version). */
START_TEST(test_backup_writes_a_whole_copy_or_nothing) {
    const char *db = tpath("src.db"), *copy = tpath("copy.db");
    store *st;
    char errbuf[256];
    ck_assert_int_eq(store_open(db, &st, errbuf, sizeof errbuf), STORE_OK);
    oig_data *d = calloc(1, sizeof *d);
    d->nrows = 3; d->n = 2; d->m = 1;
    d->x = malloc(6 * sizeof(double));
    d->t = malloc(3 * sizeof(double));
    for (int i = 0; i < 6; i++) d->x[i] = i / 7.0;
    for (int i = 0; i < 3; i++) d->t[i] = -i / 3.0;
    cJSON *res = NULL;
    ck_assert_int_eq(store_dataset_insert(st, "three", d, "00", &res), STORE_OK);
    char id[STORE_ID_MAX];
    snprintf(id, sizeof id, "%s", cJSON_GetObjectItem(res, "id")->valuestring);
    cJSON_Delete(res);
    store_close(st);

    char *out, *err;
    int rc = oigd(&out, &err, "backup", "--db", db, copy, NULL);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_msg(strstr(out, "1 dataset, 0 jobs, 0 models; the copy passed its check"), "%s", out);
    free(out); free(err);
    ck_assert_int_eq(store_open(copy, &st, errbuf, sizeof errbuf), STORE_OK);
    oig_data *back = NULL;
    ck_assert_int_eq(store_dataset_load(st, id, &back), STORE_OK);
    ck_assert_mem_eq(back->x, d->x, 6 * sizeof(double));
    ck_assert_mem_eq(back->t, d->t, 3 * sizeof(double));
    oig_data_free(back);
    store_close(st);
    ck_assert_int_eq(db_int(copy, "PRAGMA auto_vacuum"), 2);

    struct stat before, after;
    ck_assert_int_eq(stat(copy, &before), 0);
    rc = oigd(&out, &err, "backup", "--db", db, copy, NULL);
    ck_assert_msg(rc == 1 && strstr(err, "not overwritten"), "exit %d: %s", rc, err);
    free(out); free(err);
    ck_assert_int_eq(stat(copy, &after), 0);
    ck_assert_int_eq(after.st_mtime, before.st_mtime);
    ck_assert_int_eq(after.st_size, before.st_size);

    rc = oigd(&out, &err, "backup", "--db", db, tpath("no-such-dir/copy.db"), NULL);
    ck_assert_msg(rc == 1 && strstr(err, "cannot create"), "exit %d: %s", rc, err);
    free(out); free(err);
    rc = oigd(&out, &err, "backup", "--db", tpath("none.db"), tpath("x.db"), NULL);
    ck_assert_msg(rc == 1 && strstr(err, "no database at"), "exit %d: %s", rc, err);
    ck_assert_int_eq(access(tpath("none.db"), F_OK), -1);
    free(out); free(err);
    rc = oigd(&out, &err, "backup", "--db", db, NULL);
    assert_usage_error("backup without OUT", rc, err, "OUT");
    free(out); free(err);

    /* an older schema is copied as it is */
    sqlite3 *h;
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(h, "PRAGMA user_version = 1", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    rc = oigd(&out, &err, "backup", "--db", db, tpath("v1.db"), NULL);
    ck_assert_msg(rc == 0 && strstr(out, "schema version 1,"), "exit %d: %s %s", rc, out, err);
    free(out); free(err);
    ck_assert_int_eq(db_int(db, "PRAGMA user_version"), 1);
    ck_assert_int_eq(db_int(tpath("v1.db"), "PRAGMA user_version"), 1);

    /* no partial file was left behind by any of these */
    DIR *dir = opendir(tdir);
    ck_assert_ptr_nonnull(dir);
    for (struct dirent *e; (e = readdir(dir)) != NULL;)
        ck_assert_msg(strstr(e->d_name, ".partial-") == NULL, "left behind: %s", e->d_name);
    closedir(dir);
    oig_data_free(d);
}
END_TEST

START_TEST(test_conflicting_flags_exit_2) {
    char *out, *err;
    int rc = oigd(&out, &err, "train", "--data", "x.csv", "--targets", "y", "--outputs", "1", NULL);
    assert_usage_error("--targets with --outputs", rc, err, "--outputs");
    free(out); free(err);
    rc = oigd(&out, &err, "train", "--data", "x.csv", "--train-index", "a.txt", NULL);
    assert_usage_error("--train-index alone", rc, err, "--test-index");
    free(out); free(err);
    rc = oigd(&out, &err, "train", "--hidden", "3", NULL);
    assert_usage_error("no --data", rc, err, "--data");
    free(out); free(err);
}
END_TEST

START_TEST(test_missing_file_exits_1) {
    char *out, *err;
    const char *missing = tpath("missing.csv");
    int rc = oigd(&out, &err, "train", "--data", missing, NULL);
    ck_assert_int_eq(rc, 1);
    ck_assert_ptr_nonnull(strstr(err, missing));
    ck_assert_ptr_null(strstr(err, "usage"));
    free(out); free(err);
    rc = oigd(&out, &err, "predict", "--model", tpath("missing.json"), "--data", missing, NULL);
    ck_assert_int_eq(rc, 1);
    ck_assert_ptr_nonnull(strstr(err, "missing.json"));
    free(out); free(err);
}
END_TEST

START_TEST(test_parse_error_reports_file_line_column) {
    const char *bad = tpath("bad.csv");
    spit(bad, "a,b,y\n1,2,3\n4,oops,6\n");
    char *out, *err;
    int rc = oigd(&out, &err, "train", "--data", bad, NULL);
    ck_assert_int_eq(rc, 1);
    char want[600];
    snprintf(want, sizeof want, "%s:3:2:", bad);
    ck_assert_msg(strstr(err, want) != NULL, "stderr lacks '%s': %s", want, err);
    free(out); free(err);
}
END_TEST

START_TEST(test_bad_model_file_reports_position) {
    const char *m = tpath("m.json"), *d = tpath("d.csv");
    spit(m, "{\n  \"format\": \"oigd-model\",\n  \"format_version\": 1,\n");
    write_regression_csv(d, 10);
    char *out, *err;
    int rc = oigd(&out, &err, "predict", "--model", m, "--data", d, NULL);
    ck_assert_int_eq(rc, 1);
    /* "PATH:line:column: ..." with the position where the document broke off */
    const char *at = strstr(err, m);
    int line = 0, col = 0;
    ck_assert_msg(at != NULL && sscanf(at + strlen(m), ":%d:%d:", &line, &col) == 2,
                  "stderr lacks '%s:LINE:COLUMN:': %s", m, err);
    ck_assert_int_ge(line, 3);
    ck_assert_int_gt(col, 0);
    ck_assert_ptr_nonnull(strstr(err, "ends early"));
    free(out); free(err);
}
END_TEST

/* ---- training and prediction --------------------------------------------------------------- */

static int train_small(const char *data, const char *model, const char *metrics, const char *seed) {
    char *out, *err;
    int rc = oigd(&out, &err, "train", "--data", data, "--hidden", "4", "--iterations", "15",
                  "--seed", seed, "--validation", "0.25", "--blas-threads", "1",
                  "--model-out", model, "--metrics-out", metrics, NULL);
    ck_assert_msg(rc == 0, "train exit %d: %s", rc, err);
    ck_assert_ptr_nonnull(strstr(out, "stop reason"));
    free(out); free(err);
    return rc;
}

START_TEST(test_train_then_predict_matches_the_model_in_process) {
    const char *data = tpath("reg.csv"), *model = tpath("reg.json"), *preds = tpath("pred.csv");
    write_regression_csv(data, 120);
    train_small(data, model, tpath("met.csv"), "7");

    char *out, *err;
    int rc = oigd(&out, &err, "predict", "--model", model, "--data", data, "--out", preds, NULL);
    ck_assert_msg(rc == 0, "predict exit %d: %s", rc, err);
    ck_assert_str_eq(out, "");
    free(out); free(err);

    oig_model *m = load_model(model);
    oig_data *d = load_data(data, OIG_REGRESSION);
    ck_assert_int_eq(m->n, 3);
    ck_assert_int_eq(m->m, 1);
    double *y = malloc(d->nrows * sizeof *y);
    ck_assert_int_eq(oig_model_predict(m, d->x, d->nrows, y, NULL), OIG_OK);

    char *text = slurp(preds, NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(strncmp(text, "y\n", 2), 0);
    ck_assert_int_eq(count_lines(text), (int)d->nrows + 1);
    char *p = strchr(text, '\n') + 1;
    for (size_t r = 0; r < d->nrows; r++) {
        char *end;
        double v = strtod(p, &end);
        ck_assert_msg(fabs(v - y[r]) <= 1e-12 * (1.0 + fabs(y[r])), "row %zu: %.17g vs %.17g", r, v, y[r]);
        p = end + 1;
    }
    /* the same rows without the target column and without a header give the same output */
    free(text);
    free(y);
    oig_data_free(d);
    oig_model_free(m);
}
END_TEST

START_TEST(test_predict_to_stdout_without_header_or_target) {
    const char *data = tpath("reg.csv"), *model = tpath("reg.json"), *ws = tpath("inputs.txt");
    write_regression_csv(data, 40);
    train_small(data, model, tpath("met.csv"), "3");
    oig_data *d = load_data(data, OIG_REGRESSION);
    FILE *f = fopen(ws, "w");
    for (size_t r = 0; r < d->nrows; r++)
        fprintf(f, "%.17g\t%.17g  %.17g\n", d->x[r * 3], d->x[r * 3 + 1], d->x[r * 3 + 2]);
    fclose(f);
    char *out1, *out2, *err;
    ck_assert_int_eq(oigd(&out1, &err, "predict", model, data, NULL), 0);
    free(err);
    ck_assert_int_eq(oigd(&out2, &err, "predict", "--model", model, "--data", ws, NULL), 0);
    ck_assert_str_eq(out1, out2);
    ck_assert_int_eq(count_lines(out1), (int)d->nrows + 1);
    free(out1); free(out2); free(err);
    oig_data_free(d);
}
END_TEST

START_TEST(test_predict_names_a_missing_input_column) {
    const char *data = tpath("reg.csv"), *model = tpath("reg.json"), *other = tpath("other.csv");
    write_regression_csv(data, 40);
    train_small(data, model, tpath("met.csv"), "3");
    spit(other, "a,c,z\n1,2,3\n");
    char *out, *err;
    int rc = oigd(&out, &err, "predict", "--model", model, "--data", other, NULL);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(err, "'b'") != NULL, "stderr does not name column b: %s", err);
    free(out); free(err);
}
END_TEST

START_TEST(test_metrics_csv_has_header_and_one_row_per_iteration) {
    const char *data = tpath("reg.csv"), *model = tpath("reg.json"), *met = tpath("met.csv");
    write_regression_csv(data, 80);
    train_small(data, model, met, "11");
    oig_model *m = load_model(model);
    char *text = slurp(met, NULL);
    ck_assert_ptr_nonnull(text);
    const char *header = "iteration,train_mse,val_mse,train_err,val_err,multiplies,seconds\n";
    ck_assert_int_eq(strncmp(text, header, strlen(header)), 0);
    ck_assert_int_eq(count_lines(text), m->summary.iterations + 2);
    /* first data row is iteration 0; regression leaves the error cells empty */
    const char *row = text + strlen(header);
    ck_assert_int_eq(strncmp(row, "0,", 2), 0);
    int iter;
    double tr, va;
    char rest[256];
    ck_assert_int_eq(sscanf(row, "%d,%lf,%lf,%255s", &iter, &tr, &va, rest), 4);
    ck_assert_int_eq(strncmp(rest, ",,", 2), 0);
    ck_assert(isfinite(tr) && isfinite(va));
    free(text);
    oig_model_free(m);
}
END_TEST

/* The document without its "seconds" line: training time is wall-clock, everything else is
 * determined by data, seed and options. */
/* text without the line of the member key (as "\"seconds\":"). */
static char *without_line(char *text, const char *key) {
    char *s = strstr(text, key);
    ck_assert_ptr_nonnull(s);
    char *line = s;
    while (line > text && line[-1] != '\n') line--;
    char *end = strchr(s, '\n');
    ck_assert_ptr_nonnull(end);
    memmove(line, end + 1, strlen(end + 1) + 1);
    return text;
}

static char *without_seconds(char *text) { return without_line(text, "\"seconds\":"); }

START_TEST(test_same_seed_gives_identical_model_files) {
    const char *data = tpath("reg.csv"), *m1 = tpath("m1.json"), *m2 = tpath("m2.json");
    write_regression_csv(data, 100);
    train_small(data, m1, tpath("met1.csv"), "5");
    train_small(data, m2, tpath("met2.csv"), "5");
    char *a = without_seconds(slurp(m1, NULL)), *b = without_seconds(slurp(m2, NULL));
    ck_assert_str_eq(a, b);
    free(a); free(b);
    /* and no temp file is left beside the model */
    char *ls;
    FILE *p;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ls -a '%s'", tdir);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = '\0';
    pclose(p);
    ls = buf;
    ck_assert_msg(strstr(ls, ".tmp-") == NULL, "temp file left behind: %s", ls);
}
END_TEST

/* --checkpoint-dir writes the model at every due iteration and marks its progress line; --resume
 * from one of them ends with the model file of the uninterrupted run (LM, whose damping is part
 * of the state). */
/* --threads 2 splits the 900 training rows over two threads: the model is the one-thread model
 * up to round-off in the order of the sums. */
START_TEST(test_threads_train_the_one_thread_model) {
    const char *data = tpath("big.csv");
    write_regression_csv(data, 1200);
    const char *threads[2] = {"1", "2"}, *models[2] = {tpath("t1.json"), tpath("t2.json")};
    for (int k = 0; k < 2; k++) {
        char *out, *err;
        int rc = oigd(&out, &err, "train", "--data", data, "--algorithm", "lm", "--hidden", "4",
                      "--iterations", "10", "--seed", "3", "--validation", "0.25", "--quiet",
                      "--threads", threads[k], "--model-out", models[k], NULL);
        ck_assert_msg(rc == 0, "train --threads %s exit %d: %s", threads[k], rc, err);
        free(out); free(err);
    }
    oig_model *m1 = load_model(models[0]), *m2 = load_model(models[1]);
    double d = support_model_diff(m1, m2);
    ck_assert_msg(d < 1e-9, "models differ by %g relative", d);
    ck_assert_int_eq(m1->summary.iterations, m2->summary.iterations);
    oig_model_free(m1);
    oig_model_free(m2);
}
END_TEST

/* The summary's threads line of one `oigd train` run on data (2,250 training rows), with
 * `extra 1` when extra is not NULL. */
static char *threads_line(const char *data, const char *algorithm, const char *hidden,
                          const char *extra) {
    char *out, *err;
    /* extra NULL ends the argument list there: no flag, no "1" */
    int rc = oigd(&out, &err, "train", "--data", data, "--algorithm", algorithm, "--hidden", hidden,
                  "--iterations", "2", "--validation", "0.25", extra, "1", NULL);
    ck_assert_msg(rc == 0, "train exit %d: %s", rc, err);
    char *line = strstr(out, "threads       ");
    ck_assert_msg(line != NULL, "no threads line in: %s", out);
    char *eol = strchr(line, '\n');
    char *copy = strndup(line, eol ? (size_t)(eol - line) : strlen(line));
    free(out); free(err);
    return copy;
}

START_TEST(test_default_threads_split_the_rows_where_each_cpu_gets_its_share) {
    const char *data = tpath("threads.csv");
    write_regression_csv(data, 3000);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1) cpus = 1;
    char want[128];
    /* oig-hwo: a thread per CPU when each gets 512 of the 2,250 training rows */
    if (cpus >= 2 && 2250 / 512 >= cpus)
        snprintf(want, sizeof want, "threads       %ld training threads, 1 BLAS thread each", cpus);
    else
        snprintf(want, sizeof want, "threads       1 training thread, %ld BLAS thread%s", cpus,
                 cpus > 1 ? "s" : "");
    char *got = threads_line(data, "oig-hwo", "4", NULL);
    ck_assert_str_eq(got, want);
    free(got);
    /* lm with 504 weights: 2,250 rows x 1 output are fewer than 8 per weight: BLAS gets the CPUs */
    snprintf(want, sizeof want, "threads       1 training thread, %ld BLAS thread%s", cpus,
             cpus > 1 ? "s" : "");
    got = threads_line(data, "lm", "100", NULL);
    ck_assert_str_eq(got, want);
    free(got);
    /* a count given on the command line is kept */
    got = threads_line(data, "oig-hwo", "4", "--blas-threads");
    ck_assert_str_eq(got, "threads       1 training thread, 1 BLAS thread");
    free(got);
    got = threads_line(data, "oig-hwo", "4", "--threads");
    snprintf(want, sizeof want, "threads       1 training thread, %ld BLAS thread%s", cpus,
             cpus > 1 ? "s" : "");
    ck_assert_str_eq(got, want);
    free(got);
}
END_TEST

START_TEST(test_checkpoints_and_resume_continue_the_run) {
    const char *data = tpath("reg.csv"), *full = tpath("full.json"), *res = tpath("res.json");
    char ck[600], ck5[700];
    snprintf(ck, sizeof ck, "%s/ck", tdir);
    ck_assert_int_eq(mkdir(ck, 0700), 0);
    write_regression_csv(data, 100);
    char *out, *err;
    int rc = oigd(&out, &err, "train", "--data", data, "--algorithm", "lm", "--lm-update", "gain",
                  "--lm-acceleration", "geodesic", "--hidden", "4", "--iterations", "12", "--seed", "3", "--blas-threads", "1", "--quiet",
                  "--progress-fd", "1", "--checkpoint-dir", ck, "--checkpoint-seconds", "0",
                  "--model-out", full, NULL);
    ck_assert_msg(rc == 0, "train exit %d: %s", rc, err);
    ck_assert_int_eq(count_lines(out), 13);
    int marked = 0;
    for (const char *p = out; (p = strstr(p, "\"checkpoint\":true}")) != NULL; p++) marked++;
    ck_assert_int_eq(marked, 13);
    free(out); free(err);
    for (int k = 0; k <= 12; k++) {
        char path[700];
        snprintf(path, sizeof path, "%s/checkpoint-%d.json", ck, k);
        oig_model *m = load_model(path);
        ck_assert_int_eq(m->summary.iterations, k);
        oig_model_free(m);
    }
    snprintf(ck5, sizeof ck5, "%s/checkpoint-5.json", ck);
    rc = oigd(&out, &err, "train", "--data", data, "--algorithm", "lm", "--lm-update", "gain",
              "--lm-acceleration", "geodesic", "--hidden", "4", "--iterations", "12", "--seed", "3",
              "--blas-threads", "1", "--quiet", "--progress-fd", "1", "--resume", ck5, "--model-out", res, NULL);
    ck_assert_msg(rc == 0, "resume exit %d: %s", rc, err);
    ck_assert_int_eq(count_lines(out), 7);          /* iterations 6..12 */
    ck_assert_ptr_nonnull(strstr(out, "{\"iteration\":6,"));
    free(out); free(err);
    /* the same document but for the time and the multiplies (the resumed run also counts its
     * evaluation of the checkpoint) */
    char *a = without_line(without_seconds(slurp(full, NULL)), "\"multiplies\":");
    char *b = without_line(without_seconds(slurp(res, NULL)), "\"multiplies\":");
    ck_assert_str_eq(a, b);
    free(a); free(b);

    rc = oigd(&out, &err, "train", "--data", data, "--resume", tpath("missing.json"), NULL);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(err, "--resume") && strstr(err, "missing.json"), "%s", err);
    free(out); free(err);
    rc = oigd(&out, &err, "train", "--data", data, "--resume", ck5, "--init-model", ck5, NULL);
    assert_usage_error("--resume with --init-model", rc, err, "--init-model");
    free(out); free(err);
}
END_TEST

START_TEST(test_classification_predicts_labels) {
    const char *data = tpath("cls.csv"), *model = tpath("cls.json"), *preds = tpath("pred.csv");
    write_classification_csv(data, 150);
    char *out, *err;
    int rc = oigd(&out, &err, "train", "--data", data, "--task", "classification", "--hidden", "3",
                  "--iterations", "10", "--blas-threads", "1", "--model-out", model, NULL);
    ck_assert_msg(rc == 0, "train exit %d: %s", rc, err);
    ck_assert_ptr_nonnull(strstr(out, "train error"));
    free(out); free(err);
    rc = oigd(&out, &err, "predict", "--model", model, "--data", data, "--out", preds, NULL);
    ck_assert_msg(rc == 0, "predict exit %d: %s", rc, err);
    free(out); free(err);

    oig_model *m = load_model(model);
    oig_data *d = load_data(data, OIG_CLASSIFICATION);
    ck_assert_int_eq(m->m, 3);
    double *y = malloc(d->nrows * 3 * sizeof *y);
    int *cls = malloc(d->nrows * sizeof *cls);
    ck_assert_int_eq(oig_model_predict(m, d->x, d->nrows, y, cls), OIG_OK);
    char *text = slurp(preds, NULL);
    char header[128];
    snprintf(header, sizeof header, "%s,%s,%s,class\n", m->labels[0], m->labels[1], m->labels[2]);
    ck_assert_int_eq(strncmp(text, header, strlen(header)), 0);
    char *p = text + strlen(header);
    for (size_t r = 0; r < d->nrows; r++) {
        for (int i = 0; i < 3; i++) {
            char *end;
            double v = strtod(p, &end);
            ck_assert(fabs(v - y[r * 3 + i]) <= 1e-12 * (1.0 + fabs(y[r * 3 + i])));
            ck_assert_int_eq(*end, ',');
            p = end + 1;
        }
        char *nl = strchr(p, '\n');
        ck_assert_ptr_nonnull(nl);
        *nl = '\0';
        ck_assert_str_eq(p, m->labels[cls[r]]);
        p = nl + 1;
    }
    free(text); free(y); free(cls);
    oig_data_free(d);
    oig_model_free(m);
}
END_TEST

START_TEST(test_index_files_select_train_and_validation_rows) {
    const char *data = tpath("reg.csv"), *model = tpath("m.json");
    write_regression_csv(data, 30);
    spit(tpath("tr.txt"), "0 1 2 3 4 5 6 7 8 9\n10 11 12 13 14 15 16 17 18 19\n");
    spit(tpath("te.txt"), "20,21,22,23,24,25,26,27,28,29\n");
    char *out, *err;
    int rc = oigd(&out, &err, "train", "--data", data, "--train-index", tpath("tr.txt"),
                  "--test-index", tpath("te.txt"), "--iterations", "3", "--hidden", "2",
                  "--blas-threads", "1", "--model-out", model, NULL);
    ck_assert_msg(rc == 0, "train exit %d: %s", rc, err);
    ck_assert_ptr_nonnull(strstr(out, "20 training rows, 10 validation rows"));
    free(out); free(err);
    spit(tpath("te.txt"), "20 21\n22 x\n");
    rc = oigd(&out, &err, "train", "--data", data, "--train-index", tpath("tr.txt"),
              "--test-index", tpath("te.txt"), NULL);
    ck_assert_int_eq(rc, 1);
    char want[600];
    snprintf(want, sizeof want, "%s:2:2:", tpath("te.txt"));
    ck_assert_msg(strstr(err, want) != NULL, "stderr lacks '%s': %s", want, err);
    free(out); free(err);
}
END_TEST

/* Rows [from, to) of a CSV (its header kept), with the columns in the order cols, or those rows
 * whose line does not contain skip; written to path. */
static void csv_rows(const char *src, const char *path, int from, int to, const int *cols, int ncols,
                     const char *skip) {
    char *text = slurp(src, NULL);
    ck_assert_ptr_nonnull(text);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    int row = -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"), row++) {
        if (row >= 0 && (row < from || row >= to || (skip && strstr(line, skip)))) continue;
        char *field[8] = { NULL };
        int k = 0;
        for (char *c = line; k < 8; c++) {
            field[k++] = c;
            if (!(c = strchr(c, ','))) break;
            *c = '\0';
        }
        for (int i = 0; i < ncols; i++) {
            ck_assert_msg(cols[i] < k, "line %d has %d fields", row, k);
            fprintf(f, "%s%s", i ? "," : "", field[cols[i]]);
        }
        fputc('\n', f);
    }
    fclose(f);
    free(text);
}

/* The number member key of o (asserted to be there). */
static double json_number(const cJSON *o, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    ck_assert_msg(cJSON_IsNumber(v), "%s is not a number", key);
    return v->valuedouble;
}

static cJSON *json_parse(const char *text) {
    cJSON *j = cJSON_Parse(text);
    ck_assert_msg(cJSON_IsObject(j), "not a JSON object: %s", text);
    return j;
}

START_TEST(test_evaluate_scores_the_held_out_rows_as_training_reported) {
    const char *data = tpath("reg.csv"), *model = tpath("m.json"), *test = tpath("test.csv");
    write_regression_csv(data, 120);
    char list[512];
    int n = 0;
    for (int r = 0; r < 90; r++) n += snprintf(list + n, sizeof list - (size_t)n, "%d ", r);
    spit(tpath("tr.txt"), list);
    n = 0;
    for (int r = 90; r < 120; r++) n += snprintf(list + n, sizeof list - (size_t)n, "%d ", r);
    spit(tpath("te.txt"), list);
    char *out, *err;
    int rc = oigd(&out, &err, "train", "--data", data, "--train-index", tpath("tr.txt"), "--test-index",
                  tpath("te.txt"), "--iterations", "20", "--hidden", "4", "--blas-threads", "1",
                  "--model-out", model, NULL);
    ck_assert_msg(rc == 0, "train exit %d: %s", rc, err);
    const char *v = strstr(out, "val MSE");
    ck_assert_ptr_nonnull(v);
    double reported = strtod(v + strlen("val MSE"), NULL);
    free(out); free(err);
    /* the held-out rows, their columns moved: the inputs are found by name */
    const int cols[4] = {3, 2, 0, 1};
    csv_rows(data, test, 90, 120, cols, 4, NULL);
    rc = oigd(&out, &err, "evaluate", model, test, NULL);
    ck_assert_msg(rc == 0, "evaluate exit %d: %s", rc, err);
    cJSON *j = json_parse(out);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "inputs_matched_by")->valuestring, "name");
    double mse = json_number(j, "mse");
    ck_assert_double_eq_tol(mse, reported, 1e-8 * reported);
    ck_assert_int_eq(json_number(j, "rows"), 30);
    ck_assert(json_number(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "outputs"), 0), "r2") < 1.0);
    cJSON_Delete(j);
    free(out); free(err);
    /* --out writes the same document */
    ck_assert_int_eq(oigd(&out, &err, "evaluate", "--model", model, "--data", test, "--out", tpath("s.json"), NULL), 0);
    char *file = slurp(tpath("s.json"), NULL);
    j = json_parse(file);
    ck_assert_double_eq(json_number(j, "mse"), mse);
    cJSON_Delete(j);
    free(file); free(out); free(err);
}
END_TEST

START_TEST(test_evaluate_classifier_on_fewer_classes_and_an_unknown_one) {
    const char *data = tpath("cls.csv"), *model = tpath("cls.json"), *part = tpath("part.csv");
    write_classification_csv(data, 150);
    char *out, *err;
    int rc = oigd(&out, &err, "train", "--data", data, "--task", "classification", "--hidden", "3",
                  "--iterations", "10", "--blas-threads", "1", "--model-out", model, NULL);
    ck_assert_msg(rc == 0, "train exit %d: %s", rc, err);
    free(out); free(err);
    const int cols[3] = {0, 1, 2};
    csv_rows(data, part, 0, 150, cols, 3, "high");
    char *text = slurp(part, NULL);
    int rows = count_lines(text) - 1;
    free(text);
    rc = oigd(&out, &err, "evaluate", model, part, NULL);
    ck_assert_msg(rc == 0, "evaluate exit %d: %s", rc, err);
    /* classes east, high, west: the high row of the confusion matrix is empty */
    cJSON *j = json_parse(out);
    const cJSON *cm = cJSON_GetObjectItem(j, "confusion_matrix");
    ck_assert_int_eq(cJSON_GetArraySize(cm), 3);
    ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "classes"), 1)->valuestring, "high");
    long c[9], total = 0, diag = 0;
    for (int i = 0; i < 9; i++) {
        c[i] = (long)cJSON_GetArrayItem(cJSON_GetArrayItem(cm, i / 3), i % 3)->valuedouble;
        total += c[i];
        if (i % 4 == 0) diag += c[i];
    }
    ck_assert_int_eq(total, rows);
    ck_assert_int_eq(c[3] + c[4] + c[5], 0);
    ck_assert_double_eq_tol(json_number(j, "error_percent"), 100.0 * (double)(rows - diag) / rows, 1e-9);
    cJSON_Delete(j);
    free(out); free(err);
    /* a label the model never saw */
    spit(part, "u,v,kind\n0.1,0.2,north\n0.3,-0.2,east\n");
    rc = oigd(&out, &err, "evaluate", model, part, NULL);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(err, "'north'") != NULL, "stderr does not name the label: %s", err);
    free(out); free(err);
}
END_TEST

static Suite *cli_suite(void) {
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("usage");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_no_arguments_exits_2_with_usage_on_stderr);
    tcase_add_test(tc, test_help_prints_usage_on_stdout_and_exits_0);
    tcase_add_test(tc, test_version_exits_0);
    tcase_add_test(tc, test_unknown_command_and_flag_exit_2);
    tcase_add_test(tc, test_misspelt_command_and_flags_say_what_they_meant);
    tcase_add_test(tc, test_negative_hidden_exits_2_naming_the_flag);
    tcase_add_loop_test(tc, test_bad_number_exits_2_naming_the_flag, 0,
                        (int)(sizeof bad_values / sizeof bad_values[0]));
    tcase_add_loop_test(tc, test_serve_bad_value_exits_2_naming_the_flag, 0,
                        (int)(sizeof bad_serve_values / sizeof bad_serve_values[0]));
    tcase_add_test(tc, test_serve_bad_environment_value_names_the_variable);
    tcase_add_test(tc, test_conflicting_flags_exit_2);
    tcase_add_test(tc, test_missing_file_exits_1);
    tcase_add_test(tc, test_parse_error_reports_file_line_column);
    tcase_add_test(tc, test_bad_model_file_reports_position);
    suite_add_tcase(s, tc);

    tc = tcase_create("train_predict");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_train_then_predict_matches_the_model_in_process);
    tcase_add_test(tc, test_predict_to_stdout_without_header_or_target);
    tcase_add_test(tc, test_predict_names_a_missing_input_column);
    tcase_add_test(tc, test_metrics_csv_has_header_and_one_row_per_iteration);
    tcase_add_test(tc, test_same_seed_gives_identical_model_files);
    tcase_add_test(tc, test_threads_train_the_one_thread_model);
    tcase_add_test(tc, test_default_threads_split_the_rows_where_each_cpu_gets_its_share);
    tcase_add_test(tc, test_checkpoints_and_resume_continue_the_run);
    tcase_add_test(tc, test_classification_predicts_labels);
    tcase_add_test(tc, test_index_files_select_train_and_validation_rows);
    tcase_add_test(tc, test_evaluate_scores_the_held_out_rows_as_training_reported);
    tcase_add_test(tc, test_evaluate_classifier_on_fewer_classes_and_an_unknown_one);
    tcase_add_test(tc, test_vacuum_compacts_an_older_store);
    tcase_add_test(tc, test_backup_writes_a_whole_copy_or_nothing);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    return suite_run(cli_suite(), CK_FORK_GETENV);
}

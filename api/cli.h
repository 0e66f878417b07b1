/* cli.h -- the command-line faces `oigd train`, `oigd predict` and `oigd evaluate`, and the
 * argument scanner that they and `oigd project` share.
 *
 * Each takes the arguments after the command name (argv[0] is the command) and returns the
 * process exit code: 0 success, 1 runtime failure (unreadable file, parse error, training
 * failure), 2 bad arguments (the error and the usage go to stderr).
 */
#ifndef OIGD_CLI_H
#define OIGD_CLI_H

#include <stddef.h>

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_INTERRUPTED 130    /* SIGINT during training: the model so far was saved */

int cli_train_main(int argc, char **argv);
int cli_predict_main(int argc, char **argv);
int cli_evaluate_main(int argc, char **argv);

/* ---- argument scanning, shared by the commands ---- */
typedef struct {
    int argc, i;            /* the next argument is argv[i] */
    char **argv;
} cli_argscan;

typedef struct {
    const char *name;       /* "--name"; NULL ends a table */
    int has_arg;
    int id;
} cli_flagdef;

/* One "--name[=value]" or "--name value" from a, by the table defs: *def and *value (NULL for a
 * flag without one), or a positional argument in *positional with *def NULL. Returns 0, or -1
 * with the reason in bad: an unknown option (naming the one it most likely meant), a value given
 * to a flag without one, a missing value. */
int cli_scan_next(cli_argscan *a, const cli_flagdef *defs, const cli_flagdef **def, const char **value,
                  const char **positional, char *bad, size_t badcap);

/* Usage texts, for `oigd --help` and the commands' own --help. */
void cli_train_usage(void *stream);
void cli_predict_usage(void *stream);
void cli_evaluate_usage(void *stream);

#endif

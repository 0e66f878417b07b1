/* cli.h -- the command-line faces `oigd train`, `oigd predict` and `oigd evaluate`.
 *
 * Each takes the arguments after the command name (argv[0] is the command) and returns the
 * process exit code: 0 success, 1 runtime failure (unreadable file, parse error, training
 * failure), 2 bad arguments (the error and the usage go to stderr).
 */
#ifndef OIGD_CLI_H
#define OIGD_CLI_H

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE 2
#define CLI_EXIT_INTERRUPTED 130    /* SIGINT during training: the model so far was saved */

int cli_train_main(int argc, char **argv);
int cli_predict_main(int argc, char **argv);
int cli_evaluate_main(int argc, char **argv);

/* Usage texts, for `oigd --help` and the commands' own --help. */
void cli_train_usage(void *stream);
void cli_predict_usage(void *stream);
void cli_evaluate_usage(void *stream);

#endif

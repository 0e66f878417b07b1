/* main.c -- the oigd binary: dispatch to its commands (train, predict, serve, ...).
 *
 * Owns only the top-level usage, --help and --version; each command parses its own arguments
 * (api/cli.c for train and predict, api/serve.c for the daemon).
 */
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "cli.h"
#include "cli_related.h"
#include "healthcheck.h"
#include "oig.h"
#include "serve.h"
#include "store_cli.h"
#include "suggest.h"

#ifndef OIGD_VERSION
#define OIGD_VERSION "unknown"
#endif

static void usage(FILE *f) {
    fputs("usage: oigd COMMAND [options]\n"
          "       oigd --help | --version\n"
          "\n"
          "Train feed-forward networks with OIG-HWO and its comparators (OWO, BP, HWO, OIG-BP, LM).\n"
          "\n"
          "Commands:\n"
          "  train     train on a CSV or whitespace-separated file and write a model file\n"
          "  predict   apply a model file to a data file, writing CSV predictions\n"
          "  evaluate  score a model file on a labeled data file (MSE, R^2, confusion matrix)\n"
          "  project   project a model's hidden weights onto orthogonal ones (a new model file)\n"
          "  serve     run the HTTP JSON daemon\n"
          "  key       create an API key for `serve --api-key-file`\n"
          "  healthcheck  GET a running daemon's /healthz (exit 0 when it answers 200)\n"
          "  backup    copy the daemon's database while it runs (checked, whole or absent)\n"
          "  vacuum    compact a database made by an older oigd (stop the daemon first)\n"
          "\n"
          "`oigd COMMAND --help` describes a command's options.\n", f);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fputs("oigd: a command is required\n\n", stderr);
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("oigd %s\nBLAS: %s\n", OIGD_VERSION, oig_blas_config());
        return CLI_EXIT_OK;
    }
    static const struct { const char *name; int (*run)(int, char **); } commands[] = {
        { "train", cli_train_main },    { "predict", cli_predict_main }, { "evaluate", cli_evaluate_main },
        { "project", cli_project_main }, { "serve", serve_main },         { "key", api_key_main },
        { "healthcheck", healthcheck_main }, { "backup", backup_main },  { "vacuum", vacuum_main },
    };
    enum { NCOMMANDS = sizeof commands / sizeof commands[0] };
    const char *names[NCOMMANDS];
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(cmd, commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
        names[i] = commands[i].name;
    }
    char msg[160];
    snprintf(msg, sizeof msg, "oigd: unknown command '%.64s'", cmd);
    suggest_append(msg, sizeof msg, cmd, names, NCOMMANDS, "");
    fprintf(stderr, "%s\n\n", msg);
    usage(stderr);
    return CLI_EXIT_USAGE;
}

/* cli_related.h -- the command-line faces of the related methods: the training flags of slnb,
 * osgd/sgd, ngmnn, orthogonal_hidden and the --init-model warm start (parsed for `oigd train`),
 * and `oigd project`, which writes a stored model's projection onto orthogonal hidden weights as
 * a new model file.
 */
#ifndef OIGD_CLI_RELATED_H
#define OIGD_CLI_RELATED_H

#include <stddef.h>
#include "oig.h"

/* If argv[*i] is a related-method training flag ("--eta 0.1" or "--eta=0.1"), consume it (and
 * its value), set cfg and return 1; return 0 for any other argument; -1 with a message in msg
 * for a bad value or a missing one. */
int cli_related_train_arg(int *i, int argc, char **argv, oig_config *cfg, char *msg, size_t cap);
/* Free what those flags allocated (the --init-model model) and clear cfg->init_model. */
void cli_related_train_free(oig_config *cfg);
/* The flag that sets an oig_config_check field of the related methods, or NULL. */
const char *cli_related_flag(const char *field);
void cli_related_train_usage(void *stream);

int cli_project_main(int argc, char **argv);
void cli_project_usage(void *stream);

#endif

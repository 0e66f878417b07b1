/* store_cli.h -- the store's maintenance commands: `oigd backup` (a consistent copy while the
 * daemon runs) and `oigd vacuum` (compact a file made by an older oigd). */
#ifndef OIGD_STORE_CLI_H
#define OIGD_STORE_CLI_H
int backup_main(int argc, char **argv);
int vacuum_main(int argc, char **argv);
#endif

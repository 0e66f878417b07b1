/* vacuum.h -- `oigd vacuum [--db PATH]`: compact a store and turn on the incremental vacuum
 * with which the daemon gives free pages back while it runs. */
#ifndef OIGD_VACUUM_H
#define OIGD_VACUUM_H
int vacuum_main(int argc, char **argv);
#endif

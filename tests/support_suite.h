/* support_suite.h -- how every test binary runs its libcheck suite. */
#ifndef OIGD_SUPPORT_SUITE_H
#define OIGD_SUPPORT_SUITE_H

#include <check.h>

/* Run every test of s with libcheck's summary on stdout, forking as fork_status says
 * (CK_FORK_GETENV: as the CK_FORK variable says, forking by default), and free the runner.
 * Returns the exit status for main: EXIT_SUCCESS when no test failed. */
int suite_run(Suite *s, enum fork_status fork_status);

#endif

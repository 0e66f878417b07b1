/* support_suite.c -- how every test binary runs its libcheck suite. */
#include "support_suite.h"

#include <stdlib.h>

int suite_run(Suite *s, enum fork_status fork_status) {
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, fork_status);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

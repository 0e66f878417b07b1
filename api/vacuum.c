/* vacuum.c -- `oigd vacuum [--db PATH]`: rewrite the daemon's SQLite file without its free pages
 * (store_vacuum) and report the size before and after. A file created by this oigd gives free
 * pages back on its own while the daemon runs; an older one needs this once. Refuses a path
 * where no database exists rather than creating one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "store.h"
#include "vacuum.h"

static void usage(FILE *f) {
    fputs("usage: oigd vacuum [--db PATH]\n"
          "  --db PATH   the daemon's SQLite database (OIGD_DB, default ./oigd.db)\n"
          "\n"
          "Rewrite the database without its free pages and turn on incremental vacuum, with\n"
          "which `oigd serve` gives the pages of deleted datasets, jobs and models back to the\n"
          "file system while it runs. Databases created by this oigd have it from the start.\n"
          "Holds the database's write lock throughout and needs free disk space for a copy of\n"
          "the database: stop the daemon first.\n", f);
}

static double mib(const store_space *sp, long long pages) {
    return (double)pages * sp->page_size / 1048576.0;
}

int vacuum_main(int argc, char **argv) {
    const char *path = getenv("OIGD_DB");
    if (path == NULL || path[0] == '\0') path = "./oigd.db";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
            path = argv[++i];
            continue;
        }
        fprintf(stderr, "oigd vacuum: %s '%s'\n\n", strcmp(argv[i], "--db") == 0 ? "missing value for" : "unknown option",
                argv[i]);
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (access(path, R_OK | W_OK) != 0) {
        fprintf(stderr, "oigd vacuum: no database at %s (or it is not readable and writable)\n", path);
        return CLI_EXIT_FAILURE;
    }
    store *st = NULL;
    char err[512];
    if (store_open(path, &st, err, sizeof err) != STORE_OK) {
        fprintf(stderr, "oigd vacuum: %s: %s\n", path, err);
        return CLI_EXIT_FAILURE;
    }
    store_space before, after;
    int rc = CLI_EXIT_FAILURE;
    if (store_space_get(st, &before) != STORE_OK || store_vacuum(st) != STORE_OK ||
        store_space_get(st, &after) != STORE_OK) {
        fprintf(stderr, "oigd vacuum: %s: %s\n", path, store_errmsg(st));
    } else {
        printf("oigd vacuum: %s: %.1f MiB (%.1f MiB free) -> %.1f MiB; free pages now go back to the "
               "file system while the daemon runs\n",
               path, mib(&before, before.pages), mib(&before, before.free_pages), mib(&after, after.pages));
        rc = after.incremental ? CLI_EXIT_OK : CLI_EXIT_FAILURE;
        if (!after.incremental) fprintf(stderr, "oigd vacuum: %s: incremental vacuum did not turn on\n", path);
    }
    store_close(st);
    return rc;
}

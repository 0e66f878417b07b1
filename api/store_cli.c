/* store_cli.c -- the store's maintenance commands, run beside (backup) or instead of (vacuum)
 * the daemon on its SQLite file:
 *
 *   oigd backup [--db PATH] OUT   a consistent, compacted copy of the database at OUT, taken
 *                                 while the daemon runs, checked, synced and then renamed into
 *                                 place, so OUT is whole or absent;
 *   oigd vacuum [--db PATH]       rewrite a file made by an older oigd without its free pages and
 *                                 turn on the incremental vacuum with which the daemon gives them
 *                                 back as it runs.
 *
 * Both open the file as it is (no creation, no migration: a backup taken before an upgrade is of
 * the old schema) and refuse a path where no database exists. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "store.h"
#include "store_cli.h"
#include "suggest.h"

static const char *const backup_usage =
    "usage: oigd backup [--db PATH] OUT\n"
    "  --db PATH   the daemon's SQLite database (OIGD_DB, default ./oigd.db)\n"
    "\n"
    "Write a consistent copy of the database to OUT while the daemon runs (it keeps\n"
    "serving and training meanwhile), without free pages, check it, sync it and then\n"
    "rename it into place. OUT must not exist. To restore, stop the daemon, replace the\n"
    "database with the copy, delete PATH-wal and PATH-shm, and start it again.\n";

static const char *const vacuum_usage =
    "usage: oigd vacuum [--db PATH]\n"
    "  --db PATH   the daemon's SQLite database (OIGD_DB, default ./oigd.db)\n"
    "\n"
    "Rewrite the database without its free pages and turn on incremental vacuum, with\n"
    "which `oigd serve` gives the pages of deleted datasets, jobs and models back to the\n"
    "file system while it runs. Databases created by this oigd have it from the start.\n"
    "Holds the database's write lock throughout and needs free disk space for a copy of\n"
    "the database: stop the daemon first.\n";

/* Parse [--db PATH] and up to `want` operands. 0 and *st open on success; otherwise the exit
 * code (after --help: CLI_EXIT_OK with *st NULL). */
static int open_db(const char *cmd, const char *usage, int argc, char **argv, int want,
                   const char **operand, const char **path, store **st) {
    *st = NULL;
    *path = getenv("OIGD_DB");
    if (*path == NULL || (*path)[0] == '\0') *path = "./oigd.db";
    int have = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        }
        if (strcmp(a, "--db") == 0 && i + 1 < argc) { *path = argv[++i]; continue; }
        if (a[0] != '-' && have < want) { operand[have++] = a; continue; }
        static const char *const flags[] = { "--db", "--help" };
        char msg[160];
        snprintf(msg, sizeof msg, "%s '%.64s'",
                 strcmp(a, "--db") == 0 ? "missing value for" : a[0] == '-' ? "unknown option" : "unexpected argument", a);
        if (a[0] == '-' && strcmp(a, "--db") != 0) suggest_append(msg, sizeof msg, a, flags, sizeof flags / sizeof flags[0], "");
        fprintf(stderr, "oigd %s: %s\n\n", cmd, msg);
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (have < want) {
        fprintf(stderr, "oigd %s: missing OUT\n\n", cmd);
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (access(*path, R_OK | W_OK) != 0) {
        fprintf(stderr, "oigd %s: no database at %s (or it is not readable and writable)\n", cmd, *path);
        return CLI_EXIT_FAILURE;
    }
    char err[512];
    if (store_open_existing(*path, st, err, sizeof err) != STORE_OK) {
        fprintf(stderr, "oigd %s: %s: %s\n", cmd, *path, err);
        return CLI_EXIT_FAILURE;
    }
    return 0;
}

static double mib(long long bytes) { return (double)bytes / 1048576.0; }

/* fsync the file or directory at path; 0, or -1 with the error printed. */
static int sync_path(const char *path, int directory) {
    int fd = open(path, (directory ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        fprintf(stderr, "oigd backup: cannot sync %s: %s\n", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

int backup_main(int argc, char **argv) {
    const char *out = NULL, *path;
    store *st;
    int rc = open_db("backup", backup_usage, argc, argv, 1, &out, &path, &st);
    if (st == NULL) return rc;
    rc = CLI_EXIT_FAILURE;
    /* the copy is written under a temporary name beside OUT, so that OUT is whole or absent */
    char tmp[4096], dir[4096];
    int n = snprintf(tmp, sizeof tmp, "%s.partial-XXXXXX", out);
    int fd = -1;
    if (access(out, F_OK) == 0) {
        fprintf(stderr, "oigd backup: %s exists; it is not overwritten\n", out);
    } else if (n < 0 || (size_t)n >= sizeof tmp || snprintf(dir, sizeof dir, "%s", out) >= (int)sizeof dir) {
        fprintf(stderr, "oigd backup: the path %s is too long\n", out);
    } else if ((fd = mkstemp(tmp)) < 0) {
        fprintf(stderr, "oigd backup: cannot create %s: %s\n", tmp, strerror(errno));
    } else {
        close(fd);
        store_copy_info info;
        if (store_backup(st, tmp, &info) != STORE_OK) {
            fprintf(stderr, "oigd backup: %s: %s\n", path, store_errmsg(st));
        } else if (sync_path(tmp, 0) == 0) {
            if (rename(tmp, out) != 0) {
                fprintf(stderr, "oigd backup: cannot rename %s to %s: %s\n", tmp, out, strerror(errno));
            } else if (sync_path(dirname(dir), 1) == 0) {
                printf("oigd backup: %s -> %s: %.1f MiB, schema version %d, %lld dataset%s, %lld job%s, "
                       "%lld model%s; the copy passed its check\n",
                       path, out, mib(info.bytes), info.version, info.datasets, info.datasets == 1 ? "" : "s",
                       info.jobs, info.jobs == 1 ? "" : "s", info.models, info.models == 1 ? "" : "s");
                rc = CLI_EXIT_OK;
            }
        }
        if (rc != CLI_EXIT_OK) unlink(tmp);
    }
    store_close(st);
    return rc;
}

int vacuum_main(int argc, char **argv) {
    const char *path;
    store *st;
    int rc = open_db("vacuum", vacuum_usage, argc, argv, 0, NULL, &path, &st);
    if (st == NULL) return rc;
    store_space before, after;
    rc = CLI_EXIT_FAILURE;
    if (store_space_get(st, &before) != STORE_OK || store_vacuum(st) != STORE_OK ||
        store_space_get(st, &after) != STORE_OK) {
        fprintf(stderr, "oigd vacuum: %s: %s\n", path, store_errmsg(st));
    } else if (!after.incremental) {
        fprintf(stderr, "oigd vacuum: %s: incremental vacuum did not turn on\n", path);
    } else {
        printf("oigd vacuum: %s: %.1f MiB (%.1f MiB free) -> %.1f MiB; free pages now go back to the "
               "file system while the daemon runs\n",
               path, mib(before.pages * before.page_size), mib(before.free_pages * before.page_size),
               mib(after.pages * after.page_size));
        rc = CLI_EXIT_OK;
    }
    store_close(st);
    return rc;
}

/* reclaim.c -- the daemon gives its store's free pages (left by deleted datasets, jobs and
 * models) back to the file system, called from the main thread's tick: RECLAIM_PAGES per tick
 * while some remain, so that each write transaction stays short, and a look once a second (ten
 * ticks) otherwise. The total is logged when the free list is empty, a failure once. */
#include "reclaim.h"

#include <stdio.h>

enum { RECLAIM_PAGES = 1024, RECLAIM_IDLE_TICKS = 10 };

void reclaim_tick(store *st, reclaimer *r) {
    if (!st || --r->wait > 0) return;
    long long given = 0, left = 0;
    if (store_reclaim(st, RECLAIM_PAGES, &given, &left) != STORE_OK) {
        if (!r->failed) fprintf(stderr, "oigd: giving free database pages back failed: %s\n", store_errmsg(st));
        r->failed = 1;
        r->wait = RECLAIM_IDLE_TICKS;
        return;
    }
    r->failed = 0;
    r->given += given;
    /* while pages go, the next slice at the next tick; nothing to do (or a file that cannot give
     * pages back): a look a second later */
    r->wait = given > 0 && left > 0 ? 1 : RECLAIM_IDLE_TICKS;
    store_space sp;
    if (left == 0 && r->given > 0 && store_space_get(st, &sp) == STORE_OK) {
        double kib = (double)r->given * sp.page_size / 1024.0;   /* a finished job leaves a few pages */
        if (kib < 1024.0) fprintf(stderr, "oigd: gave %.0f KiB of free database pages back to the file system\n", kib);
        else fprintf(stderr, "oigd: gave %.1f MiB of free database pages back to the file system\n", kib / 1024.0);
        r->given = 0;
    }
}


/* reclaim.h -- the store's free pages given back a slice per tick (server/reclaim.c). */
#ifndef OIGD_RECLAIM_H
#define OIGD_RECLAIM_H

#include "store.h"

typedef struct {
    int wait;               /* ticks until the next look (start at 1) */
    long long given;        /* pages given back since the free list was last empty */
    int failed;             /* the last attempt failed (logged once) */
} reclaimer;

/* One tick of the daemon's main thread, on that thread's connection st. */
void reclaim_tick(store *st, reclaimer *r);
#endif

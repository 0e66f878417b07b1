/* history.h -- which iterations a job's stored metrics history keeps: every one below
 * HISTORY_FULL, then every 2nd up to twice that, every 4th up to four times that, and so on;
 * the job runner adds the run's last iteration. A history so grows by HISTORY_FULL / 2 rows per
 * doubling of a run instead of a row per iteration (a 20-second BP run on 200 rows can make a
 * million iterations). Shared by the job runner and the tests. */
#ifndef OIGD_HISTORY_H
#define OIGD_HISTORY_H

#define HISTORY_FULL 10000L

static inline int history_keeps(long iteration) {
    if (iteration < HISTORY_FULL) return iteration >= 0;
    long stride = 2;
    for (long end = 2 * HISTORY_FULL; iteration >= end && stride < (1L << 40); end *= 2) stride *= 2;
    return iteration % stride == 0;
}

/* The first iteration after `iteration` that the history keeps. */
static inline long history_next(long iteration) {
    do iteration++; while (!history_keeps(iteration));
    return iteration;
}
#endif

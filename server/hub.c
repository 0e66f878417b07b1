/* hub.c -- progress hub: per-subscriber mailboxes holding the latest progress event and a short
 * queue of status changes, a heartbeat ticker, and park/wake hand-off for stream readers.
 * One mutex guards every subscriber; publishers hold it only to copy a small struct. */
#include "hub.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HUB_STATUS_QUEUE 4

struct hub_sub {
    char job_id[48];
    hub_fn wake;
    void *wake_ctx;
    int parked;
    int has_progress;
    hub_progress progress;
    char statuses[HUB_STATUS_QUEUE][16];
    int nstatus;
    int done;
    int heartbeat;
    int closed;
    struct hub_sub *next;
};

struct hub {
    pthread_mutex_t mu;         /* guards everything below */
    pthread_cond_t cv;          /* ticker sleeps on it */
    hub_sub *subs;
    int nsubs, max_subs;
    int heartbeat_seconds;
    int shut;
    int stop_ticker;
    pthread_t ticker;
    int ticker_started;
};

int hub_status_terminal(const char *s) {
    return strcmp(s, "succeeded") == 0 || strcmp(s, "failed") == 0 || strcmp(s, "cancelled") == 0;
}

static void wake_locked(hub_sub *s) {
    if (s->parked) {
        s->parked = 0;
        if (s->wake) s->wake(s->wake_ctx);
    }
}

/* Sets every subscriber's heartbeat flag every heartbeat_seconds. */
static void *ticker_main(void *arg) {
    hub *h = arg;
    pthread_mutex_lock(&h->mu);
    while (!h->stop_ticker) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += h->heartbeat_seconds;
        int rc = 0;
        while (!h->stop_ticker && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&h->cv, &h->mu, &ts);
        if (h->stop_ticker) break;
        for (hub_sub *s = h->subs; s; s = s->next) {
            s->heartbeat = 1;
            wake_locked(s);
        }
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

hub *hub_create(int max_subscribers, int heartbeat_seconds) {
    hub *h = calloc(1, sizeof *h);
    if (!h) return NULL;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    h->max_subs = max_subscribers > 0 ? max_subscribers : 1;
    h->heartbeat_seconds = heartbeat_seconds > 0 ? heartbeat_seconds : 15;
    if (pthread_create(&h->ticker, NULL, ticker_main, h) == 0) h->ticker_started = 1;
    return h;
}

void hub_destroy(hub *h) {
    if (!h) return;
    pthread_mutex_lock(&h->mu);
    h->stop_ticker = 1;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
    if (h->ticker_started) pthread_join(h->ticker, NULL);
    hub_sub *s = h->subs;
    while (s) { hub_sub *n = s->next; free(s); s = n; }
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

hub_sub *hub_subscribe(hub *h, const char *job_id, hub_fn wake, void *ctx) {
    pthread_mutex_lock(&h->mu);
    hub_sub *s = NULL;
    if (!h->shut && h->nsubs < h->max_subs && (s = calloc(1, sizeof *s))) {
        snprintf(s->job_id, sizeof s->job_id, "%s", job_id);
        s->wake = wake;
        s->wake_ctx = ctx;
        s->next = h->subs;
        h->subs = s;
        h->nsubs++;
    }
    pthread_mutex_unlock(&h->mu);
    return s;
}

void hub_unsubscribe(hub *h, hub_sub *s) {
    if (!s) return;
    pthread_mutex_lock(&h->mu);
    for (hub_sub **pp = &h->subs; *pp; pp = &(*pp)->next)
        if (*pp == s) { *pp = s->next; h->nsubs--; break; }
    pthread_mutex_unlock(&h->mu);
    free(s);
}

int hub_subscriber_count(hub *h) {
    pthread_mutex_lock(&h->mu);
    int n = h->nsubs;
    pthread_mutex_unlock(&h->mu);
    return n;
}

void hub_publish_progress(hub *h, const char *job_id, const hub_progress *p) {
    pthread_mutex_lock(&h->mu);
    for (hub_sub *s = h->subs; s; s = s->next) {
        if (strcmp(s->job_id, job_id) != 0 || s->done) continue;
        s->progress = *p;           /* only the latest is kept */
        s->has_progress = 1;
        wake_locked(s);
    }
    pthread_mutex_unlock(&h->mu);
}

void hub_publish_status(hub *h, const char *job_id, const char *status) {
    int terminal = hub_status_terminal(status);
    pthread_mutex_lock(&h->mu);
    for (hub_sub *s = h->subs; s; s = s->next) {
        if (strcmp(s->job_id, job_id) != 0 || s->done) continue;
        if (s->nstatus == HUB_STATUS_QUEUE) {          /* drop the oldest: the newest wins */
            memmove(s->statuses[0], s->statuses[1], sizeof s->statuses[0] * (HUB_STATUS_QUEUE - 1));
            s->nstatus--;
        }
        snprintf(s->statuses[s->nstatus++], sizeof s->statuses[0], "%s", status);
        if (terminal) s->done = 1;
        wake_locked(s);
    }
    pthread_mutex_unlock(&h->mu);
}

static void pop_status(hub_sub *s, hub_event *ev) {
    ev->kind = HUB_STATUS;
    snprintf(ev->status, sizeof ev->status, "%s", s->statuses[0]);
    memmove(s->statuses[0], s->statuses[1], sizeof s->statuses[0] * (HUB_STATUS_QUEUE - 1));
    s->nstatus--;
}

hub_kind hub_next(hub *h, hub_sub *s, hub_event *ev, hub_fn park, void *park_ctx) {
    memset(ev, 0, sizeof *ev);
    pthread_mutex_lock(&h->mu);
    if (s->closed) {
        ev->kind = HUB_CLOSED;
    } else if (s->nstatus > 0 && !hub_status_terminal(s->statuses[0])) {
        pop_status(s, ev);
    } else if (s->has_progress) {
        ev->kind = HUB_PROGRESS;
        ev->progress = s->progress;
        s->has_progress = 0;
    } else if (s->nstatus > 0) {
        pop_status(s, ev);
    } else if (s->done) {
        ev->kind = HUB_DONE;
        s->closed = 1;              /* nothing follows done */
    } else if (s->heartbeat) {
        ev->kind = HUB_HEARTBEAT;
        s->heartbeat = 0;
    } else {
        ev->kind = HUB_NONE;
        s->parked = 1;
        if (park) park(park_ctx);
    }
    pthread_mutex_unlock(&h->mu);
    return ev->kind;
}

void hub_shutdown(hub *h) {
    pthread_mutex_lock(&h->mu);
    h->shut = 1;
    for (hub_sub *s = h->subs; s; s = s->next) {
        s->closed = 1;
        wake_locked(s);
    }
    pthread_mutex_unlock(&h->mu);
}

/* hub.h -- the progress hub: fans a job's progress and status changes out to live subscribers.
 *
 * Publishers (job runners) never wait on subscribers: each subscriber keeps only the latest
 * progress event and a few pending status changes, so a slow reader costs bounded memory and
 * no training time. A subscriber with nothing to read is "parked"; the next publish wakes it
 * through its wake callback. Knows nothing of HTTP.
 */
#ifndef OIGD_HUB_H
#define OIGD_HUB_H

typedef struct hub hub;
typedef struct hub_sub hub_sub;

typedef struct {
    int iteration;
    double train_mse, val_mse, train_err, val_err;   /* NaN when not applicable */
    double multiplies, seconds;
} hub_progress;

typedef enum {
    HUB_NONE = 0,       /* nothing pending: the subscriber was parked */
    HUB_PROGRESS,
    HUB_STATUS,
    HUB_DONE,           /* the job reached a terminal status (sent after that status) */
    HUB_HEARTBEAT,
    HUB_CLOSED          /* the hub shut down */
} hub_kind;

typedef struct {
    hub_kind kind;
    hub_progress progress;
    char status[16];
} hub_event;

/* Called with the hub's lock held: must be short and must not call into the hub. */
typedef void (*hub_fn)(void *ctx);

hub *hub_create(int max_subscribers, int heartbeat_seconds);
void hub_destroy(hub *h);

/* Subscribe to a job's events. NULL when the subscriber limit is reached or the hub is shut. */
hub_sub *hub_subscribe(hub *h, const char *job_id, hub_fn wake, void *ctx);
void hub_unsubscribe(hub *h, hub_sub *s);
int hub_subscriber_count(hub *h);

void hub_publish_progress(hub *h, const char *job_id, const hub_progress *p);
/* A status change; a terminal status (succeeded, failed, cancelled) also queues HUB_DONE. */
void hub_publish_status(hub *h, const char *job_id, const char *status);

/* The next pending event of s. With none pending, park(ctx) is called under the hub's lock,
 * s is marked parked, and HUB_NONE is returned: the next publish calls s's wake(ctx). */
hub_kind hub_next(hub *h, hub_sub *s, hub_event *ev, hub_fn park, void *park_ctx);

/* Close every subscription (each gets HUB_CLOSED, parked ones are woken); later subscribes fail. */
void hub_shutdown(hub *h);

int hub_status_terminal(const char *status);
#endif

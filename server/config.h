/* config.h -- the daemon's configuration, read once at start-up from flags and OIGD_* variables.
 * Flags override the environment, which overrides the defaults. Immutable after config_load. */
#ifndef OIGD_CONFIG_H
#define OIGD_CONFIG_H
#include <stddef.h>

typedef struct {
    char listen[128];           /* as given, "host:port" */
    char host[64];              /* numeric address, IPv4 or IPv6 */
    int port;                   /* 0 = ephemeral */
    char db[1024];
    int workers;                /* training threads */
    int blas_threads;           /* OpenBLAS threads, set once */
    int train_threads;          /* threads that train one job together (server/train_threads.c) */
    int train_nice;             /* training threads' nice, 0..19 steps above the daemon's */
    int train_idle;             /* 1: training threads run as SCHED_IDLE, 0: as SCHED_BATCH */
    size_t max_body;            /* request body limit in bytes */
    int http_threads;           /* libmicrohttpd thread pool size */
    int max_connections;
    int max_connections_per_client;
    int connection_timeout;     /* seconds */
    double checkpoint_seconds;  /* checkpoint interval of a running job */
    int max_subscribers;        /* live event streams in total */
    int heartbeat_seconds;      /* SSE comment heartbeat */
    long max_rows;              /* rows of one dataset */
    long max_columns;           /* columns (inputs + targets) of one dataset */
    int max_queued_jobs;        /* queued jobs before POST /v1/jobs answers 429 */
    int retry_after;            /* seconds, sent with 429 and 503 */
    int access_log;             /* 1: a stderr line per request */
    char api_key_file[1024];    /* SHA-256 hashes of the API keys; "" = no authentication */
    char mpi_launcher[1024];    /* shell words that start MPI ranks; "" = no distributed jobs */
} config;

/* Fill c from argv (argv[0] is the command name) and the environment. Returns 0 on success, 1
 * when help was asked for (usage printed to stdout), -1 with err set on an invalid value. */
int config_load(config *c, int argc, char **argv, char *err, size_t errlen);
void config_usage(const char *prog);
int config_cores(void);
#endif

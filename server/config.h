/* config.h - daemon settings from flags and environment variables.
 *
 * Each option has a flag and an environment variable; the flag wins. The
 * table in config.c is the single list that --help prints.
 */
#ifndef REVOPS_CONFIG_H
#define REVOPS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *database_url;       /* DATABASE_URL */
    char *listen;             /* REVOPS_LISTEN, "127.0.0.1:8080" */
    int threads;              /* REVOPS_THREADS, worker threads = DB pool size */
    size_t max_body;          /* REVOPS_MAX_BODY bytes, 1 MiB */
    size_t max_import_body;   /* REVOPS_MAX_IMPORT_BODY bytes, 64 MiB: bulk imports */
    int conn_timeout;         /* REVOPS_CONN_TIMEOUT seconds of client idleness */
    int request_timeout;      /* REVOPS_REQUEST_TIMEOUT seconds to send one request's body; 0 = none */
    int header_timeout;       /* REVOPS_HEADER_TIMEOUT seconds to send a request line and headers; 0 = none */
    int max_connections;      /* REVOPS_MAX_CONNECTIONS open client connections per instance */
    int max_conns_per_ip;     /* REVOPS_MAX_CONNECTIONS_PER_IP from one client address; 0 = no limit */
    int workers;              /* REVOPS_WORKERS the pool running ROUTE_COSTLY/ROUTE_OFFLOAD requests; 0 = threads */
    bool offload;             /* REVOPS_OFFLOAD run them on that pool (else on the HTTP threads) */
    int costly_concurrency;   /* REVOPS_COSTLY_CONCURRENCY expensive requests at once per instance; 0 = threads / 2 */
    int costly_per_key;       /* REVOPS_COSTLY_PER_KEY expensive requests at once per API key */
    int costly_queue_ms;      /* REVOPS_COSTLY_QUEUE_MS an expensive request waits for a slot */
    int stmt_timeout_ms;      /* REVOPS_STATEMENT_TIMEOUT_MS */
    int db_deadline_ms;       /* REVOPS_DB_DEADLINE_MS: client-side deadline of each database call */
    int ready_deadline_ms;    /* REVOPS_READY_DEADLINE_MS: /readyz answers 503 within it */
    char *cors_origins;       /* REVOPS_CORS_ORIGINS, comma list or "*"; empty = no CORS */
    char *public_url;         /* REVOPS_PUBLIC_URL, for webhook signature URIs behind proxies */
    int shutdown_grace;       /* REVOPS_SHUTDOWN_GRACE seconds to finish in-flight requests */
    bool access_log;          /* REVOPS_ACCESS_LOG=0 disables the per-request line */
    int access_log_flush_ms;  /* REVOPS_ACCESS_LOG_FLUSH_MS how long an access line may wait in its buffer */
    int scheduler_interval;   /* REVOPS_SCHEDULER_INTERVAL seconds between scheduler ticks; 0 = off */
    int escalation_interval;  /* REVOPS_ESCALATION_INTERVAL seconds between escalation passes; 0 = off */
    int rate_limit;           /* REVOPS_RATE_LIMIT requests per second per API key, per instance; 0 = off */
    int rate_burst;           /* REVOPS_RATE_BURST requests a key may make at once; 0 = 2 x rate_limit */
    int key_cache_ms;         /* REVOPS_KEY_CACHE_MS how long a live key is remembered (<= 1000); 0 = off */
    int webhook_appliers;     /* REVOPS_WEBHOOK_APPLIERS threads applying stored webhook events; 0 = none here */
    int webhook_batch;        /* REVOPS_WEBHOOK_BATCH events claimed per applier transaction */
    int webhook_linger_ms;    /* REVOPS_WEBHOOK_LINGER_MS wait after a store's wakeup before claiming */
    int webhook_max_lag;      /* REVOPS_WEBHOOK_MAX_LAG seconds of oldest pending event before /readyz is degraded */
    int webhook_max_backlog;  /* REVOPS_WEBHOOK_MAX_BACKLOG pending events above which deliveries get 503 */
    int webhook_wait_ms;      /* REVOPS_WEBHOOK_WAIT_MS longest ?wait=applied */
    int alert_senders;        /* REVOPS_ALERT_SENDERS threads delivering alert webhooks; 0 = none here */
    int alert_retry_base_ms;  /* REVOPS_ALERT_RETRY_BASE_MS first retry's nominal delay (docs/alerts.md) */
    int alert_timeout_ms;     /* REVOPS_ALERT_TIMEOUT_MS one delivery attempt's HTTP deadline */
    bool alert_on_write;      /* REVOPS_ALERT_ON_WRITE evaluate a workspace's rules right after its writes */
    bool alert_allow_private; /* REVOPS_ALERT_ALLOW_PRIVATE destinations may reach non-public addresses */
} config;

/* Defaults, then environment. */
void config_defaults(config *c);
/* Parse "--name value" / "--name=value" flags from argv[start..argc).
 * Unknown flags are an error; returns 0 or -1 with a message on stderr. */
int config_parse_flags(config *c, int argc, char **argv, int start) __attribute__((warn_unused_result));
void config_print_help(const char *prog);
void config_free(config *c);

#endif

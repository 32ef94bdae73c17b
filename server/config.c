/* config.c - one table of options: flag, environment variable, default, help. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { OPT_STR, OPT_INT, OPT_SIZE, OPT_BOOL } opt_kind;

typedef struct {
    const char *flag;
    const char *env;
    opt_kind kind;
    size_t offset;
    const char *def;
    const char *help;
} option_row;

#define OFF(f) offsetof(config, f)
static const option_row options[] = {
    {"database-url", "DATABASE_URL", OPT_STR, OFF(database_url), "",
     "PostgreSQL connection URL (required for serve/migrate/keys)"},
    {"listen", "REVOPS_LISTEN", OPT_STR, OFF(listen), "127.0.0.1:8080", "HOST:PORT to serve on"},
    {"threads", "REVOPS_THREADS", OPT_INT, OFF(threads), "4",
     "HTTP worker threads; the DB pool has as many connections"},
    {"max-body", "REVOPS_MAX_BODY", OPT_SIZE, OFF(max_body), "1048576",
     "largest accepted request body in bytes (413 above)"},
    {"max-import-body", "REVOPS_MAX_IMPORT_BODY", OPT_SIZE, OFF(max_import_body), "67108864",
     "largest body of POST /v1/imports in bytes"},
    {"conn-timeout", "REVOPS_CONN_TIMEOUT", OPT_INT, OFF(conn_timeout), "30",
     "seconds an idle client connection is kept"},
    {"request-timeout", "REVOPS_REQUEST_TIMEOUT", OPT_INT, OFF(request_timeout), "300",
     "seconds a client may take to send one request body (a slower trickle is cut off); 0 = no limit"},
    {"header-timeout", "REVOPS_HEADER_TIMEOUT", OPT_INT, OFF(header_timeout), "10",
     "seconds a client may take to send a request line and its headers (from the connection's start, or the end "
     "of its previous request); the connection is closed past it; 0 = no limit"},
    {"max-connections", "REVOPS_MAX_CONNECTIONS", OPT_INT, OFF(max_connections), "512",
     "open client connections per instance; more are closed on accept"},
    {"max-connections-per-ip", "REVOPS_MAX_CONNECTIONS_PER_IP", OPT_INT, OFF(max_conns_per_ip), "64",
     "open connections from one client address (closed on accept above); behind a proxy every client has the "
     "proxy's address: raise it or set 0 (no limit)"},
    {"costly-concurrency", "REVOPS_COSTLY_CONCURRENCY", OPT_INT, OFF(costly_concurrency), "0",
     "expensive requests (backtests, territory plans, imports, reports, uncached dashboards) running at once on this "
     "instance; 0 = half the workers (at least 1), so the other slow reads always have workers"},
    {"workers", "REVOPS_WORKERS", OPT_INT, OFF(workers), "0",
     "threads of the pool that runs expensive and slow requests (backtests, territory plans, imports, reports, "
     "dashboards, forecasts) while their connection waits suspended, so the HTTP threads stay free for /healthz, "
     "/metrics and cheap reads; 0 = as many as --threads"},
    {"offload", "REVOPS_OFFLOAD", OPT_BOOL, OFF(offload), "1",
     "run those requests on the worker pool; 0 = on the HTTP threads themselves (the reference of make bench)"},
    {"costly-per-key", "REVOPS_COSTLY_PER_KEY", OPT_INT, OFF(costly_per_key), "1",
     "expensive requests one API key may run at once on this instance"},
    {"costly-queue-ms", "REVOPS_COSTLY_QUEUE_MS", OPT_INT, OFF(costly_queue_ms), "2000",
     "how long an expensive request waits for a slot before 429 (its key's share is running) or 503 (the "
     "instance is busy), with Retry-After"},
    {"statement-timeout-ms", "REVOPS_STATEMENT_TIMEOUT_MS", OPT_INT, OFF(stmt_timeout_ms), "5000",
     "PostgreSQL statement_timeout per query"},
    {"db-deadline-ms", "REVOPS_DB_DEADLINE_MS", OPT_INT, OFF(db_deadline_ms), "8000",
     "client-side deadline of each database call (connect, statement, wait for a pooled connection): past it the "
     "statement is cancelled, the connection dropped and the request answered 503 with Retry-After; keep it above "
     "--statement-timeout-ms"},
    {"ready-deadline-ms", "REVOPS_READY_DEADLINE_MS", OPT_INT, OFF(ready_deadline_ms), "1000",
     "GET /readyz answers 503 when the database has not answered SELECT 1 within this many ms"},
    {"cors-origins", "REVOPS_CORS_ORIGINS", OPT_STR, OFF(cors_origins), "",
     "comma-separated allowed CORS origins, or *"},
    {"public-url", "REVOPS_PUBLIC_URL", OPT_STR, OFF(public_url), "",
     "public base URL (scheme://host) used for webhook signatures"},
    {"shutdown-grace", "REVOPS_SHUTDOWN_GRACE", OPT_INT, OFF(shutdown_grace), "5",
     "seconds to let in-flight requests finish on SIGTERM; past them what they wait on in the database is "
     "cancelled and they are answered 503 with Retry-After"},
    {"access-log", "REVOPS_ACCESS_LOG", OPT_BOOL, OFF(access_log), "1",
     "1 to write one JSON line per request to stderr, 0 not to"},
    {"access-log-flush-ms", "REVOPS_ACCESS_LOG_FLUSH_MS", OPT_INT, OFF(access_log_flush_ms), "100",
     "milliseconds an access-log line may wait in its HTTP thread's buffer (up to 4 KiB of whole lines written at "
     "once instead of a write per request); 0 = each line written as its request ends. Other lines are never held"},
    {"scheduler-interval", "REVOPS_SCHEDULER_INTERVAL", OPT_INT, OFF(scheduler_interval), "60",
     "seconds between scheduled-snapshot checks; 0 turns the scheduler off"},
    {"escalation-interval", "REVOPS_ESCALATION_INTERVAL", OPT_INT, OFF(escalation_interval), "30",
     "seconds between lead routing escalation passes; 0 turns them off"},
    {"rate-limit", "REVOPS_RATE_LIMIT", OPT_INT, OFF(rate_limit), "0",
     "requests per second per API key on this instance (429 above); 0 = no limit"},
    {"rate-burst", "REVOPS_RATE_BURST", OPT_INT, OFF(rate_burst), "0",
     "requests a key may make at once before --rate-limit applies; 0 = twice the rate"},
    {"key-cache-ms", "REVOPS_KEY_CACHE_MS", OPT_INT, OFF(key_cache_ms), "1000",
     "milliseconds a live API key is remembered in process (at most 1000: another instance's revocation is "
     "seen within a second); 0 = a key lookup per request"},
    {"webhook-appliers", "REVOPS_WEBHOOK_APPLIERS", OPT_INT, OFF(webhook_appliers), "2",
     "threads applying stored webhook events in batches (every instance shares the queue); 0 = none here"},
    {"webhook-batch", "REVOPS_WEBHOOK_BATCH", OPT_INT, OFF(webhook_batch), "500",
     "webhook events one applier claims and applies per transaction"},
    {"webhook-linger-ms", "REVOPS_WEBHOOK_LINGER_MS", OPT_INT, OFF(webhook_linger_ms), "20",
     "milliseconds an idle applier woken by a store waits before claiming, so that the events stored meanwhile "
     "are applied in the same transaction (at most 1000); 0 = claim at once"},
    {"webhook-max-lag", "REVOPS_WEBHOOK_MAX_LAG", OPT_INT, OFF(webhook_max_lag), "60",
     "seconds the oldest pending webhook event may wait before /readyz answers degraded"},
    {"webhook-max-backlog", "REVOPS_WEBHOOK_MAX_BACKLOG", OPT_INT, OFF(webhook_max_backlog), "200000",
     "pending webhook events above which async deliveries answer 503 with Retry-After; 0 = no limit"},
    {"webhook-wait-ms", "REVOPS_WEBHOOK_WAIT_MS", OPT_INT, OFF(webhook_wait_ms), "10000",
     "longest a delivery with ?wait=applied waits for its events to be applied"},
    {"alert-senders", "REVOPS_ALERT_SENDERS", OPT_INT, OFF(alert_senders), "8",
     "threads delivering alert webhooks from the shared outbox, each with its own database connection; 0 = none here"},
    {"alert-retry-base-ms", "REVOPS_ALERT_RETRY_BASE_MS", OPT_INT, OFF(alert_retry_base_ms), "60000",
     "nominal delay before an alert delivery's first retry; it doubles up to 512 times this, 12 retries"},
    {"alert-timeout-ms", "REVOPS_ALERT_TIMEOUT_MS", OPT_INT, OFF(alert_timeout_ms), "10000",
     "HTTP deadline of one alert delivery attempt (connect and answer)"},
    {"alert-allow-private", "REVOPS_ALERT_ALLOW_PRIVATE", OPT_BOOL, OFF(alert_allow_private), "0",
     "1 to let alert destinations reach loopback, link-local, private, multicast addresses (a local receiver)"},
    {"alert-on-write", "REVOPS_ALERT_ON_WRITE", OPT_BOOL, OFF(alert_on_write), "1",
     "1 to evaluate a workspace's alert rules right after its writes (and every scheduler pass), 0 for the pass only"},
};
#define NOPTIONS (sizeof options / sizeof options[0])

static int set_value(config *c, const option_row *o, const char *v)
{
    char *field = (char *)c + o->offset;
    char *end = NULL;
    switch (o->kind) {
    case OPT_STR:
        free(*(char **)field);
        *(char **)field = strdup(v);
        return *(char **)field ? 0 : -1;
    case OPT_INT: {
        long n = strtol(v, &end, 10);
        if (!*v || *end || n < 0 || n > 1000000)
            return -1;
        *(int *)field = (int)n;
        return 0;
    }
    case OPT_SIZE: {
        unsigned long long n = strtoull(v, &end, 10);
        if (!*v || *end || n < 1024 || n > (1ULL << 30))
            return -1;
        *(size_t *)field = (size_t)n;
        return 0;
    }
    case OPT_BOOL:
        if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
            *(bool *)field = true;
        else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
            *(bool *)field = false;
        else
            return -1;
        return 0;
    }
    return -1;
}

void config_defaults(config *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NOPTIONS; i++) {
        const char *env = getenv(options[i].env);
        if (env && set_value(c, &options[i], env) == 0)
            continue;
        if (env)
            fprintf(stderr, "revopsd: ignoring invalid %s=%s\n", options[i].env, env);
        (void)set_value(c, &options[i], options[i].def);
    }
    if (c->threads < 1)
        c->threads = 1;
}

int config_parse_flags(config *c, int argc, char **argv, int start)
{
    for (int i = start; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "revopsd: unexpected argument '%s'\n", a);
            return -1;
        }
        a += 2;
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        const option_row *o = NULL;
        for (size_t k = 0; k < NOPTIONS; k++)
            if (strlen(options[k].flag) == nlen && strncmp(options[k].flag, a, nlen) == 0)
                o = &options[k];
        if (!o) {
            fprintf(stderr, "revopsd: unknown option '--%.*s' (see --help)\n", (int)nlen, a);
            return -1;
        }
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v || set_value(c, o, v) != 0) {
            fprintf(stderr, "revopsd: invalid value for --%s\n", o->flag);
            return -1;
        }
    }
    if (c->threads < 1)
        c->threads = 1;
    if (c->workers < 1)
        c->workers = c->threads;
    return 0;
}

void config_print_help(const char *prog)
{
    printf("Usage:\n"
           "  %s serve   [options]   serve the HTTP API\n"
           "  %s migrate [options]   apply pending migrations and exit\n"
           "  %s keys create --workspace NAME --role read|write|admin [options]\n"
           "                          create a workspace (if new) and an API key; the key is the last line\n"
           "  %s demo load [--dir DIR] [--workspace NAME] [--force] [options]\n"
           "                          import the CRM sample (default data/crm-sample) into workspace 'demo'\n"
           "                          unless it already has deals\n"
           "  %s --help\n\nOptions (each also read from the environment variable shown):\n",
           prog, prog, prog, prog, prog);
    for (size_t i = 0; i < NOPTIONS; i++)
        printf("  --%-22s %-28s %s (default: %s)\n", options[i].flag, options[i].env, options[i].help,
               *options[i].def ? options[i].def : "none");
}

void config_free(config *c)
{
    for (size_t i = 0; i < NOPTIONS; i++)
        if (options[i].kind == OPT_STR) {
            char **p = (char **)((char *)c + options[i].offset);
            free(*p);
            *p = NULL;
        }
}

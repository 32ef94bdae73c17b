/* main.c - revopsd command line: serve, migrate, keys create. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "demo.h"
#include "http.h"
#include "log.h"
#include "migrate.h"
#include "prom.h"
#include "refresh.h"
#include "routes.h"
#include "jobs.h"
#include "fccache.h"
#include "respcache.h"
#include "alerteval.h"
#include "alertsend.h"
#include "whapply.h"

static db_conn *connect_cli(const config *cfg)
{
    if (!cfg->database_url || !*cfg->database_url) {
        fprintf(stderr, "revopsd: set DATABASE_URL or --database-url\n");
        return NULL;
    }
    app_err err = {0};
    db_conn *c = db_connect_single(cfg->database_url, cfg->stmt_timeout_ms, &err);
    if (!c)
        fprintf(stderr, "revopsd: %s\n", err.detail);
    return c;
}

static int run_migrations(const config *cfg)
{
    db_conn *c = connect_cli(cfg);
    if (!c)
        return -1;
    app_err err = {0};
    int rc = migrate_run(c, &err);
    if (rc != 0)
        fprintf(stderr, "revopsd: migrate: %s\n", err.detail);
    db_close_single(c);
    return rc;
}

static int cmd_migrate(config *cfg, int argc, char **argv)
{
    if (config_parse_flags(cfg, argc, argv, 2) != 0)
        return 2;
    return run_migrations(cfg) == 0 ? 0 : 1;
}

static int cmd_keys_create(config *cfg, int argc, char **argv)
{
    const char *workspace = NULL, *role_s = NULL, *name = "";
    /* pull our own flags out, pass the rest to the common parser */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;
    if (!rest)
        return 1;
    rest[nrest++] = argv[0];
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--workspace") == 0 && i + 1 < argc)
            workspace = argv[++i];
        else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
            role_s = argv[++i];
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            name = argv[++i];
        else
            rest[nrest++] = argv[i];
    }
    int rc = 2;
    auth_role role = auth_role_parse(role_s);
    if (!workspace || !*workspace || strlen(workspace) > 200 || role == ROLE_NONE) {
        fprintf(stderr, "usage: revopsd keys create --workspace NAME --role read|write|admin [--name LABEL]\n");
        goto out;
    }
    if (config_parse_flags(cfg, nrest, rest, 1) != 0)
        goto out;
    rc = 1;
    db_conn *c = connect_cli(cfg);
    if (!c)
        goto out;
    app_err err = {0};
    char wsid[40], key[AUTH_KEY_LEN + 1];
    char *row = NULL;
    const char *wp[] = {workspace};
    /* the workspace is created on first use of its name */
    int f = db_query_value(c,
                           "WITH ins AS (INSERT INTO workspaces (name) VALUES ($1) ON CONFLICT (name) DO NOTHING"
                           " RETURNING id) SELECT id FROM ins UNION ALL SELECT id FROM workspaces WHERE name = $1",
                           1, wp, wsid, sizeof wsid, &err);
    if (f <= 0) {
        fprintf(stderr, "revopsd: cannot create workspace: %s\n",
                f == 0          ? "not found"
                : err.detail[0] ? err.detail
                                : "database error (did you run migrate?)");
    } else if (auth_create_key(c, wsid, role, name, key, sizeof key, &row, &err) != 0) {
        fprintf(stderr, "revopsd: cannot create key: %s\n", err.detail);
    } else {
        printf("workspace %s (%s)\nrole %s\n%s\n", workspace, wsid, auth_role_name(role), key);
        rc = 0;
    }
    free(row);
    db_close_single(c);
out:
    free(rest);
    return rc;
}

static int cmd_demo_load(config *cfg, int argc, char **argv)
{
    const char *dir = "data/crm-sample", *workspace = "demo";
    int force = 0, nrest = 0, rc = 2;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest)
        return 1;
    rest[nrest++] = argv[0];
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--workspace") == 0 && i + 1 < argc)
            workspace = argv[++i];
        else if (strcmp(argv[i], "--force") == 0)
            force = 1;
        else
            rest[nrest++] = argv[i];
    }
    if (config_parse_flags(cfg, nrest, rest, 1) == 0 && strlen(workspace) <= 200) {
        db_conn *c = connect_cli(cfg);
        rc = c && demo_load(c, dir, workspace, force) == 0 ? 0 : 1;
        if (c)
            db_close_single(c);
    }
    free(rest);
    return rc;
}

static int cmd_serve(config *cfg, int argc, char **argv)
{
    if (config_parse_flags(cfg, argc, argv, 2) != 0)
        return 2;
    if (!cfg->database_url || !*cfg->database_url) {
        fprintf(stderr, "revopsd: set DATABASE_URL or --database-url\n");
        return 2;
    }
    if (run_migrations(cfg) != 0)
        return 1;
    /* Block the stop signals in every thread (MHD's inherit this mask) and
     * wait for them synchronously below: no work in signal handlers at all. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    /* the HTTP threads, the worker pool (each holds one connection while it
     * runs a job), + jobs, + escalations, + refresh */
    db_pool *pool =
        db_pool_create(cfg->database_url, cfg->threads + (cfg->offload ? cfg->workers : 0) + 3, cfg->stmt_timeout_ms);
    http_server *srv = NULL;
    if (!pool || prom_init(routes, routes_count) != 0)
        goto out;
    db_pool_set_deadline(pool, cfg->db_deadline_ms);
    auth_cache_set_ttl_ms(cfg->key_cache_ms);
    if (log_buffer_start(cfg->access_log_flush_ms) != 0)
        log_warn("serve", "no access-log flusher thread: every access line is written as its request ends");
    srv = http_server_start(cfg, pool, routes, routes_count);
    if (!srv)
        goto out;
    log_info("serve", "listening on %s (port %d, %d threads, %d workers)", cfg->listen, http_server_port(srv),
             cfg->threads, cfg->offload ? cfg->workers : 0);
    jobs *bg = jobs_start(pool, cfg->scheduler_interval);
    jobs *esc = jobs_start_escalations(pool, cfg->escalation_interval);
    if (whapply_start(cfg) != 0)
        log_warn("serve", "webhook appliers did not all start: stored events wait for another instance");
    if (alerteval_start(cfg) != 0)
        log_warn("serve", "no alert evaluation after writes: rules are evaluated by the scheduler's pass");
    if (alertsend_start(cfg) != 0)
        log_warn("serve", "alert senders did not all start: the outbox waits for another instance");
    if (refresh_start(pool) != 0)
        log_warn("serve", "no background refresh thread: stale cached answers are recomputed inline");
    int sig = 0;
    sigwait(&stop, &sig);
    log_info("serve", "signal %d: finishing in-flight requests (up to %d s)", sig, cfg->shutdown_grace);
    http_server_stop(srv, cfg->shutdown_grace);
    log_buffer_stop(); /* no request is logged any more */
    refresh_stop();
    whapply_stop();
    jobs_stop(esc);
    jobs_stop(bg);
    alerteval_stop();
    alertsend_stop(); /* after the scheduler: its last pass may have raised alerts */
    respcache_clear();
    fccache_clear();
    srv = NULL;
    log_info("serve", "stopped");
    rc = 0;
out:
    log_buffer_stop();
    db_pool_destroy(pool);
    prom_shutdown();
    return rc;
}

int main(int argc, char **argv)
{
    config cfg;
    config_defaults(&cfg);
    int rc = 2;
    const char *cmd = argc > 1 ? argv[1] : "--help";
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        config_print_help("revopsd");
        rc = argc > 1 ? 0 : 2;
    } else if (strcmp(cmd, "serve") == 0) {
        rc = cmd_serve(&cfg, argc, argv);
    } else if (strcmp(cmd, "migrate") == 0) {
        rc = cmd_migrate(&cfg, argc, argv);
    } else if (strcmp(cmd, "keys") == 0 && argc > 2 && strcmp(argv[2], "create") == 0) {
        rc = cmd_keys_create(&cfg, argc, argv);
    } else if (strcmp(cmd, "demo") == 0 && argc > 2 && strcmp(argv[2], "load") == 0) {
        rc = cmd_demo_load(&cfg, argc, argv);
    } else {
        fprintf(stderr, "revopsd: unknown command '%s' (see --help)\n", cmd);
    }
    config_free(&cfg);
    return rc;
}

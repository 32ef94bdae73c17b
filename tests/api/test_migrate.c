/* test_migrate.c - versioned migrations and sql/, the one home of every SQL
 * function and view (docs/migrations.md).
 *
 * - every function and view the migrations leave has a definition in sql/,
 *   and moving it there changed nothing: pg_get_functiondef after the
 *   migrations alone equals pg_get_functiondef after the migrations + sql/
 *   (the checker: CK_RUN_SUITE=migrate make api);
 * - a database migrated by the revopsd before sql/ (versioned migrations up to
 *   0030, no repeatable files) upgrades cleanly: 0030 and every sql/ file once,
 *   the same functions as a fresh database, its data intact; a second run
 *   applies nothing;
 * - a changed sql/ file is applied again, once; a broken one changes nothing.
 *
 * Each test works in databases of its own on the suite's cluster.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <strings.h>
#include <unistd.h>

#include "api.h"
#include "db.h"
#include "migrate.h"

/* Functions whose rule was changed in sql/ on purpose after it moved there:
 * for these the definition after the migrations alone (their last migration)
 * must differ from sql/'s. Every other function must be identical, which is
 * what proves a move changed nothing. Add a name here in the change that
 * edits its rule in sql/. */
static const char *const changed_since_move[] = {
    "webhook_endpoint_json", /* issue 17: portal_id, apply_mode */
    "webhook_event_json",    /* issue 17: state */
    "webhook_ingest",        /* issue 17: store, then apply (webhook_store + webhook_apply_events) */
    "rep_json",              /* issue 20: fully_loaded_cost */
    "account_json",          /* issue 20: last_price_increase */
    "webhook_apply_ops_raw", /* issue 19: HubSpot contact events' ops go to lead_webhook_ops */
    "workspace_json",        /* issue 19: holidays (migration 0061); working_hours in the server (issue 17) */
    "deal_value_json",       /* issue 17: STABLE as its body (to_jsonb) is, so it is inlined */
    "rfc3339",               /* issue 17: STABLE as to_char is, so it is inlined */
    "deal_apply_set",        /* issue 17: the rounds split in one pass, round and delete as columns */
    "deal_apply_round",      /* issue 17: old/new values per patch key (deal_col_json), generic plan */
    "webhook_apply_events",  /* issue 17: probes per event, deal and held event; event ids by position */
    "webhook_apply_batch",   /* issue 17: the claim in webhook_claim (index order without statistics) */
    "deal_delete",           /* issue 17: event time (stale), by_user, text result (0078 drops the old one) */
    "deal_json",             /* issue 17: one expression, inlined; its subqueries in PL/pgSQL helpers, whose
                                plans are kept (a SQL function with subqueries is re-planned per statement) */
    "deal_detail_json",      /* issue 17: PL/pgSQL, so its plans are kept */
    "account_detail_json",   /* issue 17: the same */
    "quotas_json",           /* issue 17: the same (its FROM kept it from being inlined) */
    NULL,
};

/* Functions a sql/ file drops on purpose (DROP FUNCTION IF EXISTS there),
 * with the issue that retired them: each must be gone after sql/, and no
 * other function may be. */
static const char *const retired[] = {
    "function deals_as_of(uuid,timestamp with time zone)", /* issue 16: core/fcasof rebuilds the pipeline */
    "function snapshot_take(uuid,text,timestamp with time zone,text,date,text,date,date)", /* issue 16: p_open */
    NULL,
};

static bool is_retired(const char *key)
{
    for (size_t i = 0; retired[i]; i++)
        if (strcmp(retired[i], key) == 0)
            return true;
    return false;
}

/* The first versioned migration of the sql/ era: later ones keep to tables,
 * indexes and data, and never (re)define a function or view. */
#define FIRST_SQL_HOME_VERSION 30

/* ---- helpers ---------------------------------------------------------------- */

/* The suite cluster's URL with another database name. */
static void db_url(const char *name, char *out, size_t len)
{
    const char *base = api_db_url();
    const char *at = strstr(base, "@/");
    const char *q = at ? strchr(at, '?') : NULL;
    ck_assert_msg(at && q, "unexpected database URL %s", base);
    snprintf(out, len, "%.*s@/%s%s", (int)(at - base), base, name, q);
}

static void exec_ok(PGconn *pg, const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK, "%.200s: %s", sql,
                  PQerrorMessage(pg));
    PQclear(r);
}

static PGconn *connect_url(const char *url)
{
    PGconn *pg = PQconnectdb(url);
    ck_assert_msg(PQstatus(pg) == CONNECTION_OK, "connect %s: %s", url, PQerrorMessage(pg));
    exec_ok(pg, "SET client_min_messages = warning");
    return pg;
}

/* An empty database of this name (dropped first when a failed run left it). */
static void new_db(const char *name, char *url, size_t len)
{
    PGconn *pg = connect_url(api_db_url());
    char sql[200];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    exec_ok(pg, sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    exec_ok(pg, sql);
    PQfinish(pg);
    db_url(name, url, len);
}

static void drop_db(const char *name)
{
    PGconn *pg = connect_url(api_db_url());
    char sql[200];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    exec_ok(pg, sql);
    PQfinish(pg);
}

/* revopsd migrate on url; its output (JSON log lines) in out. */
static int run_migrate(const char *url, char *out, size_t len)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' migrate --database-url '%s' 2>&1", api_revopsd(), url);
    return api_run(cmd, out, len);
}

/* How many "applied ..." lines a migrate run printed, and whether one names what. */
static int count_applied(const char *out, const char *what)
{
    int n = 0;
    char pat[200];
    snprintf(pat, sizeof pat, "\"applied %s", what ? what : "");
    for (const char *p = strstr(out, pat); p; p = strstr(p + 1, pat))
        n++;
    return n;
}

/* Every function (pg_proc) and view (pg_views) of schema public that no
 * extension owns: "function name(args)" / "view name" -> its definition. */
static const char *const DEFS_SQL =
    "SELECT 'function ' || p.oid::regprocedure::text,"
    "       CASE WHEN p.prokind = 'a' THEN 'aggregate' ELSE pg_get_functiondef(p.oid) END"
    " FROM pg_proc p"
    " WHERE p.pronamespace = 'public'::regnamespace"
    "   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid"
    "                   AND d.deptype = 'e')"
    " UNION ALL "
    "SELECT 'view ' || c.oid::regclass::text, pg_get_viewdef(c.oid)"
    " FROM pg_class c"
    " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v'"
    "   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid"
    "                   AND d.deptype = 'e')"
    " ORDER BY 1";

static json_t *defs(PGconn *pg)
{
    PGresult *r = PQexec(pg, DEFS_SQL);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQerrorMessage(pg));
    json_t *o = json_object();
    for (int i = 0; i < PQntuples(r); i++)
        json_object_set_new(o, PQgetvalue(r, i, 0), json_string(PQgetvalue(r, i, 1)));
    PQclear(r);
    return o;
}

/* The functions and views written in the current transaction: their catalog
 * row (pg_proc; a view's rule in pg_rewrite) carries its transaction id. */
static json_t *written_in_this_transaction(PGconn *pg)
{
    PGresult *r = PQexec(pg, "SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p"
                             " WHERE p.pronamespace = 'public'::regnamespace"
                             "   AND p.xmin::text = (txid_current() % 4294967296)::text"
                             " UNION ALL "
                             "SELECT 'view ' || c.oid::regclass::text FROM pg_class c"
                             " JOIN pg_rewrite w ON w.ev_class = c.oid"
                             " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'v'"
                             "   AND w.xmin::text = (txid_current() % 4294967296)::text");
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQerrorMessage(pg));
    json_t *o = json_object();
    for (int i = 0; i < PQntuples(r); i++)
        json_object_set_new(o, PQgetvalue(r, i, 0), json_true());
    PQclear(r);
    return o;
}

/* The one value of a one-row query, in one of a few static buffers (so
 * several can be compared in one assertion, and none needs freeing). */
static const char *one_value(PGconn *pg, const char *sql)
{
    static char ring[8][16384];
    static int next;
    PGresult *r = PQexec(pg, sql);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%.200s: %s", sql, PQerrorMessage(pg));
    char *v = ring[next++ % 8];
    snprintf(v, sizeof ring[0], "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

/* A value kept past later one_value calls; free() it. */
static char *kept_value(PGconn *pg, const char *sql) { return strdup(one_value(pg, sql)); }

static bool changed_on_purpose(const char *key)
{
    const char *name = strchr(key, ' ');
    name = name ? name + 1 : key;
    size_t n = strcspn(name, "(");
    for (size_t i = 0; changed_since_move[i]; i++)
        if (strlen(changed_since_move[i]) == n && strncmp(changed_since_move[i], name, n) == 0)
            return true;
    return false;
}

/* The first line where two definitions differ, for the failure message. */
static void first_difference(const char *a, const char *b, char *out, size_t len)
{
    int line = 1;
    const char *la = a, *lb = b;
    while (*a && *a == *b) {
        if (*a == '\n') {
            line++;
            la = a + 1;
            lb = b + 1;
        }
        a++;
        b++;
    }
    snprintf(out, len, "line %d: migrations: \"%.*s\" / sql/: \"%.*s\"", line, (int)strcspn(la, "\n"), la,
             (int)strcspn(lb, "\n"), lb);
}

/* The runner called in-process logs each file it applies on stderr: not
 * into the suite's output. */
static int quiet(void)
{
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2(null, 2);
        close(null);
    }
    return saved;
}

static void unquiet(int saved)
{
    fflush(stderr);
    if (saved >= 0) {
        dup2(saved, 2);
        close(saved);
    }
}

/* A database as the revopsd before sql/ left it: the versioned migrations
 * before FIRST_SQL_HOME_VERSION applied by the same runner, no repeatable file. */
static size_t migrate_like_before_sql(const char *url)
{
    size_t n = 0;
    while (n < migration_count && atoi(migration_files[n].name) < FIRST_SQL_HOME_VERSION)
        n++;
    ck_assert_msg(n > 0 && n < migration_count, "no versioned migration from %04d on", FIRST_SQL_HOME_VERSION);
    app_err err = {0};
    db_conn *c = db_connect_single(url, 0, &err);
    ck_assert_msg(c != NULL, "%s", err.detail);
    int saved = quiet();
    int rc = migrate_run_files(c, migration_files, n, NULL, 0, &err);
    unquiet(saved);
    ck_assert_msg(rc == 0, "%s", err.detail);
    db_close_single(c);
    return n;
}

/* ---- tests ------------------------------------------------------------------ */

START_TEST(every_function_has_one_home_in_sql)
{
    /* later versioned migrations keep to tables, indexes and data */
    const char *banned[] = {"CREATE OR REPLACE FUNCTION", "CREATE OR REPLACE VIEW", "CREATE OR REPLACE PROCEDURE",
                            "ALTER FUNCTION", "ALTER PROCEDURE"};
    for (size_t i = 0; i < migration_count; i++) {
        if (atoi(migration_files[i].name) <= FIRST_SQL_HOME_VERSION)
            continue;
        for (size_t b = 0; b < sizeof banned / sizeof banned[0]; b++)
            ck_assert_msg(strcasestr(migration_files[i].sql, banned[b]) == NULL,
                          "migrations/%s: %s: functions and views change in sql/, not in a migration",
                          migration_files[i].name, banned[b]);
    }

    char url[600];
    new_db("sqlhome_migrations_only", url, sizeof url);
    PGconn *pg = connect_url(url);
    /* the versioned migrations alone, each as a transaction, no runner */
    for (size_t i = 0; i < migration_count; i++) {
        exec_ok(pg, "BEGIN");
        PGresult *r = PQexec(pg, migration_files[i].sql);
        ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
                      "migrations/%s: %s", migration_files[i].name, PQerrorMessage(pg));
        PQclear(r);
        exec_ok(pg, "COMMIT");
    }
    json_t *before = defs(pg);
    ck_assert_int_ge(json_object_size(before), 40);

    /* then sql/, in a transaction that tells what each file wrote */
    exec_ok(pg, "BEGIN");
    for (size_t i = 0; i < repeatable_count; i++) {
        PGresult *r = PQexec(pg, repeatable_files[i].sql);
        ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK, "sql/%s: %s",
                      repeatable_files[i].name, PQerrorMessage(pg));
        PQclear(r);
    }
    json_t *homed = written_in_this_transaction(pg);
    json_t *after = defs(pg);
    exec_ok(pg, "ROLLBACK");
    PQfinish(pg);

    /* no function or view left behind */
    char missing[4096] = "";
    int nmissing = 0;
    const char *key;
    json_t *v;
    json_object_foreach(before, key, v)
    {
        if (is_retired(key)) {
            ck_assert_msg(!json_object_get(after, key), "%s is listed in retired but still defined after sql/", key);
            continue;
        }
        if (!json_object_get(homed, key)) {
            nmissing++;
            size_t l = strlen(missing);
            snprintf(missing + l, sizeof missing - l, "%s%s", l ? ", " : "", key);
        }
    }
    ck_assert_msg(nmissing == 0,
                  "%d defined by the migrations but not in sql/ (move each one's last definition there: "
                  "scripts/sql-last-definitions.py NAME): %s",
                  nmissing, missing);
    /* and the move changed nothing */
    json_object_foreach(before, key, v)
    {
        const char *was = json_string_value(v);
        if (is_retired(key))
            continue;
        const char *now = json_string_value(json_object_get(after, key));
        ck_assert_msg(now != NULL, "%s: gone after sql/", key);
        if (changed_on_purpose(key)) {
            ck_assert_msg(strcmp(was, now) != 0,
                          "%s is listed in changed_since_move but sql/ defines it as its last migration did", key);
            continue;
        }
        char diff[1200];
        if (strcmp(was, now) != 0)
            first_difference(was, now, diff, sizeof diff);
        ck_assert_msg(strcmp(was, now) == 0,
                      "%s: sql/ does not define it as its last migration did (%s); a rule changed on "
                      "purpose goes into changed_since_move in tests/api/test_migrate.c",
                      key, diff);
    }
    size_t listed = 0, changed = 0;
    while (changed_since_move[listed])
        listed++;
    json_object_foreach(after, key, v)
    {
        if (changed_on_purpose(key))
            changed++;
    }
    ck_assert_msg(changed >= listed, "changed_since_move names a function sql/ does not define");

    /* revopsd migrate on a fresh database gives exactly that */
    char fresh[600], out[16384];
    new_db("sqlhome_fresh", fresh, sizeof fresh);
    ck_assert_msg(run_migrate(fresh, out, sizeof out) == 0, "migrate: %s", out);
    ck_assert_int_eq(count_applied(out, "sql/"), (int)repeatable_count);
    pg = connect_url(fresh);
    json_t *migrated = defs(pg);
    PQfinish(pg);
    json_object_foreach(after, key, v)
    {
        const char *got = json_string_value(json_object_get(migrated, key));
        ck_assert_msg(got && strcmp(got, json_string_value(v)) == 0, "%s: revopsd migrate gave another definition",
                      key);
    }
    ck_assert_int_eq(json_object_size(migrated), json_object_size(after));
    fprintf(stderr,
            "migrate: %zu functions and views, every one at home in sql/ (%zu files), %zu as their last "
            "migration defined them\n",
            json_object_size(after), repeatable_count, json_object_size(before));
    json_decref(before);
    json_decref(homed);
    json_decref(after);
    json_decref(migrated);
    drop_db("sqlhome_migrations_only");
    drop_db("sqlhome_fresh");
}
END_TEST

START_TEST(database_before_sql_upgrades_cleanly)
{
    char url[600], out[16384];
    new_db("sqlhome_upgrade", url, sizeof url);
    size_t nbefore = migrate_like_before_sql(url);
    PGconn *pg = connect_url(url);
    ck_assert_str_eq(one_value(pg, "SELECT to_regclass('schema_repeatables') IS NULL"), "t");
    /* some data, written by the functions as they were */
    char *ws = kept_value(pg, "INSERT INTO workspaces (name) VALUES ('upgrade') RETURNING id");
    char sql[1024];
    snprintf(
        sql, sizeof sql,
        "SELECT deal_apply('%s', 'd1', '{\"name\": \"Acme\", \"stage\": \"discovery\", \"amount_cents\": 1250000}',"
        " '2026-01-05T10:00:00Z', 'test')",
        ws);
    ck_assert_str_eq(one_value(pg, sql), "created");
    snprintf(sql, sizeof sql, "SELECT deal_detail_json(d)::text FROM deals d WHERE workspace_id = '%s'", ws);
    char *deal_before = kept_value(pg, sql);
    PQfinish(pg);

    /* the upgrade: 0030 (and any later migration), then every sql/ file, once */
    ck_assert_msg(run_migrate(url, out, sizeof out) == 0, "migrate: %s", out);
    ck_assert_int_eq(count_applied(out, "0030_repeatable_sql.sql"), 1);
    ck_assert_int_eq(count_applied(out, "sql/"), (int)repeatable_count);
    for (size_t i = 0; i < repeatable_count; i++) {
        char what[160];
        snprintf(what, sizeof what, "sql/%s\"", repeatable_files[i].name);
        ck_assert_msg(count_applied(out, what) == 1, "%s not applied once: %s", what, out);
    }
    ck_assert_int_eq(count_applied(out, NULL), (int)(migration_count - nbefore + repeatable_count));

    /* the same functions as a fresh database, the data intact and writable */
    char fresh[600];
    new_db("sqlhome_upgrade_fresh", fresh, sizeof fresh);
    ck_assert_msg(run_migrate(fresh, out, sizeof out) == 0, "migrate: %s", out);
    pg = connect_url(fresh);
    json_t *want = defs(pg);
    PQfinish(pg);
    pg = connect_url(url);
    json_t *got = defs(pg);
    ck_assert_msg(json_equal(want, got), "an upgraded database's functions differ from a fresh one's");
    ck_assert_str_eq(one_value(pg, sql), deal_before);
    char upd[1024];
    snprintf(upd, sizeof upd,
             "SELECT deal_apply('%s', 'd1', '{\"stage\": \"proposal\"}', '2026-01-12T10:00:00Z', 'test')", ws);
    ck_assert_str_eq(one_value(pg, upd), "updated");

    /* a second run applies nothing: no file run, no catalog row rewritten */
    const char *state_sql = "SELECT (SELECT string_agg(name || ':' || checksum || ':' || applied_at, ',' ORDER BY name)"
                            "        FROM schema_repeatables)"
                            " || '|' || (SELECT count(*) FROM schema_migrations)"
                            " || '|' || (SELECT string_agg(oid || ':' || xmin, ',' ORDER BY oid) FROM pg_proc"
                            "            WHERE pronamespace = 'public'::regnamespace)";
    char *state = kept_value(pg, state_sql);
    ck_assert_msg(run_migrate(url, out, sizeof out) == 0, "migrate: %s", out);
    ck_assert_msg(count_applied(out, NULL) == 0, "second run applied something: %s", out);
    ck_assert_str_eq(one_value(pg, state_sql), state);
    char nfiles[24];
    snprintf(nfiles, sizeof nfiles, "%zu", repeatable_count);
    ck_assert_str_eq(one_value(pg, "SELECT count(*) FROM schema_repeatables"), nfiles);
    PQfinish(pg);
    json_decref(want);
    json_decref(got);
    free(ws);
    free(deal_before);
    free(state);
    drop_db("sqlhome_upgrade");
    drop_db("sqlhome_upgrade_fresh");
}
END_TEST

static migration_file *repeatables_with(const char *name, const char *extra)
{
    migration_file *files = calloc(repeatable_count, sizeof *files);
    ck_assert(files != NULL);
    bool found = false;
    for (size_t i = 0; i < repeatable_count; i++) {
        files[i] = repeatable_files[i];
        if (strcmp(files[i].name, name) == 0) {
            size_t n = strlen(files[i].sql) + strlen(extra) + 1;
            char *sql = malloc(n);
            snprintf(sql, n, "%s%s", files[i].sql, extra);
            files[i].sql = sql;
            found = true;
        }
    }
    ck_assert_msg(found, "no sql/%s", name);
    return files;
}

static void repeatables_free(migration_file *files)
{
    for (size_t i = 0; i < repeatable_count; i++)
        if (files[i].sql != repeatable_files[i].sql)
            free((char *)files[i].sql);
    free(files);
}

static int migrate_with(const char *url, const migration_file *rep, app_err *err)
{
    db_conn *c = db_connect_single(url, 0, err);
    ck_assert_msg(c != NULL, "%s", err->detail);
    int saved = quiet();
    int rc = migrate_run_files(c, migration_files, migration_count, rep, repeatable_count, err);
    unquiet(saved);
    db_close_single(c);
    return rc;
}

START_TEST(changed_sql_file_is_applied_again_once)
{
    const char *file = "30_deals.sql";
    char url[600], out[16384];
    new_db("sqlhome_changed", url, sizeof url);
    ck_assert_msg(run_migrate(url, out, sizeof out) == 0, "migrate: %s", out);
    PGconn *pg = connect_url(url);
    const char *rows_sql = "SELECT string_agg(name || ':' || checksum || ':' || applied_at, ',' ORDER BY name)"
                           " FROM schema_repeatables WHERE name <> '30_deals.sql'";
    char *others = kept_value(pg, rows_sql);
    char *sum0 = kept_value(pg, "SELECT checksum FROM schema_repeatables WHERE name = '30_deals.sql'");

    /* the file changed: a new function in it, say */
    migration_file *v1 = repeatables_with(file, "\nCREATE OR REPLACE FUNCTION sqlhome_probe() RETURNS int\n"
                                                "    LANGUAGE sql IMMUTABLE AS $$ SELECT 1 $$;\n");
    app_err err = {0};
    ck_assert_msg(migrate_with(url, v1, &err) == 0, "%s", err.detail);
    ck_assert_str_eq(one_value(pg, "SELECT sqlhome_probe()"), "1");
    char *sum1 = kept_value(pg, "SELECT checksum FROM schema_repeatables WHERE name = '30_deals.sql'");
    ck_assert_str_ne(sum1, sum0);
    ck_assert_str_eq(one_value(pg, rows_sql), others); /* the other files were not run */
    char *applied1 = kept_value(pg, "SELECT applied_at FROM schema_repeatables WHERE name = '30_deals.sql'");
    ck_assert_msg(migrate_with(url, v1, &err) == 0, "%s", err.detail); /* unchanged: not again */
    ck_assert_str_eq(one_value(pg, "SELECT applied_at FROM schema_repeatables WHERE name = '30_deals.sql'"), applied1);

    /* changed again: the new rule is the one in force */
    migration_file *v2 = repeatables_with(file, "\nCREATE OR REPLACE FUNCTION sqlhome_probe() RETURNS int\n"
                                                "    LANGUAGE sql IMMUTABLE AS $$ SELECT 2 $$;\n");
    ck_assert_msg(migrate_with(url, v2, &err) == 0, "%s", err.detail);
    ck_assert_str_eq(one_value(pg, "SELECT sqlhome_probe()"), "2");

    /* a broken file stops the run and changes nothing, its checksum included */
    migration_file *bad = repeatables_with(file, "\nCREATE OR REPLACE FUNCTION sqlhome_probe() RETURNS int\n"
                                                 "    LANGUAGE sql IMMUTABLE AS $$ SELECT 3 $$;\nSELEC 1;\n");
    char *sum2 = kept_value(pg, "SELECT checksum FROM schema_repeatables WHERE name = '30_deals.sql'");
    ck_assert_int_eq(migrate_with(url, bad, &err), -1);
    ck_assert_msg(strstr(err.detail, "sql/30_deals.sql failed") != NULL, "error: %s", err.detail);
    ck_assert_str_eq(one_value(pg, "SELECT sqlhome_probe()"), "2");
    ck_assert_str_eq(one_value(pg, "SELECT checksum FROM schema_repeatables WHERE name = '30_deals.sql'"), sum2);

    /* the binary's own text differs from the recorded one: applied again, once */
    ck_assert_msg(run_migrate(url, out, sizeof out) == 0, "migrate: %s", out);
    ck_assert_msg(count_applied(out, NULL) == 1 && count_applied(out, "sql/30_deals.sql\"") == 1, "got: %s", out);
    ck_assert_str_eq(one_value(pg, "SELECT checksum FROM schema_repeatables WHERE name = '30_deals.sql'"), sum0);
    ck_assert_str_eq(one_value(pg, rows_sql), others);
    ck_assert_msg(run_migrate(url, out, sizeof out) == 0, "migrate: %s", out);
    ck_assert_msg(count_applied(out, NULL) == 0, "third run applied something: %s", out);
    /* a recorded checksum edited by hand counts as a change too */
    exec_ok(pg, "UPDATE schema_repeatables SET checksum = 'edited' WHERE name = '10_common.sql'");
    ck_assert_msg(run_migrate(url, out, sizeof out) == 0, "migrate: %s", out);
    ck_assert_msg(count_applied(out, NULL) == 1 && count_applied(out, "sql/10_common.sql\"") == 1, "got: %s", out);
    PQfinish(pg);
    repeatables_free(v1);
    repeatables_free(v2);
    repeatables_free(bad);
    free(others);
    free(sum0);
    free(sum1);
    free(sum2);
    free(applied1);
    drop_db("sqlhome_changed");
}
END_TEST

/* A freshly migrated database with autovacuum off for the tables named (so
 * that they stay never analysed) and workspace ...f00d 'fresh'; drop_db(name)
 * when done. */
static PGconn *fresh_db(const char *name, const char *const *no_autovacuum)
{
    char url[600], out[16384], sql[200];
    new_db(name, url, sizeof url);
    ck_assert_int_eq(run_migrate(url, out, sizeof out), 0);
    PGconn *pg = connect_url(url);
    for (size_t i = 0; no_autovacuum[i]; i++) {
        snprintf(sql, sizeof sql, "ALTER TABLE %s SET (autovacuum_enabled = off)", no_autovacuum[i]);
        exec_ok(pg, sql);
    }
    exec_ok(pg, "INSERT INTO workspaces (id, name) VALUES ('00000000-0000-0000-0000-00000000f00d', 'fresh')");
    return pg;
}

/* A new install's first writes have no statistics: the lookups every write
 * and every foreign-key check makes (a deal or lead by its id, as the RI
 * trigger asks for it) must then still take the primary key, not a
 * secondary index led by workspace_id with the id as a filter (migrations
 * 0013 and 0048: minutes for a first import). Planned on a freshly migrated
 * database, never analyzed, after rows were written without ANALYZE. */
START_TEST(id_lookups_use_the_primary_key_before_statistics)
{
    PGconn *pg = fresh_db("fresh_plans", (const char *[]){"deals", "leads", NULL});
    exec_ok(pg, "INSERT INTO deals (workspace_id, external_id, name, stage, owner)"
                " SELECT '00000000-0000-0000-0000-00000000f00d', 'D' || g, 'deal ' || g, 'opportunity', 'rep' || g"
                " FROM generate_series(1, 500) g");
    exec_ok(pg, "INSERT INTO leads (workspace_id, external_id, email, owner, account, lifecycle_stage)"
                " SELECT '00000000-0000-0000-0000-00000000f00d', 'L' || g, 'l' || g || '@x.example', 'rep' || g,"
                " 'a' || g, 'mql' FROM generate_series(1, 500) g");
    ck_assert_str_eq(one_value(pg, "SELECT count(*) FROM pg_stats WHERE tablename IN ('deals', 'leads')"), "0");
    /* the RI trigger's query, with a generic plan (as a backend keeps it) */
    exec_ok(pg, "SET plan_cache_mode = force_generic_plan");
    const char *tables[][2] = {{"deals", "deals_pkey"}, {"leads", "leads_pkey"}};
    for (size_t i = 0; i < 2; i++) {
        char sql[400];
        snprintf(sql, sizeof sql,
                 "PREPARE ri_%s(uuid, text) AS SELECT 1 FROM ONLY %s x WHERE workspace_id = $1"
                 " AND external_id = $2 FOR KEY SHARE OF x",
                 tables[i][0], tables[i][0]);
        exec_ok(pg, sql);
        snprintf(sql, sizeof sql, "EXPLAIN EXECUTE ri_%s('00000000-0000-0000-0000-00000000f00d', '%c7')", tables[i][0],
                 tables[i][0][0] == 'd' ? 'D' : 'L');
        PGresult *r = PQexec(pg, sql);
        ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQerrorMessage(pg));
        char plan[2000] = "";
        for (int k = 0; k < PQntuples(r); k++)
            snprintf(plan + strlen(plan), sizeof plan - strlen(plan), "%s\n", PQgetvalue(r, k, 0));
        PQclear(r);
        ck_assert_msg(strstr(plan, tables[i][1]) != NULL, "%s by id before statistics:\n%s", tables[i][0], plan);
    }
    PQfinish(pg);
    drop_db("fresh_plans");
}
END_TEST

/* The rows this transaction has read from webhook_events so far. */
static long rows_read(PGconn *pg)
{
    return atol(one_value(pg, "SELECT COALESCE(seq_tup_read, 0) + COALESCE(idx_tup_fetch, 0)"
                              " FROM pg_stat_xact_user_tables WHERE relname = 'webhook_events'"));
}

/* Storing a delivery on a never-analysed webhook_events (a new install's
 * first thousands of events, or the minutes before autoanalyze): the
 * duplicate check probes webhook_events_dedupe per event. Its generic plan
 * once hashed every event the endpoint had stored, per delivery: 43 ms a
 * delivery at 56,000 stored events instead of 0.2. Counted, not timed: the
 * rows the store's statements read from webhook_events in the transaction
 * (pg_stat_xact_user_tables), and the answers, each at its event's position. */
START_TEST(webhook_store_probes_before_statistics)
{
    PGconn *pg = fresh_db("fresh_store", (const char *[]){"webhook_events", NULL});
    exec_ok(pg, "INSERT INTO webhook_endpoints (id, workspace_id, source) VALUES"
                " ('00000000-0000-0000-0000-0000000e0e0e', '00000000-0000-0000-0000-00000000f00d', 'standard')");
    exec_ok(pg, "INSERT INTO webhook_deliveries (id, workspace_id, endpoint_id, headers, body) VALUES"
                " ('00000000-0000-0000-0000-0000000dd0dd', '00000000-0000-0000-0000-00000000f00d',"
                " '00000000-0000-0000-0000-0000000e0e0e', '{}', '')");
    exec_ok(pg, "INSERT INTO webhook_events (workspace_id, endpoint_id, delivery_id, dedupe_key, event_type, object_id,"
                " payload, ops, status, detail) SELECT '00000000-0000-0000-0000-00000000f00d',"
                " '00000000-0000-0000-0000-0000000e0e0e', '00000000-0000-0000-0000-0000000dd0dd', 'old' || g, 'x',"
                " 'd' || g, '{}', '[]', 'applied', '' FROM generate_series(1, 3000) g");
    ck_assert_str_eq(one_value(pg, "SELECT count(*) FROM pg_stats WHERE tablename = 'webhook_events'"), "0");
    exec_ok(pg, "BEGIN");
    /* the answers as "n:status:dedupe key" (the rows the store wrote are seen by the next statement) */
    const char *store =
        "CREATE TEMP TABLE a ON COMMIT DROP AS SELECT * FROM webhook_store("
        "'00000000-0000-0000-0000-00000000f00d', '00000000-0000-0000-0000-0000000e0e0e', '{}', '', '%s')";
    const char *answers = "SELECT string_agg(a.n || ':' || a.status || ':' || w.dedupe_key, ' ' ORDER BY a.n)"
                          " FROM a JOIN webhook_events w ON w.id = a.event_id";
    char sql[1200];
    /* every event new */
    snprintf(
        sql, sizeof sql, store,
        "[{\"dedupe_key\": \"n3\", \"payload\": {}, \"ops\": [{\"op\": \"apply\", \"id\": \"d1\", \"patch\": {}}]},"
        " {\"dedupe_key\": \"n1\", \"payload\": {}},"
        " {\"dedupe_key\": \"n2\", \"payload\": {}, \"error\": \"no\"}]");
    long before = rows_read(pg);
    exec_ok(pg, sql);
    long read = rows_read(pg) - before;
    ck_assert_str_eq(one_value(pg, answers), "1:pending:n3 2:applied:n1 3:rejected:n2");
    exec_ok(pg, "DROP TABLE a");
    /* one seen before, one new, one repeated in the delivery: the duplicate check */
    snprintf(sql, sizeof sql, store,
             "[{\"dedupe_key\": \"old7\", \"payload\": {}}, {\"dedupe_key\": \"n4\", \"payload\": {}},"
             " {\"dedupe_key\": \"n4\", \"payload\": {}}]");
    before = rows_read(pg);
    exec_ok(pg, sql);
    read += rows_read(pg) - before;
    ck_assert_str_eq(one_value(pg, answers), "1:duplicate:old7 2:applied:n4 3:duplicate:n4");
    ck_assert_msg(read < 100, "the stores read %ld rows of webhook_events (3,000 stored)", read);
    exec_ok(pg, "ROLLBACK");
    PQfinish(pg);
    drop_db("fresh_store");
}
END_TEST

Suite *migrate_suite(void)
{
    Suite *s = suite_create("migrate");
    TCase *tc = tcase_create("sql-home");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_function_has_one_home_in_sql);
    tcase_add_test(tc, database_before_sql_upgrades_cleanly);
    tcase_add_test(tc, changed_sql_file_is_applied_again_once);
    tcase_add_test(tc, id_lookups_use_the_primary_key_before_statistics);
    tcase_add_test(tc, webhook_store_probes_before_statistics);
    suite_add_tcase(s, tc);
    return s;
}

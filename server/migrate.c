/* migrate.c - the migration runner. */
#include "migrate.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"

/* Arbitrary constant naming the lock every revopsd takes while migrating. */
#define MIGRATE_LOCK_ID "7308201453829107001"

static int exec_simple(PGconn *pg, const char *sql, app_err *err, const char *what)
{
    PGresult *r = PQexec(pg, sql);
    int st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        app_err_set(err, ERR_INTERNAL, "%s: %s", what, PQerrorMessage(pg));
        PQclear(r);
        return -1;
    }
    PQclear(r);
    return 0;
}

static int apply_one(PGconn *pg, const migration_file *m, int version, const char *sum, app_err *err)
{
    char what[160];
    snprintf(what, sizeof what, "migration %s failed", m->name);
    if (exec_simple(pg, "BEGIN", err, what) != 0)
        return -1;
    if (exec_simple(pg, m->sql, err, what) != 0)
        goto fail;
    char vbuf[16];
    snprintf(vbuf, sizeof vbuf, "%d", version);
    const char *params[] = {vbuf, m->name, sum};
    PGresult *r = PQexecParams(pg, "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)", 3,
                               NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        app_err_set(err, ERR_INTERNAL, "%s: %s", what, PQerrorMessage(pg));
        PQclear(r);
        goto fail;
    }
    PQclear(r);
    if (exec_simple(pg, "COMMIT", err, what) != 0)
        goto fail;
    log_info("migrate", "applied %s", m->name);
    return 0;
fail:
    PQclear(PQexec(pg, "ROLLBACK"));
    return -1;
}

/* One sql/ file whose text is not the one recorded: run it and record its
 * checksum, in one transaction. */
static int apply_repeatable(PGconn *pg, const migration_file *m, const char *sum, app_err *err)
{
    char what[160];
    snprintf(what, sizeof what, "sql/%s failed", m->name);
    if (exec_simple(pg, "BEGIN", err, what) != 0)
        return -1;
    if (exec_simple(pg, m->sql, err, what) != 0)
        goto fail;
    const char *params[] = {m->name, sum};
    PGresult *r = PQexecParams(pg,
                               "INSERT INTO schema_repeatables (name, checksum) VALUES ($1, $2)"
                               " ON CONFLICT (name) DO UPDATE SET checksum = excluded.checksum, applied_at = now()",
                               2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        app_err_set(err, ERR_INTERNAL, "%s: %s", what, PQerrorMessage(pg));
        PQclear(r);
        goto fail;
    }
    PQclear(r);
    if (exec_simple(pg, "COMMIT", err, what) != 0)
        goto fail;
    log_info("migrate", "applied sql/%s", m->name);
    return 0;
fail:
    PQclear(PQexec(pg, "ROLLBACK"));
    return -1;
}

static int run_versioned(PGconn *pg, const migration_file *files, size_t count, app_err *err)
{
    int rc = -1;
    PGresult *applied = NULL;
    if (exec_simple(pg,
                    "SET client_min_messages = warning;"
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version int PRIMARY KEY, name text NOT NULL,"
                    " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                    err, "schema_migrations") != 0)
        goto done;
    applied = PQexec(pg, "SELECT version, name, checksum FROM schema_migrations ORDER BY version");
    if (PQresultStatus(applied) != PGRES_TUPLES_OK) {
        app_err_set(err, ERR_INTERNAL, "reading schema_migrations: %s", PQerrorMessage(pg));
        goto done;
    }
    for (size_t i = 0; i < count; i++) {
        const migration_file *m = &files[i];
        int version = atoi(m->name);
        char sum[65];
        auth_sha256_hex(m->sql, strlen(m->sql), sum);
        const char *have = NULL;
        for (int row = 0; row < PQntuples(applied); row++)
            if (atoi(PQgetvalue(applied, row, 0)) == version)
                have = PQgetvalue(applied, row, 2);
        if (have) {
            if (strcmp(have, sum) != 0) {
                app_err_set(err, ERR_CONFLICT,
                            "migration %s was changed after it was applied (checksum %.12s..., database has "
                            "%.12s...); add a new migration instead of editing a landed one",
                            m->name, sum, have);
                goto done;
            }
            continue;
        }
        if (apply_one(pg, m, version, sum, err) != 0)
            goto done;
    }
    rc = 0;
done:
    PQclear(applied);
    return rc;
}

/* sql/NN_area.sql after the versioned migrations (Flyway's repeatable migrations):
 * a file runs when its text differs from the one recorded, in name order. */
static int run_repeatable(PGconn *pg, const migration_file *files, size_t count, app_err *err)
{
    if (count == 0)
        return 0;
    PGresult *have = PQexec(pg, "SELECT name, checksum FROM schema_repeatables");
    if (PQresultStatus(have) != PGRES_TUPLES_OK) {
        app_err_set(err, ERR_INTERNAL, "reading schema_repeatables: %s", PQerrorMessage(pg));
        PQclear(have);
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        const migration_file *m = &files[i];
        char sum[65];
        auth_sha256_hex(m->sql, strlen(m->sql), sum);
        bool same = false;
        for (int row = 0; row < PQntuples(have); row++)
            if (strcmp(PQgetvalue(have, row, 0), m->name) == 0)
                same = strcmp(PQgetvalue(have, row, 1), sum) == 0;
        if (!same)
            rc = apply_repeatable(pg, m, sum, err);
    }
    PQclear(have);
    return rc;
}

int migrate_run_files(db_conn *c, const migration_file *versioned, size_t nversioned, const migration_file *repeatable,
                      size_t nrepeatable, app_err *err)
{
    PGconn *pg = db_native(c);
    if (!pg) {
        app_err_set(err, ERR_DB_UNAVAILABLE, "no database connection");
        return -1;
    }
    /* Two instances starting together: the second waits here, then finds
     * everything applied. Migrations may run long: no statement timeout. */
    if (exec_simple(pg, "SET statement_timeout = 0", err, "migrate") != 0 ||
        exec_simple(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_ID ")", err, "migration lock") != 0)
        return -1;
    int rc = run_versioned(pg, versioned, nversioned, err);
    if (rc == 0)
        rc = run_repeatable(pg, repeatable, nrepeatable, err);
    PQclear(PQexec(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_ID ")"));
    PQclear(PQexec(pg, "RESET statement_timeout"));
    return rc;
}

int migrate_run(db_conn *c, app_err *err)
{
    return migrate_run_files(c, migration_files, migration_count, repeatable_files, repeatable_count, err);
}

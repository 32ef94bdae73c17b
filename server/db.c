/* db.c - libpq pool with lazy (re)connection and SQLSTATE -> app_error mapping. */
#include "db.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct db_conn {
    PGconn *pg;
    bool busy;
    bool in_tx;
    char options[64];
    const char *url;
};

struct db_pool {
    char *url;
    int size;
    int in_use;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    db_conn *conns;
};

static const char *CONNECT_TIMEOUT_S = "3";

static bool conn_open(db_conn *c)
{
    if (c->pg && PQstatus(c->pg) == CONNECTION_OK)
        return true;
    if (c->pg) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    /* expand_dbname=1: the URL is expanded first, later keywords override it.
     * Keepalives bound how long a silently dead TCP peer can hold a request. */
    const char *keys[] = {
        "dbname",           "options", "connect_timeout", "application_name", "keepalives_idle", "keepalives_interval",
        "keepalives_count", NULL};
    const char *vals[] = {c->url, c->options, CONNECT_TIMEOUT_S, "revopsd", "5", "2", "2", NULL};
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (PQstatus(c->pg) != CONNECTION_OK) {
        log_warn("db", "connect failed: %s", PQerrorMessage(c->pg));
        PQfinish(c->pg);
        c->pg = NULL;
        return false;
    }
    c->in_tx = false;
    return true;
}

static void conn_init(db_conn *c, const char *url, int stmt_timeout_ms)
{
    memset(c, 0, sizeof *c);
    c->url = url;
    snprintf(c->options, sizeof c->options, "-c statement_timeout=%d", stmt_timeout_ms);
}

db_pool *db_pool_create(const char *url, int size, int stmt_timeout_ms)
{
    db_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->url = strdup(url ? url : "");
    p->size = size < 1 ? 1 : size;
    p->conns = calloc((size_t)p->size, sizeof *p->conns);
    if (!p->url || !p->conns) {
        free(p->url);
        free(p->conns);
        free(p);
        return NULL;
    }
    for (int i = 0; i < p->size; i++)
        conn_init(&p->conns[i], p->url, stmt_timeout_ms);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    return p;
}

void db_pool_destroy(db_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->size; i++)
        if (p->conns[i].pg)
            PQfinish(p->conns[i].pg);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->conns);
    free(p->url);
    free(p);
}

db_conn *db_acquire(db_pool *p, app_err *err)
{
    pthread_mutex_lock(&p->mu);
    db_conn *c = NULL;
    for (;;) {
        /* prefer an already-open connection */
        for (int i = 0; i < p->size && !c; i++)
            if (!p->conns[i].busy && p->conns[i].pg)
                c = &p->conns[i];
        for (int i = 0; i < p->size && !c; i++)
            if (!p->conns[i].busy)
                c = &p->conns[i];
        if (c)
            break;
        pthread_cond_wait(&p->cv, &p->mu);
    }
    c->busy = true;
    p->in_use++;
    pthread_mutex_unlock(&p->mu);
    if (!conn_open(c)) {
        db_release(p, c);
        app_err_set(err, ERR_DB_UNAVAILABLE, "The database cannot be reached; retry shortly");
        return NULL;
    }
    return c;
}

void db_release(db_pool *p, db_conn *c)
{
    if (!c)
        return;
    if (c->in_tx && c->pg) { /* a handler left a transaction open: never reuse it */
        PQfinish(c->pg);
        c->pg = NULL;
        c->in_tx = false;
    }
    pthread_mutex_lock(&p->mu);
    c->busy = false;
    p->in_use--;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

int db_pool_in_use(db_pool *p)
{
    pthread_mutex_lock(&p->mu);
    int n = p->in_use;
    pthread_mutex_unlock(&p->mu);
    return n;
}

int db_pool_size(db_pool *p) { return p->size; }

static bool sqlstate_is(const PGresult *r, const char *state)
{
    const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    return s && strncmp(s, state, strlen(state)) == 0;
}

static void map_error(db_conn *c, const PGresult *r, app_err *err)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK || !state || strncmp(state, "08", 2) == 0 ||
        strncmp(state, "57P", 3) == 0) {
        app_err_set(err, ERR_DB_UNAVAILABLE, "The database connection was lost; retry shortly");
    } else if (strcmp(state, "57014") == 0) {
        app_err_set(err, ERR_DB_UNAVAILABLE, "The query took longer than the statement timeout");
    } else if (strcmp(state, "23505") == 0 || strcmp(state, "23P01") == 0) {
        app_err_set(err, ERR_CONFLICT, "A resource with the same identity already exists");
    } else if (strcmp(state, "23503") == 0 || strcmp(state, "23514") == 0 || strcmp(state, "23502") == 0) {
        app_err_set(err, ERR_VALIDATION, "The request breaks a data rule (%s)", msg ? msg : state);
    } else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
        app_err_set(err, ERR_CONFLICT, "Concurrent update; retry the request");
    } else {
        log_error("db", "query failed: %s %s", state, msg ? msg : "");
        app_err_set(err, ERR_INTERNAL, "Internal database error");
    }
}

PGresult *db_query(db_conn *c, const char *sql, int nparams, const char *const *params, app_err *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!c->in_tx && !conn_open(c)) {
            app_err_set(err, ERR_DB_UNAVAILABLE, "The database cannot be reached; retry shortly");
            return NULL;
        }
        if (!c->pg) {
            app_err_set(err, ERR_DB_UNAVAILABLE, "The database connection was lost; retry shortly");
            return NULL;
        }
        PGresult *r = PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
            return r;
        bool lost = PQstatus(c->pg) != CONNECTION_OK;
        if (lost && !c->in_tx && attempt == 0) { /* stale pooled connection: reopen and retry once */
            PQclear(r);
            continue;
        }
        map_error(c, r, err);
        PQclear(r);
        return NULL;
    }
    app_err_set(err, ERR_DB_UNAVAILABLE, "The database cannot be reached; retry shortly");
    return NULL;
}

int db_exec(db_conn *c, const char *sql, int nparams, const char *const *params, app_err *err)
{
    PGresult *r = db_query(c, sql, nparams, params, err);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

int db_query_value(db_conn *c, const char *sql, int nparams, const char *const *params, char *buf, size_t len,
                   app_err *err)
{
    PGresult *r = db_query(c, sql, nparams, params, err);
    if (!r)
        return -1;
    int found = PQntuples(r) > 0 && PQnfields(r) > 0;
    if (found)
        snprintf(buf, len, "%s", PQgetisnull(r, 0, 0) ? "" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return found;
}

static int raw_exec(db_conn *c, const char *sql, app_err *err, bool *retryable)
{
    PGresult *r = PQexec(c->pg, sql);
    int st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK) {
        PQclear(r);
        return 0;
    }
    if (retryable)
        *retryable = sqlstate_is(r, "40001") || sqlstate_is(r, "40P01");
    map_error(c, r, err);
    PQclear(r);
    return -1;
}

int db_begin(db_conn *c, app_err *err)
{
    if (c->in_tx) {
        app_err_set(err, ERR_INTERNAL, "a transaction is already open");
        return -1;
    }
    if (!conn_open(c)) {
        app_err_set(err, ERR_DB_UNAVAILABLE, "The database cannot be reached; retry shortly");
        return -1;
    }
    if (raw_exec(c, "BEGIN", err, NULL) != 0)
        return -1;
    c->in_tx = true;
    return 0;
}

int db_commit(db_conn *c, app_err *err)
{
    if (!c->pg) {
        c->in_tx = false;
        app_err_set(err, ERR_DB_UNAVAILABLE, "The database connection was lost; retry shortly");
        return -1;
    }
    int rc = raw_exec(c, "COMMIT", err, NULL);
    c->in_tx = false;
    return rc;
}

void db_rollback(db_conn *c)
{
    if (c->pg && PQstatus(c->pg) == CONNECTION_OK) {
        app_err ignored = {0};
        (void)raw_exec(c, "ROLLBACK", &ignored, NULL);
    }
    c->in_tx = false;
}

int db_transaction(db_conn *c, db_tx_fn fn, void *ctx, app_err *err)
{
    /* inside an outer transaction (db_begin: an idempotent request) fn joins
     * it; a failure is the outer owner's to roll back, and cannot be retried
     * here */
    if (c->in_tx) {
        app_err inner = {0};
        int rc = fn(c, ctx, &inner);
        if (rc != 0 && err)
            *err = inner;
        return rc;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        if (!conn_open(c)) {
            app_err_set(err, ERR_DB_UNAVAILABLE, "The database cannot be reached; retry shortly");
            return -1;
        }
        if (raw_exec(c, "BEGIN", err, NULL) != 0)
            return -1;
        c->in_tx = true;
        app_err inner = {0};
        int rc = fn(c, ctx, &inner);
        bool retry = false;
        if (rc == 0 && c->pg) {
            rc = raw_exec(c, "COMMIT", &inner, &retry);
            c->in_tx = false;
            if (rc == 0)
                return 0;
        } else if (c->pg && PQstatus(c->pg) == CONNECTION_OK) {
            retry = inner.code == ERR_CONFLICT && strstr(inner.detail, "Concurrent update") != NULL;
            app_err ignored = {0};
            (void)raw_exec(c, "ROLLBACK", &ignored, NULL);
            c->in_tx = false;
        } else {
            c->in_tx = false;
        }
        if (!retry || attempt == 2) {
            if (err)
                *err = inner;
            return -1;
        }
    }
    return -1;
}

db_conn *db_connect_single(const char *url, int stmt_timeout_ms, app_err *err)
{
    db_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    conn_init(c, url, stmt_timeout_ms);
    if (!conn_open(c)) {
        app_err_set(err, ERR_DB_UNAVAILABLE, "cannot connect to the database at DATABASE_URL");
        free(c);
        return NULL;
    }
    return c;
}

void db_close_single(db_conn *c)
{
    if (!c)
        return;
    if (c->pg)
        PQfinish(c->pg);
    free(c);
}

PGconn *db_native(db_conn *c) { return c ? c->pg : NULL; }

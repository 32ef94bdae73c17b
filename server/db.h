/* db.h - PostgreSQL access: a fixed-size libpq connection pool, parameterised
 * queries only, transactions through one helper, outages mapped to 503.
 *
 * Ownership: db_query returns a PGresult the caller PQclear()s. A db_conn is
 * borrowed from the pool by db_acquire and must go back through db_release.
 */
#ifndef REVOPS_DB_H
#define REVOPS_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "errors.h"

typedef struct db_pool db_pool;
typedef struct db_conn db_conn;

/* url: libpq URL or conninfo; size: connections; stmt_timeout_ms applied to
 * every session. Connections open lazily, so this never fails on an outage. */
db_pool *db_pool_create(const char *url, int size, int stmt_timeout_ms);
void db_pool_destroy(db_pool *p);
/* The client-side deadline of every call (connect, each statement, and the
 * wait for a free connection), in ms: past it the statement is cancelled,
 * the connection dropped and the call fails with 503 (ERR_DB_UNAVAILABLE).
 * statement_timeout is enforced by the server, which is no help when the
 * server is frozen; this is. Default 10000. */
void db_pool_set_deadline(db_pool *p, int ms);

/* Borrow a connection (waits while all are busy). Returns NULL with
 * ERR_DB_UNAVAILABLE when the database cannot be reached. */
db_conn *db_acquire(db_pool *p, app_err *err) __attribute__((warn_unused_result));
/* db_acquire with a deadline of its own for the wait, the connect and every
 * call until db_release (0: the pool's); /readyz answers within its own. */
db_conn *db_acquire_within(db_pool *p, int deadline_ms, app_err *err) __attribute__((warn_unused_result));
void db_release(db_pool *p, db_conn *c);
/* The connection serves an HTTP request until db_release: db_pool_interrupt
 * ends its calls. */
void db_conn_for_request(db_conn *c);
/* Shutdown past its grace: the statement each request's connection is
 * waiting on is cancelled (the connection dropped) and every later call of a
 * request fails at once, all with ERR_OVERLOADED ("shutting down"). The
 * scheduler's and the appliers' connections are not touched. Safe from any
 * thread; for good. */
void db_pool_interrupt(db_pool *p);
int db_pool_in_use(db_pool *p);
int db_pool_size(db_pool *p);

/* Run one parameterised statement (params are text, NULL = SQL NULL).
 * Returns the result (PGRES_COMMAND_OK or PGRES_TUPLES_OK) or NULL with err
 * filled: 503 for a lost connection or statement timeout, 409 for unique or
 * exclusion violations, 422 for check/foreign-key violations, else 500.
 * Outside a transaction a broken connection is re-opened and the statement
 * retried once. */
PGresult *db_query(db_conn *c, const char *sql, int nparams, const char *const *params, app_err *err)
    __attribute__((warn_unused_result));
/* db_query through a statement prepared once per connection, so its plan is
 * made once, not per call: for the request path's small, frequent queries,
 * where parsing and planning are most of the cost (GET /v1/workspace: 2.5-3k
 * calls/s through db_query, ~10k prepared, on 2 shared cores). id: the
 * call site's DB_PREP_* (below 32), sql the same text on every call. Only
 * for queries whose best plan does not depend on the parameter values (a
 * primary-key lookup): PostgreSQL may switch a prepared statement to a
 * generic plan. */
enum {
    DB_PREP_WORKSPACE_GET,
    DB_PREP_WEBHOOK_ENDPOINT,
    DB_PREP_WEBHOOK_STORE,
    DB_PREP_ROUTING_LOOKUP,
    DB_PREP_ROUTING_POOL,
    DB_PREP_ROUTING_RECORD
};
PGresult *db_query_prepared(db_conn *c, int id, const char *sql, int nparams, const char *const *params, app_err *err)
    __attribute__((warn_unused_result));
/* Read an open cursor to its end: fetch (a FETCH of batch rows) is run
 * until a batch comes back short, each batch handed to fn (0, or -1 with
 * err set) while the database already produces the next. Inside a
 * transaction only (the cursor's). 0, or -1 with err. */
typedef int (*db_rows_fn)(void *ctx, PGresult *r, app_err *err);
int db_fetch_all(db_conn *c, const char *fetch, int batch, db_rows_fn fn, void *ctx, app_err *err)
    __attribute__((warn_unused_result));
/* db_query for statements whose result is not needed; 0 or -1. */
int db_exec(db_conn *c, const char *sql, int nparams, const char *const *params, app_err *err)
    __attribute__((warn_unused_result));

/* Run fn inside BEGIN .. COMMIT; ROLLBACK when fn returns -1. Serialization
 * failures and deadlocks are retried up to 3 times, so fn must be safe to run
 * again (it only talks to the database). */
typedef int (*db_tx_fn)(db_conn *c, void *ctx, app_err *err);
int db_transaction(db_conn *c, db_tx_fn fn, void *ctx, app_err *err) __attribute__((warn_unused_result));

/* An explicit transaction for a caller that must put several steps, some
 * of them in other modules, into one commit (the idempotency store and the
 * write it answers). db_transaction inside it joins it. db_commit reports a
 * failed COMMIT (nothing was stored); db_rollback never fails. */
int db_begin(db_conn *c, app_err *err) __attribute__((warn_unused_result));
int db_commit(db_conn *c, app_err *err) __attribute__((warn_unused_result));
void db_rollback(db_conn *c);

/* A single-value query convenience: the first column of the first row,
 * copied into buf (empty string for NULL); returns 1 found, 0 no rows, -1 error. */
int db_query_value(db_conn *c, const char *sql, int nparams, const char *const *params, char *buf, size_t len,
                   app_err *err) __attribute__((warn_unused_result));

/* Connect once outside the pool (CLI commands). */
db_conn *db_connect_single(const char *url, int stmt_timeout_ms, app_err *err);
void db_close_single(db_conn *c);

/* The underlying connection, for the migration runner's multi-statement files. */
PGconn *db_native(db_conn *c);

#endif

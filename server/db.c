/* db.c - libpq pool with lazy (re)connection and SQLSTATE -> app_error mapping. */
#include "db.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

struct db_conn {
    PGconn *pg;
    bool busy;
    bool in_tx;
    bool timed_out;   /* the last call passed its deadline (the connection was dropped) */
    bool for_request; /* db_conn_for_request: db_pool_interrupt ends its calls */
    bool interrupted; /* the last call was ended by db_pool_interrupt */
    struct db_pool *pool;
    int deadline_ms; /* for each call on this connection: connect, or one statement */
    int pool_deadline_ms;
    unsigned prepared; /* bit id: db_query_prepared's statement id is prepared on pg */
    char options[64];
    const char *url;
};

struct db_pool {
    char *url;
    int size;
    int in_use;
    int deadline_ms;
    int interrupting; /* db_pool_interrupt was called */
    int interrupt_fd; /* an eventfd, readable from then on: it wakes every request's wait */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    db_conn *conns;
};

/* A connection attempt never takes longer than this, whatever the deadline. */
#define DB_CONNECT_MAX_MS 3000
/* The default client-side deadline (db_pool_set_deadline overrides it). */
#define DB_DEFAULT_DEADLINE_MS 10000

/* The hung-database breaker (process-wide: revopsd talks to one database).
 * A call that passes its deadline trips it; while it is tripped one call at a
 * time (the trial) goes to the database and the others fail at once with the
 * same 503, so a frozen database does not hold every worker for a whole
 * deadline per request (a /healthz queued on its thread behind two such
 * requests waited two deadlines). No trial starts within DB_TRIP_HOLD_MS
 * (at most one deadline) of the last trip: a request queued on a thread
 * behind the one that tripped it would otherwise be the next trial and hold
 * that thread a second deadline (/metrics waited 4.00 s behind two 2 s
 * deadlines); short, because every call fails during it. The first call that
 * gets an answer resets it. Never tripped while the database answers: one
 * atomic load per call. */
static int db_hung, db_trial;
static long long db_trip_until; /* mono ms before which no trial starts */
#define DB_TRIP_HOLD_MS 1000

static double mono_ms(void);

/* May this call go to the database? *trial: it is the one trial. */
static bool hung_gate(bool *trial)
{
    *trial = false;
    if (!__atomic_load_n(&db_hung, __ATOMIC_ACQUIRE))
        return true;
    if ((long long)mono_ms() < __atomic_load_n(&db_trip_until, __ATOMIC_ACQUIRE))
        return false;
    if (__atomic_exchange_n(&db_trial, 1, __ATOMIC_ACQ_REL))
        return false;
    *trial = true;
    return true;
}

static void hung_done(bool trial, bool answered)
{
    if (answered)
        __atomic_store_n(&db_hung, 0, __ATOMIC_RELEASE);
    if (trial)
        __atomic_store_n(&db_trial, 0, __ATOMIC_RELEASE);
}

/* A call passed its deadline of deadline_ms. */
static void hung_trip(int deadline_ms)
{
    int hold = deadline_ms < DB_TRIP_HOLD_MS ? deadline_ms : DB_TRIP_HOLD_MS;
    __atomic_store_n(&db_trip_until, (long long)mono_ms() + hold, __ATOMIC_RELEASE);
    __atomic_store_n(&db_hung, 1, __ATOMIC_RELEASE);
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Is the call of a request's connection to end now (db_pool_interrupt)?
 * Then c->interrupted is set. */
static bool interrupt_gate(db_conn *c)
{
    if (c->for_request && __atomic_load_n(&c->pool->interrupting, __ATOMIC_SEQ_CST))
        c->interrupted = true;
    return c->interrupted;
}

/* Wait until the connection's socket is ready for events or the absolute
 * deadline end (mono_ms) passes; false on the deadline, a poll error or, on
 * a request's connection, db_pool_interrupt (c->interrupted set). */
static bool wait_socket(db_conn *c, short events, double end)
{
    int fd = PQsocket(c->pg);
    if (fd < 0)
        return false;
    for (;;) {
        double left = end - mono_ms();
        if (left <= 0)
            return false;
        struct pollfd pfd[2] = {{.fd = fd, .events = events}, {.fd = c->for_request ? c->pool->interrupt_fd : -1}};
        pfd[1].events = POLLIN;
        int n = poll(pfd, c->for_request ? 2 : 1, (int)(left + 1));
        if (n > 0 && interrupt_gate(c))
            return false;
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR)
            return false;
    }
}

/* PQcancel cannot be bounded in time (libpq 15 has no asynchronous cancel):
 * it connects to the postmaster and waits for it to close the socket, which
 * a frozen server never does. So it runs on a detached thread, at most
 * DB_MAX_CANCELS at once; past that the connection is only dropped (the
 * server's statement_timeout ends the query once it runs again). */
#define DB_MAX_CANCELS 4
static int cancels_running;

static void *cancel_run(void *arg)
{
    PGcancel *cn = arg;
    char errbuf[256];
    (void)PQcancel(cn, errbuf, sizeof errbuf);
    PQfreeCancel(cn);
    __atomic_sub_fetch(&cancels_running, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Past the deadline, or interrupted: cancel the statement (best effort),
 * drop the connection. A transaction in progress is lost with it (rolled
 * back by the server); in_tx stays set so no later statement of the same
 * request runs outside it on a fresh connection. An interrupt says nothing
 * about the database, so it does not trip the breaker. */
static void conn_abandon(db_conn *c)
{
    PGcancel *cn = PQgetCancel(c->pg);
    if (cn && __atomic_add_fetch(&cancels_running, 1, __ATOMIC_SEQ_CST) <= DB_MAX_CANCELS) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        if (pthread_create(&t, &attr, cancel_run, cn) != 0) {
            PQfreeCancel(cn);
            __atomic_sub_fetch(&cancels_running, 1, __ATOMIC_SEQ_CST);
        }
        pthread_attr_destroy(&attr);
    } else if (cn) {
        PQfreeCancel(cn);
        __atomic_sub_fetch(&cancels_running, 1, __ATOMIC_SEQ_CST);
    }
    PQfinish(c->pg);
    c->pg = NULL;
    if (c->interrupted)
        return;
    c->timed_out = true;
    hung_trip(c->deadline_ms);
    log_warn_limited("db", "no answer within the %d ms deadline: statement cancelled, connection dropped",
                     c->deadline_ms);
}

/* Notices (a WARNING, a RAISE NOTICE) go to the JSON log: libpq's default
 * prints them to stderr as plain text, which broke the one-object-per-line
 * log. Severity and message only; a notice never carries parameters. */
static void notice_to_log(void *arg, const char *message)
{
    (void)arg;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", message ? message : "");
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    log_warn_limited("db", "server notice: %s", msg);
}

/* Connect with libpq's non-blocking API, so a server that accepts the
 * socket and then never answers (SIGSTOP, a stuck disk) cannot hold the
 * caller past min(deadline, DB_CONNECT_MAX_MS). */
static bool conn_open(db_conn *c)
{
    if (c->pg && PQstatus(c->pg) == CONNECTION_OK)
        return true;
    if (c->pg) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    /* expand_dbname=1: the URL is expanded first, later keywords override it.
     * Keepalives and tcp_user_timeout bound how long a silently dead TCP peer
     * can hold a connection (both are ignored on a Unix socket). */
    char user_timeout[16];
    snprintf(user_timeout, sizeof user_timeout, "%d", c->deadline_ms);
    const char *keys[] = {
        "dbname",           "options", "application_name", "keepalives_idle", "keepalives_interval", "keepalives_count",
        "tcp_user_timeout", NULL};
    const char *vals[] = {c->url, c->options, "revopsd", "5", "2", "2", user_timeout, NULL};
    bool trial;
    if (interrupt_gate(c) || !hung_gate(&trial))
        return false; /* shutting down, or the database is hung: its trial is running */
    double end = mono_ms() + (c->deadline_ms < DB_CONNECT_MAX_MS ? c->deadline_ms : DB_CONNECT_MAX_MS);
    c->pg = PQconnectStartParams(keys, vals, 1);
    c->prepared = 0; /* a new session has none of our prepared statements */
    bool ok = c->pg && PQstatus(c->pg) != CONNECTION_BAD, waited_out = false;
    for (PostgresPollingStatusType st = PGRES_POLLING_WRITING; ok;) {
        if (st == PGRES_POLLING_OK)
            break;
        if (st == PGRES_POLLING_FAILED || !wait_socket(c, st == PGRES_POLLING_READING ? POLLIN : POLLOUT, end)) {
            waited_out = st != PGRES_POLLING_FAILED && !c->interrupted;
            ok = false;
            break;
        }
        st = PQconnectPoll(c->pg);
    }
    if (waited_out)
        hung_trip(c->deadline_ms);
    hung_done(trial, ok && PQstatus(c->pg) == CONNECTION_OK);
    if (!ok || PQstatus(c->pg) != CONNECTION_OK) {
        const char *why = c->pg && PQstatus(c->pg) == CONNECTION_BAD ? PQerrorMessage(c->pg) : "timed out";
        if (!c->interrupted) /* a shutdown's interrupt is not a failure of the database */
            log_warn_limited("db", "connect failed: %s", why);
        PQfinish(c->pg);
        c->pg = NULL;
        return false;
    }
    PQsetNoticeProcessor(c->pg, notice_to_log, NULL);
    c->in_tx = false;
    return true;
}

/* Send sql (with params when nparams >= 0, else as a simple query) and
 * collect its result within the connection's deadline: the result (the
 * first error if any), or NULL when the connection failed or the deadline
 * passed (c->timed_out set, the connection dropped). */
/* What exec_wait sends: sql with its parameters (nparams < 0: a simple
 * query), a statement to prepare as name, or the prepared statement name. */
typedef struct {
    const char *sql, *name;
    bool prepare;
} exec_what;
static PGresult *exec_wait(db_conn *c, exec_what w, int nparams, const char *const *params);

/* exec_wait behind the hung-database breaker: while it is tripped and
 * another call is its trial, fail at once as if past the deadline. */
static PGresult *exec_deadline(db_conn *c, exec_what w, int nparams, const char *const *params)
{
    bool trial;
    if (interrupt_gate(c))
        return NULL;
    if (!hung_gate(&trial)) {
        c->timed_out = true;
        return NULL;
    }
    PGresult *r = exec_wait(c, w, nparams, params);
    hung_done(trial, r != NULL);
    return r;
}

/* Send w within the absolute deadline end; false when the connection failed
 * or the deadline passed (then dropped). */
static bool exec_send(db_conn *c, exec_what w, int nparams, const char *const *params, double end)
{
    int sent = w.prepare      ? PQsendPrepare(c->pg, w.name, w.sql, nparams, NULL)
               : w.name       ? PQsendQueryPrepared(c->pg, w.name, nparams, params, NULL, NULL, 0)
               : nparams >= 0 ? PQsendQueryParams(c->pg, w.sql, nparams, NULL, params, NULL, NULL, 0)
                              : PQsendQuery(c->pg, w.sql);
    if (!sent)
        return false;
    for (int f; (f = PQflush(c->pg)) != 0;) {
        if (f < 0)
            return false;
        if (!wait_socket(c, POLLOUT | POLLIN, end)) {
            conn_abandon(c);
            return false;
        }
        if (!PQconsumeInput(c->pg))
            return false;
    }
    return true;
}

/* The result of the statement sent (the first error if any), or NULL as
 * exec_wait says. */
static PGresult *exec_collect(db_conn *c, double end)
{
    PGresult *keep = NULL;
    for (;;) {
        while (PQisBusy(c->pg)) {
            if (!wait_socket(c, POLLIN, end)) {
                PQclear(keep);
                conn_abandon(c);
                return NULL;
            }
            if (!PQconsumeInput(c->pg))
                break; /* PQgetResult reports the broken connection */
        }
        PGresult *r = PQgetResult(c->pg);
        if (!r)
            break;
        ExecStatusType st = PQresultStatus(r);
        if (keep && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
            PQclear(r); /* the first error is the one to report */
        } else if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
            PQclear(r); /* not used here; never wait on it */
            PQclear(keep);
            conn_abandon(c);
            c->timed_out = false;
            return NULL;
        } else {
            PQclear(keep);
            keep = r;
        }
        if (PQstatus(c->pg) == CONNECTION_BAD)
            break;
    }
    return keep;
}

static PGresult *exec_wait(db_conn *c, exec_what w, int nparams, const char *const *params)
{
    c->timed_out = false;
    double end = mono_ms() + c->deadline_ms;
    return exec_send(c, w, nparams, params, end) ? exec_collect(c, end) : NULL;
}

static void conn_init(db_conn *c, const char *url, int stmt_timeout_ms)
{
    memset(c, 0, sizeof *c);
    c->url = url;
    c->deadline_ms = c->pool_deadline_ms = DB_DEFAULT_DEADLINE_MS;
    /* jit=off: the planner's cost estimate of a whole-workspace read (the
     * 100,000 open deals of a forecast) passes jit_above_cost, and compiling
     * its expressions then takes 150 ms of a query that runs in 31 ms
     * without it (195 ms with; the bench's learned-forecast workspace). The
     * service's queries are short; a compile is not paid back. */
    snprintf(c->options, sizeof c->options, "-c statement_timeout=%d -c jit=off", stmt_timeout_ms);
}

void db_pool_set_deadline(db_pool *p, int ms)
{
    pthread_mutex_lock(&p->mu);
    p->deadline_ms = ms > 0 ? ms : DB_DEFAULT_DEADLINE_MS;
    for (int i = 0; i < p->size; i++)
        p->conns[i].deadline_ms = p->conns[i].pool_deadline_ms = p->deadline_ms;
    pthread_mutex_unlock(&p->mu);
}

db_pool *db_pool_create(const char *url, int size, int stmt_timeout_ms)
{
    db_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->url = strdup(url ? url : "");
    p->size = size < 1 ? 1 : size;
    p->deadline_ms = DB_DEFAULT_DEADLINE_MS;
    p->conns = calloc((size_t)p->size, sizeof *p->conns);
    p->interrupt_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!p->url || !p->conns || p->interrupt_fd < 0) {
        if (p->interrupt_fd >= 0)
            close(p->interrupt_fd);
        free(p->url);
        free(p->conns);
        free(p);
        return NULL;
    }
    for (int i = 0; i < p->size; i++) {
        conn_init(&p->conns[i], p->url, stmt_timeout_ms);
        p->conns[i].pool = p;
    }
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
    close(p->interrupt_fd);
    free(p->conns);
    free(p->url);
    free(p);
}

db_conn *db_acquire(db_pool *p, app_err *err) { return db_acquire_within(p, 0, err); }

db_conn *db_acquire_within(db_pool *p, int deadline_ms, app_err *err)
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
        /* every connection busy: wait at most one deadline (their holders
         * are themselves bounded by it), then 503 rather than queue forever */
        int wait_ms = deadline_ms > 0 ? deadline_ms : p->deadline_ms;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (pthread_cond_timedwait(&p->cv, &p->mu, &until) == ETIMEDOUT) {
            bool any = false;
            for (int i = 0; i < p->size && !any; i++)
                any = !p->conns[i].busy;
            if (!any) {
                pthread_mutex_unlock(&p->mu);
                app_err_set(err, ERR_DB_UNAVAILABLE, "Every database connection is busy; retry shortly");
                return NULL;
            }
        }
    }
    c->busy = true;
    p->in_use++;
    pthread_mutex_unlock(&p->mu);
    if (deadline_ms > 0)
        c->deadline_ms = deadline_ms;
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
    /* a handler left a transaction open (or lost it), or an interrupt ended
     * a call (its ROLLBACK too, and a cancel may still be on its way): never
     * reuse it */
    if (c->in_tx || c->interrupted) {
        if (c->pg)
            PQfinish(c->pg);
        c->pg = NULL;
        c->in_tx = false;
    }
    c->deadline_ms = c->pool_deadline_ms; /* db_acquire_within's deadline lasts one borrowing */
    c->for_request = c->interrupted = false;
    pthread_mutex_lock(&p->mu);
    c->busy = false;
    p->in_use--;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void db_conn_for_request(db_conn *c) { c->for_request = true; }

void db_pool_interrupt(db_pool *p)
{
    __atomic_store_n(&p->interrupting, 1, __ATOMIC_SEQ_CST);
    uint64_t one = 1;
    if (write(p->interrupt_fd, &one, sizeof one) != (ssize_t)sizeof one)
        log_warn("db", "interrupt: eventfd write failed; requests end at their next call");
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
    if (c->interrupted) {
        app_err_set(err, ERR_OVERLOADED, "This instance is shutting down; retry on another");
    } else if (c->timed_out) {
        app_err_set(err, ERR_DB_UNAVAILABLE, "The database did not answer within %d ms; retry shortly", c->deadline_ms);
    } else if (!r && c->pg && PQstatus(c->pg) == CONNECTION_OK) {
        /* libpq refused to send the statement (it never reached the server):
         * a defect of the caller, which a 503 "connection lost" hid */
        const char *why = PQerrorMessage(c->pg);
        log_warn_limited("db", "statement not sent: %.*s", (int)strcspn(why, "\n"), why);
        app_err_set(err, ERR_INTERNAL, "Internal database error");
    } else if (!c->pg || PQstatus(c->pg) != CONNECTION_OK || !state || strncmp(state, "08", 2) == 0 ||
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
        log_warn_limited("db", "query failed: %s %s", state, msg ? msg : "");
        app_err_set(err, ERR_INTERNAL, "Internal database error");
    }
}

/* conn_open, with the error of its failure. */
static bool conn_ready(db_conn *c, app_err *err)
{
    if (conn_open(c))
        return true;
    if (c->interrupted)
        map_error(c, NULL, err);
    else
        app_err_set(err, ERR_DB_UNAVAILABLE, "The database cannot be reached; retry shortly");
    return false;
}

/* One statement, as sql with parameters or (name) through the statement
 * prepared under that name (prepared first when bit is not in c->prepared).
 * Outside a transaction a broken connection is reopened and the call
 * retried once (not after the deadline: the database is there but not
 * answering). */
static PGresult *query_retry(db_conn *c, const char *sql, const char *name, unsigned bit, int nparams,
                             const char *const *params, app_err *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!c->in_tx && !conn_ready(c, err))
            return NULL;
        if (!c->pg) {
            app_err_set(err, ERR_DB_UNAVAILABLE, "The database connection was lost; retry shortly");
            return NULL;
        }
        PGresult *r = NULL;
        if (name && !(c->prepared & bit)) {
            r = exec_deadline(c, (exec_what){sql, name, true}, nparams, NULL);
            if (PQresultStatus(r) == PGRES_COMMAND_OK) {
                c->prepared |= bit;
                PQclear(r);
                r = NULL;
            }
        }
        if (!r)
            r = exec_deadline(c, (exec_what){sql, name, false}, nparams, params);
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
            return r;
        bool lost = !c->pg || PQstatus(c->pg) != CONNECTION_OK;
        if (lost && !c->timed_out && !c->in_tx && attempt == 0) {
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

PGresult *db_query(db_conn *c, const char *sql, int nparams, const char *const *params, app_err *err)
{
    return query_retry(c, sql, NULL, 0, nparams < 0 ? 0 : nparams, params, err);
}

PGresult *db_query_prepared(db_conn *c, int id, const char *sql, int nparams, const char *const *params, app_err *err)
{
    char name[16];
    snprintf(name, sizeof name, "revops_%d", id);
    return query_retry(c, sql, name, 1u << id, nparams, params, err);
}

/* db_fetch_all's send of the next batch, behind the hung-database breaker
 * as exec_deadline (a trial answered or not is told by the caller) */
static bool fetch_send(db_conn *c, exec_what w, bool *trial, double *end)
{
    c->timed_out = false;
    if (!c->pg || interrupt_gate(c))
        return false;
    if (!hung_gate(trial)) {
        c->timed_out = true;
        return false;
    }
    *end = mono_ms() + c->deadline_ms;
    if (exec_send(c, w, -1, NULL, *end))
        return true;
    hung_done(*trial, false);
    return false;
}

int db_fetch_all(db_conn *c, const char *fetch, int batch, db_rows_fn fn, void *ctx, app_err *err)
{
    exec_what w = {fetch, NULL, false};
    bool trial = false;
    double end = 0;
    bool sent = fetch_send(c, w, &trial, &end);
    for (;;) {
        PGresult *r = NULL;
        if (sent) {
            r = exec_collect(c, end);
            hung_done(trial, r != NULL);
        }
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            map_error(c, r, err);
            PQclear(r);
            return -1;
        }
        /* the next batch is asked for before this one is handed on, so the
         * database produces it while fn works */
        bool more = PQntuples(r) >= batch;
        sent = more && fetch_send(c, w, &trial, &end);
        int rc = fn(ctx, r, err);
        PQclear(r);
        if (rc != 0) {
            if (sent) /* the connection is busy until that answer is read */
                PQclear(exec_collect(c, end));
            return -1;
        }
        if (!more)
            return 0;
    }
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
    if (retryable)
        *retryable = false;
    PGresult *r = c->pg ? exec_deadline(c, (exec_what){sql, NULL, false}, -1, NULL) : NULL;
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
    if (!conn_ready(c, err))
        return -1;
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
        if (!conn_ready(c, err))
            return -1;
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

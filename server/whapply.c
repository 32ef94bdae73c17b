/* whapply.c - webhook applier threads and the backlog reader (whapply.h).
 *
 * Each applier loops: BEGIN; SELECT webhook_apply_batch(batch); COMMIT. The
 * function claims up to batch pending events with FOR UPDATE SKIP LOCKED, so
 * appliers of every instance share the queue without waiting on each other,
 * and the claim, the deal changes and the events' states commit together: a
 * crash (of revopsd or PostgreSQL) before the commit leaves the events pending
 * for the next claim, and none is applied twice (the commit is asynchronous:
 * see one_batch). After a batch that was not full, an applier sleeps until
 * whapply_notify() (this instance stored events; it wakes one applier, which
 * then lingers --webhook-linger-ms) or 100 ms pass (another instance did).
 * Its own connection, outside the request pool. */
#include "whapply.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "alerteval.h"
#include "fccache.h"
#include "leadcheck.h"
#include "log.h"

#define MAX_APPLIERS 32
#define IDLE_MS 100

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    unsigned long wakeups;
    int n;
    pthread_t threads[MAX_APPLIERS + 1];
    char *url;
    int stmt_timeout_ms, batch, linger_ms;
    whapply_backlog stats;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* Sleep until a wakeup after seen, a stop, or ms pass; true on a wakeup. */
static bool wait_ms(int ms, unsigned long seen)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)ms * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&S.mu);
    while (!S.stop && S.wakeups == seen)
        if (pthread_cond_timedwait(&S.cv, &S.mu, &until) != 0)
            break;
    bool woken = !S.stop && S.wakeups != seen;
    pthread_mutex_unlock(&S.mu);
    return woken;
}

static bool stopping(unsigned long *seen)
{
    pthread_mutex_lock(&S.mu);
    bool s = S.stop;
    if (seen)
        *seen = S.wakeups;
    pthread_mutex_unlock(&S.mu);
    return s;
}

/* The forecast engine's cached inputs of the workspaces in a uuid[] text
 * ("{a,b}") are stale now: these writes did not pass through http.c. */
static void touch_workspaces(const char *list)
{
    char ws[40];
    for (const char *p = list; *p;) {
        p += strspn(p, "{},");
        size_t n = strcspn(p, "{},");
        if (n > 0 && n < sizeof ws) {
            memcpy(ws, p, n);
            ws[n] = '\0';
            fccache_touch(ws);
            alerteval_touch(ws);
        }
        p += n;
    }
}

/* One batch in its own transaction: applied count, claimed count; -1 on error. */
static int one_batch(db_conn *db, int *claimed, app_err *err)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", S.batch);
    const char *p[] = {lim};
    if (db_begin(db, err) != 0)
        return -1;
    /* This commit need not wait for its WAL flush: the events' new states
     * and their effects are in this one transaction, so a crash that loses
     * it (the last ~3 x wal_writer_delay of asynchronous commits) leaves the
     * events pending, stored durably by the delivery's own commit (what the
     * 2xx acknowledged), and the next claim applies them: still exactly
     * once. A later durable commit flushes the WAL before it, this one's
     * too. Without it, every batch paid a second fsync per delivery (at one
     * client, one event per batch: half the acknowledge rate). */
    if (db_exec(db, "SET LOCAL synchronous_commit = off", 0, NULL, err) != 0) {
        db_rollback(db);
        return -1;
    }
    PGresult *r = db_query(db, "SELECT applied, claimed, workspaces FROM webhook_apply_batch($1::int)", 1, p, err);
    if (!r) {
        db_rollback(db);
        return -1;
    }
    int applied = atoi(PQgetvalue(r, 0, 0));
    *claimed = atoi(PQgetvalue(r, 0, 1));
    char *wss = strdup(PQgetvalue(r, 0, 2));
    PQclear(r);
    /* contacts that became MQL are routed before the commit, as PUT does */
    if (applied > 0 && leads_route_webhook_mqls(db, err) != 0) {
        free(wss);
        db_rollback(db);
        return -1;
    }
    int rc = db_commit(db, err);
    if (wss && rc == 0)
        touch_workspaces(wss); /* after the commit: a forecast computed from now on sees the changes */
    free(wss);
    return rc == 0 ? applied : -1;
}

static void *applier(void *arg)
{
    (void)arg;
    db_conn *db = NULL;
    unsigned long seen = 0;
    while (!stopping(&seen)) {
        app_err err = {0};
        if (!db && !(db = db_connect_single(S.url, S.stmt_timeout_ms, &err))) {
            log_warn("whapply", "no database connection: %s", err.detail);
            wait_ms(1000, seen);
            continue;
        }
        int claimed = 0, applied = one_batch(db, &claimed, &err);
        if (applied < 0) {
            log_warn("whapply", "batch failed (its events stay pending): %s", err.detail);
            db_close_single(db); /* a fresh connection: the old one may be broken */
            db = NULL;
            wait_ms(200, seen);
            continue;
        }
        if (applied > 0) {
            pthread_mutex_lock(&S.mu);
            S.stats.applied += applied;
            pthread_mutex_unlock(&S.mu);
        }
        if (claimed >= S.batch)
            continue; /* a full batch: more may be waiting */
        /* The claim took every pending event this applier could lock, so it
         * waits for the next store (a notify since the batch began returns at
         * once; another instance's stores are seen within IDLE_MS); claimed
         * events deferred behind another applier's: 5 ms, for that one to
         * commit. Woken by a store, it waits --webhook-linger-ms more before
         * claiming, so that the stores of that moment share one transaction.
         * Claiming again after every non-empty batch, and at once on every
         * store, cost 1.22 claim transactions per acknowledged event at 1
         * client, on the cores the next acknowledgement needed (0.08 now). */
        if (wait_ms(claimed > applied ? 5 : IDLE_MS, seen) && S.linger_ms > 0 && !stopping(NULL)) {
            struct timespec linger = {S.linger_ms / 1000, (long)(S.linger_ms % 1000) * 1000000L};
            nanosleep(&linger, NULL);
        }
    }
    if (db)
        db_close_single(db);
    return NULL;
}

static void read_backlog(db_conn *db)
{
    app_err err = {0};
    PGresult *r = db_query(db,
                           "SELECT count(*), COALESCE(extract(epoch FROM now() - min(received_at)), 0)"
                           " FROM webhook_events WHERE status = 'pending'",
                           0, NULL, &err);
    if (!r) {
        log_warn("whapply", "could not read the webhook backlog: %s", err.detail);
        return;
    }
    pthread_mutex_lock(&S.mu);
    S.stats.known = true;
    S.stats.pending = atoll(PQgetvalue(r, 0, 0));
    S.stats.oldest_age_s = atof(PQgetvalue(r, 0, 1));
    pthread_mutex_unlock(&S.mu);
    PQclear(r);
}

static db_conn *reader_db;
static pthread_mutex_t reader_mu = PTHREAD_MUTEX_INITIALIZER;

void whapply_refresh(void)
{
    pthread_mutex_lock(&reader_mu);
    if (!reader_db && S.url) {
        app_err err = {0};
        reader_db = db_connect_single(S.url, S.stmt_timeout_ms, &err);
    }
    if (reader_db) {
        read_backlog(reader_db);
        if (PQstatus(db_native(reader_db)) != CONNECTION_OK) {
            db_close_single(reader_db);
            reader_db = NULL;
        }
    }
    pthread_mutex_unlock(&reader_mu);
}

static void *reader(void *arg)
{
    (void)arg;
    unsigned long seen = 0;
    while (!stopping(&seen)) {
        whapply_refresh();
        struct timespec one = {1, 0};
        /* a plain sleep: notify() wakes appliers, the reader keeps its pace */
        for (int i = 0; i < 10 && !stopping(NULL); i++) {
            one.tv_sec = 0;
            one.tv_nsec = 100 * 1000000L;
            nanosleep(&one, NULL);
        }
    }
    return NULL;
}

int whapply_start(const config *cfg)
{
    S.url = strdup(cfg->database_url);
    S.stmt_timeout_ms = cfg->stmt_timeout_ms;
    S.batch = cfg->webhook_batch > 0 ? cfg->webhook_batch : 500;
    S.linger_ms = cfg->webhook_linger_ms > 1000 ? 1000 : cfg->webhook_linger_ms > 0 ? cfg->webhook_linger_ms : 0;
    S.stop = false;
    int want = cfg->webhook_appliers > MAX_APPLIERS ? MAX_APPLIERS : cfg->webhook_appliers;
    if (pthread_create(&S.threads[S.n], NULL, reader, NULL) != 0)
        return -1;
    S.n++;
    for (int i = 0; i < want; i++) {
        if (pthread_create(&S.threads[S.n], NULL, applier, NULL) != 0)
            return -1;
        S.n++;
    }
    log_info("whapply", "%d webhook applier(s), batches of %d", want, S.batch);
    return 0;
}

void whapply_stop(void)
{
    pthread_mutex_lock(&S.mu);
    S.stop = true;
    pthread_cond_broadcast(&S.cv);
    pthread_mutex_unlock(&S.mu);
    for (int i = 0; i < S.n; i++)
        pthread_join(S.threads[i], NULL);
    S.n = 0;
    pthread_mutex_lock(&reader_mu);
    if (reader_db)
        db_close_single(reader_db);
    reader_db = NULL;
    pthread_mutex_unlock(&reader_mu);
    free(S.url);
    S.url = NULL;
}

/* One applier is woken, not all: one claim takes every pending event, and
 * the others' claims would find none. A busy applier sees the wakeup when
 * its batch ends. */
void whapply_notify(void)
{
    pthread_mutex_lock(&S.mu);
    S.wakeups++;
    pthread_cond_signal(&S.cv);
    pthread_mutex_unlock(&S.mu);
}

whapply_backlog whapply_stats(void)
{
    pthread_mutex_lock(&S.mu);
    whapply_backlog b = S.stats;
    pthread_mutex_unlock(&S.mu);
    return b;
}

/* alertsend.c - alert webhook senders: outbox claim, signed POST, attempt log
 * and retry schedule (alertsend.h). */
#include "alertsend.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert.h"
#include "db.h"
#include "log.h"
#include "netaddr.h"
#include "whsig.h"

#define MAX_SENDERS 32
/* How often an idle sender looks for due deliveries: the first sender at
 * IDLE_MS (retries coming due, deliveries raised by another instance), the
 * others at IDLE_OTHERS_MS; a sender that finds work after being idle wakes
 * them all (alertsend_notify), as a raise in this instance does. Eight senders
 * each polling at IDLE_MS were 40 transactions a second on an idle database. */
#define IDLE_MS 200
#define IDLE_OTHERS_MS 5000
/* What is kept of a receiver's answer for the log (its status is what counts). */
#define ANSWER_KEEP 200

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    unsigned long wakeups;
    int n;
    pthread_t threads[MAX_SENDERS];
    char *url;
    int stmt_timeout_ms, base_ms, timeout_ms;
    bool allow_private; /* --alert-allow-private */
    alertsend_counts counts;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static bool stopping(unsigned long *seen)
{
    pthread_mutex_lock(&S.mu);
    bool s = S.stop;
    if (seen)
        *seen = S.wakeups;
    pthread_mutex_unlock(&S.mu);
    return s;
}

static void wait_ms(int ms, unsigned long seen)
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
    pthread_mutex_unlock(&S.mu);
}

typedef struct {
    char text[ANSWER_KEEP + 1];
    size_t len;
} answer;

static size_t keep_answer(char *p, size_t size, size_t n, void *ctx)
{
    answer *a = ctx;
    size_t got = size * n, room = ANSWER_KEEP - a->len;
    size_t take = got < room ? got : room;
    memcpy(a->text + a->len, p, take);
    a->len += take;
    a->text[a->len] = '\0';
    return got;
}

/* A shutdown aborts a transfer in flight: its delivery is rolled back to
 * pending and sent by whoever runs next. */
static int abort_on_stop(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)ctx, (void)dt, (void)dn, (void)ut, (void)un;
    return stopping(NULL) ? 1 : 0;
}

/* Every address curl is about to connect to, whatever the URL's name
 * resolved to this time (DNS rebinding: the check is on the address used,
 * not on an earlier lookup): a non-public one is refused before a socket
 * exists, and why is kept for the attempt log. */
typedef struct {
    char refused[160];
} sock_check;

static curl_socket_t open_checked(void *ctx, curlsocktype purpose, struct curl_sockaddr *sa)
{
    sock_check *sc = ctx;
    (void)purpose;
    const unsigned char *bytes = NULL;
    size_t len = 0;
    if (sa->family == AF_INET) {
        bytes = (const unsigned char *)&((const struct sockaddr_in *)(const void *)&sa->addr)->sin_addr;
        len = 4;
    } else if (sa->family == AF_INET6) {
        bytes = (const unsigned char *)&((const struct sockaddr_in6 *)(const void *)&sa->addr)->sin6_addr;
        len = 16;
    }
    netaddr_class c = bytes ? netaddr_classify(bytes, len) : NETADDR_RESERVED;
    if (c != NETADDR_PUBLIC) {
        char text[INET6_ADDRSTRLEN] = "?";
        if (bytes)
            inet_ntop(sa->family, bytes, text, sizeof text);
        snprintf(sc->refused, sizeof sc->refused,
                 "refused: %s is a%s %s address (alerts reach public addresses only; --alert-allow-private)", text,
                 c == NETADDR_UNSPECIFIED ? "n" : "", netaddr_class_name(c));
        return CURL_SOCKET_BAD;
    }
    return socket(sa->family, sa->socktype, sa->protocol);
}

typedef struct {
    long status;   /* HTTP status, 0 when no answer */
    char err[256]; /* transport error or the answer's start */
    long ms;
    bool aborted;
} outcome;

/* POST body to url with the Standard Webhooks headers: the signature of the
 * current secret and, during a rotation, of the previous one too. */
static int post(const char *url, const char *msg_id, const char *secret, const char *previous, const char *body,
                outcome *o)
{
    long long ts = (long long)time(NULL);
    char sig[2][64] = {"", ""}, h_id[300], h_ts[64], h_sig[200];
    if (whsig_standard_sign(secret, msg_id, ts, body, strlen(body), sig[0], sizeof sig[0]) != 0) {
        snprintf(o->err, sizeof o->err, "the destination's secret cannot sign");
        return -1;
    }
    if (previous && *previous && whsig_standard_sign(previous, msg_id, ts, body, strlen(body), sig[1], sizeof sig[1]))
        sig[1][0] = '\0';
    snprintf(h_id, sizeof h_id, "webhook-id: %s", msg_id);
    snprintf(h_ts, sizeof h_ts, "webhook-timestamp: %lld", ts);
    snprintf(h_sig, sizeof h_sig, "webhook-signature: %s%s%s", sig[0], sig[1][0] ? " " : "", sig[1]);
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(o->err, sizeof o->err, "no HTTP client");
        return -1;
    }
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, h_id);
    h = curl_slist_append(h, h_ts);
    h = curl_slist_append(h, h_sig);
    h = curl_slist_append(h, "User-Agent: revopsd-alerts/1");
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    answer a = {.len = 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)S.timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)S.timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L); /* a redirect is an answer, not a new target */
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_answer);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, abort_on_stop);
    sock_check sc = {.refused = ""};
    if (!S.allow_private) {
        curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_checked);
        curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &sc);
        curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* a proxy's address would be the one checked */
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CURLcode rc = curl_easy_perform(c);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    o->ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &o->status);
        if (o->status < 200 || o->status > 299)
            snprintf(o->err, sizeof o->err, "HTTP %ld: %.200s", o->status, a.text);
    } else {
        o->aborted = rc == CURLE_ABORTED_BY_CALLBACK;
        snprintf(o->err, sizeof o->err, "%s", sc.refused[0] ? sc.refused : curl_easy_strerror(rc));
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return 0;
}

/* Record an attempt and its consequence: delivered, the destination
 * disabled (410 Gone), another try at base x 2^(n-1) with jitter, or given
 * up after the last retry. */
static int record(db_conn *db, const char *id, const char *dest, int attempt, const outcome *o, unsigned *seed,
                  long long **counter, app_err *err)
{
    char st[16], ms[24], n[16], delay[24];
    snprintf(st, sizeof st, "%ld", o->status);
    snprintf(ms, sizeof ms, "%ld", o->ms);
    snprintf(n, sizeof n, "%d", attempt);
    bool ok = o->status >= 200 && o->status <= 299, gone = o->status == 410;
    int jitter = (int)(rand_r(seed) % 1000);
    long long d = ok || gone ? 0 : alert_retry_delay_ms(S.base_ms, attempt, jitter);
    snprintf(delay, sizeof delay, "%lld", d);
    const char *state = ok ? "delivered" : gone || !alert_should_retry(attempt) ? "failed" : "pending";
    *counter = ok              ? &S.counts.delivered
               : gone          ? &S.counts.disabled
               : *state == 'f' ? &S.counts.failed
                               : &S.counts.retried;
    const char *e = ok ? NULL : gone ? "410 Gone: the destination is disabled" : o->err;
    const char *p[] = {id, n, o->status ? st : NULL, e, ms, state, delay};
    if (db_exec(db,
                "WITH a AS (INSERT INTO alert_attempts (workspace_id, delivery_id, attempt, status, error, duration_ms)"
                "           SELECT workspace_id, id, $2::int, $3::int, $4, $5::int FROM alert_deliveries"
                "           WHERE id = $1::uuid)"
                " UPDATE alert_deliveries SET attempts = $2::int, last_status = $3::int, last_error = $4, state = $6,"
                " delivered_at = CASE WHEN $6 = 'delivered' THEN now() END,"
                " next_attempt_at = now() + $7::bigint * interval '1 millisecond' WHERE id = $1::uuid",
                7, p, err) != 0)
        return -1;
    if (!gone)
        return 0;
    const char *q[] = {dest, id};
    return db_exec(db,
                   "WITH x AS (UPDATE alert_destinations SET disabled_at = now(),"
                   "           disabled_reason = 'the receiver answered 410 Gone' WHERE id = $1::uuid"
                   "           AND disabled_at IS NULL RETURNING id)"
                   " UPDATE alert_deliveries SET state = 'cancelled', last_error = 'destination disabled (410 Gone)'"
                   " WHERE destination_id = $1::uuid AND state = 'pending' AND id <> $2::uuid",
                   2, q, err);
}

/* One due delivery in its own transaction: 1 sent (whatever the answer),
 * 0 none due, -1 on a database error. */
static int one(db_conn *db, unsigned *seed, app_err *err)
{
    if (db_begin(db, err) != 0)
        return -1;
    PGresult *r = db_query(db,
                           "SELECT d.id, d.attempts, a.id, x.url, x.secret,"
                           " CASE WHEN x.previous_until > now() THEN x.previous_secret END, alert_event_body(a),"
                           " x.id, x.disabled_at IS NOT NULL OR x.deleted_at IS NOT NULL"
                           " FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id"
                           " JOIN alert_destinations x ON x.id = d.destination_id"
                           " WHERE d.state = 'pending' AND d.next_attempt_at <= now()"
                           " ORDER BY d.next_attempt_at LIMIT 1 FOR UPDATE OF d SKIP LOCKED",
                           0, NULL, err);
    if (!r) {
        db_rollback(db);
        return -1;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        db_rollback(db);
        return 0;
    }
    const char *id = PQgetvalue(r, 0, 0), *dest = PQgetvalue(r, 0, 7);
    int rc = 0;
    long long *counter = NULL;
    if (strcmp(PQgetvalue(r, 0, 8), "t") == 0) {
        const char *p[] = {id};
        rc = db_exec(db,
                     "UPDATE alert_deliveries SET state = 'cancelled', last_error = 'destination disabled'"
                     " WHERE id = $1::uuid",
                     1, p, err);
    } else {
        char msg_id[48];
        snprintf(msg_id, sizeof msg_id, "alert_%s", PQgetvalue(r, 0, 2));
        outcome o = {0};
        if (post(PQgetvalue(r, 0, 3), msg_id, PQgetvalue(r, 0, 4), PQgetvalue(r, 0, 5), PQgetvalue(r, 0, 6), &o) != 0)
            snprintf(o.err + strlen(o.err), sizeof o.err - strlen(o.err), " (not sent)");
        if (o.aborted) {
            PQclear(r);
            db_rollback(db); /* shutting down: not an attempt */
            return 0;
        }
        rc = record(db, id, dest, atoi(PQgetvalue(r, 0, 1)) + 1, &o, seed, &counter, err);
    }
    PQclear(r);
    if (rc != 0) {
        db_rollback(db);
        return -1;
    }
    if (db_commit(db, err) != 0)
        return -1;
    if (counter) {
        pthread_mutex_lock(&S.mu);
        (*counter)++;
        pthread_mutex_unlock(&S.mu);
    }
    return 1;
}

static void *sender(void *arg)
{
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)arg * 2654435761u;
    db_conn *db = NULL;
    unsigned long seen = 0;
    bool first = (uintptr_t)arg == 1, idle = false;
    while (!stopping(&seen)) {
        app_err err = {0};
        if (!db && !(db = db_connect_single(S.url, S.stmt_timeout_ms, &err))) {
            log_warn("alertsend", "no database connection: %s", err.detail);
            wait_ms(1000, seen);
            continue;
        }
        int n = one(db, &seed, &err);
        if (n < 0) {
            log_warn("alertsend", "delivery failed to record (it stays pending): %s", err.detail);
            db_close_single(db);
            db = NULL;
            wait_ms(500, seen);
        } else if (n == 0) {
            idle = true;
            wait_ms(first ? IDLE_MS : IDLE_OTHERS_MS, seen);
        } else if (idle) {
            idle = false;
            alertsend_notify(); /* work appeared: the others join */
        }
    }
    if (db)
        db_close_single(db);
    return NULL;
}

int alertsend_start(const config *cfg)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    S.url = strdup(cfg->database_url);
    S.stmt_timeout_ms = cfg->stmt_timeout_ms;
    S.base_ms = cfg->alert_retry_base_ms > 0 ? cfg->alert_retry_base_ms : 60000;
    S.timeout_ms = cfg->alert_timeout_ms > 0 ? cfg->alert_timeout_ms : 10000;
    S.allow_private = cfg->alert_allow_private;
    S.stop = false;
    int want = cfg->alert_senders > MAX_SENDERS ? MAX_SENDERS : cfg->alert_senders;
    for (int i = 0; i < want; i++) {
        if (pthread_create(&S.threads[S.n], NULL, sender, (void *)(uintptr_t)(i + 1)) != 0)
            return -1;
        S.n++;
    }
    log_info("alertsend", "%d alert sender(s), first retry after %d ms", want, S.base_ms);
    return 0;
}

void alertsend_stop(void)
{
    pthread_mutex_lock(&S.mu);
    S.stop = true;
    pthread_cond_broadcast(&S.cv);
    pthread_mutex_unlock(&S.mu);
    for (int i = 0; i < S.n; i++)
        pthread_join(S.threads[i], NULL);
    S.n = 0;
    free(S.url);
    S.url = NULL;
}

alertsend_counts alertsend_stats(void)
{
    pthread_mutex_lock(&S.mu);
    alertsend_counts c = S.counts;
    pthread_mutex_unlock(&S.mu);
    return c;
}

void alertsend_notify(void)
{
    pthread_mutex_lock(&S.mu);
    S.wakeups++;
    pthread_cond_broadcast(&S.cv);
    pthread_mutex_unlock(&S.mu);
}

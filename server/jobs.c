/* jobs.c - the background-jobs threads: scheduled snapshots, and the lead
 * routing escalation pass (issue 19). */
#include "jobs.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "log.h"

/* Arbitrary constant naming the scheduler's lock. */
#define JOBS_LOCK_ID "7308201453829107002"

struct jobs {
    db_pool *pool;
    int interval_s;
    int (*tick)(db_conn *db, app_err *err);
    const char *what; /* for the log: "took %d <what>" */
    bool stop;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

int jobs_tick(db_conn *db, app_err *err)
{
    char got[8];
    if (db_query_value(db, "SELECT pg_try_advisory_lock(" JOBS_LOCK_ID ")", 0, NULL, got, sizeof got, err) < 0)
        return -1;
    if (strcmp(got, "t") != 0)
        return 0; /* another instance is ticking */
    int taken = 0;
    /* Due slots: the local day (or ISO week) once the local clock has passed
     * snapshot_hour, for every workspace that has a schedule and no snapshot
     * for that slot yet. */
    PGresult *r = db_query(
        db,
        "SELECT w.id, w.snapshot_schedule, s.slot FROM workspaces w,"
        " LATERAL (SELECT CASE w.snapshot_schedule"
        "   WHEN 'daily' THEN ((now() AT TIME ZONE w.timezone) - make_interval(hours => w.snapshot_hour))::date"
        "   ELSE date_trunc('week', (now() AT TIME ZONE w.timezone) - make_interval(hours => w.snapshot_hour))::date"
        "   END AS slot) s"
        " WHERE w.snapshot_schedule IS NOT NULL AND NOT EXISTS (SELECT 1 FROM snapshots x"
        "   WHERE x.workspace_id = w.id AND x.kind = w.snapshot_schedule AND x.slot = s.slot)",
        0, NULL, err);
    if (!r) {
        taken = -1;
        goto unlock;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        char id[40], label[64];
        const char *ws = PQgetvalue(r, i, 0), *kind = PQgetvalue(r, i, 1), *slot = PQgetvalue(r, i, 2);
        snprintf(label, sizeof label, "%s %s", kind, slot);
        app_err one = {0};
        if (snapshots_take(db, ws, label, NULL, kind, slot, id, sizeof id, &one) != 0)
            log_warn("jobs", "snapshot for workspace %s failed: %s", ws, one.detail);
        else if (id[0])
            taken++;
    }
    PQclear(r);
    if (db_exec(db,
                "DELETE FROM snapshots s USING workspaces w WHERE s.workspace_id = w.id AND ("
                " (s.kind = 'daily' AND s.created_at < now() - make_interval(days => w.snapshot_keep_daily_days)) OR"
                " (s.kind = 'weekly' AND s.created_at < now() - make_interval(days => w.snapshot_keep_weekly_days)))",
                0, NULL, err) != 0)
        taken = -1;
    /* alert rules (issue 23): every pass, under the same lock, so one
     * instance evaluates at a time; the alerts' unique key keeps each
     * occurrence single even if a manual evaluation runs meanwhile */
    app_err aerr = {0};
    if (alerts_evaluate_all(db, &aerr) < 0)
        log_warn("jobs", "alert evaluation failed: %s", aerr.detail);
unlock:;
    app_err ignored = {0};
    if (db_exec(db, "SELECT pg_advisory_unlock(" JOBS_LOCK_ID ")", 0, NULL, &ignored) != 0)
        log_warn("jobs", "could not release the scheduler lock: %s", ignored.detail);
    return taken;
}

int jobs_escalate_tick(db_conn *db, app_err *err)
{
    /* No advisory lock: routing_escalate claims due rows FOR UPDATE SKIP
     * LOCKED and marks them in the same statement, so two instances' passes
     * (or a pass and POST /v1/routing/escalations) share the work and none
     * is escalated twice; a lock would only make one instance wait. */
    PGresult *r = db_query(db,
                           "SELECT e ->> 'workspace_id', e ->> 'lead', e ->> 'assignee', e ->> 'escalated_to'"
                           " FROM routing_escalate(NULL) e ORDER BY (e ->> 'id')::bigint",
                           0, NULL, err);
    if (!r)
        return -1;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++)
        log_info("jobs", "escalated lead %s of workspace %s from %s to %s (no action in time)", PQgetvalue(r, i, 1),
                 PQgetvalue(r, i, 0), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3));
    PQclear(r);
    return n;
}

static void *loop(void *arg)
{
    jobs *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += s->interval_s;
        pthread_cond_timedwait(&s->cv, &s->mu, &until);
        if (s->stop)
            break;
        pthread_mutex_unlock(&s->mu);
        app_err err = {0};
        db_conn *db = db_acquire(s->pool, &err);
        if (db) {
            int n = s->tick(db, &err);
            if (n < 0)
                log_warn("jobs", "%s tick failed: %s", s->what, err.detail);
            else if (n > 0)
                log_info("jobs", "%d %s", n, s->what);
            db_release(s->pool, db);
        }
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static jobs *start(db_pool *pool, int interval_s, int (*tick)(db_conn *, app_err *), const char *what)
{
    if (interval_s <= 0)
        return NULL;
    jobs *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->pool = pool;
    s->interval_s = interval_s;
    s->tick = tick;
    s->what = what;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, loop, s) != 0) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
        free(s);
        return NULL;
    }
    return s;
}

jobs *jobs_start(db_pool *pool, int interval_s)
{
    return start(pool, interval_s, jobs_tick, "scheduled snapshot(s) taken");
}

jobs *jobs_start_escalations(db_pool *pool, int interval_s)
{
    return start(pool, interval_s, jobs_escalate_tick, "lead assignment(s) escalated");
}

void jobs_stop(jobs *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

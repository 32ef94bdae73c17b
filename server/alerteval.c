/* alerteval.c - evaluation of alert rules after writes (alerteval.h). */
#include "alerteval.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "handlers.h"
#include "log.h"

/* Workspaces marked between two evaluations; beyond it the oldest marks
 * are dropped and those workspaces wait for the scheduler's pass. */
#define MAX_MARKED 256

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool running, stop;
    int n;
    char marked[MAX_MARKED][40];
    pthread_t thread;
    char *url;
    int stmt_timeout_ms;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

void alerteval_touch(const char *ws)
{
    if (!ws || !*ws || strlen(ws) >= sizeof S.marked[0])
        return;
    pthread_mutex_lock(&S.mu);
    if (S.running) {
        bool seen = false;
        for (int i = 0; i < S.n && !seen; i++)
            seen = strcmp(S.marked[i], ws) == 0;
        if (!seen && S.n < MAX_MARKED)
            snprintf(S.marked[S.n++], sizeof S.marked[0], "%s", ws);
        pthread_cond_signal(&S.cv);
    }
    pthread_mutex_unlock(&S.mu);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *loop(void *arg)
{
    (void)arg;
    db_conn *db = NULL;
    char(*batch)[40] = malloc(sizeof S.marked);
    if (!batch)
        return NULL;
    pthread_mutex_lock(&S.mu);
    while (!S.stop) {
        if (S.n == 0) {
            pthread_cond_wait(&S.cv, &S.mu);
            continue;
        }
        pthread_mutex_unlock(&S.mu);
        sleep_ms(ALERTEVAL_SETTLE_MS); /* let the burst of writes end */
        pthread_mutex_lock(&S.mu);
        int n = S.n;
        memcpy(batch, S.marked, sizeof S.marked[0] * (size_t)n);
        S.n = 0;
        pthread_mutex_unlock(&S.mu);
        app_err err = {0};
        if (!db && !(db = db_connect_single(S.url, S.stmt_timeout_ms, &err)))
            log_warn("alerteval", "no database connection (the scheduler's pass evaluates): %s", err.detail);
        for (int i = 0; db && i < n; i++) {
            long long c[3];
            app_err one = {0};
            if (alerts_evaluate_workspace(db, batch[i], c, &one) != 0) {
                log_warn("alerteval", "evaluation of workspace %s failed: %s", batch[i], one.detail);
                db_close_single(db); /* a fresh connection next time */
                db = NULL;
            }
        }
        pthread_mutex_lock(&S.mu);
    }
    pthread_mutex_unlock(&S.mu);
    if (db)
        db_close_single(db);
    free(batch);
    return NULL;
}

int alerteval_start(const config *cfg)
{
    if (!cfg->alert_on_write)
        return 0;
    S.url = strdup(cfg->database_url);
    S.stmt_timeout_ms = cfg->stmt_timeout_ms;
    S.stop = false;
    S.n = 0;
    if (!S.url || pthread_create(&S.thread, NULL, loop, NULL) != 0) {
        free(S.url);
        S.url = NULL;
        return -1;
    }
    pthread_mutex_lock(&S.mu);
    S.running = true;
    pthread_mutex_unlock(&S.mu);
    return 0;
}

void alerteval_stop(void)
{
    pthread_mutex_lock(&S.mu);
    bool was = S.running;
    S.running = false;
    S.stop = true;
    pthread_cond_broadcast(&S.cv);
    pthread_mutex_unlock(&S.mu);
    if (was)
        pthread_join(S.thread, NULL);
    free(S.url);
    S.url = NULL;
}

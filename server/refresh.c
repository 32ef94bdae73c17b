/* refresh.c - the background recompute thread (see refresh.h). */
#include "refresh.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define REFRESH_QUEUE 64
#define REFRESH_KEY 160

typedef struct {
    char key[REFRESH_KEY];
    refresh_fn fn;
    void *arg;
} job;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static job queue[REFRESH_QUEUE];
static size_t head, count;
static char running_key[REFRESH_KEY]; /* the job in progress, "" when idle */
static bool started, stopping;
static pthread_t thread;
static db_pool *pool;

static void *loop(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&mu);
    for (;;) {
        while (!stopping && count == 0)
            pthread_cond_wait(&cv, &mu);
        if (stopping)
            break;
        job j = queue[head];
        head = (head + 1) % REFRESH_QUEUE;
        count--;
        memcpy(running_key, j.key, sizeof running_key);
        pthread_mutex_unlock(&mu);
        app_err err = {0};
        db_conn *db = db_acquire(pool, &err);
        if (db) {
            j.fn(db, j.arg);
            db_release(pool, db);
        } else {
            log_warn("refresh", "no database connection for %s: %s", j.key, err.detail);
        }
        free(j.arg);
        pthread_mutex_lock(&mu);
        running_key[0] = '\0';
    }
    while (count > 0) { /* dropped at shutdown: the answers were only refreshes */
        free(queue[head].arg);
        head = (head + 1) % REFRESH_QUEUE;
        count--;
    }
    pthread_mutex_unlock(&mu);
    return NULL;
}

int refresh_start(db_pool *p)
{
    pthread_mutex_lock(&mu);
    int rc = 0;
    if (!started) {
        pool = p;
        stopping = false;
        head = count = 0;
        running_key[0] = '\0';
        rc = pthread_create(&thread, NULL, loop, NULL) == 0 ? 0 : -1;
        started = rc == 0;
    }
    pthread_mutex_unlock(&mu);
    return rc;
}

void refresh_stop(void)
{
    pthread_mutex_lock(&mu);
    if (!started) {
        pthread_mutex_unlock(&mu);
        return;
    }
    stopping = true;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(thread, NULL);
    pthread_mutex_lock(&mu);
    started = false;
    pthread_mutex_unlock(&mu);
}

bool refresh_submit(const char *key, refresh_fn fn, void *arg)
{
    if (strlen(key) >= REFRESH_KEY)
        return false;
    pthread_mutex_lock(&mu);
    bool queued = false;
    if (started && !stopping) {
        bool pending = strcmp(running_key, key) == 0;
        for (size_t i = 0; !pending && i < count; i++)
            pending = strcmp(queue[(head + i) % REFRESH_QUEUE].key, key) == 0;
        if (pending) {
            free(arg);
            queued = true;
        } else if (count < REFRESH_QUEUE) {
            job *j = &queue[(head + count) % REFRESH_QUEUE];
            snprintf(j->key, sizeof j->key, "%s", key);
            j->fn = fn;
            j->arg = arg;
            count++;
            queued = true;
            pthread_cond_signal(&cv);
        }
    }
    pthread_mutex_unlock(&mu);
    return queued;
}

/* refresh.h - one background thread that recomputes cached answers, so a
 * request that finds a stale answer serves it at once instead of holding
 * its worker thread (and every connection that thread serves) for the
 * computation (stale-while-revalidate with the revalidation off the
 * request path).
 *
 * Jobs are keyed: a key already queued or running is not queued again, so
 * a burst of stale hits costs one computation. The queue is bounded; when
 * it is full, or the thread is not running (CLI commands, tests of the
 * core), refresh_submit returns false and the caller computes inline.
 */
#ifndef REVOPS_REFRESH_H
#define REVOPS_REFRESH_H

#include <stdbool.h>

#include "db.h"

/* A job: recompute with db and store the result (e.g. respcache_put).
 * arg is freed with free() after the job ran or when it is dropped. */
typedef void (*refresh_fn)(db_conn *db, void *arg);

/* Start the thread; it borrows connections from pool per job. 0 or -1. */
int refresh_start(db_pool *pool);
/* Finish the running job, drop the queued ones, join. Safe when not started. */
void refresh_stop(void);
/* Queue fn(arg) under key. true: queued (or the same key is already
 * pending; arg is freed then); false: not queued, arg untouched. */
bool refresh_submit(const char *key, refresh_fn fn, void *arg);

#endif

/* whapply.h - the webhook appliers (issue 17): threads that claim pending
 * webhook events (FOR UPDATE SKIP LOCKED) and apply them in batches through
 * webhook_apply_batch (sql/40_webhooks.sql), each on its own connection, and
 * the backlog figures every instance reports (/metrics, /readyz, the 503 of
 * POST /v1/hooks/{id}), read from the database once a second. */
#ifndef REVOPS_WHAPPLY_H
#define REVOPS_WHAPPLY_H

#include <stdbool.h>

#include "config.h"

/* Start cfg->webhook_appliers applier threads (0: this instance applies
 * nothing; others do) and the backlog reader. 0, or -1 when a thread could
 * not start. */
int whapply_start(const config *cfg);
/* Stop them; a batch in flight finishes (or rolls back) first. */
void whapply_stop(void);
/* Wake an idle applier: events were just stored. */
void whapply_notify(void);

typedef struct {
    bool known;          /* false until the first reading */
    long long pending;   /* events waiting for an applier, all instances */
    double oldest_age_s; /* age of the oldest of them (0 when none) */
    long long applied;   /* events this instance's appliers applied since start */
} whapply_backlog;
whapply_backlog whapply_stats(void);

/* Read the backlog now (for a test or a caller that cannot wait a second). */
void whapply_refresh(void);

#endif

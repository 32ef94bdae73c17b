/* alertsend.h - the alert webhook senders (docs/alerts.md).
 *
 * Each sender thread, on its own connection, takes one due delivery from the
 * shared outbox (alert_deliveries) with FOR UPDATE SKIP LOCKED, POSTs it
 * signed the Standard Webhooks way (webhook-id, webhook-timestamp,
 * webhook-signature) with libcurl, and records the attempt and the outcome in
 * the same transaction: two senders (of one instance or of two) never hold
 * one delivery at once, and a crash before the commit leaves it pending, so
 * it is sent again (at least once on the wire; receivers dedupe on
 * webhook-id, which stays the same). A 2xx delivers; a 410 disables the
 * destination; anything else retries on core/alert.c's schedule.
 */
#ifndef REVOPS_ALERTSEND_H
#define REVOPS_ALERTSEND_H

#include "config.h"

/* Start cfg->alert_senders threads (0: none on this instance). 0, or -1
 * when some could not start. */
int alertsend_start(const config *cfg);
/* Stop and join them; safe when none started. */
void alertsend_stop(void);
/* Wake idle senders: outbox rows were just committed. */
void alertsend_notify(void);

/* This instance's senders since start (for /metrics): attempts that
 * delivered, that will be retried, deliveries given up after the last retry,
 * destinations disabled by a 410. */
typedef struct {
    long long delivered, retried, failed, disabled;
} alertsend_counts;
alertsend_counts alertsend_stats(void);

#endif

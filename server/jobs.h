/* jobs.h - background work: scheduled pipeline snapshots and their
 * retention, and the lead routing escalation pass (issue 19: "no action in
 * 30 minutes -> manager" runs without anyone calling POST
 * /v1/routing/escalations).
 *
 * Every instance runs the loop; PostgreSQL decides who works: a session
 * advisory lock lets one instance at a time do a tick, and a unique index on
 * (workspace, schedule, slot) makes each scheduled snapshot exist exactly
 * once even if two ticks overlap.
 */
#ifndef REVOPS_JOBS_H
#define REVOPS_JOBS_H

#include "db.h"

typedef struct jobs jobs;

/* Start the loop (one tick every interval_s seconds); NULL when interval_s
 * is 0 (disabled) or the thread cannot start. */
jobs *jobs_start(db_pool *pool, int interval_s);
/* The escalation loop: every interval_s seconds, every workspace's due
 * escalations (sql/74_leads.sql routing_escalate; exactly once across
 * instances). NULL when interval_s is 0 (off) or the thread cannot start. */
jobs *jobs_start_escalations(db_pool *pool, int interval_s);
/* Stop and join; accepts NULL. */
void jobs_stop(jobs *s);
/* One tick (also for tests): returns snapshots taken, or -1. */
int jobs_tick(db_conn *db, app_err *err);
/* One escalation pass: assignments escalated, or -1. */
int jobs_escalate_tick(db_conn *db, app_err *err);

#endif

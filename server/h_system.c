/* h_system.c - liveness, readiness and Prometheus metrics. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "alertsend.h"
#include "prom.h"
#include "whapply.h"

/* A fixed text: packing and dumping a JSON object was 3% of a /healthz. */
void h_healthz(http_req *rq) { http_reply_json_text(rq, 200, "{\"status\":\"ok\"}"); }

void h_readyz(http_req *rq)
{
    /* a probe answers within its own deadline (connecting included): a hung
     * database is "not ready" in about a second, not after the full one */
    int ready_ms = http_config(rq)->ready_deadline_ms, full_ms = http_config(rq)->db_deadline_ms;
    app_err err = {0};
    db_conn *db =
        rq->db ? rq->db
               : db_acquire_within(http_pool(rq),
                                   ready_ms > 0 && (full_ms <= 0 || ready_ms < full_ms) ? ready_ms : full_ms, &err);
    if (!db) {
        http_reply_error(rq, &err);
        return;
    }
    rq->db = db; /* released by the dispatcher */
    char one[8];
    if (db_query_value(db, "SELECT 1", 0, NULL, one, sizeof one, &err) < 0) {
        http_reply_error(rq, &err);
        return;
    }
    /* webhook events waiting longer than --webhook-max-lag: still serving
     * (the backlog is the database's, shared by every instance; taking this
     * one out would not drain it), but degraded, with the figures */
    whapply_backlog b = whapply_stats();
    if (b.known && b.oldest_age_s > http_config(rq)->webhook_max_lag) {
        http_reply_json(rq, 200,
                        json_pack("{s:s, s:s, s:I, s:f}", "status", "degraded", "database", "ok", "webhook_pending",
                                  (json_int_t)b.pending, "webhook_lag_seconds", b.oldest_age_s));
        return;
    }
    http_reply_json(rq, 200, json_pack("{s:s, s:s}", "status", "ready", "database", "ok"));
}

void h_metrics(http_req *rq)
{
    db_pool *pool = http_pool(rq);
    size_t len = 0;
    char *text = prom_render(db_pool_in_use(pool), db_pool_size(pool), &len);
    if (!text) {
        http_fail(rq, ERR_INTERNAL, "could not render metrics");
        return;
    }
    whapply_backlog b = whapply_stats();
    char more[2048];
    int m = snprintf(more, sizeof more,
                     "# HELP revops_webhook_pending_events Webhook events stored and waiting for an applier (all "
                     "instances).\n# TYPE revops_webhook_pending_events gauge\nrevops_webhook_pending_events %lld\n"
                     "# HELP revops_webhook_oldest_pending_seconds Age of the oldest pending webhook event.\n"
                     "# TYPE revops_webhook_oldest_pending_seconds gauge\nrevops_webhook_oldest_pending_seconds %.3f\n"
                     "# HELP revops_webhook_applied_total Webhook events this instance's appliers applied.\n"
                     "# TYPE revops_webhook_applied_total counter\nrevops_webhook_applied_total %lld\n",
                     b.pending, b.oldest_age_s, b.applied);
    alertsend_counts ac = alertsend_stats();
    if (m > 0 && (size_t)m < sizeof more)
        m += snprintf(more + m, sizeof more - (size_t)m,
                      "# HELP revops_alert_attempts_total Alert webhook attempts this instance's senders made, by"
                      " outcome.\n# TYPE revops_alert_attempts_total counter\n"
                      "revops_alert_attempts_total{outcome=\"delivered\"} %lld\n"
                      "revops_alert_attempts_total{outcome=\"retried\"} %lld\n"
                      "revops_alert_attempts_total{outcome=\"failed\"} %lld\n"
                      "revops_alert_attempts_total{outcome=\"gone\"} %lld\n",
                      ac.delivered, ac.retried, ac.failed, ac.disabled);
    http_pool_stats ps = http_worker_pool_stats(rq);
    if (m > 0 && (size_t)m < sizeof more)
        m += snprintf(more + m, sizeof more - (size_t)m,
                      "# HELP revops_worker_pool_size Threads running expensive and slow requests (--workers).\n"
                      "# TYPE revops_worker_pool_size gauge\nrevops_worker_pool_size %d\n"
                      "# HELP revops_worker_pool_busy Workers running a request now.\n"
                      "# TYPE revops_worker_pool_busy gauge\nrevops_worker_pool_busy %d\n"
                      "# HELP revops_worker_pool_queued Requests waiting (suspended) in the pool's queue.\n"
                      "# TYPE revops_worker_pool_queued gauge\nrevops_worker_pool_queued %d\n",
                      ps.workers, ps.busy, ps.queued);
    char *all = m > 0 && (size_t)m < sizeof more ? realloc(text, len + (size_t)m + 1) : NULL;
    if (all) {
        memcpy(all + len, more, (size_t)m + 1);
        text = all;
        len += (size_t)m;
    }
    http_reply_text(rq, 200, "text/plain; version=0.0.4", text, len);
}

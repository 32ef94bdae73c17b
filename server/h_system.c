/* h_system.c - liveness, readiness and Prometheus metrics. */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "prom.h"

void h_healthz(http_req *rq) { http_reply_json(rq, 200, json_pack("{s:s}", "status", "ok")); }

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
    http_reply_text(rq, 200, "text/plain; version=0.0.4", text, len);
}

/* h_system.c - liveness, readiness and Prometheus metrics. */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "prom.h"

void h_healthz(http_req *rq) { http_reply_json(rq, 200, json_pack("{s:s}", "status", "ok")); }

void h_readyz(http_req *rq)
{
    db_conn *db = http_db(rq);
    if (!db)
        return; /* http_db answered 503 */
    app_err err = {0};
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

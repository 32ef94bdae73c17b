/* revenue.h - the writers behind the revenue inputs' endpoints (h_revenue.c),
 * shared with `revopsd demo load` (demo.c) so the demo's synthetic companion
 * is written exactly as PUT /v1/subscriptions, POST /v1/spend and PUT
 * /v1/finance write. */
#ifndef REVOPS_REVENUE_H
#define REVOPS_REVENUE_H

#include <jansson.h>
#include <stdbool.h>

#include "db.h"
#include "errors.h"

/* One subscription upsert (PUT /v1/subscriptions/{id}), validated already. */
typedef struct {
    const char *workspace_id;
    const char *external_id;
    const char *account;
    long long arr_cents;
    const char *start, *end, *renewal; /* YYYY-MM-DD or NULL */
    char *result;                      /* subscription JSON (caller frees) */
    bool created;
} sub_put;

/* Write it and re-derive its account's movements; run inside a transaction
 * (a db_tx_fn: ctx is a sub_put). 0 or -1 with err. */
int revenue_sub_put_tx(db_conn *c, void *ctx, app_err *err);

/* Check one POST /v1/spend item (ctx: the workspace's fiscal-year start
 * month, an int *) and append its canonical row to rows, or field errors. */
void revenue_spend_check(const json_t *item, json_t *rows, void *ctx, app_err *e);

/* $1 workspace, $2 the canonical rows (JSON array); RETURNING spend_json. */
#define REVENUE_SPEND_INSERT_SQL                                                                                       \
    "INSERT INTO spend (workspace_id, period, period_start, period_end, category, channel, segment,"                   \
    " amount_cents) SELECT $1, x.period, x.start, x.end, x.category, x.channel, x.segment, x.amount_cents"             \
    " FROM ROWS FROM (jsonb_to_recordset($2::jsonb) AS (period text, start date, \"end\" date,"                        \
    "      category text, channel text, segment text, amount_cents bigint))"                                           \
    " WITH ORDINALITY AS x(period, start, \"end\", category, channel, segment, amount_cents, n) ORDER BY x.n"          \
    " RETURNING spend_json(spend)"

/* $1 workspace, $2 canonical period label, $3/$4 its start/end dates, $5
 * gross margin or NULL, $6 net burn cents or NULL (a NULL keeps the stored
 * value); RETURNING finance_json, created. */
#define REVENUE_FINANCE_UPSERT_SQL                                                                                     \
    "INSERT INTO finance_periods AS f (workspace_id, period, period_start, period_end,"                                \
    " gross_margin, net_burn_cents) VALUES ($1, $2, $3::date, $4::date, $5::numeric, $6::bigint)"                      \
    " ON CONFLICT (workspace_id, period) DO UPDATE SET"                                                                \
    " gross_margin = COALESCE(EXCLUDED.gross_margin, f.gross_margin),"                                                 \
    " net_burn_cents = COALESCE(EXCLUDED.net_burn_cents, f.net_burn_cents), updated_at = now()"                        \
    " RETURNING finance_json(f), (xmax = 0)"

#endif

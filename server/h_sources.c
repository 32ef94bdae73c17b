/* h_sources.c - the pipeline's source mix of a period: GET /v1/pipeline/sources,
 * and part 3 of the QBR ("Pipeline Quality: coverage, aging, source mix",
 * seed 001), which cites it. The counts come from one SQL function
 * (pipeline_source_mix, sql/70_audit.sql); shares and the win rate from core. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "forecast.h"
#include "handlers.h"
#include "report.h"

static json_t *money_j(money_t c) { return json_real((double)c / 100.0); }

static json_t *share_j(money_t part, money_t total)
{
    double v;
    return report_share(part, total, &v) ? json_real(round(v * 10000) / 10000) : json_null();
}

typedef struct {
    long created, won, lost, open;
    money_t created_c, won_c, open_c;
} mix_row;

static json_t *row_json(const char *source, const mix_row *x, const mix_row *total)
{
    metric_value wr = report_win_rate(x->won, x->won + x->lost);
    json_t *o =
        json_pack("{s:I, s:o, s:I, s:o, s:I, s:o, s:I, s:o}", "created_deals", (json_int_t)x->created, "created_amount",
                  money_j(x->created_c), "won_deals", (json_int_t)x->won, "won_amount", money_j(x->won_c), "lost_deals",
                  (json_int_t)x->lost, "win_rate", wr.ok ? json_real(round(wr.value * 10000) / 10000) : json_null(),
                  "open_deals", (json_int_t)x->open, "open_amount", money_j(x->open_c));
    if (source) {
        json_object_set_new(o, "source", json_string(source));
        json_object_set_new(o, "created_share", share_j(x->created_c, total->created_c));
        json_object_set_new(o, "won_share", share_j(x->won_c, total->won_c));
        json_object_set_new(o, "open_share", share_j(x->open_c, total->open_c));
    }
    return o;
}

int pipeline_sources_build(db_conn *db, const char *ws, const period *P, caldate_t today, json_t **out, app_err *err)
{
    char sb[16], eb[16], ab[16], pl[16];
    caldate_format(P->start, sb, sizeof sb);
    caldate_format(P->end, eb, sizeof eb);
    const char *p[] = {ws, sb, eb};
    /* as known at the period's end (its first instant after), or now for a
     * period still running; the largest created pipeline first */
    PGresult *r =
        db_query(db,
                 "SELECT * FROM pipeline_source_mix($1, $2::date, $3::date, least($3::date::timestamptz, now()))"
                 " ORDER BY created_cents DESC, open_cents DESC, source",
                 3, p, err);
    if (!r)
        return -1;
    int n = PQntuples(r);
    mix_row *rows = calloc((size_t)n + 1, sizeof *rows), total = {0};
    if (!rows) {
        PQclear(r);
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        mix_row *x = &rows[i];
        x->created = atol(PQgetvalue(r, i, 1));
        x->created_c = strtoll(PQgetvalue(r, i, 2), NULL, 10);
        x->won = atol(PQgetvalue(r, i, 3));
        x->won_c = strtoll(PQgetvalue(r, i, 4), NULL, 10);
        x->lost = atol(PQgetvalue(r, i, 5));
        x->open = atol(PQgetvalue(r, i, 6));
        x->open_c = strtoll(PQgetvalue(r, i, 7), NULL, 10);
        total.created += x->created, total.won += x->won, total.lost += x->lost, total.open += x->open;
        total.created_c += x->created_c, total.won_c += x->won_c, total.open_c += x->open_c;
    }
    json_t *sources = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(sources, row_json(PQgetvalue(r, i, 0), &rows[i], &total));
    PQclear(r);
    free(rows);
    bool ended = P->end <= today;
    *out = json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:o}", "period", period_format(P, pl, sizeof pl), "from", sb, "to",
                     caldate_format(P->end - 1, eb, sizeof eb), "as_of",
                     caldate_format(ended ? P->end - 1 : today, ab, sizeof ab), "ended", ended, "sources", sources,
                     "total", row_json(NULL, &total, &total));
    return 0;
}

/* GET /v1/pipeline/sources?period= (default: the current fiscal quarter). */
void h_pipeline_sources(http_req *rq)
{
    app_err err = {0};
    db_conn *db = http_db(rq);
    if (!db)
        return;
    const char *ws = rq->auth.workspace_id, *ps = http_query(rq, "period");
    int fsm = workspace_fy_start(db, ws, &err);
    if (fsm < 0) {
        http_reply_error(rq, &err);
        return;
    }
    caldate_t today = utc_today();
    period P = period_containing(PERIOD_QUARTER, today, fsm);
    if (ps && !period_parse(ps, fsm, &P)) {
        http_fail(rq, ERR_VALIDATION, "period must be a period such as 2026-Q1, 2026-03 or FY2026");
        return;
    }
    if (!forecast_period_in_reach(&P, today)) {
        http_fail(rq, ERR_VALIDATION, "period " FORECAST_REACH_MSG);
        return;
    }
    json_t *out = NULL;
    if (pipeline_sources_build(db, ws, &P, today, &out, &err) != 0)
        http_reply_error(rq, &err);
    else
        http_reply_json_etag(rq, out);
}

/* fcdata.c - forecast inputs from the stored deals: funnel, learned history,
 * as-of pipeline. */
#include "fcdata.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "funneldoc.h"

int fcdata_default_funnel(db_conn *db, const char *ws, funnel_def *def, char *id, char *version, app_err *err)
{
    const char *fp[] = {ws};
    PGresult *fr = db_query(db,
                            "SELECT document, id, version FROM funnels WHERE workspace_id = $1 AND is_default"
                            " AND deleted_at IS NULL",
                            1, fp, err);
    if (!fr)
        return -1;
    json_t *doc = PQntuples(fr) ? json_loads(PQgetvalue(fr, 0, 0), 0, NULL) : NULL;
    id[0] = version[0] = '\0';
    if (PQntuples(fr)) {
        snprintf(id, 40, "%s", PQgetvalue(fr, 0, 1));
        snprintf(version, 16, "%s", PQgetvalue(fr, 0, 2));
    }
    PQclear(fr);
    bool ok = doc && funneldoc_to_def(doc, def) == 0;
    json_decref(doc);
    if (!ok) {
        app_err_set(err, ERR_INTERNAL, "the default funnel does not decode");
        return -1;
    }
    return 0;
}

void fcdata_history_free(fcdata_history *b)
{
    for (int i = 0; i < FUNNEL_MAX_STAGES; i++) {
        free(b->days[i]);
        b->days[i] = NULL;
    }
    free(b->c2c);
    b->c2c = NULL;
}

int fcdata_load_history(db_conn *db, const char *ws, const funnel_def *def, const char *as_of, fcdata_history *b,
                        app_err *err)
{
    memset(b, 0, sizeof *b);
    const char *p[] = {ws, as_of};
    /* Each closed deal's stage history by its key (LATERAL, OFFSET 0 keeps it
     * a per-deal lookup): planned as a join on stale statistics, it scanned
     * the workspace's deals once per history row (see ASOF_SQL). */
    PGresult *r = db_query(db,
                           "SELECT h.stage, count(DISTINCT h.deal_id), count(DISTINCT h.deal_id) FILTER (WHERE d.status = 'won')"
                           " FROM deals d CROSS JOIN LATERAL (SELECT s.deal_id, s.stage FROM deal_stage_history s"
                           "  WHERE s.workspace_id = $1 AND s.deal_id = d.external_id OFFSET 0) h"
                           " WHERE d.workspace_id = $1 AND d.deleted_at IS NULL AND d.status IN ('won', 'lost')"
                           " AND d.closed_at < $2::date GROUP BY h.stage",
                           2, p, err);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        int s = funnel_stage_index(def, PQgetvalue(r, i, 0));
        if (s >= 0) {
            b->st[s].reached = atoll(PQgetvalue(r, i, 1));
            b->st[s].won = atoll(PQgetvalue(r, i, 2));
        }
    }
    PQclear(r);
    r = db_query(db,
                 "SELECT h.stage, greatest(0, floor(extract(epoch FROM d.closed_at - h.entered_at) / 86400))::int AS days"
                 " FROM deals d CROSS JOIN LATERAL (SELECT s.stage, s.entered_at FROM deal_stage_history s"
                 "  WHERE s.workspace_id = $1 AND s.deal_id = d.external_id AND s.entered_at IS NOT NULL OFFSET 0) h"
                 " WHERE d.workspace_id = $1 AND d.deleted_at IS NULL AND d.status = 'won'"
                 " AND d.closed_at < $2::date ORDER BY 1, 2",
                 2, p, err);
    if (!r)
        return -1;
    int n = PQntuples(r);
    for (int s = 0; s < def->nstages; s++)
        b->days[s] = malloc(((size_t)n + 1) * sizeof(int));
    for (int i = 0; i < n; i++) {
        int s = funnel_stage_index(def, PQgetvalue(r, i, 0));
        if (s >= 0 && b->days[s])
            b->days[s][b->st[s].nwon_days++] = atoi(PQgetvalue(r, i, 1));
    }
    PQclear(r);
    for (int s = 0; s < def->nstages; s++)
        b->st[s].won_days = b->days[s];
    /* run-rate: the last year of created deals */
    r = db_query(db,
                 "SELECT count(*)::float8 / 365, COALESCE(avg((status = 'won')::int) FILTER (WHERE status <> 'open'), 0),"
                 " COALESCE(avg(amount_cents) FILTER (WHERE status = 'won'), 0),"
                 " COALESCE(avg(amount_cents::float8 * amount_cents) FILTER (WHERE status = 'won'), 0)"
                 " FROM deals WHERE workspace_id = $1 AND deleted_at IS NULL AND created_at < $2::date"
                 " AND created_at >= $2::date - 365 AND (status = 'open' OR closed_at < $2::date)",
                 2, p, err);
    if (!r)
        return -1;
    b->h.created_per_day = atof(PQgetvalue(r, 0, 0));
    b->h.new_win_rate = atof(PQgetvalue(r, 0, 1));
    b->h.avg_won_amount = (money_t)llround(atof(PQgetvalue(r, 0, 2)));
    b->h.won_amount_sq_mean = atof(PQgetvalue(r, 0, 3));
    PQclear(r);
    r = db_query(db,
                 "SELECT greatest(0, floor(extract(epoch FROM closed_at - created_at) / 86400))::int FROM deals"
                 " WHERE workspace_id = $1 AND deleted_at IS NULL AND status = 'won' AND closed_at < $2::date ORDER BY 1",
                 2, p, err);
    if (!r)
        return -1;
    n = PQntuples(r);
    b->c2c = malloc(((size_t)n + 1) * sizeof(int));
    for (int i = 0; b->c2c && i < n; i++)
        b->c2c[i] = atoi(PQgetvalue(r, i, 0));
    PQclear(r);
    b->h.stages = b->st;
    b->h.prior_strength = 10;
    b->h.create_to_close_days = b->c2c;
    b->h.ncreate_to_close = b->c2c ? (size_t)n : 0;
    return 0;
}

/* The open pipeline at `at`, in one query. Field values as of T come from
 * deal_changes by event time (changed_at): the latest change before T wins;
 * with none before T, the earliest one after T tells what the value was
 * (its old value), except the record that created the deal, whose old value
 * is SQL NULL: its new value is the first value ever seen, taken as the value
 * then (a snapshot import cannot say more). Only applied changes count after
 * T: a stale change's old value is the value when it arrived, not before its
 * event. A field without any such record keeps its current value. The stage and
 * its entry time come from the stage history (the last entry before T), else
 * the same way from changes.
 *
 * Plan shape (issue 16): the changes and the stage entry are looked up per
 * open deal in LATERAL subqueries, by (workspace_id, deal_id) on the history
 * indexes. Joining whole sets instead left the join method to the statistics:
 * on tables last analysed while they were small, the planner expected one row
 * per side and nested-looped the workspace's history against every open deal
 * (quadratic; a freshly loaded workspace hit the statement timeout). */
static const char ASOF_SQL[] =
    "WITH t AS (SELECT ($2::date::timestamp AT TIME ZONE 'UTC') AS at),"
    " live AS (SELECT d.* FROM deals d, t WHERE d.workspace_id = $1 AND d.created_at < t.at"
    "  AND (d.closed_at IS NULL OR d.closed_at >= t.at) AND (d.deleted_at IS NULL OR d.deleted_at >= t.at))"
    " SELECT l.external_id,"
    "  CASE WHEN piv.v ? 'amount' THEN round((piv.v ->> 'amount')::numeric * 100)::bigint ELSE l.amount_cents END,"
    "  COALESCE(h.stage, CASE WHEN piv.v ? 'stage' THEN piv.v ->> 'stage' ELSE l.stage END),"
    "  to_char(h.entered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'),"
    "  CASE WHEN piv.v ? 'probability' THEN (piv.v ->> 'probability')::float8 ELSE l.probability::float8 END,"
    "  CASE WHEN piv.v ? 'forecast_category' THEN piv.v ->> 'forecast_category' ELSE l.forecast_category END,"
    "  CASE WHEN piv.v ? 'expected_close_date' THEN (piv.v ->> 'expected_close_date')::date"
    "   ELSE l.expected_close_date END"
    " FROM live l CROSS JOIN t"
    " LEFT JOIN LATERAL (SELECT"
    "   jsonb_object_agg(ch.field, CASE WHEN ch.has_before THEN ch.before_v ELSE ch.after_v END) AS v"
    "   FROM (SELECT c.field,"
    "    (array_agg(c.new_value ORDER BY c.changed_at DESC, c.id DESC) FILTER (WHERE c.changed_at < t.at))[1]"
    "     AS before_v,"
    "    bool_or(c.changed_at < t.at) AS has_before,"
    "    (array_agg(CASE WHEN c.old_value IS NULL THEN c.new_value ELSE c.old_value END ORDER BY c.changed_at, c.id)"
    "     FILTER (WHERE c.changed_at >= t.at AND c.applied))[1] AS after_v,"
    "    bool_or(c.changed_at >= t.at AND c.applied) AS has_after"
    "    FROM deal_changes c WHERE c.workspace_id = $1 AND c.deal_id = l.external_id"
    "    AND c.field IN ('amount', 'stage', 'probability', 'forecast_category', 'expected_close_date')"
    "    GROUP BY c.field) ch WHERE ch.has_before OR ch.has_after) piv ON true"
    " LEFT JOIN LATERAL (SELECT s.stage, s.entered_at FROM deal_stage_history s"
    "   WHERE s.workspace_id = $1 AND s.deal_id = l.external_id AND s.entered_at < t.at"
    "   ORDER BY s.entered_at DESC, s.id DESC LIMIT 1) h ON true"
    " ORDER BY l.external_id";

bool fcdata_estimate_close(forecast_deal *d, const fcdata_history *hist, caldate_t as_of)
{
    d->close_estimated = true;
    d->expected_close = forecast_estimate_close(hist ? &hist->st[d->stage] : NULL, d->stage_entered, as_of);
    if (d->expected_close != FORECAST_NO_DATE)
        return false;
    d->expected_close = INT32_MAX; /* in no period */
    return true;
}

void fcdata_pipeline_free(fcdata_pipeline *p)
{
    PQclear(p->rows);
    free(p->deals);
    free(p->amount_imputed);
    free(p->close_estimated);
    memset(p, 0, sizeof *p);
}

int fcdata_load_asof(db_conn *db, const char *ws, const funnel_def *def, caldate_t at, const fcdata_history *hist,
                     fcdata_pipeline *out, app_err *err)
{
    memset(out, 0, sizeof *out);
    char day[16];
    caldate_format(at, day, sizeof day);
    const char *p[] = {ws, day};
    out->rows = db_query(db, ASOF_SQL, 2, p, err);
    if (!out->rows)
        return -1;
    PGresult *r = out->rows;
    size_t n = (size_t)PQntuples(r);
    out->deals = calloc(n + 1, sizeof *out->deals);
    out->amount_imputed = calloc(n + 1, sizeof *out->amount_imputed);
    out->close_estimated = calloc(n + 1, sizeof *out->close_estimated);
    if (!out->deals || !out->amount_imputed || !out->close_estimated) {
        fcdata_pipeline_free(out);
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    int opp = funnel_stage_index(def, "opportunity");
    for (size_t i = 0; i < n; i++) {
        int row = (int)i;
        forecast_deal *d = &out->deals[i];
        d->group = -1;
        d->closed_at = INT32_MIN;
        d->last_activity = FORECAST_NO_DATE;
        if (PQgetisnull(r, row, 1)) { /* not known then: the average won deal of the history */
            d->amount = hist ? hist->h.avg_won_amount : 0;
            out->amount_imputed[i] = true;
            out->imputed_amounts++;
        } else {
            d->amount = strtoll(PQgetvalue(r, row, 1), NULL, 10);
        }
        out->open_amount += d->amount;
        /* a stage outside the funnel, or a closed stage on a deal still open then:
         * opportunity, as POST /v1/forecasts does */
        int st = PQgetisnull(r, row, 2) ? -1 : funnel_stage_index(def, PQgetvalue(r, row, 2));
        if (st < 0 || def->stages[st].won || def->stages[st].lost)
            st = opp >= 0 ? opp : 0;
        d->stage = st;
        if (PQgetisnull(r, row, 3) || !caldate_parse(PQgetvalue(r, row, 3), &d->stage_entered))
            d->stage_entered = FORECAST_NO_DATE;
        d->probability = PQgetisnull(r, row, 4) ? NAN : atof(PQgetvalue(r, row, 4));
        int cat = PQgetisnull(r, row, 5) ? -1 : forecast_category_parse(PQgetvalue(r, row, 5));
        d->category = cat >= 0 ? (forecast_category)cat : def->stages[st].category;
        if (PQgetisnull(r, row, 6) || !caldate_parse(PQgetvalue(r, row, 6), &d->expected_close)) {
            out->close_estimated[i] = true;
            out->estimated_closes++;
            if (fcdata_estimate_close(d, hist, at))
                out->never_closing++;
        }
    }
    out->n = n;
    return 0;
}

int fcdata_won_between(db_conn *db, const char *ws, caldate_t start, caldate_t end, money_t *out, app_err *err)
{
    char s[16], e[16], buf[32];
    caldate_format(start, s, sizeof s);
    caldate_format(end, e, sizeof e);
    const char *p[] = {ws, s, e};
    int rc = db_query_value(db,
                            "SELECT COALESCE(sum(amount_cents), 0) FROM deals WHERE workspace_id = "
                            "$1 AND deleted_at IS NULL"
                            " AND status = 'won' AND closed_at >= ($2::date::timestamp AT TIME ZONE 'UTC')"
                            " AND closed_at < ($3::date::timestamp AT TIME ZONE 'UTC')",
                            3, p, buf, sizeof buf, err);
    if (rc < 0)
        return -1;
    *out = rc > 0 ? strtoll(buf, NULL, 10) : 0;
    return 0;
}

/* fcdata.c - forecast inputs from the stored deals: funnel, learned history,
 * as-of pipeline. */
#include "fcdata.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "crm.h"
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
    PGresult *r =
        db_query(db,
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
    r = db_query(
        db,
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
    r = db_query(
        db,
        "SELECT count(*)::float8 / 365, COALESCE(avg((status = 'won')::int) FILTER (WHERE status <> 'open'), 0),"
        " COALESCE(avg(a) FILTER (WHERE status = 'won'), 0),"
        " COALESCE(avg(a::float8 * a) FILTER (WHERE status = 'won'), 0)"
        " FROM (SELECT *, fx_convert(workspace_id, " CRM_WS_CURRENCY
        ", currency, amount_cents, closed_at) AS a FROM deals) d WHERE workspace_id = $1 AND deleted_at IS NULL AND "
        "created_at < $2::date"
        " AND created_at >= $2::date - 365 AND (status = 'open' OR closed_at < $2::date)",
        2, p, err);
    if (!r)
        return -1;
    b->h.created_per_day = atof(PQgetvalue(r, 0, 0));
    b->h.new_win_rate = atof(PQgetvalue(r, 0, 1));
    b->h.avg_won_amount = (money_t)llround(atof(PQgetvalue(r, 0, 2)));
    b->h.won_amount_sq_mean = atof(PQgetvalue(r, 0, 3));
    PQclear(r);
    r = db_query(
        db,
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

/* The open pipeline at `at` (00:00 UTC), in one query: deals_as_of
 * (migrations/0020_pipeline_as_of.sql), the one reconstruction every figure
 * for a past date uses; its comment says how each value is rebuilt. */
static const char ASOF_SQL[] = "SELECT * FROM deals_as_of($1::uuid, $2::date::timestamp AT TIME ZONE 'UTC')";

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
        d->owner = -1;
        d->closed_at = INT32_MIN;
        d->last_activity = FORECAST_NO_DATE;
        if (PQgetisnull(r, row, 1)) { /* not known then: the average won deal of the history */
            d->amount = hist ? hist->h.avg_won_amount : 0;
            d->amount_imputed = out->amount_imputed[i] = true;
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
                            "SELECT COALESCE(sum(fx_convert(workspace_id, " CRM_WS_CURRENCY
                            ", currency, amount_cents, closed_at)), 0)"
                            " FROM deals WHERE workspace_id = $1 AND deleted_at IS NULL"
                            " AND status = 'won' AND closed_at >= ($2::date::timestamp AT TIME ZONE 'UTC')"
                            " AND closed_at < ($3::date::timestamp AT TIME ZONE 'UTC')",
                            3, p, buf, sizeof buf, err);
    if (rc < 0)
        return -1;
    *out = rc > 0 ? strtoll(buf, NULL, 10) : 0;
    return 0;
}

/* ---- the learned method's history ---------------------------------------- */

/* Stage episodes known at T: every stage entry before T of a deal that
 * existed then, with the next entry before T and the close if it was before
 * T; later facts are not read. Days are whole days since 1970-01-01 UTC
 * (caldate_t). Each deal's entries are a LATERAL lookup on the history index
 * (workspace_id, deal_id, id), whatever the statistics say: joined as sets,
 * tables analysed while small were nested-looped against each other (the
 * bulk-load test hit the statement timeout), and a CTE read twice was
 * materialised and hashed (3.7x slower on 400k entries). */
static const char EPISODES_SQL[] =
    "SELECT e.stage, (e.entered_at AT TIME ZONE 'UTC')::date - date '1970-01-01', e.next_stage,"
    " (e.next_at AT TIME ZONE 'UTC')::date - date '1970-01-01',"
    " CASE WHEN d.closed_at < ($2::date::timestamp AT TIME ZONE 'UTC') THEN d.status END,"
    " (d.closed_at AT TIME ZONE 'UTC')::date - date '1970-01-01', e.k"
    " FROM deals d CROSS JOIN LATERAL (SELECT s.stage, s.entered_at, lead(s.stage) OVER w AS next_stage,"
    "  lead(s.entered_at) OVER w AS next_at, row_number() OVER w AS k FROM deal_stage_history s"
    "  WHERE s.workspace_id = $1 AND s.deal_id = d.external_id AND s.entered_at IS NOT NULL"
    "  AND s.entered_at < ($2::date::timestamp AT TIME ZONE 'UTC') WINDOW w AS (ORDER BY s.entered_at, s.id)) e"
    " WHERE d.workspace_id = $1 AND d.created_at < ($2::date::timestamp AT TIME ZONE 'UTC')"
    " AND (d.deleted_at IS NULL OR d.deleted_at >= ($2::date::timestamp AT TIME ZONE 'UTC'))";

/* Deals created in the 30-day span k before T (k = 0 is the last 30 days). */
#define CREATED_SPAN(k, k1)                                                                                            \
    " count(*) FILTER (WHERE created_at >= t.at - interval '30 days' * " #k1                                           \
    " AND created_at < t.at - interval '30 days'"                                                                      \
    " * " #k "),"

/* Everything the learned method needs besides the episodes, in one pass
 * over the workspace's deals known at T: closed deals (the threshold),
 * deals created in the two 91-day windows before T (rate and trend) and in
 * each 30-day span of the year (the rate's spread), the days of history,
 * the realised amounts of the year's wins, and of those whose amount was
 * known a day before their close, the final and the earlier amounts
 * (realised / expected; the lookup runs for those wins only: FILTER is
 * evaluated before the aggregate's argument). */
static const char LEARN_FACTS_SQL[] =
    "SELECT count(*) FILTER (WHERE status IN ('won', 'lost') AND closed_at < t.at),"
    " count(*) FILTER (WHERE status = 'won' AND closed_at < t.at),"
    " count(*) FILTER (WHERE created_at >= t.at - interval '91 days'),"
    " count(*) FILTER (WHERE created_at >= t.at - interval '182 days' AND created_at < t.at - interval '91 days'),"
    " COALESCE(avg(amount_cents::float8) FILTER (WHERE won_year), 0),"
    " COALESCE(avg(amount_cents::float8 * amount_cents) FILTER (WHERE won_year), 0),"
    " extract(epoch FROM t.at - min(created_at)) / 86400,"
    " count(before), COALESCE(sum(amount_cents::float8) FILTER (WHERE before IS NOT NULL), 0), COALESCE(sum(before), "
    "0)," CREATED_SPAN(0, 1) CREATED_SPAN(1, 2) CREATED_SPAN(2, 3) CREATED_SPAN(3, 4) CREATED_SPAN(4, 5)
        CREATED_SPAN(5, 6) CREATED_SPAN(6, 7) CREATED_SPAN(7, 8) CREATED_SPAN(8, 9) CREATED_SPAN(9, 10) CREATED_SPAN(
            10,
            11) " count(*) FILTER (WHERE created_at >= t.at - interval '30 days' * 12 AND created_at < t.at - interval "
                "'30 days' * 11)"
                /* amounts in the workspace currency at the close's rate (fx_convert), the earlier one too */
                " FROM (SELECT d.created_at, d.status, d.closed_at,"
                "  fx_convert(d.workspace_id, " CRM_WS_CURRENCY
                ", d.currency, d.amount_cents, d.closed_at) AS amount_cents, t.at, w.won_year,"
                "  CASE WHEN w.won_year THEN (SELECT fx_convert(d.workspace_id, " CRM_WS_CURRENCY ", d.currency,"
                "   round((c.new_value #>> '{}')::numeric * 100)::bigint, d.closed_at)::float8 FROM deal_changes c"
                "   WHERE c.workspace_id = $1 AND c.deal_id = d.external_id AND c.field = 'amount'"
                "   AND c.changed_at < d.closed_at - interval '1 day' AND jsonb_typeof(c.new_value) = 'number'"
                "   ORDER BY c.changed_at DESC, c.id DESC LIMIT 1) END AS before"
                "  FROM deals d, (SELECT ($2::date::timestamp AT TIME ZONE 'UTC') AS at) t,"
                "  LATERAL (SELECT d.status = 'won' AND d.closed_at < t.at AND d.closed_at >= t.at - interval '365 "
                "days'"
                "   AND d.amount_cents IS NOT NULL AS won_year) w"
                "  WHERE d.workspace_id = $1 AND d.created_at < t.at AND (d.deleted_at IS NULL OR d.deleted_at >= t.at)"
                "  OFFSET 0) x," /* not flattened: the lookup runs once per win, not once per use */
                " (SELECT ($2::date::timestamp AT TIME ZONE 'UTC') AS at) t GROUP BY t.at";

static bool int_of(PGresult *r, int row, int col, caldate_t *out)
{
    if (PQgetisnull(r, row, col))
        return false;
    *out = (caldate_t)atol(PQgetvalue(r, row, col));
    return true;
}

int fcdata_load_learned(db_conn *db, const char *ws, const funnel_def *def, int fsm, caldate_t at, fclearn_model *m,
                        app_err *err)
{
    char day[16];
    caldate_format(at, day, sizeof day);
    const char *p[] = {ws, day};
    fclearn_input in = {.funnel = def, .fy_start_month = fsm, .as_of = at};
    PGresult *f = db_query(db, LEARN_FACTS_SQL, 2, p, err);
    if (!f)
        return -1;
    if (PQntuples(f) == 1) { /* no row: no deal existed then */
        in.closed_deals = atol(PQgetvalue(f, 0, 0));
        in.won_deals = atol(PQgetvalue(f, 0, 1));
        in.created_recent = atol(PQgetvalue(f, 0, 2));
        in.created_prior = atol(PQgetvalue(f, 0, 3));
        in.won_amount_mean = atof(PQgetvalue(f, 0, 4));
        in.won_amount_sq_mean = atof(PQgetvalue(f, 0, 5));
        double span = atof(PQgetvalue(f, 0, 6)); /* the 30-day spans the history covers */
        in.nmonths = span >= 360 ? 12 : (int)(span / 30);
        in.nratio = atol(PQgetvalue(f, 0, 7));
        in.ratio_final = atof(PQgetvalue(f, 0, 8));
        in.ratio_expected = atof(PQgetvalue(f, 0, 9));
        for (int k = 0; k < in.nmonths; k++)
            in.created_month[k] = atol(PQgetvalue(f, 0, 10 + k));
    }
    PQclear(f);
    PGresult *r = db_query(db, EPISODES_SQL, 2, p, err);
    if (!r)
        return -1;
    int n = PQntuples(r);
    fclearn_episode *ep = malloc(((size_t)n + 1) * sizeof *ep);
    if (!ep) {
        PQclear(r);
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        fclearn_episode *e = &ep[k];
        e->stage = funnel_stage_index(def, PQgetvalue(r, i, 0));
        if (e->stage < 0 || !int_of(r, i, 1, &e->start))
            continue;
        bool first = strcmp(PQgetvalue(r, i, 6), "1") == 0;
        if (first && !def->stages[e->stage].won && !def->stages[e->stage].lost)
            in.entry_stage[e->stage]++;
        caldate_t next = 0, closed = 0;
        bool has_next = int_of(r, i, 3, &next), has_closed = !PQgetisnull(r, i, 4) && int_of(r, i, 5, &closed);
        e->to_stage = -1;
        e->outcome = FCL_CENSORED;
        e->end = at;
        if (has_next && (!has_closed || next <= closed)) {
            int to = funnel_stage_index(def, PQgetvalue(r, i, 2));
            e->end = next;
            if (to < 0)
                e->end = at; /* a stage outside the funnel: followed no further */
            else if (def->stages[to].won)
                e->outcome = FCL_WON;
            else if (def->stages[to].lost)
                e->outcome = FCL_LOST;
            else {
                e->outcome = FCL_MOVED;
                e->to_stage = to;
            }
        } else if (has_closed) {
            e->end = closed;
            e->outcome = strcmp(PQgetvalue(r, i, 4), "won") == 0 ? FCL_WON : FCL_LOST;
        }
        if (e->end < e->start)
            e->end = e->start;
        k++;
    }
    PQclear(r);
    in.episodes = ep;
    in.nepisodes = k;
    int rc = fclearn_fit(&in, m);
    free(ep);
    if (rc != 0)
        app_err_set(err, ERR_INTERNAL, "the learned model could not be fitted");
    return rc;
}

json_t *fcdata_learned_json(const fclearn_model *m, const funnel_def *def)
{
    static const char *const bucket_names[FCLEARN_NBUCKETS] = {"0-6",   "7-13",   "14-29",   "30-59",
                                                               "60-89", "90-179", "180-364", "365+"};
    if (!m->usable && m->episodes == 0)
        return json_pack("{s:b, s:I, s:I}", "usable", 0, "closed_deals", (json_int_t)m->closed_deals, "won_deals",
                         (json_int_t)m->won_deals);
    json_t *stages = json_array();
    for (int s = 0; s < m->nstages; s++) {
        if (!m->open[s])
            continue;
        json_t *buckets = json_array();
        if (m->entry[s] == 0 && m->events[0] + m->events[1] + m->events[2] > 0 &&
            m->shape[0][s][0] == m->shape[0][s][1] && m->rate[0][s][0] == m->rate[0][s][1])
            continue; /* a stage no deal was seen in */
        for (int b = 0; b < FCLEARN_NCELLS; b++) {
            json_t *o = json_pack("{s:s, s:b}", "age_days", bucket_names[b % FCLEARN_NBUCKETS], "slipped",
                                  b >= FCLEARN_NBUCKETS);
            static const char *const kinds[3] = {"won_per_day", "lost_per_day", "moved_per_day"};
            for (int k = 0; k < 3; k++)
                json_object_set_new(
                    o, kinds[k],
                    json_real(m->rate[k][s][b] > 0 ? round(m->shape[k][s][b] / m->rate[k][s][b] * 1e6) / 1e6 : 0));
            json_array_append_new(buckets, o);
        }
        json_array_append_new(stages, json_pack("{s:s, s:o, s:o}", "stage", def->stages[s].key, "entry_share",
                                                json_real(round(m->entry[s] * 1e4) / 1e4), "rates", buckets));
    }
    char from[16];
    caldate_format(m->observed_from, from, sizeof from);
    return json_pack(
        "{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:s, s:o, s:[f, f, f], s:[f, f, f], s:{s:o, s:o, s:o}, "
        "s:{s:o, s:o, s:I}}",
        "usable", m->usable, "closed_deals", (json_int_t)m->closed_deals, "won_deals", (json_int_t)m->won_deals,
        "episodes", (json_int_t)m->episodes, "wins", (json_int_t)m->events[0], "losses", (json_int_t)m->events[1],
        "moves", (json_int_t)m->events[2], "exposure_deal_days", json_real(round(m->exposure_days)), "observed_from",
        from, "stages", stages, "season_won", round(m->season[0][0] * 1e4) / 1e4, round(m->season[0][1] * 1e4) / 1e4,
        round(m->season[0][2] * 1e4) / 1e4, "season_lost", round(m->season[1][0] * 1e4) / 1e4,
        round(m->season[1][1] * 1e4) / 1e4, round(m->season[1][2] * 1e4) / 1e4, "creation", "per_day",
        json_real(round(m->create_per_day * 1e4) / 1e4), "trend_per_quarter",
        json_real(round(pow(m->create_trend, 91) * 1e4) / 1e4), "rate_shape",
        json_real(round(m->create_shape * 100) / 100), "amounts", "won_mean", json_real(round(m->won_mean) / 100),
        "realised_ratio", json_real(round(m->amount_ratio * 1e4) / 1e4), "ratio_deals", (json_int_t)m->nratio);
}

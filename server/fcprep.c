/* fcprep.c - one preparation of a period's deals for the forecast engine. */
#include "fcprep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "crm.h"

/* Index of key in names (appended when new); index maps key -> number. */
static int index_of(json_t *index, json_t *names, const char *key)
{
    json_t *v = json_object_get(index, key);
    if (v)
        return (int)json_integer_value(v);
    int i = (int)json_object_size(index);
    json_object_set_new(index, key, json_integer(i));
    if (names)
        json_array_append_new(names, json_string(key));
    return i;
}

/* A day column given as days since 1970-01-01 (cheaper to format and
 * parse than text for 100,000 rows). */
static bool parse_day(PGresult *r, int row, int col, caldate_t *out)
{
    if (PQgetisnull(r, row, col))
        return false;
    *out = (caldate_t)atol(PQgetvalue(r, row, col));
    return true;
}

/* The group key SQL of group_by over deals d and reps r (manager groups are
 * the owners, rolled up by the caller). */
static const char *group_sql(const char *group_by)
{
    return !group_by                          ? "NULL::text"
           : strcmp(group_by, "segment") == 0 ? "COALESCE(d.segment, '(none)')"
           : strcmp(group_by, "region") == 0  ? "COALESCE(r.region, '(none)')"
                                              : "COALESCE(d.owner, '(none)')";
}

/* The same key for a rebuilt row. */
static const char *group_of_asof(const fcasof_deal *d, const char *group_by)
{
    const char *v = strcmp(group_by, "segment") == 0  ? d->segment
                    : strcmp(group_by, "region") == 0 ? d->region
                                                      : d->owner;
    return v ? v : "(none)";
}

static bool is_excluded(const json_t *excluded, const char *id)
{
    size_t k;
    const json_t *x;
    json_array_foreach(excluded, k, x) if (json_is_string(x) && strcmp(json_string_value(x), id) == 0) return true;
    return false;
}

/* Stage of a stored deal: a stage outside the funnel, or a closed stage on a
 * deal that is not won, is opportunity (as POST /v1/forecasts always did). */
static int stage_index(const funnel_def *def, const char *stage, bool won)
{
    int st = stage ? funnel_stage_index(def, stage) : -1;
    if (st < 0 || (!won && (def->stages[st].won || def->stages[st].lost))) {
        int opp = funnel_stage_index(def, "opportunity");
        st = opp >= 0 ? opp : 0;
    }
    return st;
}

static int stage_of(const funnel_def *def, PGresult *r, int row, int col, bool won)
{
    return stage_index(def, PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col), won);
}

/* A deal's own forecast category, else its stage's. */
static forecast_category category_index(const funnel_def *def, const char *category, int st)
{
    int cat = category ? forecast_category_parse(category) : -1;
    return cat >= 0 ? (forecast_category)cat : def->stages[st].category;
}

static forecast_category category_of(const funnel_def *def, PGresult *r, int row, int col, int st)
{
    return category_index(def, PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col), st);
}

void fcprep_free(fcprep_deals *p)
{
    PQclear(p->live);
    PQclear(p->live_won);
    fcdata_pipeline_free(&p->asof);
    fcdata_history_free(&p->hist);
    free(p->deals);
    free(p->ids);
    json_decref(p->groups);
    json_decref(p->owner_index);
    json_decref(p->group_index);
    memset(p, 0, sizeof *p);
}

static int alloc_deals(fcprep_deals *p, size_t n, app_err *err)
{
    p->deals = calloc(n + 1, sizeof *p->deals);
    p->ids = calloc(n + 1, sizeof *p->ids);
    if (!p->deals || !p->ids) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    return 0;
}

/* Owner index of a deal (-1 without an owner). */
static int owner_index_of(fcprep_deals *p, const char *owner)
{
    return owner && *owner ? index_of(p->owner_index, NULL, owner) : -1;
}

static int owner_of(fcprep_deals *p, PGresult *r, int row, int col)
{
    return owner_index_of(p, PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col));
}

/* The deals as they are now: open ones, then those won in the period (the
 * deals POST /v1/forecasts has always counted), as two queries so that
 * each reads its own partial index (migration 0047): the open deals of a
 * workspace with 150,000 closed ones are 100,000 index entries, not a scan
 * of all 250,000 (~30 ms instead of ~100 ms). */
static const char LIVE_SQL[] =
    /* in the workspace currency: open deals at today's rate, won ones at their close's (fx_convert) */
    "SELECT d.external_id, COALESCE(fx_convert(d.workspace_id, " CRM_WS_CURRENCY ", d.currency, d.amount_cents,"
    "  CASE WHEN d.status = 'open' THEN now() ELSE d.closed_at END), 0),"
    " d.expected_close_date - DATE '1970-01-01', d.stage, d.forecast_category,"
    " d.probability::float8, d.status, (d.closed_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01',"
    " (d.stage_entered_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01',"
    " (d.last_activity_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01', d.push_count, %s, d.owner"
    " FROM deals d LEFT JOIN reps r ON r.workspace_id = d.workspace_id AND r.external_id = d.owner"
    "  AND r.deleted_at IS NULL"
    " WHERE d.workspace_id = $1 AND d.deleted_at IS NULL AND %s ORDER BY d.external_id";

static void live_deal(fcprep_deals *p, const funnel_def *def, const fcprep_opts *o, PGresult *r, int i, size_t k)
{
    forecast_deal *d = &p->deals[k];
    p->ids[k] = PQgetvalue(r, i, 0);
    d->amount = strtoll(PQgetvalue(r, i, 1), NULL, 10);
    d->won = strcmp(PQgetvalue(r, i, 6), "won") == 0;
    if (!parse_day(r, i, 2, &d->expected_close)) {
        d->expected_close = INT32_MAX;
        d->close_estimated = !d->won; /* given a date from history below */
    }
    d->stage = stage_of(def, r, i, 3, d->won);
    d->category = category_of(def, r, i, 4, d->stage);
    d->probability = PQgetisnull(r, i, 5) ? NAN : atof(PQgetvalue(r, i, 5));
    if (!parse_day(r, i, 7, &d->closed_at))
        d->closed_at = INT32_MIN;
    if (!parse_day(r, i, 8, &d->stage_entered))
        d->stage_entered = FORECAST_NO_DATE;
    if (!parse_day(r, i, 9, &d->last_activity))
        d->last_activity = FORECAST_NO_DATE;
    d->push_count = atoi(PQgetvalue(r, i, 10));
    d->group = o->group_by ? index_of(p->group_index, p->groups, PQgetvalue(r, i, 11)) : -1;
    d->owner = owner_of(p, r, i, 12);
    d->excluded = o->excluded && is_excluded(o->excluded, p->ids[k]);
}

static int load_live(db_conn *db, const char *ws, const funnel_def *def, const fcprep_opts *o, fcprep_deals *p,
                     app_err *err)
{
    char sql_open[1500], sql_won[1500], ps[16], pe[16];
    snprintf(sql_open, sizeof sql_open, LIVE_SQL, group_sql(o->group_by), "d.status = 'open'");
    snprintf(sql_won, sizeof sql_won, LIVE_SQL, group_sql(o->group_by),
             "d.status = 'won' AND d.closed_at >= $2::date AND d.closed_at < $3::date");
    const char *dp[] = {ws, caldate_format(o->period_start, ps, sizeof ps),
                        caldate_format(o->period_end, pe, sizeof pe)};
    p->live = db_query(db, sql_open, 1, dp, err);
    p->live_won = p->live ? db_query(db, sql_won, 3, dp, err) : NULL;
    if (!p->live_won)
        return -1;
    size_t nopen = (size_t)PQntuples(p->live), n = nopen + (size_t)PQntuples(p->live_won);
    if (alloc_deals(p, n, err) != 0)
        return -1;
    bool undated = false;
    for (size_t k = 0; k < n; k++) {
        live_deal(p, def, o, k < nopen ? p->live : p->live_won, (int)(k < nopen ? k : k - nopen), k);
        undated = undated || p->deals[k].close_estimated;
    }
    p->n = n;
    /* Deals without a close date (the CRM sample has none) get one from the
     * won deals' stage-to-close times, as in the backtest (docs/forecast-quality.md). */
    if (undated || o->want_history) {
        char ao[16];
        if (fcdata_load_history(db, ws, def, caldate_format(o->as_of, ao, sizeof ao), &p->hist, err) != 0)
            return -1;
        p->has_history = true;
    }
    for (size_t k = 0; k < n; k++) {
        forecast_deal *d = &p->deals[k];
        if (d->close_estimated) {
            p->estimated++;
            p->never_closing += fcdata_estimate_close(d, &p->hist, o->as_of);
        }
    }
    return 0;
}

/* The open pipeline rebuilt at as_of (00:00 UTC) and the deals won in the
 * period before it (not deleted before it): nothing created, won or changed
 * later counts. */
static int load_rebuilt(db_conn *db, const char *ws, const funnel_def *def, const fcprep_opts *o, fcprep_deals *p,
                        app_err *err)
{
    char ao[16];
    caldate_format(o->as_of, ao, sizeof ao);
    if (fcdata_load_history(db, ws, def, ao, &p->hist, err) != 0)
        return -1;
    p->has_history = true;
    if (fcdata_load_asof(db, ws, def, o->as_of, &p->hist, &p->asof, err) != 0)
        return -1;
    /* won to date at as_of, from the same history the pipeline was rebuilt from */
    const fcasof *h = p->asof.src;
    const fcasof_deal **won = malloc((h->ndeals + 1) * sizeof *won);
    if (!won) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    size_t nopen = p->asof.n,
           nwon = fcasof_won(h, o->period_start * 86400.0, o->period_end * 86400.0, o->as_of * 86400.0, won);
    if (alloc_deals(p, nopen + nwon, err) != 0) {
        free(won);
        return -1;
    }
    for (size_t k = 0; k < nopen; k++) {
        const fcasof_row *a = &p->asof.rows[k];
        forecast_deal *d = &p->deals[k];
        *d = p->asof.deals[k];
        p->ids[k] = a->deal->id;
        d->last_activity = a->last_activity;
        d->push_count = a->pushes;
        d->group = o->group_by ? index_of(p->group_index, p->groups, group_of_asof(a->deal, o->group_by)) : -1;
        d->owner = owner_index_of(p, a->deal->owner);
        d->excluded = o->excluded && is_excluded(o->excluded, p->ids[k]);
    }
    for (size_t k = 0; k < nwon; k++) {
        const fcasof_deal *w = won[k];
        forecast_deal *d = &p->deals[nopen + k];
        p->ids[nopen + k] = w->id;
        d->amount = fcasof_won_amount(h, w);
        d->won = true;
        d->closed_at = (caldate_t)floor(w->closed / 86400.0);
        d->expected_close = INT32_MAX;
        d->stage = stage_index(def, w->cur[FCASOF_STAGE].known ? w->cur[FCASOF_STAGE].s : NULL, true);
        d->category = category_index(def, w->cur[FCASOF_CATEGORY].known ? w->cur[FCASOF_CATEGORY].s : NULL, d->stage);
        d->probability = w->cur[FCASOF_PROBABILITY].known ? w->cur[FCASOF_PROBABILITY].p : NAN;
        d->stage_entered = d->last_activity = FORECAST_NO_DATE;
        d->group = o->group_by ? index_of(p->group_index, p->groups, group_of_asof(w, o->group_by)) : -1;
        d->owner = owner_index_of(p, w->owner);
        d->excluded = o->excluded && is_excluded(o->excluded, p->ids[nopen + k]);
    }
    free(won);
    p->n = nopen + nwon;
    p->estimated = p->asof.estimated_closes;
    p->never_closing = p->asof.never_closing;
    p->imputed_amounts = p->asof.imputed_amounts;
    return 0;
}

int fcprep_load(db_conn *db, const char *ws, const funnel_def *def, const fcprep_opts *o, fcprep_deals *out,
                app_err *err)
{
    memset(out, 0, sizeof *out);
    out->groups = json_array();
    out->group_index = json_object();
    out->owner_index = json_object();
    if (!out->groups || !out->group_index || !out->owner_index) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    if ((o->rebuild ? load_rebuilt : load_live)(db, ws, def, o, out, err) != 0)
        return -1;
    out->nowners = (int)json_object_size(out->owner_index);
    money_t won;
    fcprep_period_sums(out, o, -1, &out->pipeline_in_period, &won);
    return 0;
}

void fcprep_period_sums(const fcprep_deals *p, const fcprep_opts *o, int owner, money_t *pipeline, money_t *won)
{
    *pipeline = *won = 0;
    for (size_t k = 0; k < p->n; k++) {
        const forecast_deal *d = &p->deals[k];
        if (owner >= 0 && d->owner != owner)
            continue;
        if (d->won)
            *won += d->amount;
        else if (!d->excluded && d->expected_close < o->period_end)
            *pipeline += d->amount;
    }
}

int fcprep_group(fcprep_deals *p, const char *key)
{
    return p->group_index && p->groups ? index_of(p->group_index, p->groups, key) : -1;
}

void fcprep_input(const fcprep_deals *p, const fcprep_opts *o, const funnel_def *def, forecast_method m,
                  forecast_input *in)
{
    in->method = m;
    in->period_start = o->period_start;
    in->period_end = o->period_end;
    in->as_of = o->as_of;
    in->funnel = def;
    in->history = m == FM_HISTORICAL && p->has_history ? &p->hist.h : NULL;
    in->ngroups = (int)json_array_size(p->groups);
    in->nowners = p->nowners;
}

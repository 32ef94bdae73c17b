/* h_scenarios.c - stored revenue-plan scenarios: the seed's revenue-plan.yaml
 * as a request, core/scenario's bear/base/bull (or custom) results with
 * deltas and a tornado each, optionally with assumptions learned from the
 * workspace's deals (and a record of where each number came from). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm.h"
#include "handlers.h"
#include "jsonv.h"
#include "scenario.h"

#define SCENARIO_MAX_DEFS 8      /* scenarios in one request */
#define HISTORY_DEFAULT_DAYS 365 /* from_history window */

static json_t *money_j(money_t c) { return json_real((double)c / 100.0); }

/* Money fields take amounts in major units over HTTP; core takes cents for
 * add and set (mul is a ratio either way). */
static bool field_is_money(scenario_field f)
{
    return f == SF_TOTAL_ARR_TARGET || f == SF_NEW_BUSINESS || f == SF_EXPANSION || f == SF_AVG_NEW_DEAL_SIZE ||
           f == SF_AVG_EXPANSION_DEAL_SIZE || f == SF_QUOTA_PER_AE;
}

/* ---- the request ----------------------------------------------------------- */

/* Where each assumption came from: "request", "history" (with its basis) or
 * "default" (not given: 0, which core rejects where the plan needs it). */
typedef struct {
    json_t *sources; /* field -> {source, value, basis?} */
} provenance;

static void note_source(provenance *pv, const char *field, const char *source, json_t *value, const char *basis)
{
    json_t *o = json_pack("{s:s, s:o}", "source", source, "value", value ? value : json_null());
    if (basis)
        json_object_set_new(o, "basis", json_string(basis));
    json_object_set_new(pv->sources, field, o);
}

/* Assumptions learned from the stored deals closed (or created, for the
 * funnel conversions) in [from, to). Deals with pipeline = "expansion" are
 * expansion deals; every other deal is new business. */
typedef struct {
    long long won, closed, exp_won, exp_closed;
    money_t avg_won, exp_avg_won;
    double cycle, exp_cycle;
    long long reached_mql, reached_sql, reached_opp;
} history;

static int load_history(db_conn *db, const char *ws, const char *from, const char *to, history *h, app_err *err)
{
    memset(h, 0, sizeof *h);
    const char *p[] = {ws, from, to};
    PGresult *r = db_query(
        db,
        "SELECT count(*) FILTER (WHERE status = 'won' AND NOT x), count(*) FILTER (WHERE NOT x),"
        " count(*) FILTER (WHERE status = 'won' AND x), count(*) FILTER (WHERE x),"
        " COALESCE(round(avg(amount_cents) FILTER (WHERE status = 'won' AND NOT x)), 0),"
        " COALESCE(round(avg(amount_cents) FILTER (WHERE status = 'won' AND x)), 0),"
        " COALESCE(avg(extract(epoch FROM closed_at - created_at) / 86400) FILTER (WHERE status = 'won' AND NOT x), 0),"
        " COALESCE(avg(extract(epoch FROM closed_at - created_at) / 86400) FILTER (WHERE status = 'won' AND x), 0)"
        /* amounts in the workspace currency at the close's rate (fx_convert) */
        " FROM (SELECT status, closed_at, created_at, pipeline IS NOT DISTINCT FROM 'expansion' AS x,"
        "  fx_convert(workspace_id, " CRM_WS_CURRENCY
        ", currency, amount_cents, closed_at) AS amount_cents FROM deals WHERE workspace_id = $1"
        "  AND deleted_at IS NULL AND status IN ('won', 'lost') AND closed_at >= $2::date AND closed_at < $3::date) d",
        3, p, err);
    if (!r)
        return -1;
    h->won = atoll(PQgetvalue(r, 0, 0));
    h->closed = atoll(PQgetvalue(r, 0, 1));
    h->exp_won = atoll(PQgetvalue(r, 0, 2));
    h->exp_closed = atoll(PQgetvalue(r, 0, 3));
    h->avg_won = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
    h->exp_avg_won = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
    h->cycle = atof(PQgetvalue(r, 0, 6));
    h->exp_cycle = atof(PQgetvalue(r, 0, 7));
    PQclear(r);
    /* funnel conversions (the rule of funnel_reaches): a deal reached a stage when its furthest stage (by
     * the seed funnel's order; closed_lost says nothing about how far it got)
     * is that stage or later */
    r = db_query(
        db,
        "SELECT count(*) FILTER (WHERE top >= 3), count(*) FILTER (WHERE top >= 5), count(*) FILTER (WHERE top >= 6)"
        " FROM (SELECT max(array_position(ARRAY['visitor', 'known', 'mql', 'sal', 'sql', 'opportunity',"
        "  'proposal', 'closed_won'], h.stage)) AS top FROM deal_stage_history h JOIN deals d"
        "  ON d.workspace_id = h.workspace_id AND d.external_id = h.deal_id"
        "  WHERE h.workspace_id = $1 AND d.deleted_at IS NULL AND d.pipeline IS DISTINCT FROM 'expansion'"
        "  AND d.created_at >= $2::date AND d.created_at < $3::date GROUP BY h.deal_id) t",
        3, p, err);
    if (!r)
        return -1;
    h->reached_mql = atoll(PQgetvalue(r, 0, 0));
    h->reached_sql = atoll(PQgetvalue(r, 0, 1));
    h->reached_opp = atoll(PQgetvalue(r, 0, 2));
    PQclear(r);
    return 0;
}

typedef struct {
    const char *name;
    int kind; /* 0 rate, 1 money, 2 days, 3 expansion_rate (a rate that may exceed 1) */
    size_t off;
} assumption_field;

#define AF(n, k)                                                                                                       \
    {                                                                                                                  \
#n, k, offsetof(scenario_assumptions, n)                                                                       \
    }
static const assumption_field ASSUMPTIONS[] = {
    AF(gross_churn_rate, 0), AF(expansion_rate, 3),     AF(avg_new_deal_size, 1),   AF(avg_expansion_deal_size, 1),
    AF(new_win_rate, 0),     AF(expansion_win_rate, 0), AF(avg_sales_cycle_new, 2), AF(avg_sales_cycle_expansion, 2),
    AF(sql_to_opp_rate, 0),  AF(mql_to_sql_rate, 0),
};
#undef AF
#define NASSUMPTIONS (sizeof ASSUMPTIONS / sizeof ASSUMPTIONS[0])

static json_t *assumption_value(const scenario_assumptions *a, const assumption_field *f)
{
    const char *p = (const char *)a + f->off;
    if (f->kind == 1)
        return money_j(*(const money_t *)(const void *)p);
    return json_real(*(const double *)(const void *)p);
}

/* Fill a from history where the request left a field out. */
static void history_fill(const history *h, const bool given[NASSUMPTIONS], const char *window, scenario_assumptions *a,
                         provenance *pv)
{
    char basis[200];
    for (size_t i = 0; i < NASSUMPTIONS; i++) {
        const assumption_field *f = &ASSUMPTIONS[i];
        if (given[i])
            continue;
        bool have = false;
        void *p = (char *)a + f->off;
        if (strcmp(f->name, "new_win_rate") == 0 && h->closed > 0) {
            *(double *)p = (double)h->won / (double)h->closed;
            snprintf(basis, sizeof basis, "%lld won of %lld new-business deals closed %s", h->won, h->closed, window);
            have = true;
        } else if (strcmp(f->name, "expansion_win_rate") == 0 && h->exp_closed > 0) {
            *(double *)p = (double)h->exp_won / (double)h->exp_closed;
            snprintf(basis, sizeof basis, "%lld won of %lld expansion deals closed %s", h->exp_won, h->exp_closed,
                     window);
            have = true;
        } else if (strcmp(f->name, "avg_new_deal_size") == 0 && h->won > 0) {
            *(money_t *)p = h->avg_won;
            snprintf(basis, sizeof basis, "mean amount of %lld new-business deals won %s", h->won, window);
            have = true;
        } else if (strcmp(f->name, "avg_expansion_deal_size") == 0 && h->exp_won > 0) {
            *(money_t *)p = h->exp_avg_won;
            snprintf(basis, sizeof basis, "mean amount of %lld expansion deals won %s", h->exp_won, window);
            have = true;
        } else if (strcmp(f->name, "avg_sales_cycle_new") == 0 && h->won > 0) {
            *(double *)p = h->cycle;
            snprintf(basis, sizeof basis, "mean days from creation to close of %lld new-business deals won %s", h->won,
                     window);
            have = true;
        } else if (strcmp(f->name, "avg_sales_cycle_expansion") == 0 && h->exp_won > 0) {
            *(double *)p = h->exp_cycle;
            snprintf(basis, sizeof basis, "mean days from creation to close of %lld expansion deals won %s", h->exp_won,
                     window);
            have = true;
        } else if (strcmp(f->name, "sql_to_opp_rate") == 0 && h->reached_sql > 0) {
            *(double *)p = (double)h->reached_opp / (double)h->reached_sql;
            snprintf(basis, sizeof basis, "%lld of %lld deals created %s that reached sql reached opportunity",
                     h->reached_opp, h->reached_sql, window);
            have = true;
        } else if (strcmp(f->name, "mql_to_sql_rate") == 0 && h->reached_mql > 0) {
            *(double *)p = (double)h->reached_sql / (double)h->reached_mql;
            snprintf(basis, sizeof basis, "%lld of %lld deals created %s that reached mql reached sql", h->reached_sql,
                     h->reached_mql, window);
            have = true;
        }
        if (have)
            note_source(pv, f->name, "history", assumption_value(a, f), basis);
        else
            note_source(pv, f->name, "default", assumption_value(a, f),
                        "not in the request and not learnable from the stored deals");
    }
}

/* One scenario definition: "bear" | "base" | "bull" | {name, adjustments,
 * actions?, confidence?}. The actions text of a custom scenario lives in
 * the request, which outlives the computation. */
static void decode_def(const json_t *v, size_t i, scenario_def *d, app_err *err)
{
    char path[48];
    snprintf(path, sizeof path, "scenarios[%zu]", i);
    memset(d, 0, sizeof *d);
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (strcmp(s, "bear") == 0)
            scenario_preset(SCENARIO_BEAR, d);
        else if (strcmp(s, "base") == 0)
            scenario_preset(SCENARIO_BASE, d);
        else if (strcmp(s, "bull") == 0)
            scenario_preset(SCENARIO_BULL, d);
        else
            app_err_field(err, path, "must be bear, base, bull or {name, adjustments}");
        return;
    }
    if (!json_is_object(v)) {
        app_err_field(err, path, "must be bear, base, bull or {name, adjustments}");
        return;
    }
    app_err sub = {0};
    static const char *const allowed[] = {"name", "adjustments", "actions", "confidence", NULL};
    (void)jv_only_fields(v, allowed, &sub);
    const char *name = NULL, *actions = NULL;
    double conf = NAN;
    (void)jv_string(v, "name", true, sizeof d->name - 1, &name, &sub);
    (void)jv_string(v, "actions", false, 500, &actions, &sub);
    (void)jv_rate(v, "confidence", false, 0, 1, &conf, NULL, &sub);
    snprintf(d->name, sizeof d->name, "%s", name ? name : "");
    d->actions = actions;
    d->confidence = conf;
    const json_t *adj = json_object_get(v, "adjustments");
    if (adj && (!json_is_array(adj) || json_array_size(adj) > SCENARIO_MAX_ADJUSTMENTS))
        app_err_field(&sub, "adjustments", "must be a list of up to %d {field, op, value}", SCENARIO_MAX_ADJUSTMENTS);
    else if (adj) {
        size_t k;
        json_t *a;
        json_array_foreach(adj, k, a)
        {
            char ap[48];
            snprintf(ap, sizeof ap, "adjustments[%zu]", k);
            const json_t *fv = json_object_get(a, "field"), *ov = json_object_get(a, "op"),
                         *vv = json_object_get(a, "value");
            int f = scenario_field_parse(json_string_value(fv));
            int op = ov ? scenario_op_parse(json_string_value(ov)) : SCENARIO_ADD;
            if (!json_is_object(a) || json_object_size(a) > 3 || f < 0 || op < 0 || !json_is_number(vv) ||
                !isfinite(json_number_value(vv))) {
                app_err_field(&sub, ap,
                              "must be {field: a revenue-plan field, op: add|mul|set (default add), value: number}");
                continue;
            }
            double val = json_number_value(vv);
            if (field_is_money((scenario_field)f) && op != SCENARIO_MUL)
                val *= 100.0;
            d->adjust[d->nadjust++] = (scenario_adjustment){(scenario_field)f, (scenario_op)op, val};
        }
    }
    jv_merge_prefixed(err, &sub, path);
}

/* ---- the answer ------------------------------------------------------------- */

static json_t *targets_json(const scenario_targets *t)
{
    return json_pack("{s:o, s:o, s:o}", "total_arr_target", money_j(t->total_arr_target), "new_business",
                     money_j(t->new_business), "expansion", money_j(t->expansion));
}

static json_t *assumptions_json(const scenario_assumptions *a)
{
    json_t *o = json_object();
    for (size_t i = 0; i < NASSUMPTIONS; i++)
        json_object_set_new(o, ASSUMPTIONS[i].name, assumption_value(a, &ASSUMPTIONS[i]));
    return o;
}

static json_t *derived_json(const scenario_derived *d)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:o, s:I, s:I, s:o, s:o, s:o}", "new_deals_needed",
                     (json_int_t)d->new_deals_needed, "opps_needed", (json_int_t)d->opps_needed, "sqls_needed",
                     (json_int_t)d->sqls_needed, "mqls_needed", (json_int_t)d->mqls_needed, "pipeline_needed",
                     money_j(d->pipeline_needed), "expansion_deals_needed", (json_int_t)d->expansion_deals_needed,
                     "expansion_opps_needed", (json_int_t)d->expansion_opps_needed, "expansion_pipeline_needed",
                     money_j(d->expansion_pipeline_needed), "starting_arr", money_j(d->starting_arr), "churn_arr",
                     money_j(d->churn_arr));
}

static json_t *capacity_json(const scenario_capacity *c, bool delta)
{
    json_t *o =
        json_pack("{s:i, s:o, s:f, s:o, s:o, s:i, s:o}", "aes_at_full_ramp", c->aes_at_full_ramp, "quota_per_ae",
                  money_j(c->quota_per_ae), "expected_attainment", round(c->expected_attainment * 1e9) / 1e9,
                  "productive_capacity", money_j(c->productive_capacity), "gap", money_j(c->gap), "hires_needed",
                  c->hires_needed, "gap_after_hires", money_j(c->gap_after_hires));
    if (!delta)
        json_object_set_new(o, "gap_closable", json_boolean(c->gap_closable));
    return o;
}

static json_t *revenue_json(const scenario_projection *p)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:o}", "new_business", money_j(p->new_business), "expansion",
                     money_j(p->expansion), "churn", money_j(p->churn), "ending_arr", money_j(p->ending_arr),
                     "vs_target", money_j(p->vs_target));
}

static json_t *assumption_delta_json(const scenario_assumptions *a)
{
    json_t *o = assumptions_json(a);
    /* rate differences: drop float noise (0.15 - 0.2 = -0.04999...) */
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) if (json_is_real(v)) json_real_set(v, round(json_real_value(v) * 1e9) / 1e9);
    return o;
}

static const char *outcome_name(scenario_outcome o)
{
    return o == SCENARIO_OUT_HIRES_NEEDED      ? "hires_needed"
           : o == SCENARIO_OUT_PIPELINE_NEEDED ? "pipeline_needed"
                                               : "ending_arr";
}

static json_t *outcome_j(scenario_outcome o, long long v)
{
    return o == SCENARIO_OUT_HIRES_NEEDED ? json_integer(v) : money_j(v);
}

static json_t *tornado_json(const scenario_tornado_row *rows, int n, scenario_outcome o)
{
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        const scenario_tornado_row *r = &rows[i];
        double step = field_is_money(r->field) && r->op != SCENARIO_MUL ? r->step / 100.0 : r->step;
        json_array_append_new(arr, json_pack("{s:s, s:s, s:f, s:o, s:o, s:o, s:o}", "field",
                                             scenario_field_name(r->field), "op", scenario_op_name(r->op), "step", step,
                                             "base", outcome_j(o, r->base), "low", outcome_j(o, r->low), "high",
                                             outcome_j(o, r->high), "swing", outcome_j(o, r->swing)));
    }
    return json_pack("{s:s, s:o}", "outcome", outcome_name(o), "rows", arr);
}

/* Consumes sens. */
static json_t *result_json(const scenario_result *r, const scenario_def *d, json_t *sens)
{
    json_t *adj = json_array();
    for (size_t i = 0; i < d->nadjust; i++) {
        const scenario_adjustment *a = &d->adjust[i];
        double v = field_is_money(a->field) && a->op != SCENARIO_MUL ? a->value / 100.0 : a->value;
        json_array_append_new(adj, json_pack("{s:s, s:s, s:f}", "field", scenario_field_name(a->field), "op",
                                             scenario_op_name(a->op), "value", v));
    }
    json_t *delta =
        json_pack("{s:o, s:o, s:o, s:o, s:o}", "targets", targets_json(&r->delta.targets), "assumptions",
                  assumption_delta_json(&r->delta.assumptions), "derived", derived_json(&r->delta.derived), "capacity",
                  capacity_json(&r->delta.capacity, true), "revenue", revenue_json(&r->delta.projection));
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "name", r->name, "confidence",
                     isnan(r->confidence) ? json_null() : json_real(r->confidence), "actions",
                     r->actions ? json_string(r->actions) : json_null(), "adjustments", adj, "targets",
                     targets_json(&r->plan.targets), "assumptions", assumptions_json(&r->plan.assumptions), "derived",
                     derived_json(&r->plan.derived), "capacity", capacity_json(&r->plan.capacity, false), "revenue",
                     revenue_json(&r->plan.projection), "delta_vs_base", delta, "sensitivity", sens);
}

/* ---- handlers ---------------------------------------------------------------- */

/* Decode the plan object into in; field errors under "plan.". */
static void decode_plan(const json_t *plan, int fsm, scenario_input *in, bool given[NASSUMPTIONS], json_t **fy_label,
                        provenance *pv, app_err *err)
{
    app_err sub = {0};
    static const char *const allowed[] = {"fiscal_year", "targets", "assumptions", "capacity", "starting_arr", NULL};
    (void)jv_only_fields(plan, allowed, &sub);
    /* fiscal year: "2026" as in the seed, or 2026; default the current one */
    const json_t *fy = json_object_get(plan, "fiscal_year");
    period P = period_containing(PERIOD_YEAR, utc_today(), fsm);
    if (fy && !json_is_null(fy)) {
        char label[24];
        /* the whole text is the year ("2026" or "FY2026"): strtoll alone took
         * "2026xyz" and "2026-Q5" as 2026 */
        long long y = 0;
        if (json_is_integer(fy)) {
            y = json_integer_value(fy);
        } else if (json_is_string(fy)) {
            const char *s = json_string_value(fy) + (strncmp(json_string_value(fy), "FY", 2) == 0 ? 2 : 0);
            char *end = NULL;
            y = strlen(s) == 4 && isdigit((unsigned char)s[0]) ? strtoll(s, &end, 10) : 0;
            if (!end || *end)
                y = 0;
        }
        snprintf(label, sizeof label, "FY%lld", y);
        if (y < 1900 || y > 9999 || !period_parse(label, fsm, &P))
            app_err_field(&sub, "fiscal_year", "must be a year such as \"2026\"");
    }
    in->fiscal_year = P.fiscal_year;
    in->fy_start = P.start;
    char fyl[16];
    snprintf(fyl, sizeof fyl, "%d", P.fiscal_year);
    *fy_label = json_string(fyl);

    const json_t *t = json_object_get(plan, "targets");
    if (!json_is_object(t)) {
        app_err_field(&sub, "targets", "is required: {total_arr_target, new_business, expansion}");
    } else {
        app_err ts = {0};
        static const char *const tk[] = {"total_arr_target", "new_business", "expansion", NULL};
        long long v[3] = {0, 0, 0};
        (void)jv_only_fields(t, tk, &ts);
        (void)jv_money(t, "total_arr_target", false, 0, &v[0], NULL, &ts);
        (void)jv_money(t, "new_business", true, 0, &v[1], NULL, &ts);
        (void)jv_money(t, "expansion", false, 0, &v[2], NULL, &ts);
        in->targets = (scenario_targets){v[0], v[1], v[2]};
        jv_merge_prefixed(&sub, &ts, "targets");
    }
    long long start = 0;
    (void)jv_money(plan, "starting_arr", false, 0, &start, NULL, &sub);
    in->starting_arr = start;

    const json_t *a = json_object_get(plan, "assumptions");
    app_err as = {0};
    if (a && !json_is_object(a)) {
        app_err_field(&sub, "assumptions", "must be an object");
    } else if (a) {
        static const char *const ak[] = {"gross_churn_rate",
                                         "expansion_rate",
                                         "avg_new_deal_size",
                                         "avg_expansion_deal_size",
                                         "new_win_rate",
                                         "expansion_win_rate",
                                         "avg_sales_cycle_new",
                                         "avg_sales_cycle_expansion",
                                         "sql_to_opp_rate",
                                         "mql_to_sql_rate",
                                         NULL};
        (void)jv_only_fields(a, ak, &as);
    }
    for (size_t i = 0; i < NASSUMPTIONS; i++) {
        const assumption_field *f = &ASSUMPTIONS[i];
        void *p = (char *)&in->assumptions + f->off;
        bool present = false;
        if (f->kind == 1) {
            long long c = 0;
            (void)jv_money(a, f->name, false, 0, &c, &present, &as);
            *(money_t *)p = c;
        } else if (f->kind == 2) {
            (void)jv_days(a, f->name, false, 0, 364, (double *)p, &present, &as);
        } else {
            (void)jv_rate(a, f->name, false, 0, f->kind == 3 ? 100 : 1, (double *)p, &present, &as);
        }
        given[i] = present;
        if (present)
            note_source(pv, f->name, "request", assumption_value(&in->assumptions, f), NULL);
    }
    jv_merge_prefixed(&sub, &as, "assumptions");

    const json_t *c = json_object_get(plan, "capacity");
    if (!json_is_object(c)) {
        app_err_field(&sub, "capacity", "is required: {quota_per_ae, expected_attainment, current_aes, ...}");
    } else {
        app_err cs = {0};
        static const char *const ck[] = {"quota_per_ae",    "expected_attainment", "current_aes", "ramp",
                                         "attrition_rate",  "time_to_hire_months", "backfill",    "seasonality",
                                         "hire_from_month", "max_hires_per_month", NULL};
        (void)jv_only_fields(c, ck, &cs);
        long long quota = 0, aes = 0, hfm = 0, mhpm = 0;
        (void)jv_money(c, "quota_per_ae", true, 1, &quota, NULL, &cs);
        (void)jv_rate(c, "expected_attainment", true, 0.01, 3, &in->expected_attainment, NULL, &cs);
        (void)jv_int(c, "current_aes", false, 0, 1000000, &aes, NULL, &cs);
        (void)jv_int(c, "hire_from_month", false, 1, 12, &hfm, NULL, &cs);
        (void)jv_int(c, "max_hires_per_month", false, 0, 100000, &mhpm, NULL, &cs);
        in->quota_per_ae = quota;
        in->current_aes = (int)aes;
        in->hire_from_month = hfm > 0 ? (int)hfm - 1 : 0;
        in->max_hires_per_month = (int)mhpm;
        (void)capacity_assumptions_decode(c, quota, in->expected_attainment, &in->ramp, &cs);
        jv_merge_prefixed(&sub, &cs, "capacity");
    }
    jv_merge_prefixed(err, &sub, "plan");
}

void h_scenarios_create(http_req *rq)
{
    app_err err = {0};
    if (!jv_require_object(rq->json, &err)) {
        http_reply_error(rq, &err);
        return;
    }
    static const char *const allowed[] = {"name",         "plan",          "scenarios",    "sensitivity_outcome",
                                          "from_history", "history_as_of", "history_days", NULL};
    (void)jv_only_fields(rq->json, allowed, &err);
    const char *name = NULL, *outcome_s = NULL;
    (void)jv_string(rq->json, "name", true, 200, &name, &err);
    scenario_outcome outcome = SCENARIO_OUT_ENDING_ARR;
    if (jv_string(rq->json, "sensitivity_outcome", false, 32, &outcome_s, &err) && outcome_s) {
        if (strcmp(outcome_s, "hires_needed") == 0)
            outcome = SCENARIO_OUT_HIRES_NEEDED;
        else if (strcmp(outcome_s, "pipeline_needed") == 0)
            outcome = SCENARIO_OUT_PIPELINE_NEEDED;
        else if (strcmp(outcome_s, "ending_arr") != 0)
            app_err_field(&err, "sensitivity_outcome", "must be ending_arr, hires_needed or pipeline_needed");
    }
    const json_t *fh = json_object_get(rq->json, "from_history");
    bool from_history = json_is_true(fh);
    if (fh && !json_is_boolean(fh))
        app_err_field(&err, "from_history", "must be true or false");
    int as_of = 0;
    bool has_as_of = false;
    long long days = HISTORY_DEFAULT_DAYS;
    (void)jv_date(rq->json, "history_as_of", false, &as_of, &has_as_of, &err);
    (void)jv_int(rq->json, "history_days", false, 1, 3660, &days, NULL, &err);
    const json_t *plan = json_object_get(rq->json, "plan");
    if (!json_is_object(plan))
        app_err_field(&err, "plan",
                      "is required: {fiscal_year, targets, assumptions, capacity} as in revenue-plan.yaml");
    scenario_def defs[SCENARIO_MAX_DEFS];
    size_t ndefs = 0;
    const json_t *sc = json_object_get(rq->json, "scenarios");
    if (sc && (!json_is_array(sc) || json_array_size(sc) == 0 || json_array_size(sc) > SCENARIO_MAX_DEFS)) {
        app_err_field(&err, "scenarios", "must be a list of 1 to %d scenarios", SCENARIO_MAX_DEFS);
    } else if (sc) {
        size_t i;
        json_t *v;
        json_array_foreach(sc, i, v) decode_def(v, ndefs++, &defs[i], &err);
    } else {
        scenario_preset(SCENARIO_BEAR, &defs[0]);
        scenario_preset(SCENARIO_BASE, &defs[1]);
        scenario_preset(SCENARIO_BULL, &defs[2]);
        ndefs = 3;
    }
    for (size_t i = 0; i < ndefs && err.code == ERR_NONE; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(defs[i].name, defs[j].name) == 0) {
                char path[32];
                snprintf(path, sizeof path, "scenarios[%zu]", i);
                app_err_field(&err, path, "names must be unique (\"%s\" twice)", defs[i].name);
                break;
            }
    /* the plan is decoded with the workspace's fiscal calendar, so every
     * field error is reported in one answer */
    db_conn *db = http_db(rq);
    if (!db)
        return;
    const char *ws = rq->auth.workspace_id;
    app_err fe = {0};
    int fsm = workspace_fy_start(db, ws, &fe);
    if (fsm < 0) {
        http_reply_error(rq, &fe);
        return;
    }
    scenario_input in;
    memset(&in, 0, sizeof in);
    bool given[NASSUMPTIONS] = {false};
    json_t *fy_label = NULL;
    provenance pv = {json_object()};
    if (json_is_object(plan))
        decode_plan(plan, fsm, &in, given, &fy_label, &pv, &err);
    if (err.code == ERR_NONE && from_history) {
        caldate_t to = (has_as_of ? as_of : utc_today()) + 1, from = to - (caldate_t)days;
        char fs[16], ts[16], window[64];
        caldate_format(from, fs, sizeof fs);
        caldate_format(to, ts, sizeof ts);
        history h;
        if (load_history(db, ws, fs, ts, &h, &err) == 0) {
            caldate_format(to - 1, ts, sizeof ts);
            snprintf(window, sizeof window, "%s..%s", fs, ts);
            history_fill(&h, given, window, &in.assumptions, &pv);
        }
    } else {
        for (size_t i = 0; i < NASSUMPTIONS; i++)
            if (!given[i])
                note_source(&pv, ASSUMPTIONS[i].name, "default", assumption_value(&in.assumptions, &ASSUMPTIONS[i]),
                            NULL);
    }
    scenario_result res[SCENARIO_MAX_DEFS];
    scenario_error se = {{0}, {0}};
    json_t *results = NULL, *out = NULL;
    if (err.code == ERR_NONE && scenario_compare(&in, defs, ndefs, res, &se) != 0) {
        char path[96];
        snprintf(path, sizeof path, "%s%.63s", strncmp(se.field, "scenarios", 9) == 0 ? "" : "plan.",
                 se.field[0] ? se.field : "body");
        app_err_field(&err, path, "%s", se.message);
    }
    if (err.code != ERR_NONE) {
        json_decref(pv.sources);
        json_decref(fy_label);
        http_reply_error(rq, &err);
        return;
    }
    results = json_array();
    for (size_t i = 0; i < ndefs; i++) {
        scenario_tornado_row rows[SF__COUNT];
        int n = scenario_tornado_at(&in, defs[i].adjust, defs[i].nadjust, outcome, rows, &se);
        json_array_append_new(results,
                              result_json(&res[i], &defs[i], n > 0 ? tornado_json(rows, n, outcome) : json_null()));
    }
    out = json_pack("{s:o, s:b, s:o, s:o}", "fiscal_year", fy_label, "from_history", from_history, "sources",
                    pv.sources, "results", results);
    char *req_text = json_dumps(rq->json, JSON_COMPACT),
         *res_text = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(15));
    const char *ip[] = {ws, name, req_text, res_text};
    PGresult *ir = req_text && res_text ? db_query(db,
                                                   "INSERT INTO scenarios AS s (workspace_id, name, request, result)"
                                                   " VALUES ($1, $2, $3::jsonb, $4::jsonb) RETURNING scenario_json(s)",
                                                   4, ip, &err)
                                        : NULL;
    free(req_text);
    free(res_text);
    json_decref(out);
    if (!ir) {
        if (err.code == ERR_NONE)
            app_err_set(&err, ERR_INTERNAL, "could not store the scenarios");
        http_reply_error(rq, &err);
        return;
    }
    json_t *stored = json_loads(PQgetvalue(ir, 0, 0), 0, NULL);
    PQclear(ir);
    char loc[96];
    snprintf(loc, sizeof loc, "/v1/scenarios/%s", json_string_value(json_object_get(stored, "id")));
    http_add_header(rq, "Location", loc);
    http_reply_json(rq, 201, stored);
}

void h_scenarios_list(http_req *rq)
{
    http_reply_list(rq, true,
                    "SELECT scenario_json(s), s.id FROM scenarios s WHERE s.workspace_id = $1"
                    " AND ($2::uuid IS NULL OR (s.created_at, s.id) < (SELECT created_at, id FROM scenarios"
                    "      WHERE id = $2::uuid AND workspace_id = $1))"
                    " ORDER BY s.created_at DESC, s.id DESC LIMIT $3");
}

void h_scenarios_get(http_req *rq)
{
    PGresult *r =
        http_query_one(rq, NULL, "SELECT scenario_json(s) FROM scenarios s WHERE workspace_id = $1 AND id = $2::uuid",
                       "No scenario with this id");
    if (!r)
        return;
    http_reply_json_etag(rq, json_loads(PQgetvalue(r, 0, 0), 0, NULL));
    PQclear(r);
}

/* h_reports.c - the seed's Monthly RevOps Review, its seven-part QBR (seed
 * 001 phase 12) and the one-page executive summary that leads with the
 * answer (seed 000): documents composed of the numbers the source endpoints
 * compute, by calling their builders (dashboard_build, hygiene_summary), never
 * re-deriving them. Every section names its source; a past period's figures
 * follow the dashboard's as-of rule (docs/reports.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "caldate.h"
#include "capacity.h"
#include "forecast.h"
#include "handlers.h"
#include "metrics.h"
#include "report.h"
#include "reports.h"

/* What one report's parts share. */
typedef struct {
    db_conn *db;
    const char *ws;
    int fsm;
    caldate_t today;
    app_err *err;
    char cur[4];     /* the workspace currency, for the statements */
    dash_memo *memo; /* the report's dashboards read their period-free inputs once */
} rctx;

/* ---- reading the dashboard document ---- */

static bool num_at(const json_t *doc, const char *sec, const char *key, double *v)
{
    const json_t *x = json_object_get(json_object_get(doc, sec), key);
    if (!json_is_number(x))
        return false;
    *v = json_number_value(x);
    return true;
}

static money_t cents(double v) { return (money_t)llround(v * 100.0); }

static json_t *src_dashboard(const period *P)
{
    char label[16], s[64];
    snprintf(s, sizeof s, "GET /v1/dashboard?period=%s", period_format(P, label, sizeof label));
    return json_string(s);
}

static int dash(rctx *c, const period *P, json_t **out)
{
    /* explain: the funnel's volumes are the conversion's inputs */
    return dashboard_build_shared(c->db, c->ws, P, c->fsm, true, c->memo, out, c->err);
}

/* The day the period's figures are as of (the dashboard's rule): the
 * period's end for an ended period, else today. */
static json_t *as_of_j(const rctx *c, const period *P)
{
    char b[16];
    return json_string(caldate_format(P->end <= c->today ? P->end : c->today, b, sizeof b));
}

static const char *as_of_rule(const rctx *c, const period *P)
{
    return P->end <= c->today ? "ended: pipeline and velocity as known at its end, coverage and forecast at its start "
                                "(the dashboard's rule)"
                              : "now: the period has not ended";
}

/* ---- rows: a figure of this period against its target and the previous period ---- */

typedef struct {
    const char *metric, *label;
    const char *sec, *key; /* where the dashboard has it */
    const char *unit;      /* money, fraction, multiple, months, days */
    bool higher_is_better;
    bool has_target;
    double target;           /* a target the seed sets */
    const char *tsec, *tkey; /* or a target the same document carries (the quota) */
    const char *target_basis;
} row_def;

static double rounded(const char *unit, double v)
{
    return strcmp(unit, "money") == 0 ? round(v * 100) / 100 : round(v * 10000) / 10000;
}

static json_t *opt_num(bool has, double v) { return has ? json_real(v) : json_null(); }

/* One row; *fig gets the figure for the movers. */
static json_t *row_json(const row_def *d, const json_t *cur, const json_t *prev, report_figure *fig)
{
    double a = 0, p = 0, t = d->target;
    bool ha = num_at(cur, d->sec, d->key, &a), hp = prev && num_at(prev, d->sec, d->key, &p);
    bool ht = d->tsec ? num_at(cur, d->tsec, d->tkey, &t) : d->has_target;
    *fig = (report_figure){ha, hp, a, p, d->higher_is_better};
    const char *tr = report_trend(fig);
    int dir = report_direction(fig);
    json_t *o = json_pack("{s:s, s:s, s:s, s:b}", "metric", d->metric, "label", d->label, "unit", d->unit,
                          "higher_is_better", d->higher_is_better);
    json_object_set_new(o, "actual", opt_num(ha, a));
    json_object_set_new(o, "target", opt_num(ht, t));
    json_object_set_new(o, "target_basis", json_string(d->target_basis));
    json_object_set_new(o, "delta", opt_num(ha && ht, rounded(d->unit, a - t)));
    json_object_set_new(o, "previous", opt_num(hp, p));
    json_object_set_new(o, "change", opt_num(ha && hp, rounded(d->unit, a - p)));
    json_object_set_new(o, "trend", tr ? json_string(tr) : json_null());
    json_object_set_new(o, "arrow", json_string(report_arrow(tr)));
    json_object_set_new(o, "direction",
                        !tr ? json_null()
                            : json_string(dir > 0   ? "better"
                                          : dir < 0 ? "worse"
                                                    : "unchanged"));
    return o;
}

/* rows of defs; figs (n entries) for the movers */
static json_t *rows_json(const row_def *defs, size_t n, const json_t *cur, const json_t *prev, report_figure *figs)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, row_json(&defs[i], cur, prev, &figs[i]));
    return a;
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const char NO_TARGET_ARR[] = "none: the seed sets no ARR target (growth is context-dependent)";

/* The monthly review's headline metrics, in the seed's order (plus the number itself: won vs quota). */
static const row_def HEADLINE[] = {
    {"arr", "ARR", "arr", "current", "money", true, false, 0, NULL, NULL, NO_TARGET_ARR},
    {"net_new_arr", "Net New ARR", "arr", "net_new", "money", true, false, 0, NULL, NULL, NO_TARGET_ARR},
    {"nrr", "NRR", "retention", "nrr", "fraction", true, true, 1.05, NULL, NULL, "seed 001 phase 5: good 105%+"},
    {"cac_payback_months", "CAC Payback", "efficiency", "cac_payback_months", "months", false, true, 18, NULL, NULL,
     "seed 001 phase 5: good < 18 months"},
    {"coverage_ratio", "Pipeline Coverage", "pipeline", "coverage_ratio", "multiple", true, true, 3.5, NULL, NULL,
     "seed 001 Tier 2: 3.5-4x"},
    {"forecast_mape", "Forecast Accuracy (MAPE)", "forecast", "mape", "fraction", false, true, 0.15, NULL, NULL,
     "seed 001 Tier 2: MAPE < 15%"},
    {"won", "Closed won vs quota", "operating", "won", "money", true, false, 0, "pipeline", "quota",
     "the period's quota (the reps' quotas)"},
};

/* Funnel transitions (the dashboard's conversion cohorts). */
static const row_def FUNNEL[] = {
    {"mql_to_sql", "MQL → SQL", "conversion", "mql_to_sql", "fraction", true, true, 0.40, NULL, NULL,
     "seed 001 Tier 2: > 40%"},
    {"sql_to_opp", "SQL → Opportunity", "conversion", "sql_to_opp", "fraction", true, true, 0.60, NULL, NULL,
     "seed 001 Tier 2: > 60%"},
    {"opp_to_closed_won", "Opportunity → Closed won", "conversion", "opp_to_closed_won", "fraction", true, true, 0.25,
     NULL, NULL, "seed 001 Tier 2 win rate: > 25%"},
    {"full_funnel", "MQL → Closed won", "conversion", "full_funnel", "fraction", true, false, 0, NULL, NULL,
     "none: the seed sets no full-funnel target"},
};

/* The seed's Tier-2 operating metrics. */
static const row_def OPERATING[] = {
    {"win_rate", "Win rate", "operating", "win_rate", "fraction", true, true, 0.25, NULL, NULL,
     "seed 001 Tier 2: > 25%"},
    {"average_deal_size", "Average deal size", "operating", "average_deal_size", "money", true, false, 0, NULL, NULL,
     "seed 001 Tier 2: trending up QoQ (the trend column)"},
    {"sales_cycle_days", "Sales cycle length (days)", "operating", "sales_cycle_days", "days", false, false, 0, NULL,
     NULL, "seed 001 Tier 2: trending down QoQ (the trend column)"},
    {"pipeline_created", "Pipeline created", "operating", "pipeline_created", "money", true, false, 0, "operating",
     "pipeline_created_target", "seed 001 Tier 2: 1.5x quota"},
};

static const row_def RESULTS[] = {
    {"arr", "ARR", "arr", "current", "money", true, false, 0, NULL, NULL, NO_TARGET_ARR},
    {"net_new_arr", "Net New ARR", "arr", "net_new", "money", true, false, 0, NULL, NULL, NO_TARGET_ARR},
    {"nrr", "NRR", "retention", "nrr", "fraction", true, true, 1.05, NULL, NULL, "seed 001 phase 5: good 105%+"},
    {"grr", "GRR", "retention", "grr", "fraction", true, true, 0.85, NULL, NULL, "seed 001 phase 5: good 85%+"},
    {"logo_retention", "Logo retention", "retention", "logo_retention", "fraction", true, true, 0.90, NULL, NULL,
     "the dashboard's green band: 90%+"},
    {"won", "Closed won vs quota", "operating", "won", "money", true, false, 0, "pipeline", "quota",
     "the quarter's quota (the reps' quotas)"},
};

static const row_def PIPELINE_QUALITY[] = {
    {"total_value", "Open pipeline", "pipeline", "total_value", "money", true, false, 0, NULL, NULL, "none"},
    {"weighted_pipeline", "Weighted pipeline", "pipeline", "weighted_pipeline", "money", true, false, 0, NULL, NULL,
     "none"},
    {"coverage_ratio", "Coverage", "pipeline", "coverage_ratio", "multiple", true, true, 3.5, NULL, NULL,
     "seed 001 Tier 2: 3.5-4x"},
    {"age_adjusted_coverage", "Deal-age adjusted coverage", "pipeline", "age_adjusted_coverage", "multiple", true, true,
     3.0, NULL, NULL, "seed 001 phase 4: 3x minimum"},
    {"required_pipeline", "Required pipeline (quota ÷ win rate)", "pipeline", "required_pipeline", "money", false,
     false, 0, NULL, NULL, "none: it is itself the target of the pipeline"},
    {"velocity_per_day", "Sales velocity per day", "pipeline", "velocity_per_day", "money", true, false, 0, NULL, NULL,
     "none"},
};

static const row_def GTM[] = {
    {"cac", "CAC", "efficiency", "cac", "money", false, false, 0, NULL, NULL, "seed 001: depends on ACV"},
    {"ltv_cac_ratio", "LTV:CAC", "efficiency", "ltv_cac_ratio", "multiple", true, true, 3, NULL, NULL,
     "seed 001 phase 5: > 3:1"},
    {"cac_payback_months", "CAC payback", "efficiency", "cac_payback_months", "months", false, true, 18, NULL, NULL,
     "seed 001 phase 5: good < 18 months"},
    {"magic_number", "Magic number", "efficiency", "magic_number", "multiple", true, true, 0.75, NULL, NULL,
     "seed 001 phase 5: good > 0.75"},
    {"burn_multiple", "Burn multiple", "efficiency", "burn_multiple", "multiple", false, true, 2, NULL, NULL,
     "seed 001 phase 5: good < 2x"},
};

static const row_def NEXT_PLAN[] = {
    {"quota", "Quota", "pipeline", "quota", "money", true, false, 0, NULL, NULL, "none"},
    {"required_pipeline", "Required pipeline (quota ÷ win rate)", "pipeline", "required_pipeline", "money", false,
     false, 0, NULL, NULL, "none"},
    {"coverage_ratio", "Coverage so far", "pipeline", "coverage_ratio", "multiple", true, true, 3.5, NULL, NULL,
     "seed 001 Tier 2: 3.5-4x"},
    {"age_adjusted_coverage", "Deal-age adjusted coverage so far", "pipeline", "age_adjusted_coverage", "multiple",
     true, true, 3.0, NULL, NULL, "seed 001 phase 4: 3x minimum"},
    {"forecast_expected", "Forecast (expected)", "forecast", "expected", "money", true, false, 0, "pipeline", "quota",
     "the quarter's quota"},
    {"pipeline_created_target", "Pipeline to create (1.5x quota)", "operating", "pipeline_created_target", "money",
     true, false, 0, NULL, NULL, "seed 001 Tier 2: 1.5x quota"},
};

/* The funnel rows with each transition's volume (the cohort that entered it
 * and how many converted: the dashboard's explain inputs). */
static json_t *funnel_rows(const json_t *cur, const json_t *prev, report_figure *figs)
{
    json_t *rows = rows_json(FUNNEL, N_OF(FUNNEL), cur, prev, figs);
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r)
    {
        const json_t *in = json_object_get(json_object_get(json_object_get(cur, "explain"), FUNNEL[i].key), "inputs");
        json_object_set_new(r, "volume", json_integer(json_integer_value(json_object_get(in, "entered"))));
        json_object_set_new(r, "converted", json_integer(json_integer_value(json_object_get(in, "converted"))));
    }
    return rows;
}

/* ---- movers: what worked and what did not ---- */

typedef struct {
    const row_def *def;
    report_figure fig;
} mover_in;

static json_t *mover_items(const mover_in *m, const size_t *idx, size_t n)
{
    json_t *a = json_array();
    for (size_t k = 0; k < n && k < 3; k++) {
        const mover_in *x = &m[idx[k]];
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:f}", "metric", x->def->metric, "label",
                                           x->def->label, "unit", x->def->unit, "previous", x->fig.prev, "actual",
                                           x->fig.cur, "change", rounded(x->def->unit, x->fig.cur - x->fig.prev),
                                           "move_size", round(report_move_size(&x->fig) * 10000) / 10000));
    }
    return a;
}

/* The three largest improvements and deteriorations among the given rows. */
static void movers(const mover_in *m, size_t n, json_t *src, json_t **worked, json_t **didnt)
{
    report_figure *f = calloc(n + 1, sizeof *f);
    size_t *better = calloc(n + 1, sizeof *better), *worse = calloc(n + 1, sizeof *worse), nb = 0, nw = 0;
    if (f && better && worse) {
        for (size_t i = 0; i < n; i++)
            f[i] = m[i].fig;
        report_movers(f, n, better, &nb, worse, &nw);
    }
    *worked = json_pack("{s:O, s:o}", "source", src, "items", mover_items(m, better, nb));
    *didnt = json_pack("{s:O, s:o}", "source", src, "items", mover_items(m, worse, nw));
    free(f);
    free(better);
    free(worse);
}

/* ---- process changes: funnel, scoring model, routing and comp plan versions of [start, end) ---- */

static json_t *process_changes(rctx *c, const period *P)
{
    char sb[16], eb[16];
    const char *p[] = {c->ws, caldate_format(P->start, sb, sizeof sb), caldate_format(P->end, eb, sizeof eb)};
    PGresult *r = db_query(
        c->db,
        "SELECT kind, id, name, version, rfc3339(created_at) FROM ("
        " SELECT 'funnel' AS kind, funnel_id::text AS id, name, version, created_at FROM funnel_versions"
        "  WHERE workspace_id = $1"
        " UNION ALL SELECT 'scoring_model', model_id::text, name, version, created_at FROM scoring_model_versions"
        "  WHERE workspace_id = $1"
        " UNION ALL SELECT 'routing_rules', NULL, 'routing rules', version, created_at FROM routing_rule_versions"
        "  WHERE workspace_id = $1"
        " UNION ALL SELECT 'comp_plan', plan_id::text, name, version, created_at FROM comp_plan_versions"
        "  WHERE workspace_id = $1) v"
        " WHERE created_at >= ($2::date)::timestamp AT TIME ZONE 'UTC'"
        "   AND created_at < ($3::date)::timestamp AT TIME ZONE 'UTC'"
        " ORDER BY created_at, kind, id, version",
        3, p, c->err);
    if (!r)
        return NULL;
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        const char *kind = PQgetvalue(r, i, 0), *id = PQgetvalue(r, i, 1);
        char src[160];
        if (strcmp(kind, "funnel") == 0)
            snprintf(src, sizeof src, "GET /v1/funnels/%s/versions", id);
        else if (strcmp(kind, "scoring_model") == 0)
            snprintf(src, sizeof src, "GET /v1/scoring-models/%s/versions", id);
        else if (strcmp(kind, "comp_plan") == 0)
            snprintf(src, sizeof src, "GET /v1/comp-plans/%s?version=%s", id, PQgetvalue(r, i, 3));
        else
            snprintf(src, sizeof src, "GET /v1/routing/rules");
        int version = atoi(PQgetvalue(r, i, 3));
        json_t *o =
            json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "kind", kind, "name", PQgetvalue(r, i, 2), "version", version,
                      "change", version == 1 ? "created" : "updated", "changed_at", PQgetvalue(r, i, 4), "source", src);
        json_object_set_new(o, "id", PQgetisnull(r, i, 1) ? json_null() : json_string(id));
        json_array_append_new(items, o);
    }
    PQclear(r);
    return json_pack("{s:[s, s, s, s], s:o}", "source", "GET /v1/funnels/{id}/versions",
                     "GET /v1/scoring-models/{id}/versions", "GET /v1/routing/rules", "GET /v1/comp-plans/{id}",
                     "items", items);
}

/* ---- priorities from the health signals ---- */

/* Data hygiene is measured on the data as it is now (GET /v1/hygiene has no
 * as-of): it joins the priorities of a period that contains today only.
 * *hyg gets the summary or NULL. 0 or -1. */
static int hygiene_now(rctx *c, const period *P, json_t **hyg)
{
    *hyg = NULL;
    if (!(P->start <= c->today && c->today < P->end))
        return 0;
    return hygiene_summary(c->db, c->ws, time(NULL), false, hyg, c->err);
}

static void add_priority(json_t *items, const char *status, const char *metric, const char *note, json_t *source)
{
    json_array_append_new(items, json_pack("{s:i, s:s, s:s, s:s, s:o}", "rank", (int)json_array_size(items) + 1,
                                           "status", status, "metric", metric, "note", note, "source", source));
}

/* Red before yellow; within a colour the dashboard's signals in its order,
 * then the hygiene rules in the seed's order. */
static json_t *priorities(const json_t *d, const period *P, const json_t *hyg)
{
    static const char *const order[] = {"red", "yellow"};
    json_t *items = json_array();
    for (size_t k = 0; k < N_OF(order); k++) {
        size_t i;
        const json_t *s;
        json_array_foreach(json_object_get(d, "health_signals"), i, s)
        {
            const char *st = json_string_value(json_object_get(s, "status"));
            if (st && strcmp(st, order[k]) == 0)
                add_priority(items, st, json_string_value(json_object_get(s, "metric")),
                             json_string_value(json_object_get(s, "note")), src_dashboard(P));
        }
        json_array_foreach(json_object_get(hyg, "rules"), i, s)
        {
            const char *st = json_string_value(json_object_get(s, "status"));
            if (!st || strcmp(st, order[k]) != 0)
                continue;
            char metric[80], note[240], src[96];
            snprintf(metric, sizeof metric, "hygiene.%s", json_string_value(json_object_get(s, "id")));
            snprintf(note, sizeof note, "%s: %.1f%% (%lld of %lld) vs %s",
                     json_string_value(json_object_get(s, "name")),
                     json_number_value(json_object_get(s, "value")) * 100,
                     (long long)json_integer_value(json_object_get(s, "offending")),
                     (long long)json_integer_value(json_object_get(s, "population")),
                     json_string_value(json_object_get(s, "threshold")));
            snprintf(src, sizeof src, "GET %s", json_string_value(json_object_get(s, "records")));
            add_priority(items, st, metric, note, json_string(src));
        }
    }
    return items;
}

static json_t *priorities_section(const json_t *d, const period *P, const json_t *hyg)
{
    json_t *src = json_array();
    json_array_append_new(src, src_dashboard(P));
    if (hyg)
        json_array_append_new(src, json_string("GET /v1/hygiene"));
    return json_pack("{s:o, s:o, s:s*}", "source", src, "items", priorities(d, P, hyg), "note",
                     hyg ? NULL
                         : "data hygiene (GET /v1/hygiene) is measured on today's data only: it is not part of a "
                           "period that does not contain today");
}

/* ---- the monthly review ---- */

static const char *const MONTHS[] = {"January", "February", "March",     "April",   "May",      "June",
                                     "July",    "August",   "September", "October", "November", "December"};

static int monthly_doc(rctx *c, const period *M, json_t **out)
{
    period prev = period_shift(M, -1, c->fsm);
    json_t *cur = NULL, *pd = NULL, *hyg = NULL, *changes = NULL;
    int rc = -1;
    if (dash(c, M, &cur) != 0 || dash(c, &prev, &pd) != 0 || hygiene_now(c, M, &hyg) != 0 ||
        !(changes = process_changes(c, M)))
        goto done;
    char ml[16], pl[16], title[64];
    int y, m, dd;
    caldate_to_ymd(M->start, &y, &m, &dd);
    snprintf(title, sizeof title, "Monthly RevOps Review — %s %d", MONTHS[m - 1], y);
    report_figure hf[N_OF(HEADLINE)], ff[N_OF(FUNNEL)], of[N_OF(OPERATING)];
    json_t *both = json_pack("[o, o]", src_dashboard(M), src_dashboard(&prev));
    json_t *headline = rows_json(HEADLINE, N_OF(HEADLINE), cur, pd, hf);
    json_t *funnel = funnel_rows(cur, pd, ff);
    json_t *operating = rows_json(OPERATING, N_OF(OPERATING), cur, pd, of);
    mover_in mv[N_OF(HEADLINE) + N_OF(FUNNEL) + N_OF(OPERATING)];
    size_t nm = 0;
    for (size_t i = 0; i < N_OF(HEADLINE); i++)
        mv[nm++] = (mover_in){&HEADLINE[i], hf[i]};
    for (size_t i = 0; i < N_OF(FUNNEL); i++)
        mv[nm++] = (mover_in){&FUNNEL[i], ff[i]};
    for (size_t i = 0; i < N_OF(OPERATING); i++)
        mv[nm++] = (mover_in){&OPERATING[i], of[i]};
    json_t *worked, *didnt;
    movers(mv, nm, both, &worked, &didnt);
    *out = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:{s:{s:O, s:o}, s:{s:O, s:o}, s:o, s:o, s:o, s:o, s:{s:O, "
                     "s:o}}}",
                     "report", "monthly", "title", title, "month", period_format(M, ml, sizeof ml), "previous_month",
                     period_format(&prev, pl, sizeof pl), "as_of", as_of_j(c, M), "as_of_rule", as_of_rule(c, M),
                     "sections", "headline_metrics", "source", both, "rows", headline, "funnel_analysis", "source",
                     both, "rows", funnel, "what_worked", worked, "what_didnt", didnt, "process_changes", changes,
                     "next_month_priorities", priorities_section(cur, M, hyg), "operating_metrics", "source", both,
                     "rows", operating);
    json_decref(both);
    changes = NULL;
    rc = *out ? 0 : -1;
done:
    json_decref(cur);
    json_decref(pd);
    json_decref(hyg);
    json_decref(changes);
    return rc;
}

/* ---- the QBR: the seed's seven parts ---- */

static json_t *team_json(const report_team *t)
{
    json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:f, s:I}", "headcount_start", (json_int_t)t->headcount_start,
                          "headcount_end", (json_int_t)t->headcount_end, "hired", (json_int_t)t->hired, "departed",
                          (json_int_t)t->departed, "ramping", (json_int_t)t->ramping, "ramped_equivalent",
                          round(t->ramped_equivalent * 100) / 100, "without_start_date", (json_int_t)t->without_start);
    json_object_set_new(o, "attrition_rate",
                        t->has_attrition ? json_real(round(t->attrition_rate * 10000) / 10000) : json_null());
    return o;
}

/* The team of Q and of the quarter before from the reps' start and end
 * dates (GET /v1/reps), ramp by the seed's schedule (capacity's default). */
static json_t *team_section(rctx *c, const period *Q, const period *prev)
{
    const char *p[] = {c->ws};
    PGresult *r = db_query(
        c->db, "SELECT start_date, end_date FROM reps WHERE workspace_id = $1 AND deleted_at IS NULL", 1, p, c->err);
    if (!r)
        return NULL;
    int n = PQntuples(r);
    report_rep *reps = calloc((size_t)n + 1, sizeof *reps);
    if (!reps) {
        PQclear(r);
        app_err_set(c->err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        reps[i].has_start = !PQgetisnull(r, i, 0) && caldate_parse(PQgetvalue(r, i, 0), &reps[i].start);
        reps[i].has_end = !PQgetisnull(r, i, 1) && caldate_parse(PQgetvalue(r, i, 1), &reps[i].end);
    }
    PQclear(r);
    capacity_assumptions a;
    capacity_assumptions_default(1, 1, &a);
    report_team cur, before;
    report_team_compute(reps, (size_t)n, Q->start, Q->end, a.ramp, a.ramp_len, &cur);
    report_team_compute(reps, (size_t)n, prev->start, prev->end, a.ramp, a.ramp_len, &before);
    free(reps);
    json_t *o = team_json(&cur);
    json_object_set_new(o, "previous", team_json(&before));
    json_object_set_new(o, "source", json_string("GET /v1/reps"));
    return o;
}

static json_t *part(int n, const char *key, const char *title, int minutes, const char *focus, json_t *source)
{
    return json_pack("{s:i, s:s, s:s, s:i, s:s, s:o}", "part", n, "key", key, "title", title, "minutes", minutes,
                     "focus", focus, "source", source);
}

static int qbr_doc(rctx *c, const period *Q, json_t **out)
{
    period prev = period_shift(Q, -1, c->fsm), next = period_shift(Q, 1, c->fsm);
    json_t *cur = NULL, *pd = NULL, *nd = NULL, *hyg = NULL, *changes = NULL;
    int rc = -1;
    if (dash(c, Q, &cur) != 0 || dash(c, &prev, &pd) != 0 || dash(c, &next, &nd) != 0 || hygiene_now(c, Q, &hyg) != 0 ||
        !(changes = process_changes(c, Q)))
        goto done;
    report_figure scratch[8];
    json_t *parts = json_array(), *p;

    p = part(1, "results_vs_plan", "Results vs. Plan", 10, "ARR, NRR, efficiency metrics",
             json_pack("[o, o]", src_dashboard(Q), src_dashboard(&prev)));
    json_object_set_new(p, "rows", rows_json(RESULTS, N_OF(RESULTS), cur, pd, scratch));
    json_array_append_new(parts, p);

    p = part(2, "funnel_deep_dive", "Funnel Deep Dive", 15, "Stage-by-stage with cohort trends",
             json_pack("[o, o]", src_dashboard(Q), src_dashboard(&prev)));
    json_object_set_new(p, "rows", funnel_rows(cur, pd, scratch));
    json_array_append_new(parts, p);

    p = part(3, "pipeline_quality", "Pipeline Quality", 10, "Coverage, aging, source mix",
             json_pack("[o, o]", src_dashboard(Q), src_dashboard(&prev)));
    json_object_set_new(p, "rows", rows_json(PIPELINE_QUALITY, N_OF(PIPELINE_QUALITY), cur, pd, scratch));
    json_object_set_new(p, "note",
                        json_string("aging is the deal-age adjusted coverage (fresh 100%, aging 50%, "
                                    "stale 25%); the source mix is by deal source"));
    {
        json_t *mix = NULL, *mix_prev = NULL;
        if (pipeline_sources_build(c->db, c->ws, Q, c->today, &mix, c->err) != 0 ||
            pipeline_sources_build(c->db, c->ws, &prev, c->today, &mix_prev, c->err) != 0) {
            json_decref(mix);
            json_decref(p);
            json_decref(parts);
            goto done;
        }
        char pq[16], pp[16], src[64];
        snprintf(src, sizeof src, "GET /v1/pipeline/sources?period=%s", period_format(Q, pq, sizeof pq));
        json_array_append_new(json_object_get(p, "source"), json_string(src));
        snprintf(src, sizeof src, "GET /v1/pipeline/sources?period=%s", period_format(&prev, pp, sizeof pp));
        json_array_append_new(json_object_get(p, "source"), json_string(src));
        json_object_set_new(p, "source_mix", mix);
        json_object_set_new(p, "source_mix_previous", mix_prev);
    }
    json_array_append_new(parts, p);

    p = part(4, "gtm_efficiency", "GTM Efficiency", 10, "CAC, payback, magic number, by segment",
             json_pack("[o, o]", src_dashboard(Q), src_dashboard(&prev)));
    json_object_set_new(p, "rows", rows_json(GTM, N_OF(GTM), cur, pd, scratch));
    char ue[96], ql[16];
    snprintf(ue, sizeof ue, "GET /v1/metrics/unit-economics?by=segment&period=%s", period_format(Q, ql, sizeof ql));
    json_t *by_segment = NULL;
    if (unit_economics_build(c->db, c->ws, "segment", Q, &by_segment, c->err) != 0) {
        json_decref(p);
        json_decref(parts);
        goto done;
    }
    json_array_append_new(json_object_get(p, "source"), json_string(ue));
    json_object_set_new(p, "by_segment", by_segment);
    json_array_append_new(parts, p);

    p = part(5, "team_performance", "Team Performance", 10, "Rep productivity, ramp, attrition",
             json_pack("[o, o]", src_dashboard(Q), src_dashboard(&prev)));
    json_object_set_new(p, "rows", rows_json(OPERATING, N_OF(OPERATING), cur, pd, scratch));
    if (Q->start <= c->today) { /* per rep: quota attainment, as known at the quarter's end (or now) */
        caldate_t at_day = Q->end <= c->today ? Q->end : c->today;
        char at[112], ab[16];
        snprintf(at, sizeof at, "GET /v1/attainment?period=%s&group_by=rep&as_of=%s", ql,
                 caldate_format(at_day, ab, sizeof ab));
        json_t *att = NULL;
        if (attainment_build(c->db, c->ws, c->fsm, Q, at_day, "rep", &att, c->err) != 0) {
            json_decref(p);
            json_decref(parts);
            goto done;
        }
        json_array_append_new(json_object_get(p, "source"), json_string(at));
        json_object_set(p, "reps", json_object_get(att, "items"));
        json_object_set(p, "reps_total", json_object_get(att, "total"));
        json_decref(att);
    } else {
        json_object_set_new(p, "note", json_string("the quarter has not begun: no attainment yet"));
    }
    json_t *team = team_section(c, Q, &prev);
    if (!team) {
        json_decref(p);
        json_decref(parts);
        goto done;
    }
    json_object_set_new(p, "team", team);
    json_array_append_new(json_object_get(p, "source"), json_string("GET /v1/reps"));
    json_array_append_new(parts, p);

    p = part(6, "process_and_tech", "Process & Tech", 10, "What changed, what's planned",
             json_incref(json_object_get(changes, "source")));
    json_object_set_new(p, "changes", json_incref(json_object_get(changes, "items")));
    json_object_set_new(p, "planned", priorities(cur, Q, hyg));
    if (hyg)
        json_array_append_new(json_object_get(p, "source"), json_string("GET /v1/hygiene"));
    json_array_append_new(parts, p);

    p = part(7, "next_quarter_plan", "Next Quarter Plan", 15, "Targets, capacity, key bets",
             json_pack("[o]", src_dashboard(&next)));
    char nl[16];
    json_object_set_new(p, "quarter", json_string(period_format(&next, nl, sizeof nl)));
    json_object_set_new(p, "rows", rows_json(NEXT_PLAN, N_OF(NEXT_PLAN), nd, NULL, scratch));
    json_object_set_new(p, "priorities", priorities(nd, &next, NULL));
    json_array_append_new(parts, p);

    char title[48];
    snprintf(title, sizeof title, "Quarterly Business Review — %s", ql);
    char pl[16];
    *out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:o}", "report", "qbr", "title", title, "quarter", ql,
                     "previous_quarter", period_format(&prev, pl, sizeof pl), "next_quarter", nl, "as_of",
                     as_of_j(c, Q), "as_of_rule", as_of_rule(c, Q), "parts", parts);
    rc = *out ? 0 : -1;
done:
    json_decref(cur);
    json_decref(pd);
    json_decref(nd);
    json_decref(hyg);
    json_decref(changes);
    return rc;
}

/* ---- the one-page summary: the answer first ---- */

static int workspace_currency(rctx *c)
{
    const char *p[] = {c->ws};
    PGresult *r = db_query(c->db, "SELECT currency FROM workspaces WHERE id = $1", 1, p, c->err);
    if (!r)
        return -1;
    snprintf(c->cur, sizeof c->cur, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "USD");
    PQclear(r);
    return 0;
}

/* The signal that threatens the number most: the coverage and creation
 * signals first (they decide the number), then the others in the
 * dashboard's order; NULL when none has the status. */
static const json_t *worst_signal(const json_t *d, const char *status)
{
    static const char *const first[] = {"coverage_ratio", "age_adjusted_coverage", "win_rate", "pipeline_created",
                                        "forecast_mape"};
    const json_t *sig = json_object_get(d, "health_signals"), *s;
    size_t i;
    for (size_t k = 0; k < N_OF(first); k++)
        json_array_foreach(sig, i, s)
        {
            const char *st = json_string_value(json_object_get(s, "status"));
            if (st && strcmp(st, status) == 0 && strcmp(json_string_value(json_object_get(s, "metric")), first[k]) == 0)
                return s;
        }
    json_array_foreach(sig, i, s)
    {
        const char *st = json_string_value(json_object_get(s, "status"));
        if (st && strcmp(st, status) == 0)
            return s;
    }
    return NULL;
}

static json_t *summary_risk(const json_t *d, report_verdict v, double quota, double expected, double p10,
                            const char *cur, json_t *src)
{
    char a[48], b[48], t[320];
    const json_t *s = NULL;
    if (v == VERDICT_NO || v == VERDICT_AT_RISK) {
        reports_money(a, sizeof a, quota - expected, cur);
        reports_money(b, sizeof b, quota, cur);
        snprintf(t, sizeof t, "The forecast is %s short of the %s quota%s.", a, b,
                 v == VERDICT_NO ? ": even the P90 upside misses it" : ": only the upside reaches it");
        return json_pack("{s:s, s:s, s:s, s:f, s:O}", "kind", "forecast_gap", "status", "red", "statement", t, "amount",
                         round((quota - expected) * 100) / 100, "source", src);
    }
    if ((s = worst_signal(d, "red")) || (v != VERDICT_LIKELY && (s = worst_signal(d, "yellow")))) {
        snprintf(t, sizeof t, "%s.", json_string_value(json_object_get(s, "note")));
        return json_pack("{s:s, s:s, s:s, s:s, s:O}", "kind", "health_signal", "status",
                         json_string_value(json_object_get(s, "status")), "metric",
                         json_string_value(json_object_get(s, "metric")), "statement", t, "source", src);
    }
    if (v == VERDICT_LIKELY) {
        reports_money(a, sizeof a, quota - p10, cur);
        snprintf(t, sizeof t, "The number rests on the expected case: the P10 low case falls %s short.", a);
        return json_pack("{s:s, s:s, s:s, s:f, s:O}", "kind", "downside", "status", "yellow", "statement", t, "amount",
                         round((quota - p10) * 100) / 100, "source", src);
    }
    if (v == VERDICT_UNKNOWN)
        return json_pack("{s:s, s:n, s:s, s:O}", "kind", "no_quota", "status", "statement",
                         "Without a quota (or a forecast) for the period nobody can say whether it will be hit.",
                         "source", src);
    return json_pack("{s:s, s:s, s:s, s:O}", "kind", "none", "status", "green", "statement",
                     "No red or yellow health signal: even the P10 low case reaches the quota.", "source", src);
}

static int summary_doc(rctx *c, const period *P, json_t **out)
{
    json_t *d = NULL, *pd = NULL;
    const char *cur = c->cur;
    period prev = period_shift(P, -1, c->fsm);
    if (dash(c, P, &d) != 0 || dash(c, &prev, &pd) != 0) {
        json_decref(d);
        json_decref(pd);
        return -1;
    }
    double quota = 0, expected = 0, p10 = 0, p90 = 0, won = 0, wr = 0;
    bool hq = num_at(d, "pipeline", "quota", &quota);
    bool hf = num_at(d, "forecast", "expected", &expected) && num_at(d, "forecast", "p10", &p10) &&
              num_at(d, "forecast", "p90", &p90);
    num_at(d, "operating", "won", &won);
    bool hwr = num_at(d, "operating", "win_rate", &wr);
    report_verdict v = report_will_hit(hq && hf, cents(quota), cents(p10), cents(expected), cents(p90));
    json_t *src = src_dashboard(P);
    char q_s[48], e_s[48], lo_s[48], hi_s[48], w_s[48], g_s[48], n_s[48], ans[400], dec[400], tro[400], pl[16];
    reports_money(q_s, sizeof q_s, quota, cur);
    reports_money(e_s, sizeof e_s, expected, cur);
    reports_money(lo_s, sizeof lo_s, p10, cur);
    reports_money(hi_s, sizeof hi_s, p90, cur);
    reports_money(w_s, sizeof w_s, won, cur);
    period_format(P, pl, sizeof pl);
    bool ended = P->end <= c->today;
    if (v == VERDICT_UNKNOWN)
        snprintf(ans, sizeof ans, "%s has %s.", pl,
                 hq ? "no forecast (see the dashboard's null_reasons)" : "no quota on any rep (PUT /v1/reps/{id})");
    else if (ended)
        snprintf(ans, sizeof ans,
                 "%s was forecast at its start at %s (P10 %s, P90 %s) against a %s quota; it closed with %s won.", pl,
                 e_s, lo_s, hi_s, q_s, w_s);
    else
        snprintf(ans, sizeof ans, "%s is forecast at %s (P10 %s, P90 %s) against a %s quota; %s won so far.", pl, e_s,
                 lo_s, hi_s, q_s, w_s);
    money_t gap = v == VERDICT_UNKNOWN || expected >= quota ? 0 : cents(quota - expected), needed = 0;
    bool has_needed = gap > 0 && hwr && metrics_required_pipeline(gap, wr, &needed);
    reports_money(g_s, sizeof g_s, (double)gap / 100.0, cur);
    reports_money(n_s, sizeof n_s, (double)needed / 100.0, cur);
    if (v == VERDICT_UNKNOWN)
        snprintf(dec, sizeof dec,
                 "Set the period's quotas (PUT /v1/reps/{id} quotas) so the forecast has a number "
                 "to be judged against.");
    else if (gap > 0 && has_needed)
        snprintf(dec, sizeof dec,
                 "Close the %s gap: add %s of pipeline closing in %s (the gap ÷ the %.1f%% win rate), or reset the "
                 "number to the %s forecast.",
                 g_s, n_s, pl, wr * 100, e_s);
    else if (gap > 0)
        snprintf(dec, sizeof dec,
                 "Close the %s gap or reset the number to the %s forecast (no win rate in the period to size the "
                 "pipeline it needs).",
                 g_s, e_s);
    else
        snprintf(dec, sizeof dec, "Hold the plan: protect the commit deals and build next period's pipeline.");
    if (gap > 0)
        snprintf(tro, sizeof tro,
                 "Pulling deals in or discounting to close %s now lifts %s at the cost of next period's pipeline and "
                 "price; resetting the number keeps the pipeline and the forecast's credibility but lowers the "
                 "commitment.",
                 g_s, pl);
    else if (v == VERDICT_UNKNOWN)
        snprintf(tro, sizeof tro, "None to weigh until the period has a quota and a forecast.");
    else
        snprintf(tro, sizeof tro,
                 "Reps' time on deals that are already enough for %s is time not spent creating next period's "
                 "pipeline.",
                 pl);
    report_figure scratch[N_OF(PIPELINE_QUALITY) + N_OF(OPERATING)];
    json_t *supporting = rows_json(PIPELINE_QUALITY, N_OF(PIPELINE_QUALITY), d, pd, scratch);
    json_t *op = rows_json(OPERATING, N_OF(OPERATING), d, pd, scratch + N_OF(PIPELINE_QUALITY));
    json_array_extend(supporting, op);
    json_decref(op);
    json_t *answer = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:O}", "will_we_hit",
                               report_verdict_name(v), "statement", ans, "quota", opt_num(hq, quota), "won",
                               json_real(won), "expected", opt_num(hf, expected), "p10", opt_num(hf, p10), "p90",
                               opt_num(hf, p90), "gap", json_real((double)gap / 100.0), "method",
                               json_incref(json_object_get(json_object_get(d, "forecast"), "method")), "source", src);
    json_t *decision = json_pack("{s:s, s:o, s:O}", "statement", dec, "pipeline_needed",
                                 has_needed ? json_real((double)needed / 100.0) : json_null(), "source", src);
    char title[48];
    snprintf(title, sizeof title, "Executive Summary — %s", pl);
    *out = json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:o, s:{s:s, s:O}, s:{s:[O, o], s:o}}", "report", "summary",
                     "title", title, "period", pl, "as_of", as_of_j(c, P), "as_of_rule", as_of_rule(c, P), "answer",
                     answer, "largest_risk", summary_risk(d, v, quota, expected, p10, cur, src), "decision_needed",
                     decision, "trade_off", "statement", tro, "source", src, "supporting", "source", src,
                     src_dashboard(&prev), "rows", supporting);
    json_decref(src);
    json_decref(d);
    json_decref(pd);
    return *out ? 0 : -1;
}

/* ---- the handlers ---- */

/* YYYY-MM or YYYY-Qn by shape, before the database is asked. */
static bool shape_ok(const char *s, period_kind kind)
{
    if (strlen(s) != 7 || s[4] != '-')
        return false;
    for (int i = 0; i < 4; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    if (kind == PERIOD_MONTH)
        return s[5] >= '0' && s[5] <= '1' && s[6] >= '0' && s[6] <= '9';
    return s[5] == 'Q' && s[6] >= '1' && s[6] <= '4';
}

typedef int (*doc_fn)(rctx *c, const period *P, json_t **out);

static void serve(http_req *rq, const char *param, int kind, const char *msg, doc_fn fn)
{
    app_err err = {0};
    const char *v = http_query(rq, param);
    if (v && kind >= 0 && !shape_ok(v, (period_kind)kind))
        app_err_field(&err, param, "%s", msg);
    if (v && strlen(v) > 16)
        app_err_field(&err, param, "%s", msg);
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    rctx c = {.db = db, .ws = rq->auth.workspace_id, .today = utc_today(), .err = &err};
    if ((c.fsm = workspace_fy_start(db, c.ws, &err)) < 0 || workspace_currency(&c) != 0) {
        http_reply_error(rq, &err);
        return;
    }
    period P = period_containing(kind == PERIOD_MONTH ? PERIOD_MONTH : PERIOD_QUARTER, c.today, c.fsm);
    if (v && (!period_parse(v, c.fsm, &P) || (kind >= 0 && P.kind != (period_kind)kind))) {
        app_err_field(&err, param, "%s", msg);
        http_reply_error(rq, &err);
        return;
    }
    /* the report compares with the period before (and the QBR plans the one
     * after): both must be periods the dashboard takes, from 1900 and within
     * the forecasts' reach (forecast_period_in_reach) */
    period before = period_shift(&P, -1, c.fsm), after = period_shift(&P, 1, c.fsm);
    if (before.start < caldate_from_ymd(1900, 1, 1) || !forecast_period_in_reach(&after, c.today)) {
        app_err_field(&err, param, "%s, from the second period of 1900 up to five years from today", msg);
        http_reply_error(rq, &err);
        return;
    }
    json_t *doc = NULL;
    c.memo = dash_memo_new();
    int rc = c.memo ? fn(&c, &P, &doc) : -1;
    dash_memo_free(c.memo);
    if (rc != 0) {
        if (err.code == ERR_NONE)
            app_err_set(&err, ERR_INTERNAL, "could not build the report");
        http_reply_error(rq, &err);
        return;
    }
    json_object_set_new(doc, "currency", json_string(c.cur));
    const char *accept = http_header(rq, "Accept");
    if (accept && strstr(accept, "text/markdown")) {
        char *md = reports_markdown(doc);
        json_decref(doc);
        if (!md) {
            http_fail(rq, ERR_INTERNAL, "out of memory");
            return;
        }
        http_reply_text(rq, 200, "text/markdown; charset=utf-8", md, strlen(md));
        return;
    }
    http_reply_json(rq, 200, doc);
}

void h_reports_monthly(http_req *rq)
{
    serve(rq, "month", PERIOD_MONTH, "must be a month YYYY-MM (e.g. 2026-03)", monthly_doc);
}

void h_reports_qbr(http_req *rq)
{
    serve(rq, "quarter", PERIOD_QUARTER, "must be a quarter YYYY-Qn (e.g. 2026-Q1)", qbr_doc);
}

void h_reports_summary(http_req *rq)
{
    serve(rq, "period", -1, "must be a period such as 2026-Q1, 2026-03 or FY2026", summary_doc);
}

/* scenario.c - revenue plan, scenario adjustments, side-by-side deltas, tornado. */
#include "scenario.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The projection's sales-cycle model works on a 365-day year. */
#define YEAR_DAYS 365.0

static int fail(scenario_error *err, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(scenario_error *err, const char *field, const char *fmt, ...)
{
    if (err) {
        snprintf(err->field, sizeof err->field, "%s", field);
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static const char *const field_names[SF__COUNT] = {
    "total_arr_target",
    "new_business",
    "expansion",
    "gross_churn_rate",
    "expansion_rate",
    "avg_new_deal_size",
    "avg_expansion_deal_size",
    "new_win_rate",
    "expansion_win_rate",
    "avg_sales_cycle_new",
    "avg_sales_cycle_expansion",
    "sql_to_opp_rate",
    "mql_to_sql_rate",
    "quota_per_ae",
    "expected_attainment",
};

const char *scenario_field_name(scenario_field f) { return (unsigned)f < SF__COUNT ? field_names[f] : "?"; }

int scenario_field_parse(const char *s)
{
    for (int i = 0; s && i < SF__COUNT; i++)
        if (strcmp(s, field_names[i]) == 0)
            return i;
    return -1;
}

static const char *const op_names[] = {"add", "mul", "set"};

const char *scenario_op_name(scenario_op op) { return (unsigned)op <= SCENARIO_SET ? op_names[op] : "?"; }

int scenario_op_parse(const char *s)
{
    for (int i = 0; s && i <= SCENARIO_SET; i++)
        if (strcmp(s, op_names[i]) == 0)
            return i;
    return -1;
}

static void add_adj(scenario_def *d, scenario_field f, scenario_op op, double v)
{
    d->adjust[d->nadjust++] = (scenario_adjustment){f, op, v};
}

void scenario_preset(scenario_preset_kind k, scenario_def *out)
{
    memset(out, 0, sizeof *out);
    switch (k) {
    case SCENARIO_BEAR:
        /* seed: -20% from plan; win rate drops 5 pts, cycle +15 days, churn +2 pts */
        snprintf(out->name, sizeof out->name, "bear");
        out->confidence = 0.70;
        out->actions = "Reduce hiring, focus on expansion, cut discretionary";
        add_adj(out, SF_NEW_BUSINESS, SCENARIO_MUL, 0.8);
        add_adj(out, SF_EXPANSION, SCENARIO_MUL, 0.8);
        add_adj(out, SF_NEW_WIN_RATE, SCENARIO_ADD, -0.05);
        add_adj(out, SF_AVG_SALES_CYCLE_NEW, SCENARIO_ADD, 15);
        add_adj(out, SF_GROSS_CHURN_RATE, SCENARIO_ADD, 0.02);
        break;
    case SCENARIO_BASE:
        snprintf(out->name, sizeof out->name, "base");
        out->confidence = 0.50;
        out->actions = "Execute plan";
        break;
    case SCENARIO_BULL:
        /* seed: +20% from plan; win rate up 5 pts, cycle -10 days, expansion up
         * (we choose x1.1 on the expansion rate) */
        snprintf(out->name, sizeof out->name, "bull");
        out->confidence = 0.30;
        out->actions = "Accelerate hiring, invest in new channels";
        add_adj(out, SF_NEW_BUSINESS, SCENARIO_MUL, 1.2);
        add_adj(out, SF_EXPANSION, SCENARIO_MUL, 1.2);
        add_adj(out, SF_NEW_WIN_RATE, SCENARIO_ADD, 0.05);
        add_adj(out, SF_AVG_SALES_CYCLE_NEW, SCENARIO_ADD, -10);
        add_adj(out, SF_EXPANSION_RATE, SCENARIO_MUL, 1.1);
        break;
    }
}

/* ---- validation -------------------------------------------------------- */

static bool rate_ok(double r) { return r > 0.0 && r <= 1.0; }
static bool money_ok(money_t m) { return m >= 0 && m <= MONEY_MAX_ABS; }

static int check_input(const scenario_input *in, scenario_error *err)
{
    const scenario_targets *t = &in->targets;
    const scenario_assumptions *a = &in->assumptions;
    if (!money_ok(t->total_arr_target))
        return fail(err, "targets.total_arr_target", "must be in [0, 10^15] major units");
    if (!money_ok(t->new_business))
        return fail(err, "targets.new_business", "must be in [0, 10^15] major units");
    if (!money_ok(t->expansion))
        return fail(err, "targets.expansion", "must be in [0, 10^15] major units");
    if (!money_ok(in->starting_arr))
        return fail(err, "starting_arr", "must be >= 0");
    if (!(a->gross_churn_rate >= 0.0 && a->gross_churn_rate < 1.0))
        return fail(err, "assumptions.gross_churn_rate", "must be in [0, 1)");
    if (!(a->expansion_rate >= 0.0 && a->expansion_rate <= 100.0))
        return fail(err, "assumptions.expansion_rate", "must be in [0, 100]");
    if (!(a->avg_sales_cycle_new >= 0.0 && a->avg_sales_cycle_new < YEAR_DAYS))
        return fail(err, "assumptions.avg_sales_cycle_new", "must be in [0, 365) days");
    if (!(a->avg_sales_cycle_expansion >= 0.0 && a->avg_sales_cycle_expansion < YEAR_DAYS))
        return fail(err, "assumptions.avg_sales_cycle_expansion", "must be in [0, 365) days");
    if (!money_ok(a->avg_new_deal_size) || !money_ok(a->avg_expansion_deal_size))
        return fail(err, "assumptions.avg_new_deal_size", "deal sizes must be >= 0");
    if (t->new_business > 0) {
        if (a->avg_new_deal_size <= 0)
            return fail(err, "assumptions.avg_new_deal_size", "required when new_business > 0");
        if (!rate_ok(a->new_win_rate))
            return fail(err, "assumptions.new_win_rate", "must be in (0, 1]");
        if (!rate_ok(a->sql_to_opp_rate))
            return fail(err, "assumptions.sql_to_opp_rate", "must be in (0, 1]");
        if (!rate_ok(a->mql_to_sql_rate))
            return fail(err, "assumptions.mql_to_sql_rate", "must be in (0, 1]");
    }
    if (t->expansion > 0) {
        if (a->avg_expansion_deal_size <= 0)
            return fail(err, "assumptions.avg_expansion_deal_size", "required when expansion > 0");
        if (!rate_ok(a->expansion_win_rate))
            return fail(err, "assumptions.expansion_win_rate", "must be in (0, 1]");
    }
    if (t->total_arr_target > 0 && in->starting_arr == 0 && t->total_arr_target < t->new_business + t->expansion)
        return fail(err, "targets.total_arr_target", "below new_business + expansion: no starting ARR is implied");
    if (in->quota_per_ae <= 0 || in->quota_per_ae > MONEY_MAX_ABS)
        return fail(err, "capacity.quota_per_ae", "must be positive");
    if (!(in->expected_attainment > 0.0 && in->expected_attainment <= 3.0))
        return fail(err, "capacity.expected_attainment", "must be in (0, 3]");
    if (in->current_aes < 0 || in->current_aes > 1000000)
        return fail(err, "capacity.current_aes", "must be 0..1000000");
    return 0;
}

/* ---- adjustments ------------------------------------------------------- */

typedef struct {
    scenario_targets t;
    scenario_assumptions a;
    money_t quota;
    double attainment;
} knobs;

static double clampd(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

static double op_apply(double cur, scenario_op op, double v)
{
    switch (op) {
    case SCENARIO_ADD:
        return cur + v;
    case SCENARIO_MUL:
        return cur * v;
    case SCENARIO_SET:
        return v;
    }
    return cur;
}

/* Money fields: MUL goes through money_mul_rate so it rounds like every
 * other rate x money; ADD/SET take cents. Never below min, never above the cap. */
static money_t op_money(money_t cur, scenario_op op, double v, money_t min)
{
    double r;
    if (op == SCENARIO_MUL) {
        if (!(v >= 0.0))
            return min;
        r = (double)money_mul_rate(cur, v > 1e6 ? 1e6 : v);
    } else {
        r = op_apply((double)cur, op, v);
    }
    if (!(r >= (double)min))
        return min;
    if (r > (double)MONEY_MAX_ABS)
        return MONEY_MAX_ABS;
    return (money_t)llround(r);
}

static int apply_one(knobs *k, const scenario_adjustment *adj, bool *total_set, scenario_error *err)
{
    if (!isfinite(adj->value))
        return fail(err, "adjustments", "value must be finite");
    if ((unsigned)adj->op > SCENARIO_SET)
        return fail(err, "adjustments", "unknown op");
    scenario_assumptions *a = &k->a;
    switch (adj->field) {
    case SF_TOTAL_ARR_TARGET:
        k->t.total_arr_target = op_money(k->t.total_arr_target, adj->op, adj->value, 0);
        *total_set = true;
        break;
    case SF_NEW_BUSINESS:
        k->t.new_business = op_money(k->t.new_business, adj->op, adj->value, 0);
        break;
    case SF_EXPANSION:
        k->t.expansion = op_money(k->t.expansion, adj->op, adj->value, 0);
        break;
    case SF_GROSS_CHURN_RATE:
        a->gross_churn_rate = clampd(op_apply(a->gross_churn_rate, adj->op, adj->value), 0.0, 0.99);
        break;
    case SF_EXPANSION_RATE:
        a->expansion_rate = clampd(op_apply(a->expansion_rate, adj->op, adj->value), 0.0, 100.0);
        break;
    case SF_AVG_NEW_DEAL_SIZE:
        a->avg_new_deal_size = op_money(a->avg_new_deal_size, adj->op, adj->value, 1);
        break;
    case SF_AVG_EXPANSION_DEAL_SIZE:
        a->avg_expansion_deal_size = op_money(a->avg_expansion_deal_size, adj->op, adj->value, 1);
        break;
    case SF_NEW_WIN_RATE:
        a->new_win_rate = clampd(op_apply(a->new_win_rate, adj->op, adj->value), 0.01, 1.0);
        break;
    case SF_EXPANSION_WIN_RATE:
        a->expansion_win_rate = clampd(op_apply(a->expansion_win_rate, adj->op, adj->value), 0.01, 1.0);
        break;
    case SF_AVG_SALES_CYCLE_NEW:
        a->avg_sales_cycle_new = clampd(op_apply(a->avg_sales_cycle_new, adj->op, adj->value), 0.0, YEAR_DAYS - 1);
        break;
    case SF_AVG_SALES_CYCLE_EXPANSION:
        a->avg_sales_cycle_expansion =
            clampd(op_apply(a->avg_sales_cycle_expansion, adj->op, adj->value), 0.0, YEAR_DAYS - 1);
        break;
    case SF_SQL_TO_OPP_RATE:
        a->sql_to_opp_rate = clampd(op_apply(a->sql_to_opp_rate, adj->op, adj->value), 0.01, 1.0);
        break;
    case SF_MQL_TO_SQL_RATE:
        a->mql_to_sql_rate = clampd(op_apply(a->mql_to_sql_rate, adj->op, adj->value), 0.01, 1.0);
        break;
    case SF_QUOTA_PER_AE:
        k->quota = op_money(k->quota, adj->op, adj->value, 1);
        break;
    case SF_EXPECTED_ATTAINMENT:
        k->attainment = clampd(op_apply(k->attainment, adj->op, adj->value), 0.01, 3.0);
        break;
    default:
        return fail(err, "adjustments", "unknown field");
    }
    return 0;
}

/* ---- the plan ---------------------------------------------------------- */

/* ceil(a / r) for a count a and a rate r in (0, 1]; the epsilon keeps exact
 * quotients (100 / 0.2 = 500) from rounding up to 501 on float noise. */
#define SCENARIO_MAX_COUNT 1e15 /* deals/opps/SQLs/MQLs beyond this are no plan (and would overflow) */

static long long ceil_div_rate(long long a, double r)
{
    if (a <= 0)
        return 0;
    double q = ceil((double)a / r - 1e-9);
    return q > SCENARIO_MAX_COUNT ? -1 : (long long)q; /* -1: out of range, the caller fails */
}

static long long ceil_div_money(money_t a, money_t b) { return a <= 0 ? 0 : (long long)((a + b - 1) / b); }

static money_t starting_arr_of(const scenario_input *in)
{
    if (in->starting_arr > 0 || in->targets.total_arr_target == 0)
        return in->starting_arr;
    /* total = starting x (1 - churn) + new + expansion */
    money_t net = in->targets.total_arr_target - in->targets.new_business - in->targets.expansion;
    return money_mul_rate(net, 1.0 / (1.0 - in->assumptions.gross_churn_rate));
}

static double ratio(double x, double x0) { return x0 > 0.0 ? x / x0 : 1.0; }

/* Share of the year's closes still inside the year when the cycle is c
 * instead of c0: opportunities arrive evenly, so a cycle d days longer pushes
 * the last d days' closes into next year. */
static double cycle_factor(double c, double c0) { return (YEAR_DAYS - c) / (YEAR_DAYS - c0); }

static int compute(const scenario_input *in, const knobs *k, bool total_set, scenario_plan *out, scenario_error *err)
{
    const scenario_assumptions *a0 = &in->assumptions, *a = &k->a;
    memset(out, 0, sizeof *out);
    out->fiscal_year = in->fiscal_year;
    out->targets = k->t;
    out->assumptions = k->a;

    scenario_derived *dv = &out->derived;
    dv->starting_arr = starting_arr_of(in);
    dv->churn_arr = money_mul_rate(dv->starting_arr, a->gross_churn_rate);
    if (!total_set) {
        /* keep the identity total = starting - churn + new + expansion moving
         * with the adjusted parts */
        money_t churn0 = money_mul_rate(dv->starting_arr, a0->gross_churn_rate);
        out->targets.total_arr_target = in->targets.total_arr_target + (k->t.new_business - in->targets.new_business) +
                                        (k->t.expansion - in->targets.expansion) - (dv->churn_arr - churn0);
    }
    if (k->t.new_business > 0) {
        dv->new_deals_needed = ceil_div_money(k->t.new_business, a->avg_new_deal_size);
        dv->opps_needed = ceil_div_rate(dv->new_deals_needed, a->new_win_rate);
        dv->sqls_needed = dv->opps_needed < 0 ? -1 : ceil_div_rate(dv->opps_needed, a->sql_to_opp_rate);
        dv->mqls_needed = dv->sqls_needed < 0 ? -1 : ceil_div_rate(dv->sqls_needed, a->mql_to_sql_rate);
        if (dv->mqls_needed < 0)
            return fail(err, "derived", "the funnel needs more than 10^15 deals, opportunities, SQLs or MQLs");
        if (dv->opps_needed > MONEY_MAX_ABS / a->avg_new_deal_size)
            return fail(err, "derived.pipeline_needed", "overflows");
        dv->pipeline_needed = dv->opps_needed * a->avg_new_deal_size;
    }
    if (k->t.expansion > 0) {
        dv->expansion_deals_needed = ceil_div_money(k->t.expansion, a->avg_expansion_deal_size);
        dv->expansion_opps_needed = ceil_div_rate(dv->expansion_deals_needed, a->expansion_win_rate);
        if (dv->expansion_opps_needed < 0)
            return fail(err, "derived", "expansion needs more than 10^15 opportunities");
        if (dv->expansion_opps_needed > MONEY_MAX_ABS / a->avg_expansion_deal_size)
            return fail(err, "derived.expansion_pipeline_needed", "overflows");
        dv->expansion_pipeline_needed = dv->expansion_opps_needed * a->avg_expansion_deal_size;
    }

    scenario_capacity *cp = &out->capacity;
    capacity_error cerr;
    cp->quota_per_ae = k->quota;
    cp->expected_attainment = k->attainment;
    int aes = capacity_required_aes(k->t.new_business, k->quota, k->attainment, &cerr);
    if (aes < 0)
        return fail(err, "capacity", "%s", cerr.message);
    cp->aes_at_full_ramp = aes;
    /* through money_mul_rate so a huge team saturates instead of overflowing
     * (exact for any team size below 2^53) */
    cp->productive_capacity = money_mul_rate(money_mul_rate(k->quota, k->attainment), (double)in->current_aes);
    cp->gap = k->t.new_business - cp->productive_capacity;

    capacity_input ci;
    memset(&ci, 0, sizeof ci);
    ci.fy_start = in->fy_start;
    ci.target = k->t.new_business;
    ci.a = in->ramp;
    ci.a.quota = k->quota;
    ci.a.attainment = k->attainment;
    /* the current team: ramped, i.e. started well before any ramp ends */
    capacity_rep team = {.start = caldate_add_months(in->fy_start, -(CAPACITY_MAX_RAMP + 1)),
                         .end = CAPACITY_NO_END,
                         .count = in->current_aes};
    ci.reps = &team;
    ci.nreps = in->current_aes > 0 ? 1 : 0;
    ci.hire_from_month = in->hire_from_month;
    ci.max_hires_per_month = in->max_hires_per_month;
    capacity_plan plan;
    if (capacity_plan_compute(&ci, &plan, &cerr) != 0) {
        char f[80];
        snprintf(f, sizeof f, "capacity.%s", cerr.field);
        return fail(err, f, "%s", cerr.message);
    }
    cp->hires_needed = plan.hires_needed;
    cp->gap_closable = plan.closable;
    cp->gap_after_hires = plan.gap > 0 ? plan.gap : 0;

    /* Projection: the base plan's MQLs and installed base under these
     * assumptions. Each factor is 1.0 exactly at the base. */
    double f_new = ratio(a->mql_to_sql_rate, a0->mql_to_sql_rate) * ratio(a->sql_to_opp_rate, a0->sql_to_opp_rate) *
                   ratio(a->new_win_rate, a0->new_win_rate) *
                   ratio((double)a->avg_new_deal_size, (double)a0->avg_new_deal_size) *
                   cycle_factor(a->avg_sales_cycle_new, a0->avg_sales_cycle_new);
    double f_exp = ratio(a->expansion_rate, a0->expansion_rate) * ratio(a->expansion_win_rate, a0->expansion_win_rate) *
                   ratio((double)a->avg_expansion_deal_size, (double)a0->avg_expansion_deal_size) *
                   cycle_factor(a->avg_sales_cycle_expansion, a0->avg_sales_cycle_expansion);
    scenario_projection *pj = &out->projection;
    pj->new_business = money_mul_rate(in->targets.new_business, f_new);
    pj->expansion = money_mul_rate(in->targets.expansion, f_exp);
    pj->churn = dv->churn_arr;
    pj->ending_arr = dv->starting_arr - pj->churn + pj->new_business + pj->expansion;
    pj->vs_target = pj->ending_arr - out->targets.total_arr_target;
    return 0;
}

int scenario_apply(const scenario_input *base, const scenario_adjustment *adj, size_t nadj, scenario_plan *out,
                   scenario_error *err)
{
    scenario_error local;
    if (!err)
        err = &local;
    if (!base || !out || (nadj > 0 && !adj))
        return fail(err, "", "missing input");
    if (check_input(base, err) != 0)
        return -1;
    knobs k = {base->targets, base->assumptions, base->quota_per_ae, base->expected_attainment};
    bool total_set = false;
    for (size_t i = 0; i < nadj; i++)
        if (apply_one(&k, &adj[i], &total_set, err) != 0) {
            char f[48];
            snprintf(f, sizeof f, "adjustments[%zu]", i);
            snprintf(err->field, sizeof err->field, "%s", f);
            return -1;
        }
    return compute(base, &k, total_set, out, err);
}

int scenario_plan_compute(const scenario_input *in, scenario_plan *out, scenario_error *err)
{
    return scenario_apply(in, NULL, 0, out, err);
}

void scenario_plan_diff(const scenario_plan *a, const scenario_plan *b, scenario_plan *o)
{
    memset(o, 0, sizeof *o);
#define D(x) o->x = a->x - b->x
    D(targets.total_arr_target);
    D(targets.new_business);
    D(targets.expansion);
    D(assumptions.gross_churn_rate);
    D(assumptions.expansion_rate);
    D(assumptions.avg_new_deal_size);
    D(assumptions.avg_expansion_deal_size);
    D(assumptions.new_win_rate);
    D(assumptions.expansion_win_rate);
    D(assumptions.avg_sales_cycle_new);
    D(assumptions.avg_sales_cycle_expansion);
    D(assumptions.sql_to_opp_rate);
    D(assumptions.mql_to_sql_rate);
    D(derived.new_deals_needed);
    D(derived.opps_needed);
    D(derived.sqls_needed);
    D(derived.mqls_needed);
    D(derived.pipeline_needed);
    D(derived.expansion_deals_needed);
    D(derived.expansion_opps_needed);
    D(derived.expansion_pipeline_needed);
    D(derived.starting_arr);
    D(derived.churn_arr);
    D(capacity.aes_at_full_ramp);
    D(capacity.quota_per_ae);
    D(capacity.expected_attainment);
    D(capacity.productive_capacity);
    D(capacity.gap);
    D(capacity.hires_needed);
    D(capacity.gap_after_hires);
    D(projection.new_business);
    D(projection.expansion);
    D(projection.churn);
    D(projection.ending_arr);
    D(projection.vs_target);
    D(fiscal_year);
#undef D
    o->capacity.gap_closable = a->capacity.gap_closable != b->capacity.gap_closable; /* "changed" */
}

int scenario_compare(const scenario_input *base, const scenario_def *defs, size_t n, scenario_result *out,
                     scenario_error *err)
{
    scenario_error local;
    if (!err)
        err = &local;
    if (n > 0 && (!defs || !out))
        return fail(err, "", "missing input");
    scenario_plan b;
    if (scenario_plan_compute(base, &b, err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const scenario_def *d = &defs[i];
        scenario_result *r = &out[i];
        memset(r, 0, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", d->name);
        r->confidence = d->confidence;
        r->actions = d->actions;
        if (d->nadjust > SCENARIO_MAX_ADJUSTMENTS) {
            char f[48];
            snprintf(f, sizeof f, "scenarios[%zu].adjustments", i);
            return fail(err, f, "at most %d adjustments", SCENARIO_MAX_ADJUSTMENTS);
        }
        if (scenario_apply(base, d->adjust, d->nadjust, &r->plan, err) != 0) {
            char f[128];
            snprintf(f, sizeof f, "scenarios[%zu].%s", i, err->field);
            snprintf(err->field, sizeof err->field, "%.63s", f);
            return -1;
        }
        scenario_plan_diff(&r->plan, &b, &r->delta);
    }
    return 0;
}

static long long outcome_of(const scenario_plan *p, scenario_outcome o)
{
    switch (o) {
    case SCENARIO_OUT_HIRES_NEEDED:
        return p->capacity.hires_needed;
    case SCENARIO_OUT_PIPELINE_NEEDED:
        return p->derived.pipeline_needed;
    case SCENARIO_OUT_ENDING_ARR:
    default:
        return p->projection.ending_arr;
    }
}

int scenario_tornado(const scenario_input *base, scenario_outcome outcome, scenario_tornado_row *rows,
                     scenario_error *err)
{
    return scenario_tornado_at(base, NULL, 0, outcome, rows, err);
}

int scenario_tornado_at(const scenario_input *base, const scenario_adjustment *adj, size_t nadj,
                        scenario_outcome outcome, scenario_tornado_row *rows, scenario_error *err)
{
    static const struct {
        scenario_field f;
        scenario_op op;
        double step;
    } steps[] = {
        {SF_GROSS_CHURN_RATE, SCENARIO_ADD, 0.02},  {SF_EXPANSION_RATE, SCENARIO_MUL, 0.10},
        {SF_AVG_NEW_DEAL_SIZE, SCENARIO_MUL, 0.10}, {SF_AVG_EXPANSION_DEAL_SIZE, SCENARIO_MUL, 0.10},
        {SF_NEW_WIN_RATE, SCENARIO_ADD, 0.05},      {SF_EXPANSION_WIN_RATE, SCENARIO_ADD, 0.05},
        {SF_AVG_SALES_CYCLE_NEW, SCENARIO_ADD, 15}, {SF_AVG_SALES_CYCLE_EXPANSION, SCENARIO_ADD, 15},
        {SF_SQL_TO_OPP_RATE, SCENARIO_ADD, 0.05},   {SF_MQL_TO_SQL_RATE, SCENARIO_ADD, 0.05},
        {SF_QUOTA_PER_AE, SCENARIO_MUL, 0.10},      {SF_EXPECTED_ATTAINMENT, SCENARIO_ADD, 0.05},
    };
    const int n = (int)(sizeof steps / sizeof steps[0]);
    if (!rows)
        return fail(err, "", "missing output");
    if ((unsigned)outcome > SCENARIO_OUT_PIPELINE_NEEDED)
        return fail(err, "outcome", "unknown outcome");
    if (nadj > SCENARIO_MAX_ADJUSTMENTS || (nadj > 0 && !adj))
        return fail(err, "adjustments", "at most %d adjustments", SCENARIO_MAX_ADJUSTMENTS);
    /* the scenario's adjustments, then one step on top */
    scenario_adjustment list[SCENARIO_MAX_ADJUSTMENTS + 1];
    if (nadj > 0)
        memcpy(list, adj, nadj * sizeof *adj);
    scenario_plan b, p;
    if (scenario_apply(base, list, nadj, &b, err) != 0)
        return -1;
    long long at_base = outcome_of(&b, outcome);
    for (int i = 0; i < n; i++) {
        scenario_tornado_row *r = &rows[i];
        r->field = steps[i].f;
        r->op = steps[i].op;
        r->step = steps[i].step;
        r->base = at_base;
        for (int side = 0; side < 2; side++) {
            double s = side == 0 ? -steps[i].step : steps[i].step;
            list[nadj] = (scenario_adjustment){steps[i].f, steps[i].op, steps[i].op == SCENARIO_MUL ? 1.0 + s : s};
            if (scenario_apply(base, list, nadj + 1, &p, err) != 0)
                return -1;
            if (side == 0)
                r->low = outcome_of(&p, outcome);
            else
                r->high = outcome_of(&p, outcome);
        }
        r->swing = r->high > r->low ? r->high - r->low : r->low - r->high;
    }
    /* insertion sort: stable, so equal swings stay in field order */
    for (int i = 1; i < n; i++) {
        scenario_tornado_row x = rows[i];
        int j = i - 1;
        while (j >= 0 && rows[j].swing < x.swing) {
            rows[j + 1] = rows[j];
            j--;
        }
        rows[j + 1] = x;
    }
    return n;
}

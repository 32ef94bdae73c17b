/* metrics.c - board metrics, waterfall, pipeline and accuracy (seed 001 phases 4-5). */
#include "metrics.h"

#include <math.h>
#include <string.h>

const char *metric_status_name(metric_status s)
{
    static const char *names[] = {"", "green", "yellow", "red"};
    return (s >= STATUS_NONE && s <= STATUS_RED) ? names[s] : "";
}

/* ---- waterfall ---------------------------------------------------------- */

int metrics_waterfall_compute(const metrics_account_move *moves, size_t n, size_t naccounts, caldate_t start,
                              caldate_t end, money_t *arr_start, money_t *arr_end, metrics_waterfall *out)
{
    memset(out, 0, sizeof *out);
    memset(arr_start, 0, naccounts * sizeof *arr_start);
    memset(arr_end, 0, naccounts * sizeof *arr_end);
    for (size_t i = 0; i < n; i++) {
        const metrics_account_move *m = &moves[i];
        if (m->account < 0 || (size_t)m->account >= naccounts)
            return -1;
        if (m->move.date >= end)
            continue;
        money_t s = arr_movement_signed(&m->move);
        arr_end[m->account] += s;
        if (m->move.date < start) {
            arr_start[m->account] += s;
            continue;
        }
        switch (m->move.kind) {
        case ARR_NEW:
            out->new_business += m->move.amount;
            break;
        case ARR_EXPANSION:
            out->expansion += m->move.amount;
            break;
        case ARR_REACTIVATION:
            out->reactivation += m->move.amount;
            break;
        case ARR_CONTRACTION:
            out->contraction += m->move.amount;
            break;
        case ARR_CHURN:
            out->churn += m->move.amount;
            break;
        default:
            return -1;
        }
    }
    for (size_t a = 0; a < naccounts; a++) {
        out->starting += arr_start[a];
        if (arr_start[a] > 0) {
            out->logos_start++;
            if (arr_end[a] <= 0)
                out->logos_churned++;
        } else if (arr_end[a] > 0) {
            out->logos_new++;
        }
    }
    out->net_new = out->new_business + out->expansion + out->reactivation - out->contraction - out->churn;
    out->ending = out->starting + out->net_new;
    return 0;
}

/* ---- board metrics ------------------------------------------------------ */

/* Bands, best first: a value is in the first band it reaches (v >= at, or
 * v > at for the seed's strict "> x" thresholds; v < at when lower is better). */
typedef struct {
    double at;
    const char *band;
    metric_status status;
} band_row;

typedef enum { AT_LEAST, ABOVE, BELOW } band_dir;

static metric_value banded(double v, const band_row *rows, size_t nrows, band_dir dir, const char *rest_band,
                           metric_status rest)
{
    metric_value m = {.ok = true, .value = v, .status = rest, .band = rest_band};
    for (size_t i = 0; i < nrows; i++)
        if (dir == BELOW ? v < rows[i].at : dir == ABOVE ? v > rows[i].at : v >= rows[i].at) {
            m.status = rows[i].status;
            m.band = rows[i].band;
            break;
        }
    return m;
}

static metric_value undefined(void) { return (metric_value){.ok = false, .status = STATUS_NONE, .band = "undefined"}; }

metric_value metrics_nrr(money_t beginning, money_t expansion, money_t contraction, money_t churn)
{
    static const band_row rows[] = {{1.30, "world-class", STATUS_GREEN},
                                    {1.15, "great", STATUS_GREEN},
                                    {1.05, "good", STATUS_GREEN},
                                    {1.00, "below good", STATUS_YELLOW}};
    if (beginning <= 0)
        return undefined();
    double v = (double)(beginning + expansion - contraction - churn) / (double)beginning;
    return banded(v, rows, 4, AT_LEAST, "shrinking", STATUS_RED);
}

metric_value metrics_grr(money_t beginning, money_t contraction, money_t churn)
{
    static const band_row rows[] = {{0.95, "world-class", STATUS_GREEN},
                                    {0.90, "great", STATUS_GREEN},
                                    {0.85, "good", STATUS_GREEN},
                                    {0.80, "below good", STATUS_YELLOW}};
    if (beginning <= 0)
        return undefined();
    double v = (double)(beginning - contraction - churn) / (double)beginning;
    return banded(v, rows, 4, AT_LEAST, "poor", STATUS_RED);
}

metric_value metrics_logo_retention(long logos_start, long logos_churned)
{
    static const band_row rows[] = {{0.90, "good", STATUS_GREEN}, {0.80, "below good", STATUS_YELLOW}};
    if (logos_start <= 0)
        return undefined();
    return banded((double)(logos_start - logos_churned) / (double)logos_start, rows, 2, AT_LEAST, "poor", STATUS_RED);
}

bool metrics_cac(money_t sm_spend, long new_customers, money_t *out)
{
    if (new_customers <= 0)
        return false;
    *out = money_mul_rate(sm_spend, 1.0 / (double)new_customers);
    return true;
}

bool metrics_ltv(money_t arpa_monthly, double gross_margin, double monthly_churn_rate, money_t *out)
{
    if (monthly_churn_rate <= 0)
        return false;
    *out = money_mul_rate(arpa_monthly, gross_margin / monthly_churn_rate);
    return true;
}

metric_value metrics_ltv_cac(money_t ltv, money_t cac)
{
    static const band_row rows[] = {{3.0, "good", STATUS_GREEN}, {1.0, "below 3:1", STATUS_YELLOW}};
    if (cac <= 0)
        return undefined();
    /* seed: "LTV:CAC > 3:1"; 1:1 and below loses money on every customer */
    metric_value m = banded((double)ltv / (double)cac, rows, 1, ABOVE, "below 3:1", STATUS_YELLOW);
    if (m.value < 1.0) {
        m.status = STATUS_RED;
        m.band = "losing money";
    }
    return m;
}

metric_value metrics_cac_payback(money_t cac, money_t arpa_monthly, double gross_margin)
{
    static const band_row rows[] = {
        {12.0, "great", STATUS_GREEN}, {18.0, "good", STATUS_GREEN}, {24.0, "slow", STATUS_YELLOW}};
    double monthly_margin = (double)arpa_monthly * gross_margin;
    if (monthly_margin <= 0)
        return undefined();
    return banded((double)cac / monthly_margin, rows, 3, BELOW, "too slow", STATUS_RED);
}

metric_value metrics_magic_number(money_t net_new_arr, money_t prior_sm_spend)
{
    static const band_row rows[] = {
        {1.0, "great", STATUS_GREEN}, {0.75, "good", STATUS_GREEN}, {0.5, "below good", STATUS_YELLOW}};
    if (prior_sm_spend <= 0)
        return undefined();
    /* the seed's thresholds are strict: "> 0.75" good, "> 1.0" great */
    return banded((double)net_new_arr / (double)prior_sm_spend, rows, 3, ABOVE, "inefficient", STATUS_RED);
}

metric_value metrics_burn_multiple(money_t net_burn, money_t net_new_arr)
{
    static const band_row rows[] = {{1.0, "elite", STATUS_GREEN},
                                    {1.5, "great", STATUS_GREEN},
                                    {2.0, "good", STATUS_GREEN},
                                    {3.0, "high", STATUS_YELLOW}};
    if (net_new_arr <= 0) {
        if (net_burn <= 0)
            return undefined(); /* not burning and not growing: nothing to measure */
        metric_value m = {.ok = false, .status = STATUS_RED, .band = "burning without growth"};
        return m;
    }
    return banded((double)net_burn / (double)net_new_arr, rows, 4, BELOW, "too high", STATUS_RED);
}

/* ---- GTM efficiency by ACV tier ------------------------------------------ */

#define K(x) ((money_t)(x)*100000) /* $x thousand, in cents */

static const metrics_acv_tier acv_tiers[] = {
    {K(1), "<$1K", "Self-serve / PLG", "<$500", "<3 months", "<30%", 50000, 3, 0, 3000},
    {K(10), "$1-10K", "Inside sales + PLG", "$2-5K", "<6 months", "30-50%", K(5), 6, 3000, 5000},
    {K(50), "$10-50K", "Inside sales", "$10-25K", "<12 months", "40-60%", K(25), 12, 4000, 6000},
    {K(100), "$50-100K", "Field sales", "$30-60K", "<18 months", "50-70%", K(60), 18, 5000, 7000},
    {0, "$100K+", "Enterprise field", "$50-150K+", "<24 months", "40-60%", K(150), 24, 4000, 6000},
};

#undef K

const metrics_acv_tier *metrics_acv_tier_of(money_t acv)
{
    size_t n = sizeof acv_tiers / sizeof acv_tiers[0];
    for (size_t i = 0; i + 1 < n; i++)
        if (acv < acv_tiers[i].acv_below)
            return &acv_tiers[i];
    return &acv_tiers[n - 1];
}

static metric_value tiered(double v, metric_status st, const char *g, const char *y, const char *r)
{
    return (metric_value){.ok = true,
                          .value = v,
                          .status = st,
                          .band = st == STATUS_GREEN    ? g
                                  : st == STATUS_YELLOW ? y
                                                        : r};
}

metric_value metrics_tier_cac(money_t cac, const metrics_acv_tier *t)
{
    metric_status st = cac <= t->cac_max ? STATUS_GREEN : 2 * cac <= 3 * t->cac_max ? STATUS_YELLOW : STATUS_RED;
    return tiered((double)cac, st, "typical", "above typical", "far above typical");
}

metric_value metrics_tier_payback(double months, const metrics_acv_tier *t)
{
    metric_status st = months < t->payback_max         ? STATUS_GREEN
                       : months < t->payback_max * 1.5 ? STATUS_YELLOW
                                                       : STATUS_RED;
    return tiered(months, st, "within target", "over target", "far over target");
}

/* in basis points, exactly: spend x 10,000 against the bound x revenue */
metric_value metrics_tier_sm_share(money_t sm_spend, money_t revenue, const metrics_acv_tier *t)
{
    if (revenue <= 0)
        return undefined();
    money_t bp = sm_spend * 10000;
    metric_status st = bp <= t->sm_hi_bp * revenue            ? STATUS_GREEN
                       : bp <= (t->sm_hi_bp + 1000) * revenue ? STATUS_YELLOW
                                                              : STATUS_RED;
    metric_value m = tiered((double)sm_spend / (double)revenue, st, "in range", "above range", "far above range");
    if (st == STATUS_GREEN && bp < t->sm_lo_bp * revenue)
        m.band = "below range";
    return m;
}

/* ---- pipeline ----------------------------------------------------------- */

double metrics_age_factor(caldate_t expected_close, caldate_t as_of)
{
    int past = as_of - expected_close;
    if (past < 30)
        return 1.0;
    if (past < 60)
        return 0.5;
    return 0.25;
}

static metric_value coverage(money_t pipe, money_t quota, double green, double yellow)
{
    const band_row rows[] = {{green, "healthy", STATUS_GREEN}, {yellow, "thin", STATUS_YELLOW}};
    if (quota <= 0)
        return undefined();
    return banded((double)pipe / (double)quota, rows, 2, AT_LEAST, "insufficient", STATUS_RED);
}

void metrics_pipeline_compute(const metrics_open_deal *deals, size_t n, money_t remaining_quota, caldate_t as_of,
                              metrics_pipeline *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        out->deals++;
        out->total += deals[i].amount;
        out->weighted += money_mul_rate(deals[i].amount, deals[i].probability);
        out->age_adjusted += money_mul_rate(deals[i].amount, metrics_age_factor(deals[i].expected_close, as_of));
    }
    /* seed phase 4: total 3x minimum (3.5-4x healthy), weighted 1.5x minimum */
    out->coverage = coverage(out->total, remaining_quota, METRICS_COVERAGE_MIN, 2.0);
    out->weighted_coverage = coverage(out->weighted, remaining_quota, 1.5, 1.0);
    out->age_adjusted_coverage = coverage(out->age_adjusted, remaining_quota, 3.0, 2.0);
}

metric_value metrics_coverage(money_t pipeline_in_period, money_t remaining_quota)
{
    return coverage(pipeline_in_period, remaining_quota, METRICS_COVERAGE_MIN, 2.0);
}

bool metrics_required_pipeline(money_t quota, double win_rate, money_t *out)
{
    if (!(win_rate > 0))
        return false;
    *out = money_mul_rate(quota, 1.0 / win_rate);
    return true;
}

bool metrics_velocity(long opportunities, double win_rate, money_t avg_deal, double cycle_days, money_t *out)
{
    if (!(cycle_days > 0))
        return false;
    *out = money_mul_rate(avg_deal, (double)opportunities * win_rate / cycle_days);
    return true;
}

/* ---- accuracy ----------------------------------------------------------- */

const char *mape_grade_name(mape_grade g)
{
    static const char *names[] = {"", "excellent", "good", "needs_work", "broken"};
    return (g >= GRADE_NONE && g <= GRADE_BROKEN) ? names[g] : "";
}

mape_grade metrics_mape_grade(double mape_pct)
{
    if (!isfinite(mape_pct) || mape_pct < 0)
        return GRADE_NONE;
    if (mape_pct < 10)
        return GRADE_EXCELLENT;
    if (mape_pct < 15)
        return GRADE_GOOD;
    if (mape_pct <= 25)
        return GRADE_NEEDS_WORK;
    return GRADE_BROKEN;
}

void metrics_accuracy_compute(const metrics_forecast_pair *pairs, size_t n, int ngroups, metrics_accuracy *out)
{
    for (int g = 0; g < ngroups; g++)
        out[g] = (metrics_accuracy){.group = g};
    for (size_t i = 0; i < n; i++) {
        const metrics_forecast_pair *p = &pairs[i];
        if (p->group < 0 || p->group >= ngroups || p->actual <= 0)
            continue;
        metrics_accuracy *a = &out[p->group];
        money_t err = p->actual - p->forecast;
        a->abs_error += err < 0 ? -err : err;
        a->mape_pct += fabs((double)err) / (double)p->actual * 100.0;
        a->bias_pct += (double)(p->forecast - p->actual) / (double)p->actual * 100.0;
        a->periods++;
    }
    for (int g = 0; g < ngroups; g++) {
        metrics_accuracy *a = &out[g];
        if (a->periods == 0) {
            a->grade = GRADE_NONE;
            continue;
        }
        a->mape_pct /= (double)a->periods;
        a->bias_pct /= (double)a->periods;
        a->grade = metrics_mape_grade(a->mape_pct);
    }
}

/* metrics.h - board metrics, the revenue waterfall, pipeline metrics and
 * forecast accuracy, with the seed's formulas and benchmark bands
 * (seed 001 phases 4 and 5; definitions and every choice in docs/metrics.md).
 *
 * Money is money_t (cents); ratios are doubles. A metric that cannot be
 * computed (a zero denominator) is reported as not defined (ok = false),
 * never as 0 or infinity.
 */
#ifndef REVOPS_METRICS_H
#define REVOPS_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "arrmove.h"
#include "caldate.h"
#include "money.h"

typedef enum { STATUS_NONE, STATUS_GREEN, STATUS_YELLOW, STATUS_RED } metric_status;
const char *metric_status_name(metric_status s); /* "", green, yellow, red */

/* A computed ratio with its status against the seed's bands. */
typedef struct {
    bool ok;      /* false when the denominator is zero or an input is missing */
    double value; /* ratio (0.95 = 95%), months, or multiple, per metric */
    metric_status status;
    const char *band; /* the band's name: "world-class", "great", "good", "below good", ... */
} metric_value;

/* ---- revenue waterfall -------------------------------------------------- */

typedef struct {
    money_t starting;
    money_t new_business;
    money_t expansion;
    money_t reactivation;
    money_t contraction; /* positive amounts */
    money_t churn;
    money_t ending; /* starting + new + expansion + reactivation - contraction - churn */
    money_t net_new;
    long logos_start;   /* accounts with ARR > 0 at the start */
    long logos_churned; /* of those, accounts at 0 at the end */
    long logos_new;     /* accounts at 0 at the start with ARR > 0 at the end */
} metrics_waterfall;

/* One account's movement, for the waterfall. */
typedef struct {
    int account; /* caller's dense account index, 0..naccounts-1 */
    arr_movement move;
} metrics_account_move;

/* Waterfall of [start, end) from every movement up to end (movements before
 * start build the starting ARR). scratch: naccounts money_t, caller-owned.
 * Returns 0, or -1 on an account index out of range. */
int metrics_waterfall_compute(const metrics_account_move *moves, size_t n, size_t naccounts, caldate_t start,
                              caldate_t end, money_t *scratch_start, money_t *scratch_end, metrics_waterfall *out)
    __attribute__((warn_unused_result));

/* ---- board metrics ------------------------------------------------------ */

/* NRR = (beginning + expansion - contraction - churn) / beginning.
 * Bands: >= 130% world-class, >= 115% great, >= 105% good (green); >= 100% yellow; else red. */
metric_value metrics_nrr(money_t beginning, money_t expansion, money_t contraction, money_t churn);
/* GRR = (beginning - contraction - churn) / beginning.
 * Bands: >= 95% world-class, >= 90% great, >= 85% good (green); >= 80% yellow; else red. */
metric_value metrics_grr(money_t beginning, money_t contraction, money_t churn);
/* Logo retention = (logos at start - churned) / logos at start. >= 90% green, >= 80% yellow. */
metric_value metrics_logo_retention(long logos_start, long logos_churned);
/* CAC = S&M spend / new customers (money, in cents via out). */
bool metrics_cac(money_t sm_spend, long new_customers, money_t *out);
/* LTV = ARPA x gross margin / churn rate, ARPA and churn over the same unit of time (monthly here). */
bool metrics_ltv(money_t arpa_monthly, double gross_margin, double monthly_churn_rate, money_t *out);
/* LTV:CAC (> 3 green, >= 1 yellow, else red). */
metric_value metrics_ltv_cac(money_t ltv, money_t cac);
/* CAC payback months = CAC / (ARPA monthly x gross margin). < 12 great, < 18 good (green); < 24 yellow. */
metric_value metrics_cac_payback(money_t cac, money_t arpa_monthly, double gross_margin);
/* Magic number = net new ARR (quarter) / prior quarter S&M spend. > 1.0 great, > 0.75 good; > 0.5 yellow. */
metric_value metrics_magic_number(money_t net_new_arr, money_t prior_sm_spend);
/* Burn multiple = net burn / net new ARR. < 1 elite, < 1.5 great, < 2 good (green); < 3 yellow;
 * red otherwise and whenever net new ARR <= 0 while burning. */
metric_value metrics_burn_multiple(money_t net_burn, money_t net_new_arr);

/* ---- GTM efficiency by ACV tier (seed 001, Phase 6) ---------------------- */

/* One row of the seed's "GTM Efficiency by ACV Tier" table. */
typedef struct {
    money_t acv_below; /* the tier holds ACV < acv_below (cents); 0: no upper bound */
    const char *acv, *motion, *typical_cac, *target_payback, *sm_share;
    money_t cac_max;            /* the typical CAC's upper end (cents) */
    double payback_max;         /* months: the target payback */
    money_t sm_lo_bp, sm_hi_bp; /* the S&M share of revenue's range, basis points */
} metrics_acv_tier;

/* The tier of an ACV (annual contract value per customer, cents). */
const metrics_acv_tier *metrics_acv_tier_of(money_t acv);
/* CAC against the tier's typical CAC: <= its upper end green ("typical"),
 * <= 1.5x yellow ("above typical"), else red ("far above typical"). */
metric_value metrics_tier_cac(money_t cac, const metrics_acv_tier *t);
/* CAC payback months against the target: < target green, < 1.5x target
 * yellow ("over target"), else red ("far over target"). */
metric_value metrics_tier_payback(double months, const metrics_acv_tier *t);
/* S&M share of revenue = S&M spend / revenue of the period, against the
 * tier's range: up to its top green ("in range", or "below range" under its
 * bottom: spending less than the motion usually needs), up to 10 points
 * above yellow ("above range"), else red. Undefined without revenue. */
metric_value metrics_tier_sm_share(money_t sm_spend, money_t revenue, const metrics_acv_tier *t);

/* ---- pipeline ----------------------------------------------------------- */

typedef struct {
    money_t amount;
    double probability; /* 0..1 */
    caldate_t expected_close;
} metrics_open_deal;

typedef struct {
    long deals;
    money_t total;
    money_t weighted;               /* per deal amount x p rounded to the cent, then summed */
    money_t age_adjusted;           /* per deal amount x age factor */
    metric_value coverage;          /* total / remaining quota: >= 3x green, >= 2x yellow */
    metric_value weighted_coverage; /* weighted / remaining quota: >= 1.5x green, >= 1x yellow */
    metric_value age_adjusted_coverage;
} metrics_pipeline;

/* Age factor of a deal (seed phase 4): fresh (< 30 days past expected close,
 * or not yet due) 1.0, aging (30 to < 60 days past) 0.5, stale (60+) 0.25. */
double metrics_age_factor(caldate_t expected_close, caldate_t as_of);
void metrics_pipeline_compute(const metrics_open_deal *deals, size_t n, money_t remaining_quota, caldate_t as_of,
                              metrics_pipeline *out);
/* The seed's coverage minimum (phase 4: "pipeline coverage 3x minimum"): the
 * dashboard's green line and the default of the coverage_below alert. */
#define METRICS_COVERAGE_MIN 3.0
/* Pipeline coverage = pipeline closing in the period / remaining quota (quota
 * - won in the period): >= 3x healthy (green), >= 2x thin (yellow), else
 * insufficient (red); not defined when nothing remains to cover. The one
 * definition the dashboard and the alerts use. */
metric_value metrics_coverage(money_t pipeline_in_period, money_t remaining_quota);
/* Required pipeline = quota / win rate (seed: $1M at 25% -> $4M, 4x). false when win rate <= 0. */
bool metrics_required_pipeline(money_t quota, double win_rate, money_t *out);
/* Sales velocity per day = opportunities x win rate x average deal size / cycle days
 * (seed: 50 x 25% x $30,000 / 60 = $6,250/day). false when cycle_days <= 0. */
bool metrics_velocity(long opportunities, double win_rate, money_t avg_deal, double cycle_days, money_t *out);

/* ---- forecast accuracy -------------------------------------------------- */

typedef enum { GRADE_NONE, GRADE_EXCELLENT, GRADE_GOOD, GRADE_NEEDS_WORK, GRADE_BROKEN } mape_grade;
const char *mape_grade_name(mape_grade g); /* excellent, good, needs_work, broken */
/* Seed grading of a MAPE in percent: < 10 excellent, 10 to < 15 good, 15 to 25 needs work, > 25 broken. */
mape_grade metrics_mape_grade(double mape_pct);

typedef struct {
    int group; /* caller's group index */
    money_t forecast;
    money_t actual;
} metrics_forecast_pair;

typedef struct {
    int group;
    long periods;      /* pairs with actual > 0 (MAPE is undefined for actual = 0) */
    double mape_pct;   /* mean of |actual - forecast| / actual x 100 */
    double bias_pct;   /* mean of (forecast - actual) / actual x 100: > 0 over-forecasts */
    money_t abs_error; /* sum of |actual - forecast| */
    mape_grade grade;
} metrics_accuracy;

/* Accuracy per group for groups 0..ngroups-1 (out has ngroups entries). */
void metrics_accuracy_compute(const metrics_forecast_pair *pairs, size_t n, int ngroups, metrics_accuracy *out);

#endif

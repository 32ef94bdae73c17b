/* comp.h - quota attainment and pace, and variable-compensation payout math:
 * rate tables (decelerator, 1x, accelerators, cap), per-deal lines, SPIF
 * budgets and clawbacks (seed 001 phase 9; docs/metrics.md "Reps and comp").
 *
 * Money is cents; rates and attainment thresholds are integer basis points
 * (10000 = 100%, 1x) so every payout is exact: one rounding, half away from
 * zero, at the end of each computation.
 */
#ifndef REVOPS_COMP_H
#define REVOPS_COMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caldate.h"
#include "money.h"

/* ---- attainment and pace ---- */

typedef struct {
    bool has_quota; /* quota > 0 known for the period */
    money_t quota;
    money_t won;       /* won in the period up to as_of */
    money_t projected; /* won + the forecast of what is still open (per owner) */
    int elapsed_days;  /* days of the period before as_of, 0..period_days */
    int period_days;
} comp_pace_input;

typedef enum { COMP_PACE_NONE, COMP_PACE_NOT_STARTED, COMP_PACE_AHEAD, COMP_PACE_BEHIND } comp_pace_status;

typedef struct {
    double elapsed_share;     /* elapsed_days / period_days */
    bool has_attainment;      /* has_quota */
    double attainment;        /* won / quota */
    double projected_attain;  /* projected / quota */
    money_t expected_to_date; /* quota x elapsed share, to the cent */
    money_t pace_gap;         /* won - expected_to_date (negative: behind) */
    bool has_pace;            /* has_quota and some of the period elapsed */
    double pace;              /* attainment / elapsed share (1 = exactly on pace) */
    comp_pace_status status;
} comp_pace;

void comp_pace_compute(const comp_pace_input *in, comp_pace *out);
const char *comp_pace_status_name(comp_pace_status s); /* NULL for NONE */

/* ---- rate tables ---- */

#define COMP_BP 10000 /* 1x, 100% */
#define COMP_MAX_TIERS 8
#define COMP_OPEN_END INT32_MAX

/* Attainment band [from_bp, to_bp) paid at rate_bp (10000 = 1x). */
typedef struct {
    int32_t from_bp, to_bp; /* to_bp COMP_OPEN_END: no upper bound (the last band) */
    int32_t rate_bp;
} comp_tier;

typedef struct {
    comp_tier tiers[COMP_MAX_TIERS];
    int ntiers;
    int32_t cap_bp; /* payout at most cap_bp/10000 x target incentive; 0 = no cap */
} comp_rates;

/* Check a table: bands contiguous from 0 in increasing order, the last one
 * open-ended, rates 0..100000 (10x), cap 0 or >= 10000. NULL when sound, else
 * the reason (a static string). */
const char *comp_rates_check(const comp_rates *r);

/* The seed's table: below 50% at 0.5x, 50-100% at 1x, above 100% at 1.5x,
 * no cap. */
void comp_rates_default(comp_rates *r);

/* What a rep has earned for `achieved` against `quota` with `target` the
 * incentive paid at exactly 100%: below quota the rate of the band the
 * attainment reached applies to all of it (a decelerator is lifted once the
 * rep crosses its threshold; at 100% the rep earns exactly the target);
 * above quota each band's rate applies to the part of the attainment inside
 * it (accelerators are marginal). Negative achievement earns 0. Capped at
 * cap_bp x target. quota <= 0 earns 0. Exact, rounded half away from zero. */
money_t comp_earned(const comp_rates *r, money_t target, money_t quota, money_t achieved);

/* Index of the band the attainment achieved/quota falls in (0 below the
 * table, the last band above it). */
int comp_tier_of(const comp_rates *r, money_t quota, money_t achieved);

/* Per-credit lines: credits[i] added in order on top of `prior` (what the rep
 * had already achieved in the quota period); line[i] = earned after it minus
 * earned before it, so the lines sum exactly to earned(prior + all) -
 * earned(prior). tier[i] (may be NULL) the band after it. */
void comp_lines(const comp_rates *r, money_t target, money_t quota, money_t prior, const money_t *credits, size_t n,
                money_t *line, int *tier);

/* ---- SPIF and clawback ---- */

/* A SPIF pays `per_deal` for each qualifying deal until the budget is spent:
 * given what earlier deals used, what this one gets (the rest of the budget
 * when less than per_deal; 0 once it is spent). */
money_t comp_spif_award(money_t per_deal, money_t budget, money_t used_before);

/* Seed rule 5: a commission is clawed back when the account churns within
 * window_days of the deal's close (day 0 .. window_days inclusive). */
bool comp_clawback_applies(caldate_t closed, caldate_t churned, int window_days);

/* The target incentive of one component for a quota period of `months`:
 * annual variable x weight_bp/10000 x months/12, to the cent. */
money_t comp_target_incentive(money_t annual_variable, int32_t weight_bp, int months);

/* ---- plans ---- */

#define COMP_MAX_COMPONENTS 6 /* accepted; the seed's rule warns above 3 */

typedef enum { COMP_NEW_ARR, COMP_PIPELINE_GENERATED, COMP_EXPANSION_ARR, COMP_METRIC__COUNT } comp_metric;
const char *comp_metric_name(comp_metric m);
int comp_metric_parse(const char *s); /* -1 when unknown */

typedef struct {
    comp_metric metric;
    int32_t weight_bp; /* share of the variable, 10000 = all of it */
    bool has_quota;    /* false: the rep's quota of the quota period (reps.quotas) */
    money_t quota;     /* per quota period */
} comp_component;

/* The seed's comp plan architecture table (001 phase 9), one row per role. */
typedef struct {
    const char *role;                  /* sdr, ae_smb, ae_mid_market, ae_enterprise, cs_am */
    const char *label;                 /* "AE (Mid-Market)" */
    int base_pct;                      /* base share of OTE: 70 for 70:30 */
    money_t ote_min, ote_max;          /* annual */
    comp_metric metric;                /* what the quota counts */
    double multiple_min, multiple_max; /* annual quota / OTE; 0 = the seed gives none (CS/AM: NRR targets) */
} comp_template;

extern const comp_template comp_templates[];
extern const size_t comp_ntemplates;
const comp_template *comp_template_find(const char *role); /* NULL when unknown */

typedef struct {
    const comp_template *role; /* NULL: a role outside the table (no role-specific rules) */
    money_t base, variable;    /* annual; OTE = base + variable */
    int quota_months;          /* 1, 3 or 12 */
    int payout_months;         /* 1 (monthly) or 3 (quarterly) */
    comp_component comps[COMP_MAX_COMPONENTS];
    int ncomps;
    comp_rates rates;
    bool has_spif;
    money_t spif_budget, spif_per_deal; /* over the SPIF's window, across the plan's reps */
    int nreps;                          /* reps on the plan, for the SPIF share of pay (0: unknown) */
    int clawback_days;                  /* 0: no clawback */
} comp_plan;

/* One design-rule finding (seed 001 phase 9): a stable code and a sentence. */
typedef struct {
    const char *rule;
    char message[200];
} comp_warning;

#define COMP_MAX_WARNINGS 16

/* The seed's design rules on a plan: more than three components, an
 * accelerator that does not start at 100% or pays outside 1.5-2x, no 0.5x
 * decelerator below 50%, SPIF over 10% of total comp, clawback beyond 90
 * days, payout less often than monthly, and for a role of the table its
 * base:variable mix, OTE range and quota multiple of OTE (annual quota /
 * OTE, where the plan sets the quota). Returns the number written (at most
 * max). */
int comp_plan_warnings(const comp_plan *p, comp_warning *w, int max);

/* The quota-multiple rule for one rep's quota (annualised from a quota
 * period of `months`): 1 warning written when outside the role's range,
 * else 0 (also for a role without a multiple). */
int comp_quota_warning(const comp_plan *p, money_t quota, int months, comp_warning *w);

/* A plan filled from a template: OTE at the middle of the range, the
 * role's mix, one component on the role's metric with the quota at the
 * middle multiple (annual quota / 12 x quota_months, to the cent; none for
 * a role without a multiple: the rep's own quota), the seed's rate table,
 * monthly payout, clawback 90 days. */
void comp_plan_from_template(const comp_template *t, int quota_months, comp_plan *p);

/* Credits of one rep and one component inside one quota period, sorted by
 * day: those before `from` are what the rep had achieved already; each of
 * those in [from, to) gets its line (comp_lines). *achieved is everything
 * before `to`, *prior what came before `from`. Returns the sum of the lines. */
typedef struct {
    caldate_t day;
    money_t amount; /* may be negative (a contraction) */
} comp_credit;

money_t comp_period_payout(const comp_rates *r, money_t target, money_t quota, const comp_credit *c, size_t n,
                           caldate_t from, caldate_t to, money_t *line, int *tier, money_t *prior, money_t *achieved);

/* ---- quota setting ---- */

typedef struct {
    money_t potential;    /* territory potential of the rep's accounts (>= 0) */
    caldate_t start, end; /* employment: INT32_MIN / INT32_MAX when unknown (in seat all along) */
} comp_quota_rep;

typedef struct {
    money_t quota; /* for the period */
    double share;  /* of the territory potential (equal shares when nobody has any) */
    double ramp;   /* mean productivity over the period's months (seed ramp by tenure) */
} comp_quota_out;

/* Split `total` (the target with its over-assignment) over n reps for the
 * period of `months` months from period_start: rep i gets total x c_i /
 * sum(c), c_i = share_i x ramp_i, where ramp_i is the mean over the months of
 * ramp[tenure - 1] (tenure month 1 = the month of hire; 1 beyond ramp_len; 0
 * outside employment). Cents by largest remainder, so the quotas add up to
 * total exactly (ties to the earlier rep). Returns 0, or -1 when nobody has
 * capacity in the period (every quota 0). */
int comp_quota_split(money_t total, const comp_quota_rep *reps, size_t n, caldate_t period_start, int months,
                     const double *ramp, int ramp_len, comp_quota_out *out);

#endif

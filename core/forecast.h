/* forecast.h - period revenue forecasts: weighted, category and historical
 * methods, per-group roll-ups, quantile ranges and "happy ears" risk flags.
 *
 * Every open deal is a Bernoulli(p_i) x amount_i; the period's revenue is
 * closed-won + the sum of those (+ a run-rate term for pipeline that does not
 * exist yet, historical method). Quantiles come from forecast_dist (exact
 * grid convolution for the largest deals, a normal for the many small ones);
 * see docs/metrics.md for every definition and choice.
 */
#ifndef REVOPS_FORECAST_H
#define REVOPS_FORECAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caldate.h"
#include "fclearn.h"
#include "funnel.h"
#include "money.h"

#define FORECAST_NO_DATE INT32_MIN
#define FORECAST_MAX_QUANTILES 9
/* Posterior draws of the learned method's rates for its ranges: the spread
 * of a 64-draw estimate of a standard deviation is about 9%. */
#define FORECAST_LEARNED_DRAWS 64

typedef enum { FM_WEIGHTED, FM_CATEGORY, FM_HISTORICAL, FM_LEARNED, FM__COUNT } forecast_method;
const char *forecast_method_name(forecast_method m);
int forecast_method_parse(const char *s); /* -1 when unknown */

/* How far ahead a forecast may reach: a period starting more than this many
 * months after today is refused. The learned method walks every day from
 * as_of to the period's end (the dashboard of 2040-Q4 took 3.5 s on the demo,
 * of 9998-Q4 minutes, holding a worker); five years is past any plan the seed
 * describes. */
#define FORECAST_MAX_MONTHS_AHEAD 60
bool forecast_period_in_reach(const period *P, caldate_t today);
#define FORECAST_REACH_MSG                                                                                             \
    "must start at most five years from today (a forecast further ahead has nothing to learn from)"

/* Risk flags ("happy ears"), a bit each. */
enum {
    RISK_PAST_CLOSE = 1 << 0,  /* expected close date already passed */
    RISK_PUSHED = 1 << 1,      /* close date pushed 2+ times */
    RISK_NO_ACTIVITY = 1 << 2, /* no activity for 14+ days */
    RISK_STALE_STAGE = 1 << 3, /* in its stage for more than 2x the stage's median */
    RISK_OUTSIZED = 1 << 4,    /* amount above 3x its owner's median deal */
};
#define RISK__COUNT 5
const char *forecast_risk_name(int bit_index); /* past_close, pushed, no_activity, stale_stage, outsized */

typedef struct {
    money_t amount;
    caldate_t expected_close;
    int stage;                  /* funnel stage index */
    forecast_category category; /* the rep's call */
    double probability;         /* override in 0..1, or NAN for the stage's */
    int group;                  /* caller's group index (owner, segment, ...) or -1 */
    int owner;                  /* owner index for RISK_OUTSIZED (forecast_input.nowners > 0), or -1 */
    bool won;                   /* closed won: counts in full when closed_at is in the period */
    caldate_t closed_at;
    caldate_t stage_entered, last_activity; /* FORECAST_NO_DATE when unknown */
    int push_count;
    bool excluded;        /* what-if: leave this deal out */
    bool close_estimated; /* expected_close came from forecast_estimate_close: nobody's promise, never past_close */
    bool amount_imputed;  /* amount not known then (the history's average won deal): no realised/expected ratio */
} forecast_deal;

/* Learned from the workspace's closed deals (historical method). */
typedef struct {
    long long reached;   /* closed deals that were in the stage */
    long long won;       /* of those, won */
    const int *won_days; /* sorted days from entering the stage to a won close */
    size_t nwon_days;
} forecast_stage_history;

typedef struct {
    const forecast_stage_history *stages; /* funnel->nstages entries */
    double prior_strength;                /* Beta prior weight in deals (default 10) */
    /* run-rate: deals not created yet */
    double created_per_day; /* historical creation rate */
    double new_win_rate;    /* share of created deals that are won */
    money_t avg_won_amount;
    double won_amount_sq_mean;       /* E[amount^2] in cents^2, for the variance */
    const int *create_to_close_days; /* sorted, won deals */
    size_t ncreate_to_close;
} forecast_history;

typedef struct {
    forecast_method method;
    caldate_t period_start, period_end; /* [start, end) */
    caldate_t as_of;
    const funnel_def *funnel;
    const forecast_history *history; /* historical method; NULL otherwise */
    const fclearn_model *learned;    /* learned method (fitted on what was known at as_of); NULL otherwise */
    int learned_draws;               /* posterior draws for the parameter spread (0: FORECAST_LEARNED_DRAWS) */
    /* the learned window's deal-independent part, computed before (e.g.
     * kept by the server): used when it is this forecast's window (as_of,
     * period, draws, forecast_learned_seed), else the window is computed */
    const fclearn_kernel *learned_kernel;
    /* the learned method's record (fclearn_correction) on its n windows
     * before as_of, or n = 0: applied to the open deals' probabilities
     * (capped at 1) and the new-deal term, and its relative variance added to the range */
    int record_n;
    double record_pred[8], record_actual[8];
    const double *stage_median_days; /* per stage, for RISK_STALE_STAGE; NULL or NAN = unknown */
    double win_rate_delta;           /* what-if: added to every open deal's probability, clamped to 0..1 */
    int nquantiles;
    double quantiles[FORECAST_MAX_QUANTILES]; /* e.g. 0.1, 0.5, 0.9 */
    int ngroups;
    const int *group_parent; /* ngroups entries: roll-up parent, -1 at the top; NULL = flat */
    /* RISK_OUTSIZED compares a deal with its owner's median: deals carry an
     * owner index below nowners (-1: no owner, never outsized). 0 = the
     * caller gives no owners: the deal's group stands in (the old rule). */
    int nowners;
} forecast_input;

typedef struct {
    money_t closed_won;
    money_t commit;        /* closed won + commit deals (seed: the base forecast) */
    money_t best_case;     /* commit + best-case deals */
    money_t pipeline;      /* pipeline-category deals, weighted */
    money_t weighted;      /* sum of amount x p over the period's open deals */
    money_t expected;      /* closed won + weighted (+ run-rate) */
    money_t run_rate;      /* deals not created yet (historical and learned methods) */
    money_t at_risk;       /* open amount of flagged deals in the period */
    money_t risk_adjusted; /* expected with each flagged deal's p halved per flag, at most twice */
    long open_deals;       /* open deals counted in the period */
    long flagged_deals;
} forecast_totals;

typedef struct {
    forecast_totals total;
    money_t quantile_values[FORECAST_MAX_QUANTILES];
    double record_factor;     /* the learned method's correction from its record (1: none) */
    forecast_totals *groups;  /* caller-allocated, ngroups entries (roll-ups included) */
    unsigned *flags;          /* caller-allocated, one per deal */
    double *deal_probability; /* caller-allocated, one per deal: p used (0 when not in the period) */
    money_t *deal_value;      /* caller-allocated or NULL, one per deal: what it adds to expected
                                 (a win in the period in full, an open deal its weighted value) */
} forecast_result;

/* Compute. Returns 0, or -1 for bad input (stage or group index out of
 * range, no funnel, historical without history) or allocation failure. */
/* The seed of the learned window's posterior draws for a forecast made at
 * as_of (deterministic: the same forecast twice draws the same rates). */
unsigned long long forecast_learned_seed(caldate_t as_of);

int forecast_compute(const forecast_deal *deals, size_t n, const forecast_input *in, forecast_result *out)
    __attribute__((warn_unused_result));

/* The close date to assume for an open deal that has none (the CRM sample
 * has none): the day it entered its stage + the median of the won
 * stage-to-close durations of that stage that are at least the deal's age in
 * the stage on as_of (a deal already 40 days in the stage is compared with
 * the won deals that took 40+ days). Even counts: the mean of the two middle
 * durations, rounded down to a whole day. stage_entered FORECAST_NO_DATE
 * counts as as_of. FORECAST_NO_DATE when no won deal ever stayed that long
 * (the deal is then expected in no period). */
caldate_t forecast_estimate_close(const forecast_stage_history *h, caldate_t stage_entered, caldate_t as_of);

/* Quantiles of closed + sum of Bernoulli(p_i) x a_i + Normal(extra_mean, extra_var).
 * amounts in cents. Deterministic. Returns 0 or -1 (allocation). */
int forecast_dist_quantiles(const money_t *amounts, const double *p, size_t n, money_t base, double extra_mean,
                            double extra_var, const double *qs, int nq, money_t *out)
    __attribute__((warn_unused_result));

/* Seeded Monte Carlo of the same distribution (the reference for tests and
 * benchmarks). */
int forecast_mc_quantiles(const money_t *amounts, const double *p, size_t n, money_t base, long trials, uint64_t seed,
                          const double *qs, int nq, money_t *out) __attribute__((warn_unused_result));

#endif

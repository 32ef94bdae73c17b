/* fclearn.h - the learned forecast method: a multi-state hazard model of
 * deals moving through the funnel, fitted on the workspace's own history as
 * it was known on as_of, with the time of the quarter as a factor.
 *
 * History is a list of stage episodes (a deal in one open stage from the day
 * it entered to the day it left or, still open, as_of: censored, never a
 * loss). Per open stage and age-in-stage bucket, the daily rates of winning,
 * losing and moving on are piecewise constant (a piecewise-exponential
 * survival model with competing risks); the won and lost rates carry a factor
 * for the month of the fiscal quarter the day falls in (wins bunch up in the
 * quarter's last month). Thin cells are pooled: each bucket's rate is shrunk
 * to its stage's, each stage's to the whole funnel's (Gamma priors measured
 * in deal-days). docs/forecast-quality.md has the formulas.
 *
 * A window [from, to) then gets, per state (stage, age), the probability of
 * being won inside it (a backward recursion over the window's days), and the
 * expected value and variance of deals not created yet that will be created
 * and won inside it. Parameter uncertainty: the rates are redrawn from their
 * Gamma posteriors (seeded, deterministic) and the spread of the window's
 * expected total over the draws is returned, so little history gives wide
 * ranges. core only: no I/O; the caller owns all memory it passes.
 */
#ifndef REVOPS_FCLEARN_H
#define REVOPS_FCLEARN_H

#include <stdbool.h>
#include <stddef.h>

#include "caldate.h"
#include "funnel.h"
#include "money.h"

/* Age-in-stage buckets start at 0, 7, 14, 30, 60, 90, 180 and 365 days. */
#define FCLEARN_NBUCKETS 8
/* Ages are tracked day by day up to here; older deals share the last bucket. */
#define FCLEARN_MAX_AGE 365
/* Each bucket twice: for deals that entered their stage in the current
 * fiscal quarter, and for deals that have slipped past a quarter end in it
 * (a deal that missed its quarter behaves differently). A state is then
 * age + (FCLEARN_MAX_AGE + 1) x slipped. */
#define FCLEARN_NCELLS (2 * FCLEARN_NBUCKETS)
#define FCLEARN_NSTATES (2 * (FCLEARN_MAX_AGE + 1))
/* Positions in the fiscal quarter: its first, second and third month. */
#define FCLEARN_NPOS 3
/* Below this much closed history the method is not used (callers fall back). */
#define FCLEARN_MIN_CLOSED 30
#define FCLEARN_MIN_WON 10

typedef enum { FCL_CENSORED, FCL_MOVED, FCL_WON, FCL_LOST } fclearn_outcome;

typedef struct {
    int stage;       /* open funnel stage index */
    caldate_t start; /* day entered */
    caldate_t end;   /* day left (the event's day) or as_of when censored; >= start */
    fclearn_outcome outcome;
    int to_stage; /* FCL_MOVED: the open stage entered next */
} fclearn_episode;

typedef struct {
    const funnel_def *funnel;
    int fy_start_month;
    caldate_t as_of;
    const fclearn_episode *episodes;
    size_t nepisodes;
    long entry_stage[FUNNEL_MAX_STAGES]; /* deals whose first open stage was s (new deals enter like them) */
    long created_recent;                 /* deals created in [as_of - 91, as_of) */
    long created_prior;                  /* deals created in [as_of - 182, as_of - 91) */
    int nmonths;                         /* deals created in each of the last nmonths 30-day spans before as_of */
    long created_month[12];
    long closed_deals, won_deals; /* deals closed before as_of (the threshold) */
    /* realised amounts of deals won in the year before as_of */
    double won_amount_mean;    /* cents */
    double won_amount_sq_mean; /* cents^2 */
    /* won deals whose amount was known a day before the close: sum of final
     * and of earlier amounts (realised / expected ratio) */
    long nratio;
    double ratio_final, ratio_expected;
} fclearn_input;

typedef struct {
    bool usable; /* enough history (FCLEARN_MIN_CLOSED closed, FCLEARN_MIN_WON won) */
    int nstages;
    bool open[FUNNEL_MAX_STAGES];
    /* posterior Gamma(shape, rate) per type (0 won, 1 lost, 2 moved), stage, bucket */
    double shape[3][FUNNEL_MAX_STAGES][FCLEARN_NCELLS];
    double rate[3][FUNNEL_MAX_STAGES][FCLEARN_NCELLS];
    double season[2][FCLEARN_NPOS];                       /* won, lost factor by month of quarter */
    double move_to[FUNNEL_MAX_STAGES][FUNNEL_MAX_STAGES]; /* destination shares */
    double entry[FUNNEL_MAX_STAGES];                      /* shares of new deals' first stage */
    double create_per_day;                                /* recent creation rate */
    double create_trend;                                  /* daily growth factor of the creation rate (damped) */
    double create_shape;          /* the rate's uncertainty: Gamma with this shape and mean create_per_day */
    caldate_t observed_from;      /* the history's first recorded close: exposure starts there */
    double won_mean, won_sq_mean; /* cents, cents^2 */
    double amount_ratio;          /* realised / expected amount, shrunk to 1 */
    int fy_start_month;
    /* what was learned from, for explain */
    long episodes, events[3], closed_deals, won_deals, nratio;
    double exposure_days;
} fclearn_model;

/* Fit. Returns 0 or -1 (bad input). model->usable says whether there was
 * enough history. */
int fclearn_fit(const fclearn_input *in, fclearn_model *model) __attribute__((warn_unused_result));

/* Per-window result: p_won[s][state] for an open deal in stage s in the
 * given state (fclearn_state) on the window's first day. */
typedef struct {
    double p_won[FUNNEL_MAX_STAGES][FCLEARN_NSTATES];
    double created_count; /* expected deals created from the first day on and won inside [count_from, to) */
    double created_mean;  /* their expected value, cents */
    double created_var;   /* compound Poisson variance, cents^2 */
    double param_var;     /* variance of the expected total over posterior draws, cents^2 */
} fclearn_window;

/* The window from day `from` (the state's day: as_of) to `to` (exclusive),
 * counting wins on days >= count_from (the period start when it is after
 * as_of). state_amount[s][state]: the (ratio-adjusted) open amount in each
 * state, for param_var (NULL: 0). ndraws posterior draws (0: none), seeded.
 * Returns 0 or -1 (bad window, allocation). */
int fclearn_window_compute(const fclearn_model *m, caldate_t from, caldate_t count_from, caldate_t to,
                           const double (*state_amount)[FCLEARN_NSTATES], int ndraws, unsigned long long seed,
                           fclearn_window *out) __attribute__((warn_unused_result));

/* A window's part that does not depend on the open deals: the mean
 * model's fclearn_window (param_var 0) and, per posterior draw, its win
 * probabilities and new-deal count. fclearn_window_compute is
 * fclearn_kernel_compute then fclearn_kernel_apply; a caller that forecasts
 * the same window again (the server's cache) keeps the kernel and only
 * applies it to the new open amounts. */
typedef struct {
    caldate_t from, count_from, to;
    unsigned long long seed;
    int nstages, ndraws;
    double won_mean;
    fclearn_window mean;
    double (*draw_p)[FUNNEL_MAX_STAGES][FCLEARN_NSTATES]; /* ndraws */
    double *draw_created;                                 /* ndraws */
} fclearn_kernel;

int fclearn_kernel_compute(const fclearn_model *m, caldate_t from, caldate_t count_from, caldate_t to, int ndraws,
                           unsigned long long seed, fclearn_kernel *k) __attribute__((warn_unused_result));
void fclearn_kernel_free(fclearn_kernel *k);
/* The window for these open amounts (as fclearn_window_compute). */
void fclearn_kernel_apply(const fclearn_kernel *k, const double (*state_amount)[FCLEARN_NSTATES], fclearn_window *out);
size_t fclearn_kernel_bytes(const fclearn_kernel *k);

/* The model's own record: its forecasts pred[i] of the n windows before
 * as_of of the same length (each made at the window's start with what was
 * known then) against what was won in them. With r_i = ln(actual_i /
 * pred_i), mean m and variance s^2 (n >= 2), the correction factor is
 * exp(w m) with a positive-part James-Stein weight w = max(0, 1 - 3 s^2 /
 * (n m^2)): a bias that persists beyond its noise is taken out, a record
 * that is only noise changes (almost) nothing. *rel_var is the relative variance to
 * add to the forecast's range: w^2 s^2 / n (the factor's own error) plus
 * what the record's spread s^2 shows beyond the model's own relative
 * variance model_rel_var. Factor 1 and rel_var 0 below two windows. */
double fclearn_correction(const double *pred, const double *actual, int n, double model_rel_var, double *rel_var);

/* Bucket of an age in days. */
int fclearn_bucket(long age_days);

/* The state of a deal that entered its stage on `entered` (FCLEARN has no
 * date: as_of) seen on day `on`: its age, capped, and whether a fiscal
 * quarter has begun since it entered. */
int fclearn_state(const fclearn_model *m, caldate_t entered, caldate_t on);

#endif

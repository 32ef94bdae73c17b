/* report.h - the judgements the reports make over figures other engines
 * computed (seed 001 phase 12: the monthly review's trend column and its
 * "what worked / what didn't", the QBR; seed 000's one-page summary that
 * leads with "will we hit the number"), and the Tier-2 operating metrics'
 * bands (seed 001 phase 5). No figure is computed here twice: inputs are the
 * dashboard's numbers; definitions in docs/reports.md.
 */
#ifndef REVOPS_REPORT_H
#define REVOPS_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "metrics.h"
#include "money.h"

/* A figure of two consecutive periods, for the trend and the movers. */
typedef struct {
    bool has_cur, has_prev;
    double cur, prev;
    bool higher_is_better; /* false for CAC payback, MAPE, sales cycle */
} report_figure;

/* "up", "down" or "flat" (equal to 1e-9 relative), or NULL when either value
 * is missing. */
const char *report_trend(const report_figure *f);
/* The seed's trend column: "↑", "↓", "→" for up, down, flat; "" for NULL. */
const char *report_arrow(const char *trend);
/* +1 when the move is an improvement, -1 a deterioration, 0 flat or unknown. */
int report_direction(const report_figure *f);
/* Size of a move for ranking: |cur - prev| / max(|cur|, |prev|), in [0, 2];
 * 0 when flat or unknown. Symmetric, and defined when prev is 0. */
double report_move_size(const report_figure *f);

/* The movers of n figures: the improved ones (better, by move size, largest
 * first, ties by index) and the deteriorated ones (worse). better and worse
 * hold n indexes each; *nbetter and *nworse get their counts. */
void report_movers(const report_figure *f, size_t n, size_t *better, size_t *nbetter, size_t *worse, size_t *nworse);

/* Will we hit the number (seed 000, the summary's answer), from the
 * forecast's P10 / expected / P90 against the quota:
 *   yes      P10 >= quota (even the low case reaches it)
 *   likely   expected >= quota > P10
 *   at_risk  P90 >= quota > expected (only the upside reaches it)
 *   no       quota > P90
 *   unknown  no quota or no forecast. */
typedef enum { VERDICT_UNKNOWN, VERDICT_YES, VERDICT_LIKELY, VERDICT_AT_RISK, VERDICT_NO } report_verdict;
report_verdict report_will_hit(bool known, money_t quota, money_t p10, money_t expected, money_t p90);
const char *report_verdict_name(report_verdict v); /* yes, likely, at_risk, no, unknown */

/* Tier-2 win rate = won / closed (seed: > 25%): green at 25% and above, red
 * below; not ok when nothing closed. */
metric_value report_win_rate(long won, long closed);
/* Pipeline created against quota (seed phase 4 "New pipeline created/month":
 * minimum 1x quota, healthy 1.5x, optimal 2x): created / quota, green at 1.5
 * and above, yellow from 1, red below; not ok without a quota. */
metric_value report_pipeline_creation(money_t created, money_t quota);
/* The seed's Tier-2 pipeline creation target: 1.5 x quota. */
money_t report_pipeline_target(money_t quota);
/* A part's share of a total (the QBR's source mix, seed 001 "Pipeline
 * Quality ... source mix"): part / total; false when the total is not
 * positive (no share, not 0). */
bool report_share(money_t part, money_t total, double *share);

/* ---- the QBR's team: headcount, hires, departures, ramp ---- */

typedef struct {
    bool has_start, has_end;
    caldate_t start, end; /* first and last day employed (the rep's start_date, end_date) */
} report_rep;

typedef struct {
    long headcount_start; /* employed on the period's first day */
    long headcount_end;   /* employed on its last day */
    long hired;           /* start_date inside the period */
    long departed;        /* end_date inside the period */
    bool has_attrition;
    double attrition_rate;    /* departed / headcount_start */
    long ramping;             /* employed on the last day, in a ramp month below 100% */
    double ramped_equivalent; /* sum of their productivity on the last day (no start date: 100%) */
    long without_start;       /* employed on the last day with no start_date (counted as ramped) */
} report_team;

/* The team of [start, end) from the reps' dates; ramp[0..ramp_len-1] is the
 * productivity of tenure months 1.. (the seed's schedule: capacity's default),
 * 100% after. */
void report_team_compute(const report_rep *reps, size_t n, caldate_t start, caldate_t end, const double *ramp,
                         int ramp_len, report_team *out);

#endif

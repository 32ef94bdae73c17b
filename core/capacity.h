/* capacity.h - sales capacity: AEs needed for a target, month-by-month
 * productive capacity of a roster over a fiscal year, and the hiring plan.
 *
 * Model (docs/planning.md has every formula and its seed source):
 *   required AEs   = ceil(target / (quota x attainment))          (seed 001 phase 6)
 *   month capacity = sum over reps of quota/12 x ramp(tenure) x attainment
 *                    x presence x survival x seasonality
 * Attrition is an expected value: an annual rate becomes a monthly hazard
 * h = 1 - (1 - a)^(1/12), reps are fractional cohorts, and every departure
 * (expected or a known end date) is backfilled after time_to_hire months by a
 * new rep who ramps from month 1. Everything is linear in the cohorts, so one
 * hire's contribution per start month is exact and the plan is computed, not
 * searched.
 *
 * Ownership: every function reads caller-owned inputs and writes caller-owned
 * outputs; nothing is allocated and nothing is kept.
 */
#ifndef REVOPS_CAPACITY_H
#define REVOPS_CAPACITY_H

#include <stdbool.h>
#include <stddef.h>

#include "caldate.h"
#include "money.h"

#define CAPACITY_MONTHS 12
#define CAPACITY_MAX_RAMP 24      /* ramp schedule entries (tenure months) */
#define CAPACITY_NO_END INT32_MAX /* a rep with no planned end date */

typedef struct {
    char field[64]; /* input field at fault, e.g. "reps[3].start" */
    char message[160];
} capacity_error;

typedef struct {
    money_t quota;                       /* annual quota of a fully ramped AE, > 0 */
    double attainment;                   /* expected attainment, (0, 3] */
    int ramp_len;                        /* entries used in ramp[]; tenure beyond = 100% */
    double ramp[CAPACITY_MAX_RAMP];      /* productivity in tenure month 1..ramp_len, each 0..1 */
    double annual_attrition;             /* share of reps leaving per year, [0, 1) */
    bool backfill;                       /* replace every departure */
    int time_to_hire;                    /* months a seat stays empty before the backfill starts, 0..24 */
    double seasonality[CAPACITY_MONTHS]; /* weight per fiscal month; all 0 = flat; scaled to mean 1 */
} capacity_assumptions;

typedef struct {
    caldate_t start; /* first working day */
    caldate_t end;   /* exclusive; CAPACITY_NO_END when staying */
    money_t quota;   /* 0 = the assumptions' quota */
    int count;       /* identical reps in this row; 0 counts as 1 */
    bool planned;    /* a planned (not yet started) hire, for reporting */
} capacity_rep;

typedef struct {
    caldate_t fy_start; /* first day of fiscal month 1 (must be a 1st) */
    money_t target;     /* bookings the team must close in the year */
    capacity_assumptions a;
    const capacity_rep *reps; /* existing team and already planned hires */
    size_t nreps;
    int hire_from_month;     /* earliest fiscal month index (0..11) a new hire can start */
    int max_hires_per_month; /* recruiting limit per month; 0 = no limit */
} capacity_input;

typedef struct {
    caldate_t month_start;
    double headcount;          /* expected reps on the team (presence-weighted) */
    double ramped_equivalent;  /* expected fully ramped AEs: sum presence x ramp x survival */
    money_t capacity;          /* productive capacity this month */
    money_t cumulative;        /* capacity since fiscal month 1 */
    money_t target_cumulative; /* target phased by seasonality */
    int hires;                 /* plan hires starting this month */
    double backfills;          /* expected backfills starting this month */
} capacity_month;

typedef struct {
    int aes_at_full_ramp;                   /* ceil(target / (quota x attainment)) */
    money_t capacity_before;                /* the roster alone (with attrition and backfill) */
    money_t gap_before;                     /* target - capacity_before; <= 0 means covered */
    money_t per_hire[CAPACITY_MONTHS];      /* capacity one hire starting that month adds in the year */
    int hires[CAPACITY_MONTHS];             /* the plan: hires starting in each fiscal month */
    int hires_needed;                       /* sum of hires[] */
    money_t capacity;                       /* with the plan */
    money_t gap;                            /* target - capacity; > 0 only when not closable */
    bool closable;                          /* the plan reaches the target by year end */
    int last_useful_month;                  /* last fiscal month (0..11) whose hire adds capacity this year; -1 none */
    capacity_month months[CAPACITY_MONTHS]; /* with the plan */
} capacity_plan;

/* The seed's default: quota and attainment given, ramp months 1-2 0%,
 * 3 25%, 4-5 50%, 6+ 100%; no attrition, backfill on, time to hire 2
 * months, flat seasonality. */
void capacity_assumptions_default(money_t quota, double attainment, capacity_assumptions *out);

/* ceil(target / (quota x attainment)), the per-AE amount rounded to the cent
 * first so the division is exact. 0 for target <= 0; -1 with err filled for
 * quota <= 0 or attainment outside (0, 3]. */
int capacity_required_aes(money_t target, money_t quota, double attainment, capacity_error *err)
    __attribute__((warn_unused_result));

/* Monthly hazard equivalent to an annual attrition rate: 1 - (1-a)^(1/12). */
double capacity_monthly_hazard(double annual_attrition);

/* Months of full productivity a new seat loses: time_to_hire + sum(1 - ramp). */
double capacity_ramp_loss_months(const capacity_assumptions *a);

/* Steady-state seats (headcount to hire and keep) so that n_ramped fully
 * productive AEs are available on average: ceil(n / (1 - attrition x
 * loss_months / 12)). This is the seed's "12 at full ramp = hire 14-15".
 * -1 with err when the loss eats the whole seat or inputs are invalid. */
int capacity_seats_for_ramped(int n_ramped, const capacity_assumptions *a, capacity_error *err)
    __attribute__((warn_unused_result));

/* Month-by-month capacity of the roster, then the hiring plan: as many hires
 * as early as possible (from hire_from_month, at most max_hires_per_month
 * each month) until the year's capacity reaches the target. When even the
 * plan cannot close the gap, closable is false and gap says by how much.
 * Returns 0, or -1 with err for invalid input. */
int capacity_plan_compute(const capacity_input *in, capacity_plan *out, capacity_error *err)
    __attribute__((warn_unused_result));

#endif

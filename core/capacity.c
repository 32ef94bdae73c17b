/* capacity.c - AEs for a target, roster capacity by month, and the hiring plan. */
#include "capacity.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A month's plan hires are capped so ceil(gap / per-hire) cannot overflow an
 * int when one hire adds only a few cents. */
#define CAPACITY_MAX_HIRES_PER_MONTH 100000

static int fail(capacity_error *err, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(capacity_error *err, const char *field, const char *fmt, ...)
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

void capacity_assumptions_default(money_t quota, double attainment, capacity_assumptions *out)
{
    memset(out, 0, sizeof *out);
    out->quota = quota;
    out->attainment = attainment;
    /* seed 001 phase 6: months 1-2 onboarding, 3 at 25%, 4-5 at 50%, 6+ full */
    static const double seed_ramp[] = {0.0, 0.0, 0.25, 0.5, 0.5};
    out->ramp_len = 5;
    memcpy(out->ramp, seed_ramp, sizeof seed_ramp);
    out->backfill = true;
    out->time_to_hire = 2;
}

int capacity_required_aes(money_t target, money_t quota, double attainment, capacity_error *err)
{
    if (quota <= 0 || quota > MONEY_MAX_ABS)
        return fail(err, "quota", "quota must be positive");
    if (!(attainment > 0.0 && attainment <= 3.0))
        return fail(err, "attainment", "attainment must be in (0, 3]");
    if (target <= 0)
        return 0;
    if (target > MONEY_MAX_ABS)
        return fail(err, "target", "target too large");
    /* Round the per-AE amount to the cent first: then the seed's
     * $5M / ($600K x 70%) is the exact integer division 500000000/42000000. */
    money_t per_ae = money_mul_rate(quota, attainment);
    if (per_ae <= 0)
        return fail(err, "attainment", "quota x attainment rounds to zero");
    money_t n = (target + per_ae - 1) / per_ae;
    if (n > INT32_MAX)
        return fail(err, "target", "more than 2^31 AEs");
    return (int)n;
}

double capacity_monthly_hazard(double annual_attrition)
{
    if (!(annual_attrition > 0.0))
        return 0.0;
    if (annual_attrition >= 1.0)
        return 1.0;
    return 1.0 - pow(1.0 - annual_attrition, 1.0 / 12.0);
}

static double ramp_at(const capacity_assumptions *a, int tenure)
{
    if (tenure < 1)
        return 0.0;
    return tenure <= a->ramp_len ? a->ramp[tenure - 1] : 1.0;
}

double capacity_ramp_loss_months(const capacity_assumptions *a)
{
    double loss = a->time_to_hire;
    for (int k = 1; k <= a->ramp_len; k++)
        loss += 1.0 - ramp_at(a, k);
    return loss;
}

static int check_assumptions(const capacity_assumptions *a, capacity_error *err)
{
    if (a->quota <= 0 || a->quota > MONEY_MAX_ABS)
        return fail(err, "quota", "quota must be positive");
    if (!(a->attainment > 0.0 && a->attainment <= 3.0))
        return fail(err, "attainment", "attainment must be in (0, 3]");
    if (a->ramp_len < 0 || a->ramp_len > CAPACITY_MAX_RAMP)
        return fail(err, "ramp", "ramp schedule has 0..%d months", CAPACITY_MAX_RAMP);
    for (int i = 0; i < a->ramp_len; i++)
        if (!(a->ramp[i] >= 0.0 && a->ramp[i] <= 1.0)) {
            char f[32];
            snprintf(f, sizeof f, "ramp[%d]", i);
            return fail(err, f, "ramp productivity must be in [0, 1]");
        }
    if (!(a->annual_attrition >= 0.0 && a->annual_attrition < 1.0))
        return fail(err, "annual_attrition", "annual attrition must be in [0, 1)");
    if (a->time_to_hire < 0 || a->time_to_hire > 24)
        return fail(err, "time_to_hire", "time to hire must be 0..24 months");
    for (int i = 0; i < CAPACITY_MONTHS; i++)
        if (!(a->seasonality[i] >= 0.0 && isfinite(a->seasonality[i]))) {
            char f[32];
            snprintf(f, sizeof f, "seasonality[%d]", i);
            return fail(err, f, "seasonality weights must be finite and >= 0");
        }
    return 0;
}

int capacity_seats_for_ramped(int n_ramped, const capacity_assumptions *a, capacity_error *err)
{
    if (n_ramped < 0)
        return fail(err, "aes_at_full_ramp", "must be >= 0");
    if (check_assumptions(a, err) != 0)
        return -1;
    /* Each departure leaves its seat unproductive for loss_months; with
     * attrition a a seat suffers a x loss_months such months a year. */
    double productive = 1.0 - a->annual_attrition * capacity_ramp_loss_months(a) / 12.0;
    if (!(productive > 0.0))
        return fail(err, "annual_attrition", "attrition x (time to hire + ramp) leaves no productive time");
    /* 1e-9 absorbs the float error of exact quotients (12 / 0.75 = 16, not 17). */
    double seats = ceil((double)n_ramped / productive - 1e-9);
    if (seats > INT32_MAX)
        return fail(err, "aes_at_full_ramp", "too many seats");
    return (int)seats;
}

/* ---- the monthly simulation ------------------------------------------- */

typedef struct {
    const capacity_assumptions *a;
    caldate_t mstart[CAPACITY_MONTHS + 1]; /* month boundaries */
    double season[CAPACITY_MONTHS];        /* mean 1 */
    double hazard;
} model;

typedef struct {
    double head[CAPACITY_MONTHS];
    double ramped[CAPACITY_MONTHS];
    double quota_ramped[CAPACITY_MONTHS]; /* ramped x the rep's quota / base quota */
    double backfill[CAPACITY_MONTHS];
} sim;

static int month_number(caldate_t d)
{
    int y, m, dd;
    caldate_to_ymd(d, &y, &m, &dd);
    return y * 12 + (m - 1);
}

/* Walk one cohort of weight w from its start through the year. tstart is its
 * start month relative to fiscal month 1 (negative: started before the year);
 * [start, end) bounds presence for partial months. Departures (the hazard, or
 * the end date) queue backfills time_to_hire months after the month they
 * leave in. */
static void walk(const model *md, sim *s, int tstart, caldate_t start, caldate_t end, double w, double quota_ratio)
{
    const capacity_assumptions *a = md->a;
    for (int m = tstart < 0 ? 0 : tstart; m < CAPACITY_MONTHS && w > 0.0; m++) {
        caldate_t ms = md->mstart[m], me = md->mstart[m + 1];
        caldate_t lo = start > ms ? start : ms, hi = end < me ? end : me;
        if (hi <= lo)
            break; /* ended before this month */
        double p = (double)(hi - lo) / (double)(me - ms);
        double r = ramp_at(a, m - tstart + 1);
        s->head[m] += w * p;
        s->ramped[m] += w * p * r;
        s->quota_ramped[m] += w * p * r * quota_ratio;
        int bm = m + 1 + a->time_to_hire;
        if (end <= me) { /* leaves this month */
            if (a->backfill && bm < CAPACITY_MONTHS)
                s->backfill[bm] += w;
            break;
        }
        double d = w * md->hazard;
        w -= d;
        if (a->backfill && bm < CAPACITY_MONTHS)
            s->backfill[bm] += d;
    }
}

/* The roster (optional) plus hires[] and all backfills. */
static void simulate(const model *md, const capacity_rep *reps, size_t nreps, const int *hires, sim *s)
{
    memset(s, 0, sizeof *s);
    int fy = month_number(md->mstart[0]);
    for (size_t i = 0; i < nreps; i++) {
        const capacity_rep *r = &reps[i];
        if (r->end <= md->mstart[0] || r->start >= md->mstart[CAPACITY_MONTHS])
            continue;
        double qr = r->quota > 0 ? (double)r->quota / (double)md->a->quota : 1.0;
        walk(md, s, month_number(r->start) - fy, r->start, r->end, r->count > 0 ? r->count : 1, qr);
    }
    /* New cohorts in month order: a cohort only queues backfills in later
     * months, so backfill[m] is final when month m is reached. */
    for (int m = 0; m < CAPACITY_MONTHS; m++) {
        double w = s->backfill[m] + (hires ? hires[m] : 0);
        if (w > 0.0)
            walk(md, s, m, md->mstart[m], CAPACITY_NO_END, w, 1.0);
    }
}

/* Capacity from month 0 through month last, rounded once: month figures are
 * differences of these, so the months add up to the year to the cent. */
static money_t cumulative_capacity(const model *md, const sim *s, int last)
{
    double rate = 0.0;
    for (int m = 0; m <= last; m++)
        rate += s->quota_ramped[m] * md->season[m];
    return money_mul_rate(md->a->quota, rate * md->a->attainment / 12.0);
}

static money_t year_capacity(const model *md, const sim *s) { return cumulative_capacity(md, s, CAPACITY_MONTHS - 1); }

static int check_input(const capacity_input *in, capacity_error *err)
{
    if (check_assumptions(&in->a, err) != 0)
        return -1;
    int y, m, d;
    caldate_to_ymd(in->fy_start, &y, &m, &d);
    if (d != 1 || !caldate_valid_ymd(y, m, d))
        return fail(err, "fy_start", "the fiscal year must start on the first day of a month");
    if (in->target < 0 || in->target > MONEY_MAX_ABS)
        return fail(err, "target", "target must be in [0, %lld] cents", (long long)MONEY_MAX_ABS);
    if (in->nreps > 0 && !in->reps)
        return fail(err, "reps", "missing roster");
    for (size_t i = 0; i < in->nreps; i++) {
        const capacity_rep *r = &in->reps[i];
        char f[48];
        if (r->end <= r->start) {
            snprintf(f, sizeof f, "reps[%zu].end", i);
            return fail(err, f, "end must be after start");
        }
        if (r->quota < 0 || r->quota > MONEY_MAX_ABS) {
            snprintf(f, sizeof f, "reps[%zu].quota", i);
            return fail(err, f, "quota must be >= 0 (0 = default)");
        }
        if (r->count < 0 || r->count > 1000000) {
            snprintf(f, sizeof f, "reps[%zu].count", i);
            return fail(err, f, "count must be 0..1000000");
        }
    }
    if (in->hire_from_month < 0 || in->hire_from_month >= CAPACITY_MONTHS)
        return fail(err, "hire_from_month", "must be a fiscal month index 0..11");
    if (in->max_hires_per_month < 0)
        return fail(err, "max_hires_per_month", "must be >= 0 (0 = no limit)");
    return 0;
}

int capacity_plan_compute(const capacity_input *in, capacity_plan *out, capacity_error *err)
{
    if (!in || !out)
        return fail(err, "", "missing input");
    if (check_input(in, err) != 0)
        return -1;
    memset(out, 0, sizeof *out);

    model md = {.a = &in->a, .hazard = capacity_monthly_hazard(in->a.annual_attrition)};
    for (int m = 0; m <= CAPACITY_MONTHS; m++)
        md.mstart[m] = caldate_add_months(in->fy_start, m);
    double wsum = 0.0;
    for (int m = 0; m < CAPACITY_MONTHS; m++)
        wsum += in->a.seasonality[m];
    for (int m = 0; m < CAPACITY_MONTHS; m++)
        md.season[m] = wsum > 0.0 ? 12.0 * in->a.seasonality[m] / wsum : 1.0;

    int aes = capacity_required_aes(in->target, in->a.quota, in->a.attainment, err);
    if (aes < 0)
        return -1;
    out->aes_at_full_ramp = aes;

    sim s;
    simulate(&md, in->reps, in->nreps, NULL, &s);
    out->capacity_before = year_capacity(&md, &s);
    out->gap_before = in->target - out->capacity_before;

    /* What one hire starting in month m adds (its own backfills included). */
    out->last_useful_month = -1;
    for (int m = 0; m < CAPACITY_MONTHS; m++) {
        int unit[CAPACITY_MONTHS] = {0};
        unit[m] = 1;
        sim one;
        simulate(&md, NULL, 0, unit, &one);
        out->per_hire[m] = year_capacity(&md, &one);
        if (out->per_hire[m] > 0)
            out->last_useful_month = m;
    }

    /* Earliest months first: a hire that starts sooner ramps sooner, so this
     * needs the fewest hires. Capacity is linear in the hires, so the ceil
     * step is exact up to cent rounding, which the loop absorbs. */
    money_t cap = out->capacity_before;
    int cap_per_month = in->max_hires_per_month > 0 ? in->max_hires_per_month : CAPACITY_MAX_HIRES_PER_MONTH;
    while (cap < in->target) {
        int m = in->hire_from_month;
        while (m < CAPACITY_MONTHS && (out->per_hire[m] <= 0 || out->hires[m] >= cap_per_month))
            m++;
        if (m == CAPACITY_MONTHS)
            break; /* nothing left that adds capacity this year */
        money_t gap = in->target - cap;
        money_t n = (gap + out->per_hire[m] - 1) / out->per_hire[m];
        if (n > cap_per_month - out->hires[m])
            n = cap_per_month - out->hires[m];
        out->hires[m] += (int)n;
        simulate(&md, in->reps, in->nreps, out->hires, &s);
        cap = year_capacity(&md, &s);
    }
    simulate(&md, in->reps, in->nreps, out->hires, &s);
    out->capacity = year_capacity(&md, &s);
    out->gap = in->target - out->capacity;
    out->closable = out->gap <= 0;
    for (int m = 0; m < CAPACITY_MONTHS; m++)
        out->hires_needed += out->hires[m];

    money_t cum = 0;
    double share = 0.0;
    for (int m = 0; m < CAPACITY_MONTHS; m++) {
        capacity_month *mo = &out->months[m];
        mo->month_start = md.mstart[m];
        mo->headcount = s.head[m];
        mo->ramped_equivalent = s.ramped[m];
        money_t c = cumulative_capacity(&md, &s, m);
        mo->capacity = c - cum;
        cum = c;
        mo->cumulative = cum;
        share += md.season[m] / 12.0;
        mo->target_cumulative = m == CAPACITY_MONTHS - 1 ? in->target : money_mul_rate(in->target, share);
        mo->hires = out->hires[m];
        mo->backfills = s.backfill[m];
    }
    return 0;
}

/* comp.c - attainment, pace and payout math (comp.h). Exact: products are
 * taken in 128-bit integers and divided once. */
#include "comp.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef __int128 i128;

/* num / den rounded half away from zero; den > 0. */
static money_t round_div(i128 num, i128 den)
{
    i128 q = num / den, r = num % den;
    if (r < 0)
        r = -r;
    if (2 * r >= den)
        q += num < 0 ? -1 : 1;
    return (money_t)q;
}

void comp_pace_compute(const comp_pace_input *in, comp_pace *out)
{
    *out = (comp_pace){0};
    int days = in->period_days > 0 ? in->period_days : 1;
    int el = in->elapsed_days < 0 ? 0 : in->elapsed_days > days ? days : in->elapsed_days;
    out->elapsed_share = (double)el / (double)days;
    if (!in->has_quota || in->quota <= 0)
        return;
    out->has_attainment = true;
    out->attainment = (double)in->won / (double)in->quota;
    out->projected_attain = (double)in->projected / (double)in->quota;
    out->expected_to_date = round_div((i128)in->quota * el, days);
    out->pace_gap = in->won - out->expected_to_date;
    if (el == 0) {
        out->status = COMP_PACE_NOT_STARTED;
        return;
    }
    out->has_pace = true;
    out->pace = out->attainment / out->elapsed_share;
    out->status = out->pace_gap >= 0 ? COMP_PACE_AHEAD : COMP_PACE_BEHIND;
}

const char *comp_pace_status_name(comp_pace_status s)
{
    switch (s) {
    case COMP_PACE_NOT_STARTED:
        return "not_started";
    case COMP_PACE_AHEAD:
        return "on_pace";
    case COMP_PACE_BEHIND:
        return "behind";
    case COMP_PACE_NONE:
        break;
    }
    return NULL;
}

const char *comp_rates_check(const comp_rates *r)
{
    if (r->ntiers < 1 || r->ntiers > COMP_MAX_TIERS)
        return "a rate table has 1 to 8 bands";
    if (r->tiers[0].from_bp != 0)
        return "the first band starts at 0% attainment";
    for (int i = 0; i < r->ntiers; i++) {
        const comp_tier *t = &r->tiers[i];
        if (t->rate_bp < 0 || t->rate_bp > 10 * COMP_BP)
            return "rates are between 0x and 10x";
        bool last = i == r->ntiers - 1;
        if (last != (t->to_bp == COMP_OPEN_END))
            return "only the last band is open-ended (no upper bound)";
        if (!last && (t->to_bp <= t->from_bp || r->tiers[i + 1].from_bp != t->to_bp))
            return "bands are contiguous and increasing: each starts where the previous one ends";
    }
    if (r->cap_bp != 0 && r->cap_bp < COMP_BP)
        return "a cap is at least 100% of the target incentive";
    return NULL;
}

void comp_rates_default(comp_rates *r)
{
    *r = (comp_rates){.ntiers = 3,
                      .tiers = {{0, COMP_BP / 2, COMP_BP / 2},
                                {COMP_BP / 2, COMP_BP, COMP_BP},
                                {COMP_BP, COMP_OPEN_END, COMP_BP * 3 / 2}}};
}

/* Band holding attainment A/Q (A in basis points x quota): from*Q <= A < to*Q. */
static int band_of(const comp_rates *r, i128 A, i128 Q)
{
    if (A < 0)
        return 0;
    for (int i = 0; i < r->ntiers; i++)
        if (r->tiers[i].to_bp == COMP_OPEN_END || A < (i128)r->tiers[i].to_bp * Q)
            return i;
    return r->ntiers - 1;
}

int comp_tier_of(const comp_rates *r, money_t quota, money_t achieved)
{
    if (quota <= 0 || r->ntiers < 1)
        return 0;
    return band_of(r, (i128)achieved * COMP_BP, quota);
}

money_t comp_earned(const comp_rates *r, money_t target, money_t quota, money_t achieved)
{
    if (quota <= 0 || target <= 0 || achieved <= 0 || r->ntiers < 1)
        return 0;
    i128 Q = quota, A = (i128)achieved * COMP_BP;
    /* up to quota: one rate for all of it, the band's the attainment reached
     * (at or above quota: the band just below 100%) */
    money_t low = achieved < quota ? achieved : quota;
    int b = 0;
    if (achieved < quota)
        b = band_of(r, A, Q);
    else
        for (int i = 0; i < r->ntiers; i++)
            if (r->tiers[i].from_bp < COMP_BP)
                b = i;
    i128 num = (i128)target * low * r->tiers[b].rate_bp * COMP_BP;
    /* above quota: each band's rate on the part inside it */
    for (int i = 0; i < r->ntiers; i++) {
        const comp_tier *t = &r->tiers[i];
        int32_t lo = t->from_bp > COMP_BP ? t->from_bp : COMP_BP;
        if (t->to_bp != COMP_OPEN_END && t->to_bp <= lo)
            continue;
        i128 part = A - (i128)lo * Q;
        if (part <= 0)
            continue;
        if (t->to_bp != COMP_OPEN_END && part > (i128)(t->to_bp - lo) * Q)
            part = (i128)(t->to_bp - lo) * Q;
        num += (i128)target * part * t->rate_bp;
    }
    money_t e = round_div(num, Q * COMP_BP * COMP_BP);
    if (r->cap_bp > 0) {
        money_t cap = round_div((i128)target * r->cap_bp, COMP_BP);
        if (e > cap)
            e = cap;
    }
    return e;
}

void comp_lines(const comp_rates *r, money_t target, money_t quota, money_t prior, const money_t *credits, size_t n,
                money_t *line, int *tier)
{
    money_t cum = prior, before = comp_earned(r, target, quota, prior);
    for (size_t i = 0; i < n; i++) {
        cum += credits[i];
        money_t after = comp_earned(r, target, quota, cum);
        line[i] = after - before;
        if (tier)
            tier[i] = comp_tier_of(r, quota, cum);
        before = after;
    }
}

money_t comp_spif_award(money_t per_deal, money_t budget, money_t used_before)
{
    if (per_deal <= 0 || budget <= used_before)
        return 0;
    money_t left = budget - used_before;
    return per_deal < left ? per_deal : left;
}

bool comp_clawback_applies(caldate_t closed, caldate_t churned, int window_days)
{
    return churned >= closed && churned - closed <= window_days;
}

money_t comp_target_incentive(money_t annual_variable, int32_t weight_bp, int months)
{
    if (annual_variable <= 0 || weight_bp <= 0 || months <= 0)
        return 0;
    return round_div((i128)annual_variable * weight_bp * months, (i128)COMP_BP * 12);
}

/* ---- plans ---- */

static const char *const metric_names[COMP_METRIC__COUNT] = {"new_arr", "pipeline_generated", "expansion_arr"};

const char *comp_metric_name(comp_metric m) { return m < COMP_METRIC__COUNT ? metric_names[m] : "?"; }

int comp_metric_parse(const char *s)
{
    for (int i = 0; s && i < COMP_METRIC__COUNT; i++)
        if (strcmp(s, metric_names[i]) == 0)
            return i;
    return -1;
}

#define K(x) ((money_t)(x)*100000) /* thousands of dollars in cents */

/* Seed 001 phase 9, "Comp Plan Architecture". CS/AM has "NRR + expansion
 * targets" and no multiple of OTE. */
const comp_template comp_templates[] = {
    {"sdr", "SDR", 70, K(55), K(85), COMP_PIPELINE_GENERATED, 3, 5},
    {"ae_smb", "AE (SMB)", 50, K(100), K(150), COMP_NEW_ARR, 4, 6},
    {"ae_mid_market", "AE (Mid-Market)", 50, K(150), K(250), COMP_NEW_ARR, 4, 5},
    {"ae_enterprise", "AE (Enterprise)", 60, K(200), K(350), COMP_NEW_ARR, 3, 4},
    {"cs_am", "CS/AM", 70, K(80), K(150), COMP_EXPANSION_ARR, 0, 0},
};
const size_t comp_ntemplates = sizeof comp_templates / sizeof comp_templates[0];

const comp_template *comp_template_find(const char *role)
{
    for (size_t i = 0; role && i < comp_ntemplates; i++)
        if (strcmp(comp_templates[i].role, role) == 0)
            return &comp_templates[i];
    return NULL;
}

static int warn(comp_warning *w, int n, int max, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int warn(comp_warning *w, int n, int max, const char *rule, const char *fmt, ...)
{
    if (n >= max)
        return n;
    w[n].rule = rule;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w[n].message, sizeof w[n].message, fmt, ap);
    va_end(ap);
    return n + 1;
}

int comp_quota_warning(const comp_plan *p, money_t quota, int months, comp_warning *w)
{
    const comp_template *t = p->role;
    money_t ote = p->base + p->variable;
    if (!t || t->multiple_max <= 0 || ote <= 0 || months <= 0)
        return 0;
    double multiple = (double)quota * 12.0 / months / (double)ote;
    if (multiple >= t->multiple_min - 1e-9 && multiple <= t->multiple_max + 1e-9)
        return 0;
    return warn(w, 0, 1, "quota_multiple", "%s quota is %.2fx OTE a year; the seed's range for %s is %g-%gx",
                comp_metric_name(t->metric), multiple, t->label, t->multiple_min, t->multiple_max);
}

int comp_plan_warnings(const comp_plan *p, comp_warning *w, int max)
{
    int n = 0;
    const comp_rates *r = &p->rates;
    if (p->ncomps > 3)
        n = warn(w, n, max, "max_3_components", "%d components: variable comp should be simple, at most 3", p->ncomps);
    int acc = -1;
    bool deceleration_ok = true, one_x_ok = true;
    for (int i = 0; i < r->ntiers; i++) {
        const comp_tier *t = &r->tiers[i];
        if (t->rate_bp > COMP_BP && acc < 0)
            acc = i;
        if (t->from_bp < COMP_BP / 2 && (t->rate_bp != COMP_BP / 2 || t->to_bp > COMP_BP / 2))
            deceleration_ok = false;
        if (t->from_bp >= COMP_BP / 2 && t->from_bp < COMP_BP && t->rate_bp != COMP_BP)
            one_x_ok = false;
        if (t->rate_bp > COMP_BP && (t->rate_bp < 3 * COMP_BP / 2 || t->rate_bp > 2 * COMP_BP))
            n = warn(w, n, max, "accelerator_rate", "an accelerator pays %.2fx; the seed's accelerators are 1.5-2x",
                     t->rate_bp / (double)COMP_BP);
    }
    if (acc < 0)
        n = warn(w, n, max, "accelerator_at_100", "no accelerator: the seed pays 1.5-2x above 100%% attainment");
    else if (r->tiers[acc].from_bp != COMP_BP)
        n = warn(w, n, max, "accelerator_at_100", "the accelerator starts at %.0f%% attainment, not at 100%%",
                 r->tiers[acc].from_bp / 100.0);
    if (!deceleration_ok)
        n = warn(w, n, max, "decelerator_below_50", "below 50%% attainment the seed pays 0.5x (a decelerator)");
    if (!one_x_ok)
        n = warn(w, n, max, "one_x_to_100", "from 50%% to 100%% attainment the seed pays 1x");
    money_t ote = p->base + p->variable;
    if (p->has_spif && ote > 0) {
        double per_rep = (double)p->spif_budget / (p->nreps > 0 ? p->nreps : 1);
        if (per_rep > 0.10 * (double)ote)
            n = warn(w, n, max, "spif_over_10pct",
                     "the SPIF budget is %.1f%% of a rep's OTE (%s); SPIFs should be under 10%% of total comp",
                     100.0 * per_rep / (double)ote, p->nreps > 0 ? "shared by the plan's reps" : "for one rep");
    }
    if (p->clawback_days > 90)
        n = warn(w, n, max, "clawback_within_90_days",
                 "clawback after %d days: the seed claws back only churns within 90", p->clawback_days);
    if (p->payout_months != 1)
        n = warn(w, n, max, "pay_monthly", "paid every %d months: pay monthly, not quarterly (motivation)",
                 p->payout_months);
    const comp_template *t = p->role;
    if (t && ote > 0) {
        double base_pct = 100.0 * (double)p->base / (double)ote;
        if (base_pct < t->base_pct - 5 || base_pct > t->base_pct + 5)
            n = warn(w, n, max, "pay_mix", "base:variable is %.0f:%.0f; the seed's mix for %s is %d:%d", base_pct,
                     100 - base_pct, t->label, t->base_pct, 100 - t->base_pct);
        if (ote < t->ote_min || ote > t->ote_max)
            n = warn(w, n, max, "ote_range", "OTE %.0f is outside the seed's range for %s (%.0f-%.0f)",
                     (double)ote / 100, t->label, (double)t->ote_min / 100, (double)t->ote_max / 100);
        for (int c = 0; c < p->ncomps && n < max; c++)
            if (p->comps[c].metric == t->metric && p->comps[c].has_quota)
                n += comp_quota_warning(p, p->comps[c].quota, p->quota_months, &w[n]);
    }
    return n;
}

void comp_plan_from_template(const comp_template *t, int quota_months, comp_plan *p)
{
    *p = (comp_plan){.role = t, .quota_months = quota_months, .payout_months = 1, .ncomps = 1, .clawback_days = 90};
    money_t ote = (t->ote_min + t->ote_max) / 2;
    p->base = round_div((i128)ote * t->base_pct, 100);
    p->variable = ote - p->base;
    p->comps[0] = (comp_component){.metric = t->metric, .weight_bp = COMP_BP};
    if (t->multiple_max > 0) {
        /* multiples are halves (3.5, 4.5): x2 keeps the product an integer */
        long twice = lround(t->multiple_min + t->multiple_max);
        p->comps[0].has_quota = true;
        p->comps[0].quota = round_div((i128)ote * twice * quota_months, 2 * 12);
    }
    comp_rates_default(&p->rates);
}

money_t comp_period_payout(const comp_rates *r, money_t target, money_t quota, const comp_credit *c, size_t n,
                           caldate_t from, caldate_t to, money_t *line, int *tier, money_t *prior, money_t *achieved)
{
    money_t cum = 0, sum = 0, before = 0;
    bool started = false;
    for (size_t i = 0; i < n; i++) {
        line[i] = 0;
        if (tier)
            tier[i] = -1;
        if (c[i].day >= to)
            continue;
        if (c[i].day < from) {
            cum += c[i].amount;
            continue;
        }
        if (!started) {
            *prior = cum;
            before = comp_earned(r, target, quota, cum);
            started = true;
        }
        cum += c[i].amount;
        money_t after = comp_earned(r, target, quota, cum);
        line[i] = after - before;
        sum += line[i];
        if (tier)
            tier[i] = comp_tier_of(r, quota, cum);
        before = after;
    }
    if (!started)
        *prior = cum;
    *achieved = cum;
    return sum;
}

/* ---- quota setting ---- */

static double ramp_at(const comp_quota_rep *r, caldate_t month_start, caldate_t month_end, const double *ramp,
                      int ramp_len)
{
    if (r->start != INT32_MIN && r->start >= month_end)
        return 0;
    if (r->end != INT32_MAX && r->end <= month_start)
        return 0;
    if (r->start == INT32_MIN)
        return 1;
    int hy, hm, hd, y, m, d;
    caldate_to_ymd(r->start, &hy, &hm, &hd);
    caldate_to_ymd(month_start, &y, &m, &d);
    int tenure = (y * 12 + m) - (hy * 12 + hm) + 1;
    if (tenure < 1)
        tenure = 1; /* hired inside the month: its first month */
    return tenure > ramp_len ? 1.0 : ramp[tenure - 1];
}

int comp_quota_split(money_t total, const comp_quota_rep *reps, size_t n, caldate_t period_start, int months,
                     const double *ramp, int ramp_len, comp_quota_out *out)
{
    money_t pot = 0;
    for (size_t i = 0; i < n; i++)
        pot += reps[i].potential > 0 ? reps[i].potential : 0;
    double csum = 0;
    for (size_t i = 0; i < n; i++) {
        double share =
            pot > 0 ? (double)(reps[i].potential > 0 ? reps[i].potential : 0) / (double)pot : 1.0 / (double)n;
        double rsum = 0;
        for (int k = 0; k < months; k++) {
            caldate_t ms = caldate_add_months(period_start, k), me = caldate_add_months(period_start, k + 1);
            rsum += ramp_at(&reps[i], ms, me, ramp, ramp_len);
        }
        out[i] = (comp_quota_out){.share = share, .ramp = months > 0 ? rsum / months : 0};
        csum += share * out[i].ramp;
    }
    if (n == 0 || csum <= 0 || total <= 0)
        return n == 0 || total <= 0 ? 0 : -1;
    /* floors, then the cents left to the largest remainders */
    money_t given = 0;
    double *rem = malloc(n * sizeof *rem);
    if (!rem)
        return -1;
    for (size_t i = 0; i < n; i++) {
        double exact = (double)total * out[i].share * out[i].ramp / csum;
        out[i].quota = (money_t)floor(exact);
        rem[i] = exact - (double)out[i].quota;
        given += out[i].quota;
    }
    money_t left = total - given;
    for (; left > 0; left--) {
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (rem[i] > rem[best])
                best = i;
        if (rem[best] < 0) /* floating point left more cents than reps: none is expected */
            break;
        out[best].quota++;
        rem[best] = -1;
    }
    /* whatever floating point left over (in either direction) goes to the
     * largest quota, so the sum stays exact */
    if (left != 0) {
        size_t big = 0;
        for (size_t i = 1; i < n; i++)
            if (out[i].quota > out[big].quota)
                big = i;
        out[big].quota += left;
    }
    free(rem);
    return 0;
}

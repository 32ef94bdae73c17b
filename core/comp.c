/* comp.c - attainment, pace and payout math (comp.h). Exact: products are
 * taken in 128-bit integers and divided once. */
#include "comp.h"

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

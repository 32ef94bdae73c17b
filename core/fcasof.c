/* fcasof.c - the open pipeline at a day, rebuilt from the history read once
 * (the rule is in fcasof.h). */
#include "fcasof.h"

#include <math.h>
#include <string.h>

#define DAY_S 86400.0

__extension__ typedef __int128 i128; /* GCC and clang: exact products of cents and rates */

money_t fcasof_convert(const fcasof *h, const char *currency, money_t cents, caldate_t day)
{
    if (!currency)
        return cents;
    const fcasof_rate *first = NULL, *in_force = NULL;
    for (size_t i = 0; i < h->nrates; i++) {
        const fcasof_rate *r = &h->rates[i];
        if (strcmp(r->currency, currency) != 0) {
            if (first)
                break; /* rates are grouped by currency */
            continue;
        }
        if (!first)
            first = r;
        if (r->day <= day)
            in_force = r;
    }
    const fcasof_rate *r = in_force ? in_force : first;
    if (!r)
        return cents; /* no rate at all: at par */
    /* numeric cents x rate rounded half away from zero to a whole cent:
     * |cents| <= 10^15 and rate_e8 < 10^20, so the product fits in 128 bits */
    i128 p = (i128)cents * r->rate_e8;
    i128 m = p < 0 ? -p : p;
    money_t q = (money_t)((m + 50000000) / 100000000);
    return p < 0 ? -q : q;
}

/* The value of one field at ts from the deal's changes (by time, then id). */
static fcasof_val value_at(const fcasof_change *c, size_t n, int field, fcasof_val cur, double ts)
{
    const fcasof_change *before = NULL, *after = NULL;
    for (size_t i = 0; i < n; i++) {
        if (c[i].field != field)
            continue;
        if (c[i].at < ts)
            before = &c[i];
        else if (c[i].applied && !after)
            after = &c[i];
    }
    if (before)
        return before->new_v;
    if (after)
        return after->created ? after->new_v : after->old_v;
    return cur;
}

static caldate_t day_of(double s) { return (caldate_t)floor(s / DAY_S); }

size_t fcasof_won(const fcasof *h, double start, double end, double as_of, const fcasof_deal **out)
{
    double until = end < as_of ? end : as_of;
    size_t n = 0;
    for (size_t i = 0; i < h->ndeals; i++) {
        const fcasof_deal *d = &h->deals[i];
        if (d->won && d->closed >= start && d->closed < until && d->deleted >= as_of)
            out[n++] = d;
    }
    return n;
}

money_t fcasof_won_amount(const fcasof *h, const fcasof_deal *d)
{
    const fcasof_val *a = &d->cur[FCASOF_AMOUNT];
    return a->known ? fcasof_convert(h, d->currency, a->cents, day_of(d->closed)) : 0;
}

size_t fcasof_at(const fcasof *h, double ts, fcasof_row *rows)
{
    caldate_t rate_day = day_of(ts);
    size_t n = 0;
    for (size_t i = 0; i < h->ndeals; i++) {
        const fcasof_deal *d = &h->deals[i];
        if (!(d->created < ts) || d->closed < ts || d->deleted < ts)
            continue;
        const fcasof_change *c = h->changes + d->first_change;
        fcasof_val v[FCASOF_NFIELDS];
        for (int f = 0; f < FCASOF_NFIELDS; f++)
            v[f] = value_at(c, d->nchanges, f, d->cur[f], ts);
        fcasof_row *r = &rows[n++];
        r->deal = d;
        r->stage = v[FCASOF_STAGE].known ? v[FCASOF_STAGE].s : NULL;
        r->stage_entered = FORECAST_NO_DATE;
        const fcasof_entry *e = h->entries + d->first_entry;
        for (size_t k = d->nentries; k-- > 0;)
            if (e[k].entered < ts) {
                r->stage = e[k].stage;
                r->stage_entered = day_of(e[k].entered);
                break;
            }
        r->category = v[FCASOF_CATEGORY].known ? v[FCASOF_CATEGORY].s : NULL;
        r->has_amount = v[FCASOF_AMOUNT].known;
        r->amount = r->has_amount ? fcasof_convert(h, d->currency, v[FCASOF_AMOUNT].cents, rate_day) : 0;
        r->probability = v[FCASOF_PROBABILITY].known ? v[FCASOF_PROBABILITY].p : NAN;
        r->close = v[FCASOF_CLOSE].known ? v[FCASOF_CLOSE].day : FORECAST_NO_DATE;
        r->last_activity = d->last_activity < ts ? day_of(d->last_activity) : FORECAST_NO_DATE;
        r->pushes = 0;
        for (size_t k = 0; k < d->nchanges && c[k].at < ts; k++)
            r->pushes += c[k].push;
    }
    return n;
}

/* pipediff.c - snapshot-to-snapshot change kinds and the pipeline waterfall. */
#include "pipediff.h"

#include <stdint.h>
#include <string.h>

static const char *kind_names[PD__KINDS] = {
    "new",       "won",         "lost",           "pushed",          "pulled_in",
    "amount_up", "amount_down", "stage_advanced", "stage_regressed", "owner_changed",
    "removed",   "reopened"};

const char *pipediff_kind_name(int bit) { return (bit >= 0 && bit < PD__KINDS) ? kind_names[bit] : ""; }

static bool in_period(const pd_deal *d, caldate_t period_close)
{
    return d->close != INT32_MIN && d->close < period_close;
}

unsigned pipediff_classify(const pd_pair *p, caldate_t period_close)
{
    const pd_deal *a = p->before, *b = p->after;
    if (!a && !b)
        return 0;
    if (!a)
        return b->status == PD_OPEN ? PD_NEW : b->status == PD_CLOSED_WON ? (PD_NEW | PD_WON) : (PD_NEW | PD_LOST);
    if (!b)
        return a->status == PD_OPEN ? PD_REMOVED : 0; /* a closed deal leaving the snapshot is not news */
    unsigned k = 0;
    if (a->status == PD_OPEN && b->status == PD_CLOSED_WON)
        k |= PD_WON;
    else if (a->status == PD_OPEN && b->status == PD_CLOSED_LOST)
        k |= PD_LOST;
    else if (a->status != PD_OPEN && b->status == PD_OPEN)
        k |= PD_REOPENED;
    if (a->status == PD_OPEN && b->status == PD_OPEN) {
        bool ia = in_period(a, period_close), ib = in_period(b, period_close);
        if (ia && !ib)
            k |= PD_PUSHED;
        else if (!ia && ib)
            k |= PD_PULLED_IN;
    }
    if (b->amount > a->amount)
        k |= PD_AMOUNT_UP;
    else if (b->amount < a->amount)
        k |= PD_AMOUNT_DOWN;
    if (a->stage_order >= 0 && b->stage_order >= 0 && a->status == PD_OPEN && b->status == PD_OPEN) {
        if (b->stage_order > a->stage_order)
            k |= PD_STAGE_ADVANCED;
        else if (b->stage_order < a->stage_order)
            k |= PD_STAGE_REGRESSED;
    }
    if (a->owner != b->owner)
        k |= PD_OWNER_CHANGED;
    return k;
}

void pipediff_compute(const pd_pair *pairs, size_t n, caldate_t period_close, unsigned *out_kinds, pd_summary *s)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < n; i++) {
        const pd_deal *a = pairs[i].before, *b = pairs[i].after;
        unsigned k = pipediff_classify(&pairs[i], period_close);
        if (out_kinds)
            out_kinds[i] = k;
        for (int bit = 0; bit < PD__KINDS; bit++)
            if (k & (1u << bit))
                s->counts[bit]++;
        bool open_a = a && a->status == PD_OPEN, open_b = b && b->status == PD_OPEN;
        if (open_a) {
            s->start += a->amount;
            if (in_period(a, period_close))
                s->period_start += a->amount;
        }
        if (open_b) {
            s->end += b->amount;
            if (in_period(b, period_close))
                s->period_end += b->amount;
        }
        /* the waterfall: every open amount that appears, disappears or changes */
        if (!open_a && open_b) {
            if (a)
                s->reopened += b->amount;
            else
                s->new_deals += b->amount;
        } else if (open_a && !open_b) {
            if (!b)
                s->removed += a->amount;
            else if (b->status == PD_CLOSED_WON)
                s->won += a->amount;
            else
                s->lost += a->amount;
        } else if (open_a && open_b) {
            if (b->amount > a->amount)
                s->amount_up += b->amount - a->amount;
            else
                s->amount_down += a->amount - b->amount;
            if ((k & PD_PUSHED))
                s->pushed += a->amount;
            if ((k & PD_PULLED_IN))
                s->pulled_in += b->amount;
        }
    }
}

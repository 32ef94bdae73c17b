/* fchist.c - the forecast methods' inputs at a day, from the history read once. */
#include "fchist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DAY_S 86400.0

void fchist_free(fchist *h)
{
    free(h->deals);
    free(h->entries);
    memset(h, 0, sizeof *h);
}

size_t fchist_bytes(const fchist *h)
{
    return sizeof *h + h->ndeals * sizeof *h->deals + h->nentries * sizeof *h->entries;
}

static bool exists_at(const fchist_deal *d, double ts) { return d->created < ts && d->deleted >= ts; }

static caldate_t day_of(double s) { return (caldate_t)floor(s / DAY_S); }

/* One deal's episodes known at ts (its entries are in time order, dated
 * first, so the entries before ts are a prefix). */
static size_t deal_episodes(const fchist *h, const fchist_deal *d, const funnel_def *def, caldate_t T, double ts,
                            fclearn_episode *out, fclearn_input *in)
{
    const fchist_entry *e = h->entries + d->first;
    size_t known = 0;
    while (known < d->n && e[known].entered < ts)
        known++;
    bool closed = d->closed < ts;
    caldate_t close_day = closed ? day_of(d->closed) : 0;
    size_t k = 0;
    for (size_t i = 0; i < known; i++) {
        if (e[i].stage < 0)
            continue;
        fclearn_episode *ep = &out[k];
        ep->stage = e[i].stage;
        ep->start = day_of(e[i].entered);
        if (i == 0 && !def->stages[ep->stage].won && !def->stages[ep->stage].lost)
            in->entry_stage[ep->stage]++;
        ep->to_stage = -1;
        ep->outcome = FCL_CENSORED;
        ep->end = T;
        caldate_t next = i + 1 < known ? day_of(e[i + 1].entered) : 0;
        if (i + 1 < known && (!closed || next <= close_day)) {
            int to = e[i + 1].stage;
            ep->end = next;
            if (to < 0)
                ep->end = T; /* a stage outside the funnel: followed no further */
            else if (def->stages[to].won)
                ep->outcome = FCL_WON;
            else if (def->stages[to].lost)
                ep->outcome = FCL_LOST;
            else {
                ep->outcome = FCL_MOVED;
                ep->to_stage = to;
            }
        } else if (closed) {
            ep->end = close_day;
            /* a close on a deal whose status is not won (lost, or reopened since) ends as a loss */
            ep->outcome = d->status == FCH_WON ? FCL_WON : FCL_LOST;
        }
        if (ep->end < ep->start)
            ep->end = ep->start;
        k++;
    }
    return k;
}

void fchist_learn_input(const fchist *h, const funnel_def *def, int fy_start_month, caldate_t T,
                        fclearn_episode *episodes, fclearn_input *in)
{
    memset(in, 0, sizeof *in);
    in->funnel = def;
    in->fy_start_month = fy_start_month;
    in->as_of = T;
    double ts = T * DAY_S, first_created = INFINITY;
    double won_sum = 0, won_sq = 0;
    long won_year = 0;
    size_t k = 0;
    for (size_t i = 0; i < h->ndeals; i++) {
        const fchist_deal *d = &h->deals[i];
        if (!exists_at(d, ts))
            continue;
        if (d->created < first_created)
            first_created = d->created;
        bool closed = d->closed < ts;
        if (closed && d->status != FCH_OPEN)
            in->closed_deals++;
        if (closed && d->status == FCH_WON)
            in->won_deals++;
        double age = ts - d->created; /* > 0 */
        if (age <= 91 * DAY_S)
            in->created_recent++;
        else if (age <= 182 * DAY_S)
            in->created_prior++;
        long span = (long)ceil(age / (30 * DAY_S)) - 1; /* created in [ts - 30(span+1), ts - 30 span) days */
        if (span >= 0 && span < 12)
            in->created_month[span]++;
        if (closed && d->status == FCH_WON && d->closed >= ts - 365 * DAY_S && d->has_amount) {
            double a = (double)d->amount;
            won_year++;
            won_sum += a;
            won_sq += a * a;
            if (d->has_before) {
                in->nratio++;
                in->ratio_final += a;
                in->ratio_expected += (double)d->before;
            }
        }
        k += deal_episodes(h, d, def, T, ts, episodes + k, in);
    }
    if (won_year > 0) {
        in->won_amount_mean = won_sum / (double)won_year;
        in->won_amount_sq_mean = won_sq / (double)won_year;
    }
    if (first_created < INFINITY) {
        double span = (ts - first_created) / DAY_S; /* the 30-day spans the history covers */
        in->nmonths = span >= 360 ? 12 : (int)(span / 30);
    }
    in->episodes = episodes;
    in->nepisodes = k;
}

void fchist_history_free(fchist_history *b)
{
    for (int i = 0; i < FUNNEL_MAX_STAGES; i++)
        free(b->days[i]);
    free(b->c2c);
    memset(b, 0, sizeof *b);
}

/* Sort whole days in place: a counting sort (days are small and many:
 * 100,000 wins' stage entries were 8% of a warm forecast under qsort). */
static int sort_days(int *v, size_t n)
{
    int max = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] > max)
            max = v[i];
    size_t *count = calloc((size_t)max + 1, sizeof *count);
    if (!count)
        return -1;
    for (size_t i = 0; i < n; i++)
        count[v[i]]++;
    size_t k = 0;
    for (int d = 0; d <= max; d++)
        for (size_t c = count[d]; c > 0; c--)
            v[k++] = d;
    free(count);
    return 0;
}

static int whole_days(double from, double to)
{
    double d = floor((to - from) / DAY_S);
    return d > 0 ? (int)d : 0;
}

int fchist_history_at(const fchist *h, const funnel_def *def, caldate_t T, fchist_history *b)
{
    memset(b, 0, sizeof *b);
    double ts = T * DAY_S;
    int S = def->nstages;
    size_t ndays = 0, nc2c = 0;
    for (size_t i = 0; i < h->ndeals; i++) { /* sizes first */
        const fchist_deal *d = &h->deals[i];
        if (d->deleted == INFINITY && d->status == FCH_WON && d->closed < ts) {
            ndays += d->n;
            nc2c++;
        }
    }
    for (int s = 0; s < S; s++)
        if (!(b->days[s] = malloc((ndays + 1) * sizeof(int))))
            goto oom;
    if (!(b->c2c = malloc((nc2c + 1) * sizeof(int))))
        goto oom;
    long run_n = 0, run_closed = 0, run_won = 0, run_won_amounts = 0;
    double run_sum = 0, run_sq = 0;
    for (size_t i = 0; i < h->ndeals; i++) {
        const fchist_deal *d = &h->deals[i];
        if (d->deleted != INFINITY)
            continue; /* the historical method learns from deals not deleted today */
        bool closed = d->closed < ts;
        if (closed && d->status != FCH_OPEN) {
            /* the stages it reached, each once */
            bool seen[FUNNEL_MAX_STAGES] = {false};
            for (size_t j = 0; j < d->n; j++) {
                const fchist_entry *e = &h->entries[d->first + j];
                if (e->stage < 0)
                    continue;
                if (!seen[e->stage]) {
                    seen[e->stage] = true;
                    b->st[e->stage].reached++;
                    if (d->status == FCH_WON)
                        b->st[e->stage].won++;
                }
                if (d->status == FCH_WON && e->entered < INFINITY)
                    b->days[e->stage][b->st[e->stage].nwon_days++] = whole_days(e->entered, d->closed);
            }
            if (d->status == FCH_WON)
                b->c2c[b->h.ncreate_to_close++] = whole_days(d->created, d->closed);
        }
        /* run-rate: created in the year before T, still open or closed before T */
        if (d->created < ts && d->created >= ts - 365 * DAY_S && (d->status == FCH_OPEN || closed)) {
            run_n++;
            if (d->status != FCH_OPEN) {
                run_closed++;
                if (d->status == FCH_WON) {
                    run_won++;
                    if (d->has_amount) {
                        double a = (double)d->amount;
                        run_won_amounts++;
                        run_sum += a;
                        run_sq += a * a;
                    }
                }
            }
        }
    }
    for (int s = 0; s < S; s++) {
        if (sort_days(b->days[s], b->st[s].nwon_days) != 0)
            goto oom;
        b->st[s].won_days = b->days[s];
    }
    if (sort_days(b->c2c, b->h.ncreate_to_close) != 0)
        goto oom;
    b->h.stages = b->st;
    b->h.prior_strength = 10;
    b->h.create_to_close_days = b->c2c;
    b->h.created_per_day = (double)run_n / 365;
    b->h.new_win_rate = run_closed ? (double)run_won / (double)run_closed : 0;
    b->h.avg_won_amount = run_won_amounts ? (money_t)llround(run_sum / (double)run_won_amounts) : 0;
    b->h.won_amount_sq_mean = run_won_amounts ? run_sq / (double)run_won_amounts : 0;
    return 0;
oom:
    fchist_history_free(b);
    return -1;
}

money_t fchist_won_between(const fchist *h, caldate_t start, caldate_t end)
{
    double s = start * DAY_S, e = end * DAY_S;
    money_t sum = 0;
    for (size_t i = 0; i < h->ndeals; i++) {
        const fchist_deal *d = &h->deals[i];
        if (d->deleted == INFINITY && d->status == FCH_WON && d->has_amount && d->closed >= s && d->closed < e)
            sum += d->amount;
    }
    return sum;
}

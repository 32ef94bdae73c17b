/* forecast.c - forecast methods, roll-ups, risk flags and the revenue distribution. */
#include "forecast.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *method_names[FM__COUNT] = {"weighted", "category", "historical", "learned"};
static const char *risk_names[RISK__COUNT] = {"past_close", "pushed", "no_activity", "stale_stage", "outsized"};

const char *forecast_method_name(forecast_method m)
{
    return (m >= FM_WEIGHTED && m < FM__COUNT) ? method_names[m] : "";
}

bool forecast_period_in_reach(const period *P, caldate_t today)
{
    return P->start <= caldate_add_months(today, FORECAST_MAX_MONTHS_AHEAD);
}

int forecast_method_parse(const char *s)
{
    for (int i = 0; s && i < FM__COUNT; i++)
        if (strcmp(s, method_names[i]) == 0)
            return i;
    return -1;
}

const char *forecast_risk_name(int bit) { return (bit >= 0 && bit < RISK__COUNT) ? risk_names[bit] : ""; }

/* ---- distribution ------------------------------------------------------- */

/* Up to this many deals the whole sum is convolved on the grid; above it
 * only the DIST_BIG_MAX largest variance contributors are, and the rest is
 * a normal (Lyapunov CLT: many small independent terms). Chosen by
 * measurement against a 10^6-trial Monte Carlo (docs/metrics.md). */
#define DIST_EXACT_MAX 2000
#define DIST_BIG_MAX 256

typedef struct {
    double a, p, var;
} dist_term;

static double phi_cdf(double z) { return 0.5 * erfc(-z / M_SQRT2); }
static double phi_pdf(double z) { return exp(-0.5 * z * z) / sqrt(2 * M_PI); }

/* Move the k largest-variance terms to the front (quickselect, O(n)). */
static void select_top(dist_term *t, size_t n, size_t k)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 1 && k > lo && k < hi) {
        double pivot = t[lo + (hi - lo) / 2].var;
        size_t i = lo, j = hi - 1;
        while (i <= j) {
            while (t[i].var > pivot)
                i++;
            while (t[j].var < pivot)
                j--;
            if (i <= j) {
                dist_term tmp = t[i];
                t[i] = t[j];
                t[j] = tmp;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j + 1;
        else if (k >= i)
            lo = i;
        else
            break;
    }
}

int forecast_dist_quantiles(const money_t *amounts, const double *p, size_t n, money_t base, double extra_mean,
                            double extra_var, const double *qs, int nq, money_t *out)
{
    dist_term *t = malloc((n ? n : 1) * sizeof *t);
    if (!t)
        return -1;
    double fixed = (double)base; /* deals with p = 1 are certain */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        double a = (double)amounts[i], pi = p[i];
        if (!(pi > 0) || a == 0)
            continue;
        if (pi >= 1) {
            fixed += a;
            continue;
        }
        t[m++] = (dist_term){a, pi, a * a * pi * (1 - pi)};
    }
    size_t nbig = m <= DIST_EXACT_MAX ? m : DIST_BIG_MAX;
    if (nbig < m)
        select_top(t, m, nbig);
    double mu = extra_mean, var = extra_var < 0 ? 0 : extra_var;
    for (size_t i = nbig; i < m; i++) {
        mu += t[i].a * t[i].p;
        var += t[i].var;
    }
    /* Grid over [0, sum of big amounts]; each term's mass is split between
     * the two nearest bins so the mean is kept exactly. Finer grid when
     * there are few terms: cost is nbig x grid. */
    size_t grid = nbig < m ? 2048 : nbig <= 256 ? 16384 : 4096; /* a normal part smooths a coarser grid */
    double total = 0;
    for (size_t i = 0; i < nbig; i++)
        total += t[i].a;
    double w = total > 0 ? total / (double)(grid - 1) : 1.0;
    /* When the amounts share a unit that fits the grid (e.g. equal deals),
     * use it: every outcome then falls exactly on a grid point. */
    long long g = 0;
    for (size_t i = 0; i < nbig; i++) {
        long long a = (long long)t[i].a, b = g;
        while (b) {
            long long r = a % b;
            a = b;
            b = r;
        }
        g = a;
    }
    if (g > 0 && total / (double)g < (double)(grid - 1))
        w = (double)g;
    double *mass = calloc(grid + 2, sizeof *mass);
    if (!mass) {
        free(t);
        return -1;
    }
    mass[0] = 1.0;
    size_t hi = 0;
    for (size_t i = 0; i < nbig; i++) {
        double pos = t[i].a / w;
        size_t j = (size_t)pos;
        double f = pos - (double)j;
        size_t nhi = hi + j + 1 < grid ? hi + j + 1 : grid - 1;
        for (size_t k = nhi + 1; k-- > 0;) {
            double moved = 0;
            if (k >= j)
                moved += (1 - f) * mass[k - j];
            if (k >= j + 1)
                moved += f * mass[k - j - 1];
            mass[k] = (1 - t[i].p) * mass[k] + t[i].p * moved;
        }
        hi = nhi;
    }
    double sd = sqrt(var);
    for (int qi = 0; qi < nq; qi++) {
        double q = qs[qi] < 0 ? 0 : qs[qi] > 1 ? 1 : qs[qi];
        double x;
        if (sd == 0) {
            /* discrete: the smallest outcome whose CDF reaches q (the
             * tolerance absorbs rounding in the accumulated masses) */
            double cdf = 0;
            size_t k = 0;
            for (; k < hi; k++) {
                cdf += mass[k];
                if (cdf >= q - 1e-12)
                    break;
            }
            x = (double)k * w + mu;
        } else {
            /* F(x) = sum_k mass[k] Phi((x - k w - mu) / sd): Newton steps
             * on F(x) = q, kept inside a bisection bracket */
            double lo = mu - 9 * sd, up = mu + 9 * sd + (double)hi * w;
            double gm = 0;
            for (size_t k = 0; k <= hi; k++)
                gm += mass[k] * (double)k * w;
            x = mu + gm;
            for (int it = 0; it < 100 && up - lo > 0.5; it++) {
                double F = 0, dens = 0;
                for (size_t k = 0; k <= hi; k++)
                    if (mass[k] > 1e-15) {
                        double z = (x - (double)k * w - mu) / sd;
                        F += mass[k] * phi_cdf(z);
                        dens += mass[k] * phi_pdf(z) / sd;
                    }
                if (F < q)
                    lo = x;
                else
                    up = x;
                if (fabs(F - q) < 1e-10)
                    break;
                double next = dens > 0 ? x + (q - F) / dens : 0.5 * (lo + up);
                x = (next > lo && next < up) ? next : 0.5 * (lo + up);
            }
        }
        /* every part is a sum of amounts won: never below nothing more won.
         * The normal part (parameter spread, the record's spread) can reach
         * below it; clamping gives the quantiles of max(0, X), a distribution
         * on the possible totals. */
        if (x < 0)
            x = 0;
        out[qi] = (money_t)llround(fixed + x);
    }
    free(mass);
    free(t);
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int forecast_mc_quantiles(const money_t *amounts, const double *p, size_t n, money_t base, long trials, uint64_t seed,
                          const double *qs, int nq, money_t *out)
{
    if (trials < 1)
        return -1;
    int64_t *sums = malloc((size_t)trials * sizeof *sums);
    uint64_t *thr = malloc((n ? n : 1) * sizeof *thr);
    if (!sums || !thr) {
        free(sums);
        free(thr);
        return -1;
    }
    for (size_t i = 0; i < n; i++) /* compare raw 64-bit draws with p scaled to 2^64 */
        thr[i] = p[i] >= 1 ? UINT64_MAX : p[i] <= 0 ? 0 : (uint64_t)(p[i] * 18446744073709551616.0);
    rng st;
    rng_seed(&st, seed);
    for (long tr = 0; tr < trials; tr++) {
        int64_t s = base;
        for (size_t i = 0; i < n; i++)
            if (rng_next(&st) < thr[i])
                s += amounts[i];
        sums[tr] = s;
    }
    qsort(sums, (size_t)trials, sizeof *sums, cmp_i64);
    for (int qi = 0; qi < nq; qi++) {
        double h = (double)(trials - 1) * qs[qi];
        long lo = (long)floor(h), up = lo + 1 < trials ? lo + 1 : lo;
        out[qi] = (money_t)llround((double)sums[lo] + (h - (double)lo) * (double)(sums[up] - sums[lo]));
    }
    free(sums);
    free(thr);
    return 0;
}

/* ---- methods ------------------------------------------------------------ */

/* Seed phase 4 category confidence: commit 90%+, best case 60-89%; we take
 * the bottom of each band (a forecast should not lean on optimism). */
static const double CATEGORY_P_COMMIT = 0.90;
static const double CATEGORY_P_BEST_CASE = 0.60;
#define NO_ACTIVITY_DAYS 14
#define OUTSIZED_MULTIPLE 3.0
#define STALE_STAGE_MULTIPLE 2.0

static size_t count_at_least(const int *v, size_t n, long x) /* v sorted: #{v >= x} */
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return n - lo;
}

/* P(close in [start, end) | entered the stage `age` days before as_of and
 * still open), from the won deals' stage-to-close durations. */
static double p_close_in_period(const forecast_stage_history *h, long age, const forecast_input *in, bool fallback)
{
    if (!h || h->nwon_days == 0)
        return fallback ? 1.0 : 0.0;
    size_t alive = count_at_least(h->won_days, h->nwon_days, age);
    if (alive == 0)
        return fallback ? 1.0 : 0.0;
    long entered = (long)in->as_of - age;
    long from = (long)in->period_start - entered, to = (long)in->period_end - entered;
    if (from < age)
        from = age;
    if (to <= from)
        return 0.0;
    size_t in_range = count_at_least(h->won_days, h->nwon_days, from) - count_at_least(h->won_days, h->nwon_days, to);
    return (double)in_range / (double)alive;
}

caldate_t forecast_estimate_close(const forecast_stage_history *h, caldate_t stage_entered, caldate_t as_of)
{
    if (stage_entered == FORECAST_NO_DATE || stage_entered > as_of)
        stage_entered = as_of;
    long age = (long)as_of - stage_entered;
    if (!h || h->nwon_days == 0)
        return FORECAST_NO_DATE;
    size_t alive = count_at_least(h->won_days, h->nwon_days, age);
    if (alive == 0)
        return FORECAST_NO_DATE;
    const int *v = h->won_days + (h->nwon_days - alive);
    long med = alive % 2 ? v[alive / 2] : ((long)v[alive / 2 - 1] + v[alive / 2]) / 2;
    return (caldate_t)(stage_entered + med);
}

static void run_rate(const forecast_history *h, const forecast_input *in, double *mean, double *var)
{
    *mean = *var = 0;
    if (!h || h->created_per_day <= 0 || h->ncreate_to_close == 0 || h->new_win_rate <= 0)
        return;
    double n = (double)h->ncreate_to_close;
    for (long day = (long)in->as_of + 1; day < in->period_end; day++) { /* deals created after as_of */
        long from = (long)in->period_start - day, to = (long)in->period_end - day;
        if (from < 0)
            from = 0;
        double frac = (double)(count_at_least(h->create_to_close_days, h->ncreate_to_close, from) -
                               count_at_least(h->create_to_close_days, h->ncreate_to_close, to)) /
                      n;
        double lambda = h->created_per_day * h->new_win_rate * frac; /* won deals from this day, Poisson */
        *mean += lambda * (double)h->avg_won_amount;
        *var += lambda * h->won_amount_sq_mean; /* compound Poisson: lambda E[X^2] */
    }
}

static int cmp_money(const void *a, const void *b)
{
    money_t x = *(const money_t *)a, y = *(const money_t *)b;
    return (x > y) - (x < y);
}

/* The index RISK_OUTSIZED compares a deal within: its owner, or its group
 * when the caller gives no owners. */
static int outsized_key(const forecast_deal *d, const forecast_input *in)
{
    return in->nowners > 0 ? d->owner : d->group;
}

/* Median deal amount per owner (open and won deals), for RISK_OUTSIZED. */
static int group_medians(const forecast_deal *deals, size_t n, const forecast_input *in, int ngroups, money_t *median,
                         long *count)
{
    size_t *off = calloc((size_t)ngroups + 1, sizeof *off);
    money_t *vals = malloc((n ? n : 1) * sizeof *vals);
    size_t *fill = calloc((size_t)ngroups + 1, sizeof *fill);
    if (!off || !vals || !fill) {
        free(off);
        free(vals);
        free(fill);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (outsized_key(&deals[i], in) >= 0)
            off[outsized_key(&deals[i], in) + 1]++;
    for (int g = 0; g < ngroups; g++)
        off[g + 1] += off[g];
    for (size_t i = 0; i < n; i++) {
        int g = outsized_key(&deals[i], in);
        if (g >= 0)
            vals[off[g] + fill[g]++] = deals[i].amount;
    }
    for (int g = 0; g < ngroups; g++) {
        size_t c = off[g + 1] - off[g];
        count[g] = (long)c;
        median[g] = 0;
        if (c) {
            qsort(vals + off[g], c, sizeof *vals, cmp_money);
            median[g] = c % 2 ? vals[off[g] + c / 2] : (vals[off[g] + c / 2 - 1] + vals[off[g] + c / 2]) / 2;
        }
    }
    free(off);
    free(vals);
    free(fill);
    return 0;
}

static void add_totals(forecast_totals *dst, const forecast_totals *src)
{
    dst->closed_won += src->closed_won;
    dst->commit += src->commit;
    dst->best_case += src->best_case;
    dst->pipeline += src->pipeline;
    dst->weighted += src->weighted;
    dst->expected += src->expected;
    dst->run_rate += src->run_rate;
    dst->at_risk += src->at_risk;
    dst->risk_adjusted += src->risk_adjusted;
    dst->open_deals += src->open_deals;
    dst->flagged_deals += src->flagged_deals;
}

static double clamp01(double x) { return x < 0 ? 0 : x > 1 ? 1 : x; }

/* The learned method counts a known amount at the realised/expected ratio
 * of past wins; an imputed one is already a realised average. */
static money_t learned_amount(const forecast_deal *d, const forecast_input *in)
{
    return d->amount_imputed ? d->amount : money_mul_rate(d->amount, in->learned->amount_ratio);
}

static int learned_state(const forecast_deal *d, const forecast_input *in, int *stage, int *state)
{
    if (d->excluded || d->won || !in->learned->open[d->stage])
        return -1;
    *stage = d->stage;
    *state = fclearn_state(in->learned, d->stage_entered, in->as_of);
    return 0;
}

unsigned long long forecast_learned_seed(caldate_t as_of) { return 0x5eed0000ULL + (unsigned long long)as_of; }

/* The learned method's window for this forecast: win probabilities per
 * state, the new-deal term and the parameter spread of the open amounts.
 * *out stays NULL when the period has already ended at as_of. */
static int learned_window(const forecast_deal *deals, size_t n, const forecast_input *in, fclearn_window **out)
{
    *out = NULL;
    caldate_t from = in->as_of, count_from = in->period_start > in->as_of ? in->period_start : in->as_of;
    if (count_from >= in->period_end)
        return 0;
    double(*amount)[FCLEARN_NSTATES] = calloc(FUNNEL_MAX_STAGES, sizeof *amount);
    fclearn_window *w = malloc(sizeof *w);
    if (!amount || !w) {
        free(amount);
        free(w);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int s, a;
        if (learned_state(&deals[i], in, &s, &a) == 0)
            amount[s][a] += (double)learned_amount(&deals[i], in);
    }
    int draws = in->learned_draws > 0 ? in->learned_draws : FORECAST_LEARNED_DRAWS;
    unsigned long long seed = forecast_learned_seed(from);
    const fclearn_kernel *k = in->learned_kernel;
    int rc = 0;
    if (k && k->from == from && k->count_from == count_from && k->to == in->period_end && k->seed == seed &&
        (k->ndraws == draws || (draws < 2 && k->ndraws < 2)))
        fclearn_kernel_apply(k, (const double(*)[FCLEARN_NSTATES])amount, w);
    else
        rc = fclearn_window_compute(in->learned, from, count_from, in->period_end,
                                    (const double(*)[FCLEARN_NSTATES])amount, draws, seed, w);
    free(amount);
    if (rc != 0) {
        free(w);
        return -1;
    }
    *out = w;
    return 0;
}

int forecast_compute(const forecast_deal *deals, size_t n, const forecast_input *in, forecast_result *out)
{
    const funnel_def *f = in->funnel;
    if (!f || in->nquantiles < 0 || in->nquantiles > FORECAST_MAX_QUANTILES || in->ngroups < 0 ||
        (in->method == FM_HISTORICAL && (!in->history || !in->history->stages)) ||
        (in->method == FM_LEARNED && !in->learned) || in->period_end <= in->period_start)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (deals[i].stage < 0 || deals[i].stage >= f->nstages || deals[i].group >= in->ngroups ||
            (in->nowners > 0 && deals[i].owner >= in->nowners))
            return -1;
    int ng = in->ngroups;
    int nmed = in->nowners > 0 ? in->nowners : ng; /* outsized: per owner */
    money_t *med = malloc(((size_t)nmed + 1) * sizeof *med);
    long *cnt = malloc(((size_t)nmed + 1) * sizeof *cnt);
    money_t *amt = malloc((n ? n : 1) * sizeof *amt);
    double *pp = malloc((n ? n : 1) * sizeof *pp);
    forecast_totals *own = calloc((size_t)ng + 1, sizeof *own);
    int rc = -1;
    fclearn_window *lw = NULL;
    if (!med || !cnt || !amt || !pp || !own || group_medians(deals, n, in, nmed, med, cnt) != 0)
        goto done;
    memset(&out->total, 0, sizeof out->total);
    const forecast_history *h = in->method == FM_HISTORICAL ? in->history : NULL;
    double k = h && h->prior_strength > 0 ? h->prior_strength : 10.0;
    if (in->method == FM_LEARNED && learned_window(deals, n, in, &lw) != 0)
        goto done;
    /* the learned method's record: a persistent bias of its own past forecasts */
    double factor = 1.0, record_rel_var = 0;
    if (lw && in->record_n > 0) {
        double mu = lw->created_mean, var = lw->created_var + lw->param_var;
        for (size_t i = 0; i < n; i++) {
            int ls, state;
            if (learned_state(&deals[i], in, &ls, &state) == 0) {
                double a = (double)learned_amount(&deals[i], in), pw = lw->p_won[ls][state];
                mu += a * pw;
                var += a * a * pw * (1 - pw);
            }
        }
        factor = fclearn_correction(in->record_pred, in->record_actual, in->record_n, mu > 0 ? var / (mu * mu) : 0,
                                    &record_rel_var);
        record_rel_var *= (factor * mu) * (factor * mu); /* in cents^2 */
    }
    out->record_factor = factor;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const forecast_deal *d = &deals[i];
        forecast_totals one = {0};
        unsigned flags = 0;
        double p = 0;
        if (d->excluded)
            goto record;
        if (d->won) {
            if (d->closed_at >= in->period_start && d->closed_at < in->period_end) {
                one.closed_won = one.commit = one.best_case = one.expected = one.risk_adjusted = d->amount;
            }
            goto record;
        }
        /* nothing open can still close in a period that has ended at as_of */
        bool in_period = in->as_of < in->period_end && d->expected_close < in->period_end &&
                         (d->expected_close >= in->period_start || in->as_of >= in->period_start);
        const funnel_stage *st = &f->stages[d->stage];
        if (st->won || st->lost)
            goto record; /* a closed stage on an open deal: nothing left to forecast */
        double p_stage = isnan(d->probability) ? st->probability : clamp01(d->probability);
        /* risk flags on every open deal; they count toward at-risk in the period */
        if (d->expected_close < in->as_of && !d->close_estimated)
            flags |= RISK_PAST_CLOSE;
        if (d->push_count >= 2)
            flags |= RISK_PUSHED;
        if (d->last_activity != FORECAST_NO_DATE && in->as_of - d->last_activity >= NO_ACTIVITY_DAYS)
            flags |= RISK_NO_ACTIVITY;
        if (d->stage_entered != FORECAST_NO_DATE && in->stage_median_days && !isnan(in->stage_median_days[d->stage]) &&
            in->stage_median_days[d->stage] > 0 &&
            (double)(in->as_of - d->stage_entered) > STALE_STAGE_MULTIPLE * in->stage_median_days[d->stage])
            flags |= RISK_STALE_STAGE;
        int who = outsized_key(d, in);
        if (who >= 0 && cnt[who] >= 5 && (double)d->amount > OUTSIZED_MULTIPLE * (double)med[who])
            flags |= RISK_OUTSIZED;
        switch (in->method) {
        case FM_WEIGHTED:
            p = in_period ? p_stage : 0;
            break;
        case FM_CATEGORY:
            p = !in_period                    ? 0
                : d->category == FC_COMMIT    ? CATEGORY_P_COMMIT
                : d->category == FC_CLOSED    ? CATEGORY_P_COMMIT
                : d->category == FC_BEST_CASE ? CATEGORY_P_BEST_CASE
                : d->category == FC_PIPELINE  ? p_stage
                                              : 0;
            break;
        case FM_HISTORICAL: {
            const forecast_stage_history *sh = &h->stages[d->stage];
            double p_win = ((double)sh->won + k * st->probability) / ((double)sh->reached + k);
            long age = d->stage_entered == FORECAST_NO_DATE ? 0 : (long)(in->as_of - d->stage_entered);
            if (age < 0)
                age = 0;
            p = p_win * p_close_in_period(sh, age, in, in_period);
            break;
        }
        case FM__COUNT:
            break;
        case FM_LEARNED: {
            int ls, state;
            p = lw && learned_state(d, in, &ls, &state) == 0 ? fmin(1.0, lw->p_won[ls][state] * factor) : 0;
            break;
        }
        }
        money_t amount = in->method == FM_LEARNED ? learned_amount(d, in) : d->amount;
        if (p > 0 && in->win_rate_delta != 0)
            p = clamp01(p + in->win_rate_delta);
        if (in_period) {
            if (d->category == FC_COMMIT || d->category == FC_CLOSED)
                one.commit = one.best_case = d->amount;
            else if (d->category == FC_BEST_CASE)
                one.best_case = d->amount;
            else if (d->category == FC_PIPELINE)
                one.pipeline = money_mul_rate(d->amount, p_stage);
        }
        if (p > 0 || in_period) {
            one.open_deals = 1;
            one.weighted = money_mul_rate(amount, p);
            one.expected = one.weighted;
            int nf = __builtin_popcount(flags);
            one.risk_adjusted = money_mul_rate(amount, p * (nf >= 2 ? 0.25 : nf == 1 ? 0.5 : 1.0));
            if (flags) {
                one.at_risk = d->amount;
                one.flagged_deals = 1;
            }
        }
        if (p > 0) {
            amt[m] = amount;
            pp[m++] = p;
        }
    record:
        if (out->flags)
            out->flags[i] = flags;
        if (out->deal_probability)
            out->deal_probability[i] = p;
        if (out->deal_value)
            out->deal_value[i] = one.closed_won + one.weighted;
        add_totals(&out->total, &one);
        if (d->group >= 0)
            add_totals(&own[d->group], &one);
    }
    double rr_mean = 0, rr_var = 0;
    if (h)
        run_rate(h, in, &rr_mean, &rr_var);
    if (lw) { /* new deals, the uncertainty of the learned rates, and of the record's correction */
        rr_mean = lw->created_mean * factor;
        rr_var = (lw->created_var + lw->param_var) * factor * factor + record_rel_var;
    }
    out->total.run_rate = (money_t)llround(rr_mean);
    out->total.expected += out->total.run_rate;
    out->total.risk_adjusted += out->total.run_rate;
    if (out->groups) {
        for (int g = 0; g < ng; g++)
            out->groups[g] = own[g];
        if (in->group_parent) /* roll each group up its hierarchy (bounded: no cycles) */
            for (int g = 0; g < ng; g++) {
                int a = in->group_parent[g];
                for (int depth = 0; a >= 0 && a < ng && depth < ng; depth++, a = in->group_parent[a])
                    add_totals(&out->groups[a], &own[g]);
            }
    }
    if (in->nquantiles > 0 && forecast_dist_quantiles(amt, pp, m, out->total.closed_won, rr_mean, rr_var, in->quantiles,
                                                      in->nquantiles, out->quantile_values) != 0)
        goto done;
    rc = 0;
done:
    free(lw);
    free(med);
    free(cnt);
    free(amt);
    free(pp);
    free(own);
    return rc;
}

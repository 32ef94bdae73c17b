/* fclearn.c - the learned forecast method: fitting the hazard model and
 * computing a window's win probabilities, new-deal term and parameter spread. */
#include "fclearn.h"
#include "rng.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const int bucket_start[FCLEARN_NBUCKETS] = {0, 7, 14, 30, 60, 90, 180, 365};

/* Prior strengths, in deal-days of exposure: a bucket's rate is pulled to its
 * stage's with the weight of K_BUCKET deal-days, a stage's to the funnel's
 * with K_STAGE. Chosen so that a bucket needs about a month of a handful of
 * deals before its own rate dominates. */
#define K_BUCKET 120.0
#define K_STAGE 240.0
/* The month-of-quarter factors are shrunk to 1 with this many pseudo-events. */
#define K_SEASON 10.0
/* Realised/expected amount ratio: shrunk to 1 with this many pseudo-deals. */
#define K_RATIO 20.0
/* The creation trend is damped to half its log-slope and held within
 * [1/2, 2] per 91 days: a trend read off two quarters is noisy. */
#define TREND_DAMP 0.5
#define TREND_MAX_LOG 0.6931471805599453
#define SEASON_ITERATIONS 6

int fclearn_state(const fclearn_model *m, caldate_t entered, caldate_t on)
{
    if (entered == INT32_MIN || entered > on)
        entered = on;
    long age = (long)(on - entered);
    /* every deal of a forecast is seen on the same day: its quarter's start
     * once per thread and day, not once per deal (a tenth of a warm
     * 100,000-deal forecast was calendar arithmetic) */
    static _Thread_local caldate_t memo_on = INT32_MIN, memo_start;
    static _Thread_local int memo_fsm;
    if (on != memo_on || m->fy_start_month != memo_fsm) {
        memo_start = period_containing(PERIOD_QUARTER, on, m->fy_start_month).start;
        memo_on = on;
        memo_fsm = m->fy_start_month;
    }
    bool slipped = memo_start > entered;
    return (int)(age > FCLEARN_MAX_AGE ? FCLEARN_MAX_AGE : age) + (slipped ? FCLEARN_MAX_AGE + 1 : 0);
}

/* How far a bias must stand out of its noise before it is corrected: the
 * weight is 0 until m^2 > RECORD_SHRINK x its variance s^2 / n (t^2 > 3,
 * about 8% of the time for a record that is only noise with n = 3). Plain
 * James-Stein (1) corrected noise on the synthetic CRM: MAPE 1.27x the true
 * model's against 1.16x without a record; see docs/forecast-quality.md. */
#define RECORD_SHRINK 3.0

double fclearn_correction(const double *pred, const double *actual, int n, double model_rel_var, double *rel_var)
{
    double r[16], m = 0, s2 = 0;
    int k = 0;
    *rel_var = 0;
    for (int i = 0; i < n && k < 16; i++)
        if (pred[i] > 0 && actual[i] > 0)
            r[k++] = log(actual[i] / pred[i]);
    if (k < 2)
        return 1.0;
    for (int i = 0; i < k; i++)
        m += r[i] / k;
    for (int i = 0; i < k; i++)
        s2 += (r[i] - m) * (r[i] - m) / (k - 1);
    double w = m != 0 ? 1 - RECORD_SHRINK * s2 / (k * m * m) : 0;
    if (w < 0)
        w = 0;
    *rel_var = w * w * s2 / k + (s2 > model_rel_var ? s2 - model_rel_var : 0);
    return exp(w * m);
}

int fclearn_bucket(long age)
{
    int b = 0;
    while (b + 1 < FCLEARN_NBUCKETS && age >= bucket_start[b + 1])
        b++;
    return b;
}

/* Recent history counts more: a deal-day or an event `age` days before
 * as_of weighs 0.5^(age / HALF_LIFE_DAYS). Funnels drift (pricing, reps,
 * markets, and a CRM's first months are unlike its later ones), and a
 * half-life of half a year keeps about two years in play (measured on the
 * synthetic CRM of tests/unit/test_fclearn.c: 91 days gave 1.22x the true
 * model's error, 182 days 1.16x). */
#define HALF_LIFE_DAYS 182.0

/* 0, 1 or 2: the month of its fiscal quarter a day falls in. */
static int quarter_pos(caldate_t d, int fsm)
{
    period q = period_containing(PERIOD_QUARTER, d, fsm);
    int y0, m0, d0, y1, m1, d1;
    caldate_to_ymd(q.start, &y0, &m0, &d0);
    caldate_to_ymd(d, &y1, &m1, &d1);
    int pos = (y1 * 12 + m1) - (y0 * 12 + m0);
    return pos < 0 ? 0 : pos >= FCLEARN_NPOS ? FCLEARN_NPOS - 1 : pos;
}

/* Per day of [lo, lo + n): month of quarter, the quarter's first day, the
 * end of the day's month or quarter (exclusive), and prefix sums of the
 * recency weights: the fit and the window ask these for every episode or
 * day, and computing them from the calendar each time was 40% of a 400k
 * episode fit (perf). */
typedef struct {
    caldate_t lo;
    long n;
    signed char *pos;
    caldate_t *qstart, *seg_end;
    double *cumw; /* n + 1 entries: sum of the weights of days [lo, lo + i) */
} calendar;

static void calendar_free(calendar *c)
{
    free(c->pos);
    free(c->qstart);
    free(c->seg_end);
    free(c->cumw);
}

static double day_weight_raw(caldate_t as_of, caldate_t d);

static int calendar_build(calendar *c, caldate_t lo, caldate_t hi, int fsm, caldate_t as_of)
{
    c->lo = lo;
    c->n = (long)(hi - lo) + 2;
    c->pos = malloc((size_t)c->n);
    c->qstart = malloc((size_t)c->n * sizeof *c->qstart);
    c->seg_end = malloc((size_t)c->n * sizeof *c->seg_end);
    c->cumw = malloc((size_t)(c->n + 1) * sizeof *c->cumw);
    if (!c->pos || !c->qstart || !c->seg_end || !c->cumw) {
        calendar_free(c);
        return -1;
    }
    period q = period_containing(PERIOD_QUARTER, lo, fsm);
    long i = 0;
    while (i < c->n) {
        int y, m, d;
        caldate_t day = lo + (caldate_t)i;
        if (day >= q.end)
            q = period_containing(PERIOD_QUARTER, day, fsm);
        caldate_to_ymd(day, &y, &m, &d);
        caldate_t month_end = caldate_add_months(caldate_from_ymd(y, m, 1), 1);
        if (month_end > q.end)
            month_end = q.end;
        int pos = quarter_pos(day, fsm);
        for (; i < c->n && lo + (caldate_t)i < month_end; i++) {
            c->pos[i] = (signed char)pos;
            c->qstart[i] = q.start;
            c->seg_end[i] = month_end;
        }
    }
    double grow = pow(2.0, 1.0 / HALF_LIFE_DAYS), w = day_weight_raw(as_of, lo); /* later days weigh more */
    c->cumw[0] = 0;
    for (long k = 0; k < c->n; k++, w *= grow)
        c->cumw[k + 1] = c->cumw[k] + w;
    return 0;
}

/* The weight of days [a, e), and of day d. */
static double span_weight(const calendar *c, caldate_t a, caldate_t e)
{
    return c->cumw[e - c->lo] - c->cumw[a - c->lo];
}
static double day_weight(const calendar *c, caldate_t d) { return span_weight(c, d, d + 1); }

typedef struct {
    double E[FUNNEL_MAX_STAGES][FCLEARN_NCELLS][FCLEARN_NPOS]; /* exposure, deal-days */
    double O[3][FUNNEL_MAX_STAGES][FCLEARN_NCELLS][FCLEARN_NPOS];
} tables;

static double day_weight_raw(caldate_t as_of, caldate_t d) { return pow(0.5, (double)(as_of - d) / HALF_LIFE_DAYS); }

/* Add the exposure of days [a, b) of an episode that began on `start`,
 * split by age bucket and month of quarter, weighted by recency. */
static void add_exposure(tables *t, int s, caldate_t start, caldate_t a, caldate_t b, const calendar *cal)
{
    while (a < b) {
        long ix = (long)(a - cal->lo);
        int pos = cal->pos[ix];
        caldate_t month_end = cal->seg_end[ix]; /* the end of this month (or the quarter) */
        long age = (long)(a - start);
        int bk = fclearn_bucket(age);
        caldate_t bucket_end = bk + 1 < FCLEARN_NBUCKETS ? start + bucket_start[bk + 1] : b;
        int cell = bk + (cal->qstart[ix] > start ? FCLEARN_NBUCKETS : 0);
        caldate_t e = b;
        if (month_end < e)
            e = month_end;
        if (bucket_end < e)
            e = bucket_end;
        if (e <= a)
            e = a + 1;
        t->E[s][cell][pos] += span_weight(cal, a, e);
        a = e;
    }
}

static double clampd(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

int fclearn_fit(const fclearn_input *in, fclearn_model *m)
{
    memset(m, 0, sizeof *m);
    const funnel_def *f = in->funnel;
    if (!f || f->nstages <= 0 || f->nstages > FUNNEL_MAX_STAGES)
        return -1;
    tables *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    int S = f->nstages;
    m->nstages = S;
    m->fy_start_month = in->fy_start_month;
    for (int s = 0; s < S; s++)
        m->open[s] = !f->stages[s].won && !f->stages[s].lost;
    double moves[FUNNEL_MAX_STAGES][FUNNEL_MAX_STAGES] = {{0}};
    /* Left truncation: the history is observed from its first recorded close
     * on (a CRM export or a new CRM holds the closes after some day only);
     * time open before it is not counted as time in which nothing happened. */
    caldate_t t0 = in->as_of;
    for (size_t i = 0; i < in->nepisodes; i++) {
        const fclearn_episode *e = &in->episodes[i];
        if ((e->outcome == FCL_WON || e->outcome == FCL_LOST) && e->end < t0)
            t0 = e->end;
    }
    m->observed_from = t0;
    calendar cal;
    if (calendar_build(&cal, t0, in->as_of, in->fy_start_month, in->as_of) != 0) {
        free(t);
        return -1;
    }
    for (size_t i = 0; i < in->nepisodes; i++) {
        const fclearn_episode *e = &in->episodes[i];
        if (e->stage < 0 || e->stage >= S || !m->open[e->stage] || e->end < e->start)
            continue;
        caldate_t end = e->end > in->as_of ? in->as_of : e->end;
        bool event = e->outcome != FCL_CENSORED && e->end <= in->as_of;
        if (event && e->outcome == FCL_MOVED && (e->to_stage < 0 || e->to_stage >= S || !m->open[e->to_stage]))
            continue;
        /* an event's own day is exposed; a censored episode ends before as_of */
        caldate_t x1 = event ? end + 1 : end;
        if (x1 <= t0 && !(event && end >= t0))
            continue;
        add_exposure(t, e->stage, e->start, e->start > t0 ? e->start : t0, x1, &cal);
        m->episodes++;
        if (!event)
            continue;
        int type = e->outcome == FCL_WON ? 0 : e->outcome == FCL_LOST ? 1 : 2;
        long ix = (long)(end - t0);
        bool slipped = cal.qstart[ix] > e->start;
        int cell = fclearn_bucket((long)(end - e->start)) + (slipped ? FCLEARN_NBUCKETS : 0);
        t->O[type][e->stage][cell][cal.pos[ix]] += day_weight(&cal, end);
        m->events[type]++;
        if (type == 2)
            moves[e->stage][e->to_stage] += day_weight(&cal, end);
    }
    /* collapse to (stage, bucket) and position totals */
    double Osb[3][FUNNEL_MAX_STAGES][FCLEARN_NCELLS] = {{{0}}};
    double Etot = 0, Otot[3] = {0};
    for (int s = 0; s < S; s++)
        for (int b = 0; b < FCLEARN_NCELLS; b++)
            for (int p = 0; p < FCLEARN_NPOS; p++) {
                Etot += t->E[s][b][p];
                for (int k = 0; k < 3; k++) {
                    Osb[k][s][b] += t->O[k][s][b][p];
                    Otot[k] += t->O[k][s][b][p];
                }
            }
    m->exposure_days = Etot;
    /* seasonal factors and base rates by alternating (a Poisson model with
     * two factors): base = O / sum_p E f_p, f_p = O_p / sum_sb E base */
    double base[3][FUNNEL_MAX_STAGES][FCLEARN_NCELLS];
    for (int k = 0; k < 2; k++)
        for (int p = 0; p < FCLEARN_NPOS; p++)
            m->season[k][p] = 1.0;
    for (int k = 0; k < 3; k++) {
        double global = Etot > 0 ? Otot[k] / Etot : 0;
        for (int iter = 0; iter < (k < 2 ? SEASON_ITERATIONS : 1); iter++) {
            for (int s = 0; s < S; s++) {
                double Es = 0, Os = 0, Ef[FCLEARN_NCELLS];
                for (int b = 0; b < FCLEARN_NCELLS; b++) {
                    Ef[b] = 0;
                    for (int p = 0; p < FCLEARN_NPOS; p++)
                        Ef[b] += t->E[s][b][p] * (k < 2 ? m->season[k][p] : 1.0);
                    Es += Ef[b];
                    Os += Osb[k][s][b];
                }
                double stage_rate = (Os + K_STAGE * global) / (Es + K_STAGE);
                for (int b = 0; b < FCLEARN_NCELLS; b++) {
                    m->shape[k][s][b] = Osb[k][s][b] + K_BUCKET * stage_rate;
                    m->rate[k][s][b] = Ef[b] + K_BUCKET;
                    base[k][s][b] = m->shape[k][s][b] / m->rate[k][s][b];
                }
            }
            if (k >= 2)
                break;
            for (int p = 0; p < FCLEARN_NPOS; p++) {
                double expct = 0, obs = 0;
                for (int s = 0; s < S; s++)
                    for (int b = 0; b < FCLEARN_NCELLS; b++) {
                        expct += t->E[s][b][p] * base[k][s][b];
                        obs += t->O[k][s][b][p];
                    }
                m->season[k][p] = expct > 0 ? (obs + K_SEASON) / (expct + K_SEASON) : 1.0;
            }
        }
    }
    /* moves: only to destinations seen; a stage never seen moving does not move */
    for (int s = 0; s < S; s++) {
        double tot = 0;
        for (int d = 0; d < S; d++)
            tot += moves[s][d];
        for (int d = 0; d < S; d++)
            m->move_to[s][d] = tot > 0 ? moves[s][d] / tot : 0;
        if (tot == 0)
            for (int b = 0; b < FCLEARN_NCELLS; b++)
                m->shape[2][s][b] = 0;
    }
    /* new deals */
    long entries = 0;
    for (int s = 0; s < S; s++)
        entries += m->open[s] ? in->entry_stage[s] : 0;
    for (int s = 0; s < S; s++)
        m->entry[s] = entries > 0 && m->open[s] ? (double)in->entry_stage[s] / (double)entries : 0;
    m->create_per_day = (double)in->created_recent / 91.0;
    /* the rate's Gamma shape: its Poisson posterior (count + 1), or less when
     * the monthly creation counts vary more than a Poisson would (the
     * between-month variance beyond the mean: shape = 1 / cv^2) */
    m->create_shape = (double)in->created_recent + 1.0;
    if (in->nmonths >= 3) {
        double mean = 0, var = 0;
        for (int i = 0; i < in->nmonths; i++)
            mean += (double)in->created_month[i] / in->nmonths;
        for (int i = 0; i < in->nmonths; i++)
            var += ((double)in->created_month[i] - mean) * ((double)in->created_month[i] - mean) / (in->nmonths - 1);
        if (mean > 0 && var > mean && (mean * mean) / (var - mean) < m->create_shape)
            m->create_shape = fmax(1.0, (mean * mean) / (var - mean));
    }
    double lt = in->created_prior > 0 && in->created_recent > 0
                    ? log((double)in->created_recent / (double)in->created_prior) * TREND_DAMP
                    : 0;
    m->create_trend = exp(clampd(lt, -TREND_MAX_LOG, TREND_MAX_LOG) / 91.0);
    m->won_mean = in->won_amount_mean;
    m->won_sq_mean = in->won_amount_sq_mean;
    m->amount_ratio = in->nratio > 0 ? (in->ratio_final + K_RATIO * (in->ratio_expected / (double)in->nratio)) /
                                           (in->ratio_expected + K_RATIO * (in->ratio_expected / (double)in->nratio))
                                     : 1.0;
    m->nratio = in->nratio;
    m->closed_deals = in->closed_deals;
    m->won_deals = in->won_deals;
    calendar_free(&cal);
    m->usable = in->closed_deals >= FCLEARN_MIN_CLOSED && in->won_deals >= FCLEARN_MIN_WON && Etot > 0;
    free(t);
    return 0;
}

/* ---- the window ---------------------------------------------------------- */

typedef struct {
    double r[3][FUNNEL_MAX_STAGES][FCLEARN_NCELLS];
    double create;
} params;

/* One pass of the backward recursion with rates `pr`: fills p (if not NULL)
 * with P(won in [count_from, to) | state at `from`) and returns the new-deal
 * expected count in *created. */
static int window_pass(const fclearn_model *m, const params *pr, const calendar *cal, caldate_t from,
                       caldate_t count_from, caldate_t to, double (*p)[FCLEARN_NSTATES], double *created)
{
    const int S = m->nstages, A = FCLEARN_NSTATES, AGES = FCLEARN_MAX_AGE + 1;
    double *cur = calloc((size_t)S * A, sizeof *cur), *nxt = calloc((size_t)S * A, sizeof *nxt);
    if (!cur || !nxt) {
        free(cur);
        free(nxt);
        return -1;
    }
    double pw[FUNNEL_MAX_STAGES][FCLEARN_NCELLS], pl[FUNNEL_MAX_STAGES][FCLEARN_NCELLS],
        pm[FUNNEL_MAX_STAGES][FCLEARN_NCELLS];
    int last_pos = -1;
    double new_won = 0;
    int cell_of[FCLEARN_NSTATES], next_of[FCLEARN_NSTATES], slip_of[FCLEARN_NSTATES];
    for (int a = 0; a < A; a++) {
        int age = a % AGES, slip = a / AGES;
        cell_of[a] = fclearn_bucket(age) + slip * FCLEARN_NBUCKETS;
        next_of[a] = (age + 1 < AGES ? age + 1 : age) + slip * AGES;
        slip_of[a] = (age + 1 < AGES ? age + 1 : age) + AGES; /* the next day begins a quarter */
    }
    for (caldate_t d = to - 1; d >= from; d--) {
        int pos = cal->pos[d - cal->lo];
        if (pos != last_pos) { /* daily event probabilities, competing risks */
            for (int s = 0; s < S; s++)
                for (int b = 0; b < FCLEARN_NCELLS; b++) {
                    double lw = pr->r[0][s][b] * m->season[0][pos], ll = pr->r[1][s][b] * m->season[1][pos],
                           lm = pr->r[2][s][b], L = lw + ll + lm;
                    double pe = L > 0 ? 1 - exp(-L) : 0;
                    pw[s][b] = L > 0 ? pe * lw / L : 0;
                    pl[s][b] = L > 0 ? pe * ll / L : 0;
                    pm[s][b] = L > 0 ? pe * lm / L : 0;
                }
            last_pos = pos;
        }
        bool counts = d >= count_from;
        /* a quarter beginning tomorrow makes every deal open tonight a slipped one */
        const int *next = cal->qstart[d + 1 - cal->lo] == d + 1 ? slip_of : next_of;
        double moved[FUNNEL_MAX_STAGES];
        for (int s = 0; s < S; s++) {
            moved[s] = 0;
            for (int t = 0; t < S; t++)
                if (m->move_to[s][t] > 0)
                    moved[s] += m->move_to[s][t] * nxt[t * A];
        }
        for (int s = 0; s < S; s++) {
            if (!m->open[s])
                continue;
            for (int a = 0; a < A; a++) {
                int b = cell_of[a];
                double stay = 1 - pw[s][b] - pl[s][b] - pm[s][b];
                cur[s * A + a] = (counts ? pw[s][b] : 0) + pm[s][b] * moved[s] + stay * nxt[s * A + next[a]];
            }
        }
        /* deals created on day d enter their first stage at age 0 */
        double v0 = 0;
        for (int s = 0; s < S; s++)
            v0 += m->entry[s] * cur[s * A];
        new_won += pr->create * pow(m->create_trend, (double)(d - from) + 45.5) * v0;
        double *tmp = cur;
        cur = nxt;
        nxt = tmp;
    }
    if (p)
        for (int s = 0; s < S; s++)
            for (int a = 0; a < A; a++)
                p[s][a] = m->open[s] ? nxt[s * A + a] : 0;
    *created = new_won;
    free(cur);
    free(nxt);
    return 0;
}

int fclearn_kernel_compute(const fclearn_model *m, caldate_t from, caldate_t count_from, caldate_t to, int ndraws,
                           unsigned long long seed, fclearn_kernel *k)
{
    memset(k, 0, sizeof *k);
    if (!m || to <= from || count_from >= to || m->nstages <= 0)
        return -1;
    if (count_from < from)
        count_from = from;
    k->from = from;
    k->count_from = count_from;
    k->to = to;
    k->seed = seed;
    params pr;
    for (int t = 0; t < 3; t++)
        for (int s = 0; s < m->nstages; s++)
            for (int b = 0; b < FCLEARN_NCELLS; b++)
                pr.r[t][s][b] = m->rate[t][s][b] > 0 ? m->shape[t][s][b] / m->rate[t][s][b] : 0;
    pr.create = m->create_per_day;
    double created = 0;
    calendar cal;
    if (calendar_build(&cal, from, to, m->fy_start_month, to) != 0)
        return -1;
    if (window_pass(m, &pr, &cal, from, count_from, to, k->mean.p_won, &created) != 0)
        goto fail;
    k->mean.created_count = created;
    k->mean.created_mean = created * m->won_mean;
    k->mean.created_var = created * m->won_sq_mean;
    k->won_mean = m->won_mean;
    k->nstages = m->nstages;
    if (ndraws < 2) {
        calendar_free(&cal);
        return 0;
    }
    /* posterior draws of the rates: each draw's probabilities and new-deal count */
    k->draw_p = malloc((size_t)ndraws * sizeof *k->draw_p);
    k->draw_created = malloc((size_t)ndraws * sizeof *k->draw_created);
    if (!k->draw_p || !k->draw_created)
        goto fail;
    rng r;
    rng_seed(&r, seed);
    for (int dr = 0; dr < ndraws; dr++) {
        params q;
        for (int t = 0; t < 3; t++)
            for (int s = 0; s < m->nstages; s++)
                for (int b = 0; b < FCLEARN_NCELLS; b++)
                    q.r[t][s][b] = m->rate[t][s][b] > 0 ? rng_gamma(&r, m->shape[t][s][b]) / m->rate[t][s][b] : 0;
        q.create = m->create_per_day * rng_gamma(&r, m->create_shape) / m->create_shape;
        if (window_pass(m, &q, &cal, from, count_from, to, k->draw_p[dr], &k->draw_created[dr]) != 0)
            goto fail;
        k->ndraws = dr + 1;
    }
    calendar_free(&cal);
    return 0;
fail:
    calendar_free(&cal);
    fclearn_kernel_free(k);
    return -1;
}

void fclearn_kernel_free(fclearn_kernel *k)
{
    free(k->draw_p);
    free(k->draw_created);
    memset(k, 0, sizeof *k);
}

void fclearn_kernel_apply(const fclearn_kernel *k, const double (*state_amount)[FCLEARN_NSTATES], fclearn_window *out)
{
    *out = k->mean;
    out->param_var = 0;
    if (k->ndraws < 2)
        return;
    double sum = 0, sumsq = 0;
    for (int dr = 0; dr < k->ndraws; dr++) {
        double mu = k->draw_created[dr] * k->won_mean;
        for (int s = 0; state_amount && s < k->nstages; s++)
            for (int a = 0; a < FCLEARN_NSTATES; a++)
                if (state_amount[s][a] != 0)
                    mu += state_amount[s][a] * k->draw_p[dr][s][a];
        sum += mu;
        sumsq += mu * mu;
    }
    double mean = sum / k->ndraws;
    out->param_var = fmax(0, (sumsq - k->ndraws * mean * mean) / (k->ndraws - 1));
}

size_t fclearn_kernel_bytes(const fclearn_kernel *k)
{
    return sizeof *k + (size_t)k->ndraws * (sizeof *k->draw_p + sizeof *k->draw_created);
}

int fclearn_window_compute(const fclearn_model *m, caldate_t from, caldate_t count_from, caldate_t to,
                           const double (*state_amount)[FCLEARN_NSTATES], int ndraws, unsigned long long seed,
                           fclearn_window *out)
{
    memset(out, 0, sizeof *out);
    fclearn_kernel *k = malloc(sizeof *k);
    if (!k)
        return -1;
    int rc = fclearn_kernel_compute(m, from, count_from, to, ndraws, seed, k);
    if (rc == 0) {
        fclearn_kernel_apply(k, state_amount, out);
        fclearn_kernel_free(k);
    }
    free(k);
    return rc;
}

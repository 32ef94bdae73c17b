/* funnel.c - the seed funnel, validation, diagnosis, cohorts, time in stage. */
#include "funnel.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *category_names[FC__COUNT] = {"pipeline", "best_case", "commit", "upside", "omitted", "closed"};

const char *forecast_category_name(forecast_category c)
{
    return (c >= 0 && c < FC__COUNT) ? category_names[c] : "pipeline";
}

int forecast_category_parse(const char *s)
{
    for (int i = 0; s && i < FC__COUNT; i++)
        if (strcmp(s, category_names[i]) == 0)
            return i;
    return -1;
}

/* Seed 001 phase 3. Win probabilities of the pre-opportunity stages chain the
 * benchmark medians downstream (e.g. SQL: 65% to Opp x 22.5% Opp to Won =
 * 15%); Proposal/Negotiation at 60% is our choice (docs/metrics.md). */
void funnel_default(funnel_def *f)
{
    static const struct {
        const char *key, *name;
        double p;
        forecast_category cat;
        bool won, lost;
        double sla_hours;
    } stages[] = {
        {"visitor", "Visitor", 0.0001, FC_OMITTED, false, false, 0},
        {"known", "Known", 0.004, FC_OMITTED, false, false, 0},
        {"mql", "MQL", 0.04, FC_OMITTED, false, false, 5.0 / 60.0}, /* routed to an SDR within 5 minutes */
        {"sal", "SAL", 0.07, FC_OMITTED, false, false, 4},          /* accept or reject within 4 business hours */
        {"sql", "SQL", 0.15, FC_UPSIDE, false, false, 48},          /* AE meets within 48 hours of handoff */
        {"opportunity", "Opportunity Created", 0.225, FC_PIPELINE, false, false, 0},
        {"proposal", "Proposal/Negotiation", 0.60, FC_BEST_CASE, false, false, 0},
        {"closed_won", "Closed Won", 1.0, FC_CLOSED, true, false, 48}, /* CS kickoff within 48 hours */
        {"closed_lost", "Closed Lost", 0.0, FC_OMITTED, false, true, 0},
    };
    static const struct {
        const char *from, *to;
        double b25, mlo, mhi, t25, wc;
        bool summary;
    } bench[] = {
        {"visitor", "known", 0.01, 0.02, 0.03, 0.04, 0.08, false},
        {"known", "mql", 0.05, 0.08, 0.12, 0.15, 0.25, false},
        {"mql", "sal", 0.40, 0.50, 0.60, 0.70, 0.85, false},
        {"sal", "sql", 0.30, 0.40, 0.50, 0.55, 0.70, false},
        {"sql", "opportunity", 0.50, 0.60, 0.70, 0.75, 0.90, false},
        {"opportunity", "closed_won", 0.15, 0.20, 0.25, 0.30, 0.45, false},
        {"mql", "closed_won", 0.02, 0.03, 0.05, 0.06, 0.12, true},
    };
    memset(f, 0, sizeof *f);
    f->nstages = (int)(sizeof stages / sizeof stages[0]);
    for (int i = 0; i < f->nstages; i++) {
        funnel_stage *s = &f->stages[i];
        snprintf(s->key, sizeof s->key, "%s", stages[i].key);
        snprintf(s->name, sizeof s->name, "%s", stages[i].name);
        s->probability = stages[i].p;
        s->category = stages[i].cat;
        s->won = stages[i].won;
        s->lost = stages[i].lost;
        s->sla_hours = stages[i].sla_hours;
    }
    f->nbench = (int)(sizeof bench / sizeof bench[0]);
    for (int i = 0; i < f->nbench; i++)
        f->bench[i] = (funnel_benchmark){funnel_stage_index(f, bench[i].from),
                                         funnel_stage_index(f, bench[i].to),
                                         bench[i].b25,
                                         bench[i].mlo,
                                         bench[i].mhi,
                                         bench[i].t25,
                                         bench[i].wc,
                                         bench[i].summary};
}

int funnel_stage_index(const funnel_def *f, const char *key)
{
    for (int i = 0; i < f->nstages; i++)
        if (strcmp(f->stages[i].key, key) == 0)
            return i;
    return -1;
}

/* ---- validation --------------------------------------------------------- */

typedef struct {
    funnel_problem *out;
    int cap, n;
} problems;

static void problem(problems *p, const char *path, const char *msg)
{
    if (p->n < p->cap) {
        snprintf(p->out[p->n].path, sizeof p->out[0].path, "%s", path);
        snprintf(p->out[p->n].message, sizeof p->out[0].message, "%s", msg);
    }
    p->n++;
}

static bool key_ok(const char *k)
{
    if (!*k)
        return false;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_' || *k == '-'))
            return false;
    return true;
}

int funnel_validate(const funnel_def *f, funnel_problem *out, int cap)
{
    problems p = {out, cap, 0};
    char path[64];
    if (f->nstages < 2 || f->nstages > FUNNEL_MAX_STAGES) {
        problem(&p, "stages", "must have 2 to 24 stages");
        return p.n < cap ? p.n : cap;
    }
    int won = 0, lost = 0;
    double last_open_p = -1;
    for (int i = 0; i < f->nstages; i++) {
        const funnel_stage *s = &f->stages[i];
        snprintf(path, sizeof path, "stages[%d].key", i);
        if (!key_ok(s->key))
            problem(&p, path, "must be lower-case letters, digits, '_' or '-'");
        for (int j = 0; j < i; j++)
            if (strcmp(f->stages[j].key, s->key) == 0) {
                problem(&p, path, "duplicates another stage's key");
                break;
            }
        snprintf(path, sizeof path, "stages[%d].probability", i);
        if (!(s->probability >= 0.0 && s->probability <= 1.0)) {
            problem(&p, path, "must be between 0 and 1");
        } else if (!s->won && !s->lost) {
            if (s->probability < last_open_p)
                problem(&p, path, "must not be lower than an earlier open stage's");
            last_open_p = s->probability;
        }
        snprintf(path, sizeof path, "stages[%d]", i);
        if (s->won && s->lost)
            problem(&p, path, "cannot be both won and lost");
        won += s->won;
        lost += s->lost;
        snprintf(path, sizeof path, "stages[%d].probability", i);
        if (s->won && s->probability != 1.0)
            problem(&p, path, "the won stage's probability is 1");
        if (s->lost && s->probability != 0.0)
            problem(&p, path, "the lost stage's probability is 0");
    }
    if (won != 1)
        problem(&p, "stages", "must have exactly one won terminal stage");
    if (lost != 1)
        problem(&p, "stages", "must have exactly one lost terminal stage");
    for (int i = 0; i < f->nbench; i++) {
        const funnel_benchmark *b = &f->bench[i];
        snprintf(path, sizeof path, "benchmarks[%d]", i);
        if (b->from < 0 || b->from >= f->nstages || b->to < 0 || b->to >= f->nstages || b->from == b->to)
            problem(&p, path, "must name two different stages of this funnel");
        double t[] = {b->bottom25, b->median_low, b->median_high, b->top25, b->world_class};
        bool ordered = true;
        for (int k = 0; k < 5; k++)
            ordered = ordered && t[k] >= 0 && t[k] <= 1 && (k == 0 || t[k] >= t[k - 1]);
        if (!ordered)
            problem(&p, path, "thresholds must be in 0..1 and ordered bottom_25 <= median <= top_25 <= world_class");
    }
    return p.n < cap ? p.n : cap;
}

/* ---- diagnosis ---------------------------------------------------------- */

const char *funnel_tier_name(funnel_tier t)
{
    static const char *names[] = {"", "bottom_quartile", "below_median", "median", "top_quartile", "world_class"};
    return (t >= TIER_NONE && t <= TIER_WORLD_CLASS) ? names[t] : "";
}

funnel_tier funnel_tier_of(const funnel_benchmark *b, double rate)
{
    if (rate >= b->world_class)
        return TIER_WORLD_CLASS;
    if (rate >= b->top25)
        return TIER_TOP_QUARTILE;
    if (rate >= b->median_low)
        return TIER_MEDIAN;
    if (rate >= b->bottom25)
        return TIER_BELOW_MEDIAN;
    return TIER_BOTTOM_QUARTILE;
}

/* "28%", "2.5%": whole percents without decimals */
static const char *pct(double r, char *buf, size_t len)
{
    double v = r * 100.0;
    if (fabs(v - round(v)) < 0.05)
        snprintf(buf, len, "%.0f%%", v);
    else
        snprintf(buf, len, "%.1f%%", v);
    return buf;
}

static const char *pct_range(double lo, double hi, char *buf, size_t len)
{
    char a[16], b[16];
    pct(lo, a, sizeof a);
    pct(hi, b, sizeof b);
    a[strlen(a) - 1] = '\0'; /* "40-50%" */
    snprintf(buf, len, "%s-%s", a, b);
    return buf;
}

/* Shared by both entry points: from[i]/to[i] are the counts behind
 * benchmark i's rate (reached counts, or a cohort and its converts). */
static void diagnose_pairs(const funnel_def *f, const long long *from_n, const long long *to_n, funnel_diagnosis *out)
{
    memset(out, 0, sizeof *out);
    out->bottleneck = -1;
    double worst_gap = 0;
    for (int i = 0; i < f->nbench; i++) {
        const funnel_benchmark *b = &f->bench[i];
        funnel_transition *t = &out->transitions[out->ntransitions++];
        t->bench = i;
        t->from_count = from_n[i];
        t->to_count = to_n[i];
        if (t->from_count <= 0 || t->to_count < 0)
            continue;
        t->has_rate = true;
        t->rate = (double)t->to_count / (double)t->from_count;
        t->tier = funnel_tier_of(b, t->rate);
        if (b->summary)
            continue;
        double gap = b->median_low > 0 ? (b->median_low - t->rate) / b->median_low : -t->rate;
        if (out->bottleneck < 0 || t->tier < out->transitions[out->bottleneck].tier ||
            (t->tier == out->transitions[out->bottleneck].tier && gap > worst_gap)) {
            out->bottleneck = out->ntransitions - 1;
            worst_gap = gap;
        }
    }
    if (out->bottleneck < 0) {
        snprintf(out->explanation, sizeof out->explanation,
                 "Not enough counts to compute any benchmarked conversion rate");
        return;
    }
    const funnel_transition *t = &out->transitions[out->bottleneck];
    const funnel_benchmark *b = &f->bench[t->bench];
    const char *from = f->stages[b->from].name, *to = f->stages[b->to].name;
    char r[16], th[16], band[32];
    pct(t->rate, r, sizeof r);
    pct_range(b->median_low, b->median_high, band, sizeof band);
    switch (t->tier) {
    case TIER_BOTTOM_QUARTILE:
        snprintf(out->explanation, sizeof out->explanation,
                 "%s→%s %s is bottom quartile (<%s); fix before optimising anything else", from, to, r,
                 pct(b->bottom25, th, sizeof th));
        break;
    case TIER_BELOW_MEDIAN:
        snprintf(out->explanation, sizeof out->explanation,
                 "%s→%s %s is below the median (%s); it is the weakest transition, improve it first", from, to, r,
                 band);
        break;
    default:
        snprintf(out->explanation, sizeof out->explanation,
                 "No transition is below the median; the weakest is %s→%s at %s (%s, median %s)", from, to, r,
                 funnel_tier_name(t->tier), band);
        break;
    }
}

void funnel_diagnose(const funnel_def *f, const long long *counts, funnel_diagnosis *out)
{
    long long from[FUNNEL_MAX_BENCH], to[FUNNEL_MAX_BENCH];
    for (int i = 0; i < f->nbench; i++) {
        from[i] = counts[f->bench[i].from];
        to[i] = counts[f->bench[i].to];
    }
    diagnose_pairs(f, from, to, out);
}

void funnel_diagnose_cohorts(const funnel_def *f, const funnel_cohort *cohorts, funnel_diagnosis *out)
{
    long long from[FUNNEL_MAX_BENCH], to[FUNNEL_MAX_BENCH];
    for (int i = 0; i < f->nbench; i++) {
        from[i] = cohorts[i].entered;
        to[i] = cohorts[i].converted;
    }
    diagnose_pairs(f, from, to, out);
}

/* ---- history ------------------------------------------------------------ */

bool funnel_reaches(const funnel_def *f, int stage, int target)
{
    return stage == target || (stage > target && !f->stages[stage].lost);
}

int funnel_cohort_conversion(const funnel_def *f, const funnel_event *ev, size_t n, int ndeals, int from, int to,
                             caldate_t start, caldate_t end, funnel_cohort *out)
{
    memset(out, 0, sizeof *out);
    if (ndeals < 0)
        return -1;
    if (from < 0 || from >= f->nstages || to < 0 || to >= f->nstages)
        return 0; /* a stage the funnel does not have: nobody reached it */
    /* per deal: the first known day it reached `from`, and whether it ever reached `to` */
    caldate_t *first = malloc(((size_t)ndeals + 1) * sizeof *first);
    uint8_t *reached = calloc((size_t)ndeals + 1, 1);
    if (!first || !reached) {
        free(first);
        free(reached);
        return -1;
    }
    for (int d = 0; d < ndeals; d++)
        first[d] = INT32_MAX;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].deal < 0 || ev[i].deal >= ndeals || ev[i].stage < 0 || ev[i].stage >= f->nstages) {
            free(first);
            free(reached);
            return -1;
        }
        /* an undated entry (INT32_MIN) counts as reached, never as the day it happened */
        if (funnel_reaches(f, ev[i].stage, from) && ev[i].day != INT32_MIN && ev[i].day < first[ev[i].deal])
            first[ev[i].deal] = ev[i].day;
        if (funnel_reaches(f, ev[i].stage, to))
            reached[ev[i].deal] = 1;
    }
    for (int d = 0; d < ndeals; d++)
        if (first[d] >= start && first[d] < end) {
            out->entered++;
            out->converted += reached[d];
        }
    out->rate = out->entered ? (double)out->converted / (double)out->entered : 0.0;
    free(first);
    free(reached);
    return 0;
}

int funnel_counts_from_history(const funnel_event *ev, size_t n, int ndeals, int nstages, caldate_t start,
                               caldate_t end, long long *counts)
{
    if (nstages > 32 || ndeals < 0)
        return -1;
    uint32_t *seen = calloc((size_t)ndeals + 1, sizeof *seen);
    if (!seen)
        return -1;
    for (int s = 0; s < nstages; s++)
        counts[s] = 0;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].deal < 0 || ev[i].deal >= ndeals || ev[i].stage < 0 || ev[i].stage >= nstages) {
            free(seen);
            return -1;
        }
        if (ev[i].day < start || ev[i].day >= end)
            continue;
        uint32_t bit = 1u << ev[i].stage;
        if (!(seen[ev[i].deal] & bit)) {
            seen[ev[i].deal] |= bit;
            counts[ev[i].stage]++;
        }
    }
    free(seen);
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double funnel_quantile(double *v, size_t n, double p)
{
    if (n == 0)
        return 0.0;
    qsort(v, n, sizeof *v, cmp_double);
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (h - (double)lo) * (v[hi] - v[lo]);
}

typedef struct {
    funnel_event e;
    size_t order;
} indexed_event;

static int cmp_event(const void *a, const void *b)
{
    const indexed_event *x = a, *y = b;
    if (x->e.deal != y->e.deal)
        return (x->e.deal > y->e.deal) - (x->e.deal < y->e.deal);
    if (x->e.day != y->e.day)
        return (x->e.day > y->e.day) - (x->e.day < y->e.day);
    return (x->order > y->order) - (x->order < y->order); /* same day: input order */
}

int funnel_time_in_stage(const funnel_event *ev, size_t n, int nstages, funnel_stage_time *out)
{
    for (int s = 0; s < nstages; s++)
        out[s] = (funnel_stage_time){0};
    if (n == 0)
        return 0;
    indexed_event *sorted = malloc(n * sizeof *sorted);
    double *samples = malloc(n * sizeof *samples);
    int rc = -1;
    if (!sorted || !samples)
        goto done;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].stage < 0 || ev[i].stage >= nstages)
            goto done;
        sorted[i] = (indexed_event){ev[i], i};
    }
    qsort(sorted, n, sizeof *sorted, cmp_event);
    for (int s = 0; s < nstages; s++) {
        size_t k = 0;
        for (size_t i = 0; i + 1 < n; i++)
            if (sorted[i].e.stage == s && sorted[i + 1].e.deal == sorted[i].e.deal)
                samples[k++] = (double)(sorted[i + 1].e.day - sorted[i].e.day);
        out[s].samples = (long long)k;
        if (k) {
            out[s].median_days = funnel_quantile(samples, k, 0.5);
            out[s].p90_days = funnel_quantile(samples, k, 0.9);
        }
    }
    rc = 0;
done:
    free(sorted);
    free(samples);
    return rc;
}

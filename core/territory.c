/* territory.c - multi-criteria territory balancing and its reports. */
#include "territory.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PASSES 40
/* A move or swap must lower the objective by more than this to count: below
 * it the change is float noise and the search could cycle. */
#define EPS 1e-12
/* Swaps are tried between the most loaded territory and this many of the
 * least loaded ones: enough to find a fitting pair, cheap at 200 territories. */
#define SWAP_CANDIDATES 8
#define SWAP_ROUNDS 200
/* Pair evaluations allowed per swap phase (~15 ns each): keeps 100k accounts
 * well inside the 2 s budget while small maps get every round they need. */
#define SWAP_BUDGET 20000000L
/* Composite within this of the lower bound is good enough to stop swapping. */
#define SWAP_SLACK 0.002
#ifndef CRITERION_BETA
#define CRITERION_BETA 1.0
#endif

static int fail(territory_error *err, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(territory_error *err, const char *field, const char *fmt, ...)
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

const char *territory_criterion_name(int c)
{
    static const char *const names[] = {"accounts", "potential", "pipeline", "workload", "composite"};
    return c >= 0 && c <= TERR_COMPOSITE ? names[c] : "?";
}

void territory_options_default(territory_options *out)
{
    memset(out, 0, sizeof *out);
    /* seed 001 territory-design.yaml balancing_criteria */
    out->weights[TERR_ACCOUNTS] = 30;
    out->weights[TERR_POTENTIAL] = 30;
    out->weights[TERR_PIPELINE] = 20;
    out->weights[TERR_WORKLOAD] = 20;
}

static double criterion(const territory_account *a, int c)
{
    switch (c) {
    case TERR_ACCOUNTS:
        return 1.0;
    case TERR_POTENTIAL:
        return (double)a->potential;
    case TERR_PIPELINE:
        return (double)a->pipeline;
    default:
        return a->workload;
    }
}

static bool fits(const territory_account *a, const territory_def *t, size_t ti)
{
    if (a->pinned >= 0)
        return (size_t)a->pinned == ti;
    if (a->segment < 0 || t->segments == 0)
        return true;
    return (t->segments >> a->segment) & 1u;
}

static int check(const territory_account *acc, size_t n, const territory_def *terrs, size_t k,
                 const territory_options *opt, territory_error *err)
{
    char f[64];
    if (k == 0 || !terrs)
        return fail(err, "territories", "at least one territory");
    if (k > 1000000)
        return fail(err, "territories", "at most 1000000 territories");
    if (n > 0 && !acc)
        return fail(err, "accounts", "missing accounts");
    if (n > (size_t)INT32_MAX)
        return fail(err, "accounts", "too many accounts");
    for (size_t t = 0; t < k; t++)
        if (!(terrs[t].capacity > 0.0 && terrs[t].capacity <= 1e6)) {
            snprintf(f, sizeof f, "territories[%zu].capacity", t);
            return fail(err, f, "capacity must be in (0, 1e6]");
        }
    if (opt) {
        for (int c = 0; c < TERR_CRITERIA; c++)
            if (!(opt->weights[c] >= 0.0 && isfinite(opt->weights[c]))) {
                snprintf(f, sizeof f, "weights.%s", territory_criterion_name(c));
                return fail(err, f, "weights must be finite and >= 0");
            }
        if (!(opt->disruption_weight >= 0.0 && isfinite(opt->disruption_weight)))
            return fail(err, "disruption_weight", "must be finite and >= 0");
        if (opt->max_passes < 0)
            return fail(err, "max_passes", "must be >= 0");
    }
    for (size_t i = 0; i < n; i++) {
        const territory_account *a = &acc[i];
        if (a->potential < 0 || a->potential > MONEY_MAX_ABS / 1024) {
            snprintf(f, sizeof f, "accounts[%zu].potential", i);
            return fail(err, f, "must be >= 0 and not absurd");
        }
        if (a->pipeline < 0 || a->pipeline > MONEY_MAX_ABS / 1024) {
            snprintf(f, sizeof f, "accounts[%zu].pipeline", i);
            return fail(err, f, "must be >= 0 and not absurd");
        }
        if (!(a->workload >= 0.0 && a->workload < 1e15)) {
            snprintf(f, sizeof f, "accounts[%zu].workload", i);
            return fail(err, f, "must be finite and >= 0");
        }
        if (a->segment < -1 || a->segment > 63) {
            snprintf(f, sizeof f, "accounts[%zu].segment", i);
            return fail(err, f, "segment tag must be -1 or 0..63");
        }
        if (a->pinned < -1 || a->pinned >= (long)k) {
            snprintf(f, sizeof f, "accounts[%zu].pinned", i);
            return fail(err, f, "no such territory");
        }
        if (a->current < TERRITORY_REMOVED || a->current >= (long)k) {
            snprintf(f, sizeof f, "accounts[%zu].current", i);
            return fail(err, f, "no such territory");
        }
        if (a->pinned < 0) {
            size_t t = 0;
            while (t < k && !fits(a, &terrs[t], t))
                t++;
            if (t == k) {
                snprintf(f, sizeof f, "accounts[%zu].segment", i);
                return fail(err, f, "no territory takes segment %d", a->segment);
            }
        }
    }
    return 0;
}

/* Normalised weights (sum 1) with criteria that total zero dropped, and the
 * mean per unit capacity of each criterion. */
typedef struct {
    double w[TERR_CRITERIA];
    double mean[TERR_CRITERIA];
    double total_cap;
} norm;

static void normalise(const territory_account *acc, size_t n, const territory_def *terrs, size_t k,
                      const territory_options *opt, norm *nm)
{
    territory_options def;
    territory_options_default(&def);
    const double *w = opt ? opt->weights : def.weights;
    double wsum = 0.0;
    for (int c = 0; c < TERR_CRITERIA; c++)
        wsum += w[c];
    if (!(wsum > 0.0))
        w = def.weights;
    nm->total_cap = 0.0;
    for (size_t t = 0; t < k; t++)
        nm->total_cap += terrs[t].capacity;
    double sum[TERR_CRITERIA] = {0};
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < TERR_CRITERIA; c++)
            sum[c] += criterion(&acc[i], c);
    wsum = 0.0;
    for (int c = 0; c < TERR_CRITERIA; c++) {
        nm->mean[c] = sum[c] / nm->total_cap;
        nm->w[c] = sum[c] > 0.0 ? w[c] : 0.0;
        wsum += nm->w[c];
    }
    for (int c = 0; c < TERR_CRITERIA; c++)
        nm->w[c] = wsum > 0.0 ? nm->w[c] / wsum : 0.0;
}

/* ---- the search state -------------------------------------------------- */

typedef struct {
    size_t n, k;
    const territory_account *acc;
    const territory_def *terrs;
    norm nm;
    double lambda;
    double wb[TERR_CRITERIA]; /* CRITERION_BETA x w: per-criterion terms of the objective */
    double *x[TERR_CRITERIA]; /* account value / mean, per criterion */
    double *v;                /* account size: sum w_c x_c */
    double *q;                /* v^2 + sum w_c x_c^2: the quadratic term of a move */
    double *D[TERR_CRITERIA]; /* per territory: load - 1 */
    double *DK;               /* per territory: composite - 1 */
    double *inv;              /* 1 / capacity */
    int *asg;
} state;

/* Linear part of adding account a to territory t. */
static inline double gain_term(const state *s, size_t a, size_t t)
{
    double g = s->v[a] * s->DK[t];
    for (int c = 0; c < TERR_CRITERIA; c++)
        g += s->wb[c] * s->x[c][a] * s->D[c][t];
    return g;
}

static inline double dcost(const state *s, size_t a, size_t t)
{
    int cur = s->acc[a].current;
    return cur >= 0 && (size_t)cur != t ? s->lambda * s->v[a] : 0.0;
}

static void place(state *s, size_t a, size_t t, double sign)
{
    double f = sign * s->inv[t];
    for (int c = 0; c < TERR_CRITERIA; c++)
        s->D[c][t] += f * s->x[c][a];
    s->DK[t] += f * s->v[a];
}

typedef struct {
    double v;
    int i;
} sized;

/* Largest first; index order breaks ties so the result is deterministic. */
static int by_size_desc(const void *pa, const void *pb)
{
    const sized *a = pa, *b = pb;
    if (a->v != b->v)
        return a->v > b->v ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

/* One pass: every unpinned account moves to the territory that lowers
 * imbalance + disruption most, if any. Returns the number of moves. */
static long move_pass(state *s)
{
    long moves = 0;
    for (size_t a = 0; a < s->n; a++) {
        const territory_account *ac = &s->acc[a];
        if (ac->pinned >= 0 || s->v[a] == 0.0)
            continue;
        size_t from = (size_t)s->asg[a];
        double base = -2.0 * gain_term(s, a, from) + s->q[a] * s->inv[from] - dcost(s, a, from);
        double best = -EPS;
        size_t to = from;
        for (size_t t = 0; t < s->k; t++) {
            if (t == from || !fits(ac, &s->terrs[t], t))
                continue;
            /* removing from `from` then adding to t: 2 g(t) + q/cap_t - 2 g(from) + q/cap_from */
            double d = 2.0 * gain_term(s, a, t) + s->q[a] * s->inv[t] + dcost(s, a, t) + base;
            if (d < best) {
                best = d;
                to = t;
            }
        }
        if (to != from) {
            place(s, a, from, -1.0);
            place(s, a, to, 1.0);
            s->asg[a] = (int)to;
            moves++;
        }
    }
    return moves;
}

/* Change in one territory's part of the objective when its members change by
 * dx (per criterion) and dv (composite), both in unnormalised x units. */
static double delta_terr(const state *s, size_t t, const double *dx, double dv)
{
    double lin = dv * s->DK[t], quad = dv * dv;
    for (int c = 0; c < TERR_CRITERIA; c++) {
        lin += s->wb[c] * dx[c] * s->D[c][t];
        quad += s->wb[c] * dx[c] * dx[c];
    }
    return 2.0 * lin + quad * s->inv[t];
}

/* Swap rounds between the most loaded territory and the least loaded ones.
 * members/pos is a CSR of accounts by territory kept in step with swaps.
 * Returns the number of swaps made. */
static long swap_rounds(state *s, int *members, const size_t *start, int rounds)
{
    long swaps = 0, budget = SWAP_BUDGET;
    size_t cand[SWAP_CANDIDATES];
    for (int r = 0; r < rounds && budget > 0; r++) {
        size_t hi = 0;
        for (size_t t = 1; t < s->k; t++)
            if (s->DK[t] > s->DK[hi])
                hi = t;
        /* the SWAP_CANDIDATES least loaded territories that share a segment
         * with hi (others could never take its accounts), by insertion */
        uint64_t seg = s->terrs[hi].segments;
        size_t nc = 0;
        for (size_t t = 0; t < s->k; t++) {
            uint64_t ts = s->terrs[t].segments;
            if (t == hi || (seg != 0 && ts != 0 && (seg & ts) == 0))
                continue;
            size_t j = nc < SWAP_CANDIDATES ? nc++ : SWAP_CANDIDATES;
            while (j > 0 && s->DK[cand[j - 1]] > s->DK[t]) {
                if (j < SWAP_CANDIDATES)
                    cand[j] = cand[j - 1];
                j--;
            }
            if (j < SWAP_CANDIDATES)
                cand[j] = t;
        }
        double best = -EPS;
        size_t bi = 0, bj = 0, bt = 0;
        bool found = false;
        for (size_t i = start[hi]; i < start[hi + 1]; i++) {
            size_t a = (size_t)members[i];
            if (s->acc[a].pinned >= 0)
                continue;
            for (size_t ci = 0; ci < nc; ci++) {
                size_t t = cand[ci];
                if (!fits(&s->acc[a], &s->terrs[t], t))
                    continue;
                budget -= (long)(start[t + 1] - start[t]);
                for (size_t j = start[t]; j < start[t + 1]; j++) {
                    size_t b = (size_t)members[j];
                    if (s->acc[b].pinned >= 0 || !fits(&s->acc[b], &s->terrs[hi], hi))
                        continue;
                    double dx[TERR_CRITERIA], mdx[TERR_CRITERIA];
                    for (int c = 0; c < TERR_CRITERIA; c++) {
                        dx[c] = s->x[c][b] - s->x[c][a];
                        mdx[c] = -dx[c];
                    }
                    double dv = s->v[b] - s->v[a];
                    double d = delta_terr(s, hi, dx, dv) + delta_terr(s, t, mdx, -dv) + dcost(s, a, t) +
                               dcost(s, b, hi) - dcost(s, a, hi) - dcost(s, b, t);
                    if (d < best) {
                        best = d;
                        bi = i;
                        bj = j;
                        bt = t;
                        found = true;
                    }
                }
            }
        }
        if (!found)
            break;
        size_t a = (size_t)members[bi], b = (size_t)members[bj];
        place(s, a, hi, -1.0);
        place(s, b, bt, -1.0);
        place(s, a, bt, 1.0);
        place(s, b, hi, 1.0);
        s->asg[a] = (int)bt;
        s->asg[b] = (int)hi;
        members[bi] = (int)b;
        members[bj] = (int)a;
        swaps++;
    }
    return swaps;
}

/* ---- reports ----------------------------------------------------------- */

static void indices(const territory_totals *tt, size_t stride, size_t k, territory_balance_index *bi)
{
    for (int c = 0; c <= TERR_CRITERIA; c++) {
        double mx = -INFINITY, mn = INFINITY, sum = 0.0, sq = 0.0;
        for (size_t t = 0; t < k; t++) {
            const territory_totals *x = (const territory_totals *)((const char *)tt + t * stride);
            double l = c < TERR_CRITERIA ? x->load[c] : x->composite;
            mx = l > mx ? l : mx;
            mn = l < mn ? l : mn;
            sum += l;
        }
        double mean = sum / (double)k;
        for (size_t t = 0; t < k; t++) {
            const territory_totals *x = (const territory_totals *)((const char *)tt + t * stride);
            double l = c < TERR_CRITERIA ? x->load[c] : x->composite;
            sq += (l - mean) * (l - mean);
        }
        bi->max_over_mean[c] = mean > 0.0 ? mx / mean : 0.0;
        bi->max_over_min[c] = mn > 0.0 ? mx / mn : 0.0;
        bi->cv[c] = mean > 0.0 ? sqrt(sq / (double)k) / mean : 0.0;
    }
}

static void finish_totals(territory_totals *x, const norm *nm, double cap)
{
    double tot[TERR_CRITERIA] = {(double)x->accounts, (double)x->potential, (double)x->pipeline, x->workload};
    x->composite = 0.0;
    for (int c = 0; c < TERR_CRITERIA; c++) {
        x->load[c] = nm->mean[c] > 0.0 ? tot[c] / (nm->mean[c] * cap) : 0.0;
        x->composite += nm->w[c] * x->load[c];
    }
}

static void add_to(territory_totals *x, const territory_account *a)
{
    x->accounts++;
    x->potential += a->potential;
    x->pipeline += a->pipeline;
    x->workload += a->workload;
}

/* Lower bound on the largest composite (>= 1):
 *  - an account sits whole in one territory, at best the largest that takes it;
 *  - accounts pinned to a territory are there whatever else happens;
 *  - segment s's accounts must share the territories that take s (with what
 *    is pinned there), so that group's capacity-weighted mean bounds its max.
 * Returns 1 when memory for the per-territory sums is unavailable. */
static double lower_bound(const territory_account *acc, size_t n, const territory_def *terrs, size_t k, const norm *nm)
{
    double lb = 1.0, capmax_all = 0.0;
    double *pinned = calloc(k, sizeof *pinned);
    double seg_load[64] = {0};
    bool seg_any[64] = {false};
    if (!pinned)
        return lb;
    double capmax_seg[64] = {0};
    for (size_t t = 0; t < k; t++) {
        double c = terrs[t].capacity;
        capmax_all = c > capmax_all ? c : capmax_all;
        for (int sg = 0; sg < 64; sg++)
            if ((terrs[t].segments == 0 || ((terrs[t].segments >> sg) & 1u)) && c > capmax_seg[sg])
                capmax_seg[sg] = c;
    }
    for (size_t i = 0; i < n; i++) {
        const territory_account *a = &acc[i];
        double v = 0.0;
        for (int c = 0; c < TERR_CRITERIA; c++)
            if (nm->mean[c] > 0.0)
                v += nm->w[c] * criterion(a, c) / nm->mean[c];
        double cap = 0.0;
        if (a->pinned >= 0) {
            cap = terrs[a->pinned].capacity;
            pinned[a->pinned] += v;
        } else if (a->segment < 0) {
            cap = capmax_all;
        } else {
            seg_load[a->segment] += v;
            seg_any[a->segment] = true;
            cap = capmax_seg[a->segment];
        }
        if (cap > 0.0 && v / cap > lb)
            lb = v / cap;
    }
    for (size_t t = 0; t < k; t++)
        lb = pinned[t] / terrs[t].capacity > lb ? pinned[t] / terrs[t].capacity : lb;
    for (int sg = 0; sg < 64; sg++) {
        if (!seg_any[sg])
            continue;
        double cap = 0.0, load = seg_load[sg];
        for (size_t t = 0; t < k; t++)
            if (terrs[t].segments == 0 || ((terrs[t].segments >> sg) & 1u)) {
                cap += terrs[t].capacity;
                load += pinned[t];
            }
        if (cap > 0.0 && load / cap > lb)
            lb = load / cap;
    }
    free(pinned);
    return lb;
}

static void build_report(const territory_account *acc, size_t n, const territory_def *terrs, size_t k, const norm *nm,
                         const int *asg, territory_result *out)
{
    for (size_t t = 0; t < k; t++)
        memset(&out->rows[t], 0, sizeof out->rows[t]);
    out->moved = out->newly_assigned = 0;
    out->potential_moved = out->pipeline_moved = 0;
    for (size_t i = 0; i < n; i++) {
        const territory_account *a = &acc[i];
        territory_row *to = &out->rows[asg[i]];
        add_to(&to->proposed, a);
        if (a->current == -1) {
            out->newly_assigned++;
            continue;
        }
        territory_row *from = a->current >= 0 ? &out->rows[a->current] : NULL; /* NULL: removed territory */
        if (from)
            add_to(&from->current, a);
        if (a->current != asg[i]) {
            out->moved++;
            out->potential_moved += a->potential;
            out->pipeline_moved += a->pipeline;
            to->gained++;
            to->potential_gained += a->potential;
            to->pipeline_gained += a->pipeline;
            if (from) {
                from->lost++;
                from->potential_lost += a->potential;
                from->pipeline_lost += a->pipeline;
            }
        }
    }
    double tam_max = 0.0, tam_min = INFINITY, obj = 0.0;
    for (size_t t = 0; t < k; t++) {
        territory_row *r = &out->rows[t];
        finish_totals(&r->proposed, nm, terrs[t].capacity);
        finish_totals(&r->current, nm, terrs[t].capacity);
        double per_cap = (double)r->proposed.potential / terrs[t].capacity;
        tam_max = per_cap > tam_max ? per_cap : tam_max;
        tam_min = per_cap < tam_min ? per_cap : tam_min;
        double ft = (r->proposed.composite - 1.0) * (r->proposed.composite - 1.0);
        for (int c = 0; c < TERR_CRITERIA; c++)
            ft += CRITERION_BETA * nm->w[c] * (r->proposed.load[c] - 1.0) * (r->proposed.load[c] - 1.0);
        obj += ft * terrs[t].capacity;
    }
    out->objective = obj;
    out->tam_ratio = tam_min > 0.0 ? tam_max / tam_min : 0.0;
    out->tam_rule_ok = tam_max == 0.0 || (tam_min > 0.0 && tam_max <= 2.0 * tam_min);
    indices(&out->rows[0].proposed, sizeof(territory_row), k, &out->balance);
    indices(&out->rows[0].current, sizeof(territory_row), k, &out->balance_current);

    out->lower_bound = lower_bound(acc, n, terrs, k, nm);
}

int territory_report(const territory_account *acc, size_t n, const territory_def *terrs, size_t k,
                     const territory_options *opt, const int *assignment, territory_result *out, territory_error *err)
{
    if (!out || !out->rows || (n > 0 && !assignment))
        return fail(err, "", "missing output or assignment");
    if (check(acc, n, terrs, k, opt, err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (assignment[i] < 0 || (size_t)assignment[i] >= k) {
            char f[48];
            snprintf(f, sizeof f, "assignment[%zu]", i);
            return fail(err, f, "no such territory");
        }
    norm nm;
    normalise(acc, n, terrs, k, opt, &nm);
    build_report(acc, n, terrs, k, &nm, assignment, out);
    out->passes = 0;
    return 0;
}

int territory_balance(const territory_account *acc, size_t n, const territory_def *terrs, size_t k,
                      const territory_options *opt, territory_result *out, territory_error *err)
{
    if (!out || !out->rows || (n > 0 && !out->assignment))
        return fail(err, "", "missing output arrays");
    if (check(acc, n, terrs, k, opt, err) != 0)
        return -1;
    int rc = -1;
    state s;
    memset(&s, 0, sizeof s);
    sized *order = NULL;
    int *members = NULL;
    size_t *start = NULL;
    s.n = n;
    s.k = k;
    s.acc = acc;
    s.terrs = terrs;
    s.asg = out->assignment;
    s.lambda = opt ? opt->disruption_weight : 0.0;
    normalise(acc, n, terrs, k, opt, &s.nm);
    for (int c = 0; c < TERR_CRITERIA; c++)
        s.wb[c] = CRITERION_BETA * s.nm.w[c];

    size_t nn = n > 0 ? n : 1;
    bool ok = true;
    for (int c = 0; c < TERR_CRITERIA; c++) {
        s.x[c] = malloc(nn * sizeof(double));
        s.D[c] = calloc(k, sizeof(double));
        ok = ok && s.x[c] && s.D[c];
    }
    s.v = malloc(nn * sizeof(double));
    s.q = malloc(nn * sizeof(double));
    s.DK = calloc(k, sizeof(double));
    s.inv = malloc(k * sizeof(double));
    order = malloc(nn * sizeof *order);
    members = malloc(nn * sizeof(int));
    start = calloc(k + 1, sizeof(size_t));
    if (!ok || !s.v || !s.q || !s.DK || !s.inv || !order || !members || !start) {
        fail(err, "", "out of memory");
        goto done;
    }
    for (size_t t = 0; t < k; t++) {
        s.inv[t] = 1.0 / terrs[t].capacity;
        for (int c = 0; c < TERR_CRITERIA; c++)
            s.D[c][t] = -1.0; /* empty: load 0 */
        s.DK[t] = -1.0;
    }
    for (size_t i = 0; i < n; i++) {
        double v = 0.0, q = 0.0;
        for (int c = 0; c < TERR_CRITERIA; c++) {
            double xc = s.nm.mean[c] > 0.0 ? criterion(&acc[i], c) / s.nm.mean[c] : 0.0;
            s.x[c][i] = xc;
            v += s.nm.w[c] * xc;
            q += s.wb[c] * xc * xc;
        }
        s.v[i] = v;
        s.q[i] = v * v + q;
    }

    /* Start: pins; then, when disruption counts, today's territory where the
     * account may stay; everything else greedily, largest first. */
    size_t norder = 0;
    for (size_t i = 0; i < n; i++) {
        const territory_account *a = &acc[i];
        int t = -1;
        if (a->pinned >= 0)
            t = a->pinned;
        else if (s.lambda > 0.0 && a->current >= 0 && fits(a, &terrs[a->current], (size_t)a->current))
            t = a->current;
        if (t >= 0) {
            s.asg[i] = t;
            place(&s, i, (size_t)t, 1.0);
        } else {
            s.asg[i] = -1;
            order[norder++] = (sized){s.v[i], (int)i};
        }
    }
    qsort(order, norder, sizeof *order, by_size_desc);
    for (size_t oi = 0; oi < norder; oi++) {
        size_t a = (size_t)order[oi].i;
        double best = INFINITY;
        size_t to = 0;
        for (size_t t = 0; t < k; t++) {
            if (!fits(&acc[a], &terrs[t], t))
                continue;
            double d = 2.0 * gain_term(&s, a, t) + s.q[a] * s.inv[t] + dcost(&s, a, t);
            if (d < best) {
                best = d;
                to = t;
            }
        }
        s.asg[a] = (int)to;
        place(&s, a, to, 1.0);
    }

    double lb = lower_bound(acc, n, terrs, k, &s.nm);
    /* Local search: move passes to a local optimum, then swaps between the
     * most and least loaded territories while they help, then moves again. */
    int max_passes = opt && opt->max_passes > 0 ? opt->max_passes : DEFAULT_PASSES;
    int passes = 0;
    for (int round = 0; round < 3 && passes < max_passes; round++) {
        while (passes < max_passes) {
            passes++;
            if (move_pass(&s) == 0)
                break;
        }
        if (k < 2)
            break;
        /* Swaps only while the largest composite is clearly above what any
         * assignment could reach: at scale moves alone get there. */
        double maxk = -INFINITY;
        for (size_t t = 0; t < k; t++)
            maxk = s.DK[t] > maxk ? s.DK[t] : maxk;
        if (1.0 + maxk <= lb + SWAP_SLACK)
            break;
        /* CSR of members by territory for the swap rounds */
        memset(start, 0, (k + 1) * sizeof *start);
        for (size_t i = 0; i < n; i++)
            start[s.asg[i] + 1]++;
        for (size_t t = 0; t < k; t++)
            start[t + 1] += start[t];
        size_t *fillp = calloc(k, sizeof *fillp);
        if (!fillp) {
            fail(err, "", "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            size_t t = (size_t)s.asg[i];
            members[start[t] + fillp[t]++] = (int)i;
        }
        free(fillp);
        if (swap_rounds(&s, members, start, SWAP_ROUNDS) == 0)
            break;
    }
    out->passes = passes;
    build_report(acc, n, terrs, k, &s.nm, s.asg, out);
    rc = 0;
done:
    for (int c = 0; c < TERR_CRITERIA; c++) {
        free(s.x[c]);
        free(s.D[c]);
    }
    free(s.v);
    free(s.q);
    free(s.DK);
    free(s.inv);
    free(order);
    free(members);
    free(start);
    return rc;
}

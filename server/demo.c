/* demo.c - load the CRM sample data set into the demo workspace, then its
 * deterministic synthetic companion (subscriptions and ARR movements from the
 * won deals, S&M spend by channel and month, gross margin and net burn by
 * month, quarters and years, quotas per rep per quarter, leads with their
 * touches behind 30% of the deals), so the demo's board
 * metrics have their inputs. Everything is written through the writers the
 * API uses (import_run, revenue.h, crm_apply, lead_apply_many,
 * activity_insert_many); data/crm-sample/README.md says
 * which figures are synthetic and how they are drawn. */
#include "demo.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "crm.h"
#include "handlers.h"
#include "import.h"
#include "revenue.h"
#include "rng.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len + 65536 + 1 > cap) {
            cap = (cap + 65536) * 2;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        size_t n = fread(buf + *len, 1, cap - *len - 1, f);
        if (n == 0)
            break;
        *len += n;
    }
    fclose(f);
    buf[*len] = '\0';
    return buf;
}

/* ---- the synthetic companion -------------------------------------------- */

/* One seed for everything: each object draws from its own stream (the seed
 * xor a hash of its id), so the figures do not depend on load order. */
#define DEMO_SEED 0x2017C0FFEEULL

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void stream(rng *r, const char *what, const char *id)
{
    rng_seed(r, DEMO_SEED ^ fnv1a(what) ^ (fnv1a(id) * 31));
}

/* a normal draw clipped to +-2 standard deviations: no absurd month */
static double noise(rng *r, double sd)
{
    double z = rng_normal(r);
    return sd * (z > 2 ? 2 : z < -2 ? -2 : z);
}

/* whole dollars, in cents */
static long long dollars(double cents) { return (long long)llround(cents / 100.0) * 100; }

typedef struct {
    char id[48];
    char account[204];
    long long arr;
    caldate_t start, end, renewal; /* end: ARRMOVE-style, 0 = open */
} demo_sub;

typedef struct {
    demo_sub *v;
    size_t n, cap;
} sub_list;

static demo_sub *sub_add(sub_list *l)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 1024;
        demo_sub *nv = realloc(l->v, cap * sizeof *nv);
        if (!nv)
            return NULL;
        l->v = nv;
        l->cap = cap;
    }
    demo_sub *s = &l->v[l->n++];
    memset(s, 0, sizeof *s);
    return s;
}

/* Renewal outcomes per term end (README): churn 8%, contraction 10% (to 60-90%),
 * expansion 18% (to 110-150%), else renewed flat. Per 6-month term that is
 * about 15% of subscriptions lost a year, in line with mid-market B2B gross
 * revenue retention of 85-90% (the seed's GRR "good" band). */
#define P_CHURN 0.08
#define P_CONTRACT 0.10
#define P_EXPAND 0.18

/* Each won deal starts a subscription of its account on its close date, at
 * its value as ARR, for a 6- or 12-month term (even odds); each term that
 * ends before the sample's horizon renews, expands, contracts or churns. */
static int gen_subscriptions(PGresult *won, caldate_t horizon, sub_list *out)
{
    for (int i = 0; i < PQntuples(won); i++) {
        const char *id = PQgetvalue(won, i, 0);
        rng r;
        stream(&r, "subscription", id);
        caldate_t start;
        if (!caldate_parse(PQgetvalue(won, i, 3), &start))
            continue;
        int term = rng_uniform(&r) < 0.5 ? 6 : 12;
        long long arr = strtoll(PQgetvalue(won, i, 2), NULL, 10);
        if (arr <= 0)
            continue;
        for (int k = 0;; k++) {
            demo_sub *s = sub_add(out);
            if (!s)
                return -1;
            if (k == 0)
                snprintf(s->id, sizeof s->id, "%s", id);
            else
                snprintf(s->id, sizeof s->id, "%.32s-r%d", id, k);
            snprintf(s->account, sizeof s->account, "%s", PQgetvalue(won, i, 1));
            s->arr = arr;
            s->start = start;
            caldate_t end = caldate_add_months(start, term);
            s->renewal = end;
            if (end >= horizon) /* still in its term when the sample ends */
                break;
            s->end = end;
            double u = rng_uniform(&r);
            if (u < P_CHURN)
                break;
            if (u < P_CHURN + P_CONTRACT)
                arr = dollars((double)arr * (0.6 + 0.3 * rng_uniform(&r)));
            else if (u < P_CHURN + P_CONTRACT + P_EXPAND)
                arr = dollars((double)arr * (1.1 + 0.4 * rng_uniform(&r)));
            if (arr <= 0)
                break;
            start = end;
        }
    }
    return 0;
}

typedef struct {
    sub_list *subs;
    const char *ws;
    long written;
} subs_tx;

static int write_subs(db_conn *c, void *ctx, app_err *err)
{
    subs_tx *t = ctx;
    for (size_t i = 0; i < t->subs->n; i++) {
        const demo_sub *d = &t->subs->v[i];
        char sb[16], eb[16], rb[16];
        sub_put s = {.workspace_id = t->ws,
                     .external_id = d->id,
                     .account = d->account,
                     .arr_cents = d->arr,
                     .start = caldate_format(d->start, sb, sizeof sb),
                     .end = d->end ? caldate_format(d->end, eb, sizeof eb) : NULL,
                     .renewal = caldate_format(d->renewal, rb, sizeof rb)};
        int rc = revenue_sub_put_tx(c, &s, err);
        free(s.result);
        if (rc != 0)
            return -1;
        t->written++;
    }
    return 0;
}

/* Recognised revenue of month [ms, me): each subscription's ARR pro rata
 * over the days it was active. */
static double month_revenue(const sub_list *l, caldate_t ms, caldate_t me)
{
    double cents = 0;
    for (size_t i = 0; i < l->n; i++) {
        caldate_t a = l->v[i].start > ms ? l->v[i].start : ms;
        caldate_t e = l->v[i].end ? l->v[i].end : INT32_MAX;
        caldate_t b = e < me ? e : me;
        if (b > a)
            cents += (double)l->v[i].arr * (double)(b - a) / 365.0;
    }
    return cents;
}

/* S&M spend by channel: a share of the mean monthly bookings each (sales
 * 55%, marketing 45%), +-8% a month. */
static const struct {
    const char *category, *channel;
    double share;
} channels[] = {{"sales", "field_sales", 0.35}, {"sales", "inside_sales", 0.20}, {"marketing", "paid_search", 0.16},
                {"marketing", "events", 0.11},  {"marketing", "content", 0.09},  {"marketing", "partners", 0.09}};

#define MAX_MONTHS 120

typedef struct {
    caldate_t start[MAX_MONTHS + 1];
    int n;
    double sm[MAX_MONTHS], revenue[MAX_MONTHS], gm[MAX_MONTHS], burn[MAX_MONTHS];
} demo_months;

static int write_spend(db_conn *c, const char *ws, int fsm, double base, demo_months *m, app_err *err)
{
    json_t *items = json_array(), *rows = json_array();
    for (int k = 0; k < m->n; k++) {
        char label[16];
        period p = period_containing(PERIOD_MONTH, m->start[k], fsm);
        period_format(&p, label, sizeof label);
        rng r;
        stream(&r, "spend", label);
        m->sm[k] = 0;
        for (size_t j = 0; j < sizeof channels / sizeof channels[0]; j++) {
            long long cents = dollars(base * channels[j].share * (1 + noise(&r, 0.08)));
            m->sm[k] += (double)cents;
            json_array_append_new(items,
                                  json_pack("{s:s, s:s, s:s, s:f}", "period", label, "category", channels[j].category,
                                            "channel", channels[j].channel, "amount", (double)cents / 100.0));
        }
    }
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) revenue_spend_check(it, rows, &fsm, err);
    json_decref(items);
    char *text = err->code == ERR_NONE ? json_dumps(rows, JSON_COMPACT) : NULL;
    json_decref(rows);
    if (!text)
        return -1;
    const char *p[] = {ws, text};
    PGresult *r = db_query(c, REVENUE_SPEND_INSERT_SQL, 2, p, err);
    free(text);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

static int finance_put(db_conn *c, const char *ws, const period *p, double gm, long long burn, app_err *err)
{
    char label[16], sb[16], eb[16], gmb[32], bb[24];
    snprintf(gmb, sizeof gmb, "%.5f", gm);
    snprintf(bb, sizeof bb, "%lld", burn);
    const char *prm[] = {ws,
                         period_format(p, label, sizeof label),
                         caldate_format(p->start, sb, sizeof sb),
                         caldate_format(p->end, eb, sizeof eb),
                         gmb,
                         bb};
    PGresult *r = db_query(c, REVENUE_FINANCE_UPSERT_SQL, 6, prm, err);
    if (!r)
        return -1;
    PQclear(r);
    return 0;
}

/* Gross margin 74% +-1.5 points a month (clipped 70-78%); other operating
 * expense (R&D, G&A) 55% of the mean S&M, +-5%; net burn = S&M + other -
 * revenue x gross margin. A quarter or year whose months are all generated
 * gets their sum and the revenue-weighted margin. */
static int write_finance(db_conn *c, const char *ws, int fsm, double base, demo_months *m, long *nrows, app_err *err)
{
    for (int k = 0; k < m->n; k++) {
        char label[16];
        period p = period_containing(PERIOD_MONTH, m->start[k], fsm);
        period_format(&p, label, sizeof label);
        rng r;
        stream(&r, "finance", label);
        double gm = 0.74 + noise(&r, 0.015);
        gm = round((gm < 0.70 ? 0.70 : gm > 0.78 ? 0.78 : gm) * 10000) / 10000;
        double other = base * 0.55 * (1 + noise(&r, 0.05));
        m->gm[k] = gm;
        m->burn[k] = (double)dollars(m->sm[k] + other - m->revenue[k] * gm);
        if (finance_put(c, ws, &p, gm, (long long)m->burn[k], err) != 0)
            return -1;
        (*nrows)++;
    }
    period_kind kinds[] = {PERIOD_QUARTER, PERIOD_YEAR};
    for (size_t j = 0; j < 2; j++) {
        period done = {0};
        for (int k = 0; k < m->n; k++) {
            period p = period_containing(kinds[j], m->start[k], fsm);
            if (p.start == done.start || p.start < m->start[0] || p.end > m->start[m->n])
                continue;
            done = p;
            double rev = 0, wgm = 0, burn = 0, sgm = 0;
            int nm = 0;
            for (int q = 0; q < m->n; q++)
                if (m->start[q] >= p.start && m->start[q] < p.end) {
                    rev += m->revenue[q];
                    wgm += m->revenue[q] * m->gm[q];
                    sgm += m->gm[q];
                    burn += m->burn[q];
                    nm++;
                }
            if (finance_put(c, ws, &p, rev > 0 ? wgm / rev : sgm / nm, (long long)burn, err) != 0)
                return -1;
            (*nrows)++;
        }
    }
    return 0;
}

/* Quotas per rep per quarter, from the quarter of the first won deal to the
 * one after the last: the team's mean quarterly bookings x 1.15 per head
 * (quotas are set above what the team books: most reps miss, a few beat
 * it), by seniority 0.8 / 1.0 / 1.25 (30% / 50% / 20% of reps), rounded to
 * $5,000; the first quarter is a ramp at half. */
typedef struct {
    const char *ws;
    PGresult *reps;
    const period *quarters;
    int nq;
    double base;
    long written;
} quota_tx;

static int write_quotas(db_conn *c, void *ctx, app_err *err)
{
    quota_tx *t = ctx;
    json_t *ops = json_array();
    for (int i = 0; i < PQntuples(t->reps); i++) {
        const char *id = PQgetvalue(t->reps, i, 0);
        rng r;
        stream(&r, "quota", id);
        double u = rng_uniform(&r), level = u < 0.3 ? 0.8 : u < 0.8 ? 1.0 : 1.25;
        json_t *q = json_object();
        for (int k = 0; k < t->nq; k++) {
            char label[16];
            double amount = round(t->base * level * (k == 0 ? 0.5 : 1.0) / 500000.0) * 5000.0;
            json_object_set_new(q, period_format(&t->quarters[k], label, sizeof label), json_real(amount));
        }
        json_t *in = json_pack("{s:s, s:o}", "name", PQgetvalue(t->reps, i, 1), "quotas", q);
        json_t *patch = crm_check(&crm_reps, in, false, NULL, err);
        json_decref(in);
        if (!patch) {
            json_decref(ops);
            return -1;
        }
        json_array_append_new(ops, json_pack("{s:s, s:o, s:s}", "id", id, "patch", patch, "origin", "import"));
    }
    json_t *results = NULL;
    int rc = crm_apply(c, &crm_reps, t->ws, ops, &results, err);
    json_decref(ops);
    t->written = (long)json_array_size(results);
    json_decref(results);
    return rc;
}

/* ---- synthetic leads ------------------------------------------------------ */

/* The top of the funnel behind the sample's opportunities (README): 30% of
 * the deals came from a lead (the rest were sourced by their AE). Each such
 * deal has its converting lead (MQL -> SAL within hours, -> SQL within
 * days, linked to the deal a few days before it was created) and, around
 * it, the leads of the same account that stopped earlier, in the numbers
 * the seed's median conversions imply (MQL -> SAL 55%, SAL -> SQL 45%,
 * SQL -> opportunity 65%): per converting lead 0.54 more SQLs, 1.88 more
 * SALs (half rejected with a reason) and 2.8 more MQLs, stochastically
 * rounded. Every lead has one touch (its source's activity) before it
 * became an MQL. Written with lead_apply_many and activity_insert_many, the
 * writers of POST /v1/leads/batch and /v1/activities/batch. */
#define LEAD_SOURCED 0.30

static const struct {
    const char *channel, *touch;
    double share;
} lead_sources[] = {{"paid_search", "ad_click", 0.30},  {"content", "content_download", 0.25},
                    {"events", "event_attended", 0.15}, {"partners", "form_submit", 0.10},
                    {"inside_sales", "call", 0.15},     {"field_sales", "meeting", 0.05}};

static const char *const rejections[] = {"no budget", "not the decision maker", "bad timing", "no fit"};

typedef struct {
    PGresult *deals;
    const char *ws;
    long leads, converted, touches;
} leads_tx;

/* seconds since the epoch as RFC 3339 */
static const char *iso(double t, char *buf, size_t len)
{
    long long s = (long long)floor(t);
    caldate_t d = (caldate_t)(s / 86400);
    char db[16];
    int sod = (int)(s - (long long)d * 86400);
    snprintf(buf, len, "%sT%02d:%02d:%02dZ", caldate_format(d, db, sizeof db), sod / 3600, sod / 60 % 60, sod % 60);
    return buf;
}

/* a weekday working hour (09:00-16:00 UTC) on or before day d */
static double work_time(rng *r, caldate_t d)
{
    while (d - caldate_monday(d) >= 5)
        d--;
    return (double)d * 86400 + 9 * 3600 + rng_uniform(r) * 7 * 3600;
}

static long stoch_round(rng *r, double x)
{
    long n = (long)x;
    return n + (rng_uniform(r) < x - (double)n);
}

static void lead_op(json_t *ops, const char *id, double at, json_t *patch)
{
    char b[32];
    json_array_append_new(
        ops, json_pack("{s:s, s:s, s:s, s:o}", "id", id, "at", iso(at, b, sizeof b), "origin", "demo", "patch", patch));
}

/* One lead: created an MQL at t_mql, then SAL and SQL when those are > 0
 * (a deal link with the SQL when deal is given); its touch an hour before. */
static void gen_lead(leads_tx *t, rng *r, json_t *ops, json_t *acts, const char *id, const char *account,
                     const char *owner, double t_mql, double t_sal, double t_sql, const char *deal)
{
    double u = rng_uniform(r), acc = 0;
    size_t k = 0;
    for (; k + 1 < sizeof lead_sources / sizeof lead_sources[0]; k++)
        if (u < (acc += lead_sources[k].share))
            break;
    char email[300], b[32], aid[220];
    snprintf(email, sizeof email, "%s@%s.example", id, account);
    for (char *p = email; *p; p++)
        *p = *p == ' ' ? '-' : (char)tolower((unsigned char)*p);
    lead_op(ops, id, t_mql,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "lifecycle_stage", "mql", "created_at",
                      iso(t_mql, b, sizeof b), "email", email, "company", account, "account", account, "owner", owner,
                      "original_source", lead_sources[k].channel, "latest_source", lead_sources[k].channel));
    snprintf(aid, sizeof aid, "%s-touch", id);
    /* the lead's touch, not the account's: attribution reads an account's touches for
     * every deal of it, and the sample's 85 accounts have about 100 deals each */
    json_array_append_new(acts, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", aid, "type", lead_sources[k].touch,
                                          "occurred_at", iso(t_mql - 3600, b, sizeof b), "lead", id, "channel",
                                          lead_sources[k].channel));
    t->leads++;
    t->touches++;
    if (t_sal > 0) {
        json_t *p = json_pack("{s:s}", "lifecycle_stage", "sal");
        if (t_sql <= 0 && rng_uniform(r) < 0.5)
            json_object_set_new(p, "rejection_reason",
                                json_string(rejections[rng_next(r) % (sizeof rejections / sizeof rejections[0])]));
        lead_op(ops, id, t_sal, p);
    }
    if (t_sql > 0)
        lead_op(ops, id, t_sql,
                deal ? json_pack("{s:s, s:[s]}", "lifecycle_stage", "sql", "deals", deal)
                     : json_pack("{s:s}", "lifecycle_stage", "sql"));
    t->converted += deal != NULL;
}

static int flush_leads(db_conn *c, const char *ws, json_t *ops, json_t *acts, app_err *err)
{
    char *lt = json_dumps(ops, JSON_COMPACT), *at = json_dumps(acts, JSON_COMPACT);
    const char *lp[] = {ws, lt}, *ap[] = {ws, at};
    PGresult *r =
        lt && at ? db_query(c, "SELECT count(*) FROM lead_apply_many($1::uuid, $2::jsonb)", 2, lp, err) : NULL;
    PGresult *a = r ? db_query(c, "SELECT count(*) FROM activity_insert_many($1::uuid, $2::jsonb)", 2, ap, err) : NULL;
    free(lt);
    free(at);
    json_array_clear(ops);
    json_array_clear(acts);
    if (!lt || !at)
        app_err_set(err, ERR_INTERNAL, "out of memory");
    PQclear(r);
    PQclear(a);
    return a ? 0 : -1;
}

static int write_leads(db_conn *c, void *ctx, app_err *err)
{
    leads_tx *t = ctx;
    json_t *ops = json_array(), *acts = json_array();
    int rc = 0;
    for (int i = 0; i < PQntuples(t->deals) && rc == 0; i++) {
        const char *deal = PQgetvalue(t->deals, i, 0), *account = PQgetvalue(t->deals, i, 1),
                   *owner = PQgetvalue(t->deals, i, 2);
        caldate_t created = (caldate_t)atol(PQgetvalue(t->deals, i, 3));
        rng r;
        stream(&r, "leads", deal);
        if (rng_uniform(&r) >= LEAD_SOURCED)
            continue;
        char id[240];
        /* the converting lead: SQL 1-7 days before the deal, SAL 2-12 days before
         * that, accepted 0.5-4 hours after it became an MQL */
        double t_sql = work_time(&r, created - 1 - (caldate_t)(rng_uniform(&r) * 6));
        double t_mql = work_time(&r, (caldate_t)(t_sql / 86400) - 2 - (caldate_t)(rng_uniform(&r) * 10));
        double t_sal = t_mql + (0.5 + rng_uniform(&r) * 3.5) * 3600;
        snprintf(id, sizeof id, "L-%s", deal);
        gen_lead(t, &r, ops, acts, id, account, owner, t_mql, t_sal, t_sql, deal);
        /* the account's leads that stopped earlier, in the 45 days before the deal */
        long n[3] = {stoch_round(&r, 0.54), stoch_round(&r, 1.88), stoch_round(&r, 2.8)};
        for (int stop = 0, k = 1; stop < 3; stop++)
            for (long j = 0; j < n[stop]; j++, k++) {
                double m = work_time(&r, created - (caldate_t)(rng_uniform(&r) * 45));
                double sal = stop < 2 ? m + (0.5 + rng_uniform(&r) * 3.5) * 3600 : 0;
                double sql = stop == 0 ? sal + (2 + rng_uniform(&r) * 10) * 86400 : 0;
                snprintf(id, sizeof id, "L-%s-%d", deal, k);
                gen_lead(t, &r, ops, acts, id, account, owner, m, sal, sql, NULL);
            }
        if (json_array_size(ops) >= 2000)
            rc = flush_leads(c, t->ws, ops, acts, err);
    }
    if (rc == 0 && json_array_size(ops))
        rc = flush_leads(c, t->ws, ops, acts, err);
    json_decref(ops);
    json_decref(acts);
    return rc;
}

static int demo_synth(db_conn *c, const char *ws, app_err *err)
{
    int fsm = workspace_fy_start(c, ws, err);
    if (fsm < 0)
        return -1;
    const char *p[] = {ws};
    PGresult *won =
        db_query(c,
                 "SELECT external_id, account, amount_cents, to_char(closed_at AT TIME ZONE 'UTC', "
                 "'YYYY-MM-DD') FROM deals WHERE workspace_id = $1 AND deleted_at IS NULL AND status = 'won'"
                 " AND account IS NOT NULL AND amount_cents > 0 AND closed_at IS NOT NULL"
                 " ORDER BY external_id",
                 1, p, err);
    if (!won)
        return -1;
    PGresult *span = db_query(c,
                              "SELECT to_char(min(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD'),"
                              " to_char(max(closed_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD'),"
                              " (SELECT count(*) FROM spend WHERE workspace_id = $1) FROM deals WHERE workspace_id = $1"
                              " AND deleted_at IS NULL",
                              1, p, err);
    if (!span) {
        PQclear(won);
        return -1;
    }
    caldate_t first = 0, last = 0;
    bool have_spend = atol(PQgetvalue(span, 0, 2)) > 0;
    if (PQntuples(won) == 0 || !caldate_parse(PQgetvalue(span, 0, 0), &first) ||
        !caldate_parse(PQgetvalue(span, 0, 1), &last)) {
        PQclear(won);
        PQclear(span);
        printf("demo: no won deals: no synthetic companion\n");
        return 0;
    }
    PQclear(span);
    /* the horizon: the first day of the month after the last close */
    caldate_t horizon = period_containing(PERIOD_MONTH, last, fsm).end;
    char hb[16];
    int rc = -1;
    sub_list subs = {0};
    PGresult *reps = NULL;
    if (gen_subscriptions(won, horizon, &subs) != 0) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        goto out;
    }
    subs_tx st = {&subs, ws, 0};
    if (db_transaction(c, write_subs, &st, err) != 0)
        goto out;

    /* months from the first deal's to the horizon, their revenue, the mean
     * monthly bookings of the months that won anything */
    demo_months *m = calloc(1, sizeof *m);
    if (!m) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        goto out;
    }
    double booked = 0;
    int booking_months = 0;
    for (caldate_t d = period_containing(PERIOD_MONTH, first, fsm).start; d < horizon && m->n < MAX_MONTHS;
         d = caldate_add_months(d, 1)) {
        m->start[m->n] = d;
        m->start[m->n + 1] = caldate_add_months(d, 1);
        m->revenue[m->n] = month_revenue(&subs, d, m->start[m->n + 1]);
        double month_won = 0;
        for (int i = 0; i < PQntuples(won); i++) {
            caldate_t cd;
            if (caldate_parse(PQgetvalue(won, i, 3), &cd) && cd >= d && cd < m->start[m->n + 1])
                month_won += (double)strtoll(PQgetvalue(won, i, 2), NULL, 10);
        }
        booked += month_won;
        booking_months += month_won > 0;
        m->n++;
    }
    double base = booking_months ? booked / booking_months : 0;
    long nfin = 0;
    if (have_spend) {
        printf("demo: the workspace has spend already: no synthetic spend or finance written\n");
    } else if (write_spend(c, ws, fsm, base, m, err) != 0 || write_finance(c, ws, fsm, base, m, &nfin, err) != 0) {
        free(m);
        goto out;
    }

    /* quotas: quarters from the first won deal's to the one after the last */
    period quarters[16];
    int nq = 0;
    caldate_t first_won = INT32_MAX;
    for (int i = 0; i < PQntuples(won); i++) {
        caldate_t cd;
        if (caldate_parse(PQgetvalue(won, i, 3), &cd) && cd < first_won)
            first_won = cd;
    }
    for (period q = period_containing(PERIOD_QUARTER, first_won, fsm); nq < 16; q = period_shift(&q, 1, fsm)) {
        quarters[nq++] = q;
        if (q.start >= horizon)
            break;
    }
    int selling_quarters = nq > 1 ? nq - 1 : 1;
    reps = db_query(c,
                    "SELECT external_id, name FROM reps WHERE workspace_id = $1 AND deleted_at IS NULL"
                    " AND role IN ('ae', 'manager') ORDER BY external_id",
                    1, p, err);
    if (!reps) {
        free(m);
        goto out;
    }
    int nreps = PQntuples(reps);
    quota_tx qt = {ws, reps, quarters, nq, nreps ? booked / selling_quarters / nreps * 1.15 : 0, 0};
    if (nreps && db_transaction(c, write_quotas, &qt, err) != 0) {
        free(m);
        goto out;
    }
    leads_tx lt = {.ws = ws};
    lt.deals = db_query(c,
                        "SELECT external_id, account, owner, (created_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01'"
                        " FROM deals WHERE workspace_id = $1 AND deleted_at IS NULL AND account IS NOT NULL"
                        " AND owner IS NOT NULL AND created_at < $2::date ORDER BY external_id",
                        2, (const char *[]){ws, caldate_format(horizon, hb, sizeof hb)}, err);
    if (!lt.deals || db_transaction(c, write_leads, &lt, err) != 0) {
        PQclear(lt.deals);
        free(m);
        goto out;
    }
    PQclear(lt.deals);
    printf("demo: synthetic companion (seed %#llx): %ld subscriptions from %d won deals, %d months of S&M spend"
           " (%zu channels) and finance, %ld finance periods, quotas for %ld reps x %d quarters\n",
           (unsigned long long)DEMO_SEED, st.written, PQntuples(won), have_spend ? 0 : m->n,
           sizeof channels / sizeof channels[0], nfin, qt.written, nq);
    printf("demo: synthetic leads: %ld leads (%ld converted to a deal), %ld touches\n", lt.leads, lt.converted,
           lt.touches);
    free(m);
    rc = 0;
out:
    PQclear(won);
    PQclear(reps);
    free(subs.v);
    return rc;
}

int demo_load(db_conn *c, const char *dir, const char *name, int force)
{
    char path[1024], wsid[40];
    app_err err = {0};
    const char *wp[] = {name};
    int f = db_query_value(c,
                           "WITH ins AS (INSERT INTO workspaces (name) VALUES ($1) ON CONFLICT (name) DO NOTHING"
                           " RETURNING id) SELECT id FROM ins UNION ALL SELECT id FROM workspaces WHERE name = $1",
                           1, wp, wsid, sizeof wsid, &err);
    if (f <= 0) {
        fprintf(stderr, "revopsd: demo: cannot create workspace %s: %s\n", name, err.detail);
        return -1;
    }
    char have[8];
    const char *hp[] = {wsid};
    if (db_query_value(c, "SELECT count(*) > 0 FROM deals WHERE workspace_id = $1", 1, hp, have, sizeof have, &err) <
        0) {
        fprintf(stderr, "revopsd: demo: %s\n", err.detail);
        return -1;
    }
    if (strcmp(have, "t") == 0 && !force) {
        printf("demo: workspace %s already has deals; nothing loaded (use --force to load again)\n", name);
        return 0;
    }
    snprintf(path, sizeof path, "%s/import.json", dir);
    json_error_t jerr;
    json_t *plan = json_load_file(path, 0, &jerr);
    if (!plan) {
        fprintf(stderr, "revopsd: demo: %s: %s\n", path, jerr.text);
        return -1;
    }
    int rc = 0;
    size_t i;
    json_t *imp;
    json_array_foreach(json_object_get(plan, "imports"), i, imp)
    {
        const char *file = json_string_value(json_object_get(imp, "file"));
        snprintf(path, sizeof path, "%s/%s", dir, file ? file : "");
        size_t len;
        char *data = file ? read_file(path, &len) : NULL;
        if (!data) {
            fprintf(stderr, "revopsd: demo: cannot read %s\n", path);
            rc = -1;
            break;
        }
        json_t *req = json_deep_copy(imp);
        json_object_del(req, "file");
        json_object_set_new(req, "data", json_stringn(data, len));
        free(data);
        json_t *report = NULL;
        memset(&err, 0, sizeof err);
        if (import_run(c, wsid, req, &report, &err) != 0) {
            fprintf(stderr, "revopsd: demo: %s: %s%s%s\n", file, err.detail, err.nfields ? " " : "",
                    err.nfields ? err.fields[0].message : "");
            json_decref(req);
            rc = -1;
            break;
        }
        printf("demo: %s -> %s: %lld rows, %lld created, %lld updated, %lld rejected, %lld fixes\n", file,
               json_string_value(json_object_get(report, "object")),
               (long long)json_integer_value(json_object_get(report, "rows")),
               (long long)json_integer_value(json_object_get(report, "created")),
               (long long)json_integer_value(json_object_get(report, "updated")),
               (long long)json_integer_value(json_object_get(report, "rejected")),
               (long long)json_integer_value(json_object_get(report, "fixed")));
        size_t k;
        json_t *fx;
        json_array_foreach(json_object_get(report, "fix_summary"), k, fx)
        {
            printf("demo:   fixed %lld x %s '%s' -> '%s' (%s)\n",
                   (long long)json_integer_value(json_object_get(fx, "count")),
                   json_string_value(json_object_get(fx, "field")), json_string_value(json_object_get(fx, "from")),
                   json_string_value(json_object_get(fx, "to")), json_string_value(json_object_get(fx, "reason")));
        }
        json_decref(report);
        json_decref(req);
    }
    json_decref(plan);
    if (rc == 0) {
        memset(&err, 0, sizeof err);
        if (demo_synth(c, wsid, &err) != 0) {
            fprintf(stderr, "revopsd: demo: synthetic companion: %s%s%s\n", err.detail, err.nfields ? " " : "",
                    err.nfields ? err.fields[0].message : "");
            rc = -1;
        }
    }
    return rc;
}

/* h_dashboard.c - the seed's revops-dashboard.yaml (001 phase 5), computed
 * live from the workspace's data, as JSON or YAML; and the revenue waterfall. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "accuracy.h"
#include "arrmove.h"
#include "attrib.h"
#include "caldate.h"
#include "chancac.h"
#include "fcdata.h"
#include "fcprep.h"
#include "fcrecord.h"
#include "forecast.h"
#include "funnel.h"
#include "funneldoc.h"
#include "crm.h"
#include "handlers.h"
#include "jsonv.h"
#include "leadcheck.h"
#include "leadscore.h"
#include "log.h"
#include "metrics.h"
#include "refresh.h"
#include "report.h"
#include "respcache.h"
#include "yconv.h"

/* Units on the dashboard (docs/metrics.md "Units"): money in the workspace
 * currency; a share or a ratio of two like quantities (retention, conversion,
 * actual ÷ forecast, MAPE) is a fraction, 1.0 = 100%; a multiple (coverage,
 * LTV:CAC, magic number, burn multiple) is a plain number of times; a
 * duration names its unit (_months, _per_day). Fractions and multiples keep
 * four decimals (0.01% of a percentage). */
static json_t *money_j(money_t c) { return json_real((double)c / 100.0); }
static json_t *frac_j(double v) { return json_real(round(v * 10000) / 10000); }
static json_t *ratio_j(const metric_value *m) { return m->ok ? frac_j(m->value) : json_null(); }

/* What the sections share while one dashboard is built. */
/* The conversion's events: every lead's (or deal's) stages, whatever the
 * period (the cohort is chosen from them in C). */
struct dash_memo {
    bool have;
    bool leads; /* the subjects are leads, not deals */
    funnel_event *ev;
    size_t m;
    int n;
};

dash_memo *dash_memo_new(void) { return calloc(1, sizeof(dash_memo)); }

void dash_memo_free(dash_memo *m)
{
    if (m)
        free(m->ev);
    free(m);
}

typedef struct {
    db_conn *db;
    const char *ws;
    dash_memo *memo; /* never NULL while building */
    const period *P;
    int fsm;
    char label[16];
    caldate_t today;
    caldate_t as_of; /* the month figures' day: today, or a past period's last day */
    app_err *err;
    json_t *signals;
    json_t *explain;      /* NULL unless ?explain=true */
    json_t *null_reasons; /* "section.key" -> why that figure is null */
    metrics_waterfall w;  /* the period's ARR waterfall: arr, retention, efficiency */
    long arr_rows;        /* ARR movements up to the period's end */
} dash_ctx;

/* A health signal with its note written (null status and why_missing when
 * m has none). */
static void signal_note(dash_ctx *c, const char *metric, const metric_value *m, const char *why_missing,
                        const char *note)
{
    if (m && m->status != STATUS_NONE)
        json_array_append_new(c->signals, json_pack("{s:s, s:s, s:s}", "metric", metric, "status",
                                                    metric_status_name(m->status), "note", note));
    else
        json_array_append_new(c->signals,
                              json_pack("{s:s, s:n, s:s}", "metric", metric, "status", "note", why_missing));
}

static void signal(dash_ctx *c, const char *metric, const metric_value *m, const char *why_missing, const char *fmt,
                   double shown)
{
    char note[200] = "";
    if (m && m->status != STATUS_NONE)
        snprintf(note, sizeof note, fmt, shown, m->band);
    signal_note(c, metric, m, why_missing, note);
}

static void explain(dash_ctx *c, const char *metric, const char *formula, json_t *inputs)
{
    if (!c->explain) {
        json_decref(inputs);
        return;
    }
    json_object_set_new(c->explain, metric, json_pack("{s:s, s:o}", "formula", formula, "inputs", inputs));
}

/* sec[key] = v. A null figure is never silent (issue 15): its reason goes to
 * null_reasons under "section.key"; every caller passes the reason that
 * applies when v is null. */
static void figure(dash_ctx *c, json_t *sec, const char *sname, const char *key, json_t *v, const char *why_null)
{
    if (json_is_null(v)) {
        char k[80];
        snprintf(k, sizeof k, "%s.%s", sname, key);
        json_object_set_new(c->null_reasons, k, json_string(why_null ? why_null : "could not be computed"));
    }
    json_object_set_new(sec, key, v);
}

/* ARR movements of the workspace up to `end`, as core input; accounts get
 * dense indexes. Returns the count or -1. */
static long load_moves(db_conn *db, const char *ws, caldate_t end, metrics_account_move **out, size_t *naccounts,
                       app_err *err)
{
    char eb[16];
    const char *p[] = {ws, caldate_format(end, eb, sizeof eb)};
    PGresult *r =
        db_query(db,
                 "SELECT dense_rank() OVER (ORDER BY account) - 1, event_date, kind, amount_cents FROM arr_events"
                 " WHERE workspace_id = $1 AND event_date < $2::date ORDER BY account, event_date, id",
                 2, p, err);
    if (!r)
        return -1;
    long n = PQntuples(r);
    metrics_account_move *m = calloc((size_t)n + 1, sizeof *m);
    *naccounts = 0;
    for (long i = 0; m && i < n; i++) {
        m[i].account = atoi(PQgetvalue(r, (int)i, 0));
        if (!caldate_parse(PQgetvalue(r, (int)i, 1), &m[i].move.date))
            m[i].move.date = 0;
        m[i].move.kind = (arr_kind)arr_kind_parse(PQgetvalue(r, (int)i, 2));
        m[i].move.amount = strtoll(PQgetvalue(r, (int)i, 3), NULL, 10);
        if ((size_t)m[i].account + 1 > *naccounts)
            *naccounts = (size_t)m[i].account + 1;
    }
    PQclear(r);
    if (!m) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    *out = m;
    return n;
}

static int waterfall(db_conn *db, const char *ws, caldate_t start, caldate_t end, metrics_waterfall *w, long *rows,
                     app_err *err)
{
    metrics_account_move *m = NULL;
    size_t na = 0;
    long n = load_moves(db, ws, end, &m, &na, err);
    if (n < 0)
        return -1;
    money_t *s1 = calloc(na + 1, sizeof *s1), *s2 = calloc(na + 1, sizeof *s2);
    int rc = (s1 && s2 && metrics_waterfall_compute(m, (size_t)n, na, start, end, s1, s2, w) == 0) ? 0 : -1;
    if (rc)
        app_err_set(err, ERR_INTERNAL, "could not compute the waterfall");
    *rows = n;
    free(m);
    free(s1);
    free(s2);
    return rc;
}

/* Sum of S&M spend (sales + marketing) recorded for periods inside [start, end). */
static int sm_spend(db_conn *db, const char *ws, caldate_t start, caldate_t end, money_t *out, long *rows, app_err *err)
{
    char sb[16], eb[16];
    const char *p[] = {ws, caldate_format(start, sb, sizeof sb), caldate_format(end, eb, sizeof eb)};
    PGresult *r =
        db_query(db,
                 "SELECT COALESCE(sum(amount_cents), 0), count(*) FROM spend WHERE workspace_id = $1"
                 " AND category IN ('sales', 'marketing') AND period_start >= $2::date AND period_end <= $3::date",
                 3, p, err);
    if (!r)
        return -1;
    *out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    *rows = atol(PQgetvalue(r, 0, 1));
    PQclear(r);
    return 0;
}

/* The forecast that counts for period q on the dashboard: of the engine
 * forecasts stored for it (any method), the one the accuracy report takes at
 * its period-start horizon (core/accuracy: the latest made on or before the
 * period's first day, ties to the one created last). 1 with its expected in
 * *out, 0 when none was made by then, -1 on error. */
static int stored_forecast(db_conn *db, const char *ws, const period *q, money_t *out, app_err *err)
{
    char ql[16];
    period_format(q, ql, sizeof ql);
    const char *p[] = {ws, ql};
    PGresult *r = db_query(db,
                           "SELECT as_of, round((result ->> 'expected')::numeric * 100)::bigint FROM forecasts"
                           " WHERE workspace_id = $1 AND period = $2 ORDER BY created_at, id",
                           2, p, err);
    if (!r)
        return -1;
    size_t n = (size_t)PQntuples(r);
    accuracy_candidate *c = calloc(n + 1, sizeof *c);
    if (!c) {
        PQclear(r);
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!caldate_parse(PQgetvalue(r, (int)i, 0), &c[i].as_of))
            c[i].as_of = INT32_MAX; /* unreadable: never counts */
        c[i].seq = (long long)i;    /* rows are in creation order */
    }
    long pick = accuracy_pick(c, n, accuracy_cutoff(ACC_PERIOD_START, q->start, q->end));
    if (pick >= 0)
        *out = strtoll(PQgetvalue(r, (int)pick, 1), NULL, 10);
    free(c);
    PQclear(r);
    return pick >= 0 ? 1 : 0;
}

/* ---- arr: the period's waterfall from ARR movements ---- */
static json_t *sec_arr(dash_ctx *c)
{
    if (waterfall(c->db, c->ws, c->P->start, c->P->end, &c->w, &c->arr_rows, c->err) != 0)
        return NULL;
    const metrics_waterfall *w = &c->w;
    /* with no ARR movement recorded at all, ARR is unknown, not zero (issue 8: a metric without
     * its inputs is null with a reason) */
    bool known = c->arr_rows > 0;
    const char *why = "no ARR movements recorded up to the period's end (POST /v1/arr-events or subscriptions)";
    const struct {
        const char *key;
        money_t v;
    } f[] = {{"current", w->ending},      {"beginning_of_quarter", w->starting}, {"new_business", w->new_business},
             {"expansion", w->expansion}, {"contraction", w->contraction},       {"churned", w->churn},
             {"net_new", w->net_new},     {"reactivation", w->reactivation}};
    json_t *arr = json_object();
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        figure(c, arr, "arr", f[i].key, known ? money_j(f[i].v) : json_null(), why);
    if (!known)
        signal(c, "arr", NULL, why, "", 0);
    explain(c, "arr", "ending = beginning + new + expansion + reactivation - contraction - churn (ARR movements)",
            json_pack("{s:I}", "movements", (json_int_t)c->arr_rows));
    return arr;
}

/* ---- retention: NRR, GRR, logo retention of the waterfall (fractions) ---- */
static json_t *sec_retention(dash_ctx *c)
{
    const metrics_waterfall *w = &c->w;
    metric_value nrr = metrics_nrr(w->starting, w->expansion, w->contraction, w->churn);
    metric_value grr = metrics_grr(w->starting, w->contraction, w->churn);
    metric_value logo = metrics_logo_retention(w->logos_start, w->logos_churned);
    const char *no_arr = "no ARR at the start of the period (record ARR movements or subscriptions)";
    const char *no_logos = "no account with ARR at the start of the period (record ARR movements or subscriptions)";
    json_t *ret = json_object();
    figure(c, ret, "retention", "nrr", ratio_j(&nrr), no_arr);
    figure(c, ret, "retention", "grr", ratio_j(&grr), no_arr);
    figure(c, ret, "retention", "logo_retention", ratio_j(&logo), no_logos);
    explain(c, "nrr", "(beginning + expansion - contraction - churn) / beginning",
            json_pack("{s:o, s:o, s:o, s:o}", "beginning", money_j(w->starting), "expansion", money_j(w->expansion),
                      "contraction", money_j(w->contraction), "churn", money_j(w->churn)));
    explain(c, "grr", "(beginning - contraction - churn) / beginning",
            json_pack("{s:o, s:o, s:o}", "beginning", money_j(w->starting), "contraction", money_j(w->contraction),
                      "churn", money_j(w->churn)));
    explain(c, "logo_retention", "(logos at start - churned logos) / logos at start",
            json_pack("{s:I, s:I}", "logos_start", (json_int_t)w->logos_start, "logos_churned",
                      (json_int_t)w->logos_churned));
    signal(c, "nrr", &nrr, no_arr, "NRR %.1f%% (%s)", nrr.value * 100);
    signal(c, "grr", &grr, no_arr, "GRR %.1f%% (%s)", grr.value * 100);
    signal(c, "logo_retention", &logo, no_logos, "Logo retention %.1f%% (%s)", logo.value * 100);
    return ret;
}

/* ---- CAC by channel (issue 19; docs/metrics.md "CAC by channel") ---------------- */

/* efficiency.cac_by_channel: per channel, the period's S&M spend with that
 * channel over the new customers attributed to it. 0, or -1 with c->err. */
static int cac_by_channel(dash_ctx *c, json_t *eff)
{
    chan_customers cc;
    if (chan_customers_load(c->db, c->ws, c->P->start, c->P->end, &cc, c->err) < 0)
        return -1;
    char sb[16], eb[16];
    const char *p[] = {c->ws, caldate_format(c->P->start, sb, sizeof sb), caldate_format(c->P->end, eb, sizeof eb)};
    PGresult *s = db_query(c->db,
                           "SELECT channel, sum(amount_cents) FROM spend WHERE workspace_id = $1"
                           " AND category IN ('sales', 'marketing') AND period_start >= $2::date"
                           " AND period_end <= $3::date AND COALESCE(channel, '') <> '' GROUP BY 1 ORDER BY 1",
                           3, p, c->err);
    if (!s) {
        chan_customers_free(&cc);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < PQntuples(s) && rc == 0; i++) {
        chan_cac *g = chan_customers_of(&cc, PQgetvalue(s, i, 0));
        if (!g)
            rc = -1;
        else
            g->spend = strtoll(PQgetvalue(s, i, 1), NULL, 10);
    }
    PQclear(s);
    chan_cac *cs = cc.ch;
    size_t n = cc.n;
    json_t *rows = json_array();
    for (size_t i = 0; i < n; i++) {
        /* channel order: a deterministic answer (insertion sort: a handful of channels) */
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(cs[j].channel, cs[i].channel) < 0) {
                chan_cac t = cs[i];
                cs[i] = cs[j];
                cs[j] = t;
            }
        int64_t cac = 0;
        bool has = attrib_cac(cs[i].spend, cs[i].parts, &cac);
        char why[300];
        snprintf(why, sizeof why, "no new customer of the period is attributed to %.200s (CAC has no denominator)",
                 cs[i].channel);
        json_array_append_new(
            rows, json_pack("{s:s, s:o, s:f, s:o, s:o}", "channel", cs[i].channel, "sm_spend", money_j(cs[i].spend),
                            "new_customers", round((double)cs[i].parts / (double)ATTRIB_CUSTOMER_PARTS * 10000) / 10000,
                            "cac", has ? money_j(cac) : json_null(), "why", has ? json_null() : json_string(why)));
    }
    chan_customers_free(&cc);
    if (rc != 0) {
        json_decref(rows);
        app_err_set(c->err, ERR_INTERNAL, "could not attribute the new customers to channels");
        return -1;
    }
    bool any = json_array_size(rows) > 0;
    figure(c, eff, "efficiency", "cac_by_channel", any ? rows : json_null(),
           "no S&M spend with a channel and no new customer with a touch in the period");
    if (!any)
        json_decref(rows);
    explain(c, "cac_by_channel",
            "per channel: S&M spend with that channel / the new customers attributed to it (each new customer "
            "shared over its touches by the attribution model)",
            json_pack("{s:s, s:I, s:I}", "model", attrib_model_name(cc.adv.use), "new_customers",
                      (json_int_t)cc.customers, "unattributed_customers", (json_int_t)cc.unattributed));
    return 0;
}

/* GTM efficiency by ACV tier (docs/metrics.md): the workspace's tier from
 * its ACV (ARR per customer at the period's end) and its CAC, CAC payback and
 * S&M share of revenue (revenue: the mean of the period's starting and
 * ending ARR x its calendar months / 12, to the cent, truncated)
 * against the seed's table, as health signals. */
static void gtm_tier(dash_ctx *c, json_t *eff, money_t spend, bool has_spend, const money_t *cac,
                     const metric_value *pb, const char *why_cac, const char *why_pb)
{
    const metrics_waterfall *w = &c->w;
    long logos = w->logos_start - w->logos_churned + w->logos_new;
    const char *no_acv = "no customer with ARR at the period's end: no ACV, so no tier";
    if (logos <= 0 || w->ending <= 0) {
        figure(c, eff, "efficiency", "gtm_tier", json_null(), no_acv);
        signal_note(c, "cac_vs_acv_tier", NULL, no_acv, "");
        signal_note(c, "payback_vs_acv_tier", NULL, no_acv, "");
        signal_note(c, "sm_share_vs_acv_tier", NULL, no_acv, "");
        return;
    }
    money_t acv = (w->ending + logos / 2) / logos;
    const metrics_acv_tier *t = metrics_acv_tier_of(acv);
    /* calendar months: a quarter's revenue is 3/12 of its mean ARR */
    int months = c->P->kind == PERIOD_MONTH ? 1 : c->P->kind == PERIOD_QUARTER ? 3 : 12;
    money_t revenue = (w->starting + w->ending) * months / 24;
    metric_value mc = cac ? metrics_tier_cac(*cac, t) : (metric_value){.band = "undefined"};
    metric_value mp = pb->ok ? metrics_tier_payback(pb->value, t) : (metric_value){.band = "undefined"};
    metric_value ms = has_spend ? metrics_tier_sm_share(spend, revenue, t) : (metric_value){.band = "undefined"};
    figure(c, eff, "efficiency", "gtm_tier",
           json_pack("{s:o, s:o, s:s, s:s, s:s, s:s, s:s, s:o}", "acv", money_j(acv), "revenue", money_j(revenue),
                     "tier", t->acv, "motion", t->motion, "typical_cac", t->typical_cac, "target_payback",
                     t->target_payback, "sm_share_range", t->sm_share, "sm_share_of_revenue",
                     ms.ok ? frac_j(ms.value) : json_null()),
           NULL);
    char note[240];
    snprintf(note, sizeof note, "CAC $%.0f against the %s ACV tier's typical %s (%s)", (double)mc.value / 100, t->acv,
             t->typical_cac, mc.band);
    signal_note(c, "cac_vs_acv_tier", &mc, why_cac, note);
    snprintf(note, sizeof note, "CAC payback %.1f months against the %s ACV tier's target %s (%s)", mp.value, t->acv,
             t->target_payback, mp.band);
    signal_note(c, "payback_vs_acv_tier", &mp, why_pb, note);
    snprintf(note, sizeof note, "S&M %.1f%% of revenue against the %s ACV tier's %s (%s)", ms.value * 100, t->acv,
             t->sm_share, ms.band);
    signal_note(c, "sm_share_vs_acv_tier", &ms, "no S&M spend recorded for the period (POST /v1/spend)", note);
}

/* ---- efficiency: CAC, LTV, LTV:CAC, payback, magic number, burn multiple ---- */
static json_t *sec_efficiency(dash_ctx *c)
{
    const metrics_waterfall *w = &c->w;
    const period *P = c->P;
    money_t spend = 0, prior_spend = 0;
    long spend_rows = 0, prior_rows = 0;
    period prior = period_shift(P, -1, c->fsm);
    if (sm_spend(c->db, c->ws, P->start, P->end, &spend, &spend_rows, c->err) != 0 ||
        sm_spend(c->db, c->ws, prior.start, prior.end, &prior_spend, &prior_rows, c->err) != 0)
        return NULL;
    char gm_s[32] = "", burn_s[32] = "";
    const char *fp[] = {c->ws, c->label};
    PGresult *fr = db_query(
        c->db, "SELECT gross_margin, net_burn_cents FROM finance_periods WHERE workspace_id = $1 AND period = $2", 2,
        fp, c->err);
    if (!fr)
        return NULL;
    if (PQntuples(fr)) {
        if (!PQgetisnull(fr, 0, 0))
            snprintf(gm_s, sizeof gm_s, "%s", PQgetvalue(fr, 0, 0));
        if (!PQgetisnull(fr, 0, 1))
            snprintf(burn_s, sizeof burn_s, "%s", PQgetvalue(fr, 0, 1));
    }
    PQclear(fr);
    double months = (double)(P->end - P->start) / (365.25 / 12.0);
    long logos_end = w->logos_start - w->logos_churned + w->logos_new;
    money_t cac = 0, ltv = 0;
    bool has_cac = spend_rows > 0 && metrics_cac(spend, w->logos_new, &cac);
    money_t arpa = logos_end > 0 ? money_mul_rate(w->ending, 1.0 / 12.0 / (double)logos_end) : 0;
    double churn_rate = w->logos_start > 0 ? (double)w->logos_churned / (double)w->logos_start / months : 0;
    double gm = gm_s[0] ? atof(gm_s) : NAN;
    bool has_ltv = gm_s[0] && arpa > 0 && metrics_ltv(arpa, gm, churn_rate, &ltv);
    metric_value lc = has_cac && has_ltv ? metrics_ltv_cac(ltv, cac) : (metric_value){.band = "undefined"};
    metric_value pb = has_cac && gm_s[0] ? metrics_cac_payback(cac, arpa, gm) : (metric_value){.band = "undefined"};
    metric_value magic =
        prior_rows > 0 ? metrics_magic_number(w->net_new, prior_spend) : (metric_value){.band = "undefined"};
    metric_value burn =
        burn_s[0] ? metrics_burn_multiple(strtoll(burn_s, NULL, 10), w->net_new) : (metric_value){.band = "undefined"};

    /* why each one is null, from its first missing input */
    const char *no_gm = "no gross margin for the period (PUT /v1/finance)";
    const char *why_cac = spend_rows == 0 ? "no S&M spend recorded for the period (POST /v1/spend)"
                                          : "no new customers in the period (CAC has no denominator)";
    const char *why_ltv = !gm_s[0]    ? no_gm
                          : arpa <= 0 ? "no ARR at the period's end: ARPA is 0"
                          : w->logos_start <= 0
                              ? "no account with ARR at the start of the period: no churn rate"
                              : "no logo churned in the period: at a churn rate of 0, LTV is unbounded";
    const char *why_lc = !has_cac ? why_cac : !has_ltv ? why_ltv : "CAC is 0 (the period's S&M spend is 0)";
    const char *why_pb = !has_cac   ? why_cac
                         : !gm_s[0] ? no_gm
                                    : "monthly ARPA x gross margin is 0 (no ARR at the period's end or a margin of 0)";
    const char *why_magic = prior_rows == 0 ? "no S&M spend recorded for the prior period (POST /v1/spend)"
                                            : "the prior period's S&M spend is 0";
    const char *why_burn = !burn_s[0] ? "no net burn for the period (PUT /v1/finance)"
                           : burn.status == STATUS_RED
                               ? "net new ARR is not positive while burning: the multiple is unbounded (signal red)"
                               : "no net new ARR and no net burn in the period: nothing to measure";
    json_t *eff = json_object();
    figure(c, eff, "efficiency", "cac", has_cac ? money_j(cac) : json_null(), why_cac);
    figure(c, eff, "efficiency", "ltv", has_ltv ? money_j(ltv) : json_null(), why_ltv);
    figure(c, eff, "efficiency", "ltv_cac_ratio", ratio_j(&lc), why_lc);
    figure(c, eff, "efficiency", "cac_payback_months", ratio_j(&pb), why_pb);
    figure(c, eff, "efficiency", "magic_number", ratio_j(&magic), why_magic);
    figure(c, eff, "efficiency", "burn_multiple", ratio_j(&burn), why_burn);
    explain(c, "cac", "S&M spend / new customers",
            json_pack("{s:o, s:I, s:I}", "sm_spend", money_j(spend), "new_customers", (json_int_t)w->logos_new,
                      "spend_rows", (json_int_t)spend_rows));
    explain(c, "ltv", "ARPA (monthly) x gross margin / monthly logo churn rate",
            json_pack("{s:o, s:o, s:f}", "arpa_monthly", money_j(arpa), "gross_margin",
                      gm_s[0] ? json_real(gm) : json_null(), "monthly_churn_rate", churn_rate));
    explain(c, "cac_payback_months", "CAC / (ARPA monthly x gross margin)", json_pack("{}"));
    explain(c, "magic_number", "net new ARR / prior period S&M spend",
            json_pack("{s:o, s:o, s:I}", "net_new_arr", money_j(w->net_new), "prior_sm_spend", money_j(prior_spend),
                      "prior_spend_rows", (json_int_t)prior_rows));
    explain(c, "burn_multiple", "net burn / net new ARR",
            json_pack("{s:o, s:o}", "net_burn", burn_s[0] ? money_j(strtoll(burn_s, NULL, 10)) : json_null(),
                      "net_new_arr", money_j(w->net_new)));
    signal(c, "ltv_cac_ratio", &lc, why_lc, "LTV:CAC %.1f:1 (%s)", lc.value);
    signal(c, "cac_payback_months", &pb, why_pb, "CAC payback %.1f months (%s)", pb.value);
    signal(c, "magic_number", &magic, why_magic, "Magic number %.2f (%s)", magic.value);
    signal(c, "burn_multiple", &burn, why_burn, "Burn multiple %.2fx (%s)", burn.value);
    gtm_tier(c, eff, spend, spend_rows > 0, has_cac ? &cac : NULL, &pb, why_cac, why_pb);
    if (cac_by_channel(c, eff) != 0) {
        json_decref(eff);
        return NULL;
    }
    return eff;
}

/* The deals of the pipeline and the forecast, as POST /v1/forecasts prepares
 * them (fcprep: the workspace's funnel, close dates estimated from history).
 * As of when (docs/metrics.md, "The dashboard"): for an ended period, the
 * pipeline and velocity at its end (00:00 UTC of the day after), coverage and
 * the forecast at its start, each rebuilt from history (nothing created, won
 * or changed later counts); for the current or a future period, now. */
typedef struct {
    funnel_def wdef;
    bool ended;
    fcprep_opts at_end, at_start;
    fcprep_deals pe, ps;    /* at the end (or now); at the start of an ended period */
    const fcprep_deals *fc; /* coverage and forecast */
    const fcprep_opts *fco;
} dash_deals;

static void dash_deals_free(dash_deals *d)
{
    fcprep_free(&d->pe);
    fcprep_free(&d->ps);
}

static int dash_deals_load(dash_ctx *c, dash_deals *d)
{
    memset(d, 0, sizeof *d);
    char funnel_id[40], funnel_ver[16];
    if (funnels_ensure_default(c->db, c->ws, c->err) != 0 ||
        fcdata_default_funnel(c->db, c->ws, &d->wdef, funnel_id, funnel_ver, c->err) != 0)
        return -1;
    d->ended = c->P->end <= c->today;
    d->at_end = (fcprep_opts){.period_start = c->P->start,
                              .period_end = c->P->end,
                              .as_of = d->ended ? c->P->end : c->today,
                              .rebuild = d->ended};
    d->at_start = d->at_end;
    if (d->ended)
        d->at_start.as_of = c->P->start;
    if (fcprep_load(c->db, c->ws, &d->wdef, &d->at_end, &d->pe, c->err) != 0 ||
        (d->ended && fcprep_load(c->db, c->ws, &d->wdef, &d->at_start, &d->ps, c->err) != 0)) {
        dash_deals_free(d);
        return -1;
    }
    d->fc = d->ended ? &d->ps : &d->pe;
    d->fco = d->ended ? &d->at_start : &d->at_end;
    return 0;
}

/* ---- pipeline: open deals, coverage (also deal-age adjusted), required
 * pipeline, new this month, velocity; and the seed's Tier-2 operating
 * metrics of the period into *operating ---- */
static json_t *sec_pipeline(dash_ctx *c, const dash_deals *d, json_t **operating)
{
    const fcprep_deals *pe = &d->pe, *fc = d->fc;
    metrics_open_deal *od = calloc(pe->n + 1, sizeof *od);
    if (!od) {
        app_err_set(c->err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    size_t nopen = 0;
    for (size_t i = 0; i < pe->n; i++) {
        const forecast_deal *x = &pe->deals[i];
        if (x->won)
            continue;
        od[nopen++] = (metrics_open_deal){.amount = x->amount,
                                          .probability = isnan(x->probability) ? d->wdef.stages[x->stage].probability
                                                                               : x->probability,
                                          .expected_close = x->expected_close};
    }
    money_t won_then, in_period; /* won in the period by the coverage's date; the pipeline closing in it */
    fcprep_period_sums(fc, d->fco, -1, &in_period, &won_then);
    /* quota (reps), what the period won (velocity), new this month */
    char month_start[16], sb[16], eb[16];
    caldate_t ms = period_containing(PERIOD_MONTH, c->as_of, c->fsm).start;
    caldate_format(ms, month_start, sizeof month_start);
    caldate_format(c->P->start, sb, sizeof sb);
    caldate_format(c->P->end, eb, sizeof eb);
    const char *qp[] = {c->ws, c->label, sb, eb, month_start};
    PGresult *qr = db_query(c->db,
                            /* one scan of the workspace's deals for every aggregate (five scans before) */
                            "SELECT (SELECT sum((quotas ->> $2)::bigint) FROM reps WHERE workspace_id = $1 AND "
                            "deleted_at IS NULL AND quotas ? $2),"
                            " COALESCE(sum(amount_cents) FILTER (WHERE won), 0), count(*) FILTER (WHERE won),"
                            " count(*) FILTER (WHERE closed),"
                            " COALESCE(avg(extract(epoch FROM closed_at - created_at) / 86400) FILTER (WHERE won), 0),"
                            " COALESCE(sum(amount_cents) FILTER (WHERE created_at >= $5::date AND created_at < "
                            "($5::date + interval '1 month')), 0),"
                            " COALESCE(sum(amount_cents) FILTER (WHERE created_at >= $3::date AND created_at < "
                            "$4::date), 0), count(*) FILTER (WHERE created_at >= $3::date AND created_at < $4::date)"
                            " FROM (SELECT " CRM_FX_AMOUNT " AS amount_cents, closed_at, created_at,"
                            "   status = 'won' AND closed_at >= $3::date AND closed_at < $4::date AS won,"
                            "   status IN ('won', 'lost') AND closed_at >= $3::date AND closed_at < $4::date AS closed"
                            "   FROM deals WHERE workspace_id = $1 AND deleted_at IS NULL) d",
                            5, qp, c->err);
    if (!qr) {
        free(od);
        return NULL;
    }
    bool has_quota = !PQgetisnull(qr, 0, 0);
    money_t quota = has_quota ? strtoll(PQgetvalue(qr, 0, 0), NULL, 10) : 0;
    money_t won = strtoll(PQgetvalue(qr, 0, 1), NULL, 10);
    long nwon = atol(PQgetvalue(qr, 0, 2)), nclosed = atol(PQgetvalue(qr, 0, 3));
    double cycle = atof(PQgetvalue(qr, 0, 4));
    money_t new_month = strtoll(PQgetvalue(qr, 0, 5), NULL, 10);
    money_t created = strtoll(PQgetvalue(qr, 0, 6), NULL, 10);
    long ncreated = atol(PQgetvalue(qr, 0, 7));
    PQclear(qr);
    money_t remaining = has_quota && quota > won_then ? quota - won_then : 0;
    metrics_pipeline mp;
    metrics_pipeline_compute(od, nopen, remaining, d->at_end.as_of, &mp);
    /* deal-age adjusted coverage (seed phase 4): the deals the coverage counts
     * (fcprep's pipeline_in_period), each at its age factor on the coverage's
     * date: fresh 100%, aging 50%, stale 25% */
    size_t nin = 0;
    for (size_t i = 0; i < fc->n; i++) {
        const forecast_deal *x = &fc->deals[i];
        if (x->won || x->excluded || x->expected_close >= c->P->end)
            continue;
        od[nin++] = (metrics_open_deal){.amount = x->amount, .probability = 0, .expected_close = x->expected_close};
    }
    metrics_pipeline mc;
    metrics_pipeline_compute(od, nin, remaining, d->fco->as_of, &mc);
    free(od);
    metric_value aac = remaining > 0 ? mc.age_adjusted_coverage : (metric_value){.band = "undefined"};
    /* Tier-2: win rate, average won deal, cycle, pipeline created vs 1.5x quota */
    metric_value wr = report_win_rate(nwon, nclosed);
    money_t required = 0;
    bool has_req = has_quota && wr.ok && metrics_required_pipeline(quota, wr.value, &required);
    metric_value pc = has_quota ? report_pipeline_creation(created, quota) : (metric_value){.band = "undefined"};
    /* coverage counts the pipeline closing in the period (seed: pipeline / remaining quota) */
    metric_value cov = has_quota && quota > won_then ? metrics_coverage(in_period, quota - won_then)
                                                     : (metric_value){.band = "undefined"};
    money_t velocity = 0;
    bool has_vel = nwon > 0 && nclosed > 0 &&
                   metrics_velocity(mp.deals, (double)nwon / (double)nclosed, won / nwon, cycle, &velocity);
    char end_s[16], fc_s[16];
    caldate_format(d->at_end.as_of, end_s, sizeof end_s);
    caldate_format(d->fco->as_of, fc_s, sizeof fc_s);
    const char *why_cov = !has_quota ? "no quota for the period on any rep (PUT /v1/reps/{id} quotas)"
                                     : "the period's quota is already won: no remaining quota to cover";
    const char *why_vel = nwon == 0 ? "no deal won in the period: no win rate or average won deal"
                                    : "the won deals' average cycle is 0 days";
    json_t *pl = json_object();
    figure(c, pl, "pipeline", "total_value", money_j(mp.total), NULL);
    figure(c, pl, "pipeline", "total_deals", json_integer((json_int_t)mp.deals), NULL);
    figure(c, pl, "pipeline", "coverage_ratio", ratio_j(&cov), why_cov);
    figure(c, pl, "pipeline", "weighted_pipeline", money_j(mp.weighted), NULL);
    figure(c, pl, "pipeline", "new_created_this_month", money_j(new_month), NULL);
    figure(c, pl, "pipeline", "velocity_per_day", has_vel ? money_j(velocity) : json_null(), why_vel);
    const char *no_quota = "no quota for the period on any rep (PUT /v1/reps/{id} quotas)";
    const char *why_wr = "no deal closed (won or lost) in the period: no win rate";
    figure(c, pl, "pipeline", "quota", has_quota ? money_j(quota) : json_null(), no_quota);
    figure(c, pl, "pipeline", "age_adjusted_pipeline", money_j(mc.age_adjusted), NULL);
    figure(c, pl, "pipeline", "age_adjusted_coverage", ratio_j(&aac), why_cov);
    figure(c, pl, "pipeline", "required_pipeline", has_req ? money_j(required) : json_null(),
           !has_quota ? no_quota
           : !wr.ok   ? why_wr
                      : "no deal won in the period: at a win rate of 0 no pipeline is enough");
    explain(c, "age_adjusted_coverage",
            "pipeline closing in the period, each deal x its age factor (fresh 1, aging 0.5, stale 0.25 by days past "
            "its expected close) / (quota - won in the period), at as_of",
            json_pack("{s:s, s:o, s:I}", "as_of", fc_s, "age_adjusted_pipeline", money_j(mc.age_adjusted), "deals",
                      (json_int_t)mc.deals));
    explain(c, "required_pipeline", "quota / win rate (won / closed in the period)",
            json_pack("{s:o, s:I, s:I}", "quota", has_quota ? money_j(quota) : json_null(), "won", (json_int_t)nwon,
                      "closed", (json_int_t)nclosed));
    json_t *op = json_object();
    figure(c, op, "operating", "win_rate", ratio_j(&wr), why_wr);
    figure(c, op, "operating", "average_deal_size", nwon > 0 ? money_j(won / nwon) : json_null(),
           "no deal won in the period");
    figure(c, op, "operating", "sales_cycle_days", nwon > 0 ? frac_j(cycle) : json_null(), "no deal won in the period");
    figure(c, op, "operating", "won", money_j(won), NULL);
    figure(c, op, "operating", "pipeline_created", money_j(created), NULL);
    figure(c, op, "operating", "pipeline_created_deals", json_integer((json_int_t)ncreated), NULL);
    figure(c, op, "operating", "pipeline_created_target",
           has_quota ? money_j(report_pipeline_target(quota)) : json_null(), no_quota);
    figure(c, op, "operating", "pipeline_created_vs_quota", ratio_j(&pc), no_quota);
    explain(c, "pipeline_created", "amount of the deals created in the period; target 1.5 x the period's quota",
            json_pack("{s:I}", "deals", (json_int_t)ncreated));
    *operating = op;
    explain(c, "total_value", "open deals at as_of (an ended period: its end, rebuilt from history)",
            json_pack("{s:s, s:b, s:I, s:I}", "as_of", end_s, "rebuilt", d->ended, "amounts_imputed",
                      (json_int_t)pe->imputed_amounts, "close_dates_estimated", (json_int_t)pe->estimated));
    explain(c, "coverage_ratio", "open pipeline closing in the period / (quota - won in the period), at as_of",
            json_pack("{s:s, s:o, s:o, s:o}", "as_of", fc_s, "pipeline_in_period", money_j(in_period), "quota",
                      has_quota ? money_j(quota) : json_null(), "won", money_j(won_then)));
    explain(c, "velocity_per_day", "open opportunities at as_of x win rate x average won deal / average cycle days",
            json_pack("{s:s, s:I, s:I, s:I, s:f}", "as_of", end_s, "opportunities", (json_int_t)mp.deals, "won",
                      (json_int_t)nwon, "closed", (json_int_t)nclosed, "cycle_days", cycle));
    signal(c, "coverage_ratio", &cov, why_cov, "Coverage %.1fx (%s)", cov.value);
    signal(c, "age_adjusted_coverage", &aac, why_cov, "Deal-age adjusted coverage %.1fx (%s)", aac.value);
    signal(c, "win_rate", &wr, why_wr, "Win rate %.1f%% (%s; seed target > 25%%)", wr.value * 100);
    signal(c, "pipeline_created", &pc, no_quota, "Pipeline created %.2fx quota (%s; seed target 1.5x)", pc.value);
    return pl;
}

/* ---- forecast: the calls by category (commit, best case, pipeline), and
 * the expected revenue with its P10-P90 from the learned method when the
 * workspace has the history for it, else from the category method (the
 * deals of POST /v1/forecasts, as of the same day) ---- */
static json_t *sec_forecast(dash_ctx *c, const dash_deals *d)
{
    const fcprep_deals *fc = d->fc;
    const fcprep_opts *fco = d->fco;
    forecast_input fi = {0};
    fcprep_input(fc, fco, &d->wdef, FM_CATEGORY, &fi);
    fclearn_model *lmod = calloc(1, sizeof *lmod);
    if (!lmod || fcdata_load_learned(c->db, c->ws, &d->wdef, c->fsm, fco->as_of, lmod, c->err) != 0) {
        if (!lmod)
            app_err_set(c->err, ERR_INTERNAL, "out of memory");
        free(lmod);
        return NULL;
    }
    forecast_input li = {0};
    fcprep_input(fc, fco, &d->wdef, lmod->usable ? FM_LEARNED : FM_CATEGORY, &li);
    li.learned = lmod->usable ? lmod : NULL;
    if (lmod->usable && fcrecord_load(c->db, c->ws, &d->wdef, c->fsm, fco->as_of, fco->period_end, &li, c->err) != 0) {
        free(lmod);
        return NULL;
    }
    li.nquantiles = 2;
    li.quantiles[0] = 0.1;
    li.quantiles[1] = 0.9;
    forecast_result fres = {0}, lres = {0};
    bool ok =
        forecast_compute(fc->deals, fc->n, &fi, &fres) == 0 && forecast_compute(fc->deals, fc->n, &li, &lres) == 0;
    free(lmod);
    /* forecast_compute refuses only inputs fcprep never builds: a bug, logged, the figures null */
    const char *why = "the forecast could not be computed from the period's deals (see the server log)";
    if (!ok)
        log_warn("dashboard", "forecast_compute failed for %s %s", c->ws, c->label);
    json_t *f = json_object();
    figure(c, f, "forecast", "commit", ok ? money_j(fres.total.commit) : json_null(), why);
    figure(c, f, "forecast", "best_case", ok ? money_j(fres.total.best_case) : json_null(), why);
    figure(c, f, "forecast", "pipeline", ok ? money_j(fres.total.pipeline) : json_null(), why);
    figure(c, f, "forecast", "expected", ok ? money_j(lres.total.expected) : json_null(), why);
    figure(c, f, "forecast", "p10", ok ? money_j(lres.quantile_values[0]) : json_null(), why);
    figure(c, f, "forecast", "p90", ok ? money_j(lres.quantile_values[1]) : json_null(), why);
    figure(c, f, "forecast", "method", ok ? json_string(forecast_method_name(li.method)) : json_null(), why);
    char fc_s[16];
    caldate_format(fco->as_of, fc_s, sizeof fc_s);
    explain(c, "commit", "category forecast at as_of: won in the period by then + commit deals (as POST /v1/forecasts)",
            json_pack("{s:s, s:b, s:o, s:I}", "as_of", fc_s, "rebuilt", d->ended, "closed_won",
                      money_j(fres.total.closed_won), "close_dates_estimated", (json_int_t)fc->estimated));
    return f;
}

/* ---- forecast accuracy from stored forecasts: last month, and MAPE over
 * the last four ended periods of this kind; which forecast counts is the
 * accuracy report's rule at its period-start horizon (stored_forecast).
 * Both are fractions (0.8 = 80%). ---- */
static int sec_accuracy(dash_ctx *c, json_t *forecast)
{
    period this_month = period_containing(PERIOD_MONTH, c->as_of, c->fsm);
    period lm = period_shift(&this_month, -1, c->fsm);
    metrics_forecast_pair pairs[4];
    int npairs = 0;
    money_t lm_forecast = 0, lm_actual = 0;
    bool has_lm = false;
    for (int k = 0; k <= 4; k++) {
        period q = k == 0 ? lm : period_shift(c->P, -k, c->fsm);
        if (q.end > c->today) /* not ended: no actual to grade yet */
            continue;
        money_t fcv = 0, actual = 0;
        int f = stored_forecast(c->db, c->ws, &q, &fcv, c->err);
        if (f < 0)
            return -1;
        if (f == 0)
            continue;
        if (fcdata_won_between(c->db, c->ws, q.start, q.end, &actual, c->err) != 0)
            return -1;
        if (k == 0) {
            has_lm = true;
            lm_forecast = fcv;
            lm_actual = actual;
        } else {
            pairs[npairs++] = (metrics_forecast_pair){0, fcv, actual};
        }
    }
    metrics_accuracy acc;
    metrics_accuracy_compute(pairs, (size_t)npairs, 1, &acc);
    char lm_label[16], why_lm[160];
    period_format(&lm, lm_label, sizeof lm_label);
    if (!has_lm)
        snprintf(why_lm, sizeof why_lm, "no forecast for last month (%s) stored by its start (POST /v1/forecasts)",
                 lm_label);
    else
        snprintf(why_lm, sizeof why_lm, "the forecast for last month (%s) expected 0", lm_label);
    const char *why_mape = "none of the last four ended periods has a forecast stored by its start and won revenue "
                           "(MAPE is undefined for an actual of 0)";
    figure(c, forecast, "forecast", "actual_vs_forecast_last_month",
           has_lm && lm_forecast > 0 ? frac_j((double)lm_actual / (double)lm_forecast) : json_null(), why_lm);
    /* core keeps MAPE in percent (as the accuracy report shows it); the dashboard's fraction */
    figure(c, forecast, "forecast", "mape", acc.periods ? frac_j(acc.mape_pct / 100) : json_null(), why_mape);
    explain(c, "mape",
            "mean of |actual - forecast| / actual over the last four ended periods with a forecast made by their start",
            json_pack("{s:I, s:f}", "periods", (json_int_t)acc.periods, "bias_pct", acc.bias_pct));
    explain(c, "actual_vs_forecast_last_month", "won last month / the forecast made for it by its start",
            json_pack("{s:o, s:o}", "forecast", has_lm ? money_j(lm_forecast) : json_null(), "actual",
                      has_lm ? money_j(lm_actual) : json_null()));
    if (acc.periods) {
        metric_value mv = {.ok = true,
                           .value = acc.mape_pct,
                           .status = acc.grade <= GRADE_GOOD         ? STATUS_GREEN
                                     : acc.grade == GRADE_NEEDS_WORK ? STATUS_YELLOW
                                                                     : STATUS_RED,
                           .band = mape_grade_name(acc.grade)};
        signal(c, "forecast_mape", &mv, "", "MAPE %.1f%% (%s)", acc.mape_pct);
    } else {
        signal(c, "forecast_mape", NULL, why_mape, "", 0);
    }
    return 0;
}

/* ---- conversion: cohorts that first reached a stage in the period (fractions) ---- */

/* The funnel's subjects (deals, or leads) as cohort events, from rows
 * (subject, stage, day) ordered by subject. NULL with c->err. */
static funnel_event *conversion_events(dash_ctx *c, const funnel_def *def, const char *sql, size_t *m, int *nsubjects)
{
    const char *pp[] = {c->ws};
    PGresult *cr = db_query(c->db, sql, 1, pp, c->err);
    if (!cr)
        return NULL;
    int ne = PQntuples(cr), n = 0;
    funnel_event *ev = calloc((size_t)ne + 1, sizeof *ev);
    if (!ev) {
        PQclear(cr);
        app_err_set(c->err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    *m = 0;
    for (int i = 0; i < ne; i++) {
        int st = funnel_stage_index(def, PQgetvalue(cr, i, 1));
        if (i == 0 || strcmp(PQgetvalue(cr, i, 0), PQgetvalue(cr, i - 1, 0)) != 0)
            n++;
        int subject = n - 1;
        caldate_t day = INT32_MIN;
        if (st < 0 || (!PQgetisnull(cr, i, 2) && !caldate_parse(PQgetvalue(cr, i, 2), &day)))
            continue;
        ev[(*m)++] = (funnel_event){subject, st, day};
    }
    PQclear(cr);
    *nsubjects = n;
    return ev;
}

/* Deals: their stage history (ordered by deal: the dense index is counted
 * in conversion_events, not by a window). */
#define CONVERSION_DEALS_SQL                                                                                           \
    "SELECT h.deal_id, h.stage, to_char(h.entered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"                                \
    " FROM deal_stage_history h JOIN deals d ON d.workspace_id = h.workspace_id"                                       \
    "  AND d.external_id = h.deal_id WHERE h.workspace_id = $1 AND d.deleted_at IS NULL"                               \
    " ORDER BY h.deal_id"

/* Leads (docs/metrics.md "Conversion from leads"): every lifecycle stage a
 * lead entered, the opportunity stage when a deal linked to it was created
 * (the seed's "Opportunity Created: AE ... enters in CRM"), and the stages
 * those deals entered after (closed_won with its date). The stage histories
 * are joined set-wise; a deal linked from a lead is looked up by its key
 * (the OFFSET 0 fence: without statistics, right after a bulk load, the
 * planner otherwise scanned the workspace's deals once per lead with a
 * link: 31 s on the demo). Rows are grouped by lead, the only order
 * conversion_events needs (COLLATE "C": a byte sort, whatever the
 * database's collation). */
#define CONVERSION_LEADS_SQL                                                                                           \
    "WITH links AS MATERIALIZED (SELECT DISTINCT l.external_id AS lead, d.external_id AS deal, d.created_at"           \
    "  FROM leads l CROSS JOIN LATERAL jsonb_array_elements_text(l.deals) t(id)"                                       \
    "  CROSS JOIN LATERAL (SELECT d.external_id, d.created_at FROM deals d WHERE d.workspace_id = l.workspace_id"      \
    "   AND d.external_id = t.id AND d.deleted_at IS NULL OFFSET 0) d"                                                 \
    "  WHERE l.workspace_id = $1 AND l.deleted_at IS NULL AND l.deals <> '[]')"                                        \
    " SELECT e.lead, e.stage, to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD') FROM ("                                   \
    "  SELECT h.lead_id AS lead, h.stage, h.entered_at AS at FROM lead_stage_history h JOIN leads l"                   \
    "   ON l.workspace_id = h.workspace_id AND l.external_id = h.lead_id AND l.deleted_at IS NULL"                     \
    "   WHERE h.workspace_id = $1"                                                                                     \
    "  UNION ALL SELECT x.lead, 'opportunity', x.created_at FROM links x"                                              \
    "  UNION ALL SELECT x.lead, h.stage, h.entered_at FROM links x JOIN deal_stage_history h"                          \
    "   ON h.workspace_id = $1 AND h.deal_id = x.deal) e"                                                              \
    " ORDER BY e.lead COLLATE \"C\""

static json_t *sec_conversion(dash_ctx *c)
{
    funnel_def def; /* the seed's stage keys, for the conversion cohorts */
    funnel_default(&def);
    dash_memo *mo = c->memo;
    if (!mo->have) {
        /* From leads when the workspace tracks them into the funnel: a lead
         * that ever reached MQL. Else from the deals' stage history, as
         * before leads. */
        const char *pp[] = {c->ws};
        char has[8];
        if (db_query_value(
                c->db,
                "SELECT EXISTS (SELECT 1 FROM lead_stage_history h JOIN leads l ON l.workspace_id = h.workspace_id"
                " AND l.external_id = h.lead_id WHERE h.workspace_id = $1 AND h.stage = 'mql'"
                " AND l.deleted_at IS NULL)",
                1, pp, has, sizeof has, c->err) < 0)
            return NULL;
        mo->leads = strcmp(has, "t") == 0;
        if (!(mo->ev =
                  conversion_events(c, &def, mo->leads ? CONVERSION_LEADS_SQL : CONVERSION_DEALS_SQL, &mo->m, &mo->n)))
            return NULL;
        mo->have = true;
    }
    const char *subjects = mo->leads ? "leads" : "deals", *subject = mo->leads ? "lead" : "deal";
    const funnel_event *ev = mo->ev;
    size_t m = mo->m;
    int n = mo->n;
    static const struct {
        const char *name, *from, *to;
    } conv[] = {{"mql_to_sql", "mql", "sql"},
                {"sql_to_opp", "sql", "opportunity"},
                {"opp_to_closed_won", "opportunity", "closed_won"},
                {"full_funnel", "mql", "closed_won"}};
    json_t *conversion = json_object();
    for (size_t k = 0; k < sizeof conv / sizeof conv[0]; k++) {
        funnel_cohort co = {0};
        int rc = funnel_cohort_conversion(&def, ev, m, n, funnel_stage_index(&def, conv[k].from),
                                          funnel_stage_index(&def, conv[k].to), c->P->start, c->P->end, &co);
        char why[120], how[200];
        if (rc != 0)
            snprintf(why, sizeof why, "the conversion %s -> %s could not be computed", conv[k].from, conv[k].to);
        else
            snprintf(why, sizeof why, "no %s first reached %s in the period", subject, conv[k].from);
        figure(c, conversion, "conversion", conv[k].name, rc == 0 && co.entered > 0 ? frac_j(co.rate) : json_null(),
               why);
        snprintf(how, sizeof how,
                 "%s that first reached the first stage in the period and ever reached the second (a later stage, "
                 "not lost, counts as reached)",
                 subjects);
        explain(c, conv[k].name, how,
                json_pack("{s:I, s:I, s:s}", "entered", (json_int_t)co.entered, "converted", (json_int_t)co.converted,
                          "from", subjects));
    }
    return conversion;
}

/* The whole document, sections in the seed's order (then null_reasons,
 * then explain). 0, or -1 with err. */
int dashboard_build(db_conn *db, const char *ws, const period *P, int fsm, bool want_explain, json_t **out,
                    app_err *err)
{
    dash_memo *memo = dash_memo_new();
    if (!memo) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    int rc = dashboard_build_shared(db, ws, P, fsm, want_explain, memo, out, err);
    dash_memo_free(memo);
    return rc;
}

int dashboard_build_shared(db_conn *db, const char *ws, const period *P, int fsm, bool want_explain, dash_memo *memo,
                           json_t **out, app_err *err)
{
    dash_ctx c = {.db = db, .ws = ws, .memo = memo, .P = P, .fsm = fsm, .err = err, .today = utc_today()};
    period_format(P, c.label, sizeof c.label);
    c.as_of = c.today < P->end ? c.today : P->end - 1;
    c.signals = json_array();
    c.null_reasons = json_object();
    c.explain = want_explain ? json_object() : NULL;
    char updated[16];
    caldate_format(c.today, updated, sizeof updated);
    json_t *doc = json_pack("{s:s, s:s}", "period", c.label, "updated", updated);
    dash_deals dd;
    bool have_deals = false;
    json_t *s, *forecast = NULL;
    int rc = -1;
    if (!(s = sec_arr(&c)) || json_object_set_new(doc, "arr", s) || !(s = sec_retention(&c)) ||
        json_object_set_new(doc, "retention", s) || !(s = sec_efficiency(&c)) ||
        json_object_set_new(doc, "efficiency", s))
        goto done;
    if (dash_deals_load(&c, &dd) != 0)
        goto done;
    have_deals = true;
    json_t *operating = NULL;
    if (!(s = sec_pipeline(&c, &dd, &operating)) || json_object_set_new(doc, "pipeline", s) ||
        json_object_set_new(doc, "operating", operating) || !(forecast = sec_forecast(&c, &dd)))
        goto done;
    dash_deals_free(&dd);
    have_deals = false;
    if (sec_accuracy(&c, forecast) != 0) {
        json_decref(forecast);
        goto done;
    }
    if (!(s = sec_conversion(&c))) {
        json_decref(forecast);
        goto done;
    }
    json_object_set_new(doc, "conversion", s);
    json_object_set_new(doc, "forecast", forecast);
    json_object_set_new(doc, "health_signals", c.signals);
    json_object_set_new(doc, "null_reasons", c.null_reasons);
    c.signals = c.null_reasons = NULL;
    if (c.explain) {
        json_object_set_new(doc, "explain", c.explain);
        c.explain = NULL;
    }
    rc = 0;
done:
    if (have_deals)
        dash_deals_free(&dd);
    json_decref(c.signals);
    json_decref(c.null_reasons);
    json_decref(c.explain);
    if (rc != 0) {
        json_decref(doc);
        if (err->code == ERR_NONE)
            app_err_set(err, ERR_INTERNAL, "could not build the dashboard");
        return -1;
    }
    *out = doc;
    return 0;
}

/* The seed renders ratios as "112%", "3.2x", "4.1:1" in YAML: the JSON
 * fractions become percentages with one decimal. */
static void yaml_style(json_t *doc)
{
    static const char *const pct[][2] = {
        {"retention", "nrr"},          {"retention", "grr"},         {"retention", "logo_retention"},
        {"conversion", "mql_to_sql"},  {"conversion", "sql_to_opp"}, {"conversion", "opp_to_closed_won"},
        {"conversion", "full_funnel"}, {"operating", "win_rate"},    {"forecast", "actual_vs_forecast_last_month"},
        {"forecast", "mape"}};
    char buf[32];
    for (size_t i = 0; i < sizeof pct / sizeof pct[0]; i++) {
        json_t *sec = json_object_get(doc, pct[i][0]), *v = json_object_get(sec, pct[i][1]);
        if (json_is_number(v)) {
            snprintf(buf, sizeof buf, "%.1f%%", json_number_value(v) * 100);
            json_object_set_new(sec, pct[i][1], json_string(buf));
        }
    }
    json_t *v = json_object_get(json_object_get(doc, "pipeline"), "coverage_ratio");
    if (json_is_number(v)) {
        snprintf(buf, sizeof buf, "%.1fx", json_number_value(v));
        json_object_set_new(json_object_get(doc, "pipeline"), "coverage_ratio", json_string(buf));
    }
    v = json_object_get(json_object_get(doc, "efficiency"), "ltv_cac_ratio");
    if (json_is_number(v)) {
        snprintf(buf, sizeof buf, "%.1f:1", json_number_value(v));
        json_object_set_new(json_object_get(doc, "efficiency"), "ltv_cac_ratio", json_string(buf));
    }
}

/* What identifies one dashboard answer. period is the query value as sent
 * (NULL: the quarter containing today), so a cached answer is found before
 * any database work; the workspace's fiscal-year start is part of the data
 * (a change to it is a write, which empties the cache). */
typedef struct {
    char ws[40];
    char period[64];
    bool has_period, explain, yaml;
    char key[160];
} dash_req;

/* Compute the document and store it in the cache (unless a write happened
 * since gen). Returns 0 with the text (caller frees) and its ETag, or -1
 * with err (a bad period is a 422). */
/* Without ?period= the dashboard answers for the current quarter, unless it
 * has no data: then for the latest quarter that has (issue 18; a demo of
 * 2017 data asked in 2026 showed 2026's nothing). A quarter has data when a
 * deal was created, entered a stage or closed in it, an ARR movement or spend
 * is dated in it, or an open deal is expected to close in it (a live
 * workspace on the first day of a quarter stays on it). *basis gets
 * "current" or "latest_with_data". 0, or -1 with err. */
static int default_period(db_conn *db, const char *ws, int fsm, period *P, const char **basis, app_err *err)
{
    *P = period_containing(PERIOD_QUARTER, utc_today(), fsm);
    *basis = "current";
    char sb[16], eb[16];
    const char *p[] = {ws, caldate_format(P->start, sb, sizeof sb), caldate_format(P->end, eb, sizeof eb)};
    PGresult *r = db_query(
        db,
        "SELECT to_char(greatest("
        "  (SELECT max(greatest(created_at, closed_at)) FROM deals WHERE workspace_id = $1 AND deleted_at IS NULL"
        "   AND created_at <= now()),"
        "  (SELECT max(entered_at) FROM deal_stage_history WHERE workspace_id = $1 AND entered_at <= now()),"
        "  (SELECT max(event_date) FROM arr_events WHERE workspace_id = $1 AND event_date <= current_date),"
        "  (SELECT max(period_start) FROM spend WHERE workspace_id = $1 AND period_start <= current_date))"
        "  AT TIME ZONE 'UTC', 'YYYY-MM-DD'),"
        " EXISTS (SELECT 1 FROM deals WHERE workspace_id = $1 AND deleted_at IS NULL AND status = 'open'"
        "  AND expected_close_date >= $2::date AND expected_close_date < $3::date)",
        3, p, err);
    if (!r)
        return -1;
    caldate_t latest;
    if (!PQgetisnull(r, 0, 0) && caldate_parse(PQgetvalue(r, 0, 0), &latest) && latest < P->start &&
        strcmp(PQgetvalue(r, 0, 1), "f") == 0) {
        *P = period_containing(PERIOD_QUARTER, latest, fsm);
        *basis = "latest_with_data";
    }
    PQclear(r);
    return 0;
}

static int dash_compute(db_conn *db, const dash_req *d, unsigned gen, char **text, size_t *len, char etag[48],
                        app_err *err)
{
    int fsm = workspace_fy_start(db, d->ws, err);
    if (fsm < 0)
        return -1;
    period P;
    const char *basis = "requested";
    if (d->has_period && !period_parse(d->period, fsm, &P)) {
        app_err_field(err, "period", "must be a period such as 2026-Q1, 2026-03 or FY2026");
        return -1;
    }
    if (d->has_period && !forecast_period_in_reach(&P, utc_today())) {
        app_err_field(err, "period", FORECAST_REACH_MSG);
        return -1;
    }
    if (!d->has_period && default_period(db, d->ws, fsm, &P, &basis, err) != 0)
        return -1;
    json_t *doc = NULL;
    if (dashboard_build(db, d->ws, &P, fsm, d->explain, &doc, err) != 0)
        return -1;
    json_object_set_new(doc, "period_basis", json_string(basis));
    char note[160] = "";
    if (strcmp(basis, "latest_with_data") == 0) {
        char cur[16], got[16];
        period now = period_containing(PERIOD_QUARTER, utc_today(), fsm);
        snprintf(note, sizeof note, "%s has no data yet: this is %s, the latest quarter with data",
                 period_format(&now, cur, sizeof cur), period_format(&P, got, sizeof got));
    }
    json_object_set_new(doc, "period_note", note[0] ? json_string(note) : json_null());
    if (d->yaml) {
        yaml_style(doc);
        *text = yconv_emit(doc, len);
    } else {
        *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
        *len = *text ? strlen(*text) : 0;
    }
    json_decref(doc);
    if (!*text) {
        app_err_set(err, ERR_INTERNAL, "could not encode the dashboard");
        return -1;
    }
    http_etag_of(*text, *len, etag, 48);
    respcache_put(d->key, *text, *len, etag, gen);
    return 0;
}

/* The background refresh of a stale answer (refresh.h). */
static void dash_refresh(db_conn *db, void *arg)
{
    const dash_req *d = arg;
    unsigned gen = respcache_generation();
    char *text = NULL, etag[48];
    size_t len = 0;
    app_err err = {0};
    if (dash_compute(db, d, gen, &text, &len, etag, &err) != 0)
        log_warn("dashboard", "background refresh failed: %s", err.detail);
    free(text);
}

static void dash_reply(http_req *rq, const dash_req *d, char *text, size_t len, const char *etag)
{
    if (d->yaml) /* YAML answers carry no validator (as before the cache served them) */
        http_reply_text(rq, 200, "application/yaml", text, len);
    else
        http_reply_text_etag(rq, "application/json", text, len, etag);
}

void h_dashboard(http_req *rq)
{
    app_err err = {0};
    const char *ps = http_query(rq, "period"), *ex = http_query(rq, "explain");
    if (ex && strcmp(ex, "true") != 0 && strcmp(ex, "false") != 0)
        app_err_field(&err, "explain", "must be true or false");
    if (ps && strlen(ps) >= sizeof((dash_req *)0)->period)
        app_err_field(&err, "period", "must be a period such as 2026-Q1, 2026-03 or FY2026");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    dash_req d = {.has_period = ps != NULL, .explain = ex && strcmp(ex, "true") == 0, .yaml = http_wants_yaml(rq)};
    snprintf(d.ws, sizeof d.ws, "%s", rq->auth.workspace_id);
    snprintf(d.period, sizeof d.period, "%s", ps ? ps : "");
    /* the period goes last, so no value can make two requests share a key;
     * without one, the day picks the quarter */
    if (ps)
        snprintf(d.key, sizeof d.key, "dashboard|%s|%d|%d|=%s", d.ws, d.explain, d.yaml, ps);
    else
        snprintf(d.key, sizeof d.key, "dashboard|%s|%d|%d|@%ld", d.ws, d.explain, d.yaml, (long)utc_today());

    /* pollers hit the same document: serve it from the short-lived cache */
    size_t len = 0;
    char etag[48];
    bool fresh = false, holding = false;
    char *cached = respcache_get(d.key, &len, etag, &fresh);
    if (cached && !fresh) {
        /* stale: serve it and let the refresh thread recompute; without that
         * thread one request recomputes while the others serve it */
        dash_req *copy = malloc(sizeof *copy);
        if (copy)
            *copy = d;
        if (!copy || !refresh_submit(d.key, dash_refresh, copy)) {
            free(copy);
            if (respcache_compute_try()) {
                free(cached);
                cached = NULL;
                holding = true;
            }
        }
    }
    if (!cached && !holding) { /* one computation per burst: the others wait, then read it */
        respcache_compute_begin();
        cached = respcache_get(d.key, &len, etag, &fresh);
        if (cached)
            respcache_compute_end();
    }
    if (cached) {
        dash_reply(rq, &d, cached, len, etag);
        return;
    }
    /* a dashboard not in the cache is built from the whole pipeline (seconds
     * on a large workspace): it takes a slot of the cost guard like the
     * other expensive reads; served from the cache it does not */
    if (!http_costly_enter(rq)) {
        respcache_compute_end();
        return;
    }
    db_conn *db = http_db(rq);
    if (!db) {
        respcache_compute_end();
        return;
    }
    unsigned gen = respcache_generation();
    char *text = NULL;
    int rc = dash_compute(db, &d, gen, &text, &len, etag, &err);
    respcache_compute_end();
    if (rc != 0)
        http_reply_error(rq, &err);
    else
        dash_reply(rq, &d, text, len, etag);
}

void h_revenue_waterfall(http_req *rq)
{
    app_err err = {0};
    const char *fs = http_query(rq, "from"), *ts = http_query(rq, "to");
    caldate_t from = 0, to = 0;
    if (!fs || !caldate_parse(fs, &from))
        app_err_field(&err, "from", "is required: a date YYYY-MM-DD");
    if (!ts || !caldate_parse(ts, &to))
        app_err_field(&err, "to", "is required: a date YYYY-MM-DD (inclusive)");
    if (err.code == ERR_NONE && to < from)
        app_err_field(&err, "to", "must not be before from");
    db_conn *db = err.code == ERR_NONE ? http_db(rq) : NULL;
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    if (!db)
        return;
    metrics_waterfall w;
    long rows = 0;
    if (waterfall(db, rq->auth.workspace_id, from, to + 1, &w, &rows, &err) != 0) {
        http_reply_error(rq, &err);
        return;
    }
    http_reply_json_etag(
        rq, json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I}, s:I}", "from", fs, "to",
                      ts, "starting", money_j(w.starting), "new_business", money_j(w.new_business), "expansion",
                      money_j(w.expansion), "reactivation", money_j(w.reactivation), "contraction",
                      money_j(w.contraction), "churn", money_j(w.churn), "ending", money_j(w.ending), "net_new",
                      money_j(w.net_new), "logos", "start", (json_int_t)w.logos_start, "churned",
                      (json_int_t)w.logos_churned, "new", (json_int_t)w.logos_new, "movements", (json_int_t)rows));
}

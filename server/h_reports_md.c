/* h_reports_md.c - the reports in Markdown (Accept: text/markdown): the
 * seed's Monthly RevOps Review template, the QBR's seven parts and the
 * one-page summary, filled from the JSON document (the same numbers). */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reports.h"

/* A growing buffer; a failed allocation leaves it NULL and later writes no-ops. */
typedef struct {
    char *b;
    size_t len, cap;
} md_buf;

__attribute__((format(printf, 2, 3))) static void out(md_buf *m, const char *fmt, ...)
{
    if (!m->b)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(m->b + m->len, m->cap - m->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < m->cap - m->len) {
            m->len += (size_t)n;
            return;
        }
        size_t cap = m->cap * 2 + (size_t)n;
        char *nb = realloc(m->b, cap);
        if (!nb) {
            free(m->b);
            m->b = NULL;
            return;
        }
        m->b = nb;
        m->cap = cap;
    }
}

void reports_money(char *buf, size_t len, double v, const char *currency)
{
    long long whole = llround(v);
    char raw[32], grouped[48];
    snprintf(raw, sizeof raw, "%lld", whole < 0 ? -whole : whole);
    size_t n = strlen(raw), j = 0;
    for (size_t i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            grouped[j++] = ',';
        grouped[j++] = raw[i];
    }
    grouped[j] = '\0';
    if (strcmp(currency, "USD") == 0)
        snprintf(buf, len, "%s$%s", whole < 0 ? "-" : "", grouped);
    else
        snprintf(buf, len, "%s%s %s", whole < 0 ? "-" : "", grouped, currency);
}

static const char *s_of(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* A value in its unit; "—" when null. signed_: a difference (+/-, points for fractions). */
static void value(char *b, size_t n, const json_t *v, const char *unit, const char *cur, bool signed_)
{
    if (!json_is_number(v)) {
        snprintf(b, n, "—");
        return;
    }
    double x = json_number_value(v);
    const char *sg = signed_ && x > 0 ? "+" : "";
    if (strcmp(unit, "money") == 0) {
        char m[48];
        reports_money(m, sizeof m, x, cur);
        snprintf(b, n, "%s%s", sg, m);
    } else if (strcmp(unit, "fraction") == 0) {
        snprintf(b, n, signed_ ? "%s%.1f pts" : "%s%.1f%%", sg, x * 100);
    } else if (strcmp(unit, "multiple") == 0) {
        snprintf(b, n, "%s%.2fx", sg, x);
    } else if (strcmp(unit, "months") == 0) {
        snprintf(b, n, "%s%.1f months", sg, x);
    } else {
        snprintf(b, n, "%s%.1f days", sg, x);
    }
}

static void sources(md_buf *m, const json_t *src)
{
    out(m, "_Source: ");
    if (json_is_string(src)) {
        out(m, "%s", json_string_value(src));
    } else {
        size_t i;
        const json_t *s;
        json_array_foreach(src, i, s) out(m, "%s%s", i ? "; " : "", json_string_value(s));
    }
    out(m, "_\n\n");
}

/* | Metric | Actual | Target | Δ | Trend | (previous: a Previous column too) */
static void metric_table(md_buf *m, const json_t *rows, const char *cur, bool previous)
{
    out(m, previous ? "| Metric | Actual | Target | Δ | Previous | Trend "
                      "|\n|--------|--------|--------|---|----------|-------|\n"
                    : "| Metric | Actual | Target | Δ | Trend |\n|--------|--------|--------|---|-------|\n");
    size_t i;
    const json_t *r;
    json_array_foreach(rows, i, r)
    {
        const char *u = s_of(r, "unit");
        char a[64], t[64], d[64], p[64];
        value(a, sizeof a, json_object_get(r, "actual"), u, cur, false);
        value(t, sizeof t, json_object_get(r, "target"), u, cur, false);
        value(d, sizeof d, json_object_get(r, "delta"), u, cur, true);
        value(p, sizeof p, json_object_get(r, "previous"), u, cur, false);
        const char *arrow = s_of(r, "arrow");
        if (previous)
            out(m, "| %s | %s | %s | %s | %s | %s |\n", s_of(r, "label"), a, t, d, p, *arrow ? arrow : "—");
        else
            out(m, "| %s | %s | %s | %s | %s |\n", s_of(r, "label"), a, t, d, *arrow ? arrow : "—");
    }
    out(m, "\n");
}

/* against: "Month" or "Quarter" (the column the seed calls "vs. Last Month") */
static void funnel_table(md_buf *m, const json_t *rows, const char *against)
{
    out(m,
        "| Stage | Volume | Conversion | vs. Last %s | vs. Target |\n"
        "|-------|--------|-----------|----------------|------------|\n",
        against);
    size_t i;
    const json_t *r;
    json_array_foreach(rows, i, r)
    {
        char c[32], lm[32], vt[32];
        value(c, sizeof c, json_object_get(r, "actual"), "fraction", "", false);
        value(lm, sizeof lm, json_object_get(r, "change"), "fraction", "", true);
        value(vt, sizeof vt, json_object_get(r, "delta"), "fraction", "", true);
        out(m, "| %s | %lld | %s | %s | %s |\n", s_of(r, "label"),
            (long long)json_integer_value(json_object_get(r, "volume")), c, lm, vt);
    }
    out(m, "\n");
}

static void mover_list(md_buf *m, const json_t *items, const char *cur, const char *none)
{
    size_t i;
    const json_t *x;
    json_array_foreach(items, i, x)
    {
        const char *u = s_of(x, "unit");
        char p[64], a[64], c[64];
        value(p, sizeof p, json_object_get(x, "previous"), u, cur, false);
        value(a, sizeof a, json_object_get(x, "actual"), u, cur, false);
        value(c, sizeof c, json_object_get(x, "change"), u, cur, true);
        out(m, "%zu. %s: %s → %s (%s)\n", i + 1, s_of(x, "label"), p, a, c);
    }
    if (!json_array_size(items))
        out(m, "1. %s\n", none);
    out(m, "\n");
}

static void change_list(md_buf *m, const json_t *items, const char *none)
{
    size_t i;
    const json_t *x;
    json_array_foreach(items, i, x)
        out(m, "%zu. %s \"%s\" %s: version %lld (%s)\n", i + 1, s_of(x, "kind"), s_of(x, "name"), s_of(x, "change"),
            (long long)json_integer_value(json_object_get(x, "version")), s_of(x, "changed_at"));
    if (!json_array_size(items))
        out(m, "1. %s\n", none);
    out(m, "\n");
}

static void priority_list(md_buf *m, const json_t *items, const char *none)
{
    size_t i;
    const json_t *x;
    json_array_foreach(items, i, x)
        out(m, "%zu. [%s] %s — %s\n", i + 1, s_of(x, "status"), s_of(x, "note"), s_of(x, "source"));
    if (!json_array_size(items))
        out(m, "1. %s\n", none);
    out(m, "\n");
}

static void monthly(md_buf *m, const json_t *d, const char *cur)
{
    const json_t *s = json_object_get(d, "sections");
    out(m, "## %s\n\n_As of %s — %s._\n\n", s_of(d, "title"), s_of(d, "as_of"), s_of(d, "as_of_rule"));
    const json_t *h = json_object_get(s, "headline_metrics");
    out(m, "### Headline Metrics\n");
    sources(m, json_object_get(h, "source"));
    metric_table(m, json_object_get(h, "rows"), cur, false);
    out(m, "### Funnel Analysis\n");
    sources(m, json_object_get(json_object_get(s, "funnel_analysis"), "source"));
    funnel_table(m, json_object_get(json_object_get(s, "funnel_analysis"), "rows"), "Month");
    out(m, "### Operating Metrics (Tier 2)\n");
    metric_table(m, json_object_get(json_object_get(s, "operating_metrics"), "rows"), cur, true);
    out(m, "### What Worked\n");
    mover_list(m, json_object_get(json_object_get(s, "what_worked"), "items"), cur,
               "No metric improved on last month.");
    out(m, "### What Didn't\n");
    mover_list(m, json_object_get(json_object_get(s, "what_didnt"), "items"), cur,
               "No metric deteriorated from last month.");
    out(m, "### Process Changes Made\n");
    change_list(m, json_object_get(json_object_get(s, "process_changes"), "items"),
                "No funnel, scoring model, routing rule or comp plan version changed in the month.");
    const json_t *pr = json_object_get(s, "next_month_priorities");
    out(m, "### Next Month Priorities\n");
    priority_list(m, json_object_get(pr, "items"), "No red or yellow health signal.");
    if (json_is_string(json_object_get(pr, "note")))
        out(m, "_%s._\n", s_of(pr, "note"));
}

/* Team performance per rep: quota, won, attainment, pace, projected attainment (GET /v1/attainment). */
static void rep_table(md_buf *m, const json_t *reps, const json_t *total, const char *cur)
{
    out(m, "| Rep | Quota | Won | Attainment | Pace | Projected attainment |\n"
           "|-----|-------|-----|------------|------|----------------------|\n");
    size_t i;
    const json_t *r;
    for (i = 0; i <= json_array_size(reps); i++) {
        r = i < json_array_size(reps) ? json_array_get(reps, i) : total;
        if (!r)
            continue;
        char q[48], w[48], a[32], pa[32];
        value(q, sizeof q, json_object_get(r, "quota"), "money", cur, false);
        value(w, sizeof w, json_object_get(r, "won"), "money", cur, false);
        value(a, sizeof a, json_object_get(r, "attainment"), "fraction", cur, false);
        value(pa, sizeof pa, json_object_get(r, "projected_attainment"), "fraction", cur, false);
        const char *ps = s_of(r, "pace_status");
        out(m, "| %s | %s | %s | %s | %s | %s |\n",
            json_is_string(json_object_get(r, "name")) ? s_of(r, "name") : s_of(r, "key"), q, w, a, *ps ? ps : "—", pa);
    }
    out(m, "\n");
}

/* The QBR's source mix: this quarter's rows with the previous quarter's
 * share of created pipeline beside them. */
static void source_mix_table(md_buf *m, const json_t *mix, const json_t *prev, const char *cur)
{
    const json_t *rows = json_object_get(mix, "sources");
    out(m, "**Source mix** (%s; previous quarter %s)\n\n", s_of(mix, "period"), s_of(prev, "period"));
    if (json_array_size(rows) == 0) {
        out(m, "No deal was created, closed or open in the quarter.\n\n");
        return;
    }
    out(m,
        "| Source | Created | Share | Previous share | Won | Win rate | Open at %s |\n|---|---|---|---|---|---|---|\n",
        s_of(mix, "as_of"));
    size_t i, k;
    const json_t *r, *q;
    json_array_foreach(rows, i, r)
    {
        const json_t *before = NULL;
        json_array_foreach(json_object_get(prev, "sources"), k, q) if (strcmp(s_of(q, "source"), s_of(r, "source")) ==
                                                                       0) before = json_object_get(q, "created_share");
        char c[48], sh[24], ps[24], w[48], wr[24], o[48];
        value(c, sizeof c, json_object_get(r, "created_amount"), "money", cur, false);
        value(sh, sizeof sh, json_object_get(r, "created_share"), "fraction", cur, false);
        value(ps, sizeof ps, before, "fraction", cur, false);
        value(w, sizeof w, json_object_get(r, "won_amount"), "money", cur, false);
        value(wr, sizeof wr, json_object_get(r, "win_rate"), "fraction", cur, false);
        value(o, sizeof o, json_object_get(r, "open_amount"), "money", cur, false);
        out(m, "| %s | %s (%lld) | %s | %s | %s (%lld) | %s | %s |\n", s_of(r, "source"), c,
            (long long)json_integer_value(json_object_get(r, "created_deals")), sh, ps, w,
            (long long)json_integer_value(json_object_get(r, "won_deals")), wr, o);
    }
    out(m, "\n");
}

/* The QBR's GTM efficiency per segment (GET /v1/metrics/unit-economics). */
static void segment_table(md_buf *m, const json_t *ue, const char *cur)
{
    const json_t *groups = json_object_get(ue, "groups");
    out(m, "**By segment**\n\n");
    if (json_array_size(groups) == 0) {
        out(m, "No segment has spend or customers in the quarter.\n\n");
        return;
    }
    out(m,
        "| Segment | S&M spend | New customers | CAC | LTV | LTV:CAC | CAC payback |\n|---|---|---|---|---|---|---|\n");
    size_t i;
    const json_t *g;
    json_array_foreach(groups, i, g)
    {
        char sp[48], cac[48], ltv[48], lc[24], pb[24];
        value(sp, sizeof sp, json_object_get(g, "sm_spend"), "money", cur, false);
        value(cac, sizeof cac, json_object_get(g, "cac"), "money", cur, false);
        value(ltv, sizeof ltv, json_object_get(g, "ltv"), "money", cur, false);
        value(lc, sizeof lc, json_object_get(g, "ltv_cac_ratio"), "multiple", cur, false);
        value(pb, sizeof pb, json_object_get(g, "cac_payback_months"), "months", cur, false);
        out(m, "| %s | %s | %lld | %s | %s | %s | %s |\n", s_of(g, "group"), sp,
            (long long)json_integer_value(json_object_get(g, "new_customers")), cac, ltv, lc, pb);
    }
    out(m, "\n");
}

static void qbr(md_buf *m, const json_t *d, const char *cur)
{
    out(m, "## %s\n\n_As of %s — %s._\n\n", s_of(d, "title"), s_of(d, "as_of"), s_of(d, "as_of_rule"));
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(d, "parts"), i, p)
    {
        out(m, "### %lld. %s (%lld min) — %s\n", (long long)json_integer_value(json_object_get(p, "part")),
            s_of(p, "title"), (long long)json_integer_value(json_object_get(p, "minutes")), s_of(p, "focus"));
        sources(m, json_object_get(p, "source"));
        const char *key = s_of(p, "key");
        if (strcmp(key, "funnel_deep_dive") == 0) {
            funnel_table(m, json_object_get(p, "rows"), "Quarter");
        } else if (strcmp(key, "process_and_tech") == 0) {
            out(m, "**What changed**\n\n");
            change_list(m, json_object_get(p, "changes"),
                        "No funnel, scoring model, routing rule or comp plan version changed in the quarter.");
            out(m, "**What's planned** (from the health signals)\n\n");
            priority_list(m, json_object_get(p, "planned"), "No red or yellow health signal.");
        } else if (strcmp(key, "next_quarter_plan") == 0) {
            out(m, "Quarter: %s\n\n", s_of(p, "quarter"));
            metric_table(m, json_object_get(p, "rows"), cur, false);
            out(m, "**Key bets** (from the next quarter's health signals)\n\n");
            priority_list(m, json_object_get(p, "priorities"), "No red or yellow health signal.");
        } else {
            metric_table(m, json_object_get(p, "rows"), cur, true);
        }
        if (json_object_get(p, "by_segment"))
            segment_table(m, json_object_get(p, "by_segment"), cur);
        if (json_object_get(p, "source_mix"))
            source_mix_table(m, json_object_get(p, "source_mix"), json_object_get(p, "source_mix_previous"), cur);
        if (json_is_array(json_object_get(p, "reps")))
            rep_table(m, json_object_get(p, "reps"), json_object_get(p, "reps_total"), cur);
        const json_t *tm = json_object_get(p, "team");
        if (tm) {
            char at[32];
            value(at, sizeof at, json_object_get(tm, "attrition_rate"), "fraction", cur, false);
            out(m,
                "Team: headcount %lld → %lld (%lld hired, %lld departed; attrition %s); %lld ramping, %.2f ramped "
                "equivalent.\n\n",
                (long long)json_integer_value(json_object_get(tm, "headcount_start")),
                (long long)json_integer_value(json_object_get(tm, "headcount_end")),
                (long long)json_integer_value(json_object_get(tm, "hired")),
                (long long)json_integer_value(json_object_get(tm, "departed")), at,
                (long long)json_integer_value(json_object_get(tm, "ramping")),
                json_number_value(json_object_get(tm, "ramped_equivalent")));
        }
        if (json_is_string(json_object_get(p, "note")))
            out(m, "_%s._\n\n", s_of(p, "note"));
    }
}

static void summary(md_buf *m, const json_t *d, const char *cur)
{
    const json_t *a = json_object_get(d, "answer");
    static const struct {
        const char *k, *w;
    } words[] = {{"yes", "Yes"}, {"likely", "Likely"}, {"at_risk", "At risk"}, {"no", "No"}, {"unknown", "Unknown"}};
    const char *w = "Unknown";
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(s_of(a, "will_we_hit"), words[i].k) == 0)
            w = words[i].w;
    out(m, "## %s\n\n_As of %s — %s._\n\n", s_of(d, "title"), s_of(d, "as_of"), s_of(d, "as_of_rule"));
    out(m, "**Will we hit the number? %s.** %s\n\n", w, s_of(a, "statement"));
    out(m, "- **Largest risk:** %s\n", s_of(json_object_get(d, "largest_risk"), "statement"));
    out(m, "- **Decision needed:** %s\n", s_of(json_object_get(d, "decision_needed"), "statement"));
    out(m, "- **Trade-off:** %s\n\n", s_of(json_object_get(d, "trade_off"), "statement"));
    const json_t *sp = json_object_get(d, "supporting");
    out(m, "### Supporting figures\n");
    sources(m, json_object_get(sp, "source"));
    metric_table(m, json_object_get(sp, "rows"), cur, true);
}

char *reports_markdown(const json_t *doc)
{
    md_buf m = {malloc(8192), 0, 8192};
    if (!m.b)
        return NULL;
    m.b[0] = '\0';
    const char *kind = s_of(doc, "report"), *cur = s_of(doc, "currency");
    if (!*cur)
        cur = "USD";
    if (strcmp(kind, "monthly") == 0)
        monthly(&m, doc, cur);
    else if (strcmp(kind, "qbr") == 0)
        qbr(&m, doc, cur);
    else
        summary(&m, doc, cur);
    return m.b;
}

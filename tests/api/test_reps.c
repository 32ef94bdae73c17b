/* test_reps.c - reps and accounts: attainment and pace on crafted quotas
 * (as of a past day and now, per rep, team and manager). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"

static double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }
static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void send(const api_ws *ws, const char *method, const char *path, const char *body)
{
    api_resp *r = api_send_json(method, path, ws->write, body);
    ck_assert_msg(r->status == 200 || r->status == 201, "%s %s: %ld %s", method, path, r->status, r->body);
    api_resp_free(r);
}

/* The calendar quarter holding the day `offset` days from today: its label,
 * and the offsets of its first and last day. */
typedef struct {
    char label[11];
    int first, last;
} quarter;

static quarter quarter_at(int offset)
{
    quarter q;
    char other[11];
    api_quarter_of_day(offset, q.label);
    q.first = q.last = offset;
    while (strcmp(api_quarter_of_day(q.first - 1, other), q.label) == 0)
        q.first--;
    while (strcmp(api_quarter_of_day(q.last + 1, other), q.label) == 0)
        q.last++;
    return q;
}

static void rep(const api_ws *ws, const char *id, const char *manager, const char *label, long quota)
{
    char path[64], body[256];
    snprintf(path, sizeof path, "/v1/reps/%s", id);
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"role\":\"ae\",\"manager\":%s%s%s,\"quotas\":{\"%s\":%ld}}", id,
             manager ? "\"" : "", manager ? manager : "null", manager ? "\"" : "", label, quota);
    send(ws, "PUT", path, body);
}

/* A deal won on day `won_day` (offset from today), created 30 days before. */
static void won(const api_ws *ws, const char *id, const char *owner, long amount, int won_day)
{
    char path[64], body[400], c[11], w[11];
    snprintf(path, sizeof path, "/v1/deals/%s", id);
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"amount\":%ld,\"stage\":\"closed_won\",\"status\":\"won\",\"owner\":\"%s\","
             "\"created_at\":\"%sT00:00:00Z\",\"closed_at\":\"%sT10:00:00Z\"}",
             id, amount, owner, api_day(won_day - 30, c), api_day(won_day, w));
    send(ws, "PUT", path, body);
}

static const json_t *row(const json_t *att, const char *key)
{
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(att, "items"), i, r) if (strcmp(str(r, "key"), key) == 0) return r;
    ck_abort_msg("no row %s", key);
    return NULL;
}

static double r4(double v) { return round(v * 10000) / 10000; }

/* mia manages ann and bob, bob manages dan; cy has no manager. A quarter
 * that has ended, looked at from day 45 of it and from today. */
START_TEST(attainment_and_pace_on_crafted_quotas)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    quarter q = quarter_at(-200);
    int len = q.last - q.first + 1;
    rep(&ws, "mia", NULL, q.label, 250000);
    rep(&ws, "ann", "mia", q.label, 100000);
    rep(&ws, "bob", "mia", q.label, 50000);
    rep(&ws, "cy", NULL, q.label, 80000);
    rep(&ws, "dan", "bob", q.label, 20000);
    won(&ws, "a1", "ann", 30000, q.first + 10);
    won(&ws, "a2", "ann", 30000, q.first + 40);
    won(&ws, "b1", "bob", 10000, q.first + 20);
    won(&ws, "d1", "dan", 5000, q.first + 50); /* after day 45 */
    won(&ws, "x1", "ann", 99000, q.first - 5); /* the quarter before */
    /* open since day 5, closing on the quarter's last day, 50% */
    char path[128], body[400], at[11], close[11];
    snprintf(body, sizeof body,
             "{\"as_of\":\"%sT12:00:00Z\",\"name\":\"o1\",\"amount\":40000,\"stage\":\"proposal\","
             "\"probability\":0.5,\"owner\":\"ann\",\"expected_close_date\":\"%s\"}",
             api_day(q.first + 5, at), api_day(q.last, close));
    send(&ws, "PUT", "/v1/deals/o1", body);

    char asof[11];
    api_day(q.first + 45, asof);
    snprintf(path, sizeof path, "/v1/attainment?period=%s&as_of=%s", q.label, asof);
    api_resp *r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    const json_t *a = r->json;
    ck_assert_str_eq(str(a, "as_of_rule"), "reconstructed");
    ck_assert_str_eq(str(a, "method_used"), "weighted");
    ck_assert(num(a, "elapsed_share") == r4(45.0 / len));
    const json_t *ann = row(a, "ann");
    ck_assert(num(ann, "quota") == 100000 && num(ann, "won") == 60000);
    ck_assert(num(ann, "attainment") == 0.6);
    double exp_to_date = round(100000.0 * 45 / len * 100) / 100;
    ck_assert_msg(num(ann, "expected_to_date") == exp_to_date, "%f vs %f", num(ann, "expected_to_date"), exp_to_date);
    ck_assert(fabs(num(ann, "pace_gap") - (60000 - exp_to_date)) < 0.005);
    ck_assert(num(ann, "pace") == r4(0.6 / (45.0 / len)));
    ck_assert_str_eq(str(ann, "pace_status"), "on_pace");
    ck_assert_msg(num(ann, "projected") == 80000, "%s", r->body); /* 60,000 won + 40,000 x 0.5 */
    ck_assert(num(ann, "projected_attainment") == 0.8);
    const json_t *dan = row(a, "dan");
    ck_assert(num(dan, "won") == 0 && num(dan, "attainment") == 0);
    ck_assert_str_eq(str(dan, "pace_status"), "behind");
    ck_assert(num(dan, "pace_gap") == -round(20000.0 * 45 / len * 100) / 100);
    const json_t *t = json_object_get(a, "total");
    ck_assert(num(t, "quota") == 500000 && num(t, "won") == 70000 && num(t, "projected") == 90000);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "members")), 5);
    api_resp_free(r);

    /* teams: a manager's direct reports */
    snprintf(path, sizeof path, "/v1/attainment?period=%s&as_of=%s&group_by=team", q.label, asof);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    const json_t *tm = row(r->json, "mia");
    ck_assert(num(tm, "quota") == 150000 && num(tm, "won") == 70000 && num(tm, "projected") == 90000);
    ck_assert_int_eq(json_integer_value(json_object_get(tm, "members")), 2);
    const json_t *none = row(r->json, "(no manager)");
    ck_assert(num(none, "quota") == 330000 && num(none, "won") == 0);
    ck_assert(num(row(r->json, "bob"), "quota") == 20000);
    api_resp_free(r);

    /* managers: everyone beneath, at any depth; the manager's own quota apart */
    snprintf(path, sizeof path, "/v1/attainment?period=%s&as_of=%s&group_by=manager", q.label, asof);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    const json_t *m = row(r->json, "mia");
    ck_assert(num(m, "quota") == 170000 && num(m, "won") == 70000 && num(m, "own_quota") == 250000);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "members")), 3);
    ck_assert(num(row(r->json, "bob"), "own_quota") == 50000);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 2);
    api_resp_free(r);

    /* today: the quarter is over, everything it won counts, nothing open can still close in it */
    snprintf(path, sizeof path, "/v1/attainment?period=%s", q.label);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "as_of_rule"), "current");
    ck_assert(num(r->json, "elapsed_share") == 1);
    ck_assert(num(row(r->json, "dan"), "won") == 5000 && num(row(r->json, "dan"), "attainment") == 0.25);
    ck_assert(num(row(r->json, "ann"), "projected") == 60000);
    ck_assert(num(row(r->json, "ann"), "pace") == 0.6);
    ck_assert(num(json_object_get(r->json, "total"), "won") == 75000);
    api_resp_free(r);

    /* another workspace sees none of it */
    r = api_get(path, other.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    ck_assert(json_is_null(json_object_get(json_object_get(r->json, "total"), "quota")));
    api_resp_free(r);
}
END_TEST

START_TEST(attainment_bad_input)
{
    api_ws ws;
    api_new_workspace(&ws);
    char path[96], d[11];
    snprintf(path, sizeof path, "/v1/attainment?as_of=%s", api_day(1, d));
    const char *bad[] = {"/v1/attainment?group_by=region", "/v1/attainment?period=2026-Q5",
                         "/v1/attainment?as_of=2026-02-30", path, "/v1/attainment?perod=2026-Q1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        api_resp *r = api_get(bad[i], ws.read);
        ck_assert_status(r, 422);
        ck_assert_str_eq(r->content_type, "application/problem+json");
        api_resp_free(r);
    }
    api_resp *r = api_get("/v1/attainment", NULL);
    ck_assert_status(r, 401);
    api_resp_free(r);
    r = api_get("/v1/attainment?group_by=manager", ws.read); /* an empty workspace: rows none, no crash */
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    api_resp_free(r);
}
END_TEST

/* A deal won on day `won_day` with an account. */
static void won_at(const api_ws *ws, const char *id, const char *owner, const char *account, long amount, int won_day)
{
    char path[64], body[400], c[11], w[11];
    snprintf(path, sizeof path, "/v1/deals/%s", id);
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"amount\":%ld,\"stage\":\"closed_won\",\"status\":\"won\",\"owner\":\"%s\","
             "\"account\":\"%s\",\"created_at\":\"%sT00:00:00Z\",\"closed_at\":\"%sT10:00:00Z\"}",
             id, amount, owner, account, api_day(won_day - 30, c), api_day(won_day, w));
    send(ws, "PUT", path, body);
}

static void churn(const api_ws *ws, const char *account, int day)
{
    char body[200], d[11];
    snprintf(body, sizeof body, "{\"account\":\"%s\",\"date\":\"%s\",\"kind\":\"churn\",\"amount\":1000}", account,
             api_day(day, d));
    send(ws, "POST", "/v1/arr-events", body);
}

/* The month label ("2026-03") of the day offset days from today. */
static char *month_of(int offset, char out[static 11])
{
    api_day(offset, out);
    out[7] = 0;
    return out;
}

static const json_t *stmt_of(const json_t *s, const char *rep)
{
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(s, "items"), i, x) if (strcmp(str(x, "rep"), rep) == 0) return x;
    ck_abort_msg("no statement for %s", rep);
    return NULL;
}

static api_resp *statement(const api_ws *ws, const char *key, const char *plan, const char *period)
{
    char path[128], body[64];
    snprintf(path, sizeof path, "/v1/comp-plans/%s/statements", plan);
    snprintf(body, sizeof body, "{\"period\":\"%s\"}", period);
    (void)ws;
    return api_send_json("POST", path, key, body);
}

static double sub(const json_t *o, const char *a, const char *b) { return num(json_object_get(o, a), b); }

/* $100,000 variable, one new-ARR component at $250,000 a quarter (target
 * incentive $25,000 a quarter), the seed's rate table, paid monthly; a $1,000
 * SPIF at $400 a deal; ann at 40%, bob at 100%, cy at 150% of quota; ann's
 * account churns 60 days after her deal (clawed back), bob's after 120 (not). */
START_TEST(statements_to_the_cent)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    quarter q = quarter_at(-200);
    rep(&ws, "ann", NULL, q.label, 1);
    rep(&ws, "bob", NULL, q.label, 1);
    rep(&ws, "cy", NULL, q.label, 1);
    won_at(&ws, "a1", "ann", "acme", 100000, q.first + 5);
    won_at(&ws, "b1", "bob", "beta", 250000, q.first + 5);
    won_at(&ws, "c1", "cy", "gamma", 250000, q.first + 5);
    won_at(&ws, "c2", "cy", "delta", 125000, q.first + 35);
    churn(&ws, "acme", q.first + 5 + 60);
    churn(&ws, "beta", q.first + 5 + 120);
    char body[900], f[11], t[11];
    snprintf(body, sizeof body,
             "{\"name\":\"AE MM\",\"role\":\"ae_mid_market\",\"base\":100000,\"variable\":100000,"
             "\"quota_period\":\"quarter\",\"payout_frequency\":\"monthly\","
             "\"components\":[{\"metric\":\"new_arr\",\"weight\":1,\"quota\":250000}],"
             "\"rate_table\":[{\"from\":0,\"to\":0.5,\"rate\":0.5},{\"from\":0.5,\"to\":1,\"rate\":1},"
             "{\"from\":1,\"to\":null,\"rate\":1.5}],\"cap\":2,"
             "\"spif\":{\"budget\":1000,\"per_deal\":400,\"from\":\"%s\",\"to\":\"%s\"},"
             "\"clawback_days\":90,\"reps\":[\"ann\",\"bob\",\"cy\"]}",
             api_day(q.first, f), api_day(q.last, t));
    api_resp *r = api_send_json("POST", "/v1/comp-plans", ws.write, body);
    ck_assert_status(r, 201);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "warnings")), 0);
    ck_assert(num(r->json, "ote") == 200000);
    char id[40];
    snprintf(id, sizeof id, "%s", str(r->json, "id"));
    api_resp_free(r);

    /* the quarter: 40% -> 25,000 x 0.4 x 0.5; 100% -> 25,000; 150% -> 25,000 + 12,500 x 1.5 */
    r = statement(&ws, ws.read, id, q.label);
    ck_assert_status(r, 200);
    const json_t *ann = stmt_of(r->json, "ann"), *bob = stmt_of(r->json, "bob"), *cy = stmt_of(r->json, "cy");
    const json_t *ac = json_array_get(json_object_get(ann, "components"), 0);
    ck_assert(num(ac, "payout") == 5000 && num(ac, "attainment") == 0.4 && num(ac, "target_incentive") == 25000);
    ck_assert(num(json_object_get(ac, "tier"), "rate") == 0.5);
    ck_assert(num(json_array_get(json_object_get(bob, "components"), 0), "payout") == 25000);
    const json_t *cc = json_array_get(json_object_get(cy, "components"), 0);
    ck_assert(num(cc, "payout") == 43750 && num(cc, "attainment") == 1.5);
    ck_assert(num(json_object_get(cc, "tier"), "rate") == 1.5);
    /* a line per deal: c1 takes cy to 100% (25,000), c2 is all accelerator (18,750) */
    const json_t *l = json_object_get(cy, "lines");
    ck_assert_int_eq(json_array_size(l), 2);
    ck_assert_str_eq(str(json_array_get(l, 0), "id"), "c1");
    ck_assert(num(json_array_get(l, 0), "commission") == 25000);
    ck_assert(num(json_array_get(l, 1), "commission") == 18750);
    /* SPIF: a1, b1, c1 (same day, by id) get 400, 400 and the 200 left; c2 nothing */
    ck_assert(sub(ann, "spif", "amount") == 400 && sub(bob, "spif", "amount") == 400);
    ck_assert(sub(cy, "spif", "amount") == 200);
    ck_assert(num(r->json, "spif_budget_left") == 0);
    /* acme churned 60 days after a1: its 5,000 comes back in this quarter */
    ck_assert(sub(ann, "clawbacks", "amount") == -5000);
    const json_t *cb = json_array_get(json_object_get(json_object_get(ann, "clawbacks"), "items"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(cb, "days")), 60);
    ck_assert(num(ann, "payout") == 400 && num(bob, "payout") == 25400 && num(cy, "payout") == 43950);
    ck_assert(sub(r->json, "totals", "payout") == 400 + 25400 + 43950);
    api_resp_free(r);

    /* monthly: the second month pays cy only c2's accelerated part */
    char m[11];
    r = statement(&ws, ws.read, id, month_of(q.first + 35, m));
    ck_assert_status(r, 200);
    cy = stmt_of(r->json, "cy");
    cc = json_array_get(json_object_get(cy, "components"), 0);
    ck_assert(num(cc, "achieved_before") == 250000 && num(cc, "achieved") == 375000 && num(cc, "payout") == 18750);
    ck_assert(num(cy, "payout") == 18750 && num(stmt_of(r->json, "ann"), "payout") == 0);
    api_resp_free(r);
    /* the month of the churn at day 60 claws back; the month of the churn at day 120 does not */
    r = statement(&ws, ws.read, id, month_of(q.first + 65, m));
    ck_assert_status(r, 200);
    ck_assert(num(stmt_of(r->json, "ann"), "payout") == -5000);
    api_resp_free(r);
    r = statement(&ws, ws.read, id, month_of(q.first + 125, m));
    ck_assert_status(r, 200);
    bob = stmt_of(r->json, "bob");
    ck_assert_int_eq(json_array_size(json_object_get(json_object_get(bob, "clawbacks"), "items")), 0);
    ck_assert(num(bob, "payout") == 0);
    api_resp_free(r);

    /* isolation and roles */
    r = statement(&other, other.read, id, q.label);
    ck_assert_status(r, 404);
    api_resp_free(r);
    char path[96];
    snprintf(path, sizeof path, "/v1/comp-plans/%s", id);
    r = api_get(path, other.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/comp-plans", ws.read, "{\"name\":\"x\",\"template\":\"sdr\"}");
    ck_assert_status(r, 403);
    api_resp_free(r);
    /* bad statement requests */
    r = statement(&ws, ws.read, id, "2026-Q7");
    ck_assert_status(r, 422);
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/comp-plans/%s/statements", id);
    r = api_send_json("POST", path, ws.read, "{\"period\":\"2026-Q1\",\"reps\":[\"zed\"]}");
    ck_assert_status(r, 422);
    api_resp_free(r);
}
END_TEST

static bool has_rule(const json_t *plan, const char *rule)
{
    size_t i;
    const json_t *w;
    json_array_foreach(json_object_get(plan, "warnings"), i, w) if (strcmp(str(w, "rule"), rule) == 0) return true;
    return false;
}

START_TEST(plans_versions_templates_and_rules)
{
    api_ws ws;
    api_new_workspace(&ws);
    /* the seed's table as templates */
    api_resp *r = api_get("/v1/comp-plans/templates", ws.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 5);
    api_resp_free(r);
    /* from a template: OTE 200,000 at 50:50, 4.5x OTE a year = 225,000 a quarter; no warnings */
    r = api_send_json("POST", "/v1/comp-plans", ws.write, "{\"name\":\"MM\",\"template\":\"ae_mid_market\"}");
    ck_assert_status(r, 201);
    ck_assert(num(r->json, "base") == 100000 && num(r->json, "variable") == 100000);
    ck_assert(num(json_array_get(json_object_get(r->json, "components"), 0), "quota") == 225000);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "warnings")), 0);
    char id[40], path[128], etag[128];
    snprintf(id, sizeof id, "%s", str(r->json, "id"));
    snprintf(etag, sizeof etag, "%s", r->etag);
    api_resp_free(r);
    /* every design rule broken at once */
    const char *yaml = "name: Messy\n"
                       "role: ae_enterprise\n"
                       "base: 150000\n"
                       "variable: 150000\n"
                       "payout_frequency: quarterly\n"
                       "components:\n"
                       "  - {metric: new_arr, weight: 0.4, quota: 450000}\n"
                       "  - {metric: new_arr, weight: 0.2, quota: 450000}\n"
                       "  - {metric: pipeline_generated, weight: 0.2, quota: 900000}\n"
                       "  - {metric: expansion_arr, weight: 0.2, quota: 50000}\n"
                       "rate_table:\n"
                       "  - {from: 0, to: 0.5, rate: 1}\n"
                       "  - {from: 0.5, to: 1.2, rate: 1}\n"
                       "  - {from: 1.2, to: null, rate: 3}\n"
                       "spif: {budget: 40000, per_deal: 1000, from: 2026-01-01, to: 2026-03-31}\n"
                       "clawback_days: 180\n";
    r = api_req("POST", "/v1/comp-plans", ws.write, "application/yaml", yaml, strlen(yaml), NULL);
    ck_assert_status(r, 201);
    const char *rules[] = {"max_3_components", "accelerator_at_100",      "accelerator_rate", "decelerator_below_50",
                           "spif_over_10pct",  "clawback_within_90_days", "pay_monthly",      "pay_mix",
                           "quota_multiple"};
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++)
        ck_assert_msg(has_rule(r->json, rules[i]), "no %s in %s", rules[i], r->body);
    ck_assert(!has_rule(r->json, "ote_range")); /* 300,000 is inside 200-350K */
    api_resp_free(r);
    /* a new version needs If-Match; the old one stays readable */
    snprintf(path, sizeof path, "/v1/comp-plans/%s", id);
    const char *upd = "{\"template\":\"ae_mid_market\",\"clawback_days\":30}";
    r = api_send_json("PUT", path, ws.write, upd);
    ck_assert_status(r, 428);
    api_resp_free(r);
    const char *stale[] = {"If-Match: \"v7\"", NULL};
    r = api_req("PUT", path, ws.write, "application/json", upd, strlen(upd), stale);
    ck_assert_status(r, 412);
    api_resp_free(r);
    char im[160];
    snprintf(im, sizeof im, "If-Match: %s", etag);
    const char *fresh[] = {im, NULL};
    r = api_req("PUT", path, ws.write, "application/json", upd, strlen(upd), fresh);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "version")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "clawback_days")), 30);
    ck_assert_str_eq(str(r->json, "name"), "MM");
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/comp-plans/%s?version=1", id);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "clawback_days")), 90);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "current_version")), 2);
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/comp-plans/%s?version=9", id);
    r = api_get(path, ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    /* YAML out */
    snprintf(path, sizeof path, "/v1/comp-plans/%s", id);
    const char *ay[] = {"Accept: application/yaml", NULL};
    r = api_req("GET", path, ws.read, NULL, NULL, 0, ay);
    ck_assert_status(r, 200);
    ck_assert(strstr(r->content_type, "yaml") && strstr(r->body, "clawback_days: 30"));
    api_resp_free(r);
    r = api_get("/v1/comp-plans", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 2);
    api_resp_free(r);
    /* refused: weights that do not add up, a gap in the rate table, an unknown metric and template */
    r = api_send_json(
        "POST", "/v1/comp-plans", ws.write,
        "{\"name\":\"bad\",\"base\":1,\"variable\":1,\"components\":[{\"metric\":\"new_arr\",\"weight\":0.9}]}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "errors"), 0), "field"), "components");
    api_resp_free(r);
    r = api_send_json("POST", "/v1/comp-plans", ws.write,
                      "{\"name\":\"bad\",\"template\":\"sdr\",\"rate_table\":[{\"from\":0,\"to\":0.5,\"rate\":0.5},"
                      "{\"from\":0.6,\"rate\":1}]}");
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/comp-plans", ws.write,
                      "{\"name\":\"bad\",\"template\":\"vp\",\"components\":[{\"metric\":\"logos\",\"weight\":1}]}");
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/comp-plans", ws.write, "[1]");
    ck_assert_status(r, 422);
    api_resp_free(r);
}
END_TEST

/* One rep over an ended quarter: won 60,000 of 100,000 (two deals of 30,000,
 * each 30 days 10 hours from creation to win), one lost, 40,000 created in the
 * quarter, 50,000 open at its start closing inside it. */
START_TEST(scorecard_json_yaml_markdown)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    quarter q = quarter_at(-200);
    int len_q = q.last - q.first + 1;
    rep(&ws, "ann", NULL, q.label, 100000);
    won(&ws, "a1", "ann", 30000, q.first + 10);
    won(&ws, "a2", "ann", 30000, q.first + 40);
    char body[400], c[11], w[11], path[128];
    snprintf(body, sizeof body,
             "{\"name\":\"l1\",\"amount\":10000,\"stage\":\"closed_lost\",\"status\":\"lost\",\"owner\":\"ann\","
             "\"created_at\":\"%sT00:00:00Z\",\"closed_at\":\"%sT00:00:00Z\"}",
             api_day(q.first + 15, c), api_day(q.first + 25, w));
    send(&ws, "PUT", "/v1/deals/l1", body);
    snprintf(body, sizeof body,
             "{\"as_of\":\"%sT12:00:00Z\",\"name\":\"o1\",\"amount\":50000,\"stage\":\"proposal\",\"owner\":\"ann\","
             "\"expected_close_date\":\"%s\"}",
             api_day(q.first - 5, c), api_day(q.first + 60, w));
    send(&ws, "PUT", "/v1/deals/o1", body);
    snprintf(path, sizeof path, "/v1/reps/ann/scorecard?period=%s", q.label);
    api_resp *r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    const json_t *s = r->json, *pl = json_object_get(s, "pipeline"), *ef = json_object_get(s, "efficiency");
    ck_assert(num(s, "quota") == 100000 && num(s, "won") == 60000 && num(s, "attainment") == 0.6);
    ck_assert(num(pl, "created_this_period") == 40000);
    ck_assert_int_eq(json_integer_value(json_object_get(pl, "deals_created")), 2);
    ck_assert(num(pl, "coverage_ratio") == 0.5);
    ck_assert_str_eq(str(pl, "coverage_as_of"), api_day(q.first, c));
    ck_assert(num(pl, "avg_deal_size") == 30000);
    ck_assert(num(pl, "win_rate") == 0.6667);
    ck_assert(num(pl, "avg_cycle_days") == 30.4);
    ck_assert_str_eq(str(ef, "pipeline_to_close_ratio"), "0.67:1");
    ck_assert(json_is_null(json_object_get(ef, "cost_per_meeting")));
    ck_assert(json_is_false(json_object_get(ef, "fully_loaded_cost_recorded")));
    const json_t *act = json_object_get(s, "activity");
    ck_assert(json_is_null(json_object_get(act, "calls_per_day")) && json_is_string(json_object_get(act, "reason")));
    ck_assert_int_eq(
        json_integer_value(json_array_get(json_object_get(json_object_get(act, "targets"), "calls_per_day"), 0)), 8);
    const json_t *cn = json_object_get(s, "coaching_notes");
    ck_assert_int_eq(json_array_size(json_object_get(cn, "action_items")), 2);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(cn, "action_items"), 0)),
                     "Close $40000.00 more to be back on pace");
    char want[96];
    snprintf(want, sizeof want, "Add $250000.00 of pipeline closing in %s", q.label);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(cn, "action_items"), 1)), want);
    api_resp_free(r);
    /* YAML and Markdown */
    const char *ay[] = {"Accept: application/yaml", NULL}, *am[] = {"Accept: text/markdown", NULL};
    r = api_req("GET", path, ws.read, NULL, NULL, 0, ay);
    ck_assert_status(r, 200);
    ck_assert(strstr(r->content_type, "application/yaml") && strstr(r->body, "coverage_ratio: 0.5"));
    api_resp_free(r);
    r = api_req("GET", path, ws.read, NULL, NULL, 0, am);
    ck_assert_status(r, 200);
    ck_assert(strstr(r->content_type, "text/markdown") && strstr(r->body, "## Rep Scorecard") &&
              strstr(r->body, "- Attainment: 60.0%"));
    api_resp_free(r);
    /* the fully loaded cost is a rep field */
    send(&ws, "PUT", "/v1/reps/ann", "{\"fully_loaded_cost\":150000}");
    r = api_get("/v1/reps/ann", ws.read);
    ck_assert(num(r->json, "fully_loaded_cost") == 150000);
    api_resp_free(r);
    r = api_get(path, ws.read);
    ck_assert(json_is_true(json_object_get(json_object_get(r->json, "efficiency"), "fully_loaded_cost_recorded")));
    api_resp_free(r);
    /* sales activities: 10 calls, 6 emails, 4 meetings in the quarter (and one after it) */
    json_t *acts = json_array();
    for (int i = 0; i < 21; i++) {
        char id[16], at[40], day[11];
        snprintf(id, sizeof id, "act%d", i);
        snprintf(at, sizeof at, "%sT09:00:00Z", api_day(i == 20 ? q.last + 3 : q.first + i, day));
        json_array_append_new(acts, json_pack("{s:s, s:s, s:s, s:s}", "id", id, "type",
                                              i < 10   ? "call"
                                              : i < 16 ? "email_sent"
                                                       : "meeting",
                                              "occurred_at", at, "rep", "ann"));
    }
    json_t *ab = json_pack("{s:o}", "items", acts);
    char *abt = json_dumps(ab, JSON_COMPACT);
    json_decref(ab);
    send(&ws, "POST", "/v1/activities/batch", abt);
    free(abt);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    int wd = 0;
    for (int d = q.first; d <= q.last; d++) {
        char day[11];
        int y, m, dd;
        sscanf(api_day(d, day), "%d-%d-%d", &y, &m, &dd);
        struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = dd, .tm_hour = 12};
        time_t t = timegm(&tm);
        int wday = gmtime(&t)->tm_wday;
        wd += wday >= 1 && wday <= 5;
    }
    act = json_object_get(r->json, "activity");
    ck_assert_int_eq(json_integer_value(json_object_get(act, "working_days")), wd);
    ck_assert(num(act, "calls_per_day") == round(10.0 / wd * 10) / 10);
    ck_assert(num(act, "meetings_booked_per_week") == round(4.0 / (wd / 5.0) * 10) / 10);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(act, "counts"), "emails")), 6);
    ef = json_object_get(r->json, "efficiency");
    long long cost = llround(15000000.0 * len_q / 365);
    ck_assert_msg(num(ef, "cost_per_meeting") == (double)((cost + 2) / 4) / 100, "%s", r->body);
    ck_assert(num(ef, "revenue_per_activity") == 3000); /* 60,000 / 20 */
    api_resp_free(r);
    const char *am2[] = {"Accept: text/markdown", NULL};
    r = api_req("GET", path, ws.read, NULL, NULL, 0, am2);
    ck_assert(strstr(r->body, "- Calls per day: "));
    api_resp_free(r);

    /* unknown rep, another workspace, a bad period */
    r = api_get("/v1/reps/zed/scorecard", ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_get(path, other.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_get("/v1/reps/ann/scorecard?period=Q9", ws.read);
    ck_assert_status(r, 422);
    api_resp_free(r);
}
END_TEST

static void usage(const api_ws *ws, const char *account, int day, int seats, int limit, int active, long api,
                  const char *depts);

/* An activity of `type` on day `day` (10:00 UTC); lead, deal, account, session, url may be NULL. */
static void activity(const api_ws *ws, const char *id, const char *type, int day, const char *lead, const char *deal,
                     const char *account, const char *session, const char *url)
{
    char body[800], d[11], opt[600] = "";
    size_t n = 0;
    const char *keys[] = {"lead", "deal", "account", "session", "url"}, *vals[] = {lead, deal, account, session, url};
    for (int i = 0; i < 5; i++)
        if (vals[i])
            n += (size_t)snprintf(opt + n, sizeof opt - n, ",\"%s\":\"%s\"", keys[i], vals[i]);
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"type\":\"%s\",\"occurred_at\":\"%sT10:00:00Z\"%s}", id, type,
             api_day(day, d), opt);
    send(ws, "POST", "/v1/activities", body);
}

/* A contact (lead) on deal `deal` created on day -100, with extra JSON fields. */
static void contact(const api_ws *ws, const char *id, const char *deal, const char *extra)
{
    char path[64], body[600], d[11];
    snprintf(path, sizeof path, "/v1/leads/%s", id);
    snprintf(body, sizeof body, "{\"as_of\":\"%sT09:00:00Z\",\"email\":\"%s@x.example\",\"deals\":[\"%s\"]%s%s}",
             api_day(-100, d), id, deal, extra ? "," : "", extra ? extra : "");
    send(ws, "PUT", path, body);
}

/* An open deal of ann at proposal on `account`, known from day -120, closing on day `close`. */
static void open_deal(const api_ws *ws, const char *id, const char *account, long amount, int close)
{
    char path[64], body[400], a[11], c[11];
    snprintf(path, sizeof path, "/v1/deals/%s", id);
    snprintf(body, sizeof body,
             "{\"as_of\":\"%sT08:00:00Z\",\"created_at\":\"%sT08:00:00Z\",\"name\":\"%s\",\"amount\":%ld,"
             "\"stage\":\"proposal\",\"owner\":\"ann\",\"account\":\"%s\",\"expected_close_date\":\"%s\"}",
             api_day(-120, a), a, id, amount, account, api_day(close, c));
    send(ws, "PUT", path, body);
}

/* A deal's signal codes in the forecast's at-risk answer ("" when not listed), comma-separated. */
static void codes_of(const json_t *at_risk, const char *deal, char *out, size_t len)
{
    out[0] = '\0';
    const json_t *lists[] = {json_object_get(at_risk, "deals"),
                             json_object_get(json_object_get(at_risk, "flagged_by_signals"), "deals")};
    for (int l = 0; l < 2; l++) {
        size_t i, j, n = 0;
        const json_t *x, *g;
        json_array_foreach(lists[l], i, x) if (strcmp(str(x, "deal"), deal) == 0)
            json_array_foreach(json_object_get(x, "signals"), j, g) n +=
            (size_t)snprintf(out + n, len - n, "%s%s", n ? "," : "", str(g, "code"));
    }
}

static const json_t *signal_of(const json_t *deals, const char *deal, const char *code)
{
    size_t i, j;
    const json_t *x, *g;
    json_array_foreach(deals, i, x) if (strcmp(str(x, "deal"), deal) == 0)
        json_array_foreach(json_object_get(x, "signals"), j, g) if (strcmp(str(g, "code"), code) == 0) return g;
    return NULL;
}

/* A coaching note naming many deals lists whole ids as far as they fit and
 * says how many more (it was cut mid-id, with a trailing comma). */
START_TEST(coaching_notes_name_whole_deal_ids)
{
    api_ws ws;
    api_new_workspace(&ws);
    quarter q = quarter_at(0);
    rep(&ws, "ann", NULL, q.label, 100000);
    char id[40], c[40];
    for (int k = 0; k < 15; k++) {
        snprintf(id, sizeof id, "deal-under-threaded-%02d", k);
        snprintf(c, sizeof c, "contact-%02d", k);
        open_deal(&ws, id, "acme", 1000, q.last);
        contact(&ws, c, id, NULL); /* one contact on the deal, not engaged */
    }
    char path[128];
    snprintf(path, sizeof path, "/v1/reps/ann/scorecard?period=%s", q.label);
    api_resp *r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    const char *want = NULL;
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(json_object_get(r->json, "coaching_notes"), "action_items"), i,
                       x) if (strncmp(json_string_value(x), "Coach reps on multi-threading (", 31) == 0) want =
        json_string_value(x);
    ck_assert_ptr_nonnull(want);
    /* 9 ids of 22 characters fit in the note's 216; the other 6 are counted */
    ck_assert_msg(strstr(want, "deal-under-threaded-08 and 6 more)") != NULL, "%s", want);
    ck_assert_msg(strstr(want, ", deal-under-threaded-08") != NULL && strstr(want, ",)") == NULL, "%s", want);
    api_resp_free(r);
}
END_TEST

/* Six deals of ann closing this quarter, one per revenue-intelligence rule
 * (seed phase 13) and one with none; the forecast's at-risk list and the
 * scorecard show them, a past as_of only what was known then. */
START_TEST(revenue_intelligence_flags)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    quarter q = quarter_at(0);
    rep(&ws, "ann", NULL, q.label, 100000);
    int close = q.last;
    open_deal(&ws, "d-multi", "acme", 10000, close);
    open_deal(&ws, "d-thin", "beta", 20000, close);
    open_deal(&ws, "d-champ", "gamma", 30000, close);
    open_deal(&ws, "d-usage", "delta", 40000, close);
    open_deal(&ws, "d-compare", "eps", 50000, close);
    open_deal(&ws, "d-quiet", "zeta", 60000, close);
    /* d-multi: three contacts engaged in the last 90 days, one of them the CFO */
    contact(&ws, "c1", "d-multi", NULL);
    contact(&ws, "c2", "d-multi", NULL);
    contact(&ws, "c3", "d-multi", "\"title\":\"Chief Financial Officer\"");
    activity(&ws, "a1", "meeting", -20, "c1", "d-multi", NULL, NULL, NULL);
    activity(&ws, "a2", "email_click", -30, "c2", NULL, NULL, NULL, NULL);
    activity(&ws, "a3", "call", -5, "c3", NULL, NULL, NULL, NULL);
    activity(&ws, "a0", "meeting", -95, "c1", NULL, NULL, NULL, NULL); /* outside 90 days: counts nothing more */
    /* d-thin: two contacts, one engaged; the other only received an email */
    contact(&ws, "c4", "d-thin", NULL);
    contact(&ws, "c5", "d-thin", NULL);
    activity(&ws, "a4", "meeting", -10, "c4", NULL, NULL, NULL, NULL);
    activity(&ws, "a5", "email_sent", -10, "c5", NULL, NULL, NULL, NULL);
    /* d-champ: the champion (no deal link: found by the account they left) moves to another company on day -10 */
    char body[600], d[11];
    snprintf(body, sizeof body,
             "{\"as_of\":\"%sT09:00:00Z\",\"email\":\"ch@gamma.example\",\"persona\":\"champion\","
             "\"account\":\"gamma\",\"company\":\"Gamma\"}",
             api_day(-100, d));
    send(&ws, "PUT", "/v1/leads/ch", body);
    snprintf(body, sizeof body, "{\"as_of\":\"%sT09:00:00Z\",\"account\":\"newco\",\"company\":\"NewCo\"}",
             api_day(-10, d));
    send(&ws, "PUT", "/v1/leads/ch", body);
    /* d-usage: delta's active users 100 -> 50 */
    usage(&ws, "delta", -45, 10, 100, 100, 0, "[]");
    usage(&ws, "delta", -40, 10, 100, 100, 0, "[]");
    usage(&ws, "delta", -10, 10, 100, 50, 0, "[]");
    usage(&ws, "delta", -5, 10, 100, 50, 0, "[]");
    /* d-compare: yesterday, one session of eps on the pricing page and a comparison page */
    activity(&ws, "a6", "pricing_page_view", -1, NULL, NULL, "eps", "s-1", "https://x.example/pricing");
    activity(&ws, "a7", "page_view", -1, NULL, NULL, "eps", "s-1", "https://x.example/compare/rival");
    activity(&ws, "a8", "page_view", -1, NULL, NULL, "eps", "s-2", "https://x.example/compare/other");

    snprintf(body, sizeof body, "{\"period\":\"%s\"}", q.label);
    api_resp *r = api_send_json("POST", "/v1/forecasts", ws.write, body);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    const json_t *ar = json_object_get(r->json, "at_risk");
    char codes[200];
    codes_of(ar, "d-thin", codes, sizeof codes);
    ck_assert_str_eq(codes, "under_threaded");
    codes_of(ar, "d-champ", codes, sizeof codes);
    ck_assert_str_eq(codes, "champion_job_change");
    codes_of(ar, "d-usage", codes, sizeof codes);
    ck_assert_str_eq(codes, "usage_decline");
    codes_of(ar, "d-quiet", codes, sizeof codes);
    ck_assert_str_eq(codes, "");
    /* not risks: only shown where the forecast itself lists the deal */
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(json_object_get(ar, "flagged_by_signals"), "deals"), i, x)
    {
        ck_assert_str_ne(str(x, "deal"), "d-multi");
        ck_assert_str_ne(str(x, "deal"), "d-compare");
        ck_assert_str_ne(str(x, "deal"), "d-quiet");
    }
    api_resp_free(r);

    char path[128];
    snprintf(path, sizeof path, "/v1/reps/ann/scorecard?period=%s", q.label);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    const json_t *ds = json_object_get(r->json, "deal_signals"), *cnt = json_object_get(ds, "counts");
    ck_assert_int_eq(json_integer_value(json_object_get(ds, "open_deals")), 6);
    static const char *const each[] = {"multi_threaded",      "under_threaded", "finance_contact",
                                       "champion_job_change", "usage_decline",  "comparison_session"};
    for (int k = 0; k < 6; k++)
        ck_assert_msg(json_integer_value(json_object_get(cnt, each[k])) == 1, "%s", each[k]);
    ck_assert_int_eq(json_array_size(json_object_get(ds, "deals")), 5);
    const json_t *dl = json_object_get(ds, "deals"), *g = signal_of(dl, "d-multi", "multi_threaded");
    ck_assert_ptr_nonnull(g);
    ck_assert_str_eq(str(g, "evidence"), "3 of the deal's 3 contacts engaged in the 90 days before");
    ck_assert_str_eq(str(g, "predicts"), "2.3x higher win rate");
    ck_assert_str_eq(str(signal_of(dl, "d-multi", "finance_contact"), "evidence"), "finance contacts on the deal: c3");
    ck_assert_str_eq(str(signal_of(dl, "d-thin", "under_threaded"), "evidence"),
                     "1 of the deal's 2 contacts engaged in the 90 days before");
    ck_assert_str_eq(str(signal_of(dl, "d-champ", "champion_job_change"), "evidence"),
                     "champions whose company or account changed in the 90 days before: ch");
    ck_assert_str_eq(str(signal_of(dl, "d-usage", "usage_decline"), "evidence"),
                     "the account's mean daily active users 50.0 over the last 30 days against 100.0 the 30 before "
                     "(-50%)");
    ck_assert_str_eq(str(signal_of(dl, "d-compare", "comparison_session"), "evidence"),
                     "sessions with a pricing page and a competitor page in the last 30 days: s-1");
    ck_assert_ptr_null(signal_of(dl, "d-quiet", "under_threaded"));
    bool coached = false;
    json_array_foreach(json_object_get(json_object_get(r->json, "coaching_notes"), "action_items"), i, x) coached |=
        strcmp(json_string_value(x), "Coach reps on multi-threading (d-thin)") == 0;
    ck_assert(coached);
    api_resp_free(r);
    const char *am[] = {"Accept: text/markdown", NULL};
    r = api_req("GET", path, ws.read, NULL, NULL, 0, am);
    ck_assert_status(r, 200);
    ck_assert_ptr_nonnull(strstr(r->body, "### Deal Signals\n- Open deals closing in the period: 6\n"));
    ck_assert_ptr_nonnull(strstr(r->body, "- d-thin: Fewer than 3 contacts engaged on the deal (1 of the deal's 2"));
    api_resp_free(r);

    /* as of two days ago: what was known then */
    snprintf(body, sizeof body, "{\"period\":\"%s\",\"as_of\":\"%s\"}", q.label, api_day(-2, d));
    r = api_send_json("POST", "/v1/forecasts", ws.write, body);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    ar = json_object_get(r->json, "at_risk");
    codes_of(ar, "d-champ", codes, sizeof codes);
    ck_assert_str_eq(codes, "champion_job_change");
    codes_of(ar, "d-thin", codes, sizeof codes);
    ck_assert_str_eq(codes, "under_threaded");
    api_resp_free(r);
    /* before the champion moved (day -10): no move */
    snprintf(body, sizeof body, "{\"period\":\"%s\",\"as_of\":\"%s\"}", q.label, api_day(-11, d));
    r = api_send_json("POST", "/v1/forecasts", ws.write, body);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    codes_of(json_object_get(r->json, "at_risk"), "d-champ", codes, sizeof codes);
    ck_assert_str_eq(codes, "");
    api_resp_free(r);
    /* the other workspace sees none of it */
    r = api_get(path, other.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
}
END_TEST

static void usage(const api_ws *ws, const char *account, int day, int seats, int limit, int active, long api,
                  const char *depts)
{
    char body[400], d[11];
    snprintf(body, sizeof body,
             "{\"account\":\"%s\",\"date\":\"%s\",\"seats_used\":%d,\"seats_limit\":%d,\"active_users\":%d,"
             "\"api_calls\":%ld,\"departments\":%s}",
             account, api_day(day, d), seats, limit, active, api, depts);
    send(ws, "POST", "/v1/usage", body);
}

static void subscription(const api_ws *ws, const char *id, const char *account, long arr, int start, int renewal)
{
    char path[64], body[300], s[11], r[11];
    snprintf(path, sizeof path, "/v1/subscriptions/%s", id);
    snprintf(body, sizeof body,
             "{\"account\":\"%s\",\"arr\":%ld,\"start_date\":\"%s\",\"end_date\":\"%s\",\"renewal_date\":\"%s\"}",
             account, arr, api_day(start, s), api_day(renewal, r), r);
    send(ws, "PUT", path, body);
}

static bool has_signal(const json_t *sig, const char *account, const char *code)
{
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(sig, "items"), i,
                       x) if (strcmp(str(x, "account"), account) == 0 && strcmp(str(x, "code"), code) == 0) return true;
    return false;
}

/* acme: a fifth of its seats used, active users halved month over month, one
 * detractor, 100,000 renewing in 20 days; beta: 90% of seats, growing, a new
 * department, API calls up 30%, promoters, 50,000 renewing in 40 days, no
 * price increase for 400 days; gamma renews next quarter. Seen from day 10 of
 * a past quarter. */
START_TEST(health_at_risk_and_signals)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    quarter q = quarter_at(-200);
    int A = q.first + 10;
    usage(&ws, "acme", A - 45, 20, 100, 100, 100, "[]");
    usage(&ws, "acme", A - 40, 20, 100, 100, 100, "[]");
    usage(&ws, "acme", A - 10, 20, 100, 50, 100, "[]");
    usage(&ws, "acme", A - 5, 20, 100, 50, 100, "[]");
    usage(&ws, "beta", A - 45, 80, 100, 100, 500, "[\"sales\"]");
    usage(&ws, "beta", A - 40, 80, 100, 100, 500, "[\"sales\"]");
    usage(&ws, "beta", A - 10, 85, 100, 130, 650, "[\"sales\"]");
    usage(&ws, "beta", A - 5, 90, 100, 130, 650, "[\"sales\",\"finance\"]");
    usage(&ws, "beta", A + 5, 1, 100, 1, 1, "[\"later\"]"); /* after as_of: never read */
    char body[600], d1[11], d2[11], d3[11], d4[11];
    snprintf(body, sizeof body,
             "{\"items\":[{\"id\":\"T1\",\"account\":\"beta\",\"opened\":\"%s\",\"closed\":\"%s\",\"csat\":5,"
             "\"department\":\"sales\"},{\"id\":\"T2\",\"account\":\"beta\",\"opened\":\"%s\",\"csat\":5,"
             "\"priority\":\"low\",\"department\":\"legal\"}]}",
             api_day(A - 50, d1), api_day(A - 49, d2), api_day(A - 20, d3));
    send(&ws, "POST", "/v1/support-tickets", body);
    snprintf(body, sizeof body,
             "{\"items\":[{\"account\":\"acme\",\"date\":\"%s\",\"score\":3},{\"account\":\"beta\",\"date\":\"%s\","
             "\"score\":10},{\"account\":\"beta\",\"date\":\"%s\",\"score\":9,\"comment\":\"great\"}]}",
             api_day(A - 30, d1), d1, api_day(A - 20, d2));
    send(&ws, "POST", "/v1/nps-responses", body);
    subscription(&ws, "s-acme", "acme", 100000, A - 300, A + 20);
    subscription(&ws, "s-beta", "beta", 50000, A - 300, A + 40);
    subscription(&ws, "s-gamma", "gamma", 70000, A - 300, q.last + 30);
    snprintf(body, sizeof body, "{\"name\":\"Beta\",\"last_price_increase\":\"%s\"}", api_day(A - 400, d4));
    send(&ws, "PUT", "/v1/accounts/beta", body);

    char path[128], asof[11];
    api_day(A, asof);
    snprintf(path, sizeof path, "/v1/accounts/at-risk?quarter=%s&as_of=%s", q.label, asof);
    api_resp *r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    const json_t *items = json_object_get(r->json, "items");
    ck_assert_int_eq(json_array_size(items), 2);
    const json_t *acme = json_array_get(items, 0), *beta = json_array_get(items, 1);
    ck_assert_str_eq(str(acme, "account"), "acme");
    /* (30 x 25 + 25 x 0 + 25 x 0) / 80 = 9.4 -> 9 */
    ck_assert_int_eq(json_integer_value(json_object_get(acme, "health")), 9);
    ck_assert_str_eq(str(acme, "band"), "critical");
    ck_assert(num(acme, "arr_renewing") == 100000 && num(acme, "arr_at_risk") == 91000);
    ck_assert_int_eq(json_integer_value(json_object_get(acme, "renewal_reminder_days")), 30);
    ck_assert_int_eq(json_array_size(json_object_get(acme, "reasons")), 6);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(acme, "reasons"), 1)),
                     "active users down 50% month over month");
    ck_assert_int_eq(json_integer_value(json_object_get(beta, "health")), 100);
    ck_assert(num(beta, "arr_at_risk") == 0);
    ck_assert_int_eq(json_integer_value(json_object_get(beta, "renewal_reminder_days")), 60);
    ck_assert(num(r->json, "arr_renewing") == 150000 && num(r->json, "arr_at_risk") == 91000);
    char want[160];
    snprintf(want, sizeof want, "$91000.00 ARR at risk this quarter (%s) of $150000.00 renewing", q.label);
    ck_assert_str_eq(str(r->json, "summary"), want);
    api_resp_free(r);

    /* the seed's expansion rules on beta; churn on acme */
    snprintf(path, sizeof path, "/v1/signals?kind=expansion&as_of=%s", asof);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    const char *exp[] = {"usage_limit",           "new_department",      "api_growth",
                         "ticket_new_department", "renewal_healthy_nps", "price_review"};
    for (size_t i = 0; i < sizeof exp / sizeof *exp; i++)
        ck_assert_msg(has_signal(r->json, "beta", exp[i]), "beta has no %s: %s", exp[i], r->body);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 6);
    const json_t *first = json_array_get(json_object_get(r->json, "items"), 0);
    ck_assert_str_eq(str(first, "urgency"), "high");
    const json_t *last = json_array_get(json_object_get(r->json, "items"), 5);
    ck_assert_str_eq(str(last, "code"), "price_review");
    ck_assert_str_eq(str(last, "action"), "Flag for pricing review at renewal");
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/signals?kind=churn&as_of=%s", asof);
    r = api_get(path, ws.read);
    ck_assert(has_signal(r->json, "acme", "usage_decline") && has_signal(r->json, "acme", "detractors") &&
              has_signal(r->json, "acme", "critical_renewal"));
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 3);
    api_resp_free(r);

    /* isolation, roles and bad input */
    r = api_get(path, other.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/usage", ws.read, "{\"account\":\"a\",\"date\":\"2026-01-01\"}");
    ck_assert_status(r, 403);
    api_resp_free(r);
    r = api_send_json(
        "POST", "/v1/usage", ws.write,
        "{\"items\":[{\"account\":\"a\",\"date\":\"2026-01-01\"},{\"account\":\"a\",\"date\":\"2026-01-01\"},"
        "{\"account\":\"a\",\"date\":\"2026-02-30\",\"seats_used\":-1}]}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "errors"), 0), "field"), "items[1].date");
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "errors"), 1), "field"), "items[2].date");
    api_resp_free(r);
    r = api_send_json("POST", "/v1/nps-responses", ws.write,
                      "{\"account\":\"a\",\"date\":\"2026-01-01\",\"score\":11}");
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_send_json(
        "POST", "/v1/support-tickets", ws.write,
        "{\"id\":\"T9\",\"account\":\"a\",\"opened\":\"2026-01-05\",\"closed\":\"2026-01-01\",\"csat\":0}");
    ck_assert_status(r, 422);
    api_resp_free(r);
    const char *bad[] = {"/v1/signals?kind=upsell", "/v1/accounts/at-risk?quarter=2026-03",
                         "/v1/accounts/at-risk?as_of=2999-01-01"};
    for (size_t i = 0; i < 3; i++) {
        r = api_get(bad[i], ws.read);
        ck_assert_status(r, 422);
        api_resp_free(r);
    }
}
END_TEST

/* The departments a usage day replaces (migration 0049's first days, kept by
 * account_usage_store): "ops" is new while its first day is in the 30 days
 * before as_of, not once an older day is rewritten to hold it, and new again
 * when that day is rewritten without it (its first day read again). */
static bool new_department_of(const api_ws *ws, const char *asof, const char *account, const char *dept)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/signals?kind=expansion&as_of=%s", asof);
    api_resp *r = api_get(path, ws->read);
    ck_assert_status(r, 200);
    bool found = false;
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(r->json, "items"), i, x)
    {
        if (strcmp(str(x, "account"), account) != 0 || strcmp(str(x, "code"), "new_department") != 0)
            continue;
        const json_t *deps = json_object_get(json_object_get(x, "evidence"), "departments");
        ck_assert_int_eq(json_array_size(deps), 1);
        found = strcmp(json_string_value(json_array_get(deps, 0)), dept) == 0;
    }
    api_resp_free(r);
    return found;
}

START_TEST(usage_rewrites_keep_department_first_days)
{
    api_ws ws;
    api_new_workspace(&ws);
    int A = -100;
    char asof[11];
    api_day(A, asof);
    usage(&ws, "acme", A - 45, 10, 100, 10, 10, "[\"sales\"]");
    usage(&ws, "acme", A - 40, 10, 100, 10, 10, "[\"sales\"]");
    usage(&ws, "acme", A - 10, 10, 100, 10, 10, "[\"sales\",\"ops\"]");
    usage(&ws, "solo", A - 10, 10, 100, 10, 10, "[\"ops\"]"); /* no earlier usage: its first teams */
    ck_assert(new_department_of(&ws, asof, "acme", "ops"));
    ck_assert(!new_department_of(&ws, asof, "solo", "ops"));
    /* the same day rewritten without it, a later day with it: still new */
    usage(&ws, "acme", A - 10, 10, 100, 10, 10, "[\"sales\"]");
    usage(&ws, "acme", A - 5, 10, 100, 10, 10, "[\"ops\",\"sales\"]");
    ck_assert(new_department_of(&ws, asof, "acme", "ops"));
    /* an older day rewritten to hold it: seen before, not new */
    usage(&ws, "acme", A - 40, 10, 100, 10, 10, "[\"sales\",\"ops\"]");
    ck_assert(!new_department_of(&ws, asof, "acme", "ops"));
    /* and rewritten back: new again, from its remaining first day */
    usage(&ws, "acme", A - 40, 10, 100, 10, 10, "[\"sales\"]");
    ck_assert(new_department_of(&ws, asof, "acme", "ops"));
    /* after as_of's window has passed it, nothing is new */
    char later[11];
    ck_assert(!new_department_of(&ws, api_day(A + 40, later), "acme", "ops"));
}
END_TEST

/* A future quarter: ann and bob in seat all along, newbie hired on its first
 * day (ramp 0, 0, 25%: 1/12 on average); potential 600K / 300K / 100K; target
 * 310,000 + 10%. */
START_TEST(quota_plan_split_and_apply)
{
    api_ws ws;
    api_new_workspace(&ws);
    quarter q = quarter_at(200);
    char body[400], d[11];
    send(&ws, "PUT", "/v1/reps/ann", "{\"name\":\"Ann\",\"role\":\"ae\",\"start_date\":\"2020-01-06\"}");
    send(&ws, "PUT", "/v1/reps/bob", "{\"name\":\"Bob\",\"role\":\"ae\"}");
    snprintf(body, sizeof body, "{\"name\":\"Newbie\",\"role\":\"ae\",\"start_date\":\"%s\"}", api_day(q.first, d));
    send(&ws, "PUT", "/v1/reps/newbie", body);
    send(&ws, "PUT", "/v1/reps/mia", "{\"name\":\"Mia\",\"role\":\"manager\"}");
    send(&ws, "PUT", "/v1/accounts/a1", "{\"name\":\"A1\",\"owner\":\"ann\",\"potential\":600000}");
    send(&ws, "PUT", "/v1/accounts/b1", "{\"name\":\"B1\",\"owner\":\"bob\",\"potential\":300000}");
    send(&ws, "PUT", "/v1/accounts/n1", "{\"name\":\"N1\",\"owner\":\"newbie\",\"potential\":100000}");
    api_resp *r = api_send_json("POST", "/v1/comp-plans", ws.write, "{\"name\":\"MM\",\"template\":\"ae_mid_market\"}");
    ck_assert_status(r, 201);
    char plan[40];
    snprintf(plan, sizeof plan, "%s", str(r->json, "id"));
    api_resp_free(r);
    snprintf(body, sizeof body, "{\"period\":\"%s\",\"target\":310000,\"comp_plan_id\":\"%s\"}", q.label, plan);
    r = api_send_json("POST", "/v1/quota-plans", ws.write, body);
    ck_assert_status(r, 200);
    const json_t *it = json_object_get(r->json, "items");
    ck_assert_int_eq(json_array_size(it), 3); /* the manager is not an AE */
    const json_t *ann = json_array_get(it, 0), *bob = json_array_get(it, 1), *nb = json_array_get(it, 2);
    ck_assert(num(ann, "quota") == 225247.71 && num(bob, "quota") == 112623.85 && num(nb, "quota") == 3128.44);
    ck_assert(num(nb, "ramp") == 0.0833 && num(ann, "ramp") == 1 && num(ann, "share") == 0.6);
    ck_assert(num(r->json, "quota_total") == 341000 && num(r->json, "over_assignment") == 31000);
    ck_assert(num(r->json, "over_assignment_rate") == 0.1);
    ck_assert_str_eq(str(ann, "vs_seed_multiple"), "within"); /* 4.5x OTE a year */
    ck_assert_str_eq(str(bob, "vs_seed_multiple"), "below");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "below_multiple")), 2);
    ck_assert(json_is_false(json_object_get(r->json, "applied")));
    api_resp_free(r);
    r = api_get("/v1/reps/ann", ws.read);
    ck_assert(json_object_get(json_object_get(r->json, "quotas"), q.label) == NULL); /* a proposal writes nothing */
    api_resp_free(r);
    /* applied: the quotas are the reps' */
    snprintf(body, sizeof body, "{\"period\":\"%s\",\"target\":310000,\"apply\":true}", q.label);
    r = api_send_json("POST", "/v1/quota-plans", ws.write, body);
    ck_assert_status(r, 200);
    ck_assert(json_is_true(json_object_get(r->json, "applied")));
    api_resp_free(r);
    r = api_get("/v1/reps/newbie", ws.read);
    ck_assert(num(json_object_get(r->json, "quotas"), q.label) == 3128.44);
    api_resp_free(r);
    /* bad input, roles */
    r = api_send_json("POST", "/v1/quota-plans", ws.read, body);
    ck_assert_status(r, 403);
    api_resp_free(r);
    snprintf(body, sizeof body, "{\"period\":\"%s\",\"target\":1,\"reps\":[\"ann\",\"zed\"]}", q.label);
    r = api_send_json("POST", "/v1/quota-plans", ws.write, body);
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/quota-plans", ws.write, "{\"period\":\"2027-Q1\",\"over_assignment\":2}");
    ck_assert_status(r, 422);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "errors")), 2);
    api_resp_free(r);
}
END_TEST

Suite *reps_suite(void)
{
    Suite *s = suite_create("reps");
    TCase *t = tcase_create("attainment");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, attainment_and_pace_on_crafted_quotas);
    tcase_add_test(t, attainment_bad_input);
    suite_add_tcase(s, t);
    TCase *c = tcase_create("comp");
    tcase_set_timeout(c, 60);
    tcase_add_test(c, statements_to_the_cent);
    tcase_add_test(c, plans_versions_templates_and_rules);
    tcase_add_test(c, quota_plan_split_and_apply);
    suite_add_tcase(s, c);
    TCase *sc = tcase_create("scorecard");
    tcase_set_timeout(sc, 60);
    tcase_add_test(sc, scorecard_json_yaml_markdown);
    tcase_add_test(sc, health_at_risk_and_signals);
    tcase_add_test(sc, usage_rewrites_keep_department_first_days);
    tcase_add_test(sc, revenue_intelligence_flags);
    tcase_add_test(sc, coaching_notes_name_whole_deal_ids);
    suite_add_tcase(s, sc);
    return s;
}

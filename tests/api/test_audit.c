/* test_audit.c - the RevOps audit: data hygiene on crafted workspaces (3 of
 * 100 near-identical account names -> 3%, red; missing fields, stale deals,
 * loss reasons, orphaned references), paging, isolation and roles. */
#include <stdio.h>
#include <string.h>

#include "api.h"

static double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }
static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void send(const api_ws *ws, const char *method, const char *path, const char *body)
{
    api_resp *r = api_send_json(method, path, ws->write, body);
    ck_assert_msg(r->status == 200 || r->status == 201, "%s %s: %ld %s", method, path, r->status, r->body);
    api_resp_free(r);
}

static const json_t *rule_of(const json_t *doc, const char *id)
{
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(doc, "rules"), i, r) if (strcmp(str(r, "id"), id) == 0) return r;
    ck_abort_msg("no rule %s", id);
    return NULL;
}

/* 97 accounts whose names share no more than a word, then three copies of
 * earlier ones: a legal suffix and punctuation (same normalised name), a
 * typo (trigram similarity 0.82), another name on the same domain. */
static void hundred_accounts(const api_ws *ws)
{
    static const char *const first[] = {"Alpha", "Birch",   "Cobalt", "Delta", "Ember",
                                        "Fjord", "Granite", "Harbor", "Iris",  "Juniper"};
    static const char *const second[] = {"Logistics", "Analytics", "Foods",    "Robotics", "Textiles",
                                         "Capital",   "Pharma",    "Networks", "Studios",  "Mining"};
    char path[64], body[300];
    for (int i = 0; i < 97; i++) {
        snprintf(path, sizeof path, "/v1/accounts/acc-%03d", i + 1);
        snprintf(body, sizeof body, "{\"name\":\"%s %s\",\"custom\":{\"domain\":\"%s%s.example\"}}", first[i / 10],
                 second[i % 10], first[i / 10], second[i % 10]);
        send(ws, "PUT", path, body);
    }
    /* acc-001 is Alpha Logistics, acc-012 Birch Analytics, acc-024 Cobalt Robotics */
    send(ws, "PUT", "/v1/accounts/acc-098", "{\"name\":\"ALPHA LOGISTICS, Inc.\"}");
    send(ws, "PUT", "/v1/accounts/acc-099", "{\"name\":\"Birch Analytic\"}");
    send(ws, "PUT", "/v1/accounts/acc-100",
         "{\"name\":\"Zephyr Holdings\",\"custom\":{\"website\":\"https://www.CobaltRobotics.example/about\"}}");
}

START_TEST(three_of_a_hundred_duplicates_is_red)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    hundred_accounts(&ws);
    api_resp *r = api_get("/v1/hygiene", ws.read);
    ck_assert_status(r, 200);
    const json_t *d = rule_of(r->json, "duplicate_accounts");
    ck_assert_int_eq(json_integer_value(json_object_get(d, "offending")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(d, "population")), 100);
    ck_assert_double_eq_tol(num(d, "value"), 0.03, 1e-12);
    ck_assert_str_eq(str(d, "status"), "red");
    ck_assert_str_eq(str(d, "threshold"), "<2% duplicate rate");
    ck_assert_double_eq_tol(num(d, "threshold_value"), 0.02, 1e-12);
    ck_assert_int_eq(json_array_size(json_object_get(d, "sample")), 3);
    api_resp_free(r);

    /* all of them, two per page */
    r = api_get("/v1/hygiene/duplicate_accounts?limit=2", ws.read);
    ck_assert_status(r, 200);
    const json_t *items = json_object_get(r->json, "items");
    ck_assert_int_eq(json_array_size(items), 2);
    const json_t *a = json_array_get(items, 0), *b = json_array_get(items, 1);
    ck_assert_str_eq(str(a, "account_id"), "acc-098");
    ck_assert_str_eq(str(a, "duplicate_of"), "acc-001");
    ck_assert_str_eq(str(a, "match"), "name");
    ck_assert_str_eq(str(b, "account_id"), "acc-099");
    ck_assert_str_eq(str(b, "duplicate_of"), "acc-012");
    ck_assert_str_eq(str(b, "match"), "similar_name");
    ck_assert_double_eq_tol(num(b, "similarity"), 0.824, 1e-9);
    char next[128];
    snprintf(next, sizeof next, "/v1/hygiene/duplicate_accounts?limit=2&cursor=%s", str(r->json, "next_cursor"));
    ck_assert_str_eq(str(r->json, "status"), "red");
    api_resp_free(r);
    r = api_get(next, ws.read);
    ck_assert_status(r, 200);
    items = json_object_get(r->json, "items");
    ck_assert_int_eq(json_array_size(items), 1);
    ck_assert_str_eq(str(json_array_get(items, 0), "account_id"), "acc-100");
    ck_assert_str_eq(str(json_array_get(items, 0), "duplicate_of"), "acc-024");
    ck_assert_str_eq(str(json_array_get(items, 0), "match"), "domain");
    ck_assert(json_is_null(json_object_get(r->json, "next_cursor")));
    api_resp_free(r);

    /* merging one away (deleting it) brings the rate to 2%: still not below 2% */
    api_resp *del = api_req("DELETE", "/v1/accounts/acc-099", ws.write, NULL, NULL, 0, NULL);
    ck_assert_int_eq(del->status, 204);
    api_resp_free(del);
    r = api_get("/v1/hygiene", ws.read);
    d = rule_of(r->json, "duplicate_accounts");
    ck_assert_int_eq(json_integer_value(json_object_get(d, "offending")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(d, "population")), 99);
    ck_assert_str_eq(str(d, "status"), "red");
    api_resp_free(r);
    del = api_req("DELETE", "/v1/accounts/acc-098", ws.write, NULL, NULL, 0, NULL);
    api_resp_free(del);
    r = api_get("/v1/hygiene", ws.read);
    d = rule_of(r->json, "duplicate_accounts");
    ck_assert_int_eq(json_integer_value(json_object_get(d, "offending")), 1);
    ck_assert_str_eq(str(d, "status"), "green"); /* 1 of 98 */
    api_resp_free(r);

    /* another workspace sees none of it */
    r = api_get("/v1/hygiene", other.read);
    ck_assert_status(r, 200);
    d = rule_of(r->json, "duplicate_accounts");
    ck_assert_int_eq(json_integer_value(json_object_get(d, "population")), 0);
    ck_assert(json_is_null(json_object_get(d, "value")));
    ck_assert_str_eq(str(d, "status"), "unknown");
    ck_assert_str_eq(str(d, "reason"), "no accounts in the workspace");
    api_resp_free(r);
    r = api_get("/v1/hygiene/duplicate_accounts", other.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    api_resp_free(r);
}
END_TEST

/* Events at midnight UTC of their day, so "N days ago" is N whole days ago
 * at any time of today (events at 09:00 were 19 days idle in a run at 01:00). */
static void deal(const api_ws *ws, const char *id, const char *fields, int as_of_day)
{
    char path[64], body[700], at[11];
    snprintf(path, sizeof path, "/v1/deals/%s", id);
    api_day(as_of_day, at);
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"created_at\":\"%sT00:00:00Z\",\"as_of\":\"%sT00:00:00Z\",%s}", id,
             at, at, fields);
    send(ws, "PUT", path, body);
}

START_TEST(deal_rules_on_a_crafted_pipeline)
{
    api_ws ws;
    api_new_workspace(&ws);
    send(&ws, "PUT", "/v1/reps/ann", "{\"name\":\"Ann\",\"role\":\"ae\"}");
    send(&ws, "PUT", "/v1/reps/bob", "{\"name\":\"Bob\",\"role\":\"ae\"}");
    send(&ws, "PUT", "/v1/accounts/a1", "{\"name\":\"Acme\"}");
    send(&ws, "PUT", "/v1/accounts/a2", "{\"name\":\"Globex\"}");
    char close[11], act[11], body[600];
    api_day(40, close);
    /* d1: complete and fresh */
    snprintf(body, sizeof body,
             "\"amount\":1000,\"stage\":\"opportunity\",\"owner\":\"ann\",\"account\":\"a1\","
             "\"expected_close_date\":\"%s\",\"custom\":{\"next_step\":\"Send proposal\"}",
             close);
    deal(&ws, "d1", body, -1);
    /* d2: no amount, a blank next step; d3: no close date, no custom at all */
    snprintf(body, sizeof body,
             "\"stage\":\"opportunity\",\"owner\":\"ann\",\"expected_close_date\":\"%s\","
             "\"custom\":{\"next_step\":\"  \"}",
             close);
    deal(&ws, "d2", body, -2);
    deal(&ws, "d3", "\"amount\":500,\"stage\":\"proposal\",\"owner\":\"bob\"", -3);
    /* d4: complete, but its last change and activity were 20 days ago: stale */
    snprintf(body, sizeof body,
             "\"amount\":700,\"stage\":\"proposal\",\"owner\":\"bob\",\"account\":\"a2\","
             "\"expected_close_date\":\"%s\",\"last_activity_at\":\"%sT00:00:00Z\","
             "\"custom\":{\"next_step\":\"Call CFO\"}",
             close, api_day(-20, act));
    deal(&ws, "d4", body, -20);
    /* d5: 13 days: not yet stale */
    snprintf(body, sizeof body,
             "\"amount\":700,\"stage\":\"proposal\",\"owner\":\"bob\",\"expected_close_date\":\"%s\","
             "\"custom\":{\"next_step\":\"Demo\"}",
             close);
    deal(&ws, "d5", body, -13);
    /* lost deals: one with a reason, one without */
    deal(&ws, "l1", "\"amount\":300,\"stage\":\"closed_lost\",\"owner\":\"ann\",\"lost_reason\":\"Price\"", -5);
    deal(&ws, "l2", "\"amount\":300,\"stage\":\"closed_lost\",\"owner\":\"ann\",\"lost_reason\":\"\"", -5);
    /* bob leaves and Globex is deleted: d3, d4, d5 are orphans, d4 twice over */
    api_resp *r = api_req("DELETE", "/v1/reps/bob", ws.write, NULL, NULL, 0, NULL);
    ck_assert_int_eq(r->status, 204);
    api_resp_free(r);
    r = api_req("DELETE", "/v1/accounts/a2", ws.write, NULL, NULL, 0, NULL);
    ck_assert_int_eq(r->status, 204);
    api_resp_free(r);

    /* leads: three matched to Acme, one to no account */
    send(&ws, "PUT", "/v1/leads/ld1", "{\"email\":\"a@acme.example\",\"account\":\"a1\"}");
    send(&ws, "PUT", "/v1/leads/ld2", "{\"email\":\"b@acme.example\",\"account\":\"a1\"}");
    send(&ws, "PUT", "/v1/leads/ld3", "{\"email\":\"c@acme.example\",\"account\":\"a1\"}");
    send(&ws, "PUT", "/v1/leads/ld4", "{\"email\":\"d@initech.example\"}");

    r = api_get("/v1/hygiene", ws.read);
    ck_assert_status(r, 200);
    const json_t *lm = rule_of(r->json, "lead_to_account_match");
    ck_assert_int_eq(json_integer_value(json_object_get(lm, "population")), 4);
    ck_assert_double_eq_tol(num(lm, "value"), 0.75, 1e-12);
    ck_assert_str_eq(str(lm, "status"), "red");
    ck_assert_str_eq(str(json_array_get(json_object_get(lm, "sample"), 0), "lead_id"), "ld4");
    ck_assert_str_eq(str(json_array_get(json_object_get(lm, "sample"), 0), "reason"), "no account");
    const json_t *f = rule_of(r->json, "open_deal_required_fields");
    ck_assert_int_eq(json_integer_value(json_object_get(f, "population")), 5);
    ck_assert_int_eq(json_integer_value(json_object_get(f, "offending")), 2);
    ck_assert_double_eq_tol(num(f, "value"), 0.6, 1e-12);
    ck_assert_str_eq(str(f, "status"), "red");
    const json_t *bf = json_object_get(f, "by_field");
    ck_assert_int_eq(json_integer_value(json_object_get(bf, "amount")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(bf, "close_date")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(bf, "next_step")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(bf, "owner")), 0);
    const json_t *s2 = json_array_get(json_object_get(f, "sample"), 0);
    ck_assert_str_eq(str(s2, "deal_id"), "d2");
    ck_assert_int_eq(json_array_size(json_object_get(s2, "missing")), 2);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(s2, "missing"), 0)), "amount");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(s2, "missing"), 1)), "next_step");

    const json_t *st = rule_of(r->json, "stale_opportunities");
    ck_assert_int_eq(json_integer_value(json_object_get(st, "offending")), 1);
    ck_assert_double_eq_tol(num(st, "value"), 0.2, 1e-12);
    ck_assert_str_eq(str(st, "status"), "yellow");
    const json_t *s4 = json_array_get(json_object_get(st, "sample"), 0);
    ck_assert_str_eq(str(s4, "deal_id"), "d4");
    ck_assert_int_eq(json_integer_value(json_object_get(s4, "days_idle")), 20);

    const json_t *lr = rule_of(r->json, "closed_lost_reason");
    ck_assert_int_eq(json_integer_value(json_object_get(lr, "population")), 2);
    ck_assert_double_eq_tol(num(lr, "value"), 0.5, 1e-12);
    ck_assert_str_eq(str(lr, "status"), "red");
    ck_assert_str_eq(str(json_array_get(json_object_get(lr, "sample"), 0), "deal_id"), "l2");

    const json_t *u = rule_of(r->json, "unknown_references");
    ck_assert_int_eq(json_integer_value(json_object_get(u, "population")), 7);
    ck_assert_int_eq(json_integer_value(json_object_get(u, "offending")), 3);
    ck_assert_str_eq(str(u, "status"), "red");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(u, "by_field"), "owner")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(u, "by_field"), "account")), 1);
    const json_t *u4 = json_array_get(json_object_get(u, "sample"), 1);
    ck_assert_str_eq(str(u4, "deal_id"), "d4");
    ck_assert_str_eq(str(json_object_get(u4, "unknown"), "owner"), "rep deleted");
    ck_assert_str_eq(str(json_object_get(u4, "unknown"), "account"), "account deleted");

    /* no contact emailed: nothing to measure, and the rule says so */
    const json_t *bounce = rule_of(r->json, "contact_bounce_rate");
    ck_assert(json_is_null(json_object_get(bounce, "value")));
    ck_assert_str_eq(str(bounce, "status"), "unknown");
    ck_assert_ptr_nonnull(str(bounce, "reason"));
    const json_t *sum = json_object_get(r->json, "summary");
    ck_assert_int_eq(json_integer_value(json_object_get(sum, "measured")), 6);
    ck_assert_int_eq(json_integer_value(json_object_get(sum, "red")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(sum, "yellow")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(sum, "green")), 1); /* Acme alone: no duplicate */
    api_resp_free(r);

    /* the AEs' daily self-review: bob's stale d4 (20 days) before d3
     * (no close date, no next step, 3 days); d5 is complete and 13 days */
    r = api_get("/v1/pipeline/self-review?owner=bob", ws.read);
    ck_assert_status(r, 200);
    const json_t *rs = json_object_get(r->json, "summary"), *rd = json_object_get(r->json, "deals");
    ck_assert_int_eq(json_integer_value(json_object_get(rs, "open_deals")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(rs, "to_review")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(rs, "stale")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(rs, "no_next_step")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(rs, "missing_fields")), 1);
    ck_assert_int_eq(json_array_size(rd), 2);
    ck_assert_str_eq(str(json_array_get(rd, 0), "deal_id"), "d4");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(rd, 0), "days_idle")), 20);
    ck_assert(json_is_true(json_object_get(json_array_get(rd, 0), "stale")));
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(rd, 0), "missing")), 0);
    ck_assert_str_eq(str(json_array_get(rd, 1), "deal_id"), "d3");
    ck_assert(json_is_false(json_object_get(json_array_get(rd, 1), "stale")));
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(json_array_get(rd, 1), "missing"), 0)),
                     "close_date");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(json_array_get(rd, 1), "missing"), 1)),
                     "next_step");
    ck_assert(json_is_null(json_object_get(r->json, "next_cursor")));
    api_resp_free(r);
    /* every owner's, two a page: d4, d3, then d2 (no amount, a blank next step) */
    r = api_get("/v1/pipeline/self-review?limit=2", ws.read);
    ck_assert_status(r, 200);
    rs = json_object_get(r->json, "summary");
    ck_assert_int_eq(json_integer_value(json_object_get(rs, "open_deals")), 5);
    ck_assert_int_eq(json_integer_value(json_object_get(rs, "to_review")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(rs, "no_next_step")), 2);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "deals")), 2);
    char page2[200];
    snprintf(page2, sizeof page2, "/v1/pipeline/self-review?limit=2&cursor=%s", str(r->json, "next_cursor"));
    api_resp_free(r);
    r = api_get(page2, ws.read);
    ck_assert_status(r, 200);
    rd = json_object_get(r->json, "deals");
    ck_assert_int_eq(json_array_size(rd), 1);
    ck_assert_str_eq(str(json_array_get(rd, 0), "deal_id"), "d2");
    ck_assert(json_is_null(json_object_get(r->json, "next_cursor")));
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r->json, "summary"), "to_review")), 3);
    api_resp_free(r);
    r = api_get("/v1/pipeline/self-review?cursor=d2", ws.read);
    ck_assert_int_eq(r->status, 422);
    api_resp_free(r);
    r = api_get("/v1/pipeline/self-review?owner=", ws.read);
    ck_assert_int_eq(r->status, 422);
    api_resp_free(r);
    r = api_get("/v1/pipeline/self-review?owner=nobody", ws.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r->json, "summary"), "open_deals")), 0);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "deals")), 0);
    api_resp_free(r);

    /* fixing d4's owner and giving it activity today clears two rules' entries */
    char now[11];
    snprintf(body, sizeof body, "{\"owner\":\"ann\",\"account\":\"a1\",\"as_of\":\"%sT00:00:00Z\"}", api_day(0, now));
    send(&ws, "PUT", "/v1/deals/d4", body);
    r = api_get("/v1/hygiene/stale_opportunities", ws.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    ck_assert_str_eq(str(r->json, "status"), "green");
    api_resp_free(r);
    r = api_get("/v1/hygiene/unknown_references", ws.read);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "offending")), 2);
    api_resp_free(r);
}
END_TEST

/* The contact bounce rate (seed: "<5%", monthly): of the live leads emailed
 * in the 30 days up to now, those with an email_bounce in them. 1 of 20 is
 * 5%, red ("<5%"); 1 of 21 green; a bounce 40 days ago, an unknown lead's
 * and a deleted lead's never count. */
START_TEST(contact_bounce_rate_on_crafted_contacts)
{
    api_ws ws;
    api_new_workspace(&ws);
    char d5[11], d40[11], d2[11], body[8192];
    api_day(-5, d5);
    api_day(-40, d40);
    api_day(-2, d2);
    size_t n = (size_t)snprintf(body, sizeof body, "{\"items\":[");
    for (int i = 1; i <= 22; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "%s{\"id\":\"C-%02d\",\"email\":\"c%02d@x.example\"}",
                              i > 1 ? "," : "", i, i);
    snprintf(body + n, sizeof body - n, "]}");
    send(&ws, "POST", "/v1/leads/batch", body);
    n = (size_t)snprintf(body, sizeof body, "{\"items\":[");
    for (int i = 1; i <= 20; i++)
        n += (size_t)snprintf(body + n, sizeof body - n,
                              "{\"id\":\"s-%02d\",\"type\":\"email_sent\",\"occurred_at\":\"%sT10:00:00Z\",\"lead\":"
                              "\"C-%02d\",\"rep\":\"ann\"},",
                              i, d5, i);
    snprintf(body + n, sizeof body - n,
             "{\"id\":\"b-01\",\"type\":\"email_bounce\",\"occurred_at\":\"%sT10:05:00Z\",\"lead\":\"C-01\"},"
             "{\"id\":\"s-21\",\"type\":\"email_sent\",\"occurred_at\":\"%sT10:00:00Z\",\"lead\":\"C-21\"},"
             "{\"id\":\"b-21\",\"type\":\"email_bounce\",\"occurred_at\":\"%sT10:05:00Z\",\"lead\":\"C-21\"},"
             "{\"id\":\"b-x\",\"type\":\"email_bounce\",\"occurred_at\":\"%sT10:05:00Z\",\"lead\":\"X-1\"}]}",
             d5, d40, d40, d5);
    send(&ws, "POST", "/v1/activities/batch", body);

    api_resp *r = api_get("/v1/hygiene", ws.read);
    ck_assert_status(r, 200);
    const json_t *b = rule_of(r->json, "contact_bounce_rate");
    ck_assert_int_eq(json_integer_value(json_object_get(b, "population")), 20);
    ck_assert_int_eq(json_integer_value(json_object_get(b, "offending")), 1);
    ck_assert_double_eq_tol(num(b, "value"), 0.05, 1e-12);
    ck_assert_str_eq(str(b, "status"), "red");
    const json_t *s0 = json_array_get(json_object_get(b, "sample"), 0);
    ck_assert_str_eq(str(s0, "lead_id"), "C-01");
    ck_assert_str_eq(str(s0, "email"), "c01@x.example");
    ck_assert_int_eq(json_integer_value(json_object_get(s0, "bounces")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(s0, "emails_sent")), 1);
    api_resp_free(r);

    snprintf(body, sizeof body,
             "{\"id\":\"s-22\",\"type\":\"email_sent\",\"occurred_at\":\"%sT10:00:00Z\",\"lead\":\"C-22\"}", d2);
    send(&ws, "POST", "/v1/activities", body);
    r = api_get("/v1/hygiene/contact_bounce_rate", ws.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "population")), 21);
    ck_assert_str_eq(str(r->json, "status"), "green"); /* 1 / 21 = 4.76% */
    ck_assert_uint_eq(json_array_size(json_object_get(r->json, "items")), 1);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "items"), 0), "lead_id"), "C-01");
    api_resp_free(r);

    api_resp_free(api_req("DELETE", "/v1/leads/C-01", ws.write, NULL, NULL, 0, NULL));
    r = api_get("/v1/hygiene/contact_bounce_rate", ws.read);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "population")), 20);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "offending")), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(r->json, "items")), 0);
    api_resp_free(r);
}
END_TEST

START_TEST(hygiene_errors_and_roles)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_get("/v1/hygiene/nope", ws.read);
    ck_assert_status(r, 404);
    ck_assert_str_eq(r->content_type, "application/problem+json");
    api_resp_free(r);
    r = api_get("/v1/hygiene/duplicate_accounts?limit=0", ws.read);
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_get("/v1/hygiene?limit=5", ws.read); /* the summary takes no parameters */
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_get("/v1/hygiene", NULL);
    ck_assert_status(r, 401);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/hygiene", ws.admin, "{}");
    ck_assert_status(r, 405);
    api_resp_free(r);
    /* a rule with an empty population still answers, with no records */
    r = api_get("/v1/hygiene/contact_bounce_rate", ws.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    ck_assert_str_eq(str(r->json, "status"), "unknown");
    api_resp_free(r);
}
END_TEST

/* ---- maturity assessments ---- */

static const json_t *dim_of(const json_t *a, const char *name)
{
    size_t i;
    const json_t *d;
    json_array_foreach(json_object_get(json_object_get(a, "maturity"), "dimensions"), i,
                       d) if (strcmp(str(d, "dimension"), name) == 0) return d;
    ck_abort_msg("no dimension %s", name);
    return NULL;
}

static const json_t *crit_of(const json_t *a, const char *dim, const char *crit)
{
    size_t i, j;
    const json_t *d, *c;
    json_array_foreach(json_object_get(json_object_get(a, "rubric"), "dimensions"), i, d)
    {
        if (strcmp(str(d, "key"), dim) != 0)
            continue;
        json_array_foreach(json_object_get(d, "criteria"), j, c) if (strcmp(str(c, "key"), crit) == 0) return c;
    }
    ck_abort_msg("no criterion %s.%s", dim, crit);
    return NULL;
}

/* An empty workspace: the engine sees no data, no funnel, no snapshot. The
 * answers make the maturity total exactly 13 (building's lower edge) and
 * the rubric exactly 60 (strong foundation's lower edge); one point less
 * each is foundation (12) and gaps (59.x), and the comparison says so. */
#define RUBRIC_60                                                                                                      \
    "\"rubric\":{\"data_integrity\":{\"single_source_of_truth\":0,\"duplicates_below_2pct\":0,"                        \
    "\"required_fields_enforced\":1,\"hygiene_automated\":2},"                                                         \
    "\"funnel_definitions\":{\"all_stages_defined\":2,\"agreed_cross_functionally\":2,\"conversion_tracked_weekly\":"  \
    "2},"                                                                                                              \
    "\"pipeline_management\":{\"velocity_measured\":2,\"forecast_mape_below_15pct\":2},"                               \
    "\"cross_team_alignment\":{\"reviewed_monthly\":1,\"handoffs_documented\":1,\"shared_metrics\":2},"                \
    "\"automation\":{\"lead_routing_under_5min\":1,\"renewal_alerts_automated\":1,\"key_workflows_built\":2},"         \
    "\"analytics\":{\"leading_indicators_tracked\":2},"                                                                \
    "\"compensation\":{\"plans_documented\":2,\"aligned_to_strategy\":2,\"accelerators_at_100pct\":2,"                 \
    "\"simple_max_3_components\":2},"                                                                                  \
    "\"process_documentation\":{\"playbooks_exist\":2,\"onboarding_covers_them\":2,\"quarterly_review_cycle\":%d}}"

START_TEST(assessment_on_band_edges)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    char body[2400];
    snprintf(body, sizeof body,
             "{\"company_name\":\"Acme\",\"arr_current\":\"$800K\",\"stage\":\"<$1M\",\"model\":\"plg\","
             "\"team_size\":{\"marketing\":1,\"sales\":2,\"cs\":1,\"revops\":0},\"tech_stack\":{\"crm\":\"HubSpot\"},"
             "\"current_pain\":[\"no single source of truth for pipeline\"],"
             "\"answers\":{\"dimensions\":{\"data\":5,\"analytics\":3,\"alignment\":4,\"enablement\":3}," RUBRIC_60
             "}}",
             2);
    api_resp *r = api_send_json("POST", "/v1/assessments", ws.write, body);
    ck_assert_status(r, 201);
    const json_t *a = r->json;
    char first[40];
    snprintf(first, sizeof first, "%s", str(a, "id"));
    const json_t *m = json_object_get(a, "maturity");
    /* data: the engine sees no record, so its evidence (1) stands against the answer 5 */
    ck_assert_int_eq(json_integer_value(json_object_get(dim_of(a, "data"), "score")), 1);
    ck_assert_str_eq(str(dim_of(a, "data"), "source"), "evidence");
    ck_assert_int_eq(json_integer_value(json_object_get(dim_of(a, "data"), "answer")), 5);
    ck_assert_int_eq(json_integer_value(json_object_get(dim_of(a, "process"), "score")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(dim_of(a, "technology"), "score")), 1);
    /* analytics: no deals, no evidence: the answer */
    ck_assert_str_eq(str(dim_of(a, "analytics"), "source"), "answer");
    ck_assert_int_eq(json_integer_value(json_object_get(dim_of(a, "alignment"), "score")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "total")), 13);
    ck_assert_str_eq(str(m, "stage"), "building");
    ck_assert_str_eq(str(m, "focus"), "standardize processes, integrate tools");
    ck_assert_str_eq(str(m, "weakest"), "data");
    const json_t *rb = json_object_get(a, "rubric");
    ck_assert_double_eq_tol(num(rb, "total"), 60.0, 1e-9);
    ck_assert_str_eq(str(rb, "band"), "strong_foundation");
    /* evidence 0 where the engine sees nothing it needs: the answer 2 does not count */
    const json_t *c = crit_of(a, "funnel_definitions", "all_stages_defined");
    ck_assert_int_eq(json_integer_value(json_object_get(c, "score")), 0);
    ck_assert_str_eq(str(c, "source"), "evidence");
    c = crit_of(a, "data_integrity", "duplicates_below_2pct");
    ck_assert_str_eq(str(c, "source"), "answer");
    c = crit_of(a, "pipeline_management", "coverage_tracked");
    ck_assert_str_eq(str(c, "source"), "evidence");
    ck_assert_int_eq(json_integer_value(json_object_get(c, "score")), 0);
    /* the seed's edge cases: pre-$1M and PLG */
    const json_t *e = json_object_get(a, "edge_cases");
    ck_assert_int_eq(json_array_size(e), 2);
    ck_assert_str_eq(str(json_array_get(e, 0), "case"), "startup_pre_1m");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(json_array_get(e, 0), "advice"), 0)),
                     "Skip territory design and comp complexity");
    ck_assert_str_eq(str(json_array_get(e, 1), "case"), "plg_dominant");
    ck_assert_str_eq(r->location[0] ? "set" : "", "set");
    api_resp_free(r);

    /* one point less each: 12 (foundation) and 59.17 (gaps); enablement 2, the quarterly review 1 */
    snprintf(body, sizeof body,
             "{\"company_name\":\"Acme\",\"stage\":\"$1-5M\","
             "\"answers\":{\"dimensions\":{\"analytics\":3,\"alignment\":4,\"enablement\":2}," RUBRIC_60 "}}",
             1);
    r = api_send_json("POST", "/v1/assessments", ws.write, body);
    ck_assert_status(r, 201);
    char second[40];
    snprintf(second, sizeof second, "%s", str(r->json, "id"));
    m = json_object_get(r->json, "maturity");
    ck_assert_int_eq(json_integer_value(json_object_get(m, "total")), 12);
    ck_assert_str_eq(str(m, "stage"), "foundation");
    rb = json_object_get(r->json, "rubric");
    ck_assert_double_eq_tol(num(rb, "total"), 60.0 - 7.0 / 6.0, 1e-9);
    ck_assert_str_eq(str(rb, "band"), "gaps_costing_revenue");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "edge_cases")), 0);
    api_resp_free(r);

    /* compared with the one before it */
    char path[160];
    snprintf(path, sizeof path, "/v1/assessments/%s/compare", second);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "against"), first);
    const json_t *mt = json_object_get(json_object_get(r->json, "maturity"), "total");
    ck_assert_double_eq(num(mt, "from"), 13);
    ck_assert_double_eq(num(mt, "to"), 12);
    ck_assert_double_eq(num(mt, "delta"), -1);
    ck_assert_str_eq(str(json_object_get(json_object_get(r->json, "maturity"), "stage"), "from"), "building");
    const json_t *en = json_array_get(json_object_get(json_object_get(r->json, "maturity"), "dimensions"), 5);
    ck_assert_str_eq(str(en, "dimension"), "enablement");
    ck_assert_double_eq(num(en, "delta"), -1);
    ck_assert_str_eq(str(json_object_get(json_object_get(r->json, "rubric"), "band"), "to"), "gaps_costing_revenue");
    api_resp_free(r);
    /* the first has nothing before it */
    snprintf(path, sizeof path, "/v1/assessments/%s/compare", first);
    r = api_get(path, ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);

    /* listed newest first, one per page */
    r = api_get("/v1/assessments?limit=1", ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "items"), 0), "id"), second);
    ck_assert(json_is_string(json_object_get(r->json, "next_cursor")));
    api_resp_free(r);
    /* isolation and roles */
    snprintf(path, sizeof path, "/v1/assessments/%s", first);
    r = api_get(path, other.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_get("/v1/assessments", other.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/assessments/%s/compare?against=%s", second, first);
    r = api_get(path, other.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/assessments", ws.read, "{}");
    ck_assert_status(r, 403);
    api_resp_free(r);
    r = api_get(path + 0, ws.read);
    ck_assert_status(r, 200);
    api_resp_free(r);
}
END_TEST

START_TEST(assessment_from_yaml_and_evidence)
{
    api_ws ws;
    api_new_workspace(&ws);
    send(&ws, "PUT", "/v1/accounts/a1", "{\"name\":\"Acme\"}");
    char body[600], close[11], at[11];
    snprintf(body, sizeof body,
             "{\"name\":\"d1\",\"amount\":1000,\"stage\":\"opportunity\",\"owner\":\"ann\",\"account\":\"a1\","
             "\"expected_close_date\":\"%s\",\"custom\":{\"next_step\":\"Call\"},\"as_of\":\"%sT00:00:00Z\"}",
             api_day(30, close), api_day(-1, at));
    send(&ws, "PUT", "/v1/deals/d1", body);
    /* the seed's template as it is, empty strings and all */
    static const char yaml[] = "company_name: \"\"\narr_current: \"\"\narr_target: \"\"\nstage: \"\"\nmodel: \"\"\n"
                               "avg_deal_size: \"\"\nsales_cycle_days: \"\"\nteam_size:\n  marketing: 0\n  sales: 0\n"
                               "  cs: 0\n  revops: 0\ntech_stack:\n  crm: \"\"\n  billing: \"\"\ncurrent_pain:\n"
                               "  - \"\"\n";
    const char *const hdr[] = {NULL};
    api_resp *r = api_req("POST", "/v1/assessments", ws.write, "application/yaml", yaml, sizeof yaml - 1, hdr);
    ck_assert_status(r, 201);
    const json_t *a = r->json;
    /* data: every measured hygiene rule green (1 account, 1 complete fresh deal, no references broken) */
    const json_t *d = dim_of(a, "data");
    ck_assert_int_eq(json_integer_value(json_object_get(d, "score")), 5);
    ck_assert_str_eq(str(d, "source"), "evidence");
    /* technology: data stored, no live integration; analytics: deals, no scheduled snapshot */
    ck_assert_int_eq(json_integer_value(json_object_get(dim_of(a, "technology"), "score")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(dim_of(a, "analytics"), "score")), 1);
    ck_assert_str_eq(str(dim_of(a, "alignment"), "source"), "default");
    const json_t *c = crit_of(a, "data_integrity", "duplicates_below_2pct");
    ck_assert_int_eq(json_integer_value(json_object_get(c, "score")), 2);
    ck_assert_str_eq(str(c, "source"), "evidence");
    c = crit_of(a, "data_integrity", "required_fields_enforced");
    ck_assert_int_eq(json_integer_value(json_object_get(c, "score")), 2);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(json_object_get(a, "evidence"), "hygiene"), "green")), 4);
    api_resp_free(r);

    /* what breaks a rule is a 422 naming the field */
    r = api_send_json("POST", "/v1/assessments", ws.write, "{\"stage\":\"$2M\"}");
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/assessments", ws.write, "{\"answers\":{\"dimensions\":{\"data\":6}}}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "errors"), 0), "field"), "answers.dimensions.data");
    api_resp_free(r);
    r = api_send_json("POST", "/v1/assessments", ws.write,
                      "{\"answers\":{\"rubric\":{\"automation\":{\"lead_routing\":2}}}}");
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/assessments", ws.write, "{\"budget\":1}");
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/assessments", ws.write, "[1]");
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_req("POST", "/v1/assessments", ws.write, "application/yaml", "a: [", 4, hdr);
    ck_assert_status(r, 400);
    api_resp_free(r);
    r = api_get("/v1/assessments/00000000-0000-0000-0000-000000000000", ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
}
END_TEST

Suite *audit_suite(void)
{
    Suite *s = suite_create("audit");
    TCase *t = tcase_create("hygiene");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, three_of_a_hundred_duplicates_is_red);
    tcase_add_test(t, deal_rules_on_a_crafted_pipeline);
    tcase_add_test(t, contact_bounce_rate_on_crafted_contacts);
    tcase_add_test(t, hygiene_errors_and_roles);
    suite_add_tcase(s, t);
    TCase *a = tcase_create("assessments");
    tcase_set_timeout(a, 60);
    tcase_add_test(a, assessment_on_band_edges);
    tcase_add_test(a, assessment_from_yaml_and_evidence);
    suite_add_tcase(s, a);
    return s;
}

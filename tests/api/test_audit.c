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

static void deal(const api_ws *ws, const char *id, const char *fields, int as_of_day)
{
    char path[64], body[700], at[11];
    snprintf(path, sizeof path, "/v1/deals/%s", id);
    api_day(as_of_day, at);
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"created_at\":\"%sT09:00:00Z\",\"as_of\":\"%sT09:00:00Z\",%s}", id,
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
             "\"expected_close_date\":\"%s\",\"last_activity_at\":\"%sT09:00:00Z\","
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

    /* what the engine cannot measure says so */
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
    /* an unmeasurable rule still answers, with no records */
    r = api_get("/v1/hygiene/contact_bounce_rate", ws.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    ck_assert_str_eq(str(r->json, "status"), "unknown");
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
    tcase_add_test(t, hygiene_errors_and_roles);
    suite_add_tcase(s, t);
    return s;
}

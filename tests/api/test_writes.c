/* test_writes.c - issue 15 section 4, writes that mean one thing: the same
 * reference rule for every way in, exchange rates, the entry time of a new
 * deal's stage, stage skips in conversion, and territory moves counted once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static api_resp *put(const char *path, const char *key, const char *json)
{
    return api_send_json("PUT", path, key, json);
}

static void send_ok(const char *key, const char *path, const char *json)
{
    api_resp *r = put(path, key, json);
    ck_assert_msg(r->status == 200 || r->status == 201, "%s: %ld %s", path, r->status, r->body);
    api_resp_free(r);
}

static const char *first_error_field(const json_t *body)
{
    return str(json_array_get(json_object_get(body, "errors"), 0), "field");
}

/* One rule for PUT, batch and import: a stage of the default funnel, an owner
 * that is a rep and an account that exists (once the workspace has any), a
 * currency with an exchange rate. */
START_TEST(unknown_references_refused_by_every_way_in)
{
    api_ws ws;
    api_new_workspace(&ws);
    /* no reps nor accounts loaded: owners and accounts are not checked */
    api_resp *r =
        put("/v1/deals/x0", ws.write, "{\"name\":\"x0\",\"stage\":\"sql\",\"owner\":\"zed\",\"account\":\"nope\"}");
    ck_assert_status(r, 201);
    api_resp_free(r);
    send_ok(ws.write, "/v1/reps/ann", "{\"name\":\"Ann\",\"role\":\"ae\"}");
    send_ok(ws.write, "/v1/accounts/acme", "{\"name\":\"Acme\"}");
    static const struct {
        const char *body, *field, *message;
    } bad[] = {
        {"{\"name\":\"d\",\"stage\":\"negotiation\"}", "stage",
         "'negotiation' is not a stage of the workspace's default funnel"},
        {"{\"name\":\"d\",\"stage\":\"sql\",\"owner\":\"zed\"}", "owner",
         "'zed' is not a rep of this workspace (PUT /v1/reps/{id} first)"},
        {"{\"name\":\"d\",\"stage\":\"sql\",\"account\":\"nope\"}", "account",
         "'nope' is not an account of this workspace (PUT /v1/accounts/{id} first)"},
        {"{\"name\":\"d\",\"stage\":\"sql\",\"amount\":10,\"currency\":\"EUR\"}", "currency",
         "no exchange rate for EUR: PUT /v1/fx-rates/EUR"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = put("/v1/deals/d1", ws.write, bad[i].body);
        ck_assert_status(r, 422);
        ck_assert_str_eq(first_error_field(r->json), bad[i].field);
        ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "errors"), 0), "message"), bad[i].message);
        api_resp_free(r);
    }
    r = api_get("/v1/deals/d1", ws.read);
    ck_assert_status(r, 404); /* nothing written */
    api_resp_free(r);
    /* an existing deal: the same check on the fields a PUT changes, none on the others */
    r = put("/v1/deals/x0", ws.write, "{\"amount\":5}");
    ck_assert_status(r, 200);
    api_resp_free(r);
    r = put("/v1/deals/x0", ws.write, "{\"owner\":\"bob\"}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(first_error_field(r->json), "owner");
    api_resp_free(r);
    r = put("/v1/deals/x0", ws.write, "{\"owner\":\"ann\",\"account\":\"acme\"}");
    ck_assert_status(r, 200);
    api_resp_free(r);

    /* the batch: per-item results */
    r = api_send_json("POST", "/v1/deals/batch", ws.write,
                      "{\"items\":[{\"id\":\"b1\",\"name\":\"b1\",\"stage\":\"sql\",\"owner\":\"ann\"},"
                      "{\"id\":\"b2\",\"name\":\"b2\",\"stage\":\"sql\",\"owner\":\"zed\"},"
                      "{\"id\":\"b3\",\"name\":\"b3\",\"stage\":\"negotiation\"}]}");
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "created")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "rejected")), 2);
    json_t *res = json_object_get(r->json, "results");
    ck_assert_str_eq(str(json_array_get(res, 0), "status"), "created");
    ck_assert_str_eq(str(json_array_get(res, 1), "status"), "rejected");
    ck_assert_str_eq(first_error_field(json_array_get(res, 1)), "owner");
    ck_assert_str_eq(first_error_field(json_array_get(res, 2)), "stage");
    api_resp_free(r);

    /* the import: the same rule, rows rejected with the reason */
    const char *csv = "id,name,stage,owner,account\n"
                      "i1,One,sql,ann,acme\n"
                      "i2,Two,sql,zed,acme\n"
                      "i3,Three,negotiation,ann,\n"
                      "i4,Four,sql,ann,nope\n";
    r = api_req("POST", "/v1/imports?object=deals", ws.write, "text/csv", csv, strlen(csv), NULL);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "created")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "rejected")), 3);
    json_t *rej = json_object_get(r->json, "rejections");
    ck_assert_str_eq(str(json_array_get(rej, 0), "id"), "i2");
    ck_assert_str_eq(str(json_array_get(rej, 0), "reason"),
                     "owner: 'zed' is not a rep of this workspace (PUT /v1/reps/{id} first)");
    ck_assert_str_eq(str(json_array_get(rej, 1), "reason"),
                     "stage: 'negotiation' is not a stage of the workspace's default funnel");
    ck_assert_str_eq(str(json_array_get(rej, 2), "id"), "i4");
    api_resp_free(r);
    r = api_get("/v1/deals/i2", ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
}
END_TEST

static double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

static double snapshot_total(const api_ws *ws, const char *as_of)
{
    char body[128];
    if (as_of)
        snprintf(body, sizeof body, "{\"label\":\"fx\",\"as_of\":\"%sT12:00:00Z\"}", as_of);
    else
        snprintf(body, sizeof body, "{\"label\":\"fx\"}");
    api_resp *r = api_send_json("POST", "/v1/snapshots", ws->write, body);
    ck_assert_status(r, 201);
    char path[96];
    snprintf(path, sizeof path, "/v1/snapshots/%s", str(r->json, "id"));
    api_resp_free(r);
    r = api_get(path, ws->read);
    ck_assert_status(r, 200);
    double total = num(json_object_get(r->json, "summary"), "total");
    api_resp_free(r);
    return total;
}

/* A EUR deal in a USD workspace: refused without a rate, then converted at the
 * rate in force on each figure's date, cents x rate rounded half away from zero. */
START_TEST(fx_rates_convert_deals_exactly)
{
    api_ws ws;
    api_new_workspace(&ws);
    char d400[11], d100[11], d60[11], d30[11], today[11], q[11], body[512];
    api_day(-400, d400);
    api_day(-100, d100);
    api_day(-60, d60);
    api_day(-30, d30);
    api_day(0, today);
    api_quarter_of_day(0, q);
    snprintf(body, sizeof body,
             "{\"name\":\"e1\",\"amount\":1000.01,\"currency\":\"EUR\",\"stage\":\"proposal\",\"probability\":1,"
             "\"expected_close_date\":\"%s\",\"created_at\":\"%sT12:00:00Z\",\"as_of\":\"%sT12:00:00Z\"}",
             today, d100, d100);
    api_resp *r = put("/v1/deals/e1", ws.write, body);
    ck_assert_status(r, 422);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "errors"), 0), "message"),
                     "no exchange rate for EUR: PUT /v1/fx-rates/EUR");
    api_resp_free(r);

    /* rates: 1.5 from d-400, 1.0825 from d-30 */
    char rates[256];
    snprintf(rates, sizeof rates, "{\"rates\":[{\"date\":\"%s\",\"rate\":1.5},{\"date\":\"%s\",\"rate\":1.0825}]}", d30,
             d400);
    r = put("/v1/fx-rates/EUR", ws.write, rates); /* dates swapped on purpose, fixed below */
    ck_assert_status(r, 200);
    api_resp_free(r);
    snprintf(rates, sizeof rates, "{\"rates\":[{\"date\":\"%s\",\"rate\":1.5},{\"date\":\"%s\",\"rate\":1.0825}]}",
             d400, d30);
    r = put("/v1/fx-rates/EUR", ws.write, rates); /* same dates: replaced */
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "base"), "USD");
    json_t *rl = json_object_get(r->json, "rates");
    ck_assert_int_eq(json_array_size(rl), 2);
    ck_assert_str_eq(str(json_array_get(rl, 0), "date"), d400);
    ck_assert(num(json_array_get(rl, 0), "rate") == 1.5);
    ck_assert(num(json_array_get(rl, 1), "rate") == 1.0825);
    api_resp_free(r);
    r = put("/v1/fx-rates/USD", ws.write, rates);
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = put("/v1/fx-rates/EUR", ws.write, "{\"rates\":[{\"date\":\"2026-02-30\",\"rate\":0}]}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "errors"), 0), "field"), "rates[0].date");
    api_resp_free(r);
    r = api_get("/v1/fx-rates", ws.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 1);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "items"), 0), "currency"), "EUR");
    api_resp_free(r);

    r = put("/v1/deals/e1", ws.write, body);
    ck_assert_status(r, 201);
    api_resp_free(r);
    snprintf(body, sizeof body,
             "{\"name\":\"u1\",\"amount\":500,\"stage\":\"proposal\",\"probability\":1,\"expected_close_date\":\"%s\","
             "\"created_at\":\"%sT12:00:00Z\",\"as_of\":\"%sT12:00:00Z\"}",
             today, d100, d100);
    r = put("/v1/deals/u1", ws.write, body);
    ck_assert_status(r, 201);
    api_resp_free(r);
    snprintf(body, sizeof body,
             "{\"name\":\"w1\",\"amount\":200,\"currency\":\"EUR\",\"stage\":\"closed_won\",\"status\":\"won\","
             "\"closed_at\":\"%sT00:00:00Z\"}",
             today);
    r = put("/v1/deals/w1", ws.write, body);
    ck_assert_status(r, 201);
    ck_assert(num(r->json, "amount") == 200); /* stored as given, in its currency */
    api_resp_free(r);

    /* today: 100001 x 1.0825 = 108251.0825 -> 108251 cents, + 500.00 */
    ck_assert_msg(snapshot_total(&ws, NULL) == 1582.51, "%f", snapshot_total(&ws, NULL));
    /* 60 days ago, at 1.5: 100001 x 1.5 = 150001.5 -> 150002 (half away from zero), + 500.00 */
    ck_assert_msg(snapshot_total(&ws, d60) == 2000.02, "%f", snapshot_total(&ws, d60));

    /* the forecast of this quarter: the open EUR deal at today's rate, the win at its close's */
    snprintf(body, sizeof body, "{\"period\":\"%s\",\"method\":\"weighted\"}", q);
    r = api_send_json("POST", "/v1/forecasts", ws.write, body);
    ck_assert_status(r, 201);
    ck_assert_msg(num(r->json, "closed_won") == 216.5, "%f", num(r->json, "closed_won")); /* 20000 x 1.0825 */
    ck_assert_msg(num(r->json, "weighted") == 1582.51, "%f", num(r->json, "weighted"));
    api_resp_free(r);
    /* as of 60 days ago: the pipeline then, at the rate then */
    snprintf(body, sizeof body, "{\"period\":\"%s\",\"method\":\"weighted\",\"as_of\":\"%s\"}", q, d60);
    r = api_send_json("POST", "/v1/forecasts", ws.write, body);
    ck_assert_status(r, 201);
    ck_assert_msg(num(r->json, "weighted") == 2000.02, "%f", num(r->json, "weighted"));
    api_resp_free(r);
}
END_TEST

/* A new deal's stage was entered when the deal was created (a closed one: when it closed). */
/* A currency without a minor unit (ISO 4217: JPY) takes whole amounts only,
 * by PUT and by batch, whether it is the deal's or the workspace's. */
START_TEST(zero_minor_unit_currency_takes_whole_amounts)
{
    api_ws ws;
    api_new_workspace(&ws);
    char d10[11];
    api_day(-10, d10);
    char rates[128];
    snprintf(rates, sizeof rates, "{\"rates\":[{\"date\":\"%s\",\"rate\":0.0067}]}", d10);
    send_ok(ws.write, "/v1/fx-rates/JPY", rates);
    api_resp *r = put("/v1/deals/y1", ws.write,
                      "{\"name\":\"y1\",\"stage\":\"proposal\",\"amount\":1000.5,\"currency\":\"JPY\"}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(first_error_field(r->json), "amount");
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "errors"), 0), "message"),
                     "JPY has no minor unit: the amount must be a whole number");
    api_resp_free(r);
    send_ok(ws.write, "/v1/deals/y1",
            "{\"name\":\"y1\",\"stage\":\"proposal\",\"amount\":150000,\"currency\":\"JPY\"}");
    /* a batch item: refused alone, its neighbour applied */
    r = api_send_json("POST", "/v1/deals/batch", ws.write,
                      "{\"items\":[{\"id\":\"y2\",\"name\":\"y2\",\"stage\":\"proposal\",\"amount\":0.5,"
                      "\"currency\":\"JPY\"},{\"id\":\"u2\",\"name\":\"u2\",\"stage\":\"proposal\",\"amount\":0.5}]}");
    ck_assert_msg(r->status == 200 || r->status == 207, "batch: %ld %s", r->status, r->body);
    ck_assert_msg(strstr(r->body, "JPY has no minor unit"), "batch: %s", r->body);
    api_resp_free(r);
    r = api_get("/v1/deals/u2", ws.read);
    ck_assert_status(r, 200);
    api_resp_free(r);
    r = api_get("/v1/deals/y2", ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    /* the workspace's own currency */
    r = api_send_json("PATCH", "/v1/workspace", ws.admin, "{\"currency\":\"JPY\"}");
    ck_assert_msg(r->status == 200, "PATCH /v1/workspace: %ld %s", r->status, r->body);
    api_resp_free(r);
    r = put("/v1/deals/y3", ws.write, "{\"name\":\"y3\",\"stage\":\"proposal\",\"amount\":10.25}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(first_error_field(r->json), "amount");
    api_resp_free(r);
    send_ok(ws.write, "/v1/deals/y3", "{\"name\":\"y3\",\"stage\":\"proposal\",\"amount\":10}");
}
END_TEST

START_TEST(new_deal_stage_entered_at_creation)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = put("/v1/deals/d1", ws.write,
                      "{\"name\":\"Old\",\"stage\":\"sql\",\"amount\":10,\"created_at\":\"2025-01-15T09:00:00Z\"}");
    ck_assert_status(r, 201);
    ck_assert_str_eq(str(r->json, "stage_entered_at"), "2025-01-15T09:00:00Z");
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "stage_history"), 0), "entered_at"),
                     "2025-01-15T09:00:00Z");
    api_resp_free(r);
    r = put("/v1/deals/d2", ws.write,
            "{\"name\":\"Won\",\"stage\":\"closed_won\",\"amount\":10,\"created_at\":\"2025-01-15T09:00:00Z\","
            "\"closed_at\":\"2025-03-01T12:00:00Z\"}");
    ck_assert_status(r, 201);
    ck_assert_str_eq(str(r->json, "stage_entered_at"), "2025-03-01T12:00:00Z");
    api_resp_free(r);
    /* a later move is dated by the write, as before */
    char today[11];
    r = put("/v1/deals/d1", ws.write, "{\"stage\":\"opportunity\"}");
    ck_assert_status(r, 200);
    ck_assert_msg(strncmp(str(r->json, "stage_entered_at"), api_day(0, today), 10) == 0, "%s",
                  str(r->json, "stage_entered_at"));
    api_resp_free(r);
}
END_TEST

static void move_at(const api_ws *ws, const char *id, const char *stage, int day)
{
    char path[80], body[256], d[11];
    snprintf(path, sizeof path, "/v1/deals/%s", id);
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"amount\":1000,\"stage\":\"%s\",\"as_of\":\"%sT10:00:00Z\"}", id,
             stage, api_day(day, d));
    api_resp *r = put(path, ws->write, body);
    ck_assert_msg(r->status == 200 || r->status == 201, "%ld %s", r->status, r->body);
    api_resp_free(r);
}

static const json_t *transition(const json_t *body, const char *from, const char *to)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(body, "transitions"), i,
                       t) if (strcmp(str(t, "from"), from) == 0 && strcmp(str(t, "to"), to) == 0) return t;
    ck_abort_msg("no transition %s -> %s", from, to);
    return NULL;
}

/* MQL -> SQL without SAL passed SAL: not a 0% SAL -> SQL bottleneck. */
START_TEST(conversion_infers_skipped_stage)
{
    api_ws ws;
    api_new_workspace(&ws);
    move_at(&ws, "d1", "mql", -10);
    move_at(&ws, "d1", "sql", -8); /* skipped SAL */
    move_at(&ws, "d2", "mql", -10);
    move_at(&ws, "d2", "sal", -9);
    api_resp *r = api_get("/v1/funnels", ws.read);
    ck_assert_status(r, 200);
    char path[160];
    snprintf(path, sizeof path, "/v1/funnels/%s/conversion",
             str(json_array_get(json_object_get(r->json, "items"), 0), "id"));
    api_resp_free(r);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    const json_t *ms = transition(r->json, "mql", "sal"), *ss = transition(r->json, "sal", "sql");
    ck_assert_int_eq(json_integer_value(json_object_get(ms, "from_count")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(ms, "to_count")), 2);
    ck_assert(json_real_value(json_object_get(ms, "rate")) == 1.0);
    ck_assert_int_eq(json_integer_value(json_object_get(ss, "from_count")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(ss, "to_count")), 1);
    ck_assert(json_real_value(json_object_get(ss, "rate")) == 0.5);
    api_resp_free(r);
}
END_TEST

/* A plan without a territory the accounts have today moves those accounts:
 * the plan says so as its change report against today's map does. */
START_TEST(territory_plan_removing_a_territory_counts_its_accounts_moved)
{
    api_ws ws;
    api_new_workspace(&ws);
    send_ok(ws.write, "/v1/accounts/a1", "{\"name\":\"a1\",\"potential\":100000,\"territory\":\"T1\"}");
    send_ok(ws.write, "/v1/accounts/a2", "{\"name\":\"a2\",\"potential\":100000,\"territory\":\"T1\"}");
    send_ok(ws.write, "/v1/accounts/c1", "{\"name\":\"c1\",\"potential\":70000,\"territory\":\"T3\"}");
    send_ok(ws.write, "/v1/accounts/c2", "{\"name\":\"c2\",\"potential\":20000,\"territory\":\"T3\"}");
    send_ok(ws.write, "/v1/accounts/c3", "{\"name\":\"c3\",\"potential\":10000,\"territory\":\"T3\"}");
    send_ok(ws.write, "/v1/deals/d1", "{\"name\":\"d1\",\"account\":\"c1\",\"amount\":500,\"stage\":\"proposal\"}");
    api_resp *r = api_send_json("POST", "/v1/territory-plans", ws.write,
                                "{\"name\":\"no T3\",\"territories\":[{\"id\":\"T1\"},{\"id\":\"T2\"}],"
                                "\"from_accounts\":true,\"pins\":{\"a1\":\"T1\",\"a2\":\"T1\"}}");
    ck_assert_status(r, 201);
    const json_t *dis = json_object_get(r->json, "disruption");
    ck_assert_int_eq(json_integer_value(json_object_get(dis, "accounts_moved")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(dis, "newly_assigned")), 0);
    ck_assert(json_number_value(json_object_get(dis, "potential_moved")) == 100000);
    ck_assert(json_number_value(json_object_get(dis, "pipeline_moved")) == 500);
    const json_t *imp = json_object_get(r->json, "pipeline_impact");
    ck_assert_int_eq(json_integer_value(json_object_get(imp, "deals")), 1);
    ck_assert_str_eq(str(json_array_get(json_object_get(imp, "items"), 0), "from"), "T3");
    char path[160];
    snprintf(path, sizeof path, "/v1/territory-plans/%s/diff?against=current", str(r->json, "id"));
    api_resp_free(r);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "accounts_moved")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "newly_assigned")), 0);
    ck_assert(json_number_value(json_object_get(r->json, "potential_moved")) == 100000);
    api_resp_free(r);
}
END_TEST

Suite *writes_suite(void)
{
    Suite *s = suite_create("writes");
    TCase *tc = tcase_create("writes");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, unknown_references_refused_by_every_way_in);
    tcase_add_test(tc, fx_rates_convert_deals_exactly);
    tcase_add_test(tc, zero_minor_unit_currency_takes_whole_amounts);
    tcase_add_test(tc, new_deal_stage_entered_at_creation);
    tcase_add_test(tc, conversion_infers_skipped_stage);
    tcase_add_test(tc, territory_plan_removing_a_territory_counts_its_accounts_moved);
    suite_add_tcase(s, tc);
    return s;
}

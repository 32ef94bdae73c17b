/* test_plans.c - capacity plans, stored scenarios and territory plans over
 * HTTP: the seed's worked examples with exact values, roles and workspace
 * isolation on every route. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }
static long long inum(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }
static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void send_ok(const char *key, const char *method, const char *path, const char *body)
{
    api_resp *r = api_send_json(method, path, key, body);
    ck_assert_msg(r->status == 200 || r->status == 201, "%s %s: %ld %s", method, path, r->status, r->body);
    api_resp_free(r);
}

/* ---- capacity ------------------------------------------------------------ */

/* Seed 001 phase 6: $5M / ($600K x 70%) = 12 AEs at full ramp; at 25%
 * attrition that is 14 seats (the seed's "hire 14-15"). */
START_TEST(capacity_seed_twelve_aes)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_send_json("POST", "/v1/capacity/plan", ws.read,
                                "{\"target\":5000000,\"quota\":600000,\"attainment\":\"70%\",\"attrition_rate\":0.25,"
                                "\"fiscal_year_start\":\"2026-01-01\"}");
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(r->json, "required_aes"), 12);
    ck_assert_int_eq(inum(r->json, "seats_for_required_aes"), 14);
    ck_assert(num(r->json, "capacity_before") == 0);
    ck_assert_str_eq(str(json_object_get(r->json, "roster"), "source"), "none");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "monthly")), 12);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "monthly"), 0), "month"), "2026-01");
    api_resp_free(r);
    /* one cent more than 12 x 420,000 needs a 13th */
    r = api_send_json("POST", "/v1/capacity/plan", ws.read,
                      "{\"target\":5040000.01,\"quota\":600000,\"attainment\":0.7,\"fiscal_year_start\":\"2026-01-01\"}");
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(r->json, "required_aes"), 13);
    api_resp_free(r);
}
END_TEST

/* Seed 000: quota $500K, 6-month ramp (the seed's schedule: 8.25 productive
 * months for a day-one hire), target $10M: 20 AEs at full ramp and 30
 * day-one hires from an empty team; at 80% attainment 25 and 37; with 20
 * ramped reps already, 0 hires at 100% and 8 at 80%. */
START_TEST(capacity_seed000_exercise)
{
    api_ws ws;
    api_new_workspace(&ws);
    const char *base = "{\"target\":10000000,\"quota\":500000,\"fiscal_year_start\":\"2026-01-01\",\"attainment\":";
    char body[512];
    snprintf(body, sizeof body, "%s1.0}", base);
    api_resp *r = api_send_json("POST", "/v1/capacity/plan", ws.read, body);
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(r->json, "required_aes"), 20);
    ck_assert_int_eq(inum(r->json, "hires_needed"), 30);
    ck_assert_int_eq(inum(json_object_get(r->json, "hiring_plan"), "2026-01"), 30);
    ck_assert_int_eq(inum(json_object_get(r->json, "hiring_plan"), "2026-02"), 0);
    ck_assert(num(r->json, "capacity") == 10312500);
    ck_assert(json_is_true(json_object_get(r->json, "closable")));
    ck_assert(num(r->json, "shortfall") == 0);
    /* month 3 of a day-one cohort of 30 at 25%: 30 x 500K / 12 x 0.25 */
    ck_assert(num(json_array_get(json_object_get(r->json, "monthly"), 2), "capacity") == 312500);
    api_resp_free(r);

    snprintf(body, sizeof body, "%s\"80%%\"}", base);
    r = api_send_json("POST", "/v1/capacity/plan", ws.read, body);
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(r->json, "required_aes"), 25);
    ck_assert_int_eq(inum(r->json, "hires_needed"), 37);
    ck_assert(num(r->json, "capacity") == 10175000);
    api_resp_free(r);

    snprintf(body, sizeof body, "%s0.8,\"roster\":[{\"start_date\":\"2020-01-01\",\"count\":20}]}", base);
    r = api_send_json("POST", "/v1/capacity/plan", ws.read, body);
    ck_assert_status(r, 200);
    ck_assert(num(r->json, "capacity_before") == 8000000);
    ck_assert(num(r->json, "gap_before") == 2000000);
    ck_assert_int_eq(inum(r->json, "hires_needed"), 8);
    ck_assert(num(r->json, "capacity") == 10200000);
    ck_assert_int_eq(inum(json_object_get(r->json, "roster"), "reps"), 20);
    api_resp_free(r);

    snprintf(body, sizeof body, "%s1,\"roster\":[{\"start_date\":\"2020-01-01\",\"count\":20}]}", base);
    r = api_send_json("POST", "/v1/capacity/plan", ws.read, body);
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(r->json, "hires_needed"), 0);
    ck_assert(num(r->json, "gap") == 0);
    api_resp_free(r);
}
END_TEST

/* from_reps: the workspace's AEs with their dates and FY quotas; a hiring
 * window too late to help leaves a shortfall. */
START_TEST(capacity_from_reps_and_shortfall)
{
    api_ws ws;
    api_new_workspace(&ws);
    /* two ramped AEs (one with its own FY quota of 300K), one leaving after
     * June, one manager (not carrying quota) */
    send_ok(ws.write, "PUT", "/v1/reps/a1", "{\"name\":\"A1\",\"role\":\"ae\",\"start_date\":\"2022-01-10\"}");
    send_ok(ws.write, "PUT", "/v1/reps/a2",
            "{\"name\":\"A2\",\"role\":\"ae\",\"start_date\":\"2021-05-01\",\"quotas\":{\"FY2026\":300000}}");
    send_ok(ws.write, "PUT", "/v1/reps/a3",
            "{\"name\":\"A3\",\"start_date\":\"2020-01-01\",\"end_date\":\"2026-06-30\"}");
    send_ok(ws.write, "PUT", "/v1/reps/m1", "{\"name\":\"M1\",\"role\":\"manager\",\"start_date\":\"2019-01-01\"}");
    api_resp *r = api_send_json("POST", "/v1/capacity/plan", ws.read,
                                "{\"target\":1500000,\"quota\":600000,\"attainment\":1,\"backfill\":false,"
                                "\"fiscal_year_start\":\"2026-01-01\",\"from_reps\":true}");
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(json_object_get(r->json, "roster"), "source"), "reps");
    ck_assert_int_eq(inum(json_object_get(r->json, "roster"), "reps"), 3);
    /* a1 600K + a2 300K + a3 half a year of 600K = 1.2M */
    ck_assert(num(r->json, "capacity_before") == 1200000);
    ck_assert(num(r->json, "gap_before") == 300000);
    /* a day-one hire adds 600K x 8.25/12 = 412,500 */
    ck_assert_int_eq(inum(r->json, "hires_needed"), 1);
    ck_assert(num(r->json, "capacity") == 1612500);
    api_resp_free(r);
    /* a roster row by rep id takes the rep's dates and quota */
    r = api_send_json("POST", "/v1/capacity/plan", ws.read,
                      "{\"target\":0,\"quota\":600000,\"attainment\":1,\"fiscal_year_start\":\"2026-01-01\",\"backfill\":false,"
                      "\"roster\":[{\"rep_id\":\"a2\"},{\"rep_id\":\"a3\",\"quota\":1200000}]}");
    ck_assert_status(r, 200);
    ck_assert(num(r->json, "capacity_before") == 900000); /* 300K + half of 1.2M */
    api_resp_free(r);
    /* hires only from December: a December hire adds nothing this year */
    r = api_send_json("POST", "/v1/capacity/plan", ws.read,
                      "{\"target\":1500000,\"quota\":600000,\"attainment\":1,\"backfill\":false,"
                      "\"fiscal_year_start\":\"2026-01-01\",\"from_reps\":true,\"hire_from_month\":12}");
    ck_assert_status(r, 200);
    ck_assert(json_is_false(json_object_get(r->json, "closable")));
    ck_assert(num(r->json, "shortfall") == 300000);
    ck_assert_int_eq(inum(r->json, "hires_needed"), 0);
    ck_assert_str_eq(str(r->json, "last_useful_hire_month"), "2026-10");
    api_resp_free(r);
    /* bad input: every field at fault listed */
    r = api_send_json("POST", "/v1/capacity/plan", ws.read,
                      "{\"target\":-1,\"quota\":0,\"attainment\":\"lots\",\"roster\":[{\"rep_id\":\"nobody\"}],"
                      "\"fiscal_year_start\":\"2026-01-15\",\"seasonality\":[1,2]}");
    ck_assert_status(r, 422);
    ck_assert_int_ge(json_array_size(json_object_get(r->json, "errors")), 4);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/capacity/plan", ws.read,
                      "{\"target\":1,\"quota\":1,\"attainment\":1,\"roster\":[{\"rep_id\":\"nobody\"}]}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "errors"), 0), "field"), "roster[0].rep_id");
    api_resp_free(r);
    /* another workspace's rep is not there */
    api_ws other;
    api_new_workspace(&other);
    r = api_send_json("POST", "/v1/capacity/plan", other.read,
                      "{\"target\":1,\"quota\":1,\"attainment\":1,\"roster\":[{\"rep_id\":\"a1\"}]}");
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/capacity/plan", other.read,
                      "{\"target\":1500000,\"quota\":600000,\"attainment\":1,\"from_reps\":true,"
                      "\"fiscal_year_start\":\"2026-01-01\"}");
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(json_object_get(r->json, "roster"), "reps"), 0);
    ck_assert(num(r->json, "capacity_before") == 0);
    api_resp_free(r);
}
END_TEST

/* ---- scenarios ------------------------------------------------------------- */

/* docs/planning.md's worked example (core test_scenario.c), in the seed's
 * revenue-plan.yaml spelling. */
static const char SEED_PLAN[] =
    "{\"fiscal_year\":\"2026\",\"targets\":{\"total_arr_target\":20000000,\"new_business\":5000000,\"expansion\":2500000},"
    "\"assumptions\":{\"gross_churn_rate\":\"20%\",\"expansion_rate\":\"16%\",\"avg_new_deal_size\":50000,"
    "\"avg_expansion_deal_size\":25000,\"new_win_rate\":\"20%\",\"expansion_win_rate\":0.5,"
    "\"avg_sales_cycle_new\":\"90 days\",\"avg_sales_cycle_expansion\":45,\"sql_to_opp_rate\":\"50%\","
    "\"mql_to_sql_rate\":\"25%\"},\"capacity\":{\"quota_per_ae\":600000,\"expected_attainment\":\"70%\",\"current_aes\":8}}";

static const json_t *result_named(const json_t *set, const char *name)
{
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(set, "results"), i, r) if (strcmp(str(r, "name"), name) == 0) return r;
    ck_abort_msg("no result %s", name);
    return NULL;
}

static const json_t *sub(const json_t *o, const char *a, const char *b)
{
    return json_object_get(json_object_get(o, a), b);
}

START_TEST(scenarios_bear_base_bull)
{
    api_ws ws;
    api_new_workspace(&ws);
    char body[2048];
    snprintf(body, sizeof body,
             "{\"name\":\"FY2026\",\"plan\":%s,\"scenarios\":[\"bear\",\"base\",\"bull\",{\"name\":\"bigger deals\","
             "\"adjustments\":[{\"field\":\"avg_new_deal_size\",\"op\":\"add\",\"value\":12500}]}]}",
             SEED_PLAN);
    api_resp *r = api_send_json("POST", "/v1/scenarios", ws.write, body);
    ck_assert_status(r, 201);
    ck_assert_str_eq(str(r->json, "fiscal_year"), "2026");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "results")), 4);
    const json_t *base = result_named(r->json, "base");
    const json_t *d = json_object_get(base, "derived");
    ck_assert_int_eq(inum(d, "new_deals_needed"), 100);
    ck_assert_int_eq(inum(d, "opps_needed"), 500);
    ck_assert_int_eq(inum(d, "sqls_needed"), 1000);
    ck_assert_int_eq(inum(d, "mqls_needed"), 4000);
    ck_assert(num(d, "pipeline_needed") == 25000000);
    ck_assert(num(d, "starting_arr") == 15625000);
    const json_t *c = json_object_get(base, "capacity");
    ck_assert_int_eq(inum(c, "aes_at_full_ramp"), 12);
    ck_assert(num(c, "quota_per_ae") == 600000);
    ck_assert(num(c, "expected_attainment") == 0.7);
    ck_assert(num(c, "productive_capacity") == 3360000);
    ck_assert(num(c, "gap") == 1640000);
    ck_assert_int_eq(inum(c, "hires_needed"), 6);
    ck_assert(num(json_object_get(base, "revenue"), "ending_arr") == 20000000);
    ck_assert_str_eq(str(base, "actions"), "Execute plan");
    ck_assert(num(sub(base, "delta_vs_base", "revenue"), "ending_arr") == 0);
    /* tornado around the base: new win rate first, 18.75M .. 21.25M */
    const json_t *row0 = json_array_get(sub(base, "sensitivity", "rows"), 0);
    ck_assert_str_eq(str(json_object_get(base, "sensitivity"), "outcome"), "ending_arr");
    ck_assert_int_eq(json_array_size(sub(base, "sensitivity", "rows")), 12);
    ck_assert_str_eq(str(row0, "field"), "new_win_rate");
    ck_assert(num(row0, "low") == 18750000 && num(row0, "high") == 21250000 && num(row0, "swing") == 2500000);

    const json_t *bear = result_named(r->json, "bear");
    ck_assert(num(bear, "confidence") == 0.7);
    ck_assert_str_eq(str(bear, "actions"), "Reduce hiring, focus on expansion, cut discretionary");
    ck_assert_int_eq(inum(json_object_get(bear, "derived"), "new_deals_needed"), 80);
    ck_assert_int_eq(inum(json_object_get(bear, "derived"), "opps_needed"), 534);
    ck_assert_int_eq(inum(json_object_get(bear, "capacity"), "aes_at_full_ramp"), 10);
    ck_assert_int_eq(inum(json_object_get(bear, "capacity"), "hires_needed"), 3);
    ck_assert(num(json_object_get(bear, "revenue"), "ending_arr") == 18232954.55);
    ck_assert(num(json_object_get(bear, "targets"), "total_arr_target") == 18187500);
    ck_assert(num(json_object_get(bear, "revenue"), "vs_target") == 45454.55);
    ck_assert_int_eq(inum(sub(bear, "delta_vs_base", "capacity"), "hires_needed"), -3);
    ck_assert_int_eq(llround(num(sub(bear, "delta_vs_base", "revenue"), "ending_arr") * 100), 1823295455 - 2000000000);
    ck_assert(num(sub(bear, "delta_vs_base", "assumptions"), "new_win_rate") == -0.05);
    ck_assert_int_eq(json_array_size(json_object_get(bear, "adjustments")), 5);
    /* the bear's own tornado is centred on its ending ARR */
    ck_assert(num(json_array_get(sub(bear, "sensitivity", "rows"), 0), "base") == 18232954.55);

    const json_t *bull = result_named(r->json, "bull");
    ck_assert_int_eq(inum(json_object_get(bull, "derived"), "opps_needed"), 480);
    ck_assert_int_eq(inum(json_object_get(bull, "capacity"), "aes_at_full_ramp"), 15);
    ck_assert_int_eq(inum(json_object_get(bull, "capacity"), "hires_needed"), 10);
    ck_assert(num(json_object_get(bull, "revenue"), "ending_arr") == 21727272.73);

    /* custom: +12,500 per deal = 62,500: 80 deals, 400 opps; the base's MQLs
     * at 1.25x the deal size project 6.25M of new business */
    const json_t *big = result_named(r->json, "bigger deals");
    ck_assert(json_is_null(json_object_get(big, "confidence")));
    ck_assert(num(json_object_get(big, "assumptions"), "avg_new_deal_size") == 62500);
    ck_assert(num(json_array_get(json_object_get(big, "adjustments"), 0), "value") == 12500);
    ck_assert_int_eq(inum(json_object_get(big, "derived"), "opps_needed"), 400);
    ck_assert(num(json_object_get(big, "revenue"), "new_business") == 6250000);
    ck_assert(num(sub(big, "delta_vs_base", "derived"), "pipeline_needed") == 0); /* 400 x 62.5K = 500 x 50K */

    /* stored: the same document back, and in the list */
    char path[96];
    snprintf(path, sizeof path, "/v1/scenarios/%s", str(r->json, "id"));
    ck_assert_str_eq(r->location, path);
    api_resp *g = api_get(path, ws.read);
    ck_assert_status(g, 200);
    ck_assert(json_equal(json_object_get(g->json, "results"), json_object_get(r->json, "results")));
    ck_assert_str_eq(str(json_object_get(json_object_get(g->json, "sources"), "new_win_rate"), "source"), "request");
    api_resp_free(g);
    g = api_get("/v1/scenarios", ws.read);
    ck_assert_status(g, 200);
    ck_assert_int_eq(json_array_size(json_object_get(g->json, "items")), 1);
    api_resp_free(g);

    /* roles and isolation */
    g = api_send_json("POST", "/v1/scenarios", ws.read, body);
    ck_assert_status(g, 403);
    api_resp_free(g);
    api_ws other;
    api_new_workspace(&other);
    g = api_get(path, other.read);
    ck_assert_status(g, 404);
    api_resp_free(g);
    g = api_get("/v1/scenarios", other.read);
    ck_assert_int_eq(json_array_size(json_object_get(g->json, "items")), 0);
    api_resp_free(g);
    api_resp_free(r);

    /* the hires tornado: only quota and attainment move hires */
    snprintf(body, sizeof body,
             "{\"name\":\"hires\",\"plan\":%s,\"scenarios\":[\"base\"],\"sensitivity_outcome\":\"hires_needed\"}", SEED_PLAN);
    r = api_send_json("POST", "/v1/scenarios", ws.write, body);
    ck_assert_status(r, 201);
    row0 = json_array_get(sub(result_named(r->json, "base"), "sensitivity", "rows"), 0);
    ck_assert(strcmp(str(row0, "field"), "quota_per_ae") == 0 || strcmp(str(row0, "field"), "expected_attainment") == 0);
    ck_assert_int_eq(inum(row0, "base"), 6);
    ck_assert_int_gt(inum(row0, "low"), inum(row0, "high"));
    api_resp_free(r);
}
END_TEST

START_TEST(scenarios_invalid)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_send_json("POST", "/v1/scenarios", ws.write, "{\"name\":\"x\"}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "errors"), 0), "field"), "plan");
    api_resp_free(r);
    r = api_send_json("POST", "/v1/scenarios", ws.write,
                      "{\"name\":\"x\",\"plan\":{\"targets\":{\"new_business\":100},\"assumptions\":{\"new_win_rate\":\"lots\"},"
                      "\"capacity\":{\"quota_per_ae\":1000,\"expected_attainment\":0.5}},"
                      "\"scenarios\":[\"sideways\",{\"name\":\"a\",\"adjustments\":[{\"field\":\"mood\",\"value\":1}]}]}");
    ck_assert_status(r, 422);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "errors")), 3);
    api_resp_free(r);
    /* valid shape, but the plan needs a win rate for its new business */
    r = api_send_json("POST", "/v1/scenarios", ws.write,
                      "{\"name\":\"x\",\"plan\":{\"targets\":{\"new_business\":100},\"assumptions\":{\"avg_new_deal_size\":10},"
                      "\"capacity\":{\"quota_per_ae\":1000,\"expected_attainment\":0.5}}}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "errors"), 0), "field"), "plan.assumptions.new_win_rate");
    api_resp_free(r);
    r = api_get("/v1/scenarios/not-a-uuid", ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
}
END_TEST

/* from_history: assumptions the request leaves out come from the deals
 * closed in the year up to history_as_of, and sources says so. */
START_TEST(scenarios_from_history)
{
    api_ws ws;
    api_new_workspace(&ws);
    /* new business: w1 and w2 won (40K in 60 days, 60K in 90 days), l1 and
     * l2 lost; x1 an expansion deal won (20K in 30 days); old1 closed before
     * the window */
    static const char *const steps[][2] = {
        {"w1", "{\"name\":\"w1\",\"stage\":\"mql\",\"amount\":40000,\"created_at\":\"2026-01-01T00:00:00Z\"}"},
        {"w1", "{\"name\":\"w1\",\"stage\":\"sql\"}"},
        {"w1", "{\"name\":\"w1\",\"stage\":\"opportunity\"}"},
        {"w1", "{\"name\":\"w1\",\"stage\":\"closed_won\",\"closed_at\":\"2026-03-02T00:00:00Z\"}"},
        {"w2", "{\"name\":\"w2\",\"stage\":\"sql\",\"amount\":60000,\"created_at\":\"2026-02-01T00:00:00Z\"}"},
        {"w2", "{\"name\":\"w2\",\"stage\":\"opportunity\"}"},
        {"w2", "{\"name\":\"w2\",\"stage\":\"closed_won\",\"closed_at\":\"2026-05-02T00:00:00Z\"}"},
        {"l1", "{\"name\":\"l1\",\"stage\":\"mql\",\"amount\":10000,\"created_at\":\"2026-01-15T00:00:00Z\"}"},
        {"l1", "{\"name\":\"l1\",\"stage\":\"sql\"}"},
        {"l1", "{\"name\":\"l1\",\"stage\":\"closed_lost\",\"closed_at\":\"2026-04-01T00:00:00Z\"}"},
        {"l2", "{\"name\":\"l2\",\"stage\":\"mql\",\"amount\":10000,\"created_at\":\"2026-01-20T00:00:00Z\"}"},
        {"l2", "{\"name\":\"l2\",\"stage\":\"closed_lost\",\"closed_at\":\"2026-04-10T00:00:00Z\"}"},
        {"x1", "{\"name\":\"x1\",\"pipeline\":\"expansion\",\"stage\":\"opportunity\",\"amount\":20000,"
               "\"created_at\":\"2026-03-01T00:00:00Z\"}"},
        {"x1", "{\"name\":\"x1\",\"stage\":\"closed_won\",\"closed_at\":\"2026-03-31T00:00:00Z\"}"},
        {"old1", "{\"name\":\"old1\",\"stage\":\"closed_won\",\"amount\":999000,\"created_at\":\"2024-01-01T00:00:00Z\","
                 "\"closed_at\":\"2024-06-01T00:00:00Z\"}"},
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/v1/deals/%s", steps[i][0]);
        send_ok(ws.write, "PUT", path, steps[i][1]);
    }
    api_resp *r = api_send_json(
        "POST", "/v1/scenarios", ws.write,
        "{\"name\":\"learned\",\"from_history\":true,\"history_as_of\":\"2026-06-30\",\"scenarios\":[\"base\"],"
        "\"plan\":{\"fiscal_year\":2027,\"targets\":{\"new_business\":1000000,\"expansion\":100000},"
        "\"assumptions\":{\"avg_sales_cycle_new\":\"60 days\",\"gross_churn_rate\":0.1},"
        "\"capacity\":{\"quota_per_ae\":500000,\"expected_attainment\":1,\"current_aes\":1}}}");
    ck_assert_status(r, 201);
    const json_t *src = json_object_get(r->json, "sources");
    ck_assert_str_eq(str(json_object_get(src, "new_win_rate"), "source"), "history");
    ck_assert(num(json_object_get(src, "new_win_rate"), "value") == 0.5);
    ck_assert_str_eq(str(json_object_get(src, "new_win_rate"), "basis"),
                     "2 won of 4 new-business deals closed 2025-07-01..2026-06-30");
    ck_assert(num(json_object_get(src, "avg_new_deal_size"), "value") == 50000);
    ck_assert_str_eq(str(json_object_get(src, "avg_sales_cycle_new"), "source"), "request");
    ck_assert(num(json_object_get(src, "avg_sales_cycle_new"), "value") == 60);
    ck_assert(num(json_object_get(src, "avg_sales_cycle_expansion"), "value") == 30);
    ck_assert(num(json_object_get(src, "expansion_win_rate"), "value") == 1);
    ck_assert(num(json_object_get(src, "avg_expansion_deal_size"), "value") == 20000);
    ck_assert(num(json_object_get(src, "mql_to_sql_rate"), "value") == 0.75);        /* w1, w2, l1 of 4 */
    ck_assert(fabs(num(json_object_get(src, "sql_to_opp_rate"), "value") - 2.0 / 3) < 1e-12); /* w1, w2 of 3 */
    ck_assert_str_eq(str(json_object_get(src, "expansion_rate"), "source"), "default");
    const json_t *base = result_named(r->json, "base");
    ck_assert_str_eq(str(r->json, "fiscal_year"), "2027");
    const json_t *d = json_object_get(base, "derived");
    ck_assert_int_eq(inum(d, "new_deals_needed"), 20); /* 1M / 50K */
    ck_assert_int_eq(inum(d, "opps_needed"), 40);      /* / 50% */
    ck_assert_int_eq(inum(d, "sqls_needed"), 60);      /* / (2/3) */
    ck_assert_int_eq(inum(d, "mqls_needed"), 80);      /* / 75% */
    ck_assert(num(d, "pipeline_needed") == 2000000);
    ck_assert_int_eq(inum(d, "expansion_deals_needed"), 5);
    ck_assert_int_eq(inum(json_object_get(base, "capacity"), "aes_at_full_ramp"), 2);
    api_resp_free(r);
    /* another workspace learns nothing from these deals */
    api_ws other;
    api_new_workspace(&other);
    r = api_send_json("POST", "/v1/scenarios", other.write,
                      "{\"name\":\"learned\",\"from_history\":true,\"history_as_of\":\"2026-06-30\","
                      "\"plan\":{\"targets\":{\"new_business\":1000000},"
                      "\"capacity\":{\"quota_per_ae\":500000,\"expected_attainment\":1}}}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "errors"), 0), "field"), "plan.assumptions.avg_new_deal_size");
    api_resp_free(r);
}
END_TEST

Suite *plans_suite(void)
{
    Suite *s = suite_create("plans");
    TCase *tc = tcase_create("capacity");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, capacity_seed_twelve_aes);
    tcase_add_test(tc, capacity_seed000_exercise);
    tcase_add_test(tc, capacity_from_reps_and_shortfall);
    suite_add_tcase(s, tc);
    tc = tcase_create("scenarios");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, scenarios_bear_base_bull);
    tcase_add_test(tc, scenarios_invalid);
    tcase_add_test(tc, scenarios_from_history);
    suite_add_tcase(s, tc);
    return s;
}

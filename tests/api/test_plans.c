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
    r = api_send_json(
        "POST", "/v1/capacity/plan", ws.read,
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
    r = api_send_json(
        "POST", "/v1/capacity/plan", ws.read,
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
    "{\"fiscal_year\":\"2026\",\"targets\":{\"total_arr_target\":20000000,\"new_business\":5000000,\"expansion\":"
    "2500000},"
    "\"assumptions\":{\"gross_churn_rate\":\"20%\",\"expansion_rate\":\"16%\",\"avg_new_deal_size\":50000,"
    "\"avg_expansion_deal_size\":25000,\"new_win_rate\":\"20%\",\"expansion_win_rate\":0.5,"
    "\"avg_sales_cycle_new\":\"90 days\",\"avg_sales_cycle_expansion\":45,\"sql_to_opp_rate\":\"50%\","
    "\"mql_to_sql_rate\":\"25%\"},\"capacity\":{\"quota_per_ae\":600000,\"expected_attainment\":\"70%\",\"current_"
    "aes\":8}}";

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
             "{\"name\":\"hires\",\"plan\":%s,\"scenarios\":[\"base\"],\"sensitivity_outcome\":\"hires_needed\"}",
             SEED_PLAN);
    r = api_send_json("POST", "/v1/scenarios", ws.write, body);
    ck_assert_status(r, 201);
    row0 = json_array_get(sub(result_named(r->json, "base"), "sensitivity", "rows"), 0);
    ck_assert(strcmp(str(row0, "field"), "quota_per_ae") == 0 ||
              strcmp(str(row0, "field"), "expected_attainment") == 0);
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
    r = api_send_json(
        "POST", "/v1/scenarios", ws.write,
        "{\"name\":\"x\",\"plan\":{\"targets\":{\"new_business\":100},\"assumptions\":{\"new_win_rate\":\"lots\"},"
        "\"capacity\":{\"quota_per_ae\":1000,\"expected_attainment\":0.5}},"
        "\"scenarios\":[\"sideways\",{\"name\":\"a\",\"adjustments\":[{\"field\":\"mood\",\"value\":1}]}]}");
    ck_assert_status(r, 422);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "errors")), 3);
    api_resp_free(r);
    /* valid shape, but the plan needs a win rate for its new business */
    r = api_send_json(
        "POST", "/v1/scenarios", ws.write,
        "{\"name\":\"x\",\"plan\":{\"targets\":{\"new_business\":100},\"assumptions\":{\"avg_new_deal_size\":10},"
        "\"capacity\":{\"quota_per_ae\":1000,\"expected_attainment\":0.5}}}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "errors"), 0), "field"),
                     "plan.assumptions.new_win_rate");
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
        {"old1",
         "{\"name\":\"old1\",\"stage\":\"closed_won\",\"amount\":999000,\"created_at\":\"2024-01-01T00:00:00Z\","
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
    ck_assert(num(json_object_get(src, "mql_to_sql_rate"), "value") == 0.75);                 /* w1, w2, l1 of 4 */
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
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "errors"), 0), "field"),
                     "plan.assumptions.avg_new_deal_size");
    api_resp_free(r);
}
END_TEST

/* ---- territory plans --------------------------------------------------------- */

static const char *territory_of(const json_t *plan, const char *account)
{
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(plan, "assignment"), i,
                       a) if (strcmp(str(a, "account_id"), account) == 0) return str(a, "territory");
    ck_abort_msg("account %s not assigned", account);
    return NULL;
}

static const json_t *row_of(const json_t *rows, const char *territory)
{
    size_t i;
    const json_t *r;
    json_array_foreach(rows, i, r) if (strcmp(str(r, "territory"), territory) == 0) return r;
    ck_abort_msg("no row for %s", territory);
    return NULL;
}

static const json_t *rule_of(const json_t *plan, const char *rule)
{
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(plan, "rules"), i, r) if (strcmp(str(r, "rule"), rule) == 0) return r;
    ck_abort_msg("no rule %s", rule);
    return NULL;
}

static json_t *get_json(const char *path, const char *key, int want)
{
    api_resp *r = api_get(path, key);
    ck_assert_status(r, want);
    json_t *j = json_incref(r->json);
    api_resp_free(r);
    return j;
}

/* Pins hold and the rest balances around them; the seed's 2x TAM rule is
 * reported with its value. */
START_TEST(territory_pins_and_tam_rule)
{
    api_ws ws;
    api_new_workspace(&ws);
    /* four equal accounts, two pinned to T2: the other two must go to T1 */
    api_resp *r = api_send_json("POST", "/v1/territory-plans", ws.write,
                                "{\"name\":\"pins\",\"territories\":2,\"accounts\":["
                                "{\"id\":\"a1\",\"potential\":100000,\"pinned_territory\":\"T2\"},"
                                "{\"id\":\"a2\",\"potential\":100000,\"pinned_territory\":\"T2\"},"
                                "{\"id\":\"a3\",\"potential\":100000},{\"id\":\"a4\",\"potential\":100000}]}");
    ck_assert_status(r, 201);
    ck_assert_str_eq(territory_of(r->json, "a1"), "T2");
    ck_assert_str_eq(territory_of(r->json, "a2"), "T2");
    ck_assert_str_eq(territory_of(r->json, "a3"), "T1");
    ck_assert_str_eq(territory_of(r->json, "a4"), "T1");
    const json_t *t1 = row_of(json_object_get(r->json, "totals"), "T1");
    ck_assert_int_eq(inum(t1, "accounts"), 2);
    ck_assert(num(t1, "potential") == 200000);
    ck_assert(num(t1, "composite") == 1);
    ck_assert(num(sub(r->json, "balance", "composite"), "max_mean") == 1);
    ck_assert(num(sub(r->json, "balance", "potential"), "cv") == 0);
    const json_t *tam = rule_of(r->json, "max_tam_ratio");
    ck_assert(num(tam, "value") == 1 && num(tam, "limit") == 2);
    ck_assert(json_is_true(json_object_get(tam, "holds")));
    ck_assert_int_eq(inum(rule_of(r->json, "pins"), "pinned"), 2);
    ck_assert(json_is_true(json_object_get(rule_of(r->json, "pins"), "holds")));
    ck_assert_int_eq(inum(json_object_get(r->json, "disruption"), "newly_assigned"), 4);
    /* what the create answered is what is stored; the request keeps the
     * length of its inline account list */
    char path[96];
    snprintf(path, sizeof path, "/v1/territory-plans/%s", str(r->json, "id"));
    ck_assert_str_eq(r->location, path);
    json_t *stored = get_json(path, ws.read, 200);
    ck_assert_msg(json_equal(stored, r->json), "stored plan differs from the create answer");
    ck_assert_int_eq(inum(json_object_get(stored, "request"), "accounts"), 4);
    json_decref(stored);
    stored = get_json("/v1/territory-plans", ws.read, 200);
    ck_assert(json_object_get(json_array_get(json_object_get(stored, "items"), 0), "assignment") == NULL);
    ck_assert_str_eq(str(json_array_get(json_object_get(stored, "items"), 0), "name"), "pins");
    json_decref(stored);
    api_resp_free(r);

    /* one account worth 10x the others: the best split is {big} vs {small,
     * small}, 1,000K vs 200K of potential: 5x, so the 2x rule fails */
    const char *lop = "{\"name\":\"lopsided\",\"territories\":2,%s\"accounts\":[{\"id\":\"big\",\"potential\":1000000},"
                      "{\"id\":\"s1\",\"potential\":100000},{\"id\":\"s2\",\"potential\":100000}]}";
    char body[512];
    snprintf(body, sizeof body, lop, "");
    r = api_send_json("POST", "/v1/territory-plans", ws.write, body);
    ck_assert_status(r, 201);
    ck_assert_str_ne(territory_of(r->json, "big"), territory_of(r->json, "s1"));
    ck_assert_str_eq(territory_of(r->json, "s1"), territory_of(r->json, "s2"));
    tam = rule_of(r->json, "max_tam_ratio");
    ck_assert(num(tam, "value") == 5);
    ck_assert(json_is_false(json_object_get(tam, "holds")));
    api_resp_free(r);
    snprintf(body, sizeof body, lop, "\"rules\":{\"max_tam_ratio\":5},");
    r = api_send_json("POST", "/v1/territory-plans", ws.write, body);
    ck_assert_status(r, 201);
    ck_assert(json_is_true(json_object_get(rule_of(r->json, "max_tam_ratio"), "holds"))); /* exactly the limit holds */
    api_resp_free(r);

    /* segments: enterprise accounts only in "ent"; a pin overrides segments */
    r = api_send_json("POST", "/v1/territory-plans", ws.write,
                      "{\"name\":\"segments\",\"territories\":[{\"id\":\"ent\",\"segment\":\"enterprise\"},"
                      "{\"id\":\"smb1\",\"segment\":\"smb\"},{\"id\":\"smb2\",\"segment\":\"smb\"}],"
                      "\"accounts\":[{\"id\":\"e1\",\"potential\":500000,\"segment\":\"enterprise\"},"
                      "{\"id\":\"e2\",\"potential\":300000,\"segment\":\"enterprise\"},"
                      "{\"id\":\"s1\",\"potential\":100000,\"segment\":\"smb\",\"pinned_territory\":\"smb2\"},"
                      "{\"id\":\"s2\",\"potential\":100000,\"segment\":\"smb\"},{\"id\":\"s3\",\"potential\":100000,"
                      "\"segment\":\"smb\"},"
                      "{\"id\":\"s4\",\"potential\":100000,\"segment\":\"smb\"}]}");
    ck_assert_status(r, 201);
    ck_assert_str_eq(territory_of(r->json, "e1"), "ent");
    ck_assert_str_eq(territory_of(r->json, "e2"), "ent");
    ck_assert_str_eq(territory_of(r->json, "s1"), "smb2");
    ck_assert_int_eq(inum(row_of(json_object_get(r->json, "totals"), "smb1"), "accounts"), 2);
    ck_assert_int_eq(inum(row_of(json_object_get(r->json, "totals"), "smb2"), "accounts"), 2);
    /* pipeline and workload are all zero, so accounts and potential weigh
     * half each: ent = 0.5 x 1 + 0.5 x 800/400 = 1.5 */
    ck_assert(num(row_of(json_object_get(r->json, "totals"), "ent"), "composite") == 1.5);
    ck_assert(num(row_of(json_object_get(r->json, "totals"), "smb1"), "composite") == 0.75);
    ck_assert(num(rule_of(r->json, "max_tam_ratio"), "value") == 4); /* 800K / 200K */
    api_resp_free(r);

    /* invalid: unknown pin, no territory for a segment, both account sources */
    r = api_send_json("POST", "/v1/territory-plans", ws.write,
                      "{\"name\":\"bad\",\"territories\":2,\"accounts\":[{\"id\":\"a\",\"potential\":1,\"pinned_"
                      "territory\":\"T9\"}]}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "errors"), 0), "field"),
                     "accounts[0].pinned_territory");
    api_resp_free(r);
    r = api_send_json("POST", "/v1/territory-plans", ws.write,
                      "{\"name\":\"bad\",\"territories\":[{\"id\":\"ent\",\"segment\":\"enterprise\"}],"
                      "\"accounts\":[{\"id\":\"a\",\"potential\":1,\"segment\":\"smb\"}]}");
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/territory-plans", ws.write,
                      "{\"name\":\"bad\",\"territories\":0,\"from_accounts\":true,\"accounts\":[]}");
    ck_assert_status(r, 422);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "errors")), 2);
    api_resp_free(r);
}
END_TEST

/* from_accounts with a disruption weight, the pipeline that changes hands,
 * apply onto the accounts, the change reports, revert and its conflicts,
 * roles and isolation. */
START_TEST(territory_apply_diff_revert)
{
    api_ws ws;
    api_new_workspace(&ws);
    /* today: three accounts in T1, one in T2; one open deal on each T1 account */
    send_ok(ws.write, "PUT", "/v1/accounts/a1", "{\"name\":\"a1\",\"potential\":100000,\"territory\":\"T1\"}");
    send_ok(ws.write, "PUT", "/v1/accounts/a2", "{\"name\":\"a2\",\"potential\":100000,\"territory\":\"T1\"}");
    send_ok(ws.write, "PUT", "/v1/accounts/a3", "{\"name\":\"a3\",\"potential\":100000,\"territory\":\"T1\"}");
    send_ok(ws.write, "PUT", "/v1/accounts/a4", "{\"name\":\"a4\",\"potential\":100000,\"territory\":\"T2\"}");
    send_ok(ws.write, "PUT", "/v1/deals/d1",
            "{\"name\":\"d1\",\"account\":\"a1\",\"amount\":1000,\"stage\":\"proposal\",\"owner\":\"ann\"}");
    send_ok(ws.write, "PUT", "/v1/deals/d2",
            "{\"name\":\"d2\",\"account\":\"a2\",\"amount\":2000,\"stage\":\"proposal\",\"owner\":\"ann\"}");
    send_ok(ws.write, "PUT", "/v1/deals/d3",
            "{\"name\":\"d3\",\"account\":\"a3\",\"amount\":3000,\"stage\":\"proposal\",\"owner\":\"ann\"}");
    /* balance on count and potential only; moving an account costs a little */
    api_resp *r = api_send_json("POST", "/v1/territory-plans", ws.write,
                                "{\"name\":\"rebalance\",\"territories\":2,\"from_accounts\":true,"
                                "\"weights\":{\"accounts\":1,\"potential\":1},\"disruption_weight\":0.01}");
    ck_assert_status(r, 201);
    json_t *plan = json_incref(r->json);
    api_resp_free(r);
    const json_t *dis = json_object_get(plan, "disruption");
    ck_assert_int_eq(inum(dis, "accounts_moved"), 1); /* 3:1 -> 2:2 */
    ck_assert(num(dis, "potential_moved") == 100000);
    ck_assert_int_eq(inum(row_of(json_object_get(dis, "territories"), "T1"), "lost"), 1);
    ck_assert_int_eq(inum(row_of(json_object_get(dis, "territories"), "T2"), "gained"), 1);
    ck_assert_int_eq(inum(row_of(json_object_get(dis, "territories"), "T1"), "before"), 3);
    ck_assert_int_eq(inum(row_of(json_object_get(dis, "territories"), "T1"), "after"), 2);
    ck_assert_str_eq(territory_of(plan, "a4"), "T2");
    const char *mover = strcmp(territory_of(plan, "a1"), "T2") == 0   ? "a1"
                        : strcmp(territory_of(plan, "a2"), "T2") == 0 ? "a2"
                                                                      : "a3";
    ck_assert_str_eq(territory_of(plan, mover), "T2");
    /* the mover's open deal changes hands: that is the pipeline moved */
    const json_t *imp = json_object_get(plan, "pipeline_impact");
    ck_assert_int_eq(inum(imp, "deals"), 1);
    ck_assert(num(imp, "amount") == num(dis, "pipeline_moved"));
    const json_t *item = json_array_get(json_object_get(imp, "items"), 0);
    ck_assert_str_eq(str(item, "account_id"), mover);
    ck_assert_str_eq(str(item, "owner"), "ann");
    ck_assert_str_eq(str(item, "from"), "T1");
    ck_assert_str_eq(str(item, "to"), "T2");
    ck_assert(num(sub(plan, "balance_current", "accounts"), "max_min") == 3);
    ck_assert(num(sub(plan, "balance", "accounts"), "max_min") == 1);
    /* with a pin, the pinned account stays in T1 whoever else moves */
    char body[400];
    snprintf(
        body, sizeof body,
        "{\"name\":\"pinned\",\"territories\":2,\"from_accounts\":true,\"weights\":{\"accounts\":1,\"potential\":1},"
        "\"disruption_weight\":0.01,\"pins\":{\"%s\":\"T1\"}}",
        mover);
    r = api_send_json("POST", "/v1/territory-plans", ws.write, body);
    ck_assert_status(r, 201);
    ck_assert_str_eq(territory_of(r->json, mover), "T1");
    ck_assert_int_eq(inum(json_object_get(r->json, "disruption"), "accounts_moved"), 1);
    api_resp_free(r);
    r = api_send_json(
        "POST", "/v1/territory-plans", ws.write,
        "{\"name\":\"x\",\"territories\":2,\"from_accounts\":true,\"pins\":{\"zz\":\"T1\",\"a1\":\"T7\"}}");
    ck_assert_status(r, 422);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "errors")), 2);
    api_resp_free(r);

    char path[160], pid[40];
    snprintf(pid, sizeof pid, "%s", str(plan, "id"));
    /* the change report against today's map says the same */
    snprintf(path, sizeof path, "/v1/territory-plans/%s/diff?against=current", pid);
    json_t *d = get_json(path, ws.read, 200);
    ck_assert_int_eq(inum(d, "accounts_moved"), 1);
    ck_assert(num(d, "potential_moved") == 100000);
    ck_assert_str_eq(str(json_array_get(json_object_get(d, "changes"), 0), "account_id"), mover);
    json_decref(d);

    /* apply: admin only */
    snprintf(path, sizeof path, "/v1/territory-plans/%s/apply", pid);
    r = api_send_json("POST", path, ws.write, "{}");
    ck_assert_status(r, 403);
    api_resp_free(r);
    r = api_send_json("POST", path, ws.admin, "{\"effective_date\":\"2027-01-01\"}");
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(r->json, "changed"), 1);
    ck_assert_int_eq(inum(r->json, "unchanged"), 3);
    ck_assert_int_eq(inum(r->json, "skipped"), 0);
    ck_assert_str_eq(str(r->json, "effective_date"), "2027-01-01");
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "changes"), 0), "from"), "T1");
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/accounts/%s", mover);
    json_t *acct = get_json(path, ws.read, 200);
    ck_assert_str_eq(str(acct, "territory"), "T2");
    json_t *th = json_object_get(acct, "territory_history"); /* what the plan did, from when */
    ck_assert_int_eq(json_array_size(th), 1);
    ck_assert_str_eq(str(json_array_get(th, 0), "territory"), "T2");
    ck_assert_str_eq(str(json_array_get(th, 0), "previous"), "T1");
    ck_assert_str_eq(str(json_array_get(th, 0), "effective_date"), "2027-01-01");
    ck_assert_str_eq(str(json_array_get(th, 0), "action"), "apply");
    ck_assert_str_eq(str(json_array_get(th, 0), "plan_id"), pid);
    json_decref(acct);
    json_t *unmoved = get_json("/v1/accounts/a4", ws.read, 200);
    ck_assert_int_eq(json_array_size(json_object_get(unmoved, "territory_history")), 0);
    json_decref(unmoved);
    snprintf(path, sizeof path, "/v1/territory-plans/%s/diff?against=current", pid);
    d = get_json(path, ws.read, 200);
    ck_assert_int_eq(inum(d, "accounts_moved"), 0);
    json_decref(d);
    snprintf(path, sizeof path, "/v1/territory-plans/%s", pid);
    json_t *g = get_json(path, ws.read, 200);
    ck_assert_int_eq(json_array_size(json_object_get(g, "applications")), 1);
    json_decref(g);

    /* a one-territory plan against the applied one: both T2 accounts move to T1 */
    r = api_send_json("POST", "/v1/territory-plans", ws.write,
                      "{\"name\":\"one\",\"territories\":[{\"id\":\"T1\"}],\"from_accounts\":true}");
    ck_assert_status(r, 201);
    snprintf(path, sizeof path, "/v1/territory-plans/%s/diff?against=%s", str(r->json, "id"), pid);
    api_resp_free(r);
    d = get_json(path, ws.read, 200);
    ck_assert_int_eq(inum(d, "accounts_moved"), 2);
    ck_assert(num(d, "potential_moved") == 200000);
    ck_assert_int_eq(inum(row_of(json_object_get(d, "territories"), "T2"), "lost"), 2);
    ck_assert_int_eq(inum(row_of(json_object_get(d, "territories"), "T1"), "gained"), 2);
    ck_assert_int_eq(json_array_size(json_object_get(d, "changes")), 2);
    json_decref(d);

    /* revert: the mover goes back to T1; nothing left to revert after */
    snprintf(path, sizeof path, "/v1/territory-plans/%s/revert", pid);
    r = api_send_json("POST", path, ws.admin, "{}");
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(r->json, "reverted"), 1);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "conflicts")), 0);
    ck_assert(!json_is_null(json_object_get(r->json, "reverted_at")));
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/accounts/%s", mover);
    acct = get_json(path, ws.read, 200);
    ck_assert_str_eq(str(acct, "territory"), "T1");
    th = json_object_get(acct, "territory_history");
    ck_assert_int_eq(json_array_size(th), 2);
    ck_assert_str_eq(str(json_array_get(th, 1), "action"), "revert");
    ck_assert_str_eq(str(json_array_get(th, 1), "territory"), "T1");
    ck_assert_str_eq(str(json_array_get(th, 1), "previous"), "T2");
    json_decref(acct);
    snprintf(path, sizeof path, "/v1/territory-plans/%s/revert", pid);
    r = api_send_json("POST", path, ws.admin, "{}");
    ck_assert_status(r, 409);
    api_resp_free(r);
    /* apply again, someone moves the account by hand, revert keeps their change */
    snprintf(path, sizeof path, "/v1/territory-plans/%s/apply", pid);
    r = api_req("POST", path, ws.admin, NULL, NULL, 0, NULL); /* no body: effective today */
    ck_assert_status(r, 200);
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/accounts/%s", mover);
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"territory\":\"T9\"}", mover);
    send_ok(ws.write, "PUT", path, body);
    snprintf(path, sizeof path, "/v1/territory-plans/%s/revert", pid);
    r = api_send_json("POST", path, ws.admin, "{}");
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(r->json, "reverted"), 0);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(r->json, "conflicts"), 0)), mover);
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/accounts/%s", mover);
    acct = get_json(path, ws.read, 200);
    ck_assert_str_eq(str(acct, "territory"), "T9");
    /* apply, revert, apply: the hand-made T9 is the account's own field, and the revert that
     * left it alone wrote nothing */
    ck_assert_int_eq(json_array_size(json_object_get(acct, "territory_history")), 3);
    json_decref(acct);

    /* another workspace: every plan route answers 404 for this plan, its
     * plan list is empty, and it cannot diff against it */
    api_ws other;
    api_new_workspace(&other);
    const char *const suffixes[] = {"", "/diff?against=current", NULL};
    for (int i = 0; suffixes[i]; i++) {
        snprintf(path, sizeof path, "/v1/territory-plans/%s%s", pid, suffixes[i]);
        r = api_get(path, other.admin);
        ck_assert_status(r, 404);
        api_resp_free(r);
    }
    const char *const posts[] = {"/apply", "/revert", NULL};
    for (int i = 0; posts[i]; i++) {
        snprintf(path, sizeof path, "/v1/territory-plans/%s%s", pid, posts[i]);
        r = api_send_json("POST", path, other.admin, "{}");
        ck_assert_status(r, 404);
        api_resp_free(r);
    }
    g = get_json("/v1/territory-plans", other.read, 200);
    ck_assert_int_eq(json_array_size(json_object_get(g, "items")), 0);
    json_decref(g);
    send_ok(other.write, "PUT", "/v1/accounts/o1", "{\"name\":\"o1\",\"potential\":5}");
    r = api_send_json("POST", "/v1/territory-plans", other.write,
                      "{\"name\":\"mine\",\"territories\":1,\"from_accounts\":true}");
    ck_assert_status(r, 201);
    ck_assert_int_eq(inum(r->json, "accounts"), 1); /* only its own account */
    snprintf(path, sizeof path, "/v1/territory-plans/%s/diff?against=%s", str(r->json, "id"), pid);
    api_resp_free(r);
    r = api_get(path, other.read);
    ck_assert_status(r, 422);
    api_resp_free(r);
    /* the foreign apply left this workspace's accounts alone */
    g = get_json("/v1/accounts/a4", ws.read, 200);
    ck_assert_str_eq(str(g, "territory"), "T2");
    json_decref(g);
    json_decref(plan);
}
END_TEST

/* The largest amounts, counts and rates each endpoint accepts answer a
 * plan or a 422, never a 5xx (the sanitizer build runs this too). */
START_TEST(plans_extremes)
{
    api_ws ws;
    api_new_workspace(&ws);
    static const char *const reqs[][2] = {
        {"/v1/capacity/plan",
         "{\"target\":1000000000000000,\"quota\":1000000000000000,\"attainment\":3,\"attrition_rate\":0.99,"
         "\"roster\":[{\"start_date\":\"1900-01-01\",\"count\":100000},{\"start_date\":\"2020-01-01\",\"count\":100000,"
         "\"quota\":1000000000000000}]}"},
        {"/v1/capacity/plan", "{\"target\":1000000,\"quota\":1,\"attainment\":0.01,\"max_hires_per_month\":1}"},
        {"/v1/capacity/plan", "{\"target\":0,\"quota\":1,\"attainment\":1,\"seasonality\":[0,0,0,0,0,0,0,0,0,0,0,1000],"
                              "\"ramp\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}"},
        {"/v1/scenarios",
         "{\"name\":\"huge\",\"plan\":{\"targets\":{\"total_arr_target\":10000000000000,\"new_business\":1000000000000,"
         "\"expansion\":1000000000000},\"assumptions\":{\"avg_new_deal_size\":0.01,\"avg_expansion_deal_size\":0.01,"
         "\"new_win_rate\":0.0001,\"expansion_win_rate\":0.0001,\"sql_to_opp_rate\":0.0001,\"mql_to_sql_rate\":0.0001,"
         "\"gross_churn_rate\":0.99,\"expansion_rate\":100},\"capacity\":{\"quota_per_ae\":1000000,\"expected_"
         "attainment\":0.01,"
         "\"current_aes\":1000000}},\"scenarios\":[\"bear\",\"bull\",{\"name\":\"x\",\"adjustments\":[{\"field\":\"new_"
         "business\","
         "\"op\":\"mul\",\"value\":1e300},{\"field\":\"quota_per_ae\",\"op\":\"set\",\"value\":-5}]}]}"},
        {"/v1/scenarios",
         "{\"name\":\"big team\",\"plan\":{\"targets\":{\"total_arr_target\":900000000000000,\"new_business\":"
         "100000000000000,\"expansion\":100000000000000},\"assumptions\":{\"avg_new_deal_size\":1000000000,"
         "\"avg_expansion_deal_size\":1000000000,\"new_win_rate\":0.5,\"expansion_win_rate\":0.5,\"sql_to_opp_rate\":0."
         "5,"
         "\"mql_to_sql_rate\":0.5,\"gross_churn_rate\":0.99,\"expansion_rate\":100,\"avg_sales_cycle_new\":364},"
         "\"capacity\":{\"quota_per_ae\":1000000000000000,\"expected_attainment\":3,\"current_aes\":1000000,"
         "\"attrition_rate\":0.99}},\"sensitivity_outcome\":\"hires_needed\"}"},
        {"/v1/territory-plans",
         "{\"name\":\"huge\",\"territories\":[{\"id\":\"a\",\"capacity\":0.01},{\"id\":\"b\",\"capacity\":100}],"
         "\"weights\":{\"accounts\":1000000,\"potential\":0,\"pipeline\":0,\"workload\":0},\"disruption_weight\":"
         "1000000,"
         "\"accounts\":[{\"id\":\"x\",\"potential\":900000000000,\"pipeline\":900000000000,\"workload\":1e9,"
         "\"current_territory\":\"a\"},{\"id\":\"y\",\"potential\":0}]}"},
        {"/v1/territory-plans", "{\"name\":\"zero\",\"territories\":3,\"accounts\":[{\"id\":\"x\",\"potential\":0}]}"},
    };
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        api_resp *r = api_send_json("POST", reqs[i][0], ws.admin, reqs[i][1]);
        ck_assert_msg(r->status == 200 || r->status == 201 || r->status == 422, "request %zu: %ld %.300s", i, r->status,
                      r->body);
        api_resp_free(r);
    }
    api_resp *r = api_get("/healthz", NULL);
    ck_assert_status(r, 200);
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
    tc = tcase_create("territory");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, territory_pins_and_tam_rule);
    tcase_add_test(tc, territory_apply_diff_revert);
    tcase_add_test(tc, plans_extremes);
    suite_add_tcase(s, tc);
    return s;
}

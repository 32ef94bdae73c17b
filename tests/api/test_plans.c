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

Suite *plans_suite(void)
{
    Suite *s = suite_create("plans");
    TCase *tc = tcase_create("capacity");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, capacity_seed_twelve_aes);
    tcase_add_test(tc, capacity_seed000_exercise);
    tcase_add_test(tc, capacity_from_reps_and_shortfall);
    suite_add_tcase(s, tc);
    return s;
}

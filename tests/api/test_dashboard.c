/* test_dashboard.c - the dashboard's numbers, exactly, in JSON and YAML. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api.h"
#include "yconv.h"

static double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }
static const json_t *sec(const json_t *d, const char *s) { return json_object_get(d, s); }

static void send(const api_ws *ws, const char *method, const char *path, const char *body)
{
    api_resp *r = api_send_json(method, path, ws->write, body);
    ck_assert_msg(r->status == 200 || r->status == 201, "%s %s: %ld %s", method, path, r->status, r->body);
    api_resp_free(r);
}

/* A deal write at noon UTC of day `at` (event time), as a CRM would have sent it then. */
static void put_at(const api_ws *ws, const char *id, const char *at, const char *fields)
{
    char path[96], body[640];
    snprintf(path, sizeof path, "/v1/deals/%s", id);
    snprintf(body, sizeof body, "{\"as_of\":\"%sT12:00:00Z\",\"name\":\"%s\",%s}", at, id, fields);
    send(ws, "PUT", path, body);
}

static const json_t *signal_of(const json_t *d, const char *metric)
{
    size_t i;
    const json_t *s;
    json_array_foreach(json_object_get(d, "health_signals"), i,
                       s) if (strcmp(json_string_value(json_object_get(s, "metric")), metric) == 0) return s;
    return NULL;
}

/* Every null figure of the dashboard has a non-empty reason under
 * null_reasons["section.figure"], and every reason names a figure that is
 * null (issue 15: 6 of the demo's 24 nulls had none). Returns how many. */
static size_t check_null_reasons(const json_t *d)
{
    static const char *const sections[] = {"arr",       "retention",  "efficiency", "pipeline",
                                           "operating", "conversion", "forecast"};
    const json_t *nr = json_object_get(d, "null_reasons");
    ck_assert_msg(json_is_object(nr), "no null_reasons object");
    size_t nulls = 0;
    char k[96];
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        const char *key;
        const json_t *v;
        json_object_foreach((json_t *)json_object_get(d, sections[i]), key, v)
        {
            snprintf(k, sizeof k, "%s.%s", sections[i], key);
            const char *why = json_string_value(json_object_get(nr, k));
            if (json_is_null(v)) {
                nulls++;
                ck_assert_msg(why && *why, "%s is null without a reason", k);
            } else {
                ck_assert_msg(!why, "%s has a value and a null reason (%s)", k, why);
            }
        }
    }
    ck_assert_int_eq(json_object_size(nr), nulls);
    return nulls;
}

static const char *null_reason(const json_t *d, const char *key)
{
    const char *why = json_string_value(json_object_get(json_object_get(d, "null_reasons"), key));
    ck_assert_msg(why != NULL, "no null reason for %s", key);
    return why;
}

START_TEST(every_number_of_a_crafted_quarter)
{
    api_ws ws;
    api_new_workspace(&ws);
    send(&ws, "POST", "/v1/arr-events",
         "{\"items\":[{\"account\":\"A\",\"date\":\"2025-06-01\",\"kind\":\"new\",\"amount\":100000},"
         "{\"account\":\"B\",\"date\":\"2025-07-01\",\"kind\":\"new\",\"amount\":50000},"
         "{\"account\":\"A\",\"date\":\"2026-01-10\",\"kind\":\"expansion\",\"amount\":20000},"
         "{\"account\":\"B\",\"date\":\"2026-02-10\",\"kind\":\"churn\",\"amount\":50000},"
         "{\"account\":\"C\",\"date\":\"2026-03-01\",\"kind\":\"new\",\"amount\":30000}]}");
    send(&ws, "POST", "/v1/spend",
         "{\"items\":[{\"period\":\"2026-Q1\",\"category\":\"marketing\",\"amount\":40000},"
         "{\"period\":\"2025-Q4\",\"category\":\"sales\",\"amount\":80000}]}");
    send(&ws, "PUT", "/v1/finance/2026-Q1", "{\"gross_margin\":0.8,\"net_burn\":60000}");
    send(&ws, "PUT", "/v1/reps/ann", "{\"name\":\"Ann\",\"quotas\":{\"2026-Q1\":50000}}");
    send(&ws, "PUT", "/v1/deals/w1",
         "{\"name\":\"Won\",\"amount\":30000,\"stage\":\"closed_won\",\"status\":\"won\",\"owner\":\"ann\","
         "\"created_at\":\"2026-01-01T00:00:00Z\",\"closed_at\":\"2026-01-31T00:00:00Z\"}");
    send(&ws, "PUT", "/v1/deals/l1",
         "{\"name\":\"Lost\",\"amount\":5000,\"stage\":\"closed_lost\",\"status\":\"lost\",\"owner\":\"ann\","
         "\"created_at\":\"2026-01-01T00:00:00Z\",\"closed_at\":\"2026-02-15T00:00:00Z\"}");
    /* 2026-Q1 has ended: its pipeline is the one known on 2026-04-01 (velocity too), its
     * coverage and forecast the ones known on 2026-01-01. o1 and o2 exist since 2025-12-15;
     * late (since 2025-12-10) was won only on 2026-04-10: open at both dates, never won in
     * the quarter; o3 was created today: it never counts in a past quarter. (Until the
     * dashboard followed the as-of rule, o1/o2 were created today and counted, and the
     * forecast took won + commit as of the quarter's end.) */
    put_at(&ws, "o1", "2025-12-15",
           "\"amount\":10000,\"stage\":\"proposal\",\"forecast_category\":\"commit\",\"owner\":\"ann\","
           "\"expected_close_date\":\"2026-03-15\"");
    put_at(&ws, "o2", "2025-12-15",
           "\"amount\":10000,\"stage\":\"opportunity\",\"owner\":\"ann\",\"expected_close_date\":\"2026-03-20\"");
    put_at(&ws, "late", "2025-12-10",
           "\"amount\":4000,\"stage\":\"proposal\",\"owner\":\"ann\",\"expected_close_date\":\"2026-03-31\"");
    put_at(&ws, "late", "2026-04-10", "\"stage\":\"closed_won\"");
    send(&ws, "PUT", "/v1/deals/o3",
         "{\"name\":\"Open 3\",\"amount\":70000,\"stage\":\"proposal\",\"forecast_category\":\"commit\","
         "\"owner\":\"ann\",\"expected_close_date\":\"2026-03-25\"}");

    api_resp *r = api_get("/v1/dashboard?period=2026-Q1", ws.read);
    ck_assert_status(r, 200);
    const json_t *d = r->json;
    ck_assert_str_eq(json_string_value(json_object_get(d, "period")), "2026-Q1");
    ck_assert(num(sec(d, "arr"), "beginning_of_quarter") == 150000 && num(sec(d, "arr"), "current") == 150000);
    ck_assert(num(sec(d, "arr"), "new_business") == 30000 && num(sec(d, "arr"), "churned") == 50000);
    ck_assert(num(sec(d, "retention"), "nrr") == 0.8);    /* (150 + 20 - 50) / 150 */
    ck_assert(num(sec(d, "retention"), "grr") == 0.6667); /* 100 / 150 */
    ck_assert(num(sec(d, "retention"), "logo_retention") == 0.5);
    ck_assert(num(sec(d, "efficiency"), "cac") == 40000);            /* 40,000 spend / 1 new logo */
    ck_assert(num(sec(d, "efficiency"), "cac_payback_months") == 8); /* 40,000 / (150,000 / 12 / 2 x 0.8) */
    ck_assert(num(sec(d, "efficiency"), "magic_number") == 0);       /* net new 0 / prior 80,000 */
    ck_assert(json_is_null(json_object_get(sec(d, "efficiency"), "burn_multiple")));
    ck_assert_str_eq(json_string_value(json_object_get(signal_of(d, "burn_multiple"), "status")), "red");
    /* at 2026-04-01: o1, o2, late */
    ck_assert(num(sec(d, "pipeline"), "total_value") == 24000);
    ck_assert_int_eq(json_integer_value(json_object_get(sec(d, "pipeline"), "total_deals")), 3);
    ck_assert(num(sec(d, "pipeline"), "weighted_pipeline") == 10000 * 0.6 + 10000 * 0.225 + 4000 * 0.6);
    ck_assert(num(sec(d, "pipeline"), "velocity_per_day") == 1500); /* 3 x 50% x 30,000 / 30 days */
    /* at 2026-01-01: 24,000 closing in the quarter / (50,000 - nothing won yet) */
    ck_assert(num(sec(d, "pipeline"), "coverage_ratio") == 0.48);
    /* the same deals, all due in March: fresh on 2026-01-01, so age-adjusted = plain coverage */
    ck_assert(num(sec(d, "pipeline"), "age_adjusted_pipeline") == 24000);
    ck_assert(num(sec(d, "pipeline"), "age_adjusted_coverage") == 0.48);
    ck_assert(num(sec(d, "pipeline"), "quota") == 50000);
    /* quota / win rate: 50,000 / (1 won of 2 closed) */
    ck_assert(num(sec(d, "pipeline"), "required_pipeline") == 100000);
    /* Tier 2: w1 and l1 were created in the quarter (o1, o2, late in December, o3 today) */
    ck_assert(num(sec(d, "operating"), "win_rate") == 0.5);
    ck_assert(num(sec(d, "operating"), "average_deal_size") == 30000);
    ck_assert(num(sec(d, "operating"), "sales_cycle_days") == 30);
    ck_assert(num(sec(d, "operating"), "won") == 30000);
    ck_assert(num(sec(d, "operating"), "pipeline_created") == 35000);
    ck_assert_int_eq(json_integer_value(json_object_get(sec(d, "operating"), "pipeline_created_deals")), 2);
    ck_assert(num(sec(d, "operating"), "pipeline_created_target") == 75000);
    ck_assert(num(sec(d, "operating"), "pipeline_created_vs_quota") == 0.7);
    ck_assert_str_eq(json_string_value(json_object_get(signal_of(d, "pipeline_created"), "status")), "red");
    ck_assert_str_eq(json_string_value(json_object_get(signal_of(d, "win_rate"), "status")), "green");
    ck_assert(num(sec(d, "forecast"), "commit") == 10000);    /* nothing won yet + the committed deal */
    ck_assert(num(sec(d, "forecast"), "best_case") == 14000); /* + late, proposal: best case */
    ck_assert(num(sec(d, "forecast"), "pipeline") == 2250);   /* 22.5% of the pipeline deal */
    ck_assert(json_is_null(json_object_get(sec(d, "forecast"), "mape")));
    /* the only nulls here: the burn multiple (burning, net new ARR 0), the two figures of
     * stored forecasts (none stored) and CAC by channel (issue 19: no spend has a channel, no
     * won deal a touch) */
    ck_assert_uint_eq(check_null_reasons(d), 4);
    ck_assert_ptr_nonnull(strstr(null_reason(d, "efficiency.cac_by_channel"), "no S&M spend with a channel"));
    ck_assert_ptr_nonnull(strstr(null_reason(d, "efficiency.burn_multiple"), "not positive while burning"));
    ck_assert_ptr_nonnull(strstr(null_reason(d, "forecast.actual_vs_forecast_last_month"), "last month (2026-02)"));
    ck_assert_ptr_nonnull(strstr(null_reason(d, "forecast.mape"), "last four ended periods"));
    ck_assert_str_eq(json_string_value(json_object_get(signal_of(d, "nrr"), "status")), "red");
    ck_assert_str_eq(json_string_value(json_object_get(signal_of(d, "cac_payback_months"), "status")), "green");
    /* GTM efficiency by ACV tier: 150,000 ARR over A and C = 75,000 ACV, the seed's $50-100K row
     * (field sales: CAC $30-60K, payback < 18 months, S&M 50-70% of revenue); revenue
     * (150,000 + 150,000) / 2 x 3 / 12 = 37,500, S&M 40,000 = 106.7%: more than 10 points above */
    const json_t *gt = json_object_get(sec(d, "efficiency"), "gtm_tier");
    ck_assert(num(gt, "acv") == 75000 && num(gt, "revenue") == 37500);
    ck_assert_str_eq(json_string_value(json_object_get(gt, "tier")), "$50-100K");
    ck_assert_str_eq(json_string_value(json_object_get(gt, "motion")), "Field sales");
    ck_assert(num(gt, "sm_share_of_revenue") == 1.0667);
    ck_assert_str_eq(json_string_value(json_object_get(signal_of(d, "cac_vs_acv_tier"), "status")), "green");
    ck_assert_str_eq(json_string_value(json_object_get(signal_of(d, "cac_vs_acv_tier"), "note")),
                     "CAC $40000 against the $50-100K ACV tier's typical $30-60K (typical)");
    ck_assert_str_eq(json_string_value(json_object_get(signal_of(d, "payback_vs_acv_tier"), "status")), "green");
    ck_assert_str_eq(json_string_value(json_object_get(signal_of(d, "sm_share_vs_acv_tier"), "status")), "red");
    ck_assert_str_eq(json_string_value(json_object_get(signal_of(d, "sm_share_vs_acv_tier"), "note")),
                     "S&M 106.7% of revenue against the $50-100K ACV tier's 50-70% (far above range)");
    char etag[128], inm[160];
    snprintf(etag, sizeof etag, "%s", r->etag);

    /* YAML: the same document, parsed back, ratios as the seed writes them */
    const char *y[] = {"Accept: application/yaml", NULL};
    api_resp *ry = api_req("GET", "/v1/dashboard?period=2026-Q1", ws.read, NULL, NULL, 0, y);
    ck_assert_status(ry, 200);
    char msg[256];
    json_t *yd = yconv_parse(ry->body, ry->len, msg, sizeof msg);
    ck_assert_msg(yd != NULL, "YAML does not parse: %s", msg);
    ck_assert_str_eq(json_string_value(json_object_get(sec(yd, "retention"), "nrr")), "80.0%");
    ck_assert_str_eq(json_string_value(json_object_get(sec(yd, "pipeline"), "coverage_ratio")), "0.5x");
    ck_assert(num(sec(yd, "arr"), "current") == num(sec(d, "arr"), "current"));
    ck_assert(json_equal(json_object_get(yd, "forecast"), json_object_get(d, "forecast")));
    const char *k1 = NULL, *k2 = NULL;
    void *it1 = json_object_iter(yd);
    k1 = json_object_iter_key(it1);
    k2 = json_object_iter_key(json_object_iter_next(yd, it1));
    ck_assert_str_eq(k1, "period"); /* the seed's key order */
    ck_assert_str_eq(k2, "updated");
    json_decref(yd);
    api_resp_free(ry);
    api_resp_free(r);

    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    const char *h[] = {inm, NULL};
    r = api_req("GET", "/v1/dashboard?period=2026-Q1", ws.read, NULL, NULL, 0, h);
    ck_assert_status(r, 304);
    api_resp_free(r);
    r = api_get("/v1/dashboard?period=2026-Q1&explain=true", ws.read);
    ck_assert(num(json_object_get(json_object_get(json_object_get(r->json, "explain"), "cac"), "inputs"),
                  "new_customers") == 1);
    api_resp_free(r);

    r = api_get("/v1/revenue/waterfall?from=2026-01-01&to=2026-03-31", ws.read);
    ck_assert_status(r, 200);
    ck_assert(num(r->json, "starting") + num(r->json, "new_business") + num(r->json, "expansion") +
                  num(r->json, "reactivation") - num(r->json, "contraction") - num(r->json, "churn") ==
              num(r->json, "ending"));
    ck_assert(num(r->json, "ending") == 150000);
    api_resp_free(r);
}
END_TEST

START_TEST(missing_inputs_are_null_with_a_reason)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_get("/v1/dashboard", ws.read);
    ck_assert_status(r, 200);
    ck_assert(json_is_null(json_object_get(sec(r->json, "retention"), "nrr")));
    ck_assert(json_is_null(json_object_get(sec(r->json, "efficiency"), "cac")));
    const json_t *s = signal_of(r->json, "ltv_cac_ratio");
    ck_assert(json_is_null(json_object_get(s, "status")));
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(s, "note")), "no S&M spend"));
    /* no ARR movement recorded: ARR is unknown, not 0 (this test asserted 0 until the dashboard
     * followed its own rule for ARR too) */
    ck_assert(json_is_null(json_object_get(sec(r->json, "arr"), "current")));
    ck_assert(json_is_null(json_object_get(sec(r->json, "arr"), "net_new")));
    ck_assert_ptr_nonnull(
        strstr(json_string_value(json_object_get(signal_of(r->json, "arr"), "note")), "no ARR movements"));
    /* an empty workspace: every figure is null, each with its reason, but the sums and counts of
     * deals (0 of nothing is 0: the pipeline's totals and the forecast's calls) */
    /* arr, retention, efficiency, pipeline (coverage, velocity; quota, age-adjusted coverage,
     * required pipeline), operating (all but the sums and counts), conversion, forecast */
    /* efficiency: six figures, gtm_tier and cac_by_channel */
    ck_assert_uint_eq(check_null_reasons(r->json), 8 + 3 + (6 + 1 + 1) + (2 + 3) + 5 + 4 + 2);
    ck_assert_ptr_nonnull(strstr(null_reason(r->json, "efficiency.gtm_tier"), "no ACV"));
    ck_assert_ptr_nonnull(strstr(null_reason(r->json, "operating.win_rate"), "no deal closed"));
    ck_assert_ptr_nonnull(strstr(null_reason(r->json, "pipeline.required_pipeline"), "no quota"));
    ck_assert_ptr_nonnull(strstr(null_reason(r->json, "conversion.mql_to_sql"), "no deal first reached mql"));
    ck_assert_ptr_nonnull(strstr(null_reason(r->json, "arr.current"), "no ARR movements recorded"));
    ck_assert_ptr_nonnull(strstr(null_reason(r->json, "retention.nrr"), "no ARR at the start"));
    ck_assert_ptr_nonnull(strstr(null_reason(r->json, "efficiency.cac"), "no S&M spend recorded for the period"));
    ck_assert_ptr_nonnull(strstr(null_reason(r->json, "efficiency.ltv"), "no gross margin"));
    ck_assert_ptr_nonnull(strstr(null_reason(r->json, "efficiency.magic_number"), "prior period"));
    ck_assert_ptr_nonnull(strstr(null_reason(r->json, "efficiency.burn_multiple"), "no net burn"));
    ck_assert_ptr_nonnull(strstr(null_reason(r->json, "pipeline.coverage_ratio"), "no quota for the period"));
    ck_assert_ptr_nonnull(strstr(null_reason(r->json, "pipeline.velocity_per_day"), "no deal won in the period"));
    api_resp_free(r);
    /* a write through this instance is visible at once (the answer cache is emptied) */
    send(&ws, "POST", "/v1/arr-events",
         "{\"account\":\"Z\",\"date\":\"2020-01-01\",\"kind\":\"new\",\"amount\":123.45}");
    r = api_get("/v1/dashboard", ws.read);
    ck_assert(num(sec(r->json, "arr"), "current") == 123.45);
    api_resp_free(r);
    r = api_get("/v1/dashboard?period=2026-Q5", ws.read);
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_get("/v1/revenue/waterfall?from=2026-02-01&to=2026-01-01", ws.read);
    ck_assert_status(r, 422);
    api_resp_free(r);
}
END_TEST

static const json_t *cohort_named(const json_t *doc, const char *name)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(doc, "cohorts"), i,
                       c) if (strcmp(json_string_value(json_object_get(c, "cohort")), name) == 0) return c;
    ck_abort_msg("no cohort %s in %s", name, json_dumps(doc, 0));
    return NULL;
}

/* The seed's cohort framework beyond month and segment: industry (the
 * account's), ACV band (starting ARR in the seed's ACV tiers) and sales
 * cycle (days from creation to close of the account's first won deal). */
START_TEST(cohorts_by_industry_acv_band_and_sales_cycle)
{
    api_ws ws;
    api_new_workspace(&ws);
    send(&ws, "PUT", "/v1/accounts/A", "{\"name\":\"A\",\"industry\":\"software\"}");
    send(&ws, "PUT", "/v1/accounts/B", "{\"name\":\"B\",\"industry\":\"retail\"}");
    char d100[11], d200[11], d180[11], d300[11], d90[11], d95[11], body[1024];
    api_day(-100, d100);
    api_day(-200, d200);
    api_day(-180, d180);
    api_day(-300, d300);
    api_day(-90, d90);
    api_day(-95, d95);
    /* A: 12,000 ($10-50K); B: 500 + 400 in the same month (<$1K); C: 150,000 ($100K+) */
    snprintf(body, sizeof body,
             "{\"items\":[{\"account\":\"A\",\"date\":\"%s\",\"kind\":\"new\",\"amount\":12000},"
             "{\"account\":\"B\",\"date\":\"%s\",\"kind\":\"new\",\"amount\":500},"
             "{\"account\":\"B\",\"date\":\"%s\",\"kind\":\"expansion\",\"amount\":400},"
             "{\"account\":\"C\",\"date\":\"%s\",\"kind\":\"new\",\"amount\":150000}]}",
             d100, d100, d100, d100);
    send(&ws, "POST", "/v1/arr-events", body);
    /* A's first won deal took 20 days; B's 205 days, its second (closed later) 10 days */
    snprintf(body, sizeof body,
             "{\"name\":\"a1\",\"amount\":12000,\"stage\":\"closed_won\",\"status\":\"won\",\"account\":\"A\","
             "\"created_at\":\"%sT00:00:00Z\",\"closed_at\":\"%sT00:00:00Z\"}",
             d200, d180);
    send(&ws, "PUT", "/v1/deals/a1", body);
    snprintf(body, sizeof body,
             "{\"name\":\"b1\",\"amount\":500,\"stage\":\"closed_won\",\"status\":\"won\",\"account\":\"B\","
             "\"created_at\":\"%sT00:00:00Z\",\"closed_at\":\"%sT00:00:00Z\"}",
             d300, d95);
    send(&ws, "PUT", "/v1/deals/b1", body);
    snprintf(body, sizeof body,
             "{\"name\":\"b0\",\"amount\":400,\"stage\":\"closed_won\",\"status\":\"won\",\"account\":\"B\","
             "\"created_at\":\"%sT00:00:00Z\",\"closed_at\":\"%sT00:00:00Z\"}",
             d100, d90);
    send(&ws, "PUT", "/v1/deals/b0", body);

    api_resp *r = api_get("/v1/cohorts/retention?by=industry", ws.read);
    ck_assert_status(r, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(r->json, "cohorts")), 3);
    ck_assert(num(cohort_named(r->json, "software"), "starting_arr") == 12000);
    ck_assert(num(cohort_named(r->json, "retail"), "starting_arr") == 900);
    ck_assert(num(cohort_named(r->json, "(none)"), "starting_arr") == 150000); /* C has no account record */
    api_resp_free(r);
    r = api_get("/v1/cohorts/retention?by=acv_band", ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "by")), "acv_band");
    ck_assert_uint_eq(json_array_size(json_object_get(r->json, "cohorts")), 3);
    ck_assert(num(cohort_named(r->json, "$10-50K"), "starting_arr") == 12000);
    ck_assert(num(cohort_named(r->json, "<$1K"), "starting_arr") == 900);
    ck_assert_int_eq(json_integer_value(json_object_get(cohort_named(r->json, "$100K+"), "accounts")), 1);
    api_resp_free(r);
    r = api_get("/v1/cohorts/retention?by=sales_cycle", ws.read);
    ck_assert_status(r, 200);
    ck_assert(num(cohort_named(r->json, "0-30 days"), "starting_arr") == 12000);
    ck_assert(num(cohort_named(r->json, "181+ days"), "starting_arr") == 900); /* b1, B's first won deal */
    ck_assert(num(cohort_named(r->json, "(none)"), "starting_arr") == 150000);
    api_resp_free(r);
    r = api_get("/v1/cohorts/retention?by=planet", ws.read);
    ck_assert_status(r, 422);
    ck_assert(strstr(r->body, "sales_cycle") != NULL);
    api_resp_free(r);
}
END_TEST

START_TEST(cohorts_and_unit_economics)
{
    api_ws ws;
    api_new_workspace(&ws);
    send(&ws, "PUT", "/v1/accounts/A", "{\"name\":\"A\",\"segment\":\"smb\"}");
    send(&ws, "POST", "/v1/arr-events",
         "{\"items\":[{\"account\":\"A\",\"date\":\"2026-09-05\",\"kind\":\"new\",\"amount\":1000},"
         "{\"account\":\"B\",\"date\":\"2026-09-10\",\"kind\":\"new\",\"amount\":1000},"
         "{\"account\":\"A\",\"date\":\"2026-10-01\",\"kind\":\"expansion\",\"amount\":1000},"
         "{\"account\":\"B\",\"date\":\"2026-11-01\",\"kind\":\"churn\",\"amount\":1000}]}");
    api_resp *r = api_get("/v1/cohorts/retention?by=acquisition_month&months=3", ws.read);
    ck_assert_status(r, 200);
    json_t *c = json_array_get(json_object_get(r->json, "cohorts"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(c, "cohort")), "2026-09");
    ck_assert_int_eq(json_integer_value(json_object_get(c, "accounts")), 2);
    json_t *m = json_object_get(c, "months");
    ck_assert_int_eq(json_array_size(m), 3); /* September, October, November */
    ck_assert(num(json_array_get(m, 1), "nrr") == 1.5);
    ck_assert(num(json_array_get(m, 1), "grr") == 1.0);
    ck_assert(num(json_array_get(m, 2), "nrr") == 1.0);
    ck_assert(num(json_array_get(m, 2), "grr") == 0.5);
    ck_assert(num(json_array_get(m, 2), "logo_retention") == 0.5);
    api_resp_free(r);
    r = api_get("/v1/cohorts/retention?by=segment", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "cohorts")), 2); /* smb, (none) */
    api_resp_free(r);

    send(&ws, "POST", "/v1/spend",
         "{\"period\":\"2026-Q3\",\"category\":\"marketing\",\"segment\":\"smb\",\"amount\":2000}");
    send(&ws, "PUT", "/v1/finance/2026-Q3", "{\"gross_margin\":0.5}");
    r = api_get("/v1/metrics/unit-economics?by=segment&period=2026-Q3", ws.read);
    ck_assert_status(r, 200);
    json_t *g = json_array_get(json_object_get(r->json, "groups"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(g, "group")), "smb");
    ck_assert(num(g, "cac") == 2000); /* 2,000 / 1 new smb customer */
    ck_assert_int_eq(json_integer_value(json_object_get(g, "new_customers")), 1);
    api_resp_free(r);
    r = api_get("/v1/metrics/unit-economics?by=planet", ws.read);
    ck_assert_status(r, 422);
    api_resp_free(r);
}
END_TEST

/* The current (or next) quarter is seen as of now, and its forecast is the one
 * POST /v1/forecasts gives for the same period: the same deals, the same close
 * dates estimated from history (issue 16 point 5a: the dashboard left u out). w
 * took 20 days from proposal to won, so u (in proposal since day -5, no close
 * date) is expected on day +15; the period is the quarter holding day +15. */
START_TEST(the_current_quarter_matches_post_forecasts)
{
    char q[11], wq[11], d30[11], d10[11], d5[11], rep[128], body[128], path[64];
    api_quarter_of_day(15, q);
    api_quarter_of_day(-10, wq);
    api_day(-30, d30);
    api_day(-10, d10);
    api_day(-5, d5);
    api_ws ws;
    api_new_workspace(&ws);
    snprintf(rep, sizeof rep, "{\"name\":\"Ann\",\"quotas\":{\"%s\":10000}}", q);
    send(&ws, "PUT", "/v1/reps/ann", rep);
    put_at(&ws, "w", d30, "\"amount\":2000,\"stage\":\"proposal\",\"owner\":\"ann\"");
    put_at(&ws, "w", d10, "\"stage\":\"closed_won\"");
    put_at(&ws, "u", d5, "\"amount\":3000,\"stage\":\"proposal\",\"owner\":\"ann\"");
    double won = strcmp(q, wq) == 0 ? 2000 : 0; /* w counts when day -10 is in the same quarter */

    snprintf(body, sizeof body, "{\"period\":\"%s\",\"method\":\"category\"}", q);
    api_resp *f = api_send_json("POST", "/v1/forecasts", ws.write, body);
    ck_assert_status(f, 201);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(f->json, "close_dates_estimated"), "deals")),
                     1);
    snprintf(path, sizeof path, "/v1/dashboard?period=%s", q);
    api_resp *r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    const json_t *fc = sec(r->json, "forecast"), *pl = sec(r->json, "pipeline");
    ck_assert_msg(num(fc, "best_case") == won + 3000, "best case %f, want %f", num(fc, "best_case"), won + 3000);
    ck_assert(num(fc, "commit") == won);
    const char *keys[] = {"commit", "best_case", "pipeline"};
    for (int i = 0; i < 3; i++)
        ck_assert_msg(num(fc, keys[i]) == num(f->json, keys[i]), "%s: dashboard %f, POST %f", keys[i], num(fc, keys[i]),
                      num(f->json, keys[i]));
    ck_assert(num(pl, "total_value") == 3000);
    ck_assert_int_eq(json_integer_value(json_object_get(pl, "total_deals")), 1);
    /* coverage: u closes (by its estimate) in the period: 3,000 / (10,000 - won), as POST says */
    ck_assert(num(pl, "coverage_ratio") == round(3000 / (10000 - won) * 10000) / 10000);
    ck_assert(num(pl, "coverage_ratio") == num(f->json, "coverage"));
    check_null_reasons(r->json);
    api_resp_free(r);
    api_resp_free(f);
}
END_TEST

/* GET path with Accept-Encoding ae (and one more header, or NULL). */
static api_resp *get_coded(const char *path, const char *key, const char *ae, const char *more)
{
    char h1[128];
    snprintf(h1, sizeof h1, "Accept-Encoding: %s", ae);
    const char *h[] = {h1, more, NULL};
    return api_req("GET", path, key, NULL, NULL, 0, h);
}

static bool vary_has(const api_resp *r, const char *name)
{
    /* whole names of the joined Vary list, once */
    int seen = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", r->vary);
    for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
        seen += strcasecmp(t, name) == 0;
    ck_assert_msg(seen <= 1, "Vary names %s twice: %s", name, r->vary);
    return seen == 1;
}

/* gzip content-coding (issue 15: "responses are never compressed; 50 deals
 * are 28 KB"): negotiated by Accept-Encoding with q-values, the decoded body
 * byte for byte the identity one, Vary merged, never a 204/304 body. The
 * harness decodes gzip (tests/api/harness.c) and the contract checks the
 * decoded answers. */
START_TEST(responses_are_gzip_coded_when_asked)
{
    api_ws ws;
    api_new_workspace(&ws);
    char body[20000];
    size_t n = (size_t)snprintf(body, sizeof body, "{\"items\":[");
    for (int i = 0; i < 50; i++)
        n += (size_t)snprintf(body + n, sizeof body - n,
                              "%s{\"id\":\"deal-%02d\",\"name\":\"Renewal %02d for a customer\",\"amount\":%d,"
                              "\"stage\":\"proposal\",\"expected_close_date\":\"2026-03-%02d\"}",
                              i ? "," : "", i, i, 1000 + 37 * i, 1 + i % 28);
    snprintf(body + n, sizeof body - n, "]}");
    send(&ws, "POST", "/v1/deals/batch", body);

    api_resp *plain = api_get("/v1/deals?limit=50", ws.read);
    ck_assert_status(plain, 200);
    ck_assert_uint_eq(json_array_size(json_object_get(plain->json, "items")), 50);
    ck_assert_str_eq(plain->content_encoding, "");
    ck_assert(vary_has(plain, "Accept-Encoding")); /* a cache must not hand it to a gzip client either way */
    api_resp *gz = get_coded("/v1/deals?limit=50", ws.read, "gzip", NULL);
    ck_assert_status(gz, 200);
    ck_assert_str_eq(gz->content_encoding, "gzip");
    ck_assert_uint_eq(gz->len, plain->len);
    ck_assert(memcmp(gz->body, plain->body, plain->len) == 0);
    ck_assert_msg(gz->wire_len * 4 < plain->len, "50 deals: %zu bytes coded, %zu plain", gz->wire_len, plain->len);
    ck_assert_uint_eq((size_t)atol(gz->content_length), gz->wire_len);
    api_resp_free(gz);

    /* q-values, names case-insensitive; gzip by name wins over * */
    static const struct {
        const char *ae;
        bool coded;
    } cases[] = {{"GZIP", true},
                 {"deflate, gzip;q=0.5", true},
                 {"*", true},
                 {"*;q=0.1", true},
                 {"x-gzip", true},
                 {"gzip;q=0", false},
                 {"gzip;q=0.000", false},
                 {"gzip;q=0, *", false},
                 {"br, deflate", false},
                 {"identity", false},
                 {"", false},
                 {"gzip ; q=1.0 , identity;q=0.5", true},
                 {"*;q=0, identity", false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        api_resp *r = get_coded("/v1/deals?limit=50", ws.read, cases[i].ae, NULL);
        ck_assert_status(r, 200);
        ck_assert_msg((strcmp(r->content_encoding, "gzip") == 0) == cases[i].coded, "Accept-Encoding: %s -> '%s'",
                      cases[i].ae, r->content_encoding);
        ck_assert(r->len == plain->len && memcmp(r->body, plain->body, plain->len) == 0);
        api_resp_free(r);
    }
    api_resp_free(plain);

    /* a small body stays as it is, unless identity is refused */
    api_resp *small = get_coded("/v1/workspace", ws.read, "gzip", NULL);
    ck_assert_status(small, 200);
    ck_assert_msg(small->len < 1024, "the workspace is %zu bytes", small->len);
    ck_assert_str_eq(small->content_encoding, "");
    ck_assert(vary_has(small, "Accept-Encoding"));
    api_resp *forced = get_coded("/v1/workspace", ws.read, "identity;q=0, gzip", NULL);
    ck_assert_str_eq(forced->content_encoding, "gzip");
    ck_assert(forced->len == small->len && memcmp(forced->body, small->body, small->len) == 0);
    api_resp_free(forced);
    api_resp_free(small);

    /* the dashboard, JSON and YAML: Vary merges Accept and Accept-Encoding; the
     * coded answer keeps the ETag (If-Match compares strongly: server/gzip.c) and gets a 304 */
    api_resp *dj = api_get("/v1/dashboard?period=2026-Q1", ws.read);
    api_resp *dz = get_coded("/v1/dashboard?period=2026-Q1", ws.read, "gzip", NULL);
    ck_assert_status(dz, 200);
    ck_assert_str_eq(dz->content_encoding, "gzip");
    ck_assert(dz->len == dj->len && memcmp(dz->body, dj->body, dj->len) == 0);
    ck_assert(vary_has(dz, "Accept") && vary_has(dz, "Accept-Encoding"));
    ck_assert(vary_has(dj, "Accept") && vary_has(dj, "Accept-Encoding"));
    char inm[200];
    ck_assert(dj->etag[0] == '"');
    ck_assert_str_eq(dz->etag, dj->etag);
    snprintf(inm, sizeof inm, "If-None-Match: %s", dz->etag);
    api_resp *nm = get_coded("/v1/dashboard?period=2026-Q1", ws.read, "gzip", inm);
    ck_assert_status(nm, 304);
    ck_assert_str_eq(nm->content_encoding, ""); /* no body, no coding */
    ck_assert_str_eq(nm->etag, dj->etag);
    /* RFC 9110 8.6: a 304's Content-Length is the one the 200 would have had */
    ck_assert_uint_eq((size_t)atol(nm->content_length), dz->wire_len);
    ck_assert(vary_has(nm, "Accept-Encoding"));
    api_resp_free(nm);
    snprintf(inm, sizeof inm, "If-None-Match: W/%s", dj->etag); /* weak comparison, as before */
    nm = get_coded("/v1/dashboard?period=2026-Q1", ws.read, "gzip", inm);
    ck_assert_status(nm, 304);
    api_resp_free(nm);
    api_resp *yj = get_coded("/v1/dashboard?period=2026-Q1", ws.read, "identity", "Accept: application/yaml");
    api_resp *yz = get_coded("/v1/dashboard?period=2026-Q1", ws.read, "gzip", "Accept: application/yaml");
    ck_assert_str_eq(yz->content_encoding, "gzip");
    ck_assert(yz->len == yj->len && memcmp(yz->body, yj->body, yj->len) == 0);
    api_resp_free(yj);
    api_resp_free(yz);
    api_resp_free(dj);
    api_resp_free(dz);

    /* a 204 has no body to code */
    const char *h[] = {"Accept-Encoding: gzip", NULL};
    api_resp *del = api_req("DELETE", "/v1/deals/deal-00", ws.write, NULL, NULL, 0, h);
    ck_assert_status(del, 204);
    ck_assert_str_eq(del->content_encoding, "");
    api_resp_free(del);
}
END_TEST

/* Without ?period= the answer is for the current quarter unless it has no
 * data; then for the latest quarter with data, and it says so (issue 18). */
START_TEST(default_period_is_the_latest_with_data)
{
    api_ws ws;
    api_new_workspace(&ws);
    char cur[11], old[11], created[11], closed[11], body[600];
    api_quarter_of_day(0, cur);
    api_quarter_of_day(-380, old);
    api_resp *r = api_get("/v1/dashboard", ws.read); /* nothing at all: the current quarter */
    ck_assert_status(r, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "period")), cur);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "period_basis")), "current");
    ck_assert(json_is_null(json_object_get(r->json, "period_note")));
    api_resp_free(r);
    snprintf(body, sizeof body,
             "{\"name\":\"Won\",\"amount\":1000,\"stage\":\"closed_won\",\"status\":\"won\","
             "\"created_at\":\"%sT00:00:00Z\",\"closed_at\":\"%sT00:00:00Z\"}",
             api_day(-400, created), api_day(-380, closed));
    send(&ws, "PUT", "/v1/deals/w1", body);
    r = api_get("/v1/dashboard", ws.read);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "period")), old);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "period_basis")), "latest_with_data");
    const char *note = json_string_value(json_object_get(r->json, "period_note"));
    ck_assert_msg(note && strstr(note, cur) && strstr(note, old), "%s", note ? note : "(null)");
    api_resp_free(r);
    char q[64];
    snprintf(q, sizeof q, "/v1/dashboard?period=%s", cur);
    r = api_get(q, ws.read);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "period")), cur);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "period_basis")), "requested");
    api_resp_free(r);
    /* an open deal expected to close this quarter: the current quarter has data */
    char expect[11];
    snprintf(body, sizeof body,
             "{\"name\":\"Open\",\"amount\":1000,\"stage\":\"proposal\",\"created_at\":\"%sT00:00:00Z\","
             "\"expected_close_date\":\"%s\"}",
             api_day(-390, created), api_day(0, expect));
    send(&ws, "PUT", "/v1/deals/o1", body);
    r = api_get("/v1/dashboard", ws.read);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "period")), cur);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "period_basis")), "current");
    api_resp_free(r);
}
END_TEST

Suite *dashboard_suite(void)
{
    Suite *s = suite_create("dashboard");
    TCase *tc = tcase_create("document");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, every_number_of_a_crafted_quarter);
    tcase_add_test(tc, missing_inputs_are_null_with_a_reason);
    tcase_add_test(tc, default_period_is_the_latest_with_data);
    tcase_add_test(tc, cohorts_and_unit_economics);
    tcase_add_test(tc, cohorts_by_industry_acv_band_and_sales_cycle);
    tcase_add_test(tc, the_current_quarter_matches_post_forecasts);
    tcase_add_test(tc, responses_are_gzip_coded_when_asked);
    suite_add_tcase(s, tc);
    return s;
}

START_TEST(forecasts_from_stored_deals)
{
    api_ws ws;
    api_new_workspace(&ws);
    send(&ws, "PUT", "/v1/reps/mia", "{\"name\":\"Mia\",\"role\":\"manager\"}");
    send(&ws, "PUT", "/v1/reps/ann", "{\"name\":\"Ann\",\"manager\":\"mia\",\"quotas\":{\"2026-Q4\":40000}}");
    send(&ws, "PUT", "/v1/reps/bob", "{\"name\":\"Bob\",\"manager\":\"mia\"}");
    send(&ws, "PUT", "/v1/deals/a1",
         "{\"name\":\"A1\",\"amount\":10000,\"stage\":\"proposal\",\"forecast_category\":\"commit\",\"owner\":\"ann\","
         "\"expected_close_date\":\"2026-12-20\",\"as_of\":\"2026-10-01T12:00:00Z\"}"); /* existing on 11-23 */
    send(&ws, "PUT", "/v1/deals/b1",
         "{\"name\":\"B1\",\"amount\":20000,\"stage\":\"opportunity\",\"owner\":\"bob\",\"expected_close_date\":\"2026-"
         "11-01\","
         "\"as_of\":\"2026-10-01T12:00:00Z\"}");
    send(&ws, "PUT", "/v1/deals/w1",
         "{\"name\":\"W1\",\"amount\":5000,\"stage\":\"closed_won\",\"status\":\"won\",\"owner\":\"ann\","
         "\"closed_at\":\"2026-10-15T10:00:00Z\"}");
    api_resp *r = api_send_json(
        "POST", "/v1/forecasts", ws.write,
        "{\"period\":\"2026-Q4\",\"method\":\"weighted\",\"group_by\":\"manager\",\"as_of\":\"2026-11-23\"}");
    ck_assert_status(r, 201);
    const json_t *f = r->json;
    ck_assert(num(f, "closed_won") == 5000);
    ck_assert(num(f, "weighted") == 10000 * 0.6 + 20000 * 0.225); /* 6,000 + 4,500 */
    ck_assert(num(f, "expected") == 15500);
    ck_assert(num(f, "commit") == 15000);    /* won + the committed deal */
    ck_assert(num(f, "coverage") == 0.8571); /* 30,000 / (40,000 - 5,000) */
    const json_t *q = json_object_get(f, "quantiles");
    ck_assert(num(q, "p10") <= num(q, "p50") && num(q, "p50") <= num(q, "p90"));
    ck_assert(num(q, "p10") >= 5000 && num(q, "p90") <= 35000);
    const json_t *risk = json_object_get(f, "at_risk");
    ck_assert(num(risk, "amount") == 20000); /* b1 is past its close date */
    ck_assert_str_eq(json_string_value(json_array_get(
                         json_object_get(json_array_get(json_object_get(risk, "deals"), 0), "reasons"), 0)),
                     "past_close");
    size_t i;
    json_t *g;
    bool saw_mia = false;
    json_array_foreach(json_object_get(f, "groups"), i,
                       g) if (strcmp(json_string_value(json_object_get(g, "key")), "mia") == 0)
    {
        saw_mia = true;
        ck_assert(num(g, "weighted") == 10500); /* rolled up from ann and bob */
    }
    ck_assert(saw_mia);
    char path[96];
    snprintf(path, sizeof path, "/v1/forecasts/%s", json_string_value(json_object_get(f, "id")));
    api_resp_free(r);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "method")), "weighted");
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "funnel_version")), 1);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/forecasts", ws.write, "{\"period\":\"2026-Q4\",\"method\":\"historical\"}");
    ck_assert_status(r, 201);
    ck_assert(num(r->json, "closed_won") == 5000);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/forecasts", ws.write,
                      "{\"period\":\"2026-Q4\",\"method\":\"category\",\"what_if\":{\"deal_ids_excluded\":[\"a1\"]}}");
    ck_assert_status(r, 201);
    ck_assert(num(r->json, "commit") == 5000);
    api_resp_free(r);
    r = api_get("/v1/forecasts", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 3);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/forecasts", ws.write,
                      "{\"period\":\"2026-Q9\",\"method\":\"magic\",\"quantiles\":[2]}");
    ck_assert_status(r, 422);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "errors")), 2);
    api_resp_free(r);
    api_ws other;
    api_new_workspace(&other);
    r = api_get(path, other.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
}
END_TEST

START_TEST(dashboard_accuracy_from_stored_forecasts)
{
    api_ws ws;
    api_new_workspace(&ws);
    /* both deals exist from 06-01 (event time); w is won on 08-01 */
    send(&ws, "PUT", "/v1/deals/w",
         "{\"name\":\"W\",\"amount\":10000,\"stage\":\"proposal\","
         "\"expected_close_date\":\"2026-08-01\",\"as_of\":\"2026-06-01T12:00:00Z\"}");
    send(&ws, "PUT", "/v1/deals/w",
         "{\"name\":\"W\",\"stage\":\"closed_won\",\"status\":\"won\","
         "\"as_of\":\"2026-08-01T00:00:00Z\"}");
    send(&ws, "PUT", "/v1/deals/o",
         "{\"name\":\"O\",\"amount\":20000,\"stage\":\"proposal\","
         "\"expected_close_date\":\"2026-09-15\",\"as_of\":\"2026-06-01T12:00:00Z\"}");
    /* the Q3 call as of 06-30 sees both deals open in proposal: 60% of 10,000 +
     * 60% of 20,000 = 18,000 (the win of 08-01 was not known then; this test
     * counted it before the as-of rule); Q3 actually won 10,000: APE 80% */
    send(&ws, "POST", "/v1/forecasts", "{\"period\":\"2026-Q3\",\"as_of\":\"2026-06-30\"}");
    /* a forecast stored after the quarter ended (o lost by then: 10,000, APE 0) counts at no
     * horizon: the dashboard's MAPE is the accuracy report's period-start figure, not 0 */
    send(&ws, "PUT", "/v1/deals/o", "{\"name\":\"O\",\"stage\":\"closed_lost\",\"status\":\"lost\"}");
    send(&ws, "POST", "/v1/forecasts", "{\"period\":\"2026-Q3\"}");
    /* 2026-Q2 won 5,000 and has only a forecast made now (5,000, APE 0): the old rule ("else
     * the latest") graded it, making the MAPE (60 + 0) / 2 */
    send(&ws, "PUT", "/v1/deals/w2",
         "{\"name\":\"W2\",\"amount\":5000,\"stage\":\"closed_won\",\"status\":\"won\","
         "\"closed_at\":\"2026-05-01T00:00:00Z\"}");
    send(&ws, "POST", "/v1/forecasts", "{\"period\":\"2026-Q2\"}");
    api_resp *r = api_get("/v1/dashboard?period=2026-Q4", ws.read);
    ck_assert_status(r, 200);
    /* a fraction, as every ratio on the dashboard (the accuracy report below says 80, in percent;
     * this said 80 too until the dashboard's units were made one convention) */
    ck_assert_msg(num(sec(r->json, "forecast"), "mape") == 0.8, "%s", r->body);
    ck_assert(json_object_get(json_object_get(r->json, "null_reasons"), "forecast.mape") == NULL);
    api_resp_free(r);
    const char *y[] = {"Accept: application/yaml", NULL};
    r = api_req("GET", "/v1/dashboard?period=2026-Q4", ws.read, NULL, NULL, 0, y);
    ck_assert_status(r, 200);
    ck_assert_ptr_nonnull(strstr(r->body, "mape: 80.0%"));
    api_resp_free(r);
    r = api_get("/v1/dashboard?period=2026-Q4", ws.read);
    /* two deals are no history to learn from: the expected revenue is the category method's */
    ck_assert_str_eq(json_string_value(json_object_get(sec(r->json, "forecast"), "method")), "category");
    ck_assert(json_is_number(json_object_get(sec(r->json, "forecast"), "p90")));
    ck_assert_str_eq(json_string_value(json_object_get(signal_of(r->json, "forecast_mape"), "status")), "red");
    api_resp_free(r);
    r = api_get("/v1/forecasts/accuracy", ws.read);
    ck_assert_status(r, 200);
    size_t i;
    const json_t *s, *ps = NULL;
    json_array_foreach(json_object_get(r->json, "summary"), i,
                       s) if (strcmp(json_string_value(json_object_get(s, "horizon")), "period_start") == 0) ps = s;
    ck_assert_ptr_nonnull(ps);
    ck_assert(num(ps, "mape") == 80);
    api_resp_free(r);
    /* the dashboard of Q3 itself, a past quarter: nothing made for 2026-Q2 */
    r = api_get("/v1/dashboard?period=2026-Q3", ws.read);
    ck_assert(json_is_null(json_object_get(sec(r->json, "forecast"), "mape")));
    api_resp_free(r);
}
END_TEST

/* A forecast reaches five years ahead at most: a period further out is a 422
 * on every route that forecasts it (the learned method walks every day up to
 * the period's end: 9998-Q4 ran for minutes), one four years out answers. */
START_TEST(forecasts_reach_at_most_five_years_ahead)
{
    api_ws ws;
    api_new_workspace(&ws);
    send(&ws, "PUT", "/v1/deals/f1", "{\"name\":\"F1\",\"amount\":1000,\"stage\":\"proposal\"}");
    char near[11], far[11], body[64];
    api_quarter_of_day(4 * 365, near);
    api_quarter_of_day(5 * 365 + 120, far); /* a quarter starting more than 60 months ahead */
    const char *periods[] = {far, "9998-Q4"};
    for (int i = 0; i < 2; i++) {
        char path[96];
        snprintf(path, sizeof path, "/v1/dashboard?period=%s", periods[i]);
        api_resp *r = api_get(path, ws.read);
        ck_assert_msg(r->status == 422 && strstr(r->body, "five years"), "%s: %ld %s", path, r->status, r->body);
        api_resp_free(r);
        snprintf(path, sizeof path, "/v1/forecasts/trend?period=%s", periods[i]);
        r = api_get(path, ws.read);
        ck_assert_msg(r->status == 422, "%s: %ld %s", path, r->status, r->body);
        api_resp_free(r);
        snprintf(path, sizeof path, "/v1/attainment?period=%s", periods[i]);
        r = api_get(path, ws.read);
        ck_assert_msg(r->status == 422, "%s: %ld %s", path, r->status, r->body);
        api_resp_free(r);
        snprintf(body, sizeof body, "{\"period\":\"%s\"}", periods[i]);
        r = api_send_json("POST", "/v1/forecasts", ws.write, body);
        ck_assert_msg(r->status == 422, "POST /v1/forecasts %s: %ld %s", periods[i], r->status, r->body);
        api_resp_free(r);
    }
    char path[96];
    snprintf(path, sizeof path, "/v1/dashboard?period=%s", near);
    api_resp *r = api_get(path, ws.read);
    ck_assert_msg(r->status == 200, "%s: %ld %s", path, r->status, r->body);
    api_resp_free(r);
    snprintf(body, sizeof body, "{\"period\":\"%s\"}", near);
    r = api_send_json("POST", "/v1/forecasts", ws.write, body);
    ck_assert_msg(r->status == 201, "POST /v1/forecasts %s: %ld %s", near, r->status, r->body);
    api_resp_free(r);
}
END_TEST

Suite *forecasts_suite(void)
{
    Suite *s = suite_create("forecasts");
    TCase *tc = tcase_create("stored");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, forecasts_from_stored_deals);
    tcase_add_test(tc, dashboard_accuracy_from_stored_forecasts);
    tcase_add_test(tc, forecasts_reach_at_most_five_years_ahead);
    suite_add_tcase(s, tc);
    return s;
}

/* test_scenario.c - revenue plan (seed revenue-plan.yaml), bear/base/bull
 * presets with deltas, tornado. Expected numbers are worked by hand in
 * docs/planning.md ("worked example"). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

#define USD(x) ((money_t)(x)*100)

/* FY2026: end at $20M ARR with $5M new business and $2.5M expansion; 20%
 * gross churn implies starting ARR (20 - 5 - 2.5) / 0.8 = $15.625M. */
static scenario_input example(void)
{
    scenario_input in;
    memset(&in, 0, sizeof in);
    in.fiscal_year = 2026;
    in.targets = (scenario_targets){USD(20000000), USD(5000000), USD(2500000)};
    in.assumptions = (scenario_assumptions){
        .gross_churn_rate = 0.20,
        .expansion_rate = 0.16, /* 2.5M / 15.625M */
        .avg_new_deal_size = USD(50000),
        .avg_expansion_deal_size = USD(25000),
        .new_win_rate = 0.20,
        .expansion_win_rate = 0.50,
        .avg_sales_cycle_new = 90,
        .avg_sales_cycle_expansion = 45,
        .sql_to_opp_rate = 0.50,
        .mql_to_sql_rate = 0.25,
    };
    in.quota_per_ae = USD(600000);
    in.expected_attainment = 0.70;
    in.current_aes = 8;
    capacity_assumptions_default(in.quota_per_ae, in.expected_attainment, &in.ramp);
    in.fy_start = caldate_from_ymd(2026, 1, 1);
    return in;
}

START_TEST(base_plan)
{
    scenario_input in = example();
    scenario_plan p;
    scenario_error err;
    ck_assert_int_eq(scenario_plan_compute(&in, &p, &err), 0);
    ck_assert_int_eq(p.derived.starting_arr, USD(15625000));
    ck_assert_int_eq(p.derived.churn_arr, USD(3125000));
    ck_assert_int_eq(p.derived.new_deals_needed, 100);          /* 5M / 50K */
    ck_assert_int_eq(p.derived.opps_needed, 500);               /* 100 / 20% */
    ck_assert_int_eq(p.derived.sqls_needed, 1000);              /* 500 / 50% */
    ck_assert_int_eq(p.derived.mqls_needed, 4000);              /* 1000 / 25% */
    ck_assert_int_eq(p.derived.pipeline_needed, USD(25000000)); /* 500 x 50K */
    ck_assert_int_eq(p.derived.expansion_deals_needed, 100);
    ck_assert_int_eq(p.derived.expansion_opps_needed, 200);
    ck_assert_int_eq(p.derived.expansion_pipeline_needed, USD(5000000));
    /* seed: $5M / ($600K x 70%) = 12 */
    ck_assert_int_eq(p.capacity.aes_at_full_ramp, 12);
    ck_assert_int_eq(p.capacity.productive_capacity, USD(3360000)); /* 8 x 420K */
    ck_assert_int_eq(p.capacity.gap, USD(1640000));
    /* a day-one hire adds 420K x 8.25/12 = 288,750: ceil(1.64M / 288,750) = 6 */
    ck_assert_int_eq(p.capacity.hires_needed, 6);
    ck_assert(p.capacity.gap_closable);
    /* the projection of the plan itself is the plan */
    ck_assert_int_eq(p.projection.new_business, USD(5000000));
    ck_assert_int_eq(p.projection.expansion, USD(2500000));
    ck_assert_int_eq(p.projection.ending_arr, USD(20000000));
    ck_assert_int_eq(p.projection.vs_target, 0);
}
END_TEST

START_TEST(bear_base_bull)
{
    scenario_input in = example();
    scenario_def defs[3];
    scenario_preset(SCENARIO_BEAR, &defs[0]);
    scenario_preset(SCENARIO_BASE, &defs[1]);
    scenario_preset(SCENARIO_BULL, &defs[2]);
    scenario_result r[3];
    scenario_error err;
    ck_assert_int_eq(scenario_compare(&in, defs, 3, r, &err), 0);

    ck_assert_str_eq(r[0].name, "bear");
    ck_assert_double_eq(r[0].confidence, 0.70);
    ck_assert_str_eq(r[0].actions, "Reduce hiring, focus on expansion, cut discretionary");
    ck_assert_str_eq(r[1].actions, "Execute plan");
    ck_assert_str_eq(r[2].actions, "Accelerate hiring, invest in new channels");

    /* bear: targets -20%, win 15%, cycle 105 days, churn 22% */
    const scenario_plan *b = &r[0].plan;
    ck_assert_int_eq(b->targets.new_business, USD(4000000));
    ck_assert_int_eq(b->targets.expansion, USD(2000000));
    ck_assert_int_eq(b->derived.churn_arr, USD(3437500));
    ck_assert_int_eq(b->targets.total_arr_target, USD(18187500)); /* 20M - 1M - 0.5M - 312.5K more churn */
    ck_assert_int_eq(b->derived.new_deals_needed, 80);
    ck_assert_int_eq(b->derived.opps_needed, 534); /* ceil(80 / 15%) */
    ck_assert_int_eq(b->derived.sqls_needed, 1068);
    ck_assert_int_eq(b->derived.mqls_needed, 4272);
    ck_assert_int_eq(b->derived.pipeline_needed, USD(26700000));
    ck_assert_int_eq(b->capacity.aes_at_full_ramp, 10);
    ck_assert_int_eq(b->capacity.hires_needed, 3); /* ceil(640K / 288,750) */
    /* the base's MQLs at 15% win and 105-day cycle: 5M x .75 x 260/275 */
    ck_assert_int_eq(b->projection.new_business, 354545455);
    ck_assert_int_eq(b->projection.expansion, USD(2500000));
    ck_assert_int_eq(b->projection.ending_arr, 1823295455);
    ck_assert_int_eq(b->projection.vs_target, 4545455);
    ck_assert_int_eq(r[0].delta.capacity.hires_needed, -3); /* "reduce hiring" */
    ck_assert_int_eq(r[0].delta.projection.ending_arr, 1823295455 - USD(20000000));

    /* base: an empty adjustment changes nothing */
    scenario_plan zero;
    memset(&zero, 0, sizeof zero);
    ck_assert_int_eq(memcmp(&r[1].delta, &zero, sizeof zero), 0);

    /* bull: targets +20%, win 25%, cycle 80 days, expansion rate x1.1 */
    const scenario_plan *u = &r[2].plan;
    ck_assert_int_eq(u->targets.total_arr_target, USD(21500000));
    ck_assert_int_eq(u->derived.opps_needed, 480);
    ck_assert_int_eq(u->derived.pipeline_needed, USD(24000000));
    ck_assert_int_eq(u->capacity.aes_at_full_ramp, 15);
    ck_assert_int_eq(u->capacity.hires_needed, 10);          /* ceil(2.64M / 288,750): "accelerate hiring" */
    ck_assert_int_eq(u->projection.new_business, 647727273); /* 5M x 1.25 x 285/275 */
    ck_assert_int_eq(u->projection.expansion, USD(2750000));
    ck_assert_int_eq(u->projection.ending_arr, 2172727273);
    ck_assert_int_eq(r[2].delta.capacity.hires_needed, 4);
    ck_assert_double_eq_tol(r[2].delta.assumptions.new_win_rate, 0.05, 1e-12);
    ck_assert_double_eq_tol(r[2].delta.assumptions.avg_sales_cycle_new, -10, 1e-12);
}
END_TEST

START_TEST(empty_adjustment_zero_delta)
{
    scenario_input in = example();
    scenario_plan base, same, delta, zero;
    scenario_error err;
    memset(&zero, 0, sizeof zero);
    ck_assert_int_eq(scenario_plan_compute(&in, &base, &err), 0);
    ck_assert_int_eq(scenario_apply(&in, NULL, 0, &same, &err), 0);
    scenario_plan_diff(&same, &base, &delta);
    ck_assert_int_eq(memcmp(&delta, &zero, sizeof zero), 0);
    /* identity adjustments too: +0, x1, set to the same value */
    scenario_adjustment id[] = {{SF_NEW_WIN_RATE, SCENARIO_ADD, 0},
                                {SF_NEW_BUSINESS, SCENARIO_MUL, 1},
                                {SF_AVG_SALES_CYCLE_NEW, SCENARIO_SET, 90}};
    ck_assert_int_eq(scenario_apply(&in, id, 3, &same, &err), 0);
    scenario_plan_diff(&same, &base, &delta);
    ck_assert_int_eq(memcmp(&delta, &zero, sizeof zero), 0);
    /* and a real one is not zero */
    scenario_adjustment churn = {SF_GROSS_CHURN_RATE, SCENARIO_ADD, 0.02};
    ck_assert_int_eq(scenario_apply(&in, &churn, 1, &same, &err), 0);
    scenario_plan_diff(&same, &base, &delta);
    ck_assert_int_eq(delta.projection.churn, USD(312500));
    ck_assert_int_eq(delta.projection.ending_arr, -USD(312500));
}
END_TEST

START_TEST(ops_and_clamping)
{
    scenario_input in = example();
    scenario_plan p;
    scenario_error err;
    scenario_adjustment exp_up = {SF_EXPANSION_RATE, SCENARIO_MUL, 1.1}; /* the "expansion x1.1" */
    ck_assert_int_eq(scenario_apply(&in, &exp_up, 1, &p, &err), 0);
    ck_assert_int_eq(p.projection.expansion, USD(2750000));
    scenario_adjustment crash = {SF_NEW_WIN_RATE, SCENARIO_ADD, -0.5};
    ck_assert_int_eq(scenario_apply(&in, &crash, 1, &p, &err), 0);
    ck_assert_double_eq(p.assumptions.new_win_rate, 0.01);
    ck_assert_int_eq(p.derived.opps_needed, 10000);
    scenario_adjustment total = {SF_TOTAL_ARR_TARGET, SCENARIO_SET, (double)USD(25000000)};
    ck_assert_int_eq(scenario_apply(&in, &total, 1, &p, &err), 0);
    ck_assert_int_eq(p.targets.total_arr_target, USD(25000000));
    ck_assert_int_eq(p.projection.vs_target, -USD(5000000));
    ck_assert_int_eq(p.derived.starting_arr, USD(15625000)); /* a fact of the base, not a target */
    scenario_adjustment size = {SF_AVG_NEW_DEAL_SIZE, SCENARIO_ADD, (double)USD(12500)};
    ck_assert_int_eq(scenario_apply(&in, &size, 1, &p, &err), 0);
    ck_assert_int_eq(p.derived.new_deals_needed, 80);
    scenario_adjustment bad = {SF__COUNT, SCENARIO_ADD, 1};
    ck_assert_int_eq(scenario_apply(&in, &bad, 1, &p, &err), -1);
    ck_assert_str_eq(err.field, "adjustments[0]");
    ck_assert_int_eq(scenario_field_parse("avg_sales_cycle_new"), SF_AVG_SALES_CYCLE_NEW);
    ck_assert_str_eq(scenario_field_name(SF_MQL_TO_SQL_RATE), "mql_to_sql_rate");
    ck_assert_int_eq(scenario_field_parse("nope"), -1);
    ck_assert_int_eq(scenario_op_parse("mul"), SCENARIO_MUL);
}
END_TEST

START_TEST(tornado_ending_arr)
{
    scenario_input in = example();
    scenario_tornado_row rows[SF__COUNT];
    scenario_error err;
    int n = scenario_tornado(&in, SCENARIO_OUT_ENDING_ARR, rows, &err);
    ck_assert_int_eq(n, 12);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(rows[i].base, USD(20000000));
        if (i > 0)
            ck_assert_int_ge(rows[i - 1].swing, rows[i].swing);
    }
    /* new win rate 15% .. 25% moves new business 5M x +/-25% */
    ck_assert_int_eq(rows[0].field, SF_NEW_WIN_RATE);
    ck_assert_int_eq(rows[0].swing, USD(2500000));
    ck_assert_int_eq(rows[0].low, USD(18750000)); /* 20M - 1.25M */
    ck_assert_int_eq(rows[0].high, USD(21250000));
    ck_assert_int_eq(rows[1].field, SF_MQL_TO_SQL_RATE); /* 20% .. 30% of 25% */
    ck_assert_int_eq(rows[1].swing, USD(2000000));
    /* churn +/-2 pts of 15.625M, higher churn = lower ARR */
    for (int i = 0; i < n; i++) {
        if (rows[i].field == SF_GROSS_CHURN_RATE) {
            ck_assert_int_eq(rows[i].swing, USD(625000));
            ck_assert_int_gt(rows[i].low, rows[i].high);
        }
        if (rows[i].field == SF_QUOTA_PER_AE)
            ck_assert_int_eq(rows[i].swing, 0); /* capacity does not cap the projection */
    }
}
END_TEST

/* The tornado around the bear scenario: its own ending ARR is the centre and
 * the win-rate step moves the bear's 15% to 10% .. 20%. */
START_TEST(tornado_at_scenario)
{
    scenario_input in = example();
    scenario_def bear;
    scenario_preset(SCENARIO_BEAR, &bear);
    scenario_tornado_row rows[SF__COUNT], plain[SF__COUNT];
    scenario_error err;
    ck_assert_int_eq(scenario_tornado_at(&in, bear.adjust, bear.nadjust, SCENARIO_OUT_ENDING_ARR, rows, &err), 12);
    ck_assert_int_eq(rows[0].base, 1823295455);
    ck_assert_int_eq(rows[0].field, SF_NEW_WIN_RATE);
    /* 5M x (10% or 20%) / 20% x 260/275: 2,363,636.36 .. 4,727,272.73 of new business */
    ck_assert_int_eq(rows[0].low, USD(15625000) - 343750000 + 236363636 + USD(2500000));
    ck_assert_int_eq(rows[0].high, USD(15625000) - 343750000 + 472727273 + USD(2500000));
    ck_assert_int_eq(rows[0].swing, 236363637);
    /* no adjustments: the plain tornado, byte for byte */
    ck_assert_int_eq(scenario_tornado_at(&in, NULL, 0, SCENARIO_OUT_ENDING_ARR, rows, &err), 12);
    ck_assert_int_eq(scenario_tornado(&in, SCENARIO_OUT_ENDING_ARR, plain, &err), 12);
    ck_assert_int_eq(memcmp(rows, plain, 12 * sizeof rows[0]), 0);
    ck_assert_int_eq(
        scenario_tornado_at(&in, bear.adjust, SCENARIO_MAX_ADJUSTMENTS + 1, SCENARIO_OUT_ENDING_ARR, rows, &err), -1);
}
END_TEST

/* A funnel whose counts leave any sane range is refused, not overflowed:
 * 10^14 one-cent deals at a 0.01% win rate and 0.01% conversions. */
START_TEST(absurd_funnel_refused)
{
    scenario_input in = example();
    in.targets = (scenario_targets){0, USD(1000000000000), 0};
    in.assumptions.avg_new_deal_size = 1;
    in.assumptions.new_win_rate = 1e-4;
    in.assumptions.sql_to_opp_rate = 1e-4;
    in.assumptions.mql_to_sql_rate = 1e-4;
    scenario_plan p;
    scenario_error err;
    ck_assert_int_eq(scenario_plan_compute(&in, &p, &err), -1);
    ck_assert_str_eq(err.field, "derived");
    in.assumptions.sql_to_opp_rate = 1; /* 10^18 opportunities: still refused */
    in.assumptions.mql_to_sql_rate = 1;
    ck_assert_int_eq(scenario_plan_compute(&in, &p, &err), -1);
}
END_TEST

START_TEST(tornado_hires)
{
    scenario_input in = example();
    scenario_tornado_row rows[SF__COUNT];
    scenario_error err;
    ck_assert_int_eq(scenario_tornado(&in, SCENARIO_OUT_HIRES_NEEDED, rows, &err), 12);
    ck_assert_int_eq(rows[0].base, 6);
    /* only quota and attainment move the hires */
    ck_assert(rows[0].field == SF_QUOTA_PER_AE || rows[0].field == SF_EXPECTED_ATTAINMENT);
    ck_assert_int_gt(rows[0].low, rows[0].high); /* lower quota, more hires */
    ck_assert_int_eq(rows[2].swing, 0);
}
END_TEST

START_TEST(invalid_input)
{
    scenario_input in = example();
    scenario_plan p;
    scenario_error err;
    in.assumptions.new_win_rate = 0;
    ck_assert_int_eq(scenario_plan_compute(&in, &p, &err), -1);
    ck_assert_str_eq(err.field, "assumptions.new_win_rate");
    in = example();
    in.targets.total_arr_target = USD(1000000); /* below new + expansion */
    ck_assert_int_eq(scenario_plan_compute(&in, &p, &err), -1);
    ck_assert_str_eq(err.field, "targets.total_arr_target");
    in = example();
    in.starting_arr = USD(10000000); /* explicit starting ARR overrides the implied one */
    ck_assert_int_eq(scenario_plan_compute(&in, &p, &err), 0);
    ck_assert_int_eq(p.projection.ending_arr, USD(15500000)); /* 10 - 2 + 5 + 2.5 */
    ck_assert_int_eq(p.projection.vs_target, -USD(4500000));
    in = example();
    in.targets.new_business = 0; /* expansion-only plan: nothing for AEs to do */
    ck_assert_int_eq(scenario_plan_compute(&in, &p, &err), 0);
    ck_assert_int_eq(p.derived.opps_needed, 0);
    ck_assert_int_eq(p.capacity.aes_at_full_ramp, 0);
    ck_assert_int_eq(p.capacity.hires_needed, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("scenario");
    TCase *tc = tcase_create("scenario");
    tcase_add_test(tc, base_plan);
    tcase_add_test(tc, bear_base_bull);
    tcase_add_test(tc, empty_adjustment_zero_delta);
    tcase_add_test(tc, ops_and_clamping);
    tcase_add_test(tc, tornado_ending_arr);
    tcase_add_test(tc, tornado_hires);
    tcase_add_test(tc, tornado_at_scenario);
    tcase_add_test(tc, absurd_funnel_refused);
    tcase_add_test(tc, invalid_input);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

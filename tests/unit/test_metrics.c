/* test_metrics.c - the seed's worked examples and the metric bands, exactly. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "metrics.h"

#define USD(x) ((money_t)((x)*100LL))

START_TEST(seed_velocity_is_6250_per_day)
{
    money_t v;
    ck_assert(metrics_velocity(50, 0.25, USD(30000), 60, &v));
    ck_assert_int_eq(v, USD(6250));
    ck_assert(!metrics_velocity(50, 0.25, USD(30000), 0, &v));
}
END_TEST

START_TEST(seed_required_pipeline_4x)
{
    money_t req;
    ck_assert(metrics_required_pipeline(USD(1000000), 0.25, &req));
    ck_assert_int_eq(req, USD(4000000));
    ck_assert(!metrics_required_pipeline(USD(1000000), 0, &req));
    metrics_open_deal d[] = {{USD(2500000), 0.5, caldate_from_ymd(2026, 3, 1)},
                             {USD(1500000), 0.1, caldate_from_ymd(2026, 1, 1)}};
    metrics_pipeline p;
    metrics_pipeline_compute(d, 2, USD(1000000), caldate_from_ymd(2026, 2, 15), &p);
    ck_assert_int_eq(p.total, USD(4000000));
    ck_assert_int_eq(p.weighted, USD(1400000));
    ck_assert(p.coverage.ok);
    ck_assert(fabs(p.coverage.value - 4.0) < 1e-12);
    ck_assert_int_eq(p.coverage.status, STATUS_GREEN);
    ck_assert(fabs(p.weighted_coverage.value - 1.4) < 1e-12);
    ck_assert_int_eq(p.weighted_coverage.status, STATUS_YELLOW);
    /* second deal is 45 days past its close date: counted at 50% */
    ck_assert_int_eq(p.age_adjusted, USD(2500000) + USD(750000));
}
END_TEST

/* The dashboard's and the coverage_below alert's one definition: pipeline in
 * the period / remaining quota, banded at the seed's 3x minimum and 2x. */
START_TEST(coverage_bands_at_the_seed_minimum)
{
    metric_value c = metrics_coverage(USD(450000), USD(160000));
    ck_assert(c.ok);
    ck_assert_double_eq(c.value, 2.8125);
    ck_assert_int_eq(c.status, STATUS_YELLOW);
    ck_assert_str_eq(c.band, "thin");
    c = metrics_coverage(USD(300000), USD(100000));
    ck_assert_double_eq(c.value, 3);
    ck_assert_int_eq(c.status, STATUS_GREEN); /* 3x is the minimum, met */
    c = metrics_coverage(USD(199999), USD(100000));
    ck_assert_int_eq(c.status, STATUS_RED);
    ck_assert_str_eq(c.band, "insufficient");
    ck_assert(!metrics_coverage(USD(100), 0).ok); /* nothing left to cover */
    ck_assert_double_eq(METRICS_COVERAGE_MIN, 3.0);
}
END_TEST

START_TEST(age_factor_boundaries)
{
    caldate_t close = caldate_from_ymd(2026, 1, 1);
    ck_assert(metrics_age_factor(close, close - 10) == 1.0); /* not due yet */
    ck_assert(metrics_age_factor(close, close + 29) == 1.0);
    ck_assert(metrics_age_factor(close, close + 30) == 0.5);
    ck_assert(metrics_age_factor(close, close + 59) == 0.5);
    ck_assert(metrics_age_factor(close, close + 60) == 0.25);
}
END_TEST

START_TEST(mape_grading_bands)
{
    ck_assert_int_eq(metrics_mape_grade(0), GRADE_EXCELLENT);
    ck_assert_int_eq(metrics_mape_grade(9.99), GRADE_EXCELLENT);
    ck_assert_int_eq(metrics_mape_grade(10), GRADE_GOOD);
    ck_assert_int_eq(metrics_mape_grade(14.99), GRADE_GOOD);
    ck_assert_int_eq(metrics_mape_grade(15), GRADE_NEEDS_WORK);
    ck_assert_int_eq(metrics_mape_grade(25), GRADE_NEEDS_WORK);
    ck_assert_int_eq(metrics_mape_grade(25.01), GRADE_BROKEN);
    ck_assert_str_eq(mape_grade_name(GRADE_NEEDS_WORK), "needs_work");
}
END_TEST

START_TEST(mape_and_bias_by_group)
{
    metrics_forecast_pair p[] = {
        {0, USD(90), USD(100)},  /* rep 0 under-forecasts by 10% */
        {0, USD(130), USD(100)}, /* then over by 30% */
        {1, USD(500), USD(500)}, /* rep 1 is perfect */
        {1, USD(10), 0},         /* actual 0: undefined, skipped */
    };
    metrics_accuracy a[2];
    metrics_accuracy_compute(p, 4, 2, a);
    ck_assert_int_eq(a[0].periods, 2);
    ck_assert(fabs(a[0].mape_pct - 20.0) < 1e-9);
    ck_assert(fabs(a[0].bias_pct - 10.0) < 1e-9);
    ck_assert_int_eq(a[0].abs_error, USD(40));
    ck_assert_int_eq(a[0].grade, GRADE_NEEDS_WORK);
    ck_assert_int_eq(a[1].periods, 1);
    ck_assert(a[1].mape_pct == 0.0); /* a perfect forecast has MAPE 0 */
    ck_assert_int_eq(a[1].grade, GRADE_EXCELLENT);
}
END_TEST

START_TEST(retention_and_unit_economics)
{
    metric_value nrr = metrics_nrr(USD(1000000), USD(200000), USD(50000), USD(30000));
    ck_assert(fabs(nrr.value - 1.12) < 1e-12);
    ck_assert_str_eq(nrr.band, "good"); /* 112%: good is 105%+, great 115%+ */
    ck_assert_int_eq(nrr.status, STATUS_GREEN);
    ck_assert_str_eq(metrics_nrr(USD(100), USD(15), 0, 0).band, "great");
    ck_assert_int_eq(metrics_nrr(USD(100), 0, USD(1), 0).status, STATUS_RED);         /* 99%: shrinking */
    ck_assert_int_eq(metrics_nrr(USD(100), USD(2), USD(1), 0).status, STATUS_YELLOW); /* 101% */
    metric_value grr = metrics_grr(USD(1000000), USD(50000), USD(30000));
    ck_assert(fabs(grr.value - 0.92) < 1e-12);
    ck_assert_str_eq(grr.band, "great");
    ck_assert(!metrics_nrr(0, 1, 1, 1).ok);

    money_t cac, ltv;
    ck_assert(metrics_cac(USD(300000), 25, &cac));
    ck_assert_int_eq(cac, USD(12000));
    ck_assert(metrics_ltv(USD(1000), 0.8, 0.02, &ltv));
    ck_assert_int_eq(ltv, USD(40000));
    metric_value lc = metrics_ltv_cac(ltv, cac);
    ck_assert(fabs(lc.value - 40000.0 / 12000.0) < 1e-12);
    ck_assert_int_eq(lc.status, STATUS_GREEN);
    ck_assert_int_eq(metrics_ltv_cac(USD(3), USD(1)).status, STATUS_YELLOW); /* exactly 3:1 is not > 3:1 */
    ck_assert_int_eq(metrics_ltv_cac(USD(1), USD(2)).status, STATUS_RED);
    metric_value pb = metrics_cac_payback(cac, USD(1000), 0.8);
    ck_assert(fabs(pb.value - 15.0) < 1e-12);
    ck_assert_str_eq(pb.band, "good");
    ck_assert_int_eq(metrics_cac_payback(USD(24000), USD(1000), 1.0).status, STATUS_RED); /* 24 months */
}
END_TEST

START_TEST(efficiency_bands)
{
    ck_assert_int_eq(metrics_magic_number(USD(75), USD(100)).status, STATUS_YELLOW); /* "> 0.75" is strict */
    ck_assert_str_eq(metrics_magic_number(USD(76), USD(100)).band, "good");
    ck_assert_str_eq(metrics_magic_number(USD(101), USD(100)).band, "great");
    ck_assert_int_eq(metrics_magic_number(USD(40), USD(100)).status, STATUS_RED);
    metric_value bm = metrics_burn_multiple(USD(3000000), USD(2000000));
    ck_assert(fabs(bm.value - 1.5) < 1e-12);
    ck_assert_str_eq(bm.band, "good"); /* great is < 1.5 */
    ck_assert_str_eq(metrics_burn_multiple(USD(900), USD(1000)).band, "elite");
    metric_value neg = metrics_burn_multiple(USD(100), USD(-5));
    ck_assert(!neg.ok);
    ck_assert_int_eq(neg.status, STATUS_RED);
}
END_TEST

START_TEST(waterfall_adds_up_to_the_cent)
{
    caldate_t q1 = caldate_from_ymd(2026, 1, 1), q2 = caldate_from_ymd(2026, 4, 1);
    metrics_account_move m[] = {
        {0, {caldate_from_ymd(2025, 6, 1), ARR_NEW, 1000001}}, /* $10,000.01 before the quarter */
        {1, {caldate_from_ymd(2025, 7, 1), ARR_NEW, 500000}},
        {2, {caldate_from_ymd(2025, 8, 1), ARR_NEW, 250033}},
        {0, {caldate_from_ymd(2026, 1, 5), ARR_EXPANSION, 333333}},
        {1, {caldate_from_ymd(2026, 2, 5), ARR_CHURN, 500000}},
        {2, {caldate_from_ymd(2026, 3, 5), ARR_CONTRACTION, 50011}},
        {3, {caldate_from_ymd(2026, 3, 31), ARR_NEW, 77777}},
        {4, {caldate_from_ymd(2026, 4, 1), ARR_NEW, 99999}}, /* next quarter: ignored */
    };
    money_t s1[5], s2[5];
    metrics_waterfall w;
    ck_assert_int_eq(metrics_waterfall_compute(m, 8, 5, q1, q2, s1, s2, &w), 0);
    ck_assert_int_eq(w.starting, 1000001 + 500000 + 250033);
    ck_assert_int_eq(w.new_business, 77777);
    ck_assert_int_eq(w.expansion, 333333);
    ck_assert_int_eq(w.churn, 500000);
    ck_assert_int_eq(w.contraction, 50011);
    ck_assert_int_eq(w.ending, w.starting + w.new_business + w.expansion + w.reactivation - w.contraction - w.churn);
    ck_assert_int_eq(w.ending, 1000001 + 333333 + 250033 - 50011 + 77777);
    ck_assert_int_eq(w.logos_start, 3);
    ck_assert_int_eq(w.logos_churned, 1);
    ck_assert_int_eq(w.logos_new, 1);
    metrics_account_move bad = {7, {q1, ARR_NEW, 1}};
    ck_assert_int_eq(metrics_waterfall_compute(&bad, 1, 5, q1, q2, s1, s2, &w), -1);
}
END_TEST

/* The seed's GTM-efficiency table: tier edges (the lower bound belongs to
 * the tier: $10K is "$10-50K") and each comparison at its boundaries. */
START_TEST(gtm_efficiency_by_acv_tier)
{
    ck_assert_str_eq(metrics_acv_tier_of(USD(999.99))->acv, "<$1K");
    ck_assert_str_eq(metrics_acv_tier_of(USD(1000))->acv, "$1-10K");
    ck_assert_str_eq(metrics_acv_tier_of(USD(9999.99))->acv, "$1-10K");
    ck_assert_str_eq(metrics_acv_tier_of(USD(10000))->acv, "$10-50K");
    ck_assert_str_eq(metrics_acv_tier_of(USD(99999))->motion, "Field sales");
    ck_assert_str_eq(metrics_acv_tier_of(USD(100000))->acv, "$100K+");
    ck_assert_str_eq(metrics_acv_tier_of(USD(5000000))->target_payback, "<24 months");
    const metrics_acv_tier *t = metrics_acv_tier_of(USD(20000)); /* $10-50K: CAC $10-25K, < 12 months, 40-60% */
    ck_assert_str_eq(metrics_tier_cac(USD(25000), t).band, "typical");
    ck_assert_int_eq(metrics_tier_cac(USD(25000.01), t).status, STATUS_YELLOW);
    ck_assert_int_eq(metrics_tier_cac(USD(37500), t).status, STATUS_YELLOW);
    ck_assert_str_eq(metrics_tier_cac(USD(37500.01), t).band, "far above typical");
    ck_assert_int_eq(metrics_tier_payback(11.99, t).status, STATUS_GREEN);
    ck_assert_str_eq(metrics_tier_payback(12, t).band, "over target"); /* "<12 months" is strict */
    ck_assert_int_eq(metrics_tier_payback(17.99, t).status, STATUS_YELLOW);
    ck_assert_int_eq(metrics_tier_payback(18, t).status, STATUS_RED);
    metric_value sm = metrics_tier_sm_share(USD(60), USD(100), t);
    ck_assert_str_eq(sm.band, "in range");
    ck_assert_double_eq(sm.value, 0.6);
    ck_assert_str_eq(metrics_tier_sm_share(USD(39.99), USD(100), t).band, "below range");
    ck_assert_int_eq(metrics_tier_sm_share(USD(39.99), USD(100), t).status, STATUS_GREEN);
    ck_assert_int_eq(metrics_tier_sm_share(USD(60.01), USD(100), t).status, STATUS_YELLOW);
    ck_assert_int_eq(metrics_tier_sm_share(USD(70), USD(100), t).status, STATUS_YELLOW);
    ck_assert_str_eq(metrics_tier_sm_share(USD(70.01), USD(100), t).band, "far above range");
    ck_assert(!metrics_tier_sm_share(USD(10), 0, t).ok);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("seed");
    tcase_add_test(tc, seed_velocity_is_6250_per_day);
    tcase_add_test(tc, gtm_efficiency_by_acv_tier);
    tcase_add_test(tc, seed_required_pipeline_4x);
    tcase_add_test(tc, coverage_bands_at_the_seed_minimum);
    tcase_add_test(tc, age_factor_boundaries);
    tcase_add_test(tc, mape_grading_bands);
    tcase_add_test(tc, mape_and_bias_by_group);
    tcase_add_test(tc, retention_and_unit_economics);
    tcase_add_test(tc, efficiency_bands);
    tcase_add_test(tc, waterfall_adds_up_to_the_cent);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

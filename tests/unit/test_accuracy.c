/* test_accuracy.c - horizons, which forecast counts, per-forecast error, and
 * the close date assumed for deals without one, exactly. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "accuracy.h"
#include "forecast.h"
#include "metrics.h"

#define USD(x) ((money_t)((x)*100LL))
#define D(y, m, d) caldate_from_ymd(y, m, d)

START_TEST(cutoffs_of_a_quarter)
{
    caldate_t s = D(2026, 4, 1), e = D(2026, 7, 1);
    ck_assert_int_eq(accuracy_cutoff(ACC_PERIOD_START, s, e), D(2026, 4, 1));
    ck_assert_int_eq(accuracy_cutoff(ACC_LEAD_90, s, e), D(2026, 4, 2)); /* 91-day quarter */
    ck_assert_int_eq(accuracy_cutoff(ACC_LEAD_60, s, e), D(2026, 5, 2));
    ck_assert_int_eq(accuracy_cutoff(ACC_LEAD_30, s, e), D(2026, 6, 1));
    ck_assert_str_eq(accuracy_horizon_name(ACC_LEAD_60), "lead_60d");
    ck_assert_str_eq(accuracy_horizon_name(ACC__HORIZONS), "");
}
END_TEST

START_TEST(the_latest_forecast_made_by_the_cutoff_counts)
{
    accuracy_candidate c[] = {{D(2026, 3, 31), 1}, {D(2026, 4, 15), 2}, {D(2026, 3, 31), 3}, {D(2026, 3, 1), 4}};
    ck_assert_int_eq(accuracy_pick(c, 4, D(2026, 4, 1)), 2);  /* same day: the later one */
    ck_assert_int_eq(accuracy_pick(c, 4, D(2026, 3, 31)), 2); /* on the cutoff day counts */
    ck_assert_int_eq(accuracy_pick(c, 4, D(2026, 3, 30)), 3);
    ck_assert_int_eq(accuracy_pick(c, 4, D(2026, 6, 1)), 1);
    ck_assert_int_eq(accuracy_pick(c, 4, D(2026, 2, 1)), -1);
    ck_assert_int_eq(accuracy_pick(c, 0, D(2026, 6, 1)), -1);
}
END_TEST

START_TEST(error_ape_and_bias)
{
    accuracy_point p = accuracy_point_of(USD(10500), USD(13000));
    ck_assert_int_eq(p.error, -USD(2500));
    ck_assert(p.defined);
    ck_assert(fabs(p.ape_pct - 2500.0 / 13000 * 100) < 1e-12);
    ck_assert(fabs(p.bias_pct + 2500.0 / 13000 * 100) < 1e-12);
    ck_assert_str_eq(accuracy_direction(p.bias_pct), "under");
    p = accuracy_point_of(USD(9000), USD(8000));
    ck_assert(p.ape_pct == 12.5 && p.bias_pct == 12.5);
    ck_assert_str_eq(accuracy_direction(p.bias_pct), "over");
    p = accuracy_point_of(USD(500), 0); /* nothing won: only the error */
    ck_assert(!p.defined);
    ck_assert_int_eq(p.error, USD(500));
    ck_assert_str_eq(accuracy_direction(0), "even");
    /* over periods, metrics_accuracy_compute: ann's calls +12.5% and +25% */
    metrics_forecast_pair pairs[] = {{0, USD(9000), USD(8000)}, {0, USD(5000), USD(4000)}, {0, USD(100), 0}};
    metrics_accuracy a;
    metrics_accuracy_compute(pairs, 3, 1, &a);
    ck_assert_int_eq(a.periods, 2);
    ck_assert(a.mape_pct == 18.75 && a.bias_pct == 18.75);
    ck_assert_int_eq(a.grade, GRADE_NEEDS_WORK);
}
END_TEST

START_TEST(close_date_from_the_won_stage_durations)
{
    int days[] = {10, 20, 30, 40, 50, 60};
    forecast_stage_history h = {.reached = 10, .won = 6, .won_days = days, .nwon_days = 6};
    caldate_t as_of = D(2026, 4, 1);
    /* new in the stage: median of all six = (30 + 40) / 2 = 35 days from entry */
    ck_assert_int_eq(forecast_estimate_close(&h, as_of, as_of), as_of + 35);
    /* unknown entry counts as as_of */
    ck_assert_int_eq(forecast_estimate_close(&h, FORECAST_NO_DATE, as_of), as_of + 35);
    /* 25 days in: the won deals that took 25+ days (30, 40, 50, 60): median 45
     * from entry */
    ck_assert_int_eq(forecast_estimate_close(&h, as_of - 25, as_of), as_of - 25 + 45);
    /* 41 days in: 50, 60 -> 55; 60 days in: just 60 */
    ck_assert_int_eq(forecast_estimate_close(&h, as_of - 41, as_of), as_of - 41 + 55);
    ck_assert_int_eq(forecast_estimate_close(&h, as_of - 60, as_of), as_of);
    /* older than every won deal, or no history: no date */
    ck_assert_int_eq(forecast_estimate_close(&h, as_of - 61, as_of), FORECAST_NO_DATE);
    ck_assert_int_eq(forecast_estimate_close(NULL, as_of, as_of), FORECAST_NO_DATE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("accuracy");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, cutoffs_of_a_quarter);
    tcase_add_test(tc, the_latest_forecast_made_by_the_cutoff_counts);
    tcase_add_test(tc, error_ape_and_bias);
    tcase_add_test(tc, close_date_from_the_won_stage_durations);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

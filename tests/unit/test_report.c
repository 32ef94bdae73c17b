/* test_report.c - the reports' trend, movers, verdict and Tier-2 bands, exactly. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define USD(x) ((money_t)((x)*100LL))

START_TEST(trend_and_arrow)
{
    report_figure up = {true, true, 1.10, 1.00, true}, down = {true, true, 0.9, 1.0, true};
    report_figure flat = {true, true, 3.5, 3.5, true}, missing = {true, false, 1, 0, true};
    ck_assert_str_eq(report_trend(&up), "up");
    ck_assert_str_eq(report_trend(&down), "down");
    ck_assert_str_eq(report_trend(&flat), "flat");
    ck_assert_ptr_null(report_trend(&missing));
    ck_assert_str_eq(report_arrow("up"), "↑");
    ck_assert_str_eq(report_arrow("down"), "↓");
    ck_assert_str_eq(report_arrow("flat"), "→");
    ck_assert_str_eq(report_arrow(NULL), "");
    /* lower is better (CAC payback): a fall is an improvement */
    report_figure payback = {true, true, 12, 18, false};
    ck_assert_int_eq(report_direction(&payback), 1);
    ck_assert_int_eq(report_direction(&up), 1);
    ck_assert_int_eq(report_direction(&down), -1);
    ck_assert_int_eq(report_direction(&flat), 0);
    ck_assert_int_eq(report_direction(&missing), 0);
    /* |18 - 12| / 18 */
    ck_assert_double_eq_tol(report_move_size(&payback), 1.0 / 3.0, 1e-12);
    /* from 0: the move is the whole value (1), not infinite */
    report_figure from0 = {true, true, 5000, 0, true};
    ck_assert_double_eq(report_move_size(&from0), 1.0);
}
END_TEST

START_TEST(movers_rank_by_size)
{
    report_figure f[] = {
        {true, true, 1.2, 1.0, true}, /* better, 1/6 */
        {true, true, 0.5, 1.0, true}, /* worse, 1/2 */
        {true, true, 10, 20, false},  /* better, 1/2 */
        {true, true, 3, 3, true},     /* flat */
        {true, false, 3, 0, true},    /* unknown */
        {true, true, 0.9, 1.0, true}, /* worse, 1/10 */
        {true, true, 2.0, 1.0, true}, /* better, 1/2: ties keep index order after 2 */
    };
    size_t b[7], w[7], nb, nw;
    report_movers(f, 7, b, &nb, w, &nw);
    ck_assert_uint_eq(nb, 3);
    ck_assert_uint_eq(b[0], 2);
    ck_assert_uint_eq(b[1], 6);
    ck_assert_uint_eq(b[2], 0);
    ck_assert_uint_eq(nw, 2);
    ck_assert_uint_eq(w[0], 1);
    ck_assert_uint_eq(w[1], 5);
}
END_TEST

START_TEST(will_we_hit_the_number)
{
    ck_assert_int_eq(report_will_hit(true, USD(1000000), USD(1000000), USD(1200000), USD(1400000)), VERDICT_YES);
    ck_assert_int_eq(report_will_hit(true, USD(1000000), USD(999999), USD(1000000), USD(1400000)), VERDICT_LIKELY);
    ck_assert_int_eq(report_will_hit(true, USD(1000000), USD(600000), USD(999999), USD(1000000)), VERDICT_AT_RISK);
    ck_assert_int_eq(report_will_hit(true, USD(1000000), USD(600000), USD(800000), USD(999999)), VERDICT_NO);
    ck_assert_int_eq(report_will_hit(false, USD(1000000), 0, 0, 0), VERDICT_UNKNOWN);
    ck_assert_int_eq(report_will_hit(true, 0, 0, 0, 0), VERDICT_UNKNOWN);
    ck_assert_str_eq(report_verdict_name(VERDICT_AT_RISK), "at_risk");
    ck_assert_str_eq(report_verdict_name(VERDICT_YES), "yes");
}
END_TEST

START_TEST(tier2_bands)
{
    metric_value w = report_win_rate(1, 4); /* 25%: the seed's target, met */
    ck_assert(w.ok);
    ck_assert_double_eq(w.value, 0.25);
    ck_assert_int_eq(w.status, STATUS_GREEN);
    ck_assert_int_eq(report_win_rate(1, 5).status, STATUS_RED);
    ck_assert(!report_win_rate(0, 0).ok);
    /* the seed's "new pipeline created": minimum 1x, healthy 1.5x, optimal 2x */
    ck_assert_str_eq(report_pipeline_creation(USD(200), USD(100)).band, "optimal");
    ck_assert_str_eq(report_pipeline_creation(USD(150), USD(100)).band, "healthy");
    ck_assert_int_eq(report_pipeline_creation(USD(150), USD(100)).status, STATUS_GREEN);
    ck_assert_int_eq(report_pipeline_creation(USD(100), USD(100)).status, STATUS_YELLOW);
    ck_assert_int_eq(report_pipeline_creation(USD(99), USD(100)).status, STATUS_RED);
    ck_assert(!report_pipeline_creation(USD(99), 0).ok);
    ck_assert_int_eq(report_pipeline_target(USD(1000000)), USD(1500000));
    ck_assert_int_eq(report_pipeline_target(333), 500); /* 499.5 cents rounds half away from zero */
}
END_TEST

START_TEST(source_share)
{
    double v = -1;
    ck_assert(report_share(USD(250), USD(1000), &v));
    ck_assert_double_eq(v, 0.25);
    ck_assert(report_share(0, USD(1000), &v));
    ck_assert_double_eq(v, 0.0);
    v = -1;
    ck_assert(!report_share(USD(5), 0, &v)); /* nothing created: no share, and v untouched */
    ck_assert_double_eq(v, -1);
}
END_TEST

START_TEST(team_of_a_quarter)
{
    /* the seed's ramp: months 1-2 0%, 3 25%, 4-5 50%, 6+ 100% */
    const double ramp[] = {0, 0, 0.25, 0.5, 0.5};
    caldate_t qs = caldate_from_ymd(2026, 4, 1), qe = caldate_from_ymd(2026, 7, 1);
    report_rep reps[] = {
        {true, false, caldate_from_ymd(2024, 1, 15), 0},                           /* veteran: 100% */
        {true, false, caldate_from_ymd(2026, 4, 10), 0},                           /* hired: month 3 on 06-30 */
        {true, true, caldate_from_ymd(2025, 1, 1), caldate_from_ymd(2026, 5, 31)}, /* left in the quarter */
        {false, false, 0, 0},                                                      /* no start date */
        {true, false, caldate_from_ymd(2026, 2, 1), 0},                            /* month 5 on 06-30: 50% */
        {true, true, caldate_from_ymd(2025, 1, 1), caldate_from_ymd(2026, 3, 31)}, /* gone before */
    };
    report_team t;
    report_team_compute(reps, 6, qs, qe, ramp, 5, &t);
    ck_assert_int_eq(t.headcount_start, 4); /* veteran, leaver, no-date, Feb hire */
    ck_assert_int_eq(t.headcount_end, 4);   /* veteran, April hire, no-date, Feb hire */
    ck_assert_int_eq(t.hired, 1);
    ck_assert_int_eq(t.departed, 1);
    ck_assert(t.has_attrition);
    ck_assert_double_eq(t.attrition_rate, 0.25);
    ck_assert_int_eq(t.ramping, 2);
    ck_assert_double_eq(t.ramped_equivalent, 1 + 0.25 + 1 + 0.5);
    ck_assert_int_eq(t.without_start, 1);
    report_team_compute(reps, 0, qs, qe, ramp, 5, &t);
    ck_assert(!t.has_attrition);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");
    tcase_add_test(tc, trend_and_arrow);
    tcase_add_test(tc, movers_rank_by_size);
    tcase_add_test(tc, will_we_hit_the_number);
    tcase_add_test(tc, tier2_bands);
    tcase_add_test(tc, source_share);
    tcase_add_test(tc, team_of_a_quarter);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

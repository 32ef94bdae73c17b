/* test_health.c - account health: the score's parts and weights exact, ARR at
 * risk to the cent, each of the seed's expansion rules, churn signals and
 * renewal reminders. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "health.h"

static health_input crafted(void)
{
    /* 90 of 100 seats; 80 active users a day against 100 the month before;
     * 3 of 4 rated tickets satisfied and one urgent open; NPS 2/1/1 */
    return (health_input){.has_seats = true,
                          .seats_used = 90,
                          .seats_limit = 100,
                          .has_active = true,
                          .active_recent = 80,
                          .active_prior = 100,
                          .csat_rated = 4,
                          .csat_satisfied = 3,
                          .urgent_open = 1,
                          .nps_promoters = 2,
                          .nps_passives = 1,
                          .nps_detractors = 1,
                          .has_renewal = true,
                          .days_to_renewal = 45};
}

START_TEST(score_parts_and_weights)
{
    health_input in = crafted();
    health_result h;
    health_compute(&in, &h);
    ck_assert(h.parts[HEALTH_ADOPTION].present);
    ck_assert_double_eq(h.parts[HEALTH_ADOPTION].score, 100);             /* 90% >= 80% */
    ck_assert_double_eq_tol(h.parts[HEALTH_USAGE_TREND].score, 60, 1e-9); /* -20% of the -50% floor */
    ck_assert_double_eq_tol(h.parts[HEALTH_SUPPORT].score, 65, 1e-9);     /* 75% CSAT - 10 */
    ck_assert_double_eq_tol(h.parts[HEALTH_NPS].score, 62.5, 1e-9);       /* NPS 25 */
    /* (30 x 100 + 25 x 60 + 20 x 65 + 25 x 62.5) / 100 = 73.625 */
    ck_assert(h.has_score);
    ck_assert_int_eq(h.score, 74);
    ck_assert_str_eq(h.band, "healthy");
    ck_assert_double_eq_tol(h.risk, 0.26, 1e-12);
    ck_assert_int_eq(health_arr_at_risk(10000000, &h), 2600000);
    /* half the seats, no other data: the present part alone */
    health_input half = {.has_seats = true, .seats_used = 50, .seats_limit = 100};
    health_compute(&half, &h);
    ck_assert_int_eq(h.score, 63); /* 62.5 rounds away from zero */
    ck_assert_str_eq(h.band, "watch");
    /* all detractors */
    health_input det = {.nps_detractors = 3};
    health_compute(&det, &h);
    ck_assert_int_eq(h.score, 0);
    ck_assert_str_eq(h.band, "critical");
    ck_assert_int_eq(health_arr_at_risk(12345, &h), 12345);
    /* nothing known */
    health_input none = {0};
    health_compute(&none, &h);
    ck_assert(!h.has_score);
    ck_assert_int_eq(health_arr_at_risk(12345, &h), 0);
}
END_TEST

START_TEST(usage_decline_lowers_health)
{
    health_input in = {.has_active = true, .active_prior = 100};
    health_result h;
    double last = 101;
    for (int recent = 100; recent >= 40; recent -= 10) {
        in.active_recent = recent;
        health_compute(&in, &h);
        ck_assert(h.score <= last);
        last = h.score;
    }
    ck_assert_int_eq(h.score, 0); /* -60% is past the -50% floor */
    in.active_recent = 75;        /* -25% */
    health_compute(&in, &h);
    ck_assert_int_eq(h.score, 50);
    ck_assert(health_signals_of(&in, &h) & (1u << SIG_USAGE_DECLINE));
}
END_TEST

START_TEST(nps_is_bains)
{
    ck_assert_double_eq(health_nps(5, 3, 2), 30);
    ck_assert_double_eq(health_nps(0, 0, 4), -100);
    ck_assert_double_eq(health_nps(0, 0, 0), 0);
}
END_TEST

static bool fires(const health_input *in, health_signal s)
{
    health_result h;
    health_compute(in, &h);
    return (health_signals_of(in, &h) >> s) & 1u;
}

START_TEST(each_expansion_rule)
{
    health_input in = {0};
    /* seats above 80% of the limit: 81 of 100 yes, 80 no */
    in = (health_input){.has_seats = true, .seats_used = 81, .seats_limit = 100};
    ck_assert(fires(&in, SIG_USAGE_LIMIT));
    in.seats_used = 80;
    ck_assert(!fires(&in, SIG_USAGE_LIMIT));
    /* a new department */
    in = (health_input){.new_departments = 1};
    ck_assert(fires(&in, SIG_NEW_DEPARTMENT));
    in.new_departments = 0;
    ck_assert(!fires(&in, SIG_NEW_DEPARTMENT));
    /* API calls up more than 20% month over month */
    in = (health_input){.has_api = true, .api_recent = 1201, .api_prior = 1000};
    ck_assert(fires(&in, SIG_API_GROWTH));
    in.api_recent = 1200;
    ck_assert(!fires(&in, SIG_API_GROWTH));
    /* a ticket from a new department */
    in = (health_input){.new_ticket_departments = 2};
    ck_assert(fires(&in, SIG_TICKET_DEPARTMENT));
    /* renewal within 90 days and NPS above 0 */
    in = (health_input){.has_renewal = true, .days_to_renewal = 90, .nps_promoters = 2, .nps_detractors = 1};
    ck_assert(fires(&in, SIG_RENEWAL_HEALTHY_NPS));
    in.days_to_renewal = 91;
    ck_assert(!fires(&in, SIG_RENEWAL_HEALTHY_NPS));
    in.days_to_renewal = 30;
    in.nps_detractors = 2;
    ck_assert(!fires(&in, SIG_RENEWAL_HEALTHY_NPS)); /* NPS 0 is not healthy */
    /* 12 months since the last price increase */
    in = (health_input){.has_price_increase = true, .days_since_price_increase = 365};
    ck_assert(fires(&in, SIG_PRICE_REVIEW));
    in.days_since_price_increase = 364;
    ck_assert(!fires(&in, SIG_PRICE_REVIEW));
    ck_assert_str_eq(health_signals[SIG_USAGE_LIMIT].action, "Alert CS + AE, send upgrade nudge");
    ck_assert_str_eq(health_signals[SIG_PRICE_REVIEW].urgency, "low");
}
END_TEST

START_TEST(churn_signals_and_reminders)
{
    health_input in = crafted();
    health_result h;
    health_compute(&in, &h);
    unsigned s = health_signals_of(&in, &h);
    ck_assert(s & (1u << SIG_USAGE_LIMIT));
    ck_assert(s & (1u << SIG_LOW_CSAT));
    ck_assert(s & (1u << SIG_RENEWAL_HEALTHY_NPS));
    ck_assert(!(s & (1u << SIG_USAGE_DECLINE))); /* exactly -20% is not more than 20% */
    ck_assert(!(s & (1u << SIG_CRITICAL_RENEWAL)));
    health_input bad = {.nps_detractors = 1, .has_renewal = true, .days_to_renewal = 10};
    health_compute(&bad, &h);
    s = health_signals_of(&bad, &h);
    ck_assert(s & (1u << SIG_DETRACTORS));
    ck_assert(s & (1u << SIG_CRITICAL_RENEWAL));
    ck_assert_int_eq(health_renewal_reminder(0), 30);
    ck_assert_int_eq(health_renewal_reminder(30), 30);
    ck_assert_int_eq(health_renewal_reminder(31), 60);
    ck_assert_int_eq(health_renewal_reminder(60), 60);
    ck_assert_int_eq(health_renewal_reminder(90), 90);
    ck_assert_int_eq(health_renewal_reminder(91), 0);
    ck_assert_int_eq(health_renewal_reminder(-1), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("health");
    TCase *t = tcase_create("health");
    tcase_add_test(t, score_parts_and_weights);
    tcase_add_test(t, usage_decline_lowers_health);
    tcase_add_test(t, nps_is_bains);
    tcase_add_test(t, each_expansion_rule);
    tcase_add_test(t, churn_signals_and_reminders);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* test_alert.c - the alert delivery schedule (core/alert.c) with exact
 * values, and the signal kinds' table. */
#include <check.h>
#include <stdlib.h>

#include "alert.h"

START_TEST(backoff_doubles_then_caps)
{
    /* base 60 s, no jitter: 48 s (0.8 x 60 s), then doubling */
    ck_assert_int_eq(alert_retry_delay_ms(60000, 1, 0), 48000);
    ck_assert_int_eq(alert_retry_delay_ms(60000, 2, 0), 96000);
    ck_assert_int_eq(alert_retry_delay_ms(60000, 3, 0), 192000);
    /* retry 10 is the first at the cap: 512 x 60 s x 0.8 */
    ck_assert_int_eq(alert_retry_delay_ms(60000, 10, 0), 24576000);
    ck_assert_int_eq(alert_retry_delay_ms(60000, 12, 0), 24576000);
    ck_assert_int_eq(alert_retry_delay_ms(60000, 9, 0), 12288000);
    /* out of range: no delay, no retry */
    ck_assert_int_eq(alert_retry_delay_ms(60000, 0, 0), 0);
    ck_assert_int_eq(alert_retry_delay_ms(60000, 13, 0), 0);
    ck_assert_int_eq(alert_retry_delay_ms(0, 1, 0), 0);
}
END_TEST

START_TEST(jitter_spans_point_eight_to_one_point_two)
{
    /* j = 500: exactly the nominal delay; j = 999: 1.1996 of it */
    ck_assert_int_eq(alert_retry_delay_ms(1000, 1, 500), 1000);
    ck_assert_int_eq(alert_retry_delay_ms(1000, 1, 999), 1199);
    ck_assert_int_eq(alert_retry_delay_ms(10000, 1, 999), 11996);
    ck_assert_int_eq(alert_retry_delay_ms(1000, 4, 250), 7200); /* 8 s x 0.9 */
    /* clamped outside 0..999 */
    ck_assert_int_eq(alert_retry_delay_ms(1000, 1, -5), 800);
    ck_assert_int_eq(alert_retry_delay_ms(1000, 1, 5000), 1199);
}
END_TEST

START_TEST(retries_cover_more_than_a_day)
{
    /* 2047 x 60 s x 0.8 = 98,256 s (27.3 h) at the least */
    ck_assert_int_eq(alert_retry_span_min_ms(60000), 98256000LL);
    ck_assert(alert_retry_span_min_ms(60000) >= 24LL * 3600 * 1000);
    ck_assert(alert_should_retry(1));
    ck_assert(alert_should_retry(12));
    ck_assert(!alert_should_retry(13));
    ck_assert(!alert_should_retry(0));
}
END_TEST

START_TEST(kinds_table)
{
    int n = 0;
    const alert_kind *k = alert_kinds(&n);
    ck_assert_int_eq(n, 14);
    ck_assert_str_eq(k[0].name, "stale_deal");
    const alert_kind *s = alert_kind_find("stale_deal");
    ck_assert_ptr_nonnull(s);
    ck_assert_double_eq(s->param_default, 14);           /* the seed's "no activity 14d+" */
    ck_assert_ptr_null(alert_kind_find("health_color")); /* the migration's spelling only */
    ck_assert_ptr_null(alert_kind_find("churn_signal"));
    ck_assert_ptr_null(alert_kind_find(NULL));
    ck_assert_uint_eq(alert_kind_find("routing_escalation")->filters, ALERT_F_OWNER);
    ck_assert_uint_eq(alert_kind_find("sla_breach")->filters, ALERT_F_OWNER); /* the clock's lead or deal owner */
    const alert_kind *lag = alert_kind_find("webhook_lag");
    ck_assert_uint_eq(lag->filters, 0); /* the workspace's backlog: nothing to filter */
    ck_assert_str_eq(lag->param, "seconds");
    ck_assert_double_eq(lag->param_default, 60); /* --webhook-max-lag's default */
    ck_assert(!lag->per_owner);
    const alert_kind *cov = alert_kind_find("coverage_below");
    ck_assert_str_eq(cov->param, "min");
    ck_assert_double_eq(cov->param_default, 3); /* seed phase 4: pipeline coverage 3x minimum */
    ck_assert(!cov->param_integer);
    ck_assert(cov->per_owner);
    ck_assert_uint_eq(cov->filters, ALERT_F_OWNER);
    const alert_kind *hyg = alert_kind_find("hygiene_red");
    ck_assert_str_eq(hyg->param, "every_minutes");
    ck_assert_double_eq(hyg->param_default, 60);
    ck_assert_uint_eq(hyg->filters, 0); /* the workspace's rule statuses */
    ck_assert(!hyg->per_owner);
    const alert_kind *risk = alert_kind_find("account_at_risk");
    ck_assert_str_eq(risk->param, "band");
    ck_assert_uint_eq(risk->filters, ALERT_F_OWNER | ALERT_F_SEGMENT | ALERT_F_TERRITORY | ALERT_F_AMOUNT);
    const alert_kind *exp = alert_kind_find("expansion_signal");
    ck_assert_ptr_null(exp->param);
    ck_assert_uint_eq(exp->filters, ALERT_F_OWNER | ALERT_F_SEGMENT | ALERT_F_TERRITORY); /* an account's */
    const alert_kind *fc = alert_kind_find("forecast_moved");
    ck_assert_str_eq(fc->param, "pct");
    ck_assert_double_eq(fc->param_default, 10);
    ck_assert(!fc->param_integer);
    ck_assert_uint_eq(fc->filters, 0);
    const alert_kind *col = alert_kind_find("health_colour");
    ck_assert_ptr_null(col->param); /* signals and colours: lists, h_alerts.c */
    ck_assert_uint_eq(col->filters, 0);
    ck_assert_str_eq(k[n - 1].name, "health_colour");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alert");
    TCase *t = tcase_create("core");
    tcase_add_test(t, backoff_doubles_then_caps);
    tcase_add_test(t, jitter_spans_point_eight_to_one_point_two);
    tcase_add_test(t, retries_cover_more_than_a_day);
    tcase_add_test(t, kinds_table);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

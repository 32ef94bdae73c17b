/* test_workweek.c - working-hours windows (core/workweek.c): "HH:MM" at its
 * edges, day names, window validity. */
#include <check.h>
#include <stdlib.h>

#include "workweek.h"

START_TEST(hhmm_at_its_edges)
{
    ck_assert_int_eq(workweek_parse_hhmm("00:00"), 0);
    ck_assert_int_eq(workweek_parse_hhmm("09:00"), 540);
    ck_assert_int_eq(workweek_parse_hhmm("17:30"), 1050);
    ck_assert_int_eq(workweek_parse_hhmm("23:59"), 1439);
    ck_assert_int_eq(workweek_parse_hhmm("24:00"), 1440);
    ck_assert_int_eq(workweek_parse_hhmm("24:01"), -1);
    ck_assert_int_eq(workweek_parse_hhmm("25:00"), -1);
    ck_assert_int_eq(workweek_parse_hhmm("12:60"), -1);
    ck_assert_int_eq(workweek_parse_hhmm("9:00"), -1);
    ck_assert_int_eq(workweek_parse_hhmm("09:00:00"), -1);
    ck_assert_int_eq(workweek_parse_hhmm("09-00"), -1);
    ck_assert_int_eq(workweek_parse_hhmm("-1:00"), -1);
    ck_assert_int_eq(workweek_parse_hhmm(""), -1);
    ck_assert_int_eq(workweek_parse_hhmm(NULL), -1);
}
END_TEST

START_TEST(day_names_in_iso_order)
{
    ck_assert_int_eq(workweek_day_index("monday"), 0);
    ck_assert_int_eq(workweek_day_index("sunday"), 6);
    ck_assert_int_eq(workweek_day_index("Monday"), -1);
    ck_assert_int_eq(workweek_day_index("mon"), -1);
    ck_assert_int_eq(workweek_day_index(NULL), -1);
    ck_assert_str_eq(workweek_day_names[4], "friday");
}
END_TEST

START_TEST(windows)
{
    ck_assert(workweek_window_ok(540, 1020));
    ck_assert(workweek_window_ok(0, 1440));
    ck_assert(workweek_window_ok(0, 1));
    ck_assert(!workweek_window_ok(1020, 540));
    ck_assert(!workweek_window_ok(540, 540));
    ck_assert(!workweek_window_ok(-1, 540));
    ck_assert(!workweek_window_ok(0, 1441));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("workweek");
    TCase *t = tcase_create("core");
    tcase_add_test(t, hhmm_at_its_edges);
    tcase_add_test(t, day_names_in_iso_order);
    tcase_add_test(t, windows);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

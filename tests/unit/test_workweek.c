/* test_workweek.c - working-hours windows (core/workweek.c): "HH:MM" at its
 * edges, day names, window validity, work_hours' PostgreSQL text rendered as
 * the API's working_hours. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

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

/* The expected documents are written out in full: the API's shape, day by
 * day in ISO order, is the contract (openapi.yaml WorkingHours). */
START_TEST(render_pg_text)
{
    char buf[WORKWEEK_JSON_MAX];
    const char *dflt = "{\"[540,1020)\",\"[540,1020)\",\"[540,1020)\",\"[540,1020)\",\"[540,1020)\",empty,empty}";
    const char *want = "{\"monday\": {\"start\": \"09:00\", \"end\": \"17:00\"}, "
                       "\"tuesday\": {\"start\": \"09:00\", \"end\": \"17:00\"}, "
                       "\"wednesday\": {\"start\": \"09:00\", \"end\": \"17:00\"}, "
                       "\"thursday\": {\"start\": \"09:00\", \"end\": \"17:00\"}, "
                       "\"friday\": {\"start\": \"09:00\", \"end\": \"17:00\"}, "
                       "\"saturday\": null, \"sunday\": null}";
    ck_assert_int_eq(workweek_render_pg(dflt, buf, sizeof buf), (int)strlen(want));
    ck_assert_str_eq(buf, want);
    /* the edges of a day, odd minutes, every day off */
    const char *edges = "{\"[0,1440)\",\"[0,1)\",\"[1439,1440)\",\"[5,65)\",\"[600,1230)\",empty,\"[0,1440)\"}";
    const char *want_edges = "{\"monday\": {\"start\": \"00:00\", \"end\": \"24:00\"}, "
                             "\"tuesday\": {\"start\": \"00:00\", \"end\": \"00:01\"}, "
                             "\"wednesday\": {\"start\": \"23:59\", \"end\": \"24:00\"}, "
                             "\"thursday\": {\"start\": \"00:05\", \"end\": \"01:05\"}, "
                             "\"friday\": {\"start\": \"10:00\", \"end\": \"20:30\"}, "
                             "\"saturday\": null, \"sunday\": {\"start\": \"00:00\", \"end\": \"24:00\"}}";
    ck_assert_int_eq(workweek_render_pg(edges, buf, sizeof buf), (int)strlen(want_edges));
    ck_assert_str_eq(buf, want_edges);
    ck_assert_int_gt(workweek_render_pg("{empty,empty,empty,empty,empty,empty,empty}", buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "{\"monday\": null, \"tuesday\": null, \"wednesday\": null, \"thursday\": null, "
                          "\"friday\": null, \"saturday\": null, \"sunday\": null}");
    /* seven full days fit the documented bound */
    const char *full = "{\"[0,1440)\",\"[0,1440)\",\"[0,1440)\",\"[0,1440)\",\"[0,1440)\",\"[0,1440)\",\"[0,1440)\"}";
    ck_assert_int_gt(workweek_render_pg(full, buf, sizeof buf), 0);
    /* anything else is refused, not half-rendered */
    const char *bad[] = {
        "{empty,empty,empty,empty,empty,empty}",             /* six days */
        "{empty,empty,empty,empty,empty,empty,empty,empty}", /* eight */
        "{empty,empty,empty,empty,empty,empty,NULL}",
        "{empty,empty,empty,empty,empty,empty,\"[540,1020]\"}",
        "{empty,empty,empty,empty,empty,empty,\"(540,1020)\"}",
        "{empty,empty,empty,empty,empty,empty,\"[1020,540)\"}",
        "{empty,empty,empty,empty,empty,empty,\"[0,1441)\"}",
        "{empty,empty,empty,empty,empty,empty,\"[,1020)\"}",
        "{empty,empty,empty,empty,empty,empty,\"[540,10200)\"}",
        "{empty,empty,empty,empty,empty,empty,empty} ",
        "empty,empty,empty,empty,empty,empty,empty}",
        "",
        NULL,
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(workweek_render_pg(bad[i], buf, sizeof buf) == -1, "accepted %s", bad[i] ? bad[i] : "NULL");
    /* a buffer too small by one byte */
    size_t need = strlen(want) + 1;
    char *exact = malloc(need); /* exactly the document's size, so that ASan sees any write past it */
    ck_assert_ptr_nonnull(exact);
    ck_assert_int_eq(workweek_render_pg(dflt, exact, need - 1), -1);
    ck_assert_int_eq(workweek_render_pg(dflt, exact, need), (int)strlen(want));
    ck_assert_str_eq(exact, want);
    free(exact);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("workweek");
    TCase *t = tcase_create("core");
    tcase_add_test(t, hhmm_at_its_edges);
    tcase_add_test(t, day_names_in_iso_order);
    tcase_add_test(t, windows);
    tcase_add_test(t, render_pg_text);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

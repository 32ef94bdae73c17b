/* test_pipediff.c - one deal of each change kind, and a waterfall that adds up. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "pipediff.h"

static caldate_t Q2END;

START_TEST(each_kind_once_and_the_waterfall_adds_up)
{
    Q2END = caldate_from_ymd(2026, 7, 1);
    caldate_t in = caldate_from_ymd(2026, 6, 15), out = caldate_from_ymd(2026, 8, 15);
    /* before / after per deal */
    pd_deal a_won = {100000, PD_OPEN, 5, in, 1}, b_won = {100000, PD_CLOSED_WON, 7, in, 1};
    pd_deal a_lost = {200000, PD_OPEN, 5, in, 1}, b_lost = {200000, PD_CLOSED_LOST, 8, in, 1};
    pd_deal a_push = {300000, PD_OPEN, 5, in, 2}, b_push = {300000, PD_OPEN, 5, out, 2};
    pd_deal a_pull = {400000, PD_OPEN, 5, out, 2}, b_pull = {400000, PD_OPEN, 5, in, 2};
    pd_deal a_up = {500000, PD_OPEN, 5, in, 2}, b_up = {550001, PD_OPEN, 5, in, 2};
    pd_deal a_down = {600000, PD_OPEN, 5, in, 2}, b_down = {599999, PD_OPEN, 5, in, 2};
    pd_deal a_adv = {700000, PD_OPEN, 5, in, 2}, b_adv = {700000, PD_OPEN, 6, in, 2};
    pd_deal a_reg = {800000, PD_OPEN, 6, in, 2}, b_reg = {800000, PD_OPEN, 5, in, 2};
    pd_deal a_own = {900000, PD_OPEN, 5, in, 2}, b_own = {900000, PD_OPEN, 5, in, 3};
    pd_deal a_rem = {110000, PD_OPEN, 5, in, 2};
    pd_deal b_new = {120000, PD_OPEN, 5, in, 2};
    pd_pair pairs[] = {{&a_won, &b_won}, {&a_lost, &b_lost}, {&a_push, &b_push}, {&a_pull, &b_pull},
                       {&a_up, &b_up},   {&a_down, &b_down}, {&a_adv, &b_adv},   {&a_reg, &b_reg},
                       {&a_own, &b_own}, {&a_rem, NULL},     {NULL, &b_new}};
    unsigned kinds[11];
    pd_summary s;
    pipediff_compute(pairs, 11, Q2END, kinds, &s);
    unsigned want[] = {PD_WON,         PD_LOST,           PD_PUSHED,          PD_PULLED_IN,     PD_AMOUNT_UP,
                       PD_AMOUNT_DOWN, PD_STAGE_ADVANCED, PD_STAGE_REGRESSED, PD_OWNER_CHANGED, PD_REMOVED,
                       PD_NEW};
    for (int i = 0; i < 11; i++)
        ck_assert_msg(kinds[i] == want[i], "pair %d: kinds %#x want %#x", i, kinds[i], want[i]);
    for (int k = 0; k < 11; k++)
        ck_assert_int_eq(s.counts[k], 1);
    ck_assert_int_eq(s.counts[11], 0); /* reopened */
    ck_assert_int_eq(s.won, 100000);
    ck_assert_int_eq(s.lost, 200000);
    ck_assert_int_eq(s.amount_up, 50001);
    ck_assert_int_eq(s.amount_down, 1);
    ck_assert_int_eq(s.removed, 110000);
    ck_assert_int_eq(s.new_deals, 120000);
    ck_assert_int_eq(s.end,
                     s.start + s.new_deals + s.reopened + s.amount_up - s.amount_down - s.won - s.lost - s.removed);
    ck_assert_int_eq(s.pushed, 300000);
    ck_assert_int_eq(s.pulled_in, 400000);
    ck_assert_str_eq(pipediff_kind_name(4), "pulled_in");
}
END_TEST

START_TEST(reopened_and_closed_new_deals)
{
    caldate_t end = caldate_from_ymd(2026, 7, 1), in = end - 10;
    pd_deal a = {1000, PD_CLOSED_LOST, 8, in, 1}, b = {1500, PD_OPEN, 5, in, 1};
    pd_deal won_new = {2000, PD_CLOSED_WON, 7, in, 1};
    pd_pair pairs[] = {{&a, &b}, {NULL, &won_new}, {&a, NULL}};
    unsigned kinds[3];
    pd_summary s;
    pipediff_compute(pairs, 3, end, kinds, &s);
    ck_assert_uint_eq(kinds[0], PD_REOPENED | PD_AMOUNT_UP);
    ck_assert_uint_eq(kinds[1], PD_NEW | PD_WON);
    ck_assert_uint_eq(kinds[2], 0); /* a closed deal that left the snapshot */
    ck_assert_int_eq(s.reopened, 1500);
    ck_assert_int_eq(s.start, 0);
    ck_assert_int_eq(s.end, 1500);
    ck_assert_int_eq(s.end,
                     s.start + s.new_deals + s.reopened + s.amount_up - s.amount_down - s.won - s.lost - s.removed);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pipediff");
    TCase *tc = tcase_create("kinds");
    tcase_add_test(tc, each_kind_once_and_the_waterfall_adds_up);
    tcase_add_test(tc, reopened_and_closed_new_deals);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* test_revintel.c - revenue-intelligence flags: each rule at its edge. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "revintel.h"

#define BIT(f) (1u << (f))

START_TEST(threading_at_three)
{
    revintel_input in = {.contacts_on_deal = 4, .contacts_engaged = 3};
    unsigned f = revintel_deal_flags(&in);
    ck_assert_uint_eq(f, BIT(RI_MULTI_THREADED));
    ck_assert(!revintel_has_risk(f));
    in.contacts_engaged = 2;
    f = revintel_deal_flags(&in);
    ck_assert_uint_eq(f, BIT(RI_UNDER_THREADED));
    ck_assert(revintel_has_risk(f));
    /* no contacts recorded on the deal: threading is not judged */
    in = (revintel_input){0};
    ck_assert_uint_eq(revintel_deal_flags(&in), 0);
    /* contacts recorded, none engaged */
    in.contacts_on_deal = 1;
    ck_assert_uint_eq(revintel_deal_flags(&in), BIT(RI_UNDER_THREADED));
}
END_TEST

START_TEST(finance_champion_usage_comparison)
{
    revintel_input in = {.contacts_on_deal = 3, .contacts_engaged = 3, .finance_contacts = 1};
    ck_assert_uint_eq(revintel_deal_flags(&in), BIT(RI_MULTI_THREADED) | BIT(RI_FINANCE_CONTACT));
    ck_assert(!revintel_has_risk(revintel_deal_flags(&in))); /* budget approval is timing, not risk */
    in = (revintel_input){.champion_moves = 1};
    ck_assert_uint_eq(revintel_deal_flags(&in), BIT(RI_CHAMPION_JOB_CHANGE));
    ck_assert_uint_eq(revintel_account_flags(&in), BIT(RI_CHAMPION_JOB_CHANGE));
    /* active users 100 -> 79: down 21%, a decline; 100 -> 80 (20%) is not */
    in = (revintel_input){.has_active = true, .active_recent = 79, .active_prior = 100};
    ck_assert_uint_eq(revintel_account_flags(&in), BIT(RI_USAGE_DECLINE));
    in.active_recent = 80;
    ck_assert_uint_eq(revintel_account_flags(&in), 0);
    in.has_active = false;
    in.active_recent = 10;
    ck_assert_uint_eq(revintel_account_flags(&in), 0); /* one window only: no trend */
    in = (revintel_input){.comparison_sessions = 2, .contacts_on_deal = 2, .contacts_engaged = 0};
    ck_assert_uint_eq(revintel_deal_flags(&in), BIT(RI_COMPARISON_SESSION) | BIT(RI_UNDER_THREADED));
    ck_assert_uint_eq(revintel_account_flags(&in), BIT(RI_COMPARISON_SESSION));
}
END_TEST

START_TEST(definitions_carry_the_seed_text)
{
    ck_assert_str_eq(revintel_defs[RI_MULTI_THREADED].predicts, "2.3x higher win rate");
    ck_assert_str_eq(revintel_defs[RI_UNDER_THREADED].action, "Coach reps on multi-threading");
    ck_assert_str_eq(revintel_defs[RI_FINANCE_CONTACT].action, "Adjust timeline, prepare ROI doc");
    ck_assert_str_eq(revintel_defs[RI_CHAMPION_JOB_CHANGE].predicts, "Churn risk OR new opp");
    ck_assert_str_eq(revintel_defs[RI_USAGE_DECLINE].predicts, "Churn in 60-90 days");
    ck_assert_str_eq(revintel_defs[RI_COMPARISON_SESSION].action, "Priority SDR outreach");
    for (int i = 0; i < RI__COUNT; i++)
        ck_assert(strcmp(revintel_defs[i].kind, "positive") == 0 || strcmp(revintel_defs[i].kind, "risk") == 0 ||
                  strcmp(revintel_defs[i].kind, "timing") == 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("revintel");
    TCase *t = tcase_create("revintel");
    tcase_add_test(t, threading_at_three);
    tcase_add_test(t, finance_champion_usage_comparison);
    tcase_add_test(t, definitions_carry_the_seed_text);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

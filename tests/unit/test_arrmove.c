/* test_arrmove.c - ARR movements derived from subscriptions. */
#include <check.h>
#include <stdlib.h>

#include "arrmove.h"

static caldate_t d(int y, int m, int dd) { return caldate_from_ymd(y, m, dd); }

START_TEST(new_expand_contract_churn_reactivate)
{
    arr_sub subs[] = {
        {1200000, d(2025, 1, 1), d(2026, 1, 1)}, /* $12,000 for a year */
        {600000, d(2025, 7, 1), d(2025, 10, 1)}, /* +$6,000 add-on for a quarter */
        {300050, d(2026, 3, 15), ARRMOVE_OPEN},  /* comes back at $3,000.50 */
    };
    arr_movement out[6];
    int n = arrmove_derive(subs, 3, out);
    ck_assert_int_eq(n, 5);
    ck_assert_int_eq(out[0].kind, ARR_NEW);
    ck_assert_int_eq(out[0].amount, 1200000);
    ck_assert_int_eq(out[0].date, d(2025, 1, 1));
    ck_assert_int_eq(out[1].kind, ARR_EXPANSION);
    ck_assert_int_eq(out[1].amount, 600000);
    ck_assert_int_eq(out[2].kind, ARR_CONTRACTION);
    ck_assert_int_eq(out[2].amount, 600000);
    ck_assert_int_eq(out[2].date, d(2025, 10, 1));
    ck_assert_int_eq(out[3].kind, ARR_CHURN);
    ck_assert_int_eq(out[3].amount, 1200000);
    ck_assert_int_eq(out[4].kind, ARR_REACTIVATION);
    ck_assert_int_eq(out[4].amount, 300050);
    money_t total = 0;
    for (int i = 0; i < n; i++)
        total += arr_movement_signed(&out[i]);
    ck_assert_int_eq(total, 300050); /* movements add up to the ARR still active */
}
END_TEST

START_TEST(same_day_upgrade_is_expansion)
{
    arr_sub subs[] = {{1000000, d(2025, 1, 1), d(2025, 6, 1)}, {1500000, d(2025, 6, 1), ARRMOVE_OPEN}};
    arr_movement out[4];
    int n = arrmove_derive(subs, 2, out);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(out[1].kind, ARR_EXPANSION);
    ck_assert_int_eq(out[1].amount, 500000);
    ck_assert_int_eq(out[1].date, d(2025, 6, 1));
}
END_TEST

START_TEST(invalid_input)
{
    arr_movement out[2];
    arr_sub neg = {-1, d(2025, 1, 1), ARRMOVE_OPEN};
    ck_assert_int_eq(arrmove_derive(&neg, 1, out), -1);
    arr_sub backwards = {100, d(2025, 2, 1), d(2025, 1, 1)};
    ck_assert_int_eq(arrmove_derive(&backwards, 1, out), -1);
    arr_sub zero = {0, d(2025, 1, 1), ARRMOVE_OPEN};
    ck_assert_int_eq(arrmove_derive(&zero, 1, out), 0);
    ck_assert_int_eq(arr_kind_parse("churn"), ARR_CHURN);
    ck_assert_int_eq(arr_kind_parse("Churn"), -1);
    ck_assert_str_eq(arr_kind_name(ARR_REACTIVATION), "reactivation");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("arrmove");
    TCase *tc = tcase_create("derive");
    tcase_add_test(tc, new_expand_contract_churn_reactivate);
    tcase_add_test(tc, same_day_upgrade_is_expansion);
    tcase_add_test(tc, invalid_input);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* test_cohort.c - cohort retention cells. */
#include <check.h>
#include <stdlib.h>

#include "cohort.h"

START_TEST(expansion_does_not_hide_churn)
{
    /* cohort 0: accounts 0 and 1 acquired in month 10; account 0 doubles in
     * month 11, account 1 churns in month 12. cohort 1: account 2 from month 11. */
    cohort_move mv[] = {{0, 10, 1000}, {1, 10, 1000}, {0, 11, 1000}, {1, 12, -1000}, {2, 11, 500}};
    int cohorts[] = {0, 0, 1};
    cohort_cell cells[2 * 4];
    ck_assert_int_eq(cohort_table(mv, 5, 3, cohorts, 2, 4, 12, cells), 0);
    ck_assert_int_eq(cells[0].arr, 2000);
    ck_assert_int_eq(cells[0].logos, 2);
    ck_assert_int_eq(cells[1].arr, 3000);  /* NRR 150% */
    ck_assert_int_eq(cells[1].kept, 2000); /* GRR 100%: the expansion is capped */
    ck_assert_int_eq(cells[2].arr, 2000);  /* month 12: account 1 churned */
    ck_assert_int_eq(cells[2].kept, 1000); /* GRR 50% */
    ck_assert_int_eq(cells[2].logos, 1);
    ck_assert_int_eq(cells[3].logos, -1); /* month 13 has not happened */
    ck_assert_int_eq(cells[4 + 0].arr, 500);
    ck_assert_int_eq(cells[4 + 1].arr, 500);
    ck_assert_int_eq(cells[4 + 2].logos, -1);
    cohort_move bad = {7, 1, 1};
    ck_assert_int_eq(cohort_table(&bad, 1, 3, cohorts, 2, 4, 12, cells), -1);
}
END_TEST

START_TEST(starting_arr_and_cycle_bands)
{
    /* account 0: 1,000 + 500 in its first month (10), +2,000 later; account
     * 1: 300 in month 12; account 2: no moves */
    cohort_move mv[] = {{0, 10, 1000}, {0, 11, 2000}, {1, 12, 300}, {0, 10, 500}};
    money_t arr0[3] = {-1, -1, -1};
    ck_assert_int_eq(cohort_starting_arr(mv, 4, 3, arr0), 0);
    ck_assert_int_eq(arr0[0], 1500);
    ck_assert_int_eq(arr0[1], 300);
    ck_assert_int_eq(arr0[2], 0);
    cohort_move bad = {3, 1, 1};
    ck_assert_int_eq(cohort_starting_arr(&bad, 1, 3, arr0), -1);
    ck_assert_str_eq(cohort_cycle_band(0), "0-30 days");
    ck_assert_str_eq(cohort_cycle_band(30), "0-30 days");
    ck_assert_str_eq(cohort_cycle_band(31), "31-90 days");
    ck_assert_str_eq(cohort_cycle_band(90), "31-90 days");
    ck_assert_str_eq(cohort_cycle_band(180), "91-180 days");
    ck_assert_str_eq(cohort_cycle_band(181), "181+ days");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cohort");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, expansion_does_not_hide_churn);
    tcase_add_test(tc, starting_arr_and_cycle_bands);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

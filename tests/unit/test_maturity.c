/* test_maturity.c - the maturity stage and the 100-point rubric on answer
 * sets exactly on each band's edge (and one step below it). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "maturity.h"

static const char *stage_of(int a, int b, int c, int d, int e, int f)
{
    int s[MAT_NDIMS] = {a, b, c, d, e, f};
    maturity_result r;
    ck_assert(maturity_score(s, &r));
    ck_assert_int_eq(r.total, a + b + c + d + e + f);
    return r.stage_name;
}

START_TEST(maturity_stage_edges)
{
    ck_assert_str_eq(stage_of(1, 1, 1, 1, 1, 1), "foundation");  /* 6 */
    ck_assert_str_eq(stage_of(2, 2, 2, 2, 2, 2), "foundation");  /* 12 */
    ck_assert_str_eq(stage_of(3, 2, 2, 2, 2, 2), "building");    /* 13 */
    ck_assert_str_eq(stage_of(4, 4, 3, 3, 3, 3), "building");    /* 20 */
    ck_assert_str_eq(stage_of(4, 4, 4, 3, 3, 3), "scaling");     /* 21 */
    ck_assert_str_eq(stage_of(5, 4, 4, 4, 4, 4), "scaling");     /* 25 */
    ck_assert_str_eq(stage_of(5, 5, 4, 4, 4, 4), "world_class"); /* 26 */
    ck_assert_str_eq(stage_of(5, 5, 5, 5, 5, 5), "world_class"); /* 30 */
    int s[MAT_NDIMS] = {3, 3, 1, 3, 1, 3};
    maturity_result r;
    ck_assert(maturity_score(s, &r));
    ck_assert_int_eq(r.weakest, MAT_TECHNOLOGY); /* the first of the lowest */
    ck_assert_str_eq(r.focus, "standardize processes, integrate tools");
    int bad[MAT_NDIMS] = {0, 3, 3, 3, 3, 3};
    ck_assert(!maturity_score(bad, &r));
    bad[0] = 6;
    ck_assert(!maturity_score(bad, &r));
    ck_assert_str_eq(maturity_dim_level(MAT_DATA, 3), "CRM is system of record, basic hygiene");
    ck_assert_str_eq(maturity_dim_level(MAT_ANALYTICS, 2), "Lagging indicators only");
    ck_assert_ptr_null(maturity_dim_level(MAT_DATA, 0));
    ck_assert_str_eq(maturity_dim_name(MAT_ENABLEMENT), "enablement");
}
END_TEST

/* All sub-criteria at 2, then dimensions zeroed or lowered by the caller. */
static void all_max(int s[RUBRIC_NDIMS][RUBRIC_MAX_CRIT])
{
    for (int d = 0; d < RUBRIC_NDIMS; d++)
        for (int c = 0; c < RUBRIC_MAX_CRIT; c++)
            s[d][c] = 2;
}

static void zero(int s[RUBRIC_NDIMS][RUBRIC_MAX_CRIT], int d)
{
    for (int c = 0; c < RUBRIC_MAX_CRIT; c++)
        s[d][c] = 0;
}

START_TEST(rubric_weights_and_points)
{
    int total_weight = 0, ncrit = 0;
    for (int d = 0; d < RUBRIC_NDIMS; d++) {
        total_weight += rubric_dim_get(d)->weight;
        ncrit += rubric_dim_get(d)->ncrit;
    }
    ck_assert_int_eq(total_weight, 100);
    ck_assert_int_eq(ncrit, 27);
    ck_assert_ptr_null(rubric_dim_get(RUBRIC_NDIMS));
    int s[RUBRIC_NDIMS][RUBRIC_MAX_CRIT];
    all_max(s);
    rubric_result r;
    ck_assert(rubric_score(s, &r));
    ck_assert_int_eq(r.total24, 2400);
    ck_assert_str_eq(r.band_name, "world_class");
    /* one point off cross-team alignment (4 criteria, weight 15): 15/8 = 1.875 */
    s[3][0] = 1;
    ck_assert(rubric_score(s, &r));
    ck_assert_double_eq(rubric_points(r.points24[3]), 13.125);
    ck_assert_double_eq(rubric_points(r.total24), 98.125);
    /* process documentation (3 criteria, weight 7): one point is 7/6 */
    all_max(s);
    s[7][2] = 1;
    ck_assert(rubric_score(s, &r));
    ck_assert_int_eq(r.points24[7], 7 * 5 * 4); /* 35/6 points */
    s[7][2] = 3;
    ck_assert(!rubric_score(s, &r));
    s[7][2] = -1;
    ck_assert(!rubric_score(s, &r));
}
END_TEST

START_TEST(rubric_band_edges)
{
    int s[RUBRIC_NDIMS][RUBRIC_MAX_CRIT];
    rubric_result r;
    /* exactly 80: data integrity (20) at 0 */
    all_max(s);
    zero(s, 0);
    ck_assert(rubric_score(s, &r));
    ck_assert_int_eq(r.total24, 80 * 24);
    ck_assert_str_eq(r.band_name, "world_class");
    /* 79: one compensation point (8/8 = 1) less */
    s[6][0] = 1;
    ck_assert(rubric_score(s, &r));
    ck_assert_int_eq(r.total24, 79 * 24);
    ck_assert_str_eq(r.band_name, "strong_foundation");
    /* 78.83: 80 less one process-documentation point (7/6): between whole numbers, the lower band */
    s[6][0] = 2;
    s[7][0] = 1;
    ck_assert(rubric_score(s, &r));
    ck_assert_int_eq(r.total24, 80 * 24 - 28);
    ck_assert_str_eq(r.band_name, "strong_foundation");
    /* exactly 60: data integrity and funnel definitions at 0 (65), pipeline management 2 points less (-5) */
    all_max(s);
    zero(s, 0);
    zero(s, 1);
    s[2][0] = 0;
    ck_assert(rubric_score(s, &r));
    ck_assert_int_eq(r.total24, 60 * 24);
    ck_assert_str_eq(r.band_name, "strong_foundation");
    /* 59.17 */
    s[7][0] = 1;
    ck_assert(rubric_score(s, &r));
    ck_assert_str_eq(r.band_name, "gaps_costing_revenue");
    /* exactly 40: data, funnel, pipeline and automation at 0 */
    all_max(s);
    zero(s, 0);
    zero(s, 1);
    zero(s, 2);
    zero(s, 4);
    ck_assert(rubric_score(s, &r));
    ck_assert_int_eq(r.total24, 40 * 24);
    ck_assert_str_eq(r.band_name, "gaps_costing_revenue");
    ck_assert_str_eq(r.band_text, "Gaps are costing revenue");
    /* 39 */
    s[6][3] = 1;
    ck_assert(rubric_score(s, &r));
    ck_assert_int_eq(r.total24, 39 * 24);
    ck_assert_str_eq(r.band_name, "title_not_function");
    /* 0 */
    for (int d = 0; d < RUBRIC_NDIMS; d++)
        zero(s, d);
    ck_assert(rubric_score(s, &r));
    ck_assert_int_eq(r.total24, 0);
    ck_assert_str_eq(r.band_text, "RevOps is a title, not a function");
}
END_TEST

START_TEST(evidence_then_answers)
{
    mat_source src;
    /* evidence below its cap wins over a higher answer */
    ck_assert_int_eq(maturity_resolve(&(mat_inputs){true, 2, 3, true, 5}, 1, &src), 2);
    ck_assert_int_eq(src, MAT_FROM_EVIDENCE);
    /* at its cap, the answer may go beyond what the engine sees */
    ck_assert_int_eq(maturity_resolve(&(mat_inputs){true, 3, 3, true, 5}, 1, &src), 5);
    ck_assert_int_eq(src, MAT_FROM_ANSWER);
    /* but not below it */
    ck_assert_int_eq(maturity_resolve(&(mat_inputs){true, 3, 3, true, 2}, 1, &src), 3);
    ck_assert_int_eq(src, MAT_FROM_EVIDENCE);
    ck_assert_int_eq(maturity_resolve(&(mat_inputs){false, 0, 0, true, 4}, 1, &src), 4);
    ck_assert_str_eq(maturity_source_name(src), "answer");
    ck_assert_int_eq(maturity_resolve(&(mat_inputs){false, 0, 0, false, 0}, 1, &src), 1);
    ck_assert_str_eq(maturity_source_name(src), "default");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("maturity");
    TCase *t = tcase_create("maturity");
    tcase_add_test(t, maturity_stage_edges);
    tcase_add_test(t, rubric_weights_and_points);
    tcase_add_test(t, rubric_band_edges);
    tcase_add_test(t, evidence_then_answers);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

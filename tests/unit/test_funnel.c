/* test_funnel.c - the seed funnel, its diagnostic rule, validation, history. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "funnel.h"

static funnel_def f;
static void setup(void) { funnel_default(&f); }

START_TEST(default_funnel_is_the_seed_and_valid)
{
    funnel_problem p[8];
    ck_assert_int_eq(funnel_validate(&f, p, 8), 0);
    ck_assert_int_eq(f.nstages, 9);
    ck_assert_str_eq(f.stages[0].name, "Visitor");
    ck_assert_str_eq(f.stages[7].key, "closed_won");
    ck_assert(f.stages[7].won && f.stages[8].lost);
    ck_assert_int_eq(f.nbench, 7);
    int sal = funnel_stage_index(&f, "sal"), sql = funnel_stage_index(&f, "sql");
    ck_assert_int_eq(f.bench[3].from, sal);
    ck_assert_int_eq(f.bench[3].to, sql);
    ck_assert(f.bench[3].bottom25 == 0.30 && f.bench[3].median_low == 0.40 && f.bench[3].world_class == 0.70);
    ck_assert(f.bench[6].summary);
}
END_TEST

START_TEST(seed_diagnostic_rule_sal_to_sql)
{
    long long counts[9] = {-1, -1, 1000, 500, 140, 98, -1, 22, -1};
    funnel_diagnosis d;
    funnel_diagnose(&f, counts, &d);
    ck_assert_int_eq(d.ntransitions, 7);
    ck_assert_int_ge(d.bottleneck, 0);
    const funnel_transition *t = &d.transitions[d.bottleneck];
    ck_assert_int_eq(t->bench, 3);
    ck_assert(fabs(t->rate - 0.28) < 1e-12);
    ck_assert_int_eq(t->tier, TIER_BOTTOM_QUARTILE);
    ck_assert_str_eq(d.explanation, "SAL→SQL 28% is bottom quartile (<30%); fix before optimising anything else");
    ck_assert(!d.transitions[0].has_rate);                      /* visitor/known unknown */
    ck_assert_int_eq(d.transitions[2].tier, TIER_MEDIAN);       /* MQL→SAL 50% */
    ck_assert_int_eq(d.transitions[4].tier, TIER_MEDIAN);       /* SQL→Opp 70% */
    ck_assert_int_eq(d.transitions[5].tier, TIER_MEDIAN);       /* Opp→Won 22.4% */
    ck_assert_int_eq(d.transitions[6].tier, TIER_BELOW_MEDIAN); /* MQL→Won 2.2% (summary) */
}
END_TEST

START_TEST(ties_go_to_the_furthest_below_median)
{
    /* MQL→SAL 35% (bottom, 30% below its 50% median) vs SAL→SQL 25% (bottom, 37.5% below 40%) */
    long long counts[9] = {-1, -1, 1000, 350, 87, -1, -1, -1, -1};
    funnel_diagnosis d;
    funnel_diagnose(&f, counts, &d);
    ck_assert_int_eq(d.transitions[d.bottleneck].bench, 3);
    long long counts2[9] = {-1, -1, 1000, 200, 70, -1, -1, -1, -1}; /* MQL→SAL 20% is 60% below */
    funnel_diagnose(&f, counts2, &d);
    ck_assert_int_eq(d.transitions[d.bottleneck].bench, 2);
    ck_assert_str_eq(d.explanation, "MQL→SAL 20% is bottom quartile (<40%); fix before optimising anything else");
}
END_TEST

START_TEST(healthy_funnel_says_so)
{
    long long counts[9] = {100000, 3000, 300, 200, 120, 90, 50, 30, 60};
    funnel_diagnosis d;
    funnel_diagnose(&f, counts, &d);
    ck_assert_int_ge(d.transitions[d.bottleneck].tier, TIER_MEDIAN);
    ck_assert_ptr_nonnull(strstr(d.explanation, "No transition is below the median; the weakest is"));
    long long none[9] = {-1, -1, -1, -1, -1, -1, -1, -1, -1};
    funnel_diagnose(&f, none, &d);
    ck_assert_int_eq(d.bottleneck, -1);
}
END_TEST

START_TEST(tiers_at_the_thresholds)
{
    const funnel_benchmark *b = &f.bench[3]; /* SAL→SQL <30 | 40-50 | 55-65 | 70+ */
    ck_assert_int_eq(funnel_tier_of(b, 0.2999), TIER_BOTTOM_QUARTILE);
    ck_assert_int_eq(funnel_tier_of(b, 0.30), TIER_BELOW_MEDIAN);
    ck_assert_int_eq(funnel_tier_of(b, 0.40), TIER_MEDIAN);
    ck_assert_int_eq(funnel_tier_of(b, 0.52), TIER_MEDIAN);
    ck_assert_int_eq(funnel_tier_of(b, 0.55), TIER_TOP_QUARTILE);
    ck_assert_int_eq(funnel_tier_of(b, 0.70), TIER_WORLD_CLASS);
    ck_assert_str_eq(funnel_tier_name(TIER_BELOW_MEDIAN), "below_median");
}
END_TEST

START_TEST(validation_names_each_problem)
{
    funnel_def g = f;
    strcpy(g.stages[2].key, "known"); /* duplicate */
    g.stages[4].probability = 0.01;   /* lower than SAL's 0.07 */
    g.stages[5].probability = 1.5;    /* out of range */
    g.stages[8].won = true;           /* lost and won */
    g.bench[0].median_low = 0.5;      /* above top25 */
    funnel_problem p[16];
    int n = funnel_validate(&g, p, 16);
    const char *want[] = {"stages[2].key", "stages[4].probability", "stages[5].probability", "stages[8]",
                          "stages",        "benchmarks[0]"};
    for (size_t w = 0; w < sizeof want / sizeof want[0]; w++) {
        bool seen = false;
        for (int i = 0; i < n; i++)
            seen = seen || strcmp(p[i].path, want[w]) == 0;
        ck_assert_msg(seen, "no problem reported at %s", want[w]);
    }
    funnel_def one = f;
    one.nstages = 1;
    ck_assert_int_eq(funnel_validate(&one, p, 16), 1);
}
END_TEST

START_TEST(cohort_conversion_and_counts)
{
    caldate_t jan = caldate_from_ymd(2026, 1, 1), feb = caldate_from_ymd(2026, 2, 1);
    int sql = funnel_stage_index(&f, "sql"), opp = funnel_stage_index(&f, "opportunity");
    funnel_event ev[] = {
        {0, sql, jan + 3},  {0, opp, feb + 10}, /* in the cohort, converts after the period */
        {1, sql, jan + 20},                     /* in the cohort, not yet */
        {2, sql, jan - 5},  {2, opp, jan + 1},  /* entered before the period: not in the cohort */
        {3, sql, jan + 7},  {3, opp, jan + 9},
    };
    funnel_cohort c;
    ck_assert_int_eq(funnel_cohort_conversion(&f, ev, 7, 4, sql, opp, jan, feb, &c), 0);
    ck_assert_int_eq(c.entered, 3);
    ck_assert_int_eq(c.converted, 2);
    ck_assert(fabs(c.rate - 2.0 / 3.0) < 1e-12);
    long long counts[9];
    ck_assert_int_eq(funnel_counts_from_history(ev, 7, 4, 9, jan, feb, counts), 0);
    ck_assert_int_eq(counts[sql], 3);
    ck_assert_int_eq(counts[opp], 2);
    funnel_event bad = {9, sql, jan};
    ck_assert_int_eq(funnel_cohort_conversion(&f, &bad, 1, 4, sql, opp, jan, feb, &c), -1);
}
END_TEST

/* A deal that reached a later stage passed the earlier ones: MQL -> SQL
 * without SAL counts for MQL -> SAL and SAL -> SQL; closed lost reaches nothing. */
START_TEST(cohort_conversion_infers_skipped_stages)
{
    caldate_t jan = caldate_from_ymd(2026, 1, 1), feb = caldate_from_ymd(2026, 2, 1);
    int mql = funnel_stage_index(&f, "mql"), sal = funnel_stage_index(&f, "sal"), sql = funnel_stage_index(&f, "sql"),
        lost = funnel_stage_index(&f, "closed_lost");
    funnel_event ev[] = {
        {0, mql, jan + 1},  {0, sql, jan + 5},  /* skipped SAL */
        {1, mql, jan + 2},  {1, sal, jan + 3},  /* stays in SAL */
        {2, mql, jan + 4},  {2, lost, jan + 9}, /* lost from MQL */
        {3, sql, jan - 20},                     /* reached SAL before the period */
    };
    funnel_cohort c;
    ck_assert_int_eq(funnel_cohort_conversion(&f, ev, 7, 4, mql, sal, jan, feb, &c), 0);
    ck_assert_int_eq(c.entered, 3);
    ck_assert_int_eq(c.converted, 2);
    ck_assert_int_eq(funnel_cohort_conversion(&f, ev, 7, 4, sal, sql, jan, feb, &c), 0);
    ck_assert_int_eq(c.entered, 2); /* deal 0 reached SAL on jan + 5, deal 1 on jan + 3 */
    ck_assert_int_eq(c.converted, 1);
    ck_assert(c.rate == 0.5);
    ck_assert(funnel_reaches(&f, sql, sal) && !funnel_reaches(&f, lost, sal) && funnel_reaches(&f, lost, lost));
    ck_assert_int_eq(funnel_cohort_conversion(&f, ev, 7, 4, -1, sal, jan, feb, &c), 0);
    ck_assert_int_eq(c.entered, 0);
}
END_TEST

START_TEST(diagnosis_from_cohorts)
{
    funnel_cohort c[FUNNEL_MAX_BENCH] = {{0}};
    c[2] = (funnel_cohort){200, 130, 0.65}; /* MQL→SAL 65%: median */
    c[3] = (funnel_cohort){100, 25, 0.25};  /* SAL→SQL 25%: bottom quartile */
    funnel_diagnosis d;
    funnel_diagnose_cohorts(&f, c, &d);
    ck_assert_int_eq(d.transitions[d.bottleneck].bench, 3);
    ck_assert_int_eq(d.transitions[2].from_count, 200);
    ck_assert_int_eq(d.transitions[2].tier, TIER_MEDIAN);
    ck_assert(!d.transitions[0].has_rate); /* an empty cohort has no rate */
    ck_assert_str_eq(d.explanation, "SAL→SQL 25% is bottom quartile (<30%); fix before optimising anything else");
}
END_TEST

START_TEST(time_in_stage_median_and_p90)
{
    int sql = funnel_stage_index(&f, "sql"), opp = funnel_stage_index(&f, "opportunity");
    /* ten deals stay 1..10 days in SQL, then move to Opportunity (still open
     * there); events arrive out of order */
    funnel_event all[20];
    int n = 0;
    for (int d = 0; d < 10; d++) {
        all[n++] = (funnel_event){d, opp, 100 + d + 1};
        all[n++] = (funnel_event){d, sql, 100};
    }
    funnel_stage_time t[9];
    ck_assert_int_eq(funnel_time_in_stage(all, (size_t)n, 9, t), 0);
    ck_assert_int_eq(t[sql].samples, 10);
    ck_assert(fabs(t[sql].median_days - 5.5) < 1e-12);
    ck_assert(fabs(t[sql].p90_days - 9.1) < 1e-12);
    ck_assert_int_eq(t[opp].samples, 0); /* open stays are not samples */
    double v[] = {3, 1, 2};
    ck_assert(funnel_quantile(v, 3, 0.5) == 2.0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("funnel");
    TCase *tc = tcase_create("seed");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, default_funnel_is_the_seed_and_valid);
    tcase_add_test(tc, seed_diagnostic_rule_sal_to_sql);
    tcase_add_test(tc, ties_go_to_the_furthest_below_median);
    tcase_add_test(tc, healthy_funnel_says_so);
    tcase_add_test(tc, tiers_at_the_thresholds);
    tcase_add_test(tc, validation_names_each_problem);
    tcase_add_test(tc, cohort_conversion_and_counts);
    tcase_add_test(tc, cohort_conversion_infers_skipped_stages);
    tcase_add_test(tc, diagnosis_from_cohorts);
    tcase_add_test(tc, time_in_stage_median_and_p90);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

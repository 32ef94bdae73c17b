/* test_comp.c - attainment, pace and payout math: the crafted plans
 * to the cent (a rep at 40%, 100% and 150% of quota, a SPIF capped by its
 * budget, a clawback after a churn at day 60 and none at day 120). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "comp.h"

#define USD(x) ((money_t)(x)*100)

/* The plan of the API tests: $100,000 annual variable, one component at
 * 100%, quarterly quota $250,000: the quarter's target incentive is $25,000. */
static const money_t TARGET = USD(25000), QUOTA = USD(250000);

START_TEST(target_incentive)
{
    ck_assert_int_eq(comp_target_incentive(USD(100000), COMP_BP, 3), TARGET);
    ck_assert_int_eq(comp_target_incentive(USD(100000), 7000, 1), 583333); /* 70,000 / 12 = 5,833.333... */
    ck_assert_int_eq(comp_target_incentive(USD(100000), 3000, 12), USD(30000));
    ck_assert_int_eq(comp_target_incentive(0, COMP_BP, 3), 0);
}
END_TEST

START_TEST(seed_table_at_40_100_150)
{
    comp_rates r;
    comp_rates_default(&r);
    ck_assert_ptr_null(comp_rates_check(&r));
    /* 40%: decelerated, 0.5x on all of it: 25,000 x 0.4 x 0.5 */
    ck_assert_int_eq(comp_earned(&r, TARGET, QUOTA, USD(100000)), USD(5000));
    /* 100%: exactly the target */
    ck_assert_int_eq(comp_earned(&r, TARGET, QUOTA, QUOTA), TARGET);
    /* 150%: the target + 50% x 1.5 on the part above quota */
    ck_assert_int_eq(comp_earned(&r, TARGET, QUOTA, USD(375000)), USD(43750));
    /* the decelerator is lifted at 50%: 49.996% pays half, 50% pays 1x */
    ck_assert_int_eq(comp_earned(&r, TARGET, QUOTA, USD(124990)), 624950);
    ck_assert_int_eq(comp_earned(&r, TARGET, QUOTA, USD(125000)), USD(12500));
    /* one cent: 2,500,000 x 1 / 25,000,000 x 0.5 = 0.05 of a cent -> 0 */
    ck_assert_int_eq(comp_earned(&r, TARGET, QUOTA, 1), 0);
    /* 133.3333332%: 25,000 + 83,333.33 x 0.1 x 1.5 = 37,499.9998... -> 37,500.00 */
    ck_assert_int_eq(comp_earned(&r, TARGET, QUOTA, 33333333), USD(37500));
    ck_assert_int_eq(comp_earned(&r, TARGET, QUOTA, 0), 0);
    ck_assert_int_eq(comp_earned(&r, TARGET, QUOTA, -USD(10)), 0);
    ck_assert_int_eq(comp_earned(&r, TARGET, 0, USD(10)), 0);
    ck_assert_int_eq(comp_tier_of(&r, QUOTA, USD(100000)), 0);
    ck_assert_int_eq(comp_tier_of(&r, QUOTA, USD(125000)), 1);
    ck_assert_int_eq(comp_tier_of(&r, QUOTA, QUOTA), 2);
}
END_TEST

START_TEST(second_accelerator_and_cap)
{
    comp_rates r = {
        .ntiers = 4,
        .tiers = {{0, 5000, 5000}, {5000, 10000, 10000}, {10000, 15000, 15000}, {15000, COMP_OPEN_END, 20000}}};
    ck_assert_ptr_null(comp_rates_check(&r));
    /* 200%: 25,000 + 12,500 x 1.5 + 12,500 x 2 ... of the target: 25,000 + 18,750 + 25,000 */
    ck_assert_int_eq(comp_earned(&r, TARGET, QUOTA, USD(500000)), USD(68750));
    r.cap_bp = 20000; /* at most 2x the target */
    ck_assert_int_eq(comp_earned(&r, TARGET, QUOTA, USD(500000)), USD(50000));
    ck_assert_int_eq(comp_earned(&r, TARGET, QUOTA, USD(375000)), USD(43750)); /* under the cap */
}
END_TEST

START_TEST(lines_sum_to_the_total)
{
    comp_rates r;
    comp_rates_default(&r);
    /* three deals: 100k (40%, decelerated), 50k (crosses 50%: the first
     * 100k is paid up to 1x too), 200k (crosses 100%: 100k at 1x, 100k at 1.5x) */
    money_t credits[] = {USD(100000), USD(50000), USD(200000)}, line[3];
    int tier[3];
    comp_lines(&r, TARGET, QUOTA, 0, credits, 3, line, tier);
    ck_assert_int_eq(line[0], USD(5000));
    ck_assert_int_eq(line[1], USD(15000) - USD(5000));
    ck_assert_int_eq(line[2], USD(40000) - USD(15000)); /* 25,000 + 100k/250k x 25,000 x 1.5 = 40,000 */
    ck_assert_int_eq(line[0] + line[1] + line[2], comp_earned(&r, TARGET, QUOTA, USD(350000)));
    ck_assert_int_eq(tier[0], 0);
    ck_assert_int_eq(tier[1], 1);
    ck_assert_int_eq(tier[2], 2);
    /* a later month of the same quarter starts from what was achieved before */
    money_t more[] = {USD(25000)};
    comp_lines(&r, TARGET, QUOTA, USD(350000), more, 1, line, NULL);
    ck_assert_int_eq(line[0], USD(3750)); /* 10% above quota x 25,000 x 1.5 */
}
END_TEST

START_TEST(rate_table_checks)
{
    comp_rates r;
    comp_rates_default(&r);
    r.tiers[1].from_bp = 6000;
    ck_assert_ptr_nonnull(comp_rates_check(&r));
    comp_rates_default(&r);
    r.tiers[2].to_bp = 20000;
    ck_assert_ptr_nonnull(comp_rates_check(&r));
    comp_rates_default(&r);
    r.cap_bp = 5000;
    ck_assert_ptr_nonnull(comp_rates_check(&r));
    comp_rates_default(&r);
    r.tiers[0].from_bp = 100;
    ck_assert_ptr_nonnull(comp_rates_check(&r));
    r.ntiers = 0;
    ck_assert_ptr_nonnull(comp_rates_check(&r));
}
END_TEST

START_TEST(spif_capped_by_budget)
{
    /* $400 a deal, $1,000 budget: 400, 400, then the 200 left, then nothing */
    money_t used = 0, got[4];
    for (int i = 0; i < 4; i++) {
        got[i] = comp_spif_award(USD(400), USD(1000), used);
        used += got[i];
    }
    ck_assert_int_eq(got[0], USD(400));
    ck_assert_int_eq(got[1], USD(400));
    ck_assert_int_eq(got[2], USD(200));
    ck_assert_int_eq(got[3], 0);
    ck_assert_int_eq(used, USD(1000));
}
END_TEST

START_TEST(clawback_window)
{
    caldate_t closed = caldate_from_ymd(2026, 1, 15);
    ck_assert(comp_clawback_applies(closed, closed + 60, 90));
    ck_assert(comp_clawback_applies(closed, closed + 90, 90));
    ck_assert(!comp_clawback_applies(closed, closed + 91, 90));
    ck_assert(!comp_clawback_applies(closed, closed + 120, 90));
    ck_assert(!comp_clawback_applies(closed, closed - 1, 90)); /* a churn before the deal is not its churn */
}
END_TEST

START_TEST(pace_on_crafted_quotas)
{
    /* quota 100k, a 90-day quarter, 45 days gone: 50k expected by now */
    comp_pace p;
    comp_pace_compute(&(comp_pace_input){.has_quota = true,
                                         .quota = USD(100000),
                                         .won = USD(60000),
                                         .projected = USD(110000),
                                         .elapsed_days = 45,
                                         .period_days = 90},
                      &p);
    ck_assert(p.has_attainment && p.has_pace);
    ck_assert_double_eq(p.attainment, 0.6);
    ck_assert_double_eq(p.elapsed_share, 0.5);
    ck_assert_int_eq(p.expected_to_date, USD(50000));
    ck_assert_int_eq(p.pace_gap, USD(10000));
    ck_assert_double_eq_tol(p.pace, 1.2, 1e-12);
    ck_assert_double_eq_tol(p.projected_attain, 1.1, 1e-12);
    ck_assert_str_eq(comp_pace_status_name(p.status), "on_pace");
    /* one third of 100k, to the cent, and behind */
    comp_pace_compute(
        &(comp_pace_input){
            .has_quota = true, .quota = USD(100000), .won = USD(20000), .elapsed_days = 30, .period_days = 90},
        &p);
    ck_assert_int_eq(p.expected_to_date, 3333333);
    ck_assert_int_eq(p.pace_gap, USD(20000) - 3333333);
    ck_assert_str_eq(comp_pace_status_name(p.status), "behind");
    /* day one: no pace yet */
    comp_pace_compute(&(comp_pace_input){.has_quota = true, .quota = USD(100000), .elapsed_days = 0, .period_days = 90},
                      &p);
    ck_assert(!p.has_pace);
    ck_assert_str_eq(comp_pace_status_name(p.status), "not_started");
    /* no quota: share only */
    comp_pace_compute(&(comp_pace_input){.won = USD(5), .elapsed_days = 200, .period_days = 90}, &p);
    ck_assert(!p.has_attainment && !p.has_pace);
    ck_assert_double_eq(p.elapsed_share, 1.0);
    ck_assert_ptr_null(comp_pace_status_name(p.status));
}
END_TEST

START_TEST(templates_are_the_seed_table)
{
    ck_assert_int_eq((int)comp_ntemplates, 5);
    const comp_template *mm = comp_template_find("ae_mid_market");
    ck_assert_ptr_nonnull(mm);
    ck_assert_ptr_null(comp_template_find("vp_sales"));
    comp_plan p;
    comp_plan_from_template(mm, 3, &p);
    /* OTE 150-250K -> 200K at 50:50; 4-5x -> 4.5x a year = 900K, 225K a quarter */
    ck_assert_int_eq(p.base, USD(100000));
    ck_assert_int_eq(p.variable, USD(100000));
    ck_assert_int_eq(p.comps[0].quota, USD(225000));
    comp_warning w[COMP_MAX_WARNINGS];
    ck_assert_int_eq(comp_plan_warnings(&p, w, COMP_MAX_WARNINGS), 0);
    /* enterprise: 275K at 60:40 = 165K + 110K; 3.5x = 962.5K a year, 240,625 a quarter */
    comp_plan_from_template(comp_template_find("ae_enterprise"), 3, &p);
    ck_assert_int_eq(p.base, USD(165000));
    ck_assert_int_eq(p.variable, USD(110000));
    ck_assert_int_eq(p.comps[0].quota, USD(240625));
    ck_assert_int_eq(comp_plan_warnings(&p, w, COMP_MAX_WARNINGS), 0);
    /* CS/AM: no multiple in the seed, the rep's own quota */
    comp_plan_from_template(comp_template_find("cs_am"), 3, &p);
    ck_assert(!p.comps[0].has_quota);
    ck_assert_int_eq(p.comps[0].metric, COMP_EXPANSION_ARR);
    ck_assert_int_eq(comp_quota_warning(&p, USD(1), 3, w), 0);
}
END_TEST

static bool has(const comp_warning *w, int n, const char *rule)
{
    for (int i = 0; i < n; i++)
        if (strcmp(w[i].rule, rule) == 0)
            return true;
    return false;
}

START_TEST(design_rules)
{
    comp_plan p;
    comp_plan_from_template(comp_template_find("ae_smb"), 3, &p);
    comp_warning w[COMP_MAX_WARNINGS];
    ck_assert_int_eq(comp_plan_warnings(&p, w, COMP_MAX_WARNINGS), 0);
    p.ncomps = 4;
    for (int i = 0; i < 4; i++)
        p.comps[i] = (comp_component){.metric = COMP_NEW_ARR, .weight_bp = 2500};
    p.rates.tiers[2].from_bp = 11000; /* accelerator at 110% ... */
    p.rates.tiers[1].to_bp = 11000;
    p.rates.tiers[2].rate_bp = 25000; /* ... paying 2.5x */
    p.rates.tiers[0].rate_bp = 10000; /* no decelerator */
    p.has_spif = true;
    p.spif_budget = USD(13000); /* 10.4% of a 125K OTE */
    p.nreps = 1;
    p.clawback_days = 91;
    p.payout_months = 3;
    p.base = USD(90000); /* 72:28 */
    p.variable = USD(35000);
    int n = comp_plan_warnings(&p, w, COMP_MAX_WARNINGS);
    const char *want[] = {"max_3_components", "accelerator_rate",        "accelerator_at_100", "decelerator_below_50",
                          "spif_over_10pct",  "clawback_within_90_days", "pay_monthly",        "pay_mix"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        ck_assert_msg(has(w, n, want[i]), "missing %s", want[i]);
    ck_assert(!has(w, n, "ote_range") && !has(w, n, "one_x_to_100"));
    ck_assert_int_eq(n, 8);
    /* a SPIF shared by 2 reps is 5.2% each */
    p.nreps = 2;
    ck_assert(!has(w, comp_plan_warnings(&p, w, COMP_MAX_WARNINGS), "spif_over_10pct"));
    /* quota multiple: 4-6x of 125K OTE is 500-750K a year */
    comp_plan_from_template(comp_template_find("ae_smb"), 3, &p);
    ck_assert_int_eq(comp_quota_warning(&p, USD(125000), 3, w), 0);  /* 500K: 4x */
    ck_assert_int_eq(comp_quota_warning(&p, USD(124999), 3, w), 1);  /* just under */
    ck_assert_int_eq(comp_quota_warning(&p, USD(750000), 12, w), 0); /* 6x */
    ck_assert_int_eq(comp_quota_warning(&p, USD(800000), 12, w), 1);
    ck_assert_str_eq(w[0].rule, "quota_multiple");
}
END_TEST

START_TEST(period_payout_months_of_a_quarter)
{
    comp_rates r;
    comp_rates_default(&r);
    caldate_t q = caldate_from_ymd(2026, 1, 1), feb = caldate_from_ymd(2026, 2, 1), mar = caldate_from_ymd(2026, 3, 1),
              apr = caldate_from_ymd(2026, 4, 1);
    comp_credit c[] = {{q + 5, USD(250000)}, {feb + 3, USD(125000)}, {mar + 1, -USD(25000)}};
    money_t line[3], prior, ach;
    /* January: 100% */
    ck_assert_int_eq(comp_period_payout(&r, TARGET, QUOTA, c, 3, q, feb, line, NULL, &prior, &ach), TARGET);
    ck_assert_int_eq(prior, 0);
    ck_assert_int_eq(ach, QUOTA);
    /* February: the accelerated 50% */
    ck_assert_int_eq(comp_period_payout(&r, TARGET, QUOTA, c, 3, feb, mar, line, NULL, &prior, &ach), USD(18750));
    ck_assert_int_eq(prior, QUOTA);
    ck_assert_int_eq(line[0], 0);
    ck_assert_int_eq(line[1], USD(18750));
    /* March: a contraction takes back 10% of quota at 1.5x */
    ck_assert_int_eq(comp_period_payout(&r, TARGET, QUOTA, c, 3, mar, apr, line, NULL, &prior, &ach), -USD(3750));
    /* the three months add up to the quarter */
    ck_assert_int_eq(comp_period_payout(&r, TARGET, QUOTA, c, 3, q, apr, line, NULL, &prior, &ach),
                     comp_earned(&r, TARGET, QUOTA, USD(350000)));
    ck_assert_int_eq(comp_period_payout(&r, TARGET, QUOTA, c, 0, q, apr, line, NULL, &prior, &ach), 0);
}
END_TEST

START_TEST(quota_split_by_potential_and_ramp)
{
    static const double ramp[] = {0.0, 0.0, 0.25, 0.5, 0.5}; /* the seed's */
    caldate_t q = caldate_from_ymd(2027, 1, 1);
    comp_quota_rep reps[] = {{USD(600000), INT32_MIN, INT32_MAX},
                             {USD(300000), caldate_from_ymd(2020, 1, 6), INT32_MAX},
                             {USD(100000), q, INT32_MAX}};
    comp_quota_out out[3];
    ck_assert_int_eq(comp_quota_split(USD(341000), reps, 3, q, 3, ramp, 5, out), 0);
    /* c = 0.6, 0.3, 0.1 x 1/12: 341,000 x c / 0.908333 */
    ck_assert_int_eq(out[0].quota, 22524771);
    ck_assert_int_eq(out[1].quota, 11262385);
    ck_assert_int_eq(out[2].quota, 312844);
    ck_assert_int_eq(out[0].quota + out[1].quota + out[2].quota, USD(341000));
    ck_assert_double_eq_tol(out[2].ramp, 1.0 / 12, 1e-12);
    /* hired in month 2 of the quarter: months 1 (0) and 2 (0) of tenure; leaving: nothing after */
    comp_quota_rep late[] = {{0, caldate_from_ymd(2027, 2, 15), INT32_MAX},
                             {0, INT32_MIN, caldate_from_ymd(2027, 2, 1)}};
    ck_assert_int_eq(comp_quota_split(USD(100), late, 2, q, 3, ramp, 5, out), 0);
    ck_assert_double_eq(out[0].ramp, 0);
    ck_assert_double_eq_tol(out[1].ramp, 1.0 / 3, 1e-12);
    ck_assert_int_eq(out[1].quota, USD(100)); /* equal shares, all the capacity */
    /* a year, a rep in month 4 of tenure at the start: 0.5, 0.5, then 1 x 10 = 11/12 */
    comp_quota_rep yr[] = {{0, caldate_from_ymd(2026, 10, 1), INT32_MAX}};
    ck_assert_int_eq(comp_quota_split(USD(1000), yr, 1, q, 12, ramp, 5, out), 0);
    ck_assert_double_eq_tol(out[0].ramp, 11.0 / 12, 1e-12);
    ck_assert_int_eq(out[0].quota, USD(1000));
    /* nobody in seat */
    comp_quota_rep gone[] = {{USD(1), INT32_MIN, q}};
    ck_assert_int_eq(comp_quota_split(USD(1000), gone, 1, q, 3, ramp, 5, out), -1);
    /* three equal reps and one cent too many to split evenly: the earlier rep gets it */
    comp_quota_rep eq[] = {{0, INT32_MIN, INT32_MAX}, {0, INT32_MIN, INT32_MAX}, {0, INT32_MIN, INT32_MAX}};
    ck_assert_int_eq(comp_quota_split(100, eq, 3, q, 3, ramp, 5, out), 0);
    ck_assert_int_eq(out[0].quota, 34);
    ck_assert_int_eq(out[1].quota, 33);
    ck_assert_int_eq(out[2].quota, 33);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("comp");
    TCase *t = tcase_create("comp");
    tcase_add_test(t, target_incentive);
    tcase_add_test(t, seed_table_at_40_100_150);
    tcase_add_test(t, second_accelerator_and_cap);
    tcase_add_test(t, lines_sum_to_the_total);
    tcase_add_test(t, rate_table_checks);
    tcase_add_test(t, spif_capped_by_budget);
    tcase_add_test(t, clawback_window);
    tcase_add_test(t, pace_on_crafted_quotas);
    tcase_add_test(t, templates_are_the_seed_table);
    tcase_add_test(t, design_rules);
    tcase_add_test(t, period_payout_months_of_a_quarter);
    tcase_add_test(t, quota_split_by_potential_and_ramp);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

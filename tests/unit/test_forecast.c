/* test_forecast.c - forecast methods, roll-ups, risk flags and quantile accuracy. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forecast.h"

static funnel_def f;
static void setup(void) { funnel_default(&f); }

static caldate_t D(int y, int m, int d) { return caldate_from_ymd(y, m, d); }

static forecast_deal open_deal(money_t amount, const char *stage, forecast_category cat, caldate_t close, int group)
{
    forecast_deal d = {.amount = amount,
                       .expected_close = close,
                       .stage = funnel_stage_index(&f, stage),
                       .category = cat,
                       .probability = NAN,
                       .group = group,
                       .stage_entered = FORECAST_NO_DATE,
                       .last_activity = FORECAST_NO_DATE};
    return d;
}

static forecast_input q1_input(forecast_method m)
{
    forecast_input in = {.method = m,
                         .period_start = D(2026, 1, 1),
                         .period_end = D(2026, 4, 1),
                         .as_of = D(2026, 1, 10),
                         .funnel = &f,
                         .nquantiles = 3,
                         .quantiles = {0.1, 0.5, 0.9}};
    return in;
}

START_TEST(weighted_is_sum_of_amount_times_p_to_the_cent)
{
    forecast_deal d[] = {
        open_deal(1000001, "opportunity", FC_PIPELINE, D(2026, 2, 1), -1), /* 22.5% of $10,000.01 = 2250.00225 */
        open_deal(333333, "proposal", FC_BEST_CASE, D(2026, 3, 31), -1),   /* 60% -> 199999.8 */
        open_deal(500000, "proposal", FC_COMMIT, D(2026, 4, 1), -1),       /* next quarter: out */
        open_deal(777777, "sql", FC_UPSIDE, D(2026, 1, 20), -1),
    };
    d[3].probability = 0.33; /* override */
    forecast_input in = q1_input(FM_WEIGHTED);
    forecast_result r = {0};
    ck_assert_int_eq(forecast_compute(d, 4, &in, &r), 0);
    money_t want = money_mul_rate(1000001, 0.225) + money_mul_rate(333333, 0.60) + money_mul_rate(777777, 0.33);
    ck_assert_int_eq(r.total.weighted, want);
    ck_assert_int_eq(r.total.weighted, 225000 + 200000 + 256666);
    ck_assert_int_eq(r.total.expected, want);
    ck_assert_int_eq(r.total.open_deals, 3);
    ck_assert(r.quantile_values[0] <= r.quantile_values[1] && r.quantile_values[1] <= r.quantile_values[2]);
}
END_TEST

START_TEST(category_method_and_seed_categories)
{
    forecast_deal d[] = {
        open_deal(10000000, "proposal", FC_COMMIT, D(2026, 2, 1), 0),
        open_deal(5000000, "proposal", FC_BEST_CASE, D(2026, 2, 1), 0),
        open_deal(4000000, "opportunity", FC_PIPELINE, D(2026, 3, 1), 1),
        open_deal(9000000, "sql", FC_UPSIDE, D(2026, 3, 1), 1),
        open_deal(7000000, "opportunity", FC_OMITTED, D(2026, 3, 1), 1),
        {.amount = 2500000,
         .won = true,
         .closed_at = D(2026, 1, 5),
         .stage = funnel_stage_index(&f, "closed_won"),
         .group = 0,
         .probability = NAN,
         .stage_entered = FORECAST_NO_DATE,
         .last_activity = FORECAST_NO_DATE},
        {.amount = 9900000,
         .won = true,
         .closed_at = D(2025, 12, 31),
         .stage = funnel_stage_index(&f, "closed_won"),
         .group = 0,
         .probability = NAN,
         .stage_entered = FORECAST_NO_DATE,
         .last_activity = FORECAST_NO_DATE},
    };
    forecast_input in = q1_input(FM_CATEGORY);
    in.ngroups = 2;
    forecast_totals groups[2];
    forecast_result r = {.groups = groups};
    ck_assert_int_eq(forecast_compute(d, 7, &in, &r), 0);
    ck_assert_int_eq(r.total.closed_won, 2500000);
    ck_assert_int_eq(r.total.commit, 2500000 + 10000000);
    ck_assert_int_eq(r.total.best_case, 2500000 + 10000000 + 5000000);
    ck_assert_int_eq(r.total.pipeline, 900000); /* 22.5% of $40,000 */
    /* expected: 90% commit + 60% best case + stage-weighted pipeline; upside and omitted out */
    ck_assert_int_eq(r.total.expected, 2500000 + 9000000 + 3000000 + 900000);
    ck_assert_int_eq(groups[0].commit, 12500000);
    ck_assert_int_eq(groups[1].pipeline, 900000);
    ck_assert_int_eq(groups[0].expected + groups[1].expected, r.total.expected);
}
END_TEST

START_TEST(manager_rollup)
{
    /* groups: 0 = VP, 1 = manager (under VP), 2 and 3 = reps under the manager */
    int parent[] = {-1, 0, 1, 1};
    forecast_deal d[] = {open_deal(100000, "proposal", FC_COMMIT, D(2026, 2, 1), 2),
                         open_deal(200000, "proposal", FC_COMMIT, D(2026, 2, 1), 3),
                         open_deal(400000, "proposal", FC_COMMIT, D(2026, 2, 1), 1)};
    forecast_input in = q1_input(FM_WEIGHTED);
    in.ngroups = 4;
    in.group_parent = parent;
    forecast_totals g[4];
    forecast_result r = {.groups = g};
    ck_assert_int_eq(forecast_compute(d, 3, &in, &r), 0);
    ck_assert_int_eq(g[2].commit, 100000);
    ck_assert_int_eq(g[1].commit, 700000);
    ck_assert_int_eq(g[0].commit, 700000);
    ck_assert_int_eq(g[0].weighted, r.total.weighted);
}
END_TEST

START_TEST(happy_ears_flags)
{
    caldate_t asof = D(2026, 1, 10);
    forecast_deal d[8];
    for (int i = 0; i < 8; i++)
        d[i] = open_deal(100000, "opportunity", FC_PIPELINE, D(2026, 2, 1), 0);
    d[0].expected_close = D(2026, 1, 5); /* past close */
    d[1].push_count = 2;                 /* pushed twice */
    d[2].last_activity = asof - 14;      /* silent 14 days */
    d[3].stage_entered = asof - 41;      /* median 20 -> stale after 40 */
    d[4].amount = 310000;                /* > 3x the rep's median 100000 */
    d[5].last_activity = asof - 13;
    d[6].stage_entered = asof - 40;
    double med[9];
    for (int i = 0; i < 9; i++)
        med[i] = NAN;
    med[funnel_stage_index(&f, "opportunity")] = 20;
    forecast_input in = q1_input(FM_WEIGHTED);
    in.ngroups = 1;
    in.stage_median_days = med;
    unsigned flags[8];
    forecast_result r = {.flags = flags};
    ck_assert_int_eq(forecast_compute(d, 8, &in, &r), 0);
    ck_assert_uint_eq(flags[0], RISK_PAST_CLOSE);
    ck_assert_uint_eq(flags[1], RISK_PUSHED);
    ck_assert_uint_eq(flags[2], RISK_NO_ACTIVITY);
    ck_assert_uint_eq(flags[3], RISK_STALE_STAGE);
    ck_assert_uint_eq(flags[4], RISK_OUTSIZED);
    ck_assert_uint_eq(flags[5] | flags[6] | flags[7], 0);
    ck_assert_int_eq(r.total.flagged_deals, 5);
    ck_assert_int_eq(r.total.at_risk, 4 * 100000 + 310000);
    /* one flag halves a deal's weight */
    ck_assert_int_eq(r.total.risk_adjusted, 3 * money_mul_rate(100000, 0.225) + 4 * money_mul_rate(100000, 0.1125) +
                                                money_mul_rate(310000, 0.1125));
    ck_assert_str_eq(forecast_risk_name(3), "stale_stage");
}
END_TEST

/* outsized compares a deal with its owner's median whatever the grouping
 * (issue 16 point 5c): without group_by, and with group_by segment, where the
 * segment's median would hide the owner's big deal or flag a small one. */
START_TEST(outsized_per_owner_whatever_the_grouping)
{
    caldate_t asof = D(2026, 1, 10);
    forecast_deal d[12];
    /* ann: five deals of 10,000 and one of 40,000 (> 3 x 10,000); bob: five of
     * 100,000 and one of 40,000 (not above his median) */
    for (int i = 0; i < 12; i++) {
        d[i] = open_deal(i < 6 ? 1000000 : 10000000, "opportunity", FC_PIPELINE, D(2026, 2, 1), -1);
        d[i].owner = i < 6 ? 0 : 1;
    }
    d[5].amount = 4000000;
    d[11].amount = 4000000;
    forecast_input in = q1_input(FM_WEIGHTED);
    in.as_of = asof;
    in.nowners = 2;
    unsigned flags[12];
    forecast_result r = {.flags = flags};
    ck_assert_int_eq(forecast_compute(d, 12, &in, &r), 0); /* no group_by */
    for (int i = 0; i < 12; i++)
        ck_assert_msg(flags[i] == (i == 5 ? (unsigned)RISK_OUTSIZED : 0u), "deal %d: flags %u", i, flags[i]);
    /* grouped by segment, one segment for everyone: the median of all twelve
     * (40,000) would flag nobody; the owner's still does */
    for (int i = 0; i < 12; i++)
        d[i].group = 0;
    in.ngroups = 1;
    forecast_totals g[1];
    r.groups = g;
    ck_assert_int_eq(forecast_compute(d, 12, &in, &r), 0);
    for (int i = 0; i < 12; i++)
        ck_assert_msg(flags[i] == (i == 5 ? (unsigned)RISK_OUTSIZED : 0u), "grouped deal %d: flags %u", i, flags[i]);
    /* a deal without an owner is never outsized; an owner index out of range is bad input */
    d[5].owner = -1;
    ck_assert_int_eq(forecast_compute(d, 12, &in, &r), 0);
    ck_assert_uint_eq(flags[5], 0);
    d[5].owner = 2;
    ck_assert_int_eq(forecast_compute(d, 12, &in, &r), -1);
}
END_TEST

START_TEST(what_if_exclusion_and_win_rate_delta)
{
    forecast_deal d[] = {open_deal(100000, "opportunity", FC_PIPELINE, D(2026, 2, 1), -1),
                         open_deal(100000, "opportunity", FC_PIPELINE, D(2026, 2, 1), -1)};
    d[1].excluded = true;
    forecast_input in = q1_input(FM_WEIGHTED);
    in.win_rate_delta = -0.05;
    forecast_result r = {0};
    ck_assert_int_eq(forecast_compute(d, 2, &in, &r), 0);
    ck_assert_int_eq(r.total.weighted, money_mul_rate(100000, 0.175));
}
END_TEST

START_TEST(historical_prior_and_timing)
{
    /* no history: the Beta prior is the funnel's probability; timing from durations */
    int durations[] = {10, 20, 30, 200}; /* won 10/20/30/200 days after entering the stage */
    forecast_stage_history sh[9];
    memset(sh, 0, sizeof sh);
    int opp = funnel_stage_index(&f, "opportunity");
    sh[opp] = (forecast_stage_history){.reached = 30, .won = 15, .won_days = durations, .nwon_days = 4};
    forecast_history h = {.stages = sh, .prior_strength = 10};
    forecast_deal d[] = {open_deal(100000, "opportunity", FC_PIPELINE, D(2026, 6, 1), -1),
                         open_deal(100000, "proposal", FC_PIPELINE, D(2026, 2, 1), -1)};
    d[0].stage_entered = D(2026, 1, 5); /* age 5: durations >= 5 all alive; 10/20/30 close in Q1 -> 3/4 */
    forecast_input in = q1_input(FM_HISTORICAL);
    in.history = &h;
    double p[2];
    forecast_result r = {.deal_probability = p};
    ck_assert_int_eq(forecast_compute(d, 2, &in, &r), 0);
    double p_win = (15 + 10 * 0.225) / (30 + 10.0);
    ck_assert(fabs(p[0] - p_win * 0.75) < 1e-12);
    /* proposal has no history: prior 60%, timing falls back to the close date (in Q1) */
    ck_assert(fabs(p[1] - 0.60) < 1e-12);
    /* run-rate: 1 deal a day, 50% won, all close 10 days after creation, $1,000 each */
    int c2c[] = {10};
    h.created_per_day = 1;
    h.new_win_rate = 0.5;
    h.avg_won_amount = 100000;
    h.won_amount_sq_mean = 1e10;
    h.create_to_close_days = c2c;
    h.ncreate_to_close = 1;
    ck_assert_int_eq(forecast_compute(d, 2, &in, &r), 0);
    /* created Jan 11 .. Mar 21 close by Mar 31: 70 days x 0.5 x $1,000 */
    ck_assert_int_eq(r.total.run_rate, 70 * 50000);
    in.history = NULL;
    ck_assert_int_eq(forecast_compute(d, 2, &in, &r), -1);
}
END_TEST

START_TEST(identical_deals_match_the_binomial)
{
    /* 20 deals of $1,000 at 30%: Binomial(20, 0.3) quantiles 0.1 -> 3, 0.5 -> 6, 0.9 -> 9 */
    money_t a[20];
    double p[20];
    for (int i = 0; i < 20; i++) {
        a[i] = 100000;
        p[i] = 0.3;
    }
    double qs[] = {0.1, 0.5, 0.9};
    money_t out[3];
    ck_assert_int_eq(forecast_dist_quantiles(a, p, 20, 0, 0, 0, qs, 3, out), 0);
    ck_assert_int_eq(out[0], 300000);
    ck_assert_int_eq(out[1], 600000);
    ck_assert_int_eq(out[2], 900000); /* P(X <= 8) = 0.887 < 0.9 <= P(X <= 9) */
}
END_TEST

START_TEST(quantiles_never_below_what_is_won)
{
    /* $5,000 won, one $1,000 deal at 50% and a normal part with mean $100
     * and sd $1,000 (the parameter and record spread): X = B + N(100, 1000^2)
     * in dollars, P(X < 0) = 0.5 Phi(-0.1) + 0.5 Phi(-1.1) = 0.2979, so the
     * P10 and P25 of max(0, X) are 0 (nothing more won: $5,000); the P90
     * solves 0.5 Phi((x - 100) / 1000) + 0.5 Phi((x - 1100) / 1000) = 0.9. */
    money_t a[] = {100000};
    double p[] = {0.5};
    double qs[] = {0.1, 0.25, 0.9};
    money_t out[3];
    ck_assert_int_eq(forecast_dist_quantiles(a, p, 1, 500000, 10000, 1e10, qs, 3, out), 0);
    ck_assert_int_eq(out[0], 500000);
    ck_assert_int_eq(out[1], 500000);
    double x = (double)(out[2] - 500000) / 100; /* dollars */
    double F = 0.5 * 0.5 * erfc(-(x - 100) / 1000 / sqrt(2)) + 0.5 * 0.5 * erfc(-(x - 1100) / 1000 / sqrt(2));
    ck_assert_msg(fabs(F - 0.9) < 1e-6, "P90 %f has CDF %f", x, F);
}
END_TEST

static void rand_deals(size_t n, money_t *a, double *p, unsigned seed)
{
    srand(seed);
    for (size_t i = 0; i < n; i++) {
        double u = (rand() + 1.0) / (RAND_MAX + 2.0);
        a[i] = (money_t)(100000 * exp(2.0 * u) * (1 + rand() % 50)); /* skewed sizes */
        p[i] = 0.05 + 0.9 * rand() / (double)RAND_MAX;
    }
}

static void check_against_mc(size_t n, long trials)
{
    money_t *a = malloc(n * sizeof *a);
    double *p = malloc(n * sizeof *p);
    rand_deals(n, a, p, (unsigned)n);
    double qs[] = {0.1, 0.5, 0.9};
    money_t got[3], ref[3];
    ck_assert_int_eq(forecast_dist_quantiles(a, p, n, 0, 0, 0, qs, 3, got), 0);
    ck_assert_int_eq(forecast_mc_quantiles(a, p, n, 0, trials, 42, qs, 3, ref), 0);
    for (int i = 0; i < 3; i++) {
        double rel = fabs((double)(got[i] - ref[i])) / (double)ref[i];
        ck_assert_msg(rel < 0.005, "n=%zu q=%.1f engine %lld vs MC %lld (%.3f%%)", n, qs[i], (long long)got[i],
                      (long long)ref[i], rel * 100);
    }
    ck_assert(got[0] <= got[1] && got[1] <= got[2]);
    free(a);
    free(p);
}

START_TEST(quantiles_within_half_a_percent_of_monte_carlo)
{
    check_against_mc(40, 200000);  /* grid convolution of every deal */
    check_against_mc(1500, 40000); /* still exact grid */
    check_against_mc(6000, 10000); /* largest 256 on the grid, the rest normal */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("forecast");
    TCase *tc = tcase_create("methods");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, weighted_is_sum_of_amount_times_p_to_the_cent);
    tcase_add_test(tc, category_method_and_seed_categories);
    tcase_add_test(tc, manager_rollup);
    tcase_add_test(tc, happy_ears_flags);
    tcase_add_test(tc, outsized_per_owner_whatever_the_grouping);
    tcase_add_test(tc, what_if_exclusion_and_win_rate_delta);
    tcase_add_test(tc, historical_prior_and_timing);
    tcase_add_test(tc, identical_deals_match_the_binomial);
    tcase_add_test(tc, quantiles_never_below_what_is_won);
    tcase_add_test(tc, quantiles_within_half_a_percent_of_monte_carlo);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

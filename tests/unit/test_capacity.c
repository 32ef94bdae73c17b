/* test_capacity.c - capacity engine: the seed's worked examples exact, then
 * properties (monotonic, the plan closes the gap when it can, and is minimal). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "capacity.h"

#define USD(x) ((money_t)(x)*100)

static caldate_t d(int y, int m, int dd) { return caldate_from_ymd(y, m, dd); }

/* A rep hired long before the year: fully ramped all year. */
static capacity_rep ramped(int count)
{
    capacity_rep r = {.start = d(2023, 1, 1), .end = CAPACITY_NO_END, .count = count};
    return r;
}

static capacity_input base_input(money_t target, money_t quota, double att)
{
    capacity_input in;
    memset(&in, 0, sizeof in);
    in.fy_start = d(2026, 1, 1);
    in.target = target;
    capacity_assumptions_default(quota, att, &in.a);
    return in;
}

START_TEST(seed001_twelve_aes)
{
    capacity_error err;
    /* seed 001 phase 6: $5M / ($600K x 70%) = 12 AEs */
    ck_assert_int_eq(capacity_required_aes(USD(5000000), USD(600000), 0.70, &err), 12);
    /* seed 000 exercise at full ramp: $10M / $500K = 20; at 80%: $10M / $400K = 25 */
    ck_assert_int_eq(capacity_required_aes(USD(10000000), USD(500000), 1.0, &err), 20);
    ck_assert_int_eq(capacity_required_aes(USD(10000000), USD(500000), 0.80, &err), 25);
    /* exact division does not round up; one cent more does */
    ck_assert_int_eq(capacity_required_aes(USD(5040000), USD(600000), 0.70, &err), 12);
    ck_assert_int_eq(capacity_required_aes(USD(5040000) + 1, USD(600000), 0.70, &err), 13);
    ck_assert_int_eq(capacity_required_aes(0, USD(600000), 0.70, &err), 0);
    ck_assert_int_eq(capacity_required_aes(USD(1), 0, 0.70, &err), -1);
    ck_assert_str_eq(err.field, "quota");
    ck_assert_int_eq(capacity_required_aes(USD(1), USD(1), 0.0, &err), -1);
    ck_assert_str_eq(err.field, "attainment");
}
END_TEST

/* seed 000: "quota $500K/rep, ramp 6 months, target $10M: how many reps? What
 * if attainment is only 80%?" From an empty team, every hire on day one of
 * the fiscal year, the seed ramp (0, 0, 25%, 50%, 50%, then 100%) gives a new
 * rep 8.25 productive months in the first year. */
START_TEST(seed000_exercise_from_scratch)
{
    capacity_input in = base_input(USD(10000000), USD(500000), 1.0);
    capacity_plan p;
    capacity_error err;
    ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), 0);
    ck_assert_int_eq(p.aes_at_full_ramp, 20);
    ck_assert_int_eq(p.capacity_before, 0);
    ck_assert_int_eq(p.per_hire[0], USD(343750)); /* 500K x 8.25/12 */
    ck_assert_int_eq(p.hires_needed, 30);         /* ceil(10M / 343,750) = ceil(29.09) */
    ck_assert_int_eq(p.hires[0], 30);
    ck_assert_int_eq(p.capacity, USD(10312500));
    ck_assert(p.closable);
    ck_assert_int_eq(p.gap, -USD(312500));

    in.a.attainment = 0.80;
    ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), 0);
    ck_assert_int_eq(p.aes_at_full_ramp, 25);
    ck_assert_int_eq(p.per_hire[0], USD(275000)); /* 400K x 8.25/12 */
    ck_assert_int_eq(p.hires_needed, 37);         /* ceil(36.36) */
    ck_assert_int_eq(p.capacity, USD(10175000));
    ck_assert(p.closable);
}
END_TEST

/* The same exercise with a fully ramped team of 20 already in place. */
START_TEST(seed000_exercise_with_team)
{
    capacity_rep team = ramped(20);
    capacity_input in = base_input(USD(10000000), USD(500000), 1.0);
    in.reps = &team;
    in.nreps = 1;
    capacity_plan p;
    capacity_error err;
    ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), 0);
    ck_assert_int_eq(p.capacity_before, USD(10000000));
    ck_assert_int_eq(p.gap_before, 0);
    ck_assert_int_eq(p.hires_needed, 0);
    ck_assert(p.closable);

    in.a.attainment = 0.80; /* 20 x 400K = 8M: 2M short, 275K per day-one hire */
    ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), 0);
    ck_assert_int_eq(p.capacity_before, USD(8000000));
    ck_assert_int_eq(p.gap_before, USD(2000000));
    ck_assert_int_eq(p.hires_needed, 8);
    ck_assert_int_eq(p.hires[0], 8);
    ck_assert_int_eq(p.capacity, USD(10200000));
    for (int m = 0; m < CAPACITY_MONTHS; m++)
        ck_assert_double_eq_tol(p.months[m].headcount, 28.0, 1e-9);
    ck_assert_double_eq_tol(p.months[0].ramped_equivalent, 20.0, 1e-9);
    ck_assert_double_eq_tol(p.months[2].ramped_equivalent, 22.0, 1e-9);
    ck_assert_double_eq_tol(p.months[5].ramped_equivalent, 28.0, 1e-9);
}
END_TEST

START_TEST(ramp_month_by_month)
{
    capacity_rep hire = {.start = d(2026, 1, 1), .end = CAPACITY_NO_END, .planned = true};
    capacity_input in = base_input(0, USD(600000), 1.0);
    in.reps = &hire;
    in.nreps = 1;
    capacity_plan p;
    capacity_error err;
    ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), 0);
    /* monthly quota 50K: 0, 0, 12.5K, 25K, 25K, then 50K */
    const money_t want[12] = {0,          0,          USD(12500), USD(25000), USD(25000), USD(50000),
                              USD(50000), USD(50000), USD(50000), USD(50000), USD(50000), USD(50000)};
    money_t sum = 0;
    for (int m = 0; m < 12; m++) {
        ck_assert_int_eq(p.months[m].capacity, want[m]);
        sum += p.months[m].capacity;
        ck_assert_int_eq(p.months[m].cumulative, sum);
        ck_assert_int_eq(p.months[m].month_start, caldate_add_months(d(2026, 1, 1), m));
    }
    ck_assert_int_eq(p.capacity_before, USD(412500));
    /* a hire in month 11 or 12 is still at 0% when the year ends */
    ck_assert_int_eq(p.last_useful_month, 9);
    ck_assert_int_eq(p.per_hire[9], USD(12500));
    ck_assert_int_eq(p.per_hire[10], 0);

    /* a start on the 16th of March: half of March (16/31 days) at ramp month 1 */
    hire.start = d(2026, 3, 16);
    ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), 0);
    ck_assert_double_eq_tol(p.months[2].headcount, 16.0 / 31.0, 1e-12);
    ck_assert_double_eq_tol(p.months[3].headcount, 1.0, 1e-12);
    ck_assert_int_eq(p.months[4].capacity, USD(12500)); /* May = tenure month 3 */
}
END_TEST

START_TEST(seed_fourteen_fifteen)
{
    /* "12 AEs needed at full ramp = hire 14-15 to account for ramp +
     * attrition": a departure costs time to hire (2) + ramp loss
     * (1 + 1 + .75 + .5 + .5 = 3.75) = 5.75 productive months. */
    capacity_assumptions a;
    capacity_assumptions_default(USD(600000), 0.70, &a);
    capacity_error err;
    ck_assert_double_eq_tol(capacity_ramp_loss_months(&a), 5.75, 1e-12);
    a.annual_attrition = 0.25; /* 12 / (1 - .25 x 5.75/12) = 13.63 */
    ck_assert_int_eq(capacity_seats_for_ramped(12, &a, &err), 14);
    a.annual_attrition = 0.30; /* 12 / (1 - .30 x 5.75/12) = 14.01 */
    ck_assert_int_eq(capacity_seats_for_ramped(12, &a, &err), 15);
    a.annual_attrition = 0.0;
    ck_assert_int_eq(capacity_seats_for_ramped(12, &a, &err), 12);
    a.annual_attrition = 0.99;
    a.time_to_hire = 24;
    ck_assert_int_eq(capacity_seats_for_ramped(12, &a, &err), -1);
}
END_TEST

START_TEST(attrition_hazard_and_backfill)
{
    ck_assert_double_eq_tol(pow(1.0 - capacity_monthly_hazard(0.25), 12), 0.75, 1e-12);
    ck_assert_double_eq(capacity_monthly_hazard(0.0), 0.0);

    capacity_rep team = ramped(12);
    capacity_input in = base_input(0, USD(600000), 0.70);
    in.reps = &team;
    in.nreps = 1;
    in.a.annual_attrition = 0.25;
    in.a.backfill = false;
    capacity_plan nob, bf, none;
    capacity_error err;
    ck_assert_int_eq(capacity_plan_compute(&in, &nob, &err), 0); /* no target: months show the roster alone */
    in.target = USD(5000000);
    /* expected survivors at the start of the last month: 12 x .75^(11/12) */
    ck_assert_double_eq_tol(nob.months[11].headcount, 12.0 * pow(0.75, 11.0 / 12.0), 1e-9);
    in.a.backfill = true;
    ck_assert_int_eq(capacity_plan_compute(&in, &bf, &err), 0);
    in.a.annual_attrition = 0.0;
    ck_assert_int_eq(capacity_plan_compute(&in, &none, &err), 0);
    ck_assert_int_eq(none.capacity_before, USD(5040000)); /* 12 x 420K */
    ck_assert_int_lt(nob.capacity_before, bf.capacity_before);
    ck_assert_int_lt(bf.capacity_before, none.capacity_before);
    /* backfills appear time_to_hire months after the first departures */
    ck_assert_double_eq(bf.months[0].backfills, 0.0);
    ck_assert_double_eq(bf.months[2].backfills, 0.0);
    ck_assert_double_gt(bf.months[3].backfills, 0.0);
    /* attrition makes the 12-AE team miss $5M; the plan hires to close it */
    ck_assert_int_gt(bf.gap_before, 0);
    ck_assert(bf.closable);
    ck_assert_int_ge(bf.capacity, USD(5000000));
    ck_assert_int_gt(bf.hires_needed, 0);
}
END_TEST

START_TEST(end_dates)
{
    /* one ramped rep leaves on 1 July: six months of a $600K quota */
    capacity_rep r = {.start = d(2020, 1, 1), .end = d(2026, 7, 1)};
    capacity_input in = base_input(0, USD(600000), 1.0);
    in.reps = &r;
    in.nreps = 1;
    in.a.backfill = false;
    capacity_plan p;
    capacity_error err;
    ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), 0);
    ck_assert_int_eq(p.capacity_before, USD(300000));
    ck_assert_double_eq(p.months[6].headcount, 0.0);
    /* with backfill (time to hire 2): replacement starts 1 September */
    in.a.backfill = true;
    ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), 0);
    ck_assert_double_eq(p.months[8].backfills, 1.0);
    ck_assert_double_eq(p.months[7].headcount, 0.0);
    ck_assert_double_eq(p.months[8].headcount, 1.0);
    /* Sep 0, Oct 0, Nov 25%, Dec 50% of 50K */
    ck_assert_int_eq(p.capacity_before, USD(300000) + USD(12500) + USD(25000));
    /* a rep who left before the year counts for nothing */
    r.end = d(2025, 6, 1);
    ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), 0);
    ck_assert_int_eq(p.capacity_before, 0);
}
END_TEST

START_TEST(quota_override_and_seasonality)
{
    capacity_rep reps[2] = {ramped(2), ramped(1)};
    reps[1].quota = USD(300000); /* a half-quota rep */
    capacity_input in = base_input(USD(1500000), USD(600000), 1.0);
    in.reps = reps;
    in.nreps = 2;
    const double w[12] = {1, 1, 2, 1, 1, 2, 1, 1, 2, 1, 1, 3}; /* quarter-end heavy */
    memcpy(in.a.seasonality, w, sizeof w);
    capacity_plan p;
    capacity_error err;
    ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), 0);
    ck_assert_int_eq(p.capacity_before, USD(1500000)); /* seasonality moves, never adds */
    ck_assert_int_eq(p.months[0].capacity, USD(1500000) / 17);
    /* months are differences of the cumulative rounded once: they add up exactly */
    ck_assert_int_eq(p.months[11].capacity, 26470588);         /* 150000000 - round(150000000 x 14/17) */
    ck_assert_int_eq(p.months[2].target_cumulative, 35294118); /* 150000000 x 4/17 rounded */
    ck_assert_int_eq(p.months[11].target_cumulative, USD(1500000));
    ck_assert_int_eq(p.hires_needed, 0);
}
END_TEST

START_TEST(not_closable)
{
    capacity_input in = base_input(USD(10000000), USD(500000), 1.0);
    in.hire_from_month = 10; /* November: still at 0% on 31 December */
    capacity_plan p;
    capacity_error err;
    ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), 0);
    ck_assert(!p.closable);
    ck_assert_int_eq(p.hires_needed, 0);
    ck_assert_int_eq(p.gap, USD(10000000));

    in.hire_from_month = 0;
    in.max_hires_per_month = 2; /* recruiting can start two a month */
    ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), 0);
    ck_assert(!p.closable);
    for (int m = 0; m < 12; m++)
        ck_assert_int_eq(p.hires[m], m <= p.last_useful_month ? 2 : 0);
    ck_assert_int_eq(p.gap, USD(10000000) - p.capacity);
    ck_assert_int_gt(p.gap, 0);
}
END_TEST

static uint64_t rng = 88172645463325252ULL;
static double unif(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* The plan closes every closable gap, and minimally: one hire fewer in its
 * last hiring month falls short. Unlimited hiring from a month whose hire
 * adds capacity is always closable. */
START_TEST(plan_closes_gap_property)
{
    for (int it = 0; it < 300; it++) {
        capacity_rep team[2] = {ramped(1 + (int)(unif() * 20)),
                                {.start = d(2026, 1 + (int)(unif() * 12), 1), .end = CAPACITY_NO_END}};
        capacity_input in = base_input(USD(1000000 + (money_t)(unif() * 20000000)),
                                       USD(300000 + (money_t)(unif() * 700000)), 0.5 + unif() * 0.7);
        in.reps = team;
        in.nreps = 2;
        in.a.annual_attrition = unif() * 0.4;
        in.a.backfill = unif() < 0.5;
        in.a.time_to_hire = (int)(unif() * 4);
        in.hire_from_month = (int)(unif() * 9);
        in.max_hires_per_month = unif() < 0.5 ? 0 : 1 + (int)(unif() * 5);
        capacity_plan p;
        capacity_error err;
        ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), 0);
        if (in.max_hires_per_month == 0 && p.per_hire[in.hire_from_month] > 0)
            ck_assert(p.closable);
        if (p.closable) {
            ck_assert_int_ge(p.capacity, in.target);
            if (p.hires_needed > 0) {
                /* the same plan minus one hire in its last month, given as
                 * planned roster rows, must fall short */
                int last = 11;
                while (p.hires[last] == 0)
                    last--;
                capacity_rep roster[2 + 12] = {team[0], team[1]};
                size_t n = 2;
                for (int m = 0; m < 12; m++) {
                    int h = p.hires[m] - (m == last);
                    if (h > 0)
                        roster[n++] = (capacity_rep){.start = caldate_add_months(in.fy_start, m),
                                                     .end = CAPACITY_NO_END,
                                                     .count = h,
                                                     .planned = true};
                }
                capacity_input in2 = in;
                in2.reps = roster;
                in2.nreps = n;
                capacity_plan q;
                ck_assert_int_eq(capacity_plan_compute(&in2, &q, &err), 0);
                ck_assert_int_lt(q.capacity_before, in.target);
                ck_assert_int_eq(q.hires_needed, 1);
            }
        } else {
            ck_assert_int_gt(p.gap, 0);
            for (int m = in.hire_from_month; m <= p.last_useful_month; m++)
                ck_assert_int_eq(p.hires[m], in.max_hires_per_month);
        }
    }
}
END_TEST

START_TEST(monotonic_in_quota_and_attainment)
{
    capacity_rep team[2] = {ramped(7), {.start = d(2026, 4, 1), .end = CAPACITY_NO_END, .count = 3}};
    capacity_error err;
    int prev_aes = 1 << 30;
    money_t prev_cap = -1;
    for (money_t q = USD(100000); q <= USD(1000000); q += USD(25000)) {
        int aes = capacity_required_aes(USD(5000000), q, 0.7, &err);
        ck_assert_int_le(aes, prev_aes);
        prev_aes = aes;
        capacity_input in = base_input(USD(5000000), q, 0.7);
        in.reps = team;
        in.nreps = 2;
        in.a.annual_attrition = 0.2;
        capacity_plan p;
        ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), 0);
        ck_assert_int_ge(p.capacity_before, prev_cap);
        prev_cap = p.capacity_before;
    }
    prev_aes = 1 << 30;
    prev_cap = -1;
    int prev_hires = 1 << 30;
    for (double att = 0.3; att <= 1.5; att += 0.05) {
        int aes = capacity_required_aes(USD(5000000), USD(600000), att, &err);
        ck_assert_int_le(aes, prev_aes);
        prev_aes = aes;
        capacity_input in = base_input(USD(5000000), USD(600000), att);
        in.reps = team;
        in.nreps = 2;
        capacity_plan p;
        ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), 0);
        ck_assert_int_ge(p.capacity_before, prev_cap);
        ck_assert_int_le(p.hires_needed, prev_hires);
        prev_cap = p.capacity_before;
        prev_hires = p.hires_needed;
    }
}
END_TEST

START_TEST(invalid_input)
{
    capacity_input in = base_input(USD(1000), USD(600000), 0.7);
    capacity_plan p;
    capacity_error err;
    in.fy_start = d(2026, 1, 15);
    ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), -1);
    ck_assert_str_eq(err.field, "fy_start");
    in = base_input(USD(1000), USD(600000), 0.7);
    capacity_rep bad = {.start = d(2026, 3, 1), .end = d(2026, 2, 1)};
    in.reps = &bad;
    in.nreps = 1;
    ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), -1);
    ck_assert_str_eq(err.field, "reps[0].end");
    in = base_input(USD(1000), USD(600000), 0.7);
    in.a.ramp[2] = 1.5;
    ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), -1);
    ck_assert_str_eq(err.field, "ramp[2]");
    in = base_input(USD(1000), USD(600000), 0.7);
    in.a.annual_attrition = 1.0;
    ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), -1);
    ck_assert_str_eq(err.field, "annual_attrition");
    in = base_input(USD(1000), USD(600000), 0.7);
    in.hire_from_month = 12;
    ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), -1);
    ck_assert_str_eq(err.field, "hire_from_month");
    in = base_input(-1, USD(600000), 0.7);
    ck_assert_int_eq(capacity_plan_compute(&in, &p, &err), -1);
    ck_assert_str_eq(err.field, "target");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("capacity");
    TCase *tc = tcase_create("capacity");
    tcase_add_test(tc, seed001_twelve_aes);
    tcase_add_test(tc, seed000_exercise_from_scratch);
    tcase_add_test(tc, seed000_exercise_with_team);
    tcase_add_test(tc, ramp_month_by_month);
    tcase_add_test(tc, seed_fourteen_fifteen);
    tcase_add_test(tc, attrition_hazard_and_backfill);
    tcase_add_test(tc, end_dates);
    tcase_add_test(tc, quota_override_and_seasonality);
    tcase_add_test(tc, not_closable);
    tcase_add_test(tc, plan_closes_gap_property);
    tcase_add_test(tc, monotonic_in_quota_and_attainment);
    tcase_add_test(tc, invalid_input);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

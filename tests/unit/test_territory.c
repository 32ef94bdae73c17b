/* test_territory.c - territory balancer: exact small maps, the disruption and
 * change reports, and properties on generated maps (every account once, pins
 * and segments respected, totals conserved, balance within target). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "territory.h"

#define USD(x) ((money_t)(x)*100)

static uint64_t rng;
static double unif(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static territory_account acct(money_t pot, money_t pipe, double work)
{
    territory_account a = {
        .potential = pot, .pipeline = pipe, .workload = work, .segment = -1, .pinned = -1, .current = -1};
    return a;
}

static void gen(territory_account *a, size_t n, int nseg, double pin_share, int k, uint64_t seed)
{
    rng = seed;
    for (size_t i = 0; i < n; i++) {
        a[i] = acct((money_t)(1000000.0 * exp(3.0 * unif())), unif() < 0.5 ? (money_t)(500000.0 * unif()) : 0,
                    1.0 + 3.0 * unif());
        a[i].segment = nseg > 0 ? (int)(i % (size_t)nseg) : -1;
        if (unif() < pin_share)
            a[i].pinned = nseg > 0 ? a[i].segment + nseg * (int)(unif() * (k / nseg)) : (int)(unif() * k);
    }
}

START_TEST(identical_accounts_split_evenly)
{
    territory_account a[8];
    for (int i = 0; i < 8; i++)
        a[i] = acct(USD(1000), USD(500), 2.0);
    territory_def t[4] = {{1, 0}, {1, 0}, {1, 0}, {1, 0}};
    int asg[8];
    territory_row rows[4];
    territory_result r = {.assignment = asg, .rows = rows};
    territory_options opt;
    territory_options_default(&opt);
    territory_error err;
    ck_assert_int_eq(territory_balance(a, 8, t, 4, &opt, &r, &err), 0);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(rows[i].proposed.accounts, 2);
        ck_assert_int_eq(rows[i].proposed.potential, USD(2000));
        ck_assert_double_eq_tol(rows[i].proposed.composite, 1.0, 1e-12);
    }
    ck_assert_double_eq_tol(r.balance.max_over_mean[TERR_COMPOSITE], 1.0, 1e-12);
    ck_assert_double_eq_tol(r.balance.cv[TERR_POTENTIAL], 0.0, 1e-12);
    ck_assert_double_eq_tol(r.lower_bound, 1.0, 1e-12);
    ck_assert(r.tam_rule_ok);
    ck_assert_int_eq(r.newly_assigned, 8);
    ck_assert_int_eq(r.moved, 0);
}
END_TEST

START_TEST(capacity_factor)
{
    /* a ramping rep at half capacity gets half the book */
    territory_account a[300];
    for (int i = 0; i < 300; i++)
        a[i] = acct(USD(1000), USD(100), 1.0);
    territory_def t[2] = {{1.0, 0}, {0.5, 0}};
    int asg[300];
    territory_row rows[2];
    territory_result r = {.assignment = asg, .rows = rows};
    territory_error err;
    ck_assert_int_eq(territory_balance(a, 300, t, 2, NULL, &r, &err), 0);
    ck_assert_int_eq(rows[0].proposed.accounts, 200);
    ck_assert_int_eq(rows[1].proposed.accounts, 100);
    ck_assert_double_eq_tol(rows[1].proposed.load[TERR_POTENTIAL], 1.0, 1e-12);
    ck_assert_double_eq_tol(r.tam_ratio, 1.0, 1e-12); /* per unit capacity */
}
END_TEST

START_TEST(one_account_above_the_mean)
{
    /* a whale worth 10 small accounts on every criterion, 3 territories,
     * 10 small ones: the fair share is 20/3 units, the whale alone is 10 */
    territory_account a[11];
    a[0] = acct(USD(10000), USD(10000), 10.0);
    for (int i = 1; i < 11; i++)
        a[i] = acct(USD(1000), USD(1000), 1.0);
    territory_def t[3] = {{1, 0}, {1, 0}, {1, 0}};
    territory_options opt;
    territory_options_default(&opt);
    opt.weights[TERR_ACCOUNTS] = 0; /* size only, so the bound is exact */
    int asg[11];
    territory_row rows[3];
    territory_result r = {.assignment = asg, .rows = rows};
    territory_error err;
    ck_assert_int_eq(territory_balance(a, 11, t, 3, &opt, &r, &err), 0);
    ck_assert_double_eq_tol(r.lower_bound, 1.5, 1e-12);  /* 10 / (20/3) */
    ck_assert_int_eq(rows[asg[0]].proposed.accounts, 1); /* nothing else joins the whale */
    ck_assert_double_eq_tol(rows[asg[0]].proposed.composite, 1.5, 1e-12);
    for (int i = 0; i < 3; i++)
        if (i != asg[0])
            ck_assert_int_eq(rows[i].proposed.accounts, 5);
    ck_assert_double_eq_tol(r.tam_ratio, 2.0, 1e-12); /* 10K vs 5K potential */
    ck_assert(r.tam_rule_ok);                         /* "no rep > 2x": exactly 2x passes */
}
END_TEST

START_TEST(change_and_disruption_report)
{
    territory_account a[3] = {acct(USD(100), USD(10), 1), acct(USD(200), USD(20), 1), acct(USD(300), 0, 1)};
    a[0].current = 0;
    a[1].current = 0;
    a[2].current = 1;
    territory_def t[2] = {{1, 0}, {1, 0}};
    int proposed[3] = {0, 1, 1};
    territory_row rows[2];
    territory_result r = {.rows = rows};
    territory_error err;
    ck_assert_int_eq(territory_report(a, 3, t, 2, NULL, proposed, &r, &err), 0);
    ck_assert_int_eq(r.moved, 1);
    ck_assert_int_eq(r.potential_moved, USD(200));
    ck_assert_int_eq(r.pipeline_moved, USD(20));
    ck_assert_int_eq(rows[0].lost, 1);
    ck_assert_int_eq(rows[0].potential_lost, USD(200));
    ck_assert_int_eq(rows[1].gained, 1);
    ck_assert_int_eq(rows[1].pipeline_gained, USD(20));
    ck_assert_int_eq(rows[0].current.accounts, 2);
    ck_assert_int_eq(rows[0].current.potential, USD(300));
    ck_assert_int_eq(rows[0].proposed.potential, USD(100));
    ck_assert_int_eq(rows[1].proposed.potential, USD(500));
    ck_assert_double_eq_tol(r.tam_ratio, 5.0, 1e-12);
    ck_assert(!r.tam_rule_ok);
    ck_assert_double_eq_tol(r.balance_current.max_over_mean[TERR_POTENTIAL], 1.0, 1e-12); /* 300 / 300 */
    int bad[3] = {0, 2, 1};
    ck_assert_int_eq(territory_report(a, 3, t, 2, NULL, bad, &r, &err), -1);
    ck_assert_str_eq(err.field, "assignment[1]");
}
END_TEST

/* An account whose territory the plan removes moves: counted with its
 * potential and pipeline, gained by its new territory, lost by no row. */
START_TEST(removed_territory_counts_as_moved)
{
    territory_account a[3] = {acct(USD(100), USD(10), 1), acct(USD(200), USD(20), 1), acct(USD(300), 0, 1)};
    a[0].current = 0;
    a[1].current = TERRITORY_REMOVED;
    a[2].current = -1;
    territory_def t[2] = {{1, 0}, {1, 0}};
    int proposed[3] = {0, 1, 1};
    territory_row rows[2];
    territory_result r = {.rows = rows};
    territory_error err;
    ck_assert_int_eq(territory_report(a, 3, t, 2, NULL, proposed, &r, &err), 0);
    ck_assert_int_eq(r.moved, 1);
    ck_assert_int_eq(r.newly_assigned, 1);
    ck_assert_int_eq(r.potential_moved, USD(200));
    ck_assert_int_eq(r.pipeline_moved, USD(20));
    ck_assert_int_eq(rows[1].gained, 1);
    ck_assert_int_eq(rows[0].lost + rows[1].lost, 0);
    ck_assert_int_eq(rows[0].current.accounts + rows[1].current.accounts, 1);
    a[1].current = TERRITORY_REMOVED - 1;
    ck_assert_int_eq(territory_report(a, 3, t, 2, NULL, proposed, &r, &err), -1);
}
END_TEST

static void check_properties(const territory_account *a, size_t n, const territory_def *t, size_t k,
                             const territory_result *r)
{
    long count = 0;
    money_t pot = 0, pot_in = 0, pipe = 0, pipe_in = 0;
    double work = 0.0, work_in = 0.0;
    for (size_t i = 0; i < n; i++) {
        int ti = r->assignment[i];
        ck_assert(ti >= 0 && (size_t)ti < k);
        if (a[i].pinned >= 0)
            ck_assert_int_eq(ti, a[i].pinned);
        else if (a[i].segment >= 0 && t[ti].segments != 0)
            ck_assert((t[ti].segments >> a[i].segment) & 1u);
        pot_in += a[i].potential;
        pipe_in += a[i].pipeline;
        work_in += a[i].workload;
    }
    for (size_t j = 0; j < k; j++) {
        count += r->rows[j].proposed.accounts;
        pot += r->rows[j].proposed.potential;
        pipe += r->rows[j].proposed.pipeline;
        work += r->rows[j].proposed.workload;
    }
    ck_assert_int_eq(count, (long)n); /* every account exactly once */
    ck_assert_int_eq(pot, pot_in);
    ck_assert_int_eq(pipe, pipe_in);
    ck_assert_double_eq_tol(work, work_in, 1e-6 * work_in);
    ck_assert_double_ge(r->balance.max_over_mean[TERR_COMPOSITE], 1.0);
}

START_TEST(properties_unconstrained)
{
    enum { N = 4000, K = 20 };
    territory_account *a = calloc(N, sizeof *a);
    int *asg = calloc(N, sizeof *asg);
    territory_def t[K];
    territory_row rows[K];
    for (int j = 0; j < K; j++)
        t[j] = (territory_def){j % 5 == 4 ? 0.5 : 1.0, 0};
    gen(a, N, 0, 0.0, K, 12345);
    territory_result r = {.assignment = asg, .rows = rows};
    territory_error err;
    ck_assert_int_eq(territory_balance(a, N, t, K, NULL, &r, &err), 0);
    check_properties(a, N, t, K, &r);
    ck_assert_double_eq_tol(r.lower_bound, 1.0, 1e-12);
    /* the target: composite max/mean <= 1.02 when achievable */
    ck_assert_double_le(r.balance.max_over_mean[TERR_COMPOSITE], 1.02);
    ck_assert(r.tam_rule_ok);

    /* deterministic */
    int *again = calloc(N, sizeof *again);
    territory_result r2 = {.assignment = again, .rows = rows};
    ck_assert_int_eq(territory_balance(a, N, t, K, NULL, &r2, &err), 0);
    ck_assert_int_eq(memcmp(asg, again, N * sizeof *asg), 0);
    free(again);
    free(a);
    free(asg);
}
END_TEST

START_TEST(properties_pins_and_segments)
{
    enum { N = 3000, K = 24 };
    territory_account *a = calloc(N, sizeof *a);
    int *asg = calloc(N, sizeof *asg);
    territory_def t[K];
    territory_row rows[K];
    for (int j = 0; j < K; j++) /* territory j takes segment j % 3 only */
        t[j] = (territory_def){1.0, 1ull << (j % 3)};
    for (uint64_t seed = 1; seed <= 5; seed++) {
        gen(a, N, 3, 0.03, K, seed * 7919);
        territory_result r = {.assignment = asg, .rows = rows};
        territory_error err;
        ck_assert_int_eq(territory_balance(a, N, t, K, NULL, &r, &err), 0);
        check_properties(a, N, t, K, &r);
        ck_assert_double_ge(r.balance.max_over_mean[TERR_COMPOSITE] + 1e-9, r.lower_bound / 1.0001 - 0.05);
        ck_assert_double_le(r.balance.max_over_mean[TERR_COMPOSITE],
                            (r.lower_bound > 1.0 ? r.lower_bound : 1.0) + 0.02);
    }
    free(a);
    free(asg);
}
END_TEST

START_TEST(disruption_weight)
{
    enum { N = 2000, K = 10 };
    territory_account *a = calloc(N, sizeof *a);
    int *asg = calloc(N, sizeof *asg);
    territory_def t[K];
    territory_row rows[K];
    for (int j = 0; j < K; j++)
        t[j] = (territory_def){1.0, 0};
    gen(a, N, 0, 0.0, K, 424242);
    territory_options opt;
    territory_options_default(&opt);
    territory_result r = {.assignment = asg, .rows = rows};
    territory_error err;
    ck_assert_int_eq(territory_balance(a, N, t, K, &opt, &r, &err), 0);
    double balanced = r.balance.max_over_mean[TERR_COMPOSITE];

    /* today's map is that balanced one: a high disruption weight leaves it alone */
    for (int i = 0; i < N; i++)
        a[i].current = asg[i];
    opt.disruption_weight = 1.0;
    ck_assert_int_eq(territory_balance(a, N, t, K, &opt, &r, &err), 0);
    ck_assert_int_eq(r.moved, 0);
    ck_assert_double_eq_tol(r.balance.max_over_mean[TERR_COMPOSITE], balanced, 1e-12);

    /* today's map is lopsided (a third of the accounts in territory 0) */
    for (int i = 0; i < N; i++)
        a[i].current = i % 3 == 0 ? 0 : 1 + i % (K - 1);
    long prev_moved = N + 1;
    const double lambdas[] = {0.0001, 0.01, 0.1, 10.0};
    for (int li = 0; li < 4; li++) {
        opt.disruption_weight = lambdas[li];
        ck_assert_int_eq(territory_balance(a, N, t, K, &opt, &r, &err), 0);
        check_properties(a, N, t, K, &r);
        ck_assert_int_le(r.moved, prev_moved); /* more weight, fewer moves */
        ck_assert_double_lt(r.balance.max_over_mean[TERR_COMPOSITE], r.balance_current.max_over_mean[TERR_COMPOSITE]);
        long gained = 0, lost = 0;
        for (int j = 0; j < K; j++) {
            gained += r.rows[j].gained;
            lost += r.rows[j].lost;
        }
        ck_assert_int_eq(gained, r.moved);
        ck_assert_int_eq(lost, r.moved);
        prev_moved = r.moved;
        if (li == 0)
            ck_assert_double_le(r.balance.max_over_mean[TERR_COMPOSITE], 1.02);
    }
    ck_assert_double_gt(r.balance_current.max_over_mean[TERR_COMPOSITE], 2.0); /* the lopsided map, reported */
    free(a);
    free(asg);
}
END_TEST

START_TEST(invalid_input)
{
    territory_account a[2] = {acct(1, 1, 1), acct(1, 1, 1)};
    territory_def t[2] = {{1, 1u << 0}, {1, 1u << 1}};
    int asg[2];
    territory_row rows[2];
    territory_result r = {.assignment = asg, .rows = rows};
    territory_error err;
    a[1].segment = 5; /* nobody takes segment 5 */
    ck_assert_int_eq(territory_balance(a, 2, t, 2, NULL, &r, &err), -1);
    ck_assert_str_eq(err.field, "accounts[1].segment");
    a[1].segment = 1;
    a[1].pinned = 0; /* a pin beats the segment rule (named accounts) */
    ck_assert_int_eq(territory_balance(a, 2, t, 2, NULL, &r, &err), 0);
    ck_assert_int_eq(asg[1], 0);
    a[1].pinned = 2;
    ck_assert_int_eq(territory_balance(a, 2, t, 2, NULL, &r, &err), -1);
    ck_assert_str_eq(err.field, "accounts[1].pinned");
    a[1].pinned = -1;
    a[0].potential = -5;
    ck_assert_int_eq(territory_balance(a, 2, t, 2, NULL, &r, &err), -1);
    ck_assert_str_eq(err.field, "accounts[0].potential");
    a[0].potential = 1;
    t[1].capacity = 0;
    ck_assert_int_eq(territory_balance(a, 2, t, 2, NULL, &r, &err), -1);
    ck_assert_str_eq(err.field, "territories[1].capacity");
    t[1].capacity = 1;
    ck_assert_int_eq(territory_balance(a, 2, t, 0, NULL, &r, &err), -1);
    ck_assert_int_eq(territory_balance(NULL, 0, t, 2, NULL, &r, &err), 0); /* nothing to place */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("territory");
    TCase *tc = tcase_create("territory");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, identical_accounts_split_evenly);
    tcase_add_test(tc, capacity_factor);
    tcase_add_test(tc, one_account_above_the_mean);
    tcase_add_test(tc, change_and_disruption_report);
    tcase_add_test(tc, removed_territory_counts_as_moved);
    tcase_add_test(tc, properties_unconstrained);
    tcase_add_test(tc, properties_pins_and_segments);
    tcase_add_test(tc, disruption_weight);
    tcase_add_test(tc, invalid_input);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

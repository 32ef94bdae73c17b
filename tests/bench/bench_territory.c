/* bench_territory.c - territory balancer: time and balance for 10k and 100k
 * accounts into 200 territories (4 regions, 10% ramping reps at half
 * capacity, 1% pinned named accounts), then a re-run from that map with a
 * high disruption weight (should move almost nothing). Accounts come from a
 * seeded generator, so every run balances the same input. Each case runs
 * RUNS times (argv[1], default 5): the median time with min and max.
 * Prints markdown. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "territory.h"

#define NTERR 200

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static uint64_t rng_state;
static double unif(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

/* Regions take 40/30/20/10% of accounts and of territories. */
static int region_of_territory(int t) { return t < 80 ? 0 : t < 140 ? 1 : t < 180 ? 2 : 3; }

static void generate(territory_account *a, size_t n, territory_def *t, uint64_t seed)
{
    rng_state = seed;
    for (int i = 0; i < NTERR; i++) {
        t[i].segments = 1ull << region_of_territory(i);
        t[i].capacity = i % 10 == 9 ? 0.5 : 1.0;
    }
    for (size_t i = 0; i < n; i++) {
        double u = unif();
        a[i].segment = u < 0.4 ? 0 : u < 0.7 ? 1 : u < 0.9 ? 2 : 3;
        /* potential $10k..$2M, heavy-tailed like real TAM */
        a[i].potential = (money_t)(1000000.0 * exp(5.3 * pow(unif(), 2.0)));
        a[i].pipeline = unif() < 0.4 ? (money_t)((double)a[i].potential * 0.5 * unif()) : 0;
        a[i].workload = 1.0 + 4.0 * unif();
        a[i].pinned = -1;
        a[i].current = -1;
        if (unif() < 0.01) { /* a named account, pinned to a territory of its region */
            int lo = a[i].segment == 0 ? 0 : a[i].segment == 1 ? 80 : a[i].segment == 2 ? 140 : 180;
            int hi = a[i].segment == 0 ? 80 : a[i].segment == 1 ? 140 : a[i].segment == 2 ? 180 : 200;
            a[i].pinned = lo + (int)(unif() * (hi - lo));
        }
    }
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    if (runs < 1 || runs > 100)
        runs = 5;
    double times[100];
    const size_t sizes[] = {10000, 100000};
    printf("| accounts | territories | run | ms median (min-max) | composite max/mean | lower bound | composite "
           "max/min | composite CV |"
           " potential max/mean | pipeline max/mean | workload max/mean | TAM ratio | passes | moved |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        territory_account *a = calloc(n, sizeof *a);
        int *asg = calloc(n, sizeof *asg);
        territory_def t[NTERR];
        territory_row rows[NTERR];
        if (!a || !asg)
            return 1;
        generate(a, n, t, 0x9E3779B97F4A7C15ull + n);
        territory_options opt;
        territory_options_default(&opt);
        for (int run = 0; run < 2; run++) {
            if (run == 1) { /* today's map is the balanced one; changes now cost a lot */
                for (size_t i = 0; i < n; i++)
                    a[i].current = asg[i];
                opt.disruption_weight = 1.0;
            }
            territory_result r = {.assignment = asg, .rows = rows};
            territory_error err;
            for (int k = 0; k < runs; k++) { /* the same input each time: the same answer */
                double t0 = now_ms();
                if (territory_balance(a, n, t, NTERR, &opt, &r, &err) != 0) {
                    fprintf(stderr, "territory_balance: %s: %s\n", err.field, err.message);
                    return 1;
                }
                times[k] = now_ms() - t0;
            }
            qsort(times, (size_t)runs, sizeof times[0], cmp_double);
            printf("| %zu | %d | %s | %.0f (%.0f-%.0f) | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %.4f | %.3f | %d | "
                   "%ld |\n",
                   n, NTERR, run == 0 ? "from scratch" : "re-run, disruption weight 1", times[runs / 2], times[0],
                   times[runs - 1], r.balance.max_over_mean[TERR_COMPOSITE], r.lower_bound,
                   r.balance.max_over_min[TERR_COMPOSITE], r.balance.cv[TERR_COMPOSITE],
                   r.balance.max_over_mean[TERR_POTENTIAL], r.balance.max_over_mean[TERR_PIPELINE],
                   r.balance.max_over_mean[TERR_WORKLOAD], r.tam_ratio, r.passes, r.moved);
        }
        free(a);
        free(asg);
    }
    return 0;
}

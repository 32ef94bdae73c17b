/* bench_forecast.c - forecast engine quantiles: time for 1k..1M open deals and
 * error against a seeded Monte Carlo reference. Prints a markdown table.
 * Deals are generated deterministically (seeded), skewed like real pipelines.
 *
 *   bench_forecast [MC_TRIALS [DIR]]
 *
 * With DIR, each size's deals go to DIR/deals_N.bin (N int64 amounts in
 * cents, then N float64 probabilities) and the engine's figures to
 * DIR/ref_N.txt ("n engine_ms engine_error ref_p10 ref_p50 ref_p90 trials"),
 * for tests/bench/numpy_mc.py to run a numpy Monte Carlo on the same deals. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "forecast.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void gen(size_t n, money_t *a, double *p, unsigned seed)
{
    uint64_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(s >> 11) / 9007199254740992.0;
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double v = (double)(s >> 11) / 9007199254740992.0;
        a[i] = (money_t)(500000 * exp(2.5 * u)); /* $5k .. $60k, log-uniform */
        p[i] = 0.05 + 0.9 * v;
    }
}

static int dump(const char *dir, size_t n, const money_t *a, const double *p, double ms, double err,
                const money_t ref[3], long trials)
{
    char path[512];
    snprintf(path, sizeof path, "%s/deals_%zu.bin", dir, n);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(a, sizeof *a, n, f) != n || fwrite(p, sizeof *p, n, f) != n || fclose(f) != 0) {
        perror(path);
        return -1;
    }
    snprintf(path, sizeof path, "%s/ref_%zu.txt", dir, n);
    f = fopen(path, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    fprintf(f, "%zu %.4f %.9f %lld %lld %lld %ld\n", n, ms, err, (long long)ref[0], (long long)ref[1],
            (long long)ref[2], trials);
    return fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    long mc_trials = argc > 1 ? atol(argv[1]) : 100000;
    const char *dir = argc > 2 ? argv[2] : NULL;
    const size_t sizes[] = {1000, 10000, 100000, 1000000};
    const double qs[] = {0.1, 0.5, 0.9};
    printf("| open deals | engine ms (median of 5) | P10 | P50 | P90 | max error vs MC (%ld trials) | MC ms |\n",
           mc_trials);
    printf("|---|---|---|---|---|---|---|\n");
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        money_t *a = malloc(n * sizeof *a);
        double *p = malloc(n * sizeof *p);
        gen(n, a, p, (unsigned)n);
        money_t got[3], ref[3];
        double times[5];
        for (int r = 0; r < 5; r++) {
            double t0 = now_ms();
            if (forecast_dist_quantiles(a, p, n, 0, 0, 0, qs, 3, got) != 0)
                return 1;
            times[r] = now_ms() - t0;
        }
        for (int i = 0; i < 5; i++) /* median of 5 */
            for (int j = i + 1; j < 5; j++)
                if (times[j] < times[i]) {
                    double t = times[i];
                    times[i] = times[j];
                    times[j] = t;
                }
        /* MC cost is n x trials: keep the reference affordable at 1M deals */
        long trials = n >= 1000000 ? mc_trials / 20 : n >= 100000 ? mc_trials / 5 : mc_trials;
        double t0 = now_ms();
        if (forecast_mc_quantiles(a, p, n, 0, trials, 7, qs, 3, ref) != 0)
            return 1;
        double mc_ms = now_ms() - t0;
        double err = 0;
        for (int i = 0; i < 3; i++)
            err = fmax(err, fabs((double)(got[i] - ref[i])) / (double)ref[i]);
        if (dir && dump(dir, n, a, p, times[2], err, ref, trials) != 0)
            return 1;
        printf("| %zu | %.2f (%.2f-%.2f) | %.0f | %.0f | %.0f | %.3f%% (%ld trials) | %.0f |\n", n, times[2], times[0],
               times[4], money_to_double(got[0]), money_to_double(got[1]), money_to_double(got[2]), err * 100, trials,
               mc_ms);
        free(a);
        free(p);
    }
    return 0;
}

#!/usr/bin/env python3
"""numpy_mc.py - the numpy Monte Carlo reference for the forecast engine (issue 9).

    numpy_mc.py DIR [RUNS]

Reads what `bench_forecast MC_TRIALS DIR` wrote (the same seeded deals and the
engine's time and quantile error against the C Monte Carlo reference) and runs
a vectorised numpy Monte Carlo on each size: every trial draws one Bernoulli
per deal (won with its probability) and sums the amounts won; P10/P50/P90 by
linear interpolation, as the C reference does. Its error against the same
reference is measured at a fixed budget of trials, and the time it would need
to be as accurate as the engine is extrapolated with Monte Carlo's 1/sqrt(trials)
law: t_equal = t * (error_numpy / error_engine)^2. Prints a markdown table;
each time is the median of RUNS runs (min-max).
"""
import os
import sys
import time

import numpy as np

QS = (0.1, 0.5, 0.9)
CELLS = 2.0e8  # deal x trial draws per run: about the same work at every size
CHUNK = 4.0e6  # draws held in memory at once (32 MB of float64)


def mc(a, p, trials, rng):
    n = len(a)
    per = max(1, int(CHUNK // n))
    sums = np.empty(trials)
    done = 0
    while done < trials:
        k = min(per, trials - done)
        won = rng.random((k, n)) < p
        sums[done:done + k] = won @ a
        done += k
    return np.quantile(sums, QS)


def main():
    d = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    print("| open deals | numpy trials | numpy ms median (min-max) | numpy max error vs reference | engine ms |"
          " engine error | numpy ms at the engine's error (extrapolated) | engine speed-up at equal accuracy |")
    print("|---|---|---|---|---|---|---|---|")
    sizes = sorted(int(f[4:-4]) for f in os.listdir(d) if f.startswith("ref_") and f.endswith(".txt"))
    for n in sizes:
        with open(os.path.join(d, f"ref_{n}.txt")) as f:
            fields = f.read().split()
        eng_ms, eng_err = float(fields[1]), float(fields[2])
        ref = np.array([float(x) for x in fields[3:6]])
        raw = np.fromfile(os.path.join(d, f"deals_{n}.bin"), dtype=np.uint8)
        a = raw[:8 * n].view(np.int64).astype(np.float64)
        p = raw[8 * n:16 * n].view(np.float64)
        trials = max(100, int(CELLS // n))
        times, errs = [], []
        for r in range(runs):
            rng = np.random.default_rng(1000 + r)
            t0 = time.perf_counter()
            q = mc(a, p, trials, rng)
            times.append((time.perf_counter() - t0) * 1000)
            errs.append(float(np.max(np.abs(q - ref) / ref)))
        times.sort()
        t_med = times[len(times) // 2]
        # the error of one Monte Carlo run is itself noisy: the root mean square over the runs
        err = float(np.sqrt(np.mean(np.square(errs))))
        if eng_err > 0:
            t_eq = t_med * (err / eng_err) ** 2
            eq = f"{t_eq:.0f}"
            speed = f"{t_eq / eng_ms:.0f}x" if eng_ms > 0 else "-"
        else:
            eq, speed = "-", "-"
        print(f"| {n} | {trials} | {t_med:.0f} ({times[0]:.0f}-{times[-1]:.0f}) | {err * 100:.3f}% | {eng_ms:.2f} |"
              f" {eng_err * 100:.3f}% | {eq} | {speed} |")


if __name__ == "__main__":
    main()

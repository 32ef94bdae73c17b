#!/usr/bin/env bash
# bench-check.sh - `make bench-check`: compare the figures of the last `make bench`
# (build/bench/results.tsv: name, value, op, goal, unit, what) with issue 9's and
# issue 8's goals and print what falls short. Informational: it exits 0 whatever
# the figures (BENCH_CHECK_STRICT=1 makes a shortfall exit 1); never part of make test.
set -euo pipefail
f=${1:-${BUILD:-build}/bench/results.tsv}
if [ ! -s "$f" ]; then
    echo "bench-check: no results in $f (run make bench first)" >&2
    exit 0
fi
awk -F'\t' -v strict="${BENCH_CHECK_STRICT:-0}" '
    function ok(v, op, g) {
        if (op == "<") return v < g
        if (op == "<=") return v <= g
        if (op == ">=") return v >= g
        if (op == ">") return v > g
        return 0
    }
    {
        if ($3 == "info") { printf "measured      %-32s %s %s  (%s)\n", $1, $2, $5, $6; next }
        if ($2 == "-") { printf "not measured  %-32s goal %s %s %s  (%s)\n", $1, $3, $4, $5, $6; missing++; next }
        if (ok($2 + 0, $3, $4 + 0)) { printf "meets         %-32s %s %s %s %s  (%s)\n", $1, $2, $3, $4, $5, $6; met++ }
        else { printf "FALLS SHORT   %-32s %s, goal %s %s %s  (%s)\n", $1, $2, $3, $4, $5, $6; short++ }
    }
    END {
        printf "bench-check: %d goals met, %d short, %d not measured\n", met, short, missing
        exit (strict == 1 && short > 0) ? 1 : 0
    }' "$f"

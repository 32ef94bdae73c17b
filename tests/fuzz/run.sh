#!/bin/sh
# run.sh - run each libFuzzer harness for FUZZ_SECONDS (default 60) and print
# one summary line per harness; exits 1 when any harness crashed, leaked or
# timed out. New inputs go to a scratch corpus under DIR, never to the
# committed seeds in tests/fuzz/corpus/<name>/.
#   tests/fuzz/run.sh DIR BINARY...
set -u
dir=$1
shift
secs=${FUZZ_SECONDS:-60}
rc=0
mkdir -p "$dir/work" "$dir/artifacts" "$dir/logs"
for bin in "$@"; do
    name=$(basename "$bin" | sed 's/^fuzz_//')
    seeds="tests/fuzz/corpus/$name"
    mkdir -p "$dir/work/$name"
    log="$dir/logs/$name.log"
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/$name-" "$dir/work/$name" "$seeds" >"$log" 2>&1
    status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | sed 's/cov: //')
    corpus=$(ls "$dir/work/$name" | wc -l)
    if [ "$status" -eq 0 ]; then
        echo "fuzz $name: ok, ${secs}s, ${execs:-?} execs, coverage ${cov:-?} edges, corpus $corpus"
    else
        echo "fuzz $name: FAILED (exit $status); log $log, artifacts $dir/artifacts/$name-*" >&2
        grep -E 'ERROR|SUMMARY|==[0-9]+==|runtime error|deadly signal' "$log" | head -20 >&2
        rc=1
    fi
done
exit $rc

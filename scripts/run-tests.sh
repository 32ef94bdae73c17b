#!/bin/sh
# run-tests.sh - run Check test programs, then print one total line.
# Each program prints Check's own summary ("100%: Checks: N, Failures: F,
# Errors: E"); the totals are added up into "N passed, N failed".
set -u
passed=0
failed=0
rc=0
for t in "$@"; do
    out=$(mktemp)
    "$t" >"$out" 2>&1
    status=$?
    cat "$out" 
    line=$(grep -E '^[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$out" | tail -1)
    rm -f "$out"
    if [ -z "$line" ]; then
        echo "run-tests: $t printed no Check summary" >&2
        failed=$((failed + 1))
        rc=1
        continue
    fi
    checks=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
    f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+),.*/\1/')
    e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
    fails=$((f + e))
    passed=$((passed + checks - fails))
    failed=$((failed + fails))
    [ "$fails" -eq 0 ] || rc=1
    if [ "$status" -ne 0 ] && [ "$fails" -eq 0 ]; then
        echo "run-tests: $t exited with status $status" >&2
        failed=$((failed + 1))
        rc=1
    fi
done
echo "tests: $passed passed, $failed failed"
exit $rc

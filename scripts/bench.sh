#!/usr/bin/env bash
# bench.sh - `make bench`: every figure next to a reference measured in the same
# run on the same machine, as a ratio. Prints a table and rewrites
# docs/benchmarks.md. BENCH_SECONDS (default 10) per wrk run, BENCH_RUNS
# (default 3) runs per figure; the median is reported with min and max.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${BENCH_SECONDS:-10}
runs=${BENCH_RUNS:-3}
conns=${BENCH_CONNECTIONS:-64}
threads=${BENCH_THREADS:-2}
build=${BUILD:-build}
tmp=$(mktemp -d /tmp/revops-bench-XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    scripts/devdb stop "$tmp/pg" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }

# wrk_stats URL -> "rps p50_ms p99_ms" (one run)
wrk_stats() {
    wrk -t2 -c"$conns" -d"${secs}s" --latency "$1" "${@:2}" 2>&1 | awk '
        function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
        /Requests\/sec/ {rps=$2}
        /^ +50%/ {p50=ms($2)}
        /^ +99%/ {p99=ms($2)}
        /Non-2xx/ {bad=$NF}
        END {printf "%s %s %s %s\n", rps, p50, p99, bad+0}'
}
# median/min/max of column k over lines
stat_col() { awk -v k="$1" '{print $k}' | sort -g | awk '{a[NR]=$1} END {printf "%s %s %s\n", a[int((NR+1)/2)], a[1], a[NR]}'; }

url=$(DEVDB_FAST=1 scripts/devdb start "$tmp/pg" | tail -1)
"$build/revopsd" migrate --database-url "$url" >/dev/null 2>&1
key=$("$build/revopsd" keys create --workspace bench --role admin --database-url "$url" | tail -1)

p_rev=$(free_port)
"$build/revopsd" serve --listen "127.0.0.1:$p_rev" --threads "$threads" --database-url "$url" 2>"$tmp/revopsd.log" &
pids+=($!)
rev_pid=$!
p_bare=$(free_port)
"$build/bench/bare_mhd" "$p_bare" "$threads" &
pids+=($!)
for i in $(seq 1 100); do curl -sf "http://127.0.0.1:$p_rev/healthz" >/dev/null && break; sleep 0.1; done
sleep 1
rss_idle=$(rss_kb "$rev_pid")

# dashboard data, generated deterministically: 2,000 deals, ~420 ARR movements, spend, finance
python3 - "$tmp" <<'PY'
import json, random, sys
random.seed(42)
stages = ["sql", "opportunity", "proposal"]
deals = [{"id": f"d{i}", "name": f"Deal {i}", "amount": random.randint(5, 600) * 100,
          "stage": random.choice(stages), "owner": f"rep{i % 20}",
          "expected_close_date": f"2026-{random.randint(1, 12):02d}-15"} for i in range(2000)]
for k in range(2):
    open(f"{sys.argv[1]}/deals{k}.json", "w").write(json.dumps({"items": deals[k * 1000:(k + 1) * 1000]}))
ev = []
for a in range(200):
    ev.append({"account": f"acct{a}", "date": f"2025-{random.randint(1, 12):02d}-01", "kind": "new", "amount": random.randint(10, 200) * 1000})
    ev.append({"account": f"acct{a}", "date": f"2026-{random.randint(1, 9):02d}-01", "kind": random.choice(["expansion", "contraction"]), "amount": random.randint(1, 9) * 100})
    if a % 10 == 0:
        ev.append({"account": f"acct{a}", "date": "2026-10-15", "kind": "churn", "amount": 1000})
open(f"{sys.argv[1]}/arr.json", "w").write(json.dumps({"items": ev}))
PY
auth="Authorization: Bearer $key"
for f in "$tmp"/deals0.json "$tmp"/deals1.json; do
    curl -sf -o /dev/null -H "$auth" -H 'Content-Type: application/json' --data-binary @"$f" "http://127.0.0.1:$p_rev/v1/deals/batch"
done
curl -sf -o /dev/null -H "$auth" -H 'Content-Type: application/json' --data-binary @"$tmp/arr.json" "http://127.0.0.1:$p_rev/v1/arr-events"
curl -sf -o /dev/null -H "$auth" -H 'Content-Type: application/json' -d '{"period":"2026-Q4","category":"marketing","amount":250000}' "http://127.0.0.1:$p_rev/v1/spend"
curl -sf -o /dev/null -H "$auth" -H 'Content-Type: application/json' -X PUT -d '{"gross_margin":0.78,"net_burn":400000}' "http://127.0.0.1:$p_rev/v1/finance/2026-Q4"

: >"$tmp/bare" ; : >"$tmp/healthz"; : >"$tmp/ws"; : >"$tmp/dash"
for r in $(seq 1 "$runs"); do
    wrk_stats "http://127.0.0.1:$p_bare/healthz" >>"$tmp/bare"
    wrk_stats "http://127.0.0.1:$p_rev/healthz" >>"$tmp/healthz"
    wrk_stats "http://127.0.0.1:$p_rev/v1/workspace" -H "$auth" >>"$tmp/ws"
    wrk_stats "http://127.0.0.1:$p_rev/v1/dashboard" -H "$auth" >>"$tmp/dash"
done
# the demo workspace (the CRM sample), when this build can load it
: >"$tmp/demo"
if "$build/revopsd" --help | grep -q "demo load" && [ -d data/crm-sample ]; then
    "$build/revopsd" demo load --database-url "$url" >/dev/null 2>&1 || true
    dkey=$("$build/revopsd" keys create --workspace demo --role read --database-url "$url" | tail -1)
    # warm-up: the first computation after a bulk load runs before autovacuum has analysed it
    curl -s -o /dev/null -w 'bench: first demo dashboard %{time_total} s\n' -H "Authorization: Bearer $dkey" \
        "http://127.0.0.1:$p_rev/v1/dashboard?period=2017-Q4" >&2
    for r in $(seq 1 "$runs"); do
        wrk_stats "http://127.0.0.1:$p_rev/v1/dashboard?period=2017-Q4" -H "Authorization: Bearer $dkey" >>"$tmp/demo"
    done
fi
rss_load=$(rss_kb "$rev_pid")
rss_peak=$(hwm_kb "$rev_pid")

read -r bare_med bare_min bare_max < <(stat_col 1 <"$tmp/bare")
row() { # name file
    read -r med min max < <(stat_col 1 <"$2")
    read -r p50 _ _ < <(stat_col 2 <"$2")
    read -r p99 _ _ < <(stat_col 3 <"$2")
    read -r bad _ _ < <(stat_col 4 <"$2")
    ratio=$(awk -v a="$med" -v b="$bare_med" 'BEGIN {printf "%.0f%%", 100*a/b}')
    printf '| %s | %.0f (%.0f-%.0f) | %.2f | %.2f | %s | %s |\n' "$1" "$med" "$min" "$max" "$p50" "$p99" "$ratio" "$bad"
}
{
    echo "| target | requests/s median (min-max) | p50 ms | p99 ms | vs bare MHD | non-2xx |"
    echo "|---|---|---|---|---|---|"
    row "bare libmicrohttpd /healthz" "$tmp/bare"
    row "revopsd GET /healthz" "$tmp/healthz"
    row "revopsd GET /v1/workspace (auth + 1 query)" "$tmp/ws"
    row "revopsd GET /v1/dashboard (2,000 deals, ETag miss)" "$tmp/dash"
    [ -s "$tmp/demo" ] && row "revopsd GET /v1/dashboard?period=2017-Q4 (demo workspace, 8,800 deals)" "$tmp/demo"
} >"$tmp/http.md"

{
    echo "| memory | KiB |"
    echo "|---|---|"
    echo "| revopsd RSS idle | $rss_idle |"
    echo "| revopsd RSS after load | $rss_load |"
    echo "| revopsd peak RSS (VmHWM) | $rss_peak |"
} >"$tmp/mem.md"

: >"$tmp/engines.md"
for b in "$build"/bench/bench_*; do
    [ -x "$b" ] || continue
    echo "### $(basename "$b")" >>"$tmp/engines.md"
    echo '```' >>"$tmp/engines.md"
    "$b" >>"$tmp/engines.md" 2>&1
    echo '```' >>"$tmp/engines.md"
done

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
out=docs/benchmarks.md
{
    echo "# Benchmarks"
    echo
    echo "Produced by \`make bench\` (scripts/bench.sh) on $(date -u +%Y-%m-%d), $(nproc) cores ($cpu)."
    echo "wrk: 2 threads, $conns connections, ${secs} s per run, median of $runs runs; revopsd and the"
    echo "bare libmicrohttpd reference both run $threads worker threads on the same machine in the same run."
    echo "Goals (issue 9): /healthz >= 80% of bare, dashboard >= 20% of bare; p99 < 20 ms at 64 connections (dashboard < 50 ms); RSS < 50 MB idle, < 200 MB under load."
    echo
    echo "## HTTP overhead"
    echo
    cat "$tmp/http.md"
    echo
    echo "## Memory"
    echo
    cat "$tmp/mem.md"
    echo
    echo "## Engines"
    echo
    cat "$tmp/engines.md"
    if [ -f docs/benchmarks-notes.md ]; then
        echo
        cat docs/benchmarks-notes.md
    fi
} >"$out"
cat "$tmp/http.md" "$tmp/mem.md"
echo "bench: wrote $out"

#!/usr/bin/env bash
# bench-reps.sh - issue 20's speed goals in `make bench`, on a cluster of its
# own: tests/bench/gen_reps.sql's workspace (1,000 reps, 100,000 deals; 10,000
# accounts with a year of daily usage, tickets, NPS and renewals).
#   comp: POST /v1/comp-plans/{id}/statements for the last complete quarter,
#         a three-component plan over all 1,000 reps (goal <= 1 s)
#   health: GET /v1/accounts/at-risk?quarter= for the next quarter, which
#         reads and scores every account (goal <= 2 s)
# Each is timed with curl, one client, BENCH_RUNS times after a warm-up
# request (median, min-max), first on the never-analysed tables (autovacuum
# off on them: query plans must not depend on fresh statistics), then again
# after ANALYZE; both are goals. The reference beside each: one plain scan of
# the rows it reads (psql, the same cluster, just before).
# Prints markdown on stdout; appends result lines to $RESULTS (bench-check.sh).
# Run alone: BUILD=build RESULTS=/tmp/r.tsv nice scripts/bench-reps.sh
# Environment: BENCH_RUNS (default 3), BENCH_THREADS (default 2),
# BENCH_REPS_SAVE=DIR keeps each answer (DIR/{comp,health}_{raw,analysed}.json)
# to compare answers byte for byte across builds.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${BENCH_RUNS:-3}
threads=${BENCH_THREADS:-2}
build=${BUILD:-build}
results=${RESULTS:-$build/bench/results.tsv}
save=${BENCH_REPS_SAVE:-}
py=/usr/bin/python3
[ -x "$py" ] || py=python3
tmp=$(mktemp -d /tmp/revops-bench-reps-XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    scripts/devdb stop "$tmp/pgr" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "bench-reps: failed at line $LINENO" >&2' ERR
say() { echo "bench-reps: $*" >&2; }
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
stat_col() { awk -v k="$1" '{print $k}' | sort -g | awk '{a[NR]=$1} END {printf "%s %s %s\n", a[int((NR+1)/2)], a[1], a[NR]}'; }
result() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$results"; }
mkdir -p "$(dirname "$results")"
[ -z "$save" ] || mkdir -p "$save"

url=$(DEVDB_FAST=1 scripts/devdb start "$tmp/pgr" | tail -1)
"$build/revopsd" migrate --database-url "$url" >/dev/null 2>&1
key=$("$build/revopsd" keys create --workspace bigreps --role write --database-url "$url" | tail -1)
ws=$(psql "$url" -Atc "SELECT id FROM workspaces WHERE name = 'bigreps'")
# the comp quarter: the last complete calendar quarter (the workspace's fiscal
# year starts in January); the at-risk quarter: the next one; health as of today
read -r cq cs ce hq hqs hqe asof < <("$py" -c '
import datetime
t = datetime.date.today()
def q(y, i): return (y + (i - 1) // 4, (i - 1) % 4 + 1)
def first(y, n): return datetime.date(y, 3 * n - 2, 1)
y, n = t.year, (t.month - 1) // 3 + 1
py_, pn = q(y, n - 1)
ny, nn = q(y, n + 1)
ay, an = q(y, n + 2)
print("%d-Q%d" % (py_, pn), first(py_, pn), first(y, n), "%d-Q%d" % (ny, nn), first(ny, nn), first(ay, an), t)')
# no statistics on what is generated until the second half (autovacuum would
# analyse 3.65M new rows within a minute)
for t in reps accounts deals arr_events account_usage account_usage_span account_usage_departments support_tickets \
    nps_responses subscriptions; do
    psql "$url" -qc "ALTER TABLE $t SET (autovacuum_enabled = false)"
done
say "1,000 reps, 100,000 deals; 10,000 accounts, 3.65M usage rows (tests/bench/gen_reps.sql)"
t0=$(date +%s.%N)
psql "$url" -q -v ON_ERROR_STOP=1 -v ws="$ws" -v cq="$cq" -v cs="$cs" -v ce="$ce" -v hq_s="$hqs" -v hq_e="$hqe" \
    -v asof="$asof" -f tests/bench/gen_reps.sql
gen_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.0f", b - a}')
port=$(free_port)
"$build/revopsd" serve --listen "127.0.0.1:$port" --threads "$threads" --database-url "$url" --access-log 0 \
    --scheduler-interval 0 --alert-on-write 0 --statement-timeout-ms 600000 --db-deadline-ms 600000 \
    2>"$tmp/revopsd.log" &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
auth="Authorization: Bearer $key"
# the seed's AE mid-market shape with three components: new ARR against each
# rep's quota, pipeline generated and expansion ARR against plan quotas; the
# seed's rate table, a SPIF over the quarter, 90-day clawbacks; every AE
plan=$(curl -sf -H "$auth" -H 'Content-Type: application/json' -d "{\"name\":\"AE bench\",\"role\":\"ae_mid_market\",
    \"base\":100000,\"variable\":100000,\"quota_period\":\"quarter\",\"payout_frequency\":\"monthly\",
    \"components\":[{\"metric\":\"new_arr\",\"weight\":0.6},{\"metric\":\"pipeline_generated\",\"weight\":0.2,\"quota\":600000},
      {\"metric\":\"expansion_arr\",\"weight\":0.2,\"quota\":3000}],
    \"rate_table\":[{\"from\":0,\"to\":0.5,\"rate\":0.5},{\"from\":0.5,\"to\":1,\"rate\":1},{\"from\":1,\"to\":null,\"rate\":1.5}],
    \"cap\":2,\"spif\":{\"budget\":50000,\"per_deal\":250,\"min_amount\":20000,\"from\":\"$cs\",\"to\":\"$ce\"},
    \"clawback_days\":90}" "$base/v1/comp-plans" | "$py" -c 'import json, sys; print(json.load(sys.stdin)["id"])')
comp_url="$base/v1/comp-plans/$plan/statements"
comp_body="{\"period\":\"$cq\"}"
health_url="$base/v1/accounts/at-risk?quarter=$hq&as_of=$asof"
# what each call reads, scanned once (psql): the floor of any way to answer
comp_ref="SELECT count(*), sum(amount_cents) FROM deals WHERE workspace_id = '$ws'"
health_ref="SELECT count(*), sum(active_users) FROM account_usage WHERE workspace_id = '$ws'"
ref_ms() { psql "$url" -At -c '\timing on' -c "$1" | awk '/^Time:/ {printf "%.0f\n", $2}'; }
comp_call() { curl -sf -o "$1" -w '%{time_total}\n' -H "$auth" -H 'Content-Type: application/json' -d "$comp_body" \
    "$comp_url" | awk '{printf "%.1f\n", $1 * 1000}'; }
health_call() { curl -sf -o "$1" -w '%{time_total}\n' -H "$auth" "$health_url" | awk '{printf "%.1f\n", $1 * 1000}'; }

# measure LABEL: warm-up, then $runs timed runs of each call with its reference
measure() {
    local l=$1
    comp_call "$tmp/comp_$l.json" >"$tmp/comp_first_$l"
    health_call "$tmp/health_$l.json" >"$tmp/health_first_$l"
    : >"$tmp/comp_ms_$l"
    : >"$tmp/health_ms_$l"
    : >"$tmp/comp_ref_$l"
    : >"$tmp/health_ref_$l"
    for _ in $(seq 1 "$runs"); do
        ref_ms "$comp_ref" >>"$tmp/comp_ref_$l"
        comp_call "$tmp/comp.json" >>"$tmp/comp_ms_$l"
        cmp -s "$tmp/comp.json" "$tmp/comp_$l.json" || { say "comp statements differ between runs"; exit 1; }
        ref_ms "$health_ref" >>"$tmp/health_ref_$l"
        health_call "$tmp/health.json" >>"$tmp/health_ms_$l"
        cmp -s "$tmp/health.json" "$tmp/health_$l.json" || { say "at-risk answers differ between runs"; exit 1; }
    done
    if [ -n "$save" ]; then
        cp "$tmp/comp_$l.json" "$save/comp_$l.json"
        cp "$tmp/health_$l.json" "$save/health_$l.json"
    fi
}
say "never-analysed tables: $runs runs of each after a warm-up"
measure raw
psql "$url" -qc "ANALYZE reps, accounts, deals, arr_events, account_usage, account_usage_span, account_usage_departments,
    support_tickets, nps_responses, subscriptions"
say "after ANALYZE: $runs runs of each after a warm-up"
measure analysed
cmp -s "$tmp/comp_raw.json" "$tmp/comp_analysed.json" || { say "comp statements differ after ANALYZE"; exit 1; }
cmp -s "$tmp/health_raw.json" "$tmp/health_analysed.json" || { say "at-risk answers differ after ANALYZE"; exit 1; }

# what the answers hold
read -r nreps nlines nclaw payout < <("$py" -c '
import json, sys
s = json.load(open(sys.argv[1]))
print(len(s["items"]), sum(len(i["lines"]) for i in s["items"]), sum(len(i["clawbacks"]["items"]) for i in s["items"]),
      "%.2f" % s["totals"]["payout"])' "$tmp/comp_raw.json")
read -r nacc nrisk arisk arenew < <("$py" -c '
import json, sys
h = json.load(open(sys.argv[1]))
print(len(h["items"]), sum(1 for i in h["items"] if i["arr_at_risk"] > 0 and i["band"] != "healthy"),
      "%.2f" % h["arr_at_risk"], "%.2f" % h["arr_renewing"])' "$tmp/health_raw.json")
kb() { awk -v b="$(stat -c %s "$1")" 'BEGIN {printf "%.0f", b / 1024}'; }
row() { # label file-prefix ref-prefix
    read -r med min max < <(stat_col 1 <"$tmp/$2")
    read -r rmed _ _ < <(stat_col 1 <"$tmp/$3")
    echo "$med $min $max $rmed $(awk -v a="$med" -v b="$rmed" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')"
}
read -r c1 c1a c1b c1r c1x < <(row c comp_ms_raw comp_ref_raw)
read -r c2 c2a c2b c2r c2x < <(row c comp_ms_analysed comp_ref_analysed)
read -r h1 h1a h1b h1r h1x < <(row h health_ms_raw health_ref_raw)
read -r h2 h2a h2b h2r h2x < <(row h health_ms_analysed health_ref_analysed)
echo
echo "| reps and account health, tests/bench/gen_reps.sql (generated in $gen_s s) | ms median (min-max) |"
echo "|---|---|"
echo "| POST /v1/comp-plans/{id}/statements $cq, 1,000 reps x 3 components, 100,000 deals ($nreps statements, $nlines lines, $nclaw clawbacks, payout \$$payout, $(kb "$tmp/comp_raw.json") KiB): never analysed, first $(cat "$tmp/comp_first_raw") | $c1 ($c1a-$c1b); one scan of the deals $c1r, x$c1x |"
echo "| the same after ANALYZE, first $(cat "$tmp/comp_first_analysed") | $c2 ($c2a-$c2b); one scan $c2r, x$c2x |"
echo "| GET /v1/accounts/at-risk?quarter=$hq, 10,000 accounts x 365 days of usage ($nacc renewing, $nrisk at risk outside healthy, \$$arisk at risk of \$$arenew, $(kb "$tmp/health_raw.json") KiB): never analysed, first $(cat "$tmp/health_first_raw") | $h1 ($h1a-$h1b); one scan of the usage $h1r, x$h1x |"
echo "| the same after ANALYZE, first $(cat "$tmp/health_first_analysed") | $h2 ($h2a-$h2b); one scan $h2r, x$h2x |"
result comp.statements_1000_reps_100k_deals_ms "$c2" "<=" 1000 ms "POST /v1/comp-plans/{id}/statements, 1,000 reps over 100k deals, one client (tests/bench/gen_reps.sql)"
result comp.statements_never_analysed_ms "$c1" "<=" 1000 ms "the same on never-analysed tables"
result health.at_risk_10k_accounts_ms "$h2" "<=" 2000 ms "GET /v1/accounts/at-risk, 10k accounts over a year of daily usage, one client"
result health.at_risk_never_analysed_ms "$h1" "<=" 2000 ms "the same on never-analysed tables"
result health.at_risk_accounts "$nrisk" ">" 0 accounts "of $nacc renewing in the quarter, not healthy (the generated declines: an empty list would time nothing)"

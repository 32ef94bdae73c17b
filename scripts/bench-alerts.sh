#!/usr/bin/env bash
# bench-alerts.sh - the alert evaluation part of `make bench` (issue 23's goal:
# every rule over 100k deals and 10k accounts <= 1 s per pass), on a cluster of
# its own: tests/bench/gen_alerts.sql's workspace, one rule of each signal kind
# (no destinations: the pass is what is timed), POST /v1/alerts/evaluate timed
# with curl. The first pass raises every condition already true (the stale
# deals, the renewals in a window, the pushed deals); the passes after it are
# the steady state the scheduler runs every minute, the goal's figure. The
# reference beside it: one plain scan of the same deals and accounts (psql,
# the same cluster, just before), the floor of any signal that reads them.
# Prints markdown on stdout; appends result lines to $RESULTS (bench-check.sh).
# Run alone: BUILD=build RESULTS=/tmp/r.tsv nice scripts/bench-alerts.sh
# Environment: BENCH_RUNS (steady passes, default 3), BENCH_THREADS (default 2),
# BENCH_ALERT_SENDERS (the delivering instance's --alert-senders, default 8: revopsd's).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${BENCH_RUNS:-3}
threads=${BENCH_THREADS:-2}
senders=${BENCH_ALERT_SENDERS:-8}
build=${BUILD:-build}
results=${RESULTS:-$build/bench/results.tsv}
py=/usr/bin/python3
[ -x "$py" ] || py=python3
tmp=$(mktemp -d /tmp/revops-bench-alerts-XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    scripts/devdb stop "$tmp/pga" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "bench-alerts: failed at line $LINENO" >&2' ERR
say() { echo "bench-alerts: $*" >&2; }
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
stat_col() { awk -v k="$1" '{print $k}' | sort -g | awk '{a[NR]=$1} END {printf "%s %s %s\n", a[int((NR+1)/2)], a[1], a[NR]}'; }
curl_ms() { curl -sf -o /dev/null -w '%{time_total}\n' "$@" | awk '{printf "%.1f\n", $1 * 1000}'; }
result() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$results"; }
mkdir -p "$(dirname "$results")"

url=$(DEVDB_FAST=1 scripts/devdb start "$tmp/pga" | tail -1)
"$build/revopsd" migrate --database-url "$url" >/dev/null 2>&1
key=$("$build/revopsd" keys create --workspace bigalerts --role admin --database-url "$url" | tail -1)
ws=$(psql "$url" -Atc "SELECT id FROM workspaces WHERE name = 'bigalerts'")
say "10,000 accounts, 100,000 deals (tests/bench/gen_alerts.sql)"
psql "$url" -q -v ws="$ws" -f tests/bench/gen_alerts.sql
port=$(free_port)
# the explicit call only: no scheduler pass, no evaluation on write, no senders
"$build/revopsd" serve --listen "127.0.0.1:$port" --threads "$threads" --database-url "$url" --access-log 0 \
    --scheduler-interval 0 --alert-on-write 0 --alert-senders 0 --statement-timeout-ms 600000 \
    --db-deadline-ms 600000 2>"$tmp/revopsd.log" &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
kinds="stale_deal deal_pushed deal_moved_back amount_change routing_escalation renewal_due sla_breach webhook_lag"
# the kinds whose figures C computes before the SQL (server/alertfig.c): timed
# as a whole evaluation with only their rule enabled
ckinds="coverage_below hygiene_red account_at_risk expansion_signal forecast_moved health_colour"
nk=0
for k in $kinds $ckinds; do
    curl -sf -o /dev/null -H "Authorization: Bearer $key" -H "Content-Type: application/json" \
        -d "{\"name\":\"bench $k\",\"kind\":\"$k\"}" "$base/v1/alert-rules"
    nk=$((nk + 1))
done
first=$(curl_ms -X POST -H "Authorization: Bearer $key" "$base/v1/alerts/evaluate")
raised=$(psql "$url" -Atc "SELECT count(*) FROM alerts WHERE workspace_id = '$ws'")
: >"$tmp/ev_ms"
: >"$tmp/ev_ref"
for _ in $(seq 1 "$runs"); do
    psql "$url" -At -c '\timing on' -c "SELECT (SELECT count(*) FROM deals WHERE workspace_id = '$ws')
                                          + (SELECT count(*) FROM accounts WHERE workspace_id = '$ws')" |
        awk '/^Time:/ {printf "%.0f\n", $2}' >>"$tmp/ev_ref"
    curl_ms -X POST -H "Authorization: Bearer $key" "$base/v1/alerts/evaluate" >>"$tmp/ev_ms"
done
after=$(psql "$url" -Atc "SELECT count(*) FROM alerts WHERE workspace_id = '$ws'")
# where a pass goes: each kind's candidates alone (psql, the same cluster)
percand=""
for k in $kinds; do
    t=$(psql "$url" -At -c '\timing on' -c "SELECT count(*) FROM alert_rules r, alert_candidates(r)
                                             WHERE r.workspace_id = '$ws' AND r.kind = '$k'" |
        awk '/^Time:/ {printf "%.0f", $2}')
    percand="$percand $k $t,"
done
for k in $ckinds; do
    psql "$url" -qc "UPDATE alert_rules SET enabled = (kind = '$k'), checked_at = NULL WHERE workspace_id = '$ws'"
    t=$(curl_ms -X POST -H "Authorization: Bearer $key" "$base/v1/alerts/evaluate" | awk '{printf "%.0f", $1}')
    psql "$url" -qc "UPDATE alert_rules SET enabled = true WHERE workspace_id = '$ws'"
    percand="$percand $k $t (its evaluation alone),"
done
read -r emed emin emax < <(stat_col 1 <"$tmp/ev_ms")
read -r rmed _ _ < <(stat_col 1 <"$tmp/ev_ref")
ratio=$(awk -v a="$emed" -v b="$rmed" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')
echo
echo "| alert evaluation, tests/bench/gen_alerts.sql ($nk rules, one per kind) | ms median (min-max) |"
echo "|---|---|"
echo "| first pass (raises the $raised conditions already true) | $first |"
echo "| a pass with nothing new ($runs runs; $((after - raised)) raised) | $emed ($emin-$emax); one scan of the deals and accounts $rmed, x$ratio |"
echo "| each kind's candidates alone, ms |${percand%,} |"
result alerts.eval_pass_100k_deals_10k_accounts_ms "$emed" "<" 1000 ms "POST /v1/alerts/evaluate, $nk rules over 100k deals and 10k accounts, steady state (tests/bench/gen_alerts.sql)"
result alerts.eval_first_pass_ms "$first" info - ms "the first pass, raising $raised alerts"
result alerts.eval_vs_scan "$ratio" info - "x one scan" "the steady pass / a count(*) of the workspace's deals and accounts in psql just before"

# ---- delivery: 1,000 destinations, one write (goal: p99 <= 2 s after it) ----
# 100 amount_change rules of 10 destinations each (the most a rule has) at a
# local receiver (python, threaded, answering 204 and noting each arrival);
# one amount change through the API (evaluation on write, as in production),
# then the time from that write's answer to each delivery's arrival. The
# reference: the same receiver's own round trip (curl to it, a new connection).
nd=1000
rport=$(free_port)
"$py" - "$rport" "$tmp/arrivals" <<'PY' &
import http.server, sys, time, threading
port, out = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
f = open(out, "a", buffering=1)
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            f.write("%.6f\n" % time.time())
        self.send_response(204)
        self.end_headers()
    def do_GET(self):
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
pids+=($!)
for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$rport/" && break; sleep 0.1; done
dport=$(free_port)
"$build/revopsd" serve --listen "127.0.0.1:$dport" --threads "$threads" --database-url "$url" --access-log 0 \
    --scheduler-interval 0 --alert-allow-private 1 --alert-senders "$senders" 2>"$tmp/revopsd-d.log" &
pids+=($!)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$dport/healthz" >/dev/null && break; sleep 0.1; done
dbase="http://127.0.0.1:$dport"
dests=$(for i in $(seq 1 10); do printf '{"url":"http://127.0.0.1:%s/h%s"},' "$rport" "$i"; done)
dests=${dests%,}
# a workspace of its own: the big one's rules would make every write's evaluation a full pass
key=$("$build/revopsd" keys create --workspace fanout --role admin --database-url "$url" | tail -1)
for r in $(seq 1 $((nd / 10))); do
    curl -sf -o /dev/null -H "Authorization: Bearer $key" -H "Content-Type: application/json" \
        -d "{\"name\":\"fan $r\",\"kind\":\"amount_change\",\"destinations\":[$dests]}" "$dbase/v1/alert-rules"
done
curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $key" -H "Content-Type: application/json" \
    -d '{"name":"Fan","amount":1000,"stage":"proposal","owner":"rep1"}' "$dbase/v1/deals/fan1"
sleep 1
: >"$tmp/arrivals"
curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $key" -H "Content-Type: application/json" \
    -d '{"name":"Fan","amount":5000}' "$dbase/v1/deals/fan1"
t0=$("$py" -c 'import time; print("%.6f" % time.time())')
for _ in $(seq 1 600); do [ "$(wc -l <"$tmp/arrivals")" -ge "$nd" ] && break; sleep 0.1; done
got=$(wc -l <"$tmp/arrivals")
read -r p50 p99 pmax < <(awk -v t0="$t0" '{print ($1 - t0) * 1000}' "$tmp/arrivals" | sort -g |
    awk -v n="$nd" '{a[NR]=$1} END {i50=int(n*0.5); i99=int(n*0.99); if (i50<1) i50=1; if (i99<1) i99=1;
        printf "%.0f %s %.0f\n", a[i50], (NR >= i99 ? sprintf("%.0f", a[i99]) : "missing"), a[NR]}')
: >"$tmp/rt"
for _ in $(seq 1 20); do curl_ms "http://127.0.0.1:$rport/" >>"$tmp/rt"; done
read -r rtmed _ _ < <(stat_col 1 <"$tmp/rt")
echo "| $nd destinations (100 rules x 10, $senders senders), one amount change: write answered to arrival | p50 $p50, p99 $p99, last $pmax ($got of $nd arrived); the receiver's own round trip $rtmed |"
result alerts.delivery_p99_1000_destinations_ms "$p99" "<" 2000 ms "one write to each of $nd signed deliveries at a local receiver, p99 (--alert-senders $senders)"

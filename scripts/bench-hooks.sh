#!/usr/bin/env bash
# bench-hooks.sh - the webhook and request-path part of `make bench` (issue 17), on a
# PostgreSQL cluster of its own with durable commits (fsync and synchronous_commit on, as
# the issue's goals say), every figure next to pgbench in the same cluster and run:
#   1. ingest: signed deliveries (tests/bench/hook_load.c) against pgbench single-row inserts
#      into a table shaped like webhook_events, at each concurrency: HubSpot batches and
#      Standard Webhooks single events to a sync endpoint (applied before the 200) and single
#      events to an async one (stored before the 200, applied afterwards);
#   2. key path: authenticated GET /v1/workspace with the in-process key cache and without it
#      (a second revopsd, --key-cache-ms 0) against pgbench -S at the same concurrency, at
#      revopsd's default --threads 4 (BENCH_KEY_THREADS) and at BENCH_THREADS;
#   3. apply: a backlog stored by an instance without appliers, drained by one with them
#      (events/s), then HubSpot deliveries offered at a fixed 2,000 events/s while the appliers
#      keep up: lag = the commit that applied an event (track_commit_timestamp) minus its
#      storing, p50/p99/max over every event of the run.
# Prints markdown on stdout; appends result lines to $RESULTS (scripts/bench-check.sh reads them).
# Run alone: BUILD=build RESULTS=/tmp/r.tsv nice scripts/bench-hooks.sh (after make bench's build).
# Environment: as scripts/bench.sh (BENCH_SECONDS, BENCH_RUNS, BENCH_CONNECTIONS, BENCH_THREADS,
# BENCH_HOOK_SECONDS, BENCH_HOOK_CONCURRENCY), and BENCH_APPLY_RATE (events/s offered, 2000),
# BENCH_APPLY_SECONDS (length of the lag run, 10), BENCH_KEY_THREADS (4).
# The ingest instance runs with --threads = the highest hook concurrency (at least
# BENCH_THREADS): as many HTTP threads and pooled database connections as pgbench has
# clients, so that concurrent commits can share a WAL flush (group commit) on both sides.
# The apply runs keep BENCH_THREADS.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${BENCH_SECONDS:-10}
runs=${BENCH_RUNS:-3}
conns=${BENCH_CONNECTIONS:-64}
threads=${BENCH_THREADS:-2}
hooksecs=${BENCH_HOOK_SECONDS:-5}
hookconcs=${BENCH_HOOK_CONCURRENCY:-1 4 16}
hookthreads=$(echo "$threads $hookconcs" | tr ' ' '\n' | sort -n | tail -1)
apply_rate=${BENCH_APPLY_RATE:-2000}
apply_secs=${BENCH_APPLY_SECONDS:-10}
build=${BUILD:-build}
results=${RESULTS:-$build/bench/results.tsv}
py=/usr/bin/python3
[ -x "$py" ] || py=python3
tmp=$(mktemp -d /tmp/revops-bench-hooks-XXXXXX)
chmod 755 "$tmp"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    scripts/devdb stop "$tmp/pgd" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "bench-hooks: failed at line $LINENO" >&2' ERR
say() { echo "bench-hooks: $*" >&2; }
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
stat_col() { awk -v k="$1" '{print $k}' | sort -g | awk '{a[NR]=$1} END {printf "%s %s %s\n", a[int((NR+1)/2)], a[1], a[NR]}'; }
result() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$results"; }
pct() { awk -v r="$1" 'BEGIN {printf "%.0f%%", r * 100}'; }
json="Content-Type: application/json"

# durable commits; commit timestamps for the apply lag (a restart parameter)
url=$(scripts/devdb start "$tmp/pgd" | tail -1)
psql -q "$url" -c "ALTER SYSTEM SET track_commit_timestamp = on" >/dev/null
scripts/devdb stop "$tmp/pgd" >/dev/null
url=$(scripts/devdb start "$tmp/pgd" | tail -1)
"$build/revopsd" migrate --database-url "$url" >/dev/null 2>&1
q() { psql -qAt "$url" -c "$1"; }

# serve PORT [flags...]: a revopsd on the cluster (--threads $srv_threads, else $threads); its pid in $srv_pid
serve() {
    local port=$1
    shift
    "$build/revopsd" serve --listen "127.0.0.1:$port" --threads "${srv_threads:-$threads}" --database-url "$url" \
        --access-log 0 "$@" 2>>"$tmp/revopsd.log" &
    srv_pid=$!
    pids+=("$srv_pid")
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && return 0; sleep 0.1; done
    echo "bench-hooks: revopsd did not start" >&2
    return 1
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
# no pending event left (the appliers caught up), at most $1 seconds
drained() {
    for _ in $(seq 1 $(($1 * 10))); do
        [ "$(q "SELECT count(*) FROM webhook_events WHERE status = 'pending'")" = 0 ] && return 0
        sleep 0.1
    done
    return 1
}

p_main=$(free_port)
srv_threads=$hookthreads serve "$p_main"
main_pid=$srv_pid
base="http://127.0.0.1:$p_main"
say "durable commits: fsync $(q 'SHOW fsync'), synchronous_commit $(q 'SHOW synchronous_commit')"
hkey=$("$build/revopsd" keys create --workspace hooks --role admin --database-url "$url" | tail -1)
hauth="Authorization: Bearer $hkey"
endpoint() { curl -sf -H "$hauth" -H "$json" "$base/v1/webhook-endpoints" -d "$1"; }
hs_body='"source":"hubspot","secret":"bench-hubspot-secret","public_url":"https://bench.example","stage_map":{"presentationscheduled":"proposal"}'
hs_id=$(endpoint "{$hs_body,\"apply_mode\":\"sync\"}" | "$py" -c 'import json, sys; print(json.load(sys.stdin)["id"])')
hs_async=$(endpoint "{$hs_body}" | "$py" -c 'import json, sys; print(json.load(sys.stdin)["id"])')
hs_lag=$(endpoint "{$hs_body}" | "$py" -c 'import json, sys; print(json.load(sys.stdin)["id"])')
read -r st_id st_secret < <(endpoint '{"source":"standard","apply_mode":"sync"}' |
    "$py" -c 'import json, sys; d = json.load(sys.stdin); print(d["id"], d["secret"])')
read -r sa_id sa_secret < <(endpoint '{"source":"standard"}' |
    "$py" -c 'import json, sys; d = json.load(sys.stdin); print(d["id"], d["secret"], d["apply_mode"])' |
    awk '$3 == "async" {print $1, $2}')

# ---- 1. ingest ------------------------------------------------------------------
q "CREATE TABLE bench_inserts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL, dedupe_key text NOT NULL, payload jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(), UNIQUE (workspace_id, dedupe_key))"
cat >"$tmp/insert.sql" <<'SQL'
INSERT INTO bench_inserts (workspace_id, dedupe_key, payload) VALUES ('00000000-0000-0000-0000-000000000001',
  gen_random_uuid()::text, '{"type":"deal.updated","timestamp":"2026-11-25T12:00:00Z","data":{"external_id":"std-1","name":"Bench 1","amount":"1000.00","stage":"proposal","status":"open","owner":"rep-1"}}');
SQL
say "ingest: concurrencies ${hookconcs} x $runs runs x ${hooksecs} s, revopsd --threads $hookthreads"
{
    echo "| concurrency | HubSpot batches of 100, sync: events/s median (min-max) | Standard Webhooks single events, sync: events/s | Standard Webhooks single events, async (acknowledged): events/s | pgbench single-row inserts: TPS median (min-max) | sync single vs pgbench | async single vs pgbench |"
    echo "|---|---|---|---|---|---|---|"
} >"$tmp/ingest.md"
for c in $hookconcs; do
    : >"$tmp/hs_$c"; : >"$tmp/st_$c"; : >"$tmp/sa_$c"; : >"$tmp/pgb_$c"
    for _ in $(seq 1 "$runs"); do
        "$build/bench/hook_load" hubspot "$base" https://bench.example "$hs_id" bench-hubspot-secret "$c" "$hooksecs" >>"$tmp/hs_$c"
        "$build/bench/hook_load" standard "$base" - "$st_id" "$st_secret" "$c" "$hooksecs" >>"$tmp/st_$c"
        "$build/bench/hook_load" standard "$base" - "$sa_id" "$sa_secret" "$c" "$hooksecs" >>"$tmp/sa_$c"
        pgbench -n -c "$c" -j "$c" -T "$hooksecs" -f "$tmp/insert.sql" "$url" 2>/dev/null |
            awk '/^tps = / {printf "%.0f\n", $3}' >>"$tmp/pgb_$c"
        drained 300 || say "the async events of this run were not all applied within 300 s"
    done
    read -r hmed hmin hmax < <(stat_col 1 <"$tmp/hs_$c")
    read -r smed smin smax < <(stat_col 1 <"$tmp/st_$c")
    read -r amed amin amax < <(stat_col 1 <"$tmp/sa_$c")
    read -r pmed pmin pmax < <(stat_col 1 <"$tmp/pgb_$c")
    fails=$(awk '{f += $5} END {print f + 0}' "$tmp/hs_$c" "$tmp/st_$c" "$tmp/sa_$c")
    sratio=$(awk -v a="$smed" -v b="$pmed" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
    aratio=$(awk -v a="$amed" -v b="$pmed" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}')
    echo "| $c | $hmed ($hmin-$hmax) | $smed ($smin-$smax) | $amed ($amin-$amax) | $pmed ($pmin-$pmax) | $(pct "$sratio") | $(pct "$aratio") |" >>"$tmp/ingest.md"
    [ "$fails" = 0 ] || echo "($fails failed requests at concurrency $c: see the bench output)" >>"$tmp/ingest.md"
    result "webhooks.batch_events_per_s.c$c" "$hmed" ">=" 5000 "events/s" "HubSpot batches of 100 to a sync endpoint, $c at once"
    result "webhooks.single_vs_pgbench.c$c" "$aratio" ">=" 0.5 "x pgbench" "Standard Webhooks single events acknowledged (async endpoint) vs pgbench inserts, $c at once"
    result "webhooks.single_sync_vs_pgbench.c$c" "$sratio" info - "x pgbench" "Standard Webhooks single events applied before the 200 (sync endpoint) vs pgbench inserts, $c at once"
done
# every acknowledged async event was applied, none twice (the counts the clients were answered)
acked=$(awk '{a += $3} END {print a + 0}' "$tmp"/sa_*)
applied=$(q "SELECT count(*) FROM webhook_events WHERE endpoint_id = '$sa_id' AND status = 'applied'")
echo >>"$tmp/ingest.md"
echo "Async single events acknowledged: $acked; applied afterwards: $applied. revopsd: --threads $hookthreads (as many HTTP threads and pooled database connections), default appliers (2, batches of 500, asynchronous commits)." >>"$tmp/ingest.md"

# ---- 2. key path -----------------------------------------------------------------
# revopsd as it ships (--threads 4: four HTTP threads, four pooled database
# connections; BENCH_KEY_THREADS) against pgbench -S's $conns connections: the
# goal's figure. At BENCH_THREADS too, for reference.
keythreads=${BENCH_KEY_THREADS:-4}
stop "$main_pid"
srv_threads=$keythreads serve "$p_main"
main_pid=$srv_pid
say "key path: GET /v1/workspace with and without the key cache vs pgbench -S, $conns connections, $runs x ${secs} s"
pgbench -i -q -s 1 "$url" >/dev/null 2>&1
p_nocache=$(free_port)
srv_threads=$keythreads serve "$p_nocache" --key-cache-ms 0 --webhook-appliers 0
nocache_pid=$srv_pid
p_few=$(free_port)
serve "$p_few" --webhook-appliers 0
few_pid=$srv_pid
wrk_rps() { wrk -t2 -c"$conns" -d"${secs}s" "$1" -H "$hauth" 2>&1 | awk '/Requests\/sec/ {printf "%.0f\n", $2}'; }
: >"$tmp/ws_cache"; : >"$tmp/ws_nocache"; : >"$tmp/ws_few"; : >"$tmp/pgs"
for _ in $(seq 1 "$runs"); do
    wrk_rps "$base/v1/workspace" >>"$tmp/ws_cache"
    wrk_rps "http://127.0.0.1:$p_nocache/v1/workspace" >>"$tmp/ws_nocache"
    wrk_rps "http://127.0.0.1:$p_few/v1/workspace" >>"$tmp/ws_few"
    pgbench -n -S -c "$conns" -j 2 -T "$secs" "$url" 2>/dev/null | awk '/^tps = / {printf "%.0f\n", $3}' >>"$tmp/pgs"
done
stop "$few_pid"
stop "$nocache_pid"
# per run: each figure over the pgbench -S run of the same round
paste -d' ' "$tmp/ws_cache" "$tmp/ws_nocache" "$tmp/pgs" "$tmp/ws_few" >"$tmp/ws_rounds"
read -r wc_med wc_min wc_max < <(stat_col 1 <"$tmp/ws_cache")
read -r wn_med wn_min wn_max < <(stat_col 1 <"$tmp/ws_nocache")
read -r ps_med ps_min ps_max < <(stat_col 1 <"$tmp/pgs")
read -r rc_med rc_min rc_max < <(awk '{printf "%.2f\n", ($3 > 0 ? $1 / $3 : 0)}' "$tmp/ws_rounds" | stat_col 1)
read -r rn_med rn_min rn_max < <(awk '{printf "%.2f\n", ($3 > 0 ? $2 / $3 : 0)}' "$tmp/ws_rounds" | stat_col 1)
read -r wf_med wf_min wf_max < <(stat_col 1 <"$tmp/ws_few")
read -r rf_med rf_min rf_max < <(awk '{printf "%.2f\n", ($3 > 0 ? $4 / $3 : 0)}' "$tmp/ws_rounds" | stat_col 1)
speedup=$(awk '{printf "%.2f\n", ($2 > 0 ? $1 / $2 : 0)}' "$tmp/ws_rounds" | stat_col 1 | cut -d' ' -f1)
{
    echo "| target ($conns connections) | requests or transactions/s median (min-max) | vs pgbench -S, per round: median (min-max) |"
    echo "|---|---|---|"
    echo "| pgbench -S (select-only, -j 2) | $ps_med ($ps_min-$ps_max) | - |"
    echo "| GET /v1/workspace, key cache on (1 s), --threads $keythreads | $wc_med ($wc_min-$wc_max) | $(pct "$rc_med") ($(pct "$rc_min")-$(pct "$rc_max")) |"
    echo "| GET /v1/workspace, --key-cache-ms 0 (a key lookup per request), --threads $keythreads | $wn_med ($wn_min-$wn_max) | $(pct "$rn_med") ($(pct "$rn_min")-$(pct "$rn_max")) |"
    echo "| GET /v1/workspace, key cache on, --threads $threads | $wf_med ($wf_min-$wf_max) | $(pct "$rf_med") ($(pct "$rf_min")-$(pct "$rf_max")) |"
    echo
    echo "The key cache is worth ${speedup}x on GET /v1/workspace (median over rounds)."
} >"$tmp/keys.md"
result workspace.vs_pgbench_select "$rc_med" ">=" 0.5 "x pgbench -S" "GET /v1/workspace (key cache on, --threads $keythreads as shipped) vs pgbench -S, $conns connections"
result workspace.threads${threads}_vs_pgbench_select "$rf_med" info - "x pgbench -S" "the same with --threads $threads"
result workspace.nocache_vs_pgbench_select "$rn_med" info - "x pgbench -S" "GET /v1/workspace with --key-cache-ms 0 vs pgbench -S"
result workspace.key_cache_speedup "$speedup" info - "x" "GET /v1/workspace with the key cache over without it"

# ---- 3. apply -------------------------------------------------------------------
stop "$main_pid"
p_ingest=$(free_port)
serve "$p_ingest" --webhook-appliers 0 --webhook-max-backlog 0
ingest_pid=$srv_pid
say "apply: storing a backlog (no appliers running)"
"$build/bench/hook_load" hubspot "http://127.0.0.1:$p_ingest" https://bench.example "$hs_async" bench-hubspot-secret 4 "$hooksecs" >"$tmp/backlog"
stop "$ingest_pid"
backlog=$(q "SELECT count(*) FROM webhook_events WHERE status = 'pending'")
q "VACUUM ANALYZE webhook_events"
say "apply: draining $backlog pending events"
t0=$(date +%s.%N)
serve "$p_main" # default appliers and batch
main_pid=$srv_pid
drained 600 || say "the backlog was not drained within 600 s"
t1=$(date +%s.%N)
drain_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
drain_rate=$(awk -v n="$backlog" -v s="$drain_s" 'BEGIN {printf "%.0f", (s > 0 ? n / s : 0)}')
say "apply: $apply_rate events/s offered for ${apply_secs} s"
"$build/bench/hook_load" hubspot "$base" https://bench.example "$hs_lag" bench-hubspot-secret 4 "$apply_secs" \
    "$(awk -v r="$apply_rate" 'BEGIN {print r / 100}')" >"$tmp/lagrun"
drained 300 || say "the offered events were not all applied within 300 s"
read -r offered _ lag_acked _ lag_failed <"$tmp/lagrun"
read -r lag_n lag_p50 lag_p99 lag_max < <(q "SELECT count(*),
    round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l)::numeric, 3),
    round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l)::numeric, 3), round(max(l)::numeric, 3)
    FROM (SELECT extract(epoch FROM pg_xact_commit_timestamp(xmin) - received_at) AS l
          FROM webhook_events WHERE endpoint_id = '$hs_lag' AND status = 'applied') x" | tr '|' ' ')
pg1=$(stat_col 1 <"$tmp/pgb_$(echo "$hookconcs" | awk '{print $1}')" | cut -d' ' -f1)
{
    echo "| what | figure | reference in the same run |"
    echo "|---|---|---|"
    echo "| drain: $backlog pending events (HubSpot batches of 100 stored by an instance without appliers), applied by a fresh instance's default appliers | $drain_rate events/s ($drain_s s to none pending) | pgbench single-row inserts at $(echo "$hookconcs" | awk '{print $1}') client(s): $pg1 TPS ($(awk -v a="$drain_rate" -v b="$pg1" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}') x) |"
    echo "| lag at $apply_rate events/s offered for ${apply_secs} s (achieved $offered events/s acknowledged, $lag_acked events, $lag_failed failed requests): commit applying the event - its storing, over $lag_n applied events | p50 ${lag_p50} s, p99 ${lag_p99} s, max ${lag_max} s | goal p99 <= 1 s |"
} >"$tmp/apply.md"
result webhooks.apply_events_per_s "$drain_rate" ">=" 20000 "events/s" "draining a stored backlog with the default appliers (floor 5,000)"
result webhooks.apply_lag_p99_s "$lag_p99" "<=" 1 s "apply lag p99 at $apply_rate events/s offered"
stop "$main_pid"

echo "### Ingest"
echo
cat "$tmp/ingest.md"
echo
echo "### Authenticated request path"
echo
cat "$tmp/keys.md"
echo
echo "### Apply"
echo
cat "$tmp/apply.md"

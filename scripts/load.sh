#!/usr/bin/env bash
# load.sh - `make load`: a mixed read/write workload with wrk against a local
# revopsd and a private PostgreSQL, on loopback only, for a bounded time.
# Reports requests/s, error rate (non-2xx + socket errors), p50/p99 and the
# server's RSS before, after a warm-up, and at the end; exits 1 when any
# request failed or RSS grew by more than LOAD_RSS_SLACK_KB after warm-up.
#   scripts/load.sh [BUILD/revopsd]
# LOAD_SECONDS (60), LOAD_CONNECTIONS (16), LOAD_THREADS (2 wrk threads),
# LOAD_SERVER_THREADS (4), LOAD_RSS_SLACK_KB (8192). Ends with SIGTERM: exit 0 required.
# Mix per request: 40% GET /v1/deals/{id}, 25% GET /v1/deals?limit=50,
# 10% GET /v1/workspace, 5% GET /v1/dashboard?period=2026-Q1,
# 20% PUT /v1/deals/{id} (amount, stage and close date change).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/revopsd}
secs=${LOAD_SECONDS:-60}
conns=${LOAD_CONNECTIONS:-16}
wthreads=${LOAD_THREADS:-2}
sthreads=${LOAD_SERVER_THREADS:-4}
slack=${LOAD_RSS_SLACK_KB:-8192}
deals=500
tmp=$(mktemp -d /tmp/revops-load-XXXXXX)
chmod 755 "$tmp"
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
    scripts/devdb stop "$tmp/pg" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

url=$(DEVDB_FAST=1 scripts/devdb start "$tmp/pg" | tail -1)
"$bin" migrate --database-url "$url" >/dev/null 2>&1
key=$("$bin" keys create --workspace load --role write --database-url "$url" | tail -1)
port=$(free_port)
base="http://127.0.0.1:$port"
"$bin" serve --listen "127.0.0.1:$port" --threads "$sthreads" --database-url "$url" --rate-limit 0 \
    --access-log 0 2>"$tmp/revopsd.log" &
server=$!
for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
rss_start=$(rss_kb "$server")

# seed: deals in batches of 100
for b in $(seq 0 $((deals / 100 - 1))); do
    items=$(for i in $(seq $((b * 100)) $((b * 100 + 99))); do
        printf '{"id":"d%d","name":"Deal %d","stage":"%s","amount":%d.50,"expected_close_date":"2026-0%d-15","owner":"rep%d"},' \
            "$i" "$i" "$( [ $((i % 3)) -eq 0 ] && echo proposal || echo sql)" $((1000 + i * 37)) $((1 + i % 3)) $((i % 7))
    done)
    curl -sf -X POST "$base/v1/deals/batch" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
        -d "{\"items\":[${items%,}]}" >/dev/null || { echo "load: seeding failed" >&2; exit 1; }
done

cat >"$tmp/mix.lua" <<LUA
local key = "Bearer $key"
local deals = $deals
local n = 0
math.randomseed(42)
request = function()
    n = n + 1
    local r = math.random(100)
    local id = "d" .. math.random(0, deals - 1)
    local h = {["Authorization"] = key}
    if r <= 40 then return wrk.format("GET", "/v1/deals/" .. id, h) end
    if r <= 65 then return wrk.format("GET", "/v1/deals?limit=50", h) end
    if r <= 75 then return wrk.format("GET", "/v1/workspace", h) end
    if r <= 80 then return wrk.format("GET", "/v1/dashboard?period=2026-Q1", h) end
    h["Content-Type"] = "application/json"
    local stages = {"sql", "opportunity", "proposal"}
    local body = string.format('{"name":"Deal %s","stage":"%s","amount":%d.25,"expected_close_date":"2026-0%d-2%d"}',
        id, stages[math.random(3)], math.random(500, 90000), math.random(1, 9), math.random(0, 8))
    return wrk.format("PUT", "/v1/deals/" .. id, h, body)
end
done = function(summary, latency, requests)
    io.write(string.format("LOAD requests=%d non2xx=%d sockerr=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
        summary.requests, summary.errors.status,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
LUA

# warm-up (10% of the time, at least 5 s), then the measured run
warm=$(( secs / 10 > 5 ? secs / 10 : 5 ))
wrk -t"$wthreads" -c"$conns" -d"${warm}s" -s "$tmp/mix.lua" "$base" >"$tmp/warm.txt" 2>&1
rss_warm=$(rss_kb "$server")
# RSS sampled every 5 s during the run: flat means no growth per request
( while kill -0 "$server" 2>/dev/null; do rss_kb "$server" >>"$tmp/rss.txt"; sleep 5; done ) &
sampler=$!
wrk -t"$wthreads" -c"$conns" -d"${secs}s" --timeout 5s -s "$tmp/mix.lua" "$base" >"$tmp/run.txt" 2>&1
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
rss_end=$(rss_kb "$server")
sleep 1
rss_idle=$(rss_kb "$server")
line=$(grep '^LOAD ' "$tmp/run.txt" || true)
if [ -z "$line" ]; then
    cat "$tmp/run.txt" >&2
    echo "load: wrk printed no summary" >&2
    exit 1
fi
eval "$(echo "${line#LOAD }" | tr ' ' '\n' | sed 's/^/L_/')"
rps=$(awk '/Requests\/sec/ {print $2}' "$tmp/run.txt")
bad=$((L_non2xx + L_sockerr))
rate=$(awk -v b="$bad" -v n="$L_requests" 'BEGIN {printf "%.4f", n ? 100 * b / n : 100}')
grow=$((rss_end - rss_warm))
echo "load: ${secs}s, $conns connections, 80% reads / 20% deal updates over $deals deals"
echo "load: $L_requests requests, $rps req/s, errors $bad ($rate%: $L_non2xx non-2xx, $L_sockerr socket)"
echo "load: latency p50 ${L_p50_ms} ms, p99 ${L_p99_ms} ms, max ${L_max_ms} ms"
echo "load: RSS start ${rss_start} KiB, after warm-up ${rss_warm} KiB, end ${rss_end} KiB (+${grow} KiB), idle ${rss_idle} KiB"
echo "load: RSS every 5 s (KiB): $(tr '\n' ' ' <"$tmp/rss.txt")"
# a clean stop after the load: SIGTERM, exit status 0
kill -TERM "$server"
stopped=0
wait "$server" || stopped=$?
server=""
echo "load: exit status after SIGTERM: $stopped"
rc=0
if [ "$stopped" -ne 0 ]; then
    echo "load: FAILED: revopsd exited $stopped after SIGTERM" >&2
    rc=1
fi
if [ "$bad" -ne 0 ]; then
    echo "load: FAILED: $bad requests failed" >&2
    grep -v '^{' "$tmp/revopsd.log" | tail -5 >&2 || true
    rc=1
fi
if [ "$grow" -gt "$slack" ]; then
    echo "load: FAILED: RSS grew by $grow KiB under steady load (slack $slack KiB)" >&2
    rc=1
fi
exit $rc

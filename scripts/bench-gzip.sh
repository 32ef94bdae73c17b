#!/usr/bin/env bash
# bench-gzip.sh - the effect of gzip content-coding (server/gzip.c) on the demo
# dashboard and on deal lists: bytes on the wire, one client's request time,
# and throughput under wrk, each with and without Accept-Encoding: gzip in the
# same run on the same server. Prints a Markdown section (make bench includes
# it in docs/benchmarks.md). Starts its own cluster and revopsd.
#   BENCH_SECONDS (default 10), BENCH_RUNS (default 3), BENCH_CONNECTIONS (64)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${BENCH_SECONDS:-10}
runs=${BENCH_RUNS:-3}
conns=${BENCH_CONNECTIONS:-64}
build=${BUILD:-build}
tmp=$(mktemp -d /tmp/revops-gzbench-XXXXXX)
chmod 755 "$tmp"
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    wait 2>/dev/null || true
    scripts/devdb stop "$tmp/pg" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
say() { echo "bench-gzip: $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
med() { sort -g | awk '{a[NR]=$1} END {printf "%s %s %s\n", a[int((NR+1)/2)], a[1], a[NR]}'; }

url=$(DEVDB_FAST=1 scripts/devdb start "$tmp/pg" | tail -1)
"$build/revopsd" migrate --database-url "$url" >/dev/null 2>&1
say "loading the demo workspace"
"$build/revopsd" demo load --database-url "$url" >/dev/null 2>&1
key=$("$build/revopsd" keys create --workspace demo --role read --database-url "$url" | tail -1)
port=$(free_port)
"$build/revopsd" serve --listen "127.0.0.1:$port" --threads 2 --database-url "$url" 2>"$tmp/revopsd.log" &
pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
base="http://127.0.0.1:$port"
auth="Authorization: Bearer $key"

# name|path|connections|extra header. The lists are database-bound (tens of ms a
# request): a few connections, or the backlog outlives wrk and meets the server's
# connection limit.
saved=()
targets=("dashboard|/v1/dashboard?period=2017-Q4|$conns" "dashboard, YAML|/v1/dashboard?period=2017-Q4|$conns|Accept: application/yaml"
    "50 deals|/v1/deals?limit=50|4" "200 deals|/v1/deals?limit=200|4")
echo "| answer (wrk connections) | bytes plain | bytes gzip | gzip/plain | one client ms plain | one client ms gzip | requests/s plain | requests/s gzip | gzip/plain rps |"
echo "|---|---|---|---|---|---|---|---|---|"
for t in "${targets[@]}"; do
    IFS='|' read -r name path c extra <<<"$t"
    hdr=(-H "$auth")
    [ -n "${extra:-}" ] && hdr+=(-H "$extra")
    curl -sf -o /dev/null "${hdr[@]}" "$base$path" # warm the answer cache
    plain=$(curl -sf -o /dev/null -w '%{size_download}' "${hdr[@]}" "$base$path")
    curl -sf -o "$tmp/body.${name//[^a-zA-Z0-9]/_}" "${hdr[@]}" "$base$path"
    saved+=("$name=$tmp/body.${name//[^a-zA-Z0-9]/_}")
    gz=$(curl -sf -o /dev/null -w '%{size_download}' "${hdr[@]}" -H 'Accept-Encoding: gzip' "$base$path")
    # one client, 50 sequential requests each way, interleaved
    : >"$tmp/p"
    : >"$tmp/g"
    for _ in $(seq 1 50); do
        curl -sf -o /dev/null -w '%{time_total}\n' "${hdr[@]}" "$base$path" >>"$tmp/p"
        curl -sf -o /dev/null -w '%{time_total}\n' "${hdr[@]}" -H 'Accept-Encoding: gzip' "$base$path" >>"$tmp/g"
    done
    read -r pm _ _ < <(awk '{print $1*1000}' "$tmp/p" | med)
    read -r gm _ _ < <(awk '{print $1*1000}' "$tmp/g" | med)
    : >"$tmp/wp"
    : >"$tmp/wg"
    for _ in $(seq 1 "$runs"); do
        wrk -t2 -c"$c" -d"${secs}s" "${hdr[@]}" "$base$path" 2>&1 | awk '/Requests\/sec/ {print $2}' >>"$tmp/wp"
        sleep 1
        wrk -t2 -c"$c" -d"${secs}s" "${hdr[@]}" -H 'Accept-Encoding: gzip' "$base$path" 2>&1 |
            awk '/Requests\/sec/ {print $2}' >>"$tmp/wg"
        sleep 1
    done
    read -r wpm wpl wph < <(med <"$tmp/wp")
    read -r wgm wgl wgh < <(med <"$tmp/wg")
    printf '| %s (`%s`, %s) | %s | %s | %.0f%% | %.2f | %.2f | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.0f%% |\n' \
        "$name" "$path" "$c" "$plain" "$gz" "$(echo "$gz $plain" | awk '{print 100*$1/$2}')" "$pm" "$gm" \
        "$wpm" "$wpl" "$wph" "$wgm" "$wgl" "$wgh" "$(echo "$wgm $wpm" | awk '{print 100*$1/$2}')"
done
echo
echo "The encoder alone (tests/bench/bench_gzip.c, the same answers) at zlib levels 1, 6 and 9, against the"
echo "same deflate with zlib's default 32 KiB window and memory, in the same run:"
echo
"$build/bench/bench_gzip" "${saved[@]}"

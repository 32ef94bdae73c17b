#!/usr/bin/env bash
# bench-apply.sh - the webhook applier's rate on a fixed backlog, and what it wrote (issue 17).
# On a PostgreSQL cluster of its own:
#   1. a revopsd without appliers stores HubSpot deliveries (tests/bench/hook_load.c, 4 clients,
#      BENCH_HOOK_SECONDS), as bench-hooks.sh's drain does; to those pending events this adds
#      out-of-order ones (older than the deal's changes: stale; one name stale and the owner
#      fresh), closed stages, deletes and later changes of the deleted deals, in a shuffled
#      order, and stored duplicates of some;
#   2. that database becomes a template; each run drains a fresh copy in one backend
#      (webhook_apply_batch(BENCH_APPLY_BATCH) and a commit per batch, asynchronous, as an
#      applier does), timing it and the backend's CPU;
#   3. after each run, the md5 of the deals, their stage and field history and the events'
#      states (ordered; times written by now() left out), so two builds can be compared on
#      the same input: one applier's batches are the same every run, so equal digests mean
#      the same results. (Two appliers split the batches by timing: an out-of-order event's
#      outcome depends on which batch it lands in, so their digests vary run to run.)
# BENCH_APPLY_SQL="DIR..." re-applies DIR/sql/30_deals.sql and DIR/sql/40_webhooks.sql to a copy
# before its drain, each DIR in turn within every run (checkouts' writers interleaved on the
# same backlog: before/after; "." is this checkout).
# Run: BUILD=build/dev scripts/bench-apply.sh (after make BUILD=build/dev all and
# make BUILD=build/dev build/dev/bench/hook_load). Prints one line per run on stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD:-build}
runs=${BENCH_RUNS:-3}
hooksecs=${BENCH_HOOK_SECONDS:-5}
batch=${BENCH_APPLY_BATCH:-500}
sqlsrc=${BENCH_APPLY_SQL:-}
py=/usr/bin/python3
[ -x "$py" ] || py=python3
tmp=$(mktemp -d /tmp/revops-bench-apply-XXXXXX)
chmod 755 "$tmp"
srv=""
cleanup() {
    [ -n "$srv" ] && { kill "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true; }
    scripts/devdb stop "$tmp/pgd" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
say() { echo "bench-apply: $*" >&2; }

url=$(scripts/devdb start "$tmp/pgd" | tail -1)
host=${url##*host=}
dbq() { psql -qAtX -v ON_ERROR_STOP=1 "postgresql://revops@/$1?host=$host" "${@:2}"; }
"$build/revopsd" migrate --database-url "$url" >/dev/null 2>&1
port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$build/revopsd" serve --listen "127.0.0.1:$port" --threads 2 --database-url "$url" --access-log 0 \
    --webhook-appliers 0 --webhook-max-backlog 0 2>>"$tmp/revopsd.log" &
srv=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
key=$("$build/revopsd" keys create --workspace hooks --role admin --database-url "$url" | tail -1)
ep=$(curl -sf -H "Authorization: Bearer $key" -H "Content-Type: application/json" \
    "http://127.0.0.1:$port/v1/webhook-endpoints" \
    -d '{"source":"hubspot","secret":"bench-hubspot-secret","public_url":"https://bench.example","stage_map":{"presentationscheduled":"proposal"}}' |
    "$py" -c 'import json, sys; print(json.load(sys.stdin)["id"])')
say "storing a backlog (${hooksecs} s, 4 clients)"
"$build/bench/hook_load" hubspot "http://127.0.0.1:$port" https://bench.example "$ep" bench-hubspot-secret 4 "$hooksecs" >/dev/null
kill "$srv"
wait "$srv" 2>/dev/null || true
srv=""

# the out-of-order, closing, deleting and duplicate events (seq order shuffled, so that a
# deal's events do not arrive in their time order)
dbq revops <<'SQL'
WITH d AS (
    SELECT DISTINCT ON (object_id) object_id, workspace_id, endpoint_id, delivery_id, occurred_at
    FROM webhook_events WHERE status = 'pending' ORDER BY object_id, seq),
dd AS (SELECT d.*, row_number() OVER (ORDER BY d.object_id) AS r FROM d),
x AS (
    SELECT dd.*, v.kind, v.at, v.patch, v.op
    FROM dd CROSS JOIN LATERAL (VALUES
        ('stale', dd.occurred_at - interval '1 hour', jsonb_build_object('amount_cents', 1, 'stage', 'closed_won'), 'apply'),
        ('partial', dd.occurred_at + interval '1 second', jsonb_build_object('name', 'Stale name', 'owner', 'rep-' || dd.r), 'apply'),
        ('won', dd.occurred_at + interval '1 minute', jsonb_build_object('stage', 'closed_won'), 'apply'),
        ('delete', dd.occurred_at + interval '2 minutes', NULL, 'delete'),
        ('undelete', dd.occurred_at + interval '3 minutes', jsonb_build_object('amount_cents', 777), 'apply')
    ) AS v(kind, at, patch, op)
    WHERE (v.kind IN ('stale', 'partial') AND dd.r % 7 = 0) OR (v.kind = 'won' AND dd.r % 11 = 0)
       OR (v.kind IN ('delete', 'undelete') AND dd.r % 13 = 0))
INSERT INTO webhook_events (workspace_id, endpoint_id, delivery_id, dedupe_key, event_type, object_id,
                            occurred_at, payload, ops, status, detail)
SELECT x.workspace_id, x.endpoint_id, x.delivery_id, 'extra:' || x.kind || ':' || x.object_id, 'deal.propertyChange',
       x.object_id, x.at, '{}',
       jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('op', x.op, 'id', x.object_id, 'origin', 'hubspot',
                                                              'at', x.at, 'patch', x.patch))),
       'pending', ''
FROM x ORDER BY md5(x.kind || x.object_id);
INSERT INTO webhook_events (workspace_id, endpoint_id, delivery_id, dedupe_key, event_type, object_id,
                            occurred_at, payload, ops, status, detail)
SELECT workspace_id, endpoint_id, delivery_id, dedupe_key, event_type, object_id, occurred_at, payload, '[]',
       'duplicate', 'already received as event ' || id
FROM webhook_events WHERE status = 'pending' AND seq % 50 = 0;
VACUUM ANALYZE webhook_events;
SQL
dbq postgres -c "CREATE DATABASE apply_tmpl TEMPLATE revops"
pending=$(dbq apply_tmpl -c "SELECT count(*) FROM webhook_events WHERE status = 'pending'")
say "$pending pending events; $runs drains in one backend, batches of $batch${sqlsrc:+, sql/ of $sqlsrc}"

for i in $(seq 1 "$runs"); do
  for src in ${sqlsrc:-""}; do
    db=apply_run_$i
    dbq postgres -c "CREATE DATABASE $db TEMPLATE apply_tmpl"
    if [ -n "$src" ]; then
        for f in "$src/sql/30_deals.sql" "$src/sql/40_webhooks.sql"; do dbq "$db" -f "$f" >/dev/null; done
    fi
    # the backend's CPU time (utime + stime, clock ticks) and the wall clock around the drain
    out=$(dbq "$db" <<SQL
SET synchronous_commit = off;
SELECT pg_backend_pid() AS pid \gset
\setenv BENCH_BACKEND :pid
\! awk '{print \$14 + \$15}' /proc/\$BENCH_BACKEND/stat; date +%s.%N
DO \$\$ DECLARE c int; BEGIN LOOP SELECT claimed INTO c FROM webhook_apply_batch($batch); COMMIT; EXIT WHEN c = 0; END LOOP; END \$\$;
\! awk '{print \$14 + \$15}' /proc/\$BENCH_BACKEND/stat; date +%s.%N
SQL
    )
    left=$(dbq "$db" -c "SELECT count(*) FROM webhook_events WHERE status = 'pending'")
    digest=$(dbq "$db" <<'SQL' | tr '\n' ' '
SELECT 'deals ' || count(*) || ' ' || md5(COALESCE(string_agg(x, E'\n' ORDER BY x), '')) FROM (
    SELECT concat_ws('|', external_id, name, amount_cents, currency, stage, status, forecast_category, probability,
                     expected_close_date, created_at, closed_at, owner, account, segment, source, lost_reason,
                     last_activity_at, pipeline, custom, stage_entered_at, push_count, field_changed_at,
                     deleted_at IS NULL) AS x FROM deals) s;
SELECT 'stages ' || count(*) || ' ' || md5(COALESCE(string_agg(x, E'\n' ORDER BY x), '')) FROM (
    SELECT concat_ws('|', deal_id, stage, entered_at, origin,
                     row_number() OVER (PARTITION BY workspace_id, deal_id ORDER BY id)) AS x
    FROM deal_stage_history) s;
SELECT 'changes ' || count(*) || ' ' || md5(COALESCE(string_agg(x, E'\n' ORDER BY x), '')) FROM (
    SELECT concat_ws('|', deal_id, field, old_value, new_value, changed_at, applied, origin,
                     row_number() OVER (PARTITION BY workspace_id, deal_id ORDER BY id)) AS x
    FROM deal_changes) s;
SELECT 'events ' || count(*) || ' ' || md5(COALESCE(string_agg(x, E'\n' ORDER BY x), '')) FROM (
    SELECT concat_ws('|', id, status, detail, applied_at IS NULL) AS x FROM webhook_events) s;
SELECT string_agg(status || ' ' || n, ', ' ORDER BY status) FROM (
    SELECT status, count(*) AS n FROM webhook_events GROUP BY 1) s;
SQL
    )
    echo "$out" | awk -v n="$pending" -v left="$left" -v l="$(cut -d' ' -f1-3 /proc/loadavg)" -v d="$digest" -v src="${src:-.}" '
        NR == 1 {c0 = $1} NR == 2 {t0 = $1} NR == 3 {c1 = $1} NR == 4 {t1 = $1}
        END {cpu = (c1 - c0) / 100; w = t1 - t0
             printf "sql/ of %s: %d events (%d left pending): %.2f s, %.0f events/s; backend CPU %.2f s, %.0f events per CPU-second; load %s; %s\n",
                    src, n, left, w, n / w, cpu, (cpu > 0 ? n / cpu : 0), l, d}'
    dbq postgres -c "DROP DATABASE $db"
  done
done

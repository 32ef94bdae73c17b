-- sql/40_webhooks.sql - webhook ingest and replay: a delivery's events to deal changes
-- (set-wise, event by event when that fails) and stored events replayed.
--
-- The one home of these functions: applied after the versioned migrations, again
-- whenever this file changes (docs/migrations.md). Change a rule here, never in a
-- migration. "history:" names the migrations that defined earlier versions.

-- history: 0002_crm, 20_json.sql (moved here with the portal binding, 0032)
CREATE OR REPLACE FUNCTION webhook_endpoint_json(e webhook_endpoints) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', e.id, 'source', e.source, 'url', '/v1/hooks/' || e.id, 'public_url', e.public_url,
        'stage_map', e.stage_map, 'field_map', e.field_map,
        'has_secret', e.secret IS NOT NULL, 'basic_auth_username', e.basic_username,
        'portal_id', e.portal_id, 'created_at', rfc3339(e.created_at)) $$;

-- history: 0002_crm, 20_json.sql
CREATE OR REPLACE FUNCTION webhook_event_json(e webhook_events) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', e.id, 'endpoint_id', e.endpoint_id, 'dedupe_key', e.dedupe_key, 'type', e.event_type,
        'object_id', e.object_id, 'occurred_at', rfc3339(e.occurred_at), 'status', e.status,
        'detail', e.detail, 'payload', e.payload, 'received_at', rfc3339(e.received_at),
        'applied_at', rfc3339(e.applied_at)) $$;

-- history: 0014_webhook_ingest_fast
-- The ops of one event, applied without a subtransaction of their own.
CREATE OR REPLACE FUNCTION webhook_apply_ops_raw(ws uuid, ops jsonb, OUT status text, OUT detail text)
LANGUAGE plpgsql AS $$
DECLARE
    o jsonb;
    r text;
    results text[] := '{}';
BEGIN
    FOR o IN SELECT value FROM jsonb_array_elements(ops) LOOP
        IF o ->> 'op' = 'delete' THEN
            r := CASE WHEN deal_delete(ws, o ->> 'id', (o ->> 'at')::timestamptz, o ->> 'origin')
                      THEN 'deleted' ELSE 'unchanged' END;
        ELSE
            r := deal_apply(ws, o ->> 'id', o -> 'patch', (o ->> 'at')::timestamptz, o ->> 'origin',
                            o ? 'stage_at', (o ->> 'stage_at')::timestamptz);
        END IF;
        results := results || r;
    END LOOP;
    -- every change older than what is stored: recorded in field history, not applied
    status := CASE WHEN cardinality(results) > 0 AND results <@ ARRAY['stale'] THEN 'stale' ELSE 'applied' END;
    detail := array_to_string(results, ', ');
END $$;

-- history: 0008_webhooks, 0014_webhook_ingest_fast
CREATE OR REPLACE FUNCTION webhook_apply_ops(ws uuid, ops jsonb, OUT status text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT a.status, a.detail INTO status, detail FROM webhook_apply_ops_raw(ws, ops) a;
EXCEPTION WHEN others THEN
    status := 'rejected';
    detail := SQLERRM;
END $$;

-- history: 0014_webhook_ingest_fast
-- 0008's event-by-event path, as a pass of the same shape.
CREATE OR REPLACE FUNCTION webhook_ingest_each(ws uuid, ep uuid, dlv uuid, evs jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    e jsonb;
    eid uuid;
    first uuid;
    st text;
    dt text;
    out jsonb := '[]';
BEGIN
    FOR e IN SELECT value FROM jsonb_array_elements(evs) LOOP
        eid := NULL;
        INSERT INTO webhook_events (workspace_id, endpoint_id, delivery_id, dedupe_key, event_type, object_id,
                                    occurred_at, payload, ops, status)
        VALUES (ws, ep, dlv, e ->> 'dedupe_key', COALESCE(e ->> 'type', ''), e ->> 'object_id',
                (e ->> 'occurred_at')::timestamptz, e -> 'payload', COALESCE(e -> 'ops', '[]'), 'received')
        ON CONFLICT (workspace_id, endpoint_id, dedupe_key) WHERE status <> 'duplicate' DO NOTHING
        RETURNING id INTO eid;
        IF eid IS NULL THEN
            SELECT w.id INTO first FROM webhook_events w
            WHERE w.workspace_id = ws AND w.endpoint_id = ep AND w.dedupe_key = e ->> 'dedupe_key'
              AND w.status <> 'duplicate';
            st := 'duplicate';
            dt := 'already received as event ' || first;
            INSERT INTO webhook_events (workspace_id, endpoint_id, delivery_id, dedupe_key, event_type, object_id,
                                        occurred_at, payload, ops, status, detail)
            VALUES (ws, ep, dlv, e ->> 'dedupe_key', COALESCE(e ->> 'type', ''), e ->> 'object_id',
                    (e ->> 'occurred_at')::timestamptz, e -> 'payload', '[]', st, dt)
            RETURNING id INTO eid;
        ELSE
            IF e ? 'error' THEN
                st := 'rejected';
                dt := e ->> 'error';
            ELSE
                SELECT a.status, a.detail INTO st, dt FROM webhook_apply_ops(ws, e -> 'ops') a;
                IF e ? 'note' THEN
                    dt := e ->> 'note';
                END IF;
            END IF;
            UPDATE webhook_events SET status = st, detail = dt,
                   applied_at = CASE WHEN st IN ('applied', 'stale') THEN now() END
            WHERE id = eid;
        END IF;
        out := out || jsonb_build_array(jsonb_build_array(eid, st, dt));
    END LOOP;
    RETURN out;
END $$;

-- history: 0016_deal_apply_rounds
-- Webhook ingest, a delivery at a time: look every event's identity up, apply
-- the changes of the new ones through deal_apply_set, insert every event row
-- with its outcome. Same result shape as 0014's passes. Raises (and the
-- caller falls back to webhook_ingest_each) when a dedupe key repeats within
-- the delivery or when an event turns up from a concurrent delivery between
-- the lookup and the insert.
CREATE OR REPLACE FUNCTION webhook_ingest_set(ws uuid, ep uuid, dlv uuid, evs jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    firsts uuid[];
    ops jsonb;
    res text[];
    nins int;
    out jsonb;
BEGIN
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(evs) AS v GROUP BY v ->> 'dedupe_key' HAVING count(*) > 1) THEN
        RAISE EXCEPTION 'a dedupe key repeats within the delivery';
    END IF;
    -- Planned on each call (EXECUTE), with the table's size of the moment: a plan cached while
    -- webhook_events was empty could read it through the list index for every lookup (0017).
    EXECUTE 'SELECT array_agg((SELECT w.id FROM webhook_events w
                               WHERE w.workspace_id = $1 AND w.endpoint_id = $2
                                 AND w.dedupe_key = e.v ->> ''dedupe_key'' AND w.status <> ''duplicate'')
                              ORDER BY e.k)
             FROM jsonb_array_elements($3) WITH ORDINALITY AS e(v, k)'
        INTO firsts USING ws, ep, evs;
    SELECT COALESCE(jsonb_agg(o.op || jsonb_build_object('ev', e.k) ORDER BY e.k, o.k), '[]') INTO ops
    FROM jsonb_array_elements(evs) WITH ORDINALITY AS e(v, k),
         jsonb_array_elements(COALESCE(e.v -> 'ops', '[]')) WITH ORDINALITY AS o(op, k)
    WHERE firsts[e.k::int] IS NULL AND NOT e.v ? 'error';
    SELECT array_agg(a.result ORDER BY a.n) INTO res FROM deal_apply_set(ws, ops) AS a;
    WITH e AS (
        SELECT t.v, t.k::int AS k FROM jsonb_array_elements(evs) WITH ORDINALITY AS t(v, k)),
    opres AS (
        SELECT (x.op ->> 'ev')::int AS ev, array_agg(res[x.k::int] ORDER BY x.k) AS results
        FROM jsonb_array_elements(ops) WITH ORDINALITY AS x(op, k) GROUP BY 1),
    evrows AS (
        SELECT e.k, gen_random_uuid() AS id, e.v, firsts[e.k] AS first,
               CASE WHEN firsts[e.k] IS NOT NULL THEN 'duplicate'
                    WHEN e.v ? 'error' THEN 'rejected'
                    -- every change older than what is stored: recorded in field history, not applied
                    WHEN cardinality(r.results) > 0 AND r.results <@ ARRAY['stale'] THEN 'stale'
                    ELSE 'applied' END AS st,
               CASE WHEN firsts[e.k] IS NOT NULL THEN 'already received as event ' || firsts[e.k]
                    WHEN e.v ? 'error' THEN e.v ->> 'error'
                    WHEN e.v ? 'note' THEN e.v ->> 'note'
                    ELSE array_to_string(COALESCE(r.results, '{}'), ', ') END AS dt
        FROM e LEFT JOIN opres r ON r.ev = e.k),
    ins AS (
        INSERT INTO webhook_events (id, workspace_id, endpoint_id, delivery_id, dedupe_key, event_type, object_id,
                                    occurred_at, payload, ops, status, detail, applied_at)
        SELECT evrows.id, ws, ep, dlv, evrows.v ->> 'dedupe_key', COALESCE(evrows.v ->> 'type', ''), evrows.v ->> 'object_id',
               (evrows.v ->> 'occurred_at')::timestamptz, evrows.v -> 'payload',
               CASE WHEN evrows.first IS NOT NULL THEN '[]' ELSE COALESCE(evrows.v -> 'ops', '[]') END,
               evrows.st, evrows.dt, CASE WHEN evrows.st IN ('applied', 'stale') THEN now() END
        FROM evrows ORDER BY evrows.k
        ON CONFLICT (workspace_id, endpoint_id, dedupe_key) WHERE status <> 'duplicate' DO NOTHING
        RETURNING 1)
    SELECT (SELECT count(*) FROM ins), COALESCE(jsonb_agg(jsonb_build_array(evrows.id, evrows.st, evrows.dt) ORDER BY evrows.k), '[]')
      INTO nins, out FROM evrows;
    IF nins <> jsonb_array_length(evs) THEN
        RAISE EXCEPTION 'an event of this delivery arrived twice at once';
    END IF;
    RETURN out;
END $$;

-- history: 0008_webhooks, 0014_webhook_ingest_fast, 0015_generic_plans_for_writes, 0016_deal_apply_rounds
CREATE OR REPLACE FUNCTION webhook_ingest(ws uuid, ep uuid, hdrs jsonb, body text, evs jsonb)
RETURNS TABLE (n int, event_id uuid, status text, detail text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    dlv uuid;
    res jsonb;
BEGIN
    INSERT INTO webhook_deliveries (workspace_id, endpoint_id, headers, body)
    VALUES (ws, ep, hdrs, body) RETURNING id INTO dlv;
    BEGIN
        res := webhook_ingest_set(ws, ep, dlv, evs);
    EXCEPTION WHEN others THEN -- one bad event must not take its delivery down: event by event
        res := webhook_ingest_each(ws, ep, dlv, evs);
    END;
    RETURN QUERY SELECT t.i::int, (t.x ->> 0)::uuid, t.x ->> 1, t.x ->> 2
                 FROM jsonb_array_elements(res) WITH ORDINALITY AS t(x, i) ORDER BY t.i;
END $$;

-- history: 0008_webhooks, 0015_generic_plans_for_writes
-- Replay one stored event with ops recomputed from its payload (the endpoint's
-- mapping may have changed since). Returns the event's JSON. Generic plans, as for
-- webhook_ingest (0015: its statements are key lookups, re-planning them cost more).
CREATE OR REPLACE FUNCTION webhook_replay(ws uuid, eid uuid, ops jsonb, err text, note text) RETURNS jsonb
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    st text;
    dt text;
    ev webhook_events;
BEGIN
    IF err IS NOT NULL THEN
        st := 'rejected';
        dt := err;
    ELSE
        SELECT a.status, a.detail INTO st, dt FROM webhook_apply_ops(ws, ops) a;
        dt := COALESCE(note, dt);
    END IF;
    UPDATE webhook_events SET status = CASE WHEN webhook_events.status = 'duplicate' THEN 'duplicate' ELSE st END,
           detail = 'replayed: ' || dt, ops = COALESCE(webhook_replay.ops, '[]'),
           applied_at = CASE WHEN st IN ('applied', 'stale') THEN now() ELSE applied_at END
    WHERE id = eid AND workspace_id = ws RETURNING * INTO ev;
    RETURN webhook_event_json(ev);
END $$;

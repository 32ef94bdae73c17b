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
        'portal_id', e.portal_id, 'apply_mode', e.apply_mode, 'created_at', rfc3339(e.created_at)) $$;

-- history: 0002_crm, 20_json.sql (state: issue 17's name for status, the same value)
CREATE OR REPLACE FUNCTION webhook_event_json(e webhook_events) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', e.id, 'endpoint_id', e.endpoint_id, 'dedupe_key', e.dedupe_key, 'type', e.event_type,
        'object_id', e.object_id, 'occurred_at', rfc3339(e.occurred_at), 'status', e.status, 'state', e.status,
        'detail', e.detail, 'payload', e.payload, 'received_at', rfc3339(e.received_at),
        'applied_at', rfc3339(e.applied_at)) $$;

-- history: 0014_webhook_ingest_fast, issue 17, 2026-12-07 (a delete's result is deal_delete's, stale too)
-- The ops of one event, applied without a subtransaction of their own.
CREATE OR REPLACE FUNCTION webhook_apply_ops_raw(ws uuid, ops jsonb, OUT status text, OUT detail text)
LANGUAGE plpgsql AS $$
DECLARE
    o jsonb;
    r text;
    results text[] := '{}';
BEGIN
    IF ops -> 0 ->> 'op' IN ('lead_apply', 'lead_delete', 'lead_link') THEN -- a HubSpot contact's (sql/74_leads.sql)
        SELECT a.status, a.detail INTO status, detail FROM lead_webhook_ops(ws, ops) a;
        RETURN;
    END IF;
    FOR o IN SELECT value FROM jsonb_array_elements(ops) LOOP
        IF o ->> 'op' = 'delete' THEN
            r := deal_delete(ws, o ->> 'id', (o ->> 'at')::timestamptz, o ->> 'origin');
        ELSE
            r := deal_apply(ws, o ->> 'id', o -> 'patch', (o ->> 'at')::timestamptz, o ->> 'origin',
                            o ? 'stage_at', (o ->> 'stage_at')::timestamptz);
        END IF;
        results := results || r;
    END LOOP;
    -- every change (a delete too) older than what is stored: recorded in field history, not applied
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

-- history: 0008_webhooks, 0014_webhook_ingest_fast, 0016_deal_apply_rounds (webhook_ingest_set/_each, dropped by 0033),
--          issue 17, 2026-12-07 (the identity lookup a probe per event)
-- Store a delivery: the raw request and one row per event, nothing applied.
-- A new event is 'pending' ('rejected' with the adapter's reason; an event with
-- nothing to apply, 'applied' with its note); an event whose identity was seen
-- before, in an earlier delivery, earlier in this one or in a delivery
-- committing at the same moment (ON CONFLICT waits for it), is stored as a
-- 'duplicate' of the first. Two statements whatever the delivery's size.
CREATE OR REPLACE FUNCTION webhook_store(ws uuid, ep uuid, hdrs jsonb, body text, evs jsonb)
RETURNS TABLE (n int, event_id uuid, status text, detail text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    dlv uuid;
BEGIN
    INSERT INTO webhook_deliveries (workspace_id, endpoint_id, headers, body)
    VALUES (ws, ep, hdrs, body) RETURNING id INTO dlv;
    INSERT INTO webhook_events (workspace_id, endpoint_id, delivery_id, dedupe_key, event_type, object_id,
                                occurred_at, payload, ops, status, detail, applied_at)
    SELECT ws, ep, dlv, t.v ->> 'dedupe_key', COALESCE(t.v ->> 'type', ''), t.v ->> 'object_id',
           (t.v ->> 'occurred_at')::timestamptz, t.v -> 'payload', COALESCE(t.v -> 'ops', '[]'),
           CASE WHEN t.v ? 'error' THEN 'rejected'
                WHEN jsonb_array_length(COALESCE(t.v -> 'ops', '[]')) = 0 THEN 'applied' ELSE 'pending' END,
           COALESCE(t.v ->> 'error', t.v ->> 'note', ''),
           CASE WHEN NOT t.v ? 'error' AND jsonb_array_length(COALESCE(t.v -> 'ops', '[]')) = 0 THEN now() END
    FROM jsonb_array_elements(evs) WITH ORDINALITY AS t(v, k)
    ORDER BY t.k
    ON CONFLICT (workspace_id, endpoint_id, dedupe_key) WHERE status <> 'duplicate' DO NOTHING;
    RETURN QUERY
    WITH e AS (
        SELECT t.v, t.k::int AS k, row_number() OVER (PARTITION BY t.v ->> 'dedupe_key' ORDER BY t.k) AS nth
        FROM jsonb_array_elements(evs) WITH ORDINALITY AS t(v, k)),
    f AS ( -- the first event of each identity, whether this delivery stored it, else its duplicate's id
        SELECT e.*, w.id AS first_id, w.status AS first_status, w.detail AS first_detail,
               COALESCE(w.delivery_id = dlv AND e.nth = 1, false) AS ours, gen_random_uuid() AS dup_id
        -- LIMIT 1 (one row at most: webhook_events_dedupe is unique) makes it a probe of that
        -- index per event; as a join, the generic plan on a never-analysed table hashed every
        -- event the endpoint ever stored, for each delivery (43 ms a delivery at 56,000)
        FROM e LEFT JOIN LATERAL (SELECT w.id, w.status, w.detail, w.delivery_id FROM webhook_events w
                                  WHERE w.workspace_id = ws AND w.endpoint_id = ep
                                    AND w.dedupe_key = e.v ->> 'dedupe_key' AND w.status <> 'duplicate'
                                  LIMIT 1) w ON true),
    dup AS (
        INSERT INTO webhook_events (id, workspace_id, endpoint_id, delivery_id, dedupe_key, event_type, object_id,
                                    occurred_at, payload, ops, status, detail)
        SELECT f.dup_id, ws, ep, dlv, f.v ->> 'dedupe_key', COALESCE(f.v ->> 'type', ''), f.v ->> 'object_id',
               (f.v ->> 'occurred_at')::timestamptz, f.v -> 'payload', '[]', 'duplicate',
               'already received as event ' || f.first_id
        FROM f WHERE NOT f.ours ORDER BY f.k
        RETURNING 1)
    SELECT f.k, CASE WHEN f.ours THEN f.first_id ELSE f.dup_id END,
           CASE WHEN f.ours THEN f.first_status ELSE 'duplicate' END,
           CASE WHEN f.ours THEN f.first_detail ELSE 'already received as event ' || f.first_id END
    FROM f -- dup runs to completion whether or not it is read
    ORDER BY f.k;
END $$;

-- Apply events (ids: pending events of workspace ws, locked by the caller:
-- claimed by webhook_apply_batch or just stored by webhook_ingest) through
-- deal_apply_set, each deal's changes in event-time order (deal_apply_set puts
-- a deal's k-th change in round k, in list order). A deal that does not exist
-- yet is created only once its events, with those held before, carry a name
-- and a stage (what PUT /v1/deals/{id} requires): until then they are 'held',
-- and the event that completes them applies them all, in their time order.
-- If the set-wise pass fails (a value PostgreSQL refuses) it is rolled back
-- and the events are applied one by one, each in its own subtransaction, so
-- one bad event cannot take its batch down.
CREATE OR REPLACE FUNCTION webhook_apply_events(ws uuid, ids uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    todo jsonb;
    ops jsonb;
    evids uuid[];
    res text[];
    e record;
    st text;
    dt text;
BEGIN
    -- contact events are leads' (sql/74_leads.sql): applied first, they are
    -- not pending any more below
    PERFORM lead_webhook_apply(ws, ids);
    WITH mine AS ( -- each id looked up by its key (LIMIT 1: a probe per id): as a filter, a
                   -- never-analysed table's plan read every pending event of the workspace
        SELECT w.* FROM unnest(ids) AS i(id)
        CROSS JOIN LATERAL (SELECT w.id, w.object_id, w.ops, w.occurred_at, w.seq FROM webhook_events w
                            WHERE w.id = i.id AND w.workspace_id = ws AND w.status = 'pending' LIMIT 1) AS w),
    objs AS (SELECT DISTINCT m.object_id FROM mine m WHERE m.object_id IS NOT NULL),
    held AS ( -- what waited for the same deals before, a probe of webhook_events_waiting per deal
              -- (as a join, a never-analysed table's plan read every waiting event of the workspace)
        SELECT h.* FROM objs o
        CROSS JOIN LATERAL (SELECT w.id, w.object_id, w.ops, w.occurred_at, w.seq FROM webhook_events w
                            WHERE w.workspace_id = ws AND w.object_id = o.object_id AND w.status = 'held'
                            FOR UPDATE) AS h),
    pool AS (SELECT m.*, false AS was_held FROM mine m UNION ALL SELECT h.*, true FROM held h),
    complete AS ( -- a deal can take its changes: it exists (a deleted one too: it has its name and
                  -- stage; one created meanwhile by PUT or an import as well), nothing here would
                  -- create it, or what is here gives it a name and a stage. OFFSET 0: a probe of
                  -- deals_pkey per deal; without it the planner hashed every deal of the
                  -- workspace for each batch (EXPLAIN: all 5,550 of the drain's by its end)
        SELECT p.object_id,
               EXISTS (SELECT 1 FROM deals d WHERE d.workspace_id = ws AND d.external_id = p.object_id OFFSET 0)
               OR NOT COALESCE(bool_or(o.v ->> 'op' = 'apply' AND o.v ->> 'id' = p.object_id), false)
               OR (COALESCE(bool_or(o.v -> 'patch' ? 'name') FILTER (WHERE o.v ->> 'id' = p.object_id), false)
                   AND COALESCE(bool_or(o.v -> 'patch' ? 'stage') FILTER (WHERE o.v ->> 'id' = p.object_id), false))
                   AS ok
        FROM pool p LEFT JOIN LATERAL jsonb_array_elements(p.ops) AS o(v) ON true
        WHERE p.object_id IS NOT NULL
        GROUP BY p.object_id)
    SELECT COALESCE(jsonb_agg(jsonb_build_object('id', p.id, 'ops', p.ops,
                                                 'hold', COALESCE(NOT c.ok, false), 'was_held', p.was_held)
                              ORDER BY p.occurred_at NULLS FIRST, p.seq), '[]')
      INTO todo
    FROM pool p LEFT JOIN complete c ON c.object_id = p.object_id
    WHERE NOT (p.was_held AND NOT COALESCE(c.ok, false));
    UPDATE webhook_events w SET status = 'held',
           detail = 'held: deal ' || w.object_id || ' is not known yet; applied once its name and stage arrive'
    FROM jsonb_array_elements(todo) AS t(v)
    WHERE w.id = (t.v ->> 'id')::uuid AND (t.v ->> 'hold')::boolean;
    -- the changes in event-time order and, alongside, the event each came from (by
    -- position: deal_apply_set's n); an 'ev' key added to every change cost a jsonb
    -- rebuilt per change and a second pass over the list afterwards
    SELECT COALESCE(jsonb_agg(o.op ORDER BY t.k, o.k), '[]'), array_agg((t.v ->> 'id')::uuid ORDER BY t.k, o.k)
      INTO ops, evids
    FROM jsonb_array_elements(todo) WITH ORDINALITY AS t(v, k),
         jsonb_array_elements(t.v -> 'ops') WITH ORDINALITY AS o(op, k)
    WHERE NOT (t.v ->> 'hold')::boolean;
    IF jsonb_array_length(ops) = 0 THEN
        RETURN;
    END IF;
    BEGIN
        SELECT array_agg(a.result ORDER BY a.n) INTO res FROM deal_apply_set(ws, ops) AS a;
    EXCEPTION WHEN others THEN -- rolled back to here: event by event below
        res := NULL;
    END;
    IF res IS NOT NULL THEN
        WITH r AS ( -- an event's results in its changes' order (ids are distinct in todo)
            SELECT x.id, array_agg(res[x.k::int] ORDER BY x.k) AS results
            FROM unnest(evids) WITH ORDINALITY AS x(id, k) GROUP BY 1)
        UPDATE webhook_events w SET
            -- every change older than what is stored: recorded in field history, not applied
            status = CASE WHEN r.results <@ ARRAY['stale'] THEN 'stale' ELSE 'applied' END,
            detail = array_to_string(r.results, ', '), applied_at = now()
        FROM r WHERE w.id = r.id;
        RETURN;
    END IF;
    FOR e IN SELECT (t.v ->> 'id')::uuid AS id, t.v -> 'ops' AS ops
             FROM jsonb_array_elements(todo) WITH ORDINALITY AS t(v, k)
             WHERE NOT (t.v ->> 'hold')::boolean ORDER BY t.k LOOP
        SELECT a.status, a.detail INTO st, dt FROM webhook_apply_ops(ws, e.ops) a;
        UPDATE webhook_events w SET status = st, detail = dt,
               applied_at = CASE WHEN st IN ('applied', 'stale') THEN now() END
        WHERE w.id = e.id;
    END LOOP;
END $$;

-- The claim of webhook_apply_batch: up to lim pending events, oldest first, rows
-- another applier holds skipped. Read from webhook_events_pending in seq order,
-- stopping at lim: without statistics (a new install, a burst before autovacuum's
-- first analyse) the planner took a bitmap scan of every pending event and sorted
-- them, 28 ms a batch at 25,000 pending and growing with the backlog (the drain
-- quadratic); the settings, this function's own, leave it the index's order.
CREATE OR REPLACE FUNCTION webhook_claim(lim int) RETURNS uuid[]
LANGUAGE plpgsql SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off AS $$
BEGIN
    RETURN (SELECT array_agg(c.id)
            FROM (SELECT w.id FROM webhook_events w WHERE w.status = 'pending' ORDER BY w.seq LIMIT lim
                  FOR UPDATE SKIP LOCKED) c);
END $$;

-- Claim up to lim pending events (oldest first; rows another applier holds are
-- skipped, not waited for) and apply them, one call per workspace. An event
-- behind an earlier pending event of the same deal that is not in this claim
-- (another applier holds it) is left for later (its lock goes at commit), so
-- two appliers never apply one deal's changes out of order. The caller
-- commits: claim, changes and states commit together, so a crash before the
-- commit leaves the events pending and none is applied twice. Returns the
-- number of events applied (0 with a non-zero *claimed: all were deferred)
-- and the workspaces they were applied in (revopsd marks their cached
-- forecast inputs stale, server/fccache.c). The OUT list changed once
-- (workspaces added): CREATE OR REPLACE cannot change it, hence the DROP.
DROP FUNCTION IF EXISTS webhook_apply_batch(int);
CREATE FUNCTION webhook_apply_batch(lim int, OUT applied int, OUT claimed int, OUT workspaces uuid[])
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
    g record;
BEGIN
    applied := 0;
    workspaces := '{}';
    ids := webhook_claim(lim);
    claimed := COALESCE(cardinality(ids), 0);
    IF claimed = 0 THEN
        RETURN;
    END IF;
    -- each claimed event by its key (without statistics, "id = ANY" was a bitmap of
    -- every pending event ANDed with the key's)
    FOR g IN SELECT w.workspace_id, array_agg(w.id) AS ids FROM unnest(ids) AS i(id)
             CROSS JOIN LATERAL (SELECT w.id, w.workspace_id, w.object_id, w.seq FROM webhook_events w
                                 WHERE w.id = i.id AND w.status = 'pending' LIMIT 1) AS w
             -- OFFSET 0: a probe of webhook_events_waiting per claimed event; as an
             -- anti-join the planner hashed every pending event of the backlog and
             -- compared each with all of ids (14 ms of a 168 ms batch of 500 at 14,400
             -- pending, growing with the backlog)
             WHERE NOT EXISTS (SELECT 1 FROM webhook_events p
                               WHERE p.workspace_id = w.workspace_id AND p.object_id = w.object_id
                                 AND p.status = 'pending' AND p.seq < w.seq AND p.id <> ALL (ids) OFFSET 0)
             GROUP BY w.workspace_id LOOP
        PERFORM webhook_apply_events(g.workspace_id, g.ids);
        applied := applied + cardinality(g.ids);
        workspaces := workspaces || g.workspace_id;
    END LOOP;
END $$;

-- history: 0008_webhooks, 0014_webhook_ingest_fast, 0015_generic_plans_for_writes, 0016_deal_apply_rounds
-- A sync endpoint's delivery: stored, then its events applied in the same
-- transaction, each event's outcome returned (the 200 is sent after the commit).
CREATE OR REPLACE FUNCTION webhook_ingest(ws uuid, ep uuid, hdrs jsonb, body text, evs jsonb)
RETURNS TABLE (n int, event_id uuid, status text, detail text)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    stored jsonb;
BEGIN
    SELECT jsonb_agg(jsonb_build_array(s.n, s.event_id, s.status) ORDER BY s.n) INTO stored
    FROM webhook_store(ws, ep, hdrs, body, evs) AS s;
    PERFORM webhook_apply_events(ws, ARRAY(SELECT (x ->> 1)::uuid FROM jsonb_array_elements(stored) AS x
                                           WHERE x ->> 2 = 'pending'));
    RETURN QUERY SELECT (x ->> 0)::int, w.id, w.status, w.detail
                 FROM jsonb_array_elements(stored) AS x JOIN webhook_events w ON w.id = (x ->> 1)::uuid
                 ORDER BY (x ->> 0)::int;
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

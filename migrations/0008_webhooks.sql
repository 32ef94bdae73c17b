-- Webhook ingest: the canonical changes computed from each stored event, and
-- one function that stores a verified delivery and applies its events in the
-- caller's transaction, so a 2xx is sent only after raw and applied state
-- commit together.
ALTER TABLE webhook_events ADD COLUMN ops jsonb NOT NULL DEFAULT '[]';
CREATE INDEX webhook_events_by_endpoint ON webhook_events (workspace_id, endpoint_id, seq);

-- Apply one event's ops; returns (status, detail). An op that fails (a value
-- PostgreSQL refuses) rejects the event without losing its stored row.
CREATE FUNCTION webhook_apply_ops(ws uuid, ops jsonb, OUT status text, OUT detail text)
LANGUAGE plpgsql AS $$
DECLARE
    o jsonb;
    r text;
    results text[] := '{}';
BEGIN
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
    EXCEPTION WHEN others THEN
        status := 'rejected';
        detail := SQLERRM;
        RETURN;
    END;
    -- every change older than what is stored: recorded in field history, not applied
    status := CASE WHEN cardinality(results) > 0 AND results <@ ARRAY['stale'] THEN 'stale' ELSE 'applied' END;
    detail := array_to_string(results, ', ');
END $$;

-- evs: [{dedupe_key, type, object_id, occurred_at, payload, ops, error?, note?}]
-- Returns one row per event, in order: its id, status and detail.
CREATE FUNCTION webhook_ingest(ws uuid, ep uuid, hdrs jsonb, body text, evs jsonb)
RETURNS TABLE (n int, event_id uuid, status text, detail text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    dlv uuid;
    e jsonb;
    eid uuid;
    first uuid;
    st text;
    dt text;
BEGIN
    INSERT INTO webhook_deliveries (workspace_id, endpoint_id, headers, body)
    VALUES (ws, ep, hdrs, body) RETURNING id INTO dlv;
    n := 0;
    FOR e IN SELECT value FROM jsonb_array_elements(evs) LOOP
        n := n + 1;
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
        ELSIF e ? 'error' THEN
            st := 'rejected';
            dt := e ->> 'error';
        ELSE
            SELECT a.status, a.detail INTO st, dt FROM webhook_apply_ops(ws, e -> 'ops') a;
            IF e ? 'note' THEN
                dt := e ->> 'note';
            END IF;
        END IF;
        IF st <> 'duplicate' THEN
            UPDATE webhook_events SET status = st, detail = dt,
                   applied_at = CASE WHEN st IN ('applied', 'stale') THEN now() END
            WHERE id = eid;
        END IF;
        event_id := eid;
        status := st;
        detail := dt;
        RETURN NEXT;
    END LOOP;
END $$;

-- Replay one stored event with ops recomputed from its payload (the endpoint's
-- mapping may have changed since). Returns the event's JSON.
CREATE FUNCTION webhook_replay(ws uuid, eid uuid, ops jsonb, err text, note text) RETURNS jsonb
LANGUAGE plpgsql AS $$
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

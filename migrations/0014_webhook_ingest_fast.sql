-- webhook_ingest, cheaper per event. 0008 inserted each event as 'received',
-- applied it in its own subtransaction and updated the row with the outcome:
-- two writes of the row (the status is in the dedupe index's predicate, so
-- the update is not HOT) and a subtransaction per event. Now a batch first
-- runs in one subtransaction that looks each event's identity up, applies it
-- and inserts its row once, with its outcome. If anything in that pass fails
-- (a value PostgreSQL refuses, or a concurrent delivery of the same event
-- between the lookup and the insert), the pass is rolled back and 0008's
-- event-by-event path runs instead, so one bad event still cannot take its
-- batch down.

-- The ops of one event, applied without a subtransaction of their own.
CREATE FUNCTION webhook_apply_ops_raw(ws uuid, ops jsonb, OUT status text, OUT detail text)
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

CREATE OR REPLACE FUNCTION webhook_apply_ops(ws uuid, ops jsonb, OUT status text, OUT detail text)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT a.status, a.detail INTO status, detail FROM webhook_apply_ops_raw(ws, ops) a;
EXCEPTION WHEN others THEN
    status := 'rejected';
    detail := SQLERRM;
END $$;

-- The fast pass: [[event id, status, detail], ...] in order; raises when an
-- event's identity turns up between its lookup and its insert.
CREATE FUNCTION webhook_ingest_pass(ws uuid, ep uuid, dlv uuid, evs jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    e jsonb;
    eid uuid;
    first uuid;
    st text;
    dt text;
    ops jsonb;
    out jsonb := '[]';
BEGIN
    FOR e IN SELECT value FROM jsonb_array_elements(evs) LOOP
        SELECT w.id INTO first FROM webhook_events w
        WHERE w.workspace_id = ws AND w.endpoint_id = ep AND w.dedupe_key = e ->> 'dedupe_key'
          AND w.status <> 'duplicate';
        ops := COALESCE(e -> 'ops', '[]');
        IF first IS NOT NULL THEN
            st := 'duplicate';
            dt := 'already received as event ' || first;
            ops := '[]';
        ELSIF e ? 'error' THEN
            st := 'rejected';
            dt := e ->> 'error';
        ELSE
            SELECT a.status, a.detail INTO st, dt FROM webhook_apply_ops_raw(ws, ops) a;
            IF e ? 'note' THEN
                dt := e ->> 'note';
            END IF;
        END IF;
        eid := NULL;
        INSERT INTO webhook_events (workspace_id, endpoint_id, delivery_id, dedupe_key, event_type, object_id,
                                    occurred_at, payload, ops, status, detail, applied_at)
        VALUES (ws, ep, dlv, e ->> 'dedupe_key', COALESCE(e ->> 'type', ''), e ->> 'object_id',
                (e ->> 'occurred_at')::timestamptz, e -> 'payload', ops, st, dt,
                CASE WHEN st IN ('applied', 'stale') THEN now() END)
        ON CONFLICT (workspace_id, endpoint_id, dedupe_key) WHERE status <> 'duplicate' DO NOTHING
        RETURNING id INTO eid;
        IF eid IS NULL THEN
            RAISE EXCEPTION 'event % arrived twice at once', e ->> 'dedupe_key';
        END IF;
        out := out || jsonb_build_array(jsonb_build_array(eid, st, dt));
    END LOOP;
    RETURN out;
END $$;

-- 0008's event-by-event path, as a pass of the same shape.
CREATE FUNCTION webhook_ingest_each(ws uuid, ep uuid, dlv uuid, evs jsonb) RETURNS jsonb
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

CREATE OR REPLACE FUNCTION webhook_ingest(ws uuid, ep uuid, hdrs jsonb, body text, evs jsonb)
RETURNS TABLE (n int, event_id uuid, status text, detail text)
LANGUAGE plpgsql AS $$
DECLARE
    dlv uuid;
    res jsonb;
BEGIN
    INSERT INTO webhook_deliveries (workspace_id, endpoint_id, headers, body)
    VALUES (ws, ep, hdrs, body) RETURNING id INTO dlv;
    BEGIN
        res := webhook_ingest_pass(ws, ep, dlv, evs);
    EXCEPTION WHEN others THEN
        res := webhook_ingest_each(ws, ep, dlv, evs);
    END;
    RETURN QUERY SELECT t.i::int, (t.x ->> 0)::uuid, t.x ->> 1, t.x ->> 2
                 FROM jsonb_array_elements(res) WITH ORDINALITY AS t(x, i) ORDER BY t.i;
END $$;

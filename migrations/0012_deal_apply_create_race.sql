-- deal_apply without the create race: it inserted a deal it had not found
-- with a plain INSERT, so the second of two writers creating the same new
-- deal at once failed on deals_pkey after the first committed. Through the
-- API that was a 409; through a webhook the event was stored as 'rejected'
-- (webhook_apply_ops catches every error), so a CRM's concurrent deliveries
-- for a new deal lost changes. Found by the fault tests (issue 10). Only the
-- create step changed; the rest is 0007's function as it was.
CREATE OR REPLACE FUNCTION deal_apply(ws uuid, ext text, patch jsonb, at timestamptz, origin text,
                                      has_stage_at boolean DEFAULT false, stage_at timestamptz DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    d deals;
    n deals;
    old jsonb;
    cur jsonb;
    newj jsonb;
    nstale int;
    nchanged int;
    created boolean := false;
    fsm int;
    fca jsonb;
BEGIN
    SELECT * INTO d FROM deals WHERE workspace_id = ws AND external_id = ext FOR UPDATE;
    IF NOT FOUND THEN
        -- Two writers may create the same deal at once (two instances, two
        -- webhook deliveries): ON CONFLICT waits for the other's commit, and
        -- the loser then locks and merges into the row the winner created.
        INSERT INTO deals (workspace_id, external_id, created_at)
        VALUES (ws, ext, COALESCE((patch ->> 'created_at')::timestamptz, at))
        ON CONFLICT (workspace_id, external_id) DO NOTHING
        RETURNING * INTO d;
        IF FOUND THEN
            created := true;
        ELSE
            SELECT * INTO d FROM deals WHERE workspace_id = ws AND external_id = ext FOR UPDATE;
        END IF;
    END IF;
    old := to_jsonb(d);
    fca := d.field_changed_at;
    -- a field changed later than this event keeps its value; the change is recorded
    INSERT INTO deal_changes (workspace_id, deal_id, field, old_value, new_value, changed_at, applied, origin)
    SELECT ws, ext, deal_field_name(p.key), deal_value_json(p.key, old -> p.key), deal_value_json(p.key, p.value),
           at, false, origin
    FROM jsonb_each(patch) AS p
    WHERE (fca ->> p.key)::timestamptz > at;
    GET DIAGNOSTICS nstale = ROW_COUNT;
    SELECT COALESCE(jsonb_object_agg(p.key, p.value), '{}') INTO cur
    FROM jsonb_each(patch) AS p
    WHERE (fca ->> p.key) IS NULL OR (fca ->> p.key)::timestamptz <= at;
    n := jsonb_populate_record(d, cur);
    newj := to_jsonb(n);
    INSERT INTO deal_changes (workspace_id, deal_id, field, old_value, new_value, changed_at, applied, origin)
    SELECT ws, ext, deal_field_name(k), CASE WHEN created THEN NULL ELSE deal_value_json(k, old -> k) END,
           deal_value_json(k, newj -> k), at, true, origin
    FROM jsonb_object_keys(cur) AS k
    WHERE old -> k IS DISTINCT FROM newj -> k;
    GET DIAGNOSTICS nchanged = ROW_COUNT;
    SELECT fca || COALESCE(jsonb_object_agg(k, to_jsonb(at)), '{}') INTO fca FROM jsonb_object_keys(cur) AS k;
    -- stage: history, entry time, and the status it implies
    IF n.stage IS DISTINCT FROM d.stage AND n.stage IS NOT NULL THEN
        n.stage_entered_at := CASE WHEN has_stage_at THEN stage_at ELSE at END;
        INSERT INTO deal_stage_history (workspace_id, deal_id, stage, entered_at, origin)
        VALUES (ws, ext, n.stage, n.stage_entered_at, origin);
        IF NOT cur ? 'status' THEN
            n.status := CASE n.stage WHEN 'closed_won' THEN 'won' WHEN 'closed_lost' THEN 'lost' ELSE 'open' END;
        END IF;
    END IF;
    IF n.status <> 'open' AND n.closed_at IS NULL AND NOT cur ? 'closed_at' THEN
        n.closed_at := CASE WHEN has_stage_at AND stage_at IS NOT NULL THEN stage_at ELSE at END;
    END IF;
    IF n.status IS DISTINCT FROM d.status AND NOT created THEN
        INSERT INTO deal_changes (workspace_id, deal_id, field, old_value, new_value, changed_at, applied, origin)
        SELECT ws, ext, 'status', to_jsonb(d.status), to_jsonb(n.status), at, true, origin
        WHERE NOT cur ? 'status';
        fca := fca || jsonb_build_object('status', to_jsonb(at));
    END IF;
    -- a close date moved past the end of its fiscal quarter is a push
    IF d.expected_close_date IS NOT NULL AND n.expected_close_date IS NOT NULL AND NOT created THEN
        SELECT fiscal_year_start_month INTO fsm FROM workspaces WHERE id = ws;
        IF n.expected_close_date >= fiscal_quarter_end(d.expected_close_date, fsm) THEN
            n.push_count := d.push_count + 1;
        END IF;
    END IF;
    UPDATE deals SET
        name = n.name, amount_cents = n.amount_cents, currency = n.currency, stage = n.stage,
        status = n.status, forecast_category = n.forecast_category, probability = n.probability,
        expected_close_date = n.expected_close_date, created_at = n.created_at, closed_at = n.closed_at,
        owner = n.owner, account = n.account, segment = n.segment, source = n.source,
        lost_reason = n.lost_reason, last_activity_at = n.last_activity_at, pipeline = n.pipeline,
        custom = n.custom, stage_entered_at = n.stage_entered_at, push_count = n.push_count,
        field_changed_at = fca, deleted_at = NULL,
        updated_at = CASE WHEN nchanged > 0 OR created OR d.deleted_at IS NOT NULL THEN now() ELSE d.updated_at END
    WHERE workspace_id = ws AND external_id = ext;
    IF created THEN
        RETURN 'created';
    ELSIF nchanged > 0 OR d.deleted_at IS NOT NULL THEN
        RETURN 'updated';
    ELSIF nstale > 0 AND cur = '{}' THEN
        RETURN 'stale';
    END IF;
    RETURN 'unchanged';
END $$;

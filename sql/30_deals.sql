-- sql/30_deals.sql - deal writes: the merge rules (deal_apply_round), the rounds that
-- keep each deal's changes in order (deal_apply_set), their entry points, deletes and
-- the account/rep upsert.
--
-- The one home of these functions: applied after the versioned migrations, again
-- whenever this file changes (docs/migrations.md). Change a rule here, never in a
-- migration. "history:" names the migrations that defined earlier versions.

-- One column of a deal as to_jsonb(d) -> k would give it (a NULL column is JSON
-- null; a key that is no column, SQL NULL), without building the whole row's
-- jsonb: to_jsonb of a deal costs 15 us (its six timestamps formatted), twice
-- per change in deal_apply_round, where only the patch's keys are read. Any
-- key not listed (a column added later) takes the to_jsonb path, so the list
-- is a fast path, never a different answer. SQL and STABLE, as to_jsonb, so
-- that the planner inlines it.
CREATE OR REPLACE FUNCTION deal_col_json(d deals, k text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT CASE k
        WHEN 'name' THEN COALESCE(to_jsonb(d.name), 'null')
        WHEN 'amount_cents' THEN COALESCE(to_jsonb(d.amount_cents), 'null')
        WHEN 'currency' THEN COALESCE(to_jsonb(d.currency), 'null')
        WHEN 'stage' THEN COALESCE(to_jsonb(d.stage), 'null')
        WHEN 'status' THEN COALESCE(to_jsonb(d.status), 'null')
        WHEN 'forecast_category' THEN COALESCE(to_jsonb(d.forecast_category), 'null')
        WHEN 'probability' THEN COALESCE(to_jsonb(d.probability), 'null')
        WHEN 'expected_close_date' THEN COALESCE(to_jsonb(d.expected_close_date), 'null')
        WHEN 'created_at' THEN COALESCE(to_jsonb(d.created_at), 'null')
        WHEN 'closed_at' THEN COALESCE(to_jsonb(d.closed_at), 'null')
        WHEN 'owner' THEN COALESCE(to_jsonb(d.owner), 'null')
        WHEN 'account' THEN COALESCE(to_jsonb(d.account), 'null')
        WHEN 'segment' THEN COALESCE(to_jsonb(d.segment), 'null')
        WHEN 'source' THEN COALESCE(to_jsonb(d.source), 'null')
        WHEN 'lost_reason' THEN COALESCE(to_jsonb(d.lost_reason), 'null')
        WHEN 'last_activity_at' THEN COALESCE(to_jsonb(d.last_activity_at), 'null')
        WHEN 'pipeline' THEN COALESCE(to_jsonb(d.pipeline), 'null')
        WHEN 'custom' THEN COALESCE(to_jsonb(d.custom), 'null')
        ELSE to_jsonb(d) -> k END
$$;

-- history: 0016_deal_apply_rounds, 0022_stage_entered_at_creation (a new deal entered its first stage at its created_at),
-- issue 17, 2026-12-07 (only a change later than the delete restores a deleted deal)
-- ops: [{n, id, patch, at, origin, has_stage_at, stage_at}], ids distinct.
-- Returns created | updated | unchanged | stale per n (0002 has the contract).
--
-- A deleted deal (issue 17, docs/webhooks.md): the result must be what
-- applying the events in event-time order gives, where a delete hides the
-- deal and a later change brings it back. So a change later than deleted_at
-- restores it (a deleted true -> false row in its history, result updated);
-- an older one is merged field by field as into a live deal (the hidden values
-- follow event order, and a later restore shows them) but deleted_at stays.
-- Until 2026-12-07 any change restored it: a late retry of a change older than the
-- delete brought a deleted deal back.
--
-- Every row it reads or writes is found by key, and its plans are cached per
-- connection, so a plan made while a table was small (a scan) would stay after
-- it grew: seq scans are off, leaving the key and TID paths. Found in perf: the
-- UPDATE below scanned every deal of the table once per batch.
CREATE OR REPLACE FUNCTION deal_apply_round(ws uuid, ops jsonb)
RETURNS TABLE (n int, result text)
LANGUAGE plpgsql SET enable_seqscan = off SET plan_cache_mode = force_generic_plan AS $$
#variable_conflict use_column
DECLARE
    new_ids text[];
    fsm int;
BEGIN
    SELECT w.fiscal_year_start_month INTO fsm FROM workspaces w WHERE w.id = ws;
    -- Create the deals that do not exist and lock the ones that do, in key
    -- order: "DO UPDATE ... WHERE false" updates nothing but locks every
    -- conflicting row. Two writers may create the same deal at once: ON
    -- CONFLICT waits for the other's commit, and the loser then locks and
    -- merges into its row (0012). The lock is taken here, in a statement of
    -- its own, so that the next statement's snapshot sees the row versions
    -- it holds: a FOR UPDATE inside that statement returned a version newer
    -- than its snapshot, which its UPDATE could not see (a lost update, found
    -- by the fault tests).
    WITH c AS (
        INSERT INTO deals AS d (workspace_id, external_id, created_at)
        SELECT ws, o.id, COALESCE((o.patch ->> 'created_at')::timestamptz, o.at)
        FROM jsonb_to_recordset(ops) AS o(id text, patch jsonb, at timestamptz)
        ORDER BY o.id
        ON CONFLICT (workspace_id, external_id) DO UPDATE SET external_id = d.external_id WHERE false
        RETURNING d.external_id)
    SELECT COALESCE(array_agg(c.external_id), '{}') INTO new_ids FROM c;

    RETURN QUERY
    WITH o AS (
        SELECT x.*, x.id = ANY (new_ids) AS created
        FROM jsonb_to_recordset(ops) AS x(n int, id text, patch jsonb, at timestamptz, origin text,
                                          has_stage_at boolean, stage_at timestamptz)),
    cur AS ( -- the stored rows (locked above), looked up and below updated row by row; the
             -- LIMIT keeps the lookup a per-change subquery, which the planner would otherwise
             -- turn into a join over all of the workspace's deals
        SELECT o.*, l.drow, l.tid, (l.drow).field_changed_at AS fca
        FROM o CROSS JOIN LATERAL (SELECT d AS drow, d.ctid AS tid FROM deals d
                                   WHERE d.workspace_id = ws AND d.external_id = o.id LIMIT 1) AS l),
    pa AS ( -- a field changed later than this change keeps its value. fresh is a LATERAL
            -- aggregate, computed once per change: as a scalar subquery it was copied into
            -- every expression that used it (4 evaluations per change, 20 us in EXPLAIN)
        SELECT cur.*, fr.fresh, jsonb_populate_record(cur.drow, fr.fresh) AS nr
        FROM cur CROSS JOIN LATERAL (
            SELECT COALESCE(jsonb_object_agg(p.key, p.value), '{}') AS fresh FROM jsonb_each(cur.patch) AS p
            WHERE (cur.fca ->> p.key) IS NULL OR (cur.fca ->> p.key)::timestamptz <= cur.at) AS fr),
    q AS (
        SELECT pa.*, (pa.nr).stage IS DISTINCT FROM (pa.drow).stage AND (pa.nr).stage IS NOT NULL AS stage_moved,
               (pa.drow).deleted_at < pa.at AS restored -- NULL (not restored) for a live deal
        FROM pa),
    ch AS ( -- field history: the restore (it happens first: the change is later than the
            -- delete), the stale changes (recorded, not applied), then the applied ones;
            -- old and new values by deal_col_json, the patch's keys only, in a subquery of
            -- their own (OFFSET 0): deal_value_json reads its argument three times, so it is
            -- inlined only over a plain column, else it ran as a function call per value
        SELECT q.n, 0 AS kind, 0::bigint AS k, 'deleted' AS field, 'true'::jsonb AS old_value,
               'false'::jsonb AS new_value, true AS applied
        FROM q WHERE q.restored
        UNION ALL
        SELECT q.n, 1, e.k, deal_field_name(e.key),
               deal_value_json(e.key, v.old) AS old_value,
               deal_value_json(e.key, e.value), false
        FROM q, jsonb_each(q.patch) WITH ORDINALITY AS e(key, value, k),
             LATERAL (SELECT deal_col_json(q.drow, e.key) AS old OFFSET 0) AS v
        WHERE (q.fca ->> e.key)::timestamptz > q.at
        UNION ALL
        SELECT q.n, 2, e.k, deal_field_name(e.key),
               CASE WHEN q.created THEN NULL ELSE deal_value_json(e.key, v.old) END,
               deal_value_json(e.key, v.new), true
        FROM q, jsonb_object_keys(q.fresh) WITH ORDINALITY AS e(key, k),
             LATERAL (SELECT deal_col_json(q.drow, e.key) AS old, deal_col_json(q.nr, e.key) AS new OFFSET 0) AS v
        WHERE v.old IS DISTINCT FROM v.new),
    cnt AS (
        SELECT ch.n, count(*) FILTER (WHERE ch.applied) AS nchanged, count(*) FILTER (WHERE NOT ch.applied) AS nstale
        FROM ch GROUP BY ch.n),
    st AS ( -- stage: entry time and the status it implies
        SELECT q.*, COALESCE(cnt.nchanged, 0) AS nchanged, COALESCE(cnt.nstale, 0) AS nstale,
               CASE WHEN q.stage_moved THEN CASE WHEN q.has_stage_at THEN q.stage_at
                                                 -- a new deal entered its first stage when it was created
                                                 -- (a deal created closed entered its closed stage when it closed)
                                                 WHEN q.created AND (q.nr).stage IN ('closed_won', 'closed_lost')
                                                      AND (q.nr).closed_at IS NOT NULL THEN LEAST((q.nr).closed_at, q.at)
                                                 WHEN q.created AND (q.nr).created_at < q.at THEN (q.nr).created_at
                                                 ELSE q.at END
                    ELSE (q.nr).stage_entered_at END AS entered,
               CASE WHEN q.stage_moved AND NOT q.fresh ? 'status'
                    THEN CASE (q.nr).stage WHEN 'closed_won' THEN 'won' WHEN 'closed_lost' THEN 'lost' ELSE 'open' END
                    ELSE (q.nr).status END AS status
        FROM q LEFT JOIN cnt ON cnt.n = q.n),
    f AS (
        SELECT st.*,
               CASE WHEN st.status <> 'open' AND (st.nr).closed_at IS NULL AND NOT st.fresh ? 'closed_at'
                    THEN CASE WHEN st.has_stage_at AND st.stage_at IS NOT NULL THEN st.stage_at ELSE st.at END
                    ELSE (st.nr).closed_at END AS closed,
               st.status IS DISTINCT FROM (st.drow).status AND NOT st.created AS status_moved,
               -- a close date moved past the end of its fiscal quarter is a push
               CASE WHEN (st.drow).expected_close_date IS NOT NULL AND (st.nr).expected_close_date IS NOT NULL
                         AND NOT st.created
                         AND (st.nr).expected_close_date >= fiscal_quarter_end((st.drow).expected_close_date, fsm)
                    THEN (st.drow).push_count + 1 ELSE (st.nr).push_count END AS pushes,
               st.fca || COALESCE((SELECT jsonb_object_agg(k, to_jsonb(st.at)) FROM jsonb_object_keys(st.fresh) AS k), '{}')
                   AS fca_fresh
        FROM st),
    upd AS (
        UPDATE deals d SET
            name = (f.nr).name, amount_cents = (f.nr).amount_cents, currency = (f.nr).currency, stage = (f.nr).stage,
            status = f.status, forecast_category = (f.nr).forecast_category, probability = (f.nr).probability,
            expected_close_date = (f.nr).expected_close_date, created_at = (f.nr).created_at, closed_at = f.closed,
            owner = (f.nr).owner, account = (f.nr).account, segment = (f.nr).segment, source = (f.nr).source,
            lost_reason = (f.nr).lost_reason, last_activity_at = (f.nr).last_activity_at, pipeline = (f.nr).pipeline,
            custom = (f.nr).custom, stage_entered_at = f.entered, push_count = f.pushes,
            field_changed_at = f.fca_fresh || CASE WHEN f.status_moved THEN jsonb_build_object('status', to_jsonb(f.at))
                                                   ELSE '{}' END,
            deleted_at = CASE WHEN f.restored THEN NULL ELSE (f.drow).deleted_at END,
            updated_at = CASE WHEN f.nchanged > 0 OR f.created THEN now() ELSE (f.drow).updated_at END
        FROM f WHERE d.ctid = f.tid), -- the rows locked above, by TID
    hist AS (
        INSERT INTO deal_stage_history (workspace_id, deal_id, stage, entered_at, origin)
        SELECT ws, f.id, (f.nr).stage, f.entered, f.origin FROM f WHERE f.stage_moved ORDER BY f.n),
    chg AS ( -- one INSERT, ordered, so each deal's history rows keep deal_apply's order
        INSERT INTO deal_changes (workspace_id, deal_id, field, old_value, new_value, changed_at, applied, origin)
        SELECT ws, x.id, x.field, x.old_value, x.new_value, x.at, x.applied, x.origin
        FROM (SELECT f.n, f.id, f.at, f.origin, ch.kind, ch.k, ch.field, ch.old_value, ch.new_value, ch.applied
              FROM ch JOIN f ON f.n = ch.n
              UNION ALL
              SELECT f.n, f.id, f.at, f.origin, 3, 0, 'status', to_jsonb((f.drow).status), to_jsonb(f.status), true
              FROM f WHERE f.status_moved AND NOT f.fresh ? 'status') AS x
        ORDER BY x.n, x.kind, x.k)
    SELECT f.n,
           CASE WHEN f.created THEN 'created'
                WHEN f.nchanged > 0 THEN 'updated'
                WHEN f.nstale > 0 AND f.fresh = '{}' THEN 'stale'
                ELSE 'unchanged' END
    FROM f ORDER BY f.n;
END $$;

-- history: 0016_deal_apply_rounds, issue 17, 2026-12-07 (a delete's result is deal_delete's, stale too)
-- Any list of changes: [{id, patch, at?, origin?, stage_at?, op?: "delete"}].
-- Returns one result per change, n counting from 1 in list order (deletes:
-- deleted | stale | unchanged, as deal_delete).
CREATE OR REPLACE FUNCTION deal_apply_set(ws uuid, ops jsonb)
RETURNS TABLE (n int, result text)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    todo jsonb;
    rounds int;
    dels boolean;
    res text[];
    per_round jsonb[]; -- the changes of round r (deletes apart), in list order
    del_round jsonb[]; -- the deletes of round r, in list order
    o jsonb;
    r int;
    x record;
BEGIN
    -- One pass over ops: each round's changes are split out here once (each
    -- round used to filter the whole list again: 3-9 ms a round at 2,000 ops)
    -- (a change's round and whether it is a delete stay columns here: as keys of its
    -- jsonb they were built and read back per change)
    WITH t AS (
        SELECT v.k, COALESCE(v.op ->> 'op' = 'delete', false) AS del,
               row_number() OVER (PARTITION BY v.op ->> 'id' ORDER BY v.k) AS r,
               jsonb_build_object('n', v.k, 'id', v.op ->> 'id', 'patch', COALESCE(v.op -> 'patch', '{}'),
                                  'at', COALESCE((v.op ->> 'at')::timestamptz, now()),
                                  'origin', COALESCE(v.op ->> 'origin', 'api'),
                                  'has_stage_at', v.op ? 'stage_at', 'stage_at', v.op -> 'stage_at') AS op
        FROM jsonb_array_elements(ops) WITH ORDINALITY AS v(op, k)),
    g AS (
        SELECT t.r::int AS r, count(*) AS cnt,
               COALESCE(jsonb_agg(t.op ORDER BY t.k) FILTER (WHERE NOT t.del), '[]') AS changes,
               COALESCE(jsonb_agg(t.op ORDER BY t.k) FILTER (WHERE t.del), '[]') AS deletes
        FROM t GROUP BY 1)
    SELECT COALESCE(max(g.r), 0), COALESCE(bool_or(jsonb_array_length(g.deletes) > 0), false),
           COALESCE(sum(g.cnt), 0), array_agg(g.changes ORDER BY g.r), array_agg(g.deletes ORDER BY g.r)
      INTO rounds, dels, r, per_round, del_round
    FROM g;
    IF rounds <= 1 AND NOT dels THEN -- the usual case: every change on a different deal
        RETURN QUERY SELECT a.n, a.result FROM deal_apply_round(ws, COALESCE(per_round[1], '[]')) AS a;
        RETURN;
    END IF;
    res := array_fill(NULL::text, ARRAY[r]);
    FOR r IN 1 .. rounds LOOP
        FOR o IN SELECT v FROM jsonb_array_elements(del_round[r]) AS v LOOP
            res[(o ->> 'n')::int] := deal_delete(ws, o ->> 'id', (o ->> 'at')::timestamptz, o ->> 'origin');
        END LOOP;
        FOR x IN SELECT a.n, a.result FROM deal_apply_round(ws, per_round[r]) AS a LOOP
            res[x.n] := x.result;
        END LOOP;
    END LOOP;
    RETURN QUERY SELECT t.k::int, t.result FROM unnest(res) WITH ORDINALITY AS t(result, k);
END $$;

-- history: 0002_crm, 0007_deal_apply_setwise, 0012_deal_apply_create_race, 0016_deal_apply_rounds
-- The one-deal and many-deal entry points keep their signatures (API, import,
-- the event-by-event webhook path) and now share the rules above.
CREATE OR REPLACE FUNCTION deal_apply(ws uuid, ext text, patch jsonb, at timestamptz, origin text,
                                      has_stage_at boolean DEFAULT false, stage_at timestamptz DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    r text;
BEGIN
    SELECT a.result INTO r FROM deal_apply_round(ws, jsonb_build_array(jsonb_build_object(
        'n', 1, 'id', ext, 'patch', patch, 'at', at, 'origin', origin,
        'has_stage_at', has_stage_at, 'stage_at', stage_at))) AS a;
    RETURN r;
END $$;

-- history: 0002_crm, 0015_generic_plans_for_writes, 0016_deal_apply_rounds
CREATE OR REPLACE FUNCTION deal_apply_many(ws uuid, ops jsonb)
RETURNS TABLE (n bigint, result text)
LANGUAGE sql SET plan_cache_mode = force_generic_plan AS $$
    SELECT a.n, a.result FROM deal_apply_set(ws, ops) AS a ORDER BY a.n
$$;

-- history: 0002_crm (returned boolean, deleted whatever at was; dropped by 0078_deal_delete_event_time)
-- Delete a deal at event time `at` by the event-time merge rule (docs/webhooks.md):
-- the result must be what applying the events in event-time order gives, where a
-- delete hides the deal and a later change brings it back (deal_apply_round). So a
-- delete of a live deal applies only if no field of it changed after `at`; else it
-- is stale: recorded in deal_changes with applied = false (deleted false -> true),
-- the deal left as it is. A deal deleted already, or one that does not exist, is
-- unchanged: no tombstone is kept, so a change older than a delete of a deal never
-- seen before creates it; and a change that set no field left no time to compare
-- with (the limits, in docs/webhooks.md). by_user: DELETE
-- /v1/deals/{id}, the user's explicit act at the server's now(): it always deletes
-- a live deal (a field time later than the server's clock is a sender's skew).
-- Returns deleted | stale | unchanged.
CREATE OR REPLACE FUNCTION deal_delete(ws uuid, ext text, at timestamptz, origin text, by_user boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    d deals;
BEGIN
    -- locked, as deal_apply_round locks it: the field times read here stay until commit
    SELECT * INTO d FROM deals x WHERE x.workspace_id = ws AND x.external_id = ext FOR UPDATE;
    IF NOT FOUND OR d.deleted_at IS NOT NULL THEN
        RETURN 'unchanged';
    END IF;
    IF NOT by_user AND EXISTS (SELECT 1 FROM jsonb_each_text(d.field_changed_at) AS f(k, v) WHERE f.v::timestamptz > at) THEN
        INSERT INTO deal_changes (workspace_id, deal_id, field, old_value, new_value, changed_at, applied, origin)
        VALUES (ws, ext, 'deleted', 'false', 'true', at, false, origin);
        RETURN 'stale';
    END IF;
    UPDATE deals x SET deleted_at = at, updated_at = now() WHERE x.workspace_id = ws AND x.external_id = ext;
    INSERT INTO deal_changes (workspace_id, deal_id, field, old_value, new_value, changed_at, applied, origin)
    VALUES (ws, ext, 'deleted', 'false', 'true', at, true, origin);
    RETURN 'deleted';
END $$;

-- history: 0002_crm
-- Create or merge an account or rep: only the columns present in patch change.
-- Column names come from patch keys, which callers validate against their
-- field tables; quote_ident keeps them identifiers regardless.
CREATE OR REPLACE FUNCTION entity_upsert(tbl text, ws uuid, ext text, patch jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    cols text;
    sets text;
    created boolean;
BEGIN
    IF tbl NOT IN ('accounts', 'reps') THEN
        RAISE EXCEPTION 'entity_upsert: unknown table %', tbl;
    END IF;
    SELECT string_agg(quote_ident(k), ', '), string_agg(format('%I = EXCLUDED.%I', k, k), ', ')
      INTO cols, sets FROM jsonb_object_keys(patch) AS k;
    IF cols IS NULL THEN
        EXECUTE format('INSERT INTO %I AS t (workspace_id, external_id) VALUES ($1, $2)'
                       ' ON CONFLICT (workspace_id, external_id) DO UPDATE SET deleted_at = NULL,'
                       ' updated_at = CASE WHEN t.deleted_at IS NULL THEN t.updated_at ELSE now() END'
                       ' RETURNING (xmax = 0)', tbl)
            INTO created USING ws, ext;
    ELSE
        EXECUTE format('INSERT INTO %I AS t (workspace_id, external_id, %s)'
                       ' SELECT $1, $2, %s FROM jsonb_populate_record(NULL::%I, $3) r'
                       ' ON CONFLICT (workspace_id, external_id) DO UPDATE SET %s, deleted_at = NULL, updated_at = now()'
                       ' RETURNING (xmax = 0)',
                       tbl, cols, (SELECT string_agg('r.' || quote_ident(k), ', ') FROM jsonb_object_keys(patch) k),
                       tbl, sets)
            INTO created USING ws, ext, patch;
    END IF;
    RETURN created;
END $$;

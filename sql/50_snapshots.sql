-- sql/50_snapshots.sql - pipeline snapshots (the pipeline as it stood at a past moment
-- comes from core/fcasof).
--
-- The one home of these functions: applied after the versioned migrations, again
-- whenever this file changes (docs/migrations.md). Change a rule here, never in a
-- migration. "history:" names the migrations that defined earlier versions.

-- The pipeline as it stood at a moment is rebuilt in memory (core/fcasof.h
-- says how) for every caller, snapshots included; the SQL function that did
-- it (0020, 0024, 0029) is gone, as is snapshot_take's form without p_open.
DROP FUNCTION IF EXISTS deals_as_of(uuid, timestamptz);
DROP FUNCTION IF EXISTS snapshot_take(uuid, text, timestamptz, text, date, text, date, date);

-- history: 0005_snapshots, 0020_pipeline_as_of, 0024_fx_in_pipeline_sums (amounts in the workspace currency)
-- Capture in one statement (as 0005): every open deal plus the deals closed
-- inside the period, with the default funnel's stage probability when the deal
-- has no override (weighted = amount x p, rounded half away from zero per
-- deal), and the summary. For a past as_of the caller gives p_open, the deals
-- open then as they were then (core/fcasof, a JSON array of snapshot rows),
-- and the closed ones are those closed in the period before as_of (and not
-- deleted before it): a deal created, won or changed later does not appear. by_category counts each open deal in its own
-- forecast category, else its stage's category in the default funnel
-- (proposal: best_case), else pipeline (0005 put every deal without its own
-- category in pipeline). Returns the new id, or NULL when a scheduled slot is
-- already taken.
CREATE OR REPLACE FUNCTION snapshot_take(ws uuid, p_label text, p_as_of timestamptz, p_kind text, p_slot date,
                                         p_period text, p_start date, p_end date, p_open jsonb) RETURNS uuid
    LANGUAGE plpgsql
    AS $$
DECLARE
    sid uuid;
    past boolean := p_open IS NOT NULL;
BEGIN
    WITH fs AS (
        SELECT x.e ->> 'key' AS key, (x.e ->> 'probability')::numeric AS p, x.n::int AS n,
               x.e ->> 'forecast_category' AS cat
        FROM funnels f, jsonb_array_elements(f.document -> 'stages') WITH ORDINALITY AS x(e, n)
        WHERE f.workspace_id = ws AND f.is_default AND f.deleted_at IS NULL),
    raw AS (
        SELECT d.external_id, d.name,
               COALESCE(fx_convert(ws, (SELECT w.currency FROM workspaces w WHERE w.id = ws), d.currency, d.amount_cents, CASE WHEN d.status = 'open' THEN p_as_of
                                                                     ELSE d.closed_at END), 0) AS amount_cents,
               d.stage, d.status,
               d.forecast_category, d.probability, d.expected_close_date, d.owner, d.segment, d.account, d.closed_at
        FROM deals d
        WHERE NOT past AND d.workspace_id = ws AND d.deleted_at IS NULL
          AND (d.status = 'open' OR (d.closed_at >= p_start::timestamptz AND d.closed_at < p_end::timestamptz))
        UNION ALL
        SELECT a.external_id, a.name, a.amount_cents, a.stage, 'open', a.forecast_category,
               a.probability, a.expected_close_date, a.owner, a.segment, a.account, NULL::timestamptz
        FROM jsonb_to_recordset(p_open) AS a(external_id text, name text, amount_cents bigint, stage text,
                                             forecast_category text, probability numeric, expected_close_date date,
                                             owner text, segment text, account text)
        UNION ALL
        SELECT d.external_id, d.name, COALESCE(fx_convert(ws, (SELECT w.currency FROM workspaces w WHERE w.id = ws), d.currency, d.amount_cents, d.closed_at), 0), d.stage,
               d.status, d.forecast_category,
               d.probability, d.expected_close_date, d.owner, d.segment, d.account, d.closed_at
        FROM deals d
        WHERE past AND d.workspace_id = ws AND (d.deleted_at IS NULL OR d.deleted_at >= p_as_of)
          AND d.status IN ('won', 'lost') AND d.closed_at >= p_start::timestamptz AND d.closed_at < p_end::timestamptz
          AND d.closed_at < p_as_of),
    src AS (
        SELECT r.external_id, r.name, r.amount_cents, r.stage, fs.n AS stage_order, r.status, r.forecast_category,
               CASE r.status WHEN 'won' THEN 1 WHEN 'lost' THEN 0 ELSE COALESCE(r.probability, fs.p, 0) END AS p,
               r.expected_close_date, r.owner, r.segment, r.account, r.closed_at,
               COALESCE(r.forecast_category, fs.cat, 'pipeline') AS category
        FROM raw r LEFT JOIN fs ON fs.key = r.stage),
    w AS (SELECT *, round(amount_cents * p)::bigint AS weighted FROM src),
    quota AS (
        SELECT sum((r.quotas ->> p_period)::bigint) AS cents
        FROM reps r WHERE r.workspace_id = ws AND r.deleted_at IS NULL AND r.quotas ? p_period),
    agg AS (
        SELECT jsonb_build_object(
            'open_deals', count(*) FILTER (WHERE status = 'open'),
            'closed_deals', count(*) FILTER (WHERE status <> 'open'),
            'total', money_json(COALESCE(sum(amount_cents) FILTER (WHERE status = 'open'), 0)),
            'weighted', money_json(COALESCE(sum(weighted) FILTER (WHERE status = 'open'), 0)),
            'in_period', money_json(COALESCE(sum(amount_cents) FILTER (WHERE status = 'open' AND expected_close_date < p_end), 0)),
            'weighted_in_period', money_json(COALESCE(sum(weighted) FILTER (WHERE status = 'open' AND expected_close_date < p_end), 0)),
            'closed_won', money_json(COALESCE(sum(amount_cents) FILTER (WHERE status = 'won'), 0)),
            'quota', (SELECT money_json(cents) FROM quota),
            -- coverage: open pipeline closing this period / (quota - already won)
            'coverage', CASE WHEN (SELECT cents FROM quota) > COALESCE(sum(amount_cents) FILTER (WHERE status = 'won'), 0)
                THEN round(COALESCE(sum(amount_cents) FILTER (WHERE status = 'open' AND expected_close_date < p_end), 0)::numeric
                           / ((SELECT cents FROM quota) - COALESCE(sum(amount_cents) FILTER (WHERE status = 'won'), 0)), 4) END,
            'by_stage', (SELECT COALESCE(jsonb_agg(jsonb_build_object('stage', stage, 'deals', c, 'amount', money_json(a),
                                         'weighted', money_json(wt)) ORDER BY o NULLS LAST, stage), '[]')
                         FROM (SELECT stage, min(stage_order) o, count(*) c, sum(amount_cents) a, sum(weighted) wt
                               FROM w WHERE status = 'open' GROUP BY stage) s),
            'by_category', (SELECT COALESCE(jsonb_agg(jsonb_build_object('category', category, 'deals', c,
                                         'amount', money_json(a), 'weighted', money_json(wt)) ORDER BY category), '[]')
                         FROM (SELECT category, count(*) c, sum(amount_cents) a, sum(weighted) wt
                               FROM w WHERE status = 'open' GROUP BY 1) s),
            'by_owner', (SELECT COALESCE(jsonb_agg(jsonb_build_object('owner', owner, 'deals', c, 'amount', money_json(a),
                                         'weighted', money_json(wt)) ORDER BY owner NULLS FIRST), '[]')
                         FROM (SELECT owner, count(*) c, sum(amount_cents) a, sum(weighted) wt
                               FROM w WHERE status = 'open' GROUP BY owner) s)) AS summary
        FROM w),
    ins AS (
        INSERT INTO snapshots (workspace_id, label, kind, slot, as_of, period, period_start, period_end, summary)
        SELECT ws, p_label, p_kind, p_slot, p_as_of, p_period, p_start, p_end, agg.summary FROM agg
        ON CONFLICT (workspace_id, kind, slot) WHERE slot IS NOT NULL DO NOTHING
        RETURNING id),
    rows AS (
        INSERT INTO snapshot_deals (snapshot_id, workspace_id, deal_id, name, amount_cents, stage, stage_order, status,
                                    forecast_category, probability, weighted_cents, expected_close_date, owner,
                                    segment, account, closed_at)
        SELECT ins.id, ws, w.external_id, w.name, w.amount_cents, w.stage, w.stage_order, w.status,
               w.forecast_category, w.p, w.weighted, w.expected_close_date, w.owner, w.segment, w.account, w.closed_at
        FROM ins, w)
    SELECT id INTO sid FROM ins;
    RETURN sid;
END $$;

-- history: 0011_snapshot_rows_cascade
CREATE OR REPLACE FUNCTION snapshot_rows_delete() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    DELETE FROM snapshot_deals d USING gone g WHERE d.snapshot_id = g.id;
    RETURN NULL;
END $$;

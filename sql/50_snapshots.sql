-- sql/50_snapshots.sql - the pipeline as it stood at a moment (deals_as_of) and pipeline
-- snapshots.
--
-- The one home of these functions: applied after the versioned migrations, again
-- whenever this file changes (docs/migrations.md). Change a rule here, never in a
-- migration. "history:" names the migrations that defined earlier versions.

-- history: 0020_pipeline_as_of, 0024_fx_in_pipeline_sums, 0029_deals_as_of_lateral (per-deal LATERAL lookups: plans that do not depend on fresh statistics)
-- do not depend on fresh statistics)
-- The deals open at p_at, each as it was then (docs/forecast-quality.md says
-- how): created before p_at, not closed before it, not deleted before it.
-- Field values come from deal_changes by event time (changed_at): the latest
-- change before p_at wins; with none before, the earliest applied change after
-- it tells what the value was (its old value), except the record that created
-- the deal, whose old value is SQL NULL: its new value is the first value ever
-- seen, taken as the value then. Only applied changes count after p_at (a
-- stale change's old value is the value when it arrived, not before its event).
-- A field without any such record keeps its current value. The stage and its
-- entry come from the stage history (the last entry before p_at), else the same
-- way from changes. amount_cents is NULL when no amount was known then.
-- last_activity: the deal's last activity when it was before p_at (a later one
-- says nothing about then); pushes: close-date moves past the end of their
-- fiscal quarter before p_at (the rule of deals.push_count). owner, segment,
-- account, name and the owner's region have no history: current values.
CREATE OR REPLACE FUNCTION deals_as_of(p_ws uuid, p_at timestamptz)
    RETURNS TABLE (external_id text, amount_cents bigint, stage text, stage_entered date, probability float8,
                   forecast_category text, expected_close_date date, owner text, segment text, region text,
                   account text, name text, last_activity date, pushes bigint)
    LANGUAGE sql STABLE
    AS $$
    SELECT l.external_id,
           fx_convert(p_ws, (SELECT w.currency FROM workspaces w WHERE w.id = p_ws), l.currency,
                      CASE WHEN piv.v ? 'amount' THEN round((piv.v ->> 'amount')::numeric * 100)::bigint
                           ELSE l.amount_cents END, p_at),
           COALESCE(h.stage, CASE WHEN piv.v ? 'stage' THEN piv.v ->> 'stage' ELSE l.stage END),
           (h.entered_at AT TIME ZONE 'UTC')::date,
           CASE WHEN piv.v ? 'probability' THEN (piv.v ->> 'probability')::float8 ELSE l.probability::float8 END,
           CASE WHEN piv.v ? 'forecast_category' THEN piv.v ->> 'forecast_category' ELSE l.forecast_category END,
           CASE WHEN piv.v ? 'expected_close_date' THEN (piv.v ->> 'expected_close_date')::date
                ELSE l.expected_close_date END,
           l.owner, l.segment, r.region, l.account, l.name,
           CASE WHEN l.last_activity_at < p_at THEN (l.last_activity_at AT TIME ZONE 'UTC')::date END,
           COALESCE(pu.n, 0)
    FROM deals l
    LEFT JOIN LATERAL (
        SELECT jsonb_object_agg(ch.field, CASE WHEN ch.has_before THEN ch.before_v ELSE ch.after_v END) AS v
        FROM (SELECT c.field,
                     (array_agg(c.new_value ORDER BY c.changed_at DESC, c.id DESC) FILTER (WHERE c.changed_at < p_at))[1]
                         AS before_v,
                     bool_or(c.changed_at < p_at) AS has_before,
                     (array_agg(CASE WHEN c.old_value IS NULL THEN c.new_value ELSE c.old_value END
                                ORDER BY c.changed_at, c.id) FILTER (WHERE c.changed_at >= p_at AND c.applied))[1] AS after_v,
                     bool_or(c.changed_at >= p_at AND c.applied) AS has_after
              FROM deal_changes c
              WHERE c.workspace_id = p_ws AND c.deal_id = l.external_id
                AND c.field IN ('amount', 'stage', 'probability', 'forecast_category', 'expected_close_date')
              GROUP BY c.field) ch
        WHERE ch.has_before OR ch.has_after) piv ON true
    LEFT JOIN LATERAL (
        SELECT s.stage, s.entered_at FROM deal_stage_history s
        WHERE s.workspace_id = p_ws AND s.deal_id = l.external_id AND s.entered_at < p_at
        ORDER BY s.entered_at DESC, s.id DESC LIMIT 1) h ON true
    LEFT JOIN LATERAL (
        SELECT count(*) AS n FROM deal_changes c
        WHERE c.workspace_id = p_ws AND c.deal_id = l.external_id AND c.field = 'expected_close_date' AND c.applied
          AND c.changed_at < p_at AND jsonb_typeof(c.old_value) = 'string' AND jsonb_typeof(c.new_value) = 'string'
          AND (c.new_value #>> '{}')::date >= fiscal_quarter_end((c.old_value #>> '{}')::date,
                  (SELECT w.fiscal_year_start_month FROM workspaces w WHERE w.id = p_ws))) pu ON true
    LEFT JOIN reps r ON r.workspace_id = p_ws AND r.external_id = l.owner AND r.deleted_at IS NULL
    WHERE l.workspace_id = p_ws AND l.created_at < p_at AND (l.closed_at IS NULL OR l.closed_at >= p_at)
      AND (l.deleted_at IS NULL OR l.deleted_at >= p_at)
    ORDER BY l.external_id
$$;

-- history: 0005_snapshots, 0020_pipeline_as_of, 0024_fx_in_pipeline_sums (amounts in the workspace currency)
-- Capture in one statement (as 0005): every open deal plus the deals closed
-- inside the period, with the default funnel's stage probability when the deal
-- has no override (weighted = amount x p, rounded half away from zero per
-- deal), and the summary. For a past as_of (before the statement's time) the
-- open deals are deals_as_of(as_of) and the closed ones those closed in the
-- period before as_of (and not deleted before it): a deal created, won or
-- changed later does not appear. by_category counts each open deal in its own
-- forecast category, else its stage's category in the default funnel
-- (proposal: best_case), else pipeline (0005 put every deal without its own
-- category in pipeline). Returns the new id, or NULL when a scheduled slot is
-- already taken.
CREATE OR REPLACE FUNCTION snapshot_take(ws uuid, p_label text, p_as_of timestamptz, p_kind text, p_slot date,
                                         p_period text, p_start date, p_end date) RETURNS uuid
    LANGUAGE plpgsql
    AS $$
DECLARE
    sid uuid;
    past boolean := p_as_of < now();
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
        SELECT a.external_id, a.name, COALESCE(a.amount_cents, 0), a.stage, 'open', a.forecast_category,
               a.probability::numeric, a.expected_close_date, a.owner, a.segment, a.account, NULL::timestamptz
        FROM deals_as_of(ws, p_as_of) a
        WHERE past
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

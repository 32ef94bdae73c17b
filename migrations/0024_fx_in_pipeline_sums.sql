-- 0024_fx_in_pipeline_sums.sql - deals in another currency are converted
-- (fx_convert, 0023) before they are added: deals_as_of gives every amount in
-- the workspace currency at the rate in force at p_at, so every figure for a
-- past date (backtest, forecasts with as_of, an ended period's dashboard, a past
-- week's review, a past snapshot) adds converted amounts; snapshot_take converts
-- today's open deals at the snapshot's moment and closed deals at their close.
-- Both functions as in 0020 but for the fx_convert calls.

CREATE OR REPLACE FUNCTION deals_as_of(p_ws uuid, p_at timestamptz)
    RETURNS TABLE (external_id text, amount_cents bigint, stage text, stage_entered date, probability float8,
                   forecast_category text, expected_close_date date, owner text, segment text, region text,
                   account text, name text, last_activity date, pushes bigint)
    LANGUAGE sql STABLE
    AS $$
    WITH live AS (
        SELECT d.* FROM deals d
        WHERE d.workspace_id = p_ws AND d.created_at < p_at AND (d.closed_at IS NULL OR d.closed_at >= p_at)
          AND (d.deleted_at IS NULL OR d.deleted_at >= p_at)),
    ch AS (
        SELECT c.deal_id, c.field,
               (array_agg(c.new_value ORDER BY c.changed_at DESC, c.id DESC) FILTER (WHERE c.changed_at < p_at))[1] AS before_v,
               bool_or(c.changed_at < p_at) AS has_before,
               (array_agg(CASE WHEN c.old_value IS NULL THEN c.new_value ELSE c.old_value END ORDER BY c.changed_at, c.id)
                    FILTER (WHERE c.changed_at >= p_at AND c.applied))[1] AS after_v,
               bool_or(c.changed_at >= p_at AND c.applied) AS has_after
        FROM deal_changes c JOIN live l ON l.external_id = c.deal_id
        WHERE c.workspace_id = p_ws
          AND c.field IN ('amount', 'stage', 'probability', 'forecast_category', 'expected_close_date')
        GROUP BY 1, 2),
    piv AS (
        SELECT deal_id, jsonb_object_agg(field, CASE WHEN has_before THEN before_v ELSE after_v END) AS v
        FROM ch WHERE has_before OR has_after GROUP BY 1),
    h AS (
        SELECT DISTINCT ON (s.deal_id) s.deal_id, s.stage, s.entered_at
        FROM deal_stage_history s JOIN live l ON l.external_id = s.deal_id
        WHERE s.workspace_id = p_ws AND s.entered_at < p_at
        ORDER BY s.deal_id, s.entered_at DESC, s.id DESC),
    pu AS (
        SELECT c.deal_id, count(*) AS n
        FROM deal_changes c JOIN live l ON l.external_id = c.deal_id
        WHERE c.workspace_id = p_ws AND c.field = 'expected_close_date' AND c.applied AND c.changed_at < p_at
          AND jsonb_typeof(c.old_value) = 'string' AND jsonb_typeof(c.new_value) = 'string'
          AND (c.new_value #>> '{}')::date >= fiscal_quarter_end((c.old_value #>> '{}')::date,
                  (SELECT w.fiscal_year_start_month FROM workspaces w WHERE w.id = p_ws))
        GROUP BY 1)
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
    FROM live l
    LEFT JOIN piv ON piv.deal_id = l.external_id
    LEFT JOIN h ON h.deal_id = l.external_id
    LEFT JOIN pu ON pu.deal_id = l.external_id
    LEFT JOIN reps r ON r.workspace_id = p_ws AND r.external_id = l.owner AND r.deleted_at IS NULL
    ORDER BY l.external_id
$$;

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

-- deals_as_of (0020) with every per-deal lookup as a LATERAL subquery on the
-- history indexes (workspace_id, deal_id, id): the changes, the stage entry
-- and the close-date pushes of each open deal. Joining whole sets left the
-- join method to the statistics: on tables last analysed while they were
-- small the planner expected one row per side and nested-looped a workspace's
-- history against every open deal (quadratic: a freshly bulk-loaded two-year
-- history hit the 5 s statement timeout; tests/api/test_bulkplan.c,
-- docs/benchmarks-notes.md). Same columns, same values as 0024 (amounts in
-- the workspace currency, fx_convert).
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

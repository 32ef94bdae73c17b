-- sql/72_reps.sql - reps and accounts (issue 20): comp plans.
--
-- The one home of these functions: applied after the versioned migrations, again
-- whenever this file changes (docs/migrations.md). Change a rule here, never in a
-- migration.

-- A comp plan as the API shows it: its id, version and warnings around the document.
CREATE OR REPLACE FUNCTION comp_plan_json(p comp_plans) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', p.id, 'name', p.name, 'version', p.version,
        'created_at', rfc3339(p.created_at), 'updated_at', rfc3339(p.updated_at), 'warnings', p.warnings)
        || p.document $$;

CREATE OR REPLACE FUNCTION comp_plan_version_json(v comp_plan_versions) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', v.plan_id, 'name', v.name, 'version', v.version,
        'created_at', rfc3339(v.created_at), 'updated_at', rfc3339(v.created_at), 'warnings', v.warnings)
        || v.document $$;

-- What account health reads of one workspace at day `at` (only what was
-- known before it): per account seen in usage, tickets, NPS responses or
-- subscriptions, the latest seats, active users and API calls of the last 30
-- days and the 30 before, departments new in the last 30 days (in usage; on
-- tickets) for accounts seen before them, CSAT of the last 90 days, urgent or
-- high tickets open at `at`, NPS responses of the last 180 days, the next
-- renewal on or after `at`, the ARR of subscriptions renewing in [qs, qe) on
-- or after `at`, and the last price increase (docs/metrics.md "Account health").
CREATE OR REPLACE FUNCTION account_health_inputs(ws uuid, at date, qs date, qe date)
RETURNS TABLE (account text, seats_used int, seats_limit int, active_recent float8, active_prior float8,
               api_recent float8, api_prior float8, csat_rated bigint, csat_satisfied bigint, urgent_open bigint,
               promoters bigint, passives bigint, detractors bigint, new_departments jsonb,
               new_ticket_departments jsonb, next_renewal date, arr_renewing bigint, last_price_increase date)
LANGUAGE sql STABLE AS $$
    WITH keys AS (
        SELECT u.account FROM account_usage u WHERE u.workspace_id = ws AND u.day < at
        UNION SELECT t.account FROM support_tickets t WHERE t.workspace_id = ws AND t.opened_at < at
        UNION SELECT n.account FROM nps_responses n WHERE n.workspace_id = ws AND n.responded_on < at
        UNION SELECT s.account FROM subscriptions s WHERE s.workspace_id = ws AND s.start_date < at
    )
    SELECT k.account,
        seats.seats_used, seats.seats_limit,
        act.recent, act.prior, act.api_recent, act.api_prior,
        tk.rated, tk.satisfied, tk.urgent,
        np.promoters, np.passives, np.detractors,
        COALESCE(dep.new, '[]'), COALESCE(tdep.new, '[]'),
        sub.next_renewal, COALESCE(sub.renewing, 0), a.last_price_increase
    FROM keys k
    LEFT JOIN accounts a ON a.workspace_id = ws AND a.external_id = k.account AND a.deleted_at IS NULL
    LEFT JOIN LATERAL (
        SELECT u.seats_used, u.seats_limit FROM account_usage u
        WHERE u.workspace_id = ws AND u.account = k.account AND u.day < at
          AND u.seats_used IS NOT NULL AND u.seats_limit > 0
        ORDER BY u.day DESC LIMIT 1) seats ON true
    LEFT JOIN LATERAL (
        SELECT avg(u.active_users) FILTER (WHERE u.day >= at - 30) AS recent,
               avg(u.active_users) FILTER (WHERE u.day < at - 30) AS prior,
               CASE WHEN count(u.api_calls) FILTER (WHERE u.day >= at - 30) > 0
                     AND count(u.api_calls) FILTER (WHERE u.day < at - 30) > 0
                    THEN sum(u.api_calls) FILTER (WHERE u.day >= at - 30) END AS api_recent,
               CASE WHEN count(u.api_calls) FILTER (WHERE u.day >= at - 30) > 0
                     AND count(u.api_calls) FILTER (WHERE u.day < at - 30) > 0
                    THEN sum(u.api_calls) FILTER (WHERE u.day < at - 30) END AS api_prior
        FROM account_usage u
        WHERE u.workspace_id = ws AND u.account = k.account AND u.day >= at - 60 AND u.day < at) act ON true
    LEFT JOIN LATERAL (
        SELECT count(t.csat) FILTER (WHERE t.opened_at >= at - 90) AS rated,
               count(*) FILTER (WHERE t.opened_at >= at - 90 AND t.csat >= 4) AS satisfied,
               count(*) FILTER (WHERE t.priority IN ('urgent', 'high')
                                AND (t.closed_at IS NULL OR t.closed_at >= at)) AS urgent
        FROM support_tickets t WHERE t.workspace_id = ws AND t.account = k.account AND t.opened_at < at) tk ON true
    LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE n.score >= 9) AS promoters,
               count(*) FILTER (WHERE n.score BETWEEN 7 AND 8) AS passives,
               count(*) FILTER (WHERE n.score <= 6) AS detractors
        FROM nps_responses n WHERE n.workspace_id = ws AND n.account = k.account
          AND n.responded_on >= at - 180 AND n.responded_on < at) np ON true
    LEFT JOIN LATERAL (
        SELECT jsonb_agg(DISTINCT d.name ORDER BY d.name) AS new
        FROM account_usage u, jsonb_array_elements_text(u.departments) d(name)
        WHERE u.workspace_id = ws AND u.account = k.account AND u.day >= at - 30 AND u.day < at
          AND EXISTS (SELECT 1 FROM account_usage e WHERE e.workspace_id = ws AND e.account = k.account
                      AND e.day < at - 30)
          AND NOT EXISTS (SELECT 1 FROM account_usage e, jsonb_array_elements_text(e.departments) ed(name)
                          WHERE e.workspace_id = ws AND e.account = k.account AND e.day < at - 30
                            AND ed.name = d.name)) dep ON true
    LEFT JOIN LATERAL (
        SELECT jsonb_agg(DISTINCT t.department ORDER BY t.department) AS new
        FROM support_tickets t
        WHERE t.workspace_id = ws AND t.account = k.account AND t.department IS NOT NULL
          AND t.opened_at >= at - 30 AND t.opened_at < at
          AND EXISTS (SELECT 1 FROM support_tickets e WHERE e.workspace_id = ws AND e.account = k.account
                      AND e.opened_at < at - 30)
          AND NOT EXISTS (SELECT 1 FROM support_tickets e WHERE e.workspace_id = ws AND e.account = k.account
                          AND e.opened_at < at - 30 AND e.department = t.department)
          AND NOT EXISTS (SELECT 1 FROM account_usage e, jsonb_array_elements_text(e.departments) ed(name)
                          WHERE e.workspace_id = ws AND e.account = k.account AND e.day < at - 30
                            AND ed.name = t.department)) tdep ON true
    LEFT JOIN LATERAL (
        SELECT min(COALESCE(s.renewal_date, s.end_date)) FILTER (WHERE COALESCE(s.renewal_date, s.end_date) >= at)
                   AS next_renewal,
               sum(s.arr_cents) FILTER (WHERE COALESCE(s.renewal_date, s.end_date) >= greatest(qs, at)
                                        AND COALESCE(s.renewal_date, s.end_date) < qe) AS renewing
        FROM subscriptions s WHERE s.workspace_id = ws AND s.account = k.account AND s.start_date < at) sub ON true
    ORDER BY k.account COLLATE "C"
$$;

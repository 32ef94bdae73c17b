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

-- A lead's field f as known at time t (event time), as lead_as_of reads every
-- field: the current value when it was set at or before t, else the last
-- applied change at or before t, else null. For one field of many leads.
-- (lead_changes.field is the column name: lead_field_name in sql/74_leads.sql,
-- applied after this file, is the identity.)
CREATE OR REPLACE FUNCTION lead_field_at(l leads, f text, t timestamptz) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT CASE WHEN (l.field_changed_at ->> f) IS NULL OR (l.field_changed_at ->> f)::timestamptz <= t
                THEN to_jsonb(l) -> f
                ELSE COALESCE((SELECT c.new_value FROM lead_changes c
                               WHERE c.workspace_id = l.workspace_id AND c.lead_id = l.external_id
                                 AND c.field = f AND c.applied AND c.changed_at <= t
                               ORDER BY c.changed_at DESC, c.id DESC LIMIT 1), 'null') END
$$;

-- What the revenue-intelligence flags (core/revintel) read of the deals that
-- may be open at `at` (open now, or closed since the day before; the caller
-- keeps the ones it shows: a forecast of 100,000 open deals sends no list, as
-- probing a 100,000-key parameter per row detoasts it per row)
-- before day `at` (docs/metrics.md "Revenue-intelligence flags"): the contacts
-- on each deal then (leads whose deals held it then, or an activity naming
-- the lead and the deal), how many of them had an engagement (an activity
-- other than email_sent, email_bounce, unsubscribe) in the 90 days before,
-- the finance contacts among them (title or persona, then), the champions
-- (persona 'champion' or custom.champion true) of the deal or of its account
-- whose company or account changed in the 90 days before, the deal
-- account's mean daily active users of the last 30 days and the 30 before
-- (account_health_inputs' windows), and the sessions of the last 30 days of
-- the deal's contacts or its account with a pricing page and a competitor
-- page (url naming a comparison, competitor, alternative or vs page).
CREATE OR REPLACE FUNCTION deal_signal_inputs(ws uuid, at date)
RETURNS TABLE (deal text, account text, contacts_on_deal bigint, contacts_engaged bigint, finance_contacts jsonb,
               champion_moves jsonb, active_recent float8, active_prior float8, comparison_sessions jsonb)
LANGUAGE sql STABLE AS $$
    WITH tt AS (SELECT (at::timestamp AT TIME ZONE 'UTC') AS t),
    -- nothing to read when the workspace records no contact on a deal, no usage
    -- and no web session: then no deal is looked at (a forecast of 100,000
    -- open deals pays three index probes)
    has AS (SELECT EXISTS (SELECT 1 FROM leads l WHERE l.workspace_id = ws AND l.deals <> '[]')
                OR EXISTS (SELECT 1 FROM activities a WHERE a.workspace_id = ws AND a.deal_id IS NOT NULL)
                OR EXISTS (SELECT 1 FROM account_usage u WHERE u.workspace_id = ws)
                OR EXISTS (SELECT 1 FROM activities a WHERE a.workspace_id = ws AND a.session_id IS NOT NULL) AS any),
    d AS (SELECT dl.external_id AS deal, dl.account FROM deals dl, has
          WHERE has.any AND dl.workspace_id = ws AND dl.deleted_at IS NULL
            AND (dl.status = 'open' OR dl.closed_at >= (at - 1)::timestamp AT TIME ZONE 'UTC')),
    cand AS (
        SELECT l.external_id AS lead, x.deal FROM leads l
        CROSS JOIN LATERAL jsonb_array_elements_text(l.deals) AS x(deal), has
        WHERE has.any AND l.workspace_id = ws
        UNION
        SELECT c.lead_id, x.deal FROM lead_changes c
        CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(c.new_value) = 'array'
                                                          THEN c.new_value ELSE '[]' END) AS x(deal)
        , has
        WHERE has.any AND c.workspace_id = ws AND c.field = 'deals' AND c.applied
        UNION
        SELECT a.lead_id, a.deal_id FROM activities a, tt, has
        WHERE has.any AND a.deal_id IS NOT NULL AND a.workspace_id = ws AND a.lead_id IS NOT NULL AND a.occurred_at < tt.t),
    links AS (
        SELECT cand.deal, l.external_id AS lead,
               lead_field_at(l, 'title', tt.t) #>> '{}' AS title,
               lead_field_at(l, 'persona', tt.t) #>> '{}' AS persona,
               EXISTS (SELECT 1 FROM activities a WHERE a.workspace_id = ws AND a.lead_id = l.external_id
                       AND a.occurred_at >= tt.t - interval '90 days' AND a.occurred_at < tt.t
                       AND a.type NOT IN ('email_sent', 'email_bounce', 'unsubscribe')) AS engaged
        FROM cand JOIN d ON d.deal = cand.deal JOIN leads l ON l.workspace_id = ws AND l.external_id = cand.lead, tt
        WHERE l.deleted_at IS NULL AND l.created_at <= tt.t
          AND (COALESCE(lead_field_at(l, 'deals', tt.t) ? cand.deal, false)
               OR EXISTS (SELECT 1 FROM activities a WHERE a.workspace_id = ws AND a.lead_id = l.external_id
                          AND a.deal_id = cand.deal AND a.occurred_at < tt.t))),
    moves AS (  -- a champion's company or account changing in the 90 days before
        SELECT DISTINCT c.lead_id AS lead, CASE WHEN c.field = 'account' THEN c.old_value #>> '{}' END AS old_account
        FROM lead_changes c JOIN leads l ON l.workspace_id = ws AND l.external_id = c.lead_id, tt
        WHERE c.workspace_id = ws AND c.applied AND c.field IN ('company', 'account')
          AND c.changed_at >= tt.t - interval '90 days' AND c.changed_at < tt.t
          AND c.old_value IS NOT NULL AND c.old_value <> 'null' AND c.old_value IS DISTINCT FROM c.new_value
          AND l.deleted_at IS NULL
          AND (lower(lead_field_at(l, 'persona', tt.t) #>> '{}') = 'champion'
               OR (lead_field_at(l, 'custom', tt.t) ->> 'champion') = 'true')),
    deal_moves AS (
        SELECT x.deal, jsonb_agg(DISTINCT x.lead) AS leads FROM (
            SELECT d.deal, m.lead FROM moves m JOIN d ON d.account = m.old_account
            UNION SELECT k.deal, m.lead FROM moves m JOIN links k ON k.lead = m.lead) x
        GROUP BY x.deal),
    per_link AS (
        SELECT k.deal, count(*) AS n, count(*) FILTER (WHERE k.engaged) AS engaged,
               COALESCE(jsonb_agg(k.lead ORDER BY k.lead)
                        FILTER (WHERE k.title ~* '\m(cfo|chief financial|finance|financial|controller|comptroller|treasurer)'
                                   OR k.persona ~* 'financ'), '[]') AS finance
        FROM links k GROUP BY k.deal),
    usage AS (
        SELECT au.account, avg(au.active_users) FILTER (WHERE au.day >= at - 30) AS recent,
               avg(au.active_users) FILTER (WHERE au.day < at - 30) AS prior
        FROM account_usage au
        WHERE au.workspace_id = ws AND au.day >= at - 60 AND au.day < at
          AND au.account IN (SELECT d.account FROM d)
        GROUP BY au.account),
    sessions AS (  -- sessions of the last 30 days with a pricing page and a competitor page
        SELECT a.session_id FROM activities a, tt
        WHERE a.workspace_id = ws AND a.session_id IS NOT NULL
          AND a.occurred_at >= tt.t - interval '30 days' AND a.occurred_at < tt.t
        GROUP BY a.session_id
        HAVING bool_or(a.type = 'pricing_page_view' OR a.url ~* '/pricing')
           AND bool_or(a.url ~* '(compar|competitor|alternative|/vs[/-]|-vs-|versus)')),
    session_who AS (  -- the accounts and contacts seen in them
        SELECT DISTINCT a.session_id, COALESCE(a.account_id, l.account) AS account, a.lead_id AS lead
        FROM activities a JOIN sessions s ON s.session_id = a.session_id
        LEFT JOIN leads l ON l.workspace_id = ws AND l.external_id = a.lead_id, tt
        WHERE a.workspace_id = ws AND a.occurred_at >= tt.t - interval '30 days' AND a.occurred_at < tt.t),
    deal_sessions AS (
        SELECT x.deal, jsonb_agg(DISTINCT x.session_id) AS sessions FROM (
            SELECT d.deal, w.session_id FROM session_who w JOIN d ON d.account = w.account
            UNION SELECT k.deal, w.session_id FROM session_who w JOIN links k ON k.lead = w.lead) x
        GROUP BY x.deal)
    SELECT d.deal, d.account, COALESCE(pl.n, 0), COALESCE(pl.engaged, 0), COALESCE(pl.finance, '[]'),
           COALESCE(dm.leads, '[]'), u.recent, u.prior, COALESCE(ds.sessions, '[]')
    FROM d
    LEFT JOIN per_link pl ON pl.deal = d.deal
    LEFT JOIN deal_moves dm ON dm.deal = d.deal
    LEFT JOIN usage u ON u.account = d.account
    LEFT JOIN deal_sessions ds ON ds.deal = d.deal
    -- only deals with something to judge: the rest have no flag
    WHERE pl.deal IS NOT NULL OR dm.deal IS NOT NULL OR u.account IS NOT NULL OR ds.deal IS NOT NULL
    ORDER BY d.deal COLLATE "C"
$$;

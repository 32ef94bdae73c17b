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

-- The one writer of account_usage (POST /v1/usage, server/h_health.c): the
-- items ({account, day, seats_used, seats_limit, active_users, api_calls,
-- departments} and the PLG hand-off's fields of 0076) stored, a later write
-- of an account's day replacing it, the accounts written returned, and
-- the first days of migration 0049 kept exact: an earlier day lowers them; a
-- department a replaced day no longer holds has its first day read again
-- from the account's rows (or goes). One writer per workspace at a time, so
-- that reading sees every committed row.
CREATE OR REPLACE FUNCTION account_usage_store(ws uuid, items jsonb) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    dropped jsonb;
    written jsonb;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('account_usage_store'), hashtext(ws::text));
    SELECT jsonb_agg(DISTINCT jsonb_build_array(u.account, d.name)) INTO dropped
    FROM jsonb_to_recordset(items) AS x(account text, day date, departments jsonb)
    JOIN account_usage u ON u.workspace_id = ws AND u.account = x.account AND u.day = x.day
    CROSS JOIN LATERAL jsonb_array_elements_text(u.departments) d(name)
    WHERE NOT COALESCE(x.departments, '[]') ? d.name;

    -- a day written again replaces the whole day, the PLG hand-off's fields (0076) included
    WITH w AS (
        INSERT INTO account_usage (workspace_id, account, day, seats_used, seats_limit, active_users, api_calls,
                                   departments, onboarding_completed, active_users_7d, core_features, users_invited,
                                   integrations_connected, shared_externally, domain)
        SELECT ws, x.account, x.day, x.seats_used, x.seats_limit, x.active_users, x.api_calls,
               COALESCE(x.departments, '[]'), x.onboarding_completed, x.active_users_7d, COALESCE(x.core_features, '[]'),
               x.users_invited, x.integrations_connected, x.shared_externally, x.domain
        FROM jsonb_to_recordset(items) AS x(account text, day date, seats_used int, seats_limit int, active_users int,
                                            api_calls bigint, departments jsonb, onboarding_completed boolean,
                                            active_users_7d int, core_features jsonb, users_invited int,
                                            integrations_connected int, shared_externally boolean, domain text)
        ON CONFLICT (workspace_id, account, day) DO UPDATE SET
            seats_used = EXCLUDED.seats_used, seats_limit = EXCLUDED.seats_limit, active_users = EXCLUDED.active_users,
            api_calls = EXCLUDED.api_calls, departments = EXCLUDED.departments,
            onboarding_completed = EXCLUDED.onboarding_completed, active_users_7d = EXCLUDED.active_users_7d,
            core_features = EXCLUDED.core_features, users_invited = EXCLUDED.users_invited,
            integrations_connected = EXCLUDED.integrations_connected, shared_externally = EXCLUDED.shared_externally,
            domain = EXCLUDED.domain, recorded_at = now()
        RETURNING account)
    SELECT COALESCE(jsonb_agg(DISTINCT account), '[]') INTO written FROM w;

    INSERT INTO account_usage_span AS f (workspace_id, account, first_day)
    SELECT ws, x.account, min(x.day) FROM jsonb_to_recordset(items) AS x(account text, day date) GROUP BY x.account
    ON CONFLICT (workspace_id, account) DO UPDATE SET first_day = least(f.first_day, EXCLUDED.first_day);

    INSERT INTO account_usage_departments AS f (workspace_id, account, department, first_day)
    SELECT ws, x.account, d.name, min(x.day)
    FROM jsonb_to_recordset(items) AS x(account text, day date, departments jsonb)
    CROSS JOIN LATERAL jsonb_array_elements_text(COALESCE(x.departments, '[]')) d(name)
    GROUP BY x.account, d.name
    ON CONFLICT (workspace_id, account, department) DO UPDATE SET first_day = least(f.first_day, EXCLUDED.first_day);

    IF dropped IS NOT NULL THEN
        DELETE FROM account_usage_departments f
        USING jsonb_array_elements(dropped) e
        WHERE f.workspace_id = ws AND f.account = e ->> 0 AND f.department = e ->> 1;
        INSERT INTO account_usage_departments (workspace_id, account, department, first_day)
        SELECT ws, e ->> 0, e ->> 1, min(u.day)
        FROM jsonb_array_elements(dropped) e
        JOIN account_usage u ON u.workspace_id = ws AND u.account = e ->> 0 AND u.departments ? (e ->> 1)
        GROUP BY e ->> 0, e ->> 1;
    END IF;
    RETURN written; -- the accounts written, for the PQL judgement (sql/76_pql.sql)
END $$;

-- What account health reads of one workspace at day `at` (only what was
-- known before it): per account seen in usage, tickets, NPS responses or
-- subscriptions, the latest seats, active users and API calls of the last 30
-- days and the 30 before, departments new in the last 30 days (in usage; on
-- tickets) for accounts seen before them, CSAT of the last 90 days, urgent or
-- high tickets open at `at`, NPS responses of the last 180 days, the next
-- renewal on or after `at`, the ARR of subscriptions renewing in [qs, qe) on
-- or after `at`, and the last price increase (docs/metrics.md "Account health").
-- Set-wise, one pass over each source: the usage of the 60 days before `at`
-- (by day, account_usage_by_day), the older history only through the first
-- days of 0049 (a department is new when its first day is in the last 30
-- days; an account was seen before them when its first usage day is before
-- them); the latest seats from those 60 days, else the one older row. Hash
-- joins and hash aggregates only: planned without statistics (a
-- never-analysed workspace) the aggregates' row counts are guesses, and a
-- nested loop over them would rescan one per account, a sort-based group
-- sorted the 600,000 window rows on disk (work_mem is raised so that the
-- 10,000 groups' states stay in memory). No JIT: the disabled nested loops' cost sets it
-- off, and compiling this statement's ~180 expressions took 5-7 s of a 10 s
-- request on the bench (the earlier form's nested-loop costs did the same).
CREATE OR REPLACE FUNCTION account_health_inputs(ws uuid, at date, qs date, qe date)
RETURNS TABLE (account text, seats_used int, seats_limit int, active_recent float8, active_prior float8,
               api_recent float8, api_prior float8, csat_rated bigint, csat_satisfied bigint, urgent_open bigint,
               promoters bigint, passives bigint, detractors bigint, new_departments jsonb,
               new_ticket_departments jsonb, next_renewal date, arr_renewing bigint, last_price_increase date)
LANGUAGE sql STABLE
SET enable_nestloop = off
SET enable_sort = off
SET work_mem = '64MB'
SET jit = off
AS $$
    WITH keys AS (
        SELECT s.account FROM account_usage_span s WHERE s.workspace_id = ws AND s.first_day < at
        UNION SELECT t.account FROM support_tickets t WHERE t.workspace_id = ws AND t.opened_at < at
        UNION SELECT n.account FROM nps_responses n WHERE n.workspace_id = ws AND n.responded_on < at
        UNION SELECT s.account FROM subscriptions s WHERE s.workspace_id = ws AND s.start_date < at
    ),
    act AS (
        SELECT u.account,
               -- the latest day's seats: day x 2^31 + seats (0 <= seats < 2^31) orders by
               -- day, and its low 31 bits are that day's (two integer maxima, no array per row)
               max((u.day - DATE '1970-01-01')::bigint * 2147483648 + u.seats_used)
                   FILTER (WHERE u.seats_used IS NOT NULL AND u.seats_limit > 0) AS seats_used,
               max((u.day - DATE '1970-01-01')::bigint * 2147483648 + u.seats_limit)
                   FILTER (WHERE u.seats_used IS NOT NULL AND u.seats_limit > 0) AS seats_limit,
               avg(u.active_users) FILTER (WHERE u.day >= at - 30) AS recent,
               avg(u.active_users) FILTER (WHERE u.day < at - 30) AS prior,
               CASE WHEN count(u.api_calls) FILTER (WHERE u.day >= at - 30) > 0
                     AND count(u.api_calls) FILTER (WHERE u.day < at - 30) > 0
                    THEN sum(u.api_calls) FILTER (WHERE u.day >= at - 30) END AS api_recent,
               CASE WHEN count(u.api_calls) FILTER (WHERE u.day >= at - 30) > 0
                     AND count(u.api_calls) FILTER (WHERE u.day < at - 30) > 0
                    THEN sum(u.api_calls) FILTER (WHERE u.day < at - 30) END AS api_prior
        FROM account_usage u
        WHERE u.workspace_id = ws AND u.day >= at - 60 AND u.day < at
        GROUP BY u.account),
    tk AS (
        SELECT t.account, count(t.csat) FILTER (WHERE t.opened_at >= at - 90) AS rated,
               count(*) FILTER (WHERE t.opened_at >= at - 90 AND t.csat >= 4) AS satisfied,
               count(*) FILTER (WHERE t.priority IN ('urgent', 'high')
                                AND (t.closed_at IS NULL OR t.closed_at >= at)) AS urgent
        FROM support_tickets t WHERE t.workspace_id = ws AND t.opened_at < at
        GROUP BY t.account),
    np AS (
        SELECT n.account, count(*) FILTER (WHERE n.score >= 9) AS promoters,
               count(*) FILTER (WHERE n.score BETWEEN 7 AND 8) AS passives,
               count(*) FILTER (WHERE n.score <= 6) AS detractors
        FROM nps_responses n WHERE n.workspace_id = ws AND n.responded_on >= at - 180 AND n.responded_on < at
        GROUP BY n.account),
    dep AS (  -- departments whose first usage day is in the last 30 days, of accounts with earlier usage
        SELECT d.account, jsonb_agg(d.department ORDER BY d.department) AS new
        FROM account_usage_departments d
        JOIN account_usage_span s ON s.workspace_id = ws AND s.account = d.account AND s.first_day < at - 30
        WHERE d.workspace_id = ws AND d.first_day >= at - 30 AND d.first_day < at
        GROUP BY d.account),
    tfirst AS (  -- each account's and department's first ticket before `at`
        SELECT t.account, t.department, min(t.opened_at) AS first
        FROM support_tickets t WHERE t.workspace_id = ws AND t.opened_at < at
        GROUP BY t.account, t.department),
    tdep AS (  -- departments first on a ticket in the last 30 days, never in earlier usage, of accounts with earlier tickets
        SELECT f.account, jsonb_agg(f.department ORDER BY f.department) AS new
        FROM tfirst f
        JOIN (SELECT x.account FROM tfirst x GROUP BY x.account HAVING min(x.first) < at - 30) e ON e.account = f.account
        LEFT JOIN account_usage_departments d ON d.workspace_id = ws AND d.account = f.account
             AND d.department = f.department AND d.first_day < at - 30
        WHERE f.department IS NOT NULL AND f.first >= at - 30 AND d.account IS NULL
        GROUP BY f.account),
    sub AS (
        SELECT s.account,
               min(COALESCE(s.renewal_date, s.end_date)) FILTER (WHERE COALESCE(s.renewal_date, s.end_date) >= at)
                   AS next_renewal,
               sum(s.arr_cents) FILTER (WHERE COALESCE(s.renewal_date, s.end_date) >= greatest(qs, at)
                                        AND COALESCE(s.renewal_date, s.end_date) < qe) AS renewing
        FROM subscriptions s WHERE s.workspace_id = ws AND s.start_date < at
        GROUP BY s.account)
    SELECT k.account,
        COALESCE((act.seats_used & 2147483647)::int, old.seats_used),
        COALESCE((act.seats_limit & 2147483647)::int, old.seats_limit),
        act.recent, act.prior, act.api_recent, act.api_prior,
        COALESCE(tk.rated, 0), COALESCE(tk.satisfied, 0), COALESCE(tk.urgent, 0),
        COALESCE(np.promoters, 0), COALESCE(np.passives, 0), COALESCE(np.detractors, 0),
        COALESCE(dep.new, '[]'), COALESCE(tdep.new, '[]'),
        sub.next_renewal, COALESCE(sub.renewing, 0), a.last_price_increase
    FROM keys k
    LEFT JOIN accounts a ON a.workspace_id = ws AND a.external_id = k.account AND a.deleted_at IS NULL
    LEFT JOIN act ON act.account = k.account
    LEFT JOIN tk ON tk.account = k.account
    LEFT JOIN np ON np.account = k.account
    LEFT JOIN dep ON dep.account = k.account
    LEFT JOIN tdep ON tdep.account = k.account
    LEFT JOIN sub ON sub.account = k.account
    -- seats older than the 60 days (an account that stopped using the product): its one latest row
    LEFT JOIN LATERAL (
        SELECT u.seats_used, u.seats_limit FROM account_usage u
        WHERE act.seats_used IS NULL AND u.workspace_id = ws AND u.account = k.account AND u.day < at - 60
          AND u.seats_used IS NOT NULL AND u.seats_limit > 0
        ORDER BY u.day DESC LIMIT 1) old ON true
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

-- sql/76_pql.sql - product-qualified leads (issue 20): what the PQL
-- definition and the self-serve signals read of account usage as of a day,
-- and an account's once-only entry into the lead funnel. The thresholds and
-- the verdict are core/pql's (docs/metrics.md "Product-qualified leads").
--
-- The one home of these functions: applied after the versioned migrations, again
-- whenever this file changes (docs/migrations.md).

-- Per account with usage in the longest of the definition's windows (the
-- `active_days`, `feature_days` and `warn_days` days to `at`, `at` included;
-- accts: only these ids, NULL: every one; only_new: only those that can still
-- become a PQL, without one yet and with onboarding completed (a must-have
-- of every definition: the others cannot qualify, and a usage write or a
-- scan need not judge them); a page of at most `lim` accounts after `after`
-- in id order): the largest daily active users of
-- the active window and the latest trailing-7-day count reported in it, the
-- distinct core features used in the feature window (core: the names that
-- count; '[]': every name), the day of the highest seat utilisation in the
-- warning window and in the active window; and over all the days up to
-- `at`: the first day onboarding was reported completed, the first day
-- shared externally, the users invited by admins, the integrations connected
-- on the latest day that reported them, the domain (the latest reported in
-- usage, else the account's custom.domain or custom.website, as hygiene
-- reads it); and the account's PQL lead when it qualified on or before `at`.
-- An account without usage in the window has no active users: it cannot
-- qualify and is not listed. Every read is an index range of one account
-- (the facts of all days from partial indexes holding only the days that
-- report them, migration 0077), so the plan needs no statistics.
-- The accounts with usage in the `days` days to `at` (`at` included): what
-- the PQL reads judge (by the day index, migration 0077).
CREATE OR REPLACE FUNCTION pql_accounts(ws uuid, at date, days int) RETURNS TABLE (account text)
    LANGUAGE sql STABLE
    AS $$ SELECT DISTINCT u.account FROM account_usage u
          WHERE u.workspace_id = ws AND u.day > at - days AND u.day <= at $$;

DROP FUNCTION IF EXISTS pql_inputs(uuid, date, int, int, int, jsonb, jsonb);  -- before paging
CREATE OR REPLACE FUNCTION pql_inputs(ws uuid, at date, active_days int, feature_days int, warn_days int,
                                      core jsonb, accts jsonb, only_new boolean, after text, lim int)
RETURNS TABLE (account text, onboarded_on date, active_daily_max int, active_7d int, active_7d_on date,
               features jsonb, integrations int, integrations_on date, shared_on date,
               warn_used int, warn_limit int, warn_on date, limit_used int, limit_limit int, limit_on date,
               users_invited bigint, domain text, lead_id text, qualified_on date, lead_created_at text)
LANGUAGE sql STABLE AS $$
    WITH keys AS (
        SELECT z.account FROM (
            SELECT w.account FROM pql_accounts(ws, at, greatest(active_days, feature_days, warn_days)) w
            WHERE accts IS NULL
            UNION ALL
            SELECT DISTINCT x.a FROM jsonb_array_elements_text(accts) x(a)
            WHERE accts IS NOT NULL AND EXISTS (
                SELECT 1 FROM account_usage u WHERE u.workspace_id = ws AND u.account = x.a
                  AND u.day > at - greatest(active_days, feature_days, warn_days) AND u.day <= at)) z
        WHERE (after IS NULL OR z.account COLLATE "C" > after)
          AND (NOT only_new
               OR (NOT EXISTS (SELECT 1 FROM pqls q WHERE q.workspace_id = ws AND q.account = z.account)
                   AND EXISTS (SELECT 1 FROM account_usage o WHERE o.workspace_id = ws AND o.account = z.account
                               AND o.onboarding_completed AND o.day <= at)))
        ORDER BY z.account COLLATE "C" LIMIT lim)
    SELECT k.account, ob.day, g.active_max, g.a7, g.a7_on,
           COALESCE((SELECT jsonb_agg(DISTINCT x.name ORDER BY x.name)
                     FROM jsonb_array_elements(g.features) e, jsonb_array_elements_text(e) x(name)
                     WHERE core = '[]' OR core ? x.name), '[]'),
           ig.integrations_connected, ig.day, sh.day,
           w.seats_used, w.seats_limit, w.day, l.seats_used, l.seats_limit, l.day,
           COALESCE(inv.n, 0), COALESCE(dm.domain, a.custom ->> 'domain', a.custom ->> 'website'),
           p.lead_id, p.qualified_on, rfc3339(p.created_at)
    FROM keys k
    LEFT JOIN accounts a ON a.workspace_id = ws AND a.external_id = k.account AND a.deleted_at IS NULL
    LEFT JOIN pqls p ON p.workspace_id = ws AND p.account = k.account AND p.qualified_on <= at
    -- the days of the longest window, read once, each figure over its own
    -- window's days; a peak is the day of the highest seats_used / seats_limit
    -- (the later on a tie)
    CROSS JOIN LATERAL (
        SELECT max(u.active_users) FILTER (WHERE u.day > at - active_days) AS active_max,
               (array_agg(u.active_users_7d ORDER BY u.day DESC)
                    FILTER (WHERE u.day > at - active_days AND u.active_users_7d IS NOT NULL))[1] AS a7,
               max(u.day) FILTER (WHERE u.day > at - active_days AND u.active_users_7d IS NOT NULL) AS a7_on,
               jsonb_agg(u.core_features) FILTER (WHERE u.day > at - feature_days AND u.core_features <> '[]')
                   AS features
        FROM account_usage u
        WHERE u.workspace_id = ws AND u.account = k.account
          AND u.day > at - greatest(active_days, feature_days, warn_days) AND u.day <= at) g
    LEFT JOIN LATERAL (
        SELECT u.seats_used, u.seats_limit, u.day FROM account_usage u
        WHERE u.workspace_id = ws AND u.account = k.account AND u.day > at - warn_days AND u.day <= at
          AND u.seats_used IS NOT NULL AND u.seats_limit > 0
        ORDER BY u.seats_used::float8 / u.seats_limit DESC, u.day DESC LIMIT 1) w ON true
    LEFT JOIN LATERAL (
        SELECT u.seats_used, u.seats_limit, u.day FROM account_usage u
        WHERE u.workspace_id = ws AND u.account = k.account AND u.day > at - active_days AND u.day <= at
          AND u.seats_used IS NOT NULL AND u.seats_limit > 0
        ORDER BY u.seats_used::float8 / u.seats_limit DESC, u.day DESC LIMIT 1) l ON true
    LEFT JOIN LATERAL (
        SELECT u.day FROM account_usage u
        WHERE u.workspace_id = ws AND u.account = k.account AND u.onboarding_completed AND u.day <= at
        ORDER BY u.day LIMIT 1) ob ON true
    LEFT JOIN LATERAL (
        SELECT u.day FROM account_usage u
        WHERE u.workspace_id = ws AND u.account = k.account AND u.shared_externally AND u.day <= at
        ORDER BY u.day LIMIT 1) sh ON true
    LEFT JOIN LATERAL (
        SELECT sum(u.users_invited) AS n FROM account_usage u
        WHERE u.workspace_id = ws AND u.account = k.account AND u.users_invited > 0 AND u.day <= at) inv ON true
    LEFT JOIN LATERAL (
        SELECT u.integrations_connected, u.day FROM account_usage u
        WHERE u.workspace_id = ws AND u.account = k.account AND u.integrations_connected IS NOT NULL
          AND u.day <= at
        ORDER BY u.day DESC LIMIT 1) ig ON true
    LEFT JOIN LATERAL (
        SELECT u.domain FROM account_usage u
        WHERE u.workspace_id = ws AND u.account = k.account AND u.domain IS NOT NULL AND u.day <= at
        ORDER BY u.day DESC LIMIT 1) dm ON true
    ORDER BY k.account COLLATE "C"
$$;

-- Enter a qualified account into the lead funnel, once: the pqls row is the
-- key (its primary key; a concurrent writer of the same account waits for
-- the first's commit and inserts nothing). The lead is 'pql:' + the account
-- id (its md5 when that would pass the 200 characters of a lead id), at the
-- mql stage (the seed's PLG edge case: a PQL replaces the MQL), sourced
-- 'pql', linked to the account, with the account's firmographics for scoring
-- and routing and the evidence in custom.pql. Returns the lead id, or NULL
-- when the account already had its PQL (the caller routes the new ones).
CREATE OR REPLACE FUNCTION pql_enter(ws uuid, acc text, qualified date, version int, evidence jsonb, trig text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    lid text;
    a accounts;
BEGIN
    lid := CASE WHEN length(acc) <= 196 THEN 'pql:' || acc ELSE 'pql:' || md5(acc) END;
    INSERT INTO pqls (workspace_id, account, lead_id, qualified_on, definition_version, evidence, trigger)
    VALUES (ws, acc, lid, qualified, version, evidence, trig)
    ON CONFLICT (workspace_id, account) DO NOTHING;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT * INTO a FROM accounts x WHERE x.workspace_id = ws AND x.external_id = acc AND x.deleted_at IS NULL;
    PERFORM lead_apply(ws, lid,
        jsonb_strip_nulls(jsonb_build_object('lifecycle_stage', 'mql', 'account', acc,
            'company', COALESCE(NULLIF(a.name, ''), acc), 'industry', a.industry, 'company_size', a.employees,
            'icp_tier', a.icp_tier, 'geography', a.region, 'original_source', 'pql', 'latest_source', 'pql'))
        || jsonb_build_object('custom', jsonb_build_object('pql', evidence)),
        now(), 'pql');
    RETURN lid;
END $$;

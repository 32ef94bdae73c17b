-- sql/80_alerts.sql - alerts out (issue 23): the signals a rule watches, the
-- transition-only evaluation, and the JSON renderers. docs/alerts.md.
--
-- The one home of these functions: applied after the versioned migrations,
-- again whenever this file changes (docs/migrations.md).

-- Does a subject pass a rule's filter? Each given filter field must match:
-- owner / segment / territory are lists of accepted values (a subject
-- without the field does not match), amount_min a decimal in the workspace
-- currency compared with the subject's amount in cents. STABLE, as to_jsonb
-- is: declared IMMUTABLE it was not inlined, and a call per row was 1.9 of
-- the 2.4 s of stale_deal's candidates on the bench's 100k deals (it is
-- applied before the join to the few true subjects).
CREATE OR REPLACE FUNCTION alert_filter_ok(f jsonb, owner text, segment text, territory text, amount_cents bigint)
    RETURNS boolean
    LANGUAGE sql STABLE
    AS $$ SELECT (NOT f ? 'owner' OR COALESCE(f -> 'owner' @> to_jsonb(owner), false))
             AND (NOT f ? 'segment' OR COALESCE(f -> 'segment' @> to_jsonb(segment), false))
             AND (NOT f ? 'territory' OR COALESCE(f -> 'territory' @> to_jsonb(territory), false))
             AND (NOT f ? 'amount_min' OR COALESCE(amount_cents >= (f ->> 'amount_min')::numeric * 100, false)) $$;

-- What a rule's signal sees now: one row per subject whose condition is true,
-- with the occurrence that names this episode of it (the alerts' unique key):
--   stale_deal          an open deal untouched params.days (14) days, hygiene's
--                       rule (sql/70_audit.sql); the episode is its last touch
--   deal_pushed         an open deal whose close date moved past its quarter
--                       (push_count); each push is an occurrence
--   deal_moved_back     an open deal's stage entry earlier in the default
--                       funnel than the entry before it (after the rule existed,
--                       within 7 days); each move is an occurrence
--   amount_change       an applied amount change of at least params.change
--                       (0.2) of the old amount, recorded after the rule
--                       existed and within the last 7 days
--   routing_escalation  a lead assignment escalated (no action in time),
--                       after the rule existed and within the last 7 days
--   renewal_due         an account's next renewal within one of
--                       params.days_before (90, 60, 30): one occurrence per window
--   sla_breach          an SLA clock of sla_instances (sql/74_leads.sql, the one
--                       /v1/sla/compliance reads) started in the last 7 days
--                       whose elapsed time passed its target, still unanswered
--                       or answered after the rule existed: one occurrence per
--                       clock (sla, subject, start)
--   webhook_lag         the workspace's oldest pending inbound webhook event
--                       older than params.seconds (60); one episode from the
--                       lag crossing the threshold until the backlog drains
--                       below it, keyed by the first crossing's oldest event
--   coverage_below      the current quarter's pipeline coverage, the dashboard's
--                       figure computed in C (server/alertfig.c, given in
--                       figures.coverage), below params.min (3) for the
--                       workspace or (params.per owner) each rep with a quota;
--                       one episode per period and crossing: the subject is
--                       the period (and owner), the occurrence its nth fall
--                       below the minimum
--   hygiene_red         a data hygiene rule of GET /v1/hygiene (h_hygiene.c's
--                       summary, given in figures.hygiene) whose status is red;
--                       one episode per hygiene rule and crossing (its nth
--                       turn to red). The scan is seconds on a large
--                       workspace, so the caller runs it only when the rule is
--                       due (params.every_minutes since checked_at): without
--                       figures.hygiene the last check's verdicts stand
--   account_at_risk     an account GET /v1/accounts/at-risk lists (ARR renewing
--                       in the current quarter, h_health.c's document, given in
--                       figures.at_risk) whose health band is params.band
--                       (watch: watch or critical; critical) or worse; one
--                       episode per account and crossing (its nth entry)
--   expansion_signal    a signal of GET /v1/signals?kind=expansion (given in
--                       figures.expansion) for an account; one episode per
--                       account and signal code (its nth appearance)
--   forecast_moved      the current quarter's latest stored forecast (POST
--                       /v1/forecasts; by as_of, then made last) against the
--                       latest one for a day at least 7 days before it: its
--                       expected moved by more than params.pct (10) percent;
--                       once per period and ISO week of the latest's as_of
--   health_colour       a dashboard health signal (figures.health_signals, of
--                       the current quarter) in params.signals (default all)
--                       changing colour to one of params.colours (default
--                       all); the occurrence names the colour and the nth
--                       alert, so each change is one. The first colour seen,
--                       an unchanged one and a change to a colour not counted
--                       are baselines: no summary, recorded, nothing raised.
--                       The dashboard is built whole (tens of seconds on a
--                       large workspace), so only when the rule is due
--                       (params.every_minutes, 60): without
--                       figures.health_signals the last colours stand
-- The kinds with many true subjects at once (stale_deal, deal_pushed,
-- renewal_due: 10,000s on a large workspace) build the summary and data only
-- for a subject whose state does not already hold this occurrence: the others
-- raise nothing (alert_evaluate), and building them was most of a steady pass.
-- figures: what only C computes, from alert_evaluate's caller (empty: the
-- kinds that read it see nothing).
DROP FUNCTION IF EXISTS alert_candidates(alert_rules);
CREATE OR REPLACE FUNCTION alert_candidates(r alert_rules, figures jsonb DEFAULT '{}')
    RETURNS TABLE (subject text, occurrence text, deal_id text, account_id text, rep_id text, lead_id text,
                   summary text, data jsonb)
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    lookback constant interval := interval '7 days';
BEGIN
    IF r.kind = 'stale_deal' THEN
        RETURN QUERY
        -- the true subjects and their keys from hygiene's own verdicts
        -- (hygiene_deals, the rule hygiene_stale_opportunities lists; its
        -- last_touched_at is rfc3339(touched)); the item, built per deal, only
        -- when some subject is new (the second read is skipped on a steady pass)
        WITH t AS MATERIALIZED (
                 SELECT x.k, 'deal:' || x.k AS subject, 'deal:' || x.k || '@' || rfc3339(x.touched) AS occurrence,
                        d.account, d.owner, d.name, d.segment
                 FROM hygiene_deals(r.workspace_id, now(), COALESCE((r.params ->> 'days')::int, 14)) x
                 JOIN deals d ON d.workspace_id = r.workspace_id AND d.external_id = x.k
                 LEFT JOIN accounts a ON a.workspace_id = d.workspace_id AND a.external_id = d.account
                                         AND a.deleted_at IS NULL
                 WHERE x.is_stale AND alert_filter_ok(r.filter, d.owner, d.segment, a.territory, d.amount_cents)),
             h AS MATERIALIZED (
                 SELECT t.*, p.occurrence IS DISTINCT FROM t.occurrence AS fresh
                 FROM t LEFT JOIN alert_state p ON p.rule_id = r.id AND p.subject = t.subject AND p.active),
             items AS (SELECT s.k, s.item
                       FROM hygiene_stale_opportunities(r.workspace_id, now(), COALESCE((r.params ->> 'days')::int, 14)) s
                       WHERE EXISTS (SELECT 1 FROM h WHERE h.fresh))
        SELECT h.subject, h.occurrence, h.k, h.account, h.owner, NULL::text,
               CASE WHEN h.fresh THEN
                   format('Deal %s (%s) has had no activity for %s days', h.k, h.name, i.item ->> 'days_idle') END,
               CASE WHEN h.fresh THEN i.item || jsonb_build_object('segment', h.segment, 'account_id', h.account) END
        FROM h LEFT JOIN items i ON h.fresh AND i.k = h.k;
    ELSIF r.kind = 'deal_pushed' THEN
        RETURN QUERY
        SELECT 'deal:' || d.external_id, 'deal:' || d.external_id || '#push' || d.push_count, d.external_id,
               d.account, d.owner, NULL::text,
               CASE WHEN p.occurrence IS NULL THEN
               format('Deal %s (%s) was pushed past its quarter (%s time%s), now closing %s', d.external_id, d.name,
                      d.push_count, CASE WHEN d.push_count = 1 THEN '' ELSE 's' END, d.expected_close_date) END,
               CASE WHEN p.occurrence IS NULL THEN
               jsonb_build_object('deal_id', d.external_id, 'name', d.name, 'owner', d.owner, 'stage', d.stage,
                                  'amount', money_json(d.amount_cents), 'push_count', d.push_count,
                                  'expected_close_date', d.expected_close_date, 'segment', d.segment,
                                  'account_id', d.account) END
        FROM deals d
        LEFT JOIN accounts a ON a.workspace_id = d.workspace_id AND a.external_id = d.account AND a.deleted_at IS NULL
        LEFT JOIN alert_state p ON p.rule_id = r.id AND p.subject = 'deal:' || d.external_id AND p.active
                                   AND p.occurrence = 'deal:' || d.external_id || '#push' || d.push_count
        WHERE d.workspace_id = r.workspace_id AND d.deleted_at IS NULL AND d.status = 'open'
          AND d.push_count >= COALESCE((r.params ->> 'min_pushes')::int, 1)
          AND alert_filter_ok(r.filter, d.owner, d.segment, a.territory, d.amount_cents);
    ELSIF r.kind = 'deal_moved_back' THEN
        -- a stage entry earlier in the default funnel than the entry before it,
        -- both open stages (a reopened lost deal is not a move back)
        RETURN QUERY
        WITH fs AS (SELECT x.e ->> 'key' AS key, x.n::int AS n, x.e ->> 'terminal' AS terminal
                    FROM funnels f, jsonb_array_elements(f.document -> 'stages') WITH ORDINALITY AS x(e, n)
                    WHERE f.workspace_id = r.workspace_id AND f.is_default AND f.deleted_at IS NULL),
             h AS (SELECT x.id, x.deal_id, x.stage, x.entered_at, x.recorded_at,
                          (SELECT p.stage FROM deal_stage_history p WHERE p.workspace_id = x.workspace_id
                             AND p.deal_id = x.deal_id AND p.id < x.id ORDER BY p.id DESC LIMIT 1) AS prev
                   FROM deal_stage_history x
                   WHERE x.workspace_id = r.workspace_id AND x.recorded_at >= r.created_at
                     AND x.recorded_at >= now() - lookback)
        SELECT 'move:' || h.id, 'move:' || h.id, d.external_id, d.account, d.owner, NULL::text,
               format('Deal %s (%s) moved back from %s to %s', d.external_id, d.name, h.prev, h.stage),
               jsonb_build_object('deal_id', d.external_id, 'name', d.name, 'owner', d.owner, 'from_stage', h.prev,
                                  'to_stage', h.stage, 'moved_at', rfc3339(COALESCE(h.entered_at, h.recorded_at)),
                                  'amount', money_json(d.amount_cents), 'segment', d.segment,
                                  'account_id', d.account)
        FROM h
        JOIN fs fnew ON fnew.key = h.stage AND fnew.terminal IS NULL
        JOIN fs fold ON fold.key = h.prev AND fold.terminal IS NULL
        JOIN deals d ON d.workspace_id = r.workspace_id AND d.external_id = h.deal_id AND d.deleted_at IS NULL
                        AND d.status = 'open'
        LEFT JOIN accounts a ON a.workspace_id = d.workspace_id AND a.external_id = d.account AND a.deleted_at IS NULL
        WHERE fnew.n < fold.n AND alert_filter_ok(r.filter, d.owner, d.segment, a.territory, d.amount_cents);
    ELSIF r.kind = 'amount_change' THEN
        -- deal_changes keeps amounts as the API writes them (decimal units)
        RETURN QUERY
        WITH c AS (SELECT x.id, x.deal_id, x.changed_at, (x.old_value #>> '{}')::numeric AS old_amt,
                          (x.new_value #>> '{}')::numeric AS new_amt
                   FROM deal_changes x
                   WHERE x.workspace_id = r.workspace_id AND x.field = 'amount' AND x.applied
                     AND x.recorded_at >= r.created_at AND x.recorded_at >= now() - lookback
                     AND jsonb_typeof(x.old_value) = 'number' AND jsonb_typeof(x.new_value) = 'number')
        SELECT 'change:' || c.id, 'change:' || c.id, d.external_id, d.account, d.owner, NULL::text,
               format('Deal %s (%s) amount changed from %s to %s (%s%s%%)', d.external_id, d.name, c.old_amt,
                      c.new_amt, CASE WHEN c.new_amt > c.old_amt THEN '+' ELSE '' END,
                      round((c.new_amt / c.old_amt - 1) * 100, 1)),
               jsonb_build_object('deal_id', d.external_id, 'name', d.name, 'owner', d.owner, 'old_amount', c.old_amt,
                                  'new_amount', c.new_amt, 'change', round(c.new_amt / c.old_amt - 1, 4),
                                  'changed_at', rfc3339(c.changed_at), 'segment', d.segment, 'account_id', d.account)
        FROM c
        JOIN deals d ON d.workspace_id = r.workspace_id AND d.external_id = c.deal_id AND d.deleted_at IS NULL
        LEFT JOIN accounts a ON a.workspace_id = d.workspace_id AND a.external_id = d.account AND a.deleted_at IS NULL
        WHERE c.old_amt > 0 AND abs(c.new_amt - c.old_amt) >= COALESCE((r.params ->> 'change')::numeric, 0.2) * c.old_amt
          AND alert_filter_ok(r.filter, d.owner, d.segment, a.territory, d.amount_cents);
    ELSIF r.kind = 'routing_escalation' THEN
        RETURN QUERY
        SELECT 'assignment:' || la.id, 'assignment:' || la.id, NULL::text, NULL::text, la.assignee, la.lead_id,
               format('Lead %s was not acted on by %s within %s minutes: escalated to %s', la.lead_id, la.assignee,
                      la.escalate_minutes, COALESCE(la.escalated_to, 'the queue')),
               jsonb_build_object('lead_id', la.lead_id, 'assignee', la.assignee, 'escalated_to', la.escalated_to,
                                  'routed_at', rfc3339(la.routed_at), 'escalated_at', rfc3339(la.escalated_at),
                                  'escalate_after_minutes', la.escalate_minutes, 'rule', la.rule)
        FROM lead_assignments la
        WHERE la.workspace_id = r.workspace_id AND la.escalated_at IS NOT NULL
          AND la.escalated_at >= r.created_at AND la.escalated_at >= now() - lookback
          AND alert_filter_ok(r.filter, la.assignee, NULL, NULL, NULL);
    ELSIF r.kind = 'renewal_due' THEN
        RETURN QUERY
        WITH today AS (SELECT (now() AT TIME ZONE w.timezone)::date AS t FROM workspaces w WHERE w.id = r.workspace_id),
             s AS (SELECT x.account, COALESCE(x.renewal_date, x.end_date) AS rd, x.arr_cents
                   FROM subscriptions x, today
                   WHERE x.workspace_id = r.workspace_id AND COALESCE(x.renewal_date, x.end_date) >= today.t),
             nxt AS (SELECT s.account, min(s.rd) AS rd FROM s GROUP BY s.account),
             ren AS (SELECT nxt.account, nxt.rd, sum(s.arr_cents)::bigint AS arr FROM nxt
                     JOIN s ON s.account = nxt.account AND s.rd = nxt.rd GROUP BY nxt.account, nxt.rd),
             win AS (SELECT ren.*, ren.rd - today.t AS days,
                            (SELECT min(b::int) FROM jsonb_array_elements_text(
                                 COALESCE(r.params -> 'days_before', '[90, 60, 30]')) b
                             WHERE ren.rd - today.t <= b::int) AS w
                     FROM ren, today)
        SELECT 'account:' || win.account, 'account:' || win.account || '@' || win.rd || '/' || win.w, NULL::text,
               win.account, a.owner, NULL::text,
               CASE WHEN p.occurrence IS NULL THEN
               format('Account %s (%s) renews in %s days (%s): %s ARR, the %s-day reminder', win.account,
                      COALESCE(a.name, ''), win.days, win.rd, money_json(win.arr), win.w) END,
               CASE WHEN p.occurrence IS NULL THEN
               jsonb_build_object('account_id', win.account, 'name', a.name, 'owner', a.owner,
                                  'renewal_date', win.rd, 'days_to_renewal', win.days, 'reminder_days', win.w,
                                  'arr_renewing', money_json(win.arr), 'segment', a.segment, 'territory', a.territory)
               END
        FROM win
        LEFT JOIN accounts a ON a.workspace_id = r.workspace_id AND a.external_id = win.account AND a.deleted_at IS NULL
        LEFT JOIN alert_state p ON p.rule_id = r.id AND p.subject = 'account:' || win.account AND p.active
                                   AND p.occurrence = 'account:' || win.account || '@' || win.rd || '/' || win.w
        WHERE win.w IS NOT NULL AND alert_filter_ok(r.filter, a.owner, a.segment, a.territory, win.arr);
    ELSIF r.kind = 'sla_breach' THEN
        -- elapsed and target as the compliance route compares them (business
        -- minutes where the stage's SLA says so); a breach answered before the
        -- rule existed is history, not something to act on
        RETURN QUERY
        WITH today AS (SELECT (now() AT TIME ZONE w.timezone)::date AS t FROM workspaces w WHERE w.id = r.workspace_id)
        SELECT 'sla:' || i.sla || ':' || i.subject || '@' || rfc3339(i.started_at),
               'sla:' || i.sla || ':' || i.subject || '@' || rfc3339(i.started_at),
               CASE WHEN i.sla = 'cs_kickoff' THEN i.subject END, NULL::text, i.owner,
               CASE WHEN i.sla <> 'cs_kickoff' THEN i.subject END,
               format('SLA %s of %s breached: %s minutes against a target of %s%s', i.sla, i.subject,
                      round(i.elapsed_minutes), round(i.target_minutes, 1),
                      CASE WHEN i.done_at IS NULL THEN ', still unanswered' ELSE '' END),
               jsonb_build_object('sla', i.sla, 'subject', i.subject, 'owner', i.owner, 'source', i.source,
                                  'started_at', rfc3339(i.started_at), 'responded_at', rfc3339(i.done_at),
                                  'elapsed_minutes', round(i.elapsed_minutes, 1),
                                  'target_minutes', round(i.target_minutes, 1), 'business_hours', i.business)
        -- the event signals' 7 days: every SLA's target is hours, so a clock
        -- breaches (and raises, on the pass after) well within them, and an
        -- older one is not read again on every pass
        FROM today, sla_instances(r.workspace_id, today.t - 7, today.t + 1) i
        WHERE i.elapsed_minutes > i.target_minutes AND (i.done_at IS NULL OR i.done_at >= r.created_at)
          AND alert_filter_ok(r.filter, i.owner, NULL, NULL, NULL);
    ELSIF r.kind = 'webhook_lag' THEN
        -- the age whapply.c reports in /metrics and /readyz, for this
        -- workspace's events; while the episode lasts its key is the one its
        -- state holds, so a draining backlog is one alert, not one per event
        RETURN QUERY
        WITH b AS (SELECT count(*) AS pending, min(e.received_at) AS oldest
                   FROM webhook_events e WHERE e.workspace_id = r.workspace_id AND e.status = 'pending')
        SELECT 'webhook_lag', COALESCE(
                   (SELECT p.occurrence FROM alert_state p
                    WHERE p.rule_id = r.id AND p.subject = 'webhook_lag' AND p.active),
                   'webhook_lag@' || rfc3339(b.oldest)),
               NULL::text, NULL::text, NULL::text, NULL::text,
               format('Inbound webhooks lag: the oldest of %s pending events is %s seconds old (threshold %s)',
                      b.pending, floor(extract(epoch FROM now() - b.oldest)),
                      COALESCE((r.params ->> 'seconds')::int, 60)),
               jsonb_build_object('pending', b.pending, 'lag_seconds', floor(extract(epoch FROM now() - b.oldest)),
                                  'oldest_received_at', rfc3339(b.oldest),
                                  'threshold_seconds', COALESCE((r.params ->> 'seconds')::int, 60))
        FROM b
        WHERE b.oldest IS NOT NULL AND now() - b.oldest > make_interval(secs => COALESCE((r.params ->> 'seconds')::int, 60));
    ELSIF r.kind = 'coverage_below' THEN
        -- the crossing's number is kept while the episode lasts (its state),
        -- the next one after a recovery is one more than the alerts so far
        RETURN QUERY
        WITH cv AS (SELECT figures -> 'coverage' AS c, COALESCE((r.params ->> 'min')::numeric, 3) AS min
                    WHERE figures ? 'coverage'),
             s AS (SELECT NULL::text AS owner, cv.c -> 'workspace' AS f FROM cv
                   WHERE r.params ->> 'per' IS DISTINCT FROM 'owner'
                   UNION ALL
                   SELECT o ->> 'owner', o FROM cv, jsonb_array_elements(cv.c -> 'owners') o
                   WHERE r.params ->> 'per' = 'owner'),
             x AS (SELECT 'coverage:' || (cv.c ->> 'period') || COALESCE(':' || s.owner, '') AS subject, s.owner,
                          cv.c ->> 'period' AS period, cv.min, (s.f ->> 'coverage')::numeric AS cov,
                          (s.f ->> 'pipeline')::bigint AS pipeline, (s.f ->> 'quota')::bigint AS quota,
                          (s.f ->> 'won')::bigint AS won
                   FROM cv, s WHERE s.f ->> 'coverage' IS NOT NULL)
        SELECT x.subject, COALESCE(
                   (SELECT p.occurrence FROM alert_state p WHERE p.rule_id = r.id AND p.subject = x.subject AND p.active),
                   x.subject || '#' || ((SELECT count(*) FROM alerts a WHERE a.rule_id = r.id AND a.subject = x.subject) + 1)),
               NULL::text, NULL::text, x.owner, NULL::text,
               format('Pipeline coverage of %s%s is %sx, below the %sx minimum: %s of pipeline for %s of quota left',
                      x.period, COALESCE(' for ' || x.owner, ''), round(x.cov, 2), x.min, money_json(x.pipeline),
                      money_json(x.quota - x.won)),
               jsonb_build_object('period', x.period, 'owner', x.owner, 'coverage', round(x.cov, 4), 'min', x.min,
                                  'pipeline_in_period', money_json(x.pipeline), 'quota', money_json(x.quota),
                                  'won', money_json(x.won), 'remaining_quota', money_json(x.quota - x.won))
        FROM x
        WHERE x.cov < x.min AND alert_filter_ok(r.filter, x.owner, NULL, NULL, NULL);
    ELSIF r.kind = 'hygiene_red' AND NOT figures ? 'hygiene' THEN
        -- not due: the subjects red at the last check stay as they are
        RETURN QUERY
        SELECT p.subject, p.occurrence, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::jsonb
        FROM alert_state p WHERE p.rule_id = r.id AND p.active;
    ELSIF r.kind = 'hygiene_red' THEN
        RETURN QUERY
        WITH h AS (SELECT 'hygiene:' || (e ->> 'id') AS subject, e FROM jsonb_array_elements(figures -> 'hygiene') e
                   WHERE e ->> 'status' = 'red')
        SELECT h.subject, COALESCE(
                   (SELECT p.occurrence FROM alert_state p WHERE p.rule_id = r.id AND p.subject = h.subject AND p.active),
                   h.subject || '#' || ((SELECT count(*) FROM alerts a WHERE a.rule_id = r.id AND a.subject = h.subject) + 1)),
               NULL::text, NULL::text, NULL::text, NULL::text,
               format('Data hygiene rule %s (%s) turned red: %s%% against the threshold %s (%s of %s %s; fixed by %s)',
                      h.e ->> 'id', h.e ->> 'name', round((h.e ->> 'value')::numeric * 100, 1), h.e ->> 'threshold',
                      h.e ->> 'offending', h.e ->> 'population', h.e ->> 'population_of', h.e ->> 'owner'),
               jsonb_build_object('rule', h.e ->> 'id', 'name', h.e ->> 'name', 'status', h.e ->> 'status',
                                  'value', h.e -> 'value', 'threshold', h.e ->> 'threshold',
                                  'threshold_value', h.e -> 'threshold_value', 'offending', h.e -> 'offending',
                                  'population', h.e -> 'population', 'population_of', h.e ->> 'population_of',
                                  'owner', h.e ->> 'owner', 'records', h.e ->> 'records',
                                  'checked_at', figures ->> 'hygiene_as_of')
        FROM h;
    ELSIF r.kind = 'account_at_risk' THEN
        RETURN QUERY
        WITH x AS (SELECT 'account:' || (e ->> 'account') AS subject, e ->> 'account' AS account, e,
                          round((e ->> 'arr_renewing')::numeric * 100)::bigint AS arr
                   FROM jsonb_array_elements(COALESCE(figures -> 'at_risk' -> 'items', '[]')) e
                   WHERE e ->> 'band' = 'critical'
                      OR (e ->> 'band' = 'watch' AND r.params ->> 'band' IS DISTINCT FROM 'critical'))
        SELECT x.subject, COALESCE(
                   (SELECT p.occurrence FROM alert_state p WHERE p.rule_id = r.id AND p.subject = x.subject AND p.active),
                   x.subject || '#' || ((SELECT count(*) FROM alerts al WHERE al.rule_id = r.id AND al.subject = x.subject) + 1)),
               NULL::text, x.account, ac.owner, NULL::text,
               format('Account %s (%s) is at risk: health %s (%s), %s of %s ARR renewing %s at risk: %s', x.account,
                      COALESCE(ac.name, ''), x.e ->> 'health', x.e ->> 'band', x.e ->> 'arr_at_risk',
                      x.e ->> 'arr_renewing', x.e ->> 'next_renewal',
                      (SELECT string_agg(t, '; ') FROM jsonb_array_elements_text(x.e -> 'reasons') t)),
               jsonb_build_object('account_id', x.account, 'name', ac.name, 'owner', ac.owner, 'segment', ac.segment,
                                  'territory', ac.territory, 'quarter', figures -> 'at_risk' ->> 'quarter',
                                  'health', x.e -> 'health', 'band', x.e ->> 'band', 'risk', x.e -> 'risk',
                                  'arr_renewing', x.e -> 'arr_renewing', 'arr_at_risk', x.e -> 'arr_at_risk',
                                  'next_renewal', x.e ->> 'next_renewal',
                                  'renewal_reminder_days', x.e -> 'renewal_reminder_days', 'reasons', x.e -> 'reasons')
        FROM x
        LEFT JOIN accounts ac ON ac.workspace_id = r.workspace_id AND ac.external_id = x.account AND ac.deleted_at IS NULL
        WHERE alert_filter_ok(r.filter, ac.owner, ac.segment, ac.territory, x.arr);
    ELSIF r.kind = 'expansion_signal' THEN
        RETURN QUERY
        WITH x AS (SELECT 'signal:' || (e ->> 'account') || ':' || (e ->> 'code') AS subject, e ->> 'account' AS account, e
                   FROM jsonb_array_elements(COALESCE(figures -> 'expansion', '[]')) e)
        SELECT x.subject, COALESCE(
                   (SELECT p.occurrence FROM alert_state p WHERE p.rule_id = r.id AND p.subject = x.subject AND p.active),
                   x.subject || '#' || ((SELECT count(*) FROM alerts al WHERE al.rule_id = r.id AND al.subject = x.subject) + 1)),
               NULL::text, x.account, ac.owner, NULL::text,
               format('Expansion signal for account %s (%s): %s (%s urgency). Action: %s', x.account,
                      COALESCE(ac.name, ''), x.e ->> 'signal', x.e ->> 'urgency', x.e ->> 'action'),
               jsonb_build_object('account_id', x.account, 'name', ac.name, 'owner', ac.owner, 'segment', ac.segment,
                                  'territory', ac.territory, 'code', x.e ->> 'code', 'signal', x.e ->> 'signal',
                                  'urgency', x.e ->> 'urgency', 'action', x.e ->> 'action', 'health', x.e -> 'health',
                                  'evidence', x.e -> 'evidence')
        FROM x
        LEFT JOIN accounts ac ON ac.workspace_id = r.workspace_id AND ac.external_id = x.account AND ac.deleted_at IS NULL
        WHERE alert_filter_ok(r.filter, ac.owner, ac.segment, ac.territory, NULL);
    ELSIF r.kind = 'forecast_moved' THEN
        -- expected in cents (the API stores decimals); a week-old forecast of
        -- nothing has no percent to move by
        RETURN QUERY
        WITH f AS (SELECT x.id, x.as_of, x.method, x.created_at,
                          round((x.result ->> 'expected')::numeric * 100)::bigint AS expected
                   FROM forecasts x
                   WHERE x.workspace_id = r.workspace_id AND x.period_start = (figures ->> 'period_start')::date
                     AND x.period = figures ->> 'period' AND x.result ? 'expected'),
             t AS (SELECT * FROM f ORDER BY f.as_of DESC, f.created_at DESC, f.id DESC LIMIT 1),
             fr AS (SELECT f.* FROM f, t WHERE f.as_of <= t.as_of - 7
                    ORDER BY f.as_of DESC, f.created_at DESC, f.id DESC LIMIT 1),
             m AS (SELECT 'forecast:' || (figures ->> 'period') AS subject, t.id AS to_id, t.as_of AS to_as_of,
                          t.method AS to_method, t.expected AS to_exp, fr.id AS from_id, fr.as_of AS from_as_of,
                          fr.method AS from_method, fr.expected AS from_exp,
                          round((t.expected::numeric / fr.expected - 1) * 100, 1) AS pct,
                          COALESCE((r.params ->> 'pct')::numeric, 10) AS threshold
                   FROM t, fr WHERE fr.expected > 0)
        SELECT m.subject, m.subject || '@' || to_char(m.to_as_of, 'IYYY-"W"IW'), NULL::text, NULL::text, NULL::text,
               NULL::text,
               format('The forecast of %s moved %s%s%% week over week: from %s (as of %s) to %s (as of %s), threshold %s%%',
                      figures ->> 'period', CASE WHEN m.to_exp > m.from_exp THEN '+' ELSE '' END, m.pct,
                      money_json(m.from_exp), m.from_as_of, money_json(m.to_exp), m.to_as_of, m.threshold),
               jsonb_build_object('period', figures ->> 'period', 'from', money_json(m.from_exp),
                                  'to', money_json(m.to_exp), 'pct', m.pct, 'threshold_pct', m.threshold,
                                  'from_forecast_id', m.from_id, 'from_as_of', m.from_as_of, 'from_method', m.from_method,
                                  'to_forecast_id', m.to_id, 'to_as_of', m.to_as_of, 'to_method', m.to_method)
        FROM m
        WHERE abs(m.to_exp - m.from_exp)::numeric * 100 > m.threshold * m.from_exp;
    ELSIF r.kind = 'health_colour' AND NOT figures ? 'health_signals' THEN
        -- not due: the colours of the last check stand
        RETURN QUERY
        SELECT p.subject, p.occurrence, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::jsonb
        FROM alert_state p WHERE p.rule_id = r.id AND p.active;
    ELSIF r.kind = 'health_colour' THEN
        -- the colour a subject had is in its state's occurrence (subject@colour#n),
        -- kept while the signal has none (no data) so coming back is compared too
        RETURN QUERY
        WITH s AS (SELECT 'health:' || (e ->> 'metric') AS subject, e ->> 'metric' AS metric, e ->> 'status' AS colour,
                          e ->> 'note' AS note
                   FROM jsonb_array_elements(COALESCE(figures -> 'health_signals', '[]')) e
                   WHERE e ->> 'status' IS NOT NULL
                     AND (NOT r.params ? 'signals' OR r.params -> 'signals' @> to_jsonb(e ->> 'metric'))),
             p AS (SELECT s.*, st.occurrence AS prev, split_part(split_part(st.occurrence, '@', 2), '#', 1) AS prev_colour
                   FROM s LEFT JOIN alert_state st ON st.rule_id = r.id AND st.subject = s.subject),
             c AS (SELECT p.*, p.prev IS NOT NULL AND p.prev_colour <> p.colour AS changed,
                          (NOT r.params ? 'colours' OR r.params -> 'colours' @> to_jsonb(p.colour)) AS counted
                   FROM p)
        SELECT c.subject,
               CASE WHEN c.prev IS NOT NULL AND NOT c.changed THEN c.prev
                    ELSE c.subject || '@' || c.colour || '#'
                         || ((SELECT count(*) FROM alerts al WHERE al.rule_id = r.id AND al.subject = c.subject) + 1) END,
               NULL::text, NULL::text, NULL::text, NULL::text,
               CASE WHEN c.changed AND c.counted THEN
                   format('Dashboard health signal %s turned %s (was %s): %s', c.metric, c.colour, c.prev_colour, c.note) END,
               CASE WHEN c.changed AND c.counted THEN
                   jsonb_build_object('metric', c.metric, 'from', c.prev_colour, 'to', c.colour, 'note', c.note,
                                      'period', figures ->> 'dashboard_period') END
        FROM c;
    END IF;
END $$;

-- Evaluate every enabled rule of a workspace (figures: alert_candidates'),
-- an alert for each subject whose
-- condition became true (no state, inactive, or a new occurrence; a candidate
-- without a summary is a baseline: its state only), its outbox
-- rows for the rule's live destinations in the same transaction, and the
-- state of every subject (true ones active, the others cleared). A rule's row
-- is locked while it is evaluated, so two instances evaluate it one after the
-- other; the alerts' unique (rule, occurrence) with ON CONFLICT DO NOTHING
-- makes an occurrence raise once even if the state were lost, and outbox rows
-- are only made for the alerts this call inserted.
DROP FUNCTION IF EXISTS alert_evaluate(uuid);
CREATE OR REPLACE FUNCTION alert_evaluate(ws uuid, figures jsonb DEFAULT '{}')
    RETURNS TABLE (rules int, raised int, cleared int)
    LANGUAGE plpgsql AS $$
DECLARE
    r alert_rules;
    nr int := 0;
    nraised int := 0;
    ncleared int := 0;
    a int;
    b int;
BEGIN
    FOR r IN SELECT * FROM alert_rules x WHERE x.workspace_id = ws AND x.deleted_at IS NULL AND x.enabled
             ORDER BY x.id FOR UPDATE LOOP
        nr := nr + 1;
        WITH c AS MATERIALIZED (SELECT * FROM alert_candidates(r, figures)),
             fresh AS (SELECT c.* FROM c LEFT JOIN alert_state p ON p.rule_id = r.id AND p.subject = c.subject
                       WHERE (p.subject IS NULL OR NOT p.active OR p.occurrence <> c.occurrence)
                         AND c.summary IS NOT NULL),
             ins AS (INSERT INTO alerts (workspace_id, rule_id, kind, subject, occurrence, deal_id, account_id, rep_id,
                                         lead_id, summary, data)
                     SELECT ws, r.id, r.kind, f.subject, f.occurrence, f.deal_id, f.account_id, f.rep_id, f.lead_id,
                            f.summary, f.data FROM fresh f
                     ON CONFLICT (rule_id, occurrence) DO NOTHING RETURNING id),
             outbox AS (INSERT INTO alert_deliveries (workspace_id, alert_id, destination_id)
                        SELECT ws, ins.id, d.id FROM ins
                        JOIN alert_destinations d ON d.rule_id = r.id AND d.deleted_at IS NULL AND d.disabled_at IS NULL
                        RETURNING 1),
             up AS (INSERT INTO alert_state AS s (workspace_id, rule_id, subject, active, occurrence)
                    SELECT ws, r.id, c.subject, true, c.occurrence FROM c
                    -- an unchanged state is not rewritten: a steady pass over
                    -- 10,000s of true subjects writes nothing
                    ON CONFLICT (rule_id, subject) DO UPDATE SET active = true, occurrence = EXCLUDED.occurrence,
                        changed_at = now()
                    WHERE NOT s.active OR s.occurrence <> EXCLUDED.occurrence
                    RETURNING 1),
             clr AS (UPDATE alert_state s SET active = false, changed_at = now()
                     WHERE s.rule_id = r.id AND s.active AND NOT EXISTS (SELECT 1 FROM c WHERE c.subject = s.subject)
                     RETURNING 1)
        SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM clr) INTO a, b;
        IF (r.kind = 'hygiene_red' AND figures ? 'hygiene') OR (r.kind = 'health_colour' AND figures ? 'health_signals')
        THEN
            UPDATE alert_rules x SET checked_at = now() WHERE x.id = r.id;
        END IF;
        nraised := nraised + a;
        ncleared := ncleared + b;
    END LOOP;
    RETURN QUERY SELECT nr, nraised, ncleared;
END $$;

-- A destination URL shown whole (for admin keys) or as its origin only:
-- a chat tool's incoming-webhook URL is itself a credential.
CREATE OR REPLACE FUNCTION alert_url_shown(url text, whole boolean) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN whole THEN url ELSE regexp_replace(url, '^(https?://[^/?#]*).*$', '\1/...') END $$;

CREATE OR REPLACE FUNCTION alert_destination_json(d alert_destinations, whole boolean) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', d.id, 'url', alert_url_shown(d.url, whole), 'has_secret', true,
                                    'previous_secret_valid_until',
                                    CASE WHEN d.previous_until > now() THEN rfc3339(d.previous_until) END,
                                    'disabled_at', rfc3339(d.disabled_at), 'disabled_reason', d.disabled_reason,
                                    'created_at', rfc3339(d.created_at)) $$;

CREATE OR REPLACE FUNCTION alert_rule_json(r alert_rules, whole boolean) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', r.id, 'name', r.name, 'kind', r.kind, 'params', r.params,
                                    'filter', r.filter, 'enabled', r.enabled, 'version', r.version,
                                    'destinations', COALESCE((SELECT jsonb_agg(alert_destination_json(d, whole)
                                                                               ORDER BY d.created_at, d.id)
                                                              FROM alert_destinations d
                                                              WHERE d.rule_id = r.id AND d.deleted_at IS NULL), '[]'),
                                    'created_at', rfc3339(r.created_at), 'updated_at', rfc3339(r.updated_at)) $$;

CREATE OR REPLACE FUNCTION alert_json(a alerts) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', a.id, 'rule_id', a.rule_id, 'kind', a.kind, 'subject', a.subject,
                                    'occurrence', a.occurrence, 'deal_id', a.deal_id, 'account_id', a.account_id,
                                    'rep_id', a.rep_id, 'lead_id', a.lead_id, 'summary', a.summary, 'data', a.data,
                                    'raised_at', rfc3339(a.raised_at)) $$;

-- The body of an alert's webhook: the Standard Webhooks shape (type,
-- timestamp, data), the same for every destination and every retry.
CREATE OR REPLACE FUNCTION alert_event_body(a alerts) RETURNS text
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('type', 'alert.raised', 'timestamp', rfc3339(a.raised_at),
                                    'data', alert_json(a))::text $$;

CREATE OR REPLACE FUNCTION alert_delivery_json(d alert_deliveries, whole boolean) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', d.id, 'alert_id', d.alert_id, 'destination_id', d.destination_id,
                                    'rule_id', a.rule_id, 'url', alert_url_shown(x.url, whole), 'state', d.state, 'attempts', d.attempts,
                                    'next_attempt_at', CASE WHEN d.state = 'pending' THEN rfc3339(d.next_attempt_at) END,
                                    'last_status', d.last_status, 'last_error', d.last_error,
                                    'created_at', rfc3339(d.created_at), 'delivered_at', rfc3339(d.delivered_at),
                                    'attempt_log', COALESCE((SELECT jsonb_agg(jsonb_build_object(
                                        'attempt', t.attempt, 'at', rfc3339(t.attempted_at), 'status', t.status,
                                        'error', t.error, 'duration_ms', t.duration_ms) ORDER BY t.id)
                                        FROM alert_attempts t WHERE t.delivery_id = d.id), '[]'))
          FROM alerts a, alert_destinations x WHERE a.id = d.alert_id AND x.id = d.destination_id $$;

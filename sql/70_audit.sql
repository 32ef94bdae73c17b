-- sql/70_audit.sql - the RevOps audit (issue 21): the data hygiene rules'
-- offending records and counts (GET /v1/hygiene), and the workspace
-- evidence of the maturity assessment.
--
-- The one home of these functions: applied after the versioned migrations, again
-- whenever this file changes (docs/migrations.md). Change a rule here, never in a
-- migration. Thresholds and statuses are core/hygiene.c's; this file only counts.

-- An account's normalised name (docs/metrics.md "Data hygiene"). The very
-- expression of the index accounts_name_trgm (0034): a simple IMMUTABLE SQL
-- function is inlined, so account_name_key(name) % x probes that index.
CREATE OR REPLACE FUNCTION account_name_key(n text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT btrim(regexp_replace(regexp_replace(regexp_replace(lower(n), '[^[:alnum:]]+', ' ', 'g'),
        '\m(the|inc|incorporated|llc|llp|ltd|limited|corp|corporation|co|company|gmbh|ag|sa|plc|bv|pty)\M', ' ', 'g'),
        ' +', ' ', 'g')) $$;

-- An account's normalised web domain from custom.domain (else custom.website):
-- lower case, without scheme, "www.", port, path or query. NULL when absent.
-- Accounts have no domain column: CRMs send it as a custom field.
CREATE OR REPLACE FUNCTION account_domain_key(c jsonb) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(regexp_replace(regexp_replace(lower(btrim(COALESCE(c ->> 'domain', c ->> 'website', ''))),
        '^[a-z][a-z0-9+.-]*://', ''), '^www\.|[/:?#].*$', '', 'g'), '') $$;

-- The duplicate accounts of a workspace: every live account that matches a
-- live account with a smaller id (the survivor a merge would keep), by the
-- first of: the same normalised domain, the same normalised name, a
-- normalised name at least 0.75 similar by pg_trgm's trigram similarity
-- (names of 4+ characters: shorter ones share too few trigrams to judge).
-- A duplicate rate of k/N says k accounts would disappear in a merge.
-- k: the account id (the page cursor), item: the record and its match.
CREATE OR REPLACE FUNCTION hygiene_duplicate_accounts(ws uuid) RETURNS TABLE (k text, item jsonb)
    LANGUAGE sql STABLE
    SET pg_trgm.similarity_threshold = 0.75
    AS $$
    WITH a AS (SELECT external_id, name, account_name_key(name) AS nk, account_domain_key(custom) AS dk
               FROM accounts WHERE workspace_id = ws AND deleted_at IS NULL),
         dom AS (SELECT external_id, min(external_id) OVER (PARTITION BY dk) AS first FROM a WHERE dk IS NOT NULL),
         nm AS (SELECT external_id, min(external_id) OVER (PARTITION BY nk) AS first FROM a WHERE nk <> ''),
         sim AS (SELECT a.external_id, s.external_id AS first, s.sim
                 FROM a CROSS JOIN LATERAL (
                     SELECT b.external_id, similarity(account_name_key(b.name), a.nk) AS sim
                     FROM accounts b
                     WHERE account_name_key(b.name) % a.nk AND b.deleted_at IS NULL AND b.workspace_id = ws
                       AND b.external_id < a.external_id
                     ORDER BY 2 DESC, 1 LIMIT 1) s
                 WHERE length(a.nk) >= 4),
         m AS (SELECT external_id, first, 'domain' AS why, NULL::real AS sim, 1 AS pri FROM dom WHERE first < external_id
               UNION ALL
               SELECT external_id, first, 'name', 1::real, 2 FROM nm WHERE first < external_id
               UNION ALL
               SELECT external_id, first, 'similar_name', sim, 3 FROM sim),
         best AS (SELECT DISTINCT ON (external_id) * FROM m ORDER BY external_id, pri)
    SELECT best.external_id,
           jsonb_build_object('account_id', best.external_id, 'name', x.name, 'domain', x.dk,
                              'duplicate_of', best.first, 'duplicate_of_name', y.name, 'match', best.why,
                              'similarity', round(best.sim::numeric, 3))
    FROM best JOIN a x ON x.external_id = best.external_id JOIN a y ON y.external_id = best.first
    ORDER BY best.external_id $$;

-- The required fields of an open opportunity (seed 001, "Opportunity Created":
-- amount, close date, stage, decision maker, next step; the hygiene rule's
-- list: amount, close date, stage, owner, next step) that a deal lacks.
-- next_step is no column of deals: it is read from custom.next_step (a
-- non-blank string), where the API and the CRM adapters keep extra fields.
CREATE OR REPLACE FUNCTION deal_missing_fields(d deals) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT array_remove(ARRAY[
        CASE WHEN d.amount_cents IS NULL THEN 'amount' END,
        CASE WHEN d.expected_close_date IS NULL THEN 'close_date' END,
        CASE WHEN d.stage IS NULL THEN 'stage' END,
        CASE WHEN NULLIF(btrim(d.owner), '') IS NULL THEN 'owner' END,
        CASE WHEN jsonb_typeof(d.custom -> 'next_step') IS DISTINCT FROM 'string'
              OR btrim(d.custom ->> 'next_step') = '' THEN 'next_step' END], NULL) $$;

-- Open deals missing a required field.
CREATE OR REPLACE FUNCTION hygiene_open_deal_fields(ws uuid) RETURNS TABLE (k text, item jsonb)
    LANGUAGE sql STABLE
    AS $$ SELECT d.external_id, jsonb_build_object('deal_id', d.external_id, 'name', d.name, 'owner', d.owner,
                                                 'stage', d.stage, 'missing', to_jsonb(m.f))
          FROM deals d CROSS JOIN LATERAL (SELECT deal_missing_fields(d) AS f) m
          WHERE d.workspace_id = ws AND d.deleted_at IS NULL AND d.status = 'open' AND cardinality(m.f) > 0
          ORDER BY d.external_id $$;

-- When an open deal was last touched: the latest of its creation, its stage
-- entry, its last activity (last_activity_at, as the CRM reports it, and the
-- activities logged against it at /v1/activities) and its
-- applied field changes (deal_changes by event time: a CRM re-sending the
-- same values is no activity). Stale: untouched for stale_days days at at.
CREATE OR REPLACE FUNCTION hygiene_stale_opportunities(ws uuid, at timestamptz, stale_days int)
    RETURNS TABLE (k text, item jsonb)
    LANGUAGE sql STABLE
    AS $$
    WITH c AS (SELECT deal_id, max(changed_at) AS last_change FROM deal_changes
               WHERE workspace_id = ws AND applied AND changed_at <= at GROUP BY deal_id),
         act AS (SELECT deal_id, max(occurred_at) AS last_act FROM activities
                 WHERE workspace_id = ws AND deal_id IS NOT NULL AND occurred_at <= at GROUP BY deal_id),
         t AS (SELECT d.external_id, d.name, d.owner, d.stage, d.amount_cents, d.expected_close_date,
                      GREATEST(d.created_at, d.stage_entered_at, d.last_activity_at, c.last_change, act.last_act)
                          AS touched
               FROM deals d LEFT JOIN c ON c.deal_id = d.external_id LEFT JOIN act ON act.deal_id = d.external_id
               WHERE d.workspace_id = ws AND d.deleted_at IS NULL AND d.status = 'open')
    SELECT external_id, jsonb_build_object('deal_id', external_id, 'name', name, 'owner', owner, 'stage', stage,
                                           'amount', money_json(amount_cents),
                                           'expected_close_date', expected_close_date,
                                           'last_touched_at', rfc3339(touched),
                                           'days_idle', floor(extract(epoch FROM at - touched) / 86400)::int)
    FROM t WHERE touched <= at - make_interval(days => stale_days)
    ORDER BY external_id $$;

-- Closed-lost deals without a loss reason (blank counts as none).
CREATE OR REPLACE FUNCTION hygiene_closed_lost_reason(ws uuid) RETURNS TABLE (k text, item jsonb)
    LANGUAGE sql STABLE
    AS $$ SELECT external_id, jsonb_build_object('deal_id', external_id, 'name', name, 'owner', owner,
                                                'amount', money_json(amount_cents), 'closed_at', rfc3339(closed_at))
          FROM deals WHERE workspace_id = ws AND deleted_at IS NULL AND status = 'lost'
            AND NULLIF(btrim(lost_reason), '') IS NULL
          ORDER BY external_id $$;

-- Deals naming a stage, owner or account the workspace does not know: the
-- write rule's terms (server/crm.c crm_refs_check: a stage of the default
-- funnel, else of the seed's; an owner among the reps once the workspace has
-- any rep; an account likewise), here also for deals written before that
-- rule or through a path it does not cover, and for reps or accounts deleted
-- since (their deals are orphans).
CREATE OR REPLACE FUNCTION hygiene_unknown_references(ws uuid) RETURNS TABLE (k text, item jsonb)
    LANGUAGE sql STABLE
    AS $$
    WITH st AS (SELECT COALESCE((SELECT array_agg(x ->> 'key') FROM funnels f, jsonb_array_elements(f.document -> 'stages') x
                                 WHERE f.workspace_id = ws AND f.is_default AND f.deleted_at IS NULL),
                                ARRAY['visitor', 'known', 'mql', 'sal', 'sql', 'opportunity', 'proposal',
                                      'closed_won', 'closed_lost']) AS keys,
                       EXISTS (SELECT 1 FROM reps WHERE workspace_id = ws) AS has_reps,
                       EXISTS (SELECT 1 FROM accounts WHERE workspace_id = ws) AS has_accounts),
         u AS (SELECT d.external_id, d.name, jsonb_strip_nulls(jsonb_build_object(
                   'stage', CASE WHEN d.stage IS NOT NULL AND NOT d.stage = ANY (st.keys)
                                 THEN 'not a stage of the default funnel' END,
                   'owner', CASE WHEN d.owner IS NULL OR NOT st.has_reps THEN NULL
                                 WHEN r.external_id IS NULL THEN 'not a rep'
                                 WHEN r.deleted_at IS NOT NULL THEN 'rep deleted' END,
                   'account', CASE WHEN d.account IS NULL OR NOT st.has_accounts THEN NULL
                                   WHEN a.external_id IS NULL THEN 'not an account'
                                   WHEN a.deleted_at IS NOT NULL THEN 'account deleted' END)) AS why,
                      d.stage, d.owner, d.account
               FROM deals d CROSS JOIN st
               LEFT JOIN reps r ON r.workspace_id = ws AND r.external_id = d.owner
               LEFT JOIN accounts a ON a.workspace_id = ws AND a.external_id = d.account
               WHERE d.workspace_id = ws AND d.deleted_at IS NULL)
    SELECT external_id, jsonb_build_object('deal_id', external_id, 'name', name, 'stage', stage, 'owner', owner,
                                           'account', account, 'unknown', why)
    FROM u WHERE why <> '{}' ORDER BY external_id $$;

-- Leads not matched to an account (seed: "Lead-to-account matching, 95%+
-- match rate"): a live lead is matched when its account names a live account
-- of the workspace.
CREATE OR REPLACE FUNCTION hygiene_lead_account_match(ws uuid) RETURNS TABLE (k text, item jsonb)
    LANGUAGE sql STABLE
    AS $$ SELECT l.external_id, jsonb_build_object('lead_id', l.external_id, 'email', l.email, 'company', l.company,
                                                  'account', l.account,
                                                  'reason', CASE WHEN l.account IS NULL THEN 'no account'
                                                                 WHEN a.external_id IS NULL THEN 'not an account'
                                                                 ELSE 'account deleted' END)
          FROM leads l LEFT JOIN accounts a ON a.workspace_id = ws AND a.external_id = l.account
          WHERE l.workspace_id = ws AND l.deleted_at IS NULL AND (a.external_id IS NULL OR a.deleted_at IS NOT NULL)
          ORDER BY l.external_id $$;

-- Every rule's counts in one document: population and offending records,
-- with per-field counts where a rule has fields (hygiene_* above are the
-- definitions; this counts their rows).
CREATE OR REPLACE FUNCTION hygiene_counts(ws uuid, at timestamptz, stale_days int) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'accounts', (SELECT count(*) FROM accounts WHERE workspace_id = ws AND deleted_at IS NULL),
        'duplicate_accounts', (SELECT count(*) FROM hygiene_duplicate_accounts(ws)),
        'open_deals', (SELECT count(*) FROM deals WHERE workspace_id = ws AND deleted_at IS NULL AND status = 'open'),
        'open_deal_fields', (SELECT count(*) FROM hygiene_open_deal_fields(ws)),
        'missing_by_field', (SELECT jsonb_build_object(
                                 'amount', count(*) FILTER (WHERE item -> 'missing' ? 'amount'),
                                 'close_date', count(*) FILTER (WHERE item -> 'missing' ? 'close_date'),
                                 'stage', count(*) FILTER (WHERE item -> 'missing' ? 'stage'),
                                 'owner', count(*) FILTER (WHERE item -> 'missing' ? 'owner'),
                                 'next_step', count(*) FILTER (WHERE item -> 'missing' ? 'next_step'))
                             FROM hygiene_open_deal_fields(ws)),
        'stale_opportunities', (SELECT count(*) FROM hygiene_stale_opportunities(ws, at, stale_days)),
        'lost_deals', (SELECT count(*) FROM deals WHERE workspace_id = ws AND deleted_at IS NULL AND status = 'lost'),
        'closed_lost_reason', (SELECT count(*) FROM hygiene_closed_lost_reason(ws)),
        'deals', (SELECT count(*) FROM deals WHERE workspace_id = ws AND deleted_at IS NULL),
        'leads', (SELECT count(*) FROM leads WHERE workspace_id = ws AND deleted_at IS NULL),
        'lead_account_match', (SELECT count(*) FROM hygiene_lead_account_match(ws)),
        'unknown_references', (SELECT count(*) FROM hygiene_unknown_references(ws)),
        'unknown_by_field', (SELECT jsonb_build_object(
                                 'stage', count(*) FILTER (WHERE item -> 'unknown' ? 'stage'),
                                 'owner', count(*) FILTER (WHERE item -> 'unknown' ? 'owner'),
                                 'account', count(*) FILTER (WHERE item -> 'unknown' ? 'account'))
                             FROM hygiene_unknown_references(ws))) $$;

-- What the maturity assessment can see of a workspace at `at` (h_assess.c
-- turns it into levels): the CRM data, the default funnel's definitions and
-- SLAs, live webhook integrations and their recent deliveries, scheduled
-- snapshots (weekly reviews), forecast calls kept for accuracy, and the
-- subscriptions cohort analysis needs.
CREATE OR REPLACE FUNCTION assessment_evidence(ws uuid, at timestamptz) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    WITH f AS (SELECT document -> 'stages' AS st, version, name FROM funnels
               WHERE workspace_id = ws AND is_default AND deleted_at IS NULL)
    SELECT jsonb_build_object(
        'deals', (SELECT count(*) FROM deals WHERE workspace_id = ws AND deleted_at IS NULL),
        'accounts', (SELECT count(*) FROM accounts WHERE workspace_id = ws AND deleted_at IS NULL),
        'funnel_stages', COALESCE((SELECT jsonb_array_length(st) FROM f), 0),
        -- the seed's funnel as the engine ships it (h_funnels.c DEFAULT_FUNNEL_NAME, never edited) is
        -- no definition the teams agreed on
        'funnel_adopted', COALESCE((SELECT version > 1 OR name <> 'B2B SaaS (seed)' FROM f), false),
        'funnel_stages_defined', COALESCE((SELECT count(*) FROM f, jsonb_array_elements(f.st) x
                                           WHERE NULLIF(btrim(x ->> 'definition'), '') IS NOT NULL), 0),
        'funnel_slas', COALESCE((SELECT count(*) FROM f, jsonb_array_elements(f.st) x
                                 WHERE NULLIF(btrim(x ->> 'sla'), '') IS NOT NULL OR x ? 'sla_hours'), 0),
        'webhook_endpoints', (SELECT count(*) FROM webhook_endpoints WHERE workspace_id = ws AND deleted_at IS NULL),
        'webhook_events_30d', (SELECT count(*) FROM webhook_events WHERE workspace_id = ws AND status = 'applied'
                               AND received_at > at - interval '30 days' AND received_at <= at),
        'scheduled_snapshots_35d', (SELECT count(*) FROM snapshots WHERE workspace_id = ws
                                    AND kind IN ('daily', 'weekly') AND as_of > at - interval '35 days'
                                    AND as_of <= at),
        'snapshots', (SELECT count(*) FROM snapshots WHERE workspace_id = ws AND as_of <= at),
        'forecast_submissions', (SELECT count(*) FROM forecast_submissions WHERE workspace_id = ws),
        'subscriptions', (SELECT count(*) FROM subscriptions WHERE workspace_id = ws)) $$;

CREATE OR REPLACE FUNCTION assessment_json(a assessments) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', a.id, 'created_at', rfc3339(a.created_at), 'request', a.request)
                 || a.result $$;

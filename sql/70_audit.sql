-- sql/70_audit.sql - the RevOps audit (issue 21): the data hygiene rules'
-- offending records and counts (GET /v1/hygiene), and the workspace
-- evidence of the maturity assessment.
--
-- The one home of these functions: applied after the versioned migrations, again
-- whenever this file changes (docs/migrations.md). Change a rule here, never in a
-- migration. Thresholds and statuses are core/hygiene.c's; this file only counts.

-- the account name and domain keys moved to core/hygiene.c (hygiene_name_key,
-- hygiene_domain_key): three regular expressions per account were 0.5 s of
-- GET /v1/hygiene on 100,000 accounts
DROP FUNCTION IF EXISTS account_name_key(text);
DROP FUNCTION IF EXISTS account_domain_key(jsonb);

-- the signatures before the duplicate rule moved to core/hygiene.c and the
-- deal rules onto hygiene_deals; hygiene_counts returned jsonb, and every
-- application of this file drops and makes it again (its return type changed)
DROP FUNCTION IF EXISTS hygiene_duplicate_accounts(uuid);
DROP FUNCTION IF EXISTS hygiene_counts(uuid, timestamptz, int);
DROP FUNCTION IF EXISTS hygiene_open_deal_fields(uuid);
DROP FUNCTION IF EXISTS hygiene_closed_lost_reason(uuid);
DROP FUNCTION IF EXISTS hygiene_unknown_references(uuid);
DROP FUNCTION IF EXISTS deal_missing_fields(deals);

-- Every rule function below returns its records unordered: a caller that
-- pages them orders by k, which a LIMIT turns into a walk of the id index
-- building only the page's records, and a caller that counts them never
-- builds a record (an inlined function's unused columns are not computed).

-- What the duplicate-account rule compares: every live account's name and
-- web domain as written (custom.domain, else custom.website: accounts have
-- no domain column, CRMs send it as a custom field), in id order (the order
-- that decides which of two is the earlier, the survivor a merge would
-- keep). core/hygiene.c normalises them and runs the rule
-- (hygiene_duplicates, from server/h_hygiene.c): the same domain, else the
-- same name, else a name at least 0.75 similar by pg_trgm's trigram
-- similarity (core/simjoin; names of 4+ characters).
DROP FUNCTION IF EXISTS hygiene_account_keys(uuid);
CREATE OR REPLACE FUNCTION hygiene_account_keys(ws uuid) RETURNS TABLE (k text, name text, domain text)
    LANGUAGE sql STABLE
    AS $$ SELECT external_id, name, COALESCE(custom ->> 'domain', custom ->> 'website')
          FROM accounts WHERE workspace_id = ws AND deleted_at IS NULL ORDER BY external_id $$;

-- The duplicate accounts' records, from the matches the rule found
-- ([{"id", "first", "why", "sim", "domain"}]: the account, the earlier one
-- it duplicates, "domain" | "name" | "similar_name", the similarity or null,
-- the account's normalised domain or null).
-- A duplicate rate of k/N says k accounts would disappear in a merge.
-- k: the account id (the page cursor), item: the record and its match.
CREATE OR REPLACE FUNCTION hygiene_duplicate_accounts(ws uuid, dups jsonb) RETURNS TABLE (k text, item jsonb)
    LANGUAGE sql STABLE
    AS $$ SELECT m.id, jsonb_build_object('account_id', m.id, 'name', x.name, 'domain', m.domain,
                                          'duplicate_of', m.first, 'duplicate_of_name', y.name, 'match', m.why,
                                          'similarity', round(m.sim::numeric, 3))
          FROM jsonb_to_recordset(dups) AS m(id text, first text, why text, sim real, domain text)
          JOIN accounts x ON x.workspace_id = ws AND x.external_id = m.id
          JOIN accounts y ON y.workspace_id = ws AND y.external_id = m.first $$;

-- What the deal rules see of each live deal at `at`: its columns, what the
-- rules need to judge it, and each rule's verdict (is_*). Every deal rule
-- below is this filtered on its verdict, and hygiene_counts counts the
-- verdicts in one pass over the deals: one definition per rule, one scan for
-- all of them (it was one scan per rule and per count, ~3 s on a million
-- deals). A caller's unused columns are not computed, and joins whose
-- columns it does not use are removed (each joined row is unique per deal).
-- The counts read each missing field's own flag (no_amount, ...), not the
-- missing list: a column is its expression, computed where it is read, so
-- five `= ANY (missing)` built the list five times per deal (0.5 s of 2 s
-- on a million deals).
--   missing: the required fields of an open opportunity (seed 001,
--     "Opportunity Created": amount, close date, stage, decision maker, next
--     step; the rule's list: amount, close date, stage, owner, next step)
--     that it lacks (NULL for a deal not open; each field's own flag is
--     no_amount, no_close_date, no_stage, no_owner, no_next_step); next_step
--     is custom.next_step (a non-blank string), where the API and the CRM
--     adapters keep extra fields.
--   touched: when an open deal was last touched: the latest of its creation,
--     its stage entry, its last activity (last_activity_at, as the CRM reports
--     it, and the activities logged against it at /v1/activities) and its
--     applied field changes (deal_changes by event time: a CRM re-sending the
--     same values is no activity); stale when untouched stale_days days at at.
--   why_stage, why_owner, why_account: a stage, owner or account the
--     workspace does not know, by the write rule's terms (server/crm.c
--     crm_refs_check: a stage of the default funnel, else of the seed's; an
--     owner among the reps once the workspace has any rep; an account
--     likewise), here also for deals written before that rule or through a
--     path it does not cover, and for reps or accounts deleted since.
--   a closed-lost deal without a loss reason: blank counts as none.
DROP FUNCTION IF EXISTS hygiene_deals(uuid, timestamptz, int);
CREATE OR REPLACE FUNCTION hygiene_deals(ws uuid, at timestamptz, stale_days int)
    RETURNS TABLE (k text, name text, owner text, stage text, account text, amount_cents bigint,
                   expected_close_date date, closed_at timestamptz, status text, missing text[], touched timestamptz,
                   why_stage text, why_owner text, why_account text, no_amount boolean, no_close_date boolean,
                   no_stage boolean, no_owner boolean, no_next_step boolean, is_missing_fields boolean,
                   is_stale boolean, is_lost_without_reason boolean, is_unknown_reference boolean)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    SELECT k, name, owner, stage, account, amount_cents, expected_close_date, closed_at, status,
           CASE WHEN status = 'open' THEN array_remove(ARRAY[
               CASE WHEN no_amount THEN 'amount' END, CASE WHEN no_close_date THEN 'close_date' END,
               CASE WHEN no_stage THEN 'stage' END, CASE WHEN no_owner THEN 'owner' END,
               CASE WHEN no_next_step THEN 'next_step' END], NULL) END,
           touched, why_stage, why_owner, why_account, no_amount, no_close_date, no_stage, no_owner, no_next_step,
           no_amount OR no_close_date OR no_stage OR no_owner OR no_next_step,
           touched <= at - make_interval(days => stale_days),
           status = 'lost' AND NULLIF(btrim(lost_reason), '') IS NULL,
           why_stage IS NOT NULL OR why_owner IS NOT NULL OR why_account IS NOT NULL
    FROM (SELECT d.external_id AS k, d.name, d.owner, d.stage, d.account, d.amount_cents, d.expected_close_date,
                 d.closed_at, d.status, d.lost_reason,
                 d.status = 'open' AND d.amount_cents IS NULL AS no_amount,
                 d.status = 'open' AND d.expected_close_date IS NULL AS no_close_date,
                 d.status = 'open' AND d.stage IS NULL AS no_stage,
                 d.status = 'open' AND NULLIF(btrim(d.owner), '') IS NULL AS no_owner,
                 d.status = 'open' AND (jsonb_typeof(d.custom -> 'next_step') IS DISTINCT FROM 'string'
                                        OR btrim(d.custom ->> 'next_step') = '') AS no_next_step,
                 CASE WHEN d.status = 'open' THEN GREATEST(d.created_at, d.stage_entered_at, d.last_activity_at,
                                                           c.last_change, act.last_act) END AS touched,
                 CASE WHEN d.stage IS NOT NULL AND NOT d.stage = ANY (COALESCE(
                          (SELECT array_agg(x ->> 'key') FROM funnels f, jsonb_array_elements(f.document -> 'stages') x
                           WHERE f.workspace_id = ws AND f.is_default AND f.deleted_at IS NULL),
                          ARRAY['visitor', 'known', 'mql', 'sal', 'sql', 'opportunity', 'proposal', 'closed_won',
                                'closed_lost']))
                      THEN 'not a stage of the default funnel' END AS why_stage,
                 CASE WHEN d.owner IS NULL OR NOT EXISTS (SELECT 1 FROM reps WHERE workspace_id = ws) THEN NULL
                      WHEN r.external_id IS NULL THEN 'not a rep'
                      WHEN r.deleted_at IS NOT NULL THEN 'rep deleted' END AS why_owner,
                 CASE WHEN d.account IS NULL OR NOT EXISTS (SELECT 1 FROM accounts WHERE workspace_id = ws) THEN NULL
                      WHEN a.external_id IS NULL THEN 'not an account'
                      WHEN a.deleted_at IS NOT NULL THEN 'account deleted' END AS why_account
          FROM deals d
          LEFT JOIN (SELECT deal_id, max(changed_at) AS last_change FROM deal_changes
                     WHERE workspace_id = ws AND applied AND changed_at <= at GROUP BY deal_id) c
                 ON c.deal_id = d.external_id
          LEFT JOIN (SELECT deal_id, max(occurred_at) AS last_act FROM activities
                     WHERE workspace_id = ws AND deal_id IS NOT NULL AND occurred_at <= at GROUP BY deal_id) act
                 ON act.deal_id = d.external_id
          LEFT JOIN reps r ON r.workspace_id = ws AND r.external_id = d.owner
          LEFT JOIN accounts a ON a.workspace_id = ws AND a.external_id = d.account
          WHERE d.workspace_id = ws AND d.deleted_at IS NULL) v $$;

-- Open deals missing a required field.
CREATE OR REPLACE FUNCTION hygiene_open_deal_fields(ws uuid, at timestamptz, stale_days int)
    RETURNS TABLE (k text, item jsonb)
    LANGUAGE sql STABLE
    AS $$ SELECT k, jsonb_build_object('deal_id', k, 'name', name, 'owner', owner, 'stage', stage,
                                       'missing', to_jsonb(missing))
          FROM hygiene_deals(ws, at, stale_days) WHERE is_missing_fields $$;

-- Open deals untouched for stale_days days at at.
CREATE OR REPLACE FUNCTION hygiene_stale_opportunities(ws uuid, at timestamptz, stale_days int)
    RETURNS TABLE (k text, item jsonb)
    LANGUAGE sql STABLE
    AS $$ SELECT k, jsonb_build_object('deal_id', k, 'name', name, 'owner', owner, 'stage', stage,
                                       'amount', money_json(amount_cents), 'expected_close_date', expected_close_date,
                                       'last_touched_at', rfc3339(touched),
                                       'days_idle', floor(extract(epoch FROM at - touched) / 86400)::int)
          FROM hygiene_deals(ws, at, stale_days) WHERE is_stale $$;

-- Closed-lost deals without a loss reason.
CREATE OR REPLACE FUNCTION hygiene_closed_lost_reason(ws uuid, at timestamptz, stale_days int)
    RETURNS TABLE (k text, item jsonb)
    LANGUAGE sql STABLE
    AS $$ SELECT k, jsonb_build_object('deal_id', k, 'name', name, 'owner', owner, 'amount', money_json(amount_cents),
                                       'closed_at', rfc3339(closed_at))
          FROM hygiene_deals(ws, at, stale_days) WHERE is_lost_without_reason $$;

-- Deals naming a stage, owner or account the workspace does not know.
CREATE OR REPLACE FUNCTION hygiene_unknown_references(ws uuid, at timestamptz, stale_days int)
    RETURNS TABLE (k text, item jsonb)
    LANGUAGE sql STABLE
    AS $$ SELECT k, jsonb_build_object('deal_id', k, 'name', name, 'stage', stage, 'owner', owner, 'account', account,
                                       'unknown', jsonb_strip_nulls(jsonb_build_object(
                                           'stage', why_stage, 'owner', why_owner, 'account', why_account)))
          FROM hygiene_deals(ws, at, stale_days) WHERE is_unknown_reference $$;

-- The AE's daily self-review (seed 001 pipeline-review-cadence, daily: "Next
-- steps on active deals, stale deal cleanup"): an owner's (who NULL: every
-- owner's) open deals that are stale or lack a next step or another required
-- field, by the deal rules' own verdicts (hygiene_deals), the longest
-- untouched first. k: the page cursor, "<touched, microseconds since the
-- epoch>:<deal id>", in the list's order; open_deals etc. count the whole
-- list and the owner's open deals (the same on every row).
CREATE OR REPLACE FUNCTION pipeline_self_review(ws uuid, at timestamptz, stale_days int, who text)
    RETURNS TABLE (k text, item jsonb, summary jsonb)
    LANGUAGE sql STABLE
    AS $$
    WITH o AS (SELECT *, (extract(epoch FROM touched) * 1000000)::bigint AS touched_us
               FROM hygiene_deals(ws, at, stale_days) WHERE status = 'open' AND (who IS NULL OR owner = who)),
         s AS (SELECT jsonb_build_object('open_deals', count(*),
                                         'to_review', count(*) FILTER (WHERE is_stale OR is_missing_fields),
                                         'stale', count(*) FILTER (WHERE is_stale),
                                         'no_next_step', count(*) FILTER (WHERE no_next_step),
                                         'missing_fields', count(*) FILTER (WHERE is_missing_fields)) AS summary
               FROM o)
    SELECT lpad(o.touched_us::text, 20, '0') || ':' || o.k,
           jsonb_build_object('deal_id', o.k, 'name', o.name, 'owner', o.owner, 'stage', o.stage,
                              'amount', money_json(o.amount_cents), 'expected_close_date', o.expected_close_date,
                              'last_touched_at', rfc3339(o.touched),
                              'days_idle', floor(extract(epoch FROM at - o.touched) / 86400)::int,
                              'stale', o.is_stale, 'missing', to_jsonb(o.missing)),
           s.summary
    FROM s LEFT JOIN o ON o.is_stale OR o.is_missing_fields $$;

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
          WHERE l.workspace_id = ws AND l.deleted_at IS NULL AND (a.external_id IS NULL OR a.deleted_at IS NOT NULL) $$;

-- The contacts (leads: the engine's contacts, docs/metrics.md) emailed in the
-- 30 days up to `at` (the seed reviews the bounce rate monthly): an
-- email_sent or email_bounce activity of the live lead in (at - 30 days, at];
-- the bounce rule's population, its offenders those with a bounce in it.
CREATE OR REPLACE FUNCTION hygiene_emailed_leads(ws uuid, at timestamptz)
    RETURNS TABLE (lead_id text, email text, sent bigint, bounced bigint, last_bounce timestamptz)
    LANGUAGE sql STABLE
    AS $$ SELECT a.lead_id, min(l.email), count(*) FILTER (WHERE a.type = 'email_sent'),
                 count(*) FILTER (WHERE a.type = 'email_bounce'), max(a.occurred_at) FILTER (WHERE a.type = 'email_bounce')
          FROM activities a JOIN leads l ON l.workspace_id = ws AND l.external_id = a.lead_id AND l.deleted_at IS NULL
          WHERE a.workspace_id = ws AND a.lead_id IS NOT NULL AND a.type IN ('email_sent', 'email_bounce')
            AND a.occurred_at > at - interval '30 days' AND a.occurred_at <= at
          GROUP BY a.lead_id $$;

-- Contacts whose email bounced (seed: "Contact bounce rate <5%").
CREATE OR REPLACE FUNCTION hygiene_contact_bounce(ws uuid, at timestamptz) RETURNS TABLE (k text, item jsonb)
    LANGUAGE sql STABLE
    AS $$ SELECT lead_id, jsonb_build_object('lead_id', lead_id, 'email', email, 'emails_sent', sent, 'bounces', bounced,
                                             'last_bounce_at', rfc3339(last_bounce))
          FROM hygiene_emailed_leads(ws, at) WHERE bounced > 0 $$;

-- Every rule's counts but the duplicate rule's (server/h_hygiene.c counts
-- its matches) in one document: population and offending records, with
-- per-field counts where a rule has fields (the hygiene_* functions above
-- are the definitions; this counts their verdicts in one pass). A table of
-- one row: a table function is inlined into the caller's query and runs in
-- parallel, a scalar one does not (4.1 s against 1.8 s on a million deals).
CREATE OR REPLACE FUNCTION hygiene_counts(ws uuid, at timestamptz, stale_days int) RETURNS TABLE (counts jsonb)
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
    WITH d AS (SELECT count(*) AS deals, count(*) FILTER (WHERE status = 'open') AS open,
                      count(*) FILTER (WHERE status = 'lost') AS lost,
                      count(*) FILTER (WHERE is_missing_fields) AS missing,
                      jsonb_build_object('amount', count(*) FILTER (WHERE no_amount),
                                         'close_date', count(*) FILTER (WHERE no_close_date),
                                         'stage', count(*) FILTER (WHERE no_stage),
                                         'owner', count(*) FILTER (WHERE no_owner),
                                         'next_step', count(*) FILTER (WHERE no_next_step))
                          AS missing_by,
                      count(*) FILTER (WHERE is_stale) AS stale,
                      count(*) FILTER (WHERE is_lost_without_reason) AS lost_without_reason,
                      count(*) FILTER (WHERE is_unknown_reference) AS unknown,
                      jsonb_build_object('stage', count(*) FILTER (WHERE why_stage IS NOT NULL),
                                         'owner', count(*) FILTER (WHERE why_owner IS NOT NULL),
                                         'account', count(*) FILTER (WHERE why_account IS NOT NULL)) AS unknown_by
               FROM hygiene_deals(ws, at, stale_days))
    SELECT jsonb_build_object(
        'accounts', (SELECT count(*) FROM accounts WHERE workspace_id = ws AND deleted_at IS NULL),
        'open_deals', d.open,
        'open_deal_fields', d.missing,
        'missing_by_field', d.missing_by,
        'stale_opportunities', d.stale,
        'lost_deals', d.lost,
        'closed_lost_reason', d.lost_without_reason,
        'deals', d.deals,
        'leads', (SELECT count(*) FROM leads WHERE workspace_id = ws AND deleted_at IS NULL),
        'lead_account_match', (SELECT count(*) FROM hygiene_lead_account_match(ws)),
        'contacts_emailed', e.emailed,
        'contact_bounce', e.bounced,
        'unknown_references', d.unknown,
        'unknown_by_field', d.unknown_by)
    FROM d, (SELECT count(*) AS emailed, count(*) FILTER (WHERE bounced > 0) AS bounced
             FROM hygiene_emailed_leads(ws, at)) e $$;

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

-- The pipeline's source mix of a period [p_start, p_end) as known at p_at
-- (the period's end, or now for the current one), per deal source ('(none)'
-- without one): the deals created in the period, won and lost in it, and open
-- at p_at (created before it, not closed by then), their amounts in the
-- workspace currency. A deal's source and amount are taken as they stand
-- today, as the dashboard's pipeline_created does (docs/metrics.md, "Source
-- mix"). One scan of the workspace's live deals.
CREATE OR REPLACE FUNCTION pipeline_source_mix(ws uuid, p_start date, p_end date, p_at timestamptz)
    RETURNS TABLE (source text, created_deals bigint, created_cents bigint, won_deals bigint, won_cents bigint,
                   lost_deals bigint, open_deals bigint, open_cents bigint)
    LANGUAGE sql STABLE
    AS $$
    WITH d AS (SELECT COALESCE(source, '(none)') AS src, status, created_at, closed_at,
                      fx_convert(workspace_id, (SELECT w.currency FROM workspaces w WHERE w.id = ws), currency,
                                 amount_cents, CASE WHEN status = 'open' THEN now() ELSE closed_at END) AS cents,
                      created_at >= p_start AND created_at < p_end AND created_at < p_at AS created,
                      status IN ('won', 'lost') AND closed_at >= p_start AND closed_at < p_end AND closed_at < p_at
                          AS closed_in,
                      created_at < p_at AND (status = 'open' OR closed_at >= p_at) AS open_then
               FROM deals WHERE workspace_id = ws AND deleted_at IS NULL)
    SELECT src, count(*) FILTER (WHERE created), COALESCE(sum(cents) FILTER (WHERE created), 0)::bigint,
           count(*) FILTER (WHERE closed_in AND status = 'won'),
           COALESCE(sum(cents) FILTER (WHERE closed_in AND status = 'won'), 0)::bigint,
           count(*) FILTER (WHERE closed_in AND status = 'lost'),
           count(*) FILTER (WHERE open_then), COALESCE(sum(cents) FILTER (WHERE open_then), 0)::bigint
    FROM d WHERE created OR closed_in OR open_then
    GROUP BY src $$;

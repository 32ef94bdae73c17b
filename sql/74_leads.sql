-- sql/74_leads.sql - leads/contacts, activities and lead scoring models (issue 19):
-- the lead writer with the deals' event-time merge rule, and the JSON renderers.
--
-- The one home of these functions: applied after the versioned migrations, again
-- whenever this file changes (docs/migrations.md).

-- API field name of a leads column (they are the same today; one place if not).
CREATE OR REPLACE FUNCTION lead_field_name(col text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT col $$;

-- Create or merge one lead: the deals' rule (sql/30_deals.sql). Every field
-- carries the source time of its current value (field_changed_at); a change
-- older than a field's last one is recorded in lead_changes with applied =
-- false and not applied, so late or replayed events never overwrite newer
-- data. A lifecycle stage move is recorded in lead_stage_history with its
-- event time (a new lead entered its first stage at its created_at). A new
-- lead without a stage is 'known': identified by email (seed 001 phase 3).
-- Returns created | updated | unchanged | stale.
CREATE OR REPLACE FUNCTION lead_apply(ws uuid, ext text, patch jsonb, at timestamptz, origin text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    old leads;
    nr leads;
    created boolean;
    fresh jsonb;
    oldj jsonb;
    newj jsonb;
    nstale int;
    nchanged int;
    entered timestamptz;
BEGIN
    -- Two writers may create the same lead at once: DO NOTHING waits for the
    -- other's commit, and the FOR UPDATE below then merges into its row.
    INSERT INTO leads (workspace_id, external_id, created_at)
    VALUES (ws, ext, COALESCE((patch ->> 'created_at')::timestamptz, at))
    ON CONFLICT (workspace_id, external_id) DO NOTHING;
    created := FOUND;
    SELECT * INTO old FROM leads l WHERE l.workspace_id = ws AND l.external_id = ext FOR UPDATE;
    IF created AND NOT patch ? 'lifecycle_stage' THEN
        patch := patch || '{"lifecycle_stage": "known"}';
    END IF;
    oldj := to_jsonb(old);
    SELECT COALESCE(jsonb_object_agg(p.key, p.value), '{}') INTO fresh FROM jsonb_each(patch) AS p
    WHERE (old.field_changed_at ->> p.key) IS NULL OR (old.field_changed_at ->> p.key)::timestamptz <= at;
    INSERT INTO lead_changes (workspace_id, lead_id, field, old_value, new_value, changed_at, applied, origin)
    SELECT ws, ext, lead_field_name(p.key), oldj -> p.key, p.value, at, false, origin
    FROM jsonb_each(patch) WITH ORDINALITY AS p(key, value, k) WHERE NOT fresh ? p.key ORDER BY p.k;
    GET DIAGNOSTICS nstale = ROW_COUNT;
    nr := jsonb_populate_record(old, fresh);
    nr.deals := COALESCE(nr.deals, '[]');
    nr.custom := COALESCE(nr.custom, '{}');
    newj := to_jsonb(nr);
    INSERT INTO lead_changes (workspace_id, lead_id, field, old_value, new_value, changed_at, applied, origin)
    SELECT ws, ext, lead_field_name(k.key), CASE WHEN created THEN NULL ELSE oldj -> k.key END, newj -> k.key, at,
           true, origin
    FROM jsonb_object_keys(fresh) WITH ORDINALITY AS k(key, n)
    WHERE created OR oldj -> k.key IS DISTINCT FROM newj -> k.key ORDER BY k.n;
    GET DIAGNOSTICS nchanged = ROW_COUNT;
    IF nr.lifecycle_stage IS DISTINCT FROM old.lifecycle_stage AND nr.lifecycle_stage IS NOT NULL THEN
        entered := CASE WHEN created AND nr.created_at < at THEN nr.created_at ELSE at END;
        INSERT INTO lead_stage_history (workspace_id, lead_id, stage, entered_at, origin)
        VALUES (ws, ext, nr.lifecycle_stage, entered, origin);
        nr.stage_entered_at := entered;
    END IF;
    nr.field_changed_at := old.field_changed_at
        || COALESCE((SELECT jsonb_object_agg(k, to_jsonb(at)) FROM jsonb_object_keys(fresh) AS k), '{}');
    UPDATE leads l SET
        email = nr.email, name = nr.name, company = nr.company, title = nr.title, seniority = nr.seniority,
        persona = nr.persona, industry = nr.industry, company_size = nr.company_size, geography = nr.geography,
        icp_tier = nr.icp_tier, original_source = nr.original_source, latest_source = nr.latest_source,
        owner = nr.owner, account = nr.account, lifecycle_stage = nr.lifecycle_stage,
        rejection_reason = nr.rejection_reason, deals = nr.deals, custom = nr.custom, created_at = nr.created_at,
        stage_entered_at = nr.stage_entered_at, field_changed_at = nr.field_changed_at, deleted_at = NULL,
        updated_at = CASE WHEN nchanged > 0 OR created OR old.deleted_at IS NOT NULL THEN now() ELSE old.updated_at END
    WHERE l.workspace_id = ws AND l.external_id = ext;
    RETURN CASE WHEN created THEN 'created'
                WHEN nchanged > 0 OR old.deleted_at IS NOT NULL THEN 'updated'
                WHEN nstale > 0 AND fresh = '{}' THEN 'stale'
                ELSE 'unchanged' END;
END $$;

-- Many leads in one transaction: [{id, patch, at?, origin?}] -> one result per
-- change, n from 1 in list order. Rows are locked in id order (then list order
-- for the same id), so two batches over the same leads cannot deadlock.
CREATE OR REPLACE FUNCTION lead_apply_many(ws uuid, ops jsonb)
RETURNS TABLE (n bigint, result text)
LANGUAGE plpgsql AS $$
DECLARE
    o record;
    res text[];
BEGIN
    res := array_fill(NULL::text, ARRAY[jsonb_array_length(ops)]);
    FOR o IN SELECT v.k, v.op FROM jsonb_array_elements(ops) WITH ORDINALITY AS v(op, k)
             ORDER BY v.op ->> 'id', v.k LOOP
        res[o.k] := lead_apply(ws, o.op ->> 'id', COALESCE(o.op -> 'patch', '{}'),
                               COALESCE((o.op ->> 'at')::timestamptz, now()), COALESCE(o.op ->> 'origin', 'api'));
    END LOOP;
    RETURN QUERY SELECT t.k, t.result FROM unnest(res) WITH ORDINALITY AS t(result, k);
END $$;

CREATE OR REPLACE FUNCTION lead_delete(ws uuid, ext text, at timestamptz, origin text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE leads SET deleted_at = at, updated_at = now()
    WHERE workspace_id = ws AND external_id = ext AND deleted_at IS NULL;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO lead_changes (workspace_id, lead_id, field, old_value, new_value, changed_at, applied, origin)
    VALUES (ws, ext, 'deleted', 'false', 'true', at, true, origin);
    RETURN true;
END $$;

-- The live deals a lead links to (its `deals` ids), each once: looked up by
-- the primary key per id. The form "l.deals ? d.external_id" scanned every
-- deal of the workspace per lead (the dashboard's conversion from 13,700
-- leads over 8,800 deals passed the 5 s statement timeout). Inlined where
-- it is used in FROM or EXISTS.
CREATE OR REPLACE FUNCTION lead_linked_deals(ws uuid, ids jsonb) RETURNS SETOF deals
    LANGUAGE sql STABLE
    AS $$ SELECT d.* FROM deals d
          WHERE d.workspace_id = ws AND d.deleted_at IS NULL
            AND d.external_id IN (SELECT jsonb_array_elements_text(ids)) $$;

-- When each field last changed, by the API's field names. PL/pgSQL so that
-- lead_json stays one expression PostgreSQL inlines (a subquery in it would
-- make it a function planned again for every statement that calls it).
CREATE OR REPLACE FUNCTION lead_field_updated_json(f jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$ BEGIN RETURN (SELECT COALESCE(jsonb_object_agg(lead_field_name(k), rfc3339(v::text::timestamptz)), '{}')
                        FROM jsonb_each_text(f) AS e(k, v)); END $$;

CREATE OR REPLACE FUNCTION lead_json(l leads) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', l.external_id, 'email', l.email, 'name', l.name, 'company', l.company, 'title', l.title,
        'seniority', l.seniority, 'persona', l.persona, 'industry', l.industry, 'company_size', l.company_size,
        'geography', l.geography, 'icp_tier', l.icp_tier, 'original_source', l.original_source,
        'latest_source', l.latest_source, 'owner', l.owner, 'account', l.account,
        'lifecycle_stage', l.lifecycle_stage, 'rejection_reason', l.rejection_reason, 'deals', l.deals,
        'custom', l.custom, 'created_at', rfc3339(l.created_at), 'stage_entered_at', rfc3339(l.stage_entered_at),
        'field_updated_at', lead_field_updated_json(l.field_changed_at),
        'updated_at', rfc3339(l.updated_at), 'deleted_at', rfc3339(l.deleted_at)) $$;

-- PL/pgSQL keeps its plans for the session; as SQL its subqueries were
-- planned again for every GET /v1/leads/{id}.
CREATE OR REPLACE FUNCTION lead_detail_json(l leads) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$ BEGIN RETURN lead_json(l) || jsonb_build_object(
        'stage_history', (SELECT COALESCE(jsonb_agg(jsonb_build_object(
                              'stage', h.stage, 'entered_at', rfc3339(h.entered_at), 'origin', h.origin)
                              ORDER BY h.id), '[]')
                          FROM lead_stage_history h WHERE h.workspace_id = l.workspace_id AND h.lead_id = l.external_id),
        'field_history', (SELECT COALESCE(jsonb_agg(x.j ORDER BY x.id), '[]') FROM (
                              SELECT c.id, jsonb_build_object('field', c.field, 'old', c.old_value, 'new', c.new_value,
                                  'changed_at', rfc3339(c.changed_at), 'applied', c.applied, 'origin', c.origin) AS j
                              FROM lead_changes c WHERE c.workspace_id = l.workspace_id AND c.lead_id = l.external_id
                              ORDER BY c.id DESC LIMIT 200) x),
        -- what the workspace's last rescore (POST /v1/leads/rescore) stored for it
        'stored_score', (SELECT jsonb_build_object('score', s.score, 'band', s.band, 'as_of', rfc3339(r.as_of),
                             'model', jsonb_build_object('id', r.model_id, 'version', r.model_version),
                             'scored_at', rfc3339(r.scored_at))
                         FROM lead_scores s JOIN lead_score_runs r ON r.workspace_id = s.workspace_id
                         WHERE s.workspace_id = l.workspace_id AND s.lead_id = l.external_id)); END $$;

CREATE OR REPLACE FUNCTION activity_json(a activities) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', a.external_id, 'type', a.type, 'occurred_at', rfc3339(a.occurred_at), 'lead', a.lead_id,
        'deal', a.deal_id, 'account', a.account_id, 'rep', a.rep, 'channel', a.channel, 'campaign', a.campaign,
        'session', a.session_id, 'url', a.url, 'custom', a.custom, 'recorded_at', rfc3339(a.recorded_at)) $$;

-- Insert activities [{id, type, occurred_at, lead?, ...}] idempotently by id:
-- per item created, duplicate (the same id with the same content: a retry) or
-- conflict (the same id with other content: refused, the first one stays).
CREATE OR REPLACE FUNCTION activity_insert_many(ws uuid, items jsonb)
RETURNS TABLE (n bigint, id text, result text)
LANGUAGE sql AS $$
    WITH x AS (
        SELECT v.k, v.a ->> 'id' AS id, v.a
        FROM jsonb_array_elements(items) WITH ORDINALITY AS v(a, k)),
    ins AS (
        INSERT INTO activities AS t (workspace_id, external_id, type, occurred_at, lead_id, deal_id, account_id, rep,
                                     channel, campaign, session_id, url, custom)
        SELECT DISTINCT ON (x.id) ws, x.id, x.a ->> 'type', (x.a ->> 'occurred_at')::timestamptz, x.a ->> 'lead',
               x.a ->> 'deal', x.a ->> 'account', x.a ->> 'rep', x.a ->> 'channel', x.a ->> 'campaign',
               x.a ->> 'session', x.a ->> 'url', COALESCE(x.a -> 'custom', '{}')
        FROM x ORDER BY x.id, x.k
        ON CONFLICT (workspace_id, external_id) DO NOTHING
        RETURNING t.external_id, t.type, t.occurred_at, t.lead_id, t.deal_id, t.account_id, t.rep, t.channel,
                  t.campaign, t.session_id, t.url, t.custom),
    first AS (SELECT DISTINCT ON (x.id) x.id, x.k FROM x ORDER BY x.id, x.k),
    stored AS ( -- what each id holds now: the row just inserted, or the one before
        SELECT x.k, x.id, x.a, COALESCE(i.external_id IS NOT NULL AND f.k = x.k, false) AS created,
               COALESCE(
                   (SELECT jsonb_build_object('type', i.type, 'occurred_at', i.occurred_at, 'lead', i.lead_id,
                        'deal', i.deal_id, 'account', i.account_id, 'rep', i.rep, 'channel', i.channel,
                        'campaign', i.campaign, 'session', i.session_id, 'url', i.url, 'custom', i.custom)
                    WHERE i.external_id IS NOT NULL),
                   (SELECT jsonb_build_object('type', a.type, 'occurred_at', a.occurred_at, 'lead', a.lead_id,
                        'deal', a.deal_id, 'account', a.account_id, 'rep', a.rep, 'channel', a.channel,
                        'campaign', a.campaign, 'session', a.session_id, 'url', a.url, 'custom', a.custom)
                    FROM activities a WHERE a.workspace_id = ws AND a.external_id = x.id)) AS cur
        FROM x LEFT JOIN ins i ON i.external_id = x.id LEFT JOIN first f ON f.id = x.id)
    SELECT s.k, s.id,
           CASE WHEN s.created THEN 'created'
                WHEN s.cur IS NOT NULL
                     AND s.cur ->> 'type' = s.a ->> 'type'
                     AND (s.cur ->> 'occurred_at')::timestamptz = (s.a ->> 'occurred_at')::timestamptz
                     AND s.cur -> 'lead' = COALESCE(s.a -> 'lead', 'null') AND s.cur -> 'deal' = COALESCE(s.a -> 'deal', 'null')
                     AND s.cur -> 'account' = COALESCE(s.a -> 'account', 'null') AND s.cur -> 'rep' = COALESCE(s.a -> 'rep', 'null')
                     AND s.cur -> 'channel' = COALESCE(s.a -> 'channel', 'null')
                     AND s.cur -> 'campaign' = COALESCE(s.a -> 'campaign', 'null')
                     AND s.cur -> 'session' = COALESCE(s.a -> 'session', 'null') AND s.cur -> 'url' = COALESCE(s.a -> 'url', 'null')
                     AND s.cur -> 'custom' = COALESCE(s.a -> 'custom', '{}')
                THEN 'duplicate'
                ELSE 'conflict' END
    FROM stored s ORDER BY s.k
$$;

CREATE OR REPLACE FUNCTION scoring_model_json(m scoring_models) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', m.id, 'name', m.name, 'is_default', m.is_default,
        'version', m.version, 'created_at', rfc3339(m.created_at), 'updated_at', rfc3339(m.updated_at))
        || m.document $$;

CREATE OR REPLACE FUNCTION scoring_model_version_json(v scoring_model_versions) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('version', v.version, 'name', v.name,
        'created_at', rfc3339(v.created_at)) || v.document $$;

-- A lead's fields as known at time t (event time): a field whose current value
-- was set at or before t has it; else the last applied change at or before t
-- gives it; else it had none. NULL when the lead did not exist at t (or
-- does not exist, or is deleted).
-- A lead none of whose fields changed after t (the usual case: t is now) is
-- its row as it is; the per-field walk is for the others (the same answer:
-- every field then has its current value).
CREATE OR REPLACE FUNCTION lead_as_of(ws uuid, ext text, t timestamptz) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM jsonb_each_text(l.field_changed_at) AS c(k, v) WHERE c.v::timestamptz > t)
           THEN to_jsonb(l) - 'field_changed_at' - 'workspace_id'
           ELSE (SELECT jsonb_object_agg(f.key,
                CASE WHEN (l.field_changed_at ->> f.key) IS NULL OR (l.field_changed_at ->> f.key)::timestamptz <= t
                     THEN f.value
                     ELSE COALESCE((SELECT c.new_value FROM lead_changes c
                                    WHERE c.workspace_id = ws AND c.lead_id = ext AND c.field = lead_field_name(f.key)
                                      AND c.applied AND c.changed_at <= t
                                    ORDER BY c.changed_at DESC, c.id DESC LIMIT 1), 'null') END)
                 FROM jsonb_each(to_jsonb(l) - 'field_changed_at' - 'workspace_id') AS f(key, value)) END
    FROM leads l
    WHERE l.workspace_id = ws AND l.external_id = ext AND l.deleted_at IS NULL AND l.created_at <= t
$$;

-- Attribution paths (issue 19): the deals of [from, to) by metric (pipeline:
-- deals created then, the path up to their creation; revenue: deals won then,
-- the path up to the win) with their amount in the workspace currency, the
-- milestone times and their marketing touches in time order. A deal's touches
-- are the touchpoint activities of the deal itself, of the leads linked to it
-- (leads.deals) and of its account, each once; touch_types are the types
-- core/leadscore counts as touchpoints (passed by the caller).
-- attribution_touch_rows: one row per deal and touch, in deal id order, each
-- deal's touches in time order (then activity id); a deal without touches is
-- one row with touch_at NULL. GET /v1/attribution reads these rows as they
-- come (server/h_attrib.c); attribution_paths below folds them into arrays.
CREATE OR REPLACE FUNCTION attribution_touch_rows(ws uuid, d_from date, d_to date, metric text, touch_types text[])
RETURNS TABLE (deal_id text, amount_cents bigint, end_at bigint, lead_created bigint, opp_created bigint,
               won_at bigint, linked boolean, touch_at bigint, touch_channel text, touch_campaign text)
LANGUAGE plpgsql STABLE AS $f$
DECLARE
    nestloop text := current_setting('enable_nestloop');
    mem text := current_setting('work_mem');
BEGIN
    -- Many deals: planned as hash and merge joins whatever the statistics
    -- say. A freshly loaded workspace has none yet, and the deals are then
    -- estimated at one row: the plan joined every deal to every touch by a
    -- nested loop (more than 6 minutes for 100,000 deals, scripts/bench-leads.sh
    -- right after the load). A few deals (a month's customers for CAC by
    -- channel) keep their index lookups. Planned at each call (EXECUTE): a
    -- cached plan would not see the setting.
    IF (SELECT count(*) FROM (SELECT 1 FROM deals x WHERE x.workspace_id = ws AND x.deleted_at IS NULL
            AND CASE WHEN metric = 'revenue'
                     THEN x.status = 'won' AND x.closed_at >= d_from::timestamptz AND x.closed_at < d_to::timestamptz
                     ELSE x.created_at >= d_from::timestamptz AND x.created_at < d_to::timestamptz END
            LIMIT 2001) n) > 2000 THEN
        PERFORM set_config('enable_nestloop', 'off', true);
        -- and the sorts in memory: with the default 4 MB, five of them
        -- spilled to disk for 100,000 deals (the final one 17 MB). Bounded
        -- per instance: GET /v1/attribution is a costly route (routes.c).
        PERFORM set_config('work_mem', '64MB', true);
    END IF;
    RETURN QUERY EXECUTE $q$
    WITH d AS MATERIALIZED (
        SELECT x.external_id, x.account, x.currency, x.amount_cents, x.created_at,
               CASE WHEN $4 = 'revenue' THEN x.closed_at ELSE x.created_at END AS end_ts,
               CASE WHEN x.status = 'won' THEN x.closed_at END AS won_ts
        FROM deals x
        WHERE x.workspace_id = $1 AND x.deleted_at IS NULL
          AND CASE WHEN $4 = 'revenue'
                   THEN x.status = 'won' AND x.closed_at >= $2::timestamptz AND x.closed_at < $3::timestamptz
                   ELSE x.created_at >= $2::timestamptz AND x.created_at < $3::timestamptz END),
    -- the workspace's lead-deal links, from one pass over its linked leads (a
    -- lookup of the leads per deal was planned as a scan of every lead per
    -- deal: 29 s for 1,242 deals of a quarter and 16,400 leads, 0.13 s so)
    ll AS MATERIALIZED (
        SELECT x.deal, l.external_id AS lead, l.created_at
        FROM leads l, jsonb_array_elements_text(l.deals) AS x(deal)
        WHERE l.workspace_id = $1 AND l.deleted_at IS NULL AND l.deals <> '[]'),
    lg AS (SELECT ll.deal, min(ll.created_at) AS first_created FROM ll GROUP BY ll.deal),
    -- each link with its deal's end, before the leads' activities are read:
    -- joined after them, the 225,000 (lead, activity) pairs of the bench's
    -- linked leads were sorted on disk to meet the deals, to keep 24,567
    ld AS MATERIALIZED (SELECT ll.lead, d.external_id AS deal, d.end_ts FROM ll JOIN d ON d.external_id = ll.deal),
    -- the touches of every deal at once, each once (UNION): the deal's, its
    -- leads' and its account's, by three joins over the workspace's
    -- activities. Looked up per deal (a LATERAL of three index scans, the
    -- touches folded into arrays there) this took 8-21 s for 100,000 deals
    -- over 1,000,000 activities (scripts/bench-leads.sh).
    tt AS (
        SELECT d.external_id AS deal, b.external_id, b.occurred_at, b.channel, b.campaign
        FROM d JOIN activities b ON b.workspace_id = $1 AND b.deal_id = d.external_id
        WHERE b.occurred_at <= d.end_ts AND b.type = ANY ($5) -- core/leadscore's leadscore_is_touch
        UNION
        SELECT ld.deal, b.external_id, b.occurred_at, b.channel, b.campaign
        FROM ld JOIN activities b ON b.workspace_id = $1 AND b.lead_id = ld.lead
        WHERE b.occurred_at <= ld.end_ts AND b.type = ANY ($5)
        UNION
        SELECT d.external_id, b.external_id, b.occurred_at, b.channel, b.campaign
        FROM d JOIN activities b ON b.workspace_id = $1 AND b.account_id = d.account
        WHERE b.occurred_at <= d.end_ts AND b.type = ANY ($5))
    SELECT d.external_id,
           COALESCE(fx_convert($1, (SELECT w.currency FROM workspaces w WHERE w.id = $1), d.currency, d.amount_cents,
                               d.end_ts), 0),
           extract(epoch FROM d.end_ts)::bigint,
           extract(epoch FROM lg.first_created)::bigint,
           extract(epoch FROM d.created_at)::bigint,
           CASE WHEN $4 = 'revenue' THEN extract(epoch FROM d.won_ts)::bigint END,
           lg.deal IS NOT NULL,
           extract(epoch FROM tt.occurred_at)::bigint, tt.channel, tt.campaign
    FROM d
    LEFT JOIN lg ON lg.deal = d.external_id
    LEFT JOIN tt ON tt.deal = d.external_id
    ORDER BY d.external_id, tt.occurred_at, tt.external_id
$q$ USING ws, d_from, d_to, metric, touch_types;
    PERFORM set_config('enable_nestloop', nestloop, true);
    PERFORM set_config('work_mem', mem, true);
END $f$;

-- The same as one row per deal, its touches as arrays (CAC by channel reads
-- these: server/chancac.c). The rows' order is the touches' order.
CREATE OR REPLACE FUNCTION attribution_paths(ws uuid, d_from date, d_to date, metric text, touch_types text[])
RETURNS TABLE (deal_id text, amount_cents bigint, end_at bigint, lead_created bigint, opp_created bigint,
               won_at bigint, linked boolean, touch_at bigint[], touch_channel text[], touch_campaign text[])
LANGUAGE sql STABLE AS $$
    SELECT r.deal_id, r.amount_cents, r.end_at, r.lead_created, r.opp_created, r.won_at, r.linked,
           COALESCE(array_agg(r.touch_at ORDER BY r.n) FILTER (WHERE r.touch_at IS NOT NULL), '{}'),
           COALESCE(array_agg(r.touch_channel ORDER BY r.n) FILTER (WHERE r.touch_at IS NOT NULL), '{}'),
           COALESCE(array_agg(r.touch_campaign ORDER BY r.n) FILTER (WHERE r.touch_at IS NOT NULL), '{}')
    FROM attribution_touch_rows(ws, d_from, d_to, metric, touch_types) WITH ORDINALITY
         AS r(deal_id, amount_cents, end_at, lead_created, opp_created, won_at, linked, touch_at, touch_channel,
              touch_campaign, n)
    GROUP BY r.deal_id, r.amount_cents, r.end_at, r.lead_created, r.opp_created, r.won_at, r.linked
    ORDER BY r.deal_id
$$;

-- Business minutes between s and e: the parts of the working windows that lie
-- between them. hours: the workspace's work_hours (migration 0061), one range
-- of local wall-clock minutes [start, end) per ISO weekday (hours[1] = Monday),
-- empty for a day off; holidays: local dates off. Each window is local time in
-- zone tz, so a DST change moves it with the clock (a 09:00-17:00 day is 8
-- hours either side of the change). Passed in rather than read here: the SLA
-- clocks call this once per clock, the workspace is read once.
-- history: 0061_working_hours dropped the (s, e, tz, h_from, h_to) form
-- (Monday-Friday only).
CREATE OR REPLACE FUNCTION business_minutes(s timestamptz, e timestamptz, tz text, hours int4range[],
                                            holidays date[]) RETURNS numeric
    LANGUAGE sql STABLE
    AS $$
    SELECT COALESCE(sum(extract(epoch FROM LEAST(e, (g.d + make_interval(mins => upper(w.h))) AT TIME ZONE tz)
                                        - GREATEST(s, (g.d + make_interval(mins => lower(w.h))) AT TIME ZONE tz)) / 60), 0)
    FROM generate_series((s AT TIME ZONE tz)::date::timestamp, (e AT TIME ZONE tz)::date::timestamp,
                         interval '1 day') AS g(d)
    CROSS JOIN LATERAL (SELECT hours[extract(isodow FROM g.d)::int] AS h) AS w
    WHERE e > s AND NOT isempty(w.h) AND g.d::date <> ALL (holidays)
      AND LEAST(e, (g.d + make_interval(mins => upper(w.h))) AT TIME ZONE tz)
          > GREATEST(s, (g.d + make_interval(mins => lower(w.h))) AT TIME ZONE tz)
$$;

-- Every SLA clock started in [d_from, d_to) (issue 19; the targets are the
-- default funnel's stage SLAs, sla_hours, business hours when its text says
-- so): routed (MQL entry -> first assignment), accepted (MQL entry -> SAL or
-- a later stage, or a rejection reason), first meeting (SQL entry -> first
-- meeting on the lead), CS kickoff (won -> first meeting on the deal or its
-- account). elapsed: to the response, or to now while there is none.
CREATE OR REPLACE FUNCTION sla_instances(ws uuid, d_from date, d_to date)
RETURNS TABLE (sla text, subject text, owner text, source text, started_at timestamptz, done_at timestamptz,
               target_minutes numeric, business boolean, elapsed_minutes numeric)
LANGUAGE sql STABLE AS $$
    WITH st AS (
        SELECT s.x ->> 'key' AS key, (s.x ->> 'sla_hours')::numeric * 60 AS target,
               COALESCE(s.x ->> 'sla', '') ILIKE '%business%' AS business, s.k
        FROM funnels f, jsonb_array_elements(f.document -> 'stages') WITH ORDINALITY AS s(x, k)
        WHERE f.workspace_id = ws AND f.is_default AND f.deleted_at IS NULL),
    tz AS (SELECT w.timezone, w.work_hours, w.holidays FROM workspaces w WHERE w.id = ws),
    mql AS (
        SELECT h.lead_id, h.entered_at, l.owner, l.original_source
        FROM lead_stage_history h JOIN leads l ON l.workspace_id = h.workspace_id AND l.external_id = h.lead_id
        WHERE h.workspace_id = ws AND h.stage = 'mql' AND l.deleted_at IS NULL
          AND h.entered_at >= d_from::timestamptz AND h.entered_at < d_to::timestamptz),
    sqlx AS (
        SELECT h.lead_id, h.entered_at, l.owner, l.original_source
        FROM lead_stage_history h JOIN leads l ON l.workspace_id = h.workspace_id AND l.external_id = h.lead_id
        WHERE h.workspace_id = ws AND h.stage = 'sql' AND l.deleted_at IS NULL
          AND h.entered_at >= d_from::timestamptz AND h.entered_at < d_to::timestamptz),
    inst AS (
        SELECT 'routed' AS sla, m.lead_id AS subject, m.owner, m.original_source AS source, m.entered_at AS started,
               (SELECT min(a.routed_at) FROM lead_assignments a WHERE a.workspace_id = ws AND a.lead_id = m.lead_id
                AND a.routed_at >= m.entered_at) AS done, 'mql' AS stage
        FROM mql m
        UNION ALL
        SELECT 'accepted', m.lead_id, m.owner, m.original_source, m.entered_at,
               LEAST((SELECT min(h.entered_at) FROM lead_stage_history h JOIN st ON st.key = h.stage
                      WHERE h.workspace_id = ws AND h.lead_id = m.lead_id AND h.entered_at >= m.entered_at
                        AND st.k > (SELECT k FROM st WHERE key = 'mql')),
                     (SELECT min(c.changed_at) FROM lead_changes c WHERE c.workspace_id = ws AND c.lead_id = m.lead_id
                      AND c.field = 'rejection_reason' AND c.applied AND c.new_value <> 'null'
                      AND c.changed_at >= m.entered_at)), 'sal'
        FROM mql m
        UNION ALL
        SELECT 'first_meeting', q.lead_id, q.owner, q.original_source, q.entered_at,
               (SELECT min(a.occurred_at) FROM activities a WHERE a.workspace_id = ws AND a.lead_id = q.lead_id
                AND a.type = 'meeting' AND a.occurred_at >= q.entered_at), 'sql'
        FROM sqlx q
        UNION ALL
        SELECT 'cs_kickoff', d.external_id, d.owner, d.source, d.closed_at,
               (SELECT min(a.occurred_at) FROM activities a WHERE a.workspace_id = ws AND a.type = 'meeting'
                AND a.occurred_at >= d.closed_at
                AND (a.deal_id = d.external_id OR (d.account IS NOT NULL AND a.account_id = d.account))), 'closed_won'
        FROM deals d
        WHERE d.workspace_id = ws AND d.deleted_at IS NULL AND d.status = 'won'
          AND d.closed_at >= d_from::timestamptz AND d.closed_at < d_to::timestamptz),
    -- Business minutes as business_minutes() counts them, from one calendar
    -- of the days the clocks span (each day's window in UTC, and the minutes
    -- of the whole days up to it) instead of a walk over every day per clock:
    -- a clock still open since 2017 walked 3,300 days (15-30 ms), and the
    -- demo's quarter timed out at 5 s. A clock [s, e) is its first and last
    -- days' overlaps plus the whole days between (tests/api/test_leads.c
    -- checks every clock against business_minutes).
    ii AS (
        SELECT i.*, st.target, st.business, COALESCE(i.done, now()) AS e,
               (i.started AT TIME ZONE tz.timezone)::date AS ds, (COALESCE(i.done, now()) AT TIME ZONE tz.timezone)::date AS de
        FROM inst i JOIN st ON st.key = i.stage CROSS JOIN tz
        WHERE st.target > 0),
    cal AS (
        SELECT g.d::date AS day, w.open_at, w.close_at,
               sum(COALESCE(extract(epoch FROM w.close_at - w.open_at) / 60, 0)) OVER (ORDER BY g.d) AS through
        FROM tz, (SELECT min(ds) AS d0, max(de) AS d1 FROM ii WHERE business) AS sp,
             generate_series(sp.d0::timestamp, sp.d1::timestamp, interval '1 day') AS g(d)
        CROSS JOIN LATERAL (SELECT tz.work_hours[extract(isodow FROM g.d)::int] AS h) AS wh
        CROSS JOIN LATERAL (
            SELECT CASE WHEN isempty(wh.h) OR g.d::date = ANY (tz.holidays) THEN NULL
                        ELSE (g.d + make_interval(mins => lower(wh.h))) AT TIME ZONE tz.timezone END AS open_at,
                   CASE WHEN isempty(wh.h) OR g.d::date = ANY (tz.holidays) THEN NULL
                        ELSE (g.d + make_interval(mins => upper(wh.h))) AT TIME ZONE tz.timezone END AS close_at) AS w)
    SELECT ii.sla, ii.subject, ii.owner, ii.source, ii.started, ii.done, ii.target, ii.business,
           CASE WHEN NOT ii.business THEN extract(epoch FROM ii.e - ii.started) / 60
                WHEN ii.e <= ii.started THEN 0
                -- (LEAST and GREATEST skip NULLs: a day off has no window, so no overlap)
                ELSE CASE WHEN c0.open_at IS NULL THEN 0
                          ELSE GREATEST(extract(epoch FROM LEAST(ii.e, c0.close_at) - GREATEST(ii.started, c0.open_at)) / 60, 0) END
                     + CASE WHEN ii.de = ii.ds THEN 0
                            ELSE cb.through - c0.through
                                 + CASE WHEN c1.open_at IS NULL THEN 0
                                        ELSE GREATEST(extract(epoch FROM LEAST(ii.e, c1.close_at)
                                                                     - GREATEST(ii.started, c1.open_at)) / 60, 0) END END END
    FROM ii
    LEFT JOIN cal c0 ON c0.day = ii.ds AND ii.business
    LEFT JOIN cal c1 ON c1.day = ii.de AND ii.business
    LEFT JOIN cal cb ON cb.day = ii.de - 1 AND ii.business
    ORDER BY ii.sla, ii.started, ii.subject
$$;

-- HubSpot contact events (issue 19): the ops whadapt.c makes of them,
-- lead_apply {id, patch, at, origin}, lead_delete {id, at, origin} and
-- lead_link {id, deal, remove, at, origin} (contact-deal associations),
-- applied under the event-time rule: a change older than the lead's deletion
-- is stale (recorded, not applied: a late event never brings a deleted
-- contact back; contact.restore does), a deletion older than the lead's last
-- change is stale. A lifecycle stage must be one of the default funnel's
-- (the seed's stages while the workspace has none yet), as PUT requires.
-- Custom properties (custom.KEY in field_map) are merged into custom, one
-- key per event. A lead that comes out as MQL is listed in the transaction's
-- setting revops.new_mqls ([[workspace, lead], ...]) for revopsd to route
-- before it commits (server/h_leads.c leads_route_webhook_mqls).
CREATE OR REPLACE FUNCTION lead_webhook_ops(ws uuid, ops jsonb, OUT status text, OUT detail text)
LANGUAGE plpgsql AS $$
DECLARE
    o jsonb;
    r text;
    l leads;
    patch jsonb;
    at timestamptz;
    st text;
    results text[] := '{}';
BEGIN
    FOR o IN SELECT value FROM jsonb_array_elements(ops) LOOP
        at := (o ->> 'at')::timestamptz;
        SELECT * INTO l FROM leads x WHERE x.workspace_id = ws AND x.external_id = o ->> 'id' FOR UPDATE;
        IF o ->> 'op' = 'lead_delete' THEN
            IF l.external_id IS NOT NULL AND l.deleted_at IS NULL
               AND EXISTS (SELECT 1 FROM jsonb_each_text(l.field_changed_at) f WHERE f.value::timestamptz > at) THEN
                INSERT INTO lead_changes (workspace_id, lead_id, field, old_value, new_value, changed_at, applied, origin)
                VALUES (ws, l.external_id, 'deleted', 'false', 'true', at, false, o ->> 'origin');
                r := 'stale';
            ELSE
                r := CASE WHEN lead_delete(ws, o ->> 'id', at, o ->> 'origin') THEN 'deleted' ELSE 'unchanged' END;
            END IF;
        ELSIF o ->> 'op' = 'lead_apply' THEN
            patch := COALESCE(o -> 'patch', '{}');
            st := patch ->> 'lifecycle_stage';
            IF st IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM funnels f, jsonb_array_elements(f.document -> 'stages') s
                   WHERE f.workspace_id = ws AND f.is_default AND f.deleted_at IS NULL AND s ->> 'key' = st)
               AND (EXISTS (SELECT 1 FROM funnels f WHERE f.workspace_id = ws AND f.is_default AND f.deleted_at IS NULL)
                    OR st <> ALL (ARRAY['visitor', 'known', 'mql', 'sal', 'sql', 'opportunity', 'proposal',
                                        'closed_won', 'closed_lost'])) THEN
                RAISE EXCEPTION 'lifecycle_stage ''%'' is not a stage of the workspace''s default funnel (map it in stage_map)', st
                    USING ERRCODE = 'check_violation';
            END IF;
            IF l.external_id IS NOT NULL AND l.deleted_at IS NOT NULL AND l.deleted_at > at THEN
                INSERT INTO lead_changes (workspace_id, lead_id, field, old_value, new_value, changed_at, applied, origin)
                SELECT ws, l.external_id, lead_field_name(p.key), to_jsonb(l) -> p.key, p.value, at, false, o ->> 'origin'
                FROM jsonb_each(patch) AS p;
                r := 'stale';
            ELSE
                IF patch ? 'custom' AND l.external_id IS NOT NULL THEN
                    patch := jsonb_set(patch, '{custom}', l.custom || (patch -> 'custom'));
                END IF;
                -- HubSpot has no full-name property: the name is first + last
                -- name (whadapt.c maps them to custom.firstname/lastname); other
                -- senders (Standard Webhooks lead events) send name itself
                IF o ->> 'origin' = 'hubspot' AND patch -> 'custom' ?| ARRAY['firstname', 'lastname'] THEN
                    patch := patch || jsonb_build_object('name', NULLIF(concat_ws(' ',
                        NULLIF(btrim(patch -> 'custom' ->> 'firstname'), ''),
                        NULLIF(btrim(patch -> 'custom' ->> 'lastname'), '')), ''));
                END IF;
                r := lead_apply(ws, o ->> 'id', patch, at, o ->> 'origin');
                IF EXISTS (SELECT 1 FROM leads x WHERE x.workspace_id = ws AND x.external_id = o ->> 'id'
                           AND x.lifecycle_stage = 'mql' AND x.deleted_at IS NULL) THEN
                    PERFORM set_config('revops.new_mqls',
                        (COALESCE(NULLIF(current_setting('revops.new_mqls', true), ''), '[]')::jsonb
                         || jsonb_build_array(jsonb_build_array(ws, o ->> 'id')))::text, true);
                END IF;
            END IF;
        ELSIF o ->> 'op' = 'lead_link' THEN
            -- a set operation on leads.deals: links to different deals commute, so
            -- one older than the field's last change is applied at that change's
            -- time rather than lost as stale (an add and a remove of the same deal
            -- out of order is the case this gets wrong: the later-arriving wins)
            IF l.external_id IS NOT NULL AND l.deleted_at IS NOT NULL AND l.deleted_at > at THEN
                r := 'stale';
            ELSE
                patch := jsonb_build_object('deals',
                    CASE WHEN (o ->> 'remove')::boolean THEN COALESCE(l.deals, '[]') - (o ->> 'deal')
                         WHEN COALESCE(l.deals, '[]') ? (o ->> 'deal') THEN l.deals
                         ELSE COALESCE(l.deals, '[]') || to_jsonb(o ->> 'deal') END);
                r := lead_apply(ws, o ->> 'id', patch,
                                GREATEST(at, (l.field_changed_at ->> 'deals')::timestamptz), o ->> 'origin');
            END IF;
        ELSE
            RAISE EXCEPTION 'unknown lead op %', o ->> 'op';
        END IF;
        results := results || r;
    END LOOP;
    status := CASE WHEN cardinality(results) > 0 AND results <@ ARRAY['stale'] THEN 'stale' ELSE 'applied' END;
    detail := array_to_string(results, ', ');
END $$;

-- The pending contact events among ids (locked by the caller: claimed by
-- webhook_apply_batch or just stored by webhook_ingest), applied in lead id
-- order (PUT's batch locks leads in id order too: no deadlock between them),
-- then event time; each in its own subtransaction so one bad event cannot
-- take the batch down. A deadlock or cancellation is not the event's fault:
-- it propagates, the whole batch rolls back and its events stay pending.
CREATE OR REPLACE FUNCTION lead_webhook_apply(ws uuid, ids uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    e record;
    st text;
    dt text;
BEGIN
    -- each id looked up by its key (LIMIT 1: a probe per id): as a filter, a
    -- never-analysed table's plan read every waiting event of the workspace
    -- per batch (17 ms at 25,000 pending, growing with the backlog)
    FOR e IN SELECT w.id, w.ops FROM unnest(ids) AS i(id)
             CROSS JOIN LATERAL (SELECT w.id, w.ops, w.object_id, w.occurred_at, w.seq FROM webhook_events w
                                 WHERE w.id = i.id AND w.workspace_id = ws AND w.status = 'pending'
                                   AND w.ops -> 0 ->> 'op' IN ('lead_apply', 'lead_delete', 'lead_link')
                                 LIMIT 1) AS w
             ORDER BY w.object_id, w.occurred_at, w.seq LOOP
        BEGIN
            SELECT a.status, a.detail INTO st, dt FROM lead_webhook_ops(ws, e.ops) a;
        EXCEPTION
            WHEN deadlock_detected OR query_canceled OR lock_not_available OR serialization_failure THEN
                RAISE;
            WHEN others THEN
                st := 'rejected';
                dt := SQLERRM;
        END;
        UPDATE webhook_events w SET status = st, detail = dt,
               applied_at = CASE WHEN st IN ('applied', 'stale') THEN now() END
        WHERE w.id = e.id;
    END LOOP;
END $$;

-- Escalate the assignments of workspace ws (NULL: every workspace) whose
-- escalation time has come with no action: no call, meeting or email by the
-- assignee on the lead and no stage move since the routing. Each is escalated
-- once, whichever instance or caller runs this first: the rows are claimed
-- FOR UPDATE SKIP LOCKED and escalated_at is set in the same statement, so a
-- concurrent pass skips them and a later one no longer finds them due. The
-- lead goes to the assignee's manager (its owner then), else to the routing
-- fallback queue. Returns each escalated assignment's JSON. Callers: POST
-- /v1/routing/escalations (one workspace) and revopsd's periodic escalation
-- pass (server/jobs.c, all of them).
CREATE OR REPLACE FUNCTION routing_escalate(ws uuid) RETURNS SETOF jsonb
LANGUAGE plpgsql AS $$
DECLARE
    a lead_assignments;
BEGIN
    FOR a IN
        WITH due AS (
            SELECT x.id FROM lead_assignments x
            WHERE (ws IS NULL OR x.workspace_id = ws) AND x.escalated_at IS NULL AND x.assignee IS NOT NULL
              AND x.escalate_minutes IS NOT NULL AND x.routed_at + x.escalate_minutes * interval '1 minute' <= now()
              AND x.id = (SELECT max(b.id) FROM lead_assignments b WHERE b.workspace_id = x.workspace_id
                          AND b.lead_id = x.lead_id)
              AND NOT EXISTS (SELECT 1 FROM activities t WHERE t.workspace_id = x.workspace_id
                              AND t.lead_id = x.lead_id AND t.rep = x.assignee
                              AND t.type IN ('call', 'meeting', 'email_sent') AND t.occurred_at >= x.routed_at)
              AND NOT EXISTS (SELECT 1 FROM lead_stage_history h WHERE h.workspace_id = x.workspace_id
                              AND h.lead_id = x.lead_id AND h.entered_at > x.routed_at)
            ORDER BY x.id FOR UPDATE OF x SKIP LOCKED)
        UPDATE lead_assignments u SET escalated_at = now(), escalated_to = COALESCE(
            (SELECT r.manager FROM reps r WHERE r.workspace_id = u.workspace_id AND r.external_id = u.assignee
             AND r.manager IS NOT NULL),
            (SELECT g.document ->> 'fallback' FROM routing_rules g WHERE g.workspace_id = u.workspace_id),
            'marketing_ops_queue')
        FROM due WHERE u.id = due.id AND u.escalated_at IS NULL
        RETURNING u.*
    LOOP
        IF EXISTS (SELECT 1 FROM reps r WHERE r.workspace_id = a.workspace_id AND r.external_id = a.escalated_to) THEN
            PERFORM lead_apply(a.workspace_id, a.lead_id, jsonb_build_object('owner', a.escalated_to), now(),
                               'escalation');
        END IF;
        RETURN NEXT jsonb_build_object('id', a.id, 'lead', a.lead_id, 'rule', a.rule, 'route_to', a.route_to,
            'assignee', a.assignee, 'queue', a.queue, 'sla_minutes', a.sla_minutes, 'routed_at', rfc3339(a.routed_at),
            'escalate_after_minutes', a.escalate_minutes, 'escalated_at', rfc3339(a.escalated_at),
            'escalated_to', a.escalated_to, 'workspace_id', a.workspace_id);
    END LOOP;
END $$;

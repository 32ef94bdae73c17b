-- 0002_crm.sql - CRM data: reps, accounts, deals (with stage history, per-field
-- last-changed timestamps and field change history), webhook endpoints and events.
-- Every table carries workspace_id; every query filters by it.

CREATE OR REPLACE FUNCTION money_json(cents bigint) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT round(cents::numeric / 100, 2) $$;

CREATE TABLE reps (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    external_id  text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 200),
    name         text NOT NULL DEFAULT '',
    email        text,
    role         text CHECK (role IN ('ae', 'sdr', 'csm', 'manager')),
    manager      text,
    segment      text,
    region       text,
    quotas       jsonb NOT NULL DEFAULT '{}',       -- period label -> quota in cents
    start_date   date,
    end_date     date,
    custom       jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz,
    PRIMARY KEY (workspace_id, external_id)
);

CREATE TABLE accounts (
    workspace_id          uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    external_id           text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 200),
    name                  text NOT NULL DEFAULT '',
    industry              text,
    employees             integer CHECK (employees >= 0),
    annual_revenue_cents  bigint CHECK (annual_revenue_cents >= 0),
    region                text,
    country               text,
    segment               text,
    icp_tier              text CHECK (icp_tier IN ('A', 'B', 'C', 'D')),
    potential_cents       bigint CHECK (potential_cents >= 0),
    owner                 text,
    territory             text,
    parent                text,
    year_established      integer,
    custom                jsonb NOT NULL DEFAULT '{}',
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    deleted_at            timestamptz,
    PRIMARY KEY (workspace_id, external_id)
);

CREATE TABLE deals (
    workspace_id        uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    external_id         text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 200),
    name                text NOT NULL DEFAULT '',
    amount_cents        bigint CHECK (amount_cents >= 0),
    currency            text CHECK (currency ~ '^[A-Z]{3}$'),
    stage               text CHECK (stage ~ '^[a-z][a-z0-9_]{0,63}$'),   -- a funnel stage key
    status              text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'won', 'lost')),
    forecast_category   text CHECK (forecast_category IN ('pipeline', 'best_case', 'commit', 'closed', 'omitted')),
    probability         numeric(6, 5) CHECK (probability BETWEEN 0 AND 1),
    expected_close_date date,
    created_at          timestamptz NOT NULL DEFAULT now(),
    closed_at           timestamptz,
    owner               text,
    account             text,
    segment             text,
    source              text,
    lost_reason         text,
    last_activity_at    timestamptz,
    pipeline            text,
    custom              jsonb NOT NULL DEFAULT '{}',
    -- server-maintained
    stage_entered_at    timestamptz,
    push_count          integer NOT NULL DEFAULT 0,
    field_changed_at    jsonb NOT NULL DEFAULT '{}',  -- field -> when its current value was set (event time)
    inserted_at         timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    deleted_at          timestamptz,
    PRIMARY KEY (workspace_id, external_id)
);
CREATE INDEX deals_by_updated ON deals (workspace_id, updated_at);
CREATE INDEX deals_by_stage ON deals (workspace_id, stage);
CREATE INDEX deals_by_owner ON deals (workspace_id, owner);

CREATE TABLE deal_stage_history (
    id           bigserial PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    deal_id      text NOT NULL,
    stage        text NOT NULL,
    entered_at   timestamptz,           -- NULL: the source did not say when (imports)
    origin       text NOT NULL,          -- api, import, hubspot, pipedrive, standard
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (workspace_id, deal_id) REFERENCES deals (workspace_id, external_id) ON DELETE CASCADE
);
CREATE INDEX deal_stage_history_deal ON deal_stage_history (workspace_id, deal_id, id);

-- Every field change offered to a deal, applied or not (an older change than
-- the field's last one is recorded with applied = false).
CREATE TABLE deal_changes (
    id           bigserial PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    deal_id      text NOT NULL,
    field        text NOT NULL,
    old_value    jsonb,
    new_value    jsonb,
    changed_at   timestamptz NOT NULL,
    applied      boolean NOT NULL,
    origin       text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (workspace_id, deal_id) REFERENCES deals (workspace_id, external_id) ON DELETE CASCADE
);
CREATE INDEX deal_changes_deal ON deal_changes (workspace_id, deal_id, id);

-- API field name of a deals column.
CREATE FUNCTION deal_field_name(col text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE col WHEN 'amount_cents' THEN 'amount' ELSE col END $$;

CREATE FUNCTION deal_value_json(col text, v jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN col = 'amount_cents' AND jsonb_typeof(v) = 'number'
                      THEN to_jsonb(money_json(v::text::bigint)) ELSE v END $$;

-- The end (exclusive) of the fiscal quarter holding d, for a fiscal year
-- starting in month fsm.
CREATE FUNCTION fiscal_quarter_end(d date, fsm int) RETURNS date
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT (date_trunc('month', d)
                  - make_interval(months => ((extract(month FROM d)::int - fsm + 12) % 12) % 3)
                  + interval '3 months')::date $$;

-- Apply a change set to one deal. patch: column -> value (canonical: cents,
-- ISO dates). at: when the change happened at the source; a field whose last
-- change is newer keeps its value (the change is recorded, not applied).
-- stage_at: the stage's entry time when it differs from at (has_stage_at).
-- Returns created | updated | unchanged | stale.
CREATE FUNCTION deal_apply(ws uuid, ext text, patch jsonb, at timestamptz, origin text,
                           has_stage_at boolean DEFAULT false, stage_at timestamptz DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    d deals;
    n deals;
    old jsonb;
    cur jsonb := '{}';
    newj jsonb;
    k text;
    v jsonb;
    last timestamptz;
    nstale int := 0;
    nchanged int := 0;
    created boolean := false;
    fsm int;
    fca jsonb;
BEGIN
    SELECT * INTO d FROM deals WHERE workspace_id = ws AND external_id = ext FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO deals (workspace_id, external_id, created_at)
        VALUES (ws, ext, COALESCE((patch ->> 'created_at')::timestamptz, at))
        RETURNING * INTO d;
        created := true;
    END IF;
    old := to_jsonb(d);
    fca := d.field_changed_at;
    FOR k, v IN SELECT * FROM jsonb_each(patch) LOOP
        last := (fca ->> k)::timestamptz;
        IF last IS NOT NULL AND at < last THEN
            INSERT INTO deal_changes (workspace_id, deal_id, field, old_value, new_value, changed_at, applied, origin)
            VALUES (ws, ext, deal_field_name(k), deal_value_json(k, old -> k), deal_value_json(k, v), at, false, origin);
            nstale := nstale + 1;
        ELSE
            cur := cur || jsonb_build_object(k, v);
        END IF;
    END LOOP;
    n := jsonb_populate_record(d, cur);
    newj := to_jsonb(n);
    FOR k IN SELECT jsonb_object_keys(cur) LOOP
        IF old -> k IS DISTINCT FROM newj -> k OR created THEN
            IF old -> k IS DISTINCT FROM newj -> k THEN
                INSERT INTO deal_changes (workspace_id, deal_id, field, old_value, new_value, changed_at, applied, origin)
                VALUES (ws, ext, deal_field_name(k), CASE WHEN created THEN NULL ELSE deal_value_json(k, old -> k) END,
                        deal_value_json(k, newj -> k), at, true, origin);
                nchanged := nchanged + 1;
            END IF;
        END IF;
        fca := fca || jsonb_build_object(k, to_jsonb(at));
    END LOOP;
    -- stage: history, entry time, and the status it implies
    IF n.stage IS DISTINCT FROM d.stage AND n.stage IS NOT NULL THEN
        n.stage_entered_at := CASE WHEN has_stage_at THEN stage_at ELSE at END;
        INSERT INTO deal_stage_history (workspace_id, deal_id, stage, entered_at, origin)
        VALUES (ws, ext, n.stage, n.stage_entered_at, origin);
        IF NOT cur ? 'status' THEN
            n.status := CASE n.stage WHEN 'closed_won' THEN 'won' WHEN 'closed_lost' THEN 'lost' ELSE 'open' END;
        END IF;
    END IF;
    IF n.status <> 'open' AND n.closed_at IS NULL AND NOT cur ? 'closed_at' THEN
        n.closed_at := CASE WHEN has_stage_at AND stage_at IS NOT NULL THEN stage_at ELSE at END;
    END IF;
    IF n.status IS DISTINCT FROM d.status AND NOT created THEN
        INSERT INTO deal_changes (workspace_id, deal_id, field, old_value, new_value, changed_at, applied, origin)
        SELECT ws, ext, 'status', to_jsonb(d.status), to_jsonb(n.status), at, true, origin
        WHERE NOT cur ? 'status';
        fca := fca || jsonb_build_object('status', to_jsonb(at));
    END IF;
    -- a close date moved past the end of its fiscal quarter is a push
    IF d.expected_close_date IS NOT NULL AND n.expected_close_date IS NOT NULL AND NOT created THEN
        SELECT fiscal_year_start_month INTO fsm FROM workspaces WHERE id = ws;
        IF n.expected_close_date >= fiscal_quarter_end(d.expected_close_date, fsm) THEN
            n.push_count := d.push_count + 1;
        END IF;
    END IF;
    UPDATE deals SET
        name = n.name, amount_cents = n.amount_cents, currency = n.currency, stage = n.stage,
        status = n.status, forecast_category = n.forecast_category, probability = n.probability,
        expected_close_date = n.expected_close_date, created_at = n.created_at, closed_at = n.closed_at,
        owner = n.owner, account = n.account, segment = n.segment, source = n.source,
        lost_reason = n.lost_reason, last_activity_at = n.last_activity_at, pipeline = n.pipeline,
        custom = n.custom, stage_entered_at = n.stage_entered_at, push_count = n.push_count,
        field_changed_at = fca, deleted_at = NULL,
        updated_at = CASE WHEN nchanged > 0 OR created OR d.deleted_at IS NOT NULL THEN now() ELSE d.updated_at END
    WHERE workspace_id = ws AND external_id = ext;
    IF created THEN
        RETURN 'created';
    ELSIF nchanged > 0 OR d.deleted_at IS NOT NULL THEN
        RETURN 'updated';
    ELSIF nstale > 0 AND cur = '{}' THEN
        RETURN 'stale';
    END IF;
    RETURN 'unchanged';
END $$;

-- Apply many: ops is an array of {id, patch, at, origin, stage_at?}; returns
-- one result per op in order.
CREATE FUNCTION deal_apply_many(ws uuid, ops jsonb)
RETURNS TABLE (n bigint, result text)
LANGUAGE plpgsql AS $$
DECLARE
    o jsonb;
    i bigint := 0;
BEGIN
    FOR o IN SELECT value FROM jsonb_array_elements(ops) LOOP
        i := i + 1;
        n := i;
        result := deal_apply(ws, o ->> 'id', o -> 'patch', COALESCE((o ->> 'at')::timestamptz, now()),
                             COALESCE(o ->> 'origin', 'api'), o ? 'stage_at', (o ->> 'stage_at')::timestamptz);
        RETURN NEXT;
    END LOOP;
END $$;

CREATE FUNCTION deal_delete(ws uuid, ext text, at timestamptz, origin text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE deals SET deleted_at = at, updated_at = now()
    WHERE workspace_id = ws AND external_id = ext AND deleted_at IS NULL;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    INSERT INTO deal_changes (workspace_id, deal_id, field, old_value, new_value, changed_at, applied, origin)
    VALUES (ws, ext, 'deleted', 'false', 'true', at, true, origin);
    RETURN true;
END $$;

-- Create or merge an account or rep: only the columns present in patch change.
-- Column names come from patch keys, which callers validate against their
-- field tables; quote_ident keeps them identifiers regardless.
CREATE FUNCTION entity_upsert(tbl text, ws uuid, ext text, patch jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    cols text;
    sets text;
    created boolean;
BEGIN
    IF tbl NOT IN ('accounts', 'reps') THEN
        RAISE EXCEPTION 'entity_upsert: unknown table %', tbl;
    END IF;
    SELECT string_agg(quote_ident(k), ', '), string_agg(format('%I = EXCLUDED.%I', k, k), ', ')
      INTO cols, sets FROM jsonb_object_keys(patch) AS k;
    IF cols IS NULL THEN
        EXECUTE format('INSERT INTO %I AS t (workspace_id, external_id) VALUES ($1, $2)'
                       ' ON CONFLICT (workspace_id, external_id) DO UPDATE SET deleted_at = NULL,'
                       ' updated_at = CASE WHEN t.deleted_at IS NULL THEN t.updated_at ELSE now() END'
                       ' RETURNING (xmax = 0)', tbl)
            INTO created USING ws, ext;
    ELSE
        EXECUTE format('INSERT INTO %I AS t (workspace_id, external_id, %s)'
                       ' SELECT $1, $2, %s FROM jsonb_populate_record(NULL::%I, $3) r'
                       ' ON CONFLICT (workspace_id, external_id) DO UPDATE SET %s, deleted_at = NULL, updated_at = now()'
                       ' RETURNING (xmax = 0)',
                       tbl, cols, (SELECT string_agg('r.' || quote_ident(k), ', ') FROM jsonb_object_keys(patch) k),
                       tbl, sets)
            INTO created USING ws, ext, patch;
    END IF;
    RETURN created;
END $$;

CREATE FUNCTION quotas_json(q jsonb) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT COALESCE(jsonb_object_agg(key, money_json(value::text::bigint)), '{}')
          FROM jsonb_each(q) $$;

CREATE FUNCTION rep_json(r reps) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', r.external_id, 'name', r.name, 'email', r.email, 'role', r.role, 'manager', r.manager,
        'segment', r.segment, 'region', r.region, 'quotas', quotas_json(r.quotas),
        'start_date', r.start_date, 'end_date', r.end_date, 'custom', r.custom,
        'created_at', rfc3339(r.created_at), 'updated_at', rfc3339(r.updated_at),
        'deleted_at', rfc3339(r.deleted_at)) $$;

CREATE FUNCTION account_json(a accounts) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', a.external_id, 'name', a.name, 'industry', a.industry, 'employees', a.employees,
        'annual_revenue', money_json(a.annual_revenue_cents), 'region', a.region, 'country', a.country,
        'segment', a.segment, 'icp_tier', a.icp_tier, 'potential', money_json(a.potential_cents),
        'owner', a.owner, 'territory', a.territory, 'parent', a.parent,
        'year_established', a.year_established, 'custom', a.custom,
        'created_at', rfc3339(a.created_at), 'updated_at', rfc3339(a.updated_at),
        'deleted_at', rfc3339(a.deleted_at)) $$;

CREATE FUNCTION deal_json(d deals) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', d.external_id, 'name', d.name, 'amount', money_json(d.amount_cents),
        'currency', COALESCE(d.currency, (SELECT currency FROM workspaces WHERE id = d.workspace_id)),
        'stage', d.stage, 'status', d.status, 'forecast_category', d.forecast_category,
        'probability', d.probability::float8, 'expected_close_date', d.expected_close_date,
        'created_at', rfc3339(d.created_at), 'closed_at', rfc3339(d.closed_at),
        'owner', d.owner, 'account', d.account, 'segment', d.segment, 'source', d.source,
        'lost_reason', d.lost_reason, 'last_activity_at', rfc3339(d.last_activity_at),
        'pipeline', d.pipeline, 'custom', d.custom,
        'stage_entered_at', rfc3339(d.stage_entered_at), 'push_count', d.push_count,
        'field_updated_at', (SELECT COALESCE(jsonb_object_agg(deal_field_name(key), rfc3339((value #>> '{}')::timestamptz)), '{}')
                             FROM jsonb_each(d.field_changed_at)),
        'updated_at', rfc3339(d.updated_at), 'deleted_at', rfc3339(d.deleted_at)) $$;

-- A deal with its stage history and its last 200 field changes.
CREATE FUNCTION deal_detail_json(d deals) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT deal_json(d) || jsonb_build_object(
        'stage_history', (SELECT COALESCE(jsonb_agg(jsonb_build_object(
                              'stage', h.stage, 'entered_at', rfc3339(h.entered_at), 'origin', h.origin)
                              ORDER BY h.id), '[]')
                          FROM deal_stage_history h WHERE h.workspace_id = d.workspace_id AND h.deal_id = d.external_id),
        'field_history', (SELECT COALESCE(jsonb_agg(x.j ORDER BY x.id), '[]') FROM (
                              SELECT c.id, jsonb_build_object('field', c.field, 'old', c.old_value, 'new', c.new_value,
                                  'changed_at', rfc3339(c.changed_at), 'applied', c.applied, 'origin', c.origin) AS j
                              FROM deal_changes c WHERE c.workspace_id = d.workspace_id AND c.deal_id = d.external_id
                              ORDER BY c.id DESC LIMIT 200) x)) $$;

-- ---- webhooks -------------------------------------------------------------

CREATE TABLE webhook_endpoints (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    source          text NOT NULL CHECK (source IN ('hubspot', 'pipedrive', 'standard')),
    secret          text,                 -- HMAC key material; never returned after creation
    basic_username  text,
    basic_password  text,
    stage_map       jsonb NOT NULL DEFAULT '{}',
    field_map       jsonb NOT NULL DEFAULT '{}',
    public_url      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);
CREATE INDEX webhook_endpoints_ws ON webhook_endpoints (workspace_id, created_at, id);

-- The raw request, exactly as received (after its signature was verified).
CREATE TABLE webhook_deliveries (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    endpoint_id  uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    headers      jsonb NOT NULL,
    body         text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per provider event (a HubSpot request carries up to 100).
CREATE TABLE webhook_events (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    endpoint_id  uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    delivery_id  uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    dedupe_key   text NOT NULL,
    event_type   text NOT NULL DEFAULT '',
    object_id    text,
    occurred_at  timestamptz,
    payload      jsonb NOT NULL,          -- the provider's event as received
    status       text NOT NULL CHECK (status IN ('received', 'applied', 'duplicate', 'stale', 'rejected')),
    detail       text NOT NULL DEFAULT '',
    received_at  timestamptz NOT NULL DEFAULT now(),
    applied_at   timestamptz,
    seq          bigserial
);
CREATE UNIQUE INDEX webhook_events_dedupe ON webhook_events (workspace_id, endpoint_id, dedupe_key)
    WHERE status <> 'duplicate';
CREATE INDEX webhook_events_list ON webhook_events (workspace_id, seq);

CREATE FUNCTION webhook_endpoint_json(e webhook_endpoints) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', e.id, 'source', e.source, 'url', '/v1/hooks/' || e.id, 'public_url', e.public_url,
        'stage_map', e.stage_map, 'field_map', e.field_map,
        'has_secret', e.secret IS NOT NULL, 'basic_auth_username', e.basic_username,
        'created_at', rfc3339(e.created_at)) $$;

CREATE FUNCTION webhook_event_json(e webhook_events) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', e.id, 'endpoint_id', e.endpoint_id, 'dedupe_key', e.dedupe_key, 'type', e.event_type,
        'object_id', e.object_id, 'occurred_at', rfc3339(e.occurred_at), 'status', e.status,
        'detail', e.detail, 'payload', e.payload, 'received_at', rfc3339(e.received_at),
        'applied_at', rfc3339(e.applied_at)) $$;

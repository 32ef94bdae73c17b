-- 0003_revenue_inputs.sql - what the board metrics need beyond deals:
-- ARR movements (explicit, or derived from subscriptions), spend, and per-period finance.

CREATE OR REPLACE FUNCTION money_json(cents bigint) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT round(cents::numeric / 100, 2) $$;

CREATE TABLE subscriptions (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    external_id  text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 200),
    account      text NOT NULL CHECK (length(account) BETWEEN 1 AND 200),
    arr_cents    bigint NOT NULL CHECK (arr_cents >= 0),
    start_date   date NOT NULL,
    end_date     date CHECK (end_date > start_date),
    renewal_date date,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, external_id)
);
CREATE INDEX subscriptions_account ON subscriptions (workspace_id, account);

CREATE TABLE arr_events (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    account         text NOT NULL CHECK (length(account) BETWEEN 1 AND 200),
    event_date      date NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('new', 'expansion', 'contraction', 'churn', 'reactivation')),
    amount_cents    bigint NOT NULL CHECK (amount_cents > 0),   -- the kind carries the direction
    source          text NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'subscription')),
    note            text NOT NULL DEFAULT '' CHECK (length(note) <= 1000),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX arr_events_by_date ON arr_events (workspace_id, event_date, id);
CREATE INDEX arr_events_by_account ON arr_events (workspace_id, account, source);

CREATE TABLE spend (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    period       text NOT NULL,                 -- canonical label: 2026-Q1, 2026-03, FY2026
    period_start date NOT NULL,
    period_end   date NOT NULL,                 -- exclusive
    category     text NOT NULL CHECK (category IN ('sales', 'marketing', 'customer_success', 'other')),
    channel      text NOT NULL DEFAULT '' CHECK (length(channel) <= 200),
    segment      text NOT NULL DEFAULT '' CHECK (length(segment) <= 200),
    amount_cents bigint NOT NULL CHECK (amount_cents >= 0),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX spend_by_period ON spend (workspace_id, period_start, id);

CREATE TABLE finance_periods (
    workspace_id   uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    period         text NOT NULL,
    period_start   date NOT NULL,
    period_end     date NOT NULL,
    gross_margin   numeric(6, 5) CHECK (gross_margin BETWEEN 0 AND 1),
    net_burn_cents bigint,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, period)
);

CREATE FUNCTION subscription_json(s subscriptions) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', s.external_id, 'account', s.account, 'arr', money_json(s.arr_cents),
        'start_date', s.start_date, 'end_date', s.end_date, 'renewal_date', s.renewal_date,
        'created_at', rfc3339(s.created_at), 'updated_at', rfc3339(s.updated_at)) $$;

CREATE FUNCTION arr_event_json(e arr_events) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', e.id, 'account', e.account, 'date', e.event_date, 'kind', e.kind,
        'amount', money_json(e.amount_cents), 'source', e.source, 'note', e.note,
        'created_at', rfc3339(e.created_at)) $$;

CREATE FUNCTION spend_json(s spend) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', s.id, 'period', s.period, 'period_start', s.period_start, 'period_end', s.period_end - 1,
        'category', s.category, 'channel', s.channel, 'segment', s.segment,
        'amount', money_json(s.amount_cents), 'created_at', rfc3339(s.created_at)) $$;

CREATE FUNCTION finance_json(f finance_periods) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'period', f.period, 'period_start', f.period_start, 'period_end', f.period_end - 1,
        'gross_margin', f.gross_margin, 'net_burn', money_json(f.net_burn_cents),
        'updated_at', rfc3339(f.updated_at)) $$;

-- 0005_snapshots.sql - pipeline snapshots (manual and scheduled) and their settings.

ALTER TABLE workspaces
    ADD COLUMN snapshot_schedule text CHECK (snapshot_schedule IN ('daily', 'weekly')),
    ADD COLUMN snapshot_hour smallint NOT NULL DEFAULT 6 CHECK (snapshot_hour BETWEEN 0 AND 23),
    ADD COLUMN snapshot_keep_daily_days integer NOT NULL DEFAULT 120 CHECK (snapshot_keep_daily_days > 0),
    ADD COLUMN snapshot_keep_weekly_days integer NOT NULL DEFAULT 730 CHECK (snapshot_keep_weekly_days > 0);

CREATE OR REPLACE FUNCTION workspace_json(w workspaces) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', w.id, 'name', w.name, 'currency', w.currency,
        'fiscal_year_start_month', w.fiscal_year_start_month, 'timezone', w.timezone,
        'snapshot_schedule', w.snapshot_schedule, 'snapshot_hour', w.snapshot_hour,
        'snapshot_keep_daily_days', w.snapshot_keep_daily_days,
        'snapshot_keep_weekly_days', w.snapshot_keep_weekly_days,
        'created_at', rfc3339(w.created_at), 'updated_at', rfc3339(w.updated_at)) $$;

-- sums of bigint cents are numeric
CREATE OR REPLACE FUNCTION money_json(cents numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT round(cents / 100, 2) $$;

CREATE TABLE snapshots (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    label        text NOT NULL CHECK (length(label) BETWEEN 1 AND 200),
    kind         text NOT NULL DEFAULT 'manual' CHECK (kind IN ('manual', 'daily', 'weekly')),
    slot         date,                     -- scheduled snapshots: the day or week they stand for
    as_of        timestamptz NOT NULL,
    period       text NOT NULL,            -- the fiscal quarter holding as_of
    period_start date NOT NULL,
    period_end   date NOT NULL,            -- exclusive
    summary      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
-- exactly one scheduled snapshot per workspace, schedule and slot, whatever the number of daemons
CREATE UNIQUE INDEX snapshots_one_per_slot ON snapshots (workspace_id, kind, slot) WHERE slot IS NOT NULL;
CREATE INDEX snapshots_by_time ON snapshots (workspace_id, created_at DESC, id);

CREATE TABLE snapshot_deals (
    snapshot_id         uuid NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    workspace_id        uuid NOT NULL,
    deal_id             text NOT NULL,
    name                text NOT NULL,
    amount_cents        bigint NOT NULL,
    stage               text,
    stage_order         integer,
    status              text NOT NULL,
    forecast_category   text,
    probability         numeric NOT NULL,
    weighted_cents      bigint NOT NULL,
    expected_close_date date,
    owner               text,
    segment             text,
    account             text,
    closed_at           timestamptz,
    PRIMARY KEY (snapshot_id, deal_id)
);

-- Capture in one statement: every open deal plus the deals closed inside the
-- period, with the default funnel's stage probability when the deal has no
-- override (weighted = amount x p, rounded half away from zero per deal),
-- and the summary. Returns the new id, or NULL when a scheduled slot is
-- already taken.
CREATE FUNCTION snapshot_take(ws uuid, p_label text, p_as_of timestamptz, p_kind text, p_slot date,
                              p_period text, p_start date, p_end date) RETURNS uuid
    LANGUAGE plpgsql
    AS $$
DECLARE
    sid uuid;
BEGIN
    WITH fs AS (
        SELECT x.e ->> 'key' AS key, (x.e ->> 'probability')::numeric AS p, x.n::int AS n
        FROM funnels f, jsonb_array_elements(f.document -> 'stages') WITH ORDINALITY AS x(e, n)
        WHERE f.workspace_id = ws AND f.is_default AND f.deleted_at IS NULL),
    src AS (
        SELECT d.external_id, d.name, COALESCE(d.amount_cents, 0) AS amount_cents, d.stage, fs.n AS stage_order,
               d.status, d.forecast_category,
               CASE d.status WHEN 'won' THEN 1 WHEN 'lost' THEN 0 ELSE COALESCE(d.probability, fs.p, 0) END AS p,
               d.expected_close_date, d.owner, d.segment, d.account, d.closed_at
        FROM deals d LEFT JOIN fs ON fs.key = d.stage
        WHERE d.workspace_id = ws AND d.deleted_at IS NULL
          AND (d.status = 'open' OR (d.closed_at >= p_start::timestamptz AND d.closed_at < p_end::timestamptz))),
    w AS (SELECT *, round(amount_cents * p)::bigint AS weighted FROM src),
    quota AS (
        SELECT sum((r.quotas ->> p_period)::bigint) AS cents
        FROM reps r WHERE r.workspace_id = ws AND r.deleted_at IS NULL AND r.quotas ? p_period),
    agg AS (
        SELECT jsonb_build_object(
            'open_deals', count(*) FILTER (WHERE status = 'open'),
            'closed_deals', count(*) FILTER (WHERE status <> 'open'),
            'total', money_json(COALESCE(sum(amount_cents) FILTER (WHERE status = 'open'), 0)),
            'weighted', money_json(COALESCE(sum(weighted) FILTER (WHERE status = 'open'), 0)),
            'in_period', money_json(COALESCE(sum(amount_cents) FILTER (WHERE status = 'open' AND expected_close_date < p_end), 0)),
            'weighted_in_period', money_json(COALESCE(sum(weighted) FILTER (WHERE status = 'open' AND expected_close_date < p_end), 0)),
            'closed_won', money_json(COALESCE(sum(amount_cents) FILTER (WHERE status = 'won'), 0)),
            'quota', (SELECT money_json(cents) FROM quota),
            -- coverage: open pipeline closing this period / (quota - already won)
            'coverage', CASE WHEN (SELECT cents FROM quota) > COALESCE(sum(amount_cents) FILTER (WHERE status = 'won'), 0)
                THEN round(COALESCE(sum(amount_cents) FILTER (WHERE status = 'open' AND expected_close_date < p_end), 0)::numeric
                           / ((SELECT cents FROM quota) - COALESCE(sum(amount_cents) FILTER (WHERE status = 'won'), 0)), 4) END,
            'by_stage', (SELECT COALESCE(jsonb_agg(jsonb_build_object('stage', stage, 'deals', c, 'amount', money_json(a),
                                         'weighted', money_json(wt)) ORDER BY o NULLS LAST, stage), '[]')
                         FROM (SELECT stage, min(stage_order) o, count(*) c, sum(amount_cents) a, sum(weighted) wt
                               FROM w WHERE status = 'open' GROUP BY stage) s),
            'by_category', (SELECT COALESCE(jsonb_agg(jsonb_build_object('category', cat, 'deals', c, 'amount', money_json(a),
                                         'weighted', money_json(wt)) ORDER BY cat), '[]')
                         FROM (SELECT COALESCE(forecast_category, 'pipeline') cat, count(*) c, sum(amount_cents) a,
                                      sum(weighted) wt FROM w WHERE status = 'open' GROUP BY 1) s),
            'by_owner', (SELECT COALESCE(jsonb_agg(jsonb_build_object('owner', owner, 'deals', c, 'amount', money_json(a),
                                         'weighted', money_json(wt)) ORDER BY owner NULLS FIRST), '[]')
                         FROM (SELECT owner, count(*) c, sum(amount_cents) a, sum(weighted) wt
                               FROM w WHERE status = 'open' GROUP BY owner) s)) AS summary
        FROM w),
    ins AS (
        INSERT INTO snapshots (workspace_id, label, kind, slot, as_of, period, period_start, period_end, summary)
        SELECT ws, p_label, p_kind, p_slot, p_as_of, p_period, p_start, p_end, agg.summary FROM agg
        ON CONFLICT (workspace_id, kind, slot) WHERE slot IS NOT NULL DO NOTHING
        RETURNING id),
    rows AS (
        INSERT INTO snapshot_deals (snapshot_id, workspace_id, deal_id, name, amount_cents, stage, stage_order, status,
                                    forecast_category, probability, weighted_cents, expected_close_date, owner,
                                    segment, account, closed_at)
        SELECT ins.id, ws, w.external_id, w.name, w.amount_cents, w.stage, w.stage_order, w.status,
               w.forecast_category, w.p, w.weighted, w.expected_close_date, w.owner, w.segment, w.account, w.closed_at
        FROM ins, w)
    SELECT id INTO sid FROM ins;
    RETURN sid;
END $$;

CREATE FUNCTION snapshot_json(s snapshots) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', s.id, 'label', s.label, 'kind', s.kind, 'slot', s.slot,
        'as_of', rfc3339(s.as_of), 'period', s.period, 'period_start', s.period_start,
        'period_end', s.period_end - 1, 'summary', s.summary, 'created_at', rfc3339(s.created_at)) $$;

CREATE FUNCTION snapshot_deal_json(d snapshot_deals) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('deal', d.deal_id, 'name', d.name, 'amount', money_json(d.amount_cents),
        'stage', d.stage, 'status', d.status, 'forecast_category', d.forecast_category,
        'probability', d.probability, 'weighted', money_json(d.weighted_cents),
        'expected_close_date', d.expected_close_date, 'owner', d.owner, 'segment', d.segment,
        'account', d.account, 'closed_at', rfc3339(d.closed_at)) $$;

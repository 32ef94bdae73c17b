-- 0006_forecasts.sql - stored forecasts: what the engine said, when, with which inputs.

CREATE TABLE forecasts (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id   uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    period         text NOT NULL,
    period_start   date NOT NULL,
    period_end     date NOT NULL,
    method         text NOT NULL CHECK (method IN ('weighted', 'category', 'historical')),
    funnel_id      uuid,
    funnel_version integer,
    as_of          date NOT NULL,
    request        jsonb NOT NULL,
    result         jsonb NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX forecasts_by_time ON forecasts (workspace_id, created_at DESC, id);
CREATE INDEX forecasts_by_period ON forecasts (workspace_id, period_start, method);

CREATE FUNCTION forecast_json(f forecasts) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', f.id, 'period', f.period, 'method', f.method,
        'funnel_id', f.funnel_id, 'funnel_version', f.funnel_version, 'as_of', f.as_of,
        'request', f.request, 'created_at', rfc3339(f.created_at)) || f.result $$;

-- 0009_forecast_submissions.sql - people's forecast calls, kept beside the engine's
-- forecast they answer, so the accuracy report can grade reps and managers too.

CREATE TABLE forecast_submissions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    forecast_id     uuid NOT NULL REFERENCES forecasts (id) ON DELETE CASCADE,
    submitted_by    text NOT NULL,            -- a rep's external id (rep or manager)
    as_of           date NOT NULL,            -- the day the call was made
    commit_cents    bigint NOT NULL CHECK (commit_cents >= 0),
    best_case_cents bigint CHECK (best_case_cents >= commit_cents),
    pipeline_cents  bigint CHECK (pipeline_cents >= 0),
    upside_cents    bigint CHECK (upside_cents >= 0),
    override_cents  bigint CHECK (override_cents >= 0),
    note            text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX forecast_submissions_by_forecast ON forecast_submissions (workspace_id, forecast_id, created_at, id);

-- The call the accuracy report grades: the override when one was given, else commit
-- (the seed's "base forecast").
CREATE FUNCTION forecast_submission_json(s forecast_submissions) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT jsonb_build_object('id', s.id, 'forecast_id', s.forecast_id, 'submitted_by', s.submitted_by,
        'as_of', s.as_of, 'commit', money_json(s.commit_cents), 'best_case', money_json(s.best_case_cents),
        'pipeline', money_json(s.pipeline_cents), 'upside', money_json(s.upside_cents),
        'override', money_json(s.override_cents), 'call', money_json(COALESCE(s.override_cents, s.commit_cents)),
        'note', s.note, 'created_at', rfc3339(s.created_at)) $$;

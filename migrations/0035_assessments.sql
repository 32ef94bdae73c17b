-- 0035_assessments.sql - stored RevOps maturity assessments (issue 21): the
-- request (the seed's revops-audit.yaml and the answers) and what was scored
-- from it and from the workspace's evidence at the time.
CREATE TABLE assessments (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    request      jsonb NOT NULL,
    result       jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX assessments_by_time ON assessments (workspace_id, created_at DESC, id);

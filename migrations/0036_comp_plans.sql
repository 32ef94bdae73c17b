-- 0036_comp_plans.sql - comp plans as versioned documents (issue 20). The
-- document (role, base and variable, components, rate table, SPIF, clawback,
-- payout frequency, reps) is kept as validated JSON with the design-rule
-- warnings it had when written; every update is a new version, and every
-- version is kept so a statement can name the one it paid on.
CREATE TABLE comp_plans (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    version      integer NOT NULL DEFAULT 1,
    document     jsonb NOT NULL,
    warnings     jsonb NOT NULL DEFAULT '[]',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comp_plans_by_workspace ON comp_plans (workspace_id, created_at, id);

CREATE TABLE comp_plan_versions (
    plan_id      uuid NOT NULL REFERENCES comp_plans (id) ON DELETE CASCADE,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    version      integer NOT NULL,
    name         text NOT NULL,
    document     jsonb NOT NULL,
    warnings     jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (plan_id, version)
);

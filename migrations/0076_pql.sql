-- 0076_pql.sql - product-qualified leads (issue 20, seed 001 "PLG + Sales
-- Hybrid Model", plg-sales-handoff.yaml): what the PQL definition and the
-- self-serve signals read of product usage, added to account_usage (every
-- column optional, so existing clients write as before), the workspace's
-- PQL definition (versioned), and the PQLs that entered the lead funnel: one
-- row per account, the key that makes that happen exactly once.
ALTER TABLE account_usage
    ADD COLUMN onboarding_completed   boolean,                                   -- the activation milestone reached
    ADD COLUMN active_users_7d        integer CHECK (active_users_7d >= 0),      -- distinct users of the 7 days to this one
    ADD COLUMN core_features          jsonb NOT NULL DEFAULT '[]',               -- names of the features used that day
    ADD COLUMN users_invited          integer CHECK (users_invited >= 0),        -- users an admin invited that day
    ADD COLUMN integrations_connected integer CHECK (integrations_connected >= 0),  -- connected at the end of the day
    ADD COLUMN shared_externally      boolean,                                   -- shared outside the company (by then)
    ADD COLUMN domain                 text CHECK (length(domain) BETWEEN 1 AND 253);  -- the workspace's email/web domain

-- The definition's thresholds as a document (defaults: the seed's); every
-- change is a new version, kept.
CREATE TABLE pql_definitions (
    workspace_id uuid PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    version      integer NOT NULL DEFAULT 1,
    document     jsonb NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pql_definition_versions (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    version      integer NOT NULL,
    document     jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, version)
);

-- An account's qualification as a PQL and the lead it became. The primary
-- key is the once: a re-evaluation, a redelivered usage batch, a restart or
-- a second instance inserts nothing (ON CONFLICT DO NOTHING waits for a
-- concurrent writer's commit) and so creates no second lead. No foreign key
-- to the lead: a PQL lead deleted later is not made again.
CREATE TABLE pqls (
    workspace_id       uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    account            text NOT NULL CHECK (length(account) BETWEEN 1 AND 200),
    lead_id            text NOT NULL,
    qualified_on       date NOT NULL,     -- the as-of date of the evaluation that qualified it
    definition_version integer NOT NULL,
    evidence           jsonb NOT NULL,    -- the criteria met, with their numbers and dates
    trigger            text NOT NULL CHECK (trigger IN ('usage', 'evaluate')),
    created_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, account)
);

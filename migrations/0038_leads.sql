-- 0038_leads.sql - the top of the funnel (issue 19): leads/contacts with their
-- lifecycle stage history and field change history (the deals' event-time rules),
-- activities/touchpoints, and versioned lead scoring models. Tables and indexes
-- only: the functions live in sql/74_leads.sql.

CREATE TABLE leads (
    workspace_id     uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    external_id      text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 200),
    email            text,
    name             text,
    company          text,
    title            text,
    seniority        text,
    persona          text,
    industry         text,
    company_size     integer CHECK (company_size >= 0),
    geography        text,
    icp_tier         text CHECK (icp_tier IN ('A', 'B', 'C', 'D')),
    original_source  text,
    latest_source    text,
    owner            text,
    account          text,
    lifecycle_stage  text CHECK (lifecycle_stage ~ '^[a-z][a-z0-9_]{0,63}$'),   -- a funnel stage key
    rejection_reason text,
    deals            jsonb NOT NULL DEFAULT '[]',   -- ids of the deals the lead is linked to
    custom           jsonb NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- server-maintained
    stage_entered_at timestamptz,
    field_changed_at jsonb NOT NULL DEFAULT '{}',  -- field -> when its current value was set (event time)
    inserted_at      timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz,
    PRIMARY KEY (workspace_id, external_id)
);
CREATE INDEX leads_by_updated ON leads (workspace_id, updated_at);
CREATE INDEX leads_by_stage ON leads (workspace_id, lifecycle_stage);
CREATE INDEX leads_by_owner ON leads (workspace_id, owner);
CREATE INDEX leads_by_account ON leads (workspace_id, account);
CREATE INDEX leads_by_email ON leads (workspace_id, lower(email));

CREATE TABLE lead_stage_history (
    id           bigserial PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    lead_id      text NOT NULL,
    stage        text NOT NULL,
    entered_at   timestamptz NOT NULL,
    origin       text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, external_id) ON DELETE CASCADE
);
CREATE INDEX lead_stage_history_lead ON lead_stage_history (workspace_id, lead_id, id);
CREATE INDEX lead_stage_history_stage ON lead_stage_history (workspace_id, stage, entered_at);

-- Every field change offered to a lead, applied or not (applied = false: older
-- than the field's last change, recorded and not applied).
CREATE TABLE lead_changes (
    id           bigserial PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    lead_id      text NOT NULL,
    field        text NOT NULL,
    old_value    jsonb,
    new_value    jsonb,
    changed_at   timestamptz NOT NULL,
    applied      boolean NOT NULL,
    origin       text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, external_id) ON DELETE CASCADE
);
CREATE INDEX lead_changes_lead ON lead_changes (workspace_id, lead_id, id);

-- Activities and marketing touchpoints. Idempotent by the caller's id: a
-- retry of the same id is answered with the stored row, never a second one.
-- lead/deal/account are ids of those objects, not foreign keys: touches often
-- arrive before the lead they belong to (webhooks, imports in any order).
CREATE TABLE activities (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    external_id  text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 200),
    type         text NOT NULL CHECK (type ~ '^[a-z][a-z_]{0,39}$'),
    occurred_at  timestamptz NOT NULL,
    lead_id      text,
    deal_id      text,
    account_id   text,
    rep          text,
    channel      text,
    campaign     text,
    session_id   text,
    url          text,
    custom       jsonb NOT NULL DEFAULT '{}',
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, external_id)
);
CREATE INDEX activities_by_time ON activities (workspace_id, occurred_at, external_id);
CREATE INDEX activities_by_lead ON activities (workspace_id, lead_id, occurred_at) WHERE lead_id IS NOT NULL;
CREATE INDEX activities_by_deal ON activities (workspace_id, deal_id, occurred_at) WHERE deal_id IS NOT NULL;
CREATE INDEX activities_by_account ON activities (workspace_id, account_id, occurred_at) WHERE account_id IS NOT NULL;
CREATE INDEX activities_by_rep ON activities (workspace_id, rep, occurred_at) WHERE rep IS NOT NULL;

-- Lead scoring models, versioned like funnels: the document is the validated,
-- normalised JSON; every update is a new version.
CREATE TABLE scoring_models (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    is_default   boolean NOT NULL DEFAULT false,
    version      integer NOT NULL DEFAULT 1,
    document     jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz
);
CREATE UNIQUE INDEX scoring_models_one_default ON scoring_models (workspace_id) WHERE is_default AND deleted_at IS NULL;
CREATE INDEX scoring_models_by_workspace ON scoring_models (workspace_id, created_at, id);

CREATE TABLE scoring_model_versions (
    model_id     uuid NOT NULL REFERENCES scoring_models (id) ON DELETE CASCADE,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    version      integer NOT NULL,
    name         text NOT NULL,
    document     jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, version)
);

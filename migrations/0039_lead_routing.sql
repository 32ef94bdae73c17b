-- 0039_lead_routing.sql - lead routing (issue 19): the workspace's routing rules
-- document (versioned), round-robin pool counters (the state every instance
-- shares, so rotation is fair across instances), and every assignment made,
-- with its escalation. Also the index attribution uses to find a deal's leads.

CREATE INDEX leads_by_deal ON leads USING gin (deals);

CREATE TABLE routing_rules (
    workspace_id uuid PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    version      integer NOT NULL DEFAULT 1,
    document     jsonb NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE routing_rule_versions (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    version      integer NOT NULL,
    document     jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, version)
);

-- One counter per pool: each assignment takes the next value under the row's
-- lock, whichever instance serves it.
CREATE TABLE routing_pool_state (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    pool         text NOT NULL,
    counter      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (workspace_id, pool)
);

CREATE TABLE lead_assignments (
    id                bigserial PRIMARY KEY,
    workspace_id      uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    lead_id           text NOT NULL,
    rule              text,              -- NULL: the fallback
    route_to          text NOT NULL,
    assignee          text,              -- NULL: a queue
    queue             text,
    sla_minutes       numeric,
    routed_at         timestamptz NOT NULL DEFAULT now(),
    escalate_minutes  numeric,           -- NULL: no escalation
    escalated_at      timestamptz,       -- set once, by the first instance that escalates it
    escalated_to      text,
    FOREIGN KEY (workspace_id, lead_id) REFERENCES leads (workspace_id, external_id) ON DELETE CASCADE
);
CREATE INDEX lead_assignments_lead ON lead_assignments (workspace_id, lead_id, id);
CREATE INDEX lead_assignments_open ON lead_assignments (workspace_id, routed_at)
    WHERE escalated_at IS NULL AND assignee IS NOT NULL;

-- Alerts out (issue 23): rules, their signed-webhook destinations, the state
-- of each rule x subject (an alert is raised on a transition only), the
-- alerts themselves (one per occurrence: the unique key), the outbox of
-- deliveries and every attempt.

CREATE TABLE alert_rules (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind         text NOT NULL CHECK (kind IN ('stale_deal', 'deal_pushed', 'deal_moved_back', 'amount_change',
                                               'routing_escalation', 'renewal_due')),
    params       jsonb NOT NULL DEFAULT '{}',
    filter       jsonb NOT NULL DEFAULT '{}',
    enabled      boolean NOT NULL DEFAULT true,
    version      integer NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz
);
CREATE INDEX alert_rules_ws ON alert_rules (workspace_id, created_at, id);

-- A destination's secret is the whsec_ text the sender signs with (it must
-- sign, so it cannot be stored as a hash); previous_secret is the one a
-- rotation replaced, still signed with until previous_until.
CREATE TABLE alert_destinations (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    rule_id         uuid NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    url             text NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
    secret          text NOT NULL,
    previous_secret text,
    previous_until  timestamptz,
    disabled_at     timestamptz,
    disabled_reason text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz
);
CREATE INDEX alert_destinations_rule ON alert_destinations (rule_id, created_at, id);

CREATE TABLE alert_state (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    rule_id      uuid NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    subject      text NOT NULL,
    active       boolean NOT NULL,
    occurrence   text NOT NULL,
    changed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (rule_id, subject)
);

CREATE TABLE alerts (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    rule_id      uuid NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
    kind         text NOT NULL,
    subject      text NOT NULL,
    occurrence   text NOT NULL,
    deal_id      text,
    account_id   text,
    rep_id       text,
    lead_id      text,
    summary      text NOT NULL,
    data         jsonb NOT NULL DEFAULT '{}',
    raised_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (rule_id, occurrence)
);
CREATE INDEX alerts_ws_raised ON alerts (workspace_id, raised_at DESC, id DESC);
CREATE INDEX alerts_deal ON alerts (workspace_id, deal_id) WHERE deal_id IS NOT NULL;
CREATE INDEX alerts_account ON alerts (workspace_id, account_id) WHERE account_id IS NOT NULL;
CREATE INDEX alerts_rep ON alerts (workspace_id, rep_id) WHERE rep_id IS NOT NULL;

CREATE TABLE alert_deliveries (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id    uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    alert_id        uuid NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    destination_id  uuid NOT NULL REFERENCES alert_destinations (id) ON DELETE CASCADE,
    state           text NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'delivered', 'failed', 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status     integer,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    UNIQUE (alert_id, destination_id)
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX alert_deliveries_ws ON alert_deliveries (workspace_id, created_at DESC, id DESC);

CREATE TABLE alert_attempts (
    id           bigserial PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    delivery_id  uuid NOT NULL REFERENCES alert_deliveries (id) ON DELETE CASCADE,
    attempt      integer NOT NULL,
    attempted_at timestamptz NOT NULL DEFAULT now(),
    status       integer,
    error        text,
    duration_ms  integer
);
CREATE INDEX alert_attempts_delivery ON alert_attempts (delivery_id, id);

-- What the event signals read each pass: recent amount changes, stage moves and escalations.
CREATE INDEX deal_stage_history_recorded ON deal_stage_history (workspace_id, recorded_at);
CREATE INDEX deal_changes_amount_recorded ON deal_changes (workspace_id, recorded_at) WHERE field = 'amount';
CREATE INDEX lead_assignments_escalated ON lead_assignments (workspace_id, escalated_at) WHERE escalated_at IS NOT NULL;

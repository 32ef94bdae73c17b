-- 0037_account_health.sql - what account health and expansion signals read
-- (issue 20): product usage per account and day, support tickets with CSAT,
-- NPS responses; a rep's fully loaded cost (scorecard efficiency) and an
-- account's last price increase (the seed's "12 months since last price
-- increase" expansion signal).
ALTER TABLE reps ADD COLUMN fully_loaded_cost_cents bigint CHECK (fully_loaded_cost_cents >= 0);  -- a year
ALTER TABLE accounts ADD COLUMN last_price_increase date;

-- One row per account and day; a later write of the same day replaces it.
CREATE TABLE account_usage (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    account      text NOT NULL CHECK (length(account) BETWEEN 1 AND 200),
    day          date NOT NULL,
    seats_used   integer CHECK (seats_used >= 0),
    seats_limit  integer CHECK (seats_limit >= 0),
    active_users integer CHECK (active_users >= 0),
    api_calls    bigint CHECK (api_calls >= 0),
    departments  jsonb NOT NULL DEFAULT '[]',       -- names of the teams active that day
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, account, day)
);

CREATE TABLE support_tickets (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    external_id  text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 200),
    account      text NOT NULL CHECK (length(account) BETWEEN 1 AND 200),
    opened_at    date NOT NULL,
    closed_at    date CHECK (closed_at >= opened_at),
    priority     text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    csat         smallint CHECK (csat BETWEEN 1 AND 5),
    department   text CHECK (length(department) <= 200),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, external_id)
);
CREATE INDEX support_tickets_by_account ON support_tickets (workspace_id, account, opened_at);

CREATE TABLE nps_responses (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    account      text NOT NULL CHECK (length(account) BETWEEN 1 AND 200),
    responded_on date NOT NULL,
    score        smallint NOT NULL CHECK (score BETWEEN 0 AND 10),
    contact      text CHECK (length(contact) <= 320),
    comment      text NOT NULL DEFAULT '' CHECK (length(comment) <= 2000),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX nps_responses_by_account ON nps_responses (workspace_id, account, responded_on);

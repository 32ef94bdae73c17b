-- 0049_account_usage_firsts.sql - what account health needs of the whole
-- usage history, kept as it is written (issue 20's goal: health for 10,000
-- accounts over a year of daily usage <= 2 s).
--
-- account_health_inputs read every usage row before as_of for three things:
-- which accounts have usage, whether an account had usage before the last
-- 30 days, and which departments it had before them (a department is new
-- when its first day is in the last 30 days). For 10,000 accounts x 365 days
-- that was a sort of 3.65M keys and, per account, its 335 older rows with
-- their departments expanded: 30 s on the bench. Each account's first usage
-- day and each (account, department)'s first day answer all three exactly
-- for any as_of; account_usage_store (sql/72_reps.sql), the one writer of
-- account_usage, keeps them.
CREATE TABLE account_usage_span (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    account      text NOT NULL,
    first_day    date NOT NULL,  -- the account's earliest usage day
    PRIMARY KEY (workspace_id, account)
);

CREATE TABLE account_usage_departments (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    account      text NOT NULL,
    department   text NOT NULL,
    first_day    date NOT NULL,  -- the earliest usage day whose departments hold it
    PRIMARY KEY (workspace_id, account, department)
);

INSERT INTO account_usage_span (workspace_id, account, first_day)
SELECT workspace_id, account, min(day) FROM account_usage GROUP BY workspace_id, account;

INSERT INTO account_usage_departments (workspace_id, account, department, first_day)
SELECT u.workspace_id, u.account, d.name, min(u.day)
FROM account_usage u, jsonb_array_elements_text(u.departments) d(name)
GROUP BY u.workspace_id, u.account, d.name;

-- The recent windows (the 60 days before as_of) by day: a range of the
-- index instead of every row of the workspace.
CREATE INDEX account_usage_by_day ON account_usage (workspace_id, day);

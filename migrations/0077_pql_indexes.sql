-- 0077_pql_indexes.sql - what GET /v1/pqls and the usage write's PQL check
-- read without scanning a year of daily usage per account (issue 20): the
-- accounts with usage in a window of days (by day), and the sparse facts
-- read over all of an account's history (the first day onboarding was
-- completed or the workspace shared externally, the users invited, the
-- latest integrations and domain reported), each a partial index holding
-- only the days that report it.
-- 0049 made account_usage_by_day on (workspace_id, day) for account health;
-- with the account as well it serves both
DROP INDEX account_usage_by_day;
CREATE INDEX account_usage_by_day ON account_usage (workspace_id, day, account);
CREATE INDEX account_usage_onboarded ON account_usage (workspace_id, account, day) WHERE onboarding_completed;
CREATE INDEX account_usage_shared ON account_usage (workspace_id, account, day) WHERE shared_externally;
CREATE INDEX account_usage_invited ON account_usage (workspace_id, account, day) INCLUDE (users_invited)
    WHERE users_invited > 0;
CREATE INDEX account_usage_integrations ON account_usage (workspace_id, account, day) INCLUDE (integrations_connected)
    WHERE integrations_connected IS NOT NULL;
CREATE INDEX account_usage_domain ON account_usage (workspace_id, account, day) INCLUDE (domain)
    WHERE domain IS NOT NULL;

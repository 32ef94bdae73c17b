-- Secondary indexes of deals (and subscriptions) led with workspace_id, like
-- the primary key (workspace_id, external_id). Before a table has statistics
-- (a new install, a first import) the planner rates them equal for a
-- primary-key lookup and took deals_by_owner with external_id as a filter:
-- every deal write, and every foreign-key check from deal_changes and
-- deal_stage_history, scanned all of the workspace's deals. The CRM sample
-- took minutes to import and a webhook storm on a new install ran at a few
-- hundred events per second. Leading with the filtered column keeps these
-- indexes for their list filters and leaves the lookup to the primary key.
DROP INDEX deals_by_owner;
DROP INDEX deals_by_stage;
DROP INDEX deals_by_updated;
CREATE INDEX deals_by_owner ON deals (owner, workspace_id);
CREATE INDEX deals_by_stage ON deals (stage, workspace_id);
CREATE INDEX deals_by_updated ON deals (updated_at, workspace_id);
DROP INDEX subscriptions_account;
CREATE INDEX subscriptions_account ON subscriptions (account, workspace_id);

-- 0013's fix, for leads: with (workspace_id, x) secondary indexes, a new
-- install's first lead writes (no statistics yet) planned the foreign-key
-- checks of lead_changes and lead_stage_history (SELECT 1 FROM leads WHERE
-- workspace_id = $1 AND external_id = $2 FOR KEY SHARE) on leads_by_email
-- with external_id as a filter, reading every lead of the workspace per
-- check; a backend keeps that plan. Measured on a freshly migrated database:
-- lead_apply_many of 3,000 new leads 7.6 s (2.5 ms a lead, growing with the
-- workspace; 10,000 took 78 s), 0.2 ms a lead once statistics existed.
-- Leading with the filtered column keeps the list filters (stage, owner,
-- account, email, updated since) and leaves lookups to the primary key.
DROP INDEX leads_by_updated;
DROP INDEX leads_by_stage;
DROP INDEX leads_by_owner;
DROP INDEX leads_by_account;
DROP INDEX leads_by_email;
CREATE INDEX leads_by_updated ON leads (updated_at, workspace_id);
CREATE INDEX leads_by_stage ON leads (lifecycle_stage, workspace_id);
CREATE INDEX leads_by_owner ON leads (owner, workspace_id);
CREATE INDEX leads_by_account ON leads (account, workspace_id);
CREATE INDEX leads_by_email ON leads (lower(email), workspace_id);

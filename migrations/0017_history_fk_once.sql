-- History and event rows each checked the same workspace twice: once through
-- their own workspace key and once through the row they hang from (the deal,
-- the delivery), which already belongs to that workspace and already cascades
-- a workspace's or an endpoint's deletion to them. With writes set-based
-- (0016), these per-row checks were 18% of webhook ingest's PostgreSQL time in
-- perf; the key that names the parent row is the one kept.
ALTER TABLE deal_changes DROP CONSTRAINT deal_changes_workspace_id_fkey;
ALTER TABLE deal_stage_history DROP CONSTRAINT deal_stage_history_workspace_id_fkey;
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_workspace_id_fkey;
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_endpoint_id_fkey;

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


-- Looking an incoming event's identity up (workspace_id, endpoint_id,
-- dedupe_key) could go through three indexes that start with those columns;
-- without statistics the planner rated them equal and took the smallest, the
-- event list's (workspace_id, endpoint_id, seq), reading every event of the
-- endpoint for each lookup (perf: 70% of a single-event delivery's time once a
-- few thousand events were stored). As in 0013, the list index now leads with
-- its own column (the list reads it newest first, checking the workspace and
-- endpoint in the index), leaving the lookup to the dedupe key's unique index.
DROP INDEX webhook_events_list;
DROP INDEX webhook_events_by_endpoint;
CREATE INDEX webhook_events_list ON webhook_events (seq, workspace_id, endpoint_id);

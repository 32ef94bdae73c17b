-- The stage history's per-deal index in time order, with the stage: the
-- pipeline rebuilt at a day (deals_as_of, sql/50_snapshots.sql) asks every
-- deal for its last stage entry before that day (ORDER BY entered_at DESC,
-- id DESC LIMIT 1). On (workspace_id, deal_id, id) each lookup read and
-- sorted the deal's entries: 1.0 s for 53,000 deals of a 250,000-deal
-- workspace, 0.51-0.59 s with this index (measured under the same load). It
-- replaces the old index, whose (workspace_id, deal_id) prefix it keeps for
-- the per-deal lookups and the foreign key, so a stage change still writes
-- one index entry besides the primary key.
CREATE INDEX deal_stage_history_deal_entered ON deal_stage_history (workspace_id, deal_id, entered_at, id)
    INCLUDE (stage);
DROP INDEX deal_stage_history_deal;

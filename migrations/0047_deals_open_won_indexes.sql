-- The forecast's live deals (server/fcprep.c load_live) are a workspace's
-- open deals in id order and the deals won in a period. On the primary key
-- both read every deal of the workspace: 250,000 index and heap entries for
-- the 100,000 open deals of the bench's learned-forecast workspace, ~100 ms
-- of a warm POST /v1/forecasts; through the partial index of open deals,
-- ~30 ms. The won deals by close date serve every "won in [from, to)" sum
-- (forecasts' won to date, the dashboard, attainment, comp). Each partial
-- index holds only its deals, so writes to the other deals pay only the
-- predicate test.
CREATE INDEX deals_open ON deals (workspace_id, external_id) WHERE status = 'open' AND deleted_at IS NULL;
CREATE INDEX deals_won_by_close ON deals (workspace_id, closed_at) WHERE status = 'won';

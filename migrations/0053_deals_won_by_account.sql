-- An account's won deals by close date. CAC by channel (server/chancac.c)
-- counts a won deal as a new customer when no earlier won deal of its account
-- exists; that NOT EXISTS is a subplan per won deal (its OR with "no account"
-- keeps it from becoming an anti-join), and through deals_won_by_close it
-- read every earlier won deal of the workspace for each one: the demo's
-- dashboard on a fresh, never-analysed database hit the 5 s statement
-- timeout in the future-clock run of test_import demo_load_cli. Here each
-- probe reads only the account's own won deals.
CREATE INDEX deals_won_by_account ON deals (workspace_id, account, closed_at) WHERE status = 'won' AND deleted_at IS NULL;

-- gen_alerts.sql - a deterministic workspace for the alert evaluation
-- benchmark (make bench, scripts/bench-alerts.sh): in workspace :'ws', 100
-- reps (each with a quota for the current calendar quarter, for coverage), 10,000 accounts (a territory and segment each), one subscription per
-- account renewing within the next year, usage of each account on four days, and 100,000 deals, 80% open: a
-- third untouched for 15-60 days (stale), every 7th pushed, amounts spread.
-- Inserted directly: the evaluation's read path is what is measured.
INSERT INTO reps (workspace_id, external_id, name, quotas)
SELECT :'ws', 'rep' || g, 'Rep ' || g,
       jsonb_build_object(to_char(now(), 'YYYY') || '-Q' || to_char(now(), 'Q'), (2000000 + g * 100000) * 100)
FROM generate_series(0, 99) g;

INSERT INTO accounts (workspace_id, external_id, name, owner, segment, territory)
SELECT :'ws', 'a' || g, 'Account ' || g, 'rep' || (g % 100),
       (ARRAY['smb', 'mid_market', 'enterprise'])[1 + g % 3], (ARRAY['west', 'east', 'north', 'south'])[1 + g % 4]
FROM generate_series(1, 10000) g;

INSERT INTO subscriptions (workspace_id, external_id, account, arr_cents, start_date, renewal_date)
SELECT :'ws', 's' || g, 'a' || g, (5000 + (g * 7919) % 95000) * 100, (now() - interval '300 days')::date,
       (now() + ((g * 37) % 365 + 1) * interval '1 day')::date
FROM generate_series(1, 10000) g;

INSERT INTO deals (workspace_id, external_id, name, amount_cents, stage, status, expected_close_date, created_at,
                   closed_at, stage_entered_at, owner, account, segment, push_count)
SELECT :'ws', 'd' || g, 'Deal ' || g, (1000 + (g * 7919) % 40000) * 100,
       CASE WHEN g % 10 = 0 THEN 'closed_won' WHEN g % 10 = 1 THEN 'closed_lost' ELSE 'proposal' END,
       CASE WHEN g % 10 = 0 THEN 'won' WHEN g % 10 = 1 THEN 'lost' ELSE 'open' END,
       (now() + ((g % 180) - 30) * interval '1 day')::date,
       now() - (15 + g % 46) * interval '1 day' - CASE WHEN g % 3 = 0 THEN interval '0' ELSE interval '300 days' END,
       CASE WHEN g % 10 IN (0, 1) THEN now() - ((g * 11) % 30) * interval '1 day' END,
       now() - CASE WHEN g % 3 = 0 THEN (15 + g % 46) ELSE g % 10 END * interval '1 day',
       'rep' || (g % 100), 'a' || (1 + (g * 7) % 10000), (ARRAY['smb', 'mid_market', 'enterprise'])[1 + g % 3],
       CASE WHEN g % 7 = 0 THEN 1 + g % 3 ELSE 0 END
FROM generate_series(1, 100000) g;
-- usage on four days of each account (the two 30-day windows account health
-- reads): 10-100 seats of 100, active users 60-140 after 100, so some
-- accounts are at risk (account_at_risk) and some near their limit
-- (expansion_signal)
INSERT INTO account_usage (workspace_id, account, day, seats_used, seats_limit, active_users, api_calls, departments)
SELECT :'ws', 'a' || g, (now() - d * interval '1 day')::date, 10 + (g * 13) % 91, 100,
       CASE WHEN d > 30 THEN 100 ELSE 60 + (g * 17) % 81 END, 1000 + (g * 31) % 5000, '["sales"]'
FROM generate_series(1, 10000) g, unnest(ARRAY[45, 40, 10, 5]) d;
ANALYZE reps, accounts, subscriptions, deals, account_usage;

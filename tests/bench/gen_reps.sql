-- gen_reps.sql - a deterministic workspace for issue 20's two speed goals
-- (make bench, scripts/bench-reps.sh), in workspace :'ws'. psql variables:
--   cq     the comp statement's quarter label (2026-Q3), cs / ce its first day
--          and the day after its last (YYYY-MM-DD)
--   asof   the day health is judged at (today), hq_s / hq_e the at-risk
--          quarter's first day and the day after its last
-- Comp: 1,000 AE reps, each with a quota for :cq and the quarter before it;
-- 100,000 deals (half won, spread over :cq and the quarter before it so the
-- clawback window reads both; the others open or lost, created over the same
-- half year), 2,000 accounts owned by the reps with expansion / contraction
-- movements and churns (some within 90 days of a win: clawed back).
-- Health: 10,000 accounts (h1..h10000) with 365 days of usage each before
-- :asof (3.65M rows), support tickets with CSAT, NPS responses and one
-- subscription each, 90% renewing in the at-risk quarter. Every 10th account
-- declines over its last 30 days (active users down ~40%, seats falling, low
-- CSAT, urgent tickets open, detractors), so ~10% are at risk; every 7th
-- grows (a new department, API calls up): the expansion rules fire too.
-- Inserted directly (the read paths are what is measured), no ANALYZE: the
-- plans must not depend on fresh statistics (the script analyses afterwards
-- and measures both).
SELECT setseed(0.2020) \gset

-- ---- comp --------------------------------------------------------------------
INSERT INTO reps (workspace_id, external_id, name, role, manager, segment, quotas)
SELECT :'ws', 'r' || lpad(g::text, 4, '0'), 'Rep ' || g, 'ae', 'm' || (g % 50), 'mid_market',
       jsonb_build_object(:'cq', (150000 + (g * 7919) % 150000) * 100,
                          to_char((:'cs'::date - 1), 'YYYY') || '-Q' || to_char((:'cs'::date - 1), 'Q'),
                          (140000 + (g * 104729) % 150000) * 100)
FROM generate_series(1, 1000) g;

INSERT INTO accounts (workspace_id, external_id, name, owner, segment)
SELECT :'ws', 'c' || g, 'Customer ' || g, 'r' || lpad((1 + g % 1000)::text, 4, '0'), 'mid_market'
FROM generate_series(1, 2000) g;

-- g % 10 in 0..4 won, 5..6 lost, 7..9 open; the won ones close anywhere in
-- the half year [cs - 92 days, ce), at a random hour
INSERT INTO deals (workspace_id, external_id, name, amount_cents, stage, status, expected_close_date, created_at,
                   closed_at, stage_entered_at, owner, account, segment)
SELECT :'ws', 'd' || lpad(g::text, 6, '0'), 'Deal ' || g, amt,
       CASE WHEN g % 10 < 5 THEN 'closed_won' WHEN g % 10 < 7 THEN 'closed_lost' ELSE 'proposal' END,
       CASE WHEN g % 10 < 5 THEN 'won' WHEN g % 10 < 7 THEN 'lost' ELSE 'open' END,
       (close_at + interval '20 days')::date, close_at - (10 + (g % 80)) * interval '1 day',
       CASE WHEN g % 10 < 7 THEN close_at END, close_at - interval '5 days',
       'r' || lpad((1 + (g * 31) % 1000)::text, 4, '0'), 'c' || (1 + (g * 13) % 2000), 'mid_market'
FROM (SELECT g, ((500 + floor(random() * 4500)::bigint) * 100) * CASE WHEN random() < 0.05 THEN 8 ELSE 1 END AS amt,
             ((:'cs'::date - 92)::timestamp AT TIME ZONE 'UTC')
                 + random() * (((:'ce'::date)::timestamp AT TIME ZONE 'UTC') - ((:'cs'::date - 92)::timestamp AT TIME ZONE 'UTC'))
                 AS close_at
      FROM generate_series(1, 100000) g) x;

INSERT INTO arr_events (workspace_id, account, event_date, kind, amount_cents)
SELECT :'ws', 'c' || (1 + floor(random() * 2000)::int), :'cs'::date - 92 + floor(random() * (:'ce'::date - :'cs'::date + 92))::int,
       CASE WHEN random() < 0.7 THEN 'expansion' ELSE 'contraction' END, (10 + floor(random() * 490)::int) * 100
FROM generate_series(1, 6000) g;
-- churns in the quarter: 200 customers (some closed a deal within 90 days before)
INSERT INTO arr_events (workspace_id, account, event_date, kind, amount_cents)
SELECT :'ws', 'c' || (g * 10), :'cs'::date + floor(random() * (:'ce'::date - :'cs'::date))::int, 'churn',
       (100 + floor(random() * 900)::int) * 100
FROM generate_series(1, 200) g;

-- ---- health ---------------------------------------------------------------------
-- per account: seats limit, base active users, departments, its trend
CREATE TEMP TABLE h_acct AS
SELECT g, 'h' || g AS account, 20 + floor(random() * 480)::int AS seats_limit, random() AS fill,
       CASE WHEN g % 10 = 3 THEN 'decline' WHEN g % 7 = 2 THEN 'grow' ELSE 'steady' END AS trend,
       (ARRAY['["sales"]', '["sales", "support"]', '["engineering", "sales", "support"]'])[1 + g % 3]::jsonb AS depts
FROM generate_series(1, 10000) g;

INSERT INTO accounts (workspace_id, external_id, name, owner, segment, last_price_increase)
SELECT :'ws', a.account, 'Health ' || a.g, 'r' || lpad((1 + a.g % 1000)::text, 4, '0'), 'mid_market',
       CASE WHEN a.g % 5 = 0 THEN :'asof'::date - (200 + a.g % 400) END
FROM h_acct a;

-- 365 days before :asof; d = days before it (1..365), stored oldest day first. Active users move
-- around 60% of the seats (x0.9-1.1 a day); a declining account loses ~40%
-- over its last 30 days, a growing one gains 30% and a department.
INSERT INTO account_usage (workspace_id, account, day, seats_used, seats_limit, active_users, api_calls, departments)
SELECT :'ws', a.account, :'asof'::date - d.d, seats, a.seats_limit, act,
       act * (40 + a.g % 60) * CASE WHEN a.trend = 'grow' AND d.d <= 30 THEN 13 ELSE 10 END / 10,
       CASE WHEN a.trend = 'grow' AND d.d <= 30 THEN a.depts || '["finance"]' ELSE a.depts END
FROM h_acct a
CROSS JOIN generate_series(1, 365) d(d)
CROSS JOIN LATERAL (
    SELECT greatest(1, round(a.seats_limit * (0.5 + 0.4 * a.fill)
                             * CASE WHEN a.trend = 'decline' AND d.d <= 30 THEN 0.6
                                    WHEN a.trend = 'grow' AND d.d <= 30 THEN 1.3 ELSE 1 END
                             * (0.9 + 0.2 * random())))::int AS act) u
CROSS JOIN LATERAL (
    SELECT least(a.seats_limit, greatest(u.act, round(a.seats_limit * (0.6 + 0.35 * a.fill)
                                     * CASE WHEN a.trend = 'decline' AND d.d <= 30 THEN 0.7 ELSE 1 END)::int))
           AS seats) s
-- as daily ingestion writes them: day by day, every account each day
ORDER BY d.d DESC, a.g;

-- what account_usage_store keeps as it writes (migration 0049)
INSERT INTO account_usage_span (workspace_id, account, first_day)
SELECT workspace_id, account, min(day) FROM account_usage WHERE workspace_id = :'ws' GROUP BY workspace_id, account;
INSERT INTO account_usage_departments (workspace_id, account, department, first_day)
SELECT u.workspace_id, u.account, d.name, min(u.day)
FROM account_usage u, jsonb_array_elements_text(u.departments) d(name)
WHERE u.workspace_id = :'ws'
GROUP BY u.workspace_id, u.account, d.name;

-- ~6 tickets a year each; a declining account's last ones rate 1-2 and two
-- urgent ones are still open
INSERT INTO support_tickets (workspace_id, external_id, account, opened_at, closed_at, priority, csat, department)
SELECT :'ws', 't' || a.g || '-' || k, a.account, o.opened,
       CASE WHEN a.trend = 'decline' AND k <= 2 THEN NULL ELSE o.opened + floor(random() * 5)::int END,
       CASE WHEN a.trend = 'decline' AND k <= 2 THEN 'urgent' WHEN random() < 0.1 THEN 'high'
            WHEN random() < 0.3 THEN 'low' ELSE 'normal' END,
       CASE WHEN random() < 0.2 THEN NULL
            WHEN a.trend = 'decline' AND o.opened >= :'asof'::date - 90 THEN 1 + floor(random() * 2)::int
            WHEN random() < 0.9 THEN 4 + floor(random() * 2)::int ELSE 3 END,
       CASE WHEN a.trend = 'grow' AND k = 1 THEN 'legal' ELSE a.depts ->> (k % jsonb_array_length(a.depts)) END
FROM h_acct a
CROSS JOIN generate_series(1, 6) k
CROSS JOIN LATERAL (SELECT :'asof'::date - CASE WHEN k <= 2 THEN 1 + floor(random() * 60)::int
                                             ELSE 1 + floor(random() * 364)::int END AS opened) o;

-- 2-3 NPS responses a year each: detractors for the declining accounts
INSERT INTO nps_responses (workspace_id, account, responded_on, score)
SELECT :'ws', a.account, :'asof'::date - (1 + ((a.g * 53 + k * 120) % 360)),
       CASE WHEN a.trend = 'decline' THEN floor(random() * 6)::int WHEN a.trend = 'grow' THEN 9 + floor(random() * 2)::int
            ELSE 7 + floor(random() * 4)::int END
FROM h_acct a
CROSS JOIN generate_series(1, 2 + a.g % 2) k;

-- one subscription each: 90% renew in the at-risk quarter, the rest after it
INSERT INTO subscriptions (workspace_id, external_id, account, arr_cents, start_date, end_date, renewal_date)
SELECT :'ws', 'sub' || a.g, a.account, (5000 + floor(random() * 95000)::int) * 100, r.renewal - 365, r.renewal,
       r.renewal
FROM h_acct a
CROSS JOIN LATERAL (SELECT CASE WHEN a.g % 10 = 9 THEN :'hq_e'::date + (a.g % 60)
                                ELSE :'hq_s'::date + (a.g * 37) % (:'hq_e'::date - :'hq_s'::date) END AS renewal) r;
DROP TABLE h_acct;

-- gen_leads.sql - a large, deterministic workspace for the top-of-funnel
-- benchmarks of issue 19 (make bench, scripts/bench-leads.sh): in workspace
-- :'ws', 320 reps (300 in three round-robin pools of 100 under 10 managers,
-- every 25th gone), 20,000 accounts (a quarter owned: the named accounts),
-- 100,000 leads over two years, 1,000,000 activities and 100,000 deals, a
-- third of them linked from a lead (leads.deals) and created 45 days after
-- it. Activities are the touches of a lead (900,000 after the lead's
-- creation, page views in three sessions a lead), of an account (60,000) and
-- of a deal (40,000), over eleven touch types and three rep types, eight
-- channels and 200 campaigns. Deals: half won, a fifth lost, in USD (5% in
-- EUR, which has no rate: converted at 1). Dates are relative to the start of today, values
-- come from random() after setseed, so every run builds the same data.
-- Inserted directly: the read paths (scoring, routing, attribution) are
-- what is measured. The routing rules (the seed's, over three pools of 100
-- of these reps) are PUT through the API by scripts/bench-leads.sh.
SELECT setseed(0.19) \gset

CREATE TEMP TABLE bench_t0 AS SELECT date_trunc('day', now()) AS t0;

INSERT INTO reps (workspace_id, external_id, name, role, manager, segment, end_date)
SELECT :'ws'::uuid, 'mgr' || g, 'Manager ' || g, 'manager', NULL, NULL, NULL FROM generate_series(0, 9) g
UNION ALL
SELECT :'ws'::uuid, 'rep' || lpad(g::text, 3, '0'), 'Rep ' || g, CASE WHEN g < 100 THEN 'ae' ELSE 'sdr' END,
       'mgr' || (g % 10), (ARRAY['enterprise', 'mid_market', 'smb'])[1 + g / 100],
       CASE WHEN g % 25 = 24 THEN (now() - interval '30 days')::date END
FROM generate_series(0, 299) g
UNION ALL
SELECT :'ws'::uuid, 'ops' || g, 'Marketing ops ' || g, NULL, NULL, NULL, NULL FROM generate_series(0, 9) g;

INSERT INTO accounts (workspace_id, external_id, name, industry, employees, owner, icp_tier, territory)
SELECT :'ws'::uuid, 'acc' || lpad(g::text, 5, '0'), 'Account ' || g,
       (ARRAY['software', 'fintech', 'healthcare', 'retail', 'manufacturing', 'media', 'education', 'logistics'])
           [1 + (g * 7) % 8],
       (ARRAY[8, 30, 120, 400, 900, 3000])[1 + (g * 13) % 6],
       CASE WHEN g % 4 = 0 THEN 'rep' || lpad(((g / 4) % 100)::text, 3, '0') END,
       (ARRAY['A', 'B', 'C', 'D'])[1 + (g * 11) % 4],
       (ARRAY['west', 'east', 'north', 'south'])[1 + g % 4]
FROM generate_series(1, 20000) g;

-- leads: created over the last 730 days; 30% at an account; a third linked to
-- a deal (ids spread over all deals, a few deals with two leads)
CREATE TEMP TABLE bench_leads AS
SELECT g, 'l' || lpad(g::text, 6, '0') AS id, (SELECT t0 FROM bench_t0) - (random() * 730) * interval '1 day' AS created,
       random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5
FROM generate_series(1, 100000) g;

INSERT INTO leads (workspace_id, external_id, email, name, company, title, seniority, persona, industry,
                   company_size, geography, icp_tier, original_source, latest_source, owner, account,
                   lifecycle_stage, deals, created_at, stage_entered_at)
SELECT :'ws'::uuid, b.id,
       'person' || b.g || '@' || CASE WHEN b.r1 < 0.02 THEN 'uni' || (b.g % 50) || '.edu'
                                      WHEN b.r1 < 0.10 THEN 'gmail.com'
                                      ELSE 'company' || (b.g % 20000) || '.com' END,
       'Person ' || b.g, 'Company ' || (b.g % 20000),
       (ARRAY['VP Marketing', 'Director of Sales', 'Marketing Manager', 'Software Engineer', 'CEO', 'Analyst',
              'Head of Growth', 'Student'])[1 + floor(b.r2 * 8)::int],
       (ARRAY['vp', 'director', 'manager', 'individual', 'c_level', 'individual', 'director', 'individual'])
           [1 + floor(b.r2 * 8)::int],
       (ARRAY['marketer', 'seller', 'marketer', 'engineer', 'executive', 'analyst', 'marketer', 'other'])
           [1 + floor(b.r2 * 8)::int],
       (ARRAY['software', 'fintech', 'healthcare', 'retail', 'manufacturing', 'media', 'education', 'logistics'])
           [1 + floor(b.r3 * 8)::int],
       (ARRAY[5, 20, 45, 60, 150, 300, 480, 700, 1500, 5000])[1 + floor(b.r4 * 10)::int],
       (ARRAY['US', 'US', 'UK', 'DE', 'FR', 'CA', 'IN', 'BR'])[1 + floor(b.r5 * 8)::int],
       CASE WHEN b.g % 5 = 0 THEN NULL ELSE (ARRAY['A', 'B', 'C', 'D'])[1 + (b.g * 3) % 4] END,
       (ARRAY['organic_search', 'paid_search', 'paid_social', 'email', 'events', 'direct', 'referral', 'partner'])
           [1 + (b.g * 5) % 8],
       (ARRAY['organic_search', 'paid_search', 'paid_social', 'email', 'events', 'direct', 'referral', 'partner'])
           [1 + (b.g * 7) % 8],
       CASE WHEN b.g % 10 = 0 THEN 'rep' || lpad((b.g % 300)::text, 3, '0') END,
       CASE WHEN b.g % 10 < 3 THEN 'acc' || lpad((1 + (b.g * 17) % 20000)::text, 5, '0') END,
       (ARRAY['known', 'known', 'known', 'known', 'mql', 'sal', 'sql', 'opportunity', 'closed_won', 'closed_lost'])
           [1 + (b.g * 3) % 10],
       CASE WHEN b.g % 3 = 0 THEN jsonb_build_array('d' || (1 + (b.g * 37) % 100000)) ELSE '[]' END,
       b.created, b.created
FROM bench_leads b;

-- activities: 900,000 on leads (about 9 a lead: a Poisson-like spread from
-- random(), after the lead's creation), 60,000 on accounts, 40,000 on deals
INSERT INTO activities (workspace_id, external_id, type, occurred_at, lead_id, deal_id, account_id, rep, channel,
                        campaign, session_id, url)
SELECT :'ws'::uuid, 'a' || lpad(s.n::text, 7, '0'), x.type,
       LEAST(b.created + (random() * 400) * interval '1 day', (SELECT t0 FROM bench_t0) - interval '1 minute'),
       b.id, NULL, NULL,
       CASE WHEN x.type IN ('call', 'meeting', 'email_sent') THEN 'rep' || lpad(((s.n * 31) % 300)::text, 3, '0') END,
       (ARRAY['organic_search', 'paid_search', 'paid_social', 'email', 'events', 'direct', 'referral', 'partner'])
           [1 + (s.n * 13) % 8],
       'cmp' || lpad(((s.n * 7) % 200)::text, 3, '0'),
       CASE WHEN x.type IN ('page_view', 'pricing_page_view') THEN b.id || '-s' || (s.n % 3) END,
       CASE WHEN x.type = 'pricing_page_view' THEN 'https://example.com/pricing' END
FROM (SELECT g AS n, 1 + floor(power(random(), 1.5) * 100000)::int AS lg, random() AS rt
      FROM generate_series(1, 900000) g) s
JOIN bench_leads b ON b.g = s.lg
CROSS JOIN LATERAL (SELECT (ARRAY['page_view', 'page_view', 'page_view', 'page_view', 'pricing_page_view',
                                  'content_download', 'webinar_attended', 'demo_request', 'email_open', 'email_open',
                                  'email_click', 'chatbot', 'form_submit', 'ad_click', 'event_attended', 'call',
                                  'meeting', 'email_sent', 'email_bounce', 'unsubscribe'])
                           [1 + floor(s.rt * 20)::int] AS type) x;

INSERT INTO activities (workspace_id, external_id, type, occurred_at, lead_id, deal_id, account_id, rep, channel,
                        campaign, session_id, url)
SELECT :'ws'::uuid, 'a' || lpad((900000 + g)::text, 7, '0'),
       (ARRAY['page_view', 'content_download', 'webinar_attended', 'email_open', 'ad_click', 'event_attended'])
           [1 + floor(random() * 6)::int],
       (SELECT t0 FROM bench_t0) - (random() * 760) * interval '1 day',
       NULL, CASE WHEN g > 60000 THEN 'd' || (1 + ((g - 60000) * 2503) % 100000) END,
       CASE WHEN g <= 60000 THEN 'acc' || lpad((1 + (g * 7) % 20000)::text, 5, '0') END,
       NULL,
       (ARRAY['organic_search', 'paid_search', 'paid_social', 'email', 'events', 'direct', 'referral', 'partner'])
           [1 + (g * 3) % 8],
       'cmp' || lpad(((g * 11) % 200)::text, 3, '0'), NULL, NULL
FROM generate_series(1, 100000) g;

-- deals: created over the last 700 days, half won and a fifth lost within 120
-- days of creation (never after today), 60% at an account
INSERT INTO deals (workspace_id, external_id, name, amount_cents, currency, stage, status, expected_close_date,
                   created_at, closed_at, stage_entered_at, owner, account, source)
SELECT :'ws'::uuid, 'd' || g, 'Deal ' || g, (500 + floor(random() * 99500)::int) * 100,
       CASE WHEN g % 20 = 0 THEN 'EUR' ELSE 'USD' END,
       CASE WHEN g % 10 < 5 THEN 'closed_won' WHEN g % 10 < 7 THEN 'closed_lost' ELSE 'proposal' END,
       CASE WHEN g % 10 < 5 THEN 'won' WHEN g % 10 < 7 THEN 'lost' ELSE 'open' END,
       ((SELECT t0 FROM bench_t0) + ((g % 120) + 1) * interval '1 day')::date, c.created,
       CASE WHEN g % 10 < 7 THEN LEAST(c.created + (1 + (g * 7) % 120) * interval '1 day',
                                       (SELECT t0 FROM bench_t0) - interval '1 hour') END,
       c.created, 'rep' || lpad((g % 100)::text, 3, '0'),
       CASE WHEN g % 5 < 3 THEN 'acc' || lpad((1 + (g * 13) % 20000)::text, 5, '0') END,
       (ARRAY['organic_search', 'paid_search', 'paid_social', 'email', 'events', 'direct', 'referral', 'partner'])
           [1 + g % 8]
FROM (SELECT g, (SELECT t0 FROM bench_t0) - (1 + random() * 700) * interval '1 day' AS created
      FROM generate_series(1, 100000) g) c;

-- a deal linked from a lead is created 45 days after its first lead (the
-- lead's touches lead up to it), closed as generated after that
UPDATE deals d SET created_at = x.c, stage_entered_at = x.c,
       closed_at = CASE WHEN d.closed_at IS NOT NULL
                        THEN LEAST(x.c + (1 + (substr(d.external_id, 2)::int * 7) % 120) * interval '1 day',
                                   (SELECT t0 FROM bench_t0) - interval '1 hour') END
FROM (SELECT l.deals ->> 0 AS deal,
             LEAST(min(l.created_at) + interval '45 days', (SELECT t0 FROM bench_t0) - interval '2 days') AS c
      FROM leads l WHERE l.workspace_id = :'ws'::uuid AND l.deals <> '[]' GROUP BY 1) x
WHERE d.workspace_id = :'ws'::uuid AND d.external_id = x.deal;

DROP TABLE bench_leads;
DROP TABLE bench_t0;

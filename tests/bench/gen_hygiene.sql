-- gen_hygiene.sql - a large, deterministic workspace for the data hygiene
-- benchmark (make bench): in workspace :'ws', 200 reps, 100,000 accounts and
-- 1,000,000 deals. Account names are a made-up word of two or three
-- syllables (one of 24 onsets, 8 vowels, 10 codas), one of 40 industry
-- words and one of 6 legal suffixes, drawn from md5 bytes: like real company
-- names, most trigrams of the made-up word are shared by a few dozen
-- accounts, those of the industry words by thousands,
-- every tenth with a web domain; 2,000 accounts (2%) are near-duplicates of
-- an earlier one (a letter changed, another suffix, the same domain). Deals
-- name an owner and an account; some lack fields, name unknown reps or
-- accounts, or are lost without a reason. Inserted directly: the API path
-- is measured elsewhere, this is the hygiene read path.
INSERT INTO reps (workspace_id, external_id, name)
SELECT :'ws', 'rep' || g, 'Rep ' || g FROM generate_series(0, 199) g;

WITH syl AS (SELECT ARRAY['b', 'c', 'd', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'w', 'z',
                          'br', 'cr', 'dr', 'st', 'tr', 'pl'] AS o,
                    ARRAY['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'ou'] AS v,
                    ARRAY['', 'n', 'r', 'l', 's', 'x', 'm', 't', 'nd', 'rk'] AS c,
                    ARRAY['Systems', 'Labs', 'Foods', 'Logistics', 'Capital', 'Health', 'Energy', 'Media', 'Motors',
                          'Robotics', 'Analytics', 'Retail', 'Partners', 'Group', 'Holdings', 'Software', 'Networks',
                          'Pharma', 'Textiles', 'Mining', 'Studios', 'Airlines', 'Bank', 'Insurance', 'Farms',
                          'Consulting', 'Security', 'Devices', 'Materials', 'Chemicals', 'Apparel', 'Games',
                          'Travel', 'Realty', 'Telecom', 'Dynamics', 'Solutions', 'Works', 'Industries',
                          'Ventures'] AS w,
                    ARRAY['Inc', 'LLC', 'Ltd', 'Corp', 'GmbH', ''] AS x),
     r AS (SELECT g, decode(md5('account' || g), 'hex') AS h FROM generate_series(1, 98000) g),
     base AS (SELECT g, initcap(o[1 + get_byte(h, 0) % 24] || v[1 + get_byte(h, 1) % 8] || c[1 + get_byte(h, 2) % 10]
                                || o[1 + get_byte(h, 3) % 24] || v[1 + get_byte(h, 4) % 8] || c[1 + get_byte(h, 5) % 10]
                                || CASE WHEN get_byte(h, 6) % 2 = 0
                                        THEN o[1 + get_byte(h, 7) % 24] || v[1 + get_byte(h, 8) % 8]
                                             || c[1 + get_byte(h, 9) % 10] ELSE '' END)
                        || ' ' || w[1 + get_byte(h, 10) % 40] || ' ' || x[1 + get_byte(h, 11) % 6] AS name
              FROM syl, r)
INSERT INTO accounts (workspace_id, external_id, name, custom)
SELECT :'ws', 'a' || lpad(g::text, 6, '0'), btrim(name),
       CASE WHEN g % 10 = 0 THEN jsonb_build_object('domain', 'https://www.' || lower(replace(btrim(name), ' ', '')) || '.com/') ELSE '{}' END
FROM base;

-- the near-duplicates: every 49th account again, under a later id
INSERT INTO accounts (workspace_id, external_id, name, custom)
SELECT :'ws', 'a' || lpad((98000 + k)::text, 6, '0'),
       CASE k % 3 WHEN 0 THEN regexp_replace(a.name, '(Inc|LLC|Ltd|Corp|GmbH)$', 'Incorporated')
                  WHEN 1 THEN overlay(a.name placing 'q' from 3 for 1)
                  ELSE a.name || '.' END,
       a.custom
FROM (SELECT row_number() OVER (ORDER BY external_id) AS k, name, custom FROM accounts
      WHERE workspace_id = :'ws' AND (substr(external_id, 2)::int) % 49 = 0) a
WHERE k <= 2000;

INSERT INTO deals (workspace_id, external_id, name, amount_cents, stage, status, expected_close_date, created_at,
                   closed_at, stage_entered_at, owner, account, lost_reason, custom)
SELECT :'ws', 'd' || g, 'Deal ' || g,
       CASE WHEN g % 50 = 0 THEN NULL ELSE (1000 + (g * 7919) % 40000) * 100 END,
       CASE WHEN g % 1000 = 7 THEN 'negotiation' WHEN g % 5 = 0 THEN 'closed_won' WHEN g % 5 = 1 THEN 'closed_lost'
            ELSE 'proposal' END,
       CASE WHEN g % 1000 = 7 THEN 'open' WHEN g % 5 = 0 THEN 'won' WHEN g % 5 = 1 THEN 'lost' ELSE 'open' END,
       CASE WHEN g % 40 = 0 THEN NULL ELSE (now() + ((g % 180) - 30) * interval '1 day')::date END,
       now() - ((g * 37) % 700) * interval '1 day',
       CASE WHEN g % 5 IN (0, 1) AND g % 1000 <> 7 THEN now() - ((g * 11) % 30) * interval '1 day' END,
       now() - ((g * 13) % 60) * interval '1 day',
       CASE WHEN g % 2000 = 3 THEN 'ghost' || g ELSE 'rep' || (g % 200) END,
       CASE WHEN g % 3000 = 5 THEN 'nobody' || g ELSE 'a' || lpad((1 + (g * 7) % 98000)::text, 6, '0') END,
       CASE WHEN g % 5 = 1 AND g % 7 <> 0 THEN 'price' END,
       CASE WHEN g % 3 = 0 THEN jsonb_build_object('next_step', 'call') ELSE '{}' END
FROM generate_series(1::bigint, 1000000) g;

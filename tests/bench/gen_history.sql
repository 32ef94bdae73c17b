-- gen_history.sql - a large, deterministic history for the learned forecast
-- benchmark (make bench): in workspace :'ws', 150,000 deals created over the
-- two years before today and closed within 120 days of their creation (two
-- in three won), and 100,000 still open, created over the last 300 days;
-- every deal entered proposal when created, and closed ones entered their
-- closed stage when they closed (400,000 stage entries). Inserted directly:
-- the API path is measured elsewhere, this is the forecast read path.
INSERT INTO deals (workspace_id, external_id, name, amount_cents, stage, status, created_at, closed_at,
                   stage_entered_at, owner)
SELECT :'ws', 'h' || g, 'History deal ' || g, (1000 + (g * 7919) % 40000) * 100,
       CASE WHEN g <= 150000 THEN CASE WHEN g % 3 = 0 THEN 'closed_lost' ELSE 'closed_won' END ELSE 'proposal' END,
       CASE WHEN g <= 150000 THEN CASE WHEN g % 3 = 0 THEN 'lost' ELSE 'won' END ELSE 'open' END,
       c, CASE WHEN g <= 150000 THEN c + ((g * 37) % 120) * interval '1 day' END, c, 'rep' || (g % 200)
FROM (SELECT g, CASE WHEN g <= 150000 THEN now() - interval '730 days' + (g * 600.0 / 150000) * interval '1 day'
                     ELSE now() - interval '300 days' + ((g - 150000) * 299.0 / 100000) * interval '1 day' END AS c
      FROM generate_series(1, 250000) g) x;
INSERT INTO deal_stage_history (workspace_id, deal_id, stage, entered_at, origin)
SELECT workspace_id, external_id, 'proposal', created_at, 'api' FROM deals WHERE workspace_id = :'ws';
INSERT INTO deal_stage_history (workspace_id, deal_id, stage, entered_at, origin)
SELECT workspace_id, external_id, stage, closed_at, 'api' FROM deals
WHERE workspace_id = :'ws' AND closed_at IS NOT NULL;

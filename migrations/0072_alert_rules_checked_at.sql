-- Alerts out (issue 23): when a rule of a scheduled kind last computed its
-- figures. hygiene_red runs the full data hygiene scan (seconds on a large
-- workspace) at most every params.every_minutes, not on every evaluation;
-- between checks the last verdicts stand (sql/80_alerts.sql).
ALTER TABLE alert_rules ADD COLUMN checked_at timestamptz;

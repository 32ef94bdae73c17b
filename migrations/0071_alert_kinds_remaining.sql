-- Alerts out (issue 23): the remaining signal kinds of the issue a rule may
-- watch: coverage_below, hygiene_red, forecast_moved, account_at_risk,
-- expansion_signal and health_colour (sql/80_alerts.sql). The constraint
-- admits the issue's whole list at once; the API (core/alert.c) accepts a
-- kind only once its signal is built (docs/alerts.md).
ALTER TABLE alert_rules DROP CONSTRAINT alert_rules_kind_check;
ALTER TABLE alert_rules ADD CONSTRAINT alert_rules_kind_check
    CHECK (kind IN ('stale_deal', 'deal_pushed', 'deal_moved_back', 'amount_change', 'routing_escalation',
                    'renewal_due', 'sla_breach', 'webhook_lag', 'coverage_below', 'hygiene_red', 'forecast_moved',
                    'account_at_risk', 'expansion_signal', 'health_colour'));

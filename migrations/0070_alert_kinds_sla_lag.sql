-- Alerts out (issue 23): two more signal kinds a rule may watch, sla_breach
-- (an SLA clock of sla_instances past its target) and webhook_lag (inbound
-- webhook events waiting longer than a threshold). sql/80_alerts.sql.
ALTER TABLE alert_rules DROP CONSTRAINT alert_rules_kind_check;
ALTER TABLE alert_rules ADD CONSTRAINT alert_rules_kind_check
    CHECK (kind IN ('stale_deal', 'deal_pushed', 'deal_moved_back', 'amount_change', 'routing_escalation',
                    'renewal_due', 'sla_breach', 'webhook_lag'));

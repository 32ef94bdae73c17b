-- 0032_webhook_portal.sql - a HubSpot endpoint bound to one portal (issue 17).
-- One HubSpot app signs every portal's deliveries with the same client secret
-- and deal ids are per portal: without a binding, two portals' deal 5150 were
-- one deal. Set on create/PATCH, or bound to the first delivery's portalId;
-- events of another portal are then rejected (webhook_endpoint_json in
-- sql/40_webhooks.sql shows it).
ALTER TABLE webhook_endpoints ADD COLUMN portal_id text
    CHECK (portal_id IS NULL OR (portal_id ~ '^[0-9]{1,20}$' AND source = 'hubspot'));

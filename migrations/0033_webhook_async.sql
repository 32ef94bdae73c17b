-- 0033_webhook_async.sql - store, then apply (issue 17). A delivery's events are
-- committed as 'pending' and answered; applier threads (server/whapply.c) claim
-- them with FOR UPDATE SKIP LOCKED and apply them in batches (webhook_apply_batch
-- in sql/40_webhooks.sql). An endpoint in 'sync' mode applies its events in the
-- request, as before, and answers each event's outcome.
ALTER TABLE webhook_endpoints ADD COLUMN apply_mode text NOT NULL DEFAULT 'async'
    CHECK (apply_mode IN ('async', 'sync'));
-- endpoints created before this migration were promised per-event answers: they keep them
UPDATE webhook_endpoints SET apply_mode = 'sync';

-- 'received' only ever lived inside one transaction (set, then replaced by the
-- outcome); 'pending' waits for an applier; 'held' waits for the properties a new
-- deal needs (its name and stage) to arrive in a later event.
UPDATE webhook_events SET status = 'rejected', detail = 'left half-stored by an earlier version'
WHERE status = 'received';
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_status_check;
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_status_check
    CHECK (status IN ('pending', 'held', 'applied', 'duplicate', 'stale', 'rejected'));

-- the appliers' queue, oldest first, and each deal's waiting events (per-deal order)
CREATE INDEX webhook_events_pending ON webhook_events (seq) WHERE status = 'pending';
CREATE INDEX webhook_events_waiting ON webhook_events (workspace_id, object_id, seq)
    WHERE status IN ('pending', 'held');

-- the one-transaction ingest's set-wise and event-by-event passes gave way to
-- webhook_store + webhook_apply_events (sql/40_webhooks.sql)
DROP FUNCTION IF EXISTS webhook_ingest_set(uuid, uuid, uuid, jsonb);
DROP FUNCTION IF EXISTS webhook_ingest_each(uuid, uuid, uuid, jsonb);

-- 0078_deal_delete_event_time.sql - deal_delete follows the event-time merge
-- rule (issue 17, docs/webhooks.md): a delete older than a field's last change is
-- stale, and DELETE /v1/deals/{id} says it is the user's act (by_user). Its
-- result becomes text (deleted | stale | unchanged; it was boolean) and it
-- takes by_user: CREATE OR REPLACE can change neither, so the old function is
-- dropped here and sql/30_deals.sql defines the new one.
DROP FUNCTION IF EXISTS deal_delete(uuid, text, timestamptz, text);

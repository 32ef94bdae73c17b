-- 0019_idempotency_location.sql - an idempotent replay answers with the
-- Location of what the first request created, not only its status and body.
ALTER TABLE idempotency_keys ADD COLUMN location text;

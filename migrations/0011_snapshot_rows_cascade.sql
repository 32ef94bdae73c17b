-- 0011: snapshot rows without a per-row foreign-key check.
--
-- The check of snapshot_deals.snapshot_id against snapshots ran once per row:
-- an index probe and a row lock on the snapshot for each of the rows that
-- snapshot_take() inserts in the same statement as that snapshot. For 100k open
-- deals it was a third of the snapshot's time (auto_explain: 782 ms of 2.3 s on
-- the shared bench machine). The rows are written nowhere else, so the
-- reference cannot break on insert; what the constraint still did is delete
-- a snapshot's rows with it (DELETE /v1/snapshots/{id}, retention, a deleted
-- workspace). One statement-level trigger now does that, set-wise.
ALTER TABLE snapshot_deals DROP CONSTRAINT snapshot_deals_snapshot_id_fkey;

CREATE FUNCTION snapshot_rows_delete() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    DELETE FROM snapshot_deals d USING gone g WHERE d.snapshot_id = g.id;
    RETURN NULL;
END $$;

CREATE TRIGGER snapshots_delete_rows AFTER DELETE ON snapshots
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION snapshot_rows_delete();

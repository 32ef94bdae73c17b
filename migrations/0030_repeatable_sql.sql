-- 0030_repeatable_sql.sql - the record of sql/*.sql, the repeatable files that
-- hold every SQL function and view (docs/migrations.md). After the versioned
-- migrations, under the same lock, each file whose SHA-256 differs from the one
-- recorded here is run and its checksum recorded; an unchanged file is skipped.
-- The versioned migrations keep tables, indexes and data changes.
CREATE TABLE schema_repeatables (
    name       text PRIMARY KEY,          -- "30_deals.sql", the file's name in sql/
    checksum   text NOT NULL,             -- hex SHA-256 of the text that was run
    applied_at timestamptz NOT NULL DEFAULT now()
);

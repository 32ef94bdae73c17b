-- 0034_hygiene.sql - data hygiene (issue 21): pg_trgm for the fuzzy match of
-- duplicate accounts, and the index that makes it one index probe per account.
-- pg_trgm ships with Debian's postgresql-15 package (contrib is part of it)
-- and is a trusted extension: the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The normalised name of an account: lower case, punctuation to spaces,
-- legal-form words (inc, llc, ltd, corp, gmbh, ...) and "the" dropped,
-- spaces collapsed. account_name_key() in sql/70_audit.sql is this very
-- expression (an inlined SQL function), so queries through it use the index.
CREATE INDEX accounts_name_trgm ON accounts USING gin (
    (btrim(regexp_replace(regexp_replace(regexp_replace(lower(name), '[^[:alnum:]]+', ' ', 'g'),
        '\m(the|inc|incorporated|llc|llp|ltd|limited|corp|corporation|co|company|gmbh|ag|sa|plc|bv|pty)\M', ' ', 'g'),
        ' +', ' ', 'g'))) gin_trgm_ops)
    WHERE deleted_at IS NULL;

-- 0046_drop_account_name_trgm.sql - the duplicate-account rule no longer
-- probes the trigram index of 0034 per account (one probe cost ~3 ms on
-- 100,000 accounts: minutes for the rule); it joins the names in C
-- (core/simjoin, prefix filtering). The index had no other reader and cost
-- every account write a GIN update.
DROP INDEX IF EXISTS accounts_name_trgm;

-- sql/10_common.sql - formatting and field helpers the other files use: timestamps,
-- money, fiscal quarters, deal field names.
--
-- The one home of these functions: applied after the versioned migrations, again
-- whenever this file changes (docs/migrations.md). Change a rule here, never in a
-- migration. "history:" names the migrations that defined earlier versions.

-- history: 0001_foundation
-- STABLE, as to_char is: declared IMMUTABLE it was never inlined, a function
-- call per row wherever a timestamp is formatted (200,000 calls: 1.28-1.54 s
-- as IMMUTABLE, 0.51-0.54 s inlined).
CREATE OR REPLACE FUNCTION rfc3339(ts timestamptz) RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

-- history: 0002_crm, 0003_revenue_inputs
CREATE OR REPLACE FUNCTION money_json(cents bigint) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT round(cents::numeric / 100, 2) $$;

-- history: 0005_snapshots
-- sums of bigint cents are numeric
CREATE OR REPLACE FUNCTION money_json(cents numeric) RETURNS numeric
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT round(cents / 100, 2) $$;

-- history: 0002_crm
-- The end (exclusive) of the fiscal quarter holding d, for a fiscal year
-- starting in month fsm.
CREATE OR REPLACE FUNCTION fiscal_quarter_end(d date, fsm int) RETURNS date
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT (date_trunc('month', d)
                  - make_interval(months => ((extract(month FROM d)::int - fsm + 12) % 12) % 3)
                  + interval '3 months')::date $$;

-- history: 0002_crm
-- API field name of a deals column.
CREATE OR REPLACE FUNCTION deal_field_name(col text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE col WHEN 'amount_cents' THEN 'amount' ELSE col END $$;

-- history: 0002_crm
-- STABLE, as to_jsonb is: declared IMMUTABLE, the planner would not inline it
-- (an immutable function whose body calls a stable one runs as a function call
-- per row: auto_explain showed one nested statement per changed field in
-- deal_apply_round, none now). The gain was below the noise of a shared
-- machine (2,000 changes: 311-392 ms either way).
CREATE OR REPLACE FUNCTION deal_value_json(col text, v jsonb) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT CASE WHEN col = 'amount_cents' AND jsonb_typeof(v) = 'number'
                      THEN to_jsonb(money_json(v::text::bigint)) ELSE v END $$;

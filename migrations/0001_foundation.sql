-- 0001_foundation.sql - workspaces, API keys, idempotency records, JSON renderers.
-- Every table holding customer data carries workspace_id; every query filters by it.

CREATE FUNCTION rfc3339(ts timestamptz) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

CREATE TABLE workspaces (
    id                      uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                    text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    currency                text NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    fiscal_year_start_month smallint NOT NULL DEFAULT 1 CHECK (fiscal_year_start_month BETWEEN 1 AND 12),
    timezone                text NOT NULL DEFAULT 'UTC',
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    role         text NOT NULL CHECK (role IN ('read', 'write', 'admin')),
    key_hash     text NOT NULL UNIQUE,           -- hex SHA-256 of the key; the key itself is never stored
    key_prefix   text NOT NULL,                  -- first characters, so people can tell keys apart
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_keys_workspace ON api_keys (workspace_id, created_at, id);

-- Responses to requests that carried an Idempotency-Key, replayed on retry.
CREATE TABLE idempotency_keys (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    method       text NOT NULL,
    path         text NOT NULL,
    request_hash text NOT NULL,                  -- SHA-256 of the body: a reused key with another body is refused
    status       int NOT NULL,
    body         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, key)
);

CREATE FUNCTION workspace_json(w workspaces) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', w.id, 'name', w.name, 'currency', w.currency,
        'fiscal_year_start_month', w.fiscal_year_start_month, 'timezone', w.timezone,
        'created_at', rfc3339(w.created_at), 'updated_at', rfc3339(w.updated_at)) $$;

CREATE FUNCTION api_key_json(k api_keys) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', k.id, 'name', k.name, 'role', k.role, 'prefix', k.key_prefix,
        'created_at', rfc3339(k.created_at), 'last_used_at', rfc3339(k.last_used_at),
        'revoked_at', rfc3339(k.revoked_at)) $$;

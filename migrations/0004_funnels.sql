-- 0004_funnels.sql - funnel definitions, versioned. The document (stages,
-- benchmarks, texts) is kept as validated JSON; every update is a new version.

CREATE TABLE funnels (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    is_default   boolean NOT NULL DEFAULT false,
    version      integer NOT NULL DEFAULT 1,
    document     jsonb NOT NULL,            -- {stages: [...], benchmarks: [...]}
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    deleted_at   timestamptz
);
CREATE UNIQUE INDEX funnels_one_default ON funnels (workspace_id) WHERE is_default AND deleted_at IS NULL;
CREATE INDEX funnels_by_workspace ON funnels (workspace_id, created_at, id);

CREATE TABLE funnel_versions (
    funnel_id    uuid NOT NULL REFERENCES funnels (id) ON DELETE CASCADE,
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    version      integer NOT NULL,
    name         text NOT NULL,
    document     jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (funnel_id, version)
);

CREATE FUNCTION funnel_json(f funnels) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', f.id, 'name', f.name, 'is_default', f.is_default,
        'version', f.version, 'created_at', rfc3339(f.created_at), 'updated_at', rfc3339(f.updated_at))
        || f.document $$;

CREATE FUNCTION funnel_version_json(v funnel_versions) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('version', v.version, 'name', v.name,
        'created_at', rfc3339(v.created_at)) || v.document $$;

-- sql/72_reps.sql - reps and accounts (issue 20): comp plans.
--
-- The one home of these functions: applied after the versioned migrations, again
-- whenever this file changes (docs/migrations.md). Change a rule here, never in a
-- migration.

-- A comp plan as the API shows it: its id, version and warnings around the document.
CREATE OR REPLACE FUNCTION comp_plan_json(p comp_plans) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', p.id, 'name', p.name, 'version', p.version,
        'created_at', rfc3339(p.created_at), 'updated_at', rfc3339(p.updated_at), 'warnings', p.warnings)
        || p.document $$;

CREATE OR REPLACE FUNCTION comp_plan_version_json(v comp_plan_versions) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', v.plan_id, 'name', v.name, 'version', v.version,
        'created_at', rfc3339(v.created_at), 'updated_at', rfc3339(v.created_at), 'warnings', v.warnings)
        || v.document $$;

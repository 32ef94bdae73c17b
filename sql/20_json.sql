-- sql/20_json.sql - JSON renderers: the API shape of each stored row, one function per
-- resource.
--
-- The one home of these functions: applied after the versioned migrations, again
-- whenever this file changes (docs/migrations.md). Change a rule here, never in a
-- migration. "history:" names the migrations that defined earlier versions.

-- A workspace's working_hours is rendered by the server from work_hours
-- (core/workweek.c workweek_render_pg): as SQL, the seven windows were some
-- 120 expression nodes that PostgreSQL builds again on every execution, a
-- third of GET /v1/workspace's throughput (issue 17).
DROP FUNCTION IF EXISTS working_hours_json(int4range[]);
DROP FUNCTION IF EXISTS working_window_json(int4range);

-- history: 0001_foundation, 0005_snapshots
-- Every field but working_hours (above): select w.work_hours with it.
CREATE OR REPLACE FUNCTION workspace_json(w workspaces) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', w.id, 'name', w.name, 'currency', w.currency,
        'fiscal_year_start_month', w.fiscal_year_start_month, 'timezone', w.timezone,
        'holidays', to_jsonb(w.holidays),
        'snapshot_schedule', w.snapshot_schedule, 'snapshot_hour', w.snapshot_hour,
        'snapshot_keep_daily_days', w.snapshot_keep_daily_days,
        'snapshot_keep_weekly_days', w.snapshot_keep_weekly_days,
        'created_at', rfc3339(w.created_at), 'updated_at', rfc3339(w.updated_at)) $$;

-- history: 0001_foundation
CREATE OR REPLACE FUNCTION api_key_json(k api_keys) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', k.id, 'name', k.name, 'role', k.role, 'prefix', k.key_prefix,
        'created_at', rfc3339(k.created_at), 'last_used_at', rfc3339(k.last_used_at),
        'revoked_at', rfc3339(k.revoked_at)) $$;

-- history: 0002_crm
-- PL/pgSQL: as SQL its FROM kept it from being inlined and it was planned
-- again for every statement (a single GET /v1/reps/{id} paid that).
CREATE OR REPLACE FUNCTION quotas_json(q jsonb) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    AS $$ BEGIN RETURN (SELECT COALESCE(jsonb_object_agg(key, money_json(value::text::bigint)), '{}')
                        FROM jsonb_each(q)); END $$;

-- history: 0002_crm
CREATE OR REPLACE FUNCTION rep_json(r reps) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', r.external_id, 'name', r.name, 'email', r.email, 'role', r.role, 'manager', r.manager,
        'segment', r.segment, 'region', r.region, 'quotas', quotas_json(r.quotas),
        'start_date', r.start_date, 'end_date', r.end_date,
        'fully_loaded_cost', money_json(r.fully_loaded_cost_cents), 'custom', r.custom,
        'created_at', rfc3339(r.created_at), 'updated_at', rfc3339(r.updated_at),
        'deleted_at', rfc3339(r.deleted_at)) $$;

-- history: 0002_crm
CREATE OR REPLACE FUNCTION account_json(a accounts) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', a.external_id, 'name', a.name, 'industry', a.industry, 'employees', a.employees,
        'annual_revenue', money_json(a.annual_revenue_cents), 'region', a.region, 'country', a.country,
        'segment', a.segment, 'icp_tier', a.icp_tier, 'potential', money_json(a.potential_cents),
        'owner', a.owner, 'territory', a.territory, 'parent', a.parent,
        'year_established', a.year_established, 'last_price_increase', a.last_price_increase,
        'custom', a.custom,
        'created_at', rfc3339(a.created_at), 'updated_at', rfc3339(a.updated_at),
        'deleted_at', rfc3339(a.deleted_at)) $$;

-- history: 0018_account_territory_history
-- An account with the territories plans gave it, oldest first: the read side
-- of account_territory_history (0010), which had none. GET /v1/accounts/{id}
-- and the PUT answer carry it, as a deal carries its stage history. Only
-- plans' applies and reverts are in it; a territory set through PUT is the
-- account's own `territory` field.
-- PL/pgSQL as deal_detail_json is (below), for the same reason.
CREATE OR REPLACE FUNCTION account_detail_json(a accounts) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$ BEGIN RETURN account_json(a) || jsonb_build_object(
        'territory_history', (SELECT COALESCE(jsonb_agg(jsonb_build_object(
                                  'territory', h.territory, 'previous', h.previous,
                                  'effective_date', h.effective_date, 'action', h.action,
                                  'plan_id', t.plan_id, 'application_id', h.application_id,
                                  'recorded_at', rfc3339(h.recorded_at)) ORDER BY h.id), '[]')
                              FROM account_territory_history h
                              JOIN territory_plan_applications t ON t.id = h.application_id
                              WHERE h.workspace_id = a.workspace_id AND h.account_id = a.external_id)); END $$;

-- deal_json's two lookups, each in a PL/pgSQL function of its own: PL/pgSQL
-- keeps its plans for the session, and deal_json around them is a single
-- expression that PostgreSQL inlines into the statement that calls it. A SQL
-- function with a subquery is never inlined and is parsed and planned again
-- for every statement (issue 17: one deal's statement was 10x a bare row
-- read). Whole PL/pgSQL (stop 36) gave one deal the same speed, and a list of
-- 2,000 deals 5-17% less (pgbench -M prepared, 2 clients, interleaved: 12.6-15.1
-- vs 15.2-17.5 lists/s), as lead_json measured.
CREATE OR REPLACE FUNCTION deal_field_updated_json(f jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$ BEGIN RETURN (SELECT COALESCE(jsonb_object_agg(deal_field_name(key), rfc3339((value #>> '{}')::timestamptz)), '{}')
                        FROM jsonb_each(f)); END $$;

CREATE OR REPLACE FUNCTION workspace_currency(ws uuid) RETURNS text
    LANGUAGE plpgsql STABLE
    AS $$ BEGIN RETURN (SELECT currency FROM workspaces WHERE id = ws); END $$;

-- history: 0002_crm
CREATE OR REPLACE FUNCTION deal_json(d deals) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', d.external_id, 'name', d.name, 'amount', money_json(d.amount_cents),
        'currency', COALESCE(d.currency, workspace_currency(d.workspace_id)),
        'stage', d.stage, 'status', d.status, 'forecast_category', d.forecast_category,
        'probability', d.probability::float8, 'expected_close_date', d.expected_close_date,
        'created_at', rfc3339(d.created_at), 'closed_at', rfc3339(d.closed_at),
        'owner', d.owner, 'account', d.account, 'segment', d.segment, 'source', d.source,
        'lost_reason', d.lost_reason, 'last_activity_at', rfc3339(d.last_activity_at),
        'pipeline', d.pipeline, 'custom', d.custom,
        'stage_entered_at', rfc3339(d.stage_entered_at), 'push_count', d.push_count,
        'field_updated_at', deal_field_updated_json(d.field_changed_at),
        'updated_at', rfc3339(d.updated_at), 'deleted_at', rfc3339(d.deleted_at)) $$;

-- history: 0002_crm
-- A deal with its stage history and its last 200 field changes. PL/pgSQL for
-- its subqueries' plans (GET /v1/deals/{id}'s statement 2.5k -> 10.3k TPS).
CREATE OR REPLACE FUNCTION deal_detail_json(d deals) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    AS $$ BEGIN RETURN deal_json(d) || jsonb_build_object(
        'stage_history', (SELECT COALESCE(jsonb_agg(jsonb_build_object(
                              'stage', h.stage, 'entered_at', rfc3339(h.entered_at), 'origin', h.origin)
                              ORDER BY h.id), '[]')
                          FROM deal_stage_history h WHERE h.workspace_id = d.workspace_id AND h.deal_id = d.external_id),
        'field_history', (SELECT COALESCE(jsonb_agg(x.j ORDER BY x.id), '[]') FROM (
                              SELECT c.id, jsonb_build_object('field', c.field, 'old', c.old_value, 'new', c.new_value,
                                  'changed_at', rfc3339(c.changed_at), 'applied', c.applied, 'origin', c.origin) AS j
                              FROM deal_changes c WHERE c.workspace_id = d.workspace_id AND c.deal_id = d.external_id
                              ORDER BY c.id DESC LIMIT 200) x)); END $$;

-- history: 0003_revenue_inputs
CREATE OR REPLACE FUNCTION subscription_json(s subscriptions) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', s.external_id, 'account', s.account, 'arr', money_json(s.arr_cents),
        'start_date', s.start_date, 'end_date', s.end_date, 'renewal_date', s.renewal_date,
        'created_at', rfc3339(s.created_at), 'updated_at', rfc3339(s.updated_at)) $$;

-- history: 0003_revenue_inputs
CREATE OR REPLACE FUNCTION arr_event_json(e arr_events) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', e.id, 'account', e.account, 'date', e.event_date, 'kind', e.kind,
        'amount', money_json(e.amount_cents), 'source', e.source, 'note', e.note,
        'created_at', rfc3339(e.created_at)) $$;

-- history: 0003_revenue_inputs
CREATE OR REPLACE FUNCTION spend_json(s spend) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', s.id, 'period', s.period, 'period_start', s.period_start, 'period_end', s.period_end - 1,
        'category', s.category, 'channel', s.channel, 'segment', s.segment,
        'amount', money_json(s.amount_cents), 'created_at', rfc3339(s.created_at)) $$;

-- history: 0003_revenue_inputs
CREATE OR REPLACE FUNCTION finance_json(f finance_periods) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'period', f.period, 'period_start', f.period_start, 'period_end', f.period_end - 1,
        'gross_margin', f.gross_margin, 'net_burn', money_json(f.net_burn_cents),
        'updated_at', rfc3339(f.updated_at)) $$;

-- history: 0004_funnels
CREATE OR REPLACE FUNCTION funnel_json(f funnels) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', f.id, 'name', f.name, 'is_default', f.is_default,
        'version', f.version, 'created_at', rfc3339(f.created_at), 'updated_at', rfc3339(f.updated_at))
        || f.document $$;

-- history: 0004_funnels
CREATE OR REPLACE FUNCTION funnel_version_json(v funnel_versions) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('version', v.version, 'name', v.name,
        'created_at', rfc3339(v.created_at)) || v.document $$;

-- history: 0005_snapshots
CREATE OR REPLACE FUNCTION snapshot_json(s snapshots) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', s.id, 'label', s.label, 'kind', s.kind, 'slot', s.slot,
        'as_of', rfc3339(s.as_of), 'period', s.period, 'period_start', s.period_start,
        'period_end', s.period_end - 1, 'summary', s.summary, 'created_at', rfc3339(s.created_at)) $$;

-- history: 0005_snapshots
CREATE OR REPLACE FUNCTION snapshot_deal_json(d snapshot_deals) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('deal', d.deal_id, 'name', d.name, 'amount', money_json(d.amount_cents),
        'stage', d.stage, 'status', d.status, 'forecast_category', d.forecast_category,
        'probability', d.probability, 'weighted', money_json(d.weighted_cents),
        'expected_close_date', d.expected_close_date, 'owner', d.owner, 'segment', d.segment,
        'account', d.account, 'closed_at', rfc3339(d.closed_at)) $$;

-- history: 0006_forecasts
CREATE OR REPLACE FUNCTION forecast_json(f forecasts) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', f.id, 'period', f.period, 'method', f.method,
        'funnel_id', f.funnel_id, 'funnel_version', f.funnel_version, 'as_of', f.as_of,
        'request', f.request, 'created_at', rfc3339(f.created_at)) || f.result $$;

-- history: 0009_forecast_submissions
-- The call the accuracy report grades: the override when one was given, else commit
-- (the seed's "base forecast").
CREATE OR REPLACE FUNCTION forecast_submission_json(s forecast_submissions) RETURNS jsonb
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT jsonb_build_object('id', s.id, 'forecast_id', s.forecast_id, 'submitted_by', s.submitted_by,
        'as_of', s.as_of, 'commit', money_json(s.commit_cents), 'best_case', money_json(s.best_case_cents),
        'pipeline', money_json(s.pipeline_cents), 'upside', money_json(s.upside_cents),
        'override', money_json(s.override_cents), 'call', money_json(COALESCE(s.override_cents, s.commit_cents)),
        'note', s.note, 'created_at', rfc3339(s.created_at)) $$;

-- history: 0010_plans
CREATE OR REPLACE FUNCTION scenario_json(s scenarios) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', s.id, 'name', s.name, 'request', s.request,
        'created_at', rfc3339(s.created_at)) || s.result $$;

-- history: 0010_plans
CREATE OR REPLACE FUNCTION territory_application_json(t territory_plan_applications, with_changes boolean) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', t.id, 'plan_id', t.plan_id, 'effective_date', t.effective_date,
        'changed', jsonb_array_length(t.changes), 'unchanged', t.unchanged, 'skipped', t.skipped,
        'applied_at', rfc3339(t.applied_at), 'reverted_at', rfc3339(t.reverted_at), 'reverted', t.reverted,
        'conflicts', t.conflicts)
        || CASE WHEN with_changes THEN jsonb_build_object('changes', t.changes) ELSE '{}' END $$;

-- history: 0010_plans
CREATE OR REPLACE FUNCTION territory_plan_json(p territory_plans) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', p.id, 'name', p.name, 'request', p.request,
        'created_at', rfc3339(p.created_at),
        'applications', (SELECT COALESCE(jsonb_agg(territory_application_json(t, false) ORDER BY t.applied_at, t.id), '[]')
                         FROM territory_plan_applications t WHERE t.workspace_id = p.workspace_id AND t.plan_id = p.id))
        || p.result $$;

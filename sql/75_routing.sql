-- sql/75_routing.sql - the statements of routing one lead (issue 19), one round
-- trip each: what the routing reads, a pool's availability and counter, and
-- the assignment recorded, each called through a prepared statement (the
-- lookup inlined, the others PL/pgSQL) so each connection plans them once:
-- the request made a dozen small statements, each planned per call (the
-- lead's lookup planned in 0.7 ms and ran in 0.08). The rules themselves are
-- server/h_routing.c's; round robin's pick is core/routing.c's.
--
-- The one home of these functions: applied after the versioned migrations, again
-- whenever this file changes (docs/migrations.md).

-- The lead as a routing condition sees it: lead_json's text and number
-- fields. Its object and array fields (field_updated_at, deals, custom) match
-- no term (a condition compares text or numbers), and field_updated_at, a
-- timestamp rendered per changed field, was three quarters of the routing's
-- lookup (pgbench, 8 clients: lead_json 3,600 lookups/s, these fields 11,400).
-- tests/api/test_leads.c checks it equals lead_json without those three.
CREATE OR REPLACE FUNCTION routing_lead_fields(l leads) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object(
        'id', l.external_id, 'email', l.email, 'name', l.name, 'company', l.company, 'title', l.title,
        'seniority', l.seniority, 'persona', l.persona, 'industry', l.industry, 'company_size', l.company_size,
        'geography', l.geography, 'icp_tier', l.icp_tier, 'original_source', l.original_source,
        'latest_source', l.latest_source, 'owner', l.owner, 'account', l.account,
        'lifecycle_stage', l.lifecycle_stage, 'rejection_reason', l.rejection_reason,
        'created_at', rfc3339(l.created_at), 'stage_entered_at', rfc3339(l.stage_entered_at),
        'updated_at', rfc3339(l.updated_at), 'deleted_at', rfc3339(l.deleted_at)) $$;

-- Everything a routing reads before it decides, for lead ext: the lead
-- (routing_lead_fields), its account's ICP tier and owner (the account must exist and
-- not be deleted: an owner here is what "account IN named_account_list"
-- means without a list of the document's own), the rules' version and the
-- time it was written (its stamp, to the microsecond), the rules document
-- only when they are not known_version and known_at (the caller's cached
-- copy: a workspace's rules recreated at version 1 have another stamp), and
-- the default scoring model. No row when the lead does not exist;
-- rules_version NULL when the workspace has no rules yet.
CREATE OR REPLACE FUNCTION routing_lookup(ws uuid, ext text, known_version integer, known_at timestamptz)
RETURNS TABLE (lead jsonb, icp_tier text, account_owner text, rules_version integer, rules_at text, rules jsonb,
               model jsonb)
-- SQL: inlined into revopsd's prepared call, planned once per connection
LANGUAGE sql STABLE AS $$
    SELECT routing_lead_fields(l), a.icp_tier, a.owner, r.version, r.updated_at::text,
           CASE WHEN r.version IS DISTINCT FROM known_version OR r.updated_at IS DISTINCT FROM known_at THEN
               jsonb_build_object('version', r.version, 'updated_at', rfc3339(r.updated_at)) || r.document END,
           (SELECT scoring_model_json(f) FROM scoring_models f
            WHERE f.workspace_id = ws AND f.is_default AND f.deleted_at IS NULL)
    FROM leads l
    LEFT JOIN accounts a ON a.workspace_id = l.workspace_id AND a.external_id = l.account AND a.deleted_at IS NULL
    LEFT JOIN routing_rules r ON r.workspace_id = l.workspace_id
    WHERE l.workspace_id = ws AND l.external_id = ext AND l.deleted_at IS NULL
$$;

-- A pool's members' availability and its counter. available: one character
-- per member in pool order, 't' for a rep neither deleted nor past their end
-- date (every member when the workspace has no reps), else 'f'. taken: the
-- counter's value for this lead; NULL when nobody is available (the counter
-- is then left alone). Unless dry, the counter advances by one under its
-- row's lock, so concurrent routings, on any instance, each take their own
-- value.
CREATE OR REPLACE FUNCTION routing_pool_take(ws uuid, pool_name text, members jsonb, dry boolean,
                                             OUT available text, OUT taken bigint)
LANGUAGE plpgsql AS $$
DECLARE
    no_reps boolean := NOT EXISTS (SELECT 1 FROM reps WHERE workspace_id = ws);
BEGIN
    -- each member looked up by its key (a correlated EXISTS: never a scan of
    -- the workspace's reps, whatever the planner knows of them)
    SELECT string_agg(CASE WHEN no_reps OR EXISTS (
               SELECT 1 FROM reps r WHERE r.workspace_id = ws AND r.external_id = m.id AND r.deleted_at IS NULL
               AND (r.end_date IS NULL OR r.end_date >= current_date)) THEN 't' ELSE 'f' END, '' ORDER BY m.k)
    INTO available
    FROM jsonb_array_elements_text(members) WITH ORDINALITY AS m(id, k);
    IF available IS NULL OR strpos(available, 't') = 0 THEN
        RETURN;
    END IF;
    IF dry THEN
        taken := COALESCE((SELECT s.counter FROM routing_pool_state s
                           WHERE s.workspace_id = ws AND s.pool = pool_name), 0);
    ELSE
        INSERT INTO routing_pool_state AS s (workspace_id, pool, counter) VALUES (ws, pool_name, 1)
        ON CONFLICT (workspace_id, pool) DO UPDATE SET counter = s.counter + 1
        RETURNING s.counter - 1 INTO taken;
    END IF;
END $$;

-- Record a routing: the assignment, and the lead is the assignee's from now
-- (lead_apply, origin 'routing') when there is one.
CREATE OR REPLACE FUNCTION routing_record(ws uuid, ext text, rule_name text, to_name text, rep text, queue_name text,
                                          sla numeric, escalate numeric, OUT assignment_id bigint, OUT at_text text)
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO lead_assignments AS a (workspace_id, lead_id, rule, route_to, assignee, queue, sla_minutes,
                                       escalate_minutes)
    VALUES (ws, ext, rule_name, to_name, rep, queue_name, sla, escalate)
    RETURNING a.id, rfc3339(a.routed_at) INTO assignment_id, at_text;
    IF rep IS NOT NULL THEN
        PERFORM lead_apply(ws, ext, jsonb_build_object('owner', rep), now(), 'routing');
    END IF;
END $$;

-- 0010_plans.sql - stored revenue-plan scenarios and territory plans, and the
-- effective-dated record of territory plans applied to accounts (so an
-- application can be reverted).

CREATE TABLE scenarios (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    request      jsonb NOT NULL,
    result       jsonb NOT NULL,     -- fiscal_year, plan, sources, results
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scenarios_by_time ON scenarios (workspace_id, created_at DESC, id);

CREATE FUNCTION scenario_json(s scenarios) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', s.id, 'name', s.name, 'request', s.request,
        'created_at', rfc3339(s.created_at)) || s.result $$;

CREATE TABLE territory_plans (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    request      jsonb NOT NULL,
    inputs       jsonb NOT NULL,     -- the balancer's inputs as resolved (accounts, territories), for diffs
    result       jsonb NOT NULL,     -- assignment, totals, balance, rules, disruption, pipeline_impact
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX territory_plans_by_time ON territory_plans (workspace_id, created_at DESC, id);

-- One application of a plan to the accounts: what changed (account, from, to).
CREATE TABLE territory_plan_applications (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workspace_id   uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    plan_id        uuid NOT NULL REFERENCES territory_plans (id) ON DELETE CASCADE,
    effective_date date NOT NULL,
    changes        jsonb NOT NULL,   -- [{account_id, from, to}]
    unchanged      integer NOT NULL,
    skipped        integer NOT NULL, -- assigned accounts that are not stored in the workspace
    applied_at     timestamptz NOT NULL DEFAULT now(),
    reverted_at    timestamptz,
    reverted       integer,
    conflicts      jsonb             -- accounts whose territory changed since, left as they are
);
CREATE INDEX territory_plan_applications_plan ON territory_plan_applications (workspace_id, plan_id, applied_at);

-- Every territory an account was given by a plan or a revert, and from when.
CREATE TABLE account_territory_history (
    id             bigserial PRIMARY KEY,
    workspace_id   uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    account_id     text NOT NULL,
    territory      text,
    previous       text,
    effective_date date NOT NULL,
    application_id uuid NOT NULL REFERENCES territory_plan_applications (id) ON DELETE CASCADE,
    action         text NOT NULL CHECK (action IN ('apply', 'revert')),
    recorded_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_territory_history_account ON account_territory_history (workspace_id, account_id, id);

CREATE FUNCTION territory_application_json(t territory_plan_applications, with_changes boolean) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', t.id, 'plan_id', t.plan_id, 'effective_date', t.effective_date,
        'changed', jsonb_array_length(t.changes), 'unchanged', t.unchanged, 'skipped', t.skipped,
        'applied_at', rfc3339(t.applied_at), 'reverted_at', rfc3339(t.reverted_at), 'reverted', t.reverted,
        'conflicts', t.conflicts)
        || CASE WHEN with_changes THEN jsonb_build_object('changes', t.changes) ELSE '{}' END $$;

CREATE FUNCTION territory_plan_json(p territory_plans) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT jsonb_build_object('id', p.id, 'name', p.name, 'request', p.request,
        'created_at', rfc3339(p.created_at),
        'applications', (SELECT COALESCE(jsonb_agg(territory_application_json(t, false) ORDER BY t.applied_at, t.id), '[]')
                         FROM territory_plan_applications t WHERE t.workspace_id = p.workspace_id AND t.plan_id = p.id))
        || p.result $$;

-- Write a plan's territories onto the workspace's accounts (those that are
-- stored and not deleted), record what changed, effective eff. NULL when the
-- plan is not in the workspace.
CREATE FUNCTION territory_plan_apply(ws uuid, plan uuid, eff date) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    ch jsonb;
    nsame int;
    nskip int;
    app territory_plan_applications;
BEGIN
    PERFORM 1 FROM territory_plans WHERE workspace_id = ws AND id = plan FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    WITH a AS (SELECT x ->> 'account_id' AS acc, x ->> 'territory' AS terr
               FROM territory_plans p, jsonb_array_elements(p.result -> 'assignment') x WHERE p.id = plan),
         cur AS (SELECT ac.external_id AS acc, ac.territory AS prev, a.terr
                 FROM accounts ac JOIN a ON a.acc = ac.external_id
                 WHERE ac.workspace_id = ws AND ac.deleted_at IS NULL FOR UPDATE OF ac)
    SELECT COALESCE(jsonb_agg(jsonb_build_object('account_id', acc, 'from', prev, 'to', terr) ORDER BY acc)
                    FILTER (WHERE prev IS DISTINCT FROM terr), '[]'),
           count(*) FILTER (WHERE prev IS NOT DISTINCT FROM terr),
           (SELECT count(*) FROM a) - count(*)
      INTO ch, nsame, nskip FROM cur;
    INSERT INTO territory_plan_applications (workspace_id, plan_id, effective_date, changes, unchanged, skipped)
    VALUES (ws, plan, eff, ch, nsame, nskip) RETURNING * INTO app;
    UPDATE accounts ac SET territory = c ->> 'to', updated_at = now()
      FROM jsonb_array_elements(ch) c WHERE ac.workspace_id = ws AND ac.external_id = c ->> 'account_id';
    INSERT INTO account_territory_history (workspace_id, account_id, territory, previous, effective_date,
                                           application_id, action)
    SELECT ws, c ->> 'account_id', c ->> 'to', c ->> 'from', eff, app.id, 'apply' FROM jsonb_array_elements(ch) c;
    RETURN territory_application_json(app, true);
END $$;

-- Undo the latest application of a plan that is not reverted yet: each
-- account goes back to its previous territory if it still holds the one the
-- plan wrote (a later change wins and is reported as a conflict). NULL when
-- there is nothing to revert.
CREATE FUNCTION territory_plan_revert(ws uuid, plan uuid, eff date) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    app territory_plan_applications;
    back jsonb;
BEGIN
    SELECT * INTO app FROM territory_plan_applications
     WHERE workspace_id = ws AND plan_id = plan AND reverted_at IS NULL
     ORDER BY applied_at DESC, id DESC LIMIT 1 FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    WITH c AS (SELECT x ->> 'account_id' AS acc, x ->> 'from' AS prev, x ->> 'to' AS terr
               FROM jsonb_array_elements(app.changes) x),
         r AS (UPDATE accounts ac SET territory = c.prev, updated_at = now() FROM c
               WHERE ac.workspace_id = ws AND ac.external_id = c.acc AND ac.deleted_at IS NULL
                 AND ac.territory IS NOT DISTINCT FROM c.terr
               RETURNING ac.external_id, c.prev, c.terr),
         h AS (INSERT INTO account_territory_history (workspace_id, account_id, territory, previous, effective_date,
                                                      application_id, action)
               SELECT ws, external_id, prev, terr, eff, app.id, 'revert' FROM r RETURNING account_id)
    SELECT COALESCE(jsonb_agg(h.account_id), '[]') INTO back FROM h;
    UPDATE territory_plan_applications SET reverted_at = now(), reverted = jsonb_array_length(back),
        conflicts = (SELECT COALESCE(jsonb_agg(x ->> 'account_id' ORDER BY x ->> 'account_id'), '[]')
                     FROM jsonb_array_elements(changes) x WHERE NOT back ? (x ->> 'account_id'))
     WHERE id = app.id RETURNING * INTO app;
    RETURN territory_application_json(app, true);
END $$;

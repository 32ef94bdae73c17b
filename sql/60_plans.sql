-- sql/60_plans.sql - territory plans written onto the accounts, and undone.
--
-- The one home of these functions: applied after the versioned migrations, again
-- whenever this file changes (docs/migrations.md). Change a rule here, never in a
-- migration. "history:" names the migrations that defined earlier versions.

-- history: 0010_plans
-- Write a plan's territories onto the workspace's accounts (those that are
-- stored and not deleted), record what changed, effective eff. NULL when the
-- plan is not in the workspace.
CREATE OR REPLACE FUNCTION territory_plan_apply(ws uuid, plan uuid, eff date) RETURNS jsonb
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

-- history: 0010_plans
-- Undo the latest application of a plan that is not reverted yet: each
-- account goes back to its previous territory if it still holds the one the
-- plan wrote (a later change wins and is reported as a conflict). NULL when
-- there is nothing to revert.
CREATE OR REPLACE FUNCTION territory_plan_revert(ws uuid, plan uuid, eff date) RETURNS jsonb
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

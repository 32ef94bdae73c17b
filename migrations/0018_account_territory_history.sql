-- An account with the territories plans gave it, oldest first: the read side
-- of account_territory_history (0010), which had none. GET /v1/accounts/{id}
-- and the PUT answer carry it, as a deal carries its stage history. Only
-- plans' applies and reverts are in it; a territory set through PUT is the
-- account's own `territory` field.
CREATE FUNCTION account_detail_json(a accounts) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$ SELECT account_json(a) || jsonb_build_object(
        'territory_history', (SELECT COALESCE(jsonb_agg(jsonb_build_object(
                                  'territory', h.territory, 'previous', h.previous,
                                  'effective_date', h.effective_date, 'action', h.action,
                                  'plan_id', t.plan_id, 'application_id', h.application_id,
                                  'recorded_at', rfc3339(h.recorded_at)) ORDER BY h.id), '[]')
                              FROM account_territory_history h
                              JOIN territory_plan_applications t ON t.id = h.application_id
                              WHERE h.workspace_id = a.workspace_id AND h.account_id = a.external_id)) $$;

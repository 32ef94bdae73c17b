/* h_quota.c - POST /v1/quota-plans: per-rep quotas for a target from the
 * reps' territory potential and the seed's ramp (core/comp), the
 * over-assignment, who is outside the seed's quota multiple of OTE, and on
 * request the quotas written onto the reps (docs/metrics.md "Quota plans"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity.h"
#include "comp.h"
#include "handlers.h"
#include "jsonv.h"

static json_t *money_j(money_t c) { return json_real((double)c / 100.0); }

typedef struct {
    const char *period, *plan_id;
    long long target;
    double over;
    const json_t *reps;
    bool apply;
} quota_req;

static void parse(const json_t *b, quota_req *q, app_err *err)
{
    static const char *const allowed[] = {"period", "target", "over_assignment", "reps", "comp_plan_id", "apply", NULL};
    bool has_over = false;
    (void)jv_only_fields(b, allowed, err);
    (void)jv_string(b, "period", true, 16, &q->period, err);
    (void)jv_money(b, "target", true, 1, &q->target, NULL, err);
    (void)jv_rate(b, "over_assignment", false, 0, 1, &q->over, &has_over, err);
    if (!has_over)
        q->over = 0.10;
    if (jv_string(b, "comp_plan_id", false, 40, &q->plan_id, err) && q->plan_id && !jv_is_uuid(q->plan_id))
        app_err_field(err, "comp_plan_id", "must be a comp plan id");
    q->reps = json_object_get(b, "reps");
    if (q->reps && (!json_is_array(q->reps) || json_array_size(q->reps) < 1 || json_array_size(q->reps) > 1000))
        app_err_field(err, "reps", "must be a list of 1 to 1000 rep ids");
    const json_t *a = json_object_get(b, "apply");
    if (a && !json_is_boolean(a))
        app_err_field(err, "apply", "must be true or false");
    q->apply = json_is_true(a);
}

/* The plan's OTE and role (for the multiple), when a plan is named. */
static int plan_ote(db_conn *db, const char *ws, const char *id, money_t *ote, const comp_template **role, app_err *err)
{
    const char *p[] = {ws, id};
    PGresult *r = db_query(db,
                           "SELECT round(((document ->> 'base')::numeric + (document ->> 'variable')::numeric) * 100),"
                           " document ->> 'role' FROM comp_plans WHERE workspace_id = $1 AND id = $2::uuid",
                           2, p, err);
    if (!r)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        app_err_field(err, "comp_plan_id", "no comp plan with this id");
        return -1;
    }
    *ote = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    *role = PQgetisnull(r, 0, 1) ? NULL : comp_template_find(PQgetvalue(r, 0, 1));
    PQclear(r);
    return 0;
}

static int write_quotas(db_conn *c, void *ctx, app_err *err)
{
    const char *const *p = ctx;
    return db_exec(c,
                   "UPDATE reps r SET quotas = r.quotas || jsonb_build_object($2::text, x.cents), updated_at = now()"
                   " FROM jsonb_to_recordset($3::jsonb) AS x(id text, cents bigint)"
                   " WHERE r.workspace_id = $1 AND r.external_id = x.id AND r.deleted_at IS NULL",
                   3, p, err);
}

void h_quota_plans_create(http_req *rq)
{
    app_err err = {0};
    quota_req q = {0};
    if (jv_require_object(rq->json, &err))
        parse(rq->json, &q, &err);
    db_conn *db = err.code == ERR_NONE ? http_db(rq) : NULL;
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    if (!db)
        return;
    const char *ws = rq->auth.workspace_id;
    int fsm = workspace_fy_start(db, ws, &err);
    period P;
    money_t ote = 0;
    const comp_template *role = NULL;
    if (fsm >= 0 && !period_parse(q.period, fsm, &P))
        app_err_field(&err, "period", "must be a period such as 2027-Q1, 2027-03 or FY2027");
    if (err.code == ERR_NONE && q.plan_id)
        (void)plan_ote(db, ws, q.plan_id, &ote, &role, &err);
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    /* the reps (named, else every AE) with the potential of the accounts they own */
    char *listed = q.reps ? json_dumps(q.reps, JSON_COMPACT) : strdup("[]");
    const char *rp[] = {ws, listed};
    PGresult *r = listed ? db_query(db,
                                    "SELECT r.external_id, NULLIF(r.name, ''), r.start_date::text, r.end_date::text,"
                                    " COALESCE((SELECT sum(a.potential_cents) FROM accounts a WHERE a.workspace_id ="
                                    " r.workspace_id AND a.owner = r.external_id AND a.deleted_at IS NULL), 0)"
                                    " FROM reps r WHERE r.workspace_id = $1 AND r.deleted_at IS NULL AND CASE WHEN"
                                    " jsonb_array_length($2::jsonb) > 0 THEN r.external_id IN (SELECT"
                                    " jsonb_array_elements_text($2::jsonb)) ELSE r.role = 'ae' END"
                                    " ORDER BY r.external_id COLLATE \"C\"",
                                    2, rp, &err)
                         : NULL;
    free(listed);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    int n = PQntuples(r);
    if (q.reps && (size_t)n != json_array_size(q.reps))
        app_err_field(&err, "reps", "every rep must be a stored rep, once");
    else if (n == 0)
        app_err_field(&err, "reps", "no reps to give quotas to (no rep has role ae)");
    comp_quota_rep *in = calloc((size_t)n + 1, sizeof *in);
    comp_quota_out *out = calloc((size_t)n + 1, sizeof *out);
    if (err.code == ERR_NONE && (!in || !out))
        app_err_set(&err, ERR_INTERNAL, "out of memory");
    for (int i = 0; err.code == ERR_NONE && i < n; i++) {
        caldate_t d;
        in[i].potential = strtoll(PQgetvalue(r, i, 4), NULL, 10);
        in[i].start = !PQgetisnull(r, i, 2) && caldate_parse(PQgetvalue(r, i, 2), &d) ? d : INT32_MIN;
        in[i].end = !PQgetisnull(r, i, 3) && caldate_parse(PQgetvalue(r, i, 3), &d) ? d : INT32_MAX;
    }
    int months = P.kind == PERIOD_MONTH ? 1 : P.kind == PERIOD_QUARTER ? 3 : 12;
    money_t total = money_mul_rate(q.target, 1.0 + q.over);
    capacity_assumptions ca;
    capacity_assumptions_default(1, 1, &ca); /* the seed's ramp */
    if (err.code == ERR_NONE && comp_quota_split(total, in, (size_t)n, P.start, months, ca.ramp, ca.ramp_len, out) != 0)
        app_err_field(&err, "reps", "none of the reps is in seat during the period");
    if (err.code != ERR_NONE) {
        PQclear(r);
        free(in);
        free(out);
        http_reply_error(rq, &err);
        return;
    }
    json_t *items = json_array(), *above = json_array(), *below = json_array(), *writes = json_array();
    money_t sum = 0;
    for (int i = 0; i < n; i++) {
        const char *id = PQgetvalue(r, i, 0);
        sum += out[i].quota;
        json_t *multiple = json_null();
        const char *vs = NULL;
        if (ote > 0) {
            double m = (double)out[i].quota * 12.0 / months / (double)ote;
            multiple = json_real(round(m * 100) / 100);
            if (role && role->multiple_max > 0)
                vs = m > role->multiple_max + 1e-9 ? "above" : m < role->multiple_min - 1e-9 ? "below" : "within";
            if (vs && strcmp(vs, "above") == 0)
                json_array_append_new(above, json_string(id));
            if (vs && strcmp(vs, "below") == 0)
                json_array_append_new(below, json_string(id));
        }
        json_array_append_new(items, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "rep", id, "name",
                                               PQgetisnull(r, i, 1) ? json_null() : json_string(PQgetvalue(r, i, 1)),
                                               "potential", money_j(in[i].potential), "share",
                                               json_real(round(out[i].share * 1e4) / 1e4), "ramp",
                                               json_real(round(out[i].ramp * 1e4) / 1e4), "quota",
                                               money_j(out[i].quota), "quota_multiple_of_ote", multiple,
                                               "vs_seed_multiple", vs ? json_string(vs) : json_null()));
        json_array_append_new(writes, json_pack("{s:s, s:I}", "id", id, "cents", (json_int_t)out[i].quota));
    }
    money_t pot = 0;
    for (int i = 0; i < n; i++)
        pot += in[i].potential;
    PQclear(r);
    free(in);
    free(out);
    char label[16];
    period_format(&P, label, sizeof label);
    if (q.apply) {
        char *wt = json_dumps(writes, JSON_COMPACT);
        const char *wp[] = {ws, label, wt};
        int rc = wt ? db_transaction(db, write_quotas, (void *)wp, &err) : -1;
        free(wt);
        if (rc != 0) {
            json_decref(items);
            json_decref(above);
            json_decref(below);
            json_decref(writes);
            if (err.code == ERR_NONE)
                app_err_set(&err, ERR_INTERNAL, "out of memory");
            http_reply_error(rq, &err);
            return;
        }
    }
    json_decref(writes);
    json_t *rule = role && role->multiple_max > 0 ? json_pack("{s:s, s:f, s:f}", "role", role->role, "min",
                                                              role->multiple_min, "max", role->multiple_max)
                                                  : json_null();
    http_reply_json(rq, 200,
                    json_pack("{s:s, s:o, s:o, s:o, s:f, s:s, s:o, s:o, s:o, s:o, s:o, s:b}", "period", label, "target",
                              money_j(q.target), "quota_total", money_j(sum), "over_assignment",
                              money_j(sum - q.target), "over_assignment_rate",
                              round((double)(sum - q.target) / (double)q.target * 1e4) / 1e4, "basis",
                              pot > 0 ? "territory potential x ramp" : "equal shares x ramp (no territory potential)",
                              "ote", ote > 0 ? money_j(ote) : json_null(), "seed_multiple", rule, "above_multiple",
                              above, "below_multiple", below, "items", items, "applied", q.apply));
}

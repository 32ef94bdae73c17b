/* h_leads.c - leads and contacts: PUT (create or merge by event time), GET
 * with stage and field history, filtered list, soft DELETE and batch. One
 * object serves both: a contact is a lead record further down the funnel.
 * The merge rule (stale changes recorded, not applied) is SQL lead_apply
 * (sql/74_leads.sql), the deals' rule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "crm.h"
#include "funnel.h"
#include "funneldoc.h"
#include "handlers.h"
#include "jsonv.h"
#include "leadcheck.h"
#include "leadscore.h"

#define LEAD_BATCH_MAX 1000

static const char *const tier_values[] = {"A", "B", "C", "D", NULL};

#define LTXT(n, len)                                                                                                   \
    {                                                                                                                  \
        n, n, CRM_TEXT, false, NULL, len                                                                               \
    }

/* Lead fields; email, deals are checked here (their shape is lead-only). */
#define LEAD_FIELDS                                                                                                    \
    LTXT("name", 500), LTXT("company", 500), LTXT("title", 500), LTXT("seniority", 200), LTXT("persona", 200),         \
        LTXT("industry", 200), {"company_size", "company_size", CRM_INT, false, NULL, 100000000},                      \
        LTXT("geography", 200), {"icp_tier", "icp_tier", CRM_ENUM, false, tier_values, 0},                             \
        LTXT("original_source", 200), LTXT("latest_source", 200), LTXT("owner", 200), LTXT("account", 200),            \
        {"lifecycle_stage", "lifecycle_stage", CRM_STAGE, false, NULL, 0}, LTXT("rejection_reason", 1000),             \
        {"created_at", "created_at", CRM_TS, false, NULL, 0},                                                          \
    {                                                                                                                  \
        "custom", "custom", CRM_OBJECT, false, NULL, 0                                                                 \
    }

static const crm_field lead_fields[] = {
    LEAD_FIELDS,
    {NULL, NULL, CRM_TEXT, false, NULL, 0},
};

/* What an import may map a column to: the fields, email (text here, checked
 * by lead_check) and deals (a list, split by import.c). */
static const crm_field lead_import_fields[] = {
    LEAD_FIELDS,
    LTXT("email", 320),
    {"deals", "deals", CRM_OBJECT, false, NULL, 0},
    {NULL, NULL, CRM_TEXT, false, NULL, 0},
};

const crm_object crm_leads = {CRM_LEADS, "leads", "lead", "leads", "lead_json", lead_import_fields};

static bool valid_id(const char *id) { return id && *id && strlen(id) <= 200; }

/* An address with one '@', something on both sides, a dot in the domain. */
static bool valid_email(const char *s)
{
    const char *at = s ? strchr(s, '@') : NULL;
    if (!at || at == s || strchr(at + 1, '@') || !strchr(at + 1, '.') || strlen(s) > 320)
        return false;
    for (const char *p = s; *p; p++)
        if (*p == ' ' || (unsigned char)*p < 0x20)
            return false;
    const char *last = strrchr(at + 1, '.');
    return last > at + 1 && last[1] != '\0';
}

/* leadcheck.h: also what a webhook's contact event is checked by. */
json_t *lead_check(const json_t *in, const char *const *extra, app_err *e)
{
    if (!json_is_object(in)) {
        app_err_field(e, "body", "must be a JSON object");
        return NULL;
    }
    json_t *patch = json_object();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)in, key, v)
    {
        bool known = false;
        for (const crm_field *f = lead_fields; f->name; f++)
            if (strcmp(f->name, key) == 0) {
                known = true;
                if (f->type == CRM_OBJECT && json_is_null(v))
                    json_object_set_new(patch, f->column, json_object());
                else
                    (void)crm_check_field(f, v, patch, e);
            }
        for (const char *const *x = extra; !known && *x; x++)
            known = strcmp(*x, key) == 0;
        if (known)
            continue;
        if (strcmp(key, "email") == 0) {
            if (json_is_null(v))
                json_object_set_new(patch, "email", json_null());
            else if (!valid_email(json_string_value(v)))
                app_err_field(e, "email", "must be an email address such as ann@example.com");
            else
                json_object_set(patch, "email", v);
        } else if (strcmp(key, "deals") == 0) {
            bool ok = json_is_null(v) || (json_is_array(v) && json_array_size(v) <= 200);
            size_t i;
            json_t *d;
            if (json_is_array(v))
                json_array_foreach(v, i, d) ok = ok && valid_id(json_string_value(d));
            if (!ok)
                app_err_field(e, "deals", "must be an array of up to 200 deal ids (strings of 1 to 200 characters)");
            else
                json_object_set_new(patch, "deals", json_is_null(v) ? json_array() : json_incref(v));
        } else {
            app_err_field(e, key, "is not a field of a lead");
        }
    }
    if (e->code != ERR_NONE) {
        json_decref(patch);
        return NULL;
    }
    return patch;
}

/* as_of: when the change happened at the source (default now). */
static bool check_as_of(const json_t *obj, const char **as_of, app_err *e)
{
    *as_of = NULL;
    const json_t *v = json_object_get(obj, "as_of");
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v) || !crm_is_timestamp(json_string_value(v))) {
        app_err_field(e, "as_of", "must be an RFC 3339 timestamp such as 2026-03-01T12:00:00Z");
        return false;
    }
    *as_of = json_string_value(v);
    return true;
}

/* leadcheck.h */
json_t *leads_funnel_stages(db_conn *db, const char *ws, app_err *err)
{
    if (funnels_ensure_default(db, ws, err) != 0)
        return NULL;
    const char *p[] = {ws};
    PGresult *r = db_query(db,
                           "SELECT COALESCE(jsonb_agg(x ->> 'key'), '[]') FROM funnels f,"
                           " jsonb_array_elements(f.document -> 'stages') x"
                           " WHERE f.workspace_id = $1 AND f.is_default AND f.deleted_at IS NULL",
                           1, p, err);
    if (!r)
        return NULL;
    json_t *j = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    if (!j)
        app_err_set(err, ERR_INTERNAL, "could not decode the funnel's stages");
    return j;
}

bool leads_stage_known(const json_t *stages, const json_t *patch, app_err *e)
{
    const char *s = json_string_value(json_object_get(patch, "lifecycle_stage"));
    if (!s)
        return true;
    size_t i;
    json_t *k;
    json_array_foreach(stages, i, k) if (json_is_string(k) && strcmp(json_string_value(k), s) == 0) return true;
    app_err_field(e, "lifecycle_stage", "'%.64s' is not a stage of the workspace's default funnel", s);
    return false;
}

static json_t *make_op(const char *id, json_t *patch, const char *as_of)
{
    json_t *op = json_pack("{s:s, s:o, s:s}", "id", id, "patch", patch, "origin", "api");
    if (as_of)
        json_object_set_new(op, "at", json_string(as_of));
    return op;
}

typedef struct {
    const char *ws, *id;
    json_t *ops;
    json_t *results; /* strings, one per op */
    char *row;
} lead_tx;

static int lead_tx_run(db_conn *c, void *ctx, app_err *err)
{
    lead_tx *t = ctx;
    json_decref(t->results);
    t->results = json_array();
    char *text = json_dumps(t->ops, JSON_COMPACT);
    if (!text) {
        app_err_set(err, ERR_INTERNAL, "could not encode the changes");
        return -1;
    }
    const char *p[] = {t->ws, text};
    PGresult *r = db_query(c, "SELECT result FROM lead_apply_many($1::uuid, $2::jsonb) ORDER BY n", 2, p, err);
    free(text);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(t->results, json_string(PQgetvalue(r, i, 0)));
    PQclear(r);
    /* a lead that became MQL is routed in the same transaction */
    json_t *mqls = json_array();
    size_t k;
    json_t *op;
    json_array_foreach(t->ops, k, op)
    {
        const char *st = json_string_value(json_object_get(json_object_get(op, "patch"), "lifecycle_stage"));
        if (st && strcmp(st, "mql") == 0)
            json_array_append(mqls, json_object_get(op, "id"));
    }
    char *ids = json_array_size(mqls) ? json_dumps(mqls, JSON_COMPACT) : NULL;
    json_decref(mqls);
    int rr = ids ? routing_route_new_mqls(c, t->ws, ids, err) : 0;
    free(ids);
    if (rr != 0)
        return -1;
    if (!t->id)
        return 0;
    const char *q[] = {t->ws, t->id};
    r = db_query(c, "SELECT lead_detail_json(l) FROM leads l WHERE l.workspace_id = $1 AND l.external_id = $2", 2, q,
                 err);
    if (!r)
        return -1;
    free(t->row);
    t->row = PQntuples(r) == 1 ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    if (!t->row) {
        app_err_set(err, ERR_INTERNAL, "the lead vanished while it was written");
        return -1;
    }
    return 0;
}

int leads_route_webhook_mqls(db_conn *c, app_err *err)
{
    PGresult *r = db_query(c,
                           "SELECT x ->> 0, jsonb_agg(DISTINCT x -> 1)::text"
                           " FROM jsonb_array_elements(COALESCE(NULLIF(current_setting('revops.new_mqls', true), ''),"
                           " '[]')::jsonb) x GROUP BY 1 ORDER BY 1",
                           0, NULL, err);
    if (!r)
        return -1;
    int rc = 0, n = PQntuples(r);
    for (int i = 0; i < n && rc == 0; i++)
        rc = routing_route_new_mqls(c, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), err);
    PQclear(r);
    if (rc == 0 && n > 0) { /* routed: a second batch in this transaction starts afresh */
        PGresult *z = db_query(c, "SELECT set_config('revops.new_mqls', '', true)", 0, NULL, err);
        if (!z)
            return -1;
        PQclear(z);
    }
    return rc;
}

void h_leads_put(http_req *rq)
{
    const char *id = rq->params[0];
    app_err err = {0};
    if (!valid_id(id)) {
        http_fail(rq, ERR_NOT_FOUND, "Ids are 1 to 200 characters");
        return;
    }
    if (!jv_require_object(rq->json, &err)) {
        http_reply_error(rq, &err);
        return;
    }
    static const char *const extra[] = {"as_of", NULL};
    const char *as_of = NULL;
    json_t *patch = lead_check(rq->json, extra, &err);
    (void)check_as_of(rq->json, &as_of, &err);
    if (err.code != ERR_NONE) {
        json_decref(patch);
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db) {
        json_decref(patch);
        return;
    }
    json_t *stages = leads_funnel_stages(db, rq->auth.workspace_id, &err);
    if (!stages || !leads_stage_known(stages, patch, &err)) {
        json_decref(stages);
        json_decref(patch);
        http_reply_error(rq, &err);
        return;
    }
    json_decref(stages);
    lead_tx t = {.ws = rq->auth.workspace_id, .id = id};
    t.ops = json_pack("[o]", make_op(id, patch, as_of));
    if (db_transaction(db, lead_tx_run, &t, &err) != 0) {
        http_reply_error(rq, &err);
    } else {
        const char *res = json_string_value(json_array_get(t.results, 0));
        http_reply_json_text(rq, res && strcmp(res, "created") == 0 ? 201 : 200, t.row);
    }
    json_decref(t.ops);
    json_decref(t.results);
    free(t.row);
}

void h_leads_get(http_req *rq)
{
    const char *id = rq->params[0];
    if (!valid_id(id)) {
        http_fail(rq, ERR_NOT_FOUND, "No lead with this id");
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    const char *p[] = {rq->auth.workspace_id, id};
    PGresult *r = db_query(db,
                           "SELECT lead_detail_json(l) FROM leads l WHERE l.workspace_id = $1 AND l.external_id = $2"
                           " AND l.deleted_at IS NULL",
                           2, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    if (PQntuples(r) == 0)
        http_fail(rq, ERR_NOT_FOUND, "No lead with this id");
    else
        http_reply_json_text(rq, 200, PQgetvalue(r, 0, 0));
    PQclear(r);
}

void h_leads_delete(http_req *rq)
{
    const char *id = rq->params[0];
    if (!valid_id(id)) {
        http_fail(rq, ERR_NOT_FOUND, "No lead with this id");
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    const char *p[] = {rq->auth.workspace_id, id};
    PGresult *r = db_query(db, "SELECT 1 WHERE lead_delete($1::uuid, $2, now(), 'api')", 2, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    if (PQntuples(r) == 0)
        http_fail(rq, ERR_NOT_FOUND, "No lead with this id");
    else
        http_reply_empty(rq, 204);
    PQclear(r);
}

static json_t *item_errors(const app_err *one)
{
    json_t *errs = json_array();
    for (int k = 0; k < one->nfields; k++)
        json_array_append_new(
            errs, json_pack("{s:s, s:s}", "field", one->fields[k].field, "message", one->fields[k].message));
    return errs;
}

/* Check every item: rejected ones get their errors in results, the others
 * become ops (where[k] = their index). */
static void batch_items(const json_t *items, const json_t *stages, json_t *results, json_t *ops, json_t *where)
{
    static const char *const extra[] = {"id", "as_of", NULL};
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        app_err one = {0};
        const char *id = json_string_value(json_object_get(it, "id"));
        const char *as_of = NULL;
        json_t *patch = NULL;
        if (!json_is_object(it)) {
            app_err_field(&one, "item", "must be an object");
        } else {
            if (!valid_id(id))
                app_err_field(&one, "id", "must be a string of 1 to 200 characters");
            patch = lead_check(it, extra, &one);
            (void)check_as_of(it, &as_of, &one);
            if (patch)
                (void)leads_stage_known(stages, patch, &one);
        }
        json_t *res = json_pack("{s:I, s:o}", "index", (json_int_t)i, "id", id ? json_string(id) : json_null());
        if (one.code != ERR_NONE) {
            json_decref(patch);
            json_object_set_new(res, "status", json_string("rejected"));
            json_object_set_new(res, "errors", item_errors(&one));
        } else {
            json_array_append_new(ops, make_op(id, patch, as_of));
            json_array_append_new(where, json_integer((json_int_t)i));
        }
        json_array_append_new(results, res);
    }
}

void h_leads_batch(http_req *rq)
{
    app_err err = {0};
    if (!jv_require_object(rq->json, &err)) {
        http_reply_error(rq, &err);
        return;
    }
    json_t *items = json_object_get(rq->json, "items");
    if (!json_is_array(items) || json_object_size(rq->json) != 1 || json_array_size(items) == 0 ||
        json_array_size(items) > LEAD_BATCH_MAX) {
        app_err_field(&err, "items", "must be the only field: an array of 1 to %d objects", LEAD_BATCH_MAX);
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    json_t *stages = leads_funnel_stages(db, rq->auth.workspace_id, &err);
    if (!stages) {
        http_reply_error(rq, &err);
        return;
    }
    json_t *results = json_array(), *ops = json_array(), *where = json_array();
    batch_items(items, stages, results, ops, where);
    json_decref(stages);
    lead_tx t = {.ws = rq->auth.workspace_id, .ops = ops};
    if (json_array_size(ops) > 0) {
        if (db_transaction(db, lead_tx_run, &t, &err) != 0) {
            http_reply_error(rq, &err);
            goto out;
        }
        for (size_t k = 0; k < json_array_size(where); k++) {
            json_t *res = json_array_get(results, (size_t)json_integer_value(json_array_get(where, k)));
            json_object_set(res, "status", json_array_get(t.results, k));
        }
    }
    static const char *const names[] = {"created", "updated", "unchanged", "stale", "rejected"};
    long counts[5] = {0};
    size_t i;
    json_t *it;
    json_array_foreach(results, i, it)
    {
        const char *st = json_string_value(json_object_get(it, "status"));
        for (int k = 0; k < 5; k++)
            if (st && strcmp(st, names[k]) == 0)
                counts[k]++;
    }
    json_t *body = json_pack("{s:O}", "results", results);
    for (int k = 0; k < 5; k++)
        json_object_set_new(body, names[k], json_integer(counts[k]));
    http_reply_json(rq, 200, body);
out:
    json_decref(results);
    json_decref(ops);
    json_decref(where);
    json_decref(t.results);
}

static bool query_text(http_req *rq, const char *name, const char **out, app_err *err)
{
    *out = http_query(rq, name);
    if (*out && (!**out || strlen(*out) > 320)) {
        app_err_field(err, name, "must be 1 to 320 characters");
        return false;
    }
    return true;
}

void h_leads_list(http_req *rq)
{
    long limit;
    const char *cursor;
    if (!http_page_params(rq, false, &limit, &cursor))
        return;
    app_err err = {0};
    const char *since = http_query(rq, "updated_since"), *deleted = http_query(rq, "include_deleted");
    const char *stage, *owner, *account, *source, *email;
    if (since && !crm_is_timestamp(since))
        app_err_field(&err, "updated_since", "must be an RFC 3339 timestamp such as 2026-03-01T12:00:00Z");
    if (deleted && strcmp(deleted, "true") != 0 && strcmp(deleted, "false") != 0)
        app_err_field(&err, "include_deleted", "must be true or false");
    (void)query_text(rq, "lifecycle_stage", &stage, &err);
    (void)query_text(rq, "owner", &owner, &err);
    (void)query_text(rq, "account", &account, &err);
    (void)query_text(rq, "source", &source, &err);
    (void)query_text(rq, "email", &email, &err);
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    char lbuf[24];
    snprintf(lbuf, sizeof lbuf, "%ld", limit + 1);
    const char *p[] = {rq->auth.workspace_id,
                       cursor,
                       lbuf,
                       since,
                       deleted && strcmp(deleted, "true") == 0 ? "t" : "f",
                       stage,
                       owner,
                       account,
                       source,
                       email};
    PGresult *r = db_query(db,
                           "SELECT lead_json(l), l.external_id FROM leads l WHERE l.workspace_id = $1"
                           " AND ($2::text IS NULL OR l.external_id > $2)"
                           " AND ($4::timestamptz IS NULL OR l.updated_at >= $4::timestamptz)"
                           " AND ($5::boolean OR l.deleted_at IS NULL)"
                           " AND ($6::text IS NULL OR l.lifecycle_stage = $6) AND ($7::text IS NULL OR l.owner = $7)"
                           " AND ($8::text IS NULL OR l.account = $8)"
                           " AND ($9::text IS NULL OR l.original_source = $9 OR l.latest_source = $9)"
                           " AND ($10::text IS NULL OR lower(l.email) = lower($10))"
                           " ORDER BY l.external_id LIMIT $3",
                           10, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    http_reply_page(rq, r, limit);
}

/* ---- funnel volumes from leads ---------------------------------------------- */

typedef struct {
    char *key;
    long long counts[FUNNEL_MAX_STAGES];
} lf_group;

/* The diagnosis of one group's counts, as FunnelDiagnosis transitions. */
static json_t *lf_group_json(const funnel_def *def, const lf_group *g)
{
    funnel_diagnosis d;
    funnel_diagnose(def, g->counts, &d);
    json_t *counts = json_object(), *tr = json_array();
    for (int i = 0; i < def->nstages; i++)
        if (g->counts[i] >= 0)
            json_object_set_new(counts, def->stages[i].key, json_integer(g->counts[i]));
    for (int i = 0; i < d.ntransitions; i++) {
        const funnel_transition *t = &d.transitions[i];
        const funnel_benchmark *b = &def->bench[t->bench];
        if (t->from_count < 0 || t->to_count < 0)
            continue;
        json_array_append_new(tr,
                              json_pack("{s:s, s:s, s:I, s:I, s:o, s:o}", "from", def->stages[b->from].key, "to",
                                        def->stages[b->to].key, "from_count", (json_int_t)t->from_count, "to_count",
                                        (json_int_t)t->to_count, "rate", t->has_rate ? json_real(t->rate) : json_null(),
                                        "tier", t->has_rate ? json_string(funnel_tier_name(t->tier)) : json_null()));
    }
    json_t *bn = json_null();
    if (d.bottleneck >= 0) {
        const funnel_benchmark *b = &def->bench[d.transitions[d.bottleneck].bench];
        bn = json_pack("{s:s, s:s}", "from", def->stages[b->from].key, "to", def->stages[b->to].key);
    }
    return json_pack("{s:o, s:o, s:o, s:o, s:s}", "key", g->key ? json_string(g->key) : json_null(), "counts", counts,
                     "transitions", tr, "bottleneck", bn, "summary", d.explanation);
}

/* Count one lead into its group: every stage it reached by its stage history
 * (funnel_reaches: a later stage passes the ones before it), the opportunity
 * stage when a deal is linked to it, the won stage when one of them is won. */
static void lf_count(const funnel_def *def, lf_group *g, int mql, const char *stages_json, bool has_deal, bool won)
{
    json_t *st = json_loads(stages_json, 0, NULL);
    int opp = funnel_stage_index(def, "opportunity"), wonix = -1;
    for (int i = 0; i < def->nstages; i++)
        if (def->stages[i].won)
            wonix = i;
    for (int t = mql; t < def->nstages; t++) {
        bool r = (has_deal && opp >= 0 && funnel_reaches(def, opp, t)) ||
                 (won && wonix >= 0 && funnel_reaches(def, wonix, t));
        size_t k;
        json_t *s;
        json_array_foreach(st, k, s)
        {
            int si = funnel_stage_index(def, json_string_value(s) ? json_string_value(s) : "");
            r = r || (si >= 0 && funnel_reaches(def, si, t));
        }
        if (g->counts[t] < 0)
            g->counts[t] = 0;
        g->counts[t] += r;
    }
    json_decref(st);
}

void h_leads_funnel(http_req *rq)
{
    app_err err = {0};
    const char *from = http_query(rq, "from"), *to = http_query(rq, "to"), *group_by = http_query(rq, "group_by");
    caldate_t df = 0, dt = 0;
    if (!from || !caldate_parse(from, &df))
        app_err_field(&err, "from", "is required: a date YYYY-MM-DD (the first day)");
    if (!to || !caldate_parse(to, &dt))
        app_err_field(&err, "to", "is required: a date YYYY-MM-DD (the last day, included)");
    else if (from && df > dt)
        app_err_field(&err, "to", "must not be before from");
    if (group_by && strcmp(group_by, "source") != 0 && strcmp(group_by, "owner") != 0)
        app_err_field(&err, "group_by", "must be source or owner");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    if (funnels_ensure_default(db, rq->auth.workspace_id, &err) != 0) {
        http_reply_error(rq, &err);
        return;
    }
    const char *p[] = {rq->auth.workspace_id};
    PGresult *fr = db_query(
        db, "SELECT document FROM funnels WHERE workspace_id = $1 AND is_default AND deleted_at IS NULL", 1, p, &err);
    if (!fr) {
        http_reply_error(rq, &err);
        return;
    }
    json_t *doc = PQntuples(fr) ? json_loads(PQgetvalue(fr, 0, 0), 0, NULL) : NULL;
    PQclear(fr);
    funnel_def def;
    int mql = -1;
    if (!doc || funneldoc_to_def(doc, &def) != 0 || (mql = funnel_stage_index(&def, "mql")) < 0) {
        json_decref(doc);
        http_fail(rq, ERR_CONFLICT, "The default funnel has no mql stage to start the lead cohorts from");
        return;
    }
    json_decref(doc);
    char end[16];
    caldate_format(dt + 1, end, sizeof end);
    const char *q[] = {rq->auth.workspace_id, from, end, group_by};
    /* the leads that entered MQL in the period: their group, every stage they
     * entered, and whether a linked deal exists / is won */
    PGresult *r = db_query(db,
                           "SELECT CASE $4::text WHEN 'source' THEN l.original_source WHEN 'owner' THEN l.owner END,"
                           " (SELECT COALESCE(jsonb_agg(DISTINCT h.stage), '[]') FROM lead_stage_history h"
                           "  WHERE h.workspace_id = l.workspace_id AND h.lead_id = l.external_id),"
                           " EXISTS (SELECT 1 FROM lead_linked_deals(l.workspace_id, l.deals)),"
                           " EXISTS (SELECT 1 FROM lead_linked_deals(l.workspace_id, l.deals) d WHERE d.status = 'won')"
                           " FROM leads l WHERE l.workspace_id = $1 AND l.deleted_at IS NULL"
                           " AND EXISTS (SELECT 1 FROM lead_stage_history h WHERE h.workspace_id = l.workspace_id"
                           "   AND h.lead_id = l.external_id AND h.stage = 'mql'"
                           "   AND h.entered_at >= $2::date::timestamptz AND h.entered_at < $3::date::timestamptz)"
                           " ORDER BY 1 NULLS LAST",
                           4, q, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    lf_group *gs = calloc((size_t)PQntuples(r) + 1, sizeof *gs);
    size_t ng = 0;
    for (int i = 0; gs && i < PQntuples(r); i++) {
        const char *key = PQgetisnull(r, i, 0) ? NULL : PQgetvalue(r, i, 0);
        lf_group *g = ng ? &gs[ng - 1] : NULL;
        if (!g || !((g->key == NULL && key == NULL) || (g->key && key && strcmp(g->key, key) == 0))) {
            g = &gs[ng++];
            g->key = key ? strdup(key) : NULL;
            for (int s = 0; s < FUNNEL_MAX_STAGES; s++)
                g->counts[s] = -1;
        }
        lf_count(&def, g, mql, PQgetvalue(r, i, 1), strcmp(PQgetvalue(r, i, 2), "t") == 0,
                 strcmp(PQgetvalue(r, i, 3), "t") == 0);
    }
    PQclear(r);
    json_t *groups = json_array();
    for (size_t i = 0; gs && i < ng; i++) {
        json_array_append_new(groups, lf_group_json(&def, &gs[i]));
        free(gs[i].key);
    }
    free(gs);
    http_reply_json(rq, 200,
                    json_pack("{s:s, s:s, s:o, s:o}", "from", from, "to", to, "group_by",
                              group_by ? json_string(group_by) : json_null(), "groups", groups));
}

void lead_touch_types(char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "{");
    for (int t = 0; t < LS_ACT__COUNT && n < len; t++)
        if (leadscore_is_touch(t))
            n += (size_t)snprintf(buf + n, len - n, "%s%s", n > 1 ? "," : "", leadscore_activity_name(t));
    if (n < len)
        snprintf(buf + n, len - n, "}");
}

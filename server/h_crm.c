/* h_crm.c - deals, accounts and reps: PUT (create or merge), GET, list,
 * soft DELETE and batch. One set of handlers serves the three objects; the
 * field tables and the writer live in crm.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "crm.h"
#include "handlers.h"
#include "jsonv.h"

#define CRM_BATCH_MAX 1000

static const char *const deal_extra[] = {"as_of", NULL};
static const char *const batch_deal_extra[] = {"id", "as_of", NULL};
static const char *const batch_extra[] = {"id", NULL};

/* Control characters are refused (jv_id_clean): an id with CR/LF or a NUL
 * could not be named in a path, and would split a log line or a CSV export. */
static bool valid_id(const char *id) { return id && *id && strlen(id) <= 200 && jv_id_clean(id); }

/* The deal/account/rep JSON of one row: the detailed form for deals. */
static const char *one_sql(const crm_object *o)
{
    switch (o->kind) {
    case CRM_DEALS:
        return "SELECT deal_detail_json(t) FROM deals t WHERE t.workspace_id = $1 AND t.external_id = $2"
               " AND t.deleted_at IS NULL";
    case CRM_ACCOUNTS:
        return "SELECT account_detail_json(t) FROM accounts t WHERE t.workspace_id = $1 AND t.external_id = $2"
               " AND t.deleted_at IS NULL";
    case CRM_REPS:
        return "SELECT rep_json(t) FROM reps t WHERE t.workspace_id = $1 AND t.external_id = $2"
               " AND t.deleted_at IS NULL";
    case CRM_LEADS: /* server/h_leads.c serves them */
        break;
    }
    return NULL;
}

/* The row a PUT answers with. A deal may still be deleted after it: a change
 * older than the deal's deletion is merged into its hidden values without
 * restoring it (sql/30_deals.sql), and the answer shows that (deleted_at). */
static const char *put_row_sql(const crm_object *o)
{
    return o->kind == CRM_DEALS
               ? "SELECT deal_detail_json(t) FROM deals t WHERE t.workspace_id = $1 AND t.external_id = $2"
               : one_sql(o);
}

/* Build one op {id, patch, at?, origin}; consumes patch. */
static json_t *make_op(const char *id, json_t *patch, const char *as_of, const char *origin)
{
    json_t *op = json_pack("{s:s, s:o, s:s}", "id", id, "patch", patch, "origin", origin);
    if (as_of)
        json_object_set_new(op, "at", json_string(as_of));
    return op;
}

/* as_of: when the change happened at the source (deals only). */
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
    if (crm_timestamp_too_late(json_string_value(v))) {
        app_err_field(e, "as_of", "is in the future (more than %d minutes ahead of this server's clock)",
                      CRM_MAX_FUTURE_SKEW_S / 60);
        return false;
    }
    *as_of = json_string_value(v);
    return true;
}

typedef struct {
    const crm_object *o;
    const char *ws;
    const char *id; /* single PUT: the row to return */
    json_t *ops;
    json_t *results;
    char *row;
    const app_err *create_needs; /* single PUT without a required field: refused only if the row is new */
} put_tx;

/* Does the row exist (a soft-deleted one too: it keeps its values, and the
 * PUT restores it)? 1, 0, or -1 with err. */
static int row_exists(db_conn *c, const crm_object *o, const char *ws, const char *id, app_err *err)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE workspace_id = $1 AND external_id = $2", o->table);
    const char *p[] = {ws, id};
    PGresult *r = db_query(c, sql, 2, p, err);
    if (!r)
        return -1;
    int n = PQntuples(r);
    PQclear(r);
    return n > 0;
}

static int put_tx_run(db_conn *c, void *ctx, app_err *err)
{
    put_tx *t = ctx;
    json_decref(t->results);
    t->results = NULL;
    if (t->create_needs) {
        int exists = row_exists(c, t->o, t->ws, t->id, err);
        if (exists < 0)
            return -1;
        if (!exists) {
            *err = *t->create_needs;
            return -1;
        }
    }
    if (t->id && t->o->kind == CRM_DEALS) { /* a batch checked its items before */
        json_t *patches = json_pack("[O]", json_object_get(json_array_get(t->ops, 0), "patch"));
        crm_refs *refs = crm_refs_load(c, t->ws, patches, err);
        bool ok = refs && crm_refs_check(refs, json_array_get(patches, 0), err);
        crm_refs_free(refs);
        json_decref(patches);
        if (!ok)
            return -1;
    }
    if (crm_apply(c, t->o, t->ws, t->ops, &t->results, err) != 0)
        return -1;
    if (!t->id)
        return 0;
    const char *p[] = {t->ws, t->id};
    PGresult *r = db_query(c, put_row_sql(t->o), 2, p, err);
    if (!r)
        return -1;
    free(t->row);
    t->row = PQntuples(r) == 1 ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    if (!t->row) {
        app_err_set(err, ERR_INTERNAL, "the %s vanished while it was written", t->o->singular);
        return -1;
    }
    return 0;
}

static void crm_put(http_req *rq, const crm_object *o)
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
    const char *as_of = NULL;
    /* Absent fields keep their value: the required ones are only needed to
     * create. Whether the row is new is decided inside the transaction. */
    json_t *patch = crm_check(o, rq->json, false, o->kind == CRM_DEALS ? deal_extra : NULL, &err);
    if (o->kind == CRM_DEALS)
        (void)check_as_of(rq->json, &as_of, &err);
    app_err create_needs = {0};
    for (const crm_field *f = o->fields; f->name; f++)
        if (f->required && !json_object_get(rq->json, f->name))
            app_err_field(&create_needs, f->name, "is required to create a %s", o->singular);
    db_conn *db = http_db(rq);
    if (!db) {
        json_decref(patch);
        return;
    }
    if (err.code != ERR_NONE) {
        /* one answer lists every problem: the missing fields too when the row is new */
        app_err lookup = {0};
        if (create_needs.code != ERR_NONE && row_exists(db, o, rq->auth.workspace_id, id, &lookup) == 0)
            for (int k = 0; k < create_needs.nfields; k++)
                app_err_field(&err, create_needs.fields[k].field, "%s", create_needs.fields[k].message);
        json_decref(patch);
        http_reply_error(rq, &err);
        return;
    }
    put_tx t = {.o = o, .ws = rq->auth.workspace_id, .id = id};
    if (create_needs.code != ERR_NONE)
        t.create_needs = &create_needs;
    t.ops = json_pack("[o]", make_op(id, patch, as_of, "api"));
    if (db_transaction(db, put_tx_run, &t, &err) != 0) {
        http_reply_error(rq, &err);
    } else {
        const char *res = json_string_value(json_array_get(t.results, 0));
        http_reply_json_text(rq, res && strcmp(res, "created") == 0 ? 201 : 200, t.row);
    }
    json_decref(t.ops);
    json_decref(t.results);
    free(t.row);
}

static void crm_get(http_req *rq, const crm_object *o)
{
    const char *id = rq->params[0];
    if (!valid_id(id)) {
        http_fail(rq, ERR_NOT_FOUND, "No %s with this id", o->singular);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    const char *p[] = {rq->auth.workspace_id, id};
    PGresult *r = db_query(db, one_sql(o), 2, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    if (PQntuples(r) == 0)
        http_fail(rq, ERR_NOT_FOUND, "No %s with this id", o->singular);
    else
        http_reply_json_text(rq, 200, PQgetvalue(r, 0, 0));
    PQclear(r);
}

static void crm_delete(http_req *rq, const crm_object *o)
{
    const char *id = rq->params[0];
    if (!valid_id(id)) {
        http_fail(rq, ERR_NOT_FOUND, "No %s with this id", o->singular);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    const char *p[] = {rq->auth.workspace_id, id};
    /* a deal: by_user, the user's explicit act deletes it whatever its field times
     * (sql/30_deals.sql deal_delete) */
    const char *sql = o->kind == CRM_DEALS ? "SELECT 1 WHERE deal_delete($1::uuid, $2, now(), 'api', true) = 'deleted'"
                      : o->kind == CRM_ACCOUNTS
                          ? "UPDATE accounts SET deleted_at = now(), updated_at = now() WHERE workspace_id = $1"
                            " AND external_id = $2 AND deleted_at IS NULL RETURNING 1"
                          : "UPDATE reps SET deleted_at = now(), updated_at = now() WHERE workspace_id = $1"
                            " AND external_id = $2 AND deleted_at IS NULL RETURNING 1";
    PGresult *r = db_query(db, sql, 2, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    if (PQntuples(r) == 0)
        http_fail(rq, ERR_NOT_FOUND, "No %s with this id", o->singular);
    else
        http_reply_empty(rq, 204);
    PQclear(r);
}

/* The batch's deal items that name an unknown stage, owner, account or
 * currency (crm_refs) become rejected results with the field errors; *ops and
 * *where are replaced by the rest. 0, or -1 with err on a database error. */
static int reject_unknown_refs(db_conn *db, const char *ws, json_t *results, json_t **ops, json_t **where, app_err *err)
{
    json_t *patches = json_array();
    size_t k;
    json_t *op;
    json_array_foreach(*ops, k, op) json_array_append(patches, json_object_get(op, "patch"));
    crm_refs *refs = crm_refs_load(db, ws, patches, err);
    json_decref(patches);
    if (!refs)
        return -1;
    json_t *kept = json_array(), *kept_where = json_array();
    json_array_foreach(*ops, k, op)
    {
        app_err one = {0};
        json_t *idx = json_array_get(*where, k);
        if (crm_refs_check(refs, json_object_get(op, "patch"), &one)) {
            json_array_append(kept, op);
            json_array_append(kept_where, idx);
            continue;
        }
        json_t *res = json_array_get(results, (size_t)json_integer_value(idx));
        json_t *errs = json_array();
        for (int f = 0; f < one.nfields; f++)
            json_array_append_new(
                errs, json_pack("{s:s, s:s}", "field", one.fields[f].field, "message", one.fields[f].message));
        json_object_set_new(res, "status", json_string("rejected"));
        json_object_set_new(res, "errors", errs);
    }
    crm_refs_free(refs);
    json_decref(*ops);
    json_decref(*where);
    *ops = kept;
    *where = kept_where;
    return 0;
}

static void crm_batch(http_req *rq, const crm_object *o)
{
    app_err err = {0};
    if (!jv_require_object(rq->json, &err)) {
        http_reply_error(rq, &err);
        return;
    }
    json_t *items = json_object_get(rq->json, "items");
    if (!json_is_array(items) || json_object_size(rq->json) != 1 || json_array_size(items) == 0 ||
        json_array_size(items) > CRM_BATCH_MAX) {
        app_err_field(&err, "items", "must be the only field: an array of 1 to %d objects", CRM_BATCH_MAX);
        http_reply_error(rq, &err);
        return;
    }
    json_t *results = json_array();
    json_t *ops = json_array();
    json_t *where = json_array(); /* index into results of each op */
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
                app_err_field(&one, "id", "must be a string of 1 to 200 characters without control characters");
            patch = crm_check(o, it, true, o->kind == CRM_DEALS ? batch_deal_extra : batch_extra, &one);
            if (o->kind == CRM_DEALS)
                (void)check_as_of(it, &as_of, &one);
        }
        json_t *res = json_pack("{s:I, s:o}", "index", (json_int_t)i, "id", id ? json_string(id) : json_null());
        if (one.code != ERR_NONE) {
            json_decref(patch);
            json_t *errs = json_array();
            for (int k = 0; k < one.nfields; k++)
                json_array_append_new(
                    errs, json_pack("{s:s, s:s}", "field", one.fields[k].field, "message", one.fields[k].message));
            json_object_set_new(res, "status", json_string("rejected"));
            json_object_set_new(res, "errors", errs);
        } else {
            json_array_append_new(ops, make_op(id, patch, as_of, "api"));
            json_array_append_new(where, json_integer((json_int_t)i));
        }
        json_array_append_new(results, res);
    }
    put_tx t = {.o = o, .ws = rq->auth.workspace_id, .ops = ops};
    db_conn *db = NULL;
    if (json_array_size(ops) > 0) {
        db = http_db(rq);
        if (!db)
            goto out;
        if (o->kind == CRM_DEALS && reject_unknown_refs(db, rq->auth.workspace_id, results, &ops, &where, &err) != 0) {
            http_reply_error(rq, &err);
            goto out;
        }
        t.ops = ops;
    }
    if (json_array_size(ops) > 0) {
        if (db_transaction(db, put_tx_run, &t, &err) != 0) {
            http_reply_error(rq, &err);
            goto out;
        }
        for (size_t k = 0; k < json_array_size(where); k++) {
            json_t *res = json_array_get(results, (size_t)json_integer_value(json_array_get(where, k)));
            json_object_set(res, "status", json_array_get(t.results, k));
        }
    }
    long counts[5] = {0};
    static const char *const names[] = {"created", "updated", "unchanged", "stale", "rejected"};
    json_array_foreach(results, i, it)
    {
        const char *st = json_string_value(json_object_get(it, "status"));
        for (int k = 0; k < 5; k++)
            if (st && strcmp(st, names[k]) == 0)
                counts[k]++;
    }
    json_t *body = json_pack("{s:o}", "results", results);
    results = NULL;
    for (int k = 0; k < 5; k++)
        json_object_set_new(body, names[k], json_integer(counts[k]));
    http_reply_json(rq, 200, body);
out:
    json_decref(results);
    json_decref(ops);
    json_decref(where);
    json_decref(t.results);
}

static bool query_ts(http_req *rq, const char *name, const char **out, app_err *err)
{
    *out = http_query(rq, name);
    if (*out && !crm_is_timestamp(*out)) {
        app_err_field(err, name, "must be an RFC 3339 timestamp such as 2026-03-01T12:00:00Z");
        return false;
    }
    return true;
}

static bool query_bool(http_req *rq, const char *name, bool *out, app_err *err)
{
    const char *v = http_query(rq, name);
    *out = false;
    if (!v)
        return true;
    if (strcmp(v, "true") == 0)
        *out = true;
    else if (strcmp(v, "false") != 0) {
        app_err_field(err, name, "must be true or false");
        return false;
    }
    return true;
}

static bool query_text(http_req *rq, const char *name, const char **out, app_err *err)
{
    *out = http_query(rq, name);
    if (*out && (!**out || strlen(*out) > 200)) {
        app_err_field(err, name, "must be 1 to 200 characters");
        return false;
    }
    return true;
}

static bool query_date(http_req *rq, const char *name, const char **out, app_err *err)
{
    caldate_t d;
    *out = http_query(rq, name);
    if (*out && !caldate_parse(*out, &d)) {
        app_err_field(err, name, "must be a date YYYY-MM-DD");
        return false;
    }
    return true;
}

static void crm_list(http_req *rq, const crm_object *o)
{
    long limit;
    const char *cursor;
    if (!http_page_params(rq, false, &limit, &cursor))
        return;
    app_err err = {0};
    const char *since, *stage = NULL, *owner = NULL, *status = NULL, *from = NULL, *to = NULL;
    bool deleted;
    (void)query_ts(rq, "updated_since", &since, &err);
    (void)query_bool(rq, "include_deleted", &deleted, &err);
    if (o->kind == CRM_DEALS) {
        (void)query_text(rq, "stage", &stage, &err);
        (void)query_text(rq, "owner", &owner, &err);
        status = http_query(rq, "status");
        if (status && strcmp(status, "open") != 0 && strcmp(status, "won") != 0 && strcmp(status, "lost") != 0)
            app_err_field(&err, "status", "must be one of open, won, lost");
        (void)query_date(rq, "close_from", &from, &err);
        (void)query_date(rq, "close_to", &to, &err);
    }
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    char lbuf[24];
    snprintf(lbuf, sizeof lbuf, "%ld", limit + 1);
    PGresult *r;
    if (o->kind == CRM_DEALS) {
        const char *p[] = {
            rq->auth.workspace_id, cursor, lbuf, since, deleted ? "t" : "f", stage, owner, status, from, to};
        r = db_query(
            db,
            "SELECT deal_json(t), t.external_id FROM deals t WHERE t.workspace_id = $1"
            " AND ($2::text IS NULL OR t.external_id > $2)"
            " AND ($4::timestamptz IS NULL OR t.updated_at >= $4::timestamptz)"
            " AND ($5::boolean OR t.deleted_at IS NULL)"
            " AND ($6::text IS NULL OR t.stage = $6) AND ($7::text IS NULL OR t.owner = $7)"
            " AND ($8::text IS NULL OR t.status = $8)"
            " AND ($9::date IS NULL OR CASE WHEN t.status = 'open' THEN t.expected_close_date"
            "      ELSE COALESCE((t.closed_at AT TIME ZONE 'UTC')::date, t.expected_close_date) END >= $9::date)"
            " AND ($10::date IS NULL OR CASE WHEN t.status = 'open' THEN t.expected_close_date"
            "      ELSE COALESCE((t.closed_at AT TIME ZONE 'UTC')::date, t.expected_close_date) END <= $10::date)"
            " ORDER BY t.external_id LIMIT $3",
            10, p, &err);
    } else {
        char sql[640];
        snprintf(sql, sizeof sql,
                 "SELECT %s(t), t.external_id FROM %s t WHERE t.workspace_id = $1"
                 " AND ($2::text IS NULL OR t.external_id > $2)"
                 " AND ($4::timestamptz IS NULL OR t.updated_at >= $4::timestamptz)"
                 " AND ($5::boolean OR t.deleted_at IS NULL)"
                 " ORDER BY t.external_id LIMIT $3",
                 o->json_fn, o->table);
        const char *p[] = {rq->auth.workspace_id, cursor, lbuf, since, deleted ? "t" : "f"};
        r = db_query(db, sql, 5, p, &err);
    }
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    http_reply_page(rq, r, limit);
}

void h_deals_put(http_req *rq) { crm_put(rq, &crm_deals); }
void h_deals_get(http_req *rq) { crm_get(rq, &crm_deals); }
void h_deals_list(http_req *rq) { crm_list(rq, &crm_deals); }
void h_deals_delete(http_req *rq) { crm_delete(rq, &crm_deals); }
void h_deals_batch(http_req *rq) { crm_batch(rq, &crm_deals); }
void h_accounts_put(http_req *rq) { crm_put(rq, &crm_accounts); }
void h_accounts_get(http_req *rq) { crm_get(rq, &crm_accounts); }
void h_accounts_list(http_req *rq) { crm_list(rq, &crm_accounts); }
void h_accounts_delete(http_req *rq) { crm_delete(rq, &crm_accounts); }
void h_accounts_batch(http_req *rq) { crm_batch(rq, &crm_accounts); }
void h_reps_put(http_req *rq) { crm_put(rq, &crm_reps); }
void h_reps_get(http_req *rq) { crm_get(rq, &crm_reps); }
void h_reps_list(http_req *rq) { crm_list(rq, &crm_reps); }
void h_reps_delete(http_req *rq) { crm_delete(rq, &crm_reps); }
void h_reps_batch(http_req *rq) { crm_batch(rq, &crm_reps); }

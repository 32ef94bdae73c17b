/* h_activities.c - activities and marketing touchpoints: POST one or a batch
 * of 1,000 (idempotent by the caller's id), GET one, filtered list. What they
 * count for (scores, attribution, SLAs) is decided by their readers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm.h"
#include "handlers.h"
#include "jsonv.h"
#include "leadscore.h"

#define ACTIVITY_BATCH_MAX 1000

static bool valid_id(const char *id) { return id && *id && strlen(id) <= 200; }

/* Validate one activity into its canonical JSON (absent optional fields
 * left out). NULL with e filled. */
static json_t *activity_check(const json_t *in, app_err *e)
{
    if (!json_is_object(in)) {
        app_err_field(e, "item", "must be an object");
        return NULL;
    }
    static const char *const allowed[] = {"id",      "type",     "occurred_at", "lead", "deal",   "account", "rep",
                                          "channel", "campaign", "session",     "url",  "custom", NULL};
    (void)jv_only_fields(in, allowed, e);
    const char *id = NULL, *type = NULL, *at = NULL;
    if (jv_string(in, "id", true, 200, &id, e) && !valid_id(id))
        app_err_field(e, "id", "must be a string of 1 to 200 characters");
    if (jv_string(in, "type", true, 40, &type, e) && type && leadscore_activity_type(type) < 0) {
        char list[512];
        leadscore_activity_types_text(list, sizeof list);
        app_err_field(e, "type", "must be one of %s", list);
    }
    if (jv_string(in, "occurred_at", true, 64, &at, e) && at && !crm_is_timestamp(at))
        app_err_field(e, "occurred_at", "must be an RFC 3339 timestamp such as 2026-03-01T12:00:00Z");
    static const char *const refs[] = {"lead", "deal", "account", "rep", "channel", "campaign", "session", NULL};
    const char *s;
    for (const char *const *k = refs; *k; k++)
        (void)jv_string(in, *k, false, 200, &s, e);
    (void)jv_string(in, "url", false, 2000, &s, e);
    const json_t *custom = json_object_get(in, "custom");
    if (custom && !json_is_null(custom)) {
        char *text = json_is_object(custom) ? json_dumps(custom, JSON_COMPACT) : NULL;
        if (!text || strlen(text) > 16384)
            app_err_field(e, "custom", "must be a JSON object of at most 16 KiB");
        free(text);
    }
    if (e->code != ERR_NONE)
        return NULL;
    json_t *out = json_object();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)in, key, v) if (!json_is_null(v)) json_object_set(out, key, v);
    return out;
}

typedef struct {
    const char *ws;
    char *items_text;
    PGresult *res; /* n, id, result */
    char *row;     /* single: the stored activity */
    const char *id;
} act_tx;

static int act_tx_run(db_conn *c, void *ctx, app_err *err)
{
    act_tx *t = ctx;
    PQclear(t->res);
    const char *p[] = {t->ws, t->items_text};
    t->res = db_query(c, "SELECT n, id, result FROM activity_insert_many($1::uuid, $2::jsonb) ORDER BY n", 2, p, err);
    if (!t->res)
        return -1;
    if (scoring_auto_mql(c, t->ws, t->items_text, err) != 0)
        return -1;
    if (!t->id)
        return 0;
    const char *q[] = {t->ws, t->id};
    PGresult *r = db_query(
        c, "SELECT activity_json(a) FROM activities a WHERE a.workspace_id = $1 AND a.external_id = $2", 2, q, err);
    if (!r)
        return -1;
    free(t->row);
    t->row = PQntuples(r) == 1 ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    return 0;
}

void h_activities_create(http_req *rq)
{
    app_err err = {0};
    if (!jv_require_object(rq->json, &err)) {
        http_reply_error(rq, &err);
        return;
    }
    json_t *a = activity_check(rq->json, &err);
    if (!a) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    act_tx t = {.ws = rq->auth.workspace_id, .id = json_string_value(json_object_get(a, "id"))};
    json_t *arr = json_pack("[O]", a);
    t.items_text = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    if (db && db_transaction(db, act_tx_run, &t, &err) != 0) {
        http_reply_error(rq, &err);
    } else if (db) {
        const char *res = PQgetvalue(t.res, 0, 2);
        if (strcmp(res, "conflict") == 0) {
            http_fail(rq, ERR_CONFLICT, "Activity %.200s exists with other content; activities are not edited", t.id);
        } else if (!t.row) {
            http_fail(rq, ERR_INTERNAL, "the activity vanished while it was written");
        } else {
            char loc[300];
            snprintf(loc, sizeof loc, "/v1/activities/%s", t.id);
            http_add_header(rq, "Location", loc);
            http_reply_json_text(rq, strcmp(res, "created") == 0 ? 201 : 200, t.row);
        }
    }
    json_decref(a);
    free(t.items_text);
    free(t.row);
    PQclear(t.res);
}

void h_activities_batch(http_req *rq)
{
    app_err err = {0};
    if (!jv_require_object(rq->json, &err)) {
        http_reply_error(rq, &err);
        return;
    }
    json_t *items = json_object_get(rq->json, "items");
    if (!json_is_array(items) || json_object_size(rq->json) != 1 || json_array_size(items) == 0 ||
        json_array_size(items) > ACTIVITY_BATCH_MAX) {
        app_err_field(&err, "items", "must be the only field: an array of 1 to %d objects", ACTIVITY_BATCH_MAX);
        http_reply_error(rq, &err);
        return;
    }
    json_t *results = json_array(), *good = json_array(), *where = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        app_err one = {0};
        json_t *a = activity_check(it, &one);
        const char *id = json_is_object(it) ? json_string_value(json_object_get(it, "id")) : NULL;
        json_t *res = json_pack("{s:I, s:o}", "index", (json_int_t)i, "id", id ? json_string(id) : json_null());
        if (!a) {
            json_t *errs = json_array();
            for (int k = 0; k < one.nfields; k++)
                json_array_append_new(
                    errs, json_pack("{s:s, s:s}", "field", one.fields[k].field, "message", one.fields[k].message));
            json_object_set_new(res, "status", json_string("rejected"));
            json_object_set_new(res, "errors", errs);
        } else {
            json_array_append_new(good, a);
            json_array_append_new(where, json_integer((json_int_t)i));
        }
        json_array_append_new(results, res);
    }
    act_tx t = {.ws = rq->auth.workspace_id};
    if (json_array_size(good) > 0) {
        db_conn *db = http_db(rq);
        if (!db)
            goto out;
        t.items_text = json_dumps(good, JSON_COMPACT);
        if (db_transaction(db, act_tx_run, &t, &err) != 0) {
            http_reply_error(rq, &err);
            goto out;
        }
        for (int k = 0; k < PQntuples(t.res); k++) {
            json_t *res = json_array_get(results, (size_t)json_integer_value(json_array_get(where, (size_t)k)));
            json_object_set_new(res, "status", json_string(PQgetvalue(t.res, k, 2)));
            if (strcmp(PQgetvalue(t.res, k, 2), "conflict") == 0)
                json_object_set_new(res, "errors",
                                    json_pack("[{s:s, s:s}]", "field", "id", "message",
                                              "exists with other content; activities are not edited"));
        }
    }
    static const char *const names[] = {"created", "duplicate", "conflict", "rejected"};
    long counts[4] = {0};
    json_array_foreach(results, i, it)
    {
        const char *st = json_string_value(json_object_get(it, "status"));
        for (int k = 0; k < 4; k++)
            if (st && strcmp(st, names[k]) == 0)
                counts[k]++;
    }
    json_t *body = json_pack("{s:O}", "results", results);
    for (int k = 0; k < 4; k++)
        json_object_set_new(body, names[k], json_integer(counts[k]));
    http_reply_json(rq, 200, body);
out:
    json_decref(results);
    json_decref(good);
    json_decref(where);
    free(t.items_text);
    PQclear(t.res);
}

void h_activities_get(http_req *rq)
{
    const char *id = rq->params[0];
    if (!valid_id(id)) {
        http_fail(rq, ERR_NOT_FOUND, "No activity with this id");
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    const char *p[] = {rq->auth.workspace_id, id};
    PGresult *r = db_query(
        db, "SELECT activity_json(a) FROM activities a WHERE a.workspace_id = $1 AND a.external_id = $2", 2, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    if (PQntuples(r) == 0)
        http_fail(rq, ERR_NOT_FOUND, "No activity with this id");
    else
        http_reply_json_text(rq, 200, PQgetvalue(r, 0, 0));
    PQclear(r);
}

void h_activities_list(http_req *rq)
{
    long limit;
    const char *cursor;
    if (!http_page_params(rq, false, &limit, &cursor))
        return;
    app_err err = {0};
    static const char *const names[] = {"lead", "deal", "account", "rep", "type", "channel", "campaign", NULL};
    const char *v[7];
    for (int k = 0; names[k]; k++) {
        v[k] = http_query(rq, names[k]);
        if (v[k] && (!*v[k] || strlen(v[k]) > 200))
            app_err_field(&err, names[k], "must be 1 to 200 characters");
    }
    if (v[4] && leadscore_activity_type(v[4]) < 0)
        app_err_field(&err, "type", "is not an activity type");
    const char *from = http_query(rq, "from"), *to = http_query(rq, "to");
    if (from && !crm_is_timestamp(from))
        app_err_field(&err, "from", "must be an RFC 3339 timestamp such as 2026-03-01T12:00:00Z");
    if (to && !crm_is_timestamp(to))
        app_err_field(&err, "to", "must be an RFC 3339 timestamp such as 2026-03-01T12:00:00Z");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    char lbuf[24];
    snprintf(lbuf, sizeof lbuf, "%ld", limit + 1);
    const char *p[] = {rq->auth.workspace_id, cursor, lbuf, v[0], v[1], v[2], v[3], v[4], v[5], v[6], from, to};
    /* time order (the feed a rep or analyst reads); the cursor is the last
     * item's id, whose (occurred_at, id) the next page starts after */
    PGresult *r =
        db_query(db,
                 "SELECT activity_json(a), a.external_id FROM activities a WHERE a.workspace_id = $1"
                 " AND ($2::text IS NULL OR (a.occurred_at, a.external_id) > (SELECT c.occurred_at, c.external_id"
                 "      FROM activities c WHERE c.workspace_id = $1 AND c.external_id = $2))"
                 " AND ($4::text IS NULL OR a.lead_id = $4) AND ($5::text IS NULL OR a.deal_id = $5)"
                 " AND ($6::text IS NULL OR a.account_id = $6) AND ($7::text IS NULL OR a.rep = $7)"
                 " AND ($8::text IS NULL OR a.type = $8) AND ($9::text IS NULL OR a.channel = $9)"
                 " AND ($10::text IS NULL OR a.campaign = $10)"
                 " AND ($11::timestamptz IS NULL OR a.occurred_at >= $11::timestamptz)"
                 " AND ($12::timestamptz IS NULL OR a.occurred_at < $12::timestamptz)"
                 " ORDER BY a.occurred_at, a.external_id LIMIT $3",
                 12, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    http_reply_page(rq, r, limit);
}

/* h_snapshots.c - pipeline snapshots: capture, list, read, delete, diff. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "fcdata.h"
#include "handlers.h"
#include "jsonv.h"
#include "pipediff.h"

/* The deals open at a past moment ts, as they were then (core/fcasof), as
 * the JSON array snapshot_take reads: probabilities with 15 significant
 * digits, as PostgreSQL turns a float8 into numeric. NULL with err set. */
static char *past_open_json(db_conn *db, const char *ws, double ts, app_err *err)
{
    const fcasof *h;
    fccache_ref *ref;
    if (fcdata_asof_raw(db, ws, ts, &h, &ref, err) != 0)
        return NULL;
    fcasof_row *rows = calloc(h->ndeals + 1, sizeof *rows);
    json_t *a = json_array();
    char *text = NULL;
    if (rows && a) {
        size_t n = fcasof_at(h, ts, rows);
        for (size_t i = 0; i < n; i++) {
            const fcasof_row *r = &rows[i];
            char close[16];
            json_array_append_new(
                a, json_pack("{s:s, s:s?, s:I, s:s?, s:s?, s:o, s:s?, s:s?, s:s?, s:s?}", "external_id", r->deal->id,
                             "name", r->deal->name, "amount_cents", (json_int_t)(r->has_amount ? r->amount : 0),
                             "stage", r->stage, "forecast_category", r->category, "probability",
                             isnan(r->probability) ? json_null() : json_real(r->probability), "expected_close_date",
                             r->close == FORECAST_NO_DATE ? NULL : caldate_format(r->close, close, sizeof close),
                             "owner", r->deal->owner, "segment", r->deal->segment, "account", r->deal->account));
        }
        text = json_dumps(a, JSON_COMPACT | JSON_REAL_PRECISION(15));
    }
    json_decref(a);
    free(rows);
    fccache_release(ref);
    if (!text)
        app_err_set(err, ERR_INTERNAL, "out of memory");
    return text;
}

int snapshots_take(db_conn *db, const char *ws, const char *label, const char *as_of, const char *kind,
                   const char *slot, char *id_out, size_t id_len, app_err *err)
{
    int fsm = workspace_fy_start(db, ws, err);
    if (fsm < 0 || funnels_ensure_default(db, ws, err) != 0)
        return -1;
    /* the period is the fiscal quarter holding as_of's UTC date; a past as_of
     * takes the pipeline as it was then */
    const char *tp[] = {as_of};
    PGresult *t =
        db_query(db,
                 "SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD'), extract(epoch FROM t)::float8, t < now()"
                 " FROM (SELECT COALESCE($1::timestamptz, now()) AS t) x",
                 1, tp, err);
    if (!t)
        return -1;
    char day[16];
    snprintf(day, sizeof day, "%s", PQgetvalue(t, 0, 0));
    double ts = atof(PQgetvalue(t, 0, 1));
    bool past = PQgetvalue(t, 0, 2)[0] == 't';
    PQclear(t);
    caldate_t d;
    if (!caldate_parse(day, &d)) {
        app_err_set(err, ERR_INTERNAL, "unreadable date %s", day);
        return -1;
    }
    char *open = past ? past_open_json(db, ws, ts, err) : NULL;
    if (past && !open)
        return -1;
    period q = period_containing(PERIOD_QUARTER, d, fsm);
    char plabel[16], ps[16], pe[16], deflabel[64];
    period_format(&q, plabel, sizeof plabel);
    snprintf(deflabel, sizeof deflabel, "%s %s", kind, day);
    const char *p[] = {ws,
                       label ? label : deflabel,
                       as_of,
                       kind,
                       slot,
                       plabel,
                       caldate_format(q.start, ps, sizeof ps),
                       caldate_format(q.end, pe, sizeof pe),
                       open};
    int f = db_query_value(db,
                           "SELECT snapshot_take($1, $2, COALESCE($3::timestamptz, now()), $4, $5::date, $6, $7::date,"
                           " $8::date, $9::jsonb)",
                           9, p, id_out, id_len, err);
    free(open);
    return f < 0 ? -1 : 0;
}

/* RFC 3339 date-time, e.g. 2026-03-31T17:00:00Z or with an offset. */
static bool rfc3339_ok(const char *s)
{
    caldate_t d;
    char date[11];
    if (strlen(s) < 20 || strlen(s) > 35)
        return false;
    memcpy(date, s, 10);
    date[10] = '\0';
    if (!caldate_parse(date, &d) || (s[10] != 'T' && s[10] != 't'))
        return false;
    int hh, mm, ss, n = 0;
    if (sscanf(s + 11, "%2d:%2d:%2d%n", &hh, &mm, &ss, &n) != 3 || n != 8 || hh > 23 || mm > 59 || ss > 60)
        return false;
    const char *r = s + 19;
    if (*r == '.') {
        r++;
        if (!(*r >= '0' && *r <= '9'))
            return false;
        while (*r >= '0' && *r <= '9')
            r++;
    }
    if ((*r == 'Z' || *r == 'z') && r[1] == '\0')
        return true;
    int oh, om;
    n = 0;
    return (*r == '+' || *r == '-') && sscanf(r + 1, "%2d:%2d%n", &oh, &om, &n) == 2 && n == 5 && r[6] == '\0' &&
           oh <= 23 && om <= 59;
}

void h_snapshots_create(http_req *rq)
{
    app_err err = {0};
    json_t *empty = NULL;
    const json_t *body = rq->json;
    if (!body)
        body = empty = json_object();
    if (!jv_require_object(body, &err)) {
        http_reply_error(rq, &err);
        return;
    }
    static const char *const allowed[] = {"label", "as_of", NULL};
    (void)jv_only_fields(body, allowed, &err);
    const char *label = NULL, *as_of = NULL;
    (void)jv_string(body, "label", false, 200, &label, &err);
    if (jv_string(body, "as_of", false, 40, &as_of, &err) && as_of && !rfc3339_ok(as_of))
        app_err_field(&err, "as_of", "must be an RFC 3339 timestamp such as 2026-03-31T17:00:00Z");
    db_conn *db = err.code == ERR_NONE ? http_db(rq) : NULL;
    char id[40] = "";
    if (err.code != ERR_NONE)
        http_reply_error(rq, &err);
    else if (db && snapshots_take(db, rq->auth.workspace_id, label, as_of, "manual", NULL, id, sizeof id, &err) != 0)
        http_reply_error(rq, &err);
    else if (db) {
        const char *p[] = {rq->auth.workspace_id, id};
        char *text = NULL;
        PGresult *r = db_query(db, "SELECT snapshot_json(s) FROM snapshots s WHERE workspace_id = $1 AND id = $2::uuid",
                               2, p, &err);
        if (r && PQntuples(r) == 1)
            text = strdup(PQgetvalue(r, 0, 0));
        PQclear(r);
        if (!text) {
            http_reply_error(rq, &err);
        } else {
            char loc[96];
            snprintf(loc, sizeof loc, "/v1/snapshots/%s", id);
            http_add_header(rq, "Location", loc);
            http_reply_json_text(rq, 201, text);
            free(text);
        }
    }
    json_decref(empty);
}

void h_snapshots_list(http_req *rq)
{
    http_reply_list(rq, true,
                    "SELECT snapshot_json(s), s.id FROM snapshots s WHERE s.workspace_id = $1"
                    " AND ($2::uuid IS NULL OR (s.created_at, s.id) < (SELECT created_at, id FROM snapshots"
                    "      WHERE id = $2::uuid AND workspace_id = $1))"
                    " ORDER BY s.created_at DESC, s.id DESC LIMIT $3");
}

/* The snapshot's JSON (new reference) or NULL after replying 404/503. */
static json_t *load_snapshot(http_req *rq, const char *id)
{
    PGresult *r = http_query_id(rq, NULL, id,
                                "SELECT snapshot_json(s) FROM snapshots s WHERE workspace_id = $1 AND id = $2::uuid",
                                "No snapshot with this id");
    if (!r)
        return NULL;
    json_t *j = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    if (!j)
        http_fail(rq, ERR_INTERNAL, "The stored snapshot could not be read");
    return j;
}

void h_snapshots_get(http_req *rq)
{
    const char *include = http_query(rq, "include");
    if (include && strcmp(include, "deals") != 0) {
        app_err err = {0};
        app_err_field(&err, "include", "must be 'deals'");
        http_reply_error(rq, &err);
        return;
    }
    long limit = 0;
    const char *cursor = NULL;
    if (include && !http_page_params(rq, false, &limit, &cursor))
        return;
    json_t *snap = load_snapshot(rq, rq->params[0]);
    if (!snap)
        return;
    db_conn *db = http_db(rq); /* the connection load_snapshot took */
    if (include) {
        app_err err = {0};
        char lbuf[24];
        snprintf(lbuf, sizeof lbuf, "%ld", limit + 1);
        const char *p[] = {rq->params[0], cursor, lbuf};
        PGresult *r =
            db_query(db,
                     "SELECT snapshot_deal_json(d), d.deal_id FROM snapshot_deals d WHERE snapshot_id = $1::uuid"
                     " AND ($2::text IS NULL OR d.deal_id > $2) ORDER BY d.deal_id LIMIT $3",
                     3, p, &err);
        if (!r) {
            json_decref(snap);
            http_reply_error(rq, &err);
            return;
        }
        json_t *items = json_array();
        int n = PQntuples(r);
        for (int i = 0; i < n && i < limit; i++)
            json_array_append_new(items, json_loads(PQgetvalue(r, i, 0), 0, NULL));
        json_t *next = n > limit ? json_string(PQgetvalue(r, (int)limit - 1, 1)) : json_null();
        PQclear(r);
        json_object_set_new(snap, "deals", json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
    }
    http_reply_json_etag(rq, snap); /* snapshots never change: cache forever by content */
}

void h_snapshots_delete(http_req *rq)
{
    if (!jv_is_uuid(rq->params[0])) {
        http_fail(rq, ERR_NOT_FOUND, "No snapshot with this id");
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    const char *p[] = {rq->auth.workspace_id, rq->params[0]};
    PGresult *r =
        db_query(db, "DELETE FROM snapshots WHERE workspace_id = $1 AND id = $2::uuid RETURNING id", 2, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    int n = PQntuples(r);
    PQclear(r);
    if (n)
        http_reply_empty(rq, 204);
    else
        http_fail(rq, ERR_NOT_FOUND, "No snapshot with this id");
}

/* ---- diff ------------------------------------------------------------------ */

typedef struct {
    char *id;
    char *name;
    char *stage;
    char *owner;
    char *close;
    char *status;
    pd_deal d;
} snap_row;

static pd_status status_of(const char *s)
{
    return strcmp(s, "won") == 0 ? PD_CLOSED_WON : strcmp(s, "lost") == 0 ? PD_CLOSED_LOST : PD_OPEN;
}

static int row_cmp(const void *x, const void *y)
{
    return strcmp(((const snap_row *)x)->id, ((const snap_row *)y)->id);
}

/* Rows of a snapshot sorted by deal id (bytewise, as COLLATE "C"); *n set.
 * NULL with err on failure. Sorted here: at 100k rows PostgreSQL's sort
 * spilled to disk (work_mem) and took more than half of the query. */
static snap_row *load_rows(db_conn *db, const char *snapshot_id, int *n, PGresult **keep, app_err *err)
{
    const char *p[] = {snapshot_id};
    PGresult *r = db_query(db,
                           "SELECT deal_id, name, amount_cents, status, COALESCE(stage_order, -1), expected_close_date,"
                           " owner, stage FROM snapshot_deals WHERE snapshot_id = $1::uuid",
                           1, p, err);
    if (!r)
        return NULL;
    *n = PQntuples(r);
    snap_row *rows = calloc((size_t)*n + 1, sizeof *rows);
    for (int i = 0; rows && i < *n; i++) {
        snap_row *x = &rows[i];
        x->id = PQgetvalue(r, i, 0);
        x->name = PQgetvalue(r, i, 1);
        x->d.amount = strtoll(PQgetvalue(r, i, 2), NULL, 10);
        x->status = PQgetvalue(r, i, 3);
        x->d.status = status_of(x->status);
        x->d.stage_order = atoi(PQgetvalue(r, i, 4));
        x->close = PQgetisnull(r, i, 5) ? NULL : PQgetvalue(r, i, 5);
        x->d.close = INT32_MIN;
        if (x->close && !caldate_parse(x->close, &x->d.close))
            x->d.close = INT32_MIN;
        x->owner = PQgetisnull(r, i, 6) ? NULL : PQgetvalue(r, i, 6);
        x->stage = PQgetisnull(r, i, 7) ? NULL : PQgetvalue(r, i, 7);
    }
    if (rows)
        qsort(rows, (size_t)*n, sizeof *rows, row_cmp);
    *keep = r; /* the strings point into it */
    return rows;
}

static json_t *nullable(const char *s) { return s ? json_string(s) : json_null(); }

static json_t *row_json(const snap_row *x)
{
    if (!x)
        return json_null();
    return json_pack("{s:f, s:o, s:s, s:o, s:o}", "amount", money_to_double(x->d.amount), "stage", nullable(x->stage),
                     "status", x->status, "expected_close_date", nullable(x->close), "owner", nullable(x->owner));
}

static json_t *money_j(money_t m) { return json_real(money_to_double(m)); }

void h_snapshots_diff(http_req *rq)
{
    const char *against = http_query(rq, "against");
    if (!against) {
        app_err err = {0};
        app_err_field(&err, "against", "is required: the id of the snapshot to compare with");
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    json_t *to = db ? load_snapshot(rq, rq->params[0]) : NULL;
    json_t *from = to ? load_snapshot(rq, against) : NULL;
    if (!from) {
        json_decref(to);
        return;
    }
    app_err err = {0};
    PGresult *ra = NULL, *rb = NULL;
    int na = 0, nb = 0;
    snap_row *a = load_rows(db, against, &na, &ra, &err);
    snap_row *b = a ? load_rows(db, rq->params[0], &nb, &rb, &err) : NULL;
    pd_pair *pairs = calloc((size_t)(na + nb) + 1, sizeof *pairs);
    const snap_row **names = calloc((size_t)(na + nb) + 1, sizeof *names);
    unsigned *kinds = calloc((size_t)(na + nb) + 1, sizeof *kinds);
    if (!a || !b || !pairs || !names || !kinds) {
        if (err.code == ERR_NONE)
            app_err_set(&err, ERR_INTERNAL, "out of memory");
        http_reply_error(rq, &err);
        goto done;
    }
    /* merge join on deal id; owners compare as strings, so the core sees
     * owner 0 before and 0 (same) or 1 (changed) after */
    int i = 0, j = 0;
    size_t np = 0;
    while (i < na || j < nb) {
        int c = i >= na ? 1 : j >= nb ? -1 : strcmp(a[i].id, b[j].id);
        if (c < 0) {
            pairs[np] = (pd_pair){&a[i].d, NULL};
            names[np++] = &a[i++];
        } else if (c > 0) {
            pairs[np] = (pd_pair){NULL, &b[j].d};
            names[np++] = &b[j++];
        } else {
            bool same =
                (!a[i].owner && !b[j].owner) || (a[i].owner && b[j].owner && strcmp(a[i].owner, b[j].owner) == 0);
            a[i].d.owner = 0;
            b[j].d.owner = same ? 0 : 1;
            pairs[np] = (pd_pair){&a[i].d, &b[j].d};
            names[np++] = &a[i];
            i++, j++;
        }
    }
    caldate_t period_close;
    if (!caldate_parse(json_string_value(json_object_get(from, "period_end")), &period_close)) {
        http_fail(rq, ERR_INTERNAL, "unreadable snapshot period");
        goto done;
    }
    period_close += 1; /* period_end is shown inclusive */
    pd_summary s;
    pipediff_compute(pairs, np, period_close, kinds, &s);
    json_t *counts = json_object();
    for (int k = 0; k < PD__KINDS; k++)
        json_object_set_new(counts, pipediff_kind_name(k), json_integer(s.counts[k]));
    json_t *changes = json_array();
    for (size_t k = 0; k < np; k++) {
        if (!kinds[k])
            continue;
        json_t *kl = json_array();
        for (int bit = 0; bit < PD__KINDS; bit++)
            if (kinds[k] & (1u << bit))
                json_array_append_new(kl, json_string(pipediff_kind_name(bit)));
        const snap_row *before = pairs[k].before ? names[k] : NULL;
        const snap_row *after = NULL;
        if (pairs[k].after) /* find the row holding this pd_deal */
            after = (const snap_row *)((const char *)pairs[k].after - offsetof(snap_row, d));
        json_array_append_new(changes,
                              json_pack("{s:s, s:s, s:o, s:o, s:o}", "deal", names[k]->id, "name", names[k]->name,
                                        "kinds", kl, "before", row_json(before), "after", row_json(after)));
    }
    json_t *wf = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "start", money_j(s.start), "new",
                           money_j(s.new_deals), "reopened", money_j(s.reopened), "amount_up", money_j(s.amount_up),
                           "amount_down", money_j(s.amount_down), "won", money_j(s.won), "lost", money_j(s.lost),
                           "removed", money_j(s.removed), "end", money_j(s.end));
    json_t *pp = json_pack("{s:O, s:o, s:o, s:o, s:o}", "period", json_object_get(from, "period"), "start",
                           money_j(s.period_start), "pushed", money_j(s.pushed), "pulled_in", money_j(s.pulled_in),
                           "end", money_j(s.period_end));
    json_t *out = json_pack("{s:{s:O, s:O, s:O}, s:{s:O, s:O, s:O}, s:o, s:o, s:o, s:o}", "from", "id",
                            json_object_get(from, "id"), "label", json_object_get(from, "label"), "as_of",
                            json_object_get(from, "as_of"), "to", "id", json_object_get(to, "id"), "label",
                            json_object_get(to, "label"), "as_of", json_object_get(to, "as_of"), "counts", counts,
                            "waterfall", wf, "period_pipeline", pp, "changes", changes);
    http_reply_json_etag(rq, out);
done:
    free(a);
    free(b);
    free(pairs);
    free(names);
    free(kinds);
    PQclear(ra);
    PQclear(rb);
    json_decref(to);
    json_decref(from);
}

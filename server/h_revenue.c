/* h_revenue.c - inputs of the board metrics: ARR movements, subscriptions
 * (from which movements are derived by core/arrmove), spend and finance. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrmove.h"
#include "caldate.h"
#include "handlers.h"
#include "jsonv.h"
#include "revenue.h"

#define BATCH_MAX 1000

/* The items of a "single object or {items:[...]}" body, as a new reference;
 * NULL after replying with the problem. */
static json_t *batch_items(http_req *rq)
{
    app_err err = {0};
    if (!jv_require_object(rq->json, &err)) {
        http_reply_error(rq, &err);
        return NULL;
    }
    json_t *items = json_object_get(rq->json, "items");
    if (!items)
        return json_pack("[O]", rq->json);
    if (!json_is_array(items) || json_object_size(rq->json) != 1 || json_array_size(items) == 0 ||
        json_array_size(items) > BATCH_MAX) {
        app_err_field(&err, "items", "must be the only field: an array of 1 to %d objects", BATCH_MAX);
        http_reply_error(rq, &err);
        return NULL;
    }
    return json_incref(items);
}

/* Validate each item with check(); errors get "items[i]." paths when the
 * body was a batch. check() appends the canonical row to rows. */
typedef void (*item_check)(const json_t *item, json_t *rows, void *ctx, app_err *e);

static json_t *check_items(http_req *rq, json_t *items, item_check check, void *ctx)
{
    bool batch = json_object_get(rq->json, "items") != NULL;
    app_err err = {0};
    json_t *rows = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        app_err one = {0};
        if (!json_is_object(it))
            app_err_field(&one, "item", "must be an object");
        else
            check(it, rows, ctx, &one);
        if (!batch) {
            err = one;
        } else {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "items[%zu]", i);
            jv_merge_prefixed(&err, &one, prefix);
        }
    }
    if (err.code != ERR_NONE) {
        json_decref(rows);
        http_reply_error(rq, &err);
        return NULL;
    }
    return rows;
}

/* Run an INSERT .. SELECT FROM jsonb_to_recordset($2) .. RETURNING x_json
 * and answer 201 {items:[...]}. */
static void insert_rows(http_req *rq, const char *sql, json_t *rows)
{
    char *text = json_dumps(rows, JSON_COMPACT);
    json_decref(rows);
    db_conn *db = text ? http_db(rq) : NULL;
    if (!db) {
        if (!text)
            http_fail(rq, ERR_INTERNAL, "could not encode rows");
        free(text);
        return;
    }
    app_err err = {0};
    const char *p[] = {rq->auth.workspace_id, text};
    PGresult *r = db_query(db, sql, 2, p, &err);
    free(text);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    json_t *out = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(out, json_loads(PQgetvalue(r, i, 0), 0, NULL));
    PQclear(r);
    http_reply_json(rq, 201, json_pack("{s:o}", "items", out));
}

static json_t *date_json(caldate_t d)
{
    char buf[16];
    return json_string(caldate_format(d, buf, sizeof buf));
}

/* ---- ARR events ---------------------------------------------------------- */

static void check_arr_event(const json_t *it, json_t *rows, void *ctx, app_err *e)
{
    (void)ctx;
    static const char *const allowed[] = {"account", "date", "kind", "amount", "note", NULL};
    (void)jv_only_fields(it, allowed, e);
    const char *account = NULL, *kind = NULL, *note = NULL;
    int date = 0;
    long long cents = 0;
    (void)jv_string(it, "account", true, 200, &account, e);
    (void)jv_date(it, "date", true, &date, NULL, e);
    if (jv_string(it, "kind", true, 16, &kind, e) && kind && arr_kind_parse(kind) < 0)
        app_err_field(e, "kind", "must be one of new, expansion, contraction, churn, reactivation");
    (void)jv_money(it, "amount", true, 1, &cents, NULL, e);
    if (json_object_get(it, "note") && !json_is_null(json_object_get(it, "note")))
        (void)jv_string(it, "note", false, 1000, &note, e);
    if (e->code != ERR_NONE)
        return;
    json_array_append_new(rows, json_pack("{s:s, s:o, s:s, s:I, s:s}", "account", account, "date", date_json(date),
                                          "kind", kind, "amount_cents", (json_int_t)cents, "note", note ? note : ""));
}

void h_arr_events_create(http_req *rq)
{
    json_t *items = batch_items(rq);
    if (!items)
        return;
    json_t *rows = check_items(rq, items, check_arr_event, NULL);
    json_decref(items);
    if (!rows)
        return;
    insert_rows(
        rq,
        "INSERT INTO arr_events (workspace_id, account, event_date, kind, amount_cents, note)"
        " SELECT $1, x.account, x.date, x.kind, x.amount_cents, x.note"
        " FROM ROWS FROM (jsonb_to_recordset($2::jsonb) AS (account text, date date, kind text,"
        "      amount_cents bigint, note text)) WITH ORDINALITY AS x(account, date, kind, amount_cents, note, n)"
        " ORDER BY x.n"
        " RETURNING arr_event_json(arr_events)",
        rows);
}

static bool optional_date_query(http_req *rq, const char *name, const char **out, app_err *err)
{
    caldate_t d;
    *out = http_query(rq, name);
    if (*out && !caldate_parse(*out, &d)) {
        app_err_field(err, name, "must be a date YYYY-MM-DD");
        return false;
    }
    return true;
}

void h_arr_events_list(http_req *rq)
{
    long limit;
    const char *cursor, *from, *to;
    if (!http_page_params(rq, true, &limit, &cursor))
        return;
    app_err err = {0};
    (void)optional_date_query(rq, "from", &from, &err);
    (void)optional_date_query(rq, "to", &to, &err);
    const char *account = http_query(rq, "account");
    const char *kind = http_query(rq, "kind");
    if (kind && arr_kind_parse(kind) < 0)
        app_err_field(&err, "kind", "must be one of new, expansion, contraction, churn, reactivation");
    if (account && (strlen(account) == 0 || strlen(account) > 200))
        app_err_field(&err, "account", "must be 1 to 200 characters");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    char lbuf[24];
    snprintf(lbuf, sizeof lbuf, "%ld", limit + 1);
    const char *p[] = {rq->auth.workspace_id, from, to, account, kind, cursor, lbuf};
    PGresult *r = db_query(
        db,
        "SELECT arr_event_json(e), e.id FROM arr_events e WHERE e.workspace_id = $1"
        " AND ($2::date IS NULL OR e.event_date >= $2::date) AND ($3::date IS NULL OR e.event_date <= $3::date)"
        " AND ($4::text IS NULL OR e.account = $4) AND ($5::text IS NULL OR e.kind = $5)"
        " AND ($6::uuid IS NULL OR (e.event_date, e.id) > (SELECT event_date, id FROM arr_events"
        "      WHERE id = $6::uuid AND workspace_id = $1))"
        " ORDER BY e.event_date, e.id LIMIT $7",
        7, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    http_reply_page(rq, r, limit);
}

/* ---- subscriptions ------------------------------------------------------- */

/* Rebuild the derived ('subscription') movements of one account. */
static int rederive_account(db_conn *c, const char *ws, const char *account, app_err *err)
{
    const char *p[] = {ws, account};
    PGresult *r = db_query(c,
                           "SELECT arr_cents, start_date, end_date FROM subscriptions"
                           " WHERE workspace_id = $1 AND account = $2",
                           2, p, err);
    if (!r)
        return -1;
    int n = PQntuples(r);
    arr_sub *subs = calloc((size_t)n + 1, sizeof *subs);
    arr_movement *moves = calloc(2 * (size_t)n + 1, sizeof *moves);
    int rc = -1, nm = 0;
    if (!subs || !moves) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    for (int i = 0; i < n; i++) {
        subs[i].arr = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        if (!caldate_parse(PQgetvalue(r, i, 1), &subs[i].start)) {
            app_err_set(err, ERR_INTERNAL, "unreadable subscription row");
            goto done;
        }
        subs[i].end = ARRMOVE_OPEN;
        if (!PQgetisnull(r, i, 2) && !caldate_parse(PQgetvalue(r, i, 2), &subs[i].end)) {
            app_err_set(err, ERR_INTERNAL, "unreadable subscription row");
            goto done;
        }
    }
    nm = arrmove_derive(subs, (size_t)n, moves);
    if (nm < 0) {
        app_err_set(err, ERR_VALIDATION, "the account's subscriptions are inconsistent");
        goto done;
    }
    if (db_exec(c, "DELETE FROM arr_events WHERE workspace_id = $1 AND account = $2 AND source = 'subscription'", 2, p,
                err) != 0)
        goto done;
    json_t *rows = json_array();
    for (int i = 0; i < nm; i++)
        json_array_append_new(rows,
                              json_pack("{s:o, s:s, s:I}", "date", date_json(moves[i].date), "kind",
                                        arr_kind_name(moves[i].kind), "amount_cents", (json_int_t)moves[i].amount));
    char *text = json_dumps(rows, JSON_COMPACT);
    json_decref(rows);
    const char *ip[] = {ws, account, text};
    rc = text ? db_exec(c,
                        "INSERT INTO arr_events (workspace_id, account, event_date, kind, amount_cents, source)"
                        " SELECT $1, $2, x.date, x.kind, x.amount_cents, 'subscription'"
                        " FROM jsonb_to_recordset($3::jsonb) AS x(date date, kind text, amount_cents bigint)",
                        3, ip, err)
              : -1;
    free(text);
done:
    PQclear(r);
    free(subs);
    free(moves);
    return rc;
}

int revenue_sub_put_tx(db_conn *c, void *ctx, app_err *err)
{
    sub_put *s = ctx;
    char cents[24];
    snprintf(cents, sizeof cents, "%lld", s->arr_cents);
    /* serialise every writer of this account's derived movements */
    const char *lp[] = {s->workspace_id, s->account};
    if (db_exec(c, "SELECT pg_advisory_xact_lock(hashtextextended($1 || ':arr:' || $2, 0))", 2, lp, err) != 0)
        return -1;
    char old_account[256] = "";
    const char *op[] = {s->workspace_id, s->external_id};
    int had =
        db_query_value(c, "SELECT account FROM subscriptions WHERE workspace_id = $1 AND external_id = $2 FOR UPDATE",
                       2, op, old_account, sizeof old_account, err);
    if (had < 0)
        return -1;
    const char *p[] = {s->workspace_id, s->external_id, s->account, cents, s->start, s->end, s->renewal};
    PGresult *r = db_query(c,
                           "INSERT INTO subscriptions AS t (workspace_id, external_id, account, arr_cents, start_date,"
                           " end_date, renewal_date) VALUES ($1, $2, $3, $4::bigint, $5::date, $6::date, $7::date)"
                           " ON CONFLICT (workspace_id, external_id) DO UPDATE SET account = EXCLUDED.account,"
                           " arr_cents = EXCLUDED.arr_cents, start_date = EXCLUDED.start_date,"
                           " end_date = EXCLUDED.end_date, renewal_date = EXCLUDED.renewal_date, updated_at = now()"
                           " RETURNING subscription_json(t)",
                           7, p, err);
    if (!r)
        return -1;
    free(s->result);
    s->result = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    s->created = had == 0;
    if (rederive_account(c, s->workspace_id, s->account, err) != 0)
        return -1;
    if (had == 1 && strcmp(old_account, s->account) != 0)
        return rederive_account(c, s->workspace_id, old_account, err);
    return 0;
}

void h_subscriptions_put(http_req *rq)
{
    static const char *const allowed[] = {"account", "arr", "start_date", "end_date", "renewal_date", NULL};
    app_err err = {0};
    const char *id = rq->params[0];
    if (strlen(id) > 200) {
        http_fail(rq, ERR_NOT_FOUND, "Subscription ids are at most 200 characters");
        return;
    }
    if (!jv_require_object(rq->json, &err)) {
        http_reply_error(rq, &err);
        return;
    }
    (void)jv_only_fields(rq->json, allowed, &err);
    sub_put s = {.workspace_id = rq->auth.workspace_id, .external_id = id};
    int start = 0, end = 0, renewal = 0;
    bool has_end = false, has_renewal = false;
    (void)jv_string(rq->json, "account", true, 200, &s.account, &err);
    (void)jv_money(rq->json, "arr", true, 0, &s.arr_cents, NULL, &err);
    (void)jv_date(rq->json, "start_date", true, &start, NULL, &err);
    (void)jv_date(rq->json, "end_date", false, &end, &has_end, &err);
    (void)jv_date(rq->json, "renewal_date", false, &renewal, &has_renewal, &err);
    if (err.code == ERR_NONE && has_end && end <= start)
        app_err_field(&err, "end_date", "must be after start_date");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    char sb[16], eb[16], rb[16];
    s.start = caldate_format(start, sb, sizeof sb);
    s.end = has_end ? caldate_format(end, eb, sizeof eb) : NULL;
    s.renewal = has_renewal ? caldate_format(renewal, rb, sizeof rb) : NULL;
    db_conn *db = http_db(rq);
    if (!db)
        return;
    if (db_transaction(db, revenue_sub_put_tx, &s, &err) != 0) {
        free(s.result);
        http_reply_error(rq, &err);
        return;
    }
    http_reply_json_text(rq, s.created ? 201 : 200, s.result);
    free(s.result);
}

void h_subscriptions_list(http_req *rq)
{
    http_reply_list(rq, false,
                    "SELECT subscription_json(s), s.external_id FROM subscriptions s WHERE s.workspace_id = $1"
                    " AND ($2::text IS NULL OR s.external_id > $2) ORDER BY s.external_id LIMIT $3");
}

/* ---- spend and finance --------------------------------------------------- */

void revenue_spend_check(const json_t *it, json_t *rows, void *ctx, app_err *e)
{
    int fsm = *(int *)ctx;
    static const char *const allowed[] = {"period", "category", "channel", "segment", "amount", NULL};
    static const char *const categories[] = {"sales", "marketing", "customer_success", "other", NULL};
    (void)jv_only_fields(it, allowed, e);
    const char *period_s = NULL, *category = NULL, *channel = NULL, *segment = NULL;
    long long cents = 0;
    period per;
    if (jv_string(it, "period", true, 16, &period_s, e) && period_s && !period_parse(period_s, fsm, &per))
        app_err_field(e, "period", "must be a period such as 2026-Q1, 2026-03 or FY2026");
    if (jv_string(it, "category", true, 32, &category, e) && category) {
        bool ok = false;
        for (const char *const *c = categories; *c; c++)
            ok = ok || strcmp(*c, category) == 0;
        if (!ok)
            app_err_field(e, "category", "must be one of sales, marketing, customer_success, other");
    }
    (void)jv_string(it, "channel", false, 200, &channel, e);
    (void)jv_string(it, "segment", false, 200, &segment, e);
    (void)jv_money(it, "amount", true, 0, &cents, NULL, e);
    if (e->code != ERR_NONE)
        return;
    char label[16];
    json_array_append_new(
        rows, json_pack("{s:s, s:o, s:o, s:s, s:s, s:s, s:I}", "period", period_format(&per, label, sizeof label),
                        "start", date_json(per.start), "end", date_json(per.end), "category", category, "channel",
                        channel ? channel : "", "segment", segment ? segment : "", "amount_cents", (json_int_t)cents));
}

void h_spend_create(http_req *rq)
{
    json_t *items = batch_items(rq);
    if (!items)
        return;
    db_conn *db = http_db(rq);
    app_err err = {0};
    int fsm = db ? workspace_fy_start(db, rq->auth.workspace_id, &err) : -1;
    if (fsm < 0) {
        json_decref(items);
        if (db)
            http_reply_error(rq, &err);
        return;
    }
    json_t *rows = check_items(rq, items, revenue_spend_check, &fsm);
    json_decref(items);
    if (!rows)
        return;
    insert_rows(rq, REVENUE_SPEND_INSERT_SQL, rows);
}

void h_spend_list(http_req *rq)
{
    long limit;
    const char *cursor;
    if (!http_page_params(rq, true, &limit, &cursor))
        return;
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    const char *period_s = http_query(rq, "period");
    char label[16] = "";
    if (period_s) {
        period per;
        int fsm = workspace_fy_start(db, rq->auth.workspace_id, &err);
        if (fsm < 0) {
            http_reply_error(rq, &err);
            return;
        }
        if (!period_parse(period_s, fsm, &per)) {
            app_err_field(&err, "period", "must be a period such as 2026-Q1, 2026-03 or FY2026");
            http_reply_error(rq, &err);
            return;
        }
        period_format(&per, label, sizeof label);
    }
    char lbuf[24];
    snprintf(lbuf, sizeof lbuf, "%ld", limit + 1);
    const char *p[] = {rq->auth.workspace_id, period_s ? label : NULL, cursor, lbuf};
    PGresult *r = db_query(db,
                           "SELECT spend_json(s), s.id FROM spend s WHERE s.workspace_id = $1"
                           " AND ($2::text IS NULL OR s.period = $2)"
                           " AND ($3::uuid IS NULL OR (s.period_start, s.id) > (SELECT period_start, id FROM spend"
                           "      WHERE id = $3::uuid AND workspace_id = $1))"
                           " ORDER BY s.period_start, s.id LIMIT $4",
                           4, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    http_reply_page(rq, r, limit);
}

void h_finance_put(http_req *rq)
{
    static const char *const allowed[] = {"gross_margin", "net_burn", NULL};
    app_err err = {0};
    if (!jv_require_object(rq->json, &err)) {
        http_reply_error(rq, &err);
        return;
    }
    (void)jv_only_fields(rq->json, allowed, &err);
    double gm = 0;
    long long burn = 0;
    bool has_gm = false, has_burn = false;
    (void)jv_number(rq->json, "gross_margin", false, 0.0, 1.0, &gm, &has_gm, &err);
    (void)jv_money(rq->json, "net_burn", false, -MONEY_MAX_ABS, &burn, &has_burn, &err);
    if (err.code == ERR_NONE && !has_gm && !has_burn)
        app_err_field(&err, "gross_margin", "give gross_margin, net_burn or both");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    int fsm = workspace_fy_start(db, rq->auth.workspace_id, &err);
    period per;
    if (fsm < 0) {
        http_reply_error(rq, &err);
        return;
    }
    if (!period_parse(rq->params[0], fsm, &per)) {
        http_fail(rq, ERR_NOT_FOUND, "No period '%.40s': use 2026-Q1, 2026-03 or FY2026", rq->params[0]);
        return;
    }
    char label[16], sb[16], eb[16], gmb[32], bb[24];
    period_format(&per, label, sizeof label);
    snprintf(gmb, sizeof gmb, "%.5f", gm);
    snprintf(bb, sizeof bb, "%lld", burn);
    const char *p[] = {rq->auth.workspace_id,
                       label,
                       caldate_format(per.start, sb, sizeof sb),
                       caldate_format(per.end, eb, sizeof eb),
                       has_gm ? gmb : NULL,
                       has_burn ? bb : NULL};
    PGresult *r = db_query(db, REVENUE_FINANCE_UPSERT_SQL, 6, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    int status = strcmp(PQgetvalue(r, 0, 1), "t") == 0 ? 201 : 200;
    http_reply_json_text(rq, status, PQgetvalue(r, 0, 0));
    PQclear(r);
}

void h_finance_list(http_req *rq)
{
    http_reply_list(rq, false,
                    "SELECT finance_json(f), f.period FROM finance_periods f WHERE f.workspace_id = $1"
                    " AND ($2::text IS NULL OR (f.period_start, f.period) > (SELECT period_start, period"
                    "      FROM finance_periods WHERE workspace_id = $1 AND period = $2))"
                    " ORDER BY f.period_start, f.period LIMIT $3");
}

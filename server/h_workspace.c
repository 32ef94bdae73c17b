/* h_workspace.c - the caller's workspace settings and its API keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "handlers.h"
#include "jsonv.h"
#include "workweek.h"

/* At most this many holidays: ten years of a long public-holiday calendar. */
#define WORKSPACE_MAX_HOLIDAYS 1000

/* The workspace document of a row of (workspace_json(w), w.work_hours):
 * the SQL renders every field but working_hours, which is rendered here from
 * work_hours' text (core/workweek.c) and put first. The seven windows as SQL
 * expressions were some 120 nodes that PostgreSQL builds again on every
 * execution of the prepared statement, and cost GET /v1/workspace a third of
 * its throughput (docs/benchmarks-notes.md, issue 17). */
static void reply_workspace(http_req *rq, PGresult *r)
{
    char wh[WORKWEEK_JSON_MAX];
    const char *doc = PQntuples(r) ? PQgetvalue(r, 0, 0) : NULL;
    if (!doc)
        http_fail(rq, ERR_NOT_FOUND, "Not found");
    else if (doc[0] != '{' || workweek_render_pg(PQgetvalue(r, 0, 1), wh, sizeof wh) < 0)
        http_fail(rq, ERR_INTERNAL, "The workspace's working hours could not be rendered");
    else {
        size_t cap = strlen(wh) + strlen(doc) + 24;
        char *out = malloc(cap);
        if (!out)
            http_fail(rq, ERR_INTERNAL, "out of memory");
        else {
            int n = snprintf(out, cap, "{\"working_hours\": %s%s%s", wh, strcmp(doc, "{}") ? ", " : "", doc + 1);
            http_reply_text(rq, 200, "application/json", out, (size_t)n);
        }
    }
    PQclear(r);
}

void h_workspace_get(http_req *rq)
{
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    const char *params[] = {rq->auth.workspace_id};
    PGresult *r =
        db_query_prepared(db, DB_PREP_WORKSPACE_GET,
                          "SELECT workspace_json(w), w.work_hours FROM workspaces w WHERE id = $1", 1, params, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    reply_workspace(rq, r);
}

/* working_hours in a PATCH: an object of weekday -> {"start": "HH:MM", "end":
 * "HH:MM"} or null (a day off); days it does not name keep their window.
 * Fills buf with a JSON object of ISO weekday number -> int4range text for
 * the UPDATE to merge ({"1": "[540,1020)", "7": "empty"}). False with field
 * errors on bad input. */
static bool parse_working_hours(const json_t *wh, char *buf, size_t len, app_err *err)
{
    if (!json_is_object(wh)) {
        app_err_field(err, "working_hours", "must be an object of weekday (monday ... sunday) -> {start, end} or null");
        return false;
    }
    bool ok = true;
    size_t used = 0;
    used += (size_t)snprintf(buf + used, len - used, "{");
    const char *day;
    const json_t *v;
    json_object_foreach((json_t *)wh, day, v)
    {
        char field[96];
        int d = workweek_day_index(day);
        snprintf(field, sizeof field, "working_hours.%.40s", day);
        if (d < 0) {
            app_err_field(err, field, "is not a weekday: monday, tuesday, ... sunday");
            ok = false;
            continue;
        }
        char range[32] = "empty";
        if (!json_is_null(v)) {
            static const char *const keys[] = {"start", "end", NULL};
            app_err sub = {0};
            const char *st = NULL, *en = NULL;
            if (!json_is_object(v)) {
                app_err_field(err, field, "must be {\"start\": \"HH:MM\", \"end\": \"HH:MM\"} or null (a day off)");
                ok = false;
                continue;
            }
            (void)jv_only_fields(v, keys, &sub);
            (void)jv_string(v, "start", true, 5, &st, &sub);
            (void)jv_string(v, "end", true, 5, &en, &sub);
            int a = st ? workweek_parse_hhmm(st) : -1, b = en ? workweek_parse_hhmm(en) : -1;
            if (st && (a < 0 || a == WORKWEEK_DAY_MINUTES))
                app_err_field(&sub, "start", "must be a time HH:MM from 00:00 to 23:59");
            if (en && b < 0)
                app_err_field(&sub, "end", "must be a time HH:MM from 00:01 to 24:00");
            if (sub.code == ERR_NONE && !workweek_window_ok(a, b))
                app_err_field(&sub, "end", "must be after start (one window a day, within 00:00-24:00)");
            if (sub.code != ERR_NONE) {
                jv_merge_prefixed(err, &sub, field);
                ok = false;
                continue;
            }
            snprintf(range, sizeof range, "[%d,%d)", a, b);
        }
        used += (size_t)snprintf(buf + used, len - used, "%s\"%d\":\"%s\"", used > 1 ? "," : "", d + 1, range);
    }
    snprintf(buf + used, len - used, "}");
    return ok;
}

/* holidays in a PATCH: an array of local dates "YYYY-MM-DD" (replacing the
 * list), or null (none). Fills buf with a PostgreSQL date[] literal. */
static bool parse_holidays(const json_t *h, char *buf, size_t len, app_err *err)
{
    size_t used = (size_t)snprintf(buf, len, "{");
    if (json_is_null(h)) {
        snprintf(buf + used, len - used, "}");
        return true;
    }
    if (!json_is_array(h) || json_array_size(h) > WORKSPACE_MAX_HOLIDAYS) {
        app_err_field(err, "holidays", "must be an array of at most %d dates YYYY-MM-DD, or null",
                      WORKSPACE_MAX_HOLIDAYS);
        return false;
    }
    bool ok = true;
    size_t i;
    const json_t *v;
    json_array_foreach(h, i, v)
    {
        caldate_t d;
        const char *s = json_string_value(v);
        if (!s || strlen(s) != 10 || !caldate_parse(s, &d)) {
            char field[32];
            snprintf(field, sizeof field, "holidays[%zu]", i);
            app_err_field(err, field, "must be a date YYYY-MM-DD");
            ok = false;
            continue;
        }
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "", s);
    }
    snprintf(buf + used, len - used, "}");
    return ok;
}

void h_workspace_patch(http_req *rq)
{
    static const char *const allowed[] = {"name",
                                          "currency",
                                          "fiscal_year_start_month",
                                          "timezone",
                                          "working_hours",
                                          "holidays",
                                          "snapshot_schedule",
                                          "snapshot_hour",
                                          "snapshot_keep_daily_days",
                                          "snapshot_keep_weekly_days",
                                          NULL};
    app_err err = {0};
    if (!jv_require_object(rq->json, &err)) {
        http_reply_error(rq, &err);
        return;
    }
    (void)jv_only_fields(rq->json, allowed, &err); /* keep going: report every bad field at once */
    const char *name = NULL, *currency = NULL, *tz = NULL;
    long long fy = 0;
    bool fy_present = false;
    (void)jv_string(rq->json, "name", false, 200, &name, &err);
    if (jv_string(rq->json, "currency", false, 3, &currency, &err) && currency) {
        bool ok = strlen(currency) == 3;
        for (int i = 0; ok && i < 3; i++)
            ok = currency[i] >= 'A' && currency[i] <= 'Z';
        if (!ok)
            app_err_field(&err, "currency", "must be an ISO 4217 code such as USD");
    }
    (void)jv_int(rq->json, "fiscal_year_start_month", false, 1, 12, &fy, &fy_present, &err);
    (void)jv_string(rq->json, "timezone", false, 64, &tz, &err);
    /* working hours: merged day by day; holidays: replaced */
    const json_t *wh = json_object_get(rq->json, "working_hours"), *hol = json_object_get(rq->json, "holidays");
    char whbuf[WORKWEEK_DAYS * 32 + 8];
    char *holbuf = NULL;
    if (wh)
        (void)parse_working_hours(wh, whbuf, sizeof whbuf, &err);
    if (hol) {
        holbuf = malloc(WORKSPACE_MAX_HOLIDAYS * 11 + 8);
        if (!holbuf) {
            http_fail(rq, ERR_INTERNAL, "out of memory");
            return;
        }
        (void)parse_holidays(hol, holbuf, WORKSPACE_MAX_HOLIDAYS * 11 + 8, &err);
    }
    /* snapshot schedule: null turns it off, so presence matters, not just the value */
    const json_t *sched = json_object_get(rq->json, "snapshot_schedule");
    const char *sched_s = json_string_value(sched);
    if (sched && !json_is_null(sched) &&
        (!sched_s || (strcmp(sched_s, "daily") != 0 && strcmp(sched_s, "weekly") != 0)))
        app_err_field(&err, "snapshot_schedule", "must be daily, weekly or null");
    long long hour = 0, keep_d = 0, keep_w = 0;
    bool hour_p = false, keep_d_p = false, keep_w_p = false;
    (void)jv_int(rq->json, "snapshot_hour", false, 0, 23, &hour, &hour_p, &err);
    (void)jv_int(rq->json, "snapshot_keep_daily_days", false, 1, 36500, &keep_d, &keep_d_p, &err);
    (void)jv_int(rq->json, "snapshot_keep_weekly_days", false, 1, 36500, &keep_w, &keep_w_p, &err);
    PGresult *r = NULL;
    db_conn *db = err.code == ERR_NONE ? http_db(rq) : NULL;
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        goto done;
    }
    if (!db)
        goto done;
    if (tz) {
        char found[8];
        const char *tp[] = {tz};
        int f = db_query_value(db, "SELECT 1 FROM pg_timezone_names WHERE name = $1", 1, tp, found, sizeof found, &err);
        if (f < 0) {
            http_reply_error(rq, &err);
            goto done;
        }
        if (f == 0) {
            app_err_field(&err, "timezone", "must be an IANA time zone such as Europe/Berlin");
            http_reply_error(rq, &err);
            goto done;
        }
    }
    char fybuf[8], hb[8], kdb[16], kwb[16];
    snprintf(fybuf, sizeof fybuf, "%lld", fy);
    snprintf(hb, sizeof hb, "%lld", hour);
    snprintf(kdb, sizeof kdb, "%lld", keep_d);
    snprintf(kwb, sizeof kwb, "%lld", keep_w);
    const char *params[] = {
        rq->auth.workspace_id, name,    currency,           fy_present ? fybuf : NULL, tz,
        sched ? "t" : "f",     sched_s, hour_p ? hb : NULL, keep_d_p ? kdb : NULL,     keep_w_p ? kwb : NULL,
        wh ? whbuf : NULL,     holbuf};
    r = db_query(db,
                 "UPDATE workspaces w SET name = COALESCE($2, name), currency = COALESCE($3, currency),"
                 " fiscal_year_start_month = COALESCE($4::smallint, fiscal_year_start_month),"
                 " timezone = COALESCE($5, timezone),"
                 " snapshot_schedule = CASE WHEN $6::boolean THEN $7 ELSE snapshot_schedule END,"
                 " snapshot_hour = COALESCE($8::smallint, snapshot_hour),"
                 " snapshot_keep_daily_days = COALESCE($9::int, snapshot_keep_daily_days),"
                 " snapshot_keep_weekly_days = COALESCE($10::int, snapshot_keep_weekly_days),"
                 " work_hours = CASE WHEN $11::jsonb IS NULL THEN work_hours ELSE ARRAY("
                 "   SELECT COALESCE(($11::jsonb ->> n.i::text)::int4range, n.h)"
                 "   FROM unnest(work_hours) WITH ORDINALITY AS n(h, i) ORDER BY n.i) END,"
                 " holidays = CASE WHEN $12::date[] IS NULL THEN holidays"
                 "   ELSE ARRAY(SELECT DISTINCT d FROM unnest($12::date[]) AS d ORDER BY d) END,"
                 " updated_at = now()"
                 " WHERE id = $1 RETURNING workspace_json(w), w.work_hours",
                 12, params, &err);
    if (!r) {
        if (err.code == ERR_CONFLICT)
            app_err_set(&err, ERR_CONFLICT, "Another workspace already has this name");
        http_reply_error(rq, &err);
        goto done;
    }
    reply_workspace(rq, r);
done:
    free(holbuf);
}

void h_keys_create(http_req *rq)
{
    static const char *const allowed[] = {"role", "name", NULL};
    app_err err = {0};
    if (!jv_require_object(rq->json, &err)) {
        http_reply_error(rq, &err);
        return;
    }
    (void)jv_only_fields(rq->json, allowed, &err);
    const char *role = NULL, *name = NULL;
    if (jv_string(rq->json, "role", true, 16, &role, &err) && auth_role_parse(role) == ROLE_NONE)
        app_err_field(&err, "role", "must be one of read, write, admin");
    (void)jv_string(rq->json, "name", false, 200, &name, &err);
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    char key[AUTH_KEY_LEN + 1];
    char *row = NULL;
    if (auth_create_key(db, rq->auth.workspace_id, auth_role_parse(role), name, key, sizeof key, &row, &err) != 0) {
        http_reply_error(rq, &err);
        return;
    }
    json_t *obj = json_loads(row, 0, NULL);
    free(row);
    if (!obj) {
        http_fail(rq, ERR_INTERNAL, "could not decode the new key");
        return;
    }
    json_object_set_new(obj, "key", json_string(key)); /* shown this once only */
    char loc[96];
    snprintf(loc, sizeof loc, "/v1/keys/%s", json_string_value(json_object_get(obj, "id")));
    http_add_header(rq, "Location", loc);
    http_reply_json(rq, 201, obj);
}

void h_keys_list(http_req *rq)
{
    http_reply_list(rq, true,
                    "SELECT api_key_json(k), k.id FROM api_keys k WHERE k.workspace_id = $1"
                    " AND ($2::uuid IS NULL OR (k.created_at, k.id) > (SELECT created_at, id FROM api_keys"
                    "      WHERE id = $2::uuid AND workspace_id = $1))"
                    " ORDER BY k.created_at, k.id LIMIT $3");
}

int workspace_fy_start(db_conn *db, const char *workspace_id, app_err *err)
{
    char buf[8];
    const char *p[] = {workspace_id};
    int f =
        db_query_value(db, "SELECT fiscal_year_start_month FROM workspaces WHERE id = $1", 1, p, buf, sizeof buf, err);
    if (f <= 0) {
        if (f == 0)
            app_err_set(err, ERR_NOT_FOUND, "workspace not found");
        return -1;
    }
    return atoi(buf);
}

void h_keys_delete(http_req *rq)
{
    const char *id = rq->params[0];
    if (!jv_is_uuid(id)) {
        http_fail(rq, ERR_NOT_FOUND, "No API key with this id");
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    /* Revoke, but never the workspace's last active admin key: that would
     * lock its owners out with no way back in through the API. */
    const char *params[] = {rq->auth.workspace_id, id};
    PGresult *r = db_query(
        db,
        "WITH target AS (SELECT id, role FROM api_keys WHERE workspace_id = $1 AND id = $2::uuid AND revoked_at IS NULL"
        "   FOR UPDATE),"
        " admins AS (SELECT count(*) AS n FROM api_keys WHERE workspace_id = $1 AND role = 'admin' AND revoked_at IS "
        "NULL)"
        " UPDATE api_keys k SET revoked_at = now() FROM target, admins"
        " WHERE k.id = target.id AND (target.role <> 'admin' OR admins.n > 1)"
        " RETURNING k.id",
        2, params, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    int updated = PQntuples(r);
    PQclear(r);
    if (updated == 1) {
        auth_cache_clear(); /* the revoked key stops working here at once */
        http_reply_empty(rq, 204);
        return;
    }
    char exists[8];
    int f =
        db_query_value(db, "SELECT 1 FROM api_keys WHERE workspace_id = $1 AND id = $2::uuid AND revoked_at IS NULL", 2,
                       params, exists, sizeof exists, &err);
    if (f < 0)
        http_reply_error(rq, &err);
    else if (f == 0)
        http_fail(rq, ERR_NOT_FOUND, "No active API key with this id");
    else
        http_fail(rq, ERR_CONFLICT, "This is the workspace's last admin key; create another admin key first");
}

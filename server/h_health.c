/* h_health.c - account health inputs (usage per account and day, support
 * tickets with CSAT, NPS responses), the accounts at risk of a quarter with
 * the ARR renewing x risk, and the seed's expansion and churn signals. The
 * score and the rules are core/health's; SQL reads the windows
 * (account_health_inputs, sql/72_reps.sql). A usage write also judges its
 * accounts against the PQL definition (h_pql.c) in its transaction. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "health.h"
#include "jsonv.h"
#include "jtext.h"

#define MAX_BATCH 1000

/* ---- writes ---- */

typedef bool (*item_fn)(const json_t *in, json_t *out, json_t *seen, app_err *err);

/* One item or {"items": [...]} (1 to MAX_BATCH), each checked by fn into a
 * normalised array; errors name items[i].field. NULL after replying. */
static json_t *decode_batch(http_req *rq, item_fn fn)
{
    app_err err = {0};
    const json_t *body = rq->json, *items = json_object_get(body, "items");
    if (!jv_require_object(body, &err)) {
        http_reply_error(rq, &err);
        return NULL;
    }
    bool batch = items != NULL;
    if (batch && (!json_is_array(items) || json_array_size(items) < 1 || json_array_size(items) > MAX_BATCH)) {
        http_fail(rq, ERR_VALIDATION, "items must be a list of 1 to %d objects", MAX_BATCH);
        return NULL;
    }
    if (batch && json_object_size(body) != 1) {
        http_fail(rq, ERR_VALIDATION, "a batch body has only \"items\"");
        return NULL;
    }
    json_t *out = json_array(), *seen = json_object();
    size_t n = batch ? json_array_size(items) : 1;
    for (size_t i = 0; i < n; i++) {
        const json_t *it = batch ? json_array_get(items, i) : body;
        app_err sub = {0};
        json_t *o = json_object();
        if (!json_is_object(it))
            app_err_field(&sub, "item", "must be an object");
        else if (fn(it, o, seen, &sub))
            json_array_append(out, o);
        json_decref(o);
        char prefix[32];
        snprintf(prefix, sizeof prefix, "items[%zu]", i);
        if (batch)
            jv_merge_prefixed(&err, &sub, prefix);
        else if (sub.code != ERR_NONE)
            err = sub;
    }
    json_decref(seen);
    if (err.code != ERR_NONE) {
        json_decref(out);
        http_reply_error(rq, &err);
        return NULL;
    }
    return out;
}

static void set_count(json_t *o, const json_t *in, const char *k, long long max, app_err *err)
{
    long long v = 0;
    bool has = false;
    const json_t *x = json_object_get(in, k);
    if (x && !json_is_null(x) && jv_int(in, k, false, 0, max, &v, &has, err) && has)
        json_object_set_new(o, k, json_integer(v));
}

/* A list of up to 100 names (1 to 200 characters each). */
static void set_names(json_t *o, const json_t *in, const char *k, app_err *err)
{
    const json_t *d = json_object_get(in, k);
    if (!d || json_is_null(d))
        return;
    size_t i;
    const json_t *x;
    if (!json_is_array(d) || json_array_size(d) > 100)
        app_err_field(err, k, "must be a list of up to 100 names");
    else
        json_array_foreach(d, i, x) if (!json_is_string(x) || !json_string_length(x) || json_string_length(x) > 200)
        {
            app_err_field(err, k, "item %zu must be a name (1 to 200 characters)", i);
            break;
        }
    json_object_set_new(o, k, json_deep_copy(d));
}

static void set_flag(json_t *o, const json_t *in, const char *k, app_err *err)
{
    const json_t *x = json_object_get(in, k);
    if (!x || json_is_null(x))
        return;
    if (!json_is_boolean(x))
        app_err_field(err, k, "must be true or false");
    else
        json_object_set(o, k, (json_t *)x);
}

static bool usage_item(const json_t *in, json_t *o, json_t *seen, app_err *err)
{
    static const char *const allowed[] = {"account",
                                          "date",
                                          "seats_used",
                                          "seats_limit",
                                          "active_users",
                                          "api_calls",
                                          "departments",
                                          "onboarding_completed",
                                          "active_users_7d",
                                          "core_features",
                                          "users_invited",
                                          "integrations_connected",
                                          "shared_externally",
                                          "domain",
                                          NULL};
    const char *acc = NULL;
    int day = 0;
    (void)jv_only_fields(in, allowed, err);
    (void)jv_string(in, "account", true, 200, &acc, err);
    bool has_day = jv_date(in, "date", true, &day, NULL, err);
    set_count(o, in, "seats_used", 100000000, err);
    set_count(o, in, "seats_limit", 100000000, err);
    set_count(o, in, "active_users", 100000000, err);
    set_count(o, in, "api_calls", 1000000000000000LL, err);
    set_names(o, in, "departments", err);
    /* what the PQL definition and the self-serve signals read (h_pql.c) */
    set_count(o, in, "active_users_7d", 100000000, err);
    set_count(o, in, "users_invited", 100000000, err);
    set_count(o, in, "integrations_connected", 100000, err);
    set_names(o, in, "core_features", err);
    set_flag(o, in, "onboarding_completed", err);
    set_flag(o, in, "shared_externally", err);
    const char *dom = NULL;
    if (json_object_get(in, "domain") && !json_is_null(json_object_get(in, "domain")) &&
        jv_string(in, "domain", false, 253, &dom, err) && dom)
        json_object_set_new(o, "domain", json_string(dom));
    if (err->code != ERR_NONE || !acc || !has_day)
        return false;
    char key[240], db[16];
    caldate_format(day, db, sizeof db);
    snprintf(key, sizeof key, "%s|%s", db, acc);
    if (json_object_get(seen, key)) {
        app_err_field(err, "date", "the batch has this account and day twice");
        return false;
    }
    json_object_set_new(seen, key, json_true());
    json_object_set_new(o, "account", json_string(acc));
    json_object_set_new(o, "day", json_string(db));
    return true;
}

static bool ticket_item(const json_t *in, json_t *o, json_t *seen, app_err *err)
{
    static const char *const allowed[] = {"id", "account", "opened", "closed", "priority", "csat", "department", NULL};
    const char *id = NULL, *acc = NULL, *prio = NULL, *dep = NULL;
    int op = 0, cl = 0;
    bool has_op = false, has_cl = false;
    (void)jv_only_fields(in, allowed, err);
    (void)jv_string(in, "id", true, 200, &id, err);
    (void)jv_string(in, "account", true, 200, &acc, err);
    (void)jv_date(in, "opened", true, &op, &has_op, err);
    if (json_object_get(in, "closed") && !json_is_null(json_object_get(in, "closed")) &&
        jv_date(in, "closed", false, &cl, &has_cl, err) && has_cl && has_op && cl < op)
        app_err_field(err, "closed", "must not be before opened");
    if (jv_string(in, "priority", false, 16, &prio, err) && prio && strcmp(prio, "low") != 0 &&
        strcmp(prio, "normal") != 0 && strcmp(prio, "high") != 0 && strcmp(prio, "urgent") != 0)
        app_err_field(err, "priority", "must be low, normal, high or urgent");
    if (json_object_get(in, "csat") && !json_is_null(json_object_get(in, "csat")))
        set_count(o, in, "csat", 5, err);
    if (json_is_integer(json_object_get(o, "csat")) && json_integer_value(json_object_get(o, "csat")) < 1)
        app_err_field(err, "csat", "must be 1 to 5");
    if (json_object_get(in, "department") && !json_is_null(json_object_get(in, "department")))
        (void)jv_string(in, "department", false, 200, &dep, err);
    if (err->code != ERR_NONE || !id || !acc || !has_op)
        return false;
    if (json_object_get(seen, id)) {
        app_err_field(err, "id", "the batch has this ticket twice");
        return false;
    }
    json_object_set_new(seen, id, json_true());
    char b[16];
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "account", json_string(acc));
    json_object_set_new(o, "opened", json_string(caldate_format(op, b, sizeof b)));
    if (has_cl)
        json_object_set_new(o, "closed", json_string(caldate_format(cl, b, sizeof b)));
    json_object_set_new(o, "priority", json_string(prio ? prio : "normal"));
    if (dep)
        json_object_set_new(o, "department", json_string(dep));
    return true;
}

static bool nps_item(const json_t *in, json_t *o, json_t *seen, app_err *err)
{
    (void)seen;
    static const char *const allowed[] = {"account", "date", "score", "contact", "comment", NULL};
    const char *acc = NULL, *contact = NULL, *comment = NULL;
    int day = 0;
    long long score = 0;
    (void)jv_only_fields(in, allowed, err);
    (void)jv_string(in, "account", true, 200, &acc, err);
    bool has_day = jv_date(in, "date", true, &day, NULL, err);
    bool has_score = jv_int(in, "score", true, 0, 10, &score, NULL, err);
    if (json_object_get(in, "contact") && !json_is_null(json_object_get(in, "contact")))
        (void)jv_string(in, "contact", false, 320, &contact, err);
    if (json_object_get(in, "comment") && !json_is_null(json_object_get(in, "comment")))
        (void)jv_string(in, "comment", false, 2000, &comment, err);
    if (err->code != ERR_NONE || !acc || !has_day || !has_score)
        return false;
    char b[16];
    json_object_set_new(o, "account", json_string(acc));
    json_object_set_new(o, "day", json_string(caldate_format(day, b, sizeof b)));
    json_object_set_new(o, "score", json_integer(score));
    if (contact)
        json_object_set_new(o, "contact", json_string(contact));
    json_object_set_new(o, "comment", json_string(comment ? comment : ""));
    return true;
}

/* Store the normalised items with sql ($1 workspace, $2 the items). */
static void store_batch(http_req *rq, json_t *items, const char *sql, int status)
{
    char *text = json_dumps(items, JSON_COMPACT);
    size_t n = json_array_size(items);
    json_decref(items);
    db_conn *db = text ? http_db(rq) : NULL;
    if (!text) {
        http_fail(rq, ERR_INTERNAL, "out of memory");
        return;
    }
    app_err err = {0};
    const char *p[] = {rq->auth.workspace_id, text};
    if (db && db_exec(db, sql, 2, p, &err) == 0)
        http_reply_json(rq, status, json_pack("{s:I}", "stored", (json_int_t)n));
    else if (db)
        http_reply_error(rq, &err);
    free(text);
}

typedef struct {
    const char *ws;
    const char *items;
} usage_tx;

/* Store the days, then judge the accounts written against the PQL
 * definition as of today in the same transaction: a qualifying account
 * enters the lead funnel with the usage that qualified it, once. */
static int usage_tx_run(db_conn *c, void *ctx, app_err *err)
{
    usage_tx *t = ctx;
    const char *p[] = {t->ws, t->items};
    /* account_usage_store (sql/72_reps.sql) also keeps the first days health
     * reads; it returns the accounts written */
    PGresult *r = db_query(c, "SELECT account_usage_store($1::uuid, $2::jsonb)::text", 2, p, err);
    if (!r)
        return -1;
    char *accounts = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (!accounts) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    int rc = pql_after_usage(c, t->ws, accounts, err);
    free(accounts);
    return rc;
}

void h_usage_create(http_req *rq)
{
    json_t *items = decode_batch(rq, usage_item);
    if (!items)
        return;
    size_t n = json_array_size(items);
    char *text = json_dumps(items, JSON_COMPACT);
    json_decref(items);
    db_conn *db = text ? http_db(rq) : NULL;
    if (!text) {
        http_fail(rq, ERR_INTERNAL, "out of memory");
        return;
    }
    app_err err = {0};
    usage_tx t = {.ws = rq->auth.workspace_id, .items = text};
    if (db && db_transaction(db, usage_tx_run, &t, &err) == 0)
        http_reply_json(rq, 200, json_pack("{s:I}", "stored", (json_int_t)n));
    else if (db)
        http_reply_error(rq, &err);
    free(text);
}

void h_support_tickets_create(http_req *rq)
{
    json_t *items = decode_batch(rq, ticket_item);
    if (items)
        store_batch(rq, items,
                    "INSERT INTO support_tickets (workspace_id, external_id, account, opened_at, closed_at, priority,"
                    " csat, department) SELECT $1, x.id, x.account, x.opened, x.closed, x.priority, x.csat,"
                    " x.department FROM jsonb_to_recordset($2::jsonb) AS x(id text, account text, opened date,"
                    " closed date, priority text, csat smallint, department text)"
                    " ON CONFLICT (workspace_id, external_id) DO UPDATE SET account = EXCLUDED.account,"
                    " opened_at = EXCLUDED.opened_at, closed_at = EXCLUDED.closed_at, priority = EXCLUDED.priority,"
                    " csat = EXCLUDED.csat, department = EXCLUDED.department, updated_at = now()",
                    200);
}

void h_nps_responses_create(http_req *rq)
{
    json_t *items = decode_batch(rq, nps_item);
    if (items)
        store_batch(rq, items,
                    "INSERT INTO nps_responses (workspace_id, account, responded_on, score, contact, comment)"
                    " SELECT $1, x.account, x.day, x.score, x.contact, x.comment FROM jsonb_to_recordset($2::jsonb)"
                    " AS x(account text, day date, score smallint, contact text, comment text)",
                    201);
}

/* ---- reads ---- */

/* Column order of account_health_inputs. */
enum {
    HI_ACCOUNT,
    HI_SEATS_USED,
    HI_SEATS_LIMIT,
    HI_ACTIVE_RECENT,
    HI_ACTIVE_PRIOR,
    HI_API_RECENT,
    HI_API_PRIOR,
    HI_CSAT_RATED,
    HI_CSAT_SATISFIED,
    HI_URGENT,
    HI_PROMOTERS,
    HI_PASSIVES,
    HI_DETRACTORS,
    HI_NEW_DEPTS,
    HI_NEW_TICKET_DEPTS,
    HI_NEXT_RENEWAL,
    HI_ARR_RENEWING,
    HI_PRICE_INCREASE
};

static long lv(PGresult *r, int i, int c) { return PQgetisnull(r, i, c) ? 0 : atol(PQgetvalue(r, i, c)); }

static void input_of(PGresult *r, int i, caldate_t at, health_input *in)
{
    *in = (health_input){0};
    in->has_seats = !PQgetisnull(r, i, HI_SEATS_USED);
    in->seats_used = lv(r, i, HI_SEATS_USED);
    in->seats_limit = lv(r, i, HI_SEATS_LIMIT);
    in->has_active = !PQgetisnull(r, i, HI_ACTIVE_RECENT) && !PQgetisnull(r, i, HI_ACTIVE_PRIOR);
    in->active_recent = in->has_active ? atof(PQgetvalue(r, i, HI_ACTIVE_RECENT)) : 0;
    in->active_prior = in->has_active ? atof(PQgetvalue(r, i, HI_ACTIVE_PRIOR)) : 0;
    in->has_api = !PQgetisnull(r, i, HI_API_RECENT) && !PQgetisnull(r, i, HI_API_PRIOR);
    in->api_recent = in->has_api ? atof(PQgetvalue(r, i, HI_API_RECENT)) : 0;
    in->api_prior = in->has_api ? atof(PQgetvalue(r, i, HI_API_PRIOR)) : 0;
    in->csat_rated = lv(r, i, HI_CSAT_RATED);
    in->csat_satisfied = lv(r, i, HI_CSAT_SATISFIED);
    in->urgent_open = lv(r, i, HI_URGENT);
    in->nps_promoters = lv(r, i, HI_PROMOTERS);
    in->nps_passives = lv(r, i, HI_PASSIVES);
    in->nps_detractors = lv(r, i, HI_DETRACTORS);
    json_t *d = json_loads(PQgetvalue(r, i, HI_NEW_DEPTS), 0, NULL),
           *t = json_loads(PQgetvalue(r, i, HI_NEW_TICKET_DEPTS), 0, NULL);
    in->new_departments = (long)json_array_size(d);
    in->new_ticket_departments = (long)json_array_size(t);
    json_decref(d);
    json_decref(t);
    caldate_t day;
    if (!PQgetisnull(r, i, HI_NEXT_RENEWAL) && caldate_parse(PQgetvalue(r, i, HI_NEXT_RENEWAL), &day)) {
        in->has_renewal = true;
        in->days_to_renewal = (int)(day - at);
    }
    if (!PQgetisnull(r, i, HI_PRICE_INCREASE) && caldate_parse(PQgetvalue(r, i, HI_PRICE_INCREASE), &day)) {
        in->has_price_increase = true;
        in->days_since_price_increase = (int)(at - day);
    }
}

/* ---- the at-risk answer, written as text ----
 * 10,000 accounts with their parts and reasons: built as jansson objects and
 * dumped they were a third of the request's CPU; server/jtext writes the
 * same bytes (keys in the same order) directly. */

/* json_real(r / 10^places) of an already rounded r, as dumped (-0.0 kept) */
static void jt_rounded(jt_buf *b, double r, int places)
{
    if (r == 0 && signbit(r))
        jt_raw(b, "-0.0");
    else
        jt_fixed(b, (long long)r, places);
}

/* The parts with their weights and values, and the reasons the score is
 * below healthy (parts under 70) appended to reasons. */
static void parts_text(const health_result *h, jt_buf *out, jt_buf *reasons)
{
    jt_raw(out, "[");
    for (int k = 0; k < HEALTH__PARTS; k++) {
        const health_part *p = &h->parts[k];
        if (k)
            jt_raw(out, ",");
        jt_raw(out, "{\"part\":");
        jt_str(out, health_part_name(k));
        jt_raw(out, ",\"weight\":");
        jt_real(out, p->weight);
        jt_raw(out, ",\"score\":");
        if (p->present)
            jt_rounded(out, round(p->score * 10), 1);
        else
            jt_raw(out, "null");
        jt_raw(out, ",\"value\":");
        if (p->present && !isnan(p->value))
            jt_rounded(out, round(p->value * 10000), 4);
        else
            jt_raw(out, "null");
        jt_raw(out, "}");
        if (!p->present || p->score >= 70)
            continue;
        char b[200];
        switch (k) {
        case HEALTH_ADOPTION:
            snprintf(b, sizeof b, "seat utilisation %.0f%% (full adoption is 80%%)", p->value * 100);
            break;
        case HEALTH_USAGE_TREND:
            snprintf(b, sizeof b, "active users down %.0f%% month over month", -p->value * 100);
            break;
        case HEALTH_SUPPORT:
            if (isnan(p->value))
                snprintf(b, sizeof b, "urgent or high support tickets open");
            else
                snprintf(b, sizeof b, "CSAT %.0f%% over the last 90 days, or urgent tickets open", p->value * 100);
            break;
        default:
            snprintf(b, sizeof b, "NPS %.0f over the last 180 days", p->value);
        }
        jt_sep(reasons);
        jt_str(reasons, b);
    }
    jt_raw(out, "]");
}

PGresult *health_inputs_load(db_conn *db, const char *ws, caldate_t at, const period *Q, app_err *err)
{
    char ab[16], sb[16], eb[16];
    const char *p[] = {ws, caldate_format(at, ab, sizeof ab), caldate_format(Q->start, sb, sizeof sb),
                       caldate_format(Q->end, eb, sizeof eb)};
    return db_query(db, "SELECT * FROM account_health_inputs($1::uuid, $2::date, $3::date, $4::date)", 4, p, err);
}

typedef struct {
    caldate_t at;
    period Q;
    PGresult *rows;
} health_read;

/* as_of (default today, never after it) and the quarter; 0 or -1 after replying. */
static int health_read_load(http_req *rq, db_conn *db, const char *qparam, health_read *hr)
{
    app_err err = {0};
    const char *ao = http_query(rq, "as_of"), *qs = qparam ? http_query(rq, qparam) : NULL;
    caldate_t today = utc_today();
    hr->at = today;
    if (ao && !caldate_parse(ao, &hr->at))
        app_err_field(&err, "as_of", "must be a date YYYY-MM-DD");
    else if (hr->at > today)
        app_err_field(&err, "as_of", "must not be in the future: health uses what is known on its date");
    int fsm = err.code == ERR_NONE ? workspace_fy_start(db, rq->auth.workspace_id, &err) : -1;
    if (fsm >= 0) {
        hr->Q = period_containing(PERIOD_QUARTER, hr->at, fsm);
        if (qs && (!period_parse(qs, fsm, &hr->Q) || hr->Q.kind != PERIOD_QUARTER))
            app_err_field(&err, qparam, "must be a quarter such as 2026-Q1");
    }
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return -1;
    }
    hr->rows = health_inputs_load(db, rq->auth.workspace_id, hr->at, &hr->Q, &err);
    if (!hr->rows) {
        http_reply_error(rq, &err);
        return -1;
    }
    return 0;
}

typedef struct {
    const char *account;
    char *text; /* the item's JSON */
    size_t len;
    money_t at_risk;
} risk_row;

static int cmp_risk(const void *a, const void *b)
{
    const risk_row *x = a, *y = b;
    if (x->at_risk != y->at_risk)
        return x->at_risk > y->at_risk ? -1 : 1;
    return strcmp(x->account, y->account);
}

/* The at-risk document of the health inputs rows as JSON text (*len bytes),
 * or NULL when out of memory. */
static char *at_risk_text(PGresult *rows_in, caldate_t at, const period *Q, size_t *len)
{
    int n = PQntuples(rows_in);
    risk_row *rows = calloc((size_t)n + 1, sizeof *rows);
    if (!rows)
        return NULL;
    int m = 0;
    money_t renewing_total = 0, risk_total = 0;
    long unscored = 0;
    bool oom = false;
    jt_buf reasons = {0}, parts = {0};
    for (int i = 0; i < n; i++) {
        money_t arr = strtoll(PQgetvalue(rows_in, i, HI_ARR_RENEWING), NULL, 10);
        if (arr <= 0)
            continue;
        health_input in;
        input_of(rows_in, i, at, &in);
        health_result h;
        health_compute(&in, &h);
        reasons.n = parts.n = 0;
        parts_text(&h, &parts, &reasons);
        unsigned sig = health_signals_of(&in, &h);
        for (int s = 0; s < SIG__COUNT; s++)
            if ((sig >> s) & 1u && strcmp(health_signals[s].kind, "churn") == 0) {
                jt_sep(&reasons);
                jt_str(&reasons, health_signals[s].signal);
            }
        if (!h.has_score) {
            unscored++;
            jt_sep(&reasons);
            jt_str(&reasons, "no usage, tickets or NPS recorded: health unknown");
        }
        money_t risk = health_arr_at_risk(arr, &h);
        renewing_total += arr;
        risk_total += risk;
        char nb[16];
        jt_buf it = {0};
        const char *account = PQgetvalue(rows_in, i, HI_ACCOUNT);
        jt_raw(&it, "{\"account\":");
        jt_str(&it, account);
        jt_raw(&it, ",\"health\":");
        if (h.has_score)
            jt_int(&it, h.score);
        else
            jt_raw(&it, "null");
        jt_raw(&it, ",\"risk\":");
        if (h.has_score)
            jt_rounded(&it, round(h.risk * 10000), 4);
        else
            jt_raw(&it, "null");
        jt_raw(&it, ",\"band\":");
        jt_str(&it, h.band);
        jt_raw(&it, ",\"next_renewal\":");
        jt_str_or_null(&it, in.has_renewal ? caldate_format(at + in.days_to_renewal, nb, sizeof nb) : NULL);
        jt_raw(&it, ",\"renewal_reminder_days\":");
        if (in.has_renewal && health_renewal_reminder(in.days_to_renewal))
            jt_int(&it, health_renewal_reminder(in.days_to_renewal));
        else
            jt_raw(&it, "null");
        jt_raw(&it, ",\"arr_renewing\":");
        jt_fixed(&it, arr, 2);
        jt_raw(&it, ",\"arr_at_risk\":");
        jt_fixed(&it, risk, 2);
        jt_raw(&it, ",\"reasons\":[");
        jt_append(&it, &reasons);
        jt_raw(&it, "],\"parts\":");
        jt_append(&it, &parts);
        jt_raw(&it, "}");
        oom = oom || it.oom || reasons.oom || parts.oom;
        rows[m].account = account;
        rows[m].text = it.s;
        rows[m].len = it.n;
        rows[m++].at_risk = risk;
    }
    free(reasons.s);
    free(parts.s);
    qsort(rows, (size_t)m, sizeof *rows, cmp_risk);
    char ql[16], ab[16], summary[200];
    period_format(Q, ql, sizeof ql);
    snprintf(summary, sizeof summary, "$%.2f ARR at risk this quarter (%s) of $%.2f renewing", (double)risk_total / 100,
             ql, (double)renewing_total / 100);
    jt_buf out = {0};
    jt_raw(&out, "{\"quarter\":");
    jt_str(&out, ql);
    jt_raw(&out, ",\"as_of\":");
    jt_str(&out, caldate_format(at, ab, sizeof ab));
    jt_raw(&out, ",\"summary\":");
    jt_str(&out, summary);
    jt_raw(&out, ",\"arr_renewing\":");
    jt_fixed(&out, renewing_total, 2);
    jt_raw(&out, ",\"arr_at_risk\":");
    jt_fixed(&out, risk_total, 2);
    jt_raw(&out, ",\"accounts_unscored\":");
    jt_int(&out, unscored);
    jt_raw(&out, ",\"items\":[");
    for (int k = 0; k < m; k++) {
        if (k)
            jt_raw(&out, ",");
        jt_mem(&out, rows[k].text ? rows[k].text : "", rows[k].len);
        free(rows[k].text);
    }
    jt_raw(&out, "]}");
    free(rows);
    if (oom || out.oom) {
        free(out.s);
        return NULL;
    }
    *len = out.n;
    return out.s;
}

/* The same as a JSON document (the account_at_risk alerts read it). */
json_t *health_at_risk_doc(PGresult *rows_in, caldate_t at, const period *Q)
{
    size_t len = 0;
    char *text = at_risk_text(rows_in, at, Q, &len);
    json_t *doc = text ? json_loadb(text, len, 0, NULL) : NULL;
    free(text);
    return doc;
}

void h_accounts_at_risk(http_req *rq)
{
    db_conn *db = http_db(rq);
    health_read hr = {0};
    if (!db || health_read_load(rq, db, "quarter", &hr) != 0)
        return;
    size_t len = 0;
    char *text = at_risk_text(hr.rows, hr.at, &hr.Q, &len);
    PQclear(hr.rows);
    if (!text)
        http_fail(rq, ERR_INTERNAL, "out of memory");
    else
        http_reply_text(rq, 200, "application/json", text, len);
}

static int urgency_rank(const char *u) { return strcmp(u, "high") == 0 ? 0 : strcmp(u, "medium") == 0 ? 1 : 2; }

static int cmp_signal(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int ux = urgency_rank(json_string_value(json_object_get(x, "urgency"))),
        uy = urgency_rank(json_string_value(json_object_get(y, "urgency")));
    if (ux != uy)
        return ux - uy;
    int c = strcmp(json_string_value(json_object_get(x, "account")), json_string_value(json_object_get(y, "account")));
    return c ? c : strcmp(json_string_value(json_object_get(x, "code")), json_string_value(json_object_get(y, "code")));
}

json_t *health_signal_items(PGresult *rows, caldate_t at, const char *kind)
{
    int n = PQntuples(rows);
    json_t *list = json_array();
    for (int i = 0; i < n; i++) {
        health_input in;
        input_of(rows, i, at, &in);
        health_result h;
        health_compute(&in, &h);
        unsigned sig = health_signals_of(&in, &h);
        for (int s = 0; s < SIG__COUNT; s++) {
            const health_signal_def *d = &health_signals[s];
            if (!((sig >> s) & 1u) || (kind && strcmp(kind, d->kind) != 0))
                continue;
            json_t *ev = json_object();
            if (s == SIG_NEW_DEPARTMENT)
                json_object_set_new(ev, "departments", json_loads(PQgetvalue(rows, i, HI_NEW_DEPTS), 0, NULL));
            else if (s == SIG_TICKET_DEPARTMENT)
                json_object_set_new(ev, "departments", json_loads(PQgetvalue(rows, i, HI_NEW_TICKET_DEPTS), 0, NULL));
            else if (s == SIG_USAGE_LIMIT)
                json_object_set_new(ev, "seat_utilisation",
                                    json_real(round((double)in.seats_used / (double)in.seats_limit * 1e4) / 1e4));
            else if (s == SIG_API_GROWTH)
                json_object_set_new(ev, "api_change", json_real(round((in.api_recent / in.api_prior - 1) * 1e4) / 1e4));
            else if (s == SIG_USAGE_DECLINE)
                json_object_set_new(ev, "active_users_change",
                                    json_real(round((in.active_recent / in.active_prior - 1) * 1e4) / 1e4));
            else if (s == SIG_RENEWAL_HEALTHY_NPS || s == SIG_DETRACTORS)
                json_object_set_new(
                    ev, "nps",
                    json_real(round(health_nps(in.nps_promoters, in.nps_passives, in.nps_detractors) * 10) / 10));
            else if (s == SIG_PRICE_REVIEW)
                json_object_set_new(ev, "days_since_price_increase", json_integer(in.days_since_price_increase));
            else if (s == SIG_LOW_CSAT)
                json_object_set_new(ev, "csat",
                                    json_real(round((double)in.csat_satisfied / (double)in.csat_rated * 1e4) / 1e4));
            if (in.has_renewal && (s == SIG_RENEWAL_HEALTHY_NPS || s == SIG_CRITICAL_RENEWAL))
                json_object_set_new(ev, "days_to_renewal", json_integer(in.days_to_renewal));
            if (s == SIG_CRITICAL_RENEWAL)
                json_object_set_new(ev, "health", json_integer(h.score));
            json_array_append_new(list,
                                  json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "account",
                                            PQgetvalue(rows, i, HI_ACCOUNT), "code", d->code, "kind", d->kind, "signal",
                                            d->signal, "action", d->action, "urgency", d->urgency, "health",
                                            h.has_score ? json_integer(h.score) : json_null(), "evidence", ev));
        }
    }
    size_t k = json_array_size(list);
    json_t **arr = calloc(k + 1, sizeof *arr);
    json_t *items = json_array();
    for (size_t i = 0; arr && i < k; i++)
        arr[i] = json_array_get(list, i);
    if (arr)
        qsort(arr, k, sizeof *arr, cmp_signal);
    for (size_t i = 0; arr && i < k; i++)
        json_array_append(items, arr[i]);
    free(arr);
    json_decref(list);
    return items;
}

void h_signals(http_req *rq)
{
    const char *kind = http_query(rq, "kind");
    if (kind && strcmp(kind, "expansion") != 0 && strcmp(kind, "churn") != 0) {
        app_err err = {0};
        app_err_field(&err, "kind", "must be expansion or churn");
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    health_read hr = {0};
    if (!db || health_read_load(rq, db, NULL, &hr) != 0)
        return;
    json_t *items = health_signal_items(hr.rows, hr.at, kind);
    PQclear(hr.rows);
    char ab[16];
    http_reply_json(rq, 200,
                    json_pack("{s:s, s:o, s:o}", "as_of", caldate_format(hr.at, ab, sizeof ab), "kind",
                              kind ? json_string(kind) : json_null(), "items", items));
}

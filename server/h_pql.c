/* h_pql.c - product-qualified leads (issue 20; seed 001 plg-sales-handoff.yaml):
 * the workspace's PQL definition (a versioned document, defaults the seed's),
 * each account's PQL state as of a date with the criteria it meets and their
 * evidence, the self-serve signals with the seed's actions, and the once-only
 * entry of a qualifying account into the lead funnel: on every usage write
 * (pql_after_usage, in the write's transaction) and on POST /v1/pqls/evaluate.
 * The verdict is core/pql's; the windows are SQL pql_inputs and the once is
 * SQL pql_enter (sql/76_pql.sql). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "hygiene.h"
#include "jsonv.h"
#include "pql.h"

#define PQL_MAX_NAMES 1000 /* core features, enterprise domains */

/* ---- the definition document ---- */

/* The document's integer fields: name, pql_definition member, bounds. */
typedef struct {
    const char *name;
    size_t off;
    long long min, max;
} pql_int_field;

static const pql_int_field int_fields[] = {
    {"min_active_users", offsetof(pql_definition, min_active_users), 1, 1000000},
    {"active_window_days", offsetof(pql_definition, active_window_days), 1, 366},
    {"min_core_features", offsetof(pql_definition, min_core_features), 0, 1000},
    {"feature_window_days", offsetof(pql_definition, feature_window_days), 1, 366},
    {"min_integrations", offsetof(pql_definition, min_integrations), 1, 1000},
    {"warning_window_days", offsetof(pql_definition, warning_window_days), 1, 366},
    {"min_nice_to_have", offsetof(pql_definition, min_nice_to_have), 0, PQL__NICE},
    {"ae_active_users", offsetof(pql_definition, ae_active_users), 1, 1000000},
    {"admin_invited_users", offsetof(pql_definition, admin_invited_users), 1, 1000000},
};
#define N_INT_FIELDS (sizeof int_fields / sizeof int_fields[0])

typedef struct {
    pql_definition d;
    json_t *core_features;      /* names; [] = every feature reported counts */
    json_t *enterprise_domains; /* domain keys */
    int version;
} pql_def;

static void pql_def_free(pql_def *p)
{
    json_decref(p->core_features);
    json_decref(p->enterprise_domains);
    p->core_features = p->enterprise_domains = NULL;
}

/* A list of names (domains: normalised to their keys, as hygiene reads an
 * account's domain), de-duplicated in order. NULL with err. */
static json_t *names_of(const json_t *v, const char *key, bool domains, app_err *e)
{
    json_t *out = json_array();
    if (!v || json_is_null(v))
        return out;
    if (!json_is_array(v) || json_array_size(v) > PQL_MAX_NAMES) {
        app_err_field(e, key, "must be a list of up to %d names", PQL_MAX_NAMES);
        json_decref(out);
        return NULL;
    }
    size_t i;
    const json_t *x;
    json_array_foreach(v, i, x)
    {
        const char *s = json_string_value(x);
        size_t n = s ? strlen(s) : 0;
        char *k = n && n <= 253 ? malloc(n + 1) : NULL;
        if (k && (domains ? hygiene_domain_key(s, k) : (memcpy(k, s, n + 1), true)) && jv_id_clean(k)) {
            bool dup = false;
            size_t j;
            const json_t *y;
            json_array_foreach(out, j, y) dup = dup || strcmp(json_string_value(y), k) == 0;
            if (!dup)
                json_array_append_new(out, json_string(k));
            free(k);
            continue;
        }
        free(k);
        app_err_field(e, key,
                      domains ? "item %zu must be a domain such as acme.com"
                              : "item %zu must be a name (1 to 253 characters)",
                      i);
        json_decref(out);
        return NULL;
    }
    return out;
}

/* Decode and check a document (absent fields: the seed's defaults). 0, or
 * -1 with the fields in err. */
static int pql_def_decode(const json_t *doc, pql_def *out, app_err *e)
{
    static const char *const allowed[] = {"min_active_users",
                                          "active_window_days",
                                          "min_core_features",
                                          "feature_window_days",
                                          "core_features",
                                          "min_integrations",
                                          "usage_warning",
                                          "warning_window_days",
                                          "min_nice_to_have",
                                          "ae_active_users",
                                          "admin_invited_users",
                                          "enterprise_domains",
                                          "version",
                                          "updated_at",
                                          NULL};
    *out = (pql_def){0};
    pql_definition_default(&out->d);
    if (!jv_require_object(doc, e))
        return -1;
    (void)jv_only_fields(doc, allowed, e);
    for (size_t i = 0; i < N_INT_FIELDS; i++) {
        long long v = 0;
        bool has = false;
        if (jv_int(doc, int_fields[i].name, false, int_fields[i].min, int_fields[i].max, &v, &has, e) && has)
            *(int *)((char *)&out->d + int_fields[i].off) = (int)v;
    }
    double w = 0;
    bool has_w = false;
    /* a share of the limit: 0.8 is the seed's ">80% of limit" */
    if (jv_number(doc, "usage_warning", false, 0.01, 1, &w, &has_w, e) && has_w)
        out->d.usage_warning = w;
    out->core_features = names_of(json_object_get(doc, "core_features"), "core_features", false, e);
    out->enterprise_domains = names_of(json_object_get(doc, "enterprise_domains"), "enterprise_domains", true, e);
    if (e->code != ERR_NONE) {
        pql_def_free(out);
        return -1;
    }
    return 0;
}

static json_t *pql_def_json(const pql_def *p)
{
    json_t *o = json_object();
    for (size_t i = 0; i < N_INT_FIELDS; i++)
        json_object_set_new(o, int_fields[i].name,
                            json_integer(*(const int *)((const char *)&p->d + int_fields[i].off)));
    json_object_set_new(o, "usage_warning", json_real(p->d.usage_warning));
    json_object_set(o, "core_features", p->core_features);
    json_object_set(o, "enterprise_domains", p->enterprise_domains);
    return o;
}

/* Give the workspace the seed's definition (version 1) when it has none. */
static int pql_ensure_default(db_conn *c, const char *ws, app_err *err)
{
    pql_def p;
    app_err e = {0};
    json_t *empty = json_object();
    int dc = pql_def_decode(empty, &p, &e); /* cannot fail: every default is in range */
    json_decref(empty);
    if (dc != 0) {
        app_err_set(err, ERR_INTERNAL, "the seed's PQL definition does not decode");
        return -1;
    }
    json_t *j = pql_def_json(&p);
    pql_def_free(&p);
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(j);
    const char *q[] = {ws, text};
    int rc = db_exec(c,
                     "WITH r AS (INSERT INTO pql_definitions (workspace_id, document) VALUES ($1, $2::jsonb)"
                     "   ON CONFLICT (workspace_id) DO NOTHING RETURNING *)"
                     " INSERT INTO pql_definition_versions (workspace_id, version, document)"
                     " SELECT workspace_id, version, document FROM r",
                     2, q, err);
    free(text);
    return rc;
}

static const char *const DEF_JSON = "SELECT (jsonb_build_object('version', d.version, 'updated_at',"
                                    " rfc3339(d.updated_at)) || d.document)::text FROM pql_definitions d"
                                    " WHERE d.workspace_id = $1";

/* The workspace's definition now (made the seed's when missing). */
static int pql_def_load(db_conn *c, const char *ws, pql_def *out, app_err *err)
{
    if (pql_ensure_default(c, ws, err) != 0)
        return -1;
    const char *p[] = {ws};
    PGresult *r = db_query(c, DEF_JSON, 1, p, err);
    if (!r)
        return -1;
    json_t *doc = PQntuples(r) ? json_loads(PQgetvalue(r, 0, 0), 0, NULL) : NULL;
    PQclear(r);
    app_err e = {0};
    int rc = doc ? pql_def_decode(doc, out, &e) : -1;
    if (rc == 0)
        out->version = (int)json_integer_value(json_object_get(doc, "version"));
    else
        app_err_set(err, ERR_INTERNAL, "the stored PQL definition does not decode");
    json_decref(doc);
    return rc;
}

static void reply_def(http_req *rq, int status, const char *text)
{
    json_t *f = json_loads(text, 0, NULL);
    if (!f) {
        http_fail(rq, ERR_INTERNAL, "could not decode the stored PQL definition");
        return;
    }
    char etag[32];
    snprintf(etag, sizeof etag, "\"v%lld\"", (long long)json_integer_value(json_object_get(f, "version")));
    http_add_header(rq, "ETag", etag);
    http_reply_json(rq, status, f);
}

void h_pql_definition_get(http_req *rq)
{
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    const char *p[] = {rq->auth.workspace_id};
    PGresult *r = pql_ensure_default(db, rq->auth.workspace_id, &err) == 0 ? db_query(db, DEF_JSON, 1, p, &err) : NULL;
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    reply_def(rq, 200, PQgetvalue(r, 0, 0));
    PQclear(r);
}

typedef struct {
    const char *ws;
    char *doc;
    char *result;
} def_write;

static int def_write_tx(db_conn *c, void *ctx, app_err *err)
{
    def_write *w = ctx;
    if (pql_ensure_default(c, w->ws, err) != 0)
        return -1;
    const char *p[] = {w->ws, w->doc};
    int rc = db_exec(c,
                     "WITH d AS (UPDATE pql_definitions SET document = $2::jsonb, version = version + 1,"
                     "   updated_at = now() WHERE workspace_id = $1 RETURNING *)"
                     " INSERT INTO pql_definition_versions (workspace_id, version, document)"
                     " SELECT workspace_id, version, document FROM d",
                     2, p, err);
    if (rc != 0)
        return -1;
    PGresult *r = db_query(c, DEF_JSON, 1, p, err);
    if (!r)
        return -1;
    free(w->result);
    w->result = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

void h_pql_definition_put(http_req *rq)
{
    app_err err = {0};
    pql_def p;
    if (pql_def_decode(rq->json, &p, &err) != 0) {
        http_reply_error(rq, &err);
        return;
    }
    json_t *j = pql_def_json(&p);
    pql_def_free(&p);
    def_write w = {.ws = rq->auth.workspace_id, .doc = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15))};
    json_decref(j);
    db_conn *db = http_db(rq);
    if (db && db_transaction(db, def_write_tx, &w, &err) == 0)
        reply_def(rq, 200, w.result);
    else if (db)
        http_reply_error(rq, &err);
    free(w.doc);
    free(w.result);
}

/* ---- evaluation ---- */

enum {
    PI_ACCOUNT,
    PI_ONBOARDED_ON,
    PI_ACTIVE_MAX,
    PI_ACTIVE_7D,
    PI_ACTIVE_7D_ON,
    PI_FEATURES,
    PI_INTEGRATIONS,
    PI_INTEGRATIONS_ON,
    PI_SHARED_ON,
    PI_WARN_USED,
    PI_WARN_LIMIT,
    PI_WARN_ON,
    PI_LIMIT_USED,
    PI_LIMIT_LIMIT,
    PI_LIMIT_ON,
    PI_INVITED,
    PI_DOMAIN,
    PI_LEAD,
    PI_QUALIFIED_ON,
    PI_LEAD_CREATED
};

static bool has(PGresult *r, int i, int c) { return !PQgetisnull(r, i, c); }
static long lv(PGresult *r, int i, int c) { return has(r, i, c) ? atol(PQgetvalue(r, i, c)) : 0; }
static int dv(PGresult *r, int i, int c)
{
    caldate_t d = 0;
    return has(r, i, c) && caldate_parse(PQgetvalue(r, i, c), &d) ? (int)d : 0;
}
static json_t *date_or_null(PGresult *r, int i, int c)
{
    return has(r, i, c) ? json_string(PQgetvalue(r, i, c)) : json_null();
}
static json_t *int_or_null(PGresult *r, int i, int c) { return has(r, i, c) ? json_integer(lv(r, i, c)) : json_null(); }
static json_t *share(long used, long limit) { return json_real(round((double)used / (double)limit * 1e4) / 1e4); }

/* The listed enterprise domain the account's key is (under), or NULL. */
static const char *enterprise_of(const pql_def *p, const char *key)
{
    size_t i;
    const json_t *x;
    json_array_foreach(p->enterprise_domains, i,
                       x) if (pql_domain_matches(key, json_string_value(x))) return json_string_value(x);
    return NULL;
}

/* One account's state: the criteria with their evidence, the self-serve
 * signals that fire, its PQL lead. *qualified: does it meet the definition. */
static json_t *pql_item(const pql_def *p, PGresult *r, int i, bool *qualified)
{
    const pql_definition *d = &p->d;
    json_t *features = json_loads(PQgetvalue(r, i, PI_FEATURES), 0, NULL);
    const char *raw_domain = has(r, i, PI_DOMAIN) ? PQgetvalue(r, i, PI_DOMAIN) : NULL;
    char *key = raw_domain ? malloc(strlen(raw_domain) + 1) : NULL;
    if (key && !hygiene_domain_key(raw_domain, key)) { /* nothing left of it: no domain */
        free(key);
        key = NULL;
    }
    const char *listed = key ? enterprise_of(p, key) : NULL;
    pql_input in = {.onboarded = has(r, i, PI_ONBOARDED_ON),
                    .onboarded_on = dv(r, i, PI_ONBOARDED_ON),
                    .has_active = has(r, i, PI_ACTIVE_MAX),
                    .active_daily_max = lv(r, i, PI_ACTIVE_MAX),
                    .has_active_7d = has(r, i, PI_ACTIVE_7D),
                    .active_7d = lv(r, i, PI_ACTIVE_7D),
                    .core_features = (long)json_array_size(features),
                    .has_integrations = has(r, i, PI_INTEGRATIONS),
                    .integrations = lv(r, i, PI_INTEGRATIONS),
                    .integrations_on = dv(r, i, PI_INTEGRATIONS_ON),
                    .shared = has(r, i, PI_SHARED_ON),
                    .shared_on = dv(r, i, PI_SHARED_ON),
                    .has_warn_peak = has(r, i, PI_WARN_USED),
                    .warn_used = lv(r, i, PI_WARN_USED),
                    .warn_limit = lv(r, i, PI_WARN_LIMIT),
                    .warn_on = dv(r, i, PI_WARN_ON),
                    .has_limit_peak = has(r, i, PI_LIMIT_USED),
                    .limit_used = lv(r, i, PI_LIMIT_USED),
                    .limit_limit = lv(r, i, PI_LIMIT_LIMIT),
                    .limit_on = dv(r, i, PI_LIMIT_ON),
                    .users_invited = lv(r, i, PI_INVITED),
                    .enterprise_domain = listed != NULL};
    pql_result res;
    pql_evaluate(d, &in, &res);
    *qualified = res.qualified;

    json_t *ev[PQL__MUST + PQL__NICE];
    ev[PQL_MUST_ONBOARDING] = json_pack("{s:o}", "completed_on", date_or_null(r, i, PI_ONBOARDED_ON));
    ev[PQL_MUST_ACTIVE_USERS] = json_pack(
        "{s:I, s:o, s:o, s:o, s:i, s:i}", "active_users", (json_int_t)res.active_users, "daily_max",
        int_or_null(r, i, PI_ACTIVE_MAX), "weekly", int_or_null(r, i, PI_ACTIVE_7D), "weekly_on",
        date_or_null(r, i, PI_ACTIVE_7D_ON), "threshold", d->min_active_users, "window_days", d->active_window_days);
    ev[PQL_MUST_CORE_FEATURES] =
        json_pack("{s:O, s:I, s:i, s:i}", "features", features, "count", (json_int_t)in.core_features, "threshold",
                  d->min_core_features, "window_days", d->feature_window_days);
    ev[PQL__MUST + PQL_NICE_INTEGRATION] =
        json_pack("{s:o, s:o, s:i}", "integrations", int_or_null(r, i, PI_INTEGRATIONS), "on",
                  date_or_null(r, i, PI_INTEGRATIONS_ON), "threshold", d->min_integrations);
    ev[PQL__MUST + PQL_NICE_SHARED] = json_pack("{s:o}", "shared_on", date_or_null(r, i, PI_SHARED_ON));
    ev[PQL__MUST + PQL_NICE_USAGE_WARNING] =
        json_pack("{s:o, s:o, s:o, s:o, s:f, s:i}", "seats_used", int_or_null(r, i, PI_WARN_USED), "seats_limit",
                  int_or_null(r, i, PI_WARN_LIMIT), "utilisation",
                  in.has_warn_peak ? share(in.warn_used, in.warn_limit) : json_null(), "on",
                  date_or_null(r, i, PI_WARN_ON), "threshold", d->usage_warning, "window_days", d->warning_window_days);
    json_t *must = json_array(), *nice = json_array(), *sigs = json_array();
    for (int k = 0; k < PQL__MUST; k++)
        json_array_append_new(must, json_pack("{s:s, s:s, s:b, s:o}", "code", pql_must_defs[k].code, "criterion",
                                              pql_must_defs[k].criterion, "met", res.must[k], "evidence", ev[k]));
    for (int k = 0; k < PQL__NICE; k++)
        json_array_append_new(nice,
                              json_pack("{s:s, s:s, s:b, s:o}", "code", pql_nice_defs[k].code, "criterion",
                                        pql_nice_defs[k].criterion, "met", res.nice[k], "evidence", ev[PQL__MUST + k]));
    for (int s = 0; s < PQL__SIGNALS; s++) {
        if (!((res.signals >> s) & 1u))
            continue;
        json_t *e = NULL;
        if (s == PQL_SIG_ACTIVE_USERS)
            e = json_pack("{s:I, s:i}", "active_users", (json_int_t)res.active_users, "threshold", d->ae_active_users);
        else if (s == PQL_SIG_USAGE_LIMIT)
            e = json_pack("{s:I, s:I, s:o}", "seats_used", (json_int_t)in.limit_used, "seats_limit",
                          (json_int_t)in.limit_limit, "on", date_or_null(r, i, PI_LIMIT_ON));
        else if (s == PQL_SIG_ADMIN_INVITED)
            e = json_pack("{s:I, s:i}", "users_invited", (json_int_t)in.users_invited, "threshold",
                          d->admin_invited_users);
        else
            e = json_pack("{s:s, s:s}", "domain", key, "listed", listed);
        json_array_append_new(sigs,
                              json_pack("{s:s, s:s, s:s, s:o}", "code", pql_signal_defs[s].code, "signal",
                                        pql_signal_defs[s].signal, "action", pql_signal_defs[s].action, "evidence", e));
    }
    json_t *lead = has(r, i, PI_LEAD)
                       ? json_pack("{s:s, s:s, s:s}", "id", PQgetvalue(r, i, PI_LEAD), "qualified_on",
                                   PQgetvalue(r, i, PI_QUALIFIED_ON), "created_at", PQgetvalue(r, i, PI_LEAD_CREATED))
                       : json_null();
    json_t *item =
        json_pack("{s:s, s:s, s:b, s:i, s:i, s:o, s:o, s:o, s:o, s:o}", "account", PQgetvalue(r, i, PI_ACCOUNT),
                  "state", res.qualified ? "qualified" : "not_qualified", "qualified", res.qualified, "must_have_met",
                  res.must_met, "nice_to_have_met", res.nice_met, "must_have", must, "nice_to_have", nice, "signals",
                  sigs, "domain", key ? json_string(key) : json_null(), "lead", lead);
    json_decref(features);
    free(key);
    return item;
}

/* The inputs of every account (accounts_json NULL) or of these, at day at:
 * only those without a PQL when only_new; a page of lim (0: all) after the
 * account id `after` (NULL: from the first). */
static PGresult *pql_rows(db_conn *c, const char *ws, const pql_def *p, caldate_t at, const char *accounts_json,
                          bool only_new, const char *after, long lim, app_err *err)
{
    char ab[16], a1[16], a2[16], a3[16], lb[24];
    snprintf(a1, sizeof a1, "%d", p->d.active_window_days);
    snprintf(a2, sizeof a2, "%d", p->d.feature_window_days);
    snprintf(a3, sizeof a3, "%d", p->d.warning_window_days);
    snprintf(lb, sizeof lb, "%ld", lim);
    char *core = json_dumps(p->core_features, JSON_COMPACT);
    const char *q[] = {ws,
                       caldate_format(at, ab, sizeof ab),
                       a1,
                       a2,
                       a3,
                       core,
                       accounts_json,
                       only_new ? "t" : "f",
                       after,
                       lim > 0 ? lb : NULL};
    PGresult *r = db_query(c,
                           "SELECT * FROM pql_inputs($1::uuid, $2::date, $3::int, $4::int, $5::int, $6::jsonb,"
                           " $7::jsonb, $8::boolean, $9::text, $10::int)",
                           10, q, err);
    free(core);
    return r;
}

/* Judge the accounts of accounts_json (a JSON array of ids) that have no PQL
 * yet, and enter each qualified one into the lead funnel (routed like every
 * new MQL). created: [{account, lead}] appended. */
static int pql_enter_qualified(db_conn *c, const char *ws, const pql_def *p, caldate_t at, const char *accounts_json,
                               const char *trigger, long *evaluated, long *qualified, json_t *created, app_err *err)
{
    PGresult *r = pql_rows(c, ws, p, at, accounts_json, true, NULL, 0, err);
    if (!r)
        return -1;
    int rc = 0, n = PQntuples(r);
    json_t *ids = json_array();
    char ab[16], vb[16];
    caldate_format(at, ab, sizeof ab);
    snprintf(vb, sizeof vb, "%d", p->version);
    for (int i = 0; i < n && rc == 0; i++) {
        bool q = false;
        json_t *item = pql_item(p, r, i, &q);
        (*evaluated)++;
        *qualified += q;
        if (q) {
            json_t *evidence =
                json_pack("{s:s, s:i, s:O, s:O, s:O}", "qualified_on", ab, "definition_version", p->version,
                          "must_have", json_object_get(item, "must_have"), "nice_to_have",
                          json_object_get(item, "nice_to_have"), "signals", json_object_get(item, "signals"));
            char *et = json_dumps(evidence, JSON_COMPACT | JSON_REAL_PRECISION(15));
            json_decref(evidence);
            const char *a[] = {ws, PQgetvalue(r, i, PI_ACCOUNT), ab, vb, et, trigger};
            PGresult *e = db_query(c, "SELECT pql_enter($1::uuid, $2, $3::date, $4::int, $5::jsonb, $6)", 6, a, err);
            free(et);
            if (!e) {
                rc = -1;
            } else {
                if (!PQgetisnull(e, 0, 0)) { /* NULL: a concurrent writer entered it first */
                    json_array_append_new(ids, json_string(PQgetvalue(e, 0, 0)));
                    json_array_append_new(created, json_pack("{s:s, s:s}", "account", PQgetvalue(r, i, PI_ACCOUNT),
                                                             "lead", PQgetvalue(e, 0, 0)));
                }
                PQclear(e);
            }
        }
        json_decref(item);
    }
    PQclear(r);
    if (rc == 0 && json_array_size(ids) > 0) {
        char *t = json_dumps(ids, JSON_COMPACT);
        rc = routing_route_new_mqls(c, ws, t, err);
        free(t);
    }
    json_decref(ids);
    return rc;
}

int pql_after_usage(db_conn *c, const char *ws, const char *accounts_json, app_err *err)
{
    pql_def p;
    if (pql_def_load(c, ws, &p, err) != 0)
        return -1;
    long ev = 0, q = 0;
    json_t *created = json_array();
    int rc = pql_enter_qualified(c, ws, &p, utc_today(), accounts_json, "usage", &ev, &q, created, err);
    json_decref(created);
    pql_def_free(&p);
    return rc;
}

/* as_of (default today, never after it); false after replying. */
static bool as_of_param(http_req *rq, const char *v, caldate_t *at)
{
    caldate_t today = utc_today();
    *at = today;
    app_err err = {0};
    if (v && !caldate_parse(v, at))
        app_err_field(&err, "as_of", "must be a date YYYY-MM-DD");
    else if (*at > today)
        app_err_field(&err, "as_of", "must not be in the future: a PQL is judged on the usage recorded up to its date");
    if (err.code == ERR_NONE)
        return true;
    http_reply_error(rq, &err);
    return false;
}

void h_pqls_list(http_req *rq)
{
    caldate_t at;
    long limit;
    const char *cursor, *state = http_query(rq, "state");
    if (!http_page_params(rq, false, &limit, &cursor))
        return;
    if (state && strcmp(state, "qualified") != 0 && strcmp(state, "not_qualified") != 0) {
        app_err err = {0};
        app_err_field(&err, "state", "must be qualified or not_qualified");
        http_reply_error(rq, &err);
        return;
    }
    if (!as_of_param(rq, http_query(rq, "as_of"), &at))
        return;
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    pql_def p;
    if (pql_def_load(db, rq->auth.workspace_id, &p, &err) != 0) {
        http_reply_error(rq, &err);
        return;
    }
    PGresult *r = pql_rows(db, rq->auth.workspace_id, &p, at, NULL, false, cursor, limit + 1, &err);
    if (!r) {
        pql_def_free(&p);
        http_reply_error(rq, &err);
        return;
    }
    /* a page of accounts; with state, the page's accounts in that state */
    json_t *items = json_array();
    int n = PQntuples(r);
    for (int i = 0; i < n && i < limit; i++) {
        bool q = false;
        json_t *item = pql_item(&p, r, i, &q);
        if (!state || (strcmp(state, "qualified") == 0) == q)
            json_array_append_new(items, item);
        else
            json_decref(item);
    }
    json_t *next = n > limit ? json_string(PQgetvalue(r, (int)limit - 1, PI_ACCOUNT)) : json_null();
    PQclear(r);
    char ab[16];
    http_reply_json(rq, 200,
                    json_pack("{s:s, s:i, s:o, s:o}", "as_of", caldate_format(at, ab, sizeof ab), "definition_version",
                              p.version, "items", items, "next_cursor", next));
    pql_def_free(&p);
}

typedef struct {
    const char *ws;
    caldate_t at;
    long evaluated, qualified;
    int version;
    json_t *created;
} eval_tx;

#define PQL_SCAN_CHUNK 500 /* accounts per statement of a scan: each stays well inside the statement timeout */

static int eval_tx_run(db_conn *c, void *ctx, app_err *err)
{
    eval_tx *t = ctx;
    t->evaluated = t->qualified = 0;
    json_array_clear(t->created);
    pql_def p;
    if (pql_def_load(c, t->ws, &p, err) != 0)
        return -1;
    t->version = p.version;
    char ab[16], db[16];
    int days = p.d.active_window_days;
    if (p.d.feature_window_days > days)
        days = p.d.feature_window_days;
    if (p.d.warning_window_days > days)
        days = p.d.warning_window_days;
    snprintf(db, sizeof db, "%d", days);
    const char *q[] = {t->ws, caldate_format(t->at, ab, sizeof ab), db};
    PGresult *r =
        db_query(c,
                 "SELECT w.account FROM pql_accounts($1::uuid, $2::date, $3::int) w"
                 " WHERE NOT EXISTS (SELECT 1 FROM pqls q WHERE q.workspace_id = $1 AND q.account = w.account)"
                 " ORDER BY w.account COLLATE \"C\"",
                 3, q, err);
    int rc = r ? 0 : -1, n = r ? PQntuples(r) : 0;
    for (int i = 0; i < n && rc == 0; i += PQL_SCAN_CHUNK) {
        json_t *chunk = json_array();
        for (int k = i; k < n && k < i + PQL_SCAN_CHUNK; k++)
            json_array_append_new(chunk, json_string(PQgetvalue(r, k, 0)));
        char *text = json_dumps(chunk, JSON_COMPACT);
        json_decref(chunk);
        rc = text ? pql_enter_qualified(c, t->ws, &p, t->at, text, "evaluate", &t->evaluated, &t->qualified, t->created,
                                        err)
                  : -1;
        free(text);
    }
    PQclear(r);
    pql_def_free(&p);
    return rc;
}

void h_pqls_evaluate(http_req *rq)
{
    app_err err = {0};
    const json_t *body = rq->json;
    static const char *const allowed[] = {"as_of", NULL};
    const char *ao = NULL;
    if (body && !json_is_null(body)) {
        if (!jv_require_object(body, &err) || !jv_only_fields(body, allowed, &err) ||
            !jv_string(body, "as_of", false, 10, &ao, &err)) {
            http_reply_error(rq, &err);
            return;
        }
    }
    eval_tx t = {.ws = rq->auth.workspace_id, .created = json_array()};
    if (!as_of_param(rq, ao, &t.at)) {
        json_decref(t.created);
        return;
    }
    db_conn *db = http_db(rq);
    if (db && db_transaction(db, eval_tx_run, &t, &err) == 0) {
        char ab[16];
        http_reply_json(rq, 200,
                        json_pack("{s:s, s:i, s:I, s:I, s:O}", "as_of", caldate_format(t.at, ab, sizeof ab),
                                  "definition_version", t.version, "evaluated", (json_int_t)t.evaluated, "qualified",
                                  (json_int_t)t.qualified, "created", t.created));
    } else if (db) {
        http_reply_error(rq, &err);
    }
    json_decref(t.created);
}

/* h_routing.c - lead routing: the workspace's rules document (the seed's
 * lead-routing.yaml by default, JSON or YAML), POST /v1/routing/route (a dry
 * run, or the assignment recorded), the assignments, and escalation of
 * assignments nobody acted on (exactly once across instances). */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "funnel.h"
#include "handlers.h"
#include "jsonv.h"
#include "routing.h"
#include "yconv.h"

/* The seed's lead-routing.yaml (001 phase 8), verbatim; tests/data has it too. */
static const char seed_yaml[] = "# lead-routing.yaml\n"
                                "rules:\n"
                                "  - name: \"Enterprise (500+ employees)\"\n"
                                "    condition: \"company_size >= 500 AND icp_tier IN ['A', 'B']\"\n"
                                "    route_to: \"enterprise_ae_round_robin\"\n"
                                "    sla: \"5 minutes\"\n"
                                "    \n"
                                "  - name: \"Mid-market (50-499)\"\n"
                                "    condition: \"company_size BETWEEN 50 AND 499\"\n"
                                "    route_to: \"mm_sdr_round_robin\"\n"
                                "    sla: \"5 minutes\"\n"
                                "    \n"
                                "  - name: \"SMB (<50)\"\n"
                                "    condition: \"company_size < 50 AND lead_score >= 50\"\n"
                                "    route_to: \"smb_sdr_round_robin\"\n"
                                "    sla: \"15 minutes\"\n"
                                "    \n"
                                "  - name: \"Low score\"\n"
                                "    condition: \"lead_score < 50\"\n"
                                "    route_to: \"nurture_campaign\"\n"
                                "    sla: \"N/A — automated nurture\"\n"
                                "    \n"
                                "  - name: \"Named account\"\n"
                                "    condition: \"account IN named_account_list\"\n"
                                "    route_to: \"assigned_ae_direct\"\n"
                                "    sla: \"Immediate notification\"\n"
                                "    \n"
                                "fallback: \"marketing_ops_queue\"\n"
                                "escalation: \"If no action in 30 minutes, re-route to manager\"\n";

/* "5 minutes" -> 5, "2 hours" -> 120, "Immediate ..." -> 0; else -1 (no SLA). */
static double minutes_of(const char *s)
{
    if (!s)
        return -1;
    char low[128];
    size_t i = 0;
    for (; s[i] && i + 1 < sizeof low; i++)
        low[i] = (char)tolower((unsigned char)s[i]);
    low[i] = '\0';
    if (strstr(low, "immediate"))
        return 0;
    for (const char *p = low; *p; p++)
        if (isdigit((unsigned char)*p)) {
            double v = strtod(p, NULL);
            while (isdigit((unsigned char)*p) || *p == '.')
                p++;
            while (*p == ' ')
                p++;
            if (strncmp(p, "min", 3) == 0)
                return v;
            if (strncmp(p, "hour", 4) == 0)
                return v * 60;
            if (strncmp(p, "sec", 3) == 0)
                return v / 60;
            return -1;
        }
    return -1;
}

/* A route_to that means "the owner of the lead's account". */
static bool is_direct(const char *route_to)
{
    size_t n = strlen(route_to);
    return n >= 7 && strcmp(route_to + n - 7, "_direct") == 0;
}

static void rerr(app_err *e, size_t i, const char *field, const char *msg)
{
    char path[64];
    snprintf(path, sizeof path, "rules[%zu].%s", i, field);
    app_err_field(e, path, "%s", msg);
}

/* Validate a rules document; the normalised one, or NULL with e filled. */
static json_t *routing_decode(const json_t *doc, app_err *e)
{
    if (!jv_require_object(doc, e))
        return NULL;
    static const char *const allowed[] = {"rules", "fallback", "escalation", "escalation_minutes",
                                          "pools", "lists",    NULL};
    (void)jv_only_fields(doc, allowed, e);
    const json_t *rules = json_object_get(doc, "rules");
    json_t *out = json_array();
    if (!json_is_array(rules) || json_array_size(rules) == 0 || json_array_size(rules) > 100)
        app_err_field(e, "rules", "is required: a list of 1 to 100 rules");
    size_t i;
    json_t *r;
    json_array_foreach(rules, i, r)
    {
        const char *name = json_string_value(json_object_get(r, "name"));
        const char *cond = json_string_value(json_object_get(r, "condition"));
        const char *to = json_string_value(json_object_get(r, "route_to"));
        const json_t *sla = json_object_get(r, "sla");
        if (!json_is_object(r)) {
            rerr(e, i, "item", "must be an object");
            continue;
        }
        if (!name || !*name || strlen(name) > 200)
            rerr(e, i, "name", "is required: 1 to 200 characters");
        routing_cond c;
        char why[160];
        if (!cond || strlen(cond) > 2000)
            rerr(e, i, "condition", "is required: terms joined by AND, e.g. company_size BETWEEN 50 AND 499");
        else if (!routing_parse(cond, &c, why, sizeof why))
            rerr(e, i, "condition", why);
        if (!to || !*to || strlen(to) > 200)
            rerr(e, i, "route_to", "is required: a pool, a queue or <x>_direct (the account owner)");
        if (sla && !json_is_string(sla) && !json_is_null(sla))
            rerr(e, i, "sla", "must be text such as \"5 minutes\"");
        if (e->code != ERR_NONE)
            continue;
        double m = minutes_of(json_string_value(sla));
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:o, s:o}", "name", name, "condition", cond, "route_to",
                                             to, "sla", json_is_string(sla) ? json_incref((json_t *)sla) : json_null(),
                                             "sla_minutes", m >= 0 ? json_real(m) : json_null()));
    }
    const char *fallback = json_string_value(json_object_get(doc, "fallback"));
    if (json_object_get(doc, "fallback") && (!fallback || !*fallback || strlen(fallback) > 200))
        app_err_field(e, "fallback", "must be a queue or pool name");
    const json_t *esc = json_object_get(doc, "escalation");
    if (esc && !json_is_string(esc) && !json_is_null(esc))
        app_err_field(e, "escalation", "must be text such as \"If no action in 30 minutes, re-route to manager\"");
    double esc_min = minutes_of(json_string_value(esc));
    const json_t *em = json_object_get(doc, "escalation_minutes");
    if (em && !json_is_null(em) && (!json_is_number(em) || json_number_value(em) <= 0))
        app_err_field(e, "escalation_minutes", "must be a number of minutes above 0");
    else if (em && json_is_number(em))
        esc_min = json_number_value(em);
    static const char *const maps[] = {"pools", "lists"};
    for (int k = 0; k < 2; k++) {
        const json_t *m = json_object_get(doc, maps[k]);
        if (!m || json_is_null(m))
            continue;
        const char *key;
        json_t *v;
        if (!json_is_object(m)) {
            app_err_field(e, maps[k], "must be an object: name -> list of ids");
            continue;
        }
        json_object_foreach((json_t *)m, key, v)
        {
            char path[96];
            snprintf(path, sizeof path, "%s.%.60s", maps[k], key);
            size_t j;
            json_t *s;
            bool ok = json_is_array(v) && json_array_size(v) <= 1000;
            if (ok)
                json_array_foreach(v, j, s) ok =
                    ok && json_is_string(s) && json_string_length(s) > 0 && json_string_length(s) <= 200;
            if (!ok)
                app_err_field(e, path, "must be a list of up to 1,000 ids (strings of 1 to 200 characters)");
        }
    }
    if (e->code != ERR_NONE) {
        json_decref(out);
        return NULL;
    }
    const json_t *pools = json_object_get(doc, "pools"), *lists = json_object_get(doc, "lists");
    return json_pack("{s:o, s:s, s:o, s:o, s:o, s:o}", "rules", out, "fallback",
                     fallback ? fallback : "marketing_ops_queue", "escalation",
                     json_is_string(esc) ? json_incref((json_t *)esc) : json_null(), "escalation_minutes",
                     esc_min > 0 ? json_real(esc_min) : json_null(), "pools",
                     json_is_object(pools) ? json_deep_copy(pools) : json_object(), "lists",
                     json_is_object(lists) ? json_deep_copy(lists) : json_object());
}

/* ---- the document ----------------------------------------------------------- */

/* The seed's rules normalised, as stored: made once per process (the
 * routing of a workspace without rules writes them in its transaction). */
static char *seed_text;
static pthread_once_t seed_once = PTHREAD_ONCE_INIT;

static void seed_text_make(void)
{
    char msg[256];
    json_t *doc = yconv_parse(seed_yaml, sizeof seed_yaml - 1, msg, sizeof msg);
    app_err e = {0};
    json_t *norm = doc ? routing_decode(doc, &e) : NULL;
    seed_text = norm ? json_dumps(norm, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(doc);
    json_decref(norm);
}

static int routing_ensure_default(db_conn *db, const char *ws, app_err *err)
{
    pthread_once(&seed_once, seed_text_make);
    if (!seed_text) {
        app_err_set(err, ERR_INTERNAL, "the seed's routing rules do not decode");
        return -1;
    }
    const char *p[] = {ws, seed_text};
    return db_exec(db,
                   "WITH r AS (INSERT INTO routing_rules (workspace_id, document) VALUES ($1, $2::jsonb)"
                   "   ON CONFLICT (workspace_id) DO NOTHING RETURNING *)"
                   " INSERT INTO routing_rule_versions (workspace_id, version, document)"
                   " SELECT workspace_id, version, document FROM r",
                   2, p, err);
}

static void reply_rules(http_req *rq, int status, const char *json_text)
{
    json_t *f = json_loads(json_text, 0, NULL);
    if (!f) {
        http_fail(rq, ERR_INTERNAL, "could not decode the stored routing rules");
        return;
    }
    char etag[32];
    snprintf(etag, sizeof etag, "\"v%lld\"", (long long)json_integer_value(json_object_get(f, "version")));
    http_add_header(rq, "ETag", etag);
    bool yaml = http_wants_yaml(rq);
    size_t len = 0;
    char *text = yaml ? yconv_emit(f, &len) : json_dumps(f, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(f);
    if (!text) {
        http_fail(rq, ERR_INTERNAL, "could not encode the routing rules");
        return;
    }
    if (!yaml)
        len = strlen(text);
    http_reply_text(rq, status, yaml ? "application/yaml" : "application/json", text, len);
}

static const char *const RULES_JSON =
    "SELECT jsonb_build_object('version', r.version, 'updated_at', rfc3339(r.updated_at))"
    " || r.document FROM routing_rules r WHERE r.workspace_id = $1";

void h_routing_rules_get(http_req *rq)
{
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    char *text = NULL;
    const char *p[] = {rq->auth.workspace_id};
    PGresult *r =
        routing_ensure_default(db, rq->auth.workspace_id, &err) == 0 ? db_query(db, RULES_JSON, 1, p, &err) : NULL;
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    text = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    reply_rules(rq, 200, text);
    free(text);
}

typedef struct {
    const char *ws, *if_match;
    char *doc_text, *result;
} rules_write;

static int rules_write_tx(db_conn *c, void *ctx, app_err *err)
{
    rules_write *w = ctx;
    char ver[24];
    const char *p[] = {w->ws};
    int f = db_query_value(c, "SELECT version FROM routing_rules WHERE workspace_id = $1 FOR UPDATE", 1, p, ver,
                           sizeof ver, err);
    if (f <= 0) {
        if (f == 0)
            app_err_set(err, ERR_INTERNAL, "the workspace has no routing rules");
        return -1;
    }
    if (w->if_match) {
        char want[32];
        snprintf(want, sizeof want, "\"v%s\"", ver);
        const char *im = strncmp(w->if_match, "W/", 2) == 0 ? w->if_match + 2 : w->if_match;
        if (strcmp(im, want) != 0 && strcmp(im, "*") != 0) {
            app_err_set(err, ERR_PRECONDITION_FAILED, "The rules are at version %s; fetch them again and reapply", ver);
            return -1;
        }
    }
    const char *u[] = {w->ws, w->doc_text};
    if (db_exec(c,
                "WITH r AS (UPDATE routing_rules SET document = $2::jsonb, version = version + 1, updated_at = now()"
                "   WHERE workspace_id = $1 RETURNING *)"
                " INSERT INTO routing_rule_versions (workspace_id, version, document)"
                " SELECT workspace_id, version, document FROM r",
                2, u, err) != 0)
        return -1;
    PGresult *r = db_query(c, RULES_JSON, 1, p, err);
    if (!r)
        return -1;
    free(w->result);
    w->result = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

void h_routing_rules_put(http_req *rq)
{
    json_t *body = NULL;
    const char *ctype = http_header(rq, "Content-Type");
    if (rq->json) {
        body = json_incref(rq->json);
    } else if (rq->body_len && ctype && strstr(ctype, "yaml")) {
        char msg[256];
        body = yconv_parse(rq->body, rq->body_len, msg, sizeof msg);
        if (!body) {
            http_fail(rq, ERR_BAD_REQUEST, "%s", msg);
            return;
        }
    } else {
        http_fail(rq, ERR_BAD_REQUEST, "A routing rules body is required (JSON or YAML)");
        return;
    }
    app_err err = {0};
    json_t *norm = routing_decode(body, &err);
    json_decref(body);
    if (!norm) {
        http_reply_error(rq, &err);
        return;
    }
    rules_write w = {.ws = rq->auth.workspace_id, .if_match = http_header(rq, "If-Match")};
    w.doc_text = json_dumps(norm, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(norm);
    db_conn *db = http_db(rq);
    if (db && routing_ensure_default(db, rq->auth.workspace_id, &err) == 0 &&
        db_transaction(db, rules_write_tx, &w, &err) == 0)
        reply_rules(rq, 200, w.result);
    else if (db)
        http_reply_error(rq, &err);
    free(w.doc_text);
    free(w.result);
}

/* ---- routing one lead ------------------------------------------------------- */

typedef struct {
    json_t *lead;      /* routing_lead_fields, plus lead_score, and the account's icp_tier when the lead has none */
    char buf[64][128]; /* numbers rendered for the lookup */
    int nbuf;
} lead_view;

static const char *lead_lookup(void *ctx, const char *field)
{
    lead_view *v = ctx;
    const json_t *x = json_object_get(v->lead, field);
    if (json_is_string(x))
        return json_string_value(x);
    if (json_is_number(x) && v->nbuf < 64) {
        snprintf(v->buf[v->nbuf], sizeof v->buf[0], "%.15g", json_number_value(x));
        return v->buf[v->nbuf++];
    }
    return NULL;
}

typedef struct {
    const char *ws, *lead_id;
    bool dry_run;
    json_t *out;
} route_tx;

/* A workspace's rules made ready once per version: the stored document
 * decoded and every rule's condition parsed. Each routing used to fetch the
 * document, decode it (300 pool members in the bench) and parse each
 * condition again. Whether the copy is current is asked in the routing's
 * own transaction (routing_lookup, sql/75_routing.sql, sends the document
 * only when the version or its stamp differ), so a PUT on any instance is
 * seen by the next routing everywhere. Shared read-only by the request
 * threads, freed by the last reference. */
typedef struct {
    routing_cond cond;
    bool parsed; /* false: the stored condition does not parse: the rule matches nothing */
    bool lists;  /* a term names a list: resolved per routing */
    bool direct; /* route_to is <x>_direct */
} ready_rule;

typedef struct {
    char ws[40], stamp[48];
    int version;
    json_t *doc;
    size_t n;
    ready_rule *rule;
    int refs;
    unsigned long used;
} ready_rules;

#define READY_SLOTS 16
static pthread_mutex_t ready_mu = PTHREAD_MUTEX_INITIALIZER;
static ready_rules *ready_slot[READY_SLOTS];
static unsigned long ready_tick;

static void ready_release(ready_rules *rr)
{
    if (!rr)
        return;
    pthread_mutex_lock(&ready_mu);
    bool last = --rr->refs == 0;
    pthread_mutex_unlock(&ready_mu);
    if (last) {
        json_decref(rr->doc);
        free(rr->rule);
        free(rr);
    }
}

/* The cached rules of ws (a reference), or NULL. */
static ready_rules *ready_get(const char *ws)
{
    ready_rules *rr = NULL;
    pthread_mutex_lock(&ready_mu);
    for (int i = 0; i < READY_SLOTS && !rr; i++)
        if (ready_slot[i] && strcmp(ready_slot[i]->ws, ws) == 0) {
            rr = ready_slot[i];
            rr->refs++;
            rr->used = ++ready_tick;
        }
    pthread_mutex_unlock(&ready_mu);
    return rr;
}

/* Make doc (the stored rules, with version) ready and cache it in ws's slot
 * (or the least recently used one). A reference, or NULL when out of memory. */
static ready_rules *ready_make(const char *ws, int version, const char *stamp, const char *doc_text)
{
    ready_rules *rr = calloc(1, sizeof *rr);
    json_t *doc = json_loads(doc_text, 0, NULL);
    const json_t *rules = json_object_get(doc, "rules");
    size_t n = json_array_size(rules);
    ready_rule *rule = calloc(n ? n : 1, sizeof *rule);
    if (!rr || !doc || !rule) {
        free(rr);
        json_decref(doc);
        free(rule);
        return NULL;
    }
    snprintf(rr->ws, sizeof rr->ws, "%s", ws);
    snprintf(rr->stamp, sizeof rr->stamp, "%s", stamp);
    rr->version = version;
    rr->doc = doc;
    rr->n = n;
    rr->rule = rule;
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(rules, i);
        const char *cond = json_string_value(json_object_get(r, "condition"));
        const char *to = json_string_value(json_object_get(r, "route_to"));
        char why[160];
        rule[i].parsed = cond && to && routing_parse(cond, &rule[i].cond, why, sizeof why);
        rule[i].direct = to && is_direct(to);
        for (int k = 0; rule[i].parsed && k < rule[i].cond.n; k++)
            rule[i].lists = rule[i].lists || rule[i].cond.t[k].list_name[0] != '\0';
    }
    rr->refs = 2; /* the caller's and the cache's */
    pthread_mutex_lock(&ready_mu);
    int slot = -1;
    for (int i = 0; i < READY_SLOTS && slot < 0; i++)
        if (ready_slot[i] && strcmp(ready_slot[i]->ws, ws) == 0)
            slot = i;
    for (int i = 0; i < READY_SLOTS && slot < 0; i++)
        if (!ready_slot[i])
            slot = i;
    if (slot < 0) {
        slot = 0;
        for (int i = 1; i < READY_SLOTS; i++)
            if (ready_slot[i]->used < ready_slot[slot]->used)
                slot = i;
    }
    ready_rules *old = ready_slot[slot];
    ready_slot[slot] = rr;
    rr->used = ++ready_tick;
    pthread_mutex_unlock(&ready_mu);
    ready_release(old);
    return rr;
}

/* Resolve the values of a condition's list terms other than "account IN
 * list" (those are asked whole, below): the document's lists, and
 * named_account_list (when the document has none) = the workspace's accounts
 * that have an owner. 0 or -1. */
static int resolve_lists(db_conn *c, const char *ws, const json_t *lists, routing_cond *cond, app_err *err)
{
    for (int i = 0; i < cond->n; i++) {
        routing_term *t = &cond->t[i];
        if (!t->list_name[0] || (strcmp(t->field, "account") == 0 && (t->op == RT_IN || t->op == RT_NOT_IN)))
            continue;
        const json_t *l = json_object_get(lists, t->list_name);
        json_t *own = NULL;
        if (!l && strcmp(t->list_name, "named_account_list") == 0) {
            const char *p[] = {ws};
            PGresult *r =
                db_query(c,
                         "SELECT COALESCE(jsonb_agg(external_id), '[]') FROM (SELECT external_id FROM accounts"
                         " WHERE workspace_id = $1 AND deleted_at IS NULL AND owner IS NOT NULL LIMIT 32) x",
                         1, p, err);
            if (!r)
                return -1;
            own = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
            PQclear(r);
            l = own;
        }
        /* the lead's own value is what is matched: test membership directly */
        size_t k;
        json_t *s;
        t->nvalues = 0;
        json_array_foreach(l, k, s) if (t->nvalues < ROUTING_MAX_VALUES && json_is_string(s))
        {
            snprintf(t->values[t->nvalues], ROUTING_VALUE_LEN, "%s", json_string_value(s));
            t->numeric[t->nvalues++] = false;
        }
        json_decref(own);
    }
    return 0;
}

/* Is the lead's account one of a named list? The document's list when it
 * has one (so long lists are not truncated to a term's values); else
 * named_account_list is the workspace's accounts with an owner, which for the
 * lead's account is account_owned (its owner, read with the lead). */
static bool account_named(const char *account, bool account_owned, const char *list_name, const json_t *lists)
{
    if (!account)
        return false;
    const json_t *l = json_object_get(lists, list_name);
    if (l) {
        size_t k;
        json_t *s;
        json_array_foreach(l, k, s) if (json_is_string(s) && strcmp(json_string_value(s), account) == 0) return true;
        return false;
    }
    return strcmp(list_name, "named_account_list") == 0 && account_owned;
}

/* Does the rule match? 1, 0, or -1 with err. */
static int rule_matches(db_conn *c, const char *ws, const json_t *doc, const ready_rule *rule, bool account_owned,
                        lead_view *v, app_err *err)
{
    v->nbuf = 0; /* the rendered numbers are per rule: a long rule list never runs out */
    if (!rule->parsed)
        return 0;
    if (!rule->lists)
        return routing_match(&rule->cond, lead_lookup, v) ? 1 : 0;
    routing_cond *cond = malloc(sizeof *cond);
    if (!cond) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    memcpy(cond, &rule->cond, sizeof *cond);
    const json_t *lists = json_object_get(doc, "lists");
    int rc = resolve_lists(c, ws, lists, cond, err) != 0 ? -1 : 1;
    /* "account IN list": asked whole, and the term then leaves the condition */
    for (int i = 0; rc == 1 && i < cond->n; i++)
        if (cond->t[i].list_name[0] && strcmp(cond->t[i].field, "account") == 0 &&
            (cond->t[i].op == RT_IN || cond->t[i].op == RT_NOT_IN)) {
            const char *account = lead_lookup(v, "account");
            bool in = account_named(account, account_owned, cond->t[i].list_name, lists);
            if ((cond->t[i].op == RT_IN) != in || !account) {
                rc = 0;
                break;
            }
            memmove(&cond->t[i], &cond->t[i + 1], (size_t)(cond->n - i - 1) * sizeof cond->t[0]);
            cond->n--;
            i--;
            if (cond->n == 0)
                break;
        }
    if (rc == 1 && cond->n > 0)
        rc = routing_match(cond, lead_lookup, v) ? 1 : 0;
    free(cond);
    return rc;
}

/* A pool's next member: the counter (advanced unless dry run) over the
 * available members (reps neither deleted nor past their end date; every
 * member when the workspace has no reps), both in one call
 * (routing_pool_take, sql/75_routing.sql). NULL when none is available, or
 * with err set. */
static char *pool_pick(db_conn *c, const char *ws, const char *pool, const json_t *members, bool dry_run, app_err *err)
{
    char *mj = json_dumps(members, JSON_COMPACT);
    const char *p[] = {ws, pool, mj, dry_run ? "true" : "false"};
    PGresult *r = mj ? db_query_prepared(c, DB_PREP_ROUTING_POOL,
                                         "SELECT available, taken FROM routing_pool_take($1::uuid, $2, $3::jsonb,"
                                         " $4::boolean)",
                                         4, p, err)
                     : NULL;
    free(mj);
    if (!r) {
        if (err->code == ERR_NONE)
            app_err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    char *pick = NULL;
    if (!PQgetisnull(r, 0, 1)) {
        const char *av = PQgetvalue(r, 0, 0);
        int n = (int)strlen(av);
        bool *avail = calloc((size_t)(n ? n : 1), sizeof *avail);
        if (!avail) {
            app_err_set(err, ERR_INTERNAL, "out of memory");
        } else {
            for (int i = 0; i < n; i++)
                avail[i] = av[i] == 't';
            int k =
                (size_t)n == json_array_size(members) ? routing_round_robin(atoll(PQgetvalue(r, 0, 1)), avail, n) : -1;
            if (k >= 0)
                pick = strdup(json_string_value(json_array_get(members, (size_t)k)));
            else
                app_err_set(err, ERR_INTERNAL, "the pool's availability does not match its members");
            free(avail);
        }
    }
    PQclear(r);
    return pick;
}

/* Where route_to sends this lead: *assignee (a rep) or *queue. 1 when it
 * can take the lead, 0 when not (an account without owner, a pool with
 * nobody available), -1 with err. */
static int resolve_target(db_conn *c, route_tx *t, const json_t *doc, const char *to, const char *account_owner,
                          char **assignee, const char **queue, const char **pool, app_err *err)
{
    *assignee = NULL;
    *queue = NULL;
    *pool = NULL;
    if (is_direct(to)) {
        if (!account_owner)
            return 0;
        *assignee = strdup(account_owner);
        return 1;
    }
    const json_t *members = json_object_get(json_object_get(doc, "pools"), to);
    if (members) {
        app_err e = {0};
        *assignee = pool_pick(c, t->ws, to, members, t->dry_run, &e);
        if (!*assignee && e.code != ERR_NONE) {
            *err = e;
            return -1;
        }
        *pool = to;
        return *assignee ? 1 : 0;
    }
    *queue = to; /* a queue or campaign: nobody is assigned */
    return 1;
}

/* What the routing reads, in one call (sql/75_routing.sql routing_lookup);
 * the workspace's default rules written first when it has none. The result
 * (one row), or NULL with err (404 for no lead). */
static PGresult *route_lookup(db_conn *c, const route_tx *t, const ready_rules *cached, app_err *err)
{
    char ver[16];
    snprintf(ver, sizeof ver, "%d", cached ? cached->version : 0);
    const char *p[] = {t->ws, t->lead_id, cached ? ver : NULL, cached ? cached->stamp : NULL};
    for (int attempt = 0; attempt < 2; attempt++) {
        PGresult *r = db_query_prepared(c, DB_PREP_ROUTING_LOOKUP,
                                        "SELECT lead, icp_tier, account_owner, rules_version, rules_at, rules, model"
                                        " FROM routing_lookup($1::uuid, $2, $3::integer, $4::timestamptz)",
                                        4, p, err);
        if (!r)
            return NULL;
        if (PQntuples(r) == 0) {
            PQclear(r);
            app_err_set(err, ERR_NOT_FOUND, "No lead with this id");
            return NULL;
        }
        if (!PQgetisnull(r, 0, 3))
            return r;
        PQclear(r);
        if (attempt == 0 && routing_ensure_default(c, t->ws, err) != 0)
            return NULL;
    }
    app_err_set(err, ERR_INTERNAL, "the workspace has no routing rules");
    return NULL;
}

static int route_tx_run(db_conn *c, void *ctx, app_err *err)
{
    route_tx *t = ctx;
    json_decref(t->out);
    t->out = NULL;
    ready_rules *rr = ready_get(t->ws);
    PGresult *r = route_lookup(c, t, rr, err);
    if (!r) {
        ready_release(rr);
        return -1;
    }
    int version = atoi(PQgetvalue(r, 0, 3));
    if (!rr || rr->version != version || strcmp(rr->stamp, PQgetvalue(r, 0, 4)) != 0 || !PQgetisnull(r, 0, 5)) {
        ready_release(rr);
        rr = PQgetisnull(r, 0, 5) ? NULL : ready_make(t->ws, version, PQgetvalue(r, 0, 4), PQgetvalue(r, 0, 5));
        if (!rr) {
            PQclear(r);
            app_err_set(err, ERR_INTERNAL, "could not decode the stored routing rules");
            return -1;
        }
    }
    lead_view v = {.lead = json_loads(PQgetvalue(r, 0, 0), 0, NULL)};
    if (!json_is_string(json_object_get(v.lead, "icp_tier")) && !PQgetisnull(r, 0, 1))
        json_object_set_new(v.lead, "icp_tier", json_string(PQgetvalue(r, 0, 1)));
    char *owner = PQgetisnull(r, 0, 2) ? NULL : strdup(PQgetvalue(r, 0, 2));
    char *model = PQgetisnull(r, 0, 6) ? NULL : strdup(PQgetvalue(r, 0, 6));
    PQclear(r);
    const json_t *doc = rr->doc;
    json_t *score = NULL, *skipped = json_array();
    char *assignee = NULL;
    int rc = -1;
    /* the default model as read with the lead; a workspace without one gets
     * the seed's from scoring_default_score */
    if ((model ? scoring_lead_score(c, t->ws, t->lead_id, NULL, model, &score, err)
               : scoring_default_score(c, t->ws, t->lead_id, &score, err)) != 0)
        goto out;
    json_object_set(v.lead, "lead_score", json_object_get(score, "score"));
    const json_t *rules = json_object_get(doc, "rules"), *hit = NULL;
    const char *queue = NULL, *pool = NULL;
    /* direct-to-owner rules first (the seed lists "Named account" last, yet
     * its size and score rules leave it nothing), then document order */
    for (int pass = 0; pass < 2 && !hit; pass++) {
        for (size_t i = 0; i < rr->n; i++) {
            const json_t *rule = json_array_get(rules, i);
            const char *to = json_string_value(json_object_get(rule, "route_to"));
            if (rr->rule[i].direct != (pass == 0))
                continue;
            int m = rule_matches(c, t->ws, doc, &rr->rule[i], owner != NULL, &v, err);
            if (m < 0)
                goto out;
            if (!m)
                continue;
            int ok = resolve_target(c, t, doc, to, owner, &assignee, &queue, &pool, err);
            if (ok < 0)
                goto out;
            if (ok) {
                hit = rule;
                break;
            }
            json_array_append_new(
                skipped, json_pack("{s:O, s:s}", "rule", json_object_get(rule, "name"), "reason",
                                   is_direct(to) ? "the account has no owner" : "nobody in the pool is available"));
        }
    }
    const char *to =
        hit ? json_string_value(json_object_get(hit, "route_to")) : json_string_value(json_object_get(doc, "fallback"));
    if (!hit && resolve_target(c, t, doc, to, owner, &assignee, &queue, &pool, err) < 0)
        goto out;
    if (!hit && !assignee && !queue)
        queue = to; /* a fallback pool with nobody available is still the fallback queue */
    const json_t *sla_min = hit ? json_object_get(hit, "sla_minutes") : json_null();
    const json_t *esc = assignee ? json_object_get(doc, "escalation_minutes") : json_null();
    json_t *assignment_id = json_null(), *routed_at = json_null();
    if (!t->dry_run) { /* the assignment, and the lead is the assignee's now */
        char *slas = json_is_number(sla_min) ? json_dumps(sla_min, JSON_ENCODE_ANY) : NULL;
        char *escs = json_is_number(esc) ? json_dumps(esc, JSON_ENCODE_ANY) : NULL;
        const char *a[] = {t->ws, t->lead_id, hit ? json_string_value(json_object_get(hit, "name")) : NULL,
                           to,    assignee,   queue,
                           slas,  escs};
        r = db_query_prepared(c, DB_PREP_ROUTING_RECORD,
                              "SELECT assignment_id, at_text FROM routing_record($1::uuid, $2, $3, $4, $5, $6,"
                              " $7::numeric, $8::numeric)",
                              8, a, err);
        free(slas);
        free(escs);
        if (!r)
            goto out;
        assignment_id = json_integer(atoll(PQgetvalue(r, 0, 0)));
        routed_at = json_string(PQgetvalue(r, 0, 1));
        PQclear(r);
    }
    t->out = json_pack("{s:s, s:b, s:o, s:s, s:o, s:o, s:o, s:O, s:O, s:o, s:O, s:o, s:o, s:o}", "lead", t->lead_id,
                       "dry_run", t->dry_run, "rule", hit ? json_incref(json_object_get(hit, "name")) : json_null(),
                       "route_to", to, "pool", pool ? json_string(pool) : json_null(), "assignee",
                       assignee ? json_string(assignee) : json_null(), "queue",
                       queue ? json_string(queue) : json_null(), "sla", hit ? json_object_get(hit, "sla") : json_null(),
                       "sla_minutes", sla_min ? sla_min : json_null(), "lead_score",
                       json_incref(json_object_get(score, "score")), "escalate_after_minutes", esc ? esc : json_null(),
                       "skipped", json_incref(skipped), "assignment_id", assignment_id, "routed_at", routed_at);
    rc = t->out ? 0 : -1;
    if (rc)
        app_err_set(err, ERR_INTERNAL, "could not encode the routing");
out:
    json_decref(skipped);
    json_decref(score);
    json_decref(v.lead);
    free(owner);
    free(model);
    free(assignee);
    ready_release(rr);
    return rc;
}

void h_routing_route(http_req *rq)
{
    app_err err = {0};
    if (!jv_require_object(rq->json, &err)) {
        http_reply_error(rq, &err);
        return;
    }
    static const char *const allowed[] = {"lead", "dry_run", NULL};
    (void)jv_only_fields(rq->json, allowed, &err);
    const char *lead = NULL;
    (void)jv_string(rq->json, "lead", true, 200, &lead, &err);
    const json_t *dr = json_object_get(rq->json, "dry_run");
    if (dr && !json_is_boolean(dr))
        app_err_field(&err, "dry_run", "must be true or false");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    route_tx t = {.ws = rq->auth.workspace_id, .lead_id = lead, .dry_run = !dr || json_is_true(dr)};
    db_conn *db = http_db(rq);
    if (!db)
        return;
    /* the default rules, when the workspace has none, are written inside the
     * routing's transaction (route_lookup) */
    if (db_transaction(db, route_tx_run, &t, &err) != 0)
        http_reply_error(rq, &err);
    else
        http_reply_json(rq, t.dry_run ? 200 : 201, json_incref(t.out));
    json_decref(t.out);
}

#define ASSIGNMENT_JSON                                                                                                \
    "jsonb_build_object('id', a.id, 'lead', a.lead_id, 'rule', a.rule, 'route_to', a.route_to, 'assignee',"            \
    " a.assignee, 'queue', a.queue, 'sla_minutes', a.sla_minutes, 'routed_at', rfc3339(a.routed_at),"                  \
    " 'escalate_after_minutes', a.escalate_minutes, 'escalated_at', rfc3339(a.escalated_at), 'escalated_to',"          \
    " a.escalated_to)"

void h_routing_assignments(http_req *rq)
{
    long limit;
    const char *cursor;
    if (!http_page_params(rq, false, &limit, &cursor))
        return;
    const char *lead = http_query(rq, "lead");
    if (cursor && (strspn(cursor, "0123456789") != strlen(cursor) || strlen(cursor) > 18)) {
        http_fail(rq, ERR_VALIDATION, "cursor: not a cursor of this list");
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    char lbuf[24];
    snprintf(lbuf, sizeof lbuf, "%ld", limit + 1);
    const char *p[] = {rq->auth.workspace_id, cursor, lbuf, lead};
    PGresult *r = db_query(db,
                           "SELECT " ASSIGNMENT_JSON ", a.id FROM lead_assignments a WHERE a.workspace_id = $1"
                           " AND ($2::bigint IS NULL OR a.id > $2::bigint) AND ($4::text IS NULL OR a.lead_id = $4)"
                           " ORDER BY a.id LIMIT $3",
                           4, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    http_reply_page(rq, r, limit);
}

/* Escalate the workspace's assignments whose escalation time has come with
 * no action (sql/74_leads.sql routing_escalate: the rule, and why each is
 * escalated exactly once whichever instance runs it first; revopsd's
 * periodic pass, server/jobs.c, runs the same function for every workspace). */
void h_routing_escalations(http_req *rq)
{
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    const char *p[] = {rq->auth.workspace_id};
    PGresult *r = db_query(
        db, "SELECT e - 'workspace_id' FROM routing_escalate($1::uuid) e ORDER BY (e ->> 'id')::bigint", 1, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(items, json_loads(PQgetvalue(r, i, 0), 0, NULL));
    PQclear(r);
    http_reply_json(rq, 200, json_pack("{s:o}", "escalated", items));
}

/* ---- automatic routing ------------------------------------------------------ */

/* Route the leads that became MQL (ids: a JSON array of lead ids) and have no
 * assignment since they entered it, in the caller's transaction: the seed's
 * "MQLs routed to correct SDR within 5 minutes". 0 or -1. */
int routing_route_new_mqls(db_conn *c, const char *ws, const char *ids_json, app_err *err)
{
    const char *p[] = {ws, ids_json};
    PGresult *r = db_query(c,
                           /* each lead and its assignments by their keys (OFFSET 0
                            * keeps the lookups): without statistics the leads were
                            * read by stage (every MQL of the workspace per new one)
                            * and the assignments of the whole workspace per lead */
                           "SELECT l.external_id FROM jsonb_array_elements_text($2::jsonb) AS x(id),"
                           " LATERAL (SELECT * FROM leads y WHERE y.workspace_id = $1 AND y.external_id = x.id"
                           "   OFFSET 0) l"
                           " WHERE l.deleted_at IS NULL AND l.lifecycle_stage = 'mql'"
                           " AND NOT EXISTS (SELECT 1 FROM lead_assignments a WHERE a.workspace_id = l.workspace_id"
                           "   AND a.lead_id = l.external_id AND a.routed_at >= l.stage_entered_at OFFSET 0)"
                           " ORDER BY l.external_id",
                           2, p, err);
    if (!r)
        return -1;
    int rc = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        route_tx t = {.ws = ws, .lead_id = PQgetvalue(r, i, 0), .dry_run = false};
        rc = route_tx_run(c, &t, err);
        json_decref(t.out);
    }
    PQclear(r);
    return rc;
}

/* ---- SLA compliance ----------------------------------------------------------- */

typedef struct {
    char *key;
    long total, met, breached, pending;
    double *elapsed; /* of the responded ones */
    size_t nel, cap;
} sla_group;

static sla_group *sla_group_of(sla_group **gs, size_t *n, size_t *cap, const char *key)
{
    for (size_t i = 0; i < *n; i++)
        if ((!key && !(*gs)[i].key) || (key && (*gs)[i].key && strcmp(key, (*gs)[i].key) == 0))
            return &(*gs)[i];
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        sla_group *ng = realloc(*gs, nc * sizeof *ng);
        if (!ng)
            return NULL;
        *gs = ng;
        *cap = nc;
    }
    sla_group *g = &(*gs)[(*n)++];
    memset(g, 0, sizeof *g);
    g->key = key ? strdup(key) : NULL;
    return g;
}

static json_t *minutes_json(double v) { return isnan(v) ? json_null() : json_real(round(v * 100) / 100); }

void h_sla_compliance(http_req *rq)
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
    int col = 0; /* sla */
    if (group_by && strcmp(group_by, "owner") == 0)
        col = 2;
    else if (group_by && strcmp(group_by, "source") == 0)
        col = 3;
    else if (group_by && strcmp(group_by, "sla") != 0)
        app_err_field(&err, "group_by", "must be owner, source or sla");
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
    char end[16];
    caldate_format(dt + 1, end, sizeof end);
    const char *p[] = {rq->auth.workspace_id, from, end};
    PGresult *r = db_query(db,
                           "SELECT sla, subject, owner, source, rfc3339(started_at), rfc3339(done_at), target_minutes,"
                           " business, elapsed_minutes FROM sla_instances($1::uuid, $2::date, $3::date)",
                           3, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    sla_group *gs = NULL;
    size_t ng = 0, cap = 0;
    json_t *breaches = json_array();
    long nbreach = 0;
    bool ok = true;
    for (int i = 0; i < PQntuples(r) && ok; i++) {
        sla_group *g = sla_group_of(&gs, &ng, &cap, PQgetisnull(r, i, col) ? NULL : PQgetvalue(r, i, col));
        if (!g) {
            ok = false;
            break;
        }
        double target = atof(PQgetvalue(r, i, 6)), elapsed = atof(PQgetvalue(r, i, 8));
        bool done = !PQgetisnull(r, i, 5);
        g->total++;
        if (elapsed > target) {
            g->breached++;
            if (nbreach++ < 200)
                json_array_append_new(
                    breaches, json_pack("{s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:b}", "sla", PQgetvalue(r, i, 0),
                                        "subject", PQgetvalue(r, i, 1), "owner",
                                        PQgetisnull(r, i, 2) ? json_null() : json_string(PQgetvalue(r, i, 2)), "source",
                                        PQgetisnull(r, i, 3) ? json_null() : json_string(PQgetvalue(r, i, 3)),
                                        "started_at", PQgetvalue(r, i, 4), "responded_at",
                                        done ? json_string(PQgetvalue(r, i, 5)) : json_null(), "elapsed_minutes",
                                        minutes_json(elapsed), "target_minutes", minutes_json(target), "business_hours",
                                        strcmp(PQgetvalue(r, i, 7), "t") == 0));
        } else if (done) {
            g->met++;
        } else {
            g->pending++;
        }
        if (done) {
            if (g->nel == g->cap) {
                size_t nc = g->cap ? g->cap * 2 : 16;
                double *ne = realloc(g->elapsed, nc * sizeof *ne);
                if (!ne) {
                    ok = false;
                    break;
                }
                g->elapsed = ne;
                g->cap = nc;
            }
            g->elapsed[g->nel++] = elapsed;
        }
    }
    PQclear(r);
    json_t *groups = json_array();
    for (size_t i = 0; i < ng; i++) {
        sla_group *g = &gs[i];
        long decided = g->met + g->breached;
        double med = g->nel ? funnel_quantile(g->elapsed, g->nel, 0.5) : NAN;
        double p90 = g->nel ? funnel_quantile(g->elapsed, g->nel, 0.9) : NAN;
        json_array_append_new(groups, json_pack("{s:o, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "key",
                                                g->key ? json_string(g->key) : json_null(), "total",
                                                (json_int_t)g->total, "met", (json_int_t)g->met, "breached",
                                                (json_int_t)g->breached, "pending", (json_int_t)g->pending, "share_met",
                                                decided ? json_real((double)g->met / decided) : json_null(),
                                                "median_minutes", minutes_json(med), "p90_minutes", minutes_json(p90)));
        free(g->key);
        free(g->elapsed);
    }
    free(gs);
    if (!ok) {
        json_decref(groups);
        json_decref(breaches);
        http_fail(rq, ERR_INTERNAL, "out of memory");
        return;
    }
    http_reply_json(rq, 200,
                    json_pack("{s:s, s:s, s:s, s:o, s:I, s:o}", "from", from, "to", to, "group_by",
                              col == 2   ? "owner"
                              : col == 3 ? "source"
                                         : "sla",
                              "groups", groups, "breaches_total", (json_int_t)nbreach, "breaches", breaches));
}

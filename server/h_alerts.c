/* h_alerts.c - alerts out (issue 23, docs/alerts.md): alert rules as
 * versioned documents (JSON or YAML) with their signed-webhook destinations,
 * the evaluation that raises an alert when a condition becomes true, alert
 * history, the digest (JSON or Markdown), the delivery log and replay.
 * Delivery itself is server/alertsend.c; the signals and the transition
 * logic are sql/80_alerts.sql; kinds and the retry schedule core/alert.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "alertfig.h"
#include "alertsend.h"
#include "crm.h"
#include "handlers.h"
#include "jsonv.h"
#include "log.h"
#include "netaddr.h"
#include "whsig.h"
#include "yconv.h"

#define MAX_DESTINATIONS 10
/* The kinds of core/alert.c, for the 422 that names them. */
#define KIND_LIST                                                                                                      \
    "must be stale_deal, deal_pushed, deal_moved_back, amount_change, routing_escalation, renewal_due, sla_breach, "   \
    "webhook_lag, coverage_below, hygiene_red, account_at_risk, expansion_signal, forecast_moved or health_colour"
#define MAX_FILTER_VALUES 100
#define MAX_DAYS_BEFORE 5
/* How long a rotated-out secret still signs (Standard Webhooks rotation:
 * receivers switch within a day while both signatures are sent). */
#define ROTATION_OVERLAP "24 hours"

/* ---- the rule document ---- */

static json_t *body_json(http_req *rq)
{
    const char *ctype = http_header(rq, "Content-Type");
    if (rq->json)
        return json_incref(rq->json);
    if (rq->body_len && ctype && strstr(ctype, "yaml")) {
        char msg[256];
        json_t *j = yconv_parse(rq->body, rq->body_len, msg, sizeof msg);
        if (!j)
            http_fail(rq, ERR_BAD_REQUEST, "%s", msg);
        return j;
    }
    http_fail(rq, ERR_BAD_REQUEST, "An alert rule body is required (JSON or YAML)");
    return NULL;
}

/* health_colour's params.signals / params.colours: a list of 1 to max
 * names, each of [a-z0-9_], colours only green, yellow or red; absent: all
 * (nothing stored). */
static void decode_names(const json_t *in, const char *key, size_t max, bool colours, json_t *out, app_err *e)
{
    const json_t *a = json_object_get(in, key);
    if (!a)
        return;
    char field[32];
    snprintf(field, sizeof field, "params.%s", key);
    if (!json_is_array(a) || json_array_size(a) < 1 || json_array_size(a) > max) {
        app_err_field(e, field, "must be a list of 1 to %zu %s", max,
                      colours ? "colours (green, yellow, red)" : "dashboard health signal metrics such as win_rate");
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        const char *s = json_string_value(v);
        bool ok = s && *s && strlen(s) <= 64 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(s);
        if (ok && colours)
            ok = strcmp(s, "green") == 0 || strcmp(s, "yellow") == 0 || strcmp(s, "red") == 0;
        if (!ok) {
            app_err_field(e, field,
                          colours ? "each must be green, yellow or red"
                                  : "each must be a metric name of lower-case letters, digits and _");
            return;
        }
    }
    json_object_set_new(out, key, json_deep_copy(a));
}

/* params: the kind's one parameter, its default filled in; new reference or NULL. */
static json_t *decode_params(const alert_kind *k, const json_t *in, app_err *e)
{
    json_t *out = json_object();
    if (in && !json_is_object(in)) {
        app_err_field(e, "params", "must be an object");
        return out;
    }
    if (strcmp(k->name, "health_colour") == 0) {
        static const char *const allowed[] = {"signals", "colours", "every_minutes", NULL};
        app_err sub = {0};
        if (in && !jv_only_fields(in, allowed, &sub))
            app_err_field(e, "params", "health_colour takes only signals, colours and every_minutes");
        decode_names(in, "signals", 50, false, out, e);
        decode_names(in, "colours", 3, true, out, e);
        /* the dashboard is built whole (tens of seconds on 100k deals): at
         * most this often, as hygiene_red's scan */
        const json_t *m = in ? json_object_get(in, "every_minutes") : NULL;
        if (m && (!json_is_integer(m) || json_integer_value(m) < 1 || json_integer_value(m) > 10080))
            app_err_field(e, "params.every_minutes", "must be a whole number from 1 to 10080");
        else
            json_object_set_new(out, "every_minutes", m ? json_deep_copy(m) : json_integer(60));
        return out;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)in, key, v)
    {
        if (k->per_owner && strcmp(key, "per") == 0)
            continue;
        if (!k->param || strcmp(key, k->param) != 0)
            app_err_field(e, "params", "%s takes %s%s%s, not '%.64s'", k->name, k->param ? "only " : "no parameters",
                          k->param ? k->param : "", k->per_owner ? " and per" : "", key);
    }
    if (k->per_owner) {
        const json_t *per = in ? json_object_get(in, "per") : NULL;
        const char *ps = per ? json_string_value(per) : "workspace";
        if (!ps || (strcmp(ps, "workspace") != 0 && strcmp(ps, "owner") != 0))
            app_err_field(e, "params.per", "must be workspace or owner");
        else
            json_object_set_new(out, "per", json_string(ps));
    }
    if (!k->param)
        return out;
    const json_t *p = in ? json_object_get(in, k->param) : NULL;
    char field[64];
    snprintf(field, sizeof field, "params.%s", k->param);
    if (strcmp(k->param, "days_before") == 0) {
        json_t *a = json_array();
        if (!p) {
            json_array_append_new(a, json_integer(90)); /* the seed's renewal reminders */
            json_array_append_new(a, json_integer(60));
            json_array_append_new(a, json_integer(30));
        } else if (!json_is_array(p) || json_array_size(p) < 1 || json_array_size(p) > MAX_DAYS_BEFORE) {
            app_err_field(e, field, "must be a list of 1 to %d numbers of days such as [90, 60, 30]", MAX_DAYS_BEFORE);
        } else {
            size_t i;
            json_t *d;
            json_array_foreach(p, i, d)
            {
                if (!json_is_integer(d) || json_integer_value(d) < k->param_min || json_integer_value(d) > k->param_max)
                    app_err_field(e, field, "each must be a whole number of days from 1 to 365");
                else
                    json_array_append_new(a, json_integer(json_integer_value(d)));
            }
        }
        json_object_set_new(out, k->param, a);
        return out;
    }
    if (strcmp(k->param, "band") == 0) {
        /* core/health's bands, worst last: watch takes watch and critical */
        const char *b = p ? json_string_value(p) : "watch";
        if (!b || (strcmp(b, "watch") != 0 && strcmp(b, "critical") != 0))
            app_err_field(e, field, "must be watch (health under 70) or critical (under 40)");
        else
            json_object_set_new(out, k->param, json_string(b));
        return out;
    }
    if (!p) {
        json_object_set_new(
            out, k->param, k->param_integer ? json_integer((json_int_t)k->param_default) : json_real(k->param_default));
        return out;
    }
    double x = json_number_value(p);
    if (!json_is_number(p) || (k->param_integer && !json_is_integer(p)) || x < k->param_min || x > k->param_max)
        app_err_field(e, field, "must be a%s number from %g to %g", k->param_integer ? " whole" : "", k->param_min,
                      k->param_max);
    else
        json_object_set_new(out, k->param, json_deep_copy(p));
    return out;
}

static void decode_list(const json_t *in, const char *key, json_t *out, app_err *e)
{
    const json_t *a = json_object_get(in, key);
    if (!a)
        return;
    char field[40];
    snprintf(field, sizeof field, "filter.%s", key);
    if (!json_is_array(a) || json_array_size(a) < 1 || json_array_size(a) > MAX_FILTER_VALUES) {
        app_err_field(e, field, "must be a list of 1 to %d ids", MAX_FILTER_VALUES);
        return;
    }
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        const char *s = json_string_value(v);
        if (!s || !*s || strlen(s) > 200 || !jv_id_clean(s)) {
            app_err_field(e, field, "each must be a text of 1 to 200 characters");
            return;
        }
    }
    json_object_set_new(out, key, json_deep_copy(a));
}

/* filter: owner / segment / territory lists and amount_min, only those the
 * kind's subject carries; new reference. */
static json_t *decode_filter(const alert_kind *k, const json_t *in, app_err *e)
{
    json_t *out = json_object();
    if (!in || json_is_null(in))
        return out;
    static const char *const allowed[] = {"owner", "segment", "territory", "amount_min", NULL};
    static const unsigned bits[] = {ALERT_F_OWNER, ALERT_F_SEGMENT, ALERT_F_TERRITORY, ALERT_F_AMOUNT};
    app_err sub = {0};
    if (!json_is_object(in) || !jv_only_fields(in, allowed, &sub)) {
        app_err_field(e, "filter", "must be an object with owner, segment, territory and/or amount_min");
        return out;
    }
    for (int i = 0; allowed[i]; i++)
        if (json_object_get(in, allowed[i]) && !(k->filters & bits[i]))
            app_err_field(e, "filter", "a %s (%s) has no %s to filter on", k->subject, k->name, allowed[i]);
    decode_list(in, "owner", out, e);
    decode_list(in, "segment", out, e);
    decode_list(in, "territory", out, e);
    long long cents = 0;
    bool present = false;
    app_err m = {0};
    if (!jv_money(in, "amount_min", false, 0, &cents, &present, &m))
        app_err_field(e, "filter.amount_min", "must be an amount of at least 0 with at most two decimals");
    else if (present)
        json_object_set_new(out, "amount_min", json_real((double)cents / 100));
    return out;
}

static bool url_ok(const char *u)
{
    if (!u || strlen(u) < 8 || strlen(u) > 2000)
        return false;
    if (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)
        return false;
    for (const unsigned char *p = (const unsigned char *)u; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return false;
    const char *host = u + (u[4] == 's' ? 8 : 7);
    return *host && *host != '/';
}

/* The class of an http(s) URL's host as written (userinfo, brackets and
 * port taken off). Only literals and localhost are known here: a name's
 * address is checked where it counts, on the socket the sender opens
 * (alertsend.c), since a DNS answer now says nothing of the next one. */
static netaddr_class url_host_class(const char *u)
{
    const char *h = u + (u[4] == 's' ? 8 : 7);
    size_t n = strcspn(h, "/?#");
    const char *at = NULL;
    for (const char *q = h; q < h + n; q++)
        if (*q == '@')
            at = q; /* the last @ of the authority ends the userinfo */
    if (at) {
        n -= (size_t)(at + 1 - h);
        h = at + 1;
    }
    char host[256];
    size_t len;
    if (n > 0 && *h == '[') {
        const char *close = memchr(h, ']', n);
        len = close ? (size_t)(close - h - 1) : n - 1;
        h++;
    } else {
        const char *colon = memchr(h, ':', n);
        len = colon ? (size_t)(colon - h) : n;
    }
    if (len >= sizeof host)
        return NETADDR_PUBLIC; /* no literal or localhost is that long */
    memcpy(host, h, len);
    host[len] = '\0';
    char *pct = strchr(host, '%'); /* an IPv6 zone: fe80::1%25eth0 */
    if (pct)
        *pct = '\0';
    return netaddr_classify_host(host);
}

/* destinations: [{id?, url, rotate_secret?, enabled?}]; on a create no id. */
static void check_destinations(const json_t *d, bool is_put, bool allow_private, app_err *e)
{
    if (!d)
        return;
    if (!json_is_array(d) || json_array_size(d) > MAX_DESTINATIONS) {
        app_err_field(e, "destinations", "must be a list of at most %d destinations", MAX_DESTINATIONS);
        return;
    }
    static const char *const allowed[] = {"id", "url", "rotate_secret", "enabled", NULL};
    size_t i;
    json_t *x;
    json_array_foreach(d, i, x)
    {
        char field[48];
        snprintf(field, sizeof field, "destinations[%zu]", i);
        app_err sub = {0};
        if (!json_is_object(x) || !jv_only_fields(x, allowed, &sub)) {
            app_err_field(e, field, "must be an object with url (and on an update id, rotate_secret, enabled)");
            continue;
        }
        const json_t *id = json_object_get(x, "id");
        if (id && (!is_put || !json_is_string(id) || !jv_is_uuid(json_string_value(id))))
            app_err_field(e, field,
                          is_put ? "id must be the id of one of this rule's destinations"
                                 : "a new rule's destinations have no id yet");
        const char *url = json_string_value(json_object_get(x, "url"));
        netaddr_class nc = NETADDR_PUBLIC;
        if (!url_ok(url))
            app_err_field(e, field, "url must be an http:// or https:// URL of at most 2000 characters, no spaces");
        else if (!allow_private && (nc = url_host_class(url)) != NETADDR_PUBLIC)
            app_err_field(e, field,
                          "url must reach a public address: its host is a%s %s address, which alerts may not be "
                          "sent to (an operator allows it with --alert-allow-private)",
                          nc == NETADDR_UNSPECIFIED ? "n" : "", netaddr_class_name(nc));
        const json_t *rot = json_object_get(x, "rotate_secret"), *en = json_object_get(x, "enabled");
        if ((rot && !json_is_boolean(rot)) || (en && !json_is_boolean(en)))
            app_err_field(e, field, "rotate_secret and enabled must be true or false");
        if (json_is_true(rot) && !id)
            app_err_field(e, field, "rotate_secret needs the destination's id (a new one gets a secret anyway)");
    }
}

typedef struct {
    const char *name, *kind;
    bool enabled;
    char *params, *filter; /* JSON texts */
    const json_t *destinations;
} rule_doc;

static int decode_rule(const json_t *body, bool is_put, bool allow_private, rule_doc *r, app_err *e)
{
    static const char *const allowed[] = {"name", "kind", "params", "filter", "enabled", "destinations", NULL};
    if (!jv_require_object(body, e))
        return -1;
    jv_only_fields(body, allowed, e);
    jv_string(body, "name", true, 200, &r->name, e);
    jv_string(body, "kind", true, 64, &r->kind, e);
    const alert_kind *k = r->kind ? alert_kind_find(r->kind) : NULL;
    if (r->kind && !k)
        app_err_field(e, "kind", KIND_LIST);
    const json_t *en = json_object_get(body, "enabled");
    if (en && !json_is_boolean(en))
        app_err_field(e, "enabled", "must be true or false");
    r->enabled = !json_is_false(en);
    if (k) {
        json_t *p = decode_params(k, json_object_get(body, "params"), e);
        json_t *f = decode_filter(k, json_object_get(body, "filter"), e);
        const char *per = json_string_value(json_object_get(p, "per"));
        if (per && strcmp(per, "owner") != 0 && json_object_get(f, "owner"))
            app_err_field(e, "filter.owner", "%s per %s has no owner: filter on owner with params.per owner", k->name,
                          per);
        r->params = json_dumps(p, JSON_COMPACT | JSON_REAL_PRECISION(15));
        r->filter = json_dumps(f, JSON_COMPACT | JSON_REAL_PRECISION(15));
        json_decref(p);
        json_decref(f);
    }
    r->destinations = json_object_get(body, "destinations");
    check_destinations(r->destinations, is_put, allow_private, e);
    return e->code == ERR_NONE ? 0 : -1;
}

/* ---- writing a rule and its destinations ---- */

typedef struct {
    const char *ws, *id, *if_match;
    rule_doc doc;
    json_t *secrets; /* destination id -> secret shown once in this answer */
    char *result;
    char rule_id[40];
} rule_write;

static int new_destination(db_conn *c, rule_write *w, const char *url, app_err *err)
{
    char secret[64], id[40];
    if (whsig_new_secret(secret, sizeof secret) != 0) {
        app_err_set(err, ERR_INTERNAL, "could not make a secret");
        return -1;
    }
    const char *p[] = {w->ws, w->rule_id, url, secret};
    if (db_query_value(c,
                       "INSERT INTO alert_destinations (workspace_id, rule_id, url, secret) VALUES ($1, $2, $3, $4)"
                       " RETURNING id",
                       4, p, id, sizeof id, err) <= 0)
        return -1;
    json_object_set_new(w->secrets, id, json_string(secret));
    return 0;
}

/* An update's destinations: listed ones keep their secret (or rotate it),
 * unlisted ones are removed with their pending deliveries, new ones made. */
static int update_destinations(db_conn *c, rule_write *w, app_err *err)
{
    const char *q[] = {w->ws, w->rule_id};
    PGresult *r = db_query(c,
                           "SELECT id FROM alert_destinations WHERE workspace_id = $1 AND rule_id = $2"
                           " AND deleted_at IS NULL",
                           2, q, err);
    if (!r)
        return -1;
    json_t *known = json_object();
    for (int i = 0; i < PQntuples(r); i++)
        json_object_set_new(known, PQgetvalue(r, i, 0), json_false());
    PQclear(r);
    size_t i;
    json_t *x;
    int rc = 0;
    json_array_foreach(w->doc.destinations, i, x)
    {
        const char *id = json_string_value(json_object_get(x, "id")),
                   *url = json_string_value(json_object_get(x, "url"));
        if (!id) {
            if ((rc = new_destination(c, w, url, err)) != 0)
                break;
            continue;
        }
        if (!json_object_get(known, id) || json_is_true(json_object_get(known, id))) {
            app_err_field(err, "destinations", "%s is not one of this rule's destinations (or is listed twice)", id);
            rc = -1;
            break;
        }
        json_object_set_new(known, id, json_true());
        const json_t *en = json_object_get(x, "enabled");
        char secret[64] = "";
        if (json_is_true(json_object_get(x, "rotate_secret")) && whsig_new_secret(secret, sizeof secret) != 0) {
            app_err_set(err, ERR_INTERNAL, "could not make a secret");
            rc = -1;
            break;
        }
        const char *p[] = {w->ws, id, url, secret[0] ? secret : NULL, en ? (json_is_true(en) ? "t" : "f") : NULL};
        rc = db_exec(
            c,
            "UPDATE alert_destinations SET url = $3,"
            " previous_secret = CASE WHEN $4::text IS NULL THEN previous_secret ELSE secret END,"
            " previous_until = CASE WHEN $4::text IS NULL THEN previous_until"
            "                       ELSE now() + interval '" ROTATION_OVERLAP "' END,"
            " secret = COALESCE($4, secret),"
            " disabled_at = CASE WHEN $5::boolean THEN NULL WHEN NOT $5::boolean"
            "                    THEN COALESCE(disabled_at, now()) ELSE disabled_at END,"
            " disabled_reason = CASE WHEN $5::boolean THEN NULL WHEN NOT $5::boolean"
            "                    THEN COALESCE(disabled_reason, 'disabled by an update') ELSE disabled_reason END"
            " WHERE workspace_id = $1 AND id = $2::uuid",
            5, p, err);
        if (rc != 0)
            break;
        if (secret[0])
            json_object_set_new(w->secrets, id, json_string(secret));
    }
    const char *key;
    json_t *seen;
    json_object_foreach(known, key, seen)
    {
        if (rc != 0 || json_is_true(seen))
            continue;
        const char *p[] = {w->ws, key};
        rc = db_exec(c,
                     "WITH gone AS (UPDATE alert_destinations SET deleted_at = now() WHERE workspace_id = $1"
                     "              AND id = $2::uuid RETURNING id)"
                     " UPDATE alert_deliveries d SET state = 'cancelled', last_error = 'destination removed'"
                     " FROM gone WHERE d.destination_id = gone.id AND d.state = 'pending'",
                     2, p, err);
    }
    json_decref(known);
    return rc;
}

static int rule_write_tx(db_conn *c, void *ctx, app_err *err)
{
    rule_write *w = ctx;
    json_object_clear(w->secrets);
    const char *en = w->doc.enabled ? "t" : "f";
    if (w->id) {
        char ver[24], want[32];
        const char *p[] = {w->ws, w->id};
        int f = db_query_value(c,
                               "SELECT version FROM alert_rules WHERE workspace_id = $1 AND id = $2::uuid"
                               " AND deleted_at IS NULL FOR UPDATE",
                               2, p, ver, sizeof ver, err);
        if (f <= 0) {
            if (f == 0)
                app_err_set(err, ERR_NOT_FOUND, "No alert rule with this id");
            return -1;
        }
        snprintf(want, sizeof want, "\"v%s\"", ver);
        const char *im = strncmp(w->if_match, "W/", 2) == 0 ? w->if_match + 2 : w->if_match;
        if (strcmp(im, want) != 0 && strcmp(im, "*") != 0) {
            app_err_set(err, ERR_PRECONDITION_FAILED, "The rule is at version %s; fetch it again and reapply", ver);
            return -1;
        }
        const char *u[] = {w->ws, w->id, w->doc.name, w->doc.kind, w->doc.params, w->doc.filter, en};
        if (db_exec(c,
                    "UPDATE alert_rules SET name = $3, kind = $4, params = $5::jsonb, filter = $6::jsonb,"
                    " enabled = $7::boolean, version = version + 1, updated_at = now()"
                    " WHERE workspace_id = $1 AND id = $2::uuid",
                    7, u, err) != 0)
            return -1;
        /* the state stays: a subject the new kind or filter no longer sees is
         * cleared by the next evaluation, and an occurrence already raised
         * is not raised again (the alerts' unique key) */
        snprintf(w->rule_id, sizeof w->rule_id, "%s", w->id);
        if (w->doc.destinations && update_destinations(c, w, err) != 0)
            return -1;
    } else {
        const char *p[] = {w->ws, w->doc.name, w->doc.kind, w->doc.params, w->doc.filter, en};
        if (db_query_value(c,
                           "INSERT INTO alert_rules (workspace_id, name, kind, params, filter, enabled)"
                           " VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::boolean) RETURNING id",
                           6, p, w->rule_id, sizeof w->rule_id, err) <= 0)
            return -1;
        size_t i;
        json_t *x;
        json_array_foreach(w->doc.destinations, i, x)
        {
            if (new_destination(c, w, json_string_value(json_object_get(x, "url")), err) != 0)
                return -1;
        }
    }
    const char *q[] = {w->ws, w->rule_id};
    PGresult *r = db_query(c, "SELECT alert_rule_json(r, true) FROM alert_rules r WHERE workspace_id = $1 AND id = $2",
                           2, q, err);
    if (!r)
        return -1;
    free(w->result);
    w->result = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return w->result ? 0 : -1;
}

/* The rule's JSON with ETag (and Location on a create); secrets made in
 * this request are added to their destinations, the only time they show. */
static void reply_rule(http_req *rq, int status, const char *text, const json_t *secrets)
{
    json_t *f = json_loads(text, 0, NULL);
    if (!f) {
        http_fail(rq, ERR_INTERNAL, "could not decode the stored rule");
        return;
    }
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(f, "destinations"), i, d)
    {
        const json_t *s = secrets ? json_object_get(secrets, json_string_value(json_object_get(d, "id"))) : NULL;
        if (s)
            json_object_set_new(d, "secret", json_deep_copy(s));
    }
    char etag[32], loc[96];
    snprintf(etag, sizeof etag, "\"v%lld\"", (long long)json_integer_value(json_object_get(f, "version")));
    http_add_header(rq, "ETag", etag);
    if (status == 201) {
        snprintf(loc, sizeof loc, "/v1/alert-rules/%s", json_string_value(json_object_get(f, "id")));
        http_add_header(rq, "Location", loc);
    }
    bool yaml = http_wants_yaml(rq);
    size_t len = 0;
    char *out = yaml ? yconv_emit(f, &len) : json_dumps(f, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(f);
    if (!out) {
        http_fail(rq, ERR_INTERNAL, "could not encode the rule");
        return;
    }
    http_reply_text(rq, status, yaml ? "application/yaml" : "application/json", out, yaml ? len : strlen(out));
}

static void write_rule(http_req *rq, bool is_put)
{
    const char *if_match = NULL;
    if (is_put) {
        if (!jv_is_uuid(rq->params[0])) {
            http_fail(rq, ERR_NOT_FOUND, "No alert rule with this id");
            return;
        }
        if (!(if_match = http_header(rq, "If-Match"))) {
            http_fail(rq, ERR_PRECONDITION_REQUIRED, "Send If-Match with the ETag of the version you edited");
            return;
        }
    }
    json_t *body = body_json(rq);
    if (!body)
        return;
    app_err err = {0};
    rule_write w = {.ws = rq->auth.workspace_id,
                    .id = is_put ? rq->params[0] : NULL,
                    .if_match = if_match,
                    .secrets = json_object()};
    if (decode_rule(body, is_put, http_config(rq)->alert_allow_private, &w.doc, &err) != 0) {
        http_reply_error(rq, &err);
    } else if (!w.doc.params || !w.doc.filter || !w.secrets) {
        http_fail(rq, ERR_INTERNAL, "out of memory");
    } else {
        db_conn *db = http_db(rq);
        if (db && db_transaction(db, rule_write_tx, &w, &err) == 0)
            reply_rule(rq, is_put ? 200 : 201, w.result, w.secrets);
        else if (db)
            http_reply_error(rq, &err);
    }
    json_decref(body); /* after the transaction: w.doc points into it */
    json_decref(w.secrets);
    free(w.doc.params);
    free(w.doc.filter);
    free(w.result);
}

void h_alert_rules_create(http_req *rq) { write_rule(rq, false); }
void h_alert_rules_put(http_req *rq) { write_rule(rq, true); }

void h_alert_rules_list(http_req *rq)
{
    /* destination URLs (a chat webhook URL is itself a credential) are shown
     * whole to admin keys only */
    http_reply_list(rq, true,
                    rq->auth.role >= ROLE_ADMIN
                        ? "SELECT alert_rule_json(r, true), r.id FROM alert_rules r WHERE r.workspace_id = $1"
                          " AND r.deleted_at IS NULL AND ($2::uuid IS NULL OR (r.created_at, r.id) >"
                          " (SELECT created_at, id FROM alert_rules WHERE id = $2::uuid AND workspace_id = $1))"
                          " ORDER BY r.created_at, r.id LIMIT $3"
                        : "SELECT alert_rule_json(r, false), r.id FROM alert_rules r WHERE r.workspace_id = $1"
                          " AND r.deleted_at IS NULL AND ($2::uuid IS NULL OR (r.created_at, r.id) >"
                          " (SELECT created_at, id FROM alert_rules WHERE id = $2::uuid AND workspace_id = $1))"
                          " ORDER BY r.created_at, r.id LIMIT $3");
}

void h_alert_rules_get(http_req *rq)
{
    PGresult *r = http_query_one(rq, NULL,
                                 rq->auth.role >= ROLE_ADMIN
                                     ? "SELECT alert_rule_json(r, true) FROM alert_rules r WHERE r.workspace_id = $1"
                                       " AND r.id = $2::uuid AND r.deleted_at IS NULL"
                                     : "SELECT alert_rule_json(r, false) FROM alert_rules r WHERE r.workspace_id = $1"
                                       " AND r.id = $2::uuid AND r.deleted_at IS NULL",
                                 "No alert rule with this id");
    if (!r)
        return;
    char *text = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (text)
        reply_rule(rq, 200, text, NULL);
    else
        http_fail(rq, ERR_INTERNAL, "out of memory");
    free(text);
}

void h_alert_rules_delete(http_req *rq)
{
    /* the rule's alerts stay in the history; its pending deliveries stop */
    PGresult *r = http_query_one(rq, NULL,
                                 "WITH r AS (UPDATE alert_rules SET deleted_at = now() WHERE workspace_id = $1"
                                 "           AND id = $2::uuid AND deleted_at IS NULL RETURNING id),"
                                 " c AS (UPDATE alert_deliveries d SET state = 'cancelled', last_error = 'rule deleted'"
                                 "       FROM alerts a, r WHERE a.id = d.alert_id AND a.rule_id = r.id"
                                 "       AND d.state = 'pending' RETURNING 1)"
                                 " SELECT id FROM r",
                                 "No alert rule with this id");
    if (!r)
        return;
    PQclear(r);
    http_reply_empty(rq, 204);
}

/* ---- evaluation ---- */

static int evaluate_locked(db_conn *db, const char *ws, long long counts[3], app_err *err)
{
    const char *p[] = {ws};
    char kinds[128];
    /* most writes are in workspaces without rules: nothing to evaluate */
    if (db_query_value(db,
                       "SELECT count(*) || ' ' || count(*) FILTER (WHERE kind = 'deal_moved_back') || ' '"
                       " || count(*) FILTER (WHERE kind = 'coverage_below') || ' '"
                       /* hygiene_red: the full scan only when a rule is due (its every_minutes) */
                       " || count(*) FILTER (WHERE kind = 'hygiene_red' AND (checked_at IS NULL OR checked_at <="
                       " now() - make_interval(mins => (params ->> 'every_minutes')::int)))"
                       " || ' ' || count(*) FILTER (WHERE kind = 'account_at_risk')"
                       " || ' ' || count(*) FILTER (WHERE kind = 'expansion_signal')"
                       " || ' ' || count(*) FILTER (WHERE kind = 'forecast_moved')"
                       /* health_colour: the dashboard only when a rule is due, as hygiene_red */
                       " || ' ' || count(*) FILTER (WHERE kind = 'health_colour' AND (checked_at IS NULL OR"
                       " checked_at <= now() - make_interval(mins => COALESCE((params ->> 'every_minutes')::int, 60))))"
                       " FROM alert_rules"
                       " WHERE workspace_id = $1 AND enabled AND deleted_at IS NULL",
                       1, p, kinds, sizeof kinds, err) < 0)
        return -1;
    long long nrules = 0, nback = 0, ncov = 0, nhyg = 0, nrisk = 0, nexp = 0, nfc = 0, ncol = 0;
    if (sscanf(kinds, "%lld %lld %lld %lld %lld %lld %lld %lld", &nrules, &nback, &ncov, &nhyg, &nrisk, &nexp, &nfc,
               &ncol) != 8 ||
        nrules == 0) {
        counts[0] = counts[1] = counts[2] = 0;
        return 0;
    }
    /* deal_moved_back orders stages by the default funnel, which a workspace
     * gets from the seed on first use (the deals' stage check uses the same) */
    if (nback > 0 && funnels_ensure_default(db, ws, err) != 0)
        return -1;
    /* the figures only C computes, once for all the rules that read them */
    json_t *fig = json_object();
    if (!fig || (ncov > 0 && alertfig_coverage(db, ws, fig, err) != 0) ||
        (nhyg > 0 && alertfig_hygiene(db, ws, fig, err) != 0) ||
        ((nrisk > 0 || nexp > 0) && alertfig_health(db, ws, nrisk > 0, nexp > 0, fig, err) != 0) ||
        (nfc > 0 && alertfig_period(db, ws, fig, err) != 0) ||
        (ncol > 0 && alertfig_dashboard(db, ws, fig, err) != 0)) {
        json_decref(fig);
        return -1;
    }
    char *figs = json_dumps(fig, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(fig);
    if (!figs) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    const char *ep[] = {ws, figs};
    PGresult *r = db_query(db, "SELECT rules, raised, cleared FROM alert_evaluate($1, $2::jsonb)", 2, ep, err);
    free(figs);
    if (!r)
        return -1;
    for (int i = 0; i < 3; i++)
        counts[i] = atoll(PQgetvalue(r, 0, i));
    PQclear(r);
    if (counts[1] > 0)
        alertsend_notify();
    return 0;
}

/* One evaluation of a workspace at a time, across instances, from its
 * figures to its verdicts: the figures are read before alert_evaluate locks
 * the rules, so an evaluation after a write (alerteval.c) that read them
 * before the write could otherwise run second and clear an episode that the
 * fresher one had just raised; the next pass then raised it again as a new
 * episode (test_alerts account_at_risk_raised_once_per_entry, seen under a
 * loaded CI). Held as the session's lock, released on every path; a wait
 * counts toward the statement timeout. */
int alerts_evaluate_workspace(db_conn *db, const char *ws, long long counts[3], app_err *err)
{
    const char *p[] = {ws};
    if (db_exec(db, "SELECT pg_advisory_lock(hashtextextended($1 || ':alert_evaluate', 0))", 1, p, err) != 0)
        return -1;
    int rc = evaluate_locked(db, ws, counts, err);
    app_err e = {0};
    /* a failure here is a lost session, and its lock went with it */
    if (db_exec(db, "SELECT pg_advisory_unlock(hashtextextended($1 || ':alert_evaluate', 0))", 1, p, &e) != 0)
        log_warn("alerts", "could not release the evaluation lock: %s", e.detail);
    return rc;
}

long long alerts_evaluate_all(db_conn *db, app_err *err)
{
    PGresult *r = db_query(db, "SELECT DISTINCT workspace_id FROM alert_rules WHERE deleted_at IS NULL AND enabled", 0,
                           NULL, err);
    if (!r)
        return -1;
    long long raised = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        long long c[3];
        app_err one = {0};
        if (alerts_evaluate_workspace(db, PQgetvalue(r, i, 0), c, &one) == 0)
            raised += c[1];
        else
            snprintf(err->detail, sizeof err->detail, "%s", one.detail); /* the others still run */
    }
    PQclear(r);
    return raised;
}

void h_alerts_evaluate(http_req *rq)
{
    db_conn *db = http_db(rq);
    if (!db)
        return;
    long long c[3];
    app_err err = {0};
    if (alerts_evaluate_workspace(db, rq->auth.workspace_id, c, &err) != 0) {
        http_reply_error(rq, &err);
        return;
    }
    http_reply_json(rq, 200,
                    json_pack("{s:I, s:I, s:I}", "rules", (json_int_t)c[0], "raised", (json_int_t)c[1], "cleared",
                              (json_int_t)c[2]));
}

/* ---- history and digest ---- */

static bool id_param(http_req *rq, const char *name, const char **out, app_err *err)
{
    *out = http_query(rq, name);
    if (*out && (!**out || strlen(*out) > 200 || !jv_id_clean(*out))) {
        app_err_field(err, name, "must be 1 to 200 characters");
        return false;
    }
    return true;
}

void h_alerts_list(http_req *rq)
{
    long limit;
    const char *cursor;
    if (!http_page_params(rq, true, &limit, &cursor))
        return;
    app_err err = {0};
    const char *deal, *account, *rep, *kind, *rule = http_query(rq, "rule");
    id_param(rq, "deal", &deal, &err);
    id_param(rq, "account", &account, &err);
    id_param(rq, "rep", &rep, &err);
    id_param(rq, "kind", &kind, &err);
    if (rule && !jv_is_uuid(rule))
        app_err_field(&err, "rule", "must be an alert rule id (a UUID)");
    if (kind && !alert_kind_find(kind))
        app_err_field(&err, "kind", KIND_LIST);
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    char lbuf[24];
    snprintf(lbuf, sizeof lbuf, "%ld", limit + 1);
    const char *p[] = {rq->auth.workspace_id, cursor, lbuf, deal, account, rep, rule, kind};
    /* newest first: the cursor is the last item's id */
    PGresult *r = db_query(db,
                           "SELECT alert_json(a), a.id FROM alerts a WHERE a.workspace_id = $1"
                           " AND ($2::uuid IS NULL OR (a.raised_at, a.id) < (SELECT c.raised_at, c.id FROM alerts c"
                           "      WHERE c.workspace_id = $1 AND c.id = $2::uuid))"
                           " AND ($4::text IS NULL OR a.deal_id = $4) AND ($5::text IS NULL OR a.account_id = $5)"
                           " AND ($6::text IS NULL OR a.rep_id = $6) AND ($7::uuid IS NULL OR a.rule_id = $7::uuid)"
                           " AND ($8::text IS NULL OR a.kind = $8)"
                           " ORDER BY a.raised_at DESC, a.id DESC LIMIT $3",
                           8, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    http_reply_page(rq, r, limit);
}

typedef struct {
    char *b;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *s, const char *fmt, ...)
{
    for (int tries = 0; tries < 2 && !s->oom; tries++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(s->b ? s->b + s->len : NULL, s->b ? s->cap - s->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            s->oom = true;
            return;
        }
        if (s->b && (size_t)n < s->cap - s->len) {
            s->len += (size_t)n;
            return;
        }
        size_t cap = (s->cap + (size_t)n + 1) * 2;
        char *nb = realloc(s->b, cap);
        if (!nb) {
            s->oom = true;
            return;
        }
        s->b = nb;
        s->cap = cap;
    }
}

/* Markdown lines are the alert summaries; a summary carries CRM names, so
 * characters Markdown would read as markup are escaped. */
static void sb_md_text(sbuf *s, const char *t)
{
    for (; t && *t; t++) {
        if (strchr("\\`*_[]<>#|", *t))
            sb_add(s, "\\%c", *t);
        else if (*t == '\n' || *t == '\r')
            sb_add(s, " ");
        else
            sb_add(s, "%c", *t);
    }
}

static char *digest_markdown(const json_t *d)
{
    sbuf s = {0};
    const char *owner = json_string_value(json_object_get(d, "owner"));
    sb_add(&s, "# Alert digest — ");
    sb_md_text(&s, owner ? owner : "all owners");
    sb_add(&s, "\n\n%s to %s: %lld alert%s\n", json_string_value(json_object_get(d, "since")),
           json_string_value(json_object_get(d, "until")), (long long)json_integer_value(json_object_get(d, "total")),
           json_integer_value(json_object_get(d, "total")) == 1 ? "" : "s");
    size_t i, j;
    json_t *k, *a;
    json_array_foreach(json_object_get(d, "kinds"), i, k)
    {
        sb_add(&s, "\n## %s (%lld)\n\n", json_string_value(json_object_get(k, "title")),
               (long long)json_integer_value(json_object_get(k, "count")));
        json_array_foreach(json_object_get(k, "alerts"), j, a)
        {
            sb_add(&s, "- %.16s ", json_string_value(json_object_get(a, "raised_at")));
            sb_md_text(&s, json_string_value(json_object_get(a, "summary")));
            sb_add(&s, "\n");
        }
        long long more =
            json_integer_value(json_object_get(k, "count")) - (long long)json_array_size(json_object_get(k, "alerts"));
        if (more > 0)
            sb_add(&s, "- and %lld more (GET /v1/alerts)\n", more);
    }
    if (s.oom) {
        free(s.b);
        return NULL;
    }
    return s.b;
}

void h_alerts_digest(http_req *rq)
{
    app_err err = {0};
    const char *owner, *since = http_query(rq, "since");
    id_param(rq, "owner", &owner, &err);
    if (since && !crm_is_timestamp(since))
        app_err_field(&err, "since", "must be an RFC 3339 timestamp such as 2026-03-01T09:00:00Z");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    /* an owner's digest holds the alerts about the owner and about the reps
     * whose manager the owner is (a manager's weekly digest); without owner,
     * the workspace's; since defaults to a week back */
    const char *p[] = {rq->auth.workspace_id, owner, since};
    PGresult *r = db_query(
        db,
        "WITH b AS (SELECT COALESCE($3::timestamptz, now() - interval '7 days') AS since, now() AS until),"
        " a AS (SELECT a.* FROM alerts a, b WHERE a.workspace_id = $1 AND a.raised_at >= b.since"
        "       AND a.raised_at <= b.until AND ($2::text IS NULL OR a.rep_id = $2 OR a.rep_id IN ("
        "         SELECT external_id FROM reps WHERE workspace_id = $1 AND manager = $2 AND deleted_at IS NULL))),"
        " k AS (SELECT a.kind, count(*) AS n, (jsonb_agg(alert_json(a) ORDER BY a.raised_at DESC, a.id DESC)"
        "       FILTER (WHERE true)) AS items FROM a GROUP BY a.kind)"
        " SELECT jsonb_build_object('owner', $2::text, 'since', rfc3339(b.since), 'until', rfc3339(b.until),"
        "   'total', (SELECT count(*) FROM a), 'kinds', COALESCE((SELECT jsonb_agg(jsonb_build_object("
        "     'kind', k.kind, 'count', k.n, 'alerts', (SELECT COALESCE(jsonb_agg(x), '[]') FROM ("
        "       SELECT x FROM jsonb_array_elements(k.items) WITH ORDINALITY AS t(x, o) WHERE o <= 50) y))"
        "     ORDER BY k.n DESC, k.kind) FROM k), '[]')) FROM b",
        3, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    json_t *d = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    if (!d) {
        http_fail(rq, ERR_INTERNAL, "could not decode the digest");
        return;
    }
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(d, "kinds"), i, k)
    {
        static const char *const titles[][2] = {{"stale_deal", "Stale deals"},
                                                {"deal_pushed", "Pushed deals"},
                                                {"deal_moved_back", "Deals moved back"},
                                                {"amount_change", "Amount changes"},
                                                {"routing_escalation", "Routing escalations"},
                                                {"renewal_due", "Renewals due"},
                                                {"sla_breach", "SLA breaches"},
                                                {"webhook_lag", "Inbound webhook lag"},
                                                {"coverage_below", "Coverage below minimum"},
                                                {"hygiene_red", "Data hygiene rules red"},
                                                {"account_at_risk", "Accounts at risk"},
                                                {"expansion_signal", "Expansion signals"},
                                                {"forecast_moved", "Forecast moves"},
                                                {"health_colour", "Health signal colour changes"}};
        const char *kind = json_string_value(json_object_get(k, "kind"));
        const char *title = kind;
        for (size_t t = 0; t < sizeof titles / sizeof titles[0]; t++)
            if (kind && strcmp(kind, titles[t][0]) == 0)
                title = titles[t][1];
        json_object_set_new(k, "title", json_string(title ? title : ""));
    }
    const char *accept = http_header(rq, "Accept");
    if (accept && strstr(accept, "text/markdown")) {
        char *md = digest_markdown(d);
        json_decref(d);
        if (!md)
            http_fail(rq, ERR_INTERNAL, "out of memory");
        else
            http_reply_text(rq, 200, "text/markdown; charset=utf-8", md, strlen(md));
        return;
    }
    http_reply_json(rq, 200, d);
}

/* ---- the delivery log and replay ---- */

void h_alert_deliveries_list(http_req *rq)
{
    long limit;
    const char *cursor;
    if (!http_page_params(rq, true, &limit, &cursor))
        return;
    app_err err = {0};
    const char *state = http_query(rq, "state"), *alert = http_query(rq, "alert_id"),
               *dest = http_query(rq, "destination_id");
    if (state && strcmp(state, "pending") && strcmp(state, "delivered") && strcmp(state, "failed") &&
        strcmp(state, "cancelled"))
        app_err_field(&err, "state", "must be pending, delivered, failed or cancelled");
    if (alert && !jv_is_uuid(alert))
        app_err_field(&err, "alert_id", "must be an alert id (a UUID)");
    if (dest && !jv_is_uuid(dest))
        app_err_field(&err, "destination_id", "must be a destination id (a UUID)");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    char lbuf[24];
    snprintf(lbuf, sizeof lbuf, "%ld", limit + 1);
    const char *p[] = {
        rq->auth.workspace_id, cursor, lbuf, state, alert, dest, rq->auth.role >= ROLE_ADMIN ? "t" : "f"};
    PGresult *r = db_query(db,
                           "SELECT alert_delivery_json(d, $7::boolean), d.id FROM alert_deliveries d"
                           " WHERE d.workspace_id = $1"
                           " AND ($2::uuid IS NULL OR (d.created_at, d.id) < (SELECT c.created_at, c.id"
                           "      FROM alert_deliveries c WHERE c.workspace_id = $1 AND c.id = $2::uuid))"
                           " AND ($4::text IS NULL OR d.state = $4) AND ($5::uuid IS NULL OR d.alert_id = $5::uuid)"
                           " AND ($6::uuid IS NULL OR d.destination_id = $6::uuid)"
                           " ORDER BY d.created_at DESC, d.id DESC LIMIT $3",
                           7, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    http_reply_page(rq, r, limit);
}

void h_alert_deliveries_get(http_req *rq)
{
    PGresult *r =
        http_query_one(rq, NULL,
                       rq->auth.role >= ROLE_ADMIN ? "SELECT alert_delivery_json(d, true) FROM alert_deliveries d"
                                                     " WHERE d.workspace_id = $1 AND d.id = $2::uuid"
                                                   : "SELECT alert_delivery_json(d, false) FROM alert_deliveries d"
                                                     " WHERE d.workspace_id = $1 AND d.id = $2::uuid",
                       "No alert delivery with this id");
    if (!r)
        return;
    http_reply_json_text(rq, 200, PQgetvalue(r, 0, 0));
    PQclear(r);
}

/* Send a delivery again: it goes back to pending, due now, with a fresh
 * count of attempts (the log keeps every earlier one). The same webhook-id
 * is sent: it is the same message, and a receiver that has it ignores it. */
void h_alert_deliveries_replay(http_req *rq)
{
    db_conn *db = NULL;
    PGresult *r = http_query_one(rq, &db,
                                 "SELECT d.state, x.disabled_at IS NOT NULL OR x.deleted_at IS NOT NULL,"
                                 " ru.deleted_at IS NOT NULL FROM alert_deliveries d"
                                 " JOIN alert_destinations x ON x.id = d.destination_id"
                                 " JOIN alerts a ON a.id = d.alert_id JOIN alert_rules ru ON ru.id = a.rule_id"
                                 " WHERE d.workspace_id = $1 AND d.id = $2::uuid",
                                 "No alert delivery with this id");
    if (!r)
        return;
    bool pending = strcmp(PQgetvalue(r, 0, 0), "pending") == 0, dead = strcmp(PQgetvalue(r, 0, 1), "t") == 0,
         gone = strcmp(PQgetvalue(r, 0, 2), "t") == 0;
    PQclear(r);
    if (pending || dead || gone) {
        http_fail(rq, ERR_CONFLICT, "%s",
                  pending ? "The delivery is already pending: it will be sent at its next attempt"
                  : gone  ? "The delivery's rule was deleted"
                          : "The destination is disabled or removed: enable it with PUT /v1/alert-rules/{id} first");
        return;
    }
    app_err err = {0};
    const char *p[] = {rq->auth.workspace_id, rq->params[0], rq->auth.role >= ROLE_ADMIN ? "t" : "f"};
    r = db_query(db,
                 "UPDATE alert_deliveries d SET state = 'pending', attempts = 0, next_attempt_at = now(),"
                 " delivered_at = NULL WHERE d.workspace_id = $1 AND d.id = $2::uuid AND d.state <> 'pending'"
                 " RETURNING alert_delivery_json(d, $3::boolean)",
                 3, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    if (PQntuples(r) == 0)
        http_fail(rq, ERR_CONFLICT, "The delivery is already pending: it will be sent at its next attempt");
    else {
        alertsend_notify();
        http_reply_json_text(rq, 202, PQgetvalue(r, 0, 0));
    }
    PQclear(r);
}

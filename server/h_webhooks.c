/* h_webhooks.c - webhook endpoints (admin), the receiver POST /v1/hooks/{id}
 * (public: each source proves itself with its signature or credentials), and
 * the event log with replay. Signatures: whsig.c; payloads: whadapt.c; the
 * store-then-apply transaction: webhook_ingest in 0008_webhooks.sql. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "crm.h"
#include "alerteval.h"
#include "fccache.h"
#include "handlers.h"
#include "jsonv.h"
#include "leadcheck.h"
#include "log.h"
#include "prom.h"
#include "whadapt.h"
#include "whapply.h"
#include "whsig.h"

#define ENDPOINT_SQL "webhook_endpoint_json(e)"

/* ---- endpoints ------------------------------------------------------------ */

static bool check_map(const json_t *body, const char *key, bool stages, app_err *e)
{
    const json_t *m = json_object_get(body, key);
    if (!m)
        return true;
    if (!json_is_object(m) || json_object_size(m) > 1000) {
        app_err_field(e, key, "must be an object of at most 1000 entries");
        return false;
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)m, k, v)
    {
        const char *s = json_string_value(v);
        char path[300];
        snprintf(path, sizeof path, "%s.%.200s", key, k);
        if (strlen(k) == 0 || strlen(k) > 200)
            app_err_field(e, key, "keys must be 1 to 200 characters");
        else if (stages && (!s || !crm_is_stage_key(s)))
            app_err_field(e, path, "must be a funnel stage key");
        else if (!stages && (!s || (!(strncmp(s, "custom.", 7) == 0 && s[7] && strlen(s) <= 100) &&
                                    !crm_field_named(&crm_deals, s))))
            app_err_field(e, path, "must be a deal field or custom.KEY");
    }
    return e->code == ERR_NONE;
}

/* A Standard Webhooks secret: whsec_ + base64 of 24 to 64 bytes. */
static bool standard_secret_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 6 + 32 || n > 6 + 88 || strncmp(s, "whsec_", 6) != 0 || (n - 6) % 4 != 0)
        return false;
    for (size_t i = 6; i < n; i++)
        if (!(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", s[i]) ||
              (s[i] == '=' && i >= n - 2)))
            return false;
    return true;
}

/* A HubSpot portal id (portalId): digits, as a string or a number. */
static bool portal_of(const json_t *v, char *out, size_t len)
{
    if (json_is_integer(v) && json_integer_value(v) > 0)
        snprintf(out, len, "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= 20 &&
             strspn(json_string_value(v), "0123456789") == json_string_length(v))
        snprintf(out, len, "%s", json_string_value(v));
    else
        return false;
    return true;
}

/* What an endpoint write stores, validated: the primary secret, the
 * additional ones (space-separated; more_given false when the field was
 * absent), the password's hash and the portal. */
typedef struct {
    char secret[520];
    char more[600];
    bool more_given;
    char pass_hash[65];
    char portal[24];
} endpoint_fields;

/* Validate the settable fields of an endpoint (create: source known and
 * required ones enforced; update: only what is present). */
static bool check_endpoint(const json_t *b, const char *source, bool create, endpoint_fields *f, app_err *e)
{
    static const char *const allowed[] = {"source",    "secret",     "additional_secrets", "basic_auth", "stage_map",
                                          "field_map", "public_url", "portal_id",          "apply_mode", NULL};
    if (!jv_require_object(b, e) || !jv_only_fields(b, allowed, e))
        return false;
    bool standard = strcmp(source, "standard") == 0, hubspot = strcmp(source, "hubspot") == 0;
    const char *secret = NULL, *url = NULL;
    (void)jv_string(b, "secret", create && hubspot, 500, &secret, e);
    if (secret && standard && !standard_secret_ok(secret))
        app_err_field(e, "secret", "must be whsec_ followed by the base64 of 24 to 64 bytes");
    if (secret && !standard && strlen(secret) == 0)
        app_err_field(e, "secret", "must not be empty");
    if (secret && strchr(secret, ' '))
        app_err_field(e, "secret", "must not contain spaces");
    const json_t *more = json_object_get(b, "additional_secrets");
    if (more && (!standard || !json_is_array(more) || json_array_size(more) > 4))
        app_err_field(e, "additional_secrets",
                      "is for standard endpoints: up to 4 whsec_ secrets still accepted while rotating");
    (void)jv_string(b, "public_url", create && hubspot, 1000, &url, e);
    if (url && strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
        app_err_field(e, "public_url", "must be an http(s) URL: the base URL the CRM calls");
    const char *mode = NULL;
    if (jv_string(b, "apply_mode", false, 10, &mode, e) && mode && strcmp(mode, "async") != 0 &&
        strcmp(mode, "sync") != 0)
        app_err_field(e, "apply_mode", "must be async (answer once stored, apply in batches) or sync");
    const json_t *portal = json_object_get(b, "portal_id");
    f->portal[0] = '\0';
    if (portal && (!hubspot || !portal_of(portal, f->portal, sizeof f->portal)))
        app_err_field(e, "portal_id", "is for hubspot endpoints: the HubSpot portal (account) id, digits");
    const json_t *ba = json_object_get(b, "basic_auth");
    const char *user = NULL, *pass = NULL;
    f->pass_hash[0] = '\0';
    if (ba || (create && strcmp(source, "pipedrive") == 0)) {
        app_err sub = {0};
        if (!json_is_object(ba))
            app_err_field(e, "basic_auth", "must be {username, password} (Pipedrive's webhook credentials)");
        else if (jv_string(ba, "username", true, 200, &user, &sub) & jv_string(ba, "password", true, 200, &pass, &sub))
            whsig_sha256_hex(pass, f->pass_hash);
        jv_merge_prefixed(e, &sub, "basic_auth.");
    }
    (void)check_map(b, "stage_map", true, e);
    (void)check_map(b, "field_map", false, e);
    if (e->code != ERR_NONE)
        return false;
    f->secret[0] = '\0';
    if (create && standard && !secret) {
        if (whsig_new_secret(f->secret, sizeof f->secret) != 0) {
            app_err_set(e, ERR_INTERNAL, "could not generate a secret");
            return false;
        }
    } else if (secret) {
        snprintf(f->secret, sizeof f->secret, "%s", secret);
    }
    f->more[0] = '\0';
    f->more_given = more != NULL;
    size_t i;
    const json_t *s;
    json_array_foreach(more, i, s)
    {
        if (!standard_secret_ok(json_string_value(s))) {
            app_err_field(e, "additional_secrets", "must be whsec_ secrets");
            return false;
        }
        size_t l = strlen(f->more);
        snprintf(f->more + l, sizeof f->more - l, "%s%s", l ? " " : "", json_string_value(s));
    }
    return true;
}

/* Validate the body for an endpoint of source, then run sql with $1 the
 * workspace, $2 key (the source on create, the id on update), $3 the primary
 * secret (NULL: not given), $4 the Basic username, $5 its password's hash,
 * $6 the stage map, $7 the field map, $8 the public URL, $9 the additional
 * secrets (NULL: not given; '': none), $10 the portal. NULL when it has
 * replied with an error. */
static PGresult *endpoint_write(http_req *rq, db_conn *db, const char *source, bool create, const char *key,
                                const char *sql, endpoint_fields *f)
{
    app_err err = {0};
    if (!check_endpoint(rq->json, source, create, f, &err)) {
        http_reply_error(rq, &err);
        return NULL;
    }
    json_t *sm = json_object_get(rq->json, "stage_map"), *fm = json_object_get(rq->json, "field_map");
    char *stages = sm ? json_dumps(sm, JSON_COMPACT) : NULL, *fields = fm ? json_dumps(fm, JSON_COMPACT) : NULL;
    const char *p[] = {rq->auth.workspace_id,
                       key,
                       f->secret[0] ? f->secret : NULL,
                       json_string_value(json_object_get(json_object_get(rq->json, "basic_auth"), "username")),
                       f->pass_hash[0] ? f->pass_hash : NULL,
                       stages,
                       fields,
                       json_string_value(json_object_get(rq->json, "public_url")),
                       f->more_given ? f->more : NULL,
                       f->portal[0] ? f->portal : NULL,
                       json_string_value(json_object_get(rq->json, "apply_mode"))};
    PGresult *r = db_query(db, sql, 11, p, &err);
    free(stages);
    free(fields);
    if (!r)
        http_reply_error(rq, &err);
    return r;
}

void h_webhook_endpoints_create(http_req *rq)
{
    const char *source = json_string_value(json_object_get(rq->json, "source"));
    if (!whadapt_source_ok(source)) {
        app_err err = {0};
        app_err_field(&err, "source", "must be one of hubspot, pipedrive, standard");
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    endpoint_fields f;
    PGresult *r = endpoint_write(rq, db, source, true, source,
                                 "INSERT INTO webhook_endpoints AS e (workspace_id, source, secret, basic_username,"
                                 " basic_password, stage_map, field_map, public_url, portal_id, apply_mode)"
                                 " VALUES ($1, $2, NULLIF(concat_ws(' ', $3::text, NULLIF($9::text, '')), ''), $4, $5,"
                                 " COALESCE($6::jsonb, '{}'), COALESCE($7::jsonb, '{}'), $8, $10,"
                                 " COALESCE($11, 'async'))"
                                 " RETURNING " ENDPOINT_SQL,
                                 &f);
    if (!r)
        return;
    json_t *out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    /* a secret the server generated is shown this once; a given one never */
    if (strcmp(source, "standard") == 0 && !json_object_get(rq->json, "secret"))
        json_object_set_new(out, "secret", json_string(f.secret));
    char loc[128];
    snprintf(loc, sizeof loc, "/v1/webhook-endpoints/%s", json_string_value(json_object_get(out, "id")));
    http_add_header(rq, "Location", loc);
    http_reply_json(rq, 201, out);
}

void h_webhook_endpoints_update(http_req *rq)
{
    db_conn *db = NULL;
    PGresult *found = http_query_one(rq, &db,
                                     "SELECT source, COALESCE(portal_id, '') FROM webhook_endpoints"
                                     " WHERE workspace_id = $1 AND id = $2::uuid AND deleted_at IS NULL",
                                     "No webhook endpoint with this id");
    if (!found)
        return;
    char source[16], bound_portal[24];
    snprintf(source, sizeof source, "%s", PQgetvalue(found, 0, 0));
    snprintf(bound_portal, sizeof bound_portal, "%s", PQgetvalue(found, 0, 1));
    PQclear(found);
    app_err err = {0};
    const json_t *src = json_object_get(rq->json, "source");
    if (src && !(json_is_string(src) && strcmp(json_string_value(src), source) == 0)) {
        app_err_field(&err, "source", "cannot change: create a new endpoint for another source");
        http_reply_error(rq, &err);
        return;
    }
    /* a portal once bound stays: another portal's deals would land on the
     * same ids in this workspace */
    const json_t *portal = json_object_get(rq->json, "portal_id");
    if (portal && bound_portal[0]) {
        char want[24] = "";
        if (!portal_of(portal, want, sizeof want) || strcmp(want, bound_portal) != 0) {
            app_err_field(&err, "portal_id",
                          "is bound to portal %s: create another endpoint (in another workspace) for another portal",
                          bound_portal);
            http_reply_error(rq, &err);
            return;
        }
    }
    /* Every field absent from the PATCH keeps its value. The stored secret is
     * "primary additional...": a new secret replaces the primary one only,
     * additional_secrets replaces the additional ones only (so a PATCH with
     * just additional_secrets keeps the current secret). */
    endpoint_fields f;
    PGresult *r = endpoint_write(
        rq, db, source, false, rq->params[0],
        "UPDATE webhook_endpoints AS e SET"
        " secret = CASE WHEN $3::text IS NULL AND $9::text IS NULL THEN secret ELSE NULLIF(concat_ws(' ',"
        "   COALESCE($3::text, NULLIF(split_part(secret, ' ', 1), '')),"                               /* the primary */
        "   NULLIF(COALESCE($9::text, substr(secret, strpos(secret || ' ', ' ') + 1)), '')), '') END," /* others */
        " basic_username = COALESCE($4, basic_username), basic_password = COALESCE($5, basic_password),"
        " stage_map = COALESCE($6::jsonb, stage_map), field_map = COALESCE($7::jsonb, field_map),"
        " public_url = COALESCE($8, public_url), portal_id = COALESCE($10, portal_id),"
        " apply_mode = COALESCE($11, apply_mode)"
        " WHERE workspace_id = $1 AND id = $2::uuid AND deleted_at IS NULL RETURNING " ENDPOINT_SQL,
        &f);
    if (!r)
        return;
    if (PQntuples(r) == 0)
        http_fail(rq, ERR_NOT_FOUND, "No webhook endpoint with this id");
    else
        http_reply_json_text(rq, 200, PQgetvalue(r, 0, 0));
    PQclear(r);
}

void h_webhook_endpoints_list(http_req *rq)
{
    http_reply_list(rq, true,
                    "SELECT " ENDPOINT_SQL ", e.id FROM webhook_endpoints e WHERE e.workspace_id = $1"
                    " AND e.deleted_at IS NULL AND ($2::uuid IS NULL OR (e.created_at, e.id) > (SELECT created_at, id"
                    " FROM webhook_endpoints WHERE id = $2::uuid AND workspace_id = $1))"
                    " ORDER BY e.created_at, e.id LIMIT $3");
}

static void endpoint_one(http_req *rq, bool del)
{
    PGresult *r = http_query_one(rq, NULL,
                                 del ? "UPDATE webhook_endpoints e SET deleted_at = now() WHERE workspace_id = $1"
                                       " AND id = $2::uuid AND deleted_at IS NULL RETURNING 1"
                                     : "SELECT " ENDPOINT_SQL " FROM webhook_endpoints e WHERE workspace_id = $1"
                                       " AND id = $2::uuid AND deleted_at IS NULL",
                                 "No webhook endpoint with this id");
    if (!r)
        return;
    if (del)
        http_reply_empty(rq, 204);
    else
        http_reply_json_text(rq, 200, PQgetvalue(r, 0, 0));
    PQclear(r);
}

void h_webhook_endpoints_get(http_req *rq) { endpoint_one(rq, false); }
void h_webhook_endpoints_delete(http_req *rq) { endpoint_one(rq, true); }

/* ---- receiving -------------------------------------------------------------- */

typedef struct {
    char workspace_id[40];
    char source[16];
    char apply_mode[8];
    char *secret, *basic_username, *basic_password, *public_url, *portal_id;
    json_t *stage_map, *field_map;
} endpoint;

static void endpoint_free(endpoint *ep)
{
    free(ep->secret);
    free(ep->basic_username);
    free(ep->basic_password);
    free(ep->public_url);
    free(ep->portal_id);
    json_decref(ep->stage_map);
    json_decref(ep->field_map);
}

static char *col(PGresult *r, int c) { return PQgetisnull(r, 0, c) ? NULL : strdup(PQgetvalue(r, 0, c)); }

/* 1 found, 0 not found, -1 error. where: "e.id = $1::uuid" plus optional ws. */
static int endpoint_load(db_conn *db, const char *id, const char *workspace_id, endpoint *ep, app_err *err)
{
    memset(ep, 0, sizeof *ep);
    const char *p[] = {id, workspace_id};
    /* prepared: every delivery starts with this lookup by primary key */
    PGresult *r = db_query_prepared(
        db, DB_PREP_WEBHOOK_ENDPOINT,
        "SELECT workspace_id, source, secret, basic_username, basic_password, public_url,"
        " stage_map, field_map, portal_id, apply_mode FROM webhook_endpoints WHERE id = $1::uuid AND deleted_at IS NULL"
        " AND ($2::uuid IS NULL OR workspace_id = $2::uuid)",
        2, p, err);
    if (!r)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return 0;
    }
    snprintf(ep->workspace_id, sizeof ep->workspace_id, "%s", PQgetvalue(r, 0, 0));
    snprintf(ep->source, sizeof ep->source, "%s", PQgetvalue(r, 0, 1));
    ep->secret = col(r, 2);
    ep->basic_username = col(r, 3);
    ep->basic_password = col(r, 4);
    ep->public_url = col(r, 5);
    ep->stage_map = json_loads(PQgetvalue(r, 0, 6), 0, NULL);
    ep->field_map = json_loads(PQgetvalue(r, 0, 7), 0, NULL);
    ep->portal_id = col(r, 8);
    snprintf(ep->apply_mode, sizeof ep->apply_mode, "%s", PQgetvalue(r, 0, 9));
    PQclear(r);
    return 1;
}

static const char *req_header(void *ctx, const char *name) { return http_header(ctx, name); }

typedef struct {
    char *out;
    size_t len, cap;
    bool overflow;
} query_buf;

/* Append s percent-encoded the way HubSpot's v3 normalisation leaves a URI:
 * unreserved characters and : / ? @ ! $ ' ( ) * , ; as they are (the ones
 * it decodes), everything else (& = + space, non-ASCII...) as %XX. */
static void query_put(query_buf *q, const char *s)
{
    static const char keep[] = "-._~:/?@!$'()*,;";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                     strchr(keep, *p) != NULL;
        if (q->len + 4 >= q->cap) {
            q->overflow = true;
            return;
        }
        if (plain)
            q->out[q->len++] = (char)*p;
        else
            q->len += (size_t)snprintf(q->out + q->len, q->cap - q->len, "%%%02X", *p);
    }
    q->out[q->len] = '\0';
}

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    query_buf *q = cls;
    if (q->len + 2 >= q->cap) {
        q->overflow = true;
        return MHD_YES;
    }
    char sep = q->len ? '&' : '?';
    q->out[q->len++] = sep;
    q->out[q->len] = '\0';
    query_put(q, key);
    if (value) {
        if (q->len + 2 >= q->cap) {
            q->overflow = true;
            return MHD_YES;
        }
        q->out[q->len++] = '=';
        q->out[q->len] = '\0';
        query_put(q, value);
    }
    return MHD_YES;
}

/* The request's query string ("?a=1&b=2", or "" without one), rebuilt from
 * the parsed arguments in their order (libmicrohttpd does not keep the raw
 * request line): byte for byte what the sender signed when its target URL's
 * query is made of the characters query_put keeps. Separators are added
 * unencoded so the leading "?" and the "&"s stay literal. -1 when too long. */
static int request_query(http_req *rq, char *out, size_t cap)
{
    query_buf q = {out, 0, cap, false};
    out[0] = '\0';
    if (rq->conn)
        MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, query_arg, &q);
    return q.overflow ? -1 : 0;
}

static prom_hook_source prom_source(const char *source)
{
    return strcmp(source, "hubspot") == 0     ? HOOK_SRC_HUBSPOT
           : strcmp(source, "pipedrive") == 0 ? HOOK_SRC_PIPEDRIVE
                                              : HOOK_SRC_STANDARD;
}

/* Check the request against the endpoint's scheme. */
static whsig_result verify(http_req *rq, const endpoint *ep)
{
    const char *body = rq->body ? rq->body : "";
    if (strcmp(ep->source, "pipedrive") == 0)
        return whsig_basic(http_header(rq, "Authorization"), ep->basic_username, ep->basic_password);
    if (strcmp(ep->source, "standard") == 0)
        return whsig_standard(ep->secret, body, rq->body_len, req_header, rq, (long long)time(NULL));
    /* HubSpot signs the public URI: the configured base URL plus this path
     * (unless the configured URL already is the whole hook URL) plus the
     * query string the request came with (v3 and v2 both cover it, so a
     * target URL with ?portal=... verifies and its query is authenticated) */
    char uri[2048], query[1024];
    if (request_query(rq, query, sizeof query) != 0)
        return WHSIG_BAD;
    const char *base = ep->public_url ? ep->public_url : "";
    size_t bl = strcspn(base, "?#"), pl = strlen(rq->path); /* a query in the configured URL is the request's */
    if (bl >= pl && strncmp(base + bl - pl, rq->path, pl) == 0)
        snprintf(uri, sizeof uri, "%.*s%s", (int)bl, base, query);
    else
        snprintf(uri, sizeof uri, "%.*s%s%s", (int)(bl && base[bl - 1] == '/' ? bl - 1 : bl), base, rq->path, query);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return whsig_hubspot(ep->secret, rq->method, uri, body, rq->body_len, req_header, rq,
                         (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* The request headers kept with the raw body: what identifies and proves a
 * delivery, never credentials. */
static json_t *kept_headers(http_req *rq)
{
    static const char *const names[] = {"Content-Type",
                                        "User-Agent",
                                        "X-HubSpot-Signature",
                                        "X-HubSpot-Signature-Version",
                                        "X-HubSpot-Signature-v3",
                                        "X-HubSpot-Request-Timestamp",
                                        "webhook-id",
                                        "webhook-timestamp",
                                        "webhook-signature",
                                        "svix-id",
                                        "svix-timestamp",
                                        "svix-signature",
                                        "X-Request-Id",
                                        NULL};
    json_t *h = json_object();
    for (int i = 0; names[i]; i++) {
        const char *v = http_header(rq, names[i]);
        if (v)
            json_object_set_new(h, names[i], json_string(v));
    }
    return h;
}

/* A HubSpot endpoint not yet bound to a portal is bound to the portal of
 * the first verified delivery (one app's deliveries for every portal that
 * installed it are signed with the same client secret, and deal ids are per
 * portal: two portals on one endpoint would merge unrelated deals). Two first
 * deliveries at once: the first UPDATE wins, the other reads its portal.
 * 0 (ep->portal_id set when the delivery names a portal) or -1. */
static int portal_bind(db_conn *db, const char *id, const json_t *payloads, endpoint *ep, app_err *err)
{
    char portal[24] = "";
    size_t i;
    const json_t *pl;
    json_array_foreach(payloads, i, pl)
    {
        if (!portal[0] && portal_of(json_object_get(pl, "portalId"), portal, sizeof portal))
            break;
    }
    if (!portal[0])
        return 0;
    const char *p[] = {id, portal};
    PGresult *r =
        db_query(db,
                 "WITH b AS (UPDATE webhook_endpoints SET portal_id = $2 WHERE id = $1::uuid"
                 " AND portal_id IS NULL RETURNING portal_id)"
                 " SELECT portal_id FROM b UNION ALL"
                 " SELECT portal_id FROM webhook_endpoints WHERE id = $1::uuid AND NOT EXISTS (SELECT 1 FROM b)",
                 2, p, err);
    if (!r)
        return -1;
    if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        ep->portal_id = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

/* The per-event answer (sync endpoints, ?wait=applied): rows of (event_id,
 * status, detail) in event order beside the adapted events. */
static void reply_outcomes(http_req *rq, PGresult *r, int c0, const json_t *events)
{
    json_t *out = json_array();
    json_t *counts = json_pack("{s:i, s:i, s:i, s:i, s:i, s:i}", "applied", 0, "duplicate", 0, "stale", 0, "rejected",
                               0, "held", 0, "pending", 0);
    for (int k = 0; k < PQntuples(r); k++) {
        json_t *ev = json_array_get(events, (size_t)k);
        const char *st = PQgetvalue(r, k, c0 + 1);
        json_t *c = json_object_get(counts, st);
        if (c)
            json_integer_set(c, json_integer_value(c) + 1);
        json_array_append_new(
            out, json_pack("{s:s, s:O, s:O, s:s, s:s}", "id", PQgetvalue(r, k, c0), "dedupe_key",
                           json_object_get(ev, "dedupe_key"), "object_id",
                           json_object_get(ev, "object_id") ? json_object_get(ev, "object_id") : json_null(), "status",
                           st, "detail", PQgetvalue(r, k, c0 + 2)));
    }
    http_reply_json(rq, 200, json_pack("{s:o, s:o}", "counts", counts, "events", out));
}

/* ?wait=applied on an async endpoint: poll until none of the delivery's
 * events is pending or the configured bound passes, then answer each
 * event's state (pending ones still pending). ids: the stored events' ids
 * as a PostgreSQL array literal. */
static void wait_applied(http_req *rq, db_conn *db, const char *ids, const json_t *events)
{
    const config *cfg = http_config(rq);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    app_err err = {0};
    const char *p[] = {ids};
    for (;;) {
        char left[24];
        if (db_query_value(db, "SELECT count(*) FROM webhook_events WHERE id = ANY ($1::uuid[]) AND status = 'pending'",
                           1, p, left, sizeof left, &err) < 0) {
            http_reply_error(rq, &err);
            return;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        double ms = (double)(now.tv_sec - t0.tv_sec) * 1000.0 + (double)(now.tv_nsec - t0.tv_nsec) / 1e6;
        if (strcmp(left, "0") == 0 || ms >= cfg->webhook_wait_ms)
            break;
        whapply_notify();
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    PGresult *r = db_query(db,
                           "SELECT w.id, w.status, w.detail FROM unnest($1::uuid[]) WITH ORDINALITY AS x(id, k)"
                           " JOIN webhook_events w ON w.id = x.id ORDER BY x.k",
                           1, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    reply_outcomes(rq, r, 0, events);
    PQclear(r);
}

typedef struct {
    const char *sql;
    const char *const *p;
    PGresult *r;
} sync_tx;

/* Events applied now (a sync endpoint's delivery stored and applied, a
 * replay), and the contacts they made MQL routed (as PUT routes them), in
 * one transaction. */
static int sync_tx_run(db_conn *c, void *ctx, app_err *err)
{
    sync_tx *t = ctx;
    PQclear(t->r); /* a retried transaction's first answer */
    t->r = db_query(c, t->sql, 5, t->p, err);
    if (!t->r)
        return -1;
    return leads_route_webhook_mqls(c, err);
}

static PGresult *apply_now(db_conn *db, const char *sql, const char *const *p, app_err *err)
{
    sync_tx t = {.sql = sql, .p = p};
    if (db_transaction(db, sync_tx_run, &t, err) == 0)
        return t.r;
    PQclear(t.r);
    return NULL;
}

/* Store (async) or store and apply (sync) the adapted events, and answer. */
static void ingest(http_req *rq, db_conn *db, const endpoint *ep, const char *id, json_t *events, bool wait)
{
    app_err err = {0};
    json_t *hdrs = kept_headers(rq);
    char *hdr_text = json_dumps(hdrs, JSON_COMPACT);
    char *ev_text = json_dumps(events, JSON_COMPACT);
    json_decref(hdrs);
    const char *p[] = {ep->workspace_id, id, hdr_text, rq->body ? rq->body : "", ev_text};
    bool sync = strcmp(ep->apply_mode, "sync") == 0;
    /* one transaction each way: the delivery and its events (sync: and their
     * effects) are committed before the 2xx */
    PGresult *r = NULL;
    if (sync) {
        r = apply_now(db, "SELECT event_id, status, detail FROM webhook_ingest($1, $2, $3, $4, $5) ORDER BY n", p,
                      &err);
    } else {
        /* prepared (one fixed statement, parsed once per connection): an async
         * delivery's whole work in the database is this and the lookup above */
        r = db_query_prepared(db, DB_PREP_WEBHOOK_STORE,
                              "SELECT event_id, status, detail FROM webhook_store($1, $2, $3, $4, $5) ORDER BY n", 5, p,
                              &err);
    }
    free(hdr_text);
    free(ev_text);
    prom_count_webhook(prom_source(ep->source), r != NULL);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    if (sync) {
        /* applied and committed: the route is public, so http.c does not know the workspace */
        fccache_touch(ep->workspace_id);
        alerteval_touch(ep->workspace_id);
        reply_outcomes(rq, r, 0, events);
        PQclear(r);
        return;
    }
    long accepted = 0, duplicates = 0, pending = 0;
    size_t cap = (size_t)PQntuples(r) * 40 + 4, len = 1;
    char *ids = malloc(cap);
    if (!ids) {
        PQclear(r);
        http_fail(rq, ERR_INTERNAL, "out of memory");
        return;
    }
    ids[0] = '{';
    for (int k = 0; k < PQntuples(r); k++) {
        const char *st = PQgetvalue(r, k, 1);
        if (strcmp(st, "duplicate") == 0)
            duplicates++;
        else
            accepted++;
        pending += strcmp(st, "pending") == 0;
        len += (size_t)snprintf(ids + len, cap - len, "%s%s", k ? "," : "", PQgetvalue(r, k, 0));
    }
    snprintf(ids + len, cap - len, "}");
    PQclear(r);
    if (pending > 0)
        whapply_notify();
    if (wait)
        wait_applied(rq, db, ids, events);
    else
        http_reply_json(
            rq, 200, json_pack("{s:i, s:i}", "accepted", (json_int_t)accepted, "duplicates", (json_int_t)duplicates));
    free(ids);
}

/* The receiver's own query parameter: ?wait=applied (bounded). Other query
 * parameters are the CRM's (its target URL) and are left alone. False after
 * replying 422. */
static bool wait_param(http_req *rq, bool *wait)
{
    const char *w = http_query(rq, "wait");
    *wait = w != NULL;
    if (w && strcmp(w, "applied") != 0) {
        app_err err = {0};
        app_err_field(&err, "wait", "must be 'applied' (answer once this delivery's events are applied)");
        http_reply_error(rq, &err);
        return false;
    }
    return true;
}

/* Above the configured backlog, an async delivery is refused before anything
 * is stored: the sender retries later (HubSpot, Pipedrive and Svix all retry
 * a 5xx) instead of the queue growing without bound. False after replying. */
static bool backlog_ok(http_req *rq, const endpoint *ep)
{
    const config *cfg = http_config(rq);
    if (strcmp(ep->apply_mode, "async") != 0 || cfg->webhook_max_backlog <= 0)
        return true;
    whapply_backlog b = whapply_stats();
    if (!b.known || b.pending < cfg->webhook_max_backlog)
        return true;
    http_add_header(rq, "Retry-After", "30");
    http_fail(rq, ERR_WEBHOOK_BACKLOG, "%lld webhook events are waiting to be applied (limit %d); retry later",
              b.pending, cfg->webhook_max_backlog);
    return false;
}

void h_hooks_receive(http_req *rq)
{
    const char *id = rq->params[0];
    if (!jv_is_uuid(id)) {
        http_fail(rq, ERR_NOT_FOUND, "No webhook endpoint at this URL");
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    endpoint ep;
    int f = endpoint_load(db, id, NULL, &ep, &err);
    if (f <= 0) {
        if (f < 0)
            http_reply_error(rq, &err);
        else
            http_fail(rq, ERR_NOT_FOUND, "No webhook endpoint at this URL");
        return;
    }
    whsig_result v = verify(rq, &ep);
    if (v != WHSIG_OK) {
        log_warn("webhooks", "endpoint %s: %s", id, whsig_reason(v));
        prom_count_webhook(prom_source(ep.source), 0);
        if (strcmp(ep.source, "pipedrive") == 0)
            http_add_header(rq, "WWW-Authenticate", "Basic realm=\"revopsd webhooks\"");
        http_fail(rq, ERR_BAD_SIGNATURE, "%s; nothing was stored", whsig_reason(v));
        endpoint_free(&ep);
        return;
    }
    bool wait = false;
    if (!wait_param(rq, &wait) || !backlog_ok(rq, &ep)) {
        endpoint_free(&ep);
        return;
    }
    char msg[200];
    json_t *payloads = whadapt_split(ep.source, rq->body ? rq->body : "", rq->body_len, msg, sizeof msg);
    if (!payloads) {
        prom_count_webhook(prom_source(ep.source), 0);
        http_fail(rq, ERR_BAD_REQUEST, "%s; nothing was stored", msg);
        endpoint_free(&ep);
        return;
    }
    if (strcmp(ep.source, "hubspot") == 0 && !ep.portal_id && portal_bind(db, id, payloads, &ep, &err) != 0) {
        http_reply_error(rq, &err);
        endpoint_free(&ep);
        json_decref(payloads);
        return;
    }
    whadapt_endpoint wep = {ep.source, ep.stage_map, ep.field_map, ep.portal_id};
    const char *msg_id = whsig_standard_header(req_header, rq, "id");
    json_t *events = json_array();
    size_t i;
    json_t *pl;
    json_array_foreach(payloads, i, pl) { json_array_append_new(events, whadapt_event(&wep, pl, msg_id)); }
    json_decref(payloads);
    ingest(rq, db, &ep, id, events, wait);
    json_decref(events);
    endpoint_free(&ep);
}

/* ---- the event log ---------------------------------------------------------- */

static const char *const event_statuses[] = {"pending", "held", "applied", "duplicate", "stale", "rejected", NULL};

void h_webhook_events_list(http_req *rq)
{
    long limit;
    const char *cursor;
    if (!http_page_params(rq, false, &limit, &cursor))
        return;
    app_err err = {0};
    const char *endpoint_id = http_query(rq, "endpoint_id"), *status = http_query(rq, "status");
    const char *object_id = http_query(rq, "object_id");
    if (endpoint_id && !jv_is_uuid(endpoint_id))
        app_err_field(&err, "endpoint_id", "must be a webhook endpoint id (UUID)");
    bool known = !status;
    for (int i = 0; status && event_statuses[i]; i++)
        known = known || strcmp(status, event_statuses[i]) == 0;
    if (!known)
        app_err_field(&err, "status", "must be one of pending, held, applied, duplicate, stale, rejected");
    if (object_id && (!*object_id || strlen(object_id) > 200))
        app_err_field(&err, "object_id", "must be 1 to 200 characters");
    if (cursor && (strspn(cursor, "0123456789") != strlen(cursor) || strlen(cursor) > 18))
        app_err_field(&err, "cursor", "is not a cursor this list gave");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    char lbuf[24];
    snprintf(lbuf, sizeof lbuf, "%ld", limit + 1);
    const char *p[] = {rq->auth.workspace_id, endpoint_id, status, object_id, cursor, lbuf};
    PGresult *r = db_query(db,
                           "SELECT webhook_event_json(e), e.seq FROM webhook_events e WHERE e.workspace_id = $1"
                           " AND ($2::uuid IS NULL OR e.endpoint_id = $2::uuid) AND ($3::text IS NULL OR e.status = $3)"
                           " AND ($4::text IS NULL OR e.object_id = $4) AND ($5::bigint IS NULL OR e.seq < $5::bigint)"
                           " ORDER BY e.seq DESC LIMIT $6",
                           6, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    http_reply_page(rq, r, limit);
}

void h_webhook_events_get(http_req *rq)
{
    PGresult *r = http_query_one(
        rq, NULL, "SELECT webhook_event_json(e) FROM webhook_events e WHERE workspace_id = $1 AND id = $2::uuid",
        "No webhook event with this id");
    if (!r)
        return;
    http_reply_json_text(rq, 200, PQgetvalue(r, 0, 0));
    PQclear(r);
}

/* Replay: the stored payload through the endpoint's current mapping, applied
 * again (changes older than the stored fields stay recorded, not applied). */
void h_webhook_events_replay(http_req *rq)
{
    db_conn *db = NULL;
    PGresult *r = http_query_one(rq, &db,
                                 "SELECT e.endpoint_id, e.payload, COALESCE(d.headers ->> 'webhook-id',"
                                 " d.headers ->> 'svix-id'), e.status FROM webhook_events e"
                                 " JOIN webhook_deliveries d ON d.id = e.delivery_id"
                                 " WHERE e.workspace_id = $1 AND e.id = $2::uuid",
                                 "No webhook event with this id");
    if (!r)
        return;
    const char *state = PQgetvalue(r, 0, 3);
    if (strcmp(state, "pending") == 0 || strcmp(state, "held") == 0) {
        http_fail(rq, ERR_CONFLICT, "%s",
                  strcmp(state, "pending") == 0
                      ? "The event is pending: an applier applies it shortly (POST with ?wait=applied waits for it)"
                      : "The event is held until its deal's name and stage arrive; replaying it would create a deal "
                        "without them");
        PQclear(r);
        return;
    }
    app_err err = {0};
    endpoint ep;
    int f = endpoint_load(db, PQgetvalue(r, 0, 0), rq->auth.workspace_id, &ep, &err);
    json_t *payload = json_loads(PQgetvalue(r, 0, 1), JSON_DECODE_ANY, NULL);
    char *hid = PQgetisnull(r, 0, 2) ? NULL : strdup(PQgetvalue(r, 0, 2));
    PQclear(r);
    if (f <= 0) {
        json_decref(payload);
        free(hid);
        if (f < 0)
            http_reply_error(rq, &err);
        else
            http_fail(rq, ERR_CONFLICT, "The event's webhook endpoint was deleted; it cannot be replayed");
        return;
    }
    whadapt_endpoint wep = {ep.source, ep.stage_map, ep.field_map, ep.portal_id};
    json_t *ev = whadapt_event(&wep, payload, hid);
    json_decref(payload);
    free(hid);
    char *ops = json_dumps(json_object_get(ev, "ops"), JSON_COMPACT);
    const char *q[] = {rq->auth.workspace_id, rq->params[0], ops, json_string_value(json_object_get(ev, "error")),
                       json_string_value(json_object_get(ev, "note"))};
    r = apply_now(db, "SELECT webhook_replay($1, $2::uuid, $3::jsonb, $4, $5)", q, &err);
    free(ops);
    json_decref(ev);
    endpoint_free(&ep);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    http_reply_json_text(rq, 200, PQgetvalue(r, 0, 0));
    PQclear(r);
}

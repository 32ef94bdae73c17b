/* test_security.c - a security sweep generated from the route table (and,
 * for query parameters, from openapi.yaml), so a new route is swept without
 * anyone writing a test for it: keys and roles, hostile and foreign path
 * parameters, hostile query parameters, OPTIONS/HEAD, oversized headers and
 * slow clients.
 *
 * The sweep collects every violation and fails once with the full list, so
 * one run shows everything that is wrong. Each response still passes the
 * OpenAPI contract check.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "routes.h"

/* A text planted in the foreign workspace's data; no response to another
 * workspace may contain it. */
#define MARKER "zzforeignmarker7c1"

/* Path parameter values: SQL metacharacters, traversal, encodings, sizes.
 * Each is URL-encoded as a client would send it. */
static const char *const hostile_values[] = {
    "%27%3B%20DROP%20TABLE%20deals%3B--",
    "1%27%20OR%20%271%27%3D%271",
    "%22%29%3B%20SELECT%20pg_sleep%280%29%3B--",
    "%5C%27%5C%22%25_%2A",
    "..%2F..%2Fetc%2Fpasswd",
    "%E2%80%AE%F0%9F%98%80",
    "%C3%28",
    "%25",
    "-1",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    NULL,
};

typedef struct {
    char *text;
    size_t len, cap;
    int count;
} report;

static void note(report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(report *r, const char *fmt, ...)
{
    char line[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    r->count++;
    size_t n = strlen(line);
    if (r->len + n + 2 > r->cap) {
        r->cap = (r->cap + n + 2) * 2;
        r->text = realloc(r->text, r->cap);
    }
    if (r->len + n < 3000) { /* what fits in a Check message; the count says the rest */
        memcpy(r->text + r->len, line, n);
        r->text[r->len + n] = '\n';
        r->len += n + 1;
        r->text[r->len] = '\0';
    }
}

static void report_check(report *r, const char *what)
{
    ck_assert_msg(r->count == 0, "%s: %d violation(s):\n%s", what, r->count, r->text ? r->text : "");
    free(r->text);
}

/* ---- a non-aborting client ---------------------------------------------- */

typedef struct {
    long status;
    char *body;
    size_t len;
    char ctype[128];
    char allow[160];
    char www_auth[160];
    char retry_after[32];
} sresp;

static size_t on_body(char *d, size_t s, size_t n, void *ud)
{
    sresp *r = ud;
    size_t add = s * n;
    char *nb = realloc(r->body, r->len + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + r->len, d, add);
    r->body = nb;
    r->len += add;
    r->body[r->len] = '\0';
    return add;
}

static void hdr(const char *line, size_t len, const char *name, char *dest, size_t destlen)
{
    size_t nl = strlen(name);
    if (len > nl + 1 && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
        const char *v = line + nl + 1;
        size_t vl = len - nl - 1;
        while (vl && *v == ' ')
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
            vl--;
        snprintf(dest, destlen, "%.*s", (int)vl, v);
    }
}

static size_t on_hdr(char *d, size_t s, size_t n, void *ud)
{
    sresp *r = ud;
    size_t len = s * n;
    hdr(d, len, "Content-Type", r->ctype, sizeof r->ctype);
    hdr(d, len, "Allow", r->allow, sizeof r->allow);
    hdr(d, len, "WWW-Authenticate", r->www_auth, sizeof r->www_auth);
    hdr(d, len, "Retry-After", r->retry_after, sizeof r->retry_after);
    return len;
}

/* One request; authz is a whole Authorization header value or NULL. Transport
 * errors and contract violations go to the report; the status is 0 then. */
static sresp sreq_at(report *rep, const char *base, const char *method, const char *path, const char *authz,
                     const char *body)
{
    sresp r = {0};
    CURL *c = curl_easy_init();
    size_t ulen = strlen(base) + strlen(path) + 1;
    char *url = malloc(ulen);
    snprintf(url, ulen, "%s%s", base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_hdr);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    char line[4200];
    if (authz) {
        snprintf(line, sizeof line, "Authorization: %s", authz);
        h = curl_slist_append(h, line);
    }
    if (body) {
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    else
        note(rep, "%s %.120s: transport error %s", method, path, curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    free(url);
    if (r.status) {
        api_log_response(method, path, r.status, r.ctype, r.body, r.len, NULL);
        json_t *j = (r.body && strstr(r.ctype, "json")) ? json_loadb(r.body, r.len, 0, NULL) : NULL;
        char err[512];
        if (strstr(r.ctype, "json") && !j && strcmp(method, "HEAD") != 0)
            note(rep, "%s %.120s -> %ld: body is not JSON", method, path, r.status);
        else if (!contract_check(method, path, r.status, r.ctype, j, err, sizeof err))
            note(rep, "%s %.120s -> %ld breaks openapi.yaml: %s", method, path, r.status, err);
        json_decref(j);
        if (r.status >= 500)
            note(rep, "%s %.120s -> %ld: %.200s", method, path, r.status, r.body ? r.body : "");
        if (r.body && strstr(r.body, MARKER))
            note(rep, "%s %.120s -> %ld shows another workspace's data", method, path, r.status);
    }
    return r;
}

static sresp sreq(report *rep, const char *method, const char *path, const char *authz, const char *body)
{
    return sreq_at(rep, api_base(), method, path, authz, body);
}

static void sfree(sresp *r)
{
    free(r->body);
    r->body = NULL;
}

static bool is_problem(const sresp *r, const char *slug)
{
    if (!strstr(r->ctype, "application/problem+json") || !r->body)
        return false;
    json_t *j = json_loads(r->body, 0, NULL);
    char want[64];
    snprintf(want, sizeof want, "/problems/%s", slug);
    bool ok = j && json_string_value(json_object_get(j, "type")) &&
              strcmp(json_string_value(json_object_get(j, "type")), want) == 0 &&
              json_integer_value(json_object_get(j, "status")) == r->status;
    json_decref(j);
    return ok;
}

static void expect(report *rep, const char *what, const char *method, const char *path, const char *authz, long want,
                   const char *slug)
{
    sresp r = sreq(rep, method, path, authz, NULL);
    if (r.status && (r.status != want || !is_problem(&r, slug)))
        note(rep, "%s %s %.120s -> %ld, want %ld %s problem: %.160s", what, method, path, r.status, want, slug,
             r.body ? r.body : "");
    sfree(&r);
}

/* The route's pattern with every {param} segment replaced by value. */
static void fill(const char *pattern, const char *value, char *out, size_t len)
{
    size_t n = 0;
    for (const char *p = pattern; *p && n + 1 < len;) {
        if (*p == '{') {
            n += (size_t)snprintf(out + n, len - n, "%s", value);
            if (n >= len)
                n = len - 1;
            p += strcspn(p, "}");
            if (*p)
                p++;
        } else {
            out[n++] = *p++;
        }
    }
    out[n < len ? n : len - 1] = '\0';
}

static bool has_param(const http_route *rt) { return strchr(rt->pattern, '{') != NULL; }

static const char *key_of_role(const api_ws *ws, auth_role role)
{
    return role >= ROLE_ADMIN ? ws->admin : role == ROLE_WRITE ? ws->write : ws->read;
}

static void bearer(char *out, size_t len, const char *key) { snprintf(out, len, "Bearer %s", key); }

/* ---- keys and roles ----------------------------------------------------- */

START_TEST(every_route_refuses_missing_bad_and_revoked_keys)
{
    api_ws ws;
    api_new_workspace(&ws);
    /* a key that worked, then was revoked */
    api_resp *cr = api_send_json("POST", "/v1/keys", ws.admin, "{\"role\":\"admin\",\"name\":\"to revoke\"}");
    ck_assert_status(cr, 201);
    char revoked[80], path[160];
    snprintf(revoked, sizeof revoked, "Bearer %s", json_string_value(json_object_get(cr->json, "key")));
    snprintf(path, sizeof path, "/v1/keys/%s", json_string_value(json_object_get(cr->json, "id")));
    api_resp_free(cr);
    api_resp *dr = api_req("DELETE", path, ws.admin, NULL, NULL, 0, NULL);
    ck_assert_status(dr, 204);
    api_resp_free(dr);

    char longkey[4100] = "Bearer rvk_";
    memset(longkey + 11, 'A', 4000);
    longkey[4011] = '\0';
    char almost[80]; /* the real key with its last character changed */
    bearer(almost, sizeof almost, ws.admin);
    almost[strlen(almost) - 1] = almost[strlen(almost) - 1] == 'a' ? 'b' : 'a';
    const char *bad[] = {"Bearer",
                         "Bearer ",
                         "Bearer not-a-key",
                         "Bearer rvk_' OR '1'='1",
                         "Basic YWRtaW46YWRtaW4=",
                         "bearer",
                         almost,
                         longkey,
                         revoked,
                         NULL};
    report rep = {0};
    int swept = 0;
    for (size_t i = 0; i < routes_count; i++) {
        const http_route *rt = &routes[i];
        if (rt->flags & ROUTE_PUBLIC)
            continue;
        swept++;
        char p[256];
        fill(rt->pattern, "sec-probe-1", p, sizeof p);
        sresp r = sreq(&rep, rt->method, p, NULL, NULL);
        if (r.status && (r.status != 401 || !is_problem(&r, "unauthorized") || strncmp(r.www_auth, "Bearer", 6) != 0))
            note(&rep, "no key: %s %s -> %ld (WWW-Authenticate '%s')", rt->method, p, r.status, r.www_auth);
        sfree(&r);
        for (int k = 0; bad[k]; k++)
            expect(&rep, "bad key", rt->method, p, bad[k], 401, "unauthorized");
    }
    fprintf(stderr, "security sweep: %d non-public routes refuse missing, malformed and revoked keys\n", swept);
    ck_assert_int_gt(swept, 10);
    report_check(&rep, "keys");
}
END_TEST

START_TEST(every_route_enforces_its_minimum_role)
{
    api_ws ws;
    api_new_workspace(&ws);
    report rep = {0};
    int denied = 0;
    for (size_t i = 0; i < routes_count; i++) {
        const http_route *rt = &routes[i];
        if (rt->flags & ROUTE_PUBLIC)
            continue;
        char p[256], authz[100];
        fill(rt->pattern, "sec-probe-1", p, sizeof p);
        for (auth_role role = ROLE_READ; role < rt->min_role; role++) {
            bearer(authz, sizeof authz, key_of_role(&ws, role));
            expect(&rep, "low role", rt->method, p, authz, 403, "forbidden");
            denied++;
        }
        /* and the role it names is let through (whatever the handler says next) */
        bearer(authz, sizeof authz, key_of_role(&ws, rt->min_role));
        sresp r = sreq(&rep, rt->method, p, authz, NULL);
        if (r.status == 401 || r.status == 403)
            note(&rep, "role %s: %s %s -> %ld", auth_role_name(rt->min_role), rt->method, p, r.status);
        sfree(&r);
    }
    fprintf(stderr, "security sweep: %d (route, lower role) pairs answer 403\n", denied);
    report_check(&rep, "roles");
}
END_TEST

/* ---- path parameters ---------------------------------------------------- */

/* Requests that give the foreign workspace one resource of each kind; a
 * route whose collection gets nothing here is still swept with hostile
 * values and a random UUID. */
static const char *const foreign_seed[][3] = {
    {"POST", "/v1/funnels",
     "{\"name\":\"" MARKER "\",\"stages\":[{\"name\":\"SQL\"},{\"name\":\"Closed Won\"},{\"name\":\"Closed Lost\"}]}"},
    {"POST", "/v1/snapshots", "{\"label\":\"" MARKER "\"}"},
    {"PUT", "/v1/deals/" MARKER "-deal", "{\"name\":\"" MARKER "\",\"stage\":\"sql\",\"amount\":100}"},
    {"PUT", "/v1/accounts/" MARKER "-acct", "{\"name\":\"" MARKER "\"}"},
    {"PUT", "/v1/reps/" MARKER "-rep", "{\"name\":\"" MARKER "\"}"},
    {"PUT", "/v1/subscriptions/" MARKER "-sub",
     "{\"account\":\"" MARKER "\",\"arr\":1200,\"start_date\":\"2025-01-01\"}"},
    {"PUT", "/v1/finance/2026-Q1", "{\"gross_margin\":0.5}"},
    {"POST", "/v1/forecasts", "{\"period\":\"2026-Q1\"}"},
    {"POST", "/v1/scenarios",
     "{\"name\":\"" MARKER "\",\"scenarios\":[\"base\"],\"plan\":{\"targets\":{\"new_business\":100000},"
     "\"assumptions\":{\"avg_new_deal_size\":10000,\"new_win_rate\":0.2,\"sql_to_opp_rate\":0.5,"
     "\"mql_to_sql_rate\":0.25},\"capacity\":{\"quota_per_ae\":500000,\"expected_attainment\":0.7}}}"},
    {"POST", "/v1/territory-plans",
     "{\"name\":\"" MARKER "\",\"territories\":[{\"id\":\"" MARKER "\"}],\"from_accounts\":true}"},
    {"POST", "/v1/webhook-endpoints",
     "{\"source\":\"pipedrive\",\"basic_auth\":{\"username\":\"u\",\"password\":\"p\"}}"},
};

/* A stored webhook event in the workspace of admin: a delivery to its
 * Pipedrive endpoint (Basic u:p). */
static void seed_webhook_event(const char *admin)
{
    api_resp *r = api_get("/v1/webhook-endpoints", admin);
    const char *ep = json_string_value(json_object_get(json_array_get(json_object_get(r->json, "items"), 0), "id"));
    ck_assert_ptr_nonnull(ep);
    char path[128];
    snprintf(path, sizeof path, "/v1/hooks/%s", ep);
    api_resp_free(r);
    const char *body = "{\"meta\":{\"action\":\"change\",\"entity\":\"deal\",\"entity_id\":\"1\","
                       "\"id\":\"" MARKER "-event\",\"timestamp\":\"2026-11-20T10:00:00Z\"},"
                       "\"data\":{\"id\":1,\"title\":\"" MARKER "\"}}";
    const char *hdr[] = {"Authorization: Basic dTpw", NULL}; /* u:p */
    r = api_req("POST", path, NULL, "application/json", body, strlen(body), hdr);
    ck_assert_msg(r->status == 200, "seeding a webhook event: %ld %s", r->status, r->body);
    api_resp_free(r);
}

/* The id of the first item of the collection route rt belongs to, in the
 * workspace of key; false when there is none. */
static bool foreign_id(const http_route *rt, const char *key, char *out, size_t len)
{
    char coll[256];
    snprintf(coll, sizeof coll, "%s", rt->pattern);
    char *brace = strchr(coll, '{');
    if (!brace)
        return false;
    brace[-1] = '\0';
    api_resp *r = api_get(coll, key);
    json_t *first = r->status == 200 ? json_array_get(json_object_get(r->json, "items"), 0) : NULL;
    const char *id = json_string_value(json_object_get(first, "id"));
    if (!id)
        id = json_string_value(json_object_get(first, "period"));
    if (id)
        snprintf(out, len, "%s", id);
    api_resp_free(r);
    return id != NULL;
}

START_TEST(path_parameters_hostile_or_foreign_are_not_found)
{
    api_ws a, b;
    api_new_workspace(&a);
    api_new_workspace(&b);
    for (size_t i = 0; i < sizeof foreign_seed / sizeof foreign_seed[0]; i++) {
        api_resp *r = api_send_json(foreign_seed[i][0], foreign_seed[i][1], b.admin, foreign_seed[i][2]);
        ck_assert_msg(r->status >= 200 && r->status < 300, "seeding %s %s: %ld %s", foreign_seed[i][0],
                      foreign_seed[i][1], r->status, r->body);
        api_resp_free(r);
    }
    seed_webhook_event(b.admin);
    char big[6000];
    memset(big, 'x', 5000);
    big[5000] = '\0';
    report rep = {0};
    int swept = 0, with_foreign = 0, values = 0;
    for (size_t i = 0; i < routes_count; i++) {
        const http_route *rt = &routes[i];
        if ((rt->flags & ROUTE_PUBLIC) || !has_param(rt))
            continue;
        swept++;
        char fid[128] = "", authz[100], p[6300];
        bearer(authz, sizeof authz, key_of_role(&a, rt->min_role));
        if (foreign_id(rt, b.admin, fid, sizeof fid))
            with_foreign++;
        else
            fprintf(stderr, "security sweep: no foreign %s to try on %s %s (add one to foreign_seed)\n", rt->pattern,
                    rt->method, rt->pattern);
        const char *vals[32];
        int nv = 0;
        if (fid[0])
            vals[nv++] = fid;
        vals[nv++] = big;
        for (int k = 0; hostile_values[k]; k++)
            vals[nv++] = hostile_values[k];
        /* A hostile or foreign id must be indistinguishable from an id that
         * does not exist: the same status and problem type as a fresh UUID
         * (404 for a GET or DELETE of the resource itself; a route that
         * checks its body or query first may answer 400/422 for all of
         * them). A PUT creates in the caller's own workspace, so without a
         * body it only has to refuse. */
        bool put = strcmp(rt->method, "PUT") == 0;
        const char *body = strcmp(rt->method, "POST") == 0 || strcmp(rt->method, "PATCH") == 0 ? "{}" : NULL;
        fill(rt->pattern, "5f0c6c7e-0000-4000-8000-000000000001", p, sizeof p);
        sresp base = sreq(&rep, rt->method, p, authz, body);
        bool leaf = rt->pattern[strlen(rt->pattern) - 1] == '}' && !body;
        if (!put && (base.status < 400 || base.status >= 500 || (leaf && base.status != 404)))
            note(&rep, "%s %.100s (no such id) -> %ld, want %s", rt->method, p, base.status, leaf ? "404" : "4xx");
        for (int k = 0; k < nv; k++) {
            fill(rt->pattern, vals[k], p, sizeof p);
            sresp r = sreq(&rep, rt->method, p, authz, body);
            values++;
            bool same = r.status == base.status && strcmp(r.ctype, base.ctype) == 0;
            bool not_found = r.status == 404 && is_problem(&r, "not-found"); /* refused before the handler */
            if (r.status && !put && !same && !not_found)
                note(&rep, "%s %.100s -> %ld, but %ld for an id that does not exist: %.160s", rt->method, p, r.status,
                     base.status, r.body ? r.body : "");
            if (r.status && put && (r.status < 400 || r.status >= 500))
                note(&rep, "%s %.100s (no body) -> %ld, want 4xx", rt->method, p, r.status);
            sfree(&r);
        }
        sfree(&base);
    }
    /* and the foreign workspace still has all of it: each seeded id is in
     * its collection's list */
    for (size_t i = 0; i < sizeof foreign_seed / sizeof foreign_seed[0]; i++) {
        if (strcmp(foreign_seed[i][0], "PUT") != 0)
            continue;
        char coll[200];
        snprintf(coll, sizeof coll, "%s", foreign_seed[i][1]);
        char *slash = strrchr(coll, '/');
        *slash = '\0';
        char want[100];
        snprintf(want, sizeof want, "\"%s\"", slash + 1);
        snprintf(slash, sizeof coll - (size_t)(slash - coll), "?limit=200");
        api_resp *r = api_get(coll, b.read);
        if (r->status != 200 || !strstr(r->body, want))
            note(&rep, "foreign %s changed or vanished: %ld", foreign_seed[i][1], r->status);
        api_resp_free(r);
    }
    fprintf(stderr,
            "security sweep: %d parameterised routes x hostile/foreign values = %d requests, %d with a real "
            "foreign id\n",
            swept, values, with_foreign);
    report_check(&rep, "path parameters");
}
END_TEST

/* ---- query parameters (from openapi.yaml) -------------------------------- */

static const json_t *resolve_ref(const json_t *v)
{
    const char *ref = json_string_value(json_object_get(v, "$ref"));
    if (!ref || strncmp(ref, "#/", 2) != 0)
        return v;
    const json_t *cur = contract_spec();
    char buf[256];
    snprintf(buf, sizeof buf, "%s", ref + 2);
    for (char *tok = strtok(buf, "/"); tok && cur; tok = strtok(NULL, "/"))
        cur = json_object_get(cur, tok);
    return cur;
}

START_TEST(query_parameters_hostile_values_never_fail_the_server)
{
    api_ws ws;
    api_new_workspace(&ws);
    char big[6000];
    memset(big, '9', 5000);
    big[5000] = '\0';
    const char *vals[] = {"%27%20OR%201%3D1--",
                          "%22%3B%20DROP%20TABLE%20deals%3B--",
                          "-1",
                          "0",
                          "99999999999999999999999",
                          "1e309",
                          "%00",
                          "%C3%28",
                          "2026-13-45",
                          "%25%27",
                          big,
                          NULL};
    report rep = {0};
    int params = 0, requests = 0;
    const char *tmpl;
    json_t *item;
    json_object_foreach(json_object_get(contract_spec(), "paths"), tmpl, item)
    {
        json_t *op = json_object_get(item, "get");
        if (!op || strncmp(tmpl, "/v1/", 4) != 0)
            continue;
        char p[256];
        fill(tmpl, "sec-probe-1", p, sizeof p);
        const json_t *lists[] = {json_object_get(item, "parameters"), json_object_get(op, "parameters")};
        for (int l = 0; l < 2; l++) {
            size_t i;
            json_t *prm;
            json_array_foreach(lists[l], i, prm)
            {
                const json_t *pr = resolve_ref(prm);
                const char *in = json_string_value(json_object_get(pr, "in"));
                const char *name = json_string_value(json_object_get(pr, "name"));
                if (!in || !name || strcmp(in, "query") != 0)
                    continue;
                params++;
                for (int k = 0; vals[k]; k++) {
                    size_t ulen = strlen(p) + strlen(name) + strlen(vals[k]) + 4;
                    char *url = malloc(ulen);
                    snprintf(url, ulen, "%s?%s=%s", p, name, vals[k]);
                    char authz[100];
                    bearer(authz, sizeof authz, ws.admin);
                    sresp r = sreq(&rep, "GET", url, authz, NULL);
                    requests++;
                    if (r.status && (r.status < 200 || r.status >= 500 || (r.status >= 300 && r.status < 400)))
                        note(&rep, "GET %.100s -> %ld", url, r.status);
                    sfree(&r);
                    free(url);
                }
            }
        }
    }
    fprintf(stderr, "security sweep: %d query parameters x %d hostile values = %d requests\n", params,
            (int)(sizeof vals / sizeof vals[0]) - 1, requests);
    ck_assert_int_gt(params, 5);
    report_check(&rep, "query parameters");
}
END_TEST

/* ---- OPTIONS and HEAD --------------------------------------------------- */

START_TEST(every_route_answers_options_and_head)
{
    api_ws ws;
    api_new_workspace(&ws);
    report rep = {0};
    for (size_t i = 0; i < routes_count; i++) {
        const http_route *rt = &routes[i];
        char p[256], authz[100];
        fill(rt->pattern, "sec-probe-1", p, sizeof p);
        sresp r = sreq(&rep, "OPTIONS", p, NULL, NULL);
        if (r.status != 204 || !strstr(r.allow, rt->method) || !strstr(r.allow, "OPTIONS"))
            note(&rep, "OPTIONS %s -> %ld, Allow '%s' (want %s)", p, r.status, r.allow, rt->method);
        sfree(&r);
        if (strcmp(rt->method, "GET") != 0)
            continue;
        bearer(authz, sizeof authz, ws.admin);
        const char *az = (rt->flags & ROUTE_PUBLIC) ? NULL : authz;
        sresp g = sreq(&rep, "GET", p, az, NULL);
        sresp h = sreq(&rep, "HEAD", p, az, NULL);
        if (h.status != g.status || h.len != 0)
            note(&rep, "HEAD %s -> %ld with %zu body bytes; GET -> %ld", p, h.status, h.len, g.status);
        sfree(&g);
        sfree(&h);
        if (!(rt->flags & ROUTE_PUBLIC)) {
            h = sreq(&rep, "HEAD", p, NULL, NULL);
            if (h.status != 401)
                note(&rep, "HEAD %s without a key -> %ld", p, h.status);
            sfree(&h);
        }
    }
    report_check(&rep, "OPTIONS/HEAD");
}
END_TEST

/* ---- raw connections ---------------------------------------------------- */

static int connect_port(int port, int rcv_timeout_s)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {rcv_timeout_s, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        close(s);
        return -1;
    }
    return s;
}

static int base_port(void) { return atoi(strrchr(api_base(), ':') + 1); }

/* Send req (errors ignored: the server may close mid-way) and return the
 * status of the answer, 0 when the connection was closed without one. */
static int raw_status(const char *req, size_t len)
{
    int s = connect_port(base_port(), 10);
    ck_assert_int_ge(s, 0);
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(s, req + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    char buf[512] = "";
    ssize_t n = recv(s, buf, sizeof buf - 1, 0);
    close(s);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    return status;
}

static void server_still_fine(void)
{
    api_resp *r = api_get("/healthz", NULL);
    ck_assert_status(r, 200);
    api_resp_free(r);
}

START_TEST(oversized_headers_and_urls_are_refused)
{
    size_t n = 200 * 1024;
    char *req = malloc(n + 256);
    /* one huge header */
    int len = snprintf(req, 256, "GET /v1/workspace HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(req + len, 'a', n);
    len += (int)n;
    len += snprintf(req + len, 64, "\r\n\r\n");
    int st = raw_status(req, (size_t)len);
    ck_assert_msg(st == 0 || st == 431 || st == 413 || st == 400, "one 200 KiB header -> %d", st);
    server_still_fine();
    /* many small headers */
    len = snprintf(req, 256, "GET /v1/workspace HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < 10000 && (size_t)len + 32 < n; i++)
        len += snprintf(req + len, 32, "X-H%d: v\r\n", i);
    len += snprintf(req + len, 8, "\r\n");
    st = raw_status(req, (size_t)len);
    ck_assert_msg(st == 0 || st == 431 || st == 413 || st == 400, "10,000 headers -> %d", st);
    server_still_fine();
    /* a huge URL */
    len = snprintf(req, 256, "GET /v1/deals/");
    memset(req + len, 'u', n);
    len += (int)n;
    len += snprintf(req + len, 64, " HTTP/1.1\r\nHost: x\r\n\r\n");
    st = raw_status(req, (size_t)len);
    ck_assert_msg(st == 0 || st == 414 || st == 431 || st == 413 || st == 400, "200 KiB URL -> %d", st);
    server_still_fine();
    /* a huge Authorization header on an authenticated route */
    len = snprintf(req, 256, "GET /v1/workspace HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer rvk_");
    memset(req + len, 'k', 60000);
    len += 60000;
    len += snprintf(req + len, 64, "\r\n\r\n");
    st = raw_status(req, (size_t)len);
    ck_assert_msg(st == 0 || st == 401 || st == 431 || st == 413 || st == 400, "60 KB key -> %d", st);
    free(req);
    server_still_fine();
}
END_TEST

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void stop_server(int pid)
{
    kill(pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 200 && waitpid(pid, &st, WNOHANG) != pid; i++) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (i == 199) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
        }
    }
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the second server exited with %d", st);
}

START_TEST(slow_clients_are_cut_off)
{
    int port = api_free_port();
    const char *args[] = {"--conn-timeout", "2", "--access-log", "0", NULL};
    int pid = api_spawn_server(api_db_url(), port, args);
    ck_assert_msg(api_wait_healthy(port, 20000), "the second server did not start");

    /* slowloris: one header byte every 3 s, slower than the 2 s timeout */
    const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: abcdefghij\r\n\r\n";
    int s = connect_port(port, 1);
    ck_assert_int_ge(s, 0);
    double start = now_s();
    bool cut = false;
    for (size_t i = 0; req[i] && !cut && now_s() - start < 15; i++) {
        if (send(s, req + i, 1, MSG_NOSIGNAL) != 1) {
            cut = true;
            break;
        }
        /* wait 3 s, watching for the server closing the connection */
        for (int w = 0; w < 3 && !cut; w++) {
            char b[64];
            ssize_t n = recv(s, b, sizeof b, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
                cut = true;
            else if (n > 0)
                ck_abort_msg("the server answered a request it never fully received");
        }
    }
    double took = now_s() - start;
    close(s);
    ck_assert_msg(cut, "a client sending a byte every 3 s was not cut off within %.1f s", took);
    ck_assert_msg(took < 8, "cut off only after %.1f s (timeout 2 s)", took);

    /* a client that connects and says nothing */
    s = connect_port(port, 6);
    start = now_s();
    char b[16];
    ssize_t n = recv(s, b, sizeof b, 0);
    took = now_s() - start;
    close(s);
    ck_assert_msg(n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK), "a silent client was kept open");
    ck_assert_msg(took < 5, "a silent client was cut off only after %.1f s", took);
    fprintf(stderr, "security sweep: slow and silent clients cut off after %.1f s with --conn-timeout 2\n", took);

    /* and the server still serves */
    ck_assert(api_wait_healthy(port, 2000));
    stop_server(pid);
}
END_TEST

/* A body sent a byte a second never trips the idle timeout; --request-timeout
 * bounds the whole upload. */
START_TEST(body_trickle_is_cut_off_by_request_timeout)
{
    api_ws ws;
    api_new_workspace(&ws);
    int port = api_free_port();
    const char *args[] = {"--conn-timeout", "5", "--request-timeout", "3", "--access-log", "0", NULL};
    int pid = api_spawn_server(api_db_url(), port, args);
    ck_assert_msg(api_wait_healthy(port, 20000), "the second server did not start");
    char head[512];
    snprintf(head, sizeof head,
             "PUT /v1/deals/trickle HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n{\"name\":\"",
             ws.write);
    int s = connect_port(port, 1);
    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(send(s, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
    double start = now_s();
    bool cut = false;
    while (!cut && now_s() - start < 20) {
        if (send(s, "a", 1, MSG_NOSIGNAL) != 1) {
            cut = true;
            break;
        }
        char b[256];
        ssize_t n = recv(s, b, sizeof b, 0); /* waits up to 1 s */
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
            cut = true;
        else if (n > 0)
            ck_abort_msg("the server answered a body it never fully received: %.100s", b);
    }
    double took = now_s() - start;
    close(s);
    ck_assert_msg(cut, "a body trickled at a byte a second was still accepted after %.1f s", took);
    ck_assert_msg(took >= 2.5 && took < 8, "cut off after %.1f s (request timeout 3 s)", took);
    fprintf(stderr, "security sweep: a body trickled at 1 byte/s cut off after %.1f s with --request-timeout 3\n",
            took);
    /* nothing was written, and an ordinary request still passes */
    char base[64], path[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    snprintf(path, sizeof path, "/v1/deals/trickle");
    api_resp *r = api_req_at(base, "GET", path, ws.read, NULL, NULL, 0, NULL);
    ck_assert_status(r, 404);
    api_resp_free(r);
    stop_server(pid);
}
END_TEST

/* ---- rate limiting ------------------------------------------------------ */

START_TEST(rate_limit_answers_429_with_retry_after)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    int port = api_free_port();
    const char *args[] = {"--rate-limit", "2", "--rate-burst", "3", "--access-log", "0", NULL};
    int pid = api_spawn_server(api_db_url(), port, args);
    ck_assert_msg(api_wait_healthy(port, 20000), "the rate-limited server did not start");
    char base[64], authz[100], other_authz[100];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    bearer(authz, sizeof authz, ws.read);
    bearer(other_authz, sizeof other_authz, other.read);
    report rep = {0};
    /* the burst passes, the next request is refused */
    int ok = 0;
    sresp r = {0};
    for (int i = 0; i < 10; i++) {
        r = sreq_at(&rep, base, "GET", "/v1/workspace", authz, NULL);
        if (r.status != 200)
            break;
        ok++;
        sfree(&r);
    }
    ck_assert_msg(ok >= 3 && ok <= 4, "%d requests passed before a refusal (burst 3, 2/s)", ok);
    ck_assert_int_eq(r.status, 429);
    ck_assert(is_problem(&r, "rate-limited"));
    int retry = atoi(r.retry_after);
    ck_assert_msg(retry >= 1 && retry <= 1, "Retry-After '%s'", r.retry_after);
    sfree(&r);
    /* another key, a public route and a request without a key are not affected */
    r = sreq_at(&rep, base, "GET", "/v1/workspace", other_authz, NULL);
    ck_assert_int_eq(r.status, 200);
    sfree(&r);
    r = sreq_at(&rep, base, "GET", "/healthz", NULL, NULL);
    ck_assert_int_eq(r.status, 200);
    sfree(&r);
    r = sreq_at(&rep, base, "GET", "/v1/workspace", NULL, NULL);
    ck_assert_int_eq(r.status, 401);
    sfree(&r);
    /* after Retry-After the key may go on */
    sleep((unsigned)retry);
    r = sreq_at(&rep, base, "GET", "/v1/workspace", authz, NULL);
    ck_assert_int_eq(r.status, 200);
    sfree(&r);
    stop_server(pid);
    report_check(&rep, "rate limit");
}
END_TEST

Suite *security_suite(void)
{
    Suite *s = suite_create("security");
    TCase *tc = tcase_create("sweep");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, every_route_refuses_missing_bad_and_revoked_keys);
    tcase_add_test(tc, every_route_enforces_its_minimum_role);
    tcase_add_test(tc, path_parameters_hostile_or_foreign_are_not_found);
    tcase_add_test(tc, query_parameters_hostile_values_never_fail_the_server);
    tcase_add_test(tc, every_route_answers_options_and_head);
    tcase_add_test(tc, oversized_headers_and_urls_are_refused);
    tcase_add_test(tc, slow_clients_are_cut_off);
    tcase_add_test(tc, body_trickle_is_cut_off_by_request_timeout);
    tcase_add_test(tc, rate_limit_answers_429_with_retry_after);
    suite_add_tcase(s, tc);
    return s;
}

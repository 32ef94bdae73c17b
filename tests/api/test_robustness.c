/* test_robustness.c - bad input of every kind gets the right 4xx, never a 500. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "routes.h"

static api_ws ws;

static void setup(void) { api_new_workspace(&ws); }

/* Whether the joined Vary list names `name` as a whole name (since responses
 * carry Vary: Accept-Encoding, a substring test for "Accept" says nothing). */
static bool vary_names(const api_resp *r, const char *name)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", r->vary);
    for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
        if (strcasecmp(t, name) == 0)
            return true;
    return false;
}

static void expect_problem(api_resp *r, int status, const char *type)
{
    ck_assert_status(r, status);
    ck_assert_ptr_nonnull(strstr(r->content_type, "application/problem+json"));
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "type")), type);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "status")), status);
    api_resp_free(r);
}

START_TEST(malformed_json)
{
    expect_problem(api_send_json("PATCH", "/v1/workspace", ws.admin, "{\"name\": "), 400, "/problems/malformed-json");
    expect_problem(api_send_json("PATCH", "/v1/workspace", ws.admin, "{\"a\":1,\"a\":2}"), 400,
                   "/problems/malformed-json");
    expect_problem(api_send_json("PATCH", "/v1/workspace", ws.admin, "42"), 400, "/problems/malformed-json");
    expect_problem(api_send_json("PATCH", "/v1/workspace", ws.admin, "{\"name\":\"x\"} trailing"), 400,
                   "/problems/malformed-json");
    expect_problem(api_send_json("PATCH", "/v1/workspace", ws.admin, ""), 400, "/problems/bad-request");
    expect_problem(api_send_json("PATCH", "/v1/workspace", ws.admin, "[1,2]"), 422, "/problems/validation-error");
}
END_TEST

START_TEST(invalid_utf8_and_nul)
{
    const char bad[] = "{\"name\":\"\xc3\x28\"}";
    expect_problem(api_req("PATCH", "/v1/workspace", ws.admin, "application/json", bad, sizeof bad - 1, NULL), 400,
                   "/problems/malformed-json");
    /* NUL inside a string is refused by the decoder itself */
    expect_problem(api_send_json("PATCH", "/v1/workspace", ws.admin, "{\"name\":\"a\\u0000b\"}"), 400,
                   "/problems/malformed-json");
}
END_TEST

START_TEST(absurd_nesting)
{
    size_t n = 20000;
    char *deep = malloc(2 * n + 1);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    expect_problem(api_send_json("PATCH", "/v1/workspace", ws.admin, deep), 400, "/problems/malformed-json");
    free(deep);
}
END_TEST

START_TEST(wrong_content_type)
{
    const char *body = "{\"currency\":\"EUR\"}";
    expect_problem(api_req("PATCH", "/v1/workspace", ws.admin, "text/plain", body, strlen(body), NULL), 415,
                   "/problems/unsupported-media-type");
    expect_problem(api_req("PATCH", "/v1/workspace", ws.admin, NULL, body, strlen(body), NULL), 415,
                   "/problems/unsupported-media-type");
    /* parameters on the media type are fine */
    api_resp *r =
        api_req("PATCH", "/v1/workspace", ws.admin, "application/json; charset=utf-8", body, strlen(body), NULL);
    ck_assert_status(r, 200);
    api_resp_free(r);
}
END_TEST

START_TEST(body_over_limit)
{
    /* the test server runs with --max-body 65536 */
    size_t n = 70000;
    char *big = malloc(n + 32);
    snprintf(big, n + 32, "{\"name\":\"%0*d\"}", (int)n, 7);
    expect_problem(api_send_json("PATCH", "/v1/workspace", ws.admin, big), 413, "/problems/payload-too-large");
    const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
    api_resp *r = api_req("PATCH", "/v1/workspace", ws.admin, "application/json", big, strlen(big), chunked);
    expect_problem(r, 413, "/problems/payload-too-large");
    free(big);
    r = api_get("/healthz", NULL); /* and the server is fine */
    ck_assert_status(r, 200);
    api_resp_free(r);
}
END_TEST

START_TEST(hostile_ids_and_query_parameters)
{
    expect_problem(api_req("DELETE", "/v1/keys/'%3B%20DROP%20TABLE%20api_keys%3B--", ws.admin, NULL, NULL, 0, NULL),
                   404, "/problems/not-found");
    expect_problem(api_req("DELETE", "/v1/keys/00000000-0000-0000-0000-000000000000", ws.admin, NULL, NULL, 0, NULL),
                   404, "/problems/not-found");
    expect_problem(api_get("/v1/keys?cursor=%27%20OR%201%3D1--", ws.admin), 422, "/problems/validation-error");
    expect_problem(api_get("/v1/keys?limit=abc", ws.admin), 422, "/problems/validation-error");
    expect_problem(api_get("/v1/keys?limit=100000", ws.admin), 422, "/problems/validation-error");
    api_resp *r = api_get("/v1/keys", ws.admin); /* the table is still there */
    ck_assert_status(r, 200);
    api_resp_free(r);
}
END_TEST

START_TEST(unknown_paths_and_methods)
{
    expect_problem(api_get("/v1/nothing-here", ws.admin), 404, "/problems/not-found");
    expect_problem(api_get("/v1/workspace/extra", ws.admin), 404, "/problems/not-found");
    expect_problem(api_get("//v1//workspace", ws.admin), 404, "/problems/not-found");
    api_resp *r = api_req("DELETE", "/v1/workspace", ws.admin, NULL, NULL, 0, NULL);
    ck_assert_status(r, 405);
    ck_assert_str_eq(r->allow, "GET, PATCH");
    api_resp_free(r);
}
END_TEST

/* Would pattern (with {param} segments) match the literal path? */
static bool pattern_covers(const char *pattern, const char *path)
{
    while (*pattern && *path) {
        size_t pl = strcspn(pattern + 1, "/"), sl = strcspn(path + 1, "/");
        if (!(pattern[1] == '{' || (pl == sl && strncmp(pattern + 1, path + 1, pl) == 0)))
            return false;
        pattern += pl + 1;
        path += sl + 1;
    }
    return *pattern == '\0' && *path == '\0';
}

/* A literal path owns every method: /v1/deals/batch is never the deal
 * "batch". Every method a literal path does not serve answers 405 with its
 * Allow, whatever a {param} route next to it serves. From the route table. */
START_TEST(literal_paths_are_not_ids)
{
    static const char *const methods[] = {"GET", "PUT", "POST", "PATCH", "DELETE"};
    int checked = 0;
    for (size_t i = 0; i < routes_count; i++) {
        const char *lit = routes[i].pattern;
        if (strchr(lit, '{'))
            continue;
        bool shadowed = false; /* a {param} route that would take this path */
        for (size_t k = 0; k < routes_count && !shadowed; k++)
            shadowed = strchr(routes[k].pattern, '{') && pattern_covers(routes[k].pattern, lit);
        bool first = true; /* each literal pattern once */
        for (size_t k = 0; k < i && first; k++)
            first = strcmp(routes[k].pattern, lit) != 0;
        if (!shadowed || !first)
            continue;
        char allow[128] = "";
        for (size_t k = 0; k < routes_count; k++)
            if (strcmp(routes[k].pattern, lit) == 0) {
                size_t l = strlen(allow);
                snprintf(allow + l, sizeof allow - l, "%s%s", l ? ", " : "", routes[k].method);
            }
        for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++) {
            bool served = false;
            for (size_t k = 0; k < routes_count; k++)
                served = served || (strcmp(routes[k].pattern, lit) == 0 && strcmp(routes[k].method, methods[m]) == 0);
            if (served)
                continue;
            bool body = strcmp(methods[m], "GET") != 0 && strcmp(methods[m], "DELETE") != 0;
            const char *deal = "{\"name\":\"shadow\",\"stage\":\"proposal\"}";
            api_resp *r = api_req(methods[m], lit, ws.admin, body ? "application/json" : NULL, body ? deal : NULL,
                                  body ? strlen(deal) : 0, NULL);
            ck_assert_msg(r->status == 405, "%s %s -> %ld, want 405: %s", methods[m], lit, r->status, r->body);
            ck_assert_msg(strcmp(r->allow, allow) == 0, "%s %s: Allow '%s', want '%s'", methods[m], lit, r->allow,
                          allow);
            api_resp_free(r);
            checked++;
        }
    }
    ck_assert_int_ge(checked, 10);
    /* nothing was written under a literal name */
    const char *lists[] = {"/v1/deals", "/v1/accounts", "/v1/reps"};
    for (size_t i = 0; i < 3; i++) {
        api_resp *r = api_get(lists[i], ws.read);
        ck_assert_status(r, 200);
        ck_assert_msg(json_array_size(json_object_get(r->json, "items")) == 0, "%s: %s", lists[i], r->body);
        api_resp_free(r);
    }
    /* the parameterised routes still work next to them */
    api_resp *r = api_send_json("PUT", "/v1/deals/batch-1", ws.write, "{\"name\":\"b\",\"stage\":\"proposal\"}");
    ck_assert_status(r, 201);
    api_resp_free(r);
}
END_TEST

/* A query parameter an operation does not declare is refused by name, on
 * every route (generated from the route table; the names allowed come from
 * openapi.yaml at build time): a typo must not answer for the default. */
START_TEST(unknown_query_parameters_are_refused)
{
    api_resp *r = api_get("/v1/dashboard?perod=2017-Q4", ws.read);
    ck_assert_status(r, 422);
    json_t *e0 = json_array_get(json_object_get(r->json, "errors"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(e0, "field")), "perod");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(e0, "message")), "period"));
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r->json, "detail")), "perod"));
    api_resp_free(r);
    r = api_get("/v1/deals?limit=5&stage=proposal&colour=red&sort=name", ws.read);
    ck_assert_status(r, 422);
    json_t *errs = json_object_get(r->json, "errors");
    ck_assert_int_eq(json_array_size(errs), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(errs, 0), "field")), "colour");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(errs, 1), "field")), "sort");
    api_resp_free(r);
    r = api_get("/v1/deals?limit=5&stage=proposal", ws.read); /* declared ones still work */
    ck_assert_status(r, 200);
    api_resp_free(r);

    int checked = 0;
    for (size_t i = 0; i < routes_count; i++) {
        char path[300];
        size_t n = 0;
        for (const char *p = routes[i].pattern; *p && n + 40 < sizeof path;) {
            if (*p == '{') { /* any id: the check comes before the handler looks */
                n += (size_t)snprintf(path + n, sizeof path - n, "00000000-0000-0000-0000-000000000001");
                p = strchr(p, '}') + 1;
            } else {
                path[n++] = *p++;
            }
        }
        snprintf(path + n, sizeof path - n, "?zz_not_a_param=1");
        const char *m = routes[i].method;
        bool body = strcmp(m, "GET") != 0 && strcmp(m, "DELETE") != 0;
        r = api_req(m, path, ws.admin, body ? "application/json" : NULL, body ? "{}" : NULL, body ? 2 : 0, NULL);
        if (routes[i].flags & ROUTE_ANY_QUERY) { /* a CRM's own target URL: its query is signed, not judged */
            ck_assert_msg(r->status != 422, "%s %s -> 422: %.300s", m, path, r->body);
            api_resp_free(r);
            checked++;
            continue;
        }
        ck_assert_msg(r->status == 422, "%s %s -> %ld, want 422: %.300s", m, path, r->status, r->body);
        e0 = json_array_get(json_object_get(r->json, "errors"), 0);
        ck_assert_str_eq(json_string_value(json_object_get(e0, "field")), "zz_not_a_param");
        api_resp_free(r);
        checked++;
    }
    ck_assert_int_eq(checked, (int)routes_count);
}
END_TEST

/* Oversized requests get problems too, not the HTTP library's HTML. */
START_TEST(oversized_requests_are_problems)
{
    char *path = malloc(20 * 1024 + 32);
    int n = snprintf(path, 32, "/v1/deals/");
    memset(path + n, 'u', 20 * 1024);
    path[n + 20 * 1024] = '\0';
    api_resp *r = api_get(path, ws.read);
    free(path);
    ck_assert_ptr_nonnull(strstr(r->content_type, "application/problem+json"));
    expect_problem(r, 414, "/problems/uri-too-long");
    char *big = malloc(64 * 1024 + 16);
    n = snprintf(big, 16, "X-Big: ");
    memset(big + n, 'a', 64 * 1000);
    big[n + 64 * 1000] = '\0';
    const char *hdr[] = {big, NULL};
    r = api_req("GET", "/v1/workspace", ws.read, NULL, NULL, 0, hdr);
    free(big);
    expect_problem(r, 431, "/problems/headers-too-large");
    r = api_get("/v1/workspace", ws.read); /* the limits leave ordinary requests alone */
    ck_assert_status(r, 200);
    api_resp_free(r);
}
END_TEST

/* The smaller HTTP promises: a 304's Content-Length is the 200's, answers
 * that depend on Accept say so, CORS exposes every header a client reads,
 * a replayed create keeps its Location, a UTF-8 BOM is skipped. */
START_TEST(http_details)
{
    api_resp *r = api_get("/v1/funnels", ws.read);
    ck_assert_status(r, 200);
    char fpath[128];
    snprintf(fpath, sizeof fpath, "/v1/funnels/%s",
             json_string_value(json_object_get(json_array_get(json_object_get(r->json, "items"), 0), "id")));
    api_resp_free(r);
    r = api_get(fpath, ws.read);
    ck_assert_status(r, 200);
    char etag[128], inm[160], len200[32];
    snprintf(etag, sizeof etag, "%s", r->etag);
    snprintf(len200, sizeof len200, "%zu", r->len);
    ck_assert(vary_names(r, "Accept"));
    api_resp_free(r);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    const char *cond[] = {inm, NULL};
    r = api_req("GET", fpath, ws.read, NULL, NULL, 0, cond);
    ck_assert_status(r, 304);
    ck_assert_msg(strcmp(r->content_length, len200) == 0, "304 Content-Length '%s', the 200 had %s bytes",
                  r->content_length, len200);
    ck_assert(vary_names(r, "Accept"));
    ck_assert_uint_eq(r->len, 0);
    api_resp_free(r);
    const char *yaml[] = {"Accept: application/yaml", NULL};
    r = api_req("GET", fpath, ws.read, NULL, NULL, 0, yaml);
    ck_assert_status(r, 200);
    ck_assert_ptr_nonnull(strstr(r->content_type, "yaml"));
    ck_assert(vary_names(r, "Accept"));
    api_resp_free(r);
    r = api_get("/v1/workspace", ws.read); /* one representation: no Vary: Accept */
    ck_assert(!vary_names(r, "Accept"));
    api_resp_free(r);

    const char *origin[] = {"Origin: https://app.example.com", NULL};
    r = api_req("GET", "/v1/workspace", ws.read, NULL, NULL, 0, origin);
    const char *want[] = {"X-Request-Id", "ETag", "Location", "Retry-After", "Idempotent-Replayed"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(r->cors_expose, want[i]), "Access-Control-Expose-Headers '%s' lacks %s", r->cors_expose,
                      want[i]);
    api_resp_free(r);

    const char *idem[] = {"Idempotency-Key: replay-location-1", NULL};
    const char *body = "{\"label\":\"replay\"}";
    r = api_req("POST", "/v1/snapshots", ws.write, "application/json", body, strlen(body), idem);
    ck_assert_status(r, 201);
    char loc[256];
    snprintf(loc, sizeof loc, "%s", r->location);
    ck_assert_msg(strncmp(loc, "/v1/snapshots/", 14) == 0, "Location '%s'", loc);
    api_resp_free(r);
    r = api_req("POST", "/v1/snapshots", ws.write, "application/json", body, strlen(body), idem);
    ck_assert_status(r, 201);
    ck_assert_str_eq(r->replayed, "true");
    ck_assert_str_eq(r->location, loc);
    api_resp_free(r);

    const char bom[] = "\xEF\xBB\xBF{\"name\":\"bom workspace\"}";
    r = api_req("PATCH", "/v1/workspace", ws.admin, "application/json", bom, sizeof bom - 1, NULL);
    ck_assert_status(r, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "name")), "bom workspace");
    api_resp_free(r);
    const char bom_only[] = "\xEF\xBB\xBF";
    r = api_req("PATCH", "/v1/workspace", ws.admin, "application/json", bom_only, 3, NULL);
    ck_assert_status(r, 400);
    api_resp_free(r);
}
END_TEST

START_TEST(cors)
{
    const char *pre[] = {"Origin: https://app.example.com", "Access-Control-Request-Method: PATCH", NULL};
    api_resp *r = api_req("OPTIONS", "/v1/workspace", NULL, NULL, NULL, 0, pre);
    ck_assert_status(r, 204);
    ck_assert_str_eq(r->cors_origin, "https://app.example.com");
    api_resp_free(r);
    const char *evil[] = {"Origin: https://evil.example.net", NULL};
    r = api_req("GET", "/v1/workspace", ws.read, NULL, NULL, 0, evil);
    ck_assert_status(r, 200);
    ck_assert_str_eq(r->cors_origin, "");
    api_resp_free(r);
    const char *good[] = {"Origin: https://app.example.com", NULL};
    r = api_req("GET", "/v1/workspace", ws.read, NULL, NULL, 0, good);
    ck_assert_str_eq(r->cors_origin, "https://app.example.com");
    api_resp_free(r);
}
END_TEST

/* Raw bytes a client library would never send. */
static int raw_exchange(const char *req, size_t len, char *out, size_t outlen)
{
    const char *base = api_base();
    int port = atoi(strrchr(base, ':') + 1);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {3, 0}; /* a request the server is still waiting on must not hang the test */
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        close(s);
        return -1;
    }
    if (write(s, req, len) != (ssize_t)len) {
        close(s);
        return -1;
    }
    shutdown(s, SHUT_WR);
    size_t n = 0;
    ssize_t k;
    while (n < outlen - 1 && (k = read(s, out + n, outlen - 1 - n)) > 0)
        n += (size_t)k;
    out[n] = '\0';
    close(s);
    return (int)n;
}

START_TEST(garbage_on_the_wire)
{
    char out[4096];
    const char *reqs[] = {
        "GARBAGE\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\nConnection: close\r\n\r\n",
        "POST /v1/keys HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\nConnection: close\r\n\r\n",
        "GET /\x01\x02\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        raw_exchange(reqs[i], strlen(reqs[i]), out, sizeof out);
        ck_assert_msg(strstr(out, " 500 ") == NULL, "request %zu got a 500: %s", i, out);
    }
    api_resp *r = api_get("/healthz", NULL);
    ck_assert_status(r, 200);
    api_resp_free(r);
}
END_TEST

/* ---- input rules (issue 22) ---------------------------------------------- */

static void put_ok(const char *path, const char *key, const char *body)
{
    api_resp *r = api_send_json("PUT", path, key, body);
    ck_assert_msg(r->status == 200 || r->status == 201, "PUT %s: %ld %s", path, r->status, r->body);
    api_resp_free(r);
}

START_TEST(control_characters_in_ids_are_refused)
{
    /* a %00 used to cut the id: PUT .../victim%00-other overwrote "victim" */
    put_ok("/v1/deals/victim", ws.write, "{\"name\":\"Victim\",\"stage\":\"opportunity\",\"amount\":100}");
    put_ok("/v1/accounts/victim", ws.write, "{\"name\":\"Victim Inc\"}");
    put_ok("/v1/reps/victim", ws.write, "{\"name\":\"Vic Tim\"}");
    const char *colls[] = {"deals", "accounts", "reps", "subscriptions"};
    const char *suffixes[] = {"%00-other", "%00", "%0Aother", "%0D%0Ainjected", "%7F", "%1F", "%09x"};
    for (size_t c = 0; c < sizeof colls / sizeof *colls; c++)
        for (size_t k = 0; k < sizeof suffixes / sizeof *suffixes; k++) {
            char path[128];
            snprintf(path, sizeof path, "/v1/%s/victim%s", colls[c], suffixes[k]);
            expect_problem(api_send_json("PUT", path, ws.write,
                                         "{\"name\":\"Evil\",\"stage\":\"closed_lost\",\"amount\":1,\"mrr\":1}"),
                           400, "/problems/bad-request");
            if (strcmp(colls[c], "subscriptions") != 0) {
                expect_problem(api_req("DELETE", path, ws.admin, NULL, NULL, 0, NULL), 400, "/problems/bad-request");
                expect_problem(api_get(path, ws.read), 400, "/problems/bad-request");
            }
        }
    api_resp *r = api_get("/v1/deals/victim", ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "name")), "Victim");
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "stage")), "opportunity");
    api_resp_free(r);
    r = api_get("/v1/accounts/victim", ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "name")), "Victim Inc");
    api_resp_free(r);
    r = api_get("/v1/reps/victim", ws.read);
    ck_assert_status(r, 200);
    api_resp_free(r);

    /* every route with a path parameter, whatever the method and role */
    for (size_t i = 0; i < routes_count; i++) {
        if (!strchr(routes[i].pattern, '{'))
            continue;
        char path[256];
        size_t n = 0;
        for (const char *p = routes[i].pattern; *p && n + 16 < sizeof path;) {
            if (*p == '{') {
                n += (size_t)snprintf(path + n, sizeof path - n, "a%%00b");
                p = strchr(p, '}') + 1;
            } else {
                path[n++] = *p++;
            }
        }
        path[n] = '\0';
        bool body = strcmp(routes[i].method, "GET") != 0 && strcmp(routes[i].method, "DELETE") != 0;
        api_resp *x = api_req(routes[i].method, path, ws.admin, body ? "application/json" : NULL, body ? "{}" : NULL,
                              body ? 2 : 0, NULL);
        ck_assert_msg(x->status == 400, "%s %s: %ld %s", routes[i].method, path, x->status, x->body);
        api_resp_free(x);
    }
    /* query values too */
    expect_problem(api_get("/v1/deals?cursor=a%00b", ws.read), 422, "/problems/validation-error");

    /* batch ids: rejected one by one, the rest applied */
    r = api_send_json("POST", "/v1/deals/batch", ws.write,
                      "{\"items\":[{\"id\":\"ok-1\",\"name\":\"A\",\"stage\":\"opportunity\",\"amount\":5},"
                      "{\"id\":\"bad\\nid\",\"name\":\"B\",\"stage\":\"opportunity\",\"amount\":5},"
                      "{\"id\":\"bad\\u007fid\",\"name\":\"C\",\"stage\":\"opportunity\",\"amount\":5}]}");
    ck_assert_msg(r->status < 300, "batch: %ld %s", r->status, r->body);
    json_t *res = json_object_get(r->json, "results");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(res, 0), "status")), "created");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(res, 1), "status")), "rejected");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(res, 2), "status")), "rejected");
    api_resp_free(r);
}
END_TEST

static void utc_stamp(long long offset_s, char *out, size_t len)
{
    time_t t = time(NULL) + (time_t)offset_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

START_TEST(event_times_from_the_future_are_refused)
{
    put_ok("/v1/deals/clock", ws.write, "{\"name\":\"Clock\",\"stage\":\"opportunity\",\"amount\":100}");
    api_resp *r = api_send_json("PUT", "/v1/deals/clock", ws.write,
                                "{\"stage\":\"proposal\",\"as_of\":\"9999-12-31T23:59:59Z\"}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(r->json, "errors"), 0), "field")),
                     "as_of");
    api_resp_free(r);
    char body[256], ts[32];
    utc_stamp(3600, ts, sizeof ts); /* an hour ahead: beyond the 5-minute skew */
    snprintf(body, sizeof body, "{\"stage\":\"proposal\",\"as_of\":\"%s\"}", ts);
    expect_problem(api_send_json("PUT", "/v1/deals/clock", ws.write, body), 422, "/problems/validation-error");
    /* with an offset: 23:00-02:00 is 01:00Z the next day */
    utc_stamp(2 * 3600, ts, sizeof ts);
    ts[19] = '\0';
    snprintf(body, sizeof body, "{\"stage\":\"proposal\",\"as_of\":\"%s-01:00\"}", ts);
    expect_problem(api_send_json("PUT", "/v1/deals/clock", ws.write, body), 422, "/problems/validation-error");
    utc_stamp(60, ts, sizeof ts); /* a minute ahead: a clock off by that much is tolerated */
    snprintf(body, sizeof body, "{\"stage\":\"proposal\",\"as_of\":\"%s\"}", ts);
    put_ok("/v1/deals/clock", ws.write, body);
    /* and a later plain PUT still applies (a far-future stamp used to freeze the deal) */
    put_ok("/v1/deals/clock", ws.write, "{\"name\":\"Clock 2\"}");
    r = api_get("/v1/deals/clock", ws.read);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "name")), "Clock 2");
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "stage")), "proposal");
    api_resp_free(r);
    /* an import refuses a future stage date per row, and a future as_of for the whole file */
    r = api_send_json("POST", "/v1/imports", ws.write,
                      "{\"object\":\"deals\",\"format\":\"csv\",\"mapping\":{\"won_at\":\"stage_date.proposal\"},"
                      "\"data\":\"id,name,stage,amount,won_at\\nimp-late,L,proposal,1,2999-01-01\\nimp-ok,K,proposal,1,"
                      "2020-01-01\\n\"}");
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "rejected")), 1);
    ck_assert_msg(strstr(r->body, "in the future") != NULL, "%s", r->body);
    api_resp_free(r);
    expect_problem(api_send_json("POST", "/v1/imports", ws.write,
                                 "{\"object\":\"deals\",\"format\":\"csv\",\"as_of\":\"9999-12-31T00:00:00Z\","
                                 "\"data\":\"id,name,stage,amount\\nimp-2,L,proposal,1\\n\"}"),
                   422, "/problems/validation-error");
    /* a batch refuses per item */
    r = api_send_json("POST", "/v1/deals/batch", ws.write,
                      "{\"items\":[{\"id\":\"b-ok\",\"name\":\"A\",\"stage\":\"opportunity\",\"amount\":5},"
                      "{\"id\":\"b-late\",\"name\":\"B\",\"stage\":\"opportunity\",\"amount\":5,"
                      "\"as_of\":\"9999-12-31T23:59:59Z\"}]}");
    ck_assert_msg(r->status < 300, "batch: %ld %s", r->status, r->body);
    json_t *res = json_object_get(r->json, "results");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(res, 0), "status")), "created");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(res, 1), "status")), "rejected");
    api_resp_free(r);

    /* a webhook event from the future: rejected with its reason, the deal not frozen (sync: the
     * event's outcome is read from the answer, which an async endpoint does not give) */
    r = api_send_json("POST", "/v1/webhook-endpoints", ws.admin,
                      "{\"source\":\"pipedrive\",\"apply_mode\":\"sync\",\"stage_map\":{\"1\":\"proposal\"},"
                      "\"basic_auth\":{\"username\":\"u\",\"password\":\"p\"}}");
    ck_assert_status(r, 201);
    char path[128];
    snprintf(path, sizeof path, "/v1/hooks/%s", json_string_value(json_object_get(r->json, "id")));
    api_resp_free(r);
    const char *hdr[] = {"Authorization: Basic dTpw", NULL};
    const char *late = "{\"meta\":{\"action\":\"change\",\"entity\":\"deal\",\"entity_id\":\"77\",\"id\":\"ev-late\","
                       "\"timestamp\":\"9999-12-31T23:59:59Z\"},\"data\":{\"id\":77,\"title\":\"Frozen\"}}";
    r = api_req("POST", path, NULL, "application/json", late, strlen(late), hdr);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r->json, "counts"), "rejected")), 1);
    const char *detail =
        json_string_value(json_object_get(json_array_get(json_object_get(r->json, "events"), 0), "detail"));
    ck_assert_msg(detail && strstr(detail, "future"), "detail: %s", detail ? detail : "(none)");
    api_resp_free(r);
    utc_stamp(-60, ts, sizeof ts);
    snprintf(body, sizeof body,
             "{\"meta\":{\"action\":\"change\",\"entity\":\"deal\",\"entity_id\":\"77\",\"id\":\"ev-now\","
             "\"timestamp\":\"%s\"},\"data\":{\"id\":77,\"title\":\"Thawed\",\"stage_id\":1}}",
             ts);
    r = api_req("POST", path, NULL, "application/json", body, strlen(body), hdr);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r->json, "counts"), "applied")), 1);
    api_resp_free(r);
    r = api_get("/v1/deals/77", ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "name")), "Thawed");
    api_resp_free(r);
}
END_TEST

START_TEST(money_is_exact_whatever_its_size)
{
    /* the tolerance used to be relative: 12345.678 was stored as 12345.68 */
    const char *bad[] = {"99.999",
                         "12345.678",
                         "99999999.999",
                         "123456789012.345",
                         "0.001",
                         "1e-400",
                         "-1e-400",
                         "1.0000001",
                         "10000000000000.01",
                         "1e16",
                         "123456789012345678901234567890"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"name\":\"M\",\"stage\":\"opportunity\",\"amount\":%s}", bad[i]);
        api_resp *r = api_send_json("PUT", "/v1/deals/money", ws.write, body);
        ck_assert_msg(r->status == 422 || r->status == 400, "amount %s: %ld %s", bad[i], r->status, r->body);
        api_resp_free(r);
    }
    api_resp *r = api_get("/v1/deals/money", ws.read); /* nothing was stored */
    ck_assert_status(r, 404);
    api_resp_free(r);
    const char *good[] = {"12345.67", "99999999.99", "0.1", "1e3", "1.50", "9999999999999.99"};
    const char *want[] = {"12345.67", "99999999.99", "0.1", "1000", "1.5", "9999999999999.99"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char body[256];
        snprintf(body, sizeof body, "{\"name\":\"M\",\"stage\":\"opportunity\",\"amount\":%s}", good[i]);
        put_ok("/v1/deals/money", ws.write, body);
        r = api_get("/v1/deals/money", ws.read);
        char got[64];
        snprintf(got, sizeof got, "%.15g", json_number_value(json_object_get(r->json, "amount")));
        ck_assert_msg(strcmp(got, want[i]) == 0, "amount %s read back as %s", good[i], got);
        api_resp_free(r);
    }
    /* a quota map and an import row follow the same rule */
    expect_problem(
        api_send_json("PUT", "/v1/reps/money", ws.write, "{\"name\":\"R\",\"quotas\":{\"2026-Q1\":250000.005}}"), 422,
        "/problems/validation-error");
}
END_TEST

START_TEST(plan_fiscal_year_is_a_whole_year)
{
    const char *bad[] = {"\"2026xyz\"", "\"2026-Q5\"", "\"20266\"", "\"FY2026x\"", "\" 2026\"", "\"\"", "1800"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char body[1024];
        snprintf(body, sizeof body,
                 "{\"name\":\"fy\",\"scenarios\":[\"base\"],\"plan\":{\"fiscal_year\":%s,"
                 "\"targets\":{\"new_business\":100000},\"assumptions\":{\"avg_new_deal_size\":10000,"
                 "\"new_win_rate\":0.2,\"sql_to_opp_rate\":0.5,\"mql_to_sql_rate\":0.25},"
                 "\"capacity\":{\"quota_per_ae\":500000,\"expected_attainment\":0.7}}}",
                 bad[i]);
        api_resp *r = api_send_json("POST", "/v1/scenarios", ws.write, body);
        ck_assert_msg(r->status == 422, "fiscal_year %s: %ld %s", bad[i], r->status, r->body);
        ck_assert_msg(strstr(r->body, "plan.fiscal_year") != NULL, "fiscal_year %s: %s", bad[i], r->body);
        api_resp_free(r);
    }
    const char *good[] = {"\"2026\"", "\"FY2027\"", "2028"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char body[1024];
        snprintf(body, sizeof body,
                 "{\"name\":\"fy\",\"scenarios\":[\"base\"],\"plan\":{\"fiscal_year\":%s,"
                 "\"targets\":{\"new_business\":100000},\"assumptions\":{\"avg_new_deal_size\":10000,"
                 "\"new_win_rate\":0.2,\"sql_to_opp_rate\":0.5,\"mql_to_sql_rate\":0.25},"
                 "\"capacity\":{\"quota_per_ae\":500000,\"expected_attainment\":0.7}}}",
                 good[i]);
        api_resp *r = api_send_json("POST", "/v1/scenarios", ws.write, body);
        ck_assert_msg(r->status == 201, "fiscal_year %s: %ld %s", good[i], r->status, r->body);
        api_resp_free(r);
    }
}
END_TEST

START_TEST(charsets_other_than_utf8_are_415)
{
    const char *body = "{\"currency\":\"EUR\"}";
    const char *bad[] = {"application/json; charset=latin1", "application/json;charset=ISO-8859-1",
                         "application/json; charset=\"utf-16\"", "application/json; foo=bar; charset=windows-1252"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_problem(api_req("PATCH", "/v1/workspace", ws.admin, bad[i], body, strlen(body), NULL), 415,
                       "/problems/unsupported-media-type");
    const char *good[] = {"application/json; charset=UTF-8", "application/json;charset=\"utf-8\"",
                          "application/json; charset=utf8"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        api_resp *r = api_req("PATCH", "/v1/workspace", ws.admin, good[i], body, strlen(body), NULL);
        ck_assert_msg(r->status == 200, "%s: %ld %s", good[i], r->status, r->body);
        api_resp_free(r);
    }
    /* a CSV import in latin1 is not read as UTF-8 either */
    const char *csv = "id,name\nx,Caf\xe9\n";
    expect_problem(
        api_req("POST", "/v1/imports?object=accounts", ws.write, "text/csv; charset=latin1", csv, strlen(csv), NULL),
        415, "/problems/unsupported-media-type");
    /* the webhook receiver checks the Content-Type before anything else */
    api_resp *r = api_send_json("POST", "/v1/webhook-endpoints", ws.admin,
                                "{\"source\":\"pipedrive\",\"basic_auth\":{\"username\":\"u\",\"password\":\"p\"}}");
    ck_assert_status(r, 201);
    char path[128];
    snprintf(path, sizeof path, "/v1/hooks/%s", json_string_value(json_object_get(r->json, "id")));
    api_resp_free(r);
    const char *hdr[] = {"Authorization: Basic dTpw", NULL};
    const char *ev = "{\"meta\":{\"action\":\"change\",\"entity\":\"deal\",\"entity_id\":\"5\",\"id\":\"ct-1\","
                     "\"timestamp\":\"2026-01-01T00:00:00Z\"},\"data\":{\"id\":5,\"title\":\"CT\"}}";
    expect_problem(api_req("POST", path, NULL, "text/plain", ev, strlen(ev), hdr), 415,
                   "/problems/unsupported-media-type");
    expect_problem(api_req("POST", path, NULL, NULL, ev, strlen(ev), hdr), 415, "/problems/unsupported-media-type");
    expect_problem(api_req("POST", path, NULL, "application/json; charset=latin1", ev, strlen(ev), hdr), 415,
                   "/problems/unsupported-media-type");
    r = api_req("POST", path, NULL, "application/json; charset=utf-8", ev, strlen(ev), hdr);
    ck_assert_status(r, 200);
    api_resp_free(r);
}
END_TEST

/* Send only the request line and headers (the body is announced, never
 * sent) and read what comes back within 2 s. */
static int headers_only(const char *req, char *out, size_t outlen)
{
    const char *base = api_base();
    int port = atoi(strrchr(base, ':') + 1);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {2, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0 || write(s, req, strlen(req)) != (ssize_t)strlen(req)) {
        close(s);
        return -1;
    }
    ssize_t k = read(s, out, outlen - 1);
    out[k > 0 ? k : 0] = '\0';
    close(s);
    return (int)k;
}

START_TEST(keys_are_checked_before_the_body_is_read)
{
    /* 30 unauthenticated 60 MB uploads used to be buffered whole before the 401 */
    char req[512], out[2048];
    snprintf(req, sizeof req,
             "POST /v1/imports?object=deals HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
             "Content-Length: 60000000\r\n\r\n");
    ck_assert_int_gt(headers_only(req, out, sizeof out), 0);
    ck_assert_msg(strncmp(out, "HTTP/1.1 401", 12) == 0, "no key: %.200s", out);
    snprintf(req, sizeof req,
             "POST /v1/imports?object=deals HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
             "Authorization: Bearer rk_not_a_key\r\nTransfer-Encoding: chunked\r\n\r\n");
    ck_assert_int_gt(headers_only(req, out, sizeof out), 0);
    ck_assert_msg(strncmp(out, "HTTP/1.1 401", 12) == 0, "a wrong key: %.200s", out);
    snprintf(req, sizeof req,
             "POST /v1/imports?object=deals HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
             "Authorization: Bearer %s\r\nContent-Length: 60000000\r\n\r\n",
             ws.read);
    ck_assert_int_gt(headers_only(req, out, sizeof out), 0);
    ck_assert_msg(strncmp(out, "HTTP/1.1 403", 12) == 0, "a read key on a write route: %.200s", out);
    /* a key that may write: the server waits for the body (nothing within 2 s) */
    snprintf(req, sizeof req,
             "POST /v1/imports?object=deals HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
             "Authorization: Bearer %s\r\nContent-Length: 100\r\n\r\n",
             ws.write);
    ck_assert_int_le(headers_only(req, out, sizeof out), 0);
    /* and an ordinary authenticated upload still works */
    const char *csv = "id,name,stage,amount\nk1,K,sql,1\n";
    api_resp *r = api_req("POST", "/v1/imports?object=deals", ws.write, "text/csv", csv, strlen(csv), NULL);
    ck_assert_status(r, 200);
    api_resp_free(r);
}
END_TEST

START_TEST(imports_stop_at_the_row_limit)
{
    size_t rows = 20001, cap = 32 + rows * 16;
    char *csv = malloc(cap);
    size_t n = (size_t)snprintf(csv, cap, "id,name,stage,amount\n");
    for (size_t i = 0; i < rows; i++)
        n += (size_t)snprintf(csv + n, cap - n, "r%zu,R,sql,1\n", i);
    api_resp *r = api_req("POST", "/v1/imports?object=deals", ws.write, "text/csv", csv, n, NULL);
    ck_assert_status(r, 422);
    ck_assert_msg(strstr(r->body, "more than 20000 rows") != NULL, "%s", r->body);
    api_resp_free(r);
    /* NDJSON too */
    free(csv);
    char *nd = malloc(rows * 64);
    n = 0;
    for (size_t i = 0; i < rows; i++)
        n += (size_t)snprintf(nd + n, rows * 64 - n, "{\"id\":\"n%zu\",\"name\":\"N\",\"stage\":\"sql\"}\n", i);
    r = api_req("POST", "/v1/imports?object=deals", ws.write, "application/x-ndjson", nd, n, NULL);
    ck_assert_status(r, 422);
    ck_assert_msg(strstr(r->body, "more than 20000 rows") != NULL, "%s", r->body);
    api_resp_free(r);
    free(nd);
    r = api_get("/v1/deals?limit=1", ws.read); /* nothing was stored */
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    api_resp_free(r);
}
END_TEST

START_TEST(inline_territory_plans_are_bounded)
{
    /* one account over the documented 200,000: a 422 naming the field,
     * before any account is balanced or stored */
    size_t n_acc = 200001, cap = 64 + n_acc * 40;
    char *body = malloc(cap);
    ck_assert_ptr_nonnull(body);
    size_t n = (size_t)snprintf(body, cap, "{\"name\":\"too many\",\"territories\":4,\"accounts\":[");
    for (size_t i = 0; i < n_acc; i++)
        n += (size_t)snprintf(body + n, cap - n, "%s{\"id\":\"a%zu\",\"potential\":1}", i ? "," : "", i);
    n += (size_t)snprintf(body + n, cap - n, "]}");
    api_resp *r = api_req("POST", "/v1/territory-plans", ws.write, "application/json", body, n, NULL);
    free(body);
    ck_assert_status(r, 422);
    ck_assert_msg(strstr(r->body, "/problems/validation-error") && strstr(r->body, "1 to 200000 accounts"), "%s",
                  r->body);
    api_resp_free(r);
    r = api_get("/v1/territory-plans", ws.read); /* nothing was stored */
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    api_resp_free(r);
}
END_TEST

START_TEST(a_write_elsewhere_keeps_this_workspaces_cache)
{
    api_ws other;
    api_new_workspace(&other);
    put_ok("/v1/deals/cached", ws.write,
           "{\"name\":\"Cached\",\"stage\":\"opportunity\",\"amount\":1000,\"expected_close_date\":\"2099-01-01\"}");
    char day[11], path[64];
    snprintf(path, sizeof path, "/v1/dashboard?period=%s", api_quarter_of_day(0, day));
    api_resp *before = api_get(path, ws.read);
    ck_assert_status(before, 200);
    /* change the data behind the API's back: only a cached answer still shows the old amount */
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "psql '%s' -qtAc \"UPDATE deals SET amount_cents = 777700, expected_close_date = CURRENT_DATE "
             "WHERE workspace_id = '%s' AND external_id = 'cached'\" 2>&1",
             api_db_url(), ws.id);
    ck_assert_int_eq(api_run(cmd, NULL, 0), 0);
    put_ok("/v1/deals/elsewhere", other.write, "{\"name\":\"Elsewhere\",\"stage\":\"opportunity\",\"amount\":5}");
    api_resp *kept = api_get(path, ws.read);
    ck_assert_status(kept, 200);
    ck_assert_msg(strcmp(kept->body, before->body) == 0, "a write to another workspace dropped this one's cache");
    /* a write to this workspace does drop it */
    put_ok("/v1/deals/cached-2", ws.write, "{\"name\":\"Two\",\"stage\":\"opportunity\",\"amount\":1}");
    api_resp *after = api_get(path, ws.read);
    ck_assert_status(after, 200);
    ck_assert_msg(strcmp(after->body, before->body) != 0, "this workspace's write did not refresh its dashboard");
    api_resp_free(before);
    api_resp_free(kept);
    api_resp_free(after);
}
END_TEST

Suite *robustness_suite(void)
{
    Suite *s = suite_create("robustness");
    TCase *tc = tcase_create("bad-input");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, malformed_json);
    tcase_add_test(tc, invalid_utf8_and_nul);
    tcase_add_test(tc, absurd_nesting);
    tcase_add_test(tc, wrong_content_type);
    tcase_add_test(tc, body_over_limit);
    tcase_add_test(tc, hostile_ids_and_query_parameters);
    tcase_add_test(tc, unknown_paths_and_methods);
    tcase_add_test(tc, literal_paths_are_not_ids);
    tcase_add_test(tc, unknown_query_parameters_are_refused);
    tcase_add_test(tc, oversized_requests_are_problems);
    tcase_add_test(tc, http_details);
    tcase_add_test(tc, cors);
    tcase_add_test(tc, garbage_on_the_wire);
    tcase_add_test(tc, control_characters_in_ids_are_refused);
    tcase_add_test(tc, event_times_from_the_future_are_refused);
    tcase_add_test(tc, money_is_exact_whatever_its_size);
    tcase_add_test(tc, plan_fiscal_year_is_a_whole_year);
    tcase_add_test(tc, charsets_other_than_utf8_are_415);
    tcase_add_test(tc, keys_are_checked_before_the_body_is_read);
    tcase_add_test(tc, inline_territory_plans_are_bounded);
    tcase_add_test(tc, imports_stop_at_the_row_limit);
    tcase_add_test(tc, a_write_elsewhere_keeps_this_workspaces_cache);
    suite_add_tcase(s, tc);
    return s;
}

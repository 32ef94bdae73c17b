/* test_foundation.c - health, metrics, workspace settings, keys, roles, isolation. */
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "api.h"
#include "routes.h"

START_TEST(health_and_request_id)
{
    api_resp *r = api_get("/healthz", NULL);
    ck_assert_status(r, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "status")), "ok");
    ck_assert_int_eq(strlen(r->request_id), 32);
    api_resp_free(r);

    const char *mine[] = {"X-Request-Id: trace-abc.123_x", NULL};
    r = api_req("GET", "/healthz", NULL, NULL, NULL, 0, mine);
    ck_assert_str_eq(r->request_id, "trace-abc.123_x");
    api_resp_free(r);

    const char *bad[] = {"X-Request-Id: has spaces and \"quotes\"", NULL};
    r = api_req("GET", "/healthz", NULL, NULL, NULL, 0, bad);
    ck_assert_int_eq(strlen(r->request_id), 32); /* replaced, not echoed */
    api_resp_free(r);

    r = api_get("/readyz", NULL);
    ck_assert_status(r, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "database")), "ok");
    api_resp_free(r);
}
END_TEST

START_TEST(metrics_exposition)
{
    api_resp *r = api_get("/healthz", NULL);
    api_resp_free(r);
    r = api_get("/metrics", NULL);
    ck_assert_status(r, 200);
    ck_assert_ptr_nonnull(strstr(r->content_type, "text/plain"));
    ck_assert_ptr_nonnull(strstr(r->body, "revops_http_requests_total{route=\"GET /healthz\",status=\"200\"}"));
    ck_assert_ptr_nonnull(
        strstr(r->body, "revops_http_request_duration_seconds_bucket{route=\"GET /healthz\",le=\"+Inf\"}"));
    ck_assert_ptr_nonnull(strstr(r->body, "revops_db_pool_in_use "));
    ck_assert_ptr_nonnull(strstr(r->body, "revops_webhook_events_total{source=\"hubspot\",outcome=\"accepted\"}"));
    api_resp_free(r);
}
END_TEST

START_TEST(workspace_get_and_patch)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_get("/v1/workspace", ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "name")), ws.name);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "currency")), "USD");
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "fiscal_year_start_month")), 1);
    api_resp_free(r);

    r = api_send_json("PATCH", "/v1/workspace", ws.admin,
                      "{\"currency\":\"EUR\",\"fiscal_year_start_month\":2,\"timezone\":\"Europe/Berlin\"}");
    ck_assert_status(r, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "currency")), "EUR");
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "fiscal_year_start_month")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "timezone")), "Europe/Berlin");
    api_resp_free(r);

    r = api_get("/v1/workspace", ws.read); /* durable, not just echoed */
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "currency")), "EUR");
    api_resp_free(r);
}
END_TEST

START_TEST(workspace_patch_validation_lists_every_field)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_send_json("PATCH", "/v1/workspace", ws.admin,
                                "{\"name\":5,\"currency\":\"usd\",\"fiscal_year_start_month\":13,\"bogus\":1}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "type")), "/problems/validation-error");
    json_t *errs = json_object_get(r->json, "errors");
    ck_assert_int_eq(json_array_size(errs), 4);
    const char *want[] = {"bogus", "name", "currency", "fiscal_year_start_month"};
    for (int i = 0; i < 4; i++) {
        int seen = 0;
        size_t k;
        json_t *e;
        json_array_foreach(errs, k, e) seen += strcmp(json_string_value(json_object_get(e, "field")), want[i]) == 0;
        ck_assert_msg(seen == 1, "field %s not reported once", want[i]);
    }
    api_resp_free(r);

    r = api_send_json("PATCH", "/v1/workspace", ws.admin, "{\"timezone\":\"Mars/Olympus_Mons\"}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(r->json, "errors"), 0), "field")),
                     "timezone");
    api_resp_free(r);

    api_ws other;
    api_new_workspace(&other);
    char body[160];
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", other.name);
    r = api_send_json("PATCH", "/v1/workspace", ws.admin, body);
    ck_assert_status(r, 409);
    api_resp_free(r);
}
END_TEST

START_TEST(roles_are_enforced)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_send_json("PATCH", "/v1/workspace", ws.write, "{\"currency\":\"GBP\"}");
    ck_assert_status(r, 403);
    api_resp_free(r);
    r = api_send_json("PATCH", "/v1/workspace", ws.read, "{\"currency\":\"GBP\"}");
    ck_assert_status(r, 403);
    api_resp_free(r);
    r = api_get("/v1/keys", ws.write);
    ck_assert_status(r, 403);
    api_resp_free(r);
    r = api_get("/v1/workspace", NULL);
    ck_assert_status(r, 401);
    ck_assert_str_eq(r->www_authenticate, "Bearer");
    api_resp_free(r);
    r = api_get("/v1/workspace", "rvk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    ck_assert_status(r, 401);
    api_resp_free(r);
    r = api_get("/v1/workspace", "not-a-key' OR '1'='1");
    ck_assert_status(r, 401);
    api_resp_free(r);
}
END_TEST

START_TEST(keys_lifecycle_and_pagination)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_send_json("POST", "/v1/keys", ws.admin, "{\"role\":\"read\",\"name\":\"dashboard\"}");
    ck_assert_status(r, 201);
    const char *key = json_string_value(json_object_get(r->json, "key"));
    char id[40], secret[64];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r->json, "id")));
    snprintf(secret, sizeof secret, "%s", key);
    ck_assert_int_eq(strncmp(r->json ? json_string_value(json_object_get(r->json, "prefix")) : "", secret, 12), 0);
    ck_assert_ptr_nonnull(strstr(r->location, id));
    api_resp_free(r);

    /* 4 keys now (admin, write, read, dashboard): walk them 3 + 1 */
    r = api_get("/v1/keys?limit=3", ws.admin);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 3);
    ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(r->json, "items"), 0), "key"));
    char next[80], path[160];
    snprintf(next, sizeof next, "%s", json_string_value(json_object_get(r->json, "next_cursor")));
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/keys?limit=3&cursor=%s", next);
    r = api_get(path, ws.admin);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 1);
    ck_assert(json_is_null(json_object_get(r->json, "next_cursor")));
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(r->json, "items"), 0), "id")),
                     id);
    api_resp_free(r);

    r = api_get("/v1/workspace", secret);
    ck_assert_status(r, 200);
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/keys/%s", id);
    r = api_req("DELETE", path, ws.admin, NULL, NULL, 0, NULL);
    ck_assert_status(r, 204);
    api_resp_free(r);
    r = api_get("/v1/workspace", secret);
    ck_assert_status(r, 401);
    api_resp_free(r);
    r = api_req("DELETE", path, ws.admin, NULL, NULL, 0, NULL);
    ck_assert_status(r, 404);
    api_resp_free(r);
}
END_TEST

static double mono_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1000.0 + (double)t.tv_nsec / 1e6;
}

/* Access lines are buffered per thread (server/log.c): one still reaches the
 * log while the instance idles, a clean stop writes every buffered line, and
 * every line is a whole JSON object, none lost or written twice. */
START_TEST(access_log_buffered_lines_arrive_whole)
{
    int port = api_free_port();
    pid_t other = api_spawn_server(api_db_url(), port, NULL);
    ck_assert(api_wait_healthy(port, 15000));
    char base[64], logpath[512], hdr[96];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    snprintf(logpath, sizeof logpath, "%s/revopsd-%d.log", api_tmpdir(), port);
    snprintf(hdr, sizeof hdr, "X-Request-Id: alone-%d", port);
    const char *h1[] = {hdr, NULL};
    api_resp *r = api_req_at(base, "GET", "/healthz", NULL, NULL, NULL, 0, h1);
    ck_assert_status(r, 200);
    api_resp_free(r);
    char want[64];
    snprintf(want, sizeof want, "\"request_id\":\"alone-%d\"", port);
    bool seen = false;
    for (int waited = 0; !seen && waited < 5000; waited += 20) { /* the flusher's period is 100 ms */
        char *log = api_slurp(logpath);
        seen = log && strstr(log, want);
        free(log);
        if (!seen) {
            struct timespec pause = {0, 20 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    ck_assert_msg(seen, "an idle instance kept its access line in the buffer");
    kill(other, SIGTERM);
    waitpid(other, NULL, 0);
    /* a flush period longer than the test: only full buffers and the stop write */
    port = api_free_port();
    const char *held[] = {"--access-log-flush-ms", "600000", NULL};
    other = api_spawn_server(api_db_url(), port, held);
    ck_assert(api_wait_healthy(port, 15000));
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    snprintf(logpath, sizeof logpath, "%s/revopsd-%d.log", api_tmpdir(), port);
    enum { N = 400 };
    for (int i = 0; i < N; i++) {
        snprintf(hdr, sizeof hdr, "X-Request-Id: burst-%d-%d", port, i);
        r = api_req_at(base, "GET", i % 3 ? "/healthz" : "/v1/no-such-route", NULL, NULL, NULL, 0, h1);
        ck_assert_int_gt(r->status, 0);
        api_resp_free(r);
    }
    kill(other, SIGTERM); /* each thread's last lines are still in its buffer */
    int st = 0;
    waitpid(other, &st, 0);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char *log = api_slurp(logpath);
    ck_assert_ptr_nonnull(log);
    static int count[N];
    memset(count, 0, sizeof count);
    int lines = 0;
    for (char *line = strtok(log, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t e;
        json_t *o = json_loads(line, 0, &e);
        ck_assert_msg(o != NULL, "a log line is not a whole JSON object: %.120s", line);
        const char *id = json_string_value(json_object_get(o, "request_id"));
        int p = 0, k = -1;
        if (id && sscanf(id, "burst-%d-%d", &p, &k) == 2 && p == port && k >= 0 && k < N)
            count[k]++;
        json_decref(o);
        lines++;
    }
    free(log);
    for (int i = 0; i < N; i++)
        ck_assert_msg(count[i] == 1, "request %d of the burst is logged %d times (of %d lines)", i, count[i], lines);
}
END_TEST

/* A key revoked through one instance stops working on another that has it
 * cached within a second (issue 17: the in-process key cache's TTL), and at
 * once on the instance that revoked it. */
START_TEST(revocation_reaches_other_instances_within_a_second)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_send_json("POST", "/v1/keys", ws.admin, "{\"role\":\"read\",\"name\":\"cached\"}");
    ck_assert_status(r, 201);
    char id[40], secret[64];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r->json, "id")));
    snprintf(secret, sizeof secret, "%s", json_string_value(json_object_get(r->json, "key")));
    api_resp_free(r);
    int port = api_free_port();
    const char *args[] = {"--access-log", "0", NULL};
    pid_t other = api_spawn_server(api_db_url(), port, args);
    ck_assert(api_wait_healthy(port, 15000));
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    r = api_req_at(base, "GET", "/v1/workspace", secret, NULL, NULL, 0, NULL); /* now cached there */
    ck_assert_status(r, 200);
    api_resp_free(r);
    char path[128];
    snprintf(path, sizeof path, "/v1/keys/%s", id);
    r = api_req("DELETE", path, ws.admin, NULL, NULL, 0, NULL);
    ck_assert_status(r, 204);
    api_resp_free(r);
    double t0 = mono_now_ms();
    r = api_get("/v1/workspace", secret);
    ck_assert_status(r, 401);
    api_resp_free(r);
    long status = 200;
    double waited = 0;
    while (status == 200 && waited < 3000) {
        r = api_req_at(base, "GET", "/v1/workspace", secret, NULL, NULL, 0, NULL);
        status = r->status;
        api_resp_free(r);
        waited = mono_now_ms() - t0;
        if (status == 200) {
            struct timespec pause = {0, 20 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    kill(other, SIGTERM);
    waitpid(other, NULL, 0);
    ck_assert_int_eq(status, 401);
    ck_assert_msg(waited <= 1100, "the other instance accepted the revoked key for %.0f ms", waited);
}
END_TEST

START_TEST(last_admin_key_cannot_be_revoked)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_get("/v1/keys", ws.admin);
    const char *admin_id = NULL;
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(r->json, "items"), i,
                       k) if (strcmp(json_string_value(json_object_get(k, "role")), "admin") == 0) admin_id =
        json_string_value(json_object_get(k, "id"));
    ck_assert_ptr_nonnull(admin_id);
    char path[128];
    snprintf(path, sizeof path, "/v1/keys/%s", admin_id);
    api_resp_free(r);
    r = api_req("DELETE", path, ws.admin, NULL, NULL, 0, NULL);
    ck_assert_status(r, 409);
    api_resp_free(r);
}
END_TEST

START_TEST(workspaces_are_isolated)
{
    api_ws a, b;
    api_new_workspace(&a);
    api_new_workspace(&b);
    api_resp *r = api_get("/v1/keys", b.admin);
    char bkey[40], path[128];
    snprintf(bkey, sizeof bkey, "%s",
             json_string_value(json_object_get(json_array_get(json_object_get(r->json, "items"), 1), "id")));
    snprintf(path, sizeof path, "/v1/keys/%s", bkey);
    api_resp_free(r);
    r = api_req("DELETE", path, a.admin, NULL, NULL, 0, NULL);
    ck_assert_status(r, 404); /* a foreign id is not found, not forbidden */
    api_resp_free(r);
    r = api_get("/v1/keys", a.admin);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 3);
    api_resp_free(r);
    r = api_get("/v1/workspace", b.write);
    ck_assert_status(r, 200);
    ck_assert_str_eq(json_string_value(json_object_get(r->json, "id")), b.id);
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/keys?cursor=%s", bkey); /* a cursor from another workspace shows nothing of it */
    r = api_get(path, a.admin);
    ck_assert_status(r, 200);
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(r->json, "items"), i, k)
        ck_assert_str_ne(json_string_value(json_object_get(k, "id")), bkey);
    api_resp_free(r);
}
END_TEST

START_TEST(route_table_matches_contract)
{
    for (size_t i = 0; i < routes_count; i++) {
        char tmpl[256];
        /* the route table names parameters like the spec does */
        snprintf(tmpl, sizeof tmpl, "%s", routes[i].pattern);
        ck_assert_msg(contract_has_operation(routes[i].method, tmpl), "route %s %s is missing from openapi.yaml",
                      routes[i].method, routes[i].pattern);
    }
    const char *path;
    json_t *item;
    int ops = 0;
    json_object_foreach(json_object_get(contract_spec(), "paths"), path, item)
    {
        const char *m;
        json_t *op;
        json_object_foreach(item, m, op)
        {
            if (strcmp(m, "parameters") == 0)
                continue;
            bool found = false;
            for (size_t i = 0; i < routes_count && !found; i++)
                found = strcasecmp(routes[i].method, m) == 0 && strcmp(routes[i].pattern, path) == 0;
            ck_assert_msg(found, "openapi.yaml has %s %s but the route table does not", m, path);
            ops++;
        }
    }
    ck_assert_int_eq(ops, (int)routes_count);
}
END_TEST

/* The statuses the dispatcher itself answers for a route (http.c), whatever
 * its handler does, must be in the route's responses: a client generated
 * from openapi.yaml has to expect them. */
START_TEST(every_route_declares_the_dispatchers_statuses)
{
    char missing[4000] = "";
    size_t n = 0;
    int count = 0;
    for (size_t i = 0; i < routes_count; i++) {
        const http_route *rt = &routes[i];
        bool authed = !(rt->flags & ROUTE_PUBLIC);
        bool body =
            strcmp(rt->method, "POST") == 0 || strcmp(rt->method, "PUT") == 0 || strcmp(rt->method, "PATCH") == 0;
        struct {
            int status;
            bool applies;
            const char *why;
        } want[] = {
            {401, authed, "no or a bad key"},
            {429, authed, "--rate-limit"},
            {503, authed, "the database is down"},
            {403, authed && rt->min_role > ROLE_READ, "a key below the route's role"},
            {404, strchr(rt->pattern, '{') != NULL, "an unknown id"},
            {413, body, "a body over --max-body"},
            {400, body && !(rt->flags & ROUTE_RAW_BODY), "malformed JSON"},
            {415, body && !(rt->flags & ROUTE_RAW_BODY), "a body that is not JSON"},
            {422, true, "a query parameter the operation does not take"},
        };
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
            if (want[k].applies && !contract_declares_status(rt->method, rt->pattern, want[k].status)) {
                count++;
                if (n + 200 < sizeof missing)
                    n += (size_t)snprintf(missing + n, sizeof missing - n, "  %s %s: %d (%s)\n", rt->method,
                                          rt->pattern, want[k].status, want[k].why);
            }
    }
    ck_assert_msg(count == 0, "%d statuses the dispatcher answers are not declared in openapi.yaml:\n%s", count,
                  missing);
}
END_TEST

Suite *foundation_suite(void)
{
    Suite *s = suite_create("foundation");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, health_and_request_id);
    tcase_add_test(tc, metrics_exposition);
    tcase_add_test(tc, workspace_get_and_patch);
    tcase_add_test(tc, workspace_patch_validation_lists_every_field);
    tcase_add_test(tc, roles_are_enforced);
    tcase_add_test(tc, keys_lifecycle_and_pagination);
    tcase_add_test(tc, last_admin_key_cannot_be_revoked);
    tcase_add_test(tc, revocation_reaches_other_instances_within_a_second);
    tcase_add_test(tc, access_log_buffered_lines_arrive_whole);
    tcase_add_test(tc, workspaces_are_isolated);
    tcase_add_test(tc, route_table_matches_contract);
    tcase_add_test(tc, every_route_declares_the_dispatchers_statuses);
    suite_add_tcase(s, tc);
    return s;
}

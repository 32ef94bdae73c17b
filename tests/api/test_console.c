/* test_console.c - the console's static files (issue 18): served by revopsd
 * from the binary, public, with their security headers and validators, no
 * reference to anything off this origin; GET /v1/session, the role and
 * workspace of the key the console signs in with. (The pages themselves are
 * tested in a real browser: tests/browser, make test-browser.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

START_TEST(root_redirects_to_the_console)
{
    api_resp *r = api_get("/", NULL);
    ck_assert_status(r, 302);
    ck_assert_str_eq(r->location, "/console/");
    api_resp_free(r);
    r = api_get("/console/", NULL);
    ck_assert_status(r, 200);
    ck_assert_ptr_nonnull(strstr(r->content_type, "text/html"));
    ck_assert_ptr_nonnull(strstr(r->body, "<script type=\"module\" src=\"app.js\"></script>"));
    ck_assert_ptr_nonnull(strstr(r->body, "src=\"uplot.js\""));
    ck_assert(r->etag[0] == '"');
    char inm[200];
    snprintf(inm, sizeof inm, "If-None-Match: %s", r->etag);
    api_resp_free(r);
    const char *h[] = {inm, NULL};
    r = api_req("GET", "/console/", NULL, NULL, NULL, 0, h);
    ck_assert_status(r, 304);
    api_resp_free(r);
}
END_TEST

/* Every file the page loads is here, with its type; nothing names another
 * origin (the one URL in uPlot is its licence comment's). */
START_TEST(files_embedded_same_origin_only)
{
    static const struct {
        const char *name, *type;
    } files[] = {{"app.js", "text/javascript"},
                 {"util.js", "text/javascript"},
                 {"pages.js", "text/javascript"},
                 {"charts.js", "text/javascript"},
                 {"app.css", "text/css"},
                 {"uplot.js", "text/javascript"},
                 {"uplot.css", "text/css"},
                 {"index.html", "text/html"},
                 {"capacity.js", "text/javascript"},
                 {"bars.js", "text/javascript"},
                 {"territory.js", "text/javascript"},
                 {"alerts.js", "text/javascript"},
                 {"import.js", "text/javascript"}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/console/%s", files[i].name);
        api_resp *r = api_get(path, NULL);
        ck_assert_status(r, 200);
        ck_assert_msg(strstr(r->content_type, files[i].type) != NULL, "%s: %s", path, r->content_type);
        ck_assert_msg(r->len > 100, "%s is %zu bytes", path, r->len);
        bool svg = strcmp(files[i].name, "charts.js") == 0 || strcmp(files[i].name, "bars.js") == 0;
        if (strcmp(files[i].name, "uplot.js") != 0 && !svg)
            ck_assert_msg(strstr(r->body, "http://") == NULL && strstr(r->body, "https://") == NULL, "%s", path);
        else if (svg) /* the SVG namespace is a name, not a request */
            ck_assert(strstr(r->body, "https://") == NULL);
        api_resp_free(r);
    }
    api_resp *r = api_get("/console/nope.js", NULL);
    ck_assert_status(r, 404);
    ck_assert_ptr_nonnull(strstr(r->content_type, "application/problem+json"));
    api_resp_free(r);
    r = api_get("/console/..%2Fapp.js", NULL);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_req("POST", "/console/app.js", NULL, "application/json", "{}", 2, NULL);
    ck_assert_status(r, 405);
    api_resp_free(r);
}
END_TEST

/* The security headers, as a browser sees them (curl: the harness's client
 * keeps only the headers the API tests need). */
START_TEST(security_headers)
{
    char cmd[512], out[4096];
    snprintf(cmd, sizeof cmd, "curl -s -D - -o /dev/null '%s/console/'", api_base());
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 0);
    ck_assert_msg(strstr(out, "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self';") !=
                      NULL,
                  "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "connect-src 'self'"));
    ck_assert_ptr_nonnull(strstr(out, "frame-ancestors 'none'"));
    ck_assert_ptr_nonnull(strstr(out, "X-Content-Type-Options: nosniff"));
    ck_assert_ptr_nonnull(strstr(out, "Referrer-Policy: no-referrer"));
    ck_assert_ptr_nonnull(strstr(out, "Cache-Control: no-cache"));
}
END_TEST

START_TEST(session_role_and_workspace)
{
    api_ws a, b;
    api_new_workspace(&a);
    api_new_workspace(&b);
    const char *keys[] = {a.read, a.write, a.admin};
    const char *roles[] = {"read", "write", "admin"};
    for (int i = 0; i < 3; i++) {
        api_resp *r = api_get("/v1/session", keys[i]);
        ck_assert_status(r, 200);
        ck_assert_str_eq(str(r->json, "role"), roles[i]);
        ck_assert_str_eq(str(json_object_get(r->json, "workspace"), "id"), a.id);
        ck_assert_str_eq(str(json_object_get(r->json, "workspace"), "name"), a.name);
        ck_assert_str_eq(str(json_object_get(r->json, "workspace"), "currency"), "USD");
        api_resp_free(r);
    }
    api_resp *r = api_get("/v1/session", b.read); /* another workspace's key: its own workspace */
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(json_object_get(r->json, "workspace"), "id"), b.id);
    api_resp_free(r);
    r = api_get("/v1/session", NULL);
    ck_assert_status(r, 401);
    api_resp_free(r);
    r = api_get("/v1/session", "rvk_not-a-key");
    ck_assert_status(r, 401);
    api_resp_free(r);
    r = api_get("/v1/session?x=1", a.read);
    ck_assert_status(r, 422);
    api_resp_free(r);
}
END_TEST

Suite *console_suite(void)
{
    Suite *s = suite_create("console");
    TCase *tc = tcase_create("console");
    tcase_add_test(tc, root_redirects_to_the_console);
    tcase_add_test(tc, files_embedded_same_origin_only);
    tcase_add_test(tc, security_headers);
    tcase_add_test(tc, session_role_and_workspace);
    suite_add_tcase(s, tc);
    return s;
}

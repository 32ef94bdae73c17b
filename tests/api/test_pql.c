/* test_pql.c - product-qualified leads (issue 20, the seed's PLG hand-off):
 * each must-have and nice-to-have criterion on crafted usage and on its edge
 * (exactly 3 active users, 2 core features, 80% of the seat limit), the
 * self-serve signals, as-of dates, a PQL entering the lead funnel once (not
 * again on a redelivered usage batch or a re-evaluation), the definition's
 * versions, isolation, roles and bad input on every new route. Dates are
 * relative to today. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "api.h"

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static long long num(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static void send(const api_ws *ws, const char *method, const char *path, const char *body)
{
    api_resp *r = api_send_json(method, path, ws->write, body);
    ck_assert_msg(r->status == 200 || r->status == 201, "%s %s: %ld %s", method, path, r->status, r->body);
    api_resp_free(r);
}

/* One usage day of `account` `day` days from today; `extra` is more fields
 * (",\"k\":v..." or ""). */
static void usage(const api_ws *ws, const char *account, int day, const char *extra)
{
    char body[1000], d[11];
    snprintf(body, sizeof body, "{\"account\":\"%s\",\"date\":\"%s\"%s}", account, api_day(day, d), extra);
    send(ws, "POST", "/v1/usage", body);
}

static json_t *get_json(const char *path, const char *key)
{
    api_resp *r = api_get(path, key);
    ck_assert_msg(r->status == 200, "GET %s: %ld %s", path, r->status, r->body);
    json_t *j = json_incref(r->json);
    api_resp_free(r);
    return j;
}

static const json_t *account_of(const json_t *list, const char *account)
{
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(list, "items"), i, x) if (strcmp(str(x, "account"), account) == 0) return x;
    return NULL;
}

static const json_t *criterion(const json_t *acc, const char *group, const char *code)
{
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(acc, group), i, x) if (strcmp(str(x, "code"), code) == 0) return x;
    ck_abort_msg("no %s %s", group, code);
    return NULL;
}

static bool met(const json_t *acc, const char *group, const char *code)
{
    return json_is_true(json_object_get(criterion(acc, group, code), "met"));
}

static const json_t *ev(const json_t *acc, const char *group, const char *code)
{
    return json_object_get(criterion(acc, group, code), "evidence");
}

static const json_t *signal_of(const json_t *acc, const char *code)
{
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(acc, "signals"), i, x) if (strcmp(str(x, "code"), code) == 0) return x;
    return NULL;
}

/* The leads of the workspace sourced pql. */
static size_t pql_leads(const api_ws *ws)
{
    json_t *l = get_json("/v1/leads?source=pql&limit=100", ws->read);
    size_t n = json_array_size(json_object_get(l, "items"));
    json_decref(l);
    return n;
}

static long qualified_in(const json_t *list)
{
    long n = 0;
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(list, "items"), i, x) n += json_is_true(json_object_get(x, "qualified"));
    return n;
}

static void problem_names(const api_resp *r, const char *field)
{
    ck_assert_str_eq(r->content_type, "application/problem+json");
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(r->json, "errors"), i, e) if (strstr(str(e, "field"), field)) return;
    ck_abort_msg("no error on %s in %s", field, r->body);
}

/* Must-haves and nice-to-haves each on crafted usage, on their edges. The
 * definition names the core features, so a non-core one does not count. */
START_TEST(each_criterion_on_crafted_usage)
{
    api_ws ws;
    api_new_workspace(&ws);
    send(&ws, "PUT", "/v1/pql-definition",
         "{\"core_features\":[\"dashboards\",\"reports\",\"alerts\"],\"enterprise_domains\":[\"https://www.Acme.com/"
         "\"]}");
    /* edge: onboarding done, exactly 3 active users, exactly 2 core features
     * (and a non-core one), 80 of 100 seats: qualified, no nice-to-have */
    usage(&ws, "edge", -20, ",\"onboarding_completed\":true,\"active_users\":1");
    usage(&ws, "edge", -3,
          ",\"active_users\":3,\"core_features\":[\"dashboards\",\"settings\"],\"seats_used\":80,\"seats_limit\":100");
    usage(&ws, "edge", -1, ",\"active_users\":2,\"core_features\":[\"reports\",\"dashboards\"]");
    /* one short each */
    usage(&ws, "users2", -2,
          ",\"onboarding_completed\":true,\"active_users\":2,\"core_features\":[\"dashboards\",\"reports\"]");
    usage(&ws, "feat1", -2,
          ",\"onboarding_completed\":true,\"active_users\":9,\"core_features\":[\"dashboards\",\"settings\"]");
    usage(&ws, "noonb", -2, ",\"active_users\":9,\"core_features\":[\"dashboards\",\"reports\"]");
    /* the 3 users were 7 days ago: outside the 7-day window */
    usage(&ws, "old", -7,
          ",\"onboarding_completed\":true,\"active_users\":3,\"core_features\":[\"dashboards\",\"reports\"]");
    /* one user a day, 3 distinct in the week by the product's weekly count */
    usage(&ws, "weekly", -1,
          ",\"onboarding_completed\":true,\"active_users\":1,\"active_users_7d\":3,"
          "\"core_features\":[\"alerts\",\"reports\"]");
    /* every nice-to-have: an integration, shared externally, 81 of 100 seats */
    usage(&ws, "nice", -10, ",\"onboarding_completed\":true,\"shared_externally\":true,\"integrations_connected\":0");
    usage(&ws, "nice", -4,
          ",\"active_users\":4,\"core_features\":[\"alerts\",\"reports\"],\"seats_used\":81,\"seats_limit\":100,"
          "\"integrations_connected\":2");
    /* self-serve signals: 5 active users, seats at the limit, 4 + 6 invited,
     * an enterprise subdomain; an enterprise domain without any usage */
    usage(&ws, "big", -20, ",\"users_invited\":4");
    usage(&ws, "big", -2,
          ",\"active_users\":5,\"seats_used\":10,\"seats_limit\":10,\"users_invited\":6,\"domain\":\"eu.acme.com\"");
    usage(&ws, "ent", -1, ",\"domain\":\"ACME.com\"");

    json_t *l = get_json("/v1/pqls", ws.read);
    char today[11], d[11];
    api_day(0, today);
    ck_assert_str_eq(str(l, "as_of"), today);
    ck_assert_int_eq(num(l, "definition_version"), 2);
    ck_assert_int_eq(json_array_size(json_object_get(l, "items")), 9);
    ck_assert(json_is_null(json_object_get(l, "next_cursor")));
    ck_assert_int_eq(qualified_in(l), 3); /* edge, weekly, nice */

    const json_t *a = account_of(l, "edge");
    ck_assert_str_eq(str(a, "state"), "qualified");
    ck_assert_int_eq(num(a, "must_have_met"), 3);
    ck_assert_int_eq(num(a, "nice_to_have_met"), 0);
    ck_assert_str_eq(str(ev(a, "must_have", "onboarding_completed"), "completed_on"), api_day(-20, d));
    ck_assert_int_eq(num(ev(a, "must_have", "active_users"), "active_users"), 3);
    ck_assert_int_eq(num(ev(a, "must_have", "active_users"), "daily_max"), 3);
    ck_assert(json_is_null(json_object_get(ev(a, "must_have", "active_users"), "weekly")));
    ck_assert_int_eq(num(ev(a, "must_have", "active_users"), "threshold"), 3);
    ck_assert_int_eq(num(ev(a, "must_have", "active_users"), "window_days"), 7);
    ck_assert_int_eq(num(ev(a, "must_have", "core_features"), "count"), 2);
    char *feats = json_dumps(json_object_get(ev(a, "must_have", "core_features"), "features"), JSON_COMPACT);
    ck_assert_str_eq(feats, "[\"dashboards\",\"reports\"]");
    free(feats);
    ck_assert(!met(a, "nice_to_have", "usage_warning")); /* exactly 80% is not above it */
    ck_assert_int_eq(num(ev(a, "nice_to_have", "usage_warning"), "seats_used"), 80);
    ck_assert_double_eq(json_number_value(json_object_get(ev(a, "nice_to_have", "usage_warning"), "utilisation")), 0.8);
    ck_assert_str_eq(str(ev(a, "nice_to_have", "usage_warning"), "on"), api_day(-3, d));
    ck_assert(!met(a, "nice_to_have", "integration_connected"));
    ck_assert(!met(a, "nice_to_have", "shared_externally"));
    ck_assert_int_eq(json_array_size(json_object_get(a, "signals")), 0);
    ck_assert_str_eq(str(json_object_get(a, "lead"), "id"), "pql:edge");
    ck_assert_str_eq(str(json_object_get(a, "lead"), "qualified_on"), today);

    a = account_of(l, "users2");
    ck_assert_str_eq(str(a, "state"), "not_qualified");
    ck_assert(!met(a, "must_have", "active_users") && met(a, "must_have", "core_features"));
    ck_assert(json_is_null(json_object_get(a, "lead")));
    a = account_of(l, "feat1");
    ck_assert(!met(a, "must_have", "core_features") && met(a, "must_have", "active_users"));
    ck_assert_int_eq(num(ev(a, "must_have", "core_features"), "count"), 1);
    ck_assert_str_eq(str(a, "state"), "not_qualified");
    a = account_of(l, "noonb");
    ck_assert(!met(a, "must_have", "onboarding_completed"));
    ck_assert(json_is_null(json_object_get(ev(a, "must_have", "onboarding_completed"), "completed_on")));
    ck_assert_int_eq(num(a, "must_have_met"), 2);
    a = account_of(l, "old");
    ck_assert(!met(a, "must_have", "active_users"));
    ck_assert(json_is_null(json_object_get(ev(a, "must_have", "active_users"), "daily_max")));
    a = account_of(l, "weekly");
    ck_assert(met(a, "must_have", "active_users"));
    ck_assert_int_eq(num(ev(a, "must_have", "active_users"), "weekly"), 3);
    ck_assert_str_eq(str(ev(a, "must_have", "active_users"), "weekly_on"), api_day(-1, d));
    ck_assert_str_eq(str(a, "state"), "qualified");

    a = account_of(l, "nice");
    ck_assert_str_eq(str(a, "state"), "qualified");
    ck_assert_int_eq(num(a, "nice_to_have_met"), 3);
    ck_assert_int_eq(num(ev(a, "nice_to_have", "integration_connected"), "integrations"), 2);
    ck_assert_str_eq(str(ev(a, "nice_to_have", "integration_connected"), "on"), api_day(-4, d));
    ck_assert_str_eq(str(ev(a, "nice_to_have", "shared_externally"), "shared_on"), api_day(-10, d));
    ck_assert_double_eq(json_number_value(json_object_get(ev(a, "nice_to_have", "usage_warning"), "utilisation")),
                        0.81);

    a = account_of(l, "big");
    ck_assert_str_eq(str(a, "state"), "not_qualified");
    ck_assert_int_eq(json_array_size(json_object_get(a, "signals")), 4);
    ck_assert_str_eq(str(signal_of(a, "active_users"), "action"), "Auto-assign to AE for outreach");
    ck_assert_int_eq(num(json_object_get(signal_of(a, "active_users"), "evidence"), "active_users"), 5);
    ck_assert_str_eq(str(signal_of(a, "usage_limit"), "action"), "In-app upgrade prompt + AE notification");
    ck_assert_str_eq(str(json_object_get(signal_of(a, "usage_limit"), "evidence"), "on"), api_day(-2, d));
    ck_assert_str_eq(str(signal_of(a, "admin_invited"), "action"), "Schedule product-led onboarding call");
    ck_assert_int_eq(num(json_object_get(signal_of(a, "admin_invited"), "evidence"), "users_invited"), 10);
    ck_assert_str_eq(str(json_object_get(signal_of(a, "enterprise_domain"), "evidence"), "domain"), "eu.acme.com");
    ck_assert_str_eq(str(json_object_get(signal_of(a, "enterprise_domain"), "evidence"), "listed"), "acme.com");
    a = account_of(l, "ent"); /* regardless of usage */
    ck_assert_int_eq(json_array_size(json_object_get(a, "signals")), 1);
    ck_assert_str_eq(str(signal_of(a, "enterprise_domain"), "action"), "Immediate AE assignment regardless of usage");
    ck_assert_str_eq(str(a, "domain"), "acme.com");
    json_decref(l);

    /* state filter */
    l = get_json("/v1/pqls?state=qualified", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(l, "items")), 3);
    json_decref(l);
    /* pages of 4 in id order (bytes): big edge ent feat1 | nice noonb old users2 | weekly */
    const char *order[] = {"big", "edge", "ent", "feat1", "nice", "noonb", "old", "users2", "weekly"};
    char path[120], cursor[64] = "";
    size_t seen = 0;
    for (int page = 0; page < 4; page++) {
        snprintf(path, sizeof path, "/v1/pqls?limit=4%s%s", cursor[0] ? "&cursor=" : "", cursor);
        l = get_json(path, ws.read);
        size_t i;
        const json_t *x;
        json_array_foreach(json_object_get(l, "items"), i, x) ck_assert_str_eq(str(x, "account"), order[seen++]);
        const char *next = str(l, "next_cursor");
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        json_decref(l);
        if (!next)
            break;
    }
    ck_assert_uint_eq(seen, 9);

    /* as of 5 days ago: only what was recorded up to then; edge's 3 users
     * were 3 days ago and nice's integration 4 days ago */
    snprintf(path, sizeof path, "/v1/pqls?as_of=%s", api_day(-5, d));
    l = get_json(path, ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(l, "items")), 4); /* edge, old, nice, big */
    a = account_of(l, "edge");
    ck_assert_str_eq(str(a, "state"), "not_qualified");
    ck_assert(json_is_null(json_object_get(a, "lead"))); /* qualified only today */
    a = account_of(l, "nice");
    ck_assert_int_eq(num(ev(a, "nice_to_have", "integration_connected"), "integrations"), 0);
    ck_assert(!met(a, "nice_to_have", "integration_connected"));
    a = account_of(l, "old"); /* 2 days before its 3 users left the window */
    ck_assert(met(a, "must_have", "active_users"));
    ck_assert_str_eq(str(a, "state"), "qualified");
    json_decref(l);
}
END_TEST

/* A qualifying usage write makes the lead, at mql, sourced pql, linked to
 * the account, routed; a redelivered batch, another write and a scan make
 * no second one. */
START_TEST(pql_lead_created_once)
{
    api_ws ws;
    api_new_workspace(&ws);
    send(&ws, "PUT", "/v1/accounts/globex", "{\"name\":\"Globex\",\"industry\":\"software\",\"employees\":120}");
    const char *batch = "{\"items\":["
                        "{\"account\":\"globex\",\"date\":\"%s\",\"onboarding_completed\":true,\"active_users\":2},"
                        "{\"account\":\"globex\",\"date\":\"%s\",\"active_users\":4,"
                        "\"core_features\":[\"a\",\"b\"],\"seats_used\":9,\"seats_limit\":10}]}";
    char body[600], d1[11], d2[11];
    snprintf(body, sizeof body, batch, api_day(-2, d1), api_day(-1, d2));
    send(&ws, "POST", "/v1/usage", body);
    ck_assert_uint_eq(pql_leads(&ws), 1);
    json_t *lead = get_json("/v1/leads/pql:globex", ws.read);
    ck_assert_str_eq(str(lead, "lifecycle_stage"), "mql");
    ck_assert_str_eq(str(lead, "original_source"), "pql");
    ck_assert_str_eq(str(lead, "account"), "globex");
    ck_assert_str_eq(str(lead, "company"), "Globex");
    ck_assert_int_eq(num(lead, "company_size"), 120);
    const json_t *pql = json_object_get(json_object_get(lead, "custom"), "pql");
    ck_assert_int_eq(json_array_size(json_object_get(pql, "must_have")), 3);
    ck_assert_int_eq(num(pql, "definition_version"), 1);
    json_decref(lead);
    json_t *as = get_json("/v1/routing/assignments?lead=pql:globex", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(as, "items")), 1); /* routed as every new MQL */
    json_decref(as);
    json_t *l = get_json("/v1/pqls", ws.read);
    char created[40];
    snprintf(created, sizeof created, "%s", str(json_object_get(account_of(l, "globex"), "lead"), "created_at"));
    json_decref(l);

    /* the same batch again (a redelivery), a later day, a scan, twice */
    send(&ws, "POST", "/v1/usage", body);
    usage(&ws, "globex", 0, ",\"active_users\":6,\"core_features\":[\"c\"]");
    for (int k = 0; k < 2; k++) {
        api_resp *r = api_send_json("POST", "/v1/pqls/evaluate", ws.write, "{}");
        ck_assert_status(r, 200);
        ck_assert_int_eq(num(r->json, "evaluated"), 0); /* its PQL is made: nothing left to judge */
        ck_assert_int_eq(num(r->json, "qualified"), 0);
        ck_assert_int_eq(json_array_size(json_object_get(r->json, "created")), 0);
        api_resp_free(r);
    }
    ck_assert_uint_eq(pql_leads(&ws), 1);
    as = get_json("/v1/routing/assignments?lead=pql:globex", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(as, "items")), 1);
    json_decref(as);
    l = get_json("/v1/pqls", ws.read);
    ck_assert_str_eq(str(json_object_get(account_of(l, "globex"), "lead"), "created_at"), created);
    json_decref(l);

    /* the scan: a stricter definition first, so the write qualifies nothing;
     * loosened, the scan enters it once */
    send(&ws, "PUT", "/v1/pql-definition", "{\"min_active_users\":20}");
    usage(&ws, "initech", -1, ",\"onboarding_completed\":true,\"active_users\":12,\"core_features\":[\"a\",\"b\"]");
    ck_assert_uint_eq(pql_leads(&ws), 1);
    send(&ws, "PUT", "/v1/pql-definition", "{\"min_active_users\":10}");
    /* the seed's routing rules route by size and score: a rule on the source
     * sends PQLs to an AE (the seed: "Auto-assign to AE") */
    send(&ws, "POST", "/v1/reps/batch", "{\"items\":[{\"id\":\"ae1\",\"name\":\"Ann\",\"role\":\"ae\"}]}");
    send(&ws, "PUT", "/v1/routing/rules",
         "{\"rules\":[{\"name\":\"PQL\",\"condition\":\"original_source = 'pql'\",\"route_to\":\"pql_ae\","
         "\"sla\":\"5 minutes\"}],\"pools\":{\"pql_ae\":[\"ae1\"]},\"fallback\":\"marketing_ops_queue\"}");
    api_resp *r = api_req("POST", "/v1/pqls/evaluate", ws.write, NULL, NULL, 0, NULL); /* no body */
    ck_assert_status(r, 200);
    ck_assert_int_eq(num(r->json, "definition_version"), 3);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "created")), 1);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "created"), 0), "lead"), "pql:initech");
    api_resp_free(r);
    as = get_json("/v1/routing/assignments?lead=pql:initech", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(as, "items")), 1);
    ck_assert_str_eq(str(json_array_get(json_object_get(as, "items"), 0), "rule"), "PQL");
    ck_assert_str_eq(str(json_array_get(json_object_get(as, "items"), 0), "assignee"), "ae1");
    json_decref(as);
    lead = get_json("/v1/leads/pql:initech", ws.read);
    ck_assert_str_eq(str(lead, "owner"), "ae1");
    ck_assert_str_eq(str(lead, "company"), "initech"); /* no account record: the id */
    json_decref(lead);
    r = api_send_json("POST", "/v1/pqls/evaluate", ws.write, "{}");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "created")), 0);
    api_resp_free(r);
    ck_assert_uint_eq(pql_leads(&ws), 2);
    /* a deleted PQL lead is not made again */
    r = api_req("DELETE", "/v1/leads/pql:initech", ws.write, NULL, NULL, 0, NULL);
    ck_assert_status(r, 204);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/pqls/evaluate", ws.write, "{}");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "created")), 0);
    api_resp_free(r);
    ck_assert_uint_eq(pql_leads(&ws), 1);
}
END_TEST

typedef struct {
    const char *base, *key, *body;
    int created, errors; /* scans that created a lead; failed requests */
} race_run;

/* The same qualifying batch, then a scan, four times over. */
static void *race_thread(void *arg)
{
    race_run *x = arg;
    for (int i = 0; i < 4; i++) {
        api_resp *r =
            api_req_at(x->base, "POST", "/v1/usage", x->key, "application/json", x->body, strlen(x->body), NULL);
        x->errors += r->status != 200;
        api_resp_free(r);
        r = api_req_at(x->base, "POST", "/v1/pqls/evaluate", x->key, "application/json", "{}", 2, NULL);
        if (r->status == 200)
            x->created += json_array_size(json_object_get(r->json, "created")) > 0;
        else
            x->errors++;
        api_resp_free(r);
    }
    return NULL;
}

/* Two revopsd on one database, four writers each delivering the same
 * qualifying usage at once: one PQL, one lead, one routing. */
START_TEST(two_instances_make_one_lead)
{
    api_ws ws;
    api_new_workspace(&ws);
    char body[400], d1[11], d2[11];
    snprintf(body, sizeof body,
             "{\"items\":[{\"account\":\"hooli\",\"date\":\"%s\",\"onboarding_completed\":true},"
             "{\"account\":\"hooli\",\"date\":\"%s\",\"active_users\":7,\"core_features\":[\"a\",\"b\"]}]}",
             api_day(-3, d1), api_day(-1, d2));
    int port = api_free_port();
    pid_t b = api_spawn_server(api_db_url(), port, NULL);
    ck_assert(api_wait_healthy(port, 15000));
    char base_b[64];
    snprintf(base_b, sizeof base_b, "http://127.0.0.1:%d", port);
    race_run x[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        x[i] = (race_run){i % 2 ? base_b : api_base(), ws.write, body, 0, 0};
        pthread_create(&th[i], NULL, race_thread, &x[i]);
    }
    int errors = 0, created = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        errors += x[i].errors;
        created += x[i].created;
    }
    kill(b, SIGTERM);
    int st = 0;
    waitpid(b, &st, 0);
    ck_assert_int_eq(errors, 0);
    ck_assert_int_eq(created, 0); /* the first usage write made it; no scan found it to make */
    ck_assert_uint_eq(pql_leads(&ws), 1);
    json_t *as = get_json("/v1/routing/assignments?lead=pql:hooli", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(as, "items")), 1);
    json_decref(as);
    json_t *h = get_json("/v1/leads/pql:hooli", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(h, "stage_history")), 1);
    json_decref(h);
}
END_TEST

START_TEST(definition_versions_isolation_roles_and_bad_input)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    json_t *d = get_json("/v1/pql-definition", ws.read);
    ck_assert_int_eq(num(d, "version"), 1);
    ck_assert_int_eq(num(d, "min_active_users"), 3);
    ck_assert_int_eq(num(d, "active_window_days"), 7);
    ck_assert_int_eq(num(d, "min_core_features"), 2);
    ck_assert_double_eq(json_number_value(json_object_get(d, "usage_warning")), 0.8);
    ck_assert_int_eq(num(d, "ae_active_users"), 5);
    ck_assert_int_eq(num(d, "admin_invited_users"), 10);
    ck_assert_int_eq(num(d, "min_nice_to_have"), 0);
    json_decref(d);
    send(&ws, "PUT", "/v1/pql-definition",
         "{\"min_nice_to_have\":1,\"enterprise_domains\":[\"Acme.com\",\"acme.com\"]}");
    d = get_json("/v1/pql-definition", ws.read);
    ck_assert_int_eq(num(d, "version"), 2);
    ck_assert_int_eq(num(d, "min_nice_to_have"), 1);
    ck_assert_int_eq(num(d, "min_active_users"), 3); /* absent: the seed's */
    ck_assert_int_eq(json_array_size(json_object_get(d, "enterprise_domains")), 1);
    json_decref(d);
    /* min_nice_to_have 1: the must-haves alone no longer qualify */
    usage(&ws, "acme", -1, ",\"onboarding_completed\":true,\"active_users\":3,\"core_features\":[\"a\",\"b\"]");
    ck_assert_uint_eq(pql_leads(&ws), 0);
    usage(&ws, "acme", 0, ",\"shared_externally\":true");
    ck_assert_uint_eq(pql_leads(&ws), 1);

    /* isolation: the other workspace sees none of it and keeps the seed's */
    json_t *l = get_json("/v1/pqls", other.read);
    ck_assert_int_eq(json_array_size(json_object_get(l, "items")), 0);
    ck_assert_int_eq(num(l, "definition_version"), 1);
    json_decref(l);
    api_resp *r = api_send_json("POST", "/v1/pqls/evaluate", other.write, "{}");
    ck_assert_status(r, 200);
    ck_assert_int_eq(num(r->json, "evaluated"), 0);
    api_resp_free(r);
    ck_assert_uint_eq(pql_leads(&other), 0);
    r = api_get("/v1/leads/pql:acme", other.read);
    ck_assert_status(r, 404);
    api_resp_free(r);

    /* roles */
    r = api_send_json("PUT", "/v1/pql-definition", ws.read, "{}");
    ck_assert_status(r, 403);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/pqls/evaluate", ws.read, "{}");
    ck_assert_status(r, 403);
    api_resp_free(r);
    const char *paths[] = {"/v1/pqls", "/v1/pql-definition"};
    for (int k = 0; k < 2; k++) {
        r = api_get(paths[k], NULL);
        ck_assert_status(r, 401);
        api_resp_free(r);
    }
    r = api_send_json("POST", "/v1/pqls/evaluate", NULL, "{}");
    ck_assert_status(r, 401);
    api_resp_free(r);

    /* bad input */
    char future[80], fb[64], dd[11];
    snprintf(future, sizeof future, "/v1/pqls?as_of=%s", api_day(1, dd));
    const char *bad_get[] = {"/v1/pqls?as_of=2026-02-30", "/v1/pqls?as_of=soon", future,
                             "/v1/pqls?state=maybe",      "/v1/pqls?limit=0",    "/v1/pqls?limit=201"};
    for (size_t i = 0; i < sizeof bad_get / sizeof *bad_get; i++) {
        r = api_get(bad_get[i], ws.read);
        ck_assert_status(r, 422);
        ck_assert_str_eq(r->content_type, "application/problem+json");
        api_resp_free(r);
    }
    snprintf(fb, sizeof fb, "{\"as_of\":\"%s\"}", dd);
    const char *bad_eval[] = {fb, "{\"as_of\":\"2026-13-01\"}", "{\"as_of\":7}", "{\"when\":\"today\"}", "[1]"};
    for (size_t i = 0; i < sizeof bad_eval / sizeof *bad_eval; i++) {
        r = api_send_json("POST", "/v1/pqls/evaluate", ws.write, bad_eval[i]);
        ck_assert_msg(r->status == 422 || r->status == 400, "%s: %ld", bad_eval[i], r->status);
        ck_assert_str_eq(r->content_type, "application/problem+json");
        api_resp_free(r);
    }
    struct {
        const char *body, *field;
    } bad_def[] = {
        {"{\"min_active_users\":0}", "min_active_users"},
        {"{\"active_window_days\":400}", "active_window_days"},
        {"{\"usage_warning\":1.5}", "usage_warning"},
        {"{\"min_nice_to_have\":4}", "min_nice_to_have"},
        {"{\"min_core_features\":\"two\"}", "min_core_features"},
        {"{\"core_features\":\"dashboards\"}", "core_features"},
        {"{\"enterprise_domains\":[\"\"]}", "enterprise_domains"},
        {"{\"enterprise_domains\":[\"https://\"]}", "enterprise_domains"},
        {"{\"threshold\":3}", "threshold"},
    };
    for (size_t i = 0; i < sizeof bad_def / sizeof *bad_def; i++) {
        r = api_send_json("PUT", "/v1/pql-definition", ws.write, bad_def[i].body);
        ck_assert_msg(r->status == 422, "%s: %ld", bad_def[i].body, r->status);
        problem_names(r, bad_def[i].field);
        api_resp_free(r);
    }
    r = api_send_json("PUT", "/v1/pql-definition", ws.write, "[]");
    ck_assert_msg(r->status == 422 || r->status == 400, "%ld", r->status);
    api_resp_free(r);
    d = get_json("/v1/pql-definition", ws.read); /* unchanged by the rejected writes */
    ck_assert_int_eq(num(d, "version"), 2);
    json_decref(d);
    struct {
        const char *extra, *field;
    } bad_usage[] = {
        {",\"onboarding_completed\":\"yes\"", "onboarding_completed"},
        {",\"shared_externally\":1", "shared_externally"},
        {",\"active_users_7d\":-1", "active_users_7d"},
        {",\"users_invited\":1.5", "users_invited"},
        {",\"integrations_connected\":-2", "integrations_connected"},
        {",\"core_features\":\"a\"", "core_features"},
        {",\"core_features\":[\"\"]", "core_features"},
        {",\"domain\":42", "domain"},
    };
    for (size_t i = 0; i < sizeof bad_usage / sizeof *bad_usage; i++) {
        char body[300];
        snprintf(body, sizeof body, "{\"account\":\"x\",\"date\":\"%s\"%s}", api_day(0, dd), bad_usage[i].extra);
        r = api_send_json("POST", "/v1/usage", ws.write, body);
        ck_assert_msg(r->status == 422, "%s: %ld", body, r->status);
        problem_names(r, bad_usage[i].field);
        api_resp_free(r);
    }
}
END_TEST

Suite *pql_suite(void)
{
    Suite *s = suite_create("pql");
    TCase *t = tcase_create("pql");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, each_criterion_on_crafted_usage);
    tcase_add_test(t, pql_lead_created_once);
    tcase_add_test(t, definition_versions_isolation_roles_and_bad_input);
    tcase_add_test(t, two_instances_make_one_lead);
    suite_add_tcase(s, t);
    return s;
}

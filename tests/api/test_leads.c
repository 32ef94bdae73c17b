/* test_leads.c - leads/contacts (event-time merge, stage history), activities
 * (idempotent by id), isolation and roles (issue 19). */
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "api.h"

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static json_t *arr(const json_t *o, const char *k) { return json_object_get(o, k); }

static api_resp *put(const char *path, const char *key, const char *json)
{
    return api_send_json("PUT", path, key, json);
}

/* "YYYY-MM-DDT12:00:00Z" for the day offset from today. */
static void ts(int offset_days, const char *hms, char out[32])
{
    char d[11];
    snprintf(out, 32, "%sT%sZ", api_day(offset_days, d), hms);
}

START_TEST(lead_merge_by_event_time)
{
    api_ws ws;
    api_new_workspace(&ws);
    char t10[32], t5[32], t7[32], body[1024];
    ts(-10, "09:00:00", t10);
    ts(-5, "09:00:00", t5);
    ts(-7, "09:00:00", t7);
    snprintf(body, sizeof body,
             "{\"email\":\"Ann@Acme.example\",\"company\":\"Acme\",\"title\":\"VP Sales\",\"company_size\":320,"
             "\"original_source\":\"webinar\",\"created_at\":\"%s\",\"as_of\":\"%s\"}",
             t10, t10);
    api_resp *r = put("/v1/leads/L-1", ws.write, body);
    ck_assert_status(r, 201);
    /* a new lead without a stage is known, entered at its creation */
    ck_assert_str_eq(str(r->json, "lifecycle_stage"), "known");
    ck_assert_int_eq(json_array_size(arr(r->json, "stage_history")), 1);
    ck_assert_str_eq(str(json_array_get(arr(r->json, "stage_history"), 0), "stage"), "known");
    ck_assert_str_eq(str(r->json, "stage_entered_at"), t10);
    api_resp_free(r);
    /* moved to mql 5 days ago */
    snprintf(body, sizeof body, "{\"lifecycle_stage\":\"mql\",\"latest_source\":\"paid_search\",\"as_of\":\"%s\"}", t5);
    r = put("/v1/leads/L-1", ws.write, body);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "lifecycle_stage"), "mql");
    ck_assert_str_eq(str(r->json, "stage_entered_at"), t5);
    api_resp_free(r);
    /* a late event from 7 days ago: recorded, not applied */
    snprintf(body, sizeof body, "{\"lifecycle_stage\":\"known\",\"title\":\"CEO\",\"as_of\":\"%s\"}", t7);
    r = put("/v1/leads/L-1", ws.write, body);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "lifecycle_stage"), "mql");
    ck_assert_str_eq(str(r->json, "title"), "CEO"); /* title's last change (t10) is older: applied */
    json_t *fh = arr(r->json, "field_history");
    int stale = 0;
    size_t i;
    json_t *c;
    json_array_foreach(fh, i, c) if (!json_is_true(json_object_get(c, "applied")))
    {
        ck_assert_str_eq(str(c, "field"), "lifecycle_stage");
        ck_assert_str_eq(str(c, "new"), "known");
        stale++;
    }
    ck_assert_int_eq(stale, 1);
    ck_assert_int_eq(json_array_size(arr(r->json, "stage_history")), 2);
    ck_assert_str_eq(str(json_object_get(r->json, "field_updated_at"), "lifecycle_stage"), t5);
    api_resp_free(r);
    /* only stale changes: the stage history is unchanged */
    snprintf(body, sizeof body, "{\"lifecycle_stage\":\"sal\",\"as_of\":\"%s\"}", t7);
    r = put("/v1/leads/L-1", ws.write, body);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "lifecycle_stage"), "mql");
    api_resp_free(r);
    /* bad input: every problem listed */
    r = put("/v1/leads/L-1", ws.write,
            "{\"email\":\"not-an-email\",\"company_size\":-3,\"lifecycle_stage\":\"Nope\",\"colour\":1,"
            "\"deals\":[\"\"],\"as_of\":\"yesterday\"}");
    ck_assert_status(r, 422);
    ck_assert_int_eq(json_array_size(arr(r->json, "errors")), 6);
    api_resp_free(r);
    r = put("/v1/leads/L-1", ws.write, "{\"lifecycle_stage\":\"customer_success\"}");
    ck_assert_status(r, 422);
    ck_assert(strstr(r->body, "not a stage of the workspace's default funnel") != NULL);
    api_resp_free(r);
    /* delete, 404, restore */
    r = api_req("DELETE", "/v1/leads/L-1", ws.write, NULL, NULL, 0, NULL);
    ck_assert_status(r, 204);
    api_resp_free(r);
    r = api_get("/v1/leads/L-1", ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = put("/v1/leads/L-1", ws.write, "{\"deals\":[\"D-1\"]}");
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "company"), "Acme");
    ck_assert_str_eq(json_string_value(json_array_get(arr(r->json, "deals"), 0)), "D-1");
    api_resp_free(r);
}
END_TEST

START_TEST(lead_batch_and_filters)
{
    api_ws ws;
    api_new_workspace(&ws);
    char t3[32], t2[32], body[2048];
    ts(-3, "10:00:00", t3);
    ts(-2, "10:00:00", t2);
    snprintf(body, sizeof body,
             "{\"items\":[{\"id\":\"B-1\",\"email\":\"b1@x.example\",\"owner\":\"sam\",\"lifecycle_stage\":\"mql\","
             "\"original_source\":\"webinar\"},"
             "{\"id\":\"B-2\",\"email\":\"b2@x.example\",\"owner\":\"kim\",\"latest_source\":\"webinar\"},"
             "{\"id\":\"B-3\",\"email\":\"bad\"},"
             "{\"id\":\"B-4\",\"lifecycle_stage\":\"sal\",\"as_of\":\"%s\"},"
             "{\"id\":\"B-4\",\"lifecycle_stage\":\"mql\",\"as_of\":\"%s\"},"
             "{\"id\":\"B-1\",\"owner\":\"kim\"}]}",
             t2, t3);
    api_resp *r = api_send_json("POST", "/v1/leads/batch", ws.write, body);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "created")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "rejected")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "stale")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "updated")), 1);
    json_t *res = arr(r->json, "results");
    ck_assert_str_eq(str(json_array_get(res, 2), "status"), "rejected");
    ck_assert_str_eq(str(json_array_get(res, 4), "status"), "stale");
    ck_assert_str_eq(str(json_array_get(res, 5), "status"), "updated");
    api_resp_free(r);
    r = api_get("/v1/leads?owner=kim", ws.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 2);
    api_resp_free(r);
    r = api_get("/v1/leads?source=webinar&lifecycle_stage=mql", ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 1);
    ck_assert_str_eq(str(json_array_get(arr(r->json, "items"), 0), "id"), "B-1");
    api_resp_free(r);
    r = api_get("/v1/leads?email=B2@X.EXAMPLE", ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 1);
    api_resp_free(r);
    /* cursor pages cover everything once */
    r = api_get("/v1/leads?limit=2", ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 2);
    char path[128];
    snprintf(path, sizeof path, "/v1/leads?limit=2&cursor=%s", str(r->json, "next_cursor"));
    api_resp_free(r);
    r = api_get(path, ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 1);
    ck_assert(json_is_null(json_object_get(r->json, "next_cursor")));
    api_resp_free(r);
    r = api_get("/v1/leads?include_deleted=maybe", ws.read);
    ck_assert_status(r, 422);
    api_resp_free(r);
    /* 1,001 items are refused */
    size_t cap = 1001 * 16 + 32, n = 0;
    char *big = malloc(cap);
    n += (size_t)snprintf(big + n, cap - n, "{\"items\":[");
    for (int k = 0; k < 1001; k++)
        n += (size_t)snprintf(big + n, cap - n, "%s{\"id\":\"x%d\"}", k ? "," : "", k);
    snprintf(big + n, cap - n, "]}");
    r = api_send_json("POST", "/v1/leads/batch", ws.write, big);
    ck_assert_status(r, 422);
    api_resp_free(r);
    free(big);
}
END_TEST

START_TEST(activities_idempotent_by_id)
{
    api_ws ws;
    api_new_workspace(&ws);
    char t1[32], t2[32], body[1024];
    ts(-1, "08:00:00", t1);
    ts(-2, "08:00:00", t2);
    snprintf(body, sizeof body,
             "{\"id\":\"a-1\",\"type\":\"pricing_page_view\",\"occurred_at\":\"%s\",\"lead\":\"L-9\","
             "\"channel\":\"organic\",\"session\":\"s1\"}",
             t1);
    api_resp *r = api_send_json("POST", "/v1/activities", ws.write, body);
    ck_assert_status(r, 201);
    ck_assert_str_eq(r->location, "/v1/activities/a-1");
    ck_assert_str_eq(str(r->json, "type"), "pricing_page_view");
    ck_assert_str_eq(str(r->json, "occurred_at"), t1);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/activities", ws.write, body); /* a retry */
    ck_assert_status(r, 200);
    api_resp_free(r);
    snprintf(body, sizeof body, "{\"id\":\"a-1\",\"type\":\"demo_request\",\"occurred_at\":\"%s\"}", t1);
    r = api_send_json("POST", "/v1/activities", ws.write, body);
    ck_assert_status(r, 409);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/activities", ws.write, "{\"id\":\"a-2\",\"type\":\"fax\",\"occurred_at\":\"x\"}");
    ck_assert_status(r, 422);
    ck_assert_int_eq(json_array_size(arr(r->json, "errors")), 2);
    api_resp_free(r);
    snprintf(body, sizeof body,
             "{\"items\":[{\"id\":\"a-2\",\"type\":\"email_open\",\"occurred_at\":\"%s\",\"lead\":\"L-9\"},"
             "{\"id\":\"a-1\",\"type\":\"pricing_page_view\",\"occurred_at\":\"%s\",\"lead\":\"L-9\","
             "\"channel\":\"organic\",\"session\":\"s1\"},"
             "{\"id\":\"a-3\",\"type\":\"call\",\"occurred_at\":\"%s\",\"rep\":\"sam\",\"deal\":\"D-1\"},"
             "{\"id\":\"a-3\",\"type\":\"meeting\",\"occurred_at\":\"%s\"},"
             "{\"id\":\"a-4\"}]}",
             t2, t1, t2, t2);
    r = api_send_json("POST", "/v1/activities/batch", ws.write, body);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "created")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "duplicate")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "conflict")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "rejected")), 1);
    ck_assert_str_eq(str(json_array_get(arr(r->json, "results"), 3), "status"), "conflict");
    api_resp_free(r);
    /* time order, filters */
    r = api_get("/v1/activities?lead=L-9", ws.read);
    ck_assert_status(r, 200);
    json_t *items = arr(r->json, "items");
    ck_assert_int_eq(json_array_size(items), 2);
    ck_assert_str_eq(str(json_array_get(items, 0), "id"), "a-2");
    ck_assert_str_eq(str(json_array_get(items, 1), "id"), "a-1");
    api_resp_free(r);
    r = api_get("/v1/activities?limit=1", ws.read);
    char path[160];
    snprintf(path, sizeof path, "/v1/activities?limit=2&cursor=%s", str(r->json, "next_cursor"));
    api_resp_free(r);
    r = api_get(path, ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 2);
    api_resp_free(r);
    r = api_get("/v1/activities?rep=sam&type=call", ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 1);
    api_resp_free(r);
    r = api_get("/v1/activities?type=fax", ws.read);
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_get("/v1/activities/a-3", ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "type"), "call");
    api_resp_free(r);
}
END_TEST

START_TEST(leads_isolation_and_roles)
{
    api_ws a, b;
    api_new_workspace(&a);
    api_new_workspace(&b);
    api_resp *r = put("/v1/leads/I-1", a.write, "{\"email\":\"i@a.example\"}");
    ck_assert_status(r, 201);
    api_resp_free(r);
    r = put("/v1/leads/I-1", a.read, "{\"email\":\"i@a.example\"}");
    ck_assert_status(r, 403);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/activities", a.read,
                      "{\"id\":\"x\",\"type\":\"call\",\"occurred_at\":\"2026-01-01T00:00:00Z\"}");
    ck_assert_status(r, 403);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/activities", a.write,
                      "{\"id\":\"x\",\"type\":\"call\",\"occurred_at\":\"2026-01-01T00:00:00Z\"}");
    ck_assert_status(r, 201);
    api_resp_free(r);
    r = api_get("/v1/leads/I-1", b.admin);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_req("DELETE", "/v1/leads/I-1", b.admin, NULL, NULL, 0, NULL);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_get("/v1/leads", b.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 0);
    api_resp_free(r);
    r = api_get("/v1/activities/x", b.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_get("/v1/activities", b.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 0);
    api_resp_free(r);
    /* the same activity id in another workspace is another activity */
    r = api_send_json("POST", "/v1/activities", b.write,
                      "{\"id\":\"x\",\"type\":\"meeting\",\"occurred_at\":\"2026-01-01T00:00:00Z\"}");
    ck_assert_status(r, 201);
    api_resp_free(r);
    r = api_req("PUT", "/v1/leads/batch", a.write, "application/json", "{}", 2, NULL);
    ck_assert_status(r, 405);
    api_resp_free(r);
}
END_TEST

/* The workspace's default scoring model id into id. */
static void default_model(const api_ws *ws, char *id, size_t len, json_t **doc)
{
    api_resp *r = api_get("/v1/scoring-models", ws->read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 1);
    json_t *m = json_array_get(arr(r->json, "items"), 0);
    ck_assert(json_is_true(json_object_get(m, "is_default")));
    snprintf(id, len, "%s", str(m, "id"));
    if (doc)
        *doc = json_incref(m);
    api_resp_free(r);
}

START_TEST(seed_scoring_model_is_the_default)
{
    api_ws ws;
    api_new_workspace(&ws);
    char id[40];
    json_t *m;
    default_model(&ws, id, sizeof id, &m);
    ck_assert_str_eq(str(m, "name"), "B2B SaaS (seed)");
    json_t *b = arr(m, "behavioral_signals");
    ck_assert_int_eq(json_array_size(b), 8);
    json_t *pricing = json_array_get(b, 0);
    ck_assert_str_eq(str(pricing, "action"), "Visited pricing page");
    ck_assert_str_eq(str(pricing, "decay"), "5 points/week after 14 days");
    ck_assert_str_eq(json_string_value(json_array_get(arr(pricing, "activity"), 0)), "pricing_page_view");
    json_t *emails = json_array_get(b, 4);
    ck_assert_int_eq(json_integer_value(json_object_get(emails, "min_count")), 3);
    ck_assert(json_number_value(json_object_get(emails, "within_days")) == 7);
    ck_assert_str_eq(str(json_array_get(b, 5), "per"), "session");
    ck_assert_int_eq(json_array_size(arr(m, "firmographic_signals")), 4);
    ck_assert_str_eq(str(json_array_get(arr(m, "negative_signals"), 0), "match"), "competitor_domain");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(m, "thresholds"), "mql")), 50);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(m, "thresholds"), "hot_lead")), 75);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(m, "caps"), "behavioral")), 60);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(m, "caps"), "firmographic")), 40);
    json_decref(m);
    /* the seed's YAML verbatim makes the same model */
    char *yaml = api_slurp("tests/data/lead-scoring.yaml");
    ck_assert_ptr_nonnull(yaml);
    api_resp *r = api_req("POST", "/v1/scoring-models", ws.write, "application/yaml", yaml, strlen(yaml), NULL);
    free(yaml);
    ck_assert_status(r, 201);
    ck_assert_str_eq(r->etag, "\"v1\"");
    ck_assert_int_eq(json_array_size(arr(r->json, "behavioral_signals")), 8);
    ck_assert(!json_is_true(json_object_get(r->json, "is_default")));
    api_resp_free(r);
    /* a signal the model cannot read, wrong points, a read key */
    r = api_send_json("POST", "/v1/scoring-models", ws.write,
                      "{\"name\":\"x\",\"behavioral_signals\":[{\"action\":\"Read our mind\",\"points\":5},"
                      "{\"action\":\"Requested demo\",\"points\":-5}],"
                      "\"negative_signals\":[{\"signal\":\"Competitor domain\",\"points\":10}]}");
    ck_assert_status(r, 422);
    ck_assert_int_eq(json_array_size(arr(r->json, "errors")), 3);
    ck_assert(strstr(r->body, "behavioral_signals[0].action") != NULL);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/scoring-models", ws.read, "{\"name\":\"x\"}");
    ck_assert_status(r, 403);
    api_resp_free(r);
    /* the default cannot be deleted */
    char path[96];
    snprintf(path, sizeof path, "/v1/scoring-models/%s", id);
    r = api_req("DELETE", path, ws.write, NULL, NULL, 0, NULL);
    ck_assert_status(r, 409);
    api_resp_free(r);
}
END_TEST

static json_t *signal_named(const json_t *score, const char *name)
{
    size_t i;
    json_t *s;
    json_array_foreach(arr(score, "signals"), i, s) if (strcmp(str(s, "signal"), name) == 0) return s;
    ck_abort_msg("no signal %s", name);
    return NULL;
}

START_TEST(score_as_of_with_decay_and_competitor)
{
    api_ws ws;
    api_new_workspace(&ws);
    char t30[32], t20[32], t10[32], t5[32], body[1024];
    ts(-30, "09:00:00", t30);
    ts(-20, "09:00:00", t20);
    ts(-10, "09:00:00", t10);
    ts(-5, "09:00:00", t5);
    snprintf(body, sizeof body, "{\"email\":\"ann@acme.example\",\"title\":\"Engineer\",\"as_of\":\"%s\"}", t30);
    api_resp *r = put("/v1/leads/S-1", ws.write, body);
    ck_assert_status(r, 201);
    api_resp_free(r);
    snprintf(body, sizeof body, "{\"title\":\"VP Sales\",\"as_of\":\"%s\"}", t5);
    api_resp_free(put("/v1/leads/S-1", ws.write, body));
    snprintf(body, sizeof body,
             "{\"items\":[{\"id\":\"p1\",\"type\":\"pricing_page_view\",\"occurred_at\":\"%s\",\"lead\":\"S-1\"},"
             "{\"id\":\"d1\",\"type\":\"demo_request\",\"occurred_at\":\"%s\",\"lead\":\"S-1\"}]}",
             t20, t10);
    api_resp_free(api_send_json("POST", "/v1/activities/batch", ws.write, body));
    /* now: the pricing visit is 20 days old (10 points), the demo 25, the VP title 10 */
    r = api_get("/v1/leads/S-1/score", ws.read);
    ck_assert_status(r, 200);
    json_t *p = signal_named(r->json, "Visited pricing page");
    ck_assert_int_eq(json_integer_value(json_object_get(p, "points")), 10);
    ck_assert(json_is_true(json_object_get(p, "decayed")));
    ck_assert_str_eq(str(p, "at"), t20);
    ck_assert_int_eq(json_integer_value(json_object_get(signal_named(r->json, "Decision-maker title"), "points")), 10);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "score")), 45);
    ck_assert_str_eq(str(r->json, "band"), "below_mql");
    api_resp_free(r);
    /* 10 days ago: the visit was 10 days old (15), the demo that morning (25), the title was Engineer */
    char path[160];
    snprintf(path, sizeof path, "/v1/leads/S-1/score?as_of=%s", t10);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(signal_named(r->json, "Visited pricing page"), "points")), 15);
    ck_assert_int_eq(json_integer_value(json_object_get(signal_named(r->json, "Decision-maker title"), "points")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "score")), 40);
    api_resp_free(r);
    /* before the lead existed */
    char t40[32];
    ts(-40, "09:00:00", t40);
    snprintf(path, sizeof path, "/v1/leads/S-1/score?as_of=%s", t40);
    r = api_get(path, ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_get("/v1/leads/S-1/score?as_of=soon", ws.read);
    ck_assert_status(r, 422);
    api_resp_free(r);
    /* a competitor's domain: -100 once the model names it */
    char id[40];
    default_model(&ws, id, sizeof id, NULL);
    snprintf(path, sizeof path, "/v1/scoring-models/%s", id);
    char *yaml = api_slurp("tests/data/lead-scoring.yaml");
    size_t cap = strlen(yaml) + 256;
    char *doc = malloc(cap);
    snprintf(doc, cap, "%s\nicp:\n  competitor_domains: [rival.example]\n  industries: [Software]\n", yaml);
    free(yaml);
    const char *stale[] = {"If-Match: \"v7\"", NULL}, *ok[] = {"If-Match: \"v1\"", NULL};
    r = api_req("PUT", path, ws.write, "application/yaml", doc, strlen(doc), stale);
    ck_assert_status(r, 412);
    api_resp_free(r);
    r = api_req("PUT", path, ws.write, "application/yaml", doc, strlen(doc), ok);
    free(doc);
    ck_assert_status(r, 200);
    ck_assert_str_eq(r->etag, "\"v2\"");
    api_resp_free(r);
    api_resp_free(put("/v1/leads/S-2", ws.write, "{\"email\":\"spy@rival.example\"}"));
    r = api_get("/v1/leads/S-2/score", ws.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "score")), -100);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "negative")), -100);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r->json, "model"), "version")), 2);
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/scoring-models/%s/versions", id);
    r = api_get(path, ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 2);
    api_resp_free(r);
    /* isolation */
    api_ws other;
    api_new_workspace(&other);
    r = api_get("/v1/leads/S-1/score", other.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/scoring-models/%s", id);
    r = api_get(path, other.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/leads/S-1/score?model=%s", id);
    r = api_get(path, other.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
}
END_TEST

START_TEST(auto_mql_when_the_model_says_so)
{
    api_ws ws;
    api_new_workspace(&ws);
    char t3[32], t2[32], t1[32], body[1024];
    ts(-3, "09:00:00", t3);
    ts(-2, "09:00:00", t2);
    ts(-1, "09:00:00", t1);
    snprintf(body, sizeof body, "{\"email\":\"m@acme.example\",\"as_of\":\"%s\"}", t3);
    api_resp_free(put("/v1/leads/M-1", ws.write, body));
    snprintf(body, sizeof body,
             "{\"items\":[{\"id\":\"m1\",\"type\":\"demo_request\",\"occurred_at\":\"%s\",\"lead\":\"M-1\"},"
             "{\"id\":\"m2\",\"type\":\"webinar_attended\",\"occurred_at\":\"%s\",\"lead\":\"M-1\"}]}",
             t2, t2);
    api_resp_free(api_send_json("POST", "/v1/activities/batch", ws.write, body));
    /* off by default: 37 points, and it would not move anyway */
    char id[40], path[96];
    default_model(&ws, id, sizeof id, NULL);
    snprintf(path, sizeof path, "/v1/scoring-models/%s", id);
    char *yaml = api_slurp("tests/data/lead-scoring.yaml");
    size_t cap = strlen(yaml) + 64;
    char *doc = malloc(cap);
    snprintf(doc, cap, "%s\nauto_mql: true\n", yaml);
    free(yaml);
    const char *im[] = {"If-Match: \"v1\"", NULL};
    api_resp *r = api_req("PUT", path, ws.write, "application/yaml", doc, strlen(doc), im);
    free(doc);
    ck_assert_status(r, 200);
    ck_assert(json_is_true(json_object_get(r->json, "auto_mql")));
    api_resp_free(r);
    /* a pricing-page visit: 25 + 12 + 15 = 52 >= 50 -> mql at the visit's time */
    snprintf(body, sizeof body,
             "{\"id\":\"m3\",\"type\":\"pricing_page_view\",\"occurred_at\":\"%s\",\"lead\":\"M-1\"}", t1);
    r = api_send_json("POST", "/v1/activities", ws.write, body);
    ck_assert_status(r, 201);
    api_resp_free(r);
    r = api_get("/v1/leads/M-1", ws.read);
    ck_assert_str_eq(str(r->json, "lifecycle_stage"), "mql");
    ck_assert_str_eq(str(r->json, "stage_entered_at"), t1);
    json_t *h = json_array_get(arr(r->json, "stage_history"), 1);
    ck_assert_str_eq(str(h, "origin"), "scoring");
    api_resp_free(r);
    /* and routed at once, as every new MQL: no rule takes an unknown company size with 52 points */
    r = api_get("/v1/routing/assignments?lead=M-1", ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 1);
    ck_assert_str_eq(str(json_array_get(arr(r->json, "items"), 0), "queue"), "marketing_ops_queue");
    api_resp_free(r);
    /* a lead already past mql is not moved back */
    api_resp_free(put("/v1/leads/M-2", ws.write, "{\"lifecycle_stage\":\"sql\"}"));
    snprintf(body, sizeof body,
             "{\"items\":[{\"id\":\"n1\",\"type\":\"demo_request\",\"occurred_at\":\"%s\",\"lead\":\"M-2\"},"
             "{\"id\":\"n2\",\"type\":\"webinar_attended\",\"occurred_at\":\"%s\",\"lead\":\"M-2\"},"
             "{\"id\":\"n3\",\"type\":\"pricing_page_view\",\"occurred_at\":\"%s\",\"lead\":\"M-2\"}]}",
             t2, t2, t1);
    api_resp_free(api_send_json("POST", "/v1/activities/batch", ws.write, body));
    r = api_get("/v1/leads/M-2", ws.read);
    ck_assert_str_eq(str(r->json, "lifecycle_stage"), "sql");
    api_resp_free(r);
}
END_TEST

START_TEST(attribution_four_touches_to_the_cent)
{
    api_ws ws;
    api_new_workspace(&ws);
    char t30[32], t20a[32], t20[32], t10a[32], t10[32], t2a[32], t2[32], body[2048];
    ts(-30, "08:00:00", t30);
    ts(-20, "08:00:00", t20a);
    ts(-20, "09:00:00", t20);
    ts(-10, "08:00:00", t10a);
    ts(-10, "09:00:00", t10);
    ts(-2, "08:00:00", t2a);
    ts(-2, "09:00:00", t2);
    snprintf(
        body, sizeof body,
        "{\"name\":\"Acme\",\"stage\":\"closed_won\",\"amount\":10000.01,\"created_at\":\"%s\",\"closed_at\":\"%s\","
        "\"as_of\":\"%s\"}",
        t10, t2, t2);
    api_resp *r = put("/v1/deals/D-1", ws.write, body);
    ck_assert_status(r, 201);
    api_resp_free(r);
    snprintf(body, sizeof body, "{\"email\":\"a@acme.example\",\"deals\":[\"D-1\"],\"as_of\":\"%s\"}", t20);
    api_resp_free(put("/v1/leads/AL-1", ws.write, body));
    snprintf(
        body, sizeof body,
        "{\"items\":[{\"id\":\"t1\",\"type\":\"webinar_attended\",\"occurred_at\":\"%s\",\"lead\":\"AL-1\","
        "\"channel\":\"webinar\",\"campaign\":\"q1-webinar\"},"
        "{\"id\":\"t2\",\"type\":\"form_submit\",\"occurred_at\":\"%s\",\"lead\":\"AL-1\",\"channel\":\"paid_search\"},"
        "{\"id\":\"t3\",\"type\":\"email_click\",\"occurred_at\":\"%s\",\"lead\":\"AL-1\",\"channel\":\"email\"},"
        "{\"id\":\"t4\",\"type\":\"page_view\",\"occurred_at\":\"%s\",\"deal\":\"D-1\",\"channel\":\"organic\"},"
        "{\"id\":\"t5\",\"type\":\"meeting\",\"occurred_at\":\"%s\",\"deal\":\"D-1\",\"channel\":\"sales\"}]}",
        t30, t20a, t10a, t2a, t2a);
    r = api_send_json("POST", "/v1/activities/batch", ws.write, body);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "created")), 5);
    api_resp_free(r);
    char from[11], to[11], path[256];
    api_day(-40, from);
    api_day(0, to);
    static const struct {
        const char *model;
        double credit[4]; /* webinar, paid_search, email, organic */
    } cases[] = {
        {"first_touch", {10000.01, 0, 0, 0}},      {"last_touch", {0, 0, 0, 10000.01}},
        {"linear", {2500.01, 2500, 2500, 2500}},   {"u_shaped", {4000.01, 4000, 1000, 1000}},
        {"w_shaped", {3000.01, 3000, 3000, 1000}}, {"full_path", {2500.01, 2500, 2500, 2500}},
    };
    static const char *const chans[] = {"webinar", "paid_search", "email", "organic"};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        snprintf(path, sizeof path, "/v1/attribution?model=%s&from=%s&to=%s", cases[c].model, from, to);
        r = api_get(path, ws.read);
        ck_assert_status(r, 200);
        ck_assert(json_number_value(json_object_get(r->json, "total")) == 10000.01);
        ck_assert_int_eq(json_integer_value(json_object_get(r->json, "deals_with_touches")), 1);
        for (int k = 0; k < 4; k++) {
            double got = -1;
            size_t i;
            json_t *g;
            json_array_foreach(arr(r->json, "groups"), i, g) if (str(g, "key") && strcmp(str(g, "key"), chans[k]) == 0)
                got = json_number_value(json_object_get(g, "credit"));
            ck_assert_msg(got == cases[c].credit[k] || (got == -1 && cases[c].credit[k] == 0), "%s %s: %.2f want %.2f",
                          cases[c].model, chans[k], got, cases[c].credit[k]);
        }
        api_resp_free(r);
    }
    /* no model: the decision rule (few wins, every deal linked to a lead: W-shaped) */
    snprintf(path, sizeof path, "/v1/attribution?from=%s&to=%s&group_by=campaign", from, to);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "model"), "w_shaped");
    ck_assert_str_eq(str(json_object_get(r->json, "recommendation"), "model"), "w_shaped");
    /* by campaign: the three touches without one make the null group */
    json_t *g0 = json_array_get(arr(r->json, "groups"), 0), *g1 = json_array_get(arr(r->json, "groups"), 1);
    ck_assert(json_is_null(json_object_get(g0, "key")));
    ck_assert(json_number_value(json_object_get(g0, "credit")) == 7000);
    ck_assert_int_eq(json_integer_value(json_object_get(g0, "touches")), 3);
    ck_assert_str_eq(str(g1, "key"), "q1-webinar");
    ck_assert(json_number_value(json_object_get(g1, "credit")) == 3000.01);
    api_resp_free(r);
    /* pipeline: the deal's path up to its creation (three touches) */
    snprintf(path, sizeof path, "/v1/attribution?model=linear&metric=pipeline&from=%s&to=%s", from, to);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(arr(r->json, "groups")), 3);
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/attribution?model=magic&from=%s", from);
    r = api_get(path, ws.read);
    ck_assert_status(r, 422);
    ck_assert_int_eq(json_array_size(arr(r->json, "errors")), 2);
    api_resp_free(r);
    api_ws other;
    api_new_workspace(&other);
    snprintf(path, sizeof path, "/v1/attribution?from=%s&to=%s", from, to);
    r = api_get(path, other.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "deals")), 0);
    ck_assert_str_eq(str(json_object_get(r->json, "recommendation"), "model"), "u_shaped");
    api_resp_free(r);
}
END_TEST

/* Routing fixtures: reps, an owned account, the seed's rules with pools. */
static void routing_setup(const api_ws *ws)
{
    api_resp *r = api_send_json("POST", "/v1/reps/batch", ws->write,
                                "{\"items\":[{\"id\":\"ae1\",\"name\":\"Ann\",\"role\":\"ae\",\"manager\":\"boss\"},"
                                "{\"id\":\"ae2\",\"name\":\"Bo\",\"role\":\"ae\",\"manager\":\"boss\"},"
                                "{\"id\":\"ae3\",\"name\":\"Cy\",\"role\":\"ae\",\"end_date\":\"2020-01-31\"},"
                                "{\"id\":\"sdr1\",\"name\":\"Di\",\"role\":\"sdr\"},"
                                "{\"id\":\"sdr2\",\"name\":\"Ed\",\"role\":\"sdr\"},"
                                "{\"id\":\"boss\",\"name\":\"Flo\",\"role\":\"manager\"},"
                                "{\"id\":\"owner1\",\"name\":\"Gus\",\"role\":\"ae\"}]}");
    ck_assert_status(r, 200);
    api_resp_free(r);
    api_resp_free(put("/v1/accounts/named-1", ws->write, "{\"name\":\"Named Co\",\"owner\":\"owner1\"}"));
    char *yaml = api_slurp("tests/data/lead-routing.yaml");
    size_t cap = strlen(yaml) + 512;
    char *doc = malloc(cap);
    snprintf(doc, cap,
             "%s\npools:\n  enterprise_ae_round_robin: [ae1, ae3, ae2]\n  mm_sdr_round_robin: [sdr1]\n"
             "  smb_sdr_round_robin: [sdr2]\n",
             yaml);
    free(yaml);
    r = api_req("PUT", "/v1/routing/rules", ws->write, "application/yaml", doc, strlen(doc), NULL);
    free(doc);
    ck_assert_status(r, 200);
    ck_assert_str_eq(r->etag, "\"v2\"");
    api_resp_free(r);
}

static api_resp *route(const api_ws *ws, const char *lead, bool dry)
{
    char body[256];
    snprintf(body, sizeof body, "{\"lead\":\"%s\",\"dry_run\":%s}", lead, dry ? "true" : "false");
    return api_send_json("POST", "/v1/routing/route", ws->write, body);
}

START_TEST(routing_each_seed_rule)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_get("/v1/routing/rules", ws.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(arr(r->json, "rules")), 5);
    ck_assert_str_eq(str(r->json, "fallback"), "marketing_ops_queue");
    ck_assert(json_number_value(json_object_get(r->json, "escalation_minutes")) == 30);
    ck_assert(json_number_value(json_object_get(json_array_get(arr(r->json, "rules"), 2), "sla_minutes")) == 15);
    ck_assert(json_is_null(json_object_get(json_array_get(arr(r->json, "rules"), 3), "sla_minutes")));
    api_resp_free(r);
    routing_setup(&ws);
    char t1[32], body[1024];
    ts(-1, "09:00:00", t1);
    api_resp_free(put("/v1/leads/ent", ws.write, "{\"company_size\":800,\"icp_tier\":\"A\"}"));
    api_resp_free(put("/v1/leads/mm", ws.write, "{\"company_size\":120}"));
    api_resp_free(put("/v1/leads/smb", ws.write, "{\"company_size\":12}"));
    api_resp_free(put("/v1/leads/low", ws.write, "{\"company_size\":12}"));
    api_resp_free(
        put("/v1/leads/named", ws.write, "{\"company_size\":800,\"icp_tier\":\"A\",\"account\":\"named-1\"}"));
    api_resp_free(put("/v1/leads/unk", ws.write, "{\"email\":\"u@x.example\"}"));
    snprintf(body, sizeof body,
             "{\"items\":[{\"id\":\"r1\",\"type\":\"demo_request\",\"occurred_at\":\"%s\",\"lead\":\"smb\"},"
             "{\"id\":\"r2\",\"type\":\"webinar_attended\",\"occurred_at\":\"%s\",\"lead\":\"smb\"},"
             "{\"id\":\"r3\",\"type\":\"pricing_page_view\",\"occurred_at\":\"%s\",\"lead\":\"smb\"},"
             "{\"id\":\"r4\",\"type\":\"demo_request\",\"occurred_at\":\"%s\",\"lead\":\"unk\"},"
             "{\"id\":\"r5\",\"type\":\"webinar_attended\",\"occurred_at\":\"%s\",\"lead\":\"unk\"},"
             "{\"id\":\"r6\",\"type\":\"pricing_page_view\",\"occurred_at\":\"%s\",\"lead\":\"unk\"}]}",
             t1, t1, t1, t1, t1, t1);
    api_resp_free(api_send_json("POST", "/v1/activities/batch", ws.write, body));
    static const struct {
        const char *lead, *rule, *assignee, *queue;
    } cases[] = {
        {"ent", "Enterprise (500+ employees)", "ae1", NULL},
        {"mm", "Mid-market (50-499)", "sdr1", NULL},
        {"smb", "SMB (<50)", "sdr2", NULL},
        {"low", "Low score", NULL, "nurture_campaign"},
        {"named", "Named account", "owner1", NULL},
        {"unk", NULL, NULL, "marketing_ops_queue"}, /* size unknown, score 52: no rule */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        r = route(&ws, cases[i].lead, true);
        ck_assert_status(r, 200);
        const char *rule = str(r->json, "rule"), *as = str(r->json, "assignee"), *q = str(r->json, "queue");
        ck_assert_msg((!rule && !cases[i].rule) || (rule && cases[i].rule && strcmp(rule, cases[i].rule) == 0),
                      "%s: rule %s", cases[i].lead, rule);
        ck_assert_msg((!as && !cases[i].assignee) || (as && cases[i].assignee && strcmp(as, cases[i].assignee) == 0),
                      "%s: assignee %s", cases[i].lead, as);
        ck_assert_msg((!q && !cases[i].queue) || (q && cases[i].queue && strcmp(q, cases[i].queue) == 0),
                      "%s: queue %s", cases[i].lead, q);
        ck_assert(json_is_null(json_object_get(r->json, "assignment_id")));
        api_resp_free(r);
    }
    /* the dry runs changed nothing; a real one records and gives the lead its owner */
    r = api_get("/v1/routing/assignments", ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 0);
    api_resp_free(r);
    r = route(&ws, "ent", false);
    ck_assert_status(r, 201);
    ck_assert_str_eq(str(r->json, "assignee"), "ae1");
    ck_assert_str_eq(str(r->json, "pool"), "enterprise_ae_round_robin");
    ck_assert(json_number_value(json_object_get(r->json, "sla_minutes")) == 5);
    ck_assert(json_number_value(json_object_get(r->json, "escalate_after_minutes")) == 30);
    api_resp_free(r);
    r = api_get("/v1/leads/ent", ws.read);
    ck_assert_str_eq(str(r->json, "owner"), "ae1");
    api_resp_free(r);
    /* round robin: ae3 has left (end date passed) and is skipped */
    r = route(&ws, "ent", true);
    ck_assert_str_eq(str(r->json, "assignee"), "ae2");
    api_resp_free(r);
    r = api_get("/v1/routing/assignments?lead=ent", ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 1);
    ck_assert_str_eq(str(json_array_get(arr(r->json, "items"), 0), "rule"), "Enterprise (500+ employees)");
    api_resp_free(r);
    /* bad input */
    r = api_send_json("PUT", "/v1/routing/rules", ws.write,
                      "{\"rules\":[{\"name\":\"x\",\"condition\":\"a = 1 OR b = 2\",\"route_to\":\"q\"}]}");
    ck_assert_status(r, 422);
    ck_assert(strstr(r->body, "rules[0].condition") != NULL);
    api_resp_free(r);
    const char *stale[] = {"If-Match: \"v1\"", NULL};
    r = api_req("PUT", "/v1/routing/rules", ws.write, "application/json",
                "{\"rules\":[{\"name\":\"x\",\"condition\":\"a = 1\",\"route_to\":\"q\"}]}", 59, stale);
    ck_assert_status(r, 412);
    api_resp_free(r);
    r = route(&ws, "nobody", true);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/routing/route", ws.read, "{\"lead\":\"ent\"}");
    ck_assert_status(r, 403);
    api_resp_free(r);
    api_ws other;
    api_new_workspace(&other);
    r = route(&other, "ent", true);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_get("/v1/routing/assignments", other.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 0);
    api_resp_free(r);
}
END_TEST

START_TEST(round_robin_fair_across_two_instances)
{
    api_ws ws;
    api_new_workspace(&ws);
    routing_setup(&ws);
    int port = api_free_port();
    const char *args[] = {"--access-log", "0", NULL};
    pid_t pid = api_spawn_server(api_db_url(), port, args);
    ck_assert(api_wait_healthy(port, 10000));
    char base2[64];
    snprintf(base2, sizeof base2, "http://127.0.0.1:%d", port);
    int got[2] = {0};
    for (int i = 0; i < 10; i++) {
        char id[16], path[48], body[64];
        snprintf(id, sizeof id, "rr%d", i);
        snprintf(path, sizeof path, "/v1/leads/%s", id);
        api_resp_free(put(path, ws.write, "{\"company_size\":900,\"icp_tier\":\"B\"}"));
        snprintf(body, sizeof body, "{\"lead\":\"%s\",\"dry_run\":false}", id);
        /* alternate instances: a per-process counter would hand both leads of a pair to ae1 */
        api_resp *r = api_req_at(i % 2 ? base2 : api_base(), "POST", "/v1/routing/route", ws.write, "application/json",
                                 body, strlen(body), NULL);
        ck_assert_status(r, 201);
        const char *as = str(r->json, "assignee");
        ck_assert_str_eq(as, i % 2 ? "ae2" : "ae1");
        got[strcmp(as, "ae1") == 0 ? 0 : 1]++;
        api_resp_free(r);
    }
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    ck_assert(got[0] == 5 && got[1] == 5);
}
END_TEST

/* Round robin under load (issue 19): RR_LEADS leads of one pool routed at
 * once from RR_THREADS connections spread over two instances, with dry runs
 * and named-account leads (routed to their owner, a member of the same
 * pool) in between. Each routing takes the pool's counter once, so after N
 * routings every available member has floor(N/m) or ceil(N/m) of the pool's
 * assignments, whatever the interleaving; the rep who left gets none, the
 * owner's direct assignments are not the pool's, dry runs take nothing. */
#define RR_THREADS 16
#define RR_LEADS 67 /* 7 available members: 9 or 10 each */
#define RR_DIRECT 5
#define RR_DRY 24

typedef struct {
    const char *base, *key;
    int t;
    int n;
    char lead[(RR_LEADS + RR_DIRECT + RR_DRY) / RR_THREADS + 2][16];
    char assignee[(RR_LEADS + RR_DIRECT + RR_DRY) / RR_THREADS + 2][16];
    char pool[(RR_LEADS + RR_DIRECT + RR_DRY) / RR_THREADS + 2][32];
    long status[(RR_LEADS + RR_DIRECT + RR_DRY) / RR_THREADS + 2];
    bool dry[(RR_LEADS + RR_DIRECT + RR_DRY) / RR_THREADS + 2];
} rr_client;

static void *rr_run(void *arg)
{
    rr_client *c = arg;
    /* job j: leads mm0.. recorded, then the named-account leads, then dry runs */
    for (int j = c->t; j < RR_LEADS + RR_DIRECT + RR_DRY; j += RR_THREADS) {
        char body[96];
        bool dry = j >= RR_LEADS + RR_DIRECT;
        int k = c->n++;
        if (j < RR_LEADS)
            snprintf(c->lead[k], sizeof c->lead[k], "mm%d", j);
        else if (!dry)
            snprintf(c->lead[k], sizeof c->lead[k], "named%d", j - RR_LEADS);
        else
            snprintf(c->lead[k], sizeof c->lead[k], "mm%d", (j * 7) % RR_LEADS);
        c->dry[k] = dry;
        snprintf(body, sizeof body, "{\"lead\":\"%s\",\"dry_run\":%s}", c->lead[k], dry ? "true" : "false");
        api_resp *r =
            api_req_at(c->base, "POST", "/v1/routing/route", c->key, "application/json", body, strlen(body), NULL);
        c->status[k] = r->status;
        const char *as = str(r->json, "assignee"), *pool = str(r->json, "pool");
        snprintf(c->assignee[k], sizeof c->assignee[k], "%s", as ? as : "");
        snprintf(c->pool[k], sizeof c->pool[k], "%s", pool ? pool : "");
        api_resp_free(r);
    }
    return NULL;
}

START_TEST(round_robin_fair_under_concurrency)
{
    static const char *const members[] = {"q1", "q2", "q3", "q4", "gone", "q5", "q6", "q7"};
    enum { M = 8, AVAILABLE = 7 };
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_send_json("POST", "/v1/reps/batch", ws.write,
                                "{\"items\":[{\"id\":\"q1\",\"name\":\"Q1\",\"role\":\"sdr\"},"
                                "{\"id\":\"q2\",\"name\":\"Q2\",\"role\":\"sdr\"},"
                                "{\"id\":\"q3\",\"name\":\"Q3\",\"role\":\"sdr\"},"
                                "{\"id\":\"q4\",\"name\":\"Q4\",\"role\":\"sdr\"},"
                                "{\"id\":\"gone\",\"name\":\"Gone\",\"role\":\"sdr\",\"end_date\":\"2020-01-31\"},"
                                "{\"id\":\"q5\",\"name\":\"Q5\",\"role\":\"sdr\"},"
                                "{\"id\":\"q6\",\"name\":\"Q6\",\"role\":\"sdr\"},"
                                "{\"id\":\"q7\",\"name\":\"Q7\",\"role\":\"sdr\"}]}");
    ck_assert_status(r, 200);
    api_resp_free(r);
    /* q3, a member of the pool, also owns a named account */
    api_resp_free(put("/v1/accounts/acct-q3", ws.write, "{\"name\":\"Q3 Co\",\"owner\":\"q3\"}"));
    char *yaml = api_slurp("tests/data/lead-routing.yaml");
    size_t cap = strlen(yaml) + 256;
    char *doc = malloc(cap);
    snprintf(doc, cap, "%s\npools:\n  mm_sdr_round_robin: [q1, q2, q3, q4, gone, q5, q6, q7]\n", yaml);
    free(yaml);
    r = api_req("PUT", "/v1/routing/rules", ws.write, "application/yaml", doc, strlen(doc), NULL);
    free(doc);
    ck_assert_status(r, 200);
    api_resp_free(r);
    size_t bcap = 128 * (RR_LEADS + RR_DIRECT) + 32;
    char *batch = malloc(bcap);
    size_t off = (size_t)snprintf(batch, bcap, "{\"items\":[");
    for (int i = 0; i < RR_LEADS + RR_DIRECT; i++)
        off += (size_t)snprintf(batch + off, bcap - off, "%s{\"id\":\"%s%d\",\"company_size\":%d%s}", i ? "," : "",
                                i < RR_LEADS ? "mm" : "named", i < RR_LEADS ? i : i - RR_LEADS, 60 + i,
                                i < RR_LEADS ? "" : ",\"account\":\"acct-q3\"");
    snprintf(batch + off, bcap - off, "]}");
    r = api_send_json("POST", "/v1/leads/batch", ws.write, batch);
    free(batch);
    ck_assert_status(r, 200);
    api_resp_free(r);

    int port = api_free_port();
    const char *args[] = {"--access-log", "0", NULL};
    pid_t pid = api_spawn_server(api_db_url(), port, args);
    ck_assert(api_wait_healthy(port, 10000));
    char base2[64];
    snprintf(base2, sizeof base2, "http://127.0.0.1:%d", port);
    rr_client *cl = calloc(RR_THREADS, sizeof *cl);
    ck_assert_ptr_nonnull(cl);
    pthread_t th[RR_THREADS];
    for (int t = 0; t < RR_THREADS; t++) {
        cl[t] = (rr_client){.base = t % 2 ? base2 : api_base(), .key = ws.write, .t = t};
        pthread_create(&th[t], NULL, rr_run, &cl[t]);
    }
    for (int t = 0; t < RR_THREADS; t++)
        pthread_join(th[t], NULL);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);

    /* the answers: each recorded mid-market lead from the pool, each named one
     * to its owner outside the pool */
    int got[M] = {0}, direct = 0, recorded = 0;
    for (int t = 0; t < RR_THREADS; t++)
        for (int k = 0; k < cl[t].n; k++) {
            const rr_client *c = &cl[t];
            ck_assert_msg(c->status[k] == (c->dry[k] ? 200 : 201), "%s: status %ld", c->lead[k], c->status[k]);
            if (c->dry[k])
                continue;
            if (strncmp(c->lead[k], "named", 5) == 0) {
                ck_assert_str_eq(c->assignee[k], "q3");
                ck_assert_str_eq(c->pool[k], "");
                direct++;
                continue;
            }
            ck_assert_str_eq(c->pool[k], "mm_sdr_round_robin");
            int i = 0;
            while (i < M && strcmp(members[i], c->assignee[k]) != 0)
                i++;
            ck_assert_msg(i < M, "%s: assignee %s is not a member", c->lead[k], c->assignee[k]);
            got[i]++;
            recorded++;
        }
    free(cl);
    ck_assert_int_eq(recorded, RR_LEADS);
    ck_assert_int_eq(direct, RR_DIRECT);
    for (int i = 0; i < M; i++) {
        int lo = RR_LEADS / AVAILABLE, hi = (RR_LEADS + AVAILABLE - 1) / AVAILABLE;
        if (strcmp(members[i], "gone") == 0)
            ck_assert_int_eq(got[i], 0);
        else
            ck_assert_msg(got[i] >= lo && got[i] <= hi, "%s got %d of %d (want %d or %d)", members[i], got[i], RR_LEADS,
                          lo, hi);
    }
    /* the recorded assignments say the same: one per lead, the pool's per member as answered */
    int rec[M] = {0}, rec_direct = 0, total = 0;
    char path[96], cursor[32] = "";
    for (;;) {
        snprintf(path, sizeof path, "/v1/routing/assignments?limit=200%s%s", cursor[0] ? "&cursor=" : "", cursor);
        r = api_get(path, ws.read);
        ck_assert_status(r, 200);
        size_t i;
        json_t *a;
        json_array_foreach(arr(r->json, "items"), i, a)
        {
            total++;
            const char *as = str(a, "assignee");
            ck_assert_ptr_nonnull(as);
            if (strcmp(str(a, "route_to"), "assigned_ae_direct") == 0) {
                ck_assert_str_eq(as, "q3");
                rec_direct++;
                continue;
            }
            ck_assert_str_eq(str(a, "route_to"), "mm_sdr_round_robin");
            for (int k = 0; k < M; k++)
                rec[k] += strcmp(members[k], as) == 0;
        }
        const char *next = str(r->json, "next_cursor");
        snprintf(cursor, sizeof cursor, "%s", next ? next : "");
        api_resp_free(r);
        if (!cursor[0])
            break;
    }
    ck_assert_int_eq(total, RR_LEADS + RR_DIRECT);
    ck_assert_int_eq(rec_direct, RR_DIRECT);
    for (int i = 0; i < M; i++)
        ck_assert_int_eq(rec[i], got[i]);
    /* the counter stands at RR_LEADS: the next lead goes to available member
     * RR_LEADS mod 7 (in pool order, skipping the one who left) */
    r = route(&ws, "mm0", true);
    ck_assert_status(r, 200);
    static const char *const avail[] = {"q1", "q2", "q3", "q4", "q5", "q6", "q7"};
    ck_assert_str_eq(str(r->json, "assignee"), avail[RR_LEADS % AVAILABLE]);
    api_resp_free(r);
}
END_TEST

/* The document's own lists, NOT IN, and named_account_list (the accounts
 * with an owner) on fields and accounts; then new rules written through one
 * instance are what the other routes by at once (each caches the decoded
 * rules per version and checks the version in the routing's transaction). */
START_TEST(routing_lists_and_new_rules_on_every_instance)
{
    api_ws ws;
    api_new_workspace(&ws);
    routing_setup(&ws); /* reps; named-1 owned by owner1 */
    api_resp_free(put("/v1/accounts/acct-v", ws.write, "{\"name\":\"VIP Co\",\"owner\":\"ae1\"}"));
    api_resp_free(put("/v1/accounts/acct-free", ws.write, "{\"name\":\"Unowned Co\"}"));
    static const char rules[] =
        "{\"rules\":[{\"name\":\"VIP\",\"condition\":\"account IN vip\",\"route_to\":\"vip_ae_direct\"},"
        "{\"name\":\"Target\",\"condition\":\"industry IN target AND company_size >= "
        "10\",\"route_to\":\"target_pool\"},"
        "{\"name\":\"Not named\",\"condition\":\"account NOT IN named_account_list AND company_size >= 10\","
        "\"route_to\":\"general_queue\"},"
        "{\"name\":\"Named\",\"condition\":\"account IN named_account_list\",\"route_to\":\"named_queue\"}],"
        "\"fallback\":\"fb_queue\",\"lists\":{\"vip\":[\"acct-v\"],\"target\":[\"fintech\",\"health\"]},"
        "\"pools\":{\"target_pool\":[\"sdr1\",\"sdr2\"]}}";
    api_resp *r = api_send_json("PUT", "/v1/routing/rules", ws.write, rules);
    ck_assert_status(r, 200);
    api_resp_free(r);
    api_resp_free(put("/v1/leads/a", ws.write, "{\"company_size\":50,\"account\":\"acct-v\"}"));
    api_resp_free(put("/v1/leads/b", ws.write, "{\"company_size\":50,\"industry\":\"FinTech\"}"));
    api_resp_free(
        put("/v1/leads/c", ws.write, "{\"company_size\":50,\"industry\":\"retail\",\"account\":\"named-1\"}"));
    api_resp_free(
        put("/v1/leads/d", ws.write, "{\"company_size\":50,\"industry\":\"retail\",\"account\":\"acct-free\"}"));
    api_resp_free(put("/v1/leads/e", ws.write, "{\"company_size\":50,\"industry\":\"retail\"}"));
    int port = api_free_port();
    const char *args[] = {"--access-log", "0", NULL};
    pid_t pid = api_spawn_server(api_db_url(), port, args);
    ck_assert(api_wait_healthy(port, 10000));
    char base2[64];
    snprintf(base2, sizeof base2, "http://127.0.0.1:%d", port);
    static const struct {
        const char *lead, *rule, *assignee, *queue;
    } cases[] = {
        {"a", "VIP", "ae1", NULL},                 /* the document's list, to the account's owner */
        {"b", "Target", "sdr1", NULL},             /* a field IN a list, ignoring case */
        {"c", "Named", NULL, "named_queue"},       /* an owned account is named */
        {"d", "Not named", NULL, "general_queue"}, /* an account without owner is not */
        {"e", NULL, NULL, "fb_queue"},             /* no account matches neither IN nor NOT IN */
    };
    for (int inst = 0; inst < 2; inst++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            char body[96];
            snprintf(body, sizeof body, "{\"lead\":\"%s\",\"dry_run\":true}", cases[i].lead);
            r = api_req_at(inst ? base2 : api_base(), "POST", "/v1/routing/route", ws.write, "application/json", body,
                           strlen(body), NULL);
            ck_assert_status(r, 200);
            const char *rule = str(r->json, "rule"), *as = str(r->json, "assignee"), *q = str(r->json, "queue");
            ck_assert_msg((!rule && !cases[i].rule) || (rule && cases[i].rule && strcmp(rule, cases[i].rule) == 0),
                          "%s: rule %s", cases[i].lead, rule);
            ck_assert_msg((!as && !cases[i].assignee) ||
                              (as && cases[i].assignee && strcmp(as, cases[i].assignee) == 0),
                          "%s: assignee %s", cases[i].lead, as);
            ck_assert_msg((!q && !cases[i].queue) || (q && cases[i].queue && strcmp(q, cases[i].queue) == 0),
                          "%s: queue %s", cases[i].lead, q);
            api_resp_free(r);
        }
    /* new rules through the first instance: the second routes by them next */
    char *changed = strdup(rules);
    char *at = strstr(changed, "[\"sdr1\",\"sdr2\"]");
    ck_assert_ptr_nonnull(at);
    memcpy(at, "[\"sdr2\",\"sdr1\"]", 15);
    r = api_send_json("PUT", "/v1/routing/rules", ws.write, changed);
    free(changed);
    ck_assert_status(r, 200);
    api_resp_free(r);
    const char *b = "{\"lead\":\"b\",\"dry_run\":true}";
    r = api_req_at(base2, "POST", "/v1/routing/route", ws.write, "application/json", b, strlen(b), NULL);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "assignee"), "sdr2");
    api_resp_free(r);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    /* the lead as conditions see it (sql/75_routing.sql) is lead_json less
     * the fields no condition can match, for every lead the suites wrote */
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    PGresult *res = PQexec(pg, "SELECT count(*), count(*) FILTER (WHERE routing_lead_fields(l) IS DISTINCT FROM"
                               " lead_json(l) - 'field_updated_at' - 'deals' - 'custom') FROM leads l");
    ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
    ck_assert_int_ge(atol(PQgetvalue(res, 0, 0)), 5);
    ck_assert_str_eq(PQgetvalue(res, 0, 1), "0");
    PQclear(res);
    PQfinish(pg);
}
END_TEST

START_TEST(escalation_fires_exactly_once)
{
    api_ws ws;
    api_new_workspace(&ws);
    routing_setup(&ws);
    /* created yesterday: their first stage is older than the (backdated) routing */
    char y[32], lb[128];
    ts(-1, "09:00:00", y);
    snprintf(lb, sizeof lb, "{\"company_size\":900,\"icp_tier\":\"A\",\"as_of\":\"%s\"}", y);
    api_resp_free(put("/v1/leads/e1", ws.write, lb));
    api_resp_free(put("/v1/leads/e2", ws.write, lb));
    api_resp *r = route(&ws, "e1", false);
    ck_assert_str_eq(str(r->json, "assignee"), "ae1");
    api_resp_free(r);
    r = route(&ws, "e2", false);
    ck_assert_str_eq(str(r->json, "assignee"), "ae2");
    api_resp_free(r);
    /* not due yet */
    r = api_send_json("POST", "/v1/routing/escalations", ws.write, "{}");
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(arr(r->json, "escalated")), 0);
    api_resp_free(r);
    /* 31 minutes later; ae2 called e2 meanwhile */
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    const char *p[] = {ws.id};
    PGresult *res = PQexecParams(pg,
                                 "UPDATE lead_assignments SET routed_at = routed_at - interval '31 minutes'"
                                 " WHERE workspace_id = $1",
                                 1, NULL, p, NULL, NULL, 0);
    ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    PQfinish(pg);
    char body[256];
    /* the call happened just now: after the routing, within the 30 minutes' window's end */
    time_t nowt = time(NULL) - 60;
    struct tm tm;
    gmtime_r(&nowt, &tm);
    char callat[32];
    strftime(callat, sizeof callat, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof body,
             "{\"id\":\"call-e2\",\"type\":\"call\",\"occurred_at\":\"%s\",\"lead\":\"e2\",\"rep\":\"ae2\"}", callat);
    api_resp_free(api_send_json("POST", "/v1/activities", ws.write, body));
    r = api_send_json("POST", "/v1/routing/escalations", ws.write, "{}");
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(arr(r->json, "escalated")), 1);
    json_t *e = json_array_get(arr(r->json, "escalated"), 0);
    ck_assert_str_eq(str(e, "lead"), "e1");
    ck_assert_str_eq(str(e, "escalated_to"), "boss");
    api_resp_free(r);
    r = api_send_json("POST", "/v1/routing/escalations", ws.write, "{}");
    ck_assert_int_eq(json_array_size(arr(r->json, "escalated")), 0);
    api_resp_free(r);
    r = api_get("/v1/leads/e1", ws.read);
    ck_assert_str_eq(str(r->json, "owner"), "boss");
    api_resp_free(r);
    r = api_send_json("POST", "/v1/routing/escalations", ws.read, "{}");
    ck_assert_status(r, 403);
    api_resp_free(r);
}
END_TEST

START_TEST(sla_accept_in_business_hours_across_a_weekend)
{
    api_ws ws;
    api_new_workspace(&ws);
    time_t nowt = time(NULL);
    struct tm tm;
    gmtime_r(&nowt, &tm);
    int fri = -((tm.tm_wday - 5 + 7) % 7) - 14; /* a Friday two weeks ago or more */
    char f12[32], f15[32], f16[32], m10[32], m13[32], body[256];
    ts(fri, "12:00:00", f12);
    ts(fri, "15:00:00", f15);
    ts(fri, "16:00:00", f16);
    ts(fri + 3, "10:00:00", m10);
    ts(fri + 3, "13:00:00", m13);
    static const char *const leads[] = {"sla-ok", "sla-late"};
    const char *mql_at[] = {f16, f15}, *sal_at[] = {m10, m13};
    for (int i = 0; i < 2; i++) {
        char path[64];
        snprintf(path, sizeof path, "/v1/leads/%s", leads[i]);
        snprintf(body, sizeof body, "{\"owner\":\"sam\",\"original_source\":\"webinar\",\"as_of\":\"%s\"}", f12);
        api_resp_free(put(path, ws.write, body));
        snprintf(body, sizeof body, "{\"lifecycle_stage\":\"mql\",\"as_of\":\"%s\"}", mql_at[i]);
        api_resp_free(put(path, ws.write, body));
        snprintf(body, sizeof body, "{\"lifecycle_stage\":\"sal\",\"as_of\":\"%s\"}", sal_at[i]);
        api_resp_free(put(path, ws.write, body));
    }
    char from[11], to[11], path[160];
    api_day(fri - 1, from);
    api_day(fri + 5, to);
    snprintf(path, sizeof path, "/v1/sla/compliance?from=%s&to=%s", from, to);
    api_resp *r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    json_t *acc = NULL, *routed = NULL;
    size_t i;
    json_t *g;
    json_array_foreach(arr(r->json, "groups"), i, g)
    {
        if (strcmp(str(g, "key"), "accepted") == 0)
            acc = g;
        if (strcmp(str(g, "key"), "routed") == 0)
            routed = g;
    }
    ck_assert_ptr_nonnull(acc);
    ck_assert_ptr_nonnull(routed);
    /* Fri 16:00 -> Mon 10:00 is 120 business minutes (met); Fri 15:00 -> Mon 13:00 is 360 (breached) */
    ck_assert_int_eq(json_integer_value(json_object_get(acc, "total")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(acc, "met")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(acc, "breached")), 1);
    ck_assert(json_number_value(json_object_get(acc, "median_minutes")) == 240);
    ck_assert(json_number_value(json_object_get(acc, "share_met")) == 0.5);
    /* nobody routed them: both past the 5 minutes */
    ck_assert_int_eq(json_integer_value(json_object_get(routed, "breached")), 2);
    int late = 0;
    json_array_foreach(arr(r->json, "breaches"), i, g) if (strcmp(str(g, "sla"), "accepted") == 0)
    {
        ck_assert_str_eq(str(g, "subject"), "sla-late");
        ck_assert(json_number_value(json_object_get(g, "elapsed_minutes")) == 360);
        ck_assert(json_number_value(json_object_get(g, "target_minutes")) == 240);
        ck_assert(json_is_true(json_object_get(g, "business_hours")));
        late++;
    }
    ck_assert_int_eq(late, 1);
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/sla/compliance?from=%s&to=%s&group_by=owner", from, to);
    r = api_get(path, ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "groups")), 1);
    ck_assert_str_eq(str(json_array_get(arr(r->json, "groups"), 0), "key"), "sam");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(arr(r->json, "groups"), 0), "total")), 4);
    api_resp_free(r);
    r = api_get("/v1/sla/compliance?from=2026-02-30&group_by=team", ws.read);
    ck_assert_status(r, 422);
    ck_assert_int_eq(json_array_size(arr(r->json, "errors")), 3);
    api_resp_free(r);
    api_ws other;
    api_new_workspace(&other);
    snprintf(path, sizeof path, "/v1/sla/compliance?from=%s&to=%s", from, to);
    r = api_get(path, other.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "groups")), 0);
    api_resp_free(r);
}
END_TEST

/* The accepted clock of one lead in [from, to): its elapsed minutes. */
static double accepted_minutes(const api_ws *ws, const char *from, const char *to, int *breached)
{
    char path[160];
    snprintf(path, sizeof path, "/v1/sla/compliance?from=%s&to=%s", from, to);
    api_resp *r = api_get(path, ws->read);
    ck_assert_status(r, 200);
    double got = -1;
    size_t i;
    json_t *g;
    json_array_foreach(arr(r->json, "groups"), i, g) if (strcmp(str(g, "key"), "accepted") == 0)
    {
        ck_assert_int_eq(json_integer_value(json_object_get(g, "total")), 1);
        *breached = (int)json_integer_value(json_object_get(g, "breached"));
        got = json_number_value(json_object_get(g, "median_minutes"));
    }
    api_resp_free(r);
    return got;
}

START_TEST(sla_under_the_workspace_working_hours)
{
    api_ws ws;
    api_new_workspace(&ws);
    time_t nowt = time(NULL);
    struct tm tm;
    gmtime_r(&nowt, &tm);
    int fri = -((tm.tm_wday - 5 + 7) % 7) - 14; /* a Friday two weeks ago or more */
    char f08[32], f10[32], m11[32], body[256], from[11], to[11], sun[11];
    ts(fri, "08:00:00", f08);
    ts(fri, "10:00:00", f10);
    ts(fri + 3, "11:00:00", m11);
    snprintf(body, sizeof body, "{\"owner\":\"sam\",\"as_of\":\"%s\"}", f08);
    api_resp_free(put("/v1/leads/wh-1", ws.write, body));
    snprintf(body, sizeof body, "{\"lifecycle_stage\":\"mql\",\"as_of\":\"%s\"}", f10);
    api_resp_free(put("/v1/leads/wh-1", ws.write, body));
    snprintf(body, sizeof body, "{\"lifecycle_stage\":\"sal\",\"as_of\":\"%s\"}", m11);
    api_resp_free(put("/v1/leads/wh-1", ws.write, body));
    api_day(fri - 1, from);
    api_day(fri + 5, to);
    api_day(fri + 2, sun);
    /* the default week, Monday-Friday 09:00-17:00: Fri 10-17 (420) + Mon 9-11 (120) */
    api_resp *r = api_get("/v1/workspace", ws.read);
    ck_assert_status(r, 200);
    json_t *wh = json_object_get(r->json, "working_hours");
    ck_assert_str_eq(str(json_object_get(wh, "monday"), "start"), "09:00");
    ck_assert_str_eq(str(json_object_get(wh, "friday"), "end"), "17:00");
    ck_assert(json_is_null(json_object_get(wh, "saturday")));
    ck_assert(json_is_null(json_object_get(wh, "sunday")));
    ck_assert_int_eq(json_array_size(arr(r->json, "holidays")), 0);
    api_resp_free(r);
    int breached = -1;
    ck_assert(accepted_minutes(&ws, from, to, &breached) == 540);
    ck_assert_int_eq(breached, 1);
    /* a Sunday-Thursday week: Friday off, Sun 9-17 (480) + Mon 9-11 (120) */
    r = api_send_json("PATCH", "/v1/workspace", ws.admin,
                      "{\"working_hours\":{\"friday\":null,\"sunday\":{\"start\":\"09:00\",\"end\":\"17:00\"}}}");
    ck_assert_status(r, 200);
    wh = json_object_get(r->json, "working_hours");
    ck_assert(json_is_null(json_object_get(wh, "friday")));
    ck_assert_str_eq(str(json_object_get(wh, "sunday"), "end"), "17:00");
    ck_assert_str_eq(str(json_object_get(wh, "thursday"), "start"), "09:00"); /* kept */
    api_resp_free(r);
    ck_assert(accepted_minutes(&ws, from, to, &breached) == 600);
    ck_assert_int_eq(breached, 1);
    /* that Sunday a holiday: Mon 9-11 only, within the 4 hours; a later PATCH keeps the hours */
    snprintf(body, sizeof body, "{\"holidays\":[\"%s\",\"2020-12-25\",\"%s\"]}", sun, sun);
    r = api_send_json("PATCH", "/v1/workspace", ws.admin, body);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(arr(r->json, "holidays")), 2); /* distinct, sorted */
    ck_assert_str_eq(json_string_value(json_array_get(arr(r->json, "holidays"), 0)), "2020-12-25");
    ck_assert_str_eq(json_string_value(json_array_get(arr(r->json, "holidays"), 1)), sun);
    api_resp_free(r);
    ck_assert(accepted_minutes(&ws, from, to, &breached) == 120);
    ck_assert_int_eq(breached, 0);
    r = api_send_json("PATCH", "/v1/workspace", ws.admin, "{\"name\":\"renamed\"}");
    ck_assert_status(r, 200);
    ck_assert(json_is_null(json_object_get(json_object_get(r->json, "working_hours"), "friday")));
    ck_assert_int_eq(json_array_size(arr(r->json, "holidays")), 2);
    api_resp_free(r);
    /* a 24-hour day ends at 24:00: Sunday a working day again, Monday all day: 1440 + 660 */
    r = api_send_json("PATCH", "/v1/workspace", ws.admin,
                      "{\"holidays\":null,\"working_hours\":{\"monday\":{\"start\":\"00:00\",\"end\":\"24:00\"}}}");
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(json_object_get(json_object_get(r->json, "working_hours"), "monday"), "end"), "24:00");
    ck_assert_int_eq(json_array_size(arr(r->json, "holidays")), 0);
    api_resp_free(r);
    ck_assert(accepted_minutes(&ws, from, to, &breached) == 480 + 660);
    /* bad input: 422 naming each field, nothing changed */
    r = api_send_json("PATCH", "/v1/workspace", ws.admin,
                      "{\"working_hours\":{\"tuesday\":{\"start\":\"17:00\",\"end\":\"09:00\"},"
                      "\"wednesday\":{\"start\":\"09:00\",\"end\":\"09:00\"},\"thursday\":{\"start\":\"9:00\","
                      "\"end\":\"24:30\"},\"friday\":{\"start\":\"09:00\"},\"funday\":null,"
                      "\"saturday\":{\"start\":\"09:00\",\"end\":\"12:00\",\"lunch\":1}},"
                      "\"holidays\":[\"2026-02-30\",7]}");
    ck_assert_status(r, 422);
    static const char *const fields[] = {"working_hours.tuesday.end",
                                         "working_hours.wednesday.end",
                                         "working_hours.thursday.start",
                                         "working_hours.thursday.end",
                                         "working_hours.friday.end",
                                         "working_hours.funday",
                                         "working_hours.saturday.lunch",
                                         "holidays[0]",
                                         "holidays[1]"};
    json_t *errs = arr(r->json, "errors");
    ck_assert_int_eq(json_array_size(errs), sizeof fields / sizeof fields[0]);
    for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
        bool seen = false;
        size_t j;
        json_t *e;
        json_array_foreach(errs, j, e) seen = seen || strcmp(str(e, "field"), fields[k]) == 0;
        ck_assert_msg(seen, "no error for %s in %s", fields[k], r->body);
    }
    api_resp_free(r);
    r = api_send_json("PATCH", "/v1/workspace", ws.admin, "{\"working_hours\":[\"09:00\"]}");
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_send_json("PATCH", "/v1/workspace", ws.write, "{\"working_hours\":{}}");
    ck_assert_status(r, 403);
    api_resp_free(r);
    r = api_get("/v1/workspace", ws.read);
    ck_assert_str_eq(str(json_object_get(json_object_get(r->json, "working_hours"), "tuesday"), "end"), "17:00");
    api_resp_free(r);
    /* another workspace keeps the default week */
    api_ws other;
    api_new_workspace(&other);
    r = api_get("/v1/workspace", other.read);
    ck_assert_str_eq(str(json_object_get(json_object_get(r->json, "working_hours"), "friday"), "start"), "09:00");
    api_resp_free(r);
}
END_TEST

/* business_minutes counts local wall-clock windows: across the spring DST
 * change in Europe/Berlin (Sunday 2026-03-29, 02:00 -> 03:00) a 09:00-17:00
 * Sunday is still 480 minutes, so Friday 16:00 CET -> Monday 10:00 CEST is
 * 60 + 480 + 60 in a week that works Sunday too; 60 with Monday a holiday. */
START_TEST(business_minutes_across_dst)
{
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    PGresult *res = PQexec(pg, "SELECT business_minutes('2026-03-27 16:00 Europe/Berlin', '2026-03-30 10:00 "
                               "Europe/Berlin', 'Europe/Berlin', '{\"[540,1020)\",\"[540,1020)\",\"[540,1020)\","
                               "\"[540,1020)\",\"[540,1020)\",empty,\"[540,1020)\"}', '{}')::float8,"
                               " business_minutes('2026-03-27 16:00 Europe/Berlin', '2026-03-30 10:00 "
                               "Europe/Berlin', 'Europe/Berlin', '{\"[540,1020)\",\"[540,1020)\",\"[540,1020)\","
                               "\"[540,1020)\",\"[540,1020)\",empty,empty}', '{2026-03-30}')::float8,"
                               " business_minutes('2026-03-30 10:00Z', '2026-03-27 10:00Z', 'UTC',"
                               " '{\"[0,1440)\",\"[0,1440)\",\"[0,1440)\",\"[0,1440)\",\"[0,1440)\",\"[0,1440)\","
                               "\"[0,1440)\"}', '{}')::float8");
    ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
    ck_assert_str_eq(PQgetvalue(res, 0, 0), "600");
    ck_assert_str_eq(PQgetvalue(res, 0, 1), "60");
    ck_assert_str_eq(PQgetvalue(res, 0, 2), "0"); /* end before start */
    PQclear(res);
    PQfinish(pg);
}
END_TEST

/* sla_instances counts each business-hours clock from one calendar of the
 * days its clocks span: every clock equals business_minutes() for the same
 * interval, the open ones (to now), the ones ending the day they start and
 * the ones across weeks, a DST change, a holiday and a weekend. */
START_TEST(sla_clocks_equal_business_minutes)
{
    api_ws ws;
    api_new_workspace(&ws);
    char hol[11], body[400];
    api_day(-20, hol);
    snprintf(body, sizeof body, "{\"timezone\":\"Europe/Berlin\",\"holidays\":[\"%s\"]}", hol);
    api_resp *r = api_send_json("PATCH", "/v1/workspace", ws.admin, body);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    api_resp_free(r);
    /* twelve leads: MQL on days -200 .. -2 at varied hours, half accepted 0-40 days later, half never */
    for (int k = 0; k < 12; k++) {
        char path[64], at[32], sal[32];
        int day = -200 + k * 18, later = (k * 7) % 41;
        ts(day, k % 3 == 0 ? "07:30:00" : k % 3 == 1 ? "12:15:00" : "16:45:00", at);
        ts(day + later < -1 ? day + later : -1, "10:20:00", sal);
        snprintf(path, sizeof path, "/v1/leads/bm-%02d", k);
        snprintf(body, sizeof body, "{\"owner\":\"sam\",\"lifecycle_stage\":\"mql\",\"as_of\":\"%s\"}", at);
        api_resp_free(put(path, ws.write, body));
        if (k % 2 == 0) {
            snprintf(body, sizeof body, "{\"lifecycle_stage\":\"sal\",\"as_of\":\"%s\"}", sal);
            api_resp_free(put(path, ws.write, body));
        }
    }
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    char from[11], to[11], sql[900];
    api_day(-210, from);
    api_day(1, to);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FILTER (WHERE i.business), count(*) FILTER (WHERE i.business AND i.done_at IS NULL),"
             " count(*) FILTER (WHERE i.business AND i.elapsed_minutes IS DISTINCT FROM"
             "   business_minutes(i.started_at, COALESCE(i.done_at, now()), w.timezone, w.work_hours, w.holidays)),"
             " count(*) FILTER (WHERE i.business AND i.done_at IS NOT NULL AND i.elapsed_minutes > 0)"
             " FROM workspaces w, sla_instances(w.id, '%s', '%s') i WHERE w.id = '%s'",
             from, to, ws.id);
    /* now() is the statement's: the open clocks are compared at one instant */
    PGresult *res = PQexec(pg, sql);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(pg));
    ck_assert_int_ge(atoi(PQgetvalue(res, 0, 0)), 12);
    ck_assert_int_ge(atoi(PQgetvalue(res, 0, 1)), 6);
    ck_assert_int_gt(atoi(PQgetvalue(res, 0, 3)), 0);
    ck_assert_str_eq(PQgetvalue(res, 0, 2), "0");
    PQclear(res);
    PQfinish(pg);
}
END_TEST

START_TEST(funnel_volumes_from_leads)
{
    api_ws ws;
    api_new_workspace(&ws);
    char d20[32], d15[32], d10[32], d5[32], body[512];
    ts(-20, "10:00:00", d20);
    ts(-15, "10:00:00", d15);
    ts(-10, "10:00:00", d10);
    ts(-5, "10:00:00", d5);
    /* ten MQLs from webinars: 6 accepted, 3 of them to SQL, one skipping straight to SQL (passes SAL),
     * 2 with a deal, 1 won; plus 4 MQLs from ads that nobody accepted */
    api_resp_free(put("/v1/deals/FD-1", ws.write, "{\"name\":\"a\",\"stage\":\"closed_won\"}"));
    api_resp_free(put("/v1/deals/FD-2", ws.write, "{\"name\":\"b\",\"stage\":\"proposal\"}"));
    for (int i = 0; i < 14; i++) {
        char path[48];
        snprintf(path, sizeof path, "/v1/leads/F-%d", i);
        snprintf(body, sizeof body, "{\"original_source\":\"%s\",\"lifecycle_stage\":\"mql\",\"as_of\":\"%s\"}",
                 i < 10 ? "webinar" : "ads", d20);
        api_resp_free(put(path, ws.write, body));
        const char *next = i < 6 ? "sal" : i == 6 ? "sql" : NULL;
        if (next) {
            snprintf(body, sizeof body, "{\"lifecycle_stage\":\"%s\",\"as_of\":\"%s\"}", next, d15);
            api_resp_free(put(path, ws.write, body));
        }
        if (i < 2) {
            snprintf(body, sizeof body, "{\"lifecycle_stage\":\"sql\",\"as_of\":\"%s\"}", d10);
            api_resp_free(put(path, ws.write, body));
            snprintf(body, sizeof body, "{\"deals\":[\"FD-%d\"],\"as_of\":\"%s\"}", i + 1, d5);
            api_resp_free(put(path, ws.write, body));
        }
    }
    char from[11], to[11], path[160];
    api_day(-30, from);
    api_day(0, to);
    snprintf(path, sizeof path, "/v1/leads/funnel?from=%s&to=%s&group_by=source", from, to);
    api_resp *r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    json_t *gs = arr(r->json, "groups");
    ck_assert_int_eq(json_array_size(gs), 2);
    json_t *ads = json_array_get(gs, 0), *web = json_array_get(gs, 1);
    ck_assert_str_eq(str(ads, "key"), "ads");
    ck_assert_str_eq(str(web, "key"), "webinar");
    json_t *c = json_object_get(web, "counts");
    ck_assert_int_eq(json_integer_value(json_object_get(c, "mql")), 10);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "sal")), 7);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "sql")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "opportunity")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(c, "closed_won")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(ads, "counts"), "sal")), 0);
    /* ads: MQL->SAL 0% is bottom quartile (<40%) */
    json_t *bn = json_object_get(ads, "bottleneck");
    ck_assert_str_eq(str(bn, "from"), "mql");
    ck_assert_str_eq(str(bn, "to"), "sal");
    api_resp_free(r);
    /* a cohort before the MQLs is empty */
    char f2[11], t2[11];
    api_day(-60, f2);
    api_day(-40, t2);
    snprintf(path, sizeof path, "/v1/leads/funnel?from=%s&to=%s", f2, t2);
    r = api_get(path, ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "groups")), 0);
    api_resp_free(r);
    r = api_get("/v1/leads/funnel?from=x", ws.read);
    ck_assert_status(r, 422);
    api_resp_free(r);
    api_ws other;
    api_new_workspace(&other);
    snprintf(path, sizeof path, "/v1/leads/funnel?from=%s&to=%s", from, to);
    r = api_get(path, other.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "groups")), 0);
    api_resp_free(r);
}
END_TEST

Suite *leads_suite(void)
{
    Suite *s = suite_create("leads");
    TCase *tc = tcase_create("leads");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, lead_merge_by_event_time);
    tcase_add_test(tc, lead_batch_and_filters);
    tcase_add_test(tc, activities_idempotent_by_id);
    tcase_add_test(tc, leads_isolation_and_roles);
    tcase_add_test(tc, seed_scoring_model_is_the_default);
    tcase_add_test(tc, score_as_of_with_decay_and_competitor);
    tcase_add_test(tc, auto_mql_when_the_model_says_so);
    tcase_add_test(tc, attribution_four_touches_to_the_cent);
    tcase_add_test(tc, routing_each_seed_rule);
    tcase_add_test(tc, round_robin_fair_across_two_instances);
    tcase_add_test(tc, round_robin_fair_under_concurrency);
    tcase_add_test(tc, routing_lists_and_new_rules_on_every_instance);
    tcase_add_test(tc, escalation_fires_exactly_once);
    tcase_add_test(tc, sla_accept_in_business_hours_across_a_weekend);
    tcase_add_test(tc, sla_under_the_workspace_working_hours);
    tcase_add_test(tc, business_minutes_across_dst);
    tcase_add_test(tc, sla_clocks_equal_business_minutes);
    tcase_add_test(tc, funnel_volumes_from_leads);
    suite_add_tcase(s, tc);
    return s;
}

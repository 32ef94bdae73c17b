/* test_funnels.c - funnel definitions: seed default, versions, If-Match, YAML, diagnosis. */
#include <stdio.h>
#include <string.h>

#include "api.h"

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void default_funnel(const api_ws *ws, char *id, size_t len)
{
    api_resp *r = api_get("/v1/funnels", ws->read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 1);
    json_t *f = json_array_get(json_object_get(r->json, "items"), 0);
    ck_assert(json_is_true(json_object_get(f, "is_default")));
    snprintf(id, len, "%s", str(f, "id"));
    api_resp_free(r);
}

START_TEST(new_workspace_has_the_seed_funnel)
{
    api_ws ws;
    api_new_workspace(&ws);
    char id[40], path[96];
    default_funnel(&ws, id, sizeof id);
    snprintf(path, sizeof path, "/v1/funnels/%s", id);
    api_resp *r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(r->etag, "\"v1\"");
    json_t *stages = json_object_get(r->json, "stages");
    ck_assert_int_eq(json_array_size(stages), 9);
    ck_assert_str_eq(str(json_array_get(stages, 2), "key"), "mql");
    ck_assert_str_eq(str(json_array_get(stages, 2), "sla"), "Routed to SDR within 5 minutes");
    ck_assert_str_eq(str(json_array_get(stages, 7), "terminal"), "won");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "benchmarks")), 7);
    api_resp_free(r);
    /* conditional GET */
    const char *inm[] = {"If-None-Match: \"v1\"", NULL};
    r = api_req("GET", path, ws.read, NULL, NULL, 0, inm);
    ck_assert_status(r, 304);
    api_resp_free(r);
    /* the list stays at one (the default is created once) */
    default_funnel(&ws, id, sizeof id);
}
END_TEST

START_TEST(seed_bottleneck_over_http)
{
    api_ws ws;
    api_new_workspace(&ws);
    char id[40], path[128];
    default_funnel(&ws, id, sizeof id);
    snprintf(path, sizeof path, "/v1/funnels/%s/diagnose", id);
    api_resp *r =
        api_send_json("POST", path, ws.read,
                      "{\"counts\":{\"mql\":1000,\"sal\":500,\"sql\":140,\"opportunity\":98,\"closed_won\":22}}");
    ck_assert_status(r, 200);
    json_t *b = json_object_get(r->json, "bottleneck");
    ck_assert_str_eq(str(b, "from"), "sal");
    ck_assert_str_eq(str(b, "to"), "sql");
    ck_assert_str_eq(str(b, "tier"), "bottom_quartile");
    ck_assert_str_eq(str(b, "explanation"),
                     "SAL→SQL 28% is bottom quartile (<30%); fix before optimising anything else");
    ck_assert(json_real_value(json_object_get(b, "rate")) == 0.28);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "transitions")), 7);
    api_resp_free(r);
    r = api_send_json("POST", path, ws.read, "{\"counts\":{\"nope\":5,\"mql\":-1}}");
    ck_assert_status(r, 422);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "errors")), 2);
    api_resp_free(r);
}
END_TEST

START_TEST(create_update_versions_and_if_match)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_send_json("POST", "/v1/funnels", ws.write,
                                "{\"name\":\"Inbound\",\"stages\":[{\"name\":\"MQL (Marketing Qualified Lead)\"},"
                                "{\"name\":\"SQL\"},{\"name\":\"Demo\",\"probability\":0.3},{\"name\":\"Closed Won\"},"
                                "{\"name\":\"Closed Lost\"}]}");
    ck_assert_status(r, 201);
    ck_assert_str_eq(r->etag, "\"v1\"");
    json_t *st = json_object_get(r->json, "stages");
    ck_assert_str_eq(str(json_array_get(st, 0), "key"), "mql"); /* matched by name */
    ck_assert_str_eq(str(json_array_get(st, 2), "key"), "demo");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "benchmarks")), 1); /* only MQL→Won applies */
    ck_assert(!json_is_true(json_object_get(r->json, "is_default")));
    char path[96];
    snprintf(path, sizeof path, "/v1/funnels/%s", str(r->json, "id"));
    api_resp_free(r);

    const char *body = "{\"stages\":[{\"name\":\"SQL\"},{\"name\":\"Demo\",\"probability\":0.35},"
                       "{\"name\":\"Closed Won\"},{\"name\":\"Closed Lost\"}]}";
    r = api_req("PUT", path, ws.write, "application/json", body, strlen(body), NULL);
    ck_assert_status(r, 428);
    api_resp_free(r);
    const char *stale[] = {"If-Match: \"v7\"", NULL};
    r = api_req("PUT", path, ws.write, "application/json", body, strlen(body), stale);
    ck_assert_status(r, 412);
    api_resp_free(r);
    const char *fresh[] = {"If-Match: \"v1\"", NULL};
    r = api_req("PUT", path, ws.write, "application/json", body, strlen(body), fresh);
    ck_assert_status(r, 200);
    ck_assert_str_eq(r->etag, "\"v2\"");
    ck_assert_str_eq(str(r->json, "name"), "Inbound");
    api_resp_free(r);
    r = api_req("PUT", path, ws.write, "application/json", body, strlen(body), fresh); /* v1 again: stale now */
    ck_assert_status(r, 412);
    api_resp_free(r);
    char vpath[128];
    snprintf(vpath, sizeof vpath, "%s/versions", path);
    r = api_get(vpath, ws.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 2);
    ck_assert_int_eq(json_array_size(json_object_get(json_array_get(json_object_get(r->json, "items"), 0), "stages")),
                     5);
    api_resp_free(r);
    r = api_req("DELETE", path, ws.write, NULL, NULL, 0, NULL);
    ck_assert_status(r, 204);
    api_resp_free(r);
    r = api_get(path, ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    char id[40], dpath[96];
    default_funnel(&ws, id, sizeof id);
    snprintf(dpath, sizeof dpath, "/v1/funnels/%s", id);
    r = api_req("DELETE", dpath, ws.write, NULL, NULL, 0, NULL);
    ck_assert_status(r, 409);
    api_resp_free(r);
    /* another workspace cannot see or touch it */
    api_ws other;
    api_new_workspace(&other);
    r = api_get(dpath, other.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
}
END_TEST

START_TEST(validation_reports_field_paths)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r =
        api_send_json("POST", "/v1/funnels", ws.write,
                      "{\"name\":\"Bad\",\"stages\":[{\"name\":\"SQL\",\"probability\":0.5},"
                      "{\"name\":\"Demo\",\"probability\":0.2},{\"name\":\"Closed Won\"},"
                      "{\"name\":\"Also Won\",\"probability\":1,\"terminal\":\"won\"},{\"name\":\"Closed Lost\"}],"
                      "\"benchmarks\":[{\"from\":\"sql\",\"to\":\"demo\",\"bottom_25\":0.5,\"median_low\":0.4,"
                      "\"median_high\":0.6,\"top_25\":0.7,\"world_class\":0.9}]}");
    ck_assert_status(r, 422);
    const char *want[] = {"stages[1].probability", "stages", "benchmarks[0]"};
    for (size_t w = 0; w < 3; w++) {
        bool seen = false;
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(r->json, "errors"), i, e) seen =
            seen || strcmp(str(e, "field"), want[w]) == 0;
        ck_assert_msg(seen, "no error at %s: %s", want[w], r->body);
    }
    api_resp_free(r);
    r = api_send_json(
        "POST", "/v1/funnels", ws.write,
        "{\"name\":\"Bad\",\"stages\":[{\"name\":\"Custom\"},{\"name\":\"Closed Won\",\"color\":\"red\"}]}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "errors"), 0), "field"), "stages[0].probability");
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "errors"), 1), "field"), "stages[1].color");
    api_resp_free(r);
}
END_TEST

START_TEST(yaml_in_and_out)
{
    api_ws ws;
    api_new_workspace(&ws);
    /* the seed's funnel-definitions.yaml shape */
    const char *yaml = "name: From git\n"
                       "stages:\n"
                       "  - name: \"MQL (Marketing Qualified Lead)\"\n"
                       "    definition: \"Meets minimum engagement threshold (score >= 50) AND fits ICP criteria\"\n"
                       "    owner: \"Marketing\"\n"
                       "    criteria:\n"
                       "      behavioral: \"Downloaded 2+ assets\"\n"
                       "      firmographic: \"Matches ICP\"\n"
                       "    sla: \"Routed to SDR within 5 minutes\"\n"
                       "  - name: \"SAL (Sales Accepted Lead)\"\n"
                       "    rejection_reasons:\n"
                       "      - \"Bad contact info\"\n"
                       "      - \"Duplicate\"\n"
                       "  - name: \"Opportunity Created\"\n"
                       "    required_fields: \"Amount, close date, stage\"\n"
                       "  - name: \"Closed Won\"\n"
                       "  - name: \"Closed Lost\"\n"
                       "    required: \"Primary loss reason\"\n";
    api_resp *r = api_req("POST", "/v1/funnels", ws.write, "application/yaml", yaml, strlen(yaml), NULL);
    ck_assert_status(r, 201);
    json_t *st = json_object_get(r->json, "stages");
    ck_assert_str_eq(str(json_array_get(st, 1), "key"), "sal");
    ck_assert_str_eq(str(json_object_get(json_array_get(st, 0), "criteria"), "behavioral"), "Downloaded 2+ assets");
    ck_assert_str_eq(str(json_array_get(st, 2), "key"), "opportunity");
    char path[96];
    snprintf(path, sizeof path, "/v1/funnels/%s", str(r->json, "id"));
    api_resp_free(r);
    const char *accept[] = {"Accept: application/yaml", NULL};
    r = api_req("GET", path, ws.read, NULL, NULL, 0, accept);
    ck_assert_status(r, 200);
    ck_assert_ptr_nonnull(strstr(r->content_type, "application/yaml"));
    ck_assert_ptr_nonnull(strstr(r->body, "name: From git"));
    ck_assert_ptr_nonnull(strstr(r->body, "- Bad contact info"));
    api_resp_free(r);
    const char *bad = "name: x\nstages: [unclosed\n";
    r = api_req("POST", "/v1/funnels", ws.write, "application/yaml", bad, strlen(bad), NULL);
    ck_assert_status(r, 400);
    api_resp_free(r);
}
END_TEST

static void move(const api_ws *ws, const char *id, const char *owner, const char *stage)
{
    char path[96], body[256];
    snprintf(path, sizeof path, "/v1/deals/%s", id);
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"amount\":1000,\"stage\":\"%s\",\"owner\":\"%s\"}", id, stage,
             owner);
    api_resp *r = api_send_json("PUT", path, ws->write, body);
    ck_assert_msg(r->status == 200 || r->status == 201, "%ld %s", r->status, r->body);
    api_resp_free(r);
}

START_TEST(conversion_from_stage_history)
{
    api_ws ws;
    api_new_workspace(&ws);
    /* four deals enter SQL; ann's two and one of bob's reach Opportunity */
    move(&ws, "a1", "ann", "sql");
    move(&ws, "a2", "ann", "sql");
    move(&ws, "b1", "bob", "sql");
    move(&ws, "b2", "bob", "sql");
    move(&ws, "a1", "ann", "opportunity");
    move(&ws, "a2", "ann", "opportunity");
    move(&ws, "b1", "bob", "opportunity");
    move(&ws, "a1", "ann", "proposal");
    char id[40], path[160];
    default_funnel(&ws, id, sizeof id);
    snprintf(path, sizeof path, "/v1/funnels/%s/conversion?group_by=owner", id);
    api_resp *r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    json_t *t = json_array_get(json_object_get(r->json, "transitions"), 4); /* SQL→Opportunity */
    ck_assert_str_eq(str(t, "from"), "sql");
    ck_assert_int_eq(json_integer_value(json_object_get(t, "from_count")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "to_count")), 3);
    ck_assert(json_real_value(json_object_get(t, "rate")) == 0.75);
    ck_assert_str_eq(str(t, "tier"), "top_quartile");
    json_t *groups = json_object_get(r->json, "groups");
    ck_assert_int_eq(json_array_size(groups), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *g = json_array_get(groups, i);
        json_t *gt = json_array_get(json_object_get(g, "transitions"), 4);
        double want = strcmp(str(g, "key"), "ann") == 0 ? 1.0 : 0.5;
        ck_assert(json_real_value(json_object_get(gt, "rate")) == want);
    }
    json_t *tis = json_object_get(r->json, "time_in_stage");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(tis, 4), "samples")), 3); /* 3 left SQL */
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/funnels/%s/conversion?group_by=region&from=2026-13-01", id);
    r = api_get(path, ws.read);
    ck_assert_status(r, 422);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "errors")), 2);
    api_resp_free(r);
}
END_TEST

Suite *funnels_suite(void)
{
    Suite *s = suite_create("funnels");
    TCase *tc = tcase_create("definitions");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, new_workspace_has_the_seed_funnel);
    tcase_add_test(tc, seed_bottleneck_over_http);
    tcase_add_test(tc, create_update_versions_and_if_match);
    tcase_add_test(tc, validation_reports_field_paths);
    tcase_add_test(tc, yaml_in_and_out);
    tcase_add_test(tc, conversion_from_stage_history);
    suite_add_tcase(s, tc);
    return s;
}

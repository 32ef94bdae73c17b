/* test_crm.c - deals, accounts, reps: create/merge, stage history, out-of-order
 * changes, push count, batch with per-item results, lists, soft delete, isolation. */
#include <stdio.h>
#include <string.h>

#include "api.h"

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }
static json_t *arr(const json_t *o, const char *k) { return json_object_get(o, k); }

static api_resp *put(const char *path, const char *key, const char *json)
{
    return api_send_json("PUT", path, key, json);
}

START_TEST(deal_create_update_history_and_out_of_order)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = put("/v1/deals/5150", ws.write,
                      "{\"name\":\"Acme renewal\",\"stage\":\"opportunity\",\"amount\":1200.50,\"owner\":\"ann\","
                      "\"expected_close_date\":\"2026-02-10\",\"as_of\":\"2026-01-05T10:00:00Z\"}");
    ck_assert_status(r, 201);
    ck_assert_str_eq(str(r->json, "id"), "5150");
    ck_assert(num(r->json, "amount") == 1200.5);
    ck_assert_str_eq(str(r->json, "status"), "open");
    ck_assert_str_eq(str(r->json, "currency"), "USD");
    ck_assert_str_eq(str(r->json, "stage_entered_at"), "2026-01-05T10:00:00Z");
    ck_assert_int_eq(json_array_size(arr(r->json, "stage_history")), 1);
    api_resp_free(r);

    /* a later change: new stage, close date pushed past its quarter */
    r = put("/v1/deals/5150", ws.write,
            "{\"name\":\"Acme renewal\",\"stage\":\"proposal\",\"amount\":1500,\"expected_close_date\":\"2026-04-10\","
            "\"as_of\":\"2026-01-07T10:00:00Z\"}");
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "push_count")), 1);
    ck_assert_str_eq(str(r->json, "stage"), "proposal");
    ck_assert_str_eq(str(r->json, "owner"), "ann"); /* absent fields keep their value */
    api_resp_free(r);

    /* an older change arrives late: recorded, not applied */
    r = put("/v1/deals/5150", ws.write,
            "{\"name\":\"Acme renewal\",\"stage\":\"sql\",\"amount\":1,\"as_of\":\"2026-01-06T10:00:00Z\"}");
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "stage"), "proposal");
    ck_assert(num(r->json, "amount") == 1500);
    json_t *fh = arr(r->json, "field_history");
    json_t *last = json_array_get(fh, json_array_size(fh) - 1);
    ck_assert_str_eq(str(last, "field"), "amount");
    ck_assert(json_is_false(json_object_get(last, "applied")));
    api_resp_free(r);

    /* moving within the quarter is not a push; closing won sets status and closed_at */
    r = put("/v1/deals/5150", ws.write,
            "{\"name\":\"Acme renewal\",\"stage\":\"closed_won\",\"expected_close_date\":\"2026-04-20\","
            "\"as_of\":\"2026-02-01T09:00:00Z\"}");
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "status"), "won");
    ck_assert_str_eq(str(r->json, "closed_at"), "2026-02-01T09:00:00Z");
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "push_count")), 1);
    json_t *sh = arr(r->json, "stage_history");
    ck_assert_int_eq(json_array_size(sh), 3);
    ck_assert_str_eq(str(json_array_get(sh, 2), "stage"), "closed_won");
    ck_assert_str_eq(str(json_array_get(sh, 2), "entered_at"), "2026-02-01T09:00:00Z");
    api_resp_free(r);

    r = api_get("/v1/deals/5150", ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(json_object_get(r->json, "field_updated_at"), "stage"), "2026-02-01T09:00:00Z");
    api_resp_free(r);
}
END_TEST

START_TEST(deal_validation_names_fields)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = put("/v1/deals/x1", ws.write,
                      "{\"stage\":\"Closed Won\",\"amount\":1.234,\"status\":\"maybe\",\"probability\":2,"
                      "\"expected_close_date\":\"2026-02-30\",\"closed_at\":\"yesterday\",\"colour\":\"red\"}");
    ck_assert_status(r, 422);
    json_t *errs = arr(r->json, "errors");
    const char *want[] = {"stage", "amount", "status", "probability", "expected_close_date", "closed_at", "colour",
                          "name"};
    ck_assert_int_eq(json_array_size(errs), 8);
    for (size_t i = 0; i < 8; i++) {
        bool found = false;
        for (size_t k = 0; k < json_array_size(errs); k++)
            found = found || strcmp(str(json_array_get(errs, k), "field"), want[i]) == 0;
        ck_assert_msg(found, "no error for %s: %s", want[i], r->body);
    }
    api_resp_free(r);
    r = put("/v1/deals/x1", ws.write, "{\"name\":\"a\",\"stage\":\"closed_won\",\"status\":\"lost\"}");
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = put("/v1/deals/x1", ws.write, "[1]");
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = put("/v1/deals/x1", ws.read, "{\"name\":\"a\",\"stage\":\"sql\"}");
    ck_assert_status(r, 403);
    api_resp_free(r);
    r = api_get("/v1/deals/x1", ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_get("/v1/deals?status=maybe", ws.read);
    ck_assert_status(r, 422);
    api_resp_free(r);
}
END_TEST

START_TEST(deal_batch_per_item_results_and_lists)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_send_json(
        "POST", "/v1/deals/batch", ws.write,
        "{\"items\":[{\"id\":\"d1\",\"name\":\"One\",\"stage\":\"sql\",\"owner\":\"ann\",\"amount\":100,"
        "\"expected_close_date\":\"2026-03-01\"},"
        "{\"id\":\"d2\",\"name\":\"Two\",\"stage\":\"closed_lost\",\"lost_reason\":\"price\",\"owner\":\"bob\"},"
        "{\"id\":\"d3\",\"name\":\"Three\",\"stage\":\"BAD\"},"
        "{\"id\":\"d4\",\"name\":\"Four\",\"stage\":\"proposal\",\"owner\":\"ann\",\"expected_close_date\":\"2026-05-01\"}]}");
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "created")), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "rejected")), 1);
    json_t *bad = json_array_get(arr(r->json, "results"), 2);
    ck_assert_str_eq(str(bad, "status"), "rejected");
    ck_assert_str_eq(str(json_array_get(arr(bad, "errors"), 0), "field"), "stage");
    api_resp_free(r);

    /* same again: unchanged */
    r = api_send_json("POST", "/v1/deals/batch", ws.write,
                      "{\"items\":[{\"id\":\"d1\",\"name\":\"One\",\"stage\":\"sql\"}]}");
    ck_assert_str_eq(str(json_array_get(arr(r->json, "results"), 0), "status"), "unchanged");
    api_resp_free(r);

    r = api_get("/v1/deals?owner=ann", ws.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 2);
    api_resp_free(r);
    r = api_get("/v1/deals?status=lost", ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 1);
    ck_assert_str_eq(str(json_array_get(arr(r->json, "items"), 0), "id"), "d2");
    api_resp_free(r);
    r = api_get("/v1/deals?close_from=2026-04-01&close_to=2026-06-30", ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 1);
    ck_assert_str_eq(str(json_array_get(arr(r->json, "items"), 0), "id"), "d4");
    api_resp_free(r);
    r = api_get("/v1/deals?limit=2", ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 2);
    char path[128];
    snprintf(path, sizeof path, "/v1/deals?limit=2&cursor=%s", str(r->json, "next_cursor"));
    api_resp_free(r);
    r = api_get(path, ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 1);
    ck_assert(json_is_null(json_object_get(r->json, "next_cursor")));
    api_resp_free(r);

    /* soft delete: gone from reads, kept in history, restored by a PUT */
    r = api_req("DELETE", "/v1/deals/d1", ws.write, NULL, NULL, 0, NULL);
    ck_assert_status(r, 204);
    api_resp_free(r);
    r = api_req("DELETE", "/v1/deals/d1", ws.write, NULL, NULL, 0, NULL);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_get("/v1/deals/d1", ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_get("/v1/deals?include_deleted=true&stage=sql", ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 1);
    ck_assert_ptr_nonnull(str(json_array_get(arr(r->json, "items"), 0), "deleted_at"));
    api_resp_free(r);

    r = api_send_json("POST", "/v1/deals/batch", ws.write, "{\"items\":[]}");
    ck_assert_status(r, 422);
    api_resp_free(r);
}
END_TEST

START_TEST(accounts_and_reps)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = put("/v1/accounts/acme", ws.write,
                      "{\"name\":\"Acme Corporation\",\"industry\":\"technology\",\"employees\":2822,"
                      "\"annual_revenue\":1100040000,\"icp_tier\":\"A\",\"country\":\"United States\"}");
    ck_assert_status(r, 201);
    ck_assert(num(r->json, "annual_revenue") == 1100040000.0);
    api_resp_free(r);
    r = put("/v1/accounts/acme", ws.write, "{\"name\":\"Acme Corp\",\"icp_tier\":\"E\"}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(str(json_array_get(arr(r->json, "errors"), 0), "field"), "icp_tier");
    api_resp_free(r);
    r = put("/v1/accounts/acme", ws.write, "{\"name\":\"Acme Corp\"}");
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "employees")), 2822);
    api_resp_free(r);

    r = put("/v1/reps/ann", ws.write,
            "{\"name\":\"Ann Lee\",\"role\":\"ae\",\"manager\":\"mia\",\"quotas\":{\"2026-Q1\":250000,"
            "\"2026-q2\":260000.5},\"start_date\":\"2025-06-01\"}");
    ck_assert_status(r, 201);
    ck_assert(num(json_object_get(r->json, "quotas"), "2026-Q2") == 260000.5);
    api_resp_free(r);
    r = put("/v1/reps/ann", ws.write, "{\"name\":\"Ann Lee\",\"role\":\"boss\",\"quotas\":{\"Q5\":1}}");
    ck_assert_status(r, 422);
    ck_assert_str_eq(str(json_array_get(arr(r->json, "errors"), 1), "field"), "quotas.Q5");
    api_resp_free(r);
    r = api_send_json("POST", "/v1/reps/batch", ws.write,
                      "{\"items\":[{\"id\":\"bob\",\"name\":\"Bob\",\"role\":\"sdr\"},{\"id\":\"ann\",\"name\":\"Ann\"}]}");
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "created")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "updated")), 1);
    api_resp_free(r);
    r = api_get("/v1/reps", ws.read);
    ck_assert_int_eq(json_array_size(arr(r->json, "items")), 2);
    api_resp_free(r);
    r = api_req("DELETE", "/v1/reps/bob", ws.write, NULL, NULL, 0, NULL);
    ck_assert_status(r, 204);
    api_resp_free(r);
    r = api_get("/v1/accounts/acme", ws.read);
    ck_assert_status(r, 200);
    api_resp_free(r);
}
END_TEST

START_TEST(crm_cross_workspace_isolation)
{
    api_ws a, b;
    api_new_workspace(&a);
    api_new_workspace(&b);
    api_resp *r = put("/v1/deals/secret", a.write, "{\"name\":\"A's deal\",\"stage\":\"sql\"}");
    ck_assert_status(r, 201);
    api_resp_free(r);
    r = put("/v1/accounts/secret", a.write, "{\"name\":\"A's account\"}");
    api_resp_free(r);
    r = put("/v1/reps/secret", a.write, "{\"name\":\"A's rep\"}");
    api_resp_free(r);
    const char *paths[] = {"/v1/deals/secret", "/v1/accounts/secret", "/v1/reps/secret"};
    const char *lists[] = {"/v1/deals", "/v1/accounts", "/v1/reps"};
    for (int i = 0; i < 3; i++) {
        r = api_get(paths[i], b.admin);
        ck_assert_status(r, 404);
        api_resp_free(r);
        r = api_req("DELETE", paths[i], b.admin, NULL, NULL, 0, NULL);
        ck_assert_status(r, 404);
        api_resp_free(r);
        r = api_get(lists[i], b.admin);
        ck_assert_int_eq(json_array_size(arr(r->json, "items")), 0);
        api_resp_free(r);
        r = api_get(paths[i], a.read);
        ck_assert_status(r, 200);
        api_resp_free(r);
    }
    /* B writing the same id creates B's own row; A's is untouched */
    r = put("/v1/deals/secret", b.write, "{\"name\":\"B's deal\",\"stage\":\"mql\"}");
    ck_assert_status(r, 201);
    api_resp_free(r);
    r = api_get("/v1/deals/secret", a.read);
    ck_assert_str_eq(str(r->json, "name"), "A's deal");
    api_resp_free(r);
}
END_TEST

Suite *crm_suite(void)
{
    Suite *s = suite_create("crm");
    TCase *tc = tcase_create("crm");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, deal_create_update_history_and_out_of_order);
    tcase_add_test(tc, deal_validation_names_fields);
    tcase_add_test(tc, deal_batch_per_item_results_and_lists);
    tcase_add_test(tc, accounts_and_reps);
    tcase_add_test(tc, crm_cross_workspace_isolation);
    suite_add_tcase(s, tc);
    return s;
}

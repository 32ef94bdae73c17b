/* test_revenue.c - ARR movements, subscriptions (derived movements), spend, finance. */
#include <stdio.h>
#include <string.h>

#include "api.h"

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

START_TEST(arr_events_single_batch_and_list)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_send_json("POST", "/v1/arr-events", ws.write,
                                "{\"account\":\"Acme\",\"date\":\"2026-01-15\",\"kind\":\"new\",\"amount\":12000.5}");
    ck_assert_status(r, 201);
    json_t *e = json_array_get(json_object_get(r->json, "items"), 0);
    ck_assert_str_eq(str(e, "kind"), "new");
    ck_assert(num(e, "amount") == 12000.5);
    ck_assert_str_eq(str(e, "source"), "api");
    api_resp_free(r);

    r = api_send_json("POST", "/v1/arr-events", ws.write,
                      "{\"items\":[{\"account\":\"Beta\",\"date\":\"2026-02-01\",\"kind\":\"new\",\"amount\":500},"
                      "{\"account\":\"Acme\",\"date\":\"2026-03-01\",\"kind\":\"churn\",\"amount\":12000.50,"
                      "\"note\":\"moved to a competitor\"}]}");
    ck_assert_status(r, 201);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 2);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "items"), 1), "note"), "moved to a competitor");
    api_resp_free(r);

    /* one bad item: 422 naming it, and nothing of the batch is stored */
    r = api_send_json("POST", "/v1/arr-events", ws.write,
                      "{\"items\":[{\"account\":\"Gamma\",\"date\":\"2026-02-01\",\"kind\":\"new\",\"amount\":1},"
                      "{\"account\":\"Gamma\",\"date\":\"2026-02-30\",\"kind\":\"grow\",\"amount\":1.234}]}");
    ck_assert_status(r, 422);
    json_t *errs = json_object_get(r->json, "errors");
    ck_assert_int_eq(json_array_size(errs), 3);
    ck_assert_str_eq(str(json_array_get(errs, 0), "field"), "items[1].date");
    ck_assert_str_eq(str(json_array_get(errs, 1), "field"), "items[1].kind");
    ck_assert_str_eq(str(json_array_get(errs, 2), "field"), "items[1].amount");
    api_resp_free(r);

    r = api_get("/v1/arr-events?account=Gamma", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    api_resp_free(r);
    r = api_get("/v1/arr-events?from=2026-02-01&limit=1", ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "items"), 0), "account"), "Beta");
    char path[160];
    snprintf(path, sizeof path, "/v1/arr-events?from=2026-02-01&limit=1&cursor=%s", str(r->json, "next_cursor"));
    api_resp_free(r);
    r = api_get(path, ws.read);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "items"), 0), "kind"), "churn");
    ck_assert(json_is_null(json_object_get(r->json, "next_cursor")));
    api_resp_free(r);
    r = api_get("/v1/arr-events?kind=shrink", ws.read);
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/arr-events", ws.read,
                      "{\"account\":\"Acme\",\"date\":\"2026-01-15\",\"kind\":\"new\",\"amount\":1}");
    ck_assert_status(r, 403);
    api_resp_free(r);
}
END_TEST

START_TEST(idempotency_key_replays_the_first_answer)
{
    api_ws ws;
    api_new_workspace(&ws);
    const char *body = "{\"account\":\"Acme\",\"date\":\"2026-01-15\",\"kind\":\"new\",\"amount\":100}";
    const char *h[] = {"Idempotency-Key: import-2026-01-15", NULL};
    api_resp *a = api_req("POST", "/v1/arr-events", ws.write, "application/json", body, strlen(body), h);
    ck_assert_status(a, 201);
    api_resp *b = api_req("POST", "/v1/arr-events", ws.write, "application/json", body, strlen(body), h);
    ck_assert_status(b, 201);
    ck_assert_str_eq(str(json_array_get(json_object_get(a->json, "items"), 0), "id"),
                     str(json_array_get(json_object_get(b->json, "items"), 0), "id"));
    api_resp_free(a);
    api_resp_free(b);
    api_resp *r = api_get("/v1/arr-events", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 1);
    api_resp_free(r);
    const char *other = "{\"account\":\"Acme\",\"date\":\"2026-01-15\",\"kind\":\"new\",\"amount\":999}";
    r = api_req("POST", "/v1/arr-events", ws.write, "application/json", other, strlen(other), h);
    ck_assert_status(r, 422);
    api_resp_free(r);
    /* the same key in another workspace is another key */
    api_ws ws2;
    api_new_workspace(&ws2);
    r = api_req("POST", "/v1/arr-events", ws2.write, "application/json", body, strlen(body), h);
    ck_assert_status(r, 201);
    api_resp_free(r);
}
END_TEST

static void expect_moves(const api_ws *ws, const char *account, const char *const *kinds, const double *amounts, int n)
{
    char path[160];
    snprintf(path, sizeof path, "/v1/arr-events?account=%s", account);
    api_resp *r = api_get(path, ws->read);
    json_t *items = json_object_get(r->json, "items");
    ck_assert_msg((int)json_array_size(items) == n, "%s: %zu movements, want %d: %s", account, json_array_size(items),
                  n, r->body);
    for (int i = 0; i < n; i++) {
        json_t *e = json_array_get(items, (size_t)i);
        ck_assert_str_eq(str(e, "kind"), kinds[i]);
        ck_assert_msg(num(e, "amount") == amounts[i], "movement %d amount %f want %f", i, num(e, "amount"), amounts[i]);
        ck_assert_str_eq(str(e, "source"), "subscription");
    }
    api_resp_free(r);
}

START_TEST(subscriptions_derive_movements)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_send_json("PUT", "/v1/subscriptions/sub-1", ws.write,
                                "{\"account\":\"Acme\",\"arr\":12000,\"start_date\":\"2025-01-01\","
                                "\"end_date\":\"2026-01-01\",\"renewal_date\":\"2026-01-01\"}");
    ck_assert_status(r, 201);
    ck_assert(num(r->json, "arr") == 12000);
    api_resp_free(r);
    r = api_send_json(
        "PUT", "/v1/subscriptions/sub-2", ws.write,
        "{\"account\":\"Acme\",\"arr\":6000.25,\"start_date\":\"2025-07-01\",\"end_date\":\"2025-10-01\"}");
    ck_assert_status(r, 201);
    api_resp_free(r);
    const char *k1[] = {"new", "expansion", "contraction", "churn"};
    const double a1[] = {12000, 6000.25, 6000.25, 12000};
    expect_moves(&ws, "Acme", k1, a1, 4);

    /* renewal: extend sub-1 (200, replaced); the churn disappears */
    r = api_send_json("PUT", "/v1/subscriptions/sub-1", ws.write,
                      "{\"account\":\"Acme\",\"arr\":12000,\"start_date\":\"2025-01-01\"}");
    ck_assert_status(r, 200);
    ck_assert(json_is_null(json_object_get(r->json, "end_date")));
    api_resp_free(r);
    const char *k2[] = {"new", "expansion", "contraction"};
    expect_moves(&ws, "Acme", k2, a1, 3);

    /* moving sub-2 to another account re-derives both */
    r = api_send_json(
        "PUT", "/v1/subscriptions/sub-2", ws.write,
        "{\"account\":\"Beta\",\"arr\":6000.25,\"start_date\":\"2025-07-01\",\"end_date\":\"2025-10-01\"}");
    ck_assert_status(r, 200);
    api_resp_free(r);
    const char *k3[] = {"new"};
    const double a3[] = {12000};
    expect_moves(&ws, "Acme", k3, a3, 1);
    const char *k4[] = {"new", "churn"};
    const double a4[] = {6000.25, 6000.25};
    expect_moves(&ws, "Beta", k4, a4, 2);

    r = api_send_json("PUT", "/v1/subscriptions/sub-3", ws.write,
                      "{\"account\":\"Acme\",\"arr\":-5,\"start_date\":\"2025-07-01\",\"end_date\":\"2025-01-01\"}");
    ck_assert_status(r, 422);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "errors")), 1); /* arr; dates checked once arr is fine */
    api_resp_free(r);
    r = api_get("/v1/subscriptions?limit=1", ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "items"), 0), "id"), "sub-1");
    ck_assert_str_eq(str(r->json, "next_cursor"), "sub-1");
    api_resp_free(r);

    api_ws other;
    api_new_workspace(&other);
    r = api_get("/v1/arr-events", other.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    api_resp_free(r);
    r = api_get("/v1/subscriptions", other.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    api_resp_free(r);
}
END_TEST

START_TEST(spend_and_finance_follow_the_fiscal_year)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_send_json("PATCH", "/v1/workspace", ws.admin, "{\"fiscal_year_start_month\":2}");
    ck_assert_status(r, 200);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/spend", ws.write,
                      "{\"items\":[{\"period\":\"2026-q1\",\"category\":\"marketing\",\"channel\":\"events\","
                      "\"amount\":85000},{\"period\":\"2026-Q1\",\"category\":\"sales\",\"amount\":120000.99}]}");
    ck_assert_status(r, 201);
    json_t *s0 = json_array_get(json_object_get(r->json, "items"), 0);
    ck_assert_str_eq(str(s0, "period"), "2026-Q1");
    ck_assert_str_eq(str(s0, "period_start"), "2025-02-01");
    ck_assert_str_eq(str(s0, "period_end"), "2025-04-30");
    api_resp_free(r);
    r = api_send_json("POST", "/v1/spend", ws.write, "{\"period\":\"2026-Q5\",\"category\":\"travel\",\"amount\":1}");
    ck_assert_status(r, 422);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "errors")), 2);
    api_resp_free(r);
    r = api_get("/v1/spend?period=2026-Q1", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 2);
    double total = num(json_array_get(json_object_get(r->json, "items"), 0), "amount") +
                   num(json_array_get(json_object_get(r->json, "items"), 1), "amount");
    ck_assert_msg(total > 205000.985 && total < 205000.995, "total %f", total);
    api_resp_free(r);
    r = api_get("/v1/spend?period=2026-Q2", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    api_resp_free(r);

    r = api_send_json("PUT", "/v1/finance/2026-Q1", ws.write, "{\"gross_margin\":0.78}");
    ck_assert_status(r, 201);
    ck_assert(json_is_null(json_object_get(r->json, "net_burn")));
    api_resp_free(r);
    r = api_send_json("PUT", "/v1/finance/2026-Q1", ws.write, "{\"net_burn\":410000.10}");
    ck_assert_status(r, 200);
    ck_assert(num(r->json, "gross_margin") == 0.78);
    ck_assert(num(r->json, "net_burn") == 410000.10);
    ck_assert_str_eq(str(r->json, "period_end"), "2025-04-30");
    api_resp_free(r);
    r = api_send_json("PUT", "/v1/finance/2026-Q1", ws.write, "{\"gross_margin\":1.5}");
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_send_json("PUT", "/v1/finance/next-quarter", ws.write, "{\"gross_margin\":0.5}");
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_get("/v1/finance", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 1);
    api_resp_free(r);
}
END_TEST

Suite *revenue_suite(void)
{
    Suite *s = suite_create("revenue");
    TCase *tc = tcase_create("inputs");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, arr_events_single_batch_and_list);
    tcase_add_test(tc, idempotency_key_replays_the_first_answer);
    tcase_add_test(tc, subscriptions_derive_movements);
    tcase_add_test(tc, spend_and_finance_follow_the_fiscal_year);
    suite_add_tcase(s, tc);
    return s;
}

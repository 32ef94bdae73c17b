/* test_writes.c - issue 15 section 4, writes that mean one thing: the same
 * reference rule for every way in, exchange rates, the entry time of a new
 * deal's stage, stage skips in conversion, and territory moves counted once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static api_resp *put(const char *path, const char *key, const char *json)
{
    return api_send_json("PUT", path, key, json);
}

/* A new deal's stage was entered when the deal was created (a closed one: when it closed). */
START_TEST(new_deal_stage_entered_at_creation)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = put("/v1/deals/d1", ws.write,
                      "{\"name\":\"Old\",\"stage\":\"sql\",\"amount\":10,\"created_at\":\"2025-01-15T09:00:00Z\"}");
    ck_assert_status(r, 201);
    ck_assert_str_eq(str(r->json, "stage_entered_at"), "2025-01-15T09:00:00Z");
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "stage_history"), 0), "entered_at"),
                     "2025-01-15T09:00:00Z");
    api_resp_free(r);
    r = put("/v1/deals/d2", ws.write,
            "{\"name\":\"Won\",\"stage\":\"closed_won\",\"amount\":10,\"created_at\":\"2025-01-15T09:00:00Z\","
            "\"closed_at\":\"2025-03-01T12:00:00Z\"}");
    ck_assert_status(r, 201);
    ck_assert_str_eq(str(r->json, "stage_entered_at"), "2025-03-01T12:00:00Z");
    api_resp_free(r);
    /* a later move is dated by the write, as before */
    char today[11];
    r = put("/v1/deals/d1", ws.write, "{\"stage\":\"opportunity\"}");
    ck_assert_status(r, 200);
    ck_assert_msg(strncmp(str(r->json, "stage_entered_at"), api_day(0, today), 10) == 0, "%s",
                  str(r->json, "stage_entered_at"));
    api_resp_free(r);
}
END_TEST

Suite *writes_suite(void)
{
    Suite *s = suite_create("writes");
    TCase *tc = tcase_create("writes");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, new_deal_stage_entered_at_creation);
    suite_add_tcase(s, tc);
    return s;
}

/* test_reps.c - reps and accounts: attainment and pace on crafted quotas
 * (as of a past day and now, per rep, team and manager). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api.h"

static double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }
static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void send(const api_ws *ws, const char *method, const char *path, const char *body)
{
    api_resp *r = api_send_json(method, path, ws->write, body);
    ck_assert_msg(r->status == 200 || r->status == 201, "%s %s: %ld %s", method, path, r->status, r->body);
    api_resp_free(r);
}

/* The calendar quarter holding the day `offset` days from today: its label,
 * and the offsets of its first and last day. */
typedef struct {
    char label[11];
    int first, last;
} quarter;

static quarter quarter_at(int offset)
{
    quarter q;
    char other[11];
    api_quarter_of_day(offset, q.label);
    q.first = q.last = offset;
    while (strcmp(api_quarter_of_day(q.first - 1, other), q.label) == 0)
        q.first--;
    while (strcmp(api_quarter_of_day(q.last + 1, other), q.label) == 0)
        q.last++;
    return q;
}

static void rep(const api_ws *ws, const char *id, const char *manager, const char *label, long quota)
{
    char path[64], body[256];
    snprintf(path, sizeof path, "/v1/reps/%s", id);
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"role\":\"ae\",\"manager\":%s%s%s,\"quotas\":{\"%s\":%ld}}", id,
             manager ? "\"" : "", manager ? manager : "null", manager ? "\"" : "", label, quota);
    send(ws, "PUT", path, body);
}

/* A deal won on day `won_day` (offset from today), created 30 days before. */
static void won(const api_ws *ws, const char *id, const char *owner, long amount, int won_day)
{
    char path[64], body[400], c[11], w[11];
    snprintf(path, sizeof path, "/v1/deals/%s", id);
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"amount\":%ld,\"stage\":\"closed_won\",\"status\":\"won\",\"owner\":\"%s\","
             "\"created_at\":\"%sT00:00:00Z\",\"closed_at\":\"%sT10:00:00Z\"}",
             id, amount, owner, api_day(won_day - 30, c), api_day(won_day, w));
    send(ws, "PUT", path, body);
}

static const json_t *row(const json_t *att, const char *key)
{
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(att, "items"), i, r) if (strcmp(str(r, "key"), key) == 0) return r;
    ck_abort_msg("no row %s", key);
    return NULL;
}

static double r4(double v) { return round(v * 10000) / 10000; }

/* mia manages ann and bob, bob manages dan; cy has no manager. A quarter
 * that has ended, looked at from day 45 of it and from today. */
START_TEST(attainment_and_pace_on_crafted_quotas)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    quarter q = quarter_at(-200);
    int len = q.last - q.first + 1;
    rep(&ws, "mia", NULL, q.label, 250000);
    rep(&ws, "ann", "mia", q.label, 100000);
    rep(&ws, "bob", "mia", q.label, 50000);
    rep(&ws, "cy", NULL, q.label, 80000);
    rep(&ws, "dan", "bob", q.label, 20000);
    won(&ws, "a1", "ann", 30000, q.first + 10);
    won(&ws, "a2", "ann", 30000, q.first + 40);
    won(&ws, "b1", "bob", 10000, q.first + 20);
    won(&ws, "d1", "dan", 5000, q.first + 50); /* after day 45 */
    won(&ws, "x1", "ann", 99000, q.first - 5); /* the quarter before */
    /* open since day 5, closing on the quarter's last day, 50% */
    char path[128], body[400], at[11], close[11];
    snprintf(body, sizeof body,
             "{\"as_of\":\"%sT12:00:00Z\",\"name\":\"o1\",\"amount\":40000,\"stage\":\"proposal\","
             "\"probability\":0.5,\"owner\":\"ann\",\"expected_close_date\":\"%s\"}",
             api_day(q.first + 5, at), api_day(q.last, close));
    send(&ws, "PUT", "/v1/deals/o1", body);

    char asof[11];
    api_day(q.first + 45, asof);
    snprintf(path, sizeof path, "/v1/attainment?period=%s&as_of=%s", q.label, asof);
    api_resp *r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    const json_t *a = r->json;
    ck_assert_str_eq(str(a, "as_of_rule"), "reconstructed");
    ck_assert_str_eq(str(a, "method_used"), "weighted");
    ck_assert(num(a, "elapsed_share") == r4(45.0 / len));
    const json_t *ann = row(a, "ann");
    ck_assert(num(ann, "quota") == 100000 && num(ann, "won") == 60000);
    ck_assert(num(ann, "attainment") == 0.6);
    double exp_to_date = round(100000.0 * 45 / len * 100) / 100;
    ck_assert_msg(num(ann, "expected_to_date") == exp_to_date, "%f vs %f", num(ann, "expected_to_date"), exp_to_date);
    ck_assert(fabs(num(ann, "pace_gap") - (60000 - exp_to_date)) < 0.005);
    ck_assert(num(ann, "pace") == r4(0.6 / (45.0 / len)));
    ck_assert_str_eq(str(ann, "pace_status"), "on_pace");
    ck_assert_msg(num(ann, "projected") == 80000, "%s", r->body); /* 60,000 won + 40,000 x 0.5 */
    ck_assert(num(ann, "projected_attainment") == 0.8);
    const json_t *dan = row(a, "dan");
    ck_assert(num(dan, "won") == 0 && num(dan, "attainment") == 0);
    ck_assert_str_eq(str(dan, "pace_status"), "behind");
    ck_assert(num(dan, "pace_gap") == -round(20000.0 * 45 / len * 100) / 100);
    const json_t *t = json_object_get(a, "total");
    ck_assert(num(t, "quota") == 500000 && num(t, "won") == 70000 && num(t, "projected") == 90000);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "members")), 5);
    api_resp_free(r);

    /* teams: a manager's direct reports */
    snprintf(path, sizeof path, "/v1/attainment?period=%s&as_of=%s&group_by=team", q.label, asof);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    const json_t *tm = row(r->json, "mia");
    ck_assert(num(tm, "quota") == 150000 && num(tm, "won") == 70000 && num(tm, "projected") == 90000);
    ck_assert_int_eq(json_integer_value(json_object_get(tm, "members")), 2);
    const json_t *none = row(r->json, "(no manager)");
    ck_assert(num(none, "quota") == 330000 && num(none, "won") == 0);
    ck_assert(num(row(r->json, "bob"), "quota") == 20000);
    api_resp_free(r);

    /* managers: everyone beneath, at any depth; the manager's own quota apart */
    snprintf(path, sizeof path, "/v1/attainment?period=%s&as_of=%s&group_by=manager", q.label, asof);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    const json_t *m = row(r->json, "mia");
    ck_assert(num(m, "quota") == 170000 && num(m, "won") == 70000 && num(m, "own_quota") == 250000);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "members")), 3);
    ck_assert(num(row(r->json, "bob"), "own_quota") == 50000);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 2);
    api_resp_free(r);

    /* today: the quarter is over, everything it won counts, nothing open can still close in it */
    snprintf(path, sizeof path, "/v1/attainment?period=%s", q.label);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "as_of_rule"), "current");
    ck_assert(num(r->json, "elapsed_share") == 1);
    ck_assert(num(row(r->json, "dan"), "won") == 5000 && num(row(r->json, "dan"), "attainment") == 0.25);
    ck_assert(num(row(r->json, "ann"), "projected") == 60000);
    ck_assert(num(row(r->json, "ann"), "pace") == 0.6);
    ck_assert(num(json_object_get(r->json, "total"), "won") == 75000);
    api_resp_free(r);

    /* another workspace sees none of it */
    r = api_get(path, other.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    ck_assert(json_is_null(json_object_get(json_object_get(r->json, "total"), "quota")));
    api_resp_free(r);
}
END_TEST

START_TEST(attainment_bad_input)
{
    api_ws ws;
    api_new_workspace(&ws);
    char path[96], d[11];
    snprintf(path, sizeof path, "/v1/attainment?as_of=%s", api_day(1, d));
    const char *bad[] = {"/v1/attainment?group_by=region", "/v1/attainment?period=2026-Q5",
                         "/v1/attainment?as_of=2026-02-30", path, "/v1/attainment?perod=2026-Q1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        api_resp *r = api_get(bad[i], ws.read);
        ck_assert_status(r, 422);
        ck_assert_str_eq(r->content_type, "application/problem+json");
        api_resp_free(r);
    }
    api_resp *r = api_get("/v1/attainment", NULL);
    ck_assert_status(r, 401);
    api_resp_free(r);
    r = api_get("/v1/attainment?group_by=manager", ws.read); /* an empty workspace: rows none, no crash */
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    api_resp_free(r);
}
END_TEST

Suite *reps_suite(void)
{
    Suite *s = suite_create("reps");
    TCase *t = tcase_create("attainment");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, attainment_and_pace_on_crafted_quotas);
    tcase_add_test(t, attainment_bad_input);
    suite_add_tcase(s, t);
    return s;
}

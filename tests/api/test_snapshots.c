/* test_snapshots.c - snapshots, one deal of each change kind, the waterfall, the scheduler. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api.h"

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

static void put_deal(const api_ws *ws, const char *id, const char *amount, const char *stage, const char *status,
                     const char *close, const char *owner)
{
    char path[96], body[512];
    snprintf(path, sizeof path, "/v1/deals/%s", id);
    snprintf(body, sizeof body,
             "{\"name\":\"Deal %s\",\"amount\":%s,\"stage\":\"%s\",\"status\":\"%s\",\"expected_close_date\":\"%s\","
             "\"owner\":\"%s\"}",
             id, amount, stage, status, close, owner);
    api_resp *r = api_send_json("PUT", path, ws->write, body);
    ck_assert_msg(r->status == 200 || r->status == 201, "PUT %s: %ld %s", id, r->status, r->body);
    api_resp_free(r);
}

static void snapshot(const api_ws *ws, const char *label, char *id, size_t len)
{
    char body[128];
    snprintf(body, sizeof body, "{\"label\":\"%s\"}", label);
    api_resp *r = api_send_json("POST", "/v1/snapshots", ws->write, body);
    ck_assert_status(r, 201);
    snprintf(id, len, "%s", str(r->json, "id"));
    api_resp_free(r);
}

/* A deal write at noon UTC of day `at` (event time), as a CRM would have sent it then. */
static void put_at(const api_ws *ws, const char *id, const char *at, const char *fields)
{
    char path[96], body[640];
    snprintf(path, sizeof path, "/v1/deals/%s", id);
    snprintf(body, sizeof body, "{\"as_of\":\"%sT12:00:00Z\",\"name\":\"Deal %s\",%s}", at, id, fields);
    api_resp *r = api_send_json("PUT", path, ws->write, body);
    ck_assert_msg(r->status == 200 || r->status == 201, "PUT %s: %ld %s", id, r->status, r->body);
    api_resp_free(r);
}

static const json_t *category_of(const json_t *summary, const char *cat)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(summary, "by_category"), i,
                       c) if (strcmp(str(c, "category"), cat) == 0) return c;
    return NULL;
}

/* Close dates relative to the real today: today is inside the current quarter
 * and not yet past; 100 days on is after it (no quarter is longer than 92). */
static char IN[11], OUT[11];
static void dates(void)
{
    api_day(0, IN);
    api_day(100, OUT);
}

START_TEST(one_deal_of_each_change_kind)
{
    dates();
    api_ws ws;
    api_new_workspace(&ws);
    put_deal(&ws, "won", "1000", "proposal", "open", IN, "ann");
    put_deal(&ws, "lost", "2000", "proposal", "open", IN, "ann");
    put_deal(&ws, "pushed", "3000", "proposal", "open", IN, "ann");
    put_deal(&ws, "pulled", "4000", "proposal", "open", OUT, "ann");
    put_deal(&ws, "up", "5000", "proposal", "open", IN, "ann");
    put_deal(&ws, "down", "6000", "proposal", "open", IN, "ann");
    put_deal(&ws, "adv", "7000", "opportunity", "open", IN, "ann");
    put_deal(&ws, "reg", "8000", "proposal", "open", IN, "ann");
    put_deal(&ws, "owner", "9000", "proposal", "open", IN, "ann");
    put_deal(&ws, "gone", "1100", "proposal", "open", IN, "ann");
    char a[40], b[40];
    snapshot(&ws, "before", a, sizeof a);

    api_resp *r;
    char path[160];
    snprintf(path, sizeof path, "/v1/snapshots/%s", a);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    json_t *sum = json_object_get(r->json, "summary");
    ck_assert_int_eq(json_integer_value(json_object_get(sum, "open_deals")), 10);
    ck_assert(num(sum, "total") == 46100);
    /* weighted: proposal 60%, opportunity 22.5%: 39100 x 0.6 + 7000 x 0.225 */
    ck_assert_msg(num(sum, "weighted") == 39100 * 0.6 + 1575, "weighted %f", num(sum, "weighted"));
    ck_assert(num(sum, "in_period") == 42100);
    api_resp_free(r);

    put_deal(&ws, "won", "1000", "closed_won", "won", IN, "ann");
    put_deal(&ws, "lost", "2000", "closed_lost", "lost", IN, "ann");
    put_deal(&ws, "pushed", "3000", "proposal", "open", OUT, "ann");
    put_deal(&ws, "pulled", "4000", "proposal", "open", IN, "ann");
    put_deal(&ws, "up", "5500.01", "proposal", "open", IN, "ann");
    put_deal(&ws, "down", "5999.99", "proposal", "open", IN, "ann");
    put_deal(&ws, "adv", "7000", "proposal", "open", IN, "ann");
    put_deal(&ws, "reg", "8000", "opportunity", "open", IN, "ann");
    put_deal(&ws, "owner", "9000", "proposal", "open", IN, "bob");
    put_deal(&ws, "new", "1200", "proposal", "open", IN, "ann");
    r = api_req("DELETE", "/v1/deals/gone", ws.write, NULL, NULL, 0, NULL);
    ck_assert_status(r, 204);
    api_resp_free(r);
    snapshot(&ws, "after", b, sizeof b);

    snprintf(path, sizeof path, "/v1/snapshots/%s/diff?against=%s", b, a);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    json_t *counts = json_object_get(r->json, "counts");
    const char *kinds[] = {"new",       "won",         "lost",           "pushed",          "pulled_in",
                           "amount_up", "amount_down", "stage_advanced", "stage_regressed", "owner_changed",
                           "removed"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        ck_assert_msg(json_integer_value(json_object_get(counts, kinds[i])) == 1, "%s: %s", kinds[i], r->body);
    ck_assert_int_eq(json_integer_value(json_object_get(counts, "reopened")), 0);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "changes")), 11);
    json_t *w = json_object_get(r->json, "waterfall");
    ck_assert(num(w, "start") == 46100);
    ck_assert(num(w, "won") == 1000 && num(w, "lost") == 2000 && num(w, "removed") == 1100);
    ck_assert(num(w, "new") == 1200);
    ck_assert_msg(num(w, "amount_up") == 500.01 && num(w, "amount_down") == 0.01, "%s", r->body);
    /* parts add up to the cent */
    long long end = (long long)(num(w, "end") * 100 + 0.5);
    long long parts = (long long)((num(w, "start") + num(w, "new") + num(w, "reopened") + num(w, "amount_up") -
                                   num(w, "amount_down") - num(w, "won") - num(w, "lost") - num(w, "removed")) *
                                      100 +
                                  0.5);
    ck_assert_int_eq(end, parts);
    ck_assert_int_eq(end, 4370000); /* 3000 + 4000 + 5500.01 + 5999.99 + 7000 + 8000 + 9000 + 1200 */
    json_t *pp = json_object_get(r->json, "period_pipeline");
    ck_assert(num(pp, "pushed") == 3000 && num(pp, "pulled_in") == 4000);
    api_resp_free(r);

    /* rows, paginated; the snapshot is immutable and cached by ETag */
    snprintf(path, sizeof path, "/v1/snapshots/%s?include=deals&limit=4", b);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    json_t *deals = json_object_get(r->json, "deals");
    ck_assert_int_eq(json_array_size(json_object_get(deals, "items")), 4);
    ck_assert_str_eq(str(deals, "next_cursor"), "new"); /* adv, down, lost, new */
    char etag[128], inm[160];
    snprintf(etag, sizeof etag, "%s", r->etag);
    api_resp_free(r);
    snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
    const char *h[] = {inm, NULL};
    r = api_req("GET", path, ws.read, NULL, NULL, 0, h);
    ck_assert_status(r, 304);
    api_resp_free(r);

    r = api_get("/v1/snapshots", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 2);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "items"), 0), "label"), "after"); /* newest first */
    api_resp_free(r);

    api_ws other;
    api_new_workspace(&other);
    snprintf(path, sizeof path, "/v1/snapshots/%s/diff?against=%s", b, a);
    r = api_get(path, other.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/snapshots/%s", a);
    r = api_req("DELETE", path, ws.write, NULL, NULL, 0, NULL);
    ck_assert_status(r, 403);
    api_resp_free(r);
    r = api_req("DELETE", path, ws.admin, NULL, NULL, 0, NULL);
    ck_assert_status(r, 204);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/snapshots", ws.write, "{\"as_of\":\"yesterday\"}");
    ck_assert_status(r, 422);
    api_resp_free(r);
}
END_TEST

START_TEST(two_daemons_take_each_scheduled_snapshot_once)
{
    dates();
    api_ws ws;
    api_new_workspace(&ws);
    put_deal(&ws, "d1", "1000", "proposal", "open", IN, "ann");
    api_resp *r = api_send_json("PATCH", "/v1/workspace", ws.admin,
                                "{\"snapshot_schedule\":\"daily\",\"snapshot_hour\":0,\"timezone\":\"UTC\"}");
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "snapshot_schedule"), "daily");
    api_resp_free(r);
    const char *fast[] = {"--scheduler-interval", "1", NULL};
    int p1 = api_free_port(), p2 = api_free_port();
    pid_t a = api_spawn_server(api_db_url(), p1, fast);
    pid_t b = api_spawn_server(api_db_url(), p2, fast);
    ck_assert(api_wait_healthy(p1, 10000) && api_wait_healthy(p2, 10000));
    sleep(4);
    kill(a, SIGTERM);
    kill(b, SIGTERM);
    int st;
    waitpid(a, &st, 0);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    waitpid(b, &st, 0);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    r = api_get("/v1/snapshots", ws.read);
    json_t *items = json_object_get(r->json, "items");
    ck_assert_msg(json_array_size(items) == 1, "%s", r->body);
    ck_assert_str_eq(str(json_array_get(items, 0), "kind"), "daily");
    api_resp_free(r);
    r = api_send_json("PATCH", "/v1/workspace", ws.admin, "{\"snapshot_schedule\":null}");
    ck_assert_status(r, 200);
    ck_assert(json_is_null(json_object_get(r->json, "snapshot_schedule")));
    api_resp_free(r);
}
END_TEST

START_TEST(weekly_pipeline_review)
{
    dates();
    char quarter[11], late[11], monday[11], sunday[11], rep[96];
    api_quarter_of_day(0, quarter);
    api_day(-40, late);
    api_week(0, monday, sunday);
    api_ws ws;
    api_new_workspace(&ws);
    snprintf(rep, sizeof rep, "{\"name\":\"Ann\",\"quotas\":{\"%s\":20000}}", quarter);
    api_resp *r = api_send_json("PUT", "/v1/reps/ann", ws.write, rep);
    ck_assert_msg(r->status == 200 || r->status == 201, "%s", r->body);
    api_resp_free(r);
    /* once a workspace has reps, a deal's owner must be one (issue 15): bob, without a quota */
    r = api_send_json("PUT", "/v1/reps/bob", ws.write, "{\"name\":\"Bob\"}");
    ck_assert_msg(r->status == 200 || r->status == 201, "%s", r->body);
    api_resp_free(r);
    put_deal(&ws, "big", "9000", "proposal", "open", IN, "ann");
    put_deal(&ws, "late", "4000", "proposal", "open", late, "ann"); /* past its close date */
    put_deal(&ws, "small", "1000", "opportunity", "open", IN, "ann");
    put_deal(&ws, "bobs", "50000", "proposal", "open", IN, "bob");
    char path[128];
    snprintf(path, sizeof path, "/v1/pipeline/review?owner=ann&week=%s", IN); /* this week: the deals are new in it */
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "week_start"), monday);
    ck_assert_str_eq(str(r->json, "week_end"), sunday);
    json_t *top = json_object_get(r->json, "top_deals");
    ck_assert_int_eq(json_array_size(top), 3);
    ck_assert_str_eq(str(json_array_get(top, 0), "deal"), "big");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(json_array_get(top, 1), "risks"), 0)),
                     "past its close date");
    json_t *h = json_object_get(r->json, "health");
    ck_assert(num(h, "pipeline") == 14000);
    ck_assert(num(h, "coverage") == 0.7); /* 14000 / 20000 */
    /* deal-age adjusted (seed phase 4): late is 40 days past its close date, aging, at 50% */
    ck_assert(num(h, "age_adjusted_pipeline") == 9000 + 4000 * 0.5 + 1000);
    ck_assert(num(h, "age_adjusted_coverage") == 0.6);
    ck_assert(json_is_null(json_object_get(h, "win_rate")) && json_is_null(json_object_get(h, "required_pipeline")));
    ck_assert(num(json_object_get(h, "new_pipeline"), "amount") == 14000);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "actions")), 2);
    api_resp_free(r);
    const char *md[] = {"Accept: text/markdown", NULL};
    r = api_req("GET", path, ws.read, NULL, NULL, 0, md);
    ck_assert_status(r, 200);
    char heading[96];
    snprintf(heading, sizeof heading, "## Weekly Pipeline Review — ann — %s", monday);
    ck_assert_ptr_nonnull(strstr(r->body, heading));
    ck_assert_ptr_nonnull(strstr(r->body, "| Deal big | $9000.00 | proposal |"));
    ck_assert_ptr_nonnull(strstr(r->body, "- Coverage: 0.7x vs 3.0x target"));
    ck_assert_ptr_nonnull(strstr(r->body, "- Deal-age adjusted coverage: 0.6x"));
    api_resp_free(r);
    r = api_get("/v1/pipeline/review?week=last-week", ws.read);
    ck_assert_status(r, 422);
    api_resp_free(r);
    /* one won, one lost this quarter: required pipeline = quota / win rate = 20,000 / 50% */
    put_deal(&ws, "won", "2000", "closed_won", "won", IN, "ann");
    put_deal(&ws, "lost", "3000", "closed_lost", "lost", IN, "ann");
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    h = json_object_get(r->json, "health");
    ck_assert(num(h, "win_rate") == 0.5);
    ck_assert(num(h, "required_pipeline") == 40000);
    ck_assert(num(h, "age_adjusted_coverage") == 0.67); /* 12,000 / (20,000 - 2,000 won) */
    api_resp_free(r);
    r = api_req("GET", path, ws.read, NULL, NULL, 0, md);
    ck_assert_ptr_nonnull(strstr(r->body, "- Required pipeline (quota ÷ 50.0% win rate): $40000.00"));
    api_resp_free(r);
}
END_TEST

/* A snapshot for a past moment is the pipeline known then (issue 16): a at its
 * amount then (1,000, not the 5,000 of day -10), c open (won only on day -8), b
 * absent (created on day -5). by_category follows the funnel: proposal deals
 * without a category of their own are best_case, opportunity ones pipeline. */
START_TEST(a_past_snapshot_is_the_pipeline_known_then)
{
    char d30[11], d15[11], d10[11], d8[11], d5[11], close[11], body[128], path[128];
    api_day(-30, d30);
    api_day(-15, d15);
    api_day(-10, d10);
    api_day(-8, d8);
    api_day(-5, d5);
    api_day(20, close);
    char f[256];
    api_ws ws;
    api_new_workspace(&ws);
    snprintf(f, sizeof f, "\"amount\":1000,\"stage\":\"proposal\",\"owner\":\"ann\",\"expected_close_date\":\"%s\"",
             close);
    put_at(&ws, "a", d30, f);
    put_at(&ws, "a", d10, "\"amount\":5000,\"stage\":\"proposal\"");
    snprintf(f, sizeof f, "\"amount\":3000,\"stage\":\"opportunity\",\"owner\":\"ann\",\"expected_close_date\":\"%s\"",
             close);
    put_at(&ws, "c", d30, f);
    put_at(&ws, "c", d8, "\"stage\":\"closed_won\"");
    snprintf(f, sizeof f, "\"amount\":7000,\"stage\":\"proposal\",\"owner\":\"bob\",\"expected_close_date\":\"%s\"",
             close);
    put_at(&ws, "b", d5, f);

    snprintf(body, sizeof body, "{\"label\":\"then\",\"as_of\":\"%sT12:00:00Z\"}", d15);
    api_resp *r = api_send_json("POST", "/v1/snapshots", ws.write, body);
    ck_assert_status(r, 201);
    const json_t *sum = json_object_get(r->json, "summary");
    ck_assert_msg(json_integer_value(json_object_get(sum, "open_deals")) == 2, "%s", r->body);
    ck_assert_int_eq(json_integer_value(json_object_get(sum, "closed_deals")), 0);
    ck_assert(num(sum, "total") == 4000 && num(sum, "closed_won") == 0);
    ck_assert(num(sum, "weighted") == 1000 * 0.6 + 3000 * 0.225);
    const json_t *bc = category_of(sum, "best_case"), *pc = category_of(sum, "pipeline");
    ck_assert_ptr_nonnull(bc);
    ck_assert_ptr_nonnull(pc);
    ck_assert(json_integer_value(json_object_get(bc, "deals")) == 1 && num(bc, "amount") == 1000);
    ck_assert(json_integer_value(json_object_get(pc, "deals")) == 1 && num(pc, "amount") == 3000);
    ck_assert_int_eq(json_array_size(json_object_get(sum, "by_category")), 2);
    snprintf(path, sizeof path, "/v1/snapshots/%s?include=deals", str(r->json, "id"));
    api_resp_free(r);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    const json_t *items = json_object_get(json_object_get(r->json, "deals"), "items");
    ck_assert_int_eq(json_array_size(items), 2);
    ck_assert_str_eq(str(json_array_get(items, 0), "deal"), "a");
    ck_assert(num(json_array_get(items, 0), "amount") == 1000);
    ck_assert_str_eq(str(json_array_get(items, 1), "deal"), "c");
    ck_assert_str_eq(str(json_array_get(items, 1), "stage"), "opportunity");
    api_resp_free(r);

    /* now: a at 5,000 and b, both proposal: best case; c is won */
    r = api_send_json("POST", "/v1/snapshots", ws.write, "{\"label\":\"now\"}");
    ck_assert_status(r, 201);
    sum = json_object_get(r->json, "summary");
    ck_assert(num(sum, "total") == 12000);
    bc = category_of(sum, "best_case");
    ck_assert_ptr_nonnull(bc);
    ck_assert(json_integer_value(json_object_get(bc, "deals")) == 2 && num(bc, "amount") == 12000);
    ck_assert_ptr_null(category_of(sum, "pipeline"));
    api_resp_free(r);
}
END_TEST

/* A past week's review is the pipeline at the week's end (00:00 UTC of the next
 * Monday): old at its amount then, gone still open (won on day -3, after the
 * week), newer (created on day -3) not listed; commit counts old's own commit
 * category then, and nothing won yet. */
START_TEST(a_past_weeks_review_is_the_pipeline_then)
{
    char wk[11], monday[11], sunday[11], d30[11], d3[11], d2[11], f[256], path[128];
    api_day(-14, wk);
    api_week(-14, monday, sunday);
    api_day(-30, d30);
    api_day(-3, d3);
    api_day(-2, d2);
    api_ws ws;
    api_new_workspace(&ws);
    /* closing on day -14 itself: inside the quarter of the week (and past due by its end) */
    snprintf(f, sizeof f,
             "\"amount\":1000,\"stage\":\"proposal\",\"forecast_category\":\"commit\",\"owner\":\"ann\","
             "\"expected_close_date\":\"%s\"",
             wk);
    put_at(&ws, "old", d30, f);
    put_at(&ws, "old", d2, "\"amount\":9000,\"stage\":\"proposal\"");
    snprintf(f, sizeof f, "\"amount\":2000,\"stage\":\"proposal\",\"owner\":\"ann\",\"expected_close_date\":\"%s\"",
             wk);
    put_at(&ws, "gone", d30, f);
    put_at(&ws, "gone", d3, "\"stage\":\"closed_won\"");
    snprintf(f, sizeof f, "\"amount\":5000,\"stage\":\"proposal\",\"owner\":\"ann\",\"expected_close_date\":\"%s\"",
             wk);
    put_at(&ws, "newer", d3, f);

    snprintf(path, sizeof path, "/v1/pipeline/review?owner=ann&week=%s", wk);
    api_resp *r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "week_start"), monday);
    const json_t *top = json_object_get(r->json, "top_deals");
    ck_assert_msg(json_array_size(top) == 2, "%s", r->body);
    ck_assert_str_eq(str(json_array_get(top, 0), "deal"), "gone");
    ck_assert(num(json_array_get(top, 0), "amount") == 2000);
    ck_assert_str_eq(str(json_array_get(top, 1), "deal"), "old");
    ck_assert(num(json_array_get(top, 1), "amount") == 1000);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(json_array_get(top, 1), "risks"), 0)),
                     "past its close date");
    const json_t *fc = json_object_get(r->json, "forecast");
    ck_assert(num(json_object_get(fc, "commit"), "amount") == 1000);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(fc, "commit"), "deals")), 1);
    ck_assert(num(json_object_get(fc, "best_case"), "amount") == 1000);
    ck_assert(num(json_object_get(r->json, "health"), "pipeline") == 3000);
    api_resp_free(r);

    /* this week: today's data (gone won, newer and old at 9,000) */
    r = api_get("/v1/pipeline/review?owner=ann", ws.read);
    ck_assert_status(r, 200);
    top = json_object_get(r->json, "top_deals");
    ck_assert_int_eq(json_array_size(top), 2);
    ck_assert_str_eq(str(json_array_get(top, 0), "deal"), "old");
    ck_assert(num(json_array_get(top, 0), "amount") == 9000);
    api_resp_free(r);
}
END_TEST

Suite *snapshots_suite(void)
{
    Suite *s = suite_create("snapshots");
    TCase *tc = tcase_create("pipeline");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, one_deal_of_each_change_kind);
    tcase_add_test(tc, two_daemons_take_each_scheduled_snapshot_once);
    tcase_add_test(tc, weekly_pipeline_review);
    tcase_add_test(tc, a_past_snapshot_is_the_pipeline_known_then);
    tcase_add_test(tc, a_past_weeks_review_is_the_pipeline_then);
    suite_add_tcase(s, tc);
    return s;
}

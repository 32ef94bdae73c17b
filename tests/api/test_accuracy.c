/* test_accuracy.c - submitted calls, the accuracy report on crafted history
 * with known MAPE and bias, and the backtest's as-of reconstruction. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "api.h"

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

static json_t *send(const api_ws *ws, const char *method, const char *path, const char *body, long want)
{
    api_resp *r = api_send_json(method, path, ws->write, body);
    bool ok = r->status == want || ((want == 200 || want == 201) && (r->status == 200 || r->status == 201));
    ck_assert_msg(ok, "%s %s: %ld %s", method, path, r->status, r->body);
    json_t *j = json_incref(r->json);
    api_resp_free(r);
    return j;
}

/* A stored forecast's id (the caller's buffer). */
static void forecast(const api_ws *ws, const char *body, char *id, size_t len)
{
    json_t *j = send(ws, "POST", "/v1/forecasts", body, 201);
    snprintf(id, len, "%s", str(j, "id"));
    json_decref(j);
}

static void submit(const api_ws *ws, const char *fid, const char *body)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/forecasts/%s/submit", fid);
    json_decref(send(ws, "POST", path, body, 201));
}

/* The report row of (period, kind, key), or NULL. */
static const json_t *row_of(const json_t *rep, const char *period, const char *kind, const char *key)
{
    size_t i, k;
    json_t *p, *r;
    json_array_foreach(json_object_get(rep, "periods"), i, p) if (strcmp(str(p, "period"), period) == 0)
        json_array_foreach(json_object_get(p, "rows"), k,
                           r) if (strcmp(str(r, "kind"), kind) == 0 && strcmp(str(r, "key"), key) == 0) return r;
    return NULL;
}

static const json_t *point_of(const json_t *row, const char *horizon)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(row, "forecasts"), i, f) if (strcmp(str(f, "horizon"), horizon) == 0) return f;
    return NULL;
}

static const json_t *summary_of(const json_t *rep, const char *kind, const char *key, const char *horizon)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(rep, "summary"), i, s) if (strcmp(str(s, "kind"), kind) == 0 &&
                                                                  strcmp(str(s, "key"), key) == 0 &&
                                                                  strcmp(str(s, "horizon"), horizon) == 0) return s;
    return NULL;
}

/* Forecasts stored before the deals were won, so each one's number is known:
 * Q2 2026 at 03-31 (ann 6,000 + bob 4,500) and at 04-15 after ann's deal grew
 * on 04-10 (7,200 + 4,500); Q2 won ann 8,000 + bob 5,000. Q3 forecast 0, ann
 * won 4,000. The open deals exist from 03-01 (event time): a forecast as of a
 * past day sees only what existed then (the as-of rule).
 */
START_TEST(accuracy_of_crafted_history)
{
    api_ws ws;
    api_new_workspace(&ws);
    json_decref(send(&ws, "PUT", "/v1/reps/mia", "{\"name\":\"Mia\",\"role\":\"manager\"}", 201));
    json_decref(send(&ws, "PUT", "/v1/reps/ann", "{\"name\":\"Ann\",\"manager\":\"mia\"}", 201));
    json_decref(send(&ws, "PUT", "/v1/reps/bob", "{\"name\":\"Bob\",\"manager\":\"mia\"}", 201));
    json_decref(send(&ws, "PUT", "/v1/deals/o1",
                     "{\"name\":\"O1\",\"amount\":10000,\"stage\":\"proposal\",\"as_of\":\"2026-03-01T12:00:00Z\","
                     "\"owner\":\"ann\",\"expected_close_date\":\"2026-05-15\"}",
                     201));
    json_decref(send(&ws, "PUT", "/v1/deals/o2",
                     "{\"name\":\"O2\",\"amount\":20000,\"stage\":\"opportunity\",\"as_of\":\"2026-03-01T12:00:00Z\","
                     "\"owner\":\"bob\",\"expected_close_date\":\"2026-06-10\"}",
                     201));
    char f1[40], f2[40], f3[40];
    forecast(&ws,
             "{\"period\":\"2026-Q2\",\"group_by\":\"owner\",\"as_of\":\"2026-03-"
             "31\"}",
             f1, sizeof f1);
    json_decref(send(&ws, "PUT", "/v1/deals/o1",
                     "{\"name\":\"O1\",\"stage\":\"proposal\",\"amount\":12000,\"as_of\":\"2026-04-10T12:00:00Z\"}",
                     200));
    forecast(&ws,
             "{\"period\":\"2026-Q2\",\"group_by\":\"owner\",\"as_of\":\"2026-04-"
             "15\"}",
             f2, sizeof f2);
    forecast(&ws,
             "{\"period\":\"2026-Q3\",\"group_by\":\"owner\",\"as_of\":\"2026-06-"
             "30\"}",
             f3, sizeof f3);
    /* people's calls */
    submit(&ws, f1,
           "{\"submitted_by\":\"ann\",\"commit\":9000,\"best_case\":11000,\"as_"
           "of\":\"2026-03-30\"}");
    submit(&ws, f1,
           "{\"submitted_by\":\"mia\",\"commit\":12000,\"override\":14300,\"note\":\"team call\","
           "\"as_of\":\"2026-03-31\"}");
    submit(&ws, f1, "{\"submitted_by\":\"bob\",\"commit\":4000,\"as_of\":\"2026-03-31\"}");
    submit(&ws, f3, "{\"submitted_by\":\"ann\",\"commit\":5000,\"as_of\":\"2026-06-30\"}");
    /* what was won */
    json_decref(send(&ws, "PUT", "/v1/deals/w1",
                     "{\"name\":\"W1\",\"amount\":8000,\"stage\":\"closed_won\","
                     "\"owner\":\"ann\",\"closed_at\":\"2026-05-20T10:00:00Z\"}",
                     201));
    json_decref(send(&ws, "PUT", "/v1/deals/w2",
                     "{\"name\":\"W2\",\"amount\":5000,\"stage\":\"closed_won\","
                     "\"owner\":\"bob\",\"closed_at\":\"2026-06-01T10:00:00Z\"}",
                     201));
    json_decref(send(&ws, "PUT", "/v1/deals/w3",
                     "{\"name\":\"W3\",\"amount\":4000,\"stage\":\"closed_won\","
                     "\"owner\":\"ann\",\"closed_at\":\"2026-08-10T10:00:00Z\"}",
                     201));

    /* by method: Q2 at the start 10,500 vs 13,000; from 60 days out 11,700; Q3 0
     * vs 4,000 */
    api_resp *r = api_get("/v1/forecasts/accuracy?group_by=method", ws.read);
    ck_assert_status(r, 200);
    const json_t *row = row_of(r->json, "2026-Q2", "engine", "weighted");
    ck_assert_ptr_nonnull(row);
    ck_assert(num(row, "actual") == 13000);
    const json_t *pt = point_of(row, "period_start");
    ck_assert_str_eq(str(pt, "id"), f1);
    ck_assert(num(pt, "forecast") == 10500 && num(pt, "error") == -2500);
    ck_assert(num(pt, "ape") == 19.23 && num(pt, "bias") == -19.23);
    ck_assert_str_eq(str(point_of(row, "lead_90d"), "id"), f1); /* 2026-07-01 - 90 days = 04-02: before f2 */
    pt = point_of(row, "lead_60d");
    ck_assert_str_eq(str(pt, "id"), f2);
    ck_assert(num(pt, "forecast") == 11700 && num(pt, "ape") == 10 && num(pt, "bias") == -10);
    ck_assert_str_eq(str(point_of(row, "lead_30d"), "id"), f2);
    row = row_of(r->json, "2026-Q3", "engine", "weighted");
    ck_assert(num(row, "actual") == 4000 && num(point_of(row, "period_start"), "ape") == 100);
    ck_assert_str_eq(str(point_of(row, "lead_60d"), "id"), f3); /* the only Q3 forecast, made before every cutoff */
    const json_t *s = summary_of(r->json, "engine", "weighted", "period_start");
    ck_assert_int_eq(json_integer_value(json_object_get(s, "periods")), 2);
    ck_assert(num(s, "mape") == 59.62 && num(s, "bias") == -59.62); /* (19.2308 + 100) / 2 */
    ck_assert_str_eq(str(s, "direction"), "under");
    ck_assert_str_eq(str(s, "grade"), "broken");
    s = summary_of(r->json, "engine", "weighted", "lead_60d");
    ck_assert(num(s, "mape") == 55 && num(s, "abs_error") == 5300); /* (10 + 100) / 2; 1,300 + 4,000 */
    ck_assert_str_eq(str(s, "grade"), "broken");
    /* people: ann over-forecasts (+12.5% then +25%), mia's override +10% of her
     * team, bob under */
    s = summary_of(r->json, "submission", "ann", "period_start");
    ck_assert_int_eq(json_integer_value(json_object_get(s, "periods")), 2);
    ck_assert(num(s, "mape") == 18.75 && num(s, "bias") == 18.75);
    ck_assert_str_eq(str(s, "direction"), "over");
    ck_assert_str_eq(str(s, "grade"), "needs_work");
    row = row_of(r->json, "2026-Q2", "submission", "mia");
    ck_assert(num(row, "actual") == 13000); /* her team: ann and bob */
    ck_assert(num(point_of(row, "period_start"), "forecast") == 14300);
    s = summary_of(r->json, "submission", "mia", "period_start");
    ck_assert(num(s, "mape") == 10 && num(s, "bias") == 10);
    ck_assert_str_eq(str(s, "direction"), "over");
    s = summary_of(r->json, "submission", "bob", "period_start");
    ck_assert(num(s, "bias") == -20);
    ck_assert_str_eq(str(s, "direction"), "under");
    api_resp_free(r);

    /* by owner: the owner-grouped forecasts' groups against each owner's wins */
    r = api_get("/v1/forecasts/accuracy?group_by=owner", ws.read);
    ck_assert_status(r, 200);
    row = row_of(r->json, "2026-Q2", "engine", "ann");
    ck_assert(num(row, "actual") == 8000);
    ck_assert(num(point_of(row, "period_start"), "ape") == 25 && num(point_of(row, "lead_30d"), "bias") == -10);
    row = row_of(r->json, "2026-Q3", "engine", "bob");
    ck_assert(num(row, "actual") == 0);
    ck_assert(json_is_null(json_object_get(point_of(row, "period_start"), "ape"))); /* nothing won: no percentage */
    s = summary_of(r->json, "engine", "bob", "period_start");
    ck_assert_int_eq(json_integer_value(json_object_get(s, "periods")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(s, "forecasts")), 2);
    api_resp_free(r);

    /* a range: only Q3 */
    r = api_get("/v1/forecasts/accuracy?from=2026-07-01&to=2026-09-30", ws.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "periods")), 1);
    ck_assert_ptr_null(row_of(r->json, "2026-Q2", "engine", "weighted"));
    api_resp_free(r);
    r = api_get("/v1/forecasts/accuracy?group_by=region&from=2026-13-01", ws.read);
    ck_assert_status(r, 422);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "errors")), 2);
    api_resp_free(r);

    /* the forecast lists its calls */
    char path[96];
    snprintf(path, sizeof path, "/v1/forecasts/%s", f1);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    const json_t *subs = json_object_get(r->json, "submissions");
    ck_assert_int_eq(json_array_size(subs), 3);
    const json_t *m = json_array_get(subs, 1);
    ck_assert_str_eq(str(m, "submitted_by"), "mia");
    ck_assert(num(m, "call") == 14300 && num(m, "commit") == 12000 && num(m, "override") == 14300);
    ck_assert_str_eq(str(m, "note"), "team call");
    ck_assert(json_is_null(json_object_get(json_array_get(subs, 0), "override")));
    api_resp_free(r);

    /* another workspace sees none of it */
    api_ws other;
    api_new_workspace(&other);
    r = api_get("/v1/forecasts/accuracy", other.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "periods")), 0);
    api_resp_free(r);
}
END_TEST

START_TEST(submit_roles_validation_and_isolation)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    json_decref(send(&ws, "PUT", "/v1/reps/ann", "{\"name\":\"Ann\"}", 201));
    json_decref(send(&other, "PUT", "/v1/reps/ann", "{\"name\":\"Ann\"}", 201));
    char fid[40], path[96];
    forecast(&ws, "{\"period\":\"2026-Q2\"}", fid, sizeof fid);
    snprintf(path, sizeof path, "/v1/forecasts/%s/submit", fid);
    const char *call = "{\"submitted_by\":\"ann\",\"commit\":1000}";
    api_resp *r = api_send_json("POST", path, ws.read, call);
    ck_assert_status(r, 403); /* a call needs write */
    api_resp_free(r);
    r = api_send_json("POST", path, other.write, call);
    ck_assert_status(r, 404); /* another workspace's forecast */
    api_resp_free(r);
    r = api_send_json("POST", "/v1/forecasts/not-a-uuid/submit", ws.write, call);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_send_json("POST", path, ws.write, "{\"submitted_by\":\"zed\",\"commit\":1000}");
    ck_assert_status(r, 422); /* no such rep */
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "errors"), 0), "field"), "submitted_by");
    api_resp_free(r);
    r = api_send_json("POST", path, ws.write,
                      "{\"submitted_by\":\"ann\",\"commit\":1000,\"best_case\":"
                      "900,\"upside\":-1,\"as_of\":\"2999-01-01\","
                      "\"extra\":1}");
    ck_assert_status(r, 422);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "errors")), 4);
    api_resp_free(r);
    r = api_send_json("POST", path, ws.write, "{\"commit\":1000.005}");
    ck_assert_status(r, 422); /* submitted_by missing, a third decimal */
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "errors")), 2);
    api_resp_free(r);
    r = api_send_json("POST", path, ws.write, call);
    ck_assert_status(r, 201);
    ck_assert(num(r->json, "call") == 1000);
    ck_assert_str_eq(str(r->json, "forecast_id"), fid);
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/forecasts/%s", fid);
    r = api_get(path, other.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_get(path, ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "submissions")), 1);
    api_resp_free(r);
}
END_TEST

static void put_at(const api_ws *ws, const char *id, const char *at, const char *fields)
{
    char path[96], body[512];
    snprintf(path, sizeof path, "/v1/deals/%s", id);
    snprintf(body, sizeof body, "{\"as_of\":\"%sT12:00:00Z\",\"name\":\"%s\",%s}", at, id, fields);
    json_decref(send(ws, "PUT", path, body, 200));
}

/* 2026-Q2 as of 2026-04-01: old (10,000 commit, grew to 50,000 on 04-10),
 * stage (opportunity then, proposal from 04-20), won (proposal then, won
 * 05-01); new (created 04-15) must not count; gone was lost before. */
START_TEST(backtest_rebuilds_the_pipeline_as_of_the_period_start)
{
    api_ws ws;
    api_new_workspace(&ws);
    put_at(&ws, "gone", "2026-01-10",
           "\"amount\":9000,\"stage\":\"proposal\",\"expected_close_date\":"
           "\"2026-03-01\"");
    put_at(&ws, "gone", "2026-03-01", "\"stage\":\"closed_lost\"");
    put_at(&ws, "old", "2026-02-01",
           "\"amount\":10000,\"stage\":\"proposal\",\"forecast_category\":"
           "\"commit\",\"expected_close_date\":\"2026-05-15\"");
    put_at(&ws, "stage", "2026-02-01",
           "\"amount\":20000,\"stage\":\"opportunity\",\"expected_close_date\":"
           "\"2026-06-01\"");
    put_at(&ws, "won", "2026-02-01",
           "\"amount\":7000,\"stage\":\"proposal\",\"expected_close_date\":"
           "\"2026-05-01\"");
    put_at(&ws, "old", "2026-04-10", "\"amount\":50000,\"stage\":\"proposal\"");
    put_at(&ws, "new", "2026-04-15",
           "\"amount\":30000,\"stage\":\"proposal\",\"expected_close_date\":"
           "\"2026-06-15\"");
    put_at(&ws, "stage", "2026-04-20", "\"stage\":\"proposal\"");
    put_at(&ws, "won", "2026-05-01", "\"stage\":\"closed_won\"");
    put_at(&ws, "new", "2026-06-20", "\"stage\":\"closed_won\"");

    api_resp *r = api_send_json("POST", "/v1/forecasts/backtest", ws.read,
                                "{\"periods\":[\"2026-Q2\"],\"method\":\"all\",\"include_deals\":true}");
    ck_assert_status(r, 200);
    const json_t *p = json_array_get(json_object_get(r->json, "periods"), 0);
    ck_assert_str_eq(str(p, "as_of"), "2026-04-01");
    ck_assert_int_eq(json_integer_value(json_object_get(p, "open_deals")), 3);
    ck_assert(num(p, "open_amount") == 37000);
    ck_assert(num(p, "actual") == 37000); /* won 7,000 + new 30,000 */
    const json_t *deals = json_object_get(p, "deals");
    ck_assert_int_eq(json_array_size(deals), 3);
    const json_t *d0 = json_array_get(deals, 0), *d1 = json_array_get(deals, 1), *d2 = json_array_get(deals, 2);
    ck_assert_str_eq(str(d0, "id"), "old");
    ck_assert(num(d0, "amount") == 10000); /* its amount then, not the 50,000 of 04-10 */
    ck_assert_str_eq(str(d1, "id"), "stage");
    ck_assert_str_eq(str(d1, "stage"), "opportunity"); /* its stage then */
    ck_assert_str_eq(str(d1, "stage_entered_at"), "2026-02-01");
    ck_assert_str_eq(str(d2, "id"), "won");
    ck_assert_str_eq(str(d2, "stage"), "proposal");
    ck_assert(!json_is_true(json_object_get(d0, "close_estimated")));
    const json_t *res = json_object_get(p, "results");
    const json_t *w = json_array_get(res, 0), *c = json_array_get(res, 1), *h = json_array_get(res, 2);
    ck_assert_str_eq(str(w, "method"), "weighted");
    ck_assert(num(w, "forecast") == 14700); /* 6,000 + 20,000 x 22.5% + 4,200 */
    ck_assert(num(w, "error") == -22300 && num(w, "ape") == 60.27 && num(w, "bias") == -60.27);
    ck_assert_str_eq(str(c, "method"), "category");
    ck_assert(num(c, "forecast") == 17700); /* commit at 90%: 9,000 + 4,500 + 4,200 */
    ck_assert(num(c, "ape") == 52.16);
    ck_assert_str_eq(str(h, "method"), "historical");
    const json_t *s = json_array_get(json_object_get(r->json, "summary"), 0);
    ck_assert(num(s, "mape") == 60.27);
    ck_assert_str_eq(str(s, "direction"), "under");
    ck_assert_str_eq(str(s, "grade"), "broken");
    api_resp_free(r);

    /* from/to with one method; the same numbers */
    r = api_send_json("POST", "/v1/forecasts/backtest", ws.read,
                      "{\"from\":\"2026-04-01\",\"to\":\"2026-06-30\",\"method\":"
                      "\"category\"}");
    ck_assert_status(r, 200);
    p = json_array_get(json_object_get(r->json, "periods"), 0);
    ck_assert_str_eq(str(p, "period"), "2026-Q2");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "periods")), 1);
    ck_assert_int_eq(json_array_size(json_object_get(p, "results")), 1);
    ck_assert(num(json_array_get(json_object_get(p, "results"), 0), "forecast") == 17700);
    ck_assert_ptr_null(json_object_get(p, "deals"));
    api_resp_free(r);

    /* a period not over and one that is no period; an unknown method; both forms
     */
    r = api_send_json("POST", "/v1/forecasts/backtest", ws.read, "{\"periods\":[\"2099-Q1\",\"2026-Q9\"]}");
    ck_assert_status(r, 422);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "errors")), 2);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "errors"), 0), "field"), "periods[0]");
    api_resp_free(r);
    r = api_send_json("POST", "/v1/forecasts/backtest", ws.read, "{\"periods\":[\"2026-Q2\"],\"method\":\"magic\"}");
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/forecasts/backtest", ws.read, "{\"periods\":[\"2026-Q2\"],\"from\":\"2026-01-01\"}");
    ck_assert_status(r, 422);
    api_resp_free(r);

    /* another workspace replays its own (empty) history */
    api_ws other;
    api_new_workspace(&other);
    r = api_send_json("POST", "/v1/forecasts/backtest", other.read, "{\"periods\":[\"2026-Q2\"]}");
    ck_assert_status(r, 200);
    p = json_array_get(json_object_get(r->json, "periods"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "open_deals")), 0);
    ck_assert(num(p, "actual") == 0);
    ck_assert(json_is_null(json_object_get(json_array_get(json_object_get(p, "results"), 0), "ape")));
    api_resp_free(r);
}
END_TEST

/* Won history: three deals won 10, 20 and 30 days after entering proposal.
 * x entered proposal 7 days before 2026-04-01 without a close date: the won
 * deals that took 7+ days have a median of 20, so it is expected 04-14, in
 * Q2; y has been in proposal 59 days, longer than any won deal: no period. */
START_TEST(undated_deals_get_a_close_date_from_history)
{
    api_ws ws;
    api_new_workspace(&ws);
    const char *won_on[] = {"2026-01-11", "2026-01-21", "2026-01-31"};
    for (int i = 0; i < 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "h%d", i + 1);
        put_at(&ws, id, "2026-01-01", "\"amount\":1000,\"stage\":\"proposal\"");
        put_at(&ws, id, won_on[i], "\"stage\":\"closed_won\"");
    }
    put_at(&ws, "x", "2026-03-25", "\"amount\":10000,\"stage\":\"proposal\"");
    put_at(&ws, "y", "2026-02-01", "\"amount\":50000,\"stage\":\"proposal\"");

    api_resp *r = api_send_json("POST", "/v1/forecasts", ws.write, "{\"period\":\"2026-Q2\",\"as_of\":\"2026-04-01\"}");
    ck_assert_status(r, 201);
    ck_assert(num(r->json, "weighted") == 6000); /* x at 60%; y in no period */
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(r->json, "close_dates_estimated"), "deals")),
                     2);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(r->json, "close_dates_estimated"), "in_no_period")), 1);
    ck_assert(num(json_object_get(r->json, "at_risk"), "amount") == 0); /* an estimated date is nobody's promise */
    api_resp_free(r);
    r = api_send_json("POST", "/v1/forecasts", ws.write, "{\"period\":\"2026-Q3\",\"as_of\":\"2026-04-01\"}");
    ck_assert_status(r, 201);
    ck_assert(num(r->json, "weighted") == 0); /* x is expected in Q2 */
    api_resp_free(r);

    r = api_send_json("POST", "/v1/forecasts/backtest", ws.read,
                      "{\"periods\":[\"2026-Q2\"],\"method\":\"weighted\",\"include_deals\":true}");
    ck_assert_status(r, 200);
    const json_t *p = json_array_get(json_object_get(r->json, "periods"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "close_dates_estimated")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "never_closing")), 1);
    const json_t *x = json_array_get(json_object_get(p, "deals"), 0),
                 *y = json_array_get(json_object_get(p, "deals"), 1);
    ck_assert_str_eq(str(x, "id"), "x");
    ck_assert_str_eq(str(x, "expected_close_date"), "2026-04-14");
    ck_assert(json_is_true(json_object_get(x, "close_estimated")));
    ck_assert(json_is_null(json_object_get(y, "expected_close_date")));
    ck_assert(num(json_array_get(json_object_get(p, "results"), 0), "forecast") == 6000);
    api_resp_free(r);
}
END_TEST

/* The as-of rule, learned method: 40 deals created and closed in 2025 and
 * early 2026 (enough history), a 2026-Q2 backtest and a forecast as of
 * 2026-04-01; then deals created, won and lost after that day are added and
 * neither may change by a cent. A forecast as of 04-01 counts no win after it. */
START_TEST(learned_backtest_sees_nothing_after_as_of)
{
    api_ws ws;
    api_new_workspace(&ws);
    char id[32], at[32], fields[160];
    for (int i = 0; i < 40; i++) {
        snprintf(id, sizeof id, "h%d", i);
        snprintf(at, sizeof at, "2025-%02d-%02d", 3 + i % 9, 1 + i % 27);
        snprintf(fields, sizeof fields, "\"amount\":%d,\"stage\":\"proposal\"", 1000 + 100 * i);
        put_at(&ws, id, at, fields);
        snprintf(at, sizeof at, "2025-%02d-%02d", 4 + i % 9, 1 + (i * 7) % 27);
        put_at(&ws, id, at, i % 3 ? "\"stage\":\"closed_won\"" : "\"stage\":\"closed_lost\"");
    }
    for (int i = 0; i < 6; i++) { /* open on 04-01 */
        snprintf(id, sizeof id, "o%d", i);
        snprintf(at, sizeof at, "2026-03-%02d", 1 + 4 * i);
        snprintf(fields, sizeof fields, "\"amount\":%d,\"stage\":\"proposal\"", 5000 + 1000 * i);
        put_at(&ws, id, at, fields);
    }
    const char *bt = "{\"periods\":[\"2026-Q2\"],\"method\":\"learned\"}";
    api_resp *r = api_send_json("POST", "/v1/forecasts/backtest", ws.read, bt);
    ck_assert_status(r, 200);
    const json_t *res =
        json_array_get(json_object_get(json_array_get(json_object_get(r->json, "periods"), 0), "results"), 0);
    ck_assert_str_eq(str(res, "method_used"), "learned");
    char *before = json_dumps(json_object_get(r->json, "periods"), JSON_SORT_KEYS);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/forecasts", ws.write, "{\"period\":\"2026-Q2\",\"as_of\":\"2026-04-01\"}");
    ck_assert_status(r, 201);
    ck_assert_str_eq(str(r->json, "method_used"), "learned");
    ck_assert_str_eq(str(r->json, "as_of_rule"), "reconstructed");
    ck_assert(json_is_true(json_object_get(json_object_get(r->json, "ranges"), "calibrated")));
    double expected = num(r->json, "expected");
    ck_assert(num(r->json, "closed_won") == 0);
    api_resp_free(r);
    /* later facts: o0 won on 04-10, new deals created and won after 04-01 */
    put_at(&ws, "o0", "2026-04-10", "\"stage\":\"closed_won\"");
    put_at(&ws, "o1", "2026-04-12", "\"stage\":\"closed_lost\"");
    for (int i = 0; i < 5; i++) {
        snprintf(id, sizeof id, "n%d", i);
        snprintf(at, sizeof at, "2026-04-%02d", 2 + i);
        put_at(&ws, id, at, "\"amount\":90000,\"stage\":\"proposal\"");
        snprintf(at, sizeof at, "2026-05-%02d", 2 + i);
        put_at(&ws, id, at, "\"stage\":\"closed_won\"");
    }
    r = api_send_json("POST", "/v1/forecasts/backtest", ws.read, bt);
    ck_assert_status(r, 200);
    /* the actual changed (the period's wins); every forecast figure did not */
    json_t *periods = json_object_get(r->json, "periods");
    json_t *p0 = json_array_get(periods, 0);
    ck_assert(num(p0, "actual") > 450000);
    json_t *b = json_loads(before, 0, NULL);
    free(before);
    json_t *bp = json_array_get(b, 0), *br = json_array_get(json_object_get(bp, "results"), 0),
           *ar = json_array_get(json_object_get(p0, "results"), 0);
    ck_assert(num(br, "forecast") == num(ar, "forecast"));
    ck_assert(num(br, "run_rate") == num(ar, "run_rate"));
    ck_assert(json_equal(json_object_get(br, "quantiles"), json_object_get(ar, "quantiles")));
    ck_assert(num(bp, "open_amount") == num(p0, "open_amount"));
    json_decref(b);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/forecasts", ws.write, "{\"period\":\"2026-Q2\",\"as_of\":\"2026-04-01\"}");
    ck_assert_status(r, 201);
    ck_assert(num(r->json, "expected") == expected);
    ck_assert(num(r->json, "closed_won") == 0);
    api_resp_free(r);
    /* as of 04-11 the win of 04-10 counts, and nothing created later does */
    r = api_send_json("POST", "/v1/forecasts", ws.write,
                      "{\"period\":\"2026-Q2\",\"as_of\":\"2026-04-11\",\"method\":\"weighted\"}");
    ck_assert_status(r, 201);
    ck_assert(num(r->json, "closed_won") == 5000);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/forecasts", ws.write, "{\"period\":\"2026-Q2\",\"as_of\":\"2099-01-01\"}");
    ck_assert_status(r, 422);
    api_resp_free(r);
}
END_TEST

/* The learned model is kept between requests (server/fccache.c): the same
 * forecast twice gives the same figures, and a backfilled past close (a
 * write to the workspace) is learned by the next forecast at once. */
START_TEST(learned_model_follows_a_backfill)
{
    api_ws ws;
    api_new_workspace(&ws);
    char id[32], at[16], fields[160];
    for (int i = 0; i < 40; i++) { /* created 400..361 days ago, closed 30 days later */
        snprintf(id, sizeof id, "h%d", i);
        snprintf(fields, sizeof fields, "\"amount\":%d,\"stage\":\"proposal\"", 1000 + 100 * i);
        put_at(&ws, id, api_day(-400 + i, at), fields);
        put_at(&ws, id, api_day(-370 + i, at), i % 3 ? "\"stage\":\"closed_won\"" : "\"stage\":\"closed_lost\"");
    }
    put_at(&ws, "open1", api_day(-20, at), "\"amount\":5000,\"stage\":\"proposal\"");
    char q[16], body[128];
    snprintf(body, sizeof body, "{\"period\":\"%s\",\"method\":\"learned\",\"explain\":true}",
             api_quarter_of_day(0, q));
    api_resp *r = api_send_json("POST", "/v1/forecasts", ws.write, body);
    ck_assert_status(r, 201);
    ck_assert_str_eq(str(r->json, "method_used"), "learned");
    const json_t *lj = json_object_get(r->json, "learned");
    ck_assert_int_eq(json_integer_value(json_object_get(lj, "closed_deals")), 40);
    double expected = num(r->json, "expected");
    api_resp_free(r);
    r = api_send_json("POST", "/v1/forecasts", ws.write, body);
    ck_assert_status(r, 201);
    ck_assert(num(r->json, "expected") == expected);
    api_resp_free(r);
    for (int i = 0; i < 10; i++) { /* backfill: ten more wins, long closed */
        snprintf(id, sizeof id, "b%d", i);
        put_at(&ws, id, api_day(-300 + i, at), "\"amount\":90000,\"stage\":\"proposal\"");
        put_at(&ws, id, api_day(-250 + i, at), "\"stage\":\"closed_won\"");
    }
    r = api_send_json("POST", "/v1/forecasts", ws.write, body);
    ck_assert_status(r, 201);
    lj = json_object_get(r->json, "learned");
    ck_assert_int_eq(json_integer_value(json_object_get(lj, "closed_deals")), 50);
    ck_assert_int_eq(json_integer_value(json_object_get(lj, "won_deals")), 36);
    ck_assert(num(r->json, "expected") != expected);
    api_resp_free(r);
}
END_TEST

static const json_t *trend_point(const json_t *t, const char *day)
{
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(t, "points"), i, p) if (strcmp(str(p, "as_of"), day) == 0) return p;
    return NULL;
}

/* 2026-Q2 week by week, weighted: a (10,000, 60%) open from 03-01 and won on
 * 05-10; c (5,000, 60%) open from 03-01, pushed out of the quarter on 04-22;
 * b (20,000, 60%) created 04-15. Each point sees only what was known then. */
START_TEST(trend_week_by_week_and_movers)
{
    api_ws ws;
    api_new_workspace(&ws);
    put_at(&ws, "a", "2026-03-01", "\"amount\":10000,\"stage\":\"proposal\",\"expected_close_date\":\"2026-05-15\"");
    put_at(&ws, "c", "2026-03-01", "\"amount\":5000,\"stage\":\"proposal\",\"expected_close_date\":\"2026-05-01\"");
    put_at(&ws, "b", "2026-04-15", "\"amount\":20000,\"stage\":\"proposal\",\"expected_close_date\":\"2026-06-20\"");
    put_at(&ws, "c", "2026-04-22", "\"expected_close_date\":\"2026-08-01\"");
    put_at(&ws, "a", "2026-05-10", "\"stage\":\"closed_won\"");
    api_resp *r = api_get("/v1/forecasts/trend?period=2026-Q2&method=weighted&from=2026-04-15&to=2026-05-12", ws.read);
    ck_assert_status(r, 200);
    const json_t *t = r->json;
    const json_t *pts = json_object_get(t, "points");
    ck_assert_str_eq(str(json_array_get(pts, 0), "as_of"), "2026-04-01");
    ck_assert_int_eq(json_array_size(pts), 15); /* 04-01, 13 Mondays 04-06 .. 06-29, 07-01 */
    ck_assert(num(trend_point(t, "2026-04-01"), "forecast") == 9000);
    ck_assert(num(trend_point(t, "2026-04-13"), "forecast") == 9000);  /* b is not there yet */
    ck_assert(num(trend_point(t, "2026-04-20"), "forecast") == 21000); /* b: +12,000 */
    ck_assert(num(trend_point(t, "2026-04-27"), "forecast") == 18000); /* c pushed out */
    const json_t *p = trend_point(t, "2026-05-11");
    ck_assert(num(p, "won") == 10000 && num(p, "forecast") == 22000);
    p = trend_point(t, "2026-07-01"); /* the end: the actual */
    ck_assert(num(p, "won") == 10000 && num(p, "forecast") == 10000 && num(p, "p90") == 10000);
    ck_assert_str_eq(str(p, "as_of_rule"), "reconstructed");
    const json_t *m = json_object_get(t, "movers");
    ck_assert_str_eq(str(m, "from"), "2026-04-13");
    ck_assert_str_eq(str(m, "to"), "2026-05-11");
    ck_assert(num(m, "change") == 13000);
    const json_t *k = json_object_get(m, "by_kind");
    ck_assert(num(k, "new") == 12000 && num(k, "won") == 4000 && num(k, "pushed") == -3000);
    ck_assert_str_eq(str(json_array_get(json_object_get(m, "deals"), 0), "deal"), "b");
    api_resp_free(r);
    r = api_get("/v1/forecasts/trend?period=2026-Q9", ws.read);
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_get("/v1/forecasts/trend", ws.read);
    ck_assert_status(r, 422);
    api_resp_free(r);
}
END_TEST

Suite *accuracy_suite(void)
{
    Suite *s = suite_create("accuracy");
    TCase *tc = tcase_create("accuracy");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, accuracy_of_crafted_history);
    tcase_add_test(tc, submit_roles_validation_and_isolation);
    tcase_add_test(tc, backtest_rebuilds_the_pipeline_as_of_the_period_start);
    tcase_add_test(tc, undated_deals_get_a_close_date_from_history);
    tcase_add_test(tc, learned_backtest_sees_nothing_after_as_of);
    tcase_add_test(tc, learned_model_follows_a_backfill);
    tcase_add_test(tc, trend_week_by_week_and_movers);
    suite_add_tcase(s, tc);
    return s;
}

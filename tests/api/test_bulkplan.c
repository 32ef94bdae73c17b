/* test_bulkplan.c - a history loaded in bulk is backtested at once: the query
 * plans of the backtest must not depend on statistics the planner does not
 * have yet (issue 16, point 4). */
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "forecast.h"

/* The shape of the reported workspace: two years of history, ~4,600 deals,
 * ~12,700 writes through POST /v1/deals/batch. */
#define BULK_DEALS 4600
#define BULK_FIRST_DAY (-760) /* the oldest creation, days from today */
#define BULK_LAST_DAY (-2)    /* nothing at or after yesterday: every event is history */
/* The API accepts 1,000 items a batch, but the test server takes bodies of
 * at most 64 KiB: 400 of these items fit. */
#define BULK_BATCH 400

typedef struct {
    int day;  /* event day, offset from today */
    int deal; /* deal number */
    int kind; /* 0 created, 1 moved, 2 moved again, 3 won, 4 lost */
    long amount;
    int close_in; /* expected close, days after the event (0: unchanged) */
} bulk_event;

/* Numerical Recipes' LCG: the same history on every run. */
static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static int lcg_range(uint32_t *s, int lo, int hi) { return lo + (int)(lcg(s) % (uint32_t)(hi - lo + 1)); }

static int by_time(const void *a, const void *b)
{
    const bulk_event *x = a, *y = b;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    if (x->deal != y->deal)
        return x->deal < y->deal ? -1 : 1;
    return x->kind - y->kind;
}

/* Every deal: created in sql with an amount and an expected
 * close date, moved up to twice (opportunity, proposal; an amount or close-date change),
 * then won or lost with closed_at, or still open at the end. */
static size_t generate(bulk_event *ev)
{
    uint32_t seed = 20260416u;
    size_t n = 0;
    for (int i = 0; i < BULK_DEALS; i++) {
        int day = lcg_range(&seed, BULK_FIRST_DAY, BULK_LAST_DAY - 20);
        long amount = 1000L * lcg_range(&seed, 5, 120);
        ev[n++] = (bulk_event){day, i, 0, amount, lcg_range(&seed, 30, 120)};
        int r = lcg_range(&seed, 0, 9), moves = r < 2 ? 0 : r < 9 ? 1 : 2;
        for (int m = 1; m <= moves; m++) {
            day += lcg_range(&seed, 3, 40);
            if (day > BULK_LAST_DAY)
                break;
            bool grow = lcg_range(&seed, 0, 2) == 0;
            ev[n++] = (bulk_event){day, i, m, grow ? amount + 1000L * lcg_range(&seed, 1, 20) : 0,
                                   lcg_range(&seed, 0, 1) ? lcg_range(&seed, 20, 90) : 0};
            if (grow)
                amount = ev[n - 1].amount;
        }
        int fate = lcg_range(&seed, 0, 19); /* 0-7 won, 8-16 lost, 17-19 stays open */
        day += lcg_range(&seed, 5, 60);
        if (fate < 17 && day <= BULK_LAST_DAY)
            ev[n++] = (bulk_event){day, i, fate < 8 ? 3 : 4, 0, 0};
    }
    qsort(ev, n, sizeof *ev, by_time);
    return n;
}

/* One statement (or several) on the test cluster; false with the error in err. */
static bool sql_run(const char *q, char *err, size_t len)
{
    PGconn *pg = PQconnectdb(api_db_url());
    PGresult *r = PQstatus(pg) == CONNECTION_OK ? PQexec(pg, q) : NULL;
    bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        snprintf(err, len, "%s: %s", q, PQerrorMessage(pg));
    PQclear(r);
    PQfinish(pg);
    return ok;
}

/* Statistics as a new install has them: autovacuum analysed the tables after
 * their first few rows (here an earlier workspace's 60 deals, and whatever
 * the suites before left) and has not come back since the bulk load. While
 * the test runs autovacuum is kept off these tables, so that it cannot
 * refresh them halfway (which would hide a blind plan); on again after it.
 * Unchecked fixtures: they run in the runner itself, after a failure too. */
static void autovacuum_set(const char *how)
{
    char q[256], err[512];
    snprintf(q, sizeof q, "ALTER TABLE deals %s; ALTER TABLE deal_changes %s; ALTER TABLE deal_stage_history %s", how,
             how, how);
    if (!sql_run(q, err, sizeof err))
        fprintf(stderr, "bulkplan: %s\n", err);
}

static void autovacuum_off(void) { autovacuum_set("SET (autovacuum_enabled = off)"); }
static void autovacuum_on(void) { autovacuum_set("RESET (autovacuum_enabled)"); }

static void post_batch(const api_ws *ws, json_t *items, long *written)
{
    json_t *body = json_pack("{s:o}", "items", items);
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    ck_assert_uint_lt(strlen(s), 65536);
    api_resp *r = api_send_json("POST", "/v1/deals/batch", ws->write, s);
    free(s);
    ck_assert_status(r, 200);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "rejected")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(r->json, "stale")), 0);
    *written += json_integer_value(json_object_get(r->json, "created")) +
                json_integer_value(json_object_get(r->json, "updated"));
    api_resp_free(r);
}

static json_t *item_of(const bulk_event *e)
{
    static const char *const stage[] = {NULL, "opportunity", "proposal", "closed_won", "closed_lost"};
    char id[16], at[32], day[11], close[11];
    snprintf(id, sizeof id, "bp-%04d", e->deal);
    api_day(e->day, day);
    snprintf(at, sizeof at, "%sT%02d:00:00Z", day, 8 + e->deal % 10);
    json_t *it = json_pack("{s:s, s:s, s:s}", "id", id, "name", id, "as_of", at);
    if (e->kind == 0) {
        json_object_set_new(it, "stage", json_string("sql"));
        json_object_set_new(it, "owner", json_string(e->deal % 2 ? "ann" : "bob"));
    } else {
        json_object_set_new(it, "stage", json_string(stage[e->kind]));
    }
    if (e->amount)
        json_object_set_new(it, "amount", json_integer(e->amount));
    if (e->close_in)
        json_object_set_new(it, "expected_close_date", json_string(api_day(e->day + e->close_in, close)));
    if (e->kind >= 3)
        json_object_set_new(it, "closed_at", json_string(at));
    return it;
}

/* The quarter `back` quarters before the one that holds today ("2026-Q3"). */
static void quarter_back(int back, char out[static 11])
{
    char q[11];
    api_quarter_of_day(0, q);
    int year = atoi(q), n = q[6] - '1'; /* 0-based */
    n -= back;
    while (n < 0) {
        n += 4;
        year--;
    }
    snprintf(out, 11, "%04d-Q%d", year, n + 1);
}

/* The reported case: the history loaded through POST /v1/deals/batch right
 * before a 4-quarter backtest. With statistics from before the load the
 * planner expected one row on each side of the backtest's joins, nested-looped
 * the workspace's history against its deals and ran past the 5 s statement
 * timeout (503); the contract is 200 within it. */
START_TEST(backtest_right_after_a_bulk_load)
{
    /* the statistics autovacuum would have taken early on: 60 deals of another workspace */
    api_ws early, ws;
    api_new_workspace(&early);
    json_t *items = json_array();
    for (int i = 0; i < 60; i++) {
        char id[16];
        snprintf(id, sizeof id, "e-%02d", i);
        json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:i}", "id", id, "name", id, "stage",
                                               i % 3 ? "proposal" : "closed_won", "amount", 1000 * (i + 1)));
    }
    long written = 0;
    post_batch(&early, items, &written);
    char err[512];
    ck_assert_msg(sql_run("ANALYZE deals, deal_changes, deal_stage_history", err, sizeof err), "%s", err);

    api_new_workspace(&ws);
    bulk_event *ev = malloc(sizeof *ev * BULK_DEALS * 4);
    ck_assert_ptr_nonnull(ev);
    size_t n = generate(ev);
    ck_assert_msg(n > 12000 && n < 13500, "%zu writes", n);
    written = 0;
    for (size_t at = 0; at < n; at += BULK_BATCH) {
        items = json_array();
        for (size_t k = at; k < n && k < at + BULK_BATCH; k++)
            json_array_append_new(items, item_of(&ev[k]));
        post_batch(&ws, items, &written);
    }
    free(ev);
    ck_assert_int_eq(written, (long)n);

    char q[4][11], body[160];
    for (int k = 0; k < 4; k++)
        quarter_back(4 - k, q[k]);
    snprintf(body, sizeof body, "{\"periods\":[\"%s\",\"%s\",\"%s\",\"%s\"],\"method\":\"all\"}", q[0], q[1], q[2],
             q[3]);
    api_resp *r = api_send_json("POST", "/v1/forecasts/backtest", ws.read, body);
    ck_assert_status(r, 200);
    const json_t *periods = json_object_get(r->json, "periods");
    ck_assert_int_eq(json_array_size(periods), 4);
    size_t i;
    json_t *p;
    json_array_foreach(periods, i, p)
    {
        /* the history is real: each quarter starts with an open pipeline and wins deals */
        ck_assert_msg(json_integer_value(json_object_get(p, "open_deals")) > 100, "%s: %lld open deals", q[i],
                      (long long)json_integer_value(json_object_get(p, "open_deals")));
        ck_assert_msg(json_number_value(json_object_get(p, "actual")) > 0, "%s: nothing won", q[i]);
    }
    /* The small calibration check of the API suite: this history is one
     * stationary process (creation, fates and timings drawn the same way
     * throughout), so the learned method, fitted and scored through the API,
     * must forecast it well and its P10-P90 must hold the actual in at least
     * half of the four quarters (it claims 80%), and beat the weighted
     * method's pinball loss. Measured on 2026-12-02: learned MAPE 9.33%, bias
     * +0.66%, 4 of 4 inside, pinball 3.89% of the actual; weighted 21.10%,
     * 0 of 4, 8.60%. The bounds leave room for the quarters' alignment, which
     * moves with the calendar. */
    double pin[FM__COUNT] = {0};
    const json_t *learned = NULL;
    json_array_foreach(json_object_get(r->json, "summary"), i, p)
    {
        fprintf(stderr, "bulkplan: %s MAPE %.2f bias %.2f coverage %.2f pinball %.2f%%\n",
                json_string_value(json_object_get(p, "method")), json_number_value(json_object_get(p, "mape")),
                json_number_value(json_object_get(p, "bias")),
                json_number_value(json_object_get(p, "coverage_p10_p90")),
                json_number_value(json_object_get(p, "pinball_loss_pct")));
        int m = forecast_method_parse(json_string_value(json_object_get(p, "method")));
        ck_assert(m >= 0);
        pin[m] = json_number_value(json_object_get(p, "pinball_loss_pct"));
        if (m == FM_LEARNED)
            learned = p;
    }
    ck_assert_ptr_nonnull(learned);
    ck_assert_msg(json_number_value(json_object_get(learned, "mape")) < 20, "learned MAPE %.2f",
                  json_number_value(json_object_get(learned, "mape")));
    ck_assert(json_number_value(json_object_get(learned, "coverage_p10_p90")) >= 0.5);
    ck_assert(pin[FM_LEARNED] < pin[FM_WEIGHTED]);
    api_resp_free(r);
}
END_TEST

Suite *bulkplan_suite(void)
{
    Suite *s = suite_create("bulkplan");
    TCase *tc = tcase_create("bulkplan");
    tcase_set_timeout(tc, 120);
    tcase_add_unchecked_fixture(tc, autovacuum_off, autovacuum_on);
    tcase_add_test(tc, backtest_right_after_a_bulk_load);
    suite_add_tcase(s, tc);
    return s;
}

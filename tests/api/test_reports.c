/* test_reports.c - the monthly review, the QBR and the one-page summary:
 * every number equals what the source endpoint (the dashboard) answers for
 * the same period, fetched in the test; Markdown sections; isolation, roles
 * and bad periods. Dates relative to today (api_day), so no test expires. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void send(const api_ws *ws, const char *method, const char *path, const char *body)
{
    api_resp *r = api_send_json(method, path, ws->write, body);
    ck_assert_msg(r->status == 200 || r->status == 201, "%s %s: %ld %s", method, path, r->status, r->body);
    api_resp_free(r);
}

/* A closed deal created on `created` and closed on `closed` (YYYY-MM-DD). */
static void closed_deal(const api_ws *ws, const char *id, const char *status, int amount, const char *created,
                        const char *closed)
{
    char path[64], body[400];
    snprintf(path, sizeof path, "/v1/deals/%s", id);
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"amount\":%d,\"stage\":\"closed_%s\",\"status\":\"%s\",\"owner\":\"ann\","
             "\"created_at\":\"%sT00:00:00Z\",\"closed_at\":\"%sT00:00:00Z\"%s}",
             id, amount, status, status, created, closed,
             strcmp(status, "lost") == 0 ? ",\"lost_reason\":\"price\"" : "");
    send(ws, "PUT", path, body);
}

/* An open deal as the CRM sent it at noon of `at`. */
static void open_deal(const api_ws *ws, const char *id, int amount, const char *at, const char *close)
{
    char path[64], body[400];
    snprintf(path, sizeof path, "/v1/deals/%s", id);
    snprintf(body, sizeof body,
             "{\"as_of\":\"%sT12:00:00Z\",\"name\":\"%s\",\"amount\":%d,\"stage\":\"proposal\",\"owner\":\"ann\","
             "\"expected_close_date\":\"%s\"}",
             at, id, amount, close);
    send(ws, "PUT", path, body);
}

static api_resp *get_ok(const char *path, const char *key)
{
    api_resp *r = api_get(path, key);
    ck_assert_msg(r->status == 200, "GET %s: %ld %.400s", path, r->status, r->body ? r->body : "");
    return r;
}

static api_resp *get_md(const char *path, const char *key)
{
    const char *h[] = {"Accept: text/markdown", NULL};
    api_resp *r = api_req("GET", path, key, NULL, NULL, 0, h);
    ck_assert_status(r, 200);
    ck_assert_msg(strncmp(r->content_type, "text/markdown", 13) == 0, "content type %s", r->content_type);
    return r;
}

/* Two JSON values are the same figure: both null, or the same number. */
static void same_figure(const json_t *a, const json_t *b, const char *what)
{
    if (json_is_null(b) || !b) {
        ck_assert_msg(json_is_null(a), "%s: %s where the source has null", what, json_dumps(a, JSON_ENCODE_ANY));
        return;
    }
    ck_assert_msg(json_is_number(a) && json_number_value(a) == json_number_value(b), "%s: report %s, source %s", what,
                  json_dumps(a, JSON_ENCODE_ANY), json_dumps(b, JSON_ENCODE_ANY));
}

static const json_t *dfig(const json_t *dash, const char *sec, const char *key)
{
    return json_object_get(json_object_get(dash, sec), key);
}

/* Where each report row's metric is on the dashboard (the reports' own table, restated). */
static const struct {
    const char *metric, *sec, *key;
} WHERE[] = {{"arr", "arr", "current"},
             {"net_new_arr", "arr", "net_new"},
             {"nrr", "retention", "nrr"},
             {"grr", "retention", "grr"},
             {"logo_retention", "retention", "logo_retention"},
             {"cac_payback_months", "efficiency", "cac_payback_months"},
             {"cac", "efficiency", "cac"},
             {"ltv_cac_ratio", "efficiency", "ltv_cac_ratio"},
             {"magic_number", "efficiency", "magic_number"},
             {"burn_multiple", "efficiency", "burn_multiple"},
             {"coverage_ratio", "pipeline", "coverage_ratio"},
             {"age_adjusted_coverage", "pipeline", "age_adjusted_coverage"},
             {"required_pipeline", "pipeline", "required_pipeline"},
             {"total_value", "pipeline", "total_value"},
             {"weighted_pipeline", "pipeline", "weighted_pipeline"},
             {"velocity_per_day", "pipeline", "velocity_per_day"},
             {"quota", "pipeline", "quota"},
             {"forecast_mape", "forecast", "mape"},
             {"forecast_expected", "forecast", "expected"},
             {"won", "operating", "won"},
             {"win_rate", "operating", "win_rate"},
             {"average_deal_size", "operating", "average_deal_size"},
             {"sales_cycle_days", "operating", "sales_cycle_days"},
             {"pipeline_created", "operating", "pipeline_created"},
             {"pipeline_created_target", "operating", "pipeline_created_target"},
             {"mql_to_sql", "conversion", "mql_to_sql"},
             {"sql_to_opp", "conversion", "sql_to_opp"},
             {"opp_to_closed_won", "conversion", "opp_to_closed_won"},
             {"full_funnel", "conversion", "full_funnel"}};

/* Every row's actual is the dashboard's figure of the period, its previous
 * the previous period's (when prev is given); returns how many rows. */
static size_t rows_match(const json_t *rows, const json_t *cur, const json_t *prev)
{
    size_t i;
    const json_t *r;
    json_array_foreach(rows, i, r)
    {
        const char *m = str(r, "metric");
        size_t k = 0;
        while (k < sizeof WHERE / sizeof WHERE[0] && strcmp(WHERE[k].metric, m) != 0)
            k++;
        ck_assert_msg(k < sizeof WHERE / sizeof WHERE[0], "row %s has no known source", m);
        same_figure(json_object_get(r, "actual"), dfig(cur, WHERE[k].sec, WHERE[k].key), m);
        if (prev)
            same_figure(json_object_get(r, "previous"), dfig(prev, WHERE[k].sec, WHERE[k].key), m);
    }
    return json_array_size(rows);
}

static const json_t *row_of(const json_t *rows, const char *metric)
{
    size_t i;
    const json_t *r;
    json_array_foreach(rows, i, r) if (strcmp(str(r, "metric"), metric) == 0) return r;
    ck_abort_msg("no row %s", metric);
    return NULL;
}

static bool has_item(const json_t *items, const char *key, const char *value)
{
    size_t i;
    const json_t *x;
    json_array_foreach(items, i, x) if (str(x, key) && strcmp(str(x, key), value) == 0) return true;
    return false;
}

static double num(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

/* The month before "YYYY-MM". */
static void month_before(const char *m, char out[16])
{
    unsigned y = (unsigned)atoi(m) % 10000, mo = (unsigned)atoi(m + 5) % 13;
    if (mo <= 1) {
        mo = 13;
        y--;
    }
    snprintf(out, 16, "%04u-%02u", y, mo - 1);
}

/* The quarter n quarters from "YYYY-Qk". */
static void quarter_shift(const char *q, int n, char out[16])
{
    int idx = atoi(q) * 4 + (q[6] - '1') + n;
    snprintf(out, 16, "%04d-Q%d", idx / 4, idx % 4 + 1);
}

/* Day `day` of the `k`th month (0-2) of quarter "YYYY-Qn". */
static void quarter_day(const char *q, int k, int day, char out[24])
{
    snprintf(out, 24, "%04d-%02d-%02d", atoi(q), (q[6] - '1') * 3 + 1 + k, day);
}

START_TEST(monthly_numbers_are_the_dashboards)
{
    api_ws ws;
    api_new_workspace(&ws);
    char d[11], M[8], P[16], body[600];
    api_day(-40, d); /* 40 days back: a month that has ended, whatever today is */
    snprintf(M, sizeof M, "%.7s", d);
    month_before(M, P);
    char m05[24], m10[24], m20[24], m25[24], p01[24], p05[24], p10[24], p20[24];
    snprintf(m05, sizeof m05, "%s-05", M);
    snprintf(m10, sizeof m10, "%s-10", M);
    snprintf(m20, sizeof m20, "%s-20", M);
    snprintf(m25, sizeof m25, "%s-25", M);
    snprintf(p01, sizeof p01, "%s-01", P);
    snprintf(p05, sizeof p05, "%s-05", P);
    snprintf(p10, sizeof p10, "%s-10", P);
    snprintf(p20, sizeof p20, "%s-20", P);
    snprintf(body, sizeof body, "{\"name\":\"Ann\",\"quotas\":{\"%s\":60000,\"%s\":40000}}", M, P);
    send(&ws, "PUT", "/v1/reps/ann", body);
    snprintf(body, sizeof body,
             "{\"items\":[{\"account\":\"A\",\"date\":\"%s\",\"kind\":\"new\",\"amount\":100000},"
             "{\"account\":\"B\",\"date\":\"%s\",\"kind\":\"new\",\"amount\":50000},"
             "{\"account\":\"A\",\"date\":\"%s\",\"kind\":\"expansion\",\"amount\":10000}]}",
             p10, m05, m10);
    send(&ws, "POST", "/v1/arr-events", body);
    closed_deal(&ws, "w0", "won", 20000, p01, p20); /* the previous month: 1 of 1 won */
    closed_deal(&ws, "w1", "won", 30000, p01, m10); /* the month: 1 won, 1 lost */
    closed_deal(&ws, "l1", "lost", 5000, p05, m20);
    open_deal(&ws, "o1", 10000, p05, m25);

    char path[96];
    snprintf(path, sizeof path, "/v1/reports/monthly?month=%s", M);
    api_resp *r = get_ok(path, ws.read);
    snprintf(path, sizeof path, "/v1/dashboard?period=%s&explain=true", M);
    api_resp *dm = get_ok(path, ws.read);
    snprintf(path, sizeof path, "/v1/dashboard?period=%s", P);
    api_resp *dp = get_ok(path, ws.read);
    const json_t *doc = r->json, *s = json_object_get(doc, "sections");
    ck_assert_str_eq(str(doc, "month"), M);
    ck_assert_str_eq(str(doc, "previous_month"), P);
    /* an ended month is as known at its end: the first of the next month */
    char next_first[24];
    int y = atoi(M), mo = atoi(M + 5) + 1;
    snprintf(next_first, sizeof next_first, "%04d-%02d-01", mo > 12 ? y + 1 : y, mo > 12 ? 1 : mo);
    ck_assert_str_eq(str(doc, "as_of"), next_first);
    char src[64];
    snprintf(src, sizeof src, "GET /v1/dashboard?period=%s", M);
    ck_assert_str_eq(
        json_string_value(json_array_get(json_object_get(json_object_get(s, "headline_metrics"), "source"), 0)), src);

    /* every headline, funnel and operating number is the dashboard's, this month and last */
    const json_t *hl = json_object_get(json_object_get(s, "headline_metrics"), "rows");
    ck_assert_uint_eq(rows_match(hl, dm->json, dp->json), 7);
    const json_t *op = json_object_get(json_object_get(s, "operating_metrics"), "rows");
    ck_assert_uint_eq(rows_match(op, dm->json, dp->json), 4);
    const json_t *fn = json_object_get(json_object_get(s, "funnel_analysis"), "rows");
    ck_assert_uint_eq(rows_match(fn, dm->json, dp->json), 4);
    size_t i;
    const json_t *x;
    json_array_foreach(fn, i, x)
    {
        const json_t *in =
            json_object_get(json_object_get(json_object_get(dm->json, "explain"), str(x, "metric")), "inputs");
        ck_assert_int_eq(json_integer_value(json_object_get(x, "volume")),
                         json_integer_value(json_object_get(in, "entered")));
    }
    /* the crafted month, exactly: won 30,000 of a 60,000 quota, last month 20,000 */
    const json_t *won = row_of(hl, "won");
    ck_assert(num(won, "actual") == 30000 && num(won, "target") == 60000 && num(won, "delta") == -30000);
    ck_assert(num(won, "previous") == 20000 && num(won, "change") == 10000);
    ck_assert_str_eq(str(won, "trend"), "up");
    ck_assert_str_eq(str(won, "arrow"), "↑");
    ck_assert_str_eq(str(won, "direction"), "better");
    const json_t *arr = row_of(hl, "arr");
    ck_assert(num(arr, "actual") == 160000 && num(arr, "previous") == 100000);
    ck_assert(json_is_null(json_object_get(arr, "target")));
    ck_assert(num(row_of(hl, "nrr"), "target") == 1.05);
    const json_t *wr = row_of(op, "win_rate");
    ck_assert(num(wr, "actual") == 0.5 && num(wr, "previous") == 1.0 && num(wr, "target") == 0.25);
    ck_assert_str_eq(str(wr, "direction"), "worse");
    /* movers: the win rate halved (what didn't), ARR and won grew (what worked) */
    const json_t *didnt = json_object_get(json_object_get(s, "what_didnt"), "items");
    const json_t *worked = json_object_get(json_object_get(s, "what_worked"), "items");
    ck_assert(has_item(didnt, "metric", "win_rate"));
    ck_assert(!has_item(worked, "metric", "win_rate"));
    /* what worked: the three largest improvements, largest first; no improved row left out is larger */
    ck_assert_uint_eq(json_array_size(worked), 3);
    double last = 2;
    json_array_foreach(worked, i, x)
    {
        ck_assert(num(x, "move_size") <= last);
        last = num(x, "move_size");
    }
    const json_t *all[] = {hl, op, fn};
    for (size_t k = 0; k < 3; k++)
        json_array_foreach(all[k], i, x)
        {
            if (!str(x, "direction") || strcmp(str(x, "direction"), "better") != 0 ||
                has_item(worked, "metric", str(x, "metric")))
                continue;
            double pv = num(x, "previous"), av = num(x, "actual");
            ck_assert_msg(fabs(av - pv) / fmax(fabs(av), fabs(pv)) <= last + 1e-4, "%s left out", str(x, "metric"));
        }
    /* nothing was versioned 40 days ago */
    ck_assert_int_eq(json_array_size(json_object_get(json_object_get(s, "process_changes"), "items")), 0);
    /* priorities: exactly the dashboard's red and yellow signals, red first; hygiene left out of a past month */
    const json_t *pr = json_object_get(s, "next_month_priorities");
    ck_assert(json_is_string(json_object_get(pr, "note")));
    size_t nsig = 0;
    json_array_foreach(json_object_get(dm->json, "health_signals"), i, x)
    {
        const char *st = str(x, "status");
        if (st && (strcmp(st, "red") == 0 || strcmp(st, "yellow") == 0)) {
            nsig++;
            ck_assert_msg(has_item(json_object_get(pr, "items"), "note", str(x, "note")), "no priority for %s",
                          str(x, "note"));
        }
    }
    ck_assert_uint_eq(json_array_size(json_object_get(pr, "items")), nsig);
    ck_assert_uint_gt(nsig, 0);
    ck_assert_str_eq(str(json_array_get(json_object_get(pr, "items"), 0), "status"), "red");

    snprintf(path, sizeof path, "/v1/reports/monthly?month=%s", M);
    api_resp *md = get_md(path, ws.read);
    static const char *const heads[] = {"## Monthly RevOps Review — ",
                                        "### Headline Metrics",
                                        "| Metric | Actual | Target | Δ | Trend |",
                                        "### Funnel Analysis",
                                        "| Stage | Volume | Conversion | vs. Last Month | vs. Target |",
                                        "### What Worked",
                                        "### What Didn't",
                                        "### Process Changes Made",
                                        "### Next Month Priorities",
                                        "| Closed won vs quota | $30,000 | $60,000 | -$30,000 | ↑ |"};
    for (size_t k = 0; k < sizeof heads / sizeof heads[0]; k++)
        ck_assert_msg(strstr(md->body, heads[k]), "markdown lacks \"%s\":\n%s", heads[k], md->body);
    api_resp_free(md);
    api_resp_free(r);
    api_resp_free(dm);
    api_resp_free(dp);
}
END_TEST

START_TEST(current_month_process_changes_and_hygiene)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_send_json("POST", "/v1/funnels", ws.write,
                                "{\"name\":\"Inbound\",\"stages\":[{\"name\":\"SQL\"},{\"name\":\"Demo\","
                                "\"probability\":0.3},{\"name\":\"Closed Won\"},{\"name\":\"Closed Lost\"}]}");
    ck_assert_status(r, 201);
    char path[96];
    snprintf(path, sizeof path, "/v1/funnels/%s", str(r->json, "id"));
    api_resp_free(r);
    const char *body = "{\"stages\":[{\"name\":\"SQL\"},{\"name\":\"Demo\",\"probability\":0.35},"
                       "{\"name\":\"Closed Won\"},{\"name\":\"Closed Lost\"}]}";
    const char *v1[] = {"If-Match: \"v1\"", NULL};
    r = api_req("PUT", path, ws.write, "application/json", body, strlen(body), v1);
    ck_assert_status(r, 200);
    api_resp_free(r);
    char today[11], later[11];
    char yesterday[11];
    api_day(0, today);
    open_deal(&ws, "nostep", 5000, api_day(-1, yesterday), api_day(20, later)); /* no custom.next_step */

    r = get_ok("/v1/reports/monthly", ws.read); /* default: the current month */
    char M[8];
    snprintf(M, sizeof M, "%.7s", today);
    ck_assert_str_eq(str(r->json, "month"), M);
    const json_t *s = json_object_get(r->json, "sections");
    const json_t *items = json_object_get(json_object_get(s, "process_changes"), "items");
    size_t i;
    const json_t *x;
    bool created = false, updated = false;
    json_array_foreach(items, i, x)
    {
        if (strcmp(str(x, "kind"), "funnel") != 0 || strcmp(str(x, "name"), "Inbound") != 0)
            continue;
        int v = (int)json_integer_value(json_object_get(x, "version"));
        created |= v == 1 && strcmp(str(x, "change"), "created") == 0;
        updated |= v == 2 && strcmp(str(x, "change"), "updated") == 0;
        ck_assert(strstr(str(x, "source"), "/versions") != NULL);
    }
    ck_assert_msg(created && updated, "funnel versions missing: %s", json_dumps(items, 0));
    /* this month's priorities carry the hygiene rules that are red or yellow now */
    const json_t *pr = json_object_get(s, "next_month_priorities");
    ck_assert(!json_object_get(pr, "note"));
    api_resp *h = get_ok("/v1/hygiene", ws.read);
    size_t nh = 0;
    json_array_foreach(json_object_get(h->json, "rules"), i, x)
    {
        const char *st = str(x, "status");
        if (strcmp(st, "red") != 0 && strcmp(st, "yellow") != 0)
            continue;
        char metric[80];
        snprintf(metric, sizeof metric, "hygiene.%s", str(x, "id"));
        ck_assert_msg(has_item(json_object_get(pr, "items"), "metric", metric), "no priority %s", metric);
        nh++;
    }
    ck_assert_uint_gt(nh, 0); /* the deal without a next step */
    api_resp_free(h);
    api_resp_free(r);
}
END_TEST

START_TEST(qbr_seven_parts_quarter_over_quarter)
{
    api_ws ws;
    api_new_workspace(&ws);
    char Q[11], QP[16], QN[16], body[400];
    api_quarter_of_day(-100, Q); /* an ended quarter */
    quarter_shift(Q, -1, QP);
    quarter_shift(Q, 1, QN);
    snprintf(body, sizeof body, "{\"name\":\"Ann\",\"quotas\":{\"%s\":80000,\"%s\":50000,\"%s\":90000}}", Q, QP, QN);
    send(&ws, "PUT", "/v1/reps/ann", body);
    /* the team: ann without dates; cy hired in the quarter's second month; dee left in its first */
    char hire[24], leave[24], long_ago[24];
    quarter_day(Q, 1, 1, hire);
    quarter_day(Q, 0, 15, leave);
    quarter_day(QP, 0, 1, long_ago);
    snprintf(body, sizeof body, "{\"name\":\"Cy\",\"start_date\":\"%s\"}", hire);
    send(&ws, "PUT", "/v1/reps/cy", body);
    snprintf(body, sizeof body, "{\"name\":\"Dee\",\"start_date\":\"%s\",\"end_date\":\"%s\"}", long_ago, leave);
    send(&ws, "PUT", "/v1/reps/dee", body);
    char a[24], b[24], c[24], e[24];
    quarter_day(QP, 0, 5, a);
    quarter_day(QP, 2, 10, b);
    closed_deal(&ws, "w0", "won", 25000, a, b);
    quarter_day(Q, 1, 10, c);
    quarter_day(Q, 2, 15, e);
    closed_deal(&ws, "w1", "won", 40000, a, c);
    closed_deal(&ws, "l1", "lost", 8000, a, e);
    closed_deal(&ws, "l2", "lost", 8000, a, e);

    char path[96];
    snprintf(path, sizeof path, "/v1/reports/qbr?quarter=%s", Q);
    api_resp *r = get_ok(path, ws.read);
    snprintf(path, sizeof path, "/v1/dashboard?period=%s", Q);
    api_resp *dq = get_ok(path, ws.read);
    snprintf(path, sizeof path, "/v1/dashboard?period=%s", QP);
    api_resp *dp = get_ok(path, ws.read);
    snprintf(path, sizeof path, "/v1/dashboard?period=%s", QN);
    api_resp *dn = get_ok(path, ws.read);
    const json_t *parts = json_object_get(r->json, "parts");
    static const char *const keys[] = {"results_vs_plan",  "gtm_efficiency",   "funnel_deep_dive", "pipeline_quality",
                                       "team_performance", "process_and_tech", "next_quarter_plan"};
    static const int order[] = {0, 2, 3, 1, 4, 5, 6}; /* keys[] index of part 1..7 */
    ck_assert_uint_eq(json_array_size(parts), 7);
    for (int k = 0; k < 7; k++) {
        const json_t *p = json_array_get(parts, (size_t)k);
        ck_assert_int_eq(json_integer_value(json_object_get(p, "part")), k + 1);
        ck_assert_str_eq(str(p, "key"), keys[order[k]]);
        const json_t *rows = json_object_get(p, "rows");
        if (k == 6)
            ck_assert_uint_gt(rows_match(rows, dn->json, NULL), 0);
        else if (rows)
            ck_assert_uint_gt(rows_match(rows, dq->json, dp->json), 0);
    }
    /* quarter over quarter: won 40,000 of 80,000 after 25,000; win rate 1/3 after 1/1 */
    const json_t *res = json_object_get(json_array_get(parts, 0), "rows");
    ck_assert(num(row_of(res, "won"), "actual") == 40000 && num(row_of(res, "won"), "previous") == 25000);
    ck_assert(num(row_of(res, "won"), "target") == 80000);
    const json_t *team = json_object_get(json_array_get(parts, 4), "rows");
    ck_assert(num(row_of(team, "win_rate"), "actual") == 0.3333 && num(row_of(team, "win_rate"), "previous") == 1);
    ck_assert_str_eq(str(row_of(team, "win_rate"), "trend"), "down");
    ck_assert(num(row_of(team, "average_deal_size"), "actual") == 40000);
    /* required pipeline = quota / win rate, as the dashboard gives it: 80,000 / (1/3) */
    const json_t *pq = json_object_get(json_array_get(parts, 2), "rows");
    ck_assert(num(row_of(pq, "required_pipeline"), "actual") == 240000);
    /* per rep: the attainment endpoint's rows as known at the quarter's end */
    char qend[24];
    quarter_day(QN, 0, 1, qend);
    snprintf(path, sizeof path, "/v1/attainment?period=%s&group_by=rep&as_of=%s", Q, qend);
    api_resp *at = get_ok(path, ws.read);
    const json_t *tp = json_array_get(parts, 4);
    ck_assert_msg(json_equal(json_object_get(tp, "reps"), json_object_get(at->json, "items")), "reps %s vs %s",
                  json_dumps(json_object_get(tp, "reps"), 0), json_dumps(json_object_get(at->json, "items"), 0));
    ck_assert(json_equal(json_object_get(tp, "reps_total"), json_object_get(at->json, "total")));
    ck_assert(num(json_array_get(json_object_get(tp, "reps"), 0), "attainment") == 0.5); /* 40,000 of 80,000 */
    api_resp_free(at);
    /* headcount 2 at the start (ann, dee), 2 at the end (ann, cy); cy in ramp month 2 or 3 (0% or 25%) */
    const json_t *tm = json_object_get(tp, "team");
    ck_assert_int_eq(json_integer_value(json_object_get(tm, "headcount_start")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(tm, "headcount_end")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(tm, "hired")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(tm, "departed")), 1);
    ck_assert(num(tm, "attrition_rate") == 0.5);
    ck_assert_int_eq(json_integer_value(json_object_get(tm, "ramping")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(tm, "without_start_date")), 1);
    const json_t *tprev = json_object_get(tm, "previous");
    ck_assert_int_eq(json_integer_value(json_object_get(tprev, "hired")), 1); /* dee */
    ck_assert_int_eq(json_integer_value(json_object_get(tprev, "departed")), 0);
    const json_t *next = json_array_get(parts, 6);
    ck_assert_str_eq(str(next, "quarter"), QN);
    ck_assert(num(row_of(json_object_get(next, "rows"), "quota"), "actual") == 90000);
    ck_assert(num(row_of(json_object_get(next, "rows"), "pipeline_created_target"), "actual") == 135000);
    api_resp_free(r);

    snprintf(path, sizeof path, "/v1/reports/qbr?quarter=%s", Q);
    api_resp *md = get_md(path, ws.read);
    static const char *const heads[] = {"## Quarterly Business Review — ",
                                        "### 1. Results vs. Plan (10 min)",
                                        "### 2. Funnel Deep Dive (15 min)",
                                        "### 3. Pipeline Quality (10 min)",
                                        "### 4. GTM Efficiency (10 min)",
                                        "### 5. Team Performance (10 min)",
                                        "| Rep | Quota | Won | Attainment | Pace | Projected attainment |",
                                        "| Ann | $80,000 | $40,000 | 50.0% |",
                                        "Team: headcount 2 → 2 (1 hired, 1 departed; attrition 50.0%); 1 ramping",
                                        "### 6. Process & Tech (10 min)",
                                        "### 7. Next Quarter Plan (15 min)"};
    for (size_t k = 0; k < sizeof heads / sizeof heads[0]; k++)
        ck_assert_msg(strstr(md->body, heads[k]), "markdown lacks \"%s\":\n%s", heads[k], md->body);
    api_resp_free(md);
    api_resp_free(dq);
    api_resp_free(dp);
    api_resp_free(dn);
}
END_TEST

/* A deal with a source (NULL: none), created on `created`, closed on
 * `closed` (NULL: open). */
static void sourced_deal(const api_ws *ws, const char *id, const char *source, const char *status, int amount,
                         const char *created, const char *closed)
{
    char path[64], body[500], src[64] = "", cl[64] = "";
    snprintf(path, sizeof path, "/v1/deals/%s", id);
    if (source)
        snprintf(src, sizeof src, ",\"source\":\"%s\"", source);
    if (closed)
        snprintf(cl, sizeof cl, ",\"closed_at\":\"%sT00:00:00Z\"", closed);
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"amount\":%d,\"stage\":\"%s%s\",\"status\":\"%s\",\"owner\":\"ann\","
             "\"created_at\":\"%sT00:00:00Z\"%s%s%s}",
             id, amount, closed ? "closed_" : "proposal", closed ? status : "", status, created, cl, src,
             strcmp(status, "lost") == 0 ? ",\"lost_reason\":\"price\"" : "");
    send(ws, "PUT", path, body);
}

static const json_t *source_row(const json_t *mix, const char *source)
{
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(mix, "sources"), i, r) if (strcmp(str(r, "source"), source) == 0) return r;
    ck_abort_msg("no source %s in %s", source, json_dumps(mix, 0));
    return NULL;
}

/* QBR part 3's source mix (seed: "Pipeline Quality: coverage, aging, source
 * mix") is GET /v1/pipeline/sources for the quarter and the one before, with
 * exact counts, amounts and shares; a deal created after the quarter never
 * appears, one won after it was open at its end. */
START_TEST(qbr_source_mix_is_the_pipeline_sources)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    char Q[11], QP[16], QN[16];
    api_quarter_of_day(-100, Q); /* an ended quarter */
    quarter_shift(Q, -1, QP);
    quarter_shift(Q, 1, QN);
    char q05[24], q06[24], q010[24], q11[24], q110[24], q21[24], q215[24], p05[24], p11[24], p21[24], n05[24], n020[24];
    quarter_day(Q, 0, 5, q05);
    quarter_day(Q, 0, 6, q06);
    quarter_day(Q, 0, 10, q010);
    quarter_day(Q, 1, 1, q11);
    quarter_day(Q, 1, 10, q110);
    quarter_day(Q, 2, 1, q21);
    quarter_day(Q, 2, 15, q215);
    quarter_day(QP, 0, 5, p05);
    quarter_day(QP, 1, 1, p11);
    quarter_day(QP, 2, 1, p21);
    quarter_day(QN, 0, 5, n05);
    quarter_day(QN, 0, 20, n020);
    sourced_deal(&ws, "w_web", "web", "won", 40000, q05, q110);
    sourced_deal(&ws, "l_web", "web", "lost", 10000, q06, q215);
    sourced_deal(&ws, "w_ev", "event", "won", 30000, p05, q110); /* created the quarter before */
    sourced_deal(&ws, "o_ref", "referral", "open", 50000, q11, NULL);
    sourced_deal(&ws, "o_none", NULL, "open", 20000, q21, NULL);
    sourced_deal(&ws, "w_late", "event", "won", 15000, q010, n020); /* open at the quarter's end */
    sourced_deal(&ws, "o_new", "web", "open", 99999, n05, NULL);    /* created after it: never counted */
    sourced_deal(&ws, "w_prev", "web", "won", 25000, p11, p21);

    char path[96];
    snprintf(path, sizeof path, "/v1/pipeline/sources?period=%s", Q);
    api_resp *m = get_ok(path, ws.read);
    const json_t *mix = m->json;
    ck_assert_str_eq(str(mix, "period"), Q);
    ck_assert(json_is_true(json_object_get(mix, "ended")));
    const json_t *rows = json_object_get(mix, "sources");
    ck_assert_uint_eq(json_array_size(rows), 4);
    /* the largest created pipeline first; a tie (50,000 each) by the open pipeline */
    ck_assert_str_eq(str(json_array_get(rows, 0), "source"), "referral");
    ck_assert_str_eq(str(json_array_get(rows, 1), "source"), "web");
    ck_assert_str_eq(str(json_array_get(rows, 2), "source"), "(none)");
    ck_assert_str_eq(str(json_array_get(rows, 3), "source"), "event");
    const json_t *web = source_row(mix, "web"), *ref = source_row(mix, "referral"), *none = source_row(mix, "(none)"),
                 *ev = source_row(mix, "event");
    ck_assert_int_eq(json_integer_value(json_object_get(web, "created_deals")), 2);
    ck_assert(num(web, "created_amount") == 50000 && num(web, "created_share") == 0.3704); /* 50,000 / 135,000 */
    ck_assert(num(web, "won_amount") == 40000 && num(web, "won_share") == 0.5714);         /* of 70,000 */
    ck_assert_int_eq(json_integer_value(json_object_get(web, "lost_deals")), 1);
    ck_assert(num(web, "win_rate") == 0.5);
    ck_assert(num(web, "open_amount") == 0 && num(web, "open_share") == 0);
    ck_assert(num(ref, "open_amount") == 50000 && num(ref, "open_share") == 0.5882); /* of 85,000 */
    ck_assert(json_is_null(json_object_get(ref, "win_rate")));                       /* nothing closed */
    ck_assert(num(none, "created_share") == 0.1481 && num(none, "open_share") == 0.2353);
    ck_assert_int_eq(json_integer_value(json_object_get(ev, "created_deals")), 1);
    ck_assert(num(ev, "created_amount") == 15000 && num(ev, "created_share") == 0.1111);
    ck_assert(num(ev, "won_amount") == 30000 && num(ev, "win_rate") == 1); /* w_ev; w_late won after the end */
    ck_assert(num(ev, "open_amount") == 15000 && num(ev, "open_share") == 0.1765);
    const json_t *t = json_object_get(mix, "total");
    ck_assert_int_eq(json_integer_value(json_object_get(t, "created_deals")), 5);
    ck_assert(num(t, "created_amount") == 135000 && num(t, "won_amount") == 70000 && num(t, "open_amount") == 85000);
    ck_assert(num(t, "win_rate") == 0.6667);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "open_deals")), 3);

    snprintf(path, sizeof path, "/v1/pipeline/sources?period=%s", QP);
    api_resp *mp = get_ok(path, ws.read);
    ck_assert(num(source_row(mp->json, "event"), "created_share") == 0.5455); /* 30,000 / 55,000 */
    ck_assert(num(source_row(mp->json, "web"), "created_share") == 0.4545);
    ck_assert(num(source_row(mp->json, "event"), "open_amount") == 30000); /* w_ev, won in Q */

    snprintf(path, sizeof path, "/v1/reports/qbr?quarter=%s", Q);
    api_resp *r = get_ok(path, ws.read);
    const json_t *p3 = json_array_get(json_object_get(r->json, "parts"), 2);
    ck_assert_str_eq(str(p3, "key"), "pipeline_quality");
    ck_assert_msg(json_equal(json_object_get(p3, "source_mix"), mix), "qbr %s vs %s",
                  json_dumps(json_object_get(p3, "source_mix"), 0), json_dumps(mix, 0));
    ck_assert(json_equal(json_object_get(p3, "source_mix_previous"), mp->json));
    char cited[96];
    snprintf(cited, sizeof cited, "GET /v1/pipeline/sources?period=%s", Q);
    bool found = false;
    size_t i;
    const json_t *s;
    json_array_foreach(json_object_get(p3, "source"), i, s) found = found || strcmp(json_string_value(s), cited) == 0;
    ck_assert_msg(found, "part 3 does not cite %s", cited);
    api_resp_free(r);
    api_resp *md = get_md(path, ws.read);
    ck_assert_msg(strstr(md->body, "| web | $50,000 (2) | 37.0% | 45.5% | $40,000 (1) | 50.0% | $0 |"), "%s", md->body);
    ck_assert_msg(strstr(md->body, "| referral | $50,000 (1) | 37.0% | — | $0 (0) | — | $50,000 |"), "%s", md->body);
    api_resp_free(md);

    /* another workspace sees none of it; roles; bad periods */
    snprintf(path, sizeof path, "/v1/pipeline/sources?period=%s", Q);
    api_resp *o = get_ok(path, other.read);
    ck_assert_uint_eq(json_array_size(json_object_get(o->json, "sources")), 0);
    ck_assert(json_is_null(json_object_get(json_object_get(o->json, "total"), "win_rate")));
    api_resp_free(o);
    o = get_ok("/v1/pipeline/sources", ws.read); /* the current quarter */
    ck_assert(json_is_false(json_object_get(o->json, "ended")));
    api_resp_free(o);
    o = api_get(path, NULL);
    ck_assert_status(o, 401);
    api_resp_free(o);
    static const char *const bad[] = {"/v1/pipeline/sources?period=2026-Q5", "/v1/pipeline/sources?period=bogus",
                                      "/v1/pipeline/sources?period=2026-13"};
    for (size_t k = 0; k < 3; k++) {
        o = api_get(bad[k], ws.read);
        ck_assert_msg(o->status == 422, "%s: %ld %s", bad[k], o->status, o->body);
        ck_assert_str_eq(o->content_type, "application/problem+json");
        api_resp_free(o);
    }
    api_resp_free(m);
    api_resp_free(mp);
}
END_TEST

/* QBR part 4 "GTM Efficiency: CAC, payback, magic number, by segment": the
 * quarter's GET /v1/metrics/unit-economics?by=segment, cited and equal. */
START_TEST(qbr_gtm_efficiency_by_segment)
{
    api_ws ws;
    api_new_workspace(&ws);
    char Q[11], day[24], body[400];
    api_quarter_of_day(-100, Q);
    quarter_day(Q, 1, 5, day);
    send(&ws, "PUT", "/v1/accounts/A", "{\"name\":\"A\",\"segment\":\"smb\"}");
    snprintf(body, sizeof body, "{\"items\":[{\"account\":\"A\",\"date\":\"%s\",\"kind\":\"new\",\"amount\":12000}]}",
             day);
    send(&ws, "POST", "/v1/arr-events", body);
    snprintf(body, sizeof body, "{\"period\":\"%s\",\"category\":\"marketing\",\"segment\":\"smb\",\"amount\":3000}",
             Q);
    send(&ws, "POST", "/v1/spend", body);
    char path[96];
    snprintf(path, sizeof path, "/v1/metrics/unit-economics?by=segment&period=%s", Q);
    api_resp *ue = get_ok(path, ws.read);
    char cited[112];
    snprintf(cited, sizeof cited, "GET %s", path);
    snprintf(path, sizeof path, "/v1/reports/qbr?quarter=%s", Q);
    api_resp *r = get_ok(path, ws.read);
    const json_t *p4 = json_array_get(json_object_get(r->json, "parts"), 3);
    ck_assert_str_eq(str(p4, "key"), "gtm_efficiency");
    ck_assert_msg(json_equal(json_object_get(p4, "by_segment"), ue->json), "qbr %s vs %s",
                  json_dumps(json_object_get(p4, "by_segment"), 0), json_dumps(ue->json, 0));
    const json_t *g = json_array_get(json_object_get(ue->json, "groups"), 0);
    ck_assert_str_eq(str(g, "group"), "smb");
    ck_assert(num(g, "cac") == 3000); /* 3,000 of spend / 1 new smb customer */
    bool found = false;
    size_t i;
    const json_t *s;
    json_array_foreach(json_object_get(p4, "source"), i, s) found = found || strcmp(json_string_value(s), cited) == 0;
    ck_assert_msg(found, "part 4 does not cite %s", cited);
    api_resp_free(r);
    api_resp *md = get_md(path, ws.read);
    ck_assert_msg(strstr(md->body, "| Segment | S&M spend | New customers | CAC | LTV | LTV:CAC | CAC payback |"), "%s",
                  md->body);
    ck_assert_msg(strstr(md->body, "| smb | $3,000 | 1 | $3,000 |"), "%s", md->body);
    api_resp_free(md);
    api_resp_free(ue);
}
END_TEST

START_TEST(summary_leads_with_the_answer)
{
    api_ws ws;
    api_new_workspace(&ws);
    char Q[11], body[200], today[11], old[11];
    api_quarter_of_day(0, Q);
    api_day(0, today);
    api_day(-200, old);
    snprintf(body, sizeof body, "{\"name\":\"Ann\",\"quotas\":{\"%s\":100000}}", Q);
    send(&ws, "PUT", "/v1/reps/ann", body);
    closed_deal(&ws, "w1", "won", 20000, old, today);
    closed_deal(&ws, "l1", "lost", 10000, old, today);
    open_deal(&ws, "o1", 10000, old, today);

    char path[96];
    snprintf(path, sizeof path, "/v1/reports/summary?period=%s", Q);
    api_resp *r = get_ok(path, ws.read);
    snprintf(path, sizeof path, "/v1/dashboard?period=%s", Q);
    api_resp *d = get_ok(path, ws.read);
    const json_t *a = json_object_get(r->json, "answer"), *df = json_object_get(d->json, "forecast");
    same_figure(json_object_get(a, "quota"), dfig(d->json, "pipeline", "quota"), "quota");
    same_figure(json_object_get(a, "expected"), json_object_get(df, "expected"), "expected");
    same_figure(json_object_get(a, "p10"), json_object_get(df, "p10"), "p10");
    same_figure(json_object_get(a, "p90"), json_object_get(df, "p90"), "p90");
    same_figure(json_object_get(a, "won"), dfig(d->json, "operating", "won"), "won");
    ck_assert(num(a, "quota") == 100000 && num(a, "won") == 20000);
    /* 20,000 won and 10,000 open against 100,000: even the P90 misses */
    ck_assert(num(df, "p90") < 100000);
    ck_assert_str_eq(str(a, "will_we_hit"), "no");
    double gap = round((100000 - num(df, "expected")) * 100) / 100;
    ck_assert(num(a, "gap") == gap);
    const json_t *risk = json_object_get(r->json, "largest_risk");
    ck_assert_str_eq(str(risk, "kind"), "forecast_gap");
    ck_assert(num(risk, "amount") == gap);
    /* the pipeline it takes: the gap / the 50% win rate */
    ck_assert(num(json_object_get(r->json, "decision_needed"), "pipeline_needed") == round(gap / 0.5 * 100) / 100);
    ck_assert(strstr(str(json_object_get(r->json, "trade_off"), "statement"), "resetting the number") != NULL);
    ck_assert(rows_match(json_object_get(json_object_get(r->json, "supporting"), "rows"), d->json, NULL) >= 8);
    api_resp_free(r);
    api_resp_free(d);

    snprintf(path, sizeof path, "/v1/reports/summary?period=%s", Q);
    api_resp *md = get_md(path, ws.read);
    static const char *const heads[] = {"## Executive Summary — ",
                                        "**Will we hit the number? No.**",
                                        "- **Largest risk:** The forecast is $",
                                        "- **Decision needed:** Close the $",
                                        "- **Trade-off:** ",
                                        "### Supporting figures"};
    for (size_t k = 0; k < sizeof heads / sizeof heads[0]; k++)
        ck_assert_msg(strstr(md->body, heads[k]), "markdown lacks \"%s\":\n%s", heads[k], md->body);
    /* the answer comes first */
    ck_assert(strstr(md->body, "Will we hit") < strstr(md->body, "Largest risk"));
    api_resp_free(md);
}
END_TEST

START_TEST(isolation_roles_and_bad_periods)
{
    api_ws a, b;
    api_new_workspace(&a);
    api_new_workspace(&b);
    char Q[11], body[200], today[11], old[11];
    api_quarter_of_day(0, Q);
    api_day(0, today);
    api_day(-200, old);
    snprintf(body, sizeof body, "{\"name\":\"Ann\",\"quotas\":{\"%s\":100000}}", Q);
    send(&a, "PUT", "/v1/reps/ann", body);
    closed_deal(&a, "w1", "won", 20000, old, today);
    char path[96];
    snprintf(path, sizeof path, "/v1/reports/summary?period=%s", Q);
    /* another workspace's key sees its own (empty) numbers, never a's */
    api_resp *r = get_ok(path, b.read);
    ck_assert_str_eq(str(json_object_get(r->json, "answer"), "will_we_hit"), "unknown");
    ck_assert(json_is_null(json_object_get(json_object_get(r->json, "answer"), "quota")));
    ck_assert(num(json_object_get(r->json, "answer"), "won") == 0);
    api_resp_free(r);
    r = get_ok("/v1/reports/monthly", b.read);
    ck_assert(
        num(row_of(json_object_get(json_object_get(json_object_get(r->json, "sections"), "headline_metrics"), "rows"),
                   "won"),
            "actual") == 0);
    api_resp_free(r);
    r = get_ok(path, a.read); /* a read key reads */
    ck_assert(num(json_object_get(r->json, "answer"), "won") == 20000);
    api_resp_free(r);
    static const char *const routes[] = {"/v1/reports/monthly", "/v1/reports/qbr", "/v1/reports/summary"};
    for (size_t k = 0; k < 3; k++) {
        r = api_get(routes[k], NULL);
        ck_assert_status(r, 401);
        api_resp_free(r);
        r = api_get(routes[k], "rk_not_a_key");
        ck_assert_status(r, 401);
        api_resp_free(r);
        r = api_send_json("POST", routes[k], a.admin, "{}");
        ck_assert_status(r, 405);
        api_resp_free(r);
    }
    static const struct {
        const char *path, *field;
    } bad[] = {{"/v1/reports/monthly?month=2026-13", "month"},   {"/v1/reports/monthly?month=2026-3", "month"},
               {"/v1/reports/monthly?month=2026-Q1", "month"},   {"/v1/reports/monthly?month=march", "month"},
               {"/v1/reports/monthly?month=2026-00", "month"},   {"/v1/reports/qbr?quarter=2026-Q5", "quarter"},
               {"/v1/reports/qbr?quarter=2026-03", "quarter"},   {"/v1/reports/qbr?quarter=FY2026", "quarter"},
               {"/v1/reports/summary?period=bogus", "period"},   {"/v1/reports/summary?period=2026-Q9", "period"},
               {"/v1/reports/monthly?period=2026-03", "period"}, {"/v1/reports/monthly?month=1900-01", "month"},
               {"/v1/reports/summary?period=FY1900", "period"},  {"/v1/reports/qbr?quarter=1900-Q1", "quarter"},
               {"/v1/reports/qbr?quarter=9998-Q4", "quarter"},   {"/v1/reports/summary?period=9998-12", "period"}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        r = api_get(bad[k].path, a.read);
        ck_assert_msg(r->status == 422, "%s: %ld %s", bad[k].path, r->status, r->body);
        ck_assert_str_eq(r->content_type, "application/problem+json");
        ck_assert_msg(strstr(r->body, bad[k].field) != NULL, "%s: %s", bad[k].path, r->body);
        api_resp_free(r);
    }
}
END_TEST

Suite *reports_suite(void)
{
    Suite *s = suite_create("reports");
    TCase *tc = tcase_create("reports");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, monthly_numbers_are_the_dashboards);
    tcase_add_test(tc, current_month_process_changes_and_hygiene);
    tcase_add_test(tc, qbr_seven_parts_quarter_over_quarter);
    tcase_add_test(tc, qbr_source_mix_is_the_pipeline_sources);
    tcase_add_test(tc, qbr_gtm_efficiency_by_segment);
    tcase_add_test(tc, summary_leads_with_the_answer);
    tcase_add_test(tc, isolation_roles_and_bad_periods);
    suite_add_tcase(s, tc);
    return s;
}

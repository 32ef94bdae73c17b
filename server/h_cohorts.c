/* h_cohorts.c - cohort retention tables and unit economics per group. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "chancac.h"
#include "cohort.h"
#include "handlers.h"
#include "jsonv.h"
#include "metrics.h"

#define COHORT_MAX_MONTHS 36

/* The SQL expression naming an account's group; fixed texts only. */
static const char *group_sql(const char *by)
{
    if (strcmp(by, "acquisition_month") == 0)
        return "to_char(acc.first, 'YYYY-MM')";
    if (strcmp(by, "segment") == 0)
        return "COALESCE(a.segment, '(none)')";
    if (strcmp(by, "industry") == 0)
        return "COALESCE(a.industry, '(none)')";
    if (strcmp(by, "acv_band") == 0)
        return "NULL::text";            /* from the moves themselves (cohort_starting_arr) */
    if (strcmp(by, "sales_cycle") == 0) /* days from creation to close of the first won deal */
        return "(SELECT floor(extract(epoch FROM d.closed_at - d.created_at) / 86400)::bigint::text FROM deals d"
               " WHERE d.workspace_id = $1 AND d.account = acc.account AND d.status = 'won' AND d.deleted_at IS NULL"
               " ORDER BY d.closed_at, d.external_id LIMIT 1)";
    /* source / channel: the source of the account's first won deal */
    return "COALESCE((SELECT d.source FROM deals d WHERE d.workspace_id = $1 AND d.account = acc.account"
           " AND d.status = 'won' AND d.deleted_at IS NULL ORDER BY d.closed_at, d.external_id LIMIT 1), '(none)')";
}

static PGresult *grouped_moves(db_conn *db, const char *ws, const char *by, app_err *err)
{
    char sql[1400];
    snprintf(sql, sizeof sql,
             "WITH acc AS (SELECT account, min(event_date) AS first FROM arr_events WHERE workspace_id = $1"
             "   GROUP BY account),"
             " keyed AS (SELECT acc.account, acc.first, %s AS grp FROM acc"
             "   LEFT JOIN accounts a ON a.workspace_id = $1 AND a.external_id = acc.account AND a.deleted_at IS NULL)"
             " SELECT dense_rank() OVER (ORDER BY e.account) - 1, k.grp,"
             "  (extract(year FROM e.event_date) * 12 + extract(month FROM e.event_date) - 1)::int,"
             "  CASE WHEN e.kind IN ('contraction', 'churn') THEN -e.amount_cents ELSE e.amount_cents END,"
             "  to_char(e.event_date, 'YYYY-MM-DD'), e.kind"
             " FROM arr_events e JOIN keyed k ON k.account = e.account WHERE e.workspace_id = $1 ORDER BY e.account",
             group_sql(by));
    const char *p[] = {ws};
    return db_query(db, sql, 1, p, err);
}

/* Index of key in an array of group names, appended when new. */
static int group_index(json_t *names, const char *key)
{
    size_t i;
    json_t *k;
    json_array_foreach(names, i, k) if (strcmp(json_string_value(k), key) == 0) return (int)i;
    json_array_append_new(names, json_string(key));
    return (int)json_array_size(names) - 1;
}

void h_cohorts_retention(http_req *rq)
{
    app_err err = {0};
    const char *by = http_query(rq, "by"), *months_s = http_query(rq, "months");
    if (!by)
        by = "acquisition_month";
    static const char *const keys[] = {"acquisition_month", "segment",     "source", "industry",
                                       "acv_band",          "sales_cycle", NULL};
    bool by_ok = false;
    for (const char *const *k = keys; *k; k++)
        by_ok = by_ok || strcmp(*k, by) == 0;
    if (!by_ok)
        app_err_field(&err, "by", "must be acquisition_month, segment, source, industry, acv_band or sales_cycle");
    int horizon = 12;
    if (months_s) {
        char *end = NULL;
        long v = strtol(months_s, &end, 10);
        if (!*months_s || *end || v < 1 || v > COHORT_MAX_MONTHS)
            app_err_field(&err, "months", "must be an integer from 1 to %d", COHORT_MAX_MONTHS);
        else
            horizon = (int)v;
    }
    db_conn *db = err.code == ERR_NONE ? http_db(rq) : NULL;
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    if (!db)
        return;
    int y, mo, d;
    caldate_t today = utc_today();
    caldate_to_ymd(today, &y, &mo, &d);
    PGresult *r = grouped_moves(db, rq->auth.workspace_id, by, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    int n = PQntuples(r), naccounts = 0;
    json_t *names = json_array();
    cohort_move *mv = calloc((size_t)n + 1, sizeof *mv);
    int *acct_group = calloc((size_t)n + 1, sizeof *acct_group);
    for (int i = 0; mv && acct_group && i < n; i++) {
        int a = atoi(PQgetvalue(r, i, 0));
        if (a + 1 > naccounts)
            naccounts = a + 1;
        const char *key = PQgetisnull(r, i, 1) ? "(none)" : PQgetvalue(r, i, 1);
        if (strcmp(by, "sales_cycle") == 0 && !PQgetisnull(r, i, 1))
            key = cohort_cycle_band(atol(key));
        acct_group[a] = group_index(names, key);
        mv[i] = (cohort_move){a, atoi(PQgetvalue(r, i, 2)), strtoll(PQgetvalue(r, i, 3), NULL, 10)};
    }
    PQclear(r);
    /* ACV band: the account's starting ARR in the seed's ACV tiers */
    bool grouped = true;
    if (strcmp(by, "acv_band") == 0) {
        money_t *arr0 = calloc((size_t)naccounts + 1, sizeof *arr0);
        grouped = arr0 && mv && acct_group && cohort_starting_arr(mv, (size_t)n, (size_t)naccounts, arr0) == 0;
        json_array_clear(names);
        for (int a = 0; grouped && a < naccounts; a++)
            acct_group[a] = group_index(names, metrics_acv_tier_of(arr0[a])->acv);
        free(arr0);
    }
    int ng = (int)json_array_size(names);
    cohort_cell *cells = calloc((size_t)(ng ? ng : 1) * (size_t)horizon, sizeof *cells);
    if (!grouped || !mv || !acct_group || !cells ||
        cohort_table(mv, (size_t)n, (size_t)naccounts, acct_group, ng, horizon, y * 12 + mo - 1, cells) != 0) {
        http_fail(rq, ERR_INTERNAL, "could not build the cohort table");
        goto done;
    }
    json_t *rows = json_array();
    for (int g = 0; g < ng; g++) {
        const cohort_cell *c0 = &cells[g * horizon];
        json_t *months = json_array();
        for (int m = 0; m < horizon && cells[g * horizon + m].logos >= 0; m++) {
            const cohort_cell *c = &cells[g * horizon + m];
            bool base = c0->arr > 0;
            json_array_append_new(
                months,
                json_pack("{s:i, s:f, s:o, s:o, s:o}", "month", m, "arr", (double)c->arr / 100.0, "nrr",
                          base ? json_real(round((double)c->arr / (double)c0->arr * 10000) / 10000) : json_null(),
                          "grr",
                          base ? json_real(round((double)c->kept / (double)c0->arr * 10000) / 10000) : json_null(),
                          "logo_retention",
                          c0->logos > 0 ? json_real(round((double)c->logos / (double)c0->logos * 10000) / 10000)
                                        : json_null()));
        }
        json_array_append_new(rows, json_pack("{s:O, s:I, s:f, s:o}", "cohort", json_array_get(names, (size_t)g),
                                              "accounts", (json_int_t)(c0->logos > 0 ? c0->logos : 0), "starting_arr",
                                              (double)c0->arr / 100.0, "months", months));
    }
    http_reply_json_etag(rq, json_pack("{s:s, s:i, s:o}", "by", by, "months", horizon, "cohorts", rows));
done:
    json_decref(names);
    free(mv);
    free(acct_group);
    free(cells);
}

/* Unit economics of P per channel or segment (GET /v1/metrics/unit-economics;
 * the QBR's part 4 by segment). */
int unit_economics_build(db_conn *db, const char *ws, const char *by, const period *P, json_t **out, app_err *err)
{
    char label[16], gm_s[32] = "";
    period_format(P, label, sizeof label);
    const char *fp[] = {ws, label};
    if (db_query_value(db, "SELECT gross_margin FROM finance_periods WHERE workspace_id = $1 AND period = $2", 2, fp,
                       gm_s, sizeof gm_s, err) < 0)
        return -1;
    /* per account: group, ARR at start and end of the period, acquired inside it */
    PGresult *r = grouped_moves(db, ws, strcmp(by, "channel") == 0 ? "source" : "segment", err);
    if (!r)
        return -1;
    json_t *names = json_array();
    int n = PQntuples(r);
    typedef struct {
        money_t start, end;
        bool acquired;
        int group;
    } acct;
    acct *accts = calloc((size_t)n + 1, sizeof *accts);
    int naccounts = 0;
    for (int i = 0; accts && i < n; i++) {
        int a = atoi(PQgetvalue(r, i, 0));
        caldate_t day;
        if (!caldate_parse(PQgetvalue(r, i, 4), &day))
            continue;
        if (a + 1 > naccounts)
            naccounts = a + 1;
        accts[a].group = group_index(names, PQgetvalue(r, i, 1));
        money_t delta = strtoll(PQgetvalue(r, i, 3), NULL, 10);
        if (day < P->start)
            accts[a].start += delta;
        if (day < P->end)
            accts[a].end += delta;
        if (day >= P->start && day < P->end && strcmp(PQgetvalue(r, i, 5), "new") == 0)
            accts[a].acquired = true;
    }
    PQclear(r);
    /* spend per group in the period */
    char sb[16], eb[16], sql[400];
    snprintf(
        sql, sizeof sql,
        "SELECT CASE WHEN %s = '' THEN '(none)' ELSE %s END, sum(amount_cents) FROM spend WHERE workspace_id = $1"
        " AND category IN ('sales', 'marketing') AND period_start >= $2::date AND period_end <= $3::date GROUP BY 1",
        strcmp(by, "channel") == 0 ? "channel" : "segment", strcmp(by, "channel") == 0 ? "channel" : "segment");
    const char *sp[] = {ws, caldate_format(P->start, sb, sizeof sb), caldate_format(P->end, eb, sizeof eb)};
    PGresult *s = db_query(db, sql, 3, sp, err);
    if (!s) {
        free(accts);
        json_decref(names);
        return -1;
    }
    for (int i = 0; i < PQntuples(s); i++)
        (void)group_index(names, PQgetvalue(s, i, 0));
    /* by channel, new customers are attributed as the dashboard's
     * cac_by_channel attributes them (chancac.c): a share of a customer per
     * channel, not the account's source */
    bool by_channel = strcmp(by, "channel") == 0;
    chan_customers cc = {0};
    if (by_channel && chan_customers_load(db, ws, P->start, P->end, &cc, err) < 0) {
        PQclear(s);
        free(accts);
        json_decref(names);
        return -1;
    }
    for (size_t i = 0; i < cc.n; i++)
        (void)group_index(names, cc.ch[i].channel);
    int ng = (int)json_array_size(names);
    double months = (double)(P->end - P->start) / (365.25 / 12.0);
    double gm = gm_s[0] ? atof(gm_s) : NAN;
    json_t *groups = json_array();
    for (int g = 0; g < ng; g++) {
        money_t spend = 0, end_arr = 0;
        long acquired = 0, logos_start = 0, churned = 0, logos_end = 0;
        bool has_spend = false;
        for (int i = 0; i < PQntuples(s); i++)
            if (strcmp(PQgetvalue(s, i, 0), json_string_value(json_array_get(names, (size_t)g))) == 0) {
                spend = strtoll(PQgetvalue(s, i, 1), NULL, 10);
                has_spend = true;
            }
        for (int a = 0; accts && a < naccounts; a++) {
            if (accts[a].group != g)
                continue;
            acquired += accts[a].acquired;
            logos_start += accts[a].start > 0;
            churned += accts[a].start > 0 && accts[a].end <= 0;
            logos_end += accts[a].end > 0;
            end_arr += accts[a].end > 0 ? accts[a].end : 0;
        }
        money_t cac = 0, ltv = 0;
        int64_t parts = 0;
        for (size_t i = 0; i < cc.n; i++)
            if (strcmp(cc.ch[i].channel, json_string_value(json_array_get(names, (size_t)g))) == 0)
                parts = cc.ch[i].parts;
        bool has_cac = has_spend && (by_channel ? attrib_cac(spend, parts, &cac) : metrics_cac(spend, acquired, &cac));
        json_t *new_customers = by_channel
                                    ? json_real(round((double)parts / (double)ATTRIB_CUSTOMER_PARTS * 10000) / 10000)
                                    : json_integer((json_int_t)acquired);
        money_t arpa = logos_end ? money_mul_rate(end_arr, 1.0 / 12.0 / (double)logos_end) : 0;
        double churn_rate = logos_start ? (double)churned / (double)logos_start / months : 0;
        bool has_ltv = gm_s[0] && arpa > 0 && metrics_ltv(arpa, gm, churn_rate, &ltv);
        metric_value lc = has_cac && has_ltv ? metrics_ltv_cac(ltv, cac) : (metric_value){0};
        metric_value pb = has_cac && gm_s[0] ? metrics_cac_payback(cac, arpa, gm) : (metric_value){0};
        json_array_append_new(
            groups,
            json_pack("{s:O, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "group", json_array_get(names, (size_t)g),
                      "sm_spend", has_spend ? json_real((double)spend / 100.0) : json_null(), "new_customers",
                      new_customers, "cac", has_cac ? json_real((double)cac / 100.0) : json_null(), "arpa_monthly",
                      logos_end ? json_real((double)arpa / 100.0) : json_null(), "ltv",
                      has_ltv ? json_real((double)ltv / 100.0) : json_null(), "ltv_cac_ratio",
                      lc.ok ? json_real(round(lc.value * 10000) / 10000) : json_null(), "cac_payback_months",
                      pb.ok ? json_real(round(pb.value * 10000) / 10000) : json_null(), "status",
                      lc.ok ? json_string(metric_status_name(lc.status)) : json_null()));
    }
    PQclear(s);
    free(accts);
    json_decref(names);
    *out = json_pack("{s:s, s:s, s:o, s:o}", "by", by, "period", label, "gross_margin",
                     gm_s[0] ? json_real(gm) : json_null(), "groups", groups);
    if (by_channel)
        json_object_set_new(*out, "attribution_model", json_string(attrib_model_name(cc.adv.use)));
    chan_customers_free(&cc);
    return 0;
}

void h_unit_economics(http_req *rq)
{
    app_err err = {0};
    const char *by = http_query(rq, "by"), *ps = http_query(rq, "period");
    if (!by || (strcmp(by, "channel") != 0 && strcmp(by, "segment") != 0))
        app_err_field(&err, "by", "is required: channel or segment");
    db_conn *db = err.code == ERR_NONE ? http_db(rq) : NULL;
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    if (!db)
        return;
    int fsm = workspace_fy_start(db, rq->auth.workspace_id, &err);
    caldate_t today = utc_today();
    if (fsm < 0) {
        http_reply_error(rq, &err);
        return;
    }
    period P = period_containing(PERIOD_QUARTER, today, fsm);
    if (ps && !period_parse(ps, fsm, &P)) {
        app_err_field(&err, "period", "must be a period such as 2026-Q1, 2026-03 or FY2026");
        http_reply_error(rq, &err);
        return;
    }
    json_t *out = NULL;
    if (unit_economics_build(db, rq->auth.workspace_id, by, &P, &out, &err) != 0)
        http_reply_error(rq, &err);
    else
        http_reply_json_etag(rq, out);
}

/* h_accuracy.c - how good forecasts were: people's calls submitted against a
 * stored forecast, the accuracy report over closed periods (engine and
 * people), and the backtest that replays each method on the pipeline as it
 * stood at a period's start. Formulas: core/accuracy, core/metrics,
 * core/forecast. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accuracy.h"
#include "caldate.h"
#include "fcdata.h"
#include "fcrecord.h"
#include "forecast.h"
#include "crm.h"
#include "handlers.h"
#include "jsonv.h"
#include "metrics.h"

/* A backtest replays every period's pipeline: bound the work per request. */
#define BACKTEST_MAX_PERIODS 24
/* Deals listed per period when include_deals is set. */
#define BACKTEST_MAX_LISTED 1000
/* Manager chains are walked at most this deep (a cycle in the reps' data ends
 * there). */
#define MAX_MANAGER_DEPTH 64

static json_t *money_j(money_t c) { return json_real((double)c / 100.0); }
static json_t *pct_j(double v) { return json_real(round(v * 100) / 100); }

static json_t *day_j(caldate_t d)
{
    char b[16];
    caldate_format(d, b, sizeof b);
    return json_string(b);
}

static money_t cents_of(const char *s) { return strtoll(s, NULL, 10); }

/* ---- submissions ----------------------------------------------------------
 */

void h_forecasts_submit(http_req *rq)
{
    if (!jv_is_uuid(rq->params[0])) {
        http_fail(rq, ERR_NOT_FOUND, "No forecast with this id");
        return;
    }
    app_err err = {0};
    if (!jv_require_object(rq->json, &err)) {
        http_reply_error(rq, &err);
        return;
    }
    static const char *const allowed[] = {"submitted_by", "commit", "best_case", "pipeline", "upside",
                                          "override",     "note",   "as_of",     NULL};
    (void)jv_only_fields(rq->json, allowed, &err);
    const char *by = NULL, *note = NULL;
    long long commit = 0, best = 0, pipe = 0, upside = 0, ovr = 0;
    bool has_best = false, has_pipe = false, has_upside = false, has_ovr = false, has_as_of = false;
    int as_of = 0;
    (void)jv_string(rq->json, "submitted_by", true, 200, &by, &err);
    bool commit_ok = jv_money(rq->json, "commit", true, 0, &commit, NULL, &err);
    (void)jv_money(rq->json, "best_case", false, 0, &best, &has_best, &err);
    (void)jv_money(rq->json, "pipeline", false, 0, &pipe, &has_pipe, &err);
    (void)jv_money(rq->json, "upside", false, 0, &upside, &has_upside, &err);
    (void)jv_money(rq->json, "override", false, 0, &ovr, &has_ovr, &err);
    (void)jv_string(rq->json, "note", false, 2000, &note, &err);
    if (jv_date(rq->json, "as_of", false, &as_of, &has_as_of, &err) && has_as_of && as_of > utc_today())
        app_err_field(&err, "as_of", "must not be in the future: a call is made on or before today");
    /* seed: best case = commit + best-case deals, so it is never below commit */
    if (has_best && commit_ok && best < commit)
        app_err_field(&err, "best_case", "must be at least commit (best case adds to commit)");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    const char *ws = rq->auth.workspace_id;
    const char *cp[] = {ws, rq->params[0], by};
    PGresult *r = db_query(db,
                           "SELECT EXISTS (SELECT 1 FROM forecasts WHERE workspace_id = $1 AND id = $2::uuid),"
                           " EXISTS (SELECT 1 FROM reps WHERE workspace_id = $1 "
                           "AND external_id = $3 AND deleted_at IS NULL)",
                           3, cp, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    bool forecast_ok = PQgetvalue(r, 0, 0)[0] == 't', rep_ok = PQgetvalue(r, 0, 1)[0] == 't';
    PQclear(r);
    if (!forecast_ok) {
        http_fail(rq, ERR_NOT_FOUND, "No forecast with this id");
        return;
    }
    if (!rep_ok) {
        app_err_field(&err, "submitted_by", "no rep with this id in the workspace");
        http_reply_error(rq, &err);
        return;
    }
    char s_commit[32], s_best[32], s_pipe[32], s_up[32], s_ovr[32], s_day[16];
    snprintf(s_commit, sizeof s_commit, "%lld", commit);
    snprintf(s_best, sizeof s_best, "%lld", best);
    snprintf(s_pipe, sizeof s_pipe, "%lld", pipe);
    snprintf(s_up, sizeof s_up, "%lld", upside);
    snprintf(s_ovr, sizeof s_ovr, "%lld", ovr);
    caldate_format(has_as_of ? as_of : utc_today(), s_day, sizeof s_day);
    const char *ip[] = {ws,
                        rq->params[0],
                        by,
                        s_day,
                        s_commit,
                        has_best ? s_best : NULL,
                        has_pipe ? s_pipe : NULL,
                        has_upside ? s_up : NULL,
                        has_ovr ? s_ovr : NULL,
                        note};
    r = db_query(db,
                 "INSERT INTO forecast_submissions AS s (workspace_id, forecast_id, submitted_by, as_of, commit_cents,"
                 " best_case_cents, pipeline_cents, upside_cents, "
                 "override_cents, note) VALUES ($1, $2::uuid, $3, $4::date,"
                 " $5::bigint, $6::bigint, $7::bigint, $8::bigint, $9::bigint, "
                 "$10) RETURNING forecast_submission_json(s)",
                 10, ip, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    http_reply_json(rq, 201, json_loads(PQgetvalue(r, 0, 0), 0, NULL));
    PQclear(r);
}

/* ---- accuracy report -------------------------------------------------------
 */

typedef struct {
    char **id, **manager;
    int n;
} rep_tree;

/* Is owner the submitter or below them in the manager hierarchy? */
static bool in_team(const rep_tree *t, const char *owner, const char *submitter)
{
    const char *cur = owner;
    for (int depth = 0; cur && depth < MAX_MANAGER_DEPTH; depth++) {
        if (strcmp(cur, submitter) == 0)
            return true;
        const char *next = NULL;
        for (int i = 0; i < t->n; i++)
            if (strcmp(t->id[i], cur) == 0) {
                next = t->manager[i];
                break;
            }
        cur = next;
    }
    return false;
}

/* Won in one period, per owner and segment: the actuals of every row kind. */
typedef struct {
    PGresult *r; /* owner, segment, cents */
    money_t total;
} period_actuals;

static money_t actual_for(const period_actuals *a, const rep_tree *t, const char *kind, const char *group_by,
                          const char *key)
{
    if (strcmp(kind, "submission") == 0) {
        money_t sum = 0;
        for (int i = 0; i < PQntuples(a->r); i++)
            if (in_team(t, PQgetvalue(a->r, i, 0), key))
                sum += cents_of(PQgetvalue(a->r, i, 2));
        return sum;
    }
    if (strcmp(group_by, "method") == 0)
        return a->total;
    int col = strcmp(group_by, "owner") == 0 ? 0 : 1;
    money_t sum = 0;
    for (int i = 0; i < PQntuples(a->r); i++)
        if (strcmp(PQgetvalue(a->r, i, col), key) == 0)
            sum += cents_of(PQgetvalue(a->r, i, 2));
    return sum;
}

/* Candidate forecasts of every closed period in range, one row per
 * (period, kind, method, key, forecast): engine forecasts give their total
 * `expected` (group_by=method) or each group's (a forecast made with the same
 * group_by); submissions give their call (override, else commit). */
static const char CANDIDATES_SQL[] = "SELECT f.period, f.period_start, f.period_end, 'engine' AS kind, "
                                     "f.method, g.key, f.as_of, f.id::text,  round(g.value * 100)::bigint, f.created_at"
                                     " FROM forecasts f CROSS JOIN LATERAL ("
                                     "  SELECT f.method AS key, (f.result ->> 'expected')::numeric AS value "
                                     "WHERE $2 = 'method'"
                                     "  UNION ALL SELECT x ->> 'key', (x ->> 'expected')::numeric FROM "
                                     "jsonb_array_elements(f.result -> 'groups') x"
                                     "  WHERE $2 <> 'method' AND f.request ->> 'group_by' = $2) g"
                                     " WHERE f.workspace_id = $1 AND f.period_end <= $5::date AND ($3::date IS "
                                     "NULL OR f.period_start >= $3::date)"
                                     "  AND ($4::date IS NULL OR f.period_end <= $4::date + 1) UNION ALL "
                                     "SELECT f.period, f.period_start, f.period_end, 'submission', '', "
                                     "s.submitted_by, s.as_of, s.id::text,"
                                     "  COALESCE(s.override_cents, s.commit_cents), s.created_at"
                                     " FROM forecast_submissions s JOIN forecasts f ON f.workspace_id = "
                                     "s.workspace_id AND f.id = s.forecast_id"
                                     " WHERE s.workspace_id = $1 AND f.period_end <= $5::date AND ($3::date IS "
                                     "NULL OR f.period_start >= $3::date)"
                                     "  AND ($4::date IS NULL OR f.period_end <= $4::date + 1)"
                                     " ORDER BY 2, 3, 4, 5, 6, 10, 8";

static bool same_text(PGresult *r, int a, int b, int col)
{
    return strcmp(PQgetvalue(r, a, col), PQgetvalue(r, b, col)) == 0;
}

/* The won revenue of [start, end) per owner and segment, and its total
 * (what a forecast of the period is graded against). */
static int period_actuals_load(db_conn *db, const char *ws, const char *start, const char *end, period_actuals *pa,
                               app_err *err)
{
    PQclear(pa->r);
    const char *ap[] = {ws, start, end};
    pa->r = db_query(db,
                     "SELECT COALESCE(owner, '(none)'), COALESCE(segment, '(none)'), "
                     "sum(" CRM_FX_AMOUNT ") FROM deals"
                     " WHERE workspace_id = $1 AND deleted_at IS NULL AND status = 'won'"
                     " AND closed_at >= ($2::date::timestamp AT TIME ZONE 'UTC')"
                     " AND closed_at < ($3::date::timestamp AT TIME ZONE 'UTC') GROUP BY "
                     "1, 2",
                     3, ap, err);
    if (!pa->r)
        return -1;
    pa->total = 0;
    for (int k = 0; k < PQntuples(pa->r); k++)
        pa->total += cents_of(PQgetvalue(pa->r, k, 2));
    return 0;
}

/* What the grading pass over the candidate rows shares. */
typedef struct {
    PGresult *c; /* CANDIDATES_SQL's rows */
    const rep_tree *tree;
    const char *group_by;
    json_t *index; /* "kind|method|key" -> [kind, method, key, group number] */
    accuracy_candidate *cand;
    metrics_forecast_pair *pairs;
    size_t npairs;
} acc_pass;

/* One (kind, method, key) run of candidate rows [i, j) within the period
 * [ps, pe): the forecast each horizon takes (accuracy_pick) graded against
 * the actual, as a period row; each graded pair is added to x->pairs. */
static json_t *grade_run(acc_pass *x, int i, int j, const period_actuals *pa, caldate_t ps, caldate_t pe)
{
    const char *kind = PQgetvalue(x->c, i, 3), *method = PQgetvalue(x->c, i, 4), *key = PQgetvalue(x->c, i, 5);
    for (int k = i; k < j; k++) {
        if (!caldate_parse(PQgetvalue(x->c, k, 6), &x->cand[k - i].as_of))
            x->cand[k - i].as_of = INT32_MAX;
        x->cand[k - i].seq = k; /* rows are in creation order within the run */
    }
    char gkey[512];
    snprintf(gkey, sizeof gkey, "%s|%s|%s", kind, method, key);
    json_t *g = json_object_get(x->index, gkey);
    if (!g) {
        g = json_pack("[s, s, s, I]", kind, method, key, (json_int_t)json_object_size(x->index));
        json_object_set_new(x->index, gkey, g);
    }
    int gno = (int)json_integer_value(json_array_get(g, 3));
    money_t actual = actual_for(pa, x->tree, kind, x->group_by, key);
    json_t *fl = json_array();
    for (int h = 0; h < ACC__HORIZONS; h++) {
        long pick = accuracy_pick(x->cand, (size_t)(j - i), accuracy_cutoff((accuracy_horizon)h, ps, pe));
        if (pick < 0)
            continue;
        int row = i + (int)pick;
        money_t fc = cents_of(PQgetvalue(x->c, row, 8));
        accuracy_point pt = accuracy_point_of(fc, actual);
        json_array_append_new(fl, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "horizon",
                                            accuracy_horizon_name((accuracy_horizon)h), "id", PQgetvalue(x->c, row, 7),
                                            "as_of", PQgetvalue(x->c, row, 6), "forecast", money_j(fc), "error",
                                            money_j(pt.error), "ape", pt.defined ? pct_j(pt.ape_pct) : json_null(),
                                            "bias", pt.defined ? pct_j(pt.bias_pct) : json_null()));
        x->pairs[x->npairs++] =
            (metrics_forecast_pair){.group = gno * ACC__HORIZONS + h, .forecast = fc, .actual = actual};
    }
    return json_pack("{s:s, s:o, s:s, s:o, s:o}", "kind", kind, "method", *method ? json_string(method) : json_null(),
                     "key", key, "actual", money_j(actual), "forecasts", fl);
}

/* Per group and horizon, over the periods: MAPE, bias, grade. NULL when out
 * of memory. */
static json_t *accuracy_summary(const json_t *index, const metrics_forecast_pair *pairs, size_t npairs)
{
    int ngroups = (int)json_object_size(index) * ACC__HORIZONS;
    metrics_accuracy *acc = calloc((size_t)ngroups + 1, sizeof *acc);
    long *seen = calloc((size_t)ngroups + 1, sizeof *seen); /* forecasts graded, periods with actual 0 included */
    if (!acc || !seen) {
        free(acc);
        free(seen);
        return NULL;
    }
    metrics_accuracy_compute(pairs, npairs, ngroups, acc);
    for (size_t k = 0; k < npairs; k++)
        seen[pairs[k].group]++;
    json_t *summary = json_array();
    const char *gk;
    json_t *g;
    json_object_foreach((json_t *)index, gk, g)
    {
        int gno = (int)json_integer_value(json_array_get(g, 3));
        for (int h = 0; h < ACC__HORIZONS; h++) {
            const metrics_accuracy *a = &acc[gno * ACC__HORIZONS + h];
            if (!seen[gno * ACC__HORIZONS + h])
                continue;
            const char *method = json_string_value(json_array_get(g, 1));
            json_array_append_new(
                summary, json_pack("{s:O, s:o, s:O, s:s, s:I, s:I, s:o, s:o, s:o, s:o, s:o}", "kind",
                                   json_array_get(g, 0), "method", *method ? json_string(method) : json_null(), "key",
                                   json_array_get(g, 2), "horizon", accuracy_horizon_name((accuracy_horizon)h),
                                   "forecasts", (json_int_t)seen[gno * ACC__HORIZONS + h], "periods",
                                   (json_int_t)a->periods, "mape", a->periods ? pct_j(a->mape_pct) : json_null(),
                                   "bias", a->periods ? pct_j(a->bias_pct) : json_null(), "direction",
                                   a->periods ? json_string(accuracy_direction(a->bias_pct)) : json_null(), "abs_error",
                                   money_j(a->abs_error), "grade",
                                   a->periods ? json_string(mape_grade_name(a->grade)) : json_null()));
        }
    }
    free(seen);
    free(acc);
    return summary;
}

void h_forecasts_accuracy(http_req *rq)
{
    app_err err = {0};
    const char *group_by = http_query(rq, "group_by"), *from_s = http_query(rq, "from"), *to_s = http_query(rq, "to");
    if (!group_by)
        group_by = "method";
    if (strcmp(group_by, "owner") != 0 && strcmp(group_by, "segment") != 0 && strcmp(group_by, "method") != 0)
        app_err_field(&err, "group_by", "must be owner, segment or method");
    caldate_t from = 0, to = 0;
    if (from_s && !caldate_parse(from_s, &from))
        app_err_field(&err, "from", "must be a date YYYY-MM-DD");
    if (to_s && !caldate_parse(to_s, &to))
        app_err_field(&err, "to", "must be a date YYYY-MM-DD");
    if (err.code == ERR_NONE && from_s && to_s && to < from)
        app_err_field(&err, "to", "must not be before from");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    const char *ws = rq->auth.workspace_id;
    char today_s[16], from_c[16], to_c[16];
    caldate_format(utc_today(), today_s, sizeof today_s);
    if (from_s)
        caldate_format(from, from_c, sizeof from_c);
    if (to_s)
        caldate_format(to, to_c, sizeof to_c);
    const char *cp[] = {ws, group_by, from_s ? from_c : NULL, to_s ? to_c : NULL, today_s};
    PGresult *c = db_query(db, CANDIDATES_SQL, 5, cp, &err);
    const char *wp[] = {ws};
    PGresult *reps = c ? db_query(db,
                                  "SELECT external_id, manager FROM reps WHERE "
                                  "workspace_id = $1 AND deleted_at IS NULL",
                                  1, wp, &err)
                       : NULL;
    json_t *out = NULL, *periods = NULL, *index = NULL;
    metrics_forecast_pair *pairs = NULL;
    accuracy_candidate *cand = NULL;
    rep_tree tree = {0};
    period_actuals pa = {0};
    if (!c || !reps) {
        http_reply_error(rq, &err);
        goto done;
    }
    tree.n = PQntuples(reps);
    tree.id = calloc((size_t)tree.n + 1, sizeof *tree.id);
    tree.manager = calloc((size_t)tree.n + 1, sizeof *tree.manager);
    int n = PQntuples(c);
    pairs = calloc((size_t)n * ACC__HORIZONS + 1, sizeof *pairs);
    cand = calloc((size_t)n + 1, sizeof *cand);
    index = json_object(); /* "kind|method|key" -> [kind, method, key, group
                              number] */
    periods = json_array();
    if (!tree.id || !tree.manager || !pairs || !cand || !index || !periods) {
        http_fail(rq, ERR_INTERNAL, "out of memory");
        goto done;
    }
    for (int i = 0; i < tree.n; i++) {
        tree.id[i] = PQgetvalue(reps, i, 0);
        tree.manager[i] = PQgetisnull(reps, i, 1) ? NULL : PQgetvalue(reps, i, 1);
    }
    acc_pass x = {.c = c, .tree = &tree, .group_by = group_by, .index = index, .cand = cand, .pairs = pairs};
    json_t *rows = NULL;
    caldate_t ps = 0, pe = 0; /* the current period */
    for (int i = 0; i < n;) {
        /* a new period: its actuals */
        if (i == 0 || !same_text(c, i, i - 1, 1) || !same_text(c, i, i - 1, 2)) {
            if (!caldate_parse(PQgetvalue(c, i, 1), &ps) || !caldate_parse(PQgetvalue(c, i, 2), &pe)) {
                http_fail(rq, ERR_INTERNAL, "a stored forecast has a bad period");
                goto done;
            }
            if (period_actuals_load(db, ws, PQgetvalue(c, i, 1), PQgetvalue(c, i, 2), &pa, &err) != 0) {
                http_reply_error(rq, &err);
                goto done;
            }
            rows = json_array();
            json_array_append_new(periods,
                                  json_pack("{s:s, s:s, s:o, s:o}", "period", PQgetvalue(c, i, 0), "period_start",
                                            PQgetvalue(c, i, 1), "period_end", day_j(pe - 1), "rows", rows));
        }
        /* one (kind, method, key) run within the period */
        int j = i;
        while (j < n && same_text(c, j, i, 1) && same_text(c, j, i, 2) && same_text(c, j, i, 3) &&
               same_text(c, j, i, 4) && same_text(c, j, i, 5))
            j++;
        json_array_append_new(rows, grade_run(&x, i, j, &pa, ps, pe));
        i = j;
    }
    json_t *summary = accuracy_summary(index, pairs, x.npairs);
    if (!summary) {
        http_fail(rq, ERR_INTERNAL, "out of memory");
        goto done;
    }
    out = json_pack("{s:s, s:o, s:o, s:[s, s, s, s], s:O, s:o}", "group_by", group_by, "from",
                    from_s ? json_string(from_c) : json_null(), "to", to_s ? json_string(to_c) : json_null(),
                    "horizons", accuracy_horizon_name(ACC_PERIOD_START), accuracy_horizon_name(ACC_LEAD_90),
                    accuracy_horizon_name(ACC_LEAD_60), accuracy_horizon_name(ACC_LEAD_30), "periods", periods,
                    "summary", summary);
    http_reply_json(rq, 200, out);
    out = NULL;
done:
    PQclear(c);
    PQclear(reps);
    PQclear(pa.r);
    json_decref(out);
    json_decref(periods);
    json_decref(index);
    free(tree.id);
    free(tree.manager);
    free(pairs);
    free(cand);
}

/* ---- backtest
 * ---------------------------------------------------------------- */

static int add_periods(const json_t *body, int fsm, caldate_t today, period *ps, int *np, app_err *err)
{
    const json_t *list = json_object_get(body, "periods");
    bool has_range = json_object_get(body, "from") || json_object_get(body, "to");
    if (list && has_range) {
        app_err_field(err, "periods", "give either periods or from/to, not both");
        return -1;
    }
    if (!list && !has_range) {
        app_err_field(err, "periods", "is required (or from and to)");
        return -1;
    }
    if (list) {
        if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > BACKTEST_MAX_PERIODS) {
            app_err_field(err, "periods", "must be a list of 1 to %d periods", BACKTEST_MAX_PERIODS);
            return -1;
        }
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
            char field[32];
            snprintf(field, sizeof field, "periods[%zu]", i);
            if (!json_is_string(v) || !period_parse(json_string_value(v), fsm, &ps[*np]))
                app_err_field(err, field, "must be a period such as 2017-Q2, 2017-04 or FY2017");
            else if (ps[*np].end > today)
                app_err_field(err, field, "has not ended: a backtest needs the period's actual");
            else
                (*np)++;
        }
        return err->code == ERR_NONE ? 0 : -1;
    }
    int from = 0, to = 0;
    const char *gran = NULL;
    (void)jv_date(body, "from", true, &from, NULL, err);
    (void)jv_date(body, "to", true, &to, NULL, err);
    if (jv_string(body, "granularity", false, 16, &gran, err) && gran && strcmp(gran, "quarter") != 0 &&
        strcmp(gran, "month") != 0)
        app_err_field(err, "granularity", "must be quarter or month");
    if (err->code != ERR_NONE)
        return -1;
    period_kind kind = gran && strcmp(gran, "month") == 0 ? PERIOD_MONTH : PERIOD_QUARTER;
    period p = period_containing(kind, from, fsm);
    if (p.start < from)
        p = period_shift(&p, 1, fsm);
    for (; p.end <= (caldate_t)to + 1 && p.end <= today; p = period_shift(&p, 1, fsm)) {
        if (*np == BACKTEST_MAX_PERIODS) {
            app_err_field(err, "to", "the range holds more than %d periods", BACKTEST_MAX_PERIODS);
            return -1;
        }
        ps[(*np)++] = p;
    }
    if (*np == 0) {
        app_err_field(err, "to", "no ended period lies between from and to");
        return -1;
    }
    return 0;
}

/* Per method over a backtest's periods: how often the actual fell inside
 * P10-P90, and the mean pinball loss (core/accuracy). */
typedef struct {
    long periods, inside, with_actual;
    double pinball, pinball_pct;
} range_score;

static json_t *deals_json(const fcdata_pipeline *pl, const funnel_def *def)
{
    json_t *a = json_array();
    for (size_t i = 0; i < pl->n && i < BACKTEST_MAX_LISTED; i++) {
        const forecast_deal *d = &pl->deals[i];
        json_array_append_new(
            a, json_pack("{s:s, s:o, s:s, s:o, s:o, s:b, s:b}", "id", pl->rows[i].deal->id, "amount",
                         money_j(d->amount), "stage", def->stages[d->stage].key, "stage_entered_at",
                         d->stage_entered == FORECAST_NO_DATE ? json_null() : day_j(d->stage_entered),
                         "expected_close_date", d->expected_close == INT32_MAX ? json_null() : day_j(d->expected_close),
                         "close_estimated", pl->close_estimated[i], "amount_imputed", pl->amount_imputed[i]));
    }
    return a;
}

/* One method's forecast of one period against its actual: the answer's row,
 * and the method's range scores (P10-P90 held, pinball loss) updated. */
static json_t *method_result(const forecast_result *res, const forecast_input *in, forecast_method asked,
                             forecast_method used, money_t actual, range_score *sc)
{
    accuracy_point pt = accuracy_point_of(res->total.expected, actual);
    bool inside = accuracy_inside(res->quantile_values[0], res->quantile_values[2], actual);
    double pinball = 0;
    for (int q = 0; q < 3; q++)
        pinball += accuracy_pinball(in->quantiles[q], res->quantile_values[q], actual) / 3;
    sc->periods++;
    sc->inside += inside;
    sc->pinball += pinball;
    sc->pinball_pct += actual > 0 ? pinball / (double)actual * 100 : 0;
    sc->with_actual += actual > 0;
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:I, s:{s:o, s:o, s:o}, s:b, s:o, s:o}", "method",
                     forecast_method_name(asked), "method_used", forecast_method_name(used), "forecast",
                     money_j(res->total.expected), "run_rate", money_j(res->total.run_rate), "error", money_j(pt.error),
                     "ape", pt.defined ? pct_j(pt.ape_pct) : json_null(), "bias",
                     pt.defined ? pct_j(pt.bias_pct) : json_null(), "deals_counted", (json_int_t)res->total.open_deals,
                     "quantiles", "p10", money_j(res->quantile_values[0]), "p50", money_j(res->quantile_values[1]),
                     "p90", money_j(res->quantile_values[2]), "inside_p10_p90", inside, "pinball_loss",
                     money_j((money_t)llround(pinball)), "record_factor",
                     used == FM_LEARNED ? json_real(round(res->record_factor * 1e4) / 1e4) : json_null());
}

/* Per method over the periods: MAPE, bias, grade (core/metrics) and the range scores. */
static json_t *summary_json(const bool *run, const metrics_accuracy *acc, const range_score *score)
{
    json_t *summary = json_array();
    for (int m = 0; m < FM__COUNT; m++) {
        if (!run[m])
            continue;
        const metrics_accuracy *a = &acc[m];
        const range_score *sc = &score[m];
        json_t *row =
            json_pack("{s:s, s:I, s:o, s:o, s:o, s:o}", "method", forecast_method_name((forecast_method)m), "periods",
                      (json_int_t)a->periods, "mape", a->periods ? pct_j(a->mape_pct) : json_null(), "bias",
                      a->periods ? pct_j(a->bias_pct) : json_null(), "direction",
                      a->periods ? json_string(accuracy_direction(a->bias_pct)) : json_null(), "grade",
                      a->periods ? json_string(mape_grade_name(a->grade)) : json_null());
        json_object_set_new(row, "coverage_p10_p90",
                            sc->periods ? json_real(round((double)sc->inside / (double)sc->periods * 10000) / 10000)
                                        : json_null());
        json_object_set_new(row, "pinball_loss",
                            sc->periods ? money_j((money_t)llround(sc->pinball / (double)sc->periods)) : json_null());
        json_object_set_new(row, "pinball_loss_pct",
                            sc->with_actual ? pct_j(sc->pinball_pct / (double)sc->with_actual) : json_null());
        json_array_append_new(summary, row);
    }
    return summary;
}

void h_forecasts_backtest(http_req *rq)
{
    app_err err = {0};
    if (!jv_require_object(rq->json, &err)) {
        http_reply_error(rq, &err);
        return;
    }
    static const char *const allowed[] = {"periods", "from",          "to",      "granularity",
                                          "method",  "include_deals", "explain", NULL};
    (void)jv_only_fields(rq->json, allowed, &err);
    const char *method_s = NULL;
    if (jv_string(rq->json, "method", false, 16, &method_s, &err) && method_s && strcmp(method_s, "all") != 0 &&
        forecast_method_parse(method_s) < 0)
        app_err_field(&err, "method", "must be weighted, category, historical, learned or all");
    const json_t *inc = json_object_get(rq->json, "include_deals");
    if (inc && !json_is_boolean(inc))
        app_err_field(&err, "include_deals", "must be true or false");
    bool include_deals = inc && json_is_true(inc);
    const json_t *exp = json_object_get(rq->json, "explain");
    if (exp && !json_is_boolean(exp))
        app_err_field(&err, "explain", "must be true or false");
    bool explain = exp && json_is_true(exp);
    db_conn *db = err.code == ERR_NONE ? http_db(rq) : NULL;
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    if (!db)
        return;
    const char *ws = rq->auth.workspace_id;
    int fsm = workspace_fy_start(db, ws, &err);
    period ps[BACKTEST_MAX_PERIODS];
    int np = 0;
    funnel_def def;
    char funnel_id[40], funnel_ver[16];
    if (fsm < 0 || add_periods(rq->json, fsm, utc_today(), ps, &np, &err) != 0 ||
        funnels_ensure_default(db, ws, &err) != 0 ||
        fcdata_default_funnel(db, ws, &def, funnel_id, funnel_ver, &err) != 0) {
        http_reply_error(rq, &err);
        return;
    }
    bool run[FM__COUNT] = {true, true, true, true};
    if (method_s && strcmp(method_s, "all") != 0)
        for (int m = 0; m < FM__COUNT; m++)
            run[m] = m == forecast_method_parse(method_s);
    metrics_forecast_pair pairs[BACKTEST_MAX_PERIODS * FM__COUNT];
    range_score score[FM__COUNT] = {{0}};
    fclearn_model *lm = malloc(sizeof *lm);
    if (!lm) {
        http_fail(rq, ERR_INTERNAL, "out of memory");
        return;
    }
    size_t npairs = 0;
    json_t *plist = json_array();
    fcdata_history hb;
    fcdata_pipeline pl;
    memset(&hb, 0, sizeof hb);
    memset(&pl, 0, sizeof pl);
    for (int k = 0; k < np; k++) {
        const period *P = &ps[k];
        char label[16], start_s[16];
        period_format(P, label, sizeof label);
        caldate_format(P->start, start_s, sizeof start_s);
        money_t actual = 0;
        fcdata_history_free(&hb);
        fcdata_pipeline_free(&pl);
        /* everything as of the period's first day, 00:00 UTC: history closed before
         * it, pipeline open at it */
        if (fcdata_load_history(db, ws, &def, start_s, &hb, &err) != 0 ||
            fcdata_load_asof(db, ws, &def, P->start, &hb, &pl, &err) != 0 ||
            (run[FM_LEARNED] && fcdata_load_learned(db, ws, &def, fsm, P->start, lm, &err) != 0) ||
            fcdata_won_between(db, ws, P->start, P->end, &actual, &err) != 0) {
            http_reply_error(rq, &err);
            goto done;
        }
        json_t *results = json_array();
        for (int m = 0; m < FM__COUNT; m++) {
            if (!run[m])
                continue;
            /* the learned method falls back to historical below its history threshold */
            forecast_method used = m == FM_LEARNED && !lm->usable ? FM_HISTORICAL : (forecast_method)m;
            forecast_input in = {.method = used,
                                 .period_start = P->start,
                                 .period_end = P->end,
                                 .as_of = P->start,
                                 .funnel = &def,
                                 .history = used == FM_HISTORICAL ? &hb.h : NULL,
                                 .learned = used == FM_LEARNED ? lm : NULL,
                                 .nquantiles = 3,
                                 .quantiles = {0.1, 0.5, 0.9}};
            if (used == FM_LEARNED && fcrecord_load(db, ws, &def, fsm, P->start, P->end, &in, &err) != 0) {
                json_decref(results);
                http_reply_error(rq, &err);
                goto done;
            }
            forecast_result res = {0};
            if (forecast_compute(pl.deals, pl.n, &in, &res) != 0) {
                json_decref(results);
                http_fail(rq, ERR_INTERNAL, "the forecast could not be computed");
                goto done;
            }
            pairs[npairs++] = (metrics_forecast_pair){.group = m, .forecast = res.total.expected, .actual = actual};
            json_array_append_new(results, method_result(&res, &in, (forecast_method)m, used, actual, &score[m]));
        }
        json_t *po =
            json_pack("{s:s, s:o, s:o, s:o, s:I, s:o, s:I, s:I, s:I, s:o, s:o}", "period", label, "period_start",
                      day_j(P->start), "period_end", day_j(P->end - 1), "as_of", day_j(P->start), "open_deals",
                      (json_int_t)pl.n, "open_amount", money_j(pl.open_amount), "amounts_imputed",
                      (json_int_t)pl.imputed_amounts, "close_dates_estimated", (json_int_t)pl.estimated_closes,
                      "never_closing", (json_int_t)pl.never_closing, "actual", money_j(actual), "results", results);
        if (include_deals)
            json_object_set_new(po, "deals", deals_json(&pl, &def));
        if (explain && run[FM_LEARNED])
            json_object_set_new(po, "learned", fcdata_learned_json(lm, &def));
        json_array_append_new(plist, po);
    }
    metrics_accuracy acc[FM__COUNT];
    metrics_accuracy_compute(pairs, npairs, FM__COUNT, acc);
    json_t *summary = summary_json(run, acc, score);
    json_t *out = json_pack("{s:s, s:s, s:o, s:o}", "method", method_s ? method_s : "all", "funnel_id", funnel_id,
                            "periods", plist, "summary", summary);
    plist = NULL;
    http_reply_json(rq, 200, out);
done:
    free(lm);
    json_decref(plist);
    fcdata_history_free(&hb);
    fcdata_pipeline_free(&pl);
}

/* h_trend.c - how a period's forecast moved: the forecast as it stood each
 * week, every point under the as-of rule (the pipeline, wins and history as
 * known at its 00:00 UTC, through fcprep and fcdata_load_learned), and the
 * deals that moved it most between two of those points. Nothing is stored. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "fcdata.h"
#include "fcprep.h"
#include "fcrecord.h"
#include "forecast.h"
#include "handlers.h"

/* A fiscal year has 52 or 53 Mondays, plus its first day and today. */
#define TREND_MAX_POINTS 56
/* Deals listed as the movers between two points. */
#define TREND_MOVERS 20

static json_t *money_j(money_t c) { return json_real((double)c / 100.0); }

static json_t *day_j(caldate_t d)
{
    char b[16];
    caldate_format(d, b, sizeof b);
    return json_string(b);
}

/* The days the forecast is shown at: the period's first day (or today when
 * it has not begun), each Monday after it up to the period's end (the point
 * at the end is the actual), and today inside the period. */
static int trend_points(const period *P, caldate_t today, caldate_t *pts)
{
    int n = 0;
    caldate_t first = P->start <= today ? P->start : today, last = P->end < today ? P->end : today;
    pts[n++] = first;
    for (caldate_t d = first + 1; d <= last && n < TREND_MAX_POINTS - 1; d++)
        if (caldate_monday(d) == d || d == P->end)
            pts[n++] = d;
    if (pts[n - 1] != last && n < TREND_MAX_POINTS)
        pts[n++] = last;
    return n;
}

/* The index of the latest point on or before day (0 when none is). */
static int point_at(const caldate_t *pts, int n, caldate_t day)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        if (pts[i] <= day)
            k = i;
    return k;
}

typedef struct {
    fcprep_deals d;
    money_t *value;
} kept_point;

typedef struct {
    const char *id, *kind;
    money_t from, to;
} mover;

static int cmp_mover(const void *a, const void *b)
{
    const mover *x = a, *y = b;
    long long dx = llabs(x->to - x->from), dy = llabs(y->to - y->from);
    return dx < dy ? 1 : dx > dy ? -1 : strcmp(x->id, y->id);
}

/* Why a deal's value moved between two points (period end `end`). */
static const char *move_kind(const forecast_deal *a, const forecast_deal *b, caldate_t end)
{
    if (!a)
        return "new";
    if (!b)
        return "lost";
    if (b->won && !a->won)
        return "won";
    if (a->expected_close < end && b->expected_close >= end)
        return "pushed";
    if (a->expected_close >= end && b->expected_close < end)
        return "pulled_in";
    if (b->amount != a->amount)
        return b->amount > a->amount ? "amount_up" : "amount_down";
    return "probability";
}

static const char *const KINDS[] = {"new",       "won",       "lost",        "pushed",
                                    "pulled_in", "amount_up", "amount_down", "probability"};
#define NKINDS (sizeof KINDS / sizeof *KINDS)

/* The movers from point a to point b: every deal's value change, by kind,
 * and the largest ones. */
static json_t *movers_json(const kept_point *a, const kept_point *b, caldate_t end)
{
    json_t *index = json_object();
    for (size_t i = 0; i < a->d.n; i++)
        json_object_set_new(index, a->d.ids[i], json_integer((json_int_t)i));
    size_t cap = a->d.n + b->d.n + 1, nm = 0;
    mover *m = calloc(cap, sizeof *m);
    bool *seen = calloc(a->d.n + 1, sizeof *seen);
    money_t by_kind[NKINDS] = {0};
    if (!m || !seen) {
        free(m);
        free(seen);
        json_decref(index);
        return NULL;
    }
    for (size_t j = 0; j < b->d.n; j++) {
        json_t *ix = json_object_get(index, b->d.ids[j]);
        const forecast_deal *da = ix ? &a->d.deals[json_integer_value(ix)] : NULL;
        money_t va = ix ? a->value[json_integer_value(ix)] : 0;
        if (ix)
            seen[json_integer_value(ix)] = true;
        if (va != b->value[j])
            m[nm++] = (mover){b->d.ids[j], move_kind(da, &b->d.deals[j], end), va, b->value[j]};
    }
    for (size_t i = 0; i < a->d.n; i++)
        if (!seen[i] && a->value[i] != 0)
            m[nm++] = (mover){a->d.ids[i], "lost", a->value[i], 0};
    money_t change = 0;
    for (size_t k = 0; k < nm; k++) {
        change += m[k].to - m[k].from;
        for (size_t t = 0; t < NKINDS; t++)
            if (strcmp(m[k].kind, KINDS[t]) == 0)
                by_kind[t] += m[k].to - m[k].from;
    }
    qsort(m, nm, sizeof *m, cmp_mover);
    json_t *kinds = json_object(), *deals = json_array();
    for (size_t t = 0; t < NKINDS; t++)
        json_object_set_new(kinds, KINDS[t], money_j(by_kind[t]));
    for (size_t k = 0; k < nm && k < TREND_MOVERS; k++)
        json_array_append_new(deals, json_pack("{s:s, s:s, s:o, s:o, s:o}", "deal", m[k].id, "kind", m[k].kind, "from",
                                               money_j(m[k].from), "to", money_j(m[k].to), "change",
                                               money_j(m[k].to - m[k].from)));
    free(m);
    free(seen);
    json_decref(index);
    return json_pack("{s:o, s:I, s:o, s:o}", "change", money_j(change), "deals_changed", (json_int_t)nm, "by_kind",
                     kinds, "deals", deals);
}

static void kept_free(kept_point *k)
{
    fcprep_free(&k->d);
    free(k->value);
    memset(k, 0, sizeof *k);
}

void h_forecasts_trend(http_req *rq)
{
    app_err err = {0};
    const char *period_s = http_query(rq, "period"), *method_s = http_query(rq, "method");
    const char *from_s = http_query(rq, "from"), *to_s = http_query(rq, "to");
    caldate_t from_d = 0, to_d = 0;
    if (!period_s)
        app_err_field(&err, "period", "is required (e.g. 2026-Q4)");
    if (method_s && forecast_method_parse(method_s) < 0)
        app_err_field(&err, "method", "must be learned, weighted, category or historical");
    if (from_s && !caldate_parse(from_s, &from_d))
        app_err_field(&err, "from", "must be a date YYYY-MM-DD");
    if (to_s && !caldate_parse(to_s, &to_d))
        app_err_field(&err, "to", "must be a date YYYY-MM-DD");
    if (from_s && to_s && err.code == ERR_NONE && from_d > to_d)
        app_err_field(&err, "from", "must not be after to");
    db_conn *db = err.code == ERR_NONE ? http_db(rq) : NULL;
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    if (!db)
        return;
    const char *ws = rq->auth.workspace_id;
    int fsm = workspace_fy_start(db, ws, &err);
    period P;
    funnel_def def;
    char funnel_id[40], funnel_ver[16];
    if (fsm < 0 || funnels_ensure_default(db, ws, &err) != 0 ||
        fcdata_default_funnel(db, ws, &def, funnel_id, funnel_ver, &err) != 0) {
        http_reply_error(rq, &err);
        return;
    }
    if (!period_parse(period_s, fsm, &P)) {
        app_err_field(&err, "period", "must be a period such as 2026-Q1, 2026-03 or FY2026");
        http_reply_error(rq, &err);
        return;
    }
    if (!forecast_period_in_reach(&P, utc_today())) {
        app_err_field(&err, "period", FORECAST_REACH_MSG);
        http_reply_error(rq, &err);
        return;
    }
    caldate_t today = utc_today(), pts[TREND_MAX_POINTS];
    int np = trend_points(&P, today, pts);
    int ia = np >= 2 ? np - 2 : 0, ib = np - 1; /* the movers: the last two points unless asked */
    if (from_s)
        ia = point_at(pts, np, from_d);
    if (to_s)
        ib = point_at(pts, np, to_d);
    if (ia > ib)
        ia = ib;
    forecast_method asked = method_s ? (forecast_method)forecast_method_parse(method_s) : FM_LEARNED;
    fclearn_model *lm = malloc(sizeof *lm);
    kept_point ka = {0}, kb = {0};
    json_t *points = json_array();
    if (!lm) {
        http_fail(rq, ERR_INTERNAL, "out of memory");
        goto done;
    }
    for (int k = 0; k < np; k++) {
        fcprep_opts po = {.period_start = P.start,
                          .period_end = P.end,
                          .as_of = pts[k],
                          .rebuild = pts[k] < today,
                          .want_history = true};
        fcprep_deals d;
        if (fcprep_load(db, ws, &def, &po, &d, &err) != 0 ||
            (asked == FM_LEARNED && fcdata_load_learned(db, ws, &def, fsm, pts[k], lm, &err) != 0)) {
            fcprep_free(&d);
            http_reply_error(rq, &err);
            goto done;
        }
        /* the learned method falls back as POST /v1/forecasts does */
        forecast_method used = asked == FM_LEARNED && !lm->usable ? (method_s ? FM_HISTORICAL : FM_WEIGHTED) : asked;
        forecast_input in = {.nquantiles = 3, .quantiles = {0.1, 0.5, 0.9}};
        fcprep_input(&d, &po, &def, used, &in);
        in.learned = used == FM_LEARNED ? lm : NULL;
        if (used == FM_LEARNED && fcrecord_load(db, ws, &def, fsm, pts[k], P.end, &in, &err) != 0) {
            fcprep_free(&d);
            http_reply_error(rq, &err);
            goto done;
        }
        bool keep = k == ia || k == ib;
        money_t *value = keep ? calloc(d.n + 1, sizeof *value) : NULL;
        forecast_result res = {.deal_value = value};
        if ((keep && !value) || forecast_compute(d.deals, d.n, &in, &res) != 0) {
            free(value);
            fcprep_free(&d);
            http_fail(rq, ERR_INTERNAL, "the forecast could not be computed");
            goto done;
        }
        const forecast_totals *t = &res.total;
        json_array_append_new(
            points, json_pack("{s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "as_of", day_j(pts[k]),
                              "as_of_rule", pts[k] < today ? "reconstructed" : "current", "method_used",
                              forecast_method_name(used), "won", money_j(t->closed_won), "commit", money_j(t->commit),
                              "best_case", money_j(t->best_case), "pipeline", money_j(d.pipeline_in_period), "forecast",
                              money_j(t->expected), "p10", money_j(res.quantile_values[0]), "p50",
                              money_j(res.quantile_values[1]), "p90", money_j(res.quantile_values[2])));
        if (k == ib)
            kb = (kept_point){d, value};
        if (k == ia && k != ib)
            ka = (kept_point){d, value};
        if (!keep)
            fcprep_free(&d);
    }
    json_t *moves = movers_json(ia == ib ? &kb : &ka, &kb, P.end);
    if (!moves) {
        http_fail(rq, ERR_INTERNAL, "out of memory");
        goto done;
    }
    json_object_set_new(moves, "from", day_j(pts[ia]));
    json_object_set_new(moves, "to", day_j(pts[ib]));
    char label[16];
    period_format(&P, label, sizeof label);
    json_t *out =
        json_pack("{s:s, s:o, s:o, s:s, s:o, s:o}", "period", label, "period_start", day_j(P.start), "period_end",
                  day_j(P.end - 1), "method", forecast_method_name(asked), "points", points, "movers", moves);
    points = NULL;
    http_reply_json(rq, 200, out);
done:
    json_decref(points);
    if (ia != ib)
        kept_free(&ka);
    kept_free(&kb);
    free(lm);
}

/* h_forecasts.c - forecasts computed by core/forecast from the stored deals, and kept. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "dealsig.h"
#include "fcdata.h"
#include "fcprep.h"
#include "fcrecord.h"
#include "forecast.h"
#include "handlers.h"
#include "jsonv.h"

static json_t *money_j(money_t c) { return json_real((double)c / 100.0); }

static json_t *totals_json(const forecast_totals *t)
{
    return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I}", "closed_won", money_j(t->closed_won),
                     "commit", money_j(t->commit), "best_case", money_j(t->best_case), "pipeline", money_j(t->pipeline),
                     "weighted", money_j(t->weighted), "expected", money_j(t->expected), "run_rate",
                     money_j(t->run_rate), "risk_adjusted", money_j(t->risk_adjusted), "open_deals",
                     (json_int_t)t->open_deals, "flagged_deals", (json_int_t)t->flagged_deals);
}

/* A forecast request as asked: the period and options, checked; quantiles,
 * what-if delta and method go straight into the engine's input. */
typedef struct {
    const char *period, *method, *group_by;
    bool has_as_of, explain;
    int as_of;
    const json_t *excluded; /* what-if deal ids, or NULL */
} fc_request;

static void parse_request(const json_t *body, fc_request *q, forecast_input *in, app_err *err)
{
    static const char *const allowed[] = {"period", "method",  "group_by", "quantiles",
                                          "as_of",  "what_if", "explain",  NULL};
    (void)jv_only_fields(body, allowed, err);
    (void)jv_string(body, "period", true, 16, &q->period, err);
    if (jv_string(body, "method", false, 16, &q->method, err) && q->method && forecast_method_parse(q->method) < 0)
        app_err_field(err, "method", "must be weighted, category, historical or learned");
    const json_t *explain = json_object_get(body, "explain");
    if (explain && !json_is_boolean(explain))
        app_err_field(err, "explain", "must be true or false");
    q->explain = explain && json_is_true(explain);
    const char *g = NULL;
    if (jv_string(body, "group_by", false, 16, &g, err) && g && strcmp(g, "owner") != 0 && strcmp(g, "manager") != 0 &&
        strcmp(g, "segment") != 0 && strcmp(g, "region") != 0)
        app_err_field(err, "group_by", "must be owner, manager, segment or region");
    q->group_by = g;
    (void)jv_date(body, "as_of", false, &q->as_of, &q->has_as_of, err);
    in->method = q->method ? (forecast_method)forecast_method_parse(q->method) : FM_LEARNED;
    const json_t *qs = json_object_get(body, "quantiles");
    if (!qs) {
        in->nquantiles = 3;
        in->quantiles[0] = 0.1, in->quantiles[1] = 0.5, in->quantiles[2] = 0.9;
    } else if (!json_is_array(qs) || json_array_size(qs) > FORECAST_MAX_QUANTILES) {
        app_err_field(err, "quantiles", "must be a list of up to %d numbers between 0 and 1", FORECAST_MAX_QUANTILES);
    } else {
        size_t i;
        json_t *v;
        json_array_foreach(qs, i, v)
        {
            if (!json_is_number(v) || json_number_value(v) <= 0 || json_number_value(v) >= 1) {
                app_err_field(err, "quantiles", "must be numbers strictly between 0 and 1");
                break;
            }
            in->quantiles[in->nquantiles++] = json_number_value(v);
        }
    }
    const json_t *wi = json_object_get(body, "what_if");
    if (wi) {
        static const char *const wi_allowed[] = {"win_rate_delta", "deal_ids_excluded", NULL};
        app_err sub = {0};
        if (!json_is_object(wi))
            app_err_field(&sub, "what_if", "must be an object");
        else {
            (void)jv_only_fields(wi, wi_allowed, &sub);
            (void)jv_number(wi, "win_rate_delta", false, -1, 1, &in->win_rate_delta, NULL, &sub);
            q->excluded = json_object_get(wi, "deal_ids_excluded");
            if (q->excluded && !json_is_array(q->excluded))
                app_err_field(&sub, "deal_ids_excluded", "must be a list of deal ids");
        }
        jv_merge_prefixed(err, &sub, "what_if");
    }
}

/* The manager roll-up: every rep and manager becomes a group, each rolled up
 * to its manager; *parent (caller frees) has one entry per group. */
static int manager_groups(db_conn *db, const char *ws, fcprep_deals *pd, int **parent, app_err *err)
{
    const char *fp[] = {ws};
    PGresult *mr = db_query(db,
                            "SELECT external_id, manager FROM reps WHERE workspace_id = $1 AND deleted_at IS NULL"
                            " AND manager IS NOT NULL",
                            1, fp, err);
    if (!mr)
        return -1;
    int nm = PQntuples(mr);
    for (int i = 0; i < nm; i++) {
        (void)fcprep_group(pd, PQgetvalue(mr, i, 0));
        (void)fcprep_group(pd, PQgetvalue(mr, i, 1));
    }
    size_t ng = json_array_size(pd->groups);
    *parent = malloc((ng + 1) * sizeof **parent);
    for (size_t g = 0; *parent && g < ng; g++)
        (*parent)[g] = -1;
    for (int i = 0; *parent && i < nm; i++)
        (*parent)[fcprep_group(pd, PQgetvalue(mr, i, 0))] = fcprep_group(pd, PQgetvalue(mr, i, 1));
    PQclear(mr);
    if (!*parent) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    return 0;
}

/* The flagged deals that count in the period, with their reasons and their
 * revenue-intelligence flags (dealsig); the open deals counted in the period
 * that only a risk flag of those marks are listed apart (flagged_by_signals),
 * so the at-risk amount stays the forecast's. */
static json_t *at_risk_json(const fcprep_deals *pd, const forecast_result *res, const json_t *sig)
{
    json_t *risky = json_array(), *by_sig = json_array();
    money_t sig_amount = 0;
    for (size_t i = 0; i < pd->n; i++) {
        if (res->deal_probability[i] <= 0)
            continue;
        const json_t *e = json_object_size(sig) ? json_object_get(sig, pd->ids[i]) : NULL;
        if (!res->flags[i]) {
            if (!pd->deals[i].won && json_is_true(json_object_get(e, "risk"))) {
                sig_amount += pd->deals[i].amount;
                json_array_append_new(by_sig, json_pack("{s:s, s:o, s:O}", "deal", pd->ids[i], "amount",
                                                        money_j(pd->deals[i].amount), "signals",
                                                        json_object_get(e, "signals")));
            }
            continue;
        }
        json_t *reasons = json_array();
        for (int bit = 0; bit < RISK__COUNT; bit++)
            if (res->flags[i] & (1u << bit))
                json_array_append_new(reasons, json_string(forecast_risk_name(bit)));
        json_t *signals = json_object_get(e, "signals");
        json_array_append_new(risky, json_pack("{s:s, s:o, s:o, s:o}", "deal", pd->ids[i], "amount",
                                               money_j(pd->deals[i].amount), "reasons", reasons, "signals",
                                               signals ? json_incref(signals) : json_array()));
    }
    return json_pack("{s:o, s:o, s:{s:o, s:o}}", "amount", money_j(res->total.at_risk), "deals", risky,
                     "flagged_by_signals", "amount", money_j(sig_amount), "deals", by_sig);
}

/* The revenue-intelligence flags of the open deals the forecast counts: a
 * past as_of as known before it, now everything recorded by now. */
static int deal_signals(db_conn *db, const char *ws, caldate_t as_of, bool past, const fcprep_deals *pd,
                        const forecast_result *res, json_t **sig, app_err *err)
{
    const char **ids = malloc((pd->n + 1) * sizeof *ids);
    size_t n = 0;
    if (!ids) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < pd->n; i++)
        if (!pd->deals[i].won && res->deal_probability[i] > 0)
            ids[n++] = pd->ids[i];
    int rc = dealsig_load(db, ws, past ? as_of : as_of + 1, ids, n, sig, err);
    free(ids);
    return rc;
}

static json_t *groups_json(const json_t *names, const forecast_result *res, const int *parent, int ngroups)
{
    json_t *groups = json_array();
    for (int g = 0; g < ngroups; g++) {
        json_t *o = totals_json(&res->groups[g]);
        json_object_set(o, "key", json_array_get(names, (size_t)g));
        json_object_set_new(o, "parent",
                            parent && parent[g] >= 0 ? json_incref(json_array_get(names, (size_t)parent[g]))
                                                     : json_null());
        json_array_append_new(groups, o);
    }
    return groups;
}

/* Coverage: pipeline closing in the period over the quota still to win
 * (null without a quota above what is won). */
static int coverage_json(db_conn *db, const char *ws, const char *plabel, money_t pipeline, money_t won, json_t **out,
                         app_err *err)
{
    char quota_s[32];
    const char *qp[] = {ws, plabel};
    int has_quota =
        db_query_value(db,
                       "SELECT sum((quotas ->> $2)::bigint) FROM reps WHERE workspace_id = $1 AND deleted_at IS NULL"
                       " AND quotas ? $2",
                       2, qp, quota_s, sizeof quota_s, err);
    if (has_quota < 0)
        return -1;
    money_t quota = has_quota > 0 && quota_s[0] ? strtoll(quota_s, NULL, 10) : 0;
    *out = quota > won ? json_real(round((double)pipeline / (double)(quota - won) * 10000) / 10000) : json_null();
    return 0;
}

/* Only the learned method counts the error of its own parameters and the
 * new-deal term in its ranges; its calibration is measured by the backtest
 * (docs/forecast-quality.md). The others count each deal's win/lose chance
 * only. */
static json_t *ranges_json(forecast_method m)
{
    return json_pack("{s:b, s:s}", "calibrated", m == FM_LEARNED, "basis",
                     m == FM_LEARNED
                         ? "deal outcomes, new deals (compound Poisson), the learned rates' posterior spread "
                           "and the spread of the method's own record; P10-P90 coverage measured by "
                           "POST /v1/forecasts/backtest"
                         : "deal outcomes only (independent wins at the method's probabilities); "
                           "not calibrated: ranges are too narrow");
}

/* Keep the forecast and answer 201 with it. */
static void store_and_reply(http_req *rq, db_conn *db, const period *P, const char *method, const char *funnel_id,
                            const char *funnel_ver, caldate_t as_of, const json_t *out)
{
    app_err err = {0};
    char plabel[16], ps[16], pe[16], ao[16];
    period_format(P, plabel, sizeof plabel);
    caldate_format(P->start, ps, sizeof ps);
    caldate_format(P->end, pe, sizeof pe);
    caldate_format(as_of, ao, sizeof ao);
    char *req_text = json_dumps(rq->json, JSON_COMPACT),
         *res_text = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(15));
    const char *ip[] = {rq->auth.workspace_id,
                        plabel,
                        ps,
                        pe,
                        method,
                        funnel_id[0] ? funnel_id : NULL,
                        funnel_ver[0] ? funnel_ver : NULL,
                        ao,
                        req_text,
                        res_text};
    PGresult *ir =
        req_text && res_text
            ? db_query(db,
                       "INSERT INTO forecasts AS f (workspace_id, period, period_start, period_end, method, funnel_id,"
                       " funnel_version, as_of, request, result) VALUES ($1, $2, $3::date, $4::date, $5, $6::uuid,"
                       " $7::int, $8::date, $9::jsonb, $10::jsonb) RETURNING forecast_json(f)",
                       10, ip, &err)
            : NULL;
    free(req_text);
    free(res_text);
    if (!ir) {
        if (err.code == ERR_NONE)
            app_err_set(&err, ERR_INTERNAL, "could not store the forecast");
        http_reply_error(rq, &err);
        return;
    }
    char loc[96];
    json_t *stored = json_loads(PQgetvalue(ir, 0, 0), 0, NULL);
    PQclear(ir);
    snprintf(loc, sizeof loc, "/v1/forecasts/%s", json_string_value(json_object_get(stored, "id")));
    http_add_header(rq, "Location", loc);
    http_reply_json(rq, 201, stored);
}

void h_forecasts_create(http_req *rq)
{
    app_err err = {0};
    fc_request q = {0};
    forecast_input in = {0};
    if (jv_require_object(rq->json, &err))
        parse_request(rq->json, &q, &in, &err);
    db_conn *db = err.code == ERR_NONE ? http_db(rq) : NULL;
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    if (!db)
        return;
    const char *ws = rq->auth.workspace_id;
    int fsm = workspace_fy_start(db, ws, &err);
    caldate_t today = utc_today();
    period P;
    funnel_def def; /* the default funnel: probabilities, and its version recorded with the forecast */
    char funnel_id[40], funnel_ver[16];
    if (fsm < 0 || funnels_ensure_default(db, ws, &err) != 0) {
        http_reply_error(rq, &err);
        return;
    }
    if (!period_parse(q.period, fsm, &P))
        app_err_field(&err, "period", "must be a period such as 2026-Q1, 2026-03 or FY2026");
    else if (!forecast_period_in_reach(&P, today))
        app_err_field(&err, "period", FORECAST_REACH_MSG);
    else if (q.has_as_of && q.as_of > today)
        app_err_field(&err, "as_of", "must not be in the future: a forecast uses what is known on its date");
    if (err.code != ERR_NONE || fcdata_default_funnel(db, ws, &def, funnel_id, funnel_ver, &err) != 0) {
        http_reply_error(rq, &err);
        return;
    }
    caldate_t as_of = q.has_as_of ? q.as_of : today;
    bool past = as_of < today; /* the as-of rule: a past date is the world as known at its 00:00 UTC */
    /* the deals (fcprep: the as-of rule, written once) and what was learned
     * before as_of; the learned method falls back to historical below its
     * threshold (fclearn.h) when asked for by name, the default to weighted */
    fcprep_opts po = {.period_start = P.start,
                      .period_end = P.end,
                      .as_of = as_of,
                      .rebuild = past,
                      .group_by = q.group_by,
                      .excluded = q.excluded,
                      .want_history = true};
    fcprep_deals pd;
    memset(&pd, 0, sizeof pd);
    fclearn_model *lm = calloc(1, sizeof *lm);
    unsigned *flags = NULL;
    double *probs = NULL;
    int *parent = NULL;
    forecast_totals *gt = NULL;
    json_t *out = NULL, *coverage = NULL, *sig = NULL;
    const char *method_note = NULL;
    fccache_ref *kref = NULL;
    forecast_method asked = in.method;
    if (!lm) {
        http_fail(rq, ERR_INTERNAL, "out of memory");
        goto done;
    }
    if (fcprep_load(db, ws, &def, &po, &pd, &err) != 0 ||
        ((in.method == FM_LEARNED || q.explain) && fcdata_load_learned(db, ws, &def, fsm, as_of, lm, &err) != 0)) {
        http_reply_error(rq, &err);
        goto done;
    }
    if (in.method == FM_LEARNED && !lm->usable) {
        in.method = q.method ? FM_HISTORICAL : FM_WEIGHTED;
        method_note =
            "not enough closed history for the learned method (30 closed deals, 10 of them won, before as_of)";
    }
    forecast_method used = in.method;
    fcprep_input(&pd, &po, &def, used, &in);
    in.learned = used == FM_LEARNED ? lm : NULL;
    if ((used == FM_LEARNED && fcrecord_load(db, ws, &def, fsm, as_of, P.end, &in, &err) != 0) ||
        (q.group_by && strcmp(q.group_by, "manager") == 0 && manager_groups(db, ws, &pd, &parent, &err) != 0)) {
        http_reply_error(rq, &err);
        goto done;
    }
    in.ngroups = (int)json_array_size(pd.groups);
    in.group_parent = parent;
    if (used == FM_LEARNED) /* NULL (computed in the forecast) when it cannot be kept */
        in.learned_kernel = fcdata_learned_kernel(ws, &def, fsm, lm, as_of, P.start, P.end, &kref);
    flags = calloc(pd.n + 1, sizeof *flags);
    probs = calloc(pd.n + 1, sizeof *probs);
    gt = calloc((size_t)in.ngroups + 1, sizeof *gt);
    forecast_result res = {.groups = gt, .flags = flags, .deal_probability = probs};
    if (!flags || !probs || !gt || forecast_compute(pd.deals, pd.n, &in, &res) != 0) {
        http_fail(rq, ERR_INTERNAL, "the forecast could not be computed");
        goto done;
    }
    char plabel[16];
    period_format(&P, plabel, sizeof plabel);
    if (coverage_json(db, ws, plabel, pd.pipeline_in_period, res.total.closed_won, &coverage, &err) != 0) {
        http_reply_error(rq, &err);
        goto done;
    }
    out = totals_json(&res.total);
    json_t *quant = json_object();
    for (int k = 0; k < in.nquantiles; k++) {
        char key[16];
        snprintf(key, sizeof key, "p%g", in.quantiles[k] * 100);
        json_object_set_new(quant, key, money_j(res.quantile_values[k]));
    }
    json_object_set_new(out, "quantiles", quant);
    if (deal_signals(db, ws, as_of, past, &pd, &res, &sig, &err) != 0) {
        http_reply_error(rq, &err);
        goto done;
    }
    json_object_set_new(out, "at_risk", at_risk_json(&pd, &res, sig));
    json_object_set_new(out, "groups", groups_json(pd.groups, &res, parent, in.ngroups));
    json_object_set_new(out, "coverage", coverage);
    coverage = NULL;
    json_object_set_new(out, "group_by", q.group_by ? json_string(q.group_by) : json_null());
    json_object_set_new(
        out, "close_dates_estimated",
        json_pack("{s:I, s:I}", "deals", (json_int_t)pd.estimated, "in_no_period", (json_int_t)pd.never_closing));
    json_object_set_new(out, "method_asked", json_string(forecast_method_name(asked)));
    json_object_set_new(out, "method_used", json_string(forecast_method_name(used)));
    json_object_set_new(out, "method_note", method_note ? json_string(method_note) : json_null());
    json_object_set_new(out, "as_of_rule", json_string(past ? "reconstructed" : "current"));
    json_object_set_new(out, "ranges", ranges_json(used));
    json_object_set_new(out, "record",
                        used == FM_LEARNED ? json_pack("{s:I, s:f}", "windows", (json_int_t)in.record_n, "factor",
                                                       round(res.record_factor * 1e4) / 1e4)
                                           : json_null());
    if (q.explain)
        json_object_set_new(out, "learned", fcdata_learned_json(lm, &def));
    store_and_reply(rq, db, &P, forecast_method_name(used), funnel_id, funnel_ver, as_of, out);
done:
    fccache_release(kref);
    fcprep_free(&pd);
    free(lm);
    json_decref(out);
    json_decref(coverage);
    json_decref(sig);
    free(flags);
    free(probs);
    free(parent);
    free(gt);
}

void h_forecasts_list(http_req *rq)
{
    http_reply_list(rq, true,
                    "SELECT forecast_json(f), f.id FROM forecasts f WHERE f.workspace_id = $1"
                    " AND ($2::uuid IS NULL OR (f.created_at, f.id) < (SELECT created_at, id FROM forecasts"
                    "      WHERE id = $2::uuid AND workspace_id = $1))"
                    " ORDER BY f.created_at DESC, f.id DESC LIMIT $3");
}

void h_forecasts_get(http_req *rq)
{
    PGresult *r =
        http_query_one(rq, NULL,
                       "SELECT forecast_json(f) || jsonb_build_object('submissions', (SELECT COALESCE(jsonb_agg("
                       " forecast_submission_json(s) ORDER BY s.created_at, s.id), '[]') FROM forecast_submissions s"
                       " WHERE s.workspace_id = f.workspace_id AND s.forecast_id = f.id))"
                       " FROM forecasts f WHERE workspace_id = $1 AND id = $2::uuid",
                       "No forecast with this id");
    if (!r)
        return;
    http_reply_json_etag(rq, json_loads(PQgetvalue(r, 0, 0), 0, NULL));
    PQclear(r);
}

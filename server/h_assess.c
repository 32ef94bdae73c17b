/* h_assess.c - RevOps maturity assessments: POST /v1/assessments takes the
 * seed's revops-audit.yaml (JSON or YAML) with optional answers, scores the
 * six maturity dimensions and the 100-point rubric from the workspace's
 * evidence where the engine can see it and from the answers elsewhere
 * (core/maturity), adds the seed's edge-case advice, and stores it; GET
 * lists, shows and compares them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "handlers.h"
#include "jsonv.h"
#include "maturity.h"
#include "yconv.h"

#define ASSESS_MAX_PAINS 20
#define ASSESS_MAX_TEXT 500

static const char *const STAGES[] = {"pre-revenue", "<$1M", "$1-5M", "$5-20M", "$20M+", NULL};
static const char *const MODELS[] = {"PLG", "sales-led", "hybrid", "marketplace", NULL};
static const char *const CONTEXT[] = {"usage_based_pricing", "multi_product", "international", "post_merger", NULL};

static long long cnt(const json_t *ev, const char *k) { return json_integer_value(json_object_get(ev, k)); }

/* ---- the request ---------------------------------------------------------- */

static bool one_of(const char *v, const char *const *set, bool nocase)
{
    for (; *set; set++)
        if (nocase ? strcasecmp(v, *set) == 0 : strcmp(v, *set) == 0)
            return true;
    return false;
}

/* A string field that may be empty (the seed's template has "" everywhere). */
static const char *opt_enum(const json_t *body, const char *key, const char *const *set, bool nocase, const char *msg,
                            app_err *err)
{
    const json_t *v = json_object_get(body, key);
    if (!v || json_is_null(v))
        return NULL;
    const char *s = json_string_value(v);
    if (!s || (s[0] && !one_of(s, set, nocase))) {
        app_err_field(err, key, "%s", msg);
        return NULL;
    }
    return s[0] ? s : NULL;
}

typedef struct {
    bool has_dim[MAT_NDIMS];
    int dim[MAT_NDIMS];
    bool has_crit[RUBRIC_NDIMS][RUBRIC_MAX_CRIT];
    int crit[RUBRIC_NDIMS][RUBRIC_MAX_CRIT];
} answers;

static void decode_answers(const json_t *a, answers *an, app_err *err)
{
    memset(an, 0, sizeof *an);
    if (!a || json_is_null(a))
        return;
    if (!json_is_object(a)) {
        app_err_field(err, "answers", "must be an object {dimensions, rubric}");
        return;
    }
    const char *k;
    const json_t *v;
    char path[160];
    json_object_foreach((json_t *)a, k, v)
    {
        if (strcmp(k, "dimensions") != 0 && strcmp(k, "rubric") != 0)
            app_err_field(err, "answers", "unknown field '%.40s' (dimensions, rubric)", k);
    }
    const json_t *dims = json_object_get(a, "dimensions");
    if (dims && !json_is_object(dims))
        app_err_field(err, "answers.dimensions", "must be an object {data..enablement: 1-5}");
    json_object_foreach((json_t *)(json_is_object(dims) ? dims : NULL), k, v)
    {
        int d = -1;
        for (int i = 0; i < MAT_NDIMS; i++)
            if (strcmp(k, maturity_dim_name((mat_dim)i)) == 0)
                d = i;
        snprintf(path, sizeof path, "answers.dimensions.%.40s", k);
        if (d < 0)
            app_err_field(err, path,
                          "is not a dimension (data, process, technology, analytics, alignment, enablement)");
        else if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 5)
            app_err_field(err, path, "must be an integer from 1 to 5");
        else {
            an->has_dim[d] = true;
            an->dim[d] = (int)json_integer_value(v);
        }
    }
    const json_t *rub = json_object_get(a, "rubric");
    if (rub && !json_is_object(rub))
        app_err_field(err, "answers.rubric", "must be an object {dimension: {criterion: 0-2}}");
    json_object_foreach((json_t *)(json_is_object(rub) ? rub : NULL), k, v)
    {
        int d = -1;
        for (int i = 0; i < RUBRIC_NDIMS; i++)
            if (strcmp(k, rubric_dim_get(i)->key) == 0)
                d = i;
        snprintf(path, sizeof path, "answers.rubric.%.40s", k);
        if (d < 0 || !json_is_object(v)) {
            app_err_field(err, path, d < 0 ? "is not a rubric dimension" : "must be an object {criterion: 0-2}");
            continue;
        }
        const rubric_dim *rd = rubric_dim_get(d);
        const char *ck;
        const json_t *cv;
        json_object_foreach((json_t *)v, ck, cv)
        {
            int c = -1;
            for (int i = 0; i < rd->ncrit; i++)
                if (strcmp(ck, rd->crit_key[i]) == 0)
                    c = i;
            snprintf(path, sizeof path, "answers.rubric.%.40s.%.40s", k, ck);
            if (c < 0)
                app_err_field(err, path, "is not a criterion of %s", rd->name);
            else if (!json_is_integer(cv) || json_integer_value(cv) < 0 || json_integer_value(cv) > 2)
                app_err_field(err, path, "must be 0, 1 or 2");
            else {
                an->has_crit[d][c] = true;
                an->crit[d][c] = (int)json_integer_value(cv);
            }
        }
    }
}

static void decode_request(const json_t *body, answers *an, app_err *err)
{
    static const char *const allowed[] = {
        "company_name",  "arr_current",      "arr_target", "stage",      "model",
        "avg_deal_size", "sales_cycle_days", "team_size",  "tech_stack", "current_pain",
        "context",       "answers",          NULL};
    if (!jv_require_object(body, err))
        return;
    (void)jv_only_fields(body, allowed, err);
    const json_t *cn = json_object_get(body, "company_name"); /* "" as in the seed's template is fine */
    if (cn && !json_is_null(cn) && (!json_is_string(cn) || strlen(json_string_value(cn)) > 200))
        app_err_field(err, "company_name", "must be a text of at most 200 bytes");
    (void)opt_enum(body, "stage", STAGES, false, "must be pre-revenue, <$1M, $1-5M, $5-20M or $20M+", err);
    (void)opt_enum(body, "model", MODELS, true, "must be PLG, sales-led, hybrid or marketplace", err);
    static const char *const loose[] = {"arr_current", "arr_target", "avg_deal_size", "sales_cycle_days", NULL};
    for (const char *const *k = loose; *k; k++) {
        const json_t *v = json_object_get(body, *k);
        if (v && !json_is_null(v) && !json_is_number(v) && !(json_is_string(v) && strlen(json_string_value(v)) <= 100))
            app_err_field(err, *k, "must be a number or a short text such as \"$2.5M\"");
    }
    static const char *const objs[] = {"team_size", "tech_stack", "context", NULL};
    for (const char *const *k = objs; *k; k++) {
        const json_t *v = json_object_get(body, *k);
        if (v && !json_is_null(v) && (!json_is_object(v) || json_object_size(v) > 20))
            app_err_field(err, *k, "must be an object (at most 20 fields)");
    }
    const json_t *ctx = json_object_get(body, "context");
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)(json_is_object(ctx) ? ctx : NULL), k, v)
    {
        if (!one_of(k, CONTEXT, false) || !json_is_boolean(v))
            app_err_field(err, "context",
                          "takes booleans usage_based_pricing, multi_product, international, post_merger");
    }
    const json_t *pains = json_object_get(body, "current_pain");
    if (pains && !json_is_null(pains)) {
        size_t i;
        const json_t *p;
        if (!json_is_array(pains) || json_array_size(pains) > ASSESS_MAX_PAINS)
            app_err_field(err, "current_pain", "must be an array of at most %d texts", ASSESS_MAX_PAINS);
        json_array_foreach(json_is_array(pains) ? pains : NULL, i,
                           p) if (!json_is_string(p) || strlen(json_string_value(p)) > ASSESS_MAX_TEXT)
            app_err_field(err, "current_pain", "items must be texts of at most %d bytes", ASSESS_MAX_TEXT);
    }
    decode_answers(json_object_get(body, "answers"), an, err);
}

/* ---- evidence -> levels ------------------------------------------------------ */

/* The engine's evidence of each maturity dimension (docs/metrics.md,
 * "Maturity assessment"): the level, the highest level the evidence can
 * establish, and what it saw. */
static void dim_evidence(mat_dim d, const json_t *ev, const json_t *hyg, mat_inputs *in, char *why, size_t len)
{
    long long deals = cnt(ev, "deals"), accounts = cnt(ev, "accounts");
    in->has_evidence = false;
    why[0] = '\0';
    switch (d) {
    case MAT_DATA: {
        const json_t *sm = json_object_get(hyg, "summary");
        long long m = cnt(sm, "measured"), g = cnt(sm, "green"), y = cnt(sm, "yellow");
        in->cap = 5;
        if (deals + accounts == 0) {
            in->has_evidence = true;
            in->evidence = 1;
            snprintf(why, len, "no deals or accounts in the engine: no system of record it can see");
        } else if (m > 0) {
            in->has_evidence = true;
            /* 1 + 4 x the share of measured hygiene rules met (a flag rule with records counts half) */
            in->evidence = 1 + (int)((4 * (2 * g + y)) / (2 * m));
            snprintf(why, len, "%lld of %lld measured hygiene rules green, %lld yellow (GET /v1/hygiene)", g, m, y);
        }
        break;
    }
    case MAT_PROCESS: {
        long long st = cnt(ev, "funnel_stages"), def = cnt(ev, "funnel_stages_defined"), sla = cnt(ev, "funnel_slas");
        in->has_evidence = true;
        in->cap = 3; /* automated workflows and their optimisation are not visible to the engine */
        bool adopted = json_is_true(json_object_get(ev, "funnel_adopted"));
        /* none: tribal knowledge; the seed's as shipped or partly defined: 2; the workspace's own, every
         * stage defined, SLAs set: documented playbooks with SLAs */
        in->evidence = st == 0 ? 1 : (adopted && def == st && sla > 0) ? 3 : 2;
        snprintf(why, len, "default funnel (%s): %lld stages, %lld defined, %lld with an SLA (GET /v1/funnels)",
                 adopted ? "the workspace's own" : "the seed's as shipped", st, def, sla);
        break;
    }
    case MAT_TECHNOLOGY: {
        long long ep = cnt(ev, "webhook_endpoints"), evs = cnt(ev, "webhook_events_30d");
        in->has_evidence = true;
        in->cap = 3; /* beyond the CRM feed the engine sees no tool */
        in->evidence = deals + accounts == 0 ? 1 : (ep > 0 && evs > 0) ? 3 : 2;
        snprintf(why, len,
                 "%lld webhook endpoints, %lld events applied in 30 days; %lld deals and %lld accounts stored "
                 "(GET /v1/webhook-endpoints)",
                 ep, evs, deals, accounts);
        break;
    }
    case MAT_ANALYTICS: {
        long long sched = cnt(ev, "scheduled_snapshots_35d"), subs = cnt(ev, "forecast_submissions"),
                  cohorts = cnt(ev, "subscriptions");
        if (deals == 0)
            break;
        in->has_evidence = true;
        in->cap = 5;
        /* lagging only; weekly reviews (scheduled snapshots); + tracked forecast calls; + cohort data */
        in->evidence = sched == 0 ? 1 : subs == 0 ? 3 : cohorts == 0 ? 4 : 5;
        snprintf(why, len,
                 "%lld scheduled snapshots in 35 days, %lld forecast calls tracked for accuracy, %lld subscriptions "
                 "for cohort analysis (GET /v1/snapshots, /v1/forecasts/accuracy, /v1/cohorts/retention)",
                 sched, subs, cohorts);
        break;
    }
    default:
        break; /* alignment and enablement: only the answers tell */
    }
}

/* The engine's evidence of a rubric sub-criterion (0-2), where it has one. */
static bool crit_evidence(const char *key, const json_t *ev, const json_t *hyg, int *score, char *why, size_t len)
{
    const json_t *rules = json_object_get(hyg, "rules");
    size_t i;
    const json_t *r, *dup = NULL, *fields = NULL;
    json_array_foreach(rules, i, r)
    {
        const char *id = json_string_value(json_object_get(r, "id"));
        if (strcmp(id, "duplicate_accounts") == 0)
            dup = r;
        else if (strcmp(id, "open_deal_required_fields") == 0)
            fields = r;
    }
    const json_t *rule = strcmp(key, "duplicates_below_2pct") == 0      ? dup
                         : strcmp(key, "required_fields_enforced") == 0 ? fields
                                                                        : NULL;
    if (rule) {
        const json_t *v = json_object_get(rule, "value");
        if (!json_is_number(v))
            return false;
        double x = json_number_value(v);
        bool dupl = rule == dup;
        *score = dupl ? (x < 0.02 ? 2 : x < 0.05 ? 1 : 0) : (x >= 1.0 ? 2 : x >= 0.9 ? 1 : 0);
        snprintf(why, len, "%s %.1f%% (GET /v1/hygiene)", dupl ? "duplicate rate" : "open deals complete", x * 100);
        return true;
    }
    if (strcmp(key, "all_stages_defined") == 0) {
        long long st = cnt(ev, "funnel_stages"), def = cnt(ev, "funnel_stages_defined");
        *score = st > 0 && def == st ? 2 : def > 0 ? 1 : 0;
        snprintf(why, len, "%lld of %lld default funnel stages defined (GET /v1/funnels)", def, st);
        return true;
    }
    if (strcmp(key, "slas_exist") == 0) {
        long long sla = cnt(ev, "funnel_slas");
        *score = sla >= 2 ? 2 : sla == 1 ? 1 : 0;
        snprintf(why, len, "%lld funnel stages with an SLA (GET /v1/funnels)", sla);
        return true;
    }
    if (strcmp(key, "coverage_tracked") == 0 || strcmp(key, "dashboard_updated_weekly") == 0) {
        long long sched = cnt(ev, "scheduled_snapshots_35d"), all = cnt(ev, "snapshots");
        *score = sched > 0 ? 2 : all > 0 ? 1 : 0;
        snprintf(why, len, "%lld scheduled snapshots in 35 days, %lld in all (GET /v1/snapshots)", sched, all);
        return true;
    }
    if (strcmp(key, "cohort_analysis_running") == 0) {
        long long subs = cnt(ev, "subscriptions");
        *score = subs > 0 ? 2 : 0;
        snprintf(why, len, "%lld subscriptions for cohorts (GET /v1/cohorts/retention)", subs);
        return true;
    }
    return false;
}

/* ---- the document ---------------------------------------------------------- */

static json_t *maturity_doc(const json_t *ev, const json_t *hyg, const answers *an)
{
    int scores[MAT_NDIMS];
    json_t *dims = json_array();
    for (int d = 0; d < MAT_NDIMS; d++) {
        mat_inputs in = {0};
        char why[400];
        dim_evidence((mat_dim)d, ev, hyg, &in, why, sizeof why);
        in.has_answer = an->has_dim[d];
        in.answer = an->dim[d];
        mat_source src;
        scores[d] = maturity_resolve(&in, 1, &src);
        json_t *o = json_pack("{s:s, s:i, s:s, s:s}", "dimension", maturity_dim_name((mat_dim)d), "score", scores[d],
                              "source", maturity_source_name(src), "level", maturity_dim_level((mat_dim)d, scores[d]));
        json_object_set_new(o, "evidence", in.has_evidence ? json_string(why) : json_null());
        json_object_set_new(o, "evidence_score", in.has_evidence ? json_integer(in.evidence) : json_null());
        json_object_set_new(o, "answer", in.has_answer ? json_integer(in.answer) : json_null());
        json_array_append_new(dims, o);
    }
    maturity_result m;
    (void)maturity_score(scores, &m); /* every score is 1-5 by construction */
    return json_pack("{s:o, s:i, s:s, s:s, s:s}", "dimensions", dims, "total", m.total, "stage", m.stage_name, "focus",
                     m.focus, "weakest", maturity_dim_name(m.weakest));
}

static json_t *rubric_doc(const json_t *ev, const json_t *hyg, const answers *an)
{
    int scores[RUBRIC_NDIMS][RUBRIC_MAX_CRIT] = {{0}};
    json_t *crits[RUBRIC_NDIMS];
    for (int d = 0; d < RUBRIC_NDIMS; d++) {
        const rubric_dim *rd = rubric_dim_get(d);
        crits[d] = json_array();
        for (int c = 0; c < rd->ncrit; c++) {
            char why[300];
            mat_inputs in = {.cap = 2, .has_answer = an->has_crit[d][c], .answer = an->crit[d][c]};
            in.has_evidence = crit_evidence(rd->crit_key[c], ev, hyg, &in.evidence, why, sizeof why);
            mat_source src;
            scores[d][c] = maturity_resolve(&in, 0, &src);
            json_t *o = json_pack("{s:s, s:s, s:i, s:s}", "key", rd->crit_key[c], "name", rd->crit_name[c], "score",
                                  scores[d][c], "source", maturity_source_name(src));
            json_object_set_new(o, "evidence", in.has_evidence ? json_string(why) : json_null());
            json_array_append_new(crits[d], o);
        }
    }
    rubric_result r;
    (void)rubric_score(scores, &r); /* every score is 0-2 by construction */
    json_t *dims = json_array();
    for (int d = 0; d < RUBRIC_NDIMS; d++) {
        const rubric_dim *rd = rubric_dim_get(d);
        json_array_append_new(dims,
                              json_pack("{s:s, s:s, s:i, s:f, s:o}", "key", rd->key, "name", rd->name, "weight",
                                        rd->weight, "points", rubric_points(r.points24[d]), "criteria", crits[d]));
    }
    return json_pack("{s:o, s:f, s:s, s:s}", "dimensions", dims, "total", rubric_points(r.total24), "band", r.band_name,
                     "band_text", r.band_text);
}

/* The seed's "Edge Cases" that apply to the request. */
static json_t *advice_doc(const json_t *body)
{
    json_t *out = json_array();
    const char *stage = json_string_value(json_object_get(body, "stage"));
    const char *model = json_string_value(json_object_get(body, "model"));
    const json_t *ctx = json_object_get(body, "context");
#define ADD(c, ...)                                                                                                    \
    do {                                                                                                               \
        const char *a_[] = {__VA_ARGS__, NULL};                                                                        \
        json_t *l_ = json_array();                                                                                     \
        for (const char **p_ = a_; *p_; p_++)                                                                          \
            json_array_append_new(l_, json_string(*p_));                                                               \
        json_array_append_new(out, json_pack("{s:s, s:o}", "case", c, "advice", l_));                                  \
    } while (0)
    if (stage && (strcmp(stage, "pre-revenue") == 0 || strcmp(stage, "<$1M") == 0))
        ADD("startup_pre_1m", "Skip territory design and comp complexity",
            "Focus on: funnel definitions, CRM hygiene, basic pipeline tracking",
            "One person can be \"RevOps\" part-time (often founder or first ops hire)");
    if (model && strcasecmp(model, "PLG") == 0)
        ADD("plg_dominant", "Replace MQL with PQL (product qualified lead)",
            "Lead scoring = product usage signals, not content engagement",
            "Self-serve metrics: activation rate, time-to-value, conversion from free");
    if (json_is_true(json_object_get(ctx, "usage_based_pricing")))
        ADD("usage_based_pricing", "Pipeline = estimated annual usage, not fixed contract",
            "Forecasting is harder — use trailing usage trends + growth rate",
            "Expansion is organic — track net dollar expansion separately");
    if (json_is_true(json_object_get(ctx, "multi_product")))
        ADD("multi_product", "Attribution gets complex — track by product line",
            "Cross-sell pipeline tracked separately from new business", "Beware double-counting ARR across products");
    if (json_is_true(json_object_get(ctx, "international")))
        ADD("international", "Territory design must account for language, timezone, currency",
            "Separate pipeline and conversion benchmarks by region",
            "Local compliance (GDPR, data residency) affects tech stack");
    if (json_is_true(json_object_get(ctx, "post_merger")))
        ADD("post_merger", "Audit both CRM systems — pick one, migrate fast",
            "Reconcile definitions (their \"SQL\" ≠ your \"SQL\")", "Expect 3-6 month data quality dip — plan for it");
#undef ADD
    return out;
}

/* The whole scored document of a request at `at`; 0 or -1 with err. */
static int assess(db_conn *db, const char *ws, const json_t *body, const answers *an, time_t at, json_t **out,
                  app_err *err)
{
    json_t *hyg = NULL;
    if (hygiene_summary(db, ws, at, false, &hyg, err) != 0)
        return -1;
    char ats[32];
    struct tm tm;
    gmtime_r(&at, &tm);
    strftime(ats, sizeof ats, "%Y-%m-%dT%H:%M:%SZ", &tm);
    const char *p[] = {ws, ats};
    PGresult *r = db_query(db, "SELECT assessment_evidence($1, $2)::text", 2, p, err);
    if (!r) {
        json_decref(hyg);
        return -1;
    }
    json_t *ev = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    json_object_set_new(ev, "hygiene", json_incref(json_object_get(hyg, "summary")));
    json_t *mat = maturity_doc(ev, hyg, an), *rub = rubric_doc(ev, hyg, an);
    json_decref(hyg);
    *out = json_pack("{s:s, s:o, s:o, s:o, s:o}", "as_of", ats, "evidence", ev, "maturity", mat, "rubric", rub,
                     "edge_cases", advice_doc(body));
    return 0;
}

static json_t *body_of(http_req *rq)
{
    if (rq->json)
        return json_incref(rq->json);
    const char *ctype = http_header(rq, "Content-Type");
    if (rq->body_len && ctype && strstr(ctype, "yaml")) {
        char msg[256];
        json_t *j = yconv_parse(rq->body, rq->body_len, msg, sizeof msg);
        if (!j)
            http_fail(rq, ERR_BAD_REQUEST, "%s", msg);
        return j;
    }
    http_fail(rq, ERR_BAD_REQUEST, "A body is required: the seed's revops-audit.yaml as JSON or YAML");
    return NULL;
}

void h_assessments_create(http_req *rq)
{
    json_t *body = body_of(rq);
    if (!body)
        return;
    app_err err = {0};
    answers an;
    decode_request(body, &an, &err);
    db_conn *db = err.code == ERR_NONE ? http_db(rq) : NULL;
    if (!db) {
        if (err.code != ERR_NONE)
            http_reply_error(rq, &err);
        json_decref(body);
        return;
    }
    json_t *result = NULL;
    if (assess(db, rq->auth.workspace_id, body, &an, time(NULL), &result, &err) != 0) {
        json_decref(body);
        http_reply_error(rq, &err);
        return;
    }
    char *req = json_dumps(body, JSON_COMPACT), *res = json_dumps(result, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(body);
    json_decref(result);
    const char *p[] = {rq->auth.workspace_id, req, res};
    PGresult *r = req && res ? db_query(db,
                                        "WITH a AS (INSERT INTO assessments (workspace_id, request, result)"
                                        " VALUES ($1, $2::jsonb, $3::jsonb) RETURNING *)"
                                        " SELECT assessment_json(a)::text, a.id FROM a",
                                        3, p, &err)
                             : NULL;
    free(req);
    free(res);
    if (!r) {
        if (err.code == ERR_NONE)
            app_err_set(&err, ERR_INTERNAL, "could not encode the assessment");
        http_reply_error(rq, &err);
        return;
    }
    char loc[80];
    snprintf(loc, sizeof loc, "/v1/assessments/%s", PQgetvalue(r, 0, 1));
    http_add_header(rq, "Location", loc);
    http_reply_json_text(rq, 201, PQgetvalue(r, 0, 0));
    PQclear(r);
}

void h_assessments_list(http_req *rq)
{
    http_reply_list(rq, true,
                    "SELECT assessment_json(s), s.id FROM assessments s WHERE s.workspace_id = $1"
                    " AND ($2::uuid IS NULL OR (s.created_at, s.id) < (SELECT created_at, id FROM assessments"
                    "      WHERE id = $2::uuid AND workspace_id = $1))"
                    " ORDER BY s.created_at DESC, s.id DESC LIMIT $3");
}

void h_assessments_get(http_req *rq)
{
    PGresult *r = http_query_one(
        rq, NULL, "SELECT assessment_json(s) FROM assessments s WHERE workspace_id = $1 AND id = $2::uuid",
        "No assessment with this id");
    if (!r)
        return;
    http_reply_json_etag(rq, json_loads(PQgetvalue(r, 0, 0), 0, NULL));
    PQclear(r);
}

/* {from, to, delta} of two numbers. */
static json_t *move(const json_t *from, const json_t *to)
{
    return json_pack("{s:O, s:O, s:f}", "from", from, "to", to, "delta",
                     json_number_value(to) - json_number_value(from));
}

static json_t *compare_doc(const json_t *a, const json_t *b)
{
    const json_t *ma = json_object_get(a, "maturity"), *mb = json_object_get(b, "maturity");
    const json_t *ra = json_object_get(a, "rubric"), *rb = json_object_get(b, "rubric");
    json_t *dims = json_array(), *rdims = json_array();
    size_t i;
    const json_t *d;
    json_array_foreach(json_object_get(mb, "dimensions"), i, d)
    {
        const json_t *old = json_array_get(json_object_get(ma, "dimensions"), i);
        json_t *m = move(json_object_get(old, "score"), json_object_get(d, "score"));
        json_object_set(m, "dimension", json_object_get(d, "dimension"));
        json_array_append_new(dims, m);
    }
    json_array_foreach(json_object_get(rb, "dimensions"), i, d)
    {
        const json_t *old = json_array_get(json_object_get(ra, "dimensions"), i);
        json_t *m = move(json_object_get(old, "points"), json_object_get(d, "points"));
        json_object_set(m, "key", json_object_get(d, "key"));
        json_array_append_new(rdims, m);
    }
    return json_pack("{s:O, s:O, s:{s:o, s:{s:O, s:O}, s:o}, s:{s:o, s:{s:O, s:O}, s:o}}", "id",
                     json_object_get(b, "id"), "against", json_object_get(a, "id"), "maturity", "total",
                     move(json_object_get(ma, "total"), json_object_get(mb, "total")), "stage", "from",
                     json_object_get(ma, "stage"), "to", json_object_get(mb, "stage"), "dimensions", dims, "rubric",
                     "total", move(json_object_get(ra, "total"), json_object_get(rb, "total")), "band", "from",
                     json_object_get(ra, "band"), "to", json_object_get(rb, "band"), "dimensions", rdims);
}

void h_assessments_compare(http_req *rq)
{
    const char *against = http_query(rq, "against");
    if (against && !jv_is_uuid(against)) {
        app_err err = {0};
        app_err_field(&err, "against", "must be an assessment id (UUID)");
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = NULL;
    PGresult *r = http_query_one(rq, &db,
                                 "SELECT assessment_json(s)::text, s.created_at FROM assessments s"
                                 " WHERE workspace_id = $1 AND id = $2::uuid",
                                 "No assessment with this id");
    if (!r)
        return;
    json_t *b = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    app_err err = {0};
    const char *p[] = {rq->auth.workspace_id, rq->params[0], against};
    /* default: the assessment made just before this one */
    r = db_query(db,
                 "SELECT assessment_json(s)::text FROM assessments s WHERE s.workspace_id = $1 AND"
                 " CASE WHEN $3::uuid IS NOT NULL THEN s.id = $3::uuid"
                 " ELSE (s.created_at, s.id) < (SELECT created_at, id FROM assessments WHERE id = $2::uuid) END"
                 " ORDER BY s.created_at DESC, s.id DESC LIMIT 1",
                 3, p, &err);
    if (!r) {
        json_decref(b);
        http_reply_error(rq, &err);
        return;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        json_decref(b);
        if (against)
            http_fail(rq, ERR_NOT_FOUND, "No assessment %s in this workspace to compare with", against);
        else
            http_fail(rq, ERR_NOT_FOUND, "No earlier assessment to compare with: name one in ?against=");
        return;
    }
    json_t *a = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    json_t *doc = compare_doc(a, b);
    json_decref(a);
    json_decref(b);
    http_reply_json(rq, 200, doc);
}

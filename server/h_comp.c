/* h_comp.c - comp plans (versioned documents, JSON or YAML, checked against
 * the seed's design rules), the seed's architecture table as templates, and
 * payout statements computed by core/comp from won deals and ARR movements
 * (docs/metrics.md "Comp plans and statements"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp.h"
#include "crm.h"
#include "handlers.h"
#include "jsonv.h"
#include "jtext.h"
#include "yconv.h"

static json_t *money_j(money_t c) { return json_real((double)c / 100.0); }
static json_t *bp_j(int32_t bp) { return json_real(bp / (double)COMP_BP); }

/* ---- the document ---- */

static const char *const period_names[] = {"month", "quarter", "year"};
static const int period_months[] = {1, 3, 12};

static int months_of(const char *s)
{
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, period_names[i]) == 0)
            return period_months[i];
    return 0;
}

static const char *period_name(int months) { return months == 1 ? "month" : months == 3 ? "quarter" : "year"; }

/* A ratio given as a number (0.5) or a percent string ("50%") into basis
 * points; it must be exact to a basis point. */
static bool ratio_bp(const json_t *obj, const char *key, bool required, double max, int32_t *out, bool *present,
                     app_err *err)
{
    double v = 0;
    bool has = false;
    if (!jv_rate(obj, key, required, 0, max, &v, &has, err))
        return false;
    if (present)
        *present = has;
    if (!has)
        return true;
    double bp = v * COMP_BP;
    if (fabs(bp - round(bp)) > 1e-6) {
        app_err_field(err, key, "must be exact to a basis point (0.0001)");
        return false;
    }
    *out = (int32_t)llround(bp);
    return true;
}

static void decode_rates(const json_t *rt, comp_rates *r, app_err *err)
{
    if (!rt) {
        comp_rates_default(r);
        return;
    }
    if (!json_is_array(rt) || json_array_size(rt) < 1 || json_array_size(rt) > COMP_MAX_TIERS) {
        app_err_field(err, "rate_table", "must be a list of 1 to %d bands {from, to, rate}", COMP_MAX_TIERS);
        return;
    }
    r->ntiers = (int)json_array_size(rt);
    for (int i = 0; i < r->ntiers; i++) {
        const json_t *b = json_array_get(rt, (size_t)i);
        app_err sub = {0};
        static const char *const allowed[] = {"from", "to", "rate", NULL};
        char prefix[32];
        snprintf(prefix, sizeof prefix, "rate_table[%d]", i);
        if (!json_is_object(b)) {
            app_err_field(err, prefix, "must be an object {from, to, rate}");
            continue;
        }
        (void)jv_only_fields(b, allowed, &sub);
        bool has_to = false;
        comp_tier *t = &r->tiers[i];
        (void)ratio_bp(b, "from", true, 100, &t->from_bp, NULL, &sub);
        const json_t *to = json_object_get(b, "to");
        if (to && !json_is_null(to))
            (void)ratio_bp(b, "to", false, 100, &t->to_bp, &has_to, &sub);
        if (!has_to)
            t->to_bp = COMP_OPEN_END;
        (void)ratio_bp(b, "rate", true, 10, &t->rate_bp, NULL, &sub);
        jv_merge_prefixed(err, &sub, prefix);
    }
    if (err->code == ERR_NONE) {
        const char *why = comp_rates_check(r);
        if (why)
            app_err_field(err, "rate_table", "%s", why);
    }
}

static void decode_components(const json_t *cs, comp_plan *p, app_err *err)
{
    if (!json_is_array(cs) || json_array_size(cs) < 1 || json_array_size(cs) > COMP_MAX_COMPONENTS) {
        app_err_field(err, "components", "must be a list of 1 to %d components {metric, weight, quota}",
                      COMP_MAX_COMPONENTS);
        return;
    }
    p->ncomps = (int)json_array_size(cs);
    int32_t total = 0;
    for (int i = 0; i < p->ncomps; i++) {
        const json_t *c = json_array_get(cs, (size_t)i);
        app_err sub = {0};
        char prefix[32];
        snprintf(prefix, sizeof prefix, "components[%d]", i);
        if (!json_is_object(c)) {
            app_err_field(err, prefix, "must be an object {metric, weight, quota}");
            continue;
        }
        static const char *const allowed[] = {"metric", "weight", "quota", NULL};
        (void)jv_only_fields(c, allowed, &sub);
        const char *m = NULL;
        comp_component *k = &p->comps[i];
        if (jv_string(c, "metric", true, 40, &m, &sub) && m) {
            int mi = comp_metric_parse(m);
            if (mi < 0)
                app_err_field(&sub, "metric", "must be new_arr, pipeline_generated or expansion_arr");
            k->metric = mi < 0 ? COMP_NEW_ARR : (comp_metric)mi;
        }
        if (ratio_bp(c, "weight", true, 1, &k->weight_bp, NULL, &sub) && k->weight_bp <= 0)
            app_err_field(&sub, "weight", "must be above 0");
        total += k->weight_bp;
        const json_t *q = json_object_get(c, "quota");
        bool has = false;
        long long cents = 0;
        if (q && !json_is_null(q) && jv_money(c, "quota", false, 1, &cents, &has, &sub)) {
            k->has_quota = has;
            k->quota = cents;
        }
        jv_merge_prefixed(err, &sub, prefix);
    }
    if (err->code == ERR_NONE && total != COMP_BP)
        app_err_field(err, "components", "weights must add up to 1 (they add up to %.4f)", total / (double)COMP_BP);
}

static void decode_spif(const json_t *s, comp_plan *p, json_t *norm, app_err *err)
{
    if (!s || json_is_null(s)) {
        json_object_set_new(norm, "spif", json_null());
        return;
    }
    app_err sub = {0};
    static const char *const allowed[] = {"budget", "per_deal", "min_amount", "from", "to", NULL};
    long long budget = 0, per = 0, min = 0;
    int from = 0, to = 0;
    bool has_min = false;
    if (!json_is_object(s))
        app_err_field(&sub, "spif", "must be an object {budget, per_deal, min_amount, from, to}");
    else {
        (void)jv_only_fields(s, allowed, &sub);
        (void)jv_money(s, "budget", true, 1, &budget, NULL, &sub);
        (void)jv_money(s, "per_deal", true, 1, &per, NULL, &sub);
        (void)jv_money(s, "min_amount", false, 0, &min, &has_min, &sub);
        (void)jv_date(s, "from", true, &from, NULL, &sub);
        if (jv_date(s, "to", true, &to, NULL, &sub) && sub.code == ERR_NONE && to < from)
            app_err_field(&sub, "to", "must not be before from");
    }
    jv_merge_prefixed(err, &sub, "spif");
    if (sub.code != ERR_NONE)
        return;
    p->has_spif = true;
    p->spif_budget = budget;
    p->spif_per_deal = per;
    char fb[16], tb[16];
    json_object_set_new(norm, "spif",
                        json_pack("{s:o, s:o, s:o, s:s, s:s}", "budget", money_j(budget), "per_deal", money_j(per),
                                  "min_amount", money_j(min), "from", caldate_format(from, fb, sizeof fb), "to",
                                  caldate_format(to, tb, sizeof tb)));
}

/* The template's document, for POST with "template" and GET /templates. */
static json_t *template_doc(const comp_template *t)
{
    comp_plan p;
    comp_plan_from_template(t, 3, &p);
    json_t *rt = json_array();
    for (int i = 0; i < p.rates.ntiers; i++) {
        const comp_tier *b = &p.rates.tiers[i];
        json_array_append_new(rt, json_pack("{s:o, s:o, s:o}", "from", bp_j(b->from_bp), "to",
                                            b->to_bp == COMP_OPEN_END ? json_null() : bp_j(b->to_bp), "rate",
                                            bp_j(b->rate_bp)));
    }
    return json_pack("{s:s, s:o, s:o, s:s, s:s, s:[{s:s, s:f, s:o}], s:o, s:n, s:n, s:i, s:[]}", "role", t->role,
                     "base", money_j(p.base), "variable", money_j(p.variable), "quota_period", "quarter",
                     "payout_frequency", "monthly", "components", "metric", comp_metric_name(p.comps[0].metric),
                     "weight", 1.0, "quota", p.comps[0].has_quota ? money_j(p.comps[0].quota) : json_null(),
                     "rate_table", rt, "cap", "spif", "clawback_days", p.clawback_days, "reps");
}

/* Decode a plan body (a template's document under the given fields when
 * "template" is set). *norm: the document to store (caller owns). */
static int decode_plan(const json_t *body, bool name_required, const char **name, comp_plan *p, json_t **norm,
                       app_err *err)
{
    static const char *const allowed[] = {"name",         "template",         "role",       "base",       "variable",
                                          "quota_period", "payout_frequency", "components", "rate_table", "cap",
                                          "spif",         "clawback_days",    "reps",       NULL};
    *p = (comp_plan){0};
    *norm = NULL;
    if (!jv_require_object(body, err))
        return -1;
    (void)jv_only_fields(body, allowed, err);
    (void)jv_string(body, "name", name_required, 200, name, err);
    const char *tname = NULL;
    json_t *doc = NULL;
    if (jv_string(body, "template", false, 40, &tname, err) && tname) {
        const comp_template *t = comp_template_find(tname);
        if (!t)
            app_err_field(err, "template", "must be one of sdr, ae_smb, ae_mid_market, ae_enterprise, cs_am");
        else
            doc = template_doc(t);
    }
    if (!doc)
        doc = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)body, k, v) if (strcmp(k, "name") != 0 && strcmp(k, "template") != 0)
        json_object_set(doc, k, v);
    /* from here on the merged document is what is checked */
    const char *role = NULL, *qp = NULL, *pf = NULL;
    if (json_is_null(json_object_get(doc, "role")))
        json_object_del(doc, "role");
    if (jv_string(doc, "role", false, 40, &role, err) && role) {
        p->role = comp_template_find(role);
        /* a role outside the table is kept: only the role-specific rules are off */
    }
    long long base = 0, variable = 0, cb = 90;
    bool has_cb = false;
    (void)jv_money(doc, "base", true, 0, &base, NULL, err);
    (void)jv_money(doc, "variable", true, 1, &variable, NULL, err);
    p->base = base;
    p->variable = variable;
    if (jv_string(doc, "quota_period", false, 16, &qp, err) && qp && !months_of(qp))
        app_err_field(err, "quota_period", "must be month, quarter or year");
    p->quota_months = qp ? months_of(qp) : 3;
    if (jv_string(doc, "payout_frequency", false, 16, &pf, err) && pf && strcmp(pf, "monthly") != 0 &&
        strcmp(pf, "quarterly") != 0)
        app_err_field(err, "payout_frequency", "must be monthly or quarterly");
    p->payout_months = pf && strcmp(pf, "quarterly") == 0 ? 3 : 1;
    if (p->payout_months > p->quota_months && p->quota_months == 1)
        p->payout_months = 3; /* quarterly payout of monthly quotas: allowed, warned (pay monthly) */
    decode_components(json_object_get(doc, "components"), p, err);
    decode_rates(json_object_get(doc, "rate_table"), &p->rates, err);
    const json_t *cap = json_object_get(doc, "cap");
    if (cap && !json_is_null(cap) && ratio_bp(doc, "cap", false, 100, &p->rates.cap_bp, NULL, err) &&
        p->rates.cap_bp < COMP_BP)
        app_err_field(err, "cap", "must be at least 1 (100%% of the target incentive) or null");
    (void)jv_int(doc, "clawback_days", false, 0, 365, &cb, &has_cb, err);
    p->clawback_days = (int)cb;
    const json_t *reps = json_object_get(doc, "reps");
    if (reps && !json_is_null(reps)) {
        size_t i;
        const json_t *r;
        if (!json_is_array(reps) || json_array_size(reps) > 1000)
            app_err_field(err, "reps", "must be a list of up to 1000 rep ids");
        else
            json_array_foreach(reps, i,
                               r) if (!json_is_string(r) || !json_string_length(r) || json_string_length(r) > 200)
            {
                app_err_field(err, "reps", "item %zu must be a rep id (1 to 200 characters)", i);
                break;
            }
        p->nreps = json_is_array(reps) ? (int)json_array_size(reps) : 0;
    }
    json_t *out = json_object();
    decode_spif(json_object_get(doc, "spif"), p, out, err);
    if (err->code != ERR_NONE) {
        json_decref(doc);
        json_decref(out);
        return -1;
    }
    /* the normalised document, in one order */
    json_t *comps = json_array(), *rt = json_array();
    for (int i = 0; i < p->ncomps; i++)
        json_array_append_new(comps, json_pack("{s:s, s:o, s:o}", "metric", comp_metric_name(p->comps[i].metric),
                                               "weight", bp_j(p->comps[i].weight_bp), "quota",
                                               p->comps[i].has_quota ? money_j(p->comps[i].quota) : json_null()));
    for (int i = 0; i < p->rates.ntiers; i++) {
        const comp_tier *b = &p->rates.tiers[i];
        json_array_append_new(rt, json_pack("{s:o, s:o, s:o}", "from", bp_j(b->from_bp), "to",
                                            b->to_bp == COMP_OPEN_END ? json_null() : bp_j(b->to_bp), "rate",
                                            bp_j(b->rate_bp)));
    }
    json_t *spif = json_incref(json_object_get(out, "spif"));
    json_decref(out);
    *norm = json_pack("{s:o, s:o, s:o, s:o, s:s, s:s, s:o, s:o, s:o, s:o, s:i, s:o}", "role",
                      role ? json_string(role) : json_null(), "base", money_j(p->base), "variable",
                      money_j(p->variable), "ote", money_j(p->base + p->variable), "quota_period",
                      period_name(p->quota_months), "payout_frequency", p->payout_months == 1 ? "monthly" : "quarterly",
                      "components", comps, "rate_table", rt, "cap",
                      p->rates.cap_bp ? bp_j(p->rates.cap_bp) : json_null(), "spif", spif, "clawback_days",
                      p->clawback_days, "reps", reps && json_is_array(reps) ? json_deep_copy(reps) : json_array());
    json_decref(doc);
    return *norm ? 0 : -1;
}

static json_t *warnings_json(const comp_warning *w, int n)
{
    json_t *a = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s, s:s}", "rule", w[i].rule, "message", w[i].message));
    return a;
}

/* ---- create, list, get, new version ---- */

static json_t *body_json(http_req *rq)
{
    const char *ctype = http_header(rq, "Content-Type");
    if (rq->json)
        return json_incref(rq->json);
    if (rq->body_len && ctype && strstr(ctype, "yaml")) {
        char msg[256];
        json_t *j = yconv_parse(rq->body, rq->body_len, msg, sizeof msg);
        if (!j)
            http_fail(rq, ERR_BAD_REQUEST, "%s", msg);
        return j;
    }
    http_fail(rq, ERR_BAD_REQUEST, "A comp plan body is required (JSON or YAML)");
    return NULL;
}

static void reply_plan(http_req *rq, int status, const char *text)
{
    json_t *f = json_loads(text, 0, NULL);
    if (!f) {
        http_fail(rq, ERR_INTERNAL, "could not decode the stored plan");
        return;
    }
    char etag[32], loc[96];
    snprintf(etag, sizeof etag, "\"v%lld\"", (long long)json_integer_value(json_object_get(f, "version")));
    http_add_header(rq, "ETag", etag);
    if (status == 201) {
        snprintf(loc, sizeof loc, "/v1/comp-plans/%s", json_string_value(json_object_get(f, "id")));
        http_add_header(rq, "Location", loc);
    }
    bool yaml = http_wants_yaml(rq);
    size_t len = 0;
    char *out = yaml ? yconv_emit(f, &len) : json_dumps(f, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(f);
    if (!out) {
        http_fail(rq, ERR_INTERNAL, "could not encode the plan");
        return;
    }
    http_reply_text(rq, status, yaml ? "application/yaml" : "application/json", out, yaml ? len : strlen(out));
}

typedef struct {
    const char *ws, *id, *name, *if_match;
    char *doc, *warnings, *result;
} plan_write;

static int plan_write_tx(db_conn *c, void *ctx, app_err *err)
{
    plan_write *w = ctx;
    PGresult *r;
    if (w->id) {
        char ver[24], want[32];
        const char *p[] = {w->ws, w->id};
        int f = db_query_value(c, "SELECT version FROM comp_plans WHERE workspace_id = $1 AND id = $2::uuid FOR UPDATE",
                               2, p, ver, sizeof ver, err);
        if (f <= 0) {
            if (f == 0)
                app_err_set(err, ERR_NOT_FOUND, "No comp plan with this id");
            return -1;
        }
        snprintf(want, sizeof want, "\"v%s\"", ver);
        const char *im = strncmp(w->if_match, "W/", 2) == 0 ? w->if_match + 2 : w->if_match;
        if (strcmp(im, want) != 0 && strcmp(im, "*") != 0) {
            app_err_set(err, ERR_PRECONDITION_FAILED, "The plan is at version %s; fetch it again and reapply", ver);
            return -1;
        }
        const char *u[] = {w->ws, w->id, w->name, w->doc, w->warnings};
        r = db_query(c,
                     "UPDATE comp_plans p SET name = COALESCE($3, name), document = $4::jsonb, warnings = $5::jsonb,"
                     " version = version + 1, updated_at = now() WHERE workspace_id = $1 AND id = $2::uuid"
                     " RETURNING comp_plan_json(p), p.id",
                     5, u, err);
    } else {
        const char *p[] = {w->ws, w->name, w->doc, w->warnings};
        r = db_query(c,
                     "INSERT INTO comp_plans AS p (workspace_id, name, document, warnings)"
                     " VALUES ($1, $2, $3::jsonb, $4::jsonb) RETURNING comp_plan_json(p), p.id",
                     4, p, err);
    }
    if (!r)
        return -1;
    free(w->result);
    w->result = strdup(PQgetvalue(r, 0, 0));
    char pid[40];
    snprintf(pid, sizeof pid, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    const char *vp[] = {w->ws, pid};
    return db_exec(c,
                   "INSERT INTO comp_plan_versions (plan_id, workspace_id, version, name, document, warnings)"
                   " SELECT id, workspace_id, version, name, document, warnings FROM comp_plans"
                   " WHERE workspace_id = $1 AND id = $2::uuid",
                   2, vp, err);
}

static void write_plan(http_req *rq, bool is_put)
{
    const char *if_match = NULL;
    if (is_put) {
        if (!jv_is_uuid(rq->params[0])) {
            http_fail(rq, ERR_NOT_FOUND, "No comp plan with this id");
            return;
        }
        if (!(if_match = http_header(rq, "If-Match"))) {
            http_fail(rq, ERR_PRECONDITION_REQUIRED, "Send If-Match with the ETag of the version you edited");
            return;
        }
    }
    json_t *body = body_json(rq);
    if (!body)
        return;
    app_err err = {0};
    plan_write w = {.ws = rq->auth.workspace_id, .id = is_put ? rq->params[0] : NULL, .if_match = if_match};
    comp_plan p;
    json_t *norm = NULL;
    if (decode_plan(body, !is_put, &w.name, &p, &norm, &err) != 0) {
        if (err.code == ERR_NONE)
            app_err_set(&err, ERR_INTERNAL, "out of memory");
        http_reply_error(rq, &err);
        json_decref(body);
        return;
    }
    comp_warning warn[COMP_MAX_WARNINGS];
    json_t *wj = warnings_json(warn, comp_plan_warnings(&p, warn, COMP_MAX_WARNINGS));
    w.doc = json_dumps(norm, JSON_COMPACT | JSON_REAL_PRECISION(15));
    w.warnings = json_dumps(wj, JSON_COMPACT);
    json_decref(norm);
    json_decref(wj);
    db_conn *db = w.doc && w.warnings ? http_db(rq) : NULL;
    if (!w.doc || !w.warnings)
        http_fail(rq, ERR_INTERNAL, "out of memory");
    else if (db && db_transaction(db, plan_write_tx, &w, &err) == 0)
        reply_plan(rq, is_put ? 200 : 201, w.result);
    else if (db)
        http_reply_error(rq, &err);
    json_decref(body); /* after the transaction: w.name points into it */
    free(w.doc);
    free(w.warnings);
    free(w.result);
}

void h_comp_plans_create(http_req *rq) { write_plan(rq, false); }
void h_comp_plans_put(http_req *rq) { write_plan(rq, true); }

void h_comp_plans_list(http_req *rq)
{
    http_reply_list(rq, true,
                    "SELECT comp_plan_json(p), p.id FROM comp_plans p WHERE p.workspace_id = $1"
                    " AND ($2::uuid IS NULL OR (p.created_at, p.id) > (SELECT created_at, id FROM comp_plans"
                    "      WHERE id = $2::uuid AND workspace_id = $1))"
                    " ORDER BY p.created_at, p.id LIMIT $3");
}

/* The plan's JSON text at a version (0: the current one), or NULL after replying. */
static char *load_plan(http_req *rq, db_conn *db, long version)
{
    if (!jv_is_uuid(rq->params[0])) {
        http_fail(rq, ERR_NOT_FOUND, "No comp plan with this id");
        return NULL;
    }
    app_err err = {0};
    char vb[24];
    snprintf(vb, sizeof vb, "%ld", version);
    const char *p[] = {rq->auth.workspace_id, rq->params[0], vb};
    PGresult *r = db_query(db,
                           version > 0 ? "SELECT comp_plan_version_json(v) || jsonb_build_object('current_version',"
                                         " (SELECT version FROM comp_plans WHERE id = v.plan_id))"
                                         " FROM comp_plan_versions v WHERE workspace_id = $1 AND plan_id = $2::uuid"
                                         " AND version = $3::int"
                                       : "SELECT comp_plan_json(p) || jsonb_build_object('current_version', p.version)"
                                         " FROM comp_plans p WHERE workspace_id = $1 AND id = $2::uuid AND $3 = '0'",
                           3, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return NULL;
    }
    char *text = PQntuples(r) ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    if (!text)
        http_fail(rq, ERR_NOT_FOUND, version > 0 ? "No such version of this comp plan" : "No comp plan with this id");
    return text;
}

static bool parse_version(http_req *rq, const char *s, long *out)
{
    char *end = NULL;
    *out = 0;
    if (!s)
        return true;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 1 || v > 1000000) {
        http_fail(rq, ERR_VALIDATION, "version must be a version number (1, 2, ...)");
        return false;
    }
    *out = v;
    return true;
}

void h_comp_plans_get(http_req *rq)
{
    long version;
    if (!parse_version(rq, http_query(rq, "version"), &version))
        return;
    db_conn *db = http_db(rq);
    char *text = db ? load_plan(rq, db, version) : NULL;
    if (text)
        reply_plan(rq, 200, text);
    free(text);
}

void h_comp_plans_templates(http_req *rq)
{
    json_t *items = json_array();
    for (size_t i = 0; i < comp_ntemplates; i++) {
        const comp_template *t = &comp_templates[i];
        json_t *doc = template_doc(t);
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:[o, o], s:o, s:o, s:o}", "template", t->role, "role_label", t->label, "base_variable",
            "", "ote_range", money_j(t->ote_min), money_j(t->ote_max), "quota_multiple",
            t->multiple_max > 0 ? json_pack("{s:f, s:f}", "min", t->multiple_min, "max", t->multiple_max) : json_null(),
            "metric", json_string(comp_metric_name(t->metric)), "document", doc);
        char mix[16];
        snprintf(mix, sizeof mix, "%d:%d", t->base_pct, 100 - t->base_pct);
        json_object_set_new(o, "base_variable", json_string(mix));
        json_array_append_new(items, o);
    }
    http_reply_json(rq, 200, json_pack("{s:o}", "items", items));
}

/* ---- statements ---- */

/* A credit row: a won deal, a created deal or an ARR movement. Sorted by
 * owner (C collation), then day, then id. */
typedef struct {
    const char *id, *owner, *account;
    const char *ts; /* the deal rows' UTC timestamp text (their order within a day) */
    caldate_t day;
    money_t amount;
} stmt_row;

typedef struct {
    PGresult *res;
    stmt_row *rows;
    size_t n;
} row_set;

static void row_set_free(row_set *s)
{
    PQclear(s->res);
    free(s->rows);
    *s = (row_set){0};
}

/* owner, then the UTC timestamp, then id, all by byte order: what ORDER BY
 * owner COLLATE "C", <timestamp>, external_id COLLATE "C" gave (the
 * timestamp's ISO text sorts as the timestamp does) */
static int cmp_owner_ts_id(const void *a, const void *b)
{
    const stmt_row *x = a, *y = b;
    int c = strcmp(x->owner, y->owner);
    if (!c)
        c = strcmp(x->ts, y->ts);
    return c ? c : strcmp(x->id, y->id);
}

/* Rows of sql (columns id, owner, account, day, amount cents). by_ts: the
 * fourth column is a UTC timestamp ('YYYY-MM-DD HH24:MI:SS.US', fixed width), its day
 * the row's, and the rows come unsorted: sorted here (PostgreSQL's sort of
 * 50,000 won deals spilled past work_mem to disk: 120 of the query's 210 ms). */
static int load_rows(db_conn *db, const char *sql, int np, const char *const *params, bool by_ts, row_set *out,
                     app_err *err)
{
    PGresult *r = out->res = db_query(db, sql, np, params, err);
    if (!r)
        return -1;
    out->n = (size_t)PQntuples(r);
    out->rows = calloc(out->n + 1, sizeof *out->rows);
    if (!out->rows) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < out->n; i++) {
        int k = (int)i;
        stmt_row *x = &out->rows[i];
        x->id = PQgetvalue(r, k, 0);
        x->owner = PQgetvalue(r, k, 1);
        x->account = PQgetisnull(r, k, 2) ? NULL : PQgetvalue(r, k, 2);
        const char *d = PQgetvalue(r, k, 3);
        char day[11];
        if (by_ts) {
            x->ts = d;
            snprintf(day, sizeof day, "%.10s", d);
            d = day;
        }
        if (!caldate_parse(d, &x->day))
            x->day = INT32_MIN;
        x->amount = strtoll(PQgetvalue(r, k, 4), NULL, 10);
    }
    if (by_ts)
        qsort(out->rows, out->n, sizeof *out->rows, cmp_owner_ts_id);
    return 0;
}

/* The slice of rows owned by rep (rows sorted by owner in C collation). */
static void rows_of(const row_set *s, const char *rep, size_t *lo, size_t *hi)
{
    size_t a = 0, b = s->n;
    while (a < b) {
        size_t m = (a + b) / 2;
        if (strcmp(s->rows[m].owner, rep) < 0)
            a = m + 1;
        else
            b = m;
    }
    *lo = a;
    while (a < s->n && strcmp(s->rows[a].owner, rep) == 0)
        a++;
    *hi = a;
}

typedef struct {
    db_conn *db;
    const char *ws;
    int fsm;
    comp_plan plan;
    const json_t *doc; /* the stored document */
    period P;
    period_kind qkind;
    caldate_t win_start;
    money_t spif_min;
    caldate_t spif_from, spif_to;
    PGresult *reps;
    row_set won, created, moves, churns;
    money_t *spif_award; /* per won row */
} stmt_ctx;

static const char *plan_rep_role(const char *role)
{
    return !role                          ? NULL
           : strncmp(role, "ae_", 3) == 0 ? "ae"
           : strcmp(role, "sdr") == 0     ? "sdr"
           : strcmp(role, "cs_am") == 0   ? "csm"
                                          : NULL;
}

/* The plan's reps as a text[] constant ($2): a statement planned for its
 * parameters tests `= ANY` of a constant array through a hash table, whatever
 * the statistics; `IN (SELECT jsonb_array_elements_text($2))` was planned as
 * a nested loop re-expanding the list per deal on never-analysed tables
 * (1,000 reps x 50,000 won deals: 35 s). */
#define OWNER_IN " = ANY($2::text[])"

/* ids as a PostgreSQL array literal, each element quoted (caller frees). */
static char *text_array_literal(PGresult *r, int col)
{
    size_t cap = 3;
    for (int i = 0; i < PQntuples(r); i++)
        cap += 2 * (size_t)PQgetlength(r, i, col) + 3;
    char *out = malloc(cap), *w = out;
    if (!out)
        return NULL;
    *w++ = '{';
    for (int i = 0; i < PQntuples(r); i++) {
        if (i)
            *w++ = ',';
        *w++ = '"';
        for (const char *s = PQgetvalue(r, i, col); *s; s++) {
            if (*s == '"' || *s == '\\')
                *w++ = '\\';
            *w++ = *s;
        }
        *w++ = '"';
    }
    *w++ = '}';
    *w = 0;
    return out;
}

/* The plan's reps and the rows its components, SPIF and clawbacks need. */
static int stmt_load(stmt_ctx *c, app_err *err)
{
    const json_t *reps = json_object_get(c->doc, "reps");
    char *listed = reps ? json_dumps(reps, JSON_COMPACT) : strdup("[]");
    const char *role = json_string_value(json_object_get(c->doc, "role"));
    const char *rp[] = {c->ws, listed, plan_rep_role(role)};
    c->reps = listed ? db_query(c->db,
                                "SELECT external_id, NULLIF(name, ''), quotas::text FROM reps WHERE workspace_id = $1"
                                " AND deleted_at IS NULL AND CASE WHEN jsonb_array_length($2::jsonb) > 0"
                                " THEN external_id IN (SELECT jsonb_array_elements_text($2::jsonb)) ELSE ($3::text IS "
                                "NULL OR role = $3) END"
                                " ORDER BY external_id COLLATE \"C\"",
                                3, rp, err)
                     : NULL;
    free(listed);
    if (!c->reps)
        return -1;
    char *idt = text_array_literal(c->reps, 0);
    if (!idt) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    bool need[COMP_METRIC__COUNT] = {0};
    for (int k = 0; k < c->plan.ncomps; k++)
        need[c->plan.comps[k].metric] = true;
    char ws_b[16], we_b[16], q_b[16], pe_b[16];
    caldate_format(c->win_start, ws_b, sizeof ws_b);
    caldate_format(c->P.end, we_b, sizeof we_b);
    caldate_format(c->P.start, pe_b, sizeof pe_b);
    caldate_format(period_containing(c->qkind, c->P.start, c->fsm).start, q_b, sizeof q_b);
    const char *wp[] = {c->ws, idt, ws_b, we_b};
    const char *qp[] = {c->ws, idt, q_b, we_b};
    int rc = 0;
    rc |= load_rows(
        c->db,
        "SELECT external_id, owner, account, to_char(closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'),"
        " COALESCE(" CRM_FX_AMOUNT ", 0) FROM deals WHERE workspace_id = $1 AND deleted_at IS NULL"
        " AND status = 'won' AND owner" OWNER_IN " AND closed_at >= ($3::date::timestamp AT TIME ZONE 'UTC')"
        " AND closed_at < ($4::date::timestamp AT TIME ZONE 'UTC')",
        4, wp, true, &c->won, err);
    if (rc == 0 && need[COMP_PIPELINE_GENERATED])
        rc |= load_rows(
            c->db,
            "SELECT external_id, owner, account, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'),"
            " COALESCE(" CRM_FX_AMOUNT ", 0) FROM deals WHERE workspace_id = $1 AND deleted_at IS NULL"
            " AND owner" OWNER_IN " AND created_at >= ($3::date::timestamp AT TIME ZONE 'UTC')"
            " AND created_at < ($4::date::timestamp AT TIME ZONE 'UTC')",
            4, qp, true, &c->created, err);
    if (rc == 0 && need[COMP_EXPANSION_ARR])
        rc |= load_rows(c->db,
                        "SELECT e.id::text, a.owner, e.account, e.event_date::text,"
                        " CASE WHEN e.kind = 'contraction' THEN -e.amount_cents ELSE e.amount_cents END"
                        " FROM arr_events e JOIN accounts a ON a.workspace_id = e.workspace_id"
                        "  AND a.external_id = e.account AND a.deleted_at IS NULL"
                        " WHERE e.workspace_id = $1 AND e.kind IN ('expansion', 'contraction') AND a.owner" OWNER_IN
                        " AND e.event_date >= $3::date AND e.event_date < $4::date"
                        " ORDER BY a.owner COLLATE \"C\", e.event_date, e.created_at, e.id",
                        4, qp, false, &c->moves, err);
    /* churns in the window, by account: the owner column carries the account */
    if (rc == 0 && c->plan.clawback_days > 0)
        rc |= load_rows(c->db,
                        "SELECT id::text, account, account, event_date::text, amount_cents FROM arr_events"
                        " WHERE workspace_id = $1 AND kind = 'churn' AND $2::text[] IS NOT NULL"
                        " AND event_date >= $3::date AND event_date < $4::date"
                        " ORDER BY account COLLATE \"C\", event_date, id",
                        4, wp, false, &c->churns, err);
    free(idt);
    return rc ? -1 : 0;
}

static int cmp_won_day(const void *a, const void *b)
{
    const stmt_row *x = *(const stmt_row *const *)a, *y = *(const stmt_row *const *)b;
    return x->day != y->day ? (x->day < y->day ? -1 : 1) : strcmp(x->id, y->id);
}

/* SPIF: each won deal of the plan's reps in the SPIF window with at least
 * min_amount, by close day then deal id, gets per_deal until the budget is
 * spent (deals after the statement period are not known to it). */
static int stmt_spif(stmt_ctx *c, app_err *err)
{
    c->spif_award = calloc(c->won.n + 1, sizeof *c->spif_award);
    const stmt_row **order = calloc(c->won.n + 1, sizeof *order);
    if (!c->spif_award || !order) {
        free(order);
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    size_t m = 0;
    for (size_t i = 0; c->plan.has_spif && i < c->won.n; i++) {
        const stmt_row *x = &c->won.rows[i];
        if (x->day >= c->spif_from && x->day <= c->spif_to && x->amount >= c->spif_min)
            order[m++] = x;
    }
    qsort(order, m, sizeof *order, cmp_won_day);
    money_t used = 0;
    for (size_t k = 0; k < m; k++) {
        money_t a = comp_spif_award(c->plan.spif_per_deal, c->plan.spif_budget, used);
        used += a;
        c->spif_award[order[k] - c->won.rows] = a;
    }
    free(order);
    return 0;
}

static const row_set *rows_for(const stmt_ctx *c, comp_metric m)
{
    return m == COMP_NEW_ARR ? &c->won : m == COMP_PIPELINE_GENERATED ? &c->created : &c->moves;
}

/* The quota of a component for the rep in quota period Q: the plan's, else
 * the rep's quotas[label]. false when there is none. */
static bool quota_of(const comp_component *k, const json_t *rep_quotas, const period *Q, money_t *out)
{
    if (k->has_quota) {
        *out = k->quota;
        return true;
    }
    char label[16];
    period_format(Q, label, sizeof label);
    const json_t *v = json_object_get(rep_quotas, label);
    if (!json_is_number(v) || json_number_value(v) <= 0)
        return false;
    *out = (money_t)llround(json_number_value(v));
    return true;
}

/* One component of one rep over quota period Q: lines for the credits in
 * [from, to); line (and tier) indexed like the rep's rows [lo, hi). */
static money_t run_component(const stmt_ctx *c, const comp_component *k, money_t quota, const period *Q, caldate_t from,
                             caldate_t to, const row_set *s, size_t lo, size_t hi, money_t *line, int *tier,
                             money_t *prior, money_t *achieved)
{
    size_t n = hi - lo, m = 0;
    comp_credit *cr = calloc(n + 1, sizeof *cr);
    size_t *map = calloc(n + 1, sizeof *map);
    money_t *l = calloc(n + 1, sizeof *l);
    int *t = calloc(n + 1, sizeof *t);
    money_t sum = 0;
    *prior = *achieved = 0;
    for (size_t i = 0; i < n; i++) {
        line[i] = 0;
        tier[i] = -1;
    }
    if (cr && map && l && t) {
        for (size_t i = lo; i < hi; i++)
            if (s->rows[i].day >= Q->start && s->rows[i].day < Q->end) {
                map[m] = i - lo;
                cr[m++] = (comp_credit){s->rows[i].day, s->rows[i].amount};
            }
        money_t target = comp_target_incentive(c->plan.variable, k->weight_bp, c->plan.quota_months);
        sum = comp_period_payout(&c->plan.rates, target, quota, cr, m, from, to, l, t, prior, achieved);
        for (size_t j = 0; j < m; j++) {
            line[map[j]] = l[j];
            tier[map[j]] = t[j];
        }
    }
    free(cr);
    free(map);
    free(l);
    free(t);
    return sum;
}

/* The commission a won deal earned in its own quota period (what a clawback
 * takes back): the sum over the plan's new_arr components of its line. */
static money_t deal_commission(const stmt_ctx *c, const json_t *quotas, size_t lo, size_t hi, size_t idx)
{
    const stmt_row *d = &c->won.rows[idx];
    period Qd = period_containing(c->qkind, d->day, c->fsm);
    money_t total = 0, quota, prior, ach;
    size_t n = hi - lo;
    money_t *line = calloc(n + 1, sizeof *line);
    int *tier = calloc(n + 1, sizeof *tier);
    for (int k = 0; line && tier && k < c->plan.ncomps; k++) {
        const comp_component *cp = &c->plan.comps[k];
        if (cp->metric != COMP_NEW_ARR || !quota_of(cp, quotas, &Qd, &quota))
            continue;
        (void)run_component(c, cp, quota, &Qd, Qd.start, d->day + 1, &c->won, lo, hi, line, tier, &prior, &ach);
        total += line[idx - lo];
    }
    free(line);
    free(tier);
    return total;
}

/* The first churn of account on or after day (INT32_MIN: none in the window). */
static caldate_t first_churn(const stmt_ctx *c, const char *account, caldate_t day)
{
    if (!account)
        return INT32_MIN;
    size_t lo, hi;
    rows_of(&c->churns, account, &lo, &hi);
    for (size_t i = lo; i < hi; i++)
        if (c->churns.rows[i].day >= day)
            return c->churns.rows[i].day;
    return INT32_MIN;
}

typedef struct {
    money_t commission, spif, clawback;
} stmt_sums;

/* ---- the answer, written as text ----
 * 1,000 statements over 100,000 deals are ~50,000 lines: as jansson objects
 * built and then dumped they were two thirds of the request (the objects'
 * allocations and the %.15g of every amount). server/jtext writes what
 * json_dumps(JSON_COMPACT | JSON_REAL_PRECISION(15)) wrote of the same
 * objects, byte for byte, in the same key order. */

static void w_money(jt_buf *b, money_t c) { jt_fixed(b, c, 2); }
static void w_bp(jt_buf *b, int32_t bp) { jt_fixed(b, bp, 4); }

/* tier_j as dumped */
static void w_tier(jt_buf *b, const comp_rates *r, int i)
{
    if (i < 0 || i >= r->ntiers) {
        jt_raw(b, "null");
        return;
    }
    const comp_tier *t = &r->tiers[i];
    jt_raw(b, "{\"from\":");
    w_bp(b, t->from_bp);
    jt_raw(b, ",\"to\":");
    if (t->to_bp == COMP_OPEN_END)
        jt_raw(b, "null");
    else
        w_bp(b, t->to_bp);
    jt_raw(b, ",\"rate\":");
    w_bp(b, t->rate_bp);
    jt_raw(b, "}");
}

static void w_warning(jt_buf *w, const char *rule, const char *message)
{
    jt_sep(w);
    jt_raw(w, "{\"rule\":");
    jt_str(w, rule);
    jt_raw(w, ",\"message\":");
    jt_str(w, message);
    jt_raw(w, "}");
}

/* the scratch buffers of one rep's statement (reused from rep to rep) */
typedef struct {
    jt_buf comps, lines, warns, spif, claws;
} rep_bufs;

/* One rep's statement, appended to out. */
static void rep_statement(const stmt_ctx *c, int ri, stmt_sums *sums, rep_bufs *rb, jt_buf *out)
{
    const char *rep = PQgetvalue(c->reps, ri, 0);
    json_t *quotas = json_loads(PQgetvalue(c->reps, ri, 2), 0, NULL);
    rb->comps.n = rb->lines.n = rb->warns.n = rb->spif.n = rb->claws.n = 0;
    money_t commission = 0, spif_sum = 0, claw_sum = 0;
    char b1[16], b2[16], ql[16];
    /* components over each quota period the statement period touches */
    for (int k = 0; k < c->plan.ncomps; k++) {
        const comp_component *cp = &c->plan.comps[k];
        const row_set *s = rows_for(c, cp->metric);
        size_t lo, hi;
        rows_of(s, rep, &lo, &hi);
        money_t *line = calloc(hi - lo + 1, sizeof *line);
        int *tier = calloc(hi - lo + 1, sizeof *tier);
        for (period Q = period_containing(c->qkind, c->P.start, c->fsm); line && tier && Q.start < c->P.end;
             Q = period_shift(&Q, 1, c->fsm)) {
            period_format(&Q, ql, sizeof ql);
            money_t quota = 0, prior = 0, achieved = 0, target = 0, pay = 0;
            bool has_quota = quota_of(cp, quotas, &Q, &quota);
            caldate_t from = Q.start > c->P.start ? Q.start : c->P.start, to = Q.end < c->P.end ? Q.end : c->P.end;
            if (has_quota) {
                target = comp_target_incentive(c->plan.variable, cp->weight_bp, c->plan.quota_months);
                pay = run_component(c, cp, quota, &Q, from, to, s, lo, hi, line, tier, &prior, &achieved);
                comp_warning w;
                if (!cp->has_quota && cp->metric == (c->plan.role ? c->plan.role->metric : COMP_METRIC__COUNT) &&
                    comp_quota_warning(&c->plan, quota, c->plan.quota_months, &w))
                    w_warning(&rb->warns, w.rule, w.message);
                const char *metric = comp_metric_name(cp->metric),
                           *kind = cp->metric == COMP_EXPANSION_ARR ? "arr_movement" : "deal";
                for (size_t i = lo; i < hi; i++) {
                    const stmt_row *x = &s->rows[i];
                    if (x->day < from || x->day >= to)
                        continue;
                    jt_buf *l = &rb->lines;
                    jt_sep(l);
                    jt_raw(l, "{\"component\":");
                    jt_str(l, metric);
                    jt_raw(l, ",\"kind\":");
                    jt_str(l, kind);
                    jt_raw(l, ",\"id\":");
                    jt_str(l, x->id);
                    jt_raw(l, ",\"account\":");
                    jt_str_or_null(l, x->account);
                    jt_raw(l, ",\"date\":");
                    jt_str(l, caldate_format(x->day, b1, sizeof b1));
                    jt_raw(l, ",\"amount\":");
                    w_money(l, x->amount);
                    jt_raw(l, ",\"commission\":");
                    w_money(l, line[i - lo]);
                    jt_raw(l, ",\"tier\":");
                    w_tier(l, &c->plan.rates, tier[i - lo]);
                    jt_raw(l, "}");
                }
            } else {
                char m[160];
                snprintf(m, sizeof m, "no %s quota for %s: the plan sets none and the rep has none (reps.quotas)",
                         comp_metric_name(cp->metric), ql);
                w_warning(&rb->warns, "missing_quota", m);
            }
            commission += pay;
            jt_buf *o = &rb->comps;
            jt_sep(o);
            jt_raw(o, "{\"metric\":");
            jt_str(o, comp_metric_name(cp->metric));
            jt_raw(o, ",\"weight\":");
            w_bp(o, cp->weight_bp);
            jt_raw(o, ",\"quota_period\":");
            jt_str(o, ql);
            jt_raw(o, ",\"quota\":");
            if (has_quota)
                w_money(o, quota);
            else
                jt_raw(o, "null");
            jt_raw(o, ",\"target_incentive\":");
            w_money(o, target);
            jt_raw(o, ",\"achieved_before\":");
            w_money(o, prior);
            jt_raw(o, ",\"achieved\":");
            w_money(o, achieved);
            jt_raw(o, ",\"attainment\":");
            if (has_quota)
                jt_real(o, round((double)achieved / (double)quota * 1e4) / 1e4);
            else
                jt_raw(o, "null");
            jt_raw(o, ",\"tier\":");
            if (has_quota)
                w_tier(o, &c->plan.rates, comp_tier_of(&c->plan.rates, quota, achieved));
            else
                jt_raw(o, "null");
            jt_raw(o, ",\"payout\":");
            w_money(o, pay);
            jt_raw(o, "}");
        }
        free(line);
        free(tier);
    }
    /* SPIF awards and clawbacks on the rep's won deals */
    size_t lo, hi;
    rows_of(&c->won, rep, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        const stmt_row *d = &c->won.rows[i];
        if (d->day >= c->P.start && d->day < c->P.end && c->spif_award[i] > 0) {
            spif_sum += c->spif_award[i];
            jt_buf *o = &rb->spif;
            jt_sep(o);
            jt_raw(o, "{\"deal\":");
            jt_str(o, d->id);
            jt_raw(o, ",\"date\":");
            jt_str(o, caldate_format(d->day, b1, sizeof b1));
            jt_raw(o, ",\"amount\":");
            w_money(o, d->amount);
            jt_raw(o, ",\"award\":");
            w_money(o, c->spif_award[i]);
            jt_raw(o, "}");
        }
        if (c->plan.clawback_days <= 0)
            continue;
        caldate_t ch = first_churn(c, d->account, d->day);
        if (ch == INT32_MIN || ch < c->P.start || ch >= c->P.end ||
            !comp_clawback_applies(d->day, ch, c->plan.clawback_days))
            continue;
        money_t back = deal_commission(c, quotas, lo, hi, i);
        claw_sum += back;
        jt_buf *o = &rb->claws;
        jt_sep(o);
        jt_raw(o, "{\"deal\":");
        jt_str(o, d->id);
        jt_raw(o, ",\"account\":");
        jt_str(o, d->account);
        jt_raw(o, ",\"closed\":");
        jt_str(o, caldate_format(d->day, b1, sizeof b1));
        jt_raw(o, ",\"churned\":");
        jt_str(o, caldate_format(ch, b2, sizeof b2));
        jt_raw(o, ",\"days\":");
        jt_int(o, (int)(ch - d->day));
        jt_raw(o, ",\"amount\":");
        w_money(o, -back);
        jt_raw(o, "}");
    }
    json_decref(quotas);
    sums->commission += commission;
    sums->spif += spif_sum;
    sums->clawback += claw_sum;
    money_t months = (money_t)((c->P.end - c->P.start) > 40 ? ((c->P.end - c->P.start) > 100 ? 12 : 3) : 1);
    jt_raw(out, "{\"rep\":");
    jt_str(out, rep);
    jt_raw(out, ",\"name\":");
    jt_str_or_null(out, PQgetisnull(c->reps, ri, 1) ? NULL : PQgetvalue(c->reps, ri, 1));
    jt_raw(out, ",\"target_variable\":");
    w_money(out, comp_target_incentive(c->plan.variable, COMP_BP, (int)months));
    jt_raw(out, ",\"components\":[");
    jt_append(out, &rb->comps);
    jt_raw(out, "],\"lines\":[");
    jt_append(out, &rb->lines);
    jt_raw(out, "],\"spif\":{\"awards\":[");
    jt_append(out, &rb->spif);
    jt_raw(out, "],\"amount\":");
    w_money(out, spif_sum);
    jt_raw(out, "},\"clawbacks\":{\"items\":[");
    jt_append(out, &rb->claws);
    jt_raw(out, "],\"amount\":");
    w_money(out, -claw_sum);
    jt_raw(out, "},\"warnings\":[");
    jt_append(out, &rb->warns);
    jt_raw(out, "],\"payout\":");
    w_money(out, commission + spif_sum - claw_sum);
    jt_raw(out, "}");
}

/* Decode the stored document (the version asked for, else the current one)
 * back into the engine's plan. */
static int stmt_plan(stmt_ctx *c, const char *plan_id, long version, json_t **doc, long *used_version, app_err *err)
{
    char vb[24];
    snprintf(vb, sizeof vb, "%ld", version);
    const char *p[] = {c->ws, plan_id, vb};
    PGresult *r = db_query(c->db,
                           "SELECT v.name, v.document, v.version FROM comp_plan_versions v JOIN comp_plans p ON"
                           " p.id = v.plan_id WHERE p.workspace_id = $1 AND p.id = $2::uuid"
                           " AND v.version = CASE WHEN $3::int > 0 THEN $3::int ELSE p.version END",
                           3, p, err);
    if (!r)
        return -1;
    if (PQntuples(r) == 0) {
        PQclear(r);
        app_err_set(err, ERR_NOT_FOUND,
                    version > 0 ? "No such version of this comp plan" : "No comp plan with this id");
        return -1;
    }
    *doc = json_loads(PQgetvalue(r, 0, 1), 0, NULL);
    *used_version = atol(PQgetvalue(r, 0, 2));
    PQclear(r);
    if (!*doc) {
        app_err_set(err, ERR_INTERNAL, "could not decode the stored plan");
        return -1;
    }
    json_t *body = json_deep_copy(*doc), *norm = NULL;
    json_object_del(body, "ote");
    const char *name = NULL;
    app_err derr = {0};
    int rc = decode_plan(body, false, &name, &c->plan, &norm, &derr);
    json_decref(body);
    json_decref(norm);
    if (rc != 0) {
        app_err_set(err, ERR_INTERNAL, "the stored plan no longer decodes: %s", derr.detail);
        return -1;
    }
    const json_t *s = json_object_get(*doc, "spif");
    if (json_is_object(s)) {
        int d = 0;
        bool has = false;
        long long min = 0;
        (void)jv_money(s, "min_amount", false, 0, &min, &has, &derr);
        c->spif_min = min;
        if (jv_date(s, "from", true, &d, &has, &derr))
            c->spif_from = d;
        if (jv_date(s, "to", true, &d, &has, &derr))
            c->spif_to = d;
    }
    return 0;
}

void h_comp_plans_statements(http_req *rq)
{
    app_err err = {0};
    const char *pl = NULL;
    long long version = 0;
    const json_t *only = NULL;
    if (!jv_is_uuid(rq->params[0])) {
        http_fail(rq, ERR_NOT_FOUND, "No comp plan with this id");
        return;
    }
    if (jv_require_object(rq->json, &err)) {
        static const char *const allowed[] = {"period", "version", "reps", NULL};
        (void)jv_only_fields(rq->json, allowed, &err);
        (void)jv_string(rq->json, "period", true, 16, &pl, &err);
        (void)jv_int(rq->json, "version", false, 1, 1000000, &version, NULL, &err);
        only = json_object_get(rq->json, "reps");
        if (only && (!json_is_array(only) || json_array_size(only) > 1000))
            app_err_field(&err, "reps", "must be a list of up to 1000 rep ids");
    }
    db_conn *db = err.code == ERR_NONE ? http_db(rq) : NULL;
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    if (!db)
        return;
    stmt_ctx c = {.db = db, .ws = rq->auth.workspace_id};
    json_t *doc = NULL;
    long used_version = 0;
    c.fsm = workspace_fy_start(db, c.ws, &err);
    if (c.fsm < 0 || stmt_plan(&c, rq->params[0], (long)version, &doc, &used_version, &err) != 0) {
        http_reply_error(rq, &err);
        goto done;
    }
    c.doc = doc;
    if (!period_parse(pl, c.fsm, &c.P))
        app_err_field(&err, "period", "must be a period such as 2026-03, 2026-Q1 or FY2026");
    else if (c.plan.payout_months == 3 && c.P.kind == PERIOD_MONTH)
        app_err_field(&err, "period", "the plan pays quarterly: ask for a quarter or a fiscal year");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        goto done;
    }
    c.qkind = c.plan.quota_months == 1 ? PERIOD_MONTH : c.plan.quota_months == 3 ? PERIOD_QUARTER : PERIOD_YEAR;
    /* what the statement reads: its quota periods from their start, the
     * deals a clawback in the period can reach, the SPIF's window */
    c.win_start = period_containing(c.qkind, c.P.start, c.fsm).start;
    if (c.plan.clawback_days > 0) {
        caldate_t cs = period_containing(c.qkind, c.P.start - c.plan.clawback_days, c.fsm).start;
        c.win_start = cs < c.win_start ? cs : c.win_start;
    }
    if (c.plan.has_spif && c.spif_from < c.win_start)
        c.win_start = c.spif_from;
    if (stmt_load(&c, &err) != 0 || stmt_spif(&c, &err) != 0) {
        http_reply_error(rq, &err);
        goto done;
    }
    /* reps asked for must be on the plan */
    size_t i;
    const json_t *x;
    json_array_foreach(only, i, x)
    {
        bool found = false;
        for (int r = 0; json_is_string(x) && r < PQntuples(c.reps) && !found; r++)
            found = strcmp(PQgetvalue(c.reps, r, 0), json_string_value(x)) == 0;
        if (!found)
            app_err_field(&err, "reps", "%s is not a rep on this plan", json_is_string(x) ? json_string_value(x) : "?");
    }
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        goto done;
    }
    stmt_sums sums = {0};
    rep_bufs rb = {0};
    jt_buf out = {0}, its = {0};
    for (int r = 0; r < PQntuples(c.reps); r++) {
        bool want = !only || json_array_size(only) == 0;
        json_array_foreach(only, i, x) want = want || strcmp(json_string_value(x), PQgetvalue(c.reps, r, 0)) == 0;
        if (!want)
            continue;
        jt_sep(&its);
        rep_statement(&c, r, &sums, &rb, &its);
    }
    char label[16], sb[16], eb[16];
    period_format(&c.P, label, sizeof label);
    money_t spif_used = 0;
    for (size_t k = 0; k < c.won.n; k++)
        spif_used += c.spif_award[k];
    jt_raw(&out, "{\"plan_id\":");
    jt_str(&out, rq->params[0]);
    jt_raw(&out, ",\"plan_version\":");
    jt_int(&out, used_version);
    jt_raw(&out, ",\"period\":");
    jt_str(&out, label);
    jt_raw(&out, ",\"period_start\":");
    jt_str(&out, caldate_format(c.P.start, sb, sizeof sb));
    jt_raw(&out, ",\"period_end\":");
    jt_str(&out, caldate_format(c.P.end - 1, eb, sizeof eb));
    jt_raw(&out, ",\"quota_period\":");
    jt_str(&out, period_name(c.plan.quota_months));
    jt_raw(&out, ",\"payout_frequency\":");
    jt_str(&out, c.plan.payout_months == 1 ? "monthly" : "quarterly");
    jt_raw(&out, ",\"items\":[");
    jt_append(&out, &its);
    jt_raw(&out, "],\"totals\":{\"commission\":");
    w_money(&out, sums.commission);
    jt_raw(&out, ",\"spif\":");
    w_money(&out, sums.spif);
    jt_raw(&out, ",\"clawbacks\":");
    w_money(&out, -sums.clawback);
    jt_raw(&out, ",\"payout\":");
    w_money(&out, sums.commission + sums.spif - sums.clawback);
    jt_raw(&out, "},\"spif_budget_left\":");
    if (c.plan.has_spif)
        w_money(&out, c.plan.spif_budget - spif_used);
    else
        jt_raw(&out, "null");
    jt_raw(&out, "}");
    bool oom = out.oom || its.oom || rb.comps.oom || rb.lines.oom || rb.warns.oom || rb.spif.oom || rb.claws.oom;
    free(its.s);
    free(rb.comps.s);
    free(rb.lines.s);
    free(rb.warns.s);
    free(rb.spif.s);
    free(rb.claws.s);
    if (oom) {
        free(out.s);
        http_fail(rq, ERR_INTERNAL, "out of memory");
    } else {
        http_reply_text(rq, 200, "application/json", out.s, out.n);
    }
done:
    json_decref(doc);
    PQclear(c.reps);
    row_set_free(&c.won);
    row_set_free(&c.created);
    row_set_free(&c.moves);
    row_set_free(&c.churns);
    free(c.spif_award);
}

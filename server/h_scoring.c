/* h_scoring.c - lead scoring models (versioned documents, JSON or the seed's
 * lead-scoring.yaml verbatim) and a lead's score as of a time. The document
 * is decoded into core/leadscore's model; the seed's prose is read into
 * explicit rules, which the stored (normalised) document shows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crm.h"
#include "handlers.h"
#include "jtext.h"
#include "jsonv.h"
#include "leadscore.h"
#include "strhash.h"
#include "yconv.h"

#define DEFAULT_MODEL_NAME "B2B SaaS (seed)"

/* The seed's lead-scoring.yaml (001 phase 3), verbatim: a new workspace's
 * default model. tests/data/lead-scoring.yaml is the same text. */
static const char seed_yaml[] = "# lead-scoring.yaml\n"
                                "behavioral_signals:  # Max 60 points\n"
                                "  - action: \"Visited pricing page\"\n"
                                "    points: 15\n"
                                "    decay: \"5 points/week after 14 days\"\n"
                                "  - action: \"Downloaded whitepaper/ebook\"\n"
                                "    points: 10\n"
                                "  - action: \"Attended webinar\"\n"
                                "    points: 12\n"
                                "  - action: \"Requested demo\"\n"
                                "    points: 25\n"
                                "  - action: \"Opened 3+ emails in 7 days\"\n"
                                "    points: 8\n"
                                "  - action: \"Visited 5+ pages in session\"\n"
                                "    points: 10\n"
                                "  - action: \"Returned to site within 7 days\"\n"
                                "    points: 8\n"
                                "  - action: \"Engaged with chatbot\"\n"
                                "    points: 5\n"
                                "\n"
                                "firmographic_signals:  # Max 40 points\n"
                                "  - signal: \"ICP industry match\"\n"
                                "    points: 15\n"
                                "  - signal: \"Company size in sweet spot\"\n"
                                "    points: 10\n"
                                "  - signal: \"Decision-maker title\"\n"
                                "    points: 10\n"
                                "  - signal: \"Target geography\"\n"
                                "    points: 5\n"
                                "\n"
                                "thresholds:\n"
                                "  mql: 50\n"
                                "  hot_lead: 75\n"
                                "  \n"
                                "negative_signals:\n"
                                "  - signal: \"Competitor domain\"\n"
                                "    points: -100\n"
                                "  - signal: \"Student/edu email\"\n"
                                "    points: -30\n"
                                "  - signal: \"Unsubscribed from emails\"\n"
                                "    points: -20\n"
                                "  - signal: \"No activity in 30 days\"\n"
                                "    points: -15\n";

/* ---- the document ----------------------------------------------------------- */

static const char *const firm_match[] = {"industry", "company_size", "decision_maker", "geography", NULL};
static const ls_rule firm_rule[] = {LS_FIRM_INDUSTRY, LS_FIRM_SIZE, LS_FIRM_DECISION_MAKER, LS_FIRM_GEOGRAPHY};
static const char *const neg_match[] = {"competitor_domain", "edu_email", "unsubscribed", "inactive", NULL};
static const ls_rule neg_rule[] = {LS_NEG_COMPETITOR, LS_NEG_EDU, LS_NEG_UNSUBSCRIBED, LS_NEG_INACTIVE};

static int index_of(const char *const *names, const char *s)
{
    for (int i = 0; s && names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

static void ferr(app_err *e, const char *list, size_t i, const char *field, const char *msg)
{
    char path[96];
    snprintf(path, sizeof path, "%s[%zu].%s", list, i, field);
    app_err_field(e, path, "%s", msg);
}

/* activity: a type name or a list of them -> bitmask; 0 after an error. */
static unsigned activity_bits(const json_t *v, const char *list, size_t i, app_err *e)
{
    unsigned bits = 0;
    json_t *one = json_is_string(v) ? json_pack("[O]", v) : json_incref((json_t *)v);
    size_t k;
    json_t *t;
    if (!json_is_array(one) || json_array_size(one) == 0)
        goto bad;
    json_array_foreach(one, k, t)
    {
        int ty = leadscore_activity_type(json_string_value(t));
        if (ty < 0)
            goto bad;
        bits |= 1u << ty;
    }
    json_decref(one);
    return bits;
bad:
    json_decref(one);
    ferr(e, list, i, "activity", "must be an activity type or a list of them (see ActivityType)");
    return 0;
}

static json_t *bits_json(unsigned bits)
{
    json_t *a = json_array();
    for (int t = 0; t < LS_ACT__COUNT; t++)
        if (bits & (1u << t))
            json_array_append_new(a, json_string(leadscore_activity_name(t)));
    return a;
}

/* One signal of a list: decoded into m->sig, its normalised form returned. */
static json_t *decode_signal(const json_t *it, ls_group g, const char *list, size_t i, ls_model *m, app_err *e)
{
    if (!json_is_object(it)) {
        ferr(e, list, i, "item", "must be an object");
        return NULL;
    }
    static const char *const b_allowed[] = {"action",    "points",      "decay", "activity",
                                            "min_count", "within_days", "per",   NULL};
    static const char *const o_allowed[] = {"signal", "points", "match", "days", NULL};
    const char *textkey = g == LS_BEHAVIOURAL ? "action" : "signal";
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)it, key, v) if (index_of(g == LS_BEHAVIOURAL ? b_allowed : o_allowed, key) < 0)
        ferr(e, list, i, key, "is not a field of a signal");
    const char *text = json_string_value(json_object_get(it, textkey));
    json_t *pts = json_object_get(it, "points");
    if (!text || !*text || strlen(text) >= LS_LABEL_LEN)
        ferr(e, list, i, textkey, "is required: the signal's text, up to 159 characters");
    if (!json_is_integer(pts) || json_integer_value(pts) < -1000 || json_integer_value(pts) > 1000 ||
        (g != LS_NEGATIVE && json_integer_value(pts) < 0) || (g == LS_NEGATIVE && json_integer_value(pts) > 0))
        ferr(e, list, i, "points",
             g == LS_NEGATIVE ? "must be a whole number from -1000 to 0" : "must be a whole number from 0 to 1000");
    if (m->nsig >= LS_MAX_SIGNALS) {
        ferr(e, list, i, "item", "too many signals (32 at most in a model)");
        return NULL;
    }
    if (e->code != ERR_NONE)
        return NULL;
    ls_signal s;
    char why[160] = "";
    const json_t *act = json_object_get(it, "activity"), *match = json_object_get(it, "match");
    const char *per = json_string_value(json_object_get(it, "per"));
    bool inferred = true;
    if (g == LS_BEHAVIOURAL && act) {
        memset(&s, 0, sizeof s);
        s.group = g;
        snprintf(s.label, sizeof s.label, "%s", text);
        s.rule = LS_RULE_OCCURRED;
        s.min_count = 1;
        s.types = activity_bits(act, list, i, e);
        inferred = false;
    } else if (g != LS_BEHAVIOURAL && match) {
        const char *const *names = g == LS_FIRMOGRAPHIC ? firm_match : neg_match;
        int k = index_of(names, json_string_value(match));
        memset(&s, 0, sizeof s);
        s.group = g;
        snprintf(s.label, sizeof s.label, "%s", text);
        s.min_count = 1;
        if (k < 0)
            ferr(e, list, i, "match",
                 g == LS_FIRMOGRAPHIC ? "must be one of industry, company_size, decision_maker, geography"
                                      : "must be one of competitor_domain, edu_email, unsubscribed, inactive");
        else
            s.rule = g == LS_FIRMOGRAPHIC ? firm_rule[k] : neg_rule[k];
        if (s.rule == LS_NEG_INACTIVE)
            s.window_days = 30;
        inferred = false;
    } else if (!leadscore_signal_from_text(g, text, &s, why, sizeof why)) {
        ferr(e, list, i, textkey, why);
        return NULL;
    }
    (void)inferred;
    s.points = (int)json_integer_value(pts);
    if (g == LS_BEHAVIOURAL) {
        if (per && strcmp(per, "session") == 0)
            s.rule = LS_RULE_SESSION;
        else if (per && strcmp(per, "return_visit") == 0)
            s.rule = LS_RULE_RETURN_VISIT;
        else if (per)
            ferr(e, list, i, "per", "must be session or return_visit");
        if ((s.rule == LS_RULE_SESSION || s.rule == LS_RULE_RETURN_VISIT) && !act)
            s.types = (1u << LS_ACT_PAGE_VIEW) | (1u << LS_ACT_PRICING_PAGE_VIEW);
        const json_t *mc = json_object_get(it, "min_count");
        if (mc && (!json_is_integer(mc) || json_integer_value(mc) < 1 || json_integer_value(mc) > 1000))
            ferr(e, list, i, "min_count", "must be a whole number from 1 to 1000");
        else if (mc)
            s.min_count = (int)json_integer_value(mc);
        const json_t *wd = json_object_get(it, "within_days");
        if (wd && !json_is_null(wd) &&
            (!json_is_number(wd) || json_number_value(wd) <= 0 || json_number_value(wd) > 3650))
            ferr(e, list, i, "within_days", "must be a number of days above 0, at most 3650");
        else if (wd && !json_is_null(wd))
            s.window_days = json_number_value(wd);
        const json_t *dc = json_object_get(it, "decay");
        if (dc && !json_is_null(dc) &&
            (!json_is_string(dc) ||
             !leadscore_parse_decay(json_string_value(dc), &s.decay_points, &s.decay_every_days, &s.decay_after_days)))
            ferr(e, list, i, "decay", "must read like \"5 points/week after 14 days\" (/day, /week or /month)");
    } else if (s.rule == LS_NEG_INACTIVE) {
        const json_t *d = json_object_get(it, "days");
        if (d && (!json_is_number(d) || json_number_value(d) <= 0 || json_number_value(d) > 3650))
            ferr(e, list, i, "days", "must be a number of days above 0, at most 3650");
        else if (d)
            s.window_days = json_number_value(d);
    }
    if (e->code != ERR_NONE)
        return NULL;
    m->sig[m->nsig++] = s;
    json_t *out = json_pack("{s:s, s:i}", textkey, text, "points", s.points);
    if (g == LS_BEHAVIOURAL) {
        json_object_set_new(out, "activity", bits_json(s.types));
        json_object_set_new(out, "min_count", json_integer(s.min_count));
        json_object_set_new(out, "within_days", s.window_days > 0 ? json_real(s.window_days) : json_null());
        json_object_set_new(out, "per",
                            s.rule == LS_RULE_SESSION        ? json_string("session")
                            : s.rule == LS_RULE_RETURN_VISIT ? json_string("return_visit")
                                                             : json_null());
        json_object_set(out, "decay", json_object_get(it, "decay") ? json_object_get(it, "decay") : json_null());
    } else {
        int k = 0;
        const ls_rule *rules = g == LS_FIRMOGRAPHIC ? firm_rule : neg_rule;
        while (rules[k] != s.rule)
            k++;
        json_object_set_new(out, "match", json_string(g == LS_FIRMOGRAPHIC ? firm_match[k] : neg_match[k]));
        if (s.rule == LS_NEG_INACTIVE)
            json_object_set_new(out, "days", json_real(s.window_days));
    }
    return out;
}

static void decode_list(const json_t *obj, const char *key, ls_list *l, json_t *norm_icp, app_err *e)
{
    const json_t *v = json_object_get(obj, key);
    char path[64];
    snprintf(path, sizeof path, "icp.%s", key);
    json_t *out = json_array();
    if (v && !json_is_null(v)) {
        size_t i;
        json_t *s;
        if (!json_is_array(v) || json_array_size(v) > LS_MAX_LIST)
            app_err_field(e, path, "must be a list of up to 64 strings");
        else
            json_array_foreach(v, i, s)
            {
                if (!json_is_string(s) || json_string_length(s) == 0 || json_string_length(s) >= LS_ITEM_LEN) {
                    app_err_field(e, path, "must hold strings of 1 to 95 characters");
                    break;
                }
                snprintf(l->items[l->n++], LS_ITEM_LEN, "%s", json_string_value(s));
                json_array_append(out, s);
            }
    } else if (l->n > 0) { /* the defaults (decision makers) */
        for (int i = 0; i < l->n; i++)
            json_array_append_new(out, json_string(l->items[i]));
    }
    json_object_set_new(norm_icp, key, out);
}

static void decode_icp(const json_t *doc, ls_model *m, json_t *norm, app_err *e)
{
    const json_t *icp = json_object_get(doc, "icp");
    if (icp && !json_is_object(icp)) {
        app_err_field(e, "icp", "must be an object");
        return;
    }
    static const char *const allowed[] = {"industries",
                                          "company_size",
                                          "geographies",
                                          "decision_maker_seniorities",
                                          "decision_maker_title_keywords",
                                          "competitor_domains",
                                          NULL};
    const char *key;
    json_t *v;
    if (icp)
        json_object_foreach((json_t *)icp, key, v) if (index_of(allowed, key) < 0)
        {
            char path[96];
            snprintf(path, sizeof path, "icp.%.60s", key);
            app_err_field(e, path, "is not a field of the ICP");
        }
    json_t *n = json_object();
    json_t *empty = json_object();
    const json_t *o = icp ? icp : empty;
    /* a list given replaces the decision-maker defaults, [] included */
    if (json_object_get(o, "decision_maker_seniorities"))
        m->seniorities.n = 0;
    if (json_object_get(o, "decision_maker_title_keywords"))
        m->title_keywords.n = 0;
    decode_list(o, "industries", &m->industries, n, e);
    decode_list(o, "geographies", &m->geographies, n, e);
    decode_list(o, "decision_maker_seniorities", &m->seniorities, n, e);
    decode_list(o, "decision_maker_title_keywords", &m->title_keywords, n, e);
    decode_list(o, "competitor_domains", &m->competitor_domains, n, e);
    const json_t *cs = json_object_get(o, "company_size");
    json_t *csn = json_pack("{s:n, s:n}", "min", "max");
    if (cs && !json_is_null(cs)) {
        const json_t *mn = json_object_get(cs, "min"), *mx = json_object_get(cs, "max");
        bool ok = json_is_object(cs) &&
                  (!mn || json_is_null(mn) || (json_is_integer(mn) && json_integer_value(mn) >= 0)) &&
                  (!mx || json_is_null(mx) || (json_is_integer(mx) && json_integer_value(mx) >= 0));
        if (!ok)
            app_err_field(e, "icp.company_size", "must be {min, max}: employee counts (either may be null)");
        else {
            if (json_is_integer(mn))
                m->size_min = (long)json_integer_value(mn);
            if (json_is_integer(mx))
                m->size_max = (long)json_integer_value(mx);
            if (m->size_min >= 0 && m->size_max >= 0 && m->size_min > m->size_max)
                app_err_field(e, "icp.company_size", "min must not be above max");
            json_object_set(csn, "min", (json_t *)mn ? (json_t *)mn : json_null());
            json_object_set(csn, "max", (json_t *)mx ? (json_t *)mx : json_null());
        }
    }
    json_object_set_new(n, "company_size", csn);
    json_decref(empty);
    json_object_set_new(norm, "icp", n);
}

/* Decode a scoring document (JSON from JSON or YAML) into m; returns the
 * normalised document to store, or NULL with e filled. */
static json_t *scoring_decode(const json_t *doc, ls_model *m, app_err *e)
{
    leadscore_model_init(m);
    static const char *const lists[] = {"behavioral_signals", "firmographic_signals", "negative_signals"};
    static const ls_group groups[] = {LS_BEHAVIOURAL, LS_FIRMOGRAPHIC, LS_NEGATIVE};
    json_t *norm = json_object();
    for (int l = 0; l < 3; l++) {
        const json_t *arr = json_object_get(doc, lists[l]);
        json_t *out = json_array();
        if (arr && !json_is_array(arr))
            app_err_field(e, lists[l], "must be a list of signals");
        size_t i;
        json_t *it;
        if (json_is_array(arr))
            json_array_foreach(arr, i, it)
            {
                json_t *one = decode_signal(it, groups[l], lists[l], i, m, e);
                if (one)
                    json_array_append_new(out, one);
            }
        json_object_set_new(norm, lists[l], out);
    }
    if (m->nsig == 0 && e->code == ERR_NONE)
        app_err_field(e, "behavioral_signals", "a model needs at least one signal");
    const json_t *th = json_object_get(doc, "thresholds"), *caps = json_object_get(doc, "caps");
    long long v;
    bool present;
    if (th && !json_is_object(th))
        app_err_field(e, "thresholds", "must be {mql, hot_lead}");
    else if (th) {
        if (jv_int(th, "mql", false, -1000, 10000, &v, &present, e) && present)
            m->mql = (int)v;
        if (jv_int(th, "hot_lead", false, -1000, 10000, &v, &present, e) && present)
            m->hot = (int)v;
        if (m->hot < m->mql)
            app_err_field(e, "thresholds.hot_lead", "must not be below mql");
    }
    if (caps && !json_is_object(caps))
        app_err_field(e, "caps", "must be {behavioral, firmographic}");
    else if (caps) {
        if (jv_int(caps, "behavioral", false, 0, 10000, &v, &present, e) && present)
            m->behavioural_cap = (int)v;
        if (jv_int(caps, "firmographic", false, 0, 10000, &v, &present, e) && present)
            m->firmographic_cap = (int)v;
    }
    decode_icp(doc, m, norm, e);
    const json_t *am = json_object_get(doc, "auto_mql");
    if (am && !json_is_boolean(am))
        app_err_field(e, "auto_mql", "must be true or false");
    if (e->code != ERR_NONE) {
        json_decref(norm);
        return NULL;
    }
    json_object_set_new(norm, "thresholds", json_pack("{s:i, s:i}", "mql", m->mql, "hot_lead", m->hot));
    json_object_set_new(norm, "caps",
                        json_pack("{s:i, s:i}", "behavioral", m->behavioural_cap, "firmographic", m->firmographic_cap));
    json_object_set_new(norm, "auto_mql", json_boolean(json_is_true(am)));
    return norm;
}

/* A stored (normalised) document back into a model: 0 or -1. */
static int scoring_model_of(const json_t *stored, ls_model *m)
{
    app_err e = {0};
    json_t *n = scoring_decode(stored, m, &e);
    json_decref(n);
    return e.code == ERR_NONE ? 0 : -1;
}

/* ---- stored models -------------------------------------------------------- */

/* A workspace without scoring models gets the seed's, as its default.
 * Concurrent first requests race harmlessly: the partial unique index keeps one. */
static int scoring_ensure_default(db_conn *db, const char *ws, app_err *err)
{
    char msg[256];
    json_t *doc = yconv_parse(seed_yaml, sizeof seed_yaml - 1, msg, sizeof msg);
    ls_model *m = malloc(sizeof *m);
    app_err e = {0};
    json_t *norm = doc && m ? scoring_decode(doc, m, &e) : NULL;
    char *text = norm ? json_dumps(norm, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(doc);
    json_decref(norm);
    free(m);
    if (!text) {
        app_err_set(err, ERR_INTERNAL, "the seed's scoring model does not decode");
        return -1;
    }
    const char *p[] = {ws, DEFAULT_MODEL_NAME, text};
    int rc = db_exec(db,
                     "WITH f AS (INSERT INTO scoring_models (workspace_id, name, is_default, document)"
                     "   SELECT $1, $2, true, $3::jsonb"
                     "   WHERE NOT EXISTS (SELECT 1 FROM scoring_models WHERE workspace_id = $1 AND deleted_at IS NULL)"
                     "   ON CONFLICT (workspace_id) WHERE is_default AND deleted_at IS NULL DO NOTHING RETURNING *)"
                     " INSERT INTO scoring_model_versions (model_id, workspace_id, version, name, document)"
                     " SELECT id, workspace_id, version, name, document FROM f",
                     3, p, err);
    free(text);
    return rc;
}

/* The request body as JSON, from JSON or YAML. NULL after replying. */
static json_t *body_document(http_req *rq)
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
    http_fail(rq, ERR_BAD_REQUEST, "A scoring model body is required (JSON or YAML)");
    return NULL;
}

static void reply_model(http_req *rq, int status, const char *json_text)
{
    json_t *f = json_loads(json_text, 0, NULL);
    if (!f) {
        http_fail(rq, ERR_INTERNAL, "could not decode the stored scoring model");
        return;
    }
    char etag[32], loc[112];
    snprintf(etag, sizeof etag, "\"v%lld\"", (long long)json_integer_value(json_object_get(f, "version")));
    http_add_header(rq, "ETag", etag);
    if (status == 201) {
        snprintf(loc, sizeof loc, "/v1/scoring-models/%s", json_string_value(json_object_get(f, "id")));
        http_add_header(rq, "Location", loc);
    }
    bool yaml = http_wants_yaml(rq);
    size_t len = 0;
    char *text = yaml ? yconv_emit(f, &len) : json_dumps(f, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(f);
    if (!text) {
        http_fail(rq, ERR_INTERNAL, "could not encode the scoring model");
        return;
    }
    if (!yaml)
        len = strlen(text);
    if (status == 200 && rq->method[0] == 'G') {
        const char *inm = http_header(rq, "If-None-Match");
        if (inm && (strcmp(inm, etag) == 0 || strcmp(inm, "*") == 0)) {
            http_reply_not_modified(rq, text, len);
            return;
        }
    }
    http_reply_text(rq, status, yaml ? "application/yaml" : "application/json", text, len);
}

typedef struct {
    const char *ws, *id, *name, *if_match;
    bool is_default, is_put;
    char *doc_text;
    char *result;
} model_write;

static int model_write_tx(db_conn *c, void *ctx, app_err *err)
{
    model_write *w = ctx;
    if (w->is_default) {
        const char *p[] = {w->ws, w->id};
        if (db_exec(c,
                    "UPDATE scoring_models SET is_default = false WHERE workspace_id = $1 AND is_default"
                    " AND ($2::uuid IS NULL OR id <> $2::uuid)",
                    2, p, err) != 0)
            return -1;
    }
    PGresult *r;
    if (w->is_put) {
        char ver[24];
        const char *p[] = {w->ws, w->id};
        int f = db_query_value(c,
                               "SELECT version FROM scoring_models WHERE workspace_id = $1 AND id = $2::uuid"
                               " AND deleted_at IS NULL FOR UPDATE",
                               2, p, ver, sizeof ver, err);
        if (f <= 0) {
            if (f == 0)
                app_err_set(err, ERR_NOT_FOUND, "No scoring model with this id");
            return -1;
        }
        char want[32];
        snprintf(want, sizeof want, "\"v%s\"", ver);
        const char *im = w->if_match;
        if (strncmp(im, "W/", 2) == 0)
            im += 2;
        if (strcmp(im, want) != 0 && strcmp(im, "*") != 0) {
            app_err_set(err, ERR_PRECONDITION_FAILED, "The scoring model is at version %s; fetch it again and reapply",
                        ver);
            return -1;
        }
        const char *u[] = {w->ws, w->id, w->name, w->doc_text, w->is_default ? "t" : NULL};
        r = db_query(
            c,
            "UPDATE scoring_models f SET name = COALESCE($3, name), document = $4::jsonb, version = version + 1,"
            " is_default = COALESCE($5::boolean, is_default), updated_at = now()"
            " WHERE workspace_id = $1 AND id = $2::uuid RETURNING scoring_model_json(f), f.id",
            5, u, err);
    } else {
        const char *p[] = {w->ws, w->name, w->is_default ? "t" : "f", w->doc_text};
        r = db_query(c,
                     "INSERT INTO scoring_models AS f (workspace_id, name, is_default, document)"
                     " VALUES ($1, $2, $3::boolean, $4::jsonb) RETURNING scoring_model_json(f), f.id",
                     4, p, err);
    }
    if (!r)
        return -1;
    free(w->result);
    w->result = strdup(PQgetvalue(r, 0, 0));
    char fid[40];
    snprintf(fid, sizeof fid, "%s", PQgetvalue(r, 0, 1));
    PQclear(r);
    const char *vp[] = {w->ws, fid};
    return db_exec(c,
                   "INSERT INTO scoring_model_versions (model_id, workspace_id, version, name, document)"
                   " SELECT id, workspace_id, version, name, document FROM scoring_models"
                   " WHERE workspace_id = $1 AND id = $2::uuid",
                   2, vp, err);
}

/* name and is_default, then the document (the rest of the body). */
static char *decode_body(http_req *rq, const json_t *body, model_write *w)
{
    app_err err = {0};
    if (!jv_require_object(body, &err)) {
        http_reply_error(rq, &err);
        return NULL;
    }
    static const char *const allowed[] = {"name",
                                          "is_default",
                                          "behavioral_signals",
                                          "firmographic_signals",
                                          "negative_signals",
                                          "thresholds",
                                          "caps",
                                          "icp",
                                          "auto_mql",
                                          NULL};
    (void)jv_only_fields(body, allowed, &err);
    (void)jv_string(body, "name", false, 200, &w->name, &err);
    if (!w->name && !w->is_put) /* the seed's YAML verbatim has no name */
        w->name = "Lead scoring model";
    const json_t *d = json_object_get(body, "is_default");
    if (d && !json_is_boolean(d))
        app_err_field(&err, "is_default", "must be true or false");
    w->is_default = json_is_true(d);
    ls_model *m = malloc(sizeof *m);
    json_t *norm = m ? scoring_decode(body, m, &err) : NULL;
    free(m);
    if (err.code != ERR_NONE || !norm) {
        json_decref(norm);
        if (err.code == ERR_NONE)
            app_err_set(&err, ERR_INTERNAL, "out of memory");
        http_reply_error(rq, &err);
        return NULL;
    }
    char *text = json_dumps(norm, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(norm);
    return text;
}

static void write_model(http_req *rq, bool is_put)
{
    const char *if_match = NULL;
    if (is_put) {
        if (!jv_is_uuid(rq->params[0])) {
            http_fail(rq, ERR_NOT_FOUND, "No scoring model with this id");
            return;
        }
        if_match = http_header(rq, "If-Match");
        if (!if_match) {
            http_fail(rq, ERR_PRECONDITION_REQUIRED, "Send If-Match with the ETag of the version you edited");
            return;
        }
    }
    json_t *body = body_document(rq);
    if (!body)
        return;
    model_write w = {
        .ws = rq->auth.workspace_id, .id = is_put ? rq->params[0] : NULL, .if_match = if_match, .is_put = is_put};
    w.doc_text = decode_body(rq, body, &w);
    if (!w.doc_text) {
        json_decref(body);
        return;
    }
    db_conn *db = http_db(rq);
    app_err err = {0};
    if (db && (is_put || scoring_ensure_default(db, rq->auth.workspace_id, &err) == 0) &&
        db_transaction(db, model_write_tx, &w, &err) == 0)
        reply_model(rq, is_put ? 200 : 201, w.result);
    else if (db)
        http_reply_error(rq, &err);
    json_decref(body); /* after the transaction: w.name points into it */
    free(w.doc_text);
    free(w.result);
}

void h_scoring_models_create(http_req *rq) { write_model(rq, false); }
void h_scoring_models_put(http_req *rq) { write_model(rq, true); }

void h_scoring_models_list(http_req *rq)
{
    long limit;
    const char *cursor;
    if (!http_page_params(rq, true, &limit, &cursor))
        return;
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    if (scoring_ensure_default(db, rq->auth.workspace_id, &err) != 0) {
        http_reply_error(rq, &err);
        return;
    }
    char lbuf[24];
    snprintf(lbuf, sizeof lbuf, "%ld", limit + 1);
    const char *p[] = {rq->auth.workspace_id, cursor, lbuf};
    PGresult *r = db_query(db,
                           "SELECT scoring_model_json(f), f.id FROM scoring_models f WHERE f.workspace_id = $1"
                           " AND f.deleted_at IS NULL"
                           " AND ($2::uuid IS NULL OR (f.created_at, f.id) > (SELECT created_at, id FROM scoring_models"
                           "      WHERE id = $2::uuid AND workspace_id = $1))"
                           " ORDER BY f.created_at, f.id LIMIT $3",
                           3, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    http_reply_page(rq, r, limit);
}

/* The stored model's JSON text (caller frees): the one named by id, or the
 * default when id is NULL. NULL after replying. */
static char *load_model(http_req *rq, db_conn *db, const char *id)
{
    if (id && !jv_is_uuid(id)) {
        http_fail(rq, ERR_NOT_FOUND, "No scoring model with this id");
        return NULL;
    }
    app_err err = {0};
    if (scoring_ensure_default(db, rq->auth.workspace_id, &err) != 0) {
        http_reply_error(rq, &err);
        return NULL;
    }
    const char *p[] = {rq->auth.workspace_id, id};
    PGresult *r = db_query(db,
                           "SELECT scoring_model_json(f) FROM scoring_models f WHERE workspace_id = $1"
                           " AND deleted_at IS NULL AND ($2::uuid IS NULL AND is_default OR id = $2::uuid)",
                           2, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return NULL;
    }
    char *text = PQntuples(r) ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    if (!text)
        http_fail(rq, ERR_NOT_FOUND, "No scoring model with this id");
    return text;
}

void h_scoring_models_get(http_req *rq)
{
    db_conn *db = http_db(rq);
    char *text = db ? load_model(rq, db, rq->params[0]) : NULL;
    if (text)
        reply_model(rq, 200, text);
    free(text);
}

void h_scoring_models_delete(http_req *rq)
{
    if (!jv_is_uuid(rq->params[0])) {
        http_fail(rq, ERR_NOT_FOUND, "No scoring model with this id");
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    const char *p[] = {rq->auth.workspace_id, rq->params[0]};
    char state[8];
    int f = db_query_value(
        db,
        "WITH t AS (SELECT id, is_default FROM scoring_models WHERE workspace_id = $1 AND id = $2::uuid"
        "   AND deleted_at IS NULL),"
        " d AS (UPDATE scoring_models SET deleted_at = now() WHERE id = (SELECT id FROM t WHERE NOT is_default)"
        "   RETURNING id)"
        " SELECT CASE WHEN EXISTS (SELECT 1 FROM d) THEN 'deleted' ELSE 'default' END FROM t",
        2, p, state, sizeof state, &err);
    if (f < 0)
        http_reply_error(rq, &err);
    else if (f == 0)
        http_fail(rq, ERR_NOT_FOUND, "No scoring model with this id");
    else if (strcmp(state, "default") == 0)
        http_fail(rq, ERR_CONFLICT, "This is the workspace's default scoring model; make another one default first");
    else
        http_reply_empty(rq, 204);
}

void h_scoring_models_versions(http_req *rq)
{
    db_conn *db = http_db(rq);
    char *text = db ? load_model(rq, db, rq->params[0]) : NULL;
    if (!text)
        return;
    free(text);
    app_err err = {0};
    const char *p[] = {rq->auth.workspace_id, rq->params[0]};
    PGresult *r = db_query(db,
                           "SELECT scoring_model_version_json(v), v.version FROM scoring_model_versions v"
                           " WHERE workspace_id = $1 AND model_id = $2::uuid ORDER BY version",
                           2, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    http_reply_page(rq, r, 1000000);
}

/* ---- a lead's score -------------------------------------------------------- */

static const char *group_name(ls_group g)
{
    return g == LS_BEHAVIOURAL ? "behavioral" : g == LS_FIRMOGRAPHIC ? "firmographic" : "negative";
}

static json_t *ts_json(int64_t t)
{
    if (t <= 0)
        return json_null();
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(buf);
}

static const char *text_or_null(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* Score a lead from lead_as_of's JSON (lj), its created_at (Unix seconds, 0:
 * none) and its activities: rows [from, to) of acts, whose columns col,
 * col + 1, col + 2 are type, occurred_at (Unix seconds) and session_id, in
 * time order. The one place a lead's stored data becomes leadscore's input:
 * GET /v1/leads/{id}/score and auto-MQL both come here. 0, or -1 (memory). */
static int score_rows(const ls_model *m, const json_t *lj, int64_t created_at, PGresult *acts, int from, int to,
                      int col, int64_t at, ls_result *res)
{
    int n = to - from;
    ls_activity *a = calloc((size_t)(n > 0 ? n : 1), sizeof *a);
    if (!a)
        return -1;
    for (int i = 0; i < n; i++)
        a[i] = (ls_activity){leadscore_activity_type(PQgetvalue(acts, from + i, col)),
                             atoll(PQgetvalue(acts, from + i, col + 1)),
                             PQgetisnull(acts, from + i, col + 2) ? NULL : PQgetvalue(acts, from + i, col + 2)};
    ls_lead lead = {text_or_null(lj, "email"),
                    text_or_null(lj, "industry"),
                    text_or_null(lj, "seniority"),
                    text_or_null(lj, "title"),
                    text_or_null(lj, "geography"),
                    -1,
                    created_at};
    const json_t *cs = json_object_get(lj, "company_size");
    if (json_is_integer(cs))
        lead.company_size = (long)json_integer_value(cs);
    leadscore_eval(m, &lead, a, (size_t)(n > 0 ? n : 0), at, res);
    free(a);
    return 0;
}

/* Score one lead as of as_of (RFC 3339, NULL: now) with the model (NULL:
 * the default). *out: the answer; 0, or -1 with err (404 when the lead did
 * not exist then). */
int scoring_lead_score(db_conn *db, const char *ws, const char *lead_id, const char *as_of, const char *model_text,
                       json_t **out, app_err *err)
{
    *out = NULL;
    json_t *stored = json_loads(model_text, 0, NULL);
    ls_model *m = malloc(sizeof *m);
    PGresult *r = NULL, *acts = NULL;
    int rc = -1;
    if (!stored || !m || scoring_model_of(stored, m) != 0) {
        app_err_set(err, ERR_INTERNAL, "the stored scoring model does not decode");
        goto out;
    }
    const char *p[] = {ws, lead_id, as_of};
    r = db_query(db,
                 "SELECT lead_as_of($1::uuid, $2, t), extract(epoch FROM t)::bigint, rfc3339(t)"
                 " FROM COALESCE($3::timestamptz, now()) AS t",
                 3, p, err);
    if (!r)
        goto out;
    if (PQgetisnull(r, 0, 0)) {
        app_err_set(err, ERR_NOT_FOUND, as_of ? "No lead with this id as of %s" : "No lead with this id", as_of);
        goto out;
    }
    json_t *lj = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    int64_t at = atoll(PQgetvalue(r, 0, 1));
    const char *q[] = {ws, lead_id, PQgetvalue(r, 0, 2)};
    acts = db_query(db,
                    "SELECT type, extract(epoch FROM occurred_at)::bigint, session_id FROM activities"
                    " WHERE workspace_id = $1 AND lead_id = $2 AND occurred_at <= $3::timestamptz"
                    " ORDER BY occurred_at, external_id",
                    3, q, err);
    if (!acts || !lj) {
        json_decref(lj);
        if (!acts)
            goto out;
        app_err_set(err, ERR_INTERNAL, "could not decode the lead");
        goto out;
    }
    /* created_at comes back as PostgreSQL's text of a timestamptz */
    const char *ca = text_or_null(lj, "created_at");
    int64_t created_at = 0;
    if (ca) {
        const char *cp[] = {ca};
        PGresult *cr = db_query(db, "SELECT extract(epoch FROM $1::timestamptz)::bigint", 1, cp, err);
        if (!cr) {
            json_decref(lj);
            goto out;
        }
        created_at = atoll(PQgetvalue(cr, 0, 0));
        PQclear(cr);
    }
    ls_result res;
    if (score_rows(m, lj, created_at, acts, 0, PQntuples(acts), 0, at, &res) != 0) {
        json_decref(lj);
        app_err_set(err, ERR_INTERNAL, "out of memory");
        goto out;
    }
    json_t *sig = json_array();
    for (int i = 0; i < m->nsig; i++) {
        const ls_signal_score *s = &res.s[i];
        json_array_append_new(sig, json_pack("{s:s, s:s, s:b, s:i, s:i, s:o, s:b, s:s}", "group",
                                             group_name(m->sig[i].group), "signal", m->sig[i].label, "matched",
                                             s->matched, "points", s->points, "base_points", s->base_points, "at",
                                             ts_json(s->at), "decayed", s->decayed, "detail", s->detail));
    }
    *out = json_pack(
        "{s:s, s:s, s:{s:O, s:O, s:O}, s:i, s:s, s:{s:i, s:i, s:i}, s:{s:i, s:i, s:i}, s:i, s:{s:i, s:i}, s:o, "
        "s:o, s:O}",
        "lead", lead_id, "as_of", PQgetvalue(r, 0, 2), "model", "id", json_object_get(stored, "id"), "name",
        json_object_get(stored, "name"), "version", json_object_get(stored, "version"), "score", res.total, "band",
        leadscore_band_name(res.band), "behavioral", "points", res.behavioural, "uncapped", res.behavioural_raw, "cap",
        m->behavioural_cap, "firmographic", "points", res.firmographic, "uncapped", res.firmographic_raw, "cap",
        m->firmographic_cap, "negative", res.negative, "thresholds", "mql", m->mql, "hot_lead", m->hot,
        "last_activity_at", ts_json(res.last_activity_at), "signals", sig, "lifecycle_stage",
        json_object_get(lj, "lifecycle_stage") ? json_object_get(lj, "lifecycle_stage") : json_null());
    json_decref(lj);
    rc = *out ? 0 : -1;
    if (rc)
        app_err_set(err, ERR_INTERNAL, "could not encode the score");
out:
    PQclear(acts);
    PQclear(r);
    free(m);
    json_decref(stored);
    return rc;
}

void h_leads_score(http_req *rq)
{
    const char *id = rq->params[0], *as_of = http_query(rq, "as_of"), *model = http_query(rq, "model");
    app_err err = {0};
    if (!id || !*id || strlen(id) > 200) {
        http_fail(rq, ERR_NOT_FOUND, "No lead with this id");
        return;
    }
    if (as_of && !crm_is_timestamp(as_of))
        app_err_field(&err, "as_of", "must be an RFC 3339 timestamp such as 2026-03-01T12:00:00Z");
    if (model && !jv_is_uuid(model))
        app_err_field(&err, "model", "must be a scoring model id (a UUID)");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    char *text = db ? load_model(rq, db, model) : NULL;
    if (!text)
        return;
    json_t *out = NULL;
    if (scoring_lead_score(db, rq->auth.workspace_id, id, as_of, text, &out, &err) != 0)
        http_reply_error(rq, &err);
    else
        http_reply_json(rq, 200, out);
    free(text);
}

/* ---- auto-MQL --------------------------------------------------------------- */

/* Move lead id to mql at time at (RFC 3339; no earlier than its stage's
 * last change), origin "scoring", and route it as every new MQL is. The one
 * auto-MQL move: the activity path and the rescore both come here. In the
 * caller's transaction; 0 or -1. */
static int move_to_mql(db_conn *c, const char *ws, const char *id, const char *at, app_err *err)
{
    const char *a[] = {ws, id, at};
    int rc = db_exec(c,
                     "SELECT lead_apply($1::uuid, $2, '{\"lifecycle_stage\": \"mql\"}', GREATEST($3::timestamptz,"
                     " (SELECT (field_changed_at ->> 'lifecycle_stage')::timestamptz FROM leads"
                     "  WHERE workspace_id = $1 AND external_id = $2)), 'scoring')",
                     3, a, err);
    if (rc == 0) {
        json_t *idl = json_pack("[s]", id);
        char *one = json_dumps(idl, JSON_COMPACT);
        json_decref(idl);
        rc = one ? routing_route_new_mqls(c, ws, one, err) : -1;
        if (!one)
            app_err_set(err, ERR_INTERNAL, "out of memory");
        free(one);
    }
    return rc;
}

/* When the workspace's default model has auto_mql, move each lead of the
 * activities just written whose score now reaches the MQL threshold, and whose
 * stage comes before mql in the default funnel, to mql at the time of its
 * latest activity (origin "scoring", in its stage history). Runs in the
 * caller's transaction. items_json: the activities [{lead, occurred_at}...]. */
int scoring_auto_mql(db_conn *c, const char *ws, const char *items_json, app_err *err)
{
    const char *p[] = {ws};
    PGresult *r = db_query(c,
                           "SELECT scoring_model_json(f) FROM scoring_models f WHERE workspace_id = $1"
                           " AND is_default AND deleted_at IS NULL AND (document ->> 'auto_mql')::boolean",
                           1, p, err);
    if (!r)
        return -1;
    char *model = PQntuples(r) ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    if (!model)
        return 0;
    const char *q[] = {ws, items_json};
    /* the leads, when their stage is before mql in the default funnel */
    r = db_query(
        c,
        "WITH st AS (SELECT s.x ->> 'key' AS key, s.k FROM funnels f,"
        "   jsonb_array_elements(f.document -> 'stages') WITH ORDINALITY AS s(x, k)"
        "   WHERE f.workspace_id = $1 AND f.is_default AND f.deleted_at IS NULL)"
        " SELECT l.external_id, rfc3339(max((x ->> 'occurred_at')::timestamptz))"
        " FROM jsonb_array_elements($2::jsonb) AS x,"
        /* each by its key (OFFSET 0 keeps the lookup): joined, a workspace
         * without statistics read every lead with the stage test (6.5 s
         * for 100,000 leads, BENCH_LEADS_NEVER_ANALYSED=1) */
        " LATERAL (SELECT l.external_id, l.lifecycle_stage FROM leads l WHERE l.workspace_id = $1"
        "   AND l.external_id = x ->> 'lead' AND l.deleted_at IS NULL OFFSET 0) l"
        " WHERE COALESCE((SELECT k FROM st WHERE key = l.lifecycle_stage), 0) < (SELECT k FROM st WHERE key = 'mql')"
        " GROUP BY l.external_id ORDER BY l.external_id",
        2, q, err);
    if (!r) {
        free(model);
        return -1;
    }
    /* every lead's data in two statements, not three per lead (1,000 leads
     * of a batch were scored one by one: scripts/bench-leads.sh) */
    int nl = PQntuples(r), rc = 0;
    json_t *ids = json_array();
    for (int i = 0; i < nl; i++)
        json_array_append_new(ids, json_string(PQgetvalue(r, i, 0)));
    char *ids_text = json_dumps(ids, JSON_COMPACT);
    json_decref(ids);
    json_t *stored = json_loads(model, 0, NULL);
    ls_model *m = malloc(sizeof *m);
    PGresult *leads = NULL, *acts = NULL;
    if (nl == 0)
        goto done;
    if (!ids_text || !stored || !m || scoring_model_of(stored, m) != 0) {
        app_err_set(err, ERR_INTERNAL, "the stored scoring model does not decode");
        rc = -1;
        goto done;
    }
    /* as scoring_lead_score asks for each: the lead as of now, its
     * activities up to now's RFC 3339 text, in the leads' order of r */
    const char *lq[] = {ws, ids_text};
    leads = db_query(c,
                     "SELECT x.id, j, extract(epoch FROM now())::bigint,"
                     " extract(epoch FROM (j ->> 'created_at')::timestamptz)::bigint"
                     " FROM jsonb_array_elements_text($2::jsonb) WITH ORDINALITY AS x(id, k),"
                     " LATERAL lead_as_of($1::uuid, x.id, now()) AS j ORDER BY x.k",
                     2, lq, err);
    /* each lead's by its index (LATERAL), in the leads' order: ordered by
     * lead id, a workspace without statistics was read in the index's
     * order, all of it (10 s for a batch of 1,000 leads over 1,000,000
     * activities, scripts/bench-leads.sh BENCH_LEADS_NEVER_ANALYSED=1) */
    acts = leads ? db_query(c,
                            "SELECT x.id, a.type, extract(epoch FROM a.occurred_at)::bigint, a.session_id"
                            " FROM jsonb_array_elements_text($2::jsonb) WITH ORDINALITY AS x(id, k),"
                            " LATERAL (SELECT b.type, b.occurred_at, b.session_id, b.external_id FROM activities b"
                            "  WHERE b.workspace_id = $1 AND b.lead_id = x.id"
                            "  AND b.occurred_at <= rfc3339(now())::timestamptz OFFSET 0) a"
                            " ORDER BY x.k, a.occurred_at, a.external_id",
                            2, lq, err)
                 : NULL;
    if (!acts) {
        rc = -1;
        goto done;
    }
    int na = PQntuples(acts);
    for (int i = 0, k = 0; i < nl && rc == 0; i++) {
        const char *id = PQgetvalue(leads, i, 0);
        /* both lists come in the leads' order: this lead's rows are the
         * next ones */
        int from = k, to = k;
        while (to < na && strcmp(PQgetvalue(acts, to, 0), id) == 0)
            to++;
        k = to;
        if (PQgetisnull(leads, i, 1))
            continue; /* gone since: nothing to score */
        json_t *lj = json_loads(PQgetvalue(leads, i, 1), 0, NULL);
        ls_result res;
        int64_t created_at = PQgetisnull(leads, i, 3) ? 0 : atoll(PQgetvalue(leads, i, 3));
        if (!lj || score_rows(m, lj, created_at, acts, from, to, 1, atoll(PQgetvalue(leads, i, 2)), &res) != 0) {
            json_decref(lj);
            app_err_set(err, ERR_INTERNAL, "could not score lead %.200s", id);
            rc = -1;
            break;
        }
        json_decref(lj);
        if (res.total < m->mql)
            continue;
        rc = move_to_mql(c, ws, id, PQgetvalue(r, i, 1), err);
    }
done:
    PQclear(acts);
    PQclear(leads);
    free(m);
    json_decref(stored);
    free(ids_text);
    PQclear(r);
    free(model);
    return rc;
}

/* The lead's score now by the workspace's default scoring model (given the
 * seed's when it has none). 0, or -1 with err. */
int scoring_default_score(db_conn *db, const char *ws, const char *lead_id, json_t **out, app_err *err)
{
    *out = NULL;
    if (scoring_ensure_default(db, ws, err) != 0)
        return -1;
    const char *p[] = {ws};
    PGresult *r = db_query(db,
                           "SELECT scoring_model_json(f) FROM scoring_models f WHERE workspace_id = $1"
                           " AND is_default AND deleted_at IS NULL",
                           1, p, err);
    if (!r)
        return -1;
    char *text = PQntuples(r) ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    if (!text) {
        app_err_set(err, ERR_INTERNAL, "the workspace has no default scoring model");
        return -1;
    }
    int rc = scoring_lead_score(db, ws, lead_id, NULL, text, out, err);
    free(text);
    return rc;
}

/* ---- rescoring every lead of a workspace ------------------------------------ */

/* POST /v1/leads/rescore: every live lead of the workspace scored as of a
 * time by the default model, exactly as GET /v1/leads/{id}/score would score
 * it, from the workspace's leads (their fields as of the time), their stored
 * scores and their activities up to then, read through cursors and grouped in
 * memory (rs_set). The changed scores are written back RESCORE_WRITE a
 * statement (lead_scores). */

#define RESCORE_FETCH 20000 /* rows per FETCH */
#define RESCORE_FETCH_TEXT "20000"
#define RESCORE_WRITE 5000 /* leads per write */

/* jtext's growing buffer: rs_put is jt_mem with its outcome, for chaining */
static bool rs_put(jt_buf *b, const char *s, size_t n)
{
    jt_mem(b, s, n);
    return !b->oom;
}

/* One element of a PostgreSQL array literal, quoted: "a\"b" */
static bool rs_put_elem(jt_buf *b, const char *s)
{
    bool ok = rs_put(b, b->n > 1 ? ",\"" : "\"", b->n > 1 ? 2 : 1);
    for (const char *q = s; ok && *q; q++) {
        if (*q == '"' || *q == '\\')
            ok = rs_put(b, "\\", 1);
        ok = ok && rs_put(b, q, 1);
    }
    return ok && rs_put(b, "\"", 1);
}

typedef struct {
    const char *ws, *as_of; /* as_of NULL: now */
    char *model_text;
    /* answers (reset on each attempt: db_transaction may run it again) */
    char t[64], t_rfc[32];
    int64_t at;
    long scored, bands[3], crossed, moved, activities, written, removed;
    bool auto_mql;
    json_t *model; /* id, name, version */
} rescore_job;

typedef struct {
    rescore_job *job;
    db_conn *c;
    const ls_model *m;
    ls_activity *a; /* the lead being scored's activities, in time order */
    size_t cap;
    jt_buf ids, scores, bands; /* the chunk to write, as array literals */
    long pending;
    jt_buf moves; /* ids to move to mql, NUL-separated */
    char (*stages)[LS_ITEM_LEN];
    int nstages, mql_k; /* mql_k: 1-based position of mql in the default funnel, 0: none */
    ls_result res;
} rescore_run;

static int rescore_flush(rescore_run *run, app_err *err)
{
    if (run->pending == 0)
        return 0;
    if (!rs_put(&run->ids, "}", 1) || !rs_put(&run->scores, "}", 1) || !rs_put(&run->bands, "}", 1)) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    const char *p[] = {run->job->ws, run->ids.s, run->scores.s, run->bands.s};
    int rc = db_exec(
        run->c,
        "INSERT INTO lead_scores AS s (workspace_id, lead_id, score, band)"
        " SELECT $1::uuid, x.id, x.score, x.band FROM unnest($2::text[], $3::int[], $4::text[]) AS x(id, score, band)"
        " ON CONFLICT (workspace_id, lead_id) DO UPDATE SET score = excluded.score, band = excluded.band",
        4, p, err);
    run->ids.n = run->scores.n = run->bands.n = 0;
    run->pending = 0;
    return rc;
}

/* The position (1-based) of stage key s in the default funnel, 0 when not in it. */
static int rescore_stage_k(const rescore_run *run, const char *s)
{
    for (int i = 0; s && i < run->nstages; i++)
        if (strcmp(run->stages[i], s) == 0)
            return i + 1;
    return 0;
}

/* The workspace read in three passes and grouped here: sorting the
 * leads' rows and their 1,000,000 activities together by lead was 1.2-1.6 s
 * of a 1.9-2.4 s stream (scripts/bench-leads.sh); read in physical order the
 * activities take 0.6-0.8 s. Memory is proportional to the workspace: about
 * 24 bytes an activity plus its session text (~50 MB for 1,000,000). */
typedef struct {
    size_t id, stage, f[5]; /* offsets + 1 into text; 0: NULL */
    long company_size;
    int64_t created_at;
    int prev_score;
    bool has_prev;
    char prev_band[16];
    uint32_t first, n; /* its activities: order[first .. first + n) */
} rs_rec;

typedef struct {
    uint32_t lead;
    int type;
    int64_t at;
    size_t session; /* offset + 1 into text; 0: none */
} rs_act;

typedef struct {
    jt_buf text; /* every string read, NUL-terminated */
    rs_rec *rec;
    size_t nrec, caprec;
    uint32_t *slot; /* lead id hash: index + 1; 0: empty */
    size_t nslot;   /* a power of two */
    rs_act *act;
    size_t nact, capact;
    uint32_t *order; /* activities grouped by lead */
} rs_set;

static void rs_set_free(rs_set *w)
{
    free(w->text.s);
    free(w->rec);
    free(w->slot);
    free(w->act);
    free(w->order);
}

/* Room for element n of the growing array *p (doubling its capacity). */
static int rs_room(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 1024;
    void *q = realloc(*p, c * size);
    if (!q)
        return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* s copied into w's text: its offset + 1 (0 when NULL, or out of memory) */
static size_t rs_text(rs_set *w, PGresult *r, int i, int col)
{
    if (PQgetisnull(r, i, col))
        return 0;
    size_t off = w->text.n + 1;
    const char *v = PQgetvalue(r, i, col);
    return rs_put(&w->text, v, (size_t)PQgetlength(r, i, col) + 1) ? off : 0;
}

static const char *rs_str(const rs_set *w, size_t off) { return off ? w->text.s + off - 1 : NULL; }

/* The lead with id s, or -1: the leads are read before any activity. */
static long rs_find(const rs_set *w, const char *s, size_t n)
{
    for (size_t i = strhash(s, n) & (w->nslot - 1); w->slot[i]; i = (i + 1) & (w->nslot - 1)) {
        const char *id = rs_str(w, w->rec[w->slot[i] - 1].id);
        if (strncmp(id, s, n) == 0 && id[n] == '\0')
            return (long)w->slot[i] - 1;
    }
    return -1;
}

/* One lead's row (its fields as of the time), in the leads' order. */
static int rs_read_lead(rs_set *w, PGresult *r, int i)
{
    if (rs_room((void **)&w->rec, &w->caprec, w->nrec, sizeof *w->rec) != 0)
        return -1;
    rs_rec *l = &w->rec[w->nrec];
    memset(l, 0, sizeof *l);
    l->id = rs_text(w, r, i, 0);
    l->stage = rs_text(w, r, i, 7);
    for (int k = 0; k < 5; k++)
        l->f[k] = rs_text(w, r, i, 1 + k);
    l->company_size = PQgetisnull(r, i, 6) ? -1 : atol(PQgetvalue(r, i, 6));
    l->created_at = atoll(PQgetvalue(r, i, 8));
    if (w->text.oom || !l->id)
        return -1;
    w->nrec++;
    return 0;
}

static int rs_by_id(const void *x, const void *y, void *text)
{
    return strcmp((const char *)text + ((const rs_rec *)x)->id - 1, (const char *)text + ((const rs_rec *)y)->id - 1);
}

/* The leads in id order (byte order, COLLATE "C": the order the writes
 * and moves keep; sorted here, so the database streams them unsorted), then
 * the hash of their ids. */
static int rs_index(rs_set *w)
{
    if (w->nrec > 1)
        qsort_r(w->rec, w->nrec, sizeof *w->rec, rs_by_id, w->text.s);
    w->nslot = 16;
    while (w->nslot < 2 * w->nrec)
        w->nslot <<= 1;
    w->slot = calloc(w->nslot, sizeof *w->slot);
    if (!w->slot)
        return -1;
    for (size_t k = 0; k < w->nrec; k++) {
        const char *id = rs_str(w, w->rec[k].id);
        size_t i = strhash(id, strlen(id)) & (w->nslot - 1);
        while (w->slot[i])
            i = (i + 1) & (w->nslot - 1);
        w->slot[i] = (uint32_t)k + 1;
    }
    return 0;
}

/* One stored score (the last rescore's), onto its lead: read apart and
 * matched here, as each lead's lookup by key was 0.7-0.9 s of the leads' read
 * (and a join of the two a plan that depends on statistics). */
static int rs_read_prev(rs_set *w, PGresult *r, int i)
{
    long k = rs_find(w, PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));
    if (k >= 0) {
        w->rec[k].has_prev = true;
        w->rec[k].prev_score = atoi(PQgetvalue(r, i, 1));
        snprintf(w->rec[k].prev_band, sizeof w->rec[k].prev_band, "%s", PQgetvalue(r, i, 2));
    }
    return 0;
}

/* A timestamptz in binary (big-endian int8 microseconds since 2000-01-01)
 * in Unix seconds, rounded as GET /v1/leads/{id}/score rounds
 * extract(epoch FROM t)::bigint: the exact numeric, half away from zero. */
static int64_t rs_binary_epoch(const char *v)
{
    uint64_t b = 0;
    for (int i = 0; i < 8; i++)
        b = b << 8 | (unsigned char)v[i];
    int64_t us = (int64_t)b + INT64_C(946684800000000); /* 2000-01-01 in Unix microseconds */
    return us >= 0 ? (us + 500000) / 1000000 : -((-us + 500000) / 1000000);
}

/* One activity: kept when its lead is one of the leads read (a lead that
 * does not exist, or not then, is not scored). */
static int rs_read_act(rs_set *w, PGresult *r, int i)
{
    long k = rs_find(w, PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));
    if (k < 0)
        return 0;
    if (rs_room((void **)&w->act, &w->capact, w->nact, sizeof *w->act) != 0)
        return -1;
    w->act[w->nact] =
        (rs_act){(uint32_t)k, leadscore_activity_type(PQgetvalue(r, i, 1)),
                 PQgetlength(r, i, 2) == 8 ? rs_binary_epoch(PQgetvalue(r, i, 2)) : 0, rs_text(w, r, i, 3)};
    if (w->text.oom)
        return -1;
    w->rec[k].n++;
    w->nact++;
    return 0;
}

/* Each lead's activities together (a counting sort by lead), then in time
 * order as core/leadscore wants them (a lead's score depends on the times
 * only, so ties may come in any order). */
static int rs_by_time(const void *x, const void *y, void *acts)
{
    const rs_act *act = acts;
    int64_t a = act[*(const uint32_t *)x].at, b = act[*(const uint32_t *)y].at;
    return a < b ? -1 : a > b;
}

static int rs_group(rs_set *w)
{
    w->order = malloc((w->nact ? w->nact : 1) * sizeof *w->order);
    if (!w->order)
        return -1;
    uint32_t next = 0;
    for (size_t k = 0; k < w->nrec; k++) {
        w->rec[k].first = next;
        next += w->rec[k].n;
        w->rec[k].n = 0;
    }
    for (size_t i = 0; i < w->nact; i++) {
        rs_rec *l = &w->rec[w->act[i].lead];
        w->order[l->first + l->n++] = (uint32_t)i;
    }
    for (size_t k = 0; k < w->nrec; k++) /* qsort_r: rescores of two workspaces may sort at once */
        if (w->rec[k].n > 1)
            qsort_r(w->order + w->rec[k].first, w->rec[k].n, sizeof *w->order, rs_by_time, w->act);
    return 0;
}

/* Score lead x (its activities in time order) and queue its score and its
 * move to mql. Its texts point into w's, which no longer grows. */
static int rescore_lead(rescore_run *run, const rs_set *w, const rs_rec *x, app_err *err)
{
    if (x->n > run->cap) {
        ls_activity *a = realloc(run->a, x->n * sizeof *a);
        if (!a) {
            app_err_set(err, ERR_INTERNAL, "out of memory");
            return -1;
        }
        run->a = a;
        run->cap = x->n;
    }
    for (uint32_t i = 0; i < x->n; i++) {
        const rs_act *a = &w->act[w->order[x->first + i]];
        run->a[i] = (ls_activity){a->type, a->at, rs_str(w, a->session)};
    }
    rescore_job *j = run->job;
    const char *id = rs_str(w, x->id), *stage = rs_str(w, x->stage);
    ls_lead lead = {rs_str(w, x->f[0]), rs_str(w, x->f[1]), rs_str(w, x->f[2]), rs_str(w, x->f[3]),
                    rs_str(w, x->f[4]), x->company_size,    x->created_at};
    ls_result *res = &run->res;
    leadscore_eval_quiet(run->m, &lead, run->a, x->n, j->at, res);
    j->scored++;
    j->bands[res->band]++;
    j->activities += (long)x->n;
    const char *band = leadscore_band_name(res->band);
    if (res->total >= run->m->mql && (!x->has_prev || x->prev_score < run->m->mql))
        j->crossed++;
    bool changed = !x->has_prev || x->prev_score != res->total || strcmp(x->prev_band, band) != 0;
    char num[24];
    snprintf(num, sizeof num, "%d", res->total);
    /* only the rows that change are written */
    bool ok =
        !changed || (rs_put(&run->ids, run->ids.n ? "" : "{", run->ids.n ? 0 : 1) && rs_put_elem(&run->ids, id) &&
                     rs_put(&run->scores, run->scores.n ? "," : "{", 1) && rs_put(&run->scores, num, strlen(num)) &&
                     rs_put(&run->bands, run->bands.n ? "," : "{", 1) && rs_put(&run->bands, band, strlen(band)));
    /* the activity path's test (scoring_auto_mql): at or above the
     * threshold and a stage before mql in the default funnel */
    if (ok && j->auto_mql && run->mql_k > 0 && res->total >= run->m->mql && rescore_stage_k(run, stage) < run->mql_k)
        ok = rs_put(&run->moves, id, strlen(id) + 1);
    if (!ok) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    if (changed)
        j->written++;
    return changed && ++run->pending >= RESCORE_WRITE ? rescore_flush(run, err) : 0;
}

/* Each live lead of the workspace that existed at $2, as GET
 * /v1/leads/{id}/score reads it (lead_as_of: the row itself unless a field
 * changed after $2); then the stored scores and the activities of the
 * workspace's leads up to the time's RFC 3339 text (as that call compares).
 * All three unsorted: rs_index puts the leads in id order. */
static const char rescore_leads_sql[] =
    "DECLARE rescore_leads NO SCROLL CURSOR FOR"
    " SELECT l.external_id,"
    "   CASE WHEN x.j IS NULL THEN l.email ELSE x.j ->> 'email' END,"
    "   CASE WHEN x.j IS NULL THEN l.industry ELSE x.j ->> 'industry' END,"
    "   CASE WHEN x.j IS NULL THEN l.seniority ELSE x.j ->> 'seniority' END,"
    "   CASE WHEN x.j IS NULL THEN l.title ELSE x.j ->> 'title' END,"
    "   CASE WHEN x.j IS NULL THEN l.geography ELSE x.j ->> 'geography' END,"
    "   CASE WHEN x.j IS NULL THEN l.company_size::text"
    "        WHEN jsonb_typeof(x.j -> 'company_size') = 'number' THEN x.j ->> 'company_size' END,"
    "   l.lifecycle_stage,"
    "   COALESCE(extract(epoch FROM CASE WHEN x.j IS NULL THEN l.created_at"
    "            ELSE (x.j ->> 'created_at')::timestamptz END)::bigint, 0)"
    /* a lead with no field changes (an import's, a batch's) has none after $2 */
    "  FROM leads l, LATERAL (SELECT CASE WHEN l.field_changed_at = '{}'::jsonb THEN NULL"
    "     WHEN EXISTS (SELECT 1 FROM jsonb_each_text(l.field_changed_at) AS c(f, v)"
    "     WHERE c.v::timestamptz > $2::timestamptz) THEN lead_as_of($1::uuid, l.external_id, $2::timestamptz) END AS j "
    "OFFSET 0) x"
    "  WHERE l.workspace_id = $1::uuid AND l.deleted_at IS NULL AND l.created_at <= $2::timestamptz";

static const char rescore_prev_sql[] =
    "DECLARE rescore_prev NO SCROLL CURSOR FOR"
    " SELECT s.lead_id, s.score, s.band FROM lead_scores s WHERE s.workspace_id = $1::uuid";

/* The activities in binary: their times as PostgreSQL keeps them (int8
 * microseconds since 2000-01-01), rounded to seconds by rs_read_act; their
 * texts in the database's encoding, the bytes the leads' text read gives too
 * (revopsd leaves client_encoding at the server's). In text, the conversion
 * to seconds and int8out in the database and the parse here were ~0.1 s of a
 * 0.8 s read (the bench data). */
static const char rescore_acts_sql[] =
    "DECLARE rescore_acts NO SCROLL BINARY CURSOR FOR"
    " SELECT a.lead_id, a.type, a.occurred_at, a.session_id FROM activities a"
    " WHERE a.workspace_id = $1::uuid AND a.lead_id IS NOT NULL AND a.occurred_at <= $2::timestamptz";

/* Every row of the cursor fetch names, through row, RESCORE_FETCH a time. */
typedef struct {
    rs_set *w;
    int (*row)(rs_set *, PGresult *, int);
} rs_reader;

static int rs_rows(void *ctx, PGresult *r, app_err *err)
{
    rs_reader *rd = ctx;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++)
        if (rd->row(rd->w, r, i) != 0) {
            app_err_set(err, ERR_INTERNAL, "out of memory");
            return -1;
        }
    return 0;
}

static int rs_drain(db_conn *c, const char *fetch, rs_set *w, int (*row)(rs_set *, PGresult *, int), app_err *err)
{
    rs_reader rd = {w, row};
    return db_fetch_all(c, fetch, RESCORE_FETCH, rs_rows, &rd, err);
}

static int rescore_tx(db_conn *c, void *ctx, app_err *err)
{
    rescore_job *j = ctx;
    j->scored = j->crossed = j->moved = j->activities = j->written = j->removed = 0;
    j->bands[0] = j->bands[1] = j->bands[2] = 0;
    json_decref(j->model);
    j->model = NULL;
    rescore_run run = {.job = j, .c = c};
    ls_model *m = malloc(sizeof *m);
    json_t *stored = json_loads(j->model_text, 0, NULL);
    PGresult *r = NULL;
    int rc = -1;
    if (!m || !stored || scoring_model_of(stored, m) != 0) {
        app_err_set(err, ERR_INTERNAL, "the stored scoring model does not decode");
        goto out;
    }
    run.m = m;
    j->model = json_pack("{s:O, s:O, s:O}", "id", json_object_get(stored, "id"), "name",
                         json_object_get(stored, "name"), "version", json_object_get(stored, "version"));
    j->auto_mql = json_is_true(json_object_get(stored, "auto_mql"));
    /* the time as GET /v1/leads/{id}/score takes it: the leads that exist
     * at t itself (a lead created this second is scored), the activities up
     * to t's RFC 3339 text, ages counted from t rounded to the second */
    const char *tp[] = {j->as_of};
    r = db_query(c,
                 "SELECT t::text, rfc3339(t), extract(epoch FROM t)::bigint FROM COALESCE($1::timestamptz, now()) AS t",
                 1, tp, err);
    if (!r)
        goto out;
    snprintf(j->t, sizeof j->t, "%s", PQgetvalue(r, 0, 0));
    snprintf(j->t_rfc, sizeof j->t_rfc, "%s", PQgetvalue(r, 0, 1));
    j->at = atoll(PQgetvalue(r, 0, 2));
    PQclear(r);
    r = NULL;
    char ver[24];
    snprintf(ver, sizeof ver, "%lld", (long long)json_integer_value(json_object_get(j->model, "version")));
    const char *lp[] = {j->ws, j->t, json_string_value(json_object_get(j->model, "id")), ver};
    /* the workspace's run row, locked until commit: a second rescore of the
     * workspace waits here, then reads what this one wrote */
    if (db_exec(c,
                "INSERT INTO lead_score_runs AS r (workspace_id, as_of, model_id, model_version, leads_scored)"
                " VALUES ($1::uuid, $2::timestamptz, $3::uuid, $4::int, 0) ON CONFLICT (workspace_id) DO UPDATE"
                " SET as_of = excluded.as_of, model_id = excluded.model_id, model_version = excluded.model_version,"
                " scored_at = now()",
                4, lp, err) != 0)
        goto out;
    if (j->auto_mql) { /* the default funnel's stage order (scoring_auto_mql's test) */
        const char *wp[] = {j->ws};
        r = db_query(c,
                     "SELECT s.x ->> 'key' FROM funnels f, jsonb_array_elements(f.document -> 'stages')"
                     " WITH ORDINALITY AS s(x, k) WHERE f.workspace_id = $1 AND f.is_default AND f.deleted_at IS NULL"
                     " ORDER BY s.k",
                     1, wp, err);
        if (!r)
            goto out;
        run.nstages = PQntuples(r);
        run.stages = calloc((size_t)run.nstages + 1, sizeof *run.stages);
        if (!run.stages) {
            app_err_set(err, ERR_INTERNAL, "out of memory");
            goto out;
        }
        for (int i = 0; i < run.nstages; i++)
            snprintf(run.stages[i], LS_ITEM_LEN, "%s", PQgetvalue(r, i, 0));
        run.mql_k = rescore_stage_k(&run, "mql");
        PQclear(r);
        r = NULL;
    }
    const char *lsp[] = {j->ws, j->t}, *asp[] = {j->ws, j->t_rfc};
    rs_set w = {0};
    int rd = db_exec(c, rescore_leads_sql, 2, lsp, err) == 0 &&
                     rs_drain(c, "FETCH " RESCORE_FETCH_TEXT " FROM rescore_leads", &w, rs_read_lead, err) == 0 &&
                     db_exec(c, "CLOSE rescore_leads", 0, NULL, err) == 0 && rs_index(&w) == 0 &&
                     db_exec(c, rescore_prev_sql, 1, lsp, err) == 0 &&
                     rs_drain(c, "FETCH " RESCORE_FETCH_TEXT " FROM rescore_prev", &w, rs_read_prev, err) == 0 &&
                     db_exec(c, "CLOSE rescore_prev", 0, NULL, err) == 0 &&
                     db_exec(c, rescore_acts_sql, 2, asp, err) == 0 &&
                     rs_drain(c, "FETCH " RESCORE_FETCH_TEXT " FROM rescore_acts", &w, rs_read_act, err) == 0 &&
                     db_exec(c, "CLOSE rescore_acts", 0, NULL, err) == 0 && rs_group(&w) == 0
                 ? 0
                 : -1;
    if (rd != 0 && err->code == ERR_NONE)
        app_err_set(err, ERR_INTERNAL, "out of memory");
    for (size_t k = 0; rd == 0 && k < w.nrec; k++)
        rd = rescore_lead(&run, &w, &w.rec[k], err);
    rs_set_free(&w);
    if (rd != 0 || rescore_flush(&run, err) != 0)
        goto out;
    /* the rows of leads this run did not score (deleted, or created after
     * its time): the stored scores are this run's, nothing older. Every
     * scored lead has its row now, so there are such rows only when the
     * workspace has more rows than leads scored. Each row's lead by its key
     * (OFFSET 0), the rows by the key list: as an anti-join, a database
     * without statistics ran it for minutes (BENCH_LEADS_NEVER_ANALYSED=1). */
    char nbuf[24];
    snprintf(nbuf, sizeof nbuf, "%ld", j->scored);
    const char *dp[] = {j->ws, j->t, nbuf};
    r = db_query(c,
                 "WITH u AS (UPDATE lead_score_runs SET leads_scored = $3::int WHERE workspace_id = $1::uuid),"
                 " gone AS (SELECT x.lead_id FROM lead_scores x LEFT JOIN LATERAL (SELECT 1 AS live FROM leads l"
                 "   WHERE l.workspace_id = $1::uuid AND l.external_id = x.lead_id AND l.deleted_at IS NULL"
                 "   AND l.created_at <= $2::timestamptz OFFSET 0) l ON true"
                 "   WHERE x.workspace_id = $1::uuid AND l.live IS NULL"
                 "   AND (SELECT count(*) FROM lead_scores WHERE workspace_id = $1::uuid) > $3::int),"
                 " d AS (DELETE FROM lead_scores s WHERE s.workspace_id = $1::uuid"
                 "   AND s.lead_id = ANY ((SELECT array_agg(lead_id) FROM gone)::text[]) RETURNING 1)"
                 " SELECT count(*) FROM d",
                 3, dp, err);
    if (!r)
        goto out;
    j->removed = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    r = NULL;
    for (size_t off = 0; off < run.moves.n; off += strlen(run.moves.s + off) + 1) {
        if (move_to_mql(c, j->ws, run.moves.s + off, j->t_rfc, err) != 0)
            goto out;
        j->moved++;
    }
    rc = 0;
out:
    PQclear(r);
    free(run.a);
    free(run.ids.s);
    free(run.scores.s);
    free(run.bands.s);
    free(run.moves.s);
    free(run.stages);
    json_decref(stored);
    free(m);
    return rc;
}

void h_leads_rescore(http_req *rq)
{
    app_err err = {0};
    const char *as_of = NULL;
    if (rq->json) {
        static const char *const allowed[] = {"as_of", NULL};
        if (jv_require_object(rq->json, &err)) {
            (void)jv_only_fields(rq->json, allowed, &err);
            (void)jv_string(rq->json, "as_of", false, 64, &as_of, &err);
        }
        if (as_of && !crm_is_timestamp(as_of))
            app_err_field(&err, "as_of", "must be an RFC 3339 timestamp such as 2026-03-01T12:00:00Z");
    } else if (rq->body_len > 0)
        app_err_set(&err, ERR_BAD_REQUEST,
                    "The body must be a JSON object such as {\"as_of\": \"2026-03-01T12:00:00Z\"}");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    char *text = db ? load_model(rq, db, NULL) : NULL;
    if (!text)
        return;
    rescore_job j = {.ws = rq->auth.workspace_id, .as_of = as_of, .model_text = text};
    if (db_transaction(db, rescore_tx, &j, &err) != 0)
        http_reply_error(rq, &err);
    else
        http_reply_json(rq, 200,
                        json_pack("{s:s, s:O, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I}, s:I, s:b, s:I}", "as_of", j.t_rfc,
                                  "model", j.model, "leads_scored", (json_int_t)j.scored, "activities",
                                  (json_int_t)j.activities, "scores_changed", (json_int_t)j.written, "scores_removed",
                                  (json_int_t)j.removed, "bands", "below_mql", (json_int_t)j.bands[LS_BAND_BELOW_MQL],
                                  "mql", (json_int_t)j.bands[LS_BAND_MQL], "hot", (json_int_t)j.bands[LS_BAND_HOT],
                                  "crossed_mql", (json_int_t)j.crossed, "auto_mql", j.auto_mql, "moved_to_mql",
                                  (json_int_t)j.moved));
    json_decref(j.model);
    free(text);
}

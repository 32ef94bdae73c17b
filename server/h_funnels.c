/* h_funnels.c - funnel definitions (versioned, JSON or YAML) and diagnosis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "funneldoc.h"
#include "handlers.h"
#include "jsonv.h"
#include "yconv.h"

#define DEFAULT_FUNNEL_NAME "B2B SaaS (seed)"

static json_t *transitions_json(const funnel_def *def, const funnel_diagnosis *d);
static json_t *bottleneck_json(const funnel_def *def, const funnel_diagnosis *d);

/* A workspace without funnels gets the seed's, as its default. Concurrent
 * first requests race harmlessly: the partial unique index keeps one. */
int funnels_ensure_default(db_conn *db, const char *ws, app_err *err)
{
    json_t *doc = funneldoc_default();
    char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(doc);
    if (!text) {
        app_err_set(err, ERR_INTERNAL, "could not encode the default funnel");
        return -1;
    }
    const char *p[] = {ws, DEFAULT_FUNNEL_NAME, text};
    int rc = db_exec(db,
                     "WITH f AS (INSERT INTO funnels (workspace_id, name, is_default, document)"
                     "   SELECT $1, $2, true, $3::jsonb"
                     "   WHERE NOT EXISTS (SELECT 1 FROM funnels WHERE workspace_id = $1 AND deleted_at IS NULL)"
                     "   ON CONFLICT (workspace_id) WHERE is_default AND deleted_at IS NULL DO NOTHING RETURNING *)"
                     " INSERT INTO funnel_versions (funnel_id, workspace_id, version, name, document)"
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
    http_fail(rq, ERR_BAD_REQUEST, "A funnel definition body is required (JSON or YAML)");
    return NULL;
}

/* Decode name/is_default and the document; replies on error. */
static json_t *decode_definition(http_req *rq, const json_t *body, const char **name, bool *is_default,
                                 bool name_required)
{
    app_err err = {0};
    if (!jv_require_object(body, &err)) {
        http_reply_error(rq, &err);
        return NULL;
    }
    static const char *const allowed[] = {"name", "is_default", "stages", "benchmarks", NULL};
    (void)jv_only_fields(body, allowed, &err);
    (void)jv_string(body, "name", name_required, 200, name, &err);
    const json_t *d = json_object_get(body, "is_default");
    if (d && !json_is_boolean(d))
        app_err_field(&err, "is_default", "must be true or false");
    *is_default = json_is_true(d);
    funnel_def def;
    json_t *doc = funneldoc_decode(body, &def, &err);
    if (err.code != ERR_NONE) {
        json_decref(doc);
        http_reply_error(rq, &err);
        return NULL;
    }
    return doc;
}

static void reply_funnel(http_req *rq, int status, const char *json_text)
{
    json_t *f = json_loads(json_text, 0, NULL);
    if (!f) {
        http_fail(rq, ERR_INTERNAL, "could not decode the stored funnel");
        return;
    }
    char etag[32], loc[96];
    snprintf(etag, sizeof etag, "\"v%lld\"", (long long)json_integer_value(json_object_get(f, "version")));
    http_add_header(rq, "ETag", etag);
    if (status == 201) {
        snprintf(loc, sizeof loc, "/v1/funnels/%s", json_string_value(json_object_get(f, "id")));
        http_add_header(rq, "Location", loc);
    }
    bool yaml = http_wants_yaml(rq);
    size_t len = 0;
    char *text = yaml ? yconv_emit(f, &len) : json_dumps(f, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(f);
    if (!text) {
        http_fail(rq, ERR_INTERNAL, "could not encode the funnel");
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
    app_error fail;
} funnel_write;

static int funnel_write_tx(db_conn *c, void *ctx, app_err *err)
{
    funnel_write *w = ctx;
    if (w->is_default) {
        const char *p[] = {w->ws, w->id};
        if (db_exec(c,
                    "UPDATE funnels SET is_default = false WHERE workspace_id = $1 AND is_default"
                    " AND ($2::uuid IS NULL OR id <> $2::uuid)",
                    2, p, err) != 0)
            return -1;
    }
    PGresult *r;
    if (w->is_put) {
        char ver[24];
        const char *p[] = {w->ws, w->id};
        int f = db_query_value(c,
                               "SELECT version FROM funnels WHERE workspace_id = $1 AND id = $2::uuid"
                               " AND deleted_at IS NULL FOR UPDATE",
                               2, p, ver, sizeof ver, err);
        if (f <= 0) {
            if (f == 0)
                app_err_set(err, ERR_NOT_FOUND, "No funnel with this id");
            return -1;
        }
        char want[32];
        snprintf(want, sizeof want, "\"v%s\"", ver);
        const char *im = w->if_match;
        if (strncmp(im, "W/", 2) == 0)
            im += 2;
        if (strcmp(im, want) != 0 && strcmp(im, "*") != 0) {
            app_err_set(err, ERR_PRECONDITION_FAILED, "The funnel is at version %s; fetch it again and reapply", ver);
            return -1;
        }
        const char *u[] = {w->ws, w->id, w->name, w->doc_text, w->is_default ? "t" : NULL};
        r = db_query(c,
                     "UPDATE funnels f SET name = COALESCE($3, name), document = $4::jsonb, version = version + 1,"
                     " is_default = COALESCE($5::boolean, is_default), updated_at = now()"
                     " WHERE workspace_id = $1 AND id = $2::uuid RETURNING funnel_json(f), f.id",
                     5, u, err);
    } else {
        const char *p[] = {w->ws, w->name, w->is_default ? "t" : "f", w->doc_text};
        r = db_query(c,
                     "INSERT INTO funnels AS f (workspace_id, name, is_default, document)"
                     " VALUES ($1, $2, $3::boolean, $4::jsonb) RETURNING funnel_json(f), f.id",
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
    return db_exec(
        c,
        "INSERT INTO funnel_versions (funnel_id, workspace_id, version, name, document)"
        " SELECT id, workspace_id, version, name, document FROM funnels WHERE workspace_id = $1 AND id = $2::uuid",
        2, vp, err);
}

static void write_funnel(http_req *rq, bool is_put)
{
    const char *if_match = NULL;
    if (is_put) {
        if (!jv_is_uuid(rq->params[0])) {
            http_fail(rq, ERR_NOT_FOUND, "No funnel with this id");
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
    funnel_write w = {
        .ws = rq->auth.workspace_id, .id = is_put ? rq->params[0] : NULL, .if_match = if_match, .is_put = is_put};
    json_t *doc = decode_definition(rq, body, &w.name, &w.is_default, !is_put);
    if (!doc) {
        json_decref(body);
        return;
    }
    w.doc_text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(doc);
    db_conn *db = http_db(rq);
    app_err err = {0};
    if (db && (is_put || funnels_ensure_default(db, rq->auth.workspace_id, &err) == 0) &&
        db_transaction(db, funnel_write_tx, &w, &err) == 0)
        reply_funnel(rq, is_put ? 200 : 201, w.result);
    else if (db)
        http_reply_error(rq, &err);
    json_decref(body); /* after the transaction: w.name points into it */
    free(w.doc_text);
    free(w.result);
}

void h_funnels_create(http_req *rq) { write_funnel(rq, false); }
void h_funnels_put(http_req *rq) { write_funnel(rq, true); }

void h_funnels_list(http_req *rq)
{
    long limit;
    const char *cursor;
    if (!http_page_params(rq, true, &limit, &cursor))
        return;
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    if (funnels_ensure_default(db, rq->auth.workspace_id, &err) != 0) {
        http_reply_error(rq, &err);
        return;
    }
    char lbuf[24];
    snprintf(lbuf, sizeof lbuf, "%ld", limit + 1);
    const char *p[] = {rq->auth.workspace_id, cursor, lbuf};
    PGresult *r =
        db_query(db,
                 "SELECT funnel_json(f), f.id FROM funnels f WHERE f.workspace_id = $1 AND f.deleted_at IS NULL"
                 " AND ($2::uuid IS NULL OR (f.created_at, f.id) > (SELECT created_at, id FROM funnels"
                 "      WHERE id = $2::uuid AND workspace_id = $1))"
                 " ORDER BY f.created_at, f.id LIMIT $3",
                 3, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    http_reply_page(rq, r, limit);
}

/* The stored funnel's JSON text (caller frees) or NULL after replying. */
static char *load_funnel(http_req *rq, db_conn *db)
{
    if (!jv_is_uuid(rq->params[0])) {
        http_fail(rq, ERR_NOT_FOUND, "No funnel with this id");
        return NULL;
    }
    app_err err = {0};
    if (funnels_ensure_default(db, rq->auth.workspace_id, &err) != 0) {
        http_reply_error(rq, &err);
        return NULL;
    }
    const char *p[] = {rq->auth.workspace_id, rq->params[0]};
    PGresult *r = db_query(db,
                           "SELECT funnel_json(f) FROM funnels f WHERE workspace_id = $1 AND id = $2::uuid"
                           " AND deleted_at IS NULL",
                           2, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return NULL;
    }
    char *text = PQntuples(r) ? strdup(PQgetvalue(r, 0, 0)) : NULL;
    PQclear(r);
    if (!text)
        http_fail(rq, ERR_NOT_FOUND, "No funnel with this id");
    return text;
}

void h_funnels_get(http_req *rq)
{
    db_conn *db = http_db(rq);
    char *text = db ? load_funnel(rq, db) : NULL;
    if (text)
        reply_funnel(rq, 200, text);
    free(text);
}

void h_funnels_delete(http_req *rq)
{
    if (!jv_is_uuid(rq->params[0])) {
        http_fail(rq, ERR_NOT_FOUND, "No funnel with this id");
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    const char *p[] = {rq->auth.workspace_id, rq->params[0]};
    char state[8];
    int f =
        db_query_value(db,
                       "WITH t AS (SELECT id, is_default FROM funnels WHERE workspace_id = $1 AND id = $2::uuid"
                       "   AND deleted_at IS NULL),"
                       " d AS (UPDATE funnels SET deleted_at = now() WHERE id = (SELECT id FROM t WHERE NOT is_default)"
                       "   RETURNING id)"
                       " SELECT CASE WHEN EXISTS (SELECT 1 FROM d) THEN 'deleted' ELSE 'default' END FROM t",
                       2, p, state, sizeof state, &err);
    if (f < 0)
        http_reply_error(rq, &err);
    else if (f == 0)
        http_fail(rq, ERR_NOT_FOUND, "No funnel with this id");
    else if (strcmp(state, "default") == 0)
        http_fail(rq, ERR_CONFLICT, "This is the workspace's default funnel; make another one default first");
    else
        http_reply_empty(rq, 204);
}

void h_funnels_versions(http_req *rq)
{
    db_conn *db = http_db(rq);
    char *text = db ? load_funnel(rq, db) : NULL;
    if (!text)
        return;
    free(text);
    app_err err = {0};
    const char *p[] = {rq->auth.workspace_id, rq->params[0]};
    PGresult *r = db_query(db,
                           "SELECT funnel_version_json(v), v.version FROM funnel_versions v"
                           " WHERE workspace_id = $1 AND funnel_id = $2::uuid ORDER BY version",
                           2, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    http_reply_page(rq, r, 1000000);
}

void h_funnels_diagnose(http_req *rq)
{
    app_err err = {0};
    if (!jv_require_object(rq->json, &err)) {
        http_reply_error(rq, &err);
        return;
    }
    static const char *const allowed[] = {"counts", NULL};
    (void)jv_only_fields(rq->json, allowed, &err);
    const json_t *counts = json_object_get(rq->json, "counts");
    if (!json_is_object(counts))
        app_err_field(&err, "counts", "is required: an object of stage key -> count");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    char *text = db ? load_funnel(rq, db) : NULL;
    if (!text)
        return;
    json_t *stored = json_loads(text, 0, NULL);
    free(text);
    funnel_def def;
    if (!stored || funneldoc_to_def(stored, &def) != 0) {
        json_decref(stored);
        http_fail(rq, ERR_INTERNAL, "the stored funnel does not decode");
        return;
    }
    long long c[FUNNEL_MAX_STAGES];
    for (int i = 0; i < def.nstages; i++)
        c[i] = -1;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)counts, key, v)
    {
        char path[128];
        snprintf(path, sizeof path, "counts.%.100s", key);
        int idx = funnel_stage_index(&def, key);
        if (idx < 0)
            app_err_field(&err, path, "is not a stage of this funnel");
        else if (!json_is_integer(v) || json_integer_value(v) < 0)
            app_err_field(&err, path, "must be a whole number >= 0");
        else
            c[idx] = json_integer_value(v);
    }
    if (err.code != ERR_NONE) {
        json_decref(stored);
        http_reply_error(rq, &err);
        return;
    }
    funnel_diagnosis d;
    funnel_diagnose(&def, c, &d);
    json_t *tr = transitions_json(&def, &d), *bn = bottleneck_json(&def, &d);
    json_t *out =
        json_pack("{s:O, s:O, s:o, s:o, s:s}", "funnel_id", json_object_get(stored, "id"), "funnel_version",
                  json_object_get(stored, "version"), "transitions", tr, "bottleneck", bn, "summary", d.explanation);
    json_decref(stored);
    http_reply_json(rq, 200, out);
}

/* ---- conversion from stage history ----------------------------------------- */

static json_t *transitions_json(const funnel_def *def, const funnel_diagnosis *d)
{
    json_t *tr = json_array();
    for (int i = 0; i < d->ntransitions; i++) {
        const funnel_transition *t = &d->transitions[i];
        const funnel_benchmark *b = &def->bench[t->bench];
        json_array_append_new(tr, json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:b, s:{s:f, s:f, s:f, s:f, s:f}}", "from",
                                            def->stages[b->from].key, "to", def->stages[b->to].key, "from_count",
                                            t->from_count >= 0 ? json_integer(t->from_count) : json_null(), "to_count",
                                            t->to_count >= 0 ? json_integer(t->to_count) : json_null(), "rate",
                                            t->has_rate ? json_real(t->rate) : json_null(), "tier",
                                            t->has_rate ? json_string(funnel_tier_name(t->tier)) : json_null(),
                                            "summary", b->summary, "benchmark", "bottom_25", b->bottom25, "median_low",
                                            b->median_low, "median_high", b->median_high, "top_25", b->top25,
                                            "world_class", b->world_class));
    }
    return tr;
}

static json_t *bottleneck_json(const funnel_def *def, const funnel_diagnosis *d)
{
    if (d->bottleneck < 0)
        return json_null();
    const funnel_transition *t = &d->transitions[d->bottleneck];
    const funnel_benchmark *b = &def->bench[t->bench];
    return json_pack("{s:s, s:s, s:f, s:s, s:s}", "from", def->stages[b->from].key, "to", def->stages[b->to].key,
                     "rate", t->rate, "tier", funnel_tier_name(t->tier), "explanation", d->explanation);
}

/* Cohort diagnosis of the events of one group (group < 0: all). */
static json_t *cohort_block(const funnel_def *def, const funnel_event *ev, const int *group, size_t n, int ndeals,
                            int g, caldate_t start, caldate_t end)
{
    funnel_event *sel = malloc((n ? n : 1) * sizeof *sel);
    size_t m = 0;
    for (size_t i = 0; sel && i < n; i++)
        if (g < 0 || group[i] == g)
            sel[m++] = ev[i];
    funnel_cohort c[FUNNEL_MAX_BENCH];
    for (int b = 0; b < def->nbench; b++)
        if (!sel ||
            funnel_cohort_conversion(def, sel, m, ndeals, def->bench[b].from, def->bench[b].to, start, end, &c[b]) != 0)
            c[b] = (funnel_cohort){0};
    free(sel);
    funnel_diagnosis d;
    funnel_diagnose_cohorts(def, c, &d);
    return json_pack("{s:o, s:o, s:s}", "transitions", transitions_json(def, &d), "bottleneck",
                     bottleneck_json(def, &d), "summary", d.explanation);
}

void h_funnels_conversion(http_req *rq)
{
    app_err err = {0};
    const char *from_s = http_query(rq, "from"), *to_s = http_query(rq, "to"), *group_by = http_query(rq, "group_by");
    caldate_t start = 0, end = 0;
    if (from_s && !caldate_parse(from_s, &start))
        app_err_field(&err, "from", "must be a date YYYY-MM-DD");
    if (to_s && !caldate_parse(to_s, &end))
        app_err_field(&err, "to", "must be a date YYYY-MM-DD");
    static const char *const groups[] = {"owner", "segment", "source", NULL};
    bool gb_ok = !group_by;
    for (const char *const *g = groups; group_by && *g; g++)
        gb_ok = gb_ok || strcmp(*g, group_by) == 0;
    if (!gb_ok)
        app_err_field(&err, "group_by", "must be owner, segment or source");
    if (err.code == ERR_NONE && from_s && to_s && end < start)
        app_err_field(&err, "to", "must not be before from");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    char *text = db ? load_funnel(rq, db) : NULL;
    if (!text)
        return;
    json_t *stored = json_loads(text, 0, NULL);
    free(text);
    funnel_def def;
    if (!stored || funneldoc_to_def(stored, &def) != 0) {
        json_decref(stored);
        http_fail(rq, ERR_INTERNAL, "the stored funnel does not decode");
        return;
    }
    /* default window: the 90 days up to today */
    if (!to_s)
        end = utc_today();
    if (!from_s)
        start = end - 90;
    /* every stage entry of the workspace's live deals, with the group value;
     * the column name comes from the fixed list above, never from input */
    char sql[640];
    snprintf(sql, sizeof sql,
             "SELECT h.deal_id, h.stage, to_char(h.entered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), %s"
             " FROM deal_stage_history h JOIN deals d ON d.workspace_id = h.workspace_id AND d.external_id = h.deal_id"
             " WHERE h.workspace_id = $1 AND d.deleted_at IS NULL ORDER BY h.deal_id, h.id",
             group_by ? (strcmp(group_by, "owner") == 0     ? "d.owner"
                         : strcmp(group_by, "segment") == 0 ? "d.segment"
                                                            : "d.source")
                      : "NULL::text");
    const char *p[] = {rq->auth.workspace_id};
    PGresult *r = db_query(db, sql, 1, p, &err);
    if (!r) {
        json_decref(stored);
        http_reply_error(rq, &err);
        return;
    }
    int rows = PQntuples(r);
    funnel_event *ev = malloc(((size_t)rows + 1) * sizeof *ev);
    funnel_event *timed = malloc(((size_t)rows + 1) * sizeof *timed);
    int *grp = malloc(((size_t)rows + 1) * sizeof *grp);
    json_t *group_keys = json_array();
    size_t n = 0, nt = 0;
    int ndeals = 0;
    const char *prev = NULL;
    for (int i = 0; ev && timed && grp && i < rows; i++) {
        int stage = funnel_stage_index(&def, PQgetvalue(r, i, 1));
        if (!prev || strcmp(prev, PQgetvalue(r, i, 0)) != 0)
            ndeals++;
        prev = PQgetvalue(r, i, 0);
        if (stage < 0)
            continue;
        caldate_t day = INT32_MIN; /* imports may not know when: counts as reached, never in a window */
        bool has_day = !PQgetisnull(r, i, 2) && caldate_parse(PQgetvalue(r, i, 2), &day);
        ev[n] = (funnel_event){ndeals - 1, stage, has_day ? day : INT32_MIN};
        if (has_day)
            timed[nt++] = ev[n];
        grp[n] = -1;
        if (group_by) {
            const char *key = PQgetisnull(r, i, 3) ? "(none)" : PQgetvalue(r, i, 3);
            size_t gi;
            json_t *k;
            json_array_foreach(group_keys, gi, k) if (strcmp(json_string_value(k), key) == 0) break;
            if (gi == json_array_size(group_keys))
                json_array_append_new(group_keys, json_string(key));
            grp[n] = (int)gi;
        }
        n++;
    }
    PQclear(r);
    json_t *out = NULL;
    funnel_stage_time times[FUNNEL_MAX_STAGES];
    if (!ev || !timed || !grp || funnel_time_in_stage(timed, nt, def.nstages, times) != 0) {
        http_fail(rq, ERR_INTERNAL, "out of memory");
        goto done;
    }
    char fs[16], ts[16];
    out = cohort_block(&def, ev, grp, n, ndeals, -1, start, end + 1);
    json_t *tis = json_array();
    for (int s = 0; s < def.nstages; s++)
        if (!def.stages[s].won && !def.stages[s].lost)
            json_array_append_new(tis,
                                  json_pack("{s:s, s:I, s:o, s:o}", "stage", def.stages[s].key, "samples",
                                            (json_int_t)times[s].samples, "median_days",
                                            times[s].samples ? json_real(times[s].median_days) : json_null(),
                                            "p90_days", times[s].samples ? json_real(times[s].p90_days) : json_null()));
    json_object_set_new(out, "time_in_stage", tis);
    json_object_set(out, "funnel_id", json_object_get(stored, "id"));
    json_object_set(out, "funnel_version", json_object_get(stored, "version"));
    json_object_set_new(out, "from", json_string(caldate_format(start, fs, sizeof fs)));
    json_object_set_new(out, "to", json_string(caldate_format(end, ts, sizeof ts)));
    json_object_set_new(out, "group_by", group_by ? json_string(group_by) : json_null());
    json_t *glist = json_array();
    size_t gi;
    json_t *k;
    json_array_foreach(group_keys, gi, k)
    {
        json_t *blk = cohort_block(&def, ev, grp, n, ndeals, (int)gi, start, end + 1);
        json_object_set(blk, "key", k);
        json_array_append_new(glist, blk);
    }
    json_object_set_new(out, "groups", glist);
    http_reply_json(rq, 200, out);
done:
    json_decref(group_keys);
    json_decref(stored);
    free(ev);
    free(timed);
    free(grp);
}

/* h_attain.c - GET /v1/attainment: each rep's (manager's, team's) quota
 * against what was won, the pace against the share of the period gone, and
 * the attainment the forecast projects (docs/metrics.md "Attainment").
 *
 * The deals are the forecast's own (fcprep: the as-of rule written once; a
 * past as_of rebuilds the pipeline from history and counts wins before it),
 * and the projection is POST /v1/forecasts' method: learned where the
 * workspace has the history for it, else weighted, per owner. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp.h"
#include "fcdata.h"
#include "fcprep.h"
#include "fcrecord.h"
#include "forecast.h"
#include "handlers.h"

static json_t *money_j(money_t c) { return json_real((double)c / 100.0); }
static json_t *ratio_j(double v) { return json_real(round(v * 10000) / 10000); }

/* One person whose numbers count: a rep, or a deal owner who is not one. */
typedef struct {
    const char *id, *name, *manager; /* manager NULL: none */
    bool is_rep, has_quota;
    money_t quota, won, projected;
} person;

/* One row of the answer: a rep, a first-line team or a manager's whole tree. */
typedef struct {
    const char *key, *name;
    bool has_quota, has_own_quota;
    money_t quota, won, projected, own_quota;
    long members, without_quota;
} arow;

/* The forecast per owner at as_of: what each owner won in the period (by
 * then) and what the forecast expects of them in total. */
typedef struct {
    fcprep_deals pd;
    forecast_totals *groups;
    forecast_totals total;
    forecast_method used;
    const char *note;
} attain_fc;

static int attain_forecast(db_conn *db, const char *ws, int fsm, const period *P, caldate_t as_of, bool past,
                           attain_fc *f, app_err *err)
{
    funnel_def def;
    char fid[40], fver[16];
    if (funnels_ensure_default(db, ws, err) != 0 || fcdata_default_funnel(db, ws, &def, fid, fver, err) != 0)
        return -1;
    fcprep_opts po = {
        .period_start = P->start, .period_end = P->end, .as_of = as_of, .rebuild = past, .group_by = "owner"};
    fclearn_model *lm = calloc(1, sizeof *lm);
    unsigned *flags = NULL;
    double *probs = NULL;
    int rc = -1;
    if (!lm) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    if (fcprep_load(db, ws, &def, &po, &f->pd, err) != 0 || fcdata_load_learned(db, ws, &def, fsm, as_of, lm, err) != 0)
        goto done;
    f->used = lm->usable ? FM_LEARNED : FM_WEIGHTED;
    if (!lm->usable)
        f->note = "not enough closed history for the learned method (30 closed deals, 10 of them won, before as_of): "
                  "weighted";
    forecast_input in = {0};
    fcprep_input(&f->pd, &po, &def, f->used, &in);
    in.learned = lm->usable ? lm : NULL;
    if (lm->usable && fcrecord_load(db, ws, &def, fsm, as_of, P->end, &in, err) != 0)
        goto done;
    f->groups = calloc((size_t)in.ngroups + 1, sizeof *f->groups);
    flags = calloc(f->pd.n + 1, sizeof *flags);
    probs = calloc(f->pd.n + 1, sizeof *probs);
    forecast_result res = {.groups = f->groups, .flags = flags, .deal_probability = probs};
    if (!f->groups || !flags || !probs || forecast_compute(f->pd.deals, f->pd.n, &in, &res) != 0) {
        app_err_set(err, ERR_INTERNAL, "the forecast could not be computed");
        goto done;
    }
    f->total = res.total;
    rc = 0;
done:
    free(lm);
    free(flags);
    free(probs);
    return rc;
}

static int find_person(const person *ps, int n, const char *id)
{
    for (int i = 0; i < n; i++)
        if (strcmp(ps[i].id, id) == 0)
            return i;
    return -1;
}

static int row_of(arow *rows, int *nrows, json_t *index, const char *key)
{
    json_t *v = json_object_get(index, key);
    if (v)
        return (int)json_integer_value(v);
    int i = (*nrows)++;
    rows[i] = (arow){.key = key};
    json_object_set_new(index, key, json_integer(i));
    return i;
}

static void row_add(arow *r, const person *p)
{
    r->members++;
    r->won += p->won;
    r->projected += p->projected;
    if (p->has_quota) {
        r->has_quota = true;
        r->quota += p->quota;
    } else
        r->without_quota++;
}

static int cmp_row(const void *a, const void *b) { return strcmp(((const arow *)a)->key, ((const arow *)b)->key); }

static json_t *row_json(const arow *r, const period *P, caldate_t as_of, const char *group_by)
{
    comp_pace p;
    comp_pace_compute(&(comp_pace_input){.has_quota = r->has_quota && r->quota > 0,
                                         .quota = r->quota,
                                         .won = r->won,
                                         .projected = r->projected,
                                         .elapsed_days = (int)(as_of - P->start),
                                         .period_days = (int)(P->end - P->start)},
                      &p);
    const char *st = comp_pace_status_name(p.status);
    json_t *o = json_pack(
        "{s:s, s:o, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "key", r->key, "name",
        r->name ? json_string(r->name) : json_null(), "members", (json_int_t)r->members, "members_without_quota",
        (json_int_t)r->without_quota, "quota", r->has_quota ? money_j(r->quota) : json_null(), "won", money_j(r->won),
        "attainment", p.has_attainment ? ratio_j(p.attainment) : json_null(), "expected_to_date",
        p.has_attainment ? money_j(p.expected_to_date) : json_null(), "pace_gap",
        p.has_attainment ? money_j(p.pace_gap) : json_null(), "pace", p.has_pace ? ratio_j(p.pace) : json_null(),
        "pace_status", st ? json_string(st) : json_null(), "projected", money_j(r->projected), "projected_attainment",
        p.has_attainment ? ratio_j(p.projected_attain) : json_null());
    if (group_by && strcmp(group_by, "manager") == 0)
        json_object_set_new(o, "own_quota", r->has_own_quota ? money_j(r->own_quota) : json_null());
    return o;
}

/* The people: every rep (with the period's quota when set) and every owner
 * of a deal in the forecast who is not a rep. */
static person *load_people(db_conn *db, const char *ws, const char *label, const attain_fc *f, PGresult **reps, int *np,
                           app_err *err)
{
    const char *qp[] = {ws, label};
    PGresult *r = *reps = db_query(db,
                                   "SELECT external_id, NULLIF(name, ''), manager, (quotas ->> $2)::bigint"
                                   " FROM reps WHERE workspace_id = $1 AND deleted_at IS NULL ORDER BY external_id",
                                   2, qp, err);
    if (!r)
        return NULL;
    int nr = PQntuples(r);
    size_t ng = json_array_size(f->pd.groups);
    person *ps = calloc((size_t)nr + ng + 1, sizeof *ps);
    if (!ps) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return NULL;
    }
    for (int i = 0; i < nr; i++) {
        ps[i] = (person){.id = PQgetvalue(r, i, 0),
                         .name = PQgetisnull(r, i, 1) ? NULL : PQgetvalue(r, i, 1),
                         .manager = PQgetisnull(r, i, 2) || !*PQgetvalue(r, i, 2) ? NULL : PQgetvalue(r, i, 2),
                         .is_rep = true,
                         .has_quota = !PQgetisnull(r, i, 3),
                         .quota = PQgetisnull(r, i, 3) ? 0 : strtoll(PQgetvalue(r, i, 3), NULL, 10)};
    }
    int n = nr;
    for (size_t g = 0; g < ng; g++) {
        const char *owner = json_string_value(json_array_get(f->pd.groups, g));
        int k = find_person(ps, n, owner);
        if (k < 0) {
            k = n++;
            ps[k] = (person){.id = owner};
        }
        ps[k].won += f->groups[g].closed_won;
        ps[k].projected += f->groups[g].expected;
    }
    *np = n;
    return ps;
}

/* Rows by group_by: rep (each person with a quota or anything won or
 * forecast), team (a manager's direct reports; "(no manager)" for the rest),
 * manager (everyone beneath a manager, at any depth; the manager's own
 * quota apart as own_quota: it is usually the team's number). */
static int build_rows(const person *ps, int n, const char *group_by, arow *rows, json_t *index)
{
    int nrows = 0;
    for (int i = 0; i < n; i++) {
        const person *p = &ps[i];
        if (strcmp(group_by, "rep") == 0) {
            if (!p->has_quota && p->won == 0 && p->projected == 0)
                continue;
            int k = row_of(rows, &nrows, index, p->id);
            rows[k].name = p->name;
            row_add(&rows[k], p);
        } else if (strcmp(group_by, "team") == 0) {
            row_add(&rows[row_of(rows, &nrows, index, p->manager ? p->manager : "(no manager)")], p);
        } else {
            const char *m = p->manager;
            for (int depth = 0; m && depth < n; depth++) { /* bounded: a cycle in the data ends */
                row_add(&rows[row_of(rows, &nrows, index, m)], p);
                int up = find_person(ps, n, m);
                m = up >= 0 ? ps[up].manager : NULL;
            }
        }
    }
    for (int k = 0; k < nrows; k++) {
        int who = find_person(ps, n, rows[k].key);
        if (who >= 0 && strcmp(group_by, "rep") != 0) {
            rows[k].name = ps[who].name;
            rows[k].has_own_quota = ps[who].has_quota;
            rows[k].own_quota = ps[who].quota;
        }
    }
    return nrows;
}

int attainment_build(db_conn *db, const char *ws, int fsm, const period *P, caldate_t as_of, const char *group_by,
                     json_t **out, app_err *err)
{
    char label[16], sb[16], eb[16], ab[16];
    period_format(P, label, sizeof label);
    bool past = as_of < utc_today();
    attain_fc f = {0};
    PGresult *reps = NULL;
    person *people = NULL;
    arow *rows = NULL;
    json_t *index = json_object();
    int np = 0, rc = -1;
    *out = NULL;
    if (attain_forecast(db, ws, fsm, P, as_of, past, &f, err) != 0 ||
        !(people = load_people(db, ws, label, &f, &reps, &np, err)))
        goto done;
    rows = calloc((size_t)np + 1, sizeof *rows);
    if (!rows || !index) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        goto done;
    }
    int nrows = build_rows(people, np, group_by, rows, index);
    qsort(rows, (size_t)nrows, sizeof *rows, cmp_row);
    json_t *items = json_array();
    for (int k = 0; k < nrows; k++)
        json_array_append_new(items, row_json(&rows[k], P, as_of, group_by));
    /* the total: every rep's quota, everything won, and the forecast's whole
     * expected revenue (its new-deal term belongs to no owner) */
    arow total = {.key = "(total)"};
    for (int i = 0; i < np; i++)
        row_add(&total, &people[i]);
    total.won = f.total.closed_won;
    total.projected = f.total.expected;
    json_t *tot = row_json(&total, P, as_of, NULL);
    json_object_set_new(tot, "new_deals_forecast", money_j(f.total.run_rate));
    comp_pace share;
    comp_pace_compute(
        &(comp_pace_input){.elapsed_days = (int)(as_of - P->start), .period_days = (int)(P->end - P->start)}, &share);
    *out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:o, s:o}", "period", label, "period_start",
                     caldate_format(P->start, sb, sizeof sb), "period_end", caldate_format(P->end - 1, eb, sizeof eb),
                     "as_of", caldate_format(as_of, ab, sizeof ab), "as_of_rule", past ? "reconstructed" : "current",
                     "elapsed_share", ratio_j(share.elapsed_share), "group_by", group_by, "method_used",
                     forecast_method_name(f.used), "method_note", f.note ? json_string(f.note) : json_null(), "items",
                     items, "total", tot);
    rc = *out ? 0 : -1;
    if (rc != 0)
        app_err_set(err, ERR_INTERNAL, "out of memory");
done:
    fcprep_free(&f.pd);
    free(f.groups);
    free(people);
    free(rows);
    json_decref(index);
    PQclear(reps);
    return rc;
}

void h_attainment(http_req *rq)
{
    app_err err = {0};
    const char *ps = http_query(rq, "period"), *gb = http_query(rq, "group_by"), *ao = http_query(rq, "as_of");
    const char *group_by = gb ? gb : "rep";
    caldate_t today = utc_today(), as_of = today;
    if (strcmp(group_by, "rep") != 0 && strcmp(group_by, "manager") != 0 && strcmp(group_by, "team") != 0)
        app_err_field(&err, "group_by", "must be rep, manager or team");
    if (ao && !caldate_parse(ao, &as_of))
        app_err_field(&err, "as_of", "must be a date YYYY-MM-DD");
    else if (as_of > today)
        app_err_field(&err, "as_of", "must not be in the future: attainment uses what is known on its date");
    db_conn *db = err.code == ERR_NONE ? http_db(rq) : NULL;
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    if (!db)
        return;
    const char *ws = rq->auth.workspace_id;
    int fsm = workspace_fy_start(db, ws, &err);
    if (fsm < 0) {
        http_reply_error(rq, &err);
        return;
    }
    period P = period_containing(PERIOD_QUARTER, as_of, fsm);
    if (ps && !period_parse(ps, fsm, &P)) {
        http_fail(rq, ERR_VALIDATION, "period must be a period such as 2026-Q1, 2026-03 or FY2026");
        return;
    }
    if (!forecast_period_in_reach(&P, utc_today())) {
        http_fail(rq, ERR_VALIDATION, "period " FORECAST_REACH_MSG);
        return;
    }
    json_t *out = NULL;
    if (attainment_build(db, ws, fsm, &P, as_of, group_by, &out, &err) != 0)
        http_reply_error(rq, &err);
    else
        http_reply_json(rq, 200, out);
}

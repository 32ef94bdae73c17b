/* h_capacity.c - POST /v1/capacity/plan: core/capacity over HTTP, with the
 * roster given inline, by rep id, or built from the workspace's reps.
 *
 * Nothing is stored: the answer is a pure function of the request and the
 * reps, so the read role may ask (docs/planning.md, "Calling the API").
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capacity.h"
#include "handlers.h"
#include "jsonv.h"

#define CAPACITY_MAX_ROSTER 5000 /* roster rows in one request (a rep row may carry a count) */
#define CAPACITY_RAMPED_YEARS 10 /* a rep without a start date is taken as started this long ago */

static json_t *money_j(money_t c) { return json_real((double)c / 100.0); }

static void month_label(caldate_t d, char *buf, size_t len)
{
    int y, m, day;
    caldate_to_ymd(d, &y, &m, &day);
    snprintf(buf, len, "%04d-%02d", y, m);
}

int capacity_assumptions_decode(const json_t *obj, money_t quota, double attainment, capacity_assumptions *a,
                                app_err *err)
{
    int before = err->nfields;
    capacity_assumptions_default(quota, attainment, a);
    const json_t *ramp = json_object_get(obj, "ramp");
    if (ramp && !json_is_null(ramp)) {
        if (!json_is_array(ramp) || json_array_size(ramp) > CAPACITY_MAX_RAMP) {
            app_err_field(err, "ramp", "must be a list of up to %d productivity shares (tenure month 1, 2, ...)",
                          CAPACITY_MAX_RAMP);
        } else {
            a->ramp_len = (int)json_array_size(ramp);
            for (int i = 0; i < a->ramp_len; i++) {
                const json_t *v = json_array_get(ramp, (size_t)i);
                double x = json_is_number(v) ? json_number_value(v) : -1;
                if (json_is_string(v)) {
                    char *end = NULL;
                    x = strtod(json_string_value(v), &end) / 100.0;
                    if (!end || strcmp(end, "%") != 0)
                        x = -1;
                }
                if (!(x >= 0 && x <= 1)) {
                    app_err_field(err, "ramp", "entry %d must be a share from 0 to 1 (or \"50%%\")", i + 1);
                    break;
                }
                a->ramp[i] = x;
            }
        }
    }
    (void)jv_rate(obj, "attrition_rate", false, 0, 0.99, &a->annual_attrition, NULL, err);
    long long tth = a->time_to_hire;
    if (jv_int(obj, "time_to_hire_months", false, 0, 24, &tth, NULL, err))
        a->time_to_hire = (int)tth;
    const json_t *bf = json_object_get(obj, "backfill");
    if (bf && !json_is_null(bf)) {
        if (!json_is_boolean(bf))
            app_err_field(err, "backfill", "must be true or false");
        else
            a->backfill = json_is_true(bf);
    }
    const json_t *season = json_object_get(obj, "seasonality");
    if (season && !json_is_null(season)) {
        if (!json_is_array(season) || json_array_size(season) != CAPACITY_MONTHS) {
            app_err_field(err, "seasonality", "must be a list of 12 weights, one per fiscal month");
        } else {
            for (int i = 0; i < CAPACITY_MONTHS; i++) {
                const json_t *v = json_array_get(season, (size_t)i);
                if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1000) {
                    app_err_field(err, "seasonality", "weights must be numbers from 0 to 1000");
                    break;
                }
                a->seasonality[i] = json_number_value(v);
            }
        }
    }
    return err->nfields == before && err->code == ERR_NONE ? 0 : -1;
}

/* The fiscal year a plan covers: the request's fiscal_year_start (a 1st of a
 * month), else the workspace's fiscal year containing today. */
static int fiscal_year_start(db_conn *db, const char *ws, const json_t *body, caldate_t *out, app_err *err)
{
    bool given = false;
    int d = 0;
    if (!jv_date(body, "fiscal_year_start", false, &d, &given, err))
        return -1;
    if (given) {
        int y, m, day;
        caldate_to_ymd(d, &y, &m, &day);
        if (day != 1) {
            app_err_field(err, "fiscal_year_start", "must be the first day of a month");
            return -1;
        }
        *out = d;
        return 0;
    }
    int fsm = workspace_fy_start(db, ws, err);
    if (fsm < 0)
        return -1;
    *out = period_containing(PERIOD_YEAR, utc_today(), fsm).start;
    return 0;
}

/* One rep of the workspace as a roster row: its dates (end_date is the last
 * day on the team, so the exclusive end is the day after) and its quota for
 * the fiscal year (the FY label, else the sum of its four quarters). */
static void rep_row(PGresult *r, int i, caldate_t fy_start, capacity_rep *out)
{
    memset(out, 0, sizeof *out);
    caldate_t d;
    out->start = !PQgetisnull(r, i, 1) && caldate_parse(PQgetvalue(r, i, 1), &d)
                     ? d
                     : caldate_add_months(fy_start, -12 * CAPACITY_RAMPED_YEARS);
    out->end = !PQgetisnull(r, i, 2) && caldate_parse(PQgetvalue(r, i, 2), &d) ? d + 1 : CAPACITY_NO_END;
    out->quota = PQgetisnull(r, i, 3) ? 0 : strtoll(PQgetvalue(r, i, 3), NULL, 10);
    out->count = 1;
    out->planned = out->start >= fy_start;
}

/* reps SELECT: external_id, start_date, end_date, FY quota in cents. $2 the
 * FY label, $3..$6 its quarter labels. */
static const char REPS_SQL[] =
    "SELECT external_id, start_date, end_date, COALESCE((quotas ->> $2)::bigint,"
    "  CASE WHEN quotas ?& ARRAY[$3, $4, $5, $6] THEN (quotas ->> $3)::bigint + (quotas ->> $4)::bigint"
    "   + (quotas ->> $5)::bigint + (quotas ->> $6)::bigint END)"
    " FROM reps WHERE workspace_id = $1 AND deleted_at IS NULL AND (role IS NULL OR role = 'ae')";

static PGresult *query_reps(db_conn *db, const char *ws, caldate_t fy_start, int fsm, const char *extra, int nextra,
                            const char *const *extra_params, app_err *err)
{
    period fy = period_containing(PERIOD_YEAR, fy_start, fsm);
    char fyl[16], q[4][16];
    period_format(&fy, fyl, sizeof fyl);
    for (int i = 0; i < 4; i++) {
        period qp = period_containing(PERIOD_QUARTER, caldate_add_months(fy_start, 3 * i), fsm);
        period_format(&qp, q[i], sizeof q[i]);
    }
    char sql[1024];
    snprintf(sql, sizeof sql, "%s%s ORDER BY external_id", REPS_SQL, extra);
    const char *p[8] = {ws, fyl, q[0], q[1], q[2], q[3]};
    for (int i = 0; i < nextra && i < 2; i++)
        p[6 + i] = extra_params[i];
    return db_query(db, sql, 6 + nextra, p, err);
}

/* The body's plan parameters, into in (all but the roster and the fiscal
 * year); the roster's source into *from_reps and *roster. Bad fields go to err. */
static void decode_plan(const json_t *body, capacity_input *in, bool *from_reps, const json_t **roster, app_err *err)
{
    static const char *const allowed[] = {"target",
                                          "quota",
                                          "attainment",
                                          "ramp",
                                          "attrition_rate",
                                          "time_to_hire_months",
                                          "backfill",
                                          "seasonality",
                                          "fiscal_year_start",
                                          "roster",
                                          "from_reps",
                                          "hire_from_month",
                                          "max_hires_per_month",
                                          NULL};
    (void)jv_only_fields(body, allowed, err);
    double attainment = 0;
    long long hfm = 0, mhpm = 0;
    long long target = 0, quota_ll = 0;
    (void)jv_money(body, "target", true, 0, &target, NULL, err);
    (void)jv_money(body, "quota", true, 1, &quota_ll, NULL, err);
    in->target = target;
    (void)jv_rate(body, "attainment", true, 0.01, 3, &attainment, NULL, err);
    (void)jv_int(body, "hire_from_month", false, 1, 12, &hfm, NULL, err);
    (void)jv_int(body, "max_hires_per_month", false, 0, 100000, &mhpm, NULL, err);
    (void)capacity_assumptions_decode(body, quota_ll, attainment, &in->a, err);
    in->hire_from_month = hfm > 0 ? (int)hfm - 1 : 0;
    in->max_hires_per_month = (int)mhpm;
    const json_t *fr = json_object_get(body, "from_reps");
    *from_reps = json_is_true(fr);
    if (fr && !json_is_boolean(fr) && !json_is_null(fr))
        app_err_field(err, "from_reps", "must be true or false");
    *roster = json_object_get(body, "roster");
    if (*roster && !json_is_null(*roster) &&
        (!json_is_array(*roster) || json_array_size(*roster) > CAPACITY_MAX_ROSTER))
        app_err_field(err, "roster", "must be a list of up to %d reps", CAPACITY_MAX_ROSTER);
    else if (*from_reps && *roster && json_array_size(*roster) > 0)
        app_err_field(err, "roster", "give either a roster or from_reps, not both");
}

/* The roster built from the workspace's reps on the team at the fiscal
 * year's start or later. 0 with *reps (NULL when out of memory and *n > 0),
 * or -1 with err. */
static int roster_from_reps(db_conn *db, const char *ws, int fsm, caldate_t fy_start, capacity_rep **reps, size_t *n,
                            app_err *err)
{
    char fys[16];
    caldate_format(fy_start, fys, sizeof fys);
    const char *xp[] = {fys};
    PGresult *rr = query_reps(db, ws, fy_start, fsm, " AND (end_date IS NULL OR end_date >= $7::date)", 1, xp, err);
    if (!rr)
        return -1;
    *n = (size_t)PQntuples(rr);
    *reps = calloc(*n + 1, sizeof **reps);
    for (size_t i = 0; *reps && i < *n; i++)
        rep_row(rr, (int)i, fy_start, &(*reps)[i]);
    PQclear(rr);
    return 0;
}

/* The request's roster rows into reps[0 .. size): a row naming a rep_id
 * takes the stored rep's dates and quota unless the row gives them. 0 (a bad
 * row's fields in err, prefixed roster[i]), or -1 when the database failed
 * (err is that error alone). */
static int roster_from_request(db_conn *db, const char *ws, int fsm, caldate_t fy_start, const json_t *roster,
                               capacity_rep *reps, app_err *err)
{
    for (size_t i = 0; i < json_array_size(roster); i++) {
        const json_t *row = json_array_get(roster, i);
        char prefix[32];
        snprintf(prefix, sizeof prefix, "roster[%zu]", i);
        app_err sub = {0};
        static const char *const row_allowed[] = {"rep_id", "start_date", "end_date", "quota", "count", NULL};
        if (!json_is_object(row)) {
            app_err_field(err, prefix, "must be an object");
            continue;
        }
        (void)jv_only_fields(row, row_allowed, &sub);
        const char *rep_id = NULL;
        int sd = 0, ed = 0;
        bool has_sd = false, has_ed = false;
        long long count = 1;
        (void)jv_string(row, "rep_id", false, 200, &rep_id, &sub);
        (void)jv_date(row, "start_date", false, &sd, &has_sd, &sub);
        (void)jv_date(row, "end_date", false, &ed, &has_ed, &sub);
        long long rq_quota = 0;
        (void)jv_money(row, "quota", false, 1, &rq_quota, NULL, &sub);
        reps[i].quota = rq_quota;
        (void)jv_int(row, "count", false, 1, 100000, &count, NULL, &sub);
        if (!rep_id && !has_sd)
            app_err_field(&sub, "start_date", "is required when rep_id is not given");
        if (sub.code == ERR_NONE && rep_id) { /* the stored rep's dates and quota, unless given here */
            const char *xp[] = {rep_id};
            PGresult *one = query_reps(db, ws, fy_start, fsm, " AND external_id = $7", 1, xp, &sub);
            if (one && PQntuples(one) == 0)
                app_err_field(&sub, "rep_id", "no rep with this id in the workspace");
            else if (one) {
                money_t q = reps[i].quota;
                rep_row(one, 0, fy_start, &reps[i]);
                if (q > 0)
                    reps[i].quota = q;
            }
            PQclear(one);
            if (sub.code != ERR_NONE && sub.nfields == 0) {
                *err = sub;
                return -1;
            }
        } else {
            reps[i].start = sd;
            reps[i].end = CAPACITY_NO_END;
            reps[i].planned = sd >= fy_start;
        }
        if (has_sd)
            reps[i].start = sd, reps[i].planned = sd >= fy_start;
        if (has_ed)
            reps[i].end = ed + 1;
        if (has_sd && has_ed && ed < sd)
            app_err_field(&sub, "end_date", "must not be before start_date");
        reps[i].count = (int)count;
        jv_merge_prefixed(err, &sub, prefix);
    }
    return 0;
}

/* The answer: the plan's totals, the hiring plan by month and the monthly
 * build-up. source says where the roster came from. */
static json_t *plan_json(const capacity_input *in, const capacity_plan *p, int seats, const char *source, size_t nrows,
                         long headcount)
{
    json_t *out = json_object();
    char buf[16];
    caldate_format(in->fy_start, buf, sizeof buf);
    json_object_set_new(out, "fiscal_year_start", json_string(buf));
    json_object_set_new(out, "target", money_j(in->target));
    json_object_set_new(out, "quota", money_j(in->a.quota));
    json_object_set_new(out, "attainment", json_real(in->a.attainment));
    json_object_set_new(out, "required_aes", json_integer(p->aes_at_full_ramp));
    json_object_set_new(out, "seats_for_required_aes", seats >= 0 ? json_integer(seats) : json_null());
    json_object_set_new(
        out, "roster",
        json_pack("{s:s, s:I, s:I}", "source", source, "rows", (json_int_t)nrows, "reps", (json_int_t)headcount));
    json_object_set_new(out, "capacity_before", money_j(p->capacity_before));
    json_object_set_new(out, "gap_before", money_j(p->gap_before));
    json_object_set_new(out, "hires_needed", json_integer(p->hires_needed));
    json_t *plan = json_object(), *monthly = json_array();
    for (int m = 0; m < CAPACITY_MONTHS; m++) {
        const capacity_month *cm = &p->months[m];
        month_label(cm->month_start, buf, sizeof buf);
        json_object_set_new(plan, buf, json_integer(p->hires[m]));
        json_array_append_new(monthly,
                              json_pack("{s:s, s:f, s:f, s:o, s:o, s:o, s:o, s:i, s:f}", "month", buf, "headcount",
                                        round(cm->headcount * 1e4) / 1e4, "ramped_equivalent",
                                        round(cm->ramped_equivalent * 1e4) / 1e4, "capacity", money_j(cm->capacity),
                                        "cumulative", money_j(cm->cumulative), "target", money_j(cm->target_cumulative),
                                        "gap", money_j(cm->target_cumulative - cm->cumulative), "hires", cm->hires,
                                        "backfills", round(cm->backfills * 1e4) / 1e4));
    }
    json_object_set_new(out, "hiring_plan", plan);
    json_object_set_new(out, "monthly", monthly);
    json_object_set_new(out, "capacity", money_j(p->capacity));
    json_object_set_new(out, "gap", money_j(p->gap));
    json_object_set_new(out, "closable", json_boolean(p->closable));
    json_object_set_new(out, "shortfall", money_j(p->closable || p->gap < 0 ? 0 : p->gap));
    if (p->last_useful_month >= 0) {
        month_label(caldate_add_months(in->fy_start, p->last_useful_month), buf, sizeof buf);
        json_object_set_new(out, "last_useful_hire_month", json_string(buf));
    } else {
        json_object_set_new(out, "last_useful_hire_month", json_null());
    }
    return out;
}

void h_capacity_plan(http_req *rq)
{
    app_err err = {0};
    if (!jv_require_object(rq->json, &err)) {
        http_reply_error(rq, &err);
        return;
    }
    capacity_input in = {0};
    bool from_reps = false;
    const json_t *roster = NULL;
    decode_plan(rq->json, &in, &from_reps, &roster, &err);
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    const char *ws = rq->auth.workspace_id;
    int fsm = workspace_fy_start(db, ws, &err);
    if (fsm < 0 || fiscal_year_start(db, ws, rq->json, &in.fy_start, &err) != 0) {
        http_reply_error(rq, &err);
        return;
    }
    size_t nroster = roster && json_is_array(roster) ? json_array_size(roster) : 0;
    capacity_rep *reps = NULL;
    size_t nreps = 0;
    if (from_reps) {
        if (roster_from_reps(db, ws, fsm, in.fy_start, &reps, &nreps, &err) != 0) {
            http_reply_error(rq, &err);
            return;
        }
    } else if (nroster > 0) {
        reps = calloc(nroster, sizeof *reps);
        nreps = nroster;
        if (reps && roster_from_request(db, ws, fsm, in.fy_start, roster, reps, &err) != 0) {
            http_reply_error(rq, &err);
            free(reps);
            return;
        }
    }
    if (nreps > 0 && !reps) {
        http_fail(rq, ERR_INTERNAL, "out of memory");
        return;
    }
    if (err.code != ERR_NONE) {
        free(reps);
        http_reply_error(rq, &err);
        return;
    }
    long headcount = 0;
    for (size_t i = 0; i < nreps; i++)
        headcount += reps[i].count > 0 ? reps[i].count : 1;
    in.reps = reps;
    in.nreps = nreps;
    capacity_plan p;
    capacity_error ce = {{0}, {0}};
    if (capacity_plan_compute(&in, &p, &ce) != 0) {
        free(reps);
        app_err_field(&err, ce.field[0] ? ce.field : "body", "%s", ce.message);
        http_reply_error(rq, &err);
        return;
    }
    int seats = capacity_seats_for_ramped(p.aes_at_full_ramp, &in.a, &ce);
    json_t *out = plan_json(&in, &p, seats, from_reps ? "reps" : nroster ? "request" : "none", nreps, headcount);
    free(reps);
    http_reply_json(rq, 200, out);
}

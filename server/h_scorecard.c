/* h_scorecard.c - GET /v1/reps/{id}/scorecard: the seed's rep-scorecard.yaml
 * (001 phase 6) for one rep and period, as JSON, YAML or Markdown
 * (docs/metrics.md "Rep scorecard"). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comp.h"
#include "crm.h"
#include "dealsig.h"
#include "fcdata.h"
#include "fcprep.h"
#include "handlers.h"
#include "revintel.h"
#include "yconv.h"

#define COVERAGE_TARGET 3.0 /* seed phase 4: pipeline coverage minimum 3x */
#define NO_ACTIVITIES "no sales activities (call, email_sent, meeting) of the rep in the period (POST /v1/activities)"

static json_t *money_j(money_t c) { return json_real((double)c / 100.0); }
static json_t *r4(double v) { return json_real(round(v * 10000) / 10000); }

/* The seed's activity targets (comments of rep-scorecard.yaml) by role. */
static json_t *activity_targets(const char *role)
{
    bool sdr = role && strcmp(role, "sdr") == 0;
    return sdr ? json_pack("{s:[i,i], s:[i,i], s:[i,i], s:n}", "calls_per_day", 40, 60, "emails_per_day", 30, 50,
                           "meetings_booked_per_week", 8, 12, "demos_per_week")
               : json_pack("{s:[i,i], s:[i,i], s:[i,i], s:[i,i]}", "calls_per_day", 8, 12, "emails_per_day", 15, 20,
                           "meetings_booked_per_week", 10, 15, "demos_per_week", 5, 8);
}

/* The revenue-intelligence flags (core/revintel via dealsig) of the rep's
 * open deals closing in the period: how many are multi-threaded, and each
 * flagged deal with its signals. */
static int signals_section(db_conn *db, const char *ws, caldate_t at, caldate_t as_of, const char *const *ids,
                           const money_t *amounts, size_t n, json_t **out, app_err *err)
{
    json_t *sig = NULL;
    if (dealsig_load(db, ws, at, ids, n, &sig, err) != 0)
        return -1;
    json_t *flagged = json_array(), *counts = json_object();
    for (int k = 0; k < RI__COUNT; k++)
        json_object_set_new(counts, revintel_defs[k].code, json_integer(0));
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_object_get(sig, ids[i]);
        if (!e)
            continue;
        size_t j;
        const json_t *x;
        json_array_foreach(json_object_get(e, "signals"), j, x)
        {
            const char *code = json_string_value(json_object_get(x, "code"));
            json_object_set_new(counts, code, json_integer(json_integer_value(json_object_get(counts, code)) + 1));
        }
        json_array_append_new(flagged, json_pack("{s:s, s:o, s:O, s:O}", "deal", ids[i], "amount", money_j(amounts[i]),
                                                 "contacts_engaged", json_object_get(e, "contacts_engaged"), "signals",
                                                 json_object_get(e, "signals")));
    }
    json_decref(sig);
    char ab[16];
    *out = json_pack("{s:s, s:I, s:o, s:o}", "as_of", caldate_format(as_of, ab, sizeof ab), "open_deals", (json_int_t)n,
                     "counts", counts, "deals", flagged);
    return 0;
}

/* The rep's open pipeline closing in the period and its wins by then, from
 * the forecast's deals (fcprep): an ended period as known at its start (as
 * the dashboard's coverage), else now. */
static int coverage_inputs(db_conn *db, const char *ws, const char *rep, const period *P, caldate_t today,
                           money_t *pipeline, money_t *won_then, caldate_t *as_of, json_t **signals, app_err *err)
{
    funnel_def def;
    char fid[40], fver[16];
    if (funnels_ensure_default(db, ws, err) != 0 || fcdata_default_funnel(db, ws, &def, fid, fver, err) != 0)
        return -1;
    bool ended = P->end <= today;
    fcprep_opts o = {
        .period_start = P->start, .period_end = P->end, .as_of = ended ? P->start : today, .rebuild = ended};
    fcprep_deals pd;
    if (fcprep_load(db, ws, &def, &o, &pd, err) != 0) {
        fcprep_free(&pd);
        return -1;
    }
    const json_t *idx = json_object_get(pd.owner_index, rep);
    int me = idx ? (int)json_integer_value(idx) : -2;
    *pipeline = *won_then = 0;
    const char **open = malloc((pd.n + 1) * sizeof *open);
    money_t *amounts = malloc((pd.n + 1) * sizeof *amounts);
    size_t nopen = 0;
    for (size_t i = 0; open && amounts && i < pd.n; i++) {
        const forecast_deal *d = &pd.deals[i];
        if (d->owner != me)
            continue;
        if (d->won)
            *won_then += d->amount;
        else if (d->expected_close < P->end) {
            *pipeline += d->amount;
            amounts[nopen] = d->amount;
            open[nopen++] = pd.ids[i];
        }
    }
    *as_of = o.as_of;
    int rc = open && amounts
                 ? signals_section(db, ws, ended ? o.as_of : today + 1, o.as_of, open, amounts, nopen, signals, err)
                 : -1;
    if (!open || !amounts)
        app_err_set(err, ERR_INTERNAL, "out of memory");
    free(open);
    free(amounts);
    fcprep_free(&pd);
    return rc;
}

/* Monday to Friday days in [a, b). */
static int working_days(caldate_t a, caldate_t b)
{
    int n = 0;
    for (caldate_t d = a; d < b; d++)
        n += ((d + 3) % 7 + 7) % 7 < 5; /* day 0, 1970-01-01, was a Thursday */
    return n;
}

typedef struct {
    long calls, emails, meetings, demos;
    int days, working;
} activity_counts;

/* The rep's sales activities in [start, end) (end: the period's end or today, 00:00 UTC). */
static int load_activities(db_conn *db, const char *ws, const char *rep, caldate_t start, caldate_t end,
                           activity_counts *a, app_err *err)
{
    char sb[16], eb[16];
    const char *p[] = {ws, rep, caldate_format(start, sb, sizeof sb), caldate_format(end, eb, sizeof eb)};
    PGresult *r = db_query(db,
                           "SELECT count(*) FILTER (WHERE type = 'call'), count(*) FILTER (WHERE type = 'email_sent'),"
                           " count(*) FILTER (WHERE type = 'meeting'), 0"
                           " FROM activities WHERE workspace_id = $1 AND rep = $2"
                           " AND occurred_at >= ($3::date::timestamp AT TIME ZONE 'UTC')"
                           " AND occurred_at < ($4::date::timestamp AT TIME ZONE 'UTC')",
                           4, p, err);
    if (!r)
        return -1;
    *a = (activity_counts){.calls = atol(PQgetvalue(r, 0, 0)),
                           .emails = atol(PQgetvalue(r, 0, 1)),
                           .meetings = atol(PQgetvalue(r, 0, 2)),
                           .demos = atol(PQgetvalue(r, 0, 3)),
                           .days = end > start ? (int)(end - start) : 0,
                           .working = end > start ? working_days(start, end) : 0};
    PQclear(r);
    return 0;
}

static json_t *per(long n, double unit)
{
    return unit > 0 ? json_real(round((double)n / unit * 10) / 10) : json_null();
}

static json_t *activity_json(const activity_counts *a, const char *role)
{
    long total = a->calls + a->emails + a->meetings + a->demos;
    double weeks = a->working / 5.0;
    const char *reason = total == 0        ? NO_ACTIVITIES
                         : a->working == 0 ? "none of the period's working days has passed yet"
                                           : "demos_per_week: the activity API has no demo type";
    return json_pack("{s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I}, s:i, s:o, s:o}", "calls_per_day",
                     total ? per(a->calls, a->working) : json_null(), "emails_per_day",
                     total ? per(a->emails, a->working) : json_null(), "meetings_booked_per_week",
                     total ? per(a->meetings, weeks) : json_null(), "demos_per_week", json_null(), "counts", "calls",
                     (json_int_t)a->calls, "emails", (json_int_t)a->emails, "meetings", (json_int_t)a->meetings,
                     "demos", (json_int_t)a->demos, "working_days", a->working, "targets", activity_targets(role),
                     "reason", reason ? json_string(reason) : json_null());
}

/* A metric against the seed's target range: a strength at or above its low
 * end, an improvement area below it. */
static void activity_note(json_t *strengths, json_t *improve, const json_t *act, const char *key, const char *what)
{
    const json_t *v = json_object_get(act, key), *t = json_object_get(json_object_get(act, "targets"), key);
    if (!json_is_number(v) || !json_is_array(t))
        return;
    double lo = (double)json_integer_value(json_array_get(t, 0)), hi = (double)json_integer_value(json_array_get(t, 1));
    char b[200];
    snprintf(b, sizeof b, "%s: %.1f against the seed's %g-%g", what, json_number_value(v), lo, hi);
    json_array_append_new(json_number_value(v) >= lo ? strengths : improve, json_string(b));
}

static void note(json_t *arr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(json_t *arr, const char *fmt, ...)
{
    char b[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    json_array_append_new(arr, json_string(b));
}

/* Coaching notes from the numbers: pace, coverage against 3x, win rate. */
static json_t *coaching(const comp_pace *p, bool has_quota, const json_t *cov, money_t gap_to_cover, double win_rate,
                        long closed, const char *label)
{
    json_t *s = json_array(), *imp = json_array(), *act = json_array();
    if (has_quota && p->has_pace) {
        if (p->status == COMP_PACE_AHEAD)
            note(s, "On pace: %.0f%% of quota with %.0f%% of %s gone", p->attainment * 100, p->elapsed_share * 100,
                 label);
        else {
            note(imp, "Behind pace: %.0f%% of quota with %.0f%% of %s gone", p->attainment * 100,
                 p->elapsed_share * 100, label);
            note(act, "Close $%.2f more to be back on pace", (double)-p->pace_gap / 100.0);
        }
    }
    if (json_is_number(cov)) {
        if (json_number_value(cov) >= COVERAGE_TARGET)
            note(s, "Coverage %.1fx meets the %.0fx target", json_number_value(cov), COVERAGE_TARGET);
        else {
            note(imp, "Coverage %.1fx is below the %.0fx target", json_number_value(cov), COVERAGE_TARGET);
            note(act, "Add $%.2f of pipeline closing in %s", (double)gap_to_cover / 100.0, label);
        }
    }
    if (closed > 0 && win_rate >= 0)
        note(win_rate >= 0.25 ? s : imp, "Win rate %.0f%% over %ld closed deals", win_rate * 100, closed);
    return json_pack("{s:o, s:o, s:o}", "strengths", s, "improvement_areas", imp, "action_items", act);
}

/* Coaching notes from the deal flags: multi-threaded deals are a strength;
 * each risk flag is an improvement area naming its deals, with the seed's
 * action. */
static void signal_notes(json_t *cn, const json_t *sec)
{
    const json_t *counts = json_object_get(sec, "counts"), *deals = json_object_get(sec, "deals");
    long open = (long)json_integer_value(json_object_get(sec, "open_deals"));
    long multi = (long)json_integer_value(json_object_get(counts, "multi_threaded"));
    if (multi > 0)
        note(json_object_get(cn, "strengths"), "%ld of %ld open deals multi-threaded (3+ contacts engaged)", multi,
             open);
    for (int k = 0; k < RI__COUNT; k++) {
        const revintel_def *d = &revintel_defs[k];
        if (strcmp(d->kind, "risk") != 0 || json_integer_value(json_object_get(counts, d->code)) == 0)
            continue;
        /* the deals' ids as far as they fit, then how many more (a long
         * list was cut mid-id, with a trailing comma) */
        char names[240];
        size_t len = 0, i, j;
        long more = 0;
        const json_t *x, *g;
        names[0] = '\0';
        json_array_foreach(deals, i, x) json_array_foreach(json_object_get(x, "signals"), j, g)
        {
            if (strcmp(json_string_value(json_object_get(g, "code")), d->code) != 0)
                continue;
            int w = more ? -1
                         : snprintf(names + len, sizeof names - len - 24, "%s%s", len ? ", " : "",
                                    json_string_value(json_object_get(x, "deal")));
            if (w > 0 && (size_t)w < sizeof names - len - 24)
                len += (size_t)w;
            else {
                names[len] = '\0';
                more++;
            }
        }
        if (more)
            snprintf(names + len, sizeof names - len, " and %ld more", more);
        note(json_object_get(cn, "improvement_areas"), "%s: %s", d->signal, names);
        note(json_object_get(cn, "action_items"), "%s (%s)", d->action, names);
    }
}

static const char *num_or(const json_t *v, char *buf, size_t n, const char *fmt, double scale)
{
    if (!json_is_number(v))
        return "n/a";
    snprintf(buf, n, fmt, json_number_value(v) * scale);
    return buf;
}

static char *markdown(const json_t *j)
{
    size_t cap = 8192, len = 0;
    char *b = malloc(cap), t1[64], t2[64];
    if (!b)
        return NULL;
    b[0] = 0;
#define OUT(...)                                                                                                       \
    do {                                                                                                               \
        int n_ = snprintf(b + len, cap - len, __VA_ARGS__);                                                            \
        if (n_ > 0 && (size_t)n_ < cap - len)                                                                          \
            len += (size_t)n_;                                                                                         \
    } while (0)
    const json_t *pl = json_object_get(j, "pipeline"), *ef = json_object_get(j, "efficiency"),
                 *ac = json_object_get(j, "activity");
    const json_t *name = json_object_get(j, "rep_name");
    OUT("## Rep Scorecard — %s — %s\n\n",
        json_is_string(name) ? json_string_value(name) : json_string_value(json_object_get(j, "rep")),
        json_string_value(json_object_get(j, "period")));
    OUT("- Quota: %s\n", num_or(json_object_get(j, "quota"), t1, sizeof t1, "$%.2f", 1));
    OUT("- Attainment: %s\n\n", num_or(json_object_get(j, "attainment"), t1, sizeof t1, "%.1f%%", 100));
    OUT("### Activity\n");
    OUT("- Calls per day: %s\n", num_or(json_object_get(ac, "calls_per_day"), t1, sizeof t1, "%.1f", 1));
    OUT("- Emails per day: %s\n", num_or(json_object_get(ac, "emails_per_day"), t1, sizeof t1, "%.1f", 1));
    OUT("- Meetings booked per week: %s\n",
        num_or(json_object_get(ac, "meetings_booked_per_week"), t1, sizeof t1, "%.1f", 1));
    if (json_is_string(json_object_get(ac, "reason")))
        OUT("- %s\n", json_string_value(json_object_get(ac, "reason")));
    OUT("\n### Pipeline\n");
    OUT("- Created in the period: $%.2f (%lld deals)\n", json_number_value(json_object_get(pl, "created_this_period")),
        (long long)json_integer_value(json_object_get(pl, "deals_created")));
    OUT("- Coverage: %s\n", num_or(json_object_get(pl, "coverage_ratio"), t1, sizeof t1, "%.1fx", 1));
    OUT("- Average deal size: %s\n", num_or(json_object_get(pl, "avg_deal_size"), t1, sizeof t1, "$%.2f", 1));
    OUT("- Win rate: %s\n", num_or(json_object_get(pl, "win_rate"), t1, sizeof t1, "%.1f%%", 100));
    OUT("- Average cycle: %s\n", num_or(json_object_get(pl, "avg_cycle_days"), t1, sizeof t1, "%.1f days", 1));
    OUT("\n### Efficiency\n- Cost per meeting: %s\n- Revenue per activity: %s\n- Pipeline to close: %s\n",
        num_or(json_object_get(ef, "cost_per_meeting"), t1, sizeof t1, "$%.2f", 1),
        num_or(json_object_get(ef, "revenue_per_activity"), t2, sizeof t2, "$%.2f", 1),
        json_is_string(json_object_get(ef, "pipeline_to_close_ratio"))
            ? json_string_value(json_object_get(ef, "pipeline_to_close_ratio"))
            : "n/a");
    static const char *const sections[][2] = {
        {"strengths", "Strengths"}, {"improvement_areas", "Improvement areas"}, {"action_items", "Action items"}};
    const json_t *ds = json_object_get(j, "deal_signals");
    OUT("\n### Deal Signals\n- Open deals closing in the period: %lld\n",
        (long long)json_integer_value(json_object_get(ds, "open_deals")));
    size_t di;
    const json_t *dx;
    json_array_foreach(json_object_get(ds, "deals"), di, dx)
    {
        size_t gi;
        const json_t *gx;
        OUT("- %s:", json_string_value(json_object_get(dx, "deal")));
        json_array_foreach(json_object_get(dx, "signals"), gi, gx)
            OUT("%s %s (%s)", gi ? ";" : "", json_string_value(json_object_get(gx, "signal")),
                json_string_value(json_object_get(gx, "evidence")));
        OUT("\n");
    }
    const json_t *cn = json_object_get(j, "coaching_notes");
    OUT("\n### Coaching Notes\n");
    for (int k = 0; k < 3; k++) {
        OUT("**%s**\n", sections[k][1]);
        size_t i;
        const json_t *x;
        json_array_foreach(json_object_get(cn, sections[k][0]), i, x) OUT("- %s\n", json_string_value(x));
        if (!json_array_size(json_object_get(cn, sections[k][0])))
            OUT("- none\n");
    }
#undef OUT
    return b;
}

void h_reps_scorecard(http_req *rq)
{
    app_err err = {0};
    const char *ps = http_query(rq, "period"), *rep = rq->params[0];
    db_conn *db = http_db(rq);
    if (!db)
        return;
    const char *ws = rq->auth.workspace_id;
    int fsm = workspace_fy_start(db, ws, &err);
    if (fsm < 0) {
        http_reply_error(rq, &err);
        return;
    }
    caldate_t today = utc_today();
    period P = period_containing(PERIOD_QUARTER, today, fsm);
    if (ps && !period_parse(ps, fsm, &P)) {
        http_fail(rq, ERR_VALIDATION, "period must be a period such as 2026-Q1, 2026-03 or FY2026");
        return;
    }
    char label[16], sb[16], eb[16];
    period_format(&P, label, sizeof label);
    caldate_format(P.start, sb, sizeof sb);
    caldate_format(P.end, eb, sizeof eb);
    const char *qp[] = {ws, rep, label, sb, eb};
    /* the rep, and the period's deals of the rep in one scan */
    PGresult *r = db_query(
        db,
        "SELECT NULLIF(r.name, ''), r.role, (r.quotas ->> $3)::bigint, r.fully_loaded_cost_cents,"
        " count(*) FILTER (WHERE d.won), COALESCE(sum(d.amount) FILTER (WHERE d.won), 0),"
        " count(*) FILTER (WHERE d.lost),"
        " avg(extract(epoch FROM d.closed_at - d.created_at) / 86400) FILTER (WHERE d.won),"
        " count(*) FILTER (WHERE d.created), COALESCE(sum(d.amount) FILTER (WHERE d.created), 0)"
        " FROM reps r LEFT JOIN LATERAL (SELECT COALESCE(" CRM_FX_AMOUNT ", 0) AS amount, closed_at, created_at,"
        "   status = 'won' AND closed_at >= ($4::date::timestamp AT TIME ZONE 'UTC')"
        "     AND closed_at < ($5::date::timestamp AT TIME ZONE 'UTC') AS won,"
        "   status = 'lost' AND closed_at >= ($4::date::timestamp AT TIME ZONE 'UTC')"
        "     AND closed_at < ($5::date::timestamp AT TIME ZONE 'UTC') AS lost,"
        "   created_at >= ($4::date::timestamp AT TIME ZONE 'UTC')"
        "     AND created_at < ($5::date::timestamp AT TIME ZONE 'UTC') AS created"
        "   FROM deals WHERE workspace_id = $1 AND owner = $2 AND deleted_at IS NULL) d ON true"
        " WHERE r.workspace_id = $1 AND r.external_id = $2 AND r.deleted_at IS NULL GROUP BY r.workspace_id,"
        " r.external_id",
        5, qp, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        http_fail(rq, ERR_NOT_FOUND, "No rep with this id");
        return;
    }
    char *name = PQgetisnull(r, 0, 0) ? NULL : strdup(PQgetvalue(r, 0, 0));
    char *role = PQgetisnull(r, 0, 1) ? NULL : strdup(PQgetvalue(r, 0, 1));
    bool has_quota = !PQgetisnull(r, 0, 2) && strtoll(PQgetvalue(r, 0, 2), NULL, 10) > 0;
    money_t quota = has_quota ? strtoll(PQgetvalue(r, 0, 2), NULL, 10) : 0;
    bool has_cost = !PQgetisnull(r, 0, 3);
    money_t cost_year = has_cost ? strtoll(PQgetvalue(r, 0, 3), NULL, 10) : 0;
    long nwon = atol(PQgetvalue(r, 0, 4)), nlost = atol(PQgetvalue(r, 0, 6)), ncreated = atol(PQgetvalue(r, 0, 8));
    money_t won = strtoll(PQgetvalue(r, 0, 5), NULL, 10), created = strtoll(PQgetvalue(r, 0, 9), NULL, 10);
    bool has_cycle = !PQgetisnull(r, 0, 7);
    double cycle = has_cycle ? atof(PQgetvalue(r, 0, 7)) : 0;
    PQclear(r);
    money_t pipeline = 0, won_then = 0;
    caldate_t cov_as_of = today;
    json_t *signals = NULL;
    if (coverage_inputs(db, ws, rep, &P, today, &pipeline, &won_then, &cov_as_of, &signals, &err) != 0) {
        free(name);
        free(role);
        http_reply_error(rq, &err);
        return;
    }
    caldate_t as_of = today < P.end ? today : P.end;
    activity_counts ac = {0};
    if (load_activities(db, ws, rep, P.start, as_of, &ac, &err) != 0) {
        free(name);
        free(role);
        json_decref(signals);
        http_reply_error(rq, &err);
        return;
    }
    long nact = ac.calls + ac.emails + ac.meetings + ac.demos;
    json_t *activity = activity_json(&ac, role);
    /* the rep's cost over the days of the period gone, per meeting held */
    money_t cost = has_cost ? money_mul_rate(cost_year, (double)ac.days / 365.0) : 0;
    const char *eff_reason = !has_cost && !nact ? "no fully loaded cost recorded for the rep (reps.fully_loaded_cost), "
                                                  "and " NO_ACTIVITIES
                             : !has_cost        ? "no fully loaded cost recorded for the rep (reps.fully_loaded_cost)"
                             : !nact            ? NO_ACTIVITIES
                             : !ac.meetings     ? "no meetings held in the period"
                                                : NULL;
    comp_pace pace;
    comp_pace_compute(&(comp_pace_input){.has_quota = has_quota,
                                         .quota = quota,
                                         .won = won,
                                         .projected = won,
                                         .elapsed_days = (int)(as_of - P.start),
                                         .period_days = (int)(P.end - P.start)},
                      &pace);
    json_t *cov = has_quota && quota > won_then ? r4((double)pipeline / (double)(quota - won_then)) : json_null();
    money_t to_cover = has_quota && quota > won_then ? money_mul_rate(quota - won_then, COVERAGE_TARGET) - pipeline : 0;
    double win_rate = nwon + nlost > 0 ? (double)nwon / (double)(nwon + nlost) : -1;
    char ratio[48], cab[16];
    if (won > 0)
        snprintf(ratio, sizeof ratio, "%.2f:1", (double)created / (double)won);
    json_t *out = json_pack(
        "{s:s, s:o, s:o, s:s, s:o, s:o, s:o,"
        " s:o,"
        " s:{s:o, s:I, s:o, s:s, s:o, s:o, s:o, s:I, s:I},"
        " s:{s:o, s:o, s:o, s:o, s:b},"
        " s:o}",
        "rep", rep, "rep_name", name ? json_string(name) : json_null(), "role", role ? json_string(role) : json_null(),
        "period", label, "quota", has_quota ? money_j(quota) : json_null(), "won", money_j(won), "attainment",
        pace.has_attainment ? r4(pace.attainment) : json_null(), "activity", activity, "pipeline",
        "created_this_period", money_j(created), "deals_created", (json_int_t)ncreated, "coverage_ratio", cov,
        "coverage_as_of", caldate_format(cov_as_of, cab, sizeof cab), "avg_deal_size",
        nwon ? money_j((won + nwon / 2) / nwon) : json_null(), "win_rate", win_rate >= 0 ? r4(win_rate) : json_null(),
        "avg_cycle_days", has_cycle ? json_real(round(cycle * 10) / 10) : json_null(), "deals_won", (json_int_t)nwon,
        "deals_lost", (json_int_t)nlost, "efficiency", "cost_per_meeting",
        has_cost && ac.meetings ? money_j((cost + ac.meetings / 2) / ac.meetings) : json_null(), "revenue_per_activity",
        nact ? money_j((won + nact / 2) / nact) : json_null(), "pipeline_to_close_ratio",
        won > 0 ? json_string(ratio) : json_null(), "reason", eff_reason ? json_string(eff_reason) : json_null(),
        "fully_loaded_cost_recorded", has_cost, "coaching_notes",
        coaching(&pace, has_quota, cov, to_cover > 0 ? to_cover : 0, win_rate, nwon + nlost, label));
    free(name);
    free(role);
    if (out) {
        json_t *cn = json_object_get(out, "coaching_notes"), *act = json_object_get(out, "activity");
        activity_note(json_object_get(cn, "strengths"), json_object_get(cn, "improvement_areas"), act, "calls_per_day",
                      "Calls a day");
        activity_note(json_object_get(cn, "strengths"), json_object_get(cn, "improvement_areas"), act, "emails_per_day",
                      "Emails a day");
        activity_note(json_object_get(cn, "strengths"), json_object_get(cn, "improvement_areas"), act,
                      "meetings_booked_per_week", "Meetings a week");
        signal_notes(cn, signals);
        json_object_set_new(out, "deal_signals", signals);
    } else
        json_decref(signals);
    if (!out) {
        http_fail(rq, ERR_INTERNAL, "could not build the scorecard");
        return;
    }
    const char *accept = http_header(rq, "Accept");
    if (accept && strstr(accept, "text/markdown")) {
        char *md = markdown(out);
        json_decref(out);
        if (!md)
            http_fail(rq, ERR_INTERNAL, "out of memory");
        else
            http_reply_text(rq, 200, "text/markdown; charset=utf-8", md, strlen(md));
        return;
    }
    if (http_wants_yaml(rq)) {
        size_t len = 0;
        char *y = yconv_emit(out, &len);
        json_decref(out);
        if (!y)
            http_fail(rq, ERR_INTERNAL, "could not encode the scorecard");
        else
            http_reply_text(rq, 200, "application/yaml", y, len);
        return;
    }
    http_reply_json(rq, 200, out);
}

/* alertfig.c - figures computed in C for the alert signals (alertfig.h). */
#include "alertfig.h"

#include <stdlib.h>
#include <time.h>

#include "audit.h"
#include "caldate.h"
#include "fcdata.h"
#include "fcprep.h"
#include "handlers.h"
#include "metrics.h"

/* One scope's figure: the dashboard's coverage of pipeline over quota - won. */
static json_t *coverage_j(money_t pipeline, bool has_quota, money_t quota, money_t won)
{
    metric_value cov =
        has_quota && quota > won ? metrics_coverage(pipeline, quota - won) : (metric_value){.band = "undefined"};
    return json_pack("{s:o, s:I, s:o, s:I}", "coverage", cov.ok ? json_real(cov.value) : json_null(), "pipeline",
                     (json_int_t)pipeline, "quota", has_quota ? json_integer((json_int_t)quota) : json_null(), "won",
                     (json_int_t)won);
}

int alertfig_coverage(db_conn *db, const char *ws, json_t *figures, app_err *err)
{
    funnel_def def;
    char funnel_id[40], funnel_ver[16], label[16], sb[16], eb[16];
    int fsm = workspace_fy_start(db, ws, err);
    if (fsm < 0 || funnels_ensure_default(db, ws, err) != 0 ||
        fcdata_default_funnel(db, ws, &def, funnel_id, funnel_ver, err) != 0)
        return -1;
    /* the dashboard's current period: the quarter containing today, the deals as now */
    caldate_t today = utc_today();
    period P = period_containing(PERIOD_QUARTER, today, fsm);
    period_format(&P, label, sizeof label);
    fcprep_opts o = {.period_start = P.start, .period_end = P.end, .as_of = today, .rebuild = false};
    fcprep_deals pd;
    if (fcprep_load(db, ws, &def, &o, &pd, err) != 0) {
        fcprep_free(&pd);
        return -1;
    }
    const char *qp[] = {ws, label};
    PGresult *q = db_query(db,
                           "SELECT external_id, (quotas ->> $2)::bigint FROM reps WHERE workspace_id = $1"
                           " AND deleted_at IS NULL AND quotas ? $2 ORDER BY external_id",
                           2, qp, err);
    if (!q) {
        fcprep_free(&pd);
        return -1;
    }
    money_t quota = 0, pipeline, won;
    json_t *owners = json_array();
    for (int i = 0; i < PQntuples(q); i++) {
        money_t rq = strtoll(PQgetvalue(q, i, 1), NULL, 10);
        const char *owner = PQgetvalue(q, i, 0);
        json_t *ix = json_object_get(pd.owner_index, owner);
        quota += rq;
        if (ix) {
            fcprep_period_sums(&pd, &o, (int)json_integer_value(ix), &pipeline, &won);
        } else {
            pipeline = won = 0; /* a quota and no deal: nothing covers it */
        }
        json_t *one = coverage_j(pipeline, true, rq, won);
        json_object_set_new(one, "owner", json_string(owner));
        json_array_append_new(owners, one);
    }
    fcprep_period_sums(&pd, &o, -1, &pipeline, &won);
    json_object_set_new(figures, "coverage",
                        json_pack("{s:s, s:s, s:s, s:o, s:o}", "period", label, "start",
                                  caldate_format(P.start, sb, sizeof sb), "end", caldate_format(P.end, eb, sizeof eb),
                                  "workspace", coverage_j(pipeline, PQntuples(q) > 0, quota, won), "owners", owners));
    PQclear(q);
    fcprep_free(&pd);
    return 0;
}

int alertfig_hygiene(db_conn *db, const char *ws, json_t *figures, app_err *err)
{
    json_t *doc = NULL;
    if (hygiene_summary(db, ws, time(NULL), false, &doc, err) != 0)
        return -1;
    json_object_set(figures, "hygiene", json_object_get(doc, "rules"));
    json_object_set(figures, "hygiene_as_of", json_object_get(doc, "as_of"));
    json_decref(doc);
    return 0;
}

int alertfig_health(db_conn *db, const char *ws, bool at_risk, bool expansion, json_t *figures, app_err *err)
{
    int fsm = workspace_fy_start(db, ws, err);
    if (fsm < 0)
        return -1;
    /* what the two routes answer without parameters: today, its quarter */
    caldate_t today = utc_today();
    period Q = period_containing(PERIOD_QUARTER, today, fsm);
    PGresult *rows = health_inputs_load(db, ws, today, &Q, err);
    if (!rows)
        return -1;
    json_t *risk = at_risk ? health_at_risk_doc(rows, today, &Q) : NULL;
    json_t *sig = expansion ? health_signal_items(rows, today, "expansion") : NULL;
    PQclear(rows);
    if ((at_risk && !risk) || (expansion && !sig)) {
        json_decref(risk);
        json_decref(sig);
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    if (risk)
        json_object_set_new(figures, "at_risk", risk);
    if (sig)
        json_object_set_new(figures, "expansion", sig);
    return 0;
}

int alertfig_period(db_conn *db, const char *ws, json_t *figures, app_err *err)
{
    int fsm = workspace_fy_start(db, ws, err);
    if (fsm < 0)
        return -1;
    char label[16], sb[16];
    period P = period_containing(PERIOD_QUARTER, utc_today(), fsm);
    period_format(&P, label, sizeof label);
    json_object_set_new(figures, "period", json_string(label));
    json_object_set_new(figures, "period_start", json_string(caldate_format(P.start, sb, sizeof sb)));
    return 0;
}

int alertfig_dashboard(db_conn *db, const char *ws, json_t *figures, app_err *err)
{
    int fsm = workspace_fy_start(db, ws, err);
    if (fsm < 0)
        return -1;
    /* the dashboard of the current quarter, as the coverage figure reads it */
    period P = period_containing(PERIOD_QUARTER, utc_today(), fsm);
    json_t *doc = NULL;
    if (dashboard_build(db, ws, &P, fsm, false, &doc, err) != 0)
        return -1;
    json_object_set(figures, "health_signals", json_object_get(doc, "health_signals"));
    json_object_set(figures, "dashboard_period", json_object_get(doc, "period"));
    json_decref(doc);
    return 0;
}

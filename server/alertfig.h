/* alertfig.h - the figures of alert signals that only C computes (the
 * dashboard's pipeline coverage, from fcprep and core/metrics), made once
 * per evaluation and handed to sql/80_alerts.sql alert_evaluate as JSON.
 */
#ifndef REVOPS_ALERTFIG_H
#define REVOPS_ALERTFIG_H

#include <jansson.h>
#include <stdbool.h>

#include "db.h"
#include "errors.h"

/* figures.coverage: the current fiscal quarter's coverage as the dashboard
 * computes it (pipeline closing in the period / (quota - won in it), the
 * deals as now, close dates estimated from history where missing), for the
 * workspace and for each rep with a quota for the quarter:
 *   {"period": "2026-Q4", "workspace": {coverage, pipeline, quota, won},
 *    "owners": [{owner, coverage, pipeline, quota, won}, ...]}
 * amounts in cents; coverage null when not defined (no quota, or the quota
 * already won). figures is borrowed. 0, or -1 with err. */
int alertfig_coverage(db_conn *db, const char *ws, json_t *figures, app_err *err) __attribute__((warn_unused_result));

/* figures.hygiene: the GET /v1/hygiene rules (hygiene_summary, no samples:
 * id, name, threshold, value, status, offending, population, ...) and
 * figures.hygiene_as_of. The full scan: the caller runs it only when a
 * hygiene_red rule is due. figures is borrowed. 0, or -1 with err. */
int alertfig_hygiene(db_conn *db, const char *ws, json_t *figures, app_err *err) __attribute__((warn_unused_result));

/* figures.at_risk: GET /v1/accounts/at-risk's document for today and its
 * quarter (at_risk), and figures.expansion: GET /v1/signals?kind=expansion's
 * items (expansion); one read of the health inputs for both (h_health.c's
 * builders). figures is borrowed. 0, or -1 with err. */
int alertfig_health(db_conn *db, const char *ws, bool at_risk, bool expansion, json_t *figures, app_err *err)
    __attribute__((warn_unused_result));

/* figures.period: the label of the fiscal quarter holding today ("2026-Q4"),
 * the period stored forecasts name, and figures.period_start its first day.
 * 0, or -1 with err. */
int alertfig_period(db_conn *db, const char *ws, json_t *figures, app_err *err) __attribute__((warn_unused_result));

/* figures.health_signals: the dashboard's health signals ([{metric, status
 * green/yellow/red or null, note}]) of the current quarter (dashboard_build)
 * and figures.dashboard_period. 0, or -1 with err. */
int alertfig_dashboard(db_conn *db, const char *ws, json_t *figures, app_err *err) __attribute__((warn_unused_result));

#endif

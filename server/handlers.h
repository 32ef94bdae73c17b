/* handlers.h - every HTTP handler, one per route row in routes.c. */
#ifndef REVOPS_HANDLERS_H
#define REVOPS_HANDLERS_H

#include <time.h>

#include "caldate.h"
#include "capacity.h"
#include "http.h"

/* h_system.c */
void h_healthz(http_req *rq);
void h_console_root(http_req *rq);
void h_console_index(http_req *rq);
void h_console_file(http_req *rq);
void h_session(http_req *rq);
void h_readyz(http_req *rq);
void h_metrics(http_req *rq);

/* h_workspace.c */
void h_workspace_get(http_req *rq);
void h_workspace_patch(http_req *rq);
void h_keys_create(http_req *rq);
void h_keys_list(http_req *rq);
void h_keys_delete(http_req *rq);
/* Today's UTC date as a day number (caldate_t). */
static inline caldate_t utc_today(void) { return (caldate_t)(time(NULL) / 86400); }
/* The workspace's fiscal-year start month (1-12), or -1 with err. */
int workspace_fy_start(db_conn *db, const char *workspace_id, app_err *err);

/* h_funnels.c: funnel definitions */
/* Give a workspace without funnels the seed's, as its default; 0 or -1. */
int funnels_ensure_default(db_conn *db, const char *workspace_id, app_err *err);
void h_funnels_create(http_req *rq);
void h_funnels_list(http_req *rq);
void h_funnels_get(http_req *rq);
void h_funnels_put(http_req *rq);
void h_funnels_delete(http_req *rq);
void h_funnels_versions(http_req *rq);
void h_funnels_diagnose(http_req *rq);
void h_funnels_conversion(http_req *rq);

/* h_snapshots.c: pipeline snapshots and their diff */
void h_snapshots_create(http_req *rq);
void h_snapshots_list(http_req *rq);
void h_snapshots_get(http_req *rq);
void h_snapshots_delete(http_req *rq);
void h_snapshots_diff(http_req *rq);
/* Take a snapshot now for a workspace (handlers and the scheduler). kind:
 * manual, daily or weekly; slot (YYYY-MM-DD) for scheduled ones. Writes the
 * new id, or "" when the slot was already taken. 0 or -1. */
int snapshots_take(db_conn *db, const char *workspace_id, const char *label, const char *as_of_rfc3339,
                   const char *kind, const char *slot, char *id_out, size_t id_len, app_err *err);

/* h_dashboard.c: the RevOps dashboard and the revenue waterfall */
void h_dashboard(http_req *rq);
void h_revenue_waterfall(http_req *rq);
/* The GET /v1/dashboard document of period P (fsm: the fiscal-year start
 * month), explain adds formulas and inputs; what the reports call so their
 * numbers are the dashboard's. A new reference in *out, 0; or -1 with err. */
int dashboard_build(db_conn *db, const char *ws, const period *P, int fsm, bool want_explain, json_t **out,
                    app_err *err);
/* What the dashboards of one request (a report builds two or three) share:
 * the inputs that do not depend on the period, read once. Build them with
 * dashboard_build_shared and the same memo; free it after the last. */
typedef struct dash_memo dash_memo;
dash_memo *dash_memo_new(void);
void dash_memo_free(dash_memo *m);
int dashboard_build_shared(db_conn *db, const char *ws, const period *P, int fsm, bool want_explain, dash_memo *memo,
                           json_t **out, app_err *err);

/* h_cohorts.c: cohort retention and unit economics per group */
void h_cohorts_retention(http_req *rq);
void h_unit_economics(http_req *rq);

/* h_forecasts.c: stored forecasts */
void h_forecasts_create(http_req *rq);
void h_forecasts_list(http_req *rq);
void h_forecasts_get(http_req *rq);
/* h_accuracy.c: submitted calls, the accuracy report, the backtest */
void h_forecasts_submit(http_req *rq);
void h_forecasts_accuracy(http_req *rq);
void h_forecasts_backtest(http_req *rq);
/* h_trend.c: the forecast week by week, and what moved it */
void h_forecasts_trend(http_req *rq);

/* h_review.c: the weekly pipeline review */
void h_pipeline_review(http_req *rq);

/* h_revenue.c: inputs of the board metrics */
void h_arr_events_create(http_req *rq);
void h_arr_events_list(http_req *rq);
void h_subscriptions_put(http_req *rq);
void h_subscriptions_list(http_req *rq);
void h_spend_create(http_req *rq);
void h_spend_list(http_req *rq);
void h_finance_put(http_req *rq);
void h_finance_list(http_req *rq);
void h_fx_put(http_req *rq);
void h_fx_list(http_req *rq);

/* h_crm.c: deals, accounts, reps */
void h_deals_put(http_req *rq);
void h_deals_get(http_req *rq);
void h_deals_list(http_req *rq);
void h_deals_delete(http_req *rq);
void h_deals_batch(http_req *rq);
void h_accounts_put(http_req *rq);
void h_accounts_get(http_req *rq);
void h_accounts_list(http_req *rq);
void h_accounts_delete(http_req *rq);
void h_accounts_batch(http_req *rq);
void h_reps_put(http_req *rq);
void h_reps_get(http_req *rq);
void h_reps_list(http_req *rq);
void h_reps_delete(http_req *rq);
void h_reps_batch(http_req *rq);

/* h_import.c */
void h_imports_create(http_req *rq);

/* h_webhooks.c */
void h_webhook_endpoints_create(http_req *rq);
void h_webhook_endpoints_list(http_req *rq);
void h_webhook_endpoints_get(http_req *rq);
void h_webhook_endpoints_update(http_req *rq);
void h_webhook_endpoints_delete(http_req *rq);
void h_hooks_receive(http_req *rq);
void h_webhook_events_list(http_req *rq);
void h_webhook_events_get(http_req *rq);
void h_webhook_events_replay(http_req *rq);

/* h_capacity.c: capacity plans (nothing stored) */
void h_capacity_plan(http_req *rq);
/* Ramp, attrition_rate, time_to_hire_months, backfill and seasonality of a
 * request object over the seed's defaults (capacity_assumptions_default);
 * field errors go to err. 0 or -1. */
int capacity_assumptions_decode(const json_t *obj, money_t quota, double attainment, capacity_assumptions *a,
                                app_err *err);

/* h_scenarios.c: stored revenue-plan scenarios */
void h_scenarios_create(http_req *rq);
void h_scenarios_list(http_req *rq);
void h_scenarios_get(http_req *rq);

/* h_territory.c: territory plans, their change reports, apply and revert */
void h_territory_plans_create(http_req *rq);
void h_territory_plans_list(http_req *rq);
void h_territory_plans_get(http_req *rq);
void h_territory_plans_diff(http_req *rq);
void h_territory_plans_apply(http_req *rq);
void h_territory_plans_revert(http_req *rq);

/* h_leads.c: leads and contacts (issue 19) */
void h_leads_put(http_req *rq);
void h_leads_get(http_req *rq);
void h_leads_list(http_req *rq);
void h_leads_delete(http_req *rq);
void h_leads_batch(http_req *rq);
void h_leads_funnel(http_req *rq);
/* h_activities.c: activities and touchpoints */
void h_activities_create(http_req *rq);
void h_activities_batch(http_req *rq);
void h_activities_get(http_req *rq);
void h_activities_list(http_req *rq);
/* h_routing.c: lead routing */
void h_routing_rules_get(http_req *rq);
void h_routing_rules_put(http_req *rq);
void h_routing_route(http_req *rq);
void h_routing_assignments(http_req *rq);
void h_routing_escalations(http_req *rq);
void h_sla_compliance(http_req *rq);
/* Route the leads (ids_json: a JSON array of lead ids) that are MQL and have
 * no assignment since they became one; in the caller's transaction. 0 or -1. */
int routing_route_new_mqls(db_conn *c, const char *workspace_id, const char *ids_json, app_err *err);
/* h_attrib.c: multi-touch attribution */
void h_attribution(http_req *rq);
/* h_scoring.c: lead scoring models and a lead's score */
void h_scoring_models_create(http_req *rq);
void h_scoring_models_list(http_req *rq);
void h_scoring_models_get(http_req *rq);
void h_scoring_models_put(http_req *rq);
void h_scoring_models_delete(http_req *rq);
void h_scoring_models_versions(http_req *rq);
void h_leads_score(http_req *rq);
/* POST /v1/leads/rescore: every live lead scored by the default model, stored */
void h_leads_rescore(http_req *rq);
/* A lead's score as of as_of (RFC 3339; NULL: now) by the model whose
 * stored JSON is model_text: *out the LeadScore answer. 0, or -1 with err
 * (ERR_NOT_FOUND when the lead did not exist then). */
int scoring_lead_score(db_conn *db, const char *workspace_id, const char *lead_id, const char *as_of,
                       const char *model_text, json_t **out, app_err *err);
/* After activities are written (items_json: their JSON array), move the
 * leads whose score reached the MQL threshold to mql when the default model
 * has auto_mql. In the caller's transaction; 0 or -1. */
int scoring_auto_mql(db_conn *c, const char *workspace_id, const char *items_json, app_err *err);
/* The lead's LeadScore now by the default scoring model; 0 or -1. */
int scoring_default_score(db_conn *db, const char *workspace_id, const char *lead_id, json_t **out, app_err *err);
/* h_attain.c: quota attainment, pace and projection */
void h_attainment(http_req *rq);
/* The GET /v1/attainment document of period P as of as_of (not after today;
 * before it: the pipeline rebuilt, wins before it), grouped by rep, manager
 * or team; what the QBR's team part calls. A new reference in *out, 0; or -1
 * with err. */
int attainment_build(db_conn *db, const char *ws, int fsm, const period *P, caldate_t as_of, const char *group_by,
                     json_t **out, app_err *err);

/* h_hygiene.c: the seed's data hygiene rules (audit.h has the shared builder) */
void h_hygiene(http_req *rq);
void h_hygiene_rule(http_req *rq);
void h_pipeline_self_review(http_req *rq);
/* The pipeline's source mix of P as known at its end (or today): also the
 * QBR's part 3. */
int pipeline_sources_build(db_conn *db, const char *ws, const period *P, caldate_t today, json_t **out, app_err *err);
void h_pipeline_sources(http_req *rq);
/* Unit economics of P by "channel" or "segment" (GET /v1/metrics/unit-economics;
 * also the QBR's part 4). */
int unit_economics_build(db_conn *db, const char *ws, const char *by, const period *P, json_t **out, app_err *err);
/* h_comp.c: comp plans (versioned, JSON or YAML), templates, statements */
void h_comp_plans_create(http_req *rq);
void h_comp_plans_list(http_req *rq);
void h_comp_plans_templates(http_req *rq);
void h_comp_plans_get(http_req *rq);
void h_comp_plans_put(http_req *rq);
void h_comp_plans_statements(http_req *rq);

/* h_scorecard.c: the seed's rep scorecard */
void h_reps_scorecard(http_req *rq);

/* h_health.c: account health inputs, accounts at risk, signals */
void h_usage_create(http_req *rq);
void h_support_tickets_create(http_req *rq);
void h_nps_responses_create(http_req *rq);
void h_accounts_at_risk(http_req *rq);
void h_signals(http_req *rq);
/* What those two routes answer, for the alert signals (server/alertfig.c)
 * to see the same accounts: the account_health_inputs rows of a workspace
 * at day at for quarter Q (NULL with err), GET /v1/accounts/at-risk's
 * document from them (NULL: out of memory) and GET /v1/signals' items of
 * kind (NULL: both kinds); new references. */
PGresult *health_inputs_load(db_conn *db, const char *ws, caldate_t at, const period *Q, app_err *err);
json_t *health_at_risk_doc(PGresult *rows, caldate_t at, const period *Q);
json_t *health_signal_items(PGresult *rows, caldate_t at, const char *kind);

/* h_pql.c: product-qualified leads (the seed's PLG hand-off) */
void h_pql_definition_get(http_req *rq);
void h_pql_definition_put(http_req *rq);
void h_pqls_list(http_req *rq);
void h_pqls_evaluate(http_req *rq);
/* Judge these accounts (a JSON array of ids) as of today and enter the
 * qualifying ones without a PQL into the lead funnel, routed, in the
 * caller's transaction (the usage write's). 0 or -1. */
int pql_after_usage(db_conn *c, const char *workspace_id, const char *accounts_json, app_err *err);

/* h_quota.c: quota plans */
void h_quota_plans_create(http_req *rq);

/* h_assess.c: RevOps maturity assessments (the seed's revops-audit.yaml) */
void h_assessments_create(http_req *rq);
void h_assessments_list(http_req *rq);
void h_assessments_get(http_req *rq);
void h_assessments_compare(http_req *rq);

/* h_alerts.c: alert rules, evaluation, history, digest, deliveries (issue 23) */
void h_alert_rules_create(http_req *rq);
void h_alert_rules_list(http_req *rq);
void h_alert_rules_get(http_req *rq);
void h_alert_rules_put(http_req *rq);
void h_alert_rules_delete(http_req *rq);
void h_alerts_evaluate(http_req *rq);
void h_alerts_list(http_req *rq);
void h_alerts_digest(http_req *rq);
void h_alert_deliveries_list(http_req *rq);
void h_alert_deliveries_get(http_req *rq);
void h_alert_deliveries_replay(http_req *rq);
/* Evaluate a workspace's enabled rules (sql/80_alerts.sql alert_evaluate):
 * counts[] gets rules, raised, cleared; wakes the senders when it raised. 0 or -1. */
int alerts_evaluate_workspace(db_conn *db, const char *workspace_id, long long counts[3], app_err *err);
/* Every workspace with enabled rules (the scheduler's pass): alerts raised,
 * or -1 when the list could not be read (one workspace's failure is logged
 * in err and the others still run). */
long long alerts_evaluate_all(db_conn *db, app_err *err);

/* h_reports.c: the monthly review, the QBR, the one-page summary */
void h_reports_monthly(http_req *rq);
void h_reports_qbr(http_req *rq);
void h_reports_summary(http_req *rq);

#endif

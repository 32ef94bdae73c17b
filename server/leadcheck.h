/* leadcheck.h - the one check of a lead's fields (server/h_leads.c), shared
 * by PUT /v1/leads/{id}, the batch, lead imports and HubSpot contact events
 * (server/whadapt.c), so a value refused by one is refused by all. */
#ifndef REVOPS_LEADCHECK_H
#define REVOPS_LEADCHECK_H

#include <jansson.h>

#include "crm.h" /* app_err */

/* Validate a lead object (API field names) into a patch (column -> value).
 * extra: NULL-terminated keys allowed besides the fields (as_of, and id in a
 * batch). NULL with e filled (one entry per bad field). */
json_t *lead_check(const json_t *in, const char *const *extra, app_err *e);

/* The activity kinds that count as marketing touches (leadscore_is_touch)
 * as a PostgreSQL text[] literal, "{email_open,...}", for attribution's
 * queries (GET /v1/attribution, the dashboard's CAC by channel). */
void lead_touch_types(char *buf, size_t len);

/* Leads as an import target (server/import.c): the fields a column may be
 * mapped to. kind CRM_LEADS; written through lead_apply_many. */
extern const crm_object crm_leads;

/* The default funnel's stage keys (a new JSON array), after giving the
 * workspace its default funnel. NULL with err. */
json_t *leads_funnel_stages(db_conn *db, const char *ws, app_err *err);
/* Is the patch's lifecycle_stage (when it has one) one of stages? Else e
 * says why. */
bool leads_stage_known(const json_t *stages, const json_t *patch, app_err *e);

/* Route the leads that webhook contact events made MQL in the caller's open
 * transaction (sql/74_leads.sql lists them in the transaction's setting
 * revops.new_mqls), as PUT routes the leads it makes MQL: the webhook
 * appliers and a sync endpoint's ingest call it before their commit. 0 or -1. */
int leads_route_webhook_mqls(db_conn *c, app_err *err);

#endif

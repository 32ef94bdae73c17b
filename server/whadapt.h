/* whadapt.h - CRM webhook payloads (HubSpot, Pipedrive v1/v2, Standard
 * Webhooks; WEBHOOKS.md) into canonical deal changes. No I/O: the handler
 * stores what these return and the SQL function webhook_ingest applies it.
 *
 * An event is returned as
 *   {dedupe_key, type, object_id, occurred_at, payload,
 *    ops: [{op: "apply", id, patch, at, origin, stage_at?} | {op: "delete", id, at, origin}],
 *    error?: why it cannot be applied, note?: why nothing is applied}
 * where patch is a crm_check patch (columns, cents, ISO dates). */
#ifndef REVOPS_WHADAPT_H
#define REVOPS_WHADAPT_H

#include <jansson.h>
#include <stddef.h>

typedef struct {
    const char *source;      /* hubspot | pipedrive | standard */
    const json_t *stage_map; /* provider stage id -> funnel stage key */
    const json_t *field_map; /* provider property -> deal field or custom.KEY */
    const char *portal_id;   /* HubSpot: the portal the endpoint is bound to, or NULL */
} whadapt_endpoint;

#define WHADAPT_MAX_EVENTS 100 /* HubSpot's batch size; more is refused */

/* The provider events of a verified body: a new array of payloads, or NULL
 * with msg filled when the body is not this source's shape. */
json_t *whadapt_split(const char *source, const char *body, size_t len, char *msg, size_t msglen);

/* One event. header_id: Standard Webhooks' webhook-id (its dedupe key);
 * NULL for the other sources. Never NULL. */
json_t *whadapt_event(const whadapt_endpoint *ep, const json_t *payload, const char *header_id);

/* Is s a source name? */
int whadapt_source_ok(const char *s);

#endif

/* fuzz_whadapt.c - the webhook adapters (whadapt.c): a verified body split
 * into provider events and each event turned into canonical deal changes,
 * for HubSpot (arrays of up to 100; deal and contact events), Pipedrive v1/v2
 * and Standard Webhooks (deal.* and lead.* events).
 * The first byte picks the source and whether a stage map and a field map
 * are configured; the rest is the body. Properties: an event always has a
 * dedupe key; every op is an apply (id, patch of known deal columns with
 * values a deal accepts, RFC 3339 time), a delete, a lead_apply (a patch of
 * lead columns, as PUT /v1/leads checks them), a lead_delete or a lead_link
 * (a lead, a deal, remove true or false); an event with an error
 * has no ops; everything encodes as JSON (it is stored as jsonb). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crm.h"
#include "leadcheck.h"
#include "whadapt.h"

static bool has_column(const crm_object *o, const char *col)
{
    for (const crm_field *f = o->fields; f->name; f++)
        if (strcmp(f->column, col) == 0)
            return true;
    return false;
}

static bool is_id(const char *id) { return id && *id && strlen(id) <= 200; }

/* An op's patch: an object of o's columns, the stage column null or a
 * stage key. Returns the patch. */
static const json_t *check_patch(const json_t *op, const crm_object *o, const char *stage_column)
{
    const json_t *patch = json_object_get(op, "patch");
    if (!json_is_object(patch))
        abort();
    const char *col;
    const json_t *v;
    json_object_foreach((json_t *)patch, col, v)
    {
        if (!has_column(o, col))
            abort();
        if (strcmp(col, stage_column) == 0 && !json_is_null(v) &&
            (!json_is_string(v) || !crm_is_stage_key(json_string_value(v))))
            abort();
    }
    return patch;
}

/* A contact's (HubSpot) or lead event's (Standard Webhooks) lead op. */
static void check_lead_op(const char *kind, const json_t *op)
{
    if (strcmp(kind, "lead_delete") == 0)
        return;
    if (strcmp(kind, "lead_link") == 0) {
        if (!is_id(json_string_value(json_object_get(op, "deal"))) || !json_is_boolean(json_object_get(op, "remove")))
            abort();
        return;
    }
    if (strcmp(kind, "lead_apply") != 0)
        abort();
    (void)check_patch(op, &crm_leads, "lifecycle_stage");
}

static void check_op(const json_t *op)
{
    const char *kind = json_string_value(json_object_get(op, "op"));
    const char *id = json_string_value(json_object_get(op, "id"));
    const char *at = json_string_value(json_object_get(op, "at"));
    if (!kind || !is_id(id) || !at || !crm_is_timestamp(at))
        abort();
    if (strncmp(kind, "lead_", 5) == 0) {
        check_lead_op(kind, op);
        return;
    }
    if (strcmp(kind, "delete") == 0)
        return;
    if (strcmp(kind, "apply") != 0)
        abort();
    const json_t *amount = json_object_get(check_patch(op, &crm_deals, "stage"), "amount_cents");
    if (amount && !json_is_null(amount) && !json_is_integer(amount))
        abort();
    const json_t *sat = json_object_get(op, "stage_at");
    if (sat && !json_is_null(sat) && (!json_is_string(sat) || !crm_is_timestamp(json_string_value(sat))))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const sources[] = {"hubspot", "pipedrive", "standard"};
    json_t *stage_map =
        json_pack("{s:s, s:s, s:s}", "1", "discovery", "appointmentscheduled", "proposal", "closedwon", "closed_won");
    json_t *field_map = json_pack("{s:s, s:s}", "hs_priority", "custom.priority", "region", "segment");
    whadapt_endpoint ep = {.source = sources[data[0] % 3],
                           .stage_map = (data[0] & 4) ? stage_map : NULL,
                           .field_map = (data[0] & 8) ? field_map : NULL};
    char msg[256] = "";
    json_t *events = whadapt_split(ep.source, (const char *)data + 1, size - 1, msg, sizeof msg);
    if (!events) {
        if (!msg[0])
            abort(); /* a refusal says why */
    } else {
        if (!json_is_array(events) || json_array_size(events) > WHADAPT_MAX_EVENTS)
            abort();
        size_t i;
        json_t *p;
        json_array_foreach(events, i, p)
        {
            json_t *ev = whadapt_event(&ep, p, (data[0] & 16) ? "msg_fuzz" : NULL);
            if (!ev || !json_is_string(json_object_get(ev, "dedupe_key")))
                abort();
            const json_t *ops = json_object_get(ev, "ops");
            if (!json_is_array(ops))
                abort();
            if (json_object_get(ev, "error") && json_array_size(ops) > 0)
                abort();
            size_t k;
            json_t *op;
            json_array_foreach(ops, k, op) check_op(op);
            char *s = json_dumps(ev, JSON_COMPACT);
            if (!s)
                abort();
            free(s);
            json_decref(ev);
        }
        json_decref(events);
    }
    json_decref(stage_map);
    json_decref(field_map);
    return 0;
}

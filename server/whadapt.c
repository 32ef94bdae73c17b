/* whadapt.c - provider webhook payloads into canonical deal changes (see
 * whadapt.h). Each adapter fills an object of API field names from the
 * provider's fields, then crm_check turns it into the same patch a PUT
 * would write; amounts go straight to cents so no value passes through a
 * double. */
#include "whadapt.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "caldate.h"
#include "crm.h"
#include "leadcheck.h"
#include "money.h"

int whadapt_source_ok(const char *s)
{
    return s && (strcmp(s, "hubspot") == 0 || strcmp(s, "pipedrive") == 0 || strcmp(s, "standard") == 0);
}

json_t *whadapt_split(const char *source, const char *body, size_t len, char *msg, size_t msglen)
{
    json_error_t jerr;
    json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        snprintf(msg, msglen, "the body is not JSON (line %d, column %d: %s)", jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (strcmp(source, "hubspot") == 0) {
        if (!json_is_array(j) || json_array_size(j) == 0 || json_array_size(j) > WHADAPT_MAX_EVENTS) {
            snprintf(msg, msglen, "a HubSpot body is a JSON array of 1 to %d events", WHADAPT_MAX_EVENTS);
            json_decref(j);
            return NULL;
        }
        return j;
    }
    if (!json_is_object(j)) {
        snprintf(msg, msglen, "a %s body is one JSON object", source);
        json_decref(j);
        return NULL;
    }
    return json_pack("[o]", j);
}

/* ---- value conversion ---------------------------------------------------- */

/* Ids arrive as strings or numbers; Pipedrive v1 sometimes as {id|value}. */
static bool id_of(const json_t *v, char *out, size_t len)
{
    if (json_is_object(v))
        v = json_object_get(v, "value") ? json_object_get(v, "value") : json_object_get(v, "id");
    if (json_is_string(v) && json_string_length(v) > 0 && json_string_length(v) <= 200)
        snprintf(out, len, "%s", json_string_value(v));
    else if (json_is_integer(v) && json_integer_value(v) >= 0)
        snprintf(out, len, "%lld", (long long)json_integer_value(v));
    else
        return false;
    return true;
}

static bool all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Epoch (seconds, or ms when large) into RFC 3339 UTC with milliseconds. */
static bool epoch_ts(long long v, char *out, size_t len)
{
    /* Checked before scaling: a huge negative seconds value would overflow
     * the multiplication (found by fuzz_whadapt). */
    if (v < 0)
        return false;
    long long ms = v > 100000000000LL ? v : v * 1000;
    if (ms > 253402300799999LL)
        return false;
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&s, &tm))
        return false;
    snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(ms % 1000));
    return true;
}

/* A timestamp: RFC 3339, "YYYY-MM-DD HH:MM:SS" (UTC, Pipedrive v1), or an
 * epoch number or digit string. */
static bool ts_of(const json_t *v, char *out, size_t len)
{
    if (json_is_integer(v))
        return epoch_ts(json_integer_value(v), out, len);
    if (!json_is_string(v) || json_string_length(v) > 64)
        return false;
    const char *s = json_string_value(v);
    if (all_digits(s) && strlen(s) <= 15)
        return epoch_ts(atoll(s), out, len);
    if (crm_is_timestamp(s)) {
        snprintf(out, len, "%s", s);
        return true;
    }
    if (strlen(s) == 19 && s[10] == ' ') {
        char t[32];
        snprintf(t, sizeof t, "%.10sT%sZ", s, s + 11);
        if (crm_is_timestamp(t)) {
            snprintf(out, len, "%s", t);
            return true;
        }
    }
    return false;
}

/* A date: YYYY-MM-DD, a timestamp (its UTC day as written), or an epoch. */
static bool date_of(const json_t *v, char *out, size_t len)
{
    char ts[64];
    caldate_t d;
    if (json_is_string(v) && json_string_length(v) == 10 && caldate_parse(json_string_value(v), &d)) {
        snprintf(out, len, "%s", json_string_value(v));
        return true;
    }
    if (!ts_of(v, ts, sizeof ts))
        return false;
    ts[10] = '\0';
    if (!caldate_parse(ts, &d))
        return false;
    snprintf(out, len, "%s", ts);
    return true;
}

/* An amount from a number or a numeric string, exactly, into cents. */
static bool cents_of(const json_t *v, long long *out)
{
    money_t c = 0;
    bool ok = false;
    if (json_is_string(v))
        ok = money_parse(json_string_value(v), &c);
    else if (json_is_integer(v))
        ok = money_from_double((double)json_integer_value(v), &c);
    else if (json_is_real(v))
        ok = money_from_double(json_real_value(v), &c);
    if (!ok || c < 0)
        return false;
    *out = c;
    return true;
}

/* ---- building one event -------------------------------------------------- */

typedef struct {
    const whadapt_endpoint *ep;
    json_t *fields; /* API field names -> values, checked by crm_check */
    bool has_amount;
    long long cents; /* -1: cleared */
    char error[300];
    char note[200];
    char stage_at[64]; /* when the stage was entered, when the payload says (Pipedrive's close times) */
} build;

static void fail(build *b, const char *fmt, const char *a, const char *c)
{
    if (!b->error[0])
        snprintf(b->error, sizeof b->error, fmt, a, c);
}

/* Where a provider field goes: the endpoint's field_map first, else dflt. */
static const char *target(const build *b, const char *provider_name, const char *dflt)
{
    const char *m = json_string_value(json_object_get(b->ep->field_map, provider_name));
    return m ? m : dflt;
}

/* Set field (or custom.KEY) to v, stealing the reference. */
static void put(build *b, const char *field, json_t *v)
{
    if (strncmp(field, "custom.", 7) == 0 && field[7]) {
        json_t *custom = json_object_get(b->fields, "custom");
        if (!custom) {
            custom = json_object();
            json_object_set_new(b->fields, "custom", custom);
        }
        json_object_set_new(custom, field + 7, v);
    } else {
        json_object_set_new(b->fields, field, v);
    }
}

/* Convert a provider value for an API field by the field's type. */
static void put_typed(build *b, const char *field, const json_t *v, const char *provider_name)
{
    char buf[64];
    const crm_field *f = strncmp(field, "custom.", 7) == 0 ? NULL : crm_field_named(&crm_deals, field);
    if (strncmp(field, "custom.", 7) != 0 && !f) {
        fail(b, "field_map sends '%s' to '%s', which is not a deal field", provider_name, field);
        return;
    }
    bool empty = json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
    if (!f) {
        put(b, field, json_deep_copy(v));
        return;
    }
    if (empty) {
        if (f->type == CRM_MONEY) {
            b->has_amount = true;
            b->cents = -1;
        } else if (!f->required) {
            put(b, field, json_null());
        }
        return;
    }
    switch (f->type) {
    case CRM_MONEY:
        if (!cents_of(v, &b->cents))
            fail(b, "%s: '%s' is not an amount", provider_name, json_is_string(v) ? json_string_value(v) : "?");
        b->has_amount = true;
        return;
    case CRM_TS:
        if (ts_of(v, buf, sizeof buf))
            put(b, field, json_string(buf));
        else
            fail(b, "%s: not a timestamp%s", provider_name, "");
        return;
    case CRM_DATE:
        if (date_of(v, buf, sizeof buf))
            put(b, field, json_string(buf));
        else
            fail(b, "%s: not a date%s", provider_name, "");
        return;
    case CRM_PROB: {
        /* a number, or a numeric string (HubSpot sends every value as one) */
        double p = -1;
        char *end = NULL;
        if (json_is_number(v))
            p = json_number_value(v);
        else if (json_is_string(v) && (p = strtod(json_string_value(v), &end), *end != '\0'))
            p = -1;
        if (p < 0 || p > 1)
            fail(b, "%s: '%s' is not a probability from 0 to 1", provider_name,
                 json_is_string(v) ? json_string_value(v) : "?");
        else
            put(b, field, json_real(p));
        return;
    }
    case CRM_TEXT:
        if (id_of(v, buf, sizeof buf) && !json_is_string(v))
            put(b, field, json_string(buf)); /* numeric ids (owners, pipelines) as text */
        else
            put(b, field, json_deep_copy(v));
        return;
    default:
        put(b, field, json_deep_copy(v));
    }
}

/* A provider stage through the endpoint's stage_map; HubSpot's closedwon and
 * closedlost and (Standard Webhooks) funnel keys map to themselves. */
static void put_stage(build *b, const json_t *v, const char *provider_name)
{
    char raw[201];
    if (!id_of(v, raw, sizeof raw)) {
        fail(b, "%s: not a stage id%s", provider_name, "");
        return;
    }
    const char *key = json_string_value(json_object_get(b->ep->stage_map, raw));
    if (!key && strcmp(b->ep->source, "hubspot") == 0)
        key = strcmp(raw, "closedwon") == 0 ? "closed_won" : strcmp(raw, "closedlost") == 0 ? "closed_lost" : NULL;
    if (!key && strcmp(b->ep->source, "standard") == 0)
        key = raw;
    if (!key) {
        fail(b, "stage '%s' has no entry in the endpoint's stage_map (%s)", raw, provider_name);
        return;
    }
    put(b, "stage", json_string(key));
}

/* The event's op from the fields gathered, or b->error. */
static json_t *apply_op(build *b, const char *id, const char *at, const char *stage_at)
{
    app_err e = {0};
    json_t *patch = crm_check(&crm_deals, b->fields, false, NULL, &e);
    if (!patch) {
        char m[300];
        snprintf(m, sizeof m, "%.100s %.190s", e.nfields ? e.fields[0].field : "",
                 e.nfields ? e.fields[0].message : e.detail);
        fail(b, "%s%s", m, "");
        return NULL;
    }
    if (b->has_amount)
        json_object_set_new(patch, "amount_cents", b->cents < 0 ? json_null() : json_integer(b->cents));
    json_t *op = json_pack("{s:s, s:s, s:o, s:s, s:s}", "op", "apply", "id", id, "patch", patch, "at", at, "origin",
                           b->ep->source);
    if (stage_at)
        json_object_set_new(op, "stage_at", json_string(stage_at));
    return op;
}

static json_t *delete_op(const build *b, const char *id, const char *at)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "op", "delete", "id", id, "at", at, "origin", b->ep->source);
}

/* ---- HubSpot -------------------------------------------------------------- */

/* Default mapping of HubSpot deal properties (WEBHOOKS.md). */
static const struct {
    const char *property, *field;
} hubspot_props[] = {
    {"dealname", "name"},
    {"amount", "amount"},
    {"closedate", "expected_close_date"},
    {"createdate", "created_at"},
    {"pipeline", "pipeline"},
    {"hubspot_owner_id", "owner"},
    {"hs_deal_stage_probability", "probability"},
    {"hs_manual_forecast_category", "forecast_category"},
    {"deal_currency_code", "currency"},
    {"closed_lost_reason", "lost_reason"},
    {"notes_last_updated", "last_activity_at"},
    {"dealtype", "source"},
};

static const char *hubspot_category(const char *v)
{
    static const char *const map[][2] = {{"OMIT", "omitted"},
                                         {"PIPELINE", "pipeline"},
                                         {"BEST_CASE", "best_case"},
                                         {"COMMIT", "commit"},
                                         {"CLOSED", "closed"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcasecmp(v, map[i][0]) == 0)
            return map[i][1];
    return v;
}

static void hubspot_property(build *b, const char *name, const json_t *value)
{
    if (strcmp(name, "dealstage") == 0 && !json_object_get(b->ep->field_map, name)) {
        put_stage(b, value, name);
        return;
    }
    const char *dflt = NULL;
    for (size_t i = 0; i < sizeof hubspot_props / sizeof hubspot_props[0]; i++)
        if (strcmp(hubspot_props[i].property, name) == 0)
            dflt = hubspot_props[i].field;
    const char *field = target(b, name, dflt);
    if (!field) {
        fail(b, "property '%s' is not mapped (add it to the endpoint's field_map)%s", name, "");
        return;
    }
    if (strcmp(field, "forecast_category") == 0 && json_is_string(value)) {
        json_t *c = json_string(hubspot_category(json_string_value(value)));
        put_typed(b, field, c, name);
        json_decref(c);
        return;
    }
    put_typed(b, field, value, name);
}

/* ---- HubSpot contacts: leads (issue 19) ----------------------------------- */

/* Default mapping of HubSpot contact properties to lead fields. HubSpot
 * changes dozens of analytics properties on every visit: a contact property
 * that is neither here nor in the endpoint's field_map is ignored (with a
 * note), not an error as for deals, or every contact's events would fail. */
static const struct {
    const char *property, *field;
} hubspot_contact_props[] = {
    {"email", "email"},
    {"company", "company"},
    {"jobtitle", "title"},
    {"hs_seniority", "seniority"},
    {"hs_persona", "persona"},
    {"industry", "industry"},
    {"numemployees", "company_size"},
    {"country", "geography"},
    {"hs_analytics_source", "original_source"},
    {"hs_latest_source", "latest_source"},
    {"hubspot_owner_id", "owner"},
    {"associatedcompanyid", "account"},
    {"lifecyclestage", "lifecycle_stage"},
    {"createdate", "created_at"},
    {"firstname", "custom.firstname"},
    {"lastname", "custom.lastname"},
};

/* HubSpot's default lifecycle stages (the property's internal values) and the
 * seed's funnel stages they are (seed 001 phase 3). HubSpot has no SAL: its
 * "lead" is identified, not accepted. Custom stages go through stage_map. */
static const char *hubspot_lifecycle(const char *v)
{
    static const char *const map[][2] = {{"subscriber", "known"},           {"lead", "known"},
                                         {"marketingqualifiedlead", "mql"}, {"salesqualifiedlead", "sql"},
                                         {"opportunity", "opportunity"},    {"customer", "closed_won"},
                                         {"evangelist", "closed_won"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(v, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

/* numemployees: a number, or one of HubSpot's older ranges ("25-50",
 * "1000+"): a range counts as its lower bound, the size the company is known
 * to have at least. */
static bool company_size_of(const char *s, long long *out)
{
    char *end = NULL;
    if (!s || *s < '0' || *s > '9')
        return false;
    long long n = strtoll(s, &end, 10);
    if (*end != '\0' && *end != '-' && strcmp(end, "+") != 0)
        return false;
    if (*end == '-') {
        char *e2 = NULL;
        long long hi = strtoll(end + 1, &e2, 10);
        if (end[1] < '0' || end[1] > '9' || *e2 != '\0' || hi < n)
            return false;
    }
    *out = n;
    return true;
}

static void contact_property(build *b, const char *name, const json_t *value)
{
    const char *dflt = NULL;
    for (size_t i = 0; i < sizeof hubspot_contact_props / sizeof hubspot_contact_props[0]; i++)
        if (strcmp(hubspot_contact_props[i].property, name) == 0)
            dflt = hubspot_contact_props[i].field;
    const char *field = target(b, name, dflt);
    if (!field) {
        snprintf(b->note, sizeof b->note, "ignored: contact property '%.100s' is not kept (map it in field_map)", name);
        return;
    }
    bool empty = json_is_null(value) || (json_is_string(value) && json_string_length(value) == 0);
    const char *sv = json_string_value(value);
    char buf[201];
    if (empty) {
        put(b, field, json_null());
    } else if (strcmp(field, "lifecycle_stage") == 0) {
        if (!id_of(value, buf, sizeof buf)) {
            fail(b, "%s: not a lifecycle stage%s", name, "");
            return;
        }
        const char *key = json_string_value(json_object_get(b->ep->stage_map, buf));
        if (!key)
            key = hubspot_lifecycle(buf);
        if (!key)
            fail(b, "lifecycle stage '%s' has no entry in the endpoint's stage_map (%s)", buf, name);
        else
            put(b, field, json_string(key));
    } else if (strcmp(field, "created_at") == 0) {
        if (ts_of(value, buf, sizeof buf))
            put(b, field, json_string(buf));
        else
            fail(b, "%s: not a timestamp%s", name, "");
    } else if (strcmp(field, "company_size") == 0) {
        long long n = 0;
        if (json_is_integer(value))
            n = json_integer_value(value);
        else if (!company_size_of(sv, &n))
            fail(b, "%s: '%s' is not a number of employees", name, sv ? sv : "?");
        put(b, field, json_integer(n));
    } else if (strcmp(field, "original_source") == 0 || strcmp(field, "latest_source") == 0) {
        /* HubSpot's source enums (ORGANIC_SEARCH, PAID_SOCIAL ...) in the
         * engine's lower-case keys */
        if (!sv || json_string_length(value) >= sizeof buf) {
            fail(b, "%s: not a source%s", name, "");
            return;
        }
        size_t i = 0;
        for (; sv[i]; i++)
            buf[i] = (char)((sv[i] >= 'A' && sv[i] <= 'Z') ? sv[i] - 'A' + 'a' : sv[i]);
        buf[i] = '\0';
        put(b, field, json_string(buf));
    } else if (!json_is_string(value) && id_of(value, buf, sizeof buf)) {
        put(b, field, json_string(buf)); /* numeric ids (owners, companies) as text */
    } else {
        put(b, field, json_deep_copy(value));
    }
}

/* The lead op of the fields gathered, checked as PUT /v1/leads/{id} checks. */
static json_t *lead_op(build *b, const char *id, const char *at)
{
    static const char *const none[] = {NULL};
    app_err e = {0};
    json_t *patch = lead_check(b->fields, none, &e);
    if (!patch) {
        fail(b, "%.100s %.190s", e.nfields ? e.fields[0].field : "", e.nfields ? e.fields[0].message : e.detail);
        return NULL;
    }
    return json_pack("{s:s, s:s, s:o, s:s, s:s}", "op", "lead_apply", "id", id, "patch", patch, "at", at, "origin",
                     b->ep->source);
}

static json_t *lead_delete_op(const build *b, const char *id, const char *at)
{
    return json_pack("{s:s, s:s, s:s, s:s}", "op", "lead_delete", "id", id, "at", at, "origin", b->ep->source);
}

/* A contact linked to (or unlinked from) a deal: leads.deals, the link the
 * lead funnel and attribution follow. */
static json_t *lead_link_op(const build *b, const char *lead, const char *deal, const json_t *removed, const char *at)
{
    return json_pack("{s:s, s:s, s:s, s:b, s:s, s:s}", "op", "lead_link", "id", lead, "deal", deal, "remove",
                     json_is_true(removed), "at", at, "origin", b->ep->source);
}

static void hubspot_contact(build *b, const json_t *p, const char *type, const char *kind, char *id, const char *at,
                            json_t *ops)
{
    json_t *op = NULL;
    if (strcmp(kind, "propertyChange") == 0) {
        const char *name = json_string_value(json_object_get(p, "propertyName"));
        if (!name) {
            fail(b, "a propertyChange event needs propertyName%s%s", "", "");
            return;
        }
        contact_property(b, name, json_object_get(p, "propertyValue"));
        if (b->error[0] || json_object_size(b->fields) == 0)
            return;
        op = lead_op(b, id, at);
    } else if (strcmp(kind, "creation") == 0 || strcmp(kind, "restore") == 0) {
        op = lead_op(b, id, at); /* the lead exists (again) from the event's time */
    } else if (strcmp(kind, "deletion") == 0 || strcmp(kind, "privacyDeletion") == 0) {
        op = lead_delete_op(b, id, at);
    } else if (strcmp(kind, "merge") == 0) {
        size_t i;
        const json_t *m;
        json_array_foreach(json_object_get(p, "mergedObjectIds"), i, m)
        {
            char mid[201];
            if (id_of(m, mid, sizeof mid) && strcmp(mid, id) != 0)
                json_array_append_new(ops, lead_delete_op(b, mid, at));
        }
    } else if (strcmp(kind, "associationChange") == 0) {
        const char *atype = json_string_value(json_object_get(p, "associationType"));
        char company[201], from[201];
        if (atype && strcmp(atype, "CONTACT_TO_DEAL") == 0 &&
            id_of(json_object_get(p, "toObjectId"), company, sizeof company)) {
            if (id_of(json_object_get(p, "fromObjectId"), from, sizeof from))
                snprintf(id, 201, "%s", from);
            json_array_append_new(ops, lead_link_op(b, id, company, json_object_get(p, "associationRemoved"), at));
            return;
        }
        if (!atype || strcmp(atype, "CONTACT_TO_COMPANY") != 0 ||
            !id_of(json_object_get(p, "toObjectId"), company, sizeof company)) {
            snprintf(b->note, sizeof b->note,
                     "ignored: only CONTACT_TO_COMPANY and CONTACT_TO_DEAL associations are kept for contacts");
            return;
        }
        if (id_of(json_object_get(p, "fromObjectId"), from, sizeof from))
            snprintf(id, 201, "%s", from);
        put(b, "account", json_is_true(json_object_get(p, "associationRemoved")) ? json_null() : json_string(company));
        op = lead_op(b, id, at);
    } else {
        snprintf(b->note, sizeof b->note, "ignored: %.100s changes nothing the engine keeps", type);
    }
    if (op)
        json_array_append_new(ops, op);
}

static void hubspot_event(build *b, const json_t *p, json_t *ev, json_t *ops)
{
    char id[201] = "", at[64] = "";
    const json_t *typev = json_object_get(p, "subscriptionType");
    if (!typev)
        typev = json_object_get(p, "eventType");
    const char *type = json_string_value(typev);
    char key[700];
    char eid[64] = "", sub[64] = "", portal[64] = "";
    (void)id_of(json_object_get(p, "eventId"), eid, sizeof eid);
    (void)id_of(json_object_get(p, "subscriptionId"), sub, sizeof sub);
    (void)id_of(json_object_get(p, "portalId"), portal, sizeof portal);
    bool has_id = id_of(json_object_get(p, "objectId"), id, sizeof id);
    bool has_at = ts_of(json_object_get(p, "occurredAt"), at, sizeof at);
    snprintf(key, sizeof key, "hubspot:%s:%s:%s:%s:%lld", portal, sub, eid, id,
             (long long)json_integer_value(json_object_get(p, "occurredAt")));
    json_object_set_new(ev, "dedupe_key", json_string(key));
    json_object_set_new(ev, "type", json_string(type ? type : ""));
    if (has_id)
        json_object_set_new(ev, "object_id", json_string(id));
    if (has_at)
        json_object_set_new(ev, "occurred_at", json_string(at));
    if (!type || !eid[0] || !has_id || !has_at) {
        fail(b, "a HubSpot event needs subscriptionType, eventId, objectId and occurredAt (ms)%s%s", "", "");
        return;
    }
    /* deal ids are per portal: another portal's deal 5150 is not ours */
    if (b->ep->portal_id && portal[0] && strcmp(portal, b->ep->portal_id) != 0) {
        fail(b, "portal %s is not this endpoint's portal (%s): give each portal its own endpoint", portal,
             b->ep->portal_id);
        return;
    }
    const char *dot = strchr(type, '.');
    const char *kind = dot ? dot + 1 : type;
    const char *otype = json_string_value(json_object_get(p, "objectTypeId"));
    bool generic = strncmp(type, "object.", 7) == 0;
    /* contacts (objectTypeId 0-1) are leads; a contact 5150 and a deal 5150
     * are two objects: their ops name which (lead_apply, lead_delete) */
    if (generic ? (otype && strcmp(otype, "0-1") == 0) : strncmp(type, "contact.", 8) == 0) {
        hubspot_contact(b, p, type, kind, id, at, ops);
        return;
    }
    if (generic ? (!otype || strcmp(otype, "0-3") != 0) : strncmp(type, "deal.", 5) != 0) {
        snprintf(b->note, sizeof b->note, "ignored: %s is not a deal or contact event", type);
        return;
    }
    if (strcmp(kind, "propertyChange") == 0) {
        const char *name = json_string_value(json_object_get(p, "propertyName"));
        if (!name) {
            fail(b, "a propertyChange event needs propertyName%s%s", "", "");
            return;
        }
        hubspot_property(b, name, json_object_get(p, "propertyValue"));
        json_t *op = b->error[0] ? NULL : apply_op(b, id, at, NULL);
        if (op)
            json_array_append_new(ops, op);
    } else if (strcmp(kind, "creation") == 0 || strcmp(kind, "restore") == 0) {
        json_t *op = apply_op(b, id, at, NULL);
        if (op)
            json_array_append_new(ops, op);
    } else if (strcmp(kind, "deletion") == 0) {
        json_array_append_new(ops, delete_op(b, id, at));
    } else if (strcmp(kind, "merge") == 0) {
        size_t i;
        const json_t *m;
        json_array_foreach(json_object_get(p, "mergedObjectIds"), i, m)
        {
            char mid[201];
            if (id_of(m, mid, sizeof mid) && strcmp(mid, id) != 0)
                json_array_append_new(ops, delete_op(b, mid, at));
        }
    } else if (strcmp(kind, "associationChange") == 0) {
        const char *atype = json_string_value(json_object_get(p, "associationType"));
        char company[201];
        char contact[201], deal[201];
        if (atype && strcmp(atype, "DEAL_TO_CONTACT") == 0 &&
            id_of(json_object_get(p, "toObjectId"), contact, sizeof contact)) {
            /* the deal's side of a contact link: the lead's deals (the contact's side,
             * CONTACT_TO_DEAL, says the same; applying both changes nothing twice) */
            if (!id_of(json_object_get(p, "fromObjectId"), deal, sizeof deal))
                snprintf(deal, sizeof deal, "%s", id);
            json_array_append_new(ops, lead_link_op(b, contact, deal, json_object_get(p, "associationRemoved"), at));
            return;
        }
        if (!atype || strcmp(atype, "DEAL_TO_COMPANY") != 0 ||
            !id_of(json_object_get(p, "toObjectId"), company, sizeof company)) {
            snprintf(b->note, sizeof b->note,
                     "ignored: only DEAL_TO_COMPANY and DEAL_TO_CONTACT associations are kept");
            return;
        }
        char from[201];
        if (id_of(json_object_get(p, "fromObjectId"), from, sizeof from))
            snprintf(id, sizeof id, "%s", from);
        put(b, "account", json_is_true(json_object_get(p, "associationRemoved")) ? json_null() : json_string(company));
        json_t *op = apply_op(b, id, at, NULL);
        if (op)
            json_array_append_new(ops, op);
    } else {
        snprintf(b->note, sizeof b->note, "ignored: %.100s changes nothing the engine keeps", type);
    }
}

/* ---- Pipedrive ------------------------------------------------------------ */

static void pipedrive_deal(build *b, const json_t *d, bool v1)
{
    static const struct {
        const char *name, *field;
    } plain[] = {{"title", "name"},
                 {"value", "amount"},
                 {"currency", "currency"},
                 {"pipeline_id", "pipeline"},
                 {"expected_close_date", "expected_close_date"},
                 {"add_time", "created_at"},
                 {"lost_reason", "lost_reason"},
                 {"org_id", "account"}};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        const json_t *v = json_object_get(d, plain[i].name);
        if (v)
            put_typed(b, target(b, plain[i].name, plain[i].field), v, plain[i].name);
    }
    const json_t *owner = json_object_get(d, v1 ? "user_id" : "owner_id");
    if (!owner)
        owner = json_object_get(d, v1 ? "owner_id" : "user_id");
    if (owner)
        put_typed(b, target(b, v1 ? "user_id" : "owner_id", "owner"), owner, "owner_id");
    const json_t *status = json_object_get(d, "status");
    const char *st = json_string_value(status);
    if (st && (strcmp(st, "open") == 0 || strcmp(st, "won") == 0 || strcmp(st, "lost") == 0)) {
        put(b, "status", json_string(st));
        const json_t *when = json_object_get(d, strcmp(st, "won") == 0 ? "won_time" : "lost_time");
        if (strcmp(st, "open") != 0 && when && !json_is_null(when))
            put_typed(b, "closed_at", when, strcmp(st, "won") == 0 ? "won_time" : "lost_time");
    }
    const json_t *prob = json_object_get(d, "probability");
    if (json_is_number(prob)) {
        json_t *p = json_real(json_number_value(prob) / 100.0);
        put_typed(b, target(b, "probability", "probability"), p, "probability");
        json_decref(p);
    }
    const json_t *stage = json_object_get(d, "stage_id");
    /* A won or lost deal keeps the stage_id of the open stage it was in: the
     * funnel's closed stage is what it is in now, entered when it closed, so
     * its stage history closes (a reopened deal comes back as open with its
     * stage_id). */
    if (st && (strcmp(st, "won") == 0 || strcmp(st, "lost") == 0)) {
        put(b, "stage", json_string(strcmp(st, "won") == 0 ? "closed_won" : "closed_lost"));
        const json_t *when = json_object_get(d, strcmp(st, "won") == 0 ? "won_time" : "lost_time");
        char t[64];
        if (when && !json_is_null(when) && ts_of(when, t, sizeof t))
            snprintf(b->stage_at, sizeof b->stage_at, "%s", t);
    } else if (stage && !json_is_null(stage)) {
        put_stage(b, stage, "stage_id");
    }
    /* every other field the endpoint maps explicitly */
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)b->ep->field_map, k, v)
    {
        const json_t *pv = json_object_get(d, k);
        bool known = strcmp(k, "owner_id") == 0 || strcmp(k, "user_id") == 0 || strcmp(k, "probability") == 0;
        for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
            known = known || strcmp(k, plain[i].name) == 0;
        if (pv && !known && json_is_string(v))
            put_typed(b, json_string_value(v), pv, k);
    }
}

static void pipedrive_event(build *b, const json_t *p, json_t *ev, json_t *ops)
{
    const json_t *meta = json_object_get(p, "meta");
    bool v1 = json_integer_value(json_object_get(p, "v")) == 1 || json_object_get(p, "current") != NULL;
    const char *action = json_string_value(json_object_get(meta, "action"));
    const char *entity = json_string_value(json_object_get(meta, v1 ? "object" : "entity"));
    const json_t *data = json_object_get(p, v1 ? "current" : "data");
    char id[201] = "", at[64] = "", key[500], evid[201] = "";
    bool has_id = id_of(json_object_get(meta, v1 ? "id" : "entity_id"), id, sizeof id) ||
                  id_of(json_object_get(data, "id"), id, sizeof id) ||
                  id_of(json_object_get(json_object_get(p, "previous"), "id"), id, sizeof id);
    bool has_at = ts_of(json_object_get(meta, "timestamp"), at, sizeof at);
    if (v1) {
        char hook[201] = "", micro[64] = "";
        (void)id_of(json_object_get(meta, "webhook_id"), hook, sizeof hook);
        (void)id_of(json_object_get(meta, "timestamp_micro"), micro, sizeof micro);
        snprintf(key, sizeof key, "pipedrive1:%s:%s:%s:%s", hook, id, action ? action : "", micro[0] ? micro : at);
    } else {
        (void)id_of(json_object_get(meta, "id"), evid, sizeof evid);
        snprintf(key, sizeof key, "pipedrive:%s", evid);
    }
    json_object_set_new(ev, "dedupe_key", json_string(key));
    char type[100];
    snprintf(type, sizeof type, "%.40s.%.40s", entity ? entity : "?", action ? action : "?");
    json_object_set_new(ev, "type", json_string(type));
    if (has_id)
        json_object_set_new(ev, "object_id", json_string(id));
    if (has_at)
        json_object_set_new(ev, "occurred_at", json_string(at));
    if (!json_is_object(meta) || !action || !entity || !has_id || !has_at || (!v1 && !evid[0])) {
        fail(b, "a Pipedrive event needs meta.action, meta.%s, an id, meta.timestamp%s", v1 ? "object" : "entity",
             v1 ? "" : " and meta.id");
        return;
    }
    if (strcmp(entity, "deal") != 0) {
        snprintf(b->note, sizeof b->note, "ignored: %.40s is not a deal", entity);
        return;
    }
    if (strcmp(action, "delete") == 0 || strcmp(action, "deleted") == 0) {
        json_array_append_new(ops, delete_op(b, id, at));
        return;
    }
    if (!json_is_object(data)) {
        fail(b, "a Pipedrive %s event needs the deal in %s", action, v1 ? "current" : "data");
        return;
    }
    pipedrive_deal(b, data, v1);
    char stage_at[64];
    const json_t *sct = json_object_get(data, "stage_change_time");
    bool has_sat = b->stage_at[0] ? (snprintf(stage_at, sizeof stage_at, "%s", b->stage_at), true)
                                  : sct && !json_is_null(sct) && ts_of(sct, stage_at, sizeof stage_at);
    json_t *op = b->error[0] ? NULL : apply_op(b, id, at, has_sat ? stage_at : NULL);
    if (op)
        json_array_append_new(ops, op);
}

/* ---- Standard Webhooks ---------------------------------------------------- */

/* lead.created / lead.updated / lead.deleted / lead.converted: data holds the
 * lead's fields as PUT /v1/leads/{id} takes them (checked by lead_check, as
 * PUT checks them), the ops those of HubSpot contacts, applied under the same
 * event-time rules (sql/74_leads.sql lead_webhook_ops). lifecycle_stage goes
 * through the endpoint's stage_map when it has an entry. lead.converted links
 * data.deal to the lead (lead_link) after applying any other field it
 * carries. Other lead.* types change nothing. */
static void standard_lead(build *b, const char *type, const json_t *data, const char *id, const char *at, json_t *ops)
{
    if (strcmp(type, "lead.deleted") == 0) {
        json_array_append_new(ops, lead_delete_op(b, id, at));
        return;
    }
    bool converted = strcmp(type, "lead.converted") == 0;
    if (!converted && strcmp(type, "lead.created") != 0 && strcmp(type, "lead.updated") != 0) {
        snprintf(b->note, sizeof b->note,
                 "ignored: %.100s is not lead.created, lead.updated, lead.deleted or lead.converted", type);
        return;
    }
    char deal[201] = "";
    if (converted && !id_of(json_object_get(data, "deal"), deal, sizeof deal)) {
        fail(b, "lead.converted needs data.deal, the deal the lead became%s%s", "", "");
        return;
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)data, k, v)
    {
        if (strcmp(k, "external_id") == 0 || strcmp(k, "id") == 0 || (converted && strcmp(k, "deal") == 0))
            continue;
        const char *mapped = strcmp(k, "lifecycle_stage") == 0 && json_is_string(v)
                                 ? json_string_value(json_object_get(b->ep->stage_map, json_string_value(v)))
                                 : NULL;
        json_object_set_new(b->fields, k, mapped ? json_string(mapped) : json_deep_copy(v));
    }
    /* lead.converted with nothing but the deal is a link alone */
    if (!converted || json_object_size(b->fields) > 0) {
        json_t *op = lead_op(b, id, at);
        if (!op)
            return;
        json_array_append_new(ops, op);
    }
    if (converted)
        json_array_append_new(ops, lead_link_op(b, id, deal, NULL, at));
}

static void standard_event(build *b, const json_t *p, const char *header_id, json_t *ev, json_t *ops)
{
    const char *type = json_string_value(json_object_get(p, "type"));
    const json_t *data = json_object_get(p, "data");
    char id[201] = "", at[64] = "", key[300];
    snprintf(key, sizeof key, "standard:%.250s", header_id ? header_id : "");
    json_object_set_new(ev, "dedupe_key", json_string(key));
    json_object_set_new(ev, "type", json_string(type ? type : ""));
    /* the deal's (or lead's) id: data.id (the canonical object's own field,
     * as GET /v1/deals/{id} shows it) or data.external_id (the CRM's name for
     * it); both given must agree */
    char alt[201] = "";
    bool has_ext = id_of(json_object_get(data, "external_id"), id, sizeof id);
    bool has_canon = id_of(json_object_get(data, "id"), alt, sizeof alt);
    if (!has_ext && has_canon)
        snprintf(id, sizeof id, "%s", alt);
    bool has_id = has_ext || has_canon;
    bool has_at = ts_of(json_object_get(p, "timestamp"), at, sizeof at);
    if (has_id)
        json_object_set_new(ev, "object_id", json_string(id));
    if (has_at)
        json_object_set_new(ev, "occurred_at", json_string(at));
    if (!type || !json_is_object(data) || !has_id || !has_at) {
        fail(b, "a Standard Webhooks event needs type, timestamp and data.id (or data.external_id)%s%s", "", "");
        return;
    }
    bool lead = strncmp(type, "lead.", 5) == 0;
    if (has_ext && has_canon && strcmp(id, alt) != 0) {
        fail(b,
             lead ? "data.id '%s' and data.external_id '%s' name different leads"
                  : "data.id '%s' and data.external_id '%s' name different deals",
             alt, id);
        return;
    }
    if (lead) {
        standard_lead(b, type, data, id, at, ops);
        return;
    }
    if (strncmp(type, "deal.", 5) != 0) {
        snprintf(b->note, sizeof b->note, "ignored: %.100s is neither a deal nor a lead event", type);
        return;
    }
    if (strcmp(type, "deal.deleted") == 0) {
        json_array_append_new(ops, delete_op(b, id, at));
        return;
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)data, k, v)
    {
        if (strcmp(k, "external_id") == 0 || strcmp(k, "id") == 0)
            continue;
        if (strcmp(k, "stage") == 0)
            put_stage(b, v, "stage");
        else if (strcmp(k, "amount") == 0)
            put_typed(b, "amount", v, "amount");
        else
            put(b, k, json_deep_copy(v)); /* API field names: crm_check validates them */
    }
    json_t *op = b->error[0] ? NULL : apply_op(b, id, at, NULL);
    if (op)
        json_array_append_new(ops, op);
}

json_t *whadapt_event(const whadapt_endpoint *ep, const json_t *payload, const char *header_id)
{
    build b = {.ep = ep, .fields = json_object()};
    json_t *ops = json_array();
    json_t *ev = json_pack("{s:O, s:o}", "payload", payload, "ops", ops);
    if (!json_is_object(payload)) {
        char key[80];
        snprintf(key, sizeof key, "%s:invalid:%zu", ep->source, json_array_size(ops));
        json_object_set_new(ev, "dedupe_key", json_string(key));
        json_object_set_new(ev, "type", json_string(""));
        fail(&b, "an event is a JSON object%s%s", "", "");
    } else if (strcmp(ep->source, "hubspot") == 0) {
        hubspot_event(&b, payload, ev, ops);
    } else if (strcmp(ep->source, "pipedrive") == 0) {
        pipedrive_event(&b, payload, ev, ops);
    } else {
        standard_event(&b, payload, header_id, ev, ops);
    }
    /* an event from the future would make every later change look stale */
    const char *at = json_string_value(json_object_get(ev, "occurred_at"));
    if (!b.error[0] && at && (!crm_is_timestamp(at) || crm_timestamp_too_late(at)))
        fail(&b, "the event time %s is in the future (more than 5 minutes ahead of this server's clock)%s", at, "");
    if (b.error[0]) {
        json_array_clear(ops);
        json_object_set_new(ev, "error", json_string(b.error));
    } else if (b.note[0]) {
        json_object_set_new(ev, "note", json_string(b.note));
    }
    json_decref(b.fields);
    return ev;
}

/* test_leads2.c - the top of the funnel, second part (issue 19): HubSpot
 * contact.* webhook events as leads (event-time merge, exactly once, routed
 * when they become MQL), signed here with HubSpot's v3 algorithm, and
 * Standard Webhooks lead.* events the same way, signed as that scheme signs. */
#include <libpq-fe.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "api.h"

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static long long num(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static long long epoch_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (long long)t.tv_sec * 1000LL + (long long)(t.tv_nsec / 1000000L);
}

#define CONTACT_SECRET "contact-app-secret-7"
#define CONTACT_PUBLIC "https://hooks.revops.example"

/* HubSpot v3 (developers.hubspot.com, "Validate requests"): base64 of
 * HMAC-SHA256(client secret, method + public URI + raw body + timestamp ms),
 * fed to the MAC piece by piece as the sender concatenates them. */
static void v3_signature(const char *secret, const char *method, const char *uri, const char *body, const char *ts,
                         char out[64])
{
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    ck_assert_int_eq(EVP_MAC_init(ctx, (const unsigned char *)secret, strlen(secret), params), 1);
    const char *parts[] = {method, uri, body, ts};
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(EVP_MAC_update(ctx, (const unsigned char *)parts[i], strlen(parts[i])), 1);
    unsigned char md[32];
    size_t n = 0;
    ck_assert_int_eq(EVP_MAC_final(ctx, md, &n, sizeof md), 1);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    ck_assert_int_eq(EVP_EncodeBlock((unsigned char *)out, md, (int)n), 44);
}

/* Deliver body to endpoint ep, signed over signed_body with secret. */
static api_resp *deliver_signed(const char *ep, const char *body, const char *signed_body, const char *secret)
{
    char path[96], uri[160], ts[24], sig[64], h_sig[96], h_ts[64];
    snprintf(path, sizeof path, "/v1/hooks/%s", ep);
    snprintf(uri, sizeof uri, "%s%s", CONTACT_PUBLIC, path);
    snprintf(ts, sizeof ts, "%lld", epoch_ms());
    v3_signature(secret, "POST", uri, signed_body, ts, sig);
    snprintf(h_sig, sizeof h_sig, "X-HubSpot-Signature-v3: %s", sig);
    snprintf(h_ts, sizeof h_ts, "X-HubSpot-Request-Timestamp: %s", ts);
    const char *hdr[] = {h_sig, h_ts, NULL};
    return api_req("POST", path, NULL, "application/json", body, strlen(body), hdr);
}

static api_resp *deliver(const char *ep, const char *body) { return deliver_signed(ep, body, body, CONTACT_SECRET); }

/* A contact event: a property change when prop is set, else kind alone. */
static char *contact_event(char *out, size_t len, long event_id, long object, long long at, const char *kind,
                           const char *prop, const char *value)
{
    int n =
        snprintf(out, len,
                 "{\"eventId\":%ld,\"subscriptionId\":31,\"portalId\":771,\"appId\":5,\"occurredAt\":%lld,"
                 "\"subscriptionType\":\"contact.%s\",\"attemptNumber\":0,\"objectId\":%ld,\"changeSource\":\"CRM\"",
                 event_id, at, kind, object);
    if (prop)
        n += snprintf(out + n, len - (size_t)n, ",\"propertyName\":\"%s\",\"propertyValue\":\"%s\"", prop, value);
    snprintf(out + n, len - (size_t)n, "}");
    return out;
}

static void new_endpoint(const api_ws *ws, const char *mode, char *id, size_t len)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"source\":\"hubspot\",\"apply_mode\":\"%s\",\"secret\":\"" CONTACT_SECRET
             "\",\"public_url\":\"" CONTACT_PUBLIC "\",\"stage_map\":{\"partner_qualified\":\"sal\"}}",
             mode);
    api_resp *r = api_send_json("POST", "/v1/webhook-endpoints", ws->admin, body);
    ck_assert_status(r, 201);
    snprintf(id, len, "%s", str(r->json, "id"));
    api_resp_free(r);
}

static json_t *get_lead(const api_ws *ws, const char *id, int want)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/leads/%s", id);
    api_resp *r = api_get(path, ws->read);
    ck_assert_status(r, want);
    json_t *j = json_incref(r->json);
    api_resp_free(r);
    return j;
}

static long assignments(const api_ws *ws, const char *lead)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/routing/assignments?lead=%s", lead);
    api_resp *r = api_get(path, ws->read);
    ck_assert_status(r, 200);
    long n = (long)json_array_size(json_object_get(r->json, "items"));
    api_resp_free(r);
    return n;
}

START_TEST(hubspot_contacts_become_leads)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    char ep[64];
    new_endpoint(&ws, "sync", ep, sizeof ep);
    long long t0 = epoch_ms() - 10 * 60 * 1000; /* ten minutes ago */
    char e[8][600], body[6000];
    contact_event(e[0], sizeof e[0], 1, 9001, t0, "creation", NULL, NULL);
    contact_event(e[1], sizeof e[1], 2, 9001, t0 + 1000, "propertyChange", "email", "ann@acme.example");
    contact_event(e[2], sizeof e[2], 3, 9001, t0 + 1000, "propertyChange", "company", "Acme");
    contact_event(e[3], sizeof e[3], 4, 9001, t0 + 1000, "propertyChange", "numemployees", "100-500");
    contact_event(e[4], sizeof e[4], 5, 9001, t0 + 1000, "propertyChange", "hs_analytics_source", "PAID_SEARCH");
    contact_event(e[5], sizeof e[5], 6, 9001, t0 + 1000, "propertyChange", "lifecyclestage", "lead");
    contact_event(e[6], sizeof e[6], 7, 9001, t0 + 1000, "propertyChange", "hs_analytics_num_page_views", "14");
    contact_event(e[7], sizeof e[7], 8, 9001, t0 + 1000, "propertyChange", "jobtitle", "VP Marketing");
    snprintf(body, sizeof body, "[%s,%s,%s,%s,%s,%s,%s,%s]", e[0], e[1], e[2], e[3], e[4], e[5], e[6], e[7]);
    char names[1300], fn[600], ln[600];
    contact_event(fn, sizeof fn, 9, 9001, t0 + 1000, "propertyChange", "firstname", "Ann");
    contact_event(ln, sizeof ln, 10, 9001, t0 + 1000, "propertyChange", "lastname", "Lee");
    snprintf(names, sizeof names, ",%s,%s]", fn, ln);
    strcpy(body + strlen(body) - 1, names); /* ten events */

    /* refused with nothing stored: a body changed in transit, another secret */
    char tampered[6000];
    snprintf(tampered, sizeof tampered, "%s", body);
    memcpy(strstr(tampered, "Acme\""), "Acne", 4);
    api_resp *r = deliver_signed(ep, tampered, body, CONTACT_SECRET);
    ck_assert_status(r, 401);
    api_resp_free(r);
    r = deliver_signed(ep, body, body, "not-the-secret");
    ck_assert_status(r, 401);
    api_resp_free(r);
    json_decref(get_lead(&ws, "9001", 404));

    r = deliver(ep, body);
    ck_assert_status(r, 200);
    ck_assert_int_eq(num(json_object_get(r->json, "counts"), "applied"), 10);
    json_t *evs = json_object_get(r->json, "events");
    /* an analytics property the engine does not keep: applied, with why nothing changed */
    ck_assert_ptr_nonnull(strstr(str(json_array_get(evs, 6), "detail"), "hs_analytics_num_page_views"));
    api_resp_free(r);
    json_t *l = get_lead(&ws, "9001", 200);
    ck_assert_str_eq(str(l, "email"), "ann@acme.example");
    ck_assert_str_eq(str(l, "company"), "Acme");
    ck_assert_str_eq(str(l, "title"), "VP Marketing");
    ck_assert_str_eq(str(l, "name"), "Ann Lee"); /* first and last name, one event each */
    ck_assert_str_eq(str(json_object_get(l, "custom"), "firstname"), "Ann");
    ck_assert_int_eq(num(l, "company_size"), 100); /* a range counts as its lower bound */
    ck_assert_str_eq(str(l, "original_source"), "paid_search");
    ck_assert_str_eq(str(l, "lifecycle_stage"), "known"); /* HubSpot's "lead": identified */
    json_t *hist = json_object_get(l, "stage_history");
    ck_assert_int_eq(json_array_size(hist), 1);
    ck_assert_str_eq(str(json_array_get(hist, 0), "origin"), "hubspot");
    json_decref(l);
    /* another workspace's key sees nothing */
    json_decref(get_lead(&other, "9001", 404));

    /* redelivered (HubSpot retries): 2xx, all duplicates, nothing changes */
    r = deliver(ep, body);
    ck_assert_status(r, 200);
    ck_assert_int_eq(num(json_object_get(r->json, "counts"), "duplicate"), 10);
    api_resp_free(r);
    l = get_lead(&ws, "9001", 200);
    ck_assert_int_eq(json_array_size(json_object_get(l, "stage_history")), 1);
    json_decref(l);

    /* out of order: the newer company lands first, the older one is stale */
    char a[600], b2[600];
    contact_event(a, sizeof a, 20, 9001, t0 + 5000, "propertyChange", "company", "Acme Corp");
    contact_event(b2, sizeof b2, 21, 9001, t0 + 4000, "propertyChange", "company", "Acme Old");
    snprintf(body, sizeof body, "[%s]", a);
    r = deliver(ep, body);
    ck_assert_int_eq(num(json_object_get(r->json, "counts"), "applied"), 1);
    api_resp_free(r);
    snprintf(body, sizeof body, "[%s]", b2);
    r = deliver(ep, body);
    ck_assert_int_eq(num(json_object_get(r->json, "counts"), "stale"), 1);
    api_resp_free(r);
    l = get_lead(&ws, "9001", 200);
    ck_assert_str_eq(str(l, "company"), "Acme Corp");
    json_t *fh = json_object_get(l, "field_history");
    bool recorded = false;
    for (size_t i = 0; i < json_array_size(fh); i++) {
        json_t *c = json_array_get(fh, i);
        recorded = recorded || (json_is_false(json_object_get(c, "applied")) &&
                                strcmp(json_string_value(json_object_get(c, "new")), "Acme Old") == 0);
    }
    ck_assert(recorded);
    json_decref(l);

    /* bad values are rejected with the reason; the rest of the delivery applies */
    contact_event(e[0], sizeof e[0], 30, 9001, t0 + 6000, "propertyChange", "lifecyclestage", "galaxybrain");
    contact_event(e[1], sizeof e[1], 31, 9001, t0 + 6000, "propertyChange", "email", "not-an-address");
    contact_event(e[2], sizeof e[2], 32, 9001, t0 + 6000, "propertyChange", "lifecyclestage", "partner_qualified");
    snprintf(body, sizeof body, "[%s,%s,%s]", e[0], e[1], e[2]);
    r = deliver(ep, body);
    ck_assert_status(r, 200);
    evs = json_object_get(r->json, "events");
    ck_assert_str_eq(str(json_array_get(evs, 0), "status"), "rejected");
    ck_assert_ptr_nonnull(strstr(str(json_array_get(evs, 0), "detail"), "galaxybrain"));
    ck_assert_str_eq(str(json_array_get(evs, 1), "status"), "rejected");
    ck_assert_ptr_nonnull(strstr(str(json_array_get(evs, 1), "detail"), "email"));
    ck_assert_str_eq(str(json_array_get(evs, 2), "status"), "applied"); /* through the endpoint's stage_map */
    char rejected[64];
    snprintf(rejected, sizeof rejected, "%s", str(json_array_get(evs, 0), "id"));
    api_resp_free(r);
    l = get_lead(&ws, "9001", 200);
    ck_assert_str_eq(str(l, "lifecycle_stage"), "sal");
    ck_assert_str_eq(str(l, "email"), "ann@acme.example");
    json_decref(l);

    /* deleted at t0+9s; a change from t0+8s arriving later does not bring it back */
    contact_event(a, sizeof a, 40, 9001, t0 + 9000, "deletion", NULL, NULL);
    snprintf(body, sizeof body, "[%s]", a);
    r = deliver(ep, body);
    ck_assert_int_eq(num(json_object_get(r->json, "counts"), "applied"), 1);
    api_resp_free(r);
    json_decref(get_lead(&ws, "9001", 404));
    contact_event(a, sizeof a, 41, 9001, t0 + 8000, "propertyChange", "jobtitle", "CMO");
    snprintf(body, sizeof body, "[%s]", a);
    r = deliver(ep, body);
    ck_assert_int_eq(num(json_object_get(r->json, "counts"), "stale"), 1);
    api_resp_free(r);
    json_decref(get_lead(&ws, "9001", 404));
    /* restored by HubSpot: back, with what it had */
    contact_event(a, sizeof a, 42, 9001, t0 + 10000, "restore", NULL, NULL);
    snprintf(body, sizeof body, "[%s]", a);
    r = deliver(ep, body);
    ck_assert_int_eq(num(json_object_get(r->json, "counts"), "applied"), 1);
    api_resp_free(r);
    l = get_lead(&ws, "9001", 200);
    ck_assert_str_eq(str(l, "title"), "VP Marketing");
    json_decref(l);

    /* the map fixed, the rejected stage event replayed: applied, and the
     * lead it makes MQL is routed once */
    ck_assert_int_eq(assignments(&ws, "9001"), 0);
    char path[160];
    snprintf(path, sizeof path, "/v1/webhook-endpoints/%s", ep);
    r = api_send_json("PATCH", path, ws.admin,
                      "{\"stage_map\":{\"partner_qualified\":\"sal\",\"galaxybrain\":\"mql\"}}");
    ck_assert_status(r, 200);
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/webhook-events/%s/replay", rejected);
    r = api_send_json("POST", path, ws.write, "{}");
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "status"), "applied");
    api_resp_free(r);
    l = get_lead(&ws, "9001", 200);
    ck_assert_str_eq(str(l, "lifecycle_stage"), "mql");
    json_decref(l);
    ck_assert_int_eq(assignments(&ws, "9001"), 1);

    /* associations: the contact's side and the deal's side link the lead to deals */
    snprintf(body, sizeof body,
             "[{\"eventId\":70,\"subscriptionId\":34,\"portalId\":771,\"occurredAt\":%lld,"
             "\"subscriptionType\":\"contact.associationChange\",\"objectId\":9001,\"associationType\":"
             "\"CONTACT_TO_DEAL\",\"fromObjectId\":9001,\"toObjectId\":5150,\"associationRemoved\":false},"
             "{\"eventId\":71,\"subscriptionId\":35,\"portalId\":771,\"occurredAt\":%lld,"
             "\"subscriptionType\":\"deal.associationChange\",\"objectId\":777,\"associationType\":"
             "\"DEAL_TO_CONTACT\",\"fromObjectId\":777,\"toObjectId\":9001,\"associationRemoved\":false}]",
             t0 + 12000, t0 + 12000);
    r = deliver(ep, body);
    ck_assert_int_eq(num(json_object_get(r->json, "counts"), "applied"), 2);
    api_resp_free(r);
    l = get_lead(&ws, "9001", 200);
    ck_assert_int_eq(json_array_size(json_object_get(l, "deals")), 2);
    json_decref(l);
    /* unlinked later; the same unlink redelivered under another event id changes nothing */
    for (int k = 0; k < 2; k++) {
        snprintf(body, sizeof body,
                 "[{\"eventId\":%d,\"subscriptionId\":34,\"portalId\":771,\"occurredAt\":%lld,"
                 "\"subscriptionType\":\"contact.associationChange\",\"objectId\":9001,\"associationType\":"
                 "\"CONTACT_TO_DEAL\",\"fromObjectId\":9001,\"toObjectId\":5150,\"associationRemoved\":true}]",
                 72 + k, t0 + 13000);
        r = deliver(ep, body);
        ck_assert_int_eq(num(json_object_get(r->json, "counts"), "applied"), 1);
        api_resp_free(r);
    }
    l = get_lead(&ws, "9001", 200);
    ck_assert_int_eq(json_array_size(json_object_get(l, "deals")), 1);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(l, "deals"), 0)), "777");
    json_decref(l);

    /* a deal and a contact with the same HubSpot id are two objects */
    snprintf(body, sizeof body,
             "[{\"eventId\":50,\"subscriptionId\":32,\"portalId\":771,\"occurredAt\":%lld,"
             "\"subscriptionType\":\"deal.propertyChange\",\"objectId\":9001,\"propertyName\":\"dealname\","
             "\"propertyValue\":\"Acme deal\"}]",
             t0 + 11000);
    r = deliver(ep, body);
    ck_assert_status(r, 200);
    api_resp_free(r);
    l = get_lead(&ws, "9001", 200);
    ck_assert_str_eq(str(l, "company"), "Acme Corp");
    json_decref(l);
}
END_TEST

/* The async path (the default): the appliers apply contact events once,
 * and a contact that becomes MQL is routed in the same transaction. */
START_TEST(hubspot_contact_mql_routed_once_async)
{
    api_ws ws;
    api_new_workspace(&ws);
    char ep[64];
    new_endpoint(&ws, "async", ep, sizeof ep);
    long long t0 = epoch_ms() - 5 * 60 * 1000;
    char e1[600], e2[600], e3[600], body[2000];
    /* the generic form too: object.propertyChange with objectTypeId 0-1 */
    snprintf(e1, sizeof e1,
             "{\"eventId\":61,\"subscriptionId\":33,\"portalId\":771,\"occurredAt\":%lld,"
             "\"subscriptionType\":\"object.propertyChange\",\"objectTypeId\":\"0-1\",\"objectId\":9100,"
             "\"propertyName\":\"email\",\"propertyValue\":\"bo@beta.example\"}",
             t0);
    contact_event(e2, sizeof e2, 62, 9100, t0 + 1000, "propertyChange", "lifecyclestage", "marketingqualifiedlead");
    contact_event(e3, sizeof e3, 63, 9100, t0 + 1000, "propertyChange", "createdate", "2020-01-01T00:00:00Z");
    snprintf(body, sizeof body, "[%s,%s,%s]", e1, e2, e3);
    api_resp *r = deliver(ep, body);
    ck_assert_status(r, 200);
    ck_assert_int_eq(num(r->json, "accepted"), 3);
    api_resp_free(r);
    json_t *l = NULL;
    for (int i = 0; i < 100; i++) { /* the appliers wake at once; bounded wait */
        char path[64];
        snprintf(path, sizeof path, "/v1/webhook-events?status=pending");
        api_resp *p = api_get(path, ws.read);
        size_t left = json_array_size(json_object_get(p->json, "items"));
        api_resp_free(p);
        if (left == 0)
            break;
        usleep(50 * 1000);
    }
    l = get_lead(&ws, "9100", 200);
    ck_assert_str_eq(str(l, "email"), "bo@beta.example");
    ck_assert_str_eq(str(l, "lifecycle_stage"), "mql");
    ck_assert_str_eq(str(l, "created_at"), "2020-01-01T00:00:00Z");
    json_decref(l);
    ck_assert_int_eq(assignments(&ws, "9100"), 1);
    /* redelivered: duplicates, no second assignment */
    r = deliver(ep, body);
    ck_assert_status(r, 200);
    ck_assert_int_eq(num(r->json, "duplicates"), 3);
    api_resp_free(r);
    usleep(300 * 1000);
    ck_assert_int_eq(assignments(&ws, "9100"), 1);

    /* a full HubSpot batch: 100 new contacts, each made MQL (routed), stored then applied */
    size_t cap = 100 * 600 + 4, n = 0;
    char *big = malloc(cap), ev[600];
    big[n++] = '[';
    for (int i = 0; i < 100; i++) {
        contact_event(ev, sizeof ev, 1000 + i, 20000 + i, t0 + 2000, "propertyChange", "lifecyclestage",
                      "marketingqualifiedlead");
        n += (size_t)snprintf(big + n, cap - n, "%s%s", i ? "," : "", ev);
    }
    snprintf(big + n, cap - n, "]");
    long long s0 = epoch_ms();
    r = deliver(ep, big);
    ck_assert_status(r, 200);
    ck_assert_int_eq(num(r->json, "accepted"), 100);
    api_resp_free(r);
    long long acked = epoch_ms() - s0;
    free(big);
    long left = 1;
    for (int i = 0; i < 200 && left > 0; i++) {
        api_resp *p = api_get("/v1/webhook-events?status=pending", ws.read);
        left = (long)json_array_size(json_object_get(p->json, "items"));
        api_resp_free(p);
        if (left)
            usleep(25 * 1000);
    }
    ck_assert_int_eq(left, 0);
    fprintf(stderr, "leads2: 100 contact events acknowledged in %lld ms, applied and routed %lld ms after sending\n",
            acked, epoch_ms() - s0);
    json_t *last = get_lead(&ws, "20099", 200);
    ck_assert_str_eq(str(last, "lifecycle_stage"), "mql");
    json_decref(last);
    ck_assert_int_eq(assignments(&ws, "20099"), 1);
}
END_TEST

/* ---- POST /v1/imports with object: leads ------------------------------------ */

static api_resp *import_json(const char *key, const char *object, const char *format, const char *data,
                             const char *options)
{
    json_t *req = json_loads(options ? options : "{}", 0, NULL);
    ck_assert_ptr_nonnull(req);
    json_object_set_new(req, "object", json_string(object));
    json_object_set_new(req, "format", json_string(format));
    json_object_set_new(req, "data", json_string(data));
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    api_resp *r = api_send_json("POST", "/v1/imports", key, text);
    free(text);
    return r;
}

static const char *rejection_of(const json_t *report, long row)
{
    json_t *rj = json_object_get(report, "rejections");
    for (size_t i = 0; i < json_array_size(rj); i++)
        if (num(json_array_get(rj, i), "row") == row)
            return str(json_array_get(rj, i), "reason");
    return NULL;
}

START_TEST(import_leads_csv_rows_checked_as_put)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    const char *csv = "lead_id,Email,Company,Stage,Employees,Tier,Source,Deals\n"
                      "L-1,ann@acme.example,Acme,Marketing Qualified,250,A,webinar,D-1;D-2\n"
                      "L-2,bo@beta.example,Beta,Subscriber,40,a,paid_search,\n"
                      "L-3,not-an-email,Gamma,Subscriber,10,B,organic,\n"
                      "L-4,cy@delta.example,Delta,opportunity,1200,C,referral,D-9\n"
                      "L-5,di@eps.example,Epsilon,Zombie,5,D,organic,\n"
                      "L-6,ed@zeta.example,Zeta,Subscriber,many,B,organic,\n"
                      "L-7,fy@eta.example,Eta,Subscriber\n"
                      "L-8,gu@theta.example,Theta,negotiation,5,B,organic,\n";
    const char *opts = "{\"mapping\":{\"lead_id\":\"id\",\"Email\":\"email\",\"Company\":\"company\","
                       "\"Stage\":\"lifecycle_stage\",\"Employees\":\"company_size\",\"Tier\":\"icp_tier\","
                       "\"Source\":\"original_source\",\"Deals\":\"deals\"},"
                       "\"stage_map\":{\"Marketing Qualified\":\"mql\",\"Subscriber\":\"known\"}}";
    /* a read key writes nothing */
    api_resp *r = import_json(ws.read, "leads", "csv", csv, opts);
    ck_assert_status(r, 403);
    api_resp_free(r);
    json_decref(get_lead(&ws, "L-1", 404));

    r = import_json(ws.write, "leads", "csv", csv, opts);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "object"), "leads");
    ck_assert_int_eq(num(r->json, "rows"), 8);
    ck_assert_int_eq(num(r->json, "created"), 3);
    ck_assert_int_eq(num(r->json, "rejected"), 5);
    ck_assert_int_eq(num(r->json, "fixed"), 1); /* "a" is tier A */
    ck_assert_ptr_nonnull(strstr(rejection_of(r->json, 3), "email"));
    ck_assert_ptr_nonnull(strstr(rejection_of(r->json, 5), "Zombie"));
    ck_assert_msg(strstr(rejection_of(r->json, 6), "integer"), "%s", rejection_of(r->json, 6));
    ck_assert_ptr_nonnull(strstr(rejection_of(r->json, 7), "columns"));
    /* a well-formed key that is not a stage of the default funnel (PUT's rule) */
    ck_assert_ptr_nonnull(strstr(rejection_of(r->json, 8), "default funnel"));
    api_resp_free(r);

    json_t *l = get_lead(&ws, "L-1", 200);
    ck_assert_str_eq(str(l, "email"), "ann@acme.example");
    ck_assert_int_eq(num(l, "company_size"), 250);
    ck_assert_str_eq(str(l, "lifecycle_stage"), "mql");
    ck_assert_int_eq(json_array_size(json_object_get(l, "deals")), 2);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(l, "deals"), 1)), "D-2");
    ck_assert_str_eq(str(json_array_get(json_object_get(l, "stage_history"), 0), "origin"), "import");
    json_decref(l);
    l = get_lead(&ws, "L-2", 200);
    ck_assert_str_eq(str(l, "icp_tier"), "A");
    ck_assert_str_eq(str(l, "lifecycle_stage"), "known");
    json_decref(l);
    json_decref(get_lead(&ws, "L-3", 404));
    json_decref(get_lead(&ws, "L-5", 404));
    json_decref(get_lead(&other, "L-1", 404));
    /* the imported MQL was routed, the others were not */
    ck_assert_int_eq(assignments(&ws, "L-1"), 1);
    ck_assert_int_eq(assignments(&ws, "L-4"), 0);

    /* the same file again: nothing changes, nothing routed twice */
    r = import_json(ws.write, "leads", "csv", csv, opts);
    ck_assert_status(r, 200);
    ck_assert_int_eq(num(r->json, "created"), 0);
    ck_assert_int_eq(num(r->json, "unchanged"), 3);
    api_resp_free(r);
    ck_assert_int_eq(assignments(&ws, "L-1"), 1);
}
END_TEST

START_TEST(import_leads_ndjson_event_time_and_limit)
{
    api_ws ws;
    api_new_workspace(&ws);
    char now_day[11], old_day[11], ts_new[40], ts_old[40];
    snprintf(ts_new, sizeof ts_new, "%sT10:00:00Z", api_day(-2, now_day));
    snprintf(ts_old, sizeof ts_old, "%sT10:00:00Z", api_day(-9, old_day));
    char body[600], path[80];
    snprintf(body, sizeof body, "{\"company\":\"Acme Corp\",\"title\":\"CFO\",\"as_of\":\"%s\"}", ts_new);
    snprintf(path, sizeof path, "/v1/leads/N-1");
    api_resp *r = api_send_json("PUT", path, ws.write, body);
    ck_assert_status(r, 201);
    api_resp_free(r);
    /* NDJSON: field names as keys, values typed */
    const char *nd = "{\"id\":\"N-1\",\"company\":\"Acme Old\",\"industry\":\"Fintech\"}\n"
                     "{\"id\":\"N-2\",\"email\":\"x@y.example\",\"company_size\":12,\"deals\":[\"D-4\"]}\n"
                     "\n"
                     "[1,2]\n";
    char q[120];
    snprintf(q, sizeof q, "/v1/imports?object=leads");
    /* no as_of: the rows are true now, later than the PUT */
    r = import_json(ws.write, "leads", "ndjson", nd, NULL);
    ck_assert_status(r, 200);
    ck_assert_int_eq(num(r->json, "created"), 1);
    ck_assert_int_eq(num(r->json, "updated"), 1);
    ck_assert_int_eq(num(r->json, "rejected"), 1);
    ck_assert_ptr_nonnull(strstr(rejection_of(r->json, 4), "not a JSON object"));
    api_resp_free(r);
    char opts[200];
    snprintf(opts, sizeof opts, "{\"as_of\":\"%s\"}", ts_old);
    r = import_json(ws.write, "leads", "ndjson",
                    "{\"id\":\"N-3\",\"company\":\"Old Co\"}\n{\"id\":\"N-1\",\"title\":\"Intern\"}\n", opts);
    ck_assert_status(r, 200);
    ck_assert_int_eq(num(r->json, "created"), 1);
    ck_assert_int_eq(num(r->json, "stale"), 1); /* the title was set later (ts_new) */
    api_resp_free(r);
    json_t *l = get_lead(&ws, "N-1", 200);
    ck_assert_str_eq(str(l, "title"), "CFO");
    ck_assert_str_eq(str(l, "company"), "Acme Old");
    ck_assert_str_eq(str(l, "industry"), "Fintech");
    json_decref(l);
    l = get_lead(&ws, "N-2", 200);
    ck_assert_int_eq(num(l, "company_size"), 12);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(l, "deals"), 0)), "D-4");
    json_decref(l);
    l = get_lead(&ws, "N-3", 200);
    ck_assert_str_eq(str(l, "created_at"), ts_old);
    json_decref(l);
    /* the bare form */
    const char *hdr[] = {NULL};
    const char *nd2 = "{\"id\":\"N-4\",\"company\":\"Bare\"}\n";
    r = api_req("POST", q, ws.write, "application/x-ndjson", nd2, strlen(nd2), hdr);
    ck_assert_status(r, 200);
    ck_assert_int_eq(num(r->json, "created"), 1);
    api_resp_free(r);

    /* 20,001 rows: refused whole, nothing written */
    size_t cap = 20001 * 40 + 64, n = 0;
    char *big = malloc(cap);
    n += (size_t)snprintf(big + n, cap - n, "id,company\n");
    for (int i = 0; i < 20001; i++)
        n += (size_t)snprintf(big + n, cap - n, "B-%d,Big %d\n", i, i);
    r = import_json(ws.write, "leads", "csv", big, NULL);
    ck_assert_status(r, 422);
    ck_assert_ptr_nonnull(strstr(r->body, "20000"));
    api_resp_free(r);
    json_decref(get_lead(&ws, "B-0", 404));
    /* 20,000 rows: all written in one transaction */
    *strstr(big, "B-20000,") = '\0';
    long long t0 = epoch_ms();
    r = import_json(ws.write, "leads", "csv", big, NULL);
    ck_assert_status(r, 200);
    ck_assert_int_eq(num(r->json, "created"), 20000);
    api_resp_free(r);
    /* a figure for the report, not an assertion (timings are make bench's) */
    fprintf(stderr, "leads2: 20,000 leads imported in one transaction in %lld ms\n", epoch_ms() - t0);
    free(big);
    json_decref(get_lead(&ws, "B-19999", 200));
}
END_TEST

/* ---- the periodic escalation pass ------------------------------------------------ */

static long scalar(PGconn *pg, const char *sql, const char *ws)
{
    const char *p[] = {ws};
    PGresult *res = PQexecParams(pg, sql, 1, NULL, p, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK || PQresultStatus(res) == PGRES_COMMAND_OK, "%s",
                  PQerrorMessage(pg));
    long v = PQresultStatus(res) == PGRES_TUPLES_OK ? atol(PQgetvalue(res, 0, 0)) : atol(PQcmdTuples(res));
    PQclear(res);
    return v;
}

START_TEST(escalation_pass_runs_once_across_two_instances)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_send_json("POST", "/v1/reps/batch", ws.write,
                                "{\"items\":[{\"id\":\"ae1\",\"name\":\"Ann\",\"role\":\"ae\",\"manager\":\"chief\"},"
                                "{\"id\":\"ae2\",\"name\":\"Bo\",\"role\":\"ae\",\"manager\":\"chief\"},"
                                "{\"id\":\"chief\",\"name\":\"Flo\",\"role\":\"manager\"}]}");
    ck_assert_status(r, 200);
    api_resp_free(r);
    char *yaml = api_slurp("tests/data/lead-routing.yaml");
    size_t cap = strlen(yaml) + 256;
    char *doc = malloc(cap);
    snprintf(doc, cap, "%s\npools:\n  enterprise_ae_round_robin: [ae1, ae2]\n", yaml);
    free(yaml);
    r = api_req("PUT", "/v1/routing/rules", ws.write, "application/yaml", doc, strlen(doc), NULL);
    free(doc);
    ck_assert_status(r, 200);
    api_resp_free(r);
    char yday[11], body[256];
    snprintf(body, sizeof body, "{\"company_size\":900,\"icp_tier\":\"A\",\"as_of\":\"%sT09:00:00Z\"}",
             api_day(-1, yday));
    const char *leads[] = {"x1", "x2"};
    for (int i = 0; i < 2; i++) {
        char path[64], rb[96];
        snprintf(path, sizeof path, "/v1/leads/%s", leads[i]);
        r = api_send_json("PUT", path, ws.write, body);
        ck_assert_status(r, 201);
        api_resp_free(r);
        snprintf(rb, sizeof rb, "{\"lead\":\"%s\",\"dry_run\":false}", leads[i]);
        r = api_send_json("POST", "/v1/routing/route", ws.write, rb);
        ck_assert_status(r, 201);
        ck_assert_str_eq(str(r->json, "assignee"), i == 0 ? "ae1" : "ae2");
        api_resp_free(r);
    }
    /* ae2 acts on x2: a call after the routing */
    time_t t = time(NULL) - 60;
    struct tm tm;
    gmtime_r(&t, &tm);
    char at[32];
    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof body,
             "{\"id\":\"c-x2\",\"type\":\"call\",\"occurred_at\":\"%s\",\"lead\":\"x2\",\"rep\":\"ae2\"}", at);
    r = api_send_json("POST", "/v1/activities", ws.write, body);
    ck_assert_status(r, 201);
    api_resp_free(r);

    /* two instances passing every second */
    const char *args[] = {"--access-log", "0", "--escalation-interval", "1", "--scheduler-interval", "0", NULL};
    int p1 = api_free_port();
    pid_t a = api_spawn_server(api_db_url(), p1, args);
    int p2 = api_free_port();
    pid_t b = api_spawn_server(api_db_url(), p2, args);
    ck_assert(api_wait_healthy(p1, 10000) && api_wait_healthy(p2, 10000));
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    /* not due: nothing happens over a few passes */
    usleep(2200 * 1000);
    ck_assert_int_eq(
        scalar(pg, "SELECT count(*) FROM lead_assignments WHERE workspace_id = $1 AND escalated_at IS NOT NULL", ws.id),
        0);
    /* 31 minutes pass (the seed's "no action in 30 minutes") */
    ck_assert_int_eq(scalar(pg,
                            "UPDATE lead_assignments SET routed_at = routed_at - interval '31 minutes'"
                            " WHERE workspace_id = $1",
                            ws.id),
                     2);
    long done = 0;
    for (int i = 0; i < 100 && done == 0; i++) {
        usleep(100 * 1000);
        done = scalar(pg, "SELECT count(*) FROM lead_assignments WHERE workspace_id = $1 AND escalated_at IS NOT NULL",
                      ws.id);
    }
    ck_assert_int_eq(done, 1);
    /* both instances keep passing: still once */
    usleep(2500 * 1000);
    ck_assert_int_eq(
        scalar(pg, "SELECT count(*) FROM lead_assignments WHERE workspace_id = $1 AND escalated_at IS NOT NULL", ws.id),
        1);
    ck_assert_int_eq(scalar(pg,
                            "SELECT count(*) FROM lead_changes WHERE workspace_id = $1 AND origin = 'escalation'"
                            " AND field = 'owner'",
                            ws.id),
                     1);
    PQfinish(pg);
    kill(a, SIGTERM);
    kill(b, SIGTERM);
    int st1 = 0, st2 = 0;
    waitpid(a, &st1, 0);
    waitpid(b, &st2, 0);
    ck_assert(WIFEXITED(st1) && WEXITSTATUS(st1) == 0 && WIFEXITED(st2) && WEXITSTATUS(st2) == 0);
    r = api_get("/v1/routing/assignments?lead=x1", ws.read);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "items"), 0), "escalated_to"), "chief");
    api_resp_free(r);
    json_t *l = get_lead(&ws, "x1", 200);
    ck_assert_str_eq(str(l, "owner"), "chief");
    json_decref(l);
    r = api_get("/v1/routing/assignments?lead=x2", ws.read);
    ck_assert(json_is_null(json_object_get(json_array_get(json_object_get(r->json, "items"), 0), "escalated_at")));
    api_resp_free(r);
}
END_TEST

/* ---- the dashboard's conversion from leads ------------------------------------------ */

static void put_lead_at(const api_ws *ws, const char *id, const char *day, const char *fields)
{
    char path[64], body[400];
    snprintf(path, sizeof path, "/v1/leads/%s", id);
    snprintf(body, sizeof body, "{\"as_of\":\"%sT12:00:00Z\",%s}", day, fields);
    api_resp *r = api_send_json("PUT", path, ws->write, body);
    ck_assert_msg(r->status == 200 || r->status == 201, "PUT %s: %ld %s", path, r->status, r->body);
    api_resp_free(r);
}

static json_t *dashboard(const api_ws *ws, const char *period)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/dashboard?period=%s&explain=true", period);
    api_resp *r = api_get(path, ws->read);
    ck_assert_status(r, 200);
    json_t *j = json_incref(r->json);
    api_resp_free(r);
    return j;
}

START_TEST(dashboard_conversion_from_leads)
{
    api_ws ws;
    api_new_workspace(&ws);
    /* the month of day -40, its days 5, 10, 15 and 20; day -80 is in an earlier month */
    char base[11], month[8], d05[11], d10[11], d15[11], d20[11], pre[11], empty_day[11], empty[8];
    api_day(-40, base);
    snprintf(month, sizeof month, "%.7s", base);
    snprintf(d05, sizeof d05, "%s-05", month);
    snprintf(d10, sizeof d10, "%s-10", month);
    snprintf(d15, sizeof d15, "%s-15", month);
    snprintf(d20, sizeof d20, "%s-20", month);
    api_day(-80, pre);
    api_day(-120, empty_day);
    snprintf(empty, sizeof empty, "%.7s", empty_day);
    /* A: MQL, SQL, a deal created (opportunity) and won; B: MQL, SQL; C: MQL;
     * D: MQL before the month, SQL in it */
    put_lead_at(&ws, "A", d05, "\"lifecycle_stage\":\"mql\"");
    put_lead_at(&ws, "B", d05, "\"lifecycle_stage\":\"mql\"");
    put_lead_at(&ws, "C", d05, "\"lifecycle_stage\":\"mql\"");
    put_lead_at(&ws, "D", pre, "\"lifecycle_stage\":\"mql\"");
    put_lead_at(&ws, "A", d10, "\"lifecycle_stage\":\"sql\"");
    put_lead_at(&ws, "B", d10, "\"lifecycle_stage\":\"sql\"");
    put_lead_at(&ws, "D", d10, "\"lifecycle_stage\":\"sql\"");
    char body[300];
    snprintf(body, sizeof body,
             "{\"as_of\":\"%sT12:00:00Z\",\"name\":\"A deal\",\"amount\":1000,\"stage\":\"opportunity\"}", d15);
    api_resp *r = api_send_json("PUT", "/v1/deals/DA", ws.write, body);
    ck_assert_status(r, 201);
    api_resp_free(r);
    snprintf(body, sizeof body, "{\"as_of\":\"%sT12:00:00Z\",\"stage\":\"closed_won\",\"status\":\"won\"}", d20);
    r = api_send_json("PUT", "/v1/deals/DA", ws.write, body);
    ck_assert_status(r, 200);
    api_resp_free(r);
    put_lead_at(&ws, "A", d15, "\"deals\":[\"DA\"]");
    /* a deal no lead is linked to does not enter the lead funnel */
    snprintf(body, sizeof body,
             "{\"as_of\":\"%sT12:00:00Z\",\"name\":\"Other\",\"amount\":5,\"stage\":\"opportunity\"}", d15);
    r = api_send_json("PUT", "/v1/deals/DX", ws.write, body);
    ck_assert_status(r, 201);
    api_resp_free(r);

    json_t *d = dashboard(&ws, month);
    json_t *cv = json_object_get(d, "conversion");
    ck_assert(json_real_value(json_object_get(cv, "mql_to_sql")) == 0.6667);       /* A, B of A, B, C */
    ck_assert(json_real_value(json_object_get(cv, "sql_to_opp")) == 0.3333);       /* A of A, B, D */
    ck_assert(json_number_value(json_object_get(cv, "opp_to_closed_won")) == 1.0); /* A of A (DX is no lead's) */
    ck_assert(json_real_value(json_object_get(cv, "full_funnel")) == 0.3333);      /* A of A, B, C */
    json_t *ex = json_object_get(json_object_get(d, "explain"), "sql_to_opp");
    ck_assert_str_eq(str(json_object_get(ex, "inputs"), "from"), "leads");
    ck_assert_int_eq(num(json_object_get(ex, "inputs"), "entered"), 3);
    ck_assert_int_eq(num(json_object_get(ex, "inputs"), "converted"), 1);
    json_decref(d);

    /* a month no lead reached MQL in: null, each with its reason */
    d = dashboard(&ws, empty);
    cv = json_object_get(d, "conversion");
    ck_assert(json_is_null(json_object_get(cv, "mql_to_sql")));
    const char *why = str(json_object_get(d, "null_reasons"), "conversion.mql_to_sql");
    ck_assert_ptr_nonnull(why);
    ck_assert_ptr_nonnull(strstr(why, "no lead first reached mql"));
    json_decref(d);
}
END_TEST

static void touch(const api_ws *ws, const char *id, const char *deal, const char *day, const char *channel)
{
    char body[300];
    snprintf(
        body, sizeof body,
        "{\"id\":\"%s\",\"type\":\"page_view\",\"occurred_at\":\"%sT08:00:00Z\",\"deal\":\"%s\",\"channel\":\"%s\"}",
        id, day, deal, channel);
    api_resp *r = api_send_json("POST", "/v1/activities", ws->write, body);
    ck_assert_status(r, 201);
    api_resp_free(r);
}

static void won_deal(const api_ws *ws, const char *id, const char *account, const char *day)
{
    char path[64], body[400];
    snprintf(path, sizeof path, "/v1/deals/%s", id);
    snprintf(body, sizeof body,
             "{\"as_of\":\"%sT12:00:00Z\",\"name\":\"%s\",\"amount\":100,\"stage\":\"closed_won\",\"status\":\"won\","
             "\"closed_at\":\"%sT12:00:00Z\"%s%s%s}",
             day, id, day, account ? ",\"account\":\"" : "", account ? account : "", account ? "\"" : "");
    api_resp *r = api_send_json("PUT", path, ws->write, body);
    ck_assert_status(r, 201);
    api_resp_free(r);
}

START_TEST(dashboard_cac_by_channel)
{
    api_ws ws;
    api_new_workspace(&ws);
    char base[11], month[8], d05[11], d10[11], d15[11], d20[11], body[600];
    api_day(-40, base);
    snprintf(month, sizeof month, "%.7s", base);
    snprintf(d05, sizeof d05, "%s-05", month);
    snprintf(d10, sizeof d10, "%s-10", month);
    snprintf(d15, sizeof d15, "%s-15", month);
    snprintf(d20, sizeof d20, "%s-20", month);
    /* nothing yet: null, with its reason */
    json_t *d = dashboard(&ws, month);
    ck_assert(json_is_null(json_object_get(json_object_get(d, "efficiency"), "cac_by_channel")));
    ck_assert_ptr_nonnull(str(json_object_get(d, "null_reasons"), "efficiency.cac_by_channel"));
    json_decref(d);

    snprintf(body, sizeof body,
             "{\"items\":[{\"period\":\"%s\",\"category\":\"marketing\",\"channel\":\"paid_search\",\"amount\":3000},"
             "{\"period\":\"%s\",\"category\":\"sales\",\"channel\":\"events\",\"amount\":1000},"
             "{\"period\":\"%s\",\"category\":\"marketing\",\"channel\":\"webinar\",\"amount\":500},"
             "{\"period\":\"%s\",\"category\":\"marketing\",\"amount\":700}]}",
             month, month, month, month);
    api_resp *r = api_send_json("POST", "/v1/spend", ws.write, body);
    ck_assert_status(r, 201);
    api_resp_free(r);
    const char *accts[] = {"acc1", "acc2"};
    for (int i = 0; i < 2; i++) {
        char path[64];
        snprintf(path, sizeof path, "/v1/accounts/%s", accts[i]);
        r = api_send_json("PUT", path, ws.write, "{\"name\":\"An account\"}");
        ck_assert_status(r, 201);
        api_resp_free(r);
    }
    /* W1 (acc1): one paid_search touch; W2 (acc2): paid_search then events,
     * no lead (U-shaped: 40% first, 20% the rest, scaled: 2/3 and 1/3); W3:
     * acc1's second win, not a new customer; W4: no account, no touch */
    won_deal(&ws, "W1", "acc1", d15);
    won_deal(&ws, "W2", "acc2", d15);
    won_deal(&ws, "W3", "acc1", d20);
    won_deal(&ws, "W4", NULL, d20);
    touch(&ws, "t1", "W1", d05, "paid_search");
    touch(&ws, "t2", "W2", d05, "paid_search");
    touch(&ws, "t3", "W2", d10, "events");
    touch(&ws, "t4", "W3", d10, "webinar");

    d = dashboard(&ws, month);
    json_t *rows = json_object_get(json_object_get(d, "efficiency"), "cac_by_channel");
    ck_assert_int_eq(json_array_size(rows), 3);
    json_t *ev = json_array_get(rows, 0), *ps = json_array_get(rows, 1), *wb = json_array_get(rows, 2);
    ck_assert_str_eq(str(ev, "channel"), "events");
    ck_assert(json_real_value(json_object_get(ev, "new_customers")) == 0.3333);
    ck_assert(json_number_value(json_object_get(ev, "cac")) == 3000.0); /* 1,000 / (1/3) */
    ck_assert_str_eq(str(ps, "channel"), "paid_search");
    ck_assert(json_number_value(json_object_get(ps, "sm_spend")) == 3000.0);
    ck_assert(json_real_value(json_object_get(ps, "new_customers")) == 1.6667);
    ck_assert(json_number_value(json_object_get(ps, "cac")) == 1800.0); /* 3,000 / (5/3) */
    ck_assert_str_eq(str(wb, "channel"), "webinar");                    /* W3 is no new customer */
    ck_assert(json_is_null(json_object_get(wb, "cac")));
    ck_assert_ptr_nonnull(strstr(str(wb, "why"), "webinar"));
    ck_assert_ptr_null(str(json_object_get(d, "null_reasons"), "efficiency.cac_by_channel"));
    json_t *ex = json_object_get(json_object_get(json_object_get(d, "explain"), "cac_by_channel"), "inputs");
    ck_assert_str_eq(str(ex, "model"), "u_shaped");
    ck_assert_int_eq(num(ex, "new_customers"), 3);
    ck_assert_int_eq(num(ex, "unattributed_customers"), 1);
    json_decref(d);

    /* unit economics by channel: the same attributed customers, the same model */
    char path[96];
    snprintf(path, sizeof path, "/v1/metrics/unit-economics?by=channel&period=%s", month);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "attribution_model"), "u_shaped");
    json_t *groups = json_object_get(r->json, "groups"), *g;
    size_t i;
    int seen = 0;
    json_array_foreach(groups, i, g)
    {
        const char *name = str(g, "group");
        double nc = json_number_value(json_object_get(g, "new_customers"));
        json_t *cac = json_object_get(g, "cac");
        if (strcmp(name, "paid_search") == 0) {
            ck_assert(nc == 1.6667);
            ck_assert(json_number_value(cac) == 1800.0);
            ck_assert(json_number_value(json_object_get(g, "sm_spend")) == 3000.0);
            seen |= 1;
        } else if (strcmp(name, "events") == 0) {
            ck_assert(nc == 0.3333);
            ck_assert(json_number_value(cac) == 3000.0);
            seen |= 2;
        } else if (strcmp(name, "webinar") == 0) {
            ck_assert(nc == 0);
            ck_assert(json_is_null(cac));
            seen |= 4;
        } else if (strcmp(name, "(none)") == 0) { /* spend without a channel, no touch without one */
            ck_assert(nc == 0);
            ck_assert(json_number_value(json_object_get(g, "sm_spend")) == 700.0);
            ck_assert(json_is_null(cac));
            seen |= 8;
        }
    }
    ck_assert_int_eq(seen, 15);
    api_resp_free(r);
    /* by segment keeps whole counts of accounts acquired (no ARR movement here: none) */
    snprintf(path, sizeof path, "/v1/metrics/unit-economics?by=segment&period=%s", month);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    ck_assert_ptr_null(json_object_get(r->json, "attribution_model"));
    api_resp_free(r);
}
END_TEST

/* Standard Webhooks (standardwebhooks.com, "Signature scheme"): "v1," +
 * base64 of HMAC-SHA256(base64-decoded whsec_ secret, id.timestamp.body). */
static api_resp *standard_deliver(const char *ep, const char *secret, const char *msg_id, const char *body)
{
    unsigned char key[128], md[32];
    const char *k = secret + 6;
    size_t kl = strlen(k);
    int klen = EVP_DecodeBlock(key, (const unsigned char *)k, (int)kl);
    klen -= (k[kl - 1] == '=') + (k[kl - 2] == '=');
    long long ts = (long long)time(NULL);
    char tsb[24], sig[64], path[96], h1[128], h2[64], h3[128];
    snprintf(tsb, sizeof tsb, "%lld", ts);
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    ck_assert_int_eq(EVP_MAC_init(ctx, key, (size_t)klen, params), 1);
    const char *parts[] = {msg_id, ".", tsb, ".", body};
    for (size_t i = 0; i < 5; i++)
        ck_assert_int_eq(EVP_MAC_update(ctx, (const unsigned char *)parts[i], strlen(parts[i])), 1);
    size_t n = 0;
    ck_assert_int_eq(EVP_MAC_final(ctx, md, &n, sizeof md), 1);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    ck_assert_int_eq(EVP_EncodeBlock((unsigned char *)sig, md, (int)n), 44);
    snprintf(path, sizeof path, "/v1/hooks/%s", ep);
    snprintf(h1, sizeof h1, "webhook-id: %s", msg_id);
    snprintf(h2, sizeof h2, "webhook-timestamp: %s", tsb);
    snprintf(h3, sizeof h3, "webhook-signature: v1,%s", sig);
    const char *hdr[] = {h1, h2, h3, NULL};
    return api_req("POST", path, NULL, "application/json", body, strlen(body), hdr);
}

/* One signed lead event at now - ago_s seconds; the delivery's only event. */
static json_t *lead_event(const char *ep, const char *secret, const char *msg_id, const char *type, int ago_s,
                          const char *data)
{
    char at[32], body[1024];
    time_t t = time(NULL) - ago_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof body, "{\"type\":\"%s\",\"timestamp\":\"%s\",\"data\":%s}", type, at, data);
    api_resp *r = standard_deliver(ep, secret, msg_id, body);
    ck_assert_msg(r->status == 200, "%s: %ld %s", msg_id, r->status, r->body);
    json_t *ev = json_incref(json_array_get(json_object_get(r->json, "events"), 0));
    api_resp_free(r);
    return ev;
}

static void expect_event(json_t *ev, const char *status, const char *detail_has)
{
    ck_assert_msg(strcmp(str(ev, "status"), status) == 0, "%s, not %s: %s", str(ev, "status"), status,
                  str(ev, "detail") ? str(ev, "detail") : "");
    if (detail_has)
        ck_assert_msg(str(ev, "detail") && strstr(str(ev, "detail"), detail_has), "no '%s' in %s", detail_has,
                      str(ev, "detail") ? str(ev, "detail") : "(null)");
    json_decref(ev);
}

START_TEST(standard_webhooks_lead_events)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    api_resp *r = api_send_json("POST", "/v1/webhook-endpoints", ws.admin,
                                "{\"source\":\"standard\",\"apply_mode\":\"sync\",\"stage_map\":{\"hot\":\"mql\"}}");
    ck_assert_status(r, 201);
    char ep[64], secret[128];
    snprintf(ep, sizeof ep, "%s", str(r->json, "id"));
    snprintf(secret, sizeof secret, "%s", str(r->json, "secret"));
    api_resp_free(r);

    /* created ten minutes ago with the fields PUT /v1/leads takes */
    expect_event(lead_event(ep, secret, "msg_l1", "lead.created", 600,
                            "{\"id\":\"sw-1\",\"email\":\"bo@initech.example\",\"company\":\"Initech\","
                            "\"company_size\":250,\"original_source\":\"webinar\",\"owner\":\"sam\","
                            "\"custom\":{\"plan\":\"trial\"}}"),
                 "applied", NULL);
    json_t *l = get_lead(&ws, "sw-1", 200);
    ck_assert_str_eq(str(l, "email"), "bo@initech.example");
    ck_assert_int_eq(num(l, "company_size"), 250);
    ck_assert_str_eq(str(l, "lifecycle_stage"), "known");
    ck_assert_str_eq(str(json_array_get(json_object_get(l, "stage_history"), 0), "origin"), "standard");
    json_decref(l);
    json_decref(get_lead(&other, "sw-1", 404)); /* another workspace sees nothing */

    /* updated (external_id names it too), the stage through the endpoint's stage_map */
    expect_event(lead_event(ep, secret, "msg_l2", "lead.updated", 500,
                            "{\"external_id\":\"sw-1\",\"title\":\"CTO\",\"company\":\"Initech Corp\","
                            "\"lifecycle_stage\":\"hot\"}"),
                 "applied", NULL);
    /* an older change arriving late: recorded, not applied */
    expect_event(lead_event(ep, secret, "msg_l3", "lead.updated", 550,
                            "{\"id\":\"sw-1\",\"external_id\":\"sw-1\",\"company\":\"Initech Old\"}"),
                 "stale", NULL);
    /* name is the sender's own (HubSpot's first + last name rule is HubSpot's) */
    expect_event(lead_event(ep, secret, "msg_l3n", "lead.updated", 520,
                            "{\"id\":\"sw-1\",\"name\":\"Bo Diddley\",\"custom\":{\"firstname\":\"Bob\"}}"),
                 "applied", NULL);
    l = get_lead(&ws, "sw-1", 200);
    ck_assert_str_eq(str(l, "name"), "Bo Diddley");
    ck_assert_str_eq(str(json_object_get(l, "custom"), "firstname"), "Bob");
    ck_assert_str_eq(str(l, "title"), "CTO");
    ck_assert_str_eq(str(l, "company"), "Initech Corp");
    ck_assert_str_eq(str(l, "lifecycle_stage"), "mql");
    ck_assert_str_eq(str(json_object_get(l, "custom"), "plan"), "trial");
    json_decref(l);

    /* bad fields: rejected with the reason, nothing changed */
    expect_event(lead_event(ep, secret, "msg_l4", "lead.updated", 450, "{\"id\":\"sw-1\",\"email\":\"nope\"}"),
                 "rejected", "email");
    expect_event(lead_event(ep, secret, "msg_l5", "lead.updated", 450, "{\"id\":\"sw-1\",\"favourite\":\"tea\"}"),
                 "rejected", "favourite");
    expect_event(
        lead_event(ep, secret, "msg_l6", "lead.updated", 450, "{\"id\":\"sw-1\",\"lifecycle_stage\":\"galaxybrain\"}"),
        "rejected", "galaxybrain");
    expect_event(lead_event(ep, secret, "msg_l7", "lead.converted", 450, "{\"id\":\"sw-1\"}"), "rejected", "data.deal");
    expect_event(lead_event(ep, secret, "msg_l8", "lead.updated", 450,
                            "{\"id\":\"sw-1\",\"external_id\":\"sw-2\",\"title\":\"x\"}"),
                 "rejected", "different leads");
    /* an unknown lead.* type is kept with why nothing changed */
    expect_event(lead_event(ep, secret, "msg_l9", "lead.merged", 450, "{\"id\":\"sw-1\"}"), "applied", "lead.merged");
    l = get_lead(&ws, "sw-1", 200);
    ck_assert_str_eq(str(l, "email"), "bo@initech.example");
    ck_assert_str_eq(str(l, "title"), "CTO");
    json_decref(l);

    /* converted: the deal linked, the other fields applied */
    expect_event(lead_event(ep, secret, "msg_l10", "lead.converted", 400,
                            "{\"id\":\"sw-1\",\"deal\":\"D-42\",\"lifecycle_stage\":\"sql\"}"),
                 "applied", NULL);
    l = get_lead(&ws, "sw-1", 200);
    ck_assert_str_eq(str(l, "lifecycle_stage"), "sql");
    ck_assert_int_eq(json_array_size(json_object_get(l, "deals")), 1);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(l, "deals"), 0)), "D-42");
    json_decref(l);

    /* deleted; a change from before the deletion arriving later does not bring it back */
    expect_event(lead_event(ep, secret, "msg_l11", "lead.deleted", 300, "{\"id\":\"sw-1\"}"), "applied", NULL);
    json_decref(get_lead(&ws, "sw-1", 404));
    expect_event(lead_event(ep, secret, "msg_l12", "lead.updated", 350, "{\"id\":\"sw-1\",\"title\":\"CEO\"}"), "stale",
                 NULL);
    expect_event(lead_event(ep, secret, "msg_l13", "lead.converted", 350, "{\"id\":\"sw-1\",\"deal\":\"D-43\"}"),
                 "stale", NULL);
    json_decref(get_lead(&ws, "sw-1", 404));
    /* redelivered: a duplicate, applied once */
    char at[32], body[256];
    time_t t = time(NULL) - 300;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof body, "{\"type\":\"lead.deleted\",\"timestamp\":\"%s\",\"data\":{\"id\":\"sw-1\"}}", at);
    r = standard_deliver(ep, secret, "msg_l11", body);
    ck_assert_status(r, 200);
    ck_assert_int_eq(num(json_object_get(r->json, "counts"), "duplicate"), 1);
    api_resp_free(r);
    /* created again later: back, with what it had (the late title not applied) */
    expect_event(lead_event(ep, secret, "msg_l14", "lead.created", 200, "{\"id\":\"sw-1\"}"), "applied", NULL);
    l = get_lead(&ws, "sw-1", 200);
    ck_assert_str_eq(str(l, "title"), "CTO");
    ck_assert_int_eq(json_array_size(json_object_get(l, "deals")), 1);
    json_decref(l);
    /* a deal event and a lead event with the same id are two objects */
    expect_event(lead_event(ep, secret, "msg_l15", "deal.updated", 100,
                            "{\"id\":\"sw-1\",\"name\":\"Initech deal\",\"stage\":\"discovery\"}"),
                 "applied", NULL);
    l = get_lead(&ws, "sw-1", 200);
    ck_assert_str_eq(str(l, "company"), "Initech Corp");
    json_decref(l);
    r = api_get("/v1/deals/sw-1", ws.read);
    ck_assert_status(r, 200);
    api_resp_free(r);
    /* another type still ignored */
    expect_event(lead_event(ep, secret, "msg_l16", "invoice.paid", 100, "{\"id\":\"inv-1\"}"), "applied",
                 "neither a deal nor a lead event");
}
END_TEST

/* The async path for Standard Webhooks lead events: stored, applied by the
 * appliers, the lead made MQL routed once, a redelivery a duplicate. */
START_TEST(standard_lead_mql_routed_once_async)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_send_json("POST", "/v1/webhook-endpoints", ws.admin, "{\"source\":\"standard\"}");
    ck_assert_status(r, 201);
    char ep[64], secret[128], at[32], body[512];
    snprintf(ep, sizeof ep, "%s", str(r->json, "id"));
    snprintf(secret, sizeof secret, "%s", str(r->json, "secret"));
    api_resp_free(r);
    time_t t = time(NULL) - 120;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof body,
             "{\"type\":\"lead.created\",\"timestamp\":\"%s\",\"data\":{\"external_id\":\"sw-async\","
             "\"email\":\"al@hooli.example\",\"lifecycle_stage\":\"mql\"}}",
             at);
    r = standard_deliver(ep, secret, "msg_async_1", body);
    ck_assert_status(r, 200);
    ck_assert_int_eq(num(r->json, "accepted"), 1);
    api_resp_free(r);
    long left = 1;
    for (int i = 0; i < 200 && left > 0; i++) { /* the appliers wake at once; bounded wait */
        api_resp *p = api_get("/v1/webhook-events?status=pending", ws.read);
        left = (long)json_array_size(json_object_get(p->json, "items"));
        api_resp_free(p);
        if (left)
            usleep(25 * 1000);
    }
    ck_assert_int_eq(left, 0);
    json_t *l = get_lead(&ws, "sw-async", 200);
    ck_assert_str_eq(str(l, "email"), "al@hooli.example");
    ck_assert_str_eq(str(l, "lifecycle_stage"), "mql");
    json_decref(l);
    ck_assert_int_eq(assignments(&ws, "sw-async"), 1);
    r = standard_deliver(ep, secret, "msg_async_1", body);
    ck_assert_status(r, 200);
    ck_assert_int_eq(num(r->json, "duplicates"), 1);
    api_resp_free(r);
    r = api_get("/v1/webhook-events?status=applied", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 1);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "items"), 0), "type"), "lead.created");
    api_resp_free(r);
    ck_assert_int_eq(assignments(&ws, "sw-async"), 1);
}
END_TEST

Suite *leads2_suite(void)
{
    Suite *s = suite_create("leads2");
    TCase *tc = tcase_create("contacts");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, hubspot_contacts_become_leads);
    tcase_add_test(tc, hubspot_contact_mql_routed_once_async);
    tcase_add_test(tc, standard_webhooks_lead_events);
    tcase_add_test(tc, standard_lead_mql_routed_once_async);
    suite_add_tcase(s, tc);
    TCase *ti = tcase_create("imports");
    tcase_set_timeout(ti, 120);
    tcase_add_test(ti, import_leads_csv_rows_checked_as_put);
    tcase_add_test(ti, import_leads_ndjson_event_time_and_limit);
    suite_add_tcase(s, ti);
    TCase *te = tcase_create("escalations");
    tcase_set_timeout(te, 60);
    tcase_add_test(te, escalation_pass_runs_once_across_two_instances);
    suite_add_tcase(s, te);
    TCase *td = tcase_create("dashboard");
    tcase_add_test(td, dashboard_conversion_from_leads);
    tcase_add_test(td, dashboard_cac_by_channel);
    suite_add_tcase(s, td);
    return s;
}

/* test_webhooks.c - CRM webhooks: each source's happy path with a signature
 * computed here, tampered/wrong-secret/stale requests refused with nothing
 * stored, duplicates, out-of-order changes, a batch with one bad event,
 * replay after a mapping fix, push counts, and isolation between workspaces. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static long long inum(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void b64(const unsigned char *in, int n, char *out) { EVP_EncodeBlock((unsigned char *)out, in, n); }

static void hmac_b64(const void *key, int klen, const char *msg, size_t mlen, char *out)
{
    unsigned char md[32];
    unsigned n = 0;
    HMAC(EVP_sha256(), key, klen, (const unsigned char *)msg, mlen, md, &n);
    b64(md, (int)n, out);
}

static void sha_hex(const char *msg, size_t len, char *out)
{
    unsigned char md[32];
    SHA256((const unsigned char *)msg, len, md);
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

/* Create an endpoint; returns its id (static buffer per call site). */
static void make_endpoint(const char *admin, const char *json, char *id, size_t len, char *secret, size_t slen)
{
    api_resp *r = api_send_json("POST", "/v1/webhook-endpoints", admin, json);
    ck_assert_status(r, 201);
    snprintf(id, len, "%s", str(r->json, "id"));
    ck_assert_ptr_null(json_object_get(r->json, "basic_auth")); /* never echoed */
    if (secret)
        snprintf(secret, slen, "%s", str(r->json, "secret") ? str(r->json, "secret") : "");
    api_resp_free(r);
}

#define HS_SECRET "hs-client-secret-1"
#define HS_BASE "https://revops.example.com"

/* POST body with a v3 signature over signed (normally the same bytes) at ts (ms). */
static api_resp *hubspot_post_as(const char *ep, const char *body, const char *signed_body, const char *secret,
                                 long long ts)
{
    char path[128], uri[256], tsb[32], sig[64], *msg;
    snprintf(path, sizeof path, "/v1/hooks/%s", ep);
    snprintf(uri, sizeof uri, HS_BASE "%s", path);
    snprintf(tsb, sizeof tsb, "%lld", ts);
    size_t n = strlen(uri) + strlen(signed_body) + strlen(tsb) + 8;
    msg = malloc(n);
    int m = snprintf(msg, n, "POST%s%s%s", uri, signed_body, tsb);
    hmac_b64(secret, (int)strlen(secret), msg, (size_t)m, sig);
    free(msg);
    char h1[128], h2[64];
    snprintf(h1, sizeof h1, "X-HubSpot-Signature-v3: %s", sig);
    snprintf(h2, sizeof h2, "X-HubSpot-Request-Timestamp: %s", tsb);
    const char *hdr[] = {h1, h2, NULL};
    return api_req("POST", path, NULL, "application/json", body, strlen(body), hdr);
}

static api_resp *hubspot_post(const char *ep, const char *body, const char *secret, long long ts)
{
    return hubspot_post_as(ep, body, body, secret, ts);
}

/* One HubSpot deal.propertyChange event. */
static void hs_event(char *out, size_t len, int event_id, const char *object, long long at, const char *prop,
                     const char *value);

static void hs_seed_deal(const char *ep, const char *object, long long at)
{
    char e1[512], e2[512], body[1100];
    hs_event(e1, sizeof e1, 90001, object, at, "dealname", "Seeded");
    hs_event(e2, sizeof e2, 90002, object, at, "dealstage", "appointmentscheduled");
    snprintf(body, sizeof body, "[%s,%s]", e1, e2);
    api_resp *r = hubspot_post(ep, body, HS_SECRET, now_ms());
    ck_assert_status(r, 200);
    if (json_object_get(r->json, "counts")) /* sync */
        ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "applied"), 2);
    api_resp_free(r);
}

/* One HubSpot deal.propertyChange event. */
static void hs_event(char *out, size_t len, int event_id, const char *object, long long at, const char *prop,
                     const char *value)
{
    snprintf(out, len,
             "{\"eventId\":%d,\"subscriptionId\":7,\"portalId\":62515,\"appId\":1,\"occurredAt\":%lld,"
             "\"subscriptionType\":\"deal.propertyChange\",\"attemptNumber\":0,\"objectId\":%s,"
             "\"changeSource\":\"CRM\",\"propertyName\":\"%s\",\"propertyValue\":\"%s\"}",
             event_id, at, object, prop, value);
}

static long count_events(const char *key, const char *query)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/webhook-events?limit=200%s", query);
    api_resp *r = api_get(path, key);
    ck_assert_status(r, 200);
    long n = (long)json_array_size(json_object_get(r->json, "items"));
    api_resp_free(r);
    return n;
}

/* sync: these tests read each event's outcome from the answer, which only a
 * sync endpoint (or ?wait=applied) gives since deliveries are stored, then
 * applied (issue 17); the async path has its own tests below */
static const char *hs_endpoint_json =
    "{\"source\":\"hubspot\",\"apply_mode\":\"sync\",\"secret\":\"" HS_SECRET "\",\"public_url\":\"" HS_BASE
    "\",\"stage_map\":{\"appointmentscheduled\":\"discovery\","
    "\"contractsent\":\"negotiation\"}}";

/* A deal the CRM created at ms: its name and stage (a deal is created only
 * with both; until then its events are held). */
static void hs_seed_deal(const char *ep, const char *object, long long at);

START_TEST(hubspot_v3_batch_applies_and_rejects_tampering)
{
    api_ws ws;
    api_new_workspace(&ws);
    char ep[64];
    make_endpoint(ws.admin, hs_endpoint_json, ep, sizeof ep, NULL, 0);
    long long t0 = now_ms() - 60000;
    char e0[512], e1[512], e2[512], e3[512], e4[512], body[3000];
    hs_event(e0, sizeof e0, 100, "5150", t0 - 1000, "dealname", "Acme renewal"); /* a new deal: name and stage */
    hs_event(e1, sizeof e1, 101, "5150", t0, "dealstage", "appointmentscheduled");
    hs_event(e2, sizeof e2, 102, "5150", t0 + 1000, "amount", "12500.10");
    hs_event(e3, sizeof e3, 103, "5150", t0 + 2000, "dealstage", "not-a-mapped-stage");
    hs_event(e4, sizeof e4, 104, "5150", t0 + 3000, "hs_manual_forecast_category", "BEST_CASE");
    snprintf(body, sizeof body, "[%s,%s,%s,%s,%s]", e0, e1, e2, e3, e4);

    /* refused, with nothing stored: tampered body, wrong secret, stale timestamp */
    char tampered[3000];
    snprintf(tampered, sizeof tampered, "%s", body);
    *strstr(tampered, "12500.10") = '9'; /* the amount changed in transit */
    api_resp *r = NULL;
    const char *bad[][2] = {{tampered, HS_SECRET}, {body, "another-secret"}};
    for (int i = 0; i < 2; i++) {
        r = hubspot_post_as(ep, bad[i][0], body, bad[i][1], now_ms());
        ck_assert_status(r, 401);
        ck_assert_str_eq(str(r->json, "type"), "/problems/invalid-signature");
        api_resp_free(r);
    }
    r = hubspot_post(ep, body, HS_SECRET, now_ms() - 6 * 60 * 1000);
    ck_assert_status(r, 401);
    ck_assert_ptr_nonnull(strstr(str(r->json, "detail"), "5 minutes"));
    api_resp_free(r);
    ck_assert_int_eq(count_events(ws.read, ""), 0);
    r = api_get("/v1/deals/5150", ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);

    /* the real thing: three events apply, the unmapped stage is rejected and reported */
    r = hubspot_post(ep, body, HS_SECRET, now_ms());
    ck_assert_status(r, 200);
    json_t *counts = json_object_get(r->json, "counts");
    ck_assert_int_eq(inum(counts, "applied"), 4);
    ck_assert_int_eq(inum(counts, "rejected"), 1);
    json_t *evs = json_object_get(r->json, "events");
    ck_assert_str_eq(str(json_array_get(evs, 3), "status"), "rejected");
    ck_assert_ptr_nonnull(strstr(str(json_array_get(evs, 3), "detail"), "not-a-mapped-stage"));
    char rejected_id[64];
    snprintf(rejected_id, sizeof rejected_id, "%s", str(json_array_get(evs, 3), "id"));
    api_resp_free(r);

    r = api_get("/v1/deals/5150", ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "stage"), "discovery");
    ck_assert(json_number_value(json_object_get(r->json, "amount")) == 12500.10);
    ck_assert_str_eq(str(r->json, "forecast_category"), "best_case");
    json_t *sh = json_object_get(r->json, "stage_history");
    ck_assert_int_eq(json_array_size(sh), 1);
    ck_assert_str_eq(str(json_array_get(sh, 0), "origin"), "hubspot");
    api_resp_free(r);

    /* redelivery: 2xx, all duplicates, nothing changes */
    r = hubspot_post(ep, body, HS_SECRET, now_ms());
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "duplicate"), 5);
    api_resp_free(r);
    ck_assert_int_eq(count_events(ws.read, "&status=applied"), 4);
    ck_assert_int_eq(count_events(ws.read, "&status=duplicate"), 5);

    /* the same event twice in one delivery: the first applies, the second is its duplicate */
    char e5[512], twice[1100];
    hs_event(e5, sizeof e5, 105, "5150", t0 + 4000, "amount", "13000");
    snprintf(twice, sizeof twice, "[%s,%s]", e5, e5);
    r = hubspot_post(ep, twice, HS_SECRET, now_ms());
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "applied"), 1);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "duplicate"), 1);
    ck_assert_ptr_nonnull(strstr(str(json_array_get(json_object_get(r->json, "events"), 1), "detail"),
                                 str(json_array_get(json_object_get(r->json, "events"), 0), "id")));
    api_resp_free(r);
    r = api_get("/v1/deals/5150", ws.read);
    ck_assert(json_number_value(json_object_get(r->json, "amount")) == 13000);
    api_resp_free(r);

    /* fix the mapping, replay the rejected event: the stage applies at the event's own time */
    r = api_send_json("PATCH", "/v1/webhook-endpoints/", ws.admin, "{}");
    ck_assert_int_ge(r->status, 400);
    api_resp_free(r);
    char path[160];
    snprintf(path, sizeof path, "/v1/webhook-endpoints/%s", ep);
    r = api_send_json("PATCH", path, ws.admin,
                      "{\"stage_map\":{\"appointmentscheduled\":\"discovery\",\"not-a-mapped-stage\":\"proposal\"}}");
    ck_assert_status(r, 200);
    ck_assert_ptr_null(json_object_get(r->json, "secret"));
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/webhook-events/%s/replay", rejected_id);
    r = api_req("POST", path, ws.read, "application/json", "{}", 2, NULL);
    ck_assert_status(r, 403);
    api_resp_free(r);
    r = api_req("POST", path, ws.write, "application/json", "{}", 2, NULL);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "status"), "applied");
    api_resp_free(r);
    r = api_get("/v1/deals/5150", ws.read);
    ck_assert_str_eq(str(r->json, "stage"), "proposal");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "stage_history")), 2);
    api_resp_free(r);
}
END_TEST

START_TEST(hubspot_out_of_order_and_push_count)
{
    api_ws ws;
    api_new_workspace(&ws);
    char ep[64];
    make_endpoint(ws.admin, hs_endpoint_json, ep, sizeof ep, NULL, 0);
    long long t0 = now_ms() - 120000;
    hs_seed_deal(ep, "777", t0 - 1000);
    char e1[512], e2[512], body[1600];
    /* the newer amount arrives first, the older one after: the older is recorded, not applied */
    hs_event(e1, sizeof e1, 201, "777", t0 + 5000, "amount", "900");
    hs_event(e2, sizeof e2, 202, "777", t0, "amount", "100");
    snprintf(body, sizeof body, "[%s]", e1);
    api_resp *r = hubspot_post(ep, body, HS_SECRET, now_ms());
    ck_assert_status(r, 200);
    api_resp_free(r);
    snprintf(body, sizeof body, "[%s]", e2);
    r = hubspot_post(ep, body, HS_SECRET, now_ms());
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "events"), 0), "status"), "stale");
    api_resp_free(r);
    r = api_get("/v1/deals/777", ws.read);
    ck_assert(json_number_value(json_object_get(r->json, "amount")) == 900.0);
    json_t *fh = json_object_get(r->json, "field_history");
    bool recorded = false;
    size_t i;
    json_t *c;
    json_array_foreach(fh, i, c)
    {
        if (json_is_false(json_object_get(c, "applied")) && json_number_value(json_object_get(c, "new")) == 100.0)
            recorded = true;
    }
    ck_assert(recorded);
    api_resp_free(r);

    /* close date 2026-03-20 (Q1) then 2026-04-15 (Q2): one push; then within Q2: none */
    hs_event(e1, sizeof e1, 203, "777", t0 + 6000, "closedate", "2026-03-20");
    hs_event(e2, sizeof e2, 204, "777", t0 + 7000, "closedate", "1776211200000"); /* 2026-04-15 as ms */
    char e3[512];
    hs_event(e3, sizeof e3, 205, "777", t0 + 8000, "closedate", "2026-05-02T00:00:00Z");
    snprintf(body, sizeof body, "[%s,%s,%s]", e1, e2, e3);
    r = hubspot_post(ep, body, HS_SECRET, now_ms());
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "applied"), 3);
    api_resp_free(r);
    r = api_get("/v1/deals/777", ws.read);
    ck_assert_str_eq(str(r->json, "expected_close_date"), "2026-05-02");
    ck_assert_int_eq(inum(r->json, "push_count"), 1);
    api_resp_free(r);

    /* probabilities arrive as strings: a number from 0 to 1 applies, anything else is rejected */
    hs_event(e1, sizeof e1, 206, "777", t0 + 9000, "hs_deal_stage_probability", "0.35");
    hs_event(e2, sizeof e2, 207, "777", t0 + 9500, "hs_deal_stage_probability", "high");
    hs_event(e3, sizeof e3, 208, "777", t0 + 9600, "hs_deal_stage_probability", "1.5");
    snprintf(body, sizeof body, "[%s,%s,%s]", e1, e2, e3);
    r = hubspot_post(ep, body, HS_SECRET, now_ms());
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "applied"), 1);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "rejected"), 2);
    api_resp_free(r);
    r = api_get("/v1/deals/777", ws.read);
    ck_assert(json_number_value(json_object_get(r->json, "probability")) == 0.35);
    api_resp_free(r);
}
END_TEST

/* HubSpot v1 (sha256(secret + body)) and v2 (sha256(secret + method + uri + body)). */
START_TEST(hubspot_v1_v2_signatures)
{
    api_ws ws;
    api_new_workspace(&ws);
    char ep[64];
    make_endpoint(ws.admin, hs_endpoint_json, ep, sizeof ep, NULL, 0);
    char ev[512], body[600], path[128], uri[256], msg[2000], hex[65], h1[128];
    snprintf(path, sizeof path, "/v1/hooks/%s", ep);
    snprintf(uri, sizeof uri, HS_BASE "%s", path);
    hs_seed_deal(ep, "9001", now_ms() - 60000);
    for (int v = 1; v <= 2; v++) {
        hs_event(ev, sizeof ev, 300 + v, "9001", now_ms() - 1000 * v, "dealname", v == 1 ? "Acme v1" : "Acme v2");
        snprintf(body, sizeof body, "[%s]", ev);
        int n = v == 1 ? snprintf(msg, sizeof msg, "%s%s", HS_SECRET, body)
                       : snprintf(msg, sizeof msg, "%sPOST%s%s", HS_SECRET, uri, body);
        sha_hex(msg, (size_t)n, hex);
        snprintf(h1, sizeof h1, "X-HubSpot-Signature: %s", hex);
        const char *hdr[] = {h1, v == 1 ? "X-HubSpot-Signature-Version: v1" : "X-HubSpot-Signature-Version: v2", NULL};
        api_resp *r = api_req("POST", path, NULL, "application/json", body, strlen(body), hdr);
        ck_assert_status(r, 200);
        /* v2's change is older than v1's: recorded, not applied */
        ck_assert_int_eq(inum(json_object_get(r->json, "counts"), v == 1 ? "applied" : "stale"), 1);
        api_resp_free(r);
        hex[0] = hex[0] == 'a' ? 'b' : 'a';
        snprintf(h1, sizeof h1, "X-HubSpot-Signature: %s", hex);
        r = api_req("POST", path, NULL, "application/json", body, strlen(body), hdr);
        ck_assert_status(r, 401);
        api_resp_free(r);
    }
    api_resp *r = api_get("/v1/deals/9001", ws.read);
    ck_assert_str_eq(str(r->json, "name"), "Acme v1"); /* the v2 change is older: recorded, not applied */
    api_resp_free(r);
}
END_TEST

static api_resp *pipedrive_post(const char *ep, const char *user, const char *pass, const char *body)
{
    char path[128], cred[256], enc[400], h[440];
    snprintf(path, sizeof path, "/v1/hooks/%s", ep);
    int n = snprintf(cred, sizeof cred, "%s:%s", user, pass);
    b64((const unsigned char *)cred, n, enc);
    snprintf(h, sizeof h, "Authorization: Basic %s", enc);
    const char *hdr[] = {h, NULL};
    return api_req("POST", path, NULL, "application/json", body, strlen(body), hdr);
}

START_TEST(pipedrive_v2_and_v1_with_basic_auth)
{
    api_ws ws;
    api_new_workspace(&ws);
    char ep[64];
    make_endpoint(ws.admin,
                  "{\"source\":\"pipedrive\",\"apply_mode\":\"sync\","
                  "\"basic_auth\":{\"username\":\"pd\",\"password\":\"s3cret-pw\"},"
                  "\"stage_map\":{\"1\":\"discovery\",\"2\":\"proposal\"}}",
                  ep, sizeof ep, NULL, 0);
    const char *v2 = "{\"meta\":{\"action\":\"change\",\"entity\":\"deal\",\"entity_id\":\"42\","
                     "\"id\":\"8c6b6b8e-1111-4b1e-9e52-2c8a7f9c2d11\",\"company_id\":\"1\",\"user_id\":\"7\","
                     "\"timestamp\":\"2026-11-20T10:00:00.000Z\",\"version\":\"2.0\",\"webhook_id\":\"55\"},"
                     "\"data\":{\"id\":42,\"title\":\"Globex expansion\",\"value\":48000.5,\"currency\":\"EUR\","
                     "\"status\":\"open\",\"stage_id\":2,\"pipeline_id\":1,\"owner_id\":7,\"probability\":40,"
                     "\"expected_close_date\":\"2026-12-15\",\"add_time\":\"2026-11-01T09:00:00Z\","
                     "\"stage_change_time\":\"2026-11-19T08:00:00Z\",\"org_id\":3},"
                     "\"previous\":{\"stage_id\":1}}";
    api_resp *r = pipedrive_post(ep, "pd", "wrong", v2);
    ck_assert_status(r, 401);
    ck_assert_ptr_nonnull(strstr(r->www_authenticate, "Basic"));
    api_resp_free(r);
    r = api_req("POST", "/v1/hooks/00000000-0000-4000-8000-000000000000", NULL, "application/json", v2, strlen(v2),
                NULL);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = pipedrive_post(ep, "pd", "s3cret-pw", v2);
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "applied"), 1);
    api_resp_free(r);
    r = api_get("/v1/deals/42", ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "name"), "Globex expansion");
    ck_assert(json_number_value(json_object_get(r->json, "amount")) == 48000.5);
    ck_assert_str_eq(str(r->json, "currency"), "EUR");
    ck_assert_str_eq(str(r->json, "stage"), "proposal");
    ck_assert_str_eq(str(r->json, "owner"), "7");
    ck_assert_str_eq(str(r->json, "account"), "3");
    ck_assert(json_number_value(json_object_get(r->json, "probability")) == 0.4);
    ck_assert_str_eq(str(r->json, "stage_entered_at"), "2026-11-19T08:00:00Z");
    api_resp_free(r);

    /* v1: won, owner in user_id; then deleted */
    const char *v1 = "{\"v\":1,\"event\":\"updated.deal\",\"meta\":{\"v\":1,\"action\":\"updated\",\"object\":\"deal\","
                     "\"id\":42,\"company_id\":1,\"user_id\":7,\"timestamp\":1795690800,"
                     "\"timestamp_micro\":1795690800000000,\"webhook_id\":\"55\"},"
                     "\"current\":{\"id\":42,\"title\":\"Globex expansion\",\"value\":51000,\"currency\":\"EUR\","
                     "\"status\":\"won\",\"stage_id\":2,\"user_id\":{\"id\":8,\"name\":\"Ann\"},"
                     "\"won_time\":\"2026-11-21 10:00:00\"},\"previous\":{\"status\":\"open\"}}";
    r = pipedrive_post(ep, "pd", "s3cret-pw", v1);
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "applied"), 1);
    api_resp_free(r);
    r = api_get("/v1/deals/42", ws.read);
    ck_assert_str_eq(str(r->json, "status"), "won");
    ck_assert_str_eq(str(r->json, "owner"), "8");
    ck_assert_str_eq(str(r->json, "closed_at"), "2026-11-21T10:00:00Z");
    ck_assert(json_number_value(json_object_get(r->json, "amount")) == 51000.0);
    api_resp_free(r);
    r = pipedrive_post(ep, "pd", "s3cret-pw", v1);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "duplicate"), 1);
    api_resp_free(r);
}
END_TEST

static api_resp *standard_post(const char *ep, const char *msg_id, long long ts, const char *sigs, const char *body)
{
    char path[128], h1[128], h2[64], h3[600];
    snprintf(path, sizeof path, "/v1/hooks/%s", ep);
    snprintf(h1, sizeof h1, "webhook-id: %s", msg_id);
    snprintf(h2, sizeof h2, "webhook-timestamp: %lld", ts);
    snprintf(h3, sizeof h3, "webhook-signature: %s", sigs);
    const char *hdr[] = {h1, h2, h3, NULL};
    return api_req("POST", path, NULL, "application/json", body, strlen(body), hdr);
}

/* "v1,<base64 HMAC>" of id.ts.body with a whsec_ secret. */
static void standard_sig(const char *secret, const char *msg_id, long long ts, const char *body, char *out)
{
    unsigned char key[128];
    const char *k = secret + 6;
    int klen = EVP_DecodeBlock(key, (const unsigned char *)k, (int)strlen(k));
    size_t kl = strlen(k);
    klen -= (k[kl - 1] == '=') + (k[kl - 2] == '=');
    char msg[4096];
    int n = snprintf(msg, sizeof msg, "%s.%lld.%s", msg_id, ts, body);
    memcpy(out, "v1,", 3);
    hmac_b64(key, klen, msg, (size_t)n, out + 3);
}

START_TEST(standard_webhooks_rotation_and_tolerance)
{
    api_ws ws;
    api_new_workspace(&ws);
    char ep[64], secret[128];
    make_endpoint(ws.admin, "{\"source\":\"standard\",\"apply_mode\":\"sync\"}", ep, sizeof ep, secret, sizeof secret);
    ck_assert_int_eq(strncmp(secret, "whsec_", 6), 0); /* generated, shown once */
    char path[128];
    snprintf(path, sizeof path, "/v1/webhook-endpoints/%s", ep);
    api_resp *r = api_get(path, ws.admin);
    ck_assert_status(r, 200);
    ck_assert_ptr_null(json_object_get(r->json, "secret"));
    ck_assert(json_is_true(json_object_get(r->json, "has_secret")));
    api_resp_free(r);

    const char *body =
        "{\"type\":\"deal.updated\",\"timestamp\":\"2026-11-25T12:00:00Z\",\"data\":{"
        "\"external_id\":\"sf-006A\",\"name\":\"Initech\",\"amount\":\"75000.25\",\"stage\":\"proposal\","
        "\"status\":\"open\",\"owner\":\"rep-1\"}}";
    long long ts = (long long)time(NULL);
    char good[200], other[200], both[420];
    standard_sig(secret, "msg_1", ts, body, good);
    standard_sig("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_1", ts, body, other);
    /* rotation: the sender signs with the old and the new secret; either matching passes */
    snprintf(both, sizeof both, "%s %s", other, good);
    r = standard_post(ep, "msg_1", ts, other, body);
    ck_assert_status(r, 401);
    api_resp_free(r);
    r = standard_post(ep, "msg_1", ts - 301, good, body);
    ck_assert_status(r, 401);
    api_resp_free(r);
    r = standard_post(ep, "msg_1", ts, both, body);
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "applied"), 1);
    api_resp_free(r);
    r = standard_post(ep, "msg_1", ts, good, body);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "duplicate"), 1);
    api_resp_free(r);
    r = api_get("/v1/deals/sf-006A", ws.read);
    ck_assert_status(r, 200);
    ck_assert(json_number_value(json_object_get(r->json, "amount")) == 75000.25);
    ck_assert_str_eq(str(r->json, "owner"), "rep-1");
    api_resp_free(r);

    /* receiver-side rotation: the endpoint accepts a second secret while it is rotated in */
    const char *next = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    char patch[300];
    snprintf(patch, sizeof patch, "{\"secret\":\"%s\",\"additional_secrets\":[\"%s\"]}", next, secret);
    r = api_send_json("PATCH", path, ws.admin, patch);
    ck_assert_status(r, 200);
    api_resp_free(r);
    const char *del = "{\"type\":\"deal.deleted\",\"timestamp\":\"2026-11-26T12:00:00Z\",\"data\":{"
                      "\"external_id\":\"sf-006A\"}}";
    standard_sig(secret, "msg_2", ts, del, good); /* the old secret still works */
    r = standard_post(ep, "msg_2", ts, good, del);
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "applied"), 1);
    api_resp_free(r);
    r = api_get("/v1/deals/sf-006A", ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);

    /* malformed body with a valid signature: 400, nothing stored */
    standard_sig(next, "msg_3", ts, "[1,2]", good);
    r = standard_post(ep, "msg_3", ts, good, "[1,2]");
    ck_assert_status(r, 400);
    api_resp_free(r);
    ck_assert_int_eq(count_events(ws.read, ""), 3);
}
END_TEST

typedef struct {
    const char *ep, *secret;
    int n, round;
    long status;
    char outcome[32];
} race_arg;

static void *race_one(void *p)
{
    race_arg *a = p;
    char body[400], id[32], sig[200];
    snprintf(
        body, sizeof body,
        "{\"type\":\"deal.updated\",\"timestamp\":\"2026-11-25T12:00:%02dZ\",\"data\":{\"external_id\":\"race-%d\","
        "\"name\":\"Race\",\"amount\":%d,\"stage\":\"proposal\"}}",
        a->n, a->round, 1000 + a->n);
    snprintf(id, sizeof id, "msg_race_%d_%d", a->round, a->n);
    long long ts = (long long)time(NULL);
    standard_sig(a->secret, id, ts, body, sig);
    api_resp *r = standard_post(a->ep, id, ts, sig, body);
    a->status = r->status;
    snprintf(a->outcome, sizeof a->outcome, "%s",
             r->json ? str(json_array_get(json_object_get(r->json, "events"), 0), "status") : "?");
    api_resp_free(r);
    return NULL;
}

/* A delivery creating a deal that another transaction is creating at the
 * same moment (two deliveries for one new HubSpot deal, two instances): it
 * waits for the other and updates its row; it must not be rejected on the
 * deal's primary key. The other writer is held open here with libpq so the
 * overlap is certain, not left to timing. */
START_TEST(concurrent_create_waits_and_applies)
{
    api_ws ws;
    api_new_workspace(&ws);
    char ep[64], secret[128];
    make_endpoint(ws.admin, "{\"source\":\"standard\",\"apply_mode\":\"sync\"}", ep, sizeof ep, secret, sizeof secret);
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    const char *p[] = {ws.id};
    PQclear(PQexec(pg, "BEGIN"));
    PGresult *res = PQexecParams(pg,
                                 "SELECT deal_apply($1::uuid, 'race-1', '{\"name\":\"Race\",\"stage\":\"proposal\"}',"
                                 " '2026-11-25T11:00:00Z', 'api')",
                                 1, NULL, p, NULL, NULL, 0);
    ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    pthread_t t;
    race_arg a = {.ep = ep, .secret = secret, .n = 5, .round = 1};
    pthread_create(&t, NULL, race_one, &a);
    struct timespec pause = {0, 400 * 1000 * 1000}; /* the delivery is now waiting on the open insert */
    nanosleep(&pause, NULL);
    res = PQexec(pg, "COMMIT");
    ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    PQfinish(pg);
    pthread_join(t, NULL);
    ck_assert_int_eq(a.status, 200);
    ck_assert_str_eq(a.outcome, "applied");
    api_resp *r = api_get("/v1/deals/race-1", ws.read);
    ck_assert_status(r, 200);
    ck_assert(json_number_value(json_object_get(r->json, "amount")) == 1005.0);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "stage_history")), 1);
    api_resp_free(r);
}
END_TEST

/* The same event delivered twice at once: the second sees the first only
 * when it inserts (the first is not committed when it looks), so its fast
 * pass is rolled back and the event-by-event path answers "duplicate"; the
 * deal is changed once. The first delivery is played here with libpq. */
START_TEST(concurrent_same_event_applies_once)
{
    api_ws ws;
    api_new_workspace(&ws);
    char ep[64], secret[128];
    make_endpoint(ws.admin, "{\"source\":\"standard\",\"apply_mode\":\"sync\"}", ep, sizeof ep, secret, sizeof secret);
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    const char *p[] = {ws.id, ep};
    PQclear(PQexec(pg, "BEGIN"));
    PGresult *res = PQexecParams(pg,
                                 "WITH d AS (INSERT INTO webhook_deliveries (workspace_id, endpoint_id, headers, body)"
                                 " VALUES ($1::uuid, $2::uuid, '{}', '') RETURNING id)"
                                 " INSERT INTO webhook_events (workspace_id, endpoint_id, delivery_id, dedupe_key,"
                                 " payload, status) SELECT $1::uuid, $2::uuid, d.id, 'standard:msg_race_1_5', '{}',"
                                 " 'applied' FROM d",
                                 2, NULL, p, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(pg));
    PQclear(res);
    pthread_t t;
    race_arg a = {.ep = ep, .secret = secret, .n = 5, .round = 1}; /* webhook-id msg_race_1_5 */
    pthread_create(&t, NULL, race_one, &a);
    struct timespec pause = {0, 400 * 1000 * 1000};
    nanosleep(&pause, NULL);
    res = PQexec(pg, "COMMIT");
    ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    PQfinish(pg);
    pthread_join(t, NULL);
    ck_assert_int_eq(a.status, 200);
    ck_assert_str_eq(a.outcome, "duplicate");
    api_resp *r = api_get("/v1/deals/race-1", ws.read);
    ck_assert_status(r, 404); /* the first delivery (played above) changed no deal; the second applied nothing */
    api_resp_free(r);
}
END_TEST

START_TEST(endpoint_validation_and_isolation)
{
    api_ws a, b;
    api_new_workspace(&a);
    api_new_workspace(&b);
    const char *bad[] = {
        "{\"source\":\"hubspot\",\"public_url\":\"https://x.example\"}",        /* no secret */
        "{\"source\":\"hubspot\",\"secret\":\"s\",\"public_url\":\"ftp://x\"}", /* url */
        "{\"source\":\"pipedrive\"}",                                           /* no basic_auth */
        "{\"source\":\"standard\",\"secret\":\"not-whsec\"}",                   /* secret shape */
        "{\"source\":\"salesforce\"}",                                          /* source */
        "{\"source\":\"standard\",\"stage_map\":{\"x\":\"Bad Stage\"}}",        /* stage key */
        "{\"source\":\"standard\",\"field_map\":{\"x\":\"no_such_field\"}}",    /* field */
        "{\"source\":\"standard\",\"bogus\":1}",                                /* unknown */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        api_resp *r = api_send_json("POST", "/v1/webhook-endpoints", a.admin, bad[i]);
        ck_assert_msg(r->status == 422, "case %zu: status %ld", i, r->status);
        api_resp_free(r);
    }
    api_resp *r = api_send_json("POST", "/v1/webhook-endpoints", a.write, "{\"source\":\"standard\"}");
    ck_assert_status(r, 403);
    api_resp_free(r);

    char ep[64];
    make_endpoint(a.admin, hs_endpoint_json, ep, sizeof ep, NULL, 0);
    char e1[512], body[600];
    hs_event(e1, sizeof e1, 1, "31337", now_ms(), "dealname", "Secret deal");
    snprintf(body, sizeof body, "[%s]", e1);
    r = hubspot_post(ep, body, HS_SECRET, now_ms());
    ck_assert_status(r, 200);
    char evid[64];
    snprintf(evid, sizeof evid, "%s", str(json_array_get(json_object_get(r->json, "events"), 0), "id"));
    api_resp_free(r);

    /* workspace b sees none of it */
    char path[160];
    const char *fmts[] = {"/v1/webhook-endpoints/%s", "/v1/webhook-events/%s"};
    const char *ids[] = {ep, evid};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, fmts[i], ids[i]);
        r = api_get(path, b.admin);
        ck_assert_status(r, 404);
        api_resp_free(r);
    }
    snprintf(path, sizeof path, "/v1/webhook-events/%s/replay", evid);
    r = api_req("POST", path, b.admin, "application/json", "{}", 2, NULL);
    ck_assert_status(r, 404);
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/webhook-endpoints/%s", ep);
    r = api_req("DELETE", path, b.admin, NULL, NULL, 0, NULL);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_send_json("PATCH", path, b.admin, "{\"stage_map\":{}}");
    ck_assert_status(r, 404);
    api_resp_free(r);
    ck_assert_int_eq(count_events(b.read, ""), 0);
    r = api_get("/v1/webhook-endpoints", b.admin);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    api_resp_free(r);
    r = api_get("/v1/deals/31337", b.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/webhook-events?endpoint_id=%s", ep);
    ck_assert_int_eq(count_events(a.read, ""), 1);
    r = api_get("/v1/webhook-events?status=bogus", a.read);
    ck_assert_status(r, 422);
    api_resp_free(r);

    /* a deleted endpoint answers 404 to its CRM */
    snprintf(path, sizeof path, "/v1/webhook-endpoints/%s", ep);
    r = api_req("DELETE", path, a.admin, NULL, NULL, 0, NULL);
    ck_assert_status(r, 204);
    api_resp_free(r);
    r = hubspot_post(ep, body, HS_SECRET, now_ms());
    ck_assert_status(r, 404);
    api_resp_free(r);
}
END_TEST

/* HubSpot v3 and v2 sign the target URL with its query string (issue 17): a
 * target URL with ?portal=... verifies, and the query is authenticated: a
 * request whose query differs from the signed one is refused. */
static api_resp *hubspot_post_query(const char *ep, int version, const char *sent_query, const char *signed_query,
                                    const char *body)
{
    char path[256], uri[400], tsb[32], sig[80], msg[4096], h1[160], h2[64];
    snprintf(path, sizeof path, "/v1/hooks/%s%s", ep, sent_query);
    snprintf(uri, sizeof uri, HS_BASE "/v1/hooks/%s%s", ep, signed_query);
    snprintf(tsb, sizeof tsb, "%lld", now_ms());
    const char *hdr[4] = {h1, h2, NULL, NULL};
    if (version == 3) {
        int m = snprintf(msg, sizeof msg, "POST%s%s%s", uri, body, tsb);
        hmac_b64(HS_SECRET, (int)strlen(HS_SECRET), msg, (size_t)m, sig);
        snprintf(h1, sizeof h1, "X-HubSpot-Signature-v3: %s", sig);
        snprintf(h2, sizeof h2, "X-HubSpot-Request-Timestamp: %s", tsb);
    } else {
        int m = snprintf(msg, sizeof msg, "%sPOST%s%s", HS_SECRET, uri, body);
        sha_hex(msg, (size_t)m, sig);
        snprintf(h1, sizeof h1, "X-HubSpot-Signature: %s", sig);
        snprintf(h2, sizeof h2, "X-HubSpot-Signature-Version: v2");
    }
    return api_req("POST", path, NULL, "application/json", body, strlen(body), hdr);
}

START_TEST(hubspot_signs_the_query_string)
{
    api_ws ws;
    api_new_workspace(&ws);
    char ep[64];
    make_endpoint(ws.admin, hs_endpoint_json, ep, sizeof ep, NULL, 0);
    hs_seed_deal(ep, "8080", now_ms() - 60000);
    char ev[512], body[600];
    for (int v = 2; v <= 3; v++) {
        hs_event(ev, sizeof ev, 400 + v, "8080", now_ms() - 10000 + v, "dealname", v == 2 ? "Query v2" : "Query v3");
        snprintf(body, sizeof body, "[%s]", ev);
        /* the query is signed: another portal= than the one signed is refused, nothing stored */
        api_resp *r = hubspot_post_query(ep, v, "?portal=62515&src=hs", "?portal=99999&src=hs", body);
        ck_assert_msg(r->status == 401, "v%d: %ld", v, r->status);
        api_resp_free(r);
        /* a query dropped in transit is refused too */
        r = hubspot_post_query(ep, v, "", "?portal=62515&src=hs", body);
        ck_assert_msg(r->status == 401, "v%d: %ld", v, r->status);
        api_resp_free(r);
        r = hubspot_post_query(ep, v, "?portal=62515&src=hs", "?portal=62515&src=hs", body);
        ck_assert_msg(r->status == 200, "v%d: %ld %s", v, r->status, r->body);
        ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "applied"), 1);
        api_resp_free(r);
    }
    /* the characters HubSpot's v3 normalisation decodes, sent encoded, signed decoded */
    hs_event(ev, sizeof ev, 404, "8080", now_ms() - 1000, "dealname", "Query colon");
    snprintf(body, sizeof body, "[%s]", ev);
    api_resp *r = hubspot_post_query(ep, 3, "?next=a%3Ab%2Fc", "?next=a:b/c", body);
    ck_assert_status(r, 200);
    api_resp_free(r);
    ck_assert_int_eq(count_events(ws.read, ""), 5);
    r = api_get("/v1/deals/8080", ws.read);
    ck_assert_str_eq(str(r->json, "name"), "Query colon");
    api_resp_free(r);
}
END_TEST

/* PATCH: a field absent keeps its value; additional_secrets alone keeps the
 * current secret (it used to replace it, and deliveries signed with it then
 * answered 401); [] drops the additional ones. Svix's header family is
 * accepted like webhook-*; data.id names the deal as data.external_id does. */
START_TEST(standard_patch_svix_and_data_id)
{
    api_ws ws;
    api_new_workspace(&ws);
    char ep[64], secret[128];
    make_endpoint(ws.admin, "{\"source\":\"standard\",\"apply_mode\":\"sync\",\"stage_map\":{\"s1\":\"discovery\"}}",
                  ep, sizeof ep, secret, sizeof secret);
    char path[128];
    snprintf(path, sizeof path, "/v1/webhook-endpoints/%s", ep);
    const char *old = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    char patch[300];
    snprintf(patch, sizeof patch, "{\"additional_secrets\":[\"%s\"]}", old);
    api_resp *r = api_send_json("PATCH", path, ws.admin, patch);
    ck_assert_status(r, 200);
    ck_assert(json_is_true(json_object_get(r->json, "has_secret")));
    ck_assert_str_eq(str(json_object_get(r->json, "stage_map"), "s1"), "discovery"); /* absent: kept */
    api_resp_free(r);
    r = api_send_json("PATCH", path, ws.admin, "{\"field_map\":{\"prio\":\"custom.prio\"}}");
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(json_object_get(r->json, "stage_map"), "s1"), "discovery");
    api_resp_free(r);

    long long ts = (long long)time(NULL);
    char sig[200], body[400];
    const char *secrets[] = {secret, old};
    for (int i = 0; i < 2; i++) { /* the current secret and the additional one both verify */
        char id[32];
        snprintf(id, sizeof id, "msg_keep_%d", i);
        snprintf(body, sizeof body,
                 "{\"type\":\"deal.updated\",\"timestamp\":\"2026-11-25T12:00:0%dZ\",\"data\":{\"id\":\"sf-7\","
                 "\"name\":\"Umbrella %d\",\"stage\":\"s1\"}}",
                 i, i);
        standard_sig(secrets[i], id, ts, body, sig);
        r = standard_post(ep, id, ts, sig, body);
        ck_assert_msg(r->status == 200, "secret %d: %ld %s", i, r->status, r->body);
        ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "applied"), 1);
        api_resp_free(r);
    }
    r = api_get("/v1/deals/sf-7", ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "name"), "Umbrella 1");
    ck_assert_str_eq(str(r->json, "stage"), "discovery");
    api_resp_free(r);

    /* [] drops the additional secret; the current one stays */
    r = api_send_json("PATCH", path, ws.admin, "{\"additional_secrets\":[]}");
    ck_assert_status(r, 200);
    api_resp_free(r);
    snprintf(body, sizeof body,
             "{\"type\":\"deal.updated\",\"timestamp\":\"2026-11-25T12:01:00Z\",\"data\":{\"external_id\":\"sf-7\","
             "\"id\":\"sf-7\",\"amount\":\"10.50\"}}");
    standard_sig(old, "msg_drop", ts, body, sig);
    r = standard_post(ep, "msg_drop", ts, sig, body);
    ck_assert_status(r, 401);
    api_resp_free(r);

    /* Svix headers, signed with the current secret */
    char h1[64], h2[64], h3[300], hp[128];
    snprintf(hp, sizeof hp, "/v1/hooks/%s", ep);
    standard_sig(secret, "msg_svix", ts, body, sig);
    snprintf(h1, sizeof h1, "svix-id: msg_svix");
    snprintf(h2, sizeof h2, "svix-timestamp: %lld", ts);
    snprintf(h3, sizeof h3, "svix-signature: %s", sig);
    const char *hdr[] = {h1, h2, h3, NULL};
    r = api_req("POST", hp, NULL, "application/json", body, strlen(body), hdr);
    ck_assert_msg(r->status == 200, "%ld %s", r->status, r->body);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "applied"), 1);
    api_resp_free(r);
    /* the same message again under the webhook- names: the same event, a duplicate */
    r = standard_post(ep, "msg_svix", ts, sig, body);
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "duplicate"), 1);
    api_resp_free(r);
    /* a Svix signature over another id than the one sent is refused */
    snprintf(h1, sizeof h1, "svix-id: msg_svix_other");
    r = api_req("POST", hp, NULL, "application/json", body, strlen(body), hdr);
    ck_assert_status(r, 401);
    api_resp_free(r);
    r = api_get("/v1/deals/sf-7", ws.read);
    ck_assert(json_number_value(json_object_get(r->json, "amount")) == 10.5);
    api_resp_free(r);

    /* data.id and data.external_id naming different deals: rejected with the reason */
    snprintf(body, sizeof body,
             "{\"type\":\"deal.updated\",\"timestamp\":\"2026-11-25T12:02:00Z\",\"data\":{\"external_id\":\"sf-7\","
             "\"id\":\"sf-8\",\"amount\":\"99\"}}");
    standard_sig(secret, "msg_both", ts, body, sig);
    r = standard_post(ep, "msg_both", ts, sig, body);
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "rejected"), 1);
    ck_assert_ptr_nonnull(strstr(str(json_array_get(json_object_get(r->json, "events"), 0), "detail"), "sf-8"));
    api_resp_free(r);
}
END_TEST

/* A Pipedrive deal won (or lost) keeps the stage_id of its open stage: it is
 * now in closed_won, entered at won_time, so its stage history closes. */
START_TEST(pipedrive_won_closes_the_stage)
{
    api_ws ws;
    api_new_workspace(&ws);
    char ep[64];
    make_endpoint(ws.admin,
                  "{\"source\":\"pipedrive\",\"apply_mode\":\"sync\","
                  "\"basic_auth\":{\"username\":\"pd\",\"password\":\"pw-2\"},"
                  "\"stage_map\":{\"1\":\"discovery\",\"2\":\"proposal\"}}",
                  ep, sizeof ep, NULL, 0);
    const char *fmt = "{\"meta\":{\"action\":\"change\",\"entity\":\"deal\",\"entity_id\":\"77\","
                      "\"id\":\"%s\",\"timestamp\":\"%s\",\"version\":\"2.0\",\"webhook_id\":\"55\"},"
                      "\"data\":{\"id\":77,\"title\":\"Hooli\",\"value\":1000,\"currency\":\"USD\",\"status\":\"%s\","
                      "\"stage_id\":2,\"stage_change_time\":\"2026-11-10T08:00:00Z\",\"won_time\":%s,"
                      "\"lost_time\":%s,\"add_time\":\"2026-11-01T09:00:00Z\"}}";
    char body[1200];
    snprintf(body, sizeof body, fmt, "9c6b6b8e-0001-4b1e-9e52-2c8a7f9c2d11", "2026-11-10T08:00:00Z", "open", "null",
             "null");
    api_resp *r = pipedrive_post(ep, "pd", "pw-2", body);
    ck_assert_status(r, 200);
    api_resp_free(r);
    snprintf(body, sizeof body, fmt, "9c6b6b8e-0002-4b1e-9e52-2c8a7f9c2d11", "2026-11-20T15:00:00Z", "won",
             "\"2026-11-20T15:00:00Z\"", "null");
    r = pipedrive_post(ep, "pd", "pw-2", body);
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "applied"), 1);
    api_resp_free(r);
    r = api_get("/v1/deals/77", ws.read);
    ck_assert_str_eq(str(r->json, "status"), "won");
    ck_assert_str_eq(str(r->json, "stage"), "closed_won");
    ck_assert_str_eq(str(r->json, "closed_at"), "2026-11-20T15:00:00Z");
    json_t *sh = json_object_get(r->json, "stage_history");
    ck_assert_int_eq(json_array_size(sh), 2);
    ck_assert_str_eq(str(json_array_get(sh, 0), "stage"), "proposal");
    ck_assert_str_eq(str(json_array_get(sh, 1), "stage"), "closed_won");
    ck_assert_str_eq(str(json_array_get(sh, 1), "entered_at"), "2026-11-20T15:00:00Z");
    api_resp_free(r);
    /* reopened: back in the stage Pipedrive names */
    snprintf(body, sizeof body, fmt, "9c6b6b8e-0003-4b1e-9e52-2c8a7f9c2d11", "2026-11-22T10:00:00Z", "open", "null",
             "null");
    r = pipedrive_post(ep, "pd", "pw-2", body);
    ck_assert_status(r, 200);
    api_resp_free(r);
    r = api_get("/v1/deals/77", ws.read);
    ck_assert_str_eq(str(r->json, "status"), "open");
    ck_assert_str_eq(str(r->json, "stage"), "proposal");
    api_resp_free(r);
}
END_TEST

/* A HubSpot endpoint takes one portal's deals: bound at creation or by its
 * first delivery; another portal's events are rejected (stored, with the
 * reason), so two portals' deal 6000 never merge; the binding cannot move. */
START_TEST(hubspot_endpoint_bound_to_a_portal)
{
    api_ws ws;
    api_new_workspace(&ws);
    char ep[64];
    make_endpoint(ws.admin, hs_endpoint_json, ep, sizeof ep, NULL, 0);
    char path[128];
    snprintf(path, sizeof path, "/v1/webhook-endpoints/%s", ep);
    api_resp *r = api_get(path, ws.admin);
    ck_assert(json_is_null(json_object_get(r->json, "portal_id")));
    api_resp_free(r);
    hs_seed_deal(ep, "6000", now_ms() - 60000);
    char ev[512], body[1200], other[512];
    hs_event(ev, sizeof ev, 500, "6000", now_ms() - 5000, "dealname", "Ours");
    snprintf(body, sizeof body, "[%s]", ev);
    r = hubspot_post(ep, body, HS_SECRET, now_ms());
    ck_assert_status(r, 200);
    api_resp_free(r);
    r = api_get(path, ws.admin);
    ck_assert_str_eq(str(r->json, "portal_id"), "62515"); /* hs_event's portal */
    api_resp_free(r);
    hs_event(other, sizeof other, 501, "6000", now_ms() - 4000, "dealname", "Theirs");
    char *pp = strstr(other, "62515");
    memcpy(pp, "77777", 5);
    hs_event(ev, sizeof ev, 502, "6000", now_ms() - 3000, "amount", "50");
    snprintf(body, sizeof body, "[%s,%s]", other, ev);
    r = hubspot_post(ep, body, HS_SECRET, now_ms());
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "applied"), 1);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "rejected"), 1);
    ck_assert_ptr_nonnull(strstr(str(json_array_get(json_object_get(r->json, "events"), 0), "detail"), "77777"));
    api_resp_free(r);
    r = api_get("/v1/deals/6000", ws.read);
    ck_assert_str_eq(str(r->json, "name"), "Ours");
    api_resp_free(r);
    r = api_send_json("PATCH", path, ws.admin, "{\"portal_id\":\"77777\"}");
    ck_assert_status(r, 422);
    api_resp_free(r);
    r = api_send_json("PATCH", path, ws.admin, "{\"portal_id\":62515}"); /* the same portal: fine */
    ck_assert_status(r, 200);
    api_resp_free(r);
    /* set at creation; only for hubspot */
    r = api_send_json("POST", "/v1/webhook-endpoints", ws.admin,
                      "{\"source\":\"hubspot\",\"secret\":\"x\",\"public_url\":\"https://a.example\","
                      "\"portal_id\":\"77777\"}");
    ck_assert_status(r, 201);
    ck_assert_str_eq(str(r->json, "portal_id"), "77777");
    api_resp_free(r);
    const char *bad[] = {"{\"source\":\"standard\",\"portal_id\":\"1\"}",
                         "{\"source\":\"hubspot\",\"secret\":\"x\",\"public_url\":\"https://a.example\","
                         "\"portal_id\":\"12a\"}"};
    for (int i = 0; i < 2; i++) {
        r = api_send_json("POST", "/v1/webhook-endpoints", ws.admin, bad[i]);
        ck_assert_status(r, 422);
        api_resp_free(r);
    }
}
END_TEST

/* The state of one stored event, by id. */
static char *event_state(const char *key, const char *id, char *out, size_t len)
{
    char path[128];
    snprintf(path, sizeof path, "/v1/webhook-events/%s", id);
    api_resp *r = api_get(path, key);
    ck_assert_status(r, 200);
    snprintf(out, len, "%s", str(r->json, "state"));
    ck_assert_str_eq(str(r->json, "state"), str(r->json, "status"));
    api_resp_free(r);
    return out;
}

/* Store, then apply (the default): the answer is {accepted, duplicates} once
 * stored; the appliers apply afterwards; ?wait=applied answers each event's
 * state once applied. A HubSpot deal.creation alone, or changes for a deal
 * not known yet, are held until its name and stage arrive, then applied in
 * their time order with the event that completes them. */
START_TEST(async_store_then_apply_and_held_deals)
{
    api_ws ws;
    api_new_workspace(&ws);
    char ep[64];
    make_endpoint(ws.admin,
                  "{\"source\":\"hubspot\",\"secret\":\"" HS_SECRET "\",\"public_url\":\"" HS_BASE
                  "\",\"stage_map\":{\"appointmentscheduled\":\"discovery\",\"contractsent\":\"negotiation\"}}",
                  ep, sizeof ep, NULL, 0);
    char path[160];
    snprintf(path, sizeof path, "/v1/webhook-endpoints/%s", ep);
    api_resp *r = api_get(path, ws.admin);
    ck_assert_str_eq(str(r->json, "apply_mode"), "async");
    api_resp_free(r);

    long long t0 = now_ms() - 100000;
    char e1[512], e2[512], e3[512], body[2000];
    snprintf(e1, sizeof e1,
             "{\"eventId\":700,\"subscriptionId\":7,\"portalId\":62515,\"occurredAt\":%lld,"
             "\"subscriptionType\":\"deal.creation\",\"objectId\":4040,\"changeFlag\":\"CREATED\"}",
             t0);
    hs_event(e2, sizeof e2, 701, "4040", t0 + 1000, "amount", "2500");
    snprintf(body, sizeof body, "[%s,%s]", e1, e2);
    r = hubspot_post(ep, body, HS_SECRET, now_ms());
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(r->json, "accepted"), 2); /* stored; applied afterwards */
    ck_assert_int_eq(inum(r->json, "duplicates"), 0);
    ck_assert_ptr_null(json_object_get(r->json, "events"));
    api_resp_free(r);
    /* redelivered while (or after) it applies: a duplicate, nothing changes */
    r = hubspot_post(ep, body, HS_SECRET, now_ms());
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(r->json, "accepted"), 0);
    ck_assert_int_eq(inum(r->json, "duplicates"), 2);
    api_resp_free(r);

    /* the creation and the amount alone: held, no deal without a name and a stage */
    hs_event(e3, sizeof e3, 702, "4040", t0 + 1500, "closedate", "2026-12-20");
    snprintf(body, sizeof body, "[%s]", e3);
    char *wpath = NULL;
    {
        char p2[200], uri[300], tsb[32], sig[80], msg[2000], h1[160], h2[64];
        snprintf(p2, sizeof p2, "/v1/hooks/%s?wait=applied", ep);
        snprintf(uri, sizeof uri, HS_BASE "%s", p2);
        snprintf(tsb, sizeof tsb, "%lld", now_ms());
        int m = snprintf(msg, sizeof msg, "POST%s%s%s", uri, body, tsb);
        hmac_b64(HS_SECRET, (int)strlen(HS_SECRET), msg, (size_t)m, sig);
        snprintf(h1, sizeof h1, "X-HubSpot-Signature-v3: %s", sig);
        snprintf(h2, sizeof h2, "X-HubSpot-Request-Timestamp: %s", tsb);
        const char *hdr[] = {h1, h2, NULL};
        r = api_req("POST", p2, NULL, "application/json", body, strlen(body), hdr);
        wpath = p2;
        (void)wpath;
    }
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "held"), 1);
    ck_assert_ptr_nonnull(strstr(str(json_array_get(json_object_get(r->json, "events"), 0), "detail"), "4040"));
    api_resp_free(r);
    r = api_get("/v1/deals/4040", ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    ck_assert_int_eq(count_events(ws.read, "&status=held"), 3);
    char id[64];
    r = api_get("/v1/webhook-events?status=held&limit=1", ws.read);
    snprintf(id, sizeof id, "%s", str(json_array_get(json_object_get(r->json, "items"), 0), "id"));
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/webhook-events/%s/replay", id);
    r = api_req("POST", path, ws.write, "application/json", "{}", 2, NULL);
    ck_assert_status(r, 409); /* replaying a held event would create the deal without name and stage */
    api_resp_free(r);

    /* the name and the stage arrive (async, waited for): everything applies, in time order */
    hs_event(e1, sizeof e1, 703, "4040", t0 + 2000, "dealname", "Initrode");
    hs_event(e2, sizeof e2, 704, "4040", t0 + 3000, "dealstage", "contractsent");
    snprintf(body, sizeof body, "[%s,%s]", e1, e2);
    char p2[200], uri[300], tsb[32], sig[80], msg[2000], h1[160], h2[64];
    snprintf(p2, sizeof p2, "/v1/hooks/%s?wait=applied", ep);
    snprintf(uri, sizeof uri, HS_BASE "%s", p2);
    snprintf(tsb, sizeof tsb, "%lld", now_ms());
    int m = snprintf(msg, sizeof msg, "POST%s%s%s", uri, body, tsb);
    hmac_b64(HS_SECRET, (int)strlen(HS_SECRET), msg, (size_t)m, sig);
    snprintf(h1, sizeof h1, "X-HubSpot-Signature-v3: %s", sig);
    snprintf(h2, sizeof h2, "X-HubSpot-Request-Timestamp: %s", tsb);
    const char *hdr[] = {h1, h2, NULL};
    r = api_req("POST", p2, NULL, "application/json", body, strlen(body), hdr);
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "applied"), 2);
    api_resp_free(r);
    r = api_get("/v1/deals/4040", ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "name"), "Initrode");
    ck_assert_str_eq(str(r->json, "stage"), "negotiation");
    ck_assert(json_number_value(json_object_get(r->json, "amount")) == 2500.0);
    ck_assert_str_eq(str(r->json, "expected_close_date"), "2026-12-20");
    api_resp_free(r);
    ck_assert_int_eq(count_events(ws.read, "&status=held"), 0);
    ck_assert_int_eq(count_events(ws.read, "&status=pending"), 0);
    char st[32];
    ck_assert_str_eq(event_state(ws.read, id, st, sizeof st), "applied");

    /* a deal created meanwhile by PUT takes its held events with its next webhook event */
    hs_event(e1, sizeof e1, 710, "4041", t0 + 5000, "amount", "777");
    snprintf(body, sizeof body, "[%s]", e1);
    r = hubspot_post(ep, body, HS_SECRET, now_ms());
    ck_assert_status(r, 200);
    api_resp_free(r);
    for (int i = 0; i < 100 && count_events(ws.read, "&status=pending") > 0; i++) {
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    ck_assert_int_eq(count_events(ws.read, "&status=held"), 1);
    r = api_send_json("PUT", "/v1/deals/4041", ws.write, "{\"name\":\"Vandelay\",\"stage\":\"proposal\"}");
    ck_assert_int_lt(r->status, 300);
    api_resp_free(r);
    hs_event(e2, sizeof e2, 711, "4041", t0 + 6000, "closedate", "2026-12-21");
    snprintf(body, sizeof body, "[%s]", e2);
    snprintf(p2, sizeof p2, "/v1/hooks/%s?wait=applied", ep);
    snprintf(tsb, sizeof tsb, "%lld", now_ms());
    m = snprintf(msg, sizeof msg, "POST%s%s%s", uri, body, tsb);
    hmac_b64(HS_SECRET, (int)strlen(HS_SECRET), msg, (size_t)m, sig);
    snprintf(h1, sizeof h1, "X-HubSpot-Signature-v3: %s", sig);
    snprintf(h2, sizeof h2, "X-HubSpot-Request-Timestamp: %s", tsb);
    r = api_req("POST", p2, NULL, "application/json", body, strlen(body), hdr);
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "applied"), 1);
    api_resp_free(r);
    ck_assert_int_eq(count_events(ws.read, "&status=held"), 0);
    r = api_get("/v1/deals/4041", ws.read);
    ck_assert(json_number_value(json_object_get(r->json, "amount")) == 777.0);
    ck_assert_str_eq(str(r->json, "name"), "Vandelay");
    ck_assert_str_eq(str(r->json, "expected_close_date"), "2026-12-21");
    api_resp_free(r);

    /* bad ?wait: 422 before anything is stored */
    r = api_req("POST", "/v1/hooks/00000000-0000-4000-8000-000000000000?wait=soon", NULL, "application/json", "[]", 2,
                NULL);
    ck_assert_int_ne(r->status, 200);
    api_resp_free(r);
    r = api_get("/metrics", NULL);
    ck_assert_ptr_nonnull(strstr(r->body, "revops_webhook_pending_events "));
    ck_assert_ptr_nonnull(strstr(r->body, "revops_webhook_oldest_pending_seconds "));
    api_resp_free(r);
    r = api_get("/readyz", NULL);
    ck_assert_status(r, 200);
    api_resp_free(r);
}
END_TEST

/* Faults: a second revopsd applies beside the suite's (two instances at
 * once) and is SIGKILLed in the middle of an async storm sent to it. Every
 * acknowledged event must end applied exactly once (a trigger records each
 * event's leaving 'pending'), and each deal's stage changes in time order
 * (an out-of-order application would leave a stage change stale and the
 * history short). */
START_TEST(async_storm_sigkill_and_two_appliers)
{
    api_ws ws;
    api_new_workspace(&ws);
    char ep[64], secret[128];
    make_endpoint(ws.admin, "{\"source\":\"standard\"}", ep, sizeof ep, secret, sizeof secret);
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    PQclear(PQexec(pg, "CREATE TABLE IF NOT EXISTS test_hook_audit (id uuid, ws uuid, n bigserial)"));
    PQclear(PQexec(pg, "CREATE OR REPLACE FUNCTION test_hook_audit_fn() RETURNS trigger LANGUAGE plpgsql AS $$"
                       " BEGIN INSERT INTO test_hook_audit (id, ws) VALUES (NEW.id, NEW.workspace_id); RETURN NEW;"
                       " END $$"));
    PQclear(PQexec(pg, "DROP TRIGGER IF EXISTS test_hook_audit_t ON webhook_events"));
    PGresult *res = PQexec(pg, "CREATE TRIGGER test_hook_audit_t AFTER UPDATE OF status ON webhook_events FOR EACH ROW"
                               " WHEN (OLD.status = 'pending' AND NEW.status <> 'pending')"
                               " EXECUTE FUNCTION test_hook_audit_fn()");
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(pg));
    PQclear(res);

    int port = api_free_port();
    const char *args[] = {"--webhook-appliers", "2", "--webhook-batch", "7", NULL};
    pid_t other = api_spawn_server(api_db_url(), port, args);
    ck_assert(api_wait_healthy(port, 15000));
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    enum { DEALS = 12, CHANGES = 10 };
    int acked = 0;
    const char *stages[] = {"discovery", "proposal"};
    for (int c = 0; c < CHANGES; c++) {
        for (int d = 0; d < DEALS; d++) {
            char body[400], id[40], sig[200], h1[64], h2[64], h3[300], hp[128];
            snprintf(
                body, sizeof body,
                "{\"type\":\"deal.updated\",\"timestamp\":\"2026-11-25T12:%02d:00Z\",\"data\":{\"id\":\"storm-%d\","
                "\"name\":\"Storm %d\",\"amount\":%d,\"stage\":\"%s\"}}",
                c, d, d, 100 * c + d, stages[c % 2]);
            snprintf(id, sizeof id, "msg_storm_%d_%d", c, d);
            long long ts = (long long)time(NULL);
            standard_sig(secret, id, ts, body, sig);
            snprintf(hp, sizeof hp, "/v1/hooks/%s", ep);
            snprintf(h1, sizeof h1, "webhook-id: %s", id);
            snprintf(h2, sizeof h2, "webhook-timestamp: %lld", ts);
            snprintf(h3, sizeof h3, "webhook-signature: %s", sig);
            const char *hdr[] = {h1, h2, h3, NULL};
            bool to_other = other > 0 && c < CHANGES / 2;
            api_resp *r = to_other ? api_req_at(base, "POST", hp, NULL, "application/json", body, strlen(body), hdr)
                                   : api_req("POST", hp, NULL, "application/json", body, strlen(body), hdr);
            if (r->status == 200) {
                ck_assert_int_eq(inum(r->json, "accepted"), 1);
                acked++;
            }
            api_resp_free(r);
        }
        if (c == CHANGES / 2 - 1 && other > 0) { /* mid-storm, appliers busy: no chance to finish anything */
            kill(other, SIGKILL);
            waitpid(other, NULL, 0);
            other = 0;
        }
    }
    ck_assert_int_eq(acked, DEALS * CHANGES); /* every delivery was acknowledged (the killed one before its kill) */
    /* the suite's instance applies what the killed one left */
    const char *p[] = {ws.id};
    char left[32] = "?";
    for (int i = 0; i < 300; i++) {
        res =
            PQexecParams(pg, "SELECT count(*) FROM webhook_events WHERE workspace_id = $1::uuid AND status = 'pending'",
                         1, NULL, p, NULL, NULL, 0);
        snprintf(left, sizeof left, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        if (strcmp(left, "0") == 0)
            break;
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    ck_assert_str_eq(left, "0");
    res = PQexecParams(
        pg,
        "SELECT (SELECT count(*) FROM webhook_events WHERE workspace_id = $1::uuid AND status = 'applied'),"
        " (SELECT count(*) FROM test_hook_audit WHERE ws = $1::uuid),"
        " (SELECT count(DISTINCT id) FROM test_hook_audit WHERE ws = $1::uuid)",
        1, NULL, p, NULL, NULL, 0);
    ck_assert_int_eq(atoi(PQgetvalue(res, 0, 0)), DEALS * CHANGES); /* all applied, none stale */
    ck_assert_int_eq(atoi(PQgetvalue(res, 0, 1)), DEALS * CHANGES); /* each left pending once */
    ck_assert_int_eq(atoi(PQgetvalue(res, 0, 2)), DEALS * CHANGES);
    PQclear(res);
    PQclear(PQexec(pg, "DROP TRIGGER IF EXISTS test_hook_audit_t ON webhook_events"));
    PQfinish(pg);
    for (int d = 0; d < DEALS; d++) {
        char path[64];
        snprintf(path, sizeof path, "/v1/deals/storm-%d", d);
        api_resp *r = api_get(path, ws.read);
        ck_assert_status(r, 200);
        ck_assert(json_number_value(json_object_get(r->json, "amount")) == 100.0 * (CHANGES - 1) + d);
        json_t *sh = json_object_get(r->json, "stage_history");
        ck_assert_msg(json_array_size(sh) == CHANGES, "deal %d: %zu stage entries", d, json_array_size(sh));
        for (int c = 0; c < CHANGES; c++) {
            char want[32];
            snprintf(want, sizeof want, "2026-11-25T12:%02d:00Z", c);
            ck_assert_str_eq(str(json_array_get(sh, (size_t)c), "entered_at"), want);
        }
        api_resp_free(r);
    }
}
END_TEST

/* Backpressure: while the appliers cannot finish (the test holds the deals
 * table, so their batches wait and the events stay pending), an instance
 * started with --webhook-max-backlog 3 and --webhook-max-lag 1 answers
 * /readyz degraded with the figures, and an async delivery above the backlog
 * 503 with Retry-After, storing nothing; a sync endpoint still answers. Once
 * the lock goes, everything acknowledged applies. */
START_TEST(async_backlog_503_and_degraded)
{
    api_ws ws;
    api_new_workspace(&ws);
    char ep[64], secret[128];
    make_endpoint(ws.admin, "{\"source\":\"standard\"}", ep, sizeof ep, secret, sizeof secret);
    int port = api_free_port();
    const char *args[] = {"--webhook-appliers", "1", "--webhook-max-backlog", "3", "--webhook-max-lag", "1", NULL};
    pid_t other = api_spawn_server(api_db_url(), port, args);
    ck_assert(api_wait_healthy(port, 15000));
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    PQclear(PQexec(pg, "BEGIN"));
    PGresult *res = PQexec(pg, "LOCK TABLE deals IN EXCLUSIVE MODE");
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(pg));
    PQclear(res);
    long status[8] = {0};
    char retry[8][16] = {{0}};
    for (int i = 0; i < 8; i++) {
        char body[300], id[40], sig[200], h1[64], h2[64], h3[300], hp[128];
        snprintf(body, sizeof body,
                 "{\"type\":\"deal.updated\",\"timestamp\":\"2026-11-25T12:00:00Z\",\"data\":{\"id\":\"bp-%d\","
                 "\"name\":\"Backlog\",\"stage\":\"proposal\"}}",
                 i);
        snprintf(id, sizeof id, "msg_bp_%d", i);
        long long ts = (long long)time(NULL);
        standard_sig(secret, id, ts, body, sig);
        snprintf(hp, sizeof hp, "/v1/hooks/%s", ep);
        snprintf(h1, sizeof h1, "webhook-id: %s", id);
        snprintf(h2, sizeof h2, "webhook-timestamp: %lld", ts);
        snprintf(h3, sizeof h3, "webhook-signature: %s", sig);
        const char *hdr[] = {h1, h2, h3, NULL};
        api_resp *r = api_req_at(base, "POST", hp, NULL, "application/json", body, strlen(body), hdr);
        status[i] = r->status;
        if (r->status == 503) {
            ck_assert_str_eq(str(r->json, "type"), "/problems/webhook-backlog");
            snprintf(retry[i], sizeof retry[i], "%s", r->retry_after);
        }
        api_resp_free(r);
        if (i == 3) { /* 4 pending: let the instance read its backlog (once a second) */
            struct timespec pause = {1, 600 * 1000 * 1000};
            nanosleep(&pause, NULL);
        }
    }
    for (int i = 0; i < 4; i++)
        ck_assert_msg(status[i] == 200, "delivery %d: %ld", i, status[i]);
    for (int i = 4; i < 8; i++) {
        ck_assert_msg(status[i] == 503, "delivery %d: %ld", i, status[i]);
        ck_assert_str_eq(retry[i], "30");
    }
    struct timespec lag = {1, 300 * 1000 * 1000}; /* the oldest is over 1 s old at the next reading */
    nanosleep(&lag, NULL);
    api_resp *r = api_req_at(base, "GET", "/readyz", NULL, NULL, NULL, 0, NULL);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "status"), "degraded");
    ck_assert_int_ge(inum(r->json, "webhook_pending"), 4);
    api_resp_free(r);
    PQclear(PQexec(pg, "COMMIT"));
    const char *p[] = {ws.id};
    char left[32] = "?";
    for (int i = 0; i < 300 && strcmp(left, "0") != 0; i++) {
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
        res =
            PQexecParams(pg, "SELECT count(*) FROM webhook_events WHERE workspace_id = $1::uuid AND status = 'pending'",
                         1, NULL, p, NULL, NULL, 0);
        snprintf(left, sizeof left, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    ck_assert_str_eq(left, "0");
    PQfinish(pg);
    ck_assert_int_eq(count_events(ws.read, "&status=applied"), 4); /* the refused ones were not stored */
    r = api_get("/v1/deals/bp-3", ws.read);
    ck_assert_status(r, 200);
    api_resp_free(r);
    kill(other, SIGTERM);
    waitpid(other, NULL, 0);
}
END_TEST

/* Events applied in the background (async endpoints) reach the forecast
 * engine's cache: the learned model of the next forecast counts the closes
 * they brought (server/whapply.c marks the workspace; without it the model
 * kept from before would be served for minutes). */
static double learned_closed_deals(const api_ws *ws, const char *body)
{
    api_resp *r = api_send_json("POST", "/v1/forecasts", ws->write, body);
    ck_assert_status(r, 201);
    double n = (double)json_integer_value(json_object_get(json_object_get(r->json, "learned"), "closed_deals"));
    api_resp_free(r);
    return n;
}

START_TEST(async_applied_closes_reach_the_learned_forecast)
{
    api_ws ws;
    api_new_workspace(&ws);
    char path[96], body[512], day[16], day2[16];
    for (int i = 0; i < 40; i++) { /* created 400..361 days ago, closed 30 days later */
        snprintf(path, sizeof path, "/v1/deals/h%d", i);
        snprintf(body, sizeof body,
                 "{\"as_of\":\"%sT12:00:00Z\",\"name\":\"h%d\",\"amount\":%d,\"stage\":\"proposal\"}",
                 api_day(-400 + i, day), i, 1000 + 100 * i);
        api_resp *r = api_send_json("PUT", path, ws.write, body);
        ck_assert_status(r, 201); /* created */
        api_resp_free(r);
        snprintf(body, sizeof body, "{\"as_of\":\"%sT12:00:00Z\",\"name\":\"h%d\",\"stage\":\"%s\"}",
                 api_day(-370 + i, day), i, i % 3 ? "closed_won" : "closed_lost");
        r = api_send_json("PUT", path, ws.write, body);
        ck_assert_status(r, 200);
        api_resp_free(r);
    }
    char q[16], fc[128];
    snprintf(fc, sizeof fc, "{\"period\":\"%s\",\"method\":\"learned\",\"explain\":true}", api_quarter_of_day(0, q));
    char ep[64], secret[128];
    make_endpoint(ws.admin, "{\"source\":\"standard\"}", ep, sizeof ep, secret, sizeof secret); /* async */
    ck_assert(learned_closed_deals(&ws, fc) == 40); /* the model is kept from here */
    for (int i = 0; i < 3; i++) { /* three deals won 200 days ago, each created and closed by one event */
        char msg_id[32], sig[128], h1[64], h2[64], h3[200], p2[160];
        snprintf(msg_id, sizeof msg_id, "msg_fc_%d", i);
        snprintf(body, sizeof body,
                 "{\"type\":\"deal.updated\",\"timestamp\":\"%sT12:00:00Z\",\"data\":{\"external_id\":\"w%d\","
                 "\"name\":\"w%d\",\"amount\":5000,\"stage\":\"closed_won\"}}",
                 api_day(-200, day2), i, i);
        long long ts = now_ms() / 1000;
        standard_sig(secret, msg_id, ts, body, sig);
        snprintf(h1, sizeof h1, "webhook-id: %s", msg_id);
        snprintf(h2, sizeof h2, "webhook-timestamp: %lld", ts);
        snprintf(h3, sizeof h3, "webhook-signature: %s", sig);
        const char *hdr[] = {h1, h2, h3, NULL};
        snprintf(p2, sizeof p2, "/v1/hooks/%s?wait=applied", ep);
        api_resp *r = api_req("POST", p2, NULL, "application/json", body, strlen(body), hdr);
        ck_assert_status(r, 200);
        api_resp_free(r);
    }
    snprintf(path, sizeof path, "/v1/deals/w2");
    api_resp *r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "status"), "won");
    api_resp_free(r);
    ck_assert(learned_closed_deals(&ws, fc) == 43);
}
END_TEST

/* The postmaster of a scripts/devdb cluster in dir and the processes it
 * started (/proc/<pid>/stat's fourth field is the parent). */
static int pg_pids(const char *dir, pid_t *out, int max)
{
    char real[512], path[600], buf[512];
    snprintf(real, sizeof real, "%s", dir);
    snprintf(path, sizeof path, "%s/LOCATION", dir);
    FILE *f = fopen(path, "r");
    if (f) {
        if (fgets(real, sizeof real, f))
            real[strcspn(real, "\n")] = '\0';
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/data/postmaster.pid", real);
    f = fopen(path, "r");
    long pm = 0;
    if (f) {
        if (fgets(buf, sizeof buf, f))
            pm = strtol(buf, NULL, 10);
        fclose(f);
    }
    if (pm <= 0)
        return 0;
    int n = 0;
    out[n++] = (pid_t)pm;
    FILE *ls = popen("ls /proc", "r");
    while (ls && fgets(buf, sizeof buf, ls) && n < max) {
        long pid = strtol(buf, NULL, 10);
        char st[64], line[512];
        snprintf(st, sizeof st, "/proc/%ld/stat", pid);
        FILE *sf = pid > 0 ? fopen(st, "r") : NULL;
        if (!sf)
            continue;
        long ppid = 0;
        if (fgets(line, sizeof line, sf)) {
            const char *rp = strrchr(line, ')');
            if (rp)
                sscanf(rp + 2, "%*c %ld", &ppid);
        }
        fclose(sf);
        if (ppid == pm)
            out[n++] = (pid_t)pid;
    }
    if (ls)
        pclose(ls);
    return n;
}

/* One signed Standard Webhooks event for deal pg-i to base; the status. */
static long pg_storm_post(const char *base, const char *ep, const char *secret, int i)
{
    char body[300], id[40], sig[200], h1[64], h2[64], h3[300], hp[128];
    snprintf(body, sizeof body,
             "{\"type\":\"deal.updated\",\"timestamp\":\"2026-11-25T12:00:00Z\",\"data\":{\"id\":\"pg-%d\","
             "\"name\":\"Crash %d\",\"stage\":\"proposal\",\"amount\":%d}}",
             i, i, 1000 + i);
    snprintf(id, sizeof id, "msg_pg_%d", i);
    long long ts = (long long)time(NULL);
    standard_sig(secret, id, ts, body, sig);
    snprintf(hp, sizeof hp, "/v1/hooks/%s", ep);
    snprintf(h1, sizeof h1, "webhook-id: %s", id);
    snprintf(h2, sizeof h2, "webhook-timestamp: %lld", ts);
    snprintf(h3, sizeof h3, "webhook-signature: %s", sig);
    const char *hdr[] = {h1, h2, h3, NULL};
    api_resp *r = api_req_at(base, "POST", hp, NULL, "application/json", body, strlen(body), hdr);
    long st = r->status;
    api_resp_free(r);
    return st;
}

/* SIGKILL of PostgreSQL (the postmaster and every backend) in the middle of
 * an async storm, on a private cluster: deliveries during the outage are
 * refused (503), never acknowledged; after the restart (crash recovery) every
 * acknowledged event is applied exactly once (an audit trigger counts each
 * event's leaving 'pending'), appliers and pool having reconnected. */
START_TEST(async_storm_postgres_sigkill)
{
    char dir[300], url[512], cmd[1400], out[4096];
    snprintf(dir, sizeof dir, "%s/hooks-crash-pg", api_tmpdir());
    /* durable commits (not api_devdb's DEVDB_FAST, whose synchronous_commit=off may lose the last
     * commits in a crash): an acknowledged event must survive one */
    snprintf(cmd, sizeof cmd, "scripts/devdb start '%s' 2>&1", dir);
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 0);
    size_t ul = strlen(out);
    while (ul && (out[ul - 1] == '\n' || out[ul - 1] == ' '))
        out[--ul] = '\0';
    const char *ulast = strrchr(out, '\n'), *line = ulast ? ulast + 1 : out;
    ck_assert_uint_lt(strlen(line), sizeof url); /* the URL line whole, never cut */
    memcpy(url, line, strlen(line) + 1);
    snprintf(cmd, sizeof cmd, "'%s' migrate --database-url '%s' 2>&1", api_revopsd(), url);
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 0);
    snprintf(cmd, sizeof cmd, "'%s' keys create --workspace crash --role admin --database-url '%s' 2>&1", api_revopsd(),
             url);
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 0);
    size_t ol = strlen(out);
    while (ol && (out[ol - 1] == '\n' || out[ol - 1] == ' '))
        out[--ol] = '\0';
    const char *last = strrchr(out, '\n');
    char key[64];
    snprintf(key, sizeof key, "%.63s", last ? last + 1 : out);
    PGconn *pg = PQconnectdb(url);
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    PQclear(PQexec(pg, "CREATE TABLE test_hook_audit (id uuid, dedupe_key text, n bigserial)"));
    PQclear(PQexec(pg, "CREATE FUNCTION test_hook_audit_fn() RETURNS trigger LANGUAGE plpgsql AS $$"
                       " BEGIN INSERT INTO test_hook_audit (id, dedupe_key) VALUES (NEW.id, NEW.dedupe_key);"
                       " RETURN NEW; END $$"));
    PGresult *res = PQexec(pg, "CREATE TRIGGER test_hook_audit_t AFTER UPDATE OF status ON webhook_events FOR EACH ROW"
                               " WHEN (OLD.status = 'pending' AND NEW.status <> 'pending')"
                               " EXECUTE FUNCTION test_hook_audit_fn()");
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(pg));
    PQclear(res);
    PQfinish(pg);

    int port = api_free_port();
    const char *args[] = {"--db-deadline-ms", "2000", "--webhook-appliers", "2", "--webhook-batch", "5", NULL};
    pid_t srv = api_spawn_server(url, port, args);
    ck_assert(api_wait_healthy(port, 15000));
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    api_resp *r = api_req_at(base, "POST", "/v1/webhook-endpoints", key, "application/json",
                             "{\"source\":\"standard\"}", strlen("{\"source\":\"standard\"}"), NULL);
    ck_assert_status(r, 201);
    char ep[64], secret[128];
    snprintf(ep, sizeof ep, "%s", str(r->json, "id"));
    snprintf(secret, sizeof secret, "%s", str(r->json, "secret"));
    api_resp_free(r);

    enum { N = 90 };
    bool acked[N] = {false};
    for (int i = 0; i < N; i++) {
        if (i == 30) { /* the crash: every PostgreSQL process at once */
            pid_t pids[256];
            int np = pg_pids(dir, pids, 256);
            ck_assert_int_ge(np, 2);
            for (int k = 0; k < np; k++)
                kill(pids[k], SIGKILL);
            struct timespec gone = {0, 300 * 1000 * 1000};
            nanosleep(&gone, NULL);
        }
        if (i == 40) { /* restart: crash recovery, then the instance reconnects by itself */
            /* backends orphaned by the kill exit once they see the postmaster gone; until then the
             * old shared memory is in use and a start is refused: retry */
            int rc = -1;
            snprintf(cmd, sizeof cmd, "scripts/devdb start '%s' 2>&1", dir);
            for (int k = 0; k < 20 && rc != 0; k++) {
                rc = api_run(cmd, out, sizeof out);
                if (rc != 0) {
                    struct timespec pause = {0, 500 * 1000 * 1000};
                    nanosleep(&pause, NULL);
                }
            }
            ck_assert_msg(rc == 0, "restart: %s", out);
            for (int k = 0; k < 100; k++) {
                r = api_req_at(base, "GET", "/readyz", NULL, NULL, NULL, 0, NULL);
                long st = r->status;
                api_resp_free(r);
                if (st == 200)
                    break;
                struct timespec pause = {0, 100 * 1000 * 1000};
                nanosleep(&pause, NULL);
            }
        }
        long st = pg_storm_post(base, ep, secret, i);
        acked[i] = st == 200;
        if (i >= 30 && i < 40)
            ck_assert_msg(st != 200, "event %d acknowledged while PostgreSQL was down", i);
        else if (i < 30 || i >= 45) /* a pooled connection or two may still be reconnecting just after */
            ck_assert_msg(st == 200, "event %d: %ld", i, st);
    }
    pg = PQconnectdb(url);
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    char left[32] = "?";
    for (int k = 0; k < 300 && strcmp(left, "0") != 0; k++) {
        res = PQexec(pg, "SELECT count(*) FROM webhook_events WHERE status = 'pending'");
        snprintf(left, sizeof left, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        struct timespec pause = {0, 50 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    ck_assert_str_eq(left, "0");
    int nacked = 0;
    for (int i = 0; i < N; i++) {
        char dk[64];
        snprintf(dk, sizeof dk, "standard:msg_pg_%d", i);
        const char *p[] = {dk};
        res = PQexecParams(pg,
                           "SELECT (SELECT string_agg(status, ',') FROM webhook_events WHERE dedupe_key = $1),"
                           " (SELECT count(*) FROM test_hook_audit WHERE dedupe_key = $1),"
                           " (SELECT amount_cents FROM deals WHERE external_id = 'pg-' || substr($1, 17))",
                           1, NULL, p, NULL, NULL, 0);
        ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
        if (acked[i]) {
            nacked++;
            ck_assert_msg(strcmp(PQgetvalue(res, 0, 0), "applied") == 0, "event %d acknowledged, now '%s'", i,
                          PQgetvalue(res, 0, 0));
            ck_assert_msg(atoi(PQgetvalue(res, 0, 1)) == 1, "event %d left pending %s times", i, PQgetvalue(res, 0, 1));
            ck_assert_int_eq(atoll(PQgetvalue(res, 0, 2)), (1000 + i) * 100);
        } else {
            ck_assert_msg(PQgetisnull(res, 0, 0), "event %d refused, yet stored as %s", i, PQgetvalue(res, 0, 0));
        }
        PQclear(res);
    }
    PQfinish(pg);
    ck_assert_int_ge(nacked, N - 15);
    kill(srv, SIGTERM);
    waitpid(srv, NULL, 0);
    api_devdb("stop", dir, NULL, 0);
}
END_TEST

/* deal_apply_round compares and records old and new values with
 * deal_col_json(d, key), which must be exactly to_jsonb(d) -> key, the whole
 * row's jsonb it replaced (issue 17): for every column of deals, on a deal with
 * every column set and on one with every nullable column NULL (JSON null, not
 * SQL NULL), and for keys that are no column (SQL NULL), in a time zone that
 * is not UTC. */
START_TEST(deal_col_json_is_the_rows_jsonb)
{
    api_ws ws;
    api_new_workspace(&ws);
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    PQclear(PQexec(pg, "SET TimeZone = 'America/New_York'"));
    const char *p[] = {ws.id};
    PGresult *res = PQexecParams(
        pg,
        "INSERT INTO deals (workspace_id, external_id, name, amount_cents, currency, stage, status,"
        " forecast_category, probability, expected_close_date, created_at, closed_at, owner, account, segment,"
        " source, lost_reason, last_activity_at, pipeline, custom, stage_entered_at, push_count, field_changed_at,"
        " deleted_at) VALUES ($1::uuid, 'col-full', 'Full \"quoted\"', 1234567, 'EUR', 'closed_lost', 'lost',"
        " 'omitted', 0.25, '2026-02-28', '2026-01-02T03:04:05.678Z', '2026-02-03T04:05:06Z', 'rep-1', 'acct-1',"
        " 'smb', 'web', 'price', '2026-02-01T00:00:00.5Z', 'main', '{\"a\": [1, \"x\"], \"b\": null}',"
        " '2026-02-03T04:05:06Z', 3, '{\"name\": \"2026-01-02T03:04:05Z\"}', '2026-03-01T00:00:00Z'),"
        " ($1::uuid, 'col-empty', '', NULL, NULL, NULL, 'open', NULL, NULL, NULL, '2026-01-02T00:00:00Z', NULL,"
        " NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{}', NULL, 0, '{}', NULL)",
        1, NULL, p, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(pg));
    PQclear(res);
    res = PQexecParams(
        pg,
        "SELECT count(*), count(*) FILTER (WHERE deal_col_json(d, k) IS DISTINCT FROM to_jsonb(d) -> k),"
        " string_agg(k, ',') FILTER (WHERE deal_col_json(d, k) IS DISTINCT FROM to_jsonb(d) -> k),"
        " count(*) FILTER (WHERE to_jsonb(d) -> k = 'null'), count(*) FILTER (WHERE to_jsonb(d) -> k IS NULL)"
        " FROM deals d, (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = 'deals'::regclass"
        "                AND a.attnum > 0 AND NOT a.attisdropped"
        "                UNION ALL VALUES ('amount'), ('no_such_column'), ('')) AS c(k)"
        " WHERE d.workspace_id = $1::uuid",
        1, NULL, p, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s", PQerrorMessage(pg));
    ck_assert_int_eq(atoi(PQgetvalue(res, 0, 0)), 2 * (26 + 3)); /* two deals x (26 columns + 3 other keys) */
    ck_assert_msg(strcmp(PQgetvalue(res, 0, 1), "0") == 0, "deal_col_json differs for: %s", PQgetvalue(res, 0, 2));
    ck_assert_int_eq(atoi(PQgetvalue(res, 0, 3)), 16);    /* the empty deal's NULL columns, as JSON null */
    ck_assert_int_eq(atoi(PQgetvalue(res, 0, 4)), 2 * 3); /* the keys that are no column */
    PQclear(res);
    PQfinish(pg);
}
END_TEST

/* Deletes under the event-time merge rule (docs/webhooks.md): the outcome is
 * what applying the events in event-time order gives, where a delete hides the
 * deal and a change later than the delete restores it. Each event is its own
 * delivery to an async Standard Webhooks endpoint, answered once applied, so
 * the applier (deal_apply_set) sees them in arrival order, one batch each:
 * the sender's out-of-order retries. Times are relative to now. */
static api_resp *standard_post_applied(const char *ep, const char *secret, const char *msg_id, const char *body)
{
    long long ts = (long long)time(NULL);
    char path[160], h1[128], h2[64], h3[300], sig[200];
    standard_sig(secret, msg_id, ts, body, sig);
    snprintf(path, sizeof path, "/v1/hooks/%s?wait=applied", ep);
    snprintf(h1, sizeof h1, "webhook-id: %s", msg_id);
    snprintf(h2, sizeof h2, "webhook-timestamp: %lld", ts);
    snprintf(h3, sizeof h3, "webhook-signature: %s", sig);
    const char *hdr[] = {h1, h2, h3, NULL};
    api_resp *r = api_req("POST", path, NULL, "application/json", body, strlen(body), hdr);
    ck_assert_msg(r->status == 200, "%s: %ld %s", msg_id, r->status, r->body);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "events")), 1);
    return r;
}

/* The one event's state and detail in a ?wait=applied answer. */
static const char *posted_state(const api_resp *r)
{
    return str(json_array_get(json_object_get(r->json, "events"), 0), "status");
}
static const char *posted_detail(const api_resp *r)
{
    return str(json_array_get(json_object_get(r->json, "events"), 0), "detail");
}

/* One number from SQL with the workspace id as $1. */
static long ws_count(PGconn *pg, const char *ws, const char *sql)
{
    const char *p[] = {ws};
    PGresult *res = PQexecParams(pg, sql, 1, NULL, p, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1, "%s: %s", sql, PQerrorMessage(pg));
    long v = atol(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

static void standard_deal_event(char *out, size_t len, const char *type, long long at, const char *id,
                                const char *fields)
{
    snprintf(out, len, "{\"type\":\"%s\",\"timestamp\":%lld,\"data\":{\"id\":\"%s\"%s%s}}", type, at, id,
             fields ? "," : "", fields ? fields : "");
}

/* A delete older than a change applied before it is stale: the deal stays,
 * the delete is in its field history with applied false, the event is stale. */
START_TEST(standard_delete_older_than_a_change_is_stale)
{
    api_ws ws;
    api_new_workspace(&ws);
    char ep[64], secret[128], body[600], st[32];
    make_endpoint(ws.admin, "{\"source\":\"standard\"}", ep, sizeof ep, secret, sizeof secret);
    long long t = (long long)time(NULL) - 3600; /* t1 = t + 600 < t2 = t + 1200 */
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);

    standard_deal_event(body, sizeof body, "deal.updated", t + 1200, "late-del",
                        "\"name\":\"Globex\",\"stage\":\"proposal\",\"amount\":\"500\"");
    api_resp *r = standard_post_applied(ep, secret, "msg_late_1", body);
    ck_assert_str_eq(posted_state(r), "applied");
    api_resp_free(r);
    standard_deal_event(body, sizeof body, "deal.deleted", t + 600, "late-del", NULL);
    r = standard_post_applied(ep, secret, "msg_late_2", body);
    ck_assert_str_eq(posted_state(r), "stale");
    ck_assert_str_eq(posted_detail(r), "stale");
    ck_assert_int_eq(inum(json_object_get(r->json, "counts"), "stale"), 1);
    char id[64];
    snprintf(id, sizeof id, "%s", str(json_array_get(json_object_get(r->json, "events"), 0), "id"));
    api_resp_free(r);
    ck_assert_str_eq(event_state(ws.read, id, st, sizeof st), "stale");

    r = api_get("/v1/deals/late-del", ws.read);
    ck_assert_status(r, 200);
    ck_assert(json_is_null(json_object_get(r->json, "deleted_at")));
    ck_assert_str_eq(str(r->json, "name"), "Globex");
    json_t *fh = json_object_get(r->json, "field_history");
    json_t *last = json_array_get(fh, json_array_size(fh) - 1);
    ck_assert_str_eq(str(last, "field"), "deleted");
    ck_assert(json_is_true(json_object_get(last, "new")));
    ck_assert(json_is_false(json_object_get(last, "applied")));
    api_resp_free(r);
    char q[400];
    snprintf(q, sizeof q,
             "SELECT count(*) FROM deal_changes WHERE workspace_id = $1::uuid AND deal_id = 'late-del'"
             " AND field = 'deleted' AND old_value = 'false' AND new_value = 'true' AND NOT applied"
             " AND changed_at = to_timestamp(%lld)",
             t + 600);
    ck_assert_int_eq(ws_count(pg, ws.id, q), 1);

    /* a delete later than every field's change still applies */
    standard_deal_event(body, sizeof body, "deal.deleted", t + 1300, "late-del", NULL);
    r = standard_post_applied(ep, secret, "msg_late_3", body);
    ck_assert_str_eq(posted_state(r), "applied");
    ck_assert_str_eq(posted_detail(r), "deleted");
    api_resp_free(r);
    r = api_get("/v1/deals/late-del", ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
    PQfinish(pg);
}
END_TEST

/* A change older than a delete applied before it is merged into the deal's
 * hidden values, but the deal stays deleted; a change later than the delete
 * restores it, with what the older change set, and a deleted true -> false
 * row in its history. */
START_TEST(standard_change_older_than_a_delete_stays_hidden)
{
    api_ws ws;
    api_new_workspace(&ws);
    char ep[64], secret[128], body[600];
    make_endpoint(ws.admin, "{\"source\":\"standard\"}", ep, sizeof ep, secret, sizeof secret);
    long long t = (long long)time(NULL) - 3600; /* created t - 600, t0 = t < t1 = t + 600 < t3 = t + 1800 */
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);

    standard_deal_event(body, sizeof body, "deal.updated", t - 600, "hidden",
                        "\"name\":\"Initech\",\"stage\":\"proposal\",\"amount\":\"100\"");
    api_resp *r = standard_post_applied(ep, secret, "msg_hid_1", body);
    ck_assert_str_eq(posted_state(r), "applied");
    api_resp_free(r);
    standard_deal_event(body, sizeof body, "deal.deleted", t + 600, "hidden", NULL);
    r = standard_post_applied(ep, secret, "msg_hid_2", body);
    ck_assert_str_eq(posted_detail(r), "deleted");
    api_resp_free(r);
    standard_deal_event(body, sizeof body, "deal.updated", t, "hidden", "\"amount\":\"250\"");
    r = standard_post_applied(ep, secret, "msg_hid_3", body);
    ck_assert_str_eq(posted_state(r), "applied");
    ck_assert_str_eq(posted_detail(r), "updated");
    api_resp_free(r);
    r = api_get("/v1/deals/hidden", ws.read);
    ck_assert_status(r, 404); /* still deleted */
    api_resp_free(r);
    r = api_get("/v1/deals?include_deleted=true", ws.read);
    ck_assert_status(r, 200);
    json_t *it = json_array_get(json_object_get(r->json, "items"), 0);
    ck_assert_str_eq(str(it, "id"), "hidden");
    ck_assert(json_number_value(json_object_get(it, "amount")) == 250.0);
    ck_assert_ptr_nonnull(str(it, "deleted_at"));
    api_resp_free(r);
    char q[400];
    snprintf(q, sizeof q,
             "SELECT count(*) FROM deals WHERE workspace_id = $1::uuid AND external_id = 'hidden'"
             " AND amount_cents = 25000 AND deleted_at = to_timestamp(%lld)",
             t + 600);
    ck_assert_int_eq(ws_count(pg, ws.id, q), 1);

    /* a change later than the delete restores the deal */
    standard_deal_event(body, sizeof body, "deal.updated", t + 1800, "hidden", "\"name\":\"Initech 2\"");
    r = standard_post_applied(ep, secret, "msg_hid_4", body);
    ck_assert_str_eq(posted_state(r), "applied");
    ck_assert_str_eq(posted_detail(r), "updated");
    api_resp_free(r);
    r = api_get("/v1/deals/hidden", ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(r->json, "name"), "Initech 2");
    ck_assert(json_number_value(json_object_get(r->json, "amount")) == 250.0);
    ck_assert(json_is_null(json_object_get(r->json, "deleted_at")));
    api_resp_free(r);
    snprintf(q, sizeof q,
             "SELECT count(*) FROM deal_changes WHERE workspace_id = $1::uuid AND deal_id = 'hidden'"
             " AND field = 'deleted' AND old_value = 'true' AND new_value = 'false' AND applied"
             " AND changed_at = to_timestamp(%lld)",
             t + 1800);
    ck_assert_int_eq(ws_count(pg, ws.id, q), 1);
    /* the history in event order: created, deleted, the hidden amount, restored, the name */
    ck_assert_int_eq(
        ws_count(pg, ws.id,
                 "SELECT count(*) FROM (SELECT field, lag(field) OVER (ORDER BY id) AS prev FROM deal_changes"
                 " WHERE workspace_id = $1::uuid AND deal_id = 'hidden') x"
                 " WHERE field = 'name' AND prev = 'deleted'"),
        1);
    PQfinish(pg);
}
END_TEST

Suite *webhooks_suite(void)
{
    Suite *s = suite_create("webhooks");
    TCase *tc = tcase_create("webhooks");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, hubspot_v3_batch_applies_and_rejects_tampering);
    tcase_add_test(tc, hubspot_out_of_order_and_push_count);
    tcase_add_test(tc, hubspot_v1_v2_signatures);
    tcase_add_test(tc, pipedrive_v2_and_v1_with_basic_auth);
    tcase_add_test(tc, standard_webhooks_rotation_and_tolerance);
    tcase_add_test(tc, concurrent_create_waits_and_applies);
    tcase_add_test(tc, concurrent_same_event_applies_once);
    tcase_add_test(tc, endpoint_validation_and_isolation);
    tcase_add_test(tc, hubspot_signs_the_query_string);
    tcase_add_test(tc, standard_patch_svix_and_data_id);
    tcase_add_test(tc, pipedrive_won_closes_the_stage);
    tcase_add_test(tc, hubspot_endpoint_bound_to_a_portal);
    tcase_add_test(tc, async_store_then_apply_and_held_deals);
    tcase_add_test(tc, async_storm_sigkill_and_two_appliers);
    tcase_add_test(tc, async_backlog_503_and_degraded);
    tcase_add_test(tc, async_storm_postgres_sigkill);
    tcase_add_test(tc, async_applied_closes_reach_the_learned_forecast);
    tcase_add_test(tc, deal_col_json_is_the_rows_jsonb);
    tcase_add_test(tc, standard_delete_older_than_a_change_is_stale);
    tcase_add_test(tc, standard_change_older_than_a_delete_stays_hidden);
    suite_add_tcase(s, tc);
    return s;
}

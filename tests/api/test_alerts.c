/* test_alerts.c - alerts out (issue 23): rule documents (JSON and YAML),
 * roles and isolation on every route, transitions raised once, and signed
 * deliveries to a receiver started here that verifies every signature with
 * its own HMAC code and with revopsd's receiver check (whsig_standard): a
 * 200, a 500-then-200 retry, a 410 that disables the destination, replay.
 * The shared server runs with --alert-retry-base-ms 200 (harness.c), so a
 * retry comes after 160-240 ms instead of a minute. */
#include <libpq-fe.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>

#include "api.h"
#include "whsig.h"

static const char *str(const json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }
static long long inum(const json_t *o, const char *k) { return json_integer_value(json_object_get(o, k)); }

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- the receiver ---- */

#define RCV_MAX 16

typedef struct {
    struct MHD_Daemon *d;
    int port;
    pthread_mutex_t mu;
    int script[4], nscript; /* statuses answered in turn; the last repeats */
    int calls, verified, verified_whsig;
    int delay_first_ms; /* the first request is answered this late (a receiver slow to answer) */
    char secret[80];
    char ids[RCV_MAX][80];
    char last_body[4096];
} receiver;

typedef struct {
    char *b;
    size_t len;
} upload;

/* The receiver's own check: base64-decode the key after whsec_, HMAC-SHA256
 * over id.timestamp.body, base64, compare with each "v1,..." listed; the
 * timestamp within 5 minutes of now. */
static bool own_verify(const char *secret, const char *id, const char *ts, const char *sigs, const char *body,
                       size_t len)
{
    if (!secret || !id || !ts || !sigs || strncmp(secret, "whsec_", 6) != 0)
        return false;
    long long t = atoll(ts), now = (long long)time(NULL);
    if (t < now - 300 || t > now + 300)
        return false;
    unsigned char key[128];
    const char *k64 = secret + 6;
    int klen = EVP_DecodeBlock(key, (const unsigned char *)k64, (int)strlen(k64));
    if (klen <= 0)
        return false;
    for (const char *p = k64 + strlen(k64); p > k64 && p[-1] == '='; p--)
        klen--;
    size_t n = strlen(id) + strlen(ts) + 2 + len;
    unsigned char *msg = malloc(n);
    snprintf((char *)msg, n, "%s.%s.", id, ts);
    memcpy(msg + strlen(id) + strlen(ts) + 2, body, len);
    unsigned char md[32];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), key, klen, msg, n, md, &mdlen);
    free(msg);
    char want[64];
    EVP_EncodeBlock((unsigned char *)want, md, (int)mdlen);
    bool ok = false;
    char copy[512];
    snprintf(copy, sizeof copy, "%s", sigs);
    for (char *save = NULL, *s = strtok_r(copy, " ", &save); s; s = strtok_r(NULL, " ", &save))
        if (strncmp(s, "v1,", 3) == 0 && strcmp(s + 3, want) == 0)
            ok = true;
    return ok;
}

typedef struct {
    struct MHD_Connection *c;
} hdr_ctx;

static const char *mhd_header(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(((hdr_ctx *)ctx)->c, MHD_HEADER_KIND, name);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *size, void **con_cls)
{
    (void)url, (void)method, (void)version;
    receiver *rv = cls;
    upload *u = *con_cls;
    if (!u) {
        *con_cls = calloc(1, sizeof *u);
        return MHD_YES;
    }
    if (*size) {
        u->b = realloc(u->b, u->len + *size + 1);
        memcpy(u->b + u->len, data, *size);
        u->len += *size;
        u->b[u->len] = '\0';
        *size = 0;
        return MHD_YES;
    }
    const char *id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-id");
    const char *ts = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-timestamp");
    const char *sig = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "webhook-signature");
    pthread_mutex_lock(&rv->mu);
    int status = rv->script[rv->calls < rv->nscript ? rv->calls : rv->nscript - 1];
    if (rv->calls < RCV_MAX)
        snprintf(rv->ids[rv->calls], sizeof rv->ids[0], "%s", id ? id : "");
    rv->calls++;
    const char *body = u->b ? u->b : "";
    if (own_verify(rv->secret, id, ts, sig, body, u->len))
        rv->verified++;
    hdr_ctx hc = {c};
    if (whsig_standard(rv->secret, body, u->len, mhd_header, &hc, (long long)time(NULL)) == WHSIG_OK)
        rv->verified_whsig++;
    snprintf(rv->last_body, sizeof rv->last_body, "%s", body);
    int delay = rv->calls == 1 ? rv->delay_first_ms : 0;
    pthread_mutex_unlock(&rv->mu);
    if (delay)
        sleep_ms(delay);
    free(u->b);
    free(u);
    *con_cls = NULL;
    static const char ok[] = "ok";
    struct MHD_Response *resp = MHD_create_response_from_buffer(2, (void *)ok, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result r = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return r;
}

static void rcv_start_slow(receiver *rv, const int *script, int n, int delay_first_ms);

static void rcv_start(receiver *rv, const int *script, int n) { rcv_start_slow(rv, script, n, 0); }

static void rcv_start_slow(receiver *rv, const int *script, int n, int delay_first_ms)
{
    memset(rv, 0, sizeof *rv);
    rv->delay_first_ms = delay_first_ms;
    pthread_mutex_init(&rv->mu, NULL);
    for (int i = 0; i < n; i++)
        rv->script[i] = script[i];
    rv->nscript = n;
    rv->port = api_free_port();
    rv->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, (uint16_t)rv->port, NULL,
                             NULL, on_request, rv, MHD_OPTION_END);
    ck_assert_msg(rv->d != NULL, "receiver did not start on port %d", rv->port);
}

static void rcv_stop(receiver *rv)
{
    MHD_stop_daemon(rv->d);
    pthread_mutex_destroy(&rv->mu);
}

static int rcv_calls(receiver *rv)
{
    pthread_mutex_lock(&rv->mu);
    int n = rv->calls;
    pthread_mutex_unlock(&rv->mu);
    return n;
}

/* Wait up to 10 s for at least n deliveries. */
static void rcv_wait(receiver *rv, int n)
{
    for (int i = 0; i < 200 && rcv_calls(rv) < n; i++)
        sleep_ms(50);
    ck_assert_msg(rcv_calls(rv) >= n, "the receiver got %d deliveries, want %d", rcv_calls(rv), n);
}

/* ---- helpers ---- */

static void send_ok(const api_ws *ws, const char *method, const char *path, const char *body)
{
    api_resp *r = api_send_json(method, path, ws->write, body);
    ck_assert_msg(r->status >= 200 && r->status < 300, "%s %s: %ld %s", method, path, r->status, r->body);
    api_resp_free(r);
}

static void crm(const api_ws *ws)
{
    send_ok(ws, "PUT", "/v1/reps/ann", "{\"name\":\"Ann\",\"role\":\"ae\",\"manager\":\"mia\"}");
    send_ok(ws, "PUT", "/v1/reps/bob", "{\"name\":\"Bob\",\"role\":\"ae\"}");
    send_ok(ws, "PUT", "/v1/reps/mia", "{\"name\":\"Mia\",\"role\":\"manager\"}");
    send_ok(ws, "PUT", "/v1/accounts/a1", "{\"name\":\"Acme\",\"territory\":\"west\",\"segment\":\"enterprise\"}");
}

/* A rule with one destination at the receiver; its id into id, the
 * destination's secret into the receiver. */
static void make_rule(const api_ws *ws, receiver *rv, const char *kind_and_more, char id[40])
{
    char body[1024];
    snprintf(body, sizeof body, "{\"name\":\"t\",%s,\"destinations\":[{\"url\":\"http://127.0.0.1:%d/hook\"}]}",
             kind_and_more, rv->port);
    api_resp *r = api_send_json("POST", "/v1/alert-rules", ws->admin, body);
    ck_assert_status(r, 201);
    const json_t *d = json_array_get(json_object_get(r->json, "destinations"), 0);
    ck_assert(strncmp(str(d, "secret"), "whsec_", 6) == 0);
    pthread_mutex_lock(&rv->mu);
    snprintf(rv->secret, sizeof rv->secret, "%s", str(d, "secret"));
    pthread_mutex_unlock(&rv->mu);
    snprintf(id, 40, "%s", str(r->json, "id"));
    api_resp_free(r);
}

static long long evaluate(const api_ws *ws, const char *field)
{
    api_resp *r = api_req("POST", "/v1/alerts/evaluate", ws->admin, NULL, NULL, 0, NULL);
    ck_assert_status(r, 200);
    long long v = inum(r->json, field);
    api_resp_free(r);
    return v;
}

/* Evaluate, then count the rule's alerts: the shared server's scheduler
 * evaluates too (every 60 s), so which call raised an alert is not the
 * test's to know, only how many exist. */
static long long evaluate_total(const api_ws *ws, const char *rule)
{
    (void)evaluate(ws, "raised");
    char path[96];
    snprintf(path, sizeof path, "/v1/alerts?rule=%s&limit=200", rule);
    api_resp *r = api_get(path, ws->read);
    ck_assert_status(r, 200);
    long long n = (long long)json_array_size(json_object_get(r->json, "items"));
    api_resp_free(r);
    return n;
}

/* The only delivery of a workspace (admin view), as JSON; caller decrefs. */
static json_t *only_delivery(const api_ws *ws)
{
    api_resp *r = api_get("/v1/alert-deliveries", ws->admin);
    ck_assert_status(r, 200);
    const json_t *items = json_object_get(r->json, "items");
    ck_assert_int_eq(json_array_size(items), 1);
    json_t *d = json_incref(json_array_get(items, 0));
    api_resp_free(r);
    return d;
}

/* Wait until the only delivery leaves pending (the sender commits its
 * outcome after the receiver answered). */
static json_t *settled_delivery(const api_ws *ws, const char *want_state)
{
    json_t *d = NULL;
    for (int i = 0; i < 100; i++) {
        json_decref(d);
        d = only_delivery(ws);
        if (strcmp(str(d, "state"), want_state) == 0)
            break;
        sleep_ms(50);
    }
    ck_assert_str_eq(str(d, "state"), want_state);
    return d;
}

/* ---- tests ---- */

START_TEST(signature_test_vector)
{
    /* the Standard Webhooks specification's example */
    char sig[64];
    const char *body = "{\"test\": 2432232314}";
    ck_assert_int_eq(whsig_standard_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                         1614265330, body, strlen(body), sig, sizeof sig),
                     0);
    ck_assert_str_eq(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    ck_assert_int_eq(whsig_standard_sign("not base64!", "m", 1, body, strlen(body), sig, sizeof sig), -1);
}
END_TEST

START_TEST(rule_documents_roles_and_isolation)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    const char *yaml = "name: Stale enterprise deals\n"
                       "kind: stale_deal\n"
                       "filter:\n  segment: [enterprise]\n  amount_min: 50000\n"
                       "destinations:\n  - url: https://hooks.example.com/T0001/secret-token\n";
    const char *yhdr[] = {NULL};
    api_resp *r = api_req("POST", "/v1/alert-rules", ws.admin, "application/yaml", yaml, strlen(yaml), yhdr);
    ck_assert_status(r, 201);
    ck_assert_str_eq(r->etag, "\"v1\"");
    ck_assert_int_eq(inum(json_object_get(r->json, "params"), "days"), 14); /* the seed's default */
    ck_assert_double_eq(json_number_value(json_object_get(json_object_get(r->json, "filter"), "amount_min")), 50000);
    const json_t *d0 = json_array_get(json_object_get(r->json, "destinations"), 0);
    ck_assert(strncmp(str(d0, "secret"), "whsec_", 6) == 0);
    char id[40], dest[40], path[96], old_secret[80];
    snprintf(id, sizeof id, "%s", str(r->json, "id"));
    snprintf(dest, sizeof dest, "%s", str(d0, "id"));
    snprintf(old_secret, sizeof old_secret, "%s", str(d0, "secret"));
    api_resp_free(r);
    snprintf(path, sizeof path, "/v1/alert-rules/%s", id);

    /* writes are the admin's */
    const char *json = "{\"name\":\"x\",\"kind\":\"deal_pushed\"}";
    r = api_send_json("POST", "/v1/alert-rules", ws.write, json);
    ck_assert_status(r, 403);
    api_resp_free(r);
    r = api_send_json("POST", "/v1/alert-rules", ws.read, json);
    ck_assert_status(r, 403);
    api_resp_free(r);
    r = api_req("DELETE", path, ws.write, NULL, NULL, 0, NULL);
    ck_assert_status(r, 403);
    api_resp_free(r);
    r = api_req("POST", "/v1/alerts/evaluate", ws.write, NULL, NULL, 0, NULL);
    ck_assert_status(r, 403);
    api_resp_free(r);

    /* a read key sees the rule, the destination's origin only, never a secret */
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    d0 = json_array_get(json_object_get(r->json, "destinations"), 0);
    ck_assert_str_eq(str(d0, "url"), "https://hooks.example.com/...");
    ck_assert_ptr_null(json_object_get(d0, "secret"));
    api_resp_free(r);
    r = api_get(path, ws.admin);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "destinations"), 0), "url"),
                     "https://hooks.example.com/T0001/secret-token");
    ck_assert_ptr_null(json_object_get(json_array_get(json_object_get(r->json, "destinations"), 0), "secret"));
    api_resp_free(r);
    const char *yaml_accept[] = {"Accept: application/yaml", NULL};
    r = api_req("GET", path, ws.read, NULL, NULL, 0, yaml_accept);
    ck_assert_status(r, 200);
    ck_assert(strstr(r->body, "kind: stale_deal") != NULL);
    api_resp_free(r);

    /* another workspace sees nothing of it */
    r = api_get(path, other.admin);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_get("/v1/alert-rules", other.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    api_resp_free(r);
    const char *im1[] = {"If-Match: \"v1\"", NULL};
    r = api_req("PUT", path, other.admin, "application/json", json, strlen(json), im1);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_req("DELETE", path, other.admin, NULL, NULL, 0, NULL);
    ck_assert_status(r, 404);
    api_resp_free(r);

    /* bad documents: 422 naming the field, 400 for YAML that does not parse */
    static const char *const bad[][2] = {
        {"{\"name\":\"x\",\"kind\":\"churn_signal\"}", "kind"},
        {"{\"name\":\"x\",\"kind\":\"stale_deal\",\"params\":{\"days\":0}}", "params.days"},
        {"{\"name\":\"x\",\"kind\":\"stale_deal\",\"params\":{\"change\":0.5}}", "params"},
        {"{\"name\":\"x\",\"kind\":\"routing_escalation\",\"filter\":{\"segment\":[\"smb\"]}}", "filter"},
        {"{\"name\":\"x\",\"kind\":\"stale_deal\",\"filter\":{\"amount_min\":1.001}}", "filter.amount_min"},
        {"{\"name\":\"x\",\"kind\":\"stale_deal\",\"destinations\":[{\"url\":\"ftp://x.example\"}]}",
         "destinations[0]"},
        {"{\"name\":\"x\",\"kind\":\"stale_deal\",\"destinations\":[{\"id\":\"00000000-0000-0000-0000-000000000000\","
         "\"url\":\"https://x.example\"}]}",
         "destinations[0]"},
        {"{\"name\":\"x\",\"kind\":\"renewal_due\",\"params\":{\"days_before\":[90,\"sixty\"]}}", "params.days_before"},
        {"{\"kind\":\"stale_deal\",\"colour\":\"red\"}", "name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = api_send_json("POST", "/v1/alert-rules", ws.admin, bad[i][0]);
        ck_assert_msg(r->status == 422, "%s: %ld %s", bad[i][0], r->status, r->body);
        ck_assert_str_eq(r->content_type, "application/problem+json");
        bool named = false;
        size_t k;
        json_t *e;
        json_array_foreach(json_object_get(r->json, "errors"), k, e) named |= strcmp(str(e, "field"), bad[i][1]) == 0;
        ck_assert_msg(named, "%s: no error on %s in %s", bad[i][0], bad[i][1], r->body);
        api_resp_free(r);
    }
    const char *broken = "name: [unclosed\n";
    r = api_req("POST", "/v1/alert-rules", ws.admin, "application/yaml", broken, strlen(broken), NULL);
    ck_assert_status(r, 400);
    api_resp_free(r);

    /* versions: If-Match required and checked; rotation keeps the old secret a day */
    r = api_send_json("PUT", path, ws.admin, json);
    ck_assert_status(r, 428);
    api_resp_free(r);
    char put[512];
    snprintf(put, sizeof put,
             "{\"name\":\"Stale deals\",\"kind\":\"stale_deal\",\"params\":{\"days\":21},"
             "\"destinations\":[{\"id\":\"%s\",\"url\":\"https://hooks.example.com/new\",\"rotate_secret\":true},"
             "{\"url\":\"https://second.example.com/x\"}]}",
             dest);
    const char *im9[] = {"If-Match: \"v9\"", NULL};
    r = api_req("PUT", path, ws.admin, "application/json", put, strlen(put), im9);
    ck_assert_status(r, 412);
    api_resp_free(r);
    r = api_req("PUT", path, ws.admin, "application/json", put, strlen(put), im1);
    ck_assert_status(r, 200);
    ck_assert_str_eq(r->etag, "\"v2\"");
    ck_assert_int_eq(inum(json_object_get(r->json, "params"), "days"), 21);
    const json_t *ds = json_object_get(r->json, "destinations");
    ck_assert_int_eq(json_array_size(ds), 2);
    d0 = json_array_get(ds, 0);
    ck_assert_str_eq(str(d0, "id"), dest);
    ck_assert(strncmp(str(d0, "secret"), "whsec_", 6) == 0);
    ck_assert_str_ne(str(d0, "secret"), old_secret);
    ck_assert(json_is_string(json_object_get(d0, "previous_secret_valid_until")));
    ck_assert(strncmp(str(json_array_get(ds, 1), "secret"), "whsec_", 6) == 0);
    api_resp_free(r);

    /* evaluate is a POST; deleting keeps nothing visible */
    r = api_get("/v1/alerts/evaluate", ws.admin);
    ck_assert_status(r, 405);
    api_resp_free(r);
    r = api_req("DELETE", path, ws.admin, NULL, NULL, 0, NULL);
    ck_assert_status(r, 204);
    api_resp_free(r);
    r = api_get(path, ws.read);
    ck_assert_status(r, 404);
    api_resp_free(r);
}
END_TEST

/* Deals at midnight UTC of their day, so "N days ago" is whole days. */
static void stale_deal_put(const api_ws *ws, const char *id, const char *owner, int day)
{
    char path[64], body[600], at[11], close[11];
    snprintf(path, sizeof path, "/v1/deals/%s", id);
    api_day(day, at);
    api_day(30, close);
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"amount\":700,\"stage\":\"proposal\",\"owner\":\"%s\",\"account\":\"a1\","
             "\"expected_close_date\":\"%s\",\"created_at\":\"%sT00:00:00Z\",\"as_of\":\"%sT00:00:00Z\","
             "\"last_activity_at\":\"%sT00:00:00Z\"}",
             id, owner, close, at, at, at);
    send_ok(ws, "PUT", path, body);
}

START_TEST(stale_deal_raised_once_and_delivered_signed)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    crm(&ws);
    stale_deal_put(&ws, "d1", "ann", -20);
    stale_deal_put(&ws, "d2", "bob", -20); /* outside the rule's filter */
    stale_deal_put(&ws, "d3", "ann", -5);  /* not stale */
    receiver rv;
    const int ok[] = {200};
    rcv_start(&rv, ok, 1);
    char rule[40];
    make_rule(&ws, &rv, "\"kind\":\"stale_deal\",\"filter\":{\"owner\":[\"ann\"],\"territory\":[\"west\"]}", rule);

    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1); /* still true: no new alert */
    rcv_wait(&rv, 1);
    json_t *d = settled_delivery(&ws, "delivered");
    ck_assert_int_eq(inum(d, "attempts"), 1);
    ck_assert_int_eq(inum(json_array_get(json_object_get(d, "attempt_log"), 0), "status"), 200);
    char delivery[40];
    snprintf(delivery, sizeof delivery, "%s", str(d, "id"));
    json_decref(d);
    pthread_mutex_lock(&rv.mu);
    ck_assert_int_eq(rv.calls, 1);
    ck_assert_int_eq(rv.verified, 1);
    ck_assert_int_eq(rv.verified_whsig, 1);
    json_t *body = json_loads(rv.last_body, 0, NULL);
    pthread_mutex_unlock(&rv.mu);
    ck_assert_str_eq(str(body, "type"), "alert.raised");
    const json_t *data = json_object_get(body, "data");
    ck_assert_str_eq(str(data, "deal_id"), "d1");
    ck_assert_str_eq(str(data, "rep_id"), "ann");
    ck_assert_int_eq(inum(json_object_get(data, "data"), "days_idle"), 20);
    json_decref(body);

    /* history per deal, account and rep; nothing in another workspace */
    static const char *const q[] = {"/v1/alerts?deal=d1", "/v1/alerts?account=a1", "/v1/alerts?rep=ann",
                                    "/v1/alerts?kind=stale_deal"};
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        api_resp *r = api_get(q[i], ws.read);
        ck_assert_status(r, 200);
        ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 1);
        api_resp_free(r);
    }
    api_resp *r = api_get("/v1/alerts?deal=d2", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    api_resp_free(r);
    r = api_get("/v1/alerts", other.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    api_resp_free(r);
    r = api_get("/v1/alert-deliveries", other.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    api_resp_free(r);
    r = api_get("/v1/alerts?kind=nope", ws.read);
    ck_assert_status(r, 422);
    api_resp_free(r);

    /* the digest: Ann's and her manager Mia's; JSON and Markdown */
    r = api_get("/v1/alerts/digest?owner=mia", ws.read);
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(r->json, "total"), 1);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "kinds"), 0), "title"), "Stale deals");
    api_resp_free(r);
    r = api_get("/v1/alerts/digest?owner=bob", ws.read);
    ck_assert_int_eq(inum(r->json, "total"), 0);
    api_resp_free(r);
    const char *md[] = {"Accept: text/markdown", NULL};
    r = api_req("GET", "/v1/alerts/digest?owner=ann", ws.read, NULL, NULL, 0, md);
    ck_assert_status(r, 200);
    ck_assert(strncmp(r->content_type, "text/markdown", 13) == 0);
    ck_assert_msg(strstr(r->body, "## Stale deals (1)") &&
                      strstr(r->body, "Deal d1 (d1) has had no activity for 20 days"),
                  "%s", r->body);
    api_resp_free(r);
    r = api_get("/v1/alerts/digest", other.read);
    ck_assert_int_eq(inum(r->json, "total"), 0);
    api_resp_free(r);
    r = api_get("/v1/alerts/digest?since=yesterday", ws.read);
    ck_assert_status(r, 422);
    api_resp_free(r);

    /* replay: write role, same webhook-id again; not another workspace's */
    char path[96];
    snprintf(path, sizeof path, "/v1/alert-deliveries/%s/replay", delivery);
    r = api_req("POST", path, ws.read, NULL, NULL, 0, NULL);
    ck_assert_status(r, 403);
    api_resp_free(r);
    r = api_req("POST", path, other.admin, NULL, NULL, 0, NULL);
    ck_assert_status(r, 404);
    api_resp_free(r);
    r = api_req("POST", path, ws.write, NULL, NULL, 0, NULL);
    ck_assert_status(r, 202);
    api_resp_free(r);
    rcv_wait(&rv, 2);
    pthread_mutex_lock(&rv.mu);
    ck_assert_str_eq(rv.ids[0], rv.ids[1]);
    ck_assert_int_eq(rv.verified, 2);
    pthread_mutex_unlock(&rv.mu);

    /* touched: the condition clears; no alert for that */
    char today[11], b2[300];
    api_day(0, today);
    snprintf(b2, sizeof b2, "{\"name\":\"d1\",\"last_activity_at\":\"%sT00:00:00Z\"}", today);
    send_ok(&ws, "PUT", "/v1/deals/d1", b2);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    const char *sp[] = {rule};
    PGresult *st = PQexecParams(pg, "SELECT active FROM alert_state WHERE rule_id = $1::uuid AND subject = 'deal:d1'",
                                1, NULL, sp, NULL, NULL, 0);
    ck_assert_int_eq(PQntuples(st), 1);
    ck_assert_str_eq(PQgetvalue(st, 0, 0), "f"); /* cleared */
    PQclear(st);
    PQfinish(pg);
    sleep_ms(300);
    ck_assert_int_eq(rcv_calls(&rv), 2);
    rcv_stop(&rv);
}
END_TEST

START_TEST(push_retried_after_500_once_more)
{
    api_ws ws;
    api_new_workspace(&ws);
    crm(&ws);
    receiver rv;
    const int script[] = {500, 200};
    rcv_start(&rv, script, 2);
    char rule[40], y[11], close[11], later[11], body[500];
    make_rule(&ws, &rv, "\"kind\":\"deal_pushed\"", rule);
    api_day(-1, y);
    api_day(3, close);
    snprintf(
        body, sizeof body,
        "{\"name\":\"Big\",\"amount\":5000,\"stage\":\"proposal\",\"owner\":\"ann\",\"expected_close_date\":\"%s\","
        "\"as_of\":\"%sT00:00:00Z\"}",
        close, y);
    send_ok(&ws, "PUT", "/v1/deals/p1", body);
    ck_assert_int_eq(evaluate_total(&ws, rule), 0); /* not pushed yet */
    /* the close date moves four months out: past its quarter */
    snprintf(body, sizeof body, "{\"name\":\"Big\",\"expected_close_date\":\"%s\"}", api_day(125, later));
    send_ok(&ws, "PUT", "/v1/deals/p1", body);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    rcv_wait(&rv, 2);
    json_t *d = settled_delivery(&ws, "delivered");
    ck_assert_int_eq(inum(d, "attempts"), 2);
    const json_t *log = json_object_get(d, "attempt_log");
    ck_assert_int_eq(json_array_size(log), 2);
    ck_assert_int_eq(inum(json_array_get(log, 0), "status"), 500);
    ck_assert_int_eq(inum(json_array_get(log, 1), "status"), 200);
    json_decref(d);
    sleep_ms(700); /* past any further retry the schedule could make */
    pthread_mutex_lock(&rv.mu);
    ck_assert_int_eq(rv.calls, 2); /* exactly once more */
    ck_assert_str_eq(rv.ids[0], rv.ids[1]);
    ck_assert_int_eq(rv.verified, 2);
    ck_assert_int_eq(rv.verified_whsig, 2);
    pthread_mutex_unlock(&rv.mu);
    /* the shared server's senders made both attempts: /metrics counts them */
    api_resp *m = api_get("/metrics", NULL);
    const char *line = strstr(m->body, "revops_alert_attempts_total{outcome=\"retried\"} ");
    ck_assert_ptr_nonnull(line);
    ck_assert_int_ge(atoll(line + strlen("revops_alert_attempts_total{outcome=\"retried\"} ")), 1);
    ck_assert_ptr_nonnull(strstr(m->body, "revops_alert_attempts_total{outcome=\"delivered\"} "));
    api_resp_free(m);
    rcv_stop(&rv);
}
END_TEST

START_TEST(gone_disables_the_destination)
{
    api_ws ws;
    api_new_workspace(&ws);
    crm(&ws);
    send_ok(&ws, "PUT", "/v1/deals/m1", "{\"name\":\"Mid\",\"amount\":1000,\"stage\":\"proposal\",\"owner\":\"bob\"}");
    receiver rv;
    const int gone[] = {410};
    rcv_start(&rv, gone, 1);
    char rule[40], path[96];
    make_rule(&ws, &rv, "\"kind\":\"amount_change\",\"params\":{\"change\":0.25}", rule);
    /* +10%: below the rule's 25% */
    send_ok(&ws, "PUT", "/v1/deals/m1", "{\"name\":\"Mid\",\"amount\":1100}");
    ck_assert_int_eq(evaluate_total(&ws, rule), 0);
    send_ok(&ws, "PUT", "/v1/deals/m1", "{\"name\":\"Mid\",\"amount\":1650}"); /* +50% */
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    rcv_wait(&rv, 1);
    json_t *d = settled_delivery(&ws, "failed");
    ck_assert_int_eq(inum(d, "last_status"), 410);
    snprintf(path, sizeof path, "/v1/alert-deliveries/%s/replay", str(d, "id"));
    json_decref(d);
    char rpath[96];
    snprintf(rpath, sizeof rpath, "/v1/alert-rules/%s", rule);
    api_resp *r = api_get(rpath, ws.admin);
    const json_t *d0 = json_array_get(json_object_get(r->json, "destinations"), 0);
    ck_assert(json_is_string(json_object_get(d0, "disabled_at")));
    api_resp_free(r);
    /* a disabled destination gets nothing more, and replay refuses */
    r = api_req("POST", path, ws.write, NULL, NULL, 0, NULL);
    ck_assert_status(r, 409);
    api_resp_free(r);
    send_ok(&ws, "PUT", "/v1/deals/m1", "{\"name\":\"Mid\",\"amount\":400}"); /* -76% */
    ck_assert_int_eq(evaluate_total(&ws, rule), 2);
    r = api_get("/v1/alert-deliveries", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 1);
    api_resp_free(r);
    r = api_get("/v1/alerts?deal=m1", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 2);
    api_resp_free(r);
    sleep_ms(300);
    ck_assert_int_eq(rcv_calls(&rv), 1);
    rcv_stop(&rv);
}
END_TEST

START_TEST(renewal_reminder_windows)
{
    api_ws ws;
    api_new_workspace(&ws);
    crm(&ws);
    char start[11], ren[11], body[300];
    api_day(-300, start);
    api_day(45, ren);
    snprintf(body, sizeof body, "{\"account\":\"a1\",\"arr\":120000,\"start_date\":\"%s\",\"renewal_date\":\"%s\"}",
             start, ren);
    send_ok(&ws, "PUT", "/v1/subscriptions/s1", body);
    receiver rv;
    const int ok[] = {200};
    rcv_start(&rv, ok, 1);
    char rule[40];
    make_rule(&ws, &rv, "\"kind\":\"renewal_due\",\"filter\":{\"amount_min\":100000}", rule);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    api_resp *r = api_get("/v1/alerts?account=a1", ws.read);
    const json_t *a = json_array_get(json_object_get(r->json, "items"), 0);
    ck_assert_int_eq(inum(json_object_get(a, "data"), "reminder_days"), 60); /* 45 days out: the 60-day reminder */
    ck_assert_int_eq(inum(json_object_get(a, "data"), "days_to_renewal"), 45);
    ck_assert(json_is_null(json_object_get(a, "rep_id"))); /* the account has no owner */
    api_resp_free(r);
    rcv_wait(&rv, 1);
    rcv_stop(&rv);
}
END_TEST

START_TEST(deal_moved_back_raised_once)
{
    api_ws ws;
    api_new_workspace(&ws);
    crm(&ws);
    receiver rv;
    const int ok[] = {200};
    rcv_start(&rv, ok, 1);
    char rule[40];
    make_rule(&ws, &rv, "\"kind\":\"deal_moved_back\",\"filter\":{\"amount_min\":1000}", rule);
    send_ok(&ws, "PUT", "/v1/deals/b1",
            "{\"name\":\"B1\",\"amount\":2000,\"stage\":\"opportunity\",\"owner\":\"ann\"}");
    send_ok(&ws, "PUT", "/v1/deals/b2", "{\"name\":\"B2\",\"amount\":500,\"stage\":\"proposal\",\"owner\":\"ann\"}");
    send_ok(&ws, "PUT", "/v1/deals/b1", "{\"name\":\"B1\",\"stage\":\"proposal\"}"); /* forward */
    ck_assert_int_eq(evaluate_total(&ws, rule), 0);
    send_ok(&ws, "PUT", "/v1/deals/b1", "{\"name\":\"B1\",\"stage\":\"opportunity\"}"); /* back */
    send_ok(&ws, "PUT", "/v1/deals/b2", "{\"name\":\"B2\",\"stage\":\"opportunity\"}"); /* back, under amount_min */
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    api_resp *r = api_get("/v1/alerts?deal=b1", ws.read);
    const json_t *a = json_array_get(json_object_get(r->json, "items"), 0);
    ck_assert_str_eq(str(json_object_get(a, "data"), "from_stage"), "proposal");
    ck_assert_str_eq(str(json_object_get(a, "data"), "to_stage"), "opportunity");
    api_resp_free(r);
    /* lost, then reopened: not a move back */
    send_ok(&ws, "PUT", "/v1/deals/b1", "{\"name\":\"B1\",\"stage\":\"closed_lost\",\"lost_reason\":\"Price\"}");
    send_ok(&ws, "PUT", "/v1/deals/b1", "{\"name\":\"B1\",\"stage\":\"proposal\"}");
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    rcv_wait(&rv, 1);
    rcv_stop(&rv);
}
END_TEST

/* An escalation as POST /v1/routing/escalations records it (test_leads.c
 * covers that route; here the row is written directly, 31 minutes after a
 * routing nobody acted on). */
START_TEST(routing_escalation_raised_once)
{
    api_ws ws;
    api_new_workspace(&ws);
    crm(&ws);
    api_resp_free(api_send_json("PUT", "/v1/leads/l1", ws.write, "{\"email\":\"l1@initech.example\"}"));
    receiver rv;
    const int ok[] = {200};
    rcv_start(&rv, ok, 1);
    char rule[40];
    make_rule(&ws, &rv, "\"kind\":\"routing_escalation\",\"filter\":{\"owner\":[\"ann\"]}", rule);
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    const char *p[] = {ws.id};
    PGresult *res = PQexecParams(pg,
                                 "INSERT INTO lead_assignments (workspace_id, lead_id, route_to, assignee, routed_at,"
                                 " escalate_minutes, escalated_at, escalated_to) VALUES"
                                 " ($1, 'l1', 'ann', 'ann', now() - interval '31 minutes', 30, now(), 'mia'),"
                                 " ($1, 'l1', 'bob', 'bob', now() - interval '31 minutes', 30, now(), 'mia')",
                                 1, NULL, p, NULL, NULL, 0);
    ck_assert_int_eq(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    PQfinish(pg);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1); /* Ann's; Bob's is outside the filter */
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    api_resp *r = api_get("/v1/alerts?rep=ann", ws.read);
    const json_t *a = json_array_get(json_object_get(r->json, "items"), 0);
    ck_assert_str_eq(str(a, "lead_id"), "l1");
    ck_assert_str_eq(str(json_object_get(a, "data"), "escalated_to"), "mia");
    api_resp_free(r);
    rcv_wait(&rv, 1);
    rcv_stop(&rv);
}
END_TEST

/* pg_exec: one statement with the workspace id as $1, which must succeed. */
static void pg_ok(PGconn *pg, const char *sql, const char *ws)
{
    const char *p[] = {ws};
    PGresult *res = PQexecParams(pg, sql, ws ? 1 : 0, NULL, ws ? p : NULL, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql,
                  PQerrorMessage(pg));
    PQclear(res);
}

/* Leads l1 (Ann's) and l2 (Bob's) became SQLs three days ago and nobody
 * met them: the first-meeting SLA (48 hours in the seed's funnel) is
 * breached, once for Ann (Bob is outside the filter); the meeting held late
 * today stops the clock: no new alert (the occurrence is the clock's).
 * (SQL, not MQL: an MQL is routed on entry, which would stop its clock.) */
START_TEST(sla_breach_raised_once)
{
    api_ws ws;
    api_new_workspace(&ws);
    crm(&ws);
    receiver rv;
    const int ok[] = {200};
    rcv_start(&rv, ok, 1);
    char rule[40];
    make_rule(&ws, &rv, "\"kind\":\"sla_breach\",\"filter\":{\"owner\":[\"ann\"]}", rule);
    char d4[11], d3[11], body[200];
    api_day(-4, d4);
    api_day(-3, d3);
    static const char *const leads[][2] = {{"l1", "ann"}, {"l2", "bob"}};
    for (int i = 0; i < 2; i++) {
        char path[32];
        snprintf(path, sizeof path, "/v1/leads/%s", leads[i][0]);
        snprintf(body, sizeof body, "{\"owner\":\"%s\",\"as_of\":\"%sT08:00:00Z\"}", leads[i][1], d4);
        send_ok(&ws, "PUT", path, body);
        snprintf(body, sizeof body, "{\"lifecycle_stage\":\"sql\",\"as_of\":\"%sT08:00:00Z\"}", d3);
        send_ok(&ws, "PUT", path, body);
    }
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    api_resp *r = api_get("/v1/alerts?rep=ann", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 1);
    const json_t *a = json_array_get(json_object_get(r->json, "items"), 0);
    ck_assert_str_eq(str(a, "lead_id"), "l1");
    const json_t *d = json_object_get(a, "data");
    ck_assert_str_eq(str(d, "sla"), "first_meeting");
    ck_assert(json_number_value(json_object_get(d, "target_minutes")) == 2880); /* 48 hours */
    ck_assert(json_number_value(json_object_get(d, "elapsed_minutes")) > 2880);
    ck_assert(json_is_null(json_object_get(d, "responded_at")));
    api_resp_free(r);
    r = api_get("/v1/alerts?rep=bob", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 0);
    api_resp_free(r);
    char now[11];
    api_day(0, now);
    snprintf(body, sizeof body, "{\"id\":\"m1\",\"type\":\"meeting\",\"occurred_at\":\"%sT00:00:00Z\",\"lead\":\"l1\"}",
             now);
    r = api_send_json("POST", "/v1/activities", ws.write, body);
    ck_assert_status(r, 201);
    api_resp_free(r);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    rcv_wait(&rv, 1);
    rcv_stop(&rv);
}
END_TEST

/* A pending inbound event 5 minutes old (held FOR KEY SHARE by this test,
 * so the appliers' FOR UPDATE SKIP LOCKED passes it by and it stays
 * pending) is one episode of lag over two evaluations; applied, the
 * episode ends; pending again (a new oldest event), a second one. A rule
 * with a threshold above the age raises nothing. */
START_TEST(webhook_lag_raised_once_per_episode)
{
    api_ws ws;
    api_new_workspace(&ws);
    api_resp *r = api_send_json("POST", "/v1/webhook-endpoints", ws.admin, "{\"source\":\"standard\"}");
    ck_assert_status(r, 201);
    char ep[40];
    snprintf(ep, sizeof ep, "%s", str(r->json, "id"));
    api_resp_free(r);
    receiver rv;
    const int ok[] = {200};
    rcv_start(&rv, ok, 1);
    char rule[40], high[40];
    make_rule(&ws, &rv, "\"kind\":\"webhook_lag\",\"params\":{\"seconds\":120}", rule);
    r = api_send_json("POST", "/v1/alert-rules", ws.admin,
                      "{\"name\":\"h\",\"kind\":\"webhook_lag\",\"params\":{\"seconds\":3600}}");
    ck_assert_status(r, 201);
    snprintf(high, sizeof high, "%s", str(r->json, "id"));
    api_resp_free(r);
    r = api_send_json("POST", "/v1/alert-rules", ws.admin,
                      "{\"name\":\"f\",\"kind\":\"webhook_lag\",\"filter\":{\"owner\":[\"ann\"]}}");
    ck_assert_status(r, 422); /* a workspace's backlog has no owner */
    api_resp_free(r);
    PGconn *pg = PQconnectdb(api_db_url()), *holder = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    ck_assert_int_eq(PQstatus(holder), CONNECTION_OK);
    const char *p[] = {ws.id, ep};
    PGresult *res = PQexecParams(pg,
                                 "WITH d AS (INSERT INTO webhook_deliveries (workspace_id, endpoint_id, headers, body)"
                                 " VALUES ($1::uuid, $2::uuid, '{}', '') RETURNING id)"
                                 " INSERT INTO webhook_events (workspace_id, endpoint_id, delivery_id, dedupe_key,"
                                 " payload, status) SELECT $1::uuid, $2::uuid, d.id, 'standard:lag1', '{}',"
                                 " 'applied' FROM d",
                                 2, NULL, p, NULL, NULL, 0);
    ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s", PQerrorMessage(pg));
    PQclear(res);
    pg_ok(holder, "BEGIN", NULL);
    pg_ok(holder, "SELECT 1 FROM webhook_events WHERE workspace_id = $1 FOR KEY SHARE", ws.id);
    const char *pend = "UPDATE webhook_events SET status = 'pending', received_at = now() - interval '5 minutes'"
                       " WHERE workspace_id = $1";
    pg_ok(pg, pend, ws.id);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    ck_assert_int_eq(evaluate_total(&ws, high), 0);
    r = api_get("/v1/alerts?kind=webhook_lag", ws.read);
    const json_t *a = json_array_get(json_object_get(r->json, "items"), 0);
    ck_assert_int_eq(inum(json_object_get(a, "data"), "pending"), 1);
    ck_assert_int_eq(inum(json_object_get(a, "data"), "threshold_seconds"), 120);
    ck_assert(inum(json_object_get(a, "data"), "lag_seconds") >= 300);
    api_resp_free(r);
    pg_ok(pg, "UPDATE webhook_events SET status = 'applied' WHERE workspace_id = $1", ws.id);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1); /* drained: the episode ends */
    pg_ok(pg,
          "UPDATE webhook_events SET status = 'pending', received_at = now() - interval '4 minutes'"
          " WHERE workspace_id = $1",
          ws.id);
    ck_assert_int_eq(evaluate_total(&ws, rule), 2); /* a new episode */
    ck_assert_int_eq(evaluate_total(&ws, rule), 2);
    pg_ok(pg, "UPDATE webhook_events SET status = 'applied' WHERE workspace_id = $1", ws.id);
    pg_ok(holder, "COMMIT", NULL);
    PQfinish(holder);
    PQfinish(pg);
    rcv_wait(&rv, 2);
    rcv_stop(&rv);
}
END_TEST

/* The alert's coverage of one rule's latest alert (newest first). */
static double latest_coverage(const api_ws *ws, const char *rule, char rep[16])
{
    char path[96];
    snprintf(path, sizeof path, "/v1/alerts?rule=%s", rule);
    api_resp *r = api_get(path, ws->read);
    ck_assert_status(r, 200);
    const json_t *a = json_array_get(json_object_get(r->json, "items"), 0);
    double v = json_number_value(json_object_get(json_object_get(a, "data"), "coverage"));
    snprintf(rep, 16, "%s", str(a, "rep_id") ? str(a, "rep_id") : "-");
    api_resp_free(r);
    return v;
}

/* Coverage of the current quarter as the dashboard computes it (pipeline
 * closing in it / (quota - won in it)): below the minimum raises once per
 * crossing, for the workspace and per owner; recovered and fallen again, a
 * second. ann: quota 100,000, won 40,000, pipeline 150,000: 2.5x; bob:
 * quota 100,000, pipeline 400,000: 4x; the workspace 550,000 / 160,000 =
 * 3.4375x. */
START_TEST(coverage_below_raised_once_per_crossing)
{
    api_ws ws;
    api_new_workspace(&ws);
    char q[11], today[11], body[300];
    api_quarter_of_day(0, q);
    api_day(0, today);
    snprintf(body, sizeof body, "{\"name\":\"Ann\",\"role\":\"ae\",\"quotas\":{\"%s\":100000}}", q);
    send_ok(&ws, "PUT", "/v1/reps/ann", body);
    snprintf(body, sizeof body, "{\"name\":\"Bob\",\"role\":\"ae\",\"quotas\":{\"%s\":100000}}", q);
    send_ok(&ws, "PUT", "/v1/reps/bob", body);
    send_ok(&ws, "PUT", "/v1/deals/w1",
            "{\"name\":\"W1\",\"amount\":40000,\"stage\":\"closed_won\",\"owner\":\"ann\"}");
    const char *open[][3] = {{"d1", "ann", "150000"}, {"d2", "bob", "400000"}};
    for (int i = 0; i < 2; i++) {
        char path[32];
        snprintf(path, sizeof path, "/v1/deals/%s", open[i][0]);
        snprintf(
            body, sizeof body,
            "{\"name\":\"%s\",\"amount\":%s,\"stage\":\"proposal\",\"owner\":\"%s\",\"expected_close_date\":\"%s\"}",
            open[i][0], open[i][2], open[i][1], today);
        send_ok(&ws, "PUT", path, body);
    }
    static const char *const bad[] = {
        "{\"name\":\"x\",\"kind\":\"coverage_below\",\"params\":{\"min\":0}}",
        "{\"name\":\"x\",\"kind\":\"coverage_below\",\"params\":{\"min\":\"3\"}}",
        "{\"name\":\"x\",\"kind\":\"coverage_below\",\"params\":{\"per\":\"team\"}}",
        "{\"name\":\"x\",\"kind\":\"coverage_below\",\"params\":{\"days\":3}}",
        "{\"name\":\"x\",\"kind\":\"coverage_below\",\"filter\":{\"owner\":[\"ann\"]}}", /* per workspace */
        "{\"name\":\"x\",\"kind\":\"coverage_below\",\"params\":{\"per\":\"owner\"},\"filter\":{\"segment\":[\"smb\"]}"
        "}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        api_resp *r = api_send_json("POST", "/v1/alert-rules", ws.admin, bad[i]);
        ck_assert_msg(r->status == 422, "%s: %ld %s", bad[i], r->status, r->body);
        api_resp_free(r);
    }
    receiver rv;
    const int ok[] = {200};
    rcv_start(&rv, ok, 1);
    char all[40], ann[40], lax[40], rep[16];
    make_rule(&ws, &rv, "\"kind\":\"coverage_below\"", all); /* min 3, the seed's minimum */
    api_resp *r = api_send_json("POST", "/v1/alert-rules", ws.admin,
                                "{\"name\":\"ann\",\"kind\":\"coverage_below\",\"params\":{\"per\":\"owner\"},"
                                "\"filter\":{\"owner\":[\"ann\"]}}");
    ck_assert_status(r, 201);
    ck_assert_double_eq(json_number_value(json_object_get(json_object_get(r->json, "params"), "min")), 3);
    snprintf(ann, sizeof ann, "%s", str(r->json, "id"));
    api_resp_free(r);
    r = api_send_json("POST", "/v1/alert-rules", ws.admin,
                      "{\"name\":\"lax\",\"kind\":\"coverage_below\",\"params\":{\"per\":\"owner\",\"min\":2}}");
    ck_assert_status(r, 201);
    snprintf(lax, sizeof lax, "%s", str(r->json, "id"));
    api_resp_free(r);

    ck_assert_int_eq(evaluate_total(&ws, all), 0); /* 3.4375x */
    ck_assert_int_eq(evaluate_total(&ws, ann), 1); /* 2.5x */
    ck_assert_int_eq(evaluate_total(&ws, ann), 1);
    ck_assert_int_eq(evaluate_total(&ws, lax), 0); /* nobody under 2x */
    ck_assert_double_eq(latest_coverage(&ws, ann, rep), 2.5);
    ck_assert_str_eq(rep, "ann");
    send_ok(&ws, "PUT", "/v1/deals/d2", "{\"name\":\"d2\",\"amount\":300000}");
    ck_assert_int_eq(evaluate_total(&ws, all), 1); /* 450,000 / 160,000 */
    ck_assert_int_eq(evaluate_total(&ws, all), 1);
    ck_assert_double_eq(latest_coverage(&ws, all, rep), 2.8125);
    ck_assert_str_eq(rep, "-");
    r = api_get("/v1/alerts?kind=coverage_below&rep=ann", ws.read);
    const json_t *d = json_object_get(json_array_get(json_object_get(r->json, "items"), 0), "data");
    ck_assert_str_eq(str(d, "period"), q);
    ck_assert_double_eq(json_number_value(json_object_get(d, "remaining_quota")), 60000);
    ck_assert_double_eq(json_number_value(json_object_get(d, "pipeline_in_period")), 150000);
    api_resp_free(r);
    /* recovered: ann 300,000 / 60,000 = 5x, the workspace 3.75x; nothing new */
    send_ok(&ws, "PUT", "/v1/deals/d1", "{\"name\":\"d1\",\"amount\":300000}");
    ck_assert_int_eq(evaluate_total(&ws, all), 1);
    ck_assert_int_eq(evaluate_total(&ws, ann), 1);
    /* fallen again: ann 1x, the workspace 360,000 / 160,000 = 2.25x: a second crossing each */
    send_ok(&ws, "PUT", "/v1/deals/d1", "{\"name\":\"d1\",\"amount\":60000}");
    ck_assert_int_eq(evaluate_total(&ws, all), 2);
    ck_assert_int_eq(evaluate_total(&ws, all), 2);
    ck_assert_int_eq(evaluate_total(&ws, ann), 2);
    ck_assert_int_eq(evaluate_total(&ws, lax), 1); /* ann under 2x too, bob's 3x not */
    ck_assert_double_eq(latest_coverage(&ws, all, rep), 2.25);
    ck_assert_double_eq(latest_coverage(&ws, ann, rep), 1);
    /* the same figure the dashboard shows */
    char path[64];
    snprintf(path, sizeof path, "/v1/dashboard?period=%s", q);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    ck_assert_double_eq(json_number_value(json_object_get(json_object_get(r->json, "pipeline"), "coverage_ratio")),
                        2.25);
    api_resp_free(r);
    rcv_wait(&rv, 2);
    rcv_stop(&rv);
}
END_TEST

/* hygiene_red checks at most every every_minutes: the test makes its rules
 * due now by moving their last check two hours back. The rows are locked in
 * id order, as alert_evaluate locks them: a pass after a write runs in the
 * background, and a plain UPDATE that locked them in scan order deadlocked
 * with it once in CI. */
static void hygiene_due(PGconn *pg, const api_ws *ws)
{
    pg_ok(pg,
          "UPDATE alert_rules SET checked_at = now() - interval '2 hours' WHERE id IN (SELECT id FROM alert_rules"
          " WHERE workspace_id = $1 ORDER BY id FOR UPDATE)",
          ws->id);
}

/* A data hygiene rule of GET /v1/hygiene turning red raises once per
 * crossing: open deals' required fields at 100% completion, then a deal
 * without a next step (1 of 2 complete: 50%, red); not rechecked before the
 * rule is due; fixed, then broken again: a second. */
START_TEST(hygiene_red_raised_once_per_crossing)
{
    api_ws ws;
    api_new_workspace(&ws);
    crm(&ws);
    char close[11], body[400];
    api_day(20, close);
    snprintf(body, sizeof body,
             "{\"name\":\"H1\",\"amount\":5000,\"stage\":\"proposal\",\"owner\":\"ann\",\"expected_close_date\":\"%s\","
             "\"custom\":{\"next_step\":\"Send proposal\"}}",
             close);
    send_ok(&ws, "PUT", "/v1/deals/h1", body);
    static const char *const bad[] = {
        "{\"name\":\"x\",\"kind\":\"hygiene_red\",\"params\":{\"every_minutes\":0}}",
        "{\"name\":\"x\",\"kind\":\"hygiene_red\",\"params\":{\"every_minutes\":10081}}",
        "{\"name\":\"x\",\"kind\":\"hygiene_red\",\"params\":{\"every_minutes\":1.5}}",
        "{\"name\":\"x\",\"kind\":\"hygiene_red\",\"params\":{\"per\":\"owner\"}}",
        "{\"name\":\"x\",\"kind\":\"hygiene_red\",\"filter\":{\"owner\":[\"ann\"]}}", /* a workspace's rule */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        api_resp *r = api_send_json("POST", "/v1/alert-rules", ws.admin, bad[i]);
        ck_assert_msg(r->status == 422, "%s: %ld %s", bad[i], r->status, r->body);
        api_resp_free(r);
    }
    receiver rv;
    const int ok[] = {200};
    rcv_start(&rv, ok, 1);
    char rule[40];
    make_rule(&ws, &rv, "\"kind\":\"hygiene_red\"", rule);
    api_resp *r = api_get("/v1/alert-rules", ws.read);
    ck_assert_int_eq(
        inum(json_object_get(json_array_get(json_object_get(r->json, "items"), 0), "params"), "every_minutes"), 60);
    api_resp_free(r);
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    ck_assert_int_eq(evaluate_total(&ws, rule), 0); /* first check: nothing red */
    snprintf(
        body, sizeof body,
        "{\"name\":\"H2\",\"amount\":7000,\"stage\":\"proposal\",\"owner\":\"ann\",\"expected_close_date\":\"%s\"}",
        close);
    send_ok(&ws, "PUT", "/v1/deals/h2", body);
    ck_assert_int_eq(evaluate_total(&ws, rule), 0); /* red now, but checked under an hour ago */
    hygiene_due(pg, &ws);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    hygiene_due(pg, &ws);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1); /* still red: the same episode */
    r = api_get("/v1/alerts?kind=hygiene_red", ws.read);
    const json_t *a = json_array_get(json_object_get(r->json, "items"), 0);
    const json_t *d = json_object_get(a, "data");
    ck_assert_str_eq(str(a, "subject"), "hygiene:open_deal_required_fields");
    ck_assert_str_eq(str(d, "rule"), "open_deal_required_fields");
    ck_assert_double_eq(json_number_value(json_object_get(d, "value")), 0.5);
    ck_assert_int_eq(inum(d, "offending"), 1);
    ck_assert_int_eq(inum(d, "population"), 2);
    ck_assert_str_eq(str(d, "threshold"), "100% completion");
    api_resp_free(r);
    /* fixed: the episode ends; broken again (a blank next step): a second */
    snprintf(body, sizeof body, "{\"name\":\"H2\",\"custom\":{\"next_step\":\"Call CFO\"}}");
    send_ok(&ws, "PUT", "/v1/deals/h2", body);
    hygiene_due(pg, &ws);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    snprintf(body, sizeof body, "{\"name\":\"H2\",\"custom\":{\"next_step\":\"  \"}}");
    send_ok(&ws, "PUT", "/v1/deals/h2", body);
    hygiene_due(pg, &ws);
    ck_assert_int_eq(evaluate_total(&ws, rule), 2);
    hygiene_due(pg, &ws);
    ck_assert_int_eq(evaluate_total(&ws, rule), 2);
    PQfinish(pg);
    rcv_wait(&rv, 2);
    rcv_stop(&rv);
}
END_TEST

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* No evaluate call: the write itself makes its workspace's rules run (the
 * scheduler's pass is a minute away), and the alert reaches the receiver. */
START_TEST(a_write_delivers_without_waiting_for_the_pass)
{
    api_ws ws;
    api_new_workspace(&ws);
    crm(&ws);
    send_ok(&ws, "PUT", "/v1/deals/w1", "{\"name\":\"W\",\"amount\":1000,\"stage\":\"proposal\",\"owner\":\"ann\"}");
    receiver rv;
    const int ok[] = {200};
    rcv_start(&rv, ok, 1);
    char rule[40];
    make_rule(&ws, &rv, "\"kind\":\"amount_change\"", rule);
    double worst = 0;
    for (int i = 0; i < 3; i++) {
        char body[96];
        snprintf(body, sizeof body, "{\"name\":\"W\",\"amount\":%d}", 2000 << i); /* doubles each time */
        double t0 = mono_s();
        send_ok(&ws, "PUT", "/v1/deals/w1", body);
        rcv_wait(&rv, i + 1);
        double dt = mono_s() - t0;
        worst = dt > worst ? dt : worst;
    }
    fprintf(stderr, "alerts: write to delivered, worst of 3: %.0f ms\n", worst * 1000);
    ck_assert_msg(worst < 5.0, "a write took %.2f s to be delivered", worst); /* far below the 60 s pass */
    ck_assert_int_eq(evaluate_total(&ws, rule), 3);
    pthread_mutex_lock(&rv.mu);
    ck_assert_int_eq(rv.verified, 3);
    pthread_mutex_unlock(&rv.mu);
    rcv_stop(&rv);
}
END_TEST

/* ---- more than one instance ---- */

typedef struct {
    const char *base, *key;
    long long raised;
    int errors;
} eval_run;

static void *eval_thread(void *arg)
{
    eval_run *e = arg;
    for (int i = 0; i < 4; i++) {
        api_resp *r = api_req_at(e->base, "POST", "/v1/alerts/evaluate", e->key, NULL, NULL, 0, NULL);
        if (r->status == 200)
            e->raised += inum(r->json, "raised");
        else
            e->errors++;
        api_resp_free(r);
    }
    return NULL;
}

static void stop_server(pid_t pid, int sig)
{
    kill(pid, sig);
    int st = 0;
    waitpid(pid, &st, 0);
}

START_TEST(two_instances_raise_and_deliver_each_occurrence_once)
{
    api_ws ws;
    api_new_workspace(&ws);
    crm(&ws);
    for (int i = 0; i < 6; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%d", i);
        stale_deal_put(&ws, id, "ann", -30);
    }
    receiver rv;
    const int ok[] = {200};
    rcv_start(&rv, ok, 1);
    char rule[40];
    make_rule(&ws, &rv, "\"kind\":\"stale_deal\"", rule);
    /* a second revopsd on the same database: its senders and the shared
     * server's (two each) claim from one outbox */
    int port = api_free_port();
    const char *args[] = {"--alert-retry-base-ms", "200", "--alert-allow-private", "1", NULL};
    pid_t b = api_spawn_server(api_db_url(), port, args);
    ck_assert(api_wait_healthy(port, 15000));
    char base_b[64];
    snprintf(base_b, sizeof base_b, "http://127.0.0.1:%d", port);
    eval_run e[2] = {{api_base(), ws.admin, 0, 0}, {base_b, ws.admin, 0, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, eval_thread, &e[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(e[0].errors + e[1].errors, 0);
    /* eight evaluations at once (and maybe a scheduler pass), six occurrences */
    ck_assert_int_le(e[0].raised + e[1].raised, 6);
    ck_assert_int_eq(evaluate_total(&ws, rule), 6);
    rcv_wait(&rv, 6);
    sleep_ms(800);
    pthread_mutex_lock(&rv.mu);
    ck_assert_int_eq(rv.calls, 6);
    ck_assert_int_eq(rv.verified, 6);
    for (int i = 0; i < 6; i++)
        for (int j = i + 1; j < 6; j++)
            ck_assert_str_ne(rv.ids[i], rv.ids[j]);
    pthread_mutex_unlock(&rv.mu);
    stop_server(b, SIGTERM);
    rcv_stop(&rv);
}
END_TEST

/* The key printed last by `revopsd keys create` on a private cluster. */
static void cli_key(const char *url, char key[64])
{
    char cmd[1400], out[4096];
    snprintf(cmd, sizeof cmd, "'%s' keys create --workspace killed --role admin --database-url '%s' 2>&1",
             api_revopsd(), url);
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 0);
    size_t ol = strlen(out);
    while (ol && (out[ol - 1] == '\n' || out[ol - 1] == ' '))
        out[--ol] = '\0';
    const char *last = strrchr(out, '\n');
    snprintf(key, 64, "%.63s", last ? last + 1 : out);
}

static void send_at(const char *base, const char *key, const char *method, const char *path, const char *body)
{
    api_resp *r = api_req_at(base, method, path, key, "application/json", body, strlen(body), NULL);
    ck_assert_msg(r->status >= 200 && r->status < 300, "%s %s: %ld %s", method, path, r->status, r->body);
    api_resp_free(r);
}

/* An instance SIGKILLed while its POST of a committed alert is in flight:
 * its claim dies with its connection, and the next instance delivers. On a
 * private cluster, so no other sender can take the delivery first. */
START_TEST(sigkill_during_delivery_still_delivers)
{
    char dir[300], url[512], cmd[1400], out[4096], key[64];
    snprintf(dir, sizeof dir, "%s/alerts-kill-pg", api_tmpdir());
    ck_assert_int_eq(api_devdb("start", dir, url, sizeof url), 0);
    snprintf(cmd, sizeof cmd, "'%s' migrate --database-url '%s' 2>&1", api_revopsd(), url);
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 0);
    cli_key(url, key);
    /* evaluated by the explicit call only: no pass, no evaluation on write */
    const char *args[] = {"--alert-retry-base-ms",
                          "200",
                          "--scheduler-interval",
                          "0",
                          "--alert-on-write",
                          "0",
                          "--alert-allow-private",
                          "1",
                          NULL};
    int port = api_free_port();
    pid_t b = api_spawn_server(url, port, args);
    ck_assert(api_wait_healthy(port, 15000));
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    send_at(base, key, "PUT", "/v1/reps/ann", "{\"name\":\"Ann\",\"role\":\"ae\"}");
    char at[11], body[600];
    api_day(-20, at);
    snprintf(body, sizeof body,
             "{\"name\":\"k1\",\"amount\":900,\"stage\":\"proposal\",\"owner\":\"ann\",\"created_at\":\"%sT00:00:00Z\","
             "\"as_of\":\"%sT00:00:00Z\"}",
             at, at);
    send_at(base, key, "PUT", "/v1/deals/k1", body);
    receiver rv;
    const int ok[] = {200};
    rcv_start_slow(&rv, ok, 1, 3000); /* the first POST hangs 3 s: time to kill its sender */
    snprintf(body, sizeof body,
             "{\"name\":\"k\",\"kind\":\"stale_deal\",\"destinations\":[{\"url\":\"http://127.0.0.1:%d/h\"}]}",
             rv.port);
    api_resp *r = api_req_at(base, "POST", "/v1/alert-rules", key, "application/json", body, strlen(body), NULL);
    ck_assert_status(r, 201);
    snprintf(rv.secret, sizeof rv.secret, "%s",
             str(json_array_get(json_object_get(r->json, "destinations"), 0), "secret"));
    api_resp_free(r);
    r = api_req_at(base, "POST", "/v1/alerts/evaluate", key, NULL, NULL, 0, NULL);
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(r->json, "raised"), 1);
    api_resp_free(r);
    rcv_wait(&rv, 1); /* instance B's POST is in the receiver */
    stop_server(b, SIGKILL);
    port = api_free_port();
    pid_t c = api_spawn_server(url, port, args);
    ck_assert(api_wait_healthy(port, 15000));
    snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
    rcv_wait(&rv, 2);
    json_t *d = NULL;
    for (int i = 0; i < 100; i++) {
        json_decref(d);
        r = api_req_at(base, "GET", "/v1/alert-deliveries", key, NULL, NULL, 0, NULL);
        d = json_incref(json_array_get(json_object_get(r->json, "items"), 0));
        api_resp_free(r);
        if (d && strcmp(str(d, "state"), "delivered") == 0)
            break;
        sleep_ms(50);
    }
    ck_assert_str_eq(str(d, "state"), "delivered");
    ck_assert_int_eq(inum(d, "attempts"), 1); /* the killed attempt was never committed */
    json_decref(d);
    pthread_mutex_lock(&rv.mu);
    ck_assert_str_eq(rv.ids[0], rv.ids[1]); /* the same message: the receiver dedupes */
    ck_assert_int_eq(rv.verified, 2);
    pthread_mutex_unlock(&rv.mu);
    stop_server(c, SIGTERM);
    rcv_stop(&rv);
    api_devdb("stop", dir, NULL, 0);
}
END_TEST

/* Destination safety (SSRF) on an instance without --alert-allow-private:
 * a URL whose host is a loopback, link-local (the metadata service),
 * private, unspecified or multicast literal, or localhost, is refused when
 * the rule is written (422 naming the class); and a rule that holds such
 * URLs anyway (written through an instance that allows them, as a name
 * could resolve to one later) is refused at delivery on the address the
 * socket would connect to: the attempt logged, nothing reaches the
 * receiver. A private cluster, so no allowing sender takes the delivery. */
START_TEST(destinations_refuse_non_public_addresses)
{
    char dir[300], url[512], cmd[1400], out[4096], key[64];
    snprintf(dir, sizeof dir, "%s/alerts-ssrf-pg", api_tmpdir());
    ck_assert_int_eq(api_devdb("start", dir, url, sizeof url), 0);
    snprintf(cmd, sizeof cmd, "'%s' migrate --database-url '%s' 2>&1", api_revopsd(), url);
    ck_assert_int_eq(api_run(cmd, out, sizeof out), 0);
    cli_key(url, key);
    const char *strict_args[] = {
        "--alert-retry-base-ms", "600000", "--scheduler-interval", "0", "--alert-on-write", "0", NULL};
    const char *allow_args[] = {"--alert-senders",
                                "0",
                                "--scheduler-interval",
                                "0",
                                "--alert-on-write",
                                "0",
                                "--alert-allow-private",
                                "1",
                                NULL};
    int sport = api_free_port();
    pid_t strict = api_spawn_server(url, sport, strict_args);
    ck_assert(api_wait_healthy(sport, 15000));
    int aport = api_free_port();
    pid_t allow = api_spawn_server(url, aport, allow_args);
    ck_assert(api_wait_healthy(aport, 15000));
    char sbase[64], abase[64], body[600];
    snprintf(sbase, sizeof sbase, "http://127.0.0.1:%d", sport);
    snprintf(abase, sizeof abase, "http://127.0.0.1:%d", aport);
    static const char *const refused[][2] = {
        {"http://127.0.0.1:9/h", "loopback"},
        {"http://127.1/h", "loopback"},
        {"http://2130706433/h", "loopback"},
        {"http://localhost:8080/h", "loopback"},
        {"http://user@LOCALHOST./h", "loopback"},
        {"http://[::1]:80/h", "loopback"},
        {"http://[::ffff:127.0.0.1]/h", "loopback"},
        {"http://169.254.169.254/latest/meta-data/", "link-local"},
        {"http://[fe80::1%25eth0]/h", "link-local"},
        {"https://10.1.2.3/h", "private"},
        {"https://172.16.0.1/h", "private"},
        {"https://172.31.255.255/h", "private"},
        {"https://192.168.0.10/h", "private"},
        {"https://[fc00::1]/h", "private"},
        {"https://[fd12:3456::1]/h", "private"},
        {"http://0.0.0.0:80/h", "unspecified"},
        {"http://[::]/h", "unspecified"},
        {"http://224.0.0.1/h", "multicast"},
        {"http://[ff02::1]/h", "multicast"},
        {"ftp://hooks.example.com/h", "http:// or https://"},
        {"file:///etc/passwd", "http:// or https://"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        snprintf(body, sizeof body, "{\"name\":\"s\",\"kind\":\"renewal_due\",\"destinations\":[{\"url\":\"%s\"}]}",
                 refused[i][0]);
        api_resp *r = api_req_at(sbase, "POST", "/v1/alert-rules", key, "application/json", body, strlen(body), NULL);
        ck_assert_msg(r->status == 422, "%s: %ld %s", refused[i][0], r->status, r->body);
        ck_assert_msg(strstr(r->body, refused[i][1]) && strstr(r->body, "destinations[0]"), "%s: %s", refused[i][0],
                      r->body);
        api_resp_free(r);
    }
    /* public literals and names are accepted (no delivery: nothing is due) */
    static const char *const accepted[] = {"https://hooks.example.com/revops", "https://93.184.215.14/h",
                                           "https://172.32.0.1/h", "https://[2001:db8::1]/h",
                                           "https://localhost.example.com/h"};
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        snprintf(body, sizeof body, "{\"name\":\"p\",\"kind\":\"renewal_due\",\"destinations\":[{\"url\":\"%s\"}]}",
                 accepted[i]);
        api_resp *r = api_req_at(sbase, "POST", "/v1/alert-rules", key, "application/json", body, strlen(body), NULL);
        ck_assert_msg(r->status == 201, "%s: %ld %s", accepted[i], r->status, r->body);
        api_resp_free(r);
    }
    /* at delivery: a stale deal, a rule written through the allowing
     * instance with a loopback literal and a name that resolves to one */
    send_at(sbase, key, "PUT", "/v1/reps/ann", "{\"name\":\"Ann\",\"role\":\"ae\"}");
    char at[11];
    api_day(-20, at);
    snprintf(body, sizeof body,
             "{\"name\":\"s1\",\"amount\":900,\"stage\":\"proposal\",\"owner\":\"ann\",\"created_at\":\"%sT00:00:00Z\","
             "\"as_of\":\"%sT00:00:00Z\"}",
             at, at);
    send_at(sbase, key, "PUT", "/v1/deals/s1", body);
    receiver rv;
    const int ok[] = {200};
    rcv_start(&rv, ok, 1);
    snprintf(body, sizeof body,
             "{\"name\":\"k\",\"kind\":\"stale_deal\",\"destinations\":[{\"url\":\"http://127.0.0.1:%d/h\"},"
             "{\"url\":\"http://localhost:%d/h\"}]}",
             rv.port, rv.port);
    api_resp *r = api_req_at(abase, "POST", "/v1/alert-rules", key, "application/json", body, strlen(body), NULL);
    ck_assert_status(r, 201);
    api_resp_free(r);
    r = api_req_at(abase, "POST", "/v1/alerts/evaluate", key, NULL, NULL, 0, NULL);
    ck_assert_status(r, 200);
    ck_assert_int_eq(inum(r->json, "raised"), 1);
    api_resp_free(r);
    int refused_n = 0;
    for (int i = 0; i < 200 && refused_n < 2; i++) {
        sleep_ms(50);
        r = api_req_at(sbase, "GET", "/v1/alert-deliveries", key, NULL, NULL, 0, NULL);
        ck_assert_status(r, 200);
        refused_n = 0;
        size_t j;
        json_t *d;
        json_array_foreach(json_object_get(r->json, "items"), j, d) if (inum(d, "attempts") == 1)
        {
            ck_assert_str_eq(str(d, "state"), "pending"); /* a retry later: a name may resolve elsewhere then */
            ck_assert_msg(str(d, "last_error") && strstr(str(d, "last_error"), "refused: ") &&
                              strstr(str(d, "last_error"), "loopback address"),
                          "%s", str(d, "last_error"));
            refused_n++;
        }
        api_resp_free(r);
    }
    ck_assert_int_eq(refused_n, 2);
    ck_assert_int_eq(rcv_calls(&rv), 0);
    stop_server(strict, SIGTERM);
    stop_server(allow, SIGTERM);
    rcv_stop(&rv);
    api_devdb("stop", dir, NULL, 0);
}
END_TEST

/* Each body is a 422 on POST /v1/alert-rules. */
static void rules_refused(const api_ws *ws, const char *const *bad, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        api_resp *r = api_send_json("POST", "/v1/alert-rules", ws->admin, bad[i]);
        ck_assert_msg(r->status == 422, "%s: %ld %s", bad[i], r->status, r->body);
        api_resp_free(r);
    }
}

/* A rule without destinations; its id into id. */
static void quiet_rule(const api_ws *ws, const char *body, char id[40])
{
    api_resp *r = api_send_json("POST", "/v1/alert-rules", ws->admin, body);
    ck_assert_msg(r->status == 201, "%s: %ld %s", body, r->status, r->body);
    snprintf(id, 40, "%s", str(r->json, "id"));
    api_resp_free(r);
}

/* The data of a rule's latest alert (newest first), as JSON; caller decrefs. */
static json_t *latest_alert(const api_ws *ws, const char *rule)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/alerts?rule=%s", rule);
    api_resp *r = api_get(path, ws->read);
    ck_assert_status(r, 200);
    json_t *a = json_incref(json_array_get(json_object_get(r->json, "items"), 0));
    ck_assert_ptr_nonnull(a);
    api_resp_free(r);
    return a;
}

/* Usage of account on day (relative to today) through the API. */
static void usage_on(const api_ws *ws, const char *account, int day, int seats, int active)
{
    char body[300], d[11];
    snprintf(body, sizeof body,
             "{\"account\":\"%s\",\"date\":\"%s\",\"seats_used\":%d,\"seats_limit\":100,\"active_users\":%d,"
             "\"api_calls\":100,\"departments\":[]}",
             account, api_day(day, d), seats, active);
    send_ok(ws, "POST", "/v1/usage", body);
}

/* The two 30-day windows of an account's usage: days -45 and -40 (prior),
 * -10 and -5 (recent, the latest day's seats). */
static void usage_windows(const api_ws *ws, const char *account, int prior_active, int seats, int active)
{
    usage_on(ws, account, -45, seats, prior_active);
    usage_on(ws, account, -40, seats, prior_active);
    usage_on(ws, account, -10, seats, active);
    usage_on(ws, account, -5, seats, active);
}

static void renewing(const api_ws *ws, const char *id, const char *account, long arr, int renewal)
{
    char path[64], body[300], s[11], r[11];
    snprintf(path, sizeof path, "/v1/subscriptions/%s", id);
    snprintf(body, sizeof body,
             "{\"account\":\"%s\",\"arr\":%ld,\"start_date\":\"%s\",\"end_date\":\"%s\",\"renewal_date\":\"%s\"}",
             account, arr, api_day(-300, s), api_day(renewal, r), r);
    send_ok(ws, "PUT", path, body);
}

/* An account entering GET /v1/accounts/at-risk's list with a band of
 * watch or worse raises once per entry. acme (Ann's, enterprise, 100,000
 * renewing today) goes from 90 seats of 100 and steady use (health 100) to
 * 20 seats and active users halved: adoption 100 x 0.2 / 0.8 = 25, usage
 * trend 0, health (30 x 25 + 25 x 0) / 55 = 13.6 -> 14, critical, 86,000 at
 * risk. beta (smb, 50,000 renewing): 40 seats, active users down 25%:
 * adoption 50, trend 50: health 50, watch. gamma is critical but renews next quarter: not on
 * the list. Healthy again, acme leaves; broken again, a second alert. */
START_TEST(account_at_risk_raised_once_per_entry)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    crm(&ws);
    send_ok(&ws, "PUT", "/v1/accounts/acme", "{\"name\":\"Acme\",\"owner\":\"ann\",\"segment\":\"enterprise\"}");
    send_ok(&ws, "PUT", "/v1/accounts/beta", "{\"name\":\"Beta\",\"owner\":\"bob\",\"segment\":\"smb\"}");
    char q[11], nextq[11];
    api_quarter_of_day(0, q);
    int next = 1;
    for (; next < 100; next++) { /* the first day of the next quarter */
        api_quarter_of_day(next, nextq);
        if (strcmp(nextq, q) != 0)
            break;
    }
    renewing(&ws, "s-acme", "acme", 100000, 0);
    renewing(&ws, "s-beta", "beta", 50000, 0);
    renewing(&ws, "s-gamma", "gamma", 70000, next + 10);
    usage_windows(&ws, "acme", 100, 90, 100);
    usage_windows(&ws, "beta", 100, 40, 75);
    usage_windows(&ws, "gamma", 100, 20, 50);
    static const char *const bad[] = {
        "{\"name\":\"x\",\"kind\":\"account_at_risk\",\"params\":{\"band\":\"healthy\"}}",
        "{\"name\":\"x\",\"kind\":\"account_at_risk\",\"params\":{\"band\":40}}",
        "{\"name\":\"x\",\"kind\":\"account_at_risk\",\"params\":{\"days\":3}}",
        "{\"name\":\"x\",\"kind\":\"account_at_risk\",\"filter\":{\"owner\":\"ann\"}}",
    };
    rules_refused(&ws, bad, sizeof bad / sizeof bad[0]);
    receiver rv;
    const int ok[] = {200};
    rcv_start(&rv, ok, 1);
    char all[40], crit[40], ent[40], theirs[40];
    make_rule(&ws, &rv, "\"kind\":\"account_at_risk\"", all);
    quiet_rule(&ws, "{\"name\":\"c\",\"kind\":\"account_at_risk\",\"params\":{\"band\":\"critical\"}}", crit);
    quiet_rule(
        &ws,
        "{\"name\":\"e\",\"kind\":\"account_at_risk\",\"filter\":{\"owner\":[\"ann\"],\"segment\":[\"enterprise\"],"
        "\"amount_min\":60000}}",
        ent);
    quiet_rule(&other, "{\"name\":\"o\",\"kind\":\"account_at_risk\"}", theirs);
    char path[96];
    snprintf(path, sizeof path, "/v1/alert-rules/%s", all);
    api_resp *r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(json_object_get(r->json, "params"), "band"), "watch");
    api_resp_free(r);

    ck_assert_int_eq(evaluate_total(&ws, all), 1); /* beta, watch */
    ck_assert_int_eq(evaluate_total(&ws, crit), 0);
    ck_assert_int_eq(evaluate_total(&ws, ent), 0);
    json_t *a = latest_alert(&ws, all);
    ck_assert_str_eq(str(a, "account_id"), "beta");
    ck_assert_int_eq(inum(json_object_get(a, "data"), "health"), 50);
    ck_assert_str_eq(str(json_object_get(a, "data"), "band"), "watch");
    json_decref(a);
    usage_windows(&ws, "acme", 100, 20, 50);
    ck_assert_int_eq(evaluate_total(&ws, all), 2);
    ck_assert_int_eq(evaluate_total(&ws, all), 2); /* the evaluation after: nothing new */
    ck_assert_int_eq(evaluate_total(&ws, crit), 1);
    ck_assert_int_eq(evaluate_total(&ws, ent), 1);
    a = latest_alert(&ws, ent);
    const json_t *d = json_object_get(a, "data");
    ck_assert_str_eq(str(a, "kind"), "account_at_risk");
    ck_assert_str_eq(str(a, "subject"), "account:acme");
    ck_assert_str_eq(str(a, "rep_id"), "ann");
    ck_assert_int_eq(inum(d, "health"), 14);
    ck_assert_str_eq(str(d, "band"), "critical");
    ck_assert_double_eq(json_number_value(json_object_get(d, "arr_renewing")), 100000);
    ck_assert_double_eq(json_number_value(json_object_get(d, "arr_at_risk")), 86000);
    ck_assert_str_eq(str(d, "quarter"), q);
    bool found = false;
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(d, "reasons"), i, x) found |=
        strcmp(json_string_value(x), "active users down 50% month over month") == 0;
    ck_assert_msg(found, "%s", json_dumps(d, 0));
    json_decref(a);
    /* the same account and figures the at-risk route answers */
    r = api_get("/v1/accounts/at-risk", ws.read);
    ck_assert_status(r, 200);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "items"), 0), "account"), "acme");
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 2); /* not gamma */
    api_resp_free(r);
    /* healthy again: acme leaves the list; at risk again: a second entry */
    usage_windows(&ws, "acme", 100, 90, 100);
    ck_assert_int_eq(evaluate_total(&ws, all), 2);
    ck_assert_int_eq(evaluate_total(&ws, ent), 1);
    usage_windows(&ws, "acme", 100, 20, 50);
    ck_assert_int_eq(evaluate_total(&ws, all), 3);
    ck_assert_int_eq(evaluate_total(&ws, all), 3);
    ck_assert_int_eq(evaluate_total(&ws, ent), 2);
    ck_assert_int_eq(evaluate_total(&other, theirs), 0); /* another workspace sees none of it */
    rcv_wait(&rv, 3);
    rcv_stop(&rv);
}
END_TEST

/* An expansion signal of GET /v1/signals?kind=expansion appearing raises
 * once per account, signal and appearance: acme from 50 seats of 100 to 90
 * (usage_limit, the seed's "Approaching seat/usage limit (>80%)"), back to
 * 50 (gone) and 90 again (a second). */
START_TEST(expansion_signal_raised_once_per_appearance)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    crm(&ws);
    send_ok(&ws, "PUT", "/v1/accounts/acme", "{\"name\":\"Acme\",\"owner\":\"ann\",\"territory\":\"west\"}");
    usage_windows(&ws, "acme", 100, 50, 100);
    usage_windows(&other, "acme", 100, 95, 100); /* the other workspace's acme is at its limit */
    static const char *const bad[] = {
        "{\"name\":\"x\",\"kind\":\"expansion_signal\",\"params\":{\"days\":3}}",
        "{\"name\":\"x\",\"kind\":\"expansion_signal\",\"filter\":{\"amount_min\":100}}",
        "{\"name\":\"x\",\"kind\":\"expansion_signal\",\"filter\":{\"territory\":[]}}",
    };
    rules_refused(&ws, bad, sizeof bad / sizeof bad[0]);
    receiver rv;
    const int ok[] = {200};
    rcv_start(&rv, ok, 1);
    char rule[40], east[40];
    make_rule(&ws, &rv, "\"kind\":\"expansion_signal\",\"filter\":{\"territory\":[\"west\"]}", rule);
    quiet_rule(&ws, "{\"name\":\"e\",\"kind\":\"expansion_signal\",\"filter\":{\"territory\":[\"east\"]}}", east);
    ck_assert_int_eq(evaluate_total(&ws, rule), 0);
    usage_on(&ws, "acme", -5, 90, 100);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1); /* the evaluation after: nothing new */
    ck_assert_int_eq(evaluate_total(&ws, east), 0);
    json_t *a = latest_alert(&ws, rule);
    const json_t *d = json_object_get(a, "data");
    ck_assert_str_eq(str(a, "subject"), "signal:acme:usage_limit");
    ck_assert_str_eq(str(a, "account_id"), "acme");
    ck_assert_str_eq(str(a, "rep_id"), "ann");
    ck_assert_str_eq(str(d, "code"), "usage_limit");
    ck_assert_str_eq(str(d, "urgency"), "high");
    ck_assert_str_eq(str(d, "action"), "Alert CS + AE, send upgrade nudge");
    ck_assert_double_eq(json_number_value(json_object_get(json_object_get(d, "evidence"), "seat_utilisation")), 0.9);
    json_decref(a);
    /* the same signal the route shows */
    api_resp *r = api_get("/v1/signals?kind=expansion", ws.read);
    ck_assert_int_eq(json_array_size(json_object_get(r->json, "items")), 1);
    ck_assert_str_eq(str(json_array_get(json_object_get(r->json, "items"), 0), "code"), "usage_limit");
    api_resp_free(r);
    usage_on(&ws, "acme", -5, 50, 100);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    usage_on(&ws, "acme", -5, 90, 100);
    ck_assert_int_eq(evaluate_total(&ws, rule), 2);
    ck_assert_int_eq(evaluate_total(&ws, rule), 2);
    rcv_wait(&rv, 2);
    rcv_stop(&rv);
}
END_TEST

/* POST /v1/forecasts for the current quarter; its expected. */
static double forecast_now(const api_ws *ws, const char *q)
{
    char body[80];
    snprintf(body, sizeof body, "{\"period\":\"%s\",\"method\":\"weighted\"}", q);
    api_resp *r = api_send_json("POST", "/v1/forecasts", ws->write, body);
    ck_assert_msg(r->status == 201, "%ld %s", r->status, r->body);
    double e = json_number_value(json_object_get(r->json, "expected"));
    api_resp_free(r);
    return e;
}

/* The current quarter's stored forecast moving more than params.pct week
 * over week raises once per period and week: a forecast made (then dated 8
 * days back, a week having passed), the deal doubled, a forecast today:
 * +100%. A third forecast the same week: the same occurrence. */
START_TEST(forecast_moved_raised_once_per_week)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    crm(&ws);
    char q[11], today[11], body[300];
    api_quarter_of_day(0, q);
    api_day(0, today);
    snprintf(
        body, sizeof body,
        "{\"name\":\"F1\",\"amount\":100000,\"stage\":\"proposal\",\"owner\":\"ann\",\"expected_close_date\":\"%s\"}",
        today);
    send_ok(&ws, "PUT", "/v1/deals/f1", body);
    send_ok(&other, "PUT", "/v1/deals/f1", body);
    static const char *const bad[] = {
        "{\"name\":\"x\",\"kind\":\"forecast_moved\",\"params\":{\"pct\":0}}",
        "{\"name\":\"x\",\"kind\":\"forecast_moved\",\"params\":{\"pct\":\"10\"}}",
        "{\"name\":\"x\",\"kind\":\"forecast_moved\",\"params\":{\"pct\":1001}}",
        "{\"name\":\"x\",\"kind\":\"forecast_moved\",\"params\":{\"min\":3}}",
        "{\"name\":\"x\",\"kind\":\"forecast_moved\",\"filter\":{\"owner\":[\"ann\"]}}",
    };
    rules_refused(&ws, bad, sizeof bad / sizeof bad[0]);
    receiver rv;
    const int ok[] = {200};
    rcv_start(&rv, ok, 1);
    char rule[40], lax[40], theirs[40];
    make_rule(&ws, &rv, "\"kind\":\"forecast_moved\"", rule);
    quiet_rule(&ws, "{\"name\":\"l\",\"kind\":\"forecast_moved\",\"params\":{\"pct\":150}}", lax);
    quiet_rule(&other, "{\"name\":\"o\",\"kind\":\"forecast_moved\"}", theirs);
    char path[96];
    snprintf(path, sizeof path, "/v1/alert-rules/%s", rule);
    api_resp *r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    ck_assert_double_eq(json_number_value(json_object_get(json_object_get(r->json, "params"), "pct")), 10);
    api_resp_free(r);
    double before = forecast_now(&ws, q);
    ck_assert(before > 0);
    (void)forecast_now(&other, q);
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    /* a week passes: the forecasts so far were made 8 days ago */
    pg_ok(pg, "UPDATE forecasts SET as_of = as_of - 8 WHERE workspace_id = $1", ws.id);
    pg_ok(pg, "UPDATE forecasts SET as_of = as_of - 8 WHERE workspace_id = $1", other.id);
    ck_assert_int_eq(evaluate_total(&ws, rule), 0); /* nothing a week before it */
    send_ok(&ws, "PUT", "/v1/deals/f1", "{\"name\":\"F1\",\"amount\":200000}");
    double after = forecast_now(&ws, q);
    ck_assert_double_eq(after, before * 2);
    (void)forecast_now(&other, q); /* unchanged there */
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1); /* the evaluation after: nothing new */
    ck_assert_int_eq(evaluate_total(&ws, lax), 0);  /* 100% is not more than 150% */
    json_t *a = latest_alert(&ws, rule);
    const json_t *d = json_object_get(a, "data");
    ck_assert_str_eq(str(a, "kind"), "forecast_moved");
    ck_assert_double_eq(json_number_value(json_object_get(d, "from")), before);
    ck_assert_double_eq(json_number_value(json_object_get(d, "to")), after);
    ck_assert_double_eq(json_number_value(json_object_get(d, "pct")), 100);
    ck_assert_str_eq(str(d, "period"), q);
    ck_assert_msg(strstr(str(a, "summary"), "+100.0%") != NULL, "%s", str(a, "summary"));
    json_decref(a);
    /* another forecast the same week, back to the week-old figure and up again: still one */
    send_ok(&ws, "PUT", "/v1/deals/f1", "{\"name\":\"F1\",\"amount\":100000}");
    (void)forecast_now(&ws, q);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    send_ok(&ws, "PUT", "/v1/deals/f1", "{\"name\":\"F1\",\"amount\":300000}");
    (void)forecast_now(&ws, q);
    ck_assert_int_eq(evaluate_total(&ws, rule), 1);
    ck_assert_int_eq(evaluate_total(&ws, lax), 1); /* +200% */
    ck_assert_int_eq(evaluate_total(&other, theirs), 0);
    PQfinish(pg);
    rcv_wait(&rv, 1);
    rcv_stop(&rv);
}
END_TEST

/* The alerts of a rule with this subject. */
static long long alerts_about(const api_ws *ws, const char *rule, const char *subject)
{
    char path[96];
    snprintf(path, sizeof path, "/v1/alerts?rule=%s&limit=200", rule);
    api_resp *r = api_get(path, ws->read);
    ck_assert_status(r, 200);
    long long n = 0;
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(r->json, "items"), i, x) n += strcmp(str(x, "subject"), subject) == 0;
    api_resp_free(r);
    return n;
}

/* A dashboard health signal changing colour raises once per change: the
 * current quarter's coverage 400,000 / 100,000 = 4x (green; the first colour
 * seen is no change), 150,000: 1.5x (red), 400,000 again (green). A rule
 * counting only green raises on the second change only. The dashboard is
 * built at most every every_minutes (60): the test makes the rules due by
 * moving their last check back (hygiene_due). */
START_TEST(health_colour_raised_once_per_change)
{
    api_ws ws, other;
    api_new_workspace(&ws);
    api_new_workspace(&other);
    char q[11], today[11], body[300];
    api_quarter_of_day(0, q);
    api_day(0, today);
    snprintf(body, sizeof body, "{\"name\":\"Ann\",\"role\":\"ae\",\"quotas\":{\"%s\":100000}}", q);
    send_ok(&ws, "PUT", "/v1/reps/ann", body);
    send_ok(&other, "PUT", "/v1/reps/ann", body);
    snprintf(
        body, sizeof body,
        "{\"name\":\"C1\",\"amount\":400000,\"stage\":\"proposal\",\"owner\":\"ann\",\"expected_close_date\":\"%s\"}",
        today);
    send_ok(&ws, "PUT", "/v1/deals/c1", body);
    send_ok(&other, "PUT", "/v1/deals/c1", body);
    static const char *const bad[] = {
        "{\"name\":\"x\",\"kind\":\"health_colour\",\"params\":{\"signals\":\"coverage_ratio\"}}",
        "{\"name\":\"x\",\"kind\":\"health_colour\",\"params\":{\"signals\":[]}}",
        "{\"name\":\"x\",\"kind\":\"health_colour\",\"params\":{\"signals\":[\"Coverage Ratio\"]}}",
        "{\"name\":\"x\",\"kind\":\"health_colour\",\"params\":{\"colours\":[\"blue\"]}}",
        "{\"name\":\"x\",\"kind\":\"health_colour\",\"params\":{\"pct\":10}}",
        "{\"name\":\"x\",\"kind\":\"health_colour\",\"params\":{\"every_minutes\":0}}",
        "{\"name\":\"x\",\"kind\":\"health_colour\",\"params\":{\"every_minutes\":1.5}}",
        "{\"name\":\"x\",\"kind\":\"health_colour\",\"filter\":{\"owner\":[\"ann\"]}}",
    };
    rules_refused(&ws, bad, sizeof bad / sizeof bad[0]);
    receiver rv;
    const int ok[] = {200};
    rcv_start(&rv, ok, 1);
    char cov[40], greens[40], all[40], win[40], theirs[40];
    make_rule(&ws, &rv, "\"kind\":\"health_colour\",\"params\":{\"signals\":[\"coverage_ratio\"]}", cov);
    quiet_rule(&ws,
               "{\"name\":\"g\",\"kind\":\"health_colour\",\"params\":{\"signals\":[\"coverage_ratio\"],"
               "\"colours\":[\"green\"]}}",
               greens);
    quiet_rule(&ws, "{\"name\":\"a\",\"kind\":\"health_colour\"}", all);
    quiet_rule(&ws, "{\"name\":\"w\",\"kind\":\"health_colour\",\"params\":{\"signals\":[\"win_rate\"]}}", win);
    quiet_rule(&other, "{\"name\":\"o\",\"kind\":\"health_colour\"}", theirs);
    char path[96];
    snprintf(path, sizeof path, "/v1/alert-rules/%s", cov);
    api_resp *r = api_get(path, ws.read);
    ck_assert_int_eq(inum(json_object_get(r->json, "params"), "every_minutes"), 60);
    api_resp_free(r);
    PGconn *pg = PQconnectdb(api_db_url());
    ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
    ck_assert_int_eq(evaluate_total(&ws, cov), 0); /* green, first seen */
    ck_assert_int_eq(evaluate_total(&ws, all), 0);
    send_ok(&ws, "PUT", "/v1/deals/c1", "{\"name\":\"C1\",\"amount\":150000}");
    ck_assert_int_eq(evaluate_total(&ws, cov), 0); /* red now, but checked under an hour ago */
    hygiene_due(pg, &ws);                          /* every rule of the workspace due */
    ck_assert_int_eq(evaluate_total(&ws, cov), 1);
    hygiene_due(pg, &ws);
    ck_assert_int_eq(evaluate_total(&ws, cov), 1); /* the check after: nothing new */
    ck_assert_int_eq(evaluate_total(&ws, greens), 0);
    ck_assert_int_eq(evaluate_total(&ws, win), 0);
    ck_assert_int_eq(alerts_about(&ws, all, "health:coverage_ratio"), 1);
    json_t *a = latest_alert(&ws, cov);
    const json_t *d = json_object_get(a, "data");
    ck_assert_str_eq(str(a, "subject"), "health:coverage_ratio");
    ck_assert_str_eq(str(d, "metric"), "coverage_ratio");
    ck_assert_str_eq(str(d, "from"), "green");
    ck_assert_str_eq(str(d, "to"), "red");
    ck_assert_str_eq(str(d, "period"), q);
    json_decref(a);
    /* the dashboard shows the same colour */
    snprintf(path, sizeof path, "/v1/dashboard?period=%s", q);
    r = api_get(path, ws.read);
    ck_assert_status(r, 200);
    size_t i;
    const json_t *x;
    const char *shown = NULL;
    json_array_foreach(json_object_get(r->json, "health_signals"), i,
                       x) if (strcmp(str(x, "metric"), "coverage_ratio") == 0) shown = str(x, "status");
    ck_assert_str_eq(shown ? shown : "", "red");
    api_resp_free(r);
    send_ok(&ws, "PUT", "/v1/deals/c1", "{\"name\":\"C1\",\"amount\":400000}");
    hygiene_due(pg, &ws);
    ck_assert_int_eq(evaluate_total(&ws, cov), 2);
    hygiene_due(pg, &ws);
    ck_assert_int_eq(evaluate_total(&ws, cov), 2);
    ck_assert_int_eq(evaluate_total(&ws, greens), 1);
    ck_assert_int_eq(evaluate_total(&ws, greens), 1);
    ck_assert_int_eq(alerts_about(&ws, all, "health:coverage_ratio"), 2);
    a = latest_alert(&ws, greens);
    ck_assert_str_eq(str(json_object_get(a, "data"), "from"), "red");
    ck_assert_str_eq(str(json_object_get(a, "data"), "to"), "green");
    json_decref(a);
    hygiene_due(pg, &other);
    ck_assert_int_eq(evaluate_total(&other, theirs), 0);
    PQfinish(pg);
    rcv_wait(&rv, 2);
    rcv_stop(&rv);
}
END_TEST

Suite *alerts_suite(void)
{
    Suite *s = suite_create("alerts");
    TCase *t = tcase_create("alerts");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, signature_test_vector);
    tcase_add_test(t, rule_documents_roles_and_isolation);
    tcase_add_test(t, stale_deal_raised_once_and_delivered_signed);
    tcase_add_test(t, push_retried_after_500_once_more);
    tcase_add_test(t, gone_disables_the_destination);
    tcase_add_test(t, renewal_reminder_windows);
    tcase_add_test(t, routing_escalation_raised_once);
    tcase_add_test(t, deal_moved_back_raised_once);
    tcase_add_test(t, sla_breach_raised_once);
    tcase_add_test(t, webhook_lag_raised_once_per_episode);
    tcase_add_test(t, coverage_below_raised_once_per_crossing);
    tcase_add_test(t, hygiene_red_raised_once_per_crossing);
    tcase_add_test(t, account_at_risk_raised_once_per_entry);
    tcase_add_test(t, expansion_signal_raised_once_per_appearance);
    tcase_add_test(t, forecast_moved_raised_once_per_week);
    tcase_add_test(t, health_colour_raised_once_per_change);
    tcase_add_test(t, a_write_delivers_without_waiting_for_the_pass);
    tcase_add_test(t, two_instances_raise_and_deliver_each_occurrence_once);
    tcase_add_test(t, sigkill_during_delivery_still_delivers);
    tcase_add_test(t, destinations_refuse_non_public_addresses);
    suite_add_tcase(s, t);
    return s;
}

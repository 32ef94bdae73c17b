/* hook_load.c - webhook ingest load for `make bench` (issue 9 item 2): signed
 * deliveries to POST /v1/hooks/{id} from CONC threads, each on its own
 * keep-alive connection, for SECONDS; prints the events the service answered
 * as applied (its 200 comes after the commit) per second.
 *
 *   hook_load hubspot  BASE PUBLIC_URL ENDPOINT SECRET CONC SECONDS [RATE]
 *   hook_load standard BASE -          ENDPOINT SECRET CONC SECONDS [RATE]
 *
 * hubspot: batches of 100 deal.propertyChange events (25 deals' name, stage and
 * amount twice) signed with v3 (HMAC-SHA256 of method + public URI + body + timestamp);
 * standard: one deal.updated event per request, Standard Webhooks signature
 * (whsec_ secret). Every event has its own identity and its own deal (thread,
 * sequence), so nothing is a duplicate or stale: each 200 is work done. A sync
 * endpoint answers per-event counts (applied before the 200); an async one
 * {accepted, duplicates} (stored before the 200, applied afterwards): the first
 * output column is then the events acknowledged per second. RATE (deliveries
 * per second over all threads, default 0: as fast as answered) paces the
 * requests on a fixed schedule, for the apply-lag run. Output, one line:
 * "events_per_s requests_per_s applied_or_accepted non_applied failed_requests". */
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 100

static const char *mode, *base, *public_url, *endpoint, *secret;
static double seconds, rate;
static int conc;
static long long salt; /* differs between runs, so no run replays another's events */
static unsigned char std_key[128];
static int std_key_len;

typedef struct {
    int index;
    long applied, other, failed, requests;
    char *buf;
    size_t len, cap;
} worker;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
    worker *w = ctx;
    size_t add = size * n;
    if (w->len + add + 1 > w->cap) {
        size_t cap = (w->len + add + 1) * 2;
        char *nb = realloc(w->buf, cap);
        if (!nb)
            return 0;
        w->buf = nb;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, p, add);
    w->len += add;
    w->buf[w->len] = '\0';
    return add;
}

static void hmac_b64(const void *key, int klen, const char *msg, size_t mlen, char *out)
{
    unsigned char md[32];
    unsigned n = 0;
    HMAC(EVP_sha256(), key, klen, (const unsigned char *)msg, mlen, md, &n);
    EVP_EncodeBlock((unsigned char *)out, md, (int)n);
}

/* The body for request seq of worker w; returns its length. */
static size_t make_body(const worker *w, long seq, char *body, size_t cap, long long now_ms)
{
    size_t n = 0;
    if (strcmp(mode, "hubspot") == 0) {
        n += (size_t)snprintf(body + n, cap - n, "[");
        /* 25 new deals, 4 property changes each, as HubSpot sends a deal's creation: its name, its
         * stage (the endpoint maps presentationscheduled), its amount, then the amount changed. A
         * deal is created once its name and stage are known, so every event applies. */
        for (int k = 0; k < BATCH; k++) {
            long long ev = salt + (seq * BATCH + k) * 64 + w->index; /* unique per run, thread and event */
            long long deal = 9000000 + salt + (seq * (BATCH / 4) + k / 4) * 64 + w->index;
            static const char *const props[] = {"dealname", "dealstage", "amount", "amount"};
            char value[64];
            if (k % 4 == 0)
                snprintf(value, sizeof value, "Bench %lld", deal);
            else if (k % 4 == 1)
                snprintf(value, sizeof value, "presentationscheduled");
            else
                snprintf(value, sizeof value, "%lld.00", 1000 + (ev + k % 4) % 90000);
            n +=
                (size_t)snprintf(body + n, cap - n,
                                 "%s{\"eventId\":%lld,\"subscriptionId\":7,\"portalId\":62515,\"appId\":1,"
                                 "\"occurredAt\":%lld,\"subscriptionType\":\"deal.propertyChange\",\"attemptNumber\":0,"
                                 "\"objectId\":%lld,\"changeSource\":\"CRM\",\"propertyName\":\"%s\","
                                 "\"propertyValue\":\"%s\"}",
                                 k ? "," : "", ev, now_ms - 1000 + k, deal, props[k % 4], value);
        }
        n += (size_t)snprintf(body + n, cap - n, "]");
    } else {
        long long ev = salt + seq * 64 + w->index;
        time_t t = (time_t)(now_ms / 1000);
        struct tm tm;
        char at[32];
        gmtime_r(&t, &tm);
        strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
        n = (size_t)snprintf(body, cap,
                             "{\"type\":\"deal.updated\",\"timestamp\":\"%s\",\"data\":{"
                             "\"external_id\":\"std-%lld\",\"name\":\"Bench %lld\",\"amount\":\"%lld.00\","
                             "\"stage\":\"proposal\",\"status\":\"open\",\"owner\":\"rep-%lld\"}}",
                             at, ev, ev, 1000 + ev % 90000, ev % 50);
    }
    return n;
}

static void *run(void *arg)
{
    worker *w = arg;
    CURL *c = curl_easy_init();
    char url[512], uri[512];
    snprintf(url, sizeof url, "%s/v1/hooks/%s", base, endpoint);
    snprintf(uri, sizeof uri, "%s/v1/hooks/%s", public_url, endpoint);
    size_t cap = BATCH * 400 + 64;
    char *body = malloc(cap), *msg = malloc(cap + 1024);
    double start = now_s(), end = start + seconds;
    /* paced: thread i sends at start + (i + k * conc) / rate, whatever the answers' times */
    double step = rate > 0 ? (double)conc / rate : 0, next = start + (rate > 0 ? w->index / rate : 0);
    for (long seq = 0; c && body && msg && now_s() < end; seq++) {
        if (step > 0) {
            double wait = next - now_s();
            if (wait > 0) {
                struct timespec d = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
                nanosleep(&d, NULL);
            }
            next += step;
            if (now_s() >= end)
                break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        long long now_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        size_t blen = make_body(w, seq, body, cap, now_ms);
        char sig[64], h1[200], h2[200], h3[200];
        struct curl_slist *hs = curl_slist_append(NULL, "Content-Type: application/json");
        if (strcmp(mode, "hubspot") == 0) {
            int m = snprintf(msg, cap + 1024, "POST%s%.*s%lld", uri, (int)blen, body, now_ms);
            hmac_b64(secret, (int)strlen(secret), msg, (size_t)m, sig);
            snprintf(h1, sizeof h1, "X-HubSpot-Signature-v3: %s", sig);
            snprintf(h2, sizeof h2, "X-HubSpot-Request-Timestamp: %lld", now_ms);
            hs = curl_slist_append(hs, h1);
            hs = curl_slist_append(hs, h2);
        } else {
            char id[64];
            snprintf(id, sizeof id, "msg_%lld_%d_%ld", salt, w->index, seq);
            long long t = now_ms / 1000;
            int m = snprintf(msg, cap + 1024, "%s.%lld.%.*s", id, t, (int)blen, body);
            hmac_b64(std_key, std_key_len, msg, (size_t)m, sig);
            snprintf(h1, sizeof h1, "webhook-id: %s", id);
            snprintf(h2, sizeof h2, "webhook-timestamp: %lld", t);
            snprintf(h3, sizeof h3, "webhook-signature: v1,%s", sig);
            hs = curl_slist_append(hs, h1);
            hs = curl_slist_append(hs, h2);
            hs = curl_slist_append(hs, h3);
        }
        w->len = 0;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
        long status = 0;
        CURLcode rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(hs);
        w->requests++;
        json_t *doc = rc == CURLE_OK && status == 200 && w->buf ? json_loads(w->buf, 0, NULL) : NULL;
        json_t *counts = json_object_get(doc, "counts"), *accepted = json_object_get(doc, "accepted");
        if (!counts && json_is_integer(accepted)) { /* async: stored, applied afterwards */
            w->applied += (long)json_integer_value(accepted);
            w->other += (long)json_integer_value(json_object_get(doc, "duplicates"));
        } else if (!counts) {
            if (w->failed++ < 3)
                fprintf(stderr, "hook_load: HTTP %ld (%s): %.300s\n", status, curl_easy_strerror(rc),
                        w->buf ? w->buf : "");
        } else {
            long applied = (long)json_integer_value(json_object_get(counts, "applied"));
            w->applied += applied;
            w->other += (long)(json_integer_value(json_object_get(counts, "duplicate")) +
                               json_integer_value(json_object_get(counts, "stale")) +
                               json_integer_value(json_object_get(counts, "rejected")));
        }
        json_decref(doc);
    }
    free(body);
    free(msg);
    curl_easy_cleanup(c);
    return NULL;
}

int main(int argc, char **argv)
{
    if ((argc != 8 && argc != 9) || (strcmp(argv[1], "hubspot") != 0 && strcmp(argv[1], "standard") != 0)) {
        fprintf(stderr, "usage: hook_load hubspot|standard BASE PUBLIC_URL ENDPOINT SECRET CONC SECONDS [RATE]\n");
        return 2;
    }
    mode = argv[1], base = argv[2], public_url = argv[3], endpoint = argv[4], secret = argv[5];
    conc = atoi(argv[6]);
    seconds = atof(argv[7]);
    rate = argc == 9 ? atof(argv[8]) : 0;
    if (conc < 1 || conc > 64 || seconds <= 0 || rate < 0) {
        fprintf(stderr, "hook_load: 1-64 threads, a positive duration and a rate >= 0\n");
        return 2;
    }
    if (strcmp(mode, "standard") == 0) { /* the HMAC key is the base64 part of whsec_... */
        const char *b = strncmp(secret, "whsec_", 6) == 0 ? secret + 6 : secret;
        size_t bl = strlen(b);
        if (bl > 160 || (std_key_len = EVP_DecodeBlock(std_key, (const unsigned char *)b, (int)bl)) < 0) {
            fprintf(stderr, "hook_load: the secret is not whsec_<base64>\n");
            return 2;
        }
        for (size_t i = bl; i > 0 && b[i - 1] == '='; i--) /* DecodeBlock counts padding as bytes */
            std_key_len--;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    /* microseconds since 2026 x 10^6: distinct between runs, and ids stay below 2^53 (JSON numbers) */
    salt = ((long long)(now.tv_sec - 1767225600) * 1000000LL + now.tv_nsec / 1000) % 9000000LL * 1000000000LL;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    worker *w = calloc((size_t)conc, sizeof *w);
    pthread_t *t = calloc((size_t)conc, sizeof *t);
    if (!w || !t)
        return 1;
    double t0 = now_s();
    for (int i = 0; i < conc; i++) {
        w[i].index = i;
        if (pthread_create(&t[i], NULL, run, &w[i]) != 0)
            return 1;
    }
    long applied = 0, other = 0, failed = 0, requests = 0;
    for (int i = 0; i < conc; i++) {
        pthread_join(t[i], NULL);
        applied += w[i].applied;
        other += w[i].other;
        failed += w[i].failed;
        requests += w[i].requests;
        free(w[i].buf);
    }
    double el = now_s() - t0;
    printf("%.0f %.0f %ld %ld %ld\n", (double)applied / el, (double)requests / el, applied, other, failed);
    free(w);
    free(t);
    curl_global_cleanup();
    return 0;
}

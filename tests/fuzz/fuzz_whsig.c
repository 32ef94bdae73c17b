/* fuzz_whsig.c - webhook signature header parsing and checking (whsig.c).
 * The first byte picks a mode, the rest is split at NUL bytes into header
 * values and a body:
 *   0 Standard Webhooks, headers from the input: never OK (no input can
 *     carry a valid HMAC for the fixed secret);
 *   1 Standard Webhooks signed here (key, id and extra signatures from the
 *     input, timestamp now): OK; the same with one body byte changed: BAD;
 *   2 HubSpot, headers from the input: never OK;
 *   3 HubSpot v3 signed here over the input's URI and body: OK, and BAD
 *     with a body byte changed;
 *   4 HTTP Basic, Authorization from the input: never OK for a fixed user;
 *   5 HubSpot URI normalisation: never longer than its input.
 * Nothing may crash or read out of bounds (ASan). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "whsig.h"

typedef struct {
    const char *name[6];
    const char *value[6];
} hdrs;

static const char *get(void *ctx, const char *name)
{
    hdrs *h = ctx;
    for (int i = 0; i < 6 && h->name[i]; i++)
        if (strcasecmp(h->name[i], name) == 0)
            return h->value[i];
    return NULL;
}

#define NF 5
static char fbuf[NF][1024];

/* Split after the mode byte: NF NUL-terminated fields, then the body. */
static const char *split(const uint8_t *d, size_t n, size_t *blen)
{
    size_t i = 0;
    for (int f = 0; f < NF; f++) {
        size_t k = 0;
        while (i < n && d[i] != 0 && k < sizeof fbuf[f] - 1)
            fbuf[f][k++] = (char)d[i++];
        fbuf[f][k] = '\0';
        while (i < n && d[i] != 0) /* overlong field: the rest is dropped */
            i++;
        if (i < n)
            i++;
    }
    *blen = n - i;
    return (const char *)d + i;
}

static const char *fixed_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"; /* WEBHOOKS.md's sample shape */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] % 6;
    size_t blen;
    const char *b = split(data + 1, size - 1, &blen);
    char *body = malloc(blen + 1); /* exact size: ASan sees any over-read */
    memcpy(body, b, blen);
    body[blen] = '\0';
    long long now_s = 1795000000;
    hdrs h = {{0}, {0}};
    char ts[32], sig[600], sigs[1400];
    unsigned char md[32];
    unsigned mdlen = 0;
    whsig_result r;
    switch (mode) {
    case 0:
        h = (hdrs){{"webhook-id", "webhook-timestamp", "webhook-signature"}, {fbuf[0], fbuf[1], fbuf[2]}};
        if (whsig_standard(fixed_secret, body, blen, get, &h, now_s) == WHSIG_OK)
            abort();
        if (whsig_standard(fbuf[3], body, blen, get, &h, now_s) == WHSIG_OK && fbuf[3][0] && fbuf[2][0] == 'v' &&
            strlen(fbuf[2]) < 3 + 44) /* a signature shorter than a SHA-256 one cannot match */
            abort();
        break;
    case 1: {
        /* key: up to 48 input bytes; secret "whsec_" + base64(key) */
        size_t klen = strlen(fbuf[0]) > 48 ? 48 : strlen(fbuf[0]);
        if (klen == 0 || !fbuf[1][0])
            break;
        char secret[80] = "whsec_";
        EVP_EncodeBlock((unsigned char *)secret + 6, (const unsigned char *)fbuf[0], (int)klen);
        snprintf(ts, sizeof ts, "%lld", now_s - 10);
        size_t mlen = strlen(fbuf[1]) + 1 + strlen(ts) + 1 + blen;
        char *msg = malloc(mlen + 1);
        int off = sprintf(msg, "%s.%s.", fbuf[1], ts);
        memcpy(msg + off, body, blen);
        HMAC(EVP_sha256(), fbuf[0], (int)klen, (const unsigned char *)msg, mlen, md, &mdlen);
        free(msg);
        char b64[64];
        EVP_EncodeBlock((unsigned char *)b64, md, 32);
        /* other signatures first (no spaces inside a token: spaces separate them) */
        for (char *p = fbuf[2]; *p; p++)
            if (*p == ' ')
                *p = '_';
        snprintf(sigs, sizeof sigs, "%s%sv1,%s", fbuf[2], fbuf[2][0] ? " " : "", b64);
        h = (hdrs){{"webhook-id", "webhook-timestamp", "webhook-signature"}, {fbuf[1], ts, sigs}};
        char two[200];
        snprintf(two, sizeof two, "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA %s", secret); /* rotation: 2 secrets */
        if (whsig_standard(secret, body, blen, get, &h, now_s) != WHSIG_OK ||
            whsig_standard(two, body, blen, get, &h, now_s) != WHSIG_OK)
            abort();
        if (blen > 0) {
            body[blen / 2] ^= 1;
            if (whsig_standard(secret, body, blen, get, &h, now_s) != WHSIG_BAD)
                abort();
        }
        break;
    }
    case 2:
        h = (hdrs){{"X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp", "X-HubSpot-Signature",
                    "X-HubSpot-Signature-Version"},
                   {fbuf[0][0] ? fbuf[0] : NULL, fbuf[1], fbuf[2], fbuf[3]}};
        r = whsig_hubspot("hs-fixed-client-secret", "POST", fbuf[4][0] ? fbuf[4] : "https://x.example/v1/hooks/a", body,
                          blen, get, &h, now_s * 1000);
        if (r == WHSIG_OK)
            abort();
        break;
    case 3: {
        const char *uri = fbuf[0][0] ? fbuf[0] : "https://x.example/v1/hooks/a";
        const char *secret = fbuf[1][0] ? fbuf[1] : "hs-fixed-client-secret";
        char nuri[2048];
        if (whsig_hubspot_uri(uri, nuri, sizeof nuri) < 0)
            break;
        snprintf(ts, sizeof ts, "%lld", now_s * 1000 - 1000);
        size_t mlen = 4 + strlen(nuri) + blen + strlen(ts);
        char *msg = malloc(mlen + 1);
        int off = sprintf(msg, "POST%s", nuri);
        memcpy(msg + off, body, blen);
        memcpy(msg + off + blen, ts, strlen(ts));
        HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, mlen, md, &mdlen);
        free(msg);
        EVP_EncodeBlock((unsigned char *)sig, md, 32);
        h = (hdrs){{"X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"}, {sig, ts}};
        if (whsig_hubspot(secret, "POST", uri, body, blen, get, &h, now_s * 1000) != WHSIG_OK)
            abort();
        if (blen > 0) {
            body[0] ^= 0x20;
            if (whsig_hubspot(secret, "POST", uri, body, blen, get, &h, now_s * 1000) != WHSIG_BAD)
                abort();
        }
        break;
    }
    case 4: {
        char want[65];
        whsig_sha256_hex("the-fixed-password", want);
        if (whsig_basic(fbuf[0], "fixed-user", want) == WHSIG_OK)
            abort();
        (void)whsig_basic(fbuf[0], fbuf[1], want);
        break;
    }
    case 5: {
        char out[1100];
        long n = whsig_hubspot_uri(fbuf[0], out, sizeof out);
        if (n > (long)strlen(fbuf[0]) || (n >= 0 && (size_t)n != strlen(out)))
            abort();
        break;
    }
    }
    free(body);
    return 0;
}

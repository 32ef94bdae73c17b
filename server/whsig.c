/* whsig.c - webhook signature checks (see whsig.h). */
#include "whsig.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define B64_SHA256 44 /* base64 of 32 bytes, with padding */

static void b64(const unsigned char *in, int n, char *out) { EVP_EncodeBlock((unsigned char *)out, in, n); }

/* Decode standard base64 (with padding) into out; the decoded length or -1. */
static int unb64(const char *in, size_t n, unsigned char *out, size_t cap)
{
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > cap)
        return -1;
    int m = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (m < 0)
        return -1;
    if (in[n - 1] == '=')
        m--;
    if (in[n - 2] == '=')
        m--;
    return m;
}

/* HMAC-SHA256 (or, with key NULL, SHA-256) over the concatenation of n
 * parts, without copying them together. md gets 32 bytes. */
static bool mac_parts(const unsigned char *key, size_t klen, const void *const *parts, const size_t *lens, int n,
                      unsigned char *md)
{
    bool ok = false;
    if (key) {
        EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;
        char digest[] = "SHA256";
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
        size_t out = 0;
        ok = c && EVP_MAC_init(c, key, klen, params) == 1;
        for (int i = 0; ok && i < n; i++)
            ok = EVP_MAC_update(c, parts[i], lens[i]) == 1;
        ok = ok && EVP_MAC_final(c, md, &out, 32) == 1 && out == 32;
        EVP_MAC_CTX_free(c);
        EVP_MAC_free(mac);
    } else {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        unsigned out = 0;
        ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
        for (int i = 0; ok && i < n; i++)
            ok = EVP_DigestUpdate(c, parts[i], lens[i]) == 1;
        ok = ok && EVP_DigestFinal_ex(c, md, &out) == 1 && out == 32;
        EVP_MD_CTX_free(c);
    }
    return ok;
}

/* Constant-time equality of two strings of which `want` has a public length. */
static bool same(const char *want, const char *got, size_t got_len)
{
    size_t n = strlen(want);
    return n == got_len && CRYPTO_memcmp(want, got, n) == 0;
}

static void hex(const unsigned char *md, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Parse a decimal timestamp; false unless it is all digits (at most 15). */
static bool parse_ts(const char *s, long long *out)
{
    if (!s || !*s || strlen(s) > 15)
        return false;
    long long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return true;
}

long whsig_hubspot_uri(const char *uri, char *out, size_t len)
{
    static const char *const decoded = "3A:2F/3F?40@21!24$27'28(29)2A*2C,3B;";
    size_t n = 0;
    for (const char *p = uri; *p; p++) {
        char c = *p;
        if (c == '%' && p[1] && p[2]) {
            char code[3] = {(char)((p[1] >= 'a' && p[1] <= 'z') ? p[1] - 32 : p[1]),
                            (char)((p[2] >= 'a' && p[2] <= 'z') ? p[2] - 32 : p[2]), 0};
            for (const char *d = decoded; *d; d += 3)
                if (d[0] == code[0] && d[1] == code[1]) {
                    c = d[2];
                    p += 2;
                    break;
                }
        }
        if (n + 1 >= len)
            return -1;
        out[n++] = c;
    }
    out[n] = '\0';
    return (long)n;
}

static whsig_result hubspot_v3(const char *secret, const char *method, const char *uri, const char *body, size_t len,
                               const char *sig, const char *ts, long long now_ms)
{
    long long t;
    if (!parse_ts(ts, &t))
        return WHSIG_MISSING;
    if (t < now_ms - WHSIG_TOLERANCE_S * 1000LL || t > now_ms + WHSIG_TOLERANCE_S * 1000LL)
        return WHSIG_STALE;
    char nuri[2048];
    if (whsig_hubspot_uri(uri, nuri, sizeof nuri) < 0)
        return WHSIG_BAD;
    unsigned char md[32];
    const void *parts[] = {method, nuri, body, ts};
    const size_t lens[] = {strlen(method), strlen(nuri), len, strlen(ts)};
    if (!mac_parts((const unsigned char *)secret, strlen(secret), parts, lens, 4, md))
        return WHSIG_BAD;
    char want[B64_SHA256 + 1];
    b64(md, 32, want);
    return same(want, sig, strlen(sig)) ? WHSIG_OK : WHSIG_BAD;
}

/* v1: sha256(secret + body); v2: sha256(secret + method + uri + body); hex. */
static whsig_result hubspot_v12(const char *secret, const char *method, const char *uri, const char *body, size_t len,
                                const char *sig, bool v2)
{
    unsigned char md[32];
    const void *parts[] = {secret, method, uri, body};
    const size_t lens[] = {strlen(secret), strlen(method), strlen(uri), len};
    const void *parts1[] = {secret, body};
    const size_t lens1[] = {strlen(secret), len};
    if (!(v2 ? mac_parts(NULL, 0, parts, lens, 4, md) : mac_parts(NULL, 0, parts1, lens1, 2, md)))
        return WHSIG_BAD;
    char want[2 * 32 + 1];
    hex(md, 32, want);
    /* hex digests compare case-insensitively: lower the candidate first */
    char got[2 * 32 + 1];
    size_t n = strlen(sig);
    if (n != 2 * 32)
        return WHSIG_BAD;
    for (size_t i = 0; i <= n; i++)
        got[i] = (char)((sig[i] >= 'A' && sig[i] <= 'F') ? sig[i] + 32 : sig[i]);
    return same(want, got, n) ? WHSIG_OK : WHSIG_BAD;
}

whsig_result whsig_hubspot(const char *secret, const char *method, const char *uri, const char *body, size_t len,
                           whsig_header_fn hdr, void *ctx, long long now_ms)
{
    if (!secret || !*secret)
        return WHSIG_BAD;
    const char *v3 = hdr(ctx, "X-HubSpot-Signature-v3");
    if (v3)
        return hubspot_v3(secret, method, uri, body, len, v3, hdr(ctx, "X-HubSpot-Request-Timestamp"), now_ms);
    const char *sig = hdr(ctx, "X-HubSpot-Signature");
    if (!sig)
        return WHSIG_MISSING;
    const char *ver = hdr(ctx, "X-HubSpot-Signature-Version");
    if (ver && strcasecmp(ver, "v2") == 0)
        return hubspot_v12(secret, method, uri, body, len, sig, true);
    if (!ver || strcasecmp(ver, "v1") == 0)
        return hubspot_v12(secret, method, uri, body, len, sig, false);
    return WHSIG_BAD;
}

/* HMAC key of one "whsec_<base64>" secret (the prefix is optional). */
static int standard_key(const char *secret, size_t n, unsigned char *key, size_t cap)
{
    if (n > 6 && strncmp(secret, "whsec_", 6) == 0) {
        secret += 6;
        n -= 6;
    }
    return unb64(secret, n, key, cap);
}

const char *whsig_standard_header(whsig_header_fn hdr, void *ctx, const char *part)
{
    /* the svix libraries send the same scheme under svix-*; a request uses
     * one family for all three, so the webhook- one wins only when its id is
     * there (mixing families would let a header be swapped unnoticed) */
    char name[40];
    bool svix = !hdr(ctx, "webhook-id") && hdr(ctx, "svix-id");
    snprintf(name, sizeof name, "%s-%s", svix ? "svix" : "webhook", part);
    return hdr(ctx, name);
}

whsig_result whsig_standard(const char *secrets, const char *body, size_t len, whsig_header_fn hdr, void *ctx,
                            long long now_s)
{
    const char *id = whsig_standard_header(hdr, ctx, "id"), *ts = whsig_standard_header(hdr, ctx, "timestamp");
    const char *sigs = whsig_standard_header(hdr, ctx, "signature");
    long long t;
    if (!id || !sigs || !parse_ts(ts, &t))
        return WHSIG_MISSING;
    if (t < now_s - WHSIG_TOLERANCE_S || t > now_s + WHSIG_TOLERANCE_S)
        return WHSIG_STALE;
    if (!secrets)
        return WHSIG_BAD;
    bool ok = false;
    /* every (secret, signature) pair is checked, so timing does not reveal which matched */
    for (const char *s = secrets; *s;) {
        size_t sn = strcspn(s, " ");
        unsigned char key[128], md[32];
        int klen = standard_key(s, sn, key, sizeof key);
        const void *parts[] = {id, ".", ts, ".", body};
        const size_t lens[] = {strlen(id), 1, strlen(ts), 1, len};
        bool mac = klen > 0 && mac_parts(key, (size_t)klen, parts, lens, 5, md);
        OPENSSL_cleanse(key, sizeof key);
        if (mac) {
            char want[B64_SHA256 + 1];
            b64(md, 32, want);
            for (const char *g = sigs; *g;) {
                size_t gn = strcspn(g, " ");
                if (gn > 3 && strncmp(g, "v1,", 3) == 0 && same(want, g + 3, gn - 3))
                    ok = true;
                g += gn;
                while (*g == ' ')
                    g++;
            }
        }
        s += sn;
        while (*s == ' ')
            s++;
    }
    return ok ? WHSIG_OK : WHSIG_BAD;
}

int whsig_standard_sign(const char *secret, const char *id, long long ts, const char *body, size_t len, char *out,
                        size_t outlen)
{
    unsigned char key[128], md[32];
    char tsbuf[24];
    if (!secret || !id || outlen < 3 + B64_SHA256 + 1)
        return -1;
    snprintf(tsbuf, sizeof tsbuf, "%lld", ts);
    int klen = standard_key(secret, strlen(secret), key, sizeof key);
    const void *parts[] = {id, ".", tsbuf, ".", body};
    const size_t lens[] = {strlen(id), 1, strlen(tsbuf), 1, len};
    bool mac = klen > 0 && mac_parts(key, (size_t)klen, parts, lens, 5, md);
    OPENSSL_cleanse(key, sizeof key);
    if (!mac)
        return -1;
    memcpy(out, "v1,", 3);
    b64(md, 32, out + 3);
    return 0;
}

void whsig_sha256_hex(const char *s, char out[65])
{
    unsigned char md[32];
    const void *parts[] = {s};
    const size_t lens[] = {strlen(s)};
    if (!mac_parts(NULL, 0, parts, lens, 1, md))
        memset(md, 0, sizeof md);
    hex(md, 32, out);
}

whsig_result whsig_basic(const char *authorization, const char *username, const char *password_sha256)
{
    if (!authorization)
        return WHSIG_MISSING;
    if (strncasecmp(authorization, "Basic ", 6) != 0 || !username || !password_sha256)
        return WHSIG_BAD;
    const char *enc = authorization + 6;
    while (*enc == ' ')
        enc++;
    unsigned char dec[600];
    int n = unb64(enc, strlen(enc), dec, sizeof dec - 1);
    if (n < 0)
        return WHSIG_BAD;
    dec[n] = '\0';
    char *colon = strchr((char *)dec, ':');
    bool ok = false;
    if (colon) {
        *colon = '\0';
        char got[65], user_want[65], user_got[65];
        whsig_sha256_hex(colon + 1, got);
        /* usernames compared as digests too, so not even their length shows
         * in the timing; both are always compared */
        whsig_sha256_hex(username, user_want);
        whsig_sha256_hex((const char *)dec, user_got);
        bool user_ok = same(user_want, user_got, 64);
        bool pass_ok = same(password_sha256, got, 64);
        ok = user_ok && pass_ok;
    }
    OPENSSL_cleanse(dec, sizeof dec);
    return ok ? WHSIG_OK : WHSIG_BAD;
}

int whsig_new_secret(char *out, size_t len)
{
    unsigned char raw[24];
    if (len < 6 + 32 + 1 || RAND_bytes(raw, sizeof raw) != 1)
        return -1;
    memcpy(out, "whsec_", 6);
    b64(raw, sizeof raw, out + 6);
    OPENSSL_cleanse(raw, sizeof raw);
    return 0;
}

const char *whsig_reason(whsig_result r)
{
    switch (r) {
    case WHSIG_OK:
        return "signature verified";
    case WHSIG_MISSING:
        return "the signature or timestamp header is missing or malformed";
    case WHSIG_STALE:
        return "the timestamp is more than 5 minutes from the server's clock";
    case WHSIG_BAD:
        break;
    }
    return "the signature does not match";
}

/* whsig.h - webhook signature checks for each source (WEBHOOKS.md): HubSpot
 * v3 (HMAC-SHA256 over method + URI + body + timestamp, 5-minute window), v2
 * and v1 (SHA-256 hex), Standard Webhooks (HMAC-SHA256 over id.timestamp.body,
 * several signatures and several secrets for rotation, 5-minute window; the
 * webhook-* or the svix-* header family), and
 * HTTP Basic credentials (Pipedrive). Every comparison is constant-time; the
 * raw body bytes are what is checked, before any parsing. No I/O. */
#ifndef REVOPS_WHSIG_H
#define REVOPS_WHSIG_H

#include <stddef.h>

typedef enum {
    WHSIG_OK = 0,
    WHSIG_MISSING, /* a header the scheme needs is absent */
    WHSIG_STALE,   /* timestamp outside the tolerance */
    WHSIG_BAD      /* no signature matches */
} whsig_result;

#define WHSIG_TOLERANCE_S 300

/* Headers of one request, looked up by name (case-insensitive). */
typedef const char *(*whsig_header_fn)(void *ctx, const char *name);

/* HubSpot: picks v3 when X-HubSpot-Signature-v3 is present, else v2/v1 by
 * X-HubSpot-Signature-Version (v1 when absent). uri: the public URI the app
 * was configured with, including the path (and query, if any). now_ms:
 * current time in ms since the epoch. */
whsig_result whsig_hubspot(const char *secret, const char *method, const char *uri, const char *body, size_t len,
                           whsig_header_fn hdr, void *ctx, long long now_ms);

/* Standard Webhooks. secrets: one or more whsec_... separated by spaces (the
 * current one and those being rotated out). now_s: seconds since the epoch. */
whsig_result whsig_standard(const char *secrets, const char *body, size_t len, whsig_header_fn hdr, void *ctx,
                            long long now_s);

/* One of the Standard Webhooks headers (part: "id", "timestamp" or
 * "signature"): webhook-PART, or svix-PART when the request carries the Svix
 * family instead (svix-id without webhook-id), as the official libraries
 * accept. NULL when absent. */
const char *whsig_standard_header(whsig_header_fn hdr, void *ctx, const char *part);

/* The sender's side of Standard Webhooks: "v1," + base64 HMAC-SHA256 of
 * id.ts.body keyed with the decoded whsec_ secret, into out (at least 48
 * bytes). 0, or -1 when the secret is not whsec_<base64>. */
int whsig_standard_sign(const char *secret, const char *id, long long ts, const char *body, size_t len, char *out,
                        size_t outlen);

/* HTTP Basic: the Authorization header against a username and the SHA-256
 * (hex) of the password; the password itself is never stored. */
whsig_result whsig_basic(const char *authorization, const char *username, const char *password_sha256);
/* Lower-case hex SHA-256 of a string. */
void whsig_sha256_hex(const char *s, char out[65]);

/* A new Standard Webhooks secret "whsec_" + base64(24 random bytes) into out
 * (at least 40 bytes). 0 or -1. */
int whsig_new_secret(char *out, size_t len);

/* Short reason for a result, for problem details. */
const char *whsig_reason(whsig_result r);

/* Building blocks, also used by tests and the fuzzer: HubSpot's v3 URI
 * normalisation (decodes %3A %2F %3F %40 %21 %24 %27 %28 %29 %2A %2C %3B,
 * either case) into out; returns the length or -1 when out is too small. */
long whsig_hubspot_uri(const char *uri, char *out, size_t len);

#endif

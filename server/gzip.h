/* gzip.h - gzip content-coding of responses (RFC 9110 section 8.4.1.3,
 * negotiated by Accept-Encoding, section 12.5.3), with zlib. */
#ifndef GZIP_H
#define GZIP_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

/* Bodies shorter than this are sent as they are (unless the client refuses
 * identity): the gzip header and trailer are 18 bytes, and under about one
 * packet there is no transfer time to save. */
#define GZIP_MIN_BYTES 1024

/* How Accept-Encoding answers "may the body be gzip-coded?": GZIP_NO (no
 * header, gzip;q=0, or not named and no *), GZIP_YES, or GZIP_ONLY (gzip
 * acceptable and identity refused: identity;q=0, or *;q=0 without identity). */
typedef enum { GZIP_NO, GZIP_YES, GZIP_ONLY } gzip_accept;
gzip_accept gzip_accepts(const char *accept_encoding);

/* Whether a media type is text worth compressing (JSON, YAML, text/...). */
bool gzip_compressible(const char *content_type);

/* gzip-code len bytes (level: zlib's 1-9); a malloc'd buffer and its
 * length, or NULL. */
unsigned char *gzip_encode(const void *data, size_t len, int level, size_t *outlen);

/* The response hook (http.c's send_reply, before the response is built):
 * compresses rq's reply in place when the client accepts gzip, the type is
 * compressible and the body is large enough (never a 204 or 304's body
 * sent, never a body that would not shrink), adding Content-Encoding; the
 * ETag is kept (gzip.c says why). A 304 gets the Content-Length the 200
 * would have had. Returns
 * true when the answer depends on Accept-Encoding (Vary). */
bool gzip_reply(http_req *rq);

/* Replace every Vary header of an MHD response by one, with Accept-Encoding
 * added when varies (names deduplicated, case-insensitively). */
struct MHD_Response;
void gzip_vary(struct MHD_Response *resp, bool varies);

#endif

/* gzip.c - gzip content-coding of responses with zlib (gzip.h).
 *
 * zlib is the reference implementation of DEFLATE and of the gzip wrapper
 * (RFC 1951/1952, by their authors), the library every HTTP server and
 * client uses for this; a hand-written deflate would be slower and a
 * liability. */
#include <ctype.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "gzip.h"

/* zlib's default level 6 (levels 1, 6 and 9 measured on the demo's answers:
 * docs/benchmarks.md "Response compression"): on a 2 KiB answer every level
 * costs the same (stream set-up and the few blocks dominate) and 6 is 4%
 * smaller than 1; on a 50- or 200-deal list 6 is a fifth smaller than 1 for
 * under a tenth of the list's own request time; 9 gains 1% more at 3x. */
#define GZIP_LEVEL 6

/* One element of a comma-separated list with an optional ;q=: the coding's
 * name (lowercase) and its weight in thousandths. Returns the position after
 * the element. */
static const char *next_coding(const char *p, char *name, size_t namelen, int *q)
{
    while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
    size_t n = 0;
    while (*p && *p != ',' && *p != ';' && *p != ' ' && *p != '\t') {
        if (n + 1 < namelen)
            name[n++] = (char)tolower((unsigned char)*p);
        p++;
    }
    name[n] = '\0';
    *q = 1000;
    while (*p && *p != ',') { /* parameters: only q counts */
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        if ((p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            p += 2;
            /* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
            int v = 0, scale = 1000;
            if (*p >= '0' && *p <= '9')
                v = (*p++ - '0') * 1000;
            if (*p == '.') {
                p++;
                for (int d = 0; d < 3 && *p >= '0' && *p <= '9'; d++, p++) {
                    scale /= 10;
                    v += (*p - '0') * scale;
                }
            }
            *q = v > 1000 ? 1000 : v;
        }
        while (*p && *p != ',' && *p != ';')
            p++;
    }
    return p;
}

gzip_accept gzip_accepts(const char *ae)
{
    if (!ae)
        return GZIP_NO; /* no header: any coding is acceptable, but identity is the safe reading */
    int q_gzip = -1, q_identity = -1, q_star = -1;
    const char *p = ae;
    while (*p) {
        char name[32];
        int q;
        p = next_coding(p, name, sizeof name, &q);
        if (strcmp(name, "gzip") == 0 || strcmp(name, "x-gzip") == 0)
            q_gzip = q > q_gzip ? q : q_gzip;
        else if (strcmp(name, "identity") == 0)
            q_identity = q;
        else if (strcmp(name, "*") == 0)
            q_star = q;
    }
    int g = q_gzip >= 0 ? q_gzip : q_star >= 0 ? q_star : 0;
    /* identity is acceptable unless refused by name, or by * when not named */
    int id = q_identity >= 0 ? q_identity : q_star >= 0 ? (q_star > 0 ? 1 : 0) : 1;
    if (g <= 0)
        return GZIP_NO;
    return id <= 0 ? GZIP_ONLY : GZIP_YES;
}

bool gzip_compressible(const char *ct)
{
    if (!ct)
        return false;
    if (strncasecmp(ct, "text/", 5) == 0)
        return true;
    size_t n = strcspn(ct, ";");
    /* application/json, application/problem+json, application/yaml, x-ndjson ... */
    for (const char *k = ct; k + 4 <= ct + n; k++)
        if (strncasecmp(k, "json", 4) == 0 || strncasecmp(k, "yaml", 4) == 0)
            return true;
    return false;
}

unsigned char *gzip_encode(const void *data, size_t len, int level, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* The window and hash sized to the body: zlib's defaults (32 KiB window,
     * memLevel 8) allocate and clear about 256 KiB per stream, which for a
     * 2 KiB answer costs more than the compression; a window at least the
     * body's size loses nothing (no match can reach further back). +16: a
     * gzip wrapper (RFC 1952), not zlib's own. */
    int wbits = 9;
    while (wbits < 15 && ((size_t)1 << wbits) < len)
        wbits++;
    int mem = wbits - 7 < 2 ? 2 : wbits - 7;
    if (deflateInit2(&z, level, Z_DEFLATED, wbits + 16, mem, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    uLong cap = deflateBound(&z, (uLong)len);
    unsigned char *out = malloc(cap ? cap : 1);
    if (!out) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    int rc = len > UINT32_MAX ? Z_BUF_ERROR : deflate(&z, Z_FINISH);
    *outlen = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(out);
        return NULL;
    }
    return out;
}

bool gzip_reply(http_req *rq)
{
    bool not_modified = rq->status == 304;
    /* a 304 carries no type: its buffer is the 200's body (http.c), which
     * only validated JSON, YAML and text answers have */
    if (rq->status == 204 || !rq->reply || (!not_modified && !gzip_compressible(rq->reply_type)))
        return false;
    gzip_accept a = gzip_accepts(http_header(rq, "Accept-Encoding"));
    if (a == GZIP_NO || (a == GZIP_YES && rq->reply_len < GZIP_MIN_BYTES))
        return true; /* identity this time; another Accept-Encoding may get gzip */
    for (int i = 0; i < rq->nheaders; i++)
        if (strcasecmp(rq->headers[i][0], "Content-Encoding") == 0)
            return true; /* already coded by its handler */
    size_t zlen = 0;
    unsigned char *z = gzip_encode(rq->reply, rq->reply_len, GZIP_LEVEL, &zlen);
    if (!z || (zlen >= rq->reply_len && a != GZIP_ONLY)) {
        free(z); /* would not shrink (or no memory): identity */
        return true;
    }
    /* The ETag stays as the handler set it. Strictly a content coding is
     * another representation, but this API serves no byte ranges (where a
     * tag shared by two codings would splice them), Vary keeps the cached
     * variants apart, and If-Match compares strongly (RFC 9110 13.1.1): a
     * weakened tag would make every funnel, comp plan and scoring model
     * edit from a browser (which always asks for gzip) fail with 412. */
    free(rq->reply);
    rq->reply = (char *)z;
    rq->reply_len = zlen;
    if (!not_modified) /* a 304 has no body and so no content coding */
        http_add_header(rq, "Content-Encoding", "gzip");
    return true;
}

typedef struct {
    char names[256];
    char *old[8];
    int nold;
} vary_acc;

static void vary_add(vary_acc *v, const char *list)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t n = strcspn(p, ", ");
        if (!n)
            break;
        /* deduplicate, case-insensitively, whole names only */
        bool seen = false;
        for (const char *q = v->names; *q;) {
            size_t m = strcspn(q, ",");
            if (m == n && strncasecmp(q, p, n) == 0)
                seen = true;
            q += m;
            while (*q == ',' || *q == ' ')
                q++;
        }
        size_t used = strlen(v->names);
        if (!seen && used + n + 3 < sizeof v->names) {
            if (used)
                memcpy(v->names + used, ", ", 2), used += 2;
            memcpy(v->names + used, p, n);
            v->names[used + n] = '\0';
        }
        p += n;
    }
}

static enum MHD_Result collect_vary(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    vary_acc *v = cls;
    if (strcasecmp(key, "Vary") == 0 && v->nold < 8) {
        vary_add(v, value);
        v->old[v->nold++] = strdup(value);
    }
    return MHD_YES;
}

void gzip_vary(struct MHD_Response *resp, bool varies)
{
    vary_acc v = {.names = "", .nold = 0};
    MHD_get_response_headers(resp, collect_vary, &v);
    if (varies)
        vary_add(&v, "Accept-Encoding");
    for (int i = 0; i < v.nold; i++) {
        if (v.old[i])
            MHD_del_response_header(resp, "Vary", v.old[i]);
        free(v.old[i]);
    }
    if (v.names[0])
        MHD_add_response_header(resp, "Vary", v.names);
}

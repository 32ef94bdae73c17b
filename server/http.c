/* http.c - libmicrohttpd server, the one dispatcher, and reply helpers. */
#include "http.h"

#include <errno.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netdb.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "gzip.h"
#include "jsonv.h"
#include "log.h"
#include "prom.h"
#include "strhash.h"
#include "alerteval.h"
#include "fccache.h"
#include "respcache.h"
#include "ratelimit.h"

/* JSON nesting deeper than this is refused before parsing: no real resource
 * nests beyond a handful of levels, and it bounds every recursive walk. */
#define HTTP_MAX_JSON_DEPTH 64

/* Request size limits answered as problems (414, 431). libmicrohttpd keeps a
 * request's line and headers in the connection's memory pool and answers a
 * request that does not fit with its own HTML page; the pool is sized above
 * these limits so that a 20 KB path or a 64 KB header still reaches us and
 * gets a JSON answer. The cost is memory per connection: libmicrohttpd
 * zeroes the pool between requests, so an idle keep-alive connection holds
 * all of it (measured: 400 idle connections 11 -> 43 MB RSS, ~81 KiB each,
 * where the 16 KiB pool before cost about a fifth of that). */
#define HTTP_MAX_URI_BYTES (8 * 1024)
#define HTTP_MAX_HEADER_BYTES (16 * 1024)
#define HTTP_CONNECTION_POOL_BYTES (80 * 1024)

/* Connections whose request line and headers are not complete yet, so
 * that a slow-header client (one byte every few seconds keeps libmicrohttpd's
 * idle timeout from firing) is cut at --header-timeout. libmicrohttpd has no
 * such deadline and no call to close a connection from outside its
 * callbacks; the sweeper shuts the socket down (not close: the descriptor
 * stays libmicrohttpd's, which then sees EOF and closes it itself). An entry
 * leaves the list in the CLOSED notification, which libmicrohttpd sends
 * before it closes the descriptor, so under the lock fd is always the
 * connection's own. */
#define HTTP_HEADER_PRESSURE_MS 1000
typedef struct conn_track {
    struct conn_track *prev, *next;
    int fd;
    int64_t waiting_since_ms; /* start of the current wait for headers; 0 while a request runs */
    bool cut;
} conn_track;

typedef struct {
    pthread_mutex_t mu;
    conn_track head; /* sentinel of a circular list */
    pthread_t sweeper;
    bool running;
    int stop;
    int header_timeout_ms;
    int max_connections;
} conn_guard;

/* The cost guard (http_costly_enter): who runs now, by key. At most
 * `limit` entries are in use, so a linear scan is cheap. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int limit, per_key, queue_ms;
    int running;
    int waiting, max_waiting; /* requests in the brief queue, and how many may be */
    char (*keys)[40];         /* the key id of each running slot, "" when free */
} cost_guard;

/* The worker pool (--workers): requests of ROUTE_COSTLY and ROUTE_OFFLOAD
 * routes run here while their connection is suspended, so no HTTP thread
 * waits on them (libmicrohttpd binds a connection to one thread: a 24-month
 * backtest on it made every other connection of that thread, /healthz
 * included, wait seconds). Its queue is the cost guard's queue: a worker takes
 * the oldest job that may run (a costly one only when the instance and its key
 * have a slot), and a job still queued after --costly-queue-ms is answered
 * 429/503 by the timer. It shares the cost guard's mutex. */
typedef struct {
    pthread_t *threads;
    int n, started;
    pthread_t timer;
    bool timer_started;
    pthread_cond_t work_cv;  /* a job came, a slot was freed, or stop */
    pthread_cond_t timer_cv; /* a job came, or stop */
    http_req *head, *tail;   /* FIFO of queued jobs */
    int queued, busy;        /* for /metrics: written under the mutex, read without */
    int stop;
} worker_pool;

struct http_server {
    struct MHD_Daemon *mhd;
    const config *cfg;
    db_pool *pool;
    const http_route *routes;
    size_t nroutes;
    int port;
    int in_flight;                   /* requests between first callback and completion */
    int stopping;                    /* set on SIGTERM: every answer closes its connection */
    ratelimit *rl;                   /* per-key buckets; NULL when --rate-limit is 0 */
    const char *const **query_names; /* per route: the query parameters it takes (http_op_decls) */
    bool *negotiated;                /* per route: the answer depends on Accept (http_op_decls) */
    struct route_bucket *buckets;    /* the route index (route_index_build) */
    size_t nbuckets;                 /* a power of two */
    uint32_t *bucket_routes;         /* each bucket's routes, in table order */
    uint32_t *wild_routes, nwild;    /* routes whose key has a {param}: tried for every path */
    conn_guard guard;                /* --header-timeout */
    cost_guard cost;                 /* --costly-* */
    worker_pool work;                /* --workers (threads 0 when --offload is off) */
    int suspended;                   /* connections suspended for the pool: MHD_stop_daemon waits for 0 */
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

const config *http_config(const http_req *rq) { return rq->srv->cfg; }
db_pool *http_pool(const http_req *rq) { return rq->srv->pool; }
const http_route *http_routes(const http_req *rq, size_t *n)
{
    *n = rq->srv->nroutes;
    return rq->srv->routes;
}

const char *http_header(const http_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

const char *http_query(const http_req *rq, const char *key)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

static bool media_is(const char *value, const char *type)
{
    if (!value)
        return false;
    while (*value == ' ')
        value++;
    size_t n = strlen(type);
    return strncasecmp(value, type, n) == 0 && (value[n] == '\0' || value[n] == ';' || value[n] == ' ');
}

bool http_wants_yaml(const http_req *rq)
{
    const char *accept = http_header(rq, "Accept");
    if (!accept)
        return false;
    return strstr(accept, "application/yaml") || strstr(accept, "application/x-yaml") || strstr(accept, "text/yaml");
}

db_conn *http_db(http_req *rq)
{
    if (rq->db)
        return rq->db;
    app_err err = {0};
    rq->db = db_acquire(rq->srv->pool, &err);
    if (rq->db)
        db_conn_for_request(rq->db);
    else
        http_reply_error(rq, &err);
    return rq->db;
}

PGresult *http_query_one(http_req *rq, db_conn **dbp, const char *sql, const char *missing)
{
    return http_query_id(rq, dbp, rq->params[0], sql, missing);
}

PGresult *http_query_id(http_req *rq, db_conn **dbp, const char *id, const char *sql, const char *missing)
{
    if (!jv_is_uuid(id)) {
        http_fail(rq, ERR_NOT_FOUND, "%s", missing);
        return NULL;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return NULL;
    app_err err = {0};
    const char *p[] = {rq->auth.workspace_id, id};
    PGresult *r = db_query(db, sql, 2, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return NULL;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        http_fail(rq, ERR_NOT_FOUND, "%s", missing);
        return NULL;
    }
    if (dbp)
        *dbp = db;
    return r;
}

/* ---- replies ---------------------------------------------------------- */

void http_add_header(http_req *rq, const char *name, const char *value)
{
    if (rq->nheaders >= HTTP_MAX_HEADERS)
        return;
    rq->headers[rq->nheaders][0] = strdup(name);
    rq->headers[rq->nheaders][1] = strdup(value);
    rq->nheaders++;
}

void http_reply_text(http_req *rq, int status, const char *content_type, char *text, size_t len)
{
    if (rq->replied) { /* a handler bug must not leak or double-answer */
        free(text);
        return;
    }
    rq->replied = true;
    rq->status = status;
    rq->reply = text;
    rq->reply_len = len;
    rq->reply_type = content_type;
}

void http_reply_json(http_req *rq, int status, json_t *body)
{
    char *s = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(body);
    if (!s) {
        app_err e = {0};
        app_err_set(&e, ERR_INTERNAL, "could not encode the response");
        http_reply_error(rq, &e);
        return;
    }
    http_reply_text(rq, status, "application/json", s, strlen(s));
}

void http_reply_json_text(http_req *rq, int status, const char *text)
{
    char *s = strdup(text ? text : "null");
    http_reply_text(rq, status, "application/json", s, s ? strlen(s) : 0);
}

void http_etag_of(const char *data, size_t len, char *out, size_t outlen)
{
    char hex[65];
    auth_sha256_hex(data, len, hex);
    snprintf(out, outlen, "\"%.32s\"", hex); /* the first 128 bits */
}

static bool etag_matches(const char *inm, const char *etag)
{
    if (!inm)
        return false;
    if (strcmp(inm, "*") == 0)
        return true;
    /* a comma-separated list; weak validators compare equal for GET */
    const char *p = inm;
    size_t elen = strlen(etag);
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (strncmp(p, etag, elen) == 0 && (p[elen] == '\0' || p[elen] == ',' || p[elen] == ' '))
            return true;
        while (*p && *p != ',')
            p++;
    }
    return false;
}

void http_reply_json_etag(http_req *rq, json_t *body)
{
    char *s = body ? json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(body);
    if (!s) {
        http_fail(rq, ERR_INTERNAL, "could not encode the response");
        return;
    }
    char etag[48];
    size_t len = strlen(s);
    http_etag_of(s, len, etag, sizeof etag);
    http_reply_text_etag(rq, "application/json", s, len, etag);
}

void http_reply_text_etag(http_req *rq, const char *content_type, char *text, size_t len, const char *etag)
{
    http_add_header(rq, "ETag", etag);
    if (etag_matches(http_header(rq, "If-None-Match"), etag)) {
        http_reply_not_modified(rq, text, len);
        return;
    }
    http_reply_text(rq, 200, content_type, text, len);
}

void http_reply_empty(http_req *rq, int status) { http_reply_text(rq, status, NULL, NULL, 0); }

void http_reply_not_modified(http_req *rq, char *text, size_t len)
{
    /* libmicrohttpd (0.9.75) always writes a Content-Length, from the buffer,
     * and never sends the body of a 304: with the representation as the
     * buffer it is the 200's length, the one value RFC 9110 section 8.6
     * allows (an empty buffer made it a wrong 0). No Content-Type: a 304
     * carries no representation metadata beyond ETag and Vary. */
    http_reply_text(rq, 304, NULL, text, len);
}

/* Every 503 says when to come back (RFC 9110 section 10.2.3): a client
 * that retries at once only adds to an outage. */
#define HTTP_RETRY_AFTER_503_S "2"
static void add_retry_after(http_req *rq, int status)
{
    if (status != 503)
        return;
    for (int i = 0; i < rq->nheaders; i++)
        if (strcasecmp(rq->headers[i][0], "Retry-After") == 0)
            return;
    http_add_header(rq, "Retry-After", HTTP_RETRY_AFTER_503_S);
}

void http_reply_error(http_req *rq, const app_err *e)
{
    app_error code = e->code == ERR_NONE ? ERR_INTERNAL : e->code;
    add_retry_after(rq, app_error_status(code));
    char type[96];
    snprintf(type, sizeof type, "/problems/%s", app_error_slug(code));
    json_t *doc = json_object();
    json_object_set_new(doc, "type", json_string(type));
    json_object_set_new(doc, "title", json_string(app_error_title(code)));
    json_object_set_new(doc, "status", json_integer(app_error_status(code)));
    /* details can echo client input: never let invalid UTF-8 break encoding */
    json_t *detail = json_string(e->detail[0] ? e->detail : app_error_title(code));
    json_object_set_new(doc, "detail", detail ? detail : json_string("(detail not printable)"));
    json_object_set_new(doc, "request_id", json_string(rq->request_id));
    if (e->nfields > 0) {
        json_t *arr = json_array();
        for (int i = 0; i < e->nfields; i++) {
            json_t *f = json_string(e->fields[i].field);
            json_t *m = json_string(e->fields[i].message);
            json_array_append_new(arr, json_pack("{s:o, s:o}", "field", f ? f : json_string("?"), "message",
                                                 m ? m : json_string("invalid value")));
        }
        json_object_set_new(doc, "errors", arr);
    }
    char *s = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!s)
        s = strdup("{\"type\":\"/problems/internal-error\",\"title\":\"Internal error\",\"status\":500}");
    http_reply_text(rq, app_error_status(code), "application/problem+json", s, s ? strlen(s) : 0);
}

void http_fail(http_req *rq, app_error code, const char *fmt, ...)
{
    app_err e = {0};
    e.code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.detail, sizeof e.detail, fmt, ap);
    va_end(ap);
    http_reply_error(rq, &e);
}

bool http_page_params(http_req *rq, bool uuid_cursor, long *limit, const char **cursor)
{
    app_err err = {0};
    const char *ls = http_query(rq, "limit");
    *cursor = http_query(rq, "cursor");
    *limit = 50;
    if (ls) {
        char *end = NULL;
        *limit = strtol(ls, &end, 10);
        if (!*ls || *end || *limit < 1 || *limit > 200)
            app_err_field(&err, "limit", "must be an integer from 1 to 200");
    }
    if (*cursor && (uuid_cursor ? !jv_is_uuid(*cursor) : (strlen(*cursor) == 0 || strlen(*cursor) > 200)))
        app_err_field(&err, "cursor", "is not a cursor this API returned");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return false;
    }
    return true;
}

void http_reply_page(http_req *rq, PGresult *r, long limit)
{
    json_t *items = json_array();
    int n = PQntuples(r);
    for (int i = 0; i < n && i < limit; i++)
        json_array_append_new(items, json_loads(PQgetvalue(r, i, 0), 0, NULL));
    json_t *next = n > limit ? json_string(PQgetvalue(r, (int)limit - 1, 1)) : json_null();
    PQclear(r);
    http_reply_json(rq, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next ? next : json_null()));
}

void http_reply_list(http_req *rq, bool uuid_cursor, const char *sql)
{
    long limit;
    const char *cursor;
    if (!http_page_params(rq, uuid_cursor, &limit, &cursor))
        return;
    db_conn *db = http_db(rq);
    if (!db)
        return;
    char lbuf[24];
    snprintf(lbuf, sizeof lbuf, "%ld", limit + 1);
    const char *p[] = {rq->auth.workspace_id, cursor, lbuf};
    app_err err = {0};
    PGresult *r = db_query(db, sql, 3, p, &err);
    if (!r)
        http_reply_error(rq, &err);
    else
        http_reply_page(rq, r, limit);
}

/* ---- routing ---------------------------------------------------------- */

/* Match path against pattern without copying; records where each {param}
 * segment starts and how long it is. Segments must be non-empty, except a
 * pattern's own trailing slash ("/", "/console/"). Compared byte by byte, so
 * a route that differs is left at its first differing byte: every request
 * tries the whole table (strcspn per segment was 10% of a /healthz). */
static bool route_match(const char *pattern, const char *path, size_t *poff, size_t *plen, int *np)
{
    const char *p = pattern, *s = path;
    *np = 0;
    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return false;
        p++;
        s++;
        if (*p == '{') {
            const char *e = s;
            while (*e && *e != '/')
                e++;
            if (e == s || *np >= HTTP_MAX_PARAMS)
                return false;
            poff[*np] = (size_t)(s - path);
            plen[*np] = (size_t)(e - s);
            (*np)++;
            while (*p && *p != '/')
                p++;
            s = e;
        } else {
            while (*p && *p != '/' && *p == *s)
                p++, s++;
            if ((*p && *p != '/') || (*s && *s != '/'))
                return false;
        }
    }
    return *p == '\0' && *s == '\0';
}

static unsigned route_rank(const char *pattern)
{
    unsigned rank = 0;
    for (const char *p = pattern; *p; p++)
        if (*p == '/')
            rank = (rank << 1) | (p[1] != '{');
    return rank;
}

/* The route index. A path's key is its first segment, or its first two
 * under /v1/ ("healthz", "v1/deals"); a pattern whose key is literal can
 * only match paths with that key, so route_find tries the routes of the
 * path's bucket and the few whose key has a {param}, in table order, rather
 * than the whole table (the loop over ~200 patterns was 5% of a /healthz). */
typedef struct route_bucket {
    const char *key; /* into the pattern; NULL: an empty slot */
    size_t len;
    uint32_t first, count; /* bucket_routes[first .. first + count) */
} route_bucket;

static size_t route_key(const char *path, const char **key)
{
    const char *s = path[0] == '/' ? path + 1 : path, *e = s;
    while (*e && *e != '/')
        e++;
    if (e - s == 2 && s[0] == 'v' && s[1] == '1' && *e == '/')
        for (e++; *e && *e != '/';)
            e++;
    *key = s;
    return (size_t)(e - s);
}

/* The bucket of key, or the empty slot where it would go. */
static route_bucket *route_slot(const http_server *srv, const char *key, size_t len)
{
    for (size_t i = strhash(key, len) & (srv->nbuckets - 1);; i = (i + 1) & (srv->nbuckets - 1)) {
        route_bucket *b = &srv->buckets[i];
        if (!b->key || (b->len == len && memcmp(b->key, key, len) == 0))
            return b;
    }
}

static int route_index_build(http_server *s)
{
    s->nbuckets = 16;
    while (s->nbuckets < 4 * s->nroutes)
        s->nbuckets <<= 1;
    s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
    s->bucket_routes = calloc(s->nroutes + 1, sizeof *s->bucket_routes);
    s->wild_routes = calloc(s->nroutes + 1, sizeof *s->wild_routes);
    if (!s->buckets || !s->bucket_routes || !s->wild_routes)
        return -1;
    for (int pass = 0; pass < 2; pass++) { /* count each bucket's routes, then place them */
        s->nwild = 0;
        for (size_t i = 0; i < s->nroutes; i++) {
            const char *key;
            size_t len = route_key(s->routes[i].pattern, &key);
            if (memchr(key, '{', len)) {
                s->wild_routes[s->nwild++] = (uint32_t)i;
                continue;
            }
            route_bucket *b = route_slot(s, key, len);
            b->key = key;
            b->len = len;
            if (pass == 1)
                s->bucket_routes[b->first + b->count] = (uint32_t)i;
            b->count++;
        }
        uint32_t next = 0;
        for (size_t k = 0; pass == 0 && k < s->nbuckets; k++) {
            s->buckets[k].first = next;
            next += s->buckets[k].count;
            s->buckets[k].count = 0;
        }
    }
    return 0;
}

/* The candidates of a path: its bucket's routes and the wild ones, merged
 * in table order so that ties between patterns resolve as the table says. */
typedef struct {
    const uint32_t *a, *b;
    size_t na, nb;
} route_iter;

static route_iter route_candidates(const http_server *srv, const char *path)
{
    const char *key;
    size_t len = route_key(path, &key);
    const route_bucket *b = route_slot(srv, key, len);
    route_iter it = {b->key ? srv->bucket_routes + b->first : NULL, srv->wild_routes, b->key ? b->count : 0,
                     srv->nwild};
    return it;
}

static bool route_next(route_iter *it, size_t *i)
{
    if (it->na && (!it->nb || *it->a < *it->b)) {
        *i = *it->a++;
        it->na--;
        return true;
    }
    if (!it->nb)
        return false;
    *i = *it->b++;
    it->nb--;
    return true;
}

/* Find the route for method+path. The most literal pattern that matches the
 * path owns it: /v1/deals/batch is never the deal "batch", whatever the
 * method. Returns the index, -1 when no pattern matches the path (404), -2
 * when the owning pattern has no route for the method (405, with allow
 * filled with the pattern's methods). On a match the parameters are copied
 * into rq. */
static int route_find(const http_server *srv, const char *method, const char *path, http_req *rq, char *allow,
                      size_t allow_len)
{
    allow[0] = '\0';
    const char *owner = NULL;
    unsigned owner_rank = 0;
    size_t poff[HTTP_MAX_PARAMS], plen[HTTP_MAX_PARAMS];
    int np = 0;
    route_iter it = route_candidates(srv, path);
    for (size_t i; route_next(&it, &i);) {
        if (!route_match(srv->routes[i].pattern, path, poff, plen, &np))
            continue;
        unsigned rank = route_rank(srv->routes[i].pattern);
        if (!owner || rank > owner_rank) {
            owner = srv->routes[i].pattern;
            owner_rank = rank;
        }
    }
    if (!owner)
        return -1;
    /* HEAD is GET without the body (MHD drops the body itself) */
    const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
    it = route_candidates(srv, path); /* the owner's other methods share its bucket */
    for (size_t i; route_next(&it, &i);) {
        if (strcmp(srv->routes[i].pattern, owner) != 0)
            continue;
        if (strcmp(srv->routes[i].method, want) == 0) {
            if (!route_match(owner, path, poff, plen, &np))
                return -1;
            free(rq->path_copy);
            rq->path_copy = strdup(path);
            if (!rq->path_copy)
                return -1;
            for (int k = 0; k < np; k++) {
                rq->path_copy[poff[k] + plen[k]] = '\0';
                rq->params[k] = rq->path_copy + poff[k];
            }
            return (int)i;
        }
        if (!strstr(allow, srv->routes[i].method)) {
            size_t l = strlen(allow);
            snprintf(allow + l, allow_len - l, "%s%s", l ? ", " : "", srv->routes[i].method);
        }
    }
    return -2;
}

/* ---- CORS --------------------------------------------------------------- */

static bool origin_allowed(const config *cfg, const char *origin)
{
    if (!origin || !cfg->cors_origins || !*cfg->cors_origins)
        return false;
    if (strcmp(cfg->cors_origins, "*") == 0)
        return true;
    size_t olen = strlen(origin);
    const char *p = cfg->cors_origins;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > p && t[-1] == ' ')
            t--;
        if ((size_t)(t - p) == olen && strncmp(p, origin, olen) == 0)
            return true;
        p = e;
    }
    return false;
}

static void add_cors_headers(http_req *rq)
{
    const char *origin = http_header(rq, "Origin");
    if (!origin_allowed(rq->srv->cfg, origin))
        return;
    http_add_header(rq, "Access-Control-Allow-Origin", strcmp(rq->srv->cfg->cors_origins, "*") == 0 ? "*" : origin);
    http_add_header(rq, "Vary", "Origin");
    /* every response header a browser client needs to read */
    http_add_header(rq, "Access-Control-Expose-Headers",
                    "X-Request-Id, ETag, Location, Retry-After, Idempotent-Replayed, Allow");
}

/* ---- dispatch ----------------------------------------------------------- */

static bool request_id_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return false;
    }
    return n >= 1 && n <= 64;
}

int http_json_depth(const char *s, size_t len)
{
    int depth = 0, max = 0;
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                max = depth;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return max;
}

json_t *http_json_decode(const char *body, size_t len, json_error_t *jerr, bool *too_deep)
{
    *too_deep = http_json_depth(body, len) > HTTP_MAX_JSON_DEPTH;
    if (*too_deep) {
        memset(jerr, 0, sizeof *jerr);
        return NULL;
    }
    return json_loadb(body, len, JSON_REJECT_DUPLICATES, jerr);
}

static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p++;
        int more = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
        if (more < 0 || (more == 1 && c < 0xC2) || (c == 0xF4 && p[0] > 0x8F) || c > 0xF4 ||
            (c == 0xE0 && p[0] < 0xA0) || (c == 0xED && p[0] > 0x9F) || (c == 0xF0 && p[0] < 0x90))
            return false; /* overlong forms, surrogates, beyond U+10FFFF */
        for (int k = 0; k < more; k++)
            if ((*p++ & 0xC0) != 0x80)
                return false;
    }
    return true;
}

static enum MHD_Result query_utf8_check(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    if (utf8_valid(key) && (!value || utf8_valid(value)))
        return MHD_YES;
    *(const char **)cls = utf8_valid(key) ? key : "query";
    return MHD_NO;
}

static enum MHD_Result query_control_check(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    if (jv_id_clean(key) && (!value || jv_id_clean(value)))
        return MHD_YES;
    *(const char **)cls = jv_id_clean(key) && utf8_valid(key) ? key : "query";
    return MHD_NO;
}

/* libmicrohttpd decodes %XX in the path and the query in place and hands
 * us C strings: a %00 would cut "victim%00-other" to the deal "victim" (a
 * PUT overwrote it, a DELETE removed it). Decoding here turns a NUL into
 * DEL (0x7F), which no id may contain, so the whole segment reaches the
 * dispatcher and check_path_controls refuses it. */
static size_t unescape_keep_nul(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    size_t n = MHD_http_unescape(s);
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\0')
            s[i] = 0x7F;
    return n;
}

/* Path ids and query values with control characters (NUL, CR, LF, DEL, ...)
 * name nothing a client can have created: 400, before any handler runs.
 * Returns false after replying. */
static bool check_path_controls(http_req *rq)
{
    for (int k = 0; k < HTTP_MAX_PARAMS && rq->params[k]; k++)
        if (!jv_id_clean(rq->params[k])) {
            http_fail(rq, ERR_BAD_REQUEST,
                      "A path segment contains a control character (such as %%00, %%0A or %%7F); ids never do");
            return false;
        }
    const char *bad = NULL;
    MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, query_control_check, &bad);
    if (bad) {
        app_err e = {0};
        app_err_field(&e, bad, "must not contain control characters (such as %%00 or %%0A)");
        http_reply_error(rq, &e);
        return false;
    }
    return true;
}

/* Path parameters and query values that are not UTF-8 never match stored
 * text, and PostgreSQL would refuse them with an error (a 500): answer 404
 * or 422 here, before any handler runs. Returns false after replying. */
static bool check_utf8(http_req *rq)
{
    for (int k = 0; k < HTTP_MAX_PARAMS && rq->params[k]; k++)
        if (!utf8_valid(rq->params[k])) {
            http_fail(rq, ERR_NOT_FOUND, "No resource at this path");
            return false;
        }
    if (!check_path_controls(rq))
        return false;
    const char *bad = NULL;
    MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, query_utf8_check, &bad);
    if (bad) {
        app_err e = {0};
        app_err_field(&e, bad, "is not valid UTF-8");
        http_reply_error(rq, &e);
        return false;
    }
    return true;
}

static const char *const no_query_names[] = {NULL};

/* The declared parameters of each route; a route openapi.yaml does not
 * describe takes none (tests/api checks that the two agree). */
static int op_decls_map(http_server *s)
{
    size_t n = s->nroutes ? s->nroutes : 1;
    s->query_names = calloc(n, sizeof *s->query_names);
    s->negotiated = calloc(n, sizeof *s->negotiated);
    if (!s->query_names || !s->negotiated || route_index_build(s) != 0)
        return -1;
    for (size_t i = 0; i < s->nroutes; i++) {
        s->query_names[i] = no_query_names;
        for (size_t k = 0; k < http_op_decls_count; k++)
            if (strcmp(http_op_decls[k].method, s->routes[i].method) == 0 &&
                strcmp(http_op_decls[k].pattern, s->routes[i].pattern) == 0) {
                s->query_names[i] = http_op_decls[k].names;
                s->negotiated[i] = http_op_decls[k].negotiated;
            }
    }
    return 0;
}

static void route_data_free(http_server *s)
{
    free(s->query_names);
    free(s->negotiated);
    free(s->buckets);
    free(s->bucket_routes);
    free(s->wild_routes);
}

typedef struct {
    const char *const *names;
    app_err *err;
} query_scan;

static enum MHD_Result query_known_check(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    (void)value;
    query_scan *q = cls;
    for (const char *const *n = q->names; *n; n++)
        if (strcmp(*n, key) == 0)
            return MHD_YES;
    char takes[400] = "";
    size_t len = 0;
    for (const char *const *n = q->names; *n && len + 80 < sizeof takes; n++)
        len += (size_t)snprintf(takes + len, sizeof takes - len, "%s%s", len ? ", " : "", *n);
    if (strlen(key) > 100) /* the field names it; an absurd name is cut, not echoed whole */
        app_err_field(q->err, "query", "a parameter this operation does not take (%.100s...)", key);
    else if (takes[0])
        app_err_field(q->err, key, "is not a parameter of this operation; it takes %s", takes);
    else
        app_err_field(q->err, key, "is not a parameter of this operation; it takes none");
    return MHD_YES;
}

/* A query parameter the operation does not declare is a client's mistake
 * (a typo such as ?perod= would otherwise answer for the default): 422
 * naming each one. Returns false after replying. */
static bool check_query_names(http_req *rq)
{
    app_err e = {0};
    query_scan q = {rq->srv->query_names ? rq->srv->query_names[rq->route_index] : no_query_names, &e};
    MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, query_known_check, &q);
    if (e.code == ERR_NONE)
        return true;
    snprintf(e.detail, sizeof e.detail, "Unknown query parameter%s: %s%s", e.nfields > 1 ? "s" : "", e.fields[0].field,
             e.nfields > 1 ? " (and more, see errors)" : "");
    http_reply_error(rq, &e);
    return false;
}

/* Bodies are text in UTF-8 (RFC 8259 section 8.1 for JSON; YAML and CSV
 * here too): a charset parameter naming anything else would be read as if
 * it were UTF-8, so it is 415 instead. Returns false after replying. */
static bool check_charset(http_req *rq, const char *ctype)
{
    const char *p = ctype ? strchr(ctype, ';') : NULL;
    while (p) {
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "charset", 7) == 0) {
            const char *v = p + 7;
            while (*v == ' ')
                v++;
            if (*v == '=') {
                v++;
                while (*v == ' ')
                    v++;
                bool quoted = *v == '"';
                v += quoted;
                size_t n = strcspn(v, quoted ? "\"" : " ;\t");
                if (!((n == 5 && strncasecmp(v, "utf-8", 5) == 0) || (n == 4 && strncasecmp(v, "utf8", 4) == 0))) {
                    http_fail(rq, ERR_UNSUPPORTED_MEDIA, "Bodies are UTF-8: send charset=utf-8 or no charset");
                    return false;
                }
            }
        }
        p = strchr(p, ';');
    }
    return true;
}

/* Decode the body for a JSON route: content type, depth, syntax. Returns
 * false after replying with the problem. */
static bool decode_body(http_req *rq)
{
    if (rq->body_len == 0)
        return true;
    const char *ctype = http_header(rq, "Content-Type");
    if (!check_charset(rq, ctype))
        return false;
    if ((rq->route->flags & ROUTE_RAW_JSON) && !media_is(ctype, "application/json")) {
        http_fail(rq, ERR_UNSUPPORTED_MEDIA, "Send the body as application/json");
        return false;
    }
    if (rq->route->flags & ROUTE_RAW_BODY)
        return true;
    if ((rq->route->flags & ROUTE_YAML_BODY) &&
        (media_is(ctype, "application/yaml") || media_is(ctype, "application/x-yaml") || media_is(ctype, "text/yaml")))
        return true; /* the handler converts YAML itself */
    if (!media_is(ctype, "application/json")) {
        http_fail(rq, ERR_UNSUPPORTED_MEDIA, "Send the body as application/json%s",
                  (rq->route->flags & ROUTE_YAML_BODY) ? " or application/yaml" : "");
        return false;
    }
    /* a UTF-8 byte-order mark (Windows tools write one) is not JSON but says
     * nothing wrong: skip it (RFC 8259 section 8.1 lets a parser ignore it) */
    size_t skip = rq->body_len >= 3 && memcmp(rq->body, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    json_error_t jerr;
    bool too_deep = false;
    rq->json = http_json_decode(rq->body + skip, rq->body_len - skip, &jerr, &too_deep);
    if (too_deep) {
        http_fail(rq, ERR_MALFORMED_JSON, "JSON nesting is deeper than %d levels", HTTP_MAX_JSON_DEPTH);
        return false;
    }
    if (!rq->json) {
        http_fail(rq, ERR_MALFORMED_JSON, "Invalid JSON at line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
        return false;
    }
    size_t litlen = 0;
    const char *lossy = jv_lossy_number(rq->body + skip, rq->body_len - skip, &litlen);
    if (lossy) {
        http_fail(rq, ERR_VALIDATION,
                  "The number %.*s%s is too small to be held (it would read as 0); no field takes such a value",
                  (int)(litlen > 40 ? 40 : litlen), lossy, litlen > 40 ? "..." : "");
        return false;
    }
    return true;
}

static enum MHD_Result add_kv_bytes(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    *(size_t *)cls += strlen(key) + (value ? strlen(value) : 0) + 4; /* ": " and CRLF, or "=" and "&" */
    return MHD_YES;
}

/* The request line or the header fields over their limits: the error to
 * answer before anything else, or ERR_NONE. */
static app_error oversize_request(struct MHD_Connection *conn, const char *url)
{
    size_t uri = strlen(url), headers = 0;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, add_kv_bytes, &uri);
    if (uri > HTTP_MAX_URI_BYTES)
        return ERR_URI_TOO_LONG;
    MHD_get_connection_values(conn, MHD_HEADER_KIND, add_kv_bytes, &headers);
    return headers > HTTP_MAX_HEADER_BYTES ? ERR_HEADERS_TOO_LARGE : ERR_NONE;
}

static void preflight(http_req *rq)
{
    char allow[128];
    int idx = route_find(rq->srv, "OPTIONS-never", rq->path, rq, allow, sizeof allow);
    (void)idx;
    if (!allow[0]) {
        http_fail(rq, ERR_NOT_FOUND, "No resource at %s", rq->path);
        return;
    }
    char allow_opt[160];
    snprintf(allow_opt, sizeof allow_opt, "%s, OPTIONS", allow);
    http_add_header(rq, "Allow", allow_opt);
    if (origin_allowed(rq->srv->cfg, http_header(rq, "Origin"))) {
        http_add_header(rq, "Access-Control-Allow-Methods", allow_opt);
        http_add_header(rq, "Access-Control-Allow-Headers",
                        "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-Id");
        http_add_header(rq, "Access-Control-Max-Age", "600");
    }
    http_reply_empty(rq, 204);
}

/* Idempotency-Key (routes flagged ROUTE_IDEMPOTENT): a retry of a create
 * gets the first 2xx answer again instead of creating twice. A session
 * advisory lock on (workspace, key) serialises two copies in flight.
 * Returns true when the request was answered from the store. */
static bool idempotency_begin(http_req *rq, const char *key, char *hash, bool *locked)
{
    size_t klen = strlen(key);
    bool ok = klen >= 1 && klen <= 255;
    for (size_t i = 0; ok && i < klen; i++)
        ok = key[i] > ' ' && key[i] < 127;
    if (!ok) {
        app_err e = {0};
        app_err_field(&e, "Idempotency-Key", "must be 1 to 255 printable ASCII characters");
        http_reply_error(rq, &e);
        return true;
    }
    auth_sha256_hex(rq->body ? rq->body : "", rq->body_len, hash);
    db_conn *db = http_db(rq);
    if (!db)
        return true;
    app_err err = {0};
    const char *p[] = {rq->auth.workspace_id, key, rq->method, rq->path};
    if (db_exec(db, "SELECT pg_advisory_lock(hashtextextended($1 || ':' || $2, 0))", 2, p, &err) != 0) {
        http_reply_error(rq, &err);
        return true;
    }
    *locked = true;
    PGresult *r =
        db_query(db,
                 "SELECT status, body, method = $3 AND path = $4, request_hash, location FROM idempotency_keys"
                 " WHERE workspace_id = $1 AND key = $2",
                 4, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return true;
    }
    bool answered = false;
    if (PQntuples(r) == 1) {
        answered = true;
        if (strcmp(PQgetvalue(r, 0, 2), "t") != 0 || strcmp(PQgetvalue(r, 0, 3), hash) != 0) {
            http_fail(rq, ERR_VALIDATION, "This Idempotency-Key was already used for a different request");
        } else {
            http_add_header(rq, "Idempotent-Replayed", "true");
            if (!PQgetisnull(r, 0, 4))
                http_add_header(rq, "Location", PQgetvalue(r, 0, 4));
            char *body = strdup(PQgetvalue(r, 0, 1));
            http_reply_text(rq, atoi(PQgetvalue(r, 0, 0)), "application/json", body, body ? strlen(body) : 0);
        }
    }
    PQclear(r);
    return answered;
}

/* The end of an idempotent request that ran inside a transaction (tx): a
 * 2xx answer is stored in the same commit as the writes it reports, so a
 * crash leaves either both (a retry gets the stored answer) or neither (a
 * retry does the work once); anything else rolls the writes back. A failed
 * store or commit replaces the answer: the client must not see a 2xx for
 * something that was not kept. */
static void idempotency_end(http_req *rq, const char *key, const char *hash, bool locked, bool tx)
{
    if (!rq->db)
        return;
    app_err err = {0};
    if (tx) {
        bool ok = rq->status >= 200 && rq->status < 300 && rq->reply && rq->reply_type &&
                  strcmp(rq->reply_type, "application/json") == 0;
        if (ok) {
            char st[8];
            snprintf(st, sizeof st, "%d", rq->status);
            const char *location = NULL; /* replayed with the answer: a retry must find what it created */
            for (int i = 0; i < rq->nheaders; i++)
                if (strcasecmp(rq->headers[i][0], "Location") == 0)
                    location = rq->headers[i][1];
            const char *p[] = {rq->auth.workspace_id, key, rq->method, rq->path, hash, st, rq->reply, location};
            ok = db_exec(rq->db,
                         "INSERT INTO idempotency_keys (workspace_id, key, method, path, request_hash, status, body,"
                         " location) VALUES ($1, $2, $3, $4, $5, $6::int, $7, $8) ON CONFLICT DO NOTHING",
                         8, p, &err) == 0 &&
                 db_commit(rq->db, &err) == 0;
            if (!ok) {
                log_warn("http", "an idempotent request was not stored: %s", err.detail);
                free(rq->reply);
                rq->reply = NULL;
                rq->replied = false;
                http_reply_error(rq, &err);
            }
        }
        if (!ok)
            db_rollback(rq->db);
    }
    if (locked) {
        const char *p[] = {rq->auth.workspace_id, key};
        if (db_exec(rq->db, "SELECT pg_advisory_unlock(hashtextextended($1 || ':' || $2, 0))", 2, p, &err) != 0)
            log_warn("http", "could not release an idempotency lock: %s", err.detail);
    }
}

/* The key, its rate and its role, for a route that is not public; false
 * after replying (401, 403, 429, or 503 when the key cannot be checked).
 * Runs before the body is read when one is coming (on_request), so an
 * unauthenticated upload is refused without buffering it. */
static bool authenticate(http_req *rq)
{
    rq->authenticated = true;
    if (rq->route->flags & ROUTE_PUBLIC)
        return true;
    const char *authz = http_header(rq, "Authorization");
    if (!authz) {
        http_add_header(rq, "WWW-Authenticate", "Bearer");
        http_fail(rq, ERR_UNAUTHORIZED, "Send an API key as 'Authorization: Bearer <key>'");
        return false;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return false;
    app_err err = {0};
    int found = auth_resolve(db, authz, &rq->auth, &err);
    if (found < 0) {
        http_reply_error(rq, &err);
        return false;
    }
    if (found == 0) {
        http_add_header(rq, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
        http_fail(rq, ERR_UNAUTHORIZED, "The API key is not valid");
        return false;
    }
    int retry = 0;
    if (!ratelimit_take(rq->srv->rl, rq->auth.key_id, now_ms() / 1000.0, &retry)) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", retry);
        http_add_header(rq, "Retry-After", ra);
        http_fail(rq, ERR_RATE_LIMITED, "This API key is over %d requests per second on this instance",
                  rq->srv->cfg->rate_limit);
        return false;
    }
    if (rq->auth.role < rq->route->min_role) {
        http_fail(rq, ERR_FORBIDDEN, "This needs the '%s' role; the key has '%s'", auth_role_name(rq->route->min_role),
                  auth_role_name(rq->auth.role));
        return false;
    }
    return true;
}

/* The cheap part of a request, on the HTTP thread: limits, route, key,
 * path and query checks. False once answered. */
static bool dispatch_head(http_req *rq)
{
    if (rq->oversize == ERR_URI_TOO_LONG) {
        http_fail(rq, ERR_URI_TOO_LONG, "The path and query exceed %d bytes", HTTP_MAX_URI_BYTES);
        return false;
    }
    if (rq->oversize == ERR_HEADERS_TOO_LARGE) {
        http_fail(rq, ERR_HEADERS_TOO_LARGE, "The header fields exceed %d bytes", HTTP_MAX_HEADER_BYTES);
        return false;
    }
    if (rq->too_large) {
        http_fail(rq, ERR_TOO_LARGE, "The body exceeds the limit of %zu bytes", rq->body_limit);
        return false;
    }
    if (strcmp(rq->method, "OPTIONS") == 0) {
        preflight(rq);
        return false;
    }
    char allow[128];
    int idx = route_find(rq->srv, rq->method, rq->path, rq, allow, sizeof allow);
    if (idx == -1) {
        http_fail(rq, ERR_NOT_FOUND, "No resource at this path");
        return false;
    }
    if (idx == -2) {
        http_add_header(rq, "Allow", allow);
        http_fail(rq, ERR_METHOD_NOT_ALLOWED, "Allowed methods: %s", allow);
        return false;
    }
    rq->route_index = idx;
    rq->route = &rq->srv->routes[idx];
    if (!rq->authenticated && !authenticate(rq))
        return false;
    return check_utf8(rq) && ((rq->route->flags & ROUTE_ANY_QUERY) || check_query_names(rq));
}

/* The rest, on the worker when the route is offloaded: the body is decoded
 * there (an inline territory plan of 200,000 accounts is 16 MB of JSON),
 * inside the cost guard's slot. */
static void dispatch_tail(http_req *rq)
{
    if (!decode_body(rq))
        return;
    if ((rq->route->flags & ROUTE_COSTLY) && !http_costly_enter(rq))
        return;
    const char *idem = (rq->route->flags & ROUTE_IDEMPOTENT) ? http_header(rq, "Idempotency-Key") : NULL;
    char hash[65] = "";
    bool locked = false;
    if (idem && idempotency_begin(rq, idem, hash, &locked)) {
        if (locked)
            idempotency_end(rq, idem, hash, locked, false);
        return;
    }
    /* a JSON body is parsed (and hashed for the key): its bytes are not
     * needed any more, and a bulk body is megabytes (YAML routes reread it) */
    if (rq->json && !(rq->route->flags & (ROUTE_RAW_BODY | ROUTE_YAML_BODY))) {
        free(rq->body);
        rq->body = NULL;
    }
    bool tx = false;
    if (idem) {
        app_err err = {0};
        if (db_begin(rq->db, &err) != 0) {
            http_reply_error(rq, &err);
            idempotency_end(rq, idem, hash, locked, false);
            return;
        }
        tx = true;
    }
    rq->route->handler(rq);
    if (!rq->replied)
        http_fail(rq, ERR_INTERNAL, "The handler produced no response");
    if (idem)
        idempotency_end(rq, idem, hash, locked, tx);
    if (rq->status < 300 && strcmp(rq->route->method, "GET") != 0) {
        /* its cached reads may be stale now; a public route (a webhook)
         * knows no workspace here: all are dropped */
        respcache_bump_workspace(rq->auth.workspace_id);
        if (!(rq->route->flags & ROUTE_DERIVED) && rq->auth.workspace_id[0]) {
            fccache_touch(rq->auth.workspace_id);   /* the forecast engine's learned inputs too */
            alerteval_touch(rq->auth.workspace_id); /* and its alert rules may have become true */
        }
    }
}

static void dispatch(http_req *rq)
{
    if (dispatch_head(rq))
        dispatch_tail(rq);
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, http_req *rq)
{
    bool by_encoding = gzip_reply(rq); /* may gzip rq->reply (server/gzip.c) */
    struct MHD_Response *resp = rq->reply
                                    ? MHD_create_response_from_buffer(rq->reply_len, rq->reply, MHD_RESPMEM_MUST_FREE)
                                    : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    rq->reply = NULL; /* owned by the response now */
    if (rq->reply_type)
        MHD_add_response_header(resp, "Content-Type", rq->reply_type);
    MHD_add_response_header(resp, "X-Request-Id", rq->request_id);
    if (rq->route_index >= 0 && rq->srv->negotiated[rq->route_index]) /* caches must key on Accept */
        MHD_add_response_header(resp, "Vary", "Accept");
    add_cors_headers(rq);
    for (int i = 0; i < rq->nheaders; i++)
        MHD_add_response_header(resp, rq->headers[i][0], rq->headers[i][1]);
    gzip_vary(resp, by_encoding); /* one Vary: Accept, Origin, Accept-Encoding */
    /* shutting down: a keep-alive client must not keep this instance busy
     * with new requests on an old connection; it reconnects elsewhere */
    if (__atomic_load_n(&rq->srv->stopping, __ATOMIC_SEQ_CST))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)rq->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* ---- access log and request ids -------------------------------------- */

/* Append s to the line as JSON string content (quotes, backslashes and
 * control characters escaped); false when it does not fit. */
static bool put_json_str(char *buf, size_t cap, size_t *n, const char *s)
{
    static const char hexd[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*n + 7 > cap)
            return false;
        if (*p == '"' || *p == '\\') {
            buf[(*n)++] = '\\';
            buf[(*n)++] = (char)*p;
        } else if (*p < 0x20) {
            memcpy(buf + *n, "\\u00", 4);
            buf[*n + 4] = hexd[*p >> 4];
            buf[*n + 5] = hexd[*p & 15];
            *n += 6;
        } else {
            buf[(*n)++] = (char)*p;
        }
    }
    return true;
}

static bool put_raw(char *buf, size_t cap, size_t *n, const char *s)
{
    size_t l = strlen(s);
    if (*n + l >= cap)
        return false;
    memcpy(buf + *n, s, l);
    *n += l;
    return true;
}

/* One JSON line per request, formatted here rather than built as a jansson
 * object (that and snprintf were a third of GET /healthz). The same keys
 * in the same order as the other log lines; the timestamp is formatted
 * once per second per thread. */
static void access_log(const http_req *rq, int status, double dur, enum MHD_RequestTerminationCode toe)
{
    static __thread time_t ts_sec = -1;
    static __thread char ts[32];
    time_t now = time(NULL);
    if (now != ts_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
        ts_sec = now;
    }
    long long us = (long long)(dur * 1000.0);
    if (us < 0)
        us = 0;
    char num[96];
    char line[2048];
    size_t n = 0, cap = sizeof line;
    bool ok = put_raw(line, cap, &n, "{\"ts\":\"") && put_raw(line, cap, &n, ts) &&
              put_raw(line, cap, &n, "\",\"level\":\"info\",\"component\":\"access\",\"method\":\"") &&
              put_json_str(line, cap, &n, rq->method) && put_raw(line, cap, &n, "\",\"route\":\"") &&
              put_json_str(line, cap, &n, rq->route ? rq->route->pattern : "-");
    snprintf(num, sizeof num, "\",\"status\":%d,\"duration_ms\":%lld.%03lld,\"request_id\":\"", status, us / 1000,
             us % 1000);
    ok = ok && put_raw(line, cap, &n, num) && put_json_str(line, cap, &n, rq->request_id);
    snprintf(num, sizeof num, "\",\"bytes_in\":%zu", rq->body_len);
    ok = ok && put_raw(line, cap, &n, num);
    /* a path with invalid UTF-8 (or too long for the line) is logged by route only */
    size_t before_path = n;
    if (ok && utf8_valid(rq->path) &&
        !(put_raw(line, cap, &n, ",\"path\":\"") && put_json_str(line, cap, &n, rq->path) &&
          put_raw(line, cap, &n, "\"")))
        n = before_path;
    if (ok && rq->auth.workspace_id[0])
        ok = put_raw(line, cap, &n, ",\"workspace_id\":\"") && put_json_str(line, cap, &n, rq->auth.workspace_id) &&
             put_raw(line, cap, &n, "\"");
    if (ok && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        snprintf(num, sizeof num, ",\"terminated\":%d", (int)toe);
        ok = put_raw(line, cap, &n, num);
    }
    if (ok && put_raw(line, cap, &n, "}"))
        log_line_buffered(line, n);
}

/* splitmix64's finaliser: a bijection, so distinct inputs give distinct ids. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* A 32-hex-digit request id. Ids correlate log lines and are not secrets:
 * each worker thread seeds 128 bits once from the CSPRNG and then counts
 * (a CSPRNG call per request took its lock and a getpid() each time). */
static void request_id_new(char out[33])
{
    static const char hexd[] = "0123456789abcdef";
    static __thread uint64_t seed[2], counter;
    static __thread bool seeded;
    if (!seeded) {
        if (RAND_bytes((unsigned char *)seed, sizeof seed) != 1) {
            seed[0] = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&seed;
            seed[1] = mix64(seed[0] ^ (uint64_t)clock());
        }
        seeded = true;
    }
    counter++;
    uint64_t v[2] = {mix64(seed[0] + counter * 0x9e3779b97f4a7c15ULL), mix64(seed[1] ^ counter)};
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < 16; i++)
            out[h * 16 + i] = hexd[(v[h] >> (60 - 4 * i)) & 15];
    out[32] = '\0';
}

static void release_db(http_req *rq)
{
    if (rq->db) {
        db_release(rq->srv->pool, rq->db);
        rq->db = NULL;
    }
}

/* ---- cost guard --------------------------------------------------------- */

static int pool_size(const config *cfg);

static int cost_start(http_server *s)
{
    cost_guard *g = &s->cost;
    /* the threads that run expensive requests: the pool's, or with
     * --offload off the HTTP threads themselves */
    int runners = s->cfg->offload ? pool_size(s->cfg) : s->cfg->threads;
    g->limit = s->cfg->costly_concurrency > 0 ? s->cfg->costly_concurrency : runners / 2;
    if (g->limit < 1)
        g->limit = 1;
    g->per_key = s->cfg->costly_per_key > 0 ? s->cfg->costly_per_key : 1;
    g->queue_ms = s->cfg->costly_queue_ms;
    /* http_costly_enter's waiter holds its thread (an uncached dashboard on
     * a worker; anything with --offload off): wait with no more than leaves
     * one of those threads free (with --offload off a blocked HTTP thread
     * accepts no new connection, so with every thread queued /healthz would
     * wait). Jobs queued in the pool hold no thread and are not counted. */
    g->max_waiting = runners - g->limit - 1;
    if (g->max_waiting < 0)
        g->max_waiting = 0;
    g->keys = calloc((size_t)g->limit, sizeof *g->keys);
    if (!g->keys)
        return -1;
    pthread_mutex_init(&g->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    return 0;
}

/* Answer a request the cost guard has no slot for: 429 when its key has its
 * share running, else 503; both with Retry-After. */
static void cost_refuse(http_req *rq, const cost_guard *g, bool key_full, bool costly)
{
    http_add_header(rq, "Retry-After", "2");
    if (key_full)
        http_fail(rq, ERR_RATE_LIMITED,
                  "This API key already runs %d expensive request%s (backtest, territory plan, import, "
                  "uncached dashboard) on this instance; retry when %s",
                  g->per_key, g->per_key > 1 ? "s" : "", g->per_key > 1 ? "one ends" : "it ends");
    else if (costly)
        http_fail(rq, ERR_OVERLOADED, "This instance already runs %d expensive requests; retry shortly", g->limit);
    else
        http_fail(rq, ERR_OVERLOADED, "Every worker of this instance is busy with slow requests; retry shortly");
}

/* The key a request counts against: a public route has none, so all such
 * requests share one. */
static const char *cost_key_of(const http_req *rq) { return rq->auth.key_id[0] ? rq->auth.key_id : "-"; }

/* Under g->mu: take a free slot for key. */
static void cost_take_slot(cost_guard *g, http_req *rq, const char *key)
{
    for (int i = 0; i < g->limit; i++)
        if (!g->keys[i][0]) {
            snprintf(g->keys[i], sizeof g->keys[i], "%s", key);
            break;
        }
    g->running++;
    rq->costly_held = true;
    snprintf(rq->costly_key, sizeof rq->costly_key, "%s", key);
}

static void cost_stop(http_server *s)
{
    cost_guard *g = &s->cost;
    if (!g->keys)
        return;
    pthread_mutex_destroy(&g->mu);
    pthread_cond_destroy(&g->cv);
    free(g->keys);
    g->keys = NULL;
}

static int cost_key_running(const cost_guard *g, const char *key)
{
    int n = 0;
    for (int i = 0; i < g->limit; i++)
        n += g->keys[i][0] && strcmp(g->keys[i], key) == 0;
    return n;
}

bool http_costly_enter(http_req *rq)
{
    cost_guard *g = &rq->srv->cost;
    if (rq->costly_held || !g->keys)
        return true;
    const char *key = cost_key_of(rq);
    /* one queue time: what a job already waited in the pool counts */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    double left = g->queue_ms - (rq->queued_ms > 0 ? now_ms() - rq->queued_ms : 0);
    long left_ms = left > 0 ? (long)left : 0;
    until.tv_sec += left_ms / 1000;
    until.tv_nsec += (left_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&g->mu);
    bool key_full = false, timed_out = false, queued = false;
    for (;;) {
        key_full = cost_key_running(g, key) >= g->per_key;
        if (!key_full && g->running < g->limit)
            break;
        if (!queued && g->waiting >= g->max_waiting) {
            timed_out = true; /* the queue is full: answer at once */
        } else {
            if (!queued)
                g->waiting++;
            queued = true;
            if (timed_out || pthread_cond_timedwait(&g->cv, &g->mu, &until) == ETIMEDOUT)
                timed_out = true;
        }
        if (timed_out && (cost_key_running(g, key) >= g->per_key || g->running >= g->limit)) {
            key_full = cost_key_running(g, key) >= g->per_key;
            if (queued)
                g->waiting--;
            pthread_mutex_unlock(&g->mu);
            cost_refuse(rq, g, key_full, true);
            return false;
        }
    }
    cost_take_slot(g, rq, key);
    if (queued)
        g->waiting--;
    pthread_mutex_unlock(&g->mu);
    return true;
}

static void cost_release(http_req *rq)
{
    if (!rq->costly_held)
        return;
    cost_guard *g = &rq->srv->cost;
    pthread_mutex_lock(&g->mu);
    for (int i = 0; i < g->limit; i++)
        if (g->keys[i][0] && strcmp(g->keys[i], rq->costly_key) == 0) {
            g->keys[i][0] = '\0';
            break;
        }
    g->running--;
    pthread_cond_broadcast(&g->cv);
    if (rq->srv->work.n > 0)
        pthread_cond_broadcast(&rq->srv->work.work_cv); /* a queued costly job may run now */
    pthread_mutex_unlock(&g->mu);
    rq->costly_held = false;
}

/* ---- worker pool -------------------------------------------------------- */

static int pool_size(const config *cfg) { return cfg->workers > 0 ? cfg->workers : cfg->threads; }

enum { POOL_BUSY = 1, POOL_COSTLY_FULL, POOL_KEY_FULL }; /* why the timer answered a queued job */

static bool route_offloaded(const http_route *r) { return r && (r->flags & (ROUTE_COSTLY | ROUTE_OFFLOAD)); }

/* Under mu: unlink a queued job. */
static void pool_unlink(worker_pool *p, http_req *rq)
{
    if (rq->job_prev)
        rq->job_prev->job_next = rq->job_next;
    else
        p->head = rq->job_next;
    if (rq->job_next)
        rq->job_next->job_prev = rq->job_prev;
    else
        p->tail = rq->job_prev;
    rq->job_prev = rq->job_next = NULL;
}

/* Under mu: the oldest queued job that may run now, unlinked (a costly one
 * with the cost guard's slot taken for it); NULL when none may. A job whose
 * key has its share running does not hold up the jobs behind it. */
static http_req *pool_take(http_server *s)
{
    worker_pool *p = &s->work;
    cost_guard *g = &s->cost;
    for (http_req *rq = p->head; rq; rq = rq->job_next) {
        if (rq->route->flags & ROUTE_COSTLY) {
            const char *key = cost_key_of(rq);
            if (g->running >= g->limit || cost_key_running(g, key) >= g->per_key)
                continue;
            cost_take_slot(g, rq, key);
        }
        pool_unlink(p, rq);
        __atomic_sub_fetch(&p->queued, 1, __ATOMIC_RELAXED);
        __atomic_add_fetch(&p->busy, 1, __ATOMIC_RELAXED);
        return rq;
    }
    return NULL;
}

http_pool_stats http_worker_pool_stats(const http_req *rq)
{
    const worker_pool *p = &rq->srv->work;
    return (http_pool_stats){p->n, __atomic_load_n(&p->busy, __ATOMIC_RELAXED),
                             __atomic_load_n(&p->queued, __ATOMIC_RELAXED)};
}

/* The job is answered: hand it back to libmicrohttpd, which calls on_request
 * again for the connection (that sends the reply). After this the worker
 * must not touch rq: it may be freed at any time. */
static void pool_finish(http_req *rq)
{
    release_db(rq);
    MHD_resume_connection(rq->conn);
}

static void *pool_worker(void *arg)
{
    http_server *s = arg;
    worker_pool *p = &s->work;
    pthread_mutex_lock(&s->cost.mu);
    for (;;) {
        if (__atomic_load_n(&p->stop, __ATOMIC_SEQ_CST))
            break;
        http_req *rq = pool_take(s);
        if (!rq) {
            pthread_cond_wait(&p->work_cv, &s->cost.mu);
            continue;
        }
        pthread_mutex_unlock(&s->cost.mu);
        dispatch_tail(rq);
        /* the slot is free once the work is done, not when the reply is sent */
        cost_release(rq);
        pool_finish(rq);
        pthread_mutex_lock(&s->cost.mu);
        __atomic_sub_fetch(&p->busy, 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&s->cost.mu);
    return NULL;
}

static struct timespec mono_at(double ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000.0);
    ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000.0) * 1e6);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    if (ts.tv_nsec < 0)
        ts.tv_nsec = 0;
    return ts;
}

/* Jobs still queued after --costly-queue-ms get the cost guard's answer
 * (429 when their key has its share running, else 503), even while every
 * worker is busy: a thread of its own does it. */
static void *pool_timer(void *arg)
{
    http_server *s = arg;
    worker_pool *p = &s->work;
    cost_guard *g = &s->cost;
    pthread_mutex_lock(&g->mu);
    while (!__atomic_load_n(&p->stop, __ATOMIC_SEQ_CST)) {
        double now = now_ms(), next = now + 1000.0;
        http_req *due = NULL;
        for (http_req *rq = p->head, *nx; rq; rq = nx) {
            nx = rq->job_next;
            double at = rq->queued_ms + g->queue_ms;
            if (at > now) {
                if (at < next)
                    next = at;
                continue;
            }
            bool costly = rq->route->flags & ROUTE_COSTLY;
            /* decided now, under the lock, as http_costly_enter does */
            bool key_full = costly && cost_key_running(g, cost_key_of(rq)) >= g->per_key;
            pool_unlink(p, rq);
            __atomic_sub_fetch(&p->queued, 1, __ATOMIC_RELAXED);
            rq->job_next = due;
            rq->pool_verdict = key_full ? POOL_KEY_FULL : costly ? POOL_COSTLY_FULL : POOL_BUSY;
            due = rq;
        }
        if (due) {
            pthread_mutex_unlock(&g->mu);
            for (http_req *rq = due, *nx; rq; rq = nx) {
                nx = rq->job_next;
                rq->job_next = NULL;
                cost_refuse(rq, g, rq->pool_verdict == POOL_KEY_FULL, rq->pool_verdict != POOL_BUSY);
                pool_finish(rq);
            }
            pthread_mutex_lock(&g->mu);
            continue;
        }
        struct timespec until = mono_at(next);
        pthread_cond_timedwait(&p->timer_cv, &g->mu, &until);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* On the connection's HTTP thread: suspend it and queue the request for a
 * worker. False when the pool is stopping (the caller answers at once). The
 * connection is suspended under the pool's lock, before any worker can see
 * the job, so a resume never comes before its suspend. */
static bool pool_submit(http_server *s, http_req *rq)
{
    worker_pool *p = &s->work;
    pthread_mutex_lock(&s->cost.mu);
    if (__atomic_load_n(&p->stop, __ATOMIC_SEQ_CST)) {
        pthread_mutex_unlock(&s->cost.mu);
        return false;
    }
    rq->offloaded = true;
    rq->suspended = true;
    rq->queued_ms = now_ms();
    __atomic_add_fetch(&s->suspended, 1, __ATOMIC_SEQ_CST);
    MHD_suspend_connection(rq->conn);
    rq->job_prev = p->tail;
    rq->job_next = NULL;
    if (p->tail)
        p->tail->job_next = rq;
    else
        p->head = rq;
    p->tail = rq;
    __atomic_add_fetch(&p->queued, 1, __ATOMIC_RELAXED);
    pthread_cond_signal(&p->work_cv);
    pthread_cond_signal(&p->timer_cv);
    pthread_mutex_unlock(&s->cost.mu);
    return true;
}

static void pool_unsuspended(http_server *s, http_req *rq)
{
    if (rq->suspended) {
        rq->suspended = false;
        __atomic_sub_fetch(&s->suspended, 1, __ATOMIC_SEQ_CST);
    }
}

static int pool_start(http_server *s)
{
    worker_pool *p = &s->work;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->work_cv, &ca);
    pthread_cond_init(&p->timer_cv, &ca);
    pthread_condattr_destroy(&ca);
    if (!s->cfg->offload)
        return 0;
    int n = pool_size(s->cfg);
    p->threads = calloc((size_t)n, sizeof *p->threads);
    if (!p->threads)
        return -1;
    p->n = n;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_worker, s) != 0)
            return -1;
        p->started++;
    }
    if (pthread_create(&p->timer, NULL, pool_timer, s) != 0)
        return -1;
    p->timer_started = true;
    return 0;
}

/* Stop taking jobs: the queued ones are answered 503 (the instance is
 * going away), the running ones finish; then the threads are joined. */
static void pool_stop(http_server *s)
{
    worker_pool *p = &s->work;
    pthread_mutex_lock(&s->cost.mu);
    __atomic_store_n(&p->stop, 1, __ATOMIC_SEQ_CST);
    http_req *queued = p->head;
    p->head = p->tail = NULL;
    __atomic_store_n(&p->queued, 0, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&p->work_cv);
    pthread_cond_broadcast(&p->timer_cv);
    pthread_mutex_unlock(&s->cost.mu);
    for (http_req *rq = queued, *nx; rq; rq = nx) {
        nx = rq->job_next;
        rq->job_prev = rq->job_next = NULL;
        http_add_header(rq, "Retry-After", "2");
        http_fail(rq, ERR_OVERLOADED, "This instance is shutting down; retry on another");
        pool_finish(rq);
    }
    for (int i = 0; i < p->started; i++)
        pthread_join(p->threads[i], NULL);
    if (p->timer_started)
        pthread_join(p->timer, NULL);
    p->started = 0;
    p->timer_started = false;
}

static void pool_free(http_server *s)
{
    free(s->work.threads);
    s->work.threads = NULL;
    pthread_cond_destroy(&s->work.work_cv);
    pthread_cond_destroy(&s->work.timer_cv);
}

/* After a request that moved a lot of memory (a large body or answer, an
 * expensive route), give the freed heap back to the system: glibc keeps it
 * otherwise (6 inline 200k-account territory plans left 2.0 GB resident). */
#define HTTP_TRIM_BYTES (1024 * 1024)
static void trim_after(const http_req *rq)
{
    if (rq->body_len >= HTTP_TRIM_BYTES || rq->reply_len >= HTTP_TRIM_BYTES ||
        (rq->route && (rq->route->flags & ROUTE_COSTLY)))
        malloc_trim(0);
}

/* ---- connection guard: the deadline for a request line and headers ---- */

static int64_t guard_now_ms(void) { return (int64_t)now_ms(); }

static conn_track *track_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* The headers are in (the first callback of a request): no deadline while it runs. */
static void guard_headers_done(struct MHD_Connection *conn)
{
    conn_track *t = track_of(conn);
    if (t)
        __atomic_store_n(&t->waiting_since_ms, 0, __ATOMIC_RELAXED);
}

/* A request ended: the next one's headers have the deadline from now. */
static void guard_request_done(struct MHD_Connection *conn)
{
    conn_track *t = track_of(conn);
    if (t)
        __atomic_store_n(&t->waiting_since_ms, guard_now_ms(), __ATOMIC_RELAXED);
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    conn_guard *g = &((http_server *)cls)->guard;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        conn_track *t = calloc(1, sizeof *t);
        if (!t || !ci) {
            free(t);
            *socket_context = NULL;
            return;
        }
        t->fd = ci->connect_fd;
        t->waiting_since_ms = guard_now_ms();
        pthread_mutex_lock(&g->mu);
        t->next = g->head.next;
        t->prev = &g->head;
        g->head.next->prev = t;
        g->head.next = t;
        pthread_mutex_unlock(&g->mu);
        *socket_context = t;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        conn_track *t = *socket_context;
        pthread_mutex_lock(&g->mu);
        t->prev->next = t->next;
        t->next->prev = t->prev;
        pthread_mutex_unlock(&g->mu);
        free(t);
        *socket_context = NULL;
    }
}

static void *guard_sweep(void *arg)
{
    conn_guard *g = arg;
    while (!__atomic_load_n(&g->stop, __ATOMIC_SEQ_CST)) {
        struct timespec ts = {0, 200 * 1000 * 1000};
        nanosleep(&ts, NULL);
        int64_t now = guard_now_ms();
        int cut = 0, open_n = 0;
        pthread_mutex_lock(&g->mu);
        for (conn_track *t = g->head.next; t != &g->head; t = t->next)
            open_n++;
        /* Under pressure (three quarters of --max-connections open) the
         * deadline shrinks to HTTP_HEADER_PRESSURE_MS: at the limit
         * libmicrohttpd stops accepting, and every new client, /healthz
         * included, waits in the listen queue until slots free up (measured:
         * 2,000 slow connections from 10 addresses held all 512 slots and
         * /healthz waited the full 10 s). A real client sends its headers in
         * far less than a second. */
        int limit_ms = g->header_timeout_ms;
        if (g->max_connections > 0 && open_n * 4 >= g->max_connections * 3 && limit_ms > HTTP_HEADER_PRESSURE_MS)
            limit_ms = HTTP_HEADER_PRESSURE_MS;
        for (conn_track *t = g->head.next; t != &g->head; t = t->next) {
            int64_t since = __atomic_load_n(&t->waiting_since_ms, __ATOMIC_RELAXED);
            int unread = 0;
            /* bytes waiting in the socket mean the slowness is ours: the
             * connection's thread is busy with another request and has not
             * read the headers the client did send (libmicrohttpd binds a
             * connection to one thread) */
            if (!t->cut && since > 0 && now - since > limit_ms &&
                !(ioctl(t->fd, FIONREAD, &unread) == 0 && unread > 0)) {
                shutdown(t->fd, SHUT_RDWR);
                t->cut = true;
                cut++;
            }
        }
        pthread_mutex_unlock(&g->mu);
        if (cut)
            log_warn_limited("http", "closed %d connection(s) without a complete request line and headers in %d ms",
                             cut, limit_ms);
    }
    return NULL;
}

static int guard_start(http_server *s)
{
    conn_guard *g = &s->guard;
    pthread_mutex_init(&g->mu, NULL);
    g->head.next = g->head.prev = &g->head;
    g->header_timeout_ms = s->cfg->header_timeout * 1000;
    g->max_connections = s->cfg->max_connections;
    if (s->cfg->header_timeout <= 0)
        return 0;
    if (pthread_create(&g->sweeper, NULL, guard_sweep, g) != 0)
        return -1;
    g->running = true;
    return 0;
}

/* After MHD_stop_daemon: every connection is closed (and its entry freed). */
static void guard_stop(http_server *s)
{
    conn_guard *g = &s->guard;
    __atomic_store_n(&g->stop, 1, __ATOMIC_SEQ_CST);
    if (g->running)
        pthread_join(g->sweeper, NULL);
    g->running = false;
    pthread_mutex_destroy(&g->mu);
}

/* Does the request announce a body (a length above 0, or chunked)? */
static bool body_coming(struct MHD_Connection *conn, const char *cl)
{
    const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
    return (cl && strtoull(cl, NULL, 10) > 0) || (te && strcasecmp(te, "identity") != 0);
}

/* A body is coming for route idx: check the key first (the key is in the
 * headers). 30 unauthenticated 60 MB uploads to /v1/imports were buffered
 * whole (1.8 GB) before the 401. False after replying. The connection goes
 * back to the pool at once: a slow upload must not hold it. */
static bool early_authenticate(http_req *rq, int idx)
{
    rq->route_index = idx;
    rq->route = &rq->srv->routes[idx];
    bool ok = authenticate(rq);
    release_db(rq);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    http_server *srv = cls;
    http_req *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        rq->srv = srv;
        rq->conn = conn;
        rq->method = method;
        rq->path = url;
        rq->route_index = -1;
        rq->started_ms = now_ms();
        guard_headers_done(conn);
        const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
        if (rid && request_id_ok(rid))
            snprintf(rq->request_id, sizeof rq->request_id, "%s", rid);
        else
            request_id_new(rq->request_id);
        __atomic_add_fetch(&srv->in_flight, 1, __ATOMIC_SEQ_CST);
        *con_cls = rq;
        rq->oversize = oversize_request(conn, url);
        if (rq->oversize != ERR_NONE) {
            dispatch(rq);
            return send_reply(conn, rq);
        }
        /* Bulk routes take larger bodies; dispatch matches the route again. */
        char allow[128];
        int idx = route_find(srv, method, url, rq, allow, sizeof allow);
        rq->body_limit =
            idx >= 0 && (srv->routes[idx].flags & ROUTE_LARGE_BODY) ? srv->cfg->max_import_body : srv->cfg->max_body;
        /* Refuse a declared oversize body before reading any of it. */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > rq->body_limit) {
            rq->too_large = true;
            dispatch(rq);
            return send_reply(conn, rq);
        }
        if (idx >= 0 && body_coming(conn, cl) && !early_authenticate(rq, idx)) {
            release_db(rq);
            return send_reply(conn, rq);
        }
        return MHD_YES;
    }
    if (rq->offloaded) { /* resumed: the worker has answered */
        pool_unsuspended(srv, rq);
        return send_reply(conn, rq);
    }
    if (rq->replied) { /* early reply already queued: drain and discard */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        /* --conn-timeout only notices silence: a body trickled a byte at a
         * time would hold the connection (and its memory) for as long as the
         * client likes. Past --request-timeout the connection is dropped. */
        if (srv->cfg->request_timeout > 0 && now_ms() - rq->started_ms > srv->cfg->request_timeout * 1000.0)
            return MHD_NO;
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (rq->too_large || rq->body_len + n > rq->body_limit) {
            rq->too_large = true;
            free(rq->body);
            rq->body = NULL;
            rq->body_len = 0;
            return MHD_YES;
        }
        char *nb = realloc(rq->body, rq->body_len + n + 1);
        if (!nb)
            return MHD_NO;
        memcpy(nb + rq->body_len, upload_data, n);
        rq->body = nb;
        rq->body_len += n;
        rq->body[rq->body_len] = '\0';
        return MHD_YES;
    }
    if (!dispatch_head(rq)) {
        release_db(rq);
        return send_reply(conn, rq);
    }
    if (srv->work.n > 0 && route_offloaded(rq->route)) {
        release_db(rq); /* the key's connection goes back while the job waits */
        if (pool_submit(srv, rq))
            return MHD_YES; /* suspended: the worker's answer comes through on_request again */
        http_add_header(rq, "Retry-After", "2");
        http_fail(rq, ERR_OVERLOADED, "This instance is shutting down; retry on another");
        return send_reply(conn, rq);
    }
    dispatch_tail(rq);
    release_db(rq);
    return send_reply(conn, rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    http_server *srv = cls;
    http_req *rq = *con_cls;
    guard_request_done(conn);
    if (!rq)
        return;
    pool_unsuspended(srv, rq); /* the client went away while it was suspended */
    release_db(rq);
    cost_release(rq);
    double dur = now_ms() - rq->started_ms;
    int status = rq->replied ? rq->status : 499; /* client went away before an answer */
    prom_observe_request(rq->route_index, status, dur);
    if (srv->cfg->access_log)
        access_log(rq, status, dur, toe);
    json_decref(rq->json);
    free(rq->body);
    free(rq->reply);
    free(rq->path_copy);
    for (int i = 0; i < rq->nheaders; i++) {
        free(rq->headers[i][0]);
        free(rq->headers[i][1]);
    }
    trim_after(rq);
    free(rq);
    *con_cls = NULL;
    __atomic_sub_fetch(&srv->in_flight, 1, __ATOMIC_SEQ_CST);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = '\0';
    /* a line per refused connection under an attack: limited */
    log_warn_limited("mhd", "%s", msg);
}

static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sslen)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon == listen)
        return -1;
    size_t hlen = (size_t)(colon - listen);
    if (hlen >= sizeof host)
        return -1;
    memcpy(host, listen, hlen);
    host[hlen] = '\0';
    if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') { /* [::1]:8080 */
        memmove(host, host + 1, hlen - 2);
        host[hlen - 2] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || !res)
        return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* libmicrohttpd's fatal errors (it aborts after them): say which one in the
 * JSON log before the abort, so a crash leaves its reason behind. */
static void mhd_panic(void *cls, const char *file, unsigned int line, const char *reason)
{
    (void)cls;
    log_error("http", "libmicrohttpd fatal error at %s:%u: %s", file ? file : "?", line, reason ? reason : "?");
    abort();
}

http_server *http_server_start(const config *cfg, db_pool *pool, const http_route *routes, size_t nroutes)
{
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    if (parse_listen(cfg->listen, &ss, &sslen) != 0) {
        fprintf(stderr, "revopsd: cannot parse listen address '%s' (want HOST:PORT)\n", cfg->listen);
        return NULL;
    }
    http_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = cfg;
    s->pool = pool;
    s->routes = routes;
    s->nroutes = nroutes;
    if (op_decls_map(s) != 0) {
        route_data_free(s);
        free(s);
        return NULL;
    }
    if (cfg->rate_limit > 0) {
        s->rl = ratelimit_create(cfg->rate_limit, cfg->rate_burst > 0 ? cfg->rate_burst : 2 * cfg->rate_limit);
        if (!s->rl) {
            free(s->query_names);
            free(s->negotiated);
            free(s);
            return NULL;
        }
    }
    if (guard_start(s) != 0 || cost_start(s) != 0 || pool_start(s) != 0) {
        pool_stop(s);
        pool_free(s);
        cost_stop(s);
        ratelimit_destroy(s->rl);
        route_data_free(s);
        free(s);
        return NULL;
    }
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    MHD_set_panic_func(mhd_panic, NULL);
    s->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)cfg->threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->conn_timeout, MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)HTTP_CONNECTION_POOL_BYTES, MHD_OPTION_UNESCAPE_CALLBACK, unescape_keep_nul, NULL,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)cfg->max_conns_per_ip, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_END);
    if (!s->mhd) {
        fprintf(stderr, "revopsd: cannot listen on %s\n", cfg->listen);
        pool_stop(s);
        pool_free(s);
        guard_stop(s);
        cost_stop(s);
        ratelimit_destroy(s->rl);
        route_data_free(s);
        free(s);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    return s;
}

int http_server_port(const http_server *s) { return s->port; }

/* Graceful stop: no new connections; requests already received are
 * answered, each with "Connection: close". Waits until no connection is left,
 * or until no request has been in flight for HTTP_STOP_QUIET_MS (what is left
 * then are idle keep-alive connections, closed by MHD_stop_daemon; the quiet
 * period covers a request whose bytes have arrived but that MHD has not read
 * yet), or until the grace period ends. Past the grace, what requests still
 * wait on in the database is cancelled and they are answered 503 (retry
 * elsewhere): without that a backtest behind a lock held the exit for as long
 * as the lock, and a supervisor's SIGKILL then dropped it unanswered. */
#define HTTP_STOP_QUIET_MS 250.0
void http_server_stop(http_server *s, int grace_s)
{
    if (!s)
        return;
    __atomic_store_n(&s->stopping, 1, __ATOMIC_SEQ_CST);
    /* stop accepting (refuse at once); existing connections go on. The listen
     * socket is closed only after MHD_stop_daemon: libmicrohttpd's manual says a worker thread
     * may still use it until then. Closed here at once, its number could be
     * reused by a new connection that libmicrohttpd then closed twice (its
     * "close failed" is a fatal error): a SIGTERM right after a slow-header
     * flood ended in SIGABRT once under load. */
    MHD_socket lsock = MHD_quiesce_daemon(s->mhd);
    if (lsock != MHD_INVALID_SOCKET)
        shutdown(lsock, SHUT_RDWR); /* Linux: new connections are refused now, the number stays taken */
    double deadline = now_ms() + grace_s * 1000.0, idle_since = now_ms();
    for (;;) {
        double now = now_ms();
        if (__atomic_load_n(&s->in_flight, __ATOMIC_SEQ_CST) > 0)
            idle_since = now;
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if ((info && info->num_connections == 0) || now - idle_since >= HTTP_STOP_QUIET_MS || now >= deadline)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    int left = __atomic_load_n(&s->in_flight, __ATOMIC_SEQ_CST);
    if (left > 0) {
        log_info("serve", "grace period over: cancelling the database work of %d request(s) in flight", left);
        db_pool_interrupt(s->pool);
    }
    /* libmicrohttpd panics when stopped with a connection suspended: every
     * queued job is answered 503, the running ones finish, and each is
     * resumed; then its reply gets a moment to go out */
    pool_stop(s);
    double flush_until = now_ms() + 1000.0;
    while (__atomic_load_n(&s->suspended, __ATOMIC_SEQ_CST) > 0 ||
           (__atomic_load_n(&s->in_flight, __ATOMIC_SEQ_CST) > 0 && now_ms() < flush_until)) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(s->mhd);
    if (lsock != MHD_INVALID_SOCKET)
        close(lsock);
    guard_stop(s);
    pool_free(s);
    cost_stop(s);
    ratelimit_destroy(s->rl);
    route_data_free(s);
    free(s);
}

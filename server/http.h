/* http.h - the HTTP layer on libmicrohttpd: server lifecycle, the request
 * context handlers receive, and the reply helpers they use.
 *
 * The dispatcher (http.c) owns everything cross-cutting: body accumulation
 * and the size limit, content type, JSON parsing, CORS, auth and roles,
 * request ids, 404/405, metrics and the access log. A handler only decodes,
 * calls core/db, and replies once through one of the http_reply_* helpers.
 */
#ifndef REVOPS_HTTP_H
#define REVOPS_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "errors.h"

#define HTTP_MAX_PARAMS 4
#define HTTP_MAX_HEADERS 8

typedef struct http_server http_server;
typedef struct http_req http_req;
typedef void (*http_handler)(http_req *rq);

/* Route flags */
#define ROUTE_PUBLIC 0x1      /* no API key needed (health, webhooks check their own signatures) */
#define ROUTE_RAW_BODY 0x2    /* keep the raw body; do not require or parse JSON */
#define ROUTE_YAML_BODY 0x4   /* application/yaml bodies are accepted besides JSON */
#define ROUTE_IDEMPOTENT 0x8  /* a create that honours Idempotency-Key (2xx answers are replayed) */
#define ROUTE_LARGE_BODY 0x10 /* bulk uploads: body limit is --max-import-body instead of --max-body */
#define ROUTE_RAW_JSON 0x20   /* with ROUTE_RAW_BODY: the raw bytes are kept, but they must be application/json */
#define ROUTE_ANY_QUERY 0x40  /* the caller's own query string (a CRM's target URL; signed, not ours to name) */
#define ROUTE_COSTLY 0x80     /* expensive (seconds of CPU or database): bounded concurrency, see http_costly_enter */
/* a POST that only stores what it computed from the data (a forecast, a
 * snapshot, a plan): it leaves the forecast engine's cached inputs (fccache) valid */
#define ROUTE_DERIVED 0x100
/* slow (a forecast, a dashboard that may be a cache miss) though not
 * bounded by the cost guard: like ROUTE_COSTLY it runs on the worker pool
 * (--workers) while its connection is suspended, never on an HTTP thread */
#define ROUTE_OFFLOAD 0x200

typedef struct {
    const char *method;
    const char *pattern; /* "/v1/deals/{id}": literal segments and {param} segments */
    http_handler handler;
    auth_role min_role;
    unsigned flags;
} http_route;

/* What the dispatcher takes from each operation of openapi.yaml, generated
 * at build time (scripts/gen_query_params.c -> build/gen/query_params.c), so
 * the contract is the one source: the query parameters it takes (any other
 * answers 422; NULL-terminated) and whether its answer depends on Accept
 * (a 2xx with more than one media type: every answer carries Vary: Accept). */
typedef struct {
    const char *method;
    const char *pattern;
    const char *const *names;
    bool negotiated;
} http_op_decl;
extern const http_op_decl http_op_decls[];
extern const size_t http_op_decls_count;

struct http_req {
    /* request */
    const char *method;
    const char *path;
    const http_route *route;
    int route_index;
    const char *params[HTTP_MAX_PARAMS]; /* path parameters in pattern order */
    char *body;                          /* raw body, NUL-terminated (may contain NULs) */
    size_t body_len;
    json_t *json; /* parsed body for JSON routes, NULL when the body was empty */
    char request_id[72];
    auth_identity auth;
    /* services */
    http_server *srv;
    db_conn *db;
    void *conn; /* struct MHD_Connection */
    /* reply */
    int status;
    char *reply;
    size_t reply_len;
    const char *reply_type;
    int nheaders;
    char *headers[HTTP_MAX_HEADERS][2];
    /* bookkeeping */
    double started_ms;
    size_t received;
    bool too_large;
    app_error oversize; /* the request line or headers over their limit (414, 431), else ERR_NONE */
    size_t body_limit;  /* max_body, or max_import_body on ROUTE_LARGE_BODY routes */
    bool replied;
    bool authenticated; /* the key was checked (before the body, when one was announced) */
    bool costly_held;   /* holds a slot of the cost guard (released when the request ends) */
    char costly_key[40];
    char *path_copy;
    /* the worker pool (http.c): the connection is suspended from the
     * submission until the worker's answer is handed back to libmicrohttpd */
    bool offloaded;   /* dispatched by a worker; on_request sends its reply when resumed */
    bool suspended;   /* counted in the server's suspended connections */
    double queued_ms; /* when it joined the pool's queue: the cost guard's queue time runs from here */
    int pool_verdict; /* why the pool's timer answered it (http.c) */
    http_req *job_prev, *job_next;
};

/* Start serving; returns NULL with a message on stderr when the address
 * cannot be bound. The route table is borrowed and must outlive the server. */
http_server *http_server_start(const config *cfg, db_pool *pool, const http_route *routes, size_t nroutes);
/* Stop accepting, let in-flight requests finish for up to grace_s, stop. */
void http_server_stop(http_server *s, int grace_s);
/* The actual bound port (useful with port 0). */
int http_server_port(const http_server *s);

const config *http_config(const http_req *rq);
db_pool *http_pool(const http_req *rq);
const http_route *http_routes(const http_req *rq, size_t *n);

/* The request's database connection, acquired on first use. On failure it
 * replies 503 itself and returns NULL: the handler just returns. */
db_conn *http_db(http_req *rq);

/* The first row sql ($1 = the caller's workspace, $2 = the path's first
 * parameter, which must be a UUID) finds; NULL once a 404 with detail missing
 * (or the database's error) has been sent. *dbp, when given, gets the
 * connection. The caller PQclears the result. */
PGresult *http_query_one(http_req *rq, db_conn **dbp, const char *sql, const char *missing);
/* The same for another id than the path's (a query parameter, a body field). */
PGresult *http_query_id(http_req *rq, db_conn **dbp, const char *id, const char *sql, const char *missing);

const char *http_header(const http_req *rq, const char *name);
const char *http_query(const http_req *rq, const char *key);
/* Does the client prefer YAML (Accept: application/yaml)? */
bool http_wants_yaml(const http_req *rq);

/* The deepest {/[ nesting in a JSON text (brackets inside strings ignored);
 * computed without recursion, so it is safe on any input. */
int http_json_depth(const char *s, size_t len);
/* Decode a request body the way the dispatcher does: nesting deeper than 64
 * is refused before parsing (*too_deep set, NULL), then jansson with
 * duplicate keys rejected. A new reference, or NULL with jerr filled. Also
 * the entry point of tests/fuzz/fuzz_json_body.c. */
json_t *http_json_decode(const char *body, size_t len, json_error_t *jerr, bool *too_deep);

/* Take a slot of the cost guard for an expensive piece of work: at most
 * --costly-concurrency at once per instance and --costly-per-key per API
 * key; a request waits up to --costly-queue-ms for one, then false after
 * replying 429 (its key has its share running) or 503 (the instance is
 * busy), both with Retry-After. The dispatcher calls it for ROUTE_COSTLY
 * routes; a handler whose cost depends on a cache may call it on a miss.
 * The slot is released when the request ends. */
bool http_costly_enter(http_req *rq);

/* The worker pool now (for /metrics): its threads (0 with --offload off),
 * those running a request, the requests waiting in its queue. */
typedef struct {
    int workers, busy, queued;
} http_pool_stats;
http_pool_stats http_worker_pool_stats(const http_req *rq);

/* Reply helpers: each takes ownership of what it is given. */
void http_reply_json(http_req *rq, int status, json_t *body);
/* 200 with a strong ETag over the body; 304 when If-None-Match matches. */
void http_reply_json_etag(http_req *rq, json_t *body);
/* The ETag of a representation: a quoted hex prefix of its SHA-256. */
void http_etag_of(const char *data, size_t len, char *out, size_t outlen);
/* 200 with text (taken over) and its precomputed ETag, or 304 when the
 * request's If-None-Match names it (for answers served from a cache). */
void http_reply_text_etag(http_req *rq, const char *content_type, char *text, size_t len, const char *etag);
/* A JSON text produced elsewhere (e.g. by PostgreSQL), copied. */
void http_reply_json_text(http_req *rq, int status, const char *text);
void http_reply_text(http_req *rq, int status, const char *content_type, char *text, size_t len);
void http_reply_empty(http_req *rq, int status);
/* 304 for the representation text (taken over) the client already has: its
 * length is the answer's Content-Length, no body is sent. */
void http_reply_not_modified(http_req *rq, char *text, size_t len);
void http_reply_error(http_req *rq, const app_err *e);
void http_fail(http_req *rq, app_error code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void http_add_header(http_req *rq, const char *name, const char *value);

/* Cursor pagination: read ?limit= (1-200, default 50) and ?cursor=; replies
 * 422 and returns false when either is malformed. uuid_cursor: the cursor
 * must be a UUID (else any string of up to 200 bytes). */
bool http_page_params(http_req *rq, bool uuid_cursor, long *limit, const char **cursor);
/* Reply {items, next_cursor} from a result whose column 0 is an item's JSON
 * and column 1 its cursor, fetched with LIMIT limit+1. Consumes r. */
void http_reply_page(http_req *rq, PGresult *r, long limit);
/* A whole list endpoint: page parameters, then sql with $1 = workspace id,
 * $2 = cursor (NULL on the first page), $3 = limit + 1, answered as a page. */
void http_reply_list(http_req *rq, bool uuid_cursor, const char *sql);

#endif

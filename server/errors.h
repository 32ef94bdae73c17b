/* errors.h - the one error table: application error -> HTTP status, title, problem type.
 *
 * Every error the API can answer is a row here; openapi.yaml lists the same
 * problem types (components/responses). The type URI is a relative reference
 * (RFC 9457 section 3.1.1) under /problems/.
 */
#ifndef REVOPS_ERRORS_H
#define REVOPS_ERRORS_H

#define APP_ERROR_TABLE(X)                                                                                             \
    X(ERR_BAD_REQUEST, 400, "bad-request", "Bad request")                                                              \
    X(ERR_MALFORMED_JSON, 400, "malformed-json", "Malformed JSON body")                                                \
    X(ERR_UNAUTHORIZED, 401, "unauthorized", "Missing or invalid API key")                                             \
    X(ERR_BAD_SIGNATURE, 401, "invalid-signature", "Webhook signature check failed")                                   \
    X(ERR_FORBIDDEN, 403, "forbidden", "The API key's role does not allow this")                                       \
    X(ERR_NOT_FOUND, 404, "not-found", "Not found")                                                                    \
    X(ERR_METHOD_NOT_ALLOWED, 405, "method-not-allowed", "Method not allowed")                                         \
    X(ERR_CONFLICT, 409, "conflict", "Conflict")                                                                       \
    X(ERR_PRECONDITION_FAILED, 412, "precondition-failed", "Precondition failed")                                      \
    X(ERR_PRECONDITION_REQUIRED, 428, "precondition-required", "If-Match is required")                                 \
    X(ERR_TOO_LARGE, 413, "payload-too-large", "Request body too large")                                               \
    X(ERR_URI_TOO_LONG, 414, "uri-too-long", "Request URI too long")                                                   \
    X(ERR_UNSUPPORTED_MEDIA, 415, "unsupported-media-type", "Unsupported content type")                                \
    X(ERR_HEADERS_TOO_LARGE, 431, "headers-too-large", "Request header fields too large")                              \
    X(ERR_VALIDATION, 422, "validation-error", "The request breaks a rule")                                            \
    X(ERR_RATE_LIMITED, 429, "rate-limited", "Too many requests")                                                      \
    X(ERR_INTERNAL, 500, "internal-error", "Internal error")                                                           \
    X(ERR_DB_UNAVAILABLE, 503, "database-unavailable", "Database unavailable")                                         \
    X(ERR_OVERLOADED, 503, "overloaded", "Too many expensive requests at once")                                        \
    X(ERR_WEBHOOK_BACKLOG, 503, "webhook-backlog", "Too many webhook events are waiting to be applied")

typedef enum {
    ERR_NONE = 0,
#define X(code, status, slug, title) code,
    APP_ERROR_TABLE(X)
#undef X
        ERR__COUNT
} app_error;

int app_error_status(app_error e);
const char *app_error_slug(app_error e);
const char *app_error_title(app_error e);

/* A field-level problem, reported in the problem document's "errors" array. */
typedef struct {
    char field[128];
    char message[256];
} app_field_error;

#define APP_MAX_FIELD_ERRORS 32

/* An error in flight: the code, a human detail, and optional field errors.
 * Functions that can fail fill one of these and return -1. */
typedef struct {
    app_error code;
    char detail[512];
    int nfields;
    app_field_error fields[APP_MAX_FIELD_ERRORS];
} app_err;

void app_err_set(app_err *e, app_error code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Append a field error (path like "stages[2].probability"); sets code to
 * ERR_VALIDATION when none is set yet. */
void app_err_field(app_err *e, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif

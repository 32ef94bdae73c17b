/* h_import.c - POST /v1/imports: CSV or NDJSON bodies for deals, accounts or
 * reps. A JSON envelope carries the data with its mapping and fix options; a
 * bare text/csv or application/x-ndjson body names the object in ?object=
 * and uses the field names as column names. */
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "import.h"

static bool media_is(const char *value, const char *type)
{
    size_t n = strlen(type);
    return value && strncasecmp(value, type, n) == 0 && (value[n] == '\0' || value[n] == ';' || value[n] == ' ');
}

void h_imports_create(http_req *rq)
{
    const char *ctype = http_header(rq, "Content-Type");
    json_t *req = NULL;
    app_err err = {0};
    if (media_is(ctype, "application/json")) {
        json_error_t jerr;
        req = json_loadb(rq->body ? rq->body : "", rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
        if (!req) {
            http_fail(rq, ERR_MALFORMED_JSON, "Invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
                      jerr.text);
            return;
        }
    } else if (media_is(ctype, "text/csv") || media_is(ctype, "application/x-ndjson") ||
               media_is(ctype, "application/ndjson")) {
        const char *object = http_query(rq, "object");
        req = json_pack("{s:s, s:s, s:s%}", "object", object ? object : "", "format",
                        media_is(ctype, "text/csv") ? "csv" : "ndjson", "data", rq->body ? rq->body : "", rq->body_len);
        if (!req) {
            app_err_field(&err, "data", "must be UTF-8 text");
            http_reply_error(rq, &err);
            return;
        }
    } else {
        http_fail(rq, ERR_UNSUPPORTED_MEDIA, "Send text/csv, application/x-ndjson, or application/json with options");
        return;
    }
    db_conn *db = http_db(rq);
    if (!db) {
        json_decref(req);
        return;
    }
    json_t *report = NULL;
    if (import_run(db, rq->auth.workspace_id, req, &report, &err) != 0)
        http_reply_error(rq, &err);
    else
        http_reply_json(rq, 200, report);
    json_decref(req);
}

/* h_console.c - the console (issue 18): its static files, embedded in the
 * binary at build time (console.h), served at /console/ with a strict
 * Content-Security-Policy, and GET /v1/session, what the console asks first:
 * the key's role and workspace, so it shows only the controls the role may
 * use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "handlers.h"

/* Everything from this origin, nothing inline, nothing from elsewhere; no
 * framing (clickjacking), no referrer (the console's URLs carry no secret,
 * but nothing needs them). uPlot sets styles through the CSSOM, which
 * style-src does not restrict. */
#define CONSOLE_CSP                                                                                                    \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self';"               \
    " font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

static void serve(http_req *rq, const char *name)
{
    for (size_t i = 0; i < console_file_count; i++) {
        const console_file *f = &console_files[i];
        if (strcmp(f->name, name) != 0)
            continue;
        char *copy = malloc(f->len + 1);
        if (!copy) {
            http_fail(rq, ERR_INTERNAL, "out of memory");
            return;
        }
        memcpy(copy, f->data, f->len);
        copy[f->len] = '\0';
        char etag[48];
        http_etag_of(copy, f->len, etag, sizeof etag);
        http_add_header(rq, "Content-Security-Policy", CONSOLE_CSP);
        http_add_header(rq, "X-Content-Type-Options", "nosniff");
        http_add_header(rq, "Referrer-Policy", "no-referrer");
        http_add_header(rq, "X-Frame-Options", "DENY");
        /* revalidated each time (the ETag makes that a 304): a new binary's
         * files are never mixed with an old one's */
        http_add_header(rq, "Cache-Control", "no-cache");
        http_reply_text_etag(rq, f->type, copy, f->len, etag);
        return;
    }
    http_fail(rq, ERR_NOT_FOUND, "No console file '%.100s'", name);
}

void h_console_root(http_req *rq)
{
    http_add_header(rq, "Location", "/console/");
    http_reply_empty(rq, 302);
}

void h_console_index(http_req *rq) { serve(rq, "index.html"); }

void h_console_file(http_req *rq) { serve(rq, rq->params[0]); }

void h_session(http_req *rq)
{
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    const char *p[] = {rq->auth.workspace_id, rq->auth.key_id};
    PGresult *r = db_query(db,
                           "SELECT w.name, w.currency, w.fiscal_year_start_month,"
                           " (SELECT k.name FROM api_keys k WHERE k.id::text = $2 AND k.workspace_id = w.id)"
                           " FROM workspaces w WHERE w.id = $1",
                           2, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    if (PQntuples(r) != 1) {
        PQclear(r);
        http_fail(rq, ERR_NOT_FOUND, "The key's workspace is gone");
        return;
    }
    json_t *out = json_pack("{s:s, s:s, s:s?, s:{s:s, s:s, s:s, s:i}}", "role", auth_role_name(rq->auth.role), "key_id",
                            rq->auth.key_id, "key_name", PQgetisnull(r, 0, 3) ? NULL : PQgetvalue(r, 0, 3), "workspace",
                            "id", rq->auth.workspace_id, "name", PQgetvalue(r, 0, 0), "currency", PQgetvalue(r, 0, 1),
                            "fiscal_year_start_month", atoi(PQgetvalue(r, 0, 2)));
    PQclear(r);
    http_reply_json(rq, 200, out);
}

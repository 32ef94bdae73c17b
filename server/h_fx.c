/* h_fx.c - dated exchange rates into the workspace currency: PUT
 * /v1/fx-rates/{currency} merges rates by date, GET /v1/fx-rates lists them
 * per currency. The conversion itself is fx_convert (0023). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "handlers.h"
#include "jsonv.h"

#define FX_MAX_RATES 1000  /* per request */
#define FX_MAX_RATE 1e9    /* no currency is worth a billion of another */
#define FX_DECIMALS "%.8f" /* rates are kept to 8 decimal places (numeric(20, 8)) */

static bool is_currency(const char *s)
{
    return s && strlen(s) == 3 && isupper((unsigned char)s[0]) && isupper((unsigned char)s[1]) &&
           isupper((unsigned char)s[2]);
}

void h_fx_put(http_req *rq)
{
    static const char *const allowed[] = {"rates", NULL};
    const char *cur = rq->params[0];
    app_err err = {0};
    if (!is_currency(cur)) {
        http_fail(rq, ERR_NOT_FOUND, "Currencies are ISO 4217 codes such as EUR");
        return;
    }
    if (!jv_require_object(rq->json, &err)) {
        http_reply_error(rq, &err);
        return;
    }
    (void)jv_only_fields(rq->json, allowed, &err);
    const json_t *rates = json_object_get(rq->json, "rates");
    if (!json_is_array(rates) || json_array_size(rates) == 0 || json_array_size(rates) > FX_MAX_RATES)
        app_err_field(&err, "rates", "must be an array of 1 to %d {date, rate}", FX_MAX_RATES);
    json_t *rows = json_array(); /* [[date, rate text]] */
    json_t *seen = json_object();
    size_t i;
    const json_t *it;
    json_array_foreach(json_is_array(rates) ? rates : NULL, i, it)
    {
        char path[48], day[16], rate[48];
        const char *d = json_string_value(json_object_get(it, "date"));
        const json_t *rv = json_object_get(it, "rate");
        caldate_t cd;
        snprintf(path, sizeof path, "rates[%zu]", i);
        if (!json_is_object(it) || json_object_size(it) != 2 || !d || !rv) {
            app_err_field(&err, path, "must be {\"date\": \"YYYY-MM-DD\", \"rate\": number}");
            continue;
        }
        snprintf(path, sizeof path, "rates[%zu].date", i);
        if (!caldate_parse(d, &cd)) {
            app_err_field(&err, path, "must be a date YYYY-MM-DD");
            continue;
        }
        caldate_format(cd, day, sizeof day);
        if (json_object_get(seen, day)) {
            app_err_field(&err, path, "%s is given twice", day);
            continue;
        }
        json_object_set_new(seen, day, json_true());
        snprintf(path, sizeof path, "rates[%zu].rate", i);
        double v = json_number_value(rv);
        if (!json_is_number(rv) || !isfinite(v) || v <= 0 || v > FX_MAX_RATE) {
            app_err_field(&err, path, "must be a number above 0 (1 %s = rate units of the workspace currency)", cur);
            continue;
        }
        snprintf(rate, sizeof rate, FX_DECIMALS, v);
        if (atof(rate) <= 0) {
            app_err_field(&err, path, "must be at least 0.00000001 (rates keep 8 decimals)");
            continue;
        }
        json_array_append_new(rows, json_pack("[ss]", day, rate));
    }
    json_decref(seen);
    db_conn *db = err.code == ERR_NONE ? http_db(rq) : NULL;
    if (err.code != ERR_NONE || !db) {
        json_decref(rows);
        if (err.code != ERR_NONE)
            http_reply_error(rq, &err);
        return;
    }
    char *text = json_dumps(rows, JSON_COMPACT);
    json_decref(rows);
    const char *p[] = {rq->auth.workspace_id, cur, text};
    /* one statement: refuse the workspace's own currency, merge, answer */
    PGresult *r =
        db_query(db,
                 "WITH w AS (SELECT currency FROM workspaces WHERE id = $1),"
                 " ins AS (INSERT INTO fx_rates AS f (workspace_id, currency, day, rate)"
                 "  SELECT $1, $2, (x ->> 0)::date, (x ->> 1)::numeric FROM jsonb_array_elements($3::jsonb) x"
                 "  WHERE $2 <> (SELECT currency FROM w)"
                 "  ON CONFLICT (workspace_id, currency, day) DO UPDATE SET rate = EXCLUDED.rate, updated_at = now()"
                 "  RETURNING 1)"
                 " SELECT (SELECT currency FROM w), (SELECT count(*) FROM ins)",
                 3, p, &err);
    free(text);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    bool own = strcmp(PQgetvalue(r, 0, 0), cur) == 0;
    PQclear(r);
    if (own) {
        app_err_field(&err, "currency", "%s is the workspace currency: its rate is 1", cur);
        http_reply_error(rq, &err);
        return;
    }
    const char *q[] = {rq->auth.workspace_id, cur};
    r = db_query(db, "SELECT fx_json($1::uuid, $2)", 2, q, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    http_reply_json_text(rq, 200, PQgetvalue(r, 0, 0));
    PQclear(r);
}

void h_fx_list(http_req *rq)
{
    http_reply_list(rq, false,
                    "SELECT fx_json($1, c.currency), c.currency FROM (SELECT DISTINCT currency FROM fx_rates"
                    " WHERE workspace_id = $1 AND ($2::text IS NULL OR currency > $2)) c"
                    " ORDER BY c.currency LIMIT $3");
}

/* dealsig.c - revenue-intelligence flags of deals from the database (dealsig.h). */
#include "dealsig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revintel.h"

/* "a, b, c" of a JSON array of strings (the first few; the count says the rest). */
static void list_text(const json_t *arr, char *buf, size_t len)
{
    size_t i, n = 0;
    const json_t *x;
    buf[0] = '\0';
    json_array_foreach(arr, i, x)
    {
        if (i == 5) {
            snprintf(buf + n, len - n, " and %zu more", json_array_size(arr) - 5);
            return;
        }
        int w = snprintf(buf + n, len - n, "%s%s", i ? ", " : "", json_string_value(x));
        if (w < 0 || (size_t)w >= len - n)
            return;
        n += (size_t)w;
    }
}

static json_t *evidence(int flag, const revintel_input *in, const json_t *fin, const json_t *moves,
                        const json_t *sessions)
{
    char b[600], l[400];
    switch (flag) {
    case RI_MULTI_THREADED:
    case RI_UNDER_THREADED:
        snprintf(b, sizeof b, "%ld of the deal's %ld contacts engaged in the 90 days before", in->contacts_engaged,
                 in->contacts_on_deal);
        break;
    case RI_FINANCE_CONTACT:
        list_text(fin, l, sizeof l);
        snprintf(b, sizeof b, "finance contacts on the deal: %s", l);
        break;
    case RI_CHAMPION_JOB_CHANGE:
        list_text(moves, l, sizeof l);
        snprintf(b, sizeof b, "champions whose company or account changed in the 90 days before: %s", l);
        break;
    case RI_USAGE_DECLINE:
        snprintf(b, sizeof b,
                 "the account's mean daily active users %.1f over the last 30 days against %.1f the 30 before "
                 "(%+.0f%%)",
                 in->active_recent, in->active_prior, (in->active_recent / in->active_prior - 1) * 100);
        break;
    default:
        list_text(sessions, l, sizeof l);
        snprintf(b, sizeof b, "sessions with a pricing page and a competitor page in the last 30 days: %s", l);
        break;
    }
    return json_string(b);
}

static int cmp_id(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

int dealsig_load(db_conn *db, const char *ws, caldate_t at, const char *const *ids, size_t n, json_t **out,
                 app_err *err)
{
    *out = json_object();
    if (n == 0)
        return 0;
    char ab[16];
    const char *p[] = {ws, caldate_format(at, ab, sizeof ab)};
    PGresult *r = db_query(db,
                           "SELECT deal, contacts_on_deal, contacts_engaged, finance_contacts, champion_moves,"
                           " active_recent, active_prior, comparison_sessions FROM deal_signal_inputs($1, $2::date)",
                           2, p, err);
    if (!r) {
        json_decref(*out);
        *out = NULL;
        return -1;
    }
    /* the deals asked for, sorted here (not by the database's collation):
     * the SQL answers every deal that may be open then. A workspace without
     * contacts, usage or sessions answers no row and pays nothing per deal
     * (a forecast asks for 100,000). */
    const char **want = NULL;
    if (PQntuples(r) > 0) {
        want = malloc(n * sizeof *want);
        if (!want) {
            PQclear(r);
            json_decref(*out);
            *out = NULL;
            app_err_set(err, ERR_INTERNAL, "out of memory");
            return -1;
        }
        memcpy(want, ids, n * sizeof *want);
        qsort(want, n, sizeof *want, cmp_id);
    }
    for (int i = 0; i < PQntuples(r); i++) {
        const char *deal = PQgetvalue(r, i, 0);
        if (!bsearch(&deal, want, n, sizeof *want, cmp_id))
            continue;
        json_t *fin = json_loads(PQgetvalue(r, i, 3), 0, NULL), *moves = json_loads(PQgetvalue(r, i, 4), 0, NULL),
               *sessions = json_loads(PQgetvalue(r, i, 7), 0, NULL);
        revintel_input in = {.contacts_on_deal = atol(PQgetvalue(r, i, 1)),
                             .contacts_engaged = atol(PQgetvalue(r, i, 2)),
                             .finance_contacts = (long)json_array_size(fin),
                             .champion_moves = (long)json_array_size(moves),
                             .has_active = !PQgetisnull(r, i, 5) && !PQgetisnull(r, i, 6),
                             .active_recent = atof(PQgetvalue(r, i, 5)),
                             .active_prior = atof(PQgetvalue(r, i, 6)),
                             .comparison_sessions = (long)json_array_size(sessions)};
        unsigned f = revintel_deal_flags(&in);
        if (f) {
            json_t *sig = json_array();
            for (int k = 0; k < RI__COUNT; k++)
                if (f & (1u << k)) {
                    const revintel_def *d = &revintel_defs[k];
                    json_array_append_new(sig,
                                          json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "code", d->code, "kind", d->kind,
                                                    "signal", d->signal, "predicts", d->predicts, "action", d->action,
                                                    "evidence", evidence(k, &in, fin, moves, sessions)));
                }
            json_object_set_new(*out, PQgetvalue(r, i, 0),
                                json_pack("{s:I, s:I, s:o, s:b}", "contacts_on_deal", (json_int_t)in.contacts_on_deal,
                                          "contacts_engaged", (json_int_t)in.contacts_engaged, "signals", sig, "risk",
                                          revintel_has_risk(f)));
        }
        json_decref(fin);
        json_decref(moves);
        json_decref(sessions);
    }
    PQclear(r);
    free(want);
    return 0;
}

json_t *dealsig_codes(const json_t *entry)
{
    json_t *codes = json_array();
    size_t i;
    const json_t *s;
    json_array_foreach(json_object_get(entry, "signals"), i, s)
        json_array_append_new(codes, json_string(json_string_value(json_object_get(s, "code"))));
    return codes;
}

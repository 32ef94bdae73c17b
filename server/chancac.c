/* chancac.c - new customers attributed to channels (see chancac.h). */
#include "chancac.h"

#include <stdlib.h>
#include <string.h>

#include "leadcheck.h"

chan_cac *chan_customers_of(chan_customers *cc, const char *channel)
{
    for (size_t i = 0; i < cc->n; i++)
        if (strcmp(cc->ch[i].channel, channel) == 0)
            return &cc->ch[i];
    chan_cac *g = realloc(cc->ch, (cc->n + 1) * sizeof *cc->ch);
    if (!g)
        return NULL;
    cc->ch = g;
    char *name = strdup(channel);
    if (!name)
        return NULL;
    g[cc->n] = (chan_cac){.channel = name};
    return &g[cc->n++];
}

/* One new customer's unit over its touches (rows a..b-1 of r: one deal). */
static int attribute_one(PGresult *r, int a, int b, chan_customers *cc)
{
    if (PQgetisnull(r, a, 6)) { /* no touch on its path */
        cc->unattributed++;
        return 0;
    }
    size_t k = (size_t)(b - a);
    int64_t *at = calloc(k, sizeof *at), *parts = calloc(k, sizeof *parts);
    int rc = at && parts ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < k; i++)
        at[i] = atoll(PQgetvalue(r, a + (int)i, 6));
    attrib_path p = {at,
                     k,
                     PQgetisnull(r, a, 2) ? 0 : atoll(PQgetvalue(r, a, 2)),
                     atoll(PQgetvalue(r, a, 3)),
                     PQgetisnull(r, a, 4) ? 0 : atoll(PQgetvalue(r, a, 4)),
                     atoll(PQgetvalue(r, a, 1))};
    if (rc == 0)
        rc = attrib_allocate(cc->adv.use, &p, ATTRIB_CUSTOMER_PARTS, parts);
    for (size_t i = 0; rc == 0 && i < k; i++) {
        const char *ch = PQgetisnull(r, a + (int)i, 7) ? "(none)" : PQgetvalue(r, a + (int)i, 7);
        chan_cac *g = chan_customers_of(cc, ch);
        if (!g)
            rc = -1;
        else
            g->parts += parts[i];
    }
    free(at);
    free(parts);
    return rc;
}

int chan_customers_load(db_conn *db, const char *ws, caldate_t start, caldate_t end, chan_customers *cc, app_err *err)
{
    *cc = (chan_customers){0};
    char types[512], sb[16], eb[16];
    lead_touch_types(types, sizeof types);
    const char *p[] = {ws, caldate_format(start, sb, sizeof sb), caldate_format(end, eb, sizeof eb), types};
    /* the new customers: deals won in the period that are their account's
     * first won deal (a deal without an account is its own customer), with
     * their touches up to the win (attribution_paths, sql/74_leads.sql) */
    PGresult *r = db_query(
        db,
        "WITH nc AS (SELECT x.* FROM attribution_paths($1::uuid, $2::date, $3::date, 'revenue', $4::text[]) x"
        "  JOIN deals d ON d.workspace_id = $1 AND d.external_id = x.deal_id"
        "  WHERE d.account IS NULL OR NOT EXISTS (SELECT 1 FROM deals e WHERE e.workspace_id = $1"
        "   AND e.account = d.account AND e.deleted_at IS NULL AND e.status = 'won'"
        "   AND (e.closed_at < d.closed_at OR (e.closed_at = d.closed_at AND e.external_id < d.external_id))))"
        " SELECT nc.deal_id, nc.end_at, nc.lead_created, nc.opp_created, nc.won_at, nc.linked, t.at, t.ch"
        " FROM nc LEFT JOIN LATERAL unnest(nc.touch_at, nc.touch_channel) WITH ORDINALITY AS t(at, ch, k) ON true"
        " ORDER BY nc.deal_id, t.k",
        4, p, err);
    if (!r)
        return -1;
    char won[32];
    if (db_query_value(db,
                       "SELECT count(*) FROM deals WHERE workspace_id = $1 AND deleted_at IS NULL AND status = 'won'"
                       " AND closed_at >= now() - interval '365 days' AND closed_at <= now()",
                       1, p, won, sizeof won, err) < 0) {
        PQclear(r);
        return -1;
    }
    /* the model: the seed's decision rule, as GET /v1/attribution applies it */
    long linked = 0;
    for (int i = 0; i < PQntuples(r); i++)
        if (i == 0 || strcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i - 1, 0)) != 0) {
            cc->customers++;
            linked += strcmp(PQgetvalue(r, i, 5), "t") == 0;
        }
    cc->adv = attrib_recommend(atol(won), cc->customers > 0 && linked * 2 >= cc->customers);
    int rc = 0;
    for (int a = 0, b; a < PQntuples(r) && rc == 0; a = b) {
        for (b = a + 1; b < PQntuples(r) && strcmp(PQgetvalue(r, b, 0), PQgetvalue(r, a, 0)) == 0; b++)
            ;
        rc = attribute_one(r, a, b, cc);
    }
    PQclear(r);
    if (rc != 0) {
        chan_customers_free(cc);
        app_err_set(err, ERR_INTERNAL, "could not attribute the new customers to channels");
        return -1;
    }
    return 0;
}

void chan_customers_free(chan_customers *cc)
{
    for (size_t i = 0; i < cc->n; i++)
        free(cc->ch[i].channel);
    free(cc->ch);
    cc->ch = NULL;
    cc->n = 0;
}

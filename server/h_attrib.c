/* h_attrib.c - GET /v1/attribution: each deal's amount shared over its
 * marketing touches by one of the seed's models (core/attrib), summed by
 * channel or campaign, exact to the cent; the seed's decision rule says
 * which model the workspace should use. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attrib.h"
#include "caldate.h"
#include "handlers.h"
#include "leadcheck.h"
#include "leadscore.h"
#include "money.h"

#define ATTRIB_MAX_GROUPS 10000

typedef struct {
    char *key; /* NULL: touches without a channel/campaign */
    money_t credit;
    long touches, deals;
    long last_deal; /* the last deal counted, so a deal counts once per group */
} agroup;

typedef struct {
    agroup *g;
    size_t n, cap;
} agroups;

static agroup *group_of(agroups *gs, const char *key)
{
    for (size_t i = 0; i < gs->n; i++)
        if ((!key && !gs->g[i].key) || (key && gs->g[i].key && strcmp(key, gs->g[i].key) == 0))
            return &gs->g[i];
    if (gs->n == gs->cap) {
        size_t cap = gs->cap ? gs->cap * 2 : 16;
        agroup *ng = realloc(gs->g, cap * sizeof *ng);
        if (!ng)
            return NULL;
        gs->g = ng;
        gs->cap = cap;
    }
    agroup *g = &gs->g[gs->n++];
    *g = (agroup){.key = key ? strdup(key) : NULL, .last_deal = -1};
    return g;
}

typedef struct {
    attrib_model model;
    bool by_campaign;
    agroups groups;
    money_t total, unattributed;
    long deals, with_touches, linked;
} attrib_run;

/* The end of the rows of the deal starting at row (attribution_touch_rows:
 * one row per touch, a deal's rows together). */
static int deal_end(PGresult *r, int row, int rows)
{
    int end = row + 1;
    while (end < rows && strcmp(PQgetvalue(r, end, 0), PQgetvalue(r, row, 0)) == 0)
        end++;
    return end;
}

/* The deal of rows [row, end): its shares into the groups. at and cents
 * hold end - row. 0 or -1. */
static int add_deal(attrib_run *ar, PGresult *r, int row, int end, int64_t *at, int64_t *cents)
{
    money_t amount = atoll(PQgetvalue(r, row, 1));
    ar->deals++;
    ar->total += amount;
    ar->linked += strcmp(PQgetvalue(r, row, 6), "t") == 0;
    size_t n = PQgetisnull(r, row, 7) ? 0 : (size_t)(end - row);
    if (n == 0) {
        ar->unattributed += amount;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        at[i] = atoll(PQgetvalue(r, row + (int)i, 7));
    ar->with_touches++;
    attrib_path p = {at,
                     n,
                     PQgetisnull(r, row, 3) ? 0 : atoll(PQgetvalue(r, row, 3)),
                     atoll(PQgetvalue(r, row, 4)),
                     PQgetisnull(r, row, 5) ? 0 : atoll(PQgetvalue(r, row, 5)),
                     atoll(PQgetvalue(r, row, 2))};
    if (attrib_allocate(ar->model, &p, amount, cents) != 0)
        return -1;
    int col = ar->by_campaign ? 9 : 8;
    for (size_t i = 0; i < n; i++) {
        int k = row + (int)i;
        agroup *g = group_of(&ar->groups, PQgetisnull(r, k, col) ? NULL : PQgetvalue(r, k, col));
        if (!g || ar->groups.n > ATTRIB_MAX_GROUPS)
            return -1;
        g->credit += cents[i];
        g->touches++;
        if (g->last_deal != ar->deals) {
            g->deals++;
            g->last_deal = ar->deals;
        }
    }
    return 0;
}

static int by_credit(const void *a, const void *b)
{
    const agroup *x = a, *y = b;
    if (x->credit != y->credit)
        return x->credit < y->credit ? 1 : -1;
    if (!x->key || !y->key)
        return x->key ? -1 : y->key ? 1 : 0;
    return strcmp(x->key, y->key);
}

static json_t *groups_json(attrib_run *ar)
{
    if (ar->groups.n) /* no groups: g may be NULL, which qsort must not get */
        qsort(ar->groups.g, ar->groups.n, sizeof *ar->groups.g, by_credit);
    json_t *out = json_array();
    money_t attributed = ar->total - ar->unattributed;
    for (size_t i = 0; i < ar->groups.n; i++) {
        const agroup *g = &ar->groups.g[i];
        json_array_append_new(
            out, json_pack("{s:o, s:f, s:o, s:I, s:I}", "key", g->key ? json_string(g->key) : json_null(), "credit",
                           money_to_double(g->credit), "share",
                           attributed > 0 ? json_real((double)g->credit / (double)attributed) : json_null(), "touches",
                           (json_int_t)g->touches, "deals", (json_int_t)g->deals));
    }
    return out;
}

/* The seed's decision rule over the workspace: closed-won deals in the last
 * 365 days, and whether most deals of the answer link to their leads. */
static int advice_json(db_conn *db, const char *ws, const attrib_run *ar, json_t **out, app_err *err)
{
    char won[32];
    const char *p[] = {ws};
    if (db_query_value(db,
                       "SELECT count(*) FROM deals WHERE workspace_id = $1 AND deleted_at IS NULL AND status = 'won'"
                       " AND closed_at >= now() - interval '365 days' AND closed_at <= now()",
                       1, p, won, sizeof won, err) < 0)
        return -1;
    bool tracked = ar->deals > 0 && ar->linked * 2 >= ar->deals;
    attrib_advice a = attrib_recommend(atol(won), tracked);
    *out = json_pack("{s:s, s:s, s:s, s:I, s:o}", "model", a.recommended, "use", attrib_model_name(a.use), "reason",
                     a.reason, "closed_won_last_365_days", (json_int_t)atol(won), "deals_linked_to_leads_share",
                     ar->deals ? json_real((double)ar->linked / (double)ar->deals) : json_null());
    return 0;
}

void h_attribution(http_req *rq)
{
    app_err err = {0};
    const char *model = http_query(rq, "model"), *from = http_query(rq, "from"), *to = http_query(rq, "to");
    const char *metric = http_query(rq, "metric"), *group_by = http_query(rq, "group_by");
    caldate_t df = 0, dt = 0;
    if (model && attrib_model_parse(model) < 0)
        app_err_field(&err, "model",
                      "must be one of first_touch, last_touch, linear, u_shaped, w_shaped, full_path, time_decay");
    if (!from || !caldate_parse(from, &df))
        app_err_field(&err, "from", "is required: a date YYYY-MM-DD (the first day)");
    if (!to || !caldate_parse(to, &dt))
        app_err_field(&err, "to", "is required: a date YYYY-MM-DD (the last day, included)");
    else if (from && df > dt)
        app_err_field(&err, "to", "must not be before from");
    if (metric && strcmp(metric, "pipeline") != 0 && strcmp(metric, "revenue") != 0)
        app_err_field(&err, "metric", "must be pipeline or revenue");
    if (group_by && strcmp(group_by, "channel") != 0 && strcmp(group_by, "campaign") != 0)
        app_err_field(&err, "group_by", "must be channel or campaign");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    metric = metric ? metric : "revenue";
    db_conn *db = http_db(rq);
    if (!db)
        return;
    char types[512], end[16];
    lead_touch_types(types, sizeof types);
    caldate_format(dt + 1, end, sizeof end);
    const char *p[] = {rq->auth.workspace_id, from, end, metric, types};
    PGresult *r =
        db_query(db, "SELECT * FROM attribution_touch_rows($1::uuid, $2::date, $3::date, $4, $5::text[])", 5, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    attrib_run ar = {.by_campaign = group_by && strcmp(group_by, "campaign") == 0};
    json_t *advice = NULL;
    /* the model asked for; by default the one the decision rule picks */
    int rows = PQntuples(r);
    ar.model = ATTRIB_U_SHAPED;
    for (int i = 0; i < rows; i = deal_end(r, i, rows)) {
        ar.linked += strcmp(PQgetvalue(r, i, 6), "t") == 0;
        ar.deals++;
    }
    if (advice_json(db, rq->auth.workspace_id, &ar, &advice, &err) != 0) {
        PQclear(r);
        http_reply_error(rq, &err);
        return;
    }
    ar.model = model ? (attrib_model)attrib_model_parse(model)
                     : (attrib_model)attrib_model_parse(json_string_value(json_object_get(advice, "use")));
    ar.linked = ar.deals = 0;
    /* a deal's touches are at most all the rows */
    int64_t *at = malloc((size_t)(rows ? rows : 1) * sizeof *at),
            *cents = malloc((size_t)(rows ? rows : 1) * sizeof *cents);
    bool ok = at && cents;
    for (int i = 0, next; i < rows && ok; i = next) {
        next = deal_end(r, i, rows);
        ok = add_deal(&ar, r, i, next, at, cents) == 0;
    }
    free(at);
    free(cents);
    PQclear(r);
    if (!ok) {
        json_decref(advice);
        http_fail(rq, ERR_INTERNAL, "could not attribute the deals (more than %d groups?)", ATTRIB_MAX_GROUPS);
    } else {
        json_t *body = json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:f, s:I, s:I, s:o, s:o}", "model", attrib_model_name(ar.model),
            "metric", metric, "group_by", ar.by_campaign ? "campaign" : "channel", "from", from, "to", to, "total",
            money_to_double(ar.total), "attributed", money_to_double(ar.total - ar.unattributed), "unattributed",
            money_to_double(ar.unattributed), "deals", (json_int_t)ar.deals, "deals_with_touches",
            (json_int_t)ar.with_touches, "groups", groups_json(&ar), "recommendation", advice);
        http_reply_json(rq, 200, body);
    }
    for (size_t i = 0; i < ar.groups.n; i++)
        free(ar.groups.g[i].key);
    free(ar.groups.g);
}

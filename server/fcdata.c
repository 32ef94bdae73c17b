/* fcdata.c - forecast inputs from the stored deals: funnel, learned history,
 * as-of pipeline. */
#include "fcdata.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "crm.h"
#include "funneldoc.h"

/* The cached history with the funnel its stage indexes refer to. */
typedef struct {
    fchist h;
    char stages[FUNNEL_MAX_STAGES * 72];
} rawhist;

int fcdata_default_funnel(db_conn *db, const char *ws, funnel_def *def, char *id, char *version, app_err *err)
{
    const char *fp[] = {ws};
    PGresult *fr = db_query(db,
                            "SELECT document, id, version FROM funnels WHERE workspace_id = $1 AND is_default"
                            " AND deleted_at IS NULL",
                            1, fp, err);
    if (!fr)
        return -1;
    json_t *doc = PQntuples(fr) ? json_loads(PQgetvalue(fr, 0, 0), 0, NULL) : NULL;
    id[0] = version[0] = '\0';
    if (PQntuples(fr)) {
        snprintf(id, 40, "%s", PQgetvalue(fr, 0, 1));
        snprintf(version, 16, "%s", PQgetvalue(fr, 0, 2));
    }
    PQclear(fr);
    bool ok = doc && funneldoc_to_def(doc, def) == 0;
    json_decref(doc);
    if (!ok) {
        app_err_set(err, ERR_INTERNAL, "the default funnel does not decode");
        return -1;
    }
    return 0;
}

void fcdata_history_free(fcdata_history *b) { fchist_history_free(b); }

int fcdata_load_history(db_conn *db, const char *ws, const funnel_def *def, const char *as_of, fcdata_history *b,
                        app_err *err)
{
    memset(b, 0, sizeof *b);
    caldate_t at;
    if (!caldate_parse(as_of, &at)) {
        app_err_set(err, ERR_INTERNAL, "bad history date");
        return -1;
    }
    const fchist *h;
    fccache_ref *ref;
    if (fcdata_history_raw(db, ws, def, at * 86400.0, &h, &ref, err) != 0)
        return -1;
    int rc = fchist_history_at(h, def, at, b);
    fccache_release(ref);
    if (rc != 0)
        app_err_set(err, ERR_INTERNAL, "out of memory");
    return rc;
}

bool fcdata_estimate_close(forecast_deal *d, const fcdata_history *hist, caldate_t as_of)
{
    d->close_estimated = true;
    d->expected_close = forecast_estimate_close(hist ? &hist->st[d->stage] : NULL, d->stage_entered, as_of);
    if (d->expected_close != FORECAST_NO_DATE)
        return false;
    d->expected_close = INT32_MAX; /* in no period */
    return true;
}

void fcdata_pipeline_free(fcdata_pipeline *p)
{
    fccache_release(p->ref);
    free(p->rows);
    free(p->deals);
    free(p->amount_imputed);
    free(p->close_estimated);
    memset(p, 0, sizeof *p);
}

int fcdata_load_asof(db_conn *db, const char *ws, const funnel_def *def, caldate_t at, const fcdata_history *hist,
                     fcdata_pipeline *out, app_err *err)
{
    memset(out, 0, sizeof *out);
    const fcasof *h;
    if (fcdata_asof_raw(db, ws, at * 86400.0, &h, &out->ref, err) != 0)
        return -1;
    out->rows = calloc(h->ndeals + 1, sizeof *out->rows);
    out->deals = calloc(h->ndeals + 1, sizeof *out->deals);
    out->amount_imputed = calloc(h->ndeals + 1, sizeof *out->amount_imputed);
    out->close_estimated = calloc(h->ndeals + 1, sizeof *out->close_estimated);
    if (!out->rows || !out->deals || !out->amount_imputed || !out->close_estimated) {
        fcdata_pipeline_free(out);
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    out->src = h;
    size_t n = fcasof_at(h, at * 86400.0, out->rows);
    int opp = funnel_stage_index(def, "opportunity");
    for (size_t i = 0; i < n; i++) {
        const fcasof_row *r = &out->rows[i];
        forecast_deal *d = &out->deals[i];
        d->group = -1;
        d->owner = -1;
        d->closed_at = INT32_MIN;
        d->last_activity = FORECAST_NO_DATE;
        if (!r->has_amount) { /* not known then: the average won deal of the history */
            d->amount = hist ? hist->h.avg_won_amount : 0;
            d->amount_imputed = out->amount_imputed[i] = true;
            out->imputed_amounts++;
        } else {
            d->amount = r->amount;
        }
        out->open_amount += d->amount;
        /* a stage outside the funnel, or a closed stage on a deal still open then:
         * opportunity, as POST /v1/forecasts does */
        int st = r->stage ? funnel_stage_index(def, r->stage) : -1;
        if (st < 0 || def->stages[st].won || def->stages[st].lost)
            st = opp >= 0 ? opp : 0;
        d->stage = st;
        d->stage_entered = r->stage_entered;
        d->probability = r->probability;
        int cat = r->category ? forecast_category_parse(r->category) : -1;
        d->category = cat >= 0 ? (forecast_category)cat : def->stages[st].category;
        d->expected_close = r->close;
        if (r->close == FORECAST_NO_DATE) {
            out->close_estimated[i] = true;
            out->estimated_closes++;
            if (fcdata_estimate_close(d, hist, at))
                out->never_closing++;
        }
    }
    out->n = n;
    return 0;
}

int fcdata_won_between(db_conn *db, const char *ws, caldate_t start, caldate_t end, money_t *out, app_err *err)
{
    /* A history read after the window ended knows every close in it. */
    fccache_ref *ref;
    const rawhist *rh = fccache_get(ws, "hist", end * 86400.0, &ref);
    if (rh) {
        *out = fchist_won_between(&rh->h, start, end);
        fccache_release(ref);
        return 0;
    }
    char s[16], e[16], buf[32];
    caldate_format(start, s, sizeof s);
    caldate_format(end, e, sizeof e);
    const char *p[] = {ws, s, e};
    int rc = db_query_value(db,
                            "SELECT COALESCE(sum(fx_convert(workspace_id, " CRM_WS_CURRENCY
                            ", currency, amount_cents, closed_at)), 0)"
                            " FROM deals WHERE workspace_id = $1 AND deleted_at IS NULL"
                            " AND status = 'won' AND closed_at >= ($2::date::timestamp AT TIME ZONE 'UTC')"
                            " AND closed_at < ($3::date::timestamp AT TIME ZONE 'UTC')",
                            3, p, buf, sizeof buf, err);
    if (rc < 0)
        return -1;
    *out = rc > 0 ? strtoll(buf, NULL, 10) : 0;
    return 0;
}

/* ---- the history read once ------------------------------------------------ */

void fcdata_cache_key(char *buf, size_t len, const char *kind, const funnel_def *def)
{
    size_t n = (size_t)snprintf(buf, len, "%s:", kind);
    for (int s = 0; s < def->nstages && n < len; s++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", s ? "," : "", def->stages[s].key);
}

/* Every deal of the workspace, deleted ones too (a deal deleted after T
 * existed at T), with its amount in the workspace currency at the close's
 * rate and, for wins, the last amount recorded more than a day before the
 * close (the realised / expected ratio). The earlier amount is a lookup on
 * the change index for wins only. */
static const char RAW_DEALS_SQL[] =
    "SELECT d.external_id, extract(epoch FROM d.created_at)::float8, extract(epoch FROM d.closed_at)::float8,"
    " extract(epoch FROM d.deleted_at)::float8, d.status,"
    " fx_convert(d.workspace_id, " CRM_WS_CURRENCY ", d.currency, d.amount_cents, d.closed_at),"
    " CASE WHEN d.status = 'won' AND d.closed_at IS NOT NULL THEN (SELECT fx_convert(d.workspace_id, " CRM_WS_CURRENCY
    ",  d.currency, round((c.new_value #>> '{}')::numeric * 100)::bigint, d.closed_at) FROM deal_changes c"
    "  WHERE c.workspace_id = $1 AND c.deal_id = d.external_id AND c.field = 'amount'"
    "  AND c.changed_at < d.closed_at - interval '1 day' AND jsonb_typeof(c.new_value) = 'number'"
    "  ORDER BY c.changed_at DESC, c.id DESC LIMIT 1) END"
    " FROM deals d WHERE d.workspace_id = $1";

/* Every stage entry, grouped by deal, in time order (entries without a time last). */
static const char RAW_ENTRIES_SQL[] = "SELECT deal_id, stage, extract(epoch FROM entered_at)::float8"
                                      " FROM deal_stage_history WHERE workspace_id = $1"
                                      " ORDER BY deal_id, entered_at, id";

static double secs_or_never(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? INFINITY : atof(PQgetvalue(r, row, col));
}

/* Deal index by external id: open addressing over the deal rows. */
static unsigned long hash_str(const char *s)
{
    unsigned long h = 1469598103934665603ul;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ul;
    return h;
}

static void rawhist_free(void *p)
{
    rawhist *rh = p;
    fchist_free(&rh->h);
    free(rh);
}

static int read_raw(db_conn *db, const char *ws, const funnel_def *def, rawhist *rh, app_err *err)
{
    fchist *h = &rh->h;
    const char *p[] = {ws};
    PGresult *dr = db_query(db, RAW_DEALS_SQL, 1, p, err);
    if (!dr)
        return -1;
    size_t n = (size_t)PQntuples(dr), cap = 1;
    while (cap < 2 * n + 2)
        cap <<= 1;
    long *slots = malloc(cap * sizeof *slots);
    h->deals = calloc(n + 1, sizeof *h->deals);
    if (!slots || !h->deals)
        goto oom;
    memset(slots, 0xff, cap * sizeof *slots);
    for (size_t i = 0; i < n; i++) {
        int row = (int)i;
        fchist_deal *d = &h->deals[i];
        d->created = atof(PQgetvalue(dr, row, 1));
        d->closed = secs_or_never(dr, row, 2);
        d->deleted = secs_or_never(dr, row, 3);
        const char *st = PQgetvalue(dr, row, 4);
        d->status = strcmp(st, "won") == 0 ? FCH_WON : strcmp(st, "lost") == 0 ? FCH_LOST : FCH_OPEN;
        if ((d->has_amount = !PQgetisnull(dr, row, 5)))
            d->amount = strtoll(PQgetvalue(dr, row, 5), NULL, 10);
        if ((d->has_before = !PQgetisnull(dr, row, 6)))
            d->before = strtoll(PQgetvalue(dr, row, 6), NULL, 10);
        unsigned long k = hash_str(PQgetvalue(dr, row, 0)) & (cap - 1);
        while (slots[k] >= 0)
            k = (k + 1) & (cap - 1);
        slots[k] = (long)i;
    }
    h->ndeals = n;
    PGresult *er = db_query(db, RAW_ENTRIES_SQL, 1, p, err);
    if (!er) {
        free(slots);
        PQclear(dr);
        return -1;
    }
    size_t ne = (size_t)PQntuples(er);
    h->entries = malloc((ne + 1) * sizeof *h->entries);
    if (!h->entries) {
        PQclear(er);
        goto oom;
    }
    fchist_deal *cur = NULL;
    const char *cur_id = "";
    for (size_t i = 0; i < ne; i++) {
        int row = (int)i;
        const char *id = PQgetvalue(er, row, 0);
        if (!cur || strcmp(id, cur_id) != 0) { /* the next deal's group */
            cur = NULL;
            cur_id = id;
            for (unsigned long k = hash_str(id) & (cap - 1); slots[k] >= 0; k = (k + 1) & (cap - 1))
                if (strcmp(PQgetvalue(dr, (int)slots[k], 0), id) == 0) {
                    cur = &h->deals[slots[k]];
                    cur->first = h->nentries;
                    break;
                }
            if (!cur)
                continue;
        }
        fchist_entry *e = &h->entries[h->nentries++];
        e->stage = funnel_stage_index(def, PQgetvalue(er, row, 1));
        e->entered = secs_or_never(er, row, 2);
        cur->n++;
    }
    PQclear(er);
    free(slots);
    PQclear(dr);
    return 0;
oom:
    free(slots);
    PQclear(dr);
    app_err_set(err, ERR_INTERNAL, "out of memory");
    return -1;
}

int fcdata_history_raw(db_conn *db, const char *ws, const funnel_def *def, double not_before_s, const fchist **h,
                       fccache_ref **ref, app_err *err)
{
    char stages[sizeof((rawhist *)0)->stages];
    fcdata_cache_key(stages, sizeof stages, "stages", def);
    const rawhist *rh = fccache_get(ws, "hist", not_before_s, ref);
    if (rh && strcmp(rh->stages, stages) == 0) {
        *h = &rh->h;
        return 0;
    }
    fccache_release(*ref);
    unsigned long gen = fccache_generation(ws);
    rawhist *nh = calloc(1, sizeof *nh);
    if (!nh) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    snprintf(nh->stages, sizeof nh->stages, "%s", stages);
    if (read_raw(db, ws, def, nh, err) != 0) {
        rawhist_free(nh);
        return -1;
    }
    fccache_put(ws, "hist", gen, nh, sizeof *nh + fchist_bytes(&nh->h), rawhist_free, ref);
    if (!*ref) { /* the cache could not take it (out of memory): it was freed */
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    *h = &nh->h;
    return 0;
}

/* ---- the pipeline history read once (core/fcasof) ---------------------------- */

/* Every deal of the workspace by id (the order rows are listed in), with
 * today's values; the owner's region; the currency when not the workspace's. */
static const char ASOF_DEALS_SQL[] =
    "SELECT d.external_id, extract(epoch FROM d.created_at)::float8, extract(epoch FROM d.closed_at)::float8,"
    " extract(epoch FROM d.deleted_at)::float8, d.amount_cents, d.stage, d.probability::float8, d.forecast_category,"
    " to_char(d.expected_close_date, 'YYYY-MM-DD'), d.owner, d.segment, r.region, d.account, d.name,"
    " extract(epoch FROM d.last_activity_at)::float8, NULLIF(d.currency, w.currency), d.status = 'won'"
    " FROM deals d JOIN workspaces w ON w.id = d.workspace_id"
    " LEFT JOIN reps r ON r.workspace_id = d.workspace_id AND r.external_id = d.owner AND r.deleted_at IS NULL"
    " WHERE d.workspace_id = $1 ORDER BY d.external_id";

/* One field's stored JSON value as text in the form core/fcasof reads: cents,
 * a float8, a date, or the string; NULL for SQL NULL and JSON null. The casts
 * are those the SQL reconstruction (0029's deals_as_of) made: an amount of 12.345 is 1235 cents. */
#define ASOF_VALUE(v)                                                                                                  \
    "CASE c.field WHEN 'amount' THEN round((" v " #>> '{}')::numeric * 100)::bigint::text"                             \
    " WHEN 'probability' THEN ((" v " #>> '{}')::float8)::text"                                                        \
    " WHEN 'expected_close_date' THEN to_char((" v " #>> '{}')::date, 'YYYY-MM-DD') ELSE " v " #>> '{}' END"

/* The changes of the five rebuilt fields, grouped by deal, by (event time,
 * id); push: an applied close-date move past the end of its fiscal quarter
 * (deals.push_count's rule, fiscal_quarter_end). */
static const char ASOF_CHANGES_SQL[] =
    "SELECT c.deal_id, c.field, extract(epoch FROM c.changed_at)::float8, c.applied, c.old_value IS NULL,"
    " " ASOF_VALUE("c.old_value") ", " ASOF_VALUE(
        "c.new_value") ","
                       " c.field = 'expected_close_date' AND c.applied AND jsonb_typeof(c.old_value) = 'string'"
                       "  AND jsonb_typeof(c.new_value) = 'string'"
                       "  AND (c.new_value #>> '{}')::date >= fiscal_quarter_end((c.old_value #>> '{}')::date, "
                       "w.fiscal_year_start_month)"
                       " FROM deal_changes c JOIN workspaces w ON w.id = c.workspace_id"
                       " WHERE c.workspace_id = $1"
                       "  AND c.field IN ('amount', 'stage', 'probability', 'forecast_category', 'expected_close_date')"
                       " ORDER BY c.deal_id, c.changed_at, c.id";

/* Dated stage entries, grouped by deal, by (entered, id). */
static const char ASOF_ENTRIES_SQL[] = "SELECT deal_id, stage, extract(epoch FROM entered_at)::float8"
                                       " FROM deal_stage_history WHERE workspace_id = $1 AND entered_at IS NOT NULL"
                                       " ORDER BY deal_id, entered_at, id";

static const char ASOF_RATES_SQL[] = "SELECT currency, day - DATE '1970-01-01', (rate * 100000000)::bigint"
                                     " FROM fx_rates WHERE workspace_id = $1 ORDER BY currency, day";

/* The cached history: the deal rows' strings point into `deals`; stage and
 * category strings of changes and entries are interned (few distinct ones). */
typedef struct {
    fcasof h;
    PGresult *deals, *rates;
    char **strs; /* interned, open addressing */
    size_t nstrs, capstrs;
} asofhist;

static void asofhist_free(void *p)
{
    asofhist *a = p;
    PQclear(a->deals);
    PQclear(a->rates);
    for (size_t i = 0; i < a->capstrs; i++)
        free(a->strs[i]);
    free(a->strs);
    free(a->h.deals);
    free(a->h.changes);
    free(a->h.entries);
    free(a->h.rates);
    free(a);
}

static const char *intern(asofhist *a, const char *s)
{
    if (a->nstrs * 2 + 2 > a->capstrs) { /* grow: rehash */
        size_t cap = a->capstrs ? a->capstrs * 2 : 64;
        char **ns = calloc(cap, sizeof *ns);
        if (!ns)
            return NULL;
        for (size_t i = 0; i < a->capstrs; i++)
            if (a->strs[i]) {
                size_t k = hash_str(a->strs[i]) & (cap - 1);
                while (ns[k])
                    k = (k + 1) & (cap - 1);
                ns[k] = a->strs[i];
            }
        free(a->strs);
        a->strs = ns;
        a->capstrs = cap;
    }
    size_t k = hash_str(s) & (a->capstrs - 1);
    for (; a->strs[k]; k = (k + 1) & (a->capstrs - 1))
        if (strcmp(a->strs[k], s) == 0)
            return a->strs[k];
    a->nstrs++;
    return a->strs[k] = strdup(s);
}

static const char *col_or_null(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

/* A value as fcasof keeps it; false when out of memory. */
static bool parse_value(asofhist *a, int field, const char *text, fcasof_val *v)
{
    memset(v, 0, sizeof *v);
    if (!text)
        return true;
    v->known = true;
    switch (field) {
    case FCASOF_AMOUNT:
        v->cents = strtoll(text, NULL, 10);
        return true;
    case FCASOF_PROBABILITY:
        v->p = strtod(text, NULL);
        return true;
    case FCASOF_CLOSE:
        v->known = caldate_parse(text, &v->day);
        return true;
    default:
        return (v->s = intern(a, text)) != NULL;
    }
}

static int field_code(const char *f)
{
    static const char *const names[FCASOF_NFIELDS] = {"amount", "stage", "probability", "forecast_category",
                                                      "expected_close_date"};
    for (int i = 0; i < FCASOF_NFIELDS; i++)
        if (strcmp(f, names[i]) == 0)
            return i;
    return -1;
}

/* Deal index by id over the (id-ordered) deal rows: open addressing. */
typedef struct {
    long *slots;
    size_t cap;
    PGresult *r;
} deal_index;

static long deal_find(const deal_index *x, const char *id)
{
    for (unsigned long k = hash_str(id) & (x->cap - 1); x->slots[k] >= 0; k = (k + 1) & (x->cap - 1))
        if (strcmp(PQgetvalue(x->r, (int)x->slots[k], 0), id) == 0)
            return x->slots[k];
    return -1;
}

static bool read_asof_deals(asofhist *a, deal_index *x)
{
    PGresult *r = a->deals;
    size_t n = (size_t)PQntuples(r);
    x->r = r;
    x->cap = 1;
    while (x->cap < 2 * n + 2)
        x->cap <<= 1;
    x->slots = malloc(x->cap * sizeof *x->slots);
    a->h.deals = calloc(n + 1, sizeof *a->h.deals);
    if (!x->slots || !a->h.deals)
        return false;
    memset(x->slots, 0xff, x->cap * sizeof *x->slots);
    for (size_t i = 0; i < n; i++) {
        int row = (int)i;
        fcasof_deal *d = &a->h.deals[i];
        d->id = PQgetvalue(r, row, 0);
        d->created = atof(PQgetvalue(r, row, 1));
        d->closed = secs_or_never(r, row, 2);
        d->deleted = secs_or_never(r, row, 3);
        static const int cols[FCASOF_NFIELDS] = {4, 5, 6, 7, 8};
        for (int f = 0; f < FCASOF_NFIELDS; f++)
            if (!parse_value(a, f, col_or_null(r, row, cols[f]), &d->cur[f]))
                return false;
        d->owner = col_or_null(r, row, 9);
        d->segment = col_or_null(r, row, 10);
        d->region = col_or_null(r, row, 11);
        d->account = col_or_null(r, row, 12);
        d->name = col_or_null(r, row, 13);
        d->last_activity = secs_or_never(r, row, 14);
        d->currency = col_or_null(r, row, 15);
        d->won = PQgetvalue(r, row, 16)[0] == 't';
        unsigned long k = hash_str(d->id) & (x->cap - 1);
        while (x->slots[k] >= 0)
            k = (k + 1) & (x->cap - 1);
        x->slots[k] = (long)i;
    }
    a->h.ndeals = n;
    return true;
}

/* Rows grouped by deal id (a deal's rows are consecutive): the deal of the
 * current row, NULL when unknown; g->started on a group's first row. */
typedef struct {
    const char *id;
    fcasof_deal *deal;
    bool started;
} deal_group;

static fcasof_deal *group_deal(asofhist *a, const deal_index *x, const char *id, deal_group *g)
{
    g->started = !g->id || strcmp(id, g->id) != 0;
    if (g->started) {
        g->id = id;
        long k = deal_find(x, id);
        g->deal = k >= 0 ? &a->h.deals[k] : NULL;
    }
    return g->deal;
}

static bool read_asof_changes(asofhist *a, const deal_index *x, PGresult *r)
{
    size_t n = (size_t)PQntuples(r);
    a->h.changes = malloc((n + 1) * sizeof *a->h.changes);
    if (!a->h.changes)
        return false;
    deal_group g = {0};
    for (size_t i = 0; i < n; i++) {
        int row = (int)i;
        fcasof_deal *cur = group_deal(a, x, PQgetvalue(r, row, 0), &g);
        if (cur && g.started)
            cur->first_change = a->h.nchanges;
        int f = field_code(PQgetvalue(r, row, 1));
        if (!cur || f < 0)
            continue;
        fcasof_change *c = &a->h.changes[a->h.nchanges++];
        c->field = (unsigned char)f;
        c->at = atof(PQgetvalue(r, row, 2));
        c->applied = PQgetvalue(r, row, 3)[0] == 't';
        c->created = PQgetvalue(r, row, 4)[0] == 't';
        c->push = PQgetvalue(r, row, 7)[0] == 't';
        if (!parse_value(a, f, col_or_null(r, row, 5), &c->old_v) ||
            !parse_value(a, f, col_or_null(r, row, 6), &c->new_v))
            return false;
        cur->nchanges++;
    }
    return true;
}

static bool read_asof_entries(asofhist *a, const deal_index *x, PGresult *r)
{
    size_t n = (size_t)PQntuples(r);
    a->h.entries = malloc((n + 1) * sizeof *a->h.entries);
    if (!a->h.entries)
        return false;
    deal_group g = {0};
    for (size_t i = 0; i < n; i++) {
        int row = (int)i;
        fcasof_deal *cur = group_deal(a, x, PQgetvalue(r, row, 0), &g);
        if (cur && g.started)
            cur->first_entry = a->h.nentries;
        if (!cur)
            continue;
        fcasof_entry *e = &a->h.entries[a->h.nentries++];
        if (!(e->stage = intern(a, PQgetvalue(r, row, 1))))
            return false;
        e->entered = atof(PQgetvalue(r, row, 2));
        cur->nentries++;
    }
    return true;
}

static bool read_asof_rates(asofhist *a)
{
    PGresult *r = a->rates;
    size_t n = (size_t)PQntuples(r);
    a->h.rates = calloc(n + 1, sizeof *a->h.rates);
    if (!a->h.rates)
        return false;
    for (size_t i = 0; i < n; i++) {
        fcasof_rate *x = &a->h.rates[i];
        x->currency = PQgetvalue(r, (int)i, 0);
        x->day = (caldate_t)atol(PQgetvalue(r, (int)i, 1));
        x->rate_e8 = strtoll(PQgetvalue(r, (int)i, 2), NULL, 10);
    }
    a->h.nrates = n;
    return true;
}

/* Four statements: deals, changes, entries, rates. -1 with err set. */
static int read_asof(db_conn *db, const char *ws, asofhist *a, app_err *err)
{
    const char *p[] = {ws};
    deal_index x = {0};
    PGresult *c = NULL, *e = NULL;
    bool ok = (a->deals = db_query(db, ASOF_DEALS_SQL, 1, p, err)) && (c = db_query(db, ASOF_CHANGES_SQL, 1, p, err)) &&
              (e = db_query(db, ASOF_ENTRIES_SQL, 1, p, err)) && (a->rates = db_query(db, ASOF_RATES_SQL, 1, p, err));
    if (!ok) {
        PQclear(c);
        PQclear(e);
        return -1;
    }
    ok = read_asof_deals(a, &x) && read_asof_changes(a, &x, c) && read_asof_entries(a, &x, e) && read_asof_rates(a);
    free(x.slots);
    PQclear(c);
    PQclear(e);
    if (!ok) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    return 0;
}

static size_t asofhist_bytes(const asofhist *a)
{
    const fcasof *h = &a->h;
    size_t b = sizeof *a + h->ndeals * sizeof *h->deals + h->nchanges * sizeof *h->changes +
               h->nentries * sizeof *h->entries + h->nrates * sizeof *h->rates + a->capstrs * sizeof *a->strs;
    /* the deal rows' text, roughly: libpq keeps each value with its length */
    for (int col = 0; col < PQnfields(a->deals); col++)
        for (int row = 0; row < PQntuples(a->deals); row++)
            b += (size_t)PQgetlength(a->deals, row, col) + 8;
    return b;
}

int fcdata_asof_raw(db_conn *db, const char *ws, double not_before_s, const fcasof **h, fccache_ref **ref, app_err *err)
{
    const asofhist *cached = fccache_get(ws, "asof", not_before_s, ref);
    if (cached) {
        *h = &cached->h;
        return 0;
    }
    unsigned long gen = fccache_generation(ws);
    asofhist *a = calloc(1, sizeof *a);
    if (!a) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    if (read_asof(db, ws, a, err) != 0) {
        asofhist_free(a);
        return -1;
    }
    fccache_put(ws, "asof", gen, a, asofhist_bytes(a), asofhist_free, ref);
    if (!*ref) { /* the cache could not take it (out of memory): it was freed */
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    *h = &a->h;
    return 0;
}

/* ---- the learned method ------------------------------------------------------ */

static void model_free(void *p) { free(p); }

int fcdata_load_learned(db_conn *db, const char *ws, const funnel_def *def, int fsm, caldate_t at, fclearn_model *m,
                        app_err *err)
{
    char key[FUNNEL_MAX_STAGES * 72];
    fcdata_cache_key(key, sizeof key, "model", def);
    size_t kl = strlen(key);
    snprintf(key + kl, sizeof key - kl, ":%d:%ld", fsm, (long)at);
    fccache_ref *ref;
    const fclearn_model *cached = fccache_get(ws, key, at * 86400.0, &ref);
    if (cached) {
        *m = *cached;
        fccache_release(ref);
        return 0;
    }
    unsigned long gen = fccache_generation(ws);
    const fchist *h;
    if (fcdata_history_raw(db, ws, def, at * 86400.0, &h, &ref, err) != 0)
        return -1;
    fclearn_episode *ep = malloc((h->nentries + 1) * sizeof *ep);
    if (!ep) {
        fccache_release(ref);
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    fclearn_input in;
    fchist_learn_input(h, def, fsm, at, ep, &in);
    int rc = fclearn_fit(&in, m);
    free(ep);
    fccache_release(ref);
    if (rc != 0) {
        app_err_set(err, ERR_INTERNAL, "the learned model could not be fitted");
        return rc;
    }
    fclearn_model *copy = malloc(sizeof *copy);
    if (copy) {
        *copy = *m;
        fccache_put(ws, key, gen, copy, sizeof *copy, model_free, NULL);
    }
    return 0;
}

static void kernel_free(void *p)
{
    fclearn_kernel_free(p);
    free(p);
}

const fclearn_kernel *fcdata_learned_kernel(const char *ws, const funnel_def *def, int fsm, const fclearn_model *m,
                                            caldate_t at, caldate_t start, caldate_t end, fccache_ref **ref)
{
    *ref = NULL;
    caldate_t count_from = start > at ? start : at;
    if (!m->usable || count_from >= end)
        return NULL;
    char key[FUNNEL_MAX_STAGES * 72];
    fcdata_cache_key(key, sizeof key, "kernel", def);
    size_t kl = strlen(key);
    snprintf(key + kl, sizeof key - kl, ":%d:%ld:%ld:%ld:%d", fsm, (long)at, (long)count_from, (long)end,
             FORECAST_LEARNED_DRAWS);
    const fclearn_kernel *k = fccache_get(ws, key, at * 86400.0, ref);
    if (k)
        return k;
    unsigned long gen = fccache_generation(ws);
    fclearn_kernel *nk = malloc(sizeof *nk);
    if (!nk ||
        fclearn_kernel_compute(m, at, count_from, end, FORECAST_LEARNED_DRAWS, forecast_learned_seed(at), nk) != 0) {
        free(nk);
        return NULL;
    }
    fccache_put(ws, key, gen, nk, fclearn_kernel_bytes(nk), kernel_free, ref);
    return *ref ? nk : NULL;
}

json_t *fcdata_learned_json(const fclearn_model *m, const funnel_def *def)
{
    static const char *const bucket_names[FCLEARN_NBUCKETS] = {"0-6",   "7-13",   "14-29",   "30-59",
                                                               "60-89", "90-179", "180-364", "365+"};
    if (!m->usable && m->episodes == 0)
        return json_pack("{s:b, s:I, s:I}", "usable", 0, "closed_deals", (json_int_t)m->closed_deals, "won_deals",
                         (json_int_t)m->won_deals);
    json_t *stages = json_array();
    for (int s = 0; s < m->nstages; s++) {
        if (!m->open[s])
            continue;
        if (m->entry[s] == 0 && m->events[0] + m->events[1] + m->events[2] > 0 &&
            m->shape[0][s][0] == m->shape[0][s][1] && m->rate[0][s][0] == m->rate[0][s][1])
            continue; /* a stage no deal was seen in */
        json_t *buckets = json_array();
        for (int b = 0; b < FCLEARN_NCELLS; b++) {
            json_t *o = json_pack("{s:s, s:b}", "age_days", bucket_names[b % FCLEARN_NBUCKETS], "slipped",
                                  b >= FCLEARN_NBUCKETS);
            static const char *const kinds[3] = {"won_per_day", "lost_per_day", "moved_per_day"};
            for (int k = 0; k < 3; k++)
                json_object_set_new(
                    o, kinds[k],
                    json_real(m->rate[k][s][b] > 0 ? round(m->shape[k][s][b] / m->rate[k][s][b] * 1e6) / 1e6 : 0));
            json_array_append_new(buckets, o);
        }
        json_array_append_new(stages, json_pack("{s:s, s:o, s:o}", "stage", def->stages[s].key, "entry_share",
                                                json_real(round(m->entry[s] * 1e4) / 1e4), "rates", buckets));
    }
    char from[16];
    caldate_format(m->observed_from, from, sizeof from);
    return json_pack(
        "{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:s, s:o, s:[f, f, f], s:[f, f, f], s:{s:o, s:o, s:o}, "
        "s:{s:o, s:o, s:I}}",
        "usable", m->usable, "closed_deals", (json_int_t)m->closed_deals, "won_deals", (json_int_t)m->won_deals,
        "episodes", (json_int_t)m->episodes, "wins", (json_int_t)m->events[0], "losses", (json_int_t)m->events[1],
        "moves", (json_int_t)m->events[2], "exposure_deal_days", json_real(round(m->exposure_days)), "observed_from",
        from, "stages", stages, "season_won", round(m->season[0][0] * 1e4) / 1e4, round(m->season[0][1] * 1e4) / 1e4,
        round(m->season[0][2] * 1e4) / 1e4, "season_lost", round(m->season[1][0] * 1e4) / 1e4,
        round(m->season[1][1] * 1e4) / 1e4, round(m->season[1][2] * 1e4) / 1e4, "creation", "per_day",
        json_real(round(m->create_per_day * 1e4) / 1e4), "trend_per_quarter",
        json_real(round(pow(m->create_trend, 91) * 1e4) / 1e4), "rate_shape",
        json_real(round(m->create_shape * 100) / 100), "amounts", "won_mean", json_real(round(m->won_mean) / 100),
        "realised_ratio", json_real(round(m->amount_ratio * 1e4) / 1e4), "ratio_deals", (json_int_t)m->nratio);
}

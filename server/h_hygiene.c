/* h_hygiene.c - GET /v1/hygiene (the seed's data hygiene rules measured on
 * the workspace) and GET /v1/hygiene/{rule} (one rule's offending records,
 * paged), and GET /v1/pipeline/self-review (those rules' verdicts on an AE's
 * open deals). Counting is sql/70_audit.sql's; the duplicate rule, thresholds
 * and statuses are core/hygiene.c's. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "handlers.h"
#include "hygiene.h"

/* Where each rule's records come from (sql/70_audit.sql) and which counts of
 * hygiene_counts() are its offending records and its population. */
typedef struct {
    hygiene_rule_id id;
    const char *offenders_sql; /* $1 ws, $2 at, $3 stale days, $6 duplicate matches: rows (k, item) */
    const char *offending, *population, *by_field;
    const char *population_name; /* what the population counts */
} rule_source;

static const rule_source SOURCES[] = {
    {HYG_DUPLICATE_ACCOUNTS, "SELECT k, item FROM hygiene_duplicate_accounts($1, $6)", "duplicate_accounts", "accounts",
     NULL, "accounts"},
    {HYG_OPEN_DEAL_FIELDS, "SELECT k, item FROM hygiene_open_deal_fields($1, $2, $3)", "open_deal_fields", "open_deals",
     "missing_by_field", "open deals"},
    {HYG_STALE_OPPORTUNITIES, "SELECT k, item FROM hygiene_stale_opportunities($1, $2, $3)", "stale_opportunities",
     "open_deals", NULL, "open deals"},
    {HYG_CONTACT_BOUNCE, "SELECT k, item FROM hygiene_contact_bounce($1, $2)", "contact_bounce", "contacts_emailed",
     NULL, "contacts emailed in the last 30 days"},
    {HYG_LEAD_ACCOUNT_MATCH, "SELECT k, item FROM hygiene_lead_account_match($1)", "lead_account_match", "leads", NULL,
     "leads"},
    {HYG_CLOSED_LOST_REASON, "SELECT k, item FROM hygiene_closed_lost_reason($1, $2, $3)", "closed_lost_reason",
     "lost_deals", NULL, "closed-lost deals"},
    {HYG_UNKNOWN_REFERENCES, "SELECT k, item FROM hygiene_unknown_references($1, $2, $3)", "unknown_references",
     "deals", "unknown_by_field", "deals"},
};
#define NSOURCES (sizeof SOURCES / sizeof SOURCES[0])

static const rule_source *source_of(const char *id)
{
    const hygiene_rule *r = hygiene_rule_find(id);
    for (size_t i = 0; r && i < NSOURCES; i++)
        if (hygiene_rule_get(SOURCES[i].id) == r)
            return &SOURCES[i];
    return NULL;
}

static const char *comparison_name(hygiene_kind k)
{
    switch (k) {
    case HYG_BELOW:
        return "below";
    case HYG_AT_LEAST:
        return "at_least";
    case HYG_FLAG:
        return "flag";
    case HYG_NONE:
        break;
    }
    return "none";
}

static void format_at(time_t at, char *buf, size_t len)
{
    struct tm tm;
    gmtime_r(&at, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One rule's document from the counts (NULL counts: not measured). */
static json_t *rule_doc(const rule_source *s, const json_t *counts)
{
    const hygiene_rule *r = hygiene_rule_get(s->id);
    char url[80];
    snprintf(url, sizeof url, "/v1/hygiene/%s", r->id);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", r->id, "name", r->name, "frequency",
                          r->frequency, "owner", r->owner, "threshold", r->threshold, "comparison",
                          comparison_name(r->kind), "population_of", s->population_name, "records", url);
    json_object_set_new(o, "threshold_value",
                        r->kind == HYG_BELOW || r->kind == HYG_AT_LEAST ? json_real(r->threshold_bp / 10000.0)
                                                                        : json_integer(0));
    long long bad = json_integer_value(json_object_get(counts, s->offending));
    long long pop = json_integer_value(json_object_get(counts, s->population));
    hygiene_result res = hygiene_eval(r, bad, pop);
    json_object_set_new(o, "value", res.has_value ? json_real(res.value) : json_null());
    json_object_set_new(o, "status", json_string(hygiene_status_name(res.status)));
    json_object_set_new(o, "offending", json_integer(bad));
    json_object_set_new(o, "population", json_integer(pop));
    char why[120] = "";
    if (!res.has_value)
        snprintf(why, sizeof why, "no %s in the workspace", s->population_name);
    json_object_set_new(o, "reason", why[0] ? json_string(why) : json_null());
    if (s->by_field)
        json_object_set(o, "by_field", json_object_get(counts, s->by_field));
    return o;
}

/* The duplicate rule's run on the accounts' normalised keys. */
typedef struct {
    size_t n;
    const char **names, **domains;
    hygiene_dup *dup;
    int rc;
} dup_run;

static void *dup_run_main(void *arg)
{
    dup_run *d = arg;
    d->rc = hygiene_duplicates(d->names, d->domains, d->n, d->dup);
    return NULL;
}

/* The name and domain keys of hygiene_account_keys' rows (k, name, domain
 * as written) in one block, each key no longer than what it normalises;
 * domains[i] NULL for none. The block, or NULL when out of memory. */
static char *account_keys(PGresult *rows, dup_run *d)
{
    size_t bytes = 1;
    for (size_t i = 0; i < d->n; i++)
        bytes += (size_t)PQgetlength(rows, (int)i, 1) + (size_t)PQgetlength(rows, (int)i, 2) + 2;
    char *block = malloc(bytes), *o = block;
    if (!block)
        return NULL;
    for (size_t i = 0; i < d->n; i++) {
        hygiene_name_key(PQgetvalue(rows, (int)i, 1), o);
        d->names[i] = o;
        o += strlen(o) + 1;
        d->domains[i] = NULL;
        if (!PQgetisnull(rows, (int)i, 2) && hygiene_domain_key(PQgetvalue(rows, (int)i, 2), o)) {
            d->domains[i] = o;
            o += strlen(o) + 1;
        }
    }
    return block;
}

/* Every rule's counts (hygiene_counts) and the duplicate rule's matches as
 * hygiene_duplicate_accounts takes them ([{"id", "first", "why", "sim",
 * "domain"}]). The duplicate rule runs in C (core/hygiene.c; PostgreSQL's
 * trigram index took ~3 ms a probe, minutes for 100,000 accounts), on its own
 * thread while the database counts the other rules: on 100,000 accounts and
 * a million deals the two take about as long. 0, or -1 with err. */
static int hygiene_facts(db_conn *db, const char *ws, const char *ats, json_t **counts, char **dups, app_err *err)
{
    char days[16];
    snprintf(days, sizeof days, "%d", HYGIENE_STALE_DAYS);
    const char *p[] = {ws, ats, days};
    PGresult *keys = db_query(db, "SELECT k, name, domain FROM hygiene_account_keys($1)", 1, p, err);
    if (!keys)
        return -1;
    dup_run d = {.n = (size_t)PQntuples(keys), .rc = -1};
    d.names = malloc((d.n ? d.n : 1) * sizeof *d.names);
    d.domains = malloc((d.n ? d.n : 1) * sizeof *d.domains);
    d.dup = malloc((d.n ? d.n : 1) * sizeof *d.dup);
    char *block = d.names && d.domains && d.dup ? account_keys(keys, &d) : NULL;
    *counts = NULL;
    *dups = NULL;
    PGresult *r = NULL;
    if (block) {
        pthread_t t;
        bool threaded = pthread_create(&t, NULL, dup_run_main, &d) == 0;
        r = db_query(db, "SELECT counts::text FROM hygiene_counts($1, $2, $3)", 3, p, err);
        if (threaded)
            pthread_join(t, NULL);
        else
            dup_run_main(&d);
    } else {
        app_err_set(err, ERR_INTERNAL, "out of memory comparing account names");
    }
    if (r && d.rc == 0) {
        json_t *matches = json_array();
        for (size_t i = 0; i < d.n; i++)
            if (d.dup[i].why != HYG_MATCH_NONE)
                json_array_append_new(
                    matches,
                    json_pack("{s:s, s:s, s:s, s:o, s:o}", "id", PQgetvalue(keys, (int)i, 0), "first",
                              PQgetvalue(keys, (int)d.dup[i].first, 0), "why", hygiene_match_name(d.dup[i].why), "sim",
                              d.dup[i].why == HYG_MATCH_DOMAIN ? json_null() : json_real(d.dup[i].sim), "domain",
                              d.domains[i] ? json_string(d.domains[i]) : json_null()));
        *counts = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
        *dups = json_dumps(matches, JSON_COMPACT);
        if (*counts)
            json_object_set_new(*counts, "duplicate_accounts", json_integer((json_int_t)json_array_size(matches)));
        json_decref(matches);
        if (!*counts || !*dups) {
            json_decref(*counts);
            free(*dups);
            *counts = NULL;
            *dups = NULL;
        }
    }
    if (r && !*dups)
        app_err_set(err, ERR_INTERNAL, "out of memory comparing account names");
    PQclear(r);
    PQclear(keys);
    free(block);
    free(d.names);
    free(d.domains);
    free(d.dup);
    return *dups ? 0 : -1;
}

/* A page of a rule's records after cursor (NULL: the first). Every source
 * takes $1..$3 and $6; the casts type the ones a source leaves unused. */
static PGresult *offenders(db_conn *db, const rule_source *s, const char *ws, const char *at, const char *dups,
                           const char *cursor, long limit, app_err *err)
{
    char sql[512], days[16], lim[24];
    snprintf(sql, sizeof sql,
             "SELECT item::text, k FROM (%s) o WHERE ($4::text IS NULL OR k > $4) AND $2::timestamptz IS NOT NULL"
             " AND $3::int IS NOT NULL AND $6::jsonb IS NOT NULL ORDER BY k LIMIT $5::int",
             s->offenders_sql);
    snprintf(days, sizeof days, "%d", HYGIENE_STALE_DAYS);
    snprintf(lim, sizeof lim, "%ld", limit);
    const char *p[] = {ws, at, days, cursor, lim, dups};
    return db_query(db, sql, 6, p, err);
}

static json_t *items_of(PGresult *r, long limit)
{
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(r) && i < limit; i++)
        json_array_append_new(items, json_loads(PQgetvalue(r, i, 0), 0, NULL));
    return items;
}

/* hygiene_summary on the facts found already. */
static int summary_of(db_conn *db, const char *workspace_id, const char *ats, json_t *counts, const char *dups,
                      bool sample, json_t **out, app_err *err)
{
    json_t *rules = json_array();
    int ngreen = 0, nred = 0, nyellow = 0, nmeasured = 0;
    for (size_t i = 0; i < NSOURCES; i++) {
        json_t *o = rule_doc(&SOURCES[i], counts);
        const char *st = json_string_value(json_object_get(o, "status"));
        ngreen += strcmp(st, "green") == 0;
        nyellow += strcmp(st, "yellow") == 0;
        nred += strcmp(st, "red") == 0;
        nmeasured += strcmp(st, "unknown") != 0;
        if (sample) {
            PGresult *s = offenders(db, &SOURCES[i], workspace_id, ats, dups, NULL, HYGIENE_SAMPLE, err);
            if (!s) {
                json_decref(o);
                json_decref(rules);
                return -1;
            }
            json_object_set_new(o, "sample", items_of(s, HYGIENE_SAMPLE));
            PQclear(s);
        }
        json_array_append_new(rules, o);
    }
    *out = json_pack("{s:s, s:i, s:o, s:{s:i, s:i, s:i, s:i, s:i}}", "as_of", ats, "stale_after_days",
                     HYGIENE_STALE_DAYS, "rules", rules, "summary", "rules", (int)NSOURCES, "measured", nmeasured,
                     "green", ngreen, "yellow", nyellow, "red", nred);
    return 0;
}

int hygiene_summary(db_conn *db, const char *workspace_id, time_t at, bool sample, json_t **out, app_err *err)
{
    char ats[32];
    format_at(at, ats, sizeof ats);
    json_t *counts;
    char *dups;
    if (hygiene_facts(db, workspace_id, ats, &counts, &dups, err) != 0)
        return -1;
    int rc = summary_of(db, workspace_id, ats, counts, dups, sample, out, err);
    json_decref(counts);
    free(dups);
    return rc;
}

void h_hygiene(http_req *rq)
{
    db_conn *db = http_db(rq);
    if (!db)
        return;
    json_t *doc = NULL;
    app_err err = {0};
    if (hygiene_summary(db, rq->auth.workspace_id, time(NULL), true, &doc, &err) != 0)
        http_reply_error(rq, &err);
    else
        http_reply_json(rq, 200, doc);
}

void h_hygiene_rule(http_req *rq)
{
    const rule_source *s = source_of(rq->params[0]);
    if (!s) {
        http_fail(rq, ERR_NOT_FOUND,
                  "No hygiene rule '%.64s': duplicate_accounts, open_deal_required_fields, stale_opportunities, "
                  "contact_bounce_rate, lead_to_account_match, closed_lost_reason or unknown_references",
                  rq->params[0]);
        return;
    }
    long limit;
    const char *cursor;
    if (!http_page_params(rq, false, &limit, &cursor))
        return;
    db_conn *db = http_db(rq);
    if (!db)
        return;
    app_err err = {0};
    json_t *all = NULL;
    char ats[32];
    format_at(time(NULL), ats, sizeof ats);
    /* the rule's own counts, then the page of its records */
    json_t *counts;
    char *dups;
    if (hygiene_facts(db, rq->auth.workspace_id, ats, &counts, &dups, &err) != 0) {
        http_reply_error(rq, &err);
        return;
    }
    int rc = summary_of(db, rq->auth.workspace_id, ats, counts, dups, false, &all, &err);
    json_decref(counts);
    if (rc != 0) {
        free(dups);
        http_reply_error(rq, &err);
        return;
    }
    json_t *doc = NULL;
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(all, "rules"), i, o) if (strcmp(json_string_value(json_object_get(o, "id")),
                                                                       rq->params[0]) == 0) doc = json_incref(o);
    json_object_set(doc, "as_of", json_object_get(all, "as_of"));
    json_decref(all);
    PGresult *r = offenders(db, s, rq->auth.workspace_id, ats, dups, cursor, limit + 1, &err);
    if (!r) {
        free(dups);
        json_decref(doc);
        http_reply_error(rq, &err);
        return;
    }
    json_t *items = items_of(r, limit), *next = json_null();
    if (PQntuples(r) > limit)
        next = json_string(PQgetvalue(r, (int)limit - 1, 1));
    PQclear(r);
    free(dups);
    json_object_set_new(doc, "items", items);
    json_object_set_new(doc, "next_cursor", next);
    http_reply_json(rq, 200, doc);
}

/* GET /v1/pipeline/self-review?owner=: the AE's daily list (seed 001's
 * review cadence: next steps on active deals, stale deal cleanup), the deal
 * rules' verdicts on the owner's open deals, the longest untouched first,
 * paged by the list's own order. */
void h_pipeline_self_review(http_req *rq)
{
    long limit;
    const char *cursor, *owner = http_query(rq, "owner");
    if (!http_page_params(rq, false, &limit, &cursor))
        return;
    app_err err = {0};
    if (owner && (!*owner || strlen(owner) > 200))
        app_err_field(&err, "owner", "must be 1 to 200 characters");
    /* the cursor is a list position this route made: 20 digits, ':', an id */
    if (cursor && (strlen(cursor) < 22 || strspn(cursor, "0123456789") != 20 || cursor[20] != ':'))
        app_err_field(&err, "cursor", "is not a cursor of this list (next_cursor of the page before)");
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db = http_db(rq);
    if (!db)
        return;
    char ats[32], days[16], lim[24];
    format_at(time(NULL), ats, sizeof ats);
    snprintf(days, sizeof days, "%d", HYGIENE_STALE_DAYS);
    snprintf(lim, sizeof lim, "%ld", limit + 1);
    const char *p[] = {rq->auth.workspace_id, ats, days, owner, cursor, lim};
    /* the summary first (ord 0, whatever the cursor), then the page */
    PGresult *r = db_query(db,
                           "WITH r AS MATERIALIZED (SELECT * FROM pipeline_self_review($1, $2, $3, $4))"
                           " SELECT * FROM (SELECT 0 AS ord, NULL AS k, (SELECT summary::text FROM r LIMIT 1) AS doc"
                           " UNION ALL (SELECT 1, k, item::text FROM r WHERE k IS NOT NULL"
                           " AND ($5::text IS NULL OR k > $5) ORDER BY k LIMIT $6::int)) x ORDER BY ord, k",
                           6, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    json_t *deals = json_array(), *next = json_null();
    int n = PQntuples(r) - 1;
    for (int i = 1; i <= n && i <= limit; i++)
        json_array_append_new(deals, json_loads(PQgetvalue(r, i, 2), 0, NULL));
    if (n > limit)
        next = json_string(PQgetvalue(r, (int)limit, 1));
    json_t *doc = json_pack("{s:s, s:s?, s:i, s:o, s:o, s:o}", "as_of", ats, "owner", owner, "stale_after_days",
                            HYGIENE_STALE_DAYS, "summary", json_loads(PQgetvalue(r, 0, 2), 0, NULL), "deals", deals,
                            "next_cursor", next);
    PQclear(r);
    http_reply_json(rq, 200, doc);
}

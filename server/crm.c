/* crm.c - CRM object field tables, validation into canonical patches, and
 * the one writer (SQL deal_apply / entity_upsert) behind every way in. */
#include "crm.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caldate.h"
#include "money.h"

static const char *const status_values[] = {"open", "won", "lost", NULL};
static const char *const forecast_values[] = {"pipeline", "best_case", "commit", "closed", "omitted", NULL};
static const char *const role_values[] = {"ae", "sdr", "csm", "manager", NULL};
static const char *const tier_values[] = {"A", "B", "C", "D", NULL};

#define TXT(n, req, len)                                                                                               \
    {                                                                                                                  \
        n, n, CRM_TEXT, req, NULL, len                                                                                 \
    }

static const crm_field deal_fields[] = {
    TXT("name", true, 500),
    {"amount", "amount_cents", CRM_MONEY, false, NULL, 0},
    {"currency", "currency", CRM_CURRENCY, false, NULL, 0},
    {"stage", "stage", CRM_STAGE, true, NULL, 0},
    {"status", "status", CRM_ENUM, false, status_values, 0},
    {"forecast_category", "forecast_category", CRM_ENUM, false, forecast_values, 0},
    {"probability", "probability", CRM_PROB, false, NULL, 0},
    {"expected_close_date", "expected_close_date", CRM_DATE, false, NULL, 0},
    {"created_at", "created_at", CRM_TS, false, NULL, 0},
    {"closed_at", "closed_at", CRM_TS, false, NULL, 0},
    TXT("owner", false, 200),
    TXT("account", false, 200),
    TXT("segment", false, 200),
    TXT("source", false, 200),
    TXT("lost_reason", false, 1000),
    {"last_activity_at", "last_activity_at", CRM_TS, false, NULL, 0},
    TXT("pipeline", false, 200),
    {"custom", "custom", CRM_OBJECT, false, NULL, 0},
    {NULL, NULL, CRM_TEXT, false, NULL, 0},
};

static const crm_field account_fields[] = {
    TXT("name", true, 500),
    TXT("industry", false, 200),
    {"employees", "employees", CRM_INT, false, NULL, 100000000},
    {"annual_revenue", "annual_revenue_cents", CRM_MONEY, false, NULL, 0},
    TXT("region", false, 200),
    TXT("country", false, 200),
    TXT("segment", false, 200),
    {"icp_tier", "icp_tier", CRM_ENUM, false, tier_values, 0},
    {"potential", "potential_cents", CRM_MONEY, false, NULL, 0},
    TXT("owner", false, 200),
    TXT("territory", false, 200),
    TXT("parent", false, 200),
    {"year_established", "year_established", CRM_INT, false, NULL, 3000},
    {"last_price_increase", "last_price_increase", CRM_DATE, false, NULL, 0},
    {"custom", "custom", CRM_OBJECT, false, NULL, 0},
    {NULL, NULL, CRM_TEXT, false, NULL, 0},
};

static const crm_field rep_fields[] = {
    TXT("name", true, 500),
    TXT("email", false, 320),
    {"role", "role", CRM_ENUM, false, role_values, 0},
    TXT("manager", false, 200),
    TXT("segment", false, 200),
    TXT("region", false, 200),
    {"quotas", "quotas", CRM_QUOTAS, false, NULL, 0},
    {"start_date", "start_date", CRM_DATE, false, NULL, 0},
    {"end_date", "end_date", CRM_DATE, false, NULL, 0},
    {"fully_loaded_cost", "fully_loaded_cost_cents", CRM_MONEY, false, NULL, 0}, /* a year: salary, benefits, tools */
    {"custom", "custom", CRM_OBJECT, false, NULL, 0},
    {NULL, NULL, CRM_TEXT, false, NULL, 0},
};

const crm_object crm_deals = {CRM_DEALS, "deals", "deal", "deals", "deal_json", deal_fields};
const crm_object crm_accounts = {CRM_ACCOUNTS, "accounts", "account", "accounts", "account_json", account_fields};
const crm_object crm_reps = {CRM_REPS, "reps", "rep", "reps", "rep_json", rep_fields};

const crm_object *crm_object_named(const char *name)
{
    const crm_object *all[] = {&crm_deals, &crm_accounts, &crm_reps};
    for (size_t i = 0; name && i < 3; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

const crm_field *crm_field_named(const crm_object *o, const char *name)
{
    for (const crm_field *f = o->fields; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

bool crm_is_seed_stage(const char *key)
{
    static const char *const seed[] = {"visitor",     "known",    "mql",        "sal",         "sql",
                                       "opportunity", "proposal", "closed_won", "closed_lost", NULL};
    for (const char *const *s = seed; *s; s++)
        if (strcmp(*s, key) == 0)
            return true;
    return false;
}

bool crm_is_stage_key(const char *key)
{
    size_t n = strlen(key);
    if (n < 1 || n > 64 || !islower((unsigned char)key[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!islower((unsigned char)key[i]) && !isdigit((unsigned char)key[i]) && key[i] != '_')
            return false;
    return true;
}

static bool digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

bool crm_is_timestamp(const char *s)
{
    /* YYYY-MM-DDTHH:MM:SS[.f+](Z|+HH:MM|-HH:MM) */
    if (strlen(s) < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) ||
        (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' ||
        !digits(s + 17, 2))
        return false;
    char date[11];
    memcpy(date, s, 10);
    date[10] = '\0';
    caldate_t d;
    if (!caldate_parse(date, &d) || atoi(s + 11) > 23 || atoi(s + 14) > 59 || atoi(s + 17) > 60)
        return false;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return true;
    return (*p == '+' || *p == '-') && digits(p + 1, 2) && p[3] == ':' && digits(p + 4, 2) && p[6] == '\0' &&
           atoi(p + 1) < 24 && atoi(p + 4) < 60;
}

long long crm_timestamp_epoch(const char *s)
{
    char date[11];
    memcpy(date, s, 10);
    date[10] = '\0';
    caldate_t d = 0;
    if (!caldate_parse(date, &d))
        return 0;
    long long t = (long long)d * 86400 + atoi(s + 11) * 3600LL + atoi(s + 14) * 60LL + atoi(s + 17);
    const char *p = s + 19;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    if (*p == '+' || *p == '-') { /* local time = UTC + offset */
        long long off = atoi(p + 1) * 3600LL + atoi(p + 4) * 60LL;
        t += *p == '+' ? -off : off;
    }
    return t;
}

bool crm_timestamp_too_late(const char *s)
{
    return crm_timestamp_epoch(s) > (long long)time(NULL) + CRM_MAX_FUTURE_SKEW_S;
}

static bool in_list(const char *const *values, const char *s)
{
    for (; *values; values++)
        if (strcmp(*values, s) == 0)
            return true;
    return false;
}

static void list_text(const char *const *values, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (; *values && n < len; values++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", *values);
}

bool crm_check_field(const crm_field *f, const json_t *v, json_t *patch, app_err *e)
{
    const char *k = f->name;
    if (json_is_null(v)) {
        if (f->required) {
            app_err_field(e, k, "is required");
            return false;
        }
        json_object_set_new(patch, f->column, json_null());
        return true;
    }
    const char *s = json_string_value(v);
    money_t cents;
    char buf[200];
    switch (f->type) {
    case CRM_TEXT:
        if (!s || (f->required && !*s) || strlen(s) > (size_t)f->max) {
            app_err_field(e, k, "must be a string of %s%lld bytes at most", f->required ? "1 to " : "", f->max);
            return false;
        }
        json_object_set_new(patch, f->column, json_string(s));
        return true;
    case CRM_ENUM:
        if (!s || !in_list(f->values, s)) {
            list_text(f->values, buf, sizeof buf);
            app_err_field(e, k, "must be one of %s", buf);
            return false;
        }
        json_object_set_new(patch, f->column, json_string(s));
        return true;
    case CRM_CURRENCY:
        if (!s || strlen(s) != 3 || !isupper((unsigned char)s[0]) || !isupper((unsigned char)s[1]) ||
            !isupper((unsigned char)s[2])) {
            app_err_field(e, k, "must be an ISO 4217 code such as USD");
            return false;
        }
        json_object_set_new(patch, f->column, json_string(s));
        return true;
    case CRM_STAGE:
        if (!s || !crm_is_stage_key(s)) {
            app_err_field(e, k,
                          "must be a funnel stage key (lowercase letters, digits, '_'), e.g. visitor, known, mql, "
                          "sal, sql, opportunity, proposal, closed_won, closed_lost");
            return false;
        }
        json_object_set_new(patch, f->column, json_string(s));
        return true;
    case CRM_MONEY:
        if (!json_is_number(v) || !money_from_double(json_number_value(v), &cents) || cents < 0) {
            app_err_field(e, k, "must be an amount of at least 0: a number with at most two decimals");
            return false;
        }
        json_object_set_new(patch, f->column, json_integer(cents));
        return true;
    case CRM_INT:
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > f->max) {
            app_err_field(e, k, "must be an integer from 0 to %lld", f->max);
            return false;
        }
        json_object_set_new(patch, f->column, json_integer(json_integer_value(v)));
        return true;
    case CRM_DATE: {
        caldate_t d;
        if (!s || !caldate_parse(s, &d)) {
            app_err_field(e, k, "must be a date YYYY-MM-DD");
            return false;
        }
        json_object_set_new(patch, f->column, json_string(caldate_format(d, buf, sizeof buf)));
        return true;
    }
    case CRM_TS:
        if (!s || !crm_is_timestamp(s)) {
            app_err_field(e, k, "must be an RFC 3339 timestamp such as 2026-03-01T12:00:00Z");
            return false;
        }
        json_object_set_new(patch, f->column, json_string(s));
        return true;
    case CRM_PROB:
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1) {
            app_err_field(e, k, "must be a number from 0 to 1");
            return false;
        }
        json_object_set_new(patch, f->column, json_real(json_number_value(v)));
        return true;
    case CRM_OBJECT: {
        char *text = json_is_object(v) ? json_dumps(v, JSON_COMPACT) : NULL;
        bool ok = text && strlen(text) <= 16384;
        free(text);
        if (!ok) {
            app_err_field(e, k, "must be a JSON object of at most 16 KiB");
            return false;
        }
        json_object_set(patch, f->column, (json_t *)v);
        return true;
    }
    case CRM_QUOTAS: {
        if (!json_is_object(v) || json_object_size(v) > 200) {
            app_err_field(e, k, "must be an object of period -> amount, e.g. {\"2026-Q1\": 250000}");
            return false;
        }
        json_t *q = json_object();
        const char *label;
        json_t *amt;
        bool ok = true;
        json_object_foreach((json_t *)v, label, amt)
        {
            period p;
            char canon[16], path[64];
            snprintf(path, sizeof path, "%s.%.40s", k, label);
            if (!period_parse(label, 1, &p)) {
                app_err_field(e, path, "must be a period such as 2026-Q1, 2026-03 or FY2026");
                ok = false;
            } else if (!json_is_number(amt) || !money_from_double(json_number_value(amt), &cents) || cents < 0) {
                app_err_field(e, path, "must be an amount of at least 0 with at most two decimals");
                ok = false;
            } else {
                json_object_set_new(q, period_format(&p, canon, sizeof canon), json_integer(cents));
            }
        }
        if (!ok) {
            json_decref(q);
            return false;
        }
        json_object_set_new(patch, f->column, q);
        return true;
    }
    }
    return false;
}

json_t *crm_check(const crm_object *o, const json_t *in, bool require, const char *const *extra_allowed, app_err *e)
{
    if (!json_is_object(in)) {
        app_err_field(e, "body", "must be a JSON object");
        return NULL;
    }
    json_t *patch = json_object();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)in, key, v)
    {
        const crm_field *f = crm_field_named(o, key);
        if (f)
            (void)crm_check_field(f, v, patch, e);
        else if (!extra_allowed || !in_list(extra_allowed, key))
            app_err_field(e, key, "is not a field of a %s", o->singular);
    }
    if (require)
        for (const crm_field *f = o->fields; f->name; f++)
            if (f->required && !json_object_get(in, f->name))
                app_err_field(e, f->name, "is required");
    /* a closed status and a stage that says otherwise cannot both be true */
    const char *st = json_string_value(json_object_get(patch, "status"));
    const char *sg = json_string_value(json_object_get(patch, "stage"));
    if (o->kind == CRM_DEALS && st && sg &&
        ((strcmp(st, "won") == 0 && strcmp(sg, "closed_lost") == 0) ||
         (strcmp(st, "lost") == 0 && strcmp(sg, "closed_won") == 0) ||
         (strcmp(st, "open") == 0 && (strcmp(sg, "closed_won") == 0 || strcmp(sg, "closed_lost") == 0))))
        app_err_field(e, "status", "contradicts stage '%s'", sg);
    if (e->code != ERR_NONE) {
        json_decref(patch);
        return NULL;
    }
    return patch;
}

int crm_apply(db_conn *c, const crm_object *o, const char *workspace_id, const json_t *ops, json_t **results,
              app_err *err)
{
    *results = NULL;
    char *text = json_dumps(ops, JSON_COMPACT);
    if (!text) {
        app_err_set(err, ERR_INTERNAL, "could not encode the changes");
        return -1;
    }
    PGresult *r;
    if (o->kind == CRM_DEALS) {
        const char *p[] = {workspace_id, text};
        r = db_query(c, "SELECT result FROM deal_apply_many($1::uuid, $2::jsonb) ORDER BY n", 2, p, err);
    } else {
        const char *p[] = {o->table, workspace_id, text};
        r = db_query(c,
                     "SELECT CASE WHEN entity_upsert($1, $2::uuid, x.op ->> 'id', x.op -> 'patch')"
                     " THEN 'created' ELSE 'updated' END"
                     " FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS x(op, n) ORDER BY x.n",
                     3, p, err);
    }
    free(text);
    if (!r)
        return -1;
    json_t *out = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(out, json_string(PQgetvalue(r, i, 0)));
    PQclear(r);
    *results = out;
    return 0;
}

struct crm_refs {
    json_t *stages; /* [key] of the default funnel, or NULL: the seed's */
    bool has_reps, has_accounts;
    json_t *reps;     /* {id: true} of the named owners that are reps */
    json_t *accounts; /* {id: true} of the named accounts that exist */
    char currency[4]; /* the workspace's */
    json_t *fx;       /* {currency: true} with an exchange rate */
};

static json_t *set_of(const char *text)
{
    json_t *arr = json_loads(text, 0, NULL), *set = json_object();
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) if (json_is_string(v)) json_object_set_new(set, json_string_value(v), json_true());
    json_decref(arr);
    return set;
}

crm_refs *crm_refs_load(db_conn *c, const char *workspace_id, const json_t *patches, app_err *err)
{
    json_t *owners = json_array(), *accounts = json_array();
    size_t i;
    json_t *p;
    json_array_foreach((json_t *)patches, i, p)
    {
        const char *o = json_string_value(json_object_get(p, "owner"));
        const char *a = json_string_value(json_object_get(p, "account"));
        if (o)
            json_array_append_new(owners, json_string(o));
        if (a)
            json_array_append_new(accounts, json_string(a));
    }
    char *ot = json_dumps(owners, JSON_COMPACT), *at = json_dumps(accounts, JSON_COMPACT);
    json_decref(owners);
    json_decref(accounts);
    crm_refs *r = NULL;
    PGresult *res = NULL;
    if (!ot || !at) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        goto out;
    }
    const char *prm[] = {workspace_id, ot, at};
    res =
        db_query(c,
                 "SELECT (SELECT jsonb_agg(x ->> 'key') FROM funnels f, jsonb_array_elements(f.document -> 'stages') x"
                 "        WHERE f.workspace_id = $1 AND f.is_default AND f.deleted_at IS NULL),"
                 " EXISTS (SELECT 1 FROM reps WHERE workspace_id = $1),"
                 " (SELECT COALESCE(jsonb_agg(external_id), '[]') FROM reps WHERE workspace_id = $1"
                 "  AND external_id IN (SELECT jsonb_array_elements_text($2::jsonb))),"
                 " EXISTS (SELECT 1 FROM accounts WHERE workspace_id = $1),"
                 " (SELECT COALESCE(jsonb_agg(external_id), '[]') FROM accounts WHERE workspace_id = $1"
                 "  AND external_id IN (SELECT jsonb_array_elements_text($3::jsonb))),"
                 " (SELECT currency FROM workspaces WHERE id = $1),"
                 " (SELECT COALESCE(jsonb_agg(DISTINCT currency), '[]') FROM fx_rates WHERE workspace_id = $1)",
                 3, prm, err);
    if (!res)
        goto out;
    r = calloc(1, sizeof *r);
    if (!r) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        goto out;
    }
    r->stages = PQgetisnull(res, 0, 0) ? NULL : json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    r->has_reps = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    r->reps = set_of(PQgetvalue(res, 0, 2));
    r->has_accounts = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
    r->accounts = set_of(PQgetvalue(res, 0, 4));
    snprintf(r->currency, sizeof r->currency, "%s", PQgetvalue(res, 0, 5));
    r->fx = set_of(PQgetvalue(res, 0, 6));
out:
    PQclear(res);
    free(ot);
    free(at);
    return r;
}

static bool funnel_has(const crm_refs *r, const char *stage)
{
    if (!r->stages)
        return crm_is_seed_stage(stage);
    size_t i;
    json_t *k;
    json_array_foreach(r->stages, i, k) if (json_is_string(k) && strcmp(json_string_value(k), stage) == 0) return true;
    return false;
}

bool crm_refs_check(const crm_refs *r, const json_t *patch, app_err *e)
{
    int before = e->nfields;
    app_error code = e->code;
    const char *stage = json_string_value(json_object_get(patch, "stage"));
    const char *owner = json_string_value(json_object_get(patch, "owner"));
    const char *account = json_string_value(json_object_get(patch, "account"));
    const char *cur = json_string_value(json_object_get(patch, "currency"));
    if (stage && !funnel_has(r, stage))
        app_err_field(e, "stage", "'%.64s' is not a stage of the workspace's default funnel", stage);
    if (owner && r->has_reps && !json_object_get(r->reps, owner))
        app_err_field(e, "owner", "'%.64s' is not a rep of this workspace (PUT /v1/reps/{id} first)", owner);
    if (account && r->has_accounts && !json_object_get(r->accounts, account))
        app_err_field(e, "account", "'%.64s' is not an account of this workspace (PUT /v1/accounts/{id} first)",
                      account);
    if (cur && strcmp(cur, r->currency) != 0 && !json_object_get(r->fx, cur))
        app_err_field(e, "currency", "no exchange rate for %s: PUT /v1/fx-rates/%s", cur, cur);
    /* the currency of the same write, else the workspace's (a write that
     * changes only the amount of a deal kept in another currency is held to
     * the workspace's units: the stored currency is not read here) */
    const char *unit_cur = cur ? cur : r->currency;
    const json_t *amount = json_object_get(patch, "amount_cents");
    if (json_is_integer(amount) && money_minor_units(unit_cur) == 0 && json_integer_value(amount) % 100 != 0)
        app_err_field(e, "amount", "%s has no minor unit: the amount must be a whole number", unit_cur);
    return e->nfields == before && e->code == code;
}

void crm_refs_free(crm_refs *r)
{
    if (!r)
        return;
    json_decref(r->stages);
    json_decref(r->reps);
    json_decref(r->accounts);
    json_decref(r->fx);
    free(r);
}

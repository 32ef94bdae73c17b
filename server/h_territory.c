/* h_territory.c - territory plans: core/territory over the request's or the
 * workspace's accounts, stored with the balancer, rule, disruption and
 * pipeline reports; change reports between plans (or against the accounts'
 * territories today); apply onto the accounts (effective-dated, recorded)
 * and revert. docs/planning.md, "Calling the API".
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm.h"
#include "handlers.h"
#include "jsonv.h"
#include "territory.h"

#define TERR_MAX_TERRITORIES 1000
#define TERR_MAX_ACCOUNTS 200000
#define TERR_MAX_CHANGES 5000      /* change rows listed in a diff (counts cover all) */
#define TERR_MAX_IMPACT 1000       /* deals listed in pipeline_impact (counts cover all) */
#define TERR_DEFAULT_TAM_RATIO 2.0 /* seed: "No rep should have >2x the TAM of another rep" */

static json_t *money_j(money_t c) { return json_real((double)c / 100.0); }
static double r4(double x) { return round(x * 1e4) / 1e4; }
/* A ratio that may be unbounded (a territory with no potential): null then. */
static json_t *ratio_j(double x) { return isfinite(x) ? json_real(r4(x)) : json_null(); }

/* A plan's resolved inputs: what the balancer saw, kept for diffs. */
typedef struct {
    size_t n, k;
    territory_account *acc;
    territory_def *defs;
    json_t *acc_ids; /* [account id] */
    json_t *terrs;   /* [{id, segment, region, capacity}] */
    json_t *removed; /* {account id: its territory today, which the plan does not have} */
    territory_options opt;
    double max_tam_ratio;
} plan_in;

static void plan_in_free(plan_in *p)
{
    free(p->acc);
    free(p->defs);
    json_decref(p->acc_ids);
    json_decref(p->terrs);
    json_decref(p->removed);
    memset(p, 0, sizeof *p);
}

static int terr_index(const json_t *terrs, const char *id);

/* An account's territory today as a plan index: -1 when it has none, and
 * TERRITORY_REMOVED (noted in p->removed) when the plan does not have it: the
 * account moves, as the change report against today's map says. */
static int current_of(plan_in *p, const char *account, const char *terr)
{
    if (!terr)
        return -1;
    int t = terr_index(p->terrs, terr);
    if (t >= 0)
        return t;
    if (!p->removed)
        p->removed = json_object();
    json_object_set_new(p->removed, account ? account : "", json_string(terr));
    return TERRITORY_REMOVED;
}

static int terr_index(const json_t *terrs, const char *id)
{
    size_t i;
    const json_t *t;
    if (!id)
        return -1;
    json_array_foreach(terrs, i, t) if (strcmp(json_string_value(json_object_get(t, "id")), id) == 0) return (int)i;
    return -1;
}

/* territories: a count (T1..Tn) or [{id, segment?, region?, capacity?}] */
static void decode_territories(const json_t *v, plan_in *p, app_err *err)
{
    p->terrs = json_array();
    if (json_is_integer(v)) {
        long long n = json_integer_value(v);
        if (n < 1 || n > TERR_MAX_TERRITORIES) {
            app_err_field(err, "territories", "must be 1 to %d", TERR_MAX_TERRITORIES);
            return;
        }
        for (long long i = 1; i <= n; i++) {
            char id[24];
            snprintf(id, sizeof id, "T%lld", i);
            json_array_append_new(p->terrs,
                                  json_pack("{s:s, s:n, s:n, s:f}", "id", id, "segment", "region", "capacity", 1.0));
        }
        return;
    }
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > TERR_MAX_TERRITORIES) {
        app_err_field(err, "territories", "must be a count or a list of 1 to %d {id, segment?, region?, capacity?}",
                      TERR_MAX_TERRITORIES);
        return;
    }
    size_t i;
    const json_t *t;
    json_array_foreach(v, i, t)
    {
        char path[40];
        snprintf(path, sizeof path, "territories[%zu]", i);
        app_err sub = {0};
        const char *id = NULL, *seg = NULL, *reg = NULL;
        double cap = 1.0;
        static const char *const allowed[] = {"id", "segment", "region", "capacity", NULL};
        if (!json_is_object(t)) {
            app_err_field(err, path, "must be an object");
            continue;
        }
        (void)jv_only_fields(t, allowed, &sub);
        (void)jv_string(t, "id", true, 200, &id, &sub);
        (void)jv_string(t, "segment", false, 200, &seg, &sub);
        (void)jv_string(t, "region", false, 200, &reg, &sub);
        (void)jv_number(t, "capacity", false, 0.01, 100, &cap, NULL, &sub);
        if (id && terr_index(p->terrs, id) >= 0)
            app_err_field(&sub, "id", "\"%s\" is given twice", id);
        jv_merge_prefixed(err, &sub, path);
        json_array_append_new(p->terrs, json_pack("{s:s, s:s?, s:s?, s:f}", "id", id ? id : "", "segment", seg,
                                                  "region", reg, "capacity", cap));
    }
}

/* Segment/region tags: each distinct (segment, region) pair of the accounts
 * is a tag when some territory is restricted; a restricted territory takes
 * the pairs it matches. Without restrictions every account fits anywhere. */
static int assign_segments(plan_in *p, json_t *acc_seg, app_err *err)
{
    bool restricted = false;
    size_t i;
    const json_t *t;
    json_array_foreach(p->terrs, i, t) if (!json_is_null(json_object_get(t, "segment")) ||
                                           !json_is_null(json_object_get(t, "region"))) restricted = true;
    for (size_t a = 0; a < p->n; a++)
        p->acc[a].segment = -1;
    if (!restricted)
        return 0;
    json_t *pairs = json_object(); /* "segment\x1fregion" -> tag */
    char key[420];
    for (size_t a = 0; a < p->n; a++) {
        const json_t *sr = json_array_get(acc_seg, a);
        const char *s = json_string_value(json_array_get(sr, 0)), *r = json_string_value(json_array_get(sr, 1));
        snprintf(key, sizeof key, "%s\x1f%s", s ? s : "", r ? r : "");
        json_t *tag = json_object_get(pairs, key);
        if (!tag) {
            if (json_object_size(pairs) >= 63) {
                json_decref(pairs);
                app_err_field(err, "accounts",
                              "at most 63 distinct segment/region combinations when territories are restricted");
                return -1;
            }
            tag = json_integer((json_int_t)json_object_size(pairs));
            json_object_set_new(pairs, key, tag);
        }
        p->acc[a].segment = (int)json_integer_value(tag);
    }
    /* a restricted territory that matches no account takes only a tag no
     * account has (a mask of 0 would mean "takes all") */
    int none_tag = (int)json_object_size(pairs);
    json_array_foreach(p->terrs, i, t)
    {
        const char *ts = json_string_value(json_object_get(t, "segment")),
                   *tr = json_string_value(json_object_get(t, "region"));
        if (!ts && !tr)
            continue;
        uint64_t mask = 0;
        const char *k;
        json_t *tag;
        json_object_foreach(pairs, k, tag)
        {
            const char *sep = strchr(k, '\x1f');
            size_t sl = (size_t)(sep - k);
            bool seg_ok = !ts || (strlen(ts) == sl && strncmp(ts, k, sl) == 0);
            bool reg_ok = !tr || strcmp(tr, sep + 1) == 0;
            if (seg_ok && reg_ok)
                mask |= (uint64_t)1 << json_integer_value(tag);
        }
        p->defs[i].segments = mask ? mask : (uint64_t)1 << none_tag;
    }
    json_decref(pairs);
    return 0;
}

/* Inline accounts. acc_seg gets [segment, region] per account. */
static void decode_accounts(const json_t *v, plan_in *p, json_t *acc_seg, app_err *err)
{
    if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > TERR_MAX_ACCOUNTS) {
        app_err_field(err, "accounts", "must be a list of 1 to %d accounts", TERR_MAX_ACCOUNTS);
        return;
    }
    p->n = json_array_size(v);
    p->acc = calloc(p->n, sizeof *p->acc);
    p->acc_ids = json_array();
    json_t *seen = json_object();
    size_t i;
    const json_t *a;
    json_array_foreach(v, i, a)
    {
        char path[40];
        snprintf(path, sizeof path, "accounts[%zu]", i);
        app_err sub = {0};
        static const char *const allowed[] = {"id",     "potential",        "pipeline",          "workload", "segment",
                                              "region", "pinned_territory", "current_territory", NULL};
        const char *id = NULL, *seg = NULL, *reg = NULL, *pin = NULL, *cur = NULL;
        long long pot = 0, pipe = 0;
        double work = 0;
        if (!json_is_object(a)) {
            app_err_field(err, path, "must be an object");
            json_array_append_new(p->acc_ids, json_string(""));
            json_array_append_new(acc_seg, json_pack("[nn]"));
            continue;
        }
        (void)jv_only_fields(a, allowed, &sub);
        (void)jv_string(a, "id", true, 200, &id, &sub);
        (void)jv_money(a, "potential", true, 0, &pot, NULL, &sub);
        (void)jv_money(a, "pipeline", false, 0, &pipe, NULL, &sub);
        (void)jv_number(a, "workload", false, 0, 1e12, &work, NULL, &sub);
        (void)jv_string(a, "segment", false, 200, &seg, &sub);
        (void)jv_string(a, "region", false, 200, &reg, &sub);
        (void)jv_string(a, "pinned_territory", false, 200, &pin, &sub);
        (void)jv_string(a, "current_territory", false, 200, &cur, &sub);
        if (id && json_object_get(seen, id))
            app_err_field(&sub, "id", "\"%s\" is given twice", id);
        else if (id)
            json_object_set_new(seen, id, json_true());
        territory_account *ta = &p->acc[i];
        ta->potential = pot;
        ta->pipeline = pipe;
        ta->workload = work;
        ta->pinned = terr_index(p->terrs, pin);
        if (pin && ta->pinned < 0)
            app_err_field(&sub, "pinned_territory", "no territory \"%s\" in this plan", pin);
        ta->current = current_of(p, id, cur);
        jv_merge_prefixed(err, &sub, path);
        json_array_append_new(p->acc_ids, json_string(id ? id : ""));
        json_array_append_new(acc_seg, json_pack("[s?s?]", seg, reg));
    }
    json_decref(seen);
}

/* The workspace's accounts: potential, open pipeline (open deals on the
 * account), workload (custom.workload when numeric, else 1 + its open
 * deals), segment, region and territory today; pins from the request. */
static int load_accounts(db_conn *db, const char *ws, const json_t *pins, plan_in *p, json_t *acc_seg, app_err *err)
{
    const char *prm[] = {ws};
    PGresult *r = db_query(
        db,
        "SELECT a.external_id, COALESCE(a.potential_cents, 0), COALESCE(d.amount, 0),"
        " COALESCE(CASE WHEN jsonb_typeof(a.custom -> 'workload') = 'number'"
        "  THEN (a.custom ->> 'workload')::float8 END, 1 + COALESCE(d.n, 0)),"
        " a.segment, a.region, a.territory"
        " FROM accounts a LEFT JOIN (SELECT account, sum(COALESCE(" CRM_FX_AMOUNT ", 0)) AS amount, count(*) AS n"
        "  FROM deals WHERE workspace_id = $1 AND status = 'open' AND deleted_at IS NULL GROUP BY account) d"
        "  ON d.account = a.external_id"
        " WHERE a.workspace_id = $1 AND a.deleted_at IS NULL ORDER BY a.external_id LIMIT 200001",
        1, prm, err);
    if (!r)
        return -1;
    int n = PQntuples(r);
    if (n == 0 || n > TERR_MAX_ACCOUNTS) {
        PQclear(r);
        if (n)
            app_err_field(err, "from_accounts", "the workspace has more than %d accounts", TERR_MAX_ACCOUNTS);
        else
            app_err_field(err, "from_accounts", "the workspace has no accounts");
        return -1;
    }
    p->n = (size_t)n;
    p->acc = calloc(p->n, sizeof *p->acc);
    p->acc_ids = json_array();
    if (!p->acc) {
        PQclear(r);
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        territory_account *ta = &p->acc[i];
        const char *id = PQgetvalue(r, i, 0);
        ta->potential = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        ta->pipeline = strtoll(PQgetvalue(r, i, 2), NULL, 10);
        ta->workload = atof(PQgetvalue(r, i, 3));
        if (!(ta->workload >= 0))
            ta->workload = 0;
        ta->current = current_of(p, id, PQgetisnull(r, i, 6) ? NULL : PQgetvalue(r, i, 6));
        const json_t *pin = json_object_get(pins, id);
        ta->pinned = pin ? terr_index(p->terrs, json_string_value(pin)) : -1;
        json_array_append_new(p->acc_ids, json_string(id));
        json_array_append_new(acc_seg, json_pack("[s?s?]", PQgetisnull(r, i, 4) ? NULL : PQgetvalue(r, i, 4),
                                                 PQgetisnull(r, i, 5) ? NULL : PQgetvalue(r, i, 5)));
    }
    PQclear(r);
    /* every pin must name a stored account and a territory of the plan */
    const char *k;
    json_t *v;
    json_t *ids = json_object();
    size_t i;
    json_t *x;
    json_array_foreach(p->acc_ids, i, x) json_object_set(ids, json_string_value(x), json_true());
    json_object_foreach((json_t *)pins, k, v)
    {
        char path[240];
        snprintf(path, sizeof path, "pins.%.200s", k);
        if (!json_object_get(ids, k))
            app_err_field(err, path, "no such account in the workspace");
        else if (terr_index(p->terrs, json_string_value(v)) < 0)
            app_err_field(err, path, "must name a territory of this plan");
    }
    json_decref(ids);
    return err->code == ERR_NONE ? 0 : -1;
}

static json_t *balance_json(const territory_balance_index *b)
{
    json_t *o = json_object();
    for (int c = 0; c <= TERR_CRITERIA; c++)
        json_object_set_new(o, territory_criterion_name(c),
                            json_pack("{s:o, s:o, s:o}", "max_mean", ratio_j(b->max_over_mean[c]), "max_min",
                                      ratio_j(b->max_over_min[c]), "cv", ratio_j(b->cv[c])));
    return o;
}

static json_t *totals_json(const territory_totals *t, const char *terr)
{
    return json_pack("{s:s, s:I, s:o, s:o, s:f, s:{s:f, s:f, s:f, s:f}, s:f}", "territory", terr, "accounts",
                     (json_int_t)t->accounts, "potential", money_j(t->potential), "pipeline", money_j(t->pipeline),
                     "workload", r4(t->workload), "load", "accounts", r4(t->load[TERR_ACCOUNTS]), "potential",
                     r4(t->load[TERR_POTENTIAL]), "pipeline", r4(t->load[TERR_PIPELINE]), "workload",
                     r4(t->load[TERR_WORKLOAD]), "composite", r4(t->composite));
}

static const char *terr_id(const plan_in *p, int t)
{
    return t >= 0 ? json_string_value(json_object_get(json_array_get(p->terrs, (size_t)t), "id")) : NULL;
}

/* Per-territory movement: the disruption report (seed 002). */
static json_t *movement_json(const plan_in *p, const territory_result *res, size_t k)
{
    json_t *rows = json_array();
    for (size_t t = 0; t < k; t++) {
        const territory_row *r = &res->rows[t];
        json_array_append_new(rows, json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "territory",
                                              terr_id(p, (int)t), "before", (json_int_t)r->current.accounts, "after",
                                              (json_int_t)r->proposed.accounts, "gained", (json_int_t)r->gained, "lost",
                                              (json_int_t)r->lost, "potential_gained", money_j(r->potential_gained),
                                              "potential_lost", money_j(r->potential_lost), "pipeline_gained",
                                              money_j(r->pipeline_gained), "pipeline_lost", money_j(r->pipeline_lost)));
    }
    return rows;
}

/* Open deals on accounts that change territory. moved: account -> [from, to]. */
static json_t *pipeline_impact(db_conn *db, const char *ws, json_t *moved, app_err *err)
{
    json_t *ids = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(moved, k, v) json_array_append_new(ids, json_string(k));
    char *ids_text = json_dumps(ids, JSON_COMPACT);
    json_decref(ids);
    const char *prm[] = {ws, ids_text ? ids_text : "[]"};
    PGresult *r =
        db_query(db,
                 "SELECT external_id, account, owner, COALESCE(" CRM_FX_AMOUNT ", 0) FROM deals WHERE workspace_id = $1"
                 " AND status = 'open' AND deleted_at IS NULL"
                 " AND account IN (SELECT jsonb_array_elements_text($2::jsonb)) ORDER BY 4 DESC,"
                 " external_id",
                 2, prm, err);
    free(ids_text);
    if (!r)
        return NULL;
    json_t *items = json_array();
    money_t total = 0;
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        money_t amt = strtoll(PQgetvalue(r, i, 3), NULL, 10);
        total += amt;
        if (i >= TERR_MAX_IMPACT)
            continue;
        const json_t *ft = json_object_get(moved, PQgetvalue(r, i, 1));
        json_array_append_new(
            items, json_pack("{s:s, s:s, s:s?, s:o, s:O, s:O}", "deal_id", PQgetvalue(r, i, 0), "account_id",
                             PQgetvalue(r, i, 1), "owner", PQgetisnull(r, i, 2) ? NULL : PQgetvalue(r, i, 2), "amount",
                             money_j(amt), "from", json_array_get(ft, 0), "to", json_array_get(ft, 1)));
    }
    PQclear(r);
    return json_pack("{s:i, s:o, s:o, s:b}", "deals", n, "amount", money_j(total), "items", items, "truncated",
                     n > TERR_MAX_IMPACT);
}

/* An account id as JSON string content: quotes, backslashes and control
 * characters escaped (the ids were checked as UTF-8 with the body). */
static void put_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(f, "\\%c", *c);
        else if (*c < 0x20)
            fprintf(f, "\\u%04x", *c);
        else
            fputc(*c, f);
    }
    fputc('"', f);
}

/* The stored form of the inputs (for diffs; inputs_load reads it back), as
 * text. The accounts' rows are written directly: as a jansson tree, made only
 * to be dumped, 200,000 of them were tens of megabytes more at the peak of a
 * plan. NULL when out of memory. */
static char *inputs_text(const plan_in *p, const int *assignment)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    json_t *defs = json_array(), *w = json_array();
    for (size_t t = 0; t < p->k; t++) {
        char mask[24];
        snprintf(mask, sizeof mask, "%llu", (unsigned long long)p->defs[t].segments);
        json_array_append_new(defs, json_pack("{s:f, s:s}", "capacity", p->defs[t].capacity, "segments", mask));
    }
    for (int c = 0; c < TERR_CRITERIA; c++)
        json_array_append_new(w, json_real(p->opt.weights[c]));
    fputs("{\"territories\":", f);
    int bad = json_dumpf(p->terrs, f, JSON_COMPACT);
    fputs(",\"defs\":", f);
    bad |= json_dumpf(defs, f, JSON_COMPACT);
    fputs(",\"accounts\":[", f);
    for (size_t i = 0; i < p->n; i++) {
        const territory_account *a = &p->acc[i];
        const char *id = json_string_value(json_array_get(p->acc_ids, i));
        fputs(i ? ",[" : "[", f);
        put_json_string(f, id ? id : "");
        fprintf(f, ",%lld,%lld,%.17g,%d,%d]", (long long)a->potential, (long long)a->pipeline, a->workload, a->segment,
                a->current);
    }
    fputs("],\"assignment\":[", f);
    for (size_t i = 0; i < p->n; i++)
        fprintf(f, i ? ",%d" : "%d", assignment[i]);
    fputs("],\"weights\":", f);
    bad |= json_dumpf(w, f, JSON_COMPACT);
    fprintf(f, ",\"disruption_weight\":%.17g}", p->opt.disruption_weight);
    json_decref(defs);
    json_decref(w);
    bad |= ferror(f);
    if (fclose(f) != 0 || bad) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* The optimiser's options beside the territories: weights,
 * disruption_weight and rules. Bad fields go to err. */
static void decode_plan_options(const json_t *body, plan_in *p, app_err *err)
{
    const json_t *w = json_object_get(body, "weights");
    if (w) {
        app_err sub = {0};
        static const char *const wk[] = {"accounts", "potential", "pipeline", "workload", NULL};
        if (!json_is_object(w))
            app_err_field(&sub, "weights", "must be {accounts, potential, pipeline, workload}");
        else {
            (void)jv_only_fields(w, wk, &sub);
            for (int c = 0; c < TERR_CRITERIA; c++) {
                p->opt.weights[c] = 0;
                (void)jv_number(w, wk[c], false, 0, 1e6, &p->opt.weights[c], NULL, &sub);
            }
        }
        jv_merge_prefixed(err, &sub, "weights");
    }
    (void)jv_number(body, "disruption_weight", false, 0, 1e6, &p->opt.disruption_weight, NULL, err);
    const json_t *rules = json_object_get(body, "rules");
    if (rules) {
        app_err sub = {0};
        static const char *const rk[] = {"max_tam_ratio", NULL};
        if (!json_is_object(rules))
            app_err_field(&sub, "rules", "must be {max_tam_ratio}");
        else {
            (void)jv_only_fields(rules, rk, &sub);
            (void)jv_number(rules, "max_tam_ratio", false, 1, 1e6, &p->max_tam_ratio, NULL, &sub);
        }
        jv_merge_prefixed(err, &sub, "rules");
    }
}

/* Balance the accounts over the territories (core/territory) into res,
 * whose assignment and rows are allocated here. 0, or -1 with err (an
 * infeasible plan names the account, not its index). */
static int balance_plan(plan_in *p, territory_result *res, app_err *err)
{
    memset(res, 0, sizeof *res);
    res->assignment = calloc(p->n, sizeof *res->assignment);
    res->rows = calloc(p->k, sizeof *res->rows);
    territory_error te = {{0}, {0}};
    if (!res->assignment || !res->rows) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    if (territory_balance(p->acc, p->n, p->defs, p->k, &p->opt, res, &te) != 0) {
        size_t ai;
        if (sscanf(te.field, "accounts[%zu]", &ai) == 1 && ai < p->n)
            app_err_field(err, "accounts", "account \"%s\": %s", json_string_value(json_array_get(p->acc_ids, ai)),
                          te.message);
        else
            app_err_field(err, te.field[0] ? te.field : "accounts", "%s", te.message);
        return -1;
    }
    return 0;
}

static void result_free(territory_result *res)
{
    free(res->assignment);
    free(res->rows);
    memset(res, 0, sizeof *res);
}

/* The plan's answer before it is stored: assignment, totals, balance, the
 * rules and whether they hold, the disruption and the open pipeline on moved
 * accounts. NULL with err when the pipeline could not be read. */
static json_t *plan_result_json(db_conn *db, const char *ws, const plan_in *p, const territory_result *res,
                                bool from_accounts, app_err *err)
{
    json_t *assignment = json_array(), *totals = json_array(), *moved = json_object();
    long pinned = 0, pins_held = 0;
    for (size_t i = 0; i < p->n; i++) {
        const char *aid = json_string_value(json_array_get(p->acc_ids, i));
        json_array_append_new(assignment,
                              json_pack("{s:s, s:s}", "account_id", aid, "territory", terr_id(p, res->assignment[i])));
        if (p->acc[i].pinned >= 0) {
            pinned++;
            pins_held += res->assignment[i] == p->acc[i].pinned;
        }
        if (p->acc[i].current == TERRITORY_REMOVED)
            json_object_set_new(
                moved, aid,
                json_pack("[ss]", json_string_value(json_object_get(p->removed, aid)), terr_id(p, res->assignment[i])));
        else if (p->acc[i].current >= 0 && p->acc[i].current != res->assignment[i])
            json_object_set_new(moved, aid,
                                json_pack("[ss]", terr_id(p, p->acc[i].current), terr_id(p, res->assignment[i])));
    }
    for (size_t t = 0; t < p->k; t++)
        json_array_append_new(totals, totals_json(&res->rows[t].proposed, terr_id(p, (int)t)));
    json_t *rule_list = json_pack(
        "[{s:s, s:s, s:f, s:o, s:b}, {s:s, s:s, s:I, s:b}]", "rule", "max_tam_ratio", "description",
        "No rep should have >2x the TAM of another rep (potential per unit of capacity, max / min)", "limit",
        p->max_tam_ratio, "value", ratio_j(res->tam_ratio), "holds", res->tam_ratio <= p->max_tam_ratio + 1e-12, "rule",
        "pins", "description", "Named accounts assigned by relationship, not geography (pinned accounts stay put)",
        "pinned", (json_int_t)pinned, "holds", pins_held == pinned);
    json_t *disruption =
        json_pack("{s:I, s:I, s:o, s:o, s:o}", "accounts_moved", (json_int_t)res->moved, "newly_assigned",
                  (json_int_t)res->newly_assigned, "potential_moved", money_j(res->potential_moved), "pipeline_moved",
                  money_j(res->pipeline_moved), "territories", movement_json(p, res, p->k));
    json_t *impact = pipeline_impact(db, ws, moved, err);
    json_decref(moved);
    if (!impact) {
        json_decref(assignment);
        json_decref(totals);
        json_decref(rule_list);
        json_decref(disruption);
        return NULL;
    }
    json_t *weights = json_object();
    double wsum = 0;
    for (int c = 0; c < TERR_CRITERIA; c++)
        wsum += p->opt.weights[c];
    for (int c = 0; c < TERR_CRITERIA; c++) /* all 0 = the seed's 30/30/20/20 */
        json_object_set_new(weights, territory_criterion_name(c),
                            json_real(wsum > 0 ? p->opt.weights[c] : (c < 2 ? 30.0 : 20.0)));
    json_t *out =
        json_pack("{s:O, s:o, s:f, s:b, s:o, s:o, s:o, s:o, s:o, s:f, s:f, s:o, s:o, s:o}", "territories", p->terrs,
                  "weights", weights, "disruption_weight", p->opt.disruption_weight, "from_accounts", from_accounts,
                  "assignment", assignment, "totals", totals, "balance", balance_json(&res->balance), "balance_current",
                  balance_json(&res->balance_current), "rules", rule_list, "lower_bound", r4(res->lower_bound),
                  "objective", r4(res->objective), "disruption", disruption, "pipeline_impact", impact, "accounts",
                  json_integer((json_int_t)p->n));
    return out;
}

/* Store the plan (request, inputs, result) and complete the answer with
 * what was stored (territory_plan_json's shape). 0, or -1 with err. */
static int store_plan(db_conn *db, const json_t *body, const char *ws, const char *name, const plan_in *p,
                      const int *asg, json_t *out, char *loc, size_t loclen, app_err *err)
{
    const json_t *inline_acc = json_object_get(body, "accounts");
    /* the request is kept as sent, but an inline account list becomes its
     * length: the accounts are in inputs and the assignment already, and a
     * third copy of 100k accounts was the slowest part of the insert (the
     * handler has already put the length in the body's place, see
     * h_territory_plans_create) */
    json_t *req = json_copy((json_t *)body);
    if (json_is_array(inline_acc))
        json_object_set_new(req, "accounts", json_integer((json_int_t)json_array_size(inline_acc)));
    char *req_text = json_dumps(req, JSON_COMPACT), *in_text = inputs_text(p, asg),
         *res_text = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(15));
    const char *ip[] = {ws, name, req_text, in_text, res_text};
    PGresult *ir = req_text && in_text && res_text
                       ? db_query(db,
                                  "INSERT INTO territory_plans AS p (workspace_id, name, request, inputs, result)"
                                  " VALUES ($1, $2, $3::jsonb, $4::jsonb, $5::jsonb) RETURNING id, rfc3339(created_at)",
                                  5, ip, err)
                       : NULL;
    free(req_text);
    free(in_text);
    free(res_text);
    if (!ir) {
        json_decref(req);
        if (err->code == ERR_NONE)
            app_err_set(err, ERR_INTERNAL, "could not store the plan");
        return -1;
    }
    /* the answer is what was stored (territory_plan_json), built here
     * rather than read back: the plan can be megabytes */
    json_object_set_new(out, "id", json_string(PQgetvalue(ir, 0, 0)));
    json_object_set_new(out, "name", json_string(name));
    json_object_set_new(out, "request", req);
    json_object_set_new(out, "created_at", json_string(PQgetvalue(ir, 0, 1)));
    json_object_set_new(out, "applications", json_array());
    snprintf(loc, loclen, "/v1/territory-plans/%s", PQgetvalue(ir, 0, 0));
    PQclear(ir);
    return 0;
}

void h_territory_plans_create(http_req *rq)
{
    app_err err = {0};
    if (!jv_require_object(rq->json, &err)) {
        http_reply_error(rq, &err);
        return;
    }
    static const char *const allowed[] = {
        "name", "territories", "weights", "disruption_weight", "accounts", "from_accounts", "pins", "rules", NULL};
    (void)jv_only_fields(rq->json, allowed, &err);
    const char *name = NULL;
    (void)jv_string(rq->json, "name", true, 200, &name, &err);
    plan_in p;
    memset(&p, 0, sizeof p);
    territory_options_default(&p.opt);
    p.max_tam_ratio = TERR_DEFAULT_TAM_RATIO;
    const json_t *tv = json_object_get(rq->json, "territories");
    if (!tv)
        app_err_field(&err, "territories", "is required: a count or a list of territories");
    else
        decode_territories(tv, &p, &err);
    p.k = json_array_size(p.terrs);
    decode_plan_options(rq->json, &p, &err);
    const json_t *fa = json_object_get(rq->json, "from_accounts"), *inline_acc = json_object_get(rq->json, "accounts"),
                 *pins = json_object_get(rq->json, "pins");
    bool from_accounts = json_is_true(fa);
    if (fa && !json_is_boolean(fa))
        app_err_field(&err, "from_accounts", "must be true or false");
    if (from_accounts == (inline_acc != NULL))
        app_err_field(&err, "accounts", "give either accounts or \"from_accounts\": true");
    if (pins && (!from_accounts || !json_is_object(pins)))
        app_err_field(
            &err, "pins",
            "an object {account id: territory id}, with from_accounts (inline accounts carry pinned_territory)");
    json_t *acc_seg = json_array();
    if (p.k > 0) {
        p.defs = calloc(p.k, sizeof *p.defs);
        for (size_t t = 0; p.defs && t < p.k; t++)
            p.defs[t].capacity = json_real_value(json_object_get(json_array_get(p.terrs, t), "capacity"));
    }
    if (inline_acc && err.code == ERR_NONE)
        decode_accounts(inline_acc, &p, acc_seg, &err);
    /* The accounts are C arrays now: the parsed list (jansson's tree, ~20
     * times the body's bytes) goes before the balancer and the result are
     * built, and its length takes its place in the stored request. */
    if (json_is_array(inline_acc))
        json_object_set_new(rq->json, "accounts", json_integer((json_int_t)json_array_size(inline_acc)));
    db_conn *db = NULL;
    if (err.code == ERR_NONE) {
        db = http_db(rq);
        if (!db) {
            json_decref(acc_seg);
            plan_in_free(&p);
            return;
        }
    }
    if (err.code == ERR_NONE && from_accounts)
        (void)load_accounts(db, rq->auth.workspace_id, pins, &p, acc_seg, &err);
    if (err.code == ERR_NONE && (!p.defs || !p.acc))
        app_err_set(&err, ERR_INTERNAL, "out of memory");
    if (err.code == ERR_NONE)
        (void)assign_segments(&p, acc_seg, &err);
    territory_result res;
    memset(&res, 0, sizeof res);
    if (err.code == ERR_NONE)
        (void)balance_plan(&p, &res, &err);
    json_decref(acc_seg);
    json_t *out =
        err.code == ERR_NONE ? plan_result_json(db, rq->auth.workspace_id, &p, &res, from_accounts, &err) : NULL;
    char loc[96];
    if (!out ||
        store_plan(db, rq->json, rq->auth.workspace_id, name, &p, res.assignment, out, loc, sizeof loc, &err) != 0) {
        json_decref(out);
        result_free(&res);
        plan_in_free(&p);
        http_reply_error(rq, &err);
        return;
    }
    result_free(&res);
    plan_in_free(&p);
    http_add_header(rq, "Location", loc);
    http_reply_json(rq, 201, out);
}

void h_territory_plans_list(http_req *rq)
{
    http_reply_list(
        rq, true,
        "SELECT territory_plan_json(p) - 'assignment', p.id FROM territory_plans p WHERE p.workspace_id = $1"
        " AND ($2::uuid IS NULL OR (p.created_at, p.id) < (SELECT created_at, id FROM territory_plans"
        "      WHERE id = $2::uuid AND workspace_id = $1))"
        " ORDER BY p.created_at DESC, p.id DESC LIMIT $3");
}

/* The plan's row as JSON (column 0) and its stored inputs (column 1), or a
 * 404 already answered. */
static PGresult *fetch_plan(http_req *rq, db_conn **dbp, const char *id, bool with_inputs)
{
    return http_query_id(rq, dbp, id,
                         with_inputs ? "SELECT territory_plan_json(p), p.inputs FROM territory_plans p"
                                       " WHERE workspace_id = $1 AND id = $2::uuid"
                                     : "SELECT territory_plan_json(p) FROM territory_plans p"
                                       " WHERE workspace_id = $1 AND id = $2::uuid",
                         "No territory plan with this id");
}

void h_territory_plans_get(http_req *rq)
{
    PGresult *r = fetch_plan(rq, NULL, rq->params[0], false);
    if (!r)
        return;
    http_reply_json_etag(rq, json_loads(PQgetvalue(r, 0, 0), 0, NULL));
    PQclear(r);
}

/* Rebuild a plan's inputs from their stored form; extra_terrs territories
 * (ids not in the plan) are appended with capacity 1 so a change report can
 * name where accounts came from. */
static int inputs_load(const json_t *in, plan_in *p, int **assignment)
{
    memset(p, 0, sizeof *p);
    const json_t *acc = json_object_get(in, "accounts"), *defs = json_object_get(in, "defs");
    p->terrs = json_deep_copy(json_object_get(in, "territories"));
    p->k = json_array_size(p->terrs);
    p->n = json_array_size(acc);
    p->acc = calloc(p->n + 1, sizeof *p->acc);
    p->defs = calloc(p->k + 1, sizeof *p->defs);
    p->acc_ids = json_array();
    *assignment = calloc(p->n + 1, sizeof **assignment);
    if (!p->terrs || !p->acc || !p->defs || !*assignment)
        return -1;
    territory_options_default(&p->opt);
    for (int c = 0; c < TERR_CRITERIA; c++)
        p->opt.weights[c] = json_number_value(json_array_get(json_object_get(in, "weights"), (size_t)c));
    for (size_t t = 0; t < p->k; t++) {
        const json_t *d = json_array_get(defs, t);
        p->defs[t].capacity = json_number_value(json_object_get(d, "capacity"));
        p->defs[t].segments = strtoull(json_string_value(json_object_get(d, "segments")), NULL, 10);
    }
    for (size_t i = 0; i < p->n; i++) {
        const json_t *a = json_array_get(acc, i);
        json_array_append(p->acc_ids, json_array_get(a, 0));
        p->acc[i].potential = json_integer_value(json_array_get(a, 1));
        p->acc[i].pipeline = json_integer_value(json_array_get(a, 2));
        p->acc[i].workload = json_number_value(json_array_get(a, 3));
        p->acc[i].segment = (int)json_integer_value(json_array_get(a, 4));
        p->acc[i].pinned = -1;
        p->acc[i].current = -1;
        (*assignment)[i] = (int)json_integer_value(json_array_get(json_object_get(in, "assignment"), i));
    }
    return 0;
}

void h_territory_plans_diff(http_req *rq)
{
    db_conn *db;
    PGresult *r = fetch_plan(rq, &db, rq->params[0], true);
    if (!r)
        return;
    app_err err = {0};
    const char *against = http_query(rq, "against");
    bool vs_current = against && strcmp(against, "current") == 0;
    if (!against || (!vs_current && !jv_is_uuid(against))) {
        PQclear(r);
        app_err_field(&err, "against", "must be another plan's id or \"current\" (the accounts' territories today)");
        http_reply_error(rq, &err);
        return;
    }
    json_t *inputs = json_loads(PQgetvalue(r, 0, 1), 0, NULL);
    PQclear(r);
    plan_in p;
    memset(&p, 0, sizeof p);
    int *asg = NULL;
    if (!inputs || inputs_load(inputs, &p, &asg) != 0) {
        json_decref(inputs);
        plan_in_free(&p);
        free(asg);
        http_fail(rq, ERR_INTERNAL, "the stored plan does not decode");
        return;
    }
    json_decref(inputs);
    /* the other side: account -> territory */
    PGresult *o = NULL;
    const char *prm[] = {rq->auth.workspace_id, against};
    if (vs_current)
        o = db_query(db,
                     "SELECT external_id, territory FROM accounts WHERE workspace_id = $1 AND deleted_at IS NULL"
                     " AND territory IS NOT NULL",
                     1, prm, &err);
    else
        o = db_query(db,
                     "SELECT x ->> 'account_id', x ->> 'territory' FROM territory_plans p,"
                     " jsonb_array_elements(p.result -> 'assignment') x WHERE p.workspace_id = $1 AND p.id = $2::uuid",
                     2, prm, &err);
    if (o && !vs_current && PQntuples(o) == 0) {
        /* an empty plan cannot be stored: the id is not a plan of this workspace */
        PQclear(o);
        o = NULL;
        app_err_field(&err, "against", "no territory plan with this id");
    }
    if (!o) {
        plan_in_free(&p);
        free(asg);
        http_reply_error(rq, &err);
        return;
    }
    json_t *before = json_object();
    long removed = 0;
    json_t *ids = json_object();
    for (size_t i = 0; i < p.n; i++)
        json_object_set_new(ids, json_string_value(json_array_get(p.acc_ids, i)), json_integer((json_int_t)i));
    int no = PQntuples(o);
    for (int i = 0; i < no; i++) {
        const char *aid = PQgetvalue(o, i, 0), *tid = PQgetvalue(o, i, 1);
        if (!json_object_get(ids, aid)) {
            removed += !vs_current;
            continue;
        }
        int t = terr_index(p.terrs, tid);
        if (t < 0) { /* a territory this plan does not have: report it too */
            json_array_append_new(p.terrs,
                                  json_pack("{s:s, s:n, s:n, s:f}", "id", tid, "segment", "region", "capacity", 1.0));
            territory_def *nd = realloc(p.defs, (p.k + 1) * sizeof *nd);
            if (!nd)
                break;
            p.defs = nd;
            p.defs[p.k] = (territory_def){.capacity = 1.0, .segments = 0};
            t = (int)p.k++;
        }
        json_object_set_new(before, aid, json_integer(t));
    }
    PQclear(o);
    for (size_t i = 0; i < p.n; i++) {
        const json_t *b = json_object_get(before, json_string_value(json_array_get(p.acc_ids, i)));
        p.acc[i].current = b ? (int)json_integer_value(b) : -1;
    }
    json_decref(ids);
    json_decref(before);
    territory_row *rows = calloc(p.k + 1, sizeof *rows);
    territory_result res;
    memset(&res, 0, sizeof res);
    res.assignment = asg;
    res.rows = rows;
    territory_error te = {{0}, {0}};
    /* segments are not a constraint of a report: the extra territories take all */
    if (!rows || territory_report(p.acc, p.n, p.defs, p.k, &p.opt, asg, &res, &te) != 0) {
        free(rows);
        free(asg);
        plan_in_free(&p);
        http_fail(rq, ERR_INTERNAL, "the change report could not be computed: %s", te.message);
        return;
    }
    json_t *changes = json_array();
    for (size_t i = 0; i < p.n && json_array_size(changes) < TERR_MAX_CHANGES; i++)
        if (p.acc[i].current != asg[i])
            json_array_append_new(changes, json_pack("{s:O, s:s?, s:s}", "account_id", json_array_get(p.acc_ids, i),
                                                     "from", terr_id(&p, p.acc[i].current), "to", terr_id(&p, asg[i])));
    json_t *out =
        json_pack("{s:s, s:s, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:b}", "plan_id", rq->params[0], "against", against,
                  "accounts_moved", (json_int_t)res.moved, "newly_assigned", (json_int_t)res.newly_assigned, "removed",
                  (json_int_t)removed, "potential_moved", money_j(res.potential_moved), "pipeline_moved",
                  money_j(res.pipeline_moved), "territories", movement_json(&p, &res, p.k), "changes", changes,
                  "changes_truncated", res.moved + res.newly_assigned > TERR_MAX_CHANGES);
    free(rows);
    free(asg);
    plan_in_free(&p);
    http_reply_json(rq, 200, out);
}

/* apply and revert: {effective_date?} (default today). */
static void apply_or_revert(http_req *rq, bool apply)
{
    app_err err = {0};
    if (rq->json && !jv_require_object(rq->json, &err)) {
        http_reply_error(rq, &err);
        return;
    }
    db_conn *db;
    PGresult *r = fetch_plan(rq, &db, rq->params[0], false);
    if (!r)
        return;
    PQclear(r);
    static const char *const allowed[] = {"effective_date", NULL};
    int eff = utc_today();
    if (rq->json) {
        (void)jv_only_fields(rq->json, allowed, &err);
        (void)jv_date(rq->json, "effective_date", false, &eff, NULL, &err);
    }
    if (err.code != ERR_NONE) {
        http_reply_error(rq, &err);
        return;
    }
    char effs[16];
    caldate_format(eff, effs, sizeof effs);
    const char *p[] = {rq->auth.workspace_id, rq->params[0], effs};
    r = db_query(db,
                 apply ? "SELECT territory_plan_apply($1, $2::uuid, $3::date)"
                       : "SELECT territory_plan_revert($1, $2::uuid, $3::date)",
                 3, p, &err);
    if (!r) {
        http_reply_error(rq, &err);
        return;
    }
    if (PQgetisnull(r, 0, 0))
        http_fail(rq, apply ? ERR_NOT_FOUND : ERR_CONFLICT,
                  apply ? "No territory plan with this id" : "This plan has no application left to revert");
    else
        http_reply_json(rq, 200, json_loads(PQgetvalue(r, 0, 0), 0, NULL));
    PQclear(r);
}

void h_territory_plans_apply(http_req *rq) { apply_or_revert(rq, true); }
void h_territory_plans_revert(http_req *rq) { apply_or_revert(rq, false); }

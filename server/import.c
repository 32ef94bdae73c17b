/* import.c - CSV/NDJSON import: mapping, reported fixes, rejected rows, and
 * stage history rebuilt from per-stage dates; written through crm_apply
 * (leads: lead_apply_many, checked by lead_check as PUT /v1/leads checks). */
#include "import.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "crm.h"
#include "csv.h"
#include "handlers.h"
#include "jsonv.h"
#include "leadcheck.h"
#include "money.h"

#define IMPORT_CHUNK 500      /* ops per round trip */
#define IMPORT_FIX_DETAIL 100 /* fixes listed one by one; all are counted in fix_summary */

typedef struct {
    const crm_object *o;
    const json_t *req;
    json_t *fixes;       /* first IMPORT_FIX_DETAIL fixes */
    json_t *fix_summary; /* "field\x1from\x1to\x1reason" -> count */
    long nfixes;
    json_t *rejections;
    json_t *ops;
    json_t *op_rows; /* row number of each op's record (one record may give several ops) */
    json_t *last_op; /* index of each record's final op */
} import_ctx;

/* ---- fixes --------------------------------------------------------------- */

static void note_fix(import_ctx *x, long row, const char *field, const char *from, const char *to, const char *reason)
{
    x->nfixes++;
    if (json_array_size(x->fixes) < IMPORT_FIX_DETAIL)
        json_array_append_new(x->fixes, json_pack("{s:I, s:s, s:s, s:s, s:s}", "row", (json_int_t)row, "field", field,
                                                  "from", from, "to", to, "reason", reason));
    char key[600];
    snprintf(key, sizeof key, "%s\x01%.200s\x01%.200s\x01%s", field, from, to, reason);
    json_t *n = json_object_get(x->fix_summary, key);
    json_object_set_new(x->fix_summary, key, json_integer(n ? json_integer_value(n) + 1 : 1));
}

static void normalise(const char *s, char *out, size_t len)
{
    size_t n = 0;
    for (; *s && n + 1 < len; s++)
        if (isalnum((unsigned char)*s))
            out[n++] = (char)tolower((unsigned char)*s);
    out[n] = '\0';
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof prev);
    }
    return prev[lb];
}

/* The known value v stands for: itself, the same letters ignoring case and
 * punctuation ("alias"), or the unique value within 2 edits ("misspelled").
 * known: array of strings. NULL when nothing fits. */
static const char *match_known(const json_t *known, const char *v, const char **reason)
{
    char nv[256], nk[256];
    normalise(v, nv, sizeof nv);
    size_t i;
    const json_t *k;
    *reason = NULL;
    json_array_foreach(known, i, k)
    {
        if (strcmp(json_string_value(k), v) == 0)
            return json_string_value(k);
    }
    json_array_foreach(known, i, k)
    {
        normalise(json_string_value(k), nk, sizeof nk);
        if (*nv && strcmp(nk, nv) == 0) {
            *reason = "alias";
            return json_string_value(k);
        }
    }
    const char *best = NULL;
    size_t bestd = 99;
    bool tie = false;
    json_array_foreach(known, i, k)
    {
        normalise(json_string_value(k), nk, sizeof nk);
        size_t d = edit_distance(nv, nk);
        if (d < bestd) {
            bestd = d;
            best = json_string_value(k);
            tie = false;
        } else if (d == bestd) {
            tie = true;
        }
    }
    if (best && !tie && bestd <= 2 && strlen(nv) >= 4) {
        *reason = "misspelled";
        return best;
    }
    return NULL;
}

static json_t *keys_of(const json_t *obj)
{
    json_t *a = json_array();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        (void)v;
        json_array_append_new(a, json_string(k));
    }
    return a;
}

static json_t *values_of(const char *const *values)
{
    json_t *a = json_array();
    for (; values && *values; values++)
        json_array_append_new(a, json_string(*values));
    return a;
}

/* ---- value coercion ------------------------------------------------------ */

/* "YYYY-MM-DD" or "M/D/YYYY" into a day. */
static bool parse_day(const char *s, caldate_t *d)
{
    if (caldate_parse(s, d))
        return true;
    int m, dd, y, n = 0;
    if (sscanf(s, "%d/%d/%d%n", &m, &dd, &y, &n) == 3 && s[n] == '\0' && caldate_valid_ymd(y, m, dd)) {
        *d = caldate_from_ymd(y, m, dd);
        return true;
    }
    return false;
}

/* A timestamp from an RFC 3339 string or a date (midnight UTC), into buf. */
static const char *parse_ts(const char *s, char *buf, size_t len)
{
    if (crm_is_timestamp(s))
        return s;
    caldate_t d;
    char day[16];
    if (!parse_day(s, &d))
        return NULL;
    snprintf(buf, len, "%sT00:00:00Z", caldate_format(d, day, sizeof day));
    return buf;
}

/* A string cell into the JSON value field f expects; NULL (and *why) when it cannot be. */
static json_t *coerce(const crm_field *f, const char *s, long long scale, const char **why)
{
    char buf[40];
    char *end = NULL;
    money_t cents;
    caldate_t d;
    switch (f->type) {
    case CRM_MONEY:
        if (!money_parse(s, &cents) || (scale > 1 && (cents > MONEY_MAX_ABS / scale))) {
            *why = "is not an amount";
            return NULL;
        }
        cents *= scale > 1 ? scale : 1;
        return json_real((double)cents / 100.0);
    case CRM_INT: {
        long long v = strtoll(s, &end, 10);
        if (!*s || *end) {
            *why = "is not an integer";
            return NULL;
        }
        return json_integer(v * (scale > 1 ? scale : 1));
    }
    case CRM_PROB: {
        double v = strtod(s, &end);
        if (!*s || *end) {
            *why = "is not a number";
            return NULL;
        }
        return json_real(v);
    }
    case CRM_DATE:
        if (!parse_day(s, &d)) {
            *why = "is not a date (YYYY-MM-DD or M/D/YYYY)";
            return NULL;
        }
        return json_string(caldate_format(d, buf, sizeof buf));
    case CRM_TS: {
        const char *t = parse_ts(s, buf, sizeof buf);
        if (!t) {
            *why = "is not a timestamp or date";
            return NULL;
        }
        return json_string(t);
    }
    case CRM_OBJECT:
    case CRM_QUOTAS: {
        json_t *j = json_loads(s, 0, NULL);
        if (!j)
            *why = "is not a JSON object";
        return j;
    }
    default:
        return json_string(s);
    }
}

/* ---- request validation -------------------------------------------------- */

static bool check_obj_of(const json_t *req, const char *key, app_err *e)
{
    const json_t *v = json_object_get(req, key);
    if (v && !json_is_object(v)) {
        app_err_field(e, key, "must be an object");
        return false;
    }
    return true;
}

static const crm_object *check_request(const json_t *req, app_err *e)
{
    static const char *const allowed[] = {"object",     "format",   "data",  "mapping", "stage_map", "price_list",
                                          "vocabulary", "defaults", "scale", "as_of",   NULL};
    const char *key;
    json_t *v;
    if (!json_is_object(req)) {
        app_err_field(e, "body", "must be a JSON object");
        return NULL;
    }
    json_object_foreach((json_t *)req, key, v)
    {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            ok = ok || strcmp(*a, key) == 0;
        if (!ok)
            app_err_field(e, key, "is not an import option");
    }
    const char *object = json_string_value(json_object_get(req, "object"));
    const crm_object *o = object && strcmp(object, "leads") == 0 ? &crm_leads : crm_object_named(object);
    if (!o)
        app_err_field(e, "object", "must be one of deals, accounts, reps, leads");
    const char *fmt = json_string_value(json_object_get(req, "format"));
    if (!fmt || (strcmp(fmt, "csv") != 0 && strcmp(fmt, "ndjson") != 0))
        app_err_field(e, "format", "must be csv or ndjson");
    if (!json_is_string(json_object_get(req, "data")))
        app_err_field(e, "data", "must be the file's text");
    const char *objs[] = {"mapping", "stage_map", "price_list", "vocabulary", "defaults", "scale"};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++)
        (void)check_obj_of(req, objs[i], e);
    const char *as_of = json_string_value(json_object_get(req, "as_of"));
    if (json_object_get(req, "as_of") && (!as_of || !crm_is_timestamp(as_of)))
        app_err_field(e, "as_of", "must be an RFC 3339 timestamp");
    else if (as_of && crm_timestamp_too_late(as_of))
        app_err_field(e, "as_of", "is in the future (more than %d minutes ahead of this server's clock)",
                      CRM_MAX_FUTURE_SKEW_S / 60);
    json_object_foreach(json_object_get(req, "mapping"), key, v)
    {
        char path[300];
        snprintf(path, sizeof path, "mapping.%.200s", key);
        json_t *targets = json_is_string(v) ? json_pack("[O]", v) : json_incref(v);
        size_t i;
        json_t *t;
        if (!json_is_array(targets) || json_array_size(targets) == 0)
            app_err_field(e, path, "must be a target field or an array of them");
        else if (o)
            json_array_foreach(targets, i, t)
            {
                const char *s = json_string_value(t);
                bool ok =
                    s && (strcmp(s, "id") == 0 || crm_field_named(o, s) || (strncmp(s, "custom.", 7) == 0 && s[7]) ||
                          (o->kind == CRM_DEALS && (strcmp(s, "product") == 0 ||
                                                    (strncmp(s, "stage_date.", 11) == 0 && crm_is_stage_key(s + 11)))));
                if (!ok)
                    app_err_field(e, path, "'%.100s' is not a field of a %s", s ? s : "?", o->singular);
            }
        json_decref(targets);
    }
    json_object_foreach(json_object_get(req, "stage_map"), key, v)
    {
        if (!json_is_string(v) || !crm_is_stage_key(json_string_value(v))) {
            char path[300];
            snprintf(path, sizeof path, "stage_map.%.200s", key);
            app_err_field(e, path, "must be a funnel stage key");
        }
    }
    json_object_foreach(json_object_get(req, "price_list"), key, v)
    {
        money_t c;
        if (!json_is_number(v) || !money_from_double(json_number_value(v), &c) || c < 0) {
            char path[300];
            snprintf(path, sizeof path, "price_list.%.200s", key);
            app_err_field(e, path, "must be an amount");
        }
    }
    json_object_foreach(json_object_get(req, "scale"), key, v)
    {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 1000000000) {
            char path[300];
            snprintf(path, sizeof path, "scale.%.200s", key);
            app_err_field(e, path, "must be an integer factor from 1 to 1e9");
        }
    }
    json_object_foreach(json_object_get(req, "vocabulary"), key, v)
    {
        size_t i;
        json_t *t;
        bool ok = json_is_array(v);
        json_array_foreach(v, i, t) ok = ok && json_is_string(t);
        if (!ok) {
            char path[300];
            snprintf(path, sizeof path, "vocabulary.%.200s", key);
            app_err_field(e, path, "must be an array of strings");
        }
    }
    return e->code == ERR_NONE ? o : NULL;
}

/* ---- records ------------------------------------------------------------- */

/* Decode data into [{row, values}] where values maps column -> raw value. */
static json_t *decode_records(const json_t *req, import_ctx *x, app_err *e)
{
    const char *fmt = json_string_value(json_object_get(req, "format"));
    const char *data = json_string_value(json_object_get(req, "data"));
    size_t len = json_string_length(json_object_get(req, "data"));
    json_t *out = json_array();
    if (strcmp(fmt, "csv") == 0) {
        char msg[200];
        bool over = false;
        /* refused as the rows are read: a 16 MB file used to be parsed whole
         * (about 210 times its size in memory) before the row count was checked */
        json_t *rows = csv_parse_max(data, len, IMPORT_MAX_ROWS + 1, &over, msg, sizeof msg); /* + the header */
        if (!rows) {
            if (over)
                app_err_field(e, "data", "has more than %d rows", IMPORT_MAX_ROWS);
            else
                app_err_field(e, "data", "%s", msg);
            json_decref(out);
            return NULL;
        }
        json_t *head = json_array_get(rows, 0);
        if (!head) {
            app_err_field(e, "data", "has no header row");
            json_decref(rows);
            json_decref(out);
            return NULL;
        }
        for (size_t r = 1; r < json_array_size(rows); r++) {
            json_t *rec = json_array_get(rows, r);
            json_t *vals = json_object();
            for (size_t c = 0; c < json_array_size(rec) && c < json_array_size(head); c++)
                json_object_set(vals, json_string_value(json_array_get(head, c)), json_array_get(rec, c));
            if (json_array_size(rec) != json_array_size(head))
                json_array_append_new(x->rejections, json_pack("{s:I, s:n, s:s}", "row", (json_int_t)r, "id", "reason",
                                                               "the number of columns differs from the header"));
            else
                json_array_append_new(out, json_pack("{s:I, s:o}", "row", (json_int_t)r, "values", vals));
            if (json_array_size(rec) != json_array_size(head))
                json_decref(vals);
        }
        json_decref(rows);
    } else {
        const char *p = data, *end = data + len;
        long row = 0;
        while (p < end) {
            if (json_array_size(out) + json_array_size(x->rejections) > IMPORT_MAX_ROWS)
                break; /* refused below, without reading the rest */
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            row++;
            json_t *j = n ? json_loadb(p, n, JSON_REJECT_DUPLICATES, NULL) : NULL;
            bool blank = true;
            for (size_t k = 0; k < n; k++)
                blank = blank && isspace((unsigned char)p[k]);
            if (!blank) {
                if (!json_is_object(j))
                    json_array_append_new(x->rejections, json_pack("{s:I, s:n, s:s}", "row", (json_int_t)row, "id",
                                                                   "reason", "the line is not a JSON object"));
                else
                    json_array_append_new(out, json_pack("{s:I, s:O}", "row", (json_int_t)row, "values", j));
            }
            json_decref(j);
            p += n + 1;
        }
    }
    if (json_array_size(out) + json_array_size(x->rejections) > IMPORT_MAX_ROWS) {
        app_err_field(e, "data", "has more than %d rows", IMPORT_MAX_ROWS);
        json_decref(out);
        return NULL;
    }
    return out;
}

static void reject(import_ctx *x, long row, const char *id, const char *fmt, const char *a, const char *b)
{
    char reason[400];
    snprintf(reason, sizeof reason, fmt, a, b);
    json_array_append_new(x->rejections, json_pack("{s:I, s:o, s:s}", "row", (json_int_t)row, "id",
                                                   id ? json_string(id) : json_null(), "reason", reason));
}

typedef struct {
    char stage[80];
    char at[40];
} stage_date;

static int cmp_stage_date(const void *a, const void *b)
{
    return strcmp(((const stage_date *)a)->at, ((const stage_date *)b)->at);
}

/* One record while it becomes ops: the fields it gives (in, custom), its
 * dated stages, product and id. */
typedef struct {
    json_t *in, *custom;
    stage_date dates[16];
    int ndates;
    const char *product, *id;
    char idbuf[256];
} import_rec;

/* The record's columns through the mapping into r: fields coerced to their
 * type, custom.*, product, stage_date.* and the id. -1 when a value is
 * rejected (the rejection is recorded). */
static int map_record(import_ctx *x, long row, const json_t *vals, import_rec *r)
{
    const crm_object *o = x->o;
    const json_t *req = x->req;
    const json_t *mapping = json_object_get(req, "mapping");
    const char *col;
    json_t *raw;
    json_object_foreach((json_t *)vals, col, raw)
    {
        json_t *tg = json_object_get(mapping, col);
        json_t *targets = tg ? (json_is_string(tg) ? json_pack("[O]", tg) : json_incref(tg)) : json_pack("[s]", col);
        size_t i;
        json_t *t;
        json_array_foreach(targets, i, t)
        {
            const char *target = json_string_value(t);
            const char *s = json_string_value(raw);
            if (json_is_null(raw) || (s && !*s))
                continue; /* an empty cell is "not given" */
            if (strcmp(target, "id") == 0) {
                if (s)
                    snprintf(r->idbuf, sizeof r->idbuf, "%s", s);
                else if (json_is_integer(raw))
                    snprintf(r->idbuf, sizeof r->idbuf, "%lld", (long long)json_integer_value(raw));
                r->id = r->idbuf;
            } else if (strncmp(target, "custom.", 7) == 0) {
                json_object_set(r->custom, target + 7, raw);
            } else if (o->kind == CRM_LEADS && strcmp(target, "deals") == 0 && s) {
                /* a lead's deal ids in one cell: "D-1;D-2" (or a JSON array) */
                json_t *ids = *s == '[' ? json_loads(s, 0, NULL) : json_array();
                for (const char *p = s; *s != '[' && *p;) {
                    size_t n = strcspn(p, ";");
                    if (n > 0)
                        json_array_append_new(ids, json_stringn(p, n));
                    p += n + (p[n] == ';');
                }
                if (!json_is_array(ids)) {
                    json_decref(ids);
                    reject(x, row, r->id, "%s: '%.60s' is not a list of deal ids (D-1;D-2)", col, s);
                    json_decref(targets);
                    return -1;
                }
                json_object_set_new(r->in, target, ids);
            } else if (o->kind == CRM_DEALS && strcmp(target, "product") == 0 && s) {
                r->product = s;
            } else if (o->kind == CRM_DEALS && strncmp(target, "stage_date.", 11) == 0 && s) {
                char buf[40];
                const char *ts = parse_ts(s, buf, sizeof buf);
                if (!ts) {
                    reject(x, row, r->id, "%s: '%.60s' is not a date", col, s);
                    json_decref(targets);
                    return -1;
                }
                if (crm_timestamp_too_late(ts)) { /* it would make every later change look stale */
                    reject(x, row, r->id, "%s: '%.60s' is in the future", col, s);
                    json_decref(targets);
                    return -1;
                }
                if (r->ndates < 16) {
                    snprintf(r->dates[r->ndates].stage, sizeof r->dates[0].stage, "%s", target + 11);
                    snprintf(r->dates[r->ndates].at, sizeof r->dates[0].at, "%s", ts);
                    r->ndates++;
                }
            } else {
                const crm_field *f = crm_field_named(o, target);
                if (!f)
                    continue; /* an unmapped column that is not a field */
                if (!s) {
                    json_object_set(r->in, target, raw);
                    continue;
                }
                const char *why = NULL;
                long long scale = json_integer_value(json_object_get(json_object_get(req, "scale"), target));
                json_t *v = coerce(f, s, scale, &why);
                if (!v) {
                    /* reject takes two strings: three %s read past them (the reason
                     * used to end in whatever was there, not why) */
                    char what[300];
                    snprintf(what, sizeof what, "%.200s: '%.60s'", col, s);
                    reject(x, row, r->id, "%s %s", what, why);
                    json_decref(targets);
                    return -1;
                }
                json_object_set_new(r->in, target, v);
            }
        }
        json_decref(targets);
    }
    return 0;
}

/* Stage through stage_map (or a near match of its keys, reported as a fix),
 * enum and vocabulary values to their known spelling. -1 when a stage is
 * unknown (recorded). */
static int fix_values(import_ctx *x, long row, import_rec *r)
{
    const crm_object *o = x->o;
    const json_t *req = x->req;
    const char *col;
    json_t *raw;
    json_object_foreach(r->in, col, raw)
    {
        const char *s = json_string_value(raw);
        const crm_field *f = crm_field_named(o, col);
        if (!s || !f)
            continue;
        json_t *known = NULL;
        if ((o->kind == CRM_DEALS && strcmp(col, "stage") == 0) ||
            (o->kind == CRM_LEADS && strcmp(col, "lifecycle_stage") == 0)) {
            const json_t *sm = json_object_get(req, "stage_map");
            const char *mapped = json_string_value(json_object_get(sm, s));
            if (mapped) {
                json_object_set_new(r->in, col, json_string(mapped));
                continue;
            }
            if (crm_is_stage_key(s))
                continue;
            known = keys_of(sm);
            const char *why;
            const char *k = match_known(known, s, &why);
            if (k) {
                note_fix(x, row, "stage", s, json_string_value(json_object_get(sm, k)), why);
                json_object_set_new(r->in, col, json_string(json_string_value(json_object_get(sm, k))));
            } else {
                reject(x, row, r->id, "%s: '%.60s' is not in stage_map nor a funnel stage key", col, s);
                json_decref(known);
                return -1;
            }
        } else if (f->type == CRM_ENUM || json_object_get(json_object_get(req, "vocabulary"), col)) {
            known = f->type == CRM_ENUM ? values_of(f->values)
                                        : json_incref(json_object_get(json_object_get(req, "vocabulary"), col));
            const char *why;
            const char *k = match_known(known, s, &why);
            if (k && why) {
                note_fix(x, row, col, s, k, why);
                json_object_set_new(r->in, col, json_string(k));
            }
        }
        json_decref(known);
    }
    return 0;
}

/* A deal's product: its price-list spelling (a fix when corrected), and an
 * open deal without an amount gets the list price (reported as estimated). */
static void apply_product(import_ctx *x, long row, import_rec *r)
{
    const json_t *req = x->req;
    const json_t *pl = json_object_get(req, "price_list");
    json_t *known = keys_of(pl);
    const char *why;
    const char *k = json_object_size(pl) ? match_known(known, r->product, &why) : r->product;
    if (k && k != r->product && why)
        note_fix(x, row, "product", r->product, k, why);
    json_object_set_new(r->custom, "product", json_string(k ? k : r->product));
    const char *stage = json_string_value(json_object_get(r->in, "stage"));
    const char *status = json_string_value(json_object_get(r->in, "status"));
    bool open = !(status && strcmp(status, "open") != 0) &&
                !(stage && (strcmp(stage, "closed_won") == 0 || strcmp(stage, "closed_lost") == 0));
    json_t *price = k ? json_object_get(pl, k) : NULL;
    if (open && !json_object_get(r->in, "amount") && price) {
        char amt[40];
        money_t c = 0;
        if (!money_from_double(json_number_value(price), &c))
            c = 0; /* price_list amounts were validated */
        note_fix(x, row, "amount", "", money_format(c, amt, sizeof amt), "estimated from price_list");
        json_object_set(r->in, "amount", price);
    }
    json_decref(known);
}

/* The ops of a checked record: every dated stage before the final one in
 * time order, then the final state (at the close, else the last known date,
 * else as_of). */
static void emit_ops(import_ctx *x, long row, import_rec *r, json_t *patch)
{
    const crm_object *o = x->o;
    const json_t *req = x->req;
    /* the stage history: every dated stage before the final one, in time order */
    const char *final_stage = json_string_value(json_object_get(patch, "stage"));
    qsort(r->dates, (size_t)r->ndates, sizeof r->dates[0], cmp_stage_date);
    const char *as_of = json_string_value(json_object_get(req, "as_of"));
    const char *closed = json_string_value(json_object_get(patch, "closed_at"));
    const char *final_at = NULL;
    for (int i = 0; i < r->ndates; i++) {
        if (final_stage && strcmp(r->dates[i].stage, final_stage) == 0) {
            final_at = r->dates[i].at;
            continue;
        }
        json_t *op = json_pack("{s:s, s:{s:s}, s:s, s:s}", "id", r->id, "patch", "stage", r->dates[i].stage, "at",
                               r->dates[i].at, "origin", "import");
        json_array_append_new(x->ops, op);
        json_array_append_new(x->op_rows, json_integer(row));
    }
    /* the final state happens at the close, else at the last known date, else as_of */
    const char *at = closed ? closed : r->ndates ? r->dates[r->ndates - 1].at : as_of;
    if (closed && r->ndates && strcmp(r->dates[r->ndates - 1].at, closed) > 0)
        at = r->dates[r->ndates - 1].at;
    json_t *op = json_pack("{s:s, s:o, s:s}", "id", r->id, "patch", patch, "origin", "import");
    if (at)
        json_object_set_new(op, "at", json_string(at));
    if (o->kind == CRM_DEALS) /* when the final stage was entered; null when no date says */
        json_object_set_new(op, "stage_at",
                            final_at ? json_string(final_at)
                            : closed ? json_string(closed)
                                     : json_null());
    json_array_append_new(x->ops, op);
    json_array_append_new(x->op_rows, json_integer(row));
    json_array_append_new(x->last_op, json_integer((json_int_t)json_array_size(x->ops) - 1));
}

/* Turn one record into ops (deals: one per reconstructed stage, then the final state). */
static void one_record(import_ctx *x, long row, const json_t *vals)
{
    const crm_object *o = x->o;
    import_rec r = {.in = json_object(), .custom = json_object()};
    if (map_record(x, row, vals, &r) != 0)
        goto out;
    /* defaults, then fixes */
    const char *col;
    json_t *dv;
    json_object_foreach(json_object_get(x->req, "defaults"), col, dv)
    {
        if (!json_object_get(r.in, col))
            json_object_set(r.in, col, dv);
    }
    if (!r.id) {
        reject(x, row, NULL, "%s%s", "no id column is mapped or the id is empty", "");
        goto out;
    }
    if (o->kind == CRM_LEADS && strlen(r.id) > 200) { /* PUT /v1/leads/{id}'s rule; the table refuses more */
        reject(x, row, NULL, "%s%s", "the id is longer than 200 characters", "");
        goto out;
    }
    if (!jv_id_clean(r.id)) { /* the same rule as a path or batch id */
        reject(x, row, NULL, "%s%s", "the id contains a control character (CR, LF, NUL, ...); ids never do", "");
        goto out;
    }
    if (fix_values(x, row, &r) != 0)
        goto out;
    if (o->kind == CRM_DEALS && r.product)
        apply_product(x, row, &r);
    if (json_object_size(r.custom))
        json_object_set(r.in, "custom", r.custom);
    app_err ferr = {0};
    static const char *const no_extra[] = {NULL};
    json_t *patch = o->kind == CRM_LEADS ? lead_check(r.in, no_extra, &ferr) : crm_check(o, r.in, true, NULL, &ferr);
    if (!patch) {
        char msg[400] = "";
        size_t n = 0;
        for (int i = 0; i < ferr.nfields && n < sizeof msg; i++)
            n += (size_t)snprintf(msg + n, sizeof msg - n, "%s%s %s", i ? "; " : "", ferr.fields[i].field,
                                  ferr.fields[i].message);
        reject(x, row, r.id, "%s%s", msg, "");
        goto out;
    }
    emit_ops(x, row, &r, patch);
out:
    json_decref(r.in);
    json_decref(r.custom);
}

/* Leads through lead_apply_many (sql/74_leads.sql): results, one per op. */
static int lead_apply_chunk(db_conn *c, const char *ws, const json_t *ops, json_t **res, app_err *err)
{
    char *text = json_dumps(ops, JSON_COMPACT);
    if (!text) {
        app_err_set(err, ERR_INTERNAL, "could not encode the changes");
        return -1;
    }
    const char *p[] = {ws, text};
    PGresult *r = db_query(c, "SELECT result FROM lead_apply_many($1::uuid, $2::jsonb) ORDER BY n", 2, p, err);
    free(text);
    if (!r)
        return -1;
    *res = json_array();
    for (int i = 0; i < PQntuples(r); i++)
        json_array_append_new(*res, json_string(PQgetvalue(r, i, 0)));
    PQclear(r);
    return 0;
}

/* The imported leads that are MQL now are routed in the import's
 * transaction, as PUT routes the leads it makes MQL. */
static int route_imported_mqls(db_conn *c, const char *ws, const json_t *ops, app_err *err)
{
    json_t *ids = json_array();
    size_t i;
    json_t *op;
    json_array_foreach(ops, i, op)
    {
        const char *st = json_string_value(json_object_get(json_object_get(op, "patch"), "lifecycle_stage"));
        if (st && strcmp(st, "mql") == 0)
            json_array_append(ids, json_object_get(op, "id"));
    }
    char *text = json_array_size(ids) ? json_dumps(ids, JSON_COMPACT) : NULL;
    json_decref(ids);
    int rc = text ? routing_route_new_mqls(c, ws, text, err) : 0;
    free(text);
    return rc;
}

typedef struct {
    import_ctx *x;
    const char *ws;
    json_t *results;
} apply_tx;

static int apply_tx_run(db_conn *c, void *ctx, app_err *err)
{
    apply_tx *t = ctx;
    json_decref(t->results);
    t->results = json_array();
    /* a bulk load of 20,000 rows may take longer than one API statement may */
    if (db_exec(c, "SET LOCAL statement_timeout = '120s'", 0, NULL, err) != 0)
        return -1;
    size_t n = json_array_size(t->x->ops);
    for (size_t off = 0; off < n; off += IMPORT_CHUNK) {
        json_t *chunk = json_array();
        for (size_t i = off; i < n && i < off + IMPORT_CHUNK; i++)
            json_array_append(chunk, json_array_get(t->x->ops, i));
        json_t *res = NULL;
        int rc = t->x->o->kind == CRM_LEADS ? lead_apply_chunk(c, t->ws, chunk, &res, err)
                                            : crm_apply(c, t->x->o, t->ws, chunk, &res, err);
        json_decref(chunk);
        if (rc != 0)
            return -1;
        json_array_extend(t->results, res);
        json_decref(res);
        /* A first load into empty tables: without statistics the planner
         * may look deals up through a (workspace_id, ...) secondary index,
         * scanning every row of the workspace per lookup (minutes for the
         * CRM sample). ANALYZE sees this transaction's rows and replans. */
        if (off == 0 && n > IMPORT_CHUNK) {
            char sql[160];
            snprintf(sql, sizeof sql, "ANALYZE %s%s", t->x->o->table,
                     t->x->o->kind == CRM_DEALS   ? ", deal_changes, deal_stage_history"
                     : t->x->o->kind == CRM_LEADS ? ", lead_changes, lead_stage_history"
                                                  : "");
            if (db_exec(c, sql, 0, NULL, err) != 0)
                return -1;
        }
    }
    return t->x->o->kind == CRM_LEADS ? route_imported_mqls(c, t->ws, t->x->ops, err) : 0;
}

/* Deal rows whose changes name an unknown stage, owner, account or currency
 * (crm_refs: the rule of PUT /v1/deals/{id}) are rejected with the reasons;
 * their ops leave x->ops (op_rows and last_op rebuilt). 0, or -1 with err. */
static int reject_unknown_refs(db_conn *c, const char *ws, import_ctx *x, app_err *err)
{
    json_t *patches = json_array();
    size_t i;
    json_t *op;
    json_array_foreach(x->ops, i, op) json_array_append(patches, json_object_get(op, "patch"));
    crm_refs *refs = crm_refs_load(c, ws, patches, err);
    json_decref(patches);
    if (!refs)
        return -1;
    json_t *bad = json_object(); /* row -> true */
    json_array_foreach(x->ops, i, op)
    {
        app_err one = {0};
        long row = (long)json_integer_value(json_array_get(x->op_rows, i));
        char key[32];
        snprintf(key, sizeof key, "%ld", row);
        if (json_object_get(bad, key) || crm_refs_check(refs, json_object_get(op, "patch"), &one))
            continue;
        json_object_set_new(bad, key, json_true());
        char msg[400] = "";
        size_t n = 0;
        for (int f = 0; f < one.nfields && n < sizeof msg; f++)
            n += (size_t)snprintf(msg + n, sizeof msg - n, "%s%s: %s", f ? "; " : "", one.fields[f].field,
                                  one.fields[f].message);
        reject(x, row, json_string_value(json_object_get(op, "id")), "%s%s", msg, "");
    }
    crm_refs_free(refs);
    if (json_object_size(bad) > 0) {
        json_t *ops = json_array(), *rows = json_array(), *last = json_array();
        json_array_foreach(x->ops, i, op)
        {
            json_t *row = json_array_get(x->op_rows, i);
            char key[32];
            snprintf(key, sizeof key, "%lld", (long long)json_integer_value(row));
            if (json_object_get(bad, key))
                continue;
            json_array_append(ops, op);
            json_array_append(rows, row);
            /* a record's ops are consecutive: its last one ends it */
            json_t *next = json_array_get(x->op_rows, i + 1);
            if (!next || json_integer_value(next) != json_integer_value(row))
                json_array_append_new(last, json_integer((json_int_t)json_array_size(ops) - 1));
        }
        json_decref(x->ops);
        json_decref(x->op_rows);
        json_decref(x->last_op);
        x->ops = ops;
        x->op_rows = rows;
        x->last_op = last;
    }
    json_decref(bad);
    return 0;
}

/* Lead rows whose lifecycle stage is not one of the workspace's default
 * funnel (PUT /v1/leads/{id}'s rule) are rejected with the reason; a lead
 * record is one op, so its op leaves x->ops. 0, or -1 with err. */
static int reject_unknown_stages(db_conn *c, const char *ws, import_ctx *x, app_err *err)
{
    json_t *stages = leads_funnel_stages(c, ws, err);
    if (!stages)
        return -1;
    json_t *ops = json_array(), *rows = json_array(), *last = json_array();
    size_t i;
    json_t *op;
    json_array_foreach(x->ops, i, op)
    {
        app_err one = {0};
        json_t *row = json_array_get(x->op_rows, i);
        if (!leads_stage_known(stages, json_object_get(op, "patch"), &one)) {
            reject(x, (long)json_integer_value(row), json_string_value(json_object_get(op, "id")), "%s: %s",
                   one.fields[0].field, one.fields[0].message);
            continue;
        }
        json_array_append(ops, op);
        json_array_append(rows, row);
        json_array_append_new(last, json_integer((json_int_t)json_array_size(ops) - 1));
    }
    json_decref(stages);
    json_decref(x->ops);
    json_decref(x->op_rows);
    json_decref(x->last_op);
    x->ops = ops;
    x->op_rows = rows;
    x->last_op = last;
    return 0;
}

int import_run(db_conn *c, const char *workspace_id, const json_t *req, json_t **report, app_err *err)
{
    *report = NULL;
    const crm_object *o = check_request(req, err);
    if (!o)
        return -1;
    import_ctx x = {.o = o,
                    .req = req,
                    .fixes = json_array(),
                    .fix_summary = json_object(),
                    .rejections = json_array(),
                    .ops = json_array(),
                    .op_rows = json_array(),
                    .last_op = json_array()};
    apply_tx t = {.x = &x, .ws = workspace_id};
    int rc = -1;
    json_t *recs = decode_records(req, &x, err);
    if (!recs)
        goto out;
    size_t i;
    json_t *rec;
    json_array_foreach(recs, i, rec)
    {
        one_record(&x, (long)json_integer_value(json_object_get(rec, "row")), json_object_get(rec, "values"));
    }
    size_t nrows = json_array_size(recs) + 0;
    json_decref(recs);
    if (o->kind == CRM_DEALS && json_array_size(x.ops) > 0 && c && reject_unknown_refs(c, workspace_id, &x, err) != 0)
        goto out;
    if (o->kind == CRM_LEADS && json_array_size(x.ops) > 0 && c && reject_unknown_stages(c, workspace_id, &x, err) != 0)
        goto out;
    if (json_array_size(x.ops) > 0 && c && db_transaction(c, apply_tx_run, &t, err) != 0)
        goto out;
    long counts[4] = {0};
    static const char *const names[] = {"created", "updated", "unchanged", "stale"};
    json_array_foreach(x.last_op, i, rec)
    {
        const char *st = json_string_value(json_array_get(t.results, (size_t)json_integer_value(rec)));
        /* a deal created by an earlier stage op of the same record counts as created */
        size_t first = i == 0 ? 0 : (size_t)json_integer_value(json_array_get(x.last_op, i - 1)) + 1;
        const char *st0 = json_string_value(json_array_get(t.results, first));
        if (st0 && strcmp(st0, "created") == 0)
            st = "created";
        for (int k = 0; k < 4; k++)
            if (st && strcmp(st, names[k]) == 0)
                counts[k]++;
    }
    json_t *summary = json_array();
    const char *key;
    json_t *n;
    json_object_foreach(x.fix_summary, key, n)
    {
        char buf[600];
        snprintf(buf, sizeof buf, "%s", key);
        char *f2 = strchr(buf, '\x01');
        char *f3 = f2 ? strchr(f2 + 1, '\x01') : NULL;
        char *f4 = f3 ? strchr(f3 + 1, '\x01') : NULL;
        if (!f4)
            continue;
        *f2++ = *f3++ = *f4++ = '\0';
        json_array_append_new(summary, json_pack("{s:s, s:s, s:s, s:s, s:O}", "field", buf, "from", f2, "to", f3,
                                                 "reason", f4, "count", n));
    }
    (void)nrows;
    *report = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:O, s:O}", "object", o->name, "rows",
                        (json_int_t)(json_array_size(x.last_op) + json_array_size(x.rejections)), "created",
                        (json_int_t)counts[0], "updated", (json_int_t)counts[1], "unchanged", (json_int_t)counts[2],
                        "stale", (json_int_t)counts[3], "rejected", (json_int_t)json_array_size(x.rejections), "fixed",
                        (json_int_t)x.nfixes, "fix_summary", summary, "fixes", x.fixes, "rejections", x.rejections);
    rc = 0;
out:
    json_decref(x.fixes);
    json_decref(x.fix_summary);
    json_decref(x.rejections);
    json_decref(x.ops);
    json_decref(x.op_rows);
    json_decref(x.last_op);
    json_decref(t.results);
    return rc;
}

/* funneldoc.c - decode, validate and render funnel definition documents. */
#include "funneldoc.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The seed's texts for the built-in stages (001 phase 3), by stage key. */
static const struct {
    const char *key, *definition, *owner, *sla;
} seed_texts[] = {
    {"visitor", "Anonymous website session", "Marketing", NULL},
    {"known", "Identified by email (form fill, content download, event)", "Marketing", NULL},
    {"mql", "Meets minimum engagement threshold (score >= 50) AND fits ICP criteria", "Marketing",
     "Routed to SDR within 5 minutes"},
    {"sal", "SDR confirms lead is real, reachable, and worth pursuing", "SDR",
     "Accept or reject within 4 business hours"},
    {"sql", "Discovery completed, BANT confirmed, has budget/authority/need/timeline", "SDR → AE handoff",
     "AE must have first meeting within 48 hours of handoff"},
    {"opportunity", "AE confirms deal is real, enters in CRM with amount and close date", "AE", NULL},
    {"proposal", "Pricing presented, contract in review", "AE", NULL},
    {"closed_won", "Contract signed, payment terms agreed", "AE → CS handoff", "CS kickoff within 48 hours"},
    {"closed_lost", "Deal dead — reason MUST be captured", "AE", NULL},
};

static const char *const stage_fields[] = {
    "key",       "name",     "definition",     "owner",           "probability", "forecast_category", "sla",
    "sla_hours", "criteria", "entry_criteria", "required_fields", "required",    "rejection_reasons", "terminal",
    NULL};
static const char *const bench_fields[] = {"from",   "to",          "bottom_25", "median_low", "median_high",
                                           "top_25", "world_class", "summary",   NULL};

static void field_err(app_err *e, const char *prefix, int i, const char *field, const char *msg)
{
    char path[128];
    if (field)
        snprintf(path, sizeof path, "%s[%d].%s", prefix, i, field);
    else
        snprintf(path, sizeof path, "%s[%d]", prefix, i);
    app_err_field(e, path, "%s", msg);
}

/* "MQL (Marketing Qualified Lead)" and "mql" name the same stage. */
static void name_head(const char *name, char *out, size_t len)
{
    size_t n = strcspn(name, "(");
    while (n > 0 && name[n - 1] == ' ')
        n--;
    snprintf(out, len, "%.*s", (int)n, name);
}

static int default_match(const funnel_def *dflt, const char *key, const char *name)
{
    if (key) {
        int i = funnel_stage_index(dflt, key);
        if (i >= 0)
            return i;
    }
    char head[FUNNEL_NAME_LEN];
    name_head(name, head, sizeof head);
    for (int i = 0; i < dflt->nstages; i++)
        if (strcasecmp(dflt->stages[i].name, head) == 0 || strcasecmp(dflt->stages[i].key, head) == 0)
            return i;
    return -1;
}

static void slug(const char *name, char *out, size_t len)
{
    char head[FUNNEL_NAME_LEN];
    name_head(name, head, sizeof head);
    size_t n = 0;
    bool sep = false;
    for (const char *p = head; *p && n + 1 < len; p++) {
        if (isalnum((unsigned char)*p)) {
            if (sep && n > 0)
                out[n++] = '_';
            if (n + 1 < len)
                out[n++] = (char)tolower((unsigned char)*p);
            sep = false;
        } else {
            sep = true;
        }
    }
    out[n] = '\0';
}

static bool text_or_list(const json_t *v)
{
    if (json_is_string(v) || json_is_object(v))
        return true;
    if (!json_is_array(v))
        return false;
    size_t i;
    const json_t *x;
    json_array_foreach(v, i, x) if (!json_is_string(x)) return false;
    return true;
}

static json_t *decode_stage(const json_t *s, int i, const funnel_def *dflt, funnel_stage *out, app_err *e)
{
    json_t *norm = json_object();
    const char *key_s = json_string_value(json_object_get(s, "key"));
    const char *name = json_string_value(json_object_get(s, "name"));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)s, k, v)
    {
        bool known = false;
        for (const char *const *f = stage_fields; *f; f++)
            known = known || strcmp(*f, k) == 0;
        if (!known)
            field_err(e, "stages", i, k, "unknown field");
    }
    if (!name || !*name || json_string_length(json_object_get(s, "name")) >= FUNNEL_NAME_LEN) {
        field_err(e, "stages", i, "name", "is required: 1 to 95 characters");
        return norm;
    }
    if (json_object_get(s, "key") && (!key_s || json_string_length(json_object_get(s, "key")) >= FUNNEL_KEY_LEN)) {
        field_err(e, "stages", i, "key", "must be a string of up to 47 characters");
        return norm;
    }
    int d = default_match(dflt, key_s, name);
    memset(out, 0, sizeof *out);
    if (key_s)
        snprintf(out->key, sizeof out->key, "%s", key_s);
    else if (d >= 0)
        snprintf(out->key, sizeof out->key, "%s", dflt->stages[d].key);
    else
        slug(name, out->key, sizeof out->key);
    snprintf(out->name, sizeof out->name, "%s", name);
    /* probability */
    const json_t *p = json_object_get(s, "probability");
    if (p && !json_is_null(p)) {
        if (!json_is_number(p))
            field_err(e, "stages", i, "probability", "must be a number from 0 to 1");
        else
            out->probability = json_number_value(p);
    } else if (d >= 0) {
        out->probability = dflt->stages[d].probability;
    } else {
        field_err(e, "stages", i, "probability", "is required for a stage the built-in funnel does not have");
    }
    /* category */
    const json_t *c = json_object_get(s, "forecast_category");
    out->category = d >= 0 ? dflt->stages[d].category : FC_PIPELINE;
    if (c && !json_is_null(c)) {
        int cat = forecast_category_parse(json_string_value(c));
        if (cat < 0)
            field_err(e, "stages", i, "forecast_category",
                      "must be one of pipeline, best_case, commit, upside, omitted, closed");
        else
            out->category = (forecast_category)cat;
    }
    /* terminal */
    const json_t *t = json_object_get(s, "terminal");
    if (t && !json_is_null(t)) {
        const char *ts = json_string_value(t);
        if (ts && strcmp(ts, "won") == 0)
            out->won = true;
        else if (ts && strcmp(ts, "lost") == 0)
            out->lost = true;
        else
            field_err(e, "stages", i, "terminal", "must be won, lost or null");
    } else if (d >= 0) {
        out->won = dflt->stages[d].won;
        out->lost = dflt->stages[d].lost;
    }
    const json_t *sh = json_object_get(s, "sla_hours");
    out->sla_hours = d >= 0 ? dflt->stages[d].sla_hours : 0;
    if (sh && !json_is_null(sh)) {
        if (!json_is_number(sh) || json_number_value(sh) < 0)
            field_err(e, "stages", i, "sla_hours", "must be a number of hours >= 0");
        else
            out->sla_hours = json_number_value(sh);
    }
    static const char *const texts[] = {"definition", "owner", "sla", "required", NULL};
    for (const char *const *f = texts; *f; f++) {
        const json_t *x = json_object_get(s, *f);
        if (x && !json_is_null(x) && !json_is_string(x))
            field_err(e, "stages", i, *f, "must be a string");
    }
    static const char *const lists[] = {"criteria", "entry_criteria", "required_fields", "rejection_reasons", NULL};
    for (const char *const *f = lists; *f; f++) {
        const json_t *x = json_object_get(s, *f);
        if (x && !json_is_null(x) && !text_or_list(x))
            field_err(e, "stages", i, *f, "must be a string, a list of strings or a mapping");
    }
    json_object_set_new(norm, "key", json_string(out->key));
    json_object_set_new(norm, "name", json_string(out->name));
    json_object_set_new(norm, "probability", json_real(out->probability));
    json_object_set_new(norm, "forecast_category", json_string(forecast_category_name(out->category)));
    json_object_set_new(norm, "terminal",
                        out->won    ? json_string("won")
                        : out->lost ? json_string("lost")
                                    : json_null());
    json_object_set_new(norm, "sla_hours", json_real(out->sla_hours));
    const char *const copy[] = {
        "definition",        "owner", "sla", "required", "criteria", "entry_criteria", "required_fields",
        "rejection_reasons", NULL};
    for (const char *const *f = copy; *f; f++) {
        json_t *x = json_object_get(s, *f);
        if (x && !json_is_null(x))
            json_object_set(norm, *f, x);
    }
    return norm;
}

static bool threshold(const json_t *b, const char *f, int i, double *out, app_err *e)
{
    const json_t *v = json_object_get(b, f);
    if (!json_is_number(v)) {
        field_err(e, "benchmarks", i, f, "is required: a rate from 0 to 1");
        return false;
    }
    *out = json_number_value(v);
    return true;
}

static json_t *bench_json(const funnel_def *def, const funnel_benchmark *b)
{
    return json_pack("{s:s, s:s, s:f, s:f, s:f, s:f, s:f, s:b}", "from", def->stages[b->from].key, "to",
                     def->stages[b->to].key, "bottom_25", b->bottom25, "median_low", b->median_low, "median_high",
                     b->median_high, "top_25", b->top25, "world_class", b->world_class, "summary", b->summary);
}

json_t *funneldoc_decode(const json_t *body, funnel_def *def, app_err *e)
{
    funnel_def dflt;
    funnel_default(&dflt);
    memset(def, 0, sizeof *def);
    const json_t *stages = json_object_get(body, "stages");
    if (!json_is_array(stages) || json_array_size(stages) < 2 || json_array_size(stages) > FUNNEL_MAX_STAGES) {
        app_err_field(e, "stages", "is required: a list of 2 to %d stages", FUNNEL_MAX_STAGES);
        return NULL;
    }
    json_t *doc = json_object(), *nst = json_array(), *nb = json_array();
    json_object_set_new(doc, "stages", nst);
    json_object_set_new(doc, "benchmarks", nb);
    size_t i;
    const json_t *s;
    json_array_foreach(stages, i, s)
    {
        if (!json_is_object(s)) {
            field_err(e, "stages", (int)i, NULL, "must be an object");
            continue;
        }
        json_array_append_new(nst, decode_stage(s, (int)i, &dflt, &def->stages[def->nstages], e));
        def->nstages++;
    }
    const json_t *bench = json_object_get(body, "benchmarks");
    if (e->code == ERR_NONE && bench && !json_is_null(bench)) {
        if (!json_is_array(bench) || json_array_size(bench) > FUNNEL_MAX_BENCH) {
            app_err_field(e, "benchmarks", "must be a list of up to %d transitions", FUNNEL_MAX_BENCH);
        } else {
            const json_t *b;
            json_array_foreach(bench, i, b)
            {
                int bi = (int)i;
                if (!json_is_object(b)) {
                    field_err(e, "benchmarks", bi, NULL, "must be an object");
                    continue;
                }
                const char *k;
                json_t *v;
                json_object_foreach((json_t *)b, k, v)
                {
                    bool known = false;
                    for (const char *const *f = bench_fields; *f; f++)
                        known = known || strcmp(*f, k) == 0;
                    if (!known)
                        field_err(e, "benchmarks", bi, k, "unknown field");
                }
                funnel_benchmark *fb = &def->bench[def->nbench];
                const char *from = json_string_value(json_object_get(b, "from"));
                const char *to = json_string_value(json_object_get(b, "to"));
                fb->from = from ? funnel_stage_index(def, from) : -1;
                fb->to = to ? funnel_stage_index(def, to) : -1;
                if (fb->from < 0)
                    field_err(e, "benchmarks", bi, "from", "must be a stage key of this funnel");
                if (fb->to < 0)
                    field_err(e, "benchmarks", bi, "to", "must be a stage key of this funnel");
                bool ok = threshold(b, "bottom_25", bi, &fb->bottom25, e) &
                          threshold(b, "median_low", bi, &fb->median_low, e) &
                          threshold(b, "median_high", bi, &fb->median_high, e) &
                          threshold(b, "top_25", bi, &fb->top25, e) &
                          threshold(b, "world_class", bi, &fb->world_class, e);
                fb->summary = json_is_true(json_object_get(b, "summary"));
                if (ok && fb->from >= 0 && fb->to >= 0)
                    def->nbench++;
            }
        }
    } else if (e->code == ERR_NONE) {
        /* no benchmarks given: the seed's, for the transitions this funnel has */
        for (int b = 0; b < dflt.nbench; b++) {
            int from = funnel_stage_index(def, dflt.stages[dflt.bench[b].from].key);
            int to = funnel_stage_index(def, dflt.stages[dflt.bench[b].to].key);
            if (from >= 0 && to >= 0) {
                def->bench[def->nbench] = dflt.bench[b];
                def->bench[def->nbench].from = from;
                def->bench[def->nbench].to = to;
                def->nbench++;
            }
        }
    }
    if (e->code == ERR_NONE) {
        funnel_problem probs[APP_MAX_FIELD_ERRORS];
        int np = funnel_validate(def, probs, APP_MAX_FIELD_ERRORS);
        for (int p = 0; p < np; p++)
            app_err_field(e, probs[p].path, "%s", probs[p].message);
    }
    if (e->code != ERR_NONE) {
        json_decref(doc);
        return NULL;
    }
    for (int b = 0; b < def->nbench; b++)
        json_array_append_new(nb, bench_json(def, &def->bench[b]));
    return doc;
}

int funneldoc_to_def(const json_t *doc, funnel_def *def)
{
    app_err e = {0};
    json_t *n = funneldoc_decode(doc, def, &e);
    if (!n)
        return -1;
    json_decref(n);
    return 0;
}

json_t *funneldoc_default(void)
{
    funnel_def d;
    funnel_default(&d);
    json_t *stages = json_array();
    for (int i = 0; i < d.nstages; i++) {
        const funnel_stage *s = &d.stages[i];
        json_t *o = json_pack("{s:s, s:s, s:f, s:s, s:o, s:f}", "key", s->key, "name", s->name, "probability",
                              s->probability, "forecast_category", forecast_category_name(s->category), "terminal",
                              s->won    ? json_string("won")
                              : s->lost ? json_string("lost")
                                        : json_null(),
                              "sla_hours", s->sla_hours);
        for (size_t t = 0; t < sizeof seed_texts / sizeof seed_texts[0]; t++)
            if (strcmp(seed_texts[t].key, s->key) == 0) {
                json_object_set_new(o, "definition", json_string(seed_texts[t].definition));
                json_object_set_new(o, "owner", json_string(seed_texts[t].owner));
                if (seed_texts[t].sla)
                    json_object_set_new(o, "sla", json_string(seed_texts[t].sla));
            }
        json_array_append_new(stages, o);
    }
    json_t *bench = json_array();
    for (int b = 0; b < d.nbench; b++)
        json_array_append_new(bench, bench_json(&d, &d.bench[b]));
    return json_pack("{s:o, s:o}", "stages", stages, "benchmarks", bench);
}

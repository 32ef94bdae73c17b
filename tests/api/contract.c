/* contract.c - check responses against openapi.yaml (JSON form).
 *
 * A response passes when its path+method is an operation of the spec (or the
 * answer is a 404/405 problem for one that is not), its status is declared,
 * its content type is declared, and its body validates against the declared
 * schema. Validation is strict: an object property the schema does not
 * declare fails unless additionalProperties allows it, so an undocumented
 * field cannot slip into the API.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

static json_t *spec;

const json_t *contract_spec(void) { return spec; }

int contract_load(const char *json_path)
{
    json_error_t e;
    spec = json_load_file(json_path, 0, &e);
    if (!spec)
        fprintf(stderr, "contract: cannot load %s: %s\n", json_path, e.text);
    return spec ? 0 : -1;
}

static const json_t *resolve(const json_t *s)
{
    for (int hops = 0; s && hops < 16; hops++) {
        const json_t *ref = json_object_get(s, "$ref");
        if (!json_is_string(ref))
            return s;
        const char *p = json_string_value(ref);
        if (strncmp(p, "#/", 2) != 0)
            return NULL;
        const json_t *cur = spec;
        char buf[256];
        snprintf(buf, sizeof buf, "%s", p + 2);
        for (char *tok = strtok(buf, "/"); tok && cur; tok = strtok(NULL, "/"))
            cur = json_object_get(cur, tok);
        s = cur;
    }
    return s;
}

typedef struct {
    char *err;
    size_t len;
} vctx;

static bool vfail(vctx *v, const char *where, const char *fmt, const char *a)
{
    char msg[256];
    snprintf(msg, sizeof msg, fmt, a ? a : "");
    snprintf(v->err, v->len, "%s: %s", where[0] ? where : "(body)", msg);
    return false;
}

static bool type_ok(const char *t, const json_t *x)
{
    if (strcmp(t, "object") == 0)
        return json_is_object(x);
    if (strcmp(t, "array") == 0)
        return json_is_array(x);
    if (strcmp(t, "string") == 0)
        return json_is_string(x);
    if (strcmp(t, "boolean") == 0)
        return json_is_boolean(x);
    if (strcmp(t, "null") == 0)
        return json_is_null(x);
    if (strcmp(t, "number") == 0)
        return json_is_number(x);
    if (strcmp(t, "integer") == 0)
        return json_is_integer(x) || (json_is_real(x) && json_real_value(x) == (double)(long long)json_real_value(x));
    return false;
}

static bool validate(const json_t *schema, const json_t *x, const char *where, vctx *v, bool strict);

/* Property names an object schema declares, through allOf. */
static bool declares(const json_t *schema, const char *key)
{
    schema = resolve(schema);
    if (!schema)
        return false;
    if (json_object_get(json_object_get(schema, "properties"), key))
        return true;
    const json_t *all = json_object_get(schema, "allOf");
    size_t i;
    const json_t *sub;
    json_array_foreach(all, i, sub) if (declares(sub, key)) return true;
    return false;
}

static bool format_ok(const char *fmt, const char *s)
{
    regex_t re;
    const char *pat = NULL;
    if (strcmp(fmt, "date-time") == 0)
        pat = "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$";
    else if (strcmp(fmt, "date") == 0)
        pat = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$";
    else if (strcmp(fmt, "uuid") == 0)
        pat = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";
    if (!pat)
        return true;
    if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

static bool validate_object(const json_t *schema, const json_t *x, const char *where, vctx *v, bool strict)
{
    const json_t *req = json_object_get(schema, "required");
    size_t i;
    const json_t *name;
    json_array_foreach(req, i, name)
    {
        if (!json_object_get(x, json_string_value(name)))
            return vfail(v, where, "missing required property '%s'", json_string_value(name));
    }
    const json_t *props = json_object_get(schema, "properties");
    const json_t *addl = json_object_get(schema, "additionalProperties");
    if (!addl)
        addl = json_object_get(schema, "unevaluatedProperties");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)x, key, val)
    {
        char sub[512];
        snprintf(sub, sizeof sub, "%s.%s", where, key);
        const json_t *ps = json_object_get(props, key);
        if (ps) {
            if (!validate(ps, val, sub, v, true))
                return false;
        } else if (json_is_object(addl)) {
            if (!validate(addl, val, sub, v, true))
                return false;
        } else if (json_is_true(addl) || !strict) {
            continue;
        } else if (!declares(schema, key)) {
            return vfail(v, where, "property '%s' is not declared in openapi.yaml", key);
        }
    }
    return true;
}

static bool validate(const json_t *schema, const json_t *x, const char *where, vctx *v, bool strict)
{
    schema = resolve(schema);
    if (!schema)
        return vfail(v, where, "unresolvable $ref%s", NULL);
    const json_t *all = json_object_get(schema, "allOf");
    if (all) {
        size_t i;
        const json_t *sub;
        /* members are checked loosely; the strict property check happens
         * below against everything the composition declares */
        json_array_foreach(all, i, sub) if (!validate(sub, x, where, v, false)) return false;
    }
    const json_t *one = json_object_get(schema, "oneOf");
    const json_t *any = json_object_get(schema, "anyOf");
    if (one || any) {
        int matches = 0;
        size_t i;
        const json_t *sub;
        char first_err[256] = "";
        json_array_foreach(one ? one : any, i, sub)
        {
            vctx tmp = {v->err, v->len};
            if (validate(sub, x, where, &tmp, strict))
                matches++;
            else if (!first_err[0])
                snprintf(first_err, sizeof first_err, "%s", v->err);
        }
        if (one && matches != 1)
            return vfail(v, where, matches ? "matches more than one oneOf branch%s" : "matches no oneOf branch (%s)",
                         first_err);
        if (any && matches == 0)
            return vfail(v, where, "matches no anyOf branch (%s)", first_err);
    }
    const json_t *type = json_object_get(schema, "type");
    if (json_is_string(type) && !type_ok(json_string_value(type), x))
        return vfail(v, where, "expected type %s", json_string_value(type));
    if (json_is_array(type)) {
        bool ok = false;
        size_t i;
        const json_t *t;
        json_array_foreach(type, i, t) ok = ok || type_ok(json_string_value(t), x);
        if (!ok)
            return vfail(v, where, "value has none of the declared types%s", NULL);
    }
    const json_t *en = json_object_get(schema, "enum");
    if (en) {
        bool ok = false;
        size_t i;
        const json_t *e;
        json_array_foreach(en, i, e) ok = ok || json_equal(e, x);
        if (!ok)
            return vfail(v, where, "value is not in the enum%s", NULL);
    }
    const json_t *cst = json_object_get(schema, "const");
    if (cst && !json_equal(cst, x))
        return vfail(v, where, "value differs from const%s", NULL);
    if (json_is_number(x)) {
        const json_t *mn = json_object_get(schema, "minimum"), *mx = json_object_get(schema, "maximum");
        if (mn && json_number_value(x) < json_number_value(mn))
            return vfail(v, where, "below minimum%s", NULL);
        if (mx && json_number_value(x) > json_number_value(mx))
            return vfail(v, where, "above maximum%s", NULL);
    }
    if (json_is_string(x)) {
        const json_t *fmt = json_object_get(schema, "format");
        if (json_is_string(fmt) && !format_ok(json_string_value(fmt), json_string_value(x)))
            return vfail(v, where, "not a valid %s", json_string_value(fmt));
        const json_t *pat = json_object_get(schema, "pattern");
        if (json_is_string(pat)) {
            regex_t re;
            if (regcomp(&re, json_string_value(pat), REG_EXTENDED | REG_NOSUB) == 0) {
                bool ok = regexec(&re, json_string_value(x), 0, NULL, 0) == 0;
                regfree(&re);
                if (!ok)
                    return vfail(v, where, "does not match pattern %s", json_string_value(pat));
            }
        }
    }
    if (json_is_object(x) && (json_object_get(schema, "properties") || json_object_get(schema, "required") ||
                              json_object_get(schema, "additionalProperties") || all))
        if (!validate_object(schema, x, where, v, strict))
            return false;
    if (json_is_array(x)) {
        const json_t *items = json_object_get(schema, "items");
        size_t i;
        const json_t *el;
        if (items)
            json_array_foreach(x, i, el)
            {
                char sub[512];
                snprintf(sub, sizeof sub, "%s[%zu]", where, i);
                if (!validate(items, el, sub, v, true))
                    return false;
            }
    }
    return true;
}

/* Match an actual path (query stripped) against a template; more literal
 * segments win, so /v1/forecasts/accuracy beats /v1/forecasts/{id}. */
static int template_score(const char *tmpl, const char *path)
{
    int score = 0;
    while (*tmpl && *path) {
        if (*tmpl != '/' || *path != '/')
            return -1;
        tmpl++, path++;
        size_t tl = strcspn(tmpl, "/"), pl = strcspn(path, "/?");
        if (pl == 0 && tl != 0) /* an empty segment is only a template's own trailing slash ("/", "/console/") */
            return -1;
        if (tmpl[0] == '{')
            ;
        else if (tl == pl && strncmp(tmpl, path, tl) == 0)
            score++;
        else
            return -1;
        tmpl += tl, path += pl;
    }
    return (*tmpl == '\0' && (*path == '\0' || *path == '?')) ? score : -1;
}

static const json_t *find_path_item(const char *path)
{
    const char *tmpl;
    json_t *item;
    const json_t *best = NULL;
    int best_score = -1;
    json_object_foreach(json_object_get(spec, "paths"), tmpl, item)
    {
        int s = template_score(tmpl, path);
        if (s > best_score) {
            best_score = s;
            best = item;
        }
    }
    return best;
}

bool contract_has_operation(const char *method, const char *template_path)
{
    char m[16];
    size_t i = 0;
    for (; method[i] && i < sizeof m - 1; i++)
        m[i] = (char)(method[i] >= 'A' && method[i] <= 'Z' ? method[i] + 32 : method[i]);
    m[i] = '\0';
    const json_t *item = json_object_get(json_object_get(spec, "paths"), template_path);
    return item && json_object_get(item, m);
}

bool contract_declares_status(const char *method, const char *template_path, int status)
{
    char m[16], st[8];
    size_t i = 0;
    for (; method[i] && i < sizeof m - 1; i++)
        m[i] = (char)(method[i] >= 'A' && method[i] <= 'Z' ? method[i] + 32 : method[i]);
    m[i] = '\0';
    snprintf(st, sizeof st, "%d", status);
    const json_t *op = json_object_get(json_object_get(json_object_get(spec, "paths"), template_path), m);
    return json_object_get(json_object_get(op, "responses"), st) != NULL;
}

bool contract_check(const char *method, const char *path, long status, const char *ctype, const json_t *body, char *err,
                    size_t errlen)
{
    vctx v = {err, errlen};
    err[0] = '\0';
    if (!spec)
        return vfail(&v, "", "spec not loaded%s", NULL);
    char m[16];
    size_t i = 0;
    for (; method[i] && i < sizeof m - 1; i++)
        m[i] = (char)(method[i] >= 'A' && method[i] <= 'Z' ? method[i] + 32 : method[i]);
    m[i] = '\0';
    if (strcmp(m, "head") == 0)
        snprintf(m, sizeof m, "get");
    const json_t *item = find_path_item(path);
    const json_t *op = item ? json_object_get(item, m) : NULL;
    const json_t *schema = NULL;
    if (status == 414 || status == 431) {
        /* refused before routing, whatever the path (openapi.yaml info) */
        schema = json_object_get(json_object_get(json_object_get(spec, "components"), "schemas"), "Problem");
        return body ? validate(schema, body, "", &v, true) : vfail(&v, "", "problem without a body%s", NULL);
    }
    if (!op) {
        /* Not an operation: only the dispatcher's generic answers are allowed. */
        if (strcmp(m, "options") == 0 && (status == 204 || status == 404))
            return true;
        if (status != 404 && status != 405 && status != 413)
            return vfail(&v, "", "undeclared operation answered %s", status == 200 ? "200" : "non-404/405");
        schema = json_object_get(json_object_get(spec, "components"), "schemas");
        schema = json_object_get(schema, "Problem");
        return body ? validate(schema, body, "", &v, true) : vfail(&v, "", "problem without a body%s", NULL);
    }
    char st[8];
    snprintf(st, sizeof st, "%ld", status);
    const json_t *resp = resolve(json_object_get(json_object_get(op, "responses"), st));
    if (!resp)
        return vfail(&v, "", "status %s is not declared for this operation", st);
    const json_t *content = json_object_get(resp, "content");
    if (!content) {
        if (body)
            return vfail(&v, "", "a body was sent but the spec declares none%s", NULL);
        return true;
    }
    char media[128];
    snprintf(media, sizeof media, "%s", ctype ? ctype : "");
    media[strcspn(media, "; ")] = '\0';
    const json_t *mt = json_object_get(content, media);
    if (!mt)
        return vfail(&v, "", "content type '%s' is not declared", media);
    schema = json_object_get(mt, "schema");
    if (!schema || !body)
        return true; /* non-JSON bodies (text/plain, YAML) are checked by their tests */
    return validate(schema, body, "", &v, true);
}

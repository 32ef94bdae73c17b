/* jsonv.c - request body field validators. */
#include "jsonv.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "money.h"

bool jv_require_object(const json_t *j, app_err *e)
{
    if (json_is_object(j))
        return true;
    app_err_set(e, j ? ERR_VALIDATION : ERR_BAD_REQUEST,
                j ? "The body must be a JSON object" : "A JSON body is required");
    return false;
}

bool jv_only_fields(const json_t *obj, const char *const *allowed, app_err *e)
{
    bool ok = true;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        (void)val;
        bool known = false;
        for (const char *const *a = allowed; *a && !known; a++)
            known = strcmp(*a, key) == 0;
        if (!known) {
            app_err_field(e, key, "unknown field");
            ok = false;
        }
    }
    return ok;
}

bool jv_string(const json_t *obj, const char *key, bool required, size_t maxlen, const char **out, app_err *e)
{
    *out = NULL;
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required) {
            app_err_field(e, key, "is required");
            return false;
        }
        return true;
    }
    if (!json_is_string(v)) {
        app_err_field(e, key, "must be a string");
        return false;
    }
    size_t n = json_string_length(v);
    if (n == 0 || n > maxlen) {
        app_err_field(e, key, "must be 1 to %zu characters", maxlen);
        return false;
    }
    if (strlen(json_string_value(v)) != n) {
        app_err_field(e, key, "must not contain NUL characters");
        return false;
    }
    *out = json_string_value(v);
    return true;
}

bool jv_int(const json_t *obj, const char *key, bool required, long long min, long long max, long long *out,
            bool *present, app_err *e)
{
    const json_t *v = json_object_get(obj, key);
    if (present)
        *present = false;
    if (!v || json_is_null(v)) {
        if (required) {
            app_err_field(e, key, "is required");
            return false;
        }
        return true;
    }
    if (!json_is_integer(v)) {
        app_err_field(e, key, "must be an integer");
        return false;
    }
    long long n = json_integer_value(v);
    if (n < min || n > max) {
        app_err_field(e, key, "must be between %lld and %lld", min, max);
        return false;
    }
    *out = n;
    if (present)
        *present = true;
    return true;
}

bool jv_id_clean(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return false;
    return true;
}

/* Does the literal [s, s+n) read as a double without underflow? Only a
 * literal with a non-zero digit and an exponent, or a long run of leading
 * zeros, can underflow; the rest are not converted at all. */
static bool literal_underflows(const char *s, size_t n)
{
    bool nonzero = false, exp = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == 'e' || s[i] == 'E') {
            exp = true;
            break;
        }
        nonzero = nonzero || (s[i] >= '1' && s[i] <= '9');
    }
    if (!nonzero || (!exp && n < 300))
        return false;
    char stackbuf[128];
    char *buf = n < sizeof stackbuf ? stackbuf : malloc(n + 1);
    if (!buf)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    double v = strtod(buf, NULL);
    bool under = fabs(v) < DBL_MIN; /* zero or subnormal: digits were lost */
    if (buf != stackbuf)
        free(buf);
    return under;
}

const char *jv_lossy_number(const char *s, size_t len, size_t *litlen)
{
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
            continue;
        }
        if (c != '-' && !(c >= '0' && c <= '9'))
            continue;
        size_t j = i;
        while (j < len && (s[j] == '-' || s[j] == '+' || s[j] == '.' || s[j] == 'e' || s[j] == 'E' ||
                           (s[j] >= '0' && s[j] <= '9')))
            j++;
        if (literal_underflows(s + i, j - i)) {
            *litlen = j - i;
            return s + i;
        }
        i = j - 1;
    }
    return NULL;
}

bool jv_is_uuid(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
        } else if (!isxdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

/* Look a field up; false (with an error when required) when absent. */
static bool present_field(const json_t *obj, const char *key, bool required, const json_t **v, bool *present,
                          app_err *e)
{
    *v = json_object_get(obj, key);
    if (present)
        *present = false;
    if (!*v || json_is_null(*v)) {
        if (required)
            app_err_field(e, key, "is required");
        return false;
    }
    return true;
}

bool jv_money(const json_t *obj, const char *key, bool required, long long min_cents, long long *out, bool *present,
              app_err *e)
{
    const json_t *v;
    if (!present_field(obj, key, required, &v, present, e))
        return !required;
    money_t cents;
    if (!json_is_number(v) || !money_from_double(json_number_value(v), &cents)) {
        app_err_field(e, key, "must be an amount: a number with at most two decimals");
        return false;
    }
    if (cents < min_cents) {
        app_err_field(e, key, "must be at least %.2f", (double)min_cents / 100.0);
        return false;
    }
    *out = cents;
    if (present)
        *present = true;
    return true;
}

bool jv_date(const json_t *obj, const char *key, bool required, int *out, bool *present, app_err *e)
{
    const json_t *v;
    if (!present_field(obj, key, required, &v, present, e))
        return !required;
    caldate_t d;
    if (!json_is_string(v) || !caldate_parse(json_string_value(v), &d)) {
        app_err_field(e, key, "must be a date YYYY-MM-DD");
        return false;
    }
    *out = d;
    if (present)
        *present = true;
    return true;
}

bool jv_number(const json_t *obj, const char *key, bool required, double min, double max, double *out, bool *present,
               app_err *e)
{
    const json_t *v;
    if (!present_field(obj, key, required, &v, present, e))
        return !required;
    if (!json_is_number(v) || json_number_value(v) < min || json_number_value(v) > max) {
        app_err_field(e, key, "must be a number from %g to %g", min, max);
        return false;
    }
    *out = json_number_value(v);
    if (present)
        *present = true;
    return true;
}

void jv_merge_prefixed(app_err *dst, const app_err *src, const char *prefix)
{
    if (src->code == ERR_NONE)
        return;
    if (src->nfields == 0) {
        app_err_field(dst, prefix, "%s", src->detail);
        return;
    }
    for (int i = 0; i < src->nfields; i++) {
        char path[sizeof src->fields[0].field];
        snprintf(path, sizeof path, "%s.%.100s", prefix, src->fields[i].field);
        app_err_field(dst, path, "%s", src->fields[i].message);
    }
}

/* A rate as the seed's YAML writes it ("20%") or as a fraction (0.2). */
bool jv_rate(const json_t *obj, const char *key, bool required, double min, double max, double *out, bool *present,
             app_err *e)
{
    const json_t *v;
    if (!present_field(obj, key, required, &v, present, e))
        return !required;
    double r = NAN;
    if (json_is_number(v)) {
        r = json_number_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end = NULL;
        double pct = strtod(s, &end);
        if (end != s && end[0] == '%' && end[1] == '\0')
            r = pct / 100.0;
    }
    if (!(r >= min && r <= max)) {
        app_err_field(e, key, "must be a rate from %g to %g (a fraction such as 0.2, or \"20%%\")", min, max);
        return false;
    }
    *out = r;
    if (present)
        *present = true;
    return true;
}

/* A number of days as the seed's YAML writes it ("90 days") or a number. */
bool jv_days(const json_t *obj, const char *key, bool required, double min, double max, double *out, bool *present,
             app_err *e)
{
    const json_t *v;
    if (!present_field(obj, key, required, &v, present, e))
        return !required;
    double d = NAN;
    if (json_is_number(v)) {
        d = json_number_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end = NULL;
        double n = strtod(s, &end);
        if (end != s && (strcmp(end, " days") == 0 || strcmp(end, " day") == 0 || strcmp(end, "") == 0))
            d = n;
    }
    if (!(d >= min && d <= max)) {
        app_err_field(e, key, "must be a number of days from %g to %g (90, or \"90 days\")", min, max);
        return false;
    }
    *out = d;
    if (present)
        *present = true;
    return true;
}

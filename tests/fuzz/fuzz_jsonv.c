/* fuzz_jsonv.c - the field validators every non-CRM body goes through (ARR
 * events, spend, finance, subscriptions, workspace settings, snapshots,
 * forecasts): jv_string, jv_int, jv_money, jv_date, jv_number and
 * jv_only_fields on a decoded body, with bounds taken from the first input
 * bytes. Properties: a value that passes is within the bounds asked for
 * (cents in [min, MONEY_MAX_ABS], dates that format back to the input); a
 * failure records a field error; a required field that is absent fails. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "http.h"
#include "jsonv.h"
#include "money.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    bool required = data[0] & 1;
    long long lo = (long long)(int8_t)data[1] * 1000, hi = lo + (long long)data[2] * 1000;
    json_error_t jerr;
    bool too_deep = false;
    json_t *in = http_json_decode((const char *)data + 3, size - 3, &jerr, &too_deep);
    if (!in)
        return 0;
    app_err e = {0};
    if (!jv_require_object(in, &e)) {
        if (e.code == ERR_NONE)
            abort();
        json_decref(in);
        return 0;
    }
    static const char *const allowed[] = {"s", "i", "m", "d", "n", NULL};
    int before = e.nfields;
    if (!jv_only_fields(in, allowed, &e) && e.nfields == before)
        abort();

    const char *s = NULL;
    size_t maxlen = (size_t)data[2];
    before = e.nfields;
    if (jv_string(in, "s", required, maxlen, &s, &e)) {
        if (s && (strlen(s) > maxlen || strlen(s) == 0))
            abort();
        if (!s && (required || (json_object_get(in, "s") && !json_is_null(json_object_get(in, "s")))))
            abort();
    } else if (e.nfields == before) {
        abort();
    }

    long long iv = 0;
    bool present = false;
    before = e.nfields;
    if (jv_int(in, "i", required, lo, hi, &iv, &present, &e)) {
        if (present && (iv < lo || iv > hi))
            abort();
        if (required && !present)
            abort();
    } else if (e.nfields == before) {
        abort();
    }

    long long cents = 0;
    present = false;
    before = e.nfields;
    if (jv_money(in, "m", required, lo, &cents, &present, &e)) {
        if (present && (cents < lo || cents > MONEY_MAX_ABS))
            abort();
        if (present) { /* the cents are the number given, to the cent */
            double given = json_number_value(json_object_get(in, "m"));
            if (fabs(given * 100.0 - (double)cents) > 0.5 + fabs(given) * 1e-12)
                abort();
        }
    } else if (e.nfields == before) {
        abort();
    }

    int day = 0;
    present = false;
    before = e.nfields;
    if (jv_date(in, "d", required, &day, &present, &e)) {
        if (present) {
            char buf[16];
            const char *given = json_string_value(json_object_get(in, "d"));
            if (!given || strcmp(caldate_format(day, buf, sizeof buf), given) != 0)
                abort();
        }
    } else if (e.nfields == before) {
        abort();
    }

    double num = 0;
    present = false;
    before = e.nfields;
    if (jv_number(in, "n", required, (double)lo, (double)hi, &num, &present, &e)) {
        if (present && (!isfinite(num) || num < (double)lo || num > (double)hi))
            abort();
    } else if (e.nfields == before) {
        abort();
    }
    json_decref(in);
    return 0;
}

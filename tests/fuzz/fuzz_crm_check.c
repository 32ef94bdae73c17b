/* fuzz_crm_check.c - the CRM validator behind PUT/batch of deals, accounts and
 * reps (and every import row): the first byte picks the object and whether
 * required fields are enforced, the rest is the JSON body. Properties: a
 * refusal names at least one field; an accepted patch holds only known
 * columns with values of their declared type and range (cents within
 * MONEY_MAX_ABS, dates that read back, stage keys, text within its limit,
 * probabilities in [0, 1]); validating twice gives the same patch. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "crm.h"
#include "http.h"
#include "money.h"

static const crm_field *field_of_column(const crm_object *o, const char *column)
{
    for (const crm_field *f = o->fields; f->name; f++)
        if (strcmp(f->column, column) == 0)
            return f;
    return NULL;
}

static void check_value(const crm_field *f, const json_t *v)
{
    if (json_is_null(v)) {
        if (f->required)
            abort(); /* a required field cannot be cleared */
        return;
    }
    caldate_t d;
    switch (f->type) {
    case CRM_MONEY: {
        if (!json_is_integer(v))
            abort();
        json_int_t c = json_integer_value(v);
        if (c > MONEY_MAX_ABS || c < -MONEY_MAX_ABS)
            abort();
        break;
    }
    case CRM_DATE:
        if (!json_is_string(v) || !caldate_parse(json_string_value(v), &d))
            abort();
        break;
    case CRM_TS:
        if (!json_is_string(v) || !crm_is_timestamp(json_string_value(v)))
            abort();
        break;
    case CRM_STAGE:
        if (!json_is_string(v) || !crm_is_stage_key(json_string_value(v)))
            abort();
        break;
    case CRM_TEXT:
        if (!json_is_string(v) || json_string_length(v) > (size_t)f->max)
            abort();
        break;
    case CRM_PROB:
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
            abort();
        break;
    case CRM_INT:
        if (!json_is_integer(v) || json_integer_value(v) > f->max)
            abort();
        break;
    case CRM_ENUM: {
        bool known = false;
        for (int i = 0; json_is_string(v) && f->values[i]; i++)
            known = known || strcmp(f->values[i], json_string_value(v)) == 0;
        if (!known)
            abort();
        break;
    }
    case CRM_OBJECT:
    case CRM_QUOTAS:
        if (!json_is_object(v))
            abort();
        break;
    case CRM_CURRENCY:
        if (!json_is_string(v) || strlen(json_string_value(v)) != 3)
            abort();
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const names[] = {"deals", "accounts", "reps"};
    const crm_object *o = crm_object_named(names[data[0] % 3]);
    bool require = (data[0] & 4) != 0;
    static const char *const extra[] = {"as_of", NULL};
    json_error_t jerr;
    bool too_deep = false;
    json_t *in = http_json_decode((const char *)data + 1, size - 1, &jerr, &too_deep);
    if (!in)
        return 0;
    app_err e = {0};
    json_t *patch = crm_check(o, in, require, extra, &e);
    if (!patch) {
        if (e.code == ERR_NONE || (json_is_object(in) && e.nfields == 0))
            abort(); /* a refusal must say which field */
    } else {
        if (e.code != ERR_NONE)
            abort();
        const char *col;
        json_t *v;
        json_object_foreach(patch, col, v)
        {
            const crm_field *f = field_of_column(o, col);
            if (!f)
                abort();
            check_value(f, v);
        }
        app_err e2 = {0};
        json_t *again = crm_check(o, in, require, extra, &e2);
        if (!again || !json_equal(patch, again))
            abort();
        json_decref(again);
        char *s = json_dumps(patch, JSON_COMPACT); /* the patch goes to SQL as JSON text */
        if (!s)
            abort();
        free(s);
    }
    json_decref(patch);
    json_decref(in);
    return 0;
}

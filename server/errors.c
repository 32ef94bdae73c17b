/* errors.c - lookups into the error table and the app_err helpers. */
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    int status;
    const char *slug;
    const char *title;
} error_rows[ERR__COUNT] = {[ERR_NONE] = {200, "none", "OK"},
#define X(code, st, sl, ti) [code] = {st, sl, ti},
                            APP_ERROR_TABLE(X)
#undef X
};

int app_error_status(app_error e) { return (e > 0 && e < ERR__COUNT) ? error_rows[e].status : 500; }
const char *app_error_slug(app_error e) { return (e > 0 && e < ERR__COUNT) ? error_rows[e].slug : "internal-error"; }
const char *app_error_title(app_error e) { return (e > 0 && e < ERR__COUNT) ? error_rows[e].title : "Internal error"; }

void app_err_set(app_err *e, app_error code, const char *fmt, ...)
{
    if (!e)
        return;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof e->detail, fmt, ap);
    va_end(ap);
}

void app_err_field(app_err *e, const char *field, const char *fmt, ...)
{
    if (!e)
        return;
    if (e->code == ERR_NONE) {
        e->code = ERR_VALIDATION;
        snprintf(e->detail, sizeof e->detail, "The request has invalid fields");
    }
    if (e->nfields >= APP_MAX_FIELD_ERRORS)
        return;
    app_field_error *f = &e->fields[e->nfields++];
    snprintf(f->field, sizeof f->field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
}

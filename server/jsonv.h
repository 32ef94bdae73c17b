/* jsonv.h - small validators for decoded JSON request bodies.
 *
 * Each records a field error (path + message) in the app_err and returns
 * false, so a handler can check every field and answer one 422 listing all
 * of them. Borrowed references only: nothing here takes ownership.
 */
#ifndef REVOPS_JSONV_H
#define REVOPS_JSONV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

/* The body must be a JSON object (NULL = missing body). */
bool jv_require_object(const json_t *j, app_err *e);
/* Every key of obj must be in allowed (NULL-terminated). */
bool jv_only_fields(const json_t *obj, const char *const *allowed, app_err *e);
/* String field: *out = NULL when absent. Fails when present but not a string,
 * empty (unless allow_empty) or longer than maxlen bytes. */
bool jv_string(const json_t *obj, const char *key, bool required, size_t maxlen, const char **out, app_err *e);
/* Integer field within [min, max]; *present tells whether it was given. */
bool jv_int(const json_t *obj, const char *key, bool required, long long min, long long max, long long *out,
            bool *present, app_err *e);
/* Money field: a JSON number with at most two decimals, into cents, within
 * [min_cents, MONEY_MAX_ABS]. */
bool jv_money(const json_t *obj, const char *key, bool required, long long min_cents, long long *out, bool *present,
              app_err *e);
/* Date field "YYYY-MM-DD" into a day number. */
bool jv_date(const json_t *obj, const char *key, bool required, int *out, bool *present, app_err *e);
/* Number field within [min, max]. */
bool jv_number(const json_t *obj, const char *key, bool required, double min, double max, double *out, bool *present,
               app_err *e);
/* Rate field: a number, or a percent string as the seed's YAML writes it
 * ("20%" = 0.2), within [min, max] as a fraction. */
bool jv_rate(const json_t *obj, const char *key, bool required, double min, double max, double *out, bool *present,
             app_err *e);
/* Days field: a number, or "90 days" as the seed's YAML writes it. */
bool jv_days(const json_t *obj, const char *key, bool required, double min, double max, double *out, bool *present,
             app_err *e);
/* Copy src's field errors into dst with "prefix." in front (batch items). */
void jv_merge_prefixed(app_err *dst, const app_err *src, const char *prefix);
/* An id as a client may name a resource: no control characters (bytes
 * below 0x20, DEL; a %00 in a path reaches here as DEL, see http.c), so an id
 * can never be cut short or split a log line. */
bool jv_id_clean(const char *s);
/* The first number literal of a JSON text (outside strings) that a double
 * cannot hold: a non-zero value that underflows (1e-400 reads as 0). NULL
 * when there is none; *litlen gets the literal's length. */
const char *jv_lossy_number(const char *s, size_t len, size_t *litlen);
/* Canonical textual UUID (8-4-4-4-12 hex)? */
bool jv_is_uuid(const char *s);

#endif

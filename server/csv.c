/* csv.c - RFC 4180 CSV decoder into JSON arrays of strings. */
#include "csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *buf;
    size_t len, cap;
} field_buf;

static int fb_put(field_buf *f, char c)
{
    if (f->len + 1 >= f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        char *nb = realloc(f->buf, cap);
        if (!nb)
            return -1;
        f->buf = nb;
        f->cap = cap;
    }
    f->buf[f->len++] = c;
    return 0;
}

/* Append the field to rec; returns -1 on a limit or memory failure. */
static int end_field(field_buf *f, json_t *rec, char *err, size_t errlen, size_t recno)
{
    if (json_array_size(rec) >= CSV_MAX_COLUMNS) {
        snprintf(err, errlen, "record %zu has more than %d columns", recno, CSV_MAX_COLUMNS);
        return -1;
    }
    json_t *s = json_stringn_nocheck(f->buf ? f->buf : "", f->len);
    f->len = 0;
    if (!s || json_array_append_new(rec, s) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

json_t *csv_parse(const char *data, size_t len, char *err, size_t errlen)
{
    return csv_parse_max(data, len, 0, NULL, err, errlen);
}

json_t *csv_parse_max(const char *data, size_t len, size_t max_records, bool *over, char *err, size_t errlen)
{
    if (over)
        *over = false;
    json_t *rows = json_array();
    json_t *rec = json_array();
    field_buf f = {0};
    size_t i = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    int quoted = 0; /* inside a quoted field */
    int was_quoted = 0;
    int any = 0; /* the current record has content */
    for (; i < len; i++) {
        char c = data[i];
        if (c == '\0') {
            snprintf(err, errlen, "record %zu contains a NUL byte", json_array_size(rows) + 1);
            goto fail;
        }
        if (quoted) {
            if (c == '"') {
                if (i + 1 < len && data[i + 1] == '"') {
                    if (fb_put(&f, '"') != 0)
                        goto oom;
                    i++;
                } else {
                    quoted = 0;
                }
            } else if (fb_put(&f, c) != 0) {
                goto oom;
            }
            continue;
        }
        if (c == '"' && f.len == 0 && !was_quoted) {
            quoted = was_quoted = any = 1;
        } else if (c == ',') {
            if (end_field(&f, rec, err, errlen, json_array_size(rows) + 1) != 0)
                goto fail;
            was_quoted = 0;
            any = 1;
        } else if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < len && data[i + 1] == '\n')
                i++;
            if (any || f.len > 0) {
                if (end_field(&f, rec, err, errlen, json_array_size(rows) + 1) != 0)
                    goto fail;
                json_array_append_new(rows, rec);
                rec = json_array();
                if (max_records && json_array_size(rows) > max_records) {
                    snprintf(err, errlen, "has more than %zu records", max_records);
                    if (over)
                        *over = true;
                    goto fail;
                }
            }
            was_quoted = any = 0;
        } else {
            if (fb_put(&f, c) != 0)
                goto oom;
            any = 1;
        }
    }
    if (quoted) {
        snprintf(err, errlen, "record %zu has an unterminated quoted field", json_array_size(rows) + 1);
        goto fail;
    }
    if (any || f.len > 0) {
        if (end_field(&f, rec, err, errlen, json_array_size(rows) + 1) != 0)
            goto fail;
        json_array_append_new(rows, rec);
        rec = NULL;
        if (max_records && json_array_size(rows) > max_records) {
            snprintf(err, errlen, "has more than %zu records", max_records);
            if (over)
                *over = true;
            goto fail;
        }
    }
    json_decref(rec);
    free(f.buf);
    return rows;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    json_decref(rec);
    json_decref(rows);
    free(f.buf);
    return NULL;
}

/* yconv.c - libyaml event stream <-> jansson values. */
#include "yconv.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- parse -------------------------------------------------------------- */

static bool is_int_text(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

static json_t *plain_scalar(const char *s, size_t len)
{
    if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0)
        return json_null();
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
        return json_true();
    if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
        return json_false();
    if (is_int_text(s)) {
        errno = 0;
        long long v = strtoll(s, NULL, 10);
        if (errno == 0)
            return json_integer(v);
    }
    char *end = NULL;
    if ((s[0] >= '0' && s[0] <= '9') || s[0] == '-' || s[0] == '+' || s[0] == '.') {
        errno = 0;
        double d = strtod(s, &end);
        if (end && *end == '\0' && errno == 0 && isfinite(d))
            return json_real(d);
    }
    return json_stringn(s, len);
}

typedef struct {
    yaml_parser_t p;
    char *err;
    size_t errlen;
} yparse;

static json_t *parse_node(yparse *y, yaml_event_t *ev, int depth);

static bool next_event(yparse *y, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&y->p, ev)) {
        snprintf(y->err, y->errlen, "YAML error at line %zu, column %zu: %s", y->p.problem_mark.line + 1,
                 y->p.problem_mark.column + 1, y->p.problem ? y->p.problem : "syntax error");
        return false;
    }
    return true;
}

static json_t *parse_collection(yparse *y, bool mapping, int depth)
{
    json_t *out = mapping ? json_object() : json_array();
    for (;;) {
        yaml_event_t ev;
        if (!next_event(y, &ev))
            goto fail;
        if (ev.type == (mapping ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT)) {
            yaml_event_delete(&ev);
            return out;
        }
        if (mapping) {
            if (ev.type != YAML_SCALAR_EVENT) {
                snprintf(y->err, y->errlen, "YAML mapping keys must be scalars (line %zu)", ev.start_mark.line + 1);
                yaml_event_delete(&ev);
                goto fail;
            }
            char *key = strndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
            yaml_event_delete(&ev);
            yaml_event_t vev;
            if (!key || !next_event(y, &vev)) {
                free(key);
                goto fail;
            }
            json_t *v = parse_node(y, &vev, depth + 1);
            if (!v || json_object_get(out, key)) {
                if (v)
                    snprintf(y->err, y->errlen, "YAML mapping has the key '%.64s' twice", key);
                json_decref(v);
                free(key);
                goto fail;
            }
            if (json_object_set_new(out, key, v) != 0) {
                snprintf(y->err, y->errlen, "YAML key is not valid UTF-8");
                free(key);
                goto fail;
            }
            free(key);
        } else {
            json_t *v = parse_node(y, &ev, depth + 1);
            if (!v)
                goto fail;
            json_array_append_new(out, v);
        }
    }
fail:
    json_decref(out);
    return NULL;
}

/* Consumes ev. */
static json_t *parse_node(yparse *y, yaml_event_t *ev, int depth)
{
    json_t *out = NULL;
    if (depth > YCONV_MAX_DEPTH) {
        snprintf(y->err, y->errlen, "YAML nesting is deeper than %d levels", YCONV_MAX_DEPTH);
        yaml_event_delete(ev);
        return NULL;
    }
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        const char *s = (const char *)ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag)
            out = plain_scalar(s, len);
        else
            out = json_stringn(s, len);
        if (!out)
            snprintf(y->err, y->errlen, "YAML scalar is not valid UTF-8 (line %zu)", ev->start_mark.line + 1);
        yaml_event_delete(ev);
        return out;
    }
    case YAML_SEQUENCE_START_EVENT:
        yaml_event_delete(ev);
        return parse_collection(y, false, depth);
    case YAML_MAPPING_START_EVENT:
        yaml_event_delete(ev);
        return parse_collection(y, true, depth);
    case YAML_ALIAS_EVENT:
        snprintf(y->err, y->errlen, "YAML aliases are not accepted (line %zu)", ev->start_mark.line + 1);
        break;
    default:
        snprintf(y->err, y->errlen, "unexpected YAML structure (line %zu)", ev->start_mark.line + 1);
        break;
    }
    yaml_event_delete(ev);
    return NULL;
}

json_t *yconv_parse(const char *text, size_t len, char *errbuf, size_t errlen)
{
    yparse y = {.err = errbuf, .errlen = errlen};
    errbuf[0] = '\0';
    if (!yaml_parser_initialize(&y.p)) {
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&y.p, (const unsigned char *)text, len);
    json_t *out = NULL;
    yaml_event_t ev;
    /* STREAM-START, DOCUMENT-START, node */
    for (int i = 0; i < 2; i++) {
        if (!next_event(&y, &ev))
            goto done;
        bool ok = (i == 0 && ev.type == YAML_STREAM_START_EVENT) || (i == 1 && ev.type == YAML_DOCUMENT_START_EVENT);
        bool empty = i == 1 && ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (empty) {
            snprintf(errbuf, errlen, "the YAML document is empty");
            goto done;
        }
        if (!ok) {
            snprintf(errbuf, errlen, "unexpected YAML structure");
            goto done;
        }
    }
    if (!next_event(&y, &ev))
        goto done;
    out = parse_node(&y, &ev, 0);
done:
    yaml_parser_delete(&y.p);
    return out;
}

/* ---- emit --------------------------------------------------------------- */

typedef struct {
    char *buf;
    size_t len, cap;
    bool oom;
} ybuf;

static int write_cb(void *data, unsigned char *buffer, size_t size)
{
    ybuf *b = data;
    if (b->len + size + 1 > b->cap) {
        size_t ncap = (b->cap + size + 1) * 2;
        char *nb = realloc(b->buf, ncap);
        if (!nb) {
            b->oom = true;
            return 0;
        }
        b->buf = nb;
        b->cap = ncap;
    }
    memcpy(b->buf + b->len, buffer, size);
    b->len += size;
    b->buf[b->len] = '\0';
    return 1;
}

static bool emit_scalar(yaml_emitter_t *em, const char *s, size_t len, bool plain_ok)
{
    yaml_event_t ev;
    yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)len, plain_ok, !plain_ok,
                                 plain_ok ? YAML_ANY_SCALAR_STYLE : YAML_DOUBLE_QUOTED_SCALAR_STYLE);
    return yaml_emitter_emit(em, &ev);
}

/* Would this string read back as something other than a string? */
static bool needs_quotes(const char *s, size_t len)
{
    json_t *v = plain_scalar(s, len);
    bool q = !json_is_string(v);
    json_decref(v);
    return q;
}

static bool emit_value(yaml_emitter_t *em, const json_t *v)
{
    yaml_event_t ev;
    char num[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE);
        if (!yaml_emitter_emit(em, &ev))
            return false;
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)v, key, val)
        {
            if (!emit_scalar(em, key, strlen(key), !needs_quotes(key, strlen(key))) || !emit_value(em, val))
                return false;
        }
        yaml_mapping_end_event_initialize(&ev);
        return yaml_emitter_emit(em, &ev);
    }
    case JSON_ARRAY: {
        yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                             json_array_size(v) ? YAML_BLOCK_SEQUENCE_STYLE : YAML_FLOW_SEQUENCE_STYLE);
        if (!yaml_emitter_emit(em, &ev))
            return false;
        size_t i;
        json_t *val;
        json_array_foreach(v, i, val) if (!emit_value(em, val)) return false;
        yaml_sequence_end_event_initialize(&ev);
        return yaml_emitter_emit(em, &ev);
    }
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        return emit_scalar(em, s, len, !needs_quotes(s, len));
    }
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return emit_scalar(em, num, strlen(num), true);
    case JSON_REAL: {
        /* shortest text that reads back as the same double: plain decimals
         * (money has at most 2) before exponent notation; always with a '.' */
        double d = json_real_value(v);
        bool found = false;
        for (int prec = 1; prec <= 9 && fabs(d) < 1e15 && !found; prec++) {
            snprintf(num, sizeof num, "%.*f", prec, d);
            found = strtod(num, NULL) == d;
        }
        for (int prec = 1; prec <= 17 && !found; prec++) {
            snprintf(num, sizeof num, "%.*g", prec, d);
            found = strtod(num, NULL) == d;
        }
        if (!strpbrk(num, ".eEn"))
            strncat(num, ".0", sizeof num - strlen(num) - 1);
        return emit_scalar(em, num, strlen(num), true);
    }
    case JSON_TRUE:
        return emit_scalar(em, "true", 4, true);
    case JSON_FALSE:
        return emit_scalar(em, "false", 5, true);
    case JSON_NULL:
    default:
        return emit_scalar(em, "null", 4, true);
    }
}

char *yconv_emit(const json_t *value, size_t *len)
{
    yaml_emitter_t em;
    ybuf b = {0};
    if (!yaml_emitter_initialize(&em))
        return NULL;
    yaml_emitter_set_output(&em, write_cb, &b);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1);
    yaml_event_t ev;
    bool ok = true;
    yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
    ok = ok && yaml_emitter_emit(&em, &ev);
    yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
    ok = ok && yaml_emitter_emit(&em, &ev);
    ok = ok && emit_value(&em, value);
    yaml_document_end_event_initialize(&ev, 1);
    ok = ok && yaml_emitter_emit(&em, &ev);
    yaml_stream_end_event_initialize(&ev);
    ok = ok && yaml_emitter_emit(&em, &ev);
    yaml_emitter_delete(&em);
    if (!ok || b.oom) {
        free(b.buf);
        return NULL;
    }
    *len = b.len;
    return b.buf;
}

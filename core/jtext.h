/* jtext.h - JSON written as text into a growing buffer, byte for byte as
 * jansson's json_dumps(JSON_COMPACT | JSON_REAL_PRECISION(15)) writes the
 * same values (server/http.c's encoding of every answer): for answers too
 * large to build as jansson objects first (comp statements, at-risk lists).
 * Strings are escaped as jansson escapes them (", \, control characters; no
 * ASCII or slash escaping), reals as %.15g with ".0" when that has no '.' or
 * 'e' and the exponent without '+' or leading zeros; jt_fixed writes a
 * scaled integer (cents, basis points) as the real it stands for, without a
 * printf. On allocation failure the buffer keeps oom and ignores the rest. */
#ifndef REVOPS_JTEXT_H
#define REVOPS_JTEXT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char *s; /* NUL-terminated once anything is written */
    size_t n, cap;
    bool oom;
} jt_buf;

void jt_mem(jt_buf *b, const char *s, size_t n);
void jt_raw(jt_buf *b, const char *s);             /* verbatim */
void jt_append(jt_buf *b, const jt_buf *x);        /* another buffer's text */
void jt_sep(jt_buf *b);                            /* "," unless b is empty: between array elements */
void jt_str(jt_buf *b, const char *s);             /* a JSON string */
void jt_str_or_null(jt_buf *b, const char *s);     /* s, or null when NULL */
void jt_real(jt_buf *b, double v);                 /* json_real(v) */
void jt_int(jt_buf *b, long long v);               /* json_integer(v) */
void jt_fixed(jt_buf *b, long long v, int places); /* json_real(v / 10^places), places 1 to 6 */

#endif

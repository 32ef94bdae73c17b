/* jtext.c - JSON as text, as jansson dumps it (jtext.h). */
#include "jtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void grow(jt_buf *b, size_t more)
{
    if (b->oom || b->n + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = true;
        return;
    }
    b->s = s;
    b->cap = cap;
}

void jt_mem(jt_buf *b, const char *s, size_t n)
{
    grow(b, n);
    if (b->oom)
        return;
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

void jt_raw(jt_buf *b, const char *s) { jt_mem(b, s, strlen(s)); }

void jt_append(jt_buf *b, const jt_buf *x) { jt_mem(b, x->s ? x->s : "", x->n); }

void jt_sep(jt_buf *b)
{
    if (b->n)
        jt_mem(b, ",", 1);
}

void jt_str(jt_buf *b, const char *s)
{
    grow(b, strlen(s) + 2);
    jt_mem(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c != '"' && c != '\\' && c >= 0x20)
            continue;
        jt_mem(b, run, (size_t)(s - run));
        char e[8];
        switch (c) {
        case '"':
            jt_raw(b, "\\\"");
            break;
        case '\\':
            jt_raw(b, "\\\\");
            break;
        case '\b':
            jt_raw(b, "\\b");
            break;
        case '\f':
            jt_raw(b, "\\f");
            break;
        case '\n':
            jt_raw(b, "\\n");
            break;
        case '\r':
            jt_raw(b, "\\r");
            break;
        case '\t':
            jt_raw(b, "\\t");
            break;
        default:
            snprintf(e, sizeof e, "\\u%04X", c);
            jt_raw(b, e);
        }
        run = s + 1;
    }
    jt_mem(b, run, (size_t)(s - run));
    jt_mem(b, "\"", 1);
}

void jt_str_or_null(jt_buf *b, const char *s)
{
    if (s)
        jt_str(b, s);
    else
        jt_raw(b, "null");
}

void jt_real(jt_buf *b, double v)
{
    char t[40];
    int n = snprintf(t, sizeof t, "%.15g", v);
    if (n <= 0 || (size_t)n >= sizeof t - 3) {
        jt_raw(b, "null");
        return;
    }
    if (!strchr(t, '.') && !strchr(t, 'e'))
        memcpy(t + n, ".0", 3);
    char *e = strchr(t, 'e');
    if (e) { /* "1e+20" -> "1e20", "1e-05" -> "1e-5" */
        char *d = e + 1, *r = e + 1;
        if (*r == '+')
            r++;
        else if (*r == '-')
            *d++ = *r++;
        while (*r == '0' && r[1])
            r++;
        memmove(d, r, strlen(r) + 1);
    }
    jt_raw(b, t);
}

void jt_int(jt_buf *b, long long v)
{
    char t[24];
    snprintf(t, sizeof t, "%lld", v);
    jt_raw(b, t);
}

/* v / 10^places at %.15g is v's decimal with `places` fraction digits, the
 * trailing zeros dropped ("x.0" when none is left): exact while v has at
 * most 15 digits; beyond, the real itself. */
void jt_fixed(jt_buf *b, long long v, int places)
{
    static const long long pow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
    if (places < 1 || places > 6 || v <= -1000000000000000LL || v >= 1000000000000000LL) {
        jt_real(b, (double)v / (double)pow10[places < 0 ? 0 : places > 6 ? 6 : places]);
        return;
    }
    char t[40], *p = t + sizeof t;
    unsigned long long u = (unsigned long long)(v < 0 ? -v : v);
    long long frac = (long long)(u % (unsigned long long)pow10[places]);
    int digits = places;
    u /= (unsigned long long)pow10[places];
    *--p = 0;
    while (digits > 0 && frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    if (!digits)
        *--p = '0';
    for (; digits > 0; digits--, frac /= 10)
        *--p = (char)('0' + frac % 10);
    *--p = '.';
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    jt_raw(b, p);
}

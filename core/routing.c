/* routing.c - lead routing conditions and round robin. */
#include "routing.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    const char *s;
    char *err;
    size_t errlen;
} lexer;

static void skip(lexer *l)
{
    while (isspace((unsigned char)*l->s))
        l->s++;
}

/* A keyword (case-insensitive) followed by a non-word character. */
static bool keyword(lexer *l, const char *kw)
{
    skip(l);
    size_t n = strlen(kw);
    if (strncasecmp(l->s, kw, n) == 0 && !isalnum((unsigned char)l->s[n]) && l->s[n] != '_') {
        l->s += n;
        return true;
    }
    return false;
}

static bool word(lexer *l, char *out, size_t len)
{
    skip(l);
    size_t n = 0;
    while ((isalnum((unsigned char)*l->s) || *l->s == '_' || *l->s == '.') && n + 1 < len)
        out[n++] = *l->s++;
    out[n] = '\0';
    return n > 0;
}

static bool fail(lexer *l, const char *what)
{
    snprintf(l->err, l->errlen, "%s at \"%.20s\"", what, l->s);
    return false;
}

/* A number or a quoted string into term value k. */
static bool value(lexer *l, routing_term *t)
{
    skip(l);
    if (t->nvalues >= ROUTING_MAX_VALUES)
        return fail(l, "too many values");
    int k = t->nvalues;
    if (*l->s == '\'' || *l->s == '"') {
        char q = *l->s++;
        size_t n = 0;
        while (*l->s && *l->s != q && n + 1 < ROUTING_VALUE_LEN)
            t->values[k][n++] = *l->s++;
        if (*l->s != q)
            return fail(l, "unterminated string");
        l->s++;
        t->values[k][n] = '\0';
        t->numeric[k] = false;
    } else {
        char *end;
        double d = strtod(l->s, &end);
        if (end == l->s)
            return fail(l, "expected a number or a quoted string");
        size_t n = (size_t)(end - l->s) < ROUTING_VALUE_LEN - 1 ? (size_t)(end - l->s) : ROUTING_VALUE_LEN - 1;
        memcpy(t->values[k], l->s, n);
        t->values[k][n] = '\0';
        t->numeric[k] = true;
        t->num[k] = d;
        l->s = end;
    }
    t->nvalues++;
    return true;
}

static bool list(lexer *l, routing_term *t)
{
    skip(l);
    if (*l->s == '[' || *l->s == '(') {
        char close = *l->s == '[' ? ']' : ')';
        l->s++;
        for (;;) {
            if (!value(l, t))
                return false;
            skip(l);
            if (*l->s == ',') {
                l->s++;
                continue;
            }
            if (*l->s == close) {
                l->s++;
                return true;
            }
            return fail(l, "expected , or the end of the list");
        }
    }
    if (!word(l, t->list_name, sizeof t->list_name))
        return fail(l, "expected a list [..] or a list name");
    return true;
}

static bool term(lexer *l, routing_term *t)
{
    memset(t, 0, sizeof *t);
    if (!word(l, t->field, sizeof t->field))
        return fail(l, "expected a field name");
    skip(l);
    if (keyword(l, "NOT")) {
        if (!keyword(l, "IN"))
            return fail(l, "expected IN after NOT");
        t->op = RT_NOT_IN;
        return list(l, t);
    }
    if (keyword(l, "IN")) {
        t->op = RT_IN;
        return list(l, t);
    }
    if (keyword(l, "BETWEEN")) {
        t->op = RT_BETWEEN;
        if (!value(l, t) || !keyword(l, "AND") || !value(l, t))
            return fail(l, "expected BETWEEN a AND b");
        return true;
    }
    static const struct {
        const char *s;
        routing_op op;
    } ops[] = {{">=", RT_GE}, {"<=", RT_LE}, {"!=", RT_NE}, {"<>", RT_NE},
               {"==", RT_EQ}, {"=", RT_EQ},  {"<", RT_LT},  {">", RT_GT}};
    skip(l);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strncmp(l->s, ops[i].s, strlen(ops[i].s)) == 0) {
            l->s += strlen(ops[i].s);
            t->op = ops[i].op;
            return value(l, t);
        }
    return fail(l, "expected an operator (=, !=, <, <=, >, >=, IN, NOT IN, BETWEEN)");
}

bool routing_parse(const char *text, routing_cond *c, char *err, size_t errlen)
{
    lexer l = {text ? text : "", err, errlen};
    memset(c, 0, sizeof *c);
    do {
        if (c->n >= ROUTING_MAX_TERMS)
            return fail(&l, "too many terms");
        if (!term(&l, &c->t[c->n]))
            return false;
        c->n++;
    } while (keyword(&l, "AND"));
    skip(&l);
    if (*l.s)
        return fail(&l, "expected AND or the end");
    return true;
}

static bool term_match(const routing_term *t, const char *v)
{
    if (!v)
        return false;
    char *end;
    double d = strtod(v, &end);
    bool vnum = end != v && *end == '\0';
    switch (t->op) {
    case RT_IN:
    case RT_NOT_IN: {
        bool in = false;
        for (int i = 0; i < t->nvalues && !in; i++)
            in = t->numeric[i] && vnum ? d == t->num[i] : strcasecmp(v, t->values[i]) == 0;
        return t->op == RT_IN ? in : !in;
    }
    case RT_BETWEEN:
        return vnum && t->numeric[0] && t->numeric[1] && d >= t->num[0] && d <= t->num[1];
    case RT_EQ:
    case RT_NE: {
        bool eq = t->numeric[0] && vnum ? d == t->num[0] : strcasecmp(v, t->values[0]) == 0;
        return t->op == RT_EQ ? eq : !eq;
    }
    default:
        if (!vnum || !t->numeric[0])
            return false;
        return t->op == RT_LT   ? d < t->num[0]
               : t->op == RT_LE ? d <= t->num[0]
               : t->op == RT_GT ? d > t->num[0]
                                : d >= t->num[0];
    }
}

bool routing_match(const routing_cond *c, routing_lookup look, void *ctx)
{
    for (int i = 0; i < c->n; i++)
        if (!term_match(&c->t[i], look(ctx, c->t[i].field)))
            return false;
    return c->n > 0;
}

int routing_round_robin(long long counter, const bool *available, int n)
{
    int navail = 0;
    for (int i = 0; i < n; i++)
        navail += available[i];
    if (navail == 0)
        return -1;
    long long k = ((counter % navail) + navail) % navail;
    for (int i = 0; i < n; i++)
        if (available[i] && k-- == 0)
            return i;
    return -1;
}

/* money.c - exact money parsing, formatting and rate multiplication. */
#include "money.h"

#include <math.h>
#include <stdio.h>

bool money_parse(const char *s, money_t *out)
{
    if (!s || !*s)
        return false;
    bool neg = false;
    if (*s == '-' || *s == '+') {
        neg = (*s == '-');
        s++;
    }
    if (*s < '0' || *s > '9')
        return false;
    money_t whole = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        whole = whole * 10 + (*s - '0');
        if (whole > MONEY_MAX_ABS / 100)
            return false;
    }
    money_t frac = 0;
    if (*s == '.') {
        s++;
        int digits = 0;
        for (; *s >= '0' && *s <= '9'; s++, digits++) {
            if (digits >= 2) {
                if (*s != '0') /* sub-cent precision is refused, not rounded */
                    return false;
                continue;
            }
            frac = frac * 10 + (*s - '0');
        }
        if (digits == 0)
            return false;
        if (digits == 1)
            frac *= 10;
    }
    if (*s)
        return false;
    money_t v = whole * 100 + frac;
    if (v > MONEY_MAX_ABS) /* the whole part alone may sit exactly at the bound */
        return false;
    *out = neg ? -v : v;
    return true;
}

bool money_from_double(double v, money_t *out)
{
    if (!isfinite(v))
        return false;
    double cents = v * 100.0;
    if (fabs(cents) > (double)MONEY_MAX_ABS)
        return false;
    double r = round(cents);
    /* A JSON number like 19.99 is 1998.9999999 cents in binary: tolerate that,
     * but refuse a genuine third decimal. */
    if (fabs(cents - r) > 1e-6 * fmax(1.0, fabs(cents)) && fabs(cents - r) > 1e-4)
        return false;
    *out = (money_t)r;
    return true;
}

char *money_format(money_t v, char *buf, size_t len)
{
    unsigned long long a = v < 0 ? (unsigned long long)(-(v + 1)) + 1 : (unsigned long long)v;
    snprintf(buf, len, "%s%llu.%02llu", v < 0 ? "-" : "", a / 100, a % 100);
    return buf;
}

double money_to_double(money_t v) { return (double)v / 100.0; }

money_t money_mul_rate(money_t v, double rate)
{
    long double p = (long double)v * (long double)rate;
    /* saturate: a product past the cap (a 10^15 quota times a 10^5-rep
     * roster) would make llroundl undefined and a caller's loop comparing
     * amounts spin on garbage */
    if (p != p)
        return 0;
    if (p > (long double)MONEY_MAX_ABS)
        return MONEY_MAX_ABS;
    if (p < -(long double)MONEY_MAX_ABS)
        return -MONEY_MAX_ABS;
    return (money_t)llroundl(p);
}

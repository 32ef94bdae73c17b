/* money.c - exact money parsing, formatting and rate multiplication. */
#include "money.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

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
    if (!isfinite(v) || fabs(v) > (double)(MONEY_JSON_MAX_ABS / 100))
        return false;
    /* v * 100 is itself rounded: the cents v stands for is r or a neighbour.
     * c / 100.0 is correctly rounded (both operands exact below 2^53), so it
     * is the double nearest c cents: the one a two-decimal text parses to. */
    money_t r = (money_t)llround(v * 100.0);
    for (money_t c = r - 1; c <= r + 1; c++)
        if ((double)c / 100.0 == v) {
            *out = c;
            return true;
        }
    if (fabs(v) < 4294967296.0) {
        double cv = (double)r / 100.0;
        double ulp = nextafter(fmax(fabs(v), fabs(cv)), INFINITY) - fmax(fabs(v), fabs(cv));
        if (fabs(v - cv) <= 2.0 * ulp) {
            *out = r;
            return true;
        }
    }
    return false;
}

char *money_format(money_t v, char *buf, size_t len)
{
    unsigned long long a = v < 0 ? (unsigned long long)(-(v + 1)) + 1 : (unsigned long long)v;
    snprintf(buf, len, "%s%llu.%02llu", v < 0 ? "-" : "", a / 100, a % 100);
    return buf;
}

double money_to_double(money_t v) { return (double)v / 100.0; }

int money_minor_units(const char *iso)
{
    /* ISO 4217 (list one, 2024): codes whose minor unit is 0, and 3 */
    static const char zero[] = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF";
    static const char three[] = "BHD IQD JOD KWD LYD OMR TND";
    if (!iso || strlen(iso) != 3)
        return 2;
    for (const char *p = zero; *p; p += p[3] ? 4 : 3)
        if (strncmp(p, iso, 3) == 0)
            return 0;
    for (const char *p = three; *p; p += p[3] ? 4 : 3)
        if (strncmp(p, iso, 3) == 0)
            return 3;
    return 2;
}

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

/* caldate.c - day-number arithmetic (Howard Hinnant's civil algorithms) and periods. */
#include "caldate.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

caldate_t caldate_from_ymd(int y, int m, int d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (caldate_t)(era * 146097 + (int)doe - 719468);
}

void caldate_to_ymd(caldate_t z0, int *y, int *m, int *d)
{
    int z = z0 + 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

bool caldate_valid_ymd(int y, int m, int d)
{
    return y >= 1900 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

static bool read_digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*s)[i]))
            return false;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *out = v;
    return true;
}

bool caldate_parse(const char *s, caldate_t *out)
{
    int y, m, d;
    if (!s || !read_digits(&s, 4, &y) || *s++ != '-' || !read_digits(&s, 2, &m) || *s++ != '-' ||
        !read_digits(&s, 2, &d) || *s)
        return false;
    if (!caldate_valid_ymd(y, m, d))
        return false;
    *out = caldate_from_ymd(y, m, d);
    return true;
}

char *caldate_format(caldate_t day, char *buf, size_t len)
{
    int y, m, d;
    caldate_to_ymd(day, &y, &m, &d);
    snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
    return buf;
}

caldate_t caldate_add_months(caldate_t day, int months)
{
    int y, m, d;
    caldate_to_ymd(day, &y, &m, &d);
    int idx = y * 12 + (m - 1) + months;
    y = idx / 12;
    m = idx % 12 + 1;
    if (d > days_in_month(y, m))
        d = days_in_month(y, m);
    return caldate_from_ymd(y, m, d);
}

/* First day of fiscal year fy: FY is named for the calendar year it ends in. */
static caldate_t fy_start(int fy, int fy_start_month)
{
    return fy_start_month == 1 ? caldate_from_ymd(fy, 1, 1) : caldate_from_ymd(fy - 1, fy_start_month, 1);
}

static period make_period(period_kind kind, int year, int index, int fsm)
{
    period p = {.kind = kind, .fiscal_year = year, .index = index};
    switch (kind) {
    case PERIOD_MONTH:
        p.start = caldate_from_ymd(year, index, 1);
        p.end = caldate_add_months(p.start, 1);
        break;
    case PERIOD_QUARTER:
        p.start = caldate_add_months(fy_start(year, fsm), 3 * (index - 1));
        p.end = caldate_add_months(p.start, 3);
        break;
    case PERIOD_YEAR:
        p.start = fy_start(year, fsm);
        p.end = caldate_add_months(p.start, 12);
        break;
    }
    return p;
}

bool period_parse(const char *s, int fsm, period *out)
{
    int y, n;
    if (!s || fsm < 1 || fsm > 12)
        return false;
    if ((s[0] == 'F' || s[0] == 'f') && (s[1] == 'Y' || s[1] == 'y')) {
        s += 2;
        if (!read_digits(&s, 4, &y) || *s || y < 1900 || y > 9998)
            return false;
        *out = make_period(PERIOD_YEAR, y, 0, fsm);
        return true;
    }
    if (!read_digits(&s, 4, &y) || *s++ != '-' || y < 1900 || y > 9998)
        return false;
    if (*s == 'Q' || *s == 'q') {
        s++;
        if (!read_digits(&s, 1, &n) || *s || n < 1 || n > 4)
            return false;
        *out = make_period(PERIOD_QUARTER, y, n, fsm);
        return true;
    }
    if (!read_digits(&s, 2, &n) || *s || n < 1 || n > 12)
        return false;
    *out = make_period(PERIOD_MONTH, y, n, fsm);
    return true;
}

char *period_format(const period *p, char *buf, size_t len)
{
    switch (p->kind) {
    case PERIOD_MONTH:
        snprintf(buf, len, "%04d-%02d", p->fiscal_year, p->index);
        break;
    case PERIOD_QUARTER:
        snprintf(buf, len, "%04d-Q%d", p->fiscal_year, p->index);
        break;
    case PERIOD_YEAR:
        snprintf(buf, len, "FY%04d", p->fiscal_year);
        break;
    }
    return buf;
}

period period_containing(period_kind kind, caldate_t day, int fsm)
{
    int y, m, d;
    caldate_to_ymd(day, &y, &m, &d);
    if (kind == PERIOD_MONTH)
        return make_period(PERIOD_MONTH, y, m, fsm);
    /* months since the start of the fiscal year containing day */
    int fy = (fsm == 1 || m < fsm) ? y : y + 1;
    int offset = (m - fsm + 12) % 12;
    if (kind == PERIOD_QUARTER)
        return make_period(PERIOD_QUARTER, fy, offset / 3 + 1, fsm);
    return make_period(PERIOD_YEAR, fy, 0, fsm);
}

period period_shift(const period *p, int n, int fsm)
{
    switch (p->kind) {
    case PERIOD_MONTH: {
        int idx = p->fiscal_year * 12 + (p->index - 1) + n;
        return make_period(PERIOD_MONTH, idx / 12, idx % 12 + 1, fsm);
    }
    case PERIOD_QUARTER: {
        int idx = p->fiscal_year * 4 + (p->index - 1) + n;
        return make_period(PERIOD_QUARTER, idx / 4, idx % 4 + 1, fsm);
    }
    case PERIOD_YEAR:
    default:
        return make_period(PERIOD_YEAR, p->fiscal_year + n, 0, fsm);
    }
}

/* 1970-01-01 (day 0) was a Thursday: ((day % 7) + 10) % 7 days since Monday. */
caldate_t caldate_monday(caldate_t day) { return day - (((day % 7) + 10) % 7); }

/* caldate.h - civil dates as day numbers, and reporting periods.
 *
 * A date is an int32 count of days since 1970-01-01 (proleptic Gregorian), so
 * differences are plain subtraction. Periods are half-open [start, end) ranges
 * of day numbers: "2026-Q1", "2026-03", "FY2026", "2026-W05" is not supported.
 * Quarters and fiscal years follow the workspace's fiscal-year start month:
 * with start month 2, FY2026 runs 2025-02-01 .. 2026-01-31 (named for the
 * calendar year it ends in, the common US convention), and 2026-Q1 is its
 * first quarter. Months are calendar months whatever the fiscal start.
 */
#ifndef REVOPS_CALDATE_H
#define REVOPS_CALDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int32_t caldate_t;

caldate_t caldate_from_ymd(int y, int m, int d);
void caldate_to_ymd(caldate_t day, int *y, int *m, int *d);
bool caldate_valid_ymd(int y, int m, int d);

/* "YYYY-MM-DD" (also the date part of an RFC 3339 timestamp when allow_time). */
bool caldate_parse(const char *s, caldate_t *out) __attribute__((warn_unused_result));
/* Writes "YYYY-MM-DD" (11 bytes incl. NUL). */
char *caldate_format(caldate_t day, char *buf, size_t len);
/* Add months, clamping the day to the target month's length. */
caldate_t caldate_add_months(caldate_t day, int months);

/* The Monday of the week (Monday to Sunday) that holds day. */
caldate_t caldate_monday(caldate_t day);

typedef enum { PERIOD_MONTH, PERIOD_QUARTER, PERIOD_YEAR } period_kind;

typedef struct {
    period_kind kind;
    int fiscal_year; /* FY label (quarters/years) or calendar year (months) */
    int index;       /* month 1..12, quarter 1..4, 0 for years */
    caldate_t start; /* inclusive */
    caldate_t end;   /* exclusive */
} period;

/* Parse "2026-Q1", "2026-03", "FY2026" (case-insensitive Q/FY) with the
 * fiscal-year start month 1..12. */
bool period_parse(const char *s, int fy_start_month, period *out) __attribute__((warn_unused_result));
/* Canonical label back ("2026-Q1", "2026-03", "FY2026"). */
char *period_format(const period *p, char *buf, size_t len);
/* The period of the same kind that contains day. */
period period_containing(period_kind kind, caldate_t day, int fy_start_month);
/* The previous / next period of the same kind. */
period period_shift(const period *p, int n, int fy_start_month);

#endif

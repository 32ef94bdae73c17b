/* reports.h - what the report handlers (h_reports.c) share with their
 * Markdown rendering (h_reports_md.c). */
#ifndef REVOPS_REPORTS_H
#define REVOPS_REPORTS_H

#include <jansson.h>
#include <stddef.h>

/* The Markdown of a report document (its "report" key names which:
 * monthly, qbr or summary), in the seed's templates; caller frees. NULL when
 * out of memory. */
char *reports_markdown(const json_t *doc);

/* An amount for a sentence: "$1,234,567" in USD, "1,234,567 EUR" otherwise
 * (whole units: the statements round; the figures beside them are exact). */
void reports_money(char *buf, size_t len, double v, const char *currency);

#endif

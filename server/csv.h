/* csv.h - RFC 4180 CSV decoding: quoted fields, doubled quotes, CRLF or LF,
 * a UTF-8 byte-order mark, embedded newlines inside quotes.
 *
 * csv_parse returns a new JSON array of records, each an array of strings,
 * or NULL with a message (unterminated quote, NUL byte, too many columns).
 */
#ifndef REVOPS_CSV_H
#define REVOPS_CSV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define CSV_MAX_COLUMNS 256

json_t *csv_parse(const char *data, size_t len, char *err, size_t errlen);
/* csv_parse that stops as soon as a record beyond max_records is read
 * (*over set, NULL returned), so refusing an oversize file costs memory for
 * max_records records, not for the whole file. */
json_t *csv_parse_max(const char *data, size_t len, size_t max_records, bool *over, char *err, size_t errlen);

#endif

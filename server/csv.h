/* csv.h - RFC 4180 CSV decoding: quoted fields, doubled quotes, CRLF or LF,
 * a UTF-8 byte-order mark, embedded newlines inside quotes.
 *
 * csv_parse returns a new JSON array of records, each an array of strings,
 * or NULL with a message (unterminated quote, NUL byte, too many columns).
 */
#ifndef REVOPS_CSV_H
#define REVOPS_CSV_H

#include <jansson.h>
#include <stddef.h>

#define CSV_MAX_COLUMNS 256

json_t *csv_parse(const char *data, size_t len, char *err, size_t errlen);

#endif

/* import.h - bulk import of deals, accounts or reps from CSV or NDJSON, with
 * a column mapping, fixes that are reported (aliases, misspelled enums,
 * amounts estimated from a caller's price list) and rejected rows with their
 * reasons. The API (POST /v1/imports) and `revopsd demo load` both use it.
 *
 * The request (borrowed):
 *   {object: deals|accounts|reps, format: csv|ndjson, data: "...",
 *    mapping: {column: target | [targets]}, stage_map: {value: stage key},
 *    price_list: {product: amount}, vocabulary: {field: [values]},
 *    defaults: {field: value}, scale: {field: factor}, as_of: timestamp}
 * Targets are field names, "id", "custom.KEY", "product" (deals: kept in
 * custom.product, priced from price_list) and "stage_date.STAGE" (deals: when
 * the deal entered STAGE; the stage history is rebuilt from these).
 */
#ifndef REVOPS_IMPORT_H
#define REVOPS_IMPORT_H

#include <jansson.h>

#include "db.h"
#include "errors.h"

#define IMPORT_MAX_ROWS 20000

/* Validate req, decode, fix, and write everything in one transaction. On
 * success *report is a new object with counts, fixes and rejections. A bad
 * request fills err (422 with field paths) and writes nothing. With c NULL
 * nothing is written at all and every count but rejected and fixed is 0:
 * the decode, mapping and fixes alone (the fuzz harness uses this). */
int import_run(db_conn *c, const char *workspace_id, const json_t *req, json_t **report, app_err *err)
    __attribute__((warn_unused_result));

#endif

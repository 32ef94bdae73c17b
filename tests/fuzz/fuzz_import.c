/* fuzz_import.c - POST /v1/imports before the database: the request checks,
 * CSV/NDJSON decoding, column mapping, stage maps, vocabulary fixes, price
 * list estimates and rejections (import_run without a connection writes
 * nothing). The input is the JSON request body. Properties: a refused
 * request says why (a 4xx code); an accepted one gives a report that
 * encodes as JSON (it echoes input values, so invalid UTF-8 must not reach
 * it), with rejected <= rows and one rejection entry per rejected row. */
#include <stdint.h>
#include <stdlib.h>

#include "http.h"
#include "import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    bool too_deep = false;
    json_t *req = http_json_decode((const char *)data, size, &jerr, &too_deep);
    if (!req)
        return 0;
    app_err err = {0};
    json_t *report = NULL;
    if (import_run(NULL, "00000000-0000-0000-0000-000000000000", req, &report, &err) != 0) {
        if (report || err.code == ERR_NONE || app_error_status(err.code) >= 500)
            abort();
    } else {
        if (!report)
            abort();
        json_int_t rows = json_integer_value(json_object_get(report, "rows"));
        json_int_t rejected = json_integer_value(json_object_get(report, "rejected"));
        if (rejected < 0 || rejected > rows ||
            (size_t)rejected != json_array_size(json_object_get(report, "rejections")))
            abort();
        char *s = json_dumps(report, JSON_COMPACT);
        if (!s)
            abort();
        free(s);
    }
    json_decref(report);
    json_decref(req);
    return 0;
}

/* fuzz_csv.c - the CSV import decoder: no crash, and every record it returns
 * is an array of strings. */
#include <stdint.h>
#include <stdlib.h>

#include "csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    json_t *rows = csv_parse((const char *)data, size, err, sizeof err);
    size_t i, k;
    json_t *rec, *f;
    json_array_foreach(rows, i, rec)
    {
        if (!json_is_array(rec) || json_array_size(rec) > CSV_MAX_COLUMNS)
            abort();
        json_array_foreach(rec, k, f) if (!json_is_string(f)) abort();
    }
    json_decref(rows);
    return 0;
}

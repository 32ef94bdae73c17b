/* fuzz_json_body.c - the dispatcher's JSON body decode (depth check + jansson
 * with duplicate keys refused): never crashes, and what it accepts encodes
 * and decodes back to an equal value. */
#include <stdint.h>
#include <stdlib.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    bool too_deep = false;
    json_t *j = http_json_decode((const char *)data, size, &jerr, &too_deep);
    if (!j)
        return 0;
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
    if (!s)
        abort(); /* an accepted body must encode (replies echo parts of it) */
    json_t *back = json_loads(s, JSON_DECODE_ANY, NULL);
    if (!back || !json_equal(j, back))
        abort();
    json_decref(back);
    free(s);
    json_decref(j);
    return 0;
}

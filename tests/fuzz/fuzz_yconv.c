/* fuzz_yconv.c - YAML -> JSON -> YAML -> JSON: no crash, no leak, and the
 * emitted YAML reads back as the same value (quoting decisions are right). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "yconv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    json_t *j = yconv_parse((const char *)data, size, err, sizeof err);
    if (!j)
        return 0;
    size_t len = 0;
    char *y = yconv_emit(j, &len);
    if (y) {
        json_t *back = yconv_parse(y, len, err, sizeof err);
        if (!back || !json_equal(j, back)) {
            fprintf(stderr, "round trip changed the value: %s\nemitted:\n%s\n", back ? "different" : err, y);
            abort();
        }
        json_decref(back);
        free(y);
    }
    json_decref(j);
    return 0;
}

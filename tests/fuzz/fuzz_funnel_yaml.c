/* fuzz_funnel_yaml.c - a funnel definition posted as YAML (or JSON): yconv,
 * then funneldoc_decode; an accepted document must convert back to a core
 * definition, as the stored form is read that way later. */
#include <stdint.h>
#include <stdlib.h>

#include "funneldoc.h"
#include "yconv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[256];
    json_t *body = yconv_parse((const char *)data, size, msg, sizeof msg);
    if (!body)
        return 0;
    funnel_def def, again;
    app_err err = {0};
    json_t *doc = funneldoc_decode(body, &def, &err);
    if (doc && funneldoc_to_def(doc, &again) != 0)
        abort();
    json_decref(doc);
    json_decref(body);
    return 0;
}

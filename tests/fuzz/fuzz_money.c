/* fuzz_money.c - money_parse and money_from_double: no crash, results within
 * MONEY_MAX_ABS, and money_format reads back as the same amount. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "money.h"

static void check(money_t v)
{
    char buf[40];
    money_t back = 0;
    if (v > MONEY_MAX_ABS || v < -MONEY_MAX_ABS)
        abort();
    if (!money_parse(money_format(v, buf, sizeof buf), &back) || back != v)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    money_t v = 0;
    if (money_parse(s, &v))
        check(v);
    free(s);
    double d;
    if (size >= sizeof d) {
        memcpy(&d, data, sizeof d);
        if (money_from_double(d, &v))
            check(v);
    }
    return 0;
}

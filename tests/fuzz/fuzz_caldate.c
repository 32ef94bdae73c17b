/* fuzz_caldate.c - caldate_parse and period_parse: no crash; an accepted date
 * formats back to the same text; an accepted period is non-empty and its
 * label reads back as the same period. The first byte picks the fiscal-year
 * start month. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "caldate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int fsm = data[0] % 14; /* 0 and 13 must be refused */
    char *s = malloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    caldate_t d;
    char buf[32];
    if (caldate_parse(s, &d) && strcmp(caldate_format(d, buf, sizeof buf), s) != 0)
        abort();
    period p, q;
    if (period_parse(s, fsm, &p)) {
        if (p.end <= p.start || !period_parse(period_format(&p, buf, sizeof buf), fsm, &q) || q.start != p.start ||
            q.end != p.end || strcasecmp(buf, s) != 0)
            abort();
    }
    free(s);
    return 0;
}

/* strhash.h - FNV-1a (32 bits) of a byte string: the one hash of revopsd's
 * in-process tables (route index, rate-limit buckets, forecast-cache slots,
 * the rescore's lead ids). Not for anything a client could aim at a table
 * whose size it knows. */
#ifndef REVOPS_STRHASH_H
#define REVOPS_STRHASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint32_t strhash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

#endif

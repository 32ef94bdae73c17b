/* respcache.h - a short-lived in-process cache of computed read answers
 * (the dashboard), so pollers do not recompute it for every request.
 *
 * An entry lives RESPCACHE_TTL_MS, and every successful write through this
 * instance empties the cache (a generation counter), so a client never
 * reads its own write stale; writes through another instance show within
 * the TTL.
 */
#ifndef REVOPS_RESPCACHE_H
#define REVOPS_RESPCACHE_H

#include <stdbool.h>
#include <stddef.h>

#define RESPCACHE_TTL_MS 2000

/* Copy of the cached body for key (caller frees) or NULL. */
char *respcache_get(const char *key, size_t *len);
/* Store a copy of body under key, unless a write happened since gen. */
void respcache_put(const char *key, const char *body, size_t len, unsigned gen);
/* The generation to pass to respcache_put (read it before computing). */
unsigned respcache_generation(void);
/* A write succeeded: everything cached may be stale. */
void respcache_bump(void);

#endif

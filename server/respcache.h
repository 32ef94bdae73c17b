/* respcache.h - a short-lived in-process cache of computed read answers
 * (the dashboard), so pollers do not recompute it for every request.
 *
 * An entry lives RESPCACHE_TTL_MS, and every successful write through this
 * instance to a workspace drops that workspace's entries (keys are
 * "name|<workspace id>|..."), so a client never reads its own write stale
 * and a write elsewhere costs another workspace's pollers nothing (one
 * write anywhere used to empty every workspace's cache: 0.4 ms polls became
 * 0.2 s under writes elsewhere); writes through another instance show
 * within the TTL.
 */
#ifndef REVOPS_RESPCACHE_H
#define REVOPS_RESPCACHE_H

#include <stdbool.h>
#include <stddef.h>

#define RESPCACHE_TTL_MS 2000
#define RESPCACHE_STALE_MS 20000

#define RESPCACHE_TAG 48

/* Copy of the cached body for key (caller frees) or NULL; its tag (e.g. the
 * ETag, computed once when stored) is copied into tag. An answer older
 * than the TTL is still returned, with *fresh false, for up to
 * RESPCACHE_STALE_MS, so it can be recomputed while requests serve it
 * (stale-while-revalidate); a write makes it unavailable at once. */
char *respcache_get(const char *key, size_t *len, char tag[RESPCACHE_TAG], bool *fresh);
/* Store a copy of body and tag (may be NULL) under key, unless a write
 * happened since gen. */
void respcache_put(const char *key, const char *body, size_t len, const char *tag, unsigned gen);
/* The generation to pass to respcache_put (read it before computing). */
unsigned respcache_generation(void);
/* Serialise the computation of missing answers, so a burst of identical
 * requests computes once and the rest read the cache (check again after
 * respcache_compute_begin). */
void respcache_compute_begin(void);
/* Take the computation lock only if it is free; true when taken. */
bool respcache_compute_try(void);
void respcache_compute_end(void);
/* A write succeeded: everything cached may be stale. */
void respcache_bump(void);
/* A write to workspace ws succeeded: its entries may be stale (NULL or ""
 * when the workspace is not known: respcache_bump). */
void respcache_bump_workspace(const char *ws);
/* Free every entry (at shutdown, after the server stopped: memcheck then
 * sees every heap block freed). */
void respcache_clear(void);

#endif

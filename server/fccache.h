/* fccache.h - what the forecast engine learned, kept between requests.
 *
 * A forecast on 100,000 open deals spent seconds re-reading the same
 * history for its model, its record (three earlier windows, each a rebuilt
 * pipeline) and, in a backtest, every period. The pieces that depend only
 * on the past are kept here: a workspace's history read once (core/fchist),
 * fitted models and the record's per-window forecasts, each under a key
 * that names everything it was computed from.
 *
 * An entry is used only while
 * - no data write to its workspace succeeded through this instance since it
 *   was computed (a per-workspace generation, fccache_touch), and
 * - it is younger than FCCACHE_TTL_MS: writes through another instance
 *   (or applied in the background) show within that time.
 * A model for day T only reads what happened before T, so the writes of a
 * normal day (deals created, moved and closed today) do not change it; a
 * backfill of past history does, and bumps the generation.
 *
 * Entries are reference-counted (a reader keeps its copy while another
 * thread evicts it) and bounded by count and bytes, least recently used out.
 */
#ifndef REVOPS_FCCACHE_H
#define REVOPS_FCCACHE_H

#include <stdbool.h>
#include <stddef.h>

#define FCCACHE_TTL_MS 300000
#define FCCACHE_MAX_ENTRIES 512
#define FCCACHE_MAX_BYTES (512u << 20)

typedef struct fccache_ref fccache_ref;

/* A successful write to workspace ws: its entries are stale. */
void fccache_touch(const char *ws);
/* The generation to store with (read it before computing). */
unsigned long fccache_generation(const char *ws);

/* The value under key for workspace ws, still valid and computed at or
 * after not_before_s (seconds since the epoch; 0: any time), or NULL.
 * Release *ref when done with the value. */
const void *fccache_get(const char *ws, const char *key, double not_before_s, fccache_ref **ref);
/* Store val (bytes for the bound; freed with free_fn when evicted) computed
 * from the data at generation gen. Ownership passes to the cache. When ref
 * is given the caller keeps a reference (release it); otherwise the value
 * must not be used after the call. Values computed before a later write
 * are dropped at once. */
void fccache_put(const char *ws, const char *key, unsigned long gen, void *val, size_t bytes, void (*free_fn)(void *),
                 fccache_ref **ref);
void fccache_release(fccache_ref *ref);

/* Counters for /metrics and the tests. */
void fccache_stats(unsigned long *hits, unsigned long *misses, size_t *bytes);
/* Drop everything (shutdown). */
void fccache_clear(void);

#endif

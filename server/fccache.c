/* fccache.c - reference-counted LRU of forecast inputs with per-workspace
 * write generations. */
#include "fccache.h"
#include "strhash.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fccache_ref {
    char ws[40];
    char *key;
    unsigned long gen;
    double computed_s, used_s;
    void *val;
    size_t bytes;
    void (*free_fn)(void *);
    int refs; /* readers + 1 while in the table */
};

/* Generations by workspace hash: two workspaces sharing a slot only
 * invalidate each other's entries more often (never less). */
#define GEN_SLOTS 4096
static unsigned long generations[GEN_SLOTS];
static fccache_ref *table[FCCACHE_MAX_ENTRIES];
static size_t total_bytes;
static unsigned long hits, misses;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static unsigned slot_of(const char *ws) { return strhash(ws, strlen(ws)) % GEN_SLOTS; }

static void unref(fccache_ref *r) /* with mu held */
{
    if (--r->refs > 0)
        return;
    if (r->free_fn)
        r->free_fn(r->val);
    free(r->key);
    free(r);
}

static void evict(int i) /* with mu held */
{
    fccache_ref *r = table[i];
    table[i] = NULL;
    total_bytes -= r->bytes;
    unref(r);
}

void fccache_touch(const char *ws)
{
    pthread_mutex_lock(&mu);
    generations[slot_of(ws)]++;
    pthread_mutex_unlock(&mu);
}

unsigned long fccache_generation(const char *ws)
{
    pthread_mutex_lock(&mu);
    unsigned long g = generations[slot_of(ws)];
    pthread_mutex_unlock(&mu);
    return g;
}

static bool valid(const fccache_ref *r, double now) /* with mu held */
{
    return r->gen == generations[slot_of(r->ws)] && (now - r->computed_s) * 1000 < FCCACHE_TTL_MS;
}

const void *fccache_get(const char *ws, const char *key, double not_before_s, fccache_ref **ref)
{
    *ref = NULL;
    double now = now_s();
    pthread_mutex_lock(&mu);
    for (int i = 0; i < FCCACHE_MAX_ENTRIES; i++) {
        fccache_ref *r = table[i];
        if (!r || strcmp(r->ws, ws) != 0 || strcmp(r->key, key) != 0)
            continue;
        if (!valid(r, now)) {
            evict(i);
            continue;
        }
        if (r->computed_s < not_before_s)
            continue;
        r->refs++;
        r->used_s = now;
        hits++;
        pthread_mutex_unlock(&mu);
        *ref = r;
        return r->val;
    }
    misses++;
    pthread_mutex_unlock(&mu);
    return NULL;
}

void fccache_put(const char *ws, const char *key, unsigned long gen, void *val, size_t bytes, void (*free_fn)(void *),
                 fccache_ref **ref)
{
    if (ref)
        *ref = NULL;
    fccache_ref *r = calloc(1, sizeof *r);
    char *k = strdup(key);
    if (!r || !k || strlen(ws) >= sizeof r->ws) {
        free(r);
        free(k);
        if (free_fn)
            free_fn(val);
        return;
    }
    snprintf(r->ws, sizeof r->ws, "%s", ws);
    r->key = k;
    r->gen = gen;
    r->computed_s = r->used_s = now_s();
    r->val = val;
    r->bytes = bytes;
    r->free_fn = free_fn;
    r->refs = ref ? 2 : 1;
    pthread_mutex_lock(&mu);
    bool keep = gen == generations[slot_of(ws)] && bytes <= FCCACHE_MAX_BYTES;
    if (keep) {
        /* the same key replaced; then room by count and bytes, oldest use first */
        for (int i = 0; i < FCCACHE_MAX_ENTRIES; i++)
            if (table[i] && strcmp(table[i]->ws, ws) == 0 && strcmp(table[i]->key, key) == 0)
                evict(i);
        for (;;) {
            int free_slot = -1, lru = -1;
            for (int i = 0; i < FCCACHE_MAX_ENTRIES; i++) {
                if (!table[i]) {
                    if (free_slot < 0)
                        free_slot = i;
                } else if (lru < 0 || table[i]->used_s < table[lru]->used_s) {
                    lru = i;
                }
            }
            if (free_slot >= 0 && total_bytes + bytes <= FCCACHE_MAX_BYTES) {
                table[free_slot] = r;
                total_bytes += bytes;
                break;
            }
            evict(lru);
        }
    } else {
        r->refs--; /* not stored: only the caller's reference, if any */
    }
    if (r->refs == 0) { /* not stored and not wanted */
        r->refs = 1;
        unref(r);
        r = NULL;
    }
    pthread_mutex_unlock(&mu);
    if (ref)
        *ref = r;
}

void fccache_release(fccache_ref *ref)
{
    if (!ref)
        return;
    pthread_mutex_lock(&mu);
    unref(ref);
    pthread_mutex_unlock(&mu);
}

void fccache_stats(unsigned long *h, unsigned long *m, size_t *bytes)
{
    pthread_mutex_lock(&mu);
    *h = hits;
    *m = misses;
    *bytes = total_bytes;
    pthread_mutex_unlock(&mu);
}

void fccache_clear(void)
{
    pthread_mutex_lock(&mu);
    for (int i = 0; i < FCCACHE_MAX_ENTRIES; i++)
        if (table[i])
            evict(i);
    pthread_mutex_unlock(&mu);
}

/* respcache.c - direct-mapped cache with TTL and a global write generation. */
#include "respcache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS 256

typedef struct {
    char key[160];
    char *body;
    size_t len;
    char tag[RESPCACHE_TAG];
    long long expires_ms;
    unsigned gen;
} entry;

static entry slots[SLOTS];
/* A write sequence: generation() is its value when a computation starts;
 * bumped[b] is its value at the last write to a workspace hashing to b (a
 * collision only drops more than needed). An entry computed at g is valid
 * while bumped[b] <= g. */
#define WS_BUCKETS 1024
static unsigned generation = 1;
static unsigned bumped[WS_BUCKETS];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t compute_mu = PTHREAD_MUTEX_INITIALIZER;

void respcache_compute_begin(void) { pthread_mutex_lock(&compute_mu); }
void respcache_compute_end(void) { pthread_mutex_unlock(&compute_mu); }
bool respcache_compute_try(void) { return pthread_mutex_trylock(&compute_mu) == 0; }

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The bucket of the workspace a key names (its second |-separated field). */
static size_t ws_bucket(const char *key, size_t n)
{
    unsigned long h = 5381;
    for (size_t i = 0; i < n; i++)
        h = h * 33 + (unsigned char)key[i];
    return h % WS_BUCKETS;
}

static size_t bucket_of_key(const char *key)
{
    const char *a = strchr(key, '|');
    const char *b = a ? strchr(a + 1, '|') : NULL;
    return a && b ? ws_bucket(a + 1, (size_t)(b - a - 1)) : ws_bucket("", 0);
}

static size_t slot_of(const char *key)
{
    unsigned long h = 5381; /* djb2: keys are short and trusted-format */
    for (const char *p = key; *p; p++)
        h = h * 33 + (unsigned char)*p;
    return h % SLOTS;
}

char *respcache_get(const char *key, size_t *len, char tag[RESPCACHE_TAG], bool *fresh)
{
    char *out = NULL;
    long long now = now_ms();
    pthread_mutex_lock(&mu);
    entry *e = &slots[slot_of(key)];
    if (e->body && bumped[bucket_of_key(key)] <= e->gen &&
        e->expires_ms - RESPCACHE_TTL_MS + RESPCACHE_STALE_MS > now && strcmp(e->key, key) == 0) {
        *fresh = e->expires_ms > now;
        out = malloc(e->len + 1);
        if (out) {
            memcpy(out, e->body, e->len + 1);
            *len = e->len;
            memcpy(tag, e->tag, RESPCACHE_TAG);
        }
    }
    pthread_mutex_unlock(&mu);
    return out;
}

void respcache_put(const char *key, const char *body, size_t len, const char *tag, unsigned gen)
{
    if (strlen(key) >= sizeof slots[0].key)
        return;
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, body, len);
    copy[len] = '\0';
    pthread_mutex_lock(&mu);
    if (bumped[bucket_of_key(key)] <= gen) {
        entry *e = &slots[slot_of(key)];
        free(e->body);
        snprintf(e->key, sizeof e->key, "%s", key);
        e->body = copy;
        e->len = len;
        snprintf(e->tag, sizeof e->tag, "%s", tag ? tag : "");
        e->expires_ms = now_ms() + RESPCACHE_TTL_MS;
        e->gen = gen;
        copy = NULL;
    }
    pthread_mutex_unlock(&mu);
    free(copy);
}

unsigned respcache_generation(void)
{
    pthread_mutex_lock(&mu);
    unsigned g = generation;
    pthread_mutex_unlock(&mu);
    return g;
}

void respcache_bump(void)
{
    pthread_mutex_lock(&mu);
    generation++;
    for (size_t b = 0; b < WS_BUCKETS; b++)
        bumped[b] = generation;
    pthread_mutex_unlock(&mu);
}

void respcache_bump_workspace(const char *ws)
{
    if (!ws || !*ws) {
        respcache_bump();
        return;
    }
    pthread_mutex_lock(&mu);
    generation++;
    bumped[ws_bucket(ws, strlen(ws))] = generation;
    pthread_mutex_unlock(&mu);
}

void respcache_clear(void)
{
    pthread_mutex_lock(&mu);
    for (size_t i = 0; i < SLOTS; i++) {
        free(slots[i].body);
        slots[i].body = NULL;
    }
    generation++;
    for (size_t b = 0; b < WS_BUCKETS; b++)
        bumped[b] = generation;
    pthread_mutex_unlock(&mu);
}

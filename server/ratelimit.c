/* ratelimit.c - token buckets in a fixed open-addressing table.
 *
 * The table never grows: RATELIMIT_SLOTS buckets, probed RATELIMIT_PROBES
 * deep. When every probed slot is taken by another key, the one idle longest
 * is reused; a bucket idle for burst/rate seconds is full again anyway, so
 * only more than RATELIMIT_SLOTS keys busy at the same moment can make a
 * key's bucket start over (more lenient, never stricter). Memory is bounded
 * whatever keys clients send: only authenticated key ids reach this table.
 */
#include "ratelimit.h"
#include "strhash.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RATELIMIT_SLOTS 4096 /* power of two; ~300 KiB */
#define RATELIMIT_PROBES 16
#define RATELIMIT_KEY_MAX 47 /* key ids are UUIDs (36) */

typedef struct {
    char key[RATELIMIT_KEY_MAX + 1]; /* "" = free */
    double tokens;
    double last; /* when tokens was computed */
} bucket;

struct ratelimit {
    pthread_mutex_t mu;
    double rate;
    double burst;
    bucket slots[RATELIMIT_SLOTS];
};

ratelimit *ratelimit_create(double rate, int burst)
{
    if (!(rate > 0))
        return NULL;
    ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    pthread_mutex_init(&rl->mu, NULL);
    rl->rate = rate;
    rl->burst = burst < 1 ? 1 : burst;
    return rl;
}

void ratelimit_destroy(ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

bool ratelimit_take(ratelimit *rl, const char *key, double now_s, int *retry_after_s)
{
    if (!rl)
        return true;
    char k[RATELIMIT_KEY_MAX + 1];
    size_t n = strlen(key);
    if (n > RATELIMIT_KEY_MAX)
        n = RATELIMIT_KEY_MAX;
    memcpy(k, key, n);
    k[n] = '\0';
    uint32_t h = strhash(k, strlen(k));
    pthread_mutex_lock(&rl->mu);
    bucket *b = NULL, *oldest = NULL;
    for (int i = 0; i < RATELIMIT_PROBES && !b; i++) {
        bucket *s = &rl->slots[(h + (uint32_t)i) & (RATELIMIT_SLOTS - 1)];
        if (strcmp(s->key, k) == 0)
            b = s;
        else if (!oldest || !s->key[0] || (oldest->key[0] && s->last < oldest->last))
            oldest = s;
    }
    if (!b) { /* a new key, or one whose bucket was reused: start full */
        b = oldest;
        memcpy(b->key, k, n + 1);
        b->tokens = rl->burst;
        b->last = now_s;
    }
    if (now_s > b->last) {
        b->tokens = fmin(rl->burst, b->tokens + (now_s - b->last) * rl->rate);
        b->last = now_s;
    }
    bool ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    else if (retry_after_s)
        *retry_after_s = (int)ceil((1.0 - b->tokens) / rl->rate);
    pthread_mutex_unlock(&rl->mu);
    if (!ok && retry_after_s && *retry_after_s < 1)
        *retry_after_s = 1;
    return ok;
}

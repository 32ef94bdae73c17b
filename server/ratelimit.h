/* ratelimit.h - per-API-key token buckets, kept in this process's memory.
 *
 * Each key may make `rate` requests per second on average, and up to `burst`
 * at once. The buckets are per instance: behind a load balancer that spreads
 * a key over N instances the key gets up to N x rate. That is a documented
 * first step (README, docs/reliability.md); a shared limit would need a
 * shared counter (PostgreSQL or a cache) on every request.
 */
#ifndef REVOPS_RATELIMIT_H
#define REVOPS_RATELIMIT_H

#include <stdbool.h>

typedef struct ratelimit ratelimit;

/* NULL when rate <= 0 (limiting off) or out of memory; burst < 1 counts as 1. */
ratelimit *ratelimit_create(double rate, int burst);
void ratelimit_destroy(ratelimit *rl);

/* Take one token from key's bucket at time now_s (monotonic seconds).
 * true: go ahead. false: refused, and *retry_after_s is the whole number of
 * seconds (>= 1) until a token is back. A NULL rl always allows. Thread-safe. */
bool ratelimit_take(ratelimit *rl, const char *key, double now_s, int *retry_after_s);

#endif

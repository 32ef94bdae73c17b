/* rng.h - the seeded random numbers of the forecast engines (the Monte Carlo
 * reference and the learned method's posterior draws): xoshiro256**
 * seeded by splitmix64 (Blackman and Vigna), reproducible for a seed on
 * every machine. Not for secrets. */
#ifndef REVOPS_RNG_H
#define REVOPS_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} rng;

void rng_seed(rng *r, uint64_t seed);
uint64_t rng_next(rng *r);              /* 64 uniform bits */
double rng_uniform(rng *r);             /* in (0, 1) */
double rng_normal(rng *r);              /* standard normal (Box-Muller) */
double rng_gamma(rng *r, double shape); /* Gamma(shape, 1), shape > 0 (Marsaglia-Tsang); 0 for shape <= 0 */

#endif

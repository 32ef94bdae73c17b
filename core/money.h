/* money.h - exact money: signed 64-bit integer minor units (cents).
 *
 * Every amount in core/ is a money_t. Floating point appears only in rates and
 * probabilities; money_mul_rate() is the single place a rate meets money, and it
 * rounds half away from zero to the cent, so weighted sums are reproducible.
 */
#ifndef REVOPS_MONEY_H
#define REVOPS_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int64_t money_t; /* minor units (cents) */

/* Largest absolute amount accepted from outside: 10^15 major units keeps every
 * sum of up to ~9000 such values inside int64 and is far beyond any real deal. */
#define MONEY_MAX_ABS ((money_t)100000000000000000LL)

/* Parse a decimal string ("1234", "-12.5", "1e3" is rejected) into cents.
 * At most two fraction digits; returns false on syntax error or overflow. */
bool money_parse(const char *s, money_t *out) __attribute__((warn_unused_result));

/* Convert a JSON number (double) to cents; false when not finite, above
 * MONEY_MAX_ABS, or with more than two decimals (beyond 1e-6 tolerance). */
bool money_from_double(double v, money_t *out) __attribute__((warn_unused_result));

/* Decimal rendering "-1234.50" into buf (at least 32 bytes); returns buf. */
char *money_format(money_t v, char *buf, size_t len);

/* The value as a double of major units, for JSON output (exact to the cent
 * for |v| < 2^53 cents). */
double money_to_double(money_t v);

/* v × rate rounded half away from zero to the cent, saturated to
 * ±MONEY_MAX_ABS (0 for a NaN rate). */
money_t money_mul_rate(money_t v, double rate);

#endif

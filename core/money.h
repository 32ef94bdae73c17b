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

/* Largest absolute amount accepted as a JSON number: 10^13 major units
 * (10^15 cents, below 2^53), where every whole number of cents still has a
 * double of its own; above it two amounts a cent apart can read as the same
 * double, so a third decimal could no longer be told from rounding. */
#define MONEY_JSON_MAX_ABS ((money_t)1000000000000000LL)

/* Convert a JSON number (double) to cents, exactly: true only when v is the
 * double nearest a whole number of cents (what a decimal with at most two
 * decimals parses to), whatever its size. False when not finite, beyond
 * MONEY_JSON_MAX_ABS, or with a third decimal. One allowance: below 2^32
 * major units a value within 2 ulps of a whole cent is that cent (0.1 + 0.2
 * summed by a client in binary is 0.30000000000000004); no decimal written
 * with 15 significant digits or fewer lies that close to another. */
bool money_from_double(double v, money_t *out) __attribute__((warn_unused_result));

/* Decimal rendering "-1234.50" into buf (at least 32 bytes); returns buf. */
char *money_format(money_t v, char *buf, size_t len);

/* The value as a double of major units, for JSON output (exact to the cent
 * for |v| < 2^53 cents). */
double money_to_double(money_t v);

/* The minor units of an ISO 4217 currency code: 0 for the currencies without
 * a minor unit (JPY, KRW, VND, CLP, ISK, ... as ISO 4217's list), 3 for the
 * dinars and rials with three (BHD, IQD, JOD, KWD, LYD, OMR, TND), else 2.
 * Amounts are held in hundredths whatever the currency: a zero-unit currency
 * takes whole amounts only; a three-unit one is held to two decimals. */
int money_minor_units(const char *iso);

/* v × rate rounded half away from zero to the cent, saturated to
 * ±MONEY_MAX_ABS (0 for a NaN rate). */
money_t money_mul_rate(money_t v, double rate);

#endif

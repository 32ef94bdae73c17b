/* accuracy.h - how good past forecasts were: which stored forecast counts at
 * each horizon of a closed period, and its error, APE and bias against what
 * was actually won. MAPE, mean bias and the seed's grade over several periods
 * are metrics_accuracy_compute (core/metrics.h): one formula, one place.
 * Definitions and choices: docs/metrics.md, "Forecast accuracy".
 */
#ifndef REVOPS_ACCURACY_H
#define REVOPS_ACCURACY_H

#include <stdbool.h>
#include <stddef.h>

#include "caldate.h"
#include "money.h"

/* When a forecast was made, relative to the period it forecasts. */
typedef enum { ACC_PERIOD_START, ACC_LEAD_90, ACC_LEAD_60, ACC_LEAD_30, ACC__HORIZONS } accuracy_horizon;

/* "period_start", "lead_90d", "lead_60d", "lead_30d". */
const char *accuracy_horizon_name(accuracy_horizon h);

/* The last day a forecast may have been made on (its as_of) to count at
 * horizon h for the period [start, end): the period's first day, or the
 * exclusive end minus the lead time in days. */
caldate_t accuracy_cutoff(accuracy_horizon h, caldate_t start, caldate_t end);

typedef struct {
    caldate_t as_of; /* the day the forecast (or call) was made */
    long long seq;   /* creation order: breaks ties between equal as_of */
} accuracy_candidate;

/* Index of the latest candidate made on or before cutoff (highest as_of,
 * then highest seq), or -1 when none was. */
long accuracy_pick(const accuracy_candidate *c, size_t n, caldate_t cutoff);

typedef struct {
    money_t error;   /* forecast - actual: > 0 over-forecast, < 0 under */
    bool defined;    /* actual > 0: the percentages exist */
    double ape_pct;  /* |forecast - actual| / actual x 100 */
    double bias_pct; /* (forecast - actual) / actual x 100, signed */
} accuracy_point;

/* One forecast against one actual. With actual <= 0 only the error is
 * defined (a percentage of nothing is not a number). */
accuracy_point accuracy_point_of(money_t forecast, money_t actual);

/* Range scores of one forecast: the pinball (quantile) loss of the
 * forecast's q-quantile value against the actual, (actual - v) x q when the
 * actual is at or above v, else (v - actual) x (1 - q), in cents; and
 * whether the actual fell inside [lo, hi] (both ends included). The mean
 * pinball loss over P10/P50/P90 is a discrete approximation of the CRPS / 2
 * (Gneiting and Raftery 2007). */
double accuracy_pinball(double q, money_t value, money_t actual);
bool accuracy_inside(money_t lo, money_t hi, money_t actual);

/* "over" (bias > 0), "under" (bias < 0) or "even". */
const char *accuracy_direction(double bias_pct);

#endif

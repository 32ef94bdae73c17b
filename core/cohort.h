/* cohort.h - cohort retention tables from ARR movements.
 *
 * Each account belongs to one cohort (the caller decides: acquisition month,
 * segment, source) and is acquired in the month of its first movement.
 * For every cohort and every month since acquisition (m = 0 is the
 * acquisition month's end) the table holds the cohort's ARR, its "kept" ARR
 * (each account capped at its month-0 ARR, so expansion does not hide
 * churn) and its live logos. NRR_m = arr_m / arr_0, GRR_m = kept_m / arr_0,
 * logo retention_m = logos_m / logos_0.
 */
#ifndef REVOPS_COHORT_H
#define REVOPS_COHORT_H

#include <stddef.h>

#include "money.h"

typedef struct {
    int account;   /* dense account index */
    int month;     /* months since an epoch, e.g. year * 12 + month - 1 */
    money_t delta; /* signed ARR change */
} cohort_move;

typedef struct {
    money_t arr, kept;
    long logos;
} cohort_cell;

/* moves: any order. account_cohort[a]: cohort of account a (-1 to skip).
 * Fills cells[cohort * horizon + m] for m < horizon, counting months up to
 * last_month (inclusive); cells past last_month stay zero with logos -1.
 * Returns 0 or -1 (bad index, allocation). */
int cohort_table(const cohort_move *moves, size_t n, size_t naccounts, const int *account_cohort, int ncohorts,
                 int horizon, int last_month, cohort_cell *cells) __attribute__((warn_unused_result));

/* Each account's ARR at month 0 (the sum of its moves in its first month,
 * the cohort's starting ARR): arr0[a] for a < naccounts, 0 for an account
 * without moves. The ACV the seed's cohort framework bands accounts by
 * ("ACV band: do bigger deals churn less?"). Returns 0 or -1 (bad index). */
int cohort_starting_arr(const cohort_move *moves, size_t n, size_t naccounts, money_t *arr0)
    __attribute__((warn_unused_result));

/* The sales-cycle band of the seed's cohort framework ("Sales cycle length:
 * do faster deals have higher NRR?"): the days from creation to close of an
 * account's first won deal, in "0-30 days", "31-90 days", "91-180 days" or
 * "181+ days" (the seed names no bands; docs/metrics.md). */
const char *cohort_cycle_band(long days);

#endif

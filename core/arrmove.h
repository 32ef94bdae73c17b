/* arrmove.h - ARR movements derived from subscriptions.
 *
 * A subscription contributes its ARR to its account from start (inclusive)
 * to end (exclusive; no end = still active). Walking an account's change
 * points in date order, each change of the account's total ARR is one
 * movement: from zero to positive is "new" the first time and
 * "reactivation" after a churn; positive to zero is "churn"; up is
 * "expansion", down is "contraction". Amounts are positive; the kind
 * carries the direction. Same-day changes net into one movement, so an
 * upgrade booked as end-old/start-new on one date is an expansion, not a
 * churn and a new logo.
 */
#ifndef REVOPS_ARRMOVE_H
#define REVOPS_ARRMOVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caldate.h"
#include "money.h"

typedef enum { ARR_NEW, ARR_EXPANSION, ARR_CONTRACTION, ARR_CHURN, ARR_REACTIVATION, ARR__KINDS } arr_kind;

typedef struct {
    money_t arr;     /* annual recurring revenue, >= 0 */
    caldate_t start; /* inclusive */
    caldate_t end;   /* exclusive; ARRMOVE_OPEN when active */
} arr_sub;

typedef struct {
    caldate_t date;
    arr_kind kind;
    money_t amount; /* > 0 */
} arr_movement;

#define ARRMOVE_OPEN INT32_MAX

const char *arr_kind_name(arr_kind k);
/* -1 when unknown */
int arr_kind_parse(const char *s);
/* Signed effect of a movement on ARR (+ for new/expansion/reactivation). */
money_t arr_movement_signed(const arr_movement *m);

/* Derive one account's movements from its subscriptions, in date order.
 * out must hold 2*n entries (each subscription adds at most two change
 * points). Returns the number written, or -1 for invalid input (negative
 * ARR, end <= start). Caller owns both arrays. */
int arrmove_derive(const arr_sub *subs, size_t n, arr_movement *out) __attribute__((warn_unused_result));

#endif

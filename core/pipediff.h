/* pipediff.h - what changed in the pipeline between two snapshots.
 *
 * Each deal present in either snapshot is classified (a deal can have
 * several kinds at once: pushed and amount_down, say), and the open
 * pipeline's waterfall from the older snapshot to the newer one is broken
 * into parts that add up to the cent:
 *   end = start + new + reopened + amount_up - amount_down - won - lost - removed
 * "pushed" and "pulled_in" move deals across the period end; they change the
 * period's pipeline, reported separately (period_start .. period_end).
 */
#ifndef REVOPS_PIPEDIFF_H
#define REVOPS_PIPEDIFF_H

#include <stdbool.h>
#include <stddef.h>

#include "caldate.h"
#include "money.h"

enum {
    PD_NEW = 1 << 0,
    PD_WON = 1 << 1,
    PD_LOST = 1 << 2,
    PD_PUSHED = 1 << 3,
    PD_PULLED_IN = 1 << 4,
    PD_AMOUNT_UP = 1 << 5,
    PD_AMOUNT_DOWN = 1 << 6,
    PD_STAGE_ADVANCED = 1 << 7,
    PD_STAGE_REGRESSED = 1 << 8,
    PD_OWNER_CHANGED = 1 << 9,
    PD_REMOVED = 1 << 10,
    PD_REOPENED = 1 << 11,
};
#define PD__KINDS 12
const char *pipediff_kind_name(int bit_index);

typedef enum { PD_OPEN, PD_CLOSED_WON, PD_CLOSED_LOST } pd_status;

typedef struct {
    money_t amount;
    pd_status status;
    int stage_order; /* position of the stage in the funnel; -1 unknown */
    caldate_t close; /* expected close date; INT32_MIN unknown */
    int owner;       /* caller's owner index, -1 none */
} pd_deal;

/* One deal seen in either snapshot: before/after NULL when absent. */
typedef struct {
    const pd_deal *before;
    const pd_deal *after;
} pd_pair;

typedef struct {
    money_t start, end; /* open pipeline in the older / newer snapshot */
    money_t new_deals, reopened, amount_up, amount_down, won, lost, removed;
    money_t period_start, period_end; /* open pipeline expected to close before period_close */
    money_t pushed, pulled_in;
    long counts[PD__KINDS];
} pd_summary;

/* Kinds of one pair. period_close: the (exclusive) end of the period whose
 * close dates "pushed"/"pulled in" refer to. */
unsigned pipediff_classify(const pd_pair *p, caldate_t period_close);

/* Classify every pair (kinds written to out_kinds, n entries) and sum the
 * waterfall. */
void pipediff_compute(const pd_pair *pairs, size_t n, caldate_t period_close, unsigned *out_kinds, pd_summary *sum);

#endif

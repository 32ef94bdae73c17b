/* alert.h - alerts out (issue 23): the signal kinds a rule may watch, with
 * the filters and parameters each takes, and the delivery schedule of an
 * alert's webhook (exponential backoff with jitter over more than a day).
 *
 * Integers in, integers out: the schedule is exact, so a test names it.
 */
#ifndef REVOPS_ALERT_H
#define REVOPS_ALERT_H

#include <stdbool.h>

/* The filters a kind's subject has (bit set). */
#define ALERT_F_OWNER 0x1
#define ALERT_F_SEGMENT 0x2
#define ALERT_F_TERRITORY 0x4
#define ALERT_F_AMOUNT 0x8

typedef struct {
    const char *name;    /* stale_deal, deal_pushed, ... */
    const char *subject; /* deal, account, lead assignment */
    unsigned filters;    /* ALERT_F_* the subject carries */
    const char *param;   /* the one parameter it takes, NULL for none */
    double param_min, param_max, param_default;
    bool param_integer;
    const char *summary; /* what it watches, for the docs and errors */
    /* takes params.per: "workspace" (the default, one subject) or "owner"
     * (one subject per owner; only then filter.owner applies) */
    bool per_owner;
} alert_kind;

/* The kind named name, or NULL. */
const alert_kind *alert_kind_find(const char *name);
/* The kinds in order, n of them. */
const alert_kind *alert_kinds(int *n);

/* Attempts of one delivery: the first and ALERT_RETRIES retries. */
#define ALERT_RETRIES 12
/* A retry's nominal delay doubles from the base up to base x 2^9 (512). */
#define ALERT_BACKOFF_MAX_DOUBLINGS 9
/* Jitter: the nominal delay times (800 + 0.4 j) / 1000 for j in 0..999,
 * i.e. between 0.8 and 1.2 of it (instances that failed together do not
 * retry together). */
#define ALERT_JITTER_MIN_PERMILLE 800

/* Delay in ms before retry number retry (1 = after the first failed
 * attempt): base_ms x 2^min(retry - 1, 9) x (800 + 4 j / 10) / 1000, j the
 * jitter in 0..999 (clamped). 0 when retry is outside 1..ALERT_RETRIES. */
long long alert_retry_delay_ms(long long base_ms, int retry, int jitter_permille);
/* Is another attempt due after attempts failed ones? */
bool alert_should_retry(int attempts);
/* The shortest time from the first attempt to the last retry (every
 * jitter at its minimum): 2047 x base x 0.8. With the default base of 60 s
 * that is 98,256 s, 27.3 hours: retries cover at least a day. */
long long alert_retry_span_min_ms(long long base_ms);

#endif

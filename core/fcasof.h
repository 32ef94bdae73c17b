/* fcasof.h - the open pipeline as it stood at 00:00 UTC of a day, rebuilt in
 * memory from the deals' field changes and stage history read once.
 *
 * Every figure for a past date (POST /v1/forecasts as_of, the backtest, the
 * trend, pipeline reviews and snapshots of past weeks) asks which deals were
 * open at T and what they looked like then. Asked of PostgreSQL once per day
 * (a per-deal lookup of 100,000 deals' changes), a 24-month backtest spent
 * 0.36 s per period there; here the history is read once (server/fcdata.c)
 * and this file is the one place the rule is written:
 *
 * - open at T: created before T, not closed before T, not deleted before T;
 * - amount, stage, probability, forecast category and close date: the latest
 *   change before T (by event time, then id) wins; with none before T, the
 *   earliest applied change at or after T tells what the value was (its old
 *   value), except the record that created the deal (old value SQL NULL),
 *   whose new value is the first value ever seen and taken as the value then.
 *   Only applied changes count after T: a stale change's old value is the
 *   value when it arrived, not before its event. A field without any such
 *   change keeps its current value; a JSON null means "none" then;
 * - the stage and its entry day: the last stage entry before T, else the
 *   stage from the changes as above (and no entry day);
 * - the amount in the workspace currency at the rate in force on T (the
 *   latest rate dated on or before T, else the first rate; a currency
 *   without rates at par), cents x rate rounded half away from zero, exact;
 * - last activity: when it was before T (a later one says nothing about
 *   then); pushes: applied close-date moves past the end of their fiscal
 *   quarter before T (the reader marks which changes are pushes, with the
 *   rule of deals.push_count);
 * - owner, segment, account, name and the owner's region have no history:
 *   current values.
 *
 * "T" above is any moment. Times are seconds since 1970-01-01 UTC
 * (microseconds kept). core only: no I/O.
 */
#ifndef REVOPS_FCASOF_H
#define REVOPS_FCASOF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caldate.h"
#include "forecast.h"
#include "money.h"

enum { FCASOF_AMOUNT, FCASOF_STAGE, FCASOF_PROBABILITY, FCASOF_CATEGORY, FCASOF_CLOSE, FCASOF_NFIELDS };

/* A field's value: known false is "none" (NULL). */
typedef struct {
    bool known;
    union {
        money_t cents; /* FCASOF_AMOUNT, in the deal's currency */
        const char *s; /* FCASOF_STAGE, FCASOF_CATEGORY */
        double p;      /* FCASOF_PROBABILITY */
        caldate_t day; /* FCASOF_CLOSE */
    };
} fcasof_val;

typedef struct {
    double at;           /* event time, seconds */
    unsigned char field; /* FCASOF_* */
    bool applied;
    bool created; /* the record that created the deal (old value SQL NULL) */
    bool push;    /* an applied close-date move past its fiscal quarter's end */
    fcasof_val old_v, new_v;
} fcasof_change;

typedef struct {
    double entered; /* seconds */
    const char *stage;
} fcasof_entry;

typedef struct {
    const char *id, *name, *owner, *segment, *region, *account; /* NULL when none */
    const char *currency;                                       /* NULL: the workspace's */
    bool won;                                                   /* today's status is won */
    double created, closed, deleted, last_activity;             /* seconds, INFINITY when never */
    fcasof_val cur[FCASOF_NFIELDS];                             /* today's values */
    size_t first_change, nchanges;                              /* changes[first .. first + n), by (event time, id) */
    size_t first_entry, nentries;                               /* dated stage entries, by (entered, id) */
} fcasof_deal;

typedef struct {
    const char *currency;
    caldate_t day;
    int64_t rate_e8; /* the rate x 10^8 (numeric(20, 8)) */
} fcasof_rate;

typedef struct {
    fcasof_deal *deals; /* in the order rows are wanted (by id) */
    size_t ndeals;
    fcasof_change *changes;
    size_t nchanges;
    fcasof_entry *entries;
    size_t nentries;
    fcasof_rate *rates; /* by (currency, day) */
    size_t nrates;
} fcasof;

/* One deal as it was at T. */
typedef struct {
    const fcasof_deal *deal;      /* id, name, owner, segment, region, account */
    const char *stage, *category; /* NULL when none then */
    bool has_amount;
    money_t amount;                                /* workspace currency at T's rate */
    double probability;                            /* NAN when none */
    caldate_t stage_entered, close, last_activity; /* FORECAST_NO_DATE when none */
    int pushes;
} fcasof_row;

/* The deals open at ts (seconds; 00:00 UTC of a day T for the forecasts,
 * any moment for a snapshot) into rows (room for h->ndeals), in the deals'
 * order, amounts at the rate in force on ts's UTC day; returns how many. */
size_t fcasof_at(const fcasof *h, double ts, fcasof_row *rows);

/* Won to date at as_of: the deals won today whose close was in [start,
 * min(end, as_of)) and that were not deleted before as_of (seconds), in the
 * deals' order, into out (room for h->ndeals); returns how many. Their
 * amount is fcasof_won_amount. */
size_t fcasof_won(const fcasof *h, double start, double end, double as_of, const fcasof_deal **out);

/* A won deal's amount in the workspace currency at its close's rate (none: 0). */
money_t fcasof_won_amount(const fcasof *h, const fcasof_deal *d);

/* cents of `currency` in the workspace currency at the rate in force on day
 * (the rule above); NULL currency: unchanged. */
money_t fcasof_convert(const fcasof *h, const char *currency, money_t cents, caldate_t day);

#endif

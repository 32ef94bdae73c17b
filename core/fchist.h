/* fchist.h - a workspace's deal history read once, and what the forecast
 * methods learn from it as it was known on a day T.
 *
 * The learned and historical methods, their record and the backtest all ask
 * the same question for many days: which deals existed at 00:00 UTC of T,
 * which had closed, how, and which stages they had entered by then. Asked of
 * PostgreSQL once per day, a 24-month backtest read the same 400,000 stage
 * entries about a hundred times (68 s on 250,000 deals). Here the history is
 * read once (server/fcdata.c) and each day's inputs are derived from it in
 * memory; this file is the one place the rules below are written:
 *
 * - a deal exists at T when created before T and not deleted before T;
 * - the learned method (fclearn_input): stage episodes of existing deals,
 *   entries before T, each ending at the next entry before T or the close
 *   before T, censored at T otherwise; closed and won counts; creations in
 *   the 91-day windows and 30-day spans before T; won amounts and the
 *   realised / earlier-amount ratio of the year's wins;
 * - the historical method (forecast_history): deals closed before T and not
 *   deleted (today), the stages they reached, days from each stage entry to
 *   a won close, creations of the year before T, create-to-close days;
 * - what was won in [start, end) by deals not deleted (the graded actual).
 *
 * Times are seconds since 1970-01-01 UTC (microseconds kept), T is a day:
 * "before T" is before T x 86400. core only: no I/O.
 */
#ifndef REVOPS_FCHIST_H
#define REVOPS_FCHIST_H

#include <stdbool.h>
#include <stddef.h>

#include "caldate.h"
#include "fclearn.h"
#include "forecast.h"
#include "funnel.h"
#include "money.h"

typedef enum { FCH_OPEN, FCH_WON, FCH_LOST } fchist_status;

typedef struct {
    double created;       /* seconds */
    double closed;        /* seconds, INFINITY when not closed */
    double deleted;       /* seconds, INFINITY when not deleted */
    unsigned char status; /* fchist_status (today's) */
    bool has_amount;      /* amount known (in the workspace currency at the close's rate) */
    bool has_before;      /* won, and an amount was recorded more than a day before the close */
    money_t amount;       /* cents */
    money_t before;       /* cents, the last amount recorded more than a day before the close */
    size_t first, n;      /* its stage entries: entries[first .. first + n), by (entered, id) */
} fchist_deal;

typedef struct {
    int stage;      /* funnel stage index, -1 outside the funnel */
    double entered; /* seconds, INFINITY when the entry has no time */
} fchist_entry;

typedef struct {
    fchist_deal *deals;
    size_t ndeals;
    fchist_entry *entries; /* grouped by deal, dated entries first */
    size_t nentries;
} fchist;

void fchist_free(fchist *h);

/* The learned method's input at T. episodes must hold h->nentries entries;
 * in->episodes points into it. funnel, fy_start_month and as_of are set. */
void fchist_learn_input(const fchist *h, const funnel_def *def, int fy_start_month, caldate_t T,
                        fclearn_episode *episodes, fclearn_input *in);

/* The historical method's input at T with its buffers (free with
 * fchist_history_free, which accepts a zeroed struct). */
typedef struct {
    forecast_stage_history st[FUNNEL_MAX_STAGES];
    int *days[FUNNEL_MAX_STAGES];
    int *c2c;
    forecast_history h;
} fchist_history;

/* 0, or -1 when out of memory. */
int fchist_history_at(const fchist *h, const funnel_def *def, caldate_t T, fchist_history *out)
    __attribute__((warn_unused_result));
void fchist_history_free(fchist_history *b);

/* Won in [start, end) by deals not deleted, in cents. */
money_t fchist_won_between(const fchist *h, caldate_t start, caldate_t end);

/* Bytes held (for the cache's bound). */
size_t fchist_bytes(const fchist *h);

#endif

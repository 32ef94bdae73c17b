/* fcprep.h - the deals a period's forecast runs on, prepared in one place for
 * every caller (the dashboard; POST /v1/forecasts is to use it too): open
 * deals (current, or rebuilt as of a past day), won deals of the period,
 * groups and owners as indexes, missing close dates estimated from history,
 * what-if exclusions. Same (period, as_of, rebuild) in, same deals out.
 */
#ifndef REVOPS_FCPREP_H
#define REVOPS_FCPREP_H

#include <jansson.h>

#include "db.h"
#include "errors.h"
#include "fcdata.h"
#include "forecast.h"
#include "funnel.h"

typedef struct {
    caldate_t period_start, period_end; /* [start, end) */
    caldate_t as_of;                    /* the forecast's date: history is learned before it */
    /* false: the deals as they are now (as_of only dates the history);
     * true: the open pipeline at as_of 00:00 UTC rebuilt from history
     * (fcdata_load_asof), won deals closed in the period before as_of */
    bool rebuild;
    const char *group_by;   /* NULL, "owner", "manager", "segment" or "region" */
    const json_t *excluded; /* what-if: array of deal ids left out, or NULL */
    bool want_history;      /* load the learned history even when no date needs it (historical method) */
} fcprep_opts;

typedef struct {
    forecast_deal *deals; /* open deals first, then the period's won deals */
    const char **ids;     /* per deal; points into the results below */
    size_t n;
    json_t *groups;      /* group keys by forecast_deal.group (group_by), else empty */
    int nowners;         /* owners by forecast_deal.owner: forecast_input.nowners */
    fcdata_history hist; /* learned before as_of (loaded when needed; see has_history) */
    bool has_history;
    long estimated;             /* open deals whose close date came from history */
    long never_closing;         /* of those, in no period */
    long imputed_amounts;       /* rebuilt deals without a known amount then: the average won amount */
    money_t pipeline_in_period; /* open, not excluded, expected to close before the period end */
    /* owned results */
    PGresult *live, *live_won; /* the live path's open and won deals */
    fcdata_pipeline asof;
    json_t *owner_index, *group_index;
} fcprep_deals;

/* Load and prepare. Caller owns out (fcprep_free, which accepts a zeroed
 * struct, also after a failure). 0, or -1 with err. */
int fcprep_load(db_conn *db, const char *ws, const funnel_def *def, const fcprep_opts *o, fcprep_deals *out,
                app_err *err) __attribute__((warn_unused_result));
void fcprep_free(fcprep_deals *p);

/* What a period's coverage divides, for one owner (an owner_index value) or
 * all deals (owner -1): *pipeline the open deals not excluded expected to
 * close before the period end (pipeline_in_period for all), *won the deals
 * won in the period. The dashboard's and the coverage_below alert's sums. */
void fcprep_period_sums(const fcprep_deals *p, const fcprep_opts *o, int owner, money_t *pipeline, money_t *won);

/* Index of group key (added when new): for callers that add groups of
 * their own, e.g. managers for the manager roll-up. -1 on allocation failure. */
int fcprep_group(fcprep_deals *p, const char *key);

/* The forecast_input fields fcprep decides: period, as_of, funnel, history
 * (historical method), groups and owners. The caller sets the method,
 * quantiles, what-if delta and group parents. */
void fcprep_input(const fcprep_deals *p, const fcprep_opts *o, const funnel_def *def, forecast_method m,
                  forecast_input *in);

#endif

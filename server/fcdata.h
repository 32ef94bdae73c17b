/* fcdata.h - the stored data the forecast engine runs on: the workspace's
 * default funnel, what was learned from deals closed before a date, and the
 * open pipeline as it stood at a date, rebuilt from stage and field history
 * (the backtest). SQL lives here; the formulas stay in core/forecast.
 */
#ifndef REVOPS_FCDATA_H
#define REVOPS_FCDATA_H

#include <jansson.h>

#include "db.h"
#include "errors.h"
#include "fcasof.h"
#include "fccache.h"
#include "fchist.h"
#include "fclearn.h"
#include "forecast.h"
#include "funnel.h"

/* The workspace's default funnel (created from the seed when it has none);
 * id and version are copied into the buffers (40 and 16 bytes). 0 or -1. */
int fcdata_default_funnel(db_conn *db, const char *ws, funnel_def *def, char *id, char *version, app_err *err)
    __attribute__((warn_unused_result));

/* Learned inputs of the historical method, from deals closed before as_of
 * only (no future data; core/fchist says which). h points into the
 * buffers; free with fcdata_history_free (which accepts a zeroed struct). */
typedef fchist_history fcdata_history;

int fcdata_load_history(db_conn *db, const char *ws, const funnel_def *def, const char *as_of, fcdata_history *b,
                        app_err *err) __attribute__((warn_unused_result));
void fcdata_history_free(fcdata_history *b);

/* The open pipeline at the start (00:00 UTC) of day `at`, rebuilt by
 * core/fcasof from the history read once (fcdata_asof_raw): deals created
 * before it and not closed or deleted before it, each with its stage,
 * amount, probability, category and close date as they were then. A deal
 * with no known amount then gets the history's average won amount; one with
 * no close date gets forecast_estimate_close. rows[i] is deals[i] as it was
 * (its own category and close date; deals[] carries the stage's category and
 * an estimated date); the strings belong to the cached history, held by ref. */
typedef struct {
    forecast_deal *deals;
    size_t n;
    fcasof_row *rows;
    const fcasof *src; /* the history rows come from, held by ref */
    fccache_ref *ref;
    bool *amount_imputed;  /* per deal */
    bool *close_estimated; /* per deal */
    long imputed_amounts;  /* deals whose amount was not known at `at` */
    long estimated_closes; /* deals without a close date at `at` */
    long never_closing;    /* of those, older in their stage than every won deal: in
                              no period */
    money_t open_amount;   /* sum of the reconstructed amounts */
} fcdata_pipeline;

/* Give an open deal without a close date the one forecast_estimate_close
 * assumes from hist (its stage's won durations); true when there is none
 * (older in its stage than any won deal took: the deal is in no period). */
bool fcdata_estimate_close(forecast_deal *d, const fcdata_history *hist, caldate_t as_of);

int fcdata_load_asof(db_conn *db, const char *ws, const funnel_def *def, caldate_t at, const fcdata_history *hist,
                     fcdata_pipeline *out, app_err *err) __attribute__((warn_unused_result));
void fcdata_pipeline_free(fcdata_pipeline *p);

/* The learned method's model fitted on what was known at 00:00 UTC of `at`:
 * stage episodes of deals that existed then (a deal still open then is
 * censored there, never a loss), closes before it, creation counts and won
 * amounts of the year before it (core/fchist, core/fclearn). Kept in
 * fccache. 0 or -1. */
int fcdata_load_learned(db_conn *db, const char *ws, const funnel_def *def, int fsm, caldate_t at, fclearn_model *m,
                        app_err *err) __attribute__((warn_unused_result));

/* The workspace's deals with their field changes and stage entries
 * (core/fcasof) as read at or after not_before_s, from fccache or read now
 * and kept there. Release *ref when done. 0 or -1. */
int fcdata_asof_raw(db_conn *db, const char *ws, double not_before_s, const fcasof **h, fccache_ref **ref, app_err *err)
    __attribute__((warn_unused_result));

/* The workspace's history (core/fchist) as read at or after not_before_s
 * (seconds; a day T's inputs need a read after T began), from fccache or
 * read now and kept there. Release *ref when done. 0 or -1. */
int fcdata_history_raw(db_conn *db, const char *ws, const funnel_def *def, double not_before_s, const fchist **h,
                       fccache_ref **ref, app_err *err) __attribute__((warn_unused_result));

/* The cache key prefix naming the funnel's stages (what fchist's stage
 * indexes mean): "<kind>:<stage keys>" into buf. */
void fcdata_cache_key(char *buf, size_t len, const char *kind, const funnel_def *def);

/* The learned window's deal-independent part (fclearn_kernel) for model m,
 * fitted at `at` by fcdata_load_learned, and a forecast at `at` of the
 * period [start, end) with FORECAST_LEARNED_DRAWS draws: from fccache, or
 * computed and kept. NULL when it cannot be (forecast_compute then
 * computes the window itself). Release *ref. */
const fclearn_kernel *fcdata_learned_kernel(const char *ws, const funnel_def *def, int fsm, const fclearn_model *m,
                                            caldate_t at, caldate_t start, caldate_t end, fccache_ref **ref);

/* What the learned model was fitted on and learned, for explain. */
json_t *fcdata_learned_json(const fclearn_model *m, const funnel_def *def);

/* Deals won in [start, end), not deleted: the actual a forecast is graded on.
 * From the history in fccache when it was read after end began, else a query. */
int fcdata_won_between(db_conn *db, const char *ws, caldate_t start, caldate_t end, money_t *out, app_err *err)
    __attribute__((warn_unused_result));

#endif

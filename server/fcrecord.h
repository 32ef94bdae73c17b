/* fcrecord.h - the learned method's own record before a forecast: its
 * forecasts of the windows of the same length before as_of, each made at
 * the window's start with only what was known then (the as-of rule), and
 * what was won in them; core/fclearn's fclearn_correction turns it into a
 * bias correction and a wider range. */
#ifndef REVOPS_FCRECORD_H
#define REVOPS_FCRECORD_H

#include "db.h"
#include "errors.h"
#include "forecast.h"
#include "funnel.h"

/* Windows looked back at: enough for a spread, few enough to stay cheap
 * (each is a rebuilt pipeline and a fitted model). */
#define FCRECORD_WINDOWS 3

/* Fill in->record_n, record_pred and record_actual for a forecast made at
 * as_of whose open part runs to `end`, on FCRECORD_WINDOWS windows back to
 * back before as_of, as far back as the learned method was usable: when
 * as_of and end are the 1st of a month, the periods of the same number of
 * whole months (a quarter's record is the three quarters before it, so a
 * backtest's periods share their predecessors' forecasts); otherwise the
 * windows [as_of - k W, as_of - (k - 1) W), W = end - as_of. A forecast of
 * several months with fewer than two usable periods of its length before it
 * (a young CRM's first quarters) is graded on the months before instead
 * when two or more of those are usable. Each window's forecast is kept in
 * fccache. 0 or -1 with err. */
int fcrecord_load(db_conn *db, const char *ws, const funnel_def *def, int fsm, caldate_t as_of, caldate_t end,
                  forecast_input *in, app_err *err) __attribute__((warn_unused_result));

#endif

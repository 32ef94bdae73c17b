/* fcrecord.c - the learned method's record before a forecast. */
#include "fcrecord.h"

#include <stdlib.h>
#include <string.h>

#include "fcdata.h"
#include "fcprep.h"

int fcrecord_load(db_conn *db, const char *ws, const funnel_def *def, int fsm, caldate_t as_of, caldate_t end,
                  forecast_input *in, app_err *err)
{
    in->record_n = 0;
    long w = (long)(end - as_of);
    if (w <= 0)
        return 0;
    fclearn_model *m = malloc(sizeof *m);
    if (!m) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    int rc = 0;
    for (int k = 1; k <= FCRECORD_WINDOWS && rc == 0; k++) {
        caldate_t t = as_of - (caldate_t)(k * w);
        fcprep_opts o = {.period_start = t, .period_end = t + (caldate_t)w, .as_of = t, .rebuild = true};
        fcprep_deals d;
        money_t actual = 0;
        if (fcdata_load_learned(db, ws, def, fsm, t, m, err) != 0) {
            rc = -1;
            break;
        }
        if (!m->usable)
            break; /* older windows have even less history */
        if (fcprep_load(db, ws, def, &o, &d, err) != 0 ||
            fcdata_won_between(db, ws, t, t + (caldate_t)w, &actual, err) != 0) {
            fcprep_free(&d);
            rc = -1;
            break;
        }
        forecast_input fi = {0};
        fcprep_input(&d, &o, def, FM_LEARNED, &fi);
        fi.learned = m;
        fi.learned_draws = 1; /* the mean only */
        forecast_result res = {0};
        if (forecast_compute(d.deals, d.n, &fi, &res) != 0) {
            app_err_set(err, ERR_INTERNAL, "the forecast could not be computed");
            rc = -1;
        } else {
            in->record_pred[in->record_n] = (double)res.total.expected;
            in->record_actual[in->record_n] = (double)actual;
            in->record_n++;
        }
        fcprep_free(&d);
    }
    free(m);
    return rc;
}

/* fcrecord.c - the learned method's record before a forecast. */
#include "fcrecord.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fccache.h"
#include "fcdata.h"
#include "fcprep.h"

/* One window's forecast and actual, as kept in fccache. */
typedef struct {
    bool usable; /* the learned method had enough history at the window's start */
    double pred, actual;
} window_result;

/* The learned method's mean forecast of [t, end) made at t, with what was
 * known then, and what was won in it. */
static int window_compute(db_conn *db, const char *ws, const funnel_def *def, int fsm, caldate_t t, caldate_t end,
                          window_result *out, app_err *err)
{
    memset(out, 0, sizeof *out);
    fclearn_model *m = malloc(sizeof *m);
    if (!m) {
        app_err_set(err, ERR_INTERNAL, "out of memory");
        return -1;
    }
    int rc = fcdata_load_learned(db, ws, def, fsm, t, m, err);
    if (rc != 0 || !m->usable) {
        free(m);
        return rc;
    }
    fcprep_opts o = {.period_start = t, .period_end = end, .as_of = t, .rebuild = true};
    fcprep_deals d;
    money_t actual = 0;
    if (fcprep_load(db, ws, def, &o, &d, err) != 0 || fcdata_won_between(db, ws, t, end, &actual, err) != 0) {
        rc = -1;
    } else {
        forecast_input fi = {0};
        fcprep_input(&d, &o, def, FM_LEARNED, &fi);
        fi.learned = m;
        fi.learned_draws = 1; /* the mean only */
        forecast_result res = {0};
        if (forecast_compute(d.deals, d.n, &fi, &res) != 0) {
            app_err_set(err, ERR_INTERNAL, "the forecast could not be computed");
            rc = -1;
        } else {
            out->usable = true;
            out->pred = (double)res.total.expected;
            out->actual = (double)actual;
        }
    }
    fcprep_free(&d);
    free(m);
    return rc;
}

/* window_compute through fccache: a backtest's periods share their
 * predecessors' windows, and a repeated forecast all of them. */
static int window_load(db_conn *db, const char *ws, const funnel_def *def, int fsm, caldate_t t, caldate_t end,
                       window_result *out, app_err *err)
{
    char key[FUNNEL_MAX_STAGES * 72];
    fcdata_cache_key(key, sizeof key, "record", def);
    size_t kl = strlen(key);
    snprintf(key + kl, sizeof key - kl, ":%d:%ld:%ld", fsm, (long)t, (long)end);
    fccache_ref *ref;
    const window_result *c = fccache_get(ws, key, end * 86400.0, &ref);
    if (c) {
        *out = *c;
        fccache_release(ref);
        return 0;
    }
    unsigned long gen = fccache_generation(ws);
    if (window_compute(db, ws, def, fsm, t, end, out, err) != 0)
        return -1;
    window_result *copy = malloc(sizeof *copy);
    if (copy) {
        *copy = *out;
        fccache_put(ws, key, gen, copy, sizeof *copy, free, NULL);
    }
    return 0;
}

/* Whole calendar months from `from` to `to` (both the 1st of a month), or 0. */
static int whole_months(caldate_t from, caldate_t to)
{
    int y0, m0, d0, y1, m1, d1;
    caldate_to_ymd(from, &y0, &m0, &d0);
    caldate_to_ymd(to, &y1, &m1, &d1);
    int n = (y1 - y0) * 12 + (m1 - m0);
    return d0 == 1 && d1 == 1 && n > 0 ? n : 0;
}

/* The windows back to back before as_of: `months` whole months each, or
 * (months 0) end - as_of days each, as far back as the method was usable. */
static int load_windows(db_conn *db, const char *ws, const funnel_def *def, int fsm, caldate_t as_of, caldate_t end,
                        int months, forecast_input *in, app_err *err)
{
    long w = (long)(end - as_of);
    in->record_n = 0;
    for (int k = 1; k <= FCRECORD_WINDOWS; k++) {
        caldate_t t = months ? caldate_add_months(as_of, -k * months) : as_of - (caldate_t)(k * w);
        caldate_t e = months ? caldate_add_months(as_of, -(k - 1) * months) : t + (caldate_t)w;
        window_result r;
        if (window_load(db, ws, def, fsm, t, e, &r, err) != 0)
            return -1;
        if (!r.usable)
            break; /* older windows have even less history */
        in->record_pred[in->record_n] = r.pred;
        in->record_actual[in->record_n] = r.actual;
        in->record_n++;
    }
    return 0;
}

int fcrecord_load(db_conn *db, const char *ws, const funnel_def *def, int fsm, caldate_t as_of, caldate_t end,
                  forecast_input *in, app_err *err)
{
    in->record_n = 0;
    if (end <= as_of)
        return 0;
    /* A forecast of whole months from a month's start (a month, a quarter, a
     * year at its start) is graded on the periods of the same kind before
     * it; any other horizon on the windows of its length in days. */
    int months = whole_months(as_of, end);
    if (load_windows(db, ws, def, fsm, as_of, end, months, in, err) != 0)
        return -1;
    /* Too little history for two periods of its own length (a young CRM's
     * first quarters): the months before, when at least two of those are
     * usable. The correction is a ratio of actual to forecast, the same
     * model's bias at a shorter horizon (docs/forecast-quality.md). */
    if (months > 1 && in->record_n < 2) {
        forecast_input monthly = *in;
        if (load_windows(db, ws, def, fsm, as_of, caldate_add_months(as_of, 1), 1, &monthly, err) != 0)
            return -1;
        if (monthly.record_n >= 2) {
            in->record_n = monthly.record_n;
            memcpy(in->record_pred, monthly.record_pred, sizeof in->record_pred);
            memcpy(in->record_actual, monthly.record_actual, sizeof in->record_actual);
        }
    }
    return 0;
}

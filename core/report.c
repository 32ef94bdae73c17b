/* report.c - trends, movers, the summary's verdict and the Tier-2 bands
 * (report.h). */
#include "report.h"

#include <math.h>
#include <string.h>

#include "caldate.h"

const char *report_trend(const report_figure *f)
{
    if (!f->has_cur || !f->has_prev)
        return NULL;
    double scale = fmax(fabs(f->cur), fabs(f->prev));
    /* figures arrive rounded (cents, four decimals): a difference below a
     * billionth of their size is the same figure */
    if (fabs(f->cur - f->prev) <= scale * 1e-9)
        return "flat";
    return f->cur > f->prev ? "up" : "down";
}

const char *report_arrow(const char *trend)
{
    if (!trend)
        return "";
    return strcmp(trend, "up") == 0 ? "↑" : strcmp(trend, "down") == 0 ? "↓" : "→";
}

int report_direction(const report_figure *f)
{
    const char *t = report_trend(f);
    if (!t || strcmp(t, "flat") == 0)
        return 0;
    bool up = strcmp(t, "up") == 0;
    return up == f->higher_is_better ? 1 : -1;
}

double report_move_size(const report_figure *f)
{
    if (report_direction(f) == 0)
        return 0;
    return fabs(f->cur - f->prev) / fmax(fabs(f->cur), fabs(f->prev));
}

/* insertion sort by move size, largest first; stable, so ties keep index order */
static void rank(const report_figure *f, size_t *idx, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        size_t v = idx[i], j = i;
        while (j > 0 && report_move_size(&f[idx[j - 1]]) < report_move_size(&f[v])) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
}

void report_movers(const report_figure *f, size_t n, size_t *better, size_t *nbetter, size_t *worse, size_t *nworse)
{
    *nbetter = *nworse = 0;
    for (size_t i = 0; i < n; i++) {
        int d = report_direction(&f[i]);
        if (d > 0)
            better[(*nbetter)++] = i;
        else if (d < 0)
            worse[(*nworse)++] = i;
    }
    rank(f, better, *nbetter);
    rank(f, worse, *nworse);
}

report_verdict report_will_hit(bool known, money_t quota, money_t p10, money_t expected, money_t p90)
{
    if (!known || quota <= 0)
        return VERDICT_UNKNOWN;
    if (p10 >= quota)
        return VERDICT_YES;
    if (expected >= quota)
        return VERDICT_LIKELY;
    if (p90 >= quota)
        return VERDICT_AT_RISK;
    return VERDICT_NO;
}

const char *report_verdict_name(report_verdict v)
{
    switch (v) {
    case VERDICT_YES:
        return "yes";
    case VERDICT_LIKELY:
        return "likely";
    case VERDICT_AT_RISK:
        return "at_risk";
    case VERDICT_NO:
        return "no";
    default:
        return "unknown";
    }
}

metric_value report_win_rate(long won, long closed)
{
    if (closed <= 0)
        return (metric_value){.band = "undefined"};
    double v = (double)won / (double)closed;
    return v >= 0.25 ? (metric_value){true, v, STATUS_GREEN, "on target"}
                     : (metric_value){true, v, STATUS_RED, "below target"};
}

metric_value report_pipeline_creation(money_t created, money_t quota)
{
    if (quota <= 0)
        return (metric_value){.band = "undefined"};
    double v = (double)created / (double)quota;
    return v >= 2.0   ? (metric_value){true, v, STATUS_GREEN, "optimal"}
           : v >= 1.5 ? (metric_value){true, v, STATUS_GREEN, "healthy"}
           : v >= 1.0 ? (metric_value){true, v, STATUS_YELLOW, "minimum"}
                      : (metric_value){true, v, STATUS_RED, "below minimum"};
}

money_t report_pipeline_target(money_t quota) { return money_mul_rate(quota, 1.5); }

bool report_share(money_t part, money_t total, double *share)
{
    if (total <= 0)
        return false;
    *share = (double)part / (double)total;
    return true;
}

static bool employed(const report_rep *r, caldate_t day)
{
    return (!r->has_start || r->start <= day) && (!r->has_end || r->end >= day);
}

/* Tenure month (1 = the first month) on day of a rep who started on start. */
static int tenure_month(caldate_t start, caldate_t day)
{
    int m = 1;
    while (m < 1200 && caldate_add_months(start, m) <= day)
        m++;
    return m;
}

void report_team_compute(const report_rep *reps, size_t n, caldate_t start, caldate_t end, const double *ramp,
                         int ramp_len, report_team *out)
{
    memset(out, 0, sizeof *out);
    caldate_t last = end - 1;
    for (size_t i = 0; i < n; i++) {
        const report_rep *r = &reps[i];
        out->headcount_start += employed(r, start);
        out->hired += r->has_start && r->start >= start && r->start < end;
        out->departed += r->has_end && r->end >= start && r->end < end;
        if (!employed(r, last))
            continue;
        out->headcount_end++;
        if (!r->has_start) {
            out->without_start++;
            out->ramped_equivalent += 1;
            continue;
        }
        int m = tenure_month(r->start, last);
        double p = m <= ramp_len ? ramp[m - 1] : 1.0;
        out->ramping += p < 1.0;
        out->ramped_equivalent += p;
    }
    out->has_attrition = out->headcount_start > 0;
    out->attrition_rate = out->has_attrition ? (double)out->departed / (double)out->headcount_start : 0;
}

/* accuracy.c - horizons, forecast selection and per-forecast error for the
 * accuracy report. */
#include "accuracy.h"

#include <math.h>

static const char *horizon_names[ACC__HORIZONS] = {"period_start", "lead_90d", "lead_60d", "lead_30d"};
/* Fixed lead times before the period end, in days (issue 7: 90/60/30). */
static const int horizon_lead_days[ACC__HORIZONS] = {0, 90, 60, 30};

const char *accuracy_horizon_name(accuracy_horizon h) { return h >= 0 && h < ACC__HORIZONS ? horizon_names[h] : ""; }

caldate_t accuracy_cutoff(accuracy_horizon h, caldate_t start, caldate_t end)
{
    if (h == ACC_PERIOD_START || h < 0 || h >= ACC__HORIZONS)
        return start;
    return end - horizon_lead_days[h];
}

long accuracy_pick(const accuracy_candidate *c, size_t n, caldate_t cutoff)
{
    long best = -1;
    for (size_t i = 0; i < n; i++) {
        if (c[i].as_of > cutoff)
            continue;
        if (best < 0 || c[i].as_of > c[best].as_of || (c[i].as_of == c[best].as_of && c[i].seq > c[best].seq))
            best = (long)i;
    }
    return best;
}

accuracy_point accuracy_point_of(money_t forecast, money_t actual)
{
    accuracy_point p = {.error = forecast - actual};
    if (actual > 0) {
        p.defined = true;
        p.bias_pct = (double)p.error / (double)actual * 100.0;
        p.ape_pct = fabs(p.bias_pct);
    }
    return p;
}

const char *accuracy_direction(double bias_pct) { return bias_pct > 0 ? "over" : bias_pct < 0 ? "under" : "even"; }

double accuracy_pinball(double q, money_t value, money_t actual)
{
    return actual >= value ? (double)(actual - value) * q : (double)(value - actual) * (1 - q);
}

bool accuracy_inside(money_t lo, money_t hi, money_t actual) { return actual >= lo && actual <= hi; }

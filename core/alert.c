/* alert.c - signal kinds and the delivery backoff of alerts out (alert.h). */
#include "alert.h"

#include <string.h>

#include "metrics.h"

/* The signals are what the engine already computes (docs/alerts.md): the
 * hygiene rule's stale opportunity (seed 001: "no activity 14d+: flag +
 * auto-alert"), the push count kept on every close-date move past its
 * quarter, the amount field's change history, routing's 30-minute
 * escalation, the renewal reminders at 90/60/30 days (health), the
 * lead SLAs' breaches (the compliance route's), the inbound webhook
 * backlog's age (what /readyz and /metrics report) and the dashboard's
 * pipeline coverage against the seed's 3x minimum, and the data hygiene
 * rules' statuses (GET /v1/hygiene); the accounts at risk and the expansion
 * signals of account health, the stored forecasts of the current quarter and
 * the dashboard's health signals. */
static const alert_kind kinds[] = {
    {"stale_deal", "deal", ALERT_F_OWNER | ALERT_F_SEGMENT | ALERT_F_TERRITORY | ALERT_F_AMOUNT, "days", 1, 365, 14,
     true, "an open deal untouched for params.days days (default 14, the seed's hygiene rule)", false},
    {"deal_pushed", "deal", ALERT_F_OWNER | ALERT_F_SEGMENT | ALERT_F_TERRITORY | ALERT_F_AMOUNT, "min_pushes", 1, 100,
     1, true, "an open deal's close date moved past its fiscal quarter (each push, from params.min_pushes on)", false},
    {"deal_moved_back", "stage move", ALERT_F_OWNER | ALERT_F_SEGMENT | ALERT_F_TERRITORY | ALERT_F_AMOUNT, NULL, 0, 0,
     0, false, "an open deal moved to an earlier stage of the default funnel than the one it was in", false},
    {"amount_change", "deal", ALERT_F_OWNER | ALERT_F_SEGMENT | ALERT_F_TERRITORY | ALERT_F_AMOUNT, "change", 0.01, 10,
     0.2, false, "a deal's amount changed by at least params.change of its old value (default 0.2, 20%)", false},
    {"routing_escalation", "lead assignment", ALERT_F_OWNER, NULL, 0, 0, 0, false,
     "a routed lead escalated after no action within its escalation time (routing's 30 minutes)", false},
    {"renewal_due", "account", ALERT_F_OWNER | ALERT_F_SEGMENT | ALERT_F_TERRITORY | ALERT_F_AMOUNT, "days_before", 1,
     365, 0, true, "an account's next renewal within each of params.days_before (default 90, 60, 30 days)", false},
    {"sla_breach", "SLA clock", ALERT_F_OWNER, NULL, 0, 0, 0, false,
     "an SLA clock (routed, accepted, first meeting, CS kickoff) past its target, as /v1/sla/compliance counts it",
     false},
    {"webhook_lag", "workspace", 0, "seconds", 1, 86400, 60, true,
     "the oldest pending inbound webhook event older than params.seconds (default 60, --webhook-max-lag's)", false},
    {"coverage_below", "workspace or owner", ALERT_F_OWNER, "min", 0.01, 100, METRICS_COVERAGE_MIN, false,
     "the current quarter's pipeline coverage (the dashboard's) below params.min (default 3, the seed's minimum)",
     true},
    {"hygiene_red", "data hygiene rule", 0, "every_minutes", 1, 10080, 60, true,
     "a data hygiene rule of GET /v1/hygiene turning red, checked at most every params.every_minutes (default 60)",
     false},
    {"account_at_risk", "account", ALERT_F_OWNER | ALERT_F_SEGMENT | ALERT_F_TERRITORY | ALERT_F_AMOUNT, "band", 0, 0,
     0, false,
     "an account of GET /v1/accounts/at-risk (ARR renewing this quarter) whose health band is params.band or worse "
     "(default watch: under healthy)",
     false},
    {"expansion_signal", "account signal", ALERT_F_OWNER | ALERT_F_SEGMENT | ALERT_F_TERRITORY, NULL, 0, 0, 0, false,
     "an expansion signal of GET /v1/signals?kind=expansion appearing for an account (the seed's expansion rules)",
     false},
    {"forecast_moved", "forecast period", 0, "pct", 0.1, 1000, 10, false,
     "the current quarter's stored forecast moved more than params.pct percent (default 10) week over week", false},
    {"health_colour", "dashboard health signal", 0, NULL, 0, 0, 0, false,
     "a health signal of GET /v1/dashboard changing colour (params.signals, params.colours: default all), "
     "checked at most every params.every_minutes (default 60)",
     false},
};

const alert_kind *alert_kind_find(const char *name)
{
    for (size_t i = 0; name && i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].name, name) == 0)
            return &kinds[i];
    return NULL;
}

const alert_kind *alert_kinds(int *n)
{
    *n = (int)(sizeof kinds / sizeof kinds[0]);
    return kinds;
}

long long alert_retry_delay_ms(long long base_ms, int retry, int jitter_permille)
{
    if (retry < 1 || retry > ALERT_RETRIES || base_ms <= 0)
        return 0;
    int doublings = retry - 1 < ALERT_BACKOFF_MAX_DOUBLINGS ? retry - 1 : ALERT_BACKOFF_MAX_DOUBLINGS;
    int j = jitter_permille < 0 ? 0 : jitter_permille > 999 ? 999 : jitter_permille;
    long long nominal = base_ms << doublings;
    /* (800 + 0.4 j) / 1000 = (8000 + 4 j) / 10000, in integers */
    return nominal * (ALERT_JITTER_MIN_PERMILLE * 10 + 4LL * j) / 10000;
}

bool alert_should_retry(int attempts) { return attempts >= 1 && attempts <= ALERT_RETRIES; }

long long alert_retry_span_min_ms(long long base_ms)
{
    long long total = 0;
    for (int r = 1; r <= ALERT_RETRIES; r++)
        total += alert_retry_delay_ms(base_ms, r, 0);
    return total;
}

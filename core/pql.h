/* pql.h - product-qualified leads: the seed's PLG hand-off (001 phase 13,
 * plg-sales-handoff.yaml): the PQL definition's must-have and nice-to-have
 * criteria and the self-serve signals with their actions, judged on what
 * the usage of one account shows as of a date (docs/metrics.md "Product
 * qualified leads"). The windows are read in SQL (sql/76_pql.sql); the
 * thresholds and the verdict are here, once. */
#ifndef REVOPS_PQL_H
#define REVOPS_PQL_H

#include <stdbool.h>
#include <stddef.h>

/* The thresholds of a workspace's PQL definition; pql_definition_default
 * gives the seed's. */
typedef struct {
    int min_active_users;    /* must have: 3+ active users ... */
    int active_window_days;  /* ... in the last 7 days */
    int min_core_features;   /* must have: used 2+ core features ... */
    int feature_window_days; /* ... in the last 30 days (the seed gives no window) */
    int min_integrations;    /* nice to have: connected integration (1+) */
    double usage_warning;    /* nice to have: hit usage warning, seats used > 80% of the limit ... */
    int warning_window_days; /* ... on a day of the last 30 */
    int min_nice_to_have;    /* how many nice-to-haves a PQL needs besides every must-have (seed: 0) */
    int ae_active_users;     /* self-serve signal: 5+ active users */
    int admin_invited_users; /* self-serve signal: admin invited 10+ users */
} pql_definition;

void pql_definition_default(pql_definition *d);

/* What the usage of one account shows as of the date (days are caldate
 * numbers; has_* false when nothing of the kind was recorded). */
typedef struct {
    bool onboarded; /* a day up to the date reported onboarding completed */
    int onboarded_on;
    bool has_active;
    long active_daily_max; /* largest daily active users in the active window */
    bool has_active_7d;
    long active_7d;     /* the latest trailing-7-day active users reported in the window */
    long core_features; /* distinct core features used in the feature window */
    bool has_integrations;
    long integrations; /* on the latest day that reported them */
    int integrations_on;
    bool shared; /* a day up to the date reported the workspace shared externally */
    int shared_on;
    bool has_warn_peak; /* the day of the warning window with the highest seat utilisation */
    long warn_used, warn_limit;
    int warn_on;
    bool has_limit_peak; /* the same over the active window */
    long limit_used, limit_limit;
    int limit_on;
    long users_invited;     /* invited by an admin, every day up to the date */
    bool enterprise_domain; /* the account's domain is on the workspace's enterprise list */
} pql_input;

enum { PQL_MUST_ONBOARDING, PQL_MUST_ACTIVE_USERS, PQL_MUST_CORE_FEATURES, PQL__MUST };
enum { PQL_NICE_INTEGRATION, PQL_NICE_SHARED, PQL_NICE_USAGE_WARNING, PQL__NICE };
enum { PQL_SIG_ACTIVE_USERS, PQL_SIG_USAGE_LIMIT, PQL_SIG_ADMIN_INVITED, PQL_SIG_ENTERPRISE_DOMAIN, PQL__SIGNALS };

typedef struct {
    const char *code, *criterion; /* API code, the seed's text */
} pql_criterion_def;

typedef struct {
    const char *code, *signal, *action; /* API code, the seed's signal and action */
} pql_signal_def;

extern const pql_criterion_def pql_must_defs[PQL__MUST];
extern const pql_criterion_def pql_nice_defs[PQL__NICE];
extern const pql_signal_def pql_signal_defs[PQL__SIGNALS];

typedef struct {
    long active_users; /* the active-users figure judged: max(active_daily_max, active_7d) */
    bool must[PQL__MUST];
    bool nice[PQL__NICE];
    int must_met, nice_met;
    bool qualified;   /* every must-have and at least min_nice_to_have nice-to-haves */
    unsigned signals; /* bit i: pql_signal_defs[i] fires */
} pql_result;

void pql_evaluate(const pql_definition *d, const pql_input *in, pql_result *out);

/* Is a domain (already a hygiene_domain_key) the listed one or under it
 * ("eu.acme.com" is under "acme.com"; "notacme.com" is not)? */
bool pql_domain_matches(const char *domain, const char *listed);

#endif

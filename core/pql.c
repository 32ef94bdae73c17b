/* pql.c - the PQL definition's verdict and the self-serve signals (pql.h). */
#include "pql.h"

#include <string.h>

void pql_definition_default(pql_definition *d)
{
    /* plg-sales-handoff.yaml: "3+ active users in last 7 days", "Used 2+ core
     * features", "Connected integration", "Hit usage warning (>80% of
     * limit)", "Workspace has 5+ active users", "Admin invited 10+ users".
     * The seed names no window for features or the warning: 30 days, the
     * month account health reads usage trends over. */
    *d = (pql_definition){.min_active_users = 3,
                          .active_window_days = 7,
                          .min_core_features = 2,
                          .feature_window_days = 30,
                          .min_integrations = 1,
                          .usage_warning = 0.8,
                          .warning_window_days = 30,
                          .min_nice_to_have = 0,
                          .ae_active_users = 5,
                          .admin_invited_users = 10};
}

const pql_criterion_def pql_must_defs[PQL__MUST] = {
    {"onboarding_completed", "Completed onboarding (core activation milestone)"},
    {"active_users", "3+ active users in last 7 days"},
    {"core_features", "Used 2+ core features"},
};

const pql_criterion_def pql_nice_defs[PQL__NICE] = {
    {"integration_connected", "Connected integration"},
    {"shared_externally", "Shared workspace externally"},
    {"usage_warning", "Hit usage warning (>80% of limit)"},
};

const pql_signal_def pql_signal_defs[PQL__SIGNALS] = {
    {"active_users", "Workspace has 5+ active users", "Auto-assign to AE for outreach"},
    {"usage_limit", "Hitting usage limits", "In-app upgrade prompt + AE notification"},
    {"admin_invited", "Admin invited 10+ users", "Schedule product-led onboarding call"},
    {"enterprise_domain", "Enterprise domain detected (Fortune 500)", "Immediate AE assignment regardless of usage"},
};

void pql_evaluate(const pql_definition *d, const pql_input *in, pql_result *out)
{
    *out = (pql_result){0};
    /* daily active users are a lower bound of the distinct users of a week;
     * a trailing-7-day count, when the product reports one, is the figure */
    long active = in->has_active ? in->active_daily_max : 0;
    if (in->has_active_7d && in->active_7d > active)
        active = in->active_7d;
    out->active_users = active;
    bool any_active = in->has_active || in->has_active_7d;
    out->must[PQL_MUST_ONBOARDING] = in->onboarded;
    out->must[PQL_MUST_ACTIVE_USERS] = any_active && active >= d->min_active_users;
    out->must[PQL_MUST_CORE_FEATURES] = in->core_features >= d->min_core_features;
    out->nice[PQL_NICE_INTEGRATION] = in->has_integrations && in->integrations >= d->min_integrations;
    out->nice[PQL_NICE_SHARED] = in->shared;
    /* ">80%": strictly above; seats at exactly 80% of the limit are not a warning */
    out->nice[PQL_NICE_USAGE_WARNING] =
        in->has_warn_peak && in->warn_limit > 0 && (double)in->warn_used > d->usage_warning * (double)in->warn_limit;
    for (int i = 0; i < PQL__MUST; i++)
        out->must_met += out->must[i];
    for (int i = 0; i < PQL__NICE; i++)
        out->nice_met += out->nice[i];
    out->qualified = out->must_met == PQL__MUST && out->nice_met >= d->min_nice_to_have;
    if (any_active && active >= d->ae_active_users)
        out->signals |= 1u << PQL_SIG_ACTIVE_USERS;
    /* "hitting" the limit: seats used reached it on a day of the active window */
    if (in->has_limit_peak && in->limit_limit > 0 && in->limit_used >= in->limit_limit)
        out->signals |= 1u << PQL_SIG_USAGE_LIMIT;
    if (in->users_invited >= d->admin_invited_users)
        out->signals |= 1u << PQL_SIG_ADMIN_INVITED;
    if (in->enterprise_domain)
        out->signals |= 1u << PQL_SIG_ENTERPRISE_DOMAIN;
}

bool pql_domain_matches(const char *domain, const char *listed)
{
    if (!domain || !listed || !*domain || !*listed)
        return false;
    size_t n = strlen(domain), k = strlen(listed);
    if (n == k)
        return strcmp(domain, listed) == 0;
    return n > k && domain[n - k - 1] == '.' && strcmp(domain + n - k, listed) == 0;
}

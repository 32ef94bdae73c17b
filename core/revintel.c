/* revintel.c - revenue-intelligence flags (revintel.h). */
#include "revintel.h"

#include "health.h"

/* The seed's table (phase 13), one row per flag; under-threaded is the
 * multi-threading row read from the other side (its action is the same). */
const revintel_def revintel_defs[RI__COUNT] = {
    {"multi_threaded", "positive", "Multi-threading (3+ contacts engaged)", "2.3x higher win rate",
     "Keep the contacts engaged"},
    {"under_threaded", "risk", "Fewer than 3 contacts engaged on the deal", "Lower win rate than multi-threaded deals",
     "Coach reps on multi-threading"},
    {"finance_contact", "timing", "CFO/finance contact added to deal", "Deal in budget approval",
     "Adjust timeline, prepare ROI doc"},
    {"champion_job_change", "risk", "Champion job change", "Churn risk OR new opp",
     "CS: protect account, Sales: pursue new co"},
    {"usage_decline", "risk", "Decreasing product usage (active users down >20% MoM)", "Churn in 60-90 days",
     "CS intervention + exec sponsor call"},
    {"comparison_session", "timing", "Pricing page + competitor page in same session", "High-intent comparison shopper",
     "Priority SDR outreach"},
};

unsigned revintel_account_flags(const revintel_input *in)
{
    unsigned f = 0;
    if (in->champion_moves > 0)
        f |= 1u << RI_CHAMPION_JOB_CHANGE;
    if (health_usage_declining(in->has_active, in->active_recent, in->active_prior))
        f |= 1u << RI_USAGE_DECLINE;
    if (in->comparison_sessions > 0)
        f |= 1u << RI_COMPARISON_SESSION;
    return f;
}

unsigned revintel_deal_flags(const revintel_input *in)
{
    unsigned f = revintel_account_flags(in);
    if (in->contacts_engaged >= REVINTEL_MULTI_THREAD)
        f |= 1u << RI_MULTI_THREADED;
    else if (in->contacts_on_deal > 0) /* judged only where the deal's contacts are recorded */
        f |= 1u << RI_UNDER_THREADED;
    if (in->finance_contacts > 0)
        f |= 1u << RI_FINANCE_CONTACT;
    return f;
}

bool revintel_has_risk(unsigned flags)
{
    for (int i = 0; i < RI__COUNT; i++)
        if ((flags & (1u << i)) && revintel_defs[i].kind[0] == 'r')
            return true;
    return false;
}

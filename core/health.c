/* health.c - account health score, ARR at risk and signals (health.h). */
#include "health.h"

#include <math.h>

/* Weights of the parts (they add up to 100): adoption and the usage trend
 * carry most, as the seed's leading churn signal is decreasing usage
 * (phase 13: "churn in 60-90 days"); satisfaction (NPS) and support follow. */
#define HEALTH_WEIGHT_ADOPTION 30.0
#define HEALTH_WEIGHT_TREND 25.0
#define HEALTH_WEIGHT_SUPPORT 20.0
#define HEALTH_WEIGHT_NPS 25.0

/* Seats used at 80% of the limit is full adoption (the seed's expansion
 * threshold); a 50% fall in active users month over month scores 0. */
#define FULL_ADOPTION 0.8
#define TREND_FLOOR -0.5
#define URGENT_PENALTY 10.0 /* points off support per open urgent/high ticket */
#define CSAT_GOOD 0.8
#define MOM_THRESHOLD 0.2 /* seed: "API usage growing >20% MoM"; the same for a decline */

static const char *const part_names[HEALTH__PARTS] = {"adoption", "usage_trend", "support", "nps"};

const char *health_part_name(int part) { return part >= 0 && part < HEALTH__PARTS ? part_names[part] : "?"; }

double health_nps(long promoters, long passives, long detractors)
{
    long n = promoters + passives + detractors;
    return n > 0 ? 100.0 * (double)(promoters - detractors) / (double)n : 0;
}

static double clamp100(double v) { return v < 0 ? 0 : v > 100 ? 100 : v; }

void health_compute(const health_input *in, health_result *out)
{
    *out = (health_result){0};
    health_part *p = out->parts;
    p[HEALTH_ADOPTION].weight = HEALTH_WEIGHT_ADOPTION;
    p[HEALTH_USAGE_TREND].weight = HEALTH_WEIGHT_TREND;
    p[HEALTH_SUPPORT].weight = HEALTH_WEIGHT_SUPPORT;
    p[HEALTH_NPS].weight = HEALTH_WEIGHT_NPS;
    if (in->has_seats && in->seats_limit > 0) {
        double u = (double)in->seats_used / (double)in->seats_limit;
        p[HEALTH_ADOPTION] = (health_part){true, clamp100(100.0 * u / FULL_ADOPTION), HEALTH_WEIGHT_ADOPTION, u};
    }
    if (in->has_active && in->active_prior > 0) {
        double ch = (in->active_recent - in->active_prior) / in->active_prior;
        double s = ch >= 0 ? 100 : clamp100(100.0 * (1.0 - ch / TREND_FLOOR));
        p[HEALTH_USAGE_TREND] = (health_part){true, s, HEALTH_WEIGHT_TREND, ch};
    }
    if (in->csat_rated > 0 || in->urgent_open > 0) {
        double csat = in->csat_rated > 0 ? (double)in->csat_satisfied / (double)in->csat_rated : 1.0;
        p[HEALTH_SUPPORT] = (health_part){true, clamp100(100.0 * csat - URGENT_PENALTY * (double)in->urgent_open),
                                          HEALTH_WEIGHT_SUPPORT, in->csat_rated > 0 ? csat : NAN};
    }
    long nn = in->nps_promoters + in->nps_passives + in->nps_detractors;
    if (nn > 0) {
        double nps = health_nps(in->nps_promoters, in->nps_passives, in->nps_detractors);
        p[HEALTH_NPS] = (health_part){true, (nps + 100.0) / 2.0, HEALTH_WEIGHT_NPS, nps};
    }
    double sw = 0, ws = 0;
    for (int i = 0; i < HEALTH__PARTS; i++)
        if (p[i].present) {
            sw += p[i].weight;
            ws += p[i].weight * p[i].score;
        }
    if (sw <= 0) {
        out->band = "unknown";
        return;
    }
    out->has_score = true;
    out->score = (int)lround(ws / sw);
    out->risk = 1.0 - out->score / 100.0;
    out->band = out->score >= 70 ? "healthy" : out->score >= 40 ? "watch" : "critical";
}

money_t health_arr_at_risk(money_t arr, const health_result *h)
{
    return h->has_score ? money_mul_rate(arr, h->risk) : 0;
}

const health_signal_def health_signals[SIG__COUNT] = {
    {"usage_limit", "expansion", "Approaching seat/usage limit (>80%)", "Alert CS + AE, send upgrade nudge", "high"},
    {"new_department", "expansion", "New department/team using product", "Alert AE for cross-sell conversation",
     "medium"},
    {"api_growth", "expansion", "API usage growing >20% MoM", "Log for QBR, prepare enterprise tier pitch", "medium"},
    {"ticket_new_department", "expansion", "Support ticket from new department", "Alert CS, new user group emerging",
     "medium"},
    {"renewal_healthy_nps", "expansion", "Renewal in 90 days + healthy NPS",
     "Initiate renewal + expansion conversation", "high"},
    {"price_review", "expansion", "12 months since last price increase", "Flag for pricing review at renewal", "low"},
    {"usage_decline", "churn", "Decreasing product usage (active users down >20% MoM): churn in 60-90 days",
     "CS intervention + exec sponsor call", "high"},
    {"detractors", "churn", "More detractors than promoters (NPS below 0)", "CS owner calls the detractors", "medium"},
    {"low_csat", "churn", "Support satisfaction under 80% (CSAT)", "Review the account's open tickets with support",
     "medium"},
    {"critical_renewal", "churn", "Health critical (under 40) with a renewal within 90 days",
     "Renewal save plan: exec sponsor call, success plan review", "high"},
};

bool health_usage_declining(bool has_active, double recent, double prior)
{
    return has_active && prior > 0 && (recent - prior) / prior < -MOM_THRESHOLD;
}

unsigned health_signals_of(const health_input *in, const health_result *h)
{
    unsigned s = 0;
    long nn = in->nps_promoters + in->nps_passives + in->nps_detractors;
    double nps = health_nps(in->nps_promoters, in->nps_passives, in->nps_detractors);
    bool renewal90 = in->has_renewal && in->days_to_renewal >= 0 && in->days_to_renewal <= 90;
    if (in->has_seats && in->seats_limit > 0 && (double)in->seats_used > FULL_ADOPTION * (double)in->seats_limit)
        s |= 1u << SIG_USAGE_LIMIT;
    if (in->new_departments > 0)
        s |= 1u << SIG_NEW_DEPARTMENT;
    if (in->has_api && in->api_prior > 0 && (in->api_recent - in->api_prior) / in->api_prior > MOM_THRESHOLD)
        s |= 1u << SIG_API_GROWTH;
    if (in->new_ticket_departments > 0)
        s |= 1u << SIG_TICKET_DEPARTMENT;
    if (renewal90 && nn > 0 && nps > 0)
        s |= 1u << SIG_RENEWAL_HEALTHY_NPS;
    if (in->has_price_increase && in->days_since_price_increase >= 365)
        s |= 1u << SIG_PRICE_REVIEW;
    if (health_usage_declining(in->has_active, in->active_recent, in->active_prior))
        s |= 1u << SIG_USAGE_DECLINE;
    if (nn > 0 && nps < 0)
        s |= 1u << SIG_DETRACTORS;
    if (in->csat_rated > 0 && (double)in->csat_satisfied < CSAT_GOOD * (double)in->csat_rated)
        s |= 1u << SIG_LOW_CSAT;
    if (h->has_score && h->score < 40 && renewal90)
        s |= 1u << SIG_CRITICAL_RENEWAL;
    return s;
}

int health_renewal_reminder(int days) { return days < 0 ? 0 : days <= 30 ? 30 : days <= 60 ? 60 : days <= 90 ? 90 : 0; }

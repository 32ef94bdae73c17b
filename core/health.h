/* health.h - account health: a 0-100 score from explainable parts with
 * documented weights, the ARR at risk at renewal, and the seed's expansion
 * and churn signals (001 phases 8 and 13; docs/metrics.md "Account health").
 */
#ifndef REVOPS_HEALTH_H
#define REVOPS_HEALTH_H

#include <stdbool.h>
#include <stddef.h>

#include "money.h"

/* What is known of one account at a date (windows in docs/metrics.md). */
typedef struct {
    bool has_seats; /* the latest usage day with seats_used and seats_limit > 0 */
    long seats_used, seats_limit;
    bool has_active;                    /* active users on days of both 30-day windows */
    double active_recent, active_prior; /* mean daily active users: last 30 days, the 30 before */
    bool has_api;
    double api_recent, api_prior;                     /* API calls: sums over the same windows */
    long csat_rated, csat_satisfied;                  /* tickets of the last 90 days with a CSAT, of them 4 or 5 */
    long nps_promoters, nps_passives, nps_detractors; /* responses of the last 180 days */
    long urgent_open;                                 /* urgent or high tickets open at the date */
    long new_departments;                             /* departments first seen in usage in the last 30 days */
    long new_ticket_departments;                      /* departments first seen on a ticket in the last 30 days */
    bool has_renewal;
    int days_to_renewal; /* next renewal on or after the date */
    bool has_price_increase;
    int days_since_price_increase;
} health_input;

enum { HEALTH_ADOPTION, HEALTH_USAGE_TREND, HEALTH_SUPPORT, HEALTH_NPS, HEALTH__PARTS };

typedef struct {
    bool present;
    double score;  /* 0..100 */
    double weight; /* the part's weight (HEALTH_WEIGHT_*) */
    double value;  /* what it is computed from: utilisation, change, CSAT share, NPS */
} health_part;

typedef struct {
    health_part parts[HEALTH__PARTS];
    bool has_score;
    int score;        /* 0..100: the present parts' weighted mean, rounded */
    double risk;      /* 1 - score / 100 */
    const char *band; /* healthy (70+), watch (40-69), critical (<40) */
} health_result;

const char *health_part_name(int part); /* adoption, usage_trend, support, nps */

/* NPS (Bain): % promoters (9-10) - % detractors (0-6), -100..100. */
double health_nps(long promoters, long passives, long detractors);

void health_compute(const health_input *in, health_result *out);

/* ARR renewing x risk, to the cent (0 without a score). */
money_t health_arr_at_risk(money_t arr, const health_result *h);

/* Signals, a bit each, with the seed's text (expansion-signals.yaml; the
 * revenue-intelligence table of phase 13 for churn). */
typedef enum {
    SIG_USAGE_LIMIT,         /* expansion: seats used above 80% of the limit */
    SIG_NEW_DEPARTMENT,      /* expansion: a department new in usage in the last 30 days */
    SIG_API_GROWTH,          /* expansion: API calls up more than 20% month over month */
    SIG_TICKET_DEPARTMENT,   /* expansion: a support ticket from a new department */
    SIG_RENEWAL_HEALTHY_NPS, /* expansion: renewal within 90 days and NPS above 0 */
    SIG_PRICE_REVIEW,        /* expansion: 12 months since the last price increase */
    SIG_USAGE_DECLINE,       /* churn: active users down more than 20% month over month */
    SIG_DETRACTORS,          /* churn: NPS below 0 */
    SIG_LOW_CSAT,            /* churn: CSAT under 80% of rated tickets */
    SIG_CRITICAL_RENEWAL,    /* churn: health under 40 with a renewal within 90 days */
    SIG__COUNT
} health_signal;

typedef struct {
    const char *code, *kind, *signal, *action, *urgency;
} health_signal_def;

extern const health_signal_def health_signals[SIG__COUNT];

/* Decreasing usage: mean daily active users of the last 30 days more than
 * 20% under the 30 before (the seed's MoM threshold, read as a fall). */
bool health_usage_declining(bool has_active, double recent, double prior);

/* The signals that fire for an account (bit i = health_signal i). */
unsigned health_signals_of(const health_input *in, const health_result *h);

/* The renewal reminder due (seed phase 8: 90/60/30 days): 30, 60 or 90 for
 * the tightest window the renewal is in, 0 when it is further or past. */
int health_renewal_reminder(int days_to_renewal);

#endif

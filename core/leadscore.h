/* leadscore.h - lead scoring (seed 001 phase 3 "Lead Scoring Model").
 *
 * A model is a list of signals in three groups: behavioural (activities,
 * capped, default 60), firmographic (the lead's fields against the ICP,
 * capped, default 40) and negative (uncapped). The score is
 *   min(sum behavioural, cap_b) + min(sum firmographic, cap_f) + sum negative
 * and its band is hot (>= hot threshold, 75), mql (>= mql threshold, 50) or
 * below_mql. Each signal scores at most once: a behavioural one from its most
 * recent occurrence, whose points decay when the signal says so ("5
 * points/week after 14 days": 5 points per started week beyond 14 days, never
 * below 0). The seed's prose ("Opened 3+ emails in 7 days") is turned into a
 * rule by leadscore_signal_from_text. Times are Unix seconds (UTC).
 */
#ifndef REVOPS_LEADSCORE_H
#define REVOPS_LEADSCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    LS_ACT_PAGE_VIEW,
    LS_ACT_PRICING_PAGE_VIEW,
    LS_ACT_CONTENT_DOWNLOAD,
    LS_ACT_WEBINAR_ATTENDED,
    LS_ACT_DEMO_REQUEST,
    LS_ACT_EMAIL_OPEN,
    LS_ACT_EMAIL_CLICK,
    LS_ACT_CHATBOT,
    LS_ACT_FORM_SUBMIT,
    LS_ACT_AD_CLICK,
    LS_ACT_EVENT_ATTENDED,
    LS_ACT_CALL,
    LS_ACT_MEETING,
    LS_ACT_EMAIL_SENT,
    LS_ACT_EMAIL_BOUNCE,
    LS_ACT_UNSUBSCRIBE,
    LS_ACT__COUNT
} ls_activity_type;

/* The activity type named s (page_view, pricing_page_view, ...), or -1. */
int leadscore_activity_type(const char *s);
const char *leadscore_activity_name(int type);
/* "page_view, pricing_page_view, ..." into buf. */
void leadscore_activity_types_text(char *buf, size_t len);
/* A marketing touchpoint (counted by attribution)? Sales activities (calls,
 * meetings, emails sent), bounces and unsubscribes are not. */
bool leadscore_is_touch(int type);

typedef enum { LS_BEHAVIOURAL, LS_FIRMOGRAPHIC, LS_NEGATIVE } ls_group;

typedef enum {
    LS_RULE_OCCURRED,       /* min_count of the types (within window_days when > 0) */
    LS_RULE_SESSION,        /* min_count site visits in one session */
    LS_RULE_RETURN_VISIT,   /* a site visit in another session within window_days of the previous one */
    LS_FIRM_INDUSTRY,       /* industry in the ICP's industries */
    LS_FIRM_SIZE,           /* company_size within the ICP's sweet spot */
    LS_FIRM_DECISION_MAKER, /* seniority in the list, or a title keyword */
    LS_FIRM_GEOGRAPHY,      /* geography in the ICP's geographies */
    LS_NEG_COMPETITOR,      /* email domain (or a subdomain of) a competitor's */
    LS_NEG_EDU,             /* a student/education address (.edu, .ac.xx, .edu.xx) */
    LS_NEG_UNSUBSCRIBED,    /* an unsubscribe activity */
    LS_NEG_INACTIVE         /* no activity (nor creation) for window_days */
} ls_rule;

#define LS_MAX_SIGNALS 32
#define LS_MAX_LIST 64
#define LS_ITEM_LEN 96
#define LS_LABEL_LEN 160

typedef struct {
    ls_group group;
    ls_rule rule;
    char label[LS_LABEL_LEN]; /* the document's action/signal text */
    int points;
    unsigned types; /* bit (1u << ls_activity_type) per counted type */
    int min_count;
    double window_days;      /* 0: no window */
    int decay_points;        /* 0: no decay */
    double decay_every_days; /* 7 for "/week" */
    double decay_after_days; /* 14 */
} ls_signal;

typedef struct {
    char items[LS_MAX_LIST][LS_ITEM_LEN];
    int n;
} ls_list;

typedef struct {
    ls_signal sig[LS_MAX_SIGNALS];
    int nsig;
    int behavioural_cap, firmographic_cap; /* 60, 40 */
    int mql, hot;                          /* 50, 75 */
    ls_list industries, seniorities, title_keywords, geographies, competitor_domains;
    long size_min, size_max; /* sweet spot; -1 when not set */
} ls_model;

/* Cap, thresholds and the decision-maker defaults (seniorities c_level, vp,
 * director, head; title keywords chief, vp, vice president, head of,
 * director, founder, owner, president); no signals, no ICP lists. */
void leadscore_model_init(ls_model *m);

/* Turn the seed's prose into a rule: group and text in, *out filled (label,
 * rule, types, min_count, window_days; points and decay are the caller's).
 * false with a reason in why when the text names nothing known. */
bool leadscore_signal_from_text(ls_group group, const char *text, ls_signal *out, char *why, size_t whylen);
/* "5 points/week after 14 days" (also /day, /month; "after N days" optional). */
bool leadscore_parse_decay(const char *text, int *points, double *every_days, double *after_days);

typedef struct {
    int type;
    int64_t at;
    const char *session; /* NULL: none (a visit then counts as its own UTC day's session) */
} ls_activity;

typedef struct {
    const char *email, *industry, *seniority, *title, *geography;
    long company_size; /* -1: unknown */
    int64_t created_at;
} ls_lead;

typedef struct {
    bool matched;
    int points;      /* what it adds now (after decay) */
    int base_points; /* the model's points */
    int64_t at;      /* behavioural/unsubscribe: the occurrence it scores from; else 0 */
    bool decayed;
    bool quiet; /* leadscore_eval_quiet's: detail left empty */
    char detail[LS_LABEL_LEN];
} ls_signal_score;

typedef enum { LS_BAND_BELOW_MQL, LS_BAND_MQL, LS_BAND_HOT } ls_band;
const char *leadscore_band_name(ls_band b); /* below_mql, mql, hot */

typedef struct {
    ls_signal_score s[LS_MAX_SIGNALS]; /* one per model signal, same order */
    int behavioural_raw, behavioural;  /* before and after the cap */
    int firmographic_raw, firmographic;
    int negative;
    int total;
    ls_band band;
    int64_t last_activity_at; /* 0: none */
} ls_result;

/* Score a lead as of as_of: activities after as_of are ignored; acts must be
 * sorted by at (ascending). Never fails; caller owns everything. */
void leadscore_eval(const ls_model *m, const ls_lead *lead, const ls_activity *acts, size_t n, int64_t as_of,
                    ls_result *out);
/* The same scores without the signals' detail texts (left empty), for a
 * whole workspace's rescore, which stores only the total and band. */
void leadscore_eval_quiet(const ls_model *m, const ls_lead *lead, const ls_activity *acts, size_t n, int64_t as_of,
                          ls_result *out);

#endif

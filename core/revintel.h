/* revintel.h - revenue-intelligence flags on deals and accounts (seed 001
 * phase 13 "Revenue Intelligence": multi-threading, champion job change,
 * decreasing product usage, pricing + competitor page in one session, a
 * CFO/finance contact on the deal), each with the seed's prediction and
 * action (docs/metrics.md "Revenue-intelligence flags"). */
#ifndef REVOPS_REVINTEL_H
#define REVOPS_REVINTEL_H

#include <stdbool.h>

/* The multi-threading threshold of the seed: 3+ contacts engaged. */
#define REVINTEL_MULTI_THREAD 3

/* What is known of one deal (or, for the account flags, one account) at a
 * date; the counts come from sql/72_reps.sql deal_signal_inputs. */
typedef struct {
    long contacts_on_deal; /* contacts linked to the deal then */
    long contacts_engaged; /* of them, with an engagement in the 90 days before */
    long finance_contacts; /* of them, CFO/finance by title or persona */
    long champion_moves;   /* champions whose company or account changed in the 90 days before */
    bool has_active;       /* the account's active users on days of both 30-day windows */
    double active_recent, active_prior;
    long comparison_sessions; /* sessions with a pricing page and a competitor page, last 30 days */
} revintel_input;

typedef enum {
    RI_MULTI_THREADED,      /* 3+ contacts engaged */
    RI_UNDER_THREADED,      /* contacts recorded on the deal, fewer than 3 engaged */
    RI_FINANCE_CONTACT,     /* a CFO/finance contact on the deal: budget approval */
    RI_CHAMPION_JOB_CHANGE, /* a champion changed company */
    RI_USAGE_DECLINE,       /* the account's active users down more than 20% month over month */
    RI_COMPARISON_SESSION,  /* pricing + competitor page in one session */
    RI__COUNT
} revintel_flag;

typedef struct {
    const char *code;
    const char *kind; /* "positive", "risk" or "timing" */
    const char *signal, *predicts, *action;
} revintel_def;

extern const revintel_def revintel_defs[RI__COUNT];

/* The flags of a deal (bit i = revintel_flag i). */
unsigned revintel_deal_flags(const revintel_input *in);

/* The flags of an account (champion job change, usage decline, comparison
 * session: the threading and finance flags belong to deals). */
unsigned revintel_account_flags(const revintel_input *in);

/* Whether any of the flags is a risk. */
bool revintel_has_risk(unsigned flags);

#endif

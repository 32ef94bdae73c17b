/* attrib.h - multi-touch attribution (seed 001 phase 2 "Attribution Model
 * Selection"): how a deal's amount is shared among the marketing touches on
 * its path, exact to the cent.
 *
 * Weights (the one place they are written; docs/metrics.md repeats them):
 *   first_touch  100% to the first touch
 *   last_touch   100% to the last touch before the conversion
 *   linear       equal shares
 *   u_shaped     40% first touch, 40% lead-creation touch, 20% shared by the rest
 *   w_shaped     30% first, 30% lead creation, 30% opportunity creation, 10% the rest
 *   full_path    22.5% each to first, lead creation, opportunity creation and
 *                closed-won touches, 10% the rest
 *   time_decay   weight 2^(-age / 7 days), age measured back from the conversion
 * A milestone touch is the last touch at or before the milestone's time. When
 * milestones fall on the same touch, their weights add up on it; a milestone
 * the path lacks gets nothing, and when no touch is left for "the rest", its
 * share is not given: in both cases the given weights are scaled to 100%.
 * Cents are allocated by largest remainder (ties to the earlier touch), so the
 * shares always sum to the amount exactly.
 */
#ifndef REVOPS_ATTRIB_H
#define REVOPS_ATTRIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    ATTRIB_FIRST_TOUCH,
    ATTRIB_LAST_TOUCH,
    ATTRIB_LINEAR,
    ATTRIB_U_SHAPED,
    ATTRIB_W_SHAPED,
    ATTRIB_FULL_PATH,
    ATTRIB_TIME_DECAY,
    ATTRIB__COUNT
} attrib_model;

/* first_touch, last_touch, linear, u_shaped, w_shaped, full_path, time_decay */
const char *attrib_model_name(attrib_model m);
int attrib_model_parse(const char *s); /* -1 when unknown */

#define ATTRIB_HALF_LIFE_DAYS 7 /* time decay: a touch a week older counts half */

/* A deal's path: touch times (Unix seconds, ascending) and the milestone
 * times (0: the path has none). Touches after `end` must be left out by the
 * caller (end = opportunity creation for pipeline, closed-won for revenue). */
typedef struct {
    const int64_t *at;
    size_t n;
    int64_t lead_created, opp_created, won;
    int64_t end; /* the conversion: time decay measures age back from it */
} attrib_path;

/* The milestone touch indexes: lead creation, opportunity creation, closed
 * won (-1: none). */
void attrib_milestones(const attrib_path *p, int idx[3]);

/* Share amount_cents (>= 0) over the path's touches into cents[n]. 0, or -1
 * when the path has no touch (nothing written). */
int attrib_allocate(attrib_model m, const attrib_path *p, int64_t amount_cents, int64_t *cents);

/* The seed's decision rule: "Start with U-shaped. Move to W-shaped when you
 * have opp creation tracking. Move to data-driven when you have 500+
 * closed-won deals/year." Data-driven is not built: it is named, and W-shaped
 * is what to use meanwhile. */
typedef struct {
    const char *recommended; /* u_shaped, w_shaped or data_driven */
    attrib_model use;
    const char *reason;
} attrib_advice;
attrib_advice attrib_recommend(long closed_won_last_year, bool opp_creation_tracked);

/* CAC by channel (issue 19, docs/metrics.md "CAC by channel"): each new
 * customer is one unit of ATTRIB_CUSTOMER_PARTS shared over its path's
 * touches by attrib_allocate, so a channel's attributed new customers are
 * parts / ATTRIB_CUSTOMER_PARTS, fractional but exact enough that
 * spend / customers rounds to the cent as with exact fractions. */
#define ATTRIB_CUSTOMER_PARTS 1000000000000LL
/* CAC = spend_cents / (parts / ATTRIB_CUSTOMER_PARTS), rounded half away
 * from zero to the cent. false when parts <= 0 (no attributed customer). */
bool attrib_cac(int64_t spend_cents, int64_t parts, int64_t *cac_cents);

#endif

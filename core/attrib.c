/* attrib.c - multi-touch attribution weights and exact cent allocation. */
#include "attrib.h"

#include <math.h>
#include <stdlib.h>

static const char *const names[ATTRIB__COUNT] = {"first_touch", "last_touch", "linear",    "u_shaped",
                                                 "w_shaped",    "full_path",  "time_decay"};

const char *attrib_model_name(attrib_model m) { return m >= 0 && m < ATTRIB__COUNT ? names[m] : "unknown"; }

int attrib_model_parse(const char *s)
{
    for (int i = 0; s && i < ATTRIB__COUNT; i++) {
        const char *a = names[i], *b = s;
        while (*a && *a == *b)
            a++, b++;
        if (!*a && !*b)
            return i;
    }
    return -1;
}

/* Position weights in basis points (of 10,000): first, lead creation,
 * opportunity creation, closed won, the rest (shared). */
static const int position_bp[ATTRIB__COUNT][5] = {
    [ATTRIB_U_SHAPED] = {4000, 4000, 0, 0, 2000},
    [ATTRIB_W_SHAPED] = {3000, 3000, 3000, 0, 1000},
    [ATTRIB_FULL_PATH] = {2250, 2250, 2250, 2250, 1000},
};

/* The last touch at or before t, or -1. */
static int last_at_or_before(const attrib_path *p, int64_t t)
{
    if (t <= 0)
        return -1;
    int k = -1;
    for (size_t i = 0; i < p->n; i++)
        if (p->at[i] <= t)
            k = (int)i;
    return k;
}

void attrib_milestones(const attrib_path *p, int idx[3])
{
    idx[0] = last_at_or_before(p, p->lead_created);
    idx[1] = last_at_or_before(p, p->opp_created);
    idx[2] = last_at_or_before(p, p->won);
}

/* cents[i] = amount * w[i] / total, floors plus the leftover cents to the
 * largest remainders (ties: the earlier touch). w >= 0, total = sum w > 0. */
static void largest_remainder(const uint64_t *w, size_t n, int64_t amount, int64_t *cents)
{
    unsigned __int128 total = 0;
    for (size_t i = 0; i < n; i++)
        total += w[i];
    int64_t given = 0;
    unsigned __int128 *rem = malloc(n * sizeof *rem);
    for (size_t i = 0; i < n; i++) {
        unsigned __int128 x = (unsigned __int128)(uint64_t)amount * w[i];
        cents[i] = (int64_t)(x / total);
        if (rem)
            rem[i] = x % total;
        given += cents[i];
    }
    /* the leftover is below n cents: one each to the largest remainders,
     * the earlier touch first on a tie */
    for (int64_t left = amount - given; left > 0; left--) {
        size_t best = 0;
        for (size_t i = 1; rem && i < n; i++)
            if (rem[i] > rem[best])
                best = i;
        cents[best]++;
        if (rem)
            rem[best] = 0;
    }
    free(rem);
}

int attrib_allocate(attrib_model m, const attrib_path *p, int64_t amount_cents, int64_t *cents)
{
    size_t n = p->n;
    if (n == 0)
        return -1;
    uint64_t *w = calloc(n, sizeof *w);
    if (!w)
        return -1;
    switch (m) {
    case ATTRIB_FIRST_TOUCH:
        w[0] = 1;
        break;
    case ATTRIB_LAST_TOUCH:
        w[n - 1] = 1;
        break;
    case ATTRIB_LINEAR:
        for (size_t i = 0; i < n; i++)
            w[i] = 1;
        break;
    case ATTRIB_TIME_DECAY: {
        /* 2^(-age/half-life) scaled to integers: 2^40 for a touch at the
         * conversion, so ratios keep 12 significant digits */
        int64_t end = p->end > 0 ? p->end : p->at[n - 1];
        for (size_t i = 0; i < n; i++) {
            double age_days = (double)(end - p->at[i]) / 86400.0;
            if (age_days < 0)
                age_days = 0;
            w[i] = (uint64_t)llround(ldexp(1.0, 40) * pow(2.0, -age_days / ATTRIB_HALF_LIFE_DAYS));
            if (w[i] == 0)
                w[i] = 1; /* a very old touch still counts a little */
        }
        break;
    }
    default: { /* position based */
        int ms[3];
        attrib_milestones(p, ms);
        int slot[4] = {0, ms[0], ms[1], ms[2]};
        bool *is_slot = calloc(n, sizeof *is_slot);
        if (!is_slot) {
            free(w);
            return -1;
        }
        for (int s = 0; s < 4; s++)
            if (position_bp[m][s] > 0 && slot[s] >= 0)
                is_slot[slot[s]] = true;
        uint64_t nrest = 0;
        for (size_t i = 0; i < n; i++)
            nrest += !is_slot[i];
        /* integer weights: slots' points times nrest, each rest touch the rest's points */
        uint64_t mul = nrest ? nrest : 1;
        for (int s = 0; s < 4; s++)
            if (position_bp[m][s] > 0 && slot[s] >= 0)
                w[slot[s]] += (uint64_t)position_bp[m][s] * mul;
        for (size_t i = 0; i < n; i++)
            if (!is_slot[i])
                w[i] = (uint64_t)position_bp[m][4];
        free(is_slot);
        break;
    }
    }
    largest_remainder(w, n, amount_cents, cents);
    free(w);
    return 0;
}

attrib_advice attrib_recommend(long closed_won_last_year, bool opp_creation_tracked)
{
    if (closed_won_last_year >= 500)
        return (attrib_advice){"data_driven", ATTRIB_W_SHAPED,
                               "500+ closed-won deals in the last year: move to data-driven (not built here; "
                               "W-shaped meanwhile)"};
    if (opp_creation_tracked)
        return (attrib_advice){"w_shaped", ATTRIB_W_SHAPED,
                               "opportunity creation is tracked (most deals link to their leads): W-shaped"};
    return (attrib_advice){"u_shaped", ATTRIB_U_SHAPED,
                           "start with U-shaped; move to W-shaped once deals link to the leads they came from"};
}

bool attrib_cac(int64_t spend_cents, int64_t parts, int64_t *cac_cents)
{
    if (parts <= 0)
        return false;
    /* 128 bits: spend (up to 1e17 cents) x 1e12 parts would overflow 64 */
    __int128 num = (__int128)spend_cents * ATTRIB_CUSTOMER_PARTS;
    __int128 q = num / parts, r = num % parts;
    if (r < 0)
        r = -r;
    if (2 * r >= parts)
        q += num < 0 ? -1 : 1;
    *cac_cents = (int64_t)q;
    return true;
}

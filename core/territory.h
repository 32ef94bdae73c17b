/* territory.h - balanced territory design (seed 001 phase 9, territory-design.yaml)
 * with the balancer, disruption and change reports of seed 002.
 *
 * Four criteria per account (seed weights 30/30/20/20): account count,
 * revenue potential, current pipeline, workload (density, effort to cover).
 * A territory's load on criterion c is its total divided by its fair share,
 * mean_c x capacity (mean_c = criterion total / total capacity), so 1.0 is
 * exactly fair and a half-capacity (ramping) territory is fair at half the
 * accounts. The composite is the weighted mean of the four loads.
 *
 * The balancer minimises
 *   sum_t cap_t x [ (composite_t - 1)^2 + sum_c w_c (load_ct - 1)^2 ]
 *   + disruption_weight x sum over moved accounts of the account's size
 * (size = the account's composite share, in fair shares of a capacity-1
 * territory), by greedy largest-first seeding then local search with moves
 * and swaps. Pins always hold and ignore segment rules (seed: named accounts
 * by relationship, not geography); other accounts only go to territories
 * that allow their segment. docs/planning.md has the details.
 *
 * Ownership: caller-owned inputs and outputs; territory_balance allocates
 * scratch space internally and frees it before returning.
 */
#ifndef REVOPS_TERRITORY_H
#define REVOPS_TERRITORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "money.h"

enum { TERR_ACCOUNTS, TERR_POTENTIAL, TERR_PIPELINE, TERR_WORKLOAD, TERR_CRITERIA };
#define TERR_COMPOSITE TERR_CRITERIA         /* index of the composite in balance arrays */
const char *territory_criterion_name(int c); /* accounts, potential, pipeline, workload, composite */

typedef struct {
    char field[64];
    char message[160];
} territory_error;

/* current of an account whose territory today is not one of the plan's (the
 * plan removes it): the account moves whatever the plan does, so it counts as
 * moved (as a change report against today's map counts it) but costs no
 * disruption the balancer could avoid. */
#define TERRITORY_REMOVED (-2)

typedef struct {
    money_t potential; /* revenue potential (TAM), >= 0 */
    money_t pipeline;  /* open pipeline, >= 0 */
    double workload;   /* effort to cover, >= 0 */
    int segment;       /* segment/region tag 0..63, or -1 = fits anywhere */
    int pinned;        /* territory index it must stay in, or -1 */
    int current;       /* territory index today, -1 (new account) or TERRITORY_REMOVED */
} territory_account;

typedef struct {
    double capacity;   /* > 0; 1 = a full rep, 0.5 = a ramping rep */
    uint64_t segments; /* bit s set = takes segment s; 0 = takes all */
} territory_def;

typedef struct {
    double weights[TERR_CRITERIA]; /* relative; all 0 = the seed's 30/30/20/20 */
    double disruption_weight;      /* >= 0; 0 = ignore the current assignment */
    int max_passes;                /* local-search passes; 0 = default (40) */
} territory_options;

typedef struct {
    long accounts;
    money_t potential;
    money_t pipeline;
    double workload;
    double load[TERR_CRITERIA]; /* total / (mean per unit capacity x capacity) */
    double composite;           /* weighted mean of load[] */
} territory_totals;

typedef struct {
    territory_totals proposed;
    territory_totals current; /* accounts whose current is this territory */
    long gained, lost;        /* accounts moving in / out */
    money_t potential_gained, potential_lost;
    money_t pipeline_gained, pipeline_lost;
} territory_row;

typedef struct {
    double max_over_mean[TERR_CRITERIA + 1]; /* criteria then composite */
    double max_over_min[TERR_CRITERIA + 1];  /* 0 when some territory has nothing */
    double cv[TERR_CRITERIA + 1];            /* stddev / mean of the loads */
} territory_balance_index;

typedef struct {
    /* caller-allocated: assignment[naccounts], rows[nterritories] */
    int *assignment;
    territory_row *rows;

    territory_balance_index balance;         /* proposed */
    territory_balance_index balance_current; /* current (accounts with one) */
    double lower_bound;                      /* the best composite max/mean any assignment can reach (>= 1) */
    double tam_ratio;                        /* max / min potential per unit capacity */
    bool tam_rule_ok;                        /* seed: no rep > 2x the TAM of another */
    long moved;                              /* accounts with a current territory that changes (a removed one too) */
    long newly_assigned;                     /* accounts without a current territory */
    money_t potential_moved, pipeline_moved;
    double objective; /* final imbalance (without disruption) */
    int passes;       /* local-search passes run */
} territory_result;

/* The seed's weights and no disruption weight. */
void territory_options_default(territory_options *out);

/* Balance n accounts into k territories. out->assignment and out->rows must be
 * allocated by the caller. Deterministic. Returns 0, or -1 with err (bad
 * input, an account no territory accepts, allocation failure). */
int territory_balance(const territory_account *accounts, size_t n, const territory_def *terrs, size_t k,
                      const territory_options *opt, territory_result *out, territory_error *err)
    __attribute__((warn_unused_result));

/* The balancer, disruption and change reports for a given assignment (a
 * manual edit, or today's map): fills everything in out but the assignment,
 * which it reads. Returns 0 or -1 with err. */
int territory_report(const territory_account *accounts, size_t n, const territory_def *terrs, size_t k,
                     const territory_options *opt, const int *assignment, territory_result *out, territory_error *err)
    __attribute__((warn_unused_result));

#endif

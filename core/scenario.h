/* scenario.h - the annual revenue plan (seed 001 phase 11, revenue-plan.yaml),
 * scenarios as adjustments on it (bear/base/bull presets), and sensitivity.
 *
 * Struct members carry the seed's YAML names so the JSON mirrors
 * revenue-plan.yaml. A plan is computed in three steps:
 *   derived   what the funnel must produce for the targets
 *             (new_deals_needed = new_business / avg_new_deal_size, ...);
 *   capacity  AEs at full ramp, productive capacity of the current team,
 *             gap and hires (through core/capacity);
 *   projection what executing the BASE plan's demand generation (its MQLs)
 *             and installed base yields under this plan's assumptions:
 *             projected new business, expansion, churn and ending ARR.
 * The projection is the outcome scenarios and the tornado compare: at the
 * base it equals the targets, so an empty adjustment changes nothing.
 * docs/planning.md defines every formula and each choice.
 *
 * Ownership: caller-owned inputs and outputs; nothing allocated, nothing kept.
 */
#ifndef REVOPS_SCENARIO_H
#define REVOPS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include "capacity.h"
#include "money.h"

typedef struct {
    char field[64];
    char message[160];
} scenario_error;

typedef struct {
    money_t total_arr_target; /* ARR at the end of the fiscal year */
    money_t new_business;     /* new-logo ARR to win in the year */
    money_t expansion;        /* expansion ARR to win in the year */
} scenario_targets;

typedef struct {
    double gross_churn_rate; /* share of starting ARR lost in the year */
    double expansion_rate;   /* expansion propensity of the installed base (relative scale) */
    money_t avg_new_deal_size;
    money_t avg_expansion_deal_size;
    double new_win_rate; /* opp -> won */
    double expansion_win_rate;
    double avg_sales_cycle_new;       /* days */
    double avg_sales_cycle_expansion; /* days */
    double sql_to_opp_rate;
    double mql_to_sql_rate;
} scenario_assumptions;

typedef struct {
    long long new_deals_needed; /* ceil(new_business / avg_new_deal_size) */
    long long opps_needed;      /* ceil(new_deals_needed / new_win_rate) */
    long long sqls_needed;      /* ceil(opps_needed / sql_to_opp_rate) */
    long long mqls_needed;      /* ceil(sqls_needed / mql_to_sql_rate) */
    money_t pipeline_needed;    /* opps_needed x avg_new_deal_size */
    long long expansion_deals_needed;
    long long expansion_opps_needed;
    money_t expansion_pipeline_needed;
    money_t starting_arr; /* given, or implied by total_arr_target */
    money_t churn_arr;    /* starting_arr x gross_churn_rate */
} scenario_derived;

typedef struct {
    int aes_at_full_ramp; /* ceil(new_business / (quota x attainment)) */
    money_t quota_per_ae;
    double expected_attainment;
    money_t productive_capacity; /* current_aes x quota x attainment */
    money_t gap;                 /* new_business - productive_capacity */
    int hires_needed;            /* capacity engine: ramp, attrition, backfill */
    bool gap_closable;           /* the hiring plan reaches new_business this year */
    money_t gap_after_hires;     /* > 0 when not closable */
} scenario_capacity;

typedef struct {
    money_t new_business;
    money_t expansion;
    money_t churn;
    money_t ending_arr; /* starting - churn + new + expansion */
    money_t vs_target;  /* ending_arr - total_arr_target of this plan */
} scenario_projection;

/* Inputs of the base plan. */
typedef struct {
    int fiscal_year;
    scenario_targets targets;
    scenario_assumptions assumptions;
    money_t starting_arr; /* 0 = implied: (total - new - expansion) / (1 - churn) */
    money_t quota_per_ae;
    double expected_attainment;
    int current_aes;           /* fully ramped AEs on the team at the start of the year */
    capacity_assumptions ramp; /* ramp, attrition, backfill, seasonality (quota/attainment ignored) */
    caldate_t fy_start;        /* first day of the fiscal year */
    int hire_from_month;
    int max_hires_per_month;
} scenario_input;

typedef struct {
    int fiscal_year;
    scenario_targets targets;
    scenario_assumptions assumptions;
    scenario_derived derived;
    scenario_capacity capacity;
    scenario_projection projection;
} scenario_plan;

/* Adjustable fields: targets, then assumptions, then capacity. */
typedef enum {
    SF_TOTAL_ARR_TARGET,
    SF_NEW_BUSINESS,
    SF_EXPANSION,
    SF_GROSS_CHURN_RATE,
    SF_EXPANSION_RATE,
    SF_AVG_NEW_DEAL_SIZE,
    SF_AVG_EXPANSION_DEAL_SIZE,
    SF_NEW_WIN_RATE,
    SF_EXPANSION_WIN_RATE,
    SF_AVG_SALES_CYCLE_NEW,
    SF_AVG_SALES_CYCLE_EXPANSION,
    SF_SQL_TO_OPP_RATE,
    SF_MQL_TO_SQL_RATE,
    SF_QUOTA_PER_AE,
    SF_EXPECTED_ATTAINMENT,
    SF__COUNT
} scenario_field;
const char *scenario_field_name(scenario_field f); /* the YAML name */
int scenario_field_parse(const char *s);           /* -1 when unknown */

/* ADD: value in the field's unit (rates as fractions: -0.05 = -5 pts; money
 * in cents; cycles in days). MUL: relative (1.1 = +10%). SET: replace. */
typedef enum { SCENARIO_ADD, SCENARIO_MUL, SCENARIO_SET } scenario_op;
const char *scenario_op_name(scenario_op op);
int scenario_op_parse(const char *s);

typedef struct {
    scenario_field field;
    scenario_op op;
    double value;
} scenario_adjustment;

#define SCENARIO_MAX_ADJUSTMENTS 16

typedef struct {
    char name[32];
    double confidence;   /* seed's confidence level; NAN when not given */
    const char *actions; /* seed's recommended actions (static); NULL for custom */
    size_t nadjust;
    scenario_adjustment adjust[SCENARIO_MAX_ADJUSTMENTS];
} scenario_def;

typedef enum { SCENARIO_BEAR, SCENARIO_BASE, SCENARIO_BULL } scenario_preset_kind;

/* The seed's table as adjustments (docs/planning.md lists the numbers). */
void scenario_preset(scenario_preset_kind k, scenario_def *out);

/* The base plan. Returns 0, or -1 with err for invalid input. */
int scenario_plan_compute(const scenario_input *in, scenario_plan *out, scenario_error *err)
    __attribute__((warn_unused_result));

/* The base with adjustments applied in order. Adjusted rates are clamped to
 * their valid range (win and conversion rates to [0.01, 1], churn to [0, 0.99],
 * cycles to [0, 364] days, money to >= 1 cent); changing new business or
 * expansion moves total_arr_target by the same amount unless it is adjusted
 * itself. Returns 0 or -1 with err. */
int scenario_apply(const scenario_input *base, const scenario_adjustment *adj, size_t nadj, scenario_plan *out,
                   scenario_error *err) __attribute__((warn_unused_result));

/* Field-by-field a - b (rates, counts and money alike). */
void scenario_plan_diff(const scenario_plan *a, const scenario_plan *b, scenario_plan *out);

typedef struct {
    char name[32];
    double confidence;
    const char *actions;
    scenario_plan plan;
    scenario_plan delta; /* plan - base */
} scenario_result;

/* Side by side: out[i] for defs[i]; the base is computed once. */
int scenario_compare(const scenario_input *base, const scenario_def *defs, size_t n, scenario_result *out,
                     scenario_error *err) __attribute__((warn_unused_result));

/* Outcome measured by the tornado. */
typedef enum { SCENARIO_OUT_ENDING_ARR, SCENARIO_OUT_HIRES_NEEDED, SCENARIO_OUT_PIPELINE_NEEDED } scenario_outcome;

typedef struct {
    scenario_field field;
    scenario_op op;      /* how one step is applied */
    double step;         /* low = -step, high = +step (MUL: 1 -/+ step) */
    long long base;      /* outcome at the base (cents, or hires) */
    long long low, high; /* outcome with the assumption one step down / up */
    long long swing;     /* |high - low| */
} scenario_tornado_row;

/* One row per assumption and capacity field (SF_GROSS_CHURN_RATE ..
 * SF_EXPECTED_ATTAINMENT: 12 rows), sorted by swing, largest first (ties in
 * field order). Default steps: rates +/-5 pts, churn +/-2 pts, expansion
 * rate x(1 +/- 10%), deal sizes and quota +/-10%, cycles +/-15 days.
 * rows must hold SF__COUNT entries; returns the number written or -1. */
int scenario_tornado(const scenario_input *base, scenario_outcome outcome, scenario_tornado_row *rows,
                     scenario_error *err) __attribute__((warn_unused_result));

/* The tornado around a scenario: the base with adj[0..nadj) applied is the
 * centre, and each step is applied after them (so a bear scenario's win-rate
 * row moves its already lowered rate). nadj = 0 is scenario_tornado. */
int scenario_tornado_at(const scenario_input *base, const scenario_adjustment *adj, size_t nadj,
                        scenario_outcome outcome, scenario_tornado_row *rows, scenario_error *err)
    __attribute__((warn_unused_result));

#endif

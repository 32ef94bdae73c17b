/* funnel.h - funnel definitions, conversion, benchmark diagnosis, time in stage.
 *
 * A funnel is an ordered list of stages; the last two are the terminal
 * Closed Won and Closed Lost stages (exactly one of each). Benchmarks are
 * per transition (from -> to, not necessarily adjacent) with the seed's four
 * thresholds (001 phase 3 "Conversion Rate Benchmarks (B2B SaaS)"). All text
 * lives in fixed-size fields so a definition is one plain struct.
 */
#ifndef REVOPS_FUNNEL_H
#define REVOPS_FUNNEL_H

#include <stdbool.h>
#include <stddef.h>

#include "caldate.h"

#define FUNNEL_MAX_STAGES 24
#define FUNNEL_MAX_BENCH 24
#define FUNNEL_KEY_LEN 48
#define FUNNEL_NAME_LEN 96

typedef enum { FC_PIPELINE, FC_BEST_CASE, FC_COMMIT, FC_UPSIDE, FC_OMITTED, FC_CLOSED, FC__COUNT } forecast_category;
const char *forecast_category_name(forecast_category c); /* pipeline, best_case, commit, upside, omitted, closed */
int forecast_category_parse(const char *s);              /* -1 when unknown */

typedef struct {
    char key[FUNNEL_KEY_LEN];
    char name[FUNNEL_NAME_LEN];
    double probability; /* 0..1: chance a deal in this stage is won */
    forecast_category category;
    bool won, lost;   /* terminal stages */
    double sla_hours; /* response SLA in hours; 0 = none */
} funnel_stage;

typedef struct {
    int from, to;      /* stage indexes */
    double bottom25;   /* below this: bottom quartile ("<30%") */
    double median_low; /* median band low .. high ("40-50%") */
    double median_high;
    double top25;       /* top quartile from here ("55-65%" -> 0.55) */
    double world_class; /* world-class from here ("70%+") */
    bool summary;       /* a whole-funnel figure (MQL -> Closed Won): reported, never the bottleneck */
} funnel_benchmark;

typedef struct {
    int nstages;
    funnel_stage stages[FUNNEL_MAX_STAGES];
    int nbench;
    funnel_benchmark bench[FUNNEL_MAX_BENCH];
} funnel_def;

/* The seed's funnel (Visitor .. Closed Lost) and its benchmark table. */
void funnel_default(funnel_def *out);
int funnel_stage_index(const funnel_def *f, const char *key); /* -1 when absent */

typedef struct {
    char path[64]; /* "stages[3].probability" */
    char message[160];
} funnel_problem;

/* Check the rules: 2..FUNNEL_MAX_STAGES stages, unique non-empty keys,
 * probabilities in 0..1 and non-decreasing along open stages, exactly one
 * won and one lost stage (won probability 1, lost 0), benchmarks between
 * distinct known stages with ordered thresholds in 0..1. Returns the number
 * of problems written (at most cap); 0 means valid. */
int funnel_validate(const funnel_def *f, funnel_problem *out, int cap);

typedef enum {
    TIER_NONE,
    TIER_BOTTOM_QUARTILE,
    TIER_BELOW_MEDIAN,
    TIER_MEDIAN,
    TIER_TOP_QUARTILE,
    TIER_WORLD_CLASS
} funnel_tier;
const char *funnel_tier_name(funnel_tier t); /* bottom_quartile, below_median, median, top_quartile, world_class */
funnel_tier funnel_tier_of(const funnel_benchmark *b, double rate);

typedef struct {
    int bench; /* index into f->bench */
    bool has_rate;
    double rate; /* to / from */
    long long from_count, to_count;
    funnel_tier tier;
} funnel_transition;

typedef struct {
    int ntransitions;
    funnel_transition transitions[FUNNEL_MAX_BENCH];
    int bottleneck; /* index into transitions, -1 when no rate could be computed */
    char explanation[320];
} funnel_diagnosis;

/* Diagnose from stage counts: counts[i] = deals that reached stage i
 * (-1 = unknown). Every benchmarked transition gets a rate when both counts
 * are known and from > 0. The bottleneck is the non-summary transition in
 * the lowest tier; ties go to the one furthest below its median band
 * (relative distance (median_low - rate) / median_low). */
void funnel_diagnose(const funnel_def *f, const long long *counts, funnel_diagnosis *out);

/* ---- stage history -------------------------------------------------------- */

typedef struct {
    int deal;  /* caller's dense deal index */
    int stage; /* stage index */
    caldate_t day;
} funnel_event;

typedef struct {
    long long entered;   /* deals that entered `from` in the period (the cohort) */
    long long converted; /* of those, deals that ever reached `to` */
    double rate;         /* converted / entered; 0 when entered = 0 */
} funnel_cohort;

/* A deal that entered `stage` has reached `target` when it is that stage or
 * a later one that is not the lost stage (a deal that went from MQL to SQL
 * passed SAL; closed lost says nothing about how far it got). The one rule
 * of stage reach: conversion from history, the dashboard's conversion and
 * the scenarios' from_history use it. */
bool funnel_reaches(const funnel_def *f, int stage, int target);

/* Cohort conversion from stage history: the cohort is every deal that first
 * reached `from` (funnel_reaches) on a day in [start, end); it converts when
 * it ever reached `to`. Events need not be sorted; undated ones (day
 * INT32_MIN) count as reached but never place a deal in a period; ndeals
 * bounds the deal indexes. Returns -1 on a bad index or allocation failure. */
int funnel_cohort_conversion(const funnel_def *f, const funnel_event *events, size_t n, int ndeals, int from, int to,
                             caldate_t start, caldate_t end, funnel_cohort *out) __attribute__((warn_unused_result));

/* The same diagnosis from cohorts: cohorts[i] is benchmark i's cohort (the
 * deals that entered its `from` stage in the period) and how many of them
 * reached its `to` stage (funnel_cohort_conversion). */
void funnel_diagnose_cohorts(const funnel_def *f, const funnel_cohort *cohorts, funnel_diagnosis *out);

/* Reached counts per stage in [start, end): distinct deals with an event
 * for the stage in the period (counts has f->nstages entries). */
int funnel_counts_from_history(const funnel_event *events, size_t n, int ndeals, int nstages, caldate_t start,
                               caldate_t end, long long *counts) __attribute__((warn_unused_result));

typedef struct {
    long long samples; /* completed stays */
    double median_days;
    double p90_days;
} funnel_stage_time;

/* Time in stage: for each deal, a stay in a stage lasts from its event to
 * the deal's next event; the last stay of a deal is still open and is not a
 * sample. Median and p90 use linear interpolation between order statistics
 * (numpy's default). out has nstages entries. */
int funnel_time_in_stage(const funnel_event *events, size_t n, int nstages, funnel_stage_time *out)
    __attribute__((warn_unused_result));

/* The p-quantile (0..1) of v (sorted in place) with linear interpolation. */
double funnel_quantile(double *v, size_t n, double p);

#endif

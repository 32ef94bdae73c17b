/* maturity.h - the seed's RevOps maturity model and 100-point quality rubric
 * (001 phase 1 "RevOps Maturity Model", "100-Point RevOps Quality Rubric"):
 * stage of a 6-30 total, rubric points of 0-2 sub-criterion scores, band.
 *
 * Rubric points are kept exactly, in 24ths of a point (every dimension has 3
 * or 4 sub-criteria, so weight x sum / (2 x n) is a whole number of 24ths),
 * so a total exactly on a band's edge lands in that band.
 */
#ifndef REVOPS_MATURITY_H
#define REVOPS_MATURITY_H

#include <stdbool.h>

/* ---- the maturity model: six dimensions scored 1-5 ---- */

typedef enum { MAT_DATA, MAT_PROCESS, MAT_TECHNOLOGY, MAT_ANALYTICS, MAT_ALIGNMENT, MAT_ENABLEMENT, MAT_NDIMS } mat_dim;

typedef enum { MAT_FOUNDATION, MAT_BUILDING, MAT_SCALING, MAT_WORLD_CLASS } mat_stage;

const char *maturity_dim_name(mat_dim d);             /* "data", "process", ... */
const char *maturity_dim_level(mat_dim d, int score); /* the seed's wording of level 1, 3 or 5 (2 and 4: between) */

typedef struct {
    int total; /* 6-30 */
    mat_stage stage;
    const char *stage_name; /* "foundation", "building", "scaling", "world_class" */
    const char *focus;      /* the seed's focus of the stage */
    mat_dim weakest;        /* the lowest-scored dimension (the first of equals) */
} maturity_result;

/* Total and stage of six scores; false (result untouched) when a score is
 * outside 1-5. Stages: 6-12 foundation, 13-20 building, 21-25 scaling, 26-30
 * world-class. */
bool maturity_score(const int scores[MAT_NDIMS], maturity_result *out);

/* Where a score comes from. The engine's evidence decides what it can see;
 * beyond the highest level it can establish (cap), or where it sees nothing,
 * the answer does; with neither, the lowest score (lo). */
typedef enum { MAT_FROM_EVIDENCE, MAT_FROM_ANSWER, MAT_FROM_DEFAULT } mat_source;

typedef struct {
    bool has_evidence;
    int evidence; /* lo..cap */
    int cap;      /* the highest score evidence can give */
    bool has_answer;
    int answer;
} mat_inputs;

/* The score and its source (answers are assumed in range). */
int maturity_resolve(const mat_inputs *in, int lo, mat_source *source);
const char *maturity_source_name(mat_source s); /* "evidence", "answer", "default" */

/* ---- the 100-point rubric ---- */

#define RUBRIC_NDIMS 8
#define RUBRIC_MAX_CRIT 4
#define RUBRIC_UNIT 24 /* points are counted in 24ths */

typedef struct {
    const char *key;  /* "data_integrity" */
    const char *name; /* "Data Integrity" */
    int weight;
    int ncrit;
    const char *crit_key[RUBRIC_MAX_CRIT];  /* "single_source_of_truth" */
    const char *crit_name[RUBRIC_MAX_CRIT]; /* the seed's criterion */
} rubric_dim;

const rubric_dim *rubric_dim_get(int i); /* NULL out of range */

typedef enum { RUBRIC_TITLE_ONLY, RUBRIC_GAPS, RUBRIC_STRONG, RUBRIC_WORLD_CLASS } rubric_band;

typedef struct {
    long points24[RUBRIC_NDIMS]; /* each dimension's points x 24 */
    long total24;                /* 0 .. 2400 */
    rubric_band band;
    const char *band_name; /* "world_class", "strong_foundation", "gaps_costing_revenue", "title_not_function" */
    const char *band_text; /* the seed's wording */
} rubric_result;

/* Points of the sub-criterion scores (scores[d][c], 0-2, for the first ncrit
 * of each dimension); false when one is outside 0-2. Bands: 80-100
 * world-class, 60-79 strong, 40-59 gaps, below 40 title only (a total
 * between two whole numbers belongs to the lower's band: 79.5 is strong). */
bool rubric_score(const int scores[RUBRIC_NDIMS][RUBRIC_MAX_CRIT], rubric_result *out);

/* A points24 value as points (for JSON). */
static inline double rubric_points(long points24) { return (double)points24 / RUBRIC_UNIT; }

#endif

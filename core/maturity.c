/* maturity.c - the maturity model's stage and the 100-point rubric's points
 * and band (maturity.h). */
#include "maturity.h"

#include <stddef.h>

static const char *const DIM_NAME[MAT_NDIMS] = {"data",      "process",   "technology",
                                                "analytics", "alignment", "enablement"};

/* The seed's table: level 1 (Ad Hoc), 3 (Defined), 5 (Optimized). */
static const char *const LEVEL[MAT_NDIMS][3] = {
    {"Spreadsheets, no single source", "CRM is system of record, basic hygiene",
     "Unified data model, automated enrichment, 95%+ accuracy"},
    {"Tribal knowledge, inconsistent", "Documented playbooks, SLAs exist",
     "Automated workflows, continuous optimization"},
    {"Disconnected tools, manual entry", "Integrated stack, some automation",
     "Unified platform, AI-assisted, real-time"},
    {"Lagging indicators only", "Leading + lagging, weekly reviews",
     "Predictive models, automated alerts, cohort analysis"},
    {"Silos, blame culture", "Shared definitions, joint meetings", "Unified funnel ownership, shared comp incentives"},
    {"No onboarding, learn by doing", "Playbooks exist, quarterly training",
     "Continuous enablement, data-driven coaching"},
};

const char *maturity_dim_name(mat_dim d) { return (int)d >= 0 && d < MAT_NDIMS ? DIM_NAME[d] : NULL; }

const char *maturity_dim_level(mat_dim d, int score)
{
    if ((int)d < 0 || d >= MAT_NDIMS || score < 1 || score > 5)
        return NULL;
    /* 2 and 4 sit between two described levels: the lower one is what is
     * certainly in place */
    return LEVEL[d][score >= 5 ? 2 : score >= 3 ? 1 : 0];
}

bool maturity_score(const int scores[MAT_NDIMS], maturity_result *out)
{
    int total = 0;
    mat_dim weakest = MAT_DATA;
    for (int i = 0; i < MAT_NDIMS; i++) {
        if (scores[i] < 1 || scores[i] > 5)
            return false;
        total += scores[i];
        if (scores[i] < scores[weakest])
            weakest = (mat_dim)i;
    }
    out->total = total;
    out->weakest = weakest;
    if (total <= 12) {
        out->stage = MAT_FOUNDATION;
        out->stage_name = "foundation";
        out->focus = "focus on data and definitions first";
    } else if (total <= 20) {
        out->stage = MAT_BUILDING;
        out->stage_name = "building";
        out->focus = "standardize processes, integrate tools";
    } else if (total <= 25) {
        out->stage = MAT_SCALING;
        out->stage_name = "scaling";
        out->focus = "automate, predict, optimize";
    } else {
        out->stage = MAT_WORLD_CLASS;
        out->stage_name = "world_class";
        out->focus = "continuous improvement, AI-driven";
    }
    return true;
}

int maturity_resolve(const mat_inputs *in, int lo, mat_source *source)
{
    if (in->has_evidence && !(in->has_answer && in->evidence >= in->cap && in->answer > in->evidence)) {
        *source = MAT_FROM_EVIDENCE;
        return in->evidence;
    }
    if (in->has_answer) {
        *source = MAT_FROM_ANSWER;
        return in->answer;
    }
    *source = MAT_FROM_DEFAULT;
    return lo;
}

const char *maturity_source_name(mat_source s)
{
    return s == MAT_FROM_EVIDENCE ? "evidence" : s == MAT_FROM_ANSWER ? "answer" : "default";
}

static const rubric_dim RUBRIC[RUBRIC_NDIMS] = {
    {"data_integrity",
     "Data Integrity",
     20,
     4,
     {"single_source_of_truth", "duplicates_below_2pct", "required_fields_enforced", "hygiene_automated"},
     {"Single source of truth", "<2% duplicates", "Required fields enforced", "Hygiene automated"}},
    {"funnel_definitions",
     "Funnel Definitions",
     15,
     3,
     {"all_stages_defined", "agreed_cross_functionally", "conversion_tracked_weekly"},
     {"All stages defined", "Agreed cross-functionally", "Conversion tracked weekly"}},
    {"pipeline_management",
     "Pipeline Management",
     15,
     3,
     {"coverage_tracked", "velocity_measured", "forecast_mape_below_15pct"},
     {"Coverage tracked", "Velocity measured", "Forecast accuracy <15% MAPE"}},
    {"cross_team_alignment",
     "Cross-Team Alignment",
     15,
     4,
     {"slas_exist", "reviewed_monthly", "handoffs_documented", "shared_metrics"},
     {"SLAs exist", "Reviewed monthly", "Handoffs documented", "Shared metrics"}},
    {"automation",
     "Automation",
     10,
     3,
     {"lead_routing_under_5min", "renewal_alerts_automated", "key_workflows_built"},
     {"Lead routing <5 min", "Renewal alerts automated", "Key workflows built"}},
    {"analytics",
     "Analytics",
     10,
     3,
     {"dashboard_updated_weekly", "cohort_analysis_running", "leading_indicators_tracked"},
     {"Dashboard updated weekly", "Cohort analysis running", "Leading indicators tracked"}},
    {"compensation",
     "Compensation",
     8,
     4,
     {"plans_documented", "aligned_to_strategy", "accelerators_at_100pct", "simple_max_3_components"},
     {"Plans documented", "Aligned to strategy", "Accelerators at 100%", "Simple (<=3 components)"}},
    {"process_documentation",
     "Process Documentation",
     7,
     3,
     {"playbooks_exist", "onboarding_covers_them", "quarterly_review_cycle"},
     {"Playbooks exist", "Onboarding covers them", "Quarterly review cycle"}},
};

const rubric_dim *rubric_dim_get(int i) { return i >= 0 && i < RUBRIC_NDIMS ? &RUBRIC[i] : NULL; }

bool rubric_score(const int scores[RUBRIC_NDIMS][RUBRIC_MAX_CRIT], rubric_result *out)
{
    long total = 0;
    long pts[RUBRIC_NDIMS];
    for (int d = 0; d < RUBRIC_NDIMS; d++) {
        int sum = 0;
        for (int c = 0; c < RUBRIC[d].ncrit; c++) {
            if (scores[d][c] < 0 || scores[d][c] > 2)
                return false;
            sum += scores[d][c];
        }
        /* weight x sum / (2 n), in 24ths: 24 / (2 n) is 3 (n = 4) or 4 (n = 3) */
        pts[d] = (long)RUBRIC[d].weight * sum * (RUBRIC_UNIT / (2 * RUBRIC[d].ncrit));
        total += pts[d];
    }
    for (int d = 0; d < RUBRIC_NDIMS; d++)
        out->points24[d] = pts[d];
    out->total24 = total;
    if (total >= 80L * RUBRIC_UNIT) {
        out->band = RUBRIC_WORLD_CLASS;
        out->band_name = "world_class";
        out->band_text = "World-class RevOps";
    } else if (total >= 60L * RUBRIC_UNIT) {
        out->band = RUBRIC_STRONG;
        out->band_name = "strong_foundation";
        out->band_text = "Strong foundation";
    } else if (total >= 40L * RUBRIC_UNIT) {
        out->band = RUBRIC_GAPS;
        out->band_name = "gaps_costing_revenue";
        out->band_text = "Gaps are costing revenue";
    } else {
        out->band = RUBRIC_TITLE_ONLY;
        out->band_name = "title_not_function";
        out->band_text = "RevOps is a title, not a function";
    }
    return true;
}

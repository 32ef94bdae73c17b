/* generated from openapi.yaml by scripts/gen_query_params.c: do not edit */
#include "http.h"

static const char *const q0[] = {NULL};
static const char *const q1[] = {NULL};
static const char *const q2[] = {NULL};
static const char *const q3[] = {NULL};
static const char *const q4[] = {NULL};
static const char *const q5[] = {"limit", "cursor", NULL};
static const char *const q6[] = {NULL};
static const char *const q7[] = {NULL};
static const char *const q8[] = {"limit", "cursor", NULL};
static const char *const q9[] = {NULL};
static const char *const q10[] = {NULL};
static const char *const q11[] = {NULL};
static const char *const q12[] = {NULL};
static const char *const q13[] = {NULL};
static const char *const q14[] = {"from", "to", "group_by", NULL};
static const char *const q15[] = {NULL};
static const char *const q16[] = {"limit", "cursor", NULL};
static const char *const q17[] = {NULL};
static const char *const q18[] = {"include", "limit", "cursor", NULL};
static const char *const q19[] = {NULL};
static const char *const q20[] = {"against", NULL};
static const char *const q21[] = {"owner", "week", NULL};
static const char *const q22[] = {"limit", "cursor", NULL};
static const char *const q23[] = {NULL};
static const char *const q24[] = {"group_by", "from", "to", NULL};
static const char *const q25[] = {"period", "method", "from", "to", NULL};
static const char *const q26[] = {NULL};
static const char *const q27[] = {NULL};
static const char *const q28[] = {NULL};
static const char *const q29[] = {"period", "explain", NULL};
static const char *const q30[] = {"from", "to", NULL};
static const char *const q31[] = {"by", "months", NULL};
static const char *const q32[] = {"by", "period", NULL};
static const char *const q33[] = {"from", "to", "account", "kind", "limit", "cursor", NULL};
static const char *const q34[] = {NULL};
static const char *const q35[] = {"limit", "cursor", NULL};
static const char *const q36[] = {NULL};
static const char *const q37[] = {"period", "limit", "cursor", NULL};
static const char *const q38[] = {NULL};
static const char *const q39[] = {"limit", "cursor", NULL};
static const char *const q40[] = {NULL};
static const char *const q41[] = {"limit", "cursor", NULL};
static const char *const q42[] = {NULL};
static const char *const q43[] = {"limit", "cursor", "updated_since", "include_deleted", "stage", "owner", "status", "close_from", "close_to", NULL};
static const char *const q44[] = {NULL};
static const char *const q45[] = {NULL};
static const char *const q46[] = {NULL};
static const char *const q47[] = {NULL};
static const char *const q48[] = {"limit", "cursor", "updated_since", "include_deleted", NULL};
static const char *const q49[] = {NULL};
static const char *const q50[] = {NULL};
static const char *const q51[] = {NULL};
static const char *const q52[] = {NULL};
static const char *const q53[] = {"limit", "cursor", "updated_since", "include_deleted", NULL};
static const char *const q54[] = {NULL};
static const char *const q55[] = {NULL};
static const char *const q56[] = {NULL};
static const char *const q57[] = {NULL};
static const char *const q58[] = {"period", "group_by", "as_of", NULL};
static const char *const q59[] = {"object", NULL};
static const char *const q60[] = {"limit", "cursor", NULL};
static const char *const q61[] = {NULL};
static const char *const q62[] = {NULL};
static const char *const q63[] = {NULL};
static const char *const q64[] = {NULL};
static const char *const q65[] = {NULL};
static const char *const q66[] = {"limit", "cursor", "endpoint_id", "status", "object_id", NULL};
static const char *const q67[] = {NULL};
static const char *const q68[] = {NULL};
static const char *const q69[] = {NULL};
static const char *const q70[] = {"limit", "cursor", NULL};
static const char *const q71[] = {NULL};
static const char *const q72[] = {NULL};
static const char *const q73[] = {"limit", "cursor", NULL};
static const char *const q74[] = {NULL};
static const char *const q75[] = {NULL};
static const char *const q76[] = {"against", NULL};
static const char *const q77[] = {NULL};
static const char *const q78[] = {NULL};

const http_op_decl http_op_decls[] = {
    {"GET", "/healthz", q0, false},
    {"GET", "/readyz", q1, false},
    {"GET", "/metrics", q2, false},
    {"GET", "/v1/workspace", q3, false},
    {"PATCH", "/v1/workspace", q4, false},
    {"GET", "/v1/keys", q5, false},
    {"POST", "/v1/keys", q6, false},
    {"DELETE", "/v1/keys/{id}", q7, false},
    {"GET", "/v1/funnels", q8, false},
    {"POST", "/v1/funnels", q9, true},
    {"GET", "/v1/funnels/{id}", q10, true},
    {"PUT", "/v1/funnels/{id}", q11, true},
    {"DELETE", "/v1/funnels/{id}", q12, false},
    {"GET", "/v1/funnels/{id}/versions", q13, false},
    {"GET", "/v1/funnels/{id}/conversion", q14, false},
    {"POST", "/v1/funnels/{id}/diagnose", q15, false},
    {"GET", "/v1/snapshots", q16, false},
    {"POST", "/v1/snapshots", q17, false},
    {"GET", "/v1/snapshots/{id}", q18, false},
    {"DELETE", "/v1/snapshots/{id}", q19, false},
    {"GET", "/v1/snapshots/{id}/diff", q20, false},
    {"GET", "/v1/pipeline/review", q21, true},
    {"GET", "/v1/forecasts", q22, false},
    {"POST", "/v1/forecasts", q23, false},
    {"GET", "/v1/forecasts/accuracy", q24, false},
    {"GET", "/v1/forecasts/trend", q25, false},
    {"POST", "/v1/forecasts/backtest", q26, false},
    {"GET", "/v1/forecasts/{id}", q27, false},
    {"POST", "/v1/forecasts/{id}/submit", q28, false},
    {"GET", "/v1/dashboard", q29, true},
    {"GET", "/v1/revenue/waterfall", q30, false},
    {"GET", "/v1/cohorts/retention", q31, false},
    {"GET", "/v1/metrics/unit-economics", q32, false},
    {"GET", "/v1/arr-events", q33, false},
    {"POST", "/v1/arr-events", q34, false},
    {"GET", "/v1/subscriptions", q35, false},
    {"PUT", "/v1/subscriptions/{id}", q36, false},
    {"GET", "/v1/spend", q37, false},
    {"POST", "/v1/spend", q38, false},
    {"GET", "/v1/finance", q39, false},
    {"PUT", "/v1/finance/{period}", q40, false},
    {"GET", "/v1/fx-rates", q41, false},
    {"PUT", "/v1/fx-rates/{currency}", q42, false},
    {"GET", "/v1/deals", q43, false},
    {"POST", "/v1/deals/batch", q44, false},
    {"GET", "/v1/deals/{id}", q45, false},
    {"PUT", "/v1/deals/{id}", q46, false},
    {"DELETE", "/v1/deals/{id}", q47, false},
    {"GET", "/v1/accounts", q48, false},
    {"POST", "/v1/accounts/batch", q49, false},
    {"GET", "/v1/accounts/{id}", q50, false},
    {"PUT", "/v1/accounts/{id}", q51, false},
    {"DELETE", "/v1/accounts/{id}", q52, false},
    {"GET", "/v1/reps", q53, false},
    {"POST", "/v1/reps/batch", q54, false},
    {"GET", "/v1/reps/{id}", q55, false},
    {"PUT", "/v1/reps/{id}", q56, false},
    {"DELETE", "/v1/reps/{id}", q57, false},
    {"GET", "/v1/attainment", q58, false},
    {"POST", "/v1/imports", q59, false},
    {"GET", "/v1/webhook-endpoints", q60, false},
    {"POST", "/v1/webhook-endpoints", q61, false},
    {"GET", "/v1/webhook-endpoints/{id}", q62, false},
    {"PATCH", "/v1/webhook-endpoints/{id}", q63, false},
    {"DELETE", "/v1/webhook-endpoints/{id}", q64, false},
    {"POST", "/v1/hooks/{id}", q65, false},
    {"GET", "/v1/webhook-events", q66, false},
    {"GET", "/v1/webhook-events/{id}", q67, false},
    {"POST", "/v1/webhook-events/{id}/replay", q68, false},
    {"POST", "/v1/capacity/plan", q69, false},
    {"GET", "/v1/scenarios", q70, false},
    {"POST", "/v1/scenarios", q71, false},
    {"GET", "/v1/scenarios/{id}", q72, false},
    {"GET", "/v1/territory-plans", q73, false},
    {"POST", "/v1/territory-plans", q74, false},
    {"GET", "/v1/territory-plans/{id}", q75, false},
    {"GET", "/v1/territory-plans/{id}/diff", q76, false},
    {"POST", "/v1/territory-plans/{id}/apply", q77, false},
    {"POST", "/v1/territory-plans/{id}/revert", q78, false},
};
const size_t http_op_decls_count = 79;

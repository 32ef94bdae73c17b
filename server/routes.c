/* routes.c - method + path pattern -> handler, minimum role, flags.
 * openapi.yaml describes exactly these routes; tests/api checks that. */
#include "routes.h"

#include "handlers.h"

const http_route routes[] = {
    {"GET", "/healthz", h_healthz, ROLE_NONE, ROUTE_PUBLIC},
    {"GET", "/readyz", h_readyz, ROLE_NONE, ROUTE_PUBLIC},
    {"GET", "/metrics", h_metrics, ROLE_NONE, ROUTE_PUBLIC},

    {"GET", "/v1/workspace", h_workspace_get, ROLE_READ, 0},
    {"PATCH", "/v1/workspace", h_workspace_patch, ROLE_ADMIN, 0},
    {"POST", "/v1/keys", h_keys_create, ROLE_ADMIN, 0},
    {"GET", "/v1/keys", h_keys_list, ROLE_ADMIN, 0},
    {"DELETE", "/v1/keys/{id}", h_keys_delete, ROLE_ADMIN, 0},

    {"POST", "/v1/funnels", h_funnels_create, ROLE_WRITE, ROUTE_YAML_BODY},
    {"GET", "/v1/funnels", h_funnels_list, ROLE_READ, 0},
    {"GET", "/v1/funnels/{id}", h_funnels_get, ROLE_READ, 0},
    {"PUT", "/v1/funnels/{id}", h_funnels_put, ROLE_WRITE, ROUTE_YAML_BODY},
    {"DELETE", "/v1/funnels/{id}", h_funnels_delete, ROLE_WRITE, 0},
    {"GET", "/v1/funnels/{id}/versions", h_funnels_versions, ROLE_READ, 0},
    {"POST", "/v1/funnels/{id}/diagnose", h_funnels_diagnose, ROLE_READ, 0},
    {"GET", "/v1/funnels/{id}/conversion", h_funnels_conversion, ROLE_READ, 0},

    {"POST", "/v1/snapshots", h_snapshots_create, ROLE_WRITE, ROUTE_IDEMPOTENT},
    {"GET", "/v1/snapshots", h_snapshots_list, ROLE_READ, 0},
    {"GET", "/v1/snapshots/{id}", h_snapshots_get, ROLE_READ, 0},
    {"DELETE", "/v1/snapshots/{id}", h_snapshots_delete, ROLE_ADMIN, 0},
    {"GET", "/v1/snapshots/{id}/diff", h_snapshots_diff, ROLE_READ, 0},
    {"GET", "/v1/pipeline/review", h_pipeline_review, ROLE_READ, 0},
    {"POST", "/v1/forecasts", h_forecasts_create, ROLE_WRITE, ROUTE_IDEMPOTENT},
    {"GET", "/v1/forecasts", h_forecasts_list, ROLE_READ, 0},
    {"GET", "/v1/forecasts/{id}", h_forecasts_get, ROLE_READ, 0},
    {"GET", "/v1/dashboard", h_dashboard, ROLE_READ, 0},
    {"GET", "/v1/revenue/waterfall", h_revenue_waterfall, ROLE_READ, 0},
    {"GET", "/v1/cohorts/retention", h_cohorts_retention, ROLE_READ, 0},
    {"GET", "/v1/metrics/unit-economics", h_unit_economics, ROLE_READ, 0},

    {"POST", "/v1/arr-events", h_arr_events_create, ROLE_WRITE, ROUTE_IDEMPOTENT},
    {"GET", "/v1/arr-events", h_arr_events_list, ROLE_READ, 0},
    {"PUT", "/v1/subscriptions/{id}", h_subscriptions_put, ROLE_WRITE, 0},
    {"GET", "/v1/subscriptions", h_subscriptions_list, ROLE_READ, 0},
    {"POST", "/v1/spend", h_spend_create, ROLE_WRITE, ROUTE_IDEMPOTENT},
    {"GET", "/v1/spend", h_spend_list, ROLE_READ, 0},
    {"PUT", "/v1/finance/{period}", h_finance_put, ROLE_WRITE, 0},
    {"GET", "/v1/finance", h_finance_list, ROLE_READ, 0},
    {"POST", "/v1/deals/batch", h_deals_batch, ROLE_WRITE, 0},
    {"GET", "/v1/deals", h_deals_list, ROLE_READ, 0},
    {"PUT", "/v1/deals/{id}", h_deals_put, ROLE_WRITE, 0},
    {"GET", "/v1/deals/{id}", h_deals_get, ROLE_READ, 0},
    {"DELETE", "/v1/deals/{id}", h_deals_delete, ROLE_WRITE, 0},
    {"POST", "/v1/accounts/batch", h_accounts_batch, ROLE_WRITE, 0},
    {"GET", "/v1/accounts", h_accounts_list, ROLE_READ, 0},
    {"PUT", "/v1/accounts/{id}", h_accounts_put, ROLE_WRITE, 0},
    {"GET", "/v1/accounts/{id}", h_accounts_get, ROLE_READ, 0},
    {"DELETE", "/v1/accounts/{id}", h_accounts_delete, ROLE_WRITE, 0},
    {"POST", "/v1/reps/batch", h_reps_batch, ROLE_WRITE, 0},
    {"GET", "/v1/reps", h_reps_list, ROLE_READ, 0},
    {"PUT", "/v1/reps/{id}", h_reps_put, ROLE_WRITE, 0},
    {"GET", "/v1/reps/{id}", h_reps_get, ROLE_READ, 0},
    {"DELETE", "/v1/reps/{id}", h_reps_delete, ROLE_WRITE, 0},
    {"POST", "/v1/imports", h_imports_create, ROLE_WRITE, ROUTE_RAW_BODY | ROUTE_LARGE_BODY},
    {"POST", "/v1/capacity/plan", h_capacity_plan, ROLE_READ, 0},
};
const size_t routes_count = sizeof routes / sizeof routes[0];

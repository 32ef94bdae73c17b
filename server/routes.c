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
};
const size_t routes_count = sizeof routes / sizeof routes[0];

/* handlers.h - every HTTP handler, one per route row in routes.c. */
#ifndef REVOPS_HANDLERS_H
#define REVOPS_HANDLERS_H

#include "http.h"

/* h_system.c */
void h_healthz(http_req *rq);
void h_readyz(http_req *rq);
void h_metrics(http_req *rq);

/* h_workspace.c */
void h_workspace_get(http_req *rq);
void h_workspace_patch(http_req *rq);
void h_keys_create(http_req *rq);
void h_keys_list(http_req *rq);
void h_keys_delete(http_req *rq);

#endif

/* prom.h - process metrics in Prometheus text exposition format.
 *
 * Counters are lock-free atomics indexed by route and status so the hot path
 * never takes a lock. Route index nroutes stands for "no route matched".
 */
#ifndef REVOPS_PROM_H
#define REVOPS_PROM_H

#include <stddef.h>

#include "http.h"

typedef enum { HOOK_SRC_HUBSPOT, HOOK_SRC_PIPEDRIVE, HOOK_SRC_STANDARD, HOOK_SRC__COUNT } prom_hook_source;

/* Size the tables for the route table; call once before serving. 0 or -1. */
int prom_init(const http_route *routes, size_t nroutes) __attribute__((warn_unused_result));
void prom_shutdown(void);
void prom_observe_request(int route_index, int status, double duration_ms);
void prom_count_webhook(prom_hook_source src, int accepted);
/* Render the exposition text (caller frees). */
char *prom_render(int db_in_use, int db_size, size_t *len);

#endif

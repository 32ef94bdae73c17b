/* prom.c - request counters, a latency histogram per route, webhook counters. */
#include "prom.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fccache.h"

/* Bucket bounds in milliseconds: chosen around the p99 < 20 ms goal. */
static const double bucket_ms[] = {1, 2.5, 5, 10, 20, 50, 100, 250, 500, 1000, 5000};
#define NBUCKETS (sizeof bucket_ms / sizeof bucket_ms[0])
#define NSTATUS 600

static const http_route *prom_routes;
static size_t prom_nroutes;
static uint64_t *req_count;   /* [(nroutes+1) * NSTATUS] */
static uint64_t *lat_buckets; /* [(nroutes+1) * (NBUCKETS+1)] */
static uint64_t *lat_sum_us;  /* [nroutes+1] */
static uint64_t hook_count[HOOK_SRC__COUNT][2];
static const char *hook_names[HOOK_SRC__COUNT] = {"hubspot", "pipedrive", "standard"};

int prom_init(const http_route *routes, size_t nroutes)
{
    prom_routes = routes;
    prom_nroutes = nroutes;
    req_count = calloc((nroutes + 1) * NSTATUS, sizeof *req_count);
    lat_buckets = calloc((nroutes + 1) * (NBUCKETS + 1), sizeof *lat_buckets);
    lat_sum_us = calloc(nroutes + 1, sizeof *lat_sum_us);
    return (req_count && lat_buckets && lat_sum_us) ? 0 : -1;
}

void prom_shutdown(void)
{
    free(req_count);
    free(lat_buckets);
    free(lat_sum_us);
    req_count = lat_buckets = lat_sum_us = NULL;
}

void prom_observe_request(int route_index, int status, double duration_ms)
{
    if (!req_count)
        return;
    size_t r = (route_index < 0 || (size_t)route_index > prom_nroutes) ? prom_nroutes : (size_t)route_index;
    if (status < 100 || status >= NSTATUS)
        status = 500;
    __atomic_add_fetch(&req_count[r * NSTATUS + (size_t)status], 1, __ATOMIC_RELAXED);
    size_t b = 0;
    while (b < NBUCKETS && duration_ms > bucket_ms[b])
        b++;
    __atomic_add_fetch(&lat_buckets[r * (NBUCKETS + 1) + b], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&lat_sum_us[r], (uint64_t)(duration_ms * 1000.0), __ATOMIC_RELAXED);
}

void prom_count_webhook(prom_hook_source src, int accepted)
{
    if (src >= 0 && src < HOOK_SRC__COUNT)
        __atomic_add_fetch(&hook_count[src][accepted ? 1 : 0], 1, __ATOMIC_RELAXED);
}

typedef struct {
    char *buf;
    size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap * 2 + (size_t)n;
        char *nb = realloc(b->buf, ncap);
        if (!nb)
            return;
        b->buf = nb;
        b->cap = ncap;
    }
}

static const char *route_label(size_t r, char *buf, size_t len)
{
    if (r >= prom_nroutes)
        return "unmatched";
    snprintf(buf, len, "%s %s", prom_routes[r].method, prom_routes[r].pattern);
    return buf;
}

char *prom_render(int db_in_use, int db_size, size_t *len)
{
    sbuf b = {malloc(8192), 0, 8192};
    if (!b.buf)
        return NULL;
    b.buf[0] = '\0';
    char label[160];
    sb_printf(&b, "# HELP revops_http_requests_total HTTP requests by route and status.\n"
                  "# TYPE revops_http_requests_total counter\n");
    for (size_t r = 0; r <= prom_nroutes; r++)
        for (int s = 100; s < NSTATUS; s++) {
            uint64_t n = __atomic_load_n(&req_count[r * NSTATUS + (size_t)s], __ATOMIC_RELAXED);
            if (n)
                sb_printf(&b, "revops_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                          route_label(r, label, sizeof label), s, (unsigned long long)n);
        }
    sb_printf(&b, "# HELP revops_http_request_duration_seconds Request latency by route.\n"
                  "# TYPE revops_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r <= prom_nroutes; r++) {
        uint64_t cum = 0;
        for (size_t k = 0; k <= NBUCKETS; k++)
            cum += __atomic_load_n(&lat_buckets[r * (NBUCKETS + 1) + k], __ATOMIC_RELAXED);
        if (!cum)
            continue;
        route_label(r, label, sizeof label);
        uint64_t acc = 0;
        for (size_t k = 0; k <= NBUCKETS; k++) {
            acc += __atomic_load_n(&lat_buckets[r * (NBUCKETS + 1) + k], __ATOMIC_RELAXED);
            if (k < NBUCKETS)
                sb_printf(&b, "revops_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n", label,
                          bucket_ms[k] / 1000.0, (unsigned long long)acc);
            else
                sb_printf(&b, "revops_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n", label,
                          (unsigned long long)acc);
        }
        sb_printf(&b, "revops_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", label,
                  (double)__atomic_load_n(&lat_sum_us[r], __ATOMIC_RELAXED) / 1e6);
        sb_printf(&b, "revops_http_request_duration_seconds_count{route=\"%s\"} %llu\n", label,
                  (unsigned long long)cum);
    }
    sb_printf(&b,
              "# HELP revops_db_pool_in_use Database connections currently borrowed.\n"
              "# TYPE revops_db_pool_in_use gauge\nrevops_db_pool_in_use %d\n"
              "# HELP revops_db_pool_size Database connections in the pool.\n"
              "# TYPE revops_db_pool_size gauge\nrevops_db_pool_size %d\n",
              db_in_use, db_size);
    sb_printf(&b, "# HELP revops_webhook_events_total Webhook requests received by source and outcome.\n"
                  "# TYPE revops_webhook_events_total counter\n");
    for (int s = 0; s < HOOK_SRC__COUNT; s++)
        for (int a = 0; a < 2; a++)
            sb_printf(&b, "revops_webhook_events_total{source=\"%s\",outcome=\"%s\"} %llu\n", hook_names[s],
                      a ? "accepted" : "rejected",
                      (unsigned long long)__atomic_load_n(&hook_count[s][a], __ATOMIC_RELAXED));
    unsigned long fc_hits, fc_misses;
    size_t fc_bytes;
    fccache_stats(&fc_hits, &fc_misses, &fc_bytes);
    sb_printf(&b,
              "# HELP revops_forecast_cache_lookups_total Lookups of learned forecast inputs (server/fccache.c).\n"
              "# TYPE revops_forecast_cache_lookups_total counter\n"
              "revops_forecast_cache_lookups_total{result=\"hit\"} %lu\n"
              "revops_forecast_cache_lookups_total{result=\"miss\"} %lu\n"
              "# HELP revops_forecast_cache_bytes Bytes held by the forecast cache.\n"
              "# TYPE revops_forecast_cache_bytes gauge\nrevops_forecast_cache_bytes %zu\n",
              fc_hits, fc_misses, fc_bytes);
    *len = b.len;
    return b.buf;
}

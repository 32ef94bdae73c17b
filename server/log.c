/* log.c - JSON-line logger; each line is one system call, so lines stay whole across worker threads. */
#include "log.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

/* One writev() per line: the kernel keeps a single write whole on a regular
 * file and, up to PIPE_BUF bytes, on a pipe, so short lines need no lock
 * (the access log writes one per request; the mutex and stdio's two
 * writes per line were the largest cost of GET /healthz). Longer lines
 * take the mutex so they cannot interleave on a pipe. */
void log_line_n(const char *json, size_t len)
{
    struct iovec iov[2] = {{(void *)json, len}, {(void *)"\n", 1}};
    bool lock = len + 1 > PIPE_BUF;
    if (lock)
        pthread_mutex_lock(&log_mu);
    size_t left = len + 1;
    int n = 2, first = 0;
    while (left > 0) {
        ssize_t w = writev(STDERR_FILENO, iov + first, n - first);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break; /* nowhere to report a broken stderr */
        }
        left -= (size_t)w;
        while (first < n && (size_t)w >= iov[first].iov_len) { /* a partial write: go on after it */
            w -= (ssize_t)iov[first].iov_len;
            first++;
        }
        if (first < n) {
            iov[first].iov_base = (char *)iov[first].iov_base + w;
            iov[first].iov_len -= (size_t)w;
        }
    }
    if (lock)
        pthread_mutex_unlock(&log_mu);
}

void log_line(const char *json) { log_line_n(json, strlen(json)); }

static void log_v2(const char *level, const char *component, long suppressed, const char *fmt, va_list ap);

static void log_v(const char *level, const char *component, const char *fmt, va_list ap)
{
    log_v2(level, component, -1, fmt, ap);
}

static void log_v2(const char *level, const char *component, long suppressed, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    char ts[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "level", level, "component", component, "msg", msg);
    if (o && suppressed > 0)
        json_object_set_new(o, "suppressed", json_integer(suppressed));
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (s)
        log_line(s);
    free(s);
    json_decref(o);
}

#define LOG_FN(name, level)                                                                                            \
    void name(const char *component, const char *fmt, ...)                                                             \
    {                                                                                                                  \
        va_list ap;                                                                                                    \
        va_start(ap, fmt);                                                                                             \
        log_v(level, component, fmt, ap);                                                                              \
        va_end(ap);                                                                                                    \
    }
LOG_FN(log_info, "info")
LOG_FN(log_warn, "warn")
LOG_FN(log_error, "error")

/* One slot per call site (its format string): when it last wrote and how
 * many lines it has held back since. A site beyond the table is not limited. */
#define LOG_SITES 32
static struct {
    const char *fmt;
    time_t last;
    long held;
} log_sites[LOG_SITES];
static pthread_mutex_t sites_mu = PTHREAD_MUTEX_INITIALIZER;

void log_warn_limited(const char *component, const char *fmt, ...)
{
    time_t now = time(NULL);
    long suppressed = -1;
    bool write = true;
    pthread_mutex_lock(&sites_mu);
    int i = 0;
    while (i < LOG_SITES && log_sites[i].fmt && log_sites[i].fmt != fmt)
        i++;
    if (i < LOG_SITES) {
        if (!log_sites[i].fmt) {
            log_sites[i].fmt = fmt;
            log_sites[i].last = now;
        } else if (now - log_sites[i].last < LOG_REPEAT_WINDOW_S) {
            log_sites[i].held++;
            write = false;
        } else {
            suppressed = log_sites[i].held;
            log_sites[i].held = 0;
            log_sites[i].last = now;
        }
    }
    pthread_mutex_unlock(&sites_mu);
    if (!write)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_v2("warn", component, suppressed, fmt, ap);
    va_end(ap);
}

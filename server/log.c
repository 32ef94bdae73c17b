/* log.c - JSON-line logger; each write is whole lines in one system call, so lines stay whole across threads. */
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
/* Write every byte of iov[0..n) to stderr, going on after a partial write. */
static void write_all(struct iovec *iov, int n)
{
    size_t left = 0;
    for (int i = 0; i < n; i++)
        left += iov[i].iov_len;
    int first = 0;
    while (left > 0) {
        ssize_t w = writev(STDERR_FILENO, iov + first, n - first);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere to report a broken stderr */
        }
        left -= (size_t)w;
        while (first < n && (size_t)w >= iov[first].iov_len) {
            w -= (ssize_t)iov[first].iov_len;
            first++;
        }
        if (first < n) {
            iov[first].iov_base = (char *)iov[first].iov_base + w;
            iov[first].iov_len -= (size_t)w;
        }
    }
}

void log_line_n(const char *json, size_t len)
{
    struct iovec iov[2] = {{(void *)json, len}, {(void *)"\n", 1}};
    bool lock = len + 1 > PIPE_BUF;
    if (lock)
        pthread_mutex_lock(&log_mu);
    write_all(iov, 2);
    if (lock)
        pthread_mutex_unlock(&log_mu);
}

/* ---- buffered lines (the access log) -----------------------------------
 * One write per request was a fifth of GET /healthz under load. Each thread
 * that logs requests appends its lines to a buffer of its own and writes the
 * buffer in one system call when the next line would not fit or when its
 * oldest line is log_buf_ms old; a flusher thread writes every non-empty
 * buffer each log_buf_ms, so an idle thread's lines wait no longer than
 * that. A buffer is at most PIPE_BUF bytes of whole lines, so each write stays
 * whole on a pipe as an unbuffered line does. The price: a crash loses the
 * lines of the last log_buf_ms (never other log lines: those are written as
 * they come); a clean stop writes everything (log_buffer_stop). */
typedef struct log_buf {
    pthread_mutex_t mu; /* the owning thread and the flusher */
    struct log_buf *next;
    int64_t first_ms; /* when the oldest line now in data was added */
    size_t len;
    char data[PIPE_BUF];
} log_buf;

static int log_buf_ms;    /* 0: every line written as it comes; set before the HTTP threads start */
static log_buf *log_bufs; /* every thread's buffer, under bufs_mu */
static __thread log_buf *my_buf;
static pthread_mutex_t bufs_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flusher_cv = PTHREAD_COND_INITIALIZER;
static pthread_t flusher;
static bool flusher_running, flusher_quit;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void buf_flush_locked(log_buf *b)
{
    if (b->len == 0)
        return;
    struct iovec iov = {b->data, b->len};
    write_all(&iov, 1);
    b->len = 0;
}

static log_buf *buf_mine(void)
{
    if (my_buf)
        return my_buf;
    log_buf *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    pthread_mutex_init(&b->mu, NULL);
    pthread_mutex_lock(&bufs_mu);
    b->next = log_bufs;
    log_bufs = b;
    pthread_mutex_unlock(&bufs_mu);
    return my_buf = b;
}

void log_line_buffered(const char *json, size_t len)
{
    log_buf *b = log_buf_ms > 0 && len + 1 <= sizeof b->data ? buf_mine() : NULL;
    if (!b) {
        if (log_buf_ms > 0 && my_buf) { /* a line too long to buffer goes after the thread's earlier ones */
            pthread_mutex_lock(&my_buf->mu);
            buf_flush_locked(my_buf);
            pthread_mutex_unlock(&my_buf->mu);
        }
        log_line_n(json, len);
        return;
    }
    int64_t now = mono_ms();
    pthread_mutex_lock(&b->mu);
    if (b->len + len + 1 > sizeof b->data)
        buf_flush_locked(b);
    if (b->len == 0)
        b->first_ms = now;
    memcpy(b->data + b->len, json, len);
    b->data[b->len + len] = '\n';
    b->len += len + 1;
    if (now - b->first_ms >= log_buf_ms)
        buf_flush_locked(b);
    pthread_mutex_unlock(&b->mu);
}

static void flush_all(void)
{
    pthread_mutex_lock(&bufs_mu);
    for (log_buf *b = log_bufs; b; b = b->next) {
        pthread_mutex_lock(&b->mu);
        buf_flush_locked(b);
        pthread_mutex_unlock(&b->mu);
    }
    pthread_mutex_unlock(&bufs_mu);
}

static void *flusher_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&bufs_mu);
    while (!flusher_quit) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        int64_t ns = until.tv_nsec + (int64_t)log_buf_ms * 1000000;
        until.tv_sec += (time_t)(ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        pthread_cond_timedwait(&flusher_cv, &bufs_mu, &until);
        pthread_mutex_unlock(&bufs_mu);
        flush_all();
        pthread_mutex_lock(&bufs_mu);
    }
    pthread_mutex_unlock(&bufs_mu);
    return NULL;
}

int log_buffer_start(int ms)
{
    if (ms <= 0 || flusher_running)
        return 0;
    log_buf_ms = ms;
    flusher_quit = false;
    if (pthread_create(&flusher, NULL, flusher_main, NULL) != 0) {
        log_buf_ms = 0;
        return -1;
    }
    flusher_running = true;
    return 0;
}

void log_buffer_stop(void)
{
    if (flusher_running) {
        pthread_mutex_lock(&bufs_mu);
        flusher_quit = true;
        pthread_cond_signal(&flusher_cv);
        pthread_mutex_unlock(&bufs_mu);
        pthread_join(flusher, NULL);
        flusher_running = false;
    }
    log_buf_ms = 0;
    flush_all();
    pthread_mutex_lock(&bufs_mu);
    while (log_bufs) {
        log_buf *b = log_bufs;
        log_bufs = b->next;
        pthread_mutex_destroy(&b->mu);
        free(b);
    }
    pthread_mutex_unlock(&bufs_mu);
    my_buf = NULL;
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

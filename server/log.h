/* log.h - structured logging: one JSON object per line on stderr.
 * Never pass keys, secrets or request bodies to these functions. */
#ifndef REVOPS_LOG_H
#define REVOPS_LOG_H

#include <stddef.h>

void log_info(const char *component, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_warn(const char *component, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_error(const char *component, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* log_warn for a failure that repeats on every request while it lasts (a
 * database outage): the first line of a call site (its fmt) is written, the
 * repeats within LOG_REPEAT_WINDOW_S are counted, and the next line written
 * says how many were suppressed ("suppressed": N). */
#define LOG_REPEAT_WINDOW_S 10
void log_warn_limited(const char *component, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Write an already-serialised JSON line (the access log); a newline is added. */
void log_line(const char *json);
void log_line_n(const char *json, size_t len);
/* The access log's lines: buffered per thread once log_buffer_start(ms) ran
 * (written within ms; log.c says why), else as log_line_n. log_buffer_stop
 * writes what is buffered; call it when no thread logs requests any more. */
void log_line_buffered(const char *json, size_t len);
int log_buffer_start(int ms);
void log_buffer_stop(void);

#endif

/* console.h - the console's static files, embedded at build time
 * (scripts/embed-console.sh -> build/gen/console_embed.c); served by
 * h_console.c. */
#ifndef REVOPS_CONSOLE_H
#define REVOPS_CONSOLE_H

#include <stddef.h>

typedef struct {
    const char *name; /* as served under /console/ */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
} console_file;

extern const console_file console_files[];
extern const size_t console_file_count;

#endif

/* migrate.h - apply migrations/NNNN_name.sql in order, once each.
 *
 * The SQL files are embedded in the binary at build time (build/gen), so a
 * deployed revopsd needs no source tree. Each file runs in its own
 * transaction under a session advisory lock, and is recorded in
 * schema_migrations with its SHA-256; an applied file whose text changed
 * stops startup.
 */
#ifndef REVOPS_MIGRATE_H
#define REVOPS_MIGRATE_H

#include <stddef.h>

#include "db.h"

typedef struct {
    const char *name; /* "0001_foundation.sql" */
    const char *sql;
} migration_file;

extern const migration_file migration_files[];
extern const size_t migration_count;

/* Apply what is pending; prints one line per applied file to stderr.
 * Returns 0, or -1 with the reason in err. */
int migrate_run(db_conn *c, app_err *err) __attribute__((warn_unused_result));

#endif

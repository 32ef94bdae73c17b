/* migrate.h - apply migrations/NNNN_name.sql in order, once each, then
 * sql/NN_area.sql (every function and view) whenever a file's text changed.
 *
 * The SQL files are embedded in the binary at build time (build/gen), so a
 * deployed revopsd needs no source tree. Everything runs under one session
 * advisory lock, each file in its own transaction. A versioned migration is
 * recorded in schema_migrations with its SHA-256; an applied one whose text
 * changed stops startup. A repeatable file (sql/) is recorded in
 * schema_repeatables (migration 0030) with its SHA-256 and runs again, after
 * the versioned migrations, when its text differs; files run in name order.
 */
#ifndef REVOPS_MIGRATE_H
#define REVOPS_MIGRATE_H

#include <stddef.h>

#include "db.h"

typedef struct {
    const char *name; /* "0001_foundation.sql" */
    const char *sql;
} migration_file;

extern const migration_file migration_files[]; /* migrations/, in order */
extern const size_t migration_count;
extern const migration_file repeatable_files[]; /* sql/, in name order */
extern const size_t repeatable_count;

/* Apply what is pending; prints one line per applied file to stderr.
 * Returns 0, or -1 with the reason in err. */
int migrate_run(db_conn *c, app_err *err) __attribute__((warn_unused_result));

/* The same with other files (tests: a database as an older binary left it,
 * a changed sql/ file). */
int migrate_run_files(db_conn *c, const migration_file *versioned, size_t nversioned, const migration_file *repeatable,
                      size_t nrepeatable, app_err *err) __attribute__((warn_unused_result));

#endif

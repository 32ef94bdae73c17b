/* demo.h - `revopsd demo load`: the CRM sample data set (data/crm-sample)
 * imported into a workspace through the same import code as POST /v1/imports. */
#ifndef REVOPS_DEMO_H
#define REVOPS_DEMO_H

#include "db.h"

/* Load dir/import.json's imports into workspace `name` (created when
 * missing), unless it already holds deals (then 0 and a note). Prints one
 * summary line per import on stdout. 0 ok, -1 error (message on stderr). */
int demo_load(db_conn *c, const char *dir, const char *name, int force);

#endif

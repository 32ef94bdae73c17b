/* dealsig.h - the revenue-intelligence flags of deals (core/revintel) read
 * from the database (sql/72_reps.sql deal_signal_inputs), explained, for the
 * forecast's at-risk list and the rep scorecard. */
#ifndef REVOPS_DEALSIG_H
#define REVOPS_DEALSIG_H

#include <jansson.h>
#include <stddef.h>

#include "caldate.h"
#include "db.h"

/* The flags of the deals ids[0..n) as known before day `at`: *out is a JSON
 * object deal id -> {contacts_on_deal, contacts_engaged, signals: [{code,
 * kind, signal, predicts, action, evidence}], risk: bool} holding the deals
 * with at least one flag. 0, or -1 with err. */
int dealsig_load(db_conn *db, const char *ws, caldate_t at, const char *const *ids, size_t n, json_t **out,
                 app_err *err) __attribute__((warn_unused_result));

/* The codes of an entry's signals, a new array (empty for NULL). */
json_t *dealsig_codes(const json_t *entry);

#endif

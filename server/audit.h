/* audit.h - the RevOps audit's building blocks shared by its handlers
 * (h_hygiene.c, h_assess.c, h_reports.c): each computes a document once, and
 * whatever shows its numbers elsewhere calls the same function. */
#ifndef REVOPS_AUDIT_H
#define REVOPS_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

#include "db.h"
#include "errors.h"

/* Days without activity after which an open deal is stale (seed 001 data
 * hygiene rules: "Stale opportunities (no activity 14d+)"). */
#define HYGIENE_STALE_DAYS 14
/* Offending records shown with each rule in the summary (the rest are paged
 * at GET /v1/hygiene/{rule}). */
#define HYGIENE_SAMPLE 5

/* The GET /v1/hygiene document at `at`: every rule with value, threshold,
 * status, counts and (sample) its first offending records. A new reference
 * in *out, 0; or -1 with err. */
int hygiene_summary(db_conn *db, const char *workspace_id, time_t at, bool sample, json_t **out, app_err *err);

#endif

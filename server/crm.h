/* crm.h - the CRM objects (deals, accounts, reps): their field tables, the
 * validator that turns an API object into a canonical change set ("patch":
 * column -> value, money in cents, dates YYYY-MM-DD), and the writers every
 * path shares (PUT, batch, CSV/NDJSON import, webhooks).
 *
 * Ownership: functions borrow their json_t inputs; json_t outputs are new
 * references the caller decrefs.
 */
#ifndef REVOPS_CRM_H
#define REVOPS_CRM_H

#include <jansson.h>
#include <stdbool.h>

#include "db.h"
#include "errors.h"

typedef enum {
    CRM_TEXT,     /* string up to max bytes */
    CRM_ENUM,     /* one of values */
    CRM_MONEY,    /* decimal amount -> cents */
    CRM_INT,      /* integer in [min, max] */
    CRM_DATE,     /* YYYY-MM-DD */
    CRM_TS,       /* RFC 3339 timestamp */
    CRM_PROB,     /* number in [0, 1] */
    CRM_OBJECT,   /* free JSON object */
    CRM_QUOTAS,   /* {period label: amount} -> {label: cents} */
    CRM_CURRENCY, /* ISO 4217 code */
    CRM_STAGE     /* funnel stage key */
} crm_ftype;

typedef struct {
    const char *name;   /* API field */
    const char *column; /* table column */
    crm_ftype type;
    bool required; /* on PUT and batch items */
    const char *const *values;
    long long max; /* TEXT: bytes; INT: max */
} crm_field;

/* CRM_LEADS: leads as an import target only (server/leadcheck.h crm_leads);
 * crm_object_named and the /v1/deals|accounts|reps handlers never see it. */
typedef enum { CRM_DEALS, CRM_ACCOUNTS, CRM_REPS, CRM_LEADS } crm_kind;

typedef struct {
    crm_kind kind;
    const char *name;     /* "deals" */
    const char *singular; /* "deal" */
    const char *table;
    const char *json_fn; /* SQL renderer for lists */
    const crm_field *fields;
} crm_object;

extern const crm_object crm_deals, crm_accounts, crm_reps;

/* The object named "deals", "accounts" or "reps"; NULL otherwise. */
const crm_object *crm_object_named(const char *name);
const crm_field *crm_field_named(const crm_object *o, const char *name);

/* Stage key of the seed funnel? (visitor .. closed_lost) */
bool crm_is_seed_stage(const char *key);
/* A funnel stage key: [a-z][a-z0-9_]{0,63}. */
bool crm_is_stage_key(const char *key);

/* Validate one field value into patch[column]; null clears (unless required).
 * Errors are recorded under the field's API name. */
bool crm_check_field(const crm_field *f, const json_t *v, json_t *patch, app_err *e);
/* Validate an object: every key must be a field (or listed in extra_allowed);
 * required fields are enforced when require is set. Returns a new patch or
 * NULL with e filled. */
json_t *crm_check(const crm_object *o, const json_t *in, bool require, const char *const *extra_allowed, app_err *e);

/* RFC 3339 timestamp (Z or offset, optional fraction)? */
bool crm_is_timestamp(const char *s);
/* How far ahead of this server's clock an event time may be: the tolerance
 * Standard Webhooks gives a signature's timestamp (5 minutes), for clocks
 * that disagree. A later time is refused: a change stamped 9999-12-31 would
 * make every later change to the deal look stale and never be applied. */
#define CRM_MAX_FUTURE_SKEW_S 300
/* Seconds since 1970 of a crm_is_timestamp() text (its offset applied). */
long long crm_timestamp_epoch(const char *s);
/* Is the crm_is_timestamp() text later than now + CRM_MAX_FUTURE_SKEW_S? */
bool crm_timestamp_too_late(const char *s);

/* Apply ops [{id, patch, at?, origin?, stage_at?}] in the caller's
 * transaction; *results gets one string per op: created | updated |
 * unchanged | stale. Returns 0 or -1. */
/* What deal changes refer to, checked against the workspace: the one rule
 * of every way in that validates (PUT /v1/deals/{id}, the deal batch, the
 * import; the webhook path stays tolerant, docs/data-import.md):
 * - stage: a key of the workspace's default funnel (the seed's stages when
 *   it has none yet);
 * - owner: a rep of the workspace (a soft-deleted one too), checked only when
 *   the workspace has reps at all: a workspace that never loaded its reps
 *   cannot tell a rep from a typo;
 * - account: the same with accounts;
 * - currency: the workspace's, or one with an exchange rate (PUT
 *   /v1/fx-rates/{currency}): sums never add currencies at par.
 * crm_refs_load reads, in one query, what the patches (an array of deal
 * patches; non-objects skipped) name; NULL with err on a database error.
 * crm_refs_check appends one field error per unknown reference of one patch
 * and returns false when it did. */
/* A deal row's amount in the workspace currency, as SQL over the columns of
 * `deals` (unqualified): an open deal at today's rate, a closed one at its
 * close's (fx_convert, migrations 0023). The statement's $1 must be the
 * workspace id. */
#define CRM_WS_CURRENCY "(SELECT w.currency FROM workspaces w WHERE w.id = $1::uuid)" /* $1: the workspace */
#define CRM_FX_AMOUNT                                                                                                  \
    "fx_convert(workspace_id, " CRM_WS_CURRENCY ", currency, amount_cents,"                                            \
    " CASE WHEN status = 'open' THEN now() ELSE closed_at END)"

typedef struct crm_refs crm_refs;
crm_refs *crm_refs_load(db_conn *c, const char *workspace_id, const json_t *patches, app_err *err)
    __attribute__((warn_unused_result));
bool crm_refs_check(const crm_refs *r, const json_t *patch, app_err *e);
void crm_refs_free(crm_refs *r);

int crm_apply(db_conn *c, const crm_object *o, const char *workspace_id, const json_t *ops, json_t **results,
              app_err *err) __attribute__((warn_unused_result));

#endif

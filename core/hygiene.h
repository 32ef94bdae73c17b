/* hygiene.h - the seed's data hygiene rules (001 phase 2 "Data Hygiene
 * Rules"): each rule's threshold, and the value and status of a measurement
 * from two counts (offending records, population).
 *
 * Counts in, rates out; statuses compare the counts exactly (integers times
 * basis points), so a rate exactly on a threshold has one answer.
 */
#ifndef REVOPS_HYGIENE_H
#define REVOPS_HYGIENE_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    HYG_DUPLICATE_ACCOUNTS,
    HYG_OPEN_DEAL_FIELDS,
    HYG_STALE_OPPORTUNITIES,
    HYG_CONTACT_BOUNCE,
    HYG_LEAD_ACCOUNT_MATCH,
    HYG_CLOSED_LOST_REASON,
    HYG_UNKNOWN_REFERENCES,
    HYG_NRULES
} hygiene_rule_id;

/* How a rule's value meets its threshold. */
typedef enum {
    HYG_BELOW,    /* value (offending share) must stay below threshold_bp */
    HYG_AT_LEAST, /* value (good share) must be at least threshold_bp */
    HYG_FLAG,     /* every offending record is flagged: 0 is green, any is yellow */
    HYG_NONE      /* no offending record allowed: 0 is green, any is red */
} hygiene_kind;

typedef enum { HYG_UNKNOWN, HYG_GREEN, HYG_YELLOW, HYG_RED } hygiene_status;

/* Duplicate accounts by name (docs/metrics.md "Data hygiene"): normalised
 * names at least this trigram-similar (core/simjoin), the later one of at
 * least HYGIENE_NAME_MIN_CHARS characters (shorter names share too few
 * trigrams to judge). */
#define HYGIENE_NAME_SIMILARITY 0.75
#define HYGIENE_NAME_MIN_CHARS 4

typedef enum { HYG_MATCH_NONE, HYG_MATCH_DOMAIN, HYG_MATCH_NAME, HYG_MATCH_SIMILAR_NAME } hygiene_match;

typedef struct {
    hygiene_match why;
    long first; /* the earlier account it duplicates (an index), -1 for none */
    float sim;  /* trigram similarity (HYG_MATCH_SIMILAR_NAME; 1 for NAME) */
} hygiene_dup;

/* The duplicate-account rule on n live accounts in id order (index order is
 * the order that decides which of two is the earlier, the survivor a merge
 * keeps): account i duplicates the first earlier account with the same
 * normalised domain, else the first with the same normalised name (not
 * empty), else its most similar earlier name (>= HYGIENE_NAME_SIMILARITY,
 * ties to the earliest). domains[i] may be NULL (none). Returns 0, or -1 on
 * allocation failure. */
int hygiene_duplicates(const char *const *names, const char *const *domains, size_t n, hygiene_dup *out)
    __attribute__((warn_unused_result));
const char *hygiene_match_name(hygiene_match m); /* "domain", "name", "similar_name", NULL for none */

/* The keys the duplicate rule compares (docs/metrics.md "Data hygiene").
 * A name's: lower case, every run of characters that are neither letters
 * nor digits one space, the legal-form words (inc, llc, ltd, corp, gmbh, ...)
 * and "the" dropped, trimmed. A domain's, from custom.domain else
 * custom.website: trimmed, lower case, without scheme, a leading "www.", or
 * anything from the first '/', ':', '?' or '#'; false when that leaves
 * nothing. Lower case is ASCII, Latin-1, Latin Extended-A, Greek and
 * Cyrillic; other scripts are kept as written. UTF-8 in and out; out needs
 * strlen(in) + 1 bytes (a key is never longer). */
void hygiene_name_key(const char *name, char *out);
bool hygiene_domain_key(const char *raw, char *out);

typedef struct {
    const char *id;        /* API name, e.g. "duplicate_accounts" */
    const char *name;      /* the seed's wording */
    const char *frequency; /* the seed's review frequency */
    const char *owner;     /* who fixes it (the seed's Owner column) */
    hygiene_kind kind;
    int threshold_bp;      /* 200 = 2%; 10000 = 100% */
    const char *threshold; /* the seed's threshold as written */
} hygiene_rule;

/* The rule table, in the seed's order (unknown references, not in the seed's
 * table, last: the addition). NULL for an id out of range. */
const hygiene_rule *hygiene_rule_get(hygiene_rule_id id);
/* The rule of an API name, or NULL. */
const hygiene_rule *hygiene_rule_find(const char *id);

typedef struct {
    bool has_value;        /* population > 0 */
    double value;          /* offending / population (BELOW, FLAG) or 1 - that (AT_LEAST) */
    hygiene_status status; /* HYG_UNKNOWN when !has_value */
} hygiene_result;

/* Evaluate one rule on its counts (offending <= population, both >= 0;
 * out-of-range counts give HYG_UNKNOWN). */
hygiene_result hygiene_eval(const hygiene_rule *r, long long offending, long long population);

const char *hygiene_status_name(hygiene_status s); /* "green", "yellow", "red", "unknown" */

#endif

/* routing.h - lead routing conditions (seed 001 phase 8 "Lead Routing
 * Logic"): "company_size >= 500 AND icp_tier IN ['A', 'B']",
 * "company_size BETWEEN 50 AND 499", "account IN named_account_list".
 *
 * A condition is terms joined by AND; a term is `field OP value` (OP one of
 * = != < <= > >=), `field IN [list]` / `field IN list_name`, `field NOT IN
 * ...`, or `field BETWEEN a AND b` (inclusive). Values are numbers or quoted
 * strings; a bare word in a list place names one of the document's lists.
 * A field the lead does not have (NULL) matches no term: an unknown company
 * size is neither >= 500 nor < 50. String comparisons ignore case.
 */
#ifndef REVOPS_ROUTING_H
#define REVOPS_ROUTING_H

#include <stdbool.h>
#include <stddef.h>

#define ROUTING_MAX_TERMS 16
#define ROUTING_MAX_VALUES 32
#define ROUTING_NAME_LEN 64
#define ROUTING_VALUE_LEN 96

typedef enum { RT_EQ, RT_NE, RT_LT, RT_LE, RT_GT, RT_GE, RT_IN, RT_NOT_IN, RT_BETWEEN } routing_op;

typedef struct {
    char field[ROUTING_NAME_LEN];
    routing_op op;
    int nvalues;
    char values[ROUTING_MAX_VALUES][ROUTING_VALUE_LEN];
    bool numeric[ROUTING_MAX_VALUES];
    double num[ROUTING_MAX_VALUES];
    char list_name[ROUTING_NAME_LEN]; /* IN a named list: resolved by the caller into values */
} routing_term;

typedef struct {
    routing_term t[ROUTING_MAX_TERMS];
    int n;
} routing_cond;

/* Parse text into c. false with a message (and the offending place) in err. */
bool routing_parse(const char *text, routing_cond *c, char *err, size_t errlen);

/* The lead's value of a field: its text (NULL when it has none). */
typedef const char *(*routing_lookup)(void *ctx, const char *field);

/* Does the lead match every term? Named lists must have been resolved
 * (routing_term.values filled) by the caller. */
bool routing_match(const routing_cond *c, routing_lookup look, void *ctx);

/* Round robin: the member to give the next lead to, from a pool's counter
 * (a number that grows by one per assignment, kept by the caller) and the
 * members' availability: the counter picks among the available ones in pool
 * order, so with a fixed set each gets every n-th lead. -1 when none is
 * available. */
int routing_round_robin(long long counter, const bool *available, int n);

#endif

/* hygiene.c - the seed's data hygiene thresholds, the status of a
 * measurement and the duplicate-account rule (hygiene.h). */
#include "hygiene.h"

#include <stdlib.h>
#include <string.h>

#include "simjoin.h"

static const hygiene_rule RULES[HYG_NRULES] = {
    [HYG_DUPLICATE_ACCOUNTS] = {"duplicate_accounts", "Duplicate accounts", "weekly", "RevOps", HYG_BELOW, 200,
                                "<2% duplicate rate"},
    [HYG_OPEN_DEAL_FIELDS] = {"open_deal_required_fields", "Missing fields on open opps", "daily", "Sales managers",
                              HYG_AT_LEAST, 10000, "100% completion"},
    [HYG_STALE_OPPORTUNITIES] = {"stale_opportunities", "Stale opportunities (no activity 14d+)", "daily", "AE owner",
                                 HYG_FLAG, 0, "Flag + auto-alert"},
    [HYG_CONTACT_BOUNCE] = {"contact_bounce_rate", "Contact bounce rate", "monthly", "Marketing", HYG_BELOW, 500,
                            "<5%"},
    [HYG_LEAD_ACCOUNT_MATCH] = {"lead_to_account_match", "Lead-to-account matching", "real-time", "Automation",
                                HYG_AT_LEAST, 9500, "95%+ match rate"},
    [HYG_CLOSED_LOST_REASON] = {"closed_lost_reason", "Closed-lost reason populated", "on close", "AE", HYG_AT_LEAST,
                                10000, "100% required"},
    /* not a row of the seed's table: its funnel definitions say every team
     * must agree on the stages, and a deal naming a stage, owner or account
     * the workspace does not know breaks every roll-up by them */
    [HYG_UNKNOWN_REFERENCES] = {"unknown_references", "References to unknown stages, owners or accounts", "daily",
                                "RevOps", HYG_NONE, 0, "0 deals"},
};

const hygiene_rule *hygiene_rule_get(hygiene_rule_id id)
{
    if ((int)id < 0 || id >= HYG_NRULES)
        return NULL;
    return &RULES[id];
}

const hygiene_rule *hygiene_rule_find(const char *id)
{
    if (!id)
        return NULL;
    for (int i = 0; i < HYG_NRULES; i++)
        if (strcmp(RULES[i].id, id) == 0)
            return &RULES[i];
    return NULL;
}

hygiene_result hygiene_eval(const hygiene_rule *r, long long offending, long long population)
{
    hygiene_result out = {.has_value = false, .value = 0, .status = HYG_UNKNOWN};
    if (!r || population <= 0 || offending < 0 || offending > population)
        return out;
    out.has_value = true;
    double bad = (double)offending / (double)population;
    /* exact comparisons: offending / population against bp / 10000 */
    long long lhs = offending * 10000LL, rhs;
    switch (r->kind) {
    case HYG_BELOW:
        out.value = bad;
        rhs = (long long)r->threshold_bp * population;
        out.status = lhs < rhs ? HYG_GREEN : HYG_RED;
        break;
    case HYG_AT_LEAST:
        out.value = (double)(population - offending) / (double)population;
        lhs = (population - offending) * 10000LL;
        rhs = (long long)r->threshold_bp * population;
        out.status = lhs >= rhs ? HYG_GREEN : HYG_RED;
        break;
    case HYG_FLAG:
        out.value = bad;
        out.status = offending == 0 ? HYG_GREEN : HYG_YELLOW;
        break;
    case HYG_NONE:
        out.value = bad;
        out.status = offending == 0 ? HYG_GREEN : HYG_RED;
        break;
    }
    return out;
}

const char *hygiene_status_name(hygiene_status s)
{
    switch (s) {
    case HYG_GREEN:
        return "green";
    case HYG_YELLOW:
        return "yellow";
    case HYG_RED:
        return "red";
    case HYG_UNKNOWN:
        break;
    }
    return "unknown";
}

typedef struct {
    const char *key;
    size_t at;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->at > y->at) - (x->at < y->at);
}

/* first[i]: the first index with account i's key (i itself when it is the
 * first; -1 without a key). Sorting by (key, index) puts each group's first
 * at its head. */
static int first_of_key(const char *const *keys, size_t n, long *first)
{
    keyed *k = malloc((n ? n : 1) * sizeof *k);
    if (!k)
        return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        first[i] = -1;
        if (keys[i] && *keys[i])
            k[m++] = (keyed){keys[i], i};
    }
    qsort(k, m, sizeof *k, cmp_keyed);
    for (size_t e = 0, head = 0; e < m; e++) {
        if (e > 0 && strcmp(k[e].key, k[e - 1].key) != 0)
            head = e;
        first[k[e].at] = (long)k[head].at;
    }
    free(k);
    return 0;
}

int hygiene_duplicates(const char *const *names, const char *const *domains, size_t n, hygiene_dup *out)
{
    long *by_domain = malloc((n ? n : 1) * sizeof *by_domain), *by_name = malloc((n ? n : 1) * sizeof *by_name);
    simjoin_best *similar = malloc((n ? n : 1) * sizeof *similar);
    int rc = -1;
    if (by_domain && by_name && similar && first_of_key(domains, n, by_domain) == 0 &&
        first_of_key(names, n, by_name) == 0 &&
        simjoin_best_earlier(names, n, HYGIENE_NAME_SIMILARITY, HYGIENE_NAME_MIN_CHARS, similar) == 0) {
        for (size_t i = 0; i < n; i++) {
            if (by_domain[i] >= 0 && (size_t)by_domain[i] < i)
                out[i] = (hygiene_dup){HYG_MATCH_DOMAIN, by_domain[i], 0};
            else if (by_name[i] >= 0 && (size_t)by_name[i] < i)
                out[i] = (hygiene_dup){HYG_MATCH_NAME, by_name[i], 1};
            else if (similar[i].other >= 0)
                out[i] = (hygiene_dup){HYG_MATCH_SIMILAR_NAME, similar[i].other, similar[i].sim};
            else
                out[i] = (hygiene_dup){HYG_MATCH_NONE, -1, 0};
        }
        rc = 0;
    }
    free(by_domain);
    free(by_name);
    free(similar);
    return rc;
}

const char *hygiene_match_name(hygiene_match m)
{
    switch (m) {
    case HYG_MATCH_DOMAIN:
        return "domain";
    case HYG_MATCH_NAME:
        return "name";
    case HYG_MATCH_SIMILAR_NAME:
        return "similar_name";
    case HYG_MATCH_NONE:
        break;
    }
    return NULL;
}

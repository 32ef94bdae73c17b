/* hygiene.c - the seed's data hygiene thresholds, the status of a
 * measurement and the duplicate-account rule (hygiene.h). */
#include "hygiene.h"

#include <stdbool.h>
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

/* One UTF-8 character at s: its code point, *len its bytes. A byte that
 * starts no valid sequence is itself (a letter kept as written). */
static unsigned utf8_at(const unsigned char *s, size_t *len)
{
    if (s[0] >= 0xC2 && s[0] <= 0xDF && (s[1] & 0xC0) == 0x80) {
        *len = 2;
        return ((unsigned)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    }
    size_t n = s[0] >= 0xE0 && s[0] <= 0xEF ? 3 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 1;
    unsigned cp = n == 3 ? s[0] & 0x0F : s[0] & 0x07;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            n = 1;
            break;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    *len = n;
    return n == 1 ? s[0] : cp;
}

/* Neither a letter nor a digit: ASCII's, Latin-1's signs and punctuation,
 * x and the division sign, the general punctuation block (dashes, curly
 * quotes, spaces of every width) and currency signs. */
static bool is_separator(unsigned c)
{
    if (c < 0x80)
        return !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
    return (c <= 0xBF && c != 0xAA && c != 0xB5 && c != 0xBA) || c == 0xD7 || c == 0xF7 ||
           (c >= 0x2000 && c <= 0x206F) || (c >= 0x20A0 && c <= 0x20CF) || (c >= 0x3000 && c <= 0x3003);
}

/* The lower case of the scripts hygiene.h names; every other code point is
 * its own. Each mapping keeps the UTF-8 length (all are below U+0800). */
static unsigned lower_of(unsigned c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) ||
        (c >= 0x410 && c <= 0x42F))
        return c + 0x20;
    if (c >= 0x400 && c <= 0x40F)
        return c + 0x50;
    if (c == 0x178)
        return 0xFF;
    bool even_upper = (c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177);
    bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if ((even_upper && c % 2 == 0) || (odd_upper && c % 2 == 1))
        return c + 1;
    return c;
}

/* Appends s[0..len) lower-cased at o; returns the new end. */
static char *put_lower(char *o, const unsigned char *s, size_t len)
{
    unsigned c = utf8_at(s, &len);
    unsigned l = len == 1 && c >= 0x80 ? c : lower_of(c); /* a stray byte is kept */
    if (l == c) {
        memcpy(o, s, len);
        return o + len;
    }
    if (l < 0x80) {
        *o++ = (char)l;
    } else {
        *o++ = (char)(0xC0 | (l >> 6));
        *o++ = (char)(0x80 | (l & 0x3F));
    }
    return o;
}

static bool is_legal_form(const char *w, size_t n)
{
    static const char *const WORDS[] = {"the",     "inc",  "incorporated", "llc", "llp",     "ltd",
                                        "limited", "corp", "corporation",  "co",  "company", "gmbh",
                                        "ag",      "sa",   "plc",          "bv",  "pty",     NULL};
    for (size_t i = 0; WORDS[i]; i++)
        if (strlen(WORDS[i]) == n && memcmp(WORDS[i], w, n) == 0)
            return true;
    return false;
}

void hygiene_name_key(const char *name, char *out)
{
    const unsigned char *s = (const unsigned char *)name;
    char *o = out;
    while (*s) {
        size_t len;
        unsigned c = utf8_at(s, &len);
        if (is_separator(c)) {
            s += len;
            continue;
        }
        const char *word = o; /* one word, lower case, then kept or dropped */
        while (*s && !is_separator(c = utf8_at(s, &len))) {
            o = put_lower(o, s, len);
            s += len;
        }
        if (is_legal_form(word, (size_t)(o - word)))
            o = (char *)word;
        else
            *o++ = ' ';
    }
    if (o > out)
        o--; /* the last word's space */
    *o = '\0';
}

bool hygiene_domain_key(const char *raw, char *out)
{
    const unsigned char *s = (const unsigned char *)raw, *e = s + strlen(raw);
    while (*s == ' ')
        s++;
    while (e > s && e[-1] == ' ')
        e--;
    char *o = out;
    for (size_t len; s < e; s += len) {
        utf8_at(s, &len);
        o = put_lower(o, s, len);
    }
    *o = '\0';
    char *d = out;
    /* a scheme: a letter, then letters, digits, '+', '.' or '-', then "://" */
    if (*d >= 'a' && *d <= 'z') {
        char *p = d + 1;
        while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '+' || *p == '.' || *p == '-')
            p++;
        if (strncmp(p, "://", 3) == 0)
            d = p + 3;
    }
    if (strncmp(d, "www.", 4) == 0)
        d += 4;
    size_t n = strcspn(d, "/:?#");
    memmove(out, d, n);
    out[n] = '\0';
    return n > 0;
}

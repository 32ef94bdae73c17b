/* simjoin.h - near-duplicate names: every name's most similar earlier name
 * by trigram similarity, found without comparing all pairs.
 *
 * Similarity is pg_trgm's (PostgreSQL contrib, the definition the hygiene
 * rule documents): each word of a name, lower-cased and padded with two
 * spaces in front and one behind, gives its three-character windows; the
 * similarity of two names is |A ∩ B| / |A ∪ B| over their sets of such
 * trigrams, compared with the threshold in single precision as pg_trgm does.
 * Words are runs of letters and digits (ASCII), every non-ASCII character
 * counts as a letter (the callers pass names normalised by SQL's
 * account_name_key, which keeps only letters, digits and single spaces).
 * For ASCII names the trigram sets are pg_trgm's exactly; pg_trgm stores a
 * trigram of multi-byte characters as a 24-bit hash, compared here by its
 * characters, so the two can differ only where that hash collides.
 *
 * The join is prefix filtering with positional filtering (Xiao, Wang, Lin,
 * Yu: "Efficient Similarity Joins for Near Duplicate Detection", WWW 2008,
 * PPJoin): trigrams are ranked rarest first; two names at least t similar
 * must share one trigram among the first |x| - ceil(t |x|) + 1 of the larger
 * and the first |y| - ceil(2t / (1 + t) |y|) + 1 of the smaller, and a pair
 * whose positions leave too little possible overlap is dropped before it is
 * verified. Exact: every pair at or above the threshold is found (the unit
 * tests compare with all pairs). core only: no I/O.
 */
#ifndef REVOPS_SIMJOIN_H
#define REVOPS_SIMJOIN_H

#include <stddef.h>

typedef struct {
    long other; /* index of the best earlier name, -1 for none */
    float sim;  /* its similarity */
} simjoin_best;

/* For each i, best[i]: the j < i whose name is the most similar to name i
 * with similarity >= threshold (0 < threshold <= 1), ties to the smallest
 * j; names shorter than min_chars characters get none (they may still be
 * another name's match). Returns 0, or -1 (allocation, bad threshold). */
int simjoin_best_earlier(const char *const *names, size_t n, double threshold, size_t min_chars, simjoin_best *best)
    __attribute__((warn_unused_result));

/* The similarity of two names as above (tests and the record's evidence). */
float simjoin_similarity(const char *a, const char *b);

#endif

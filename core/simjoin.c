/* simjoin.c - trigram similarity join (PPJoin): see simjoin.h. */
#include "simjoin.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The next character of a UTF-8 string (a stray byte counts as itself). */
static uint32_t next_char(const unsigned char **p)
{
    const unsigned char *s = *p;
    uint32_t c = s[0];
    int extra = c >= 0xF0 && c < 0xF8 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (c >= 0xF8)
        extra = 0;
    uint32_t cp = extra == 3 ? c & 0x07 : extra == 2 ? c & 0x0F : extra == 1 ? c & 0x1F : c;
    for (int i = 1; i <= extra; i++) {
        if ((s[i] & 0xC0) != 0x80) { /* truncated sequence: the lead byte alone */
            *p = s + 1;
            return c;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    *p = s + 1 + extra;
    return cp;
}

/* A word character: an ASCII letter or digit, or any non-ASCII character
 * (lower-cased, ASCII only: the callers' names are lower case already). */
static int word_char(uint32_t c, uint32_t *out)
{
    if (c >= 'A' && c <= 'Z')
        c += 'a' - 'A';
    *out = c;
    return c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

#define PACK(a, b, c) (((uint64_t)(a) << 42) | ((uint64_t)(b) << 21) | (uint64_t)(c))

/* The name's trigrams, sorted and distinct, written at out (a word of L
 * characters gives L + 1: room for 2 x strlen(name) + 1); their number. */
static size_t trigrams(const char *name, uint64_t *out)
{
    const unsigned char *p = (const unsigned char *)name;
    size_t n = 0;
    uint32_t w1 = ' ', w2 = ' '; /* the two characters before, inside a word */
    int in_word = 0;
    while (*p) {
        uint32_t c;
        if (word_char(next_char(&p), &c)) {
            if (!in_word)
                w1 = w2 = ' ';
            out[n++] = PACK(w1, w2, c);
            w1 = w2;
            w2 = c;
            in_word = 1;
        } else if (in_word) {
            out[n++] = PACK(w1, w2, ' ');
            in_word = 0;
        }
    }
    if (in_word)
        out[n++] = PACK(w1, w2, ' ');
    qsort(out, n, sizeof *out, cmp_u64);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || out[i] != out[k - 1])
            out[k++] = out[i];
    return k;
}

static size_t nchars(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += (*p & 0xC0) != 0x80;
    return n;
}

/* pg_trgm's similarity of overlap o between sets of sizes a and b. */
static float sml(size_t o, size_t a, size_t b)
{
    if (a == 0 || b == 0)
        return 0.0f;
    return (float)o / (float)(a + b - o);
}

float simjoin_similarity(const char *a, const char *b)
{
    uint64_t *ta = malloc((2 * strlen(a) + 2) * sizeof *ta), *tb = malloc((2 * strlen(b) + 2) * sizeof *tb);
    float s = 0;
    if (ta && tb) {
        size_t na = trigrams(a, ta), nb = trigrams(b, tb), i = 0, j = 0, o = 0;
        while (i < na && j < nb) {
            if (ta[i] == tb[j]) {
                o++;
                i++;
                j++;
            } else if (ta[i] < tb[j]) {
                i++;
            } else {
                j++;
            }
        }
        s = sml(o, na, nb);
    }
    free(ta);
    free(tb);
    return s;
}

/* ceil(x) for a bound computed in floating point, erring low (a smaller
 * required overlap only adds candidates, never loses a match). */
static long ceil_low(double x) { return (long)ceil(x - 1e-9); }

typedef struct {
    uint64_t value;
    long count;
} dict_entry;

static int cmp_dict_value(const void *a, const void *b)
{
    return cmp_u64(&((const dict_entry *)a)->value, &((const dict_entry *)b)->value);
}

/* A name in a trigram's list: which, where the trigram is in it, its size
 * (kept here: reading sizes from off[] was a cache miss per visit). */
typedef struct {
    int32_t id;
    int32_t pos, size;
} posting;

typedef struct {
    size_t n;
    size_t *off;     /* n + 1: tokens of name i are tok[off[i] .. off[i + 1]) */
    int32_t *tok;    /* ranks, rarest first, ascending within a name */
    uint64_t *order; /* names by size, then index: size << 32 | index */
    size_t *lstart;  /* per rank: where its postings begin in post */
    size_t *llen;    /* postings added so far */
    size_t *lskip;   /* postings skipped for good (too small for every later name) */
    posting *post;
    int32_t *acc; /* per name: overlap so far, -1 pruned */
    long *alpha;  /* per sx + sy: the overlap that similarity t needs */
    int32_t *touched;
} join;

static void join_free(join *j)
{
    free(j->off);
    free(j->tok);
    free(j->order);
    free(j->lstart);
    free(j->llen);
    free(j->lskip);
    free(j->post);
    free(j->acc);
    free(j->alpha);
    free(j->touched);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    long count;
    uint64_t value;
    int32_t at; /* index in the dictionary */
} rank_entry;

/* rarest first, then by value: one order for every run */
static int cmp_rank(const void *a, const void *b)
{
    const rank_entry *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? -1 : 1;
    return x->value < y->value ? -1 : x->value > y->value;
}

/* Trigrams of every name as ranks (rarest first). */
static int build_tokens(join *j, const char *const *names, size_t n)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += 2 * strlen(names[i]) + 2;
    uint64_t *raw = malloc(total * sizeof *raw);
    j->off = malloc((n + 1) * sizeof *j->off);
    if (!raw || !j->off) {
        free(raw);
        return -1;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        j->off[i] = m;
        m += trigrams(names[i], raw + m);
    }
    j->off[n] = m;
    dict_entry *dict = malloc((m ? m : 1) * sizeof *dict);
    j->tok = malloc((m ? m : 1) * sizeof *j->tok);
    int32_t *rank_of = NULL;
    rank_entry *by_rank = NULL;
    if (!dict || !j->tok) {
        free(raw);
        free(dict);
        return -1;
    }
    for (size_t k = 0; k < m; k++)
        dict[k] = (dict_entry){raw[k], 1};
    qsort(dict, m, sizeof *dict, cmp_dict_value);
    size_t u = 0;
    for (size_t k = 0; k < m; k++) {
        if (u > 0 && dict[u - 1].value == dict[k].value)
            dict[u - 1].count++;
        else
            dict[u++] = dict[k];
    }
    rank_of = malloc((u ? u : 1) * sizeof *rank_of);
    by_rank = malloc((u ? u : 1) * sizeof *by_rank);
    if (!rank_of || !by_rank || u > INT32_MAX) {
        free(raw);
        free(dict);
        free(rank_of);
        free(by_rank);
        return -1;
    }
    for (size_t k = 0; k < u; k++)
        by_rank[k] = (rank_entry){dict[k].count, dict[k].value, (int32_t)k};
    qsort(by_rank, u, sizeof *by_rank, cmp_rank);
    for (size_t k = 0; k < u; k++)
        rank_of[by_rank[k].at] = (int32_t)k;
    for (size_t k = 0; k < m; k++) {
        dict_entry key = {raw[k], 0};
        const dict_entry *d = bsearch(&key, dict, u, sizeof *dict, cmp_dict_value);
        j->tok[k] = rank_of[d - dict];
    }
    for (size_t i = 0; i < n; i++)
        qsort(j->tok + j->off[i], j->off[i + 1] - j->off[i], sizeof *j->tok, cmp_i32);
    free(raw);
    free(dict);
    free(by_rank);
    free(rank_of);
    j->lstart = calloc(u + 1, sizeof *j->lstart);
    j->llen = calloc(u + 1, sizeof *j->llen);
    j->lskip = calloc(u + 1, sizeof *j->lskip);
    return j->lstart && j->llen && j->lskip ? (int)u : -1;
}

/* How many shared prefix trigrams a pair must have (SHARED; fewer for a
 * name so short that its overlap bound is smaller). If |x ∩ y| >= alpha,
 * the first |x| - alpha + k trigrams of x hold the k rarest common ones, so
 * longer prefixes by k - 1 let a candidate need k shared trigrams before it
 * is verified: on 100,000 company names, 1 shared trigram left 52 million
 * pairs to verify for 10,000 matches. */
#define SHARED 3

static long probe_alpha(size_t size, double t) { return ceil_low(t * (double)size); }
static long index_alpha(size_t size, double t) { return ceil_low(2 * t / (1 + t) * (double)size); }

static size_t shared_of(size_t size, double t)
{
    long k = SHARED, a = probe_alpha(size, t), b = index_alpha(size, t);
    if (a < k)
        k = a;
    if (b < k)
        k = b;
    return k < 1 ? 1 : (size_t)k;
}

static size_t index_prefix(size_t size, double t)
{
    return size == 0 ? 0 : size - (size_t)index_alpha(size, t) + shared_of(size, t);
}

/* |x ∩ y| of two ascending arrays, or less once it cannot reach need
 * (what is left to compare bounds it). Branch-free steps: most candidates
 * fail, and a mispredicted branch per element was half the join's time. */
static size_t overlap(const int32_t *x, size_t nx, const int32_t *y, size_t ny, long need)
{
    size_t a = 0, b = 0, o = 0;
    while (a < nx && b < ny) {
        size_t left = nx - a < ny - b ? nx - a : ny - b;
        if ((long)(o + left) < need)
            break;
        int32_t u = x[a], v = y[b];
        o += u == v;
        a += u <= v;
        b += v <= u;
    }
    return o;
}

/* pair (a, b) found with similarity s: the later one may take the earlier */
static void offer(simjoin_best *best, const size_t *len_ok, size_t a, size_t b, float s)
{
    size_t hi = a > b ? a : b, lo = a > b ? b : a;
    if (!len_ok[hi])
        return;
    if (best[hi].other < 0 || s > best[hi].sim || (s == best[hi].sim && (long)lo < best[hi].other))
        best[hi] = (simjoin_best){(long)lo, s};
}

int simjoin_best_earlier(const char *const *names, size_t n, double t, size_t min_chars, simjoin_best *best)
{
    if (!(t > 0 && t <= 1) || n > INT32_MAX - 1)
        return -1;
    for (size_t i = 0; i < n; i++)
        best[i] = (simjoin_best){-1, 0};
    if (n == 0)
        return 0;
    join j = {.n = n};
    size_t *len_ok = malloc(n * sizeof *len_ok);
    int u = len_ok ? build_tokens(&j, names, n) : -1;
    if (u < 0) {
        free(len_ok);
        join_free(&j);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        len_ok[i] = nchars(names[i]) >= min_chars;
    /* postings: each name's index prefix, laid out per rank */
    size_t npost = 0;
    for (size_t i = 0; i < n; i++) {
        size_t sz = j.off[i + 1] - j.off[i], ip = index_prefix(sz, t);
        for (size_t k = 0; k < ip; k++)
            j.lstart[j.tok[j.off[i] + k] + 1]++;
        npost += ip;
    }
    for (int r = 0; r < u; r++)
        j.lstart[r + 1] += j.lstart[r];
    j.post = malloc((npost ? npost : 1) * sizeof *j.post);
    j.order = malloc(n * sizeof *j.order);
    j.acc = calloc(n, sizeof *j.acc);
    j.touched = malloc(n * sizeof *j.touched);
    size_t maxsize = 0;
    for (size_t i = 0; i < n; i++)
        if (j.off[i + 1] - j.off[i] > maxsize)
            maxsize = j.off[i + 1] - j.off[i];
    j.alpha = malloc((2 * maxsize + 1) * sizeof *j.alpha);
    if (!j.post || !j.order || !j.acc || !j.touched || !j.alpha) {
        free(len_ok);
        join_free(&j);
        return -1;
    }
    for (size_t s = 0; s <= 2 * maxsize; s++)
        j.alpha[s] = ceil_low(t / (1 + t) * (double)s);
    for (size_t i = 0; i < n; i++)
        j.order[i] = (uint64_t)(j.off[i + 1] - j.off[i]) << 32 | i;
    qsort(j.order, n, sizeof *j.order, cmp_u64);
    for (size_t q = 0; q < n; q++) {
        size_t x = (size_t)(j.order[q] & 0xFFFFFFFFu), sx = j.off[x + 1] - j.off[x];
        if (sx == 0)
            continue;
        const int32_t *tx = j.tok + j.off[x];
        size_t kx = shared_of(sx, t), px = sx - (size_t)probe_alpha(sx, t) + kx, minsize = (size_t)probe_alpha(sx, t);
        size_t nt = 0;
        for (size_t i = 0; i < px; i++) {
            int32_t w = tx[i];
            posting *lst = j.post + j.lstart[w];
            /* names are indexed by growing size: one too small now is too small for good */
            while (j.lskip[w] < j.llen[w] && (size_t)lst[j.lskip[w]].size < minsize)
                j.lskip[w]++;
            for (size_t e = j.lskip[w]; e < j.llen[w]; e++) {
                int32_t y = lst[e].id;
                if (j.acc[y] < 0)
                    continue;
                size_t sy = (size_t)lst[e].size, py = (size_t)lst[e].pos;
                long alpha = j.alpha[sx + sy];
                size_t rx = sx - i - 1, ry = sy - py - 1;
                long ub = 1 + (long)(rx < ry ? rx : ry);
                if (j.acc[y] == 0)
                    j.touched[nt++] = y;
                if (j.acc[y] + ub >= alpha)
                    j.acc[y]++;
                else
                    j.acc[y] = -1;
            }
        }
        for (size_t c = 0; c < nt; c++) {
            int32_t y = j.touched[c];
            size_t sy = j.off[y + 1] - j.off[y], ky = shared_of(sy, t);
            if (j.acc[y] >= (int32_t)(kx < ky ? kx : ky)) {
                size_t o = overlap(tx, sx, j.tok + j.off[y], sy, j.alpha[sx + sy]);
                float s = sml(o, sx, sy);
                if ((double)s >= t)
                    offer(best, len_ok, x, (size_t)y, s);
            }
            j.acc[y] = 0;
        }
        size_t ip = index_prefix(sx, t);
        for (size_t i = 0; i < ip; i++) {
            int32_t w = tx[i];
            j.post[j.lstart[w] + j.llen[w]++] = (posting){(int32_t)x, (int32_t)i, (int32_t)sx};
        }
    }
    free(len_ok);
    join_free(&j);
    return 0;
}

/* test_simjoin.c - the trigram similarity join: pg_trgm's similarity values
 * (read off PostgreSQL 15's similarity() for these pairs), and the join
 * against all pairs compared one by one on seeded random names. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"
#include "simjoin.h"

START_TEST(similarity_is_pg_trgm)
{
    /* SELECT similarity(a, b) in PostgreSQL 15 with pg_trgm */
    ck_assert(simjoin_similarity("acme", "acne") == 0.25f);
    ck_assert(simjoin_similarity("prayeldan games", "prayeldan gamez") == 7.0f / 9.0f); /* 0.7777778 */
    ck_assert(simjoin_similarity("aaaa", "aaa") == 1.0f); /* repeated trigrams count once */
    ck_assert(simjoin_similarity("a b", "a") == 0.5f);    /* {"  a","  b"," a "," b "} vs {"  a"," a "} */
    ck_assert(simjoin_similarity("wenfelxan bank", "wenfelxan bank x") == 15.0f / 17.0f); /* 0.88235295 */
    ck_assert(simjoin_similarity("müller", "muller") == 0.4f);
    ck_assert(simjoin_similarity("42 media", "42 medias") == 8.0f / 11.0f); /* 0.72727275 */
    ck_assert(simjoin_similarity("ulqenmi solutions", "ulqenmi solution") == 16.0f / 19.0f);
    ck_assert(simjoin_similarity("", "abc") == 0.0f);
    ck_assert(simjoin_similarity("Acme, Inc.", "acme inc") == 1.0f); /* case and punctuation are no part of words */
}
END_TEST

/* the best earlier match by comparing every pair */
static void brute(const char *const *names, size_t n, double t, size_t min_chars, simjoin_best *best)
{
    for (size_t i = 0; i < n; i++) {
        best[i] = (simjoin_best){-1, 0};
        size_t chars = 0;
        for (const unsigned char *p = (const unsigned char *)names[i]; *p; p++)
            chars += (*p & 0xC0) != 0x80;
        if (chars < min_chars)
            continue;
        for (size_t j = 0; j < i; j++) {
            float s = simjoin_similarity(names[i], names[j]);
            if ((double)s >= t && (best[i].other < 0 || s > best[i].sim))
                best[i] = (simjoin_best){(long)j, s};
        }
    }
}

START_TEST(join_equals_all_pairs)
{
    static const char *const syl[] = {"ka", "lo", "mi", "tra", "ven", "zor", "bel", "cor", "dan", "fel", "ü", "ost"};
    static const char *const word[] = {"systems", "labs", "foods", "group", "bank", "42", "media", "x"};
    enum { N = 1500 };
    char *names[N];
    rng r;
    rng_seed(&r, 20261203);
    for (int i = 0; i < N; i++) {
        char buf[96] = "";
        int ns = 1 + (int)(rng_next(&r) % 3);
        for (int k = 0; k < ns; k++)
            strcat(buf, syl[rng_next(&r) % 12]);
        if (rng_next(&r) % 4) {
            strcat(buf, " ");
            strcat(buf, word[rng_next(&r) % 8]);
        }
        if (i > 0 && rng_next(&r) % 5 == 0) { /* a near copy of an earlier name */
            snprintf(buf, sizeof buf, "%s", names[rng_next(&r) % (uint64_t)i]);
            size_t len = strlen(buf);
            if (len > 2 && (unsigned char)buf[len / 2] < 0x80)
                buf[len / 2] = 'q';
            else
                strcat(buf, "s");
        }
        if (rng_next(&r) % 50 == 0)
            buf[0] = '\0'; /* an empty name matches nothing */
        names[i] = strdup(buf);
    }
    simjoin_best *want = malloc(N * sizeof *want), *got = malloc(N * sizeof *got);
    const double ts[] = {0.3, 0.5, 0.75, 0.9, 1.0};
    for (size_t k = 0; k < sizeof ts / sizeof ts[0]; k++) {
        for (size_t min_chars = 0; min_chars <= 4; min_chars += 4) {
            brute((const char *const *)names, N, ts[k], min_chars, want);
            ck_assert_int_eq(simjoin_best_earlier((const char *const *)names, N, ts[k], min_chars, got), 0);
            int matched = 0;
            for (int i = 0; i < N; i++) {
                ck_assert_msg(got[i].other == want[i].other && got[i].sim == want[i].sim,
                              "t %.2f name %d '%s': got %ld (%.7f), want %ld (%.7f)", ts[k], i, names[i], got[i].other,
                              (double)got[i].sim, want[i].other, (double)want[i].sim);
                matched += want[i].other >= 0;
            }
            ck_assert_int_gt(matched, 100); /* the case is not vacuous */
        }
    }
    free(want);
    free(got);
    for (int i = 0; i < N; i++)
        free(names[i]);
}
END_TEST

START_TEST(ties_and_edges)
{
    /* two identical earlier names: the first is the match */
    const char *const a[] = {"acme systems", "acme systems", "acme systems", "abc", "abcd"};
    simjoin_best b[5];
    ck_assert_int_eq(simjoin_best_earlier(a, 5, 0.75, 4, b), 0);
    ck_assert_int_eq(b[0].other, -1);
    ck_assert_int_eq(b[1].other, 0);
    ck_assert_int_eq(b[2].other, 0);
    ck_assert(b[2].sim == 1.0f);
    ck_assert_int_eq(b[3].other, -1); /* no similar earlier name */
    ck_assert_int_eq(b[4].other, -1); /* "abc" vs "abcd": 3/6 */
    /* a name shorter than min_chars takes no match, but is one */
    const char *const c[] = {"abc", "abc", "abc"};
    ck_assert_int_eq(simjoin_best_earlier(c, 3, 0.75, 4, b), 0);
    ck_assert_int_eq(b[1].other, -1);
    ck_assert_int_eq(b[2].other, -1);
    ck_assert_int_eq(simjoin_best_earlier(c, 3, 0.75, 3, b), 0);
    ck_assert_int_eq(b[1].other, 0);
    ck_assert_int_eq(b[2].other, 0);
    ck_assert_int_eq(simjoin_best_earlier(c, 0, 0.75, 4, b), 0);
    ck_assert_int_eq(simjoin_best_earlier(c, 3, 0, 4, b), -1);
    ck_assert_int_eq(simjoin_best_earlier(c, 3, 1.5, 4, b), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("simjoin");
    TCase *t = tcase_create("simjoin");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, similarity_is_pg_trgm);
    tcase_add_test(t, join_equals_all_pairs);
    tcase_add_test(t, ties_and_edges);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

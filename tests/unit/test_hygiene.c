/* test_hygiene.c - the seed's hygiene thresholds: values and statuses on
 * counts exactly at, just under and just over each threshold. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hygiene.h"
#include "simjoin.h"

static hygiene_result ev(hygiene_rule_id id, long long bad, long long n)
{
    return hygiene_eval(hygiene_rule_get(id), bad, n);
}

START_TEST(duplicates_below_two_percent)
{
    /* the case: 3 of 100 -> 3%, red */
    hygiene_result r = ev(HYG_DUPLICATE_ACCOUNTS, 3, 100);
    ck_assert(r.has_value);
    ck_assert_double_eq_tol(r.value, 0.03, 1e-12);
    ck_assert_int_eq(r.status, HYG_RED);
    /* exactly 2% is not below 2% */
    ck_assert_int_eq(ev(HYG_DUPLICATE_ACCOUNTS, 2, 100).status, HYG_RED);
    ck_assert_int_eq(ev(HYG_DUPLICATE_ACCOUNTS, 1, 100).status, HYG_GREEN);
    ck_assert_int_eq(ev(HYG_DUPLICATE_ACCOUNTS, 199, 10000).status, HYG_GREEN);
    ck_assert_int_eq(ev(HYG_DUPLICATE_ACCOUNTS, 200, 10000).status, HYG_RED);
    ck_assert_int_eq(ev(HYG_DUPLICATE_ACCOUNTS, 0, 1).status, HYG_GREEN);
}
END_TEST

START_TEST(completion_rules_need_every_record)
{
    hygiene_result r = ev(HYG_OPEN_DEAL_FIELDS, 1, 4);
    ck_assert_double_eq_tol(r.value, 0.75, 1e-12);
    ck_assert_int_eq(r.status, HYG_RED);
    /* one in a million still misses 100% */
    ck_assert_int_eq(ev(HYG_OPEN_DEAL_FIELDS, 1, 1000000).status, HYG_RED);
    r = ev(HYG_CLOSED_LOST_REASON, 0, 7);
    ck_assert_double_eq(r.value, 1.0);
    ck_assert_int_eq(r.status, HYG_GREEN);
    /* 95%+: exactly 95% is green, 94.99% red */
    ck_assert_int_eq(ev(HYG_LEAD_ACCOUNT_MATCH, 5, 100).status, HYG_GREEN);
    ck_assert_int_eq(ev(HYG_LEAD_ACCOUNT_MATCH, 501, 10000).status, HYG_RED);
    ck_assert_double_eq_tol(ev(HYG_LEAD_ACCOUNT_MATCH, 501, 10000).value, 0.9499, 1e-12);
    /* <5% bounce */
    ck_assert_int_eq(ev(HYG_CONTACT_BOUNCE, 4, 100).status, HYG_GREEN);
    ck_assert_int_eq(ev(HYG_CONTACT_BOUNCE, 5, 100).status, HYG_RED);
}
END_TEST

START_TEST(flags_and_references)
{
    ck_assert_int_eq(ev(HYG_STALE_OPPORTUNITIES, 0, 10).status, HYG_GREEN);
    hygiene_result r = ev(HYG_STALE_OPPORTUNITIES, 2, 10);
    ck_assert_int_eq(r.status, HYG_YELLOW);
    ck_assert_double_eq_tol(r.value, 0.2, 1e-12);
    /* one unknown reference among a million deals is still red */
    ck_assert_int_eq(ev(HYG_UNKNOWN_REFERENCES, 1, 1000000).status, HYG_RED);
    ck_assert_int_eq(ev(HYG_UNKNOWN_REFERENCES, 0, 1000000).status, HYG_GREEN);
}
END_TEST

START_TEST(no_population_no_value)
{
    hygiene_result r = ev(HYG_DUPLICATE_ACCOUNTS, 0, 0);
    ck_assert(!r.has_value);
    ck_assert_int_eq(r.status, HYG_UNKNOWN);
    ck_assert_str_eq(hygiene_status_name(r.status), "unknown");
    ck_assert_int_eq(ev(HYG_DUPLICATE_ACCOUNTS, 5, 4).status, HYG_UNKNOWN);
    ck_assert_int_eq(ev(HYG_DUPLICATE_ACCOUNTS, -1, 4).status, HYG_UNKNOWN);
    ck_assert_ptr_null(hygiene_rule_get(HYG_NRULES));
    ck_assert_ptr_null(hygiene_rule_find("nope"));
    ck_assert_ptr_eq(hygiene_rule_find("stale_opportunities"), hygiene_rule_get(HYG_STALE_OPPORTUNITIES));
    ck_assert_str_eq(hygiene_status_name(HYG_RED), "red");
}
END_TEST

/* The duplicate-account rule (docs/metrics.md "Data hygiene"): the same
 * domain beats the same name beats the most similar earlier name; ties go to
 * the earliest. Similarities by hand from pg_trgm's trigrams: "globex
 * industries" and "industrie globex" share globex's 7 and 9 of industrie's
 * 10 of 19 in all (16/19); "globex industriez" has 16/20 with the first and
 * 16/19 with both "industrie" names; "umbrella" and "umbrela" share 7 of 10
 * (0.7, below 0.75). */
START_TEST(duplicates_domain_name_similar)
{
    const char *names[] = {"globex industries",
                           "initech",
                           "industrie globex",
                           "globex industrie",
                           "initech",
                           "initech",
                           "globex industriez",
                           "y x",
                           "x y",
                           "xx yy",
                           "yy xx",
                           "",
                           "",
                           "umbrella",
                           "umbrela"};
    const char *domains[] = {"globex.com", NULL, NULL, "",   "initech.io", "globex.com",   NULL, NULL,
                             NULL,         NULL, NULL, NULL, NULL,         "umbrella.com", NULL};
    enum { N = sizeof names / sizeof *names };
    static const struct {
        hygiene_match why;
        long first;
        double sim;
    } want[N] = {
        {HYG_MATCH_NONE, -1, 0},
        {HYG_MATCH_NONE, -1, 0},
        {HYG_MATCH_SIMILAR_NAME, 0, 16.0 / 19},
        {HYG_MATCH_SIMILAR_NAME, 2, 1},         /* same trigrams as 2, closer than 0 */
        {HYG_MATCH_NAME, 1, 1},                 /* the same name */
        {HYG_MATCH_DOMAIN, 0, 0},               /* the domain beats the name (1) */
        {HYG_MATCH_SIMILAR_NAME, 2, 16.0 / 19}, /* 2 and 3 tie, 0 is 0.8 */
        {HYG_MATCH_NONE, -1, 0},
        {HYG_MATCH_NONE, -1, 0}, /* similarity 1 to 7, but 3 characters */
        {HYG_MATCH_NONE, -1, 0},
        {HYG_MATCH_SIMILAR_NAME, 9, 1},
        {HYG_MATCH_NONE, -1, 0},
        {HYG_MATCH_NONE, -1, 0}, /* an empty name matches nothing */
        {HYG_MATCH_NONE, -1, 0},
        {HYG_MATCH_NONE, -1, 0}, /* 0.7 */
    };
    hygiene_dup out[N];
    ck_assert_int_eq(hygiene_duplicates(names, domains, N, out), 0);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(out[i].why == want[i].why && out[i].first == want[i].first,
                      "account %d: why %d first %ld, want %d %ld", i, out[i].why, out[i].first, want[i].why,
                      want[i].first);
        ck_assert_double_eq_tol(out[i].sim, want[i].sim, 1e-6);
    }
    ck_assert_float_eq_tol(simjoin_similarity("umbrella", "umbrela"), 0.7f, 1e-6f);
    ck_assert_str_eq(hygiene_match_name(HYG_MATCH_SIMILAR_NAME), "similar_name");
    ck_assert_str_eq(hygiene_match_name(HYG_MATCH_DOMAIN), "domain");
    ck_assert_ptr_null(hygiene_match_name(HYG_MATCH_NONE));
    ck_assert_int_eq(hygiene_duplicates(names, domains, 0, out), 0);
}
END_TEST

static void name_is(const char *in, const char *want)
{
    char out[128];
    hygiene_name_key(in, out);
    ck_assert_msg(strcmp(out, want) == 0, "name key of \"%s\": \"%s\", want \"%s\"", in, out, want);
}

static void domain_is(const char *in, const char *want)
{
    char out[128];
    bool has = hygiene_domain_key(in, out);
    ck_assert_msg(has == (want != NULL), "domain key of \"%s\": %s", in, has ? out : "none");
    if (want)
        ck_assert_msg(strcmp(out, want) == 0, "domain key of \"%s\": \"%s\", want \"%s\"", in, out, want);
}

START_TEST(name_and_domain_keys)
{
    name_is("Acme, Inc.", "acme");
    name_is("  The  ACME   Corporation ", "acme");
    name_is("Acme-Widgets GmbH & Co. KG", "acme widgets kg");
    name_is("Theory Labs Ltd", "theory labs");     /* words, not prefixes */
    name_is("Co-op Incorporated Bank", "op bank"); /* "co" is a legal form wherever it stands */
    name_is("The Inc", "");
    name_is("", "");
    name_is("Soci\u00e9t\u00e9 G\u00e9n\u00e9rale SA", "soci\u00e9t\u00e9 g\u00e9n\u00e9rale");
    name_is("SOCI\u00c9T\u00c9 G\u00c9N\u00c9RALE", "soci\u00e9t\u00e9 g\u00e9n\u00e9rale");
    name_is("O\u2019Brien \u2014 Partners", "o brien partners"); /* curly quote, em dash */
    name_is("\u0141\u00d3D\u0179 \u017bywiec", "\u0142\u00f3d\u017a \u017cywiec");
    name_is("\u0391\u039b\u03a6\u0391 \u0411\u0435\u0442\u0430", "\u03b1\u03bb\u03c6\u03b1 \u0431\u0435\u0442\u0430");
    name_is("\u6771\u4eac Trading Co", "\u6771\u4eac trading");
    name_is("a\xC3"
            "b",
            "a\xC3"
            "b"); /* a stray byte is kept */
    domain_is("https://www.CobaltRobotics.example/about", "cobaltrobotics.example");
    domain_is("  WWW.acme.io:8443 ", "acme.io");
    domain_is("acme.io?ref=x#top", "acme.io");
    domain_is("svn+ssh://git.acme.io/repo", "git.acme.io");
    domain_is("www.www.acme.io", "www.acme.io");
    domain_is("https://", NULL);
    domain_is("   ", NULL);
    domain_is("/path/only", NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hygiene");
    TCase *t = tcase_create("hygiene");
    tcase_add_test(t, duplicates_below_two_percent);
    tcase_add_test(t, completion_rules_need_every_record);
    tcase_add_test(t, flags_and_references);
    tcase_add_test(t, no_population_no_value);
    tcase_add_test(t, duplicates_domain_name_similar);
    tcase_add_test(t, name_and_domain_keys);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* test_pql.c - the seed's PQL definition: each must-have and nice-to-have
 * criterion on its edge (exactly 3 active users, 2 core features, 80% of the
 * seat limit), the self-serve signals, and the enterprise domain match. */
#include <check.h>
#include <stdlib.h>

#include "pql.h"

/* Every must-have met exactly on its threshold, no nice-to-have. */
static pql_input edge(void)
{
    return (pql_input){.onboarded = true,
                       .onboarded_on = 100,
                       .has_active = true,
                       .active_daily_max = 3,
                       .core_features = 2,
                       .has_warn_peak = true,
                       .warn_used = 80,
                       .warn_limit = 100,
                       .has_limit_peak = true,
                       .limit_used = 80,
                       .limit_limit = 100};
}

START_TEST(seed_defaults)
{
    pql_definition d;
    pql_definition_default(&d);
    ck_assert_int_eq(d.min_active_users, 3);
    ck_assert_int_eq(d.active_window_days, 7);
    ck_assert_int_eq(d.min_core_features, 2);
    ck_assert_int_eq(d.feature_window_days, 30);
    ck_assert_int_eq(d.min_integrations, 1);
    ck_assert_double_eq(d.usage_warning, 0.8);
    ck_assert_int_eq(d.warning_window_days, 30);
    ck_assert_int_eq(d.min_nice_to_have, 0);
    ck_assert_int_eq(d.ae_active_users, 5);
    ck_assert_int_eq(d.admin_invited_users, 10);
    ck_assert_str_eq(pql_must_defs[PQL_MUST_ACTIVE_USERS].criterion, "3+ active users in last 7 days");
    ck_assert_str_eq(pql_signal_defs[PQL_SIG_ENTERPRISE_DOMAIN].action, "Immediate AE assignment regardless of usage");
}
END_TEST

START_TEST(must_haves_on_their_edges)
{
    pql_definition d;
    pql_definition_default(&d);
    pql_input in = edge();
    pql_result r;
    pql_evaluate(&d, &in, &r);
    ck_assert(r.must[PQL_MUST_ONBOARDING] && r.must[PQL_MUST_ACTIVE_USERS] && r.must[PQL_MUST_CORE_FEATURES]);
    ck_assert_int_eq(r.must_met, 3);
    ck_assert_int_eq(r.nice_met, 0);
    ck_assert_int_eq(r.active_users, 3);
    ck_assert(r.qualified);
    ck_assert_uint_eq(r.signals, 0);

    in = edge(); /* 2 active users: one short */
    in.active_daily_max = 2;
    pql_evaluate(&d, &in, &r);
    ck_assert(!r.must[PQL_MUST_ACTIVE_USERS]);
    ck_assert_int_eq(r.must_met, 2);
    ck_assert(!r.qualified);

    in = edge(); /* one core feature */
    in.core_features = 1;
    pql_evaluate(&d, &in, &r);
    ck_assert(!r.must[PQL_MUST_CORE_FEATURES]);
    ck_assert(!r.qualified);

    in = edge(); /* onboarding not completed */
    in.onboarded = false;
    pql_evaluate(&d, &in, &r);
    ck_assert(!r.must[PQL_MUST_ONBOARDING]);
    ck_assert(!r.qualified);

    in = edge(); /* no usage day in the active window at all */
    in.has_active = false;
    pql_evaluate(&d, &in, &r);
    ck_assert(!r.must[PQL_MUST_ACTIVE_USERS]);
    ck_assert_int_eq(r.active_users, 0);
}
END_TEST

START_TEST(weekly_active_users_count)
{
    pql_definition d;
    pql_definition_default(&d);
    pql_input in = edge();
    pql_result r;
    /* one user a day, three distinct in the week: the weekly count decides */
    in.active_daily_max = 1;
    in.has_active_7d = true;
    in.active_7d = 3;
    pql_evaluate(&d, &in, &r);
    ck_assert_int_eq(r.active_users, 3);
    ck_assert(r.must[PQL_MUST_ACTIVE_USERS]);
    /* a weekly count under the daily peak does not lower it */
    in.active_daily_max = 6;
    in.active_7d = 4;
    pql_evaluate(&d, &in, &r);
    ck_assert_int_eq(r.active_users, 6);
    ck_assert(r.signals & (1u << PQL_SIG_ACTIVE_USERS));
    /* only the weekly count recorded */
    in.has_active = false;
    in.active_7d = 5;
    pql_evaluate(&d, &in, &r);
    ck_assert_int_eq(r.active_users, 5);
    ck_assert(r.must[PQL_MUST_ACTIVE_USERS]);
    ck_assert(r.signals & (1u << PQL_SIG_ACTIVE_USERS));
}
END_TEST

START_TEST(nice_to_haves)
{
    pql_definition d;
    pql_definition_default(&d);
    pql_input in = edge();
    pql_result r;
    /* 80 of 100 seats is not above 80%; 81 is */
    pql_evaluate(&d, &in, &r);
    ck_assert(!r.nice[PQL_NICE_USAGE_WARNING]);
    in.warn_used = 81;
    pql_evaluate(&d, &in, &r);
    ck_assert(r.nice[PQL_NICE_USAGE_WARNING]);
    ck_assert_int_eq(r.nice_met, 1);
    /* 4 of 5 seats is exactly 80% too */
    in.warn_used = 4;
    in.warn_limit = 5;
    pql_evaluate(&d, &in, &r);
    ck_assert(!r.nice[PQL_NICE_USAGE_WARNING]);
    in.warn_limit = 0; /* no limit: no warning */
    in.warn_used = 9;
    pql_evaluate(&d, &in, &r);
    ck_assert(!r.nice[PQL_NICE_USAGE_WARNING]);

    in = edge();
    in.has_integrations = true;
    in.integrations = 0; /* reported, none connected */
    pql_evaluate(&d, &in, &r);
    ck_assert(!r.nice[PQL_NICE_INTEGRATION]);
    in.integrations = 1;
    in.shared = true;
    pql_evaluate(&d, &in, &r);
    ck_assert(r.nice[PQL_NICE_INTEGRATION] && r.nice[PQL_NICE_SHARED]);
    ck_assert_int_eq(r.nice_met, 2);
    ck_assert(r.qualified);

    /* a definition asking for 3 nice-to-haves: 2 are not enough */
    d.min_nice_to_have = 3;
    pql_evaluate(&d, &in, &r);
    ck_assert(!r.qualified);
    in.has_warn_peak = true;
    in.warn_used = 90;
    pql_evaluate(&d, &in, &r);
    ck_assert_int_eq(r.nice_met, 3);
    ck_assert(r.qualified);
}
END_TEST

START_TEST(self_serve_signals)
{
    pql_definition d;
    pql_definition_default(&d);
    pql_input in = {0};
    pql_result r;
    pql_evaluate(&d, &in, &r);
    ck_assert_uint_eq(r.signals, 0);
    ck_assert(!r.qualified);
    in.has_active = true;
    in.active_daily_max = 4;
    in.has_limit_peak = true;
    in.limit_used = 99;
    in.limit_limit = 100;
    in.users_invited = 9;
    pql_evaluate(&d, &in, &r);
    ck_assert_uint_eq(r.signals, 0); /* 4 users, 99 of 100 seats, 9 invited: each one short */
    in.active_daily_max = 5;
    in.limit_used = 100;
    in.users_invited = 10;
    pql_evaluate(&d, &in, &r);
    ck_assert_uint_eq(r.signals,
                      (1u << PQL_SIG_ACTIVE_USERS) | (1u << PQL_SIG_USAGE_LIMIT) | (1u << PQL_SIG_ADMIN_INVITED));
    /* the enterprise domain fires regardless of usage */
    pql_input e = {.enterprise_domain = true};
    pql_evaluate(&d, &e, &r);
    ck_assert_uint_eq(r.signals, 1u << PQL_SIG_ENTERPRISE_DOMAIN);
    ck_assert(!r.qualified);
}
END_TEST

START_TEST(domain_match)
{
    ck_assert(pql_domain_matches("acme.com", "acme.com"));
    ck_assert(pql_domain_matches("eu.acme.com", "acme.com"));
    ck_assert(!pql_domain_matches("notacme.com", "acme.com"));
    ck_assert(!pql_domain_matches("acme.com", "eu.acme.com"));
    ck_assert(!pql_domain_matches("acme.co", "acme.com"));
    ck_assert(!pql_domain_matches("", "acme.com"));
    ck_assert(!pql_domain_matches(NULL, "acme.com"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pql");
    TCase *t = tcase_create("pql");
    tcase_add_test(t, seed_defaults);
    tcase_add_test(t, must_haves_on_their_edges);
    tcase_add_test(t, weekly_active_users_count);
    tcase_add_test(t, nice_to_haves);
    tcase_add_test(t, self_serve_signals);
    tcase_add_test(t, domain_match);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

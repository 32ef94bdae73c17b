/* test_routing.c - the seed's lead-routing.yaml conditions (001 phase 8),
 * every operator, NULL fields, and round robin fairness and skipping. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "routing.h"

typedef struct {
    const char *k[8], *v[8];
} lead;

static const char *look(void *ctx, const char *field)
{
    lead *l = ctx;
    for (int i = 0; i < 8 && l->k[i]; i++)
        if (strcmp(l->k[i], field) == 0)
            return l->v[i];
    return NULL;
}

static bool matches(const char *cond, lead *l)
{
    routing_cond c;
    char err[128];
    ck_assert_msg(routing_parse(cond, &c, err, sizeof err), "%s: %s", cond, err);
    return routing_match(&c, look, l);
}

START_TEST(seed_conditions)
{
    lead ent = {{"company_size", "icp_tier", "lead_score"}, {"800", "b", "40"}};
    ck_assert(matches("company_size >= 500 AND icp_tier IN ['A', 'B']", &ent));
    ent.v[1] = "C";
    ck_assert(!matches("company_size >= 500 AND icp_tier IN ['A', 'B']", &ent));
    lead mm = {{"company_size", "lead_score"}, {"50", "10"}};
    ck_assert(matches("company_size BETWEEN 50 AND 499", &mm));
    mm.v[0] = "499";
    ck_assert(matches("company_size BETWEEN 50 AND 499", &mm));
    mm.v[0] = "500";
    ck_assert(!matches("company_size BETWEEN 50 AND 499", &mm));
    lead smb = {{"company_size", "lead_score"}, {"12", "50"}};
    ck_assert(matches("company_size < 50 AND lead_score >= 50", &smb));
    smb.v[1] = "49";
    ck_assert(!matches("company_size < 50 AND lead_score >= 50", &smb));
    ck_assert(matches("lead_score < 50", &smb));
    /* an unknown company size is neither big nor small */
    lead unk = {{"lead_score"}, {"80"}};
    ck_assert(!matches("company_size < 50 AND lead_score >= 50", &unk));
    ck_assert(!matches("company_size >= 500", &unk));
    /* a named list is resolved by the caller */
    routing_cond c;
    char err[128];
    ck_assert(routing_parse("account IN named_account_list", &c, err, sizeof err));
    ck_assert_str_eq(c.t[0].list_name, "named_account_list");
    strcpy(c.t[0].values[0], "acme");
    c.t[0].nvalues = 1;
    lead named = {{"account"}, {"ACME"}};
    ck_assert(routing_match(&c, look, &named));
    named.v[0] = "globex";
    ck_assert(!routing_match(&c, look, &named));
}
END_TEST

START_TEST(operators_and_errors)
{
    lead l = {{"industry", "geography", "company_size"}, {"Software", "EMEA", "100"}};
    ck_assert(matches("industry = 'software'", &l));
    ck_assert(matches("industry != 'Retail' AND geography NOT IN ['NA', 'APAC']", &l));
    ck_assert(matches("company_size > 99 AND company_size <= 100", &l));
    ck_assert(!matches("company_size < 100", &l));
    ck_assert(matches("company_size IN (50, 100)", &l));
    routing_cond c;
    char err[128];
    ck_assert(!routing_parse("company_size >>= 5", &c, err, sizeof err));
    ck_assert(!routing_parse("company_size BETWEEN 5", &c, err, sizeof err));
    ck_assert(!routing_parse("icp_tier IN ['A'", &c, err, sizeof err));
    ck_assert(!routing_parse("a = 1 OR b = 2", &c, err, sizeof err));
    ck_assert(strstr(err, "expected AND or the end") != NULL);
    ck_assert(!routing_parse("", &c, err, sizeof err));
}
END_TEST

START_TEST(round_robin_fair_and_skips)
{
    bool avail[3] = {true, true, true};
    int count[3] = {0};
    for (long long k = 0; k < 300; k++)
        count[routing_round_robin(k, avail, 3)]++;
    ck_assert(count[0] == 100 && count[1] == 100 && count[2] == 100);
    avail[1] = false; /* skipped while away: the other two alternate */
    ck_assert_int_eq(routing_round_robin(0, avail, 3), 0);
    ck_assert_int_eq(routing_round_robin(1, avail, 3), 2);
    ck_assert_int_eq(routing_round_robin(2, avail, 3), 0);
    bool none[2] = {false, false};
    ck_assert_int_eq(routing_round_robin(5, none, 2), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("routing");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, seed_conditions);
    tcase_add_test(tc, operators_and_errors);
    tcase_add_test(tc, round_robin_fair_and_skips);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

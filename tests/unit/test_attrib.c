/* test_attrib.c - every attribution model exact to the cent on a crafted
 * four-touch path (first touch, lead creation, opportunity creation, closed
 * won), the milestone rules, and the seed's decision rule. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "attrib.h"

#define DAY 86400LL
#define T0 (20000 * DAY)

/* Four touches: day 0 (first), day 10 (the lead is created that day, after
 * it), day 30 (the opportunity is created that day), day 44 (won that day). */
static const int64_t four[] = {T0, T0 + 10 * DAY, T0 + 30 * DAY, T0 + 44 * DAY};
static const attrib_path path4 = {
    four, 4, T0 + 10 * DAY + 3600, T0 + 30 * DAY + 3600, T0 + 44 * DAY + 3600, T0 + 44 * DAY + 3600};

static void expect(attrib_model m, const attrib_path *p, int64_t amount, const int64_t *want)
{
    int64_t got[16];
    ck_assert_int_eq(attrib_allocate(m, p, amount, got), 0);
    int64_t sum = 0;
    for (size_t i = 0; i < p->n; i++) {
        ck_assert_msg(got[i] == want[i], "%s touch %zu: %lld, want %lld", attrib_model_name(m), i, (long long)got[i],
                      (long long)want[i]);
        sum += got[i];
    }
    ck_assert_int_eq(sum, amount);
}

START_TEST(four_touch_path_every_model_to_the_cent)
{
    int ms[3];
    attrib_milestones(&path4, ms);
    ck_assert_int_eq(ms[0], 1);
    ck_assert_int_eq(ms[1], 2);
    ck_assert_int_eq(ms[2], 3);
    /* $10,000.01 = 1,000,001 cents */
    const int64_t a = 1000001;
    expect(ATTRIB_FIRST_TOUCH, &path4, a, (int64_t[]){1000001, 0, 0, 0});
    expect(ATTRIB_LAST_TOUCH, &path4, a, (int64_t[]){0, 0, 0, 1000001});
    /* 250,000.25 each: the odd cent to the earliest touch */
    expect(ATTRIB_LINEAR, &path4, a, (int64_t[]){250001, 250000, 250000, 250000});
    /* U: 40% first, 40% lead creation, 20% shared by touches 3 and 4 (10% each):
     * 400,000.4 400,000.4 100,000.1 100,000.1 -> one cent left, to the first of the .4s */
    expect(ATTRIB_U_SHAPED, &path4, a, (int64_t[]){400001, 400000, 100000, 100000});
    /* W: 30/30/30 and 10% for the closed-won touch (the only one left):
     * 300,000.3 x3 + 100,000.1 -> one cent to the first */
    expect(ATTRIB_W_SHAPED, &path4, a, (int64_t[]){300001, 300000, 300000, 100000});
    /* full path: four milestones, no touch left for the 10%: 22.5% each scaled to 25% */
    expect(ATTRIB_FULL_PATH, &path4, a, (int64_t[]){250001, 250000, 250000, 250000});
    /* time decay, half-life 7 days back from the win (an hour after touch 4): ages 44.04,
     * 34.04, 14.04 and 0.04 days, weights 2^(-age/7): 0.012765, 0.034361, 0.248971, 0.995883
     * -> 9,880 26,596 192,705 770,820 cents (the shares of 1,000,001 by largest remainder); the leftover cents to the
     * largest remainders */
    expect(ATTRIB_TIME_DECAY, &path4, a, (int64_t[]){9880, 26596, 192705, 770820});
}
END_TEST

START_TEST(full_path_with_middle_touches)
{
    /* six touches: first, a middle one, lead creation, opportunity creation, another middle
     * one, closed won. 22.5% x 4 milestones, 10% shared by the two middle touches. */
    const int64_t six[] = {T0, T0 + DAY, T0 + 2 * DAY, T0 + 3 * DAY, T0 + 4 * DAY, T0 + 5 * DAY};
    attrib_path p = {six, 6, T0 + 2 * DAY, T0 + 3 * DAY, T0 + 5 * DAY, T0 + 5 * DAY};
    expect(ATTRIB_FULL_PATH, &p, 1000000, (int64_t[]){225000, 50000, 225000, 225000, 50000, 225000});
    expect(ATTRIB_W_SHAPED, &p, 1000000, (int64_t[]){300000, 33334, 300000, 300000, 33333, 33333});
    expect(ATTRIB_U_SHAPED, &p, 1000000, (int64_t[]){400000, 50000, 400000, 50000, 50000, 50000});
}
END_TEST

START_TEST(coinciding_and_missing_milestones)
{
    /* one touch: everything to it, every model */
    attrib_path one = {four, 1, T0 + DAY, T0 + 2 * DAY, 0, T0 + 2 * DAY};
    for (int m = 0; m < ATTRIB__COUNT; m++)
        expect((attrib_model)m, &one, 12345, (int64_t[]){12345});
    /* two touches, the lead created after the first only: U gives 40+40 to touch 1 (first and
     * lead creation coincide) and 20 to touch 2 */
    attrib_path two = {four, 2, T0 + 3600, T0 + 20 * DAY, 0, T0 + 20 * DAY};
    expect(ATTRIB_U_SHAPED, &two, 10000, (int64_t[]){8000, 2000});
    /* no lead creation known: U is the first touch's 40 against the rest's 20 -> 2/3, 1/3 */
    attrib_path nolead = {four, 3, 0, T0 + 40 * DAY, 0, T0 + 40 * DAY};
    expect(ATTRIB_U_SHAPED, &nolead, 100, (int64_t[]){67, 17, 16});
    /* no touch: nothing allocated */
    attrib_path none = {four, 0, 0, 0, 0, 0};
    int64_t c[1];
    ck_assert_int_eq(attrib_allocate(ATTRIB_LINEAR, &none, 100, c), -1);
    /* zero amount: zeros */
    expect(ATTRIB_W_SHAPED, &path4, 0, (int64_t[]){0, 0, 0, 0});
}
END_TEST

START_TEST(seed_decision_rule)
{
    attrib_advice a = attrib_recommend(10, false);
    ck_assert_str_eq(a.recommended, "u_shaped");
    ck_assert_int_eq(a.use, ATTRIB_U_SHAPED);
    a = attrib_recommend(499, true);
    ck_assert_str_eq(a.recommended, "w_shaped");
    a = attrib_recommend(500, false);
    ck_assert_str_eq(a.recommended, "data_driven");
    ck_assert_int_eq(a.use, ATTRIB_W_SHAPED);
    ck_assert_int_eq(attrib_model_parse("w_shaped"), ATTRIB_W_SHAPED);
    ck_assert_int_eq(attrib_model_parse("w_shape"), -1);
    ck_assert_str_eq(attrib_model_name(ATTRIB_TIME_DECAY), "time_decay");
}
END_TEST

/* CAC by channel: customers shared as parts; spend over them to the cent. */
START_TEST(cac_over_attributed_customers)
{
    int64_t cac = 0;
    /* two customers: one whole (a single touch), one split 2/3 - 1/3 (U-shaped
     * without a lead-creation touch: 40% and 20% scaled to 100%) */
    int64_t t[2] = {0, 86400}, cents[2];
    attrib_path p = {t, 2, 0, 0, 0, 2 * 86400};
    ck_assert_int_eq(attrib_allocate(ATTRIB_U_SHAPED, &p, ATTRIB_CUSTOMER_PARTS, cents), 0);
    ck_assert_int_eq(cents[0] + cents[1], ATTRIB_CUSTOMER_PARTS);
    ck_assert_int_eq(cents[0], 666666666667LL);
    int64_t paid = ATTRIB_CUSTOMER_PARTS + cents[0], events = cents[1];
    ck_assert(attrib_cac(300000, paid, &cac)); /* 3,000.00 / (5/3) */
    ck_assert_int_eq(cac, 180000);
    ck_assert(attrib_cac(100000, events, &cac)); /* 1,000.00 / (1/3) */
    ck_assert_int_eq(cac, 300000);
    ck_assert(attrib_cac(100, 3 * ATTRIB_CUSTOMER_PARTS, &cac)); /* 1.00 / 3 = 0.333: 33 cents */
    ck_assert_int_eq(cac, 33);
    ck_assert(attrib_cac(200, 3 * ATTRIB_CUSTOMER_PARTS, &cac)); /* 0.666: 67 cents */
    ck_assert_int_eq(cac, 67);
    ck_assert(!attrib_cac(100000, 0, &cac)); /* no customer: no CAC */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("attrib");
    TCase *tcac = tcase_create("cac");
    tcase_add_test(tcac, cac_over_attributed_customers);
    suite_add_tcase(s, tcac);
    TCase *tc = tcase_create("models");
    tcase_add_test(tc, four_touch_path_every_model_to_the_cent);
    tcase_add_test(tc, full_path_with_middle_touches);
    tcase_add_test(tc, coinciding_and_missing_milestones);
    tcase_add_test(tc, seed_decision_rule);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

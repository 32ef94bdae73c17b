/* test_fchist.c - what the forecast methods learn from a history read once,
 * as it was known on a day: a crafted workspace with exact episodes, counts
 * and amounts at three different days (nothing after a day leaks into it). */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "caldate.h"
#include "fchist.h"
#include "funnel.h"

static funnel_def F;
static int OPP, PROP, WON, LOST;
static caldate_t D0; /* 2025-01-01 */

#define DAY 86400.0

static double at(int day, double hours) { return (D0 + day) * DAY + hours * 3600; }

/* Four deals (days after D0):
 * a: created 0, opportunity 0, proposal 10, won 40 ($1,000; $800 recorded on day 20)
 * b: created 5, opportunity 5, lost 25 ($2,000)
 * c: created 30, opportunity 30, proposal 50, still open
 * d: created 35, opportunity 35, deleted on day 45 */
static fchist_entry E[] = {
    {0, 0}, {0, 0}, {0, 0}, /* a: set in setup */
    {0, 0}, {0, 0},         /* b */
    {0, 0}, {0, 0},         /* c */
    {0, 0},                 /* d */
};
static fchist_deal DL[4];
static fchist H;

static void setup(void)
{
    funnel_default(&F);
    OPP = funnel_stage_index(&F, "opportunity");
    PROP = funnel_stage_index(&F, "proposal");
    WON = funnel_stage_index(&F, "closed_won");
    LOST = funnel_stage_index(&F, "closed_lost");
    D0 = caldate_from_ymd(2025, 1, 1);
    fchist_entry e[] = {{OPP, at(0, 9)},   {PROP, at(10, 9)}, {WON, at(40, 15)},  {OPP, at(5, 12)},
                        {LOST, at(25, 8)}, {OPP, at(30, 10)}, {PROP, at(50, 10)}, {OPP, at(35, 11)}};
    for (int i = 0; i < 8; i++)
        E[i] = e[i];
    DL[0] = (fchist_deal){.created = at(0, 9),
                          .closed = at(40, 15),
                          .deleted = INFINITY,
                          .status = FCH_WON,
                          .has_amount = true,
                          .amount = 100000,
                          .has_before = true,
                          .before = 80000,
                          .first = 0,
                          .n = 3};
    DL[1] = (fchist_deal){.created = at(5, 12),
                          .closed = at(25, 8),
                          .deleted = INFINITY,
                          .status = FCH_LOST,
                          .has_amount = true,
                          .amount = 200000,
                          .first = 3,
                          .n = 2};
    DL[2] = (fchist_deal){
        .created = at(30, 10), .closed = INFINITY, .deleted = INFINITY, .status = FCH_OPEN, .first = 5, .n = 2};
    DL[3] = (fchist_deal){
        .created = at(35, 11), .closed = INFINITY, .deleted = at(45, 0), .status = FCH_OPEN, .first = 7, .n = 1};
    H = (fchist){.deals = DL, .ndeals = 4, .entries = E, .nentries = 8};
}

START_TEST(learned_input_at_three_days)
{
    fclearn_episode ep[8];
    fclearn_input in;
    /* day 20: a in proposal since 10 (censored), its opportunity episode moved
     * on day 10; b in opportunity (censored; its loss is on day 25) */
    fchist_learn_input(&H, &F, 1, D0 + 20, ep, &in);
    ck_assert_int_eq((int)in.nepisodes, 3);
    ck_assert_int_eq(ep[0].stage, OPP);
    ck_assert_int_eq(ep[0].outcome, FCL_MOVED);
    ck_assert_int_eq(ep[0].to_stage, PROP);
    ck_assert_int_eq(ep[0].end - D0, 10);
    ck_assert_int_eq(ep[1].outcome, FCL_CENSORED);
    ck_assert_int_eq(ep[1].end - D0, 20);
    ck_assert_int_eq(ep[2].stage, OPP);
    ck_assert_int_eq(ep[2].start - D0, 5);
    ck_assert_int_eq(ep[2].outcome, FCL_CENSORED);
    ck_assert_int_eq(in.closed_deals, 0);
    ck_assert_int_eq(in.created_recent, 2);
    ck_assert_int_eq(in.entry_stage[OPP], 2);
    ck_assert_int_eq(in.nmonths, 0); /* 20 days of history: no whole 30-day span */

    /* day 41: a won on 40, b lost on 25, c open in opportunity, d open (deleted
     * later); a closed stage's own entry is an episode too (fclearn fits open
     * stages only) */
    fchist_learn_input(&H, &F, 1, D0 + 41, ep, &in);
    ck_assert_int_eq((int)in.nepisodes, 7);
    ck_assert_int_eq(ep[1].stage, PROP);
    ck_assert_int_eq(ep[1].outcome, FCL_WON);
    ck_assert_int_eq(ep[1].end - D0, 40);
    ck_assert_int_eq(ep[2].stage, WON);
    ck_assert_int_eq(ep[3].outcome, FCL_LOST);
    ck_assert_int_eq(ep[3].end - D0, 25);
    ck_assert_int_eq(ep[5].outcome, FCL_CENSORED);
    ck_assert_int_eq(ep[6].start - D0, 35);
    ck_assert_int_eq(in.closed_deals, 2);
    ck_assert_int_eq(in.won_deals, 1);
    ck_assert_int_eq(in.created_recent, 4);
    ck_assert_int_eq(in.nmonths, 1);          /* 40.6 days since the first creation */
    ck_assert_int_eq(in.created_month[0], 2); /* c and d in the last 30 days */
    ck_assert_int_eq(in.created_month[1], 2);
    ck_assert(in.won_amount_mean == 100000);
    ck_assert_int_eq(in.nratio, 1);
    ck_assert(in.ratio_final == 100000 && in.ratio_expected == 80000);

    /* day 60: d was deleted on 45, so it no longer existed */
    fchist_learn_input(&H, &F, 1, D0 + 60, ep, &in);
    ck_assert_int_eq((int)in.nepisodes, 7); /* a 3, b 2, c 2 (opportunity moved on 50, proposal censored) */
    ck_assert_int_eq(ep[5].outcome, FCL_MOVED);
    ck_assert_int_eq(ep[6].stage, PROP);
    ck_assert_int_eq(ep[6].end - D0, 60);
    ck_assert_int_eq(in.created_recent, 3);
}
END_TEST

START_TEST(historical_input_and_won_between)
{
    fchist_history b;
    ck_assert_int_eq(fchist_history_at(&H, &F, D0 + 41, &b), 0);
    ck_assert_int_eq(b.st[OPP].reached, 2);
    ck_assert_int_eq(b.st[OPP].won, 1);
    ck_assert_int_eq(b.st[PROP].reached, 1);
    ck_assert_int_eq(b.st[LOST].reached, 1);
    /* a: opportunity at day 0 09:00 -> won day 40 15:00 is 40 whole days; proposal 30 */
    ck_assert_int_eq((int)b.st[OPP].nwon_days, 1);
    ck_assert_int_eq(b.st[OPP].won_days[0], 40);
    ck_assert_int_eq(b.st[PROP].won_days[0], 30);
    ck_assert_int_eq(b.st[WON].won_days[0], 0);
    ck_assert_int_eq((int)b.h.ncreate_to_close, 1);
    ck_assert_int_eq(b.h.create_to_close_days[0], 40);
    /* run-rate: a, b, c created in the year and open or closed before 41; d is deleted */
    ck_assert(fabs(b.h.created_per_day - 3.0 / 365) < 1e-15);
    ck_assert(b.h.new_win_rate == 0.5);
    ck_assert_int_eq(b.h.avg_won_amount, 100000);
    fchist_history_free(&b);
    /* before the close nothing was won; the lost deal never counts */
    ck_assert_int_eq(fchist_history_at(&H, &F, D0 + 40, &b), 0);
    ck_assert_int_eq(b.st[OPP].reached, 1);
    ck_assert_int_eq(b.st[OPP].won, 0);
    ck_assert(b.h.new_win_rate == 0);
    fchist_history_free(&b);
    ck_assert_int_eq(fchist_won_between(&H, D0 + 40, D0 + 41), 100000);
    ck_assert_int_eq(fchist_won_between(&H, D0, D0 + 40), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fchist");
    TCase *tc = tcase_create("as_of");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, learned_input_at_three_days);
    tcase_add_test(tc, historical_input_and_won_between);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}

/* test_fcasof.c - the open pipeline as it stood at a day, rebuilt from field
 * changes and stage entries: a crafted history with exact values at days
 * before, between and after its changes (nothing after a day leaks into it),
 * and the exact conversion of amounts at the rate in force. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "caldate.h"
#include "fcasof.h"

#define DAY 86400.0

static caldate_t D0; /* 2025-01-01 */

static double at(int day, double hours) { return (D0 + day) * DAY + hours * 3600; }

static fcasof_val cents(money_t c) { return (fcasof_val){.known = true, .cents = c}; }
static fcasof_val str(const char *s) { return (fcasof_val){.known = true, .s = s}; }
static fcasof_val day(int d) { return (fcasof_val){.known = true, .day = D0 + d}; }

/* Deal a (created day 0, in EUR): amount 1,000.00 at creation (the created
 * record), raised to 1,500.00 on day 10 at 12:00, a stale change of the
 * amount on day 20 (not applied: arrived after a later one), close date
 * 2025-03-01 set on day 0 and pushed to 2025-05-01 on day 15 (past the
 * quarter: a push), stage entries opportunity day 0 and proposal day 12.
 * Deal b (created day 5, closed day 30): amount recorded only by an applied
 * change on day 8 whose old value is 200.00 (the value before it).
 * Deal c (created day 40): no changes at all, today's values.
 * Deal d (created day 2, won on day 4 at 12:00, deleted day 6). */
static fcasof_change C[] = {
    /* a */
    {.field = FCASOF_AMOUNT, .applied = true, .created = true, .new_v = {.known = true, .cents = 100000}},
    {.field = FCASOF_CLOSE, .applied = true, .created = true},
    {.field = FCASOF_AMOUNT, .applied = true, .old_v = {.known = true, .cents = 100000}},
    {.field = FCASOF_CLOSE, .applied = true, .push = true},
    {.field = FCASOF_AMOUNT, .applied = false},
    /* b */
    {.field = FCASOF_AMOUNT, .applied = true},
};
static fcasof_entry E[] = {{0, "opportunity"}, {0, "proposal"}};
static fcasof_deal Dl[4];
static fcasof_rate R[] = {{"EUR", 0, 110000000}, {"EUR", 0, 112345678}};
static fcasof H;

static void setup(void)
{
    ck_assert(caldate_parse("2025-01-01", &D0));
    C[0].at = at(0, 9);
    C[1].at = at(0, 9);
    C[1].new_v = day(59); /* 2025-03-01 */
    C[2].at = at(10, 12);
    C[2].new_v = cents(150000);
    C[3].at = at(15, 0);
    C[3].old_v = day(59);
    C[3].new_v = day(120); /* 2025-05-01 */
    C[4].at = at(20, 0);
    C[4].old_v = cents(150000);
    C[4].new_v = cents(90000);
    C[5].at = at(8, 0);
    C[5].old_v = cents(20000);
    C[5].new_v = cents(25000);
    E[0].entered = at(0, 9);
    E[1].entered = at(12, 0);
    Dl[0] = (fcasof_deal){.id = "a",
                          .owner = "ann",
                          .currency = "EUR",
                          .created = at(0, 9),
                          .closed = INFINITY,
                          .deleted = INFINITY,
                          .last_activity = at(18, 3),
                          .first_change = 0,
                          .nchanges = 5,
                          .first_entry = 0,
                          .nentries = 2};
    Dl[0].cur[FCASOF_AMOUNT] = cents(90000);
    Dl[0].cur[FCASOF_STAGE] = str("negotiation");
    Dl[0].cur[FCASOF_CLOSE] = day(120);
    Dl[0].cur[FCASOF_CATEGORY] = str("commit");
    Dl[1] = (fcasof_deal){.id = "b",
                          .won = true,
                          .created = at(5, 0),
                          .closed = at(30, 0),
                          .deleted = INFINITY,
                          .last_activity = INFINITY,
                          .first_change = 5,
                          .nchanges = 1};
    Dl[1].cur[FCASOF_AMOUNT] = cents(25000);
    Dl[1].cur[FCASOF_STAGE] = str("closed_won");
    Dl[2] = (fcasof_deal){
        .id = "c", .created = at(40, 0), .closed = INFINITY, .deleted = INFINITY, .last_activity = INFINITY};
    Dl[2].cur[FCASOF_AMOUNT] = cents(7000);
    Dl[2].cur[FCASOF_STAGE] = str("qualified");
    Dl[3] = (fcasof_deal){.id = "d",
                          .won = true,
                          .created = at(2, 0),
                          .closed = at(4, 12),
                          .deleted = at(6, 0),
                          .last_activity = INFINITY};
    R[0].day = D0 - 10;
    R[1].day = D0 + 11;
    H = (fcasof){
        .deals = Dl, .ndeals = 4, .changes = C, .nchanges = 6, .entries = E, .nentries = 2, .rates = R, .nrates = 2};
}

static const fcasof_row *row_of(const fcasof_row *rows, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].deal->id[0] == id[0])
            return &rows[i];
    return NULL;
}

START_TEST(the_pipeline_at_four_days)
{
    fcasof_row rows[4];
    /* day 0 (00:00): nothing created yet */
    ck_assert_uint_eq(fcasof_at(&H, (D0)*DAY, rows), 0);

    /* day 3: a (created record's values, opportunity since day 0), d open */
    size_t n = fcasof_at(&H, (D0 + 3) * DAY, rows);
    ck_assert_uint_eq(n, 2);
    const fcasof_row *a = row_of(rows, n, "a");
    ck_assert_ptr_nonnull(a);
    ck_assert(a->has_amount);
    ck_assert_int_eq(a->amount, 110000); /* 1,000.00 EUR x 1.1 */
    ck_assert_str_eq(a->stage, "opportunity");
    ck_assert_int_eq(a->stage_entered, D0);
    ck_assert_int_eq(a->close, D0 + 59);
    ck_assert_str_eq(a->category, "commit"); /* no category change: today's */
    ck_assert_int_eq(a->pushes, 0);
    ck_assert_int_eq(a->last_activity, FORECAST_NO_DATE); /* day 18 was after */
    ck_assert(isnan(a->probability));
    ck_assert_ptr_nonnull(row_of(rows, n, "d"));

    /* day 7: d deleted; b open, its amount the old value of the later change */
    n = fcasof_at(&H, (D0 + 7) * DAY, rows);
    ck_assert_uint_eq(n, 2);
    const fcasof_row *b = row_of(rows, n, "b");
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(b->amount, 20000);
    ck_assert_str_eq(b->stage, "closed_won"); /* no stage history: today's value */
    ck_assert_int_eq(b->stage_entered, FORECAST_NO_DATE);
    ck_assert_ptr_null(row_of(rows, n, "d"));

    /* day 16: a's amount raised (rate of day 11 on: 1.12345678), proposal
     * since day 12, pushed once; b's amount after its change */
    n = fcasof_at(&H, (D0 + 16) * DAY, rows);
    a = row_of(rows, n, "a");
    ck_assert_int_eq(a->amount, 168519); /* 1,500.00 x 1.12345678 = 1,685.18517 */
    ck_assert_str_eq(a->stage, "proposal");
    ck_assert_int_eq(a->stage_entered, D0 + 12);
    ck_assert_int_eq(a->close, D0 + 120);
    ck_assert_int_eq(a->pushes, 1);
    ck_assert_int_eq(row_of(rows, n, "b")->amount, 25000);

    /* day 45: b closed, c created with today's values, a's stale change of
     * day 20 is the latest before: 900.00 */
    n = fcasof_at(&H, (D0 + 45) * DAY, rows);
    ck_assert_uint_eq(n, 2);
    a = row_of(rows, n, "a");
    ck_assert_int_eq(a->amount, 101111); /* 900.00 x 1.12345678 = 1,011.111102 */
    ck_assert_int_eq(a->last_activity, D0 + 18);
    const fcasof_row *c = row_of(rows, n, "c");
    ck_assert_int_eq(c->amount, 7000);
    ck_assert_str_eq(c->stage, "qualified");
    ck_assert_int_eq(c->close, FORECAST_NO_DATE);
}
END_TEST

START_TEST(won_to_date_counts_closes_before_as_of_of_deals_not_deleted_then)
{
    const fcasof_deal *won[4];
    /* the month of January as of day 5: d (won day 4, deleted later) */
    ck_assert_uint_eq(fcasof_won(&H, D0 * DAY, (D0 + 31) * DAY, (D0 + 5) * DAY, won), 1);
    ck_assert_str_eq(won[0]->id, "d");
    /* as of day 7 d was deleted; b's close on day 30 is not before as_of day 30 */
    ck_assert_uint_eq(fcasof_won(&H, D0 * DAY, (D0 + 31) * DAY, (D0 + 30) * DAY, won), 0);
    /* as of day 45: b, its close inside the month */
    ck_assert_uint_eq(fcasof_won(&H, D0 * DAY, (D0 + 31) * DAY, (D0 + 45) * DAY, won), 1);
    ck_assert_str_eq(won[0]->id, "b");
    ck_assert_int_eq(fcasof_won_amount(&H, won[0]), 25000);
    /* a month ending before b's close */
    ck_assert_uint_eq(fcasof_won(&H, D0 * DAY, (D0 + 30) * DAY, (D0 + 45) * DAY, won), 0);
    /* a won deal in EUR is converted at its close's rate: 900.00 x 1.12345678 */
    fcasof_deal a = Dl[0];
    a.won = true;
    a.closed = at(12, 6);
    ck_assert_int_eq(fcasof_won_amount(&H, &a), 101111);
    a.closed = at(3, 0); /* before the rate of day 11: 900.00 x 1.1 */
    ck_assert_int_eq(fcasof_won_amount(&H, &a), 99000);
}
END_TEST

START_TEST(conversion_is_exact_and_rounds_half_away_from_zero)
{
    /* before the first rate: the first rate */
    ck_assert_int_eq(fcasof_convert(&H, "EUR", 100, D0 - 100), 110);
    ck_assert_int_eq(fcasof_convert(&H, "EUR", 5, D0), 6);     /* 5.5 up */
    ck_assert_int_eq(fcasof_convert(&H, "EUR", -5, D0), -6);   /* -5.5 away from zero */
    ck_assert_int_eq(fcasof_convert(&H, "GBP", 123, D0), 123); /* no rate: at par */
    ck_assert_int_eq(fcasof_convert(&H, NULL, 123, D0), 123);  /* the workspace currency */
    /* 10^15 cents x 1.12345678: exact in 128 bits */
    ck_assert_int_eq(fcasof_convert(&H, "EUR", 1000000000000000LL, D0 + 11), 1123456780000000LL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fcasof");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, the_pipeline_at_four_days);
    tcase_add_test(tc, won_to_date_counts_closes_before_as_of_of_deals_not_deleted_then);
    tcase_add_test(tc, conversion_is_exact_and_rounds_half_away_from_zero);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

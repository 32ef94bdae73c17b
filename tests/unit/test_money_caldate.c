/* test_money_caldate.c - exact money and day-number dates / fiscal periods. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caldate.h"
#include "money.h"

START_TEST(money_parse_and_format)
{
    money_t m;
    ck_assert(money_parse("19.99", &m));
    ck_assert_int_eq(m, 1999);
    ck_assert(money_parse("-0.5", &m));
    ck_assert_int_eq(m, -50);
    ck_assert(money_parse("1000000", &m));
    ck_assert_int_eq(m, 100000000);
    ck_assert(money_parse("1.500", &m)); /* trailing zeros are fine */
    ck_assert_int_eq(m, 150);
    ck_assert(!money_parse("1.505", &m)); /* sub-cent precision is refused */
    ck_assert(!money_parse("1e3", &m));
    ck_assert(!money_parse("12345.678", &m)); /* whatever the size */
    ck_assert(!money_parse("99999999.999", &m));
    ck_assert(!money_parse("1e-400", &m));
    ck_assert(!money_parse("", &m));
    ck_assert(!money_parse("12.", &m));
    ck_assert(!money_parse("99999999999999999999", &m));
    /* found by tests/fuzz/fuzz_money.c: the cents used to be added after the
     * bound check, so MONEY_MAX_ABS + 1 cent got through */
    ck_assert(money_parse("1000000000000000.00", &m));
    ck_assert(m == MONEY_MAX_ABS);
    ck_assert(!money_parse("1000000000000000.01", &m));
    ck_assert(!money_parse("-1000000000000000.99", &m));
    char buf[32];
    ck_assert_str_eq(money_format(-5, buf, sizeof buf), "-0.05");
    ck_assert_str_eq(money_format(123456789, buf, sizeof buf), "1234567.89");
    ck_assert_str_eq(money_format(INT64_MIN, buf, sizeof buf), "-92233720368547758.08");
}
END_TEST

START_TEST(money_from_json_numbers)
{
    money_t m;
    ck_assert(money_from_double(19.99, &m));
    ck_assert_int_eq(m, 1999);
    ck_assert(money_from_double(0.1 + 0.2, &m)); /* 0.30000000000000004 */
    ck_assert_int_eq(m, 30);
    ck_assert(!money_from_double(1.234, &m));
    ck_assert(!money_from_double(1e300, &m));
    /* a third decimal is refused whatever the size (the tolerance used to be
     * relative: 12345.678 read as 12345.68) */
    ck_assert(!money_from_double(99.999, &m));
    ck_assert(!money_from_double(12345.678, &m));
    ck_assert(!money_from_double(99999999.999, &m));
    ck_assert(!money_from_double(123456789012.345, &m));
    ck_assert(!money_from_double(0.001, &m));
    ck_assert(!money_from_double(-0.005, &m));
    ck_assert(!money_from_double(19.9900001, &m));
    ck_assert(!money_from_double(1e-300, &m));
    ck_assert(money_from_double(99999999.99, &m));
    ck_assert_int_eq(m, 9999999999);
    ck_assert(money_from_double(-12345.67, &m));
    ck_assert_int_eq(m, -1234567);
    ck_assert(money_from_double(0.0, &m));
    ck_assert_int_eq(m, 0);
    ck_assert(money_from_double(1.1, &m));
    ck_assert_int_eq(m, 110);
    ck_assert(money_from_double(4503599627370.49, &m)); /* large, still every cent */
    ck_assert_int_eq(m, 450359962737049);
    /* the range a JSON number holds to the cent: 10^13 major units */
    ck_assert(money_from_double(10000000000000.0, &m));
    ck_assert_int_eq(m, MONEY_JSON_MAX_ABS);
    ck_assert(money_from_double(-9999999999999.99, &m));
    ck_assert_int_eq(m, -999999999999999);
    ck_assert(!money_from_double(10000000000000.01, &m));
    ck_assert(!money_from_double(1e15, &m));
    ck_assert(!money_from_double(INFINITY, &m));
    ck_assert(!money_from_double(NAN, &m));
    /* every two-decimal value in a sweep reads back exactly */
    for (money_t c = -100000; c <= 100000; c += 7) {
        ck_assert(money_from_double((double)c / 100.0, &m));
        ck_assert_int_eq(m, c);
    }
    for (money_t c = 999999999000000LL; c <= 999999999999999LL; c += 999999937LL) {
        ck_assert(money_from_double((double)c / 100.0, &m));
        ck_assert_int_eq(m, c);
    }
    /* and a third decimal next to each is refused */
    for (money_t c = -100000; c <= 100000; c += 7) {
        ck_assert(!money_from_double((double)c / 100.0 + 0.004, &m));
        ck_assert(!money_from_double((double)c / 100.0 - 0.001, &m));
    }
    ck_assert_int_eq(money_mul_rate(12345, 0.5), 6173); /* half away from zero */
    ck_assert_int_eq(money_mul_rate(-12345, 0.5), -6173);
    ck_assert_int_eq(money_mul_rate(1000001, 0.225), 225000);
    ck_assert_int_eq(money_mul_rate(MONEY_MAX_ABS, 600000), MONEY_MAX_ABS); /* saturates */
    ck_assert_int_eq(money_mul_rate(MONEY_MAX_ABS, -1e300), -MONEY_MAX_ABS);
    ck_assert_int_eq(money_mul_rate(MONEY_MAX_ABS, 1.0), MONEY_MAX_ABS);
    ck_assert_int_eq(money_mul_rate(100, NAN), 0);
}
END_TEST

START_TEST(minor_units_by_iso_4217)
{
    ck_assert_int_eq(money_minor_units("JPY"), 0);
    ck_assert_int_eq(money_minor_units("KRW"), 0);
    ck_assert_int_eq(money_minor_units("XPF"), 0); /* the list's last */
    ck_assert_int_eq(money_minor_units("BIF"), 0); /* and first */
    ck_assert_int_eq(money_minor_units("KWD"), 3);
    ck_assert_int_eq(money_minor_units("TND"), 3);
    ck_assert_int_eq(money_minor_units("USD"), 2);
    ck_assert_int_eq(money_minor_units("EUR"), 2);
    ck_assert_int_eq(money_minor_units("JP"), 2); /* not a code */
    ck_assert_int_eq(money_minor_units(NULL), 2);
}
END_TEST

START_TEST(dates_round_trip)
{
    for (caldate_t d = caldate_from_ymd(1999, 12, 25); d < caldate_from_ymd(2031, 1, 10); d += 17) {
        int y, m, dd;
        caldate_to_ymd(d, &y, &m, &dd);
        ck_assert_int_eq(caldate_from_ymd(y, m, dd), d);
    }
    ck_assert_int_eq(caldate_from_ymd(1970, 1, 1), 0);
    caldate_t d;
    ck_assert(caldate_parse("2024-02-29", &d));
    ck_assert(!caldate_parse("2023-02-29", &d));
    ck_assert(!caldate_parse("2024-2-29", &d));
    ck_assert(!caldate_parse("2024-02-29T00:00:00Z", &d));
    char buf[16];
    ck_assert_str_eq(caldate_format(caldate_add_months(caldate_from_ymd(2026, 1, 31), 1), buf, sizeof buf),
                     "2026-02-28");
}
END_TEST

START_TEST(periods_follow_the_fiscal_year)
{
    period p;
    char a[16], b[16];
    ck_assert(period_parse("2026-Q1", 1, &p));
    ck_assert_str_eq(caldate_format(p.start, a, sizeof a), "2026-01-01");
    ck_assert_str_eq(caldate_format(p.end, b, sizeof b), "2026-04-01");
    /* fiscal year starting in February: FY2026 ends in 2026 */
    ck_assert(period_parse("FY2026", 2, &p));
    ck_assert_str_eq(caldate_format(p.start, a, sizeof a), "2025-02-01");
    ck_assert_str_eq(caldate_format(p.end, b, sizeof b), "2026-02-01");
    ck_assert(period_parse("2026-q4", 2, &p));
    ck_assert_str_eq(caldate_format(p.start, a, sizeof a), "2025-11-01");
    ck_assert_str_eq(period_format(&p, a, sizeof a), "2026-Q4");
    ck_assert(period_parse("2026-03", 2, &p)); /* months are calendar months */
    ck_assert_str_eq(caldate_format(p.start, a, sizeof a), "2026-03-01");
    period c = period_containing(PERIOD_QUARTER, caldate_from_ymd(2026, 1, 15), 2);
    ck_assert_str_eq(period_format(&c, a, sizeof a), "2026-Q4");
    c = period_containing(PERIOD_QUARTER, caldate_from_ymd(2026, 2, 1), 2);
    ck_assert_str_eq(period_format(&c, a, sizeof a), "2027-Q1");
    period prev = period_shift(&c, -1, 2);
    ck_assert_str_eq(period_format(&prev, a, sizeof a), "2026-Q4");
    ck_assert(!period_parse("2026-Q5", 1, &p));
    ck_assert(!period_parse("2026-13", 1, &p));
    ck_assert(!period_parse("FY26", 1, &p));
    ck_assert(!period_parse("2026-Q1", 13, &p));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("money_caldate");
    TCase *tc = tcase_create("primitives");
    tcase_add_test(tc, money_parse_and_format);
    tcase_add_test(tc, money_from_json_numbers);
    tcase_add_test(tc, minor_units_by_iso_4217);
    tcase_add_test(tc, dates_round_trip);
    tcase_add_test(tc, periods_follow_the_fiscal_year);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* test_jtext.c - JSON text as jansson's json_dumps(JSON_COMPACT |
 * JSON_REAL_PRECISION(15)) writes it (core/jtext.c): the comp statements and
 * at-risk answers must not change a byte when written this way. The expected
 * strings are jansson 2.14's output for the same values. */
#include <check.h>
#include <stdlib.h>

#include "jtext.h"

static jt_buf b;

#define OUT(expr, want)                                                                                                \
    do {                                                                                                               \
        b.n = 0;                                                                                                       \
        expr;                                                                                                          \
        ck_assert_str_eq(b.s, want);                                                                                   \
    } while (0)

START_TEST(money_and_basis_points)
{
    OUT(jt_fixed(&b, 0, 2), "0.0");
    OUT(jt_fixed(&b, 500, 2), "5.0");
    OUT(jt_fixed(&b, 12345, 2), "123.45");
    OUT(jt_fixed(&b, 12340, 2), "123.4");
    OUT(jt_fixed(&b, 5, 2), "0.05");
    OUT(jt_fixed(&b, -1, 2), "-0.01");
    OUT(jt_fixed(&b, -250000, 2), "-2500.0");
    OUT(jt_fixed(&b, 99999999999999LL, 2), "999999999999.99");
    OUT(jt_fixed(&b, 15000, 4), "1.5");
    OUT(jt_fixed(&b, 6000, 4), "0.6");
    OUT(jt_fixed(&b, 1, 4), "0.0001");
    OUT(jt_fixed(&b, 10000, 4), "1.0");
    OUT(jt_fixed(&b, -333333, 4), "-33.3333");
    OUT(jt_fixed(&b, 943, 1), "94.3");
    /* 10^15 cents and beyond: the real's own %.15g */
    OUT(jt_fixed(&b, 100000000000000000LL, 2), "1e15");
    OUT(jt_fixed(&b, 123456789012345678LL, 2), "1.23456789012346e15");
}
END_TEST

START_TEST(reals)
{
    OUT(jt_real(&b, 30.0), "30.0");
    OUT(jt_real(&b, 0.1), "0.1");
    OUT(jt_real(&b, -0.0), "-0.0");
    OUT(jt_real(&b, 1e20), "1e20");
    OUT(jt_real(&b, 1e-5), "1e-5");
    OUT(jt_real(&b, 1.0 / 3.0), "0.333333333333333");
    OUT(jt_int(&b, -42), "-42");
}
END_TEST

START_TEST(strings_and_arrays)
{
    OUT(jt_str(&b, "plain"), "\"plain\"");
    OUT(jt_str(&b, "q\"uote back\\slash"), "\"q\\\"uote back\\\\slash\"");
    OUT(jt_str(&b, "nl\nt\tcr\r\b\f"), "\"nl\\nt\\tcr\\r\\b\\f\"");
    OUT(jt_str(&b, "\x01\x1f"), "\"\\u0001\\u001F\"");
    OUT(jt_str(&b, "a/b \xc3\xa9"), "\"a/b \xc3\xa9\""); /* no slash or non-ASCII escaping */
    OUT(jt_str_or_null(&b, NULL), "null");
    OUT((jt_sep(&b), jt_raw(&b, "1"), jt_sep(&b), jt_raw(&b, "2")), "1,2");
    jt_buf x = {0};
    jt_raw(&x, "[");
    b.n = 0;
    jt_append(&b, &x);
    jt_append(&b, &x);
    ck_assert_str_eq(b.s, "[[");
    ck_assert(!b.oom);
    free(x.s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jtext");
    TCase *t = tcase_create("core");
    tcase_add_test(t, money_and_basis_points);
    tcase_add_test(t, reals);
    tcase_add_test(t, strings_and_arrays);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    free(b.s);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

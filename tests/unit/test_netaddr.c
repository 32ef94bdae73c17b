/* test_netaddr.c - the address classes an alert destination may not reach
 * (core/netaddr.c), each class at its edges. */
#include <check.h>
#include <stdlib.h>

#include "netaddr.h"

#define HOST(h, c)                                                                                                     \
    ck_assert_msg(netaddr_classify_host(h) == (c), "%s: %s", h, netaddr_class_name(netaddr_classify_host(h)))

START_TEST(ipv4_classes_at_their_edges)
{
    HOST("0.0.0.0", NETADDR_UNSPECIFIED);
    HOST("0.255.255.255", NETADDR_UNSPECIFIED);
    HOST("1.0.0.0", NETADDR_PUBLIC);
    HOST("127.0.0.1", NETADDR_LOOPBACK);
    HOST("127.255.255.254", NETADDR_LOOPBACK);
    HOST("128.0.0.1", NETADDR_PUBLIC);
    HOST("169.254.169.254", NETADDR_LINK_LOCAL); /* the cloud metadata service */
    HOST("169.253.255.255", NETADDR_PUBLIC);
    HOST("169.255.0.0", NETADDR_PUBLIC);
    HOST("10.0.0.1", NETADDR_PRIVATE);
    HOST("11.0.0.1", NETADDR_PUBLIC);
    HOST("172.15.255.255", NETADDR_PUBLIC);
    HOST("172.16.0.0", NETADDR_PRIVATE);
    HOST("172.31.255.255", NETADDR_PRIVATE);
    HOST("172.32.0.0", NETADDR_PUBLIC);
    HOST("192.168.1.1", NETADDR_PRIVATE);
    HOST("192.169.0.1", NETADDR_PUBLIC);
    HOST("100.64.0.1", NETADDR_PRIVATE); /* carrier-grade NAT, RFC 6598 */
    HOST("100.127.255.255", NETADDR_PRIVATE);
    HOST("100.128.0.0", NETADDR_PUBLIC);
    HOST("223.255.255.255", NETADDR_PUBLIC);
    HOST("224.0.0.1", NETADDR_MULTICAST);
    HOST("239.255.255.255", NETADDR_MULTICAST);
    HOST("240.0.0.1", NETADDR_RESERVED);
    HOST("255.255.255.255", NETADDR_RESERVED);
    HOST("93.184.215.14", NETADDR_PUBLIC);
}
END_TEST

/* The forms the resolver reads as numbers are the same addresses. */
START_TEST(ipv4_shorthand_forms)
{
    HOST("127.1", NETADDR_LOOPBACK);
    HOST("2130706433", NETADDR_LOOPBACK); /* 127.0.0.1 as one number */
    HOST("0x7f.0.0.1", NETADDR_LOOPBACK);
    HOST("0177.0.0.1", NETADDR_LOOPBACK);   /* octal */
    HOST("0xa9fea9fe", NETADDR_LINK_LOCAL); /* 169.254.169.254 */
    HOST("0", NETADDR_UNSPECIFIED);
}
END_TEST

START_TEST(ipv6_classes)
{
    HOST("::", NETADDR_UNSPECIFIED);
    HOST("::1", NETADDR_LOOPBACK);
    HOST("::2", NETADDR_RESERVED);
    HOST("fe80::1", NETADDR_LINK_LOCAL);
    HOST("febf::1", NETADDR_LINK_LOCAL);
    HOST("fec0::1", NETADDR_PUBLIC);
    HOST("fc00::1", NETADDR_PRIVATE);
    HOST("fdff:ffff::1", NETADDR_PRIVATE);
    HOST("fbff::1", NETADDR_PUBLIC);
    HOST("ff02::1", NETADDR_MULTICAST);
    HOST("2001:db8::1", NETADDR_PUBLIC);
    HOST("::ffff:127.0.0.1", NETADDR_LOOPBACK); /* IPv4-mapped: the IPv4 address's class */
    HOST("::ffff:169.254.169.254", NETADDR_LINK_LOCAL);
    HOST("::ffff:8.8.8.8", NETADDR_PUBLIC);
    const unsigned char odd[5] = {1, 2, 3, 4, 5};
    ck_assert_int_eq(netaddr_classify(odd, 5), NETADDR_RESERVED);
}
END_TEST

START_TEST(names)
{
    HOST("localhost", NETADDR_LOOPBACK);
    HOST("LocalHost.", NETADDR_LOOPBACK);
    HOST("api.localhost", NETADDR_LOOPBACK); /* RFC 6761 */
    HOST("notlocalhost", NETADDR_PUBLIC);
    HOST("localhost.example.com", NETADDR_PUBLIC);
    HOST("hooks.example.com", NETADDR_PUBLIC);
    HOST("", NETADDR_UNSPECIFIED);
    ck_assert_str_eq(netaddr_class_name(NETADDR_LINK_LOCAL), "link-local");
    ck_assert_str_eq(netaddr_class_name(NETADDR_PUBLIC), "public");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("netaddr");
    TCase *t = tcase_create("core");
    tcase_add_test(t, ipv4_classes_at_their_edges);
    tcase_add_test(t, ipv4_shorthand_forms);
    tcase_add_test(t, ipv6_classes);
    tcase_add_test(t, names);
    suite_add_tcase(s, t);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

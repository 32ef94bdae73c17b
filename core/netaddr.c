/* netaddr.c - address classes for outbound requests (netaddr.h). */
#include "netaddr.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

static netaddr_class v4(const unsigned char *a)
{
    if (a[0] == 0)
        return NETADDR_UNSPECIFIED;
    if (a[0] == 127)
        return NETADDR_LOOPBACK;
    if (a[0] == 169 && a[1] == 254)
        return NETADDR_LINK_LOCAL;
    if (a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
        (a[0] == 100 && (a[1] & 0xc0) == 64))
        return NETADDR_PRIVATE;
    if ((a[0] & 0xf0) == 224)
        return NETADDR_MULTICAST;
    if ((a[0] & 0xf0) == 240)
        return NETADDR_RESERVED;
    return NETADDR_PUBLIC;
}

netaddr_class netaddr_classify(const unsigned char *a, size_t len)
{
    if (len == 4)
        return v4(a);
    if (len != 16)
        return NETADDR_RESERVED;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, mapped, 12) == 0)
        return v4(a + 12);
    static const unsigned char zero[16] = {0};
    if (memcmp(a, zero, 15) == 0)
        return a[15] == 0 ? NETADDR_UNSPECIFIED : a[15] == 1 ? NETADDR_LOOPBACK : NETADDR_RESERVED;
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return NETADDR_LINK_LOCAL;
    if ((a[0] & 0xfe) == 0xfc)
        return NETADDR_PRIVATE;
    if (a[0] == 0xff)
        return NETADDR_MULTICAST;
    return NETADDR_PUBLIC;
}

netaddr_class netaddr_classify_host(const char *host)
{
    if (!host || !*host)
        return NETADDR_UNSPECIFIED;
    unsigned char b[16];
    if (inet_pton(AF_INET6, host, b) == 1)
        return netaddr_classify(b, 16);
    /* inet_aton takes the shorthand forms getaddrinfo resolves as numbers
     * (127.1, 2130706433, 0177.0.0.1), not only the dotted quad */
    struct in_addr in;
    if (inet_aton(host, &in) == 1)
        return netaddr_classify((const unsigned char *)&in.s_addr, 4);
    size_t n = strlen(host);
    while (n > 0 && host[n - 1] == '.') /* a fully qualified "localhost." */
        n--;
    static const char lh[] = "localhost";
    size_t l = sizeof lh - 1;
    if (n >= l && strncasecmp(host + n - l, lh, l) == 0 && (n == l || host[n - l - 1] == '.'))
        return NETADDR_LOOPBACK;
    return NETADDR_PUBLIC;
}

const char *netaddr_class_name(netaddr_class c)
{
    switch (c) {
    case NETADDR_PUBLIC:
        return "public";
    case NETADDR_UNSPECIFIED:
        return "unspecified";
    case NETADDR_LOOPBACK:
        return "loopback";
    case NETADDR_LINK_LOCAL:
        return "link-local";
    case NETADDR_PRIVATE:
        return "private";
    case NETADDR_MULTICAST:
        return "multicast";
    case NETADDR_RESERVED:
        return "reserved";
    }
    return "reserved";
}

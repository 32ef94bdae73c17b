/* netaddr.h - which addresses an outbound alert webhook may reach (issue 23):
 * the classes of IP addresses a server-side request must not be pointed at
 * (SSRF: the metadata service at 169.254.169.254, the host's own loopback,
 * the private networks behind it), per RFC 6890's special-purpose registries.
 *
 * Pure: bytes or text in, a class out; the callers resolve and connect.
 */
#ifndef REVOPS_NETADDR_H
#define REVOPS_NETADDR_H

#include <stddef.h>

typedef enum {
    NETADDR_PUBLIC = 0,  /* none of the below: allowed */
    NETADDR_UNSPECIFIED, /* 0.0.0.0/8 ("this network"), :: */
    NETADDR_LOOPBACK,    /* 127.0.0.0/8, ::1, the name localhost */
    NETADDR_LINK_LOCAL,  /* 169.254.0.0/16 (cloud metadata), fe80::/10 */
    NETADDR_PRIVATE,     /* 10/8, 172.16/12, 192.168/16, 100.64/10 (carrier NAT), fc00::/7 */
    NETADDR_MULTICAST,   /* 224.0.0.0/4, ff00::/8 */
    NETADDR_RESERVED,    /* 240.0.0.0/4 including the broadcast 255.255.255.255 */
} netaddr_class;

/* The class of an address of len 4 (IPv4) or 16 (IPv6) bytes in network
 * order; an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is its IPv4 one.
 * NETADDR_RESERVED for any other length. */
netaddr_class netaddr_classify(const unsigned char *a, size_t len);

/* The class of a URL host as written (no brackets): an IPv6 literal, an
 * IPv4 literal in any form the resolver accepts (127.1, 2130706433, 0x7f.1),
 * or the names localhost / *.localhost (RFC 6761: loopback). Any other name
 * is NETADDR_PUBLIC here: only its resolved address can tell. */
netaddr_class netaddr_classify_host(const char *host);

/* "loopback", "link-local", ... for messages; "public" for NETADDR_PUBLIC. */
const char *netaddr_class_name(netaddr_class c);

#endif

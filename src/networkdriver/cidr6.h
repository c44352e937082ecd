/* IPv6 prefixes of dual-stack networks (`network create --ipv6 --subnet fd00:…/64`): parse,
 * contain, overlap, format, and a container's IPv6 address made from its IPv4 one. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"

struct netdrv_cidr6 {
  struct in6_addr addr; /* the network address (host bits cleared) */
  int prefix;
};

/* "fd00:1::/64"; host bits are cleared. */
int netdrv_cidr6_parse(const char *s, struct netdrv_cidr6 *out, struct berr *err);
bool netdrv_cidr6_overlap(const struct netdrv_cidr6 *a, const struct netdrv_cidr6 *b);
/* The network form "fd00:1::/64" into buf (64 bytes are enough). */
const char *netdrv_cidr6_str(const struct netdrv_cidr6 *c, char *buf, size_t len);
const char *netdrv_ip6_str(const struct in6_addr *a, char *buf, size_t len);
/* The IPv6 address of the host whose IPv4 address on the same network has these host
 * bits: the prefix followed by them in the low 32 bits. IPv4 IPAM never hands out an
 * address twice, so neither is an IPv6 one; the gateway's comes from the IPv4 gateway's
 * host bits the same way. The prefix must leave 32 bits (at most /96). */
void netdrv_ip6_from_v4(const struct netdrv_cidr6 *c, uint32_t host_bits, struct in6_addr *out);

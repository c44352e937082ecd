/* Links through netlink (libnl-route-3): the bridge of a network with its gateway
 * address, the veth pair from a bridge into a container's namespace, and the address,
 * MTU, MAC and default route of the container's end. */
#pragma once

#include <stdbool.h>
#include <netinet/in.h>
#include <stdint.h>

#include "common/berr.h"

/* The bridge `name` exists, holds gateway/prefix and is up (created when missing).
 * route_localnet is set on it so 127.0.0.1 can be DNAT'ed to containers behind it. */
int netdrv_bridge_ensure(const char *name, uint32_t gateway, int prefix, int mtu, struct berr *err);
/* A dual-stack network's bridge also holds its IPv6 gateway address (fd00:…::1/64). */
int netdrv_bridge_addr6(const char *name, const struct in6_addr *gateway, int prefix,
                        struct berr *err);
bool netdrv_link_exists(const char *name);
/* Delete a link of the host namespace; a missing one is not an error. */
int netdrv_link_delete(const char *name, struct berr *err);

struct netdrv_endpoint_link {
  const char *bridge;    /* host side joins this bridge */
  const char *host_name; /* host side of the pair, e.g. "vb1a2b3c4d5e6" */
  const char *netns;     /* path of the container's namespace */
  const char *ifname;    /* inside: "eth0", "eth1", ... */
  uint32_t ip;
  int prefix;
  uint32_t gateway;         /* 0: no default route through this interface */
  const unsigned char *mac; /* 6 bytes */
  int mtu;
  const struct in6_addr *ip6; /* NULL: IPv4 only */
  int prefix6;
  const struct in6_addr *gateway6; /* NULL: no default IPv6 route through this interface */
};

/* The pair, its inside end renamed, addressed, up, and the default route; loopback up. */
int netdrv_endpoint_link_add(const struct netdrv_endpoint_link *l, struct berr *err);
/* Bring loopback up in a namespace (--network none and a bridge-less default). */
int netdrv_netns_lo_up(const char *netns, struct berr *err);

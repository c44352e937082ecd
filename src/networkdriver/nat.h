/* berth's nftables table (one per daemon, named by the daemon): masquerade out of each
 * bridge, isolation between bridges, --internal, and the DNAT of published ports for
 * other hosts (prerouting) and the host itself (output). The whole table is written
 * again in one nft transaction on every change, so it always matches the daemon's state
 * and a restart reconciles it by construction. Dual-stack networks add an ip6 table of the
 * same name (isolation and masquerade; no published IPv6 ports), in the same transaction. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"

struct netdrv_nat_bridge {
  const char *name;
  const char *subnet;  /* "172.18.0.0/16" */
  const char *subnet6; /* "fd00:1::/64" on a dual-stack network, else NULL */
  bool internal;       /* no traffic in or out of the bridge but its own */
};

struct netdrv_nat_port {
  const char *proto; /* "tcp" | "udp" */
  uint32_t host_ip;  /* 0: every local address */
  int host_port;
  uint32_t container_ip;
  int container_port;
};

/* One libnftables context per daemon, made on first use and reused for every change:
 * making a context (and its first cache fill) cost more than the change itself, ~20 ms per
 * `run -p`. Not thread-safe: the caller serialises its use (the engine's net lock). */
struct netdrv_nft;
int netdrv_nft_new(struct netdrv_nft **out, struct berr *err);
void netdrv_nft_free(struct netdrv_nft *nft);

int netdrv_nat_apply(struct netdrv_nft *nft, const char *table,
                     const struct netdrv_nat_bridge *bridges, size_t nb,
                     const struct netdrv_nat_port *ports, size_t np, struct berr *err);
/* Delete the table (both families); a missing one is not an error. */
int netdrv_nat_remove(struct netdrv_nft *nft, const char *table, struct berr *err);
bool netdrv_nat_exists(struct netdrv_nft *nft, const char *table);
/* net.ipv4.ip_forward = 1 (containers reach out; other hosts reach published ports). */
int netdrv_ip_forward_enable(struct berr *err);

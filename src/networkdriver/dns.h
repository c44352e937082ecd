/* The embedded DNS resolver of user-defined networks (Docker's 127.0.0.11): one UDP
 * socket bound to 127.0.0.11:53 inside each such container's network namespace, all
 * served by one thread of berthd. Names are answered through a callback (the engine
 * knows which containers share a network); other names are forwarded to the host's
 * resolvers. The sockets live in berthd: after a restart the engine adds them again. */
#pragma once

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"

#define NETDRV_DNS_MAX_ADDRS 8

/* The addresses of one name: IPv4 (host order) and, on dual-stack networks, IPv6. */
struct netdrv_dns_addrs {
  uint32_t v4[NETDRV_DNS_MAX_ADDRS];
  struct in6_addr v6[NETDRV_DNS_MAX_ADDRS];
  int n4, n6;
};

/* Fill the addresses `name` has for the container `key` (n4 == 0: not a name of ours).
 * Called from the resolver thread, with none of the resolver's locks held. */
typedef void (*netdrv_dns_lookup_fn)(void *ctx, const char *key, const char *name,
                                     struct netdrv_dns_addrs *out);

struct netdrv_dns;

int netdrv_dns_new(netdrv_dns_lookup_fn fn, void *ctx, const char *host_resolv,
                   struct netdrv_dns **out, struct berr *err);
/* Serve the namespace at netns_path for key (a container ID). Adding a key twice is a
 * no-op. */
int netdrv_dns_add(struct netdrv_dns *d, const char *key, const char *netns_path, struct berr *err);
void netdrv_dns_remove(struct netdrv_dns *d, const char *key);
void netdrv_dns_free(struct netdrv_dns *d);

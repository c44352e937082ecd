/* The embedded DNS resolver of user-defined networks (Docker's 127.0.0.11): one UDP
 * socket bound to 127.0.0.11:53 inside each such container's network namespace, all
 * served by one thread of berthd. Names are answered through a callback (the engine
 * knows which containers share a network); other names are forwarded to the host's
 * resolvers. The sockets live in berthd: after a restart the engine adds them again. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"

/* Fill up to max IPv4 addresses (host order) that `name` has for the container `key`;
 * return how many (0: not a name of ours). Called from the resolver thread, with none of
 * the resolver's locks held. */
typedef int (*netdrv_dns_lookup_fn)(void *ctx, const char *key, const char *name, uint32_t *out,
                                    int max);

struct netdrv_dns;

int netdrv_dns_new(netdrv_dns_lookup_fn fn, void *ctx, const char *host_resolv,
                   struct netdrv_dns **out, struct berr *err);
/* Serve the namespace at netns_path for key (a container ID). Adding a key twice is a
 * no-op. */
int netdrv_dns_add(struct netdrv_dns *d, const char *key, const char *netns_path, struct berr *err);
void netdrv_dns_remove(struct netdrv_dns *d, const char *key);
void netdrv_dns_free(struct netdrv_dns *d);

/* A container's /etc/hosts and /etc/resolv.conf as Docker writes them: localhost lines,
 * the container's own address and names, --add-host entries (host-gateway resolved);
 * the host's resolvers (loopback ones dropped: they mean nothing in the container) or
 * --dns, or the embedded resolver 127.0.0.11 on user-defined networks. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <stdint.h>

#include "common/berr.h"

struct netdrv_hosts {
  const char *hostname;
  const char *domainname;     /* may be NULL */
  uint32_t ip;                /* 0: none (host / none modes) */
  const struct in6_addr *ip6; /* the container's IPv6 address on a dual-stack network, or NULL */
  json_t *aliases;            /* extra names for ip (array of strings) or NULL */
  json_t *extra;              /* ["name:ip", ...] (--add-host), or NULL */
  uint32_t host_gateway;      /* what "host-gateway" stands for (0: not available) */
};

int netdrv_hosts_write(const char *path, const struct netdrv_hosts *h, struct berr *err);

struct netdrv_resolv {
  const char *host_resolv;        /* path of the host's resolv.conf */
  bool embedded;                  /* nameserver 127.0.0.11 */
  json_t *dns, *search, *options; /* arrays of strings, or NULL */
  bool in_place; /* rewrite the file itself: a running container has it bind-mounted, and a
                    rename would leave the mount on the old file */
};

int netdrv_resolv_write(const char *path, const struct netdrv_resolv *r, struct berr *err);
/* The host's non-loopback nameservers (up to 3) as "a.b.c.d" strings (the embedded
 * resolver forwards to them). */
int netdrv_host_nameservers(const char *host_resolv, char out[3][64], struct berr *err);

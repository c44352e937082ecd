/* IPv4 prefixes: parse "a.b.c.d/n", test containment and overlap, format; the arithmetic
 * IPAM, bridge addressing and subnet choice share. Addresses are in host byte order. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"

struct netdrv_cidr {
  uint32_t addr; /* as written (may have host bits set: "172.18.0.1/16") */
  int prefix;
};

int netdrv_cidr_parse(const char *s, struct netdrv_cidr *out, struct berr *err);
int netdrv_ip_parse(const char *s, uint32_t *out, struct berr *err);
uint32_t netdrv_cidr_mask(int prefix);
uint32_t netdrv_cidr_network(const struct netdrv_cidr *c);
uint32_t netdrv_cidr_broadcast(const struct netdrv_cidr *c);
bool netdrv_cidr_contains(const struct netdrv_cidr *c, uint32_t ip);
bool netdrv_cidr_overlap(const struct netdrv_cidr *a, const struct netdrv_cidr *b);
/* "a.b.c.d" into buf (16 bytes are enough). */
const char *netdrv_ip_str(uint32_t ip, char *buf, size_t len);
/* The network form "a.b.c.0/n". */
const char *netdrv_cidr_str(const struct netdrv_cidr *c, char *buf, size_t len);

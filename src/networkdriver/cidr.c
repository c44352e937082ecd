/* IPv4 prefix arithmetic (see cidr.h). */
#include "cidr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int netdrv_ip_parse(const char *s, uint32_t *out, struct berr *err)
{
  struct in_addr a;
  if (!s || inet_pton(AF_INET, s, &a) != 1)
    return berr_set(err, 0, "invalid IPv4 address: %s", s ? s : "(none)");
  *out = ntohl(a.s_addr);
  return 0;
}

int netdrv_cidr_parse(const char *s, struct netdrv_cidr *out, struct berr *err)
{
  char buf[64];
  const char *slash = s ? strchr(s, '/') : NULL;
  if (!slash || (size_t)(slash - s) >= sizeof(buf))
    return berr_set(err, 0, "invalid CIDR address: %s", s ? s : "(none)");
  memcpy(buf, s, (size_t)(slash - s));
  buf[slash - s] = '\0';
  char *end;
  long p = strtol(slash + 1, &end, 10);
  if (*end || end == slash + 1 || p < 0 || p > 32)
    return berr_set(err, 0, "invalid CIDR address: %s", s);
  struct berr ignored;
  if (netdrv_ip_parse(buf, &out->addr, &ignored) < 0)
    return berr_set(err, 0, "invalid CIDR address: %s", s);
  out->prefix = (int)p;
  return 0;
}

uint32_t netdrv_cidr_mask(int prefix)
{
  return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

uint32_t netdrv_cidr_network(const struct netdrv_cidr *c)
{
  return c->addr & netdrv_cidr_mask(c->prefix);
}

uint32_t netdrv_cidr_broadcast(const struct netdrv_cidr *c)
{
  return netdrv_cidr_network(c) | ~netdrv_cidr_mask(c->prefix);
}

bool netdrv_cidr_contains(const struct netdrv_cidr *c, uint32_t ip)
{
  return (ip & netdrv_cidr_mask(c->prefix)) == netdrv_cidr_network(c);
}

bool netdrv_cidr_overlap(const struct netdrv_cidr *a, const struct netdrv_cidr *b)
{
  int p = a->prefix < b->prefix ? a->prefix : b->prefix;
  uint32_t m = netdrv_cidr_mask(p);
  return (a->addr & m) == (b->addr & m);
}

const char *netdrv_ip_str(uint32_t ip, char *buf, size_t len)
{
  snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
  return buf;
}

const char *netdrv_cidr_str(const struct netdrv_cidr *c, char *buf, size_t len)
{
  char ip[16];
  snprintf(buf, len, "%s/%d", netdrv_ip_str(netdrv_cidr_network(c), ip, sizeof(ip)), c->prefix);
  return buf;
}

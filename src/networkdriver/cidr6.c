/* IPv6 prefix arithmetic (see cidr6.h). */
#include "cidr6.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void clear_host_bits(struct in6_addr *a, int prefix)
{
  for (int i = 0; i < 16; i++) {
    int keep = prefix - i * 8;
    if (keep >= 8)
      continue;
    a->s6_addr[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
  }
}

int netdrv_cidr6_parse(const char *s, struct netdrv_cidr6 *out, struct berr *err)
{
  char buf[64];
  const char *slash = s ? strchr(s, '/') : NULL;
  if (!slash || (size_t)(slash - s) >= sizeof(buf))
    return berr_set(err, 0, "invalid IPv6 CIDR address: %s", s ? s : "(none)");
  memcpy(buf, s, (size_t)(slash - s));
  buf[slash - s] = '\0';
  char *end;
  long p = strtol(slash + 1, &end, 10);
  if (*end || end == slash + 1 || p < 0 || p > 128 || inet_pton(AF_INET6, buf, &out->addr) != 1)
    return berr_set(err, 0, "invalid IPv6 CIDR address: %s", s);
  out->prefix = (int)p;
  clear_host_bits(&out->addr, out->prefix);
  return 0;
}

bool netdrv_cidr6_overlap(const struct netdrv_cidr6 *a, const struct netdrv_cidr6 *b)
{
  int p = a->prefix < b->prefix ? a->prefix : b->prefix;
  struct in6_addr x = a->addr, y = b->addr;
  clear_host_bits(&x, p);
  clear_host_bits(&y, p);
  return memcmp(&x, &y, sizeof(x)) == 0;
}

const char *netdrv_ip6_str(const struct in6_addr *a, char *buf, size_t len)
{
  if (!inet_ntop(AF_INET6, a, buf, (socklen_t)len))
    snprintf(buf, len, "::");
  return buf;
}

const char *netdrv_cidr6_str(const struct netdrv_cidr6 *c, char *buf, size_t len)
{
  char ip[INET6_ADDRSTRLEN];
  snprintf(buf, len, "%s/%d", netdrv_ip6_str(&c->addr, ip, sizeof(ip)), c->prefix);
  return buf;
}

void netdrv_ip6_from_v4(const struct netdrv_cidr6 *c, uint32_t host_bits, struct in6_addr *out)
{
  *out = c->addr;
  for (int i = 0; i < 4; i++)
    out->s6_addr[12 + i] |= (uint8_t)(host_bits >> (24 - 8 * i));
}

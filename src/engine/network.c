/* The engine's networking glue (see network.h): networks in berth.db, endpoints of
 * running containers in memory (rebuilt from their documents after a restart), the
 * nftables table rewritten from that state on every change. */
#include "network.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileutil.h"
#include "common/log.h"
#include "engine_internal.h"
#include "networkdriver/dns.h"
#include "networkdriver/etcfiles.h"
#include "networkdriver/ipam.h"
#include "networkdriver/link.h"
#include "networkdriver/nat.h"
#include "networkdriver/netns.h"
#include "repository.h"
#include "supervisor.h"

#define HOST_RESOLV "/etc/resolv.conf"

void network_netns_path(struct engine *e, const char *id, char *buf, size_t len)
{
  snprintf(buf, len, "%s/netns/%s", e->cfg.exec_root, id);
}

static void net_free(struct net *nt)
{
  if (!nt)
    return;
  free(nt->name);
  json_decref(nt->doc);
  free(nt);
}

static void ep_free(struct endpoint *ep)
{
  if (!ep)
    return;
  free(ep->ctr_name);
  json_decref(ep->aliases);
  free(ep);
}

static const char *opt_str(json_t *doc, const char *key)
{
  return json_string_value(json_object_get(json_object_get(doc, "Options"), key));
}

/* The fields the driver needs, from Docker's network JSON. */
int network_from_doc(json_t *doc, struct net **out, struct berr *err)
{
  struct net *nt = calloc(1, sizeof(*nt));
  if (!nt)
    return berr_set(err, ENOMEM, "network");
  snprintf(nt->id, sizeof(nt->id), "%s", json_string_value(json_object_get(doc, "Id")) ?: "");
  nt->name = strdup(json_string_value(json_object_get(doc, "Name")) ?: "");
  snprintf(nt->bridge, sizeof(nt->bridge), "%s",
           opt_str(doc, "com.docker.network.bridge.name") ?: "");
  json_t *cfg = json_array_get(json_object_get(json_object_get(doc, "IPAM"), "Config"), 0);
  const char *range = json_string_value(json_object_get(cfg, "IPRange"));
  if (netdrv_cidr_parse(json_string_value(json_object_get(cfg, "Subnet")), &nt->subnet, err) < 0 ||
      netdrv_ip_parse(json_string_value(json_object_get(cfg, "Gateway")), &nt->gateway, err) < 0 ||
      (range && *range && netdrv_cidr_parse(range, &nt->range, err) < 0)) {
    net_free(nt);
    return -err->code;
  }
  nt->has_range = range && *range;
  json_t *cfg6 = json_array_get(json_object_get(json_object_get(doc, "IPAM"), "Config"), 1);
  const char *sub6 = json_string_value(json_object_get(cfg6, "Subnet"));
  if (json_is_true(json_object_get(doc, "EnableIPv6")) && sub6) {
    if (netdrv_cidr6_parse(sub6, &nt->subnet6, err) < 0) {
      net_free(nt);
      return -err->code;
    }
    nt->has_v6 = true;
    netdrv_ip6_from_v4(&nt->subnet6, nt->gateway & ~netdrv_cidr_mask(nt->subnet.prefix),
                       &nt->gateway6);
  }
  nt->internal = json_is_true(json_object_get(doc, "Internal"));
  const char *def = opt_str(doc, "com.docker.network.bridge.default_bridge");
  nt->is_default = def && strcmp(def, "true") == 0;
  const char *mtu = opt_str(doc, "com.docker.network.driver.mtu");
  nt->mtu = mtu ? atoi(mtu) : 0;
  if (nt->mtu < 0 || nt->mtu > 65535) {
    net_free(nt);
    return berr_set(err, 0, "invalid MTU %s", mtu);
  }
  nt->doc = json_incref(doc);
  *out = nt;
  return 0;
}

int network_bridge_up(const struct net *nt, struct berr *err)
{
  if (netdrv_bridge_ensure(nt->bridge, nt->gateway, nt->subnet.prefix, nt->mtu, err) < 0)
    return -err->code;
  if (nt->has_v6 && netdrv_bridge_addr6(nt->bridge, &nt->gateway6, nt->subnet6.prefix, err) < 0)
    return -err->code;
  return 0;
}

static int db_fail(struct engine *e, struct berr *err, const char *what)
{
  return berr_set(err, EIO, "%s: %s", what, sqlite3_errmsg(e->db));
}

int network_db_save(struct engine *e, struct net *nt, struct berr *err)
{
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(e->db, "INSERT OR REPLACE INTO networks (id, name, doc) VALUES (?,?,?)",
                         -1, &st, NULL) != SQLITE_OK)
    return db_fail(e, err, "save network");
  _cleanup_free_ char *text = json_dumps(nt->doc, JSON_COMPACT);
  sqlite3_bind_text(st, 1, nt->id, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 2, nt->name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(st, 3, text ? text : "{}", -1, SQLITE_TRANSIENT);
  int r = sqlite3_step(st);
  sqlite3_finalize(st);
  return r == SQLITE_DONE ? 0 : db_fail(e, err, "save network");
}

int network_db_delete(struct engine *e, const char *id, struct berr *err)
{
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(e->db, "DELETE FROM networks WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
    return db_fail(e, err, "delete network");
  sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
  int r = sqlite3_step(st);
  sqlite3_finalize(st);
  return r == SQLITE_DONE ? 0 : db_fail(e, err, "delete network");
}

struct net *network_find_locked(struct engine_net *n, const char *ref)
{
  if (!ref || !*ref)
    return NULL;
  for (size_t i = 0; i < n->n_nets; i++)
    if (strcmp(n->nets[i]->name, ref) == 0 || strcmp(n->nets[i]->id, ref) == 0)
      return n->nets[i];
  struct net *found = NULL;
  size_t len = strlen(ref);
  for (size_t i = 0; i < n->n_nets; i++)
    if (strncmp(n->nets[i]->id, ref, len) == 0) {
      if (found)
        return NULL; /* ambiguous */
      found = n->nets[i];
    }
  return found;
}

int network_add_locked(struct engine_net *n, struct net *nt)
{
  struct net **v = realloc(n->nets, (n->n_nets + 1) * sizeof(*v));
  if (!v)
    return -ENOMEM;
  v[n->n_nets++] = nt;
  n->nets = v;
  return 0;
}

void network_drop_locked(struct engine_net *n, struct net *nt)
{
  for (size_t i = 0; i < n->n_nets; i++)
    if (n->nets[i] == nt) {
      memmove(&n->nets[i], &n->nets[i + 1], (n->n_nets - i - 1) * sizeof(*n->nets));
      n->n_nets--;
      net_free(nt);
      return;
    }
}

/* Does c overlap a route of the host (other than the default one)? */
static bool overlaps_host_route(const struct netdrv_cidr *c)
{
  _cleanup_fclose_ FILE *f = fopen("/proc/net/route", "re");
  char line[256];
  if (!f || !fgets(line, sizeof(line), f))
    return false;
  while (fgets(line, sizeof(line), f)) {
    char ifname[32];
    unsigned dst, gw, flags, refcnt, use, metric, mask;
    if (sscanf(line, "%31s %x %x %x %u %u %u %x", ifname, &dst, &gw, &flags, &refcnt, &use, &metric,
               &mask) != 8 ||
        mask == 0)
      continue;
    uint32_t m = ntohl(mask);
    int prefix = 0;
    while (prefix < 32 && (m & (0x80000000u >> prefix)))
      prefix++;
    struct netdrv_cidr r = {.addr = ntohl(dst), .prefix = prefix};
    if (netdrv_cidr_overlap(c, &r))
      return true;
  }
  return false;
}

static bool overlaps_network(struct engine_net *n, const struct netdrv_cidr *c)
{
  for (size_t i = 0; i < n->n_nets; i++)
    if (netdrv_cidr_overlap(&n->nets[i]->subnet, c))
      return true;
  return false;
}

/* A free subnet from the daemon's address pools (default-address-pools, or Docker's
 * 172.17-31.0.0/16 then 192.168.0.0/20 steps) that overlaps no network of ours and no
 * route of the host. */
int network_pick_subnet(struct engine *e, struct netdrv_cidr *out, struct berr *err)
{
  json_auto_t *pools = NULL;
  if (e->cfg.address_pools && *e->cfg.address_pools)
    pools = json_loads(e->cfg.address_pools, 0, NULL);
  if (!json_array_size(pools)) {
    json_decref(pools);
    pools = json_pack("[{s:s,s:i},{s:s,s:i}]", "base", "172.17.0.0/12", "size", 16, "base",
                      "192.168.0.0/16", "size", 20);
  }
  size_t i;
  json_t *p;
  json_array_foreach(pools, i, p)
  {
    struct netdrv_cidr base;
    int size = (int)json_integer_value(json_object_get(p, "size"));
    if (netdrv_cidr_parse(json_string_value(json_object_get(p, "base")), &base, err) < 0)
      return berr_wrap(err, "default-address-pools");
    if (size < base.prefix || size > 30)
      return berr_set(err, 0, "default-address-pools: size %d does not fit %s", size,
                      json_string_value(json_object_get(p, "base")));
    uint64_t step = 1ull << (32 - size);
    /* From the base as written, aligned to the size: Docker's first pool 172.17.0.0/12
     * starts at 172.17.0.0/16, not at its network 172.16.0.0. */
    for (uint64_t a = base.addr & netdrv_cidr_mask(size); a <= netdrv_cidr_broadcast(&base);
         a += step) {
      struct netdrv_cidr c = {.addr = (uint32_t)a, .prefix = size};
      if (!overlaps_network(e->net, &c) && !overlaps_host_route(&c)) {
        *out = c;
        return 0;
      }
    }
  }
  return berr_set(err, ENOSPC,
                  "could not find an available, non-overlapping IPv4 address pool among the "
                  "defaults to assign to the network");
}

void network_random_id(char out[65])
{
  unsigned char b[32];
  if (getrandom(b, sizeof(b), 0) != sizeof(b))
    for (size_t i = 0; i < sizeof(b); i++)
      b[i] = (unsigned char)rand();
  for (size_t i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", b[i]);
}

json_t *network_doc_new(const char *id, const char *name, const struct netdrv_cidr *subnet,
                        uint32_t gateway, const char *range, bool internal, json_t *options,
                        json_t *labels)
{
  char created[64], sn[32], gw[16];
  ctr_now(created, sizeof(created));
  json_t *cfg = json_pack("{s:s,s:s}", "Subnet", netdrv_cidr_str(subnet, sn, sizeof(sn)), "Gateway",
                          netdrv_ip_str(gateway, gw, sizeof(gw)));
  if (range && *range)
    json_object_set_new(cfg, "IPRange", json_string(range));
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:{s:s,s:n,s:[o]},s:b,s:b,s:b,s:{s:s},s:b,s:O,s:O}",
                   "Name", name, "Id", id, "Created", created, "Scope", "local", "Driver", "bridge",
                   "EnableIPv6", 0, "IPAM", "Driver", "default", "Options", "Config", cfg,
                   "Internal", internal, "Attachable", 0, "Ingress", 0, "ConfigFrom", "Network", "",
                   "ConfigOnly", 0, "Options", options, "Labels", labels);
}

/* The built-in "bridge" network from the daemon's settings (bridge name, bip, pools):
 * kept with its ID and subnet across restarts unless bip says otherwise. */
static int ensure_default_network(struct engine *e, struct berr *err)
{
  struct engine_net *n = e->net;
  const char *brname = e->cfg.bridge && *e->cfg.bridge ? e->cfg.bridge : "berth0";
  struct net *old = NULL;
  for (size_t i = 0; i < n->n_nets; i++)
    if (n->nets[i]->is_default)
      old = n->nets[i];
  if (strcmp(brname, "none") == 0) {
    if (old) {
      struct berr ignored;
      netdrv_ipam_release_network(e->db, old->id, &ignored);
      network_db_delete(e, old->id, &ignored);
      network_drop_locked(n, old);
    }
    return 0;
  }
  if (strlen(brname) > 15)
    return berr_set(err, 0, "bridge name %s: longer than 15 characters", brname);
  struct netdrv_cidr subnet;
  uint32_t gateway;
  if (e->cfg.bip && *e->cfg.bip) {
    if (netdrv_cidr_parse(e->cfg.bip, &subnet, err) < 0)
      return berr_wrap(err, "bip");
    gateway = subnet.addr;
    if (gateway == netdrv_cidr_network(&subnet) || subnet.prefix > 30)
      return berr_set(err, 0, "bip %s: give the bridge's address, e.g. 172.18.0.1/16", e->cfg.bip);
  } else if (old && strcmp(old->bridge, brname) == 0) {
    subnet = old->subnet;
    gateway = old->gateway;
  } else {
    /* Our own old record does not count as taken. */
    struct net *keep = old;
    if (keep) {
      for (size_t i = 0; i < n->n_nets; i++)
        if (n->nets[i] == keep) {
          n->nets[i] = n->nets[--n->n_nets];
          break;
        }
    }
    int r = network_pick_subnet(e, &subnet, err);
    if (keep)
      network_add_locked(n, keep);
    if (r < 0)
      return r;
    gateway = netdrv_cidr_network(&subnet) + 1;
  }
  int mtu = e->cfg.mtu > 0 ? e->cfg.mtu : 1500;
  char mtu_s[16];
  snprintf(mtu_s, sizeof(mtu_s), "%d", mtu);
  char id[65];
  if (old && old->subnet.addr == subnet.addr && old->subnet.prefix == subnet.prefix &&
      old->gateway == gateway && strcmp(old->bridge, brname) == 0 && old->mtu == mtu)
    return 0;
  if (old)
    snprintf(id, sizeof(id), "%s", old->id);
  else
    network_random_id(id);
  json_t *opts =
      json_pack("{s:s,s:s,s:s,s:s,s:s}", "com.docker.network.bridge.default_bridge", "true",
                "com.docker.network.bridge.enable_icc", "true",
                "com.docker.network.bridge.enable_ip_masquerade", "true",
                "com.docker.network.bridge.name", brname, "com.docker.network.driver.mtu", mtu_s);
  json_t *labels = json_object();
  json_auto_t *doc = network_doc_new(id, "bridge", &subnet, gateway, NULL, false, opts, labels);
  json_decref(opts);
  json_decref(labels);
  struct net *nt = NULL;
  if (network_from_doc(doc, &nt, err) < 0)
    return -err->code;
  if (network_db_save(e, nt, err) < 0) {
    net_free(nt);
    return -err->code;
  }
  if (old)
    network_drop_locked(n, old);
  return network_add_locked(n, nt) < 0 ? berr_set(err, ENOMEM, "network") : 0;
}

/* <exec-root>/nat-table names the nftables table this daemon holds, so a daemon started
 * without bridges knows whether one is left to remove without asking nftables. */
static void nat_marker_path(struct engine *e, char *buf, size_t len)
{
  snprintf(buf, len, "%s/nat-table", e->cfg.exec_root);
}

/* The daemon's nftables context, made on first use (net lock held). */
static struct netdrv_nft *network_nft(struct engine_net *n, struct berr *err)
{
  if (!n->nft && netdrv_nft_new(&n->nft, err) < 0)
    return NULL;
  return n->nft;
}

int network_apply_rules_locked(struct engine *e, struct berr *err)
{
  struct engine_net *n = e->net;
  struct netdrv_nat_bridge *b = calloc(n->n_nets + 1, sizeof(*b));
  size_t np = 0;
  for (size_t i = 0; i < n->n_ports; i++)
    np += n->ports[i].n;
  struct netdrv_nat_port *p = calloc(np + 1, sizeof(*p));
  char(*subnets)[32] = calloc(n->n_nets + 1, 32);
  char(*subnets6)[64] = calloc(n->n_nets + 1, 64);
  if (!b || !p || !subnets || !subnets6) {
    free(b);
    free(p);
    free(subnets);
    free(subnets6);
    return berr_set(err, ENOMEM, "rules");
  }
  for (size_t i = 0; i < n->n_nets; i++) {
    b[i].name = n->nets[i]->bridge;
    b[i].subnet = netdrv_cidr_str(&n->nets[i]->subnet, subnets[i], 32);
    b[i].subnet6 =
        n->nets[i]->has_v6 ? netdrv_cidr6_str(&n->nets[i]->subnet6, subnets6[i], 64) : NULL;
    b[i].internal = n->nets[i]->internal;
  }
  size_t k = 0;
  for (size_t i = 0; i < n->n_ports; i++)
    for (size_t j = 0; j < n->ports[i].n; j++) {
      const struct netdrv_port *q = &n->ports[i].ports[j];
      p[k++] = (struct netdrv_nat_port){.proto = q->proto,
                                        .host_ip = q->host_ip,
                                        .host_port = q->host_port,
                                        .container_ip = n->ports[i].ip,
                                        .container_port = q->container_port};
    }
  int r = 0;
  char marker[PATH_MAX];
  nat_marker_path(e, marker, sizeof(marker));
  if (n->n_nets == 0 && k == 0) {
    /* Nothing to forward: no table at all (and libnftables never loaded), only the
     * removal of one a previous run left, named in the marker. */
    _cleanup_free_ char *old = NULL;
    size_t len;
    struct berr ignored;
    if (bf_read_all(marker, &old, &len, &ignored) == 0) {
      old[strcspn(old, "\n")] = '\0';
      struct netdrv_nft *nft = network_nft(n, err);
      if (!nft)
        r = -err->code;
      else if ((r = netdrv_nat_remove(nft, old, err)) == 0)
        unlink(marker);
    }
  } else if (!network_nft(n, err)) {
    r = -err->code;
  } else if ((r = netdrv_nat_apply(n->nft, n->table, b, n->n_nets, p, k, err)) == 0) {
    bf_write_atomic_volatile(marker, n->table, strlen(n->table), 0600, err);
  }
  free(b);
  free(p);
  free(subnets);
  free(subnets6);
  return r;
}

static void lookup(void *ctx, const char *key, const char *name, struct netdrv_dns_addrs *out);

int network_init(struct engine *e, struct berr *err)
{
  struct engine_net *n = calloc(1, sizeof(*n));
  if (!n)
    return berr_set(err, ENOMEM, "network state");
  pthread_mutex_init(&n->lock, NULL);
  e->net = n;
  /* One table per daemon, named after its default bridge (or its data root when it has
   * none), so test daemons and the host's own tables never meet. */
  if (e->cfg.bridge && *e->cfg.bridge && strcmp(e->cfg.bridge, "none") != 0) {
    snprintf(n->table, sizeof(n->table), "berth_%s", e->cfg.bridge);
  } else if (!e->cfg.bridge || !*e->cfg.bridge) {
    snprintf(n->table, sizeof(n->table), "berth");
  } else {
    uint32_t h = 2166136261u;
    for (const char *s = e->cfg.data_root; s && *s; s++)
      h = (h ^ (unsigned char)*s) * 16777619u;
    snprintf(n->table, sizeof(n->table), "berth_%08x", h);
  }
  const char *schema = "CREATE TABLE IF NOT EXISTS networks ("
                       "  id TEXT PRIMARY KEY, name TEXT UNIQUE NOT NULL, doc TEXT NOT NULL);";
  if (sqlite3_exec(e->db, schema, NULL, NULL, NULL) != SQLITE_OK)
    return db_fail(e, err, "network table");
  if (netdrv_ipam_init(e->db, err) < 0)
    return -err->code;
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(e->db, "SELECT doc FROM networks", -1, &st, NULL) != SQLITE_OK)
    return db_fail(e, err, "load networks");
  while (sqlite3_step(st) == SQLITE_ROW) {
    json_auto_t *doc = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
    struct net *nt = NULL;
    struct berr e2;
    if (doc && network_from_doc(doc, &nt, &e2) == 0)
      network_add_locked(n, nt);
  }
  sqlite3_finalize(st);
  if (ensure_default_network(e, err) < 0)
    return berr_wrap(err, "default bridge network");
  struct berr warn;
  if (netdrv_ip_forward_enable(&warn) < 0)
    blog(BLOG_WARN, "%s", warn.msg);
  for (size_t i = 0; i < n->n_nets; i++) {
    struct net *nt = n->nets[i];
    if (network_bridge_up(nt, err) < 0) {
      if (nt->is_default)
        return berr_wrap(err, "default bridge network");
      blog(BLOG_WARN, "network %s: %s", nt->name, err->msg);
    }
  }
  if (netdrv_dns_new(lookup, e, HOST_RESOLV, &n->dns, err) < 0)
    return -err->code;
  return network_apply_rules_locked(e, err);
}

static const char *net_mode(struct container *c)
{
  return json_string_value(json_object_get(json_object_get(c->doc, "HostConfig"), "NetworkMode"))
             ?: "bridge";
}

json_t *network_endpoint_json(const struct net *nt, json_t *epcfg)
{
  json_t *ipam = json_object_get(epcfg, "IPAMConfig");
  json_t *aliases = json_object_get(epcfg, "Aliases");
  const char *mac = json_string_value(json_object_get(epcfg, "MacAddress"));
  return json_pack("{s:O,s:n,s:O,s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:i,s:n,s:n}", "IPAMConfig",
                   json_is_object(ipam) ? ipam : json_null(), "Links", "Aliases",
                   json_array_size(aliases) ? aliases : json_null(), "MacAddress", mac ? mac : "",
                   "NetworkID", nt ? nt->id : "", "EndpointID", "", "Gateway", "", "IPAddress", "",
                   "IPPrefixLen", 0, "IPv6Gateway", "", "GlobalIPv6Address", "",
                   "GlobalIPv6PrefixLen", 0, "DriverOpts", "DNSNames");
}

static json_t *settings_skeleton(void)
{
  return json_pack("{s:s,s:s,s:s,s:b,s:s,s:i,s:{},s:n,s:n,s:s,s:s,s:s,s:i,s:s,s:i,s:s,s:s,s:{}}",
                   "Bridge", "", "SandboxID", "", "SandboxKey", "", "HairpinMode", 0,
                   "LinkLocalIPv6Address", "", "LinkLocalIPv6PrefixLen", 0, "Ports",
                   "SecondaryIPAddresses", "SecondaryIPv6Addresses", "EndpointID", "", "Gateway",
                   "", "GlobalIPv6Address", "", "GlobalIPv6PrefixLen", 0, "IPAddress", "",
                   "IPPrefixLen", 0, "IPv6Gateway", "", "MacAddress", "", "Networks");
}

int network_settings_new(struct engine *e, json_t *body, json_t *host, json_t **out,
                         struct berr *err)
{
  const char *mode = json_string_value(json_object_get(host, "NetworkMode")) ?: "bridge";
  json_t *eps = json_object_get(json_object_get(body, "NetworkingConfig"), "EndpointsConfig");
  json_auto_t *s = settings_skeleton();
  json_t *nets = json_object_get(s, "Networks");
  if (strcmp(mode, "host") == 0 || strcmp(mode, "none") == 0) {
    json_object_set_new(nets, mode, network_endpoint_json(NULL, NULL));
    *out = json_incref(s);
    return 0;
  }
  if (strncmp(mode, "container:", 10) == 0) {
    if (!mode[10])
      return berr_set(err, 0, "invalid network mode: %s", mode);
    *out = json_incref(s);
    return 0;
  }
  struct engine_net *n = e->net;
  pthread_mutex_lock(&n->lock);
  int r = 0;
  const char *k;
  json_t *cfg;
  /* The mode's network first (it gets eth0 and the default route), then any others. */
  json_t *primary = json_object_get(eps, mode) ?: json_object_get(eps, "default");
  for (int pass = 0; pass < 2 && r == 0; pass++) {
    json_object_foreach(pass == 0 ? NULL : eps, k, cfg)
    {
      if (strcmp(k, mode) == 0 || strcmp(k, "default") == 0)
        continue;
      struct net *nt = network_find_locked(n, k);
      if (!nt) {
        err->code = ENOENT;
        r = berr_set(err, ENOENT, "network %s not found", k);
        err->code = ENOENT;
        break;
      }
      json_object_set_new(nets, nt->name, network_endpoint_json(nt, cfg));
    }
    if (pass == 0) {
      struct net *nt = NULL;
      if (strcmp(mode, "bridge") == 0) {
        for (size_t i = 0; i < n->n_nets; i++)
          if (n->nets[i]->is_default)
            nt = n->nets[i];
        if (!nt) /* no default bridge (-b none): loopback only */
          continue;
      } else if (!(nt = network_find_locked(n, mode))) {
        r = berr_set(err, ENOENT, "network %s not found", mode);
        err->code = ENOENT;
        break;
      }
      const char *ip =
          json_string_value(json_object_get(json_object_get(primary, "IPAMConfig"), "IPv4Address"));
      if (nt->is_default && ip && *ip) {
        r = berr_set(err, 0,
                     "user specified IP address is supported on user defined networks only");
        break;
      }
      if (nt->is_default && json_array_size(json_object_get(primary, "Aliases"))) {
        r = berr_set(err, 0,
                     "network-scoped alias is supported only for containers in user "
                     "defined networks");
        break;
      }
      uint32_t want;
      if (ip && *ip && netdrv_ip_parse(ip, &want, err) < 0) {
        r = -err->code;
        break;
      }
      if (ip && *ip && !netdrv_cidr_contains(&nt->subnet, want)) {
        r = berr_set(err, 0, "no configured subnet or ip-range contain the IP address %s", ip);
        break;
      }
      json_object_set_new(nets, nt->name, network_endpoint_json(nt, primary));
    }
  }
  pthread_mutex_unlock(&n->lock);
  if (r < 0)
    return r;
  *out = json_incref(s);
  return 0;
}

static void mac_for(uint32_t ip, unsigned char mac[6])
{
  mac[0] = 0x02;
  mac[1] = 0x42;
  mac[2] = (unsigned char)(ip >> 24);
  mac[3] = (unsigned char)(ip >> 16);
  mac[4] = (unsigned char)(ip >> 8);
  mac[5] = (unsigned char)ip;
}

static int parse_mac(const char *s, unsigned char mac[6])
{
  unsigned v[6];
  if (!s || sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
    return -1;
  for (int i = 0; i < 6; i++) {
    if (v[i] > 255)
      return -1;
    mac[i] = (unsigned char)v[i];
  }
  return 0;
}

static void veth_name(const char *ctr, const char *net_id, char out[16])
{
  snprintf(out, 16, "vb%.7s%.6s", ctr, net_id);
}

static struct endpoint *ep_find(struct engine_net *n, const char *ctr, const char *net_id)
{
  for (size_t i = 0; i < n->n_eps; i++)
    if (strcmp(n->eps[i]->ctr, ctr) == 0 && (!net_id || strcmp(n->eps[i]->net_id, net_id) == 0))
      return n->eps[i];
  return NULL;
}

static int ep_add(struct engine_net *n, struct endpoint *ep)
{
  struct endpoint **v = realloc(n->eps, (n->n_eps + 1) * sizeof(*v));
  if (!v)
    return -ENOMEM;
  v[n->n_eps++] = ep;
  n->eps = v;
  return 0;
}

int network_attach_locked(struct engine *e, struct container *c, struct net *nt, json_t *epcfg,
                          const char *netns, const char *ifname, bool gateway, json_t **settings,
                          struct berr *err)
{
  struct engine_net *n = e->net;
  if (ep_find(n, c->id, nt->id))
    return berr_set(err, EEXIST, "endpoint with name %s already exists in network %s", c->name,
                    nt->name);
  const char *want_s =
      json_string_value(json_object_get(json_object_get(epcfg, "IPAMConfig"), "IPv4Address"));
  uint32_t want = 0, ip = 0;
  if (want_s && *want_s && netdrv_ip_parse(want_s, &want, err) < 0)
    return -err->code;
  if (want && nt->is_default)
    return berr_set(err, 0, "user specified IP address is supported on user defined networks only");
  if (netdrv_ipam_request(e->db, nt->id, &nt->subnet, nt->has_range ? &nt->range : NULL,
                          nt->gateway, want, c->id, &ip, err) < 0)
    return -err->code;
  struct endpoint *ep = calloc(1, sizeof(*ep));
  if (!ep) {
    struct berr ignored;
    netdrv_ipam_release(e->db, nt->id, c->id, &ignored);
    return berr_set(err, ENOMEM, "endpoint");
  }
  snprintf(ep->ctr, sizeof(ep->ctr), "%s", c->id);
  snprintf(ep->net_id, sizeof(ep->net_id), "%s", nt->id);
  ep->ctr_name = strdup(c->name ? c->name : "");
  ep->ip = ip;
  network_random_id(ep->endpoint_id);
  const char *mac_s = json_string_value(json_object_get(epcfg, "MacAddress"));
  if (!mac_s || !*mac_s)
    mac_s =
        gateway
            ? json_string_value(json_object_get(json_object_get(c->doc, "Config"), "MacAddress"))
            : NULL;
  if (!mac_s || !*mac_s || parse_mac(mac_s, ep->mac) < 0)
    mac_for(ip, ep->mac);
  veth_name(c->id, nt->id, ep->veth);
  if (nt->has_v6)
    netdrv_ip6_from_v4(&nt->subnet6, ip & ~netdrv_cidr_mask(nt->subnet.prefix), &ep->ip6);
  json_t *aliases = json_object_get(epcfg, "Aliases");
  if (json_array_size(aliases))
    ep->aliases = json_incref(aliases);
  struct netdrv_endpoint_link l = {.bridge = nt->bridge,
                                   .host_name = ep->veth,
                                   .netns = netns,
                                   .ifname = ifname,
                                   .ip = ip,
                                   .prefix = nt->subnet.prefix,
                                   .gateway = gateway && !nt->internal ? nt->gateway : 0,
                                   .mac = ep->mac,
                                   .mtu = nt->mtu,
                                   .ip6 = nt->has_v6 ? &ep->ip6 : NULL,
                                   .prefix6 = nt->subnet6.prefix,
                                   .gateway6 = gateway && !nt->internal ? &nt->gateway6 : NULL};
  if (netdrv_endpoint_link_add(&l, err) < 0 || ep_add(n, ep) < 0) {
    struct berr ignored;
    netdrv_link_delete(ep->veth, &ignored);
    netdrv_ipam_release(e->db, nt->id, c->id, &ignored);
    ep_free(ep);
    return err->code ? -err->code : berr_set(err, ENOMEM, "endpoint");
  }
  char ipbuf[16], gwbuf[16], macbuf[18];
  snprintf(macbuf, sizeof(macbuf), "%02x:%02x:%02x:%02x:%02x:%02x", ep->mac[0], ep->mac[1],
           ep->mac[2], ep->mac[3], ep->mac[4], ep->mac[5]);
  json_t *s = network_endpoint_json(nt, epcfg);
  json_object_set_new(s, "IPAddress", json_string(netdrv_ip_str(ip, ipbuf, sizeof(ipbuf))));
  json_object_set_new(s, "IPPrefixLen", json_integer(nt->subnet.prefix));
  json_object_set_new(
      s, "Gateway",
      json_string(nt->internal ? "" : netdrv_ip_str(nt->gateway, gwbuf, sizeof(gwbuf))));
  json_object_set_new(s, "MacAddress", json_string(macbuf));
  json_object_set_new(s, "EndpointID", json_string(ep->endpoint_id));
  if (nt->has_v6) {
    char ip6[INET6_ADDRSTRLEN], gw6[INET6_ADDRSTRLEN];
    json_object_set_new(s, "GlobalIPv6Address",
                        json_string(netdrv_ip6_str(&ep->ip6, ip6, sizeof(ip6))));
    json_object_set_new(s, "GlobalIPv6PrefixLen", json_integer(nt->subnet6.prefix));
    json_object_set_new(
        s, "IPv6Gateway",
        json_string(nt->internal ? "" : netdrv_ip6_str(&nt->gateway6, gw6, sizeof(gw6))));
  }
  if (!nt->is_default) {
    char short_id[13];
    snprintf(short_id, sizeof(short_id), "%.12s", c->id);
    json_t *names = json_pack("[s,s]", c->name ? c->name : "", short_id);
    if (aliases)
      json_array_extend(names, aliases);
    json_object_set_new(s, "DNSNames", names);
  }
  *settings = s;
  return 0;
}

void network_endpoint_event(struct engine *e, const char *action, const char *ctr,
                            const struct net *nt)
{
  events_emit(&e->events, "network", action, nt->id,
              json_pack("{s:s,s:s,s:s}", "container", ctr, "name", nt->name, "type", "bridge"));
}

/* Docker tells subscribers of every endpoint a stopping container loses (net lock held,
 * before the endpoints go). */
static void detach_events_locked(struct engine *e, const char *ctr)
{
  struct engine_net *n = e->net;
  for (size_t i = 0; i < n->n_eps; i++)
    if (strcmp(n->eps[i]->ctr, ctr) == 0) {
      struct net *nt = network_find_locked(n, n->eps[i]->net_id);
      if (nt)
        network_endpoint_event(e, "disconnect", ctr, nt);
    }
}

void network_detach_locked(struct engine *e, const char *ctr, const char *net_id)
{
  struct engine_net *n = e->net;
  struct berr ignored;
  for (size_t i = 0; i < n->n_eps;) {
    struct endpoint *ep = n->eps[i];
    if (strcmp(ep->ctr, ctr) == 0 && (!net_id || strcmp(ep->net_id, net_id) == 0)) {
      netdrv_link_delete(ep->veth, &ignored);
      netdrv_ipam_release(e->db, ep->net_id, ctr, &ignored);
      n->eps[i] = n->eps[--n->n_eps];
      ep_free(ep);
    } else {
      i++;
    }
  }
}

static struct ctr_ports *ports_find(struct engine_net *n, const char *ctr)
{
  for (size_t i = 0; i < n->n_ports; i++)
    if (strcmp(n->ports[i].ctr, ctr) == 0)
      return &n->ports[i];
  return NULL;
}

static bool ports_drop(struct engine_net *n, const char *ctr)
{
  struct ctr_ports *p = ports_find(n, ctr);
  if (!p)
    return false;
  netdrv_ports_release(p->ports, p->n);
  free(p->ports);
  *p = n->ports[--n->n_ports];
  return true;
}

static int ports_add(struct engine_net *n, const char *ctr, struct netdrv_port *ports, size_t np,
                     uint32_t ip)
{
  struct ctr_ports *v = realloc(n->ports, (n->n_ports + 1) * sizeof(*v));
  if (!v)
    return -ENOMEM;
  n->ports = v;
  struct ctr_ports *p = &v[n->n_ports++];
  memset(p, 0, sizeof(*p));
  snprintf(p->ctr, sizeof(p->ctr), "%s", ctr);
  p->ports = ports;
  p->n = np;
  p->ip = ip;
  return 0;
}

static bool on_user_network(struct engine_net *n, const char *ctr)
{
  for (size_t i = 0; i < n->n_eps; i++)
    if (strcmp(n->eps[i]->ctr, ctr) == 0) {
      struct net *nt = network_find_locked(n, n->eps[i]->net_id);
      if (nt && !nt->is_default)
        return true;
    }
  return false;
}

static uint32_t default_gateway(struct engine_net *n)
{
  for (size_t i = 0; i < n->n_nets; i++)
    if (n->nets[i]->is_default)
      return n->nets[i]->gateway;
  return 0;
}

static int write_etc(struct engine *e, struct container *c, uint32_t ip, const struct in6_addr *ip6,
                     bool embedded, uint32_t host_gateway, struct berr *err)
{
  char dir[PATH_MAX], hosts[PATH_MAX], resolv[PATH_MAX];
  sup_container_dir(e, c->id, dir, sizeof(dir));
  snprintf(hosts, sizeof(hosts), "%s/hosts", dir);
  snprintf(resolv, sizeof(resolv), "%s/resolv.conf", dir);
  json_t *cfg = json_object_get(c->doc, "Config");
  json_t *hc = json_object_get(c->doc, "HostConfig");
  struct netdrv_hosts h = {
      .hostname = json_string_value(json_object_get(cfg, "Hostname")) ?: "",
      .domainname = json_string_value(json_object_get(cfg, "Domainname")),
      .ip = ip,
      .ip6 = ip6,
      .extra = json_object_get(hc, "ExtraHosts"),
      .host_gateway = host_gateway,
  };
  struct netdrv_resolv rv = {.host_resolv = HOST_RESOLV,
                             .embedded = embedded,
                             .dns = json_object_get(hc, "Dns"),
                             .search = json_object_get(hc, "DnsSearch"),
                             .options = json_object_get(hc, "DnsOptions")};
  if (netdrv_hosts_write(hosts, &h, err) < 0 || netdrv_resolv_write(resolv, &rv, err) < 0)
    return -err->code;
  return 0;
}

int network_resolv_embedded(struct engine *e, struct container *c, struct berr *err)
{
  char resolv[PATH_MAX];
  sup_container_dir(e, c->id, resolv, sizeof(resolv));
  strncat(resolv, "/resolv.conf", sizeof(resolv) - strlen(resolv) - 1);
  json_t *hc = json_object_get(c->doc, "HostConfig");
  struct netdrv_resolv rv = {.host_resolv = HOST_RESOLV,
                             .embedded = true,
                             .dns = json_object_get(hc, "Dns"),
                             .search = json_object_get(hc, "DnsSearch"),
                             .options = json_object_get(hc, "DnsOptions"),
                             .in_place = true};
  return netdrv_resolv_write(resolv, &rv, err);
}

/* Undo a partial start (net lock held). */
static void start_undo_locked(struct engine *e, struct container *c, const char *netns)
{
  struct engine_net *n = e->net;
  if (ports_drop(n, c->id)) {
    struct berr ignored;
    network_apply_rules_locked(e, &ignored);
  }
  netdrv_dns_remove(n->dns, c->id);
  network_detach_locked(e, c->id, NULL);
  struct berr ignored;
  netdrv_ipam_release(e->db, NULL, c->id, &ignored);
  if (netns && *netns)
    netdrv_netns_remove(netns, &ignored);
}

/* The list form of NetworkSettings.Ports that /containers/json shows (read by
 * jobs_container_info.c as NetworkSettings.PortsSummary). */
static json_t *ports_summary(json_t *ports)
{
  json_t *out = json_array();
  const char *k;
  json_t *v;
  json_object_foreach(ports, k, v)
  {
    int port = 0;
    char proto[8] = "tcp";
    if (sscanf(k, "%d/%7s", &port, proto) < 1)
      continue;
    if (!json_array_size(v))
      json_array_append_new(out, json_pack("{s:i,s:s}", "PrivatePort", port, "Type", proto));
    size_t i;
    json_t *b;
    json_array_foreach(v, i, b)
    {
      json_array_append_new(
          out,
          json_pack("{s:s,s:i,s:i,s:s}", "IP",
                    json_string_value(json_object_get(b, "HostIp")) ?: "0.0.0.0", "PrivatePort",
                    port, "PublicPort",
                    atoi(json_string_value(json_object_get(b, "HostPort")) ?: "0"), "Type", proto));
    }
  }
  return out;
}

int network_container_start(struct engine *e, struct container *c, char *netns, size_t len,
                            struct berr *err)
{
  struct engine_net *n = e->net;
  const char *mode = net_mode(c);
  netns[0] = '\0';
  if (strcmp(mode, "host") == 0)
    return write_etc(e, c, 0, NULL, false, 0, err);
  if (strncmp(mode, "container:", 10) == 0) {
    pthread_mutex_lock(&e->lock);
    struct container *o = repo_find(e, mode + 10, err);
    int r = 0;
    if (!o)
      r = berr_wrap(err, "join network of container");
    else if (o->state != CTR_RUNNING && o->state != CTR_PAUSED)
      r = berr_set(err, 0, "cannot join network of a non running container: %s", mode + 10);
    else if (strcmp(net_mode(o), "host") == 0)
      r = berr_set(err, 0, "cannot join the network of container %s: it uses the host's network",
                   mode + 10);
    else {
      network_netns_path(e, o->id, netns, len);
      if (access(netns, F_OK) < 0)
        snprintf(netns, len, "/proc/%lld/ns/net",
                 (long long)json_integer_value(
                     json_object_get(json_object_get(o->doc, "State"), "Pid")));
    }
    pthread_mutex_unlock(&e->lock);
    return r < 0 ? r : write_etc(e, c, 0, NULL, false, 0, err);
  }

  network_netns_path(e, c->id, netns, len);
  struct berr ignored;
  netdrv_netns_remove(netns, &ignored); /* a leftover of a crash mid-start */
  if (netdrv_netns_create(netns, err) < 0 || netdrv_netns_lo_up(netns, err) < 0) {
    netdrv_netns_remove(netns, &ignored);
    return berr_wrap(err, "network namespace");
  }
  json_t *nets = json_object_get(json_object_get(c->doc, "NetworkSettings"), "Networks");
  json_auto_t *done = json_object();
  json_auto_t *ports_json = NULL;
  uint32_t primary_ip = 0;
  struct in6_addr primary_ip6 = IN6ADDR_ANY_INIT;
  struct net *primary = NULL;
  int ifn = 0;
  pthread_mutex_lock(&n->lock);
  const char *k;
  json_t *epcfg;
  json_object_foreach(strcmp(mode, "none") == 0 ? NULL : nets, k, epcfg)
  {
    const char *nid = json_string_value(json_object_get(epcfg, "NetworkID"));
    struct net *nt = network_find_locked(n, nid && *nid ? nid : k);
    if (!nt) {
      berr_set(err, ENOENT, "network %s not found", k);
      goto fail;
    }
    char ifname[16];
    snprintf(ifname, sizeof(ifname), "eth%d", ifn);
    json_t *s = NULL;
    if (network_attach_locked(e, c, nt, epcfg, netns, ifname, ifn == 0, &s, err) < 0) {
      berr_wrap(err, "attach to network %s", nt->name);
      goto fail;
    }
    json_object_set_new(done, nt->name, s);
    if (ifn++ == 0) {
      primary = nt;
      primary_ip = ep_find(n, c->id, nt->id)->ip;
      primary_ip6 = ep_find(n, c->id, nt->id)->ip6;
    }
  }
  {
    json_t *hc = json_object_get(c->doc, "HostConfig");
    json_t *exposed = json_object_get(json_object_get(c->doc, "Config"), "ExposedPorts");
    struct netdrv_port *ports = NULL;
    size_t np = 0;
    if (primary) {
      if (netdrv_ports_from_config(json_object_get(hc, "PortBindings"), exposed,
                                   json_is_true(json_object_get(hc, "PublishAllPorts")), &ports,
                                   &np, err) < 0)
        goto fail;
      if (netdrv_ports_reserve(ports, np, err) < 0) {
        free(ports);
        goto fail;
      }
      if (np && ports_add(n, c->id, ports, np, primary_ip) < 0) {
        netdrv_ports_release(ports, np);
        free(ports);
        berr_set(err, ENOMEM, "ports");
        goto fail;
      }
      if (!np)
        free(ports);
      if (np && network_apply_rules_locked(e, err) < 0)
        goto fail;
    }
    struct ctr_ports *cp = ports_find(n, c->id);
    ports_json = netdrv_ports_json(cp ? cp->ports : NULL, cp ? cp->n : 0, exposed);
  }
  bool embedded = on_user_network(n, c->id);
  if (embedded && netdrv_dns_add(n->dns, c->id, netns, err) < 0)
    goto fail;
  uint32_t host_gw = primary && !primary->internal ? primary->gateway : default_gateway(n);
  pthread_mutex_unlock(&n->lock);
  if (write_etc(e, c, primary_ip, primary && primary->has_v6 ? &primary_ip6 : NULL, embedded,
                host_gw, err) < 0) {
    pthread_mutex_lock(&n->lock);
    start_undo_locked(e, c, netns);
    pthread_mutex_unlock(&n->lock);
    return -err->code;
  }
  /* as Docker: a network "connect" event per network before the container's "start" */
  pthread_mutex_lock(&n->lock);
  json_object_foreach(done, k, epcfg)
  {
    struct net *nt = network_find_locked(n, k);
    if (nt)
      network_endpoint_event(e, "connect", c->id, nt);
  }
  pthread_mutex_unlock(&n->lock);

  pthread_mutex_lock(&e->lock);
  json_t *ns = json_object_get(c->doc, "NetworkSettings");
  json_object_update_existing(json_object_get(ns, "Networks"), done);
  json_object_set(ns, "Ports", ports_json);
  json_object_set_new(ns, "PortsSummary", ports_summary(ports_json));
  json_object_set_new(ns, "SandboxKey", json_string(netns));
  json_object_set_new(ns, "SandboxID", json_string(c->id));
  json_t *first = primary ? json_object_get(done, primary->name) : NULL;
  if (primary && primary->is_default) {
    static const char *const keys[] = {"EndpointID", "Gateway", "IPAddress", "IPPrefixLen",
                                       "MacAddress"};
    for (size_t i = 0; i < 5; i++)
      json_object_set(ns, keys[i], json_object_get(first, keys[i]));
    json_object_set_new(ns, "Bridge", json_string(primary->bridge));
  }
  pthread_mutex_unlock(&e->lock);
  return 0;

fail:
  start_undo_locked(e, c, netns);
  pthread_mutex_unlock(&n->lock);
  return -err->code;
}

void network_container_stop(struct engine *e, struct container *c)
{
  struct engine_net *n = e->net;
  if (!n)
    return;
  const char *mode = net_mode(c);
  pthread_mutex_lock(&n->lock);
  bool had_ports = ports_drop(n, c->id);
  netdrv_dns_remove(n->dns, c->id);
  detach_events_locked(e, c->id);
  network_detach_locked(e, c->id, NULL);
  struct berr err;
  netdrv_ipam_release(e->db, NULL, c->id, &err);
  if (had_ports && network_apply_rules_locked(e, &err) < 0)
    blog(BLOG_WARN, "container %s: %s", c->id, err.msg);
  pthread_mutex_unlock(&n->lock);
  if (strcmp(mode, "host") != 0 && strncmp(mode, "container:", 10) != 0) {
    char netns[PATH_MAX];
    network_netns_path(e, c->id, netns, sizeof(netns));
    if (netdrv_netns_remove(netns, &err) < 0)
      blog(BLOG_WARN, "container %s: %s", c->id, err.msg);
  }
  /* Docker's stopped container: its networks stay listed, without addresses. */
  json_t *ns = json_object_get(c->doc, "NetworkSettings");
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(ns, "Networks"), k, v)
  {
    static const char *const keys[] = {"EndpointID", "Gateway",           "IPAddress",
                                       "MacAddress", "GlobalIPv6Address", "IPv6Gateway"};
    for (size_t i = 0; i < 6; i++)
      json_object_set_new(v, keys[i], json_string(""));
    json_object_set_new(v, "IPPrefixLen", json_integer(0));
    json_object_set_new(v, "GlobalIPv6PrefixLen", json_integer(0));
    json_object_set_new(v, "DNSNames", json_null());
  }
  static const char *const top[] = {"EndpointID", "Gateway",   "IPAddress", "MacAddress",
                                    "SandboxKey", "SandboxID", "Bridge"};
  for (size_t i = 0; ns && i < 7; i++)
    json_object_set_new(ns, top[i], json_string(""));
  if (ns) {
    json_object_set_new(ns, "IPPrefixLen", json_integer(0));
    json_object_set_new(ns, "Ports", json_object());
    json_object_del(ns, "PortsSummary");
  }
}

/* Rebuild what a running container had from its document (net lock held). */
static void recover_container(struct engine *e, struct container *c)
{
  struct engine_net *n = e->net;
  json_t *ns = json_object_get(c->doc, "NetworkSettings");
  const char *k;
  json_t *v;
  uint32_t primary_ip = 0;
  json_object_foreach(json_object_get(ns, "Networks"), k, v)
  {
    const char *ip_s = json_string_value(json_object_get(v, "IPAddress"));
    struct net *nt = network_find_locked(n, json_string_value(json_object_get(v, "NetworkID")));
    uint32_t ip;
    struct berr err;
    if (!nt || !ip_s || !*ip_s || netdrv_ip_parse(ip_s, &ip, &err) < 0)
      continue;
    struct endpoint *ep = calloc(1, sizeof(*ep));
    if (!ep)
      continue;
    snprintf(ep->ctr, sizeof(ep->ctr), "%s", c->id);
    snprintf(ep->net_id, sizeof(ep->net_id), "%s", nt->id);
    snprintf(ep->endpoint_id, sizeof(ep->endpoint_id), "%s",
             json_string_value(json_object_get(v, "EndpointID")) ?: "");
    ep->ctr_name = strdup(c->name ? c->name : "");
    ep->ip = ip;
    if (parse_mac(json_string_value(json_object_get(v, "MacAddress")), ep->mac) < 0)
      mac_for(ip, ep->mac);
    veth_name(c->id, nt->id, ep->veth);
    if (nt->has_v6)
      netdrv_ip6_from_v4(&nt->subnet6, ip & ~netdrv_cidr_mask(nt->subnet.prefix), &ep->ip6);
    json_t *aliases = json_object_get(v, "Aliases");
    if (json_array_size(aliases))
      ep->aliases = json_incref(aliases);
    if (ep_add(n, ep) < 0) {
      ep_free(ep);
      continue;
    }
    if (!primary_ip)
      primary_ip = ip;
  }
  /* Published ports: the host ports chosen at start, reserved again. */
  json_t *ports = json_object_get(ns, "Ports");
  size_t np = 0;
  json_object_foreach(ports, k, v)
  {
    np += json_array_size(v);
  }
  if (np && primary_ip) {
    struct netdrv_port *p = calloc(np, sizeof(*p));
    size_t i = 0;
    json_object_foreach(ports, k, v)
    {
      size_t j;
      json_t *b;
      json_array_foreach(v, j, b)
      {
        if (!p)
          break;
        struct netdrv_port *q = &p[i];
        memset(q, 0, sizeof(*q));
        q->fd = -1;
        int cport = 0;
        char proto[8] = "tcp";
        sscanf(k, "%d/%7s", &cport, proto);
        snprintf(q->proto, sizeof(q->proto), "%s", proto);
        q->container_port = cport;
        q->host_port = atoi(json_string_value(json_object_get(b, "HostPort")) ?: "0");
        struct berr err;
        const char *hip = json_string_value(json_object_get(b, "HostIp"));
        if (hip && strcmp(hip, "0.0.0.0") != 0)
          netdrv_ip_parse(hip, &q->host_ip, &err);
        struct berr werr;
        if (netdrv_ports_reserve(q, 1, &werr) < 0)
          blog(BLOG_WARN, "container %s: %s", c->id, werr.msg);
        i++;
      }
    }
    if (p && ports_add(n, c->id, p, i, primary_ip) < 0) {
      netdrv_ports_release(p, i);
      free(p);
    }
  }
  if (on_user_network(n, c->id)) {
    char path[PATH_MAX];
    struct berr err;
    network_netns_path(e, c->id, path, sizeof(path));
    if (netdrv_dns_add(n->dns, c->id, path, &err) < 0)
      blog(BLOG_WARN, "container %s: resolver: %s", c->id, err.msg);
  }
}

static bool running_id(struct engine *e, const char *id)
{
  for (size_t i = 0; i < e->n_ctrs; i++)
    if (strcmp(e->ctrs[i]->id, id) == 0)
      return e->ctrs[i]->state == CTR_RUNNING || e->ctrs[i]->state == CTR_PAUSED;
  return false;
}

void network_recover(struct engine *e)
{
  struct engine_net *n = e->net;
  pthread_mutex_lock(&e->lock);
  pthread_mutex_lock(&n->lock);
  for (size_t i = 0; i < e->n_ctrs; i++)
    if (running_id(e, e->ctrs[i]->id))
      recover_container(e, e->ctrs[i]);
  /* Addresses and namespaces of containers that do not run (a crash mid-start, or they
   * ended while berthd was away) are released. */
  struct berr err;
  _cleanup_strv_ char **owners = NULL;
  if (netdrv_ipam_owners(e->db, &owners, &err) == 0)
    for (char **o = owners; *o; o++)
      if (!running_id(e, *o))
        netdrv_ipam_release(e->db, NULL, *o, &err);
  char dir[PATH_MAX];
  snprintf(dir, sizeof(dir), "%s/netns", e->cfg.exec_root);
  _cleanup_closedir_ DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (de->d_name[0] == '.' || running_id(e, de->d_name))
      continue;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
    netdrv_netns_remove(path, &err);
  }
  if (network_apply_rules_locked(e, &err) < 0)
    blog(BLOG_ERROR, "network rules: %s", err.msg);
  pthread_mutex_unlock(&n->lock);
  pthread_mutex_unlock(&e->lock);
}

void network_shutdown(struct engine *e)
{
  struct engine_net *n = e->net;
  if (!n)
    return;
  if (n->dns)
    netdrv_dns_free(n->dns);
  bool any_running = false;
  for (size_t i = 0; i < e->n_ctrs; i++)
    any_running |= e->ctrs[i]->state == CTR_RUNNING || e->ctrs[i]->state == CTR_PAUSED;
  struct berr err;
  /* Devices and rules exist while the daemon or a container of it runs; they are made
   * again from the database at the next start. */
  if (!any_running) {
    for (size_t i = 0; i < n->n_nets; i++)
      netdrv_link_delete(n->nets[i]->bridge, &err);
    char marker[PATH_MAX];
    nat_marker_path(e, marker, sizeof(marker));
    /* the marker, or bridges of this run: a table whose marker could not be written is not
     * left behind either */
    if ((n->n_nets > 0 || access(marker, F_OK) == 0) && network_nft(n, &err) &&
        netdrv_nat_remove(n->nft, n->table, &err) == 0)
      unlink(marker);
  }
  netdrv_nft_free(n->nft);
  for (size_t i = 0; i < n->n_ports; i++) {
    netdrv_ports_release(n->ports[i].ports, n->ports[i].n);
    free(n->ports[i].ports);
  }
  free(n->ports);
  for (size_t i = 0; i < n->n_eps; i++)
    ep_free(n->eps[i]);
  free(n->eps);
  for (size_t i = 0; i < n->n_nets; i++)
    net_free(n->nets[i]);
  free(n->nets);
  pthread_mutex_destroy(&n->lock);
  free(n);
  e->net = NULL;
}

static bool name_is(const char *a, const char *b)
{
  size_t la = strlen(a);
  if (la && a[la - 1] == '.')
    la--;
  return strlen(b) == la && strncasecmp(a, b, la) == 0;
}

static void lookup(void *ctx, const char *key, const char *name, struct netdrv_dns_addrs *out)
{
  struct engine *e = ctx;
  struct engine_net *n = e->net;
  /* The engine lock first (the order everyone keeps): names are the containers' current
   * ones, so a renamed container answers to its new name. */
  pthread_mutex_lock(&e->lock);
  pthread_mutex_lock(&n->lock);
  for (size_t i = 0; i < n->n_eps; i++) {
    if (strcmp(n->eps[i]->ctr, key) != 0)
      continue;
    struct net *nt = network_find_locked(n, n->eps[i]->net_id);
    if (!nt || nt->is_default)
      continue;
    for (size_t j = 0; j < n->n_eps && out->n4 < NETDRV_DNS_MAX_ADDRS; j++) {
      struct endpoint *ep = n->eps[j];
      if (strcmp(ep->net_id, nt->id) != 0)
        continue;
      char short_id[13];
      snprintf(short_id, sizeof(short_id), "%.12s", ep->ctr);
      const char *cur = ep->ctr_name;
      for (size_t k = 0; k < e->n_ctrs; k++)
        if (strcmp(e->ctrs[k]->id, ep->ctr) == 0 && e->ctrs[k]->name)
          cur = e->ctrs[k]->name;
      bool match = name_is(name, cur) || name_is(name, short_id);
      size_t a;
      json_t *v;
      json_array_foreach(ep->aliases, a, v)
      {
        match |= name_is(name, json_string_value(v) ?: "");
      }
      if (!match)
        continue;
      out->v4[out->n4++] = ep->ip;
      if (nt->has_v6)
        out->v6[out->n6++] = ep->ip6;
    }
  }
  pthread_mutex_unlock(&n->lock);
  pthread_mutex_unlock(&e->lock);
}

bool network_in_use_locked(struct engine_net *n, const char *net_id)
{
  for (size_t i = 0; i < n->n_eps; i++)
    if (strcmp(n->eps[i]->net_id, net_id) == 0)
      return true;
  return false;
}

int network_dns_add(struct engine *e, const char *id, const char *netns, struct berr *err)
{
  return netdrv_dns_add(e->net->dns, id, netns, err);
}

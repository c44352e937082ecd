/* The engine's side of networking: the networks (a table in berth.db), each container's
 * endpoints (veth, address, published ports, DNS) set up through src/networkdriver at
 * start and released at stop, and the reconciliation after a restart or crash. */
#pragma once

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"
#include "networkdriver/cidr.h"
#include "networkdriver/cidr6.h"
#include "networkdriver/portmap.h"

struct engine;
struct container;
struct netdrv_dns;

struct net {
  char id[65];
  char *name;
  char bridge[16];
  struct netdrv_cidr subnet;
  uint32_t gateway;
  struct netdrv_cidr range;
  bool has_range;
  bool internal;
  bool is_default; /* the built-in "bridge" network: no embedded DNS */
  int mtu;         /* com.docker.network.driver.mtu; 0: the kernel's default */
  bool has_v6;     /* EnableIPv6: the second IPAM.Config entry is its IPv6 subnet */
  struct netdrv_cidr6 subnet6;
  struct in6_addr gateway6; /* made from the IPv4 gateway's host bits (cidr6.h) */
  json_t *doc;              /* Docker's network JSON, without Containers */
};

/* A container's attachment to one network while it runs. */
struct endpoint {
  char ctr[65];
  char *ctr_name;
  char net_id[65];
  char endpoint_id[65];
  uint32_t ip;
  unsigned char mac[6];
  char veth[16];
  struct in6_addr ip6; /* on an IPv6 network (made from ip) */
  json_t *aliases;     /* array of strings, or NULL */
};

struct ctr_ports {
  char ctr[65];
  struct netdrv_port *ports;
  size_t n;
  uint32_t ip; /* where they go */
};

struct netdrv_nft;

struct engine_net {
  pthread_mutex_t lock; /* after the engine lock, never before it */
  struct net **nets;
  size_t n_nets;
  struct endpoint **eps;
  size_t n_eps;
  struct ctr_ports *ports;
  size_t n_ports;
  char table[64];
  struct netdrv_nft *nft; /* made on the first rules change, reused after (nat.h) */
  struct netdrv_dns *dns;
};

int network_init(struct engine *e, struct berr *err);
/* After lifecycle_recover: endpoints, ports and resolvers of running containers back in
 * memory; addresses, namespaces and rules of the others released. */
void network_recover(struct engine *e);
void network_shutdown(struct engine *e);

/* NetworkSettings of a new container (create): its networks must exist. */
int network_settings_new(struct engine *e, json_t *body, json_t *host, json_t **out,
                         struct berr *err);
/* Before the container starts (engine lock not held, c busy): its namespace at netns
 * ("" for host mode), interfaces, addresses, ports, /etc files; the doc is updated. */
int network_container_start(struct engine *e, struct container *c, char *netns, size_t len,
                            struct berr *err);
/* After it stopped (engine lock held): everything of it released. Idempotent. */
void network_container_stop(struct engine *e, struct container *c);

/* For the jobs (net lock held). */
struct net *network_find_locked(struct engine_net *n, const char *ref);
int network_apply_rules_locked(struct engine *e, struct berr *err);
int network_attach_locked(struct engine *e, struct container *c, struct net *nt, json_t *epcfg,
                          const char *netns, const char *ifname, bool gateway, json_t **settings,
                          struct berr *err);
void network_detach_locked(struct engine *e, const char *ctr, const char *net_id);
void network_netns_path(struct engine *e, const char *id, char *buf, size_t len);
json_t *network_endpoint_json(const struct net *nt, json_t *epcfg);
int network_db_save(struct engine *e, struct net *nt, struct berr *err);
/* A running container joined its first user network: its /etc/resolv.conf now names the
 * embedded resolver, 127.0.0.11, as Docker's does (both locks held). */
int network_resolv_embedded(struct engine *e, struct container *c, struct berr *err);
/* Docker's network event for an endpoint: "connect" or "disconnect" (net lock held, so nt
 * lives), with the container, the network's name and its driver as attributes. */
void network_endpoint_event(struct engine *e, const char *action, const char *ctr,
                            const struct net *nt);
int network_db_delete(struct engine *e, const char *id, struct berr *err);
int network_add_locked(struct engine_net *n, struct net *nt);
void network_drop_locked(struct engine_net *n, struct net *nt); /* frees nt */
int network_from_doc(json_t *doc, struct net **out, struct berr *err);
/* The network's bridge exists, is up and holds its gateway addresses (create, start). */
int network_bridge_up(const struct net *nt, struct berr *err);
int network_pick_subnet(struct engine *e, struct netdrv_cidr *out, struct berr *err);
void network_random_id(char out[65]);
json_t *network_doc_new(const char *id, const char *name, const struct netdrv_cidr *subnet,
                        uint32_t gateway, const char *range, bool internal, json_t *options,
                        json_t *labels);
/* Serve the embedded resolver in a running container's namespace (connect). */
int network_dns_add(struct engine *e, const char *id, const char *netns, struct berr *err);
/* Is any running container attached to the network? */
bool network_in_use_locked(struct engine_net *n, const char *net_id);

/* Links, addresses and routes through libnl-route-3 (see link.h). */
#include "link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "netns.h"

static void sock_freep(struct nl_sock **s)
{
  if (*s)
    nl_socket_free(*s);
}
static void link_putp(struct rtnl_link **l)
{
  if (*l)
    rtnl_link_put(*l);
}
static void addr_putp(struct rtnl_addr **a)
{
  if (*a)
    rtnl_addr_put(*a);
}
static void nladdr_putp(struct nl_addr **a)
{
  if (*a)
    nl_addr_put(*a);
}
static void route_putp(struct rtnl_route **r)
{
  if (*r)
    rtnl_route_put(*r);
}
#define _cleanup_nlsock_ _cleanup_(sock_freep)
#define _cleanup_link_ _cleanup_(link_putp)
#define _cleanup_addr_ _cleanup_(addr_putp)
#define _cleanup_nladdr_ _cleanup_(nladdr_putp)
#define _cleanup_route_ _cleanup_(route_putp)

static int nl_fail(struct berr *err, int r, const char *what, const char *name)
{
  return berr_set(err, 0, "%s %s: %s", what, name, nl_geterror(r));
}

/* A route socket in the calling thread's current network namespace. */
static int route_sock(struct nl_sock **out, struct berr *err)
{
  struct nl_sock *sk = nl_socket_alloc();
  if (!sk)
    return berr_set(err, ENOMEM, "netlink socket");
  int r = nl_connect(sk, NETLINK_ROUTE);
  if (r < 0) {
    nl_socket_free(sk);
    return berr_set(err, 0, "netlink connect: %s", nl_geterror(r));
  }
  *out = sk;
  return 0;
}

static struct nl_addr *v4(uint32_t ip, int prefix)
{
  uint32_t be = htonl(ip);
  struct nl_addr *a = nl_addr_build(AF_INET, &be, 4);
  if (a && prefix >= 0)
    nl_addr_set_prefixlen(a, prefix);
  return a;
}

static struct nl_addr *v6(const struct in6_addr *ip, int prefix)
{
  struct nl_addr *a = nl_addr_build(AF_INET6, ip, 16);
  if (a && prefix >= 0)
    nl_addr_set_prefixlen(a, prefix);
  return a;
}

static int link_up(struct nl_sock *sk, const char *name, struct berr *err)
{
  _cleanup_link_ struct rtnl_link *cur = NULL;
  int r = rtnl_link_get_kernel(sk, 0, name, &cur);
  if (r < 0)
    return nl_fail(err, r, "find link", name);
  _cleanup_link_ struct rtnl_link *chg = rtnl_link_alloc();
  if (!chg)
    return berr_set(err, ENOMEM, "link");
  rtnl_link_set_flags(chg, IFF_UP);
  r = rtnl_link_change(sk, cur, chg, 0);
  return r < 0 ? nl_fail(err, r, "set up", name) : 0;
}

/* local is consumed. */
static int addr_add_nl(struct nl_sock *sk, int ifindex, struct nl_addr *local, const char *name,
                       struct berr *err)
{
  _cleanup_nladdr_ struct nl_addr *l = local;
  _cleanup_addr_ struct rtnl_addr *a = rtnl_addr_alloc();
  if (!a || !l)
    return berr_set(err, ENOMEM, "address");
  rtnl_addr_set_ifindex(a, ifindex);
  rtnl_addr_set_local(a, l);
  /* IPv6: usable at once (our addresses are unique by construction), not after the
   * second or so of duplicate address detection */
  if (nl_addr_get_family(l) == AF_INET6)
    rtnl_addr_set_flags(a, IFA_F_NODAD);
  int r = rtnl_addr_add(sk, a, 0);
  if (r < 0 && r != -NLE_EXIST)
    return nl_fail(err, r, "add address to", name);
  return 0;
}

static int addr_add(struct nl_sock *sk, int ifindex, uint32_t ip, int prefix, const char *name,
                    struct berr *err)
{
  return addr_add_nl(sk, ifindex, v4(ip, prefix), name, err);
}

/* The default route of one family through ifindex; an existing one stays (a second
 * network's interface may not replace the first one's). gw is consumed. */
static int default_route_add(struct nl_sock *sk, int family, struct nl_addr *gw, int ifindex,
                             const char *name, struct berr *err)
{
  _cleanup_nladdr_ struct nl_addr *g = gw;
  _cleanup_route_ struct rtnl_route *rt = rtnl_route_alloc();
  _cleanup_nladdr_ struct nl_addr *dst = NULL;
  if (family == AF_INET6) {
    struct in6_addr any = IN6ADDR_ANY_INIT;
    dst = v6(&any, 0);
  } else {
    dst = v4(0, 0);
  }
  struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
  if (!rt || !dst || !g || !nh) {
    if (nh)
      rtnl_route_nh_free(nh);
    return berr_set(err, ENOMEM, "route");
  }
  rtnl_route_set_family(rt, (uint8_t)family);
  rtnl_route_set_dst(rt, dst);
  rtnl_route_nh_set_gateway(nh, g);
  rtnl_route_nh_set_ifindex(nh, ifindex);
  rtnl_route_add_nexthop(rt, nh);
  int r = rtnl_route_add(sk, rt, NLM_F_CREATE);
  if (r < 0 && r != -NLE_EXIST)
    return nl_fail(err, r, family == AF_INET6 ? "default IPv6 route via" : "default route via",
                   name);
  return 0;
}

bool netdrv_link_exists(const char *name)
{
  return if_nametoindex(name) != 0;
}

int netdrv_bridge_ensure(const char *name, uint32_t gateway, int prefix, int mtu, struct berr *err)
{
  _cleanup_nlsock_ struct nl_sock *sk = NULL;
  if (route_sock(&sk, err) < 0)
    return -err->code;
  int r;
  if (!netdrv_link_exists(name)) {
    _cleanup_link_ struct rtnl_link *br = rtnl_link_bridge_alloc();
    if (!br)
      return berr_set(err, ENOMEM, "bridge");
    rtnl_link_set_name(br, name);
    if (mtu > 0)
      rtnl_link_set_mtu(br, (unsigned)mtu);
    r = rtnl_link_add(sk, br, NLM_F_CREATE);
    if (r < 0 && r != -NLE_EXIST)
      return nl_fail(err, r, "create bridge", name);
  }
  int ifindex = (int)if_nametoindex(name);
  if (!ifindex)
    return berr_errno(err, "bridge %s", name);
  if (addr_add(sk, ifindex, gateway, prefix, name, err) < 0 || link_up(sk, name, err) < 0)
    return -err->code;
  /* The host reaches published ports on 127.0.0.1 through DNAT to a container behind
   * this bridge: the kernel drops packets with a loopback source on other interfaces
   * unless route_localnet is on. */
  char path[128];
  snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/route_localnet", name);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, "1", 1) != 1)
    return berr_errno(err, "set %s", path);
  return 0;
}

int netdrv_bridge_addr6(const char *name, const struct in6_addr *gateway, int prefix,
                        struct berr *err)
{
  _cleanup_nlsock_ struct nl_sock *sk = NULL;
  if (route_sock(&sk, err) < 0)
    return -err->code;
  int ifindex = (int)if_nametoindex(name);
  if (!ifindex)
    return berr_errno(err, "bridge %s", name);
  return addr_add_nl(sk, ifindex, v6(gateway, prefix), name, err);
}

int netdrv_link_delete(const char *name, struct berr *err)
{
  _cleanup_nlsock_ struct nl_sock *sk = NULL;
  if (route_sock(&sk, err) < 0)
    return -err->code;
  _cleanup_link_ struct rtnl_link *l = NULL;
  int r = rtnl_link_get_kernel(sk, 0, name, &l);
  if (r == -NLE_NODEV || r == -NLE_OBJ_NOTFOUND)
    return 0;
  if (r < 0)
    return nl_fail(err, r, "find link", name);
  r = rtnl_link_delete(sk, l);
  if (r < 0 && r != -NLE_NODEV && r != -NLE_OBJ_NOTFOUND)
    return nl_fail(err, r, "delete link", name);
  return 0;
}

/* Inside the namespace (the calling thread is in it): lo up, ifname addressed and up,
 * the default route. */
static int configure_inside(const struct netdrv_endpoint_link *l, struct berr *err)
{
  _cleanup_nlsock_ struct nl_sock *sk = NULL;
  if (route_sock(&sk, err) < 0)
    return -err->code;
  if (link_up(sk, "lo", err) < 0)
    return -err->code;
  if (!l)
    return 0;
  int ifindex = (int)if_nametoindex(l->ifname);
  if (!ifindex)
    return berr_errno(err, "%s in the container", l->ifname);
  if (addr_add(sk, ifindex, l->ip, l->prefix, l->ifname, err) < 0 ||
      link_up(sk, l->ifname, err) < 0)
    return -err->code;
  if (l->ip6 && addr_add_nl(sk, ifindex, v6(l->ip6, l->prefix6), l->ifname, err) < 0)
    return -err->code;
  if (l->gateway && default_route_add(sk, AF_INET, v4(l->gateway, -1), ifindex, l->ifname, err) < 0)
    return -err->code;
  if (l->ip6 && l->gateway6 &&
      default_route_add(sk, AF_INET6, v6(l->gateway6, -1), ifindex, l->ifname, err) < 0)
    return -err->code;
  return 0;
}

int netdrv_endpoint_link_add(const struct netdrv_endpoint_link *l, struct berr *err)
{
  _cleanup_nlsock_ struct nl_sock *sk = NULL;
  if (route_sock(&sk, err) < 0)
    return -err->code;
  _cleanup_close_ int nsfd = open(l->netns, O_RDONLY | O_CLOEXEC);
  if (nsfd < 0)
    return berr_errno(err, "open %s", l->netns);
  int brindex = (int)if_nametoindex(l->bridge);
  if (!brindex)
    return berr_errno(err, "bridge %s", l->bridge);
  _cleanup_link_ struct rtnl_link *veth = rtnl_link_veth_alloc();
  if (!veth)
    return berr_set(err, ENOMEM, "veth");
  struct rtnl_link *peer = rtnl_link_veth_get_peer(veth);
  rtnl_link_set_name(veth, l->host_name);
  rtnl_link_set_master(veth, brindex);
  rtnl_link_set_flags(veth, IFF_UP);
  rtnl_link_set_name(peer, l->ifname);
  rtnl_link_set_ns_fd(peer, nsfd);
  _cleanup_nladdr_ struct nl_addr *mac = nl_addr_build(AF_LLC, l->mac, 6);
  if (mac)
    rtnl_link_set_addr(peer, mac);
  if (l->mtu > 0) {
    rtnl_link_set_mtu(veth, (unsigned)l->mtu);
    rtnl_link_set_mtu(peer, (unsigned)l->mtu);
  }
  int r = rtnl_link_add(sk, veth, NLM_F_CREATE | NLM_F_EXCL);
  rtnl_link_put(peer);
  if (r < 0)
    return nl_fail(err, r, "create veth", l->host_name);
  /* Some kernels ignore IFLA_MASTER/flags on creation of a pair: set them again. */
  _cleanup_link_ struct rtnl_link *cur = NULL;
  if (rtnl_link_get_kernel(sk, 0, l->host_name, &cur) == 0) {
    _cleanup_link_ struct rtnl_link *chg = rtnl_link_alloc();
    if (chg) {
      rtnl_link_set_master(chg, brindex);
      rtnl_link_set_flags(chg, IFF_UP);
      rtnl_link_change(sk, cur, chg, 0);
    }
  }
  /* Hairpin: a container reaching its own published port is DNAT'ed back to itself, out
   * of the bridge port its packet came in on; a bridge does not do that unless asked. */
  char hp[128];
  snprintf(hp, sizeof(hp), "/sys/class/net/%s/brport/hairpin_mode", l->host_name);
  int hfd = open(hp, O_WRONLY | O_CLOEXEC);
  if (hfd >= 0) {
    (void)!write(hfd, "1", 1);
    close(hfd);
  }
  int saved = -1;
  if (netdrv_netns_enter(l->netns, &saved, err) < 0)
    r = -err->code;
  else {
    r = configure_inside(l, err);
    netdrv_netns_leave(saved);
  }
  if (r < 0) {
    struct berr ignored;
    netdrv_link_delete(l->host_name, &ignored);
  }
  return r;
}

int netdrv_netns_lo_up(const char *netns, struct berr *err)
{
  int saved = -1;
  if (netdrv_netns_enter(netns, &saved, err) < 0)
    return -err->code;
  int r = configure_inside(NULL, err);
  netdrv_netns_leave(saved);
  return r;
}

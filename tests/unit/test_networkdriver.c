/* networkdriver pieces that need no namespace: prefix arithmetic, IPAM on a real SQLite
 * database (never the same address twice, the gateway skipped, release by owner, --ip
 * inside and outside the subnet), port bindings parsed and reserved (a held port refused),
 * /etc/hosts + resolv.conf contents, and IPv6 prefixes with addresses made from IPv4 ones. */
#include <arpa/inet.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "common/fileutil.h"
#include "networkdriver/cidr.h"
#include "networkdriver/cidr6.h"
#include "networkdriver/etcfiles.h"
#include "networkdriver/ipam.h"
#include "networkdriver/portmap.h"

static void test_cidr(void)
{
  struct berr err;
  struct netdrv_cidr a, b;
  CHECK(netdrv_cidr_parse("172.18.0.1/16", &a, &err) == 0);
  CHECK(a.prefix == 16 && netdrv_cidr_network(&a) == 0xac120000u);
  CHECK(netdrv_cidr_broadcast(&a) == 0xac12ffffu);
  CHECK(netdrv_cidr_parse("172.18.5.0/24", &b, &err) == 0);
  CHECK(netdrv_cidr_overlap(&a, &b) && netdrv_cidr_overlap(&b, &a));
  CHECK(netdrv_cidr_parse("172.19.0.0/16", &b, &err) == 0 && !netdrv_cidr_overlap(&a, &b));
  CHECK(netdrv_cidr_parse("10.0.0.0/33", &b, &err) < 0);
  CHECK(netdrv_cidr_parse("10.0.0/8", &b, &err) < 0);
  CHECK(netdrv_cidr_parse("10.0.0.0", &b, &err) < 0);
  char buf[32];
  CHECK_STREQ(netdrv_cidr_str(&a, buf, sizeof(buf)), "172.18.0.0/16");
  CHECK(netdrv_cidr_contains(&a, 0xac12abcdu) && !netdrv_cidr_contains(&a, 0xac13abcdu));
}

static void test_cidr6(void)
{
  struct berr err;
  struct netdrv_cidr6 a, b;
  char buf[64];
  CHECK(netdrv_cidr6_parse("fd00:1:2:3::9/64", &a, &err) == 0 && a.prefix == 64);
  CHECK_STREQ(netdrv_cidr6_str(&a, buf, sizeof(buf)), "fd00:1:2:3::/64"); /* host bits gone */
  CHECK(netdrv_cidr6_parse("fd00:1:2:3:4::/80", &b, &err) == 0);
  CHECK(netdrv_cidr6_overlap(&a, &b) && netdrv_cidr6_overlap(&b, &a));
  CHECK(netdrv_cidr6_parse("fd00:1:2:4::/64", &b, &err) == 0 && !netdrv_cidr6_overlap(&a, &b));
  CHECK(netdrv_cidr6_parse("fd00::/129", &b, &err) < 0);
  CHECK(netdrv_cidr6_parse("fd00::", &b, &err) < 0);
  CHECK(netdrv_cidr6_parse("10.0.0.0/8", &b, &err) < 0);
  /* 10.1.2.3 on a /16: host bits 0.0.2.3 */
  struct in6_addr ip;
  netdrv_ip6_from_v4(&a, 0x0203u, &ip);
  CHECK_STREQ(netdrv_ip6_str(&ip, buf, sizeof(buf)), "fd00:1:2:3::203");
  netdrv_ip6_from_v4(&a, 0x00ab0001u, &ip);
  CHECK_STREQ(netdrv_ip6_str(&ip, buf, sizeof(buf)), "fd00:1:2:3::ab:1");
}

static void test_ipam(const char *dir)
{
  char path[4096];
  snprintf(path, sizeof(path), "%s/ipam.db", dir);
  sqlite3 *db = NULL;
  struct berr err;
  CHECK(sqlite3_open(path, &db) == SQLITE_OK);
  CHECK(netdrv_ipam_init(db, &err) == 0);
  struct netdrv_cidr sn;
  netdrv_cidr_parse("10.7.0.0/29", &sn, &err); /* hosts .1-.6, gateway .1 */
  uint32_t gw = 0x0a070001u, ip = 0;
  CHECK(netdrv_ipam_request(db, "n1", &sn, NULL, gw, 0, "c1", &ip, &err) == 0 && ip == gw + 1);
  CHECK(netdrv_ipam_request(db, "n1", &sn, NULL, gw, 0, "c2", &ip, &err) == 0 && ip == gw + 2);
  /* the same address on another network is another address */
  CHECK(netdrv_ipam_request(db, "n2", &sn, NULL, gw, 0, "c1", &ip, &err) == 0 && ip == gw + 1);
  /* asked for: taken, outside, the gateway */
  CHECK(netdrv_ipam_request(db, "n1", &sn, NULL, gw, gw + 1, "c3", &ip, &err) == -EADDRINUSE);
  CHECK(netdrv_ipam_request(db, "n1", &sn, NULL, gw, 0x0a080002u, "c3", &ip, &err) < 0);
  CHECK(netdrv_ipam_request(db, "n1", &sn, NULL, gw, gw, "c3", &ip, &err) < 0);
  CHECK(netdrv_ipam_request(db, "n1", &sn, NULL, gw, gw + 5, "c3", &ip, &err) == 0);
  CHECK(netdrv_ipam_count(db, "n1", &err) == 3);
  /* released by owner: the lowest free address comes back first */
  CHECK(netdrv_ipam_release(db, NULL, "c1", &err) == 0);
  CHECK(netdrv_ipam_count(db, "n2", &err) == 0);
  CHECK(netdrv_ipam_request(db, "n1", &sn, NULL, gw, 0, "c4", &ip, &err) == 0 && ip == gw + 1);
  CHECK(netdrv_ipam_request(db, "n1", &sn, NULL, gw, 0, "c5", &ip, &err) == 0 && ip == gw + 3);
  CHECK(netdrv_ipam_request(db, "n1", &sn, NULL, gw, 0, "c6", &ip, &err) == 0 && ip == gw + 4);
  CHECK(netdrv_ipam_request(db, "n1", &sn, NULL, gw, 0, "c7", &ip, &err) == -ENOSPC);
  /* ip-range limits the automatic choice */
  struct netdrv_cidr range;
  netdrv_cidr_parse("10.7.0.4/30", &range, &err);
  CHECK(netdrv_ipam_request(db, "n3", &sn, &range, gw, 0, "c8", &ip, &err) == 0 && ip == gw + 3);
  char **owners = NULL;
  CHECK(netdrv_ipam_owners(db, &owners, &err) == 0 && owners[0]);
  for (char **o = owners; o && *o; o++)
    free(*o);
  free(owners);
  CHECK(netdrv_ipam_release_network(db, "n1", &err) == 0 && netdrv_ipam_count(db, "n1", &err) == 0);
  sqlite3_close(db);
}

static void test_ports(void)
{
  struct berr err;
  json_t *b = json_pack("{s:[{s:s,s:s}],s:[{s:s,s:s}]}", "80/tcp", "HostIp", "127.0.0.1",
                        "HostPort", "", "53/udp", "HostIp", "", "HostPort", "0");
  json_t *exposed = json_pack("{s:{},s:{}}", "80/tcp", "9000/tcp");
  struct netdrv_port *p = NULL;
  size_t n = 0;
  CHECK(netdrv_ports_from_config(b, exposed, true, &p, &n, &err) == 0 && n == 3);
  CHECK(netdrv_ports_reserve(p, n, &err) == 0);
  CHECK(p[0].host_port > 0 && p[0].host_ip == 0x7f000001u && p[0].fd >= 0);
  /* the same host port again: refused while held */
  struct netdrv_port again = {
      .proto = "tcp", .host_ip = 0x7f000001u, .host_port = p[0].host_port, .fd = -1};
  CHECK(netdrv_ports_reserve(&again, 1, &err) == -EADDRINUSE);
  CHECK(strstr(err.msg, "port is already allocated") != NULL);
  json_t *j = netdrv_ports_json(p, n, exposed);
  CHECK(json_array_size(json_object_get(j, "80/tcp")) == 1);
  CHECK(json_array_size(json_object_get(j, "9000/tcp")) == 1);
  netdrv_ports_release(p, n);
  CHECK(netdrv_ports_reserve(&again, 1, &err) == 0);
  netdrv_ports_release(&again, 1);
  free(p);
  json_decref(j);
  json_decref(b);
  json_t *bad = json_pack("{s:[{s:s}]}", "80/sctp", "HostPort", "1");
  CHECK(netdrv_ports_from_config(bad, NULL, false, &p, &n, &err) < 0);
  json_decref(bad);
  json_decref(exposed);
}

static void test_etc(const char *dir)
{
  char hosts[4096], resolv[4096], host_resolv[4096];
  snprintf(hosts, sizeof(hosts), "%s/hosts", dir);
  snprintf(resolv, sizeof(resolv), "%s/resolv.conf", dir);
  snprintf(host_resolv, sizeof(host_resolv), "%s/host-resolv.conf", dir);
  struct berr err;
  const char *hr = "nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch corp.test\n";
  bf_write_atomic_volatile(host_resolv, hr, strlen(hr), 0644, &err);
  json_t *extra = json_pack("[s,s]", "db:10.1.2.3", "gw:host-gateway");
  struct netdrv_hosts h = {
      .hostname = "box", .ip = 0x0a000002u, .extra = extra, .host_gateway = 0x0a000001u};
  CHECK(netdrv_hosts_write(hosts, &h, &err) == 0);
  char *text = NULL;
  size_t len = 0;
  CHECK(bf_read_all(hosts, &text, &len, &err) == 0);
  CHECK(strstr(text, "10.1.2.3\tdb\n") && strstr(text, "10.0.0.1\tgw\n") &&
        strstr(text, "10.0.0.2\tbox\n"));
  free(text);
  struct netdrv_resolv r = {.host_resolv = host_resolv};
  CHECK(netdrv_resolv_write(resolv, &r, &err) == 0);
  CHECK(bf_read_all(resolv, &text, &len, &err) == 0);
  /* the host's loopback resolver means nothing in the container */
  CHECK(!strstr(text, "127.0.0.53") && strstr(text, "nameserver 192.0.2.53") &&
        strstr(text, "search corp.test"));
  free(text);
  r.embedded = true;
  CHECK(netdrv_resolv_write(resolv, &r, &err) == 0);
  CHECK(bf_read_all(resolv, &text, &len, &err) == 0);
  CHECK(strncmp(text, "nameserver 127.0.0.11\n", 22) == 0 && !strstr(text, "192.0.2.53"));
  free(text);
  json_decref(extra);
}

int main(void)
{
  char dir[] = "/tmp/berth-netdrv-XXXXXX";
  if (!mkdtemp(dir))
    return 1;
  test_cidr();
  test_cidr6();
  test_ipam(dir);
  test_ports();
  test_etc(dir);
  struct berr err;
  bf_rm_rf(dir, &err);
  CHECK_DONE();
}

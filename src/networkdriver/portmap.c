/* Published ports: parsing and reservation (see portmap.h). */
#include "portmap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cidr.h"

static int parse_port_range(const char *s, int *lo, int *hi)
{
  char *end;
  long a = strtol(s, &end, 10), b = a;
  if (end == s)
    return -1;
  if (*end == '-') {
    const char *t = end + 1;
    b = strtol(t, &end, 10);
    if (end == t)
      return -1;
  }
  if (*end || a < 0 || b < a || b > 65535)
    return -1;
  *lo = (int)a;
  *hi = (int)b;
  return 0;
}

static int add(struct netdrv_port **v, size_t *n, const struct netdrv_port *p)
{
  struct netdrv_port *nv = realloc(*v, (*n + 1) * sizeof(*nv));
  if (!nv)
    return -ENOMEM;
  nv[(*n)++] = *p;
  *v = nv;
  return 0;
}

/* "80/tcp" -> 80, "tcp" */
static int parse_key(const char *key, int *port, char proto[4], struct berr *err)
{
  int lo, hi;
  char buf[32];
  snprintf(buf, sizeof(buf), "%s", key);
  char *slash = strchr(buf, '/');
  const char *pr = "tcp";
  if (slash) {
    *slash = '\0';
    pr = slash + 1;
  }
  if (strcmp(pr, "tcp") != 0 && strcmp(pr, "udp") != 0)
    return berr_set(err, 0, "invalid protocol %s in port %s", pr, key);
  if (parse_port_range(buf, &lo, &hi) < 0 || lo != hi || lo == 0)
    return berr_set(err, 0, "invalid port %s", key);
  *port = lo;
  snprintf(proto, 4, "%s", pr);
  return 0;
}

int netdrv_ports_from_config(json_t *bindings, json_t *exposed, bool publish_all,
                             struct netdrv_port **out, size_t *n, struct berr *err)
{
  struct netdrv_port *v = NULL;
  size_t count = 0;
  const char *key;
  json_t *list;
  json_object_foreach(bindings, key, list)
  {
    struct netdrv_port p = {.fd = -1};
    if (parse_key(key, &p.container_port, p.proto, err) < 0)
      goto fail;
    size_t i;
    json_t *b;
    json_array_foreach(list, i, b)
    {
      const char *hip = json_string_value(json_object_get(b, "HostIp"));
      const char *hport = json_string_value(json_object_get(b, "HostPort"));
      p.host_ip = 0;
      if (hip && *hip && strcmp(hip, "0.0.0.0") != 0 && netdrv_ip_parse(hip, &p.host_ip, err) < 0)
        goto fail;
      int lo = 0, hi = 0;
      if (hport && *hport && parse_port_range(hport, &lo, &hi) < 0) {
        berr_set(err, 0, "invalid host port %s", hport);
        goto fail;
      }
      p.host_port = lo;
      p.host_port_last = hi > lo ? hi : 0;
      if (add(&v, &count, &p) < 0)
        goto nomem;
    }
  }
  if (publish_all) {
    json_t *unused;
    json_object_foreach(exposed, key, unused)
    {
      if (json_object_get(bindings, key))
        continue;
      struct netdrv_port p = {.fd = -1};
      if (parse_key(key, &p.container_port, p.proto, err) < 0)
        goto fail;
      if (add(&v, &count, &p) < 0)
        goto nomem;
    }
  }
  *out = v;
  *n = count;
  return 0;
nomem:
  berr_set(err, ENOMEM, "ports");
fail:
  free(v);
  return -err->code;
}

static int bind_one(struct netdrv_port *p, int port)
{
  int fd =
      socket(AF_INET, (strcmp(p->proto, "udp") == 0 ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -errno;
  /* No SO_REUSEADDR: with it Linux lets two sockets that do not listen share a port, and
   * two containers could publish the same one. DNAT'ed connections leave no TIME_WAIT
   * socket of ours behind, so nothing needs it. */
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(p->host_ip)};
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  socklen_t len = sizeof(sa);
  getsockname(fd, (struct sockaddr *)&sa, &len);
  p->host_port = ntohs(sa.sin_port);
  p->fd = fd;
  return 0;
}

int netdrv_ports_reserve(struct netdrv_port *p, size_t n, struct berr *err)
{
  for (size_t i = 0; i < n; i++) {
    int r = -EADDRINUSE;
    if (p[i].host_port_last) {
      for (int port = p[i].host_port; port <= p[i].host_port_last && r < 0; port++)
        r = bind_one(&p[i], port);
    } else {
      r = bind_one(&p[i], p[i].host_port);
    }
    if (r < 0) {
      char ip[16];
      netdrv_ip_str(p[i].host_ip, ip, sizeof(ip));
      netdrv_ports_release(p, i);
      if (r == -EADDRINUSE)
        return berr_set(err, EADDRINUSE, "Bind for %s:%d failed: port is already allocated", ip,
                        p[i].host_port);
      return berr_set(err, -r, "Bind for %s:%d failed", ip, p[i].host_port);
    }
  }
  return 0;
}

void netdrv_ports_release(struct netdrv_port *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (p[i].fd >= 0) {
      close(p[i].fd);
      p[i].fd = -1;
    }
}

json_t *netdrv_ports_json(const struct netdrv_port *p, size_t n, json_t *exposed)
{
  json_t *o = json_object();
  const char *key;
  json_t *unused;
  json_object_foreach(exposed, key, unused)
  {
    if (strchr(key, '/'))
      json_object_set_new(o, key, json_null());
    else {
      char k[32];
      snprintf(k, sizeof(k), "%s/tcp", key);
      json_object_set_new(o, k, json_null());
    }
  }
  for (size_t i = 0; i < n; i++) {
    char k[32], ip[16], port[8];
    snprintf(k, sizeof(k), "%d/%s", p[i].container_port, p[i].proto);
    snprintf(port, sizeof(port), "%d", p[i].host_port);
    json_t *list = json_object_get(o, k);
    if (!json_is_array(list)) {
      list = json_array();
      json_object_set_new(o, k, list);
    }
    json_array_append_new(list,
                          json_pack("{s:s,s:s}", "HostIp",
                                    netdrv_ip_str(p[i].host_ip, ip, sizeof(ip)), "HostPort", port));
  }
  return o;
}

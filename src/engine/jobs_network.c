/* Network jobs: list, inspect, create, delete, prune, connect, disconnect, with Docker's
 * JSON shapes. The built-in host and none networks are constant; "bridge" and
 * user-defined ones live in berth.db (network.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "engine_internal.h"
#include "jobs.h"
#include "network.h"
#include "networkdriver/ipam.h"
#include "networkdriver/link.h"
#include "repository.h"

/* Fail with the message already in job->err (job_fail formats into that same buffer). */
static int fail_with_err(struct job *job, int status)
{
  char msg[sizeof(job->err.msg)];
  snprintf(msg, sizeof(msg), "%s", job->err.msg);
  return job_fail(job, status, "%s", msg);
}

static const char *const builtin[][3] = {
    /* name, driver, id */
    {"host", "host", "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f809"},
    {"none", "null", "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"},
};

static json_t *builtin_json(size_t i)
{
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:{s:s,s:n,s:[]},s:b,s:b,s:b,s:{s:s},s:b,s:{},s:{},"
                   "s:{}}",
                   "Name", builtin[i][0], "Id", builtin[i][2], "Created", "0001-01-01T00:00:00Z",
                   "Scope", "local", "Driver", builtin[i][1], "EnableIPv6", 0, "IPAM", "Driver",
                   "default", "Options", "Config", "Internal", 0, "Attachable", 0, "Ingress", 0,
                   "ConfigFrom", "Network", "", "ConfigOnly", 0, "Containers", "Options", "Labels");
}

/* A container's current name (engine lock held): the endpoint keeps the one it had when
 * it was attached, and `rename` does not tell the network. */
static const char *current_name(struct engine *e, const struct endpoint *ep)
{
  for (size_t k = 0; k < e->n_ctrs; k++)
    if (strcmp(e->ctrs[k]->id, ep->ctr) == 0 && e->ctrs[k]->name)
      return e->ctrs[k]->name;
  return ep->ctr_name;
}

/* Docker's network JSON; Containers filled for inspect (net lock held, and the engine lock
 * when containers). */
static json_t *net_json(struct engine *e, struct net *nt, bool containers)
{
  struct engine_net *n = e->net;
  json_t *j = json_deep_copy(nt->doc);
  json_t *cs = json_object();
  for (size_t i = 0; containers && i < n->n_eps; i++) {
    struct endpoint *ep = n->eps[i];
    if (strcmp(ep->net_id, nt->id) != 0)
      continue;
    char ip[16], cidr[24], mac[18];
    snprintf(cidr, sizeof(cidr), "%s/%d", netdrv_ip_str(ep->ip, ip, sizeof(ip)), nt->subnet.prefix);
    snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", ep->mac[0], ep->mac[1], ep->mac[2],
             ep->mac[3], ep->mac[4], ep->mac[5]);
    char ip6[INET6_ADDRSTRLEN], cidr6[INET6_ADDRSTRLEN + 8] = "";
    if (nt->has_v6)
      snprintf(cidr6, sizeof(cidr6), "%s/%d", netdrv_ip6_str(&ep->ip6, ip6, sizeof(ip6)),
               nt->subnet6.prefix);
    json_object_set_new(cs, ep->ctr,
                        json_pack("{s:s,s:s,s:s,s:s,s:s}", "Name", current_name(e, ep),
                                  "EndpointID", ep->endpoint_id, "MacAddress", mac, "IPv4Address",
                                  cidr, "IPv6Address", cidr6));
  }
  json_object_set_new(j, "Containers", cs);
  return j;
}

static bool label_match(json_t *labels, const char *want)
{
  const char *eq = strchr(want, '=');
  size_t klen = eq ? (size_t)(eq - want) : strlen(want);
  const char *k;
  json_t *v;
  json_object_foreach(labels, k, v)
  {
    if (strlen(k) == klen && strncmp(k, want, klen) == 0 &&
        (!eq || strcmp(json_string_value(v) ?: "", eq + 1) == 0))
      return true;
  }
  return false;
}

/* Docker's network filters: name (substring), id (prefix), label, driver, type, dangling. */
static bool filter_match(json_t *filters, json_t *j, bool builtin_net, bool in_use)
{
  const char *key;
  json_t *vals;
  json_object_foreach(filters, key, vals)
  {
    bool any = false;
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v)
    {
      const char *s = json_string_value(v) ?: "";
      if (strcmp(key, "name") == 0)
        any |= strstr(json_string_value(json_object_get(j, "Name")) ?: "", s) != NULL;
      else if (strcmp(key, "id") == 0)
        any |= strncmp(json_string_value(json_object_get(j, "Id")) ?: "", s, strlen(s)) == 0;
      else if (strcmp(key, "driver") == 0)
        any |= strcmp(json_string_value(json_object_get(j, "Driver")) ?: "", s) == 0;
      else if (strcmp(key, "label") == 0)
        any |= label_match(json_object_get(j, "Labels"), s);
      else if (strcmp(key, "type") == 0)
        any |= strcmp(s, builtin_net ? "builtin" : "custom") == 0;
      else if (strcmp(key, "dangling") == 0)
        any |= (strcmp(s, "true") == 0 || strcmp(s, "1") == 0) == (!in_use && !builtin_net);
      else
        any = true;
    }
    /* label filters all must match; the others any of their values */
    if (strcmp(key, "label") == 0) {
      json_array_foreach(vals, i, v)
      {
        if (!label_match(json_object_get(j, "Labels"), json_string_value(v) ?: ""))
          return false;
      }
    } else if (!any) {
      return false;
    }
  }
  return true;
}

static int job_network_list(struct job *job)
{
  json_t *filters = NULL;
  if (job_query_filters(job, &filters, &job->err) < 0)
    return -job->err.code;
  struct engine_net *n = job->engine->net;
  job->result = json_array();
  pthread_mutex_lock(&n->lock);
  for (size_t i = 0; i < n->n_nets; i++) {
    json_t *j = net_json(job->engine, n->nets[i], false);
    if (filter_match(filters, j, n->nets[i]->is_default, network_in_use_locked(n, n->nets[i]->id)))
      json_array_append_new(job->result, j);
    else
      json_decref(j);
  }
  pthread_mutex_unlock(&n->lock);
  for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
    json_t *j = builtin_json(i);
    if (filter_match(filters, j, true, false))
      json_array_append_new(job->result, j);
    else
      json_decref(j);
  }
  json_decref(filters);
  return 0;
}

static int builtin_find(const char *ref)
{
  for (size_t i = 0; ref && i < sizeof(builtin) / sizeof(builtin[0]); i++)
    if (strcmp(ref, builtin[i][0]) == 0 ||
        (strlen(ref) >= 3 && strncmp(builtin[i][2], ref, strlen(ref)) == 0))
      return (int)i;
  return -1;
}

static int job_network_inspect(struct job *job)
{
  const char *ref = job_path(job, "id");
  struct engine *e = job->engine;
  struct engine_net *n = e->net;
  pthread_mutex_lock(&e->lock);
  pthread_mutex_lock(&n->lock);
  struct net *nt = network_find_locked(n, ref);
  if (nt)
    job->result = net_json(e, nt, true);
  pthread_mutex_unlock(&n->lock);
  pthread_mutex_unlock(&e->lock);
  if (nt)
    return 0;
  int b = builtin_find(ref);
  if (b >= 0) {
    job->result = builtin_json((size_t)b);
    return 0;
  }
  return job_fail(job, 404, "network %s not found", ref ? ref : "");
}

static bool name_valid(const char *s)
{
  if (!s || !*s)
    return false;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          ((*p == '_' || *p == '.' || *p == '-') && p != s)))
      return false;
  return true;
}

static int job_network_create(struct job *job)
{
  struct engine *e = job->engine;
  struct engine_net *n = e->net;
  json_t *body = job_body(job);
  const char *name = json_string_value(json_object_get(body, "Name"));
  const char *driver = json_string_value(json_object_get(body, "Driver"));
  if (!name || !*name)
    return job_fail(job, 400, "network name must not be empty");
  if (!name_valid(name))
    return job_fail(job, 400, "invalid network name %s: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                    name);
  if (driver && *driver && strcmp(driver, "bridge") != 0)
    return job_fail(job, 404, "plugin \"%s\" not found", driver);
  if (builtin_find(name) >= 0 && strlen(name) == 4)
    return job_fail(job, 403, "operation is not permitted on predefined %s network", name);
  /* IPAM.Config: at most one IPv4 entry and, with EnableIPv6, one IPv6 entry */
  json_t *cfgs = json_object_get(json_object_get(body, "IPAM"), "Config");
  json_t *ipam_cfg = NULL, *ipam_cfg6 = NULL;
  size_t ci;
  json_t *cv;
  json_array_foreach(cfgs, ci, cv)
  {
    const char *sn = json_string_value(json_object_get(cv, "Subnet")) ?: "";
    json_t **slot = strchr(sn, ':') ? &ipam_cfg6 : &ipam_cfg;
    if (*slot)
      return job_fail(job, 400,
                      "more than one IPv%s subnet: berth's networks have one of each "
                      "family",
                      slot == &ipam_cfg6 ? "6" : "4");
    *slot = cv;
  }
  bool ipv6 = json_is_true(json_object_get(body, "EnableIPv6"));
  struct netdrv_cidr6 subnet6;
  if (ipam_cfg6 && !ipv6)
    return job_fail(job, 400, "an IPv6 subnet needs IPv6 enabled on the network (--ipv6)");
  if (ipv6 && !ipam_cfg6)
    return job_fail(job, 400, "--ipv6 needs an IPv6 --subnet (berth has no default IPv6 pool)");
  if (ipam_cfg6) {
    const char *g6 = json_string_value(json_object_get(ipam_cfg6, "Gateway"));
    if (netdrv_cidr6_parse(json_string_value(json_object_get(ipam_cfg6, "Subnet")), &subnet6,
                           &job->err) < 0)
      return fail_with_err(job, 400);
    if (subnet6.prefix > 96 || subnet6.prefix < 16)
      return job_fail(job, 400,
                      "invalid IPv6 subnet: the prefix must be between /16 and /96 "
                      "(a container's IPv6 address ends in its IPv4 host bits)");
    if ((g6 && *g6) || json_object_get(ipam_cfg6, "IPRange"))
      return job_fail(job, 400,
                      "an IPv6 gateway or ip-range cannot be chosen: they follow the "
                      "IPv4 ones");
  }
  const char *subnet_s = json_string_value(json_object_get(ipam_cfg, "Subnet"));
  const char *gw_s = json_string_value(json_object_get(ipam_cfg, "Gateway"));
  const char *range_s = json_string_value(json_object_get(ipam_cfg, "IPRange"));
  json_t *opts = json_object_get(body, "Options");
  const char *brname = json_string_value(json_object_get(opts, "com.docker.network.bridge.name"));
  bool internal = json_is_true(json_object_get(body, "Internal"));

  struct netdrv_cidr subnet, range;
  uint32_t gateway = 0;
  if (subnet_s && *subnet_s && netdrv_cidr_parse(subnet_s, &subnet, &job->err) < 0)
    return fail_with_err(job, 400);
  if (subnet_s && *subnet_s && (subnet.prefix > 30 || subnet.prefix < 8))
    return job_fail(job, 400, "invalid subnet %s: the prefix must be between /8 and /30", subnet_s);
  if ((!subnet_s || !*subnet_s) && ((gw_s && *gw_s) || (range_s && *range_s)))
    return job_fail(job, 400, "a gateway or an ip-range needs a subnet");
  if (gw_s && *gw_s && netdrv_ip_parse(gw_s, &gateway, &job->err) < 0)
    return fail_with_err(job, 400);
  if (range_s && *range_s && netdrv_cidr_parse(range_s, &range, &job->err) < 0)
    return fail_with_err(job, 400);

  char id[65];
  network_random_id(id);
  char brbuf[16];
  if (brname && *brname) {
    if (strlen(brname) > 15)
      return job_fail(job, 400, "bridge name %s: longer than 15 characters", brname);
    snprintf(brbuf, sizeof(brbuf), "%s", brname);
  } else {
    snprintf(brbuf, sizeof(brbuf), "br-%.12s", id);
  }

  json_t *options = NULL, *doc = NULL, *labels = NULL;
  pthread_mutex_lock(&n->lock);
  int r = 0;
  struct net *nt = NULL;
  for (size_t i = 0; i < n->n_nets; i++) {
    if (strcmp(n->nets[i]->name, name) == 0) {
      r = job_fail(job, 409, "network with name %s already exists", name);
      goto out;
    }
    if (strcmp(n->nets[i]->bridge, brbuf) == 0) {
      r = job_fail(job, 409, "bridge name %s is used by network %s", brbuf, n->nets[i]->name);
      goto out;
    }
  }
  if (netdrv_link_exists(brbuf)) {
    r = job_fail(job, 409, "bridge name %s: a device of that name exists already", brbuf);
    goto out;
  }
  for (size_t i = 0; ipam_cfg6 && i < n->n_nets; i++)
    if (n->nets[i]->has_v6 && netdrv_cidr6_overlap(&n->nets[i]->subnet6, &subnet6)) {
      r = job_fail(job, 403,
                   "invalid pool request: Pool overlaps with other one on this address space");
      goto out;
    }
  if (subnet_s && *subnet_s) {
    for (size_t i = 0; i < n->n_nets; i++)
      if (netdrv_cidr_overlap(&n->nets[i]->subnet, &subnet)) {
        r = job_fail(job, 403,
                     "invalid pool request: Pool overlaps with other one on this address space");
        goto out;
      }
  } else if (network_pick_subnet(e, &subnet, &job->err) < 0) {
    r = -job->err.code;
    goto out;
  }
  subnet.addr = netdrv_cidr_network(&subnet);
  char sbuf[32];
  netdrv_cidr_str(&subnet, sbuf, sizeof(sbuf));
  if (!gateway)
    gateway = subnet.addr + 1;
  if (!netdrv_cidr_contains(&subnet, gateway) || gateway == subnet.addr ||
      gateway == netdrv_cidr_broadcast(&subnet)) {
    r = job_fail(job, 400, "invalid gateway %s: not a host address of subnet %s", gw_s, sbuf);
    goto out;
  }
  if (range_s && *range_s &&
      (range.prefix < subnet.prefix || !netdrv_cidr_contains(&subnet, range.addr))) {
    r = job_fail(job, 400, "invalid ip-range %s: not within subnet %s", range_s, sbuf);
    goto out;
  }
  options = json_is_object(opts) ? json_deep_copy(opts) : json_object();
  json_object_set_new(options, "com.docker.network.bridge.name", json_string(brbuf));
  labels = json_is_object(json_object_get(body, "Labels"))
               ? json_incref(json_object_get(body, "Labels"))
               : json_object();
  doc = network_doc_new(id, name, &subnet, gateway, range_s, internal, options, labels);
  if (ipam_cfg6) {
    struct in6_addr gw6;
    char s6[64], g6[INET6_ADDRSTRLEN];
    netdrv_ip6_from_v4(&subnet6, gateway & ~netdrv_cidr_mask(subnet.prefix), &gw6);
    json_object_set_new(doc, "EnableIPv6", json_true());
    json_array_append_new(json_object_get(json_object_get(doc, "IPAM"), "Config"),
                          json_pack("{s:s,s:s}", "Subnet",
                                    netdrv_cidr6_str(&subnet6, s6, sizeof(s6)), "Gateway",
                                    netdrv_ip6_str(&gw6, g6, sizeof(g6))));
  }
  if (network_from_doc(doc, &nt, &job->err) < 0) {
    r = -job->err.code;
    goto out;
  }
  /* The bridge first: no record without its device, and no device left behind. */
  struct berr ignored;
  if (network_bridge_up(nt, &job->err) < 0) {
    netdrv_link_delete(nt->bridge, &ignored);
    r = -job->err.code;
    goto out_free;
  }
  if (network_db_save(e, nt, &job->err) < 0) {
    netdrv_link_delete(nt->bridge, &ignored);
    r = -job->err.code;
    goto out_free;
  }
  if (network_add_locked(n, nt) < 0 || network_apply_rules_locked(e, &job->err) < 0) {
    r = job->err.code ? -job->err.code : -ENOMEM;
    network_drop_locked(n, nt);
    network_db_delete(e, id, &ignored);
    netdrv_link_delete(brbuf, &ignored);
    network_apply_rules_locked(e, &ignored);
    goto out;
  }
  job->result = json_pack("{s:s,s:s}", "Id", id, "Warning", "");
  job->status = 201;
  goto out;
out_free:
  if (nt) {
    json_decref(nt->doc);
    free(nt->name);
    free(nt);
  }
out:
  pthread_mutex_unlock(&n->lock);
  json_decref(options);
  json_decref(labels);
  json_decref(doc);
  if (r == 0) {
    pthread_mutex_lock(&e->lock);
    events_emit(&e->events, "network", "create", id,
                json_pack("{s:s,s:s}", "name", name, "type", "bridge"));
    pthread_mutex_unlock(&e->lock);
  }
  return r;
}

/* Remove one user network (net lock held); 0, or -errno with the job failed. */
static int remove_net_locked(struct job *job, struct net *nt)
{
  struct engine *e = job->engine;
  struct engine_net *n = e->net;
  if (nt->is_default)
    return job_fail(job, 403, "%s is a pre-defined network and cannot be removed", nt->name);
  if (network_in_use_locked(n, nt->id))
    return job_fail(job, 403, "error while removing network: network %s id %s has active endpoints",
                    nt->name, nt->id);
  if (network_db_delete(e, nt->id, &job->err) < 0)
    return -job->err.code;
  struct berr ignored;
  netdrv_ipam_release_network(e->db, nt->id, &ignored);
  netdrv_link_delete(nt->bridge, &ignored);
  char id[65], name[256];
  snprintf(id, sizeof(id), "%s", nt->id);
  snprintf(name, sizeof(name), "%s", nt->name);
  network_drop_locked(n, nt);
  network_apply_rules_locked(e, &ignored);
  events_emit(&e->events, "network", "destroy", id,
              json_pack("{s:s,s:s}", "name", name, "type", "bridge"));
  return 0;
}

static int job_network_delete(struct job *job)
{
  const char *ref = job_path(job, "id");
  struct engine *e = job->engine;
  struct engine_net *n = e->net;
  if (builtin_find(ref) >= 0)
    return job_fail(job, 403, "%s is a pre-defined network and cannot be removed", ref);
  pthread_mutex_lock(&e->lock);
  pthread_mutex_lock(&n->lock);
  struct net *nt = network_find_locked(n, ref);
  int r = nt ? remove_net_locked(job, nt) : job_fail(job, 404, "network %s not found", ref);
  pthread_mutex_unlock(&n->lock);
  pthread_mutex_unlock(&e->lock);
  if (r == 0)
    job->status = 204;
  return r;
}

/* Docker's `until` value (its timetypes.GetTimestamp): a Go duration before now ("24h",
 * "1h30m", "90s"), Unix seconds with an optional fraction, or an RFC 3339 date/time ("Z",
 * an offset, or none: UTC here) or a bare date. Nanoseconds since the epoch. */
static int until_ns(const char *v, long long *out)
{
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  long long now_ns = now.tv_sec * 1000000000LL + now.tv_nsec;
  static const struct {
    const char *unit;
    long long ns;
  } units[] = {
      {"ns", 1},          {"us", 1000}, {"ms", 1000000}, {"h", 3600000000000}, {"m", 60000000000LL},
      {"s", 1000000000LL}};
  /* a duration: one or more number+unit pairs */
  const char *p = v;
  double total = 0;
  bool dur = *p != '\0';
  while (dur && *p) {
    char *end;
    double x = strtod(p, &end);
    if (end == p || *end == '\0' || *p == '-' || *p == '+') {
      dur = false;
      break;
    }
    size_t i;
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
      if (strncmp(end, units[i].unit, strlen(units[i].unit)) == 0)
        break;
    if (i == sizeof(units) / sizeof(units[0])) {
      dur = false;
      break;
    }
    total += x * (double)units[i].ns;
    p = end + strlen(units[i].unit);
  }
  if (dur) {
    *out = now_ns - (long long)total;
    return 0;
  }
  /* Unix seconds[.fraction] */
  char *end;
  long long sec = strtoll(v, &end, 10);
  if (end != v && (*end == '\0' || *end == '.') && strchr(v, '-') == NULL) {
    long long ns = 0;
    int digits = 0;
    if (*end == '.')
      for (end++; *end >= '0' && *end <= '9'; end++, digits++)
        if (digits < 9)
          ns = ns * 10 + (*end - '0');
    if (*end != '\0')
      return -EINVAL;
    for (; digits < 9; digits++)
      ns *= 10;
    *out = sec * 1000000000LL + ns;
    return 0;
  }
  /* RFC 3339, or a bare date */
  struct tm tm = {0};
  const char *rest = strptime(v, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) {
    memset(&tm, 0, sizeof(tm));
    rest = strptime(v, "%Y-%m-%d", &tm);
    if (!rest || *rest)
      return -EINVAL;
    *out = (long long)timegm(&tm) * 1000000000LL;
    return 0;
  }
  long long ns = 0;
  int digits = 0;
  if (*rest == '.')
    for (rest++; *rest >= '0' && *rest <= '9'; rest++, digits++)
      if (digits < 9)
        ns = ns * 10 + (*rest - '0');
  for (; digits < 9; digits++)
    ns *= 10;
  long long off = 0;
  int hh, mm;
  if (*rest == '+' || *rest == '-') {
    if (sscanf(rest + 1, "%2d:%2d", &hh, &mm) != 2 || strlen(rest) != 6)
      return -EINVAL;
    off = (hh * 3600LL + mm * 60LL) * (*rest == '+' ? 1 : -1);
  } else if (*rest && strcmp(rest, "Z") != 0) {
    return -EINVAL;
  }
  *out = ((long long)timegm(&tm) - off) * 1000000000LL + ns;
  return 0;
}

/* Prune's filters (Docker's: until, label, label!): true when nt may go. */
static bool prune_match(json_t *filters, const struct net *nt, long long until)
{
  json_t *labels = json_object_get(nt->doc, "Labels");
  size_t k;
  json_t *v;
  json_array_foreach(json_object_get(filters, "label"), k, v)
  {
    if (!label_match(labels, json_string_value(v) ?: ""))
      return false;
  }
  json_array_foreach(json_object_get(filters, "label!"), k, v)
  {
    if (label_match(labels, json_string_value(v) ?: ""))
      return false;
  }
  return !until || ctr_time_ns(json_string_value(json_object_get(nt->doc, "Created"))) < until;
}

static int job_network_prune(struct job *job)
{
  json_auto_t *filters = NULL;
  if (job_query_filters(job, &filters, &job->err) < 0)
    return -job->err.code;
  const char *key;
  json_t *vals;
  long long until = 0;
  json_object_foreach(filters, key, vals)
  {
    if (strcmp(key, "until") == 0) {
      if (json_array_size(vals) > 1)
        return job_fail(job, 400, "more than one until filter specified");
      const char *v = json_string_value(json_array_get(vals, 0)) ?: "";
      if (until_ns(v, &until) < 0)
        return job_fail(job, 400,
                        "invalid filter 'until=%s': not a duration, Unix time or "
                        "RFC 3339 time",
                        v);
    } else if (strcmp(key, "label") != 0 && strcmp(key, "label!") != 0) {
      return job_fail(job, 400, "invalid filter '%s'", key);
    }
  }
  struct engine *e = job->engine;
  struct engine_net *n = e->net;
  json_t *deleted = json_array();
  pthread_mutex_lock(&e->lock);
  pthread_mutex_lock(&n->lock);
  for (size_t i = 0; i < n->n_nets;) {
    struct net *nt = n->nets[i];
    if (nt->is_default || !prune_match(filters, nt, until) || network_in_use_locked(n, nt->id)) {
      i++;
      continue;
    }
    char name[256];
    snprintf(name, sizeof(name), "%s", nt->name);
    if (remove_net_locked(job, nt) == 0)
      json_array_append_new(deleted, json_string(name));
    else
      i++;
  }
  pthread_mutex_unlock(&n->lock);
  pthread_mutex_unlock(&e->lock);
  job->err.code = 0;
  job->http_error = 0;
  job->result = json_pack("{s:o}", "NetworksDeleted", deleted);
  return 0;
}

static bool shares_namespace(const char *mode)
{
  return strcmp(mode, "host") == 0 || strcmp(mode, "none") == 0 ||
         strncmp(mode, "container:", 10) == 0;
}

/* connect and disconnect: the request's container and network, found under both locks.
 * On success both locks are held (engine, then net) and *c, *nt are set; on failure none
 * is held and the job carries the error (404 for either missing). */
static int endpoint_parties_lock(struct job *job, struct container **c, struct net **nt)
{
  struct engine *e = job->engine;
  const char *ref = json_string_value(json_object_get(job_body(job), "Container"));
  const char *netref = job_path(job, "id");
  if (builtin_find(netref) >= 0)
    return job_fail(job, 403,
                    "container cannot be disconnected from host network or connected to host "
                    "network");
  pthread_mutex_lock(&e->lock);
  *c = repo_find(e, ref ? ref : "", &job->err);
  if (!*c) {
    pthread_mutex_unlock(&e->lock);
    return -job->err.code;
  }
  pthread_mutex_lock(&e->net->lock);
  *nt = network_find_locked(e->net, netref);
  if (!*nt) {
    pthread_mutex_unlock(&e->net->lock);
    pthread_mutex_unlock(&e->lock);
    return job_fail(job, 404, "network %s not found", netref);
  }
  return 0;
}

static void endpoint_parties_unlock(struct job *job)
{
  pthread_mutex_unlock(&job->engine->net->lock);
  pthread_mutex_unlock(&job->engine->lock);
}

static int job_network_connect(struct job *job)
{
  struct engine *e = job->engine;
  struct engine_net *n = e->net;
  json_t *epcfg = json_object_get(job_body(job), "EndpointConfig");
  struct container *c;
  struct net *nt;
  int r = endpoint_parties_lock(job, &c, &nt);
  if (r < 0)
    return r;
  json_t *nets = json_object_get(json_object_get(c->doc, "NetworkSettings"), "Networks");
  const char *mode =
      json_string_value(json_object_get(json_object_get(c->doc, "HostConfig"), "NetworkMode"))
          ?: "bridge";
  if (shares_namespace(mode)) {
    r = job_fail(job, 400,
                 "container sharing network namespace with another container or host cannot be "
                 "connected to any other network");
  } else if (json_object_get(nets, nt->name)) {
    r = job_fail(job, 403, "endpoint with name %s already exists in network %s", c->name, nt->name);
  } else if (nt->is_default && (json_string_value(json_object_get(
                                    json_object_get(epcfg, "IPAMConfig"), "IPv4Address")) ||
                                json_array_size(json_object_get(epcfg, "Aliases")))) {
    r = job_fail(job, 400,
                 "user specified IP address or alias is supported on user defined "
                 "networks only");
  } else if (c->state == CTR_RUNNING || c->state == CTR_PAUSED) {
    char netns[4096];
    network_netns_path(e, c->id, netns, sizeof(netns));
    char ifname[16];
    size_t count = 0;
    for (size_t i = 0; i < n->n_eps; i++)
      count += strcmp(n->eps[i]->ctr, c->id) == 0;
    snprintf(ifname, sizeof(ifname), "eth%zu", count);
    json_t *s = NULL;
    if (network_attach_locked(e, c, nt, epcfg, netns, ifname, count == 0, &s, &job->err) < 0)
      r = fail_with_err(job, job->err.code == EADDRINUSE ? 403 : 400);
    else {
      json_object_set_new(nets, nt->name, s);
      struct berr ignored;
      /* the first user network: the container's resolver is started, and its resolv.conf
       * (the host's resolvers until now) turns to it */
      if (!nt->is_default && network_dns_add(e, c->id, netns, &ignored) == 0 &&
          network_resolv_embedded(e, c, &ignored) < 0)
        blog(BLOG_WARN, "container %s: %s", c->id, ignored.msg);
    }
  } else {
    const char *ip =
        json_string_value(json_object_get(json_object_get(epcfg, "IPAMConfig"), "IPv4Address"));
    uint32_t want;
    if (ip && *ip &&
        (netdrv_ip_parse(ip, &want, &job->err) < 0 || !netdrv_cidr_contains(&nt->subnet, want)))
      r = job_fail(job, 400, "no configured subnet or ip-range contain the IP address %s", ip);
    else
      json_object_set_new(nets, nt->name, network_endpoint_json(nt, epcfg));
  }
  if (r == 0) {
    repo_save(e, c, &job->err);
    network_endpoint_event(e, "connect", c->id, nt);
    job->status = 200;
  }
  endpoint_parties_unlock(job);
  return r;
}

static int job_network_disconnect(struct job *job)
{
  struct engine *e = job->engine;
  struct container *c;
  struct net *nt;
  int r = endpoint_parties_lock(job, &c, &nt);
  if (r < 0)
    return r;
  json_t *nets = json_object_get(json_object_get(c->doc, "NetworkSettings"), "Networks");
  if (!json_object_get(nets, nt->name)) {
    r = job_fail(job, 403, "container %s is not connected to network %s", c->id, nt->name);
  } else {
    network_detach_locked(e, c->id, nt->id);
    json_object_del(nets, nt->name);
    repo_save(e, c, &job->err);
    network_endpoint_event(e, "disconnect", c->id, nt);
  }
  endpoint_parties_unlock(job);
  return r;
}

void jobs_network_register(struct engine *e)
{
  engine_register(e, "network.list", job_network_list);
  engine_register(e, "network.inspect", job_network_inspect);
  engine_register(e, "network.create", job_network_create);
  engine_register(e, "network.delete", job_network_delete);
  engine_register(e, "network.prune", job_network_prune);
  engine_register(e, "network.connect", job_network_connect);
  engine_register(e, "network.disconnect", job_network_disconnect);
}

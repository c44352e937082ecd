/* Parsing and validation of the OCI spec's linux.resources object into plain values, so
 * a bad value is refused before anything is written to the kernel. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup_internal.h"
#include "common/bjson.h"
#include "common/cleanup.h"

uint64_t lc_cg_shares_to_weight(uint64_t shares)
{
  if (shares == 0)
    return 0;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t lc_cg_blkio_to_io_weight(uint64_t weight)
{
  if (weight == 0)
    return 0;
  return 1 + (weight - 10) * 9999 / 990;
}

void lc_cg_resources_free(struct lc_cg_resources *r)
{
  free(r->cpus);
  free(r->mems);
  free(r->weight_devices);
  for (int k = 0; k < 4; k++)
    free(r->throttle[k]);
  free(r->devices);
  free(r->hugepages);
  for (size_t i = 0; i < r->nunified; i++) {
    free(r->unified[i].key);
    free(r->unified[i].value);
  }
  free(r->unified);
  memset(r, 0, sizeof(*r));
}

/* Every key of `obj` must be one of `known` (NULL-terminated). */
static int check_keys(json_t *obj, const char *const *known, const char *where, struct berr *err)
{
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v)
  {
    bool ok = false;
    for (const char *const *k = known; *k && !ok; k++)
      ok = strcmp(*k, key) == 0;
    if (!ok)
      return berr_set(err, 0, "%s.%s: unknown setting", where, key);
  }
  return 0;
}

static int get_obj(json_t *parent, const char *key, json_t **out, const char *where,
                   struct berr *err)
{
  return bjson_get_typed(parent, key, JSON_OBJECT, false, out, where, err);
}

/* An integer field that must be >= min (and <= max); absent leaves *out alone. */
static int get_range(json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out,
                     const char *where, struct berr *err)
{
  json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v))
    return 0;
  if (!json_is_integer(v))
    return berr_set(err, 0, "%s.%s: expected an integer", where, key);
  int64_t x = json_integer_value(v);
  if (x < min || x > max)
    return berr_set(err, 0, "%s.%s: %" PRId64 " is not valid", where, key, x);
  *out = x;
  return 0;
}

/* OCI memory values: a byte count, 0 for "leave as is", -1 for unlimited. */
static int get_mem(json_t *obj, const char *key, int64_t *out, struct berr *err)
{
  return get_range(obj, key, -1, INT64_MAX, out, "memory", err);
}

static int parse_memory(json_t *m, struct lc_cg_resources *r, struct berr *err)
{
  static const char *const known[] = {"limit",
                                      "reservation",
                                      "swap",
                                      "kernel",
                                      "kernelTCP",
                                      "swappiness",
                                      "disableOOMKiller",
                                      "useHierarchy",
                                      "checkBeforeUpdate",
                                      NULL};
  int ret;
  if ((ret = check_keys(m, known, "memory", err)) < 0 ||
      (ret = get_mem(m, "limit", &r->mem_limit, err)) < 0 ||
      (ret = get_mem(m, "reservation", &r->mem_reservation, err)) < 0 ||
      (ret = get_mem(m, "swap", &r->mem_swap, err)) < 0)
    return ret;
  /* kernel and kernelTCP limits are deprecated (runc ignores them); still type-check. */
  int64_t ignored;
  if ((ret = get_mem(m, "kernel", &ignored, err)) < 0 ||
      (ret = get_mem(m, "kernelTCP", &ignored, err)) < 0)
    return ret;
  if (r->mem_limit > 0 && r->mem_swap > 0 && r->mem_swap < r->mem_limit)
    return berr_set(err, 0,
                    "memory.swap: %" PRId64 " is less than memory.limit %" PRId64
                    " (swap is the memory+swap total)",
                    r->mem_swap, r->mem_limit);
  if (r->mem_swap > 0 && r->mem_limit == -1)
    return berr_set(err, 0, "memory.swap: cannot limit swap while memory is unlimited");
  json_t *sw = json_object_get(m, "swappiness");
  if (sw && !json_is_null(sw)) {
    int64_t s = 0;
    /* Some clients send -1 for "not set"; uint64 max has the same meaning in runc. */
    if (json_is_integer(sw) && json_integer_value(sw) == -1) {
    } else if ((ret = get_range(m, "swappiness", 0, 100, &s, "memory", err)) < 0) {
      return ret;
    } else {
      r->has_swappiness = true;
      r->swappiness = (uint64_t)s;
    }
  }
  if ((ret = bjson_get_bool(m, "disableOOMKiller", false, &r->disable_oom, "memory", err)) < 0)
    return ret;
  r->has_disable_oom = json_object_get(m, "disableOOMKiller") != NULL;
  bool b;
  if ((ret = bjson_get_bool(m, "useHierarchy", false, &b, "memory", err)) < 0 ||
      (ret = bjson_get_bool(m, "checkBeforeUpdate", false, &b, "memory", err)) < 0)
    return ret;
  return 0;
}

/* cpuset lists: "0-3,5"; the kernel validates ranges, we refuse anything else. */
static int get_cpuset(json_t *c, const char *key, char **out, struct berr *err)
{
  const char *s = NULL;
  int ret = bjson_get_str(c, key, false, &s, "cpu", err);
  if (ret < 0 || !s)
    return ret;
  if (!*s)
    return 0; /* "" means unset */
  if (strspn(s, "0123456789,-") != strlen(s) || s[0] == ',' || s[0] == '-')
    return berr_set(err, 0, "cpu.%s: \"%s\" is not a valid list (e.g. \"0-2,4\")", key, s);
  if (!(*out = strdup(s)))
    return berr_set(err, ENOMEM, "cpu.%s", key);
  return 0;
}

static int parse_cpu(json_t *c, struct lc_cg_resources *r, struct berr *err)
{
  static const char *const known[] = {
      "shares",         "quota", "burst", "period", "realtimeRuntime",
      "realtimePeriod", "cpus",  "mems",  "idle",   NULL};
  int ret;
  int64_t shares = 0, period = 0, rt_period = 0, burst = 0;
  if ((ret = check_keys(c, known, "cpu", err)) < 0 ||
      (ret = get_range(c, "shares", 0, INT64_MAX, &shares, "cpu", err)) < 0 ||
      (ret = get_range(c, "quota", -1, INT64_MAX, &r->cpu_quota, "cpu", err)) < 0 ||
      (ret = get_range(c, "period", 0, INT64_MAX, &period, "cpu", err)) < 0 ||
      (ret = get_range(c, "realtimeRuntime", -1, INT64_MAX, &r->cpu_rt_runtime, "cpu", err)) < 0 ||
      (ret = get_range(c, "realtimePeriod", 0, INT64_MAX, &rt_period, "cpu", err)) < 0 ||
      (ret = get_range(c, "burst", 0, INT64_MAX, &burst, "cpu", err)) < 0 ||
      (ret = get_range(c, "idle", 0, 1, &r->cpu_idle, "cpu", err)) < 0)
    return ret;
  /* The kernel's ranges (v1 clamps shares silently, v2's weight conversion assumes it). */
  if (shares && (shares < 2 || shares > 262144))
    return berr_set(err, 0, "cpu.shares: %" PRId64 " is not valid (2 to 262144)", shares);
  if (period && (period < 1000 || period > 1000000))
    return berr_set(err, 0, "cpu.period: %" PRId64 " is not valid (1000 to 1000000 us)", period);
  if (r->cpu_quota > 0 && r->cpu_quota < 1000)
    return berr_set(err, 0, "cpu.quota: %" PRId64 " is not valid (at least 1000 us, or -1)",
                    r->cpu_quota);
  r->cpu_shares = (uint64_t)shares;
  r->cpu_period = (uint64_t)period;
  r->cpu_rt_period = (uint64_t)rt_period;
  r->has_cpu_burst = json_is_integer(json_object_get(c, "burst"));
  r->cpu_burst = (uint64_t)burst;
  r->has_cpu_idle = json_is_integer(json_object_get(c, "idle"));
  if ((ret = get_cpuset(c, "cpus", &r->cpus, err)) < 0 ||
      (ret = get_cpuset(c, "mems", &r->mems, err)) < 0)
    return ret;
  return 0;
}

static int parse_pids(json_t *p, struct lc_cg_resources *r, struct berr *err)
{
  static const char *const known[] = {"limit", NULL};
  int ret;
  if ((ret = check_keys(p, known, "pids", err)) < 0 ||
      (ret = get_range(p, "limit", INT64_MIN, INT64_MAX, &r->pids_limit, "pids", err)) < 0)
    return ret;
  return 0;
}

static int get_dev(json_t *e, int64_t *major, int64_t *minor, const char *where, struct berr *err)
{
  *major = *minor = -2;
  int ret;
  if ((ret = get_range(e, "major", 0, UINT32_MAX, major, where, err)) < 0 ||
      (ret = get_range(e, "minor", 0, UINT32_MAX, minor, where, err)) < 0)
    return ret;
  if (*major == -2 || *minor == -2)
    return berr_set(err, 0, "%s: major and minor are required", where);
  return 0;
}

static int parse_blkio(json_t *b, struct lc_cg_resources *r, struct berr *err)
{
  static const char *const known[] = {"weight",
                                      "leafWeight",
                                      "weightDevice",
                                      "throttleReadBpsDevice",
                                      "throttleWriteBpsDevice",
                                      "throttleReadIOPSDevice",
                                      "throttleWriteIOPSDevice",
                                      NULL};
  int ret;
  int64_t weight = 0, leaf = 0;
  if ((ret = check_keys(b, known, "blockIO", err)) < 0 ||
      (ret = get_range(b, "weight", 0, 1000, &weight, "blockIO", err)) < 0 ||
      (ret = get_range(b, "leafWeight", 0, 1000, &leaf, "blockIO", err)) < 0)
    return ret;
  if (weight && weight < 10)
    return berr_set(err, 0, "blockIO.weight: %" PRId64 " is not valid (10 to 1000)", weight);
  if (leaf)
    return berr_set(err, 0, "blockIO.leafWeight: not supported by current kernels");
  r->blkio_weight = (uint64_t)weight;

  json_t *wd;
  if ((ret = bjson_get_typed(b, "weightDevice", JSON_ARRAY, false, &wd, "blockIO", err)) < 0)
    return ret;
  if (wd && json_array_size(wd)) {
    r->weight_devices = calloc(json_array_size(wd), sizeof(*r->weight_devices));
    if (!r->weight_devices)
      return berr_set(err, ENOMEM, "blockIO");
    size_t i;
    json_t *e;
    json_array_foreach(wd, i, e)
    {
      static const char *const wk[] = {"major", "minor", "weight", "leafWeight", NULL};
      struct lc_cg_weight_device *w = &r->weight_devices[i];
      int64_t wt = 0, lw = 0;
      char where[64];
      snprintf(where, sizeof(where), "blockIO.weightDevice[%zu]", i);
      if (!json_is_object(e))
        return berr_set(err, 0, "%s: expected an object", where);
      if ((ret = check_keys(e, wk, where, err)) < 0 ||
          (ret = get_dev(e, &w->major, &w->minor, where, err)) < 0 ||
          (ret = get_range(e, "weight", 0, 1000, &wt, where, err)) < 0 ||
          (ret = get_range(e, "leafWeight", 0, 1000, &lw, where, err)) < 0)
        return ret;
      if (wt && wt < 10)
        return berr_set(err, 0, "%s.weight: %" PRId64 " is not valid (10 to 1000)", where, wt);
      if (lw)
        return berr_set(err, 0, "%s.leafWeight: not supported by current kernels", where);
      w->weight = (uint64_t)wt;
      r->nweight_devices++;
    }
  }
  static const char *const tkeys[4] = {"throttleReadBpsDevice", "throttleWriteBpsDevice",
                                       "throttleReadIOPSDevice", "throttleWriteIOPSDevice"};
  for (int k = 0; k < 4; k++) {
    json_t *arr;
    if ((ret = bjson_get_typed(b, tkeys[k], JSON_ARRAY, false, &arr, "blockIO", err)) < 0)
      return ret;
    if (!arr || !json_array_size(arr))
      continue;
    r->throttle[k] = calloc(json_array_size(arr), sizeof(*r->throttle[k]));
    if (!r->throttle[k])
      return berr_set(err, ENOMEM, "blockIO");
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
      static const char *const tk[] = {"major", "minor", "rate", NULL};
      struct lc_cg_throttle *t = &r->throttle[k][i];
      int64_t rate = -1;
      char where[64];
      snprintf(where, sizeof(where), "blockIO.%s[%zu]", tkeys[k], i);
      if (!json_is_object(e))
        return berr_set(err, 0, "%s: expected an object", where);
      if ((ret = check_keys(e, tk, where, err)) < 0 ||
          (ret = get_dev(e, &t->major, &t->minor, where, err)) < 0 ||
          (ret = get_range(e, "rate", 0, INT64_MAX, &rate, where, err)) < 0)
        return ret;
      if (rate < 0)
        return berr_set(err, 0, "%s.rate: required", where);
      t->rate = (uint64_t)rate;
      r->nthrottle[k]++;
    }
  }
  return 0;
}

static int parse_devices(json_t *arr, struct lc_cg_resources *r, struct berr *err)
{
  r->has_devices = true;
  size_t n = json_array_size(arr);
  if (!n)
    return 0;
  r->devices = calloc(n, sizeof(*r->devices));
  if (!r->devices)
    return berr_set(err, ENOMEM, "devices");
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e)
  {
    static const char *const known[] = {"allow", "type", "major", "minor", "access", NULL};
    struct lc_cg_device_rule *d = &r->devices[i];
    char where[48];
    snprintf(where, sizeof(where), "devices[%zu]", i);
    if (!json_is_object(e))
      return berr_set(err, 0, "%s: expected an object", where);
    int ret;
    const char *type = "a", *access = "rwm";
    d->major = d->minor = -1;
    if ((ret = check_keys(e, known, where, err)) < 0 ||
        (ret = bjson_get_bool(e, "allow", true, &d->allow, where, err)) < 0 ||
        (ret = bjson_get_str(e, "type", false, &type, where, err)) < 0 ||
        (ret = bjson_get_str(e, "access", false, &access, where, err)) < 0 ||
        (ret = get_range(e, "major", -1, UINT32_MAX, &d->major, where, err)) < 0 ||
        (ret = get_range(e, "minor", -1, UINT32_MAX, &d->minor, where, err)) < 0)
      return ret;
    if (strcmp(type, "a") != 0 && strcmp(type, "b") != 0 && strcmp(type, "c") != 0)
      return berr_set(err, 0, "%s.type: \"%s\" is not valid (a, b or c)", where, type);
    d->type = type[0];
    if (!*access)
      access = "rwm";
    /* Normalize to the kernel's order and refuse anything but r, w, m. */
    if (strspn(access, "rwm") != strlen(access) || strlen(access) > 3)
      return berr_set(err, 0, "%s.access: \"%s\" is not valid (r, w, m)", where, access);
    size_t k = 0;
    for (const char *c = "rwm"; *c; c++)
      if (strchr(access, *c))
        d->access[k++] = *c;
    d->access[k] = '\0';
    r->ndevices++;
  }
  return 0;
}

static int parse_hugepages(json_t *arr, struct lc_cg_resources *r, struct berr *err)
{
  size_t n = json_array_size(arr);
  if (!n)
    return 0;
  r->hugepages = calloc(n, sizeof(*r->hugepages));
  if (!r->hugepages)
    return berr_set(err, ENOMEM, "hugepageLimits");
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e)
  {
    static const char *const known[] = {"pageSize", "limit", NULL};
    char where[48];
    snprintf(where, sizeof(where), "hugepageLimits[%zu]", i);
    if (!json_is_object(e))
      return berr_set(err, 0, "%s: expected an object", where);
    const char *ps = NULL;
    int64_t limit = -1;
    int ret;
    if ((ret = check_keys(e, known, where, err)) < 0 ||
        (ret = bjson_get_str(e, "pageSize", true, &ps, where, err)) < 0 ||
        (ret = get_range(e, "limit", 0, INT64_MAX, &limit, where, err)) < 0)
      return ret;
    if (limit < 0)
      return berr_set(err, 0, "%s.limit: required", where);
    /* "2MB", "1GB", "64KB": the kernel's file name spelling. */
    size_t digits = strspn(ps, "0123456789");
    if (digits == 0 || digits > 8 || strlen(ps) != digits + 2 || !strchr("KMG", ps[digits]) ||
        ps[digits + 1] != 'B')
      return berr_set(err, 0, "%s.pageSize: \"%s\" is not valid (e.g. \"2MB\")", where, ps);
    snprintf(r->hugepages[i].page_size, sizeof(r->hugepages[i].page_size), "%s", ps);
    r->hugepages[i].limit = (uint64_t)limit;
    r->nhugepages++;
  }
  return 0;
}

static int parse_unified(json_t *u, struct lc_cg_resources *r, struct berr *err)
{
  size_t n = json_object_size(u);
  if (!n)
    return 0;
  r->unified = calloc(n, sizeof(*r->unified));
  if (!r->unified)
    return berr_set(err, ENOMEM, "unified");
  const char *key;
  json_t *v;
  json_object_foreach(u, key, v)
  {
    /* Keys are file names in the cgroup directory: nothing that walks elsewhere, and not
     * the core files that move processes or change the tree. */
    if (!*key || strchr(key, '/') || strcmp(key, ".") == 0 || strcmp(key, "..") == 0 ||
        !strchr(key, '.'))
      return berr_set(err, 0, "unified: \"%s\" is not a cgroup file name", key);
    if (strncmp(key, "cgroup.", 7) == 0 && strcmp(key, "cgroup.freeze") != 0 &&
        strcmp(key, "cgroup.max.depth") != 0 && strcmp(key, "cgroup.max.descendants") != 0)
      return berr_set(err, 0, "unified.%s: not allowed", key);
    if (!json_is_string(v))
      return berr_set(err, 0, "unified.%s: expected a string", key);
    struct lc_cg_unified *e = &r->unified[r->nunified];
    e->key = strdup(key);
    e->value = strdup(json_string_value(v));
    r->nunified++;
    if (!e->key || !e->value)
      return berr_set(err, ENOMEM, "unified");
  }
  return 0;
}

static int parse(json_t *res, struct lc_cg_resources *r, struct berr *err)
{
  static const char *const known[] = {"devices",        "memory",  "cpu",  "pids",    "blockIO",
                                      "hugepageLimits", "network", "rdma", "unified", NULL};
  if (!json_is_object(res))
    return berr_set(err, 0, "linux.resources: expected an object");
  int ret;
  if ((ret = check_keys(res, known, "linux.resources", err)) < 0)
    return ret;
  json_t *o;
  if ((ret = get_obj(res, "memory", &o, "linux.resources", err)) < 0 ||
      (o && (ret = parse_memory(o, r, err)) < 0))
    return ret;
  if ((ret = get_obj(res, "cpu", &o, "linux.resources", err)) < 0 ||
      (o && (ret = parse_cpu(o, r, err)) < 0))
    return ret;
  if ((ret = get_obj(res, "pids", &o, "linux.resources", err)) < 0 ||
      (o && (ret = parse_pids(o, r, err)) < 0))
    return ret;
  if ((ret = get_obj(res, "blockIO", &o, "linux.resources", err)) < 0 ||
      (o && (ret = parse_blkio(o, r, err)) < 0))
    return ret;
  if ((ret = get_obj(res, "unified", &o, "linux.resources", err)) < 0 ||
      (o && (ret = parse_unified(o, r, err)) < 0))
    return ret;
  if ((ret = bjson_get_typed(res, "devices", JSON_ARRAY, false, &o, "linux.resources", err)) < 0 ||
      (o && (ret = parse_devices(o, r, err)) < 0))
    return ret;
  if ((ret = bjson_get_typed(res, "hugepageLimits", JSON_ARRAY, false, &o, "linux.resources",
                             err)) < 0 ||
      (o && (ret = parse_hugepages(o, r, err)) < 0))
    return ret;
  /* net_cls/net_prio and rdma are not managed by berth: refuse rather than ignore. */
  if ((ret = get_obj(res, "network", &o, "linux.resources", err)) < 0)
    return ret;
  if (o && json_object_size(o))
    return berr_set(err, 0, "linux.resources.network: not supported");
  if ((ret = get_obj(res, "rdma", &o, "linux.resources", err)) < 0)
    return ret;
  if (o && json_object_size(o))
    return berr_set(err, 0, "linux.resources.rdma: not supported");
  return 0;
}

int lc_cg_resources_parse(json_t *res, struct lc_cg_resources *out, struct berr *err)
{
  memset(out, 0, sizeof(*out));
  int r = parse(res, out, err);
  if (r < 0)
    lc_cg_resources_free(out);
  return r;
}

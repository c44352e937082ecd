/* cgroup v2 driver (Documentation/admin-guide/cgroup-v2.rst): controller delegation
 * through cgroup.subtree_control, resources, cgroup.freeze and stats. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "common/cleanup.h"

/* Enable in `dir`'s subtree_control every controller `dir` itself has. One write with all
 * of them first; if the kernel refuses (e.g. a domain controller in a cgroup that holds
 * processes), one at a time, keeping what works, as crun and runc do. */
static int enable_in(const char *dir, struct berr *err)
{
  _cleanup_free_ char *avail = NULL;
  int r = lc_cg_read(dir, "cgroup.controllers", &avail, err);
  if (r < 0)
    return r;
  avail[strcspn(avail, "\n")] = '\0';
  if (!avail[0])
    return 0;
  _cleanup_free_ char *all = malloc(strlen(avail) * 2 + 2);
  if (!all)
    return berr_set(err, ENOMEM, "subtree_control");
  size_t n = 0;
  char *save = NULL;
  _cleanup_free_ char *copy = strdup(avail);
  if (!copy)
    return berr_set(err, ENOMEM, "subtree_control");
  for (char *c = strtok_r(copy, " ", &save); c; c = strtok_r(NULL, " ", &save))
    n += (size_t)sprintf(all + n, "%s+%s", n ? " " : "", c);
  struct berr ignored;
  if (lc_cg_write(dir, "cgroup.subtree_control", all, &ignored) == 0)
    return 0;
  for (char *c = strtok_r(avail, " ", &save); c; c = strtok_r(NULL, " ", &save)) {
    char one[64];
    snprintf(one, sizeof(one), "+%s", c);
    lc_cg_write(dir, "cgroup.subtree_control", one, &ignored);
  }
  return 0;
}

int lc_cg_v2_enable_controllers(const char *mountpoint, const char *path, struct berr *err)
{
  /* Every ancestor of the leaf, from the root down; the leaf itself keeps its
   * subtree_control empty since its processes live in it. */
  _cleanup_free_ char *p = NULL;
  if (asprintf(&p, "%s%s", mountpoint, path) < 0)
    return berr_set(err, ENOMEM, "subtree_control");
  char *leaf = strrchr(p, '/');
  size_t base = strlen(mountpoint);
  int r = enable_in(mountpoint, err);
  for (char *s = p + base + 1; r >= 0 && s < leaf; s++) {
    if (*s != '/')
      continue;
    *s = '\0';
    r = enable_in(p, err);
    *s = '/';
  }
  return r;
}

static const char *dir_of(const struct lc_cgroup *cg)
{
  return cg->dirs[0].dir;
}

static int need_file(const char *dir, const char *file, const char *what, struct berr *err)
{
  if (lc_cg_exists(dir, file))
    return 0;
  return berr_set(err, 0, "%s: %s is not available (controller not enabled for %s?)", what, file,
                  dir);
}

static void num_or_max(char *buf, size_t len, int64_t v)
{
  if (v < 0)
    snprintf(buf, len, "max");
  else
    snprintf(buf, len, "%" PRId64, v);
}

static int apply_memory(const char *dir, const struct lc_cg_resources *r, struct berr *err)
{
  int64_t limit = r->mem_limit, swap = r->mem_swap;
  if (!limit && !r->mem_reservation && !swap)
    return 0; /* disableOOMKiller and swappiness have no v2 equivalent; runc ignores them */
  int ret = need_file(dir, "memory.max", "memory", err);
  if (ret < 0)
    return ret;
  /* OCI swap is memory+swap; memory.swap.max is swap alone (runc's conversion). */
  int64_t swap2;
  if (limit == -1 && swap == 0)
    swap2 = -1;
  else if (swap == -1 || swap == 0)
    swap2 = swap;
  else if (limit <= 0)
    return berr_set(err, 0, "memory.swap: cannot be set without memory.limit");
  else
    swap2 = swap - limit;
  char buf[32];
  if (swap2 != 0) {
    if (lc_cg_exists(dir, "memory.swap.max")) {
      num_or_max(buf, sizeof(buf), swap2);
      if ((ret = lc_cg_write(dir, "memory.swap.max", buf, err)) < 0)
        return ret;
    } else if (swap2 > 0) {
      return berr_set(err, 0,
                      "memory.swap: %" PRId64 " cannot be set: swap accounting is disabled on "
                      "this host (no memory.swap.max)",
                      swap);
    }
  }
  if (limit) {
    num_or_max(buf, sizeof(buf), limit);
    if ((ret = lc_cg_write(dir, "memory.max", buf, err)) < 0)
      return ret;
  }
  if (r->mem_reservation) {
    num_or_max(buf, sizeof(buf), r->mem_reservation);
    if ((ret = lc_cg_write(dir, "memory.low", buf, err)) < 0)
      return ret;
  }
  return 0;
}

static int apply_cpu(const char *dir, const struct lc_cg_resources *r, struct berr *err)
{
  int ret;
  if (r->cpu_rt_period || r->cpu_rt_runtime)
    return berr_set(err, 0, "cpu.realtimePeriod/realtimeRuntime: not supported on cgroup v2");
  if (r->cpu_shares) {
    if ((ret = need_file(dir, "cpu.weight", "cpu.shares", err)) < 0 ||
        (ret = lc_cg_writef(dir, "cpu.weight", err, "%" PRIu64,
                            lc_cg_shares_to_weight(r->cpu_shares))) < 0)
      return ret;
  }
  if (r->cpu_quota || r->cpu_period) {
    /* "$MAX $PERIOD"; a quota alone keeps the current period. */
    char buf[64];
    if (r->cpu_quota > 0)
      snprintf(buf, sizeof(buf), "%" PRId64, r->cpu_quota);
    else
      snprintf(buf, sizeof(buf), "max");
    if (r->cpu_period)
      snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " %" PRIu64, r->cpu_period);
    if ((ret = need_file(dir, "cpu.max", "cpu.quota", err)) < 0 ||
        (ret = lc_cg_write(dir, "cpu.max", buf, err)) < 0)
      return ret;
  }
  if (r->has_cpu_burst) {
    if ((ret = need_file(dir, "cpu.max.burst", "cpu.burst", err)) < 0 ||
        (ret = lc_cg_writef(dir, "cpu.max.burst", err, "%" PRIu64, r->cpu_burst)) < 0)
      return ret;
  }
  if (r->has_cpu_idle) {
    if ((ret = need_file(dir, "cpu.idle", "cpu.idle", err)) < 0 ||
        (ret = lc_cg_writef(dir, "cpu.idle", err, "%" PRId64, r->cpu_idle)) < 0)
      return ret;
  }
  if (r->cpus && ((ret = need_file(dir, "cpuset.cpus", "cpu.cpus", err)) < 0 ||
                  (ret = lc_cg_write(dir, "cpuset.cpus", r->cpus, err)) < 0))
    return ret;
  if (r->mems && ((ret = need_file(dir, "cpuset.mems", "cpu.mems", err)) < 0 ||
                  (ret = lc_cg_write(dir, "cpuset.mems", r->mems, err)) < 0))
    return ret;
  return 0;
}

static int apply_io(const char *dir, const struct lc_cg_resources *r, struct berr *err)
{
  int ret;
  bool bfq = lc_cg_exists(dir, "io.bfq.weight");
  if (r->blkio_weight) {
    /* io.bfq.weight takes blkio's 10..1000 scale; io.weight its own 1..10000. */
    if (bfq)
      ret = lc_cg_writef(dir, "io.bfq.weight", err, "%" PRIu64, r->blkio_weight);
    else if (lc_cg_exists(dir, "io.weight"))
      ret = lc_cg_writef(dir, "io.weight", err, "default %" PRIu64,
                         lc_cg_blkio_to_io_weight(r->blkio_weight));
    else
      ret = berr_set(err, 0,
                     "blockIO.weight: not supported by this kernel (no io.bfq.weight or "
                     "io.weight)");
    if (ret < 0)
      return ret;
  }
  for (size_t i = 0; i < r->nweight_devices; i++) {
    const struct lc_cg_weight_device *w = &r->weight_devices[i];
    if (!w->weight)
      continue;
    if (bfq)
      ret = lc_cg_writef(dir, "io.bfq.weight", err, "%" PRId64 ":%" PRId64 " %" PRIu64, w->major,
                         w->minor, w->weight);
    else if (lc_cg_exists(dir, "io.weight"))
      ret = lc_cg_writef(dir, "io.weight", err, "%" PRId64 ":%" PRId64 " %" PRIu64, w->major,
                         w->minor, lc_cg_blkio_to_io_weight(w->weight));
    else
      ret = berr_set(err, 0, "blockIO.weightDevice: not supported by this kernel");
    if (ret < 0)
      return ret;
  }
  static const char *const keys[4] = {"rbps", "wbps", "riops", "wiops"};
  for (int k = 0; k < 4; k++)
    for (size_t i = 0; i < r->nthrottle[k]; i++) {
      const struct lc_cg_throttle *t = &r->throttle[k][i];
      if ((ret = need_file(dir, "io.max", "blockIO throttle", err)) < 0 ||
          (ret = lc_cg_writef(dir, "io.max", err, "%" PRId64 ":%" PRId64 " %s=%" PRIu64, t->major,
                              t->minor, keys[k], t->rate)) < 0)
        return ret;
    }
  return 0;
}

int lc_cg_v2_apply(struct lc_cgroup *cg, const struct lc_cg_resources *r, struct berr *err)
{
  const char *dir = dir_of(cg);
  int ret;
  if ((ret = apply_memory(dir, r, err)) < 0)
    return berr_wrap(err, "apply memory");
  if ((ret = apply_cpu(dir, r, err)) < 0)
    return berr_wrap(err, "apply cpu");
  if (r->pids_limit) {
    char buf[32];
    num_or_max(buf, sizeof(buf), r->pids_limit);
    if ((ret = need_file(dir, "pids.max", "pids.limit", err)) < 0 ||
        (ret = lc_cg_write(dir, "pids.max", buf, err)) < 0)
      return berr_wrap(err, "apply pids");
  }
  if ((ret = apply_io(dir, r, err)) < 0)
    return berr_wrap(err, "apply blockIO");
  for (size_t i = 0; i < r->nhugepages; i++) {
    char file[64];
    snprintf(file, sizeof(file), "hugetlb.%s.max", r->hugepages[i].page_size);
    if ((ret = need_file(dir, file, "hugepageLimits", err)) < 0 ||
        (ret = lc_cg_writef(dir, file, err, "%" PRIu64, r->hugepages[i].limit)) < 0)
      return berr_wrap(err, "apply hugepageLimits");
  }
  if (r->has_devices && (ret = lc_cg_v2_devices_apply(dir, r->devices, r->ndevices, err)) < 0)
    return berr_wrap(err, "apply devices");
  for (size_t i = 0; i < r->nunified; i++) {
    if (!lc_cg_exists(dir, r->unified[i].key))
      return berr_set(err, 0, "apply unified: %s: no such file in %s", r->unified[i].key, dir);
    if ((ret = lc_cg_write(dir, r->unified[i].key, r->unified[i].value, err)) < 0)
      return berr_wrap(err, "apply unified");
  }
  return 0;
}

static int read_frozen(const char *dir, bool *frozen, struct berr *err)
{
  uint64_t v = 0;
  int r = lc_cg_read_keyed(dir, "cgroup.events", "frozen", &v, err);
  if (r == -ENOENT)
    return berr_set(err, 0, "%s/cgroup.events has no \"frozen\" (Linux 5.2 or newer needed)", dir);
  if (r < 0)
    return r;
  *frozen = v == 1;
  return 0;
}

int lc_cg_v2_freeze(struct lc_cgroup *cg, bool frozen, struct berr *err)
{
  const char *dir = dir_of(cg);
  if (!lc_cg_exists(dir, "cgroup.freeze"))
    return berr_set(err, 0, "freeze cgroup %s: no cgroup.freeze (Linux 5.2 or newer needed)",
                    cg->path);
  int r = lc_cg_write(dir, "cgroup.freeze", frozen ? "1" : "0", err);
  if (r < 0)
    return berr_wrap(err, "%s cgroup %s", frozen ? "freeze" : "thaw", cg->path);
  /* The write only asks; cgroup.events "frozen" turns 1 once every task has stopped. */
  for (int i = 0; i < 5000; i++) {
    bool now;
    if ((r = read_frozen(dir, &now, err)) < 0)
      return berr_wrap(err, "%s cgroup %s", frozen ? "freeze" : "thaw", cg->path);
    if (now == frozen)
      return 0;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  if (frozen) {
    struct berr ignored;
    lc_cg_write(dir, "cgroup.freeze", "0", &ignored);
  }
  return berr_set(err, EBUSY, "%s cgroup %s: the state did not settle", frozen ? "freeze" : "thaw",
                  cg->path);
}

int lc_cg_v2_is_frozen(struct lc_cgroup *cg, bool *frozen, struct berr *err)
{
  *frozen = false;
  if (!lc_cg_exists(dir_of(cg), "cgroup.freeze"))
    return 0;
  return read_frozen(dir_of(cg), frozen, err);
}

int lc_cg_v2_stats(struct lc_cgroup *cg, struct lc_cgroup_stats *st, struct berr *err)
{
  const char *dir = dir_of(cg);
  int r;
  if (lc_cg_exists(dir, "memory.current")) {
    if ((r = lc_cg_read_u64(dir, "memory.current", &st->memory_usage, err)) < 0 ||
        (r = lc_cg_read_u64(dir, "memory.max", &st->memory_limit, err)) < 0)
      return r;
    if (lc_cg_exists(dir, "memory.peak")) /* Linux 5.19 */
      lc_cg_read_u64(dir, "memory.peak", &st->memory_max_usage, err);
    lc_cg_read_keyed(dir, "memory.stat", "file", &st->memory_cache, err);
    lc_cg_read_keyed(dir, "memory.events", "oom_kill", &st->oom_kills, err);
  }
  /* cpu.stat's usage lines are there even without the cpu controller. */
  uint64_t us = 0;
  if (lc_cg_read_keyed(dir, "cpu.stat", "usage_usec", &us, err) == 0)
    st->cpu_usage_ns = us * 1000;
  if (lc_cg_read_keyed(dir, "cpu.stat", "user_usec", &us, err) == 0)
    st->cpu_user_ns = us * 1000;
  if (lc_cg_read_keyed(dir, "cpu.stat", "system_usec", &us, err) == 0)
    st->cpu_system_ns = us * 1000;
  lc_cg_read_keyed(dir, "cpu.stat", "nr_throttled", &st->cpu_throttled_periods, err);
  if (lc_cg_exists(dir, "pids.current")) {
    if ((r = lc_cg_read_u64(dir, "pids.current", &st->pids_current, err)) < 0 ||
        (r = lc_cg_read_u64(dir, "pids.max", &st->pids_limit, err)) < 0)
      return r;
  }
  _cleanup_free_ char *io = NULL;
  struct berr ignored;
  if (lc_cg_exists(dir, "io.stat") && lc_cg_read(dir, "io.stat", &io, &ignored) == 0) {
    /* "8:0 rbytes=N wbytes=N rios=N wios=N dbytes=N dios=N" per device */
    char *save = NULL;
    for (char *tok = strtok_r(io, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
      unsigned long long v;
      if (sscanf(tok, "rbytes=%llu", &v) == 1)
        st->blkio_read_bytes += v;
      else if (sscanf(tok, "wbytes=%llu", &v) == 1)
        st->blkio_write_bytes += v;
    }
  }
  return 0;
}

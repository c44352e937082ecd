/* cgroup v1 driver: hierarchies found in /proc/self/mountinfo (one directory per mounted
 * controller set, e.g. "memory" or "cpu,cpuacct"), resources, freezer and stats. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "common/cleanup.h"
#include "common/fileutil.h"

/* Controllers the kernel knows, from /proc/cgroups ("#subsys_name hierarchy num enabled"). */
static bool is_controller(const char *known, const char *name)
{
  size_t l = strlen(name);
  for (const char *p = known; (p = strstr(p, name)); p += l)
    if ((p == known || p[-1] == '\n') && p[l] == '\t')
      return true;
  return false;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
  char *w = s;
  for (char *r = s; *r; r++) {
    if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
        r[3] <= '7') {
      *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
      r += 3;
    } else {
      *w++ = *r;
    }
  }
  *w = '\0';
}

static bool has_token(const char *list, const char *tok)
{
  size_t l = strlen(tok);
  for (const char *p = list; p && *p;) {
    const char *c = strchr(p, ',');
    size_t n = c ? (size_t)(c - p) : strlen(p);
    if (n == l && strncmp(p, tok, l) == 0)
      return true;
    p = c ? c + 1 : NULL;
  }
  return false;
}

int lc_cg_v1_hierarchies(struct lc_cgroup *cg, struct berr *err)
{
  return lc_cg_v1_hierarchies_from(cg, "/proc/self/mountinfo", "/proc/cgroups", err);
}

int lc_cg_v1_hierarchies_from(struct lc_cgroup *cg, const char *mountinfo, const char *proc_cgroups,
                              struct berr *err)
{
  _cleanup_free_ char *known = NULL;
  size_t len;
  int r = bf_read_all(proc_cgroups, &known, &len, err);
  if (r < 0)
    return r;
  _cleanup_fclose_ FILE *f = fopen(mountinfo, "re");
  if (!f)
    return berr_errno(err, "open %s", mountinfo);
  _cleanup_free_ char *line = NULL;
  size_t cap = 0;
  _cleanup_free_ char *unified_mnt = NULL;
  while (getline(&line, &cap, f) > 0) {
    /* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
    char *fields[5] = {0};
    char *save = NULL, *tok = strtok_r(line, " \n", &save);
    for (int i = 0; tok && i < 5; i++, tok = strtok_r(NULL, " \n", &save))
      fields[i] = tok;
    while (tok && strcmp(tok, "-") != 0)
      tok = strtok_r(NULL, " \n", &save);
    char *fstype = tok ? strtok_r(NULL, " \n", &save) : NULL;
    char *source = fstype ? strtok_r(NULL, " \n", &save) : NULL;
    char *superopts = source ? strtok_r(NULL, " \n", &save) : NULL;
    if (!fields[4] || !superopts)
      continue;
    char *mnt = fields[4];
    unescape_octal(mnt);
    if (strcmp(fstype, "cgroup2") == 0) {
      if (!unified_mnt && !(unified_mnt = strdup(mnt)))
        return berr_set(err, ENOMEM, "cgroup");
      continue;
    }
    if (strcmp(fstype, "cgroup") != 0)
      continue;
    /* The controllers of this hierarchy, in mount option order; named hierarchies
     * (name=systemd) carry none and are skipped. */
    char ctl[256] = "";
    char *s2 = NULL;
    for (char *o = strtok_r(superopts, ",", &s2); o; o = strtok_r(NULL, ",", &s2)) {
      if (!is_controller(known, o))
        continue;
      if (ctl[0])
        strncat(ctl, ",", sizeof(ctl) - strlen(ctl) - 1);
      strncat(ctl, o, sizeof(ctl) - strlen(ctl) - 1);
    }
    if (!ctl[0])
      continue;
    bool dup = false;
    for (size_t i = 0; i < cg->ndirs; i++)
      dup |= strcmp(cg->dirs[i].controllers, ctl) == 0;
    if (dup) /* the same hierarchy mounted twice: the first mount serves */
      continue;
    if ((r = lc_cg_add_dir(cg, ctl, mnt, false, err)) < 0)
      return r;
  }
  if (cg->ndirs == 0)
    return berr_set(err, 0, "no cgroup v1 controller is mounted");
  /* Hybrid hosts: join the cgroup2 hierarchy too, so the "0::" line of /proc/<pid>/cgroup
   * names the container and controllers living there (hugetlb here) can be limited. */
  if (unified_mnt && access(unified_mnt, W_OK) < 0)
    return 0; /* read-only (e.g. inside a container): the v1 hierarchies serve alone */
  if (unified_mnt && (r = lc_cg_add_dir(cg, "", unified_mnt, true, err)) < 0)
    return r;
  return 0;
}

const char *lc_cg_v1_dir(const struct lc_cgroup *cg, const char *controller)
{
  for (size_t i = 0; i < cg->ndirs; i++)
    if (!cg->dirs[i].unified && has_token(cg->dirs[i].controllers, controller))
      return cg->dirs[i].dir;
  return NULL;
}

static const char *unified_dir(const struct lc_cgroup *cg)
{
  for (size_t i = 0; i < cg->ndirs; i++)
    if (cg->dirs[i].unified)
      return cg->dirs[i].dir;
  return NULL;
}

static int copy_if_empty(const char *parent, const char *dir, const char *file, struct berr *err)
{
  _cleanup_free_ char *cur = NULL, *pv = NULL;
  int r = lc_cg_read(dir, file, &cur, err);
  if (r < 0)
    return r;
  if (cur[0] != '\0' && cur[0] != '\n')
    return 0;
  if ((r = lc_cg_read(parent, file, &pv, err)) < 0)
    return r;
  pv[strcspn(pv, "\n")] = '\0';
  if (!pv[0])
    return berr_set(err, 0, "%s/%s is empty", parent, file);
  return lc_cg_write(dir, file, pv, err);
}

int lc_cg_v1_prepare_dir(const struct lc_cgroup *cg, size_t i, struct berr *err)
{
  const struct lc_cgroup_dir *d = &cg->dirs[i];
  if (!has_token(d->controllers, "cpuset"))
    return 0;
  /* A new cpuset cgroup starts with empty cpus and mems and refuses tasks until they are
   * set: fill every level from the top down with the parent's values. */
  _cleanup_free_ char *p = NULL;
  if (asprintf(&p, "%s%s", d->mountpoint, cg->path) < 0)
    return berr_set(err, ENOMEM, "cpuset");
  size_t base = strlen(d->mountpoint);
  for (char *s = p + base + 1;; s++) {
    if (*s != '/' && *s != '\0')
      continue;
    char saved = *s;
    *s = '\0';
    _cleanup_free_ char *parent = strndup(p, (size_t)(strrchr(p, '/') - p));
    if (!parent)
      return berr_set(err, ENOMEM, "cpuset");
    int r;
    if ((r = copy_if_empty(parent, p, "cpuset.cpus", err)) < 0 ||
        (r = copy_if_empty(parent, p, "cpuset.mems", err)) < 0)
      return r;
    *s = saved;
    if (!saved)
      break;
  }
  return 0;
}

static int need_dir(const struct lc_cgroup *cg, const char *controller, const char *what,
                    const char **dir, struct berr *err)
{
  *dir = lc_cg_v1_dir(cg, controller);
  if (!*dir)
    return berr_set(err, 0, "the %s cgroup controller is not mounted (needed for %s)", controller,
                    what);
  return 0;
}

static int apply_memory(struct lc_cgroup *cg, const struct lc_cg_resources *r, struct berr *err)
{
  if (!r->mem_limit && !r->mem_reservation && !r->mem_swap && !r->has_swappiness && !r->disable_oom)
    return 0;
  const char *dir;
  int ret = need_dir(cg, "memory", "memory", &dir, err);
  if (ret < 0)
    return ret;
  int64_t limit = r->mem_limit, swap = r->mem_swap;
  bool memsw = lc_cg_exists(dir, "memory.memsw.limit_in_bytes");
  if (!memsw) {
    /* Without swap accounting memory.memsw.* does not exist. Like runc, only a swap value
     * that would mean something different from the plain limit is an error. */
    if (swap > 0 && swap != limit)
      return berr_set(err, 0,
                      "memory.swap: %" PRId64 " cannot be set: swap accounting is disabled on "
                      "this host (no memory.memsw.limit_in_bytes)",
                      swap);
    swap = 0;
  } else if (limit == -1 && swap == 0) {
    swap = -1; /* "unlimited memory" lifts the memory+swap limit too */
  }

  /* The kernel requires memory.limit <= memsw.limit at every step, so the order of the
   * two writes depends on whether the limits grow or shrink (runc's order). */
  bool swap_first = false;
  if (limit && swap) {
    uint64_t cur;
    if ((ret = lc_cg_read_u64(dir, "memory.limit_in_bytes", &cur, err)) < 0)
      return ret;
    swap_first = swap == -1 || cur < (uint64_t)swap;
  }
  if (swap_first &&
      (ret = lc_cg_writef(dir, "memory.memsw.limit_in_bytes", err, "%" PRId64, swap)) < 0)
    return ret;
  if (limit && (ret = lc_cg_writef(dir, "memory.limit_in_bytes", err, "%" PRId64, limit)) < 0)
    return ret;
  if (!swap_first && swap &&
      (ret = lc_cg_writef(dir, "memory.memsw.limit_in_bytes", err, "%" PRId64, swap)) < 0)
    return ret;
  if (r->mem_reservation && (ret = lc_cg_writef(dir, "memory.soft_limit_in_bytes", err, "%" PRId64,
                                                r->mem_reservation)) < 0)
    return ret;
  if (r->disable_oom && (ret = lc_cg_write(dir, "memory.oom_control", "1", err)) < 0)
    return ret;
  if (r->has_swappiness &&
      (ret = lc_cg_writef(dir, "memory.swappiness", err, "%" PRIu64, r->swappiness)) < 0)
    return ret;
  return 0;
}

static int apply_cpu(struct lc_cgroup *cg, const struct lc_cg_resources *r, struct berr *err)
{
  int ret;
  const char *dir;
  if (r->cpu_shares || r->cpu_quota || r->cpu_period || r->cpu_rt_period || r->cpu_rt_runtime ||
      r->has_cpu_burst || r->has_cpu_idle) {
    if ((ret = need_dir(cg, "cpu", "cpu", &dir, err)) < 0)
      return ret;
  } else {
    return 0;
  }
  if (r->cpu_shares) {
    if ((ret = lc_cg_writef(dir, "cpu.shares", err, "%" PRIu64, r->cpu_shares)) < 0)
      return ret;
    uint64_t got;
    if ((ret = lc_cg_read_u64(dir, "cpu.shares", &got, err)) < 0)
      return ret;
    if (got != r->cpu_shares) /* the kernel clamps silently; say so */
      return berr_set(err, 0,
                      "cpu.shares: %" PRIu64 " is outside the kernel's range (it set %" PRIu64 ")",
                      r->cpu_shares, got);
  }
  /* A shorter period can be refused while the old quota would exceed the parent's
   * bandwidth; then set the quota first and retry the period (runc does the same). */
  bool period_pending = false;
  if (r->cpu_period) {
    ret = lc_cg_writef(dir, "cpu.cfs_period_us", err, "%" PRIu64, r->cpu_period);
    if (ret == -EINVAL && r->cpu_quota)
      period_pending = true;
    else if (ret < 0)
      return ret;
  }
  if (r->cpu_quota) {
    if ((ret = lc_cg_writef(dir, "cpu.cfs_quota_us", err, "%" PRId64, r->cpu_quota)) < 0)
      return ret;
    if (period_pending &&
        (ret = lc_cg_writef(dir, "cpu.cfs_period_us", err, "%" PRIu64, r->cpu_period)) < 0)
      return ret;
  }
  if (r->has_cpu_burst) {
    if (!lc_cg_exists(dir, "cpu.cfs_burst_us"))
      return berr_set(err, 0, "cpu.burst: this kernel has no cpu.cfs_burst_us");
    if ((ret = lc_cg_writef(dir, "cpu.cfs_burst_us", err, "%" PRIu64, r->cpu_burst)) < 0)
      return ret;
  }
  if (r->has_cpu_idle && (ret = lc_cg_writef(dir, "cpu.idle", err, "%" PRId64, r->cpu_idle)) < 0)
    return ret;
  if (r->cpu_rt_period &&
      (ret = lc_cg_writef(dir, "cpu.rt_period_us", err, "%" PRIu64, r->cpu_rt_period)) < 0)
    return ret;
  if (r->cpu_rt_runtime &&
      (ret = lc_cg_writef(dir, "cpu.rt_runtime_us", err, "%" PRId64, r->cpu_rt_runtime)) < 0)
    return ret;
  return 0;
}

static int apply_cpuset(struct lc_cgroup *cg, const struct lc_cg_resources *r, struct berr *err)
{
  if (!r->cpus && !r->mems)
    return 0;
  const char *dir;
  int ret = need_dir(cg, "cpuset", "cpuset", &dir, err);
  if (ret < 0)
    return ret;
  if (r->cpus && (ret = lc_cg_write(dir, "cpuset.cpus", r->cpus, err)) < 0)
    return ret;
  if (r->mems && (ret = lc_cg_write(dir, "cpuset.mems", r->mems, err)) < 0)
    return ret;
  return 0;
}

static int apply_pids(struct lc_cgroup *cg, const struct lc_cg_resources *r, struct berr *err)
{
  if (!r->pids_limit)
    return 0;
  const char *dir;
  int ret = need_dir(cg, "pids", "pids", &dir, err);
  if (ret < 0)
    return ret;
  if (r->pids_limit < 0)
    return lc_cg_write(dir, "pids.max", "max", err);
  return lc_cg_writef(dir, "pids.max", err, "%" PRId64, r->pids_limit);
}

static int apply_blkio(struct lc_cgroup *cg, const struct lc_cg_resources *r, struct berr *err)
{
  size_t nthr = r->nthrottle[0] + r->nthrottle[1] + r->nthrottle[2] + r->nthrottle[3];
  if (!r->blkio_weight && !r->nweight_devices && !nthr)
    return 0;
  const char *dir;
  int ret = need_dir(cg, "blkio", "blockIO", &dir, err);
  if (ret < 0)
    return ret;
  /* CFQ's blkio.weight is gone from current kernels; BFQ offers blkio.bfq.weight. */
  const char *wfile = lc_cg_exists(dir, "blkio.weight")       ? "blkio.weight"
                      : lc_cg_exists(dir, "blkio.bfq.weight") ? "blkio.bfq.weight"
                                                              : NULL;
  if ((r->blkio_weight || r->nweight_devices) && !wfile)
    return berr_set(err, 0,
                    "blockIO.weight: not supported by this kernel (no blkio.weight or "
                    "blkio.bfq.weight; the CFQ or BFQ I/O scheduler is needed)");
  if (r->blkio_weight && (ret = lc_cg_writef(dir, wfile, err, "%" PRIu64, r->blkio_weight)) < 0)
    return ret;
  char wdev[64];
  snprintf(wdev, sizeof(wdev), "%s_device", wfile ? wfile : "");
  for (size_t i = 0; i < r->nweight_devices; i++) {
    const struct lc_cg_weight_device *w = &r->weight_devices[i];
    if (w->weight && (ret = lc_cg_writef(dir, wdev, err, "%" PRId64 ":%" PRId64 " %" PRIu64,
                                         w->major, w->minor, w->weight)) < 0)
      return ret;
  }
  static const char *const files[4] = {
      "blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
      "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"};
  for (int k = 0; k < 4; k++)
    for (size_t i = 0; i < r->nthrottle[k]; i++) {
      const struct lc_cg_throttle *t = &r->throttle[k][i];
      if ((ret = lc_cg_writef(dir, files[k], err, "%" PRId64 ":%" PRId64 " %" PRIu64, t->major,
                              t->minor, t->rate)) < 0)
        return ret;
    }
  return 0;
}

static int apply_hugetlb(struct lc_cgroup *cg, const struct lc_cg_resources *r, struct berr *err)
{
  if (!r->nhugepages)
    return 0;
  /* Hybrid hosts may keep hugetlb in the cgroup2 hierarchy instead of a v1 mount. */
  const char *dir = lc_cg_v1_dir(cg, "hugetlb");
  const char *suffix = "limit_in_bytes";
  if (!dir) {
    dir = unified_dir(cg);
    suffix = "max";
    char file[64];
    snprintf(file, sizeof(file), "hugetlb.%s.max", r->hugepages[0].page_size);
    if (dir && !lc_cg_exists(dir, file))
      dir = NULL;
  }
  if (!dir)
    return berr_set(err, 0, "the hugetlb cgroup controller is not available");
  for (size_t i = 0; i < r->nhugepages; i++) {
    char file[64];
    snprintf(file, sizeof(file), "hugetlb.%s.%s", r->hugepages[i].page_size, suffix);
    if (!lc_cg_exists(dir, file))
      return berr_set(err, 0, "hugepageLimits: page size %s is not supported by this host",
                      r->hugepages[i].page_size);
    int ret = lc_cg_writef(dir, file, err, "%" PRIu64, r->hugepages[i].limit);
    if (ret < 0)
      return ret;
  }
  return 0;
}

static int apply_devices(struct lc_cgroup *cg, const struct lc_cg_resources *r, struct berr *err)
{
  if (!r->has_devices)
    return 0;
  const char *dir = lc_cg_v1_dir(cg, "devices");
  /* No v1 devices hierarchy but a cgroup2 one: its BPF device filter does the job. */
  if (!dir && unified_dir(cg))
    return lc_cg_v2_devices_apply(unified_dir(cg), r->devices, r->ndevices, err);
  int ret = need_dir(cg, "devices", "devices", &dir, err);
  if (ret < 0)
    return ret;
  /* Like runc, the list is a white-list over "deny everything": reset to deny-all ("a"
   * in devices.deny also drops every earlier exception), then the rules in order. */
  if ((ret = lc_cg_write(dir, "devices.deny", "a", err)) < 0)
    return ret;
  for (size_t i = 0; i < r->ndevices; i++) {
    const struct lc_cg_device_rule *d = &r->devices[i];
    char rule[96], maj[24], min[24];
    if (d->major < 0)
      strcpy(maj, "*");
    else
      snprintf(maj, sizeof(maj), "%" PRId64, d->major);
    if (d->minor < 0)
      strcpy(min, "*");
    else
      snprintf(min, sizeof(min), "%" PRId64, d->minor);
    if (d->type == 'a')
      snprintf(rule, sizeof(rule), "a");
    else
      snprintf(rule, sizeof(rule), "%c %s:%s %s", d->type, maj, min, d->access);
    /* "a" alone means all devices with all access; a partial-access "a" rule cannot be
     * expressed in v1 and is spelt with both b and c. */
    if (d->type == 'a' && strcmp(d->access, "rwm") != 0) {
      for (const char *t = "bc"; *t; t++) {
        snprintf(rule, sizeof(rule), "%c %s:%s %s", *t, maj, min, d->access);
        if ((ret = lc_cg_write(dir, d->allow ? "devices.allow" : "devices.deny", rule, err)) < 0)
          return ret;
      }
      continue;
    }
    if ((ret = lc_cg_write(dir, d->allow ? "devices.allow" : "devices.deny", rule, err)) < 0)
      return ret;
  }
  return 0;
}

static int apply_unified(struct lc_cgroup *cg, const struct lc_cg_resources *r, struct berr *err)
{
  if (!r->nunified)
    return 0;
  const char *dir = unified_dir(cg);
  if (!dir)
    return berr_set(err, 0, "unified: cgroup v2 is not mounted on this host");
  for (size_t i = 0; i < r->nunified; i++) {
    if (!lc_cg_exists(dir, r->unified[i].key))
      return berr_set(err, 0, "unified.%s: no such file in the cgroup v2 hierarchy of this host",
                      r->unified[i].key);
    int ret = lc_cg_write(dir, r->unified[i].key, r->unified[i].value, err);
    if (ret < 0)
      return ret;
  }
  return 0;
}

int lc_cg_v1_apply(struct lc_cgroup *cg, const struct lc_cg_resources *r, struct berr *err)
{
  int ret;
  if ((ret = apply_memory(cg, r, err)) < 0)
    return berr_wrap(err, "apply memory");
  if ((ret = apply_cpu(cg, r, err)) < 0)
    return berr_wrap(err, "apply cpu");
  if ((ret = apply_cpuset(cg, r, err)) < 0)
    return berr_wrap(err, "apply cpuset");
  if ((ret = apply_pids(cg, r, err)) < 0)
    return berr_wrap(err, "apply pids");
  if ((ret = apply_blkio(cg, r, err)) < 0)
    return berr_wrap(err, "apply blockIO");
  if ((ret = apply_hugetlb(cg, r, err)) < 0)
    return berr_wrap(err, "apply hugepageLimits");
  if ((ret = apply_devices(cg, r, err)) < 0)
    return berr_wrap(err, "apply devices");
  if ((ret = apply_unified(cg, r, err)) < 0)
    return berr_wrap(err, "apply unified");
  return 0;
}

static void sleep_us(long us)
{
  struct timespec ts = {.tv_sec = 0, .tv_nsec = us * 1000L};
  nanosleep(&ts, NULL);
}

static int read_state(const char *dir, char *buf, size_t len, struct berr *err)
{
  _cleanup_free_ char *s = NULL;
  int r = lc_cg_read(dir, "freezer.state", &s, err);
  if (r < 0)
    return r;
  s[strcspn(s, "\n")] = '\0';
  snprintf(buf, len, "%s", s);
  return 0;
}

int lc_cg_v1_freeze(struct lc_cgroup *cg, bool frozen, struct berr *err)
{
  const char *dir;
  int r = need_dir(cg, "freezer", "freeze", &dir, err);
  if (r < 0)
    return r;
  char state[32];
  if (!frozen) {
    if ((r = lc_cg_write(dir, "freezer.state", "THAWED", err)) < 0)
      return berr_wrap(err, "thaw cgroup %s", cg->path);
    return 0;
  }
  /* FREEZING settles once every task has stopped; tasks forking meanwhile can keep it
   * there, so re-write FROZEN, and now and then thaw briefly to let them finish (runc's
   * approach to the same v1 weakness). */
  for (int i = 0; i < 1000; i++) {
    if (i % 50 == 49) {
      lc_cg_write(dir, "freezer.state", "THAWED", err);
      sleep_us(10000);
    }
    if ((r = lc_cg_write(dir, "freezer.state", "FROZEN", err)) < 0)
      return berr_wrap(err, "freeze cgroup %s", cg->path);
    if (i % 25 == 24)
      sleep_us(100);
    if ((r = read_state(dir, state, sizeof(state), err)) < 0)
      return berr_wrap(err, "freeze cgroup %s", cg->path);
    if (strcmp(state, "FROZEN") == 0)
      return 0;
    if (strcmp(state, "FREEZING") != 0)
      return berr_set(err, 0, "freeze cgroup %s: unexpected state %s", cg->path, state);
    sleep_us(1000);
  }
  struct berr ignored;
  lc_cg_write(dir, "freezer.state", "THAWED", &ignored);
  return berr_set(err, EBUSY, "freeze cgroup %s: still FREEZING after retries", cg->path);
}

int lc_cg_v1_is_frozen(struct lc_cgroup *cg, bool *frozen, struct berr *err)
{
  const char *dir = lc_cg_v1_dir(cg, "freezer");
  *frozen = false;
  if (!dir)
    return 0;
  char state[32];
  int r = read_state(dir, state, sizeof(state), err);
  if (r < 0)
    return r;
  *frozen = strcmp(state, "FROZEN") == 0;
  return 0;
}

/* Sum "Read"/"Write" lines of a blkio *_service_bytes file ("8:0 Read 4096"). */
static int blkio_bytes(const char *dir, const char *file, uint64_t *rd, uint64_t *wr, bool *found)
{
  struct berr ignored;
  _cleanup_free_ char *s = NULL;
  if (lc_cg_read(dir, file, &s, &ignored) < 0)
    return 0;
  char *save = NULL;
  for (char *line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char dev[32], op[16];
    unsigned long long v;
    if (sscanf(line, "%31s %15s %llu", dev, op, &v) != 3)
      continue;
    *found = true;
    if (strcmp(op, "Read") == 0)
      *rd += v;
    else if (strcmp(op, "Write") == 0)
      *wr += v;
  }
  return 0;
}

int lc_cg_v1_stats(struct lc_cgroup *cg, struct lc_cgroup_stats *st, struct berr *err)
{
  int r;
  const char *dir;
  uint64_t v;
  if ((dir = lc_cg_v1_dir(cg, "memory"))) {
    if ((r = lc_cg_read_u64(dir, "memory.usage_in_bytes", &st->memory_usage, err)) < 0 ||
        (r = lc_cg_read_u64(dir, "memory.max_usage_in_bytes", &st->memory_max_usage, err)) < 0 ||
        (r = lc_cg_read_u64(dir, "memory.limit_in_bytes", &v, err)) < 0)
      return r;
    /* v1 reports "unlimited" as the largest page-aligned counter value. */
    st->memory_limit = v >= (UINT64_C(1) << 62) ? UINT64_MAX : v;
    if (lc_cg_read_keyed(dir, "memory.stat", "total_cache", &st->memory_cache, err) == -ENOENT)
      lc_cg_read_keyed(dir, "memory.stat", "cache", &st->memory_cache, err);
    lc_cg_read_keyed(dir, "memory.oom_control", "oom_kill", &st->oom_kills, err);
  }
  if ((dir = lc_cg_v1_dir(cg, "cpuacct"))) {
    if ((r = lc_cg_read_u64(dir, "cpuacct.usage", &st->cpu_usage_ns, err)) < 0)
      return r;
    if (lc_cg_exists(dir, "cpuacct.usage_user")) {
      lc_cg_read_u64(dir, "cpuacct.usage_user", &st->cpu_user_ns, err);
      lc_cg_read_u64(dir, "cpuacct.usage_sys", &st->cpu_system_ns, err);
    } else {
      /* Older kernels: cpuacct.stat in USER_HZ ticks. */
      long hz = sysconf(_SC_CLK_TCK);
      uint64_t u = 0, s = 0;
      lc_cg_read_keyed(dir, "cpuacct.stat", "user", &u, err);
      lc_cg_read_keyed(dir, "cpuacct.stat", "system", &s, err);
      if (hz > 0) {
        st->cpu_user_ns = u * (1000000000ULL / (uint64_t)hz);
        st->cpu_system_ns = s * (1000000000ULL / (uint64_t)hz);
      }
    }
  }
  if ((dir = lc_cg_v1_dir(cg, "cpu")))
    lc_cg_read_keyed(dir, "cpu.stat", "nr_throttled", &st->cpu_throttled_periods, err);
  if ((dir = lc_cg_v1_dir(cg, "pids"))) {
    if ((r = lc_cg_read_u64(dir, "pids.current", &st->pids_current, err)) < 0 ||
        (r = lc_cg_read_u64(dir, "pids.max", &st->pids_limit, err)) < 0)
      return r;
  }
  if ((dir = lc_cg_v1_dir(cg, "blkio"))) {
    /* CFQ's counters when present, else the throttle layer's (which sees all I/O). */
    bool found = false;
    blkio_bytes(dir, "blkio.io_service_bytes_recursive", &st->blkio_read_bytes,
                &st->blkio_write_bytes, &found);
    if (!found)
      blkio_bytes(dir, "blkio.throttle.io_service_bytes_recursive", &st->blkio_read_bytes,
                  &st->blkio_write_bytes, &found);
  }
  return 0;
}

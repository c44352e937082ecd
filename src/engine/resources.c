/* Docker's checks on a container's resources and security options (moby's
 * verifyContainerSettings and verifyPlatformContainerResources), with its messages, made
 * before anything is created; and `update`, which changes a container's limits. */
#include "resources.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileutil.h"
#include "engine_internal.h"
#include "execdriver/spec.h"
#include "libcontainer/container.h"
#include "libcontainer/security/caps.h"
#include "lifecycle.h"
#include "repository.h"
#include "runtimes.h"

#define MIN_MEMORY (6LL << 20) /* moby's linuxMinMemory */
#define CPU_CG "/sys/fs/cgroup/cpu"
#define MEM_CG "/sys/fs/cgroup/memory"

static json_int_t geti(json_t *o, const char *k)
{
  return json_integer_value(json_object_get(o, k));
}

/* "0-3,5" -> bitmask; false when malformed. */
static bool parse_cpu_list(const char *s, unsigned long long *mask)
{
  *mask = 0;
  if (!*s)
    return true;
  while (*s) {
    char *end;
    unsigned long a = strtoul(s, &end, 10), b = a;
    if (end == s)
      return false;
    if (*end == '-') {
      const char *s2 = end + 1;
      b = strtoul(s2, &end, 10);
      if (end == s2 || b < a)
        return false;
    }
    if (b >= 64)
      return false;
    for (unsigned long i = a; i <= b; i++)
      *mask |= 1ULL << i;
    if (*end == ',')
      end++;
    else if (*end)
      return false;
    s = end;
  }
  return true;
}

static int check_cpuset(const char *req, const char *sysfile, const char *what, const char *bad,
                        struct berr *err)
{
  if (!req || !*req)
    return 0;
  unsigned long long want, have;
  if (!parse_cpu_list(req, &want))
    return berr_set(err, 0, "Invalid value %s for %s", req, bad);
  _cleanup_free_ char *online = NULL;
  size_t len = 0;
  struct berr ignored;
  if (bf_read_all(sysfile, &online, &len, &ignored) < 0)
    return 0;
  online[strcspn(online, "\n")] = 0;
  if (parse_cpu_list(online, &have) && (want & ~have))
    return berr_set(err, 0, "Requested %s are not available - requested %s, available: %s", what,
                    req, online);
  return 0;
}

static int check_caps(json_t *list, const char *field, struct berr *err)
{
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v)
  {
    const char *n = json_string_value(v);
    if (n && strcasecmp(n, "ALL") == 0)
      continue;
    if (!n || lc_cap_from_name(n) < 0)
      return berr_set(err, 0, "invalid %s: unknown capability: \"%s\"", field,
                      n ? n : "(not a string)");
  }
  return 0;
}

static int check_security_opts(json_t *opts, struct berr *err)
{
  size_t i;
  json_t *v;
  json_array_foreach(opts, i, v)
  {
    const char *o = json_string_value(v);
    if (!o)
      return berr_set(err, 0, "invalid --security-opt 1: not a string");
    if (strcmp(o, "no-new-privileges") == 0 || strcmp(o, "disable") == 0)
      continue;
    const char *sep = strchr(o, '=');
    if (!sep)
      sep = strchr(o, ':');
    if (!sep)
      return berr_set(err, 0, "invalid --security-opt 1: \"%s\"", o);
    size_t klen = (size_t)(sep - o);
    const char *val = sep + 1;
    if (klen == 7 && strncmp(o, "seccomp", 7) == 0) {
      if (strcmp(val, "unconfined") == 0 || strcmp(val, "builtin") == 0)
        continue;
      /* The CLI sends a profile file's content, not its name. */
      json_error_t je;
      json_t *p = json_loads(val, 0, &je);
      bool ok = json_is_object(p);
      json_decref(p);
      if (!ok)
        return berr_set(err, 0, "Decoding seccomp profile failed: %s", je.text);
    } else if (klen == 17 && strncmp(o, "no-new-privileges", 17) == 0) {
      if (strcmp(val, "true") && strcmp(val, "false") && strcmp(val, "1") && strcmp(val, "0"))
        return berr_set(err, 0, "invalid --security-opt 2: \"%s\"", o);
    } else if ((klen == 5 && strncmp(o, "label", 5) == 0) ||
               (klen == 8 && strncmp(o, "apparmor", 8) == 0)) {
      continue; /* no LSM here: accepted and ignored, as on a host without them */
    } else {
      return berr_set(err, 0, "invalid --security-opt 2: \"%s\"", o);
    }
  }
  return 0;
}

/* Namespaced sysctls only (moby's ValidateSysctl). */
static int check_sysctls(json_t *sysctls, json_t *host, struct berr *err)
{
  static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
                                    "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
                                    "kernel.shmmni", "kernel.shm_rmid_forced"};
  const char *net = json_string_value(json_object_get(host, "NetworkMode"));
  const char *k;
  json_t *v;
  json_object_foreach(sysctls, k, v)
  {
    bool ok = strncmp(k, "fs.mqueue.", 10) == 0;
    for (size_t i = 0; !ok && i < sizeof(ipc) / sizeof(ipc[0]); i++)
      ok = strcmp(k, ipc[i]) == 0;
    if (strncmp(k, "net.", 4) == 0) {
      if (net && strcmp(net, "host") == 0)
        return berr_set(err, 0, "sysctl \"%s\" not allowed in host network namespace", k);
      ok = true;
    }
    if (!ok)
      return berr_set(err, 0, "sysctl '%s=%s' is not allowed", k, json_string_value(v) ?: "");
  }
  return 0;
}

static int check_ulimits(json_t *ulimits, struct berr *err)
{
  static const char *const names[] = {
      "as",   "core",   "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue",
      "nice", "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack"};
  size_t i;
  json_t *v;
  json_array_foreach(ulimits, i, v)
  {
    const char *n = json_string_value(json_object_get(v, "Name"));
    bool ok = false;
    for (size_t k = 0; n && k < sizeof(names) / sizeof(names[0]); k++)
      ok |= strcmp(n, names[k]) == 0;
    if (!ok)
      return berr_set(err, 0, "invalid ulimit type: %s", n ? n : "(none)");
    if (geti(v, "Soft") > geti(v, "Hard"))
      return berr_set(err, 0,
                      "ulimit soft limit must be less than or equal to hard limit: %lld > %lld",
                      (long long)geti(v, "Soft"), (long long)geti(v, "Hard"));
  }
  return 0;
}

static int check_devices(json_t *devices, struct berr *err)
{
  size_t i;
  json_t *v;
  json_array_foreach(devices, i, v)
  {
    const char *p = json_string_value(json_object_get(v, "PathOnHost"));
    struct stat st;
    if (!p || stat(p, &st) < 0)
      return berr_set(err, errno == ENOENT || !p ? 0 : errno,
                      "error gathering device information while adding custom device \"%s\": "
                      "no such file or directory",
                      p ? p : "");
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode) && !S_ISDIR(st.st_mode))
      return berr_set(err, 0,
                      "error gathering device information while adding custom device \"%s\": "
                      "not a device node",
                      p);
    const char *perm = json_string_value(json_object_get(v, "CgroupPermissions"));
    if (perm && (!*perm || strspn(perm, "rwm") != strlen(perm)))
      return berr_set(err, 0, "invalid device mode: %s", perm);
  }
  return 0;
}

static int check_restart_policy(json_t *rp, bool auto_remove, struct berr *err)
{
  const char *name = json_string_value(json_object_get(rp, "Name"));
  json_int_t max = geti(rp, "MaximumRetryCount");
  if (!name || !*name || strcmp(name, "no") == 0 || strcmp(name, "always") == 0 ||
      strcmp(name, "unless-stopped") == 0) {
    if (max != 0)
      return berr_set(err, 0,
                      "invalid restart policy: maximum retry count can only be used with "
                      "'on-failure'");
  } else if (strcmp(name, "on-failure") == 0) {
    if (max < 0)
      return berr_set(err, 0, "invalid restart policy: maximum retry count cannot be negative");
  } else {
    return berr_set(err, 0,
                    "invalid restart policy: unknown policy '%s'; use one of 'no', 'always', "
                    "'on-failure', or 'unless-stopped'",
                    name);
  }
  if (auto_remove && name && *name && strcmp(name, "no") != 0)
    return berr_set(err, 0, "can't create 'AutoRemove' container with restart policy");
  return 0;
}

static int check_health(json_t *hc, struct berr *err)
{
  if (!json_is_object(hc))
    return 0;
  static const char *const durs[] = {"Interval", "Timeout", "StartPeriod", "StartInterval"};
  for (size_t i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
    json_int_t d = geti(hc, durs[i]);
    if (d != 0 && d < 1000000)
      return berr_set(err, 0, "%s in Healthcheck cannot be less than 1ms", durs[i]);
  }
  if (geti(hc, "Retries") < 0)
    return berr_set(err, 0, "Retries in Healthcheck cannot be negative");
  return 0;
}

/* The limits both create and update check (moby's verifyPlatformContainerResources). */
static int check_limits(json_t *h, struct berr *err)
{
  json_int_t mem = geti(h, "Memory"), swap = geti(h, "MemorySwap"),
             res = geti(h, "MemoryReservation");
  if (mem < 0)
    return berr_set(err, 0, "invalid memory limit: %lld", (long long)mem);
  if (mem > 0 && mem < MIN_MEMORY)
    return berr_set(err, 0, "Minimum memory limit allowed is 6MB");
  if (mem > 0 && swap > 0 && swap < mem)
    return berr_set(err, 0,
                    "Minimum memoryswap limit should be larger than memory limit, see usage");
  if (res > 0 && res < MIN_MEMORY)
    return berr_set(err, 0, "Minimum memory reservation allowed is 6MB");
  if (mem > 0 && res > 0 && mem < res)
    return berr_set(err, 0,
                    "Minimum memory limit can not be less than memory reservation limit, see "
                    "usage");
  json_int_t nano = geti(h, "NanoCpus"), period = geti(h, "CpuPeriod"), quota = geti(h, "CpuQuota");
  if (nano > 0 && period > 0)
    return berr_set(err, 0, "Conflicting options: Nano CPUs and CPU Period cannot both be set");
  if (nano > 0 && quota > 0)
    return berr_set(err, 0, "Conflicting options: Nano CPUs and CPU Quota cannot both be set");
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (nano < 0 || nano > (json_int_t)ncpu * 1000000000LL)
    return berr_set(err, 0,
                    "Range of CPUs is from 0.01 to %ld.00, as there are only %ld CPUs available",
                    ncpu, ncpu);
  if (period != 0 && (period < 1000 || period > 1000000))
    return berr_set(err, 0,
                    "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. "
                    "1000000)");
  if (quota > 0 && quota < 1000)
    return berr_set(err, 0, "CPU cfs quota can not be less than 1ms (i.e. 1000)");
  if (geti(h, "CpuShares") < 0)
    return berr_set(err, 0, "invalid CPU shares: %lld", (long long)geti(h, "CpuShares"));
  if (check_cpuset(json_string_value(json_object_get(h, "CpusetCpus")),
                   "/sys/devices/system/cpu/online", "CPUs", "cpuset cpus", err) < 0 ||
      check_cpuset(json_string_value(json_object_get(h, "CpusetMems")),
                   "/sys/devices/system/node/online", "memory nodes", "cpuset mems", err) < 0)
    return -err->code;
  json_int_t bw = geti(h, "BlkioWeight");
  if (bw > 0 && (bw < 10 || bw > 1000))
    return berr_set(err, 0, "Range of blkio weight is from 10 to 1000");
  /* moby's validateResources: the real-time budget needs the v1 cpu controller's files. */
  json_int_t rtp = geti(h, "CpuRealtimePeriod"), rtr = geti(h, "CpuRealtimeRuntime");
  if (rtp > 0 && access(CPU_CG "/cpu.rt_period_us", F_OK) < 0)
    return berr_set(err, 0, "Your kernel does not support cgroup cpu real-time period");
  if (rtr > 0 && access(CPU_CG "/cpu.rt_runtime_us", F_OK) < 0)
    return berr_set(err, 0, "Your kernel does not support cgroup cpu real-time runtime");
  if (rtp != 0 && rtr != 0 && rtr > rtp)
    return berr_set(err, 0, "cpu real-time runtime cannot be higher than cpu real-time period");
  return 0;
}

static void warn(json_t *warnings, const char *msg)
{
  if (warnings)
    json_array_append_new(warnings, json_string(msg));
}

/* dockerd's create-time warnings (verifyPlatformContainerResources and
 * verifyPlatformContainerSettings) for what this host can tell; the docker CLI prints each
 * as "WARNING: ...". */
static void create_warnings(json_t *h, json_t *warnings)
{
  json_int_t mem = geti(h, "Memory"), swap = geti(h, "MemorySwap");
  if (mem > 0 && swap != -1 && access(MEM_CG "/memory.memsw.limit_in_bytes", F_OK) < 0 &&
      access("/sys/fs/cgroup/memory.swap.max", F_OK) < 0 &&
      access("/sys/fs/cgroup/cgroup.controllers", F_OK) < 0) {
    warn(warnings, "Your kernel does not support swap limit capabilities or the cgroup is not "
                   "mounted. Memory limited without swap.");
    json_object_set_new(h, "MemorySwap", json_integer(-1));
  }
  if (json_is_true(json_object_get(h, "OomKillDisable")) && mem == 0)
    warn(warnings, "OOM killer is disabled for the container, but no memory limit is set, this "
                   "can result in the system running out of resources.");
  const char *net = json_string_value(json_object_get(h, "NetworkMode"));
  bool host_net = net && strcmp(net, "host") == 0, none_net = net && strcmp(net, "none") == 0;
  if (host_net && json_object_size(json_object_get(h, "PortBindings")))
    warn(warnings, "Published ports are discarded when using host network mode");
  char fwd[8] = "";
  _cleanup_fclose_ FILE *f = fopen("/proc/sys/net/ipv4/ip_forward", "re");
  if (f && fgets(fwd, sizeof(fwd), f) && fwd[0] == '0' && !host_net && !none_net)
    warn(warnings, "IPv4 forwarding is disabled. Networking will not work.");
}

int resources_check_create(json_t *config, json_t *h, json_t *warnings, struct berr *err)
{
  if (check_limits(h, err) < 0)
    return -err->code;
  json_int_t mem = geti(h, "Memory"), swap = geti(h, "MemorySwap");
  if (mem == 0 && swap > 0)
    return berr_set(err, 0,
                    "You should always set the Memory limit when using Memoryswap limit, see "
                    "usage");
  if (geti(h, "ShmSize") < 0)
    return berr_set(err, 0, "SHM size can not be less than 0");
  json_int_t oom = geti(h, "OomScoreAdj");
  if (oom < -1000 || oom > 1000)
    return berr_set(err, 0, "Invalid value %lld, range for oom score adj is [-1000, 1000]",
                    (long long)oom);
  if (check_caps(json_object_get(h, "CapAdd"), "CapAdd", err) < 0 ||
      check_caps(json_object_get(h, "CapDrop"), "CapDrop", err) < 0 ||
      check_security_opts(json_object_get(h, "SecurityOpt"), err) < 0 ||
      check_sysctls(json_object_get(h, "Sysctls"), h, err) < 0 ||
      check_ulimits(json_object_get(h, "Ulimits"), err) < 0 ||
      check_devices(json_object_get(h, "Devices"), err) < 0 ||
      check_restart_policy(json_object_get(h, "RestartPolicy"),
                           json_is_true(json_object_get(h, "AutoRemove")), err) < 0 ||
      check_health(json_object_get(config, "Healthcheck"), err) < 0)
    return -err->code;
  create_warnings(h, warnings);
  /* Docker's default: as much swap as memory (memsw = 2 x memory). */
  if (mem > 0 && swap == 0 &&
      access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0)
    json_object_set_new(h, "MemorySwap", json_integer(mem * 2));
  return 0;
}

static int write_rt(const char *dir, const char *file, long long v, struct berr *err)
{
  char path[PATH_MAX], buf[32];
  snprintf(path, sizeof(path), "%s/%s", dir, file);
  int n = snprintf(buf, sizeof(buf), "%lld", v);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, buf, (size_t)n) != n)
    return berr_errno(err, "write %s to %s", buf, path);
  return 0;
}

int resources_init_rt_parent(struct engine *e, struct berr *err)
{
  long long period = e->cfg.cpu_rt_period, runtime = e->cfg.cpu_rt_runtime;
  if ((!period && !runtime) || access(CPU_CG "/cpu.rt_runtime_us", F_OK) < 0)
    return 0;
  const char *dir = CPU_CG "/berth";
  if (mkdir(dir, 0755) < 0 && errno != EEXIST)
    return berr_errno(err, "mkdir %s", dir);
  /* The period first: a runtime is checked against it. */
  if (period && write_rt(dir, "cpu.rt_period_us", period, err) < 0)
    return berr_wrap(err, "--cpu-rt-period");
  if (runtime && write_rt(dir, "cpu.rt_runtime_us", runtime, err) < 0)
    return berr_wrap(err, "--cpu-rt-runtime");
  return 0;
}

static const char *const update_fields[] = {
    "BlkioWeight",        "CpuShares",  "CpuPeriod",   "CpuQuota", "CpuRealtimePeriod",
    "CpuRealtimeRuntime", "CpusetCpus", "CpusetMems",  "Memory",   "MemoryReservation",
    "MemorySwap",         "NanoCpus",   "KernelMemory"};

int resources_update(struct engine *e, const char *ref, json_t *upd, json_t **warnings,
                     struct berr *err)
{
  if (!json_is_object(upd))
    return berr_set(err, 0, "update: the body must be a JSON object");
  pthread_mutex_lock(&e->lock);
  struct container *c = repo_find(e, ref, err);
  if (!c) {
    pthread_mutex_unlock(&e->lock);
    return -err->code;
  }
  json_t *host = json_object_get(c->doc, "HostConfig");
  json_auto_t *next = json_deep_copy(host);
  int r = 0;
  /* Zero (or absent) means "leave as is", as in Docker's UpdateContainer. */
  for (size_t i = 0; i < sizeof(update_fields) / sizeof(update_fields[0]); i++) {
    json_t *v = json_object_get(upd, update_fields[i]);
    if ((json_is_integer(v) && json_integer_value(v) != 0) ||
        (json_is_string(v) && *json_string_value(v)))
      json_object_set(next, update_fields[i], v);
  }
  json_int_t mem = geti(upd, "Memory"), swap = geti(upd, "MemorySwap");
  if (mem != 0 && swap == 0 && geti(host, "MemorySwap") > 0 && mem > geti(host, "MemorySwap")) {
    r = berr_set(err, 0,
                 "Cannot update container %s: Memory limit should be smaller than already set "
                 "memoryswap limit, update the memoryswap at the same time",
                 c->id);
    goto out;
  }
  if (geti(upd, "NanoCpus") > 0 && (geti(upd, "CpuPeriod") || geti(upd, "CpuQuota"))) {
    r = berr_set(err, 0,
                 "Cannot update container %s: Conflicting options: CPU Quota cannot be "
                 "updated as NanoCPUs has already been set",
                 c->id);
    goto out;
  }
  if (geti(upd, "NanoCpus") > 0) {
    json_object_set_new(next, "CpuPeriod", json_integer(0));
    json_object_set_new(next, "CpuQuota", json_integer(0));
  } else if (geti(upd, "CpuPeriod") || geti(upd, "CpuQuota")) {
    json_object_set_new(next, "NanoCpus", json_integer(0));
  }
  json_t *pids = json_object_get(upd, "PidsLimit");
  if (json_is_integer(pids))
    json_object_set(next, "PidsLimit", pids);
  json_t *rp = json_object_get(upd, "RestartPolicy");
  if (json_is_object(rp) && json_string_value(json_object_get(rp, "Name")) &&
      *json_string_value(json_object_get(rp, "Name"))) {
    if (json_is_true(json_object_get(host, "AutoRemove")) &&
        strcmp(json_string_value(json_object_get(rp, "Name")), "no") != 0) {
      r = berr_set(err, 0,
                   "Restart policy cannot be updated because AutoRemove is enabled for the "
                   "container");
      goto out;
    }
    if (check_restart_policy(rp, false, err) < 0) {
      r = -err->code;
      goto out;
    }
    json_object_set_new(next, "RestartPolicy",
                        json_pack("{s:O,s:I}", "Name", json_object_get(rp, "Name"),
                                  "MaximumRetryCount", geti(rp, "MaximumRetryCount")));
  }
  if (check_limits(next, err) < 0) {
    r = berr_wrap(err, "Cannot update container %s", c->id);
    goto out;
  }
  if (c->state == CTR_RUNNING || c->state == CTR_PAUSED) {
    json_auto_t *res = execdriver_resources(next);
    /* The device rules stay as the container started with them. */
    json_object_del(res, "devices");
    if (json_is_integer(pids) && json_integer_value(pids) <= 0)
      json_object_set_new(res, "pids", json_pack("{s:i}", "limit", -1));
    if (runtime_update(e, c->id, runtime_of(c->doc), res, err) < 0) {
      r = berr_wrap(err, "Cannot update container %s", c->id);
      goto out;
    }
  }
  json_object_update(host, next);
  r = repo_save(e, c, err);
  if (r == 0)
    events_emit(&e->events, "container", "update", c->id, lifecycle_attrs(c));
out:
  pthread_mutex_unlock(&e->lock);
  if (r == 0)
    *warnings = json_array();
  return r;
}

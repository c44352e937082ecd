/* Docker container configuration -> OCI runtime spec. */
#include "spec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "libcontainer/safepath.h"
#include "libcontainer/security/caps.h"
#include "seccomp_default.h"
#include "spec_options.h"
#include "user.h"

/* moby's default capability set (daemon/pkg/oci/caps/defaults.go). */
static const int default_caps[] = {
    CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,           CAP_FOWNER,
    CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,           CAP_SETUID,
    CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
    CAP_KILL,    CAP_AUDIT_WRITE};

static const char *const masked_paths[] = {"/proc/acpi",
                                           "/proc/asound",
                                           "/proc/interrupts",
                                           "/proc/kcore",
                                           "/proc/keys",
                                           "/proc/latency_stats",
                                           "/proc/sched_debug",
                                           "/proc/scsi",
                                           "/proc/timer_list",
                                           "/proc/timer_stats",
                                           "/sys/devices/virtual/powercap",
                                           "/sys/firmware"};
static const char *const readonly_paths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                             "/proc/sysrq-trigger"};

static const char default_path[] =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

int execdriver_args(json_t *config, json_t **args, struct berr *err)
{
  json_t *ep = json_object_get(config, "Entrypoint");
  json_t *cmd = json_object_get(config, "Cmd");
  json_t *a = json_array();
  /* --entrypoint "" clears the image's entrypoint: [""] counts as empty. */
  if (json_is_array(ep) &&
      !(json_array_size(ep) == 1 && !*json_string_value(json_array_get(ep, 0))))
    json_array_extend(a, ep);
  if (json_is_array(cmd))
    json_array_extend(a, cmd);
  if (json_array_size(a) == 0) {
    json_decref(a);
    return berr_set(err, 0, "no command specified");
  }
  *args = a;
  return 0;
}

/* "All" capabilities are those the daemon itself may hold: a berthd whose bounding set
 * lacks one (inside another container) cannot give it, and capset would fail. */
static uint64_t all_caps(void)
{
  uint64_t caps = 0;
  for (int c = 0; c <= lc_cap_last(); c++)
    if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) > 0)
      caps |= 1ULL << c;
  return caps;
}

static uint64_t cap_set(json_t *host, struct berr *err, int *bad)
{
  uint64_t caps = 0;
  if (json_is_true(json_object_get(host, "Privileged")))
    return all_caps();
  for (size_t i = 0; i < sizeof(default_caps) / sizeof(default_caps[0]); i++)
    caps |= 1ULL << default_caps[i];
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(host, "CapAdd"), i, v)
  {
    const char *n = json_string_value(v);
    if (n && strcasecmp(n, "ALL") == 0) {
      caps |= all_caps();
      continue;
    }
    int c = n ? lc_cap_from_name(n) : -1;
    if (c < 0) {
      *bad = berr_set(err, 0, "invalid capability: %s", n ? n : "(not a string)");
      return 0;
    }
    caps |= 1ULL << c;
  }
  json_array_foreach(json_object_get(host, "CapDrop"), i, v)
  {
    const char *n = json_string_value(v);
    if (n && strcasecmp(n, "ALL") == 0) {
      caps = 0;
      continue;
    }
    int c = n ? lc_cap_from_name(n) : -1;
    if (c < 0) {
      *bad = berr_set(err, 0, "invalid capability: %s", n ? n : "(not a string)");
      return 0;
    }
    caps &= ~(1ULL << c);
  }
  /* CapAdd wins over CapDrop ALL: re-add after dropping, as Docker does. */
  json_array_foreach(json_object_get(host, "CapAdd"), i, v)
  {
    int c = lc_cap_from_name(json_string_value(v));
    if (c >= 0)
      caps |= 1ULL << c;
  }
  return caps;
}

static json_t *cap_names(uint64_t caps)
{
  json_t *a = json_array();
  for (int c = 0; c < 64; c++)
    if (caps & (1ULL << c)) {
      const char *n = lc_cap_name(c);
      if (n)
        json_array_append_new(a, json_string(n));
    }
  return a;
}

static json_t *mount_entry(const char *dest, const char *type, const char *src,
                           const char *const *opts)
{
  json_t *o = json_array();
  for (; opts && *opts; opts++)
    json_array_append_new(o, json_string(*opts));
  return json_pack("{s:s,s:s,s:s,s:o}", "destination", dest, "type", type, "source", src, "options",
                   o);
}

static size_t path_depth(json_t *m)
{
  size_t n = 0;
  for (const char *p = json_string_value(json_object_get(m, "destination")); p && *p; p++)
    n += *p == '/';
  return n;
}

/* Parents before children (a volume on /etc comes before the /etc/hosts bind); a stable
 * insertion sort keeps the given order among mounts of the same depth. */
static void sort_mounts_by_depth(json_t *mounts)
{
  size_t n = json_array_size(mounts);
  for (size_t a = 1; a < n; a++) {
    for (size_t b = a; b > 0; b--) {
      json_t *prev = json_array_get(mounts, b - 1), *cur = json_array_get(mounts, b);
      if (path_depth(prev) <= path_depth(cur))
        break;
      json_incref(cur);
      json_array_remove(mounts, b);
      json_array_insert_new(mounts, b - 1, cur);
    }
  }
}

static bool has_env(json_t *env, const char *key)
{
  size_t i, n = strlen(key);
  json_t *v;
  json_array_foreach(env, i, v)
  {
    const char *s = json_string_value(v);
    if (s && strncmp(s, key, n) == 0 && s[n] == '=')
      return true;
  }
  return false;
}

static json_t *build_env(json_t *config, const char *hostname)
{
  json_t *env = json_array();
  json_t *cenv = json_object_get(config, "Env");
  char buf[512];
  if (!has_env(cenv, "PATH"))
    json_array_append_new(env, json_string(default_path));
  snprintf(buf, sizeof(buf), "HOSTNAME=%s", hostname);
  json_array_append_new(env, json_string(buf));
  size_t i;
  json_t *v;
  json_array_foreach(cenv, i, v)
  {
    const char *s = json_string_value(v);
    if (s && strchr(s, '='))
      json_array_append_new(env, json_string(s));
  }
  if (json_is_true(json_object_get(config, "Tty")) && !has_env(cenv, "TERM"))
    json_array_append_new(env, json_string("TERM=xterm"));
  return env;
}

json_t *execdriver_resources(json_t *host)
{
  json_t *r = json_object();
  json_t *mem = json_object(), *cpu = json_object();
  json_int_t v;
  if ((v = json_integer_value(json_object_get(host, "Memory"))) > 0)
    json_object_set_new(mem, "limit", json_integer(v));
  if ((v = json_integer_value(json_object_get(host, "MemoryReservation"))) > 0)
    json_object_set_new(mem, "reservation", json_integer(v));
  if ((v = json_integer_value(json_object_get(host, "MemorySwap"))) != 0)
    json_object_set_new(mem, "swap", json_integer(v));
  if (json_is_true(json_object_get(host, "OomKillDisable")))
    json_object_set_new(mem, "disableOOMKiller", json_true());
  if ((v = json_integer_value(json_object_get(host, "CpuShares"))) > 0)
    json_object_set_new(cpu, "shares", json_integer(v));
  json_int_t nano = json_integer_value(json_object_get(host, "NanoCpus"));
  if (nano > 0) {
    json_object_set_new(cpu, "period", json_integer(100000));
    json_object_set_new(cpu, "quota", json_integer(nano * 100000 / 1000000000));
  } else {
    if ((v = json_integer_value(json_object_get(host, "CpuQuota"))) > 0)
      json_object_set_new(cpu, "quota", json_integer(v));
    if ((v = json_integer_value(json_object_get(host, "CpuPeriod"))) > 0)
      json_object_set_new(cpu, "period", json_integer(v));
  }
  if ((v = json_integer_value(json_object_get(host, "CpuRealtimePeriod"))) > 0)
    json_object_set_new(cpu, "realtimePeriod", json_integer(v));
  if ((v = json_integer_value(json_object_get(host, "CpuRealtimeRuntime"))) != 0)
    json_object_set_new(cpu, "realtimeRuntime", json_integer(v));
  const char *s;
  if ((s = json_string_value(json_object_get(host, "CpusetCpus"))) && *s)
    json_object_set_new(cpu, "cpus", json_string(s));
  if ((s = json_string_value(json_object_get(host, "CpusetMems"))) && *s)
    json_object_set_new(cpu, "mems", json_string(s));
  if (json_object_size(mem))
    json_object_set(r, "memory", mem);
  if (json_object_size(cpu))
    json_object_set(r, "cpu", cpu);
  json_decref(mem);
  json_decref(cpu);
  if ((v = json_integer_value(json_object_get(host, "PidsLimit"))) > 0)
    json_object_set_new(r, "pids", json_pack("{s:I}", "limit", v));
  if ((v = json_integer_value(json_object_get(host, "BlkioWeight"))) > 0)
    json_object_set_new(r, "blockIO", json_pack("{s:I}", "weight", v));
  /* Docker's device policy: nothing but the defaults the runtime allows. */
  json_object_set_new(r, "devices", json_pack("[{s:b,s:s}]", "allow", 0, "access", "rwm"));
  return r;
}

/* The host id of the container's id 0 in OCI uid/gidMappings. */
static json_int_t mapped_root(json_t *maps)
{
  size_t i;
  json_t *m;
  json_array_foreach(maps, i, m)
  {
    json_int_t c = json_integer_value(json_object_get(m, "containerID"));
    json_int_t n = json_integer_value(json_object_get(m, "size"));
    if (c <= 0 && 0 < c + n)
      return json_integer_value(json_object_get(m, "hostID")) - c;
  }
  return 0;
}

static int ulimit_type(const char *name, char *out, size_t len)
{
  static const char *const names[] = {
      "as",   "core",   "cpu",   "data", "fsize",  "locks",  "memlock",    "msgqueue",
      "nice", "nofile", "nproc", "rss",  "rtprio", "rttime", "sigpending", "stack"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (strcmp(name, names[i]) == 0) {
      snprintf(out, len, "RLIMIT_");
      for (size_t k = 0; names[i][k] && k + 8 < len; k++)
        out[7 + k] = (char)(names[i][k] - 'a' + 'A');
      out[7 + strlen(names[i])] = '\0';
      return 0;
    }
  return -EINVAL;
}

int execdriver_spec(const struct execdriver_spec_in *in, json_t **out, struct berr *err)
{
  json_t *config = in->config, *host = in->host_config;
  json_t *args = NULL;
  if (execdriver_args(config, &args, err) < 0)
    return -EINVAL;
  bool privileged = json_is_true(json_object_get(host, "Privileged"));
  int bad = 0;
  uint64_t caps = cap_set(host, err, &bad);
  if (bad < 0) {
    json_decref(args);
    return bad;
  }

  _cleanup_close_ int rootfd = open(in->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) {
    json_decref(args);
    return berr_errno(err, "open rootfs %s", in->rootfs);
  }
  _cleanup_strv_ char **group_add = NULL;
  json_t *ga = json_object_get(host, "GroupAdd");
  if (json_array_size(ga)) {
    group_add = calloc(json_array_size(ga) + 1, sizeof(char *));
    for (size_t i = 0; group_add && i < json_array_size(ga); i++)
      group_add[i] = strdup(json_string_value(json_array_get(ga, i)) ?: "");
  }
  struct execdriver_user user;
  if (execdriver_resolve_user(rootfd, json_string_value(json_object_get(config, "User")),
                              (const char *const *)group_add, &user, err) < 0) {
    json_decref(args);
    return -EINVAL;
  }
  const char *cwd = json_string_value(json_object_get(config, "WorkingDir"));
  if (!cwd || !*cwd)
    cwd = "/";
  if (cwd[0] != '/') {
    json_decref(args);
    return berr_set(err, 0,
                    "the working directory '%s' is invalid, it needs to be an absolute path", cwd);
  }
  /* Docker creates the working directory in the container's own layer; in a user
   * namespace, owned by its root (a host-root directory would be nobody's there). */
  struct berr absent;
  int wfd = lc_safe_open(rootfd, cwd, O_RDONLY | O_DIRECTORY, 0, &absent);
  bool existed = wfd >= 0;
  if (wfd >= 0)
    close(wfd);
  wfd = lc_safe_mkpath(rootfd, cwd, false, 0755, err);
  if (wfd < 0) {
    json_decref(args);
    return berr_wrap(err, "create working directory");
  }
  if (!existed && in->uid_maps && in->gid_maps &&
      fchownat(wfd, "", (uid_t)mapped_root(in->uid_maps), (gid_t)mapped_root(in->gid_maps),
               AT_EMPTY_PATH) < 0) {
    close(wfd);
    json_decref(args);
    return berr_errno(err, "chown working directory %s", cwd);
  }
  close(wfd);

  const char *hostname = json_string_value(json_object_get(config, "Hostname"));
  char short_id[13];
  snprintf(short_id, sizeof(short_id), "%.12s", in->id);
  if (!hostname || !*hostname)
    hostname = short_id;
  bool host_net = json_is_string(json_object_get(host, "NetworkMode")) &&
                  strcmp(json_string_value(json_object_get(host, "NetworkMode")), "host") == 0;

  json_t *gids = json_array();
  for (size_t i = 0; i < user.ngroups; i++)
    json_array_append_new(gids, json_integer(user.groups[i]));
  json_t *capj = cap_names(caps);
  json_t *process =
      json_pack("{s:b,s:{s:i,s:i,s:o},s:o,s:o,s:s,s:{s:O,s:O,s:O},s:b}", "terminal",
                json_is_true(json_object_get(config, "Tty")), "user", "uid", (int)user.uid, "gid",
                (int)user.gid, "additionalGids", gids, "args", args, "env",
                build_env(config, hostname), "cwd", cwd, "capabilities", "bounding", capj,
                "effective", capj, "permitted", capj, "noNewPrivileges", false);
  json_decref(capj);
  json_t *console = json_object_get(host, "ConsoleSize");
  if (json_array_size(console) == 2 && json_integer_value(json_array_get(console, 0)) > 0)
    json_object_set_new(process, "consoleSize",
                        json_pack("{s:O,s:O}", "height", json_array_get(console, 0), "width",
                                  json_array_get(console, 1)));
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(host, "SecurityOpt"), i, v)
  {
    const char *s = json_string_value(v);
    if (s && (strcmp(s, "no-new-privileges") == 0 || strcmp(s, "no-new-privileges:true") == 0 ||
              strcmp(s, "no-new-privileges=true") == 0))
      json_object_set_new(process, "noNewPrivileges", json_true());
  }
  json_t *rlimits = json_array();
  json_array_foreach(json_object_get(host, "Ulimits"), i, v)
  {
    char type[32];
    const char *name = json_string_value(json_object_get(v, "Name"));
    if (!name || ulimit_type(name, type, sizeof(type)) < 0) {
      json_decref(rlimits);
      json_decref(process);
      return berr_set(err, 0, "invalid ulimit type: %s", name ? name : "(none)");
    }
    json_array_append_new(rlimits, json_pack("{s:s,s:O,s:O}", "type", type, "soft",
                                             json_object_get(v, "Soft"), "hard",
                                             json_object_get(v, "Hard")));
  }
  json_object_set_new(process, "rlimits", rlimits);
  if (json_is_integer(json_object_get(host, "OomScoreAdj")) &&
      json_integer_value(json_object_get(host, "OomScoreAdj")) != 0)
    json_object_set(process, "oomScoreAdj", json_object_get(host, "OomScoreAdj"));

  /* Mounts: Docker's defaults, then the per-container files. */
  static const char *const proc_o[] = {"nosuid", "noexec", "nodev", NULL};
  static const char *const dev_o[] = {"nosuid", "strictatime", "mode=755", "size=65536k", NULL};
  static const char *const pts_o[] = {"nosuid",    "noexec", "newinstance", "ptmxmode=0666",
                                      "mode=0620", "gid=5",  NULL};
  static const char *const sys_o[] = {"nosuid", "noexec", "nodev", "ro", NULL};
  static const char *const sys_rw_o[] = {"nosuid", "noexec", "nodev", NULL};
  static const char *const cg_o[] = {"nosuid", "noexec", "nodev", "relatime", "ro", NULL};
  static const char *const mq_o[] = {"nosuid", "noexec", "nodev", NULL};
  json_t *mounts = json_array();
  json_array_append_new(mounts, mount_entry("/proc", "proc", "proc", proc_o));
  json_array_append_new(mounts, mount_entry("/dev", "tmpfs", "tmpfs", dev_o));
  json_array_append_new(mounts, mount_entry("/dev/pts", "devpts", "devpts", pts_o));
  /* A user namespace may not mount sysfs for a network namespace it does not own (ours is
   * made by the daemon beforehand): it gets the host's /sys read-only, as runc falls back to.
   * Said here so that every runtime (runc 1.1 has no such fallback) does the same. */
  static const char *const sys_bind_o[] = {"rbind", "nosuid", "noexec", "nodev", "ro", NULL};
  if (in->uid_maps && in->netns_path)
    json_array_append_new(mounts, mount_entry("/sys", "bind", "/sys", sys_bind_o));
  else
    json_array_append_new(mounts,
                          mount_entry("/sys", "sysfs", "sysfs", privileged ? sys_rw_o : sys_o));
  json_array_append_new(mounts, mount_entry("/sys/fs/cgroup", "cgroup", "cgroup", cg_o));
  json_array_append_new(mounts, mount_entry("/dev/mqueue", "mqueue", "mqueue", mq_o));
  json_int_t shm = json_integer_value(json_object_get(host, "ShmSize"));
  char shm_opt[64];
  snprintf(shm_opt, sizeof(shm_opt), "size=%lld", (long long)(shm > 0 ? shm : 64LL << 20));
  const char *shm_o[] = {"nosuid", "noexec", "nodev", "mode=1777", shm_opt, NULL};
  json_array_append_new(mounts, mount_entry("/dev/shm", "tmpfs", "shm", shm_o));
  static const char *const file_o[] = {"rbind", "rprivate", NULL};
  const char *files[][2] = {
      {"hostname", "/etc/hostname"}, {"hosts", "/etc/hosts"}, {"resolv.conf", "/etc/resolv.conf"}};
  for (size_t k = 0; k < 3; k++) {
    char src[PATH_MAX];
    snprintf(src, sizeof(src), "%s/%s", in->container_dir, files[k][0]);
    if (access(src, F_OK) == 0)
      json_array_append_new(mounts, mount_entry(files[k][1], "bind", src, file_o));
  }
  if (json_is_true(json_object_get(host, "Init")) && in->init_path) {
    static const char *const init_o[] = {"bind", "ro", NULL};
    json_array_append_new(mounts, mount_entry("/sbin/berth-init", "bind", in->init_path, init_o));
    json_t *wrapped = json_pack("[s,s]", "/sbin/berth-init", "--");
    json_array_extend(wrapped, json_object_get(process, "args"));
    json_object_set_new(process, "args", wrapped);
  }

  /* The container's own mounts come last; one at a default's place replaces it. */
  json_array_foreach(in->extra_mounts, i, v)
  {
    const char *dest = json_string_value(json_object_get(v, "destination"));
    for (size_t k = 0; dest && k < json_array_size(mounts); k++) {
      const char *d = json_string_value(json_object_get(json_array_get(mounts, k), "destination"));
      if (d && strcmp(d, dest) == 0)
        json_array_remove(mounts, k--);
    }
    json_array_append(mounts, v);
  }
  if (json_array_size(in->extra_mounts))
    sort_mounts_by_depth(mounts);

  json_t *ns = json_pack("[{s:s},{s:s},{s:s},{s:s}]", "type", "pid", "type", "ipc", "type", "uts",
                         "type", "mount");
  if (in->uid_maps && in->gid_maps)
    json_array_append_new(ns, json_pack("{s:s}", "type", "user"));
  if (!host_net) {
    if (in->netns_path)
      json_array_append_new(ns, json_pack("{s:s,s:s}", "type", "network", "path", in->netns_path));
    else
      json_array_append_new(ns, json_pack("{s:s}", "type", "network"));
  }

  json_t *linux_ = json_pack("{s:o,s:o,s:s}", "namespaces", ns, "resources",
                             execdriver_resources(host), "cgroupsPath", "");
  char cgpath[128];
  snprintf(cgpath, sizeof(cgpath), "/berth/%s", in->id);
  json_object_set_new(linux_, "cgroupsPath", json_string(cgpath));
  if (in->uid_maps && in->gid_maps) {
    json_object_set(linux_, "uidMappings", in->uid_maps);
    json_object_set(linux_, "gidMappings", in->gid_maps);
  }
  if (!privileged) {
    json_t *m = json_array(), *r = json_array();
    for (size_t k = 0; k < sizeof(masked_paths) / sizeof(masked_paths[0]); k++)
      json_array_append_new(m, json_string(masked_paths[k]));
    for (size_t k = 0; k < sizeof(readonly_paths) / sizeof(readonly_paths[0]); k++)
      json_array_append_new(r, json_string(readonly_paths[k]));
    json_object_set_new(linux_, "maskedPaths", m);
    json_object_set_new(linux_, "readonlyPaths", r);
  }
  bool unconfined = privileged;
  json_t *custom = NULL;
  json_array_foreach(json_object_get(host, "SecurityOpt"), i, v)
  {
    const char *s = json_string_value(v);
    if (s && (strcmp(s, "seccomp=unconfined") == 0 || strcmp(s, "seccomp:unconfined") == 0))
      unconfined = true;
    else if (s && (strncmp(s, "seccomp=", 8) == 0 || strncmp(s, "seccomp:", 8) == 0) &&
             s[8] == '{' && !custom && execdriver_custom_seccomp(s + 8, &custom, err) < 0) {
      json_decref(linux_);
      json_decref(process);
      json_decref(mounts);
      return -err->code;
    }
  }
  if (custom && !privileged)
    json_object_set_new(linux_, "seccomp", custom);
  else if (!unconfined)
    json_object_set_new(linux_, "seccomp", execdriver_default_seccomp(caps));
  if (custom && privileged)
    json_decref(custom);
  if (execdriver_add_devices(host, linux_, err) < 0) {
    json_decref(linux_);
    json_decref(process);
    json_decref(mounts);
    return -err->code;
  }
  json_t *sysctl = json_object_get(host, "Sysctls");
  if (json_is_object(sysctl) && json_object_size(sysctl))
    json_object_set(linux_, "sysctl", sysctl);

  *out = json_pack("{s:s,s:o,s:{s:s,s:b},s:s,s:o,s:o}", "ociVersion", "1.0.2", "process", process,
                   "root", "path", in->rootfs, "readonly",
                   json_is_true(json_object_get(host, "ReadonlyRootfs")), "hostname", hostname,
                   "mounts", mounts, "linux", linux_);
  return *out ? 0 : berr_set(err, ENOMEM, "spec");
}

/* Capabilities: the name table, parsing process.capabilities, and applying the five sets
 * with raw prctl/capset so it is safe in a cloned child (no allocation, no libcap state). */
#include "libcontainer/security/caps.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/bjson.h"

/* Every capability up to CAP_CHECKPOINT_RESTORE (40), indexed by number. Kept here rather
 * than taken from libcap so the names do not depend on the installed libcap version. */
static const char *const cap_names[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

#define LC_CAP_KNOWN_MAX ((int)ARRAY_SIZE(cap_names) - 1)

/* Cached by lc_cap_last() so the child can use it without /proc (filled in the parent by
 * lc_caps_parse). */
static int cap_last_cached = -1;

int lc_cap_from_name(const char *name)
{
  if (!name)
    return -1;
  const char *bare = name;
  if (strncasecmp(bare, "CAP_", 4) == 0)
    bare += 4;
  if (*bare == '\0')
    return -1;
  for (int i = 0; i <= LC_CAP_KNOWN_MAX; i++)
    if (strcasecmp(cap_names[i] + 4, bare) == 0)
      return i;
  return -1;
}

const char *lc_cap_name(int cap)
{
  if (cap < 0 || cap > LC_CAP_KNOWN_MAX)
    return NULL;
  return cap_names[cap];
}

/* Without /proc (e.g. inside a fresh mount namespace), ask the kernel directly:
 * PR_CAPBSET_READ fails with EINVAL for numbers it does not know. */
static int cap_last_probe(void)
{
  int last = 0;
  while (last < 63 && prctl(PR_CAPBSET_READ, (unsigned long)(last + 1), 0, 0, 0) >= 0)
    last++;
  return last;
}

int lc_cap_last(void)
{
  if (cap_last_cached >= 0)
    return cap_last_cached;
  int last = -1;
  int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    char buf[16];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n > 0) {
      buf[n] = '\0';
      char *end = NULL;
      long v = strtol(buf, &end, 10);
      if (end != buf && v >= 0 && v < 64)
        last = (int)v;
    }
  }
  if (last < 0)
    last = cap_last_probe();
  cap_last_cached = last;
  return last;
}

static int caps_parse_set(json_t *caps, const char *key, uint64_t *out, struct berr *err)
{
  json_t *arr = NULL;
  int r = bjson_get_typed(caps, key, JSON_ARRAY, false, &arr, "process.capabilities", err);
  if (r < 0)
    return r;
  *out = 0;
  if (!arr)
    return 0;
  int last = lc_cap_last();
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v)
  {
    if (!json_is_string(v))
      return berr_set(err, 0, "process.capabilities.%s[%zu]: expected a string", key, i);
    const char *name = json_string_value(v);
    int cap = lc_cap_from_name(name);
    if (cap < 0)
      return berr_set(err, 0, "unknown capability \"%s\"", name);
    /* Known to us but not to the running kernel: runc skips these (with a warning), so a
     * profile written for a newer kernel still runs. */
    if (cap > last)
      continue;
    *out |= UINT64_C(1) << cap;
  }
  return 0;
}

int lc_caps_parse(json_t *capabilities, struct lc_caps *out, struct berr *err)
{
  memset(out, 0, sizeof(*out));
  if (!capabilities || json_is_null(capabilities))
    return 0;
  if (!json_is_object(capabilities))
    return berr_set(err, 0, "process.capabilities: expected an object");
  static const struct {
    const char *key;
    size_t off;
  } sets[] = {
      {"bounding", offsetof(struct lc_caps, bounding)},
      {"effective", offsetof(struct lc_caps, effective)},
      {"permitted", offsetof(struct lc_caps, permitted)},
      {"inheritable", offsetof(struct lc_caps, inheritable)},
      {"ambient", offsetof(struct lc_caps, ambient)},
  };
  for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
    int r = caps_parse_set(capabilities, sets[i].key, (uint64_t *)((char *)out + sets[i].off), err);
    if (r < 0)
      return r;
  }
  return 0;
}

/* The last cap without touching /proc when the parent already looked it up. */
static int cap_last_for_child(void)
{
  return cap_last_cached >= 0 ? cap_last_cached : lc_cap_last();
}

int lc_caps_drop_bounding(const struct lc_caps *c, struct berr *err)
{
  int last = cap_last_for_child();
  for (int cap = 0; cap <= last; cap++) {
    if (c->bounding & (UINT64_C(1) << cap))
      continue;
    /* EINVAL: the kernel does not know this cap after all; nothing to drop. */
    if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) < 0 && errno != EINVAL) {
      const char *name = lc_cap_name(cap);
      if (name)
        return berr_errno(err, "drop %s from the bounding set", name);
      return berr_errno(err, "drop capability %d from the bounding set", cap);
    }
  }
  return 0;
}

int lc_caps_apply(const struct lc_caps *c, struct berr *err)
{
  int last = cap_last_for_child();
  uint64_t mask = last >= 63 ? UINT64_MAX : (UINT64_C(1) << (last + 1)) - 1;
  uint64_t eff = c->effective & mask, perm = c->permitted & mask, inh = c->inheritable & mask;

  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2] = {
      {.effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh},
      {.effective = (uint32_t)(eff >> 32),
       .permitted = (uint32_t)(perm >> 32),
       .inheritable = (uint32_t)(inh >> 32)},
  };
  if (syscall(SYS_capset, &hdr, data) < 0)
    return berr_errno(err, "capset");

  /* Old kernels without ambient capabilities: nothing more to do (runc warns and goes on). */
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
    if (errno == EINVAL)
      return 0;
    return berr_errno(err, "clear the ambient capabilities");
  }
  for (int cap = 0; cap <= last; cap++) {
    if (!(c->ambient & (UINT64_C(1) << cap)))
      continue;
    /* An ambient cap must also be permitted and inheritable; the kernel refuses the rest with
     * EPERM. runc and crun only warn about that and carry on, so do the same (silently: the
     * library does not print). */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long)cap, 0, 0) < 0 &&
        errno != EPERM && errno != EINVAL) {
      const char *name = lc_cap_name(cap);
      return berr_errno(err, "raise ambient %s", name ? name : "capability");
    }
  }
  return 0;
}

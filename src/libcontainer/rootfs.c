/* Mount namespace setup: what the container sees as its filesystem. The order follows
 * runc and crun: propagation, rootfs bind, spec mounts, /dev, pivot, then masking. */
#include "rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "safepath.h"

/* Flags that, once set on a mount, the kernel keeps "locked" in a user namespace:
 * a bind remount must repeat them or it fails with EPERM. */
static unsigned long locked_flags(const char *path)
{
  struct statvfs sv;
  unsigned long f = 0;
  if (statvfs(path, &sv) < 0)
    return 0;
  if (sv.f_flag & ST_NOSUID)
    f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV)
    f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC)
    f |= MS_NOEXEC;
  if (sv.f_flag & ST_RDONLY)
    f |= MS_RDONLY;
  if (sv.f_flag & ST_NOATIME)
    f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME)
    f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME)
    f |= MS_RELATIME;
  return f;
}

static int bind_remount(const char *target, unsigned long flags, struct berr *err)
{
  unsigned long keep = locked_flags(target) & ~MS_RDONLY;
  flags &= MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME |
           MS_STRICTATIME;
  if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | keep | flags, NULL) < 0)
    return berr_errno(err, "remount %s", target);
  return 0;
}

/* An fd opened before a mount still names the covered directory: reopen the path to
 * reach the new mount before changing its flags or propagation. */
static int remount_in_root(int rootfd, const char *dest, unsigned long flags,
                           unsigned long propagation, struct berr *err)
{
  char fdpath[32];
  _cleanup_close_ int fd = lc_safe_open(rootfd, dest, O_PATH, 0, err);
  if (fd < 0)
    return fd;
  lc_fd_path(fd, fdpath);
  if (flags && bind_remount(fdpath, flags, err) < 0)
    return berr_wrap(err, "mount %s", dest);
  if (propagation && mount(NULL, fdpath, NULL, propagation, NULL) < 0)
    return berr_errno(err, "set propagation of %s", dest);
  return 0;
}

static int source_is_dir(const char *src, bool *is_dir, struct berr *err)
{
  struct stat st;
  if (stat(src, &st) < 0)
    return berr_errno(err, "bind source %s", src);
  *is_dir = S_ISDIR(st.st_mode);
  return 0;
}

/* On cgroup v1 hosts, /sys/fs/cgroup in the container is a tmpfs with one bind of the
 * container's own cgroup per hierarchy; on v2 it is the container's cgroup2 subtree. */
static int mount_cgroup(const struct lc_mount *m, int rootfd, const char *cgroup_rel,
                        struct berr *err)
{
  char fdpath[32];
  _cleanup_close_ int target = lc_safe_mkpath(rootfd, m->destination, false, 0755, err);
  if (target < 0)
    return target;
  lc_fd_path(target, fdpath);

  struct statfs sfs;
  bool v2 = statfs("/sys/fs/cgroup", &sfs) == 0 && sfs.f_type == 0x63677270 /* CGROUP2 */;
  const char *rel = cgroup_rel ? cgroup_rel : "/";
  if (v2) {
    char src[PATH_MAX];
    snprintf(src, sizeof(src), "/sys/fs/cgroup%s", rel);
    if (mount(src, fdpath, NULL, MS_BIND | MS_REC, NULL) < 0)
      return berr_errno(err, "bind cgroup2 %s", src);
    return remount_in_root(rootfd, m->destination, m->flags, 0, err);
  }

  if (mount("tmpfs", fdpath, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
    return berr_errno(err, "mount tmpfs on %s", m->destination);
  _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f)
    return berr_errno(err, "read mountinfo");
  char line[4096];
  while (fgets(line, sizeof(line), f)) {
    char mnt[PATH_MAX], fstype[64];
    /* id parent maj:min root mountpoint options ... - fstype source superopts */
    char *dash = strstr(line, " - ");
    if (!dash || sscanf(dash + 3, "%63s", fstype) != 1)
      continue;
    if (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0)
      continue;
    if (sscanf(line, "%*d %*d %*s %*s %4095s", mnt) != 1 || strncmp(mnt, "/sys/fs/cgroup/", 15))
      continue;
    const char *name = mnt + 15;
    char src[PATH_MAX], dst[PATH_MAX];
    snprintf(src, sizeof(src), "%s%s", mnt, rel);
    if (access(src, F_OK) < 0)
      snprintf(src, sizeof(src), "%s", mnt);
    snprintf(dst, sizeof(dst), "%s/%s", m->destination, name);
    _cleanup_close_ int sub = lc_safe_mkpath(rootfd, dst, false, 0755, err);
    if (sub < 0)
      return sub;
    char subpath[32];
    lc_fd_path(sub, subpath);
    if (mount(src, subpath, NULL, MS_BIND | MS_REC, NULL) < 0)
      return berr_errno(err, "bind cgroup %s", src);
    if (remount_in_root(rootfd, dst, m->flags | MS_NOSUID | MS_NODEV | MS_NOEXEC, 0, err) < 0)
      return -err->code;
    /* Co-mounted controllers ("cpu,cpuacct") also get a link per controller name. */
    if (strchr(name, ',')) {
      char names[256];
      snprintf(names, sizeof(names), "%s", name);
      char *save = NULL;
      for (char *n = strtok_r(names, ",", &save); n; n = strtok_r(NULL, ",", &save)) {
        char link[PATH_MAX];
        snprintf(link, sizeof(link), "%s/%s", m->destination, n);
        _cleanup_close_ int dir = lc_safe_open(rootfd, m->destination, O_DIRECTORY, 0, err);
        if (dir >= 0 && symlinkat(name, dir, n) < 0 && errno != EEXIST)
          return berr_errno(err, "symlink %s", link);
      }
    }
  }
  if (m->flags & MS_RDONLY)
    return remount_in_root(rootfd, m->destination, m->flags | MS_NOSUID | MS_NODEV | MS_NOEXEC, 0,
                           err);
  return 0;
}

static int do_mount(const struct lc_config *c, const struct lc_mount *m, int rootfd,
                    const char *cgroup_rel, bool in_userns, struct berr *err)
{
  char fdpath[32];
  const char *type = m->type ? m->type : "";

  if (strcmp(type, "cgroup") == 0 || strcmp(type, "cgroup2") == 0)
    return mount_cgroup(m, rootfd, cgroup_rel, err);

  if (m->bind) {
    char src[PATH_MAX];
    if (m->source[0] == '/')
      snprintf(src, sizeof(src), "%s", m->source);
    else
      snprintf(src, sizeof(src), "%s/%s", c->bundle, m->source);
    bool is_dir = true;
    if (source_is_dir(src, &is_dir, err) < 0)
      return -err->code;
    _cleanup_close_ int target = lc_safe_mkpath(rootfd, m->destination, !is_dir, 0755, err);
    if (target < 0)
      return target;
    lc_fd_path(target, fdpath);
    if (mount(src, fdpath, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
      return berr_errno(err, "bind %s on %s", src, m->destination);
    unsigned long extra = m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
    return remount_in_root(rootfd, m->destination, extra, m->propagation, err);
  }

  _cleanup_close_ int target = lc_safe_mkpath(rootfd, m->destination, false, 0755, err);
  if (target < 0)
    return target;
  lc_fd_path(target, fdpath);
  const char *source = m->source && *m->source ? m->source : type;
  if (mount(source, fdpath, type, m->flags & ~MS_REMOUNT, m->data) < 0) {
    int e = errno;
    /* Without its own network namespace a user namespace may not mount sysfs, and
     * mqueue needs its own IPC namespace: fall back to the host's, read-only, as runc. */
    if ((e == EPERM || e == EBUSY) && in_userns &&
        (strcmp(type, "sysfs") == 0 || strcmp(type, "mqueue") == 0)) {
      const char *host = strcmp(type, "sysfs") == 0 ? "/sys" : "/dev/mqueue";
      if (mount(host, fdpath, NULL, MS_BIND | MS_REC, NULL) < 0)
        return berr_errno(err, "bind %s on %s", host, m->destination);
      return remount_in_root(rootfd, m->destination, m->flags | MS_RDONLY, 0, err);
    }
    errno = e;
    return berr_errno(err, "mount %s (%s) on %s", source, type, m->destination);
  }
  return remount_in_root(rootfd, m->destination, 0, m->propagation, err);
}

int lc_rootfs_prepare(const struct lc_config *c, const char *cgroup_rel, struct berr *err)
{
  /* Nothing we mount may propagate back to the host: slave by default, as runc. */
  unsigned long prop = c->rootfs_propagation ? c->rootfs_propagation : MS_SLAVE | MS_REC;
  if (mount(NULL, "/", NULL, (prop & ~MS_SHARED) | MS_REC | (prop & MS_SHARED ? MS_SLAVE : 0),
            NULL) < 0)
    return berr_errno(err, "set / propagation");
  if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return berr_errno(err, "bind rootfs %s", c->rootfs);
  /* pivot_root refuses a shared new root or parent. */
  if (mount(NULL, c->rootfs, NULL, MS_PRIVATE, NULL) < 0)
    return berr_errno(err, "make rootfs private");

  _cleanup_close_ int rootfd = open(c->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return berr_errno(err, "open rootfs %s", c->rootfs);
  bool in_userns = c->ns[LC_NS_USER].enabled;
  for (size_t i = 0; i < c->n_mounts; i++)
    if (do_mount(c, &c->mounts[i], rootfd, cgroup_rel, in_userns, err) < 0)
      return -err->code;
  return lc_devices_setup(c, rootfd, in_userns, err);
}

int lc_rootfs_pivot(const struct lc_config *c, bool no_pivot, struct berr *err)
{
  if (chdir(c->rootfs) < 0)
    return berr_errno(err, "chdir %s", c->rootfs);
  if (no_pivot) {
    if (mount(c->rootfs, "/", NULL, MS_MOVE, NULL) < 0)
      return berr_errno(err, "move rootfs to /");
    if (chroot(".") < 0)
      return berr_errno(err, "chroot");
  } else {
    /* pivot_root(".", ".") stacks the old root under the new one; detach it at once. */
    if (syscall(SYS_pivot_root, ".", ".") < 0)
      return berr_errno(err, "pivot_root %s", c->rootfs);
    if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
      return berr_errno(err, "make old root slave");
    if (umount2(".", MNT_DETACH) < 0)
      return berr_errno(err, "detach old root");
  }
  if (chdir("/") < 0)
    return berr_errno(err, "chdir /");
  return 0;
}

static int mask_path(const char *path, struct berr *err)
{
  struct stat st;
  if (lstat(path, &st) < 0)
    return errno == ENOENT ? 0 : berr_errno(err, "mask %s", path);
  if (S_ISDIR(st.st_mode)) {
    if (mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0k") < 0)
      return berr_errno(err, "mask %s", path);
    return 0;
  }
  /* The source must be the real /dev/null, never a planted symlink (CVE-2025-31133). */
  struct stat dn;
  if (lstat("/dev/null", &dn) < 0 || !S_ISCHR(dn.st_mode) || dn.st_rdev != makedev(1, 3))
    return berr_set(err, 0, "mask %s: /dev/null is not the null device", path);
  if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0)
    return berr_errno(err, "mask %s", path);
  return 0;
}

static int readonly_path(const char *path, struct berr *err)
{
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0)
    return errno == ENOENT ? 0 : berr_errno(err, "bind %s read-only", path);
  return bind_remount(path, MS_RDONLY, err);
}

int lc_rootfs_finalize(const struct lc_config *c, struct berr *err)
{
  for (char **p = c->readonly_paths; p && *p; p++)
    if (readonly_path(*p, err) < 0)
      return -err->code;
  for (char **p = c->masked_paths; p && *p; p++)
    if (mask_path(*p, err) < 0)
      return -err->code;
  if (c->rootfs_readonly && bind_remount("/", MS_RDONLY, err) < 0)
    return berr_wrap(err, "make rootfs read-only");
  if (c->rootfs_propagation && mount(NULL, "/", NULL, c->rootfs_propagation, NULL) < 0)
    return berr_errno(err, "set rootfs propagation");
  return 0;
}

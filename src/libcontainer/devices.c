/* /dev inside the container: the runtime spec's default devices and symlinks, plus
 * linux.devices. In a user namespace mknod is not allowed, so host nodes are bind-mounted. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "rootfs.h"
#include "safepath.h"

static const struct lc_device default_devices[] = {
    {"/dev/null", 'c', 1, 3, 0666, 0, 0},    {"/dev/zero", 'c', 1, 5, 0666, 0, 0},
    {"/dev/full", 'c', 1, 7, 0666, 0, 0},    {"/dev/random", 'c', 1, 8, 0666, 0, 0},
    {"/dev/urandom", 'c', 1, 9, 0666, 0, 0}, {"/dev/tty", 'c', 5, 0, 0666, 0, 0},
};

static const char *const default_links[][2] = {
    {"/proc/self/fd", "/dev/fd"},       {"/proc/self/fd/0", "/dev/stdin"},
    {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"},
    {"pts/ptmx", "/dev/ptmx"},
};

static int make_device(int rootfd, const struct lc_device *d, bool in_userns, struct berr *err)
{
  char fdpath[32];
  if (d->type == 'p') {
    _cleanup_close_ int dir = lc_safe_mkpath(rootfd, "/dev", false, 0755, err);
    if (dir < 0)
      return dir;
  }
  if (in_userns) {
    /* Bind the host's node; it must exist on the host under the same path. */
    _cleanup_close_ int target = lc_safe_mkpath(rootfd, d->path, true, 0000, err);
    if (target < 0)
      return target;
    lc_fd_path(target, fdpath);
    if (mount(d->path, fdpath, NULL, MS_BIND, NULL) < 0)
      return berr_errno(err, "bind device %s", d->path);
    return 0;
  }
  /* Make the parent directory confined to the rootfs, then mknod a single name in it. */
  char parent[4096];
  snprintf(parent, sizeof(parent), "%s", d->path);
  char *slash = strrchr(parent, '/');
  const char *name = slash + 1;
  *slash = '\0';
  _cleanup_close_ int dirfd = lc_safe_mkpath(rootfd, parent[0] ? parent : "/", false, 0755, err);
  if (dirfd < 0)
    return dirfd;
  lc_fd_path(dirfd, fdpath);
  _cleanup_close_ int dir = open(fdpath, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (dir < 0)
    return berr_errno(err, "open %s", parent);
  mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
  unlinkat(dir, name, 0);
  if (mknodat(dir, name, type | (d->mode & 0777), makedev(d->major, d->minor)) < 0)
    return berr_errno(err, "mknod %s", d->path);
  if (fchmodat(dir, name, d->mode & 07777, 0) < 0 ||
      fchownat(dir, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
    return berr_errno(err, "set owner and mode of %s", d->path);
  return 0;
}

int lc_devices_setup(const struct lc_config *c, int rootfd, bool in_userns, struct berr *err)
{
  /* Only when /dev is a fresh filesystem of ours; a bind-mounted /dev is the caller's. */
  bool dev_mounted = false;
  for (size_t i = 0; i < c->n_mounts; i++)
    if (strcmp(c->mounts[i].destination, "/dev") == 0 && !c->mounts[i].bind)
      dev_mounted = true;
  if (dev_mounted) {
    for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++) {
      bool overridden = false;
      for (size_t k = 0; k < c->n_devices; k++)
        if (strcmp(c->devices[k].path, default_devices[i].path) == 0)
          overridden = true;
      if (!overridden && make_device(rootfd, &default_devices[i], in_userns, err) < 0)
        return -err->code;
    }
    _cleanup_close_ int dev = lc_safe_open(rootfd, "/dev", O_DIRECTORY | O_RDONLY, 0, err);
    if (dev < 0)
      return dev;
    for (size_t i = 0; i < ARRAY_SIZE(default_links); i++) {
      const char *name = default_links[i][1] + strlen("/dev/");
      if (symlinkat(default_links[i][0], dev, name) < 0 && errno != EEXIST)
        return berr_errno(err, "symlink %s", default_links[i][1]);
    }
    /* /dev/core only when the host has /proc/kcore, as runc does. */
    if (access("/proc/kcore", F_OK) == 0 && symlinkat("/proc/kcore", dev, "core") < 0 &&
        errno != EEXIST)
      return berr_errno(err, "symlink /dev/core");
  }
  for (size_t k = 0; k < c->n_devices; k++)
    if (make_device(rootfd, &c->devices[k], in_userns, err) < 0)
      return -err->code;
  return 0;
}

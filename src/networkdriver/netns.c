/* Network namespaces as files (see netns.h). */
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileutil.h"

int netdrv_netns_create(const char *path, struct berr *err)
{
  char dir[PATH_MAX];
  snprintf(dir, sizeof(dir), "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = '\0';
    if (bf_mkdir_p(dir, 0711, err) < 0)
      return -err->code;
  }
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
  if (fd < 0)
    return berr_errno(err, "create %s", path);
  _cleanup_close_ int saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (saved < 0) {
    unlink(path);
    return berr_errno(err, "open own network namespace");
  }
  if (unshare(CLONE_NEWNET) < 0) {
    unlink(path);
    return berr_errno(err, "new network namespace");
  }
  int r = 0;
  if (mount("/proc/thread-self/ns/net", path, NULL, MS_BIND, NULL) < 0)
    r = berr_errno(err, "bind network namespace to %s", path);
  /* Back to our own namespace whatever happened: this thread serves other requests next. */
  if (setns(saved, CLONE_NEWNET) < 0 && r == 0)
    r = berr_errno(err, "return to own network namespace");
  if (r < 0)
    unlink(path);
  return r;
}

int netdrv_netns_remove(const char *path, struct berr *err)
{
  if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
    return berr_errno(err, "unmount %s", path);
  if (unlink(path) < 0 && errno != ENOENT)
    return berr_errno(err, "remove %s", path);
  return 0;
}

int netdrv_netns_enter(const char *path, int *saved, struct berr *err)
{
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berr_errno(err, "open network namespace %s", path);
  int old = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (old < 0)
    return berr_errno(err, "open own network namespace");
  if (setns(fd, CLONE_NEWNET) < 0) {
    int e = errno;
    close(old);
    errno = e;
    return berr_errno(err, "enter network namespace %s", path);
  }
  *saved = old;
  return 0;
}

void netdrv_netns_leave(int saved)
{
  if (saved < 0)
    return;
  /* Cannot fail for a namespace fd we opened; nothing sane to do if it did. */
  (void)setns(saved, CLONE_NEWNET);
  close(saved);
}

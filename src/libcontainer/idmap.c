/* User namespaces held by fds, and idmapped mounts made with them (open_tree +
 * mount_setattr(MOUNT_ATTR_IDMAP) + move_mount, Linux 5.12 and newer). */
#include "idmap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"

static int write_map(pid_t pid, const char *file, const struct lc_idmap *m, size_t n,
                     struct berr *err)
{
  char path[64], buf[4096];
  size_t len = 0;
  for (size_t i = 0; i < n && len < sizeof(buf); i++)
    len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%u %u %u\n", m[i].container_id,
                            m[i].host_id, m[i].size);
  if (len >= sizeof(buf))
    return berr_set(err, E2BIG, "%s: too many ranges", file);
  snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
    return berr_errno(err, "write %s", path);
  return 0;
}

int lc_userns_open(const struct lc_idmap *uids, size_t n_uids, const struct lc_idmap *gids,
                   size_t n_gids, struct berr *err)
{
  /* A child unshares and waits on a pipe while we write its maps and open its namespace;
   * a thread cannot do this (unshare(CLONE_NEWUSER) refuses multi-threaded callers). */
  int ready[2], go[2];
  if (pipe2(ready, O_CLOEXEC) < 0)
    return berr_errno(err, "pipe");
  if (pipe2(go, O_CLOEXEC) < 0) {
    close(ready[0]);
    close(ready[1]);
    return berr_errno(err, "pipe");
  }
  pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid == 0) {
    close(ready[0]);
    close(go[1]);
    char c = unshare(CLONE_NEWUSER) == 0 ? 'k' : 'e';
    if (write(ready[1], &c, 1) != 1)
      _exit(1);
    (void)!read(go[0], &c, 1);
    _exit(0);
  }
  close(ready[1]);
  close(go[0]);
  int r = 0;
  if (pid < 0) {
    r = berr_errno(err, "fork");
    close(ready[0]);
    close(go[1]);
    return r;
  }
  char c = 0;
  if (read(ready[0], &c, 1) != 1 || c != 'k')
    r = berr_set(err, EPERM, "unshare a user namespace: not permitted");
  if (r == 0)
    r = write_map(pid, "uid_map", uids, n_uids, err);
  if (r == 0)
    r = write_map(pid, "gid_map", gids, n_gids, err);
  int fd = -1;
  if (r == 0) {
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/user", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      r = berr_errno(err, "open %s", path);
  }
  /* A byte, not only EOF: a fork in another thread may hold a copy of go[1]. */
  (void)!write(go[1], "g", 1);
  close(go[1]);
  close(ready[0]);
  while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
    ;
  return r < 0 ? r : fd;
}

int lc_idmap_mount(const char *src, const char *target, int userns_fd, struct berr *err)
{
  _cleanup_close_ int tree =
      (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0)
    return berr_errno(err, "open_tree %s", src);
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (__u64)userns_fd};
  if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
    return berr_errno(err, "idmap %s (the filesystem may not support idmapped mounts)", src);
  if (syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return berr_errno(err, "attach idmapped %s at %s", src, target);
  return 0;
}

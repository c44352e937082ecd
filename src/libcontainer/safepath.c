/* Rootfs-confined path resolution with openat2(RESOLVE_IN_ROOT). */
#include "safepath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"

static int openat2_in_root(int rootfd, const char *path, int flags, mode_t mode)
{
  struct open_how how = {
      .flags = (unsigned long long)(flags | O_CLOEXEC),
      .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  while (*path == '/')
    path++;
  if (!*path)
    path = ".";
  int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
  if (fd < 0 && errno == EAGAIN) /* a rename raced the lookup: retry once */
    fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
  return fd;
}

/* What follows `prefix` in `path` once both are normalized to single slashes. */
static char *path_rest(const char *path, const char *prefix)
{
  char norm[PATH_MAX];
  size_t n = 0;
  for (const char *p = path; *p && n < sizeof(norm) - 1; p++)
    if (!(*p == '/' && (n == 0 ? false : norm[n - 1] == '/')))
      norm[n++] = *p;
  norm[n] = '\0';
  if (norm[0] != '/') {
    memmove(norm + 1, norm, n + 1);
    norm[0] = '/';
  }
  size_t pl = strlen(prefix);
  if (strncmp(norm, prefix, pl) != 0 || norm[pl] != '/')
    return NULL;
  const char *r = norm + pl + 1;
  while (*r == '/')
    r++;
  return *r ? strdup(r) : NULL;
}

void lc_fd_path(int fd, char buf[static 32])
{
  snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

int lc_safe_open(int rootfd, const char *path, int flags, mode_t mode, struct berr *err)
{
  int fd = openat2_in_root(rootfd, path, flags, mode);
  if (fd < 0)
    return berr_errno(err, "open %s in rootfs", path);
  return fd;
}

static int mkpath_depth(int rootfd, const char *path, bool final_is_file, mode_t mode, int depth,
                        struct berr *err);

int lc_safe_mkpath(int rootfd, const char *path, bool final_is_file, mode_t mode, struct berr *err)
{
  return mkpath_depth(rootfd, path, final_is_file, mode, 0, err);
}

/* A dangling symlink on the way: make its target instead (confined to the root), as runc
 * does for mount targets like /etc/resolv.conf -> /run/... that do not exist yet. */
static int follow_dangling(int rootfd, int parent, const char *prefix_dir, const char *comp,
                           const char *rest, bool final_is_file, mode_t mode, int depth,
                           struct berr *err)
{
  char target[PATH_MAX], next[PATH_MAX];
  ssize_t n = readlinkat(parent, comp, target, sizeof(target) - 1);
  if (n < 0)
    return -ENOENT;
  target[n] = '\0';
  if (depth >= 40)
    return berr_set(err, ELOOP, "resolve %s in rootfs", comp);
  if (target[0] == '/')
    snprintf(next, sizeof(next), "%s%s%s", target, rest ? "/" : "", rest ? rest : "");
  else
    snprintf(next, sizeof(next), "%s/%s%s%s", prefix_dir, target, rest ? "/" : "",
             rest ? rest : "");
  return mkpath_depth(rootfd, next, final_is_file, mode, depth + 1, err);
}

static int mkpath_depth(int rootfd, const char *path, bool final_is_file, mode_t mode, int depth,
                        struct berr *err)
{
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
    return berr_set(err, ENAMETOOLONG, "%s", path);

  int fd = openat2_in_root(rootfd, buf, O_PATH, 0);
  if (fd >= 0)
    return fd;
  if (errno != ENOENT)
    return berr_errno(err, "resolve %s in rootfs", path);

  /* Walk down from the root: each missing component is made relative to its resolved
   * parent (mkdirat/openat on one name never follow a planted symlink), then the whole
   * prefix is resolved again from the root, so symlinks are followed only inside it. */
  _cleanup_close_ int parent = openat2_in_root(rootfd, "/", O_PATH | O_DIRECTORY, 0);
  if (parent < 0)
    return berr_errno(err, "open rootfs");
  char prefix[PATH_MAX] = "";
  size_t plen = 0;
  char *save = NULL;
  char *comp = strtok_r(buf, "/", &save);
  while (comp) {
    char *next = strtok_r(NULL, "/", &save);
    bool last = next == NULL;
    plen += (size_t)snprintf(prefix + plen, sizeof(prefix) - plen, "/%s", comp);
    int nfd = openat2_in_root(rootfd, prefix, O_PATH, 0);
    if (nfd < 0 && errno == ENOENT) {
      if (last && final_is_file) {
        int cfd = openat(parent, comp, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
        if (cfd < 0 && errno != EEXIST)
          return berr_errno(err, "create %s in rootfs", path);
        if (cfd >= 0)
          close(cfd);
      } else if (mkdirat(parent, comp, mode) < 0 && errno != EEXIST) {
        return berr_errno(err, "mkdir %s in rootfs", path);
      }
      nfd = openat2_in_root(rootfd, prefix, O_PATH, 0);
      if (nfd < 0 && errno == ENOENT) {
        /* The component exists but leads nowhere: a dangling symlink. */
        char dir[PATH_MAX];
        snprintf(dir, sizeof(dir), "%.*s", (int)(plen - strlen(comp) - 1), prefix);
        char *rest = next ? path_rest(path, prefix) : NULL;
        int r = follow_dangling(rootfd, parent, dir[0] ? dir : "/", comp, rest, final_is_file, mode,
                                depth, err);
        free(rest);
        if (r != -ENOENT)
          return r;
        errno = ENOENT;
      }
    }
    if (nfd < 0)
      return berr_errno(err, "resolve %s in rootfs", path);
    close(parent);
    parent = nfd;
    comp = next;
  }
  return steal_fd(&parent);
}

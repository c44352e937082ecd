/* File helpers: atomic writes, whole-file reads, mkdir -p, rm -rf. */
#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

int bf_write_all(int fd, const void *buf, size_t len)
{
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int write_atomic(const char *path, const void *buf, size_t len, mode_t mode, bool durable,
                        struct berr *err)
{
  char tmp[PATH_MAX];
  _cleanup_free_ char *dircopy = strdup(path);
  if (!dircopy)
    return berr_set(err, ENOMEM, "write %s", path);
  const char *dir = dirname(dircopy);
  const char *slash = strrchr(path, '/');
  /* a temp name of its own per call: threads may write the same path at once */
  if (snprintf(tmp, sizeof(tmp), "%s/.%s.tmp.XXXXXX", dir, slash ? slash + 1 : path) >=
      (int)sizeof(tmp))
    return berr_set(err, ENAMETOOLONG, "write %s", path);

  _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0)
    return berr_errno(err, "create %s", tmp);
  int r = bf_write_all(fd, buf, len);
  if (r == 0 && durable && fsync(fd) < 0)
    r = -errno;
  if (r == 0 && fchmod(fd, mode) < 0)
    r = -errno;
  if (r == 0 && rename(tmp, path) < 0)
    r = -errno;
  if (r < 0) {
    unlink(tmp);
    return berr_set(err, r, "write %s", path);
  }
  if (durable) {
    _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
      fsync(dfd);
  }
  return 0;
}

int bf_write_atomic(const char *path, const void *buf, size_t len, mode_t mode, struct berr *err)
{
  return write_atomic(path, buf, len, mode, true, err);
}

int bf_write_atomic_volatile(const char *path, const void *buf, size_t len, mode_t mode,
                             struct berr *err)
{
  return write_atomic(path, buf, len, mode, false, err);
}

int bf_read_fd_all(int fd, char **out, size_t *len, struct berr *err)
{
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  if (!buf)
    return berr_set(err, ENOMEM, "read");
  for (;;) {
    if (n + 1 >= cap) {
      cap *= 2;
      char *nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        return berr_set(err, ENOMEM, "read");
      }
      buf = nb;
    }
    ssize_t r = read(fd, buf + n, cap - n - 1);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      int e = errno;
      free(buf);
      return berr_set(err, e, "read");
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  buf[n] = '\0';
  *out = buf;
  if (len)
    *len = n;
  return 0;
}

int bf_read_all(const char *path, char **out, size_t *len, struct berr *err)
{
  if (strcmp(path, "-") == 0) {
    int r = bf_read_fd_all(STDIN_FILENO, out, len, err);
    return r < 0 ? berr_wrap(err, "stdin") : 0;
  }
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return berr_errno(err, "open %s", path);
  int r = bf_read_fd_all(fd, out, len, err);
  return r < 0 ? berr_wrap(err, "%s", path) : 0;
}

int bf_mkdir_p(const char *path, mode_t mode, struct berr *err)
{
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
    return berr_set(err, ENAMETOOLONG, "mkdir %s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
      return berr_errno(err, "mkdir %s", buf);
    *p = '/';
  }
  if (mkdir(buf, mode) < 0 && errno != EEXIST)
    return berr_errno(err, "mkdir %s", buf);
  return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st;
  (void)ftw;
  int r = flag == FTW_DP ? rmdir(p) : unlink(p);
  return r < 0 && errno != ENOENT ? -1 : 0;
}

int bf_rm_rf(const char *path, struct berr *err)
{
  struct stat st;
  if (lstat(path, &st) < 0)
    return errno == ENOENT ? 0 : berr_errno(err, "stat %s", path);
  if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
    return berr_errno(err, "remove %s", path);
  return 0;
}

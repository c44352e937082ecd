/* Re-exec from a copy of ourselves nobody can write to (runc's and crun's fix for
 * CVE-2019-5736): first a read-only detached bind mount of /proc/self/exe (no copy, as
 * crun does), else a sealed memfd copy. A binary on a read-only filesystem is used as is. */
#include "cloned_binary.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"

#define CLONED_ENV "_BERTH_CLONED_BINARY"
#define SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

extern char **environ;

static int is_sealed_memfd(int fd)
{
  int seals = fcntl(fd, F_GET_SEALS);
  return seals >= 0 && (seals & SEALS) == SEALS;
}

int lc_ensure_cloned_binary(char **argv, struct berr *err)
{
  _cleanup_close_ int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self < 0)
    return berr_errno(err, "open /proc/self/exe");
  struct statvfs sv;
  if (is_sealed_memfd(self) || (fstatvfs(self, &sv) == 0 && (sv.f_flag & ST_RDONLY))) {
    unsetenv(CLONED_ENV);
    return 0;
  }
  if (getenv(CLONED_ENV))
    return berr_set(err, 0, "re-exec from a sealed copy did not take effect");

  /* A private read-only mount of just the binary: exec'ing through it makes
   * /proc/<pid>/exe read-only for good, and costs no copy. */
  int tree =
      (int)syscall(SYS_open_tree, AT_FDCWD, "/proc/self/exe", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree >= 0) {
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV};
    if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) == 0) {
      setenv(CLONED_ENV, "1", 1);
      syscall(SYS_execveat, tree, "", argv, environ, AT_EMPTY_PATH);
      unsetenv(CLONED_ENV);
    }
    close(tree);
  }

  struct stat st;
  if (fstat(self, &st) < 0)
    return berr_errno(err, "stat /proc/self/exe");
  _cleanup_close_ int mfd = memfd_create("berth-runc", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mfd < 0)
    return berr_errno(err, "memfd_create");
  off_t off = 0;
  while (off < st.st_size) {
    ssize_t n = sendfile(mfd, self, &off, (size_t)(st.st_size - off));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return berr_errno(err, "copy the runtime binary");
  }
  if (fcntl(mfd, F_ADD_SEALS, SEALS) < 0)
    return berr_errno(err, "seal the runtime binary copy");
  setenv(CLONED_ENV, "1", 1);
  syscall(SYS_execveat, mfd, "", argv, environ, AT_EMPTY_PATH);
  return berr_errno(err, "re-exec the runtime from its sealed copy");
}

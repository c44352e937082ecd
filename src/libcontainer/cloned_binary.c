/* Re-exec from a sealed memfd copy of /proc/self/exe (runc's and crun's fix for
 * CVE-2019-5736). A read-only binary cannot be overwritten and is used as is. */
#include "cloned_binary.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/memfd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

/* Reading and writing cgroupfs control files: one write() per value (the kernel parses
 * each write as a whole), errors that name the file and the value. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup_internal.h"
#include "common/cleanup.h"
#include "common/fileutil.h"

int lc_cg_write(const char *dir, const char *file, const char *value, struct berr *err)
{
  _cleanup_free_ char *p = NULL;
  if (asprintf(&p, "%s/%s", dir, file) < 0)
    return berr_set(err, ENOMEM, "write %s", file);
  _cleanup_close_ int fd = open(p, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return berr_errno(err, "open %s", p);
  size_t len = strlen(value);
  ssize_t n;
  do {
    n = write(fd, value, len);
  } while (n < 0 && errno == EINTR);
  if (n < 0)
    return berr_errno(err, "write \"%s\" to %s", value, p);
  if ((size_t)n != len)
    return berr_set(err, EIO, "short write of \"%s\" to %s", value, p);
  return 0;
}

int lc_cg_writef(const char *dir, const char *file, struct berr *err, const char *fmt, ...)
{
  _cleanup_free_ char *v = NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&v, fmt, ap);
  va_end(ap);
  if (n < 0)
    return berr_set(err, ENOMEM, "write %s", file);
  return lc_cg_write(dir, file, v, err);
}

int lc_cg_read(const char *dir, const char *file, char **out, struct berr *err)
{
  _cleanup_free_ char *p = NULL;
  if (asprintf(&p, "%s/%s", dir, file) < 0)
    return berr_set(err, ENOMEM, "read %s", file);
  size_t len;
  return bf_read_all(p, out, &len, err);
}

static int parse_u64(const char *s, uint64_t *out)
{
  while (*s == ' ' || *s == '\t')
    s++;
  if (strncmp(s, "max", 3) == 0 && (s[3] == '\0' || s[3] == '\n' || s[3] == ' ')) {
    *out = UINT64_MAX;
    return 0;
  }
  if (*s < '0' || *s > '9')
    return -EINVAL;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno)
    return -errno;
  if (*end != '\0' && *end != '\n' && *end != ' ')
    return -EINVAL;
  *out = v;
  return 0;
}

int lc_cg_read_u64(const char *dir, const char *file, uint64_t *out, struct berr *err)
{
  _cleanup_free_ char *s = NULL;
  int r = lc_cg_read(dir, file, &s, err);
  if (r < 0)
    return r;
  if (parse_u64(s, out) < 0)
    return berr_set(err, 0, "%s/%s: unexpected content \"%.40s\"", dir, file, s);
  return 0;
}

int lc_cg_read_keyed(const char *dir, const char *file, const char *key, uint64_t *out,
                     struct berr *err)
{
  _cleanup_free_ char *s = NULL;
  int r = lc_cg_read(dir, file, &s, err);
  if (r < 0)
    return r;
  size_t klen = strlen(key);
  for (char *line = s; line && *line;) {
    char *nl = strchr(line, '\n');
    if (nl)
      *nl = '\0';
    if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
      if (parse_u64(line + klen + 1, out) < 0)
        return berr_set(err, 0, "%s/%s: bad value for %s", dir, file, key);
      return 0;
    }
    line = nl ? nl + 1 : NULL;
  }
  return -ENOENT;
}

bool lc_cg_exists(const char *dir, const char *file)
{
  _cleanup_free_ char *p = NULL;
  if (asprintf(&p, "%s/%s", dir, file) < 0)
    return false;
  return access(p, F_OK) == 0;
}

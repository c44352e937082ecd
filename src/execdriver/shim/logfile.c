/* json-file log writer with rotation. */
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fileutil.h"
#include "execdriver/logline.h"

#define PARTIAL_MAX 16384

struct pending {
  char buf[PARTIAL_MAX];
  size_t len;
};

struct logfile {
  char *path;
  int fd;
  uint64_t size, max_size;
  unsigned max_files;
  struct pending pend[2];              /* stdout, stderr */
  char line[LOGLINE_MAX(PARTIAL_MAX)]; /* one encoded entry */
};

struct logfile *logfile_open(const char *path, uint64_t max_size, unsigned max_files)
{
  struct logfile *l = calloc(1, sizeof(*l));
  if (!l)
    return NULL;
  l->path = strdup(path);
  l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (!l->path || l->fd < 0) {
    free(l->path);
    free(l);
    return NULL;
  }
  struct stat st;
  if (fstat(l->fd, &st) == 0)
    l->size = (uint64_t)st.st_size;
  l->max_size = max_size;
  l->max_files = max_files ? max_files : 1;
  return l;
}

static void rotate(struct logfile *l)
{
  char from[4096], to[4096];
  if (l->max_files <= 1) {
    if (ftruncate(l->fd, 0) == 0)
      l->size = 0;
    return;
  }
  for (unsigned i = l->max_files - 1; i > 0; i--) {
    if (i == 1)
      snprintf(from, sizeof(from), "%s", l->path);
    else
      snprintf(from, sizeof(from), "%s.%u", l->path, i - 1);
    snprintf(to, sizeof(to), "%s.%u", l->path, i);
    rename(from, to);
  }
  int fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd >= 0) {
    close(l->fd);
    l->fd = fd;
    l->size = 0;
  }
}

static void emit(struct logfile *l, int stream, const char *line, size_t len)
{
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  size_t n = logline_format(l->line, stream, line, len, &now);
  if (l->max_size && l->size + n > l->max_size && l->size > 0)
    rotate(l);
  if (bf_write_all(l->fd, l->line, n) == 0)
    l->size += n;
}

void logfile_write(struct logfile *l, int stream, const char *buf, size_t len)
{
  if (!l)
    return;
  struct pending *p = &l->pend[stream == 2];
  while (len > 0) {
    const char *nl = memchr(buf, '\n', len);
    size_t take = nl ? (size_t)(nl - buf) + 1 : len;
    if (p->len + take > PARTIAL_MAX)
      take = PARTIAL_MAX - p->len;
    memcpy(p->buf + p->len, buf, take);
    p->len += take;
    buf += take;
    len -= take;
    if (p->buf[p->len - 1] == '\n' || p->len == PARTIAL_MAX) {
      emit(l, stream, p->buf, p->len);
      p->len = 0;
    }
  }
}

void logfile_flush(struct logfile *l)
{
  if (!l)
    return;
  for (int i = 0; i < 2; i++)
    if (l->pend[i].len) {
      emit(l, i + 1, l->pend[i].buf, l->pend[i].len);
      l->pend[i].len = 0;
    }
}

void logfile_close(struct logfile *l)
{
  if (!l)
    return;
  logfile_flush(l);
  close(l->fd);
  free(l->path);
  free(l);
}

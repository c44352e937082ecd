/* Logging: text or JSON lines to stderr or an append-only file. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fileutil.h"

static int log_fd = STDERR_FILENO;
static bool log_json;
static enum blog_level log_level = BLOG_WARN;

static const char *const level_names[] = {"error", "warning", "info", "debug"};

int blog_open(const char *path, bool json, enum blog_level level)
{
  log_json = json;
  log_level = level;
  if (!path)
    return 0;
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0)
    return -errno;
  if (log_fd != STDERR_FILENO)
    close(log_fd);
  log_fd = fd;
  return 0;
}

int blog_fd(void)
{
  return log_fd;
}

int blog_parse_level(const char *name, enum blog_level *out)
{
  for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
    if (strcmp(name, level_names[i]) == 0) {
      *out = (enum blog_level)i;
      return 0;
    }
  if (strcmp(name, "warn") == 0) {
    *out = BLOG_WARN;
    return 0;
  }
  return -EINVAL;
}

void blog(enum blog_level level, const char *fmt, ...)
{
  if (level > log_level)
    return;
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);

  char line[8192];
  int n;
  if (log_json) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[64];
    size_t w = strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(when + w, sizeof(when) - w, ".%09ldZ", ts.tv_nsec);
    json_t *j = json_pack("{s:s,s:s,s:s}", "level", level_names[level], "msg", msg, "time", when);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    n = snprintf(line, sizeof(line), "%s\n", s ? s : "{}");
    free(s);
    json_decref(j);
  } else {
    n = snprintf(line, sizeof(line), "%s\n", msg);
  }
  if (n > 0)
    bf_write_all(log_fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* Logging for binaries (never called from library code paths that return errors):
 * text or JSON lines ({"level","msg","time"}, as containerd parses runtime logs). */
#pragma once

#include <stdbool.h>

enum blog_level { BLOG_ERROR = 0, BLOG_WARN = 1, BLOG_INFO = 2, BLOG_DEBUG = 3 };

/* path NULL means stderr. Returns 0 or -errno. */
int blog_open(const char *path, bool json, enum blog_level level);
int blog_parse_level(const char *name, enum blog_level *out);
void blog(enum blog_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int blog_fd(void);

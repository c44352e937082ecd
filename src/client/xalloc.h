/* Allocation for the CLI: running out of memory ends the process (a client has nothing
 * better to do), which keeps the growth loops free of half-handled failures. */
#pragma once

#include <stdio.h>
#include <stdlib.h>

static inline void *xrealloc(void *p, size_t n)
{
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fputs("berth: out of memory\n", stderr);
    abort();
  }
  return q;
}

static inline char *xstrdup(const char *s)
{
  size_t n = __builtin_strlen(s) + 1;
  char *d = xrealloc(NULL, n);
  __builtin_memcpy(d, s, n);
  return d;
}

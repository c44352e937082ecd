/* Scope-bound ownership (systemd/crun style): a variable declared with one of these
 * is released when it goes out of scope; steal_ptr/steal_fd hand ownership on. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
  free(*(void **)p);
}

static inline void closep(int *fd)
{
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
}

static inline void fclosep(FILE **f)
{
  if (*f)
    fclose(*f);
}

static inline void closedirp(DIR **d)
{
  if (*d)
    closedir(*d);
}

static inline void strvfreep(char ***v)
{
  if (*v) {
    for (char **p = *v; *p; p++)
      free(*p);
    free(*v);
  }
}

#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_closedir_ _cleanup_(closedirp)
#define _cleanup_strv_ _cleanup_(strvfreep)

#define steal_ptr(p)                                                                               \
  ({                                                                                               \
    __typeof__(p) _tmp = (p);                                                                      \
    (p) = NULL;                                                                                    \
    _tmp;                                                                                          \
  })

static inline int steal_fd(int *fd)
{
  int r = *fd;
  *fd = -1;
  return r;
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Shared libraries loaded on first use (dlopen) rather than at start: berthd and the CLI
 * need libarchive and libcurl only for image transfers, and every library linked at start
 * costs start-up time and resident memory in every process, used or not. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct lazylib_sym {
  const char *name;
  void **slot; /* receives the symbol's address */
};

struct lazylib {
  const char *soname;
  const struct lazylib_sym *syms;
  size_t n;
  bool tried, loaded;
  void *handle;
  /* Unloading (lazylib_unload_when_idle): objects made through lazylib_acquire and not yet
   * released, the idle delay (0: never unload), and the timer's state. */
  unsigned users;
  unsigned unload_after;
  bool timer_running;
  long long idle_since; /* CLOCK_MONOTONIC seconds when users last fell to 0 */
  char error[256];      /* why loading failed */
};

#define LAZYLIB_INIT(soname_, syms_)                                                               \
  {                                                                                                \
    .soname = (soname_), .syms = (syms_), .n = sizeof(syms_) / sizeof((syms_)[0])                  \
  }

/* Loads the library and resolves every symbol, once per process (thread-safe). False, with
 * errno ELIBACC and l->error set, when the library or a symbol is missing. */
bool lazylib_load(struct lazylib *l);

/* A library whose objects have a clear life (made by a constructor, ended by a destructor)
 * can be unloaded again once none is left: a daemon that loaded an image an hour ago need
 * not keep libarchive and its dependencies mapped. lazylib_acquire loads the library and
 * counts one object about to be made; lazylib_release counts one ended (or never made).
 * With lazylib_unload_when_idle(l, s), the library is dlclosed once no object has been
 * alive for s seconds, and loaded again by the next acquire; without it, never. Calls that
 * use an object need no count: the object holds the library. */
bool lazylib_acquire(struct lazylib *l);
void lazylib_release(struct lazylib *l);
void lazylib_unload_when_idle(struct lazylib *l, unsigned seconds);

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
  char error[256]; /* why loading failed */
};

#define LAZYLIB_INIT(soname_, syms_)                                                               \
  {                                                                                                \
    .soname = (soname_), .syms = (syms_), .n = sizeof(syms_) / sizeof((syms_)[0])                  \
  }

/* Loads the library and resolves every symbol, once per process (thread-safe). False, with
 * errno ELIBACC and l->error set, when the library or a symbol is missing. */
bool lazylib_load(struct lazylib *l);

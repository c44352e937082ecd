/* dlopen + dlsym of a symbol table, once per process, for libraries loaded on first use. */
#include "lazylib.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static bool load(struct lazylib *l)
{
  void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    snprintf(l->error, sizeof(l->error), "load %s: %s", l->soname, dlerror());
    return false;
  }
  for (size_t i = 0; i < l->n; i++) {
    *l->syms[i].slot = dlsym(h, l->syms[i].name);
    if (!*l->syms[i].slot) {
      snprintf(l->error, sizeof(l->error), "load %s: no symbol %s", l->soname, l->syms[i].name);
      return false;
    }
  }
  return true; /* never dlclosed: the pointers stay valid for the life of the process */
}

bool lazylib_load(struct lazylib *l)
{
  if (__atomic_load_n(&l->loaded, __ATOMIC_ACQUIRE))
    return true;
  pthread_mutex_lock(&load_lock);
  if (!l->tried) {
    l->tried = true; /* a missing library is not looked for again on every call */
    __atomic_store_n(&l->loaded, load(l), __ATOMIC_RELEASE);
  }
  bool ok = l->loaded;
  pthread_mutex_unlock(&load_lock);
  if (!ok)
    errno = ELIBACC;
  return ok;
}

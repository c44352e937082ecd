/* dlopen + dlsym of a symbol table for libraries loaded on first use; optionally dlclosed
 * again when none of their objects has been alive for a while. */
#include "lazylib.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static void clear_slots(struct lazylib *l)
{
  for (size_t i = 0; i < l->n; i++)
    *l->syms[i].slot = NULL; /* a call after unloading crashes on NULL, not in freed code */
}

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
      clear_slots(l);
      dlclose(h);
      return false;
    }
  }
  l->handle = h;
  return true;
}

/* With load_lock held. */
static bool load_locked(struct lazylib *l)
{
  if (!l->tried) {
    l->tried = true; /* a missing library is not looked for again on every call */
    __atomic_store_n(&l->loaded, load(l), __ATOMIC_RELEASE);
  }
  return l->loaded;
}

bool lazylib_load(struct lazylib *l)
{
  if (__atomic_load_n(&l->loaded, __ATOMIC_ACQUIRE))
    return true;
  pthread_mutex_lock(&load_lock);
  bool ok = load_locked(l);
  pthread_mutex_unlock(&load_lock);
  if (!ok)
    errno = ELIBACC;
  return ok;
}

bool lazylib_acquire(struct lazylib *l)
{
  pthread_mutex_lock(&load_lock);
  bool ok = load_locked(l);
  if (ok)
    l->users++;
  pthread_mutex_unlock(&load_lock);
  if (!ok)
    errno = ELIBACC;
  return ok;
}

static long long now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec;
}

/* Waits until the library has had no object for unload_after seconds, then unloads it;
 * ends early when an object is made meanwhile (the next release starts another). */
static void *unload_timer(void *arg)
{
  struct lazylib *l = arg;
  pthread_mutex_lock(&load_lock);
  while (l->users == 0 && l->loaded) {
    long long due = l->idle_since + l->unload_after, now = now_s();
    if (now >= due) {
      __atomic_store_n(&l->loaded, false, __ATOMIC_RELEASE);
      clear_slots(l);
      dlclose(l->handle);
      l->handle = NULL;
      l->tried = false; /* the next acquire loads it again */
      break;
    }
    pthread_mutex_unlock(&load_lock);
    sleep((unsigned)(due - now));
    pthread_mutex_lock(&load_lock);
  }
  l->timer_running = false;
  pthread_mutex_unlock(&load_lock);
  return NULL;
}

void lazylib_release(struct lazylib *l)
{
  pthread_mutex_lock(&load_lock);
  if (l->users && --l->users == 0 && l->unload_after) {
    l->idle_since = now_s();
    if (!l->timer_running) {
      pthread_t t;
      pthread_attr_t attr;
      pthread_attr_init(&attr);
      pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
      pthread_attr_setstacksize(&attr, 256 * 1024);
      l->timer_running = pthread_create(&t, &attr, unload_timer, l) == 0;
      pthread_attr_destroy(&attr);
    }
  }
  pthread_mutex_unlock(&load_lock);
}

void lazylib_unload_when_idle(struct lazylib *l, unsigned seconds)
{
  pthread_mutex_lock(&load_lock);
  l->unload_after = seconds;
  pthread_mutex_unlock(&load_lock);
}

/* The libcurl symbol table behind lazy_curl.h. */
#define LAZY_CURL_IMPL
#include "lazy_curl.h"

#include <errno.h>
#include <pthread.h>

#include "common/lazylib.h"

#define LAZY_CURL_DEFINE(f) __typeof__(&f) lazy_##f;
LAZY_CURL_SYMBOLS(LAZY_CURL_DEFINE)

#define LAZY_CURL_ENTRY(f) {#f, (void **)&lazy_##f},
static const struct lazylib_sym syms[] = {LAZY_CURL_SYMBOLS(LAZY_CURL_ENTRY)};

static struct lazylib lib = LAZYLIB_INIT("libcurl.so.4", syms);
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
  lazy_curl_global_init(CURL_GLOBAL_DEFAULT);
}

int reg_curl_load(struct berr *err)
{
  if (!lazylib_load(&lib))
    return berr_set(err, ELIBACC, "registry client: %s", lib.error);
  pthread_once(&init_once, global_init);
  return 0;
}

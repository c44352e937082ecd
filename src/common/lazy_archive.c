/* The libarchive symbol table behind lazy_archive.h. */
#define LAZY_ARCHIVE_IMPL
#include "lazy_archive.h"

#include "lazylib.h"

#define LAZY_ARCHIVE_DEFINE(f) __typeof__(&f) lazy_##f;
LAZY_ARCHIVE_SYMBOLS(LAZY_ARCHIVE_DEFINE)

#define LAZY_ARCHIVE_ENTRY(f) {#f, (void **)&lazy_##f},
static const struct lazylib_sym syms[] = {LAZY_ARCHIVE_SYMBOLS(LAZY_ARCHIVE_ENTRY)};

static struct lazylib lib = LAZYLIB_INIT("libarchive.so.13", syms);

bool lazy_archive_load(void)
{
  return lazylib_load(&lib);
}

const char *lazy_archive_error(void)
{
  return lib.error;
}

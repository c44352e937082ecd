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

void lazy_archive_unload_when_idle(unsigned seconds)
{
  lazylib_unload_when_idle(&lib, seconds);
}

bool lazy_archive_acquire(void)
{
  return lazylib_acquire(&lib);
}

void *lazy_archive_made(void *object)
{
  if (!object)
    lazylib_release(&lib);
  return object;
}

/* NULL is what a failed constructor returned: nothing to free, no count to give back. */
static int free_counted(int (*free_archive)(struct archive *), struct archive *a)
{
  if (!a)
    return ARCHIVE_OK;
  int r = free_archive(a);
  lazylib_release(&lib);
  return r;
}

int lazy_archive_read_free_counted(struct archive *a)
{
  return free_counted(lazy_archive_read_free, a);
}

int lazy_archive_write_free_counted(struct archive *a)
{
  return free_counted(lazy_archive_write_free, a);
}

void lazy_archive_entry_linkresolver_free_counted(struct archive_entry_linkresolver *r)
{
  if (!r)
    return;
  lazy_archive_entry_linkresolver_free(r);
  lazylib_release(&lib);
}

/* Blob files kept mapped while they are being served, and a few more after: a large GET then
 * sends straight from the page cache (one copy, into the socket) instead of reading each
 * block into a buffer first, and repeated GETs of a popular layer map it only once. Blob
 * files are written once and renamed into place, never changed: a mapping stays right for
 * the life of the inode, even after garbage collection unlinks the file. Mappings are found
 * by (device, inode): the mapping holds the inode, so its number cannot go to another file
 * while the entry exists. */
#include "blobmap.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* mappings kept, in use or not: address space only, the pages are the page cache's */
#define BLOBMAP_KEEP 16
#define BLOBMAP_POPULATE_MAX (256u << 20)

struct blobmap_entry {
  dev_t dev;
  ino_t ino;
  void *base;
  size_t len;
  unsigned refs;
  unsigned long long last_used;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct blobmap_entry *entries[BLOBMAP_KEEP];
static unsigned long long clock_ticks;

static void drop(struct blobmap_entry *e)
{
  munmap(e->base, e->len);
  free(e);
}

/* With lock held: a free slot, or the least recently used unreferenced entry's; -1 when all
 * are in use (the caller then maps without caching). */
static int free_slot(void)
{
  int victim = -1;
  for (int i = 0; i < BLOBMAP_KEEP; i++) {
    if (!entries[i])
      return i;
    if (!entries[i]->refs && (victim < 0 || entries[i]->last_used < entries[victim]->last_used))
      victim = i;
  }
  if (victim >= 0) {
    drop(entries[victim]);
    entries[victim] = NULL;
  }
  return victim;
}

struct blobmap_entry *blobmap_get(int fd, struct berr *err)
{
  struct stat st;
  if (fstat(fd, &st) < 0)
    return berr_errno(err, "stat blob"), NULL;
  if (st.st_size <= 0)
    return berr_set(err, EINVAL, "blob is empty"), NULL;
  pthread_mutex_lock(&lock);
  for (int i = 0; i < BLOBMAP_KEEP; i++) {
    struct blobmap_entry *e = entries[i];
    if (e && e->dev == st.st_dev && e->ino == st.st_ino) {
      e->refs++;
      e->last_used = ++clock_ticks;
      pthread_mutex_unlock(&lock);
      return e;
    }
  }
  pthread_mutex_unlock(&lock);
  /* mapped outside the lock: populating a large blob's page tables takes a while */
  void *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED)
    return berr_errno(err, "map blob"), NULL;
  /* page tables filled in one call rather than by a fault every few pages while sending;
   * that call waits for every page to be read, so a huge blob not in the page cache would
   * send its first byte only after all of it was on the way: those fault in as they go */
  if ((uint64_t)st.st_size <= BLOBMAP_POPULATE_MAX)
    (void)madvise(base, (size_t)st.st_size, MADV_POPULATE_READ);
  else
    (void)madvise(base, (size_t)st.st_size, MADV_SEQUENTIAL);
  struct blobmap_entry *e = calloc(1, sizeof(*e));
  if (!e) {
    munmap(base, (size_t)st.st_size);
    return berr_set(err, ENOMEM, "map blob"), NULL;
  }
  *e = (struct blobmap_entry){st.st_dev, st.st_ino, base, (size_t)st.st_size, 1, 0};
  pthread_mutex_lock(&lock);
  e->last_used = ++clock_ticks;
  int slot = -1;
  for (int i = 0; i < BLOBMAP_KEEP && slot < 0; i++) /* mapped meanwhile by another GET? */
    if (entries[i] && entries[i]->dev == e->dev && entries[i]->ino == e->ino)
      slot = i;
  if (slot >= 0) {
    struct blobmap_entry *have = entries[slot];
    have->refs++;
    have->last_used = e->last_used;
    pthread_mutex_unlock(&lock);
    drop(e);
    return have;
  }
  slot = free_slot();
  if (slot >= 0)
    entries[slot] = e;
  else
    e->refs |= 1u << 31; /* not cached: unmapped at its last put */
  pthread_mutex_unlock(&lock);
  return e;
}

const void *blobmap_data(const struct blobmap_entry *e, uint64_t off, uint64_t len)
{
  if (off > e->len || len > e->len - off)
    return NULL;
  return (const char *)e->base + off;
}

void blobmap_put(struct blobmap_entry *e)
{
  if (!e)
    return;
  pthread_mutex_lock(&lock);
  bool uncached = e->refs & (1u << 31);
  unsigned refs = --e->refs & ~(1u << 31);
  pthread_mutex_unlock(&lock);
  if (uncached && refs == 0)
    drop(e);
}

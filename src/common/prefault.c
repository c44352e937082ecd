/* Prefaulting large buffers (prefault.h). */
#include "prefault.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define PREFAULT_MIN ((size_t)128 * 1024)

void mem_prefault(void *buf, size_t len)
{
  if (len < PREFAULT_MIN)
    return;
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  uintptr_t start = ((uintptr_t)buf + page - 1) & ~(page - 1);
  uintptr_t end = ((uintptr_t)buf + len) & ~(page - 1);
  if (end > start)
    madvise((void *)start, end - start, MADV_POPULATE_WRITE);
}

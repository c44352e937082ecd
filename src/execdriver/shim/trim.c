/* Giving back the memory a shim needed only to start its container. A shim lives as long
 * as its container but, once the container runs, only waits on a few descriptors. */
#include <link.h>
#include <malloc.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shim.h"

/* Unmaps the pages of one read-only segment of our own image: they are clean copies of
 * the executable, so the kernel reads back on demand the few the loop still touches. */
static int drop_readonly_segments(struct dl_phdr_info *info, size_t size, void *data)
{
  (void)size;
  (void)data;
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    /* writable segments hold data and relocated pointers: those must stay */
    if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W))
      continue;
    uintptr_t start = (info->dlpi_addr + ph->p_vaddr) & ~(page - 1);
    uintptr_t end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + page - 1) & ~(page - 1);
    madvise((void *)start, end - start, MADV_DONTNEED);
    madvise((void *)start, end - start, MADV_RANDOM);
  }
  return 1; /* the first object is the executable itself; the shim is static */
}

void shim_trim_memory(void)
{
  /* the parsed config, the compiled seccomp filter and the like */
  malloc_trim(0);
  /* start-up code (libcontainer, seccomp, JSON) faulted in with its neighbours (the
   * kernel maps up to 64 KiB around each fault) and is never run again */
  dl_iterate_phdr(drop_readonly_segments, NULL);
}

/* On-disk cache of compiled seccomp programs (seccomp_cache.h). An entry is a small header
 * (magic, install flags, whether the program notifies, instruction count) and the BPF
 * instructions; it lives in the runtime's state root, on tmpfs, and is written atomically. */
#include "libcontainer/security/seccomp_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <linux/filter.h>
#include <nettle/sha2.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileutil.h"
#include "libcontainer/security/seccomp.h"

#define CACHE_MAGIC "BSECCMP1"
#define MAX_INSNS 4096 /* BPF_MAXINSNS: the kernel takes no longer program */

struct entry_header {
  char magic[8];
  uint32_t flags;
  uint32_t notify;
  uint32_t n_insns;
  uint32_t reserved;
};

struct build_id {
  const unsigned char *bytes;
  size_t len;
};

/* The GNU build ID note of the running executable (the first object dl_iterate_phdr
 * reports): a rebuilt berth compiles its profiles afresh. */
static int find_build_id(struct dl_phdr_info *info, size_t size, void *data)
{
  (void)size;
  struct build_id *id = data;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_NOTE)
      continue;
    const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
    const unsigned char *end = p + ph->p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
      const unsigned char *name = p + sizeof(*n);
      const unsigned char *desc = name + ((n->n_namesz + 3) & ~3U);
      if (desc + n->n_descsz > end)
        break;
      if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
        id->bytes = desc;
        id->len = n->n_descsz;
        return 1;
      }
      p = desc + ((n->n_descsz + 3) & ~3U);
    }
  }
  return 1; /* only the executable */
}

bool lc_seccomp_cache_key(json_t *seccomp, char key[65])
{
  struct build_id id = {0};
  dl_iterate_phdr(find_build_id, &id);
  if (!id.bytes || !id.len)
    return false;
  _cleanup_free_ char *text = json_dumps(seccomp, JSON_COMPACT | JSON_SORT_KEYS);
  if (!text)
    return false;
  const struct scmp_version *v = seccomp_version();
  char version[64];
  int vlen = snprintf(version, sizeof(version), "%u.%u.%u", v ? v->major : 0, v ? v->minor : 0,
                      v ? v->micro : 0);
  struct sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, id.len, id.bytes);
  sha256_update(&ctx, (size_t)vlen + 1, (const uint8_t *)version);
  sha256_update(&ctx, strlen(text), (const uint8_t *)text);
  uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx, sizeof(digest), digest);
  for (size_t i = 0; i < sizeof(digest); i++)
    snprintf(key + 2 * i, 3, "%02x", digest[i]);
  return true;
}

struct lc_seccomp *lc_seccomp_cache_load(const char *dir, const char *key, json_t *seccomp)
{
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, key);
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  struct entry_header h;
  if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
      read(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) || memcmp(h.magic, CACHE_MAGIC, 8) != 0 ||
      h.n_insns == 0 || h.n_insns > MAX_INSNS ||
      (size_t)st.st_size != sizeof(h) + (size_t)h.n_insns * sizeof(struct sock_filter))
    return NULL;
  size_t bytes = (size_t)h.n_insns * sizeof(struct sock_filter);
  _cleanup_free_ struct sock_filter *insns = malloc(bytes);
  if (!insns || read(fd, insns, bytes) != (ssize_t)bytes)
    return NULL;
  struct lc_seccomp *s = NULL;
  struct berr err = {0};
  if (lc_seccomp_from_bpf(insns, h.n_insns, h.flags, h.notify != 0, seccomp, &s, &err) < 0)
    return NULL;
  return s;
}

void lc_seccomp_cache_store(const char *dir, const char *key, const struct lc_seccomp *s)
{
  size_t n = 0;
  const void *insns = lc_seccomp_bpf(s, &n);
  if (!insns || n == 0 || n > MAX_INSNS)
    return;
  if (mkdir(dir, 0700) < 0 && errno != EEXIST)
    return;
  struct entry_header h = {.flags = lc_seccomp_flags(s),
                           .notify = lc_seccomp_wants_notify(s) ? 1 : 0,
                           .n_insns = (uint32_t)n};
  memcpy(h.magic, CACHE_MAGIC, 8);
  size_t bytes = n * sizeof(struct sock_filter);
  _cleanup_free_ char *buf = malloc(sizeof(h) + bytes);
  if (!buf)
    return;
  memcpy(buf, &h, sizeof(h));
  memcpy(buf + sizeof(h), insns, bytes);
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, key);
  struct berr err = {0};
  (void)bf_write_atomic_volatile(path, buf, sizeof(h) + bytes, 0600, &err);
}

/* Tree-to-tar writer over libarchive: pax headers keep xattrs, long names and nanosecond
 * times; the link resolver turns repeated inodes into hard link entries. */
#include "tarwriter.h"

#include "common/lazy_archive.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "graphdriver/strv.h"

#define COPY_BUF (1 << 17)

struct gd_tarw {
  struct archive *a;
  struct archive_entry_linkresolver *lr;
  char *buf;                    /* COPY_BUF bytes for file contents */
  const struct gd_id_unmap *um; /* --userns-remap: host ids written as the container's */
};

void gd_tarw_set_unmap(struct gd_tarw *w, const struct gd_id_unmap *m)
{
  w->um = m;
}

static unsigned unmap_id(const struct gd_id_range *r, size_t n, unsigned id)
{
  for (size_t i = 0; i < n; i++)
    if (id >= r[i].host_id && id - r[i].host_id < r[i].size)
      return r[i].container_id + (id - r[i].host_id);
  return id;
}

int gd_tarw_open(int fd, struct gd_tarw **out, struct berr *err)
{
  struct gd_tarw *w = calloc(1, sizeof(*w));
  if (!w)
    return berr_set(err, ENOMEM, "tar writer");
  w->a = archive_write_new();
  w->lr = archive_entry_linkresolver_new();
  w->buf = malloc(COPY_BUF);
  if (!w->a || !w->lr || !w->buf) {
    gd_tarw_abort(w);
    return berr_set(err, ENOMEM, "tar writer");
  }
  archive_write_set_format_pax_restricted(w->a);
  archive_entry_linkresolver_set_strategy(w->lr, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
  archive_write_set_bytes_in_last_block(w->a, 1);
  if (archive_write_open_fd(w->a, fd) != ARCHIVE_OK) {
    int r = berr_set(err, 0, "open tar writer: %s", archive_error_string(w->a));
    gd_tarw_abort(w);
    return r;
  }
  *out = w;
  return 0;
}

void gd_tarw_abort(struct gd_tarw *w)
{
  if (!w)
    return;
  if (w->lr)
    archive_entry_linkresolver_free(w->lr);
  if (w->a)
    archive_write_free(w->a);
  free(w->buf);
  free(w);
}

int gd_tarw_close(struct gd_tarw *w, struct berr *err)
{
  int r = 0;
  if (archive_write_close(w->a) != ARCHIVE_OK)
    r = berr_set(err, EIO, "finish tar: %s", archive_error_string(w->a));
  gd_tarw_abort(w);
  return r;
}

static int write_header(struct gd_tarw *w, struct archive_entry *e, const char *path,
                        struct berr *err)
{
  if (archive_write_header(w->a, e) < ARCHIVE_WARN)
    return berr_set(err, EIO, "write tar header for %s: %s", path, archive_error_string(w->a));
  return 0;
}

static int copy_data(struct gd_tarw *w, int fd, const char *path, struct berr *err)
{
  /* The buffer belongs to the writer: a static __thread one put 128 KiB of TLS into every
   * thread berthd makes, zeroed at each thread's start. */
  char *buf = w->buf;
  for (;;) {
    ssize_t n = read(fd, buf, COPY_BUF);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return berr_errno(err, "read %s", path);
    }
    if (n == 0)
      return 0;
    if (archive_write_data(w->a, buf, (size_t)n) < 0)
      return berr_set(err, EIO, "write %s to tar: %s", path, archive_error_string(w->a));
  }
}

static void add_xattrs(struct archive_entry *e, int dirfd, const char *name)
{
  char proc[PATH_MAX];
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dirfd, name);
  char list[8192];
  ssize_t n = llistxattr(proc, list, sizeof(list));
  for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(list + off) + 1) {
    const char *k = list + off;
    if (!strncmp(k, "trusted.", 8))
      continue; /* overlay bookkeeping, not image content */
    char val[4096];
    ssize_t vn = lgetxattr(proc, k, val, sizeof(val));
    if (vn >= 0)
      archive_entry_xattr_add_entry(e, k, val, (size_t)vn);
  }
}

int gd_tarw_add(struct gd_tarw *w, int dirfd, const char *name, const char *path,
                const struct stat *st, struct berr *err)
{
  struct archive_entry *e = archive_entry_new();
  if (!e)
    return berr_set(err, ENOMEM, "tar");
  struct archive_entry *spare = NULL;
  int r = 0;
  archive_entry_copy_stat(e, st);
  if (w->um) {
    archive_entry_set_uid(e, unmap_id(w->um->uids, w->um->n_uids, (unsigned)st->st_uid));
    archive_entry_set_gid(e, unmap_id(w->um->gids, w->um->n_gids, (unsigned)st->st_gid));
  }
  archive_entry_copy_pathname(e, path);
  archive_entry_set_atime(e, st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
  archive_entry_unset_ctime(e);
  if (S_ISLNK(st->st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
    if (n < 0) {
      r = berr_errno(err, "readlink %s", path);
      goto out;
    }
    target[n] = '\0';
    archive_entry_copy_symlink(e, target);
  }
  add_xattrs(e, dirfd, name);
  if (!S_ISREG(st->st_mode))
    archive_entry_set_size(e, 0);
  archive_entry_linkify(w->lr, &e, &spare);
  if (e) {
    if ((r = write_header(w, e, path, err)) < 0)
      goto out;
    if (S_ISREG(st->st_mode) && archive_entry_size(e) > 0) {
      _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        r = berr_errno(err, "open %s", path);
        goto out;
      }
      if ((r = copy_data(w, fd, path, err)) < 0)
        goto out;
    }
  }
out:
  if (e)
    archive_entry_free(e);
  if (spare)
    archive_entry_free(spare);
  return r;
}

static int add_empty(struct gd_tarw *w, const char *path, struct berr *err)
{
  struct archive_entry *e = archive_entry_new();
  if (!e)
    return berr_set(err, ENOMEM, "tar");
  archive_entry_copy_pathname(e, path);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0);
  archive_entry_set_size(e, 0);
  int r = write_header(w, e, path, err);
  archive_entry_free(e);
  return r;
}

int gd_tarw_whiteout(struct gd_tarw *w, const char *path, struct berr *err)
{
  const char *slash = strrchr(path, '/');
  _cleanup_free_ char *wh = NULL;
  int n = slash ? asprintf(&wh, "%.*s/.wh.%s", (int)(slash - path), path, slash + 1)
                : asprintf(&wh, ".wh.%s", path);
  if (n < 0)
    return berr_set(err, ENOMEM, "tar");
  return add_empty(w, wh, err);
}

int gd_tarw_opaque(struct gd_tarw *w, const char *dir, struct berr *err)
{
  _cleanup_free_ char *p = NULL;
  if (asprintf(&p, "%s%s.wh..wh..opq", dir, *dir ? "/" : "") < 0)
    return berr_set(err, ENOMEM, "tar");
  return add_empty(w, p, err);
}

static int cmpstr(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int gd_list_dir(int dirfd, char ***names)
{
  int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return -errno;
  }
  struct gd_strv sv = {0};
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    if (gd_strv_push(&sv, strdup(de->d_name)) < 0) {
      closedir(d);
      gd_strv_clear(&sv);
      return -ENOMEM;
    }
  }
  closedir(d);
  size_t n = sv.n;
  char **v = gd_strv_steal(&sv);
  if (!v)
    return -ENOMEM;
  qsort(v, n, sizeof(char *), cmpstr);
  *names = v;
  return 0;
}

int gd_tarw_add_tree(struct gd_tarw *w, int dirfd, const char *prefix, struct berr *err)
{
  _cleanup_strv_ char **names = NULL;
  int r = gd_list_dir(dirfd, &names);
  if (r < 0)
    return berr_set(err, -r, "list %s", *prefix ? prefix : "/");
  for (char **n = names; *n; n++) {
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "%s%s%s", prefix, *prefix ? "/" : "", *n) < 0)
      return berr_set(err, ENOMEM, "tar");
    struct stat st;
    if (fstatat(dirfd, *n, &st, AT_SYMLINK_NOFOLLOW) < 0)
      return berr_errno(err, "stat %s", path);
    if ((r = gd_tarw_add(w, dirfd, *n, path, &st, err)) < 0)
      return r;
    if (S_ISDIR(st.st_mode)) {
      _cleanup_close_ int sub = openat(dirfd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0)
        return berr_errno(err, "open %s", path);
      if ((r = gd_tarw_add_tree(w, sub, path, err)) < 0)
        return r;
    }
  }
  return 0;
}

/* Safe layer extraction. Every parent directory is opened with openat2(RESOLVE_IN_ROOT), so
 * ".." and symlinks (absolute or relative, planted by this or an earlier entry) are confined to
 * the layer; the last component is always created with *at calls that do not follow symlinks. */
#include "extract.h"

#include "common/lazy_archive.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define WH_META_PREFIX ".wh..wh."

int gd_clean_member_path(const char *name, char **out, struct berr *err)
{
  if (!name)
    return berr_set(err, 0, "tar entry without a name");
  if (name[0] == '/')
    return berr_set(err, 0, "tar entry \"%s\": absolute path", name);
  size_t len = strlen(name);
  char *res = malloc(len + 1);
  if (!res)
    return berr_set(err, ENOMEM, "tar entry");
  size_t n = 0;
  const char *p = name;
  while (*p) {
    const char *slash = strchr(p, '/');
    size_t clen = slash ? (size_t)(slash - p) : strlen(p);
    if (clen == 0 || (clen == 1 && p[0] == '.')) {
      /* empty or "." component: skip */
    } else if (clen == 2 && p[0] == '.' && p[1] == '.') {
      free(res);
      return berr_set(err, 0, "tar entry \"%s\": path escapes the layer root", name);
    } else {
      if (n)
        res[n++] = '/';
      memcpy(res + n, p, clen);
      n += clen;
    }
    p += clen;
    if (*p == '/')
      p++;
  }
  res[n] = '\0';
  *out = res;
  return 0;
}

int gd_open_in_root(int rootfd, const char *path, int flags)
{
  struct open_how how = {
      .flags = (uint64_t)(flags | O_CLOEXEC),
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  if (!*path)
    path = ".";
  for (int tries = 0; tries < 64; tries++) {
    long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
    if (fd >= 0)
      return (int)fd;
    if (errno != EAGAIN)
      return -errno;
  }
  return -EAGAIN;
}

int gd_remove_at(int parentfd, const char *name)
{
  struct stat st;
  if (fstatat(parentfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : -errno;
  if (!S_ISDIR(st.st_mode))
    return unlinkat(parentfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
  int fd = openat(parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return -errno;
  }
  int r = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    int q = gd_remove_at(dirfd(d), de->d_name);
    if (q < 0 && r == 0)
      r = q;
  }
  closedir(d);
  if (r == 0 && unlinkat(parentfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    r = -errno;
  return r;
}

/* A string set (open addressing) recording what this layer created, for opaque dirs in
 * delete mode: an opaque marker removes what the lower layers had, not this layer's files. */
struct strset {
  char **slots;
  size_t cap, len;
};

static uint64_t strhash(const char *s)
{
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

static int strset_add(struct strset *s, const char *v)
{
  if ((s->len + 1) * 2 > s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 256;
    char **ns = calloc(ncap, sizeof(char *));
    if (!ns)
      return -ENOMEM;
    for (size_t i = 0; i < s->cap; i++)
      if (s->slots[i]) {
        size_t j = strhash(s->slots[i]) & (ncap - 1);
        while (ns[j])
          j = (j + 1) & (ncap - 1);
        ns[j] = s->slots[i];
      }
    free(s->slots);
    s->slots = ns;
    s->cap = ncap;
  }
  size_t j = strhash(v) & (s->cap - 1);
  while (s->slots[j]) {
    if (!strcmp(s->slots[j], v))
      return 0;
    j = (j + 1) & (s->cap - 1);
  }
  s->slots[j] = strdup(v);
  if (!s->slots[j])
    return -ENOMEM;
  s->len++;
  return 0;
}

static bool strset_has(const struct strset *s, const char *v)
{
  if (!s->cap)
    return false;
  size_t j = strhash(v) & (s->cap - 1);
  while (s->slots[j]) {
    if (!strcmp(s->slots[j], v))
      return true;
    j = (j + 1) & (s->cap - 1);
  }
  return false;
}

static void strset_free(struct strset *s)
{
  for (size_t i = 0; i < s->cap; i++)
    free(s->slots[i]);
  free(s->slots);
}

struct dirtime {
  char *path;
  struct timespec ts[2];
};

struct xctx {
  int rootfd;
  const struct gd_extract_opts *opts;
  /* cached parent directory: most entries share the parent of the previous one */
  char *cached_path;
  int cached_fd;
  struct dirtime *dirtimes;
  size_t ndirtimes, capdirtimes;
  struct strset created;
  int64_t size;
};

static void cache_drop(struct xctx *x)
{
  if (x->cached_fd >= 0)
    close(x->cached_fd);
  x->cached_fd = -1;
  free(x->cached_path);
  x->cached_path = NULL;
}

/* Forget the cached parent when `path` is it or one of its ancestors (it may be replaced). */
static void cache_invalidate(struct xctx *x, const char *path)
{
  if (!x->cached_path)
    return;
  size_t n = strlen(path);
  if (n == 0 || (strncmp(x->cached_path, path, n) == 0 &&
                 (x->cached_path[n] == '\0' || x->cached_path[n] == '/')))
    cache_drop(x);
}

/* Creates every missing directory of path (0755, like Docker), resolving in the root: a
 * symlink met on the way is followed the way RESOLVE_IN_ROOT would follow it, so a missing
 * target is created inside the layer, never outside. */
static int mkdir_in_root(int rootfd, const char *path, int depth)
{
  if (depth > 40)
    return -ELOOP;
  _cleanup_free_ char *cur = strdup("");
  if (!cur)
    return -ENOMEM;
  const char *p = path;
  while (*p) {
    while (*p == '/')
      p++;
    if (!*p)
      break;
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    _cleanup_free_ char *next = NULL, *comp = strndup(p, n);
    if (!comp || asprintf(&next, "%s/%s", cur, comp) < 0)
      return -ENOMEM;
    const char *rest = p + n;
    int fd = gd_open_in_root(rootfd, next, O_PATH | O_DIRECTORY);
    if (fd >= 0) {
      close(fd);
    } else if (fd != -ENOENT) {
      return fd;
    } else {
      _cleanup_close_ int pfd = gd_open_in_root(rootfd, cur, O_PATH | O_DIRECTORY);
      if (pfd < 0)
        return pfd;
      if (!strcmp(comp, ".") || !strcmp(comp, ".."))
        return -ENOENT;
      struct stat st;
      if (fstatat(pfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t tn = readlinkat(pfd, comp, target, sizeof(target) - 1);
        if (tn < 0)
          return -errno;
        target[tn] = '\0';
        _cleanup_free_ char *np = NULL;
        if (asprintf(&np, "%s%s%s%s", target[0] == '/' ? "" : cur, target[0] == '/' ? "" : "/",
                     target, rest) < 0)
          return -ENOMEM;
        return mkdir_in_root(rootfd, np, depth + 1);
      }
      if (mkdirat(pfd, comp, 0755) < 0 && errno != EEXIST)
        return -errno;
    }
    free(cur);
    cur = steal_ptr(next);
    p = rest;
  }
  return 0;
}

/* Opens the parent directory `dir`, creating it when missing. */
static int open_parent(struct xctx *x, const char *dir, struct berr *err)
{
  if (x->cached_path && !strcmp(x->cached_path, dir))
    return x->cached_fd;
  cache_drop(x);
  int fd = gd_open_in_root(x->rootfd, dir, O_PATH | O_DIRECTORY);
  if (fd == -ENOENT) {
    int r = mkdir_in_root(x->rootfd, dir, 0);
    if (r < 0)
      return berr_set(err, -r, "create directory %s in layer", dir);
    fd = gd_open_in_root(x->rootfd, dir, O_PATH | O_DIRECTORY);
  }
  if (fd < 0)
    return berr_set(err, -fd, "open directory %s in layer", *dir ? dir : "/");
  x->cached_path = strdup(dir);
  if (!x->cached_path) {
    close(fd);
    return berr_set(err, ENOMEM, "open %s", dir);
  }
  x->cached_fd = fd;
  return fd;
}

static void split_path(char *path, const char **dir, const char **base)
{
  char *slash = strrchr(path, '/');
  if (slash) {
    *slash = '\0';
    *dir = path;
    *base = slash + 1;
  } else {
    *dir = "";
    *base = path;
  }
}

static int set_xattrs(struct archive_entry *e, int fd, int parentfd, const char *base,
                      const char *path, struct berr *err)
{
  if (archive_entry_xattr_reset(e) == 0)
    return 0;
  const char *name;
  const void *value;
  size_t size;
  char proc[64];
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d/", parentfd);
  _cleanup_free_ char *lpath = NULL;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    /* trusted.* belongs to the kernel's overlay and the host, never to an image. */
    if (!strncmp(name, "trusted.", 8))
      continue;
    int r;
    if (fd >= 0) {
      r = fsetxattr(fd, name, value, size, 0);
    } else {
      if (!lpath && asprintf(&lpath, "%s%s", proc, base) < 0)
        return berr_set(err, ENOMEM, "xattr");
      r = lsetxattr(lpath, name, value, size, 0);
    }
    if (r < 0 && errno != ENOTSUP && errno != EPERM)
      return berr_errno(err, "set xattr %s on %s", name, path);
  }
  return 0;
}

static int write_data(struct archive *a, int fd, const char *path, struct berr *err)
{
  const void *buf;
  size_t len;
  la_int64_t off;
  int64_t end = 0;
  for (;;) {
    int r = archive_read_data_block(a, &buf, &len, &off);
    if (r == ARCHIVE_EOF)
      break;
    if (r < ARCHIVE_WARN)
      return berr_set(err, archive_errno(a) > 0 ? archive_errno(a) : EIO, "read %s: %s", path,
                      archive_error_string(a));
    const char *p = buf;
    while (len > 0) {
      ssize_t n = pwrite(fd, p, len, off);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return berr_errno(err, "write %s", path);
      }
      p += n;
      len -= (size_t)n;
      off += n;
    }
    if (off > end)
      end = off;
  }
  return 0;
}

static int do_whiteout(struct xctx *x, const char *dir, const char *base, struct archive_entry *e,
                       const char *path, struct berr *err)
{
  cache_drop(x);
  if (!strcmp(base, WH_OPAQUE)) {
    int pfd = open_parent(x, dir, err);
    if (pfd < 0)
      return pfd;
    if (x->opts->whiteouts == GD_WHITEOUT_OVERLAY) {
      char proc[64];
      snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
      if (setxattr(proc, "trusted.overlay.opaque", "y", 1, 0) < 0)
        return berr_errno(err, "mark %s opaque", *dir ? dir : "/");
      return 0;
    }
    /* delete mode: drop every child that an earlier layer put there */
    _cleanup_close_ int dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
      return berr_errno(err, "open %s", dir);
    DIR *d = fdopendir(dfd);
    if (!d)
      return berr_errno(err, "open %s", dir);
    dfd = -1;
    struct dirent *de;
    int r = 0;
    while ((de = readdir(d))) {
      if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
        continue;
      _cleanup_free_ char *child = NULL;
      if (asprintf(&child, "%s%s%s", dir, *dir ? "/" : "", de->d_name) < 0) {
        r = -ENOMEM;
        break;
      }
      if (strset_has(&x->created, child))
        continue;
      r = gd_remove_at(dirfd(d), de->d_name);
      if (r < 0)
        break;
    }
    closedir(d);
    if (r < 0)
      return berr_set(err, -r, "apply opaque whiteout in %s", dir);
    cache_drop(x);
    return 0;
  }
  if (!strncmp(base, WH_META_PREFIX, strlen(WH_META_PREFIX)))
    return 0; /* aufs bookkeeping (.wh..wh.plnk etc.): nothing to apply */
  const char *target = base + strlen(WH_PREFIX);
  if (!*target || !strcmp(target, ".") || !strcmp(target, "..") || strchr(target, '/'))
    return berr_set(err, 0, "tar entry \"%s\": invalid whiteout", path);
  int pfd = open_parent(x, dir, err);
  if (pfd < 0)
    return pfd;
  int r = gd_remove_at(pfd, target);
  if (r < 0)
    return berr_set(err, -r, "whiteout %s/%s", dir, target);
  if (x->opts->whiteouts == GD_WHITEOUT_OVERLAY) {
    if (mknodat(pfd, target, S_IFCHR | 0000, makedev(0, 0)) < 0)
      return berr_errno(err, "create whiteout for %s/%s", dir, target);
    if (fchownat(pfd, target, (uid_t)archive_entry_uid(e), (gid_t)archive_entry_gid(e),
                 AT_SYMLINK_NOFOLLOW) < 0)
      return berr_errno(err, "chown whiteout %s/%s", dir, target);
  }
  return 0;
}

static int apply_entry(struct xctx *x, struct archive *a, struct archive_entry *e, struct berr *err)
{
  const char *raw = archive_entry_pathname(e);
  _cleanup_free_ char *path = NULL;
  int r = gd_clean_member_path(raw, &path, err);
  if (r < 0)
    return r;
  if (!*path)
    return 0; /* the layer root itself: its attributes belong to the driver */
  if (x->opts->whiteouts == GD_WHITEOUT_DELETE && (r = strset_add(&x->created, path)) < 0)
    return berr_set(err, -r, "extract");
  _cleanup_free_ char *full = strdup(path);
  if (!full)
    return berr_set(err, ENOMEM, "extract");
  const char *dir, *base;
  split_path(path, &dir, &base);

  if (!strncmp(base, WH_PREFIX, strlen(WH_PREFIX)))
    return do_whiteout(x, dir, base, e, full, err);

  cache_invalidate(x, full);
  int pfd = open_parent(x, dir, err);
  if (pfd < 0)
    return pfd;

  const char *hardlink = archive_entry_hardlink(e);
  mode_t type = archive_entry_filetype(e);
  mode_t perm = archive_entry_perm(e);

  struct stat st;
  bool exists = fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && !(S_ISDIR(st.st_mode) && type == AE_IFDIR && !hardlink)) {
    if ((r = gd_remove_at(pfd, base)) < 0)
      return berr_set(err, -r, "replace %s", full);
    exists = false;
  }

  if (hardlink) {
    _cleanup_free_ char *target = NULL;
    if (gd_clean_member_path(hardlink, &target, err) < 0)
      return berr_wrap(err, "hard link %s", full);
    if (!*target)
      return berr_set(err, 0, "hard link %s: target is the layer root", full);
    const char *tdir, *tbase;
    split_path(target, &tdir, &tbase);
    _cleanup_close_ int tfd = gd_open_in_root(x->rootfd, tdir, O_PATH | O_DIRECTORY);
    if (tfd < 0)
      return berr_set(err, -tfd, "hard link %s: open %s", full, tdir);
    if (linkat(tfd, tbase, pfd, base, 0) < 0)
      return berr_errno(err, "hard link %s to %s", full, hardlink);
    return 0;
  }

  _cleanup_close_ int fd = -1;
  switch (type) {
  case AE_IFDIR:
    if (!exists && mkdirat(pfd, base, 0700) < 0)
      return berr_errno(err, "mkdir %s", full);
    break;
  case AE_IFREG:
    fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
      return berr_errno(err, "create %s", full);
    if ((r = write_data(a, fd, full, err)) < 0)
      return r;
    if (ftruncate(fd, archive_entry_size(e)) < 0)
      return berr_errno(err, "truncate %s", full);
    x->size += archive_entry_size(e);
    break;
  case AE_IFLNK: {
    const char *target = archive_entry_symlink(e);
    if (!target)
      return berr_set(err, 0, "tar entry \"%s\": symlink without target", full);
    if (symlinkat(target, pfd, base) < 0)
      return berr_errno(err, "symlink %s", full);
    break;
  }
  case AE_IFCHR:
  case AE_IFBLK:
  case AE_IFIFO:
    if (mknodat(pfd, base, type | perm, archive_entry_rdev(e)) < 0)
      return berr_errno(err, "mknod %s", full);
    break;
  case AE_IFSOCK:
    return 0; /* sockets are not carried in layers */
  default:
    return berr_set(err, 0, "tar entry \"%s\": unsupported type 0%o", full, type);
  }

  uid_t uid = (uid_t)archive_entry_uid(e);
  gid_t gid = (gid_t)archive_entry_gid(e);
  if (fd >= 0) {
    if (fchown(fd, uid, gid) < 0)
      return berr_errno(err, "chown %s", full);
    if (fchmod(fd, perm) < 0)
      return berr_errno(err, "chmod %s", full);
  } else {
    if (fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
      return berr_errno(err, "chown %s", full);
    if (type != AE_IFLNK) {
      /* the entry is ours (not a symlink), so following is safe; chmod after chown keeps
       * setuid bits */
      if (fchmodat(pfd, base, perm, 0) < 0)
        return berr_errno(err, "chmod %s", full);
    }
  }
  if ((r = set_xattrs(e, fd, pfd, base, full, err)) < 0)
    return r;

  struct timespec ts[2] = {
      {.tv_sec = archive_entry_atime_is_set(e) ? archive_entry_atime(e) : archive_entry_mtime(e),
       .tv_nsec = archive_entry_atime_is_set(e) ? archive_entry_atime_nsec(e)
                                                : archive_entry_mtime_nsec(e)},
      {.tv_sec = archive_entry_mtime(e), .tv_nsec = archive_entry_mtime_nsec(e)},
  };
  if (type == AE_IFDIR) {
    /* children change a directory's mtime: set it once everything is in place */
    if (x->ndirtimes == x->capdirtimes) {
      size_t ncap = x->capdirtimes ? x->capdirtimes * 2 : 64;
      struct dirtime *n = realloc(x->dirtimes, ncap * sizeof(*n));
      if (!n)
        return berr_set(err, ENOMEM, "extract");
      x->dirtimes = n;
      x->capdirtimes = ncap;
    }
    x->dirtimes[x->ndirtimes].path = steal_ptr(full);
    memcpy(x->dirtimes[x->ndirtimes].ts, ts, sizeof(ts));
    x->ndirtimes++;
  } else if (fd >= 0) {
    if (futimens(fd, ts) < 0)
      return berr_errno(err, "set times on %s", full);
  } else if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0) {
    return berr_errno(err, "set times on %s", full);
  }
  return 0;
}

static int apply_dirtimes(struct xctx *x, struct berr *err)
{
  cache_drop(x);
  for (size_t i = x->ndirtimes; i-- > 0;) {
    char *p = x->dirtimes[i].path;
    const char *dir, *base;
    _cleanup_free_ char *copy = strdup(p);
    if (!copy)
      return berr_set(err, ENOMEM, "extract");
    split_path(copy, &dir, &base);
    int pfd = gd_open_in_root(x->rootfd, dir, O_PATH | O_DIRECTORY);
    if (pfd < 0)
      continue; /* removed by a later whiteout */
    int r = utimensat(pfd, base, x->dirtimes[i].ts, AT_SYMLINK_NOFOLLOW);
    close(pfd);
    if (r < 0 && errno != ENOENT)
      return berr_errno(err, "set times on %s", p);
  }
  return 0;
}

int gd_extract_archive(int rootfd, struct archive *a, const struct gd_extract_opts *opts,
                       int64_t *size, struct berr *err)
{
  struct xctx x = {.rootfd = rootfd, .opts = opts, .cached_fd = -1};
  int r = 0;
  for (;;) {
    struct archive_entry *e;
    int ar = archive_read_next_header(a, &e);
    if (ar == ARCHIVE_EOF)
      break;
    if (ar < ARCHIVE_WARN) {
      r = berr_set(err, 0, "read layer tar: %s", archive_error_string(a));
      break;
    }
    if ((r = apply_entry(&x, a, e, err)) < 0)
      break;
  }
  if (r == 0)
    r = apply_dirtimes(&x, err);
  cache_drop(&x);
  for (size_t i = 0; i < x.ndirtimes; i++)
    free(x.dirtimes[i].path);
  free(x.dirtimes);
  strset_free(&x.created);
  if (r == 0 && size)
    *size = x.size;
  return r;
}

struct src_state {
  struct gd_tar_source *src;
  int error;
};

static la_ssize_t src_read(struct archive *a, void *ud, const void **buf)
{
  struct src_state *s = ud;
  ssize_t n = s->src->read(s->src->ctx, buf);
  if (n < 0) {
    s->error = (int)-n;
    archive_set_error(a, (int)-n, "layer stream failed");
    return -1;
  }
  return n;
}

int gd_extract(int rootfd, struct gd_tar_source *src, const struct gd_extract_opts *opts,
               int64_t *size, struct berr *err)
{
  struct archive *a = archive_read_new();
  if (!a)
    return berr_set(err, ENOMEM, "extract");
  archive_read_support_format_tar(a);
  struct src_state st = {.src = src};
  int r;
  if (archive_read_open(a, &st, NULL, src_read, NULL) != ARCHIVE_OK)
    r = berr_set(err, 0, "open layer tar: %s", archive_error_string(a));
  else
    r = gd_extract_archive(rootfd, a, opts, size, err);
  if (r < 0 && st.error)
    r = -st.error;
  archive_read_free(a);
  return r;
}

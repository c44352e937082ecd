/* vfs: every layer is a full copy of its parent plus its own changes, for filesystems where
 * overlay cannot be mounted. Changes are found by comparing a layer with its parent. */
#include "driver_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "tarwriter.h"

/* hard links: source inode -> first copied path */
struct inomap {
  struct {
    dev_t dev;
    ino_t ino;
    char *path;
  } * v;
  size_t n, cap;
};

static const char *inomap_find(struct inomap *m, const struct stat *st)
{
  for (size_t i = 0; i < m->n; i++)
    if (m->v[i].dev == st->st_dev && m->v[i].ino == st->st_ino)
      return m->v[i].path;
  return NULL;
}

static int inomap_add(struct inomap *m, const struct stat *st, const char *path)
{
  if (m->n == m->cap) {
    size_t ncap = m->cap ? m->cap * 2 : 64;
    void *nv = realloc(m->v, ncap * sizeof(*m->v));
    if (!nv)
      return -ENOMEM;
    m->v = nv;
    m->cap = ncap;
  }
  m->v[m->n].dev = st->st_dev;
  m->v[m->n].ino = st->st_ino;
  m->v[m->n].path = strdup(path);
  return m->v[m->n++].path ? 0 : -ENOMEM;
}

static void copy_xattrs(int sfd, const char *sname, int dfd, const char *dname)
{
  char sp[PATH_MAX], dp[PATH_MAX], list[8192], val[65536];
  snprintf(sp, sizeof(sp), "/proc/self/fd/%d/%s", sfd, sname);
  snprintf(dp, sizeof(dp), "/proc/self/fd/%d/%s", dfd, dname);
  ssize_t n = llistxattr(sp, list, sizeof(list));
  for (ssize_t off = 0; n > 0 && off < n; off += (ssize_t)strlen(list + off) + 1) {
    ssize_t vn = lgetxattr(sp, list + off, val, sizeof(val));
    if (vn >= 0)
      lsetxattr(dp, list + off, val, (size_t)vn, 0);
  }
}

static int copy_tree(int sfd, int dfd, const char *prefix, int droot, struct inomap *links,
                     struct berr *err)
{
  _cleanup_strv_ char **names = NULL;
  int r = gd_list_dir(sfd, &names);
  if (r < 0)
    return berr_set(err, -r, "list /%s", prefix);
  for (char **n = names; *n; n++) {
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "%s%s%s", prefix, *prefix ? "/" : "", *n) < 0)
      return berr_set(err, ENOMEM, "copy");
    struct stat st;
    if (fstatat(sfd, *n, &st, AT_SYMLINK_NOFOLLOW) < 0)
      return berr_errno(err, "stat /%s", path);
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      const char *first = inomap_find(links, &st);
      if (first) {
        if (linkat(droot, first, dfd, *n, 0) < 0)
          return berr_errno(err, "link /%s", path);
        continue;
      }
      if (inomap_add(links, &st, path) < 0)
        return berr_set(err, ENOMEM, "copy");
    }
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(dfd, *n, 0700) < 0)
        return berr_errno(err, "mkdir /%s", path);
      _cleanup_close_ int s2 = openat(sfd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      _cleanup_close_ int d2 = openat(dfd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (s2 < 0 || d2 < 0)
        return berr_errno(err, "open /%s", path);
      if ((r = copy_tree(s2, d2, path, droot, links, err)) < 0)
        return r;
    } else if (S_ISREG(st.st_mode)) {
      _cleanup_close_ int in = openat(sfd, *n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      _cleanup_close_ int out =
          openat(dfd, *n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (in < 0 || out < 0)
        return berr_errno(err, "copy /%s", path);
      off_t left = st.st_size;
      while (left > 0) {
        ssize_t c = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
        if (c < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL))
          c = sendfile(out, in, NULL, (size_t)left);
        if (c <= 0)
          return c < 0 ? berr_errno(err, "copy /%s", path)
                       : berr_set(err, EIO, "copy /%s: short read", path);
        left -= c;
      }
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX];
      ssize_t tn = readlinkat(sfd, *n, target, sizeof(target) - 1);
      if (tn < 0)
        return berr_errno(err, "readlink /%s", path);
      target[tn] = '\0';
      if (symlinkat(target, dfd, *n) < 0)
        return berr_errno(err, "symlink /%s", path);
    } else if (mknodat(dfd, *n, st.st_mode, st.st_rdev) < 0) {
      return berr_errno(err, "mknod /%s", path);
    }
    if (fchownat(dfd, *n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
      return berr_errno(err, "chown /%s", path);
    if (!S_ISLNK(st.st_mode) && fchmodat(dfd, *n, st.st_mode & 07777, 0) < 0)
      return berr_errno(err, "chmod /%s", path);
    copy_xattrs(sfd, *n, dfd, *n);
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    if (utimensat(dfd, *n, ts, AT_SYMLINK_NOFOLLOW) < 0)
      return berr_errno(err, "set times on /%s", path);
  }
  return 0;
}

int vfs_create(struct gd_driver *d, const char *id, const char *parent, struct berr *err)
{
  if (mkdirat(d->homefd, id, 0700) < 0)
    return berr_errno(err, "mkdir %s/%s", d->home, id);
  char p[300];
  snprintf(p, sizeof(p), "%s/dir", id);
  if (mkdirat(d->homefd, p, 0755) < 0)
    return berr_errno(err, "mkdir %s/%s", d->home, p);
  if (!parent)
    return 0;
  char pp[300];
  snprintf(pp, sizeof(pp), "%s/dir", parent);
  _cleanup_close_ int sfd = openat(d->homefd, pp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_close_ int dfd = openat(d->homefd, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (sfd < 0 || dfd < 0)
    return berr_errno(err, "open layer dirs");
  struct stat st;
  if (fstat(sfd, &st) == 0) {
    if (fchown(dfd, st.st_uid, st.st_gid) < 0 || fchmod(dfd, st.st_mode & 07777) < 0)
      return berr_errno(err, "copy root of %s", parent);
  }
  struct inomap links = {0};
  int r = copy_tree(sfd, dfd, "", dfd, &links, err);
  for (size_t i = 0; i < links.n; i++)
    free(links.v[i].path);
  free(links.v);
  if (r < 0)
    return r;
  return gd_write_small(d, id, "parent", parent, err);
}

static bool same_file(int afd, const char *name, const struct stat *a, int bfd,
                      const struct stat *b)
{
  if ((a->st_mode & S_IFMT) != (b->st_mode & S_IFMT) || a->st_mode != b->st_mode ||
      a->st_uid != b->st_uid || a->st_gid != b->st_gid || a->st_rdev != b->st_rdev)
    return false;
  if (S_ISDIR(a->st_mode))
    return a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
  if (a->st_size != b->st_size || a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
      a->st_mtim.tv_nsec != b->st_mtim.tv_nsec)
    return false;
  if (S_ISLNK(a->st_mode)) {
    char ta[PATH_MAX], tb[PATH_MAX];
    ssize_t na = readlinkat(afd, name, ta, sizeof(ta));
    ssize_t nb = readlinkat(bfd, name, tb, sizeof(tb));
    return na == nb && na >= 0 && memcmp(ta, tb, (size_t)na) == 0;
  }
  return true;
}

struct vwalk {
  struct gd_changelist *changes;
  struct gd_tarw *w;
};

/* Compares layer dir `cfd` with parent dir `pfd` (-1 when the parent has no such dir). */
static int compare(struct vwalk *wk, int cfd, int pfd, const char *prefix, struct berr *err)
{
  _cleanup_strv_ char **names = NULL;
  int r = gd_list_dir(cfd, &names);
  if (r < 0)
    return berr_set(err, -r, "list /%s", prefix);
  for (char **n = names; *n; n++) {
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "%s%s%s", prefix, *prefix ? "/" : "", *n) < 0)
      return berr_set(err, ENOMEM, "diff");
    struct stat cs, ps;
    if (fstatat(cfd, *n, &cs, AT_SYMLINK_NOFOLLOW) < 0)
      return berr_errno(err, "stat /%s", path);
    bool inparent = pfd >= 0 && fstatat(pfd, *n, &ps, AT_SYMLINK_NOFOLLOW) == 0;
    bool same = inparent && same_file(cfd, *n, &cs, pfd, &ps);
    bool typechange = inparent && (cs.st_mode & S_IFMT) != (ps.st_mode & S_IFMT);
    if (!same) {
      if (wk->changes) {
        if (gd_changelist_add(wk->changes, path, inparent ? GD_CHANGE_MODIFY : GD_CHANGE_ADD) < 0)
          return berr_set(err, ENOMEM, "diff");
      } else if ((r = gd_tarw_add(wk->w, cfd, *n, path, &cs, err)) < 0) {
        return r;
      }
    }
    if (S_ISDIR(cs.st_mode)) {
      _cleanup_close_ int c2 = openat(cfd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      _cleanup_close_ int p2 =
          inparent && !typechange ? openat(pfd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                                  : -1;
      if (c2 < 0)
        return berr_errno(err, "open /%s", path);
      if (!same && typechange && !wk->changes && (r = gd_tarw_opaque(wk->w, path, err)) < 0)
        return r;
      if ((r = compare(wk, c2, p2, path, err)) < 0)
        return r;
    }
  }
  if (pfd < 0)
    return 0;
  /* what the parent has and this layer lost */
  _cleanup_strv_ char **pnames = NULL;
  if ((r = gd_list_dir(pfd, &pnames)) < 0)
    return berr_set(err, -r, "list parent /%s", prefix);
  for (char **n = pnames; *n; n++) {
    struct stat cs;
    if (fstatat(cfd, *n, &cs, AT_SYMLINK_NOFOLLOW) == 0)
      continue;
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "%s%s%s", prefix, *prefix ? "/" : "", *n) < 0)
      return berr_set(err, ENOMEM, "diff");
    if (wk->changes)
      r = gd_changelist_add(wk->changes, path, GD_CHANGE_DELETE) < 0 ? berr_set(err, ENOMEM, "diff")
                                                                     : 0;
    else
      r = gd_tarw_whiteout(wk->w, path, err);
    if (r < 0)
      return r;
  }
  return 0;
}

static int vfs_walk(struct gd_driver *d, const char *id, struct vwalk *wk, struct berr *err)
{
  _cleanup_free_ char *parent = NULL;
  int r = gd_read_parent(d, id, &parent, err);
  if (r < 0)
    return r;
  char c[300], p[300];
  snprintf(c, sizeof(c), "%s/dir", id);
  _cleanup_close_ int cfd = openat(d->homefd, c, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cfd < 0)
    return berr_errno(err, "open layer %s", id);
  _cleanup_close_ int pfd = -1;
  if (parent) {
    snprintf(p, sizeof(p), "%s/dir", parent);
    pfd = openat(d->homefd, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
      return berr_errno(err, "open layer %s", parent);
  }
  return compare(wk, cfd, pfd, "", err);
}

int vfs_changes(struct gd_driver *d, const char *id, struct gd_change **out, size_t *n,
                struct berr *err)
{
  struct gd_changelist l = {0};
  struct vwalk wk = {.changes = &l};
  int r = vfs_walk(d, id, &wk, err);
  if (r < 0) {
    gd_changes_free(l.v, l.n);
    return r;
  }
  gd_changelist_sort(&l);
  *out = l.v;
  *n = l.n;
  return 0;
}

int vfs_diff(struct gd_driver *d, const char *id, int fd, const struct gd_id_unmap *m,
             struct berr *err)
{
  struct vwalk wk = {0};
  int r = gd_tarw_open(fd, &wk.w, err);
  if (r < 0)
    return r;
  gd_tarw_set_unmap(wk.w, m);
  if ((r = vfs_walk(d, id, &wk, err)) < 0) {
    gd_tarw_abort(wk.w);
    return r;
  }
  return gd_tarw_close(wk.w, err);
}

/* Driver selection and the calls common to overlay2 and vfs. */
#include "driver_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileutil.h"

bool gd_id_valid(const char *id)
{
  if (!id || !*id || strlen(id) > 128 || !strcmp(id, ".") || !strcmp(id, "..") || !strcmp(id, "l"))
    return false;
  for (const char *p = id; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          *p == '_' || *p == '.' || *p == '-'))
      return false;
  return true;
}

char *gd_path(struct gd_driver *d, const char *id, const char *sub)
{
  char *p = NULL;
  if (asprintf(&p, "%s/%s%s%s", d->home, id, sub ? "/" : "", sub ? sub : "") < 0)
    return NULL;
  return p;
}

int gd_write_small(struct gd_driver *d, const char *id, const char *file, const char *value,
                   struct berr *err)
{
  _cleanup_free_ char *p = gd_path(d, id, file);
  if (!p)
    return berr_set(err, ENOMEM, "layer %s", id);
  /* No fsync: an image layer's files are made durable by the syncfs before its record is
   * committed (graph/register.c); a container's writable layer, like Docker's, is not. */
  return bf_write_atomic_volatile(p, value, strlen(value), 0600, err);
}

int gd_read_small(struct gd_driver *d, const char *id, const char *file, char **value,
                  struct berr *err)
{
  _cleanup_free_ char *p = gd_path(d, id, file);
  if (!p)
    return berr_set(err, ENOMEM, "layer %s", id);
  size_t len;
  return bf_read_all(p, value, &len, err);
}

int gd_read_parent(struct gd_driver *d, const char *id, char **parent, struct berr *err)
{
  *parent = NULL;
  _cleanup_free_ char *p = gd_path(d, id, "parent");
  if (!p)
    return berr_set(err, ENOMEM, "layer %s", id);
  if (access(p, F_OK) < 0)
    return errno == ENOENT ? 0 : berr_errno(err, "layer %s", id);
  return gd_read_small(d, id, "parent", parent, err);
}

int gd_du(int dirfd, int64_t *size)
{
  _cleanup_strv_ char **names = NULL;
  extern int gd_list_dir(int, char ***);
  int r = gd_list_dir(dirfd, &names);
  if (r < 0)
    return r;
  for (char **n = names; *n; n++) {
    struct stat st;
    if (fstatat(dirfd, *n, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
      *size += st.st_size;
    if (S_ISDIR(st.st_mode)) {
      _cleanup_close_ int sub = openat(dirfd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub >= 0)
        gd_du(sub, size);
    }
  }
  return 0;
}

int gd_driver_open(const char *name, const char *home, struct gd_driver **out, struct berr *err)
{
  enum gd_kind kind;
  int r = bf_mkdir_p(home, 0700, err);
  if (r < 0)
    return r;
  if (!name || !*name) {
    kind = ovl_supported(home) == 0 ? GD_OVERLAY2 : GD_VFS;
  } else if (!strcmp(name, "overlay2") || !strcmp(name, "overlay")) {
    if ((r = ovl_supported(home)) < 0)
      return berr_set(err, -r, "graphdriver overlay2: overlay cannot be mounted on %s", home);
    kind = GD_OVERLAY2;
  } else if (!strcmp(name, "vfs")) {
    kind = GD_VFS;
  } else {
    return berr_set(err, 0, "unknown graphdriver \"%s\" (known: overlay2, vfs)", name);
  }
  struct gd_driver *d = calloc(1, sizeof(*d));
  /* absolute: the overlay mount helper changes directory */
  if (!d || !(d->home = realpath(home, NULL))) {
    free(d);
    return berr_set(err, ENOMEM, "graphdriver");
  }
  d->kind = kind;
  d->homefd = open(home, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d->homefd < 0) {
    r = berr_errno(err, "open %s", home);
    free(d->home);
    free(d);
    return r;
  }
  if (kind == GD_OVERLAY2) {
    _cleanup_free_ char *l = NULL;
    if (asprintf(&l, "%s/l", home) < 0 || (r = bf_mkdir_p(l, 0700, err)) < 0) {
      gd_driver_close(d);
      return r < 0 ? r : berr_set(err, ENOMEM, "graphdriver");
    }
  }
  *out = d;
  return 0;
}

void gd_driver_close(struct gd_driver *d)
{
  if (!d)
    return;
  if (d->homefd >= 0)
    close(d->homefd);
  free(d->home);
  free(d);
}

const char *gd_driver_name(const struct gd_driver *d)
{
  return d->kind == GD_OVERLAY2 ? "overlay2" : "vfs";
}

bool gd_driver_parallel_apply(const struct gd_driver *d)
{
  return d->kind == GD_OVERLAY2;
}

int gd_create(struct gd_driver *d, const char *id, const char *parent, struct berr *err)
{
  if (!gd_id_valid(id))
    return berr_set(err, 0, "invalid layer id \"%s\"", id ? id : "");
  if (parent && !gd_id_valid(parent))
    return berr_set(err, 0, "invalid parent layer id \"%s\"", parent);
  if (parent && !gd_exists(d, parent))
    return berr_set(err, ENOENT, "create layer %s: parent %s", id, parent);
  if (gd_exists(d, id))
    return berr_set(err, EEXIST, "create layer %s", id);
  int r = d->kind == GD_OVERLAY2 ? ovl_create(d, id, parent, err) : vfs_create(d, id, parent, err);
  if (r < 0) {
    struct berr ignored;
    gd_remove(d, id, &ignored);
    return berr_wrap(err, "create layer %s", id);
  }
  return 0;
}

bool gd_exists(struct gd_driver *d, const char *id)
{
  if (!gd_id_valid(id))
    return false;
  struct stat st;
  return fstatat(d->homefd, id, &st, 0) == 0 && S_ISDIR(st.st_mode);
}

static const char *content_dir(struct gd_driver *d)
{
  return d->kind == GD_OVERLAY2 ? "diff" : "dir";
}

int gd_apply_diff(struct gd_driver *d, const char *id, struct gd_tar_source *src, int64_t *size,
                  struct berr *err)
{
  if (!gd_exists(d, id))
    return berr_set(err, ENOENT, "apply layer %s", id);
  _cleanup_free_ char *p = gd_path(d, id, content_dir(d));
  if (!p)
    return berr_set(err, ENOMEM, "apply layer %s", id);
  _cleanup_close_ int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return berr_errno(err, "open %s", p);
  struct gd_extract_opts o = {
      .whiteouts = d->kind == GD_OVERLAY2 ? GD_WHITEOUT_OVERLAY : GD_WHITEOUT_DELETE,
  };
  return gd_extract(fd, src, &o, size, err);
}

int gd_get(struct gd_driver *d, const char *id, char **path, struct berr *err)
{
  if (!gd_exists(d, id))
    return berr_set(err, ENOENT, "layer %s", id);
  if (d->kind == GD_OVERLAY2)
    return ovl_get(d, id, NULL, path, err);
  *path = gd_path(d, id, "dir");
  return *path ? 0 : berr_set(err, ENOMEM, "layer %s", id);
}

int gd_get_mapped(struct gd_driver *d, const char *id, const char *lower_home, char **path,
                  struct berr *err)
{
  if (!gd_exists(d, id))
    return berr_set(err, ENOENT, "layer %s", id);
  if (d->kind != GD_OVERLAY2)
    return berr_set(err, ENOTSUP, "user namespace remapping needs the overlay2 storage driver");
  return ovl_get(d, id, lower_home, path, err);
}

const char *gd_home(const struct gd_driver *d)
{
  return d->home;
}

int gd_put(struct gd_driver *d, const char *id, struct berr *err)
{
  if (!gd_id_valid(id))
    return berr_set(err, 0, "invalid layer id \"%s\"", id ? id : "");
  return d->kind == GD_OVERLAY2 ? ovl_put(d, id, err) : 0;
}

int gd_remove(struct gd_driver *d, const char *id, struct berr *err)
{
  if (!gd_id_valid(id))
    return berr_set(err, 0, "invalid layer id \"%s\"", id ? id : "");
  if (d->kind == GD_OVERLAY2)
    return ovl_remove(d, id, err);
  _cleanup_free_ char *p = gd_path(d, id, NULL);
  return p ? bf_rm_rf(p, err) : berr_set(err, ENOMEM, "remove layer %s", id);
}

int gd_layer_size(struct gd_driver *d, const char *id, int64_t *size, struct berr *err)
{
  _cleanup_free_ char *p = gd_path(d, id, content_dir(d));
  if (!p)
    return berr_set(err, ENOMEM, "layer %s", id);
  _cleanup_close_ int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return berr_errno(err, "open %s", p);
  *size = 0;
  int r = gd_du(fd, size);
  return r < 0 ? berr_set(err, -r, "size of layer %s", id) : 0;
}

void gd_changes_free(struct gd_change *c, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(c[i].path);
  free(c);
}

int gd_changelist_add(struct gd_changelist *l, const char *path, enum gd_change_kind kind)
{
  if (l->n == l->cap) {
    size_t ncap = l->cap ? l->cap * 2 : 32;
    struct gd_change *nv = realloc(l->v, ncap * sizeof(*nv));
    if (!nv)
      return -ENOMEM;
    l->v = nv;
    l->cap = ncap;
  }
  if (asprintf(&l->v[l->n].path, "/%s", path) < 0)
    return -ENOMEM;
  l->v[l->n++].kind = kind;
  return 0;
}

static int cmpchange(const void *a, const void *b)
{
  return strcmp(((const struct gd_change *)a)->path, ((const struct gd_change *)b)->path);
}

void gd_changelist_sort(struct gd_changelist *l)
{
  if (l->n)
    qsort(l->v, l->n, sizeof(*l->v), cmpchange);
}

int gd_changes(struct gd_driver *d, const char *id, struct gd_change **out, size_t *n,
               struct berr *err)
{
  if (!gd_exists(d, id))
    return berr_set(err, ENOENT, "changes of layer %s", id);
  return d->kind == GD_OVERLAY2 ? ovl_changes(d, id, out, n, err) : vfs_changes(d, id, out, n, err);
}

int gd_diff(struct gd_driver *d, const char *id, int fd, struct berr *err)
{
  return gd_diff_unmapped(d, id, fd, NULL, err);
}

int gd_diff_unmapped(struct gd_driver *d, const char *id, int fd, const struct gd_id_unmap *m,
                     struct berr *err)
{
  if (!gd_exists(d, id))
    return berr_set(err, ENOENT, "diff of layer %s", id);
  return d->kind == GD_OVERLAY2 ? ovl_diff(d, id, fd, m, err) : vfs_diff(d, id, fd, m, err);
}

#include "tarwriter.h"

int gd_export(struct gd_driver *d, const char *id, int fd, struct berr *err)
{
  return gd_export_unmapped(d, id, fd, NULL, err);
}

int gd_export_unmapped(struct gd_driver *d, const char *id, int fd, const struct gd_id_unmap *m,
                       struct berr *err)
{
  _cleanup_free_ char *root = NULL;
  /* a rootfs mounted by its container stays mounted */
  bool was_mounted = d->kind == GD_OVERLAY2 && ovl_mounted(d, id);
  int r = gd_get(d, id, &root, err);
  if (r < 0)
    return berr_wrap(err, "export %s", id);
  _cleanup_close_ int rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct gd_tarw *w = NULL;
  if (rfd < 0)
    r = berr_errno(err, "open %s", root);
  else if ((r = gd_tarw_open(fd, &w, err)) == 0) {
    gd_tarw_set_unmap(w, m);
    r = gd_tarw_add_tree(w, rfd, "", err);
    if (r == 0)
      r = gd_tarw_close(w, err);
    else
      gd_tarw_abort(w);
  }
  struct berr e2;
  if (!was_mounted)
    gd_put(d, id, r < 0 ? &e2 : err);
  return r < 0 ? berr_wrap(err, "export %s", id) : 0;
}

int gd_cleanup(struct gd_driver *d, bool (*keep)(void *ud, const char *id), void *ud,
               struct berr *err)
{
  _cleanup_strv_ char **names = NULL;
  int r = gd_list_dir(d->homefd, &names);
  if (r < 0)
    return berr_set(err, -r, "list %s", d->home);
  for (char **n = names; *n; n++) {
    if (!strcmp(*n, "l"))
      continue;
    if (!gd_id_valid(*n) || !keep(ud, *n)) {
      if (gd_id_valid(*n)) {
        if ((r = gd_remove(d, *n, err)) < 0)
          return r;
      } else if ((r = gd_remove_at(d->homefd, *n)) < 0) {
        return berr_set(err, -r, "remove %s/%s", d->home, *n);
      }
    }
  }
  if (d->kind != GD_OVERLAY2)
    return 0;
  /* short links whose layer is gone */
  _cleanup_close_ int lfd = openat(d->homefd, "l", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  _cleanup_strv_ char **links = NULL;
  if (lfd < 0 || gd_list_dir(lfd, &links) < 0)
    return 0;
  for (char **n = links; *n; n++) {
    struct stat st;
    if (fstatat(lfd, *n, &st, 0) < 0)
      unlinkat(lfd, *n, 0);
  }
  return 0;
}

/* Mount points of a container: Docker's Binds/Mounts/Tmpfs/VolumesFrom/Volumes resolved at
 * create, OCI mount entries built at start, copy-up of image content into empty volumes. */
#include "mounts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileutil.h"
#include "engine_internal.h"
#include "libcontainer/safepath.h"
#include "repository.h"
#include "volumes.h"

static const char *const propagations[] = {"private", "rprivate", "shared", "rshared",
                                           "slave",   "rslave",   NULL};

static bool is_propagation(const char *s)
{
  for (size_t i = 0; propagations[i]; i++)
    if (strcmp(s, propagations[i]) == 0)
      return true;
  return false;
}

static json_t *find_dest(json_t *mounts, const char *dest)
{
  size_t i;
  json_t *m;
  json_array_foreach(mounts, i, m)
  {
    const char *d = json_string_value(json_object_get(m, "Destination"));
    if (d && strcmp(d, dest) == 0)
      return m;
  }
  return NULL;
}

/* "/a//b/" -> "/a/b" in place. */
static void clean_path(char *p)
{
  char *w = p;
  for (char *r = p; *r; r++)
    if (!(*r == '/' && w > p && w[-1] == '/'))
      *w++ = *r;
  *w = '\0';
  if (w > p + 1 && w[-1] == '/')
    w[-1] = '\0';
}

static int add_point(json_t *mounts, json_t *m, bool replace, struct berr *err)
{
  const char *dest = json_string_value(json_object_get(m, "Destination"));
  json_t *old = find_dest(mounts, dest);
  if (old && !replace) {
    berr_set(err, 0, "Duplicate mount point: %s", dest);
    json_decref(m);
    return -EINVAL;
  }
  if (old) {
    size_t i;
    json_t *x;
    json_array_foreach(mounts, i, x)
    {
      if (x == old) {
        json_array_set_new(mounts, i, m);
        return 0;
      }
    }
  }
  json_array_append_new(mounts, m);
  return 0;
}

static int volume_point(struct engine *e, const char *name, const char *dest, bool rw,
                        const char *mode, json_t *labels, json_t *opts, json_t *made, json_t **out,
                        struct berr *err)
{
  json_auto_t *vol = NULL;
  struct berr probe;
  bool existed = name && *name && vol_get(e, name, &vol, &probe) == 0;
  if (!existed && vol_create(e, name, "local", labels, opts, !name || !*name, &vol, err) < 0)
    return -err->code;
  const char *vname = json_string_value(json_object_get(vol, "Name"));
  /* Made here: removed again if a later mount point of the same request is refused. */
  if (!existed)
    json_array_append_new(made, json_string(vname));
  *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "volume", "Name", vname, "Source",
                   json_string_value(json_object_get(vol, "Mountpoint")), "Destination", dest,
                   "Driver", "local", "Mode", mode, "RW", rw, "Propagation", "");
  return 0;
}

/* -v src:dst[:opts] (src a host path or a volume name) */
static int parse_bind(struct engine *e, const char *spec, json_t *mounts, json_t *made,
                      struct berr *err)
{
  _cleanup_free_ char *s = strdup(spec);
  if (!s)
    return berr_set(err, ENOMEM, "bind");
  char *parts[4] = {0};
  int n = 0;
  for (char *p = s, *save = NULL, *t; n < 4 && (t = strtok_r(p, ":", &save)); p = NULL)
    parts[n++] = t;
  if (n < 2 || n > 3 || strchr(spec, ':') == spec)
    return berr_set(err, 0, "invalid volume specification: '%s'", spec);
  char *src = parts[0], *dst = parts[1], *opts = n == 3 ? parts[2] : "";
  if (dst[0] != '/')
    return berr_set(err, 0,
                    "invalid volume specification: '%s': invalid mount config for type "
                    "\"volume\": invalid mount path: '%s' mount path must be absolute",
                    spec, dst);
  clean_path(dst);
  bool rw = true, nocopy = false;
  const char *prop = "";
  _cleanup_free_ char *ocopy = strdup(opts);
  for (char *p = ocopy, *save = NULL, *t; (t = strtok_r(p, ",", &save)); p = NULL) {
    if (strcmp(t, "ro") == 0)
      rw = false;
    else if (strcmp(t, "rw") == 0)
      rw = true;
    else if (strcmp(t, "nocopy") == 0)
      nocopy = true;
    else if (is_propagation(t))
      prop = opts + (t - ocopy);
    else if (strcmp(t, "z") && strcmp(t, "Z") && strcmp(t, "consistent") && strcmp(t, "cached") &&
             strcmp(t, "delegated"))
      return berr_set(err, 0, "invalid mode: %s", opts);
  }
  char propbuf[16] = "";
  if (*prop)
    snprintf(propbuf, sizeof(propbuf), "%.*s", (int)strcspn(prop, ","), prop);
  json_t *m;
  if (src[0] == '/') {
    clean_path(src);
    if (nocopy)
      return berr_set(err, 0, "invalid mode: %s", opts);
    /* -v makes a missing host directory, as Docker does (--mount refuses). */
    struct stat st;
    if (stat(src, &st) < 0 && bf_mkdir_p(src, 0755, err) < 0)
      return berr_wrap(err, "create bind source");
    m = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "bind", "Source", src, "Destination", dst,
                  "Mode", opts, "RW", rw, "Propagation", propbuf[0] ? propbuf : "rprivate");
  } else {
    if (propbuf[0])
      return berr_set(err, 0, "invalid mode: %s", opts);
    if (volume_point(e, src, dst, rw, *opts ? opts : "z", NULL, NULL, made, &m, err) < 0)
      return -err->code;
  }
  return add_point(mounts, m, false, err);
}

/* HostConfig.Mounts entry (Docker's mount.Mount). */
static int parse_mount(struct engine *e, json_t *mo, json_t *mounts, json_t *made, struct berr *err)
{
  const char *type = json_string_value(json_object_get(mo, "Type"));
  const char *src = json_string_value(json_object_get(mo, "Source"));
  const char *tgt = json_string_value(json_object_get(mo, "Target"));
  bool ro = json_is_true(json_object_get(mo, "ReadOnly"));
  if (!type || !*type)
    type = "volume";
  if (!tgt || !*tgt)
    return berr_set(err, 0, "invalid mount config: Target must not be empty");
  if (tgt[0] != '/')
    return berr_set(err, 0,
                    "invalid mount config for type \"%s\": invalid mount path: '%s' mount path "
                    "must be absolute",
                    type, tgt);
  char dst[PATH_MAX];
  snprintf(dst, sizeof(dst), "%s", tgt);
  clean_path(dst);
  json_t *m = NULL;
  if (strcmp(type, "bind") == 0) {
    if (!src || !*src)
      return berr_set(err, 0,
                      "invalid mount config for type \"bind\": field Source must not be "
                      "empty");
    if (src[0] != '/')
      return berr_set(err, 0,
                      "invalid mount config for type \"bind\": invalid mount path: '%s' mount "
                      "path must be absolute",
                      src);
    struct stat st;
    if (stat(src, &st) < 0)
      return berr_set(err, 0,
                      "invalid mount config for type \"bind\": bind source path does not exist: %s",
                      src);
    json_t *bo = json_object_get(mo, "BindOptions");
    const char *prop = json_string_value(json_object_get(bo, "Propagation"));
    if (prop && *prop && !is_propagation(prop))
      return berr_set(err, 0, "invalid propagation mode: %s", prop);
    char srcc[PATH_MAX];
    snprintf(srcc, sizeof(srcc), "%s", src);
    clean_path(srcc);
    m = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "bind", "Source", srcc, "Destination", dst,
                  "Mode", "", "RW", !ro, "Propagation", prop && *prop ? prop : "rprivate");
  } else if (strcmp(type, "volume") == 0) {
    if (json_object_get(mo, "BindOptions") && !json_is_null(json_object_get(mo, "BindOptions")))
      return berr_set(err, 0,
                      "invalid mount config for type \"volume\": BindOptions must not be "
                      "specified");
    json_t *vo = json_object_get(mo, "VolumeOptions");
    json_t *dc = json_object_get(vo, "DriverConfig");
    const char *drv = json_string_value(json_object_get(dc, "Name"));
    if (drv && *drv && strcmp(drv, "local") != 0)
      return berr_set(err, 0, "plugin \"%s\" not found", drv);
    if (volume_point(e, src, dst, !ro, "z", json_object_get(vo, "Labels"),
                     json_object_get(dc, "Options"), made, &m, err) < 0)
      return -err->code;
  } else if (strcmp(type, "tmpfs") == 0) {
    if (src && *src)
      return berr_set(err, 0,
                      "invalid mount config for type \"tmpfs\": field Source must not be "
                      "specified");
    m = json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "tmpfs", "Source", "", "Destination", dst,
                  "Mode", "", "RW", !ro, "Propagation", "");
  } else {
    return berr_set(err, 0, "mount type unknown: \"%s\"", type);
  }
  return add_point(mounts, m, false, err);
}

/* --volumes-from C[:ro|rw]: C's mount points, read-only when asked. */
static int volumes_from(struct engine *e, const char *spec, json_t *mounts, struct berr *err)
{
  _cleanup_free_ char *s = strdup(spec);
  char *colon = strchr(s, ':');
  const char *mode = NULL;
  if (colon) {
    *colon = 0;
    mode = colon + 1;
    if (strcmp(mode, "ro") && strcmp(mode, "rw"))
      return berr_set(err, 0, "invalid mode for volumes-from: %s", mode);
  }
  struct container *src = repo_find(e, s, err);
  if (!src)
    return -err->code;
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(src->doc, "Mounts"), i, m)
  {
    const char *t = json_string_value(json_object_get(m, "Type"));
    if (t && strcmp(t, "tmpfs") == 0)
      continue; /* a tmpfs belongs to its container */
    json_t *copy = json_deep_copy(m);
    if (mode) {
      json_object_set_new(copy, "RW", json_boolean(strcmp(mode, "rw") == 0));
      json_object_set_new(copy, "Mode", json_string(mode));
    }
    if (add_point(mounts, copy, true, err) < 0)
      return -err->code;
  }
  return 0;
}

static void remove_made(struct engine *e, json_t *made)
{
  size_t i;
  json_t *n;
  struct berr ignored;
  json_array_foreach(made, i, n)
  {
    vol_remove(e, json_string_value(n), true, &ignored);
  }
}

int mounts_resolve(struct engine *e, json_t *config, json_t *host, json_t **out, struct berr *err)
{
  json_auto_t *mounts = json_array();
  json_auto_t *made = json_array();
  json_auto_t *own = json_array();
  size_t i;
  json_t *v;
  int r = 0;
  pthread_mutex_lock(&e->lock);
  json_array_foreach(json_object_get(host, "VolumesFrom"), i, v)
  {
    if (!json_is_string(v) || (r = volumes_from(e, json_string_value(v), mounts, err)) < 0)
      goto fail;
  }
  /* Binds and Mounts override what volumes-from brought, but not each other. */
  json_array_foreach(json_object_get(host, "Binds"), i, v)
  {
    if (!json_is_string(v)) {
      r = berr_set(err, 0, "invalid bind: not a string");
      goto fail;
    }
    if ((r = parse_bind(e, json_string_value(v), own, made, err)) < 0)
      goto fail;
  }
  json_array_foreach(json_object_get(host, "Mounts"), i, v)
  {
    if ((r = parse_mount(e, v, own, made, err)) < 0)
      goto fail;
  }
  const char *k;
  json_object_foreach(json_object_get(host, "Tmpfs"), k, v)
  {
    if (k[0] != '/') {
      r = berr_set(err, 0, "invalid tmpfs destination: %s: mount path must be absolute", k);
      goto fail;
    }
    if (find_dest(own, k)) {
      r = berr_set(err, 0, "Duplicate mount point: %s", k);
      goto fail;
    }
  }
  json_array_foreach(own, i, v)
  {
    if ((r = add_point(mounts, json_incref(v), true, err)) < 0)
      goto fail;
  }
  /* The image's VOLUMEs and -v /path not otherwise mounted get anonymous volumes. */
  json_object_foreach(json_object_get(config, "Volumes"), k, v)
  {
    char dst[PATH_MAX];
    snprintf(dst, sizeof(dst), "%s", k);
    clean_path(dst);
    if (dst[0] != '/') {
      r = berr_set(err, 0, "invalid volume specification: '%s'", k);
      goto fail;
    }
    if (find_dest(mounts, dst) || json_object_get(json_object_get(host, "Tmpfs"), dst))
      continue;
    json_t *m;
    if ((r = volume_point(e, NULL, dst, true, "", NULL, NULL, made, &m, err)) < 0)
      goto fail;
    json_array_append_new(mounts, m);
  }
  pthread_mutex_unlock(&e->lock);
  *out = json_incref(mounts);
  return 0;
fail:
  remove_made(e, made);
  pthread_mutex_unlock(&e->lock);
  return r < 0 ? r : -EINVAL;
}

void mounts_remove_anonymous(struct engine *e, json_t *mounts)
{
  size_t i;
  json_t *m;
  json_array_foreach(mounts, i, m)
  {
    const char *t = json_string_value(json_object_get(m, "Type"));
    const char *n = json_string_value(json_object_get(m, "Name"));
    if (!t || !n || strcmp(t, "volume") != 0)
      continue;
    json_auto_t *vol = NULL;
    struct berr ignored;
    if (vol_get(e, n, &vol, &ignored) == 0 && vol_is_anonymous(vol))
      vol_remove(e, n, true, &ignored); /* refused while another container uses it */
  }
}

static bool used_by_live(struct engine *e, const struct container *c, const char *name)
{
  for (size_t i = 0; i < e->n_ctrs; i++) {
    struct container *o = e->ctrs[i];
    if (o == c || o->removed ||
        !(o->busy || o->state == CTR_RUNNING || o->state == CTR_PAUSED ||
          o->state == CTR_RESTARTING))
      continue;
    size_t k;
    json_t *m;
    json_array_foreach(json_object_get(o->doc, "Mounts"), k, m)
    {
      const char *n = json_string_value(json_object_get(m, "Name"));
      if (n && strcmp(n, name) == 0)
        return true;
    }
  }
  return false;
}

void mounts_after_exit(struct engine *e, struct container *c)
{
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(c->doc, "Mounts"), i, m)
  {
    const char *t = json_string_value(json_object_get(m, "Type"));
    const char *n = json_string_value(json_object_get(m, "Name"));
    if (!t || !n || strcmp(t, "volume") != 0)
      continue;
    events_emit(&e->events, "volume", "unmount", n,
                json_pack("{s:s,s:s}", "container", c->id, "driver", "local"));
    if (!used_by_live(e, c, n))
      vol_unmount(e, n);
  }
}

void mounts_release(struct engine *e, json_t *mounts)
{
  pthread_mutex_lock(&e->lock);
  mounts_remove_anonymous(e, mounts);
  pthread_mutex_unlock(&e->lock);
}

/* ---- start: copy-up and OCI entries ---- */

/* One copy-up: the volume's root, and the files with more than one link already copied
 * (by host inode), so a second name of one becomes a hard link again, as continuity's
 * CopyDir that dockerd uses. */
struct copy_ctx {
  int rootfd;
  struct copied_link {
    dev_t dev;
    ino_t ino;
    char *path; /* relative to the volume's root */
  } * links;
  size_t n_links, cap_links;
};

static void copy_ctx_free(struct copy_ctx *cx)
{
  for (size_t i = 0; i < cx->n_links; i++)
    free(cx->links[i].path);
  free(cx->links);
}

static const char *copied_link(struct copy_ctx *cx, const struct stat *st)
{
  for (size_t i = 0; i < cx->n_links; i++)
    if (cx->links[i].dev == st->st_dev && cx->links[i].ino == st->st_ino)
      return cx->links[i].path;
  return NULL;
}

static void remember_link(struct copy_ctx *cx, const struct stat *st, const char *path)
{
  if (cx->n_links == cx->cap_links) {
    size_t cap = cx->cap_links ? cx->cap_links * 2 : 16;
    struct copied_link *more = realloc(cx->links, cap * sizeof(*more));
    if (!more)
      return; /* a later name is copied instead of linked: still correct content */
    cx->links = more;
    cx->cap_links = cap;
  }
  char *dup = strdup(path);
  if (dup)
    cx->links[cx->n_links++] = (struct copied_link){st->st_dev, st->st_ino, dup};
}

static int copy_entry(struct copy_ctx *cx, int sfd, int dfd, const char *n, const char *rel,
                      struct berr *err);

static int copy_dir_contents(struct copy_ctx *cx, int sfd, int dfd, const char *rel,
                             struct berr *err)
{
  int dup_fd = dup(sfd);
  if (dup_fd < 0)
    return berr_errno(err, "copy-up");
  _cleanup_closedir_ DIR *d = fdopendir(dup_fd);
  if (!d) {
    close(dup_fd);
    return berr_errno(err, "copy-up");
  }
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    char sub[PATH_MAX];
    if (snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", de->d_name) >= (int)sizeof(sub))
      return berr_set(err, ENAMETOOLONG, "copy-up: %s/%s", rel, de->d_name);
    if (copy_entry(cx, sfd, dfd, de->d_name, sub, err) < 0)
      return -err->code;
  }
  return 0;
}

/* Extended attributes (user.*, and trusted.* or security.* where the kernel lets root copy
 * them); one the destination refuses is skipped, as continuity's copyXAttrs does. */
static int copy_xattrs(int sfd, int dfd, const char *n, bool is_link, struct berr *err)
{
  char sp[64], dp[64];
  if (is_link)
    return 0; /* only trusted.* could be on a symlink, and /proc paths would follow it */
  _cleanup_close_ int s = openat(sfd, n, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  _cleanup_close_ int d = openat(dfd, n, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (s < 0 || d < 0)
    return berr_errno(err, "copy-up: open %s", n);
  snprintf(sp, sizeof(sp), "/proc/self/fd/%d", s);
  snprintf(dp, sizeof(dp), "/proc/self/fd/%d", d);
  char names[8192];
  ssize_t len = listxattr(sp, names, sizeof(names));
  if (len < 0)
    return errno == ENOTSUP ? 0 : berr_errno(err, "copy-up: list xattrs of %s", n);
  for (char *k = names; k < names + len; k += strlen(k) + 1) {
    char val[65536];
    ssize_t vl = getxattr(sp, k, val, sizeof(val));
    if (vl < 0)
      continue;
    if (setxattr(dp, k, val, (size_t)vl, 0) < 0 && errno != EPERM && errno != ENOTSUP &&
        errno != EOPNOTSUPP)
      return berr_errno(err, "copy-up: set %s on %s", k, n);
  }
  return 0;
}

static int copy_meta(int dfd, const char *n, const struct stat *st, int sfd, struct berr *err)
{
  if (fchownat(dfd, n, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0)
    return berr_errno(err, "copy-up: chown %s", n);
  if (!S_ISLNK(st->st_mode) && fchmodat(dfd, n, st->st_mode & 07777, 0) < 0)
    return berr_errno(err, "copy-up: chmod %s", n);
  /* After the chown, which would drop a security.capability set before it. */
  if (copy_xattrs(sfd, dfd, n, S_ISLNK(st->st_mode), err) < 0)
    return -err->code;
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  utimensat(dfd, n, ts, AT_SYMLINK_NOFOLLOW);
  return 0;
}

static int copy_entry(struct copy_ctx *cx, int sfd, int dfd, const char *n, const char *rel,
                      struct berr *err)
{
  struct stat st;
  if (fstatat(sfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return berr_errno(err, "copy-up: stat %s", n);
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
    const char *first = copied_link(cx, &st);
    if (first) {
      if (linkat(cx->rootfd, first, dfd, n, 0) < 0)
        return berr_errno(err, "copy-up: link %s to %s", rel, first);
      return 0;
    }
  }
  if (S_ISDIR(st.st_mode)) {
    if (mkdirat(dfd, n, 0700) < 0 && errno != EEXIST)
      return berr_errno(err, "copy-up: mkdir %s", n);
    _cleanup_close_ int s2 = openat(sfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    _cleanup_close_ int d2 = openat(dfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s2 < 0 || d2 < 0)
      return berr_errno(err, "copy-up: open %s", n);
    if (copy_dir_contents(cx, s2, d2, rel, err) < 0)
      return -err->code;
  } else if (S_ISREG(st.st_mode)) {
    _cleanup_close_ int in = openat(sfd, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    _cleanup_close_ int out =
        openat(dfd, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (in < 0 || out < 0)
      return berr_errno(err, "copy-up: %s", n);
    off_t left = st.st_size;
    while (left > 0) {
      ssize_t c = sendfile(out, in, NULL, (size_t)left);
      if (c <= 0)
        return c < 0 ? berr_errno(err, "copy-up: %s", n)
                     : berr_set(err, EIO, "copy-up: %s: short read", n);
      left -= c;
    }
  } else if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t tn = readlinkat(sfd, n, target, sizeof(target) - 1);
    if (tn < 0)
      return berr_errno(err, "copy-up: readlink %s", n);
    target[tn] = '\0';
    if (symlinkat(target, dfd, n) < 0)
      return berr_errno(err, "copy-up: symlink %s", n);
  } else if (mknodat(dfd, n, st.st_mode, st.st_rdev) < 0) {
    return berr_errno(err, "copy-up: mknod %s", n);
  }
  if (!S_ISDIR(st.st_mode) && st.st_nlink > 1)
    remember_link(cx, &st, rel);
  return copy_meta(dfd, n, &st, sfd, err);
}

static bool dir_empty(int fd)
{
  int d2 = dup(fd);
  if (d2 < 0)
    return false;
  _cleanup_closedir_ DIR *d = fdopendir(d2);
  if (!d) {
    close(d2);
    return false;
  }
  struct dirent *de;
  while ((de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      return false;
  return true;
}

/* Docker's copy-up: an empty volume first mounted where the image has content gets that
 * content, with its modes and owners (the directory's own too). */
static int copy_up(int rootfd, const char *dest, const char *volpath, struct berr *err)
{
  _cleanup_close_ int dfd = open(volpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return berr_errno(err, "open volume %s", volpath);
  if (!dir_empty(dfd))
    return 0;
  struct berr missing;
  _cleanup_close_ int sfd = lc_safe_open(rootfd, dest, O_RDONLY | O_DIRECTORY, 0, &missing);
  if (sfd < 0)
    return 0; /* nothing in the image there */
  struct copy_ctx cx = {.rootfd = dfd};
  int r = copy_dir_contents(&cx, sfd, dfd, "", err);
  copy_ctx_free(&cx);
  if (r < 0)
    return berr_wrap(err, "copy image content to volume");
  struct stat st;
  if (fstat(sfd, &st) == 0) {
    if (fchown(dfd, st.st_uid, st.st_gid) < 0 || fchmod(dfd, st.st_mode & 07777) < 0)
      return berr_errno(err, "copy-up: set owner of %s", volpath);
  }
  return 0;
}

static bool wants_nocopy(json_t *host, const char *dest)
{
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(host, "Mounts"), i, v)
  {
    const char *t = json_string_value(json_object_get(v, "Target"));
    if (t && strcmp(t, dest) == 0 &&
        json_is_true(json_object_get(json_object_get(v, "VolumeOptions"), "NoCopy")))
      return true;
  }
  json_array_foreach(json_object_get(host, "Binds"), i, v)
  {
    const char *s = json_string_value(v);
    const char *c1 = s ? strchr(s, ':') : NULL;
    if (!c1)
      continue;
    size_t dl = strcspn(c1 + 1, ":");
    if (dl == strlen(dest) && strncmp(c1 + 1, dest, dl) == 0 && strstr(c1 + 1 + dl, "nocopy"))
      return true;
  }
  return false;
}

static json_t *tmpfs_opts(json_t *host, const char *dest, bool rw)
{
  json_t *o = json_pack("[s,s,s]", "nosuid", "nodev", "noexec");
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(host, "Mounts"), i, v)
  {
    const char *t = json_string_value(json_object_get(v, "Target"));
    if (!t || strcmp(t, dest) != 0)
      continue;
    json_t *to = json_object_get(v, "TmpfsOptions");
    json_int_t size = json_integer_value(json_object_get(to, "SizeBytes"));
    json_int_t mode = json_integer_value(json_object_get(to, "Mode"));
    char buf[64];
    if (size > 0) {
      snprintf(buf, sizeof(buf), "size=%lld", (long long)size);
      json_array_append_new(o, json_string(buf));
    }
    if (mode > 0) {
      snprintf(buf, sizeof(buf), "mode=%llo", (unsigned long long)mode);
      json_array_append_new(o, json_string(buf));
    }
  }
  if (!rw)
    json_array_append_new(o, json_string("ro"));
  return o;
}

static size_t depth(const char *p)
{
  size_t n = 0;
  for (; *p; p++)
    n += *p == '/';
  return n;
}

static int by_depth(const void *a, const void *b)
{
  json_t *ma = *(json_t *const *)a, *mb = *(json_t *const *)b;
  size_t da = depth(json_string_value(json_object_get(ma, "destination")));
  size_t db = depth(json_string_value(json_object_get(mb, "destination")));
  return da < db ? -1 : da > db;
}

int mounts_oci(struct engine *e, struct container *c, const char *rootfs, json_t **out,
               struct berr *err)
{
  pthread_mutex_lock(&e->lock);
  json_auto_t *points = json_deep_copy(json_object_get(c->doc, "Mounts"));
  json_auto_t *host = json_deep_copy(json_object_get(c->doc, "HostConfig"));
  pthread_mutex_unlock(&e->lock);
  _cleanup_close_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return berr_errno(err, "open rootfs %s", rootfs);
  json_auto_t *list = json_array();
  size_t i;
  json_t *m;
  json_array_foreach(points, i, m)
  {
    const char *type = json_string_value(json_object_get(m, "Type"));
    const char *dest = json_string_value(json_object_get(m, "Destination"));
    bool rw = !json_is_false(json_object_get(m, "RW"));
    if (!type || !dest)
      continue;
    if (strcmp(type, "tmpfs") == 0) {
      json_array_append_new(list,
                            json_pack("{s:s,s:s,s:s,s:o}", "destination", dest, "type", "tmpfs",
                                      "source", "tmpfs", "options", tmpfs_opts(host, dest, rw)));
      continue;
    }
    _cleanup_free_ char *src = NULL;
    const char *prop = json_string_value(json_object_get(m, "Propagation"));
    if (strcmp(type, "volume") == 0) {
      const char *name = json_string_value(json_object_get(m, "Name"));
      pthread_mutex_lock(&e->lock);
      int r = vol_mount(e, name ? name : "", &src, err);
      if (r == 0)
        events_emit(&e->events, "volume", "mount", name ? name : "",
                    json_pack("{s:s,s:s,s:s,s:s,s:s}", "container", c->id, "destination", dest,
                              "driver", "local", "propagation", "", "read/write",
                              rw ? "true" : "false"));
      pthread_mutex_unlock(&e->lock);
      if (r < 0)
        return berr_wrap(err, "mount volume %s", name ? name : "");
      if (!wants_nocopy(host, dest) && copy_up(rootfd, dest, src, err) < 0)
        return -err->code;
    } else {
      src = strdup(json_string_value(json_object_get(m, "Source")) ?: "");
      struct stat st;
      if (stat(src, &st) < 0)
        return berr_errno(err, "bind source %s", src);
    }
    json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:[s,s,s]}", "destination", dest, "type",
                                          "bind", "source", src, "options", "rbind",
                                          rw ? "rw" : "ro", prop && *prop ? prop : "rprivate"));
  }
  const char *k;
  json_t *v;
  json_object_foreach(json_object_get(host, "Tmpfs"), k, v)
  {
    json_t *o = json_pack("[s,s,s]", "noexec", "nosuid", "nodev");
    const char *user = json_string_value(v);
    if (user && *user) {
      _cleanup_free_ char *copy = strdup(user);
      for (char *p = copy, *save = NULL, *t; (t = strtok_r(p, ",", &save)); p = NULL)
        json_array_append_new(o, json_string(t));
    }
    json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:o}", "destination", k, "type", "tmpfs",
                                          "source", "tmpfs", "options", o));
  }
  /* Parents before children, so /a/b is mounted on top of /a. */
  size_t n = json_array_size(list);
  json_t **arr = calloc(n + 1, sizeof(*arr));
  if (!arr)
    return berr_set(err, ENOMEM, "mounts");
  for (size_t j = 0; j < n; j++)
    arr[j] = json_array_get(list, j);
  /* qsort is not stable; insertion sort keeps the given order among equals. */
  for (size_t a = 1; a < n; a++)
    for (size_t b = a; b > 0 && by_depth(&arr[b - 1], &arr[b]) > 0; b--) {
      json_t *t = arr[b];
      arr[b] = arr[b - 1];
      arr[b - 1] = t;
    }
  json_t *sorted = json_array();
  for (size_t j = 0; j < n; j++)
    json_array_append(sorted, arr[j]);
  free(arr);
  *out = sorted;
  return 0;
}

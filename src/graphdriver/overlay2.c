/* overlay2: each layer is <home>/<id>/diff; <home>/l/<short> links to it so that the
 * lowerdir list of a long chain ("l/ABC…:l/DEF…") fits in the one page of mount options.
 * The mount runs in a short-lived thread that chdirs to <home> in a working directory of its
 * own, since relative lowerdirs are resolved against the caller's working directory and a
 * library must not chdir its process. */
#include "driver_priv.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileutil.h"
#include "tarwriter.h"

#define LINK_LEN 26

struct mount_req {
  const char *dir, *target, *opts;
  int result;
};

static void *mount_thread(void *arg)
{
  struct mount_req *m = arg;
  m->result = 0;
  if (unshare(CLONE_FS) < 0 || chdir(m->dir) < 0 ||
      mount("overlay", m->target, "overlay", 0, m->opts) < 0)
    m->result = -errno;
  return NULL;
}

/* A thread of its own with its own working directory (unshare(CLONE_FS)) resolves the
 * relative lowerdirs: a fork of a large multi-threaded daemon costs milliseconds. */
static int mount_in(const char *dir, const char *target, const char *opts)
{
  struct mount_req m = {dir, target, opts, -EIO};
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 128 * 1024);
  int r = pthread_create(&t, &attr, mount_thread, &m);
  pthread_attr_destroy(&attr);
  if (r != 0)
    return -r;
  pthread_join(t, NULL);
  return m.result;
}

static const char *extra_opts(void)
{
  /* index=on (a kernel default on some builds) ties a lower dir to one upper: layers are
   * shared between containers, so turn it off where the kernel knows the option. */
  return access("/sys/module/overlay/parameters/index", F_OK) == 0 ? ",index=off" : "";
}

int ovl_supported(const char *home)
{
  _cleanup_free_ char *base = NULL;
  if (asprintf(&base, "%s/.probe-XXXXXX", home) < 0)
    return -ENOMEM;
  if (!mkdtemp(base))
    return -errno;
  char l[PATH_MAX], u[PATH_MAX], w[PATH_MAX], m[PATH_MAX], opts[4 * PATH_MAX];
  snprintf(l, sizeof(l), "%s/l", base);
  snprintf(u, sizeof(u), "%s/u", base);
  snprintf(w, sizeof(w), "%s/w", base);
  snprintf(m, sizeof(m), "%s/m", base);
  int r = 0;
  if (mkdir(l, 0700) < 0 || mkdir(u, 0700) < 0 || mkdir(w, 0700) < 0 || mkdir(m, 0700) < 0)
    r = -errno;
  snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s,workdir=%s%s", l, u, w, extra_opts());
  if (r == 0 && mount("overlay", m, "overlay", 0, opts) < 0)
    r = -errno;
  if (r == 0)
    umount2(m, MNT_DETACH);
  struct berr ignored;
  bf_rm_rf(base, &ignored);
  return r;
}

static void random_link(char out[LINK_LEN + 1])
{
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  unsigned char rnd[LINK_LEN];
  if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
    for (size_t i = 0; i < sizeof(rnd); i++)
      rnd[i] = (unsigned char)rand();
  for (int i = 0; i < LINK_LEN; i++)
    out[i] = alphabet[rnd[i] % 36];
  out[LINK_LEN] = '\0';
}

int ovl_create(struct gd_driver *d, const char *id, const char *parent, struct berr *err)
{
  if (mkdirat(d->homefd, id, 0700) < 0)
    return berr_errno(err, "mkdir %s/%s", d->home, id);
  static const char *subs[] = {"diff", "work", "merged"};
  for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
    char p[300];
    snprintf(p, sizeof(p), "%s/%s", id, subs[i]);
    if (mkdirat(d->homefd, p, i == 0 ? 0755 : 0700) < 0)
      return berr_errno(err, "mkdir %s/%s", d->home, p);
  }
  char link[LINK_LEN + 1], target[300], lpath[64];
  random_link(link);
  snprintf(target, sizeof(target), "../%s/diff", id);
  snprintf(lpath, sizeof(lpath), "l/%s", link);
  if (symlinkat(target, d->homefd, lpath) < 0)
    return berr_errno(err, "link %s", lpath);
  int r = gd_write_small(d, id, "link", link, err);
  if (r < 0)
    return r;
  if (!parent)
    return 0;
  _cleanup_free_ char *plink = NULL, *plower = NULL, *lower = NULL;
  if ((r = gd_read_small(d, parent, "link", &plink, err)) < 0)
    return r;
  _cleanup_free_ char *plowerpath = gd_path(d, parent, "lower");
  if (plowerpath && access(plowerpath, F_OK) == 0 &&
      (r = gd_read_small(d, parent, "lower", &plower, err)) < 0)
    return r;
  if (asprintf(&lower, "l/%s%s%s", plink, plower ? ":" : "", plower ? plower : "") < 0)
    return berr_set(err, ENOMEM, "layer %s", id);
  if ((r = gd_write_small(d, id, "lower", lower, err)) < 0)
    return r;
  return gd_write_small(d, id, "parent", parent, err);
}

static bool is_mounted(struct gd_driver *d, const char *merged)
{
  struct stat a, b;
  return stat(merged, &a) == 0 && fstat(d->homefd, &b) == 0 && a.st_dev != b.st_dev;
}

bool ovl_mounted(struct gd_driver *d, const char *id)
{
  _cleanup_free_ char *merged = gd_path(d, id, "merged");
  return merged && is_mounted(d, merged);
}

int ovl_get(struct gd_driver *d, const char *id, const char *lower_home, char **path,
            struct berr *err)
{
  _cleanup_free_ char *lowerpath = gd_path(d, id, "lower");
  if (!lowerpath)
    return berr_set(err, ENOMEM, "layer %s", id);
  if (access(lowerpath, F_OK) < 0) {
    /* a base layer is its own rootfs */
    *path = gd_path(d, id, "diff");
    return *path ? 0 : berr_set(err, ENOMEM, "layer %s", id);
  }
  _cleanup_free_ char *merged = gd_path(d, id, "merged");
  _cleanup_free_ char *lower = NULL;
  if (!merged)
    return berr_set(err, ENOMEM, "layer %s", id);
  if (!is_mounted(d, merged)) {
    int r = gd_read_small(d, id, "lower", &lower, err);
    if (r < 0)
      return r;
    char opts[8192];
    /* With lower_home (an idmapped view of home) the lower layers are read through it; the
     * upper and work dirs stay on home itself, where the mounter (host root) may write. */
    const char *up = lower_home ? d->home : "", *sep = lower_home ? "/" : "";
    int n = snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s%s%s/diff,workdir=%s%s%s/work%s",
                     lower, up, sep, id, up, sep, id, extra_opts());
    if (n >= (int)sizeof(opts) || n >= getpagesize())
      return berr_set(err, E2BIG, "mount layer %s: too many layers (%d bytes of options)", id, n);
    if ((r = mount_in(lower_home ? lower_home : d->home, merged, opts)) < 0)
      return berr_set(err, -r, "mount overlay for layer %s", id);
  }
  *path = steal_ptr(merged);
  return 0;
}

int ovl_put(struct gd_driver *d, const char *id, struct berr *err)
{
  _cleanup_free_ char *merged = gd_path(d, id, "merged");
  if (!merged)
    return berr_set(err, ENOMEM, "layer %s", id);
  if (is_mounted(d, merged) && umount2(merged, MNT_DETACH) < 0 && errno != EINVAL &&
      errno != ENOENT)
    return berr_errno(err, "unmount %s", merged);
  return 0;
}

int ovl_remove(struct gd_driver *d, const char *id, struct berr *err)
{
  int r = ovl_put(d, id, err);
  if (r < 0)
    return r;
  _cleanup_free_ char *link = NULL;
  struct berr ignored;
  if (gd_read_small(d, id, "link", &link, &ignored) == 0 && strlen(link) == LINK_LEN &&
      !strchr(link, '/')) {
    char lpath[64];
    snprintf(lpath, sizeof(lpath), "l/%s", link);
    unlinkat(d->homefd, lpath, 0);
  }
  _cleanup_free_ char *p = gd_path(d, id, NULL);
  return p ? bf_rm_rf(p, err) : berr_set(err, ENOMEM, "remove layer %s", id);
}

static bool is_whiteout(const struct stat *st)
{
  return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

static bool is_opaque(int dirfd, const char *name)
{
  char proc[PATH_MAX], v[4];
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dirfd, name);
  ssize_t n = lgetxattr(proc, "trusted.overlay.opaque", v, sizeof(v));
  return n == 1 && v[0] == 'y';
}

/* Whether `path` is visible in the stack of lower layers (top first). */
static bool in_lower(struct gd_driver *d, char **lowers, const char *path)
{
  for (char **l = lowers; l && *l; l++) {
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", *l, path);
    struct stat st;
    if (fstatat(d->homefd, p, &st, AT_SYMLINK_NOFOLLOW) == 0)
      return !is_whiteout(&st);
  }
  return false;
}

static char **split_lowers(const char *lower)
{
  size_t n = 1;
  for (const char *p = lower; *p; p++)
    n += *p == ':';
  char **v = calloc(n + 1, sizeof(char *));
  char *copy = strdup(lower);
  if (!v || !copy) {
    free(v);
    free(copy);
    return NULL;
  }
  size_t i = 0;
  for (char *save = NULL, *t = strtok_r(copy, ":", &save); t; t = strtok_r(NULL, ":", &save))
    v[i++] = strdup(t);
  free(copy);
  return v;
}

struct walk {
  struct gd_driver *d;
  char **lowers;
  struct gd_changelist *changes; /* changes mode */
  struct gd_tarw *w;             /* diff mode */
};

static int walk_upper(struct walk *wk, int dirfd, const char *prefix, struct berr *err)
{
  _cleanup_strv_ char **names = NULL;
  int r = gd_list_dir(dirfd, &names);
  if (r < 0)
    return berr_set(err, -r, "list /%s", prefix);
  for (char **n = names; *n; n++) {
    _cleanup_free_ char *path = NULL;
    if (asprintf(&path, "%s%s%s", prefix, *prefix ? "/" : "", *n) < 0)
      return berr_set(err, ENOMEM, "diff");
    struct stat st;
    if (fstatat(dirfd, *n, &st, AT_SYMLINK_NOFOLLOW) < 0)
      return berr_errno(err, "stat /%s", path);
    if (is_whiteout(&st)) {
      if (wk->changes)
        r = gd_changelist_add(wk->changes, path, GD_CHANGE_DELETE) < 0
                ? berr_set(err, ENOMEM, "diff")
                : 0;
      else
        r = gd_tarw_whiteout(wk->w, path, err);
      if (r < 0)
        return r;
      continue;
    }
    if (wk->changes) {
      enum gd_change_kind k = in_lower(wk->d, wk->lowers, path) ? GD_CHANGE_MODIFY : GD_CHANGE_ADD;
      if (gd_changelist_add(wk->changes, path, k) < 0)
        return berr_set(err, ENOMEM, "diff");
    } else {
      if ((r = gd_tarw_add(wk->w, dirfd, *n, path, &st, err)) < 0)
        return r;
      if (S_ISDIR(st.st_mode) && is_opaque(dirfd, *n) && (r = gd_tarw_opaque(wk->w, path, err)) < 0)
        return r;
    }
    if (S_ISDIR(st.st_mode)) {
      _cleanup_close_ int sub = openat(dirfd, *n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0)
        return berr_errno(err, "open /%s", path);
      if ((r = walk_upper(wk, sub, path, err)) < 0)
        return r;
    }
  }
  return 0;
}

static int walk_layer(struct gd_driver *d, const char *id, struct walk *wk, struct berr *err)
{
  _cleanup_free_ char *lower = NULL;
  _cleanup_free_ char *lowerpath = gd_path(d, id, "lower");
  int r;
  if (lowerpath && access(lowerpath, F_OK) == 0 &&
      (r = gd_read_small(d, id, "lower", &lower, err)) < 0)
    return r;
  wk->d = d;
  wk->lowers = lower ? split_lowers(lower) : NULL;
  _cleanup_free_ char *diff = gd_path(d, id, "diff");
  _cleanup_close_ int fd = diff ? open(diff, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (fd < 0)
    r = berr_errno(err, "open %s", diff ? diff : id);
  else
    r = walk_upper(wk, fd, "", err);
  strvfreep(&wk->lowers);
  return r;
}

int ovl_changes(struct gd_driver *d, const char *id, struct gd_change **out, size_t *n,
                struct berr *err)
{
  struct gd_changelist l = {0};
  struct walk wk = {.changes = &l};
  int r = walk_layer(d, id, &wk, err);
  if (r < 0) {
    gd_changes_free(l.v, l.n);
    return r;
  }
  gd_changelist_sort(&l);
  *out = l.v;
  *n = l.n;
  return 0;
}

int ovl_diff(struct gd_driver *d, const char *id, int fd, const struct gd_id_unmap *m,
             struct berr *err)
{
  struct walk wk = {0};
  int r = gd_tarw_open(fd, &wk.w, err);
  if (r < 0)
    return r;
  gd_tarw_set_unmap(wk.w, m);
  r = walk_layer(d, id, &wk, err);
  if (r < 0) {
    gd_tarw_abort(wk.w);
    return r;
  }
  return gd_tarw_close(wk.w, err);
}

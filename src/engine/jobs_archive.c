/* The container's filesystem as archives: cp (GET/HEAD/PUT /containers/{id}/archive), diff
 * (/changes) and export. cp works on a thread of its own chrooted into the container's root
 * as the container sees it (its mount namespace through /proc/PID/root when it runs; the
 * rootfs with its volumes and binds mounted in a private namespace when it does not), so
 * no path or symlink in the container can lead outside it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/lazy_archive.h"
#include "engine_internal.h"
#include "execdriver/user.h"
#include "graph/rwlayer.h"
#include "jobs.h"
#include "libcontainer/safepath.h"
#include "lifecycle.h"
#include "repository.h"
#include "userns.h"
#include "volumes.h"

/* ---- where the container's files are ---- */

struct cp_root {
  char id[65];
  char root[PATH_MAX]; /* /proc/PID/root, or the mounted rootfs */
  bool mounted;        /* we mounted the rootfs (stopped container): unmount after */
  bool readonly;       /* --read-only: the stopped rootfs is made read-only for the copy too */
  json_t *binds;       /* stopped: [[source, dest, rw], ...] to bind for the copy */
  const char *user;    /* Config.User (owned by the copy of the doc) */
  json_t *doc;         /* a copy of the container's document */
};

static void cp_root_release(struct engine *e, struct cp_root *r)
{
  if (r->mounted) {
    struct berr ignored;
    graph_rwlayer_unmount(e->graph, ctr_layer(r->id, (char[80]){0}), &ignored);
    pthread_mutex_lock(&e->lock);
    struct container *c = repo_find(e, r->id, &ignored);
    if (c) {
      c->busy = false;
      c->refs--;
      pthread_cond_broadcast(&e->changed);
    }
    pthread_mutex_unlock(&e->lock);
  }
  json_decref(r->binds);
  json_decref(r->doc);
  memset(r, 0, sizeof(*r));
}

static int cp_root_get(struct job *job, struct cp_root *r)
{
  struct engine *e = job->engine;
  memset(r, 0, sizeof(*r));
  pthread_mutex_lock(&e->lock);
  struct container *c = repo_find(e, job_path(job, "id"), &job->err);
  if (!c) {
    pthread_mutex_unlock(&e->lock);
    return -job->err.code;
  }
  lifecycle_wait_idle(e, c);
  memcpy(r->id, c->id, sizeof(r->id));
  r->doc = json_deep_copy(c->doc);
  r->user = json_string_value(json_object_get(json_object_get(r->doc, "Config"), "User"));
  r->readonly =
      json_is_true(json_object_get(json_object_get(r->doc, "HostConfig"), "ReadonlyRootfs"));
  json_int_t pid = json_integer_value(json_object_get(json_object_get(c->doc, "State"), "Pid"));
  if ((c->state == CTR_RUNNING || c->state == CTR_PAUSED) && pid > 0) {
    snprintf(r->root, sizeof(r->root), "/proc/%lld/root", (long long)pid);
    pthread_mutex_unlock(&e->lock);
    return 0;
  }
  /* Stopped: its rootfs is mounted for the copy; a start waits until we are done. */
  c->busy = true;
  c->refs++;
  r->binds = json_array();
  size_t i;
  json_t *m;
  json_array_foreach(json_object_get(c->doc, "Mounts"), i, m)
  {
    const char *type = json_string_value(json_object_get(m, "Type"));
    const char *dest = json_string_value(json_object_get(m, "Destination"));
    if (!type || !dest || strcmp(type, "tmpfs") == 0)
      continue;
    _cleanup_free_ char *src = NULL;
    struct berr ignored;
    if (strcmp(type, "volume") == 0) {
      if (vol_mount(e, json_string_value(json_object_get(m, "Name")) ?: "", &src, &ignored) < 0)
        continue;
    } else {
      src = strdup(json_string_value(json_object_get(m, "Source")) ?: "");
    }
    json_array_append_new(
        r->binds, json_pack("[s,s,b]", src, dest, !json_is_false(json_object_get(m, "RW"))));
  }
  pthread_mutex_unlock(&e->lock);
  char *path = NULL;
  if (graph_rwlayer_mount(e->graph, ctr_layer(r->id, (char[80]){0}), &path, &job->err) < 0) {
    r->mounted = true; /* releases busy; unmount of a failed mount is harmless */
    cp_root_release(e, r);
    return -job->err.code;
  }
  snprintf(r->root, sizeof(r->root), "%s", path);
  free(path);
  r->mounted = true;
  return 0;
}

/* --userns-remap: the container's map when it runs remapped (cp then shows and stores ids
 * as its root sees them, as dockerd's archiver with the daemon's IDMapping). */
static const struct userns_remap *remap_of(struct engine *e, const struct cp_root *r)
{
  return userns_remapped(e, json_object_get(r->doc, "HostConfig")) ? e->cfg.userns : NULL;
}

/* On the copy's thread: enter the container's view of its files and chroot there. */
static int child_enter(struct cp_root *r, struct berr *err)
{
  /* This thread's own root and cwd (and mounts): the daemon's other threads keep theirs. */
  if (unshare(CLONE_FS | (r->mounted ? CLONE_NEWNS : 0)) < 0)
    return berr_errno(err, "unshare");
  if (r->mounted) {
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
      return berr_errno(err, "make mounts private");
    _cleanup_close_ int rootfd = open(r->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
      return berr_errno(err, "open %s", r->root);
    size_t i;
    json_t *b;
    json_array_foreach(r->binds, i, b)
    {
      const char *src = json_string_value(json_array_get(b, 0));
      const char *dest = json_string_value(json_array_get(b, 1));
      struct stat st;
      if (stat(src, &st) < 0)
        continue;
      _cleanup_close_ int fd = lc_safe_mkpath(rootfd, dest, !S_ISDIR(st.st_mode), 0755, err);
      if (fd < 0)
        return berr_wrap(err, "mount point %s", dest);
      char fdp[32];
      lc_fd_path(fd, fdp);
      if (mount(src, fdp, NULL, MS_BIND | MS_REC, NULL) < 0)
        return berr_errno(err, "bind %s", dest);
      if (json_is_false(json_array_get(b, 2))) {
        _cleanup_close_ int fd2 = lc_safe_open(rootfd, dest, O_PATH, 0, err);
        if (fd2 < 0)
          return -err->code;
        lc_fd_path(fd2, fdp);
        if (mount(NULL, fdp, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0)
          return berr_errno(err, "read-only %s", dest);
      }
    }
    /* --read-only: a read-only view of the rootfs that keeps the volumes bound above. */
    if (r->readonly && (mount(r->root, r->root, NULL, MS_BIND | MS_REC, NULL) < 0 ||
                        mount(NULL, r->root, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0))
      return berr_errno(err, "read-only rootfs");
  }
  if (chroot(r->root) < 0 || chdir("/") < 0)
    return berr_errno(err, "enter container root");
  return 0;
}

/* fn runs on a thread of its own that leaves the daemon's filesystem context (its root,
 * cwd and, for a stopped container, its mount namespace) for the container's: a thread and
 * not a forked child, since a child of a threaded daemon may inherit a lock (an allocator's,
 * iconv's) some other thread held at the fork. */
struct root_task {
  struct cp_root *r;
  int (*fn)(void *ud, struct berr *err);
  void *ud;
  struct berr err;
  int rc;
};

static void *root_task_main(void *arg)
{
  struct root_task *t = arg;
  t->rc = child_enter(t->r, &t->err);
  if (t->rc == 0)
    t->rc = t->fn(t->ud, &t->err);
  return NULL;
}

static int run_in_root(struct cp_root *r, int (*fn)(void *ud, struct berr *err), void *ud,
                       struct berr *err)
{
  struct root_task *t = calloc(1, sizeof(*t));
  if (!t)
    return berr_set(err, ENOMEM, "copy");
  t->r = r;
  t->fn = fn;
  t->ud = ud;
  pthread_t th;
  int e = pthread_create(&th, NULL, root_task_main, t);
  if (e != 0) {
    free(t);
    return berr_set(err, e, "copy thread");
  }
  pthread_join(th, NULL);
  int rc = t->rc;
  if (rc < 0) {
    *err = t->err;
    if (!err->code)
      err->code = EINVAL;
    rc = -err->code;
  }
  free(t);
  return rc;
}

/* ---- stat: X-Docker-Container-Path-Stat ---- */

static unsigned go_file_mode(mode_t m)
{
  unsigned g = m & 0777;
  if (S_ISDIR(m))
    g |= 1u << 31;
  else if (S_ISLNK(m))
    g |= 1u << 27;
  else if (S_ISFIFO(m))
    g |= 1u << 25;
  else if (S_ISSOCK(m))
    g |= 1u << 24;
  else if (S_ISBLK(m))
    g |= 1u << 26;
  else if (S_ISCHR(m))
    g |= (1u << 26) | (1u << 21);
  if (m & S_ISUID)
    g |= 1u << 23;
  if (m & S_ISGID)
    g |= 1u << 22;
  if (m & S_ISVTX)
    g |= 1u << 20;
  return g;
}

static char *base64(const char *in, size_t len)
{
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *out = malloc((len + 2) / 3 * 4 + 1), *w = out;
  if (!out)
    return NULL;
  for (size_t i = 0; i < len; i += 3) {
    unsigned v = (unsigned char)in[i] << 16;
    if (i + 1 < len)
      v |= (unsigned char)in[i + 1] << 8;
    if (i + 2 < len)
      v |= (unsigned char)in[i + 2];
    *w++ = tbl[(v >> 18) & 63];
    *w++ = tbl[(v >> 12) & 63];
    *w++ = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
    *w++ = i + 2 < len ? tbl[v & 63] : '=';
  }
  *w = '\0';
  return out;
}

/* The path as asked, its base name as Docker names tar entries ("." for a trailing "/."). */
static void path_base(const char *path, char *out, size_t len)
{
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof(tmp), "%s", path);
  size_t n = strlen(tmp);
  if (n >= 2 && strcmp(tmp + n - 2, "/.") == 0) {
    snprintf(out, len, ".");
    return;
  }
  while (n > 1 && tmp[n - 1] == '/')
    tmp[--n] = '\0';
  const char *slash = strrchr(tmp, '/');
  snprintf(out, len, "%s", slash ? (slash[1] ? slash + 1 : "/") : tmp);
}

struct stat_req {
  const char *path;
  int out_fd; /* the stat JSON is written here */
};

static int stat_in_root(void *ud, struct berr *err)
{
  struct stat_req *q = ud;
  /* A trailing "/" or "/." follows a final symlink, as Docker's resolve does. */
  size_t n = strlen(q->path);
  bool follow = n && (q->path[n - 1] == '/' || (n >= 2 && strcmp(q->path + n - 2, "/.") == 0));
  struct stat st;
  if ((follow ? stat(q->path, &st) : lstat(q->path, &st)) < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      berr_set(err, 0, "Could not find the file %s in container", q->path);
      err->code = ENOENT;
      return -ENOENT;
    }
    return berr_errno(err, "stat %s", q->path);
  }
  char link[PATH_MAX] = "";
  if (S_ISLNK(st.st_mode)) {
    char *rp = realpath(q->path, NULL);
    if (rp) {
      snprintf(link, sizeof(link), "%s", rp);
      free(rp);
    } else {
      ssize_t k = readlink(q->path, link, sizeof(link) - 1);
      link[k > 0 ? k : 0] = '\0';
    }
  }
  char base[PATH_MAX], mtime[64];
  path_base(q->path, base, sizeof(base));
  struct tm tm;
  gmtime_r(&st.st_mtim.tv_sec, &tm);
  size_t off = strftime(mtime, sizeof(mtime), "%Y-%m-%dT%H:%M:%S", &tm);
  if (st.st_mtim.tv_nsec) {
    off += (size_t)snprintf(mtime + off, sizeof(mtime) - off, ".%09ld", st.st_mtim.tv_nsec);
    while (mtime[off - 1] == '0')
      mtime[--off] = '\0';
  }
  snprintf(mtime + off, sizeof(mtime) - off, "Z");
  json_auto_t *j =
      json_pack("{s:s,s:I,s:I,s:s,s:s}", "name", base, "size", (json_int_t)st.st_size, "mode",
                (json_int_t)go_file_mode(st.st_mode), "mtime", mtime, "linkTarget", link);
  _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
  if (!text || write(q->out_fd, text, strlen(text)) < 0)
    return berr_errno(err, "stat result");
  return 0;
}

/* Stat path in the container; on success the base64 header is set on the job. */
static int path_stat_header(struct job *job, struct cp_root *r, const char *path)
{
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return berr_errno(&job->err, "pipe");
  struct stat_req q = {.path = path, .out_fd = p[1]};
  int rc = run_in_root(r, stat_in_root, &q, &job->err);
  close(p[1]);
  char buf[8192];
  ssize_t n = rc == 0 ? read(p[0], buf, sizeof(buf) - 1) : -1;
  close(p[0]);
  if (rc < 0) {
    if (job->err.code == ENOENT)
      snprintf(job->err.msg, sizeof(job->err.msg), "Could not find the file %s in container %s",
               path, job_path(job, "id"));
    return rc;
  }
  if (n <= 0)
    return berr_set(&job->err, EIO, "stat %s: no answer", path);
  _cleanup_free_ char *b64 = base64(buf, (size_t)n);
  json_t *h = json_object_get(job->args, "response_headers");
  if (!json_is_object(h)) {
    h = json_object();
    json_object_set_new(job->args, "response_headers", h);
  }
  json_object_set_new(h, "X-Docker-Container-Path-Stat", json_string(b64 ? b64 : ""));
  return 0;
}

static int check_path_arg(struct job *job, const char **path)
{
  *path = job_query_str(job, "path");
  if (!*path || !**path)
    return job_fail(job, 400, "path is required");
  if (strlen(*path) >= PATH_MAX - 16)
    return job_fail(job, 400, "path too long");
  return 0;
}

static int job_archive_head(struct job *job)
{
  const char *path;
  if (check_path_arg(job, &path) < 0)
    return -EINVAL;
  struct cp_root r;
  if (cp_root_get(job, &r) < 0)
    return -job->err.code;
  int rc = path_stat_header(job, &r, path);
  cp_root_release(job->engine, &r);
  return rc;
}

/* ---- GET: a tar of the path ---- */

struct tar_req {
  const char *path;
  int fd;
  const struct userns_remap *remap; /* a remapped container: host ids shown as its own */
};

static int add_tree(struct archive *a, struct archive_entry_linkresolver *lr, const char *src,
                    const char *name, const struct userns_remap *remap, struct berr *err);

static int add_one(struct archive *a, struct archive_entry_linkresolver *lr, const char *src,
                   const char *name, const struct stat *st, const struct userns_remap *remap,
                   struct berr *err)
{
  struct archive_entry *e = archive_entry_new();
  archive_entry_copy_stat(e, st);
  if (remap) {
    archive_entry_set_uid(e, userns_container_uid(remap, (unsigned)st->st_uid));
    archive_entry_set_gid(e, userns_container_gid(remap, (unsigned)st->st_gid));
  }
  archive_entry_set_pathname(e, name);
  /* Names and ids: numbers only (the container's users mean nothing outside). */
  archive_entry_set_uname(e, NULL);
  archive_entry_set_gname(e, NULL);
  if (S_ISLNK(st->st_mode)) {
    char target[PATH_MAX];
    ssize_t k = readlink(src, target, sizeof(target) - 1);
    if (k < 0) {
      archive_entry_free(e);
      return berr_errno(err, "readlink %s", src);
    }
    target[k] = '\0';
    archive_entry_set_symlink(e, target);
  }
  struct archive_entry *spare = NULL;
  if (!S_ISDIR(st->st_mode))
    archive_entry_linkify(lr, &e, &spare);
  int rc = 0;
  if (e) {
    if (archive_write_header(a, e) != ARCHIVE_OK) {
      rc = berr_set(err, EIO, "tar %s: %s", name, archive_error_string(a));
    } else if (S_ISREG(st->st_mode) && archive_entry_size(e) > 0) {
      _cleanup_close_ int fd = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0)
        rc = berr_errno(err, "open %s", src);
      char buf[65536];
      ssize_t k;
      while (rc == 0 && (k = read(fd, buf, sizeof(buf))) > 0)
        if (archive_write_data(a, buf, (size_t)k) < 0)
          rc = berr_set(err, EIO, "tar %s: %s", name, archive_error_string(a));
    }
    archive_entry_free(e);
  }
  if (spare)
    archive_entry_free(spare);
  return rc;
}

static int add_tree(struct archive *a, struct archive_entry_linkresolver *lr, const char *src,
                    const char *name, const struct userns_remap *remap, struct berr *err)
{
  struct stat st;
  if (lstat(src, &st) < 0)
    return berr_errno(err, "stat %s", src);
  if (add_one(a, lr, src, name, &st, remap, err) < 0)
    return -err->code;
  if (!S_ISDIR(st.st_mode))
    return 0;
  _cleanup_closedir_ DIR *d = opendir(src);
  if (!d)
    return berr_errno(err, "open %s", src);
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    _cleanup_free_ char *s = NULL, *n = NULL;
    if (asprintf(&s, "%s%s%s", src, strcmp(src, "/") ? "/" : "", de->d_name) < 0 ||
        asprintf(&n, "%s/%s", name, de->d_name) < 0)
      return berr_set(err, ENOMEM, "tar");
    if (add_tree(a, lr, s, n, remap, err) < 0)
      return -err->code;
  }
  return 0;
}

static int tar_in_root(void *ud, struct berr *err)
{
  struct tar_req *q = ud;
  char base[PATH_MAX];
  path_base(q->path, base, sizeof(base));
  /* A path ending in "/" or "/." is its target; otherwise a final symlink is kept as is. */
  char src[PATH_MAX];
  snprintf(src, sizeof(src), "%s", q->path);
  size_t n = strlen(src);
  bool follow = n && (src[n - 1] == '/' || (n >= 2 && strcmp(src + n - 2, "/.") == 0));
  if (follow) {
    char *rp = realpath(src, NULL);
    if (!rp)
      return berr_errno(err, "resolve %s", q->path);
    snprintf(src, sizeof(src), "%s", rp);
    free(rp);
  }
  struct archive *a = archive_write_new();
  if (!a)
    return berr_set(err, ELIBACC, "tar: %s", lazy_archive_error());
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  if (archive_write_open_fd(a, q->fd) != ARCHIVE_OK) {
    berr_set(err, EIO, "tar: %s", archive_error_string(a));
    archive_write_free(a);
    return -EIO;
  }
  struct archive_entry_linkresolver *lr = archive_entry_linkresolver_new();
  archive_entry_linkresolver_set_strategy(lr, ARCHIVE_FORMAT_TAR_PAX_RESTRICTED);
  int rc = add_tree(a, lr, src, strcmp(base, "/") ? base : ".", q->remap, err);
  archive_entry_linkresolver_free(lr);
  archive_write_close(a);
  archive_write_free(a);
  return rc;
}

static int job_archive_get(struct job *job)
{
  const char *path;
  if (check_path_arg(job, &path) < 0)
    return -EINVAL;
  struct cp_root r;
  if (cp_root_get(job, &r) < 0)
    return -job->err.code;
  int rc = path_stat_header(job, &r, path);
  if (rc == 0) {
    int fd = job_stream_begin(job, "application/x-tar");
    if (fd < 0) {
      rc = berr_set(&job->err, EIO, "cannot stream the archive");
    } else {
      struct tar_req q = {.path = path, .fd = fd, .remap = remap_of(job->engine, &r)};
      struct berr ignored; /* headers are out: a failure shows as a short tar */
      run_in_root(&r, tar_in_root, &q, &ignored);
    }
  }
  cp_root_release(job->engine, &r);
  return rc;
}

/* ---- PUT: extract a tar into a directory ---- */

struct put_req {
  const char *path;
  int tar_fd; /* opened before the chroot: the spooled body is a host file */
  bool no_overwrite_dir_nondir;
  bool chown;
  const char *user;
  const struct userns_remap *remap; /* a remapped container: its ids stored as host ids */
};

static int put_in_root(void *ud, struct berr *err)
{
  struct put_req *q = ud;
  struct execdriver_user user = {0};
  if (q->chown) {
    _cleanup_close_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (execdriver_resolve_user(rootfd, q->user, NULL, &user, err) < 0)
      return -err->code;
  }
  struct stat st;
  if (stat(q->path, &st) < 0) {
    berr_set(err, 0, "Could not find the file %s in container", q->path);
    err->code = ENOENT;
    return -ENOENT;
  }
  if (!S_ISDIR(st.st_mode))
    return berr_set(err, 0, "extraction point is not a directory");
  if (chdir(q->path) < 0)
    return berr_errno(err, "chdir %s", q->path);
  struct archive *in = archive_read_new();
  struct archive *out = archive_write_disk_new();
  if (!in || !out) {
    archive_read_free(in);
    archive_write_free(out);
    return berr_set(err, ELIBACC, "extract: %s", lazy_archive_error());
  }
  archive_read_support_format_tar(in);
  archive_read_support_filter_all(in);
  archive_write_disk_set_options(
      out, ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_TIME |
               ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
               ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS | ARCHIVE_EXTRACT_UNLINK);
  int rc = 0;
  if (archive_read_open_fd(in, q->tar_fd, 65536) != ARCHIVE_OK) {
    rc = berr_set(err, 0, "read archive: %s", archive_error_string(in));
    goto out;
  }
  struct archive_entry *e;
  int hr;
  while ((hr = archive_read_next_header(in, &e)) == ARCHIVE_OK) {
    const char *name = archive_entry_pathname(e);
    struct stat cur;
    if (q->no_overwrite_dir_nondir && name && lstat(name, &cur) == 0) {
      bool new_dir = archive_entry_filetype(e) == AE_IFDIR;
      if (S_ISDIR(cur.st_mode) && !new_dir) {
        rc = berr_set(err, 0, "cannot overwrite directory \"%s\" with non-directory \"%s\"", name,
                      name);
        goto out;
      }
      if (!S_ISDIR(cur.st_mode) && new_dir) {
        rc = berr_set(err, 0, "cannot overwrite non-directory \"%s\" with directory \"%s\"", name,
                      name);
        goto out;
      }
    }
    if (q->chown) {
      archive_entry_set_uid(e, user.uid);
      archive_entry_set_gid(e, user.gid);
    }
    if (q->remap) {
      archive_entry_set_uid(e, userns_host_uid(q->remap, (unsigned)archive_entry_uid(e)));
      archive_entry_set_gid(e, userns_host_gid(q->remap, (unsigned)archive_entry_gid(e)));
    }
    archive_entry_set_uname(e, NULL);
    archive_entry_set_gname(e, NULL);
    if (archive_write_header(out, e) != ARCHIVE_OK) {
      rc = berr_set(err, 0, "extract %s: %s", name ? name : "", archive_error_string(out));
      if (archive_errno(out) == EROFS)
        rc = -(err->code = EROFS);
      goto out;
    }
    const void *buf;
    size_t size;
    la_int64_t offset;
    int dr;
    while ((dr = archive_read_data_block(in, &buf, &size, &offset)) == ARCHIVE_OK)
      if (archive_write_data_block(out, buf, size, offset) != ARCHIVE_OK) {
        rc = berr_set(err, 0, "extract %s: %s", name ? name : "", archive_error_string(out));
        goto out;
      }
    if (dr != ARCHIVE_EOF) {
      rc = berr_set(err, 0, "read archive: %s", archive_error_string(in));
      goto out;
    }
    if (archive_write_finish_entry(out) != ARCHIVE_OK) {
      rc = berr_set(err, 0, "extract %s: %s", name ? name : "", archive_error_string(out));
      goto out;
    }
  }
  if (hr != ARCHIVE_EOF)
    rc = berr_set(err, 0, "read archive: %s", archive_error_string(in));
out:
  archive_read_free(in);
  archive_write_close(out);
  archive_write_free(out);
  return rc;
}

static int job_archive_put(struct job *job)
{
  const char *path;
  if (check_path_arg(job, &path) < 0)
    return -EINVAL;
  if (!job->body_file)
    return job_fail(job, 400, "no archive in the request body");
  struct cp_root r;
  if (cp_root_get(job, &r) < 0)
    return -job->err.code;
  _cleanup_close_ int tar_fd = open(job->body_file, O_RDONLY | O_CLOEXEC);
  if (tar_fd < 0) {
    cp_root_release(job->engine, &r);
    return berr_errno(&job->err, "open request body");
  }
  struct put_req q = {.path = path,
                      .tar_fd = tar_fd,
                      .no_overwrite_dir_nondir = job_query_bool(job, "noOverwriteDirNonDir", false),
                      .chown = job_query_bool(job, "copyUIDGID", false),
                      .user = r.user,
                      .remap = remap_of(job->engine, &r)};
  int rc = run_in_root(&r, put_in_root, &q, &job->err);
  cp_root_release(job->engine, &r);
  if (rc < 0) {
    if (job->err.code == ENOENT)
      snprintf(job->err.msg, sizeof(job->err.msg), "Could not find the file %s in container %s",
               path, job_path(job, "id"));
    else if (job->err.code == EROFS) {
      snprintf(job->err.msg, sizeof(job->err.msg), "container rootfs is marked read-only");
      job->http_error = 403;
    } else
      job->http_error = 400;
    return rc;
  }
  job->status = 200;
  return 0;
}

/* ---- diff and export ---- */

static int find_id(struct job *job, char id[65])
{
  struct engine *e = job->engine;
  pthread_mutex_lock(&e->lock);
  struct container *c = repo_find(e, job_path(job, "id"), &job->err);
  if (c)
    memcpy(id, c->id, 65);
  pthread_mutex_unlock(&e->lock);
  return c ? 0 : -job->err.code;
}

static int job_container_changes(struct job *job)
{
  char id[65];
  if (find_id(job, id) < 0)
    return -job->err.code;
  struct gd_change *ch = NULL;
  size_t n = 0;
  if (graph_rwlayer_changes(job->engine->graph, ctr_layer(id, (char[80]){0}), &ch, &n, &job->err) <
      0)
    return -job->err.code;
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_pack("{s:s,s:i}", "Path", ch[i].path, "Kind", (int)ch[i].kind));
  gd_changes_free(ch, n);
  job->result = a;
  return 0;
}

static int job_container_export(struct job *job)
{
  char id[65];
  if (find_id(job, id) < 0)
    return -job->err.code;
  int fd = job_stream_begin(job, "application/x-tar");
  if (fd < 0)
    return berr_set(&job->err, EIO, "cannot stream the export");
  struct berr ignored; /* headers are out: a failure shows as a short tar */
  const struct gd_id_unmap *um = NULL;
  pthread_mutex_lock(&job->engine->lock);
  struct container *ec = repo_find(job->engine, id, &ignored);
  if (ec)
    um = userns_layer_unmap(job->engine, json_object_get(ec->doc, "HostConfig"));
  pthread_mutex_unlock(&job->engine->lock);
  graph_rwlayer_export_unmapped(job->engine->graph, ctr_layer(id, (char[80]){0}), fd, um, &ignored);
  struct engine *e = job->engine;
  pthread_mutex_lock(&e->lock);
  struct container *c = repo_find(e, id, &ignored);
  if (c)
    events_emit(&e->events, "container", "export", c->id, lifecycle_attrs(c));
  pthread_mutex_unlock(&e->lock);
  return 0;
}

void jobs_archive_register(struct engine *e)
{
  engine_register(e, "container.archive.head", job_archive_head);
  engine_register(e, "container.archive.get", job_archive_get);
  engine_register(e, "container.archive.put", job_archive_put);
  engine_register(e, "container.changes", job_container_changes);
  engine_register(e, "container.export", job_container_export);
}

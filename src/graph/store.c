/* Content store: temp file + streaming digest + fsync + rename, so a crash leaves either the
 * whole verified blob or a temp file that the next start removes. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileutil.h"
#include "graphdriver/strv.h"

struct graph_store {
  char *root;
  char *blobs; /* <root>/blobs/sha256 */
  char *tmp;   /* <root>/tmp */
};

struct graph_blob_writer {
  struct graph_store *s;
  char *path;
  int fd;
  int64_t size;
  struct graph_sha256 *h;
};

int graph_store_open(const char *root, struct graph_store **out, struct berr *err)
{
  struct graph_store *s = calloc(1, sizeof(*s));
  if (!s)
    return berr_set(err, ENOMEM, "content store");
  int r;
  if (!(s->root = strdup(root)) || asprintf(&s->blobs, "%s/blobs/sha256", root) < 0 ||
      asprintf(&s->tmp, "%s/tmp", root) < 0) {
    graph_store_close(s);
    return berr_set(err, ENOMEM, "content store");
  }
  if ((r = bf_mkdir_p(s->blobs, 0700, err)) < 0 || (r = bf_mkdir_p(s->tmp, 0700, err)) < 0) {
    graph_store_close(s);
    return r;
  }
  *out = s;
  return 0;
}

void graph_store_close(struct graph_store *s)
{
  if (!s)
    return;
  free(s->root);
  free(s->blobs);
  free(s->tmp);
  free(s);
}

const char *graph_store_tmp(const struct graph_store *s)
{
  return s->tmp;
}

int graph_store_clean_tmp(struct graph_store *s, struct berr *err)
{
  int r = bf_rm_rf(s->tmp, err);
  if (r < 0)
    return r;
  return bf_mkdir_p(s->tmp, 0700, err);
}

int graph_store_mkdtemp(struct graph_store *s, const char *what, char **path, struct berr *err)
{
  char *p = NULL;
  if (asprintf(&p, "%s/%s-XXXXXX", s->tmp, what) < 0)
    return berr_set(err, ENOMEM, "temp dir");
  if (!mkdtemp(p)) {
    int r = berr_errno(err, "create temp dir in %s", s->tmp);
    free(p);
    return r;
  }
  *path = p;
  return 0;
}

char *graph_store_path(struct graph_store *s, const char *digest)
{
  char *p = NULL;
  if (!graph_digest_valid(digest) || asprintf(&p, "%s/%s", s->blobs, graph_digest_hex(digest)) < 0)
    return NULL;
  return p;
}

bool graph_store_has(struct graph_store *s, const char *digest)
{
  _cleanup_free_ char *p = graph_store_path(s, digest);
  return p && access(p, F_OK) == 0;
}

int graph_store_writer_new(struct graph_store *s, struct graph_blob_writer **out, struct berr *err)
{
  struct graph_blob_writer *w = calloc(1, sizeof(*w));
  if (!w)
    return berr_set(err, ENOMEM, "blob writer");
  w->s = s;
  w->fd = -1;
  if (asprintf(&w->path, "%s/blob-XXXXXX", s->tmp) < 0 || !(w->h = graph_sha256_new())) {
    graph_blob_writer_abort(w);
    return berr_set(err, ENOMEM, "blob writer");
  }
  w->fd = mkostemp(w->path, O_CLOEXEC);
  if (w->fd < 0) {
    int r = berr_errno(err, "create temp blob in %s", s->tmp);
    free(w->path);
    w->path = NULL;
    graph_blob_writer_abort(w);
    return r;
  }
  *out = w;
  return 0;
}

int graph_blob_writer_write(struct graph_blob_writer *w, const void *buf, size_t len,
                            struct berr *err)
{
  graph_sha256_update(w->h, buf, len);
  int r = bf_write_all(w->fd, buf, len);
  if (r < 0)
    return berr_set(err, -r, "write blob");
  w->size += (int64_t)len;
  return 0;
}

void graph_blob_writer_abort(struct graph_blob_writer *w)
{
  if (!w)
    return;
  if (w->fd >= 0)
    close(w->fd);
  if (w->path)
    unlink(w->path);
  free(w->path);
  if (w->h)
    graph_sha256_free(w->h);
  free(w);
}

static int fsync_dir(const char *dir)
{
  _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return fd >= 0 ? fsync(fd) : -1;
}

int graph_blob_writer_commit(struct graph_blob_writer *w, const char *expected,
                             char digest[GRAPH_DIGEST_LEN + 1], int64_t *size, struct berr *err)
{
  char d[GRAPH_DIGEST_LEN + 1];
  graph_sha256_final(w->h, d);
  int r = 0;
  _cleanup_free_ char *dst = NULL;
  if (expected && strcmp(d, expected) != 0) {
    r = berr_set(err, 0, "digest mismatch: expected %s, got %s", expected, d);
    goto out;
  }
  if (fsync(w->fd) < 0) {
    r = berr_errno(err, "fsync blob");
    goto out;
  }
  dst = graph_store_path(w->s, d);
  if (!dst || rename(w->path, dst) < 0) {
    r = dst ? berr_errno(err, "store blob %s", d) : berr_set(err, ENOMEM, "store blob");
    goto out;
  }
  free(w->path);
  w->path = NULL;
  fsync_dir(w->s->blobs);
  if (digest)
    memcpy(digest, d, sizeof(d));
  if (size)
    *size = w->size;
out:
  graph_blob_writer_abort(w);
  return r;
}

int graph_store_put(struct graph_store *s, const void *buf, size_t len, const char *expected,
                    char digest[GRAPH_DIGEST_LEN + 1], struct berr *err)
{
  char d[GRAPH_DIGEST_LEN + 1];
  graph_sha256_buf(buf, len, d);
  if (expected && strcmp(d, expected) != 0)
    return berr_set(err, 0, "digest mismatch: expected %s, got %s", expected, d);
  if (digest)
    memcpy(digest, d, sizeof(d));
  if (graph_store_has(s, d))
    return 0;
  struct graph_blob_writer *w;
  int r = graph_store_writer_new(s, &w, err);
  if (r < 0)
    return r;
  if ((r = graph_blob_writer_write(w, buf, len, err)) < 0) {
    graph_blob_writer_abort(w);
    return r;
  }
  return graph_blob_writer_commit(w, d, NULL, NULL, err);
}

int graph_store_adopt_fd(struct graph_store *s, int fd, const char *digest, struct berr *err)
{
  if (graph_store_has(s, digest))
    return 0;
  _cleanup_free_ char *dst = graph_store_path(s, digest);
  if (!dst)
    return berr_set(err, EINVAL, "adopt blob %s", digest);
  /* the file came out of an archive with the archive's owner and mode: make it a plain
   * read-only blob before it enters the store */
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1) {
    if ((st.st_uid != 0 || st.st_gid != 0) && fchown(fd, 0, 0) < 0)
      return berr_errno(err, "adopt blob %s", digest);
    if ((st.st_mode & 07777) != 0444 && fchmod(fd, 0444) < 0)
      return berr_errno(err, "adopt blob %s", digest);
  }
  if (fsync(fd) < 0)
    return berr_errno(err, "fsync blob %s", digest);
  char proc[64];
  snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
  /* linkat through /proc needs AT_SYMLINK_FOLLOW; it links the open file, not a path that
   * could have been swapped */
  if (linkat(AT_FDCWD, proc, AT_FDCWD, dst, AT_SYMLINK_FOLLOW) == 0) {
    fsync_dir(s->blobs);
    return 0;
  }
  if (errno == EEXIST)
    return 0;
  /* another filesystem or no link permission: copy it */
  struct graph_blob_writer *w;
  int r = graph_store_writer_new(s, &w, err);
  if (r < 0)
    return r;
  char buf[1 << 16];
  off_t off = 0;
  for (;;) {
    ssize_t n = pread(fd, buf, sizeof(buf), off);
    if (n < 0) {
      graph_blob_writer_abort(w);
      return berr_errno(err, "read blob %s", digest);
    }
    if (n == 0)
      break;
    off += n;
    if ((r = graph_blob_writer_write(w, buf, (size_t)n, err)) < 0) {
      graph_blob_writer_abort(w);
      return r;
    }
  }
  return graph_blob_writer_commit(w, digest, NULL, NULL, err);
}

int graph_store_open_blob(struct graph_store *s, const char *digest, int *fd, struct berr *err)
{
  _cleanup_free_ char *p = graph_store_path(s, digest);
  if (!p)
    return berr_set(err, 0, "invalid digest \"%s\"", digest ? digest : "");
  *fd = open(p, O_RDONLY | O_CLOEXEC);
  if (*fd < 0)
    return berr_errno(err, "blob %s", digest);
  return 0;
}

int graph_store_read(struct graph_store *s, const char *digest, char **buf, size_t *len,
                     struct berr *err)
{
  _cleanup_close_ int fd = -1;
  int r = graph_store_open_blob(s, digest, &fd, err);
  if (r < 0)
    return r;
  if ((r = bf_read_fd_all(fd, buf, len, err)) < 0)
    return berr_wrap(err, "blob %s", digest);
  char d[GRAPH_DIGEST_LEN + 1];
  graph_sha256_buf(*buf, *len, d);
  if (strcmp(d, digest) != 0) {
    free(*buf);
    *buf = NULL;
    return berr_set(err, EIO, "blob %s is corrupt (content hashes to %s)", digest, d);
  }
  return 0;
}

int graph_store_delete(struct graph_store *s, const char *digest, struct berr *err)
{
  _cleanup_free_ char *p = graph_store_path(s, digest);
  if (!p)
    return berr_set(err, 0, "invalid digest \"%s\"", digest ? digest : "");
  if (unlink(p) < 0 && errno != ENOENT)
    return berr_errno(err, "delete blob %s", digest);
  return 0;
}

int graph_store_list(struct graph_store *s, char ***digests, struct berr *err)
{
  _cleanup_closedir_ DIR *d = opendir(s->blobs);
  if (!d)
    return berr_errno(err, "open %s", s->blobs);
  struct gd_strv sv = {0};
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    char *digest = NULL;
    if (asprintf(&digest, "sha256:%s", de->d_name) < 0 || gd_strv_push(&sv, digest) < 0) {
      gd_strv_clear(&sv);
      return berr_set(err, ENOMEM, "list blobs");
    }
  }
  if (!(*digests = gd_strv_steal(&sv)))
    return berr_set(err, ENOMEM, "list blobs");
  return 0;
}

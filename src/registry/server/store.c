/* Filesystem storage of the registry: content-addressed blobs shared by all repositories,
 * and per repository the links that make a blob, a manifest or a tag visible there.
 *
 *   blobs/<alg>/<hex>                                 content, immutable, verified
 *   repos/<name>/_layers/<alg>/<hex>                  blob linked in the repo (empty)
 *   repos/<name>/_manifests/revisions/<alg>/<hex>     manifest in the repo (its media type)
 *   repos/<name>/_manifests/tags/<tag>                tag (the manifest digest)
 *   repos/<name>/_referrers/<alg>/<subject hex>/<alg>-<hex>   referrer descriptor (JSON)
 *   repos/<name>/_uploads/<id>/{data,startedat}       upload sessions
 *
 * Name components never start with '_' (the name grammar), so these folders cannot clash
 * with nested repository names. Every write is temp + fsync + rename. */
#include "registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/fileutil.h"

static void split_digest(const char *digest, char *alg, size_t alen, const char **hex)
{
  const char *colon = strchr(digest, ':');
  size_t n = colon ? (size_t)(colon - digest) : 0;
  if (n >= alen)
    n = alen - 1;
  memcpy(alg, digest, n);
  alg[n] = '\0';
  *hex = colon ? colon + 1 : digest;
}

static void fsync_dir(const char *path)
{
  _cleanup_close_ int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    fsync(dfd);
}

/* bf_write_atomic (temp + fsync + rename, a temp name per call) into a directory made as
 * needed. */
static int write_atomic(const char *path, const void *buf, size_t len, struct berr *err)
{
  _cleanup_free_ char *dir = strdup(path);
  if (!dir)
    return berr_set(err, ENOMEM, "write %s", path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  int r = bf_mkdir_p(dir, 0755, err);
  if (r < 0)
    return r;
  return bf_write_atomic(path, buf, len, 0644, err);
}

int store_init(struct reg_store *st, const char *root, struct berr *err)
{
  st->root = strdup(root);
  if (!st->root)
    return berr_set(err, ENOMEM, "store");
  char p[PATH_MAX];
  const char *dirs[] = {"blobs/sha256", "blobs/sha512", "repos"};
  for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
    snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
    int r = bf_mkdir_p(p, 0755, err);
    if (r < 0)
      return berr_wrap(err, "storage root %s", root);
  }
  return 0;
}

int store_lock(struct reg_store *st, bool exclusive, struct berr *err)
{
  char p[PATH_MAX];
  snprintf(p, sizeof(p), "%s/.gc.lock", st->root);
  int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return berr_errno(err, "open %s", p);
  while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
    if (errno != EINTR) {
      int r = berr_errno(err, "lock %s", p);
      close(fd);
      return r;
    }
  }
  return fd;
}

void store_blob_path(struct reg_store *st, const char *digest, char *out, size_t len)
{
  char alg[16];
  const char *hex;
  split_digest(digest, alg, sizeof(alg), &hex);
  snprintf(out, len, "%s/blobs/%s/%s", st->root, alg, hex);
}

static void repo_path(struct reg_store *st, const char *name, const char *sub, char *out,
                      size_t len)
{
  snprintf(out, len, "%s/repos/%s/%s", st->root, name, sub);
}

static void layer_link_path(struct reg_store *st, const char *name, const char *digest, char *out,
                            size_t len)
{
  char alg[16];
  const char *hex;
  split_digest(digest, alg, sizeof(alg), &hex);
  snprintf(out, len, "%s/repos/%s/_layers/%s/%s", st->root, name, alg, hex);
}

static void revision_path(struct reg_store *st, const char *name, const char *digest, char *out,
                          size_t len)
{
  char alg[16];
  const char *hex;
  split_digest(digest, alg, sizeof(alg), &hex);
  snprintf(out, len, "%s/repos/%s/_manifests/revisions/%s/%s", st->root, name, alg, hex);
}

static void tag_path(struct reg_store *st, const char *name, const char *tag, char *out, size_t len)
{
  snprintf(out, len, "%s/repos/%s/_manifests/tags/%s", st->root, name, tag);
}

static void referrer_path(struct reg_store *st, const char *name, const char *subject,
                          const char *digest, char *out, size_t len)
{
  char salg[16], alg[16];
  const char *shex, *hex;
  split_digest(subject, salg, sizeof(salg), &shex);
  if (!digest) {
    snprintf(out, len, "%s/repos/%s/_referrers/%s/%s", st->root, name, salg, shex);
    return;
  }
  split_digest(digest, alg, sizeof(alg), &hex);
  snprintf(out, len, "%s/repos/%s/_referrers/%s/%s/%s-%s.json", st->root, name, salg, shex, alg,
           hex);
}

bool store_repo_exists(struct reg_store *st, const char *name)
{
  char p[PATH_MAX];
  struct stat sb;
  repo_path(st, name, "_manifests", p, sizeof(p));
  if (stat(p, &sb) == 0)
    return true;
  repo_path(st, name, "_layers", p, sizeof(p));
  if (stat(p, &sb) == 0)
    return true;
  repo_path(st, name, "_uploads", p, sizeof(p));
  return stat(p, &sb) == 0;
}

bool store_repo_has_blob(struct reg_store *st, const char *name, const char *digest)
{
  char p[PATH_MAX], b[PATH_MAX];
  struct stat sb;
  layer_link_path(st, name, digest, p, sizeof(p));
  store_blob_path(st, digest, b, sizeof(b));
  return stat(p, &sb) == 0 && stat(b, &sb) == 0;
}

int store_link_blob(struct reg_store *st, const char *name, const char *digest, struct berr *err)
{
  char p[PATH_MAX];
  layer_link_path(st, name, digest, p, sizeof(p));
  return write_atomic(p, "", 0, err);
}

int store_unlink_blob(struct reg_store *st, const char *name, const char *digest, struct berr *err)
{
  char p[PATH_MAX];
  layer_link_path(st, name, digest, p, sizeof(p));
  if (unlink(p) < 0)
    return errno == ENOENT ? -ENOENT : berr_errno(err, "unlink %s", p);
  return 0;
}

void store_upload_dir(struct reg_store *st, const char *name, const char *id, char *out, size_t len)
{
  snprintf(out, len, "%s/repos/%s/_uploads/%s", st->root, name, id);
}

int store_upload_create(struct reg_store *st, const char *name, char id[33], struct berr *err)
{
  unsigned char rnd[16];
  if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
    return berr_errno(err, "getrandom");
  for (size_t i = 0; i < sizeof(rnd); i++)
    snprintf(id + 2 * i, 3, "%02x", rnd[i]);
  char dir[PATH_MAX], p[PATH_MAX];
  store_upload_dir(st, name, id, dir, sizeof(dir));
  int r = bf_mkdir_p(dir, 0755, err);
  if (r < 0)
    return r;
  char stamp[32];
  int n = snprintf(stamp, sizeof(stamp), "%lld\n", (long long)time(NULL));
  snprintf(p, sizeof(p), "%s/startedat", dir);
  r = write_atomic(p, stamp, (size_t)n, err);
  if (r < 0)
    return r;
  snprintf(p, sizeof(p), "%s/data", dir);
  _cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return berr_errno(err, "create %s", p);
  return 0;
}

bool store_upload_exists(struct reg_store *st, const char *name, const char *id)
{
  char p[PATH_MAX];
  struct stat sb;
  store_upload_dir(st, name, id, p, sizeof(p));
  strncat(p, "/data", sizeof(p) - strlen(p) - 1);
  return stat(p, &sb) == 0;
}

int64_t store_upload_size(struct reg_store *st, const char *name, const char *id)
{
  char p[PATH_MAX];
  struct stat sb;
  store_upload_dir(st, name, id, p, sizeof(p));
  strncat(p, "/data", sizeof(p) - strlen(p) - 1);
  if (stat(p, &sb) < 0)
    return -errno;
  return (int64_t)sb.st_size;
}

int store_upload_open(struct reg_store *st, const char *name, const char *id, int *out,
                      struct berr *err)
{
  char p[PATH_MAX];
  store_upload_dir(st, name, id, p, sizeof(p));
  strncat(p, "/data", sizeof(p) - strlen(p) - 1);
  _cleanup_close_ int fd = open(p, O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? -ENOENT : berr_errno(err, "open %s", p);
  /* one writer per upload: a second PATCH waits rather than interleaving its bytes */
  while (flock(fd, LOCK_EX) < 0)
    if (errno != EINTR)
      return berr_errno(err, "lock %s", p);
  *out = steal_fd(&fd);
  return 0;
}

int store_upload_cancel(struct reg_store *st, const char *name, const char *id, struct berr *err)
{
  char p[PATH_MAX];
  store_upload_dir(st, name, id, p, sizeof(p));
  struct stat sb;
  if (stat(p, &sb) < 0)
    return -ENOENT;
  return bf_rm_rf(p, err);
}

int store_upload_commit(struct reg_store *st, const char *name, const char *id, const char *digest,
                        struct berr *err)
{
  char alg[16];
  const char *hex;
  split_digest(digest, alg, sizeof(alg), &hex);
  char dir[PATH_MAX], data[PATH_MAX], blob[PATH_MAX];
  store_upload_dir(st, name, id, dir, sizeof(dir));
  snprintf(data, sizeof(data), "%s/data", dir);
  _cleanup_close_ int fd = -1;
  int r = store_upload_open(st, name, id, &fd, err);
  if (r < 0)
    return r;
  char got[REG_DIGEST_MAX];
  r = bdigest_fd(alg, fd, got, sizeof(got), err);
  if (r < 0)
    return r;
  if (strcmp(got, digest) != 0) {
    struct berr e2;
    store_upload_cancel(st, name, id, &e2);
    return berr_set(err, EBADMSG, "content digest %s does not match %s", got, digest);
  }
  if (fsync(fd) < 0)
    return berr_errno(err, "fsync %s", data);

  _cleanup_close_ int lock = store_lock(st, false, err);
  if (lock < 0)
    return lock;
  store_blob_path(st, digest, blob, sizeof(blob));
  struct stat sb;
  if (stat(blob, &sb) == 0) {
    /* already stored: refresh its age so a concurrent gc's grace period covers it */
    utimensat(AT_FDCWD, blob, NULL, 0);
  } else {
    char bdir[PATH_MAX];
    snprintf(bdir, sizeof(bdir), "%s/blobs/%s", st->root, alg);
    r = bf_mkdir_p(bdir, 0755, err);
    if (r < 0)
      return r;
    if (rename(data, blob) < 0)
      return berr_errno(err, "store blob %s", digest);
    fsync_dir(bdir);
  }
  r = store_link_blob(st, name, digest, err);
  if (r < 0)
    return r;
  store_upload_cancel(st, name, id, err);
  return 0;
}

int store_manifest_put(struct reg_store *st, const char *name, const char *digest,
                       const char *media_type, const void *buf, size_t len, const char *const *tags,
                       size_t ntags, const char *subject, json_t *desc, struct berr *err)
{
  char p[PATH_MAX];
  _cleanup_close_ int lock = store_lock(st, false, err);
  if (lock < 0)
    return lock;
  store_blob_path(st, digest, p, sizeof(p));
  int r = write_atomic(p, buf, len, err);
  if (r < 0)
    return r;
  if (subject && desc) {
    _cleanup_free_ char *text = json_dumps(desc, JSON_COMPACT);
    if (!text)
      return berr_set(err, ENOMEM, "referrer descriptor");
    referrer_path(st, name, subject, digest, p, sizeof(p));
    r = write_atomic(p, text, strlen(text), err);
    if (r < 0)
      return r;
  }
  revision_path(st, name, digest, p, sizeof(p));
  r = write_atomic(p, media_type, strlen(media_type), err);
  if (r < 0)
    return r;
  for (size_t i = 0; r == 0 && i < ntags; i++) {
    tag_path(st, name, tags[i], p, sizeof(p));
    r = write_atomic(p, digest, strlen(digest), err);
  }
  return r;
}

bool store_manifest_exists(struct reg_store *st, const char *name, const char *digest)
{
  char p[PATH_MAX];
  struct stat sb;
  revision_path(st, name, digest, p, sizeof(p));
  return stat(p, &sb) == 0;
}

static int read_small(const char *path, char **out)
{
  struct berr e;
  size_t len;
  int r = bf_read_all(path, out, &len, &e);
  if (r < 0)
    return r;
  /* links end at the first newline, if any */
  (*out)[strcspn(*out, "\n")] = '\0';
  return 0;
}

static int resolve_ref(struct reg_store *st, const char *name, const char *ref,
                       char digest[REG_DIGEST_MAX])
{
  if (reg_digest_valid(ref)) {
    snprintf(digest, REG_DIGEST_MAX, "%s", ref);
    return 0;
  }
  char p[PATH_MAX];
  tag_path(st, name, ref, p, sizeof(p));
  _cleanup_free_ char *d = NULL;
  int r = read_small(p, &d);
  if (r < 0)
    return r;
  if (!reg_digest_valid(d))
    return -ENOENT;
  snprintf(digest, REG_DIGEST_MAX, "%s", d);
  return 0;
}

int store_manifest_get(struct reg_store *st, const char *name, const char *ref, char **buf,
                       size_t *len, char **media_type, char digest[REG_DIGEST_MAX],
                       struct berr *err)
{
  int r = resolve_ref(st, name, ref, digest);
  if (r < 0)
    return -ENOENT;
  char p[PATH_MAX];
  revision_path(st, name, digest, p, sizeof(p));
  r = read_small(p, media_type);
  if (r < 0)
    return -ENOENT;
  if (!buf)
    return 0;
  store_blob_path(st, digest, p, sizeof(p));
  r = bf_read_all(p, buf, len, err);
  if (r < 0) {
    free(*media_type);
    *media_type = NULL;
    return -ENOENT;
  }
  return 0;
}

/* Tags that point at digest, removed (a manifest deleted by digest takes its tags along). */
static void untag_digest(struct reg_store *st, const char *name, const char *digest)
{
  char dir[PATH_MAX];
  repo_path(st, name, "_manifests/tags", dir, sizeof(dir));
  _cleanup_closedir_ DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
    _cleanup_free_ char *v = NULL;
    if (read_small(p, &v) == 0 && strcmp(v, digest) == 0)
      unlink(p);
  }
}

/* The referrer entry of a manifest, if it had a subject. */
static void drop_referrer(struct reg_store *st, const char *name, const char *digest)
{
  char p[PATH_MAX];
  store_blob_path(st, digest, p, sizeof(p));
  _cleanup_json_ json_t *m = json_load_file(p, 0, NULL);
  json_t *subj = m ? json_object_get(m, "subject") : NULL;
  const char *sd = subj ? json_string_value(json_object_get(subj, "digest")) : NULL;
  if (!sd || !reg_digest_valid(sd))
    return;
  referrer_path(st, name, sd, digest, p, sizeof(p));
  unlink(p);
}

int store_manifest_delete(struct reg_store *st, const char *name, const char *ref, struct berr *err)
{
  char p[PATH_MAX];
  if (!reg_digest_valid(ref)) {
    tag_path(st, name, ref, p, sizeof(p));
    if (unlink(p) < 0)
      return errno == ENOENT ? -ENOENT : berr_errno(err, "untag %s", ref);
    return 0;
  }
  revision_path(st, name, ref, p, sizeof(p));
  struct stat sb;
  if (stat(p, &sb) < 0)
    return -ENOENT;
  drop_referrer(st, name, ref);
  untag_digest(st, name, ref);
  if (unlink(p) < 0)
    return berr_errno(err, "delete manifest %s", ref);
  return 0;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int strv_push(char ***v, size_t *n, size_t *cap, const char *s)
{
  if (*n + 2 > *cap) {
    size_t nc = *cap ? *cap * 2 : 16;
    char **nv = realloc(*v, nc * sizeof(char *));
    if (!nv)
      return -ENOMEM;
    *v = nv;
    *cap = nc;
  }
  (*v)[*n] = strdup(s);
  if (!(*v)[*n])
    return -ENOMEM;
  (*n)++;
  (*v)[*n] = NULL;
  return 0;
}

int store_tags(struct reg_store *st, const char *name, char ***out, size_t *n, struct berr *err)
{
  char dir[PATH_MAX];
  repo_path(st, name, "_manifests/tags", dir, sizeof(dir));
  _cleanup_strv_ char **v = calloc(1, sizeof(char *));
  size_t cnt = 0, cap = 1;
  if (!v)
    return berr_set(err, ENOMEM, "tags");
  _cleanup_closedir_ DIR *d = opendir(dir);
  if (d) {
    struct dirent *de;
    while ((de = readdir(d))) {
      if (de->d_name[0] == '.')
        continue;
      if (strv_push(&v, &cnt, &cap, de->d_name) < 0)
        return berr_set(err, ENOMEM, "tags");
    }
  }
  qsort(v, cnt, sizeof(char *), cmp_str);
  *n = cnt;
  *out = steal_ptr(v);
  return 0;
}

/* Depth-first walk of repos/: a folder holding _manifests or _layers is a repository. */
static int walk_repos(const char *base, const char *rel, char ***v, size_t *n, size_t *cap,
                      int depth)
{
  if (depth > 32)
    return 0;
  char dir[PATH_MAX];
  snprintf(dir, sizeof(dir), "%s%s%s", base, *rel ? "/" : "", rel);
  _cleanup_closedir_ DIR *d = opendir(dir);
  if (!d)
    return 0;
  bool is_repo = false;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    if (strcmp(de->d_name, "_manifests") == 0 || strcmp(de->d_name, "_layers") == 0) {
      is_repo = true;
      continue;
    }
    if (de->d_name[0] == '_' || de->d_type != DT_DIR)
      continue;
    char sub[PATH_MAX];
    snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
    int r = walk_repos(base, sub, v, n, cap, depth + 1);
    if (r < 0)
      return r;
  }
  if (is_repo && *rel)
    return strv_push(v, n, cap, rel);
  return 0;
}

int store_catalog(struct reg_store *st, char ***out, size_t *n, struct berr *err)
{
  char base[PATH_MAX];
  snprintf(base, sizeof(base), "%s/repos", st->root);
  _cleanup_strv_ char **v = calloc(1, sizeof(char *));
  size_t cnt = 0, cap = 1;
  if (!v || walk_repos(base, "", &v, &cnt, &cap, 0) < 0)
    return berr_set(err, ENOMEM, "catalog");
  qsort(v, cnt, sizeof(char *), cmp_str);
  *n = cnt;
  *out = steal_ptr(v);
  return 0;
}

int store_referrers(struct reg_store *st, const char *name, const char *digest, json_t **out,
                    struct berr *err)
{
  char dir[PATH_MAX];
  referrer_path(st, name, digest, NULL, dir, sizeof(dir));
  json_auto_t *arr = json_array();
  if (!arr)
    return berr_set(err, ENOMEM, "referrers");
  _cleanup_strv_ char **names = calloc(1, sizeof(char *));
  size_t cnt = 0, cap = 1;
  _cleanup_closedir_ DIR *d = opendir(dir);
  if (d) {
    struct dirent *de;
    while ((de = readdir(d)))
      if (de->d_name[0] != '.' && strv_push(&names, &cnt, &cap, de->d_name) < 0)
        return berr_set(err, ENOMEM, "referrers");
  }
  qsort(names, cnt, sizeof(char *), cmp_str);
  for (size_t i = 0; i < cnt; i++) {
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
    json_t *desc = json_load_file(p, 0, NULL);
    const char *dd = desc ? json_string_value(json_object_get(desc, "digest")) : NULL;
    /* a referrer whose manifest was deleted by another path is not listed */
    if (dd && store_manifest_exists(st, name, dd))
      json_array_append_new(arr, desc);
    else
      json_decref(desc);
  }
  *out = steal_ptr(arr);
  return 0;
}

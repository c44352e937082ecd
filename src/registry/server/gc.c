/* Garbage collection: mark every blob a manifest of any repository references (config,
 * layers, child manifests, the manifests themselves), then sweep the rest. Safe against a
 * running server: the sweep holds the store's exclusive lock (writers hold it shared while
 * they check and link), blobs younger than the grace period are kept (a push in progress
 * uploads layers before its manifest), and open uploads are left alone unless stale. */
#include "registry.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/fileutil.h"

struct mark_set {
  char **v;
  size_t n, cap;
};

static int mark(struct mark_set *m, const char *digest)
{
  if (!reg_digest_valid(digest))
    return 0;
  if (m->n == m->cap) {
    size_t nc = m->cap ? m->cap * 2 : 256;
    char **nv = realloc(m->v, nc * sizeof(char *));
    if (!nv)
      return -ENOMEM;
    m->v = nv;
    m->cap = nc;
  }
  m->v[m->n] = strdup(digest);
  return m->v[m->n++] ? 0 : -ENOMEM;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool marked(struct mark_set *m, const char *digest)
{
  return bsearch(&digest, m->v, m->n, sizeof(char *), cmp_str) != NULL;
}

static int mark_manifest(struct reg_store *st, struct mark_set *m, const char *digest)
{
  char p[PATH_MAX];
  int r = mark(m, digest);
  if (r < 0)
    return r;
  store_blob_path(st, digest, p, sizeof(p));
  json_auto_t *j = json_load_file(p, 0, NULL);
  if (!j)
    return 0;
  const char *cd = json_string_value(json_object_get(json_object_get(j, "config"), "digest"));
  if (cd && (r = mark(m, cd)) < 0)
    return r;
  const char *arrays[] = {"layers", "manifests"};
  for (size_t k = 0; k < ARRAY_SIZE(arrays); k++) {
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(j, arrays[k]), i, d)
    {
      const char *dd = json_string_value(json_object_get(d, "digest"));
      if (dd && (r = mark(m, dd)) < 0)
        return r;
    }
  }
  return 0;
}

static bool older_than(const char *path, time_t cutoff)
{
  struct stat sb;
  return lstat(path, &sb) == 0 && sb.st_mtime < cutoff;
}

/* Each "<dir>/<alg>/<hex>" entry as "<alg>:<hex>" to fn. */
static int for_each_digest(const char *dir,
                           int (*fn)(const char *path, const char *digest, void *ctx), void *ctx)
{
  const char *algs[] = {"sha256", "sha512"};
  for (size_t a = 0; a < ARRAY_SIZE(algs); a++) {
    char ad[PATH_MAX];
    snprintf(ad, sizeof(ad), "%s/%s", dir, algs[a]);
    _cleanup_closedir_ DIR *d = opendir(ad);
    if (!d)
      continue;
    struct dirent *de;
    while ((de = readdir(d))) {
      if (de->d_name[0] == '.')
        continue;
      char p[PATH_MAX], digest[REG_DIGEST_MAX];
      snprintf(p, sizeof(p), "%s/%s", ad, de->d_name);
      snprintf(digest, sizeof(digest), "%s:%s", algs[a], de->d_name);
      int r = fn(p, digest, ctx);
      if (r < 0)
        return r;
    }
  }
  return 0;
}

struct sweep_ctx {
  struct reg_store *st;
  struct mark_set *m;
  time_t cutoff;
  bool dry_run;
  struct reg_gc_stats *stats;
  const char *repo;
};

static int mark_revision(const char *path, const char *digest, void *ctx)
{
  struct sweep_ctx *c = ctx;
  return mark_manifest(c->st, c->m, digest);
}

/* A repo's link to a blob that will be swept goes first, so no repo shows a missing blob. */
static int sweep_link(const char *path, const char *digest, void *ctx)
{
  struct sweep_ctx *c = ctx;
  char blob[PATH_MAX];
  store_blob_path(c->st, digest, blob, sizeof(blob));
  struct stat sb;
  bool blob_gone = stat(blob, &sb) < 0;
  if (marked(c->m, digest) || (!blob_gone && !older_than(blob, c->cutoff)))
    return 0;
  if (!c->dry_run)
    unlink(path);
  c->stats->links_removed++;
  return 0;
}

static int sweep_blob(const char *path, const char *digest, void *ctx)
{
  struct sweep_ctx *c = ctx;
  if (marked(c->m, digest) || !older_than(path, c->cutoff)) {
    c->stats->blobs_kept++;
    return 0;
  }
  if (!c->dry_run && unlink(path) < 0 && errno != ENOENT)
    return -errno;
  c->stats->blobs_removed++;
  return 0;
}

static void sweep_uploads(struct sweep_ctx *c, const char *repo, time_t upload_cutoff)
{
  char dir[PATH_MAX];
  snprintf(dir, sizeof(dir), "%s/repos/%s/_uploads", c->st->root, repo);
  _cleanup_closedir_ DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    char data[PATH_MAX], up[PATH_MAX];
    snprintf(up, sizeof(up), "%s/%s", dir, de->d_name);
    snprintf(data, sizeof(data), "%s/data", up);
    /* the data's mtime moves with every chunk: only uploads idle that long go */
    if (!older_than(data, upload_cutoff) && !older_than(up, upload_cutoff))
      continue;
    struct stat sb;
    if (stat(data, &sb) == 0 && !older_than(data, upload_cutoff))
      continue;
    struct berr err;
    if (!c->dry_run)
      bf_rm_rf(up, &err);
    c->stats->uploads_removed++;
  }
}

/* Temp files a writer killed mid-write left behind next to their target: ".<name>.tmp.XXXXXX"
 * (bf_write_atomic), or ".tmp-XXXXXX" from earlier versions. */
static time_t tmp_cutoff;
static size_t tmp_removed;
static bool tmp_dry_run;

static int sweep_tmp(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
  const char *base = path + ftw->base;
  const char *t = base[0] == '.' ? strstr(base, ".tmp.") : NULL;
  bool temp = strncmp(base, ".tmp-", 5) == 0 || (t && t > base && strlen(t) == 11);
  if (type == FTW_F && temp && sb->st_mtime < tmp_cutoff) {
    if (!tmp_dry_run)
      unlink(path);
    tmp_removed++;
  }
  return 0;
}

int reg_gc(const char *root, long grace_seconds, long upload_grace_seconds, bool dry_run,
           struct reg_gc_stats *stats, struct berr *err)
{
  struct reg_store st = {0};
  memset(stats, 0, sizeof(*stats));
  int r = store_init(&st, root, err);
  if (r < 0)
    return r;
  _cleanup_free_ char *rootcopy = st.root;
  _cleanup_close_ int lock = store_lock(&st, true, err);
  if (lock < 0)
    return lock;
  _cleanup_strv_ char **repos = NULL;
  size_t nrepos = 0;
  if ((r = store_catalog(&st, &repos, &nrepos, err)) < 0)
    return r;
  struct mark_set m = {0};
  time_t now = time(NULL);
  struct sweep_ctx c = {&st, &m, now - grace_seconds, dry_run, stats, NULL};
  for (size_t i = 0; i < nrepos && r == 0; i++) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/repos/%s/_manifests/revisions", root, repos[i]);
    r = for_each_digest(dir, mark_revision, &c);
  }
  if (r == 0)
    qsort(m.v, m.n, sizeof(char *), cmp_str);
  for (size_t i = 0; i < nrepos && r == 0; i++) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/repos/%s/_layers", root, repos[i]);
    r = for_each_digest(dir, sweep_link, &c);
    sweep_uploads(&c, repos[i], now - upload_grace_seconds);
  }
  if (r == 0) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/blobs", root);
    r = for_each_digest(dir, sweep_blob, &c);
  }
  if (r == 0) {
    /* gc runs one at a time (the exclusive lock), so the walk's globals are ours */
    tmp_cutoff = now - grace_seconds;
    tmp_removed = 0;
    tmp_dry_run = dry_run;
    nftw(root, sweep_tmp, 32, FTW_PHYS | FTW_MOUNT);
    stats->temps_removed = tmp_removed;
  }
  for (size_t i = 0; i < m.n; i++)
    free(m.v[i]);
  free(m.v);
  if (r < 0)
    return berr_set(err, r, "garbage collection in %s", root);
  return 0;
}

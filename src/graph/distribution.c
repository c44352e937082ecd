/* The graph side of registry pulls and pushes: downloads enter the content store only
 * through the verifying writer (a pulled image is then registered layer by layer, see
 * graph_unpack_* in register.c), and a push gets an image's manifest and blobs. */
#include "graph/distribution.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/lazylib.h"
#include "graph/reference.h"
#include "graph_priv.h"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"

int graph_blob_writer_begin(struct graph *g, struct graph_blob_writer **w, struct berr *err)
{
  return graph_store_writer_new(g->store, w, err);
}

bool graph_blob_present(struct graph *g, const char *digest)
{
  return graph_digest_valid(digest) && graph_store_has(g->store, digest);
}

int graph_blob_put(struct graph *g, const void *buf, size_t len, const char *expected,
                   struct berr *err)
{
  return graph_store_put(g->store, buf, len, expected, NULL, err);
}

int graph_blob_open(struct graph *g, const char *digest, int *fd, int64_t *size, struct berr *err)
{
  if (!graph_digest_valid(digest))
    return berr_set(err, 0, "invalid digest \"%s\"", digest);
  int r = graph_store_open_blob(g->store, digest, fd, err);
  if (r < 0)
    return r;
  struct stat st;
  if (fstat(*fd, &st) < 0) {
    r = berr_errno(err, "blob %s", digest);
    close(*fd);
    *fd = -1;
    return r;
  }
  *size = st.st_size;
  return 0;
}

static char *join_key(const char *name, const char *sep, const char *what)
{
  char *k = NULL;
  if (asprintf(&k, "%s%s%s", name, sep, what) < 0)
    return NULL;
  return k;
}

/* Whether the stored manifest can be pushed as is: an image manifest whose config is this
 * image and whose blobs are all here. */
static bool manifest_usable(struct graph *g, const char *buf, size_t len, const char *id,
                            const char **mt)
{
  json_auto_t *m = json_loadb(buf, len, 0, NULL);
  const char *t = json_string_value(json_object_get(m, "mediaType"));
  if (!t)
    t = MT_OCI_MANIFEST;
  if (strcmp(t, MT_OCI_MANIFEST) && strcmp(t, MT_DOCKER_MANIFEST))
    return false;
  const char *cd = json_string_value(json_object_get(json_object_get(m, "config"), "digest"));
  if (!cd || strcmp(cd, id))
    return false;
  size_t i;
  json_t *l;
  json_array_foreach(json_object_get(m, "layers"), i, l)
  {
    const char *d = json_string_value(json_object_get(l, "digest"));
    if (!d || !graph_blob_present(g, d))
      return false;
  }
  *mt = !strcmp(t, MT_OCI_MANIFEST) ? MT_OCI_MANIFEST : MT_DOCKER_MANIFEST;
  return true;
}

/* zlib is loaded on first use like libarchive (common/lazylib.h): only a push of a layer
 * kept as a plain tar needs it. */
static __typeof__(&deflateInit2_) z_deflate_init2;
static __typeof__(&deflateSetHeader) z_deflate_set_header;
static __typeof__(&deflate) z_deflate;
static __typeof__(&deflateEnd) z_deflate_end;
static const struct lazylib_sym zlib_syms[] = {
    {"deflateInit2_", (void **)&z_deflate_init2},
    {"deflateSetHeader", (void **)&z_deflate_set_header},
    {"deflate", (void **)&z_deflate},
    {"deflateEnd", (void **)&z_deflate_end},
};
static struct lazylib zlib_lib = LAZYLIB_INIT("libz.so.1", zlib_syms);

static bool plain_tar_type(const char *mt)
{
  return !mt || !strcmp(mt, "application/vnd.oci.image.layer.v1.tar") ||
         !strcmp(mt, "application/vnd.docker.image.rootfs.diff.tar");
}

/* gzip of a stored plain-tar layer into the store, as registries and Docker expect layers;
 * mtime 0 and a fixed level make the result the same every time. */
static int gzip_blob(struct graph *g, const char *digest, char out[GRAPH_DIGEST_LEN + 1],
                     int64_t *size, struct berr *err)
{
  _cleanup_close_ int fd = -1;
  if (!lazylib_load(&zlib_lib))
    return berr_set(err, ELIBACC, "gzip layer %s: %s", digest, zlib_lib.error);
  int r = graph_store_open_blob(g->store, digest, &fd, err);
  if (r < 0)
    return r;
  struct graph_blob_writer *w = NULL;
  if ((r = graph_store_writer_new(g->store, &w, err)) < 0)
    return r;
  z_stream z = {0};
  if (z_deflate_init2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                      (int)sizeof(z)) != Z_OK) {
    graph_blob_writer_abort(w);
    return berr_set(err, ENOMEM, "gzip layer %s", digest);
  }
  gz_header hdr = {.os = 3};
  z_deflate_set_header(&z, &hdr);
  _cleanup_free_ unsigned char *in = malloc(1 << 16), *outb = malloc(1 << 16);
  if (!in || !outb)
    r = berr_set(err, ENOMEM, "gzip layer %s", digest);
  int flush = Z_NO_FLUSH;
  while (r == 0 && flush != Z_FINISH) {
    ssize_t n = read(fd, in, 1 << 16);
    if (n < 0) {
      r = berr_errno(err, "read layer %s", digest);
      break;
    }
    flush = n == 0 ? Z_FINISH : Z_NO_FLUSH;
    z.next_in = in;
    z.avail_in = (uInt)n;
    do {
      z.next_out = outb;
      z.avail_out = 1 << 16;
      z_deflate(&z, flush);
      size_t have = (1 << 16) - z.avail_out;
      if (have && (r = graph_blob_writer_write(w, outb, have, err)) < 0)
        break;
    } while (z.avail_out == 0);
  }
  z_deflate_end(&z);
  if (r < 0) {
    graph_blob_writer_abort(w);
    return r;
  }
  return graph_blob_writer_commit(w, NULL, out, size, err);
}

static int build_manifest(struct graph *g, const char *id, char **out, size_t *len,
                          struct berr *err)
{
  _cleanup_free_ char *cbuf = NULL;
  size_t clen = 0;
  int r = graph_store_read(g->store, id, &cbuf, &clen, err);
  if (r < 0)
    return berr_wrap(err, "image config");
  json_auto_t *layers = json_array();
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  if ((r = graph_db_prepare(g->db, &st, err,
                            "SELECT l.blob, l.media_type, l.blob_size FROM image_layers il"
                            " JOIN layers l ON l.chain_id = il.chain_id WHERE il.image_id = ?"
                            " ORDER BY il.idx",
                            1, id)) < 0)
    return r;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const char *blob = (const char *)sqlite3_column_text(st, 0);
    const char *mt = (const char *)sqlite3_column_text(st, 1);
    int64_t size = sqlite3_column_int64(st, 2);
    if (!blob || !graph_store_has(g->store, blob))
      return berr_set(err, ENOENT, "layer blob %s of image %s is not in the store",
                      blob ? blob : "(none)", id);
    char gzd[GRAPH_DIGEST_LEN + 1];
    if (plain_tar_type(mt)) {
      if ((r = gzip_blob(g, blob, gzd, &size, err)) < 0)
        return r;
      blob = gzd;
      mt = MT_OCI_LAYER_GZIP;
    }
    json_array_append_new(layers, json_pack("{s:s, s:s, s:I}", "mediaType", mt, "digest", blob,
                                            "size", (json_int_t)size));
  }
  json_auto_t *m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:O}", "schemaVersion", 2, "mediaType",
                             MT_OCI_MANIFEST, "config", "mediaType", MT_OCI_CONFIG, "digest", id,
                             "size", (json_int_t)clen, "layers", layers);
  char *s = m ? json_dumps(m, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  if (!s)
    return berr_set(err, ENOMEM, "manifest");
  *out = s;
  *len = strlen(s);
  return 0;
}

int graph_image_manifest(struct graph *g, const char *ref, char **manifest, size_t *len,
                         char **media_type, char id[GRAPH_DIGEST_LEN + 1], struct berr *err)
{
  graph_lock(g);
  int r = graph_resolve_locked(g, ref, id, err);
  _cleanup_free_ char *md = NULL;
  if (r == 0)
    r = graph_db_query_str(g->db, &md, err, "SELECT manifest FROM images WHERE id = ?", 1, id);
  if (r < 0) {
    graph_unlock(g);
    return r;
  }
  if (md && graph_store_has(g->store, md)) {
    char *buf = NULL;
    size_t l = 0;
    const char *mt = NULL;
    if (graph_store_read(g->store, md, &buf, &l, err) == 0 && manifest_usable(g, buf, l, id, &mt)) {
      graph_unlock(g);
      *manifest = buf;
      *len = l;
      *media_type = strdup(mt);
      return 0;
    }
    free(buf);
  }
  char *buf = NULL;
  size_t l = 0;
  char d[GRAPH_DIGEST_LEN + 1];
  if ((r = build_manifest(g, id, &buf, &l, err)) < 0 ||
      (r = graph_store_put(g->store, buf, l, NULL, d, err)) < 0 ||
      (r = graph_db_exec(g->db, err, "UPDATE images SET manifest = ? WHERE id = ?", 2, d, id)) <
          0) {
    graph_unlock(g);
    free(buf);
    return r;
  }
  graph_unlock(g);
  *manifest = buf;
  *len = l;
  *media_type = strdup(MT_OCI_MANIFEST);
  return 0;
}

int graph_layer_sources(struct graph *g, const char *id, size_t idx, const char *domain,
                        const char *exclude, size_t max, char ***paths, struct berr *err)
{
  char sidx[32];
  snprintf(sidx, sizeof(sidx), "%zu", idx);
  _cleanup_free_ char *pattern = join_key(domain, "/", "%@%");
  if (!pattern)
    return berr_set(err, ENOMEM, "sources");
  size_t dl = strlen(domain) + 1;
  graph_lock(g);
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = graph_db_prepare(g->db, &st, err,
                           "SELECT DISTINCT t.name FROM image_layers mine"
                           " JOIN image_layers other ON other.chain_id = mine.chain_id"
                           " JOIN tags t ON t.image_id = other.image_id"
                           " WHERE mine.image_id = ? AND mine.idx = ? AND t.name LIKE ?",
                           3, id, sidx, pattern);
  if (r < 0) {
    graph_unlock(g);
    return r;
  }
  char **v = calloc(max + 1, sizeof(char *));
  size_t n = 0;
  while (v && n < max && sqlite3_step(st) == SQLITE_ROW) {
    const char *k = (const char *)sqlite3_column_text(st, 0);
    const char *at = k ? strchr(k, '@') : NULL;
    if (!at || (size_t)(at - k) <= dl)
      continue;
    _cleanup_free_ char *path = strndup(k + dl, (size_t)(at - k) - dl);
    bool dup = !path || (exclude && !strcmp(path, exclude));
    for (size_t i = 0; !dup && i < n; i++)
      dup = !strcmp(v[i], path);
    if (!dup)
      v[n++] = steal_ptr(path);
  }
  graph_unlock(g);
  if (!v)
    return berr_set(err, ENOMEM, "sources");
  *paths = v;
  return 0;
}

int graph_add_repo_digest(struct graph *g, const char *name, const char *digest, const char *id,
                          struct berr *err)
{
  _cleanup_free_ char *key = join_key(name, "@", digest);
  if (!key)
    return berr_set(err, ENOMEM, "repo digest");
  graph_lock(g);
  int r = graph_set_tag_locked(g, key, id, err);
  graph_unlock(g);
  return r;
}

int graph_repo_tags(struct graph *g, const char *name, char ***tags, struct berr *err)
{
  _cleanup_free_ char *prefix = join_key(name, ":", "");
  if (!prefix)
    return berr_set(err, ENOMEM, "tags");
  size_t pl = strlen(prefix);
  graph_lock(g);
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = graph_db_prepare(g->db, &st, err, "SELECT name FROM tags ORDER BY name", 0);
  if (r < 0) {
    graph_unlock(g);
    return r;
  }
  char **v = calloc(1, sizeof(char *));
  size_t n = 0;
  while (v && sqlite3_step(st) == SQLITE_ROW) {
    const char *k = (const char *)sqlite3_column_text(st, 0);
    if (!k || strncmp(k, prefix, pl) != 0 || strchr(k + pl, '/') || strchr(k + pl, '@'))
      continue;
    char **nv = realloc(v, (n + 2) * sizeof(char *));
    if (!nv)
      break;
    v = nv;
    v[n++] = strdup(k + pl);
    v[n] = NULL;
  }
  graph_unlock(g);
  if (!v)
    return berr_set(err, ENOMEM, "tags");
  *tags = v;
  return 0;
}

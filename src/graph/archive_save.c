/* Saving images: docker-archive (the `docker save` layout that docker load, skopeo and
 * containerd read) and OCI layouts, as a directory or a tar. Layers are written from the
 * stored blobs: decompressed for docker-archive, as stored for OCI. */
#include "common/lazy_archive.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "common/fileutil.h"
#include "graph/image_archive.h"
#include "graph/image.h"
#include "graph/layerstream.h"
#include "graph/reference.h"
#include "graph_priv.h"

/* Where saved files go: a tar stream or a directory. */
struct sink {
  struct archive *a; /* tar */
  int dirfd;         /* directory */
  int fd;            /* current file in directory mode */
  char *curpath;
  struct berr *err;
};

static int sink_begin(struct sink *s, const char *path, int64_t size, struct berr *err)
{
  if (s->a) {
    struct archive_entry *e = archive_entry_new();
    archive_entry_copy_pathname(e, path);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, size);
    archive_entry_set_mtime(e, 0, 0);
    int ar = archive_write_header(s->a, e);
    archive_entry_free(e);
    if (ar < ARCHIVE_WARN)
      return berr_set(err, EIO, "write %s: %s", path, archive_error_string(s->a));
    return 0;
  }
  /* parent directories inside our own fresh output directory */
  _cleanup_free_ char *copy = strdup(path);
  if (!copy)
    return berr_set(err, ENOMEM, "save");
  for (char *p = strchr(copy, '/'); p; p = strchr(p + 1, '/')) {
    *p = '\0';
    if (mkdirat(s->dirfd, copy, 0755) < 0 && errno != EEXIST)
      return berr_errno(err, "mkdir %s", copy);
    *p = '/';
  }
  s->fd = openat(s->dirfd, path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (s->fd < 0)
    return berr_errno(err, "create %s", path);
  return 0;
}

static int sink_write_cb(void *ud, const void *buf, size_t len)
{
  struct sink *s = ud;
  if (s->a)
    return archive_write_data(s->a, buf, len) < 0 ? -EIO : 0;
  return bf_write_all(s->fd, buf, len);
}

static int sink_end(struct sink *s, struct berr *err)
{
  if (s->a)
    return 0;
  int r = 0;
  if (s->fd >= 0 && close(s->fd) < 0)
    r = berr_errno(err, "close");
  s->fd = -1;
  return r;
}

static int sink_buf(struct sink *s, const char *path, const void *buf, size_t len, struct berr *err)
{
  int r = sink_begin(s, path, (int64_t)len, err);
  if (r < 0)
    return r;
  if ((r = sink_write_cb(s, buf, len)) < 0)
    return berr_set(err, -r, "write %s", path);
  return sink_end(s, err);
}

static int sink_json(struct sink *s, const char *path, json_t *j, struct berr *err)
{
  _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
  if (!text)
    return berr_set(err, ENOMEM, "save");
  return sink_buf(s, path, text, strlen(text), err);
}

/* Copies a stored blob as is. */
static int sink_blob(struct graph *g, struct sink *s, const char *path, const char *digest,
                     struct berr *err)
{
  _cleanup_close_ int fd = -1;
  int r = graph_store_open_blob(g->store, digest, &fd, err);
  if (r < 0)
    return r;
  struct stat st;
  if (fstat(fd, &st) < 0)
    return berr_errno(err, "blob %s", digest);
  if ((r = sink_begin(s, path, st.st_size, err)) < 0)
    return r;
  char buf[1 << 16];
  int64_t left = st.st_size;
  while (left > 0) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0)
      return berr_set(err, n < 0 ? errno : EIO, "read blob %s", digest);
    if ((r = sink_write_cb(s, buf, (size_t)n)) < 0)
      return berr_set(err, -r, "write %s", path);
    left -= n;
  }
  return sink_end(s, err);
}

struct saved_image {
  char id[GRAPH_DIGEST_LEN + 1];
  char **keys; /* normalized tags to record */
  size_t nkeys;
};

static int add_key(struct saved_image *im, const char *key)
{
  for (size_t i = 0; i < im->nkeys; i++)
    if (!strcmp(im->keys[i], key))
      return 0;
  char **nk = realloc(im->keys, (im->nkeys + 2) * sizeof(char *));
  if (!nk)
    return -ENOMEM;
  im->keys = nk;
  im->keys[im->nkeys] = strdup(key);
  if (!im->keys[im->nkeys])
    return -ENOMEM;
  im->keys[++im->nkeys] = NULL;
  return 0;
}

static bool is_hex(const char *s)
{
  for (; *s; s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
      return false;
  return true;
}

static struct saved_image *find_or_add(struct saved_image *v, size_t *n, const char *id)
{
  for (size_t k = 0; k < *n; k++)
    if (!strcmp(v[k].id, id))
      return &v[k];
  snprintf(v[*n].id, sizeof(v[*n].id), "%s", id);
  return &v[(*n)++];
}

/* Which images and which of their names the refs select (docker save rules: a name with a
 * tag saves that tag, a bare name every tag of the repository, an ID no name). */
static int select_images(struct graph *g, const char *const *refs, size_t nrefs,
                         struct saved_image **out, size_t *nout, struct berr *err)
{
  int64_t nimages = 0;
  int r = graph_db_query_int(g->db, &nimages, err, "SELECT COUNT(*) FROM images", 0);
  if (r < 0)
    return r;
  /* never more entries than images */
  struct saved_image *v = calloc((size_t)nimages + 1, sizeof(*v));
  size_t n = 0;
  if (!v)
    return berr_set(err, ENOMEM, "save");
  for (size_t i = 0; i < nrefs && r == 0; i++) {
    /* a bare repository name: every tag of it, each with its own image */
    struct graph_ref pr;
    struct berr perr;
    const char *slash = strrchr(refs[i], '/');
    bool bare = !strchr(slash ? slash : refs[i], ':') && !strchr(refs[i], '@');
    if (bare && graph_ref_parse(refs[i], &pr, &perr) == 0) {
      _cleanup_free_ char *name = graph_ref_name(&pr), *pattern = NULL;
      graph_ref_clear(&pr);
      if (!name || asprintf(&pattern, "%s:*", name) < 0) {
        r = berr_set(err, ENOMEM, "save");
        break;
      }
      _cleanup_stmt_ sqlite3_stmt *st = NULL;
      if ((r = graph_db_prepare(g->db, &st, err,
                                "SELECT name, image_id FROM tags WHERE name GLOB ? ORDER BY name",
                                1, pattern)) < 0)
        break;
      bool any = false;
      while (r == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        const char *id = (const char *)sqlite3_column_text(st, 1);
        struct saved_image *im = find_or_add(v, &n, id);
        if (add_key(im, key) < 0)
          r = berr_set(err, ENOMEM, "save");
        any = true;
      }
      if (any || r < 0)
        continue;
    }
    char id[GRAPH_DIGEST_LEN + 1];
    if ((r = graph_resolve_locked(g, refs[i], id, err)) < 0)
      break;
    struct saved_image *im = find_or_add(v, &n, id);
    const char *hexref = !strncmp(refs[i], "sha256:", 7) ? refs[i] + 7 : refs[i];
    if (is_hex(hexref) && !strncmp(graph_digest_hex(id), hexref, strlen(hexref)))
      continue;
    if (graph_ref_parse(refs[i], &pr, err) < 0)
      continue;
    _cleanup_free_ char *key = graph_ref_key(&pr);
    graph_ref_clear(&pr);
    if (!key) {
      r = berr_set(err, ENOMEM, "save");
      break;
    }
    if (!strchr(key, '@') && add_key(im, key) < 0)
      r = berr_set(err, ENOMEM, "save");
  }
  if (r < 0) {
    for (size_t k = 0; k < n; k++)
      strvfreep(&v[k].keys);
    free(v);
    return r;
  }
  *out = v;
  *nout = n;
  return 0;
}

static void free_images(struct saved_image *v, size_t n)
{
  for (size_t k = 0; k < n; k++)
    strvfreep(&v[k].keys);
  free(v);
}

struct layer_row {
  char *chain, *diff_id, *blob, *media_type;
  int64_t blob_size, tar_size;
};

static void free_layer_rows(struct layer_row *l, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(l[i].chain);
    free(l[i].diff_id);
    free(l[i].blob);
    free(l[i].media_type);
  }
  free(l);
}

static int layer_rows(struct graph *g, const char *id, struct layer_row **out, size_t *nout,
                      struct berr *err)
{
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = graph_db_prepare(g->db, &st, err,
                           "SELECT l.chain_id, l.diff_id, l.blob, l.media_type, l.blob_size,"
                           " l.tar_size FROM image_layers il JOIN layers l ON l.chain_id ="
                           " il.chain_id WHERE il.image_id = ? ORDER BY il.idx",
                           1, id);
  if (r < 0)
    return r;
  size_t n = 0, cap = 8;
  struct layer_row *v = calloc(cap, sizeof(*v));
  if (!v)
    return berr_set(err, ENOMEM, "save");
  while (sqlite3_step(st) == SQLITE_ROW) {
    if (n == cap) {
      struct layer_row *nv = realloc(v, (cap *= 2) * sizeof(*v));
      if (!nv) {
        free_layer_rows(v, n);
        return berr_set(err, ENOMEM, "save");
      }
      v = nv;
    }
    struct layer_row *l = &v[n++];
    l->chain = strdup((const char *)sqlite3_column_text(st, 0));
    l->diff_id = strdup((const char *)sqlite3_column_text(st, 1));
    l->blob = strdup((const char *)sqlite3_column_text(st, 2));
    l->media_type = strdup((const char *)sqlite3_column_text(st, 3));
    l->blob_size = sqlite3_column_int64(st, 4);
    l->tar_size = sqlite3_column_int64(st, 5);
    if (!l->chain || !l->diff_id || !l->blob || !l->media_type) {
      free_layer_rows(v, n);
      return berr_set(err, ENOMEM, "save");
    }
  }
  *out = v;
  *nout = n;
  return 0;
}

static int save_docker(struct graph *g, struct saved_image *ims, size_t n, struct sink *s,
                       struct berr *err)
{
  json_t *manifest = json_array();
  json_t *repos = json_object();
  char **written = calloc(1, sizeof(char *));
  size_t nwritten = 0;
  int r = 0;
  for (size_t i = 0; i < n && r == 0; i++) {
    _cleanup_free_ char *config = NULL;
    size_t clen;
    char path[128];
    if ((r = graph_store_read(g->store, ims[i].id, &config, &clen, err)) < 0)
      break;
    snprintf(path, sizeof(path), "%s.json", graph_digest_hex(ims[i].id));
    if ((r = sink_buf(s, path, config, clen, err)) < 0)
      break;
    struct layer_row *layers = NULL;
    size_t nl = 0;
    if ((r = layer_rows(g, ims[i].id, &layers, &nl, err)) < 0)
      break;
    json_t *lpaths = json_array();
    for (size_t k = 0; k < nl && r == 0; k++) {
      char lpath[128];
      snprintf(lpath, sizeof(lpath), "%s/layer.tar", graph_digest_hex(layers[k].diff_id));
      json_array_append_new(lpaths, json_string(lpath));
      bool done = false;
      for (size_t w = 0; w < nwritten; w++)
        done |= !strcmp(written[w], layers[k].diff_id);
      if (done)
        continue;
      _cleanup_close_ int bfd = -1;
      if ((r = graph_store_open_blob(g->store, layers[k].blob, &bfd, err)) < 0 ||
          (r = sink_begin(s, lpath, layers[k].tar_size, err)) < 0 ||
          (r = graph_layer_decompress(bfd, sink_write_cb, s, err)) < 0 ||
          (r = sink_end(s, err)) < 0)
        break;
      char vpath[128];
      snprintf(vpath, sizeof(vpath), "%s/VERSION", graph_digest_hex(layers[k].diff_id));
      if ((r = sink_buf(s, vpath, "1.0", 3, err)) < 0)
        break;
      char **nw = realloc(written, (nwritten + 2) * sizeof(char *));
      if (!nw) {
        r = berr_set(err, ENOMEM, "save");
        break;
      }
      written = nw;
      written[nwritten++] = strdup(layers[k].diff_id);
    }
    free_layer_rows(layers, nl);
    json_t *tags = ims[i].nkeys ? json_array() : json_null();
    for (size_t t = 0; t < ims[i].nkeys; t++) {
      _cleanup_free_ char *f = graph_ref_familiar(ims[i].keys[t]);
      json_array_append_new(tags, json_string(f));
      char *colon = f ? strrchr(f, ':') : NULL;
      if (colon) {
        *colon = '\0';
        json_t *repo = json_object_get(repos, f);
        if (!repo)
          json_object_set_new(repos, f, repo = json_object());
        json_object_set_new(repo, colon + 1, json_string(graph_digest_hex(ims[i].id)));
      }
    }
    json_array_append_new(
        manifest, json_pack("{s:s, s:o, s:o}", "Config", path, "RepoTags", tags, "Layers", lpaths));
  }
  if (r == 0)
    r = sink_json(s, "manifest.json", manifest, err);
  if (r == 0 && json_object_size(repos))
    r = sink_json(s, "repositories", repos, err);
  for (size_t w = 0; w < nwritten; w++)
    free(written[w]);
  free(written);
  json_decref(manifest);
  json_decref(repos);
  return r;
}

/* The stored manifest when it still describes exactly our blobs (keeps its digest stable
 * across load/save); otherwise a fresh OCI manifest. */
static int oci_manifest(struct graph *g, const char *id, struct layer_row *layers, size_t nl,
                        size_t clen, char **out, struct berr *err)
{
  _cleanup_free_ char *mdigest = NULL;
  int r =
      graph_db_query_str(g->db, &mdigest, err, "SELECT manifest FROM images WHERE id = ?", 1, id);
  if (r < 0)
    return r;
  if (mdigest) {
    _cleanup_free_ char *buf = NULL;
    size_t len;
    _cleanup_json_ json_t *m = NULL;
    struct berr ignored;
    if (graph_store_read(g->store, mdigest, &buf, &len, &ignored) == 0 &&
        bjson_load_string(buf, len, &m, &ignored) == 0) {
      const char *mt = json_string_value(json_object_get(m, "mediaType"));
      json_t *ls = json_object_get(m, "layers");
      bool ok =
          mt && !strcmp(mt, "application/vnd.oci.image.manifest.v1+json") &&
          json_array_size(ls) == nl &&
          !strcmp(json_string_value(json_object_get(json_object_get(m, "config"), "digest")) ?: "",
                  id);
      for (size_t i = 0; ok && i < nl; i++)
        ok = !strcmp(json_string_value(json_object_get(json_array_get(ls, i), "digest")) ?: "",
                     layers[i].blob);
      if (ok) {
        *out = steal_ptr(buf);
        return 0;
      }
    }
  }
  json_t *jl = json_array();
  for (size_t i = 0; i < nl; i++)
    json_array_append_new(jl,
                          json_pack("{s:s, s:s, s:I}", "mediaType", layers[i].media_type, "digest",
                                    layers[i].blob, "size", (json_int_t)layers[i].blob_size));
  _cleanup_json_ json_t *m =
      json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2, "mediaType",
                "application/vnd.oci.image.manifest.v1+json", "config", "mediaType",
                "application/vnd.oci.image.config.v1+json", "digest", id, "size", (json_int_t)clen,
                "layers", jl);
  *out = m ? json_dumps(m, JSON_COMPACT) : NULL;
  return *out ? 0 : berr_set(err, ENOMEM, "save");
}

static int save_oci(struct graph *g, struct saved_image *ims, size_t n, struct sink *s,
                    struct berr *err)
{
  int r = sink_buf(s, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30, err);
  json_t *descs = json_array();
  char **written = calloc(1, sizeof(char *));
  size_t nwritten = 0;
  for (size_t i = 0; i < n && r == 0; i++) {
    _cleanup_free_ char *config = NULL, *manifest = NULL;
    size_t clen;
    char path[128];
    struct layer_row *layers = NULL;
    size_t nl = 0;
    if ((r = graph_store_read(g->store, ims[i].id, &config, &clen, err)) < 0 ||
        (r = layer_rows(g, ims[i].id, &layers, &nl, err)) < 0)
      break;
    snprintf(path, sizeof(path), "blobs/sha256/%s", graph_digest_hex(ims[i].id));
    r = sink_buf(s, path, config, clen, err);
    for (size_t k = 0; k < nl && r == 0; k++) {
      bool done = false;
      for (size_t w = 0; w < nwritten; w++)
        done |= !strcmp(written[w], layers[k].blob);
      if (done)
        continue;
      snprintf(path, sizeof(path), "blobs/sha256/%s", graph_digest_hex(layers[k].blob));
      if ((r = sink_blob(g, s, path, layers[k].blob, err)) < 0)
        break;
      char **nw = realloc(written, (nwritten + 2) * sizeof(char *));
      if (!nw) {
        r = berr_set(err, ENOMEM, "save");
        break;
      }
      written = nw;
      written[nwritten++] = strdup(layers[k].blob);
    }
    if (r == 0)
      r = oci_manifest(g, ims[i].id, layers, nl, clen, &manifest, err);
    free_layer_rows(layers, nl);
    if (r < 0)
      break;
    char md[GRAPH_DIGEST_LEN + 1];
    graph_sha256_buf(manifest, strlen(manifest), md);
    snprintf(path, sizeof(path), "blobs/sha256/%s", graph_digest_hex(md));
    if ((r = sink_buf(s, path, manifest, strlen(manifest), err)) < 0)
      break;
    size_t nd = ims[i].nkeys ? ims[i].nkeys : 1;
    for (size_t t = 0; t < nd; t++) {
      json_t *d =
          json_pack("{s:s, s:s, s:I}", "mediaType", "application/vnd.oci.image.manifest.v1+json",
                    "digest", md, "size", (json_int_t)strlen(manifest));
      if (ims[i].nkeys) {
        const char *key = ims[i].keys[t];
        const char *colon = strrchr(key, ':');
        json_object_set_new(d, "annotations",
                            json_pack("{s:s, s:s}", "io.containerd.image.name", key,
                                      "org.opencontainers.image.ref.name", colon + 1));
      }
      json_array_append_new(descs, d);
    }
  }
  if (r == 0) {
    _cleanup_json_ json_t *index =
        json_pack("{s:i, s:s, s:O}", "schemaVersion", 2, "mediaType",
                  "application/vnd.oci.image.index.v1+json", "manifests", descs);
    r = sink_json(s, "index.json", index, err);
  }
  for (size_t w = 0; w < nwritten; w++)
    free(written[w]);
  free(written);
  json_decref(descs);
  return r;
}

int graph_save(struct graph *g, const char *const *refs, size_t nrefs,
               enum graph_save_format format, int fd, struct berr *err)
{
  graph_lock(g);
  struct saved_image *ims = NULL;
  size_t n = 0;
  int r = select_images(g, refs, nrefs, &ims, &n, err);
  if (r < 0) {
    graph_unlock(g);
    return r;
  }
  struct sink s = {.dirfd = -1, .fd = -1};
  s.a = archive_write_new();
  if (!s.a) {
    r = berr_set(err, ENOMEM, "save");
    goto out;
  }
  archive_write_set_format_pax_restricted(s.a);
  archive_write_set_bytes_in_last_block(s.a, 1);
  if (archive_write_open_fd(s.a, fd) != ARCHIVE_OK) {
    r = berr_set(err, EIO, "save: %s", archive_error_string(s.a));
    goto out;
  }
  r = format == GRAPH_SAVE_DOCKER_ARCHIVE ? save_docker(g, ims, n, &s, err)
                                          : save_oci(g, ims, n, &s, err);
  if (r == 0 && archive_write_close(s.a) != ARCHIVE_OK)
    r = berr_set(err, EIO, "save: %s", archive_error_string(s.a));
out:
  if (s.a)
    archive_write_free(s.a);
  free_images(ims, n);
  graph_unlock(g);
  return r < 0 ? berr_wrap(err, "save") : 0;
}

int graph_save_oci_dir(struct graph *g, const char *const *refs, size_t nrefs, const char *dir,
                       struct berr *err)
{
  if (mkdir(dir, 0755) < 0 && errno != EEXIST)
    return berr_errno(err, "create %s", dir);
  _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return berr_errno(err, "open %s", dir);
  graph_lock(g);
  struct saved_image *ims = NULL;
  size_t n = 0;
  int r = select_images(g, refs, nrefs, &ims, &n, err);
  if (r == 0) {
    struct sink s = {.dirfd = dfd, .fd = -1};
    r = save_oci(g, ims, n, &s, err);
    if (s.fd >= 0)
      close(s.fd);
    free_images(ims, n);
  }
  graph_unlock(g);
  return r < 0 ? berr_wrap(err, "save") : 0;
}

/* Loading docker-archive and OCI images. An archive is first unpacked into a private
 * directory under <root>/tmp with the same confined extraction used for layers (an archive is
 * untrusted input too); every later path in it is opened with RESOLVE_IN_ROOT, so names in
 * manifest.json or index.json cannot reach outside it. */
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
#include "graph/reference.h"
#include "graph_priv.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

#define MAX_JSON (16 << 20)

struct loader {
  struct graph *g;
  int rootfd;
  bool adopt; /* rootfd is our own temp copy: blobs can be linked into the store */
  const struct graph_load_opts *opts;
  json_t *loaded;
};

/* Opens a regular file of the image for reading; O_NONBLOCK so that a FIFO planted under a
 * blob's name cannot hang the load (it is refused as not a regular file). */
static int open_regular(int rootfd, const char *path, struct berr *err)
{
  int fd = gd_open_in_root(rootfd, path, O_RDONLY | O_NONBLOCK);
  if (fd < 0)
    return berr_set(err, -fd, "%s", path);
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return berr_set(err, EINVAL, "%s: not a regular file", path);
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0)
    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  return fd;
}

static int read_in_root(int rootfd, const char *path, char **buf, size_t *len, struct berr *err)
{
  _cleanup_close_ int fd = gd_open_in_root(rootfd, path, O_RDONLY | O_NONBLOCK);
  if (fd < 0)
    return berr_set(err, -fd, "%s", path);
  struct stat st;
  if (fstat(fd, &st) < 0)
    return berr_errno(err, "%s", path);
  if (!S_ISREG(st.st_mode))
    return berr_set(err, 0, "%s: not a regular file", path);
  if (st.st_size > MAX_JSON)
    return berr_set(err, 0, "%s: too large for metadata (%lld bytes)", path, (long long)st.st_size);
  int r = bf_read_fd_all(fd, buf, len, err);
  return r < 0 ? berr_wrap(err, "%s", path) : 0;
}

static void add_loaded(struct loader *l, const char *id, char **keys, size_t n)
{
  json_t *tags = json_array();
  for (size_t i = 0; i < n; i++) {
    _cleanup_free_ char *f = graph_ref_familiar(keys[i]);
    if (f)
      json_array_append_new(tags, json_string(f));
  }
  json_array_append_new(l->loaded, json_pack("{s:s, s:o}", "Id", id, "RepoTags", tags));
}

static void close_layers(struct graph_layer_in *in, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (in[i].fd >= 0)
      close(in[i].fd);
}

/* --- docker-archive --- */

static int load_docker(struct loader *l, struct berr *err)
{
  _cleanup_free_ char *mbuf = NULL;
  size_t mlen;
  int r = read_in_root(l->rootfd, "manifest.json", &mbuf, &mlen, err);
  if (r < 0)
    return r;
  _cleanup_json_ json_t *manifest = NULL;
  if ((r = bjson_load_string(mbuf, mlen, &manifest, err)) < 0)
    return berr_wrap(err, "manifest.json");
  if (!json_is_array(manifest) || json_array_size(manifest) == 0)
    return berr_set(err, 0, "manifest.json: expected a non-empty array of images");
  size_t i;
  json_t *entry;
  json_array_foreach(manifest, i, entry)
  {
    char where[64];
    snprintf(where, sizeof(where), "manifest.json[%zu]", i);
    const char *config_path = NULL;
    json_t *repotags = NULL, *layers = NULL;
    if ((r = bjson_get_str(entry, "Config", true, &config_path, where, err)) < 0 ||
        (r = bjson_get_typed(entry, "Layers", JSON_ARRAY, true, &layers, where, err)) < 0)
      return r;
    repotags = json_object_get(entry, "RepoTags");
    if (repotags && !json_is_array(repotags) && !json_is_null(repotags))
      return berr_set(err, 0, "%s.RepoTags: expected an array", where);
    _cleanup_free_ char *config = NULL;
    size_t clen;
    if ((r = read_in_root(l->rootfd, config_path, &config, &clen, err)) < 0)
      return berr_wrap(err, "%s: config", where);
    size_t ntags = json_array_size(repotags);
    _cleanup_strv_ char **keys = calloc(ntags + 1, sizeof(char *));
    if (!keys)
      return berr_set(err, ENOMEM, "load");
    for (size_t t = 0; t < ntags; t++) {
      const char *s = json_string_value(json_array_get(repotags, t));
      struct graph_ref ref;
      if (!s)
        return berr_set(err, 0, "%s.RepoTags[%zu]: expected a string", where, t);
      if ((r = graph_ref_parse_tag(s, &ref, err)) < 0)
        return berr_wrap(err, "%s.RepoTags[%zu]", where, t);
      keys[t] = graph_ref_key(&ref);
      graph_ref_clear(&ref);
      if (!keys[t])
        return berr_set(err, ENOMEM, "load");
    }
    size_t nl = json_array_size(layers);
    struct graph_layer_in *in = calloc(nl ? nl : 1, sizeof(*in));
    if (!in)
      return berr_set(err, ENOMEM, "load");
    for (size_t k = 0; k < nl; k++)
      in[k].fd = -1;
    for (size_t k = 0; k < nl && r == 0; k++) {
      const char *p = json_string_value(json_array_get(layers, k));
      if (!p) {
        r = berr_set(err, 0, "%s.Layers[%zu]: expected a string", where, k);
        break;
      }
      int fd = open_regular(l->rootfd, p, err);
      if (fd < 0) {
        r = fd == -ENOENT
                ? berr_set(err, ENOENT, "%s: layer %s is missing from the archive", where, p)
                : berr_wrap(err, "%s: layer", where);
        break;
      }
      in[k] = (struct graph_layer_in){.fd = fd, .adopt = l->adopt};
    }
    char id[GRAPH_DIGEST_LEN + 1];
    if (r == 0) {
      struct graph_register reg = {
          .config = config,
          .config_len = clen,
          .layers = in,
          .nlayers = nl,
          .tags = (const char **)keys,
          .ntags = ntags,
      };
      r = graph_register_image(l->g, &reg, id, err);
    }
    close_layers(in, nl);
    free(in);
    if (r < 0)
      return berr_wrap(err, "load image %zu", i);
    add_loaded(l, id, keys, ntags);
  }
  return 0;
}

/* --- OCI layout --- */

static int blob_path(const char *digest, char *out, size_t n, struct berr *err)
{
  if (!graph_digest_valid(digest))
    return berr_set(err, 0, "unsupported or invalid digest \"%s\"", digest ? digest : "");
  snprintf(out, n, "blobs/sha256/%s", graph_digest_hex(digest));
  return 0;
}

/* Reads a JSON blob named by a descriptor and verifies its digest and size. */
static int read_desc_blob(struct loader *l, json_t *desc, const char *where, char **buf,
                          size_t *len, const char **digest_out, struct berr *err)
{
  const char *digest = NULL;
  int64_t size = -1;
  int r;
  if ((r = bjson_get_str(desc, "digest", true, &digest, where, err)) < 0 ||
      (r = bjson_get_int(desc, "size", false, &size, where, err)) < 0)
    return r;
  char path[128];
  if ((r = blob_path(digest, path, sizeof(path), err)) < 0)
    return berr_wrap(err, "%s", where);
  if ((r = read_in_root(l->rootfd, path, buf, len, err)) < 0)
    return r == -ENOENT
               ? berr_set(err, ENOENT, "%s names blob %s, which the image lacks", where, digest)
               : berr_wrap(err, "%s", where);
  char d[GRAPH_DIGEST_LEN + 1];
  graph_sha256_buf(*buf, *len, d);
  if (strcmp(d, digest) != 0 || (size >= 0 && (size_t)size != *len)) {
    free(*buf);
    *buf = NULL;
    return berr_set(err, 0, "%s: blob %s does not match its descriptor (content is %s, %zu bytes)",
                    where, digest, d, *len);
  }
  if (digest_out)
    *digest_out = digest;
  return 0;
}

static int name_from_annotations(struct loader *l, json_t *desc, char **key, struct berr *err)
{
  *key = NULL;
  json_t *ann = json_object_get(desc, "annotations");
  const char *full = json_string_value(json_object_get(ann, "io.containerd.image.name"));
  const char *refname =
      json_string_value(json_object_get(ann, "org.opencontainers.image.ref.name"));
  _cleanup_free_ char *composed = NULL;
  const char *use = full;
  if (!use && refname) {
    if (strchr(refname, ':') || strchr(refname, '/') || strchr(refname, '@'))
      use = refname;
    else if (l->opts && l->opts->default_name) {
      if (asprintf(&composed, "%s:%s", l->opts->default_name, refname) < 0)
        return berr_set(err, ENOMEM, "load");
      use = composed;
    }
  }
  if (!use)
    return 0;
  struct graph_ref ref;
  int r = graph_ref_parse_tag(use, &ref, err);
  if (r < 0)
    return berr_wrap(err, "image name annotation");
  *key = graph_ref_key(&ref);
  graph_ref_clear(&ref);
  return *key ? 0 : berr_set(err, ENOMEM, "load");
}

static int load_oci_manifest(struct loader *l, json_t *desc, const char *key, const char *where,
                             struct berr *err)
{
  _cleanup_free_ char *mbuf = NULL;
  size_t mlen;
  int r = read_desc_blob(l, desc, where, &mbuf, &mlen, NULL, err);
  if (r < 0)
    return r;
  _cleanup_json_ json_t *m = NULL;
  if ((r = bjson_load_string(mbuf, mlen, &m, err)) < 0)
    return berr_wrap(err, "%s: manifest", where);
  int64_t schema = 0;
  if ((r = bjson_get_int(m, "schemaVersion", true, &schema, "manifest", err)) < 0)
    return berr_wrap(err, "%s", where);
  if (schema != 2)
    return berr_set(err, 0, "%s: unsupported manifest schemaVersion %lld", where,
                    (long long)schema);
  json_t *cdesc = NULL, *layers = NULL;
  const char *cmt = NULL;
  if ((r = bjson_get_typed(m, "config", JSON_OBJECT, true, &cdesc, "manifest", err)) < 0 ||
      (r = bjson_get_typed(m, "layers", JSON_ARRAY, true, &layers, "manifest", err)) < 0 ||
      (r = bjson_get_str(cdesc, "mediaType", true, &cmt, "manifest.config", err)) < 0)
    return berr_wrap(err, "%s", where);
  if (strcmp(cmt, MT_OCI_CONFIG) != 0 && strcmp(cmt, MT_DOCKER_CONFIG) != 0)
    return berr_set(err, 0, "%s: unsupported config media type \"%s\"", where, cmt);
  _cleanup_free_ char *config = NULL;
  size_t clen;
  if ((r = read_desc_blob(l, cdesc, "manifest.config", &config, &clen, NULL, err)) < 0)
    return berr_wrap(err, "%s", where);
  size_t nl = json_array_size(layers);
  struct graph_layer_in *in = calloc(nl ? nl : 1, sizeof(*in));
  if (!in)
    return berr_set(err, ENOMEM, "load");
  for (size_t k = 0; k < nl; k++)
    in[k].fd = -1;
  for (size_t k = 0; k < nl && r == 0; k++) {
    json_t *ld = json_array_get(layers, k);
    char lw[64], path[128];
    snprintf(lw, sizeof(lw), "manifest.layers[%zu]", k);
    const char *digest = NULL, *mt = NULL;
    if ((r = bjson_get_str(ld, "digest", true, &digest, lw, err)) < 0 ||
        (r = bjson_get_str(ld, "mediaType", true, &mt, lw, err)) < 0 ||
        (r = blob_path(digest, path, sizeof(path), err)) < 0)
      break;
    if (!graph_layer_media_type_known(mt)) {
      r = berr_set(err, 0, "%s: unknown layer media type \"%s\"", lw, mt);
      break;
    }
    int fd = open_regular(l->rootfd, path, err);
    if (fd < 0) {
      r = fd == -ENOENT
              ? berr_set(err, ENOENT, "%s names blob %s, which the image lacks", lw, digest)
              : berr_wrap(err, "%s", lw);
      break;
    }
    in[k] =
        (struct graph_layer_in){.fd = fd, .digest = digest, .media_type = mt, .adopt = l->adopt};
  }
  char id[GRAPH_DIGEST_LEN + 1];
  if (r == 0) {
    const char *tags[1] = {key};
    struct graph_register reg = {
        .config = config,
        .config_len = clen,
        .manifest = mbuf,
        .manifest_len = mlen,
        .layers = in,
        .nlayers = nl,
        .tags = tags,
        .ntags = key ? 1 : 0,
    };
    r = graph_register_image(l->g, &reg, id, err);
  }
  close_layers(in, nl);
  free(in);
  if (r < 0)
    return berr_wrap(err, "%s", where);
  char *keys[1] = {(char *)key};
  add_loaded(l, id, keys, key ? 1 : 0);
  return 0;
}

static int load_oci_desc(struct loader *l, json_t *desc, const char *key, const char *where,
                         int depth, struct berr *err);

static int load_oci_index(struct loader *l, json_t *desc, const char *key, const char *where,
                          int depth, struct berr *err)
{
  _cleanup_free_ char *buf = NULL;
  size_t len;
  int r = read_desc_blob(l, desc, where, &buf, &len, NULL, err);
  if (r < 0)
    return r;
  _cleanup_json_ json_t *idx = NULL;
  if ((r = bjson_load_string(buf, len, &idx, err)) < 0)
    return berr_wrap(err, "%s", where);
  json_t *ms = json_object_get(idx, "manifests");
  if (!json_is_array(ms) || json_array_size(ms) == 0)
    return berr_set(err, 0, "%s: index without manifests", where);
  /* one platform per name: this host's, else the first entry */
  json_t *pick = NULL;
  size_t i;
  json_t *m;
  json_array_foreach(ms, i, m)
  {
    json_t *p = json_object_get(m, "platform");
    const char *os = json_string_value(json_object_get(p, "os"));
    const char *arch = json_string_value(json_object_get(p, "architecture"));
    if (os && arch && !strcmp(os, "linux") && !strcmp(arch, "amd64")) {
      pick = m;
      break;
    }
  }
  if (!pick)
    pick = json_array_get(ms, 0);
  return load_oci_desc(l, pick, key, where, depth + 1, err);
}

static int load_oci_desc(struct loader *l, json_t *desc, const char *key, const char *where,
                         int depth, struct berr *err)
{
  if (depth > 4)
    return berr_set(err, 0, "%s: indexes nested too deep", where);
  const char *mt = NULL;
  int r = bjson_get_str(desc, "mediaType", true, &mt, where, err);
  if (r < 0)
    return r;
  if (!strcmp(mt, MT_OCI_MANIFEST) || !strcmp(mt, MT_DOCKER_MANIFEST))
    return load_oci_manifest(l, desc, key, where, err);
  if (!strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST))
    return load_oci_index(l, desc, key, where, depth, err);
  return berr_set(err, 0, "%s: unsupported media type \"%s\"", where, mt);
}

static int load_oci(struct loader *l, struct berr *err)
{
  _cleanup_free_ char *buf = NULL;
  size_t len;
  int r = read_in_root(l->rootfd, "oci-layout", &buf, &len, err);
  if (r < 0)
    return berr_wrap(err, "not an OCI image layout");
  _cleanup_json_ json_t *layout = NULL;
  const char *version = NULL;
  if ((r = bjson_load_string(buf, len, &layout, err)) < 0 ||
      (r = bjson_get_str(layout, "imageLayoutVersion", true, &version, "oci-layout", err)) < 0)
    return r;
  if (strncmp(version, "1.", 2) != 0)
    return berr_set(err, 0, "oci-layout: unsupported imageLayoutVersion \"%s\"", version);
  _cleanup_free_ char *ibuf = NULL;
  if ((r = read_in_root(l->rootfd, "index.json", &ibuf, &len, err)) < 0)
    return r;
  _cleanup_json_ json_t *index = NULL;
  if ((r = bjson_load_string(ibuf, len, &index, err)) < 0)
    return berr_wrap(err, "index.json");
  json_t *ms = json_object_get(index, "manifests");
  if (!json_is_array(ms) || json_array_size(ms) == 0)
    return berr_set(err, 0, "index.json: no manifests");
  size_t i;
  json_t *desc;
  json_array_foreach(ms, i, desc)
  {
    char where[64];
    snprintf(where, sizeof(where), "index.json manifests[%zu]", i);
    _cleanup_free_ char *key = NULL;
    if ((r = name_from_annotations(l, desc, &key, err)) < 0 ||
        (r = load_oci_desc(l, desc, key, where, 0, err)) < 0)
      return r;
  }
  return 0;
}

static int load_root(struct graph *g, int rootfd, bool adopt, const struct graph_load_opts *opts,
                     json_t **loaded, struct berr *err)
{
  struct loader l = {
      .g = g, .rootfd = rootfd, .adopt = adopt, .opts = opts, .loaded = json_array()};
  int fd = gd_open_in_root(rootfd, "manifest.json", O_PATH);
  int r;
  if (fd >= 0) {
    close(fd);
    r = load_docker(&l, err);
  } else if ((fd = gd_open_in_root(rootfd, "index.json", O_PATH)) >= 0) {
    close(fd);
    r = load_oci(&l, err);
  } else {
    r = berr_set(err, 0, "not an image archive: neither manifest.json nor index.json found");
  }
  if (r < 0) {
    json_decref(l.loaded);
    return r;
  }
  *loaded = l.loaded;
  return 0;
}

int graph_load_archive(struct graph *g, int fd, const struct graph_load_opts *opts, json_t **loaded,
                       struct berr *err)
{
  graph_lock(g);
  _cleanup_free_ char *tmp = NULL;
  int r = graph_store_mkdtemp(g->store, "load", &tmp, err);
  if (r < 0) {
    graph_unlock(g);
    return r;
  }
  _cleanup_close_ int rootfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct archive *a = archive_read_new();
  if (rootfd < 0 || !a) {
    r = rootfd < 0 ? berr_errno(err, "open %s", tmp) : berr_set(err, ENOMEM, "load");
  } else {
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    if (archive_read_open_fd(a, fd, 1 << 20) != ARCHIVE_OK) {
      r = berr_set(err, 0, "read archive: %s", archive_error_string(a));
    } else {
      struct gd_extract_opts xo = {.whiteouts = GD_WHITEOUT_DELETE};
      r = gd_extract_archive(rootfd, a, &xo, NULL, err);
      if (r < 0)
        berr_wrap(err, "unpack archive");
    }
  }
  if (a)
    archive_read_free(a);
  if (r == 0)
    r = load_root(g, rootfd, true, opts, loaded, err);
  struct berr ignored;
  bf_rm_rf(tmp, &ignored);
  graph_unlock(g);
  return r;
}

int graph_load_oci_dir(struct graph *g, const char *dir, const struct graph_load_opts *opts,
                       json_t **loaded, struct berr *err)
{
  _cleanup_close_ int rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return berr_errno(err, "open %s", dir);
  graph_lock(g);
  int r = load_root(g, rootfd, false, opts, loaded, err);
  graph_unlock(g);
  return r;
}

/* Registering an image: unpack missing layers (in parallel on overlay2), verify every digest,
 * store the blobs, then commit all rows in one transaction. The transaction is the commit
 * point: before it, a crash leaves only unreferenced files that graph_open removes. A pull
 * registers incrementally (graph_unpack_*): each layer is unpacked as its blob arrives. */
#include "graph_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/cleanup.h"
#include "graph/distribution.h"
#include "graph/layerstream.h"

static const char *known_layer_types[] = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar.zstd",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
};

bool graph_layer_media_type_known(const char *mt)
{
  for (size_t i = 0; i < ARRAY_SIZE(known_layer_types); i++)
    if (!strcmp(mt, known_layer_types[i]))
      return true;
  return false;
}

int graph_config_diff_ids(json_t *config, char ***diff_ids, size_t *n, struct berr *err)
{
  if (!json_is_object(config))
    return berr_set(err, 0, "image config is not a JSON object");
  json_t *rootfs = NULL, *ids = NULL;
  const char *type = NULL;
  int r;
  if ((r = bjson_get_typed(config, "rootfs", JSON_OBJECT, true, &rootfs, "config", err)) < 0 ||
      (r = bjson_get_str(rootfs, "type", true, &type, "config.rootfs", err)) < 0 ||
      (r = bjson_get_typed(rootfs, "diff_ids", JSON_ARRAY, false, &ids, "config.rootfs", err)) < 0)
    return r;
  if (strcmp(type, "layers") != 0)
    return berr_set(err, 0, "config.rootfs.type: expected \"layers\", got \"%s\"", type);
  char **v = NULL;
  if ((r = bjson_strv(ids, &v, "config.rootfs.diff_ids", err)) < 0)
    return r;
  size_t k = 0;
  for (; v[k]; k++)
    if (!graph_digest_valid(v[k])) {
      r = berr_set(err, 0, "config.rootfs.diff_ids[%zu]: invalid digest \"%s\"", k, v[k]);
      strvfreep(&v);
      return r;
    }
  *diff_ids = v;
  *n = k;
  return 0;
}

struct job {
  size_t idx;
  char chain[GRAPH_DIGEST_LEN + 1];
  char parent[GRAPH_DIGEST_LEN + 1];
  const char *diff_id;
  struct graph_layer_in *in;
  bool needed, created;
  bool claimed;  /* chain in g->claims (incremental registration) */
  bool unpacked; /* incremental registration: run_job succeeded */
  struct graph_layer_digests d;
  int64_t size;
  int rc;
  struct berr err;
};

struct pool {
  struct graph *g;
  struct job *jobs;
  size_t njobs;
  atomic_size_t next;
  atomic_bool stop;
};

static void run_job(struct graph *g, struct job *j)
{
  struct graph_blob_writer *w = NULL;
  struct graph_layer_stream *ls = NULL;
  int r = 0;
  if (j->in->fd < 0) {
    r = berr_set(&j->err, ENOENT, "no blob for layer %s", j->diff_id);
    goto out;
  }
  if (!j->in->adopt && (r = graph_store_writer_new(g->store, &w, &j->err)) < 0)
    goto out;
  if ((r = graph_layer_stream_open(j->in->fd, w, &ls, &j->err)) < 0)
    goto out;
  struct gd_tar_source src = graph_layer_stream_source(ls);
  r = gd_apply_diff(g->driver, graph_digest_hex(j->chain), &src, &j->size, &j->err);
  if (r < 0) {
    const char *se = graph_layer_stream_error(ls);
    if (se)
      r = berr_set(&j->err, EIO, "%s", se);
    goto out;
  }
  if ((r = graph_layer_stream_finish(ls, &j->d, &j->err)) < 0)
    goto out;
  if (j->in->digest && strcmp(j->in->digest, j->d.blob) != 0) {
    r = berr_set(&j->err, 0, "digest mismatch: manifest says %s, blob is %s", j->in->digest,
                 j->d.blob);
    goto out;
  }
  if (strcmp(j->diff_id, j->d.diff_id) != 0) {
    r = berr_set(&j->err, 0, "diff ID mismatch: config says %s, layer tar is %s", j->diff_id,
                 j->d.diff_id);
    goto out;
  }
  if (w) {
    r = graph_blob_writer_commit(w, j->d.blob, NULL, NULL, &j->err);
    w = NULL;
  } else {
    r = graph_store_adopt_fd(g->store, j->in->fd, j->d.blob, &j->err);
  }
out:
  if (w)
    graph_blob_writer_abort(w);
  graph_layer_stream_free(ls);
  j->rc = r;
  if (r < 0)
    berr_wrap(&j->err, "layer %zu", j->idx);
}

static void *worker(void *arg)
{
  struct pool *p = arg;
  for (;;) {
    size_t i = atomic_fetch_add(&p->next, 1);
    if (i >= p->njobs || atomic_load(&p->stop))
      return NULL;
    struct job *j = &p->jobs[i];
    if (!j->needed)
      continue;
    run_job(p->g, j);
    if (j->rc < 0)
      atomic_store(&p->stop, true);
  }
}

static const char *media_type_for(const char *compression)
{
  if (!compression)
    return "application/vnd.oci.image.layer.v1.tar";
  if (!strcmp(compression, "zstd"))
    return "application/vnd.oci.image.layer.v1.tar+zstd";
  return "application/vnd.oci.image.layer.v1.tar+gzip";
}

static void drop_unreferenced_blob(struct graph *g, const char *digest)
{
  struct berr ignored;
  int64_t n = 1;
  if (!graph_digest_valid(digest) ||
      graph_db_query_int(g->db, &n, &ignored,
                         "SELECT (SELECT COUNT(*) FROM images WHERE id = ?1 OR manifest = ?1)"
                         " + (SELECT COUNT(*) FROM layers WHERE blob = ?1)",
                         1, digest) < 0)
    return;
  if (n == 0)
    graph_store_delete(g->store, digest, &ignored);
}

/* Undo a failed registration: nothing it unpacked or stored stays behind. */
static void remove_created(struct graph *g, struct job *jobs, size_t n, const char *config_id,
                           const char *manifest)
{
  for (size_t i = n; i-- > 0;) {
    if (jobs[i].created) {
      struct berr ignored;
      gd_remove(g->driver, graph_digest_hex(jobs[i].chain), &ignored);
    }
    if (jobs[i].needed && jobs[i].rc == 0 && jobs[i].d.blob[0])
      drop_unreferenced_blob(g, jobs[i].d.blob);
  }
  if (config_id)
    drop_unreferenced_blob(g, config_id);
  if (manifest && *manifest)
    drop_unreferenced_blob(g, manifest);
}

static bool is_claimed(struct graph *g, const char *chain)
{
  for (size_t i = 0; i < g->nclaims; i++)
    if (!strcmp(g->claims[i], chain))
      return true;
  return false;
}

static int claim(struct graph *g, struct job *j, struct berr *err)
{
  char **v = realloc(g->claims, (g->nclaims + 1) * sizeof(char *));
  if (!v)
    return berr_set(err, ENOMEM, "claim layer");
  g->claims = v;
  if (!(v[g->nclaims] = strdup(j->chain)))
    return berr_set(err, ENOMEM, "claim layer");
  g->nclaims++;
  j->claimed = true;
  return 0;
}

/* Lock held. */
static void release_claims(struct graph *g, struct job *jobs, size_t n)
{
  bool any = false;
  for (size_t i = 0; i < n; i++) {
    if (!jobs[i].claimed)
      continue;
    for (size_t k = 0; k < g->nclaims; k++)
      if (!strcmp(g->claims[k], jobs[i].chain)) {
        free(g->claims[k]);
        g->claims[k] = g->claims[--g->nclaims];
        break;
      }
    jobs[i].claimed = false;
    any = true;
  }
  if (any)
    pthread_cond_broadcast(&g->claims_changed);
}

/* Chain IDs and which layers are missing. A layer that a pull in flight is unpacking is
 * waited for (the lock is released meanwhile): then it is there, or missing again. Lock held. */
static int plan_layers(struct graph *g, char **diff_ids, size_t n, struct graph_layer_in *in,
                       struct job *jobs, size_t *needed, struct berr *err)
{
  for (;;) {
    bool busy = false;
    *needed = 0;
    for (size_t i = 0; i < n; i++) {
      struct job *j = &jobs[i];
      j->idx = i;
      j->in = &in[i];
      j->diff_id = diff_ids[i];
      graph_chain_id(i ? jobs[i - 1].chain : NULL, diff_ids[i], j->chain);
      if (i)
        memcpy(j->parent, jobs[i - 1].chain, sizeof(j->parent));
      int64_t known = 0;
      int r = graph_db_query_int(g->db, &known, err,
                                 "SELECT COUNT(*) FROM layers WHERE chain_id = ?", 1, j->chain);
      if (r < 0)
        return r;
      j->needed = known == 0;
      *needed += j->needed;
      busy = busy || (j->needed && is_claimed(g, j->chain));
    }
    if (!busy)
      return 0;
    pthread_cond_wait(&g->claims_changed, &g->lock);
  }
}

/* A directory with this id and no row is a leftover of a failed attempt. Lock held, or the
 * chain claimed by the caller. */
static int create_layer_dir(struct graph *g, struct job *j, struct berr *err)
{
  const char *hex = graph_digest_hex(j->chain);
  int r;
  if (gd_exists(g->driver, hex) && (r = gd_remove(g->driver, hex, err)) < 0)
    return r;
  j->created = true; /* gd_remove of a half-made layer is fine */
  return gd_create(g->driver, hex, j->idx ? graph_digest_hex(j->parent) : NULL, err);
}

/* Stores config and manifest, then commits the rows of layers, image and tags in one
 * transaction. Lock held; on failure the caller removes what was created. */
static int commit_image(struct graph *g, json_t *config, const char *config_buf, size_t config_len,
                        const char *id, struct job *jobs, size_t n, size_t needed,
                        const char *manifest, size_t manifest_len, const char *parent,
                        const char **tags, size_t ntags, char md[GRAPH_DIGEST_LEN + 1],
                        struct berr *err)
{
  char d[GRAPH_DIGEST_LEN + 1];
  int r;
  if ((r = graph_store_put(g->store, config_buf, config_len, id, d, err)) < 0)
    return r;
  if (manifest && (r = graph_store_put(g->store, manifest, manifest_len, NULL, md, err)) < 0)
    return r;
  /* layer files reach the disk before the rows that make them visible */
  if (needed) {
    _cleanup_close_ int lfd = open(g->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lfd >= 0)
      syncfs(lfd);
  }

  if ((r = graph_db_begin(g->db, err)) < 0)
    return r;
  int64_t size = 0, exists = 0;
  for (size_t i = 0; i < n; i++) {
    struct job *j = &jobs[i];
    char sz[32], bsz[32], tsz[32];
    if (j->needed) {
      snprintf(sz, sizeof(sz), "%lld", (long long)j->size);
      snprintf(bsz, sizeof(bsz), "%lld", (long long)j->d.blob_size);
      snprintf(tsz, sizeof(tsz), "%lld", (long long)j->d.tar_size);
      if ((r = graph_db_exec(g->db, err,
                             "INSERT INTO layers (chain_id, diff_id, parent, blob, media_type,"
                             " blob_size, tar_size, size, refs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)",
                             8, j->chain, j->diff_id, i ? j->parent : NULL, j->d.blob,
                             media_type_for(j->d.compression), bsz, tsz, sz)) < 0)
        goto rollback;
      size += j->size;
    } else {
      int64_t s = 0;
      if ((r = graph_db_query_int(g->db, &s, err, "SELECT size FROM layers WHERE chain_id = ?", 1,
                                  j->chain)) < 0)
        goto rollback;
      size += s;
    }
  }
  if ((r = graph_db_query_int(g->db, &exists, err, "SELECT COUNT(*) FROM images WHERE id = ?", 1,
                              id)) < 0)
    goto rollback;
  if (!exists) {
    const char *created = NULL;
    json_t *c = json_object_get(config, "created");
    if (json_is_string(c))
      created = json_string_value(c);
    char sz[32], now[32];
    snprintf(sz, sizeof(sz), "%lld", (long long)size);
    snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
    if ((r = graph_db_exec(g->db, err,
                           "INSERT INTO images (id, manifest, top_layer, parent, created, size,"
                           " loaded) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           7, id, manifest ? md : NULL, n ? jobs[n - 1].chain : NULL, parent,
                           created, sz, now)) < 0)
      goto rollback;
    for (size_t i = 0; i < n; i++) {
      char idx[32];
      snprintf(idx, sizeof(idx), "%zu", i);
      if ((r = graph_db_exec(g->db, err,
                             "INSERT INTO image_layers (image_id, idx, chain_id) VALUES (?, ?, ?)",
                             3, id, idx, jobs[i].chain)) < 0 ||
          (r = graph_db_exec(g->db, err, "UPDATE layers SET refs = refs + 1 WHERE chain_id = ?", 1,
                             jobs[i].chain)) < 0)
        goto rollback;
    }
  } else if (manifest) {
    if ((r = graph_db_exec(g->db, err, "UPDATE images SET manifest = ? WHERE id = ?", 2, md, id)) <
        0)
      goto rollback;
  }
  for (size_t i = 0; i < ntags; i++)
    if ((r = graph_set_tag_locked(g, tags[i], id, err)) < 0)
      goto rollback;
  if ((r = graph_db_commit(g->db, err)) < 0)
    goto rollback;
  return 0;
rollback:
  graph_db_rollback(g->db);
  return r;
}

/* The config's diff IDs, checked against the layers offered. */
static int parse_config(const char *buf, size_t len, size_t nlayers, const char *const *media_types,
                        json_t **config, char ***diff_ids, struct berr *err)
{
  _cleanup_json_ json_t *c = NULL;
  int r = bjson_load_string(buf, len, &c, err);
  if (r < 0)
    return berr_wrap(err, "image config");
  _cleanup_strv_ char **ids = NULL;
  size_t n = 0;
  if ((r = graph_config_diff_ids(c, &ids, &n, err)) < 0)
    return r;
  if (n != nlayers)
    return berr_set(err, 0, "image config lists %zu layers (diff_ids) but the manifest has %zu", n,
                    nlayers);
  for (size_t i = 0; media_types && i < n; i++)
    if (media_types[i] && !graph_layer_media_type_known(media_types[i]))
      return berr_set(err, 0, "layer %zu: unknown media type \"%s\"", i, media_types[i]);
  *config = steal_ptr(c);
  *diff_ids = steal_ptr(ids);
  return 0;
}

int graph_register_image(struct graph *g, const struct graph_register *reg,
                         char id[GRAPH_DIGEST_LEN + 1], struct berr *err)
{
  _cleanup_json_ json_t *config = NULL;
  _cleanup_strv_ char **diff_ids = NULL;
  size_t n = reg->nlayers;
  const char **mts = calloc(n ? n : 1, sizeof(char *));
  if (!mts)
    return berr_set(err, ENOMEM, "register image");
  for (size_t i = 0; i < n; i++)
    mts[i] = reg->layers[i].media_type;
  int r = parse_config(reg->config, reg->config_len, n, mts, &config, &diff_ids, err);
  free(mts);
  if (r < 0)
    return r;
  graph_sha256_buf(reg->config, reg->config_len, id);

  char md[GRAPH_DIGEST_LEN + 1] = "";
  bool config_existed = graph_store_has(g->store, id);
  struct job *jobs = calloc(n ? n : 1, sizeof(*jobs));
  if (!jobs)
    return berr_set(err, ENOMEM, "register image");
  size_t needed = 0;
  if ((r = plan_layers(g, diff_ids, n, reg->layers, jobs, &needed, err)) < 0)
    goto fail;

  bool parallel = gd_driver_parallel_apply(g->driver) && g->threads > 1 && needed > 1;
  for (size_t i = 0; i < n; i++) {
    struct job *j = &jobs[i];
    if (!j->needed)
      continue;
    if ((r = create_layer_dir(g, j, err)) < 0)
      goto fail;
    if (!parallel) {
      run_job(g, j);
      if ((r = j->rc) < 0) {
        memcpy(err, &j->err, sizeof(*err));
        goto fail;
      }
    }
  }
  if (parallel) {
    struct pool p = {.g = g, .jobs = jobs, .njobs = n};
    size_t nt = (size_t)g->threads < needed ? (size_t)g->threads : needed;
    pthread_t th[64];
    if (nt > 64)
      nt = 64;
    size_t started = 0;
    for (; started < nt; started++)
      if (pthread_create(&th[started], NULL, worker, &p) != 0)
        break;
    if (started == 0)
      worker(&p);
    for (size_t i = 0; i < started; i++)
      pthread_join(th[i], NULL);
    for (size_t i = 0; i < n; i++)
      if (jobs[i].needed && jobs[i].rc < 0) {
        r = jobs[i].rc;
        memcpy(err, &jobs[i].err, sizeof(*err));
        goto fail;
      }
  }

  if ((r = commit_image(g, config, reg->config, reg->config_len, id, jobs, n, needed, reg->manifest,
                        reg->manifest_len, reg->parent, reg->tags, reg->ntags, md, err)) < 0)
    goto fail;
  free(jobs);
  return 0;

fail:
  remove_created(g, jobs, n, config_existed ? NULL : id, md);
  free(jobs);
  return r;
}

/* --- incremental registration: a pull unpacks each layer as its download is verified --- */

struct graph_unpack {
  struct graph *g;
  json_t *config;
  char *config_buf;
  size_t config_len;
  char **diff_ids;
  size_t n, needed;
  struct job *jobs;
  struct graph_layer_in *in;
  char id[GRAPH_DIGEST_LEN + 1];
  bool in_order;
};

static void unpack_free(struct graph_unpack *u)
{
  json_decref(u->config);
  free(u->config_buf);
  strvfreep(&u->diff_ids);
  free(u->jobs);
  free(u->in);
  free(u);
}

int graph_unpack_begin(struct graph *g, const char *config, size_t config_len,
                       const char *const *layer_digests, const char *const *layer_media_types,
                       size_t nlayers, struct graph_unpack **out, struct berr *err)
{
  struct graph_unpack *u = calloc(1, sizeof(*u));
  if (!u)
    return berr_set(err, ENOMEM, "register image");
  u->g = g;
  u->n = nlayers;
  u->in_order = !gd_driver_parallel_apply(g->driver);
  int r =
      parse_config(config, config_len, nlayers, layer_media_types, &u->config, &u->diff_ids, err);
  if (r < 0)
    goto fail;
  u->config_buf = malloc(config_len + 1);
  u->jobs = calloc(nlayers ? nlayers : 1, sizeof(*u->jobs));
  u->in = calloc(nlayers ? nlayers : 1, sizeof(*u->in));
  if (!u->config_buf || !u->jobs || !u->in) {
    r = berr_set(err, ENOMEM, "register image");
    goto fail;
  }
  memcpy(u->config_buf, config, config_len);
  u->config_len = config_len;
  graph_sha256_buf(config, config_len, u->id);
  for (size_t i = 0; i < nlayers; i++) {
    if (!graph_digest_valid(layer_digests[i])) {
      r = berr_set(err, 0, "layer %zu: invalid digest \"%s\"", i, layer_digests[i]);
      goto fail;
    }
    u->in[i].fd = -1;
    u->in[i].digest = layer_digests[i];
    u->in[i].media_type = layer_media_types ? layer_media_types[i] : NULL;
    /* the blob is read from the store, where it is already (verified): nothing to copy */
    u->in[i].adopt = true;
  }
  graph_lock(g);
  if ((r = plan_layers(g, u->diff_ids, nlayers, u->in, u->jobs, &u->needed, err)) < 0)
    goto unlock;
  for (size_t i = 0; i < nlayers; i++) {
    struct job *j = &u->jobs[i];
    if (!j->needed)
      continue;
    if ((r = claim(g, j, err)) < 0)
      goto unlock;
    /* overlay2 layers only name their parent's directory: all of them are made now and each
     * is filled when its blob arrives, in any order. A vfs layer starts as a copy of its
     * parent: it is made when the parent is complete. */
    if (!u->in_order && (r = create_layer_dir(g, j, err)) < 0)
      goto unlock;
  }
  graph_unlock(g);
  *out = u;
  return 0;
unlock:
  graph_unlock(g);
  graph_unpack_abort(u, true);
  return r;
fail:
  unpack_free(u);
  return r;
}

bool graph_unpack_needed(const struct graph_unpack *u, size_t idx)
{
  return idx < u->n && u->jobs[idx].needed;
}

bool graph_unpack_parallel(const struct graph_unpack *u)
{
  return !u->in_order;
}

bool graph_unpack_ready(const struct graph_unpack *u, size_t idx)
{
  if (!graph_unpack_needed(u, idx) || u->jobs[idx].unpacked)
    return false;
  return !u->in_order || idx == 0 || !u->jobs[idx - 1].needed || u->jobs[idx - 1].unpacked;
}

int graph_unpack_layer(struct graph_unpack *u, size_t idx, struct berr *err)
{
  if (!graph_unpack_ready(u, idx))
    return berr_set(err, 0, "layer %zu: not ready to unpack", idx);
  struct graph *g = u->g;
  struct job *j = &u->jobs[idx];
  _cleanup_close_ int fd = -1;
  int r = graph_store_open_blob(g->store, j->in->digest, &fd, err);
  if (r < 0)
    return berr_wrap(err, "layer %zu", idx);
  /* no lock: the layer's directory is claimed, and its parent (vfs) is complete */
  if (u->in_order && (r = create_layer_dir(g, j, err)) < 0)
    return berr_wrap(err, "layer %zu", idx);
  j->in->fd = fd;
  run_job(g, j);
  j->in->fd = -1;
  if (j->rc < 0) {
    memcpy(err, &j->err, sizeof(*err));
    return j->rc;
  }
  j->unpacked = true;
  return 0;
}

int graph_unpack_commit(struct graph_unpack *u, const struct graph_pulled *p,
                        char id[GRAPH_DIGEST_LEN + 1], bool *existed, struct berr *err)
{
  struct graph *g = u->g;
  for (size_t i = 0; i < u->n; i++)
    if (u->jobs[i].needed && !u->jobs[i].unpacked) {
      int r = berr_set(err, 0, "layer %zu was not unpacked", i);
      graph_unpack_abort(u, true);
      return r;
    }
  _cleanup_free_ char *tag_key = NULL, *digest_key = NULL;
  if ((p->tag && asprintf(&tag_key, "%s:%s", p->name, p->tag) < 0) ||
      (p->pulled_digest && asprintf(&digest_key, "%s@%s", p->name, p->pulled_digest) < 0)) {
    graph_unpack_abort(u, true);
    return berr_set(err, ENOMEM, "register image");
  }
  const char *tags[2];
  size_t ntags = 0;
  if (tag_key)
    tags[ntags++] = tag_key;
  if (digest_key)
    tags[ntags++] = digest_key;
  memcpy(id, u->id, GRAPH_DIGEST_LEN + 1);
  char md[GRAPH_DIGEST_LEN + 1] = "";
  graph_lock(g);
  bool config_existed = graph_store_has(g->store, u->id);
  *existed = false;
  if (tag_key) {
    _cleanup_free_ char *cur = NULL;
    struct berr ignored;
    if (graph_db_query_str(g->db, &cur, &ignored, "SELECT image_id FROM tags WHERE name = ?", 1,
                           tag_key) == 0 &&
        cur && !strcmp(cur, u->id))
      *existed = true;
  }
  int r = 0;
  /* a layer that was there at the start is not claimed: an image removed meanwhile may have
   * taken it with it */
  for (size_t i = 0; r == 0 && i < u->n; i++) {
    int64_t known = 0;
    if (!u->jobs[i].needed &&
        (r = graph_db_query_int(g->db, &known, err,
                                "SELECT COUNT(*) FROM layers WHERE chain_id = ?", 1,
                                u->jobs[i].chain)) == 0 &&
        known == 0)
      r = berr_set(err, ENOENT, "layer %zu was removed during the pull", i);
  }
  if (r == 0)
    r = commit_image(g, u->config, u->config_buf, u->config_len, u->id, u->jobs, u->n, u->needed,
                     p->manifest, p->manifest_len, NULL, tags, ntags, md, err);
  if (r < 0)
    remove_created(g, u->jobs, u->n, config_existed ? NULL : u->id, md);
  release_claims(g, u->jobs, u->n);
  graph_unlock(g);
  unpack_free(u);
  return r;
}

void graph_unpack_abort(struct graph_unpack *u, bool keep_blobs)
{
  if (!u)
    return;
  struct graph *g = u->g;
  graph_lock(g);
  for (size_t i = u->n; i-- > 0;) {
    struct job *j = &u->jobs[i];
    if (j->created) {
      struct berr ignored;
      gd_remove(g->driver, graph_digest_hex(j->chain), &ignored);
    }
    if (!keep_blobs && j->needed)
      drop_unreferenced_blob(g, j->in->digest);
  }
  release_claims(g, u->jobs, u->n);
  graph_unlock(g);
  unpack_free(u);
}

/* Registering an image: unpack missing layers (in parallel on overlay2), verify every digest,
 * store the blobs, then commit all rows in one transaction. The transaction is the commit
 * point: before it, a crash leaves only unreferenced files that graph_open removes. */
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

int graph_register_image(struct graph *g, const struct graph_register *reg,
                         char id[GRAPH_DIGEST_LEN + 1], struct berr *err)
{
  _cleanup_json_ json_t *config = NULL;
  int r = bjson_load_string(reg->config, reg->config_len, &config, err);
  if (r < 0)
    return berr_wrap(err, "image config");
  _cleanup_strv_ char **diff_ids = NULL;
  size_t n = 0;
  if ((r = graph_config_diff_ids(config, &diff_ids, &n, err)) < 0)
    return r;
  if (n != reg->nlayers)
    return berr_set(err, 0, "image config lists %zu layers (diff_ids) but the manifest has %zu", n,
                    reg->nlayers);
  for (size_t i = 0; i < n; i++)
    if (reg->layers[i].media_type && !graph_layer_media_type_known(reg->layers[i].media_type))
      return berr_set(err, 0, "layer %zu: unknown media type \"%s\"", i, reg->layers[i].media_type);
  graph_sha256_buf(reg->config, reg->config_len, id);

  char d[GRAPH_DIGEST_LEN + 1], md[GRAPH_DIGEST_LEN + 1] = "";
  bool config_existed = graph_store_has(g->store, id);
  struct job *jobs = calloc(n ? n : 1, sizeof(*jobs));
  if (!jobs)
    return berr_set(err, ENOMEM, "register image");
  size_t needed = 0;
  for (size_t i = 0; i < n; i++) {
    struct job *j = &jobs[i];
    j->idx = i;
    j->in = &reg->layers[i];
    j->diff_id = diff_ids[i];
    graph_chain_id(i ? jobs[i - 1].chain : NULL, diff_ids[i], j->chain);
    if (i)
      memcpy(j->parent, jobs[i - 1].chain, sizeof(j->parent));
    int64_t known = 0;
    if ((r = graph_db_query_int(g->db, &known, err,
                                "SELECT COUNT(*) FROM layers WHERE chain_id = ?", 1, j->chain)) < 0)
      goto fail;
    j->needed = known == 0;
    needed += j->needed;
  }

  bool parallel = gd_driver_parallel_apply(g->driver) && g->threads > 1 && needed > 1;
  for (size_t i = 0; i < n; i++) {
    struct job *j = &jobs[i];
    if (!j->needed)
      continue;
    const char *hex = graph_digest_hex(j->chain);
    /* a directory with this id and no row is a leftover of a failed attempt */
    if (gd_exists(g->driver, hex) && (r = gd_remove(g->driver, hex, err)) < 0)
      goto fail;
    if ((r = gd_create(g->driver, hex, i ? graph_digest_hex(j->parent) : NULL, err)) < 0)
      goto fail;
    j->created = true;
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

  if ((r = graph_store_put(g->store, reg->config, reg->config_len, id, d, err)) < 0)
    goto fail;
  if (reg->manifest &&
      (r = graph_store_put(g->store, reg->manifest, reg->manifest_len, NULL, md, err)) < 0)
    goto fail;
  /* layer files reach the disk before the rows that make them visible */
  if (needed) {
    _cleanup_close_ int lfd = open(g->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lfd >= 0)
      syncfs(lfd);
  }

  if ((r = graph_db_begin(g->db, err)) < 0)
    goto fail;
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
                           7, id, reg->manifest ? md : NULL, n ? jobs[n - 1].chain : NULL,
                           reg->parent, created, sz, now)) < 0)
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
  } else if (reg->manifest) {
    if ((r = graph_db_exec(g->db, err, "UPDATE images SET manifest = ? WHERE id = ?", 2, md, id)) <
        0)
      goto rollback;
  }
  for (size_t i = 0; i < reg->ntags; i++)
    if ((r = graph_set_tag_locked(g, reg->tags[i], id, err)) < 0)
      goto rollback;
  if ((r = graph_db_commit(g->db, err)) < 0)
    goto rollback;
  free(jobs);
  return 0;

rollback:
  graph_db_rollback(g->db);
fail:
  remove_created(g, jobs, n, config_existed ? NULL : id, md);
  free(jobs);
  return r;
}

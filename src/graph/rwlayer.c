/* Container writable layers: a driver layer named after the container on top of the image's
 * top layer, a rwlayers row, and a reference on every layer of the chain. */
#include "graph/rwlayer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/reaper.h"
#include "graph/image.h"
#include "graph_priv.h"
#include "graphdriver/strv.h"

static int check_exists(struct graph *g, const char *id, char **chain, struct berr *err)
{
  int64_t n = 0;
  int r = graph_db_query_int(g->db, &n, err, "SELECT COUNT(*) FROM rwlayers WHERE id = ?", 1, id);
  if (r < 0)
    return r;
  if (n == 0)
    return berr_set(err, ENOENT, "no writable layer %s", id);
  if (chain)
    return graph_db_query_str(g->db, chain, err, "SELECT chain_id FROM rwlayers WHERE id = ?", 1,
                              id);
  return 0;
}

int graph_rwlayer_create(struct graph *g, const char *id, const char *image_ref, struct berr *err)
{
  if (!gd_id_valid(id) || strlen(id) == GRAPH_HEX_LEN)
    return berr_set(err, 0, "invalid writable layer id \"%s\"", id ? id : "");
  graph_lock(g);
  char image[GRAPH_DIGEST_LEN + 1];
  _cleanup_free_ char *top = NULL;
  _cleanup_strv_ char **layers = NULL;
  int64_t n = 0;
  int r;
  if ((r = graph_resolve_locked(g, image_ref, image, err)) < 0 ||
      (r = graph_db_query_str(g->db, &top, err, "SELECT top_layer FROM images WHERE id = ?", 1,
                              image)) < 0 ||
      (r = graph_image_layers(g, image, &layers, err)) < 0 ||
      (r = graph_db_query_int(g->db, &n, err, "SELECT COUNT(*) FROM rwlayers WHERE id = ?", 1,
                              id)) < 0)
    goto out;
  if (n > 0 || gd_exists(g->driver, id)) {
    r = berr_set(err, EEXIST, "writable layer %s already exists", id);
    goto out;
  }
  if ((r = gd_create(g->driver, id, top ? graph_digest_hex(top) : NULL, err)) < 0)
    goto out;
  graph_db_relaxed(g->db, true);
  if ((r = graph_db_begin(g->db, err)) < 0)
    goto undo;
  if ((r = graph_db_exec(g->db, err,
                         "INSERT INTO rwlayers (id, image_id, chain_id) VALUES (?, ?, ?)", 3, id,
                         image, top)) < 0)
    goto rollback;
  for (char **l = layers; *l; l++)
    if ((r = graph_db_exec(g->db, err, "UPDATE layers SET refs = refs + 1 WHERE chain_id = ?", 1,
                           *l)) < 0)
      goto rollback;
  if ((r = graph_db_commit(g->db, err)) == 0)
    goto out;
rollback:
  graph_db_rollback(g->db);
undo : {
  struct berr ignored;
  gd_remove(g->driver, id, &ignored);
}
out:
  graph_db_relaxed(g->db, false);
  graph_unlock(g);
  return r < 0 ? berr_wrap(err, "create writable layer %s", id) : 0;
}

int graph_rwlayer_mount(struct graph *g, const char *id, char **path, struct berr *err)
{
  graph_lock(g);
  int r = check_exists(g, id, NULL, err);
  if (r == 0)
    r = gd_get(g->driver, id, path, err);
  graph_unlock(g);
  return r;
}

int graph_rwlayer_mount_mapped(struct graph *g, const char *id, const char *lower_home, char **path,
                               struct berr *err)
{
  graph_lock(g);
  int r = check_exists(g, id, NULL, err);
  if (r == 0)
    r = gd_get_mapped(g->driver, id, lower_home, path, err);
  graph_unlock(g);
  return r;
}

int graph_rwlayer_unmount(struct graph *g, const char *id, struct berr *err)
{
  graph_lock(g);
  int r = check_exists(g, id, NULL, err);
  if (r == 0)
    r = gd_put(g->driver, id, err);
  graph_unlock(g);
  return r;
}

struct removal {
  struct gd_driver *driver;
  char *id;
};

static void remove_files(void *arg)
{
  struct removal *rm = arg;
  struct berr ignored; /* what stays is removed by the next graph_open */
  gd_remove(rm->driver, rm->id, &ignored);
  free(rm->id);
  free(rm);
}

int graph_rwlayer_remove(struct graph *g, const char *id, struct berr *err)
{
  graph_lock(g);
  _cleanup_free_ char *chain = NULL, *image = NULL;
  _cleanup_strv_ char **layers = NULL;
  char **dead = NULL;
  size_t ndead = 0;
  int r = check_exists(g, id, &chain, err);
  if (r < 0)
    goto out;
  if ((r = graph_db_query_str(g->db, &image, err, "SELECT image_id FROM rwlayers WHERE id = ?", 1,
                              id)) < 0)
    goto out;
  /* the chain from the top layer down, via the layers table (the image may be gone) */
  size_t n = 0;
  layers = calloc(1, sizeof(char *));
  for (char *c = chain ? strdup(chain) : NULL; c && layers;) {
    char **nl = realloc(layers, (n + 2) * sizeof(char *));
    if (!nl) {
      free(c);
      break;
    }
    layers = nl;
    layers[n++] = c;
    layers[n] = NULL;
    char *p = NULL;
    if (graph_db_query_str(g->db, &p, err, "SELECT parent FROM layers WHERE chain_id = ?", 1, c) <
        0)
      break;
    c = p;
  }
  dead = calloc(n + 1, sizeof(char *));
  if (!layers || !dead) {
    r = berr_set(err, ENOMEM, "remove");
    goto out;
  }
  graph_db_relaxed(g->db, true);
  if ((r = graph_db_begin(g->db, err)) < 0)
    goto out;
  if ((r = graph_db_exec(g->db, err, "DELETE FROM rwlayers WHERE id = ?", 1, id)) < 0)
    goto rollback;
  for (size_t i = 0; i < n; i++) {
    int64_t refs = 0;
    if ((r = graph_db_exec(g->db, err, "UPDATE layers SET refs = refs - 1 WHERE chain_id = ?", 1,
                           layers[i])) < 0 ||
        (r = graph_db_query_int(g->db, &refs, err, "SELECT refs FROM layers WHERE chain_id = ?", 1,
                                layers[i])) < 0)
      goto rollback;
    if (refs <= 0) {
      /* the image went first (forced delete): the last user takes its layers with it */
      if ((r = graph_db_query_str(g->db, &dead[ndead], err,
                                  "SELECT blob FROM layers WHERE chain_id = ?", 1, layers[i])) <
              0 ||
          (r = graph_db_exec(g->db, err, "DELETE FROM layers WHERE chain_id = ?", 1, layers[i])) <
              0)
        goto rollback;
      ndead++;
    }
  }
  if ((r = graph_db_commit(g->db, err)) < 0)
    goto rollback;
  /* The record is gone: the files can go after this returns (unmounting syncs the disk),
   * unless image layers die with it, which must not outlive the mount above them. A
   * crash first leaves a layer without a record, which graph_open removes. */
  if (ndead == 0) {
    struct removal *rm = malloc(sizeof(*rm));
    if (rm && (rm->id = strdup(id))) {
      rm->driver = g->driver;
      reaper_defer(g->reaper, remove_files, rm);
      goto out;
    }
    free(rm);
  }
  if ((r = gd_remove(g->driver, id, err)) < 0)
    goto out;
  for (size_t i = 0; i < n; i++) {
    struct berr ignored;
    if (!gd_exists(g->driver, graph_digest_hex(layers[i])))
      continue;
    int64_t still = 1;
    graph_db_query_int(g->db, &still, &ignored, "SELECT COUNT(*) FROM layers WHERE chain_id = ?", 1,
                       layers[i]);
    if (!still)
      gd_remove(g->driver, graph_digest_hex(layers[i]), &ignored);
  }
  for (size_t i = 0; i < ndead; i++) {
    struct berr ignored;
    if (dead[i])
      graph_store_delete(g->store, dead[i], &ignored);
  }
  goto out;
rollback:
  graph_db_rollback(g->db);
out:
  for (size_t i = 0; dead && i < ndead; i++)
    free(dead[i]);
  free(dead);
  graph_db_relaxed(g->db, false);
  graph_unlock(g);
  return r < 0 ? berr_wrap(err, "remove writable layer %s", id) : 0;
}

int graph_rwlayer_changes(struct graph *g, const char *id, struct gd_change **changes, size_t *n,
                          struct berr *err)
{
  graph_lock(g);
  int r = check_exists(g, id, NULL, err);
  if (r == 0)
    r = gd_changes(g->driver, id, changes, n, err);
  graph_unlock(g);
  return r;
}

int graph_rwlayer_diff(struct graph *g, const char *id, int fd, struct berr *err)
{
  graph_lock(g);
  int r = check_exists(g, id, NULL, err);
  if (r == 0)
    r = gd_diff(g->driver, id, fd, err);
  graph_unlock(g);
  return r;
}

int graph_rwlayer_export(struct graph *g, const char *id, int fd, struct berr *err)
{
  return graph_rwlayer_export_unmapped(g, id, fd, NULL, err);
}

int graph_rwlayer_export_unmapped(struct graph *g, const char *id, int fd,
                                  const struct gd_id_unmap *m, struct berr *err)
{
  graph_lock(g);
  int r = check_exists(g, id, NULL, err);
  if (r == 0)
    r = gd_export_unmapped(g->driver, id, fd, m, err);
  graph_unlock(g);
  return r;
}

int graph_rwlayer_list(struct graph *g, char ***ids, struct berr *err)
{
  graph_lock(g);
  struct gd_strv sv = {0};
  _cleanup_stmt_ sqlite3_stmt *st = NULL;
  int r = graph_db_prepare(g->db, &st, err, "SELECT id FROM rwlayers", 0);
  while (r == 0 && sqlite3_step(st) == SQLITE_ROW)
    if (gd_strv_push(&sv, strdup((const char *)sqlite3_column_text(st, 0))) < 0)
      r = berr_set(err, ENOMEM, "list writable layers");
  graph_unlock(g);
  *ids = r == 0 ? gd_strv_steal(&sv) : NULL;
  if (r < 0 || !*ids) {
    for (size_t i = 0; i < sv.n; i++)
      free(sv.v[i]);
    free(sv.v);
    return r < 0 ? r : berr_set(err, ENOMEM, "list writable layers");
  }
  return 0;
}

void graph_settle(struct graph *g)
{
  reaper_drain(g->reaper);
}

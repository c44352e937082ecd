/* Opening the graph: lock the data root, open store, database and driver, then recover. */
#include "graph_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileutil.h"
#include "common/reaper.h"

void graph_lock(struct graph *g)
{
  pthread_mutex_lock(&g->lock);
}

void graph_unlock(struct graph *g)
{
  pthread_mutex_unlock(&g->lock);
}

const char *graph_root(const struct graph *g)
{
  return g->root;
}

struct gd_driver *graph_driver(struct graph *g)
{
  return g->driver;
}

static bool keep_layer(void *ud, const char *id)
{
  struct graph *g = ud;
  char chain[GRAPH_DIGEST_LEN + 8];
  snprintf(chain, sizeof(chain), "sha256:%s", id);
  struct berr err;
  int64_t n = 0;
  if (graph_db_query_int(g->db, &n, &err,
                         "SELECT (SELECT COUNT(*) FROM layers WHERE chain_id = ?1) +"
                         " (SELECT COUNT(*) FROM rwlayers WHERE id = ?2)",
                         2, chain, id) < 0)
    return true; /* when in doubt, keep */
  return n > 0;
}

/* Blobs no row references are leftovers of an interrupted load or delete. */
static int collect_blobs(struct graph *g, struct berr *err)
{
  _cleanup_strv_ char **all = NULL;
  int r = graph_store_list(g->store, &all, err);
  if (r < 0)
    return r;
  for (char **d = all; *d; d++) {
    int64_t n = 0;
    if ((r = graph_db_query_int(
             g->db, &n, err,
             "SELECT (SELECT COUNT(*) FROM images WHERE id = ?1 OR manifest = ?1)"
             " + (SELECT COUNT(*) FROM layers WHERE blob = ?1)",
             1, *d)) < 0)
      return r;
    if (n == 0 && (r = graph_store_delete(g->store, *d, err)) < 0)
      return r;
  }
  return 0;
}

int graph_open(const struct graph_opts *opts, struct graph **out, struct berr *err)
{
  if (!opts || !opts->root || !*opts->root)
    return berr_set(err, 0, "graph: no data root");
  int r = bf_mkdir_p(opts->root, 0711, err);
  if (r < 0)
    return r;
  struct graph *g = calloc(1, sizeof(*g));
  if (!g)
    return berr_set(err, ENOMEM, "graph");
  pthread_mutex_init(&g->lock, NULL);
  pthread_cond_init(&g->claims_changed, NULL);
  g->lockfd = -1;
  g->threads = opts->threads > 0 ? opts->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
  if (g->threads < 1)
    g->threads = 1;
  _cleanup_free_ char *lockpath = NULL, *dbpath = NULL, *layers = NULL;
  _cleanup_free_ char *stored = NULL; /* before the first goto: freed at every exit */
  if (!(g->root = realpath(opts->root, NULL)) ||
      asprintf(&lockpath, "%s/graph.lock", opts->root) < 0 ||
      asprintf(&dbpath, "%s/berth.db", opts->root) < 0 ||
      asprintf(&layers, "%s/layers", opts->root) < 0) {
    graph_close(g);
    return berr_set(err, ENOMEM, "graph");
  }
  g->lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (g->lockfd < 0) {
    r = berr_errno(err, "open %s", lockpath);
    goto fail;
  }
  /* one process owns a data root: recovery below deletes what it does not know */
  if (flock(g->lockfd, LOCK_EX | LOCK_NB) < 0) {
    r = berr_errno(err, "data root %s is in use by another process", opts->root);
    goto fail;
  }
  if ((r = graph_store_open(opts->root, &g->store, err)) < 0 ||
      (r = graph_db_open(dbpath, &g->db, err)) < 0)
    goto fail;
  /* layers made by one driver mean nothing to another: a data root keeps its driver */
  if ((r = graph_db_query_str(g->db, &stored, err, "SELECT value FROM meta WHERE key = 'driver'",
                              0)) < 0)
    goto fail;
  const char *want = opts->driver && *opts->driver ? opts->driver : stored;
  if (stored && want && strcmp(stored, want) != 0 &&
      !(!strcmp(stored, "overlay2") && !strcmp(want, "overlay"))) {
    r = berr_set(err, 0, "data root %s uses graphdriver %s, not %s", opts->root, stored, want);
    goto fail;
  }
  if ((r = gd_driver_open(want, layers, &g->driver, err)) < 0)
    goto fail;
  if (!stored &&
      (r = graph_db_exec(g->db, err, "INSERT INTO meta (key, value) VALUES ('driver', ?)", 1,
                         gd_driver_name(g->driver))) < 0)
    goto fail;
  if ((r = graph_store_clean_tmp(g->store, err)) < 0 ||
      (r = gd_cleanup(g->driver, keep_layer, g, err)) < 0 || (r = collect_blobs(g, err)) < 0) {
    berr_wrap(err, "recover %s", opts->root);
    goto fail;
  }
  g->reaper = reaper_new();
  *out = g;
  return 0;
fail:
  graph_close(g);
  return r;
}

void graph_close(struct graph *g)
{
  if (!g)
    return;
  reaper_free(g->reaper); /* finishes the removals it holds: they use the driver */
  if (g->driver)
    gd_driver_close(g->driver);
  if (g->db)
    graph_db_close(g->db);
  if (g->store)
    graph_store_close(g->store);
  if (g->lockfd >= 0)
    close(g->lockfd);
  pthread_mutex_destroy(&g->lock);
  pthread_cond_destroy(&g->claims_changed);
  for (size_t i = 0; i < g->nclaims; i++)
    free(g->claims[i]);
  free(g->claims);
  free(g->root);
  free(g);
}

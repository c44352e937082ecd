/* Start-up sweep of what a crash of berthd can leave behind while a container was being
 * created or removed: a writable layer, a container directory or a bundle whose container
 * has no record. Creation writes them before the record and removal deletes the record
 * last, so anything without a record is a leftover. */
#include "sweep.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fileutil.h"
#include "common/log.h"
#include "engine_internal.h"
#include "graph/rwlayer.h"
#include "supervisor.h"

/* The ids with a record, sorted once: with thousands of containers, a linear search per
 * directory entry would make start-up quadratic. */
struct known_ids {
  const char **ids;
  size_t n;
};

static int cmp_id(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void known_ids_init(struct known_ids *k, const struct engine *e)
{
  k->n = 0;
  k->ids = malloc((e->n_ctrs + 1) * sizeof(*k->ids));
  for (size_t i = 0; k->ids && i < e->n_ctrs; i++)
    k->ids[k->n++] = e->ctrs[i]->id;
  if (k->ids)
    qsort(k->ids, k->n, sizeof(*k->ids), cmp_id);
}

/* Out of memory, every id counts as known: nothing is removed by mistake. */
static bool known(const struct known_ids *k, const char *id)
{
  return !k->ids || bsearch(&id, k->ids, k->n, sizeof(*k->ids), cmp_id) != NULL;
}

static bool is_container_id(const char *s)
{
  return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static void sweep_dirs(const struct known_ids *k, const char *parent)
{
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/containers", parent);
  _cleanup_closedir_ DIR *d = opendir(path);
  for (struct dirent *de; d && (de = readdir(d));) {
    if (!is_container_id(de->d_name) || known(k, de->d_name))
      continue;
    snprintf(path, sizeof(path), "%s/containers/%s", parent, de->d_name);
    struct berr err;
    if (bf_rm_rf(path, &err) < 0)
      blog(BLOG_WARN, "remove leftover %s: %s", path, err.msg);
    else
      blog(BLOG_INFO, "removed leftover %s", path);
  }
}

void sweep_leftovers(struct engine *e)
{
  pthread_mutex_lock(&e->lock);
  struct known_ids k;
  known_ids_init(&k, e);
  struct berr err;
  _cleanup_strv_ char **layers = NULL;
  if (graph_rwlayer_list(e->graph, &layers, &err) < 0)
    blog(BLOG_WARN, "list writable layers: %s", err.msg);
  for (char **l = layers; l && *l; l++) {
    if (strncmp(*l, "ctr-", 4) != 0 || !is_container_id(*l + 4) || known(&k, *l + 4))
      continue;
    if (graph_rwlayer_remove(e->graph, *l, &err) < 0)
      blog(BLOG_WARN, "remove leftover writable layer %s: %s", *l, err.msg);
    else
      blog(BLOG_INFO, "removed leftover writable layer %s", *l);
  }
  graph_settle(e->graph); /* the layers' files are gone before berthd serves */
  sweep_dirs(&k, e->cfg.data_root);
  sweep_dirs(&k, e->cfg.exec_root);
  pthread_mutex_unlock(&e->lock);
  free(k.ids);
}

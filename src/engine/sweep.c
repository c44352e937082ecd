/* Start-up sweep of what a crash of berthd can leave behind while a container was being
 * created or removed: a writable layer, a container directory or a bundle whose container
 * has no record. Creation writes them before the record and removal deletes the record
 * last, so anything without a record is a leftover. */
#include "sweep.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/fileutil.h"
#include "common/log.h"
#include "engine_internal.h"
#include "graph/rwlayer.h"
#include "supervisor.h"

static bool known(const struct engine *e, const char *id)
{
  for (size_t i = 0; i < e->n_ctrs; i++)
    if (strcmp(e->ctrs[i]->id, id) == 0)
      return true;
  return false;
}

static bool is_container_id(const char *s)
{
  return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static void sweep_dirs(struct engine *e, const char *parent)
{
  char path[PATH_MAX];
  snprintf(path, sizeof(path), "%s/containers", parent);
  _cleanup_closedir_ DIR *d = opendir(path);
  for (struct dirent *de; d && (de = readdir(d));) {
    if (!is_container_id(de->d_name) || known(e, de->d_name))
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
  struct berr err;
  _cleanup_strv_ char **layers = NULL;
  if (graph_rwlayer_list(e->graph, &layers, &err) < 0)
    blog(BLOG_WARN, "list writable layers: %s", err.msg);
  for (char **l = layers; l && *l; l++) {
    if (strncmp(*l, "ctr-", 4) != 0 || !is_container_id(*l + 4) || known(e, *l + 4))
      continue;
    if (graph_rwlayer_remove(e->graph, *l, &err) < 0)
      blog(BLOG_WARN, "remove leftover writable layer %s: %s", *l, err.msg);
    else
      blog(BLOG_INFO, "removed leftover writable layer %s", *l);
  }
  graph_settle(e->graph); /* the layers' files are gone before berthd serves */
  sweep_dirs(e, e->cfg.data_root);
  sweep_dirs(e, e->cfg.exec_root);
  pthread_mutex_unlock(&e->lock);
}

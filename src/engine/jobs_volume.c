/* Volume API jobs: create, list (with filters), inspect, remove, prune, in Docker's JSON
 * shapes; the local driver itself is volumes.c. */
#include <errno.h>
#include <fts.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "engine_internal.h"
#include "jobs.h"
#include "volumes.h"

static bool label_match(json_t *vol, const char *v)
{
  json_t *labels = json_object_get(vol, "Labels");
  const char *eq = strchr(v, '=');
  char key[512];
  snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - v) : (int)strlen(v), v);
  json_t *val = json_object_get(labels, key);
  if (!val)
    return false;
  return !eq || (json_is_string(val) && strcmp(json_string_value(val), eq + 1) == 0);
}

static bool truthy(const char *s)
{
  return strcmp(s, "1") == 0 || strcasecmp(s, "true") == 0;
}

static int check_filters(struct job *job, json_t *filters, const char *const *known)
{
  const char *k;
  json_t *v;
  json_object_foreach(filters, k, v)
  {
    bool ok = false;
    for (size_t i = 0; known[i]; i++)
      ok |= strcmp(k, known[i]) == 0;
    if (!ok)
      return job_fail(job, 400, "invalid filter '%s'", k);
  }
  size_t i;
  json_array_foreach(json_object_get(filters, "dangling"), i, v)
  {
    const char *s = json_string_value(v);
    if (!s || (!truthy(s) && strcmp(s, "0") && strcasecmp(s, "false")))
      return job_fail(job, 400, "invalid filter 'dangling=%s'", s ? s : "");
  }
  return 0;
}

/* Every value of every filter key must match (one of a key's values is enough). */
static bool vol_matches(struct engine *e, json_t *vol, json_t *filters)
{
  const char *name = json_string_value(json_object_get(vol, "Name"));
  size_t i;
  json_t *v;
  json_t *names = json_object_get(filters, "name");
  if (json_array_size(names)) {
    bool any = false;
    json_array_foreach(names, i, v)
    {
      any |= strstr(name, json_string_value(v) ?: "") != NULL;
    }
    if (!any)
      return false;
  }
  json_t *drivers = json_object_get(filters, "driver");
  if (json_array_size(drivers)) {
    bool any = false;
    json_array_foreach(drivers, i, v)
    {
      any |= strcmp(json_string_value(v) ?: "", "local") == 0;
    }
    if (!any)
      return false;
  }
  json_array_foreach(json_object_get(filters, "label"), i, v)
  {
    if (!label_match(vol, json_string_value(v) ?: ""))
      return false;
  }
  json_array_foreach(json_object_get(filters, "label!"), i, v)
  {
    if (label_match(vol, json_string_value(v) ?: ""))
      return false;
  }
  json_t *dangling = json_object_get(filters, "dangling");
  if (json_array_size(dangling)) {
    json_auto_t *users = vol_users(e, name);
    bool want = truthy(json_string_value(json_array_get(dangling, 0)));
    if (want != (json_array_size(users) == 0))
      return false;
  }
  return true;
}

static int job_volume_list(struct job *job)
{
  struct engine *e = job->engine;
  json_auto_t *filters = NULL;
  if (job_query_filters(job, &filters, &job->err) < 0)
    return job_fail(job, 400, "%s", job->err.msg);
  static const char *const known[] = {"dangling", "name", "driver", "label", "label!", NULL};
  if (check_filters(job, filters, known) < 0)
    return -EINVAL;
  pthread_mutex_lock(&e->lock);
  json_auto_t *all = vol_list(e, &job->err);
  json_t *out = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(all, i, v)
  {
    if (vol_matches(e, v, filters))
      json_array_append(out, v);
  }
  pthread_mutex_unlock(&e->lock);
  job->result = json_pack("{s:o,s:[]}", "Volumes", out, "Warnings");
  return 0;
}

static const char *vol_path_name(struct job *job)
{
  const char *name = job_path(job, "name");
  return name ? name : "";
}

static int job_volume_inspect(struct job *job)
{
  struct engine *e = job->engine;
  pthread_mutex_lock(&e->lock);
  json_t *vol = NULL;
  int r = vol_get(e, vol_path_name(job), &vol, &job->err);
  pthread_mutex_unlock(&e->lock);
  if (r < 0)
    return r;
  job->result = vol;
  return 0;
}

static int job_volume_create(struct job *job)
{
  struct engine *e = job->engine;
  json_t *body = job_body(job);
  if (body && !json_is_object(body))
    return job_fail(job, 400, "invalid JSON body");
  const char *name = json_string_value(json_object_get(body, "Name"));
  const char *driver = json_string_value(json_object_get(body, "Driver"));
  pthread_mutex_lock(&e->lock);
  json_t *vol = NULL;
  struct berr probe;
  json_t *old = NULL;
  bool existed = name && *name && vol_get(e, name, &old, &probe) == 0;
  json_decref(old);
  int r = vol_create(e, name, driver, json_object_get(body, "Labels"),
                     json_object_get(body, "DriverOpts"), false, &vol, &job->err);
  if (r == 0 && !existed)
    events_emit(&e->events, "volume", "create", json_string_value(json_object_get(vol, "Name")),
                json_pack("{s:s}", "driver", "local"));
  pthread_mutex_unlock(&e->lock);
  if (r < 0) {
    if (job->err.code == EINVAL)
      job->http_error = 400;
    return r;
  }
  job->result = vol;
  job->status = 201;
  return 0;
}

static int job_volume_delete(struct job *job)
{
  struct engine *e = job->engine;
  const char *name = vol_path_name(job);
  pthread_mutex_lock(&e->lock);
  json_t *vol = NULL;
  struct berr probe;
  bool existed = vol_get(e, name, &vol, &probe) == 0;
  json_decref(vol);
  int r = vol_remove(e, name, job_query_bool(job, "force", false), &job->err);
  if (r == 0 && existed)
    events_emit(&e->events, "volume", "destroy", name, json_pack("{s:s}", "driver", "local"));
  pthread_mutex_unlock(&e->lock);
  if (r < 0)
    return r;
  job->status = 204;
  return 0;
}

/* Bytes of the files in a volume (SpaceReclaimed is informative: a plain walk). */
static long long dir_size(const char *path)
{
  char *const paths[] = {(char *)path, NULL};
  FTS *fts = path ? fts_open(paths, FTS_PHYSICAL | FTS_XDEV | FTS_NOCHDIR, NULL) : NULL;
  if (!fts)
    return 0;
  long long total = 0;
  FTSENT *ent;
  while ((ent = fts_read(fts)))
    if (ent->fts_info == FTS_F && ent->fts_statp)
      total += (long long)ent->fts_statp->st_size;
  fts_close(fts);
  return total;
}

static int job_volume_prune(struct job *job)
{
  struct engine *e = job->engine;
  json_auto_t *filters = NULL;
  if (job_query_filters(job, &filters, &job->err) < 0)
    return job_fail(job, 400, "%s", job->err.msg);
  static const char *const known[] = {"label", "label!", "all", NULL};
  if (check_filters(job, filters, known) < 0)
    return -EINVAL;
  /* Since API 1.42 prune takes only anonymous volumes unless all=true. */
  bool all = json_array_size(json_object_get(filters, "all")) &&
             truthy(json_string_value(json_array_get(json_object_get(filters, "all"), 0)) ?: "");
  const char *ver = job->api_version;
  if (ver && strncmp(ver, "1.", 2) == 0 && atoi(ver + 2) < 42)
    all = true;
  pthread_mutex_lock(&e->lock);
  json_auto_t *vols = vol_list(e, &job->err);
  json_t *deleted = json_array();
  long long reclaimed = 0;
  size_t i;
  json_t *v;
  json_array_foreach(vols, i, v)
  {
    const char *name = json_string_value(json_object_get(v, "Name"));
    if (!all && !vol_is_anonymous(v))
      continue;
    if (!vol_matches(e, v, filters))
      continue;
    json_auto_t *users = vol_users(e, name);
    if (json_array_size(users))
      continue;
    long long size = dir_size(json_string_value(json_object_get(v, "Mountpoint")));
    struct berr ignored;
    if (vol_remove(e, name, false, &ignored) == 0) {
      json_array_append_new(deleted, json_string(name));
      reclaimed += size;
      events_emit(&e->events, "volume", "destroy", name, json_pack("{s:s}", "driver", "local"));
    }
  }
  pthread_mutex_unlock(&e->lock);
  job->result =
      json_pack("{s:o,s:I}", "VolumesDeleted", deleted, "SpaceReclaimed", (json_int_t)reclaimed);
  return 0;
}

void jobs_volume_register(struct engine *e)
{
  engine_register(e, "volume.list", job_volume_list);
  engine_register(e, "volume.inspect", job_volume_inspect);
  engine_register(e, "volume.create", job_volume_create);
  engine_register(e, "volume.delete", job_volume_delete);
  engine_register(e, "volume.prune", job_volume_prune);
}

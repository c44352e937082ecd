/* Image jobs: thin mappings of the Docker image API onto graph. */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bjson.h"
#include "common/fileutil.h"
#include "engine_internal.h"
#include "graph/image.h"
#include "graph/image_archive.h"
#include "graph/import.h"
#include "jobs.h"
#include "lifecycle.h"
#include "repository.h"
#include "userns.h"

/* docker images REPO[:TAG] and -f reference=...: glob match on repo:tag (and on the repo
 * alone when the pattern has no tag), as moby does. */
static bool tag_matches(const char *tag, const char *pattern)
{
  if (fnmatch(pattern, tag, 0) == 0)
    return true;
  const char *slash = strrchr(tag, '/'), *colon = strrchr(slash ? slash : tag, ':');
  char repo[512];
  snprintf(repo, sizeof(repo), "%.*s", colon ? (int)(colon - tag) : (int)strlen(tag), tag);
  return fnmatch(pattern, repo, 0) == 0;
}

/* Like moby, a reference filter also narrows RepoTags to the tags that match: `docker images
 * mine` shows the mine rows only, not every name the image has. */
static bool ref_matches(json_t *image, json_t *patterns)
{
  json_t *kept = json_array();
  size_t i, k;
  json_t *t, *p;
  json_array_foreach(json_object_get(image, "RepoTags"), i, t)
  {
    json_array_foreach(patterns, k, p)
    {
      if (json_is_string(t) && json_is_string(p) &&
          tag_matches(json_string_value(t), json_string_value(p))) {
        json_array_append(kept, t);
        break;
      }
    }
  }
  json_object_set_new(image, "RepoTags", kept);
  return json_array_size(kept) > 0;
}

static int job_image_list(struct job *job)
{
  json_t *filters = NULL;
  if (job_query_filters(job, &filters, &job->err) < 0)
    return -EINVAL;
  json_t *all = NULL;
  if (graph_image_list(job->engine->graph, job_query_bool(job, "all", false), &all, &job->err) <
      0) {
    json_decref(filters);
    return -job->err.code;
  }
  json_t *refs = json_object_get(filters, "reference");
  json_t *dangling = json_object_get(filters, "dangling");
  json_t *labels = json_object_get(filters, "label");
  json_t *out = json_array();
  size_t i;
  json_t *img;
  json_array_foreach(all, i, img)
  {
    bool ok = true;
    if (json_array_size(refs))
      ok &= ref_matches(img, refs);
    if (json_array_size(dangling)) {
      bool want = strcmp(json_string_value(json_array_get(dangling, 0)) ?: "", "true") == 0;
      ok &= (json_array_size(json_object_get(img, "RepoTags")) == 0) == want;
    }
    size_t k;
    json_t *l;
    json_array_foreach(labels, k, l)
    {
      const char *s = json_string_value(l);
      const char *eq = s ? strchr(s, '=') : NULL;
      char key[256];
      snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - s) : (int)strlen(s ? s : ""), s ? s : "");
      json_t *v = json_object_get(json_object_get(img, "Labels"), key);
      ok &= v && (!eq || (json_is_string(v) && strcmp(json_string_value(v), eq + 1) == 0));
    }
    if (ok)
      json_array_append(out, img);
  }
  json_decref(all);
  json_decref(filters);
  job->result = out;
  return 0;
}

static int job_image_inspect(struct job *job)
{
  return graph_image_inspect(job->engine->graph, job_path(job, "name"), &job->result, &job->err) < 0
             ? -job->err.code
             : 0;
}

static int job_image_history(struct job *job)
{
  return graph_image_history(job->engine->graph, job_path(job, "name"), &job->result, &job->err) < 0
             ? -job->err.code
             : 0;
}

static int job_image_tag(struct job *job)
{
  const char *repo = job_query_str(job, "repo"), *tag = job_query_str(job, "tag");
  if (!repo || !*repo)
    return job_fail(job, 400, "repository name must have at least one component");
  char target[1024];
  snprintf(target, sizeof(target), "%s%s%s", repo, tag && *tag ? ":" : "", tag && *tag ? tag : "");
  if (graph_tag(job->engine->graph, job_path(job, "name"), target, &job->err) < 0)
    return -job->err.code;
  events_emit(&job->engine->events, "image", "tag", job_path(job, "name"),
              json_pack("{s:s}", "name", target));
  job->status = 201;
  return 0;
}

static bool container_running(void *ud, const char *id)
{
  struct engine *e = ud;
  struct berr ignored;
  /* Called by graph while we do not hold the engine lock. */
  pthread_mutex_lock(&e->lock);
  if (strncmp(id, CTR_LAYER_PREFIX, strlen(CTR_LAYER_PREFIX)) == 0)
    id += strlen(CTR_LAYER_PREFIX);
  struct container *c = repo_find(e, id, &ignored);
  bool running = c && (c->state == CTR_RUNNING || c->state == CTR_PAUSED);
  pthread_mutex_unlock(&e->lock);
  return running;
}

/* graph names the container by its writable layer ("ctr-" + 8 hex) and berr appends
 * strerror(EBUSY); docker prints "... container <12 hex>" and nothing after. */
static void conflict_text_as_moby(struct engine *e, char *msg, size_t len)
{
  static const char busy[] = ": Device or resource busy";
  size_t n = strlen(msg);
  if (n >= sizeof(busy) - 1 && strcmp(msg + n - (sizeof(busy) - 1), busy) == 0)
    msg[n - (sizeof(busy) - 1)] = '\0';
  char *at = strstr(msg, "container " CTR_LAYER_PREFIX);
  if (!at)
    return;
  char *prefix = at + strlen("container " CTR_LAYER_PREFIX);
  struct berr ignored;
  pthread_mutex_lock(&e->lock);
  struct container *c = repo_find(e, prefix, &ignored);
  if (c)
    snprintf(at, len - (size_t)(at - msg), "container %.12s", c->id);
  pthread_mutex_unlock(&e->lock);
}

static int job_image_delete(struct job *job)
{
  struct graph_delete_opts o = {
      .force = job_query_bool(job, "force", false),
      .prune_parents = !job_query_bool(job, "noprune", false),
      .container_running = container_running,
      .ud = job->engine,
  };
  if (graph_image_delete(job->engine->graph, job_path(job, "name"), &o, &job->result, &job->err) <
      0) {
    if (job->err.code == EBUSY)
      conflict_text_as_moby(job->engine, job->err.msg, sizeof(job->err.msg));
    return -job->err.code;
  }
  size_t i;
  json_t *v;
  json_array_foreach(job->result, i, v)
  {
    const char *u = json_string_value(json_object_get(v, "Untagged"));
    const char *d = json_string_value(json_object_get(v, "Deleted"));
    events_emit(&job->engine->events, "image", u ? "untag" : "delete", u ? u : d,
                json_pack("{s:s}", "name", u ? u : d));
  }
  return 0;
}

/* `image prune -a` (filter dangling=false): every image no container uses goes, tagged or
 * not; each is deleted by ID with force so that all its tags go with it. Images that cannot go
 * (a child image still needs them) are skipped, as moby does. */
static int prune_unused(struct job *job, json_t *deleted, json_int_t *reclaimed)
{
  struct engine *e = job->engine;
  _cleanup_json_ json_t *images = NULL;
  if (graph_image_list(e->graph, true, &images, &job->err) < 0)
    return -job->err.code;
  size_t i;
  json_t *img;
  json_array_foreach(images, i, img)
  {
    if (json_integer_value(json_object_get(img, "Containers")) != 0)
      continue;
    const char *id = json_string_value(json_object_get(img, "Id"));
    struct graph_delete_opts o = {
        .force = true, .prune_parents = true, .container_running = container_running, .ud = e};
    _cleanup_json_ json_t *records = NULL;
    struct berr ignored;
    if (!id || graph_image_delete(e->graph, id, &o, &records, &ignored) < 0)
      continue;
    *reclaimed += json_integer_value(json_object_get(img, "Size"));
    size_t k;
    json_t *r;
    json_array_foreach(records, k, r)
    {
      json_array_append(deleted, r);
    }
  }
  return 0;
}

static int job_image_prune(struct job *job)
{
  json_t *filters = NULL;
  if (job_query_filters(job, &filters, &job->err) < 0)
    return job_fail(job, 400, "%s", job->err.msg);
  bool all = false;
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(filters, "dangling"), i, v)
  {
    const char *s = json_string_value(v);
    all |= s && (strcmp(s, "false") == 0 || strcmp(s, "0") == 0);
  }
  json_decref(filters);
  _cleanup_json_ json_t *deleted = json_array();
  json_int_t reclaimed = 0;
  if (all && prune_unused(job, deleted, &reclaimed) < 0)
    return -job->err.code;
  if (graph_image_prune(job->engine->graph, &job->result, &job->err) < 0)
    return -job->err.code;
  json_t *more = json_object_get(job->result, "ImagesDeleted");
  if (json_is_array(more))
    json_array_extend(deleted, more);
  reclaimed += json_integer_value(json_object_get(job->result, "SpaceReclaimed"));
  json_object_set(job->result, "ImagesDeleted", json_array_size(deleted) ? deleted : json_null());
  json_object_set_new(job->result, "SpaceReclaimed", json_integer(reclaimed));
  char bytes[32];
  snprintf(bytes, sizeof(bytes), "%lld", (long long)reclaimed);
  events_emit(&job->engine->events, "image", "prune", "", json_pack("{s:s}", "reclaimed", bytes));
  return 0;
}

static int write_json_line(int fd, json_t *j)
{
  char *s = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  if (!s)
    return -ENOMEM;
  size_t n = strlen(s);
  s[n] = '\n';
  int r = bf_write_all(fd, s, n + 1);
  free(s);
  return r;
}

static int job_image_load(struct job *job)
{
  if (!job->body_file)
    return job_fail(job, 400, "no image archive in the request body");
  int in = open(job->body_file, O_RDONLY | O_CLOEXEC);
  if (in < 0)
    return job_fail(job, 500, "open request body: %s", strerror(errno));
  json_t *loaded = NULL;
  struct graph_load_opts o = {0};
  int r = graph_load_archive(job->engine->graph, in, &o, &loaded, &job->err);
  close(in);
  if (r < 0)
    return -job->err.code;
  int fd = job_stream_begin(job, "application/json");
  size_t i;
  json_t *v;
  json_array_foreach(loaded, i, v)
  {
    json_t *tags = json_object_get(v, "RepoTags");
    const char *id = json_string_value(json_object_get(v, "Id"));
    char line[1024];
    if (json_array_size(tags)) {
      size_t k;
      json_t *t;
      json_array_foreach(tags, k, t)
      {
        snprintf(line, sizeof(line), "Loaded image: %s\n", json_string_value(t));
        if (fd >= 0)
          write_json_line(fd, json_pack("{s:s}", "stream", line));
        events_emit(&job->engine->events, "image", "load", id,
                    json_pack("{s:s}", "name", json_string_value(t)));
      }
    } else {
      snprintf(line, sizeof(line), "Loaded image ID: %s\n", id);
      if (fd >= 0)
        write_json_line(fd, json_pack("{s:s}", "stream", line));
      events_emit(&job->engine->events, "image", "load", id, json_pack("{s:s}", "name", id));
    }
  }
  json_decref(loaded);
  return 0;
}

static int job_image_save(struct job *job)
{
  json_t *names = job_query_list(job, "names");
  if (job_path(job, "name")) {
    json_decref(names);
    names = json_pack("[s]", job_path(job, "name"));
  }
  size_t n = json_array_size(names);
  if (!n) {
    json_decref(names);
    return job_fail(job, 400, "no image names given");
  }
  const char **refs = calloc(n, sizeof(char *));
  for (size_t i = 0; refs && i < n; i++)
    refs[i] = json_string_value(json_array_get(names, i));
  /* Resolve first, so an unknown name is a plain 404 and not a broken stream. */
  for (size_t i = 0; refs && i < n; i++) {
    char id[80];
    if (graph_image_resolve(job->engine->graph, refs[i], id, &job->err) < 0) {
      free(refs);
      json_decref(names);
      return -job->err.code;
    }
  }
  int fd = job_stream_begin(job, "application/x-tar");
  int r = 0;
  if (fd >= 0 && refs)
    r = graph_save(job->engine->graph, refs, n, GRAPH_SAVE_DOCKER_ARCHIVE, fd, &job->err);
  for (size_t i = 0; refs && i < n; i++)
    events_emit(&job->engine->events, "image", "save", refs[i],
                json_pack("{s:s}", "name", refs[i]));
  free(refs);
  json_decref(names);
  return r < 0 ? -job->err.code : 0;
}

/* The repeated `changes` query values as the strv graph_import_opts wants (borrowed from
 * the array, which must outlive it). */
static const char **change_list(json_t *changes, size_t *n)
{
  *n = json_array_size(changes);
  const char **ch = calloc(*n + 1, sizeof(char *));
  for (size_t i = 0; ch && i < *n; i++)
    ch[i] = json_string_value(json_array_get(changes, i));
  return ch;
}

static int job_image_create(struct job *job)
{
  const char *from_src = job_query_str(job, "fromSrc");
  const char *from_image = job_query_str(job, "fromImage");
  if (from_src) {
    if (strcmp(from_src, "-") != 0 || !job->body_file)
      return job_fail(job, 400, "import from a URL is not supported; send the tarball (-)");
    const char *repo = job_query_str(job, "repo"), *tag = job_query_str(job, "tag");
    char ref[1024] = "";
    if (repo && *repo)
      snprintf(ref, sizeof(ref), "%s%s%s", repo, tag && *tag ? ":" : "", tag && *tag ? tag : "");
    json_t *changes = job_query_list(job, "changes");
    size_t nch = 0;
    const char **ch = change_list(changes, &nch);
    struct graph_import_opts o = {.ref = ref[0] ? ref : NULL,
                                  .changes = ch,
                                  .nchanges = nch,
                                  .message = job_query_str(job, "message"),
                                  .source = "-"};
    int in = open(job->body_file, O_RDONLY | O_CLOEXEC);
    char id[80];
    int r = in < 0 ? job_fail(job, 500, "open request body: %s", strerror(errno))
                   : graph_import(job->engine->graph, in, &o, id, &job->err);
    if (in >= 0)
      close(in);
    free(ch);
    json_decref(changes);
    if (r < 0)
      return r;
    events_emit(&job->engine->events, "image", "import", id, json_pack("{s:s}", "name", id));
    int fd = job_stream_begin(job, "application/json");
    if (fd >= 0)
      write_json_line(fd, json_pack("{s:s}", "status", id));
    else
      job->result = json_pack("{s:s}", "status", id);
    return 0;
  }
  if (from_image)
    return jobs_registry_pull(job);
  return job_fail(job, 400, "fromImage or fromSrc is required");
}

static int job_container_commit(struct job *job)
{
  struct engine *e = job->engine;
  const char *ref = job_query_str(job, "container");
  char id[65];
  pthread_mutex_lock(&e->lock);
  struct container *c = repo_find(e, ref, &job->err);
  const struct gd_id_unmap *unmap = NULL;
  if (c) {
    memcpy(id, c->id, sizeof(id));
    unmap = userns_layer_unmap(e, json_object_get(c->doc, "HostConfig"));
  }
  bool running = c && c->state == CTR_RUNNING;
  pthread_mutex_unlock(&e->lock);
  if (!c)
    return -job->err.code;
  bool pause = running && job_query_bool(job, "pause", true);
  if (pause)
    lifecycle_pause(e, id, true, &job->err);
  const char *repo = job_query_str(job, "repo"), *tag = job_query_str(job, "tag");
  char target[1024] = "";
  if (repo && *repo)
    snprintf(target, sizeof(target), "%s:%s", repo, tag && *tag ? tag : "latest");
  json_t *changes = job_query_list(job, "changes");
  size_t nch = 0;
  const char **ch = change_list(changes, &nch);
  struct graph_import_opts o = {.ref = target[0] ? target : NULL,
                                .changes = ch,
                                .nchanges = nch,
                                .message = job_query_str(job, "comment"),
                                .author = job_query_str(job, "author"),
                                .unmap = unmap};
  char image_id[80];
  struct berr perr;
  int r = graph_commit(e->graph, ctr_layer(id, (char[80]){0}), &o, image_id, &job->err);
  if (r == 0) {
    /* As moby: the commit event comes while the container is still paused. */
    pthread_mutex_lock(&e->lock);
    c = repo_find(e, id, &perr);
    if (c)
      events_emit(&e->events, "container", "commit", id, lifecycle_attrs(c));
    pthread_mutex_unlock(&e->lock);
  }
  if (pause)
    lifecycle_pause(e, id, false, &perr);
  free(ch);
  json_decref(changes);
  if (r < 0)
    return -job->err.code;
  job->result = json_pack("{s:s}", "Id", image_id);
  job->status = 201;
  return 0;
}

void jobs_image_register(struct engine *e)
{
  engine_register(e, "image.list", job_image_list);
  engine_register(e, "image.inspect", job_image_inspect);
  engine_register(e, "image.history", job_image_history);
  engine_register(e, "image.tag", job_image_tag);
  engine_register(e, "image.delete", job_image_delete);
  engine_register(e, "image.prune", job_image_prune);
  engine_register(e, "image.load", job_image_load);
  engine_register(e, "image.save", job_image_save);
  engine_register(e, "image.get", job_image_save);
  engine_register(e, "image.create", job_image_create);
  engine_register(e, "container.commit", job_container_commit);
}

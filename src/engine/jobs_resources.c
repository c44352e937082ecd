/* Jobs on containers' resources: update (limits and restart policy), stats (one-shot and
 * streamed), container prune, system df. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileutil.h"
#include "engine_internal.h"
#include "graph/graph.h"
#include "graph/image.h"
#include "jobs.h"
#include "lifecycle.h"
#include "repository.h"
#include "resources.h"
#include "runtimes.h"
#include "stats.h"
#include "volumes.h"

static int job_container_update(struct job *job)
{
  json_t *warnings = NULL;
  if (resources_update(job->engine, job_path(job, "id"), job_body(job), &warnings, &job->err) < 0)
    return -job->err.code;
  job->result = json_pack("{s:o}", "Warnings", warnings);
  return 0;
}

struct ctr_view {
  char id[65];
  char name[256];
  char rt[128];
  pid_t pid;
  bool running, gone;
};

static int view(struct engine *e, const char *ref, struct ctr_view *v, struct berr *err)
{
  pthread_mutex_lock(&e->lock);
  struct container *c = repo_find(e, ref, err);
  if (c) {
    memcpy(v->id, c->id, sizeof(v->id));
    snprintf(v->name, sizeof(v->name), "%s", c->name);
    snprintf(v->rt, sizeof(v->rt), "%s", runtime_of(c->doc) ?: "");
    v->running = c->state == CTR_RUNNING || c->state == CTR_PAUSED;
    v->pid = (pid_t)json_integer_value(json_object_get(json_object_get(c->doc, "State"), "Pid"));
  }
  v->gone = !c;
  pthread_mutex_unlock(&e->lock);
  return c ? 0 : -err->code;
}

static json_t *sample(struct engine *e, struct ctr_view *v, json_t *prev)
{
  json_t *s = NULL;
  struct berr err;
  if (!v->running || stats_sample(e, v->id, v->rt, v->name, v->pid, prev, &s, &err) < 0)
    return stats_empty(v->id, v->name);
  return s;
}

static void sleep_ms(long ms)
{
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0)
    ;
}

static int job_container_stats(struct job *job)
{
  struct engine *e = job->engine;
  struct ctr_view v;
  if (view(e, job_path(job, "id"), &v, &job->err) < 0)
    return -job->err.code;
  bool stream = job_query_bool(job, "stream", true);
  bool one_shot = job_query_bool(job, "one-shot", false);
  if (!stream) {
    json_t *s = sample(e, &v, NULL);
    if (v.running && !one_shot) {
      /* As Docker: a second sample a second later, so precpu_stats gives a CPU rate. */
      sleep_ms(1000);
      json_t *s2 = sample(e, &v, s);
      json_decref(s);
      s = s2;
    }
    job->result = s;
    return 0;
  }
  int fd = job_stream_begin(job, "application/json");
  if (fd < 0)
    return job_fail(job, 500, "cannot stream stats");
  json_t *prev = NULL;
  for (;;) {
    struct berr err;
    struct ctr_view now;
    if (view(e, v.id, &now, &err) < 0)
      break; /* removed */
    json_t *s = sample(e, &now, now.running ? prev : NULL);
    char *text = json_dumps(s, JSON_COMPACT);
    int r = -ENOMEM;
    if (text) {
      size_t n = strlen(text);
      text[n] = '\n';
      r = bf_write_all(fd, text, n + 1);
      free(text);
    }
    json_decref(prev);
    prev = s;
    if (r < 0)
      break; /* the client left */
    sleep_ms(1000);
  }
  json_decref(prev);
  return 0;
}

static int job_container_prune(struct job *job)
{
  struct engine *e = job->engine;
  json_t *filters = NULL;
  if (job_query_filters(job, &filters, &job->err) < 0)
    return job_fail(job, 400, "%s", job->err.msg);
  json_t *until = json_object_get(filters, "until");
  long long until_ns = 0;
  if (json_array_size(until)) {
    const char *u = json_string_value(json_array_get(until, 0));
    char *end;
    double secs = strtod(u, &end);
    if (*end == 0) {
      until_ns = (long long)(secs * 1e9);
    } else {
      long long t = ctr_time_ns(u);
      until_ns = t;
    }
  }
  json_t *labels = json_object_get(filters, "label");
  /* The candidates first, then each removed as `rm` would (a running one is skipped). */
  pthread_mutex_lock(&e->lock);
  size_t n = e->n_ctrs, k = 0;
  char(*ids)[65] = calloc(n ? n : 1, sizeof(*ids));
  for (size_t i = 0; ids && i < n; i++) {
    struct container *c = e->ctrs[i];
    if (c->state != CTR_EXITED && c->state != CTR_CREATED && c->state != CTR_DEAD)
      continue;
    if (until_ns && ctr_time_ns(json_string_value(json_object_get(c->doc, "Created"))) >= until_ns)
      continue;
    bool match = true;
    size_t li;
    json_t *lv;
    json_t *clabels = json_object_get(json_object_get(c->doc, "Config"), "Labels");
    json_array_foreach(labels, li, lv)
    {
      const char *want = json_string_value(lv);
      const char *eq = strchr(want, '=');
      _cleanup_free_ char *key = eq ? strndup(want, (size_t)(eq - want)) : strdup(want);
      json_t *have = json_object_get(clabels, key);
      if (!have || (eq && strcmp(json_string_value(have) ?: "", eq + 1) != 0))
        match = false;
    }
    if (match)
      memcpy(ids[k++], c->id, 65);
  }
  pthread_mutex_unlock(&e->lock);
  json_decref(filters);
  json_t *deleted = json_array();
  for (size_t i = 0; i < k; i++) {
    struct berr err;
    if (lifecycle_remove(e, ids[i], false, true, &err) == 0)
      json_array_append_new(deleted, json_string(ids[i]));
  }
  free(ids);
  job->result = json_pack("{s:o,s:i}", "ContainersDeleted",
                          json_array_size(deleted) ? deleted : (json_decref(deleted), json_null()),
                          "SpaceReclaimed", 0);
  events_emit(&e->events, "container", "prune", "", json_pack("{s:s}", "reclaimed", "0"));
  return 0;
}

/* Hard-linked inodes seen by one du walk: each is counted once, as moby's directory.Size. */
struct du_state {
  struct stat *seen;
  size_t n, cap;
  json_int_t size;
};

static bool du_seen(struct du_state *s, const struct stat *st)
{
  for (size_t i = 0; i < s->n; i++)
    if (s->seen[i].st_ino == st->st_ino && s->seen[i].st_dev == st->st_dev)
      return true;
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    struct stat *more = realloc(s->seen, cap * sizeof(*more));
    if (!more)
      return false;
    s->seen = more;
    s->cap = cap;
  }
  s->seen[s->n++] = *st;
  return false;
}

/* The bytes of the files under dirfd (directories themselves not counted). */
static void du_walk(int dirfd, struct du_state *s, int depth)
{
  int fd = dup(dirfd);
  DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
  if (!d) {
    if (fd >= 0)
      close(fd);
    return;
  }
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    struct stat st;
    if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
      continue;
    if (S_ISDIR(st.st_mode)) {
      int sub = depth < 256
                    ? openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    : -1;
      if (sub >= 0) {
        du_walk(sub, s, depth + 1);
        close(sub);
      }
      continue;
    }
    if (st.st_nlink > 1 && du_seen(s, &st))
      continue;
    s->size += st.st_size;
  }
  closedir(d);
}

static json_int_t dir_size(const char *path)
{
  struct du_state s = {0};
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  du_walk(fd, &s, 0);
  close(fd);
  free(s.seen);
  return s.size;
}

/* GET /system/df: images, containers (as `ps -a` lists them), volumes with their size and
 * the number of containers that use them (UsageData, as dockerd), and build cache. */
static int job_system_df(struct job *job)
{
  struct engine *e = job->engine;
  json_t *images = NULL;
  if (graph_image_list(e->graph, false, &images, &job->err) < 0)
    return -job->err.code;
  /* The containers as `ps -a` summarizes them (the list job writes its answer as text). */
  json_t *containers = json_array();
  pthread_mutex_lock(&e->lock);
  for (size_t k = 0; k < e->n_ctrs; k++) {
    struct container *c = e->ctrs[k];
    json_t *config = json_object_get(c->doc, "Config");
    char status[128], slash[300];
    ctr_status_text(c, status, sizeof(status));
    snprintf(slash, sizeof(slash), "/%s", c->name);
    json_t *cmd = json_array();
    json_array_append(cmd, json_object_get(c->doc, "Path"));
    json_array_extend(cmd, json_object_get(c->doc, "Args"));
    char *cmdtext = NULL;
    size_t cl = 0;
    FILE *mf = open_memstream(&cmdtext, &cl);
    size_t ci;
    json_t *cv;
    json_array_foreach(cmd, ci, cv)
    {
      if (mf)
        fprintf(mf, "%s%s", ci ? " " : "", json_string_value(cv) ?: "");
    }
    if (mf)
      fclose(mf);
    json_decref(cmd);
    json_array_append_new(
        containers,
        json_pack("{s:s,s:[s],s:s,s:s,s:s,s:I,s:s,s:s,s:o}", "Id", c->id, "Names", slash, "Image",
                  json_string_value(json_object_get(config, "Image")) ?: "", "ImageID",
                  json_string_value(json_object_get(c->doc, "Image")) ?: "", "Command",
                  cmdtext ? cmdtext : "", "Created",
                  (json_int_t)(ctr_time_ns(json_string_value(json_object_get(c->doc, "Created"))) /
                               1000000000LL),
                  "State", ctr_state_name(c->state), "Status", status, "Labels",
                  json_is_object(json_object_get(config, "Labels"))
                      ? json_incref(json_object_get(config, "Labels"))
                      : json_object()));
    free(cmdtext);
  }
  pthread_mutex_unlock(&e->lock);
  json_int_t layers = 0;
  size_t i;
  json_t *img;
  json_array_foreach(images, i, img)
  {
    layers += json_integer_value(json_object_get(img, "Size"));
    json_int_t users = 0;
    size_t k;
    json_t *c;
    json_array_foreach(containers, k, c)
    {
      if (strcmp(json_string_value(json_object_get(c, "ImageID")) ?: "",
                 json_string_value(json_object_get(img, "Id")) ?: "") == 0)
        users++;
    }
    json_object_set_new(img, "Containers", json_integer(users));
    json_object_set_new(img, "SharedSize", json_integer(0));
  }
  json_array_foreach(containers, i, img)
  {
    json_object_set_new(img, "SizeRw", json_integer(0));
    json_object_set_new(img, "SizeRootFs", json_integer(0));
  }
  json_t *volumes = json_array();
  if (engine_has_job(e, "volume.list")) {
    struct job vl = {.engine = e,
                     .name = "volume.list",
                     .args = json_pack("{s:{},s:{},s:n}", "path", "query", "body"),
                     .api_version = job->api_version};
    if (engine_job_run(e, &vl) == 0 && json_is_array(json_object_get(vl.result, "Volumes"))) {
      json_decref(volumes);
      volumes = json_incref(json_object_get(vl.result, "Volumes"));
    }
    json_decref(vl.result);
    json_decref(vl.args);
  }
  json_array_foreach(volumes, i, img)
  {
    const char *name = json_string_value(json_object_get(img, "Name"));
    const char *mp = json_string_value(json_object_get(img, "Mountpoint"));
    pthread_mutex_lock(&e->lock);
    json_t *users = name ? vol_users(e, name) : json_array();
    pthread_mutex_unlock(&e->lock);
    json_object_set_new(img, "UsageData",
                        json_pack("{s:I,s:I}", "Size", mp ? dir_size(mp) : (json_int_t)-1,
                                  "RefCount", (json_int_t)json_array_size(users)));
    json_decref(users);
  }
  job->result = json_pack("{s:I,s:o,s:o,s:o,s:[]}", "LayersSize", layers, "Images", images,
                          "Containers", containers, "Volumes", volumes, "BuildCache");
  return 0;
}

/* POST /build/prune: berthd keeps no build cache, so there is nothing to delete; answered
 * as a dockerd with an empty cache does, so `docker system prune` (which calls it after the
 * containers, networks and images) completes. */
static int job_build_prune(struct job *job)
{
  job->result = json_pack("{s:[],s:I}", "CachesDeleted", "SpaceReclaimed", (json_int_t)0);
  return job->result ? 0 : job_fail(job, 500, "build prune");
}

void jobs_resources_register(struct engine *e)
{
  engine_register(e, "build.prune", job_build_prune);
  engine_register(e, "container.update", job_container_update);
  engine_register(e, "container.stats", job_container_stats);
  engine_register(e, "container.prune", job_container_prune);
  engine_register(e, "system.df", job_system_df);
}

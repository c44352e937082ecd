/* Container jobs that change state: create, start, stop, restart, kill, delete, pause,
 * unpause, rename. Each maps Docker's HTTP semantics onto lifecycle.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"
#include "jobs.h"
#include "lifecycle.h"
#include "repository.h"

static int fail_from(struct job *job, int r)
{
  (void)r;
  /* err is already filled; job_http_status maps err.code (ENOENT 404, EBUSY 409, ...). */
  return -job->err.code;
}

static int job_container_create(struct job *job)
{
  char id[65];
  json_t *warnings = NULL;
  if (lifecycle_create(job->engine, job_body(job), job_query_str(job, "name"), id, &warnings,
                       &job->err) < 0)
    return fail_from(job, 0);
  job->result = json_pack("{s:s,s:o}", "Id", id, "Warnings", warnings);
  job->status = 201;
  return 0;
}

static int job_container_start(struct job *job)
{
  int r = lifecycle_start(job->engine, job_path(job, "id"), &job->err);
  if (r < 0) {
    /* A process that cannot be started is the caller's fault (moby answers 400). */
    if (job->err.code != ENOENT && job->err.code != EBUSY)
      job->http_error = 400;
    return r;
  }
  job->status = r == 1 ? 304 : 204;
  return 0;
}

static int timeout_arg(struct job *job, long long *t)
{
  return job_query_int(job, "t", -1, t, &job->err);
}

static int job_container_stop(struct job *job)
{
  long long t;
  if (timeout_arg(job, &t) < 0)
    return -EINVAL;
  int r = lifecycle_stop(job->engine, job_path(job, "id"), job_query_str(job, "signal"), (int)t,
                         &job->err);
  if (r < 0)
    return r;
  job->status = r == 1 ? 304 : 204;
  return 0;
}

static int job_container_restart(struct job *job)
{
  long long t;
  if (timeout_arg(job, &t) < 0)
    return -EINVAL;
  const char *id = job_path(job, "id");
  int r = lifecycle_stop(job->engine, id, job_query_str(job, "signal"), (int)t, &job->err);
  if (r < 0)
    return r;
  r = lifecycle_start(job->engine, id, &job->err);
  if (r < 0)
    return r;
  pthread_mutex_lock(&job->engine->lock);
  struct berr ignored;
  struct container *c = repo_find(job->engine, id, &ignored);
  if (c)
    events_emit(&job->engine->events, "container", "restart", c->id, lifecycle_attrs(c));
  pthread_mutex_unlock(&job->engine->lock);
  job->status = 204;
  return 0;
}

static int job_container_kill(struct job *job)
{
  int r = lifecycle_kill(job->engine, job_path(job, "id"), job_query_str(job, "signal"), &job->err);
  if (r < 0)
    return r;
  job->status = 204;
  return 0;
}

static int job_container_delete(struct job *job)
{
  int r = lifecycle_remove(job->engine, job_path(job, "id"), job_query_bool(job, "force", false),
                           job_query_bool(job, "v", false), &job->err);
  if (r < 0)
    return r;
  job->status = 204;
  return 0;
}

static int job_container_pause(struct job *job)
{
  int r = lifecycle_pause(job->engine, job_path(job, "id"), true, &job->err);
  if (r == 0)
    job->status = 204;
  return r;
}

static int job_container_unpause(struct job *job)
{
  int r = lifecycle_pause(job->engine, job_path(job, "id"), false, &job->err);
  if (r == 0)
    job->status = 204;
  return r;
}

static int job_container_rename(struct job *job)
{
  struct engine *e = job->engine;
  const char *name = job_query_str(job, "name");
  if (name && *name == '/')
    name++;
  if (!name || !*name)
    return job_fail(job, 400, "Neither old nor new names may be empty");
  if (!ctr_name_valid(name))
    return job_fail(
        job, 400, "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name);
  pthread_mutex_lock(&e->lock);
  struct container *c = repo_find(e, job_path(job, "id"), &job->err);
  int r = 0;
  if (!c) {
    r = -job->err.code;
  } else if (strcmp(c->name, name) == 0) {
    r = job_fail(job, 409, "Renaming a container with the same name as its current name");
  } else {
    struct container *other = repo_by_name(e, name);
    if (other) {
      r = job_fail(job, 409,
                   "Conflict. The container name \"/%s\" is already in use by container \"%s\". "
                   "You have to remove (or rename) that container to be able to reuse that name.",
                   name, other->id);
    } else {
      char *old = c->name;
      char slash[300];
      c->name = strdup(name);
      snprintf(slash, sizeof(slash), "/%s", name);
      json_object_set_new(c->doc, "Name", json_string(slash));
      if (repo_save(e, c, &job->err) < 0) {
        free(c->name);
        c->name = old;
        snprintf(slash, sizeof(slash), "/%s", old);
        json_object_set_new(c->doc, "Name", json_string(slash));
        r = -job->err.code;
      } else {
        json_t *attrs = lifecycle_attrs(c);
        json_object_set_new(attrs, "oldName", json_string(old));
        events_emit(&e->events, "container", "rename", c->id, attrs);
        free(old);
        job->status = 204;
      }
    }
  }
  pthread_mutex_unlock(&e->lock);
  return r;
}

void jobs_container_register(struct engine *e)
{
  engine_register(e, "container.create", job_container_create);
  engine_register(e, "container.start", job_container_start);
  engine_register(e, "container.stop", job_container_stop);
  engine_register(e, "container.restart", job_container_restart);
  engine_register(e, "container.kill", job_container_kill);
  engine_register(e, "container.delete", job_container_delete);
  engine_register(e, "container.pause", job_container_pause);
  engine_register(e, "container.unpause", job_container_unpause);
  engine_register(e, "container.rename", job_container_rename);
}

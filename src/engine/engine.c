/* The engine: its configuration and the table of named job handlers every API call runs
 * through. */
#include "engine.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "engine_internal.h"

static char *dup_or_null(const char *s)
{
  return s ? strdup(s) : NULL;
}

static void config_free(struct engine_config *c)
{
  free((char *)c->data_root);
  free((char *)c->exec_root);
  free((char *)c->storage_driver);
  free((char *)c->shim_path);
  free((char *)c->bridge);
  free((char *)c->bip);
  free((char *)c->address_pools);
  free((char *)c->config_file);
}

int engine_new(const struct engine_config *cfg, struct engine **out, struct berr *err)
{
  _cleanup_free_ struct engine *e = calloc(1, sizeof(*e));
  if (!e)
    return berr_set(err, ENOMEM, "engine");
  if (cfg) {
    e->cfg.live_restore = cfg->live_restore;
    e->cfg.registry = cfg->registry;
    e->cfg.max_concurrent_downloads = cfg->max_concurrent_downloads;
    e->cfg.max_concurrent_uploads = cfg->max_concurrent_uploads;
    e->cfg.upload_chunk_size = cfg->upload_chunk_size;
    e->cfg.mtu = cfg->mtu;
    e->cfg.userns = cfg->userns;
    e->cfg.cpu_rt_period = cfg->cpu_rt_period;
    e->cfg.cpu_rt_runtime = cfg->cpu_rt_runtime;
    e->cfg.data_root = dup_or_null(cfg->data_root);
    e->cfg.exec_root = dup_or_null(cfg->exec_root);
    e->cfg.storage_driver = dup_or_null(cfg->storage_driver);
    e->cfg.shim_path = dup_or_null(cfg->shim_path);
    e->cfg.bridge = dup_or_null(cfg->bridge);
    e->cfg.bip = dup_or_null(cfg->bip);
    e->cfg.address_pools = dup_or_null(cfg->address_pools);
    e->cfg.config_file = dup_or_null(cfg->config_file);
    if ((cfg->data_root && !e->cfg.data_root) || (cfg->exec_root && !e->cfg.exec_root) ||
        (cfg->storage_driver && !e->cfg.storage_driver) || (cfg->shim_path && !e->cfg.shim_path)) {
      config_free(&e->cfg);
      return berr_set(err, ENOMEM, "engine config");
    }
  }
  int r = pthread_rwlock_init(&e->jobs_lock, NULL);
  if (r != 0) {
    config_free(&e->cfg);
    return berr_set(err, r, "engine lock");
  }
  *out = steal_ptr(e);
  return 0;
}

void engine_free(struct engine *e)
{
  if (!e)
    return;
  for (size_t i = 0; i < e->n_jobs; i++)
    free(e->jobs[i].name);
  free(e->jobs);
  pthread_rwlock_destroy(&e->jobs_lock);
  config_free(&e->cfg);
  free(e);
}

/* Caller holds jobs_lock. */
static struct engine_job_entry *find_job(const struct engine *e, const char *name)
{
  for (size_t i = 0; i < e->n_jobs; i++)
    if (strcmp(e->jobs[i].name, name) == 0)
      return &e->jobs[i];
  return NULL;
}

/* Registering a name again replaces its handler, so a default (the server registers
 * system.version and system.ping when absent) can be overridden later. */
int engine_register(struct engine *e, const char *name, job_handler fn)
{
  if (!e || !name || !*name || !fn)
    return -EINVAL;
  int r = 0;
  pthread_rwlock_wrlock(&e->jobs_lock);
  struct engine_job_entry *j = find_job(e, name);
  if (j) {
    j->fn = fn;
    goto out;
  }
  if (e->n_jobs == e->cap_jobs) {
    size_t cap = e->cap_jobs ? e->cap_jobs * 2 : 64;
    struct engine_job_entry *n = realloc(e->jobs, cap * sizeof(*n));
    if (!n) {
      r = -ENOMEM;
      goto out;
    }
    e->jobs = n;
    e->cap_jobs = cap;
  }
  char *copy = strdup(name);
  if (!copy) {
    r = -ENOMEM;
    goto out;
  }
  e->jobs[e->n_jobs++] = (struct engine_job_entry){.name = copy, .fn = fn};
out:
  pthread_rwlock_unlock(&e->jobs_lock);
  return r;
}

bool engine_has_job(const struct engine *e, const char *name)
{
  if (!e || !name)
    return false;
  struct engine *me = (struct engine *)e; /* the lock is not part of the logical state */
  pthread_rwlock_rdlock(&me->jobs_lock);
  bool found = find_job(e, name) != NULL;
  pthread_rwlock_unlock(&me->jobs_lock);
  return found;
}

int engine_job_run(struct engine *e, struct job *job)
{
  if (!job)
    return -EINVAL;
  if (!job->engine)
    job->engine = e;
  const char *name = job->name ? job->name : "";
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);

  job_handler fn = NULL;
  pthread_rwlock_rdlock(&e->jobs_lock);
  struct engine_job_entry *j = find_job(e, name);
  if (j)
    fn = j->fn;
  pthread_rwlock_unlock(&e->jobs_lock);
  if (!fn)
    return job_fail(job, 501, "not implemented: %s", name);

  int r = fn(job);
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  blog(BLOG_DEBUG, "job %s %s in %.2f ms", name, r < 0 ? "failed" : "done",
       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
  if (r < 0) {
    /* A handler that forgot to say why still yields a message. */
    if (job->err.code == 0 && job->http_error == 0)
      berr_set(&job->err, -r, "%s", name);
    else if (job->err.code == 0)
      job->err.code = -r;
    return r;
  }
  /* Success wins over anything left in err by a step the handler recovered from. */
  berr_clear(&job->err);
  job->http_error = 0;
  return 0;
}

/* Restart policies: deciding whether an exited container runs again, the back-off between
 * tries, and restarts at daemon start. The decision follows moby's restartmanager. */
#include "restart.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "engine_internal.h"
#include "lifecycle.h"
#include "repository.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 60000

static const char *policy_name(struct container *c, long long *max)
{
  json_t *rp = json_object_get(json_object_get(c->doc, "HostConfig"), "RestartPolicy");
  *max = json_integer_value(json_object_get(rp, "MaximumRetryCount"));
  const char *n = json_string_value(json_object_get(rp, "Name"));
  return n ? n : "no";
}

static bool manually_stopped(struct container *c)
{
  return json_is_true(json_object_get(c->doc, "HasBeenManuallyStopped"));
}

static long long restart_count(struct container *c)
{
  return json_integer_value(json_object_get(c->doc, "RestartCount"));
}

/* moby's ShouldRestart without the back-off: `manual` is what counts as stopped by the user. */
static bool should_restart(struct container *c, bool manual)
{
  long long max;
  const char *p = policy_name(c, &max);
  int code = (int)json_integer_value(json_object_get(json_object_get(c->doc, "State"), "ExitCode"));
  if (strcmp(p, "always") == 0)
    return true;
  if (strcmp(p, "unless-stopped") == 0)
    return !manual;
  if (strcmp(p, "on-failure") == 0)
    return code != 0 && (max == 0 || restart_count(c) < max);
  return false;
}

struct pending {
  struct engine *e;
  struct container *c;
  unsigned gen;
  long delay_ms;
  bool by_policy; /* keeps RestartCount; a daemon-start restart is a fresh start */
};

static void *restart_later(void *arg)
{
  struct pending *p = arg;
  struct engine *e = p->e;
  struct container *c = p->c;
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += p->delay_ms / 1000;
  until.tv_nsec += (p->delay_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&e->lock);
  /* Woken early by every state change: only the deadline or a cancel ends the wait. */
  while (!c->removed && c->restart_gen == p->gen && !e->shutting_down &&
         pthread_cond_timedwait(&e->changed, &e->lock, &until) != ETIMEDOUT)
    ;
  bool go =
      !c->removed && c->restart_gen == p->gen && !e->shutting_down && c->state == CTR_RESTARTING;
  char id[65];
  memcpy(id, c->id, sizeof(id));
  if (go)
    c->policy_start = p->by_policy;
  ctr_unref(e, c);
  if (!go) {
    e->helpers--;
    pthread_cond_broadcast(&e->changed);
  }
  pthread_mutex_unlock(&e->lock);
  free(p);
  if (!go)
    return NULL;
  struct berr err;
  if (lifecycle_start(e, id, &err) < 0) {
    /* As moby: a restart that fails ends the policy's tries; the container stays exited. */
    blog(BLOG_WARN, "restart %s: %s", id, err.msg);
    pthread_mutex_lock(&e->lock);
    struct container *again = repo_find(e, id, &err);
    if (again && again->state == CTR_RESTARTING) {
      again->state = CTR_EXITED;
      again->policy_start = false;
      ctr_sync_state(again);
      repo_save(e, again, &err);
    }
    e->helpers--;
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->lock);
    return NULL;
  }
  pthread_mutex_lock(&e->lock);
  struct container *now = repo_find(e, id, &err);
  if (now)
    events_emit(&e->events, "container", "restart", now->id, lifecycle_attrs(now));
  e->helpers--;
  pthread_cond_broadcast(&e->changed);
  pthread_mutex_unlock(&e->lock);
  return NULL;
}

static void schedule(struct engine *e, struct container *c, long delay_ms, bool by_policy)
{
  struct pending *p = calloc(1, sizeof(*p));
  if (!p)
    return;
  c->state = CTR_RESTARTING;
  if (by_policy)
    json_object_set_new(c->doc, "RestartCount", json_integer(restart_count(c) + 1));
  ctr_sync_state(c);
  struct berr err;
  repo_save(e, c, &err);
  c->refs++;
  *p = (struct pending){
      .e = e, .c = c, .gen = ++c->restart_gen, .delay_ms = delay_ms, .by_policy = by_policy};
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  e->helpers++;
  if (pthread_create(&t, &attr, restart_later, p) != 0) {
    e->helpers--;
    c->refs--;
    c->state = CTR_EXITED;
    ctr_sync_state(c);
    free(p);
  }
  pthread_attr_destroy(&attr);
  pthread_cond_broadcast(&e->changed);
}

void restart_after_exit(struct engine *e, struct container *c)
{
  if (c->removed || c->busy || c->state != CTR_EXITED || e->shutting_down || e->stopping_all)
    return;
  if (manually_stopped(c) || !should_restart(c, false))
    return;
  json_t *st = json_object_get(c->doc, "State");
  long long ran_ns = ctr_time_ns(json_string_value(json_object_get(st, "FinishedAt"))) -
                     ctr_time_ns(json_string_value(json_object_get(st, "StartedAt")));
  if (ran_ns >= 10LL * 1000000000LL)
    c->restart_delay_ms = 0;
  if (c->restart_delay_ms == 0)
    c->restart_delay_ms = BACKOFF_FIRST_MS;
  else if (c->restart_delay_ms < BACKOFF_MAX_MS)
    c->restart_delay_ms *= 2;
  if (c->restart_delay_ms > BACKOFF_MAX_MS)
    c->restart_delay_ms = BACKOFF_MAX_MS;
  schedule(e, c, c->restart_delay_ms, true);
}

void restart_user_stop(struct engine *e, struct container *c)
{
  /* Stops of the daemon's own shutdown are not the user's (Docker's IsShuttingDown). */
  if (!e->shutting_down && !e->stopping_all)
    json_object_set_new(c->doc, "HasBeenManuallyStopped", json_true());
  c->restart_gen++;
  if (c->state == CTR_RESTARTING) {
    c->state = CTR_EXITED;
    ctr_sync_state(c);
  }
  struct berr err;
  repo_save(e, c, &err);
  pthread_cond_broadcast(&e->changed);
}

void restart_on_start(struct container *c)
{
  c->restart_gen++;
  if (c->policy_start) {
    c->policy_start = false;
    return;
  }
  json_object_set_new(c->doc, "HasBeenManuallyStopped", json_false());
  json_object_set_new(c->doc, "RestartCount", json_integer(0));
  c->restart_delay_ms = 0;
}

void restart_at_daemon_start(struct engine *e)
{
  pthread_mutex_lock(&e->lock);
  for (size_t i = 0; i < e->n_ctrs; i++) {
    struct container *c = e->ctrs[i];
    json_t *st = json_object_get(c->doc, "State");
    bool started_before = ctr_time_ns(json_string_value(json_object_get(st, "StartedAt"))) != 0;
    long long max;
    bool always = strcmp(policy_name(c, &max), "always") == 0;
    if (c->state == CTR_EXITED && started_before &&
        should_restart(c, !always && manually_stopped(c)))
      schedule(e, c, 0, false);
  }
  pthread_mutex_unlock(&e->lock);
}

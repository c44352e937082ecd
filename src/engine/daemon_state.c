/* berthd's engine state: set up, register the jobs, recover, tear down. */
#include "daemon_state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/reaper.h"
#include "engine_internal.h"
#include "jobs.h"
#include "lifecycle.h"
#include "sweep.h"
#include "userns.h"
#include "network.h"
#include "repository.h"
#include "volumes.h"

int engine_daemon_init(struct engine *e, struct graph *g, struct berr *err)
{
  pthread_mutex_init(&e->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&e->changed, &ca);
  pthread_condattr_destroy(&ca);
  events_init(&e->events);
  e->graph = g;
  e->reaper = reaper_new();
  if (userns_init(e, err) < 0)
    return -err->code;
  if (repo_open(e, err) < 0)
    return -err->code;
  if (network_init(e, err) < 0) {
    /* What it made (a bridge, the nft table) goes again, unless containers use it. */
    network_shutdown(e);
    return berr_wrap(err, "networking");
  }
  e->daemon_ready = true;
  jobs_container_register(e);
  jobs_container_info_register(e);
  jobs_container_io_register(e);
  jobs_exec_register(e);
  jobs_image_register(e);
  jobs_system_register(e);
  jobs_network_register(e);
  jobs_volume_register(e);
  jobs_registry_register(e);
  jobs_resources_register(e);
  jobs_archive_register(e);
  lifecycle_recover(e);
  sweep_leftovers(e);
  network_recover(e);
  return 0;
}

void engine_daemon_stop_all(struct engine *e, int timeout)
{
  pthread_mutex_lock(&e->lock);
  e->stopping_all = true;
  size_t n = e->n_ctrs;
  char(*ids)[65] = calloc(n ? n : 1, sizeof(*ids));
  size_t k = 0;
  for (size_t i = 0; ids && i < n; i++)
    if (e->ctrs[i]->state == CTR_RUNNING || e->ctrs[i]->state == CTR_PAUSED)
      memcpy(ids[k++], e->ctrs[i]->id, 65);
  pthread_mutex_unlock(&e->lock);
  for (size_t i = 0; i < k; i++) {
    struct berr err;
    lifecycle_stop(e, ids[i], NULL, timeout, &err);
  }
  free(ids);
}

void engine_daemon_shutdown(struct engine *e)
{
  if (!e->daemon_ready)
    return;
  events_close(&e->events);
  /* Monitor threads still run (blocked on their shims); close their sockets so they end,
   * and wait for them: a live-restored container keeps running in its shim. */
  pthread_mutex_lock(&e->lock);
  e->shutting_down = true;
  pthread_cond_broadcast(&e->changed);
  for (size_t i = 0; i < e->n_ctrs; i++)
    if (e->ctrs[i]->shim_fd >= 0)
      shutdown(e->ctrs[i]->shim_fd, SHUT_RDWR);
  for (;;) {
    bool any = false;
    for (size_t i = 0; i < e->n_ctrs; i++)
      any |= e->ctrs[i]->monitor_running;
    if (!any)
      break;
    pthread_cond_wait(&e->changed, &e->lock);
  }
  /* Health probes and pending restarts end on shutting_down; their threads touch the
   * containers, so they finish before the containers are freed. */
  while (e->helpers > 0)
    pthread_cond_wait(&e->changed, &e->lock);
  pthread_mutex_unlock(&e->lock);
  for (size_t i = 0; i < e->n_execs; i++) {
    json_decref(e->execs[i]->config);
    free(e->execs[i]);
  }
  free(e->execs);
  reaper_free(e->reaper);
  e->reaper = NULL;
  network_shutdown(e);
  vol_unmount_all(e); /* volumes mounted at first use (tmpfs, binds) */
  userns_shutdown(e);
  repo_close(e);
  events_destroy(&e->events);
  e->daemon_ready = false;
}
